//! Failing fast while Redis is down: see [`Breaker`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cache::entry;
use crate::error::Error;

/// Fails calls at once for a while after a failure, so that an outage costs each request at most
/// one timeout, and logs each change of state once.
pub(super) struct Breaker {
    epoch: Instant,
    /// Nanoseconds since `epoch` until which calls fail at once.
    open_until: AtomicU64,
    /// Whether the last call failed (for logging changes only).
    down: AtomicBool,
    retry_after: Duration,
}

impl Breaker {
    pub(super) fn new(retry_after: Duration) -> Self {
        Breaker {
            epoch: Instant::now(),
            open_until: AtomicU64::new(0),
            down: AtomicBool::new(false),
            retry_after,
        }
    }

    fn now(&self) -> u64 {
        entry::nanos(self.epoch.elapsed())
    }

    pub(super) fn is_open(&self) -> bool {
        self.now() < self.open_until.load(Ordering::Relaxed)
    }

    pub(super) fn trip(&self, addr: &str, operation: &'static str, error: &Error) {
        let until = self.now().saturating_add(entry::nanos(self.retry_after));
        self.open_until.store(until, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                redis = addr,
                operation,
                error = %error,
                retry_after = ?self.retry_after,
                "Redis is unreachable or slow: the cache degrades to calling creators, and \
                 revocation checks follow their failure policy"
            );
        }
    }

    pub(super) fn close(&self, addr: &str) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(redis = addr, "Redis is reachable again");
        }
    }
}
