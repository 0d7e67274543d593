//! A bounded cache of namespaced, expiring values, stored as the [`Codec`]'s bytes, with
//! single-flight creation. Feature `cache`.
//!
//! Modelled on what Beaker's cache gives its users, without its bugs:
//!
//! - **Namespaces and structured keys.** Values live in named [`Namespace`]s, each a typed handle
//!   `Namespace<K, V>`. Keys are any `Hash + Eq + Serialize` value compared as themselves, never a
//!   joined string (Beaker's `f('a b')` and `f('a', 'b')` shared an entry). [`Namespace::clear`]
//!   bumps a generation counter: O(1), and no other namespace or cache is touched.
//! - **Values through the codec.** Any `Serialize + DeserializeOwned` value is stored as its
//!   encoded JSON, so entries are isolated copies, their size is known exactly, and an entry that
//!   does not decode (or, when [sealed](CacheBuilder::seal_with), does not open) is a miss, never a
//!   panic; one read back from a shared store longer than any the cache writes is refused unread. The codec's size and depth limits are checked when a value is encoded; a hit parses
//!   the bytes with the same parser without repeating the pre-parse scan (they never left the
//!   process), while a sealed entry, once opened, goes through the whole [`Codec::decode`].
//! - **Bounded by bytes.** The store is a [`moka`] cache weighed by each entry's stored bytes plus
//!   [`Cache::ENTRY_OVERHEAD`]: a flood of distinct keys evicts, it never grows past the capacity.
//!   Lifetimes are per entry ([`Namespace::insert_with_ttl`]), per namespace
//!   ([`NamespaceConfig`]) or per cache.
//! - **Single-flight creation.** [`Namespace::get_or_create`] (and
//!   [`get_or_create_async`](Namespace::get_or_create_async)): on a miss exactly one caller runs the
//!   creator and every concurrent caller receives its value, or the same error as an `Arc<E>`
//!   (Beaker re-ran a failing creator once per waiter). Within the grace period after expiry, one
//!   caller refreshes while the others get the stale value at once. A creator that panics or whose
//!   future is dropped hands the key to the next caller; it never wedges it.
//! - **A runtime toggle and counters.** [`Cache::set_enabled`] is read on every call (Beaker read
//!   it once); [`Cache::stats`] counts hits, misses, creations, evictions and stale serves.
//! - **Memoization** ([`Namespace::memoize`]) keyed by the arguments you choose, and **regions**
//!   ([`RegionConfig`], [`CacheRegions`]) for named configurations read from a file.
//!
//! Time is read from a [`CacheClock`]; tests pass a [`ManualCacheClock`] and never sleep.
//!
//! # Stores
//!
//! A [`Cache`] keeps its entries in a [`Store`]: the bounded in-memory [`MemoryStore`] (the
//! default), or with feature `redis` a `RedisStore` shared by every process that points at the
//! same server ([`CacheBuilder::store`]). The semantics above hold through both, by the same
//! code: namespaces are key prefixes with an O(1) generation counter in the store, lifetimes are
//! logical and kept inside each entry (Redis's own expiry is only a backstop at TTL plus grace),
//! single-flight spans processes through a short lock in the store, and entries are the same
//! codec bytes, sealed by default in a shared store (forged or altered entries are misses, and
//! values are unreadable there). The blocking API is offered over the in-memory store only, and
//! runs the async code path there (every in-memory operation is immediate); the `*_async` methods
//! work over every store (see [`Store`] for why). A shared store that fails or
//! is slow never fails a lookup: the call degrades to a miss or to running the creator, within
//! the store's timeout.
//!
//! ```
//! use sealed_session::cache::{Cache, CreateError};
//! use serde::{Deserialize, Serialize};
//! use std::time::Duration;
//!
//! #[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
//! struct User { name: String }
//!
//! let cache = Cache::builder()
//!     .capacity_bytes(8 << 20)
//!     .ttl(Duration::from_secs(60))
//!     .grace(Duration::from_secs(10))
//!     .build()?;
//! let users = cache.namespace::<u64, User>("users");
//!
//! // The creator runs on a miss, once however many callers ask at the same time.
//! let ann = users.get_or_create(&7, || Ok::<_, std::io::Error>(User { name: "ann".into() }))?;
//! assert_eq!(users.get(&7), Some(ann));
//!
//! // Its error reaches the caller (and every concurrent waiter) as an `Arc`.
//! let failed = users.get_or_create(&8, || Err(std::io::Error::other("db down")));
//! assert!(matches!(failed, Err(CreateError::Create(e)) if e.to_string() == "db down"));
//!
//! users.clear(); // O(1): a new generation
//! assert_eq!(users.get(&7), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Choice of store
//!
//! [`moka`]'s `sync::Cache`, rather than `quick_cache`. Both are maintained, concurrent and
//! weighed; moka is chosen because its capacity is one weight budget for the whole cache
//! (`quick_cache` splits it into equal shards, each a hard cap, so an entry heavier than
//! capacity / shards is refused even from an empty cache), its W-TinyLFU admission refuses a
//! flood of one-off keys before it displaces the hot set, and it makes the bound observable
//! (`weighted_size` after `run_pending_tasks`, an eviction listener with the cause, used for the
//! eviction counter). Its price is memory and a read buffer: about 259 bytes of bookkeeping per
//! entry (measured; hence [`Cache::ENTRY_OVERHEAD`]) and a little work on every hit (measured by
//! `benches/micro/benches/cache.rs`: a hit stays within 1.2 times a raw moka lookup plus the JSON decode).
//!
//! Its own single-flight (`get_with`, `try_get_with`) is not used: it cannot serve a stale value
//! while one caller refreshes, it cannot see our logical expiry, and moka's sync and async caches
//! are separate stores, while here sync and async callers share one store and coalesce with each
//! other. Nor is its expiry: expiry is decided on every read from the [`CacheClock`], so tests
//! drive it, and dead entries leave by eviction.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::Codec;
use crate::error::Error;

