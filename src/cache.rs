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
//!   panic. The codec's size and depth limits are checked when a value is encoded; a hit parses
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
//! values are unreadable there). The blocking API is offered over the in-memory store only; the
//! `*_async` methods work over every store (see [`Store`] for why). A shared store that fails or
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
//! `benches/cache.rs`: a hit stays within 1.2 times a raw moka lookup plus the JSON decode).
//!
//! Its own single-flight (`get_with`, `try_get_with`) is not used: it cannot serve a stale value
//! while one caller refreshes, it cannot see our logical expiry, and moka's sync and async caches
//! are separate stores, while here sync and async callers share one store and coalesce with each
//! other. Nor is its expiry: expiry is decided on every read from the [`CacheClock`], so tests
//! drive it, and dead entries leave by eviction.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use moka::notification::RemovalCause;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codec::Codec;
use crate::error::{Error, ErrorKind};
use crate::keys::KeyRing;

mod clock;
mod entry;
mod flight;
mod key;
mod memoize;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_revocations;
mod region;
mod store;

pub use clock::{CacheClock, ManualCacheClock, SystemCacheClock, UnixCacheClock};
pub use memoize::Memoized;
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
pub use store::{MemoryStore, Store, StoreError, StoreErrorKind};

use entry::{Binding, Meta, SharedBinding, Stored};
use flight::{Flight, Outcome};
use key::{PassThrough, ProbeKey, StoreKey};
use store::{Backend, Found, NamespaceRef, Target, Write, Written};

/// What a cache key must be: structured, comparable, hashable, and serializable (for the entry's
/// weight, for binding sealed entries to their key, and for a shared store later).
///
/// Implemented for every type with these bounds: integers, strings, tuples, and your own
/// `#[derive(Hash, Eq, PartialEq, Clone, Serialize)]` structs.
pub trait CacheKey: Hash + Eq + Clone + Serialize + Send + Sync + 'static {}

impl<T: Hash + Eq + Clone + Serialize + Send + Sync + 'static> CacheKey for T {}

/// Why [`Namespace::get_or_create`] did not return a value.
///
/// The creator's error is shared as an `Arc<E>` rather than requiring `E: Clone`: the errors a
/// creator meets (I/O, database, HTTP client errors) are rarely `Clone`, and every waiter gets the
/// very same error, not a copy of it.
#[non_exhaustive]
pub enum CreateError<E> {
    /// The creator returned this error. Every caller that waited on the same creation receives
    /// the same `Arc`.
    Create(Arc<E>),
    /// The created value (or the key) could not be encoded: it is over the codec's size or depth
    /// limit, or not representable in JSON. Every waiter receives it.
    Codec(Error),
    /// The creator asked for the very key it is creating, on the same thread: waiting would never
    /// end, so the inner call fails instead.
    Reentrant,
}

impl<E> CreateError<E> {
    /// The creator's error, if that is what happened.
    pub fn create_error(&self) -> Option<&Arc<E>> {
        match self {
            CreateError::Create(e) => Some(e),
            _ => None,
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for CreateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::Create(e) => f.debug_tuple("Create").field(e).finish(),
            CreateError::Codec(e) => f.debug_tuple("Codec").field(e).finish(),
            CreateError::Reentrant => f.write_str("Reentrant"),
        }
    }
}

impl<E: fmt::Display> fmt::Display for CreateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CreateError::Create(e) => write!(f, "creating the cached value failed: {e}"),
            CreateError::Codec(e) => write!(f, "the created value cannot be cached: {e}"),
            CreateError::Reentrant => {
                f.write_str("the creator asked the cache for the key it is creating")
            }
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for CreateError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CreateError::Create(e) => Some(&**e),
            CreateError::Codec(e) => Some(e),
            CreateError::Reentrant => None,
        }
    }
}

/// A snapshot of a cache's counters (see [`Cache::stats`]).
///
/// Every lookup ([`get`](Namespace::get), [`get_or_create`](Namespace::get_or_create)) on an
/// enabled cache counts exactly one of `hits`, `stale_serves` or `misses`.
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
    /// Store operations that failed or timed out (a shared store only), each degraded to a miss
    /// or to calling the creator.
    pub store_errors: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    stale_serves: AtomicU64,
    creations: AtomicU64,
    create_errors: AtomicU64,
    coalesced: AtomicU64,
    evictions: AtomicU64,
    bypasses: AtomicU64,
    decode_failures: AtomicU64,
    store_errors: AtomicU64,
}

/// Counters are statistics, not synchronization: relaxed increments are enough.
fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> CacheStats {
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
            store_errors: get(&self.store_errors),
        }
    }
}

/// Lock a mutex whose data stays consistent even if a holder panicked: nothing in this module
/// panics while holding one, and the guarded maps are valid after any completed operation.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Creations in progress, by store key.
type FlightMap = HashMap<StoreKey, Arc<Flight>, PassThrough>;

struct NamespaceState {
    id: u64,
    name: Arc<str>,
    generation: AtomicU64,
    ttl: Duration,
    grace: Duration,
}

struct Inner<S> {
    store: S,
    /// The key of the keys' fingerprints (see the `key` module), random per cache.
    hasher: RandomState,
    /// Creations in progress in this process, by store key.
    flights: Mutex<FlightMap>,
    namespaces: Mutex<HashMap<Arc<str>, Arc<NamespaceState>>>,
    declared: HashMap<String, NamespaceConfig>,
    enabled: AtomicBool,
    counters: Arc<Counters>,
    clock: Arc<dyn CacheClock>,
    codec: Codec,
    ring: Option<KeyRing>,
    ttl: Duration,
    grace: Duration,
    name: Option<Arc<str>>,
}

impl<S> Inner<S> {
    fn is_enabled(&self) -> bool {
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
    /// [`ErrorKind::InvalidConfig`] naming the first invalid region.
    pub fn from_regions<S: Into<String>>(
        configs: impl IntoIterator<Item = (S, RegionConfig)>,
    ) -> Result<CacheRegions, Error> {
        CacheRegions::builder().regions(configs).build()
    }

    /// The capacity in weighted bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.inner.store.capacity
    }

    /// The weighted size of the entries held, as of the store's last housekeeping.
    pub fn weighted_size(&self) -> u64 {
        self.inner.store.moka.weighted_size()
    }

    /// The number of entries held, as of the store's last housekeeping (entries of cleared
    /// generations count until they are evicted or expire).
    pub fn entry_count(&self) -> u64 {
        self.inner.store.moka.entry_count()
    }

    /// Run the store's pending housekeeping now (eviction, expiry, counters). The store does this
    /// by itself as it is used; tests call it to observe an exact state.
    pub fn run_pending_tasks(&self) {
        self.inner.store.moka.run_pending_tasks();
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
        Namespace {
            cache: Arc::clone(inner),
            state,
            types: PhantomData,
        }
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
        self.inner.ring.is_some()
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
            .field("sealed", &i.ring.is_some())
            .field("store", &i.store)
            .field("ttl", &i.ttl)
            .field("grace", &i.grace)
            .field("namespaces", &lock(&i.namespaces).len())
            .field("clock", &i.clock)
            .finish()
    }
}

