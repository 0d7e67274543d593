//! Single-flight creation, one path for every store and both APIs: see
//! [`Namespace::get_or_create_async`].

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::entry::Stored;
use super::flight::{Flight, Outcome};
use super::key::ProbeKey;
use super::stats::{bump, Tally};
use super::store::{Backend, Found, Store, Target, Write};
use super::values::Lookup;
use super::{lock, CacheKey, FlightMap, Namespace};
use crate::error::Error;

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

/// A value's creator, consumed when called (so it runs at most once); its future gives the
/// value or the creator's error. The public methods spell the closure bound out for their
/// readers; the creation paths behind them name it once, with this.
pub(crate) trait Creator<V, E> {
    /// The creation in progress.
    type Future: Future<Output = Result<V, E>>;

    /// Start creating.
    fn create(self) -> Self::Future;
}

impl<V, E, F, Fut> Creator<V, E> for F
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<V, E>>,
{
    type Future = Fut;

    fn create(self) -> Fut {
        self()
    }
}

/// How a caller waits for another caller's creation in this process.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// On the flight's condition variable, blocking the thread (the blocking API, whose
    /// creator runs on this thread: a wait for itself is detected and refused).
    Blocking,
    /// As a future.
    Async,
}

/// Where a creation's result goes besides its waiters.
enum Keep<L> {
    /// Into the store, releasing the creation lock if this caller holds one (`None`: it created
    /// without the lock, after the wait for another process ran out).
    Store(Option<L>),
    /// Nowhere: the store failed, the value is for this process's waiters only.
    Local,
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

impl<K: CacheKey, V: Serialize + DeserializeOwned, S: Store> Namespace<K, V, S> {
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
    /// stored, and [`CacheStats::store_errors`](crate::cache::CacheStats::store_errors) counts the failure.
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
        self.create_with(key, Waiting::Async, create).await
    }

