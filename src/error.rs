//! Errors: one opaque [`Error`] for building and sealing, and [`Rejection`], the typed reason a
//! token did not open.
//!
//! The two are kept apart on purpose. An [`Error`] is the application's or the operator's problem
//! (a short key, a payload over the limit) and is returned to them. A [`Rejection`] is what an
//! attacker or a stale browser caused; the session layer turns it into a fresh session and a
//! `tracing` event, never into an error page.

use std::borrow::Cow;
use std::fmt;

/// What went wrong, for code that needs to branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A secret is shorter than 32 bytes, all zero, or not valid base64.
    InvalidKey,
    /// A key ring failed validation: no primary, two primaries, two pending keys, duplicate ids.
    InvalidKeyRing,
    /// A configuration value (cookie name, purpose, limit) is not acceptable.
    InvalidConfig,
    /// The payload, once encoded, is larger than the configured maximum.
    PayloadTooLarge,
    /// The payload nests deeper than the configured maximum.
    PayloadTooDeep,
    /// The payload is not acceptable JSON, or does not match the requested type.
    Codec,
    /// A timestamp computation overflowed (an absurd lifetime or clock).
    TimeOverflow,
    /// An AES-256-GCM key reached its safe number of seals (2^32); rotate the key.
    NonceLimit,
    /// The rendered `Set-Cookie` header would be larger than browsers accept.
    SessionTooLarge,
    /// A primitive failed where it cannot fail on valid input (reported, never panicked on).
    Crypto,
    /// A shared store (cache or revocation) did not answer within its timeout.
    StoreTimeout,
    /// A shared store could not be reached (connection refused or lost, a recent failure still
    /// cooling down, or no runtime to run on).
    StoreUnavailable,
    /// A shared store answered something unexpected (an error reply, a malformed record).
    StoreProtocol,
}

impl ErrorKind {
    /// A short, stable code for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidKey => "invalid_key",
            ErrorKind::InvalidKeyRing => "invalid_key_ring",
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::PayloadTooDeep => "payload_too_deep",
            ErrorKind::Codec => "codec",
            ErrorKind::TimeOverflow => "time_overflow",
            ErrorKind::NonceLimit => "nonce_limit",
            ErrorKind::SessionTooLarge => "session_too_large",
            ErrorKind::Crypto => "crypto",
            ErrorKind::StoreTimeout => "store_timeout",
            ErrorKind::StoreUnavailable => "store_unavailable",
            ErrorKind::StoreProtocol => "store_protocol",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The crate's error: a [`kind`](Error::kind) to branch on and a message for people.
///
/// Messages never contain key material or payload bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

impl Error {
    /// An error of `kind` with a message for people. Public so that third-party stores
    /// (revocation and cache stores) report failures in
    /// the crate's own type; the message must name what failed, never a secret or a value.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// A human-readable explanation (no secrets, no payload).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status the adapters answer with when a handler returns this error: `413` for
    /// [`ErrorKind::SessionTooLarge`] (the request asked for more than a cookie holds), `500`
    /// for everything else. The body is always empty; the kind and message go to the log.
    pub fn status_code(&self) -> u16 {
        match self.kind {
            ErrorKind::SessionTooLarge => 413,
            _ => 500,
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

/// The rejection of the adapters' `Session` extractors: the session layer (axum) or middleware
/// (actix-web) is not installed around the route. Answered with an opaque `500`; this text is
/// logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSession;

impl fmt::Display for MissingSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Session extractor needs the session layer or middleware around the route")
    }
}

impl std::error::Error for MissingSession {}

/// Why a token did not open. Each one means "treat this request as having no session".
///
/// The order of the variants follows the opening order: a token is checked for size, encoding,
/// version, key and tag before anything inside it is read, so every reason after
/// [`BadTag`](Rejection::BadTag) is about authenticated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// The token is longer than the configured maximum; it was not decoded.
    TooLarge,
    /// Not strict base64url without padding, or shorter than the smallest token of its mode.
    Malformed,
    /// The version byte is unknown, or names a mode this opener does not accept.
    UnsupportedVersion,
    /// No key in the ring has the token's key id (never issued by us, or the key was removed).
    UnknownKey,
    /// The tag did not verify: the token was altered, forged, sealed for another cookie name or
    /// purpose, or sealed under another secret with the same key id.
    BadTag,
    /// Past its absolute expiry (the token's own, or the opener's absolute lifetime).
    Expired,
    /// Not used for longer than the idle timeout.
    IdleTimeout,
    /// Issued (or created) further in the future than the clock leeway allows.
    NotYetValid,
    /// Issued before the key ring's revoke-all cutoff.
    Revoked,
    /// Authentic, but the payload is not acceptable to the codec (unknown codec id, reserved flag
    /// bits set, over the size or depth limit, not JSON, trailing data).
    Decode,
}

impl Rejection {
    /// Every variant, in opening order (for tests and metrics registration).
    pub const ALL: [Rejection; 10] = [
        Rejection::TooLarge,
        Rejection::Malformed,
        Rejection::UnsupportedVersion,
        Rejection::UnknownKey,
        Rejection::BadTag,
        Rejection::Expired,
        Rejection::IdleTimeout,
        Rejection::NotYetValid,
        Rejection::Revoked,
        Rejection::Decode,
    ];

    /// A short, stable reason code for logs, metrics and test vectors.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::TooLarge => "too_large",
            Rejection::Malformed => "malformed",
            Rejection::UnsupportedVersion => "unsupported_version",
            Rejection::UnknownKey => "unknown_key",
            Rejection::BadTag => "bad_tag",
            Rejection::Expired => "expired",
            Rejection::IdleTimeout => "idle_timeout",
            Rejection::NotYetValid => "not_yet_valid",
            Rejection::Revoked => "revoked",
            Rejection::Decode => "decode",
        }
    }

    /// The inverse of [`as_str`](Rejection::as_str).
    pub fn from_code(code: &str) -> Option<Rejection> {
        Rejection::ALL.into_iter().find(|r| r.as_str() == code)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_codes_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for r in Rejection::ALL {
            assert!(seen.insert(r.as_str()));
            assert_eq!(Rejection::from_code(r.as_str()), Some(r));
        }
        assert_eq!(Rejection::from_code("nope"), None);
    }

    #[test]
    fn error_display_has_kind_and_message() {
        let e = Error::new(
            ErrorKind::InvalidKey,
            "secret is 3 bytes; at least 32 are required",
        );
        assert_eq!(
            e.to_string(),
            "invalid_key: secret is 3 bytes; at least 32 are required"
        );
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
    }
}
