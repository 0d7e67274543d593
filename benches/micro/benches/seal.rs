//! Sealing and opening: what the sealer costs, against the cryptography it cannot avoid and
//! against the `cookie` crate's jars.
//!
//! One run measures, for JSON payloads of 150 B, 1 KiB and 3 KiB (`{"user","csrf","data"}`, the
//! "3 KiB" one 3000 bytes so that it fits the default 4096-character token limit in every mode):
//!
//! - `seal/`, `open/`, `roundtrip/`: [`Sealer::seal_at`], [`Sealer::open_at`] into a typed,
//!   serde-derived struct, and the two back to back, for each of the four modes, at a fixed
//!   [`UnixTime`]. These include everything a request pays: JSON encoding and the codec's limit
//!   checks, the envelope (header, timestamps, the PAE-encoded associated data binding the cookie
//!   name and purpose), the nonce, the cipher or MAC, base64url, and on opening the time policy
//!   and the typed JSON decode.
//! - `floor-seal/`, `floor-open-decode/`, `floor-roundtrip/`: the least any token of this kind
//!   can cost, with the same primitives and the same plaintext bytes but no envelope
//!   (`benches/common/floor.rs`, the floor `benches/instructions.rs` counts too). The key
//!   state is built once; the nonce comes from `rand::thread_rng()`; the token is
//!   base64url-no-pad (`base64-simd`, as the crate's) of `nonce || ciphertext || tag` (AEADs,
//!   AES over the encryption-only key schedule as in the crate, `encrypt_in_place_detached` /
//!   `decrypt_in_place_detached` with empty associated data) or of `payload || tag` (HMAC-SHA256
//!   cloned from a pre-keyed state, checked with `verify_slice`). `floor-seal` starts from the
//!   **already JSON-encoded** payload (no encoding); `floor-open-decode` **includes** the typed
//!   JSON decode, like `open_at`; `floor-roundtrip` is the two back to back. The ratio
//!   `roundtrip / floor-roundtrip` is the envelope's overhead (plus JSON encoding, which the floor
//!   leaves out, see `serde-json/encode/`).
//! - `cookie-private-*` and `cookie-signed-*`: the `cookie` crate's `PrivateJar` (AES-256-GCM,
//!   standard base64) and `SignedJar` (HMAC-SHA256; base64 of the tag only, the value stays as
//!   is), the usual alternative. `*-seal` is `add`
//!   alone; `*-roundtrip` is `add` then `get` with the JSON string as the cookie value (no serde
//!   at all: cheaper for the jar than what `roundtrip/` does); `*-roundtrip-json` adds
//!   `serde_json::to_string` before and the typed `serde_json::from_str` after, the like-for-like
//!   comparison with `roundtrip/`. One jar is reused across iterations (`add` replaces the
//!   cookie), so the jar's own bookkeeping is counted once per operation, as in a request.
//! - `serde-json/encode/`, `serde-json/decode/`: the JSON cost alone, to read the others by;
//!   `codec/encode/`, `codec/decode/`, `codec/check/`: the sealer's [`Codec`] (the same JSON plus
//!   its size and nesting-depth checks), to attribute the gap between `roundtrip/` and the floor.
//!
//! The benchmarks run size by size and, within a size, mode by mode (the sealer, then its floor),
//! so that figures compared with each other are measured close together in time. On a shared or
//! virtualised machine individual figures still move by tens of percent between runs: compare
//! ratios within one run, and repeat the run before trusting a difference under ~15%.
//!
//! Run with `cargo bench -p sealed-session-micro-bench --bench seal`; the whole run takes about
//! five minutes on two cores.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use std::hint::black_box;
use std::time::Duration;

#[path = "common/floor.rs"]
mod floor;

use cookie::{Cookie, CookieJar};
use criterion::{criterion_group, criterion_main, Criterion};
use floor::Floor;
use sealed_session::{Codec, KeyRing, Mode, Sealer, SealerBuilder, UnixTime};
use serde::{Deserialize, Serialize};

/// The session value every benchmark seals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Payload {
    user: String,
    csrf: String,
    data: String,
}

/// The payload sizes: label and exact JSON length in bytes.
const SIZES: [(&str, usize); 3] = [("150B", 150), ("1KiB", 1024), ("3KiB", 3000)];