mod builder;
mod clock;
mod create;
mod entry;
mod flight;
mod key;
mod memoize;
mod memory;
mod namespace;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_revocations;
mod region;
mod sealing;
mod stats;
mod store;
mod values;

pub use builder::CacheBuilder;
pub use clock::{CacheClock, ManualCacheClock, SystemCacheClock, UnixCacheClock};
pub use create::CreateError;
pub use memoize::Memoized;
pub use memory::MemoryStore;
pub use namespace::Namespace;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisStore, RedisStoreBuilder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_revocations::RedisRevocations;
pub use region::{
    CacheRegions, CacheRegionsBuilder, NamespaceConfig, NamespaceConfigBuilder, RegionConfig,
    RegionConfigBuilder,
};
pub use stats::CacheStats;
pub use store::Store;

use flight::Flight;
use key::{PassThrough, StoreKey};
use sealing::SealingKeys;
use stats::Counters;

/// What a cache key must be: structured, comparable, hashable, and serializable (for the entry's
/// weight, for binding sealed entries to their key, and for a shared store later).
///
/// Implemented for every type with these bounds: integers, strings, tuples, and your own
/// `#[derive(Hash, Eq, PartialEq, Clone, Serialize)]` structs.
pub trait CacheKey: Hash + Eq + Clone + Serialize + Send + Sync + 'static {}

impl<T: Hash + Eq + Clone + Serialize + Send + Sync + 'static> CacheKey for T {}

/// Lock a mutex whose data stays consistent even if a holder panicked: nothing in this module
/// panics while holding one, and the guarded maps are valid after any completed operation.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Creations in progress, by store key.
type FlightMap = HashMap<StoreKey, Arc<Flight>, PassThrough>;

pub(crate) struct NamespaceState {
    pub(crate) id: u64,
    pub(crate) name: Arc<str>,
    pub(crate) generation: AtomicU64,
    pub(crate) ttl: Duration,
    pub(crate) grace: Duration,
}

pub(crate) struct Inner<S> {
    pub(crate) store: S,
    /// The key of the keys' fingerprints (see the `key` module), random per cache.
    pub(crate) hasher: RandomState,
    /// Creations in progress in this process, by store key.
    pub(crate) flights: Mutex<FlightMap>,
    pub(crate) namespaces: Mutex<HashMap<Arc<str>, Arc<NamespaceState>>>,
    pub(crate) declared: HashMap<String, NamespaceConfig>,
    pub(crate) enabled: AtomicBool,
    pub(crate) counters: Arc<Counters>,
    /// Every time the cache reads: expiry, and which key seals.
    pub(crate) clock: Arc<dyn CacheClock>,
    pub(crate) codec: Codec,
    /// The cache subkeys of the ring given to `seal_with`.
    pub(crate) keys: Option<SealingKeys>,
    pub(crate) ttl: Duration,
    pub(crate) grace: Duration,
    pub(crate) name: Option<Arc<str>>,
}

impl<S> Inner<S> {
    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }
}

