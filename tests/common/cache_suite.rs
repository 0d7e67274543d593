//! The cache's behaviour suite, run against every store and both APIs: the in-memory store through
//! the async and the blocking API (tests/cache.rs), and Redis, sealed and unsealed, through the
//! async API, the only one it has (tests/redis.rs). What only the in-memory store has (the byte
//! bound, re-entrancy on one thread, sync and async callers of one creation, panicking creators)
//! stays in tests/cache.rs.
//!
//! A store is plugged in with a [`Factory`], which builds a fresh, isolated cache per call (Redis:
//! a new key prefix), and [`cache_suite!`] expands to one `#[tokio::test]` per case. Cases that
//! read the same through either API take an [`Api`] and call the cache through [`Ns`]; the
//! concurrent callers of single flight and stale serving are started by
//! [`Ns::spawn_get_or_create`], tasks through the async API and threads through the blocking one.
//! Only the cases about futures (cancellation, `Send`, async memoize) are async only.
//!
//! Time is a [`ManualCacheClock`]: nothing sleeps. A shared store keeps the logical lifetimes
//! inside its entries and uses its own expiry (TTL plus grace, in real time) only as a backstop,
//! so the same clock-driven cases hold there too; their TTLs are seconds, far longer than a case.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use sealed_session::cache::{
    Cache, CacheKey, CacheStats, CreateError, ManualCacheClock, MemoryStore, Namespace,
    NamespaceConfig, Store,
};
use sealed_session::{Codec, ErrorKind, Key, KeyRing};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const SECOND: Duration = Duration::from_secs(1);
pub const DEADLINE: Duration = Duration::from_secs(30);

/// What a case needs from its cache.
#[derive(Clone, Debug)]
pub struct Spec {
    pub ttl: Duration,
    pub grace: Duration,
    pub clock: ManualCacheClock,
    pub ring: Option<KeyRing>,
    pub namespaces: Vec<(String, NamespaceConfig)>,
    pub codec: Option<Codec>,
    pub name: Option<String>,
}

impl Spec {
    pub fn new(ttl: Duration, grace: Duration) -> Self {
        Spec {
            ttl,
            grace,
            clock: ManualCacheClock::new(),
            ring: None,
            namespaces: Vec::new(),
            codec: None,
            name: None,
        }
    }
}

/// Builds a fresh cache, isolated from every other one, over one kind of store.
pub trait Factory: Sync {
    type S: Drive;
    /// Whether entries leave the process (sealed by default over Redis, so the factory may seal
    /// even when the spec has no ring).
    const SHARED: bool;
    fn cache(&self, spec: Spec) -> impl Future<Output = Cache<Self::S>> + Send;
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Profile {
    pub id: u64,
    pub name: String,
    pub roles: Vec<String>,
}

pub fn profile(id: u64) -> Profile {
    Profile {
        id,
        name: format!("user-{id}"),
        roles: vec!["reader".into()],
    }
}

/// A creator's error that is neither `Clone` nor `PartialEq`, like most real ones.
#[derive(Debug)]
pub struct Boom(pub u32);

impl fmt::Display for Boom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "boom {}", self.0)
    }
}

impl std::error::Error for Boom {}

pub fn ok<T>(v: T) -> Result<T, Boom> {
    Ok(v)
}

async fn manual<F: Factory>(
    f: &F,
    ttl: Duration,
    grace: Duration,
) -> (Cache<F::S>, ManualCacheClock) {
    let spec = Spec::new(ttl, grace);
    let clock = spec.clock.clone();
    (f.cache(spec).await, clock)
}

/// Which of the cache's two APIs a case drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `get`, `insert`, `get_or_create`, ...: only the in-memory store has it.
    Blocking,
    /// `get_async`, `insert_async`, `get_or_create_async`, ...: every store.
    Async,
}

/// A store the suite can drive: every store through the async API, the in-memory store through
/// the blocking one too.
pub trait Drive: Store + Sized {
    /// `ns` as a namespace of the in-memory store (whose blocking API the suite then calls), or
    /// `None` for a store without a blocking API.
    fn blocking<K, V>(_ns: &Namespace<K, V, Self>) -> Option<&Namespace<K, V>> {
        None
    }
}

impl Drive for MemoryStore {
    fn blocking<K, V>(ns: &Namespace<K, V, Self>) -> Option<&Namespace<K, V>> {
        Some(ns)
    }
}

#[cfg(feature = "redis")]
impl Drive for sealed_session::cache::RedisStore {}

/// A namespace driven through one [`Api`]: a case reads the same whichever it is. Everything
/// else (`ttl`, `Debug`, the `_async` methods) is the namespace's own, through `Deref`.
pub struct Ns<K, V, S> {
    inner: Namespace<K, V, S>,
    api: Api,
}

