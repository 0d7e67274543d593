//! Stored entries: the codec's bytes, optionally sealed, with their logical lifetimes.
//!
//! # Sealed entry layout (v1)
//!
//! ```text
//! entry  = ver:u8 || kid:u32 || nonce:[u8; 12] || ciphertext || tag:[u8; 16]
//! ver    = 0x34 (cache entry, AES-256-GCM-SIV)
//! kid    = the sealing key's id, big-endian
//! ciphertext, tag = AES-256-GCM-SIV(K_cache, nonce, plaintext = codec JSON of the value, aad)
//! aad    = PAE[ "sealed-session/v1/cache/entry", ver || kid, namespace name (UTF-8),
//!               generation (u64, big-endian), codec JSON of the key ]
//! ```
//!
//! `PAE` is the crate's pre-authentication encoding: the item count, then each item's length,
//! both as 64-bit little-endian integers, before each item's bytes. Binding the namespace, its
//! generation and the key means an entry cannot be replayed under another key, in another
//! namespace, or after the namespace was cleared, even by someone who can write to the store.
//! The lifetimes are not in the sealed bytes: they live beside them in process memory (and a
//! shared store would keep its own TTL).

use std::sync::Arc;
use std::time::Duration;

use aes_gcm_siv::aead::AeadInPlace;
use rand::RngCore;

use crate::clock::UnixTime;
use crate::envelope::le64;
use crate::error::{Error, ErrorKind};
use crate::keys::{KeyId, KeyRing};

/// Version byte of a sealed v1 cache entry: the `0x3_` series is the cache's, `_4` mirrors the
/// token format's AES-256-GCM-SIV (`0x14`).
pub(crate) const SEALED_V1: u8 = 0x34;
/// Label that opens the associated data, so an entry's tag can never verify as anything else.
pub(crate) const AAD_LABEL: &[u8] = b"sealed-session/v1/cache/entry";
const HEADER_LEN: usize = 5;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Bytes a sealed entry adds to the codec's bytes.
pub(crate) const SEAL_OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;

/// One stored value: a fixed header, then the payload (the codec's JSON, or the sealed layout
/// above), in a single shared allocation, so a hit follows one pointer to both the lifetimes and
/// the bytes. The header never leaves the process:
///
/// ```text
/// weight:u32 || fresh_until:u64 || stale_until:u64      little-endian
/// ```
///
/// Times are nanoseconds on the cache's clock: fresh before `fresh_until`, servable stale before
/// `stale_until`, dead from then on (never served; the store evicts it by weight).
pub(crate) type Stored = Arc<[u8]>;

#[cfg(test)]
const META_LEN: usize = 4 + 8 + 8;

/// The header of a [`Stored`] entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The store's weight: see `Cache::ENTRY_OVERHEAD`.
    pub(crate) weight: u32,
    pub(crate) fresh_until: u64,
    pub(crate) stale_until: u64,
}

impl Meta {
    pub(crate) fn is_fresh(&self, now: u64) -> bool {
        now < self.fresh_until
    }

    pub(crate) fn is_servable_stale(&self, now: u64) -> bool {
        now < self.stale_until
    }
}

/// Build an entry (one allocation, exactly sized).
pub(crate) fn store(meta: &Meta, payload: &[u8]) -> Stored {
    let header = meta
        .weight
        .to_le_bytes()
        .into_iter()
        .chain(meta.fresh_until.to_le_bytes())
        .chain(meta.stale_until.to_le_bytes());
    header.chain(payload.iter().copied()).collect()
}

/// Split an entry into its header and payload; `None` if it is too short (never for entries
/// built by [`store`]).
pub(crate) fn split(stored: &[u8]) -> Option<(Meta, &[u8])> {
    let (weight, rest) = stored.split_first_chunk::<4>()?;
    let (fresh_until, rest) = rest.split_first_chunk::<8>()?;
    let (stale_until, payload) = rest.split_first_chunk::<8>()?;
    let meta = Meta {
        weight: u32::from_le_bytes(*weight),
        fresh_until: u64::from_le_bytes(*fresh_until),
        stale_until: u64::from_le_bytes(*stale_until),
    };
    Some((meta, payload))
}

