//! The `beaker_reader` fuzz target's entry point, shared by `fuzz/fuzz_targets/beaker_reader.rs`
//! and by `tests/beaker.rs`, which replays every file of `fuzz/corpus/beaker_reader/` through it
//! under `cargo test` (features `beaker-compat` and `test-vectors`).
//!
//! The first byte picks what the rest is; every branch checks the reader against an oracle
//! written independently of it, besides "never panics":
//!
//! - `0` (mod 4): a raw cookie value for the unencrypted reader; `3`: the same for both
//!   encrypting readers. Nobody can forge HMAC-SHA1, so the answer is exactly what the size and
//!   shape checks predict: `too_large`, `malformed` (not 40 lowercase hex digits first), else
//!   `bad_signature`.
//! - `1`: the serializer's output (pickle, zlib'd JSON, anything), written as Beaker would by
//!   the unencrypted, AES-GCM and AES-CTR readers (`write_for_vectors`). The three must agree
//!   (decryption is transparent); a valid cookie is never `malformed`, `bad_signature` or
//!   `bad_tag`; `pickle` exactly when the first byte is `0x80`; a session holds none of Beaker's
//!   keys; a reader with a timeout gives the same answer, or `expired` exactly when
//!   `_accessed_time` is older than the timeout.
//! - `2`: JSON text, wrapped by this file in a stored (uncompressed) zlib stream and written as
//!   in `1`. It opens exactly when `serde_json` reads an object no deeper than the codec's 32
//!   levels whose Beaker keys have Beaker's types, with the object's entries minus Beaker's keys;
//!   otherwise `decode`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "fuzz harness: a panic is a finding"
)]

use std::sync::LazyLock;
use std::time::Duration;

use sealed_session::beaker::{
    BeakerCrypto, BeakerReader, LegacyRejection, LegacySession, MAX_LEGACY_COOKIE_LEN,
};
use sealed_session::UnixTime;
use serde_json::{Map, Value};

/// The time every cookie is read at (2023-11-14T22:13:20Z).
pub const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
pub const VALIDATE_KEY: &str = "fuzz-validate-key";
pub const ENCRYPT_KEY: &str = "fuzz-encrypt-key";
/// Beaker's nonce is the base64 text of 16 random bytes; here fixed.
pub const NONCE: &str = "AAAAAAAAAAAAAAAAAAAAAA==";
pub const IV: [u8; 12] = [0; 12];
pub const TIMEOUT: u64 = 3600;
const BEAKER_KEYS: [&str; 6] = [
    "_id",
    "_creation_time",
    "_accessed_time",
    "_domain",
    "_path",
    "_expires",
];
const MAX_DEPTH: usize = 32;

pub struct Readers {
    pub plain: BeakerReader,
    pub gcm: BeakerReader,
    pub ctr: BeakerReader,
    pub timed: BeakerReader,
}

pub static READERS: LazyLock<Readers> = LazyLock::new(|| {
    let encrypted = |crypto| {
        BeakerReader::builder(VALIDATE_KEY)
            .encrypt_key(ENCRYPT_KEY)
            .crypto(crypto)
            .build()
            .unwrap()
    };
    Readers {
        plain: BeakerReader::builder(VALIDATE_KEY).build().unwrap(),
        gcm: encrypted(BeakerCrypto::Cryptography),
        ctr: encrypted(BeakerCrypto::Pycryptodome),
        timed: BeakerReader::builder(VALIDATE_KEY)
            .timeout_secs(Some(TIMEOUT))
            .build()
            .unwrap(),
    }
});

pub fn beaker_reader(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => raw(&READERS.plain, rest),
        1 => serialized(rest),
        2 => json(rest),
        _ => {
            raw(&READERS.gcm, rest);
            raw(&READERS.ctr, rest);
        }
    }
}

/// What an unsigned cookie value must be rejected as.
pub fn predicted_raw(value: &str) -> LegacyRejection {
    if value.len() > MAX_LEGACY_COOKIE_LEN {
        return LegacyRejection::TooLarge;
    }
    let v = value.trim_matches('"').as_bytes();
    let hex = |c: &u8| c.is_ascii_digit() || (b'a'..=b'f').contains(c);
    if v.len() < 40 || !v[..40].iter().all(hex) {
        return LegacyRejection::Malformed;
    }
    LegacyRejection::BadSignature
}

/// The session the seeds sign; the only cookies that may open in the raw branches.
pub const SESSION: &[u8] = br#"{"_domain": null, "_path": "/", "_id": "0123456789abcdef0123456789abcdef", "user": "ann", "count": 7, "_creation_time": 1699999000.5, "_accessed_time": 1699999990.25}"#;

static SIGNED_SEEDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let r = &*READERS;
    [&r.plain, &r.gcm, &r.ctr]
        .into_iter()
        .map(|reader| reader.write_for_vectors(&stored_zlib(SESSION), NONCE, IV))
        .collect()
});

fn raw(reader: &BeakerReader, bytes: &[u8]) {
    let value = String::from_utf8_lossy(bytes);
    match reader.read_at(NOW, &value) {
        // HMAC-SHA1 cannot be forged: only a cookie the harness signed opens.
        Ok(s) => {
            let trimmed = value.trim_matches('"');
            assert!(SIGNED_SEEDS.iter().any(|c| c == trimmed), "{value:?}");
            assert_eq!(s.entries().get("user"), Some(&Value::from("ann")));
        }
        Err(e) => {
            let predicted = predicted_raw(&value);
            // Past the signature, a signed cookie read by another backend's reader fails later.
            let signed = SIGNED_SEEDS.iter().any(|c| c == value.trim_matches('"'));
            assert!(
                e == predicted || signed,
                "{value:?}: {e} instead of {predicted}"
            );
        }
    }
}

