//! Time: the [`UnixTime`] that tokens carry, and the [`Clock`] the plain (non-`_at`) methods read.
//!
//! Everything that depends on time also has an `*_at(now, ...)` form, so tests and vectors pass
//! the time in instead of sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole seconds since the Unix epoch (1970-01-01T00:00:00Z), as tokens store them.
///
/// Arithmetic is checked: adding a lifetime that would overflow returns `None`, so an absurd
/// timestamp is a rejection, never a wrap-around.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(u64);

impl UnixTime {
    /// The epoch itself.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// From seconds since the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        UnixTime(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// The current system time, whole seconds (a clock set before 1970 reads as the epoch).
    pub fn now() -> Self {
        UnixTime::from(SystemTime::now())
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Self> {
        self.0.checked_add(d.as_secs()).map(UnixTime)
    }

    /// `self - d`, or `None` before the epoch.
    pub fn checked_sub(self, d: Duration) -> Option<Self> {
        self.0.checked_sub(d.as_secs()).map(UnixTime)
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: UnixTime) -> Duration {
        Duration::from_secs(self.0.saturating_sub(earlier.0))
    }

    /// As a `time::OffsetDateTime` in UTC, or `None` past year 9999.
    pub fn to_offset_date_time(self) -> Option<time::OffsetDateTime> {
        let secs = i64::try_from(self.0).ok()?;
        time::OffsetDateTime::from_unix_timestamp(secs).ok()
    }
}

impl From<SystemTime> for UnixTime {
    fn from(t: SystemTime) -> Self {
        UnixTime(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_offset_date_time().and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }) {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}", self.0),
        }
    }
}

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::now()
    }
}

/// A clock that only moves when told to: for tests, and for replaying recorded traffic.
///
/// Clones share the same time.
///
/// ```
/// use sealed_session::{Clock, ManualClock, UnixTime};
/// use std::time::Duration;
///
/// let clock = ManualClock::new(UnixTime::from_secs(1_000));
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now(), UnixTime::from_secs(1_060));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: UnixTime) -> Self {
        ManualClock(Arc::new(AtomicU64::new(start.as_secs())))
    }

    /// Set the time.
    pub fn set(&self, t: UnixTime) {
        self.0.store(t.as_secs(), Ordering::SeqCst);
    }

    /// Move the time forward (saturating at the end of `u64`).
    pub fn advance(&self, d: Duration) {
        let secs = d.as_secs();
        // fetch_update never fails when the closure always returns Some.
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(secs))
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// What a time looks like, for messages.
pub(crate) const TIME_FORMS: &str =
    "an RFC 3339 time with an offset, such as \"2026-11-01T00:00:00Z\", or \"@\" and Unix seconds";

/// A point in time: RFC 3339 with an offset (read by the `time` crate; fractional seconds are
/// dropped), or `@` and Unix seconds, the form [`UnixTime`]'s `Display` falls back to. `None`
/// for anything else, and for times before 1970.
pub(crate) fn parse_time(text: &str) -> Option<UnixTime> {
    let t = text.trim();
    if let Some(secs) = t.strip_prefix('@') {
        if secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return secs.parse::<u64>().ok().map(UnixTime::from_secs);
    }
    let at = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(at.unix_timestamp())
        .ok()
        .map(UnixTime::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_arithmetic_refuses_overflow() {
        let max = UnixTime::from_secs(u64::MAX);
        assert_eq!(max.checked_add(Duration::from_secs(1)), None);
        assert_eq!(UnixTime::EPOCH.checked_sub(Duration::from_secs(1)), None);
        assert_eq!(
            UnixTime::from_secs(10).checked_add(Duration::from_secs(5)),
            Some(UnixTime::from_secs(15))
        );
        assert_eq!(
            UnixTime::from_secs(3).saturating_since(UnixTime::from_secs(10)),
            Duration::ZERO
        );
    }

    #[test]
    fn display_is_rfc3339_or_raw_seconds() {
        assert_eq!(
            UnixTime::from_secs(1_700_000_000).to_string(),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            UnixTime::from_secs(u64::MAX).to_string(),
            format!("@{}", u64::MAX)
        );
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new(UnixTime::from_secs(5));
        let b = a.clone();
        a.advance(Duration::from_secs(10));
        assert_eq!(b.now(), UnixTime::from_secs(15));
        b.set(UnixTime::from_secs(1));
        assert_eq!(a.now(), UnixTime::from_secs(1));
        a.advance(Duration::from_secs(u64::MAX));
        assert_eq!(a.now(), UnixTime::from_secs(u64::MAX));
    }
}