/// The weight of an entry, for the store's weigher (the heaviest weight if it is malformed, so
/// such an entry would be evicted first rather than kept for free).
pub(crate) fn weight(stored: &[u8]) -> u32 {
    stored
        .first_chunk::<4>()
        .map_or(u32::MAX, |w| u32::from_le_bytes(*w))
}

/// A duration in nanoseconds, saturating at about 584 years.
pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What an entry is bound to.
pub(crate) struct Binding<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) generation: u64,
    /// The codec's JSON of the key.
    pub(crate) key: &'a [u8],
}

fn aad(header: &[u8], b: &Binding<'_>) -> Vec<u8> {
    let generation = b.generation.to_be_bytes();
    let items: [&[u8]; 5] = [
        AAD_LABEL,
        header,
        b.namespace.as_bytes(),
        &generation,
        b.key,
    ];
    let len = items.iter().map(|i| 8 + i.len()).sum::<usize>() + 8;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&le64(items.len()));
    for item in items {
        out.extend_from_slice(&le64(item.len()));
        out.extend_from_slice(item);
    }
    out
}

/// Seal `plaintext` under the ring's primary cache key.
pub(crate) fn seal(
    ring: &KeyRing,
    binding: &Binding<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let key = ring
        .primary_at(UnixTime::now())
        .ok_or_else(|| Error::new(ErrorKind::InvalidKeyRing, "the ring has no primary"))?;
    let mut nonce = [0u8; NONCE_LEN];
    // AES-GCM-SIV is nonce-misuse resistant; a user-space CSPRNG (as for tokens) is ample.
    rand::thread_rng().fill_bytes(&mut nonce);
    seal_with_nonce(key.id, &key.cache, &nonce, binding, plaintext)
}

