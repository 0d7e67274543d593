//! The v1 wire format: byte layout, a writer, and a reader that cannot panic.
//!
//! ```text
//! token    = base64url-nopad( header || body || tag )
//! header   = ver:u8 || kid:u32be [|| nonce]          nonce: 24 bytes XChaCha, 12 bytes GCM/GCM-SIV
//! envelope = flags:u8 || created:u64be || issued:u64be || expires:u64be || payload
//! body     = envelope                                 signed mode (readable)
//!          = AEAD-encrypt(envelope)                   encrypted modes
//! tag      = HMAC-SHA256(K, PAE[label, header, envelope, name, purpose])        32 bytes
//!          = AEAD tag, AAD = PAE[label, header, name, purpose]                  16 bytes
//! ```
//!
//! SECURITY.md describes every byte; `vectors/` pins them.

use crate::clock::UnixTime;

/// The domain-separation label that starts every PAE list.
pub(crate) const LABEL: &[u8] = b"sealed-session/v1";

/// Bytes of `ver || kid`.
const VER_KID_LEN: usize = 5;
/// Bytes of `flags || created || issued || expires`.
pub(crate) const ENVELOPE_FIXED_LEN: usize = 25;

/// How a token is protected. Each mode has its own version byte and its own subkey.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// HMAC-SHA256: authenticated, **readable** by anyone holding the cookie.
    Signed,
    /// XChaCha20-Poly1305 with random 192-bit nonces: no practical nonce limit, and the fastest
    /// choice on CPUs without AES instructions.
    XChaCha20Poly1305,
    /// AES-256-GCM with random 96-bit nonces: fast, but at most 2^32 seals per key (counted; a
    /// warning from 2^31, refusal at 2^32).
    Aes256Gcm,
    /// AES-256-GCM-SIV (RFC 8452) with random 96-bit nonces: a key is derived per nonce, so the
    /// nonce limit is far beyond any deployment, and a repeated nonce reveals only that two
    /// sealed payloads are equal. The default, chosen by measurement (see SECURITY.md).
    #[default]
    Aes256GcmSiv,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 4] = [
        Mode::Signed,
        Mode::XChaCha20Poly1305,
        Mode::Aes256Gcm,
        Mode::Aes256GcmSiv,
    ];

    /// The version byte: high nibble the wire version (1), low nibble the mode.
    pub const fn version_byte(self) -> u8 {
        match self {
            Mode::Signed => 0x11,
            Mode::XChaCha20Poly1305 => 0x12,
            Mode::Aes256Gcm => 0x13,
            Mode::Aes256GcmSiv => 0x14,
        }
    }

    /// The mode a version byte names, if any.
    pub const fn from_version_byte(b: u8) -> Option<Mode> {
        match b {
            0x11 => Some(Mode::Signed),
            0x12 => Some(Mode::XChaCha20Poly1305),
            0x13 => Some(Mode::Aes256Gcm),
            0x14 => Some(Mode::Aes256GcmSiv),
            _ => None,
        }
    }

    /// A stable name, as used in vectors and configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Signed => "signed-hmac-sha256",
            Mode::XChaCha20Poly1305 => "xchacha20poly1305",
            Mode::Aes256Gcm => "aes-256-gcm",
            Mode::Aes256GcmSiv => "aes-256-gcm-siv",
        }
    }

    /// The inverse of [`as_str`](Mode::as_str).
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// Whether the body is encrypted (otherwise it is readable).
    pub const fn is_encrypted(self) -> bool {
        !matches!(self, Mode::Signed)
    }

    /// Nonce bytes in the header.
    pub const fn nonce_len(self) -> usize {
        match self {
            Mode::Signed => 0,
            Mode::XChaCha20Poly1305 => 24,
            Mode::Aes256Gcm | Mode::Aes256GcmSiv => 12,
        }
    }

    /// Tag bytes at the end.
    pub const fn tag_len(self) -> usize {
        match self {
            Mode::Signed => 32,
            _ => 16,
        }
    }

    /// Header bytes: version, key id, nonce.
    pub const fn header_len(self) -> usize {
        VER_KID_LEN + self.nonce_len()
    }

    /// Bytes of a token (before base64) with an empty payload: the smallest valid token.
    pub const fn overhead(self) -> usize {
        self.header_len() + ENVELOPE_FIXED_LEN + self.tag_len()
    }

    /// Characters of base64url (no padding) for a payload of `payload_len` bytes.
    pub const fn encoded_len(self, payload_len: usize) -> usize {
        let n = self.overhead() + payload_len;
        (n * 4).div_ceil(3)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated timestamps every token carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamps {
    /// When the session was first created; kept across re-seals.
    pub created: UnixTime,
    /// When this token was sealed; moves on every re-seal (drives the idle timeout).
    pub issued: UnixTime,
    /// The absolute expiry; kept across re-seals.
    pub expires: UnixTime,
}

/// A token split into its parts, borrowed from the decoded bytes. Built only by [`split`].
pub(crate) struct Parts<'a> {
    pub(crate) mode: Mode,
    pub(crate) kid: u32,
    pub(crate) header: &'a [u8],
    pub(crate) nonce: &'a [u8],
    pub(crate) body: &'a mut [u8],
    pub(crate) tag: &'a [u8],
}

