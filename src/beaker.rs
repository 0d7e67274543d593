//! A one-way door from Python Beaker's cookie sessions (feature `beaker-compat`).
//!
//! A site that moves from Beaker's `CookieSession` to this crate would log every user out on
//! the day it switches. [`BeakerReader`] reads a Beaker session cookie **once**, so the caller can
//! put its entries into a new sealed session on the same response and delete the legacy cookie.
//! It never writes Beaker's format: the reader is meant to be switched off (and the feature
//! removed) once the migration window is over.
//!
//! ## What Beaker writes
//! Every detail below was read from Beaker 1.14's source (`beaker/session.py`: `SignedCookie`,
//! `Session._encrypt_data`/`_decrypt_data`, `CookieSession`; `beaker/crypto/*`; `beaker/util.py`:
//! `JsonSerializer`) and is checked against cookies made by the real package
//! (`tests/beaker.rs`).
//!
//! - The cookie (default name `beaker.session.id`) is `<sig><payload>`, unquoted. `sig` is the
//!   40 lowercase hex digits of HMAC-SHA1(`validate_key`, `payload`) (`SignedCookie`). Beaker
//!   strips `"` around a value it reads; so does this reader.
//! - Without `encrypt_key`, `payload` is standard base64 (with padding) of the serializer's
//!   output.
//! - With `encrypt_key`, `payload` is a 24-character nonce (the base64 text of 16 random bytes,
//!   Beaker's default `encrypt_nonce_bits = 128`) followed by base64 of the cipher output. The
//!   key is PBKDF2-HMAC-SHA1 with `encrypt_key` as the password, the **text** `validate_key ‖
//!   nonce` (the nonce's base64 characters, not its bytes) as the salt, 1 iteration, 32 bytes.
//!   Beaker encodes both strings as ASCII here, so an encrypted Beaker cookie cannot exist for a
//!   non-ASCII key, and [`BeakerReaderBuilder::build`] refuses one.
//! - The `cryptography` backend writes AES-256-GCM as IV (12 bytes) ‖ tag (16) ‖ ciphertext, no
//!   associated data. The `pycryptodome` backend writes AES-256-CTR with a 128-bit big-endian
//!   counter starting at 0 (`Counter.new(128, initial_value=0)`): no tag, so a wrong key or a
//!   bad ciphertext only shows later, as bytes that do not inflate. Beaker's `crypto_type =
//!   "default"` means `cryptography` when it is installed, else `pycryptodome`.
//! - The JSON serializer writes `zlib.compress(json.dumps(dict))`. The pickle serializer
//!   (Beaker's default!) writes `pickle.dumps(dict, 2)`, which starts with the byte `0x80`: such
//!   a payload is refused as [`LegacyRejection::Pickle`] before anything reads further. A site
//!   on pickle cannot migrate with this reader; it must first switch Beaker to
//!   `data_serializer = json` and let its sessions be rewritten.
//! - The dict holds the application's entries and Beaker's own keys: `_id` (a hex uuid4),
//!   `_creation_time` and `_accessed_time` (float seconds since the epoch), `_domain` and
//!   `_path` (the cookie's Domain, often `null`, and Path). Beaker up to 1.13 also kept
//!   `_expires`, the browser cookie's expiry; through the JSON serializer it can only be `true`
//!   (a `datetime` does not serialize to JSON), and Beaker never used it to expire a session on
//!   the server. Those six keys are Beaker's and are dropped from
//!   [`LegacySession::entries`]; any other key, underscored or not, is the application's.
//! - Server-side expiry: with a `timeout`, Beaker clears a session when `now - _accessed_time >
//!   timeout` ([`LegacyRejection::Expired`] here). Without one, a Beaker cookie never expires on
//!   the server; the caller's own lifetimes apply once it is re-sealed.
//!
//! ## Order of checks and bounds
//! Size (at most [`MAX_LEGACY_COOKIE_LEN`] characters, checked first), shape (40 lowercase hex
//! digits), signature (constant time, through `hmac`'s `verify_slice`), base64, decryption (the
//! GCM tag), pickle refusal, zlib (output capped at the [`Codec`]'s byte limit while inflating:
//! a zlib bomb stops there, having cost at most that much memory), then the codec's JSON limits
//! (bytes, depth, an object at the top), then Beaker's keys and the timeout. Nothing reachable
//! from the cookie panics; every failure is a [`LegacyRejection`].
//!
//! ```
//! use sealed_session::beaker::{BeakerReader, LegacyRejection};
//! use sealed_session::UnixTime;
//!
//! let reader = BeakerReader::builder("the validate_key of the Beaker config")
//!     .timeout_secs(Some(3600))
//!     .build()?;
//! assert_eq!(reader.cookie_name(), "beaker.session.id");
//!
//! // Whatever the browser sends, the answer is a session or a typed rejection.
//! let rejected = reader.read_at(UnixTime::now(), "not a beaker cookie").unwrap_err();
//! assert_eq!(rejected, LegacyRejection::Malformed);
//!
//! // The legacy cookie is deleted with its own Path and Domain.
//! assert!(reader.deletion_cookie().starts_with("beaker.session.id=; "));
//! # Ok::<(), sealed_session::Error>(())
//! ```

