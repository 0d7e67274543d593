//! Stateless sessions that can still be revoked: a list of revoked session lineages, and a
//! per-user generation for "log out everywhere".
//!
//! A sealed cookie is valid until it expires, on every node that holds the key ring. To end one
//! session earlier, its [lineage](crate::Session::lineage) (the id it had before its first
//! renew, kept through every renew) is recorded in a store until the latest instant any of its
//! cookies can expire (no longer: after that they do not open anyway, so the list stays as small
//! as the number of sessions revoked within one lifetime). To end all of a user's sessions, the
//! user's generation is bumped: sessions bound to an earlier generation at login stop opening.
//!
//! Two stores are shipped: [`MemoryRevocations`] (one process: tests, small deployments, a
//! single node) and, with the `redis` feature, `cache::RedisRevocations` (shared by every node).
//! Others implement [`RevocationStore`] and report failures as an [`Error`] of kind
//! [`ErrorKind::StoreTimeout`], [`ErrorKind::StoreUnavailable`] or [`ErrorKind::StoreProtocol`]
//! (built with [`Error::new`]).
//!
//! ```
//! use sealed_session::revocation::{FailurePolicy, MemoryRevocations, Revocation};
//! use sealed_session::{KeyRing, SessionManager};
//!
//! let manager = SessionManager::builder(KeyRing::generate())
//!     .with_revocation(
//!         Revocation::new(MemoryRevocations::new()).with_policy(FailurePolicy::FailClosed),
//!     )
//!     .build()?;
//! # Ok::<(), sealed_session::Error>(())
//! ```
//!
//! # Where the check happens
//!
//! [`SessionManager::begin`](crate::SessionManager::begin), which both adapters await before
//! anything else of the request runs (inner middleware included), opens the request's cookie
//! and asks the store whether its id or lineage is revoked, and for its user's generation, in
//! one call. Requests without a cookie cost nothing. After the application,
//! [`SessionManager::end`](crate::SessionManager::end) records a [`Session::purge`] as a
//! revocation of the lineage ([`Revocation::with_revoke_on_purge`]), so a logout also ends every
//! copy of the cookie taken before a renew (a login) in the same session.
//!
//! # Outcomes
//!
//! - **Revoked** (the id or lineage is listed, or the session's user generation is older than
//!   the user's): the request sees a fresh, empty session with [`Rejection::Revoked`], and the
//!   response deletes the cookie, as for any refused cookie.
//! - **The check failed** (the store is unreachable or slower than its own timeout):
//!   [`FailurePolicy::FailClosed`] (the default) treats the request as having no session,
//!   without deleting the cookie, so the user is back once the store is; a warning is logged.
//!   [`FailurePolicy::FailOpen`] keeps the session and logs a warning. Stores bound every call
//!   themselves (the Redis store: 50 ms by default), so no request waits longer than that.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock, UnixTime};
use crate::error::{Error, ErrorKind, Rejection};
use crate::session::{Session, SessionId};

/// A boxed future, so that [`RevocationStore`] can be a trait object.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// The session key under which the user binding is stored (see
/// [`SessionManager::bind_user`](crate::SessionManager::bind_user)).
pub(crate) const USER_KEY: &str = "sealed_session.user";

/// What a revocation store knows about one session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevocationState {
    /// The session's id or its lineage is on the revocation list.
    pub revoked: bool,
    /// The user's current generation (0 when never bumped, or when no user was asked about).
    pub user_generation: u64,
}

/// Where revocations live. A store shared by every node (Redis) makes a revocation on one node
/// seen by all; [`MemoryRevocations`] serves one process.
///
/// Implementations bound every call by a timeout of their own, and report failures as an
/// [`Error`] of kind [`ErrorKind::StoreTimeout`], [`ErrorKind::StoreUnavailable`] or
/// [`ErrorKind::StoreProtocol`]. The trait is object-safe.
pub trait RevocationStore: Send + Sync + fmt::Debug {
    /// Record `id` (a session id or a lineage) as revoked until `until` (later, no cookie of it
    /// opens anyway).
    fn revoke(&self, id: SessionId, until: UnixTime) -> StoreFuture<'_, ()>;

