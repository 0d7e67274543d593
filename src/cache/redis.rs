//! The cache over Redis (feature `redis`): see [`RedisStore`].

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError, RedisResult, Script};

use super::clock::{CacheClock, UnixCacheClock};
use super::entry;
use super::stats::Counters;
use super::store::{Backend, Found, NamespaceRef, Store, Target, Write, Written};
use super::{Cache, CacheBuilder, CacheKey};
use crate::error::{Error, ErrorKind};

/// Store an entry, unless it is an insert for a generation that is no longer current; release
/// the creation lock if the caller holds it. The generation is read with `GETRANGE` up to one
/// byte past the longest `u64`, as everywhere here, so a forged generation of any length costs
/// at most 21 bytes to return and is refused by [`parse_generation`].
///
/// KEYS: generation, entry, lock. ARGV: value, lifetime (ms), generation, "1" to check the
/// generation, lock owner ("" for none). Returns `{stored (0/1), current generation}`.
const WRITE: &str = r"
local g = redis.call('GETRANGE', KEYS[1], 0, 20)
if g == '' then g = '0' end
local stored = 0
if ARGV[4] ~= '1' or g == ARGV[3] then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  stored = 1
end
if ARGV[5] ~= '' and redis.call('GET', KEYS[3]) == ARGV[5] then
  redis.call('DEL', KEYS[3])
end
return {stored, g}
";

/// Release a lock only if it still holds the caller's owner token.
///
/// KEYS: lock. ARGV: owner.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// Delete the entry at the namespace's current generation.
///
/// KEYS: generation. ARGV: entry key up to the generation, entry key after it.
const REMOVE: &str = r"
local g = redis.call('GETRANGE', KEYS[1], 0, 20)
if g == '' then g = '0' end
return redis.call('DEL', ARGV[1] .. g .. ARGV[2])
";

/// The first pause while another process creates, then doubled up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(2);
const MAX_PAUSE: Duration = Duration::from_millis(50);
/// The bound on releasing an abandoned lock in the background.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(1);

