//! Keys and key rings.
//!
//! A [`Key`] is a random secret of at least 32 bytes with a [`KeyId`]. A [`KeyRing`] holds exactly
//! one primary key (seals and opens), any number of older keys (open only, so tokens sealed before
//! a rotation keep working and get re-sealed), at most one pending key (opens now, seals from its
//! activation time on, so a rolling deploy can distribute it before any node uses it), and an
//! optional revoke-all cutoff.
//!
//! Every subkey and every cipher or MAC state is derived **once**, when the ring is built; sealing
//! and opening only look a key up by id.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use base64::Engine as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::clock::{parse_time, UnixTime, TIME_FORMS};
use crate::envelope::Mode;
use crate::error::{Error, ErrorKind};
use crate::primitives::{self, AeadAlgorithm, AeadCipher, HmacSha256};

/// HKDF salt for every v1 derivation.
pub(crate) const HKDF_SALT: &[u8] = b"sealed-session/v1";
/// HKDF info labels, one per subkey (documented in SECURITY.md; changing one breaks every token).
pub(crate) const LABEL_SIGN: &[u8] = b"sealed-session/v1/signed/hmac-sha256";
pub(crate) const LABEL_XCHACHA: &[u8] = b"sealed-session/v1/encrypted/xchacha20poly1305";
pub(crate) const LABEL_AES_GCM: &[u8] = b"sealed-session/v1/encrypted/aes-256-gcm";
pub(crate) const LABEL_AES_GCM_SIV: &[u8] = b"sealed-session/v1/encrypted/aes-256-gcm-siv";
pub(crate) const LABEL_KEY_ID: &[u8] = b"sealed-session/v1/key-id";
/// Names a secret's AES-256-GCM seal counter in this process (never leaves it: not a wire label).
const LABEL_GCM_COUNTER: &[u8] = b"sealed-session/internal/aes-256-gcm-seal-counter";

/// A key's identifier, written in every token so that opening needs one lookup, not a trial of
/// every key. Displayed as eight lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(u32);

impl KeyId {
    /// An explicit id (when ids are assigned by the operator, e.g. a date stamp).
    pub const fn new(id: u32) -> Self {
        KeyId(id)
    }

    /// The id as a number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Parse eight hex digits (as displayed) or a decimal number.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKey`] if `s` is neither.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let parsed = if let Some(hex) = s.strip_prefix("0x") {
            u32::from_str_radix(hex, 16).ok()
        } else if s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            u32::from_str_radix(s, 16).ok()
        } else {
            s.parse::<u32>().ok()
        };
        parsed.map(KeyId).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidKey,
                "a key id is eight hex digits, 0x followed by hex digits, or a decimal number",
            )
        })
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A secret key: at least 32 random bytes, wiped from memory when dropped.
///
/// `Debug` shows only the id; there is no `Serialize` and no `Display`. The only way to get the
/// bytes out is [`Key::to_base64`], for writing a key file.
///
/// ```
/// use sealed_session::Key;
///
/// let key = Key::generate();
/// assert!(!format!("{key:?}").contains(key.to_base64().as_str()));
/// let same = Key::from_base64(&key.to_base64())?;
/// assert_eq!(same.id(), key.id());
/// assert!(Key::try_from(&[7u8; 16][..]).is_err()); // too short
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key {
    secret: Box<[u8]>,
    #[zeroize(skip)]
    id: KeyId,
}

impl Key {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;
    /// The longest secret accepted, in bytes (longer is no stronger; the cap keeps a pasted file
    /// from becoming a key).
    pub const MAX_LEN: usize = 1024;

