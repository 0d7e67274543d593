//! [`SessionBuilder`]: the one configuration of a session manager, shared by every adapter.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use crate::cache_control::CacheSafety;
use crate::clock::Clock;
use crate::codec::Codec;
use crate::cookie_policy::{
    Chunking, CookieLifetime, CookiePolicy, CookiePolicyBuilder, SameSite, MAX_SET_COOKIE_LEN,
};
use crate::defaults::Defaults;
use crate::envelope::Mode;
use crate::error::Error;
use crate::keys::KeyRing;
use crate::manager::{ManagerInner, SessionManager};
use crate::revocation::Revocation;
use crate::seal::{Sealer, SealerBuilder};

impl SessionManager {
    /// Default absolute lifetime: [`Defaults::LIFETIME`] (7 days from creation, whatever the
    /// activity).
    pub const DEFAULT_LIFETIME: Duration = Defaults::LIFETIME;
    /// Default idle timeout: [`Defaults::IDLE_TIMEOUT`] (2 hours without a re-seal).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = match Defaults::IDLE_TIMEOUT {
        Some(idle) => idle,
        None => Duration::ZERO,
    };
    /// Default rolling-refresh point: [`Defaults::REFRESH_FRACTION`] (a quarter of the idle
    /// window).
    pub const DEFAULT_REFRESH_FRACTION: f64 = Defaults::REFRESH_FRACTION;

    /// Start building a manager over `ring`.
    pub fn builder(ring: KeyRing) -> SessionBuilder<SessionManager> {
        SessionBuilder::new(ring)
    }
}

/// Every session setting that is a plain value, in one struct: what the configuration file's
/// `[session]` table and the `SEALED_SESSION_*` variables set, applied to a builder with
/// [`SessionBuilder::with_settings`]. [`Default`] gives the [`Defaults`].
///
/// ```
/// use sealed_session::{KeyRing, SessionManager, SessionSettings};
/// use std::time::Duration;
///
/// let mut settings = SessionSettings::default();
/// settings.cookie_name = "id".to_owned();
/// settings.idle_timeout = Some(Duration::from_secs(15 * 60));
/// let manager = SessionManager::builder(KeyRing::generate()).with_settings(settings).build()?;
/// assert_eq!(manager.sealer().idle_timeout(), Some(Duration::from_secs(900)));
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SessionSettings {
    /// The cookie name ([`SessionBuilder::with_cookie_name`]).
    pub cookie_name: String,
    /// The Path attribute ([`SessionBuilder::with_path`]).
    pub path: String,
    /// The Domain attribute ([`SessionBuilder::with_domain`]).
    pub domain: Option<String>,
    /// The SameSite attribute ([`SessionBuilder::with_same_site`]).
    pub same_site: SameSite,
    /// The Secure attribute ([`SessionBuilder::with_secure`]).
    pub secure: bool,
    /// The HttpOnly attribute ([`SessionBuilder::with_http_only`]).
    pub http_only: bool,
    /// The Partitioned attribute ([`SessionBuilder::with_partitioned`]).
    pub partitioned: bool,
    /// The sealing mode ([`SessionBuilder::with_mode`]).
    pub mode: Mode,
    /// Modes still opened while migrating ([`SessionBuilder::with_also_open`]).
    pub also_open: Vec<Mode>,
    /// The purpose bound into tokens ([`SessionBuilder::with_purpose`]).
    pub purpose: String,
    /// The absolute lifetime ([`SessionBuilder::with_lifetime`]).
    pub lifetime: Duration,
    /// The idle timeout ([`SessionBuilder::with_idle_timeout`]).
    pub idle_timeout: Option<Duration>,
    /// The rolling-refresh point ([`SessionBuilder::with_refresh_fraction`]).
    pub refresh_fraction: f64,
    /// How long the browser keeps the cookie ([`SessionBuilder::with_cookie_lifetime`]).
    pub cookie_lifetime: CookieLifetime,
    /// Cookies per session: 1 for no chunking, up to 16 ([`SessionBuilder::with_chunking`]).
    pub chunks: usize,
    /// The clock leeway ([`SessionBuilder::with_leeway`]).
    pub leeway: Duration,
    /// Whether refused cookies are deleted ([`SessionBuilder::with_delete_rejected`]).
    pub delete_rejected: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            cookie_name: Defaults::COOKIE_NAME.to_owned(),
            path: Defaults::PATH.to_owned(),
            domain: Defaults::DOMAIN.map(str::to_owned),
            same_site: Defaults::SAME_SITE,
            secure: Defaults::SECURE,
            http_only: Defaults::HTTP_ONLY,
            partitioned: Defaults::PARTITIONED,
            mode: Defaults::MODE,
            also_open: Vec::new(),
            purpose: Defaults::PURPOSE.to_owned(),
            lifetime: Defaults::LIFETIME,
            idle_timeout: Defaults::IDLE_TIMEOUT,
            refresh_fraction: Defaults::REFRESH_FRACTION,
            cookie_lifetime: Defaults::COOKIE_LIFETIME,
            chunks: Defaults::CHUNKS,
            leeway: Defaults::LEEWAY,
            delete_rejected: Defaults::DELETE_REJECTED,
        }
    }
}