impl<K, V, S> Deref for Ns<K, V, S> {
    type Target = Namespace<K, V, S>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

/// The namespace `name` of `cache`, driven through `api`.
pub fn namespace<K: CacheKey, V: Serialize + DeserializeOwned, S: Drive>(
    cache: &Cache<S>,
    api: Api,
    name: &str,
) -> Ns<K, V, S> {
    Ns {
        inner: cache.namespace(name),
        api,
    }
}

impl<K: CacheKey, V: Serialize + DeserializeOwned, S: Drive> Ns<K, V, S> {
    fn blocking(&self) -> Option<&Namespace<K, V>> {
        match self.api {
            Api::Blocking => Some(
                S::blocking(&self.inner).expect("only the in-memory store has the blocking API"),
            ),
            Api::Async => None,
        }
    }

    pub async fn get(&self, key: &K) -> Option<V> {
        match self.blocking() {
            Some(ns) => ns.get(key),
            None => self.inner.get_async(key).await,
        }
    }

    pub async fn insert(&self, key: &K, value: &V) -> Result<(), sealed_session::Error> {
        match self.blocking() {
            Some(ns) => ns.insert(key, value),
            None => self.inner.insert_async(key, value).await,
        }
    }

    pub async fn insert_with_ttl(
        &self,
        key: &K,
        value: &V,
        ttl: Duration,
    ) -> Result<(), sealed_session::Error> {
        match self.blocking() {
            Some(ns) => ns.insert_with_ttl(key, value, ttl),
            None => self.inner.insert_with_ttl_async(key, value, ttl).await,
        }
    }

    pub async fn invalidate(&self, key: &K) {
        match self.blocking() {
            Some(ns) => ns.invalidate(key),
            None => self.inner.invalidate_async(key).await.unwrap(),
        }
    }

    pub async fn clear(&self) {
        match self.blocking() {
            Some(ns) => ns.clear(),
            None => self.inner.clear_async().await.unwrap(),
        }
    }

    pub async fn generation(&self) -> u64 {
        match self.blocking() {
            Some(ns) => ns.generation(),
            None => self.inner.generation_async().await.unwrap(),
        }
    }

    /// `get_or_create` with a creator that does not wait: a blocking caller runs it on this
    /// thread, an async one inside its future.
    pub async fn get_or_create<E: Send + Sync + 'static>(
        &self,
        key: &K,
        create: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, CreateError<E>> {
        match self.blocking() {
            Some(ns) => ns.get_or_create(key, create),
            None => {
                self.inner
                    .get_or_create_async(key, move || async move { create() })
                    .await
            }
        }
    }
}

impl<K, V, S> Clone for Ns<K, V, S> {
    fn clone(&self) -> Self {
        Ns {
            inner: self.inner.clone(),
            api: self.api,
        }
    }
}

impl<K, V, S> Ns<K, V, S>
where
    K: CacheKey + Send + Sync + 'static,
    V: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Drive + Send + Sync + 'static,
{
    /// `get_or_create` by another caller, running beside the case: a task of its own through the
    /// async API, a thread of its own through the blocking one (a blocking caller waits by
    /// blocking its thread, so it cannot share the case's). Its creator first waits until
    /// `ready` holds, then returns what `create` gives. Await the result; a caller that panicked
    /// fails the case there. A thread is never joined, so a caller that hangs fails the case
    /// through [`within`] instead of hanging it.
    pub fn spawn_get_or_create<E: Send + Sync + 'static>(
        &self,
        key: K,
        ready: impl Fn() -> bool + Send + Sync + 'static,
        create: impl FnOnce() -> Result<V, E> + Send + 'static,
    ) -> impl Future<Output = Result<V, CreateError<E>>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let inner = self.inner.clone();
        match self.api {
            Api::Blocking => {
                std::thread::spawn(move || {
                    let ns =
                        S::blocking(&inner).expect("only the in-memory store has the blocking API");
                    let result = ns.get_or_create(&key, move || {
                        blocking_wait_until("the creator's go-ahead", ready);
                        create()
                    });
                    let _ = tx.send(result);
                });
            }
            Api::Async => {
                tokio::spawn(async move {
                    let result = inner
                        .get_or_create_async(&key, move || async move {
                            wait_until("the creator's go-ahead", ready).await;
                            create()
                        })
                        .await;
                    let _ = tx.send(result);
                });
            }
        }
        async move { rx.await.expect("the spawned caller panicked") }
    }
}

/// Holds a spawned creator until the case opens it.
#[derive(Clone, Debug, Default)]
pub struct Gate(Arc<AtomicBool>);

impl Gate {
    /// Let the creator through.
    pub fn open(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// The condition a creator waits on ([`Ns::spawn_get_or_create`]'s `ready`).
    pub fn opened(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let open = Arc::clone(&self.0);
        move || open.load(Ordering::SeqCst)
    }
}

/// A creator's `ready` that holds at once.
pub fn at_once() -> bool {
    true
}

pub async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::task::yield_now().await;
    }
}

/// Await `fut`, failing after [`DEADLINE`] rather than hanging.
pub async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish"))
}

fn stats<S: Store>(cache: &Cache<S>) -> CacheStats {
    cache.stats()
}