    /// A new random 32-byte key from the operating system's generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, bytes.as_mut_slice());
        Key::from_valid_secret(bytes.as_slice())
    }

    /// Parse a secret from base64: the standard or URL-safe alphabet, padded or not, surrounding
    /// white space ignored.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKey`] if it is not base64 or the secret is not acceptable (see
    /// [`TryFrom<&[u8]>`](#impl-TryFrom%3C%26%5Bu8%5D%3E-for-Key)). The message never contains the
    /// input.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
        use base64::engine::DecodePaddingMode;
        const LENIENT: GeneralPurposeConfig =
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
        // Base64 of MAX_LEN bytes, padded: anything longer is refused before any copy is made.
        const MAX_TEXT_LEN: usize = Key::MAX_LEN.div_ceil(3) * 4;
        let text = text.trim();
        if text.len() > MAX_TEXT_LEN {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!("the secret is longer than {} bytes", Key::MAX_LEN),
            ));
        }
        // Every copy of the secret is in a buffer allocated once at its final size and wiped on
        // drop: a `String` grown by `collect()` would leave unwiped copies behind each
        // reallocation. The URL-safe alphabet is mapped to the standard one byte for byte.
        let mut normalized = Zeroizing::new(Vec::with_capacity(text.len()));
        normalized.extend(text.bytes().map(|b| match b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        }));
        let invalid = || Error::new(ErrorKind::InvalidKey, "the secret is not valid base64");
        let mut bytes = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(normalized.len())]);
        let len = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT)
            .decode_slice(normalized.as_slice(), bytes.as_mut_slice())
            .map_err(|_| invalid())?;
        Key::try_from(bytes.get(..len).ok_or_else(invalid)?)
    }

    /// The secret in standard base64 with padding, for writing a key file. Handle with care.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&self.secret))
    }

    /// This key's id: derived from the secret by HKDF unless set with [`with_id`](Self::with_id).
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The same key under an explicit id.
    #[must_use]
    pub fn with_id(mut self, id: KeyId) -> Self {
        self.id = id;
        self
    }

    /// Build from a secret already known to be acceptable.
    fn from_valid_secret(secret: &[u8]) -> Self {
        let id = derive_key_id(secret);
        Key {
            secret: secret.to_vec().into_boxed_slice(),
            id,
        }
    }
}

impl TryFrom<&[u8]> for Key {
    type Error = Error;

    /// # Errors
    /// [`ErrorKind::InvalidKey`] if the secret is shorter than [`Key::MIN_LEN`], longer than
    /// [`Key::MAX_LEN`], or all one byte value (all zero is the usual sign of an unset secret).
    fn try_from(secret: &[u8]) -> Result<Self, Error> {
        if secret.len() < Key::MIN_LEN {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!(
                    "the secret is {} bytes; at least {} random bytes are required",
                    secret.len(),
                    Key::MIN_LEN
                ),
            ));
        }
        if secret.len() > Key::MAX_LEN {
            return Err(Error::new(
                ErrorKind::InvalidKey,
                format!("the secret is longer than {} bytes", Key::MAX_LEN),
            ));
        }
        if let Some((first, rest)) = secret.split_first() {
            if rest.iter().all(|b| b == first) {
                return Err(Error::new(
                    ErrorKind::InvalidKey,
                    "the secret repeats one byte value (all zero?); use random bytes",
                ));
            }
        }
        Ok(Key::from_valid_secret(secret))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// HKDF-SHA256 of `secret` under the v1 salt, expanded for `label`. Every `N` used here is 32 or
/// less, far below HKDF's 8160-byte maximum, so the error branch cannot be taken; it leaves zeros
/// only to stay panic-free (tests pin the derived values).
fn derive<const N: usize>(secret: &[u8], label: &[u8]) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    if primitives::hkdf_sha256(HKDF_SALT, secret, label, out.as_mut_slice()).is_err() {
        out.as_mut_slice().zeroize();
    }
    out
}

fn derive_key_id(secret: &[u8]) -> KeyId {
    let id = derive::<4>(secret, LABEL_KEY_ID);
    KeyId(u32::from_be_bytes(*id))
}

/// What a key in a ring is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Seals new tokens and opens.
    Primary,
    /// Opens only; tokens under it are re-sealed under the primary.
    Older,
    /// Opens now; becomes the primary at the given time.
    Pending {
        /// When this key starts sealing.
        activates_at: UnixTime,
    },
}