/// Why [`split`] refused.
pub(crate) enum SplitError {
    Short,
    Version,
}

/// Split decoded token bytes into header, body and tag. Reads only the version byte and key id.
pub(crate) fn split(bytes: &mut [u8]) -> Result<Parts<'_>, SplitError> {
    let (&ver, _) = bytes.split_first().ok_or(SplitError::Short)?;
    let mode = Mode::from_version_byte(ver).ok_or(SplitError::Version)?;
    if bytes.len() < mode.overhead() {
        return Err(SplitError::Short);
    }
    let (header, rest) = bytes.split_at_mut(mode.header_len());
    let body_len = rest.len().saturating_sub(mode.tag_len());
    let (body, tag) = rest.split_at_mut(body_len);
    let kid_bytes: [u8; 4] = header
        .get(1..VER_KID_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(SplitError::Short)?;
    let nonce = header.get(VER_KID_LEN..).ok_or(SplitError::Short)?;
    Ok(Parts {
        mode,
        kid: u32::from_be_bytes(kid_bytes),
        header,
        nonce,
        body,
        tag,
    })
}

/// Append `ver || kid || nonce`.
pub(crate) fn write_header(out: &mut Vec<u8>, mode: Mode, kid: u32, nonce: &[u8]) {
    out.push(mode.version_byte());
    out.extend_from_slice(&kid.to_be_bytes());
    out.extend_from_slice(nonce);
}

/// Write `kid` into a header [`write_header`] started (the key is chosen after the payload is
/// encoded, so that the codec's errors come first).
pub(crate) fn set_kid(header: &mut [u8], kid: u32) {
    if let Some(at) = header.get_mut(1..VER_KID_LEN) {
        at.copy_from_slice(&kid.to_be_bytes());
    }
}

/// Append `flags || created || issued || expires || payload`.
pub(crate) fn write_envelope(out: &mut Vec<u8>, flags: u8, times: &Timestamps, payload: &[u8]) {
    out.push(flags);
    out.extend_from_slice(&times.created.as_secs().to_be_bytes());
    out.extend_from_slice(&times.issued.as_secs().to_be_bytes());
    out.extend_from_slice(&times.expires.as_secs().to_be_bytes());
    out.extend_from_slice(payload);
}

/// An envelope read back: flags, timestamps and payload.
pub(crate) struct Envelope<'a> {
    pub(crate) flags: u8,
    pub(crate) times: Timestamps,
    pub(crate) payload: &'a [u8],
}

/// Read an envelope; `None` if it is shorter than its fixed part.
pub(crate) fn read_envelope(bytes: &[u8]) -> Option<Envelope<'_>> {
    let (&flags, rest) = bytes.split_first()?;
    let (created, rest) = read_u64(rest)?;
    let (issued, rest) = read_u64(rest)?;
    let (expires, payload) = read_u64(rest)?;
    Some(Envelope {
        flags,
        times: Timestamps {
            created: UnixTime::from_secs(created),
            issued: UnixTime::from_secs(issued),
            expires: UnixTime::from_secs(expires),
        },
        payload,
    })
}

fn read_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (head, rest) = bytes.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*head), rest))
}