// ---------------------------------------------------------------------------------------------
// Helpers for blocking callers on threads (tests/cache.rs, tests/checklist/cache.rs)
// ---------------------------------------------------------------------------------------------

/// An in-memory cache on a manual clock with the given default TTL and grace.
pub fn blocking_cache(ttl: Duration, grace: Duration) -> (Cache, ManualCacheClock) {
    let clock = ManualCacheClock::new();
    let cache = Cache::builder()
        .clock(clock.clone())
        .ttl(ttl)
        .grace(grace)
        .build()
        .unwrap();
    (cache, clock)
}

/// Poll `done` from a thread until it holds; fail after [`DEADLINE`] rather than hang.
pub fn blocking_wait_until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

/// Run `f` on another thread and fail if it has not returned within [`DEADLINE`]: for calls that
/// must not block.
pub fn promptly<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("{what} blocked"))
}

/// One `#[tokio::test]` per case, against the factory `$factory` (an expression giving an
/// `Option` of a [`Factory`]: `None` skips). `cache_suite!(factory)` runs every case through the
/// async API; `cache_suite!(factory, blocking)` runs the cases that read the same through either
/// API through the blocking one (the in-memory store only): all but the three about futures.
#[macro_export]
macro_rules! cache_suite {
    ($factory:expr) => {
        $crate::cache_suite!(@either_api $factory, cache_suite::Api::Async);
        $crate::cache_suite!(@async_cases $factory;
            a_cancelled_creator_hands_the_key_to_a_waiting_task,
            the_future_is_send,
            memoize_works_with_async_functions,
        );
    };
    ($factory:expr, blocking) => {
        $crate::cache_suite!(@either_api $factory, cache_suite::Api::Blocking);
    };
    (@either_api $factory:expr, $api:expr) => {
        $crate::cache_suite!(@cases $factory, $api;
            expiry_is_decided_by_the_injected_clock,
            per_entry_and_per_namespace_ttls_override_the_default,
            within_grace_one_caller_refreshes_and_the_others_get_the_stale_value_at_once,
            past_the_grace_period_a_value_is_dead,
            without_grace_an_expired_value_is_never_served,
            a_failed_refresh_reports_its_error_and_the_stale_value_stays_servable,
            clearing_a_namespace_touches_no_other_namespace_or_cache,
            invalidate_removes_one_key,
            structured_keys_never_collide_like_joined_strings,
            namespaces_with_the_same_keys_are_separate,
            a_creation_in_progress_does_not_repopulate_a_cleared_namespace,
            sixty_four_callers_on_one_cold_key_make_one_creation,
            a_failing_creator_runs_once_and_every_waiter_gets_its_error,
            the_toggle_is_honoured_mid_run,
            while_disabled_reads_miss_and_writes_do_not_resurface_later,
            a_value_created_while_the_toggle_flips_off_is_not_stored,
            every_lookup_counts_once,
            values_over_the_codec_limit_are_errors_for_the_creator_and_its_waiters,
            an_entry_of_another_type_is_a_miss_and_is_replaced,
            sealed_entries_round_trip,
            sealed_waiters_open_the_shared_entry,
            debug_output_holds_no_keys_values_or_secrets,
            expiry_matches_a_model,
        );
    };
    (@cases $factory:expr, $api:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(factory) = $factory {
                    cache_suite::$case(&factory, $api).await;
                }
            }
        )*
    };
    (@async_cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                if let Some(factory) = $factory {
                    cache_suite::$case(&factory).await;
                }
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// Expiry, grace and stale serving
// ---------------------------------------------------------------------------------------------

pub async fn expiry_is_decided_by_the_injected_clock<F: Factory>(f: &F, api: Api) {
    let (cache, clock) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = namespace::<u64, Profile, _>(&cache, api, "users");
    ns.insert(&1, &profile(1)).await.unwrap();
    clock.advance(60 * SECOND - Duration::from_nanos(1));
    assert_eq!(
        ns.get(&1).await,
        Some(profile(1)),
        "fresh until the last nanosecond"
    );
    clock.advance(Duration::from_nanos(1));
    assert_eq!(ns.get(&1).await, None, "expired exactly at the TTL");
}

pub async fn per_entry_and_per_namespace_ttls_override_the_default<F: Factory>(f: &F, api: Api) {
    let mut spec = Spec::new(100 * SECOND, Duration::ZERO);
    spec.namespaces.push((
        "short".into(),
        NamespaceConfig::builder().ttl(10 * SECOND).build().unwrap(),
    ));
    let clock = spec.clock.clone();
    let cache = f.cache(spec).await;
    let default = namespace::<u8, u8, _>(&cache, api, "default");
    let short = namespace::<u8, u8, _>(&cache, api, "short");
    assert_eq!((default.ttl(), short.ttl()), (100 * SECOND, 10 * SECOND));
    default.insert(&1, &1).await.unwrap();
    short.insert(&1, &1).await.unwrap();
    default.insert_with_ttl(&2, &2, 5 * SECOND).await.unwrap();
    short.insert_with_ttl(&2, &2, 50 * SECOND).await.unwrap();
    clock.advance(6 * SECOND);
    assert_eq!(
        (
            default.get(&1).await,
            default.get(&2).await,
            short.get(&1).await,
            short.get(&2).await
        ),
        (Some(1), None, Some(1), Some(2))
    );
    clock.advance(5 * SECOND);
    assert_eq!(
        (
            default.get(&1).await,
            short.get(&1).await,
            short.get(&2).await
        ),
        (Some(1), None, Some(2))
    );
    clock.advance(90 * SECOND);
    assert_eq!((default.get(&1).await, short.get(&2).await), (None, None));
}

pub async fn within_grace_one_caller_refreshes_and_the_others_get_the_stale_value_at_once<
    F: Factory,
>(
    f: &F,
    api: Api,
) {
    let (cache, clock) = manual(f, 60 * SECOND, 30 * SECOND).await;
    let ns = namespace::<u32, String, _>(&cache, api, "pages");
    ns.insert(&1, &"old".to_string()).await.unwrap();
    clock.advance(75 * SECOND);
    let go = Gate::default();
    let refresher = ns.spawn_get_or_create(1, go.opened(), || ok("new".to_string()));
    wait_until("the refresh to start", || stats(&cache).creations == 1).await;
    for _ in 0..5 {
        let stale = ns.spawn_get_or_create(1, at_once, || -> Result<String, Boom> {
            panic!("only one caller refreshes")
        });
        assert_eq!(within("a stale serve", stale).await.unwrap(), "old");
    }
    assert_eq!(ns.get(&1).await, None, "get never serves a stale value");
    go.open();
    assert_eq!(within("the refresh", refresher).await.unwrap(), "new");
    assert_eq!(ns.get(&1).await.as_deref(), Some("new"));
    let s = stats(&cache);
    assert_eq!((s.stale_serves, s.creations), (5, 1), "{s:?}");
}

pub async fn past_the_grace_period_a_value_is_dead<F: Factory>(f: &F, api: Api) {
    let (cache, clock) = manual(f, 60 * SECOND, 30 * SECOND).await;
    let ns = namespace::<u32, String, _>(&cache, api, "pages");
    ns.insert(&1, &"old".to_string()).await.unwrap();
    clock.advance(90 * SECOND);
    let v = ns.get_or_create(&1, || ok("new".to_string())).await;
    assert_eq!(v.unwrap(), "new");
    let s = stats(&cache);
    assert_eq!((s.stale_serves, s.misses, s.creations), (0, 1, 1), "{s:?}");
}

pub async fn without_grace_an_expired_value_is_never_served<F: Factory>(f: &F, api: Api) {
    let (cache, clock) = manual(f, 10 * SECOND, Duration::ZERO).await;
    let ns = namespace::<u32, u32, _>(&cache, api, "n");
    ns.insert(&1, &1).await.unwrap();
    clock.advance(10 * SECOND);
    assert_eq!(ns.get_or_create(&1, || { ok(2) }).await.unwrap(), 2);
    assert_eq!(stats(&cache).stale_serves, 0);
}

pub async fn a_failed_refresh_reports_its_error_and_the_stale_value_stays_servable<F: Factory>(
    f: &F,
    api: Api,
) {
    let (cache, clock) = manual(f, 60 * SECOND, 30 * SECOND).await;
    let ns = namespace::<u32, String, _>(&cache, api, "pages");
    ns.insert(&1, &"old".to_string()).await.unwrap();
    clock.advance(70 * SECOND);
    let failed = ns.get_or_create(&1, || Err::<String, _>(Boom(1))).await;
    assert!(matches!(failed, Err(CreateError::Create(e)) if e.0 == 1));
    // The error is not cached: the next caller refreshes again, and while it does, the stale
    // value is still served to the others.
    let go = Gate::default();
    let refresher = ns.spawn_get_or_create(1, go.opened(), || ok("new".to_string()));
    wait_until("the second refresh", || stats(&cache).creations == 2).await;
    let during = ns.spawn_get_or_create(1, at_once, || Err::<String, _>(Boom(99)));
    assert_eq!(within("a stale serve", during).await.unwrap(), "old");
    go.open();
    assert_eq!(within("the refresh", refresher).await.unwrap(), "new");
    // The refreshed value has a full lifetime from the refresh.
    clock.advance(59 * SECOND);
    assert_eq!(ns.get(&1).await.as_deref(), Some("new"));
}

// ---------------------------------------------------------------------------------------------
// Namespaces and keys
// ---------------------------------------------------------------------------------------------

pub async fn clearing_a_namespace_touches_no_other_namespace_or_cache<F: Factory>(f: &F, api: Api) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let (other_cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let a = namespace::<u32, u32, _>(&cache, api, "a");
    let b = namespace::<u32, u32, _>(&cache, api, "b");
    let other_a = namespace::<u32, u32, _>(&other_cache, api, "a");
    for k in 0..20 {
        for ns in [&a, &b, &other_a] {
            ns.insert(&k, &k).await.unwrap();
        }
    }
    a.clear().await;
    assert_eq!(a.generation().await, 1);
    assert_eq!(b.generation().await, 0);
    for k in 0..20 {
        assert_eq!(a.get(&k).await, None);
        assert_eq!(b.get(&k).await, Some(k));
        assert_eq!(other_a.get(&k).await, Some(k));
    }
    let again = namespace::<u32, u32, _>(&cache, api, "a");
    assert_eq!(again.get(&5).await, None);
    a.insert(&5, &50).await.unwrap();
    assert_eq!(again.get(&5).await, Some(50));
}

pub async fn invalidate_removes_one_key<F: Factory>(f: &F, api: Api) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = namespace::<u32, u32, _>(&cache, api, "n");
    ns.insert(&1, &1).await.unwrap();
    ns.insert(&2, &2).await.unwrap();
    ns.invalidate(&1).await;
    assert_eq!((ns.get(&1).await, ns.get(&2).await), (None, Some(2)));
}

