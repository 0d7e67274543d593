//! Integration tests of [`Sealer`] through the public API only, table-driven over every
//! [`Mode`]: a `per_mode!` macro turns each `fn case(mode: Mode)` below into one `#[test]` per
//! mode (`signed::case`, `xchacha20poly1305::case`, `aes_256_gcm::case`,
//! `aes_256_gcm_siv::case`), and every assertion names the mode in its failure message.
//!
//! Covered: round trips (typed struct, `serde_json::Value`), the wire layout, metadata,
//! `reseal_at`, nonce freshness, a negative test for every [`Rejection`] variant, exhaustive
//! single-bit flips, single-character substitutions, truncations and extensions of short tokens,
//! key rotation (older and pending keys), mode migration, rolling refresh, the injected clock,
//! secret-free `Debug` output and error messages, and concurrent use from 8 threads.
//!
//! Expected rejections of mutated tokens come from [`model`], which states the documented opening
//! order (size, encoding and minimum length, version, key, tag) independently of the crate.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test, never a crash on hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use sealed_session::{
    Codec, ErrorKind, Key, KeyId, KeyRing, ManualClock, Mode, Opened, Rejection, Reseal, Sealer,
    SealerBuilder, UnixTime,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------------------------

#[path = "common/fixtures.rs"]
mod fixtures;

use fixtures::{
    at, base64url, model, ring_of, sealer_builder as builder, secs, unb64, LIFETIME, T0,
};

/// `LIFETIME` in seconds.
const LIFETIME_SECS: u64 = LIFETIME.as_secs();
/// The default largest token.
const MAX: usize = SealerBuilder::DEFAULT_MAX_TOKEN_LEN;
/// The 64 characters of the base64url alphabet.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A sealer for `mode` whose ring holds the single key `key`.
fn sealer(mode: Mode, key: &Key) -> Sealer {
    builder(mode, ring_of(key)).build().unwrap()
}

/// Open `token` as a JSON value; panic with `what` if it is rejected.
#[track_caller]
fn open_ok(s: &Sealer, now: UnixTime, token: &str, what: &str) -> Opened<Value> {
    s.open_at::<Value>(now, token)
        .unwrap_or_else(|r| panic!("{what}: expected the token to open, got {r:?}"))
}

