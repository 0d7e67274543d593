//! A hit through the Redis store against a plain `GET` of the same bytes, with the same client
//! (one `ConnectionManager`), measured in one run against a local `redis-server` started here.
//!
//! - `plain_get_sealed_bytes` / `plain_get_unsealed_bytes`: `GET` of a key holding exactly the
//!   bytes the store keeps for one entry (sealed, and unsealed), nothing decoded: the floor for
//!   anything that reads those bytes from Redis.
//! - `cache_get_sealed` / `cache_get_unsealed`: `Namespace::get_async`: one `MULTI`/`EXEC` of
//!   two bounded `GETRANGE`s (the namespace's generation and the entry, each read no longer than
//!   the longest value the cache writes), the lifetimes checked on the clock, the entry opened
//!   (AES-256-GCM-SIV) and decoded by the codec with its limits.
//!
//! The value is the user profile of `cache.rs` (beside this file) (124 bytes of JSON); 100 keys are cycled.
//! Criterion measures one case after another, so on a loaded machine the ratio of two medians
//! also measures how the load changed in between; the run therefore ends with a paired
//! measurement (batches of the plain `GET` and of the cache alternate, the median of the
//! per-pair ratios is reported). The target is a ratio under 1.2.
//!
//! Run with `cargo bench -p sealed-session-micro-bench --features redis --bench redis` (about half
//! a minute; needs `redis-server`, see `scripts/install-redis.sh`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "benchmark setup"
)]

use std::hint::black_box;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use redis::aio::ConnectionManager;
use sealed_session::cache::{Cache, Namespace, RedisStore};
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

const KEYS: u64 = 100;

/// A `redis-server` on a free port, killed on drop.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Option<Server> {
        let binary = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Server {
            child,
            port,
            _dir: dir,
        };
        let client = redis::Client::open(server.url()).unwrap();
        let start = Instant::now();
        while client
            .get_connection()
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Some(server)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    rt: tokio::runtime::Runtime,
    conn: ConnectionManager,
    sealed: Namespace<u64, Profile, RedisStore>,
    unsealed: Namespace<u64, Profile, RedisStore>,
    _caches: (Cache<RedisStore>, Cache<RedisStore>),
}

fn setup(server: &Server) -> Setup {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (conn, sealed_cache, unsealed_cache) = rt.block_on(async {
        let store = |prefix: &'static str| {
            let url = server.url();
            async move {
                RedisStore::builder(&url)
                    .unwrap()
                    .prefix(prefix)
                    .op_timeout(Duration::from_secs(5))
                    .connect()
                    .await
                    .unwrap()
            }
        };
        let sealed_store = store("bench-sealed").await;
        // One client for everything: the plain GETs go through the sealed store's connection.
        let conn = sealed_store.connection();
        let sealed = Cache::builder()
            .store(sealed_store)
            .seal_with(KeyRing::generate())
            .ttl(Duration::from_secs(3600))
            .build()
            .unwrap();
        let unsealed = Cache::builder()
            .store(store("bench-plain").await)
            .allow_unsealed(true)
            .ttl(Duration::from_secs(3600))
            .build()
            .unwrap();
        (conn, sealed, unsealed)
    });
    let sealed = sealed_cache.namespace::<u64, Profile>("users");
    let unsealed = unsealed_cache.namespace::<u64, Profile>("users");
    rt.block_on(async {
        let mut conn = conn.clone();
        for k in 0..KEYS {
            sealed.insert_async(&k, &profile(k)).await.unwrap();
            unsealed.insert_async(&k, &profile(k)).await.unwrap();
            // The very bytes each store keeps, under plain keys.
            for (prefix, plain) in [
                ("bench-sealed", "plain-sealed"),
                ("bench-plain", "plain-unsealed"),
            ] {
                let key = format!("{prefix}:cache:5:users:0:{k}");
                let bytes: Vec<u8> = redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                let _: () = redis::cmd("SET")
                    .arg(format!("{plain}:{k}"))
                    .arg(bytes)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        }
    });
    Setup {
        rt,
        conn,
        sealed,
        unsealed,
        _caches: (sealed_cache, unsealed_cache),
    }
}

