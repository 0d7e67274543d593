//! CSRF synchronizer tokens bound to the session.
//!
//! A token is the session's [lineage](Session::lineage) sealed under the manager's key ring with
//! its own purpose, `csrf` (the session cookie's purpose is `session`): the same v1 envelope as
//! the cookie, so a session token never opens as a CSRF token, nor the reverse. It is encrypted
//! (AES-256-GCM-SIV, or the session's mode when that is an encrypted one), so a page that shows a
//! token does not show the session's lineage.
//!
//! A token verifies for a request when it opens (authentic, under a key of the ring, not older
//! than the CSRF max age) and its lineage equals the request session's lineage, compared in
//! constant time. So it stays valid across [`Session::renew`] (a login keeps the lineage), and is
//! refused after [`Session::purge`] (a logout: the session that follows has a new lineage), after
//! [`Session::renew_empty`], and for any other session.
//!
//! ```
//! use sealed_session::csrf::CsrfRejection;
//! use sealed_session::{KeyRing, SessionManager};
//!
//! let manager = SessionManager::builder(KeyRing::generate()).with_cookie_name("id").build()?;
//! let session = manager.load(&http::HeaderMap::new());
//! let token = manager.csrf_token(&session)?; // gives the new session a lineage
//! assert_eq!(manager.verify_csrf(&session, &token), Ok(()));
//!
//! session.renew(); // a login: same lineage
//! assert_eq!(manager.verify_csrf(&session, &token), Ok(()));
//!
//! let other = manager.load(&http::HeaderMap::new());
//! let _ = manager.csrf_token(&other)?;
//! assert_eq!(manager.verify_csrf(&other, &token), Err(CsrfRejection::OtherSession));
//!
//! session.purge(); // a logout
//! assert_eq!(manager.verify_csrf(&session, &token), Err(CsrfRejection::NoSession));
//! # Ok::<(), sealed_session::Error>(())
//! ```
//!
//! The adapters check tokens on unsafe methods: `sealed_session::axum::Csrf` and
//! `sealed_session::actix::Csrf` (an `X-CSRF-Token` header, or a `csrf_token` field of a
//! urlencoded form, configured by [`CsrfConfig`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::clock::Clock;
use crate::envelope::Mode;
use crate::error::{Error, ErrorKind, Rejection};
use crate::keys::KeyRing;
use crate::manager::SessionManager;
use crate::seal::Sealer;
use crate::session::{Session, SessionId};

/// The purpose bound into every CSRF token (a session's is `session` by default, and may not be
/// this).
pub const PURPOSE: &str = "csrf";

/// The longest payload a CSRF token carries: `{"lineage":"<22 characters>"}` is 35 bytes. Tokens
/// are refused by length before any decoding beyond what this needs.
const MAX_PAYLOAD: usize = 64;

/// The sealed payload.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    lineage: SessionId,
}

/// The CSRF sealer of a manager: the session's ring, cookie name and clock, purpose `csrf`,
/// always an encrypted mode, `max_age` as its lifetime and no idle limit.
#[allow(clippy::too_many_arguments, reason = "one call, from the builder")]
pub(crate) fn sealer(
    ring: &KeyRing,
    cookie_name: &str,
    session_purpose: &str,
    session_mode: Mode,
    also_open: &[Mode],
    max_age: Duration,
    leeway: Duration,
    clock: Arc<dyn Clock>,
) -> Result<Sealer, Error> {
    if session_purpose == PURPOSE {
        return Err(Error::new(
            ErrorKind::InvalidConfig,
            "the session purpose \"csrf\" is reserved for CSRF tokens",
        ));
    }
    let encrypted = |m: Mode| if m.is_encrypted() { m } else { Mode::default() };
    let mode = encrypted(session_mode);
    let mut builder = Sealer::builder(ring.clone(), cookie_name)
        .purpose(PURPOSE)
        .mode(mode)
        .lifetime(max_age)
        .idle_timeout(None)
        .leeway(leeway)
        .max_token_len(
            Mode::ALL
                .iter()
                .map(|m| m.encoded_len(MAX_PAYLOAD))
                .max()
                .unwrap_or(0),
        )
        .clock(clock);
    for m in also_open.iter().copied().map(encrypted) {
        builder = builder.also_open(m);
    }
    builder
        .build()
        .map_err(|e| Error::new(e.kind(), format!("CSRF tokens (max age): {}", e.message())))
}

