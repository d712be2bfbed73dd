//! The job-waiting state machine: decides when to poll, how long to block, when to
//! (re)start a job and when to give up. It performs no I/O and never reads a clock:
//! the caller passes `now` into every call, so tests drive it with a fake clock.
//!
//! The UWS 1.1 phases it follows ([UWS 1.1, section 2.1.3](https://www.ivoa.net/documents/UWS/20161024/REC-UWS-1.1-20161024.html#ExecutionPhase)):
//!
//! ```text
//!                 PHASE=RUN              server                server
//!   PENDING ──────────────────▶ QUEUED ─────────▶ EXECUTING ─────────▶ COMPLETED ──▶ ARCHIVED
//!     │  ▲                        │                 │   ▲  │                         (results gone)
//!     │  │ PHASE=RUN (bounded)    │                 ▼   │  ├───────▶ ERROR
//!     │  └───── HELD ◀────────────┘             SUSPENDED  │
//!     │                                                    └───────▶ ABORTED ◀── PHASE=ABORT
//!     └────────────────────────────────────────────────────────────▶ ABORTED
//!   UNKNOWN: may appear anywhere; keep polling.
//! ```
//!
//! What the waiter does in each phase:
//!
//! | phase seen | action |
//! |---|---|
//! | `PENDING` (no RUN sent yet) | [`Action::Run`] |
//! | `HELD` | sleep, then [`Action::Run`] again (at most [`WaitConfig::max_held_runs`] times) |
//! | `PENDING` (after RUN), `QUEUED`, `EXECUTING`, `SUSPENDED`, `UNKNOWN` | blocking poll `WAIT=n&PHASE=<current>`; when the server answers early with the same phase (it does not block), sleep with growing intervals before the next poll |
//! | `COMPLETED`, `ERROR`, `ABORTED`, `ARCHIVED` | [`Action::Done`] |
//!
//! A total deadline ends the wait with [`Outcome::DeadlineExceeded`]; the job is left alone
//! so that the caller can report its URL and resume later. Transient errors while polling are
//! retried after a growing pause, up to [`WaitConfig::max_transient_errors`] in a row.

use std::time::{Duration, Instant};

use crate::phase::ExecutionPhase;
use crate::{Error, Result};

/// Tuning of [`JobWaiter`]. `Default` gives the values documented on each field.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitConfig {
    /// Longest `WAIT` asked of the server per request (default 30 s). Keep it well below
    /// the HTTP read timeout.
    pub blocking_wait: Duration,
    /// First pause between polls when the server does not block (default 1 s).
    pub poll_initial: Duration,
    /// Growth factor of that pause (default 1.5).
    pub poll_factor: f64,
    /// Longest pause between polls (default 30 s).
    pub poll_max: Duration,
    /// Total time budget; None waits forever (default None).
    pub deadline: Option<Duration>,
    /// Send `PHASE=RUN` when the job is found `PENDING` (default true).
    pub run_pending: bool,
    /// Most `PHASE=RUN` re-sent for a `HELD` job (default 3).
    pub max_held_runs: u32,
    /// Most consecutive transient errors tolerated while polling (default 8).
    pub max_transient_errors: u32,
}

impl Default for WaitConfig {
    fn default() -> Self {
        WaitConfig {
            blocking_wait: Duration::from_secs(30),
            poll_initial: Duration::from_secs(1),
            poll_factor: 1.5,
            poll_max: Duration::from_secs(30),
            deadline: None,
            run_pending: true,
            max_held_runs: 3,
            max_transient_errors: 8,
        }
    }
}

/// What the caller should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// GET the job document. With `wait`, ask the server to block: `WAIT=<secs>`
    /// and `PHASE=<phase>`. Report the answer with [`JobWaiter::handle_phase`] or
    /// [`JobWaiter::handle_transient_error`].
    Poll {
        /// Seconds to block, and the phase to block on.
        wait: Option<(u32, ExecutionPhase)>,
    },
    /// POST `PHASE=RUN` to `{job}/phase`, then call [`JobWaiter::handle_run_sent`]
    /// (or [`JobWaiter::handle_transient_error`]).
    Run,
    /// Sleep until this instant, then ask again.
    Sleep {
        /// When to call [`JobWaiter::poll_action`] again.
        until: Instant,
    },
    /// Stop waiting.
    Done(Outcome),
}

