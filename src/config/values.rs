//! The value forms the file and the environment share: durations, times, booleans, names.
//!
//! Every parser here returns a problem description that never contains the input: the caller
//! adds the field's path, and the value itself (which may be a secret pasted into the wrong
//! place) is never echoed.

use std::time::Duration;

use crate::clock::UnixTime;
use crate::cookie_policy::{CookieLifetime, SameSite, MAX_COOKIE_LIFETIME};
use crate::envelope::Mode;
use crate::error::{Error, ErrorKind};
use crate::seal::SealerBuilder;

/// What a duration looks like, for error messages.
pub(super) const DURATION_FORMS: &str = "a duration such as \"90s\", \"30m\", \"12h\" or \"14d\"";

pub(super) use crate::clock::TIME_FORMS;

/// The longest clock leeway accepted.
const MAX_LEEWAY: Duration = Duration::from_secs(24 * 3600);

/// Text that is not blank, trimmed.
pub(super) fn non_empty(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(t.to_owned())
    }
}

/// A duration in humantime's form ("30m", "14d", "1h 30m").
pub(super) fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|_| format!("expected {DURATION_FORMS}"))
}

/// The absolute session lifetime: one second to 100 years.
pub(super) fn lifetime(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    if d.as_secs() == 0 || d > SealerBuilder::MAX_LIFETIME {
        return Err("must be between one second and 100 years".to_owned());
    }
    Ok(d)
}

/// The idle timeout: a duration from one second to 100 years, or `off` (also `none`, `never`).
pub(super) fn idle_timeout(text: &str) -> Result<Option<Duration>, String> {
    let t = text.trim();
    if ["off", "none", "never"]
        .iter()
        .any(|w| t.eq_ignore_ascii_case(w))
    {
        return Ok(None);
    }
    let d = duration(t).map_err(|_| format!("expected {DURATION_FORMS}, or \"off\""))?;
    if d.as_secs() == 0 {
        return Err("must be at least one second (use \"off\" to disable it)".to_owned());
    }
    // Longer than any session can live is meaningless, and bounding it keeps the refresh point
    // (a fraction of it) computable.
    if d > SealerBuilder::MAX_LIFETIME {
        return Err("must be at most 100 years (use \"off\" to disable it)".to_owned());
    }
    Ok(Some(d))
}

/// The clock leeway: zero to one day.
pub(super) fn leeway(text: &str) -> Result<Duration, String> {
    let d = duration(text)?;
    if d > MAX_LEEWAY {
        return Err("must be at most one day".to_owned());
    }
    Ok(d)
}

/// The cookie lifetime: `session` (the browser forgets it on close) or a duration up to 400 days.
pub(super) fn cookie_lifetime(text: &str) -> Result<CookieLifetime, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("session") {
        return Ok(CookieLifetime::BrowserSession);
    }
    let d = duration(t).map_err(|_| format!("expected \"session\" or {DURATION_FORMS}"))?;
    if d.as_secs() == 0 || d > MAX_COOKIE_LIFETIME {
        return Err(
            "must be between one second and 400 days (browsers cap cookies at 400 days)".to_owned(),
        );
    }
    Ok(CookieLifetime::Persistent(d))
}

/// The refresh fraction: a number from 0 to 1.
pub(super) fn refresh_fraction(f: f64) -> Result<f64, String> {
    if f.is_finite() && (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err("must be a number from 0 to 1".to_owned())
    }
}

/// The number of cookies a session may span: 1 (no chunking) to 16.
pub(super) fn chunks(n: i64) -> Result<usize, String> {
    match usize::try_from(n) {
        Ok(n @ 1..=16) => Ok(n),
        _ => Err("must be from 1 (one cookie, no chunking) to 16".to_owned()),
    }
}

/// A mode by its stable name.
pub(super) fn mode(text: &str) -> Result<Mode, String> {
    Mode::from_name(text.trim()).ok_or_else(|| {
        let names: Vec<&str> = Mode::ALL.iter().map(|m| m.as_str()).collect();
        format!("unknown mode; expected one of {}", names.join(", "))
    })
}

/// `strict`, `lax` or `none`, in any case.
pub(super) fn same_site(text: &str) -> Result<SameSite, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "strict" => Ok(SameSite::Strict),
        "lax" => Ok(SameSite::Lax),
        "none" => Ok(SameSite::None),
        _ => Err("expected \"strict\", \"lax\" or \"none\"".to_owned()),
    }
}

