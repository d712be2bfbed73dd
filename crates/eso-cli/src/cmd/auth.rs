//! `eso login`, `eso logout`, `eso whoami`.

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use serde::Serialize;
use vo_auth::password::PasswordSource;

use crate::args::{LoginArgs, WhoamiArgs};
use crate::context::Ctx;
use crate::output;

fn ask_user() -> anyhow::Result<String> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("no user name: pass --user NAME or set ESO_USER");
    }
    eprint!("ESO user name: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let user = line.trim().to_owned();
    if user.is_empty() {
        anyhow::bail!("no user name given");
    }
    Ok(user)
}

/// `eso login`.
pub async fn login(ctx: &Ctx, args: &LoginArgs) -> anyhow::Result<ExitCode> {
    let user = match &ctx.global.user {
        Some(user) => user.clone(),
        None => ask_user()?,
    };
    let host = ctx.endpoints.sso_origin().host().to_owned();
    let source = PasswordSource::for_login(&user, &host, args.password_stdin);
    let password = source.resolve(&user, &host)?;
    let (login, path) = vo_auth::eso::login_and_store(
        &ctx.anonymous(),
        &ctx.endpoints,
        &ctx.cache,
        &user,
        &password,
    )
    .await?;
    if args.store_password {
        // No system keyring is used (headless Linux has none): the password goes to a 0600
        // file in the 0700 cache directory, only because the user asked for it.
        let path = ctx
            .cache
            .store_password(&ctx.endpoints.sso_origin(), &user, &password)?;
        if !ctx.global.quiet {
            eprintln!(
                "password stored in {} (mode 0600) for silent renewal; `eso logout` removes it",
                path.display()
            );
        }
    }
    if !ctx.global.quiet {
        let left = login
            .time_left(SystemTime::now())
            .map(format_duration)
            .unwrap_or_else(|| "expired".into());
        output::print(&format!(
            "{} as {} (token valid for {left}, cached in {})\n",
            ctx.style.ok("Logged in"),
            output::escape(&login.user),
            path.display()
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `eso logout`.
pub fn logout(ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let sso = ctx.endpoints.sso_origin();
    let logged_out = vo_auth::eso::logout(&ctx.cache, &ctx.endpoints, ctx.global.user.as_deref())?;
    // A stored password goes with the login (also when the token had already been removed).
    if let Some(user) = logged_out.as_deref().or(ctx.global.user.as_deref()) {
        ctx.cache.remove_password(&sso, user)?;
    }
    match logged_out {
        Some(user) => {
            if !ctx.global.quiet {
                output::print(&format!("Logged out {}\n", output::escape(&user)))?;
            }
        }
        None => {
            if !ctx.global.quiet {
                output::print("Not logged in: nothing to do\n")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Serialize)]
struct WhoamiJson {
    user: String,
    sso: String,
    name: Option<String>,
    roles: Vec<String>,
    expires_at: u64,
    seconds_left: u64,
    expired: bool,
}

/// Formats a duration as `7h 59m` / `12m 3s`.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Local time of a Unix timestamp, formatted by the system's `date` conventions.
fn local_time(t: SystemTime) -> String {
    let secs = unix_seconds(t);
    // Format with the local offset when the platform tells it; fall back to UTC.
    let offset = local_offset_seconds();
    let local = secs as i64 + offset;
    let days = local.div_euclid(86_400);
    let rem = local.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        off / 3600,
        (off % 3600) / 60
    )
}

/// The local UTC offset from `TZ`-style fixed offsets is not portable without a time-zone
/// database, so only UTC and the offset printed by `date +%z` are used.
fn local_offset_seconds() -> i64 {
    std::process::Command::new("date")
        .arg("+%z")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            let s = s.trim();
            let (sign, digits) = s.split_at(1);
            let hours: i64 = digits.get(0..2)?.parse().ok()?;
            let minutes: i64 = digits.get(2..4)?.parse().ok()?;
            let total = hours * 3600 + minutes * 60;
            Some(if sign == "-" { -total } else { total })
        })
        .unwrap_or(0)
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `eso whoami`.
pub fn whoami(ctx: &Ctx, args: &WhoamiArgs) -> anyhow::Result<ExitCode> {
    let now = SystemTime::now();
    let me = vo_auth::eso::whoami(&ctx.cache, &ctx.endpoints, ctx.global.user.as_deref(), now)
        .context("cannot tell who is logged in")?;
    if args.json {
        let json = WhoamiJson {
            user: me.user.clone(),
            sso: me.sso.to_string(),
            name: me.name().map(str::to_owned),
            roles: me.roles().to_vec(),
            expires_at: unix_seconds(me.expires_at),
            seconds_left: me.time_left.map(|d| d.as_secs()).unwrap_or(0),
            expired: me.time_left.is_none(),
        };
        output::print(&(serde_json::to_string_pretty(&json)? + "\n"))?;
        return Ok(ExitCode::SUCCESS);
    }
    let left = match me.time_left {
        Some(d) => format!("{} left", format_duration(d)),
        None => ctx.style.warn("expired: run `eso login`"),
    };
    let mut text = format!("user:    {}\n", output::escape(&me.user));
    if let Some(name) = me.name() {
        text.push_str(&format!("name:    {}\n", output::escape(name)));
    }
    text.push_str(&format!(
        "roles:   {}\n",
        output::escape(&me.roles().join(", "))
    ));
    text.push_str(&format!("login:   {}\n", me.sso));
    text.push_str(&format!(
        "expires: {} ({left})\n",
        local_time(me.expires_at)
    ));
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_597), (2026, 5, 24));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_secs(28_800)), "8h 00m");
        assert_eq!(format_duration(Duration::from_secs(723)), "12m 03s");
        assert_eq!(format_duration(Duration::from_secs(5)), "5s");
    }
}
