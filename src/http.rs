//! The framework-agnostic HTTP layer: request `Cookie` headers in, a [`Session`] out; a session
//! in, `Set-Cookie` headers out. The axum and actix-web adapters are thin wrappers over this.
//!
//! Reading is defensive: every `Cookie` header and every pair is scanned, malformed neighbours
//! (`null;`, pairs without `=`, non-UTF-8 bytes, huge unrelated cookies) are skipped, only
//! cookies with our exact name are kept, and only those are ever decoded or opened. When several
//! cookies carry our name (a sibling subdomain can toss one in), each is tried in order and the
//! first that opens is used, so an attacker's extra cookie can never log the user out.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use cookie::Cookie;

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::codec::Codec;
use crate::cookie_policy::{
    Chunking, CookieLifetime, CookiePolicy, CookiePolicyBuilder, SameSite, MAX_SET_COOKIE_LEN,
};
use crate::envelope::Mode;
use crate::error::{Error, ErrorKind};
use crate::keys::KeyRing;
use crate::seal::Sealer;
use crate::session::{PayloadRef, Session, SessionStatus, Source, State};

/// At most this many cookies with our name are tried per request (cookie tossing needs one or
/// two; a flood of them must not buy an attacker CPU time).
pub const MAX_CANDIDATES: usize = 8;

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

struct ManagerInner {
    sealer: Sealer,
    policy: CookiePolicy,
    delete_rejected: bool,
    #[cfg(feature = "redis")]
    revocation: Option<crate::revocation::Revocation>,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("sealer", &self.inner.sealer)
            .field("policy", &self.inner.policy)
            .field("delete_rejected", &self.inner.delete_rejected)
            .finish()
    }
}

