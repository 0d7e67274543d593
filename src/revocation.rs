//! Stateless sessions that can still be revoked (feature `redis`): a shared list of revoked
//! session ids, and a per-user generation for "log out everywhere".
//!
//! A sealed cookie is valid until it expires, on every node that holds the key ring. To end one
//! session earlier, its id is recorded in a shared store until the session's absolute expiry (no
//! longer: after that the cookie does not open anyway, so the list stays as small as the number
//! of sessions revoked within one lifetime). To end all of a user's sessions, the user's
//! generation is bumped: sessions bound to an earlier generation at login stop opening.
//!
//! ```no_run
//! use sealed_session::cache::RedisStore;
//! use sealed_session::revocation::{FailurePolicy, RedisRevocations, Revocation};
//! use sealed_session::{KeyRing, SessionManager};
//!
//! # async fn run(ring: KeyRing) -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379/")?.connect().await?;
//! let manager = SessionManager::builder(ring)
//!     .with_revocation(
//!         Revocation::new(RedisRevocations::new(&store)).with_policy(FailurePolicy::FailClosed),
//!     )
//!     .build()?;
//! // At login: bind the session to the user's current generation.
//! # let session = manager.load(&http::HeaderMap::new());
//! manager.bind_user(&session, "ann").await?;
//! // "Log out everywhere": every session bound before this call stops opening.
//! manager.log_out_everywhere("ann").await?;
//! # Ok(()) }
//! ```
//!
//! # Where the check happens
//!
//! Opening a session is synchronous and lazy ([`Session`] opens its cookie on first access, in
//! the handler), while a revocation check is a network round trip. So the check is a separate,
//! async step, [`SessionManager::check_revocation`], which the axum layer and the actix-web
//! middleware await before the handler runs (after the inner service was called, before its
//! future is first polled). With revocation configured, every request that carries a session
//! cookie is opened eagerly and costs one round trip (`MGET` of the session's revocation record
//! and its user's generation); requests without one cost nothing. After the handler, a
//! [`Session::purge`] is recorded as a revocation ([`Revocation::with_revoke_on_purge`]).
//!
//! # Outcomes
//!
//! - **Revoked** (the id is listed, or the session's user generation is older than the user's):
//!   the request sees a fresh, empty session with [`Rejection::Revoked`], and the response
//!   deletes the cookie, as for any refused cookie.
//! - **The check failed** (the store is unreachable, or slower than the check timeout, 50 ms by
//!   default): [`FailurePolicy::FailClosed`] (the default) treats the request as having no
//!   session, without deleting the cookie, so the user is back once the store is; a warning is
//!   logged. [`FailurePolicy::FailOpen`] keeps the session and logs a warning. No request waits
//!   longer than the timeout.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cache::RedisStore;
use crate::clock::UnixTime;
use crate::error::Rejection;
use crate::error::{Error as StoreError, ErrorKind};
use crate::http::SessionManager;
use crate::session::{Session, SessionId};

/// A boxed future, so that [`RevocationStore`] can be a trait object.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What a revocation store knows about one session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevocationState {
    /// The session's id is on the revocation list.
    pub revoked: bool,
    /// The user's current generation (0 when never bumped, or when no user was asked about).
    pub user_generation: u64,
}

/// Where revocations live: shared by every node, so a revocation on one is seen by all.
///
/// [`RedisRevocations`] is the implementation shipped; the trait is object-safe for others.
pub trait RevocationStore: Send + Sync + fmt::Debug {
    /// Record `id` as revoked until `until` (the session's absolute expiry: later, its cookie
    /// does not open anyway).
    fn revoke(&self, id: SessionId, until: UnixTime) -> StoreFuture<'_, ()>;

    /// Whether `id` is revoked, and `user`'s current generation (0 if `user` is `None`), in one
    /// round trip.
    fn check<'a>(
        &'a self,
        id: SessionId,
        user: Option<&'a str>,
    ) -> StoreFuture<'a, RevocationState>;

    /// The user's current generation, to bind a session to at login.
    fn user_generation<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64>;

    /// Bump the user's generation: every session bound to an earlier one is revoked. Returns the
    /// new generation.
    fn bump_user_generation<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64>;
}

/// What a failed revocation check means for the request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FailurePolicy {
    /// Treat the request as having no session (the cookie is kept for when the store is back).
    /// The default: a revoked session must not slip through because the store is down.
    #[default]
    FailClosed,
    /// Keep the session, unchecked. For applications where availability matters more than a
    /// revocation taking effect during an outage.
    FailOpen,
}

/// The outcome of [`SessionManager::check_revocation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationCheck {
    /// No revocation store is configured: nothing was checked (or opened).
    NotConfigured,
    /// The request carries no session that opened: nothing to check.
    NoSession,
    /// The session is not revoked.
    Valid,
    /// The session is revoked: the request now has a fresh session, and its cookie is deleted.
    Revoked,
    /// The check failed and the policy is fail-closed: the request has a fresh session, and its
    /// cookie is kept.
    FailedClosed,
    /// The check failed and the policy is fail-open: the session is kept.
    FailedOpen,
}