/// The per-key states derived once when the ring is built.
pub(crate) struct RingKey {
    pub(crate) id: KeyId,
    pub(crate) state: KeyState,
    pub(crate) hmac: HmacSha256,
    pub(crate) xchacha: AeadCipher,
    pub(crate) aes_gcm: AeadCipher,
    pub(crate) aes_gcm_siv: AeadCipher,
    /// HKDF's pseudorandom key for this secret, kept only in builds with a module outside the
    /// core that derives its own subkey under its own label: see [`RingKey::derive_subkey`].
    #[cfg(feature = "cache")]
    prk: Zeroizing<[u8; 32]>,
    /// Seals made with AES-256-GCM under this key's secret by this process (random 96-bit
    /// nonces are safe for 2^32 seals per key): shared with every other ring built from the same
    /// secret, see [`aes_gcm_seal_counter`].
    pub(crate) aes_gcm_seals: Arc<AtomicU64>,
}

/// The process's AES-256-GCM seal counters, by a fingerprint of the secret.
///
/// The 2^32 budget belongs to the AES-256-GCM subkey, which is derived from the secret alone: a
/// ring rebuilt from the same keys (a reload, [`Sealer::set_ring`](crate::Sealer::set_ring), a
/// second manager with another purpose, the same secret under another id) seals under the same
/// subkey, so it must continue the same count rather than start at zero. A different secret under
/// an id seen before has another fingerprint and starts its own count.
///
/// Bounded: a counter is forgotten once no ring holds its key and it never counted a seal; a
/// counter that counted one is kept for the life of the process (about 64 bytes per key that
/// ever sealed with AES-256-GCM), so dropping every ring and building a new one does not reset it
/// either.
static GCM_SEALS: LazyLock<Mutex<HashMap<[u8; 16], Arc<AtomicU64>>>> =
    LazyLock::new(Mutex::default);

/// The seal counter for `secret`'s AES-256-GCM subkey (see [`GCM_SEALS`]).
fn aes_gcm_seal_counter(secret: &[u8]) -> Arc<AtomicU64> {
    let fingerprint = derive::<16>(secret, LABEL_GCM_COUNTER);
    // Nothing a panicking holder could leave half-done: every update is one atomic insert.
    let mut counters = GCM_SEALS.lock().unwrap_or_else(PoisonError::into_inner);
    counters.retain(|_, c| Arc::strong_count(c) > 1 || c.load(Ordering::Relaxed) > 0);
    Arc::clone(counters.entry(*fingerprint).or_default())
}

impl RingKey {
    fn derive(key: &Key, state: KeyState) -> Self {
        let sign = derive::<32>(&key.secret, LABEL_SIGN);
        let xchacha = derive::<32>(&key.secret, LABEL_XCHACHA);
        let aes_gcm = derive::<32>(&key.secret, LABEL_AES_GCM);
        let aes_gcm_siv = derive::<32>(&key.secret, LABEL_AES_GCM_SIV);
        RingKey {
            id: key.id,
            state,
            hmac: HmacSha256::new(&sign),
            xchacha: AeadCipher::new(AeadAlgorithm::XChaCha20Poly1305, &xchacha),
            aes_gcm: AeadCipher::new(AeadAlgorithm::Aes256Gcm, &aes_gcm),
            aes_gcm_siv: AeadCipher::new(AeadAlgorithm::Aes256GcmSiv, &aes_gcm_siv),
            #[cfg(feature = "cache")]
            prk: primitives::hkdf_sha256_extract(HKDF_SALT, &key.secret),
            aes_gcm_seals: aes_gcm_seal_counter(&key.secret),
        }
    }
}

#[cfg(feature = "cache")]
impl RingKey {
    /// The 32-byte subkey for `label`: the same HKDF-SHA256 derivation as the core's subkeys.
    pub(crate) fn derive_subkey(&self, label: &[u8]) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        // 32 bytes are far below HKDF's maximum: the error branch cannot be taken, and leaves
        // zeros only to stay panic-free (the cache's pinned entry would catch it).
        if primitives::hkdf_sha256_expand(&self.prk, label, out.as_mut_slice()).is_err() {
            out.as_mut_slice().zeroize();
        }
        out
    }
}

struct RingInner {
    /// Sorted by id, for one binary-search lookup per token.
    keys: Vec<RingKey>,
    primary: usize,
    pending: Option<(usize, UnixTime)>,
    revoke_before: Option<UnixTime>,
}

