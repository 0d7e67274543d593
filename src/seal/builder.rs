//! Building a [`Sealer`]: every setting with its default, and the checks `build` makes.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::{mode_bit, Inner, Sealer};
use crate::clock::{Clock, SystemClock};
use crate::codec::Codec;
use crate::defaults::Defaults;
use crate::envelope::{le64, Mode, LABEL};
use crate::error::{Error, ErrorKind};
use crate::keys::KeyRing;

/// Builds a [`Sealer`]. Every setter states its default.
pub struct SealerBuilder {
    ring: KeyRing,
    mode: Mode,
    also_open: Vec<Mode>,
    name: String,
    purpose: String,
    lifetime: Duration,
    max_lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
    refresh: Refresh,
    leeway: Duration,
    max_token_len: usize,
    codec: Codec,
    clock: Arc<dyn Clock>,
}

/// When a token is due for a rolling refresh: a share of the idle window (what the session layer
/// and the configuration speak in), or a fixed age.
#[derive(Clone, Copy, Debug)]
enum Refresh {
    Fraction(f64),
    After(Option<Duration>),
}

impl fmt::Debug for SealerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealerBuilder")
            .field("ring", &self.ring)
            .field("mode", &self.mode)
            .field("cookie_name", &self.name)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

impl Sealer {
    /// Start building a sealer for the cookie `cookie_name` (prefix included, e.g. `__Host-id`).
    pub fn builder(ring: KeyRing, cookie_name: impl Into<String>) -> SealerBuilder {
        SealerBuilder {
            ring,
            mode: Defaults::MODE,
            also_open: Vec::new(),
            name: cookie_name.into(),
            purpose: Defaults::PURPOSE.to_owned(),
            lifetime: Defaults::LIFETIME,
            max_lifetime: None,
            // The idle limit and the rolling refresh are the session layer's: a sealer also seals
            // tokens nobody re-seals (CSRF tokens, cache entries), which an idle limit would
            // kill. `SessionBuilder` sets `Defaults::IDLE_TIMEOUT` and `REFRESH_FRACTION`.
            idle_timeout: None,
            refresh: Refresh::After(None),
            leeway: Defaults::LEEWAY,
            max_token_len: SealerBuilder::DEFAULT_MAX_TOKEN_LEN,
            codec: Codec::new(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl SealerBuilder {
    /// Default purpose string: [`Defaults::PURPOSE`].
    pub const DEFAULT_PURPOSE: &'static str = Defaults::PURPOSE;
    /// Default absolute lifetime: [`Defaults::LIFETIME`] (7 days).
    pub const DEFAULT_LIFETIME: Duration = Defaults::LIFETIME;
    /// Default clock leeway: [`Defaults::LEEWAY`] (60 seconds).
    pub const DEFAULT_LEEWAY: Duration = Defaults::LEEWAY;
    /// The longest lifetime accepted: 100 years (anything longer is a configuration mistake,
    /// and would overflow the token's timestamps near the end of `u64`).
    pub const MAX_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    /// Default largest token: 4096 characters, the most a browser stores in one cookie.
    pub const DEFAULT_MAX_TOKEN_LEN: usize = 4096;

    /// The mode new tokens are sealed in. Default [`Defaults::MODE`] ([`Mode::Aes256GcmSiv`]: no
    /// practical nonce limit, and within a few hundred nanoseconds of AES-GCM).
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Also open tokens sealed in `mode` (and re-seal them in the sealing mode), for migrating
    /// from one mode to another. Default: only the sealing mode opens, so a signed token is never
    /// accepted where encrypted ones are expected, and the reverse.
    #[must_use]
    pub fn also_open(mut self, mode: Mode) -> Self {
        self.also_open.push(mode);
        self
    }

    /// The purpose bound into every token next to the cookie name, so tokens of one use (a
    /// session) cannot be replayed as another (a CSRF token, a cache entry) even under the same
    /// key. Default [`Defaults::PURPOSE`] (`"session"`).
    #[must_use]
    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// The absolute lifetime: new tokens expire this long after creation, and no token opens
    /// later than this after its `created` time, whatever its own expiry says. Default
    /// [`Defaults::LIFETIME`] (7 days), the session layer's.
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// The longest absolute lifetime one session may be given
    /// ([`Session::set_lifetime`](crate::Session::set_lifetime), "remember me"): tokens open
    /// until their own expiry as long as it is at most this long after `created`. Default: the
    /// [`lifetime`](Self::lifetime) (no session outlives it). At least the lifetime, at most
    /// [`MAX_LIFETIME`](Self::MAX_LIFETIME); [`build`](Self::build) refuses anything else.
    #[must_use]
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Refuse tokens not re-sealed for this long (measured from `issued`). Default: none at this
    /// layer, because a sealer also seals tokens nobody re-seals; the session layer sets
    /// [`Defaults::IDLE_TIMEOUT`]. From one second to
    /// [`MAX_LIFETIME`](Self::MAX_LIFETIME); [`build`](Self::build) refuses anything else (for no
    /// idle limit, pass `None`, not a huge duration).
    #[must_use]
    pub fn idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Hint [`Reseal::Refresh`](super::Reseal::Refresh) once a token was issued this long ago (`None`: never). Default:
    /// none at this layer (the session layer sets [`Defaults::REFRESH_FRACTION`] of the idle
    /// timeout). Any duration is
    /// accepted: one longer than the idle timeout never triggers. Replaces
    /// [`refresh_fraction`](Self::refresh_fraction).
    #[must_use]
    pub fn refresh_after(mut self, after: Option<Duration>) -> Self {
        self.refresh = Refresh::After(after);
        self
    }

    /// Hint [`Reseal::Refresh`](super::Reseal::Refresh) once this share of the idle timeout has passed since `issued`
    /// (never without an idle timeout). Default: no refresh hint at this layer; the session
    /// layer uses [`Defaults::REFRESH_FRACTION`]. From 0 to 1;
    /// [`build`](Self::build) refuses anything else. Replaces
    /// [`refresh_after`](Self::refresh_after).
    #[must_use]
    pub fn refresh_fraction(mut self, fraction: f64) -> Self {
        self.refresh = Refresh::Fraction(fraction);
        self
    }

    /// Replace the modes set with [`also_open`](Self::also_open) so far.
    pub(crate) fn replace_also_open(mut self, modes: Vec<Mode>) -> Self {
        self.also_open = modes;
        self
    }

    /// The cookie name, replacing the one given to [`Sealer::builder`]: the session builder
    /// learns it from the validated cookie policy only when it builds.
    pub(crate) fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// How far in the future `issued` may be, for clock skew between servers. Default
    /// [`Defaults::LEEWAY`] (60 s); at
    /// most [`MAX_LIFETIME`](Self::MAX_LIFETIME) ([`build`](Self::build) refuses more).
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The longest token (base64 characters, which are bytes) accepted or produced. Longer input is refused
    /// before it is decoded. Default 4096.
    #[must_use]
    pub fn max_token_len(mut self, max: usize) -> Self {
        self.max_token_len = max;
        self
    }

    /// The payload codec and its limits. Default [`Codec::new`].
    #[must_use]
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// The clock the non-`_at` methods read. Default: the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Validate and precompute the associated data.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] for an empty cookie name or purpose, a lifetime or an idle
    /// timeout under one second or over [`MAX_LIFETIME`](Self::MAX_LIFETIME), a leeway over
    /// `MAX_LIFETIME`, a refresh fraction outside 0..=1, or a maximum token length too small
    /// for an empty payload. Never panics, whatever the settings.
    pub fn build(self) -> Result<Sealer, Error> {
        let refresh_after = match self.refresh {
            Refresh::After(after) => after,
            Refresh::Fraction(f) => refresh_after(self.idle_timeout, f)?,
        };
        if self.name.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the cookie name is empty",
            ));
        }
        if self.purpose.is_empty() {
            return Err(Error::new(ErrorKind::InvalidConfig, "the purpose is empty"));
        }
        if self.lifetime.as_secs() == 0 || self.lifetime > SealerBuilder::MAX_LIFETIME {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the lifetime must be between one second and 100 years",
            ));
        }
        let max_lifetime = self.max_lifetime.unwrap_or(self.lifetime);
        if max_lifetime < self.lifetime || max_lifetime > SealerBuilder::MAX_LIFETIME {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the maximum lifetime must be at least the lifetime and at most 100 years",
            ));
        }
        // Timestamps are whole seconds: an idle timeout under one second would refuse every
        // token, and one past the longest lifetime can never apply (and overflows `issued + idle`,
        // which also refuses every token).
        if self
            .idle_timeout
            .is_some_and(|idle| idle.as_secs() == 0 || idle > SealerBuilder::MAX_LIFETIME)
        {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the idle timeout must be between one second and 100 years (None for no idle limit)",
            ));
        }
        if self.leeway > SealerBuilder::MAX_LIFETIME {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the clock leeway must be at most 100 years",
            ));
        }
        if self.max_token_len < self.mode.encoded_len(2) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "max_token_len {} cannot hold even an empty object in {}",
                    self.max_token_len, self.mode
                ),
            ));
        }
        let accepts = self
            .also_open
            .iter()
            .fold(mode_bit(self.mode), |acc, m| acc | mode_bit(*m));
        let prefix = |count: usize| {
            let mut v = Vec::with_capacity(16 + LABEL.len());
            v.extend_from_slice(&le64(count));
            v.extend_from_slice(&le64(LABEL.len()));
            v.extend_from_slice(LABEL);
            v
        };
        let mut context_suffix = Vec::new();
        for item in [self.name.as_bytes(), self.purpose.as_bytes()] {
            context_suffix.extend_from_slice(&le64(item.len()));
            context_suffix.extend_from_slice(item);
        }
        Ok(Sealer {
            inner: Arc::new(Inner {
                ring: ArcSwap::from_pointee(self.ring),
                mode: self.mode,
                accepts,
                aad_prefix: prefix(4),
                mac_prefix: prefix(5),
                context_suffix,
                name: self.name,
                purpose: self.purpose,
                lifetime: self.lifetime,
                max_lifetime,
                idle_timeout: self.idle_timeout,
                refresh_after,
                leeway: self.leeway,
                max_token_len: self.max_token_len,
                codec: self.codec,
                clock: self.clock,
            }),
        })
    }
}

/// The rolling-refresh point: `fraction` of the idle window (`None` without an idle timeout),
/// for the session builder's `with_refresh_fraction`.
///
/// A fraction outside `0..=1` (or not a number) is an error rather than clamped: it can only be a
/// mistake, and the configuration file refuses it the same way. The product is computed in
/// floating point, as `Duration::mul_f64` does, but never panics: for the largest idle windows
/// the rounded product can exceed `Duration::MAX`, and it is then the idle window itself (a
/// fraction is at most 1).
///
/// # Errors
/// [`ErrorKind::InvalidConfig`] if `fraction` is not finite or not within `0..=1`.
pub(crate) fn refresh_after(
    idle: Option<Duration>,
    fraction: f64,
) -> Result<Option<Duration>, Error> {
    if !(fraction.is_finite() && (0.0..=1.0).contains(&fraction)) {
        return Err(Error::new(
            ErrorKind::InvalidConfig,
            "the refresh fraction must be a number from 0 to 1",
        ));
    }
    Ok(idle.map(|idle| {
        Duration::try_from_secs_f64(idle.as_secs_f64() * fraction)
            .map_or(idle, |after| after.min(idle))
    }))
}