/// A fixed time: the benchmarks do not read the clock.
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

/// A payload whose compact JSON encoding is exactly `json_len` bytes.
fn payload(json_len: usize) -> Payload {
    let mut p = Payload {
        user: "user-4f1c2a9e".to_owned(),
        csrf: "q3Vb8xk0W1m2n3o4p5q6r7s8t9u0v1w2x3y4z5A6B7C".to_owned(),
        data: String::new(),
    };
    let base = serde_json::to_vec(&p).unwrap().len();
    p.data = (b'a'..=b'z')
        .chain(b'0'..=b'9')
        .map(char::from)
        .cycle()
        .take(json_len.saturating_sub(base))
        .collect();
    assert_eq!(serde_json::to_vec(&p).unwrap().len(), json_len);
    p
}

/// A sealer for `mode`, with a token limit raised only if the payload would not fit the default.
fn sealer(mode: Mode, json_len: usize) -> Sealer {
    let max = SealerBuilder::DEFAULT_MAX_TOKEN_LEN.max(mode.encoded_len(json_len));
    Sealer::builder(KeyRing::generate(), "id")
        .mode(mode)
        .max_token_len(max)
        .build()
        .expect("valid sealer")
}

/// Everything, size by size and mode by mode, so that the figures compared with each other
/// (a mode's round trip and its floor; the AES modes and the jars) are measured minutes apart at
/// most: on a shared machine the background load drifts, and adjacent runs drift least.
fn bench_all(c: &mut Criterion) {
    let key = cookie::Key::generate();
    for (label, len) in SIZES {
        let value = payload(len);
        let json = serde_json::to_vec(&value).unwrap();
        for mode in Mode::ALL {
            bench_sealer(c, label, &value, mode);
            bench_floor(c, label, &value, &json, mode);
        }
        bench_cookie(c, label, &value, &key);
        bench_json(c, label, &value, &json);
    }
}

fn bench_sealer(c: &mut Criterion, label: &str, value: &Payload, mode: Mode) {
    let len = serde_json::to_vec(value).unwrap().len();
    let s = sealer(mode, len);
    let token = s.seal_at(NOW, value).unwrap();
    eprintln!(
        "{label:>5} {mode:<20} json {len:>5} B, token {:>5} chars (encoded_len {}, limit {})",
        token.len(),
        mode.encoded_len(len),
        s.max_token_len()
    );
    assert_eq!(s.open_at::<Payload>(NOW, &token).unwrap().value(), value);

    let mut g = c.benchmark_group(format!("seal/{label}"));
    g.bench_function(mode.as_str(), |b| {
        b.iter(|| s.seal_at(black_box(NOW), black_box(value)).unwrap());
    });
    g.finish();

    let mut g = c.benchmark_group(format!("open/{label}"));
    g.bench_function(mode.as_str(), |b| {
        b.iter(|| {
            s.open_at::<Payload>(black_box(NOW), black_box(&token))
                .unwrap()
        });
    });
    g.finish();

    let mut g = c.benchmark_group(format!("roundtrip/{label}"));
    g.bench_function(mode.as_str(), |b| {
        b.iter(|| {
            let t = s.seal_at(black_box(NOW), black_box(value)).unwrap();
            s.open_at::<Payload>(NOW, &t).unwrap()
        });
    });
    g.finish();
}

fn bench_floor(c: &mut Criterion, label: &str, value: &Payload, json: &[u8], mode: Mode) {
    let floor = Floor::new(mode);
    let token = floor.seal_json(json);
    assert_eq!(&floor.open::<Payload>(&token), value);

    let mut g = c.benchmark_group(format!("floor-seal/{label}"));
    g.bench_function(mode.as_str(), |b| {
        b.iter(|| floor.seal_json(black_box(json)));
    });
    g.finish();

    let mut g = c.benchmark_group(format!("floor-open-decode/{label}"));
    g.bench_function(mode.as_str(), |b| {
        b.iter(|| floor.open::<Payload>(black_box(&token)));
    });
    g.finish();

    let mut g = c.benchmark_group(format!("floor-roundtrip/{label}"));
    g.bench_function(mode.as_str(), |b| {
        b.iter(|| {
            let t = floor.seal_json(black_box(json));
            floor.open::<Payload>(&t)
        });
    });
    g.finish();
}