/// A validated set of keys. Cheap to clone (shared).
///
/// ```
/// use sealed_session::{Key, KeyRing, UnixTime};
///
/// let old = Key::generate();
/// let new = Key::generate();
/// let ring = KeyRing::builder()
///     .primary(new.clone())
///     .older(old.clone())
///     .build()?;
/// assert_eq!(ring.primary_id_at(UnixTime::now()), new.id());
/// assert!(ring.contains(old.id()));
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    inner: Arc<RingInner>,
}

impl KeyRing {
    /// Start building a ring.
    pub fn builder() -> KeyRingBuilder {
        KeyRingBuilder::default()
    }

    /// A ring with one freshly generated primary key: for examples and tests. Tokens do not
    /// survive a restart.
    pub fn generate() -> Self {
        KeyRing::builder()
            .primary(Key::generate())
            .build_infallible_single()
    }

    /// Parse a key list: `id:secret` entries separated by commas or new lines, `#` starting a
    /// comment, the secret in standard or URL-safe base64 (padding optional). The first entry is
    /// the primary and the rest are older keys, except an entry `id:secret@TIME`, which is the
    /// pending key, sealing from `TIME` on (RFC 3339 with an offset, or `@` and Unix seconds).
    /// This is the format of `SEALED_SESSION_KEYS` and of the examples' `SESSION_KEYS`.
    ///
    /// ```
    /// use sealed_session::{Key, KeyRing, KeyId, UnixTime};
    ///
    /// let (a, b, c) = (Key::generate(), Key::generate(), Key::generate());
    /// let list = format!(
    ///     "2:{},1:{}\n3:{}@2023-11-14T22:13:20Z # the next key",
    ///     a.to_base64().as_str(),
    ///     b.to_base64().as_str(),
    ///     c.to_base64().as_str()
    /// );
    /// let ring = KeyRing::from_key_list(&list)?;
    /// assert_eq!(ring.primary_id_at(UnixTime::from_secs(1_600_000_000)), KeyId::new(2));
    /// assert_eq!(ring.primary_id_at(UnixTime::from_secs(1_700_000_000)), KeyId::new(3));
    /// assert!(KeyRing::from_key_list("1:tooshort").is_err());
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKey`] naming the entry (by position, never its text) that is not
    /// `id:secret` or `id:secret@TIME`, or whose id, secret or time is unacceptable;
    /// [`ErrorKind::InvalidKeyRing`] for an empty list, two pending keys or duplicate ids.
    pub fn from_key_list(list: &str) -> Result<KeyRing, Error> {
        let keys = parse_key_list(list).map_err(|e| {
            let n = e.entry.saturating_add(1);
            Error::new(
                ErrorKind::InvalidKey,
                format!("key entry {n}: {}", e.problem),
            )
        })?;
        keys.into_iter()
            .fold(KeyRing::builder(), |b, (key, state)| b.key(key, state))
            .build()
    }

    /// The id of the key that seals at `now` (the pending key once its time has come).
    pub fn primary_id_at(&self, now: UnixTime) -> KeyId {
        self.primary_at(now).map_or(KeyId(0), |k| k.id)
    }

    /// Whether a key with this id is in the ring.
    pub fn contains(&self, id: KeyId) -> bool {
        self.find(id).is_some()
    }

    /// Every key id with its state, in id order.
    pub fn keys(&self) -> impl Iterator<Item = (KeyId, KeyState)> + '_ {
        self.inner.keys.iter().map(|k| (k.id, k.state))
    }

    /// The revoke-all cutoff: sessions created before it do not open.
    pub fn revoke_before(&self) -> Option<UnixTime> {
        self.inner.revoke_before
    }

    /// How many tokens this process has sealed in [`Mode::Aes256Gcm`] under the key `id`'s
    /// secret (`None` if the ring has no such key), against the limit of 2^32 after which sealing
    /// with it is refused. The count is the process's, not the ring's: rebuilding the ring from
    /// the same secret (a reload, [`Sealer::set_ring`](crate::Sealer::set_ring)) continues it,
    /// and other processes sharing the key are not counted (see SECURITY.md, "Nonces and limits").
    ///
    /// ```
    /// use sealed_session::{Key, KeyRing, Mode, Sealer};
    ///
    /// let key = Key::generate();
    /// let ring = KeyRing::builder().primary(key.clone()).build()?;
    /// let sealer = Sealer::builder(ring, "id").mode(Mode::Aes256Gcm).build()?;
    /// sealer.seal(&1)?;
    /// // A ring built anew from the same key continues the count.
    /// let again = KeyRing::builder().primary(key.clone()).build()?;
    /// assert_eq!(again.aes_gcm_seals(key.id()), Some(1));
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn aes_gcm_seals(&self, id: KeyId) -> Option<u64> {
        self.find(id)
            .map(|k| k.aes_gcm_seals.load(Ordering::Relaxed))
    }

