//! The cache over Redis (feature `redis`): see [`RedisStore`].

use std::fmt;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use redis::aio::ConnectionManager;
use redis::{Client, RedisError, RedisResult, Script};

use super::clock::{CacheClock, UnixCacheClock};
use super::entry;
use super::store::{Backend, Found, NamespaceRef, Store, Target, Write, Written};
use super::CacheKey;
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

mod breaker;
mod builder;
mod names;

use breaker::Breaker;
use builder::RedisSettings;
pub use builder::RedisStoreBuilder;
use names::{hex_encode, keyed, millis, namespace_key, parse_generation, GENERATION_MAX_DIGITS};

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
/// connections buy little throughput for the commands used here (short `GETRANGE`s, `SET`, short Lua),
/// while a pool adds a checkout on every call, a size to tune, and connections that die one by
/// one during an outage. Pipelining on one connection is also what keeps a hit within a few per
/// cent of a plain `GET` (1.11× sealed, see `benches/micro/benches/redis.rs`). A pool would win for long blocking commands
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
    settings: RedisSettings,
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

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("RedisStore")
            .field("settings", &i.settings)
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
            settings: RedisSettings {
                addr,
                prefix: RedisStore::DEFAULT_PREFIX.to_owned(),
                op_timeout: RedisStore::DEFAULT_OP_TIMEOUT,
                connect_timeout: RedisStore::DEFAULT_CONNECT_TIMEOUT,
                lock_ttl: RedisStore::DEFAULT_LOCK_TTL,
                lock_wait: RedisStore::DEFAULT_LOCK_WAIT,
                retry_after: RedisStore::DEFAULT_RETRY_AFTER,
            },
        })
    }

    /// The connection, to share with other users of the same server (the revocation store, or
    /// your own commands). Cheap to clone.
    pub fn connection(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.inner.settings.prefix
    }

    /// The bound on one operation.
    pub fn op_timeout(&self) -> Duration {
        self.inner.settings.op_timeout
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
                breaker.close(&self.inner.settings.addr);
                return Ok(value);
            }
            Ok(Err(e)) => classify(&e),
            Err(_) => Error::new(
                ErrorKind::StoreTimeout,
                format!("Redis did not answer {operation} within {timeout:?}"),
            ),
        };
        if error.kind() != ErrorKind::StoreProtocol {
            breaker.trip(&self.inner.settings.addr, operation, &error);
        }
        Err(error)
    }

    fn key(&self, kind: &str, ns: &str) -> String {
        namespace_key(&self.inner.settings.prefix, kind, ns)
    }

    fn generation_key(&self, ns: &str) -> String {
        self.key("gen", ns)
    }

    fn keyed(&self, kind: &str, ns: &str, generation: u64, key_json: &[u8]) -> Vec<u8> {
        keyed(&self.inner.settings.prefix, kind, ns, generation, key_json)
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

impl Store for RedisStore {}

impl Backend for RedisStore {
    const SHARED: bool = true;
    type Lock = RedisLock;

    fn default_clock(&self) -> Arc<dyn CacheClock> {
        Arc::new(UnixCacheClock::new())
    }

    fn prefix(&self) -> &str {
        &self.inner.settings.prefix
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
                .run("read", self.inner.settings.op_timeout, async {
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
            .run("write", self.inner.settings.op_timeout, async {
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
            .run("remove", self.inner.settings.op_timeout, async {
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
            .run("generation", self.inner.settings.op_timeout, async {
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
            .run("clear", self.inner.settings.op_timeout, async {
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
            .run("lock", self.inner.settings.op_timeout, async {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(&owner)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(self.inner.settings.lock_ttl))
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
            .run("unlock", self.inner.settings.op_timeout, async {
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
        self.inner.settings.lock_wait
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_its_bound() {
        let pause = pause_for;
        assert_eq!(pause(0), FIRST_PAUSE);
        assert_eq!(pause(1), 2 * FIRST_PAUSE);
        assert_eq!(pause(40), MAX_PAUSE);
    }

    #[test]
    fn the_builder_prints_its_settings_but_not_the_password() {
        let builder = RedisStore::builder("redis://app:hunter2@cache.internal:6380/3")
            .unwrap()
            .prefix("myapp");
        let text = format!("{builder:?} {builder:#?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("cache.internal:6380"), "{text}");
        assert!(text.contains("myapp"), "{text}");
    }
}