/// Revocation settings for a [`SessionManager`] ([`SessionBuilder::with_revocation`]).
///
/// [`SessionBuilder::with_revocation`]: crate::SessionBuilder::with_revocation
#[derive(Clone)]
pub struct Revocation {
    store: Arc<dyn RevocationStore>,
    policy: FailurePolicy,
    timeout: Duration,
    revoke_on_purge: bool,
}

impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("store", &self.store)
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("revoke_on_purge", &self.revoke_on_purge)
            .finish()
    }
}

impl Revocation {
    /// Default bound on one check: a revocation check is on every request's path.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(50);

    /// Revocation through `store`, fail-closed, 50 ms per check, purges recorded.
    pub fn new(store: impl RevocationStore + 'static) -> Self {
        Revocation {
            store: Arc::new(store),
            policy: FailurePolicy::FailClosed,
            timeout: Revocation::DEFAULT_TIMEOUT,
            revoke_on_purge: true,
        }
    }

    /// What a failed check means (default [`FailurePolicy::FailClosed`]).
    #[must_use]
    pub fn with_policy(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The bound on each check and each write (default 50 ms). Past it, the policy applies.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether [`Session::purge`] records the purged session's id as revoked (default on), so a
    /// copy of its cookie kept elsewhere stops working too ("log out" means logged out).
    #[must_use]
    pub fn with_revoke_on_purge(mut self, revoke: bool) -> Self {
        self.revoke_on_purge = revoke;
        self
    }

    /// The store.
    pub fn store(&self) -> &dyn RevocationStore {
        &*self.store
    }

    /// The failure policy.
    pub fn policy(&self) -> FailurePolicy {
        self.policy
    }

    /// Run a store call under the timeout.
    async fn bounded<T>(&self, call: StoreFuture<'_, T>) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::new(
                ErrorKind::StoreTimeout,
                format!(
                    "the revocation store did not answer within {:?}",
                    self.timeout
                ),
            )),
        }
    }
}

/// What a session remembers of its user (under [`SessionManager::USER_KEY`]).
#[derive(Serialize, Deserialize)]
struct UserBinding {
    #[serde(rename = "u")]
    user: String,
    #[serde(rename = "g")]
    generation: u64,
}

impl SessionManager {
    /// The session key under which [`bind_user`](Self::bind_user) records the user and their
    /// generation. Reserved: do not write it yourself.
    pub const USER_KEY: &'static str = "sealed_session.user";

    /// Check the request's session against the revocation store, and replace it with a fresh
    /// session if it is revoked (or if the check fails and the policy is fail-closed). The axum
    /// layer and the actix-web middleware call this before the handler runs; call it yourself
    /// only when using the manager directly. Opens the cookie (only when a store is configured).
    pub async fn check_revocation(&self, session: &Session) -> RevocationCheck {
        let Some(revocation) = self.revocation() else {
            return RevocationCheck::NotConfigured;
        };
        let (id, binding) = {
            let state = session.lock();
            match (state.id, state.meta) {
                (Some(id), Some(_)) => (
                    id,
                    state
                        .data
                        .get(SessionManager::USER_KEY)
                        .and_then(|v| UserBinding::deserialize(v).ok()),
                ),
                _ => return RevocationCheck::NoSession,
            }
        };
        let user = binding.as_ref().map(|b| b.user.as_str());
        match revocation.bounded(revocation.store.check(id, user)).await {
            Ok(state) => {
                let user_revoked = binding
                    .as_ref()
                    .is_some_and(|b| b.generation < state.user_generation);
                if state.revoked || user_revoked {
                    tracing::info!(
                        session = %id,
                        everywhere = user_revoked,
                        "a revoked session was presented; starting a fresh session"
                    );
                    reset(session, Some(Rejection::Revoked));
                    RevocationCheck::Revoked
                } else {
                    RevocationCheck::Valid
                }
            }
            Err(e) => match revocation.policy {
                FailurePolicy::FailClosed => {
                    tracing::warn!(
                        session = %id,
                        error = %e,
                        "revocation check failed; fail-closed: this request has no session"
                    );
                    reset(session, None);
                    RevocationCheck::FailedClosed
                }
                FailurePolicy::FailOpen => {
                    tracing::warn!(
                        session = %id,
                        error = %e,
                        "revocation check failed; fail-open: the session is kept unchecked"
                    );
                    RevocationCheck::FailedOpen
                }
            },
        }
    }

    /// After the handler: record a [`Session::purge`] as a revocation of the purged id until its
    /// expiry, if configured. A failure is logged, not returned: the response still deletes the
    /// cookie, only a copy kept elsewhere would stay valid.
    pub async fn record_purge(&self, session: &Session) {
        let Some(revocation) = self.revocation() else {
            return;
        };
        if !revocation.revoke_on_purge {
            return;
        }
        let Some((id, until)) = session.take_purged() else {
            return;
        };
        if let Err(e) = revocation.bounded(revocation.store.revoke(id, until)).await {
            tracing::error!(
                session = %id,
                error = %e,
                "a purged session could not be recorded as revoked; a copy of its cookie \
                 stays valid until it expires"
            );
        }
    }

