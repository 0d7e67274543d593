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
//! The lifetimes are not in the sealed bytes: in memory they live beside them, in the process.
//!
//! # Shared entry layout (v1, a shared store such as Redis)
//!
//! An entry that leaves the process carries its logical lifetimes, and when sealed they are
//! authenticated too, so that whoever can write to the store cannot extend an entry's life:
//!
//! ```text
//! value  = fresh_until:u64 || stale_until:u64 || payload     (big-endian; nanoseconds since the
//!                                                             Unix epoch on the cache's clock)
//! payload = codec JSON of the value                          (unsealed)
//!         | ver:u8 || kid:u32 || nonce:[u8; 12] || ciphertext || tag:[u8; 16]   (sealed)
//! ver    = 0x35 (shared cache entry, AES-256-GCM-SIV)
//! aad    = PAE[ "sealed-session/v1/cache/shared-entry", ver || kid, store prefix (UTF-8),
//!               namespace name (UTF-8), generation (u64, big-endian), codec JSON of the key,
//!               fresh_until || stale_until (the 16 bytes above) ]
//! ```
//!
//! The store prefix is bound as well, so two applications sharing one Redis and one key ring
//! under different prefixes cannot be fed each other's entries.

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
/// Version byte of a sealed entry in a shared store (its lifetimes and the store prefix bound).
pub(crate) const SEALED_SHARED_V1: u8 = 0x35;
/// The shared entry's label: a tag made for one layout never verifies as the other.
pub(crate) const SHARED_AAD_LABEL: &[u8] = b"sealed-session/v1/cache/shared-entry";
/// The lifetimes in front of a shared entry's payload.
pub(crate) const WIRE_TIMES_LEN: usize = 16;
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

/// The lifetimes as a shared entry stores (and a sealed one authenticates) them.
pub(crate) fn wire_times(fresh_until: u64, stale_until: u64) -> [u8; WIRE_TIMES_LEN] {
    let mut out = [0u8; WIRE_TIMES_LEN];
    let (fresh, stale) = out.split_at_mut(8);
    fresh.copy_from_slice(&fresh_until.to_be_bytes());
    stale.copy_from_slice(&stale_until.to_be_bytes());
    out
}

/// An entry as a shared store holds it: the lifetimes, then the payload (the in-memory weight
/// stays behind: the shared store weighs nothing). `None` for a malformed entry.
#[cfg_attr(
    not(any(feature = "redis", test)),
    expect(dead_code, reason = "for shared stores")
)]
pub(crate) fn to_wire(stored: &[u8]) -> Option<Vec<u8>> {
    let (meta, payload) = split(stored)?;
    let mut out = Vec::with_capacity(WIRE_TIMES_LEN + payload.len());
    out.extend_from_slice(&wire_times(meta.fresh_until, meta.stale_until));
    out.extend_from_slice(payload);
    Some(out)
}

/// An entry read from a shared store, as the in-memory form (weight zero); `None` if it is too
/// short to hold the lifetimes. Anything longer parses: the payload is checked when decoded.
#[cfg_attr(
    not(any(feature = "redis", test)),
    expect(dead_code, reason = "for shared stores")
)]
pub(crate) fn from_wire(wire: &[u8]) -> Option<Stored> {
    let (fresh_until, rest) = wire.split_first_chunk::<8>()?;
    let (stale_until, payload) = rest.split_first_chunk::<8>()?;
    let meta = Meta {
        weight: 0,
        fresh_until: u64::from_be_bytes(*fresh_until),
        stale_until: u64::from_be_bytes(*stale_until),
    };
    Some(store(&meta, payload))
}

/// What an entry is bound to.
pub(crate) struct Binding<'a> {
    pub(crate) namespace: &'a str,
    pub(crate) generation: u64,
    /// The codec's JSON of the key.
    pub(crate) key: &'a [u8],
    /// For an entry of a shared store: what else it is bound to (and the `0x35` layout).
    pub(crate) shared: Option<SharedBinding<'a>>,
}

/// The extra binding of a shared store's entry.
pub(crate) struct SharedBinding<'a> {
    /// The store's key prefix.
    pub(crate) prefix: &'a str,
    /// The entry's lifetimes, as [`wire_times`] lays them out.
    pub(crate) times: [u8; WIRE_TIMES_LEN],
}

impl Binding<'_> {
    fn version(&self) -> u8 {
        match self.shared {
            None => SEALED_V1,
            Some(_) => SEALED_SHARED_V1,
        }
    }
}

fn aad(header: &[u8], b: &Binding<'_>) -> Vec<u8> {
    let generation = b.generation.to_be_bytes();
    let local: [&[u8]; 5];
    let shared: [&[u8]; 7];
    let items: &[&[u8]] = match &b.shared {
        None => {
            local = [
                AAD_LABEL,
                header,
                b.namespace.as_bytes(),
                &generation,
                b.key,
            ];
            &local
        }
        Some(s) => {
            shared = [
                SHARED_AAD_LABEL,
                header,
                s.prefix.as_bytes(),
                b.namespace.as_bytes(),
                &generation,
                b.key,
                &s.times,
            ];
            &shared
        }
    };
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
    let header = [binding.version(), k0, k1, k2, k3];
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
    if *version != binding.version() {
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
            shared: None,
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

    fn shared<'a>(ns: &'a str, key: &'a [u8], fresh: u64, stale: u64) -> Binding<'a> {
        Binding {
            namespace: ns,
            generation: 2,
            key,
            shared: Some(SharedBinding {
                prefix: "app",
                times: wire_times(fresh, stale),
            }),
        }
    }

    #[test]
    fn shared_entries_bind_their_lifetimes_and_prefix() {
        let (_, ring) = test_ring(1);
        let b = shared("users", b"42", 10, 20);
        let sealed = seal(&ring, &b, b"[1]").unwrap();
        assert_eq!(sealed[0], SEALED_SHARED_V1);
        assert_eq!(open(&ring, &b, &sealed).unwrap(), b"[1]");
        // Extending the life, or another prefix, or reading it as an in-memory entry: a miss.
        assert!(open(&ring, &shared("users", b"42", 11, 20), &sealed).is_none());
        assert!(open(&ring, &shared("users", b"42", 10, 21), &sealed).is_none());
        let mut other_prefix = shared("users", b"42", 10, 20);
        if let Some(s) = other_prefix.shared.as_mut() {
            s.prefix = "other";
        }
        assert!(open(&ring, &other_prefix, &sealed).is_none());
        assert!(open(&ring, &binding("users", 2, b"42"), &sealed).is_none());
        let local = seal(&ring, &binding("users", 2, b"42"), b"[1]").unwrap();
        assert!(open(&ring, &b, &local).is_none());
    }

    #[test]
    fn wire_form_round_trips_and_short_values_do_not_parse() {
        let meta = Meta {
            weight: 77,
            fresh_until: 1 << 40,
            stale_until: (1 << 40) + 5,
        };
        let stored = store(&meta, b"{}");
        let wire = to_wire(&stored).unwrap();
        assert_eq!(wire.len(), WIRE_TIMES_LEN + 2);
        assert_eq!(wire[..8], (1u64 << 40).to_be_bytes());
        let back = from_wire(&wire).unwrap();
        let (m, payload) = split(&back).unwrap();
        assert_eq!(
            (m.weight, m.fresh_until, m.stale_until),
            (0, 1 << 40, (1 << 40) + 5)
        );
        assert_eq!(payload, b"{}");
        for len in 0..WIRE_TIMES_LEN {
            assert!(from_wire(&wire[..len]).is_none());
        }
        assert!(to_wire(&stored[..3]).is_none());
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
