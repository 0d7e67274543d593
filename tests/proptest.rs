//! Property tests of [`Sealer`] over every [`Mode`], through the public API only:
//!
//! - (a) `open(seal(x)) == x` for arbitrary JSON values (nesting depth ≤ 8, arbitrary Unicode
//!   strings and keys, `i64`/`u64` and finite `f64` numbers that survive JSON text), with the
//!   metadata of a fresh seal;
//! - (b) every single-bit flip, truncation and extension (by 1–16 arbitrary bytes before base64,
//!   or by 1–16 base64url characters) of an arbitrary valid token is rejected, with the exact
//!   rejection the documented opening order predicts ([`model`]);
//! - (c) `open_at` never panics and always rejects, with the predicted rejection, on arbitrary
//!   Unicode strings, base64url-alphabet strings of 0..600 characters, arbitrary bytes encoded as
//!   base64url, and arbitrary bytes behind a real version byte and key id;
//! - (d) sealing arbitrary-size payloads under arbitrary limits either fails with
//!   [`ErrorKind::PayloadTooLarge`] exactly when a limit is exceeded, or yields a token of the
//!   predicted length, no longer than `max_token_len`, that opens to the same value;
//! - (e) the builders never panic on extreme settings (issue 17, item 3): [`SealerBuilder`] and
//!   [`CookiePolicyBuilder`] fed durations from zero to `Duration::MAX` (and the boundaries
//!   between), any chunk count and any token length either build or refuse with
//!   [`ErrorKind::InvalidConfig`], and what they build seals, opens and renders without
//!   panicking.
//!
//! Case counts are fixed per property (64–256) so the file runs in seconds in a debug build;
//! failures are not persisted to disk.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test, never a crash on hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::sync::LazyLock;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::Index;
use sealed_session::{
    Chunking, Codec, CookieLifetime, CookiePolicy, ErrorKind, Key, KeyId, KeyRing, Mode, Rejection,
    Sealer, SealerBuilder, SessionManager, UnixTime, MAX_COOKIE_LIFETIME,
};
use serde_json::Value;

#[path = "common/fixtures.rs"]
mod fixtures;

use fixtures::{model, ring_of, LIFETIME, T0};

/// The one key every sealer here uses.
static KEY: LazyLock<Key> = LazyLock::new(Key::generate);
static RING: LazyLock<KeyRing> = LazyLock::new(|| ring_of(&KEY));

/// One sealer per mode with room for large values (1 MiB tokens, 512 KiB payloads).
static ROOMY: LazyLock<Vec<Sealer>> = LazyLock::new(|| {
    Mode::ALL
        .into_iter()
        .map(|mode| {
            Sealer::builder(RING.clone(), "id")
                .mode(mode)
                .lifetime(LIFETIME)
                .max_token_len(1 << 20)
                .codec(Codec::new().with_max_bytes(1 << 19))
                .build()
                .unwrap()
        })
        .collect()
});

/// One sealer per mode with the default limits.
static DEFAULTS: LazyLock<Vec<Sealer>> = LazyLock::new(|| {
    Mode::ALL
        .into_iter()
        .map(|mode| {
            Sealer::builder(RING.clone(), "id")
                .mode(mode)
                .build()
                .unwrap()
        })
        .collect()
});

/// A sealer that opens every mode, with a second (older) key in its ring.
static LENIENT: LazyLock<Sealer> = LazyLock::new(|| {
    let ring = KeyRing::builder()
        .primary(KEY.clone())
        .older(Key::generate())
        .build()
        .unwrap();
    Mode::ALL
        .into_iter()
        .fold(Sealer::builder(ring, "id"), |b, m| b.also_open(m))
        .build()
        .unwrap()
});

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Open with `s` and check the rejection against the model.
fn check_rejected(s: &Sealer, token: &str, what: &str) -> Result<(), TestCaseError> {
    let accepted: Vec<Mode> = if std::ptr::eq(s, &*LENIENT) {
        Mode::ALL.to_vec()
    } else {
        vec![s.mode()]
    };
    let known: Vec<KeyId> = s.ring().keys().map(|(id, _)| id).collect();
    let expected = model(token, &accepted, &known);
    match s.open_at::<Value>(T0, token) {
        Ok(o) => Err(TestCaseError::fail(format!(
            "{}: {what}: opened to {:?} (token {token:?})",
            s.mode(),
            o.value()
        ))),
        Err(r) => {
            prop_assert_eq!(r, expected, "{}: {}: token {:?}", s.mode(), what, token);
            Ok(())
        }
    }
}

fn unicode_string(len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), len).prop_map(String::from_iter)
}