fn seal_with_nonce(
    kid: KeyId,
    cipher: &aes_gcm_siv::Aes256GcmSiv,
    nonce: &[u8; NONCE_LEN],
    binding: &Binding<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let [k0, k1, k2, k3] = kid.get().to_be_bytes();
    let header = [SEALED_V1, k0, k1, k2, k3];
    let mut out = Vec::with_capacity(SEAL_OVERHEAD + plaintext.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(nonce);
    out.extend_from_slice(plaintext);
    let crypto_error = || Error::new(ErrorKind::Crypto, "cache entry encryption failed");
    let body = out
        .get_mut(HEADER_LEN + NONCE_LEN..)
        .ok_or_else(crypto_error)?;
    let tag = cipher
        .encrypt_in_place_detached(
            &aes_gcm_siv::Nonce::from(*nonce),
            &aad(&header, binding),
            body,
        )
        .map_err(|_| crypto_error())?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// The plaintext of a sealed entry, or `None` if it is malformed, under a key the ring does not
/// hold, bound to something else, or altered. Never panics: every `None` is a cache miss.
pub(crate) fn open(ring: &KeyRing, binding: &Binding<'_>, sealed: &[u8]) -> Option<Vec<u8>> {
    let (header, rest) = sealed.split_first_chunk::<HEADER_LEN>()?;
    let (nonce, rest) = rest.split_first_chunk::<NONCE_LEN>()?;
    let (body, tag) = rest.split_last_chunk::<TAG_LEN>()?;
    let [version, kid @ ..] = header;
    if *version != SEALED_V1 {
        return None;
    }
    let key = ring.find(KeyId::new(u32::from_be_bytes(*kid)))?;
    let mut plain = body.to_vec();
    key.cache
        .decrypt_in_place_detached(
            &aes_gcm_siv::Nonce::from(*nonce),
            &aad(header, binding),
            &mut plain,
            &aes_gcm_siv::Tag::from(*tag),
        )
        .ok()?;
    Some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Key;

    fn test_ring(seed: u8) -> (Key, KeyRing) {
        let secret: Vec<u8> = (0u8..32)
            .map(|i| i.wrapping_mul(7).wrapping_add(seed))
            .collect();
        let key = Key::try_from(&secret[..]).unwrap();
        let ring = KeyRing::builder().primary(key.clone()).build().unwrap();
        (key, ring)
    }

    fn binding<'a>(ns: &'a str, generation: u64, key: &'a [u8]) -> Binding<'a> {
        Binding {
            namespace: ns,
            generation,
            key,
        }
    }

    #[test]
    fn round_trips_and_has_the_documented_layout() {
        let (key, ring) = test_ring(1);
        let b = binding("users", 3, b"42");
        let sealed = seal(&ring, &b, br#"{"a":1}"#).unwrap();
        assert_eq!(sealed.len(), SEAL_OVERHEAD + 7);
        assert_eq!(sealed[0], SEALED_V1);
        assert_eq!(sealed[1..5], key.id().get().to_be_bytes());
        assert_eq!(open(&ring, &b, &sealed).unwrap(), br#"{"a":1}"#);
    }

    #[test]
    fn pinned_vector() {
        // A fixed key, nonce and binding: changing the layout, the AAD or the subkey derivation
        // changes these bytes, and breaks entries in a shared store.
        let (_, ring) = test_ring(1);
        let k = ring.primary_at(UnixTime::EPOCH).unwrap();
        let b = binding("ns", 1, b"\"k\"");
        let sealed = seal_with_nonce(k.id, &k.cache, &[9; 12], &b, b"true").unwrap();
        assert_eq!(open(&ring, &b, &sealed).unwrap(), b"true");
        let expected_aad = {
            let mut v = Vec::new();
            v.extend_from_slice(&5u64.to_le_bytes());
            for item in [
                AAD_LABEL,
                &sealed[..5],
                b"ns",
                &1u64.to_be_bytes(),
                b"\"k\"",
            ] {
                v.extend_from_slice(&(item.len() as u64).to_le_bytes());
                v.extend_from_slice(item);
            }
            v
        };
        assert_eq!(aad(&sealed[..5], &b), expected_aad);
        assert_eq!(hex::encode(&sealed), PINNED_ENTRY);
    }

    /// Computed independently (Python `cryptography`: HKDF-SHA256 and AESGCMSIV) from the layout
    /// in the module docs: secret `(7 * i + 1) mod 256` for `i` in 0..32 (key id `abf9acea`),
    /// nonce `09` x 12, namespace `ns`, generation 1, key `"k"`, value `true`.
    const PINNED_ENTRY: &str =
        "34abf9acea09090909090909090909090948a2a4dbc0951402d0cb1e83845be16d964d1ff8";

    #[test]
    fn header_round_trips_and_short_entries_do_not_parse() {
        let meta = Meta {
            weight: 300,
            fresh_until: 5,
            stale_until: u64::MAX,
        };
        let e = store(&meta, b"{}");
        assert_eq!(e.len(), META_LEN + 2);
        assert_eq!(split(&e), Some((meta, &b"{}"[..])));
        assert_eq!(weight(&e), 300);
        for len in 0..META_LEN {
            assert_eq!(split(&e[..len]), None);
        }
        assert_eq!(weight(&e[..3]), u32::MAX);
        assert_eq!(nanos(Duration::MAX), u64::MAX);
    }

    #[test]
    fn any_change_is_a_miss() {
        let (_, ring) = test_ring(1);
        let (_, other) = test_ring(2);
        let b = binding("users", 3, b"42");
        let sealed = seal(&ring, &b, b"[1,2,3]").unwrap();
        assert!(open(&other, &b, &sealed).is_none(), "another ring");
        for wrong in [
            binding("user", 3, b"42"),
            binding("users", 4, b"42"),
            binding("users", 3, b"43"),
        ] {
            assert!(open(&ring, &wrong, &sealed).is_none());
        }
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(open(&ring, &b, &bad).is_none(), "byte {i}");
        }
        for len in 0..sealed.len() {
            assert!(open(&ring, &b, &sealed[..len]).is_none(), "length {len}");
        }
    }
}
