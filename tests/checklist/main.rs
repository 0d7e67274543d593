//! The security checklist (SECURITY.md, section "The checklist, row by row": 44 rows, each with
//! its text and the tests that show it), one test per row, named
//! `checklist_NN_...` after the row and written at the layer where the row applies: the codec,
//! the envelope and [`Sealer`], the [`SessionManager`] (the framework-agnostic HTTP layer), the
//! adapters (axum and actix-web, feature-gated), the cache (feature `cache`) and the primitive
//! wrappers (`sealed_session::hazmat`, feature `test-vectors`). Each test asserts the exact
//! outcome the row demands: the [`Rejection`] or [`ErrorKind`], a fresh session, the absence of a
//! `Set-Cookie`, bounded time.
//!
//! The rows about the adapters (1, 28–34, 36) also run for both frameworks through the shared HTTP
//! suite (`tests/common/http_suite.rs`, cases `checklist_NN_...`); the tests here are their
//! core-level versions. Row 43 (Wycheproof, RFC 4231, RFC 5869) runs in full in
//! `tests/wycheproof.rs`; `checklist_43` here restates its HMAC part. Two properties live in
//! `properties`: the sealer never produces a plaintext over the limit (row 27), and a rendered
//! `Set-Cookie` is never over 4096 bytes without an error, for arbitrary session data and
//! arbitrary valid cookie policies (row 34).
//!
//! One module per section of the table in SECURITY.md (`encoding`, `envelope`, `time`,
//! `payload`, `headers`, `response`, `configuration`, `cache`, `primitives`), each test named
//! `checklist_NN_...` after its row and unique in the binary (`cargo test checklist_18` finds it).
//!
//! Run with `cargo test --features test-vectors --test checklist` (add `cache`, `axum`, `actix`,
//! `config` for the gated parts; `--all-features` runs everything).

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test, never a crash on hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::sync::{Arc, Barrier, LazyLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use cookie::Cookie;
use proptest::prelude::*;
use sealed_session::hazmat::{AeadAlgorithm, AeadCipher, HmacSha256, AEAD_TAG_LEN, HMAC_TAG_LEN};
use sealed_session::{
    Chunking, Clock, Codec, CookieLifetime, CookiePolicy, ErrorKind, Key, KeyId, KeyRing,
    ManualClock, Mode, Rejection, Reseal, SameSite, Sealer, SealerBuilder, Session, SessionBuilder,
    SessionManager, Timestamps, UnixTime, MAX_CANDIDATES, MAX_SET_COOKIE_LEN,
};
use serde::Deserialize;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

#[path = "../common/fixtures.rs"]
mod fixtures;

use fixtures::{
    at, base64url, key, ring_of, sealer_in, secret, secs, unb64, LIFETIME, SEALER_NAME as NAME, T0,
};

/// The cookie name of the session managers.
const COOKIE: &str = "session";

/// The ring most tests use.
static KEY: LazyLock<Key> = LazyLock::new(|| key(1));
static RING: LazyLock<KeyRing> = LazyLock::new(|| ring_of(&KEY));

/// A sealer per mode over [`RING`], each opening only its own mode.
static SEALERS: LazyLock<Vec<Sealer>> = LazyLock::new(|| {
    Mode::ALL
        .into_iter()
        .map(|m| sealer_in(m, RING.clone()))
        .collect()
});

fn sealer(mode: Mode) -> &'static Sealer {
    &SEALERS[Mode::ALL.iter().position(|m| *m == mode).unwrap()]
}

/// A sealer over [`RING`] that opens every mode.
static ALL_MODES: LazyLock<Sealer> = LazyLock::new(|| {
    Mode::ALL
        .into_iter()
        .fold(Sealer::builder(RING.clone(), NAME), |b, m| b.also_open(m))
        .lifetime(LIFETIME)
        .build()
        .unwrap()
});

fn rejection(s: &Sealer, now: UnixTime, token: &str) -> Rejection {
    match s.open_at::<Value>(now, token) {
        Ok(_) => panic!("{} opened {token:?}", s.mode()),
        Err(r) => r,
    }
}

fn assert_rejects(s: &Sealer, now: UnixTime, token: &str, expected: Rejection, what: &str) {
    assert_eq!(rejection(s, now, token), expected, "{}: {what}", s.mode());
}

/// A token of `mode` whose payload is a JSON string of `n` characters.
fn token_of_len(mode: Mode, n: usize) -> String {
    sealer(mode).seal_at(T0, &"x".repeat(n)).unwrap()
}