/// Builds a [`Cache`]; every setting has a default, documented on its method.
///
/// `S` is the store: [`MemoryStore`], built from [`capacity_bytes`](Self::capacity_bytes), unless
/// [`store`](Self::store) gives another.
pub struct CacheBuilder<S = MemoryStore> {
    store: Option<S>,
    capacity: u64,
    ttl: Duration,
    grace: Duration,
    enabled: bool,
    codec: Codec,
    clock: Option<Arc<dyn CacheClock>>,
    ring: Option<KeyRing>,
    namespaces: HashMap<String, NamespaceConfig>,
    name: Option<String>,
    allow_unsealed: bool,
}

impl Default for CacheBuilder {
    fn default() -> Self {
        CacheBuilder {
            store: None,
            capacity: Cache::DEFAULT_CAPACITY_BYTES,
            ttl: Cache::DEFAULT_TTL,
            grace: Duration::ZERO,
            enabled: true,
            codec: Codec::new(),
            clock: None,
            ring: None,
            namespaces: HashMap::new(),
            name: None,
            allow_unsealed: false,
        }
    }
}

impl CacheBuilder {
    /// The bound on the store, in weighted bytes: each entry weighs its stored bytes, its key's
    /// encoded bytes and [`Cache::ENTRY_OVERHEAD`]. Default [`Cache::DEFAULT_CAPACITY_BYTES`]
    /// (32 MiB). An entry heavier than the capacity is never kept.
    #[must_use]
    pub fn capacity_bytes(mut self, bytes: u64) -> Self {
        self.capacity = bytes;
        self
    }

    /// Keep the entries in `store` instead of the bounded in-memory store (default: in memory).
    /// Every other setting carries over. A shared store's entries are sealed unless
    /// [`allow_unsealed`](Self::allow_unsealed) says otherwise, so give
    /// [`seal_with`](Self::seal_with) a ring; its default clock is the wall clock
    /// ([`UnixCacheClock`]), which every process reads alike.
    #[must_use]
    pub fn store<T: Store>(self, store: T) -> CacheBuilder<T> {
        CacheBuilder {
            store: Some(store),
            capacity: self.capacity,
            ttl: self.ttl,
            grace: self.grace,
            enabled: self.enabled,
            codec: self.codec,
            clock: self.clock,
            ring: self.ring,
            namespaces: self.namespaces,
            name: self.name,
            allow_unsealed: self.allow_unsealed,
        }
    }

    /// Build the cache.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] if the capacity or a TTL is zero.
    pub fn build(self) -> Result<Cache, Error> {
        if self.capacity == 0 {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the cache capacity must be positive",
            ));
        }
        let counters = Arc::new(Counters::default());
        let listener = Arc::clone(&counters);
        // No store-side expiry: it would run on the store's own clock, and costs about a tenth
        // of a hit (its timer wheel is touched on every read). Expiry is decided from the clock
        // on every read instead; dead entries are never served and leave by eviction, which the
        // byte bound forces anyway.
        let moka = moka::sync::Cache::builder()
            .max_capacity(self.capacity)
            .weigher(|_: &StoreKey, stored: &Stored| entry::weight(stored))
            .eviction_listener(move |_, _, cause| {
                if cause == RemovalCause::Size {
                    bump(&listener.evictions);
                }
            })
            .build_with_hasher(PassThrough);
        let store = MemoryStore {
            moka,
            capacity: self.capacity,
        };
        self.assemble(store, counters)
    }
}

impl<S: Store> CacheBuilder<S> {
    /// The default fresh lifetime of a value (default [`Cache::DEFAULT_TTL`], five minutes).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The default grace period: how long after its TTL a value may still be served by
    /// [`get_or_create`](Namespace::get_or_create) while one caller refreshes it (default zero:
    /// no stale serving, every expired value is a miss).
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Whether the cache starts enabled (default `true`); see [`Cache::set_enabled`].
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// The codec values and keys are encoded with (default [`Codec::new`]: 16 KiB per value,
    /// depth 32). A value over its limits is refused with an error, not truncated.
    #[must_use]
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// The clock every expiry decision reads (default [`SystemCacheClock`]).
    #[must_use]
    pub fn clock(self, clock: impl CacheClock + 'static) -> Self {
        self.shared_clock(Arc::new(clock))
    }

    pub(crate) fn shared_clock(mut self, clock: Arc<dyn CacheClock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Seal every entry with AES-256-GCM-SIV under the ring's cache subkey (default: entries are
    /// the codec's plain bytes in memory; a shared store requires a ring, see
    /// [`allow_unsealed`](Self::allow_unsealed)). Entries are bound to their namespace,
    /// generation and key (and in a shared store to its prefix and the entry's lifetimes); one
    /// that does not open is a miss. Costs a key encoding, a copy and a decryption per hit.
    #[must_use]
    pub fn seal_with(mut self, ring: KeyRing) -> Self {
        self.ring = Some(ring);
        self
    }

    /// Let a shared store hold the codec's plain JSON (default `false`: building a cache over a
    /// shared store without [`seal_with`](Self::seal_with) is an error). A shared store is
    /// readable and writable by anything with network access to it: unsealed, its entries can be
    /// read there, and an entry written there is served as if this application had cached it.
    /// Only for values that are public and whose forgery is harmless. Ignored in memory.
    #[must_use]
    pub fn allow_unsealed(mut self, allow: bool) -> Self {
        self.allow_unsealed = allow;
        self
    }

    /// Lifetimes for the namespace `name`, overriding the cache's (default: none).
    #[must_use]
    pub fn namespace(mut self, name: impl Into<String>, config: NamespaceConfig) -> Self {
        self.namespaces.insert(name.into(), config);
        self
    }

    /// A name for logs and `Debug` (regions set it to the region's name; default none).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.capacity == 0 && !S::SHARED {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the cache capacity must be positive",
            ));
        }
        if self.ttl.is_zero() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the cache TTL must be positive",
            ));
        }
        for (name, config) in &self.namespaces {
            config.validate(name)?;
        }
        if S::SHARED && self.ring.is_none() && !self.allow_unsealed {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "a shared store's entries must be sealed: give the cache a key ring with \
                 seal_with (or, for public values only, allow_unsealed(true))",
            ));
        }
        Ok(())
    }

    /// Everything but the store, validated, around `store`.
    fn assemble(self, store: S, counters: Arc<Counters>) -> Result<Cache<S>, Error> {
        self.validate()?;
        if S::SHARED && self.ring.is_none() {
            tracing::warn!(
                cache = self.name.as_deref().unwrap_or(""),
                "a cache over a shared store keeps its entries unsealed (allow_unsealed): they \
                 are readable and forgeable by anything with access to the store"
            );
        }
        let clock = self.clock.unwrap_or_else(|| store.default_clock());
        Ok(Cache {
            inner: Arc::new(Inner {
                store,
                hasher: RandomState::new(),
                flights: Mutex::new(HashMap::default()),
                namespaces: Mutex::new(HashMap::new()),
                declared: self.namespaces,
                enabled: AtomicBool::new(self.enabled),
                counters,
                clock,
                codec: self.codec,
                ring: self.ring,
                ttl: self.ttl,
                grace: self.grace,
                name: self.name.map(Arc::from),
            }),
        })
    }
}

