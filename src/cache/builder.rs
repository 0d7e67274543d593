//! Building a cache: see [`CacheBuilder`].

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::clock::CacheClock;
use super::memory::MemoryStore;
use super::region::NamespaceConfig;
use super::sealing::SealingKeys;
use super::stats::Counters;
use super::store::Store;
use super::{Cache, Inner};
use crate::codec::Codec;
use crate::error::{Error, ErrorKind};
use crate::keys::KeyRing;

/// Builds a [`Cache`]; every setting has a default, documented on its method, and
/// [`build`](Self::build) refuses, with [`ErrorKind::InvalidConfig`], any it cannot honour.
///
/// `S` is the store: [`MemoryStore`], built from [`capacity_bytes`](Self::capacity_bytes), unless
/// [`store`](Self::store) gives another.
pub struct CacheBuilder<S = MemoryStore> {
    pub(crate) store: Option<S>,
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
    /// ([`UnixCacheClock`](super::UnixCacheClock)), which every process reads alike.
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
    /// [`ErrorKind::InvalidConfig`] if the capacity or a TTL is zero, or a TTL or grace period
    /// is longer than [`Cache::MAX_LIFETIME`].
    pub fn build(self) -> Result<Cache, Error> {
        self.validate()?;
        let counters = Arc::new(Counters::default());
        let store = MemoryStore::new(self.capacity, Arc::clone(&counters));
        self.assemble(store, counters)
    }
}

impl<S: Store> CacheBuilder<S> {
    /// The default fresh lifetime of a value (default [`Cache::DEFAULT_TTL`], five minutes; at
    /// most [`Cache::MAX_LIFETIME`]).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The default grace period: how long after its TTL a value may still be served by
    /// [`get_or_create`](super::Namespace::get_or_create) while one caller refreshes it (default
    /// zero: no stale serving, every expired value is a miss; at most [`Cache::MAX_LIFETIME`]).
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
    /// depth 32). A value over its limits is refused with an error, not truncated; an entry read
    /// back from a shared store that is longer than the limit (plus the seal) is a miss, refused
    /// before it is copied or opened.
    #[must_use]
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// The clock every expiry decision reads (default
    /// [`SystemCacheClock`](super::SystemCacheClock) in memory,
    /// [`UnixCacheClock`](super::UnixCacheClock) over a shared store). A sealed cache also
    /// chooses its sealing key by it (see [`seal_with`](Self::seal_with)).
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
    ///
    /// The sealing key is the ring's primary at the cache clock's reading taken as time since the
    /// Unix epoch, so a pending key starts sealing at its activation time on the wall clock a
    /// shared store's cache reads by default. The in-memory default clock counts from the
    /// cache's creation, so there a pending key never seals, which no one outside the process
    /// can tell: every key of the ring opens.
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
        check_lifetime("the cache TTL", self.ttl)?;
        check_lifetime("the cache grace period", self.grace)?;
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
    pub(crate) fn assemble(self, store: S, counters: Arc<Counters>) -> Result<Cache<S>, Error> {
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
                keys: self.ring.map(SealingKeys::new),
                ttl: self.ttl,
                grace: self.grace,
                name: self.name.map(Arc::from),
            }),
        })
    }
}

/// A TTL or grace period the cache can honour: entry lifetimes are nanoseconds in a `u64` and
/// a shared store's expiry is milliseconds from now, so a century is as long as anything needs
/// and far from either limit.
pub(crate) fn check_lifetime(what: &str, d: Duration) -> Result<(), Error> {
    if d > Cache::MAX_LIFETIME {
        return Err(Error::new(
            ErrorKind::InvalidConfig,
            format!("{what} is longer than the longest accepted (100 years)"),
        ));
    }
    Ok(())
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