pub async fn structured_keys_never_collide_like_joined_strings<F: Factory>(f: &F, api: Api) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = namespace::<Vec<String>, u32, _>(&cache, api, "args");
    ns.insert(&vec!["a b".into()], &1).await.unwrap();
    ns.insert(&vec!["a".into(), "b".into()], &2).await.unwrap();
    ns.insert(&vec!["a".into(), " b".into()], &3).await.unwrap();
    assert_eq!(ns.get(&vec!["a b".into()]).await, Some(1));
    assert_eq!(ns.get(&vec!["a".into(), "b".into()]).await, Some(2));
    assert_eq!(ns.get(&vec!["a".into(), " b".into()]).await, Some(3));
    assert_eq!(
        ns.get(&vec!["a".into(), "b".into(), String::new()]).await,
        None
    );
}

pub async fn namespaces_with_the_same_keys_are_separate<F: Factory>(f: &F, api: Api) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let a = namespace::<u32, String, _>(&cache, api, "a");
    let b = namespace::<u32, String, _>(&cache, api, "b");
    // A namespace whose name ends where another's key begins still does not collide.
    let a1 = namespace::<u32, String, _>(&cache, api, "a:1");
    a.insert(&1, &"a".into()).await.unwrap();
    assert_eq!(b.get(&1).await, None);
    assert_eq!(a1.get(&1).await, None);
    assert_eq!(
        b.get_or_create(&1, || { ok("b".to_string()) })
            .await
            .unwrap(),
        "b"
    );
    assert_eq!(a.get(&1).await.as_deref(), Some("a"));
}