impl<S: Store> fmt::Debug for CacheBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("name", &self.name)
            .field("store", &self.store)
            .field("capacity_bytes", &self.capacity)
            .field("ttl", &self.ttl)
            .field("grace", &self.grace)
            .field("enabled", &self.enabled)
            .field("codec", &self.codec)
            .field("clock", &self.clock)
            .field("sealed", &self.ring.is_some())
            .field("allow_unsealed", &self.allow_unsealed)
            .field("namespaces", &self.namespaces)
            .finish()
    }
}

/// A typed handle on one namespace of a [`Cache`]: keys `K`, values `V`, in the store `S`. Cheap
/// to clone.
///
/// The blocking methods ([`get`](Self::get), [`insert`](Self::insert),
/// [`get_or_create`](Self::get_or_create), ...) exist over the in-memory store only; the `*_async`
/// methods work over every [`Store`] with the same semantics.
pub struct Namespace<K, V, S = MemoryStore> {
    cache: Arc<Inner<S>>,
    state: Arc<NamespaceState>,
    /// `fn() -> (K, V)`: the handle stores neither, so it is `Send` and `Sync` whatever they are.
    types: PhantomData<fn() -> (K, V)>,
}

impl<K, V, S> Clone for Namespace<K, V, S> {
    fn clone(&self) -> Self {
        Namespace {
            cache: Arc::clone(&self.cache),
            state: Arc::clone(&self.state),
            types: PhantomData,
        }
    }
}

impl<K, V, S> fmt::Debug for Namespace<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Namespace")
            .field("name", &self.state.name)
            // The in-memory generation; over a shared store, the last one seen there.
            .field("generation", &self.state.generation.load(Ordering::Acquire))
            .field("ttl", &self.state.ttl)
            .field("grace", &self.state.grace)
            .finish()
    }
}

impl<K, V> Namespace<K, V> {
    /// The current generation: starts at 0, bumped by every [`clear`](Self::clear).
    pub fn generation(&self) -> u64 {
        self.state.generation.load(Ordering::Acquire)
    }

    /// Drop every value of this namespace, in O(1): the generation moves on, so entries of
    /// earlier generations are never read again and leave the store by eviction or expiry. No
    /// other namespace and no other cache is affected. A creation in progress still answers its
    /// waiters, but its value is stored under the old generation, so it does not repopulate the
    /// cleared namespace.
    pub fn clear(&self) {
        self.state.generation.fetch_add(1, Ordering::AcqRel);
    }
}

impl<K, V, S> Namespace<K, V, S> {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The default fresh lifetime of values in this namespace.
    pub fn ttl(&self) -> Duration {
        self.state.ttl
    }

    /// The grace period of values in this namespace.
    pub fn grace(&self) -> Duration {
        self.state.grace
    }

    /// A cached function: `function(args)` runs on a miss, and its result is cached under
    /// `key_of(&args)`. Arguments that do not change the result (a connection, a logger) are
    /// simply left out of the key. The argument type is chosen per call, so the closures name it
    /// (which also lets `args` hold borrows shorter than the memoized function's life).
    ///
    /// ```
    /// use sealed_session::cache::Cache;
    ///
    /// struct Db { calls: std::cell::Cell<u32> }
    /// impl Db {
    ///     fn price(&self, sku: &str) -> Result<u64, std::io::Error> {
    ///         self.calls.set(self.calls.get() + 1);
    ///         Ok(sku.len() as u64 * 100)
    ///     }
    /// }
    ///
    /// let cache = Cache::builder().build()?;
    /// let price = cache.namespace::<String, u64>("prices").memoize(
    ///     |(_db, sku): &(&Db, &str)| sku.to_string(), // the key: the SKU, not the connection
    ///     |(db, sku): (&Db, &str)| db.price(sku),
    /// );
    /// let db = Db { calls: Default::default() };
    /// assert_eq!(price.call((&db, "abc"))?, 300);
    /// assert_eq!(price.call((&db, "abc"))?, 300);
    /// assert_eq!(db.calls.get(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn memoize<KF, F>(&self, key_of: KF, function: F) -> Memoized<K, V, KF, F, S> {
        Memoized::new(self.clone(), key_of, function)
    }
}

/// What the store holds for a key at a given time.
enum Lookup<V> {
    Hit(V),
    Stale(Stored),
    Miss,
}

/// Whether a call has counted its hit, miss or stale serve yet: retries after an abandoned
/// creation must not count twice.
#[derive(Default)]
struct Tally {
    counted: bool,
}

impl Tally {
    fn count(&mut self, counter: &AtomicU64) {
        if !self.counted {
            self.counted = true;
            bump(counter);
        }
    }
}

/// A waiter's next step.
enum Role<'a, K: CacheKey> {
    /// This caller registered the flight and must run the creator.
    Leader(FlightGuard<'a, K>),
    /// Another caller is creating.
    Waiter(Arc<Flight>),
}

/// The leader's hold on its flight. Dropped without [`finish`](Self::finish) (the creator
/// panicked, or the async call was dropped), it publishes [`Outcome::Abandoned`] so waiters retry.
struct FlightGuard<'a, K: CacheKey> {
    flights: &'a Mutex<FlightMap>,
    namespace: &'a str,
    probe: ProbeKey<'a, K>,
    flight: Arc<Flight>,
    finished: bool,
}

impl<K: CacheKey> FlightGuard<'_, K> {
    fn finish(mut self, outcome: Outcome) {
        self.publish(outcome);
        self.finished = true;
    }

    /// Publish first, unregister second: a caller arriving in between finds the finished flight
    /// and takes its outcome, rather than finding no flight and creating a second time.
    fn publish(&self, outcome: Outcome) {
        self.flight.complete(outcome);
        let mut flights = lock(self.flights);
        let ours = flights
            .get(self.probe.erased())
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight));
        if ours {
            flights.remove(self.probe.erased());
        }
    }
}

impl<K: CacheKey> Drop for FlightGuard<'_, K> {
    fn drop(&mut self) {
        if !self.finished {
            let why = if std::thread::panicking() {
                "panicked"
            } else {
                "was cancelled"
            };
            tracing::warn!(
                namespace = self.namespace,
                "a cache creator {why}; the next caller for its key will create the value"
            );
            self.publish(Outcome::Abandoned);
        }
    }
}

/// A generation no store ever reports: the in-process flights of a degraded call (the store failed)
/// are keyed by it, so that they coalesce with each other and with nothing else.
const DEGRADED_GENERATION: u64 = u64::MAX;

