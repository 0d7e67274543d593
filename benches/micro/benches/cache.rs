//! The cache against what it is built from: the raw store crate (`moka::sync::Cache`) and
//! `serde_json`, measured in one run.
//!
//! Every case uses the same value (a user profile, 124 bytes of JSON), `u64` keys cycled over
//! 1 000 pre-filled entries (a hot set: with more, the numbers on a shared machine measure DRAM
//! latency and its neighbours' load more than code), a 64 MiB capacity weighed by bytes, and the
//! system clock. Each store is filled on its own, so no store's entries are interleaved in memory
//! with another's.
//!
//! - `get_hit/`: `store_get` is a raw moka lookup of the stored JSON bytes (`Arc<[u8]>`);
//!   `json_decode` is `serde_json::from_slice` of those bytes alone; `store_get_decode` is the two
//!   together, the floor for any cache that stores encoded bytes; `cache_get` is
//!   `Namespace::get` (lookup, logical expiry on the clock, the codec's limit checks and decode,
//!   counters); `cache_get_sealed` adds key encoding and AES-256-GCM-SIV opening.
//! - `insert/`: `store_encode_insert` is `serde_json::to_vec` plus a raw moka insert;
//!   `cache_insert` is `Namespace::insert` (value and key encoding, entry, insert);
//!   `cache_insert_sealed` adds sealing.
//! - `get_or_create/`: on a hit, `store_get_with_decode` (moka's own `get_with` plus decode)
//!   against `cache_hit`; on a miss (a new key every iteration), `store_get_with_miss` (encode,
//!   `get_with` inserting) against `cache_miss` (single-flight registration, creation, encoding,
//!   insert).
//!
//! After the run the medians are read back from Criterion's `estimates.json` and the ratios are
//! printed (the target for `cache_get / store_get_decode` is at most 1.2). Criterion measures one
//! benchmark after another, so on a loaded machine a ratio of two of its medians also measures
//! how the load changed in between; the run therefore ends with a paired measurement: batches of
//! the reference and of the cache alternate, and the median of the per-pair ratios is reported.
//!
//! Run with `cargo bench -p sealed-session-micro-bench --features cache --bench cache` (about a
//! minute).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark setup"
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};
use sealed_session::cache::{Cache, Namespace};
use sealed_session::KeyRing;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
struct Profile {
    id: u64,
    name: String,
    email: String,
    roles: Vec<String>,
    locale: String,
    verified: bool,
}

fn profile(id: u64) -> Profile {
    Profile {
        id,
        name: format!("User Number {id}"),
        email: format!("user.{id}@example.com"),
        roles: vec!["reader".into(), "commenter".into()],
        locale: "en-GB".into(),
        verified: true,
    }
}

const KEYS: u64 = 1_000;
const CAPACITY: u64 = 64 << 20;

type RawStore = moka::sync::Cache<u64, Arc<[u8]>>;

fn raw_store() -> RawStore {
    let store = moka::sync::Cache::builder()
        .max_capacity(CAPACITY)
        .weigher(|_: &u64, v: &Arc<[u8]>| u32::try_from(v.len()).unwrap_or(u32::MAX))
        .build();
    for k in 0..KEYS {
        store.insert(k, serde_json::to_vec(&profile(k)).unwrap().into());
    }
    store.run_pending_tasks();
    store
}

fn cache(sealed: bool) -> (Cache, Namespace<u64, Profile>) {
    let mut b = Cache::builder()
        .capacity_bytes(CAPACITY)
        .ttl(Duration::from_secs(3600));
    if sealed {
        b = b.seal_with(KeyRing::generate());
    }
    let cache = b.build().unwrap();
    let ns = cache.namespace::<u64, Profile>("users");
    for k in 0..KEYS {
        ns.insert(&k, &profile(k)).unwrap();
    }
    cache.run_pending_tasks();
    (cache, ns)
}

/// The next key of a cycle over the pre-filled keys.
fn cycle(k: &mut u64) -> u64 {
    *k = (*k + 1) % KEYS;
    *k
}