/// Redis as a cache [`Store`] (feature `redis`): entries, namespace generations and creation
/// locks shared by every process that points at the same server. Cheap to clone: clones share
/// the connection.
///
/// ```no_run
/// use sealed_session::cache::{Cache, RedisStore};
/// use sealed_session::KeyRing;
/// use std::time::Duration;
///
/// # async fn run(ring: KeyRing) -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::builder("redis://127.0.0.1:6379/")?
///     .prefix("myapp")
///     .connect()
///     .await?;
/// let cache = Cache::builder()
///     .store(store)
///     .seal_with(ring) // required: a shared store's entries are sealed
///     .ttl(Duration::from_secs(60))
///     .grace(Duration::from_secs(10))
///     .build()?;
/// let users = cache.namespace::<u64, String>("users");
/// let name = users
///     .get_or_create_async(&7, || async { Ok::<_, std::io::Error>("ann".to_string()) })
///     .await?;
/// # Ok(()) }
/// ```
///
/// # Connection: one multiplexed connection, not a pool
///
/// The store talks to Redis through the `redis` crate's [`ConnectionManager`]: a single
/// multiplexed connection shared by every task (requests are pipelined on it, replies matched in
/// order) that reconnects by itself in the background when it breaks. A pool (`bb8`, `deadpool`)
/// was not chosen: Redis executes commands one at a time per server anyway, so several
/// connections buy little throughput for the commands used here (small `MGET`, `SET`, short Lua),
/// while a pool adds a checkout on every call, a size to tune, and connections that die one by
/// one during an outage. Pipelining on one connection is also what keeps a hit within a few per
/// cent of a plain `GET` (see `benches/redis.rs`). A pool would win for long blocking commands
/// (`BLPOP`) or huge values, which a cache does not send.
///
/// # Keys
///
/// With the prefix `P` (default `sealed-session`), a namespace `N` of `n` bytes, and the codec's
/// JSON of the key `J`:
///
/// | Key | Holds |
/// | --- | --- |
/// | `P:gen:n:N` | the namespace's generation (absent = 0); `INCR` clears the namespace in O(1) |
/// | `P:cache:n:N:G:J` | the entry at generation `G` (lifetimes, then the sealed payload: the layout is in `SECURITY.md`), `PX` = TTL + grace |
/// | `P:lock:n:N:G:J` | the creation lock: a random owner token, `SET NX PX` |
///
/// The length `n` makes the names unambiguous whatever bytes a namespace holds. Key names are not
/// secret: the namespace, the generation and the key's JSON are visible to anyone who can list
/// the server's keys (values are sealed; names cannot be, since every process must compute them).
///
/// # Operations
///
/// - **Read** (every lookup): one `MULTI`/`EXEC` of `GETRANGE P:gen:…` and
///   `GETRANGE P:cache:…:G:…` with the generation last seen by this process, each bounded: a
///   generation to 21 bytes, an entry to one byte more than the longest entry this cache writes
///   (the codec's limit, the seal and the lifetimes), so a forged value of any size costs a
///   bounded read and is refused unread ([`CacheStats::oversized`](super::CacheStats::oversized)).
///   If the generation returned is that `G`, the entry is the current one; if not (another
///   process cleared the namespace), the read is repeated once at the new generation. One round
///   trip, atomic, no Lua on the hot path.
/// - **Write**: a Lua script stores the entry with `PX` = TTL + grace (Redis's expiry is only a
///   backstop: freshness and grace are decided from the lifetimes inside the entry, on the cache's
///   clock), refuses an insert whose generation is no longer current (the caller re-seals for the
///   new one), and releases the creation lock if this write ends a locked creation.
/// - **Creation lock** (single-flight across processes): the one creator per key in a process
///   takes `SET P:lock:… <random owner> NX PX <lock TTL>`. Holding it, it double-checks the entry,
///   creates, writes and releases in one script that deletes the lock only if it still holds the
///   owner token (a creator slower than the lock TTL never releases another's lock). A process
///   that finds the lock taken serves the stale value if there is one, or polls the entry (2 ms,
///   doubling to 50 ms) and retries the lock until a fresh value appears, the lock frees up (it
///   then creates), or the lock wait is over (it then creates without the lock). A creator that
///   dies holding the lock delays others by at most the lock TTL.
/// - **Invalidate**: a script deletes the entry at the current generation. **Clear**: `INCR`.
///
/// # Failure
///
/// Every call runs under `tokio::time::timeout` (default 100 ms). A call that times out or cannot
/// reach the server fails the operation, and for [`retry_after`](RedisStoreBuilder::retry_after)
/// (default 1 s) later calls fail at once without touching the network, so an outage costs each
/// request at most one timeout; the state changes are logged once (`warn` when Redis is lost,
/// `info` when it is back). The cache turns every failure into a degraded call: a lookup is a
/// miss, `get_or_create_async` runs the creator (single-flight within the process) and returns its
/// value without storing it. Nothing panics, and without a Tokio runtime every call fails as
/// unavailable instead.
///
/// The store needs a Tokio runtime with its time driver (what `#[tokio::main]` builds).
///
/// [`ConnectionManager`]: redis::aio::ConnectionManager
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<RedisInner>,
}

struct RedisInner {
    conn: ConnectionManager,
    /// Where the server is, for logs and `Debug` (never the credentials).
    addr: String,
    prefix: String,
    op_timeout: Duration,
    lock_ttl: Duration,
    lock_wait: Duration,
    breaker: Breaker,
    write: Script,
    unlock: Script,
    remove: Script,
}

/// A creation lock held in Redis. Dropped without being released (its creator panicked, or its
/// future was dropped), it releases itself in a spawned task, so that the other processes do not
/// wait for the lock TTL.
pub struct RedisLock {
    key: Vec<u8>,
    owner: String,
    /// Present until the lock is released.
    armed: Option<ConnectionManager>,
}

impl RedisLock {
    fn disarm(mut self) {
        self.armed = None;
    }
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        let Some(mut conn) = self.armed.take() else {
            return;
        };
        // Without a runtime the lock simply expires after its TTL.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (key, owner) = (
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.owner),
        );
        runtime.spawn(async move {
            let script = Script::new(UNLOCK);
            let mut release = script.key(&key);
            release.arg(&owner);
            let _ =
                tokio::time::timeout(RELEASE_TIMEOUT, release.invoke_async::<i64>(&mut conn)).await;
        });
    }
}

impl fmt::Debug for RedisLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The owner token is what releases the lock: not for logs.
        f.debug_struct("RedisLock").finish_non_exhaustive()
    }
}