/// What a leader learned while another process held the creation lock.
enum Remote<V, L> {
    /// That process stored a fresh value.
    Value(V, Stored),
    /// Its lock went away without a value: the lock is ours now.
    Lock(L),
    /// The namespace moved to another generation meanwhile: look again from the start.
    Moved,
    /// The wait is over (the lock wait elapsed, or the store failed): create without the lock.
    GiveUp,
}

/// Helpers every store shares: keys, encoding, decoding, flights.
impl<K: CacheKey, V: Serialize + DeserializeOwned, S: Store> Namespace<K, V, S> {
    /// The cache's clock, in nanoseconds.
    fn now(&self) -> u64 {
        entry::nanos(self.cache.clock.now())
    }

    fn namespace_ref(&self) -> NamespaceRef<'_> {
        NamespaceRef {
            id: self.state.id,
            name: &self.state.name,
            generation: &self.state.generation,
            hasher: &self.cache.hasher,
        }
    }

    /// The codec's JSON of `key`, when something needs it: a shared store names entries by it,
    /// and sealed entries are bound to it. `None` for the in-memory, unsealed cache.
    fn key_json(&self, key: &K) -> Result<Option<Vec<u8>>, Error> {
        if S::SHARED || self.cache.ring.is_some() {
            self.cache.codec.encode(key).map(Some)
        } else {
            Ok(None)
        }
    }

    fn target<'a>(&'a self, key: &'a K, key_json: Option<&'a [u8]>) -> Target<'a, K> {
        Target {
            ns: self.namespace_ref(),
            key,
            key_json,
        }
    }

    /// What a sealed entry is bound to.
    fn binding<'a>(&'a self, generation: u64, key_json: &'a [u8], meta: &Meta) -> Binding<'a> {
        Binding {
            namespace: &self.state.name,
            generation,
            key: key_json,
            shared: S::SHARED.then(|| SharedBinding {
                prefix: self.cache.store.prefix(),
                times: entry::wire_times(meta.fresh_until, meta.stale_until),
            }),
        }
    }

    /// Decode a stored entry, header and all.
    fn decode_stored(
        &self,
        generation: u64,
        key: &K,
        key_json: Option<&[u8]>,
        stored: &[u8],
    ) -> Option<V> {
        match entry::split(stored) {
            Some((meta, payload)) => self.decode(generation, key, key_json, &meta, payload),
            None => {
                bump(&self.cache.counters.decode_failures);
                None
            }
        }
    }

    /// Decode (and open) an entry's payload; `None` for anything that does not, counted and
    /// logged without the bytes.
    fn decode(
        &self,
        generation: u64,
        key: &K,
        key_json: Option<&[u8]>,
        meta: &Meta,
        payload: &[u8],
    ) -> Option<V> {
        let inner = &*self.cache;
        let value = match &inner.ring {
            // Bytes that came from outside the process get every check of the codec.
            None if S::SHARED => inner.codec.decode(payload).ok(),
            // The codec checked these bytes (size, depth, valid JSON) when it encoded them, and
            // they never left this process or changed since; re-running its pre-parse scan on
            // every hit would cost about a third of the decode and could not refuse anything.
            // They are parsed by the same parser as `Codec::decode`, so the values accepted are
            // the same, and anything refused (another handle's value type) is still a miss.
            None => serde_json::from_slice(payload).ok(),
            Some(ring) => {
                let encoded;
                let key_json = match key_json {
                    Some(k) => Some(k),
                    None => {
                        encoded = inner.codec.encode(key).ok();
                        encoded.as_deref()
                    }
                };
                key_json.and_then(|k| {
                    entry::open(ring, &self.binding(generation, k, meta), payload)
                        .and_then(|plain| inner.codec.decode(&plain).ok())
                })
            }
        };
        if value.is_none() {
            bump(&inner.counters.decode_failures);
            tracing::debug!(
                namespace = &*self.state.name,
                "a cache entry did not decode; treated as a miss"
            );
        }
        value
    }

    /// Encode (and seal) a value for the store, with its lifetimes from now.
    fn encode(
        &self,
        generation: u64,
        key: &K,
        key_json: Option<&[u8]>,
        value: &V,
        ttl: Duration,
    ) -> Result<Stored, Error> {
        let inner = &*self.cache;
        let value = inner.codec.encode(value)?;
        let encoded;
        let key_json = match key_json {
            Some(k) => k,
            None => {
                encoded = inner.codec.encode(key)?;
                &encoded
            }
        };
        let (ttl, grace) = (entry::nanos(ttl), entry::nanos(self.state.grace));
        let fresh_until = self.now().saturating_add(ttl);
        let mut meta = Meta {
            weight: 0,
            fresh_until,
            stale_until: fresh_until.saturating_add(grace),
        };
        let bytes = match &inner.ring {
            None => value,
            Some(ring) => entry::seal(ring, &self.binding(generation, key_json, &meta), &value)?,
        };
        let weight = (bytes.len() as u64)
            .saturating_add(key_json.len() as u64)
            .saturating_add(Cache::ENTRY_OVERHEAD);
        meta.weight = u32::try_from(weight).unwrap_or(u32::MAX);
        Ok(entry::store(&meta, &bytes))
    }

    /// What a store's entry is worth at this moment, counting a hit or (unless it is stale,
    /// which the caller counts) a miss.
    fn classify(
        &self,
        target: &Target<'_, K>,
        generation: u64,
        entry: Option<Stored>,
        tally: &mut Tally,
    ) -> Lookup<V> {
        let inner = &*self.cache;
        let Some(stored) = entry else {
            tally.count(&inner.counters.misses);
            return Lookup::Miss;
        };
        if let Some((meta, payload)) = entry::split(&stored) {
            let now = self.now();
            if meta.is_fresh(now) {
                let value = self.decode(generation, target.key, target.key_json, &meta, payload);
                if let Some(value) = value {
                    tally.count(&inner.counters.hits);
                    return Lookup::Hit(value);
                }
            } else if meta.is_servable_stale(now) {
                return Lookup::Stale(stored);
            }
        }
        tally.count(&inner.counters.misses);
        Lookup::Miss
    }

    /// The fresh value in `stored`, if it is fresh and decodes.
    fn fresh_value(&self, target: &Target<'_, K>, generation: u64, stored: &Stored) -> Option<V> {
        let (meta, payload) = entry::split(stored)?;
        if !meta.is_fresh(self.now()) {
            return None;
        }
        self.decode(generation, target.key, target.key_json, &meta, payload)
    }

    /// Register a flight for `probe`, or join the one in progress.
    fn join_or_lead<'a>(&'a self, probe: ProbeKey<'a, K>, blocking: bool) -> Role<'a, K> {
        let inner = &*self.cache;
        let mut flights = lock(&inner.flights);
        if let Some(flight) = flights.get(probe.erased()) {
            return Role::Waiter(Arc::clone(flight));
        }
        let leader_thread = blocking.then(|| std::thread::current().id());
        let flight = Arc::new(Flight::new(leader_thread));
        flights.insert(probe.store_key(), Arc::clone(&flight));
        Role::Leader(FlightGuard {
            flights: &inner.flights,
            namespace: &self.state.name,
            probe,
            flight,
            finished: false,
        })
    }

    /// What a waiter returns for an outcome; `None` to retry (the leader gave up, or its error
    /// or value is of another handle's type).
    fn resolve<E: Send + Sync + 'static>(
        &self,
        probe: &ProbeKey<'_, K>,
        key_json: Option<&[u8]>,
        outcome: Outcome,
    ) -> Option<Result<V, CreateError<E>>> {
        match outcome {
            Outcome::Ready(stored) => self
                .decode_stored(probe.generation, probe.key, key_json, &stored)
                .map(Ok),
            Outcome::Failed(e) => e.downcast::<E>().ok().map(|e| Err(CreateError::Create(e))),
            Outcome::Refused(e) => Some(Err(CreateError::Codec(e))),
            Outcome::Abandoned => None,
        }
    }

    /// The creator's result while the cache is disabled: no store, no coalescing.
    fn bypass<E>(&self, result: Result<V, E>) -> Result<V, CreateError<E>> {
        result.map_err(|e| {
            bump(&self.cache.counters.create_errors);
            CreateError::Create(Arc::new(e))
        })
    }

    /// Count and log a failed store operation. Logged at debug: a store that stays down fails
    /// every call, and the store logs its own state changes once.
    fn store_failed(&self, operation: &'static str, e: &StoreError) {
        bump(&self.cache.counters.store_errors);
        tracing::debug!(
            namespace = &*self.state.name,
            operation,
            error = %e,
            "cache store operation failed; degraded"
        );
    }

    /// The store's lifetime for an entry fresh for `ttl`: the grace period too, so stale serving
    /// still finds it.
    fn store_lifetime(&self, ttl: Duration) -> Duration {
        ttl.saturating_add(self.state.grace)
    }
}