pub async fn a_creation_in_progress_does_not_repopulate_a_cleared_namespace<F: Factory>(
    f: &F,
    api: Api,
) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = namespace::<u32, u32, _>(&cache, api, "n");
    let go = Gate::default();
    let creator = ns.spawn_get_or_create(1, go.opened(), || ok(1));
    wait_until("the creation to start", || stats(&cache).creations == 1).await;
    ns.clear().await;
    go.open();
    let value = within("the creation", creator).await;
    assert_eq!(value.unwrap(), 1, "the caller still gets what it created");
    assert_eq!(
        ns.get(&1).await,
        None,
        "but the cleared namespace stays empty"
    );
}

// ---------------------------------------------------------------------------------------------
// Single-flight
// ---------------------------------------------------------------------------------------------

pub async fn sixty_four_callers_on_one_cold_key_make_one_creation<F: Factory>(f: &F, api: Api) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = namespace::<String, Profile, _>(&cache, api, "users");
    let runs = Arc::new(AtomicU32::new(0));
    let callers: Vec<_> = (0..64)
        .map(|_| {
            let (cache, runs) = (cache.clone(), Arc::clone(&runs));
            // The creator holds the creation until the 63 others are waiting on it.
            let all_waiting = move || stats(&cache).coalesced == 63;
            ns.spawn_get_or_create("cold".to_string(), all_waiting, move || {
                runs.fetch_add(1, Ordering::SeqCst);
                ok(profile(7))
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(within("a caller", caller).await.unwrap(), profile(7));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let s = stats(&cache);
    assert_eq!((s.creations, s.coalesced, s.misses), (1, 63, 64), "{s:?}");
    assert_eq!(ns.get(&"cold".to_string()).await, Some(profile(7)));
}

pub async fn a_failing_creator_runs_once_and_every_waiter_gets_its_error<F: Factory>(
    f: &F,
    api: Api,
) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = namespace::<u32, Profile, _>(&cache, api, "users");
    let runs = Arc::new(AtomicU32::new(0));
    let callers: Vec<_> = (0..64)
        .map(|_| {
            let (cache, runs) = (cache.clone(), Arc::clone(&runs));
            let all_waiting = move || stats(&cache).coalesced == 63;
            ns.spawn_get_or_create(9, all_waiting, move || {
                runs.fetch_add(1, Ordering::SeqCst);
                Err::<Profile, _>(Boom(9))
            })
        })
        .collect();
    let mut errors = Vec::new();
    for caller in callers {
        match within("a caller", caller).await {
            Err(CreateError::Create(e)) => errors.push(e),
            other => panic!("expected the creator's error, got {other:?}"),
        }
    }
    assert_eq!(errors.len(), 64);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "Beaker ran it once per waiter"
    );
    assert!(errors
        .iter()
        .all(|e| Arc::ptr_eq(e, &errors[0]) && e.0 == 9));
    let s = stats(&cache);
    assert_eq!((s.creations, s.create_errors), (1, 1), "{s:?}");
    // The error is not cached, and the creation lock was released: the next call creates.
    let next = ns.spawn_get_or_create(9, at_once, || ok(profile(9)));
    assert_eq!(within("the next creation", next).await.unwrap(), profile(9));
}

pub async fn a_cancelled_creator_hands_the_key_to_a_waiting_task<F: Factory>(f: &F) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = cache.namespace::<u32, String>("n");
    let leader = {
        let ns = ns.clone();
        tokio::spawn(async move {
            ns.get_or_create_async(&1, std::future::pending::<Result<String, Boom>>)
                .await
        })
    };
    wait_until("the first creator", || stats(&cache).creations == 1).await;
    let waiter = {
        let ns = ns.clone();
        tokio::spawn(async move {
            ns.get_or_create_async(&1, || async { ok("second".to_string()) })
                .await
        })
    };
    wait_until("a waiter", || stats(&cache).coalesced == 1).await;
    let started = Instant::now();
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    assert_eq!(
        within("the waiter", waiter).await.unwrap().unwrap(),
        "second"
    );
    // A shared store's lock is released when its creator is dropped: no wait for its TTL.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stats(&cache).creations, 2);
}