fn get_hit(c: &mut Criterion) {
    let raw = raw_store();
    let (_plain_cache, plain) = cache(false);
    let (_sealed_cache, sealed) = cache(true);
    let bytes = serde_json::to_vec(&profile(1)).unwrap();
    println!("value: {} bytes of JSON", bytes.len());

    let mut g = c.benchmark_group("get_hit");
    let mut k = 0;
    g.bench_function("store_get", |b| {
        b.iter(|| black_box(raw.get(&cycle(&mut k))));
    });
    g.bench_function("json_decode", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Profile>(black_box(&bytes)).unwrap()));
    });
    g.bench_function("store_get_decode", |b| {
        b.iter(|| {
            let v = raw.get(&cycle(&mut k)).unwrap();
            black_box(serde_json::from_slice::<Profile>(&v).unwrap())
        });
    });
    g.bench_function("cache_get", |b| {
        b.iter(|| black_box(plain.get(&cycle(&mut k)).unwrap()));
    });
    g.bench_function("cache_get_sealed", |b| {
        b.iter(|| black_box(sealed.get(&cycle(&mut k)).unwrap()));
    });
    g.finish();
}

fn insert(c: &mut Criterion) {
    let raw = raw_store();
    let (_plain_cache, plain) = cache(false);
    let (_sealed_cache, sealed) = cache(true);
    let values: Vec<Profile> = (0..KEYS).map(profile).collect();

    let mut g = c.benchmark_group("insert");
    let mut k = 0;
    g.bench_function("store_encode_insert", |b| {
        b.iter(|| {
            let key = cycle(&mut k);
            let bytes = serde_json::to_vec(&values[key as usize]).unwrap();
            raw.insert(key, bytes.into());
        });
    });
    g.bench_function("cache_insert", |b| {
        b.iter(|| {
            let key = cycle(&mut k);
            plain.insert(&key, &values[key as usize]).unwrap();
        });
    });
    g.bench_function("cache_insert_sealed", |b| {
        b.iter(|| {
            let key = cycle(&mut k);
            sealed.insert(&key, &values[key as usize]).unwrap();
        });
    });
    g.finish();
}

fn get_or_create(c: &mut Criterion) {
    let raw = raw_store();
    let (_plain_cache, plain) = cache(false);
    let mut g = c.benchmark_group("get_or_create");
    let mut k = 0;
    g.bench_function(BenchmarkId::new("store_get_with_decode", "hit"), |b| {
        b.iter(|| {
            let key = cycle(&mut k);
            let v = raw.get_with(key, || serde_json::to_vec(&profile(key)).unwrap().into());
            black_box(serde_json::from_slice::<Profile>(&v).unwrap())
        });
    });
    g.bench_function(BenchmarkId::new("cache", "hit"), |b| {
        b.iter(|| {
            let key = cycle(&mut k);
            black_box(
                plain
                    .get_or_create(&key, || Ok::<_, std::convert::Infallible>(profile(key)))
                    .unwrap(),
            )
        });
    });
    // Misses: keys above the pre-filled range, new on every iteration.
    let mut fresh = KEYS;
    g.bench_function(BenchmarkId::new("store_get_with", "miss"), |b| {
        b.iter(|| {
            fresh += 1;
            let v = raw.get_with(fresh, || {
                serde_json::to_vec(&profile(fresh)).unwrap().into()
            });
            black_box(v);
        });
    });
    let mut fresh = KEYS;
    g.bench_function(BenchmarkId::new("cache", "miss"), |b| {
        b.iter(|| {
            fresh += 1;
            black_box(
                plain
                    .get_or_create(&fresh, || Ok::<_, std::convert::Infallible>(profile(fresh)))
                    .unwrap(),
            )
        });
    });
    g.finish();
}

/// Criterion's output directory, found the way Criterion finds it.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        // This crate is benches/micro/ in the workspace, whose target directory is at the root.
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("criterion")
}