/// What a boolean looks like, for error messages.
pub(super) const BOOLEAN_FORMS: &str =
    "expected true or false (also 1/0, yes/no, on/off; any case)";

/// A boolean from the environment: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, in any
/// case. Anything else is an error: `flase` must not quietly mean either.
pub(super) fn boolean(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(BOOLEAN_FORMS.to_owned()),
    }
}

/// Parse a boolean setting the way the configuration does: `true`/`false`, `1`/`0`,
/// `yes`/`no`, `on`/`off`, in any case, surrounding white space ignored. Any other spelling is
/// an error, so a typo such as `flase` is never read as either value.
///
/// ```
/// use sealed_session::config::parse_bool;
///
/// assert_eq!(parse_bool("Off")?, false);
/// assert_eq!(parse_bool(" YES ")?, true);
/// assert!(parse_bool("flase").is_err());
/// # Ok::<(), sealed_session::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidConfig`] for any other text. The message does not repeat the input.
pub fn parse_bool(text: &str) -> Result<bool, Error> {
    boolean(text).map_err(|problem| Error::new(ErrorKind::InvalidConfig, problem))
}

/// Parse a point in time: an RFC 3339 date-time with an offset (`2026-11-01T00:00:00Z`,
/// `2026-11-01T02:00:00+02:00`, fractional seconds ignored), or `@` followed by Unix seconds
/// (`@1793491200`), the form [`UnixTime`]'s `Display` falls back to.
///
/// ```
/// use sealed_session::config::parse_time;
/// use sealed_session::UnixTime;
///
/// assert_eq!(parse_time("2023-11-14T22:13:20Z")?, UnixTime::from_secs(1_700_000_000));
/// assert_eq!(parse_time("2023-11-15T00:13:20+02:00")?, UnixTime::from_secs(1_700_000_000));
/// assert_eq!(parse_time("@1700000000")?, UnixTime::from_secs(1_700_000_000));
/// assert!(parse_time("2023-02-30T00:00:00Z").is_err()); // no such day
/// assert!(parse_time("2023-11-14T22:13:20").is_err()); // no offset
/// # Ok::<(), sealed_session::Error>(())
/// ```
///
/// # Errors
/// [`ErrorKind::InvalidConfig`] if `text` is neither form or names no real instant (a month 13,
/// February 30, a time before 1970). The message does not repeat the input.
pub fn parse_time(text: &str) -> Result<UnixTime, Error> {
    crate::clock::parse_time(text)
        .ok_or_else(|| Error::new(ErrorKind::InvalidConfig, format!("expected {TIME_FORMS}")))
}