    /// Set the AES-256-GCM seal count of the key `id`'s secret in this process, so that a test
    /// can reach the 2^32 limit without sealing 2^32 times. Returns whether the ring has the key.
    /// Hazardous: only for tests (never enable `test-vectors` in an application).
    #[cfg(feature = "test-vectors")]
    #[doc(hidden)]
    pub fn set_aes_gcm_seals_for_tests(&self, id: KeyId, seals: u64) -> bool {
        self.find(id)
            .map(|k| k.aes_gcm_seals.store(seals, Ordering::Relaxed))
            .is_some()
    }

    pub(crate) fn find(&self, id: KeyId) -> Option<&RingKey> {
        let keys = &self.inner.keys;
        keys.binary_search_by_key(&id, |k| k.id)
            .ok()
            .and_then(|i| keys.get(i))
    }

    pub(crate) fn primary_at(&self, now: UnixTime) -> Option<&RingKey> {
        let index = match self.inner.pending {
            Some((pending, at)) if now >= at => pending,
            _ => self.inner.primary,
        };
        self.inner.keys.get(index)
    }

    /// Whether a token under `id` should be re-sealed at `now`: it was sealed under a key that
    /// does not seal any more. Tokens under a pending key are left alone, so nodes that have not
    /// activated it yet do not flip them back and forth.
    pub(crate) fn is_retiring(&self, key: &RingKey, now: UnixTime) -> bool {
        match key.state {
            KeyState::Pending { .. } => false,
            _ => self.primary_at(now).is_some_and(|p| p.id != key.id),
        }
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.keys().collect::<Vec<_>>())
            .field("revoke_before", &self.inner.revoke_before)
            .finish()
    }
}

/// Why an entry of a key list was refused. Nothing here holds the entry's text.
#[derive(Debug)]
pub(crate) enum KeyListProblem {
    /// Not `id:secret` or `id:secret@TIME`.
    Form,
    /// The id's problem ([`KeyId::parse`]).
    Id(Error),
    /// The secret's problem ([`Key::from_base64`]).
    Secret(Error),
    /// The activation time is not a time.
    Time,
}

impl fmt::Display for KeyListProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyListProblem::Form => f.write_str("expected id:secret or id:secret@activation-time"),
            KeyListProblem::Id(e) | KeyListProblem::Secret(e) => f.write_str(e.message()),
            KeyListProblem::Time => write!(f, "the activation time: expected {TIME_FORMS}"),
        }
    }
}

/// A refused key-list entry: its position (from 0) and why.
#[derive(Debug)]
pub(crate) struct KeyListError {
    pub(crate) entry: usize,
    pub(crate) problem: KeyListProblem,
}

/// The one key-list parser ([`KeyRing::from_key_list`], `SEALED_SESSION_KEYS` and its file):
/// each key with its state, in list order. The first entry without a time is the primary.
pub(crate) fn parse_key_list(list: &str) -> Result<Vec<(Key, KeyState)>, KeyListError> {
    let mut keys = Vec::new();
    let mut have_primary = false;
    let entries = list
        .lines()
        .map(|line| line.split_once('#').map_or(line, |(before, _)| before))
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty());
    for (entry, text) in entries.enumerate() {
        let refused = |problem| KeyListError { entry, problem };
        let (id, rest) = text
            .split_once(':')
            .ok_or_else(|| refused(KeyListProblem::Form))?;
        let id = KeyId::parse(id.trim()).map_err(|e| refused(KeyListProblem::Id(e)))?;
        let (secret, activates_at) = match rest.rsplit_once('@') {
            Some((secret, at)) => (
                secret,
                Some(parse_time(at).ok_or_else(|| refused(KeyListProblem::Time))?),
            ),
            None => (rest, None),
        };
        let key = Key::from_base64(secret).map_err(|e| refused(KeyListProblem::Secret(e)))?;
        let state = match activates_at {
            Some(activates_at) => KeyState::Pending { activates_at },
            None if !have_primary => {
                have_primary = true;
                KeyState::Primary
            }
            None => KeyState::Older,
        };
        keys.push((key.with_id(id), state));
    }
    Ok(keys)
}