pub async fn the_future_is_send<F: Factory>(f: &F) {
    fn assert_send<T: Send>(_: &T) {}
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = cache.namespace::<String, Profile>("n");
    let key = String::new();
    let fut = ns.get_or_create_async(&key, || async { ok(profile(1)) });
    assert_send(&fut);
    assert_eq!(fut.await.unwrap(), profile(1));
}

// ---------------------------------------------------------------------------------------------
// Toggle and counters
// ---------------------------------------------------------------------------------------------

pub async fn the_toggle_is_honoured_mid_run<F: Factory>(f: &F, api: Api) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = namespace::<String, u32, _>(&cache, api, "n");
    let other_handle = cache.clone();
    let runs = AtomicU32::new(0);
    let mut seen = Vec::new();
    let key = "k".to_string();
    for i in 0..100u32 {
        match i {
            40 => other_handle.set_enabled(false),
            70 => other_handle.set_enabled(true),
            _ => {}
        }
        let v = ns
            .get_or_create(&key, || {
                runs.fetch_add(1, Ordering::SeqCst);
                ok(i)
            })
            .await
            .unwrap();
        seen.push(v);
    }
    assert!(seen[..40].iter().all(|&v| v == 0));
    assert_eq!(seen[40..70], (40..70).collect::<Vec<_>>()[..]);
    assert!(seen[70..].iter().all(|&v| v == 70), "{:?}", &seen[70..]);
    assert_eq!(runs.load(Ordering::SeqCst), 1 + 30 + 1);
    assert_eq!(stats(&cache).bypasses, 30);
    assert!(cache.is_enabled());
}

pub async fn while_disabled_reads_miss_and_writes_do_not_resurface_later<F: Factory>(
    f: &F,
    api: Api,
) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let ns = namespace::<u32, u32, _>(&cache, api, "n");
    ns.insert(&1, &1).await.unwrap();
    cache.set_enabled(false);
    assert_eq!(ns.get(&1).await, None);
    ns.insert(&1, &2).await.unwrap(); // not stored, but the old value is dropped
    cache.set_enabled(true);
    assert_eq!(
        ns.get(&1).await,
        None,
        "the value from before the write is gone"
    );
}

pub async fn a_value_created_while_the_toggle_flips_off_is_not_stored<F: Factory>(f: &F, api: Api) {
    let (cache, clock) = manual(f, 60 * SECOND, 30 * SECOND).await;
    let ns = namespace::<u32, u32, _>(&cache, api, "n");
    ns.insert(&1, &1).await.unwrap();
    clock.advance(70 * SECOND);
    let v = ns
        .get_or_create(&1, || {
            cache.set_enabled(false);
            ok(2)
        })
        .await;
    assert_eq!(v.unwrap(), 2);
    cache.set_enabled(true);
    assert_eq!(
        ns.get_or_create(&1, || { ok(3) }).await.unwrap(),
        3,
        "neither 1 nor 2"
    );
}