/// Configures sessions: cookie attributes, mode, lifetimes. Every setter states its default
/// (each one is a [`Defaults`] constant) and why.
///
/// The same builder, with the same `with_*` names, configures [`SessionManager`] and every
/// framework adapter (`T` is what [`build`](Self::build) returns), so moving from one framework
/// to another changes an import, not the configuration.
///
/// It is a composition, not a copy: the sealing settings go to a [`SealerBuilder`] and the
/// cookie attributes to a [`CookiePolicyBuilder`], which hold their own defaults; only the
/// settings of the request protocol live here.
pub struct SessionBuilder<T = SessionManager> {
    /// Its cookie name is replaced by the policy's when the manager is built.
    sealer: SealerBuilder,
    policy: Option<CookiePolicy>,
    cookie: CookiePolicyBuilder,
    delete_rejected: bool,
    cache_safety: CacheSafety,
    revocation: Option<Revocation>,
    #[cfg(feature = "beaker-compat")]
    legacy: Option<crate::beaker::BeakerReader>,
    csrf_max_age: Option<Duration>,
    output: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for SessionBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("sealer", &self.sealer)
            .field("policy", &self.policy)
            .field("cookie", &self.cookie)
            .field("delete_rejected", &self.delete_rejected)
            .finish_non_exhaustive()
    }
}

impl<T: From<SessionManager>> SessionBuilder<T> {
    /// A builder with every default.
    pub fn new(ring: KeyRing) -> Self {
        SessionBuilder {
            // The sealer's own defaults, plus the two only sessions have (see `Sealer::builder`).
            sealer: Sealer::builder(ring, Defaults::COOKIE_NAME)
                .idle_timeout(Defaults::IDLE_TIMEOUT)
                .refresh_fraction(Defaults::REFRESH_FRACTION),
            policy: None,
            cookie: CookiePolicy::builder(Defaults::COOKIE_NAME),
            delete_rejected: Defaults::DELETE_REJECTED,
            cache_safety: CacheSafety::Enforce,
            revocation: None,
            #[cfg(feature = "beaker-compat")]
            legacy: None,
            csrf_max_age: None,
            output: PhantomData,
        }
    }

    /// Apply every setting in `settings` (a configuration file's, for example), replacing the
    /// ones set so far. `with_*` calls after it change single settings again.
    #[must_use]
    pub fn with_settings(self, settings: SessionSettings) -> Self {
        let SessionSettings {
            cookie_name,
            path,
            domain,
            same_site,
            secure,
            http_only,
            partitioned,
            mode,
            also_open,
            purpose,
            lifetime,
            idle_timeout,
            refresh_fraction,
            cookie_lifetime,
            chunks,
            leeway,
            delete_rejected,
        } = settings;
        let mut b = self.cookie(|c| {
            let c = c
                .name(cookie_name)
                .path(path)
                .same_site(same_site)
                .secure(secure)
                .http_only(http_only)
                .partitioned(partitioned)
                .lifetime(cookie_lifetime)
                .chunking((chunks > 1).then(|| Chunking::new(chunks)));
            match domain {
                Some(d) => c.domain(d),
                None => c,
            }
        });
        b.sealer = b.sealer.replace_also_open(also_open);
        b.with_mode(mode)
            .with_purpose(purpose)
            .with_lifetime(lifetime)
            .with_idle_timeout(idle_timeout)
            .with_refresh_fraction(refresh_fraction)
            .with_leeway(leeway)
            .with_delete_rejected(delete_rejected)
    }

