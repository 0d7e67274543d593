//! Sealing cache entries: the cache's subkey, and the core's PAE and AEAD wrapper over the
//! layouts in the `entry` module.
//!
//! The cache derives its own subkey from each ring key (`K_cache`, HKDF-SHA256 under the label
//! below, from the ring key's HKDF pseudorandom key), once, when the cache is built: the core
//! knows nothing of the cache, and the label stays fixed in v1.

use std::fmt;

use rand::RngCore;

use super::entry::{
    AAD_LABEL, HEADER_LEN, NONCE_LEN, SEALED_SHARED_V1, SEALED_V1, SEAL_OVERHEAD, SHARED_AAD_LABEL,
    WIRE_TIMES_LEN,
};
use crate::clock::UnixTime;
use crate::envelope::pae;
use crate::error::{Error, ErrorKind};
use crate::keys::{KeyId, KeyRing};
use crate::primitives::{AeadAlgorithm, AeadCipher, AEAD_TAG_LEN};

/// HKDF info label of the cache subkey (documented in SECURITY.md; changing it breaks every
/// sealed entry in a shared store).
pub(crate) const LABEL_CACHE: &[u8] = b"sealed-session/v1/cache";

/// A ring's cache subkeys, each keyed once as AES-256-GCM-SIV.
#[derive(Clone)]
pub(crate) struct SealingKeys {
    ring: KeyRing,
    /// By key id, in the ring's (sorted) order.
    ciphers: Vec<(KeyId, AeadCipher)>,
}

impl SealingKeys {
    pub(crate) fn new(ring: KeyRing) -> Self {
        let ciphers = ring
            .keys()
            .filter_map(|(id, _)| {
                let key = ring.find(id)?;
                let subkey = key.derive_subkey(LABEL_CACHE);
                Some((id, AeadCipher::new(AeadAlgorithm::Aes256GcmSiv, &subkey)))
            })
            .collect();
        SealingKeys { ring, ciphers }
    }

    fn find(&self, id: KeyId) -> Option<&AeadCipher> {
        let i = self.ciphers.binary_search_by_key(&id, |(k, _)| *k).ok()?;
        self.ciphers.get(i).map(|(_, c)| c)
    }

    /// The key that seals at `now`: the ring's primary, or its pending key once due.
    fn primary_at(&self, now: UnixTime) -> Option<(KeyId, &AeadCipher)> {
        let id = self.ring.primary_at(now)?.id;
        self.find(id).map(|c| (id, c))
    }
}

impl fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKeys")
            .field("ring", &self.ring)
            .finish_non_exhaustive()
    }
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
    /// The entry's lifetimes, as `entry::wire_times` lays them out.
    pub(crate) times: [u8; WIRE_TIMES_LEN],
}

impl Binding<'_> {
    fn version(&self) -> u8 {
        match self.shared {
            None => SEALED_V1,
            Some(_) => SEALED_SHARED_V1,
        }
    }

    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let generation = self.generation.to_be_bytes();
        match &self.shared {
            None => pae(&[
                AAD_LABEL,
                header,
                self.namespace.as_bytes(),
                &generation,
                self.key,
            ]),
            Some(s) => pae(&[
                SHARED_AAD_LABEL,
                header,
                s.prefix.as_bytes(),
                self.namespace.as_bytes(),
                &generation,
                self.key,
                &s.times,
            ]),
        }
    }
}

/// Seal `plaintext` under the cache subkey of the ring's primary key at `now` (the cache's
/// clock, read as time since the Unix epoch).
pub(crate) fn seal(
    keys: &SealingKeys,
    now: UnixTime,
    binding: &Binding<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let (kid, cipher) = keys
        .primary_at(now)
        .ok_or_else(|| Error::new(ErrorKind::InvalidKeyRing, "the ring has no primary"))?;
    let mut nonce = [0u8; NONCE_LEN];
    // AES-GCM-SIV is nonce-misuse resistant; a user-space CSPRNG (as for tokens) is ample.
    rand::thread_rng().fill_bytes(&mut nonce);
    seal_with_nonce(kid, cipher, &nonce, binding, plaintext)
}