use std::fmt;
use std::time::Duration;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::Aes256Gcm;
use base64::Engine as _;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha1::Sha1;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::clock::UnixTime;
use crate::codec::Codec;
use crate::cookie_policy::CookiePolicy;
use crate::error::{Error, ErrorKind};

/// Beaker's default cookie name (`beaker.session.key`'s default).
pub const DEFAULT_COOKIE_NAME: &str = "beaker.session.id";

/// The longest cookie value read, in characters: Beaker refuses to write a payload over 4064
/// characters (`CookieSession._create_cookie`), plus the 40 signature digits. Anything longer
/// was not written by Beaker and is refused before it is decoded.
pub const MAX_LEGACY_COOKIE_LEN: usize = 40 + 4064;

/// Hex digits of the HMAC-SHA1 signature in front of the payload.
const SIG_HEX_LEN: usize = 40;
/// Base64 characters of the nonce for Beaker's default `encrypt_nonce_bits = 128`
/// (`get_nonce_size(128)`: 16 bytes, `((4 * 16 // 3) + 3) & ~3` = 24 characters).
const NONCE_B64_LEN: usize = 24;
/// IV and tag lengths of the `cryptography` backend's AES-256-GCM output.
const GCM_IV_LEN: usize = 12;
const GCM_TAG_LEN: usize = 16;
/// PBKDF2 iterations Beaker uses (`generateCryptoKeys(..., 1, ...)`).
const PBKDF2_ROUNDS: u32 = 1;
/// The first byte of every pickle of protocol 2 or later (the PROTO opcode).
const PICKLE_PROTO: u8 = 0x80;

/// Beaker's own keys in the session dict (see the module docs); never the application's.
const BEAKER_KEYS: [&str; 6] = [
    "_id",
    "_creation_time",
    "_accessed_time",
    "_domain",
    "_path",
    "_expires",
];

type HmacSha1 = Hmac<Sha1>;
type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Which of Beaker's AES backends wrote the cookies (Beaker's `crypto_type`). Only matters with
/// an `encrypt_key`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BeakerCrypto {
    /// `crypto_type = cryptography` (and `default` where pyca/cryptography is installed, which
    /// Beaker prefers): AES-256-GCM, IV ‖ tag ‖ ciphertext.
    #[default]
    Cryptography,
    /// `crypto_type = pycryptodome` (or its alias `pycrypto`, or `default` without
    /// pyca/cryptography): AES-256-CTR from counter 0, unauthenticated (the HMAC-SHA1 is all).
    #[serde(alias = "pycrypto")]
    Pycryptodome,
}

