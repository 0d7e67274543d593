//! Configuring and connecting a [`RedisStore`]: see [`RedisStoreBuilder`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};

use super::{classify, Breaker, RedisInner, RedisStore, REMOVE, UNLOCK, WRITE};
use crate::cache::stats::Counters;
use crate::cache::{Cache, CacheBuilder};
use crate::error::{Error, ErrorKind};

/// Builds a [`RedisStore`]; every setting has a default, documented on its method.
pub struct RedisStoreBuilder {
    pub(super) client: Client,
    pub(super) settings: RedisSettings,
}

/// Everything a store is configured with but its client: what the builder sets and the store
/// keeps, handed over whole. Free of credentials (the address is the host and port only), so it
/// is what both print in `Debug`.
#[derive(Clone, Debug)]
pub(super) struct RedisSettings {
    /// Where the server is, for logs and `Debug`.
    pub(super) addr: String,
    pub(super) prefix: String,
    pub(super) op_timeout: Duration,
    pub(super) connect_timeout: Duration,
    pub(super) lock_ttl: Duration,
    pub(super) lock_wait: Duration,
    pub(super) retry_after: Duration,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its connection info holds the URL's password.
        f.debug_struct("RedisStoreBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    /// The prefix of every key (default [`RedisStore::DEFAULT_PREFIX`]). Applications sharing a
    /// server use different prefixes; the prefix is also bound into sealed entries.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.prefix = prefix.into();
        self
    }

    /// The bound on each operation (default 100 ms). A slower answer is a failure: the cache
    /// degrades to calling the creator.
    #[must_use]
    pub fn op_timeout(mut self, timeout: Duration) -> Self {
        self.settings.op_timeout = timeout;
        self
    }

    /// The bound on establishing a connection, at start and when reconnecting (default 1 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// How long a creation lock lives (default 5 s): a creator that dies holding it delays the
    /// other processes by at most this much. Make it longer than your slowest creator.
    #[must_use]
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.settings.lock_ttl = ttl;
        self
    }

    /// How long a process waits for another process's creation before creating itself (default
    /// 5 s). Callers with a stale value never wait.
    #[must_use]
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.settings.lock_wait = wait;
        self
    }

    /// After a timeout or a lost connection, how long calls fail at once before Redis is tried
    /// again (default 1 s; zero retries on every call).
    #[must_use]
    pub fn retry_after(mut self, after: Duration) -> Self {
        self.settings.retry_after = after;
        self
    }

    fn validate(&self) -> Result<(), Error> {
        let s = &self.settings;
        let bad = |what: String| {
            Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("invalid Redis store setting: {what}"),
            ))
        };
        if s.prefix.is_empty() || s.prefix.contains(char::is_whitespace) {
            return bad("the prefix must be non-empty and without spaces".into());
        }
        let settings = [
            ("op_timeout", s.op_timeout, true),
            ("connect_timeout", s.connect_timeout, true),
            ("lock_ttl", s.lock_ttl, true),
            ("lock_wait", s.lock_wait, false),
            ("retry_after", s.retry_after, false),
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
            .set_connection_timeout(Some(self.settings.connect_timeout))
            .set_response_timeout(None)
            .set_number_of_retries(3)
            .set_max_delay(Duration::from_millis(500))
    }

    fn finish(self, conn: ConnectionManager) -> RedisStore {
        RedisStore {
            inner: Arc::new(RedisInner {
                conn,
                breaker: Breaker::new(self.settings.retry_after),
                settings: self.settings,
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
        match tokio::time::timeout(self.settings.connect_timeout, connect).await {
            Ok(Ok(conn)) => Ok(self.finish(conn)),
            Ok(Err(e)) => Err(classify(&e)),
            Err(_) => Err(Error::new(
                ErrorKind::StoreTimeout,
                format!("could not connect to Redis at {}", self.settings.addr),
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
