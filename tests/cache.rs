//! Integration tests of `sealed_session::cache` through the public API only.
//!
//! Time is a [`ManualCacheClock`]: nothing here sleeps. Where a test must wait for another
//! thread or task to reach a point (a creator started, N callers waiting), it polls a counter of
//! [`Cache::stats`] with a deadline, so a regression fails with a message instead of hanging.
//!
//! The behaviour every store shares is the suite in `tests/common/cache_suite.rs`, run here over
//! the in-memory store three times: through the async API (`memory_suite`), through the blocking
//! API (`memory_blocking_suite`: every case but the three about futures, stale serving and single
//! flight included, with blocking callers on threads) and with every cache sealed
//! (`memory_sealed_suite`); tests/redis.rs runs it over Redis. What only the in-memory store or
//! only the blocking API has is here: panicking creators, a dropped future, re-entrancy, sync and
//! async callers sharing one creation, the byte bound under a flood of 100 000 distinct keys,
//! weights, a cache built disabled, memoize over borrowed arguments, regions, and extreme
//! settings.
#![cfg(feature = "cache")]
// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test, never a crash on hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Waker};
use std::thread;
use std::time::Duration;

use proptest::prelude::*;
use sealed_session::cache::{
    Cache, CacheRegions, CacheStats, CreateError, ManualCacheClock, NamespaceConfig, RegionConfig,
};
use sealed_session::{ErrorKind, Key, KeyRing};

#[path = "common/cache_suite.rs"]
mod cache_suite;

use cache_suite::{
    blocking_cache, blocking_wait_until, ok, profile, promptly, wait_until, within, Boom, Profile,
    SECOND,
};

fn stats(cache: &Cache) -> CacheStats {
    cache.stats()
}

// ---------------------------------------------------------------------------------------------
// Namespaces and keys
// ---------------------------------------------------------------------------------------------

/// Clearing is O(1) in the in-memory store: no entry is visited (the suite's
/// `clearing_a_namespace_touches_no_other_namespace_or_cache` checks what clearing does).
#[test]
fn clearing_a_namespace_visits_no_entry() {
    let (cache, _) = blocking_cache(60 * SECOND, Duration::ZERO);
    let a = cache.namespace::<u32, u32>("a");
    let b = cache.namespace::<u32, u32>("b");
    for k in 0..100 {
        a.insert(&k, &k).unwrap();
        b.insert(&k, &k).unwrap();
    }
    cache.run_pending_tasks();
    let held = cache.entry_count();
    a.clear();
    cache.run_pending_tasks();
    assert_eq!(cache.entry_count(), held, "O(1): no entry was visited");
    assert_eq!((a.get(&1), b.get(&1)), (None, Some(1)));
}

// ---------------------------------------------------------------------------------------------
// Single-flight
// ---------------------------------------------------------------------------------------------

#[test]
fn a_panicking_creator_hands_the_key_to_a_waiter() {
    let (cache, _) = blocking_cache(60 * SECOND, Duration::ZERO);
    let ns = cache.namespace::<u32, u32>("n");
    let leader = {
        let (ns, cache) = (ns.clone(), cache.clone());
        thread::spawn(move || {
            ns.get_or_create(&1, || -> Result<u32, Boom> {
                blocking_wait_until("a waiter", || stats(&cache).coalesced == 1);
                panic!("creator exploded")
            })
        })
    };
    blocking_wait_until("the first creator", || stats(&cache).creations == 1);
    let waiter = {
        let ns = ns.clone();
        thread::spawn(move || promptly("the waiter", move || ns.get_or_create(&1, || ok(42))))
    };
    assert!(
        leader.join().is_err(),
        "the panic reaches the leader's caller"
    );
    assert_eq!(waiter.join().unwrap().unwrap(), 42);
    assert_eq!(stats(&cache).creations, 2);
    assert_eq!(ns.get(&1), Some(42));
}

#[test]
fn a_panicking_creator_alone_does_not_wedge_the_key() {
    let (cache, _) = blocking_cache(60 * SECOND, Duration::ZERO);
    let ns = cache.namespace::<u32, u32>("n");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ns.get_or_create(&1, || -> Result<u32, Boom> { panic!("creator exploded") })
    }));
    assert!(r.is_err());
    let next = promptly("the next caller", move || ns.get_or_create(&1, || ok(1)));
    assert_eq!(next.unwrap(), 1);
}

