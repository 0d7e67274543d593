//! Cache (rows 39–42), feature `cache`: single flight, wedged keys, expiry and the byte bound.

use std::future::Future as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use sealed_session::cache::{Cache, CreateError, ManualCacheClock};

#[path = "../common/cache_suite.rs"]
mod cache_suite;

use cache_suite::{blocking_cache, blocking_wait_until, promptly};

#[derive(Debug)]
struct DbDown;

/// Row 39: 64 concurrent callers on one cold key: one creation, and all receive the same
/// result, or the same error.
#[test]
fn checklist_39_one_creation_for_64_concurrent_callers() {
    for fail in [false, true] {
        let (cache, _) = blocking_cache(Duration::from_secs(60), Duration::ZERO);
        let ns = cache.namespace::<String, String>("users");
        let runs = AtomicU32::new(0);
        let key = "cold".to_owned();
        let results: Vec<_> = thread::scope(|s| {
            let handles: Vec<_> = (0..64)
                .map(|_| {
                    s.spawn(|| {
                        ns.get_or_create(&key, || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            blocking_wait_until("63 waiters", || cache.stats().coalesced == 63);
                            if fail {
                                Err(DbDown)
                            } else {
                                Ok("created once".to_owned())
                            }
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1, "fail={fail}");
        assert_eq!(cache.stats().creations, 1);
        if fail {
            let errors: Vec<Arc<DbDown>> = results
                .into_iter()
                .map(|r| match r {
                    Err(CreateError::Create(e)) => e,
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(errors.len(), 64);
            assert!(errors.iter().all(|e| Arc::ptr_eq(e, &errors[0])));
        } else {
            assert!(results
                .iter()
                .all(|r| r.as_deref().ok() == Some("created once")));
        }
    }
}

/// Row 40: a creator that panics, or whose future is dropped, does not wedge the key: the
/// next caller creates.
#[test]
fn checklist_40_panicking_or_cancelled_creator_does_not_wedge_the_key() {
    let (cache, _) = blocking_cache(Duration::from_secs(60), Duration::ZERO);
    let ns = cache.namespace::<u32, u32>("n");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ns.get_or_create(&1, || -> Result<u32, DbDown> { panic!("creator exploded") })
    }));
    assert!(panicked.is_err());
    let next = ns.clone();
    let got = promptly("after a panic", move || {
        next.get_or_create(&1, || Ok::<_, DbDown>(7))
    });
    assert_eq!(got.unwrap(), 7);

    let mut fut = Box::pin(ns.get_or_create_async(&2, std::future::pending::<Result<u32, DbDown>>));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    drop(fut);
    let next = ns.clone();
    let got = promptly("after a cancellation", move || {
        next.get_or_create(&2, || Ok::<_, DbDown>(8))
    });
    assert_eq!(got.unwrap(), 8);
    assert_eq!(cache.stats().creations, 4);
}

/// Row 41: an expired entry still in the store is never returned as fresh.
#[test]
fn checklist_41_expired_entry_never_returned_as_fresh() {
    for grace in [Duration::ZERO, Duration::from_secs(30)] {
        let (cache, clock) = blocking_cache(Duration::from_secs(60), grace);
        let ns = cache.namespace::<u32, String>("n");
        ns.insert(&1, &"old".to_owned()).unwrap();
        clock.advance(Duration::from_secs(59));
        assert_eq!(ns.get(&1).as_deref(), Some("old"));
        clock.advance(Duration::from_secs(1));
        cache.run_pending_tasks();
        assert_eq!(cache.entry_count(), 1, "the expired entry is still stored");
        assert_eq!(ns.get(&1), None, "grace {grace:?}");
        let fresh = ns.get_or_create(&1, || Ok::<_, DbDown>("new".to_owned()));
        assert_eq!(fresh.unwrap(), "new", "grace {grace:?}: the creator ran");
        assert_eq!(ns.get(&1).as_deref(), Some("new"));
    }
}

/// Row 42: 100 000 distinct keys keep the store within its configured byte bound.
#[test]
fn checklist_42_distinct_keys_stay_within_the_byte_bound() {
    const CAPACITY: u64 = 1 << 20;
    let cache = Cache::builder()
        .clock(ManualCacheClock::new())
        .capacity_bytes(CAPACITY)
        .build()
        .unwrap();
    let ns = cache.namespace::<u64, String>("flood");
    for i in 0..100_000u64 {
        ns.insert(&i, &format!("value {i:08} {}", "x".repeat(40)))
            .unwrap();
        if i % 5000 == 4999 {
            cache.run_pending_tasks();
            assert!(cache.weighted_size() <= CAPACITY, "after {} keys", i + 1);
        }
    }
    cache.run_pending_tasks();
    assert!(cache.weighted_size() <= CAPACITY);
    assert!(cache.entry_count() * Cache::ENTRY_OVERHEAD <= CAPACITY);
    assert!(cache.stats().evictions > 90_000, "{:?}", cache.stats());
}