/// Whether `f` comes back bit-for-bit equal (as a JSON number) through JSON text.
fn survives_json_text(f: f64) -> bool {
    let v = Value::from(f);
    serde_json::from_str::<Value>(&v.to_string()).ok() == Some(v)
}

fn finite_f64() -> impl Strategy<Value = f64> {
    use prop::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    prop_oneof![
        POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
        -1.0e6..1.0e6f64,
    ]
    .prop_filter("finite and round-trips through JSON text", |f| {
        f.is_finite() && survives_json_text(*f)
    })
}

/// Arbitrary JSON, nesting at most `depth` arrays/objects.
fn json_value(depth: u32, size: u32) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        finite_f64().prop_map(Value::from),
        unicode_string(0..24).prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, size, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((unicode_string(0..12), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn nesting(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(nesting).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

fn mode_index() -> impl Strategy<Value = usize> {
    0..Mode::ALL.len()
}

// ---------------------------------------------------------------------------------------------
// (a) open(seal(x)) == x
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn open_of_seal_is_the_identity(v in json_value(8, 96)) {
        prop_assert!(nesting(&v) <= 8, "strategy depth: {}", nesting(&v));
        for s in ROOMY.iter() {
            let mode = s.mode();
            let token = s
                .seal_at(T0, &v)
                .map_err(|e| TestCaseError::fail(format!("{mode}: seal: {e}")))?;
            let opened = s
                .open_at::<Value>(T0, &token)
                .map_err(|r| TestCaseError::fail(format!("{mode}: open: {r:?}")))?;
            prop_assert_eq!(opened.value(), &v, "{}", mode);
            prop_assert_eq!(opened.reseal(), None, "{}", mode);
            let m = opened.meta();
            prop_assert_eq!(m.mode(), mode);
            prop_assert_eq!(m.key_id(), KEY.id(), "{}", mode);
            prop_assert_eq!(
                (m.created(), m.issued(), m.expires()),
                (T0, T0, UnixTime::from_secs(T0.as_secs() + LIFETIME.as_secs())),
                "{}", mode
            );
            let json_len = serde_json::to_vec(&v).unwrap().len();
            prop_assert_eq!(token.len(), mode.encoded_len(json_len), "{}", mode);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) tampering with valid tokens
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn tampered_tokens_are_rejected(
        m in mode_index(),
        v in json_value(3, 16),
        flip in any::<Index>(),
        cut_bytes in any::<Index>(),
        cut_chars in any::<Index>(),
        ext_bytes in prop::collection::vec(any::<u8>(), 1..=16),
        ext_chars in "[A-Za-z0-9_-]{1,16}",
    ) {
        let s = &ROOMY[m];
        let mode = s.mode();
        let token = s
            .seal_at(T0, &v)
            .map_err(|e| TestCaseError::fail(format!("{mode}: seal: {e}")))?;
        let bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        // The untouched token opens, so every rejection below is the edit's.
        prop_assert!(s.open_at::<Value>(T0, &token).is_ok(), "{}", mode);

        // A single-bit flip anywhere.
        let bit = flip.index(bytes.len() * 8);
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        check_rejected(s, &URL_SAFE_NO_PAD.encode(&flipped), &format!("bit {bit} flipped"))?;

        // Truncation, of the bytes and of the characters.
        let len = cut_bytes.index(bytes.len());
        check_rejected(
            s,
            &URL_SAFE_NO_PAD.encode(&bytes[..len]),
            &format!("truncated to {len} bytes"),
        )?;
        let len = cut_chars.index(token.len());
        check_rejected(s, &token[..len], &format!("truncated to {len} chars"))?;

        // Extension by arbitrary bytes (before base64): always as far as the tag.
        let mut extended = bytes.clone();
        extended.extend_from_slice(&ext_bytes);
        let extended = URL_SAFE_NO_PAD.encode(&extended);
        prop_assert_eq!(
            s.open_at::<Value>(T0, &extended).map(|o| o.into_value()),
            Err(Rejection::BadTag),
            "{}: extended by bytes {:02x?}", mode, ext_bytes
        );
        // Extension by base64url characters.
        check_rejected(s, &format!("{token}{ext_chars}"), &format!("extended by {ext_chars:?}"))?;
    }
}

// ---------------------------------------------------------------------------------------------
// (c) arbitrary input never panics and never opens
// ---------------------------------------------------------------------------------------------

fn all_openers() -> impl Iterator<Item = &'static Sealer> {
    DEFAULTS.iter().chain(std::iter::once(&*LENIENT))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_unicode_is_rejected(s in unicode_string(0..600)) {
        for opener in all_openers() {
            check_rejected(opener, &s, "arbitrary unicode")?;
        }
    }

    #[test]
    fn arbitrary_base64url_strings_are_rejected(s in "[A-Za-z0-9_-]{0,600}") {
        for opener in all_openers() {
            check_rejected(opener, &s, "base64url alphabet")?;
        }
    }

    #[test]
    fn arbitrary_bytes_as_base64url_are_rejected(
        bytes in prop::collection::vec(any::<u8>(), 0..450),
    ) {
        let token = URL_SAFE_NO_PAD.encode(&bytes);
        for opener in all_openers() {
            check_rejected(opener, &token, "arbitrary bytes")?;
        }
    }

    #[test]
    fn arbitrary_bytes_behind_a_real_header_are_rejected(
        m in mode_index(),
        rest in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mode = Mode::ALL[m];
        let mut bytes = vec![mode.version_byte()];
        bytes.extend_from_slice(&KEY.id().get().to_be_bytes());
        bytes.extend_from_slice(&rest);
        let token = URL_SAFE_NO_PAD.encode(&bytes);
        for opener in all_openers() {
            check_rejected(opener, &token, "real header, arbitrary rest")?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (d) sealing under limits
// ---------------------------------------------------------------------------------------------

fn payload() -> impl Strategy<Value = Value> {
    prop_oneof![
        unicode_string(0..2500).prop_map(Value::String),
        "[a-z]{0,6000}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..2000).prop_map(Value::from),
        json_value(4, 64),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn sealing_fails_with_payload_too_large_or_fits(
        m in mode_index(),
        v in payload(),
        max_len in prop_oneof![Just(sealed_session::SealerBuilder::DEFAULT_MAX_TOKEN_LEN), 0..10_000usize],
        max_bytes in prop_oneof![Just(Codec::DEFAULT_MAX_BYTES), 0..10_000usize],
    ) {
        let mode = Mode::ALL[m];
        let max_len = max_len.max(mode.encoded_len(2));
        let s = Sealer::builder(RING.clone(), "id")
            .mode(mode)
            .max_token_len(max_len)
            .codec(Codec::new().with_max_bytes(max_bytes))
            .build()
            .map_err(|e| TestCaseError::fail(format!("{mode}: build: {e}")))?;
        let json_len = serde_json::to_vec(&v).unwrap().len();
        let over = json_len > max_bytes || mode.encoded_len(json_len) > max_len;
        match s.seal_at(T0, &v) {
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::PayloadTooLarge, "{}: {}", mode, e);
                prop_assert!(
                    over,
                    "{}: refused a {}-byte payload (token {} chars) under limits {} bytes / {} chars",
                    mode, json_len, mode.encoded_len(json_len), max_bytes, max_len
                );
            }
            Ok(token) => {
                prop_assert!(!over, "{}: sealed over a limit", mode);
                prop_assert!(token.len() <= max_len, "{}: {} > {}", mode, token.len(), max_len);
                prop_assert_eq!(token.len(), mode.encoded_len(json_len), "{}", mode);
                let opened = s
                    .open_at::<Value>(T0, &token)
                    .map_err(|r| TestCaseError::fail(format!("{mode}: open: {r:?}")))?;
                prop_assert_eq!(opened.value(), &v, "{}", mode);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (e) Builders on extreme settings
// ---------------------------------------------------------------------------------------------

/// Durations a configuration could name: zero, sub-second, the documented limits and a second
/// either side of them, `Duration::MAX`, and arbitrary seconds and nanoseconds.
fn extreme_duration() -> impl Strategy<Value = Duration> {
    let limit = |d: Duration| {
        prop_oneof![
            Just(d),
            Just(d.saturating_sub(Duration::from_secs(1))),
            Just(d.saturating_add(Duration::from_secs(1))),
            Just(d.saturating_add(Duration::from_nanos(1))),
        ]
    };
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        Just(Duration::from_nanos(999_999_999)),
        limit(SealerBuilder::MAX_LIFETIME),
        limit(MAX_COOKIE_LIFETIME),
        limit(Duration::from_secs(u64::MAX)),
        limit(Duration::from_secs(i64::MAX as u64)),
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..1 << 40).prop_map(Duration::from_secs),
    ]
}

/// Fractions: every `f64` (NaN, infinities, subnormals) and the interesting ones in `0..=1`.
fn extreme_fraction() -> impl Strategy<Value = f64> {
    prop_oneof![
        proptest::num::f64::ANY,
        Just(0.0),
        Just(1.0),
        Just(-0.0),
        Just(1.0 + f64::EPSILON),
        0.0..=1.0f64,
    ]
}

fn extreme_time() -> impl Strategy<Value = UnixTime> {
    prop_oneof![
        Just(UnixTime::EPOCH),
        Just(UnixTime::from_secs(u64::MAX)),
        Just(T0),
        any::<u64>().prop_map(UnixTime::from_secs),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// (e) `SealerBuilder::build` is `Ok` or `InvalidConfig`, never a panic; a sealer it builds
    /// seals and opens at `T0`, and sealing at any time is `Ok` or `TimeOverflow`.
    #[test]
    fn sealer_builder_never_panics(
        lifetime in extreme_duration(),
        idle in proptest::option::of(extreme_duration()),
        refresh in proptest::option::of(extreme_duration()),
        leeway in extreme_duration(),
        max_len in prop_oneof![Just(0usize), Just(usize::MAX), any::<usize>(), 0usize..8192],
        mode in mode_index(),
        now in extreme_time(),
    ) {
        let built = Sealer::builder(RING.clone(), "id")
            .mode(Mode::ALL[mode])
            .lifetime(lifetime)
            .idle_timeout(idle)
            .refresh_after(refresh)
            .leeway(leeway)
            .max_token_len(max_len)
            .build();
        let sealer = match built {
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{}", e);
                return Ok(());
            }
            Ok(s) => s,
        };
        // Whatever was accepted is within the documented limits.
        prop_assert!(lifetime >= Duration::from_secs(1) && lifetime <= SealerBuilder::MAX_LIFETIME);
        prop_assert!(idle.is_none_or(|i| i >= Duration::from_secs(1) && i <= SealerBuilder::MAX_LIFETIME));
        prop_assert!(leeway <= SealerBuilder::MAX_LIFETIME);
        if let Ok(token) = sealer.seal_at(T0, &1u8) {
            let opened = sealer.open_at::<u8>(T0, &token);
            prop_assert!(opened.is_ok(), "{:?}", opened.err());
        }
        match sealer.seal_at(now, &1u8) {
            Ok(token) => {
                let _ = sealer.open_at::<u8>(now, &token);
            }
            Err(e) => prop_assert!(
                matches!(e.kind(), ErrorKind::TimeOverflow | ErrorKind::PayloadTooLarge),
                "{}", e
            ),
        }
    }

    /// (e) `CookiePolicyBuilder::build` is `Ok` or `InvalidConfig`; a policy it builds renders a
    /// cookie and a deletion at any time, with any expiry, without panicking, and a lifetime past
    /// the browsers' cap is capped rather than refused.
    #[test]
    fn cookie_policy_builder_never_panics(
        persistent in proptest::option::of(extreme_duration()),
        chunks in proptest::option::of(prop_oneof![Just(0usize), Just(usize::MAX), any::<usize>()]),
        now in extreme_time(),
        expires in proptest::option::of(extreme_time()),
        session_lifetime in proptest::option::of(extreme_duration()),
    ) {
        let lifetime = persistent.map_or(CookieLifetime::BrowserSession, CookieLifetime::Persistent);
        let built = CookiePolicy::builder("id")
            .lifetime(lifetime)
            .chunking(chunks.map(Chunking::new))
            .build();
        let policy = match built {
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{}", e);
                prop_assert!(persistent.is_some_and(|d| d < Duration::from_secs(1)));
                return Ok(());
            }
            Ok(p) => p,
        };
        let render_lifetime = session_lifetime.map_or(lifetime, CookieLifetime::Persistent);
        let rendered = policy.render("id", "v", now, render_lifetime, expires);
        prop_assert!(rendered.is_ok(), "{:?}", rendered.err());
        let removal = policy.render_removal(&policy.chunk_name(policy.max_chunks() - 1));
        prop_assert!(removal.contains("Max-Age=0"), "{}", removal);
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// (e) The session builder on extreme idle timeouts and refresh fractions: `Ok` or
    /// `InvalidConfig`, never a panic. Its `idle.mul_f64(fraction)` panicked for
    /// `Duration::MAX` with a fraction of 1; the builder now computes the refresh point with the
    /// panic-free `seal::refresh_after`.
    #[test]
    fn session_builder_never_panics(
        idle in proptest::option::of(extreme_duration()),
        fraction in extreme_fraction(),
        lifetime in extreme_duration(),
        leeway in extreme_duration(),
    ) {
        let built = SessionManager::builder(RING.clone())
            .with_idle_timeout(idle)
            .with_refresh_fraction(fraction)
            .with_lifetime(lifetime)
            .with_leeway(leeway)
            .build();
        if let Err(e) = built {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{}", e);
        }
    }
}