    /// Whether `id` or `lineage` is revoked, and `user`'s current generation (0 if `user` is
    /// `None`), in one round trip. `id` and `lineage` are equal for a session never renewed.
    fn check<'a>(
        &'a self,
        id: SessionId,
        lineage: SessionId,
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

/// The outcome of [`SessionManager::check_revocation`](crate::SessionManager::check_revocation).
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

/// Revocation settings for a session manager
/// ([`SessionBuilder::with_revocation`](crate::SessionBuilder::with_revocation)).
#[derive(Clone, Debug)]
pub struct Revocation {
    store: Arc<dyn RevocationStore>,
    policy: FailurePolicy,
    revoke_on_purge: bool,
}

/// What a session remembers of its user (under [`SessionManager::USER_KEY`]).
///
/// [`SessionManager::USER_KEY`]: crate::SessionManager::USER_KEY
#[derive(Serialize, Deserialize)]
struct UserBinding {
    #[serde(rename = "u")]
    user: String,
    #[serde(rename = "g")]
    generation: u64,
}

impl Revocation {
    /// Revocation through `store`, fail-closed, purges recorded.
    pub fn new(store: impl RevocationStore + 'static) -> Self {
        Revocation::from_arc(Arc::new(store))
    }

    /// Revocation through a store shared with other code (for example to inspect it in tests,
    /// or to revoke from a background task).
    pub fn from_arc(store: Arc<dyn RevocationStore>) -> Self {
        Revocation {
            store,
            policy: FailurePolicy::FailClosed,
            revoke_on_purge: true,
        }
    }

