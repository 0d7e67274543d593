//! The bounded in-process store: see [`MemoryStore`].

use std::fmt;
use std::future::{ready, Future};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use moka::notification::RemovalCause;

use super::clock::{CacheClock, SystemCacheClock};
use super::entry::{self, Stored};
use super::key::{PassThrough, StoreKey};
use super::stats::{bump, Counters};
use super::store::{Backend, Found, NamespaceRef, Store, Target, Write, Written};
use super::CacheKey;
use crate::error::Error;

/// The bounded in-process store: a [`moka`] cache weighed by bytes (see the
/// [module docs](super#choice-of-store)). The default store of [`Cache`](super::Cache); it is
/// built by [`CacheBuilder::build`](super::CacheBuilder::build) from the builder's capacity.
pub struct MemoryStore {
    moka: moka::sync::Cache<StoreKey, Stored, PassThrough>,
    capacity: u64,
}

impl MemoryStore {
    /// A store of `capacity` weighted bytes that counts its evictions in `counters`.
    pub(crate) fn new(capacity: u64, counters: Arc<Counters>) -> Self {
        // No store-side expiry: it would run on the store's own clock, and costs about a tenth
        // of a hit (its timer wheel is touched on every read). Expiry is decided from the clock
        // on every read instead; dead entries are never served and leave by eviction, which the
        // byte bound forces anyway.
        let moka = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .weigher(|_: &StoreKey, stored: &Stored| entry::weight(stored))
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    bump(&counters.evictions);
                }
            })
            .build_with_hasher(PassThrough);
        MemoryStore { moka, capacity }
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    pub(crate) fn weighted_size(&self) -> u64 {
        self.moka.weighted_size()
    }

    pub(crate) fn entry_count(&self) -> u64 {
        self.moka.entry_count()
    }

    pub(crate) fn run_pending_tasks(&self) {
        self.moka.run_pending_tasks();
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("capacity_bytes", &self.capacity)
            .field("weighted_size", &self.moka.weighted_size())
            .finish()
    }
}

impl Store for MemoryStore {}

/// Every operation is immediate: its future is ready when made, which is what lets the blocking
/// API run the async one without a runtime (see `namespace::block_on`).
impl Backend for MemoryStore {
    const SHARED: bool = false;
    type Lock = ();

    fn default_clock(&self) -> Arc<dyn CacheClock> {
        Arc::new(SystemCacheClock::new())
    }

    fn prefix(&self) -> &str {
        ""
    }

    fn read<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
    ) -> impl Future<Output = Result<Found, Error>> + Send {
        let generation = target.ns.generation.load(Ordering::Acquire);
        let entry = self.moka.get(target.probe(generation).erased());
        ready(Ok(Found {
            generation,
            entry,
            // Entries here never left the process: the codec bounded them when they were made.
            oversized: false,
        }))
    }

    fn write<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
        write: Write<'_, ()>,
    ) -> impl Future<Output = Result<Written, Error>> + Send {
        // Always stored: an insert's generation was read just before, in this process.
        self.moka.insert(
            target.probe(write.generation).store_key(),
            Arc::clone(write.entry),
        );
        ready(Ok(Written::Stored))
    }

    fn remove<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        let generation = target.ns.generation.load(Ordering::Acquire);
        self.moka.invalidate(target.probe(generation).erased());
        ready(Ok(()))
    }

    fn generation(&self, ns: &NamespaceRef<'_>) -> impl Future<Output = Result<u64, Error>> + Send {
        ready(Ok(ns.generation.load(Ordering::Acquire)))
    }

    fn clear(&self, ns: &NamespaceRef<'_>) -> impl Future<Output = Result<(), Error>> + Send {
        ns.generation.fetch_add(1, Ordering::AcqRel);
        ready(Ok(()))
    }

    fn try_lock<K: CacheKey>(
        &self,
        _target: &Target<'_, K>,
        _generation: u64,
    ) -> impl Future<Output = Result<Option<()>, Error>> + Send {
        // The flight map already admits one creator per key in this process, the only one.
        ready(Ok(Some(())))
    }

    fn unlock(&self, _lock: ()) -> impl Future<Output = ()> + Send {
        ready(())
    }

    fn lock_wait(&self) -> Duration {
        Duration::ZERO
    }

    fn pause(&self, _attempt: u32) -> impl Future<Output = ()> + Send {
        ready(())
    }
}