/// The blocking API, over the in-memory store.
impl<K: CacheKey, V: Serialize + DeserializeOwned> Namespace<K, V> {
    fn probe<'a>(&self, key: &'a K) -> ProbeKey<'a, K> {
        ProbeKey::new(&self.cache.hasher, self.state.id, self.generation(), key)
    }

    /// The fresh value for `key`, or `None`: absent, expired (a value within its grace period is
    /// only served by [`get_or_create`](Self::get_or_create), which also refreshes it), or
    /// undecodable. Never panics, whatever the store holds.
    ///
    /// ```
    /// # use sealed_session::cache::Cache;
    /// let cache = Cache::builder().build()?;
    /// let ns = cache.namespace::<(String, u32), Vec<u8>>("blobs");
    /// ns.insert(&("a".into(), 1), &vec![1, 2])?;
    /// assert_eq!(ns.get(&("a".into(), 1)), Some(vec![1, 2]));
    /// assert_eq!(ns.get(&("a".into(), 2)), None);
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn get(&self, key: &K) -> Option<V> {
        let inner = &*self.cache;
        if !inner.is_enabled() {
            bump(&inner.counters.bypasses);
            return None;
        }
        let mut tally = Tally::default();
        match self.lookup(&self.probe(key), &mut tally) {
            Lookup::Hit(value) => Some(value),
            Lookup::Stale(_) | Lookup::Miss => {
                tally.count(&inner.counters.misses);
                None
            }
        }
    }

    /// Look the key up, counting a hit or (unless it is stale, which the caller counts) a miss.
    fn lookup(&self, probe: &ProbeKey<'_, K>, tally: &mut Tally) -> Lookup<V> {
        let inner = &*self.cache;
        let Some(stored) = inner.store.moka.get(probe.erased()) else {
            tally.count(&inner.counters.misses);
            return Lookup::Miss;
        };
        if let Some((meta, payload)) = entry::split(&stored) {
            let now = self.now();
            if meta.is_fresh(now) {
                if let Some(value) = self.decode(probe.generation, probe.key, None, &meta, payload)
                {
                    tally.count(&inner.counters.hits);
                    return Lookup::Hit(value);
                }
            } else if meta.is_servable_stale(now) {
                return Lookup::Stale(stored);
            }
        }
        tally.count(&inner.counters.misses);
        Lookup::Miss
    }

    /// Store `value` under `key` with the namespace's TTL.
    ///
    /// # Errors
    /// [`ErrorKind::PayloadTooLarge`], [`ErrorKind::PayloadTooDeep`] or [`ErrorKind::Codec`] if
    /// the value or the key cannot be encoded; [`ErrorKind::Crypto`] or
    /// [`ErrorKind::InvalidKeyRing`] if sealing fails. Nothing is stored then.
    pub fn insert(&self, key: &K, value: &V) -> Result<(), Error> {
        self.insert_with_ttl(key, value, self.state.ttl)
    }

    /// Store `value` under `key`, fresh for `ttl` (then stale for the namespace's grace period).
    ///
    /// ```
    /// use sealed_session::cache::{Cache, ManualCacheClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualCacheClock::new();
    /// let cache = Cache::builder().clock(clock.clone()).build()?;
    /// let ns = cache.namespace::<u32, String>("short");
    /// ns.insert_with_ttl(&1, &"brief".to_string(), Duration::from_secs(2))?;
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(ns.get(&1), None);
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`insert`](Self::insert).
    pub fn insert_with_ttl(&self, key: &K, value: &V, ttl: Duration) -> Result<(), Error> {
        let inner = &*self.cache;
        let probe = self.probe(key);
        if !inner.is_enabled() {
            bump(&inner.counters.bypasses);
            inner.store.moka.invalidate(probe.erased());
            return Ok(());
        }
        let stored = self.encode(probe.generation, key, None, value, ttl)?;
        inner.store.moka.insert(probe.store_key(), stored);
        Ok(())
    }

    /// Remove the value for `key` (whether or not the cache is enabled).
    pub fn invalidate(&self, key: &K) {
        self.cache.store.moka.invalidate(self.probe(key).erased());
    }

    /// The leader's double check: another leader may have stored a fresh value between this
    /// caller's miss and its registering the flight.
    fn recheck<'a>(&self, guard: FlightGuard<'a, K>) -> Result<V, FlightGuard<'a, K>> {
        let inner = &*self.cache;
        if let Some(stored) = inner.store.moka.get(guard.probe.erased()) {
            if let Some((meta, payload)) = entry::split(&stored) {
                if meta.is_fresh(self.now()) {
                    let probe = &guard.probe;
                    if let Some(value) =
                        self.decode(probe.generation, probe.key, None, &meta, payload)
                    {
                        guard.finish(Outcome::Ready(stored));
                        return Ok(value);
                    }
                }
            }
        }
        Err(guard)
    }

    /// Store the creator's result and hand it to the waiters.
    fn publish<E: Send + Sync + 'static>(
        &self,
        guard: FlightGuard<'_, K>,
        result: Result<V, E>,
    ) -> Result<V, CreateError<E>> {
        let inner = &*self.cache;
        match result {
            Ok(value) => {
                let probe = &guard.probe;
                match self.encode(probe.generation, probe.key, None, &value, self.state.ttl) {
                    Ok(stored) => {
                        // Honour a toggle flipped while the creator ran: while off, the new value
                        // supersedes the stored one without replacing it, as in `start_bypass`.
                        if inner.is_enabled() {
                            inner
                                .store
                                .moka
                                .insert(probe.store_key(), Arc::clone(&stored));
                        } else {
                            inner.store.moka.invalidate(probe.erased());
                        }
                        guard.finish(Outcome::Ready(stored));
                        Ok(value)
                    }
                    Err(e) => {
                        guard.finish(Outcome::Refused(e.clone()));
                        Err(CreateError::Codec(e))
                    }
                }
            }
            Err(e) => {
                bump(&inner.counters.create_errors);
                let e = Arc::new(e);
                guard.finish(Outcome::Failed(Arc::clone(&e) as _));
                Err(CreateError::Create(e))
            }
        }
    }

    /// Before running a creator while the cache is disabled: count it, and drop the stored value,
    /// which the creator is about to supersede.
    fn start_bypass(&self, key: &K) {
        let inner = &*self.cache;
        bump(&inner.counters.bypasses);
        bump(&inner.counters.creations);
        inner.store.moka.invalidate(self.probe(key).erased());
    }

    /// The value for `key`, creating it with `create` on a miss.
    ///
    /// - **Fresh**: returned at once.
    /// - **Missing or dead**: exactly one concurrent caller runs `create`; the others block until
    ///   it finishes and receive its value (decoded from the stored bytes) or its error (the same
    ///   `Arc<E>`). Sync and async callers of the same key wait for each other.
    /// - **Expired but within the grace period**: one caller runs `create` and returns the new
    ///   value (or its error; the stale value stays until its grace ends); every caller arriving
    ///   while it runs gets the stale value at once.
    /// - **The creator panics**: the panic propagates to this caller, and one of the waiters
    ///   creates instead; the key is never left locked.
    ///
    /// While the cache is disabled, `create` runs on every call, nothing is stored, and the key's
    /// stored value is dropped (the new one supersedes it).
    ///
    /// A creator must not call `get_or_create` for its own key: on the same thread that call
    /// returns [`CreateError::Reentrant`] rather than waiting for itself.
    ///
    /// ```
    /// use sealed_session::cache::{Cache, ManualCacheClock};
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    ///
    /// let clock = ManualCacheClock::new();
    /// let cache = Cache::builder()
    ///     .clock(clock.clone())
    ///     .ttl(Duration::from_secs(60))
    ///     .grace(Duration::from_secs(30))
    ///     .build()?;
    /// let ns = cache.namespace::<&'static str, u32>("counts");
    /// assert_eq!(ns.get_or_create(&"a", || Ok::<_, Infallible>(1))?, 1);
    /// assert_eq!(ns.get_or_create(&"a", || Ok::<_, Infallible>(2))?, 1); // fresh
    /// clock.advance(Duration::from_secs(70)); // stale, within grace
    /// assert_eq!(ns.get_or_create(&"a", || Ok::<_, Infallible>(3))?, 3); // this caller refreshes
    /// assert_eq!(ns.get(&"a"), Some(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`CreateError::Create`] with the creator's error (this caller's, or the one it waited
    /// for); [`CreateError::Codec`] if the created value or the key cannot be encoded;
    /// [`CreateError::Reentrant`] as above.
    pub fn get_or_create<E, F>(&self, key: &K, create: F) -> Result<V, CreateError<E>>
    where
        F: FnOnce() -> Result<V, E>,
        E: Send + Sync + 'static,
    {
        let inner = &*self.cache;
        if !inner.is_enabled() {
            self.start_bypass(key);
            return self.bypass(create());
        }
        let mut tally = Tally::default();
        loop {
            let probe = self.probe(key);
            let stale = match self.lookup(&probe, &mut tally) {
                Lookup::Hit(value) => return Ok(value),
                Lookup::Stale(entry) => Some(entry),
                Lookup::Miss => None,
            };
            match self.join_or_lead(probe, true) {
                Role::Leader(guard) => {
                    let guard = match self.recheck(guard) {
                        Ok(value) => {
                            tally.count(&inner.counters.hits);
                            return Ok(value);
                        }
                        Err(guard) => guard,
                    };
                    tally.count(&inner.counters.misses);
                    bump(&inner.counters.creations);
                    let result = create();
                    return self.publish(guard, result);
                }
                Role::Waiter(flight) => {
                    let stale =
                        stale.and_then(|e| self.decode_stored(probe.generation, key, None, &e));
                    if let Some(value) = stale {
                        tally.count(&inner.counters.stale_serves);
                        return Ok(value);
                    }
                    if flight.is_led_by_this_thread() {
                        return Err(CreateError::Reentrant);
                    }
                    tally.count(&inner.counters.misses);
                    bump(&inner.counters.coalesced);
                    if let Some(result) = self.resolve(&probe, None, flight.wait()) {
                        return result;
                    }
                }
            }
        }
    }
}

