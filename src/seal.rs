//! Sealing and opening tokens: the signed and encrypted modes over the v1 envelope.
//!
//! A [`Sealer`] is built once per cookie (name and purpose are bound into every tag) and shared.
//! It seals with the ring's primary key and opens with whichever key the token names, after one
//! lookup. Opening follows a fixed order and returns either the value with its metadata and a
//! re-seal hint, or the [`Rejection`] that stopped it:
//!
//! 1. longer than the maximum: [`TooLarge`](Rejection::TooLarge), before decoding;
//! 2. not strict base64url without padding, or shorter than its mode's minimum:
//!    [`Malformed`](Rejection::Malformed);
//! 3. unknown version byte, or a mode this opener does not accept:
//!    [`UnsupportedVersion`](Rejection::UnsupportedVersion);
//! 4. no key with the token's id: [`UnknownKey`](Rejection::UnknownKey);
//! 5. tag or decryption fails (constant-time): [`BadTag`](Rejection::BadTag); nothing before
//!    this step reads the timestamps, flags or payload;
//! 6. time policy on the authenticated timestamps: [`NotYetValid`](Rejection::NotYetValid),
//!    [`Expired`](Rejection::Expired), [`Revoked`](Rejection::Revoked),
//!    [`IdleTimeout`](Rejection::IdleTimeout), in that order;
//! 7. codec: flags, size, depth, JSON into the requested type: [`Decode`](Rejection::Decode).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use base64_simd::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::clock::{Clock, UnixTime};
use crate::codec::{Codec, CODEC_JSON};
use crate::envelope::{self, le64, Mode, SplitError, Timestamps};
use crate::error::{Error, ErrorKind, Rejection};
use crate::keys::{KeyId, KeyRing, RingKey};

/// The metadata of an opened token (all of it authenticated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenMeta {
    mode: Mode,
    key_id: KeyId,
    times: Timestamps,
}

impl TokenMeta {
    /// The mode the token was sealed in.
    pub fn mode(&self) -> Mode {
        self.mode
    }
    /// The id of the key that sealed it.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }
    /// When the session was created (kept across re-seals).
    pub fn created(&self) -> UnixTime {
        self.times.created
    }
    /// When this token was sealed.
    pub fn issued(&self) -> UnixTime {
        self.times.issued
    }
    /// The absolute expiry (kept across re-seals).
    pub fn expires(&self) -> UnixTime {
        self.times.expires
    }
    /// All three timestamps.
    pub fn times(&self) -> Timestamps {
        self.times
    }
}

/// Why an opened token should be sealed again before the response goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reseal {
    /// Sealed under a key that no longer seals (an older key, or the primary a pending key has
    /// replaced).
    RotatedKey,
    /// Sealed in a mode this sealer still opens but no longer seals.
    ModeChanged,
    /// Issued long enough ago that the configured refresh point has passed (rolling refresh).
    Refresh,
}

/// A token that opened: the value, its metadata, and whether to re-seal it.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened<T> {
    value: T,
    meta: TokenMeta,
    reseal: Option<Reseal>,
}

/// A sealed token before its base64url: written by the caller straight into the text that
/// carries it (a `Set-Cookie` value), with no intermediate string.
pub(crate) struct Sealed {
    bytes: Vec<u8>,
}

impl Sealed {
    /// The length of the token in characters.
    pub(crate) fn encoded_len(&self) -> usize {
        URL_SAFE_NO_PAD.encoded_length(self.bytes.len())
    }

    /// Append the token (base64url, no padding) to `out`.
    pub(crate) fn encode_into(&self, out: &mut String) {
        URL_SAFE_NO_PAD.encode_append(&self.bytes, out);
    }

    /// The token as a string.
    pub(crate) fn to_token(&self) -> String {
        URL_SAFE_NO_PAD.encode_to_string(&self.bytes)
    }
}

impl Reseal {
    /// A short, stable code for logs and test vectors.
    pub fn as_str(self) -> &'static str {
        match self {
            Reseal::RotatedKey => "rotated_key",
            Reseal::ModeChanged => "mode_changed",
            Reseal::Refresh => "refresh",
        }
    }
}