/// Builds a [`RedisStore`]; every setting has a default, documented on its method.
pub struct RedisStoreBuilder {
    client: Client,
    addr: String,
    prefix: String,
    op_timeout: Duration,
    connect_timeout: Duration,
    lock_ttl: Duration,
    lock_wait: Duration,
    retry_after: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("addr", &self.addr)
            .field("prefix", &self.prefix)
            .field("op_timeout", &self.op_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("lock_ttl", &self.lock_ttl)
            .field("lock_wait", &self.lock_wait)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("RedisStore")
            .field("addr", &i.addr)
            .field("prefix", &i.prefix)
            .field("op_timeout", &i.op_timeout)
            .field("lock_ttl", &i.lock_ttl)
            .field("lock_wait", &i.lock_wait)
            .field("available", &!i.breaker.is_open())
            .finish()
    }
}

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "sealed-session";
    /// Default bound on one cache operation: a cache that is slower than recomputing is no cache.
    pub const DEFAULT_OP_TIMEOUT: Duration = Duration::from_millis(100);
    /// Default bound on establishing a connection.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// Default life of a creation lock: longer than a creator should take.
    pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(5);
    /// Default time to wait for another process's creation before creating anyway.
    pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(5);
    /// Default pause after a failure before Redis is tried again.
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
    /// The longest timeout, lock TTL, lock wait or retry pause accepted: a day. Each is a wait a
    /// request may sit through; longer is a mistake (`Duration::MAX` would overflow the clock
    /// arithmetic it feeds), refused when the store is built.
    pub const MAX_SETTING: Duration = Duration::from_secs(24 * 60 * 60);

    /// Start configuring a store for the server at `url` (`redis://[user:password@]host:port/db`;
    /// `rediss://` is not compiled in).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] if the URL does not parse (the message never repeats it, as
    /// it may hold a password).
    pub fn builder(url: &str) -> Result<RedisStoreBuilder, Error> {
        let client = Client::open(url).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                "the Redis URL is not valid (expected redis://host:port/db)",
            )
        })?;
        let addr = client.get_connection_info().addr().to_string();
        Ok(RedisStoreBuilder {
            client,
            addr,
            prefix: RedisStore::DEFAULT_PREFIX.to_owned(),
            op_timeout: RedisStore::DEFAULT_OP_TIMEOUT,
            connect_timeout: RedisStore::DEFAULT_CONNECT_TIMEOUT,
            lock_ttl: RedisStore::DEFAULT_LOCK_TTL,
            lock_wait: RedisStore::DEFAULT_LOCK_WAIT,
            retry_after: RedisStore::DEFAULT_RETRY_AFTER,
        })
    }

    /// The connection, to share with other users of the same server (the revocation store, or
    /// your own commands). Cheap to clone.
    pub fn connection(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The bound on one operation.
    pub fn op_timeout(&self) -> Duration {
        self.inner.op_timeout
    }

    /// Whether the last operation reached Redis (`false` while calls fail fast after a failure).
    pub fn is_available(&self) -> bool {
        !self.inner.breaker.is_open()
    }

    /// Run one Redis call under the timeout and the failure pause. `Protocol` errors (an error
    /// reply) say nothing about reachability and do not pause the store.
    pub(crate) async fn run<T>(
        &self,
        operation: &'static str,
        timeout: Duration,
        call: impl Future<Output = RedisResult<T>>,
    ) -> Result<T, Error> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                ErrorKind::StoreUnavailable,
                "no Tokio runtime to run the Redis client on",
            ));
        }
        let breaker = &self.inner.breaker;
        if breaker.is_open() {
            return Err(Error::new(
                ErrorKind::StoreUnavailable,
                "Redis failed recently; not retried yet",
            ));
        }
        let error = match tokio::time::timeout(timeout, call).await {
            Ok(Ok(value)) => {
                breaker.close(&self.inner.addr);
                return Ok(value);
            }
            Ok(Err(e)) => classify(&e),
            Err(_) => Error::new(
                ErrorKind::StoreTimeout,
                format!("Redis did not answer {operation} within {timeout:?}"),
            ),
        };
        if error.kind() != ErrorKind::StoreProtocol {
            breaker.trip(&self.inner.addr, operation, &error);
        }
        Err(error)
    }

    fn key(&self, kind: &str, ns: &str) -> String {
        namespace_key(&self.inner.prefix, kind, ns)
    }

    fn generation_key(&self, ns: &str) -> String {
        self.key("gen", ns)
    }

    fn keyed(&self, kind: &str, ns: &str, generation: u64, key_json: &[u8]) -> Vec<u8> {
        keyed(&self.inner.prefix, kind, ns, generation, key_json)
    }

    fn key_json<'a, K>(target: &Target<'a, K>) -> Result<&'a [u8], Error> {
        target.key_json.ok_or_else(|| {
            Error::new(
                ErrorKind::StoreProtocol,
                "internal: a shared store needs the encoded key",
            )
        })
    }
}

