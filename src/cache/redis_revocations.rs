//! Revocations in Redis, beside the cache's entries: the store every node of a deployment
//! shares, so a logout on one node is seen by all.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::RedisStore;
use crate::clock::{Clock, SystemClock, UnixTime};
use crate::error::{Error, ErrorKind};
use crate::revocation::{RevocationState, RevocationStore, StoreFuture};
use crate::session::SessionId;

/// Revocations in Redis, next to a [`RedisStore`]'s cache entries and sharing its connection.
///
/// Keys, with the store's prefix `P`: `P:revoked:<id>` (a 22-character session id or lineage;
/// expires when no cookie of it can open any more) and `P:user-gen:<user>` (a counter; never
/// expires, since a session may be bound to it for its whole life).
///
/// ```no_run
/// use sealed_session::cache::{RedisRevocations, RedisStore};
/// use sealed_session::revocation::Revocation;
/// use sealed_session::{KeyRing, SessionManager};
///
/// # async fn run(ring: KeyRing) -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::builder("redis://127.0.0.1:6379/")?.connect().await?;
/// let manager = SessionManager::builder(ring)
///     .with_revocation(Revocation::new(RedisRevocations::new(&store)))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocations {
    store: RedisStore,
    timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("store", &self.store)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisRevocations {
    /// Default bound on one Redis call: a revocation check is on every request's path.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);

    /// Revocations in `store`'s server, under its prefix, with the default timeout (50 ms; the
    /// cache's operations keep their own).
    pub fn new(store: &RedisStore) -> Self {
        RedisRevocations {
            store: store.clone(),
            timeout: RedisRevocations::DEFAULT_TIMEOUT,
            clock: Arc::new(SystemClock),
        }
    }

    /// The clock a revocation's lifetime in Redis is counted from (default the system clock;
    /// use the session manager's, as for [`MemoryRevocations`](crate::revocation::MemoryRevocations)):
    /// `revoke(id, until)` keeps the entry for `until - now`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The bound on each Redis call (default 50 ms). Past it, the manager's
    /// [`FailurePolicy`](crate::revocation::FailurePolicy) applies.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn revoked_key(&self, id: SessionId) -> String {
        format!("{}:revoked:{id}", self.store.key_prefix())
    }

    fn user_key(&self, user: &str) -> String {
        format!("{}:user-gen:{user}", self.store.key_prefix())
    }
}

fn parse_counter(raw: Option<String>) -> Result<u64, Error> {
    match raw {
        None => Ok(0),
        Some(s) => s.parse().map_err(|_| {
            Error::new(
                ErrorKind::StoreProtocol,
                "a user generation in Redis is not a number",
            )
        }),
    }
}

impl RevocationStore for RedisRevocations {
    fn revoke(&self, id: SessionId, until: UnixTime) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let now = self.clock.now();
            if until <= now {
                return Ok(()); // already expired: its cookie no longer opens
            }
            let ms = until
                .saturating_since(now)
                .as_millis()
                .try_into()
                .unwrap_or(u64::MAX);
            let key = self.revoked_key(id);
            let mut conn = self.store.connection();
            self.store
                .run("revoke", self.timeout, async {
                    redis::cmd("SET")
                        .arg(&key)
                        .arg("1")
                        .arg("PX")
                        .arg(ms)
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await
        })
    }

    fn check<'a>(
        &'a self,
        id: SessionId,
        lineage: SessionId,
        user: Option<&'a str>,
    ) -> StoreFuture<'a, RevocationState> {
        Box::pin(async move {
            let mut conn = self.store.connection();
            let mut keys = vec![self.revoked_key(id)];
            if lineage != id {
                keys.push(self.revoked_key(lineage));
            }
            let revoked_keys = keys.len();
            if let Some(user) = user {
                keys.push(self.user_key(user));
            }
            let values: Vec<Option<String>> = self
                .store
                .run("revocation check", self.timeout, async {
                    redis::cmd("MGET").arg(&keys).query_async(&mut conn).await
                })
                .await?;
            if values.len() != keys.len() {
                return Err(Error::new(
                    ErrorKind::StoreProtocol,
                    "Redis answered MGET with the wrong number of values",
                ));
            }
            let (revoked, generation) = values.split_at(revoked_keys);
            Ok(RevocationState {
                revoked: revoked.iter().any(Option::is_some),
                user_generation: parse_counter(generation.first().cloned().flatten())?,
            })
        })
    }

    fn user_generation<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut conn = self.store.connection();
            let key = self.user_key(user);
            let raw: Option<String> = self
                .store
                .run("user generation", self.timeout, async {
                    redis::cmd("GET").arg(&key).query_async(&mut conn).await
                })
                .await?;
            parse_counter(raw)
        })
    }

    fn bump_user_generation<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut conn = self.store.connection();
            let key = self.user_key(user);
            self.store
                .run("log out everywhere", self.timeout, async {
                    redis::cmd("INCR").arg(&key).query_async(&mut conn).await
                })
                .await
        })
    }
}