fn bench_cookie(c: &mut Criterion, label: &str, value: &Payload, key: &cookie::Key) {
    let json = serde_json::to_string(value).unwrap();

    // PrivateJar: AES-256-GCM, the cookie name as associated data.
    let mut jar = CookieJar::new();
    jar.private_mut(key).add(Cookie::new("id", json.clone()));
    assert_eq!(jar.private(key).get("id").unwrap().value(), json);

    let mut g = c.benchmark_group(format!("cookie-private-seal/{label}"));
    g.bench_function("aes-256-gcm", |b| {
        b.iter(|| {
            jar.private_mut(key)
                .add(Cookie::new("id", black_box(&json).clone()));
        });
    });
    g.finish();

    let mut g = c.benchmark_group(format!("cookie-private-roundtrip/{label}"));
    g.bench_function("aes-256-gcm", |b| {
        b.iter(|| {
            jar.private_mut(key)
                .add(Cookie::new("id", black_box(&json).clone()));
            jar.private(key).get("id").unwrap()
        });
    });
    g.finish();

    let mut g = c.benchmark_group(format!("cookie-private-roundtrip-json/{label}"));
    g.bench_function("aes-256-gcm", |b| {
        b.iter(|| {
            let v = serde_json::to_string(black_box(value)).unwrap();
            jar.private_mut(key).add(Cookie::new("id", v));
            let c = jar.private(key).get("id").unwrap();
            serde_json::from_str::<Payload>(c.value()).unwrap()
        });
    });
    g.finish();

    // SignedJar: HMAC-SHA256, base64(tag) prepended to the readable value.
    let mut jar = CookieJar::new();
    jar.signed_mut(key).add(Cookie::new("id", json.clone()));
    assert_eq!(jar.signed(key).get("id").unwrap().value(), json);

    let mut g = c.benchmark_group(format!("cookie-signed-seal/{label}"));
    g.bench_function("hmac-sha256", |b| {
        b.iter(|| {
            jar.signed_mut(key)
                .add(Cookie::new("id", black_box(&json).clone()));
        });
    });
    g.finish();

    let mut g = c.benchmark_group(format!("cookie-signed-roundtrip/{label}"));
    g.bench_function("hmac-sha256", |b| {
        b.iter(|| {
            jar.signed_mut(key)
                .add(Cookie::new("id", black_box(&json).clone()));
            jar.signed(key).get("id").unwrap()
        });
    });
    g.finish();

    let mut g = c.benchmark_group(format!("cookie-signed-roundtrip-json/{label}"));
    g.bench_function("hmac-sha256", |b| {
        b.iter(|| {
            let v = serde_json::to_string(black_box(value)).unwrap();
            jar.signed_mut(key).add(Cookie::new("id", v));
            let c = jar.signed(key).get("id").unwrap();
            serde_json::from_str::<Payload>(c.value()).unwrap()
        });
    });
    g.finish();
}

fn bench_json(c: &mut Criterion, label: &str, value: &Payload, json: &[u8]) {
    let mut g = c.benchmark_group("serde-json");
    g.bench_function(format!("encode/{label}"), |b| {
        b.iter(|| serde_json::to_vec(black_box(value)).unwrap());
    });
    g.bench_function(format!("decode/{label}"), |b| {
        b.iter(|| serde_json::from_slice::<Payload>(black_box(json)).unwrap());
    });
    g.finish();

    // The sealer's codec: the same JSON plus its size and depth checks.
    let codec = Codec::new();
    let mut g = c.benchmark_group("codec");
    g.bench_function(format!("encode/{label}"), |b| {
        b.iter(|| codec.encode(black_box(value)).unwrap());
    });
    g.bench_function(format!("decode/{label}"), |b| {
        b.iter(|| codec.decode::<Payload>(black_box(json)).unwrap());
    });
    g.bench_function(format!("check/{label}"), |b| {
        b.iter(|| codec.check(black_box(json)).unwrap());
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50)
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_all
}
criterion_main!(benches);
