//! UWS 1.1 execution phases ([UWS 1.1, section 2.1.3](https://www.ivoa.net/documents/UWS/20161024/REC-UWS-1.1-20161024.html#ExecutionPhase))
//! and their grouping into stages, as STILTS's `UwsStage` does.

use std::fmt;
use std::str::FromStr;

/// The phase of a UWS job.
///
/// Every phase of UWS 1.1 is a variant; parsing trims whitespace and is case-sensitive
/// like the schema, except that lowercase spellings are accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionPhase {
    /// Accepting parameters, not started.
    Pending,
    /// Started by the client, waiting for resources.
    Queued,
    /// Running.
    Executing,
    /// Finished with results.
    Completed,
    /// Failed: see the error summary.
    Error,
    /// Aborted by the client or the server.
    Aborted,
    /// The server does not know (transient).
    Unknown,
    /// Held by the server until the client sends `PHASE=RUN` again.
    Held,
    /// Suspended by the server; it will resume by itself.
    Suspended,
    /// Finished, and the results have been deleted.
    Archived,
}

/// The stage a phase belongs to, as in STILTS `UwsStage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Not started yet: `PENDING`, `HELD`.
    Unstarted,
    /// Started, not finished: `QUEUED`, `EXECUTING`, `SUSPENDED`.
    Running,
    /// Finished for good: `COMPLETED`, `ERROR`, `ABORTED`, `ARCHIVED`.
    Finished,
    /// `UNKNOWN`: keep asking.
    Unknown,
}

/// A phase string that is not a UWS 1.1 phase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal UWS phase {0:?}")]
pub struct IllegalPhase(pub String);

impl ExecutionPhase {
    /// Every phase, in the order of the UWS schema.
    pub const ALL: [ExecutionPhase; 10] = [
        ExecutionPhase::Pending,
        ExecutionPhase::Queued,
        ExecutionPhase::Executing,
        ExecutionPhase::Completed,
        ExecutionPhase::Error,
        ExecutionPhase::Aborted,
        ExecutionPhase::Unknown,
        ExecutionPhase::Held,
        ExecutionPhase::Suspended,
        ExecutionPhase::Archived,
    ];

    /// The wire spelling, e.g. `"EXECUTING"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionPhase::Pending => "PENDING",
            ExecutionPhase::Queued => "QUEUED",
            ExecutionPhase::Executing => "EXECUTING",
            ExecutionPhase::Completed => "COMPLETED",
            ExecutionPhase::Error => "ERROR",
            ExecutionPhase::Aborted => "ABORTED",
            ExecutionPhase::Unknown => "UNKNOWN",
            ExecutionPhase::Held => "HELD",
            ExecutionPhase::Suspended => "SUSPENDED",
            ExecutionPhase::Archived => "ARCHIVED",
        }
    }

    /// The stage of this phase.
    pub fn stage(self) -> Stage {
        match self {
            ExecutionPhase::Pending | ExecutionPhase::Held => Stage::Unstarted,
            ExecutionPhase::Queued | ExecutionPhase::Executing | ExecutionPhase::Suspended => {
                Stage::Running
            }
            ExecutionPhase::Completed
            | ExecutionPhase::Error
            | ExecutionPhase::Aborted
            | ExecutionPhase::Archived => Stage::Finished,
            ExecutionPhase::Unknown => Stage::Unknown,
        }
    }

    /// True for `COMPLETED`, `ERROR`, `ABORTED` and `ARCHIVED`.
    pub fn is_finished(self) -> bool {
        self.stage() == Stage::Finished
    }

    /// True for phases that a UWS 1.1 server may block on with `WAIT`
    /// (section 2.2.1.2: `PENDING`, `QUEUED`, `EXECUTING`; we also allow the other
    /// non-final phases, the server decides).
    pub fn is_active(self) -> bool {
        !self.is_finished()
    }

    /// Parses a phase as found in a job document or the `/phase` resource:
    /// surrounding whitespace is ignored.
    ///
    /// # Errors
    /// [`IllegalPhase`] for anything that is not one of the ten UWS 1.1 phases.
    pub fn parse(text: &str) -> Result<ExecutionPhase, IllegalPhase> {
        let trimmed = text.trim();
        ExecutionPhase::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(trimmed))
            .ok_or_else(|| IllegalPhase(trimmed.chars().take(64).collect()))
    }
}

impl FromStr for ExecutionPhase {
    type Err = IllegalPhase;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExecutionPhase::parse(s)
    }
}

impl fmt::Display for ExecutionPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_phase_and_trims() {
        for phase in ExecutionPhase::ALL {
            assert_eq!(ExecutionPhase::parse(phase.as_str()), Ok(phase));
        }
        assert_eq!(
            ExecutionPhase::parse("COMPLETED\r\n"),
            Ok(ExecutionPhase::Completed)
        );
        assert_eq!(
            ExecutionPhase::parse(" executing "),
            Ok(ExecutionPhase::Executing)
        );
        assert_eq!(
            ExecutionPhase::parse("BOGUS"),
            Err(IllegalPhase("BOGUS".into()))
        );
        assert!(ExecutionPhase::parse("").is_err());
    }

    #[test]
    fn stages_match_stilts() {
        use ExecutionPhase::*;
        let stages: Vec<_> = ExecutionPhase::ALL
            .iter()
            .map(|p| (*p, p.stage()))
            .collect();
        assert_eq!(
            stages,
            vec![
                (Pending, Stage::Unstarted),
                (Queued, Stage::Running),
                (Executing, Stage::Running),
                (Completed, Stage::Finished),
                (Error, Stage::Finished),
                (Aborted, Stage::Finished),
                (Unknown, Stage::Unknown),
                (Held, Stage::Unstarted),
                (Suspended, Stage::Running),
                (Archived, Stage::Finished),
            ]
        );
    }
}
