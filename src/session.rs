//! The session value: typed data, metadata, and what changed.
//!
//! A [`Session`] is a cheap, cloneable handle: the HTTP layer keeps one clone and gives another
//! to the handler, so both see the same state across `.await` points. It opens its cookie lazily,
//! on first access, so a request whose handler never touches the session does no cryptography.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::cookie_policy::CookieLifetime;
use crate::error::{Error, ErrorKind, Rejection};
use crate::http::SessionManager;
use crate::seal::{Reseal, TokenMeta};

/// A session's random 128-bit identifier, carried inside the sealed payload. Useful in logs, to
/// bind CSRF tokens to a session, and as a revocation handle. Displayed as 22 base64url
/// characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId([u8; 16]);

impl SessionId {
    /// A new random id.
    pub fn generate() -> Self {
        let mut b = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut b);
        SessionId(b)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parse the 22-character base64url form.
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 22 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        Some(SessionId(bytes.try_into().ok()?))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        SessionId::parse(&s).ok_or_else(|| serde::de::Error::custom("invalid session id"))
    }
}

/// What happened to a session during this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionStatus {
    /// Nothing was written.
    Unchanged,
    /// Data was inserted, changed or removed.
    Changed,
    /// [`Session::renew`] gave it a new id.
    Renewed,
    /// [`Session::purge`] dropped it; the response deletes the cookie.
    Purged,
}

/// The sealed payload: the id and the data.
#[derive(Serialize, Deserialize)]
pub(crate) struct Payload {
    pub(crate) id: SessionId,
    pub(crate) data: Map<String, Value>,
}

/// The same, borrowed, for sealing without a copy.
#[derive(Serialize)]
pub(crate) struct PayloadRef<'a> {
    pub(crate) id: &'a SessionId,
    pub(crate) data: &'a Map<String, Value>,
}

/// Where an unopened session comes from: the candidate tokens found in the request.
pub(crate) struct Source {
    pub(crate) candidates: Vec<String>,
}

pub(crate) struct State {
    pub(crate) source: Option<Source>,
    pub(crate) id: Option<SessionId>,
    pub(crate) data: Map<String, Value>,
    pub(crate) meta: Option<TokenMeta>,
    pub(crate) reseal: Option<Reseal>,
    pub(crate) rejection: Option<Rejection>,
    pub(crate) status: SessionStatus,
    pub(crate) lifetime: Option<CookieLifetime>,
    /// How many cookies (chunks) the request carried under our name, to expire leftovers.
    pub(crate) incoming_chunks: usize,
    /// The id and expiry of a session [`Session::purge`] ended, for the revocation store.
    pub(crate) purged: Option<(SessionId, UnixTime)>,
}

impl State {
    /// Open the request's cookie, once. The first candidate that opens wins; an attacker's extra
    /// cookie with our name can therefore never displace a valid one.
    fn load(&mut self, manager: Option<&SessionManager>) {
        let Some(source) = self.source.take() else {
            return;
        };
        let Some(manager) = manager else {
            return;
        };
        let sealer = manager.sealer();
        let cookie_name = manager.policy().name();
        let now = sealer.now();
        let mut first_rejection = None;
        for (i, token) in source.candidates.iter().enumerate() {
            match sealer.open_at::<Payload>(now, token) {
                Ok(opened) => {
                    let (payload, meta, reseal) = opened.into_parts();
                    if let Some(r) = first_rejection {
                        tracing::debug!(
                            cookie = %cookie_name,
                            reason = %r,
                            skipped = i,
                            "ignored session cookies that did not open before one that did"
                        );
                    }
                    self.id = Some(payload.id);
                    self.data = payload.data;
                    self.meta = Some(meta);
                    self.reseal = reseal;
                    return;
                }
                Err(r) => {
                    first_rejection.get_or_insert(r);
                }
            }
        }
        if let Some(r) = first_rejection {
            tracing::warn!(
                cookie = %cookie_name,
                reason = %r,
                candidates = source.candidates.len(),
                "session cookie rejected; starting a fresh session"
            );
            self.rejection = Some(r);
        }
    }

    fn mark_changed(&mut self) {
        match self.status {
            SessionStatus::Renewed => {}
            SessionStatus::Purged => {
                // Writing after a purge starts a new session.
                self.status = SessionStatus::Renewed;
                self.meta = None;
                self.id = Some(SessionId::generate());
            }
            SessionStatus::Unchanged | SessionStatus::Changed => {
                self.status = SessionStatus::Changed;
            }
        }
        if self.id.is_none() {
            self.id = Some(SessionId::generate());
        }
    }
}