/// Why a request's CSRF token was refused. The HTTP answer is an opaque `403` whatever the
/// reason; the reason is for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CsrfRejection {
    /// No token: no header, no form field, or an empty one.
    Missing,
    /// The token did not open: altered, forged, sealed for another purpose (a session cookie),
    /// another cookie name or another key ring, or older than the CSRF max age.
    Invalid(Rejection),
    /// The request has no session with a lineage (no cookie, a refused or revoked cookie, or a
    /// session purged in this request): no token can match it.
    NoSession,
    /// The token is authentic but was issued for another session (another lineage: another
    /// browser, or this one before a logout or a [`Session::renew_empty`]).
    OtherSession,
    /// The session is not tied to a manager (built with [`Session::new`]), so nothing can
    /// verify a token against it.
    Detached,
}

impl CsrfRejection {
    /// A short, stable code for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            CsrfRejection::Missing => "missing",
            CsrfRejection::Invalid(_) => "invalid",
            CsrfRejection::NoSession => "no_session",
            CsrfRejection::OtherSession => "other_session",
            CsrfRejection::Detached => "detached",
        }
    }
}

impl fmt::Display for CsrfRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsrfRejection::Invalid(r) => write!(f, "csrf token refused: invalid ({r})"),
            other => write!(f, "csrf token refused: {}", other.as_str()),
        }
    }
}

impl std::error::Error for CsrfRejection {}

impl SessionManager {
    /// A CSRF token for `session`, bound to its [lineage](Session::lineage). A session that has
    /// no lineage yet (new, or purged in this request) is given one and will be written by the
    /// response (a `Set-Cookie`), even while it holds no data. Each call gives a different
    /// token (a fresh nonce); every one of them verifies until the session's lineage changes or
    /// the CSRF max age passes.
    ///
    /// # Errors
    /// As [`Sealer::seal`] (a clock past the year 2^64 seconds, an AES-256-GCM nonce budget
    /// spent).
    pub fn csrf_token(&self, session: &Session) -> Result<String, Error> {
        issue(self.csrf_sealer(), session)
    }

    /// Check `token` against `session`: authentic, younger than the CSRF max age, and for the
    /// session's lineage (compared in constant time).
    ///
    /// # Errors
    /// The [`CsrfRejection`] that stopped it.
    pub fn verify_csrf(&self, session: &Session, token: &str) -> Result<(), CsrfRejection> {
        verify(self.csrf_sealer(), session, token)
    }
}

/// [`SessionManager::csrf_token`] with the CSRF sealer of the manager that loaded `session`:
/// what the adapters' extractors call, which see the session but not the manager.
///
/// # Errors
/// [`ErrorKind::InvalidConfig`] for a detached session; otherwise as
/// [`SessionManager::csrf_token`].
pub fn token_for(session: &Session) -> Result<String, Error> {
    match session.csrf_sealer() {
        Some(sealer) => issue(sealer, session),
        None => Err(Error::new(
            ErrorKind::InvalidConfig,
            "a CSRF token needs a session loaded by a manager (is the session layer installed?)",
        )),
    }
}

/// [`SessionManager::verify_csrf`] with the CSRF sealer of the manager that loaded `session`.
///
/// # Errors
/// [`CsrfRejection::Detached`] for a detached session; otherwise as
/// [`SessionManager::verify_csrf`].
pub fn verify_for(session: &Session, token: &str) -> Result<(), CsrfRejection> {
    match session.csrf_sealer() {
        Some(sealer) => verify(sealer, session, token),
        None => Err(CsrfRejection::Detached),
    }
}

fn issue(sealer: &Sealer, session: &Session) -> Result<String, Error> {
    let lineage = session.ensure_lineage();
    sealer.seal(&Payload { lineage })
}

