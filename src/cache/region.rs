//! Regions: named cache configurations, deserialized by the configuration layer.
//!
//! A region is one [`Cache`] with its own byte capacity, default lifetimes and toggle (Beaker's
//! `cache.regions`). [`RegionConfig`] is plain data that `serde` can read from any format, with
//! unknown fields refused so that a misspelt setting is an error rather than a silent default;
//! [`CacheRegions`] builds every region at once.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::builder::check_lifetime;
use super::{Cache, CacheBuilder, CacheClock};
use crate::codec::Codec;
use crate::error::{Error, ErrorKind};
use crate::keys::KeyRing;

/// Per-namespace lifetimes, overriding the cache's defaults.
///
/// Deserialized from `{ "ttl_secs": 60, "grace_secs": 10 }`; both fields are optional and unknown
/// fields are refused.
///
/// ```
/// use sealed_session::cache::{Cache, NamespaceConfig};
/// use std::time::Duration;
///
/// let cache = Cache::builder()
///     .namespace("pages", NamespaceConfig::builder().ttl(Duration::from_secs(30)).build()?)
///     .build()?;
/// let pages = cache.namespace::<String, String>("pages");
/// assert_eq!(pages.ttl(), Duration::from_secs(30));
/// # Ok::<(), sealed_session::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceConfig {
    #[serde(default, rename = "ttl_secs", deserialize_with = "opt_secs")]
    ttl: Option<Duration>,
    #[serde(default, rename = "grace_secs", deserialize_with = "opt_secs")]
    grace: Option<Duration>,
}

impl NamespaceConfig {
    /// Start a namespace configuration: both lifetimes default to the cache's.
    pub fn builder() -> NamespaceConfigBuilder {
        NamespaceConfigBuilder {
            config: NamespaceConfig::default(),
        }
    }

    /// The fresh lifetime, if overridden.
    pub fn ttl(&self) -> Option<Duration> {
        self.ttl
    }

    /// The grace period, if overridden.
    pub fn grace(&self) -> Option<Duration> {
        self.grace
    }

    pub(crate) fn validate(&self, name: &str) -> Result<(), Error> {
        if self.ttl == Some(Duration::ZERO) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("namespace {name:?}: the TTL must be positive"),
            ));
        }
        for (what, d) in [("TTL", self.ttl), ("grace period", self.grace)] {
            if let Some(d) = d {
                check_lifetime(&format!("namespace {name:?}: the {what}"), d)?;
            }
        }
        Ok(())
    }
}

/// Builds a [`NamespaceConfig`].
#[derive(Clone, Debug)]
pub struct NamespaceConfigBuilder {
    config: NamespaceConfig,
}

impl NamespaceConfigBuilder {
    /// How long a value is fresh (default: the cache's [`ttl`](CacheBuilder::ttl)).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = Some(ttl);
        self
    }

    /// How long after expiry a value may still be served while one caller refreshes it
    /// (default: the cache's [`grace`](CacheBuilder::grace)).
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.config.grace = Some(grace);
        self
    }

    /// Validate.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] if the TTL is zero.
    pub fn build(self) -> Result<NamespaceConfig, Error> {
        self.config.validate("")?;
        Ok(self.config)
    }
}

