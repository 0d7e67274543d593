//! The framework-agnostic request protocol: everything a request does with its session, in one
//! place, so that the axum and actix-web adapters only translate their types.
//!
//! Per request, in this order:
//! 1. [`SessionManager::begin`]: read the `Cookie` headers (nothing is opened yet) and, when a
//!    revocation store is configured, open the cookie and check it, before any application code
//!    can read the session;
//! 2. the application runs, with the [`Session`];
//! 3. [`SessionManager::end`]: record a purge in the revocation store, then write the response's
//!    `Set-Cookie` headers and make it safe for shared caches (`Vary`, `Cache-Control`, see
//!    [`CacheSafety`]). An `Err` means the session could not be stored: the adapter answers an
//!    opaque `500`.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::cache_control::{
    vary_with_cookie, CacheSafety, Directives, ResponseHeader, ResponseHeaders,
};
use crate::clock::UnixTime;
use crate::cookie_header;
use crate::cookie_policy::CookiePolicy;
use crate::error::{Error, ErrorKind, Rejection};
use crate::keys::KeyRing;
use crate::revocation::{Revocation, RevocationCheck};
use crate::seal::{Reseal, Sealer};
use crate::session::{Backend, Session, SessionId, SessionStatus, State};

/// Request-side and response-side session handling, built once and shared (cheap to clone).
///
/// ```
/// use http::{header, HeaderMap, HeaderValue};
/// use sealed_session::{KeyRing, SessionManager};
///
/// let manager = SessionManager::builder(KeyRing::generate())
///     .with_cookie_name("id")
///     .build()?;
///
/// // First request: no cookie, the handler logs in.
/// let session = manager.load(&HeaderMap::new());
/// session.insert("user", &"ann")?;
/// let set_cookie = manager.finish(&session)?;
/// assert_eq!(set_cookie.len(), 1);
///
/// // The browser sends the cookie back.
/// let pair = set_cookie[0].split(';').next().unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert(header::COOKIE, HeaderValue::from_str(&format!("theme=dark; {pair}")).unwrap());
/// let session = manager.load(&headers);
/// assert_eq!(session.get::<String>("user")?, Some("ann".into()));
/// // A read-only request sends no Set-Cookie.
/// assert!(manager.finish(&session)?.is_empty());
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone)]
pub struct SessionManager {
    inner: Arc<ManagerInner>,
}

/// The settings a [`SessionManager`] is made of (validated by its builder).
pub(crate) struct ManagerInner {
    pub(crate) sealer: Sealer,
    pub(crate) policy: CookiePolicy,
    pub(crate) delete_rejected: bool,
    pub(crate) cache_safety: CacheSafety,
    pub(crate) revocation: Option<Revocation>,
    /// A reader of Beaker's cookie sessions, while migrating off Beaker.
    #[cfg(feature = "beaker-compat")]
    pub(crate) legacy: Option<crate::beaker::BeakerReader>,
    /// Seals CSRF tokens: the same ring as `sealer` (kept in step by `set_key_ring`), purpose
    /// `csrf`.
    pub(crate) csrf: Sealer,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("sealer", &self.inner.sealer)
            .field("policy", &self.inner.policy)
            .field("delete_rejected", &self.inner.delete_rejected)
            .field("cache_safety", &self.inner.cache_safety)
            .field("revocation", &self.inner.revocation)
            .finish()
    }
}

impl Backend for ManagerInner {
    fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    fn check_fits(&self, session: &Session) -> Result<(), Error> {
        self.cookies_at(self.sealer.now(), session, false).map(drop)
    }

    #[cfg(feature = "beaker-compat")]
    fn open_legacy(&self, values: &[String]) -> Option<serde_json::Map<String, serde_json::Value>> {
        let reader = self.legacy.as_ref()?;
        let now = self.sealer.now();
        let mut first = None;
        for value in values {
            match reader.read_at(now, value) {
                Ok(legacy) => {
                    tracing::info!(
                        cookie = %reader.cookie_name(),
                        "migrated a Beaker session; its cookie is replaced in this response"
                    );
                    return Some(legacy.into_entries());
                }
                Err(r) => {
                    first.get_or_insert(r);
                }
            }
        }
        if let Some(r) = first {
            tracing::warn!(
                cookie = %reader.cookie_name(),
                reason = %r,
                "Beaker session cookie rejected; starting a fresh session"
            );
        }
        None
    }