/// Why a [`KeyRingBuilder`] refuses its keys. Entries are numbered from 0 in the order they were
/// added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RingProblem {
    /// No keys at all.
    Empty,
    /// Keys, none of them primary.
    NoPrimary,
    /// Entry `second` is primary too.
    SecondPrimary { first: usize, second: usize },
    /// Entry `second` is pending too.
    SecondPending { first: usize, second: usize },
    /// Entry `second` has entry `first`'s id (derived ids collide only if the same secret is
    /// added twice, or with probability 2^-32).
    SameId {
        id: KeyId,
        first: usize,
        second: usize,
    },
}

impl fmt::Display for RingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingProblem::Empty => f.write_str("a key ring needs keys; none were given"),
            RingProblem::NoPrimary => {
                f.write_str("a key ring needs exactly one primary key; none is primary")
            }
            RingProblem::SecondPrimary { first, second } => write!(
                f,
                "a key ring needs exactly one primary key; keys {first} and {second} (from 0) \
                 are both primary"
            ),
            RingProblem::SecondPending { first, second } => write!(
                f,
                "a key ring holds at most one pending key; keys {first} and {second} (from 0) \
                 are both pending"
            ),
            RingProblem::SameId { id, first, second } => write!(
                f,
                "two keys have the id {id}: keys {first} and {second} (from 0)"
            ),
        }
    }
}

/// Builds a [`KeyRing`]; [`build`](KeyRingBuilder::build) validates it.
#[derive(Default)]
pub struct KeyRingBuilder {
    entries: Vec<(Key, KeyState)>,
    revoke_before: Option<UnixTime>,
}

impl KeyRingBuilder {
    /// Add the primary key. Exactly one is required.
    #[must_use]
    pub fn primary(mut self, key: Key) -> Self {
        self.entries.push((key, KeyState::Primary));
        self
    }

    /// Add an older key: it opens tokens, which are then re-sealed under the primary.
    #[must_use]
    pub fn older(mut self, key: Key) -> Self {
        self.entries.push((key, KeyState::Older));
        self
    }

    /// Add the pending key: it opens tokens at once and becomes the primary at `activates_at`
    /// (the current primary then acts as an older key). At most one.
    #[must_use]
    pub fn pending(mut self, key: Key, activates_at: UnixTime) -> Self {
        self.entries.push((key, KeyState::Pending { activates_at }));
        self
    }

    /// Add a key in the given state.
    #[must_use]
    pub fn key(mut self, key: Key, state: KeyState) -> Self {
        self.entries.push((key, state));
        self
    }

    /// Revoke every session created before `t`, without any server-side state.
    #[must_use]
    pub fn revoke_before(mut self, t: UnixTime) -> Self {
        self.revoke_before = Some(t);
        self
    }

    /// Validate and derive every key's subkeys.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidKeyRing`] with no primary, more than one primary, more than one
    /// pending key, or two keys with the same id (derived ids collide only if the same secret is
    /// added twice, or with probability 2^-32).
    pub fn build(self) -> Result<KeyRing, Error> {
        self.try_build()
            .map_err(|p| Error::new(ErrorKind::InvalidKeyRing, p.to_string()))
    }