/// Assert that `token` is rejected with exactly `expected`.
#[track_caller]
fn assert_rejects(s: &Sealer, now: UnixTime, token: &str, expected: Rejection, what: &str) {
    match s.open_at::<Value>(now, token) {
        Ok(o) => panic!(
            "{what}: expected {expected:?}, but the token opened to {:?}",
            o.value()
        ),
        Err(r) => assert_eq!(r, expected, "{what} (token {token:?})"),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Cart {
    items: Vec<(u32, u16)>,
    note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Session {
    user: String,
    visits: u32,
    roles: Vec<String>,
    cart: Option<Cart>,
    balance: i64,
    ratio: f64,
    flags: std::collections::BTreeMap<String, bool>,
}

fn session(user: &str, visits: u32) -> Session {
    Session {
        user: user.to_owned(),
        visits,
        roles: vec!["admin".into(), "ünïcødé ✓".into(), String::new()],
        cart: Some(Cart {
            items: vec![(1, 2), (u32::MAX, u16::MAX)],
            note: Some("line\nbreak \"quoted\" \\ backslash \u{0} nul".into()),
        }),
        balance: i64::MIN,
        ratio: -0.375,
        flags: [("beta".to_owned(), true), ("dark".to_owned(), false)]
            .into_iter()
            .collect(),
    }
}

/// A token of `s` whose decoded length is ≡ `residue` (mod 3), so its base64 form is
/// ≡ 0, 2 or 3 (mod 4) characters long.
fn token_with_residue(s: &Sealer, residue: usize) -> (String, Value) {
    for n in 0..3 {
        let v = json!("x".repeat(n));
        let t = s.seal_at(T0, &v).unwrap();
        if unb64(&t).len() % 3 == residue {
            return (t, v);
        }
    }
    unreachable!("three consecutive payload lengths cover every residue")
}

/// Replace the character at `i` of an ASCII string.
fn replace_at(s: &str, i: usize, with: &str) -> String {
    let mut out = s.to_owned();
    out.replace_range(i..=i, with);
    out
}

/// Generate one `#[test]` per mode for each listed `fn case(mode: Mode)`.
macro_rules! per_mode {
    (modes: [$($module:ident => $mode:ident),* $(,)?]; cases: $cases:tt $(;)?) => {
        $( per_mode!(@one $module, $mode, $cases); )*
    };
    (@one $module:ident, $mode:ident, [$($case:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $case() {
                    super::$case(sealed_session::Mode::$mode);
                }
            )*
        }
    };
}

per_mode! {
    modes: [
        signed => Signed,
        xchacha20poly1305 => XChaCha20Poly1305,
        aes_256_gcm => Aes256Gcm,
        aes_256_gcm_siv => Aes256GcmSiv,
    ];
    cases: [
        round_trip_typed_struct,
        round_trip_json_values,
        wire_layout_and_metadata,
        reseal_keeps_created_and_expires_and_moves_issued,
        two_seals_of_the_same_value,
        too_large_is_checked_before_decoding,
        sealing_respects_max_token_len_exactly,
        malformed_encodings,
        malformed_every_short_length,
        unsupported_version_bytes,
        unsupported_cross_mode,
        unknown_key_after_removal,
        bad_tag_same_key_id_other_secret,
        bad_tag_other_cookie_name_or_purpose,
        bad_tag_truncated_tags,
        expired_at_and_after_expiry,
        expired_by_openers_shorter_lifetime,
        extreme_timestamps,
        idle_timeout_at_exactly_issued_plus_idle,
        not_yet_valid_beyond_leeway,
        revoked_before_cutoff,
        decode_over_openers_codec_limits,
        every_single_bit_flip_is_rejected,
        every_character_substitution_is_rejected,
        every_truncation_and_extension_is_rejected,
        rotation_older_key_reseals_under_primary,
        pending_key_activation,
        also_open_gives_mode_changed,
        refresh_after_boundary,
        plain_seal_and_open_use_the_injected_clock,
        debug_never_contains_the_secret,
        error_messages_never_contain_the_payload,
        concurrent_use_from_eight_threads,
    ];
}

#[test]
fn mode_all_is_exactly_the_four_tested_modes() {
    assert_eq!(
        Mode::ALL,
        [
            Mode::Signed,
            Mode::XChaCha20Poly1305,
            Mode::Aes256Gcm,
            Mode::Aes256GcmSiv
        ],
        "a new mode needs a module in per_mode!"
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips and metadata
// ---------------------------------------------------------------------------------------------

fn round_trip_typed_struct(mode: Mode) {
    let key = Key::generate();
    let s = sealer(mode, &key);
    let v = session("ann", 7);
    let token = s.seal_at(T0, &v).unwrap();
    let opened = s
        .open_at::<Session>(at(10), &token)
        .unwrap_or_else(|r| panic!("{mode}: {r:?}"));
    assert_eq!(opened.value(), &v, "{mode}: value");
    assert_eq!(opened.reseal(), None, "{mode}: no reseal hint");
    let meta = *opened.meta();
    assert_eq!(meta.mode(), mode, "{mode}: meta.mode");
    assert_eq!(meta.key_id(), key.id(), "{mode}: meta.key_id");
    assert_eq!(meta.created(), T0, "{mode}: created");
    assert_eq!(meta.issued(), T0, "{mode}: issued");
    assert_eq!(meta.expires(), at(LIFETIME_SECS), "{mode}: expires");
    let (value, meta2, reseal) = opened.into_parts();
    assert_eq!((value, meta2, reseal), (v.clone(), meta, None), "{mode}");

    // The same token opens as an untyped value equal to the struct's JSON.
    let untyped = open_ok(&s, T0, &token, &format!("{mode}: as Value"));
    assert_eq!(
        untyped.into_value(),
        serde_json::to_value(&v).unwrap(),
        "{mode}: as Value"
    );
}

fn round_trip_json_values(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    let values = [
        json!({}),
        json!([]),
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1.5e300),
        json!(-0.000_001),
        json!(""),
        json!("🦀 \u{7f} \u{1} \u{ffff} 𝄞 \"\\/"),
        json!({"user": "ann", "nested": {"a": [1, 2, {"b": null}], "c": "d"}, "e": [[[[]]]]}),
        json!({"": "", "k\u{0}ey": "v", "🔑": ["x", 1.25, false]}),
    ];
    for v in values {
        let token = s.seal_at(T0, &v).unwrap();
        let opened = open_ok(&s, T0, &token, &format!("{mode}: {v}"));
        assert_eq!(opened.value(), &v, "{mode}: round trip of {v}");
        assert_eq!(opened.meta().mode(), mode, "{mode}: {v}");
    }
}

fn wire_layout_and_metadata(mode: Mode) {
    let key = Key::generate();
    let s = sealer(mode, &key);
    let secret_marker = "a-readable-marker-0123456789";
    let v = json!({ "m": secret_marker });
    let payload = serde_json::to_vec(&v).unwrap();
    let token = s.seal_at(T0, &v).unwrap();

    assert_eq!(
        token.len(),
        mode.encoded_len(payload.len()),
        "{mode}: length"
    );
    assert!(
        token.bytes().all(|c| ALPHABET.contains(&c)),
        "{mode}: base64url alphabet only: {token}"
    );
    let bytes = unb64(&token);
    assert_eq!(bytes.len(), mode.overhead() + payload.len(), "{mode}");
    assert_eq!(
        mode.overhead(),
        mode.header_len() + 25 + mode.tag_len(),
        "{mode}"
    );
    let (nonce_len, tag_len) = match mode {
        Mode::Signed => (0, 32),
        Mode::XChaCha20Poly1305 => (24, 16),
        _ => (12, 16),
    };
    assert_eq!(
        (mode.nonce_len(), mode.tag_len()),
        (nonce_len, tag_len),
        "{mode}"
    );
    assert_eq!(bytes[0], mode.version_byte(), "{mode}: version byte");
    assert_eq!(
        &bytes[1..5],
        &key.id().get().to_be_bytes(),
        "{mode}: key id"
    );

    let env_start = 5 + nonce_len;
    let env = &bytes[env_start..bytes.len() - tag_len];
    let mut expected_env = vec![1u8]; // flags: the JSON codec
    expected_env.extend_from_slice(&T0.as_secs().to_be_bytes());
    expected_env.extend_from_slice(&T0.as_secs().to_be_bytes());
    expected_env.extend_from_slice(&at(LIFETIME_SECS).as_secs().to_be_bytes());
    expected_env.extend_from_slice(&payload);
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    if mode.is_encrypted() {
        assert_ne!(env, &expected_env[..], "{mode}: the envelope is encrypted");
        assert!(
            !contains(&bytes, secret_marker.as_bytes()),
            "{mode}: plaintext visible in an encrypted token"
        );
    } else {
        assert_eq!(
            env,
            &expected_env[..],
            "{mode}: signed envelope is readable"
        );
    }

    let meta = *open_ok(&s, T0, &token, &format!("{mode}")).meta();
    assert_eq!(
        (meta.created(), meta.issued(), meta.expires()),
        (T0, T0, at(LIFETIME_SECS)),
        "{mode}"
    );
    let times = meta.times();
    assert_eq!(
        (times.created, times.issued, times.expires),
        (T0, T0, at(LIFETIME_SECS)),
        "{mode}"
    );
}

fn reseal_keeps_created_and_expires_and_moves_issued(mode: Mode) {
    let key = Key::generate();
    let s = sealer(mode, &key);
    let first = s.seal_at(T0, &session("ann", 1)).unwrap();
    let opened = s
        .open_at::<Session>(at(100), &first)
        .unwrap_or_else(|r| panic!("{mode}: {r:?}"));
    let changed = session("ann", 2);
    let second = s.reseal_at(at(100), &changed, opened.meta()).unwrap();
    assert_ne!(first, second, "{mode}: reseal gives a new token");

    let reopened = s
        .open_at::<Session>(at(200), &second)
        .unwrap_or_else(|r| panic!("{mode}: {r:?}"));
    assert_eq!(reopened.value(), &changed, "{mode}: new value");
    let m = reopened.meta();
    assert_eq!(m.created(), T0, "{mode}: created kept");
    assert_eq!(m.issued(), at(100), "{mode}: issued moved");
    assert_eq!(m.expires(), at(LIFETIME_SECS), "{mode}: expires kept");
    assert_eq!(m.key_id(), key.id(), "{mode}");
    assert_eq!(m.mode(), mode, "{mode}");
    assert_eq!(reopened.reseal(), None, "{mode}");

    // A reseal of the same value at the same instant: encrypted modes draw a fresh nonce.
    let same = s.seal_at(T0, &session("ann", 1)).unwrap();
    let meta0 = *open_ok(&s, T0, &same, &format!("{mode}")).meta();
    let again = s.reseal_at(T0, &session("ann", 1), &meta0).unwrap();
    if mode.is_encrypted() {
        assert_ne!(same, again, "{mode}: a reseal must use a fresh nonce");
        let n = 5..5 + mode.nonce_len();
        assert_ne!(
            &unb64(&same)[n.clone()],
            &unb64(&again)[n],
            "{mode}: nonces"
        );
    } else {
        assert_eq!(
            same, again,
            "{mode}: signed tokens are deterministic for equal inputs"
        );
    }
    // The resealed token still expires at the original expiry.
    assert_rejects(
        &s,
        at(LIFETIME_SECS),
        &second,
        Rejection::Expired,
        &format!("{mode}: resealed token past the original expiry"),
    );
}

fn two_seals_of_the_same_value(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    let v = json!({"user": "ann"});
    let tokens: Vec<String> = (0..16).map(|_| s.seal_at(T0, &v).unwrap()).collect();
    for t in &tokens {
        assert_eq!(open_ok(&s, T0, t, &format!("{mode}")).value(), &v, "{mode}");
    }
    let distinct: std::collections::HashSet<&String> = tokens.iter().collect();
    if mode.is_encrypted() {
        assert_eq!(
            distinct.len(),
            tokens.len(),
            "{mode}: encrypted seals of one value must all differ"
        );
        let nonces: std::collections::HashSet<Vec<u8>> = tokens
            .iter()
            .map(|t| unb64(t)[5..5 + mode.nonce_len()].to_vec())
            .collect();
        assert_eq!(nonces.len(), tokens.len(), "{mode}: nonces must all differ");
    } else {
        assert_eq!(
            distinct.len(),
            1,
            "{mode}: signed seals of one value at one time are identical"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// TooLarge
// ---------------------------------------------------------------------------------------------

fn too_large_is_checked_before_decoding(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    assert_eq!(s.max_token_len(), MAX, "{mode}");
    // Length ≡ 1 (mod 4) and all zero bytes: it would be Malformed if it were decoded.
    assert_rejects(
        &s,
        T0,
        &"A".repeat(MAX + 1),
        Rejection::TooLarge,
        &format!("{mode}: max+1"),
    );
    assert_rejects(
        &s,
        T0,
        &"A".repeat(100 * 1024),
        Rejection::TooLarge,
        &format!("{mode}: 100 KiB"),
    );
    assert_rejects(
        &s,
        T0,
        &"!".repeat(100 * 1024),
        Rejection::TooLarge,
        &format!("{mode}: 100 KiB of junk"),
    );
    // Exactly the maximum is decoded: 4096 'A's are 3072 zero bytes, version byte 0x00.
    assert_rejects(
        &s,
        T0,
        &"A".repeat(MAX),
        Rejection::UnsupportedVersion,
        &format!("{mode}: exactly max is not TooLarge"),
    );
    // A valid token padded past the limit with valid base64 is TooLarge, not BadTag.
    let token = s.seal_at(T0, &json!({})).unwrap();
    let mut long = unb64(&token);
    long.resize(MAX, 0);
    let long = base64url(&long);
    assert!(long.len() > MAX, "{mode}");
    assert_rejects(
        &s,
        T0,
        &long,
        Rejection::TooLarge,
        &format!("{mode}: valid prefix, too long"),
    );

    // A real token exactly at an opener's maximum opens; one character less of maximum does not.
    let key = Key::generate();
    let big = json!({ "pad": "p".repeat(200) });
    let token = sealer(mode, &key).seal_at(T0, &big).unwrap();
    let exact = builder(mode, ring_of(&key))
        .max_token_len(token.len())
        .build()
        .unwrap();
    assert_eq!(
        open_ok(&exact, T0, &token, &format!("{mode}: exactly max")).value(),
        &big,
        "{mode}"
    );
    let smaller = builder(mode, ring_of(&key))
        .max_token_len(token.len() - 1)
        .build()
        .unwrap();
    assert_rejects(
        &smaller,
        T0,
        &token,
        Rejection::TooLarge,
        &format!("{mode}: one over"),
    );
}

fn sealing_respects_max_token_len_exactly(mode: Mode) {
    let key = Key::generate();
    let fits = json!("f".repeat(100));
    let len = serde_json::to_vec(&fits).unwrap().len();
    let max = mode.encoded_len(len);
    let s = builder(mode, ring_of(&key))
        .max_token_len(max)
        .build()
        .unwrap();
    let token = s.seal_at(T0, &fits).unwrap();
    assert_eq!(token.len(), max, "{mode}: a token of exactly max_token_len");
    assert_eq!(
        open_ok(&s, T0, &token, &format!("{mode}")).value(),
        &fits,
        "{mode}"
    );
    let err = s.seal_at(T0, &json!("f".repeat(101))).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PayloadTooLarge, "{mode}: {err}");
    // A limit below an empty object's token is a configuration error.
    let err = builder(mode, ring_of(&key))
        .max_token_len(mode.encoded_len(2) - 1)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig, "{mode}: {err}");
}

// ---------------------------------------------------------------------------------------------
// Malformed
// ---------------------------------------------------------------------------------------------

fn malformed_encodings(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    let m = Rejection::Malformed;
    assert_rejects(&s, T0, "", m, &format!("{mode}: empty"));

    for residue in 0..3 {
        let (token, value) = token_with_residue(&s, residue);
        let what = |case: &str| format!("{mode}: residue {residue}: {case}");
        // The unmodified token opens: every rejection below is caused by the edit.
        assert_eq!(
            open_ok(&s, T0, &token, &what("original")).value(),
            &value,
            "{mode}"
        );
        let mid = token.len() / 2;

        for bad in ["!", "*", ".", "~", "$", "=", "%", "é", "\u{fffd}"] {
            assert_rejects(
                &s,
                T0,
                &replace_at(&token, mid, bad),
                m,
                &what(&format!("char {bad:?}")),
            );
            assert_rejects(
                &s,
                T0,
                &format!("{bad}{token}"),
                m,
                &what(&format!("leading {bad:?}")),
            );
        }
        // The standard alphabet.
        for (i, c) in [(mid, "+"), (mid, "/"), (token.len() - 2, "+"), (7, "/")] {
            assert_rejects(
                &s,
                T0,
                &replace_at(&token, i, c),
                m,
                &what(&format!("{c} at {i}")),
            );
        }
        let bytes = unb64(&token);
        let std = STANDARD_NO_PAD.encode(&bytes);
        if std != token {
            assert_rejects(&s, T0, &std, m, &what("standard alphabet encoding"));
        }
        // Padding, correct or not.
        let padded = URL_SAFE.encode(&bytes);
        if padded != token {
            assert_rejects(&s, T0, &padded, m, &what("correctly padded"));
        }
        let std_padded = STANDARD.encode(&bytes);
        if std_padded != token {
            assert_rejects(&s, T0, &std_padded, m, &what("standard alphabet, padded"));
        }
        for pad in ["=", "==", "===", "===="] {
            assert_rejects(
                &s,
                T0,
                &format!("{token}{pad}"),
                m,
                &what(&format!("appended {pad}")),
            );
        }
        // Length ≡ 1 (mod 4): never a base64 length.
        let chars_to_add = (1 + 4 - token.len() % 4) % 4;
        let one_mod_four = format!("{token}{}", "A".repeat(chars_to_add));
        assert_eq!(one_mod_four.len() % 4, 1, "{mode}");
        assert_rejects(&s, T0, &one_mod_four, m, &what("len ≡ 1 mod 4 (extended)"));
        let cut = token.len() - (token.len() % 4 + 3) % 4;
        assert_eq!(cut % 4, 1, "{mode}");
        assert_rejects(&s, T0, &token[..cut], m, &what("len ≡ 1 mod 4 (cut)"));

        // White space and control characters, inside and around.
        for ws in [
            " ", "\t", "\n", "\r", "\r\n", "\u{0}", "\u{7}", "\u{b}", "\u{c}", "\u{1b}", "\u{7f}",
            "\u{a0}", "\u{2028}", "\u{feff}",
        ] {
            let mut inside = token.clone();
            inside.insert_str(mid, ws);
            assert_rejects(&s, T0, &inside, m, &what(&format!("{ws:?} inside")));
            assert_rejects(
                &s,
                T0,
                &format!("{ws}{token}"),
                m,
                &what(&format!("{ws:?} before")),
            );
            assert_rejects(
                &s,
                T0,
                &format!("{token}{ws}"),
                m,
                &what(&format!("{ws:?} after")),
            );
        }

        // A non-canonical last character: the unused low bits set.
        if residue != 0 {
            let last = *token.as_bytes().last().unwrap();
            let value = ALPHABET.iter().position(|&c| c == last).unwrap();
            let unused_bits = if residue == 1 { 4 } else { 2 };
            assert_eq!(
                value & ((1 << unused_bits) - 1),
                0,
                "{mode}: canonical tokens leave the unused bits zero"
            );
            for low in 1..(1 << unused_bits) {
                let c = ALPHABET[value | low] as char;
                let noncanonical = replace_at(&token, token.len() - 1, &c.to_string());
                assert_rejects(
                    &s,
                    T0,
                    &noncanonical,
                    m,
                    &what(&format!("non-canonical last char {c}")),
                );
            }
        }
    }
}

fn malformed_every_short_length(mode: Mode) {
    let key = Key::generate();
    let s = sealer(mode, &key);
    let real = unb64(&s.seal_at(T0, &json!({})).unwrap());
    for len in 0..mode.overhead() {
        // Zeros after a valid header start...
        let mut bytes = vec![0u8; len];
        if len > 0 {
            bytes[0] = mode.version_byte();
        }
        if len >= 5 {
            bytes[1..5].copy_from_slice(&key.id().get().to_be_bytes());
        }
        assert_rejects(
            &s,
            T0,
            &base64url(&bytes),
            Rejection::Malformed,
            &format!("{mode}: {len} zero-filled bytes"),
        );
        // ...and a prefix of a real token.
        assert_rejects(
            &s,
            T0,
            &base64url(&real[..len]),
            Rejection::Malformed,
            &format!("{mode}: {len}-byte prefix of a real token"),
        );
    }
    // The minimum itself is no longer Malformed: it gets as far as the tag.
    let mut min = vec![0xa5u8; mode.overhead()];
    min[0] = mode.version_byte();
    min[1..5].copy_from_slice(&key.id().get().to_be_bytes());
    assert_rejects(
        &s,
        T0,
        &base64url(&min),
        Rejection::BadTag,
        &format!("{mode}: exactly the minimum length"),
    );
}

// ---------------------------------------------------------------------------------------------
// UnsupportedVersion, UnknownKey, BadTag
// ---------------------------------------------------------------------------------------------

fn unsupported_version_bytes(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    let token = s.seal_at(T0, &json!({"user": "ann"})).unwrap();
    let bytes = unb64(&token);
    for ver in [0x00u8, 0xff, 0x15, 0x10, 0x01, 0x21, 0x1f, 0x41] {
        let mut edited = bytes.clone();
        edited[0] = ver;
        assert_rejects(
            &s,
            T0,
            &base64url(&edited),
            Rejection::UnsupportedVersion,
            &format!("{mode}: version byte {ver:#04x}"),
        );
    }
}

fn unsupported_cross_mode(mode: Mode) {
    let ring = ring_of(&Key::generate());
    let opener = builder(mode, ring.clone()).build().unwrap();
    for other in Mode::ALL.into_iter().filter(|m| *m != mode) {
        let other_sealer = builder(other, ring.clone()).build().unwrap();
        let token = other_sealer.seal_at(T0, &json!({"user": "ann"})).unwrap();
        assert_rejects(
            &opener,
            T0,
            &token,
            Rejection::UnsupportedVersion,
            &format!("{other} token given to a {mode} opener"),
        );
        // And the reverse.
        let mine = opener.seal_at(T0, &json!({"user": "ann"})).unwrap();
        assert_rejects(
            &other_sealer,
            T0,
            &mine,
            Rejection::UnsupportedVersion,
            &format!("{mode} token given to a {other} opener"),
        );
    }
}

fn unknown_key_after_removal(mode: Mode) {
    let (k1, k2, k3) = (Key::generate(), Key::generate(), Key::generate());
    let old = sealer(mode, &k1);
    let token = old.seal_at(T0, &json!({"user": "ann"})).unwrap();
    // k1 was rotated out and then removed.
    assert_rejects(
        &sealer(mode, &k2),
        T0,
        &token,
        Rejection::UnknownKey,
        &format!("{mode}: single other key"),
    );
    let ring = KeyRing::builder()
        .primary(k2.clone())
        .older(k3.clone())
        .build()
        .unwrap();
    assert_rejects(
        &builder(mode, ring).build().unwrap(),
        T0,
        &token,
        Rejection::UnknownKey,
        &format!("{mode}: ring without the key"),
    );
    // The key id is what is looked up: the same secret under another id is unknown too.
    assert_rejects(
        &sealer(mode, &k1.clone().with_id(KeyId::new(k1.id().get() ^ 1))),
        T0,
        &token,
        Rejection::UnknownKey,
        &format!("{mode}: same secret, other id"),
    );
}

fn bad_tag_same_key_id_other_secret(mode: Mode) {
    let id = KeyId::new(0x2024_0101);
    let ours = Key::generate().with_id(id);
    let theirs = Key::generate().with_id(id);
    let token = sealer(mode, &theirs)
        .seal_at(T0, &json!({"admin": true}))
        .unwrap();
    assert_eq!(&unb64(&token)[1..5], &id.get().to_be_bytes(), "{mode}");
    assert_rejects(
        &sealer(mode, &ours),
        T0,
        &token,
        Rejection::BadTag,
        &format!("{mode}: another deployment's secret under our key id"),
    );
}

fn bad_tag_other_cookie_name_or_purpose(mode: Mode) {
    let ring = ring_of(&Key::generate());
    let mk = |name: &str, purpose: &str| {
        Sealer::builder(ring.clone(), name)
            .mode(mode)
            .lifetime(LIFETIME)
            .purpose(purpose)
            .build()
            .unwrap()
    };
    let pairs = [
        (("id", "session"), ("other", "session")),
        (("id", "session"), ("id", "csrf")),
        (("__Host-id", "session"), ("id", "session")),
        (("id", "session"), ("__Host-id", "session")),
        (("id", "session"), ("__Secure-id", "session")),
        (("id", "session"), ("ID", "session")),
        (("ab", "c"), ("a", "bc")),
        (("id", "session"), ("session", "id")),
    ];
    for ((n1, p1), (n2, p2)) in pairs {
        let sealing = mk(n1, p1);
        let opening = mk(n2, p2);
        let token = sealing.seal_at(T0, &json!({"user": "ann"})).unwrap();
        assert_eq!(
            open_ok(&sealing, T0, &token, &format!("{mode}: {n1}/{p1}")).value(),
            &json!({"user": "ann"}),
            "{mode}"
        );
        assert_rejects(
            &opening,
            T0,
            &token,
            Rejection::BadTag,
            &format!("{mode}: sealed for {n1:?}/{p1:?}, opened as {n2:?}/{p2:?}"),
        );
    }
    // The default purpose is "session".
    let default_purpose = Sealer::builder(ring.clone(), "id")
        .mode(mode)
        .lifetime(LIFETIME)
        .build()
        .unwrap();
    assert_eq!(default_purpose.purpose(), "session", "{mode}");
    let token = default_purpose.seal_at(T0, &json!(1)).unwrap();
    assert_eq!(
        open_ok(&mk("id", "session"), T0, &token, &format!("{mode}")).value(),
        &json!(1),
        "{mode}"
    );
}

fn bad_tag_truncated_tags(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    // A payload long enough that a truncated token is still above the minimum length.
    let token = s.seal_at(T0, &json!({ "pad": "q".repeat(64) })).unwrap();
    let bytes = unb64(&token);
    let max_cut = if mode.is_encrypted() { 15 } else { 31 };
    for cut in 1..=max_cut {
        let truncated = &bytes[..bytes.len() - cut];
        assert!(truncated.len() >= mode.overhead(), "{mode}");
        assert_rejects(
            &s,
            T0,
            &base64url(truncated),
            Rejection::BadTag,
            &format!("{mode}: tag truncated by {cut} bytes"),
        );
    }
    // A zeroed tag.
    let mut zeroed = bytes.clone();
    let n = zeroed.len();
    zeroed[n - mode.tag_len()..].fill(0);
    assert_rejects(
        &s,
        T0,
        &base64url(&zeroed),
        Rejection::BadTag,
        &format!("{mode}: zero tag"),
    );
}

// ---------------------------------------------------------------------------------------------
// Time policy, revocation, codec
// ---------------------------------------------------------------------------------------------

fn expired_at_and_after_expiry(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    let token = s.seal_at(T0, &json!({"user": "ann"})).unwrap();
    let last = open_ok(
        &s,
        at(LIFETIME_SECS - 1),
        &token,
        &format!("{mode}: last second"),
    );
    assert_eq!(last.meta().expires(), at(LIFETIME_SECS), "{mode}");
    for now in [
        at(LIFETIME_SECS),
        at(LIFETIME_SECS + 1),
        at(10 * LIFETIME_SECS),
        UnixTime::from_secs(u64::MAX),
    ] {
        assert_rejects(
            &s,
            now,
            &token,
            Rejection::Expired,
            &format!("{mode}: at {}", now.as_secs()),
        );
    }
    // The token's own expiry counts even where the opener's lifetime is longer.
    let short = builder(mode, s.ring().clone())
        .lifetime(secs(600))
        .build()
        .unwrap();
    let token = short.seal_at(T0, &json!(1)).unwrap();
    let o = open_ok(
        &s,
        at(599),
        &token,
        &format!("{mode}: own expiry, last second"),
    );
    assert_eq!(o.meta().expires(), at(600), "{mode}");
    for now in [at(600), at(601)] {
        assert_rejects(
            &s,
            now,
            &token,
            Rejection::Expired,
            &format!(
                "{mode}: the token's own expiry at {}, opener lifetime longer",
                now.as_secs()
            ),
        );
    }
}

fn expired_by_openers_shorter_lifetime(mode: Mode) {
    let key = Key::generate();
    let long = builder(mode, ring_of(&key))
        .lifetime(secs(30 * 24 * 3600))
        .build()
        .unwrap();
    let short = builder(mode, ring_of(&key))
        .lifetime(secs(600))
        .build()
        .unwrap();
    let token = long.seal_at(T0, &json!({"user": "ann"})).unwrap();
    let opened = open_ok(&short, at(599), &token, &format!("{mode}: within 600 s"));
    assert_eq!(
        opened.meta().expires(),
        at(30 * 24 * 3600),
        "{mode}: the token's own expiry"
    );
    assert_rejects(
        &short,
        at(600),
        &token,
        Rejection::Expired,
        &format!("{mode}: the opener's lifetime, measured from created"),
    );
    // Resealing does not reset the absolute lifetime: created is kept.
    let resealed = long
        .reseal_at(at(500), opened.value(), opened.meta())
        .unwrap();
    assert_rejects(
        &short,
        at(600),
        &resealed,
        Rejection::Expired,
        &format!("{mode}: resealed token, opener's lifetime"),
    );
    assert_eq!(
        open_ok(&long, at(600), &resealed, &format!("{mode}"))
            .meta()
            .created(),
        T0,
        "{mode}"
    );
}

fn extreme_timestamps(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    let end = UnixTime::from_secs(u64::MAX - LIFETIME_SECS);
    let err = s
        .seal_at(UnixTime::from_secs(end.as_secs() + 1), &json!(1))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimeOverflow, "{mode}: {err}");
    let token = s.seal_at(end, &json!(1)).unwrap();
    let opened = open_ok(&s, end, &token, &format!("{mode}: expires at u64::MAX"));
    assert_eq!(
        opened.meta().expires(),
        UnixTime::from_secs(u64::MAX),
        "{mode}"
    );
    assert_rejects(
        &s,
        UnixTime::from_secs(u64::MAX),
        &token,
        Rejection::Expired,
        &format!("{mode}: at u64::MAX"),
    );
    // Sealed at the epoch, opened far later.
    let token = s.seal_at(UnixTime::EPOCH, &json!(1)).unwrap();
    assert_rejects(
        &s,
        T0,
        &token,
        Rejection::Expired,
        &format!("{mode}: sealed at the epoch"),
    );
}

fn idle_timeout_at_exactly_issued_plus_idle(mode: Mode) {
    let s = builder(mode, ring_of(&Key::generate()))
        .idle_timeout(Some(secs(300)))
        .build()
        .unwrap();
    assert_eq!(s.idle_timeout(), Some(secs(300)), "{mode}");
    let token = s.seal_at(T0, &json!({"user": "ann"})).unwrap();
    let opened = open_ok(&s, at(299), &token, &format!("{mode}: idle 299 s"));
    assert_rejects(
        &s,
        at(300),
        &token,
        Rejection::IdleTimeout,
        &format!("{mode}: exactly issued + idle"),
    );
    assert_rejects(
        &s,
        at(301),
        &token,
        Rejection::IdleTimeout,
        &format!("{mode}: after issued + idle"),
    );
    // A reseal moves issued, so the idle window restarts.
    let resealed = s.reseal_at(at(200), opened.value(), opened.meta()).unwrap();
    assert_eq!(
        open_ok(
            &s,
            at(499),
            &resealed,
            &format!("{mode}: resealed, 299 s idle")
        )
        .meta()
        .issued(),
        at(200),
        "{mode}"
    );
    assert_rejects(
        &s,
        at(500),
        &resealed,
        Rejection::IdleTimeout,
        &format!("{mode}: resealed, exactly issued + idle"),
    );
}

fn not_yet_valid_beyond_leeway(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    let leeway = SealerBuilder::DEFAULT_LEEWAY.as_secs();
    assert_eq!(leeway, 60, "{mode}");
    let at_leeway = s.seal_at(at(leeway), &json!(1)).unwrap();
    let opened = open_ok(
        &s,
        T0,
        &at_leeway,
        &format!("{mode}: issued exactly leeway ahead"),
    );
    assert_eq!(opened.meta().issued(), at(leeway), "{mode}");
    let beyond = s.seal_at(at(leeway + 1), &json!(1)).unwrap();
    assert_rejects(
        &s,
        T0,
        &beyond,
        Rejection::NotYetValid,
        &format!("{mode}: issued leeway + 1 ahead"),
    );
    // With no leeway, one second ahead is too far.
    let strict = builder(mode, s.ring().clone())
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let ahead = strict.seal_at(at(1), &json!(1)).unwrap();
    assert_rejects(
        &strict,
        T0,
        &ahead,
        Rejection::NotYetValid,
        &format!("{mode}: zero leeway"),
    );
    open_ok(
        &strict,
        at(1),
        &ahead,
        &format!("{mode}: zero leeway, on time"),
    );
}

fn revoked_before_cutoff(mode: Mode) {
    let key = Key::generate();
    let cutoff = at(1000);
    let ring = KeyRing::builder()
        .primary(key.clone())
        .revoke_before(cutoff)
        .build()
        .unwrap();
    assert_eq!(ring.revoke_before(), Some(cutoff), "{mode}");
    let plain = sealer(mode, &key);
    let revoking = builder(mode, ring).build().unwrap();
    let before = plain.seal_at(at(999), &json!("before")).unwrap();
    let exactly = plain.seal_at(cutoff, &json!("at")).unwrap();
    assert_rejects(
        &revoking,
        at(1500),
        &before,
        Rejection::Revoked,
        &format!("{mode}: created one second before the cutoff"),
    );
    assert_eq!(
        open_ok(
            &revoking,
            at(1500),
            &exactly,
            &format!("{mode}: created at the cutoff")
        )
        .value(),
        &json!("at"),
        "{mode}"
    );
    // Resealing keeps created, so it cannot launder a revoked session.
    let opened = open_ok(&plain, at(1200), &before, &format!("{mode}"));
    let resealed = revoking
        .reseal_at(at(1200), opened.value(), opened.meta())
        .unwrap();
    assert_rejects(
        &revoking,
        at(1200),
        &resealed,
        Rejection::Revoked,
        &format!("{mode}: resealed after the cutoff"),
    );
}

fn decode_over_openers_codec_limits(mode: Mode) {
    let key = Key::generate();
    let s = sealer(mode, &key);
    let small = builder(mode, ring_of(&key))
        .codec(Codec::new().with_max_bytes(16))
        .build()
        .unwrap();
    assert_eq!(small.codec().max_bytes(), 16, "{mode}");
    let fits = json!("x".repeat(14)); // 16 bytes with the quotes
    let over = json!("x".repeat(15)); // 17 bytes
    assert_eq!(
        open_ok(
            &small,
            T0,
            &s.seal_at(T0, &fits).unwrap(),
            &format!("{mode}")
        )
        .value(),
        &fits,
        "{mode}: exactly the limit"
    );
    assert_rejects(
        &small,
        T0,
        &s.seal_at(T0, &over).unwrap(),
        Rejection::Decode,
        &format!("{mode}: one byte over the opener's codec limit"),
    );

    let shallow = builder(mode, ring_of(&key))
        .codec(Codec::new().with_max_depth(3))
        .build()
        .unwrap();
    let three = json!([[{"a": 1}]]);
    let four = json!([[{"a": [1]}]]);
    assert_eq!(
        open_ok(
            &shallow,
            T0,
            &s.seal_at(T0, &three).unwrap(),
            &format!("{mode}")
        )
        .value(),
        &three,
        "{mode}: exactly the depth limit"
    );
    assert_rejects(
        &shallow,
        T0,
        &s.seal_at(T0, &four).unwrap(),
        Rejection::Decode,
        &format!("{mode}: one level over the opener's depth limit"),
    );
    // A payload that does not fit the requested type.
    let token = s.seal_at(T0, &json!({"user": 5})).unwrap();
    assert_eq!(
        s.open_at::<Session>(T0, &token).unwrap_err(),
        Rejection::Decode,
        "{mode}: wrong type"
    );
    // The sealer itself refuses what it could not open.
    let err = small.seal_at(T0, &over).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PayloadTooLarge, "{mode}: {err}");
    let err = shallow.seal_at(T0, &four).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PayloadTooDeep, "{mode}: {err}");
}

// ---------------------------------------------------------------------------------------------
// Exhaustive tampering
// ---------------------------------------------------------------------------------------------

fn every_single_bit_flip_is_rejected(mode: Mode) {
    let key = Key::generate();
    let s = sealer(mode, &key);
    let token = s.seal_at(T0, &json!({})).unwrap();
    let bytes = unb64(&token);
    assert_eq!(bytes.len(), mode.overhead() + 2, "{mode}: a short token");
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut edited = bytes.clone();
            edited[i] ^= 1 << bit;
            let expected = match i {
                0 => match Mode::from_version_byte(edited[0]) {
                    None => Rejection::UnsupportedVersion,
                    Some(m) if edited.len() < m.overhead() => Rejection::Malformed,
                    Some(_) => Rejection::UnsupportedVersion,
                },
                1..=4 => Rejection::UnknownKey,
                _ => Rejection::BadTag,
            };
            let edited = base64url(&edited);
            assert_eq!(
                expected,
                model(&edited, &[mode], &[key.id()]),
                "{mode}: model"
            );
            assert_rejects(
                &s,
                T0,
                &edited,
                expected,
                &format!("{mode}: bit {bit} of byte {i} flipped"),
            );
        }
    }
}