    fn csrf_sealer(&self) -> &Sealer {
        &self.csrf
    }
}

/// The cookies a response carries, and whether they can wait for a later response.
struct Cookies {
    values: Vec<String>,
    /// The session changed, was renewed or purged, or moves to a new key or mode: the cookie
    /// must go out with this response. Otherwise (a rolling refresh, deleting a refused or orphan
    /// cookie) it can be left to a later one.
    essential: bool,
}

impl SessionManager {
    /// The default cookie name.
    pub const DEFAULT_COOKIE_NAME: &'static str = "__Host-session";
    /// The session key under which [`bind_user`](Self::bind_user) records the user and their
    /// generation. Reserved: do not write it yourself.
    pub const USER_KEY: &'static str = crate::revocation::USER_KEY;

    pub(crate) fn from_inner(inner: ManagerInner) -> Self {
        SessionManager {
            inner: Arc::new(inner),
        }
    }

    /// The sealer (key ring, mode, limits).
    pub fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    /// Replace the key ring at runtime (see [`Sealer::set_ring`]): every clone of this manager,
    /// and every adapter built from it, seals and opens sessions and CSRF tokens with the new
    /// ring from the next request. (Calling `set_ring` on [`sealer`](Self::sealer) alone would
    /// leave CSRF tokens on the old ring.)
    pub fn set_key_ring(&self, ring: KeyRing) {
        self.inner.sealer.set_ring(ring.clone());
        self.inner.csrf.set_ring(ring);
    }

    /// The sealer of CSRF tokens (see [`csrf_token`](Self::csrf_token)).
    pub(crate) fn csrf_sealer(&self) -> &Sealer {
        &self.inner.csrf
    }

    /// The cookie policy.
    pub fn policy(&self) -> &CookiePolicy {
        &self.inner.policy
    }

    /// What responses say to shared caches (see [`CacheSafety`]).
    pub fn cache_safety(&self) -> CacheSafety {
        self.inner.cache_safety
    }

    /// The revocation settings, if any (see
    /// [`SessionBuilder::with_revocation`](crate::SessionBuilder::with_revocation)).
    pub fn revocation(&self) -> Option<&Revocation> {
        self.inner.revocation.as_ref()
    }

    // -----------------------------------------------------------------------------------------
    // The request protocol
    // -----------------------------------------------------------------------------------------

    /// Step 1 of a request: the session for a request with these headers, checked against the
    /// revocation store when one is configured (which opens the cookie; otherwise nothing is
    /// opened until the session is first used).
    pub async fn begin(&self, headers: &http::HeaderMap) -> Session {
        let session = self.load(headers);
        self.check_revocation(&session).await;
        session
    }

    /// [`begin`](Self::begin) when it has nothing to wait for: `Some` unless a revocation store
    /// is configured (its check is awaited). An adapter can then call the service it wraps at
    /// once, where it would otherwise move a clone of it into a future that awaits `begin`.
    pub fn begin_now(&self, headers: &http::HeaderMap) -> Option<Session> {
        self.inner.revocation.is_none().then(|| self.load(headers))
    }

    /// [`begin`](Self::begin) for a request whose `Cookie` header values are `values` (for
    /// frameworks on another `http` version).
    pub async fn begin_from_cookie_headers<'a>(
        &self,
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Session {
        let session = self.load_from_cookie_headers(values);
        self.check_revocation(&session).await;
        session
    }

    /// Step 3 of a request: record a [`Session::purge`] in the revocation store (if
    /// configured), then add the session's `Set-Cookie` headers to `response` and make it safe
    /// for shared caches, at the clock's time. See [`end_at`](Self::end_at).
    ///
    /// # Errors
    /// As [`end_at`](Self::end_at).
    pub async fn end<H: ResponseHeaders + ?Sized>(
        &self,
        session: &Session,
        response: &mut H,
    ) -> Result<(), Error> {
        self.record_purge(session).await;
        self.end_at(self.inner.sealer.now(), session, response)
    }

