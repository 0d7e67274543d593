//! # sealed-session
//!
//! Sessions kept in cookies that nobody can read or forge, and values cached behind the same
//! codec.
//!
//! - [`Codec`]: session data is serde-typed JSON with size and depth limits. Nothing on the wire
//!   can name a type to instantiate.
//! - [`KeyRing`]: one primary key that seals, older keys that still open, a pending key for rolling
//!   deploys, and a stateless revoke-all cutoff. Subkeys are derived once, with HKDF-SHA256.
//! - [`Sealer`]: signed (HMAC-SHA256, readable) or encrypted (AES-256-GCM-SIV by default,
//!   XChaCha20-Poly1305, AES-256-GCM) tokens in one versioned format, with the cookie name, a
//!   purpose and the issue and expiry times authenticated. Opening never panics: it returns the
//!   value or a typed [`Rejection`].
//!
//! The byte format is specified in `SECURITY.md` and pinned by the test vectors in `vectors/`.
//!
//! ## Quick start
//!
//! ```
//! use sealed_session::{Key, KeyRing, Rejection, Reseal, Sealer, UnixTime};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! struct Data { user: String, visits: u32 }
//!
//! let old = Key::generate();
//! let sealer = Sealer::builder(KeyRing::builder().primary(old.clone()).build()?, "id").build()?;
//! let now = UnixTime::now();
//! let token = sealer.seal_at(now, &Data { user: "ann".into(), visits: 1 })?;
//!
//! // Rotate: a new primary, the old key kept for opening.
//! let ring = KeyRing::builder().primary(Key::generate()).older(old).build()?;
//! let rotated = Sealer::builder(ring, "id").build()?;
//! let opened = rotated.open_at::<Data>(now, &token).expect("an older key still opens");
//! assert_eq!(opened.value().visits, 1);
//! assert_eq!(opened.reseal(), Some(Reseal::RotatedKey));
//!
//! // Tampering is a typed rejection, never a panic.
//! let mut bad = token.clone();
//! bad.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
//! assert_eq!(rotated.open_at::<Data>(now, &bad).unwrap_err(), Rejection::BadTag);
//! # Ok::<(), sealed_session::Error>(())
//! ```
//!
//! ## Features
//! - `axum`: a tower `SessionLayer` (any tower stack) and the axum `Session` extractor.
//! - `actix`: the actix-web `SessionMiddleware`, the `Session` extractor and `SessionExt`.
//! - `config`: key rings and session settings from a TOML file and `SEALED_SESSION_*` variables,
//!   with live reloading of the key ring.
//! - `cli`: the `sealed-session` command (`keygen`, `rotate`, `inspect`, `seal`).
//! - `cache`: namespaced, expiring values with single-flight creation in a bounded store.
//! - `test-vectors`: exposes [`Sealer::seal_raw_for_vectors`], which takes the nonce and skips the
//!   codec, to regenerate `vectors/`. Never enable it in an application.
//! - `redis`: the cache over Redis (`cache::RedisStore`, shared by every node) and revocations
//!   shared by every node (`cache::RedisRevocations`, for [`revocation`]). Needs a Tokio runtime.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod builder;
mod cache_control;
mod clock;
mod codec;
mod cookie_attributes;
mod cookie_header;
mod cookie_policy;
mod defaults;
mod envelope;
mod error;
mod keys;
mod manager;
mod primitives;
mod seal;
mod session;
mod typed_session;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
#[cfg(feature = "beaker-compat")]
pub mod beaker;
#[cfg(feature = "cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "cache")))]
pub mod cache;
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub mod config;
pub mod csrf;
pub mod flash;
pub mod revocation;

pub use builder::{SessionBuilder, SessionSettings};
pub use cache_control::{CacheSafety, ResponseHeader, ResponseHeaders};
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use codec::Codec;
pub use cookie_header::MAX_CANDIDATES;
pub use cookie_policy::{
    Chunking, CookieLifetime, CookiePolicy, CookiePolicyBuilder, SameSite, MAX_COOKIE_LIFETIME,
    MAX_SET_COOKIE_LEN,
};
pub use defaults::Defaults;
pub use envelope::{Mode, Timestamps};
pub use error::{Error, ErrorKind, MissingSession, Rejection};
pub use keys::{Key, KeyId, KeyRing, KeyRingBuilder, KeyState};
pub use manager::SessionManager;
pub use seal::{Opened, Reseal, Sealer, SealerBuilder, TokenMeta};
pub use session::{Session, SessionId, SessionStatus};
pub use typed_session::TypedSession;

/// The primitive wrappers the crate seals, opens and derives with, exposed only to run external
/// vectors (Wycheproof, RFC 4231, RFC 5869) through the same code paths. Hazardous: nonces are
/// the caller's job here.
#[cfg(feature = "test-vectors")]
#[doc(hidden)]
pub mod hazmat {
    pub use crate::primitives::{
        hkdf_sha256, AeadAlgorithm, AeadCipher, HmacSha256, PrimitiveError, AEAD_TAG_LEN,
        HMAC_TAG_LEN,
    };

    /// The candidate tokens a request's `Cookie` header values give under `policy`, with the
    /// number of chunks each was read from, in the order they are tried (`vectors/v1/chunks.json`).
    pub fn cookie_candidates(
        policy: &crate::CookiePolicy,
        headers: &[&[u8]],
    ) -> Vec<(String, usize)> {
        crate::cookie_header::read(policy, headers.iter().copied())
            .candidates
            .into_iter()
            .map(|c| (c.token, c.chunks))
            .collect()
    }
}

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