/// The median of one benchmark, in nanoseconds, from this run's `estimates.json`.
fn median_ns(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn summary() {
    let rows = [
        ("get_hit", "store_get"),
        ("get_hit", "json_decode"),
        ("get_hit", "store_get_decode"),
        ("get_hit", "cache_get"),
        ("get_hit", "cache_get_sealed"),
        ("insert", "store_encode_insert"),
        ("insert", "cache_insert"),
        ("insert", "cache_insert_sealed"),
        ("get_or_create", "store_get_with_decode/hit"),
        ("get_or_create", "cache/hit"),
        ("get_or_create", "store_get_with/miss"),
        ("get_or_create", "cache/miss"),
    ];
    println!("\n{:<44} {:>12}", "benchmark", "median (ns)");
    for (group, id) in rows {
        match median_ns(group, id) {
            Some(ns) => println!("{:<44} {:>12.1}", format!("{group}/{id}"), ns),
            None => println!("{:<44} {:>12}", format!("{group}/{id}"), "not run"),
        }
    }
    let ratio = |a: (&str, &str), b: (&str, &str), what: &str| {
        if let (Some(x), Some(y)) = (median_ns(a.0, a.1), median_ns(b.0, b.1)) {
            println!("{what}: {:.3}", x / y);
        }
    };
    println!();
    ratio(
        ("get_hit", "cache_get"),
        ("get_hit", "store_get_decode"),
        "hit / (store lookup + decode) [target <= 1.2]",
    );
    ratio(
        ("get_or_create", "cache/hit"),
        ("get_or_create", "store_get_with_decode/hit"),
        "get_or_create hit / (store get_with + decode)",
    );
    ratio(
        ("insert", "cache_insert"),
        ("insert", "store_encode_insert"),
        "insert / (encode + store insert)",
    );
    ratio(
        ("get_or_create", "cache/miss"),
        ("get_or_create", "store_get_with/miss"),
        "get_or_create miss / store get_with miss",
    );
}

/// Alternate batches of `a` and `b`; the medians of each (ns per call) and of the per-pair
/// ratios `b / a`.
fn paired(rounds: usize, batch: u32, mut a: impl FnMut(), mut b: impl FnMut()) -> (f64, f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let start = std::time::Instant::now();
        for _ in 0..batch {
            f();
        }
        start.elapsed().as_nanos() as f64 / f64::from(batch)
    };
    let (mut ta, mut tb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first, so neither always runs on the other's warmed caches.
        let (x, y) = if round % 2 == 0 {
            let x = time(&mut a);
            (x, time(&mut b))
        } else {
            let y = time(&mut b);
            (time(&mut a), y)
        };
        ta.push(x);
        tb.push(y);
        ratios.push(y / x);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(&mut ta), median(&mut tb), median(&mut ratios))
}

fn paired_summary() {
    let raw = raw_store();
    let (_plain_cache, plain) = cache(false);
    let (_sealed_cache, sealed) = cache(true);
    let (mut k1, mut k2) = (0, 0);
    println!("\npaired (400 rounds of 2 x 2000 calls, alternating):");
    let reference = |k: &mut u64| {
        let v = raw.get(&cycle(k)).unwrap();
        black_box(serde_json::from_slice::<Profile>(&v).unwrap());
    };
    let (a, b, r) = paired(
        400,
        2000,
        || reference(&mut k1),
        || {
            black_box(plain.get(&cycle(&mut k2)).unwrap());
        },
    );
    println!(
        "  store_get_decode {a:.1} ns, cache_get {b:.1} ns: hit / (lookup + decode) = {r:.3} [target <= 1.2]"
    );
    let (a, b, r) = paired(
        400,
        2000,
        || reference(&mut k1),
        || {
            black_box(
                plain
                    .get_or_create(&cycle(&mut k2), || {
                        Ok::<_, std::convert::Infallible>(profile(0))
                    })
                    .unwrap(),
            );
        },
    );
    println!("  store_get_decode {a:.1} ns, get_or_create hit {b:.1} ns: ratio {r:.3}");
    let (a, b, r) = paired(
        400,
        2000,
        || reference(&mut k1),
        || {
            black_box(sealed.get(&cycle(&mut k2)).unwrap());
        },
    );
    println!("  store_get_decode {a:.1} ns, cache_get_sealed {b:.1} ns: ratio {r:.3}");
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    get_hit(&mut c);
    insert(&mut c);
    get_or_create(&mut c);
    c.final_summary();
    summary();
    paired_summary();
}