/// Why waiting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The job reached a final phase: `COMPLETED`, `ERROR`, `ABORTED` or `ARCHIVED`.
    Finished(ExecutionPhase),
    /// The total deadline passed; the job is still alive in this phase (None if never seen).
    DeadlineExceeded(Option<ExecutionPhase>),
    /// Too many transient errors in a row.
    TooManyErrors(u32),
}

/// Private state of the waiter.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Poll as soon as asked.
    ReadyToPoll,
    /// A poll is in flight since `sent`, blocking for `wait` seconds.
    Polling { sent: Instant, wait: Option<u32> },
    /// Pause until `until`, then do `next`.
    Sleeping { until: Instant, next: Next },
    /// Send RUN as soon as asked.
    ReadyToRun,
    /// A RUN request is in flight.
    Running,
    /// Finished.
    Done(Outcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Poll,
    Run,
}

/// The job-waiting state machine (see the [module documentation](self)).
///
/// ```
/// use std::time::{Duration, Instant};
/// use vo_tap::{ExecutionPhase, wait::{Action, JobWaiter, Outcome, WaitConfig}};
///
/// let start = Instant::now();
/// let mut waiter = JobWaiter::new(WaitConfig::default(), start);
/// assert_eq!(waiter.poll_action(start)?, Action::Poll { wait: None });
/// waiter.handle_phase(start, ExecutionPhase::Pending)?;
/// assert_eq!(waiter.poll_action(start)?, Action::Run);
/// waiter.handle_run_sent(start)?;
/// assert_eq!(waiter.poll_action(start)?, Action::Poll { wait: Some((30, ExecutionPhase::Pending)) });
/// waiter.handle_phase(start + Duration::from_secs(3), ExecutionPhase::Completed)?;
/// assert_eq!(
///     waiter.poll_action(start + Duration::from_secs(3))?,
///     Action::Done(Outcome::Finished(ExecutionPhase::Completed))
/// );
/// # Ok::<(), vo_tap::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct JobWaiter {
    config: WaitConfig,
    state: State,
    deadline: Option<Instant>,
    phase: Option<ExecutionPhase>,
    runs_sent: u32,
    held_runs: u32,
    poll_interval: Duration,
    error_streak: u32,
}

impl JobWaiter {
    /// A waiter that starts by polling the job once.
    pub fn new(config: WaitConfig, now: Instant) -> Self {
        let deadline = config.deadline.and_then(|d| now.checked_add(d));
        let poll_interval = config.poll_initial;
        JobWaiter {
            config,
            state: State::ReadyToPoll,
            deadline,
            phase: None,
            runs_sent: 0,
            held_runs: 0,
            poll_interval,
            error_streak: 0,
        }
    }

    /// The last phase reported by the server.
    pub fn phase(&self) -> Option<ExecutionPhase> {
        self.phase
    }

    /// The absolute deadline, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Number of `PHASE=RUN` requests sent so far.
    pub fn runs_sent(&self) -> u32 {
        self.runs_sent
    }

