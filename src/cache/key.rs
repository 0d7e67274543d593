//! Store keys: the namespace, its generation and the caller's structured key, type-erased so that
//! namespaces with different key types share one bounded store.
//!
//! The caller's key is kept as its own type and compared with its own `Eq`, never flattened into
//! a string or an encoding: `("a b",)` and `("a", "b")` are different keys because they are
//! different values, and two keys that serialize alike (a field skipped by `serde`) still differ.
//!
//! Each key carries a *fingerprint*: a keyed SipHash of namespace, generation and key, computed
//! once per call with the cache's own random key (so hostile keys cannot be chosen to collide).
//! The store and the in-flight map use it as the hash ([`PassThrough`]), and equality compares
//! fingerprint, namespace and generation, all held inline, before it looks at the boxed key: a
//! lookup follows the box only for the entry it is about to return. Lookups borrow the caller's
//! key ([`ProbeKey`]), so a hit clones and allocates nothing.

use std::any::Any;
use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, Hasher};

/// A store key viewed without its key type: what the store hashes and compares.
pub(crate) trait ErasedKey: Send + Sync {
    /// Fingerprint, namespace and generation: one call, as every comparison needs all three.
    fn header(&self) -> (u64, u64, u64);
    /// The caller's key, for [`key_eq`](Self::key_eq) on the other side.
    fn key_any(&self) -> &dyn Any;
    /// Whether `other` is a key of the same type and equal to ours. Keys of different types are
    /// never equal (two handles on one namespace with different key types do not see each other's
    /// entries).
    fn key_eq(&self, other: &dyn Any) -> bool;
}

impl Hash for dyn ErasedKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.header().0);
    }
}

impl PartialEq for dyn ErasedKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.header() == other.header() && self.key_eq(other.key_any())
    }
}

impl Eq for dyn ErasedKey + '_ {}

/// The caller's key behind a box.
trait KeyObject: Send + Sync {
    fn key_any(&self) -> &dyn Any;
    fn key_eq(&self, other: &dyn Any) -> bool;
}

impl<K: Eq + Send + Sync + 'static> KeyObject for K {
    fn key_any(&self) -> &dyn Any {
        self
    }
    fn key_eq(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<K>().is_some_and(|o| o == self)
    }
}

/// The store's key type: an owned key of any type, with its fingerprint, namespace and
/// generation inline.
pub(crate) struct StoreKey {
    fingerprint: u64,
    namespace: u64,
    generation: u64,
    key: Box<dyn KeyObject>,
}

impl ErasedKey for StoreKey {
    fn header(&self) -> (u64, u64, u64) {
        (self.fingerprint, self.namespace, self.generation)
    }
    fn key_any(&self) -> &dyn Any {
        self.key.key_any()
    }
    fn key_eq(&self, other: &dyn Any) -> bool {
        self.key.key_eq(other)
    }
}

impl Hash for StoreKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.fingerprint);
    }
}

impl PartialEq for StoreKey {
    fn eq(&self, other: &Self) -> bool {
        let (a, b): (&dyn ErasedKey, &dyn ErasedKey) = (self, other);
        a == b
    }
}

impl Eq for StoreKey {}

/// Lets the store and the in-flight map look a [`ProbeKey`] up without building a `StoreKey`.
/// `Hash` and `Eq` are the same functions on both sides, as `Borrow` requires.
impl<'a> Borrow<dyn ErasedKey + 'a> for StoreKey {
    fn borrow(&self) -> &(dyn ErasedKey + 'a) {
        self
    }
}

/// A borrowed key, for lookups.
pub(crate) struct ProbeKey<'a, K> {
    pub(crate) fingerprint: u64,
    pub(crate) namespace: u64,
    pub(crate) generation: u64,
    pub(crate) key: &'a K,
}

impl<K> Clone for ProbeKey<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for ProbeKey<'_, K> {}

impl<'a, K: Hash + Eq + Send + Sync + 'static> ProbeKey<'a, K> {
    /// The probe for `key` in `namespace` at `generation`, fingerprinted with `hasher`.
    pub(crate) fn new(
        hasher: &impl BuildHasher,
        namespace: u64,
        generation: u64,
        key: &'a K,
    ) -> Self {
        ProbeKey {
            // Namespace and generation folded into one word: one SipHash block fewer, and a
            // collision of the fold only costs a comparison, as equality checks both fields.
            fingerprint: hasher.hash_one((namespace.rotate_left(32) ^ generation, key)),
            namespace,
            generation,
            key,
        }
    }

    /// As the store's lookup type.
    pub(crate) fn erased(&self) -> &(dyn ErasedKey + 'a) {
        self
    }

    /// An owned copy, for inserting.
    pub(crate) fn store_key(&self) -> StoreKey
    where
        K: Clone,
    {
        StoreKey {
            fingerprint: self.fingerprint,
            namespace: self.namespace,
            generation: self.generation,
            key: Box::new(self.key.clone()),
        }
    }
}