    /// The synchronous part of [`end`](Self::end) at `now`: `Set-Cookie`, `Vary` and
    /// `Cache-Control` (see [`CacheSafety`] for the rules). Records nothing in a revocation
    /// store.
    ///
    /// # Errors
    /// [`ErrorKind::SessionTooLarge`] if the session does not fit in its cookie budget; the
    /// response is left without a session cookie, and the caller answers an error instead.
    pub fn end_at<H: ResponseHeaders + ?Sized>(
        &self,
        now: UnixTime,
        session: &Session,
        response: &mut H,
    ) -> Result<(), Error> {
        let enforce = self.inner.cache_safety == CacheSafety::Enforce;
        let directives = if enforce {
            Directives::parse(&response.header_values(ResponseHeader::CacheControl))
        } else {
            Directives::default()
        };
        let defer = enforce && directives.shared();
        let cookies = match self.inner.cookies_at(now, session, defer) {
            Ok(cookies) => cookies,
            Err(e) => {
                tracing::error!(error = %e, "the session could not be stored");
                return Err(e);
            }
        };
        let touched = session.lock_unloaded().touched;
        let sends = !cookies.values.is_empty();
        if enforce && (touched || sends) {
            if let Some(vary) = vary_with_cookie(&response.header_values(ResponseHeader::Vary)) {
                response.set_header(ResponseHeader::Vary, vary);
            }
        }
        if enforce && sends {
            if directives.shared() {
                tracing::warn!(
                    cookie = %self.inner.policy.name(),
                    essential = cookies.essential,
                    "the response is marked for shared caches (public or s-maxage) but must set \
                     the session cookie; sending it with Cache-Control: private, no-store"
                );
            }
            // The values again only when there are some (the map is borrowed mutably since).
            let existing = if directives.present() {
                response.header_values(ResponseHeader::CacheControl)
            } else {
                Vec::new()
            };
            if let Some(value) = directives.with_cookie(&existing) {
                response.set_header(ResponseHeader::CacheControl, value);
            }
        }
        for value in cookies.values {
            response.append_header(ResponseHeader::SetCookie, value);
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // The parts, for code that drives the protocol itself
    // -----------------------------------------------------------------------------------------

    /// The session for a request with these headers, without a revocation check. Nothing is
    /// opened until the session is first used.
    pub fn load(&self, headers: &http::HeaderMap) -> Session {
        self.load_from_cookie_headers(
            headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(http::HeaderValue::as_bytes),
        )
    }

    /// [`load`](Self::load) for a request whose `Cookie` header values are `values`.
    pub fn load_from_cookie_headers<'a>(
        &self,
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Session {
        #[cfg(feature = "beaker-compat")]
        if let Some(reader) = &self.inner.legacy {
            let headers: Vec<&[u8]> = values.into_iter().collect();
            let legacy = cookie_header::read_named(reader.cookie_name(), headers.iter().copied());
            let incoming = cookie_header::read(&self.inner.policy, headers);
            let source = incoming.any().then_some(incoming.candidates);
            let backend: Arc<dyn Backend> = self.inner.clone();
            return Session::with_legacy(Some(backend), source, incoming.present, legacy);
        }
        let incoming = cookie_header::read(&self.inner.policy, values);
        let source = incoming.any().then_some(incoming.candidates);
        let backend: Arc<dyn Backend> = self.inner.clone();
        Session::from_state(Some(backend), source, incoming.present)
    }

    /// The `Set-Cookie` values for the response, at the clock's time. See
    /// [`finish_at`](Self::finish_at).
    ///
    /// # Errors
    /// As [`finish_at`](Self::finish_at).
    pub fn finish(&self, session: &Session) -> Result<Vec<String>, Error> {
        self.finish_at(self.inner.sealer.now(), session)
    }

    /// The `Set-Cookie` values for the response at `now`, for a response no shared cache may
    /// store: none when nothing needs saying (a read-only request on a fresh-enough session),
    /// one cookie per chunk when the session is written, re-sealed or refreshed, deletion
    /// cookies when it was purged or its cookie was refused, and deletion cookies for chunks
    /// beyond those of the cookie that opened. [`end_at`](Self::end_at) also handles caching.
    ///
    /// # Errors
    /// [`ErrorKind::SessionTooLarge`] if the session does not fit in the cookie budget (one
    /// 4096-byte `Set-Cookie`, or the configured number of chunks); the application decides what
    /// to do, and no broken cookie is sent.
    pub fn finish_at(&self, now: UnixTime, session: &Session) -> Result<Vec<String>, Error> {
        self.inner.cookies_at(now, session, false).map(|c| c.values)
    }

    /// Check the request's session against the revocation store, and replace it with a fresh
    /// session if it is revoked (or if the check fails and the policy is fail-closed).
    /// [`begin`](Self::begin) calls it; call it yourself only when using
    /// [`load`](Self::load). Opens the cookie (only when a store is configured).
    pub async fn check_revocation(&self, session: &Session) -> RevocationCheck {
        match &self.inner.revocation {
            None => RevocationCheck::NotConfigured,
            Some(r) => r.check(session).await,
        }
    }

    /// Record a [`Session::purge`] made in this request as a revocation of the session's
    /// lineage, if configured. [`end`](Self::end) calls it. A failure is logged, not returned:
    /// the response still deletes the cookie, only a copy kept elsewhere stays valid.
    pub async fn record_purge(&self, session: &Session) {
        if let Some(r) = &self.inner.revocation {
            r.record_purge(session, self.latest_expiry()).await;
        }
    }

    /// Revoke the session or lineage `id` on every node, until the longest a session can live
    /// from now.
    ///
    /// # Errors
    /// No revocation store is configured ([`ErrorKind::InvalidConfig`]), or the store failed
    /// or timed out; the session is not revoked.
    pub async fn revoke(&self, id: SessionId) -> Result<(), Error> {
        self.revocation_or_error()?
            .revoke(id, self.latest_expiry())
            .await
    }

    /// Bind `session` to `user` at login: it records the user's current generation in the
    /// session (under [`USER_KEY`](Self::USER_KEY)), so that
    /// [`log_out_everywhere`](Self::log_out_everywhere) revokes it. Call it after
    /// [`Session::renew`].
    ///
    /// # Errors
    /// No revocation store is configured, or the store failed or timed out; the session is not
    /// bound (the caller decides whether the login proceeds).
    pub async fn bind_user(&self, session: &Session, user: &str) -> Result<(), Error> {
        self.revocation_or_error()?.bind_user(session, user).await
    }

    /// End every session bound to `user` (see [`bind_user`](Self::bind_user)), on every node, at
    /// their next request.
    ///
    /// # Errors
    /// No revocation store is configured, or the store failed or timed out; nothing was revoked.
    pub async fn log_out_everywhere(&self, user: &str) -> Result<(), Error> {
        self.revocation_or_error()?.log_out_everywhere(user).await
    }

    fn revocation_or_error(&self) -> Result<&Revocation, Error> {
        self.inner.revocation.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                "no revocation store is configured (SessionBuilder::with_revocation)",
            )
        })
    }

    /// No token sealed before now outlives this: what a revocation record must cover.
    fn latest_expiry(&self) -> UnixTime {
        let now = self.inner.sealer.now();
        // The maximum lifetime, not the default one: a remembered session lives that long.
        now.checked_add(self.inner.sealer.max_lifetime())
            .unwrap_or(UnixTime::from_secs(u64::MAX))
    }
}