/// `P:kind:n:N`: the length makes the name unambiguous whatever bytes the namespace holds.
fn namespace_key(prefix: &str, kind: &str, ns: &str) -> String {
    format!("{prefix}:{kind}:{}:{ns}", ns.len())
}

/// `P:kind:n:N:G:J`, an entry's or a lock's name.
fn keyed(prefix: &str, kind: &str, ns: &str, generation: u64, key_json: &[u8]) -> Vec<u8> {
    let mut out = namespace_key(prefix, kind, ns).into_bytes();
    out.extend_from_slice(format!(":{generation}:").as_bytes());
    out.extend_from_slice(key_json);
    out
}

/// The last index `GETRANGE` reads of a generation: `u64::MAX` has 20 digits, so a 21st byte
/// shows a forged value without reading the rest of it.
const GENERATION_MAX_DIGITS: i64 = 20;

/// A reply's generation: absent is 0; anything but decimal digits is an error, not a guess.
fn parse_generation(raw: Option<&[u8]>) -> Result<u64, Error> {
    let Some(raw) = raw else { return Ok(0) };
    if raw.len() > 20 {
        return Err(Error::new(
            ErrorKind::StoreProtocol,
            "a namespace generation in Redis is longer than any number",
        ));
    }
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::StoreProtocol,
                "a namespace generation in Redis is not a number",
            )
        })
}

fn classify(e: &RedisError) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::StoreTimeout
    } else if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        ErrorKind::StoreUnavailable
    } else {
        ErrorKind::StoreProtocol
    };
    // The kind and category only: a server's error text may quote what it was sent.
    Error::new(kind, format!("Redis error ({:?})", e.kind()))
}

