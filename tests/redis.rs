//! The cache and revocation over a real Redis (feature `redis`).
//!
//! Every test starts its own `redis-server` (Debian's package; `scripts/install-redis.sh`) on a
//! free 127.0.0.1 port, without persistence, and kills it when done. Without the binary each test
//! prints `SKIPPED` and passes, unless `SEALED_TEST_REQUIRE_REDIS=1` (set by the CI script),
//! when it fails.
//!
//! Covered: the store-independent cache suite (tests/common/cache_suite.rs) against Redis, sealed
//! and unsealed; two processes sharing one Redis make one creation for a cold key; a tampered,
//! extended, forged or moved entry is a miss, and sealed entries are unreadable; a shared store
//! refuses to build unsealed unless told; revocation across two app instances (purge, explicit
//! revoke, log out everywhere); and Redis killed or frozen mid-test: the cache degrades to the
//! creator within the timeout and recovers when Redis is back, revocation fails closed (fresh
//! session, cookie kept) or open as configured, within the timeout.
#![cfg(feature = "redis")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sealed_session::cache::{Cache, RedisStore};
use sealed_session::{Codec, ErrorKind, Key, KeyRing};

#[path = "common/cache_suite.rs"]
mod cache_suite;

use cache_suite::{ok, profile, Factory, Profile, Spec};

// ---------------------------------------------------------------------------------------------
// A redis-server per test
// ---------------------------------------------------------------------------------------------

const REQUIRE_ENV: &str = "SEALED_TEST_REQUIRE_REDIS";