/// Seal an arbitrary envelope (test-vectors feature) with a fixed nonce.
fn seal_raw(s: &Sealer, times: Timestamps, payload: &[u8]) -> String {
    let nonce = vec![7u8; s.mode().nonce_len()];
    s.seal_raw_for_vectors(times.issued, &times, 1, payload, &nonce)
        .unwrap()
}

fn times(created: u64, issued: u64, expires: u64) -> Timestamps {
    Timestamps {
        created: UnixTime::from_secs(created),
        issued: UnixTime::from_secs(issued),
        expires: UnixTime::from_secs(expires),
    }
}

/// A session manager for [`COOKIE`] on a manual clock at `T0` (plain http, no Secure).
fn manager_with(
    ring: KeyRing,
    clock: &Arc<ManualClock>,
    configure: impl FnOnce(SessionBuilder) -> SessionBuilder,
) -> SessionManager {
    configure(
        SessionManager::builder(ring)
            .with_cookie_name(COOKIE)
            .with_secure(false)
            .with_clock(Arc::clone(clock) as _),
    )
    .build()
    .unwrap()
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(T0))
}

fn load(m: &SessionManager, headers: &[&str]) -> Session {
    m.load_from_cookie_headers(headers.iter().map(|h| h.as_bytes()))
}

/// A new session holding `data`, sealed now: its token.
fn issue(m: &SessionManager, data: &[(&str, Value)]) -> String {
    let s = load(m, &[]);
    for (k, v) in data {
        s.insert_value(*k, v.clone());
    }
    let out = m.finish_at(m.sealer().now(), &s).unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    Cookie::parse(out[0].clone()).unwrap().value().to_owned()
}

fn pair(token: &str) -> String {
    format!("{COOKIE}={token}")
}

/// Assert the response is exactly one deletion cookie for [`COOKIE`].
fn assert_deletion(out: &[String], what: &str) {
    assert_eq!(out.len(), 1, "{what}: {out:?}");
    let c = Cookie::parse(out[0].as_str()).unwrap();
    assert_eq!(c.name(), COOKIE, "{what}");
    assert_eq!(c.value(), "", "{what}");
    assert_eq!(c.max_age(), Some(cookie::time::Duration::ZERO), "{what}");
}

/// A session loaded from `header` must be fresh, with `expected` as its rejection, and the
/// response must delete the refused cookie.
fn assert_fresh(m: &SessionManager, header: &str, expected: Rejection, what: &str) {
    let s = load(m, &[header]);
    assert!(s.is_new(), "{what}: not a fresh session");
    assert_eq!(s.id(), None, "{what}");
    assert_eq!(s.rejection(), Some(expected), "{what}");
    assert_deletion(&m.finish_at(m.sealer().now(), &s).unwrap(), what);
}

/// The smallest of `rounds` timings of `iterations` runs of `f`.
fn best_time(rounds: usize, iterations: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                f();
            }
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// Every spelling of `secret` (and of the subkeys derived from it) that a careless `Debug` or
/// `Display` could print.
fn spellings(secret: &[u8]) -> Vec<String> {
    let mut all = vec![secret.to_vec()];
    for label in [
        &b"sealed-session/v1/signed/hmac-sha256"[..],
        b"sealed-session/v1/encrypted/xchacha20poly1305",
        b"sealed-session/v1/encrypted/aes-256-gcm",
        b"sealed-session/v1/encrypted/aes-256-gcm-siv",
        b"sealed-session/v1/cache",
    ] {
        let mut sub = [0u8; 32];
        sealed_session::hazmat::hkdf_sha256(b"sealed-session/v1", secret, label, &mut sub).unwrap();
        all.push(sub.to_vec());
    }
    let mut out = Vec::new();
    for bytes in all {
        let head = &bytes[..12];
        out.push(hex::encode(head));
        out.push(hex::encode_upper(head));
        out.push(STANDARD.encode(head));
        out.push(URL_SAFE_NO_PAD.encode(head));
        out.push(STANDARD.encode(&bytes));
        out.push(
            format!("{:?}", &bytes[..6])
                .trim_end_matches(']')
                .to_owned(),
        );
        out.push(
            bytes[..6]
                .iter()
                .map(|b| format!("{b:#04x}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    out
}

fn assert_no_secret(what: &str, text: &str, secret: &[u8]) {
    for s in spellings(secret) {
        assert!(
            !text.contains(&s),
            "{what} prints the secret as {s:?}: {text}"
        );
    }
}

#[cfg(feature = "cache")]
mod cache;
mod configuration;
mod encoding;
mod envelope;
mod headers;
mod payload;
mod primitives;
mod properties;
mod response;
mod time;