fn millis(d: Duration) -> u64 {
    // Redis refuses PX 0; round up so a sub-millisecond lifetime still lives briefly. Redis also
    // refuses an expiry past its own clock's range: a per-call TTL (insert_with_ttl) is not
    // validated by any builder, so cap it at the longest lifetime a builder accepts.
    let capped = d.min(Cache::MAX_LIFETIME.saturating_mul(2));
    u64::try_from(capped.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStoreBuilder {
    /// The prefix of every key (default [`RedisStore::DEFAULT_PREFIX`]). Applications sharing a
    /// server use different prefixes; the prefix is also bound into sealed entries.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The bound on each operation (default 100 ms). A slower answer is a failure: the cache
    /// degrades to calling the creator.
    #[must_use]
    pub fn op_timeout(mut self, timeout: Duration) -> Self {
        self.op_timeout = timeout;
        self
    }

    /// The bound on establishing a connection, at start and when reconnecting (default 1 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a creation lock lives (default 5 s): a creator that dies holding it delays the
    /// other processes by at most this much. Make it longer than your slowest creator.
    #[must_use]
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// How long a process waits for another process's creation before creating itself (default
    /// 5 s). Callers with a stale value never wait.
    #[must_use]
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// After a timeout or a lost connection, how long calls fail at once before Redis is tried
    /// again (default 1 s; zero retries on every call).
    #[must_use]
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |what: String| {
            Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("invalid Redis store setting: {what}"),
            ))
        };
        if self.prefix.is_empty() || self.prefix.contains(char::is_whitespace) {
            return bad("the prefix must be non-empty and without spaces".into());
        }
        let settings = [
            ("op_timeout", self.op_timeout, true),
            ("connect_timeout", self.connect_timeout, true),
            ("lock_ttl", self.lock_ttl, true),
            ("lock_wait", self.lock_wait, false),
            ("retry_after", self.retry_after, false),
        ];
        for (name, value, positive) in settings {
            if positive && value.is_zero() {
                return bad(format!("{name} must be positive"));
            }
            if value > RedisStore::MAX_SETTING {
                return bad(format!("{name} is longer than a day"));
            }
        }
        Ok(())
    }

    fn manager_config(&self) -> ConnectionManagerConfig {
        // Responses are bounded by our own timeout around each call; the manager bounds
        // connecting, and retries a few times in the background after a connection breaks.
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(None)
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_millis(500))
    }

    fn finish(self, conn: ConnectionManager) -> RedisStore {
        RedisStore {
            inner: Arc::new(RedisInner {
                conn,
                addr: self.addr,
                prefix: self.prefix,
                op_timeout: self.op_timeout,
                lock_ttl: self.lock_ttl,
                lock_wait: self.lock_wait,
                breaker: Breaker::new(self.retry_after),
                write: Script::new(WRITE),
                unlock: Script::new(UNLOCK),
                remove: Script::new(REMOVE),
            }),
        }
    }

    /// Connect now, and fail if Redis cannot be reached within the connect timeout.
    ///
    /// # Errors
    /// [`ErrorKind::StoreUnavailable`] or [`ErrorKind::StoreTimeout`] if the server cannot be
    /// reached; [`ErrorKind::StoreProtocol`] for an invalid setting (an empty prefix, a zero
    /// timeout).
    pub async fn connect(self) -> Result<RedisStore, Error> {
        self.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                ErrorKind::StoreUnavailable,
                "connect needs a Tokio runtime",
            ));
        }
        let config = self.manager_config();
        let connect = ConnectionManager::new_with_config(self.client.clone(), config);
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(conn)) => Ok(self.finish(conn)),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(Error::new(
                ErrorKind::StoreTimeout,
                format!("could not connect to Redis at {}", self.addr),
            )),
        }
    }

    /// A store that connects on first use, so an application can start while Redis is down
    /// (every call degrades until it is reachable). Must be called within a Tokio runtime.
    ///
    /// # Errors
    /// As [`connect`](Self::connect) for invalid settings; [`ErrorKind::StoreUnavailable`]
    /// outside a Tokio runtime.
    pub fn connect_lazy(self) -> Result<RedisStore, Error> {
        self.validate()?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::new(
                ErrorKind::StoreUnavailable,
                "connect_lazy needs a Tokio runtime",
            ));
        }
        let config = self.manager_config();
        let conn = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|e| classify(&e))?;
        Ok(self.finish(conn))
    }
}

impl CacheBuilder<RedisStore> {
    /// Build the cache over Redis.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] if a TTL is zero, or if no key ring was given to
    /// [`seal_with`](CacheBuilder::seal_with) and [`allow_unsealed`](CacheBuilder::allow_unsealed)
    /// was not set: a shared store's entries are sealed.
    pub fn build(mut self) -> Result<Cache<RedisStore>, Error> {
        let store = self
            .store
            .take()
            .ok_or_else(|| Error::new(ErrorKind::InvalidConfig, "no Redis store was given"))?;
        self.assemble(store, Arc::new(Counters::default()))
    }
}

impl Store for RedisStore {}

impl Backend for RedisStore {
    const SHARED: bool = true;
    type Lock = RedisLock;

    fn default_clock(&self) -> Arc<dyn CacheClock> {
        Arc::new(UnixCacheClock::new())
    }

    fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    async fn read<K: CacheKey>(&self, target: &Target<'_, K>) -> Result<Found, Error> {
        let key_json = Self::key_json(target)?;
        let ns = target.ns.name;
        let generation_key = self.generation_key(ns);
        let mut seen = target.ns.generation.load(Ordering::Acquire);
        // A hostile value is refused by its length before any of it is kept: Redis returns at
        // most one byte more than the longest entry this cache writes.
        let max_wire = entry::WIRE_TIMES_LEN.saturating_add(target.max_payload);
        let last = i64::try_from(max_wire).unwrap_or(i64::MAX);
        let mut attempts = 0;
        loop {
            let entry_key = self.keyed("cache", ns, seen, key_json);
            let mut conn = self.inner.conn.clone();
            let (generation, entry): (Vec<u8>, Vec<u8>) = self
                .run("read", self.inner.op_timeout, async {
                    redis::pipe()
                        .atomic()
                        .cmd("GETRANGE")
                        .arg(&generation_key)
                        .arg(0)
                        .arg(GENERATION_MAX_DIGITS)
                        .cmd("GETRANGE")
                        .arg(&entry_key)
                        .arg(0)
                        .arg(last)
                        .query_async(&mut conn)
                        .await
                })
                .await?;
            let generation =
                parse_generation(Some(generation.as_slice()).filter(|g| !g.is_empty()))?;
            if generation == seen {
                let oversized = entry.len() > max_wire;
                return Ok(Found {
                    generation,
                    // Absent and empty read alike (`GETRANGE` cannot tell them apart): an empty
                    // value is too short to be an entry anyway.
                    entry: (!oversized).then(|| entry::from_wire(&entry)).flatten(),
                    oversized,
                });
            }
            // Another process cleared the namespace (or the server lost it): follow the store.
            target.ns.generation.store(generation, Ordering::Release);
            attempts += 1;
            if attempts == 2 {
                // Cleared again while we looked: nothing is stored at the newest generation yet
                // as far as this read can tell.
                return Ok(Found {
                    generation,
                    entry: None,
                    oversized: false,
                });
            }
            seen = generation;
        }
    }