fn redis_server_binary() -> Option<PathBuf> {
    ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A `redis-server` child process, killed on drop.
struct RedisServer {
    binary: PathBuf,
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// A fresh server, or `None` (after a loud message) if `redis-server` is not installed.
    fn start() -> Option<Self> {
        let Some(binary) = redis_server_binary() else {
            assert!(
                std::env::var(REQUIRE_ENV).as_deref() != Ok("1"),
                "redis-server is not installed and {REQUIRE_ENV}=1: run scripts/install-redis.sh"
            );
            eprintln!(
                "SKIPPED: redis-server not installed; run scripts/install-redis.sh \
                 (set {REQUIRE_ENV}=1 to make this a failure)"
            );
            return None;
        };
        let mut server = RedisServer {
            binary,
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
        };
        server.launch();
        Some(server)
    }

    fn launch(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        let start = Instant::now();
        loop {
            if let Ok(mut conn) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                    return;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same port (after [`kill`](Self::kill)).
    fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Freeze the server: connections stay open, nothing is answered (a slow Redis).
    fn freeze(&self) {
        assert!(Command::new("kill")
            .args(["-STOP", &self.pid().to_string()])
            .status()
            .unwrap()
            .success());
    }

    fn thaw(&self) {
        assert!(Command::new("kill")
            .args(["-CONT", &self.pid().to_string()])
            .status()
            .unwrap()
            .success());
    }

    /// A raw connection, as an attacker with network access to Redis would have.
    fn raw(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

static PREFIXES: AtomicU32 = AtomicU32::new(0);

fn unique_prefix(what: &str) -> String {
    format!("{what}{}", PREFIXES.fetch_add(1, Ordering::Relaxed))
}

async fn store(server: &RedisServer, prefix: &str) -> RedisStore {
    RedisStore::builder(&server.url())
        .unwrap()
        .prefix(prefix)
        // Generous: other builds share this machine's two cores, and the suite must not see a
        // degraded call it did not cause.
        .op_timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The cache suite against Redis
// ---------------------------------------------------------------------------------------------

/// Redis for the shared suite: one server per test, a new prefix (a new, empty cache) per cache.
struct RedisFactory {
    server: RedisServer,
    sealed: bool,
}

impl RedisFactory {
    fn new(sealed: bool) -> Option<Self> {
        RedisServer::start().map(|server| RedisFactory { server, sealed })
    }
}

impl Factory for RedisFactory {
    type S = RedisStore;
    const SHARED: bool = true;

    fn cache(&self, spec: Spec) -> impl Future<Output = Cache<RedisStore>> + Send {
        let url = self.server.url();
        let sealed = self.sealed;
        async move {
            let store = RedisStore::builder(&url)
                .unwrap()
                .prefix(unique_prefix("suite"))
                .op_timeout(Duration::from_secs(2))
                .connect()
                .await
                .unwrap();
            let mut b = Cache::builder()
                .store(store)
                .clock(spec.clock)
                .ttl(spec.ttl)
                .grace(spec.grace);
            for (name, config) in spec.namespaces {
                b = b.namespace(name, config);
            }
            if let Some(codec) = spec.codec {
                b = b.codec(codec);
            }
            if let Some(name) = spec.name {
                b = b.name(name);
            }
            b = match (spec.ring, sealed) {
                (Some(ring), _) => b.seal_with(ring),
                (None, true) => b.seal_with(KeyRing::generate()),
                (None, false) => b.allow_unsealed(true),
            };
            b.build().unwrap()
        }
    }
}

mod redis_sealed_suite {
    use super::*;

    cache_suite!(RedisFactory::new(true));
}

mod redis_unsealed_suite {
    use super::*;

    cache_suite!(RedisFactory::new(false));
}

// ---------------------------------------------------------------------------------------------
// Two processes, one cold key
// ---------------------------------------------------------------------------------------------

const HELPER_ENV: &str = "SEALED_TEST_REDIS_HELPER";
const HELPER_KEY_ENV: &str = "SEALED_TEST_REDIS_HELPER_KEY";

/// Not a test on its own: the child process of
/// `two_processes_sharing_one_redis_make_one_creation_for_a_cold_key` (it returns at once
/// unless that test started it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helper_cold_key_creator() {
    let Ok(spec) = std::env::var(HELPER_ENV) else {
        return;
    };
    let (url, prefix) = spec.split_once(' ').unwrap();
    let key = Key::from_base64(&std::env::var(HELPER_KEY_ENV).unwrap()).unwrap();
    let store = RedisStore::builder(url)
        .unwrap()
        .prefix(prefix)
        .connect()
        .await
        .unwrap();
    let mut raw = store.connection();
    let cache = Cache::builder()
        .store(store)
        .seal_with(KeyRing::builder().primary(key).build().unwrap())
        .build()
        .unwrap();
    let ns = cache.namespace::<String, String>("reports");
    let _: i64 = redis::cmd("INCR")
        .arg("test:ready")
        .query_async(&mut raw)
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let go: Option<String> = redis::cmd("GET")
            .arg("test:go")
            .query_async(&mut raw)
            .await
            .unwrap();
        if go.is_some() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no go signal");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let value = ns
        .get_or_create_async(&"cold".to_string(), || async {
            let mut raw = raw.clone();
            let _: i64 = redis::cmd("INCR")
                .arg("test:creations")
                .query_async(&mut raw)
                .await
                .unwrap();
            // Long enough for the other process to find the lock taken.
            tokio::time::sleep(Duration::from_millis(300)).await;
            ok(format!("made by process {}", std::process::id()))
        })
        .await
        .unwrap();
    eprintln!("helper stats: {:?}", cache.stats());
    println!("HELPER-RESULT {value}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_one_redis_make_one_creation_for_a_cold_key() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let key = Key::generate();
    let exe = std::env::current_exe().unwrap();
    let prefix = unique_prefix("procs");
    let children: Vec<Child> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "helper_cold_key_creator",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(HELPER_ENV, format!("{} {prefix}", server.url()))
                .env(HELPER_KEY_ENV, key.to_base64().as_str())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut raw = server.raw();
    let start = Instant::now();
    loop {
        let ready: Option<u32> = redis::cmd("GET").arg("test:ready").query(&mut raw).unwrap();
        if ready == Some(2) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the helpers did not start"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _: () = redis::cmd("SET")
        .arg("test:go")
        .arg("1")
        .query(&mut raw)
        .unwrap();
    let mut results = Vec::new();
    for child in children {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(out.status.success(), "a helper failed: {out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("HELPER-RESULT ").map(|(_, v)| v))
            .unwrap_or_else(|| panic!("no result in {stdout}"))
            .to_owned();
        results.push(line);
    }
    let creations: u32 = redis::cmd("GET")
        .arg("test:creations")
        .query(&mut raw)
        .unwrap();
    assert_eq!(
        creations, 1,
        "one creation across both processes: {results:?}"
    );
    assert_eq!(results[0], results[1], "both processes got the one value");
}

// ---------------------------------------------------------------------------------------------
// What someone with access to Redis can and cannot do
// ---------------------------------------------------------------------------------------------

/// The one entry key of a prefix, and its raw value.
fn the_entry(raw: &mut redis::Connection, prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg(format!("{prefix}:cache:*"))
        .query(raw)
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let value: Vec<u8> = redis::cmd("GET").arg(&keys[0]).query(raw).unwrap();
    (keys[0].clone(), value)
}

fn put(raw: &mut redis::Connection, key: &[u8], value: &[u8]) {
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .arg("KEEPTTL")
        .query(raw)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_extended_forged_or_moved_entry_is_a_miss_and_values_are_unreadable() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prefix = unique_prefix("tamper");
    let cache = Cache::builder()
        .store(store(&server, &prefix).await)
        .seal_with(KeyRing::generate())
        .ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let ns = cache.namespace::<String, Profile>("users");
    let (ann, bob) = ("ann".to_string(), "bob".to_string());
    ns.insert_async(&ann, &profile(1)).await.unwrap();
    let mut raw = server.raw();
    let (key, original) = the_entry(&mut raw, &prefix);
    let text = String::from_utf8_lossy(&original).into_owned();
    assert!(
        !text.contains("user-1") && !text.contains("reader"),
        "readable: {text}"
    );
    assert_eq!(ns.get_async(&ann).await, Some(profile(1)));

    // One flipped bit anywhere in the sealed payload.
    for i in [16, 17, 21, 40, original.len() - 1] {
        let mut bad = original.clone();
        bad[i] ^= 1;
        put(&mut raw, &key, &bad);
        assert_eq!(ns.get_async(&ann).await, None, "byte {i}");
    }
    // A longer life: the lifetimes are authenticated.
    let mut extended = original.clone();
    extended[..8].copy_from_slice(&u64::MAX.to_be_bytes());
    put(&mut raw, &key, &extended);
    assert_eq!(ns.get_async(&ann).await, None, "extended");
    // A forged entry: plausible lifetimes and the JSON of a value.
    let mut forged = original[..16].to_vec();
    forged.extend_from_slice(&serde_json::to_vec(&profile(666)).unwrap());
    put(&mut raw, &key, &forged);
    assert_eq!(ns.get_async(&ann).await, None, "forged");
    // Garbage and a truncated value.
    put(&mut raw, &key, b"x");
    assert_eq!(ns.get_async(&ann).await, None, "truncated");
    // Moved to another key.
    put(&mut raw, &key, &original);
    let bob_key = String::from_utf8(key.clone())
        .unwrap()
        .replace("\"ann\"", "\"bob\"");
    let _: () = redis::cmd("SET")
        .arg(&bob_key)
        .arg(&original)
        .query(&mut raw)
        .unwrap();
    assert_eq!(ns.get_async(&bob).await, None, "moved");
    assert_eq!(
        ns.get_async(&ann).await,
        Some(profile(1)),
        "the original still opens"
    );
    // Eight that did not open; the truncated one did not even hold lifetimes (a plain miss).
    assert!(cache.stats().decode_failures >= 8, "{:?}", cache.stats());
    // A miss on a tampered entry creates and replaces it.
    let mut bad = original.clone();
    bad[30] ^= 0x80;
    put(&mut raw, &key, &bad);
    let made = ns
        .get_or_create_async(&ann, || async { ok(profile(2)) })
        .await;
    assert_eq!(made.unwrap(), profile(2));
    assert_eq!(ns.get_async(&ann).await, Some(profile(2)));
}

/// Issue 17, item 1: a value in Redis is hostile. A 64 MiB forged entry used to be copied twice
/// and decrypted in full before anything checked its size (about 190 MiB of peak memory in one
/// `get_async`, with the timeout not bounding the work). It is now refused by its length, read
/// no further than one byte past the longest entry the cache writes: a miss, counted as
/// `oversized` and never opened (`decode_failures` does not move; on the old code it did).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_64_mib_entry_is_refused_unread_and_the_creator_runs() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prefix = unique_prefix("huge");
    let cache = Cache::builder()
        .store(store(&server, &prefix).await)
        .seal_with(KeyRing::generate())
        .ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let ns = cache.namespace::<String, Profile>("users");
    let ann = "ann".to_string();
    ns.insert_async(&ann, &profile(1)).await.unwrap();
    let mut raw = server.raw();
    let (key, original) = the_entry(&mut raw, &prefix);
    // Fresh lifetimes, then 64 MiB of garbage where the sealed payload goes.
    let mut forged = original[..16].to_vec();
    forged.resize(64 << 20, 0x35);
    put(&mut raw, &key, &forged);
    let before = cache.stats();
    assert_eq!(ns.get_async(&ann).await, None);
    let after = cache.stats();
    assert_eq!(after.oversized, before.oversized + 1, "{after:?}");
    assert_eq!(
        after.decode_failures, before.decode_failures,
        "it was opened: {after:?}"
    );
    assert_eq!(after.store_errors, before.store_errors, "{after:?}");
    // The creator runs, and its value replaces the forgery.
    let made = ns
        .get_or_create_async(&ann, || async { ok(profile(2)) })
        .await;
    assert_eq!(made.unwrap(), profile(2));
    assert_eq!(ns.get_async(&ann).await, Some(profile(2)));
    // One byte over the longest entry this cache writes is refused too; at the limit it is
    // read (and, being garbage, does not open).
    let longest = 16 + Codec::new().max_bytes() + 33;
    for (len, refused) in [(longest + 1, true), (longest, false)] {
        let mut value = original[..16].to_vec();
        value.resize(len, 0x35);
        put(&mut raw, &key, &value);
        let before = cache.stats();
        assert_eq!(ns.get_async(&ann).await, None);
        let after = cache.stats();
        assert_eq!(
            after.oversized - before.oversized,
            u64::from(refused),
            "{len}"
        );
        assert_eq!(
            after.decode_failures - before.decode_failures,
            u64::from(!refused),
            "{len}"
        );
    }
}

/// A forged generation of any length is read no further than 21 bytes and refused as a store
/// error (the call degrades), not parsed, not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_huge_generation_is_a_store_error_not_a_read() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prefix = unique_prefix("hugegen");
    let cache = Cache::builder()
        .store(store(&server, &prefix).await)
        .seal_with(KeyRing::generate())
        .build()
        .unwrap();
    let ns = cache.namespace::<u32, u32>("n");
    ns.insert_async(&1, &1).await.unwrap();
    let mut raw = server.raw();
    let generation_key = format!("{prefix}:gen:1:n");
    put(&mut raw, generation_key.as_bytes(), &vec![b'7'; 16 << 20]);
    assert_eq!(ns.get_async(&1).await, None);
    assert_eq!(
        ns.generation_async().await.unwrap_err().kind(),
        ErrorKind::StoreProtocol
    );
    assert!(cache.stats().store_errors >= 1, "{:?}", cache.stats());
    assert_eq!(
        ns.get_or_create_async(&1, || async { ok(2) })
            .await
            .unwrap(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_store_refuses_to_build_unsealed_unless_told_and_then_is_readable() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prefix = unique_prefix("plain");
    let refused = Cache::builder()
        .store(store(&server, &prefix).await)
        .build();
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::InvalidConfig);
    let cache = Cache::builder()
        .store(store(&server, &prefix).await)
        .allow_unsealed(true)
        .build()
        .unwrap();
    assert!(!cache.is_sealed());
    let ns = cache.namespace::<String, Profile>("users");
    ns.insert_async(&"ann".to_string(), &profile(1))
        .await
        .unwrap();
    let (_, value) = the_entry(&mut server.raw(), &prefix);
    assert!(
        String::from_utf8_lossy(&value).contains("user-1"),
        "the documented cost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_expiry_backs_up_the_logical_lifetime() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let prefix = unique_prefix("px");
    let cache = Cache::builder()
        .store(store(&server, &prefix).await)
        .seal_with(KeyRing::generate())
        .ttl(Duration::from_secs(30))
        .grace(Duration::from_secs(10))
        .build()
        .unwrap();
    let ns = cache.namespace::<u32, u32>("n");
    ns.insert_async(&1, &1).await.unwrap();
    let mut raw = server.raw();
    let (key, _) = the_entry(&mut raw, &prefix);
    let pttl: i64 = redis::cmd("PTTL").arg(&key).query(&mut raw).unwrap();
    assert!((39_000..=40_000).contains(&pttl), "TTL plus grace: {pttl}");
}

// ---------------------------------------------------------------------------------------------
// Redis killed or frozen: the cache degrades, then recovers
// ---------------------------------------------------------------------------------------------

/// A failing call must answer within the timeout plus this much (scheduling on a busy machine).
const SLACK: Duration = Duration::from_millis(900);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_redis_killed_or_frozen_the_cache_calls_the_creator_within_the_timeout() {
    let Some(mut server) = RedisServer::start() else {
        return;
    };
    let timeout = Duration::from_millis(100);
    let store = RedisStore::builder(&server.url())
        .unwrap()
        .prefix(unique_prefix("down"))
        .op_timeout(timeout)
        .retry_after(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let cache = Cache::builder()
        .store(store)
        .seal_with(KeyRing::generate())
        .build()
        .unwrap();
    let ns = cache.namespace::<u32, String>("n");
    ns.insert_async(&1, &"cached".to_string()).await.unwrap();
    assert_eq!(ns.get_async(&1).await.as_deref(), Some("cached"));

    // Frozen: the connection is up, nothing answers. Each call gives up after the timeout.
    server.freeze();
    let started = Instant::now();
    let v = ns
        .get_or_create_async(&1, || async { ok("created".to_string()) })
        .await;
    assert_eq!(v.unwrap(), "created");
    assert!(
        started.elapsed() < timeout + SLACK,
        "{:?}",
        started.elapsed()
    );
    assert!(!cache.store().is_available());
    // While failing, calls do not touch Redis at all: immediate.
    let started = Instant::now();
    assert_eq!(ns.get_async(&1).await, None);
    assert!(started.elapsed() < SLACK, "{:?}", started.elapsed());
    server.thaw();

    // Killed: connection refused. In-process single-flight still holds without the store.
    server.kill();
    tokio::time::sleep(Duration::from_millis(350)).await; // past retry_after: Redis is tried
    let runs = std::sync::Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (ns, runs) = (ns.clone(), std::sync::Arc::clone(&runs));
            tokio::spawn(async move {
                ns.get_or_create_async(&2, || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    // Long enough for every task to fail its read and join this creation.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    ok("degraded".to_string())
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "degraded");
    }
    assert!(
        started.elapsed() < timeout + SLACK,
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "coalesced within the process"
    );
    assert!(
        ns.invalidate_async(&1).await.is_err(),
        "a failed invalidation is reported"
    );
    let s = cache.stats();
    assert!(s.store_errors >= 3, "{s:?}");

    // Back: after retry_after, the cache works again.
    server.restart();
    let started = Instant::now();
    loop {
        ns.insert_async(&3, &"again".to_string()).await.unwrap();
        if ns.get_async(&3).await.as_deref() == Some("again") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the cache did not recover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cache.store().is_available());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_nothing_fails_and_a_lazy_store_degrades() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/");
    let err = RedisStore::builder(&url)
        .unwrap()
        .connect_timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::StoreUnavailable | ErrorKind::StoreTimeout
        ),
        "{err:?}"
    );
    assert_eq!(
        RedisStore::builder("not a url").unwrap_err().kind(),
        ErrorKind::InvalidConfig
    );
    let lazy = RedisStore::builder(&url)
        .unwrap()
        .op_timeout(Duration::from_millis(100))
        .connect_timeout(Duration::from_millis(100))
        .connect_lazy()
        .unwrap();
    assert!(!format!("{lazy:?}").contains("password"));
    let cache = Cache::builder()
        .store(lazy)
        .seal_with(KeyRing::generate())
        .build()
        .unwrap();
    let ns = cache.namespace::<u32, u32>("n");
    let started = Instant::now();
    assert_eq!(
        ns.get_or_create_async(&1, || async { ok(5) })
            .await
            .unwrap(),
        5
    );
    assert!(
        started.elapsed() < Duration::from_millis(100) + SLACK,
        "{:?}",
        started.elapsed()
    );
    assert!(ns.clear_async().await.is_err());
}

/// Issue 17, item 3: every Duration setting of the Redis store builder is refused with
/// `InvalidConfig` when it cannot be honoured, never accepted and later panicking. On the old
/// code `lock_wait(Duration::MAX)` was accepted, and the first wait on another process's
/// creation panicked in `Instant::now() + lock_wait`. No server is needed: the store connects
/// lazily.
#[test]
fn extreme_store_durations_are_refused_with_a_typed_error() {
    use proptest::prelude::*;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = runtime.enter();
    let duration = || {
        prop_oneof![
            Just(Duration::ZERO),
            Just(Duration::MAX),
            Just(RedisStore::MAX_SETTING),
            Just(RedisStore::MAX_SETTING + Duration::from_nanos(1)),
            any::<u64>().prop_map(Duration::from_nanos),
            any::<u64>().prop_map(Duration::from_secs),
        ]
    };
    let url = format!("redis://127.0.0.1:{}/", free_port());
    let settings = (duration(), duration(), duration(), duration(), duration());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(256));
    runner
        .run(&settings, |(op, connect, ttl, wait, retry)| {
            let fits = |d: Duration| d <= RedisStore::MAX_SETTING;
            let positive = |d: Duration| !d.is_zero() && fits(d);
            let expected =
                positive(op) && positive(connect) && positive(ttl) && fits(wait) && fits(retry);
            let built = RedisStore::builder(&url)
                .unwrap()
                .op_timeout(op)
                .connect_timeout(connect)
                .lock_ttl(ttl)
                .lock_wait(wait)
                .retry_after(retry)
                .connect_lazy();
            prop_assert_eq!(built.is_ok(), expected);
            if let Err(e) = built {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidConfig);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_url_and_its_password_stay_out_of_errors_and_debug() {
    let b = RedisStore::builder("redis://user:hunter2@127.0.0.1:1/").unwrap();
    assert!(!format!("{b:?}").contains("hunter2"), "{b:?}");
    let e = RedisStore::builder("redis://user:hunter2@host:notaport/").unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Revocation across two app instances
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "axum")]
#[path = "common/revocation_suite.rs"]
mod revocation_suite;

/// The revocation suite over Redis: each app instance opens its own connection to one server,
/// under one prefix.
#[cfg(feature = "axum")]
mod revocation {
    use super::*;

    use std::sync::Arc;

    use sealed_session::cache::RedisRevocations;
    use sealed_session::revocation::{FailurePolicy, RevocationStore};

    use crate::revocation_suite::{app, log_in, me_on, Setup};

    async fn connect(url: &str, prefix: &str) -> Arc<dyn RevocationStore> {
        let store = RedisStore::builder(url)
            .unwrap()
            .prefix(prefix)
            .op_timeout(Duration::from_secs(2))
            .retry_after(Duration::from_millis(100))
            .connect()
            .await
            .unwrap();
        Arc::new(RedisRevocations::new(&store).with_timeout(Duration::from_millis(200)))
    }

    async fn setup() -> Option<Setup> {
        let server = RedisServer::start()?;
        let (url, prefix) = (server.url(), unique_prefix("rev"));
        Some(Setup {
            guard: Box::new(server),
            store: Box::new(move || {
                let (url, prefix) = (url.clone(), prefix.clone());
                Box::pin(async move { connect(&url, &prefix).await })
            }),
        })
    }

    revocation_suite!(setup);

    /// A revocation lives from the store's clock (the manager's), not the system's: `until`
    /// comes from the manager. Fails before the store took a clock: with a clock 20 years
    /// behind the system's, `until` looked past and nothing was stored.
    #[tokio::test]
    async fn a_revocation_lives_by_the_injected_clock() {
        use sealed_session::{ManualClock, SessionId, UnixTime};
        let Some(server) = RedisServer::start() else {
            return;
        };
        let store = RedisStore::builder(&server.url())
            .unwrap()
            .prefix(unique_prefix("rev"))
            .connect()
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(UnixTime::from_secs(1_000_000_000)));
        let revocations = RedisRevocations::new(&store).with_clock(clock);
        let (id, other) = (SessionId::generate(), SessionId::generate());
        revocations
            .revoke(id, UnixTime::from_secs(1_000_000_060))
            .await
            .unwrap();
        assert!(revocations.check(id, id, None).await.unwrap().revoked);
        assert!(!revocations.check(other, other, None).await.unwrap().revoked);
        // Already over by that clock: nothing to keep.
        revocations
            .revoke(other, UnixTime::from_secs(999_999_999))
            .await
            .unwrap();
        assert!(!revocations.check(other, other, None).await.unwrap().revoked);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn with_redis_down_revocation_fails_closed_or_open_within_the_timeout() {
        let Some(mut server) = RedisServer::start() else {
            return;
        };
        let (ring, prefix) = (KeyRing::generate(), unique_prefix("rev"));
        let url = server.url();
        let closed = app(
            connect(&url, &prefix).await,
            &ring,
            FailurePolicy::FailClosed,
        )
        .await;
        let open = app(connect(&url, &prefix).await, &ring, FailurePolicy::FailOpen).await;
        let cookie = log_in(&closed, "ann", None).await;
        for app in [&closed, &open] {
            assert_eq!(me_on(app, &cookie).await.body, "ann");
        }
        // Frozen (slow), then killed (unreachable): the same outcome, within the timeout.
        for phase in ["frozen", "killed"] {
            if phase == "frozen" {
                server.freeze();
            } else {
                server.thaw();
                server.kill();
            }
            tokio::time::sleep(Duration::from_millis(150)).await; // past retry_after
            let started = Instant::now();
            let answer = me_on(&closed, &cookie).await;
            assert_eq!(answer.body, "-", "{phase}: fail-closed: no session");
            assert_eq!(
                answer.set, None,
                "{phase}: the cookie is kept for when Redis is back"
            );
            let answer = me_on(&open, &cookie).await;
            assert_eq!(
                answer.body, "ann",
                "{phase}: fail-open: the session is kept"
            );
            assert!(
                started.elapsed() < 2 * Duration::from_millis(200) + 2 * SLACK,
                "{phase}: {:?}",
                started.elapsed()
            );
        }
        // Back: the same cookie opens again on the fail-closed instance.
        server.restart();
        let started = Instant::now();
        loop {
            if me_on(&closed, &cookie).await.body == "ann" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "revocation did not recover"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