/// The configuration of one region (one [`Cache`]).
///
/// Every field is optional when deserialized, and unknown fields are refused:
///
/// ```
/// use sealed_session::cache::RegionConfig;
///
/// let config: RegionConfig = serde_json::from_str(r#"{
///     "ttl_secs": 300, "grace_secs": 30, "capacity_bytes": 1048576,
///     "namespaces": { "users": { "ttl_secs": 60 } }
/// }"#)?;
/// assert_eq!(config.capacity_bytes(), 1 << 20);
/// assert!(config.enabled());
/// assert!(serde_json::from_str::<RegionConfig>(r#"{ "ttl": 300 }"#).is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// | Field | Default | Meaning |
/// | --- | --- | --- |
/// | `ttl_secs` | 300 | fresh lifetime of a value |
/// | `grace_secs` | 0 | how long an expired value may be served while one caller refreshes it |
/// | `capacity_bytes` | 33554432 (32 MiB) | the bound on stored bytes, see [`Cache::ENTRY_OVERHEAD`] |
/// | `enabled` | `true` | whether the region caches at all |
/// | `sealed` | `false` | seal entries with the key ring's cache subkey (the ring is given to [`CacheRegionsBuilder::key_ring`]) |
/// | `max_value_bytes` | 16384 | the codec's limit on one encoded value |
/// | `namespaces` | none | [`NamespaceConfig`] by namespace name |
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionConfig {
    #[serde(
        default = "default_ttl",
        rename = "ttl_secs",
        deserialize_with = "secs"
    )]
    ttl: Duration,
    #[serde(default, rename = "grace_secs", deserialize_with = "secs")]
    grace: Duration,
    #[serde(default = "default_capacity")]
    capacity_bytes: u64,
    #[serde(default = "default_enabled")]
    enabled: bool,
    #[serde(default)]
    sealed: bool,
    #[serde(default = "default_max_value_bytes")]
    max_value_bytes: usize,
    #[serde(default)]
    namespaces: BTreeMap<String, NamespaceConfig>,
}

fn default_ttl() -> Duration {
    Cache::DEFAULT_TTL
}
fn default_capacity() -> u64 {
    Cache::DEFAULT_CAPACITY_BYTES
}
fn default_enabled() -> bool {
    true
}
fn default_max_value_bytes() -> usize {
    Codec::DEFAULT_MAX_BYTES
}

fn secs<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

fn opt_secs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<u64>::deserialize(d).map(|s| s.map(Duration::from_secs))
}

impl Default for RegionConfig {
    fn default() -> Self {
        RegionConfig {
            ttl: Cache::DEFAULT_TTL,
            grace: Duration::ZERO,
            capacity_bytes: Cache::DEFAULT_CAPACITY_BYTES,
            enabled: true,
            sealed: false,
            max_value_bytes: Codec::DEFAULT_MAX_BYTES,
            namespaces: BTreeMap::new(),
        }
    }
}

impl RegionConfig {
    /// Start a region configuration with the defaults in the table above.
    pub fn builder() -> RegionConfigBuilder {
        RegionConfigBuilder {
            config: RegionConfig::default(),
        }
    }

    /// The default fresh lifetime.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The default grace period.
    pub fn grace(&self) -> Duration {
        self.grace
    }

    /// The capacity in weighted bytes.
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_bytes
    }

    /// Whether the region starts enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether entries are sealed.
    pub fn sealed(&self) -> bool {
        self.sealed
    }

    /// The codec's limit on one encoded value.
    pub fn max_value_bytes(&self) -> usize {
        self.max_value_bytes
    }

    /// Per-namespace overrides.
    pub fn namespaces(&self) -> &BTreeMap<String, NamespaceConfig> {
        &self.namespaces
    }

    /// A [`CacheBuilder`] with these settings, to add what configuration files cannot hold (a
    /// clock, the key ring).
    ///
    /// ```
    /// use sealed_session::cache::{ManualCacheClock, RegionConfig};
    ///
    /// let cache = RegionConfig::builder()
    ///     .capacity_bytes(1 << 20)
    ///     .build()?
    ///     .to_builder()
    ///     .clock(ManualCacheClock::new())
    ///     .build()?;
    /// assert_eq!(cache.capacity_bytes(), 1 << 20);
    /// # Ok::<(), sealed_session::Error>(())
    /// ```
    pub fn to_builder(&self) -> CacheBuilder {
        let mut b = Cache::builder()
            .ttl(self.ttl)
            .grace(self.grace)
            .capacity_bytes(self.capacity_bytes)
            .enabled(self.enabled)
            .codec(Codec::new().with_max_bytes(self.max_value_bytes));
        for (name, ns) in &self.namespaces {
            b = b.namespace(name.clone(), *ns);
        }
        b
    }

    fn validate(&self) -> Result<(), Error> {
        self.to_builder().validate()
    }
}