impl BeakerCrypto {
    /// The name Beaker's `crypto_type` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            BeakerCrypto::Cryptography => "cryptography",
            BeakerCrypto::Pycryptodome => "pycryptodome",
        }
    }
}

/// A secret string from the configuration: zeroized on drop, never printed.
#[derive(Clone, Default, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(transparent)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn default_cookie_name() -> String {
    DEFAULT_COOKIE_NAME.to_owned()
}

fn default_path() -> String {
    "/".to_owned()
}

/// The legacy reader's settings, as they appear in a configuration file (every field but
/// `validate_key` is optional):
///
/// ```toml
/// validate_key = "..."        # beaker.session.validate_key
/// encrypt_key = "..."         # beaker.session.encrypt_key, if the cookies are encrypted
/// crypto = "cryptography"     # or "pycryptodome": beaker.session.crypto_type
/// cookie_name = "beaker.session.id"   # beaker.session.key
/// path = "/"                  # beaker.session.cookie_path
/// domain = "example.com"      # beaker.session.cookie_domain
/// timeout = 3600              # beaker.session.timeout, seconds
/// ```
///
/// Unknown fields are an error (a typo must not silently drop a setting). The keys are zeroized
/// on drop and `Debug` prints them as `<redacted>`. Turn it into a reader with
/// [`BeakerReader::from_settings`].
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeakerSettings {
    validate_key: Secret,
    #[serde(default)]
    encrypt_key: Option<Secret>,
    #[serde(default)]
    crypto: BeakerCrypto,
    #[serde(default = "default_cookie_name")]
    cookie_name: String,
    #[serde(default = "default_path")]
    path: String,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    timeout: Option<u64>,
}

impl fmt::Debug for BeakerSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeakerSettings")
            .field("validate_key", &self.validate_key)
            .field("encrypt_key", &self.encrypt_key)
            .field("crypto", &self.crypto)
            .field("cookie_name", &self.cookie_name)
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl BeakerSettings {
    /// Settings with Beaker's defaults and the given `validate_key`.
    pub fn new(validate_key: impl Into<String>) -> Self {
        BeakerSettings {
            validate_key: Secret(validate_key.into()),
            encrypt_key: None,
            crypto: BeakerCrypto::default(),
            cookie_name: default_cookie_name(),
            path: default_path(),
            domain: None,
            timeout: None,
        }
    }
}

/// Builds a [`BeakerReader`]; every setter states Beaker's default, which is this one's.
#[derive(Debug)]
#[must_use]
pub struct BeakerReaderBuilder {
    settings: BeakerSettings,
    codec: Codec,
}

impl BeakerReaderBuilder {
    /// `beaker.session.encrypt_key`: the cookies are encrypted (default: not).
    pub fn encrypt_key(mut self, key: impl Into<String>) -> Self {
        self.settings.encrypt_key = Some(Secret(key.into()));
        self
    }

    /// `beaker.session.crypto_type`: which backend encrypted them (default
    /// [`BeakerCrypto::Cryptography`], Beaker's preferred `default`).
    pub fn crypto(mut self, crypto: BeakerCrypto) -> Self {
        self.settings.crypto = crypto;
        self
    }

