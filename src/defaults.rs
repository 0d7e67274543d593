//! [`Defaults`]: every session setting's default, stated once with its reason.
//!
//! [`SealerBuilder`](crate::SealerBuilder), [`CookiePolicyBuilder`](crate::CookiePolicyBuilder),
//! [`SessionBuilder`](crate::SessionBuilder) and the configuration file start from these values;
//! `tests/defaults.rs` checks that a manager, a sealer and an empty configuration agree.
//!
//! This module names the cookie and envelope types but none of their builders, so it stays a
//! leaf the builders can read from.

use std::time::Duration;

use crate::cookie_attributes::{CookieLifetime, SameSite};
use crate::envelope::Mode;

/// The default of every session setting. Each constant says why it is the default; the
/// builders' `with_*` setters and the configuration documentation refer here.
#[derive(Debug)]
#[non_exhaustive]
pub struct Defaults;

impl Defaults {
    /// `__Host-session`: the `__Host-` prefix makes browsers refuse the cookie unless it is
    /// Secure, for Path=/ and without Domain, so a sibling subdomain cannot plant one. Use a
    /// name without the prefix (e.g. `session`) for plain-http development.
    pub const COOKIE_NAME: &'static str = "__Host-session";
    /// `/`: one session for the whole site (and the only Path a `__Host-` cookie may have).
    pub const PATH: &'static str = "/";
    /// No Domain: only the host that set the cookie receives it; a Domain would show it to
    /// every subdomain.
    pub const DOMAIN: Option<&'static str> = None;
    /// `Lax`: kept on top-level navigations from other sites (links keep users logged in),
    /// withheld from cross-site subresources and form posts (most CSRF).
    pub const SAME_SITE: SameSite = SameSite::Lax;
    /// On: the cookie never travels over plain http.
    pub const SECURE: bool = true;
    /// On: page scripts cannot read the cookie, so an XSS flaw cannot copy it.
    pub const HTTP_ONLY: bool = true;
    /// Off: Partitioned (CHIPS) is for sessions inside third-party iframes only.
    pub const PARTITIONED: bool = false;
    /// [`CookieLifetime::BrowserSession`]: the browser forgets the cookie when it closes; the
    /// server's idle and absolute limits apply either way.
    pub const COOKIE_LIFETIME: CookieLifetime = CookieLifetime::BrowserSession;
    /// 1, no chunking: a session that outgrows one cookie is an error the application sees,
    /// rather than a request header that quietly grows to 64 KiB.
    pub const CHUNKS: usize = 1;
    /// [`Mode::Aes256GcmSiv`]: encrypted, no practical nonce limit, and within a few hundred
    /// nanoseconds of AES-GCM on AES-capable CPUs (the benchmark in the README).
    pub const MODE: Mode = Mode::Aes256GcmSiv;
    /// `"session"`: bound into every token next to the cookie name, so a token of one use (a
    /// session) cannot be replayed as another (a CSRF token, a cache entry) under the same key.
    pub const PURPOSE: &'static str = "session";
    /// 7 days from creation, whatever the activity: long enough for a working week, short
    /// enough that a stolen cookie dies on its own. The sealer, the session layer and the
    /// configuration share it, so a token's expiry does not depend on which one built it.
    pub const LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
    /// 2 hours without a re-seal. OWASP suggests 15–30 minutes for low-risk applications and
    /// less for high-value ones; tighten it to match.
    pub const IDLE_TIMEOUT: Option<Duration> = Some(Duration::from_secs(2 * 3600));
    /// 0.25 of the idle window: a session used at least every 90 minutes never idles out, and
    /// a read-only request re-seals (sends a Set-Cookie) at most once per 30 minutes.
    pub const REFRESH_FRACTION: f64 = 0.25;
    /// 60 s of clock skew tolerated between servers for `issued` times in the future.
    pub const LEEWAY: Duration = Duration::from_secs(60);
    /// On: a refused cookie is answered with a deletion cookie, so the browser stops sending
    /// it (never when another cookie with our name opened).
    pub const DELETE_REJECTED: bool = true;
}