pub async fn every_lookup_counts_once<F: Factory>(f: &F, api: Api) {
    let (cache, clock) = manual(f, 10 * SECOND, 10 * SECOND).await;
    let ns = namespace::<u32, u32, _>(&cache, api, "n");
    assert_eq!(ns.get(&1).await, None); // miss
    ns.get_or_create(&1, || ok(1)).await.unwrap(); // miss + creation
    ns.get_or_create(&1, || ok(2)).await.unwrap(); // hit
    assert_eq!(ns.get(&1).await, Some(1)); // hit
    clock.advance(15 * SECOND);
    assert_eq!(ns.get(&1).await, None); // miss (stale is not served by get)
    ns.get_or_create(&1, || ok(3)).await.unwrap(); // miss: refreshes
    let s = stats(&cache);
    assert_eq!(
        (
            s.hits,
            s.misses,
            s.stale_serves,
            s.creations,
            s.coalesced,
            s.store_errors
        ),
        (2, 4, 0, 2, 0, 0),
        "{s:?}"
    );
    cache.set_enabled(false);
    ns.get(&1).await;
    assert_eq!(stats(&cache).bypasses, 1);
}

// ---------------------------------------------------------------------------------------------
// Codec limits, decoding and sealing
// ---------------------------------------------------------------------------------------------

pub async fn values_over_the_codec_limit_are_errors_for_the_creator_and_its_waiters<F: Factory>(
    f: &F,
    api: Api,
) {
    let mut spec = Spec::new(60 * SECOND, Duration::ZERO);
    spec.codec = Some(Codec::new().with_max_bytes(32));
    let cache = f.cache(spec).await;
    let ns = namespace::<u32, String, _>(&cache, api, "n");
    let long = "x".repeat(100);
    assert_eq!(
        ns.insert(&1, &long).await.unwrap_err().kind(),
        ErrorKind::PayloadTooLarge
    );
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (cache, long) = (cache.clone(), long.clone());
            let all_waiting = move || stats(&cache).coalesced == 3;
            ns.spawn_get_or_create(1, all_waiting, move || ok(long))
        })
        .collect();
    for caller in callers {
        match within("a caller", caller).await {
            Err(CreateError::Codec(e)) => assert_eq!(e.kind(), ErrorKind::PayloadTooLarge),
            other => panic!("expected a codec error, got {other:?}"),
        }
    }
    assert_eq!(stats(&cache).creations, 1);
    // A key that JSON cannot represent is refused too (a map with non-string keys).
    let odd = namespace::<BTreeMap<Vec<u8>, u8>, u8, _>(&cache, api, "odd");
    let key = BTreeMap::from([(vec![1], 1)]);
    assert_eq!(
        odd.insert(&key, &1).await.unwrap_err().kind(),
        ErrorKind::Codec
    );
}

pub async fn an_entry_of_another_type_is_a_miss_and_is_replaced<F: Factory>(f: &F, api: Api) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    namespace::<u32, String, _>(&cache, api, "n")
        .insert(&1, &"text".into())
        .await
        .unwrap();
    let numbers = namespace::<u32, u64, _>(&cache, api, "n");
    assert_eq!(numbers.get(&1).await, None);
    assert_eq!(numbers.get_or_create(&1, || { ok(7) }).await.unwrap(), 7);
    assert_eq!(numbers.get(&1).await, Some(7));
    assert!(stats(&cache).decode_failures >= 1);
}

pub async fn sealed_entries_round_trip<F: Factory>(f: &F, api: Api) {
    let mut spec = Spec::new(10 * SECOND, Duration::ZERO);
    spec.ring = Some(KeyRing::builder().primary(Key::generate()).build().unwrap());
    let clock = spec.clock.clone();
    let cache = f.cache(spec).await;
    assert!(cache.is_sealed());
    let ns = namespace::<String, Profile, _>(&cache, api, "users");
    let key = "ann".to_string();
    ns.insert(&key, &profile(1)).await.unwrap();
    assert_eq!(ns.get(&key).await, Some(profile(1)));
    assert_eq!(ns.get(&"bob".to_string()).await, None);
    let bob = "bob".to_string();
    let created = ns.get_or_create(&bob, || ok(profile(2)));
    assert_eq!(created.await.unwrap(), profile(2));
    assert_eq!(ns.get(&"bob".to_string()).await, Some(profile(2)));
    ns.clear().await;
    assert_eq!(ns.get(&key).await, None);
    clock.advance(10 * SECOND);
    assert_eq!(stats(&cache).decode_failures, 0);
}

pub async fn sealed_waiters_open_the_shared_entry<F: Factory>(f: &F, api: Api) {
    let mut spec = Spec::new(60 * SECOND, Duration::ZERO);
    spec.ring = Some(KeyRing::generate());
    let cache = f.cache(spec).await;
    let ns = namespace::<u32, Profile, _>(&cache, api, "n");
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let cache = cache.clone();
            let all_waiting = move || stats(&cache).coalesced == 7;
            ns.spawn_get_or_create(1, all_waiting, || ok(profile(3)))
        })
        .collect();
    for caller in callers {
        assert_eq!(within("a caller", caller).await.unwrap(), profile(3));
    }
}