/// Configures sessions: cookie attributes, mode, lifetimes. Every setter states its default and
/// why.
///
/// The same builder, with the same `with_*` names, configures [`SessionManager`] and every
/// framework adapter (`T` is what [`build`](Self::build) returns), so moving from one framework
/// to another changes an import, not the configuration.
pub struct SessionBuilder<T = SessionManager> {
    ring: KeyRing,
    policy: Option<CookiePolicy>,
    cookie: CookiePolicyBuilder,
    mode: Mode,
    also_open: Vec<Mode>,
    purpose: String,
    lifetime: Duration,
    idle_timeout: Option<Duration>,
    refresh_fraction: f64,
    leeway: Duration,
    codec: Codec,
    delete_rejected: bool,
    clock: Arc<dyn Clock>,
    #[cfg(feature = "redis")]
    revocation: Option<crate::revocation::Revocation>,
    output: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for SessionBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("ring", &self.ring)
            .field("policy", &self.policy)
            .field("cookie", &self.cookie)
            .field("mode", &self.mode)
            .field("lifetime", &self.lifetime)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl SessionManager {
    /// The default cookie name.
    pub const DEFAULT_COOKIE_NAME: &'static str = "__Host-session";
    /// Default absolute lifetime: 7 days from creation, whatever the activity.
    pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
    /// Default idle timeout: 2 hours without a re-seal.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
    /// Default rolling-refresh point: a quarter of the idle window.
    pub const DEFAULT_REFRESH_FRACTION: f64 = 0.25;

    /// Start building a manager over `ring`.
    pub fn builder(ring: KeyRing) -> SessionBuilder<SessionManager> {
        SessionBuilder::new(ring)
    }

    /// The sealer (key ring, mode, limits).
    pub fn sealer(&self) -> &Sealer {
        &self.inner.sealer
    }

    /// Replace the key ring at runtime (see [`Sealer::set_ring`]): every clone of this manager,
    /// and every adapter built from it, seals and opens with the new ring from the next request.
    pub fn set_key_ring(&self, ring: KeyRing) {
        self.inner.sealer.set_ring(ring);
    }

    /// The cookie policy.
    pub fn policy(&self) -> &CookiePolicy {
        &self.inner.policy
    }

    /// The revocation settings, if any (see [`SessionBuilder::with_revocation`]).
    #[cfg(feature = "redis")]
    pub fn revocation(&self) -> Option<&crate::revocation::Revocation> {
        self.inner.revocation.as_ref()
    }

    /// The session for a request with these headers. Nothing is opened until the session is
    /// first used.
    pub fn load(&self, headers: &http::HeaderMap) -> Session {
        self.load_from_cookie_headers(
            headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(http::HeaderValue::as_bytes),
        )
    }

    /// The session for a request whose `Cookie` header values are `values` (for frameworks on
    /// another `http` version). Nothing is opened until the session is first used.
    pub fn load_from_cookie_headers<'a>(
        &self,
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Session {
        let policy = &self.inner.policy;
        let max_chunks = policy.max_chunks();
        // chunks[i] holds the values seen for chunk i, in request order.
        let mut chunks: Vec<Vec<String>> = vec![Vec::new(); max_chunks];
        for raw in values {
            // Non-UTF-8 bytes in a neighbour must not hide our cookie; our own value is base64,
            // so a replacement character in it only makes it fail to open.
            let text = String::from_utf8_lossy(raw);
            for pair in Cookie::split_parse(text.as_ref()).flatten() {
                let Some(index) = policy.chunk_index(pair.name()) else {
                    continue;
                };
                if let Some(slot) = chunks.get_mut(index) {
                    if slot.len() < MAX_CANDIDATES {
                        slot.push(pair.value().to_owned());
                    }
                }
            }
        }
        let present = chunks.iter().take_while(|c| !c.is_empty()).count();
        let incoming = chunks
            .iter()
            .rposition(|c| !c.is_empty())
            .map_or(0, |i| i + 1);
        let mut candidates = if present == 1 && chunks.len() == 1 {
            // Without chunking the values seen are the candidates: move them, no copy.
            chunks.pop().unwrap_or_default()
        } else {
            assemble(&chunks, present)
        };
        if candidates.is_empty() && incoming > 0 {
            // Later chunks without the first: nothing can open, but the browser should be told
            // to drop them. An empty candidate is refused as malformed, like any broken cookie.
            candidates.push(String::new());
        }
        let source = (!candidates.is_empty()).then_some(Source { candidates });
        Session::from_state(Some(self.clone()), source, incoming)
    }

    /// The `Set-Cookie` values for the response, at the clock's time. See
    /// [`finish_at`](Self::finish_at).
    ///
    /// # Errors
    /// As [`finish_at`](Self::finish_at).
    pub fn finish(&self, session: &Session) -> Result<Vec<String>, Error> {
        self.finish_at(self.inner.sealer.now(), session)
    }

    /// The `Set-Cookie` values for the response at `now`: none when nothing needs saying (a
    /// read-only request on a fresh-enough session), one cookie per chunk when the session is
    /// written, re-sealed or refreshed, deletion cookies when it was purged or its cookie was
    /// refused, and deletion cookies for chunks left over from a larger session.
    ///
    /// # Errors
    /// [`ErrorKind::SessionTooLarge`] if the session does not fit in the cookie budget (one
    /// 4096-byte `Set-Cookie`, or the configured number of chunks); the application decides what
    /// to do, and no broken cookie is sent.
    pub fn finish_at(&self, now: UnixTime, session: &Session) -> Result<Vec<String>, Error> {
        if !session.is_loaded() {
            return Ok(Vec::new());
        }
        let state = session.lock();
        let policy = &self.inner.policy;
        let refused = state.rejection.is_some() && self.inner.delete_rejected;
        let plan = match state.status {
            SessionStatus::Purged => Plan::Delete,
            SessionStatus::Renewed => Plan::Write { fresh: true },
            // Written to and emptied again before it was ever stored: nothing to store.
            SessionStatus::Changed if state.meta.is_none() && state.data.is_empty() => {
                if refused {
                    Plan::Delete
                } else {
                    Plan::Nothing
                }
            }
            SessionStatus::Changed => Plan::Write { fresh: false },
            SessionStatus::Unchanged if state.reseal.is_some() && state.meta.is_some() => {
                Plan::Write { fresh: false }
            }
            SessionStatus::Unchanged if refused => Plan::Delete,
            SessionStatus::Unchanged => Plan::Nothing,
        };
        let mut out = Vec::new();
        let (written, end) = match plan {
            Plan::Nothing => return Ok(out),
            // Expire every cookie of ours the request had (at least the plain name).
            Plan::Delete => (0, state.incoming_chunks.max(1)),
            // Expire the chunks left over when a session shrinks.
            Plan::Write { fresh } => (
                self.seal_into(&mut out, now, &state, fresh)?,
                state.incoming_chunks,
            ),
        };
        for index in written..end {
            out.push(policy.render_removal(&policy.chunk_name(index)));
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
        let sealer = &self.inner.sealer;
        let policy = &self.inner.policy;
        let id = match &state.id {
            Some(id) => *id,
            None => return Ok(0),
        };
        let payload = PayloadRef {
            id: &id,
            data: &state.data,
        };
        let sealed = match (&state.meta, fresh) {
            (Some(meta), false) => sealer.reseal_at(now, &payload, meta),
            _ => sealer.seal_at(now, &payload),
        };
        let token = sealed.map_err(|e| match e.kind() {
            ErrorKind::PayloadTooLarge => too_large(e.message()),
            _ => e,
        })?;
        let expires = match (&state.meta, fresh) {
            (Some(meta), false) => meta.expires(),
            _ => now.checked_add(sealer.lifetime()).unwrap_or(now),
        };
        let lifetime = state.lifetime.unwrap_or(policy.lifetime());
        let pieces = split_token(policy, &token)?;
        let count = pieces.len();
        for (index, piece) in pieces.into_iter().enumerate() {
            out.push(policy.render(
                &policy.chunk_name(index),
                piece,
                now,
                lifetime,
                Some(expires),
            )?);
        }
        Ok(count)
    }
}

/// What the response must say about the session.
enum Plan {
    Nothing,
    Write { fresh: bool },
    Delete,
}

fn too_large(detail: &str) -> Error {
    Error::new(
        ErrorKind::SessionTooLarge,
        format!("the session does not fit in its cookie: {detail}"),
    )
}

/// Split a token into as few chunks as fit the `Set-Cookie` budget (one without chunking).
fn split_token<'t>(policy: &CookiePolicy, token: &'t str) -> Result<Vec<&'t str>, Error> {
    if policy.chunking().is_none() {
        return Ok(vec![token]);
    }
    // Room for the value in one cookie: the budget less the rendered attributes of the largest
    // chunk name with a persistent lifetime (the longest attribute set).
    let overhead = policy
        .render_removal(&policy.chunk_name(policy.max_chunks().saturating_sub(1)))
        .len()
        .saturating_add(16);
    let room = MAX_SET_COOKIE_LEN.saturating_sub(overhead).max(1);
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

/// Candidate tokens from the chunks present (0..present), at most [`MAX_CANDIDATES`]: every
/// combination of the values seen for each chunk, in request order (mixed-radix counting, the
/// first chunk varying fastest), so a tossed duplicate of any chunk cannot hide the real set.
fn assemble(chunks: &[Vec<String>], present: usize) -> Vec<String> {
    let parts = chunks.get(..present).unwrap_or_default();
    if parts.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut choice = vec![0usize; parts.len()];
    'outer: while out.len() < MAX_CANDIDATES {
        let mut token = String::new();
        for (values, &i) in parts.iter().zip(&choice) {
            if let Some(v) = values.get(i) {
                token.push_str(v);
            }
        }
        out.push(token);
        // Advance the mixed-radix counter.
        for (values, i) in parts.iter().zip(choice.iter_mut()) {
            *i = i.saturating_add(1);
            if *i < values.len() {
                continue 'outer;
            }
            *i = 0;
        }
        break;
    }
    out
}