    /// What a failed check means (default [`FailurePolicy::FailClosed`]).
    #[must_use]
    pub fn with_policy(mut self, policy: FailurePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Whether [`Session::purge`] records the purged session's lineage as revoked (default on),
    /// so a copy of its cookie kept elsewhere, even one taken before a renew, stops working too
    /// ("log out" means logged out).
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

    /// Check `session` and reset it when it is revoked (or the check fails closed).
    pub(crate) async fn check(&self, session: &Session) -> RevocationCheck {
        let Some((id, lineage, binding)) = session.revocation_subject(USER_KEY) else {
            return RevocationCheck::NoSession;
        };
        let binding = binding.and_then(|v| UserBinding::deserialize(v).ok());
        let user = binding.as_ref().map(|b| b.user.as_str());
        match self.store.check(id, lineage, user).await {
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
                    session.reset(Some(Rejection::Revoked));
                    RevocationCheck::Revoked
                } else {
                    RevocationCheck::Valid
                }
            }
            Err(e) => match self.policy {
                FailurePolicy::FailClosed => {
                    tracing::warn!(
                        session = %id,
                        error = %e,
                        "revocation check failed; fail-closed: this request has no session"
                    );
                    session.reset(None);
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

    /// Record the lineage a purge ended in this request, until `until`.
    pub(crate) async fn record_purge(&self, session: &Session, until: UnixTime) {
        if !self.revoke_on_purge {
            return;
        }
        let Some(lineage) = session.take_purged() else {
            return;
        };
        if let Err(e) = self.store.revoke(lineage, until).await {
            tracing::error!(
                session = %lineage,
                error = %e,
                "a purged session could not be recorded as revoked; a copy of its cookie \
                 stays valid until it expires"
            );
        }
    }

    pub(crate) async fn revoke(&self, id: SessionId, until: UnixTime) -> Result<(), Error> {
        self.store.revoke(id, until).await
    }

    pub(crate) async fn bind_user(&self, session: &Session, user: &str) -> Result<(), Error> {
        let generation = self.store.user_generation(user).await?;
        let binding = UserBinding {
            user: user.to_owned(),
            generation,
        };
        let value = serde_json::to_value(&binding)
            .map_err(|_| Error::new(ErrorKind::Codec, "the user binding is not JSON"))?;
        session.insert_value(USER_KEY, value);
        Ok(())
    }

    pub(crate) async fn log_out_everywhere(&self, user: &str) -> Result<(), Error> {
        self.store.bump_user_generation(user).await.map(drop)
    }
}

/// Revocations in this process's memory: for one node, tests and small deployments. Bounded:
/// at most [`capacity`](Self::with_capacity) revoked sessions and as many users (expired
/// revocations are dropped first); past that, revoking fails with
/// [`ErrorKind::StoreUnavailable`] (logged by a purge; the cookie is still deleted) rather than
/// growing without bound.
pub struct MemoryRevocations {
    inner: Mutex<MemoryInner>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

#[derive(Default)]
struct MemoryInner {
    revoked: HashMap<SessionId, UnixTime>,
    generations: HashMap<String, u64>,
}

impl fmt::Debug for MemoryRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryRevocations")
            .field("revoked", &inner.revoked.len())
            .field("users", &inner.generations.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Default for MemoryRevocations {
    fn default() -> Self {
        MemoryRevocations::new()
    }
}

impl MemoryRevocations {
    /// Default capacity: 100,000 revoked sessions (and users), a few MiB.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// An empty store with the default capacity and the system clock.
    pub fn new() -> Self {
        MemoryRevocations {
            inner: Mutex::new(MemoryInner::default()),
            capacity: MemoryRevocations::DEFAULT_CAPACITY,
            clock: Arc::new(SystemClock),
        }
    }

    /// At most `capacity` revoked sessions, and as many users with a generation.
    #[must_use]
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The clock that expires revocations (use the session manager's).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many revocations are held (expired ones included until they are pruned).
    pub fn len(&self) -> usize {
        self.lock().revoked.len()
    }

    /// Whether no revocation is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The map is plain data: a panic elsewhere while it was locked leaves it usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn full() -> Error {
        Error::new(
            ErrorKind::StoreUnavailable,
            "the in-memory revocation store is full",
        )
    }
}

impl RevocationStore for MemoryRevocations {
    fn revoke(&self, id: SessionId, until: UnixTime) -> StoreFuture<'_, ()> {
        let now = self.clock.now();
        let result = (|| {
            if until <= now {
                return Ok(()); // already expired: no cookie of it opens
            }
            let mut inner = self.lock();
            if inner.revoked.len() >= self.capacity && !inner.revoked.contains_key(&id) {
                inner.revoked.retain(|_, expiry| *expiry > now);
                if inner.revoked.len() >= self.capacity {
                    return Err(MemoryRevocations::full());
                }
            }
            let entry = inner.revoked.entry(id).or_insert(until);
            *entry = (*entry).max(until);
            Ok(())
        })();
        Box::pin(std::future::ready(result))
    }

    fn check<'a>(
        &'a self,
        id: SessionId,
        lineage: SessionId,
        user: Option<&'a str>,
    ) -> StoreFuture<'a, RevocationState> {
        let now = self.clock.now();
        let inner = self.lock();
        let listed = |k: &SessionId| inner.revoked.get(k).is_some_and(|e| *e > now);
        let state = RevocationState {
            revoked: listed(&id) || listed(&lineage),
            user_generation: user
                .and_then(|u| inner.generations.get(u).copied())
                .unwrap_or(0),
        };
        Box::pin(std::future::ready(Ok(state)))
    }

    fn user_generation<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        let generation = self.lock().generations.get(user).copied().unwrap_or(0);
        Box::pin(std::future::ready(Ok(generation)))
    }

    fn bump_user_generation<'a>(&'a self, user: &'a str) -> StoreFuture<'a, u64> {
        let mut inner = self.lock();
        let result =
            if inner.generations.len() >= self.capacity && !inner.generations.contains_key(user) {
                Err(MemoryRevocations::full())
            } else {
                let g = inner.generations.entry(user.to_owned()).or_insert(0);
                *g = g.saturating_add(1);
                Ok(*g)
            };
        Box::pin(std::future::ready(result))
    }
}