fn verify(sealer: &Sealer, session: &Session, token: &str) -> Result<(), CsrfRejection> {
    let token = token.trim();
    if token.is_empty() {
        return Err(CsrfRejection::Missing);
    }
    let opened = sealer
        .open::<Payload>(token)
        .map_err(CsrfRejection::Invalid)?;
    let Some(lineage) = session.lineage() else {
        return Err(CsrfRejection::NoSession);
    };
    if bool::from(opened.value().lineage.as_bytes().ct_eq(lineage.as_bytes())) {
        Ok(())
    } else {
        Err(CsrfRejection::OtherSession)
    }
}

/// Where the adapters look for a token, and how much of a form they read to find it.
///
/// ```
/// use sealed_session::csrf::CsrfConfig;
///
/// let config = CsrfConfig::default().with_header_name("X-XSRF-Token").with_field_name("_csrf");
/// assert_eq!(config.header_name(), "x-xsrf-token");
/// assert_eq!(config.field_name(), "_csrf");
/// assert_eq!(config.max_form_bytes(), CsrfConfig::DEFAULT_MAX_FORM_BYTES);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrfConfig {
    header: String,
    field: String,
    max_form_bytes: usize,
}

impl Default for CsrfConfig {
    fn default() -> Self {
        CsrfConfig {
            header: CsrfConfig::DEFAULT_HEADER.to_ascii_lowercase(),
            field: CsrfConfig::DEFAULT_FIELD.to_owned(),
            max_form_bytes: CsrfConfig::DEFAULT_MAX_FORM_BYTES,
        }
    }
}

impl CsrfConfig {
    /// The default request header: `X-CSRF-Token` (what scripts send).
    pub const DEFAULT_HEADER: &'static str = "X-CSRF-Token";
    /// The default form field: `csrf_token` (what a hidden input in an HTML form sends).
    pub const DEFAULT_FIELD: &'static str = "csrf_token";
    /// The default largest urlencoded body read to find the field: 64 KiB. A larger form
    /// without the header is refused (`413`) before more is read.
    pub const DEFAULT_MAX_FORM_BYTES: usize = 64 * 1024;

    /// The header carrying the token (case-insensitive). Default `X-CSRF-Token`.
    #[must_use]
    pub fn with_header_name(mut self, name: impl Into<String>) -> Self {
        self.header = name.into().to_ascii_lowercase();
        self
    }

    /// The urlencoded form field carrying the token. Default `csrf_token`.
    #[must_use]
    pub fn with_field_name(mut self, name: impl Into<String>) -> Self {
        self.field = name.into();
        self
    }

    /// The largest form body read to find the field. Default
    /// [`DEFAULT_MAX_FORM_BYTES`](Self::DEFAULT_MAX_FORM_BYTES).
    #[must_use]
    pub fn with_max_form_bytes(mut self, max: usize) -> Self {
        self.max_form_bytes = max;
        self
    }

    /// The header name, lowercase.
    pub fn header_name(&self) -> &str {
        &self.header
    }

    /// The form field name.
    pub fn field_name(&self) -> &str {
        &self.field
    }

    /// The largest form body read.
    pub fn max_form_bytes(&self) -> usize {
        self.max_form_bytes
    }
}

/// Whether a request with this method must carry a token: every method but the safe ones of
/// RFC 9110 (GET, HEAD, OPTIONS, TRACE), so an unknown method is checked too.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn is_unsafe_method(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

/// Whether a `Content-Type` value is a urlencoded form (the only body the token is read from).
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn is_urlencoded_form(content_type: Option<&[u8]>) -> bool {
    const FORM: &[u8] = b"application/x-www-form-urlencoded";
    content_type
        .and_then(|ct| ct.get(..FORM.len()))
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(FORM))
}

/// The first value of `field` in a urlencoded body (`+` is a space, `%XX` a byte; a value that
/// does not decode to UTF-8 is no value).
#[cfg(any(feature = "axum", feature = "actix", test))]
pub(crate) fn form_field(body: &[u8], field: &str) -> Option<String> {
    body.split(|b| *b == b'&').find_map(|pair| {
        let (name, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (pair.get(..i)?, pair.get(i.saturating_add(1)..)?),
            None => (pair, &[][..]),
        };
        (percent_decode(name)? == field.as_bytes())
            .then(|| percent_decode(value).and_then(|v| String::from_utf8(v).ok()))?
    })
}