    /// The first problem with the keys, in the order they were added: what `build` refuses.
    fn problem(&self) -> Option<RingProblem> {
        if self.entries.is_empty() {
            return Some(RingProblem::Empty);
        }
        for (second, (key, state)) in self.entries.iter().enumerate() {
            let earlier = self.entries.get(..second).unwrap_or_default();
            let first_where = |f: &dyn Fn(&(Key, KeyState)) -> bool| earlier.iter().position(f);
            if let Some(first) = first_where(&|(k, _)| k.id() == key.id()) {
                return Some(RingProblem::SameId {
                    id: key.id(),
                    first,
                    second,
                });
            }
            let same_role = match state {
                KeyState::Primary => first_where(&|(_, s)| *s == KeyState::Primary)
                    .map(|first| RingProblem::SecondPrimary { first, second }),
                KeyState::Pending { .. } => {
                    first_where(&|(_, s)| matches!(s, KeyState::Pending { .. }))
                        .map(|first| RingProblem::SecondPending { first, second })
                }
                KeyState::Older => None,
            };
            if same_role.is_some() {
                return same_role;
            }
        }
        if !self.entries.iter().any(|(_, s)| *s == KeyState::Primary) {
            return Some(RingProblem::NoPrimary);
        }
        None
    }

    /// [`build`](Self::build), with the problem typed so that a caller (the configuration)
    /// can name the entries by where it read them.
    pub(crate) fn try_build(self) -> Result<KeyRing, RingProblem> {
        if let Some(problem) = self.problem() {
            return Err(problem);
        }
        let mut keys: Vec<RingKey> = self
            .entries
            .iter()
            .map(|(k, s)| RingKey::derive(k, *s))
            .collect();
        keys.sort_by_key(|k| k.id);
        let primary = keys
            .iter()
            .position(|k| k.state == KeyState::Primary)
            .ok_or(RingProblem::NoPrimary)?;
        let pending = keys.iter().enumerate().find_map(|(i, k)| match k.state {
            KeyState::Pending { activates_at } => Some((i, activates_at)),
            _ => None,
        });
        Ok(KeyRing {
            inner: Arc::new(RingInner {
                keys,
                primary,
                pending,
                revoke_before: self.revoke_before,
            }),
        })
    }

    /// `build` for a ring of one primary key, which cannot fail validation.
    fn build_infallible_single(self) -> KeyRing {
        let keys: Vec<RingKey> = self
            .entries
            .iter()
            .map(|(k, _)| RingKey::derive(k, KeyState::Primary))
            .take(1)
            .collect();
        KeyRing {
            inner: Arc::new(RingInner {
                keys,
                primary: 0,
                pending: None,
                revoke_before: None,
            }),
        }
    }
}

impl fmt::Debug for KeyRingBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRingBuilder")
            .field(
                "keys",
                &self
                    .entries
                    .iter()
                    .map(|(k, s)| (k.id, *s))
                    .collect::<Vec<_>>(),
            )
            .field("revoke_before", &self.revoke_before)
            .finish()
    }
}

impl RingKey {
    /// The AEAD for an encrypted mode (`None` for the signed mode).
    pub(crate) fn aead(&self, mode: Mode) -> Option<&AeadCipher> {
        match mode {
            Mode::Signed => None,
            Mode::XChaCha20Poly1305 => Some(&self.xchacha),
            Mode::Aes256Gcm => Some(&self.aes_gcm),
            Mode::Aes256GcmSiv => Some(&self.aes_gcm_siv),
        }
    }

    /// Count one AES-256-GCM seal; `false` once the key has reached its 2^32 limit. Warns at
    /// 2^31 seals and every 2^28 after, so operators rotate well before the limit.
    pub(crate) fn count_aes_gcm_seal(&self) -> bool {
        const LIMIT: u64 = 1 << 32;
        const WARN_FROM: u64 = 1 << 31;
        const WARN_EVERY: u64 = 1 << 28;
        let n = self.aes_gcm_seals.fetch_add(1, Ordering::Relaxed);
        if n >= LIMIT {
            tracing::error!(key_id = %self.id, "AES-256-GCM key reached 2^32 seals; refusing to seal: rotate the key");
            return false;
        }
        if n >= WARN_FROM && n.is_multiple_of(WARN_EVERY) {
            tracing::warn!(key_id = %self.id, seals = n, "AES-256-GCM key is past 2^31 seals of its 2^32 limit; rotate it");
        }
        true
    }
}

#[cfg(test)]
mod tests;