/// Builds a [`RegionConfig`] in code.
#[derive(Clone, Debug)]
pub struct RegionConfigBuilder {
    config: RegionConfig,
}

impl RegionConfigBuilder {
    /// Default fresh lifetime (default 300 s).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.config.ttl = ttl;
        self
    }

    /// Default grace period (default zero: no stale serving).
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.config.grace = grace;
        self
    }

    /// Capacity in weighted bytes (default 32 MiB).
    #[must_use]
    pub fn capacity_bytes(mut self, bytes: u64) -> Self {
        self.config.capacity_bytes = bytes;
        self
    }

    /// Whether the region starts enabled (default `true`).
    #[must_use]
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.config.enabled = enabled;
        self
    }

    /// Seal entries with the ring given to [`CacheRegionsBuilder::key_ring`] (default `false`).
    #[must_use]
    pub fn sealed(mut self, sealed: bool) -> Self {
        self.config.sealed = sealed;
        self
    }

    /// The codec's limit on one encoded value (default 16 KiB).
    #[must_use]
    pub fn max_value_bytes(mut self, bytes: usize) -> Self {
        self.config.max_value_bytes = bytes;
        self
    }

    /// Override the lifetimes of one namespace.
    #[must_use]
    pub fn namespace(mut self, name: impl Into<String>, config: NamespaceConfig) -> Self {
        self.config.namespaces.insert(name.into(), config);
        self
    }

    /// Validate.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] as [`CacheBuilder::build`].
    pub fn build(self) -> Result<RegionConfig, Error> {
        self.config.validate()?;
        Ok(self.config)
    }
}

/// Named caches built from [`RegionConfig`]s: what the configuration layer hands the
/// application.
///
/// ```
/// use sealed_session::cache::{Cache, RegionConfig};
/// use std::collections::BTreeMap;
///
/// let configs: BTreeMap<String, RegionConfig> = serde_json::from_str(r#"{
///     "short": { "ttl_secs": 10, "capacity_bytes": 65536 },
///     "long": { "ttl_secs": 3600 }
/// }"#)?;
/// let regions = Cache::from_regions(configs)?;
/// let short = regions.get("short").expect("configured");
/// assert_eq!(short.capacity_bytes(), 65536);
/// assert!(regions.get("missing").is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CacheRegions {
    caches: BTreeMap<String, Cache>,
}

impl CacheRegions {
    /// Start building regions.
    pub fn builder() -> CacheRegionsBuilder {
        CacheRegionsBuilder {
            configs: BTreeMap::new(),
            clock: None,
            ring: None,
        }
    }

    /// The region with this name.
    pub fn get(&self, name: &str) -> Option<&Cache> {
        self.caches.get(name)
    }

    /// Every region, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Cache)> + '_ {
        self.caches.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// The number of regions.
    pub fn len(&self) -> usize {
        self.caches.len()
    }

    /// Whether there are no regions.
    pub fn is_empty(&self) -> bool {
        self.caches.is_empty()
    }
}

impl fmt::Debug for CacheRegions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.caches.iter()).finish()
    }
}

/// Builds [`CacheRegions`].
pub struct CacheRegionsBuilder {
    configs: BTreeMap<String, RegionConfig>,
    clock: Option<Arc<dyn CacheClock>>,
    ring: Option<KeyRing>,
}

impl CacheRegionsBuilder {
    /// Add one region (a later one with the same name replaces it).
    #[must_use]
    pub fn region(mut self, name: impl Into<String>, config: RegionConfig) -> Self {
        self.configs.insert(name.into(), config);
        self
    }