/// What the response must say about the session.
enum Plan {
    /// Nothing, but for orphan chunks.
    Nothing,
    /// Seal the session (`fresh`: a new creation time).
    Write { fresh: bool },
    /// Delete every cookie of ours the request carried (a purge, or a refused cookie).
    Delete,
}

impl ManagerInner {
    fn cookies_at(&self, now: UnixTime, session: &Session, defer: bool) -> Result<Cookies, Error> {
        #[cfg_attr(
            not(feature = "beaker-compat"),
            expect(unused_mut, reason = "the legacy deletion cookie is added here")
        )]
        let mut out = self.session_cookies_at(now, session, defer)?;
        #[cfg(feature = "beaker-compat")]
        if let Some(reader) = &self.legacy {
            // The legacy cookie goes whatever became of it: migrated, refused, or outranked by
            // a cookie of ours. (Not on a response a shared cache may store, unless a cookie of
            // ours must go out with it anyway.)
            if (out.essential || !defer)
                && session.is_loaded()
                && session.lock_unloaded().legacy_present
            {
                out.values.push(reader.deletion_cookie());
            }
        }
        Ok(out)
    }

    fn session_cookies_at(
        &self,
        now: UnixTime,
        session: &Session,
        defer: bool,
    ) -> Result<Cookies, Error> {
        let mut out = Cookies {
            values: Vec::new(),
            essential: false,
        };
        if !session.is_loaded() {
            return Ok(out);
        }
        let state = session.lock_loaded();
        // A refused cookie is deleted so the browser stops sending it, except one not valid
        // *yet*: it comes from a node whose clock is ahead, and may open there.
        let refused =
            self.delete_rejected && state.rejection.is_some_and(|r| r != Rejection::NotYetValid);
        let (plan, essential) = match state.status {
            SessionStatus::Purged => (Plan::Delete, true),
            SessionStatus::Renewed => (Plan::Write { fresh: true }, true),
            // Written to and emptied again before it was ever stored: nothing to store.
            SessionStatus::Changed if state.meta.is_none() && state.data.is_empty() => {
                (if refused { Plan::Delete } else { Plan::Nothing }, false)
            }
            SessionStatus::Changed => (Plan::Write { fresh: false }, true),
            SessionStatus::Unchanged if state.meta.is_some() && state.reseal.is_some() => (
                Plan::Write { fresh: false },
                state.reseal != Some(Reseal::Refresh),
            ),
            SessionStatus::Unchanged if refused => (Plan::Delete, false),
            SessionStatus::Unchanged => (Plan::Nothing, false),
        };
        out.essential = essential;
        if defer && !essential {
            return Ok(out);
        }
        // Every chunk of ours the request carried from `keep` on is deleted.
        let keep = match plan {
            Plan::Nothing if state.opened_chunks == 0 => return Ok(out),
            Plan::Nothing => state.opened_chunks,
            Plan::Delete => {
                if state.present == 0 {
                    // A purge of a session that came without a cookie: delete the plain name
                    // all the same (the browser may hold one this request did not carry).
                    out.values
                        .push(self.policy.render_removal(&self.policy.chunk_name(0)));
                }
                0
            }
            Plan::Write { fresh } => self.seal_into(&mut out.values, now, &state, fresh)?,
        };
        for index in keep..self.policy.max_chunks() {
            let bit = 1u32.checked_shl(index as u32).unwrap_or(0);
            if state.present & bit != 0 {
                out.values
                    .push(self.policy.render_removal(&self.policy.chunk_name(index)));
            }
        }
        Ok(out)
    }

    /// Seal the session into one cookie per chunk; returns how many were written.
    fn seal_into(
        &self,
        out: &mut Vec<String>,
        now: UnixTime,
        state: &State,
        fresh: bool,
    ) -> Result<usize, Error> {
        let sealer = &self.sealer;
        let policy = &self.policy;
        let Some(id) = &state.id else {
            return Ok(0);
        };
        let lineage = state.lineage_to_seal();
        let write_payload =
            |buf: &mut Vec<u8>, codec: &_| state.data.write_payload(buf, id, lineage, codec);
        let previous = state.meta.as_ref().filter(|_| !fresh);
        let (sealed, expires) = sealer
            .seal_session_at(now, write_payload, previous, state.session_lifetime)
            .map_err(|e| match e.kind() {
                ErrorKind::PayloadTooLarge => too_large(e.message()),
                _ => e,
            })?;
        let lifetime = state.lifetime.unwrap_or(policy.lifetime());
        let encoded_len = sealed.encoded_len();
        if policy.chunk_room().is_none_or(|room| encoded_len <= room) {
            // One cookie (the usual case): the base64url is written straight into the
            // `Set-Cookie` text, which is the only string the token ever becomes.
            out.push(policy.render_value(
                policy.name(),
                encoded_len,
                |text| sealed.encode_into(text),
                now,
                lifetime,
                Some(expires),
            )?);
            return Ok(1);
        }
        let token = sealed.to_token();
        let pieces = split_token(policy, &token)?;
        let count = pieces.len();
        out.reserve(count);
        for (index, piece) in pieces.into_iter().enumerate() {
            let (name, prefixed) = if index == 0 {
                let mut first = cookie_header::first_chunk_prefix(count);
                if !first.is_empty() {
                    first.push_str(piece);
                }
                (Cow::Borrowed(policy.name()), first)
            } else {
                (Cow::Owned(policy.chunk_name(index)), String::new())
            };
            let value = if prefixed.is_empty() {
                piece
            } else {
                &prefixed
            };
            out.push(policy.render(&name, value, now, lifetime, Some(expires))?);
        }
        Ok(count)
    }
}

