//! The typed handle on a namespace, and its blocking and async APIs (the creation path they
//! share is in the `create` module).

use std::fmt;
use std::future::{ready, Future};
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::create::{CreateError, Waiting};
use super::memoize::Memoized;
use super::stats::{bump, Tally};
use super::store::{Store, Write, Written};
use super::values::Lookup;
#[cfg(doc)]
use super::{Cache, CacheStats};
use super::{CacheKey, Inner, MemoryStore, NamespaceState};
use crate::error::Error;
#[cfg(doc)]
use crate::error::ErrorKind;

/// A typed handle on one namespace of a [`Cache`]: keys `K`, values `V`, in the store `S`. Cheap
/// to clone.
///
/// The blocking methods ([`get`](Self::get), [`insert`](Self::insert),
/// [`get_or_create`](Self::get_or_create), ...) exist over the in-memory store only; the `*_async`
/// methods work over every [`Store`] with the same semantics.
pub struct Namespace<K, V, S = MemoryStore> {
    pub(crate) cache: Arc<Inner<S>>,
    pub(crate) state: Arc<NamespaceState>,
    /// `fn() -> (K, V)`: the handle stores neither, so it is `Send` and `Sync` whatever they are.
    types: PhantomData<fn() -> (K, V)>,
}

impl<K, V, S> Namespace<K, V, S> {
    pub(crate) fn new(cache: Arc<Inner<S>>, state: Arc<NamespaceState>) -> Self {
        Namespace {
            cache,
            state,
            types: PhantomData,
        }
    }
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
}

/// The blocking API, over the in-memory store: each method runs its async form to completion on
/// this thread (every in-memory operation is immediate, and a blocking caller waits for another
/// caller's creation on the flight's condition variable), so both APIs share one code path.
impl<K: CacheKey, V: Serialize + DeserializeOwned> Namespace<K, V> {
    /// Drop every value of this namespace, in O(1): the generation moves on, so entries of
    /// earlier generations are never read again and leave the store by eviction or expiry. No
    /// other namespace and no other cache is affected. A creation in progress still answers its
    /// waiters, but its value is stored under the old generation, so it does not repopulate the
    /// cleared namespace.
    pub fn clear(&self) {
        // Cannot fail in memory.
        let _ = block_on(self.clear_async());
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
        block_on(self.get_async(key))
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
        block_on(self.insert_with_ttl_async(key, value, ttl))
    }

    /// Remove the value for `key` (whether or not the cache is enabled).
    pub fn invalidate(&self, key: &K) {
        // Cannot fail in memory.
        let _ = block_on(self.invalidate_async(key));
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
        block_on(self.create_with(key, Waiting::Blocking, || ready(create())))
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
            Ok(found) => match self.classify(&target, found, &mut tally) {
                Lookup::Hit(value) => Some(value),
                Lookup::Stale(_) | Lookup::Miss => {
                    tally.count(&inner.counters.misses);
                    None
                }
            },
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
    /// A shared store that fails or times out ([`ErrorKind::StoreTimeout`],
    /// [`ErrorKind::StoreUnavailable`], [`ErrorKind::StoreProtocol`]): the value may still be
    /// there; the key's encoding error, over a shared store, whose entries are named by it.
    pub async fn invalidate_async(&self, key: &K) -> Result<(), Error> {
        // In memory the key's JSON only binds sealed entries: removal does not need it.
        let key_json = match self.key_json(key) {
            Ok(json) => json,
            Err(e) if S::SHARED => return Err(e),
            Err(_) => None,
        };
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
    /// A shared store that fails or times out (as for
    /// [`invalidate_async`](Self::invalidate_async)): the namespace may not be cleared.
    pub async fn clear_async(&self) -> Result<(), Error> {
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
    pub async fn generation_async(&self) -> Result<u64, Error> {
        self.cache.store.generation(&self.namespace_ref()).await
    }
}

/// Run `future` to completion on this thread. Over the in-memory store the first poll finishes
/// it (nothing there is pending: see the impl above), so that poll uses a waker that does
/// nothing; the parking loop after it only keeps this correct for any future.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    if let Poll::Ready(out) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        return out;
    }
    let unpark = Arc::new(Unpark {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&unpark));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        while !unpark.woken.swap(false, Ordering::AcqRel) {
            thread::park();
        }
    }
}

/// Wakes a thread parked in [`block_on`].
struct Unpark {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}