/// The async API, over every store.
impl<K: CacheKey, V: Serialize + DeserializeOwned, S: Store> Namespace<K, V, S> {
    /// The fresh value for `key`, or `None`, as [`get`](Self::get) does; over a shared store, also
    /// `None` (counted in [`CacheStats::store_errors`]) when the store fails or times out.
    ///
    /// ```
    /// # use sealed_session::cache::Cache;
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let cache = Cache::builder().build()?;
    /// let ns = cache.namespace::<u32, String>("names");
    /// ns.insert_async(&1, &"ann".to_string()).await?;
    /// assert_eq!(ns.get_async(&1).await.as_deref(), Some("ann"));
    /// # Ok(()) }
    /// ```
    pub async fn get_async(&self, key: &K) -> Option<V> {
        let inner = &*self.cache;
        if !inner.is_enabled() {
            bump(&inner.counters.bypasses);
            return None;
        }
        let mut tally = Tally::default();
        let Ok(key_json) = self.key_json(key) else {
            tally.count(&inner.counters.misses);
            return None;
        };
        let target = self.target(key, key_json.as_deref());
        match inner.store.read(&target).await {
            Ok(Found { generation, entry }) => {
                match self.classify(&target, generation, entry, &mut tally) {
                    Lookup::Hit(value) => Some(value),
                    Lookup::Stale(_) | Lookup::Miss => {
                        tally.count(&inner.counters.misses);
                        None
                    }
                }
            }
            Err(e) => {
                self.store_failed("read", &e);
                tally.count(&inner.counters.misses);
                None
            }
        }
    }

    /// Store `value` under `key` with the namespace's TTL, as [`insert`](Self::insert) does.
    ///
    /// # Errors
    /// As [`insert`](Self::insert). A shared store that fails or times out is not an error here:
    /// the write is logged and counted in [`CacheStats::store_errors`], and the key is a miss
    /// later (unless an older value survives in the store: use
    /// [`invalidate_async`](Self::invalidate_async), whose failure is returned, where that
    /// matters).
    pub async fn insert_async(&self, key: &K, value: &V) -> Result<(), Error> {
        self.insert_with_ttl_async(key, value, self.state.ttl).await
    }