fn too_large(detail: &str) -> Error {
    Error::new(
        ErrorKind::SessionTooLarge,
        format!("the session does not fit in its cookie: {detail}"),
    )
}

/// Split a token into as few chunks as fit the `Set-Cookie` budget (one without chunking).
fn split_token<'t>(policy: &CookiePolicy, token: &'t str) -> Result<Vec<&'t str>, Error> {
    let Some(room) = policy.chunk_room() else {
        return Ok(vec![token]);
    };
    let pieces: Vec<&str> = token
        .as_bytes()
        .chunks(room)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    if pieces.len() > policy.max_chunks() {
        return Err(too_large(&format!(
            "{} characters need {} cookies; at most {} are allowed",
            token.len(),
            pieces.len(),
            policy.max_chunks()
        )));
    }
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cookie_policy::Chunking;

    fn manager(chunks: usize) -> SessionManager {
        SessionManager::builder(KeyRing::generate())
            .with_cookie_name("id")
            .with_chunking(Some(Chunking::new(chunks)))
            .build()
            .unwrap()
    }

    fn names(out: &[String]) -> Vec<&str> {
        out.iter().filter_map(|c| c.split('=').next()).collect()
    }

    #[test]
    fn orphan_chunks_are_refused_and_deleted() {
        let manager = manager(3);
        let session = manager.load_from_cookie_headers([&b"id.1=abc; id.2=def"[..]]);
        assert!(session.is_new());
        assert_eq!(session.rejection(), Some(crate::Rejection::Malformed));
        let out = manager.finish(&session).unwrap();
        assert_eq!(names(&out), ["id.1", "id.2"]);
        assert!(out.iter().all(|c| c.contains("Max-Age=0")));
    }

    #[test]
    fn a_chunked_session_opens_whatever_chunk_is_planted() {
        let manager = manager(4);
        let session = manager.load(&http::HeaderMap::new());
        session.insert("big", &"x".repeat(5000)).unwrap();
        let out = manager.finish(&session).unwrap();
        assert_eq!(names(&out), ["id", "id.1"]);
        assert!(out[0].starts_with("id=2."), "{}", &out[0][..10]);
        let pairs: Vec<&str> = out.iter().map(|c| c.split(';').next().unwrap()).collect();
        for k in 1..4 {
            for planted_first in [true, false] {
                let planted = format!("id.{k}=AAAA");
                let header = if planted_first {
                    format!("{planted}; {}", pairs.join("; "))
                } else {
                    format!("{}; {planted}", pairs.join("; "))
                };
                let session = manager.load_from_cookie_headers([header.as_bytes()]);
                assert!(!session.is_new(), "k={k} first={planted_first}");
                let out = manager.finish(&session).unwrap();
                // Only the planted orphan beyond the real chunks is deleted.
                let expect: Vec<String> = if k >= 2 {
                    vec![format!("id.{k}")]
                } else {
                    vec![]
                };
                assert_eq!(names(&out), expect, "k={k} first={planted_first}");
            }
        }
    }

    #[test]
    fn remember_me_extends_a_session_up_to_the_maximum_lifetime() {
        use crate::clock::ManualClock;
        use std::time::Duration;
        const DAY: Duration = Duration::from_secs(24 * 3600);
        let t0 = UnixTime::from_secs(1_700_000_000);
        let clock = Arc::new(ManualClock::new(t0));
        let build = |max: Option<Duration>| {
            let b = SessionManager::builder(KeyRing::generate())
                .with_cookie_name("id")
                .with_lifetime(DAY)
                .with_idle_timeout(None)
                .with_clock(clock.clone());
            match max {
                Some(m) => b.with_max_lifetime(m),
                None => b,
            }
            .build()
            .unwrap()
        };
        let opens_at = |m: &SessionManager, remember: Option<Duration>, days: u64| {
            clock.set(t0);
            let s = m.load(&http::HeaderMap::new());
            s.insert("user", &"ann").unwrap();
            if let Some(d) = remember {
                s.set_lifetime(d);
            }
            let cookie = m.finish(&s).unwrap().remove(0);
            let pair = cookie.split(';').next().unwrap().to_owned();
            clock.set(t0.checked_add(DAY * u32::try_from(days).unwrap()).unwrap());
            let s = m.load_from_cookie_headers([pair.as_bytes()]);
            let opened = s.rejection().is_none();
            assert_eq!(opened, !s.is_new());
            opened
        };
        let m = build(Some(30 * DAY));
        assert!(!opens_at(&m, None, 2), "the default lifetime still applies");
        assert!(opens_at(&m, Some(30 * DAY), 29), "remembered for 30 days");
        assert!(!opens_at(&m, Some(400 * DAY), 31), "capped at the maximum");
        let m = build(None);
        assert!(
            !opens_at(&m, Some(30 * DAY), 2),
            "without a maximum, no extension"
        );
        assert!(SessionManager::builder(KeyRing::generate())
            .with_lifetime(DAY)
            .with_max_lifetime(DAY / 2)
            .build()
            .is_err());
    }
}