#[cfg(any(feature = "axum", feature = "actix", test))]
fn percent_decode(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter().copied();
    while let Some(b) = bytes.next() {
        out.push(match b {
            b'+' => b' ',
            b'%' => {
                let hi = hex(bytes.next()?)?;
                let lo = hex(bytes.next()?)?;
                (hi << 4) | lo
            }
            b => b,
        });
    }
    Some(out)
}

#[cfg(any(feature = "axum", feature = "actix", test))]
fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// What an adapter found in a request, checked: the token from the header if there is one,
/// else from the form body if given.
#[cfg(any(feature = "axum", feature = "actix"))]
pub(crate) fn check(
    session: &Session,
    header: Option<&[u8]>,
    form: Option<&[u8]>,
    config: &CsrfConfig,
) -> Result<(), CsrfRejection> {
    let token = match header {
        Some(h) => std::str::from_utf8(h).ok().map(str::to_owned),
        None => form.and_then(|body| form_field(body, config.field_name())),
    };
    match token {
        Some(token) => verify_for(session, &token),
        None => Err(CsrfRejection::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{ManualClock, UnixTime};
    use crate::keys::Key;

    fn manager_with(ring: KeyRing, clock: &Arc<ManualClock>) -> SessionManager {
        SessionManager::builder(ring)
            .with_cookie_name("id")
            .with_clock(clock.clone())
            .with_csrf_max_age(Duration::from_secs(3600))
            .build()
            .unwrap()
    }

    fn clock() -> Arc<ManualClock> {
        Arc::new(ManualClock::new(UnixTime::from_secs(1_700_000_000)))
    }

    /// The session a browser would send back after `session`'s response.
    fn next_request(manager: &SessionManager, session: &Session) -> Session {
        let cookies = manager.finish(session).unwrap();
        let pairs: Vec<&str> = cookies.iter().filter_map(|c| c.split(';').next()).collect();
        let header = pairs.join("; ");
        manager.load_from_cookie_headers([header.as_bytes()])
    }

    #[test]
    fn a_token_gives_a_new_session_a_lineage_and_a_cookie() {
        let manager = manager_with(KeyRing::generate(), &clock());
        let session = manager.load(&http::HeaderMap::new());
        assert_eq!(session.lineage(), None);
        let token = manager.csrf_token(&session).unwrap();
        let lineage = session.lineage().unwrap();
        let cookies = manager.finish(&session).unwrap();
        assert_eq!(cookies.len(), 1, "an empty session with a token is written");
        let next = next_request(&manager, &session);
        assert_eq!(next.lineage(), Some(lineage));
        assert_eq!(manager.verify_csrf(&next, &token), Ok(()));
        // A second token for the same session differs, and both verify.
        let again = manager.csrf_token(&next).unwrap();
        assert_ne!(again, token);
        assert_eq!(manager.verify_csrf(&next, &again), Ok(()));
        // Issuing a token for a stored session writes nothing.
        assert!(manager.finish(&next).unwrap().is_empty());
    }

    #[test]
    fn renew_keeps_tokens_renew_empty_and_purge_end_them() {
        let manager = manager_with(KeyRing::generate(), &clock());
        let session = manager.load(&http::HeaderMap::new());
        let token = manager.csrf_token(&session).unwrap();
        let next = next_request(&manager, &session);
        next.renew();
        assert_eq!(manager.verify_csrf(&next, &token), Ok(()));
        let after_login = next_request(&manager, &next);
        assert_eq!(manager.verify_csrf(&after_login, &token), Ok(()));

        after_login.renew_empty();
        assert_eq!(
            manager.verify_csrf(&after_login, &token),
            Err(CsrfRejection::OtherSession)
        );

        let fresh = next_request(&manager, &session);
        fresh.purge();
        assert_eq!(
            manager.verify_csrf(&fresh, &token),
            Err(CsrfRejection::NoSession)
        );
        // The session that follows a logout has a new lineage: the old token stays refused.
        let new_token = manager.csrf_token(&fresh).unwrap();
        assert_eq!(
            manager.verify_csrf(&fresh, &token),
            Err(CsrfRejection::OtherSession)
        );
        assert_eq!(manager.verify_csrf(&fresh, &new_token), Ok(()));
    }

    #[test]
    fn another_sessions_token_and_no_session_are_refused() {
        let manager = manager_with(KeyRing::generate(), &clock());
        let a = manager.load(&http::HeaderMap::new());
        let b = manager.load(&http::HeaderMap::new());
        let token_a = manager.csrf_token(&a).unwrap();
        let _ = manager.csrf_token(&b).unwrap();
        assert_eq!(
            manager.verify_csrf(&b, &token_a),
            Err(CsrfRejection::OtherSession)
        );
        let none = manager.load(&http::HeaderMap::new());
        assert_eq!(
            manager.verify_csrf(&none, &token_a),
            Err(CsrfRejection::NoSession)
        );
        assert_eq!(manager.verify_csrf(&a, ""), Err(CsrfRejection::Missing));
        assert_eq!(
            verify_for(&Session::new(), &token_a),
            Err(CsrfRejection::Detached)
        );
        assert!(token_for(&Session::new()).is_err());
    }

    #[test]
    fn session_tokens_and_csrf_tokens_never_pass_for_each_other() {
        let manager = manager_with(KeyRing::generate(), &clock());
        let session = manager.load(&http::HeaderMap::new());
        session.insert("user", &"ann").unwrap();
        let cookie = manager.finish(&session).unwrap().remove(0);
        let session_token = cookie
            .split(';')
            .next()
            .and_then(|p| p.strip_prefix("id="))
            .unwrap()
            .to_owned();
        let next = manager.load_from_cookie_headers([format!("id={session_token}").as_bytes()]);
        assert!(!next.is_new());
        // The session token as a CSRF token: another purpose, the tag fails.
        assert_eq!(
            manager.verify_csrf(&next, &session_token),
            Err(CsrfRejection::Invalid(Rejection::BadTag))
        );
        // The CSRF token as a session cookie: refused, a fresh session.
        let csrf = manager.csrf_token(&next).unwrap();
        let planted = manager.load_from_cookie_headers([format!("id={csrf}").as_bytes()]);
        assert!(planted.is_new());
        assert_eq!(planted.rejection(), Some(Rejection::BadTag));
    }

    #[test]
    fn tokens_expire_after_the_max_age() {
        let clock = clock();
        let manager = manager_with(KeyRing::generate(), &clock);
        let session = manager.load(&http::HeaderMap::new());
        let token = manager.csrf_token(&session).unwrap();
        clock.advance(Duration::from_secs(3599));
        assert_eq!(manager.verify_csrf(&session, &token), Ok(()));
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            manager.verify_csrf(&session, &token),
            Err(CsrfRejection::Invalid(Rejection::Expired))
        );
    }

    #[test]
    fn key_rotation_reaches_csrf_tokens() {
        let clock = clock();
        let (old, new) = (Key::generate(), Key::generate());
        let ring = KeyRing::builder().primary(old.clone()).build().unwrap();
        let manager = manager_with(ring, &clock);
        let session = manager.load(&http::HeaderMap::new());
        let before = manager.csrf_token(&session).unwrap();
        manager.set_key_ring(
            KeyRing::builder()
                .primary(new.clone())
                .older(old)
                .build()
                .unwrap(),
        );
        let after = manager.csrf_token(&session).unwrap();
        assert_eq!(manager.verify_csrf(&session, &before), Ok(()));
        assert_eq!(manager.verify_csrf(&session, &after), Ok(()));
        // Sealed under the new primary (its key id leads the token after the version byte).
        assert_ne!(before.get(..8), after.get(..8));
        manager.set_key_ring(KeyRing::builder().primary(new).build().unwrap());
        assert_eq!(
            manager.verify_csrf(&session, &before),
            Err(CsrfRejection::Invalid(Rejection::UnknownKey))
        );
        assert_eq!(manager.verify_csrf(&session, &after), Ok(()));
    }

    #[test]
    fn hostile_tokens_are_refused_without_panicking() {
        let manager = manager_with(KeyRing::generate(), &clock());
        let session = manager.load(&http::HeaderMap::new());
        let token = manager.csrf_token(&session).unwrap();
        assert_eq!(
            manager.verify_csrf(&session, &"A".repeat(10_000)),
            Err(CsrfRejection::Invalid(Rejection::TooLarge))
        );
        for bad in ["!", "AAAA", "====", "\u{0}", "é"] {
            assert!(manager.verify_csrf(&session, bad).is_err(), "{bad}");
        }
        let mut flipped = token.into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(matches!(
            manager.verify_csrf(&session, &flipped),
            Err(CsrfRejection::Invalid(_))
        ));
    }

    #[test]
    fn the_session_purpose_csrf_is_refused() {
        let e = SessionManager::builder(KeyRing::generate())
            .with_cookie_name("id")
            .with_purpose(PURPOSE)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    }

    #[test]
    fn signed_sessions_still_get_encrypted_tokens() {
        let manager = SessionManager::builder(KeyRing::generate())
            .with_cookie_name("id")
            .with_mode(Mode::Signed)
            .build()
            .unwrap();
        assert!(manager.csrf_sealer().mode().is_encrypted());
        let session = manager.load(&http::HeaderMap::new());
        let token = manager.csrf_token(&session).unwrap();
        let lineage = session.lineage().unwrap().to_string();
        assert!(!token.contains(&lineage));
        assert_eq!(manager.verify_csrf(&session, &token), Ok(()));
    }

    #[test]
    fn form_fields_decode() {
        assert_eq!(
            form_field(b"a=1&csrf_token=x%2By+z&csrf_token=2", "csrf_token"),
            Some("x+y z".into())
        );
        assert_eq!(
            form_field(b"csrf%5Ftoken=v", "csrf_token"),
            Some("v".into())
        );
        assert_eq!(form_field(b"csrf_token", "csrf_token"), Some(String::new()));
        assert_eq!(
            form_field(b"csrf_token=%zz&csrf_token=ok", "csrf_token"),
            Some("ok".into())
        );
        assert_eq!(form_field(b"csrf_token=%FF", "csrf_token"), None);
        assert_eq!(form_field(b"user=ann", "csrf_token"), None);
        assert_eq!(form_field(b"", "csrf_token"), None);
        assert_eq!(form_field(b"csrf_token=%4", "csrf_token"), None);
        assert!(is_urlencoded_form(Some(
            b"Application/X-WWW-Form-Urlencoded; charset=utf-8"
        )));
        assert!(!is_urlencoded_form(Some(b"multipart/form-data")));
        assert!(!is_urlencoded_form(None));
        assert!(is_unsafe_method("POST") && is_unsafe_method("PATCH") && is_unsafe_method("BREW"));
        assert!(!is_unsafe_method("GET") && !is_unsafe_method("HEAD"));
    }

    #[test]
    fn check_prefers_the_header_then_the_form() {
        let manager = manager_with(KeyRing::generate(), &clock());
        let session = manager.load(&http::HeaderMap::new());
        let token = manager.csrf_token(&session).unwrap();
        let config = CsrfConfig::default();
        let form = format!("user=ann&csrf_token={token}");
        assert_eq!(
            check(&session, None, Some(form.as_bytes()), &config),
            Ok(())
        );
        assert_eq!(
            check(&session, Some(token.as_bytes()), None, &config),
            Ok(())
        );
        assert_eq!(
            check(&session, None, Some(b"user=ann"), &config),
            Err(CsrfRejection::Missing)
        );
        assert_eq!(
            check(&session, None, None, &config),
            Err(CsrfRejection::Missing)
        );
        assert!(check(&session, Some(&[0xff]), Some(form.as_bytes()), &config).is_err());
    }
}