impl<K: Hash + Eq + Send + Sync + 'static> ErasedKey for ProbeKey<'_, K> {
    fn header(&self) -> (u64, u64, u64) {
        (self.fingerprint, self.namespace, self.generation)
    }
    fn key_any(&self) -> &dyn Any {
        self.key
    }
    fn key_eq(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<K>().is_some_and(|o| o == self.key)
    }
}

/// The hasher of the store and the in-flight map: keys hash as their fingerprint, which is
/// already a keyed SipHash, so hashing it again would only cost time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PassThrough;

impl BuildHasher for PassThrough {
    type Hasher = PassThroughHasher;

    fn build_hasher(&self) -> PassThroughHasher {
        PassThroughHasher(0)
    }
}

pub(crate) struct PassThroughHasher(u64);

impl Hasher for PassThroughHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    /// Only reached if something other than a fingerprint is hashed; mixes rather than drops it.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8).wrapping_mul(0x100_0000_01b3) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29) ^ n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;
    use std::collections::HashMap;

    fn probe<'a, K: Hash + Eq + Send + Sync + 'static>(
        s: &RandomState,
        namespace: u64,
        generation: u64,
        key: &'a K,
    ) -> ProbeKey<'a, K> {
        ProbeKey::new(s, namespace, generation, key)
    }

    #[test]
    fn borrowed_and_owned_keys_hash_and_compare_alike() {
        let s = RandomState::new();
        let key = (String::from("a"), 7u32);
        let p = probe(&s, 1, 2, &key);
        let owned = p.store_key();
        assert_eq!(
            PassThrough.hash_one(p.erased()),
            PassThrough.hash_one(&owned)
        );
        let back: &dyn ErasedKey = owned.borrow();
        assert!(*back == *p.erased());
    }

    #[test]
    fn namespace_generation_and_type_separate_keys() {
        let s = RandomState::new();
        let mut m: HashMap<StoreKey, u8, PassThrough> = HashMap::default();
        let (ab, a_b) = (("a b".to_string(),), ("a".to_string(), "b".to_string()));
        m.insert(probe(&s, 1, 0, &ab).store_key(), 1);
        m.insert(probe(&s, 1, 0, &a_b).store_key(), 2);
        m.insert(probe(&s, 2, 0, &ab).store_key(), 3);
        m.insert(probe(&s, 1, 1, &ab).store_key(), 4);
        m.insert(probe(&s, 1, 0, &7u64).store_key(), 5);
        m.insert(probe(&s, 1, 0, &7u32).store_key(), 6);
        assert_eq!(m.len(), 6);
        assert_eq!(m.get(probe(&s, 1, 0, &ab).erased()), Some(&1));
        assert_eq!(m.get(probe(&s, 1, 0, &a_b).erased()), Some(&2));
        assert_eq!(m.get(probe(&s, 1, 1, &ab).erased()), Some(&4));
        assert_eq!(m.get(probe(&s, 1, 0, &7u64).erased()), Some(&5));
        assert_eq!(m.get(probe(&s, 1, 0, &7u32).erased()), Some(&6));
        assert_eq!(m.get(probe(&s, 1, 2, &7u32).erased()), None);
    }

    #[test]
    fn equal_fingerprints_still_compare_keys() {
        // Forge a fingerprint collision: equality must fall through to the keys themselves.
        let forged = |key: &'static str| ProbeKey {
            fingerprint: 42,
            namespace: 0,
            generation: 0,
            key: Box::leak(Box::new(key.to_string())),
        };
        let mut m: HashMap<StoreKey, u8, PassThrough> = HashMap::default();
        m.insert(forged("x").store_key(), 1);
        m.insert(forged("y").store_key(), 2);
        assert_eq!(m.get(forged("x").erased()), Some(&1));
        assert_eq!(m.get(forged("y").erased()), Some(&2));
        assert_eq!(m.get(forged("z").erased()), None);
    }

    #[test]
    fn pass_through_mixes_stray_bytes() {
        let mut h = PassThrough.build_hasher();
        h.write(b"ab");
        let mut g = PassThrough.build_hasher();
        g.write(b"ba");
        assert_ne!(h.finish(), g.finish());
    }
}