    async fn write<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
        write: Write<'_, RedisLock>,
    ) -> Result<Written, Error> {
        let key_json = Self::key_json(target)?;
        let ns = target.ns.name;
        let wire = entry::to_wire(write.entry)
            .ok_or_else(|| Error::new(ErrorKind::StoreProtocol, "internal: a malformed entry"))?;
        let entry_key = self.keyed("cache", ns, write.generation, key_json);
        let (lock_key, owner) = match &write.lock {
            Some(lock) => (lock.key.clone(), lock.owner.clone()),
            None => (entry_key.clone(), String::new()),
        };
        let mut conn = self.inner.conn.clone();
        let (stored, current): (i64, Vec<u8>) = self
            .run("write", self.inner.op_timeout, async {
                self.inner
                    .write
                    .key(self.generation_key(ns))
                    .key(&entry_key)
                    .key(&lock_key)
                    .arg(&wire)
                    .arg(millis(write.lifetime))
                    .arg(write.generation)
                    .arg(if write.only_if_current { "1" } else { "0" })
                    .arg(&owner)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        // Released by the script (or no longer ours): nothing left to release on drop.
        if let Some(lock) = write.lock {
            lock.disarm();
        }
        let current = parse_generation(Some(&current))?;
        target.ns.generation.store(current, Ordering::Release);
        Ok(if stored == 1 {
            Written::Stored
        } else {
            Written::Superseded(current)
        })
    }

    async fn remove<K: CacheKey>(&self, target: &Target<'_, K>) -> Result<(), Error> {
        let key_json = Self::key_json(target)?;
        let ns = target.ns.name;
        let before = format!("{}:", self.key("cache", ns)).into_bytes();
        let mut after = b":".to_vec();
        after.extend_from_slice(key_json);
        let mut conn = self.inner.conn.clone();
        let _: i64 = self
            .run("remove", self.inner.op_timeout, async {
                self.inner
                    .remove
                    .key(self.generation_key(ns))
                    .arg(&before)
                    .arg(&after)
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(())
    }

    async fn generation(&self, ns: &NamespaceRef<'_>) -> Result<u64, Error> {
        let mut conn = self.inner.conn.clone();
        let key = self.generation_key(ns.name);
        let raw: Vec<u8> = self
            .run("generation", self.inner.op_timeout, async {
                redis::cmd("GETRANGE")
                    .arg(&key)
                    .arg(0)
                    .arg(GENERATION_MAX_DIGITS)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        let generation = parse_generation(Some(raw.as_slice()).filter(|g| !g.is_empty()))?;
        ns.generation.store(generation, Ordering::Release);
        Ok(generation)
    }

    async fn clear(&self, ns: &NamespaceRef<'_>) -> Result<(), Error> {
        let mut conn = self.inner.conn.clone();
        let key = self.generation_key(ns.name);
        let generation: u64 = self
            .run("clear", self.inner.op_timeout, async {
                redis::cmd("INCR").arg(&key).query_async(&mut conn).await
            })
            .await?;
        ns.generation.store(generation, Ordering::Release);
        Ok(())
    }

    async fn try_lock<K: CacheKey>(
        &self,
        target: &Target<'_, K>,
        generation: u64,
    ) -> Result<Option<RedisLock>, Error> {
        let key_json = Self::key_json(target)?;
        let key = self.keyed("lock", target.ns.name, generation, key_json);
        let mut token = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut token);
        let owner = hex_encode(&token);
        let mut conn = self.inner.conn.clone();
        let taken: Option<String> = self
            .run("lock", self.inner.op_timeout, async {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&owner)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(self.inner.lock_ttl))
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(taken.map(|_| RedisLock {
            key,
            owner,
            armed: Some(self.inner.conn.clone()),
        }))
    }

    async fn unlock(&self, lock: RedisLock) {
        let mut conn = self.inner.conn.clone();
        let released: Result<i64, Error> = self
            .run("unlock", self.inner.op_timeout, async {
                self.inner
                    .unlock
                    .key(&lock.key)
                    .arg(&lock.owner)
                    .invoke_async(&mut conn)
                    .await
            })
            .await;
        match released {
            Ok(_) => lock.disarm(),
            // Dropped armed: released once more in the background, or expires.
            Err(e) => tracing::debug!(error = %e, "a cache creation lock was not released"),
        }
    }

    fn lock_wait(&self) -> Duration {
        self.inner.lock_wait
    }

    async fn pause(&self, attempt: u32) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        tokio::time::sleep(pause_for(attempt)).await;
    }
}

/// The pause before the `attempt`-th look at another process's creation.
fn pause_for(attempt: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(MAX_PAUSE)
}

fn hex_encode(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Fails calls at once for a while after a failure, so that an outage costs each request at most
/// one timeout, and logs each change of state once.
struct Breaker {
    epoch: Instant,
    /// Nanoseconds since `epoch` until which calls fail at once.
    open_until: AtomicU64,
    /// Whether the last call failed (for logging changes only).
    down: AtomicBool,
    retry_after: Duration,
}

impl Breaker {
    fn new(retry_after: Duration) -> Self {
        Breaker {
            epoch: Instant::now(),
            open_until: AtomicU64::new(0),
            down: AtomicBool::new(false),
            retry_after,
        }
    }

    fn now(&self) -> u64 {
        entry::nanos(self.epoch.elapsed())
    }

    fn is_open(&self) -> bool {
        self.now() < self.open_until.load(Ordering::Relaxed)
    }

    fn trip(&self, addr: &str, operation: &'static str, error: &Error) {
        let until = self.now().saturating_add(entry::nanos(self.retry_after));
        self.open_until.store(until, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                redis = addr,
                operation,
                error = %error,
                retry_after = ?self.retry_after,
                "Redis is unreachable or slow: the cache degrades to calling creators, and \
                 revocation checks follow their failure policy"
            );
        }
    }

    fn close(&self, addr: &str) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(redis = addr, "Redis is reachable again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unambiguous() {
        let names = [
            keyed("p", "cache", "a", 0, b"\"b:0:c\""),
            keyed("p", "cache", "a:0", 0, b"\"b\""),
            keyed("p", "cache", "a", 10, b"1"),
            keyed("p", "cache", "a", 1, b"01"),
            keyed("p", "lock", "a", 0, b"1"),
            keyed("p:cache:1:a", "cache", "a", 0, b"1"),
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(
            keyed("app", "cache", "users", 3, b"42"),
            b"app:cache:5:users:3:42"
        );
        assert_eq!(namespace_key("app", "gen", "users"), "app:gen:5:users");
    }

    #[test]
    fn generations_parse_strictly_and_lifetimes_round_up() {
        assert_eq!(parse_generation(None), Ok(0));
        assert_eq!(parse_generation(Some(b"17")), Ok(17));
        for bad in [
            &b""[..],
            b"-1",
            b"1e3",
            b" 1",
            b"18446744073709551616",
            b"\xff",
        ] {
            assert_eq!(
                parse_generation(Some(bad)).map_err(|e| e.kind()),
                Err(ErrorKind::StoreProtocol)
            );
        }
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_micros(1500)), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
        assert_eq!(hex_encode(&[0, 0xab, 0x1f]), "00ab1f");
    }

    #[test]
    fn the_pause_doubles_up_to_its_bound() {
        let pause = pause_for;
        assert_eq!(pause(0), FIRST_PAUSE);
        assert_eq!(pause(1), 2 * FIRST_PAUSE);
        assert_eq!(pause(40), MAX_PAUSE);
    }
}