impl<T: From<SessionManager>> SessionBuilder<T> {
    /// A builder with every default.
    pub fn new(ring: KeyRing) -> Self {
        SessionBuilder {
            ring,
            policy: None,
            cookie: CookiePolicy::builder(SessionManager::DEFAULT_COOKIE_NAME),
            mode: Mode::default(),
            also_open: Vec::new(),
            purpose: crate::seal::SealerBuilder::DEFAULT_PURPOSE.to_owned(),
            lifetime: SessionManager::DEFAULT_LIFETIME,
            idle_timeout: Some(SessionManager::DEFAULT_IDLE_TIMEOUT),
            refresh_fraction: SessionManager::DEFAULT_REFRESH_FRACTION,
            leeway: crate::seal::SealerBuilder::DEFAULT_LEEWAY,
            codec: Codec::new(),
            delete_rejected: true,
            clock: Arc::new(SystemClock),
            #[cfg(feature = "redis")]
            revocation: None,
            output: PhantomData,
        }
    }

    fn cookie(mut self, f: impl FnOnce(CookiePolicyBuilder) -> CookiePolicyBuilder) -> Self {
        self.cookie = f(self.cookie);
        self
    }

    /// A complete, already validated cookie policy; replaces every `with_cookie_*` setting.
    #[must_use]
    pub fn with_cookie_policy(mut self, policy: CookiePolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The cookie name. Default `__Host-session`: the `__Host-` prefix makes browsers refuse the
    /// cookie unless it is Secure, for Path=/ and without Domain, so a sibling subdomain cannot
    /// plant one. Use a name without the prefix (e.g. `session`) for plain-http development.
    #[must_use]
    pub fn with_cookie_name(self, name: impl Into<String>) -> Self {
        self.cookie(|c| c.name(name))
    }

    /// The Path attribute. Default `/`: one session for the whole site.
    #[must_use]
    pub fn with_path(self, path: impl Into<String>) -> Self {
        self.cookie(|c| c.path(path))
    }

    /// The Domain attribute. Default none: only the host that set the cookie receives it.
    #[must_use]
    pub fn with_domain(self, domain: impl Into<String>) -> Self {
        self.cookie(|c| c.domain(domain))
    }

    /// The SameSite attribute. Default `Lax`: kept on top-level navigations from other sites,
    /// withheld from cross-site subresources and form posts (most CSRF).
    #[must_use]
    pub fn with_same_site(self, same_site: SameSite) -> Self {
        self.cookie(|c| c.same_site(same_site))
    }

    /// The Secure attribute. Default on: the cookie never travels over plain http. Turn it off
    /// only for local development, together with a name without the `__Host-` prefix.
    #[must_use]
    pub fn with_secure(self, secure: bool) -> Self {
        self.cookie(|c| c.secure(secure))
    }

    /// The HttpOnly attribute. Default on: page scripts cannot read the cookie.
    #[must_use]
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.cookie(|c| c.http_only(http_only))
    }

