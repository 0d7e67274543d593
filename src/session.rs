//! The session value: typed data, metadata, and what changed.
//!
//! A [`Session`] is a cheap, cloneable handle: the HTTP layer keeps one clone and gives another
//! to the handler, so both see the same state across `.await` points. It opens its cookie lazily,
//! on first access, so a request whose handler never touches the session does no cryptography.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64_simd::{Out, URL_SAFE_NO_PAD};
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

mod data;

pub(crate) use data::Data;

use crate::clock::UnixTime;
use crate::cookie_header::Candidates;
use crate::cookie_policy::CookieLifetime;
use crate::error::{Error, ErrorKind, Rejection};
use crate::seal::{Reseal, Sealer, TokenMeta};

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
        // Decoded on the stack, strictly (22 characters are exactly 16 bytes).
        let mut bytes = [0u8; 16];
        let id: [u8; 16] = URL_SAFE_NO_PAD
            .decode(s.as_bytes(), Out::from_slice(&mut bytes))
            .ok()?
            .try_into()
            .ok()?;
        Some(SessionId(id))
    }

    /// The 22 base64url characters, on the stack.
    fn encode(&self) -> [u8; 22] {
        let mut out = [b'A'; 22];
        // 16 bytes are exactly 22 characters without padding: the room is enough, so the
        // encoder cannot fail.
        let _ = URL_SAFE_NO_PAD.encode(&self.0, Out::from_slice(&mut out));
        out
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.encode();
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.encode();
        match std::str::from_utf8(&text) {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor of `&str`, borrowed or not: serde's `Cow<str>` would copy it into a String.
        struct IdVisitor;
        impl serde::de::Visitor<'_> for IdVisitor {
            type Value = SessionId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a session id: 22 base64url characters")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SessionId, E> {
                SessionId::parse(s).ok_or_else(|| E::custom("invalid session id"))
            }
        }
        d.deserialize_str(IdVisitor)
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

fn parse_value(raw: &str) -> Option<Value> {
    serde_json::from_str(raw).ok()
}

fn mismatch(key: &str) -> Error {
    Error::new(
        ErrorKind::Codec,
        format!("the session value under {key:?} does not match the requested type"),
    )
}

/// A value's compact JSON text, written as `insert` always has: through a `Value`, so equal
/// values have equal text (object keys sorted).
fn compact_text<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let invalid = |_| Error::new(ErrorKind::Codec, "the value cannot be represented as JSON");
    let value = serde_json::to_value(value).map_err(invalid)?;
    serde_json::to_string(&value).map_err(invalid)
}

/// What a session needs from the code that loaded it: the sealer that opens its cookie, and the
/// check that it still fits the response. Implemented by the manager; defined here so that the
/// session value does not depend on the manager.
pub(crate) trait Backend: Send + Sync {
    /// The sealer that opens the request's candidates.
    fn sealer(&self) -> &Sealer;
    /// Whether the session, as it is now, can be written to its cookie(s).
    fn check_fits(&self, session: &Session) -> Result<(), Error>;
    /// The entries of the first legacy cookie (a session written by another library, e.g.
    /// Beaker) that verifies, to migrate when no cookie of ours opened. `None` by default.
    fn open_legacy(&self, _values: &[String]) -> Option<Map<String, Value>> {
        None
    }
    /// The sealer of the session's CSRF tokens (same ring, purpose `csrf`).
    fn csrf_sealer(&self) -> &Sealer;
}

pub(crate) struct State {
    /// The candidate tokens found in the request, until the first access opens them.
    pub(crate) source: Option<Candidates>,
    pub(crate) id: Option<SessionId>,
    /// The id of the session this one was renewed from, through every renew: what revocation
    /// and CSRF tokens follow. Equal to `id` for a session that was never renewed.
    pub(crate) lineage: Option<SessionId>,
    pub(crate) data: Data,
    pub(crate) meta: Option<TokenMeta>,
    pub(crate) reseal: Option<Reseal>,
    pub(crate) rejection: Option<Rejection>,
    pub(crate) status: SessionStatus,
    pub(crate) lifetime: Option<CookieLifetime>,
    /// The absolute lifetime this session was given ([`Session::set_lifetime`]).
    pub(crate) session_lifetime: Option<std::time::Duration>,
    /// Bit `i` set: the request carried chunk `i` of our cookie.
    pub(crate) present: u32,
    /// How many chunks the cookie that opened was read from (0: none opened).
    pub(crate) opened_chunks: usize,
    /// The lineage [`Session::purge`] ended in this request, for the revocation store.
    pub(crate) purged: Option<SessionId>,
    /// Whether the application read or wrote the session (the response then varies on Cookie).
    pub(crate) touched: bool,
    /// The values of a legacy session cookie the request carried (see [`Backend::open_legacy`]),
    /// until the session is opened.
    pub(crate) legacy: Vec<String>,
    /// Whether the request carried a legacy session cookie (the response deletes it).
    #[cfg_attr(
        not(feature = "beaker-compat"),
        expect(dead_code, reason = "read by the legacy migration")
    )]
    pub(crate) legacy_present: bool,
}