    /// Store `value` under `key`, fresh for `ttl`, as [`insert_with_ttl`](Self::insert_with_ttl)
    /// does.
    ///
    /// # Errors
    /// As [`insert_async`](Self::insert_async).
    pub async fn insert_with_ttl_async(
        &self,
        key: &K,
        value: &V,
        ttl: Duration,
    ) -> Result<(), Error> {
        let inner = &*self.cache;
        let key_json = self.key_json(key)?;
        let target = self.target(key, key_json.as_deref());
        if !inner.is_enabled() {
            bump(&inner.counters.bypasses);
            if let Err(e) = inner.store.remove(&target).await {
                self.store_failed("remove", &e);
            }
            return Ok(());
        }
        // In memory the generation is exact; over a shared store it is the last one seen, and
        // the store refuses the write if the namespace has moved on since (then once more).
        let mut generation = self.state.generation.load(Ordering::Acquire);
        for _ in 0..3 {
            let stored = self.encode(generation, key, target.key_json, value, ttl)?;
            let write = Write {
                generation,
                entry: &stored,
                lifetime: self.store_lifetime(ttl),
                lock: None,
                only_if_current: true,
            };
            match inner.store.write(&target, write).await {
                Ok(Written::Stored) => return Ok(()),
                Ok(Written::Superseded(current)) => generation = current,
                Err(e) => {
                    self.store_failed("insert", &e);
                    return Ok(());
                }
            }
        }
        // Cleared again and again while writing: as if the write came first.
        Ok(())
    }

    /// Remove the value for `key` (whether or not the cache is enabled).
    ///
    /// # Errors
    /// A shared store that fails or times out: the value may still be there.
    pub async fn invalidate_async(&self, key: &K) -> Result<(), StoreError> {
        let key_json = self
            .key_json(key)
            .map_err(|e| StoreError::new(StoreErrorKind::Protocol, e.message().to_owned()))?;
        let target = self.target(key, key_json.as_deref());
        let removed = self.cache.store.remove(&target).await;
        if let Err(e) = &removed {
            self.store_failed("remove", e);
        }
        removed
    }

    /// Drop every value of this namespace in O(1), as [`clear`](Self::clear) does: over a shared
    /// store the generation lives there, so the namespace is cleared for every process at once.
    ///
    /// # Errors
    /// A shared store that fails or times out: the namespace may not be cleared.
    pub async fn clear_async(&self) -> Result<(), StoreError> {
        let cleared = self.cache.store.clear(&self.namespace_ref()).await;
        if let Err(e) = &cleared {
            self.store_failed("clear", e);
        }
        cleared
    }

    /// The namespace's current generation (over a shared store, as the store has it).
    ///
    /// # Errors
    /// A shared store that fails or times out.
    pub async fn generation_async(&self) -> Result<u64, StoreError> {
        self.cache.store.generation(&self.namespace_ref()).await
    }