    /// The Partitioned attribute (CHIPS). Default off; requires Secure.
    #[must_use]
    pub fn with_partitioned(self, partitioned: bool) -> Self {
        self.cookie(|c| c.partitioned(partitioned))
    }

    /// How long the browser keeps the cookie. Default [`CookieLifetime::BrowserSession`]; the
    /// server's idle and absolute limits apply either way.
    #[must_use]
    pub fn with_cookie_lifetime(self, lifetime: CookieLifetime) -> Self {
        self.cookie(|c| c.lifetime(lifetime))
    }

    /// Split large sessions across several cookies. Default off: a session over one cookie is a
    /// [`ErrorKind::SessionTooLarge`] error.
    #[must_use]
    pub fn with_chunking(self, chunking: Option<Chunking>) -> Self {
        self.cookie(|c| c.chunking(chunking))
    }

    /// The sealing mode. Default [`Mode::Aes256GcmSiv`]: encrypted, no practical nonce limit,
    /// and the fastest such mode measured on AES-capable CPUs.
    #[must_use]
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Also accept tokens sealed in `mode` (re-sealing them), while migrating between modes.
    /// Default: none, so a signed token never opens where encrypted ones are expected.
    #[must_use]
    pub fn with_also_open(mut self, mode: Mode) -> Self {
        self.also_open.push(mode);
        self
    }