    /// Add regions, e.g. a deserialized map.
    #[must_use]
    pub fn regions<S: Into<String>>(
        mut self,
        configs: impl IntoIterator<Item = (S, RegionConfig)>,
    ) -> Self {
        self.configs
            .extend(configs.into_iter().map(|(n, c)| (n.into(), c)));
        self
    }

    /// The clock every region reads (default: a [`SystemCacheClock`](super::SystemCacheClock)
    /// per region).
    #[must_use]
    pub fn clock(mut self, clock: impl CacheClock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The key ring that seals the regions configured with `sealed: true` (default none).
    #[must_use]
    pub fn key_ring(mut self, ring: KeyRing) -> Self {
        self.ring = Some(ring);
        self
    }

    /// Build every region.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidConfig`] naming the region, if a configuration is invalid (see
    /// [`CacheBuilder::build`]) or a region is sealed and no key ring was given.
    pub fn build(self) -> Result<CacheRegions, Error> {
        let mut caches = BTreeMap::new();
        for (name, config) in self.configs {
            let in_region =
                |e: Error| Error::new(e.kind(), format!("cache region {name:?}: {}", e.message()));
            let mut b = config.to_builder().name(name.clone());
            if let Some(clock) = &self.clock {
                b = b.shared_clock(Arc::clone(clock));
            }
            if config.sealed {
                let ring = self.ring.clone().ok_or_else(|| {
                    in_region(Error::new(
                        ErrorKind::InvalidConfig,
                        "the region is sealed but no key ring was given",
                    ))
                })?;
                b = b.seal_with(ring);
            }
            let cache = b.build().map_err(in_region)?;
            caches.insert(name, cache);
        }
        Ok(CacheRegions { caches })
    }
}

impl fmt::Debug for CacheRegionsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheRegionsBuilder")
            .field("configs", &self.configs)
            .field("clock", &self.clock)
            .field("key_ring", &self.ring)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_fields() {
        let c: RegionConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(c, RegionConfig::default());
        assert_eq!(c, RegionConfig::builder().build().unwrap());
        assert!(serde_json::from_str::<RegionConfig>(r#"{"ttl_sec":1}"#).is_err());
        assert!(serde_json::from_str::<RegionConfig>(
            r#"{"namespaces":{"a":{"ttl_secs":1,"extra":2}}}"#
        )
        .is_err());
        let c: RegionConfig = serde_json::from_str(
            r#"{"ttl_secs":5,"grace_secs":2,"enabled":false,"sealed":true,
                "max_value_bytes":100,"namespaces":{"a":{"grace_secs":9}}}"#,
        )
        .unwrap();
        assert_eq!(c.ttl(), Duration::from_secs(5));
        assert_eq!(c.grace(), Duration::from_secs(2));
        assert!(!c.enabled() && c.sealed());
        assert_eq!(c.max_value_bytes(), 100);
        assert_eq!(
            c.namespaces().get("a").and_then(NamespaceConfig::grace),
            Some(Duration::from_secs(9))
        );
    }

    #[test]
    fn invalid_regions_are_named() {
        let zero: RegionConfig = serde_json::from_str(r#"{"ttl_secs":0}"#).unwrap();
        let e = CacheRegions::builder()
            .region("r1", zero)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().contains("r1"), "{e}");
        let sealed = RegionConfig::builder().sealed(true).build().unwrap();
        let e = CacheRegions::builder()
            .region("s", sealed.clone())
            .build()
            .unwrap_err();
        assert!(e.message().contains("key ring"), "{e}");
        let ok = CacheRegions::builder()
            .region("s", sealed)
            .key_ring(KeyRing::generate())
            .build()
            .unwrap();
        assert!(ok.get("s").is_some_and(Cache::is_sealed));
        assert!(RegionConfig::builder()
            .namespace(
                "n",
                NamespaceConfig {
                    ttl: Some(Duration::ZERO),
                    grace: None
                }
            )
            .build()
            .is_err());
    }
}