#[test]
fn a_dropped_future_does_not_wedge_the_key() {
    let (cache, _) = blocking_cache(60 * SECOND, Duration::ZERO);
    let ns = cache.namespace::<u32, u32>("n");
    let mut fut: Pin<Box<dyn Future<Output = _>>> =
        Box::pin(ns.get_or_create_async(&1, std::future::pending::<Result<u32, Boom>>));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert_eq!(stats(&cache).creations, 1);
    drop(fut);
    let next = promptly("the next caller", move || ns.get_or_create(&1, || ok(5)));
    assert_eq!(next.unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_and_async_callers_share_one_creation() {
    let (cache, _) = blocking_cache(60 * SECOND, Duration::ZERO);
    let ns = cache.namespace::<u32, u32>("n");
    let leader = {
        let (ns, cache) = (ns.clone(), cache.clone());
        thread::spawn(move || {
            ns.get_or_create(&1, || {
                blocking_wait_until("an async waiter", || stats(&cache).coalesced == 1);
                ok(11)
            })
        })
    };
    wait_until("the sync creator", || stats(&cache).creations == 1).await;
    let got = within(
        "the async waiter",
        ns.get_or_create_async(&1, || async { ok(22) }),
    )
    .await;
    assert_eq!(got.unwrap(), 11);
    assert_eq!(leader.join().unwrap().unwrap(), 11);
    assert_eq!(stats(&cache).creations, 1);
}

#[test]
fn a_creator_asking_for_its_own_key_gets_an_error_not_a_deadlock() {
    let (cache, _) = blocking_cache(60 * SECOND, Duration::ZERO);
    let ns = cache.namespace::<u32, u32>("n");
    let outer = ns.get_or_create(&1, || {
        let inner = ns.get_or_create(&1, || ok(0));
        assert!(matches!(inner, Err(CreateError::Reentrant)), "{inner:?}");
        ok(1)
    });
    assert_eq!(outer.unwrap(), 1);
}

// ---------------------------------------------------------------------------------------------
// The byte bound
// ---------------------------------------------------------------------------------------------

#[test]
fn the_byte_bound_holds_under_a_flood_of_100k_distinct_keys() {
    const CAPACITY: u64 = 1 << 20;
    let clock = ManualCacheClock::new();
    let cache = Cache::builder()
        .clock(clock)
        .capacity_bytes(CAPACITY)
        .build()
        .unwrap();
    let ns = cache.namespace::<u64, String>("flood");
    let value = |i: u64| format!("value {i:08} {}", "x".repeat(40));
    let mut max_seen = 0;
    for i in 0..100_000u64 {
        if i % 2 == 0 {
            ns.insert(&i, &value(i)).unwrap();
        } else {
            ns.get_or_create(&i, || ok(value(i))).unwrap();
        }
        if i % 1000 == 999 {
            cache.run_pending_tasks();
            max_seen = max_seen.max(cache.weighted_size());
            assert!(
                cache.weighted_size() <= CAPACITY,
                "after {} keys: {} > {CAPACITY}",
                i + 1,
                cache.weighted_size()
            );
        }
    }
    cache.run_pending_tasks();
    let s = stats(&cache);
    assert!(cache.weighted_size() <= CAPACITY);
    // Every entry weighs at least the fixed overhead, so the entry count is bounded too.
    assert!(cache.entry_count() * Cache::ENTRY_OVERHEAD <= CAPACITY);
    assert!(s.evictions >= 100_000 - cache.entry_count(), "{s:?}");
    assert!(max_seen > CAPACITY / 2, "the cache was used: {max_seen}");
}

#[test]
fn an_entry_heavier_than_the_capacity_is_returned_but_not_kept() {
    let cache = Cache::builder()
        .clock(ManualCacheClock::new())
        .capacity_bytes(Cache::ENTRY_OVERHEAD + 10)
        .build()
        .unwrap();
    let ns = cache.namespace::<u8, String>("n");
    let big = "x".repeat(100);
    assert_eq!(ns.get_or_create(&1, || ok(big.clone())).unwrap(), big);
    cache.run_pending_tasks();
    assert_eq!(ns.get(&1), None);
    assert_eq!(cache.weighted_size(), 0);
}

// ---------------------------------------------------------------------------------------------
// Toggle and counters
// ---------------------------------------------------------------------------------------------

/// What the suite's `while_disabled_reads_miss_and_writes_do_not_resurface_later` cannot ask of
/// every store: a cache built disabled stores nothing from the start.
#[test]
fn a_cache_built_disabled_stores_nothing() {
    let disabled = Cache::builder().enabled(false).build().unwrap();
    assert!(!disabled.is_enabled());
    let d = disabled.namespace::<u32, u32>("n");
    d.insert(&1, &1).unwrap();
    assert_eq!(d.get(&1), None);
}

// ---------------------------------------------------------------------------------------------
// Sealing
// ---------------------------------------------------------------------------------------------

/// What a sealed entry weighs, as `Cache::ENTRY_OVERHEAD`'s documentation states (the round
/// trip itself is the suite's `sealed_entries_round_trip`, through both APIs).
#[test]
fn sealed_entries_weigh_the_documented_overhead() {
    let cache = Cache::builder()
        .clock(ManualCacheClock::new())
        .seal_with(KeyRing::generate())
        .build()
        .unwrap();
    let ns = cache.namespace::<String, Profile>("users");
    ns.insert(&"ann".to_string(), &profile(1)).unwrap();
    cache.run_pending_tasks();
    let plain = serde_json::to_vec(&profile(1)).unwrap().len() as u64;
    // 1 version byte + 4 key id + 12 nonce + 16 tag, the key's JSON ("ann" = 5), the overhead.
    assert_eq!(
        cache.weighted_size(),
        plain + 33 + 5 + Cache::ENTRY_OVERHEAD
    );
}

// ---------------------------------------------------------------------------------------------
// Memoize and regions
// ---------------------------------------------------------------------------------------------

/// Stand-ins for arguments that must not be part of the key.
struct Connection(AtomicU32);
struct Logger;

fn load(conn: &Connection, _log: &Logger, user: u64, lang: &str) -> Result<String, Boom> {
    conn.0.fetch_add(1, Ordering::SeqCst);
    if user == 0 {
        return Err(Boom(0));
    }
    Ok(format!("{user}:{lang}"))
}

#[test]
fn memoize_keys_on_the_chosen_arguments_only() {
    let (cache, _) = blocking_cache(60 * SECOND, Duration::ZERO);
    let greet = cache.namespace::<(u64, String), String>("greet").memoize(
        |(_, _, user, lang): &(&Connection, &Logger, u64, &str)| (*user, lang.to_string()),
        |(conn, log, user, lang)| load(conn, log, user, lang),
    );
    let (c1, c2) = (Connection(AtomicU32::new(0)), Connection(AtomicU32::new(0)));
    assert_eq!(greet.call((&c1, &Logger, 1, "en")).unwrap(), "1:en");
    assert_eq!(greet.call((&c2, &Logger, 1, "en")).unwrap(), "1:en");
    assert_eq!(greet.call((&c2, &Logger, 1, "fr")).unwrap(), "1:fr");
    assert_eq!(c1.0.load(Ordering::SeqCst) + c2.0.load(Ordering::SeqCst), 2);
    assert!(matches!(
        greet.call((&c1, &Logger, 0, "en")),
        Err(CreateError::Create(_))
    ));
    greet.namespace().clear();
    assert_eq!(greet.call((&c1, &Logger, 1, "en")).unwrap(), "1:en");
    assert_eq!(c1.0.load(Ordering::SeqCst), 3);
    assert!(format!("{greet:?}").contains("greet"));
}

#[test]
fn regions_are_built_from_deserialized_configuration() {
    let configs: BTreeMap<String, RegionConfig> = serde_json::from_str(
        r#"{
            "short": { "ttl_secs": 10, "grace_secs": 5, "capacity_bytes": 65536,
                       "namespaces": { "hot": { "ttl_secs": 2 } } },
            "long": { "ttl_secs": 3600, "enabled": false }
        }"#,
    )
    .unwrap();
    let clock = ManualCacheClock::new();
    let regions = CacheRegions::builder()
        .regions(configs)
        .clock(clock.clone())
        .build()
        .unwrap();
    assert_eq!(regions.len(), 2);
    let short = regions.get("short").unwrap();
    let long = regions.get("long").unwrap();
    assert_eq!(short.capacity_bytes(), 65536);
    assert!(short.is_enabled() && !long.is_enabled());
    let hot = short.namespace::<u32, u32>("hot");
    let warm = short.namespace::<u32, u32>("warm");
    assert_eq!((hot.ttl(), hot.grace()), (2 * SECOND, 5 * SECOND));
    assert_eq!((warm.ttl(), warm.grace()), (10 * SECOND, 5 * SECOND));
    hot.insert(&1, &1).unwrap();
    warm.insert(&1, &1).unwrap();
    clock.advance(3 * SECOND);
    assert_eq!((hot.get(&1), warm.get(&1)), (None, Some(1)));
    // Regions are separate caches: toggling one leaves the other alone.
    long.set_enabled(true);
    short.set_enabled(false);
    let l = long.namespace::<u32, u32>("n");
    l.insert(&1, &1).unwrap();
    assert_eq!(l.get(&1), Some(1));
    assert_eq!(warm.get(&1), None);
    assert!(Cache::from_regions([("x", RegionConfig::default())]).is_ok());
    assert!(serde_json::from_str::<HashMap<String, RegionConfig>>(
        r#"{"x": {"ttl_secs": 1, "capacity": 5}}"#
    )
    .is_err());
}

// ---------------------------------------------------------------------------------------------
// Debug
// ---------------------------------------------------------------------------------------------

/// The builder's `Debug` holds no secret (the suite's `debug_output_holds_no_keys_values_or_secrets`
/// checks the cache, its namespaces, stats and store).
#[test]
fn the_builders_debug_holds_no_secret() {
    let key = Key::generate();
    let builder = Cache::builder()
        .seal_with(KeyRing::builder().primary(key.clone()).build().unwrap())
        .name("region-a");
    let text = format!("{builder:?}");
    assert!(!text.contains(key.to_base64().as_str()), "{text}");
    assert!(text.contains("region-a"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Extreme settings (issue 17, item 3)
// ---------------------------------------------------------------------------------------------

/// Durations at and around every edge: zero, the largest, the limit and one past it, and any.
fn extreme_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        Just(Cache::MAX_LIFETIME),
        Just(Cache::MAX_LIFETIME + Duration::from_nanos(1)),
        any::<u64>().prop_map(Duration::from_secs),
        any::<u64>().prop_map(Duration::from_nanos),
        (any::<u64>(), 0..1_000_000_000u32).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every Duration setting of the cache builder (and of a namespace's configuration) is
    /// either refused with `InvalidConfig` or works, at build and in use: nothing panics, and a
    /// lifetime too long to honour is refused rather than stored. On the old code a TTL or grace
    /// of `Duration::MAX` built without complaint.
    #[test]
    fn extreme_durations_are_refused_with_a_typed_error_or_work(
        ttl in extreme_duration(),
        grace in extreme_duration(),
        ns_ttl in extreme_duration(),
        ns_grace in extreme_duration(),
        per_call in extreme_duration(),
        advance in extreme_duration(),
    ) {
        let fits = |d: Duration| d <= Cache::MAX_LIFETIME;
        let namespace = NamespaceConfig::builder().ttl(ns_ttl).grace(ns_grace).build();
        let ns_ok = !ns_ttl.is_zero() && fits(ns_ttl) && fits(ns_grace);
        prop_assert_eq!(namespace.is_ok(), ns_ok);
        if let Err(e) = &namespace {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        }
        let clock = ManualCacheClock::new();
        let built = Cache::builder()
            .clock(clock.clone())
            .ttl(ttl)
            .grace(grace)
            .seal_with(KeyRing::generate())
            .build();
        prop_assert_eq!(built.is_ok(), !ttl.is_zero() && fits(ttl) && fits(grace));
        let cache = match built {
            Ok(cache) => cache,
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidConfig);
                return Ok(());
            }
        };
        let ns = cache.namespace::<u8, u8>("n");
        ns.insert_with_ttl(&1, &1, per_call).unwrap();
        let _ = ns.get(&1);
        prop_assert_eq!(ns.get_or_create(&2, || ok(2)).unwrap(), 2);
        clock.advance(advance);
        let _ = ns.get(&1);
        let _ = ns.get_or_create(&2, || ok(3)).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// The store-independent suite (tests/common/cache_suite.rs), through both APIs; the async cases
// run against Redis in tests/redis.rs.
// ---------------------------------------------------------------------------------------------

/// The in-memory store, for the shared suite; `sealed` seals every cache the suite asks for, as
/// a shared store does by default (the cases that bring their own ring seal with it either way).
struct Memory {
    sealed: bool,
}

impl cache_suite::Factory for Memory {
    type S = sealed_session::cache::MemoryStore;
    const SHARED: bool = false;

    fn cache(&self, spec: cache_suite::Spec) -> impl Future<Output = Cache> + Send {
        let mut b = Cache::builder()
            .clock(spec.clock)
            .ttl(spec.ttl)
            .grace(spec.grace);
        for (name, config) in spec.namespaces {
            b = b.namespace(name, config);
        }
        if let Some(codec) = spec.codec {
            b = b.codec(codec);
        }
        match (spec.ring, self.sealed) {
            (Some(ring), _) => b = b.seal_with(ring),
            (None, true) => b = b.seal_with(KeyRing::generate()),
            (None, false) => {}
        }
        if let Some(name) = spec.name {
            b = b.name(name);
        }
        std::future::ready(b.build().unwrap())
    }
}

mod memory_suite {
    use super::*;

    cache_suite!(Some(Memory { sealed: false }));
}

mod memory_blocking_suite {
    use super::*;

    cache_suite!(Some(Memory { sealed: false }), blocking);
}

mod memory_sealed_suite {
    use super::*;

    cache_suite!(Some(Memory { sealed: true }));
}