impl State {
    /// Open the request's cookie, once. The first candidate that opens wins; an attacker's extra
    /// cookie with our name can therefore never displace a valid one.
    fn load(&mut self, backend: Option<&dyn Backend>) {
        let Some(candidates) = self.source.take() else {
            return;
        };
        let Some(backend) = backend else {
            return;
        };
        let sealer = backend.sealer();
        let now = sealer.now();
        let mut first_rejection = None;
        for (i, candidate) in candidates.iter().enumerate() {
            match sealer.open_text_at(now, &candidate.token) {
                Ok(opened) => {
                    let (text, meta, reseal) = opened.into_parts();
                    let payload = match Data::open(sealer.codec(), text) {
                        Ok(payload) => payload,
                        Err(_) => {
                            first_rejection.get_or_insert(Rejection::Decode);
                            continue;
                        }
                    };
                    if let Some(r) = first_rejection {
                        tracing::debug!(
                            cookie = %sealer.cookie_name(),
                            reason = %r,
                            skipped = i,
                            "ignored session cookies that did not open before one that did"
                        );
                    }
                    self.id = Some(payload.id);
                    self.lineage = Some(payload.lineage.unwrap_or(payload.id));
                    self.data = payload.data;
                    self.meta = Some(meta);
                    self.reseal = reseal;
                    self.opened_chunks = candidate.chunks;
                    return;
                }
                Err(r) => {
                    first_rejection.get_or_insert(r);
                }
            }
        }
        if let Some(r) = first_rejection {
            tracing::warn!(
                cookie = %sealer.cookie_name(),
                reason = %r,
                candidates = candidates.len(),
                "session cookie rejected; starting a fresh session"
            );
            self.rejection = Some(r);
        }
        let legacy = std::mem::take(&mut self.legacy);
        if let Some(entries) = (!legacy.is_empty())
            .then(|| backend.open_legacy(&legacy))
            .flatten()
        {
            // A new session with the legacy entries, sealed in this response (under the primary
            // key, with a new id and creation time).
            self.data = Data::from_entries(
                entries
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, compact_text(&v).ok()?))),
            );
            self.mark_changed();
        }
    }

    fn mark_changed(&mut self) {
        match self.status {
            SessionStatus::Renewed => {}
            SessionStatus::Purged => {
                // Writing after a purge starts a new session, with a new lineage.
                self.status = SessionStatus::Renewed;
                self.meta = None;
                self.id = None;
                self.lineage = None;
            }
            SessionStatus::Unchanged | SessionStatus::Changed => {
                self.status = SessionStatus::Changed;
            }
        }
        if self.id.is_none() {
            let id = SessionId::generate();
            self.id = Some(id);
            self.lineage.get_or_insert(id);
        }
    }

    /// Store `value` under `key` unless an equal value is there.
    fn store<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let text = compact_text(value)?;
        self.store_text(key, text);
        Ok(())
    }

    /// Store compact JSON `text` under `key` unless an equal value is there. Equal values have
    /// equal text (both are written through a `Value`), so comparing the text is comparing the
    /// values.
    fn store_text(&mut self, key: &str, text: String) {
        // After a purge even an equal value is a write: it starts a new session.
        let purged = self.status == SessionStatus::Purged;
        if self.data.insert(key, text, !purged) {
            self.mark_changed();
        }
    }

    /// The lineage to seal: `None` (omitted) while it equals the id.
    pub(crate) fn lineage_to_seal(&self) -> Option<&SessionId> {
        self.lineage.as_ref().filter(|l| Some(**l) != self.id)
    }

    /// Forget the opened session: the request continues with a fresh, empty one.
    fn reset(&mut self, rejection: Option<Rejection>) {
        self.id = None;
        self.lineage = None;
        self.data.clear();
        self.meta = None;
        self.reseal = None;
        self.opened_chunks = 0;
        self.rejection = rejection;
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
    /// What loaded it: opens the cookie and sizes the response.
    backend: Option<Arc<dyn Backend>>,
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

    /// A session over the request's candidate tokens (`None`: no cookie of ours), opened by
    /// `backend` on first access; `present` has bit `i` set for each chunk the request carried.
    pub(crate) fn from_state(
        backend: Option<Arc<dyn Backend>>,
        source: Option<Candidates>,
        present: u32,
    ) -> Self {
        Session::with_legacy(backend, source, present, Vec::new())
    }

    /// [`from_state`](Self::from_state) with the values of a legacy session cookie the request
    /// carried (tried when no cookie of ours opens).
    pub(crate) fn with_legacy(
        backend: Option<Arc<dyn Backend>>,
        source: Option<Candidates>,
        present: u32,
        legacy: Vec<String>,
    ) -> Self {
        let legacy_present = !legacy.is_empty();
        let source = match source {
            None if legacy_present => Some(Candidates::default()),
            source => source,
        };
        Session {
            backend,
            inner: Arc::new(Mutex::new(State {
                source,
                id: None,
                lineage: None,
                data: Data::default(),
                meta: None,
                reseal: None,
                rejection: None,
                status: SessionStatus::Unchanged,
                lifetime: None,
                session_lifetime: None,
                present,
                opened_chunks: 0,
                purged: None,
                touched: false,
                legacy,
                legacy_present,
            })),
        }
    }

    /// The state, without loading. A panic while the lock was held (in a handler) must not turn
    /// every later access into a panic, so poisoning is ignored: the state is plain data.
    fn lock_raw(&self) -> MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, loaded, for the application: the response will vary on the cookie.
    fn lock(&self) -> MutexGuard<'_, State> {
        let mut s = self.lock_loaded();
        s.touched = true;
        s
    }

    /// The state, loaded, for the crate's own bookkeeping (revocation, the response): does not
    /// count as the application reading the session.
    pub(crate) fn lock_loaded(&self) -> MutexGuard<'_, State> {
        let mut s = self.lock_raw();
        s.load(self.backend.as_deref());
        s
    }

    /// The state as it is, without opening anything (for a response to a request that never
    /// touched the session).
    pub(crate) fn lock_unloaded(&self) -> MutexGuard<'_, State> {
        self.lock_raw()
    }

    /// Check now that the session still fits in its cookie, so the handler can answer with a
    /// useful error (and undo the change) instead of failing when the response is built.
    ///
    /// # Errors
    /// [`ErrorKind::SessionTooLarge`] (or another sealing error) exactly when the response would
    /// fail; `Ok` for a session not tied to a manager.
    pub fn ensure_fits(&self) -> Result<(), Error> {
        match &self.backend {
            Some(b) => b.check_fits(self),
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
            Some(v) => serde_json::from_str(v).map(Some).map_err(|_| mismatch(key)),
        }
    }

    /// The raw JSON value under `key`.
    pub fn get_value(&self, key: &str) -> Option<Value> {
        self.lock().data.get(key).and_then(parse_value)
    }

    /// Store `value` under `key`. Storing a value equal to the current one changes nothing (and
    /// so sends no cookie).
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if `value` cannot be represented as JSON.
    pub fn insert<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<str>,
        value: &T,
    ) -> Result<(), Error> {
        let text = compact_text(value)?;
        self.lock().store_text(key.as_ref(), text);
        Ok(())
    }

    /// Store a JSON value under `key`.
    pub fn insert_value(&self, key: impl AsRef<str>, value: Value) {
        // Writing a `Value` to text cannot fail (its map keys are strings).
        match compact_text(&value) {
            Ok(text) => self.lock().store_text(key.as_ref(), text),
            Err(_) => tracing::error!("a JSON value could not be written as text; not stored"),
        }
    }

    /// Remove and return the value under `key`.
    pub fn remove(&self, key: &str) -> Option<Value> {
        let mut s = self.lock();
        let old = s.data.remove(key)?;
        s.mark_changed();
        parse_value(&old)
    }

    /// Remove the value under `key` and deserialize it.
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if it does not fit `T` (it is removed all the same).
    pub fn remove_as<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let mut s = self.lock();
        let Some(old) = s.data.remove(key) else {
            return Ok(None);
        };
        s.mark_changed();
        serde_json::from_str(&old)
            .map(Some)
            .map_err(|_| mismatch(key))
    }

    /// Read-modify-write the value under `key` in one step (no other clone of the session can
    /// write in between): `f` gets the current value and returns the new one. Nothing happens
    /// when there is no value; see [`update_or`](Self::update_or). Storing an equal value
    /// changes nothing.
    ///
    /// ```
    /// let session = sealed_session::Session::new();
    /// session.insert("visits", &1u32)?;
    /// assert_eq!(session.update("visits", |n: u32| n + 1)?, Some(2));
    /// assert_eq!(session.update("missing", |n: u32| n + 1)?, None);
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Codec`] if the stored value does not fit `T`, or the new one is not JSON
    /// (the session is unchanged).
    pub fn update<T, F>(&self, key: &str, f: F) -> Result<Option<T>, Error>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let mut s = self.lock();
        let Some(current) = s.data.get(key) else {
            return Ok(None);
        };
        let current: T = serde_json::from_str(current).map_err(|_| mismatch(key))?;
        let new = f(current);
        s.store(key, &new)?;
        Ok(Some(new))
    }

    /// [`update`](Self::update), starting from `default` when there is no value (which is then
    /// passed to `f`): `session.update_or("count", 0, |n: u64| n + 1)` counts from 1.
    ///
    /// # Errors
    /// As [`update`](Self::update).
    pub fn update_or<T, F>(&self, key: &str, default: T, f: F) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce(T) -> T,
    {
        let mut s = self.lock();
        let current = match s.data.get(key) {
            Some(v) => serde_json::from_str(v).map_err(|_| mismatch(key))?,
            None => default,
        };
        let new = f(current);
        s.store(key, &new)?;
        Ok(new)
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
            .filter_map(|(k, v)| Some((k.to_owned(), parse_value(v)?)))
            .collect()
    }

    /// Every key, in order.
    pub fn keys(&self) -> Vec<String> {
        self.lock().data.keys().map(str::to_owned).collect()
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

    /// The session's lineage: the id it had before its first [`renew`](Self::renew), kept
    /// through every renew. Revocation ([`purge`](Self::purge) with a revocation store) and CSRF
    /// tokens follow the lineage, so a copy of the cookie taken before a renew is ended by the
    /// logout that follows it. `None` for a new session nothing has been written to yet.
    pub fn lineage(&self) -> Option<SessionId> {
        self.lock().lineage
    }

    /// Give the session a new id and a new creation time, keeping its data and its
    /// [`lineage`](Self::lineage), so the cookie changes. Call it after login and any change of
    /// privilege (OWASP: renew on every privilege change), so that the cookie an attacker
    /// planted before login does not carry the login.
    ///
    /// **Every entry is kept, including any an attacker planted before login** (by making the
    /// victim's browser use a session the attacker prepared, through a cookie set by a sibling
    /// subdomain or over plain http for names without the `__Host-` prefix). When the data
    /// before login is not trusted, use [`renew_empty`](Self::renew_empty) instead.
    pub fn renew(&self) {
        let mut s = self.lock();
        let id = SessionId::generate();
        if s.lineage.is_none() {
            s.lineage = Some(s.id.unwrap_or(id));
        }
        s.id = Some(id);
        s.meta = None;
        s.status = SessionStatus::Renewed;
    }

    /// Start over for a login: drop every entry, and give the session a new id, a new creation
    /// time and a new [`lineage`](Self::lineage). Nothing an attacker prepared before login
    /// survives it: no planted entry, and no CSRF token issued for the old lineage. A copy of
    /// the anonymous cookie taken before it stays an anonymous session (it is not ended by a
    /// later logout, since it never carried the login).
    pub fn renew_empty(&self) {
        let mut s = self.lock();
        let id = SessionId::generate();
        s.data.clear();
        s.id = Some(id);
        s.lineage = Some(id);
        s.meta = None;
        s.status = SessionStatus::Renewed;
    }

    /// End the session: drop its data and delete the cookie in the response. Writing to it
    /// afterwards starts a new session with a new id and a new lineage. With a revocation
    /// store, the session's whole lineage is revoked: every copy of its cookie, including ones
    /// taken before a [`renew`](Self::renew) in this or an earlier request, stops opening.
    pub fn purge(&self) {
        let mut s = self.lock();
        // Remembered for a revocation store, when the lineage was ever given to a browser
        // (it came from a cookie, possibly renewed since within this request).
        if s.opened_chunks > 0 {
            s.purged = s.lineage.or(s.id).or(s.purged);
        }
        s.data.clear();
        s.id = None;
        s.lineage = None;
        s.meta = None;
        s.status = SessionStatus::Purged;
    }

    /// The session's lineage, giving one to a session that has none yet (a new or purged one),
    /// which is then written even while it holds no data: a CSRF token bound to it must find
    /// the same session on the next request. The status is then `Renewed` (a new id).
    pub(crate) fn ensure_lineage(&self) -> SessionId {
        let mut s = self.lock();
        if let Some(lineage) = s.lineage {
            return lineage;
        }
        s.mark_changed();
        // `Changed` with no data and no cookie yet writes nothing; `Renewed` always writes.
        s.status = SessionStatus::Renewed;
        let id = s.id.unwrap_or_else(SessionId::generate);
        s.id = Some(id);
        *s.lineage.get_or_insert(id)
    }

    /// The CSRF sealer of the manager that loaded this session (`None` for a detached one).
    pub(crate) fn csrf_sealer(&self) -> Option<&Sealer> {
        self.backend.as_deref().map(Backend::csrf_sealer)
    }

    /// The lineage ended by [`purge`](Self::purge) in this request, once (without opening the
    /// cookie when the handler never touched the session).
    pub(crate) fn take_purged(&self) -> Option<SessionId> {
        self.lock_raw().purged.take()
    }

    /// What a revocation check needs: the opened session's id and lineage, and the value under
    /// `key` (the user binding). `None` when no cookie opened. Opens the cookie.
    pub(crate) fn revocation_subject(
        &self,
        key: &str,
    ) -> Option<(SessionId, SessionId, Option<Value>)> {
        let s = self.lock_loaded();
        match (s.id, s.meta) {
            (Some(id), Some(_)) => Some((
                id,
                s.lineage.unwrap_or(id),
                s.data.get(key).and_then(parse_value),
            )),
            _ => None,
        }
    }

    /// Replace the opened session with a fresh, empty one (a revoked session, or one whose
    /// check failed closed), before the application sees it.
    pub(crate) fn reset(&self, rejection: Option<Rejection>) {
        self.lock_loaded().reset(rejection);
    }

    /// Give this session its own absolute lifetime, counted from its creation ("remember me":
    /// 30 days on a site whose sessions last a day). Capped at the manager's maximum lifetime
    /// ([`SessionBuilder::with_max_lifetime`](crate::SessionBuilder::with_max_lifetime)), which
    /// by default is the lifetime itself, so without that setting this shortens but never
    /// extends. The idle timeout still applies. Pair it with
    /// [`set_cookie_lifetime`](Self::set_cookie_lifetime) so the browser keeps the cookie as
    /// long.
    pub fn set_lifetime(&self, lifetime: std::time::Duration) {
        let mut s = self.lock();
        s.session_lifetime = Some(lifetime);
        if s.status == SessionStatus::Unchanged && s.meta.is_some() {
            s.status = SessionStatus::Changed;
        }
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
    fn renew_keeps_planted_entries_and_renew_empty_drops_them_and_the_lineage() {
        let s = Session::new();
        s.insert("planted_by_attacker", &"x").unwrap();
        let lineage = s.lineage().unwrap();
        s.renew();
        assert!(
            s.contains("planted_by_attacker"),
            "renew keeps every entry (documented)"
        );
        assert_eq!(s.lineage(), Some(lineage), "renew keeps the lineage");
        s.renew_empty();
        assert!(s.is_empty(), "renew_empty starts from an empty session");
        assert_ne!(s.lineage(), Some(lineage), "and from a new lineage");
        assert_eq!(s.lineage(), s.id());
        assert_eq!(s.status(), SessionStatus::Renewed);
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