    fn sealer(mut self, f: impl FnOnce(SealerBuilder) -> SealerBuilder) -> Self {
        self.sealer = f(self.sealer);
        self
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

    /// The cookie name. Default [`Defaults::COOKIE_NAME`] (`__Host-session`): the `__Host-`
    /// prefix makes browsers refuse the cookie unless it is Secure, for Path=/ and without
    /// Domain, so a sibling subdomain cannot plant one. Use a name without the prefix (e.g.
    /// `session`) for plain-http development.
    #[must_use]
    pub fn with_cookie_name(self, name: impl Into<String>) -> Self {
        self.cookie(|c| c.name(name))
    }

    /// The Path attribute. Default [`Defaults::PATH`] (`/`): one session for the whole site.
    #[must_use]
    pub fn with_path(self, path: impl Into<String>) -> Self {
        self.cookie(|c| c.path(path))
    }

    /// The Domain attribute. Default [`Defaults::DOMAIN`] (none): only the host that set the
    /// cookie receives it.
    #[must_use]
    pub fn with_domain(self, domain: impl Into<String>) -> Self {
        self.cookie(|c| c.domain(domain))
    }

    /// The SameSite attribute. Default [`Defaults::SAME_SITE`] (`Lax`): kept on top-level navigations from other sites,
    /// withheld from cross-site subresources and form posts (most CSRF).
    #[must_use]
    pub fn with_same_site(self, same_site: SameSite) -> Self {
        self.cookie(|c| c.same_site(same_site))
    }

    /// The Secure attribute. Default [`Defaults::SECURE`] (on): the cookie never travels over plain http. Turn it off
    /// only for local development, together with a name without the `__Host-` prefix.
    #[must_use]
    pub fn with_secure(self, secure: bool) -> Self {
        self.cookie(|c| c.secure(secure))
    }

    /// The HttpOnly attribute. Default [`Defaults::HTTP_ONLY`] (on): page scripts cannot read the cookie.
    #[must_use]
    pub fn with_http_only(self, http_only: bool) -> Self {
        self.cookie(|c| c.http_only(http_only))
    }

    /// The Partitioned attribute (CHIPS). Default [`Defaults::PARTITIONED`] (off); requires
    /// Secure.
    #[must_use]
    pub fn with_partitioned(self, partitioned: bool) -> Self {
        self.cookie(|c| c.partitioned(partitioned))
    }

    /// How long the browser keeps the cookie. Default [`Defaults::COOKIE_LIFETIME`]
    /// ([`CookieLifetime::BrowserSession`]); the
    /// server's idle and absolute limits apply either way.
    #[must_use]
    pub fn with_cookie_lifetime(self, lifetime: CookieLifetime) -> Self {
        self.cookie(|c| c.lifetime(lifetime))
    }

    /// Split large sessions across several cookies. Default off ([`Defaults::CHUNKS`] is 1): a
    /// session over one cookie is a
    /// [`ErrorKind::SessionTooLarge`](crate::ErrorKind::SessionTooLarge) error.
    #[must_use]
    pub fn with_chunking(self, chunking: Option<Chunking>) -> Self {
        self.cookie(|c| c.chunking(chunking))
    }

    /// The sealing mode. Default [`Defaults::MODE`] ([`Mode::Aes256GcmSiv`]): encrypted, no practical nonce limit,
    /// and the fastest such mode measured on AES-capable CPUs.
    #[must_use]
    pub fn with_mode(self, mode: Mode) -> Self {
        self.sealer(|s| s.mode(mode))
    }

    /// Also accept tokens sealed in `mode` (re-sealing them), while migrating between modes.
    /// Default: none, so a signed token never opens where encrypted ones are expected.
    #[must_use]
    pub fn with_also_open(self, mode: Mode) -> Self {
        self.sealer(|s| s.also_open(mode))
    }

    /// The purpose bound into tokens next to the cookie name. Default [`Defaults::PURPOSE`]
    /// (`"session"`).
    #[must_use]
    pub fn with_purpose(self, purpose: impl Into<String>) -> Self {
        self.sealer(|s| s.purpose(purpose))
    }

    /// The absolute lifetime from creation. Default [`Defaults::LIFETIME`] (7 days): long
    /// enough for a working week, short enough that a stolen cookie dies on its own.
    #[must_use]
    pub fn with_lifetime(self, lifetime: Duration) -> Self {
        self.sealer(|s| s.lifetime(lifetime))
    }

    /// The longest absolute lifetime one session may be given with
    /// [`Session::set_lifetime`](crate::Session::set_lifetime) ("remember me"). Default: the
    /// lifetime, so no session outlives it unless this is raised. At most 400 days is
    /// sensible (browsers keep no cookie longer).
    #[must_use]
    pub fn with_max_lifetime(self, max: Duration) -> Self {
        self.sealer(|s| s.max_lifetime(max))
    }

    /// The idle timeout, measured from the last re-seal. Default [`Defaults::IDLE_TIMEOUT`]
    /// (2 hours; OWASP suggests 15–30
    /// minutes for low-risk applications and less for high-value ones; tighten it to match).
    /// `None` disables it, and with it the rolling refresh.
    #[must_use]
    pub fn with_idle_timeout(self, idle: Option<Duration>) -> Self {
        self.sealer(|s| s.idle_timeout(idle))
    }

    /// After what fraction of the idle window a read-only request re-seals the session (rolling
    /// refresh). Default [`Defaults::REFRESH_FRACTION`] (0.25): a session used at least every 90 minutes never idles out, and a
    /// read-only request sends a Set-Cookie at most once per 30 minutes. Clamped to 0..=1; a
    /// value that is not a number keeps the default.
    #[must_use]
    pub fn with_refresh_fraction(self, fraction: f64) -> Self {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            Defaults::REFRESH_FRACTION
        };
        self.sealer(|s| s.refresh_fraction(fraction))
    }