    fn remaining(&self, now: Instant) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(now))
    }

    fn finish(&mut self, outcome: Outcome) -> Action {
        self.state = State::Done(outcome);
        Action::Done(outcome)
    }

    /// The next thing to do.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] when a request is still in flight (its answer was not
    /// reported with a `handle_*` call).
    pub fn poll_action(&mut self, now: Instant) -> Result<Action> {
        if let State::Done(outcome) = self.state {
            return Ok(Action::Done(outcome));
        }
        if matches!(self.state, State::Polling { .. } | State::Running) {
            return Err(Error::IllegalTransition {
                state: format!("{:?}", self.state),
                input: "poll_action",
            });
        }
        if self.remaining(now) == Some(Duration::ZERO) {
            return Ok(self.finish(Outcome::DeadlineExceeded(self.phase)));
        }
        let next = match self.state {
            State::Sleeping { until, .. } if now < until => {
                let until = self.deadline.map_or(until, |d| until.min(d));
                return Ok(Action::Sleep { until });
            }
            State::Sleeping { next, .. } => next,
            State::ReadyToRun => Next::Run,
            _ => Next::Poll,
        };
        match next {
            Next::Run => {
                self.state = State::Running;
                self.runs_sent += 1;
                Ok(Action::Run)
            }
            Next::Poll => {
                let wait = self.phase.filter(|p| p.is_active()).map(|phase| {
                    let mut wait = self.config.blocking_wait;
                    if let Some(remaining) = self.remaining(now) {
                        wait = wait.min(remaining);
                    }
                    (u32::try_from(wait.as_secs()).unwrap_or(u32::MAX), phase)
                });
                // A WAIT of 0 s is a plain poll.
                let wait = wait.filter(|(secs, _)| *secs > 0);
                self.state = State::Polling {
                    sent: now,
                    wait: wait.map(|(secs, _)| secs),
                };
                Ok(Action::Poll { wait })
            }
        }
    }

    fn grow_interval(&mut self) -> Duration {
        let current = self.poll_interval;
        let grown = current.mul_f64(self.config.poll_factor.max(1.0));
        self.poll_interval = grown.min(self.config.poll_max);
        current.min(self.config.poll_max)
    }

    /// Reports the phase read from the job document (the answer to [`Action::Poll`]).
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] when no poll was in flight.
    pub fn handle_phase(&mut self, now: Instant, phase: ExecutionPhase) -> Result<()> {
        let State::Polling { sent, wait } = self.state else {
            return Err(Error::IllegalTransition {
                state: format!("{:?}", self.state),
                input: "handle_phase",
            });
        };
        self.error_streak = 0;
        let previous = self.phase.replace(phase);
        if phase.is_finished() {
            self.state = State::Done(Outcome::Finished(phase));
            return Ok(());
        }
        match phase {
            ExecutionPhase::Pending if self.config.run_pending && self.runs_sent == 0 => {
                self.state = State::ReadyToRun;
            }
            ExecutionPhase::Held if self.held_runs < self.config.max_held_runs => {
                self.held_runs += 1;
                let pause = self.grow_interval();
                self.state = State::Sleeping {
                    until: now + pause,
                    next: Next::Run,
                };
            }
            _ => {
                // The server blocked properly if the phase changed or it held the request
                // for at least half the WAIT asked; otherwise it does not block (UWS 1.0,
                // or a phase it does not block on) and we pace ourselves.
                let held_for = now.saturating_duration_since(sent);
                let blocked = match wait {
                    Some(secs) => {
                        previous != Some(phase)
                            || held_for >= Duration::from_secs(u64::from(secs)) / 2
                    }
                    None => previous != Some(phase) && previous.is_none(),
                };
                if blocked {
                    self.poll_interval = self.config.poll_initial;
                    self.state = State::ReadyToPoll;
                } else {
                    let pause = self.grow_interval();
                    self.state = State::Sleeping {
                        until: now + pause,
                        next: Next::Poll,
                    };
                }
            }
        }
        Ok(())
    }

    /// Reports that `PHASE=RUN` was accepted (the answer to [`Action::Run`]).
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] when no RUN was in flight.
    pub fn handle_run_sent(&mut self, _now: Instant) -> Result<()> {
        if self.state != State::Running {
            return Err(Error::IllegalTransition {
                state: format!("{:?}", self.state),
                input: "handle_run_sent",
            });
        }
        self.error_streak = 0;
        self.state = State::ReadyToPoll;
        Ok(())
    }

    /// Reports a transient failure (connection reset, timeout, 502/503/504) of the request
    /// in flight: the waiter pauses, then polls again, until too many happen in a row.
    ///
    /// # Errors
    /// [`Error::IllegalTransition`] when no request was in flight.
    pub fn handle_transient_error(&mut self, now: Instant) -> Result<()> {
        if !matches!(self.state, State::Polling { .. } | State::Running) {
            return Err(Error::IllegalTransition {
                state: format!("{:?}", self.state),
                input: "handle_transient_error",
            });
        }
        if self.state == State::Running {
            // The RUN may or may not have reached the server: the next poll tells.
            self.runs_sent = self.runs_sent.saturating_sub(1);
        }
        self.error_streak += 1;
        if self.error_streak > self.config.max_transient_errors {
            self.state = State::Done(Outcome::TooManyErrors(self.error_streak));
            return Ok(());
        }
        let pause = self.grow_interval();
        self.state = State::Sleeping {
            until: now + pause,
            next: Next::Poll,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExecutionPhase::{
        Archived, Completed, Executing, Held, Pending, Queued, Suspended, Unknown,
    };
    use std::fmt::Write as _;

    /// A scripted UWS server on a fake clock: the job moves through `timeline`
    /// (phase from an offset after RUN), answers polls, blocks on WAIT if `blocks`.
    struct FakeServer {
        timeline: Vec<(Duration, ExecutionPhase)>,
        held_timeline: Vec<ExecutionPhase>,
        blocks: bool,
        started: Option<Instant>,
        errors: Vec<bool>,
        latency: Duration,
    }

    impl FakeServer {
        fn new(blocks: bool, timeline: &[(u64, ExecutionPhase)]) -> Self {
            FakeServer {
                timeline: timeline
                    .iter()
                    .map(|(s, p)| (Duration::from_secs(*s), *p))
                    .collect(),
                held_timeline: Vec::new(),
                blocks,
                started: None,
                errors: Vec::new(),
                latency: Duration::from_millis(50),
            }
        }

        fn phase_at(&self, now: Instant) -> ExecutionPhase {
            let Some(start) = self.started else {
                return Pending;
            };
            let elapsed = now - start;
            self.timeline
                .iter()
                .rev()
                .find(|(at, _)| *at <= elapsed)
                .map_or(Pending, |(_, p)| *p)
        }

        fn next_change(&self, now: Instant) -> Option<Instant> {
            let start = self.started?;
            self.timeline
                .iter()
                .map(|(at, _)| start + *at)
                .find(|t| *t > now)
        }
    }

    fn secs(start: Instant, t: Instant) -> String {
        format!("{:>7.2}", (t - start).as_secs_f64())
    }

    fn run(config: WaitConfig, server: &mut FakeServer) -> String {
        let start = Instant::now();
        let mut now = start;
        let mut waiter = JobWaiter::new(config, now);
        let mut trace = String::new();
        for _ in 0..200 {
            let action = waiter.poll_action(now).unwrap();
            match action {
                Action::Poll { wait } => {
                    let _ = write!(trace, "{} poll", secs(start, now));
                    if let Some((w, p)) = wait {
                        let _ = write!(trace, " WAIT={w}&PHASE={p}");
                    }
                    if !server.errors.is_empty() && server.errors.remove(0) {
                        now += server.latency;
                        let _ = writeln!(trace, " -> 503 at {}", secs(start, now));
                        waiter.handle_transient_error(now).unwrap();
                        continue;
                    }
                    let current = server.phase_at(now);
                    if let (true, Some((w, p))) = (server.blocks, wait) {
                        if p == current && current.is_active() {
                            let limit = now + Duration::from_secs(u64::from(w));
                            now = server.next_change(now).map_or(limit, |c| c.min(limit));
                        }
                    }
                    now += server.latency;
                    let phase = if server.held_timeline.is_empty() {
                        server.phase_at(now)
                    } else {
                        server.held_timeline[0]
                    };
                    let _ = writeln!(trace, " -> {phase} at {}", secs(start, now));
                    waiter.handle_phase(now, phase).unwrap();
                }
                Action::Run => {
                    now += server.latency;
                    let _ = writeln!(trace, "{} run", secs(start, now));
                    if !server.held_timeline.is_empty() {
                        server.held_timeline.remove(0);
                    }
                    if server.held_timeline.is_empty() && server.started.is_none() {
                        server.started = Some(now);
                    }
                    waiter.handle_run_sent(now).unwrap();
                }
                Action::Sleep { until } => {
                    let _ = writeln!(
                        trace,
                        "{} sleep until {}",
                        secs(start, now),
                        secs(start, until)
                    );
                    assert!(until > now);
                    now = until;
                }
                Action::Done(outcome) => {
                    let _ = writeln!(trace, "{} done {outcome:?}", secs(start, now));
                    return trace;
                }
            }
        }
        panic!("waiter did not finish:\n{trace}");
    }

    #[test]
    fn blocking_server_full_cycle() {
        let mut server = FakeServer::new(true, &[(0, Queued), (2, Executing), (75, Completed)]);
        insta::assert_snapshot!(run(WaitConfig::default(), &mut server));
    }

    #[test]
    fn non_blocking_server_backs_off() {
        let mut server = FakeServer::new(false, &[(0, Executing), (100, Completed)]);
        let trace = run(WaitConfig::default(), &mut server);
        let polls = trace.lines().filter(|l| l.contains("poll")).count();
        assert!(polls < 15, "too many polls: {polls}\n{trace}");
        insta::assert_snapshot!(trace);
    }

    #[test]
    fn held_job_is_run_again_bounded() {
        let mut server = FakeServer::new(true, &[(0, Executing), (5, Completed)]);
        server.held_timeline = vec![Held, Held, Held];
        insta::assert_snapshot!(run(WaitConfig::default(), &mut server));
    }

    #[test]
    fn suspended_and_unknown_keep_polling() {
        let mut server = FakeServer::new(
            true,
            &[
                (0, Executing),
                (3, Suspended),
                (10, Unknown),
                (12, Executing),
                (20, Archived),
            ],
        );
        insta::assert_snapshot!(run(WaitConfig::default(), &mut server));
    }

    #[test]
    fn deadline_keeps_the_job() {
        let mut server = FakeServer::new(true, &[(0, Executing), (1000, Completed)]);
        let config = WaitConfig {
            deadline: Some(Duration::from_secs(100)),
            ..WaitConfig::default()
        };
        let trace = run(config, &mut server);
        assert!(
            trace
                .trim_end()
                .ends_with("done DeadlineExceeded(Some(Executing))"),
            "{trace}"
        );
        insta::assert_snapshot!(trace);
    }

    #[test]
    fn transient_errors_are_retried_then_give_up() {
        let mut server = FakeServer::new(true, &[(0, Executing), (10, Completed)]);
        server.errors = vec![false, false, true, true, true];
        insta::assert_snapshot!("transient_retried", run(WaitConfig::default(), &mut server));

        let mut server = FakeServer::new(true, &[(0, Executing)]);
        server.errors = vec![true; 20];
        let config = WaitConfig {
            max_transient_errors: 2,
            ..WaitConfig::default()
        };
        let trace = run(config, &mut server);
        assert!(
            trace.trim_end().ends_with("done TooManyErrors(3)"),
            "{trace}"
        );
    }

    #[test]
    fn illegal_transitions_are_errors() {
        let now = Instant::now();
        let mut waiter = JobWaiter::new(WaitConfig::default(), now);
        assert!(matches!(
            waiter.handle_phase(now, Executing),
            Err(Error::IllegalTransition { .. })
        ));
        assert!(waiter.handle_run_sent(now).is_err());
        waiter.poll_action(now).unwrap();
        assert!(waiter.poll_action(now).is_err());
        assert!(waiter.handle_run_sent(now).is_err());
        waiter.handle_phase(now, Completed).unwrap();
        assert_eq!(
            waiter.poll_action(now).unwrap(),
            Action::Done(Outcome::Finished(Completed))
        );
    }

    #[test]
    fn attached_pending_job_without_run() {
        let now = Instant::now();
        let config = WaitConfig {
            run_pending: false,
            ..WaitConfig::default()
        };
        let mut waiter = JobWaiter::new(config, now);
        waiter.poll_action(now).unwrap();
        waiter.handle_phase(now, Pending).unwrap();
        assert_eq!(
            waiter.poll_action(now).unwrap(),
            Action::Poll {
                wait: Some((30, Pending))
            }
        );
        assert_eq!(waiter.runs_sent(), 0);
    }
}