    /// The purpose bound into tokens next to the cookie name. Default `"session"`.
    #[must_use]
    pub fn with_purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// The absolute lifetime from creation. Default 7 days: long enough for a working week,
    /// short enough that a stolen cookie dies on its own.
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The idle timeout, measured from the last re-seal. Default 2 hours (OWASP suggests 15–30
    /// minutes for low-risk applications and less for high-value ones; tighten it to match).
    /// `None` disables it, and with it the rolling refresh.
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// After what fraction of the idle window a read-only request re-seals the session (rolling
    /// refresh). Default 0.25: a session used at least every 90 minutes never idles out, and a
    /// read-only request sends a Set-Cookie at most once per 30 minutes. Clamped to 0..=1.
    #[must_use]
    pub fn with_refresh_fraction(mut self, fraction: f64) -> Self {
        self.refresh_fraction = fraction;
        self
    }

    /// Clock leeway for `issued` times in the future. Default 60 s, for skew between servers.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The payload codec. Default [`Codec::new`] (16 KiB, depth 32).
    #[must_use]
    pub fn with_codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Whether a refused cookie is answered with a deletion cookie, so the browser stops sending
    /// it. Default on. (Never sent when another cookie with our name opened.)
    #[must_use]
    pub fn with_delete_rejected(mut self, delete: bool) -> Self {
        self.delete_rejected = delete;
        self
    }

    /// The clock. Default: the system clock. Tests inject a [`ManualClock`](crate::ManualClock).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Check every request's session against a shared revocation store, and record purges in it
    /// (feature `redis`; default none: sessions are valid until they expire). See
    /// [`revocation`](crate::revocation) for where the check runs and what a failed check means.
    #[cfg(feature = "redis")]
    #[must_use]
    pub fn with_revocation(mut self, revocation: crate::revocation::Revocation) -> Self {
        self.revocation = Some(revocation);
        self
    }

    /// Validate and build.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] from the cookie policy (with the attribute named) or the
    /// sealer settings.
    pub fn build(self) -> Result<T, Error> {
        let policy = match self.policy {
            Some(p) => p,
            None => self.cookie.build()?,
        };
        let fraction = if self.refresh_fraction.is_finite() {
            self.refresh_fraction.clamp(0.0, 1.0)
        } else {
            SessionManager::DEFAULT_REFRESH_FRACTION
        };
        let refresh_after = self.idle_timeout.map(|idle| idle.mul_f64(fraction));
        let max_token_len = MAX_SET_COOKIE_LEN.saturating_mul(policy.max_chunks());
        let mut sealer = Sealer::builder(self.ring, policy.name())
            .mode(self.mode)
            .purpose(self.purpose)
            .lifetime(self.lifetime)
            .idle_timeout(self.idle_timeout)
            .refresh_after(refresh_after)
            .leeway(self.leeway)
            .max_token_len(max_token_len)
            .codec(self.codec)
            .clock(self.clock);
        for m in self.also_open {
            sealer = sealer.also_open(m);
        }
        Ok(T::from(SessionManager {
            inner: Arc::new(ManagerInner {
                sealer: sealer.build()?,
                policy,
                delete_rejected: self.delete_rejected,
                #[cfg(feature = "redis")]
                revocation: self.revocation,
            }),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphan_chunks_are_refused_and_deleted() {
        let manager = SessionManager::builder(KeyRing::generate())
            .with_cookie_name("id")
            .with_chunking(Some(Chunking::new(3)))
            .build()
            .unwrap();
        let session = manager.load_from_cookie_headers([&b"id.1=abc; id.2=def"[..]]);
        assert!(session.is_new());
        assert_eq!(session.rejection(), Some(crate::Rejection::Malformed));
        let out = manager.finish(&session).unwrap();
        let names: Vec<&str> = out.iter().filter_map(|c| c.split('=').next()).collect();
        assert_eq!(names, ["id", "id.1", "id.2"]);
        assert!(out.iter().all(|c| c.contains("Max-Age=0")));
    }

    #[test]
    fn assemble_tries_combinations_in_order_and_is_bounded() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(assemble(&[v(&["a", "b"])], 1), v(&["a", "b"]));
        assert_eq!(
            assemble(&[v(&["a", "b"]), v(&["1", "2"])], 2),
            v(&["a1", "b1", "a2", "b2"])
        );
        assert!(assemble(&[v(&[])], 0).is_empty());
        let many: Vec<String> = (0..8).map(|i| i.to_string()).collect();
        assert_eq!(
            assemble(&[many.clone(), many.clone(), many], 3).len(),
            MAX_CANDIDATES
        );
    }
}