    /// The async form of [`get_or_create`](Self::get_or_create): `create` returns a future, and
    /// waiting does not block the thread. If this call's future is dropped while its creator
    /// runs, a waiting caller takes over the creation.
    ///
    /// A creator future that awaits this namespace for its own key waits for itself: unlike the
    /// blocking form, a task has no identity to detect it by, so that is the caller's bug to
    /// avoid.
    ///
    /// Over a shared store the same holds across processes: within a process the flight map
    /// admits one creator per key, and across processes a short lock in the store (see
    /// `RedisStore`) admits one of those; the others serve the stale value if there is one, or
    /// wait for the creator's value up to the store's lock wait, then create themselves. When the
    /// store fails or times out, the call degrades to single-flight within the process: the
    /// creator runs, its value is returned (and handed to this process's waiters) but not
    /// stored, and [`CacheStats::store_errors`] counts the failure.
    ///
    /// ```
    /// # use sealed_session::cache::Cache;
    /// # async fn fetch(id: u64) -> Result<String, std::io::Error> { Ok(format!("user {id}")) }
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let cache = Cache::builder().build()?;
    /// let names = cache.namespace::<u64, String>("names");
    /// let name = names.get_or_create_async(&7, || fetch(7)).await?;
    /// assert_eq!(name, "user 7");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`get_or_create`](Self::get_or_create).
    pub async fn get_or_create_async<E, F, Fut>(
        &self,
        key: &K,
        create: F,
    ) -> Result<V, CreateError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        let inner = &*self.cache;
        let key_json = self.key_json(key).map_err(CreateError::Codec)?;
        let target = self.target(key, key_json.as_deref());
        if !inner.is_enabled() {
            bump(&inner.counters.bypasses);
            bump(&inner.counters.creations);
            if let Err(e) = inner.store.remove(&target).await {
                self.store_failed("remove", &e);
            }
            return self.bypass(create().await);
        }
        let mut tally = Tally::default();
        loop {
            let Found { generation, entry } = match inner.store.read(&target).await {
                Ok(found) => found,
                Err(e) => {
                    self.store_failed("read", &e);
                    return self.create_degraded(&target, &mut tally, create).await;
                }
            };
            let probe = target.probe(generation);
            let stale = match self.classify(&target, generation, entry, &mut tally) {
                Lookup::Hit(value) => return Ok(value),
                Lookup::Stale(entry) => Some(entry),
                Lookup::Miss => None,
            };
            let guard = match self.join_or_lead(probe, false) {
                Role::Leader(guard) => guard,
                Role::Waiter(flight) => {
                    let stale = stale
                        .and_then(|e| self.decode_stored(generation, key, target.key_json, &e));
                    if let Some(value) = stale {
                        tally.count(&inner.counters.stale_serves);
                        return Ok(value);
                    }
                    if flight.is_led_by_this_thread() {
                        return Err(CreateError::Reentrant);
                    }
                    tally.count(&inner.counters.misses);
                    bump(&inner.counters.coalesced);
                    let outcome = flight.wait_async().await;
                    if let Some(result) = self.resolve(&probe, target.key_json, outcome) {
                        return result;
                    }
                    continue;
                }
            };
            // This process's creator. Across processes, the store's lock admits one.
            let lock = match inner.store.try_lock(&target, generation).await {
                Ok(Some(lock)) => {
                    // The double check: another creator may have stored a fresh value between
                    // this caller's miss and its taking the lock.
                    match inner.store.read(&target).await {
                        Ok(found) if found.generation == generation => {
                            let fresh = found.entry.and_then(|e| {
                                self.fresh_value(&target, generation, &e).zip(Some(e))
                            });
                            if let Some((value, stored)) = fresh {
                                inner.store.unlock(lock).await;
                                tally.count(&inner.counters.hits);
                                guard.finish(Outcome::Ready(stored));
                                return Ok(value);
                            }
                        }
                        Ok(_) => {}
                        Err(e) => self.store_failed("read", &e),
                    }
                    Some(lock)
                }
                Ok(None) => {
                    // Another process is creating: serve the stale value if there is one.
                    let stale_value = stale
                        .as_ref()
                        .and_then(|e| self.decode_stored(generation, key, target.key_json, e));
                    if let (Some(value), Some(stored)) = (stale_value, stale) {
                        tally.count(&inner.counters.stale_serves);
                        guard.finish(Outcome::Ready(stored));
                        return Ok(value);
                    }
                    tally.count(&inner.counters.misses);
                    bump(&inner.counters.coalesced);
                    match self.await_remote(&target, generation).await {
                        Remote::Value(value, stored) => {
                            guard.finish(Outcome::Ready(stored));
                            return Ok(value);
                        }
                        Remote::Lock(lock) => Some(lock),
                        Remote::GiveUp => None,
                        Remote::Moved => {
                            // Waiters look again too, at the new generation.
                            guard.finish(Outcome::Abandoned);
                            continue;
                        }
                    }
                }
                Err(e) => {
                    self.store_failed("lock", &e);
                    None
                }
            };
            tally.count(&inner.counters.misses);
            bump(&inner.counters.creations);
            let result = create().await;
            return self
                .publish_async(guard, &target, generation, result, lock)
                .await;
        }
    }

    /// Wait for another process's creation: try the lock and look at the entry, with pauses,
    /// until one of them gives something or the store's lock wait is over.
    async fn await_remote(
        &self,
        target: &Target<'_, K>,
        generation: u64,
    ) -> Remote<V, <S as Backend>::Lock> {
        let store = &self.cache.store;
        let deadline = Instant::now() + store.lock_wait();
        let mut attempt = 0u32;
        while Instant::now() < deadline {
            store.pause(attempt).await;
            attempt = attempt.saturating_add(1);
            // The lock first, the entry second: a lock that came free may mean the creator
            // finished (its write and its release are one script), so look before creating.
            let lock = match store.try_lock(target, generation).await {
                Ok(lock) => lock,
                Err(e) => {
                    self.store_failed("lock", &e);
                    return Remote::GiveUp;
                }
            };
            let seen = match store.read(target).await {
                Ok(found) if found.generation != generation => Remote::Moved,
                Ok(Found {
                    entry: Some(stored),
                    ..
                }) => match self.fresh_value(target, generation, &stored) {
                    Some(value) => Remote::Value(value, stored),
                    None => Remote::GiveUp,
                },
                Ok(_) => Remote::GiveUp,
                Err(e) => {
                    self.store_failed("read", &e);
                    // Holding the lock, create under it; without it, stop waiting on a store
                    // that fails.
                    return match lock {
                        Some(lock) => Remote::Lock(lock),
                        None => Remote::GiveUp,
                    };
                }
            };
            match (seen, lock) {
                (Remote::GiveUp, Some(lock)) => return Remote::Lock(lock),
                (Remote::GiveUp, None) => {}
                (done, lock) => {
                    if let Some(lock) = lock {
                        store.unlock(lock).await;
                    }
                    return done;
                }
            }
        }
        tracing::warn!(
            namespace = &*self.state.name,
            "another process's cache creation did not finish within the lock wait; creating here"
        );
        Remote::GiveUp
    }

    /// Store the creator's result (releasing the lock with it) and hand it to the waiters.
    async fn publish_async<E: Send + Sync + 'static>(
        &self,
        guard: FlightGuard<'_, K>,
        target: &Target<'_, K>,
        generation: u64,
        result: Result<V, E>,
        lock: Option<<S as Backend>::Lock>,
    ) -> Result<V, CreateError<E>> {
        let inner = &*self.cache;
        let store = &inner.store;
        let ttl = self.state.ttl;
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                if let Some(lock) = lock {
                    store.unlock(lock).await;
                }
                bump(&inner.counters.create_errors);
                let e = Arc::new(e);
                guard.finish(Outcome::Failed(Arc::clone(&e) as _));
                return Err(CreateError::Create(e));
            }
        };
        let stored = match self.encode(generation, target.key, target.key_json, &value, ttl) {
            Ok(stored) => stored,
            Err(e) => {
                if let Some(lock) = lock {
                    store.unlock(lock).await;
                }
                guard.finish(Outcome::Refused(e.clone()));
                return Err(CreateError::Codec(e));
            }
        };
        // Honour a toggle flipped while the creator ran: while off, the new value supersedes the
        // stored one without replacing it, as a disabled call does.
        let stored_ok = if inner.is_enabled() {
            let write = Write {
                generation,
                entry: &stored,
                lifetime: self.store_lifetime(ttl),
                lock,
                only_if_current: false,
            };
            store.write(target, write).await.map(drop)
        } else {
            if let Some(lock) = lock {
                store.unlock(lock).await;
            }
            store.remove(target).await
        };
        if let Err(e) = stored_ok {
            self.store_failed("write", &e);
        }
        guard.finish(Outcome::Ready(stored));
        Ok(value)
    }

    /// The store failed: create with single-flight within this process only, and store nothing.
    async fn create_degraded<E, F, Fut>(
        &self,
        target: &Target<'_, K>,
        tally: &mut Tally,
        create: F,
    ) -> Result<V, CreateError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Send + Sync + 'static,
    {
        let inner = &*self.cache;
        loop {
            let probe = target.probe(DEGRADED_GENERATION);
            match self.join_or_lead(probe, false) {
                Role::Leader(guard) => {
                    tally.count(&inner.counters.misses);
                    bump(&inner.counters.creations);
                    let result = create().await;
                    return self.publish_local(guard, target, result);
                }
                Role::Waiter(flight) => {
                    tally.count(&inner.counters.misses);
                    bump(&inner.counters.coalesced);
                    let outcome = flight.wait_async().await;
                    if let Some(result) = self.resolve(&probe, target.key_json, outcome) {
                        return result;
                    }
                }
            }
        }
    }

    /// Hand a degraded creation's result to this process's waiters, without storing it.
    fn publish_local<E: Send + Sync + 'static>(
        &self,
        guard: FlightGuard<'_, K>,
        target: &Target<'_, K>,
        result: Result<V, E>,
    ) -> Result<V, CreateError<E>> {
        let ttl = self.state.ttl;
        match result {
            Ok(value) => {
                match self.encode(
                    DEGRADED_GENERATION,
                    target.key,
                    target.key_json,
                    &value,
                    ttl,
                ) {
                    Ok(stored) => {
                        guard.finish(Outcome::Ready(stored));
                        Ok(value)
                    }
                    Err(e) => {
                        guard.finish(Outcome::Refused(e.clone()));
                        Err(CreateError::Codec(e))
                    }
                }
            }
            Err(e) => {
                bump(&self.cache.counters.create_errors);
                let e = Arc::new(e);
                guard.finish(Outcome::Failed(Arc::clone(&e) as _));
                Err(CreateError::Create(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