/// A session: typed key/value data and metadata, shared between the HTTP layer and the handler.
///
/// ```
/// use sealed_session::{Session, SessionStatus};
///
/// let session = Session::new();
/// assert!(session.is_new());
/// session.insert("user", &"ann")?;
/// assert_eq!(session.get::<String>("user")?, Some("ann".to_owned()));
/// assert_eq!(session.status(), SessionStatus::Changed);
/// assert!(session.id().is_some());
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Mutex<State>>,
    /// The manager that loaded it: opens the cookie and sizes the response.
    manager: Option<SessionManager>,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl fmt::Debug for Session {
    /// Shows the id, status and keys, never the values (they may be secrets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock_raw();
        let mut d = f.debug_struct("Session");
        if s.source.is_some() {
            d.field("loaded", &false);
        } else {
            d.field("id", &s.id)
                .field("status", &s.status)
                .field("keys", &s.data.keys().collect::<Vec<_>>());
        }
        d.finish_non_exhaustive()
    }
}

impl Session {
    /// A new, empty session (no cookie).
    pub fn new() -> Self {
        Session::from_state(None, None, 0)
    }

    pub(crate) fn from_state(
        manager: Option<SessionManager>,
        source: Option<Source>,
        chunks: usize,
    ) -> Self {
        Session {
            manager,
            inner: Arc::new(Mutex::new(State {
                source,
                id: None,
                data: Map::new(),
                meta: None,
                reseal: None,
                rejection: None,
                status: SessionStatus::Unchanged,
                lifetime: None,
                incoming_chunks: chunks,
                purged: None,
            })),
        }
    }

    /// The state, without loading. A panic while the lock was held (in a handler) must not turn
    /// every later access into a panic, so poisoning is ignored: the state is plain data.
    fn lock_raw(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, loaded.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        let mut s = self.lock_raw();
        s.load(self.manager.as_ref());
        s
    }

    /// Check now that the session still fits in its cookie, so the handler can answer with a
    /// useful error (and undo the change) instead of failing when the response is built.
    ///
    /// # Errors
    /// [`ErrorKind::SessionTooLarge`] (or another sealing error) exactly when the response would
    /// fail; `Ok` for a session not tied to a manager.
    pub fn ensure_fits(&self) -> Result<(), Error> {
        match &self.manager {
            Some(m) => m.finish_at(m.sealer().now(), self).map(drop),
            None => Ok(()),
        }
    }

    /// Whether the cookie has been opened yet (the session is lazy).
    pub fn is_loaded(&self) -> bool {
        self.lock_raw().source.is_none()
    }

