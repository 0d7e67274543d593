//! The stores under the cache: see [`Store`].

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::{ready, Future};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::clock::{CacheClock, SystemCacheClock};
use super::entry::Stored;
use super::key::{PassThrough, ProbeKey, StoreKey};
use super::CacheKey;

/// Where a [`Cache`](super::Cache) keeps its entries, namespace generations and creation locks.
/// Sealed: the operations are internal to this crate.
///
/// A [`Cache`](super::Cache) is generic over its [`Store`]. Two exist:
///
/// - [`MemoryStore`] (the default): the bounded in-process store. Generations are atomic counters,
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

/// Why a store operation failed. The cache itself never returns it from a lookup (a failing store
/// degrades to calling the creator); the operations whose failure the caller must know about
/// ([`Namespace::invalidate_async`](super::Namespace::invalidate_async),
/// [`clear_async`](super::Namespace::clear_async), connecting) return it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: Cow<'static, str>,
}

/// What kind of store failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The operation did not complete within the configured timeout.
    Timeout,
    /// The store could not be reached (connection refused or lost, a recent failure still
    /// cooling down, or no Tokio runtime to run on).
    Unavailable,
    /// The store answered something unexpected (an error reply, a malformed generation).
    Protocol,
}

impl StoreError {
    pub(crate) fn new(kind: StoreErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        StoreError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// A human-readable explanation (never a value, a key or a credential).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            StoreErrorKind::Timeout => "timeout",
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Protocol => "protocol",
        };
        write!(f, "cache store {kind}: {}", self.message)
    }
}

impl std::error::Error for StoreError {}

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
    ) -> impl Future<Output = Result<Found, StoreError>> + Send;

    /// Store an entry (and release the lock it carries).
    fn write<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
        write: Write<'_, Self::Lock>,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send;

    /// Remove the key's entry at the current generation.
    fn remove<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The namespace's current generation.
    fn generation(
        &self,
        ns: &NamespaceRef<'_>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Move the namespace to a new generation: O(1), no entry is touched.
    fn clear(&self, ns: &NamespaceRef<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Take the creation lock for a key at a generation: `None` while another process holds it.
    fn try_lock<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
        generation: u64,
    ) -> impl Future<Output = Result<Option<Self::Lock>, StoreError>> + Send;

    /// Release a lock without writing (the creator failed). Best effort: a lock that cannot be
    /// released expires by itself.
    fn unlock(&self, lock: Self::Lock) -> impl Future<Output = ()> + Send;

    /// How long to wait for another process's creation before creating anyway.
    fn lock_wait(&self) -> Duration;

    /// Wait before the `attempt`-th look at another process's creation.
    fn pause(&self, attempt: u32) -> impl Future<Output = ()> + Send;
}

/// The bounded in-process store: a [`moka`] cache weighed by bytes (see the
/// [module docs](super#choice-of-store)). The default store of [`Cache`](super::Cache); it is
/// built by [`CacheBuilder::build`](super::CacheBuilder::build) from the builder's capacity.
pub struct MemoryStore {
    pub(crate) moka: moka::sync::Cache<StoreKey, Stored, PassThrough>,
    pub(crate) capacity: u64,
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
    ) -> impl Future<Output = Result<Found, StoreError>> + Send {
        let generation = target.ns.generation.load(Ordering::Acquire);
        let entry = self.moka.get(target.probe(generation).erased());
        ready(Ok(Found { generation, entry }))
    }

    fn write<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
        write: Write<'_, ()>,
    ) -> impl Future<Output = Result<Written, StoreError>> + Send {
        // Always stored, as the blocking API does: an insert's generation was read just before.
        self.moka.insert(
            target.probe(write.generation).store_key(),
            Arc::clone(write.entry),
        );
        ready(Ok(Written::Stored))
    }

    fn remove<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let generation = target.ns.generation.load(Ordering::Acquire);
        self.moka.invalidate(target.probe(generation).erased());
        ready(Ok(()))
    }

    fn generation(
        &self,
        ns: &NamespaceRef<'_>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        ready(Ok(ns.generation.load(Ordering::Acquire)))
    }

    fn clear(&self, ns: &NamespaceRef<'_>) -> impl Future<Output = Result<(), StoreError>> + Send {
        ns.generation.fetch_add(1, Ordering::AcqRel);
        ready(Ok(()))
    }

    fn try_lock<K: CacheKey>(
        &self,
        _target: &Target<'_, K>,
        _generation: u64,
    ) -> impl Future<Output = Result<Option<()>, StoreError>> + Send {
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
