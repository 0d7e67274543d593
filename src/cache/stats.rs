//! The cache's counters: see [`CacheStats`].

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a cache's counters (see [`Cache::stats`](super::Cache::stats)).
///
/// Every lookup ([`get`](super::Namespace::get),
/// [`get_or_create`](super::Namespace::get_or_create)) on an enabled cache counts exactly one of
/// `hits`, `stale_serves` or `misses`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups answered with a fresh value.
    pub hits: u64,
    /// Lookups that found no usable value (absent, expired, undecodable, or stale but this caller
    /// refreshed it).
    pub misses: u64,
    /// Lookups answered with an expired value within its grace period while another caller
    /// refreshed it.
    pub stale_serves: u64,
    /// Creator runs (including failed ones and runs while disabled).
    pub creations: u64,
    /// Creator runs that returned an error.
    pub create_errors: u64,
    /// Waits on another caller's creation instead of creating.
    pub coalesced: u64,
    /// Entries the store evicted to stay within its capacity.
    pub evictions: u64,
    /// Calls made while the cache was disabled.
    pub bypasses: u64,
    /// Entries that did not decode or open, each treated as a miss.
    pub decode_failures: u64,
    /// Entries a shared store held that were longer than any this cache writes (the codec's
    /// limit plus the seal's overhead), each refused before it was copied or opened and treated
    /// as a miss (not also counted in `decode_failures`).
    pub oversized: u64,
    /// Store operations that failed or timed out (a shared store only), each degraded to a miss
    /// or to calling the creator.
    pub store_errors: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) stale_serves: AtomicU64,
    pub(crate) creations: AtomicU64,
    pub(crate) create_errors: AtomicU64,
    pub(crate) coalesced: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) bypasses: AtomicU64,
    pub(crate) decode_failures: AtomicU64,
    pub(crate) oversized: AtomicU64,
    pub(crate) store_errors: AtomicU64,
}

/// Counters are statistics, not synchronization: relaxed increments are enough.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            stale_serves: get(&self.stale_serves),
            creations: get(&self.creations),
            create_errors: get(&self.create_errors),
            coalesced: get(&self.coalesced),
            evictions: get(&self.evictions),
            bypasses: get(&self.bypasses),
            decode_failures: get(&self.decode_failures),
            oversized: get(&self.oversized),
            store_errors: get(&self.store_errors),
        }
    }
}

/// Whether a call has counted its hit, miss or stale serve yet: retries after an abandoned
/// creation must not count twice.
#[derive(Default)]
pub(crate) struct Tally {
    counted: bool,
}

impl Tally {
    pub(crate) fn count(&mut self, counter: &AtomicU64) {
        if !self.counted {
            self.counted = true;
            bump(counter);
        }
    }
}