impl fmt::Display for Reseal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<T> Opened<T> {
    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }
    /// The value, by move.
    pub fn into_value(self) -> T {
        self.value
    }
    /// The token's metadata.
    pub fn meta(&self) -> &TokenMeta {
        &self.meta
    }
    /// Whether (and why) to re-seal with [`Sealer::reseal_at`].
    pub fn reseal(&self) -> Option<Reseal> {
        self.reseal
    }
    /// Split into value and metadata.
    pub fn into_parts(self) -> (T, TokenMeta, Option<Reseal>) {
        (self.value, self.meta, self.reseal)
    }
}

struct Inner {
    /// Swappable at runtime (key rotation without a restart); a load is a few atomic operations.
    ring: ArcSwap<KeyRing>,
    mode: Mode,
    /// Bit `1 << (version_byte & 0x0f)` for each mode that opens.
    accepts: u32,
    name: String,
    purpose: String,
    /// `le64(4) || le64(|label|) || label`: the AEAD associated data before the header.
    aad_prefix: Vec<u8>,
    /// `le64(5) || le64(|label|) || label`: the HMAC input before the header.
    mac_prefix: Vec<u8>,
    /// `le64(|name|) || name || le64(|purpose|) || purpose`: what follows in both.
    context_suffix: Vec<u8>,
    lifetime: Duration,
    /// The longest absolute lifetime a token may carry ("remember me"); at least `lifetime`.
    max_lifetime: Duration,
    idle_timeout: Option<Duration>,
    refresh_after: Option<Duration>,
    leeway: Duration,
    max_token_len: usize,
    codec: Codec,
    clock: Arc<dyn Clock>,
}

/// Seals values into tokens and opens them, for one cookie name and purpose. Cheap to clone.
///
/// ```
/// use sealed_session::{KeyRing, Sealer, UnixTime};
/// use serde_json::json;
///
/// let sealer = Sealer::builder(KeyRing::generate(), "id").build()?;
/// let now = UnixTime::from_secs(1_700_000_000);
/// let token = sealer.seal_at(now, &json!({"user": "ann"}))?;
///
/// let opened = sealer.open_at::<serde_json::Value>(now, &token).expect("opens");
/// assert_eq!(opened.value()["user"], "ann");
/// assert_eq!(opened.meta().created(), now);
///
/// // The same token under another cookie name does not open.
/// let other = Sealer::builder(KeyRing::generate(), "other").build()?;
/// assert!(other.open_at::<serde_json::Value>(now, &token).is_err());
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone)]
pub struct Sealer {
    inner: Arc<Inner>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Sealer")
            .field("ring", &**i.ring.load())
            .field("mode", &i.mode)
            .field(
                "also_opens",
                &Mode::ALL
                    .into_iter()
                    .filter(|m| *m != i.mode && i.accepts & mode_bit(*m) != 0)
                    .collect::<Vec<_>>(),
            )
            .field("cookie_name", &i.name)
            .field("purpose", &i.purpose)
            .field("lifetime", &i.lifetime)
            .field("idle_timeout", &i.idle_timeout)
            .field("refresh_after", &i.refresh_after)
            .field("leeway", &i.leeway)
            .field("max_token_len", &i.max_token_len)
            .field("codec", &i.codec)
            .finish()
    }
}

mod builder;
pub use builder::SealerBuilder;

fn mode_bit(m: Mode) -> u32 {
    1u32 << (m.version_byte() & 0x0f)
}

impl Sealer {
    /// The key ring.
    pub fn ring(&self) -> KeyRing {
        KeyRing::clone(&self.inner.ring.load())
    }

