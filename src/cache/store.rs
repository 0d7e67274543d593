//! The stores under the cache: see [`Store`].

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use super::clock::CacheClock;
use super::entry::Stored;
use super::key::ProbeKey;
use super::CacheKey;
use crate::error::Error;

/// Where a [`Cache`](super::Cache) keeps its entries, namespace generations and creation locks.
/// Sealed: the operations are internal to this crate.
///
/// A [`Cache`](super::Cache) is generic over its [`Store`]. Two exist:
///
/// - [`MemoryStore`](super::MemoryStore) (the default): the bounded in-process store. Generations are atomic counters,
///   single-flight is the in-process flight map, nothing can fail, and every operation is
///   immediate, so the cache's synchronous API ([`Namespace::get`](super::Namespace::get),
///   [`get_or_create`](super::Namespace::get_or_create), ...) exists for this store only.
/// - `RedisStore` (feature `redis`): entries, generations and locks in Redis, shared by every
///   process that points at it.
///
/// # Sync and async
///
/// The store operations are asynchronous, and the cache's async API (`*_async`) works over any
/// store with the same semantics. The blocking API is kept for the in-memory store and is not
/// offered over Redis at all (a type error, not a runtime surprise): blocking a thread on network
/// I/O would either need a runtime of our own or risk stalling the caller's, and "no request
/// hangs past the timeout" is much easier to keep when every wait is a future under
/// `tokio::time::timeout`. Over the in-memory store the async calls complete without ever
/// yielding, and sync and async callers share one store and one flight map, as before.
///
/// # What a store provides
///
/// The trait's methods are sealed (internal to this crate): the cache's semantics (logical
/// expiry, grace, stale serving, sealing, counters, in-process single-flight) are implemented once,
/// above the store, and a store supplies only reads and writes of entries at a namespace
/// generation, generation bumps, and a cross-process creation lock (the in-memory store's lock
/// is always granted: its flight map already admits one creator).
pub trait Store: Backend + fmt::Debug {}

/// A namespace as the store sees it.
pub struct NamespaceRef<'a> {
    /// The namespace's number in this process (the in-memory store's key).
    pub(crate) id: u64,
    pub(crate) name: &'a str,
    /// The in-memory store's generation; a shared store's last-seen generation (a hint, checked
    /// against the store on every read).
    pub(crate) generation: &'a AtomicU64,
    /// The cache's fingerprint key (see the `key` module).
    pub(crate) hasher: &'a RandomState,
}

/// One key of a namespace, as the store sees it.
pub struct Target<'a, K> {
    pub(crate) ns: NamespaceRef<'a>,
    pub(crate) key: &'a K,
    /// The codec's JSON of the key: always present for a shared store (its entries are named by
    /// it), and for a sealed cache (entries are bound to it).
    pub(crate) key_json: Option<&'a [u8]>,
    /// The longest entry payload this cache writes (`entry::max_payload_len`): a shared store
    /// refuses a longer one unread, as [`Found::oversized`].
    #[cfg_attr(
        not(feature = "redis"),
        expect(dead_code, reason = "read by shared stores")
    )]
    pub(crate) max_payload: usize,
}

impl fmt::Debug for NamespaceRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceRef")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<K> fmt::Debug for Target<'_, K> {
    /// The namespace only: keys may be personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("ns", &self.ns)
            .finish_non_exhaustive()
    }
}

impl<K: CacheKey> Target<'_, K> {
    pub(crate) fn probe(&self, generation: u64) -> ProbeKey<'_, K> {
        ProbeKey::new(self.ns.hasher, self.ns.id, generation, self.key)
    }
}

/// What a read found: the namespace's current generation, and the entry stored under it.
#[expect(
    missing_debug_implementations,
    reason = "internal; would print entry bytes"
)]
pub struct Found {
    pub(crate) generation: u64,
    pub(crate) entry: Option<Stored>,
    /// The store held an entry longer than [`Target::max_payload`]: refused before it was
    /// copied or opened, and reported as absent.
    pub(crate) oversized: bool,
}

/// An entry to write.
#[expect(
    missing_debug_implementations,
    reason = "internal; would print entry bytes"
)]
pub struct Write<'a, L> {
    /// The generation the entry was encoded (and sealed) for.
    pub(crate) generation: u64,
    pub(crate) entry: &'a Stored,
    /// TTL plus grace: how long the store should keep it at most.
    #[cfg_attr(
        not(feature = "redis"),
        expect(dead_code, reason = "read by shared stores")
    )]
    pub(crate) lifetime: Duration,
    /// The creation lock to release with the write, if this write ends a locked creation.
    #[cfg_attr(
        not(feature = "redis"),
        expect(dead_code, reason = "read by shared stores")
    )]
    pub(crate) lock: Option<L>,
    /// Store only if `generation` is still the namespace's (an insert); otherwise store anyway
    /// (a creation's result under a cleared generation is dead data that no read will find).
    #[cfg_attr(
        not(feature = "redis"),
        expect(dead_code, reason = "read by shared stores")
    )]
    pub(crate) only_if_current: bool,
}

/// How a write ended.
#[derive(Debug)]
pub enum Written {
    Stored,
    /// The namespace moved on to this generation; nothing was stored.
    Superseded(u64),
}

/// The store operations, sealed: only this crate implements and calls them.
pub trait Backend: Send + Sync + 'static {
    /// Whether entries leave the process: they are then sealed by default, their lifetimes are
    /// on a wall clock, and the codec's full checks run on every decode.
    const SHARED: bool;
    /// A cross-process creation lock, released by [`write`](Self::write) or
    /// [`unlock`](Self::unlock).
    type Lock: Send + Sync + 'static;

    /// The clock a cache over this store reads unless it is given one.
    fn default_clock(&self) -> Arc<dyn CacheClock>;

    /// The prefix of every key this store writes (bound into shared sealed entries).
    fn prefix(&self) -> &str;

    /// The entry for a key at the namespace's current generation.
    fn read<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
    ) -> impl Future<Output = Result<Found, Error>> + Send;

    /// Store an entry (and release the lock it carries).
    fn write<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
        write: Write<'_, Self::Lock>,
    ) -> impl Future<Output = Result<Written, Error>> + Send;

    /// Remove the key's entry at the current generation.
    fn remove<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The namespace's current generation.
    fn generation(&self, ns: &NamespaceRef<'_>) -> impl Future<Output = Result<u64, Error>> + Send;

    /// Move the namespace to a new generation: O(1), no entry is touched.
    fn clear(&self, ns: &NamespaceRef<'_>) -> impl Future<Output = Result<(), Error>> + Send;

    /// Take the creation lock for a key at a generation: `None` while another process holds it.
    fn try_lock<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
        generation: u64,
    ) -> impl Future<Output = Result<Option<Self::Lock>, Error>> + Send;

    /// Release a lock without writing (the creator failed). Best effort: a lock that cannot be
    /// released expires by itself.
    fn unlock(&self, lock: Self::Lock) -> impl Future<Output = ()> + Send;

    /// How long to wait for another process's creation before creating anyway.
    fn lock_wait(&self) -> Duration;

    /// Wait before the `attempt`-th look at another process's creation.
    fn pause(&self, attempt: u32) -> impl Future<Output = ()> + Send;
}