fn seal_with_nonce(
    kid: KeyId,
    cipher: &AeadCipher,
    nonce: &[u8; NONCE_LEN],
    binding: &Binding<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, Error> {
    let [k0, k1, k2, k3] = kid.get().to_be_bytes();
    let header = [binding.version(), k0, k1, k2, k3];
    let mut out = Vec::with_capacity(SEAL_OVERHEAD.saturating_add(plaintext.len()));
    out.extend_from_slice(&header);
    out.extend_from_slice(nonce);
    out.extend_from_slice(plaintext);
    let crypto_error = || Error::new(ErrorKind::Crypto, "cache entry encryption failed");
    let body = out
        .get_mut(HEADER_LEN + NONCE_LEN..)
        .ok_or_else(crypto_error)?;
    let tag = cipher
        .encrypt_in_place(nonce, &binding.aad(&header), body)
        .map_err(|_| crypto_error())?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// The plaintext of a sealed entry, or `None` if it is malformed, under a key the ring does not
/// hold, bound to something else, or altered. Never panics: every `None` is a cache miss. The
/// caller has bounded `sealed` already (see `entry::max_payload_len`).
pub(crate) fn open(keys: &SealingKeys, binding: &Binding<'_>, sealed: &[u8]) -> Option<Vec<u8>> {
    let (header, rest) = sealed.split_first_chunk::<HEADER_LEN>()?;
    let (nonce, rest) = rest.split_first_chunk::<NONCE_LEN>()?;
    let (body, tag) = rest.split_last_chunk::<AEAD_TAG_LEN>()?;
    let [version, kid @ ..] = header;
    if *version != binding.version() {
        return None;
    }
    let cipher = keys.find(KeyId::new(u32::from_be_bytes(*kid)))?;
    let mut plain = body.to_vec();
    cipher
        .decrypt_in_place(nonce, &binding.aad(header), &mut plain, tag)
        .ok()?;
    Some(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::entry::wire_times;
    use crate::keys::Key;

    fn test_keys(seed: u8) -> (Key, SealingKeys) {
        let secret: Vec<u8> = (0u8..32)
            .map(|i| i.wrapping_mul(7).wrapping_add(seed))
            .collect();
        let key = Key::try_from(&secret[..]).unwrap();
        let ring = KeyRing::builder().primary(key.clone()).build().unwrap();
        (key, SealingKeys::new(ring))
    }

    fn binding<'a>(ns: &'a str, generation: u64, key: &'a [u8]) -> Binding<'a> {
        Binding {
            namespace: ns,
            generation,
            key,
            shared: None,
        }
    }

    const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

    #[test]
    fn round_trips_and_has_the_documented_layout() {
        let (key, keys) = test_keys(1);
        let b = binding("users", 3, b"42");
        let sealed = seal(&keys, NOW, &b, br#"{"a":1}"#).unwrap();
        assert_eq!(sealed.len(), SEAL_OVERHEAD + 7);
        assert_eq!(sealed[0], SEALED_V1);
        assert_eq!(sealed[1..5], key.id().get().to_be_bytes());
        assert_eq!(open(&keys, &b, &sealed).unwrap(), br#"{"a":1}"#);
    }

    #[test]
    fn pinned_vector() {
        // A fixed key, nonce and binding: changing the layout, the AAD or the subkey derivation
        // changes these bytes, and breaks entries in a shared store.
        let (key, keys) = test_keys(1);
        let (kid, cipher) = keys.primary_at(UnixTime::EPOCH).unwrap();
        assert_eq!(kid, key.id());
        let b = binding("ns", 1, b"\"k\"");
        let sealed = seal_with_nonce(kid, cipher, &[9; 12], &b, b"true").unwrap();
        assert_eq!(open(&keys, &b, &sealed).unwrap(), b"true");
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
        assert_eq!(b.aad(&sealed[..5]), expected_aad);
        assert_eq!(hex::encode(&sealed), PINNED_ENTRY);
    }

    /// Computed independently (Python `cryptography`: HKDF-SHA256 and AESGCMSIV) from the layout
    /// in the `entry` module docs: secret `(7 * i + 1) mod 256` for `i` in 0..32 (key id
    /// `abf9acea`), nonce `09` x 12, namespace `ns`, generation 1, key `"k"`, value `true`.
    const PINNED_ENTRY: &str =
        "34abf9acea09090909090909090909090948a2a4dbc0951402d0cb1e83845be16d964d1ff8";

    #[test]
    fn the_sealing_key_is_chosen_at_the_time_given() {
        // A pending key seals from its activation on the time passed in (the cache's clock),
        // not the system's.
        let (old, new) = (Key::generate(), Key::generate());
        let at = UnixTime::from_secs(1000);
        let ring = KeyRing::builder()
            .primary(old.clone())
            .pending(new.clone(), at)
            .build()
            .unwrap();
        let keys = SealingKeys::new(ring);
        let b = binding("n", 0, b"1");
        let kid = |sealed: &[u8]| u32::from_be_bytes(sealed[1..5].try_into().unwrap());
        let before = seal(&keys, UnixTime::from_secs(999), &b, b"1").unwrap();
        let after = seal(&keys, at, &b, b"1").unwrap();
        assert_eq!(kid(&before), old.id().get());
        assert_eq!(kid(&after), new.id().get());
        assert_eq!(open(&keys, &b, &before).unwrap(), b"1");
        assert_eq!(open(&keys, &b, &after).unwrap(), b"1");
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
        let (_, keys) = test_keys(1);
        let b = shared("users", b"42", 10, 20);
        let sealed = seal(&keys, NOW, &b, b"[1]").unwrap();
        assert_eq!(sealed[0], SEALED_SHARED_V1);
        assert_eq!(open(&keys, &b, &sealed).unwrap(), b"[1]");
        // Extending the life, or another prefix, or reading it as an in-memory entry: a miss.
        assert!(open(&keys, &shared("users", b"42", 11, 20), &sealed).is_none());
        assert!(open(&keys, &shared("users", b"42", 10, 21), &sealed).is_none());
        let mut other_prefix = shared("users", b"42", 10, 20);
        if let Some(s) = other_prefix.shared.as_mut() {
            s.prefix = "other";
        }
        assert!(open(&keys, &other_prefix, &sealed).is_none());
        assert!(open(&keys, &binding("users", 2, b"42"), &sealed).is_none());
        let local = seal(&keys, NOW, &binding("users", 2, b"42"), b"[1]").unwrap();
        assert!(open(&keys, &b, &local).is_none());
    }

    #[test]
    fn any_change_is_a_miss() {
        let (_, keys) = test_keys(1);
        let (_, other) = test_keys(2);
        let b = binding("users", 3, b"42");
        let sealed = seal(&keys, NOW, &b, b"[1,2,3]").unwrap();
        assert!(open(&other, &b, &sealed).is_none(), "another ring");
        for wrong in [
            binding("user", 3, b"42"),
            binding("users", 4, b"42"),
            binding("users", 3, b"43"),
        ] {
            assert!(open(&keys, &wrong, &sealed).is_none());
        }
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(open(&keys, &b, &bad).is_none(), "byte {i}");
        }
        for len in 0..sealed.len() {
            assert!(open(&keys, &b, &sealed[..len]).is_none(), "length {len}");
        }
    }
}