    /// Revoke the session `id` on every node, until the longest a session can live from now (the
    /// manager's absolute lifetime: its exact expiry is in its cookie, which the caller may not
    /// have).
    ///
    /// # Errors
    /// The store failed or timed out; the session is not revoked.
    pub async fn revoke(&self, id: SessionId) -> Result<(), StoreError> {
        let revocation = self.revocation_or_error()?;
        let now = self.sealer().now();
        let until = now.checked_add(self.sealer().lifetime()).unwrap_or(now);
        revocation.bounded(revocation.store.revoke(id, until)).await
    }

    /// Bind `session` to `user` at login: it records the user's current generation in the
    /// session (under [`USER_KEY`](Self::USER_KEY)), so that
    /// [`log_out_everywhere`](Self::log_out_everywhere) revokes it. Call it after
    /// [`Session::renew`].
    ///
    /// # Errors
    /// The store failed or timed out; the session is not bound (the caller decides whether the
    /// login proceeds).
    pub async fn bind_user(&self, session: &Session, user: &str) -> Result<(), StoreError> {
        let revocation = self.revocation_or_error()?;
        let generation = revocation
            .bounded(revocation.store.user_generation(user))
            .await?;
        let binding = UserBinding {
            user: user.to_owned(),
            generation,
        };
        let value = serde_json::to_value(&binding).map_err(|_| {
            StoreError::new(ErrorKind::StoreProtocol, "the user binding is not JSON")
        })?;
        session.insert_value(SessionManager::USER_KEY, value);
        Ok(())
    }

    /// End every session bound to `user` (see [`bind_user`](Self::bind_user)), on every node, at
    /// their next request.
    ///
    /// # Errors
    /// The store failed or timed out; nothing was revoked.
    pub async fn log_out_everywhere(&self, user: &str) -> Result<(), StoreError> {
        let revocation = self.revocation_or_error()?;
        revocation
            .bounded(revocation.store.bump_user_generation(user))
            .await
            .map(drop)
    }

    fn revocation_or_error(&self) -> Result<&Revocation, StoreError> {
        self.revocation().ok_or_else(|| {
            StoreError::new(
                ErrorKind::StoreUnavailable,
                "no revocation store is configured (SessionBuilder::with_revocation)",
            )
        })
    }
}

/// Replace the session's content with a fresh, empty session (before the handler runs).
fn reset(session: &Session, rejection: Option<Rejection>) {
    let mut state = session.lock();
    state.id = None;
    state.data.clear();
    state.meta = None;
    state.reseal = None;
    state.rejection = rejection;
}

/// Revocations in Redis, next to a [`RedisStore`]'s cache entries and sharing its connection.
///
/// Keys, with the store's prefix `P`: `P:revoked:<session id>` (the 22-character id; expires at
/// the session's expiry) and `P:user-gen:<user>` (a counter; never expires, since a session may
/// be bound to it for its whole life).
#[derive(Clone)]
pub struct RedisRevocations {
    store: RedisStore,
    timeout: Duration,
}

impl fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("store", &self.store)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl RedisRevocations {
    /// Revocations in `store`'s server, under its prefix, with the default check timeout (50 ms;
    /// the cache's operations keep their own).
    pub fn new(store: &RedisStore) -> Self {
        RedisRevocations {
            store: store.clone(),
            timeout: Revocation::DEFAULT_TIMEOUT,
        }
    }

    /// The bound on each Redis call (default 50 ms).
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

fn parse_counter(raw: Option<String>) -> Result<u64, StoreError> {
    match raw {
        None => Ok(0),
        Some(s) => s.parse().map_err(|_| {
            StoreError::new(
                ErrorKind::StoreProtocol,
                "a user generation in Redis is not a number",
            )
        }),
    }
}

impl RevocationStore for RedisRevocations {
    fn revoke(&self, id: SessionId, until: UnixTime) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let now = UnixTime::now();
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
        user: Option<&'a str>,
    ) -> StoreFuture<'a, RevocationState> {
        Box::pin(async move {
            let mut conn = self.store.connection();
            let revoked_key = self.revoked_key(id);
            match user {
                None => {
                    let revoked: bool = self
                        .store
                        .run("revocation check", self.timeout, async {
                            redis::cmd("EXISTS")
                                .arg(&revoked_key)
                                .query_async(&mut conn)
                                .await
                        })
                        .await?;
                    Ok(RevocationState {
                        revoked,
                        user_generation: 0,
                    })
                }
                Some(user) => {
                    let user_key = self.user_key(user);
                    let (revoked, generation): (Option<String>, Option<String>) = self
                        .store
                        .run("revocation check", self.timeout, async {
                            redis::cmd("MGET")
                                .arg(&revoked_key)
                                .arg(&user_key)
                                .query_async(&mut conn)
                                .await
                        })
                        .await?;
                    Ok(RevocationState {
                        revoked: revoked.is_some(),
                        user_generation: parse_counter(generation)?,
                    })
                }
            }
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
