//! The cache in one screen: regions from configuration, typed namespaces, single-flight creation
//! from 16 threads and 16 tasks, stale serving within the grace period, memoization, sealing, the
//! runtime toggle and the counters.
//!
//! ```text
//! cargo run --features cache --example cache
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sealed_session::cache::{CacheRegions, CreateError, ManualCacheClock, RegionConfig};
use sealed_session::KeyRing;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    id: u64,
    name: String,
}

/// A slow, fallible backend: what the cache stands in front of.
fn load_profile(id: u64, calls: &AtomicU32) -> Result<Profile, std::io::Error> {
    calls.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(50)); // the database is slow (this is a demo)
    if id == 0 {
        return Err(std::io::Error::other("no user 0"));
    }
    Ok(Profile {
        id,
        name: format!("user {id}"),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Regions, as the configuration layer would deserialize them. A manual clock lets this
    //    demo move time instead of waiting.
    let configs: BTreeMap<String, RegionConfig> = serde_json::from_str(
        r#"{
            "profiles": { "ttl_secs": 60, "grace_secs": 30, "capacity_bytes": 4194304 },
            "secrets":  { "ttl_secs": 300, "sealed": true }
        }"#,
    )?;
    let clock = ManualCacheClock::new();
    let regions = CacheRegions::builder()
        .regions(configs)
        .clock(clock.clone())
        .key_ring(KeyRing::generate())
        .build()?;
    let cache = regions
        .get("profiles")
        .ok_or("the profiles region is configured above")?;
    println!("{cache:?}\n");

    // 2. Single-flight: 16 threads ask for one cold key; the backend is called once.
    let profiles = cache.namespace::<u64, Profile>("by-id");
    let calls = Arc::new(AtomicU32::new(0));
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| profiles.get_or_create(&7, || load_profile(7, &calls)));
        }
    });
    println!(
        "16 threads, one cold key: {} backend call(s)",
        calls.load(Ordering::SeqCst)
    );

    // A failing backend is also called once, and every waiter gets the same error.
    let failing_calls = AtomicU32::new(0);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| profiles.get_or_create(&0, || load_profile(0, &failing_calls))))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let errors = results
        .iter()
        .filter(|r| matches!(r, Ok(Err(CreateError::Create(_)))))
        .count();
    println!(
        "8 threads, failing backend: {errors} errors from {} backend call(s)",
        failing_calls.load(Ordering::SeqCst)
    );

    // 3. The same from async tasks: waiting does not block the runtime's threads.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()?;
    let async_calls = Arc::new(AtomicU32::new(0));
    runtime.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (profiles, calls) = (profiles.clone(), Arc::clone(&async_calls));
                tokio::spawn(async move {
                    profiles
                        .get_or_create_async(&8, || async move {
                            calls.fetch_add(1, Ordering::SeqCst);
                            tokio::task::yield_now().await;
                            Ok::<_, std::io::Error>(Profile {
                                id: 8,
                                name: "user 8".into(),
                            })
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    });
    println!(
        "16 tasks, one cold key: {} creation(s)",
        async_calls.load(Ordering::SeqCst)
    );

    // 4. Grace: 70 s later the value is stale (its TTL is 60 s, its grace 30 s). One caller
    //    refreshes it from the slow backend; a caller arriving meanwhile gets the stale value at
    //    once instead of waiting.
    clock.advance(Duration::from_secs(70));
    println!(
        "\nafter 70 s, get: {:?} (stale values are only served by get_or_create)",
        profiles.get(&7)
    );
    let before = cache.stats().creations;
    std::thread::scope(|s| -> Result<(), Box<dyn std::error::Error>> {
        let refresher = s.spawn(|| {
            profiles.get_or_create(&7, || {
                load_profile(7, &calls).map(|p| Profile {
                    name: "user 7 (refreshed)".into(),
                    ..p
                })
            })
        });
        while cache.stats().creations == before {
            std::thread::yield_now(); // wait for the refresh to start
        }
        let meanwhile = profiles.get_or_create(&7, || load_profile(7, &calls))?;
        println!("during the refresh, another caller got: {meanwhile:?}");
        if let Ok(refreshed) = refresher.join() {
            println!("the refresher got: {:?}", refreshed?);
        }
        Ok(())
    })?;

    // 5. Memoize a function, keyed by the argument that matters (not the connection).
    struct Db;
    let lengths = cache.namespace::<String, usize>("name-length").memoize(
        |(_, name): &(&Db, &str)| name.to_string(),
        |(_, name): (&Db, &str)| Ok::<_, std::io::Error>(name.chars().count()),
    );
    println!("\nmemoized: {}", lengths.call((&Db, "Zoë"))?);

    // 6. A sealed region: entries are AES-256-GCM-SIV under the ring's cache subkey, bound to
    //    their namespace, generation and key.
    let secrets = regions
        .get("secrets")
        .ok_or("the secrets region is configured above")?;
    let tokens = secrets.namespace::<(u64, String), String>("api-tokens");
    tokens.insert(&(7, "github".into()), &"ghp_example".into())?;
    println!(
        "sealed: {:?} ({} weighted bytes)",
        tokens.get(&(7, "github".into())),
        {
            secrets.run_pending_tasks();
            secrets.weighted_size()
        }
    );

    // 7. Clear one namespace in O(1); flip the toggle at runtime.
    profiles.clear();
    println!("\nafter clear: {:?}", profiles.get(&7));
    cache.set_enabled(false);
    let bypassed = profiles.get_or_create(&7, || load_profile(7, &calls))?;
    println!("disabled: created {bypassed:?} without caching it");
    cache.set_enabled(true);

    cache.run_pending_tasks();
    println!("\n{:#?}", cache.stats());
    Ok(())
}
