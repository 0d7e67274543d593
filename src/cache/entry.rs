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
//! `K_cache = HKDF-Expand(PRK, "sealed-session/v1/cache", 32)` per ring key (see the `sealing`
//! module). `PAE` is the crate's pre-authentication encoding: the item count, then each item's length,
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

use crate::primitives::AEAD_TAG_LEN;

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
/// `ver || kid`.
pub(crate) const HEADER_LEN: usize = 5;
pub(crate) const NONCE_LEN: usize = 12;
/// Bytes a sealed entry adds to the codec's bytes.
pub(crate) const SEAL_OVERHEAD: usize = HEADER_LEN + NONCE_LEN + AEAD_TAG_LEN;

/// The longest entry payload a cache with this codec limit ever writes; anything longer read
/// back from a store was not written by such a cache, and is refused before it is copied or
/// decrypted (a forged 64 MiB entry would otherwise cost its size several times over).
pub(crate) fn max_payload_len(codec_max_bytes: usize, sealed: bool) -> usize {
    let overhead = if sealed { SEAL_OVERHEAD } else { 0 };
    codec_max_bytes.saturating_add(overhead)
}

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_payload_bound_is_the_codec_limit_plus_the_seal() {
        assert_eq!(max_payload_len(16 << 10, false), 16 << 10);
        assert_eq!(max_payload_len(16 << 10, true), (16 << 10) + 33);
        assert_eq!(max_payload_len(usize::MAX, true), usize::MAX);
    }
}
