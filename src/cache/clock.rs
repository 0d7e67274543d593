//! The cache's time source: monotonic, finer than seconds, and replaceable in tests.
//!
//! The crate's [`Clock`](crate::Clock) reads wall-clock seconds, which is what tokens carry. A
//! cache needs something else: sub-second lifetimes, and a time that never steps backwards when
//! the system clock is corrected (an NTP step would otherwise revive expired entries or expire
//! fresh ones). So the cache reads a [`CacheClock`]: a [`Duration`] since an arbitrary epoch.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A monotonic source of time for the cache: a [`Duration`] since an arbitrary, fixed epoch.
///
/// Every expiry decision (fresh, stale within the grace period, dead) is computed from this
/// clock, never from the store's own timers, so tests drive time with a [`ManualCacheClock`] and
/// never sleep. Readings must never decrease.
pub trait CacheClock: Send + Sync + fmt::Debug {
    /// The time elapsed since this clock's epoch.
    fn now(&self) -> Duration;
}

/// The default clock: [`Instant`], monotonic, with the epoch at the clock's creation.
///
/// ```
/// use sealed_session::cache::{CacheClock, SystemCacheClock};
///
/// let clock = SystemCacheClock::new();
/// let a = clock.now();
/// assert!(clock.now() >= a);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SystemCacheClock {
    epoch: Instant,
}

impl SystemCacheClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        SystemCacheClock {
            epoch: Instant::now(),
        }
    }
}

impl Default for SystemCacheClock {
    fn default() -> Self {
        SystemCacheClock::new()
    }
}

impl CacheClock for SystemCacheClock {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }
}

/// Wall-clock time since the Unix epoch, never decreasing within the process: the default clock
/// of a cache over a shared store, whose entries' lifetimes every process must read alike.
///
/// Processes agree only as well as their system clocks do (keep them NTP-synchronized): a node
/// whose clock is ahead sees entries expire early, one behind sees them fresh for longer, by the
/// skew. The store's own expiry (the entry's TTL plus grace, in real time from the write) bounds
/// how long a skewed node can keep serving an entry. When the system clock steps backwards, the
/// reading holds still until the clock catches up, so the cache never sees time reverse.
///
/// ```
/// use sealed_session::cache::{CacheClock, UnixCacheClock};
/// use std::time::Duration;
///
/// let clock = UnixCacheClock::new();
/// assert!(clock.now() > Duration::from_secs(1_600_000_000)); // after September 2020
/// ```
#[derive(Debug, Default)]
pub struct UnixCacheClock {
    /// The highest reading so far, in nanoseconds.
    last: AtomicU64,
}

impl UnixCacheClock {
    /// The system's wall clock.
    pub fn new() -> Self {
        UnixCacheClock::default()
    }
}

impl CacheClock for UnixCacheClock {
    fn now(&self) -> Duration {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, saturating_nanos);
        let seen = self.last.fetch_max(wall, Ordering::Relaxed);
        Duration::from_nanos(seen.max(wall))
    }
}

/// A clock that moves only when told to, with nanosecond resolution: for tests.
///
/// Clones share the same time, so a test keeps one clone and gives another to the cache.
///
/// ```
/// use sealed_session::cache::{CacheClock, ManualCacheClock};
/// use std::time::Duration;
///
/// let clock = ManualCacheClock::new();
/// let handle = clock.clone();
/// handle.advance(Duration::from_millis(1500));
/// assert_eq!(clock.now(), Duration::from_millis(1500));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualCacheClock {
    /// Nanoseconds since the epoch: 2^64 ns is about 584 years, more than any test needs.
    nanos: Arc<AtomicU64>,
}

impl ManualCacheClock {
    /// A clock reading zero.
    pub fn new() -> Self {
        ManualCacheClock::default()
    }

    /// Move the time forward, saturating at about 584 years.
    pub fn advance(&self, by: Duration) {
        let by = saturating_nanos(by);
        // fetch_update cannot fail when the closure always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(by))
            });
    }

    /// Set the time. Setting it backwards breaks the [`CacheClock`] contract; it is allowed so
    /// tests can check that the cache does not misbehave when a clock misbehaves.
    pub fn set(&self, since_epoch: Duration) {
        self.nanos
            .store(saturating_nanos(since_epoch), Ordering::SeqCst);
    }
}

impl CacheClock for ManualCacheClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_saturates_and_clones_share_time() {
        let a = ManualCacheClock::new();
        let b = a.clone();
        a.advance(Duration::from_nanos(5));
        assert_eq!(b.now(), Duration::from_nanos(5));
        b.advance(Duration::MAX);
        assert_eq!(a.now(), Duration::from_nanos(u64::MAX));
        a.set(Duration::from_secs(1));
        assert_eq!(b.now(), Duration::from_secs(1));
    }

    #[test]
    fn unix_clock_reads_the_wall_clock_and_never_decreases() {
        let c = UnixCacheClock::new();
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let mut last = c.now();
        assert!(last.abs_diff(wall) < Duration::from_secs(5));
        c.last.store(u64::MAX - 1, Ordering::Relaxed); // as if the wall clock stepped back
        assert_eq!(c.now(), Duration::from_nanos(u64::MAX - 1));
        for _ in 0..100 {
            let t = c.now();
            assert!(t >= last);
            last = t;
        }
    }

    #[test]
    fn system_clock_is_monotonic() {
        let c = SystemCacheClock::new();
        let mut last = c.now();
        for _ in 0..1000 {
            let t = c.now();
            assert!(t >= last);
            last = t;
        }
    }
}