pub async fn memoize_works_with_async_functions<F: Factory>(f: &F) {
    let (cache, _) = manual(f, 60 * SECOND, Duration::ZERO).await;
    let calls = Arc::new(AtomicU32::new(0));
    let fetch = cache.namespace::<u64, String>("fetch").memoize(
        |(id, _): &(u64, Arc<AtomicU32>)| *id,
        |(id, calls): (u64, Arc<AtomicU32>)| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            ok(format!("doc {id}"))
        },
    );
    for _ in 0..3 {
        assert_eq!(
            fetch.call_async((4, Arc::clone(&calls))).await.unwrap(),
            "doc 4"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    fetch.namespace().clear_async().await.unwrap();
    assert_eq!(
        fetch.call_async((4, Arc::clone(&calls))).await.unwrap(),
        "doc 4"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

pub async fn debug_output_holds_no_keys_values_or_secrets<F: Factory>(f: &F, api: Api) {
    let key = Key::generate();
    let mut spec = Spec::new(60 * SECOND, Duration::ZERO);
    spec.ring = Some(KeyRing::builder().primary(key.clone()).build().unwrap());
    spec.name = Some("region-a".into());
    let cache = f.cache(spec).await;
    let ns = namespace::<String, String, _>(&cache, api, "users");
    ns.insert(&"secret-key-text".into(), &"secret-value-text".into())
        .await
        .unwrap();
    let texts = [
        format!("{cache:?}"),
        format!("{:?}", *ns),
        format!("{:?}", cache.stats()),
        format!("{:?}", cache.store()),
    ];
    for t in &texts {
        assert!(!t.contains("secret-key-text"), "{t}");
        assert!(!t.contains("secret-value-text"), "{t}");
        assert!(!t.contains(key.to_base64().as_str()), "{t}");
    }
    assert!(texts[0].contains("region-a") && texts[1].contains("users"));
}

// ---------------------------------------------------------------------------------------------
// Model-based property test of expiry
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Insert { key: u8, ttl_ms: u32 },
    Create { key: u8 },
    Advance { ms: u32 },
    Get { key: u8 },
    Invalidate { key: u8 },
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    // Lifetimes of seconds (a shared store's backstop expiry is real time: TTL plus grace).
    prop_oneof![
        (0u8..8, 1u32..20_000).prop_map(|(key, ttl_ms)| Op::Insert { key, ttl_ms }),
        (0u8..8).prop_map(|key| Op::Create { key }),
        (0u32..15_000).prop_map(|ms| Op::Advance { ms }),
        (0u8..8).prop_map(|key| Op::Get { key }),
        (0u8..8).prop_map(|key| Op::Invalidate { key }),
        Just(Op::Clear),
    ]
}

/// Against a model (a map of value and fresh-until time), with a grace period: `get` returns
/// exactly the fresh values; `get_or_create` returns the fresh value, or refreshes (no
/// concurrency here, so this caller always refreshes), or creates.
async fn run_model<S: Drive>(ns: Ns<u8, u32, S>, clock: ManualCacheClock, ops: Vec<Op>) {
    const TTL: Duration = Duration::from_secs(10);
    let mut model: HashMap<u8, (u32, Duration)> = HashMap::new();
    let mut now = Duration::ZERO;
    let mut next = 0u32;
    for op in ops {
        match op {
            Op::Insert { key, ttl_ms } => {
                next += 1;
                let ttl = Duration::from_millis(u64::from(ttl_ms));
                ns.insert_with_ttl(&key, &next, ttl).await.unwrap();
                model.insert(key, (next, now + ttl));
            }
            Op::Create { key } => {
                next += 1;
                let created = next;
                let got = ns.get_or_create(&key, || ok(created)).await.unwrap();
                let expected = match model.get(&key) {
                    Some(&(v, until)) if now < until => v,
                    _ => {
                        model.insert(key, (next, now + TTL));
                        next
                    }
                };
                assert_eq!(got, expected, "{op:?}");
            }
            Op::Advance { ms } => {
                let d = Duration::from_millis(u64::from(ms));
                clock.advance(d);
                now += d;
            }
            Op::Get { key } => {
                let expected = model
                    .get(&key)
                    .filter(|(_, until)| now < *until)
                    .map(|(v, _)| *v);
                assert_eq!(ns.get(&key).await, expected, "{op:?}");
            }
            Op::Invalidate { key } => {
                ns.invalidate(&key).await;
                model.remove(&key);
            }
            Op::Clear => {
                ns.clear().await;
                model.clear();
            }
        }
    }
}

pub async fn expiry_matches_a_model<F: Factory>(f: &F, api: Api) {
    let cases = if F::SHARED { 48 } else { 200 };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
    let strategy = proptest::collection::vec(op(), 1..60);
    let mut inputs = Vec::new();
    for _ in 0..cases {
        inputs.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    // Each sequence on a fresh cache; generated up front, since proptest's runner is not async.
    for ops in inputs {
        let spec = Spec::new(Duration::from_secs(10), Duration::from_secs(5));
        let clock = spec.clock.clone();
        let cache = f.cache(spec).await;
        run_model(namespace(&cache, api, "m"), clock, ops).await;
    }
}
