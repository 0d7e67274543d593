//! How a namespace turns values into entries and back: encoding, sealing, lifetimes, and what
//! an entry read from the store is worth now.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::entry::{self, Meta, Stored};
use super::sealing::{self, Binding, SharedBinding};
use super::stats::{bump, Tally};
use super::store::{Found, NamespaceRef, Store, Target};
use super::{Cache, CacheKey, Namespace};
use crate::clock::UnixTime;
use crate::error::Error;

/// What the store holds for a key at a given time.
pub(crate) enum Lookup<V> {
    Hit(V),
    Stale(Stored),
    Miss,
}

impl<K: CacheKey, V: Serialize + DeserializeOwned, S: Store> Namespace<K, V, S> {
    /// The cache's clock, in nanoseconds.
    fn now(&self) -> u64 {
        entry::nanos(self.cache.clock.now())
    }

    /// The cache's clock as time since the Unix epoch: what picks the sealing key.
    fn now_unix(&self) -> UnixTime {
        UnixTime::from_secs(self.cache.clock.now().as_secs())
    }

    pub(crate) fn namespace_ref(&self) -> NamespaceRef<'_> {
        NamespaceRef {
            id: self.state.id,
            name: &self.state.name,
            generation: &self.state.generation,
            hasher: &self.cache.hasher,
        }
    }

    /// The codec's JSON of `key`, when something needs it: a shared store names entries by it,
    /// and sealed entries are bound to it. `None` for the in-memory, unsealed cache.
    pub(crate) fn key_json(&self, key: &K) -> Result<Option<Vec<u8>>, Error> {
        if S::SHARED || self.cache.keys.is_some() {
            self.cache.codec.encode(key).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn target<'a>(&'a self, key: &'a K, key_json: Option<&'a [u8]>) -> Target<'a, K> {
        let inner = &*self.cache;
        Target {
            ns: self.namespace_ref(),
            key,
            key_json,
            max_payload: entry::max_payload_len(inner.codec.max_bytes(), inner.keys.is_some()),
        }
    }

    /// What a sealed entry is bound to.
    fn binding<'a>(&'a self, generation: u64, key_json: &'a [u8], meta: &Meta) -> Binding<'a> {
        Binding {
            namespace: &self.state.name,
            generation,
            key: key_json,
            shared: S::SHARED.then(|| SharedBinding {
                prefix: self.cache.store.prefix(),
                times: entry::wire_times(meta.fresh_until, meta.stale_until),
            }),
        }
    }

    /// Decode a stored entry, header and all.
    pub(crate) fn decode_stored(
        &self,
        generation: u64,
        key: &K,
        key_json: Option<&[u8]>,
        stored: &[u8],
    ) -> Option<V> {
        match entry::split(stored) {
            Some((meta, payload)) => self.decode(generation, key, key_json, &meta, payload),
            None => {
                bump(&self.cache.counters.decode_failures);
                None
            }
        }
    }

    /// Decode (and open) an entry's payload; `None` for anything that does not, counted and
    /// logged without the bytes.
    fn decode(
        &self,
        generation: u64,
        key: &K,
        key_json: Option<&[u8]>,
        meta: &Meta,
        payload: &[u8],
    ) -> Option<V> {
        let inner = &*self.cache;
        let value = match &inner.keys {
            // Bytes that came from outside the process get every check of the codec.
            None if S::SHARED => inner.codec.decode(payload).ok(),
            // The codec checked these bytes (size, depth, valid JSON) when it encoded them, and
            // they never left this process or changed since; re-running its pre-parse scan on
            // every hit would cost about a third of the decode and could not refuse anything.
            // They are parsed by the same parser as `Codec::decode`, so the values accepted are
            // the same, and anything refused (another handle's value type) is still a miss.
            None => serde_json::from_slice(payload).ok(),
            Some(keys) => {
                let encoded;
                let key_json = match key_json {
                    Some(k) => Some(k),
                    None => {
                        encoded = inner.codec.encode(key).ok();
                        encoded.as_deref()
                    }
                };
                key_json.and_then(|k| {
                    sealing::open(keys, &self.binding(generation, k, meta), payload)
                        .and_then(|plain| inner.codec.decode(&plain).ok())
                })
            }
        };
        if value.is_none() {
            bump(&inner.counters.decode_failures);
            tracing::debug!(
                namespace = &*self.state.name,
                "a cache entry did not decode; treated as a miss"
            );
        }
        value
    }

    /// Encode (and seal) a value for the store, with its lifetimes from now.
    pub(crate) fn encode(
        &self,
        generation: u64,
        key: &K,
        key_json: Option<&[u8]>,
        value: &V,
        ttl: Duration,
    ) -> Result<Stored, Error> {
        let inner = &*self.cache;
        let value = inner.codec.encode(value)?;
        let encoded;
        let key_json = match key_json {
            Some(k) => k,
            None => {
                encoded = inner.codec.encode(key)?;
                &encoded
            }
        };
        let (ttl, grace) = (entry::nanos(ttl), entry::nanos(self.state.grace));
        let fresh_until = self.now().saturating_add(ttl);
        let mut meta = Meta {
            weight: 0,
            fresh_until,
            stale_until: fresh_until.saturating_add(grace),
        };
        let bytes = match &inner.keys {
            None => value,
            Some(keys) => sealing::seal(
                keys,
                self.now_unix(),
                &self.binding(generation, key_json, &meta),
                &value,
            )?,
        };
        let weight = (bytes.len() as u64)
            .saturating_add(key_json.len() as u64)
            .saturating_add(Cache::ENTRY_OVERHEAD);
        meta.weight = u32::try_from(weight).unwrap_or(u32::MAX);
        Ok(entry::store(&meta, &bytes))
    }

    /// What a store's read is worth at this moment, counting a hit or (unless it is stale,
    /// which the caller counts) a miss.
    pub(crate) fn classify(
        &self,
        target: &Target<'_, K>,
        found: Found,
        tally: &mut Tally,
    ) -> Lookup<V> {
        let inner = &*self.cache;
        if found.oversized {
            bump(&inner.counters.oversized);
            tracing::debug!(
                namespace = &*self.state.name,
                "a cache entry in the store is longer than any this cache writes; refused unread"
            );
        }
        let Some(stored) = found.entry else {
            tally.count(&inner.counters.misses);
            return Lookup::Miss;
        };
        if let Some((meta, payload)) = entry::split(&stored) {
            let now = self.now();
            if meta.is_fresh(now) {
                let value = self.decode(
                    found.generation,
                    target.key,
                    target.key_json,
                    &meta,
                    payload,
                );
                if let Some(value) = value {
                    tally.count(&inner.counters.hits);
                    return Lookup::Hit(value);
                }
            } else if meta.is_servable_stale(now) {
                return Lookup::Stale(stored);
            }
        }
        tally.count(&inner.counters.misses);
        Lookup::Miss
    }

    /// The fresh value in `stored`, if it is fresh and decodes.
    pub(crate) fn fresh_value(
        &self,
        target: &Target<'_, K>,
        generation: u64,
        stored: &Stored,
    ) -> Option<V> {
        let (meta, payload) = entry::split(stored)?;
        if !meta.is_fresh(self.now()) {
            return None;
        }
        self.decode(generation, target.key, target.key_json, &meta, payload)
    }

    /// Count and log a failed store operation. Logged at debug: a store that stays down fails
    /// every call, and the store logs its own state changes once.
    pub(crate) fn store_failed(&self, operation: &'static str, e: &Error) {
        bump(&self.cache.counters.store_errors);
        tracing::debug!(
            namespace = &*self.state.name,
            operation,
            error = %e,
            "cache store operation failed; degraded"
        );
    }

    /// The store's lifetime for an entry fresh for `ttl`: the grace period too, so stale serving
    /// still finds it.
    pub(crate) fn store_lifetime(&self, ttl: Duration) -> Duration {
        ttl.saturating_add(self.state.grace)
    }
}
