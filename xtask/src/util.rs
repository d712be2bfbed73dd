//! Small helpers shared by the tasks: paths, running commands, apt, dates.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of this crate's directory).
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map_or_else(|| manifest_dir.to_path_buf(), Path::to_path_buf)
}

/// `cargo`, as the one running us (`$CARGO`) or from `PATH`.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(program);
    cmd.current_dir(root());
    cmd
}

/// A printable form of a command line, for logs.
pub fn display(cmd: &Command) -> String {
    let program = cmd.get_program().to_string_lossy().into_owned();
    // `$CARGO` is a long toolchain path; logs read better with the plain name.
    let program = if program.ends_with("/cargo") {
        "cargo".to_owned()
    } else {
        program
    };
    let mut parts = vec![program];
    parts.extend(cmd.get_args().map(shell_quote));
    parts.join(" ")
}

fn shell_quote(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// Runs a command with inherited stdio, failing unless it exits with success.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = display(cmd);
    eprintln!("$ {line}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }
    Ok(())
}

/// Runs a command and captures its output; fails unless it exits with success.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let line = display(cmd);
    let out = cmd
        .output()
        .with_context(|| format!("cannot start `{line}`"))?;
    if !out.status.success() {
        bail!(
            "`{line}` failed with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// Whether `program` is found on `PATH` (or is an existing path).
pub fn have(program: &str) -> bool {
    which(program).is_some()
}

/// The full path of `program` on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    let path_var = std::env::var_os("PATH")?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Whether we run as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A command that runs `program` as root: directly when we are root, else through sudo.
pub fn as_root(program: &str) -> Result<Command> {
    if is_root() {
        Ok(Command::new(program))
    } else if have("sudo") {
        let mut cmd = Command::new("sudo");
        cmd.arg(
            "--preserve-env=DACHS_PORT,DACHS_ROWS,DACHS_WAIT,DACHS_FORCE_IMPORT,DEBIAN_FRONTEND",
        )
        .arg(program);
        Ok(cmd)
    } else {
        bail!("`{program}` must run as root, and sudo is not installed")
    }
}

/// Whether a Debian package is installed.
pub fn deb_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .ok()
        .is_some_and(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
}

/// Installs Debian packages that are missing (`apt-get update` first), as root.
pub fn apt_install(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !deb_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !have("apt-get") {
        bail!(
            "missing {}: install them by hand (no apt-get on this machine)",
            missing.join(" ")
        );
    }
    eprintln!("installing {} with apt", missing.join(" "));
    run(as_root("apt-get")?.args(["update", "-q", "-o", "DPkg::Lock::Timeout=600"]))?;
    run(as_root("apt-get")?
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args([
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            "-o",
            "DPkg::Lock::Timeout=600",
        ])
        .args(&missing))
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let (year, month, day) = civil_from_days(secs / 86_400);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Converts days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar.
pub fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Howard Hinnant's algorithm, for non-negative day counts.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Formats a duration as seconds with one decimal.
pub fn secs(duration: std::time::Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
    }

    #[test]
    fn quoting() {
        let mut cmd = Command::new("echo");
        cmd.args(["a", "b c", "it's"]);
        assert_eq!(display(&cmd), r"echo a 'b c' 'it'\''s'");
    }
}