/// A bounded, namespaced cache. Cheap to clone: clones share the store.
///
/// Built with [`Cache::builder`]; values are read and written through typed
/// [`Namespace`] handles from [`Cache::namespace`]. `S` is the [`Store`]: the bounded in-memory
/// [`MemoryStore`] by default, or a shared store given to [`CacheBuilder::store`].
pub struct Cache<S = MemoryStore> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Cache<S> {
    fn clone(&self) -> Self {
        Cache {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl Cache {
    /// Default capacity: 32 MiB of weighted bytes.
    pub const DEFAULT_CAPACITY_BYTES: u64 = 32 << 20;
    /// Default fresh lifetime: five minutes.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
    /// The longest TTL or grace period a builder accepts: 100 years (365-day years). Lifetimes
    /// are kept in nanoseconds and a shared store's expiry in milliseconds from now; a century
    /// keeps both far from overflowing, and longer is "forever" in practice.
    pub const MAX_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    /// Bytes added to every entry's weight for what the store keeps beside the encoded value and
    /// key: moka's node, hash-table slot, deque links and frequency sketch, our key box and the
    /// entry header. Measured with a counting allocator at about 310 bytes of allocations per entry
    /// for a `u64` key (moka alone: 259), before the allocator's own per-block bookkeeping;
    /// rounded up to cover it. With it the capacity bounds memory, not just payload: a flood of
    /// one-byte values cannot hold more than `capacity / 384` entries.
    pub const ENTRY_OVERHEAD: u64 = 384;

    /// Start building a cache.
    pub fn builder() -> CacheBuilder {
        CacheBuilder::default()
    }

    /// Build every region of a configuration (see [`CacheRegions`]); each region is its own cache
    /// on the system clock, and no region may be sealed (use [`CacheRegions::builder`] to give a
    /// clock or a key ring).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`](crate::ErrorKind::InvalidConfig) naming the first invalid region.
    pub fn from_regions<S: Into<String>>(
        configs: impl IntoIterator<Item = (S, RegionConfig)>,
    ) -> Result<CacheRegions, Error> {
        CacheRegions::builder().regions(configs).build()
    }

    /// The capacity in weighted bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.inner.store.capacity()
    }

    /// The weighted size of the entries held, as of the store's last housekeeping.
    pub fn weighted_size(&self) -> u64 {
        self.inner.store.weighted_size()
    }

    /// The number of entries held, as of the store's last housekeeping (entries of cleared
    /// generations count until they are evicted or expire).
    pub fn entry_count(&self) -> u64 {
        self.inner.store.entry_count()
    }

    /// Run the store's pending housekeeping now (eviction, expiry, counters). The store does this
    /// by itself as it is used; tests call it to observe an exact state.
    pub fn run_pending_tasks(&self) {
        self.inner.store.run_pending_tasks();
    }

    /// Clear every namespace registered so far (a generation bump each; no entry is touched).
    pub fn clear_all(&self) {
        for state in lock(&self.inner.namespaces).values() {
            state.generation.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl<S: Store> Cache<S> {
    /// A typed handle on the namespace `name`, registering it on first use with its configured
    /// lifetimes (see [`CacheBuilder::namespace`]) or the cache's.
    ///
    /// Handles with the same name share entries and generation. Take a handle once and keep it:
    /// this call takes a lock. Two handles on one namespace should use the same `K` and `V`: an
    /// entry stored as one `V` that does not decode as another is a miss. Namespaces are never
    /// unregistered (a registered name costs about a hundred bytes), so name them from a fixed
    /// set, not from request data; the values inside are what the byte bound is for.
    pub fn namespace<K: CacheKey, V: Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Namespace<K, V, S> {
        let inner = &self.inner;
        let mut namespaces = lock(&inner.namespaces);
        let next_id = namespaces.len() as u64;
        let state = namespaces
            .entry(Arc::from(name))
            .or_insert_with(|| {
                let declared = inner.declared.get(name);
                Arc::new(NamespaceState {
                    id: next_id,
                    name: Arc::from(name),
                    generation: AtomicU64::new(0),
                    ttl: declared.and_then(NamespaceConfig::ttl).unwrap_or(inner.ttl),
                    grace: declared
                        .and_then(NamespaceConfig::grace)
                        .unwrap_or(inner.grace),
                })
            })
            .clone();
        Namespace::new(Arc::clone(inner), state)
    }

    /// Turn caching on or off at once, for every handle and every call in progress after this
    /// one. While off, reads miss, and [`get_or_create`](Namespace::get_or_create) runs the creator
    /// without coalescing; it and the writes remove the key's entry instead of storing one (so
    /// turning the cache back on never serves a value older than one created or written while
    /// off).
    ///
    /// ```
    /// use sealed_session::cache::Cache;
    /// use std::convert::Infallible;
    ///
    /// let cache = Cache::builder().build()?;
    /// let ns = cache.namespace::<u8, u8>("n");
    /// ns.insert(&1, &1)?;
    /// cache.clone().set_enabled(false); // any clone, any handle, at once
    /// assert_eq!(ns.get(&1), None);
    /// assert_eq!(ns.get_or_create(&1, || Ok::<_, Infallible>(2))?, 2); // created, not stored
    /// cache.set_enabled(true);
    /// assert_eq!(ns.get(&1), None); // the value from before is gone, not resurrected
    /// let stats = cache.stats();
    /// assert_eq!((stats.bypasses, stats.creations, stats.misses), (2, 1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_enabled(&self, enabled: bool) {
        self.inner.enabled.store(enabled, Ordering::Relaxed);
    }

    /// Whether caching is on.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_enabled()
    }

    /// Whether entries are sealed.
    pub fn is_sealed(&self) -> bool {
        self.inner.keys.is_some()
    }

    /// The counters so far. Evictions are counted when the store does its housekeeping; call
    /// [`run_pending_tasks`](Self::run_pending_tasks) first for an exact count.
    pub fn stats(&self) -> CacheStats {
        self.inner.counters.snapshot()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.inner.store
    }
}

impl<S: Store> fmt::Debug for Cache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("Cache")
            .field("name", &i.name)
            .field("enabled", &i.is_enabled())
            .field("sealed", &i.keys.is_some())
            .field("store", &i.store)
            .field("ttl", &i.ttl)
            .field("grace", &i.grace)
            .field("namespaces", &lock(&i.namespaces).len())
            .field("clock", &i.clock)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn builder_validates() {
        let kind = |b: CacheBuilder| b.build().map(|_| ()).unwrap_err().kind();
        assert_eq!(
            kind(Cache::builder().capacity_bytes(0)),
            ErrorKind::InvalidConfig
        );
        assert_eq!(
            kind(Cache::builder().ttl(Duration::ZERO)),
            ErrorKind::InvalidConfig
        );
        let zero_ns = NamespaceConfig::builder().ttl(Duration::ZERO).build();
        assert!(zero_ns.is_err());
        let too_long = Cache::MAX_LIFETIME + Duration::from_nanos(1);
        assert_eq!(
            kind(Cache::builder().ttl(too_long)),
            ErrorKind::InvalidConfig
        );
        assert_eq!(
            kind(Cache::builder().grace(Duration::MAX)),
            ErrorKind::InvalidConfig
        );
        assert!(NamespaceConfig::builder().grace(too_long).build().is_err());
        assert!(Cache::builder()
            .ttl(Cache::MAX_LIFETIME)
            .grace(Cache::MAX_LIFETIME)
            .build()
            .is_ok());
    }

    #[test]
    fn weight_counts_value_key_and_overhead() {
        let cache = Cache::builder()
            .clock(ManualCacheClock::new())
            .build()
            .unwrap();
        let ns = cache.namespace::<String, String>("w");
        let key = "k".to_string();
        let stored = ns
            .encode(0, &key, None, &"abc".to_string(), Duration::from_secs(1))
            .unwrap();
        // "abc" is 5 bytes of JSON, "k" is 3.
        assert_eq!(
            u64::from(entry::weight(&stored)),
            5 + 3 + Cache::ENTRY_OVERHEAD
        );
    }

    #[test]
    fn handles_share_state_by_name() {
        let cache = Cache::builder().build().unwrap();
        let a = cache.namespace::<u8, u8>("a");
        let a2 = cache.namespace::<u8, u8>("a");
        let b = cache.namespace::<u8, u8>("b");
        a.insert(&1, &1).unwrap();
        assert_eq!(a2.get(&1), Some(1));
        assert_eq!(b.get(&1), None);
        a2.clear();
        assert_eq!(a.generation(), 1);
        assert_eq!(b.generation(), 0);
        cache.clear_all();
        assert_eq!((a.generation(), b.generation()), (2, 1));
    }

    #[test]
    fn another_value_type_is_a_miss_not_a_panic() {
        let cache = Cache::builder().build().unwrap();
        cache
            .namespace::<u8, String>("n")
            .insert(&1, &"text".into())
            .unwrap();
        assert_eq!(cache.namespace::<u8, u64>("n").get(&1), None);
        assert_eq!(cache.stats().decode_failures, 1);
    }
}
