//! Fixtures shared by the integration tests and the fuzz harness: the fixed clock, deterministic
//! keys, test sealers, an independent strict base64url codec and the rejection oracle (what the
//! documented opening order predicts for a token that does not open).
//!
//! Included with `#[path]` by each test that needs it (`tests/*.rs`, `tests/*/main.rs`) and by
//! `fuzz/harness.rs`, so it is compiled in the fuzz crate too: it uses only `sealed-session`,
//! `serde_json` and `std`, which both crates depend on (no `base64`, no `proptest`).
//!
//! The oracle is written without the crate's decoder on purpose: a bug shared by the crate and
//! its test would otherwise go unseen.

// Each test binary uses a part of this file; a panic here is a failed test or a fuzz finding.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "shared test fixtures: each binary uses a part, and a panic is a failed test"
)]

use std::time::Duration;

use sealed_session::{Key, KeyId, KeyRing, Mode, Rejection, Sealer, SealerBuilder, UnixTime};

/// A fixed "now" (2023-11-14T22:13:20Z).
pub const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

/// The cookie name of the test sealers.
pub const SEALER_NAME: &str = "id";

/// The absolute lifetime of the test sealers: one hour.
pub const LIFETIME: Duration = Duration::from_secs(3600);

/// `T0 + offset` seconds.
pub fn at(offset: u64) -> UnixTime {
    UnixTime::from_secs(T0.as_secs() + offset)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A deterministic, non-uniform 32-byte secret (never all one byte, for any seed). The fuzz
/// seeds committed under `fuzz/corpus/` are sealed under `secret(1)` and `secret(2)`: changing
/// the formula means regenerating them (see `tests/fuzz_corpus.rs`).
pub fn secret(seed: u8) -> Vec<u8> {
    (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(seed).rotate_left(3))
        .collect()
}

/// The key of [`secret`]`(seed)`, with its derived id.
pub fn key(seed: u8) -> Key {
    Key::try_from(&secret(seed)[..]).unwrap()
}

/// A ring whose only key is `key`, as primary.
pub fn ring_of(key: &Key) -> KeyRing {
    KeyRing::builder().primary(key.clone()).build().unwrap()
}

/// A builder for `mode` over `ring` with the test cookie name and lifetime.
pub fn sealer_builder(mode: Mode, ring: KeyRing) -> SealerBuilder {
    Sealer::builder(ring, SEALER_NAME)
        .mode(mode)
        .lifetime(LIFETIME)
}

/// A sealer for `mode` over `ring` with the test cookie name and lifetime, opening only `mode`.
pub fn sealer_in(mode: Mode, ring: KeyRing) -> Sealer {
    sealer_builder(mode, ring).build().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Strict base64url, independent of the crate's decoder
// ---------------------------------------------------------------------------------------------

/// Strict base64url without padding (RFC 4648 §5): only `A-Z a-z 0-9 - _`, no `=`, a length
/// ≡ 1 (mod 4) is invalid, and the unused low bits of the last character must be zero.
pub fn strict_base64url(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'-' => Some(62),
            b'_' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    for chunk in bytes.chunks(4) {
        let mut acc: u32 = 0;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&acc.to_be_bytes()[1..]),
            3 => {
                if acc & 0b11 != 0 {
                    return None;
                }
                out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes());
            }
            2 => {
                if acc & 0b1111 != 0 {
                    return None;
                }
                out.push((acc >> 4) as u8);
            }
            _ => unreachable!("a length of 1 mod 4 was refused above"),
        }
    }
    Some(out)
}

/// The inverse of [`strict_base64url`].
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let mut acc = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            acc |= u32::from(b) << (16 - 8 * i);
        }
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((acc >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The bytes of a token the test knows to be canonical base64url.
#[track_caller]
pub fn unb64(token: &str) -> Vec<u8> {
    strict_base64url(token).unwrap_or_else(|| panic!("not strict base64url: {token:?}"))
}

// ---------------------------------------------------------------------------------------------
// The rejection oracle
// ---------------------------------------------------------------------------------------------

/// The rejection the documented opening order (SECURITY.md, "Opening order", steps 1–4)
/// predicts for a token, or `None` when the token passes every check before the tag.
pub fn predicted_rejection(
    token: &str,
    max_len: usize,
    accepted: &[Mode],
    known: &[KeyId],
) -> Option<Rejection> {
    if token.len() > max_len {
        return Some(Rejection::TooLarge);
    }
    let Some(bytes) = strict_base64url(token) else {
        return Some(Rejection::Malformed);
    };
    predicted_for_bytes(&bytes, accepted, known)
}

/// [`predicted_rejection`] from the decoded bytes on (version, length, accepted mode, key id).
pub fn predicted_for_bytes(bytes: &[u8], accepted: &[Mode], known: &[KeyId]) -> Option<Rejection> {
    let Some(&version) = bytes.first() else {
        return Some(Rejection::Malformed);
    };
    let Some(mode) = Mode::from_version_byte(version) else {
        return Some(Rejection::UnsupportedVersion);
    };
    if bytes.len() < mode.overhead() {
        return Some(Rejection::Malformed);
    }
    if !accepted.contains(&mode) {
        return Some(Rejection::UnsupportedVersion);
    }
    let kid = KeyId::new(u32::from_be_bytes(bytes[1..5].try_into().unwrap()));
    if !known.contains(&kid) {
        return Some(Rejection::UnknownKey);
    }
    None
}

/// The rejection of a token within the size limit that is known not to open (a mutated or
/// arbitrary one): the opening order's prediction, and `BadTag` for anything that gets as far as
/// the tag.
pub fn model(token: &str, accepted: &[Mode], known: &[KeyId]) -> Rejection {
    predicted_rejection(token, usize::MAX, accepted, known).unwrap_or(Rejection::BadTag)
}

// ---------------------------------------------------------------------------------------------
// Configuration files
// ---------------------------------------------------------------------------------------------

/// The secret of `key` as a configuration file spells it (standard base64).
pub fn key_base64(key: &Key) -> String {
    key.to_base64().as_str().to_owned()
}

/// A `[[keys.key]]` section of a configuration file.
pub fn key_entry(id: u32, key: &Key, state: &str) -> String {
    format!(
        "\n[[keys.key]]\nid = \"{}\"\nsecret = \"{}\"\nstate = \"{state}\"\n",
        KeyId::new(id),
        key_base64(key)
    )
}