    /// `beaker.session.key`: the cookie's name (default [`DEFAULT_COOKIE_NAME`]).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.settings.cookie_name = name.into();
        self
    }

    /// `beaker.session.cookie_path`: the Path the deletion cookie must carry (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.settings.path = path.into();
        self
    }

    /// `beaker.session.cookie_domain`: the Domain the deletion cookie must carry (default none:
    /// a host-only cookie).
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.settings.domain = domain;
        self
    }

    /// `beaker.session.timeout` in seconds: a cookie whose `_accessed_time` is older is
    /// [`LegacyRejection::Expired`] (default none: Beaker then never expires a cookie session).
    pub fn timeout_secs(mut self, timeout: Option<u64>) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The JSON limits (default [`Codec::new`]); its byte limit also caps the inflated size.
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Check the settings and derive what can be derived once.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`], naming the setting (never its value), if: `validate_key`
    /// is empty (an empty HMAC key would accept forged cookies); `encrypt_key` is empty (Beaker
    /// reads an empty key as "not encrypted": leave it out instead); an `encrypt_key` is set and
    /// either key is not ASCII (Beaker could not have encrypted with it); the cookie name, path
    /// or domain are not valid cookie attributes.
    pub fn build(self) -> Result<BeakerReader, Error> {
        let s = self.settings;
        let invalid = |msg: &str| Error::new(ErrorKind::InvalidConfig, format!("beaker: {msg}"));
        let bad = |msg: &str| Err(invalid(msg));
        if s.validate_key.0.is_empty() {
            return bad("validate_key is empty");
        }
        let mut encrypt = None;
        if let Some(key) = &s.encrypt_key {
            if key.0.is_empty() {
                return bad(
                    "encrypt_key is empty (Beaker treats an empty key as no encryption: omit it)",
                );
            }
            if !key.0.is_ascii() {
                return bad("encrypt_key is not ASCII (Beaker cannot encrypt with it)");
            }
            if !s.validate_key.0.is_ascii() {
                return bad(
                    "validate_key is not ASCII, which Beaker cannot encrypt with (encrypt_key is set)",
                );
            }
            encrypt = Some(Encryption {
                password: Zeroizing::new(key.0.as_bytes().to_vec()),
                crypto: s.crypto,
            });
        }
        let mac = <HmacSha1 as Mac>::new_from_slice(s.validate_key.0.as_bytes())
            .map_err(|_| invalid("validate_key cannot key HMAC-SHA1"))?;
        // Without Secure, the deletion also reaches a browser over plain HTTP (where a Secure
        // cookie cannot be set) and still replaces a Secure cookie over HTTPS; only a prefixed
        // name demands it.
        let lower = s.cookie_name.to_ascii_lowercase();
        let prefixed = lower.starts_with("__secure-") || lower.starts_with("__host-");
        let mut policy = CookiePolicy::builder(s.cookie_name.clone())
            .path(s.path.clone())
            .secure(prefixed);
        if let Some(domain) = &s.domain {
            policy = policy.domain(domain.clone());
        }
        let deletion = policy.build().map_err(|e| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("beaker: cookie_name, path or domain: {}", e.message()),
            )
        })?;
        Ok(BeakerReader {
            mac,
            validate_key: Zeroizing::new(s.validate_key.0.as_bytes().to_vec()),
            encrypt,
            timeout: s.timeout,
            codec: self.codec,
            deletion,
        })
    }
}

#[derive(Clone)]
struct Encryption {
    password: Zeroizing<Vec<u8>>,
    crypto: BeakerCrypto,
}

/// Reads Beaker `CookieSession` cookies (JSON serializer only). See the [module docs](self).
///
/// Cheap to share: reading takes `&self`; a clone copies the (zeroized) keys.
#[derive(Clone)]
pub struct BeakerReader {
    /// HMAC-SHA1 keyed with `validate_key`, its pads computed once.
    mac: HmacSha1,
    /// Also part of every PBKDF2 salt.
    validate_key: Zeroizing<Vec<u8>>,
    encrypt: Option<Encryption>,
    timeout: Option<u64>,
    codec: Codec,
    deletion: CookiePolicy,
}

impl fmt::Debug for BeakerReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BeakerReader")
            .field("validate_key", &"<redacted>")
            .field("encrypt_key", &self.encrypt.as_ref().map(|_| "<redacted>"))
            .field("crypto", &self.encrypt.as_ref().map(|e| e.crypto))
            .field("cookie_name", &self.deletion.name())
            .field("timeout", &self.timeout)
            .field("codec", &self.codec)
            .finish()
    }
}

/// Why a legacy cookie did not open. Each one means "no legacy session": the request goes on
/// as one without a session, and the legacy cookie should still be deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LegacyRejection {
    /// Longer than [`MAX_LEGACY_COOKIE_LEN`]; not decoded at all.
    TooLarge,
    /// Not `<40 lowercase hex digits><payload>`, or a payload that is not Beaker's base64 (or
    /// too short for its nonce, IV and tag). Everything but the first shape check happens after
    /// the signature verified.
    Malformed,
    /// The HMAC-SHA1 does not match: tampered, or signed with another `validate_key`.
    BadSignature,
    /// The AES-GCM tag does not match (`cryptography` backend): another `encrypt_key`.
    BadTag,
    /// A pickle (Beaker's default serializer), refused unread: only JSON is ever decoded.
    Pickle,
    /// The zlib stream inflates past the codec's byte limit; inflating stopped there.
    ZlibBound,
    /// Not a zlib stream of a JSON object within the codec's limits, or Beaker's own keys are
    /// missing or of the wrong type (also what a wrong `encrypt_key` gives with `pycryptodome`).
    Decode,
    /// Older than the configured legacy `timeout`, counted from `_accessed_time`.
    Expired,
}

impl LegacyRejection {
    /// Every variant, in the order the checks run.
    pub const ALL: [LegacyRejection; 8] = [
        LegacyRejection::TooLarge,
        LegacyRejection::Malformed,
        LegacyRejection::BadSignature,
        LegacyRejection::BadTag,
        LegacyRejection::Pickle,
        LegacyRejection::ZlibBound,
        LegacyRejection::Decode,
        LegacyRejection::Expired,
    ];

    /// A short, stable reason code for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            LegacyRejection::TooLarge => "too_large",
            LegacyRejection::Malformed => "malformed",
            LegacyRejection::BadSignature => "bad_signature",
            LegacyRejection::BadTag => "bad_tag",
            LegacyRejection::Pickle => "pickle",
            LegacyRejection::ZlibBound => "zlib_bound",
            LegacyRejection::Decode => "decode",
            LegacyRejection::Expired => "expired",
        }
    }

    /// The inverse of [`as_str`](Self::as_str).
    pub fn from_code(code: &str) -> Option<LegacyRejection> {
        LegacyRejection::ALL
            .into_iter()
            .find(|r| r.as_str() == code)
    }
}

impl fmt::Display for LegacyRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for LegacyRejection {}

/// A Beaker session that verified: the application's entries and Beaker's times.
#[derive(Clone, PartialEq)]
pub struct LegacySession {
    entries: Map<String, Value>,
    created: UnixTime,
    accessed: UnixTime,
    expires: Option<UnixTime>,
    cookie_path: Option<String>,
    cookie_domain: Option<String>,
}

impl fmt::Debug for LegacySession {
    /// Entries are user data: only their keys are printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacySession")
            .field("keys", &self.entries.keys().collect::<Vec<_>>())
            .field("created", &self.created)
            .field("accessed", &self.accessed)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl LegacySession {
    /// The application's entries, without Beaker's own keys (`_id`, `_creation_time`,
    /// `_accessed_time`, `_domain`, `_path`, `_expires`).
    pub fn entries(&self) -> &Map<String, Value> {
        &self.entries
    }

    /// The entries, by value (to become the new session's data).
    pub fn into_entries(self) -> Map<String, Value> {
        self.entries
    }

    /// `_creation_time`, whole seconds (rounded down).
    pub fn created(&self) -> UnixTime {
        self.created
    }

    /// `_accessed_time`, whole seconds (rounded down): when Beaker last wrote the cookie.
    pub fn accessed(&self) -> UnixTime {
        self.accessed
    }

    /// When the legacy `timeout` ends this session (`accessed + timeout`), if one is set.
    pub fn expires(&self) -> Option<UnixTime> {
        self.expires
    }

    /// The `_path` Beaker recorded in the payload (the Path it set the cookie with), if any.
    pub fn cookie_path(&self) -> Option<&str> {
        self.cookie_path.as_deref()
    }

    /// The `_domain` Beaker recorded in the payload (`null` unless a Domain was set).
    pub fn cookie_domain(&self) -> Option<&str> {
        self.cookie_domain.as_deref()
    }
}

impl BeakerReader {
    /// A builder with the given `beaker.session.validate_key` and Beaker's defaults for the rest.
    pub fn builder(validate_key: impl Into<String>) -> BeakerReaderBuilder {
        BeakerReaderBuilder {
            settings: BeakerSettings::new(validate_key),
            codec: Codec::new(),
        }
    }

    /// A reader from deserialized settings, with the default [`Codec`].
    ///
    /// # Errors
    /// As [`BeakerReaderBuilder::build`].
    pub fn from_settings(settings: BeakerSettings) -> Result<Self, Error> {
        BeakerReaderBuilder {
            settings,
            codec: Codec::new(),
        }
        .build()
    }

    /// The legacy cookie's name, to look it up in the request.
    pub fn cookie_name(&self) -> &str {
        self.deletion.name()
    }

    /// The attributes of the legacy cookie (name, Path, Domain), for rendering its deletion
    /// with [`CookiePolicy::render_removal`].
    pub fn deletion_cookie_attributes(&self) -> &CookiePolicy {
        &self.deletion
    }

    /// The `Set-Cookie` value that deletes the legacy cookie: empty, `Max-Age=0`, an `Expires`
    /// in the past, with the configured Path and Domain (a browser only replaces a cookie with
    /// the same name, Path and Domain), and without `Secure` unless the name's `__Secure-` or
    /// `__Host-` prefix requires it, so that it also works on plain HTTP.
    pub fn deletion_cookie(&self) -> String {
        self.deletion.render_removal(self.deletion.name())
    }

    /// [`read_at`](Self::read_at) with the system clock.
    ///
    /// # Errors
    /// As [`read_at`](Self::read_at).
    pub fn read(&self, cookie_value: &str) -> Result<LegacySession, LegacyRejection> {
        self.read_at(UnixTime::now(), cookie_value)
    }

    /// Read one Beaker cookie value (what follows `name=` in the `Cookie` header) at time `now`.
    ///
    /// # Errors
    /// A [`LegacyRejection`] saying which check failed; see the [module docs](self) for the
    /// order.
    pub fn read_at(
        &self,
        now: UnixTime,
        cookie_value: &str,
    ) -> Result<LegacySession, LegacyRejection> {
        if cookie_value.len() > MAX_LEGACY_COOKIE_LEN {
            return Err(LegacyRejection::TooLarge);
        }
        // Beaker's `SignedCookie.value_decode` does `val.strip('"')`.
        let value = cookie_value.trim_matches('"');
        let (sig_hex, payload) = value
            .split_at_checked(SIG_HEX_LEN)
            .ok_or(LegacyRejection::Malformed)?;
        let sig = decode_lower_hex(sig_hex).ok_or(LegacyRejection::Malformed)?;
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| LegacyRejection::BadSignature)?;

        let plain = match &self.encrypt {
            None => base64_decode(payload)?,
            Some(enc) => self.decrypt(enc, payload)?,
        };
        let json = inflate_json(&plain, self.codec.max_bytes())?;
        let mut entries = self
            .codec
            .decode_map(&json)
            .map_err(|_| LegacyRejection::Decode)?;

        // Beaker's own keys: their types, then the timeout.
        if !matches!(entries.get("_id"), None | Some(Value::String(_))) {
            return Err(LegacyRejection::Decode);
        }
        // Up to Beaker 1.13, `true` (a session cookie in the browser); the JSON serializer
        // cannot have written anything else, and Beaker never expired a session by it.
        if !matches!(entries.get("_expires"), None | Some(Value::Bool(true))) {
            return Err(LegacyRejection::Decode);
        }
        let created = time_of(entries.get("_creation_time"))?;
        let accessed = time_of(entries.get("_accessed_time"))?;
        let cookie_path = optional_string(entries.get("_path"))?;
        let cookie_domain = optional_string(entries.get("_domain"))?;
        let mut expires = None;
        if let Some(timeout) = self.timeout {
            let timeout = Duration::from_secs(timeout);
            // Beaker: `now - _accessed_time > timeout` clears the session.
            if now.saturating_since(accessed) > timeout {
                return Err(LegacyRejection::Expired);
            }
            expires = accessed.checked_add(timeout);
        }
        for key in BEAKER_KEYS {
            entries.remove(key);
        }
        Ok(LegacySession {
            entries,
            created,
            accessed,
            expires,
            cookie_path,
            cookie_domain,
        })
    }

    /// Write `serialized` (the serializer's output, uncompressed pickle or zlib'd JSON) as
    /// Beaker would, with the given nonce (24 base64 characters) and GCM IV, under this reader's
    /// keys and backend.
    ///
    /// **For fuzzing and test vectors only** (feature `test-vectors`): the reader exists to
    /// stop using Beaker's format, never to write it, and a fixed IV repeats GCM nonces.
    #[cfg(feature = "test-vectors")]
    #[doc(hidden)]
    pub fn write_for_vectors(
        &self,
        serialized: &[u8],
        nonce: &str,
        iv: [u8; GCM_IV_LEN],
    ) -> String {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let payload = match &self.encrypt {
            None => b64(serialized),
            Some(enc) => {
                let mut salt = Zeroizing::new(self.validate_key.to_vec());
                salt.extend_from_slice(nonce.as_bytes());
                let mut key = Zeroizing::new([0u8; 32]);
                pbkdf2::pbkdf2_hmac::<Sha1>(&enc.password, &salt, PBKDF2_ROUNDS, &mut *key);
                let mut data = serialized.to_vec();
                let body = match enc.crypto {
                    BeakerCrypto::Cryptography => {
                        let tag = Aes256Gcm::new(&(*key).into())
                            .encrypt_in_place_detached(&iv.into(), b"", &mut data)
                            .map(|t| t.to_vec())
                            .unwrap_or_default();
                        [&iv[..], &tag[..], &data[..]].concat()
                    }
                    BeakerCrypto::Pycryptodome => {
                        Aes256Ctr::new(&(*key).into(), &[0u8; 16].into())
                            .apply_keystream(&mut data);
                        data
                    }
                };
                format!("{nonce}{}", b64(&body))
            }
        };
        signed_value(self.mac.clone(), &payload)
    }

    fn decrypt(&self, enc: &Encryption, payload: &str) -> Result<Vec<u8>, LegacyRejection> {
        let (nonce, body) = payload
            .split_at_checked(NONCE_B64_LEN)
            .ok_or(LegacyRejection::Malformed)?;
        let mut salt = Zeroizing::new(Vec::with_capacity(self.validate_key.len() + nonce.len()));
        salt.extend_from_slice(&self.validate_key);
        salt.extend_from_slice(nonce.as_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        pbkdf2::pbkdf2_hmac::<Sha1>(&enc.password, &salt, PBKDF2_ROUNDS, &mut *key);
        let mut data = base64_decode(body)?;
        match enc.crypto {
            BeakerCrypto::Cryptography => {
                if data.len() < GCM_IV_LEN + GCM_TAG_LEN {
                    return Err(LegacyRejection::Malformed);
                }
                let mut ciphertext = data.split_off(GCM_IV_LEN + GCM_TAG_LEN);
                let iv: [u8; GCM_IV_LEN] = data
                    .get(..GCM_IV_LEN)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(LegacyRejection::Malformed)?;
                let tag: [u8; GCM_TAG_LEN] = data
                    .get(GCM_IV_LEN..)
                    .and_then(|s| s.try_into().ok())
                    .ok_or(LegacyRejection::Malformed)?;
                let cipher = Aes256Gcm::new(&(*key).into());
                cipher
                    .decrypt_in_place_detached(&iv.into(), b"", &mut ciphertext, &tag.into())
                    .map_err(|_| LegacyRejection::BadTag)?;
                Ok(ciphertext)
            }
            BeakerCrypto::Pycryptodome => {
                let mut cipher = Aes256Ctr::new(&(*key).into(), &[0u8; 16].into());
                cipher.apply_keystream(&mut data);
                Ok(data)
            }
        }
    }
}

/// Exactly 40 lowercase hex digits (what `hexdigest()` writes; Beaker compares them as text,
/// so uppercase never matched there either).
fn decode_lower_hex(s: &str) -> Option<[u8; SIG_HEX_LEN / 2]> {
    let mut out = [0u8; SIG_HEX_LEN / 2];
    let digits = s.as_bytes();
    if digits.len() != SIG_HEX_LEN {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let mut v = 0u8;
        for &d in pair {
            let n = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                _ => return None,
            };
            v = (v << 4) | n;
        }
        *byte = v;
    }
    Some(out)
}

fn base64_decode(s: &str) -> Result<Vec<u8>, LegacyRejection> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| LegacyRejection::Malformed)
}

/// Refuse a pickle unread, then inflate a zlib stream into at most `limit` bytes.
///
/// The output buffer starts small and doubles up to `limit`, never past it: a stream that wants
/// more stops with [`LegacyRejection::ZlibBound`], so a bomb costs `limit` bytes of memory and
/// the work of producing them. Truncated streams, bad checksums and trailing bytes (Beaker never
/// writes any) are [`LegacyRejection::Decode`].
fn inflate_json(data: &[u8], limit: usize) -> Result<Vec<u8>, LegacyRejection> {
    match data.first() {
        Some(&PICKLE_PROTO) => return Err(LegacyRejection::Pickle),
        None => return Err(LegacyRejection::Decode),
        Some(_) => {}
    }
    let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
        | inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    let mut state = Box::<DecompressorOxide>::default();
    let mut out = vec![0u8; data.len().saturating_mul(4).min(limit)];
    let mut in_pos = 0usize;
    let mut out_pos = 0usize;
    loop {
        let input = data.get(in_pos..).ok_or(LegacyRejection::Decode)?;
        let (status, read, written) = decompress(&mut state, input, &mut out, out_pos, flags);
        in_pos = in_pos.saturating_add(read);
        out_pos = out_pos.saturating_add(written);
        match status {
            TINFLStatus::Done => {
                if in_pos != data.len() {
                    return Err(LegacyRejection::Decode);
                }
                out.truncate(out_pos);
                return Ok(out);
            }
            TINFLStatus::HasMoreOutput => {
                if out.len() >= limit {
                    return Err(LegacyRejection::ZlibBound);
                }
                let grown = out.len().saturating_mul(2).max(64).min(limit);
                out.resize(grown, 0);
            }
            _ => return Err(LegacyRejection::Decode),
        }
    }
}

/// A Beaker time (`time.time()`, a float) as whole seconds; required.
fn time_of(value: Option<&Value>) -> Result<UnixTime, LegacyRejection> {
    let secs = value
        .and_then(Value::as_f64)
        .ok_or(LegacyRejection::Decode)?;
    // Beyond 2^53 a float second is no longer exact; no Beaker ever wrote such a time.
    if !(0.0..=9_007_199_254_740_992.0).contains(&secs) {
        return Err(LegacyRejection::Decode);
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "checked above: finite, non-negative, below 2^53"
    )]
    let whole = secs.floor() as u64;
    Ok(UnixTime::from_secs(whole))
}

fn optional_string(value: Option<&Value>) -> Result<Option<String>, LegacyRejection> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(LegacyRejection::Decode),
    }
}

/// `<hex HMAC-SHA1(payload)><payload>`, as Beaker's `SignedCookie.value_encode` writes it.
#[cfg(any(test, feature = "test-vectors"))]
fn signed_value(mut mac: HmacSha1, payload: &str) -> String {
    mac.update(payload.as_bytes());
    let sig: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{sig}{payload}")
}

#[cfg(test)]
mod tests;