/// Write `serialized` with each reader and read it back; `None` where the cookie is too long.
fn written(serialized: &[u8]) -> Vec<Result<LegacySession, LegacyRejection>> {
    let r = &*READERS;
    [&r.plain, &r.gcm, &r.ctr]
        .into_iter()
        .filter_map(|reader| {
            let cookie = reader.write_for_vectors(serialized, NONCE, IV);
            let got = reader.read_at(NOW, &cookie);
            if cookie.len() > MAX_LEGACY_COOKIE_LEN {
                assert_eq!(got.as_ref().err(), Some(&LegacyRejection::TooLarge));
                None
            } else {
                Some(got)
            }
        })
        .collect()
}

fn serialized(bytes: &[u8]) {
    let results = written(bytes);
    for got in &results {
        assert_eq!(got, &results[0], "the backends disagree");
        assert!(
            !matches!(
                got,
                Err(LegacyRejection::Malformed
                    | LegacyRejection::BadSignature
                    | LegacyRejection::BadTag
                    | LegacyRejection::TooLarge
                    | LegacyRejection::Expired)
            ),
            "{got:?}"
        );
        assert_eq!(
            got == &Err(LegacyRejection::Pickle),
            bytes.first() == Some(&0x80),
            "{got:?}"
        );
        if let Ok(s) = got {
            for key in BEAKER_KEYS {
                assert!(!s.entries().contains_key(key), "{key}");
            }
        }
    }
    // The timeout is the last check and changes nothing else.
    let timed = &READERS.timed;
    let cookie = timed.write_for_vectors(bytes, NONCE, IV);
    if let Some(plain) = results.first() {
        let got = timed.read_at(NOW, &cookie);
        match plain {
            Ok(s) if NOW.saturating_since(s.accessed()) > Duration::from_secs(TIMEOUT) => {
                assert_eq!(got, Err(LegacyRejection::Expired));
            }
            Ok(s) => {
                let t = got.unwrap();
                assert_eq!(t.entries(), s.entries());
                assert_eq!(
                    t.expires(),
                    s.accessed().checked_add(Duration::from_secs(TIMEOUT))
                );
            }
            Err(e) => assert_eq!(got.err(), Some(*e)),
        }
    }
}

/// `data` as a zlib stream of stored (uncompressed) deflate blocks, per RFC 1950 and 1951.
pub fn stored_zlib(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u8::from(chunks.peek().is_none());
        let len = chunk.len() as u16;
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Beaker's keys with the types Beaker writes, by an independent reading of the module docs.
fn beaker_keys_ok(map: &Map<String, Value>) -> bool {
    let time = |k: &str| {
        map.get(k)
            .and_then(Value::as_f64)
            .is_some_and(|t| (0.0..=9_007_199_254_740_992.0).contains(&t))
    };
    let text_or_null = |k: &str| matches!(map.get(k), None | Some(Value::Null | Value::String(_)));
    time("_creation_time")
        && time("_accessed_time")
        && matches!(map.get("_id"), None | Some(Value::String(_)))
        && matches!(map.get("_expires"), None | Some(Value::Bool(true)))
        && text_or_null("_path")
        && text_or_null("_domain")
}

fn json(text: &[u8]) {
    let expected = serde_json::from_slice::<Map<String, Value>>(text)
        .ok()
        .filter(|m| depth(&Value::Object(m.clone())) <= MAX_DEPTH && beaker_keys_ok(m));
    for got in written(&stored_zlib(text)) {
        match &expected {
            None => assert_eq!(got.err(), Some(LegacyRejection::Decode)),
            Some(map) => {
                let mut want = map.clone();
                for key in BEAKER_KEYS {
                    want.remove(key);
                }
                assert_eq!(got.unwrap().entries(), &want);
            }
        }
    }
}

/// Deterministic seeds for `fuzz/corpus/beaker_reader/` (file name, bytes).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let session = SESSION;
    let with = |mode: u8, rest: &[u8]| [&[mode][..], rest].concat();
    let valid = READERS
        .plain
        .write_for_vectors(&stored_zlib(session), NONCE, IV);
    let valid_gcm = READERS
        .gcm
        .write_for_vectors(&stored_zlib(session), NONCE, IV);
    vec![
        ("raw-valid-plain", with(0, valid.as_bytes())),
        ("raw-quoted", with(0, format!("\"{valid}\"").as_bytes())),
        ("raw-short", with(0, b"0123456789abcdef")),
        ("raw-valid-gcm", with(3, valid_gcm.as_bytes())),
        ("serialized-zlib-json", with(1, &stored_zlib(session))),
        ("serialized-pickle", with(1, b"\x80\x02}q\x00(X\x04\x00\x00\x00userq\x01X\x03\x00\x00\x00annq\x02u.")),
        ("serialized-empty", with(1, b"")),
        ("json-session", with(2, session)),
        ("json-expires-true", with(2, br#"{"_creation_time": 1.0, "_accessed_time": 1699999999, "_expires": true, "_flash": [1]}"#)),
        ("json-deep-32", with(2, format!(r#"{{"_creation_time": 1, "_accessed_time": 1, "x": {}{}}}"#, "[".repeat(31), "]".repeat(31)).as_bytes())),
        ("json-deep-33", with(2, format!(r#"{{"_creation_time": 1, "_accessed_time": 1, "x": {}{}}}"#, "[".repeat(32), "]".repeat(32)).as_bytes())),
        ("json-not-object", with(2, b"[1, 2, 3]")),
    ]
}