async fn plain_get(conn: &mut ConnectionManager, which: &str, k: u64) -> Vec<u8> {
    redis::cmd("GET")
        .arg(format!("{which}:{k}"))
        .query_async(conn)
        .await
        .unwrap()
}

fn get_hit(c: &mut Criterion, s: &Setup) {
    let sample =
        s.rt.block_on(plain_get(&mut s.conn.clone(), "plain-sealed", 1));
    println!("stored entry: {} bytes sealed", sample.len());
    let mut g = c.benchmark_group("redis_get_hit");
    for which in ["plain-sealed", "plain-unsealed"] {
        let id = format!("plain_get_{}_bytes", which.trim_start_matches("plain-"));
        g.bench_function(id, |b| {
            b.iter_custom(|iters| {
                let mut conn = s.conn.clone();
                s.rt.block_on(async {
                    let start = Instant::now();
                    for i in 0..iters {
                        black_box(plain_get(&mut conn, which, i % KEYS).await);
                    }
                    start.elapsed()
                })
            });
        });
    }
    for (id, ns) in [
        ("cache_get_sealed", &s.sealed),
        ("cache_get_unsealed", &s.unsealed),
    ] {
        g.bench_function(id, |b| {
            b.iter_custom(|iters| {
                s.rt.block_on(async {
                    let start = Instant::now();
                    for i in 0..iters {
                        black_box(ns.get_async(&(i % KEYS)).await.unwrap());
                    }
                    start.elapsed()
                })
            });
        });
    }
    g.finish();
}

/// Batches of the reference and of the cache, alternated; the median of the per-pair ratios.
fn paired(s: &Setup, which: &str, ns: &Namespace<u64, Profile, RedisStore>) -> f64 {
    const PAIRS: usize = 41;
    const BATCH: u64 = 400;
    let mut conn = s.conn.clone();
    let mut ratios: Vec<f64> = s.rt.block_on(async {
        let mut out = Vec::with_capacity(PAIRS);
        for _ in 0..PAIRS {
            let start = Instant::now();
            for i in 0..BATCH {
                black_box(plain_get(&mut conn, which, i % KEYS).await);
            }
            let plain = start.elapsed();
            let start = Instant::now();
            for i in 0..BATCH {
                black_box(ns.get_async(&(i % KEYS)).await.unwrap());
            }
            out.push(start.elapsed().as_secs_f64() / plain.as_secs_f64());
        }
        out
    });
    ratios.sort_by(f64::total_cmp);
    ratios[PAIRS / 2]
}

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

fn median_ns(id: &str) -> Option<f64> {
    let path = criterion_dir()
        .join("redis_get_hit")
        .join(id)
        .join("new")
        .join("estimates.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn main() {
    let Some(server) = Server::start() else {
        println!("SKIPPED: redis-server not installed; run scripts/install-redis.sh");
        return;
    };
    let s = setup(&server);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    get_hit(&mut c, &s);
    c.final_summary();

    println!("\n{:<40} {:>12}", "benchmark", "median (µs)");
    for id in [
        "plain_get_sealed_bytes",
        "cache_get_sealed",
        "plain_get_unsealed_bytes",
        "cache_get_unsealed",
    ] {
        match median_ns(id) {
            Some(ns) => println!("{:<40} {:>12.2}", format!("redis_get_hit/{id}"), ns / 1e3),
            None => println!("{:<40} {:>12}", format!("redis_get_hit/{id}"), "not run"),
        }
    }
    let ratio = |a: &str, b: &str| Some(median_ns(a)? / median_ns(b)?);
    println!();
    if let Some(r) = ratio("cache_get_sealed", "plain_get_sealed_bytes") {
        println!("sealed hit / plain GET (medians) [target < 1.2]: {r:.3}");
    }
    if let Some(r) = ratio("cache_get_unsealed", "plain_get_unsealed_bytes") {
        println!("unsealed hit / plain GET (medians) [target < 1.2]: {r:.3}");
    }
    println!(
        "sealed hit / plain GET (paired, median of 41) [target < 1.2]: {:.3}",
        paired(&s, "plain-sealed", &s.sealed)
    );
    println!(
        "unsealed hit / plain GET (paired, median of 41) [target < 1.2]: {:.3}",
        paired(&s, "plain-unsealed", &s.unsealed)
    );
}