/// A third-party error message with anything that could be a secret taken out: every run of 16
/// or more base64 characters (a 32-byte secret is 43) becomes `…`, unless it reads like a field
/// name (lower-case letters, `_` and `-` only). Line breaks become `; `.
pub(super) fn sanitize(message: &str) -> String {
    const LONGEST_KEPT: usize = 15;
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    let mut out = String::with_capacity(message.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let name_like = run
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-');
        if run.chars().count() > LONGEST_KEPT && !name_like {
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in message.chars() {
        if is_b64(c) {
            run.push(c);
            continue;
        }
        flush(&mut run, &mut out);
        match c {
            '\n' => out.push_str("; "),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A field or variable name from the input, for a message: kept when it looks like a name (a
/// typo of one), replaced when it could be a secret pasted as a key.
pub(super) fn field_name(name: &str) -> String {
    let name_like = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        || name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if name.len() <= 64 && (name_like || name.len() < 16) {
        name.escape_debug().to_string()
    } else {
        "<a field name that is not shown>".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<u64> {
        parse_time(s).ok().map(UnixTime::as_secs)
    }

    #[test]
    fn rfc3339_forms_and_calendar_checks() {
        assert_eq!(t("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(t("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(t("2023-11-14t22:13:20z"), Some(1_700_000_000));
        assert_eq!(t("2023-11-14 22:13:20Z"), Some(1_700_000_000));
        assert_eq!(t("2023-11-14T22:13:20.999999Z"), Some(1_700_000_000));
        assert_eq!(t("2023-11-14T17:13:20-05:00"), Some(1_700_000_000));
        assert_eq!(t("2023-11-15T03:43:20+05:30"), Some(1_700_000_000));
        assert_eq!(t("  2023-11-14T22:13:20Z \n"), Some(1_700_000_000));
        assert_eq!(t("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        // A leap second is read as the end of the second before it (the `time` crate's reading).
        assert_eq!(t("2016-12-31T23:59:60Z"), Some(1_483_228_799));
        assert_eq!(t("@1700000000"), Some(1_700_000_000));
        for bad in [
            "",
            "@",
            "@-5",
            "@12x",
            "1700000000",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13Z",
            "2023-13-01T00:00:00Z",
            "2023-00-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T23:60:00Z",
            "2023-11-14T23:59:61Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+24:00",
            "2023-11-14T22:13:20+05:60",
            "2023-11-14T22:13:20+0530",
            "2023-11-14T22:13:20Zjunk",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+00:01",
            "２023-11-14T22:13:20Z",
        ] {
            assert_eq!(t(bad), None, "{bad:?}");
        }
        let e = parse_time("2023-02-30T00:00:00Z").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(!e.message().contains("2023"), "{e}");
    }

    #[test]
    fn display_round_trips() {
        for secs in [0, 1_700_000_000, 4_102_444_800] {
            let u = UnixTime::from_secs(secs);
            assert_eq!(parse_time(&u.to_string()).unwrap(), u);
        }
    }

    #[test]
    fn durations_and_their_ranges() {
        assert_eq!(duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(duration(" 14d "), Ok(Duration::from_secs(14 * 86400)));
        assert_eq!(duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(duration("soon").is_err());
        assert!(duration("30").is_err());
        assert!(lifetime("0s").is_err());
        assert!(lifetime("101years").is_err());
        assert_eq!(idle_timeout("OFF"), Ok(None));
        assert_eq!(idle_timeout("2h"), Ok(Some(Duration::from_secs(7200))));
        assert!(idle_timeout("0s").is_err());
        assert!(leeway("2d").is_err());
        assert_eq!(leeway("0s"), Ok(Duration::ZERO));
        assert_eq!(
            cookie_lifetime("Session"),
            Ok(CookieLifetime::BrowserSession)
        );
        assert_eq!(
            cookie_lifetime("30d"),
            Ok(CookieLifetime::Persistent(Duration::from_secs(30 * 86400)))
        );
        assert!(cookie_lifetime("401d").is_err());
        assert!(refresh_fraction(1.5).is_err());
        assert!(refresh_fraction(f64::NAN).is_err());
        assert_eq!(chunks(1), Ok(1));
        assert!(chunks(0).is_err());
        assert!(chunks(17).is_err());
        assert!(chunks(-1).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(mode("aes-256-gcm-siv"), Ok(Mode::Aes256GcmSiv));
        assert_eq!(mode("signed-hmac-sha256"), Ok(Mode::Signed));
        let e = mode("rot13").unwrap_err();
        assert!(
            e.contains("xchacha20poly1305") && !e.contains("rot13"),
            "{e}"
        );
        assert_eq!(same_site("LAX"), Ok(SameSite::Lax));
        assert!(same_site("sometimes").is_err());
        assert_eq!(boolean("Yes"), Ok(true));
        assert_eq!(boolean("0"), Ok(false));
        assert!(boolean("maybe").is_err());
    }

    #[test]
    fn field_names_are_shown_unless_they_look_like_secrets() {
        assert_eq!(field_name("refresh_fraktion"), "refresh_fraktion");
        assert_eq!(
            field_name("SEALED_SESSION_COOKIENAME"),
            "SEALED_SESSION_COOKIENAME"
        );
        assert_eq!(field_name("Secret"), "Secret");
        let secret = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA";
        assert!(!field_name(secret).contains("q83v"));
        assert!(!field_name(&"a".repeat(65)).contains("aaaa"));
    }

    #[test]
    fn sanitize_removes_long_base64_runs() {
        let secret = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
        let msg = format!("invalid type: string \"{secret}\", expected a boolean\nline two");
        let clean = sanitize(&msg);
        assert!(!clean.contains(&secret[..16]), "{clean}");
        assert_eq!(
            clean,
            "invalid type: string \"…\", expected a boolean; line two"
        );
        assert_eq!(
            sanitize("expected `.`, `=`"),
            "expected `.`, `=`",
            "short tokens are kept"
        );
        assert_eq!(
            sanitize("duplicate key `refresh_fraction` in table `session`"),
            "duplicate key `refresh_fraction` in table `session`",
            "field names are kept"
        );
        assert_eq!(sanitize("`abcdefghijklmnopqrstuvwxyz0`"), "`…`");
    }
}