    /// The creation path of both APIs.
    pub(crate) async fn create_with<E: Send + Sync + 'static>(
        &self,
        key: &K,
        waiting: Waiting,
        creator: impl Creator<V, E>,
    ) -> Result<V, CreateError<E>> {
        let inner = &*self.cache;
        let key_json = self.key_json(key).map_err(CreateError::Codec)?;
        let target = self.target(key, key_json.as_deref());
        if !inner.is_enabled() {
            bump(&inner.counters.bypasses);
            bump(&inner.counters.creations);
            // The creator is about to supersede the stored value: drop it.
            if let Err(e) = inner.store.remove(&target).await {
                self.store_failed("remove", &e);
            }
            return self.bypass(creator.create().await);
        }
        let mut tally = Tally::default();
        loop {
            let found = match inner.store.read(&target).await {
                Ok(found) => found,
                Err(e) => {
                    self.store_failed("read", &e);
                    return self
                        .create_degraded(&target, waiting, &mut tally, creator)
                        .await;
                }
            };
            let generation = found.generation;
            let probe = target.probe(generation);
            let stale = match self.classify(&target, found, &mut tally) {
                Lookup::Hit(value) => return Ok(value),
                Lookup::Stale(entry) => Some(entry),
                Lookup::Miss => None,
            };
            let guard = match self.join_or_lead(probe, waiting) {
                Role::Leader(guard) => guard,
                Role::Waiter(flight) => {
                    let stale = stale
                        .and_then(|e| self.decode_stored(generation, key, target.key_json, &e));
                    if let Some(value) = stale {
                        tally.count(&inner.counters.stale_serves);
                        return Ok(value);
                    }
                    let waited = self.wait(&flight, &probe, &target, waiting, &mut tally);
                    if let Some(result) = waited.await {
                        return result;
                    }
                    continue;
                }
            };
            // This process's creator. Across processes, the store's lock admits one (in memory
            // it is always granted: the flight map already admitted this caller).
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
            let result = creator.create().await;
            let keep = Keep::Store(lock);
            return self.publish(guard, &target, generation, result, keep).await;
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
        // Checked: the builders bound the lock wait, and a store's own bound is not ours to trust.
        let deadline = Instant::now().checked_add(store.lock_wait());
        let mut attempt = 0u32;
        while deadline.is_none_or(|d| Instant::now() < d) {
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

    /// The one way a creator's result leaves the creation: encoded once, handed to the waiters,
    /// and (unless the store failed) stored, releasing the creation lock with the write.
    async fn publish<E: Send + Sync + 'static>(
        &self,
        guard: FlightGuard<'_, K>,
        target: &Target<'_, K>,
        generation: u64,
        result: Result<V, E>,
        keep: Keep<<S as Backend>::Lock>,
    ) -> Result<V, CreateError<E>> {
        let inner = &*self.cache;
        let store = &inner.store;
        let (lock, keep_it) = match keep {
            Keep::Store(lock) => (lock, true),
            Keep::Local => (None, false),
        };
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                bump(&inner.counters.create_errors);
                self.release(lock).await;
                let e = Arc::new(e);
                guard.finish(Outcome::Failed(Arc::clone(&e) as _));
                return Err(CreateError::Create(e));
            }
        };
        let ttl = self.state.ttl;
        let stored = match self.encode(generation, target.key, target.key_json, &value, ttl) {
            Ok(stored) => stored,
            Err(e) => {
                self.release(lock).await;
                guard.finish(Outcome::Refused(e.clone()));
                return Err(CreateError::Codec(e));
            }
        };
        if keep_it {
            // Honour a toggle flipped while the creator ran: while off, the new value
            // supersedes the stored one without replacing it, as a disabled call does.
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
                self.release(lock).await;
                store.remove(target).await
            };
            if let Err(e) = stored_ok {
                self.store_failed("write", &e);
            }
        }
        guard.finish(Outcome::Ready(stored));
        Ok(value)
    }

    async fn release(&self, lock: Option<<S as Backend>::Lock>) {
        if let Some(lock) = lock {
            self.cache.store.unlock(lock).await;
        }
    }

    /// Wait for this process's creation of the key, counted as a coalesced miss; `None` to look
    /// again (the creator gave up, or made a value of another handle's type).
    async fn wait<E: Send + Sync + 'static>(
        &self,
        flight: &Arc<Flight>,
        probe: &ProbeKey<'_, K>,
        target: &Target<'_, K>,
        waiting: Waiting,
        tally: &mut Tally,
    ) -> Option<Result<V, CreateError<E>>> {
        if flight.is_led_by_this_thread() {
            return Some(Err(CreateError::Reentrant));
        }
        tally.count(&self.cache.counters.misses);
        bump(&self.cache.counters.coalesced);
        let outcome = match waiting {
            Waiting::Blocking => flight.wait(),
            Waiting::Async => flight.wait_async().await,
        };
        self.resolve(probe, target.key_json, outcome)
    }

    /// The store failed: create with single-flight within this process only, and store nothing.
    async fn create_degraded<E: Send + Sync + 'static>(
        &self,
        target: &Target<'_, K>,
        waiting: Waiting,
        tally: &mut Tally,
        creator: impl Creator<V, E>,
    ) -> Result<V, CreateError<E>> {
        let inner = &*self.cache;
        loop {
            let probe = target.probe(DEGRADED_GENERATION);
            match self.join_or_lead(probe, waiting) {
                Role::Leader(guard) => {
                    tally.count(&inner.counters.misses);
                    bump(&inner.counters.creations);
                    let result = creator.create().await;
                    return self
                        .publish(guard, target, DEGRADED_GENERATION, result, Keep::Local)
                        .await;
                }
                Role::Waiter(flight) => {
                    if let Some(result) = self.wait(&flight, &probe, target, waiting, tally).await {
                        return result;
                    }
                }
            }
        }
    }

    /// Register a flight for `probe`, or join the one in progress.
    fn join_or_lead<'a>(&'a self, probe: ProbeKey<'a, K>, waiting: Waiting) -> Role<'a, K> {
        let inner = &*self.cache;
        let mut flights = lock(&inner.flights);
        if let Some(flight) = flights.get(probe.erased()) {
            return Role::Waiter(Arc::clone(flight));
        }
        let leader_thread = (waiting == Waiting::Blocking).then(|| std::thread::current().id());
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
}