/// PASETO's length encoding: 64-bit little-endian with the top bit cleared.
pub(crate) fn le64(n: usize) -> [u8; 8] {
    ((n as u64) & (u64::MAX >> 1)).to_le_bytes()
}

/// Pre-authentication encoding (PASETO's PAE) of a list of byte strings: the count, then each
/// item's length and bytes, so that no two different lists encode alike. The one implementation
/// of it: the cache's entries call it whole (tokens still precompute its pieces in `seal`).
#[cfg_attr(
    not(feature = "cache"),
    allow(
        dead_code,
        reason = "called by the cache until `seal` builds its AAD with it"
    )
)]
pub(crate) fn pae(items: &[&[u8]]) -> Vec<u8> {
    let len = items
        .iter()
        .fold(8usize, |n, i| n.saturating_add(8).saturating_add(i.len()));
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&le64(items.len()));
    for item in items {
        out.extend_from_slice(&le64(item.len()));
        out.extend_from_slice(item);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::CODEC_JSON;

    #[test]
    fn pae_matches_paseto() {
        // Test cases from the PASETO specification.
        assert_eq!(pae(&[]), b"\x00\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(
            pae(&[b""]),
            b"\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
        );
        assert_eq!(
            pae(&[b"test"]),
            b"\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00test"
        );
        assert_ne!(pae(&[b"ab", b"c"]), pae(&[b"a", b"bc"]));
    }

    #[test]
    fn version_bytes_round_trip_and_unknown_bytes_are_none() {
        for m in Mode::ALL {
            assert_eq!(Mode::from_version_byte(m.version_byte()), Some(m));
            assert_eq!(Mode::from_name(m.as_str()), Some(m));
        }
        for b in [0x00, 0x10, 0x15, 0x21, 0xff] {
            assert_eq!(Mode::from_version_byte(b), None);
        }
    }

    #[test]
    fn split_never_panics_on_any_short_input() {
        for m in Mode::ALL {
            for len in 0..m.overhead() {
                let mut bytes = vec![0u8; len];
                if let Some(b) = bytes.first_mut() {
                    *b = m.version_byte();
                }
                assert!(split(&mut bytes).is_err(), "{m} {len}");
            }
            let mut bytes = vec![0u8; m.overhead()];
            bytes[0] = m.version_byte();
            let parts = split(&mut bytes).ok().unwrap();
            assert_eq!(parts.body.len(), ENVELOPE_FIXED_LEN);
            assert_eq!(parts.tag.len(), m.tag_len());
            assert_eq!(parts.nonce.len(), m.nonce_len());
        }
    }

    #[test]
    fn envelope_round_trips() {
        let t = Timestamps {
            created: UnixTime::from_secs(1),
            issued: UnixTime::from_secs(2),
            expires: UnixTime::from_secs(u64::MAX),
        };
        let mut out = Vec::new();
        write_envelope(&mut out, CODEC_JSON, &t, b"{}");
        assert_eq!(out.len(), ENVELOPE_FIXED_LEN + 2);
        let e = read_envelope(&out).unwrap();
        assert_eq!(e.flags, CODEC_JSON);
        assert_eq!(e.times, t);
        assert_eq!(e.payload, b"{}");
        for len in 0..ENVELOPE_FIXED_LEN {
            assert!(read_envelope(&out[..len]).is_none());
        }
    }

    #[test]
    fn sizes_stated_in_security_md() {
        assert_eq!(Mode::Signed.overhead(), 62);
        assert_eq!(Mode::XChaCha20Poly1305.overhead(), 70);
        assert_eq!(Mode::Aes256Gcm.overhead(), 58);
        assert_eq!(Mode::Aes256GcmSiv.overhead(), 58);
        assert_eq!(Mode::default().encoded_len(150), 278);
        assert_eq!(LABEL.len(), 17);
    }

    #[test]
    fn encoded_len_matches_base64() {
        use base64::Engine as _;
        for m in Mode::ALL {
            for p in [0usize, 1, 2, 3, 150, 1024] {
                let n = m.overhead() + p;
                let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vec![0u8; n]);
                assert_eq!(m.encoded_len(p), s.len());
            }
        }
    }
}