    /// The value under `key`, deserialized into `T`.
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if the stored value does not fit `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let s = self.lock();
        match s.data.get(key) {
            None => Ok(None),
            Some(v) => T::deserialize(v).map(Some).map_err(|_| {
                Error::new(
                    ErrorKind::Codec,
                    format!("the session value under {key:?} does not match the requested type"),
                )
            }),
        }
    }

    /// The raw JSON value under `key`.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.lock().data.get(key).cloned()
    }

    /// Store `value` under `key`. Storing a value equal to the current one changes nothing (and
    /// so sends no cookie).
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if `value` cannot be represented as JSON.
    pub fn insert<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), Error> {
        let value = serde_json::to_value(value)
            .map_err(|_| Error::new(ErrorKind::Codec, "the value cannot be represented as JSON"))?;
        self.insert_value(key, value);
        Ok(())
    }

    /// Store a JSON value under `key`.
    pub fn insert_value(&self, key: impl Into<String>, value: Value) {
        let mut s = self.lock();
        let key = key.into();
        if s.data.get(&key) == Some(&value) && s.status != SessionStatus::Purged {
            return;
        }
        s.mark_changed();
        s.data.insert(key, value);
    }

    /// Remove and return the value under `key`.
    pub fn remove(&self, key: &str) -> Option<Value> {
        let mut s = self.lock();
        let old = s.data.remove(key);
        if old.is_some() {
            s.mark_changed();
        }
        old
    }

    /// Remove the value under `key` and deserialize it.
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if it does not fit `T` (it is removed all the same).
    pub fn remove_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        match self.remove(key) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v).map(Some).map_err(|_| {
                Error::new(
                    ErrorKind::Codec,
                    format!("the session value under {key:?} does not match the requested type"),
                )
            }),
        }
    }

    /// Whether there is a value under `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.lock().data.contains_key(key)
    }

    /// Remove every value (the session and its id stay; see [`purge`](Self::purge) to end it).
    pub fn clear(&self) {
        let mut s = self.lock();
        if !s.data.is_empty() {
            s.data.clear();
            s.mark_changed();
        }
    }

    /// Every key and value, in key order.
    pub fn entries(&self) -> Vec<(String, Value)> {
        self.lock()
            .data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().data.keys().cloned().collect()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.lock().data.len()
    }

    /// Whether there is no data.
    pub fn is_empty(&self) -> bool {
        self.lock().data.is_empty()
    }

    /// The session id: `None` for a new session nothing has been written to yet.
    pub fn id(&self) -> Option<SessionId> {
        self.lock().id
    }

    /// When the session was created, if it came from a cookie.
    pub fn created(&self) -> Option<UnixTime> {
        self.lock().meta.map(|m| m.created())
    }

    /// When its cookie was last sealed, if it came from a cookie.
    pub fn issued(&self) -> Option<UnixTime> {
        self.lock().meta.map(|m| m.issued())
    }

    /// When it expires at the latest, if it came from a cookie.
    pub fn expires(&self) -> Option<UnixTime> {
        self.lock().meta.map(|m| m.expires())
    }

    /// Whether the session did not come from a valid cookie.
    pub fn is_new(&self) -> bool {
        self.lock().meta.is_none()
    }

    /// What happened to the session in this request.
    pub fn status(&self) -> SessionStatus {
        self.lock().status
    }

    /// Why the request's cookie was refused, if it was (the session is then fresh).
    pub fn rejection(&self) -> Option<Rejection> {
        self.lock().rejection
    }

    /// Give the session a new id and a new creation time, keeping its data, so the cookie
    /// changes. Call it after login and any change of privilege, so that a session id an
    /// attacker planted before login is worthless after it (session fixation).
    pub fn renew(&self) {
        let mut s = self.lock();
        s.id = Some(SessionId::generate());
        s.meta = None;
        s.status = SessionStatus::Renewed;
    }

    /// End the session: drop its data and delete the cookie in the response. Writing to it
    /// afterwards starts a new session with a new id.
    pub fn purge(&self) {
        let mut s = self.lock();
        // Remembered for a revocation store, which lists the id until the session's expiry.
        if let (Some(id), Some(meta)) = (s.id, s.meta) {
            s.purged = Some((id, meta.expires()));
        }
        s.data.clear();
        s.id = None;
        s.meta = None;
        s.status = SessionStatus::Purged;
    }

    /// The session ended by [`purge`](Self::purge) in this request, once (without opening the
    /// cookie when the handler never touched the session).
    #[cfg_attr(
        not(feature = "redis"),
        expect(dead_code, reason = "read by revocation")
    )]
    pub(crate) fn take_purged(&self) -> Option<(SessionId, UnixTime)> {
        self.lock_raw().purged.take()
    }

    /// Override the cookie's lifetime for this response, e.g. a persistent cookie for "remember
    /// me". The server-side limits still apply, and a persistent cookie never outlives the
    /// session's absolute expiry.
    pub fn set_cookie_lifetime(&self, lifetime: CookieLifetime) {
        let mut s = self.lock();
        s.lifetime = Some(lifetime);
        // A new lifetime only reaches the browser with a new Set-Cookie.
        if s.status == SessionStatus::Unchanged && s.meta.is_some() {
            s.status = SessionStatus::Changed;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_round_trips_and_rejects_bad_forms() {
        let id = SessionId::generate();
        let s = id.to_string();
        assert_eq!(s.len(), 22);
        assert_eq!(SessionId::parse(&s), Some(id));
        assert_eq!(SessionId::parse(&s[..21]), None);
        assert_eq!(SessionId::parse("AAAAAAAAAAAAAAAAAAAAA="), None);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<SessionId>("\"nope\"").is_err());
        assert_ne!(SessionId::generate(), id);
    }

    #[test]
    fn status_transitions() {
        let s = Session::new();
        assert_eq!(s.status(), SessionStatus::Unchanged);
        assert_eq!(s.id(), None);
        s.insert("a", &1).unwrap();
        assert_eq!(s.status(), SessionStatus::Changed);
        let id = s.id().unwrap();
        s.renew();
        assert_eq!(s.status(), SessionStatus::Renewed);
        assert_ne!(s.id(), Some(id));
        assert_eq!(s.get::<i32>("a").unwrap(), Some(1));
        s.insert("b", &2).unwrap();
        assert_eq!(s.status(), SessionStatus::Renewed);
        s.purge();
        assert_eq!(s.status(), SessionStatus::Purged);
        assert!(s.is_empty());
        assert_eq!(s.id(), None);
        s.insert("c", &3).unwrap();
        assert_eq!(s.status(), SessionStatus::Renewed);
        assert!(s.id().is_some());
        assert_eq!(s.keys(), vec!["c".to_owned()]);
    }

    #[test]
    fn equal_writes_and_absent_removes_change_nothing() {
        let s = Session::new();
        assert_eq!(s.remove("x"), None);
        s.clear();
        assert_eq!(s.status(), SessionStatus::Unchanged);
        s.insert("a", &1).unwrap();
        let s2 = Session::from_state(None, None, 0);
        s2.insert_value("a", Value::from(1));
        s2.lock().status = SessionStatus::Unchanged;
        s2.insert("a", &1).unwrap();
        assert_eq!(s2.status(), SessionStatus::Unchanged);
    }

    #[test]
    fn typed_access_reports_mismatch() {
        let s = Session::new();
        s.insert("n", &"text").unwrap();
        assert_eq!(s.get::<u32>("n").unwrap_err().kind(), ErrorKind::Codec);
        assert_eq!(
            s.remove_as::<u32>("n").unwrap_err().kind(),
            ErrorKind::Codec
        );
        assert!(!s.contains("n"));
        assert_eq!(s.get::<u32>("missing").unwrap(), None);
    }

    #[test]
    fn debug_shows_keys_not_values() {
        let s = Session::new();
        s.insert("token", &"hunter2").unwrap();
        let d = format!("{s:?}");
        assert!(d.contains("token"), "{d}");
        assert!(!d.contains("hunter2"), "{d}");
    }
}