    /// Clock leeway for `issued` times in the future. Default [`Defaults::LEEWAY`] (60 s), for
    /// skew between servers.
    #[must_use]
    pub fn with_leeway(self, leeway: Duration) -> Self {
        self.sealer(|s| s.leeway(leeway))
    }

    /// The payload codec. Default [`Codec::new`] (16 KiB, depth 32).
    #[must_use]
    pub fn with_codec(self, codec: Codec) -> Self {
        self.sealer(|s| s.codec(codec))
    }

    /// Whether a refused cookie is answered with a deletion cookie, so the browser stops sending
    /// it. Default [`Defaults::DELETE_REJECTED`] (on). (Never sent when another cookie with our name opened.)
    #[must_use]
    pub fn with_delete_rejected(mut self, delete: bool) -> Self {
        self.delete_rejected = delete;
        self
    }

    /// The clock. Default: the system clock. Tests inject a [`ManualClock`](crate::ManualClock).
    #[must_use]
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.sealer(|s| s.clock(clock))
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

    /// How long a CSRF token stays valid after it was issued (see
    /// [`SessionManager::csrf_token`]). Default: the session's absolute
    /// [`lifetime`](Self::with_lifetime), so a page stays usable as long as its session; shorten
    /// it to limit how long a token leaked from a page is worth anything.
    #[must_use]
    pub fn with_csrf_max_age(mut self, max_age: Duration) -> Self {
        self.csrf_max_age = Some(max_age);
        self
    }

    /// Validate and build.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) from the cookie policy (with the attribute named) or the
    /// sealer settings.
    pub fn build(self) -> Result<T, Error> {
        let policy = match self.policy {
            Some(p) => p,
            None => self.cookie.build()?,
        };
        let sealer = self
            .sealer
            .cookie_name(policy.name())
            .max_token_len(MAX_SET_COOKIE_LEN.saturating_mul(policy.max_chunks()))
            .build()?;
        let csrf = crate::csrf::sealer(
            &sealer.ring(),
            policy.name(),
            sealer.purpose(),
            sealer.mode(),
            &sealer.accepted_modes(),
            self.csrf_max_age.unwrap_or(sealer.lifetime()),
            sealer.leeway(),
            sealer.clock_arc(),
        )?;
        Ok(T::from(SessionManager::from_inner(ManagerInner {
            sealer,
            policy,
            delete_rejected: self.delete_rejected,
            cache_safety: self.cache_safety,
            revocation: self.revocation,
            #[cfg(feature = "beaker-compat")]
            legacy: self.legacy,
            csrf,
        })))
    }
}