    /// Replace the key ring, for every clone of this sealer at once. Requests already opening or
    /// sealing finish with the ring they started with; none is dropped. Use it to rotate keys
    /// without a restart. The AES-256-GCM seal count of a key kept in the new ring continues:
    /// counts follow the secret, not the ring (see [`KeyRing::aes_gcm_seals`]).
    pub fn set_ring(&self, ring: KeyRing) {
        self.inner.ring.store(Arc::new(ring));
    }
    /// The sealing mode.
    pub fn mode(&self) -> Mode {
        self.inner.mode
    }
    /// Every mode this sealer opens (its own and `also_open`'s), for a sealer built beside it.
    pub(crate) fn accepted_modes(&self) -> Vec<Mode> {
        Mode::ALL
            .iter()
            .copied()
            .filter(|m| self.inner.accepts & mode_bit(*m) != 0)
            .collect()
    }
    /// The clock, shared with a sealer built beside it.
    pub(crate) fn clock_arc(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.inner.clock)
    }
    /// The cookie name bound into tokens.
    pub fn cookie_name(&self) -> &str {
        &self.inner.name
    }
    /// The purpose bound into tokens.
    pub fn purpose(&self) -> &str {
        &self.inner.purpose
    }
    /// The absolute lifetime.
    pub fn lifetime(&self) -> Duration {
        self.inner.lifetime
    }
    /// The longest absolute lifetime one session may be given (see
    /// [`SealerBuilder::max_lifetime`]).
    pub fn max_lifetime(&self) -> Duration {
        self.inner.max_lifetime
    }
    /// The idle timeout, if any.
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.inner.idle_timeout
    }

    /// The age (since `issued`) after which an opened token is hinted for a rolling refresh.
    pub fn refresh_after(&self) -> Option<Duration> {
        self.inner.refresh_after
    }

    /// The clock leeway for `issued` times in the future.
    pub fn leeway(&self) -> Duration {
        self.inner.leeway
    }
    /// The codec.
    pub fn codec(&self) -> &Codec {
        &self.inner.codec
    }
    /// The longest token accepted or produced.
    pub fn max_token_len(&self) -> usize {
        self.inner.max_token_len
    }
    /// The current time by this sealer's clock.
    pub fn now(&self) -> UnixTime {
        self.inner.clock.now()
    }

    /// Seal a new session at the clock's time. See [`seal_at`](Self::seal_at).
    ///
    /// # Errors
    /// As [`seal_at`](Self::seal_at).
    pub fn seal<T: Serialize + ?Sized>(&self, value: &T) -> Result<String, Error> {
        self.seal_at(self.now(), value)
    }

    /// Seal a new session at `now`: created and issued now, expiring after the lifetime.
    ///
    /// # Errors
    /// [`ErrorKind::PayloadTooLarge`] / [`ErrorKind::PayloadTooDeep`] / [`ErrorKind::Codec`] if
    /// the value breaks the codec's limits or the token would exceed the maximum length;
    /// [`ErrorKind::TimeOverflow`] if `now + lifetime` overflows; [`ErrorKind::NonceLimit`] for
    /// an AES-256-GCM key past 2^32 seals.
    pub fn seal_at<T: Serialize + ?Sized>(
        &self,
        now: UnixTime,
        value: &T,
    ) -> Result<String, Error> {
        let expires = now
            .checked_add(self.inner.lifetime)
            .ok_or_else(|| Error::new(ErrorKind::TimeOverflow, "now + lifetime overflows"))?;
        let times = Timestamps {
            created: now,
            issued: now,
            expires,
        };
        self.seal_times(now, &times, value)
    }

    /// Seal an existing session again at `now` (after a change, a rotation or for a rolling
    /// refresh): `created` and `expires` are kept from `previous`, only `issued` moves, and the
    /// primary key and a fresh nonce are used.
    ///
    /// `issued` never moves backwards: it becomes `max(now, previous issued, previous created)`.
    /// A session created or last sealed on a node whose clock is ahead (within the leeway) and
    /// re-sealed on one that is behind therefore keeps `created ≤ issued`, and opens on both.
    ///
    /// # Errors
    /// As [`seal_at`](Self::seal_at).
    pub fn reseal_at<T: Serialize + ?Sized>(
        &self,
        now: UnixTime,
        value: &T,
        previous: &TokenMeta,
    ) -> Result<String, Error> {
        let times = Timestamps {
            created: previous.created(),
            issued: now.max(previous.issued()).max(previous.created()),
            expires: previous.expires(),
        };
        self.seal_times(now, &times, value)
    }

    /// Seal a session: fresh (`previous` is `None`) or re-sealed, with the default expiry or,
    /// when `lifetime` is given, `created + lifetime` capped at the maximum lifetime ("remember
    /// me"). Returns the token and its expiry.
    pub(crate) fn seal_session_at(
        &self,
        now: UnixTime,
        write_payload: impl FnOnce(&mut Vec<u8>, &Codec) -> Result<(), Error>,
        previous: Option<&TokenMeta>,
        lifetime: Option<std::time::Duration>,
    ) -> Result<(Sealed, UnixTime), Error> {
        let overflow = || Error::new(ErrorKind::TimeOverflow, "created + lifetime overflows");
        let created = previous.map_or(now, TokenMeta::created);
        let expires = match (lifetime, previous) {
            (Some(d), _) => created
                .checked_add(d.min(self.inner.max_lifetime))
                .ok_or_else(overflow)?,
            (None, Some(meta)) => meta.expires(),
            (None, None) => created
                .checked_add(self.inner.lifetime)
                .ok_or_else(overflow)?,
        };
        let issued = previous.map_or(now, |m| now.max(m.issued()).max(m.created()));
        let times = Timestamps {
            created,
            issued,
            expires,
        };
        let codec = &self.inner.codec;
        self.seal_bytes(now, &times, |buf| write_payload(buf, codec))
            .map(|bytes| (Sealed { bytes }, expires))
    }

    fn seal_times<T: Serialize + ?Sized>(
        &self,
        now: UnixTime,
        times: &Timestamps,
        value: &T,
    ) -> Result<String, Error> {
        let codec = &self.inner.codec;
        self.seal_bytes(now, times, |buf| codec.encode_into(buf, value))
            .map(|bytes| URL_SAFE_NO_PAD.encode_to_string(bytes))
    }

    /// The token's bytes, before base64url.
    fn seal_bytes(
        &self,
        now: UnixTime,
        times: &Timestamps,
        write_payload: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
    ) -> Result<Vec<u8>, Error> {
        let mut nonce = [0u8; 24];
        let nonce = nonce
            .get_mut(..self.inner.mode.nonce_len())
            .unwrap_or_default();
        rand::thread_rng().fill_bytes(nonce);
        // The JSON is written straight after the envelope's fixed part, in the buffer that is
        // then encrypted in place: no separate payload buffer, no copy.
        self.seal_envelope(now, times, CODEC_JSON, nonce, write_payload)
    }

    /// Seal an arbitrary envelope with a caller-chosen nonce and flags, skipping the codec.
    ///
    /// **For producing test vectors only** (feature `test-vectors`): a repeated nonce destroys
    /// AES-256-GCM's confidentiality and authenticity, and a payload that skipped the codec may
    /// not open.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] if the nonce has the wrong length for the mode; otherwise as
    /// [`seal_at`](Self::seal_at).
    #[cfg(feature = "test-vectors")]
    pub fn seal_raw_for_vectors(
        &self,
        now: UnixTime,
        times: &Timestamps,
        flags: u8,
        payload: &[u8],
        nonce: &[u8],
    ) -> Result<String, Error> {
        if nonce.len() != self.inner.mode.nonce_len() {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                "the nonce length does not match the mode",
            ));
        }
        self.seal_envelope(now, times, flags, nonce, |buf| {
            buf.extend_from_slice(payload);
            Ok(())
        })
        .map(|bytes| URL_SAFE_NO_PAD.encode_to_string(bytes))
    }

    /// Seal `header || envelope || tag`, the payload appended to the buffer by `write_payload`
    /// (the codec, or the raw bytes of a vector).
    fn seal_envelope(
        &self,
        now: UnixTime,
        times: &Timestamps,
        flags: u8,
        nonce: &[u8],
        write_payload: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
    ) -> Result<Vec<u8>, Error> {
        let inner = &*self.inner;
        let mode = inner.mode;
        let mut buf = Vec::with_capacity(mode.overhead().saturating_add(256));
        // The key id is written once the key is known, after the payload: the codec's and the
        // size's errors come first, as they always have.
        envelope::write_header(&mut buf, mode, 0, nonce);
        let header_len = buf.len();
        envelope::write_envelope(&mut buf, flags, times, &[]);
        let payload_start = buf.len();
        write_payload(&mut buf)?;
        let encoded_len = mode.encoded_len(buf.len().saturating_sub(payload_start));
        if encoded_len > inner.max_token_len {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "the token would be {encoded_len} characters; the limit is {}",
                    inner.max_token_len
                ),
            ));
        }
        let ring = inner.ring.load();
        let key = ring
            .primary_at(now)
            .ok_or_else(|| Error::new(ErrorKind::InvalidKeyRing, "the ring has no primary"))?;
        envelope::set_kid(&mut buf, key.id.get());
        // Room for the tag without growing the buffer again.
        buf.reserve_exact(32);
        let (header, body) = buf.split_at_mut(header_len);
        let crypto_err = |_| Error::new(ErrorKind::Crypto, "encryption failed");
        match key.aead(mode) {
            None => {
                let lens = [le64(header.len()), le64(body.len())];
                let tag = key.hmac.sign(&self.mac_input(header, body, &lens));
                buf.extend_from_slice(&tag);
            }
            Some(aead) => {
                if mode == Mode::Aes256Gcm && !key.count_aes_gcm_seal() {
                    return Err(Error::new(
                        ErrorKind::NonceLimit,
                        "this AES-256-GCM key has sealed 2^32 tokens; rotate the key",
                    ));
                }
                let tag = self
                    .with_aad(header, |aad| aead.encrypt_in_place(nonce, aad, body))
                    .map_err(crypto_err)?;
                buf.extend_from_slice(&tag);
            }
        }
        Ok(buf)
    }

    /// The HMAC input `PAE[label, header, envelope, name, purpose]` as the slices fed in order
    /// (prefix and suffix precomputed, nothing copied); `lens` holds the two length prefixes.
    fn mac_input<'a>(
        &'a self,
        header: &'a [u8],
        envelope: &'a [u8],
        lens: &'a [[u8; 8]; 2],
    ) -> [&'a [u8]; 6] {
        let [header_len, envelope_len] = lens;
        [
            &self.inner.mac_prefix,
            header_len,
            header,
            envelope_len,
            envelope,
            &self.inner.context_suffix,
        ]
    }

    /// Call `f` with `PAE[label, header, name, purpose]`, assembled on the stack when it fits
    /// (it does for any cookie name and purpose under about 180 bytes together).
    fn with_aad<R>(&self, header: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
        let i = &self.inner;
        let header_len = le64(header.len());
        let parts: [&[u8]; 4] = [&i.aad_prefix, &header_len, header, &i.context_suffix];
        let len = parts.iter().map(|p| p.len()).sum::<usize>();
        let mut stack = [0u8; 256];
        let mut heap = Vec::new();
        let aad: &mut [u8] = match stack.get_mut(..len) {
            Some(aad) => aad,
            None => {
                heap.resize(len, 0);
                &mut heap
            }
        };
        let mut at = 0usize;
        for part in parts {
            let end = at.saturating_add(part.len());
            if let Some(dst) = aad.get_mut(at..end) {
                dst.copy_from_slice(part);
            }
            at = end;
        }
        f(aad)
    }

    /// Open a token at the clock's time. See [`open_at`](Self::open_at).
    ///
    /// # Errors
    /// As [`open_at`](Self::open_at).
    pub fn open<T: DeserializeOwned>(&self, token: &str) -> Result<Opened<T>, Rejection> {
        self.open_at(self.now(), token)
    }

    /// Open a token at `now` into a `T` (use `serde_json::Value` for untyped data).
    ///
    /// Never panics, whatever `token` holds, and allocates at most the decoded size of a token
    /// no longer than the maximum before rejecting.
    ///
    /// # Errors
    /// The [`Rejection`] that stopped it, in the order given in the module documentation.
    pub fn open_at<T: DeserializeOwned>(
        &self,
        now: UnixTime,
        token: &str,
    ) -> Result<Opened<T>, Rejection> {
        let opened = self.open_text_at(now, token)?;
        let value: T = self
            .inner
            .codec
            .parse(&opened.value)
            .map_err(|_| Rejection::Decode)?;
        Ok(Opened {
            value,
            meta: opened.meta,
            reseal: opened.reseal,
        })
    }

    /// [`open_at`](Self::open_at) up to the payload's text, within the codec's limits but not
    /// parsed: for a caller that parses it borrowing from it (the session's entries).
    pub(crate) fn open_text_at(
        &self,
        now: UnixTime,
        token: &str,
    ) -> Result<Opened<String>, Rejection> {
        let inner = &*self.inner;
        if token.len() > inner.max_token_len {
            return Err(Rejection::TooLarge);
        }
        let mut bytes: Vec<u8> = URL_SAFE_NO_PAD
            .decode_to_vec(token)
            .map_err(|_| Rejection::Malformed)?;
        let parts = envelope::split(&mut bytes).map_err(|e| match e {
            SplitError::Short => Rejection::Malformed,
            SplitError::Version => Rejection::UnsupportedVersion,
        })?;
        if inner.accepts & mode_bit(parts.mode) == 0 {
            return Err(Rejection::UnsupportedVersion);
        }
        let key_id = KeyId::new(parts.kid);
        let ring = inner.ring.load();
        let key = ring.find(key_id).ok_or(Rejection::UnknownKey)?;
        self.verify(
            key,
            parts.mode,
            parts.header,
            parts.nonce,
            parts.body,
            parts.tag,
        )?;
        let header_len = parts.header.len();
        let mode = parts.mode;

        let env = envelope::read_envelope(parts.body).ok_or(Rejection::Malformed)?;
        let times = env.times;
        self.check_times(now, &times, &ring)?;
        if env.flags != CODEC_JSON {
            return Err(Rejection::Decode);
        }
        inner
            .codec
            .check(env.payload)
            .map_err(|_| Rejection::Decode)?;
        // The payload's place in the buffer, which becomes its text in place (no copy).
        let payload_len = env.payload.len();
        let payload_start = header_len
            .saturating_add(parts.body.len())
            .saturating_sub(payload_len);

        let reseal = if ring.is_retiring(key, now) {
            Some(Reseal::RotatedKey)
        } else if mode != inner.mode {
            Some(Reseal::ModeChanged)
        } else if inner
            .refresh_after
            .is_some_and(|after| now.saturating_since(times.issued) >= after)
        {
            Some(Reseal::Refresh)
        } else {
            None
        };
        bytes.truncate(payload_start.saturating_add(payload_len));
        bytes.drain(..payload_start.min(bytes.len()));
        let text = String::from_utf8(bytes).map_err(|_| Rejection::Decode)?;
        Ok(Opened {
            value: text,
            meta: TokenMeta {
                mode,
                key_id,
                times,
            },
            reseal,
        })
    }

    /// Step 5: verify the tag, or decrypt in place, in constant time.
    fn verify(
        &self,
        key: &RingKey,
        mode: Mode,
        header: &[u8],
        nonce: &[u8],
        body: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Rejection> {
        match key.aead(mode) {
            None => {
                let lens = [le64(header.len()), le64(body.len())];
                key.hmac.verify(&self.mac_input(header, body, &lens), tag)
            }
            Some(aead) => self.with_aad(header, |aad| aead.decrypt_in_place(nonce, aad, body, tag)),
        }
        .map_err(|_| Rejection::BadTag)
    }

    /// Step 6: the time policy, on authenticated timestamps, with checked arithmetic.
    fn check_times(&self, now: UnixTime, t: &Timestamps, ring: &KeyRing) -> Result<(), Rejection> {
        let inner = &*self.inner;
        let latest_ok = now
            .checked_add(inner.leeway)
            .unwrap_or(UnixTime::from_secs(u64::MAX));
        if t.issued > latest_ok || t.created > t.issued {
            return Err(Rejection::NotYetValid);
        }
        if now >= t.expires {
            return Err(Rejection::Expired);
        }
        match t.created.checked_add(inner.max_lifetime) {
            Some(deadline) if now < deadline => {}
            _ => return Err(Rejection::Expired),
        }
        if ring
            .revoke_before()
            .is_some_and(|cutoff| t.created < cutoff)
        {
            return Err(Rejection::Revoked);
        }
        if let Some(idle) = inner.idle_timeout {
            match t.issued.checked_add(idle) {
                Some(deadline) if now < deadline => {}
                _ => return Err(Rejection::IdleTimeout),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
