//! [`SessionBuilder`]: the one configuration of a session manager, shared by every adapter.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::cache_control::CacheSafety;
use crate::clock::{Clock, SystemClock};
use crate::codec::Codec;
use crate::cookie_policy::{
    Chunking, CookieLifetime, CookiePolicy, CookiePolicyBuilder, SameSite, MAX_SET_COOKIE_LEN,
};
use crate::envelope::Mode;
use crate::error::Error;
use crate::keys::KeyRing;
use crate::manager::{ManagerInner, SessionManager};
use crate::revocation::Revocation;
use crate::seal::Sealer;

impl SessionManager {
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
    cache_safety: CacheSafety,
    revocation: Option<Revocation>,
    #[cfg(feature = "beaker-compat")]
    legacy: Option<crate::beaker::BeakerReader>,
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
            cache_safety: CacheSafety::Enforce,
            revocation: None,
            #[cfg(feature = "beaker-compat")]
            legacy: None,
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

    /// What responses say to shared caches. Default [`CacheSafety::Enforce`]: `Vary: Cookie` on
    /// every response that read the session, and no response that sets the session cookie is
    /// storable by a shared cache (see [`CacheSafety`] for the rules). [`CacheSafety::Off`] only
    /// for applications that set correct caching headers on every route themselves.
    #[must_use]
    pub fn with_cache_safety(mut self, safety: CacheSafety) -> Self {
        self.cache_safety = safety;
        self
    }

    /// Migrate users off Beaker without logging them out (feature `beaker-compat`; default none):
    /// when no cookie of ours opens and the request carries a Beaker cookie session that
    /// `reader` verifies, its entries (Beaker's own `_` keys dropped) become a new session,
    /// sealed in this response, and the Beaker cookie is deleted with its own Path and Domain
    /// (it is deleted too when a cookie of ours wins, or when it is refused). A one-way door:
    /// remove it once the migration window is over. See SECURITY.md, "Legacy Beaker cookies".
    #[cfg(feature = "beaker-compat")]
    #[must_use]
    pub fn with_legacy_beaker(mut self, reader: crate::beaker::BeakerReader) -> Self {
        self.legacy = Some(reader);
        self
    }

    /// Check every request's session against a revocation store before the application sees
    /// it, and record purges in it as revocations of the session's lineage. Default none:
    /// sessions are valid until they expire. See [`revocation`](crate::revocation) for the
    /// stores, where the check runs and what a failed check means.
    #[must_use]
    pub fn with_revocation(mut self, revocation: Revocation) -> Self {
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
        // Duration::mul_f64 panics past Duration::MAX (an idle timeout of Duration::MAX with a
        // fraction of 1); the sealer's checked form saturates instead.
        let refresh_after = crate::seal::refresh_after(self.idle_timeout, fraction)?;
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
        Ok(T::from(SessionManager::from_inner(ManagerInner {
            sealer: sealer.build()?,
            policy,
            delete_rejected: self.delete_rejected,
            cache_safety: self.cache_safety,
            revocation: self.revocation,
            #[cfg(feature = "beaker-compat")]
            legacy: self.legacy,
        })))
    }
}