fn every_character_substitution_is_rejected(mode: Mode) {
    let key = Key::generate();
    let s = sealer(mode, &key);
    let token = s.seal_at(T0, &json!({})).unwrap();
    for i in 0..token.len() {
        for &c in ALPHABET.iter().filter(|&&c| c != token.as_bytes()[i]) {
            let edited = replace_at(&token, i, &(c as char).to_string());
            let expected = model(&edited, &[mode], &[key.id()]);
            assert_rejects(
                &s,
                T0,
                &edited,
                expected,
                &format!("{mode}: char {i} replaced by {}", c as char),
            );
        }
    }
}

fn every_truncation_and_extension_is_rejected(mode: Mode) {
    let key = Key::generate();
    let s = sealer(mode, &key);
    let token = s.seal_at(T0, &json!({})).unwrap();
    let bytes = unb64(&token);
    let expect = |t: &str| model(t, &[mode], &[key.id()]);

    // Every truncation, of the characters and of the bytes.
    for len in 0..token.len() {
        let t = &token[..len];
        assert_rejects(&s, T0, t, expect(t), &format!("{mode}: {len} chars"));
    }
    for len in 0..bytes.len() {
        let t = base64url(&bytes[..len]);
        let expected = if len < mode.overhead() {
            Rejection::Malformed
        } else {
            Rejection::BadTag
        };
        assert_eq!(expected, expect(&t), "{mode}: model");
        assert_rejects(&s, T0, &t, expected, &format!("{mode}: {len} bytes"));
    }

    // Byte extensions: every single byte; 2 and 3 bytes with every value in every position.
    let mut extensions: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    for b in 0..=255u8 {
        extensions.extend([
            vec![b, 0],
            vec![0, b],
            vec![b, b],
            vec![b, 0xff, 0],
            vec![0, b, 0xff],
            vec![0xff, 0, b],
            vec![b, b, b],
        ]);
    }
    for ext in extensions {
        let mut edited = bytes.clone();
        edited.extend_from_slice(&ext);
        assert_rejects(
            &s,
            T0,
            &base64url(&edited),
            Rejection::BadTag,
            &format!("{mode}: extended by bytes {ext:02x?}"),
        );
    }

    // Character extensions: every 1- and 2-character suffix, and 3 characters in a sample.
    let mut suffixes: Vec<String> = Vec::new();
    for &a in ALPHABET {
        suffixes.push((a as char).to_string());
        for &b in ALPHABET {
            suffixes.push(format!("{}{}", a as char, b as char));
        }
        for tail in ["AA", "__", "-A", "zz"] {
            suffixes.push(format!("{}{tail}", a as char));
            suffixes.push(format!("{tail}{}", a as char));
        }
    }
    for suffix in suffixes {
        let t = format!("{token}{suffix}");
        assert_rejects(
            &s,
            T0,
            &t,
            expect(&t),
            &format!("{mode}: extended by {suffix:?}"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Rotation, migration, refresh, clock
// ---------------------------------------------------------------------------------------------

fn rotation_older_key_reseals_under_primary(mode: Mode) {
    let (old, new) = (Key::generate(), Key::generate());
    let before = sealer(mode, &old);
    let v = session("ann", 3);
    let token = before.seal_at(T0, &v).unwrap();

    let ring = KeyRing::builder()
        .primary(new.clone())
        .older(old.clone())
        .build()
        .unwrap();
    assert_eq!(ring.primary_id_at(T0), new.id(), "{mode}");
    let after = builder(mode, ring).build().unwrap();
    let opened = after
        .open_at::<Session>(at(10), &token)
        .unwrap_or_else(|r| panic!("{mode}: older key: {r:?}"));
    assert_eq!(opened.value(), &v, "{mode}");
    assert_eq!(opened.reseal(), Some(Reseal::RotatedKey), "{mode}");
    assert_eq!(opened.meta().key_id(), old.id(), "{mode}");

    let resealed = after
        .reseal_at(at(10), opened.value(), opened.meta())
        .unwrap();
    assert_eq!(
        &unb64(&resealed)[1..5],
        &new.id().get().to_be_bytes(),
        "{mode}"
    );
    let reopened = after
        .open_at::<Session>(at(20), &resealed)
        .unwrap_or_else(|r| panic!("{mode}: resealed: {r:?}"));
    assert_eq!(reopened.value(), &v, "{mode}");
    assert_eq!(reopened.reseal(), None, "{mode}: no hint after resealing");
    let m = reopened.meta();
    assert_eq!(m.key_id(), new.id(), "{mode}");
    assert_eq!(m.created(), T0, "{mode}: created kept");
    assert_eq!(m.issued(), at(10), "{mode}");
    assert_eq!(m.expires(), at(LIFETIME_SECS), "{mode}: expires kept");
    // A node still on the old key alone does not know the new one.
    assert_rejects(
        &before,
        at(20),
        &resealed,
        Rejection::UnknownKey,
        &format!("{mode}: old node, new token"),
    );
}

fn pending_key_activation(mode: Mode) {
    let (a, b) = (Key::generate(), Key::generate());
    let activation = at(1000);
    let ring = KeyRing::builder()
        .primary(a.clone())
        .pending(b.clone(), activation)
        .build()
        .unwrap();
    let s = builder(mode, ring).build().unwrap();
    let only_b = sealer(mode, &b);

    // Before activation: seals with the old primary; both open without a hint.
    let under_a = s.seal_at(at(999), &json!("a")).unwrap();
    assert_eq!(
        &unb64(&under_a)[1..5],
        &a.id().get().to_be_bytes(),
        "{mode}"
    );
    let under_b = only_b.seal_at(at(999), &json!("b")).unwrap();
    for (t, id, v) in [(&under_a, a.id(), "a"), (&under_b, b.id(), "b")] {
        let o = open_ok(
            &s,
            at(999),
            t,
            &format!("{mode}: before activation, key {id}"),
        );
        assert_eq!(o.value(), &json!(v), "{mode}");
        assert_eq!(o.meta().key_id(), id, "{mode}");
        assert_eq!(o.reseal(), None, "{mode}: key {id} before activation");
    }

    // At activation: seals with the pending key; old-primary tokens get RotatedKey.
    let new = s.seal_at(activation, &json!("new")).unwrap();
    assert_eq!(&unb64(&new)[1..5], &b.id().get().to_be_bytes(), "{mode}");
    let o = open_ok(&s, activation, &new, &format!("{mode}"));
    assert_eq!(
        (o.meta().key_id(), o.reseal()),
        (b.id(), None),
        "{mode}: new primary"
    );
    let o = open_ok(&s, activation, &under_a, &format!("{mode}"));
    assert_eq!(
        (o.meta().key_id(), o.reseal()),
        (a.id(), Some(Reseal::RotatedKey)),
        "{mode}: old primary after activation"
    );
    let o = open_ok(&s, activation, &under_b, &format!("{mode}"));
    assert_eq!(o.reseal(), None, "{mode}: pending key after activation");
    // Resealing the old-primary token moves it to the new key and keeps its times.
    let resealed = s.reseal_at(activation, o.value(), o.meta()).unwrap();
    let r = open_ok(&s, activation, &resealed, &format!("{mode}"));
    assert_eq!(r.meta().key_id(), b.id(), "{mode}");
    assert_eq!(r.meta().created(), at(999), "{mode}");
}

fn also_open_gives_mode_changed(mode: Mode) {
    let key = Key::generate();
    let ring = ring_of(&key);
    for other in Mode::ALL.into_iter().filter(|m| *m != mode) {
        let legacy = builder(other, ring.clone()).build().unwrap();
        let migrating = builder(mode, ring.clone())
            .also_open(other)
            .build()
            .unwrap();
        let token = legacy.seal_at(T0, &json!({"user": "ann"})).unwrap();
        let o = open_ok(
            &migrating,
            at(5),
            &token,
            &format!("{mode} also opening {other}"),
        );
        assert_eq!(o.value(), &json!({"user": "ann"}), "{mode}/{other}");
        assert_eq!(o.reseal(), Some(Reseal::ModeChanged), "{mode}/{other}");
        assert_eq!(o.meta().mode(), other, "{mode}/{other}");
        let resealed = migrating.reseal_at(at(5), o.value(), o.meta()).unwrap();
        assert_eq!(unb64(&resealed)[0], mode.version_byte(), "{mode}/{other}");
        let r = open_ok(&migrating, at(6), &resealed, &format!("{mode}/{other}"));
        assert_eq!(
            (
                r.meta().mode(),
                r.reseal(),
                r.meta().created(),
                r.meta().expires()
            ),
            (mode, None, T0, at(LIFETIME_SECS)),
            "{mode}/{other}: resealed in the sealing mode"
        );
        // A key rotation outranks the mode change.
        let newer = Key::generate();
        let rotated_ring = KeyRing::builder()
            .primary(newer)
            .older(key.clone())
            .build()
            .unwrap();
        let rotated = builder(mode, rotated_ring)
            .also_open(other)
            .build()
            .unwrap();
        let o = open_ok(&rotated, at(5), &token, &format!("{mode}/{other}: rotated"));
        assert_eq!(o.reseal(), Some(Reseal::RotatedKey), "{mode}/{other}");
    }
}

fn refresh_after_boundary(mode: Mode) {
    let s = builder(mode, ring_of(&Key::generate()))
        .refresh_after(Some(secs(600)))
        .build()
        .unwrap();
    let token = s.seal_at(T0, &json!(1)).unwrap();
    assert_eq!(
        open_ok(&s, at(599), &token, &format!("{mode}")).reseal(),
        None,
        "{mode}: before refresh_after"
    );
    let o = open_ok(&s, at(600), &token, &format!("{mode}"));
    assert_eq!(
        o.reseal(),
        Some(Reseal::Refresh),
        "{mode}: at refresh_after"
    );
    assert_eq!(
        open_ok(&s, at(601), &token, &format!("{mode}")).reseal(),
        Some(Reseal::Refresh),
        "{mode}: after refresh_after"
    );
    let refreshed = s.reseal_at(at(600), o.value(), o.meta()).unwrap();
    assert_eq!(
        open_ok(&s, at(600), &refreshed, &format!("{mode}")).reseal(),
        None,
        "{mode}: just refreshed"
    );
}

fn plain_seal_and_open_use_the_injected_clock(mode: Mode) {
    let clock = ManualClock::new(T0);
    let s = builder(mode, ring_of(&Key::generate()))
        .clock(Arc::new(clock.clone()))
        .idle_timeout(Some(secs(600)))
        .build()
        .unwrap();
    assert_eq!(s.now(), T0, "{mode}");
    let token = s.seal(&json!({"user": "ann"})).unwrap();
    let o = s
        .open::<Value>(&token)
        .unwrap_or_else(|r| panic!("{mode}: {r:?}"));
    assert_eq!(
        (o.meta().created(), o.meta().issued(), o.meta().expires()),
        (T0, T0, at(LIFETIME_SECS)),
        "{mode}: sealed at the clock's time"
    );
    clock.advance(secs(599));
    assert!(s.open::<Value>(&token).is_ok(), "{mode}: 599 s idle");
    clock.advance(secs(1));
    assert_eq!(
        s.open::<Value>(&token).unwrap_err(),
        Rejection::IdleTimeout,
        "{mode}: the open reads the clock"
    );
    clock.set(at(LIFETIME_SECS));
    assert_eq!(
        s.open::<Value>(&token).unwrap_err(),
        Rejection::Expired,
        "{mode}"
    );
    clock.set(at(10));
    let later = s.seal(&json!(2)).unwrap();
    assert_eq!(
        s.open_at::<Value>(at(10), &later)
            .unwrap_or_else(|r| panic!("{mode}: {r:?}"))
            .meta()
            .created(),
        at(10),
        "{mode}"
    );
}

// ---------------------------------------------------------------------------------------------
// No secrets or payloads in output
// ---------------------------------------------------------------------------------------------

/// Every text form of `secret` (and of the subkeys derived from it) that could leak.
fn secret_spellings(secret: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut material = vec![secret.to_vec()];
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"sealed-session/v1"), secret);
    for label in [
        &b"sealed-session/v1/signed/hmac-sha256"[..],
        b"sealed-session/v1/encrypted/xchacha20poly1305",
        b"sealed-session/v1/encrypted/aes-256-gcm",
        b"sealed-session/v1/encrypted/aes-256-gcm-siv",
        b"sealed-session/v1/cache",
    ] {
        let mut okm = [0u8; 32];
        hk.expand(label, &mut okm).unwrap();
        material.push(okm.to_vec());
    }
    for m in material {
        let hex = hex::encode(&m);
        out.push(STANDARD.encode(&m));
        out.push(STANDARD_NO_PAD.encode(&m));
        out.push(URL_SAFE_NO_PAD.encode(&m));
        out.push(hex.to_uppercase());
        // Any 8 consecutive bytes in hex.
        for w in (0..hex.len() - 16).step_by(2) {
            out.push(hex[w..w + 16].to_owned());
        }
        out.push(format!("{:?}", &m[..6]).trim_end_matches(']').to_owned());
        out.push(format!("{:#?}", &m[..3]).trim_end_matches(']').to_owned());
    }
    out
}

fn debug_never_contains_the_secret(mode: Mode) {
    let (primary, older, pending) = (Key::generate(), Key::generate(), Key::generate());
    let ring = KeyRing::builder()
        .primary(primary.clone())
        .older(older.clone())
        .pending(pending.clone(), at(1000))
        .revoke_before(T0)
        .build()
        .unwrap();
    let make = || {
        Sealer::builder(ring.clone(), "__Host-id")
            .mode(mode)
            .also_open(Mode::Signed)
            .purpose("session")
            .lifetime(LIFETIME)
            .idle_timeout(Some(secs(60)))
            .refresh_after(Some(secs(30)))
            .clock(Arc::new(ManualClock::new(T0)))
    };
    let b = make();
    let s = make().build().unwrap();
    let texts = [
        format!("{b:?}"),
        format!("{b:#?}"),
        format!("{s:?}"),
        format!("{s:#?}"),
        format!("{:?}", s.clone()),
        format!("{:?}", s.ring()),
        format!("{:?}", primary),
    ];
    for t in &texts[..5] {
        assert!(t.contains("__Host-id"), "{mode}: Debug is useful: {t}");
        assert!(
            t.contains(mode.as_str()) || t.contains(&format!("{mode:?}")),
            "{mode}: {t}"
        );
    }
    for t in &texts {
        assert!(
            t.contains(&primary.id().to_string()),
            "{mode}: Debug shows key ids: {t}"
        );
    }
    for key in [&primary, &older, &pending] {
        let secret = STANDARD.decode(key.to_base64().as_bytes()).unwrap();
        assert_eq!(secret.len(), 32, "{mode}");
        for spelling in secret_spellings(&secret) {
            for t in &texts {
                assert!(
                    !t.contains(&spelling),
                    "{mode}: Debug output contains secret material {spelling:?}: {t}"
                );
            }
        }
    }
}

fn error_messages_never_contain_the_payload(mode: Mode) {
    let s = sealer(mode, &Key::generate());
    let marker = "hunter2-secret-";
    let payloads = [
        // Over the token limit but within the codec's byte limit.
        (
            json!({ "password": marker.repeat(300) }),
            ErrorKind::PayloadTooLarge,
        ),
        // Over the codec's byte limit.
        (
            json!({ "password": marker.repeat(1200) }),
            ErrorKind::PayloadTooLarge,
        ),
        // Over the codec's depth limit.
        (
            (0..40).fold(json!(marker), |v, _| json!([v])),
            ErrorKind::PayloadTooDeep,
        ),
    ];
    for (v, kind) in payloads {
        let err = s.seal_at(T0, &v).unwrap_err();
        assert_eq!(err.kind(), kind, "{mode}: {err}");
        let texts = [
            err.to_string(),
            format!("{err:?}"),
            err.message().to_owned(),
        ];
        for t in texts {
            assert!(!t.contains("hunter2"), "{mode}: payload in error text: {t}");
            assert!(
                !t.contains("password"),
                "{mode}: payload in error text: {t}"
            );
        }
        assert!(
            err.to_string().starts_with(&format!("{}: ", kind.as_str())),
            "{mode}: {err}"
        );
    }
    // A map with non-string keys cannot be JSON; the error names no key or value either.
    let mut m = std::collections::BTreeMap::new();
    m.insert(vec![104u8, 117, 110, 116, 101, 114, 50], "hunter2");
    let err = s.seal_at(T0, &m).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Codec, "{mode}: {err}");
    assert!(!err.to_string().contains("hunter2"), "{mode}: {err}");
}

// ---------------------------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------------------------

fn concurrent_use_from_eight_threads(mode: Mode) {
    const THREADS: u32 = 8;
    const PER_THREAD: u32 = 50;
    let key = Key::generate();
    let s = sealer(mode, &key);
    let sealed: Vec<Vec<(Session, String)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let s = &s;
                scope.spawn(move || {
                    (0..PER_THREAD)
                        .map(|i| {
                            let v = session(&format!("user-{t}-{i}"), t * 1000 + i);
                            let token = s.seal_at(at(u64::from(i)), &v).unwrap();
                            let o = s
                                .open_at::<Session>(at(100), &token)
                                .unwrap_or_else(|r| panic!("{mode}: thread {t}: {r:?}"));
                            assert_eq!(o.value(), &v, "{mode}: thread {t} item {i}");
                            assert_eq!(o.meta().created(), at(u64::from(i)), "{mode}");
                            (v, token)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Every thread opens another thread's tokens, concurrently.
    std::thread::scope(|scope| {
        for t in 0..THREADS as usize {
            let (s, sealed, kid) = (s.clone(), &sealed, key.id());
            scope.spawn(move || {
                let theirs = &sealed[(t + 1) % THREADS as usize];
                for (v, token) in theirs {
                    let o = s
                        .open_at::<Session>(at(200), token)
                        .unwrap_or_else(|r| panic!("{mode}: cross-thread: {r:?}"));
                    assert_eq!(o.value(), v, "{mode}: cross-thread");
                    assert_eq!(o.meta().key_id(), kid, "{mode}");
                }
            });
        }
    });
    let all: std::collections::HashSet<&String> = sealed.iter().flatten().map(|(_, t)| t).collect();
    assert_eq!(
        all.len(),
        (THREADS * PER_THREAD) as usize,
        "{mode}: every token distinct"
    );
}

// ---------------------------------------------------------------------------------------------
// AES-256-GCM seal counts survive ring rebuilds (issue 17, item 2)
// ---------------------------------------------------------------------------------------------

/// Regression: the 2^32 count lived in the ring, so `set_ring` with the same keys (what a config
/// reload does) restarted it at zero.
#[test]
fn aes_gcm_seal_count_survives_set_ring_with_the_same_keys() {
    let key = Key::generate();
    let s = sealer(Mode::Aes256Gcm, &key);
    for i in 0..5 {
        s.seal_at(T0, &json!({ "n": i })).unwrap();
    }
    assert_eq!(s.ring().aes_gcm_seals(key.id()), Some(5));
    // The same key, in a ring built anew (plus another key), as a reload builds it.
    s.set_ring(
        KeyRing::builder()
            .primary(key.clone())
            .older(Key::generate())
            .build()
            .unwrap(),
    );
    assert_eq!(s.ring().aes_gcm_seals(key.id()), Some(5), "continued");
    s.seal_at(T0, &1).unwrap();
    assert_eq!(s.ring().aes_gcm_seals(key.id()), Some(6));
    // Another sealer of the process under the same secret (another purpose) shares the budget:
    // it seals under the same AES-256-GCM subkey.
    let other = builder(Mode::Aes256Gcm, ring_of(&key))
        .purpose("csrf")
        .build()
        .unwrap();
    other.seal_at(T0, &1).unwrap();
    assert_eq!(s.ring().aes_gcm_seals(key.id()), Some(7));
    // The other modes are not counted.
    sealer(Mode::Aes256GcmSiv, &key).seal_at(T0, &1).unwrap();
    assert_eq!(s.ring().aes_gcm_seals(key.id()), Some(7));
}

/// A different secret under an id seen before starts its own count; the same secret under
/// another id continues the count (the budget is the subkey's, which the id does not change).
#[test]
fn aes_gcm_seal_count_follows_the_secret_not_the_id() {
    let key = Key::generate().with_id(KeyId::new(0x5eed_0001));
    let s = sealer(Mode::Aes256Gcm, &key);
    s.seal_at(T0, &1).unwrap();
    s.seal_at(T0, &2).unwrap();
    let impostor = Key::generate().with_id(key.id());
    let fresh = ring_of(&impostor);
    assert_eq!(fresh.aes_gcm_seals(key.id()), Some(0));
    let renamed = key.clone().with_id(KeyId::new(0x5eed_0002));
    assert_eq!(ring_of(&renamed).aes_gcm_seals(renamed.id()), Some(2));
    assert_eq!(fresh.aes_gcm_seals(KeyId::new(7)), None, "not in the ring");
}

/// The limit itself across a rebuild: a key at 2^32 - 1 seals once more, and after `set_ring`
/// with the same key it is still refused (on the old code the new ring started from zero).
#[cfg(feature = "test-vectors")]
#[test]
fn aes_gcm_limit_holds_across_set_ring() {
    let key = Key::generate();
    let s = sealer(Mode::Aes256Gcm, &key);
    assert!(s
        .ring()
        .set_aes_gcm_seals_for_tests(key.id(), (1 << 32) - 1));
    s.seal_at(T0, &"last").unwrap();
    let refused = s.seal_at(T0, &"one too many").unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NonceLimit);
    s.set_ring(ring_of(&key));
    let refused = s.seal_at(T0, &"after the reload").unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::NonceLimit, "the count restarted");
    // A new key is the way out.
    let next = Key::generate();
    s.set_ring(KeyRing::builder().primary(next).older(key).build().unwrap());
    s.seal_at(T0, &"rotated").unwrap();
}
