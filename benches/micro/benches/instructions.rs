//! Instruction counts (Valgrind's Callgrind, through `gungraun`): the session path, the sealer per
//! mode, their floors and the `cookie` crate's jars, in one file so that every ratio comes from one
//! run of one build. Counts do not move with the machine's load, so unlike `benches/seal.rs`
//! (wall clock, criterion) a difference of a few percent is real.
//!
//! For JSON payloads of 150 B, 1 KiB and 3 KiB (3000 bytes, so that every mode fits the default
//! 4096-character token limit):
//!
//! - `session_path`: what a request does with its session, outside HTTP: load from a `Cookie`
//!   header ([`SessionManager::load_from_cookie_headers`]), `get` the counter, `insert` it plus
//!   one, `finish` to the `Set-Cookie` value. Default mode (AES-256-GCM-SIV). The sealed payload
//!   (`{"id":…,"data":{…}}`) is the stated size; at 3 KiB the token needs two cookies (chunking).
//! - `sealer_roundtrip`: [`Sealer::seal_at`] then [`Sealer::open_at`] into a typed struct, per mode.
//! - `floor_roundtrip`: the least such a token can cost, serde included (`benches/common/floor.rs`,
//!   the same floor `benches/seal.rs` measures): the typed struct to JSON (`serde_json::to_vec`),
//!   the mode's raw primitive (pre-built key, random nonce, no associated data; HMAC from a
//!   pre-keyed state; AES over the encryption-only key schedule, as the crate's), base64url of
//!   `nonce || ciphertext || tag` (or `payload || tag`), and back to the typed struct. base64url
//!   through `base64-simd`, the fastest implementation we know of and the one the crate uses
//!   (with the `base64` crate's engine the floor was 1.3k instructions higher at 150 B and 20k at
//!   3 KiB).
//! - `peer_roundtrip`: the `cookie` crate's `PrivateJar` (AES-256-GCM) and `SignedJar`
//!   (HMAC-SHA256) with `serde_json` before and after, the usual alternative.
//!
//! Under Valgrind the CPU's SHA extensions are hidden (it does not emulate them), so every
//! HMAC-SHA256 figure here (mode `signed`, `SignedJar`) is for the software SHA-256; with the
//! extensions the signed mode costs less than it shows. AES-NI and CLMUL are emulated, so the AEAD
//! figures are those of the hardware path.
//!
//! Everything a benchmark needs is built in its setup (not counted) and leaked, so that dropping
//! the key ring is not counted either; the setup also runs the operation once, so one-time work
//! (the thread's RNG, CPU feature detection) is not counted.
//!
//! ```text
//! cargo install gungraun-runner --version 0.20.0     # once: the runner must match the library
//! cargo bench -p sealed-session-micro-bench --bench instructions
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark setup")]

use std::hint::black_box;

#[path = "common/floor.rs"]
mod floor;

use cookie::{Cookie, CookieJar};
use floor::Floor;
use gungraun::{library_benchmark, library_benchmark_group, main};
use sealed_session::{Chunking, KeyRing, Mode, Sealer, SealerBuilder, SessionManager, UnixTime};
use serde::{Deserialize, Serialize};

/// The value the sealer, the floors and the jars seal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Payload {
    user: String,
    csrf: String,
    data: String,
}

const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);
const USER: &str = "user-4f1c2a9e";
const CSRF: &str = "q3Vb8xk0W1m2n3o4p5q6r7s8t9u0v1w2x3y4z5A6B7C";

fn filler(len: usize) -> String {
    (b'a'..=b'z')
        .chain(b'0'..=b'9')
        .map(char::from)
        .cycle()
        .take(len)
        .collect()
}

/// A payload whose compact JSON is exactly `json_len` bytes.
fn payload(json_len: usize) -> Payload {
    let mut p = Payload {
        user: USER.to_owned(),
        csrf: CSRF.to_owned(),
        data: String::new(),
    };
    let base = serde_json::to_vec(&p).unwrap().len();
    p.data = filler(json_len - base);
    assert_eq!(serde_json::to_vec(&p).unwrap().len(), json_len);
    p
}

fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

// ---------------------------------------------------------------------------------------------
// The session path
// ---------------------------------------------------------------------------------------------

struct SessionCase {
    manager: SessionManager,
    header: Vec<u8>,
}

fn one_request(case: &SessionCase) -> Vec<String> {
    let session = case
        .manager
        .load_from_cookie_headers([case.header.as_slice()]);
    let n: u64 = session.get("count").unwrap().unwrap_or(0);
    session.insert("count", &(n + 1)).unwrap();
    case.manager.finish(&session).unwrap()
}

/// A manager (default mode, cookie `id`) and the `Cookie` header of a session whose sealed JSON
/// is `json_len` bytes: `{"id":…,"data":{"count":1,"csrf":…,"data":…,"user":…}}`.
fn setup_session(json_len: usize) -> &'static SessionCase {
    // 3000 bytes of JSON seal to about 4080 characters: over one `Set-Cookie`'s 4096 bytes
    // with the name and attributes, so that case is written as two chunks, as an application
    // storing that much must.
    let chunking = (json_len > 2900).then(|| Chunking::new(2));
    let manager = SessionManager::builder(KeyRing::generate())
        .with_cookie_name("id")
        .with_secure(false)
        .with_chunking(chunking)
        .build()
        .unwrap();
    let shape = |data: &str| {
        serde_json::json!({
            "id": "AAAAAAAAAAAAAAAAAAAAAA",
            "data": {"count": 1, "csrf": CSRF, "data": data, "user": USER},
        })
    };
    let base = serde_json::to_vec(&shape("")).unwrap().len();
    let data = filler(json_len - base);
    assert_eq!(serde_json::to_vec(&shape(&data)).unwrap().len(), json_len);
    let session = manager.load_from_cookie_headers([]);
    session.insert("count", &1u64).unwrap();
    session.insert("csrf", CSRF).unwrap();
    session.insert("data", &data).unwrap();
    session.insert("user", USER).unwrap();
    let set_cookie = manager.finish(&session).unwrap();
    let pairs: Vec<&str> = set_cookie
        .iter()
        .map(|c| c.split(';').next().unwrap())
        .collect();
    let case = leak(SessionCase {
        manager,
        header: pairs.join("; ").into_bytes(),
    });
    assert_eq!(one_request(case).len(), set_cookie.len());
    case
}

#[library_benchmark]
#[benches::size(args = [150, 1024, 3000], setup = setup_session)]
fn session_path(case: &'static SessionCase) -> Vec<String> {
    black_box(one_request(black_box(case)))
}

// ---------------------------------------------------------------------------------------------
// The sealer
// ---------------------------------------------------------------------------------------------

struct SealerCase {
    sealer: Sealer,
    value: Payload,
}

fn seal_open(case: &SealerCase) -> Payload {
    let token = case.sealer.seal_at(NOW, &case.value).unwrap();
    case.sealer
        .open_at::<Payload>(NOW, &token)
        .unwrap()
        .into_parts()
        .0
}

fn setup_sealer(mode: Mode, json_len: usize) -> &'static SealerCase {
    let max = SealerBuilder::DEFAULT_MAX_TOKEN_LEN.max(mode.encoded_len(json_len));
    let sealer = Sealer::builder(KeyRing::generate(), "id")
        .mode(mode)
        .max_token_len(max)
        .build()
        .unwrap();
    let case = leak(SealerCase {
        sealer,
        value: payload(json_len),
    });
    assert_eq!(seal_open(case), case.value);
    case
}

#[library_benchmark]
#[bench::siv_150(setup = setup_sealer, args = (Mode::Aes256GcmSiv, 150))]
#[bench::siv_1024(setup = setup_sealer, args = (Mode::Aes256GcmSiv, 1024))]
#[bench::siv_3000(setup = setup_sealer, args = (Mode::Aes256GcmSiv, 3000))]
#[bench::gcm_150(setup = setup_sealer, args = (Mode::Aes256Gcm, 150))]
#[bench::gcm_1024(setup = setup_sealer, args = (Mode::Aes256Gcm, 1024))]
#[bench::gcm_3000(setup = setup_sealer, args = (Mode::Aes256Gcm, 3000))]
#[bench::xchacha_150(setup = setup_sealer, args = (Mode::XChaCha20Poly1305, 150))]
#[bench::xchacha_1024(setup = setup_sealer, args = (Mode::XChaCha20Poly1305, 1024))]
#[bench::xchacha_3000(setup = setup_sealer, args = (Mode::XChaCha20Poly1305, 3000))]
#[bench::signed_150(setup = setup_sealer, args = (Mode::Signed, 150))]
#[bench::signed_1024(setup = setup_sealer, args = (Mode::Signed, 1024))]
#[bench::signed_3000(setup = setup_sealer, args = (Mode::Signed, 3000))]
fn sealer_roundtrip(case: &'static SealerCase) -> Payload {
    black_box(seal_open(black_box(case)))
}

// ---------------------------------------------------------------------------------------------
// The floors
// ---------------------------------------------------------------------------------------------

struct FloorCase {
    floor: Floor,
    value: Payload,
}

fn setup_floor(mode: Mode, json_len: usize) -> &'static FloorCase {
    let case = leak(FloorCase {
        floor: Floor::new(mode),
        value: payload(json_len),
    });
    assert_eq!(
        case.floor.open::<Payload>(&case.floor.seal(&case.value)),
        case.value
    );
    case
}

#[library_benchmark]
#[bench::siv_150(setup = setup_floor, args = (Mode::Aes256GcmSiv, 150))]
#[bench::siv_1024(setup = setup_floor, args = (Mode::Aes256GcmSiv, 1024))]
#[bench::siv_3000(setup = setup_floor, args = (Mode::Aes256GcmSiv, 3000))]
#[bench::gcm_150(setup = setup_floor, args = (Mode::Aes256Gcm, 150))]
#[bench::gcm_1024(setup = setup_floor, args = (Mode::Aes256Gcm, 1024))]
#[bench::gcm_3000(setup = setup_floor, args = (Mode::Aes256Gcm, 3000))]
#[bench::xchacha_150(setup = setup_floor, args = (Mode::XChaCha20Poly1305, 150))]
#[bench::xchacha_1024(setup = setup_floor, args = (Mode::XChaCha20Poly1305, 1024))]
#[bench::xchacha_3000(setup = setup_floor, args = (Mode::XChaCha20Poly1305, 3000))]
#[bench::signed_150(setup = setup_floor, args = (Mode::Signed, 150))]
#[bench::signed_1024(setup = setup_floor, args = (Mode::Signed, 1024))]
#[bench::signed_3000(setup = setup_floor, args = (Mode::Signed, 3000))]
fn floor_roundtrip(case: &'static FloorCase) -> Payload {
    let token = case.floor.seal(black_box(&case.value));
    black_box(case.floor.open(black_box(&token)))
}

// ---------------------------------------------------------------------------------------------
// The peers: the `cookie` crate's jars, with serde
// ---------------------------------------------------------------------------------------------

struct JarCase {
    jar: std::cell::RefCell<CookieJar>,
    key: cookie::Key,
    value: Payload,
    private: bool,
}

// The benchmark runs on one thread; `leak` needs `'static`, not `Sync`.
fn jar_roundtrip(case: &JarCase) -> Payload {
    let json = serde_json::to_string(&case.value).unwrap();
    let mut jar = case.jar.borrow_mut();
    if case.private {
        jar.private_mut(&case.key).add(Cookie::new("id", json));
        let c = jar.private(&case.key).get("id").unwrap();
        serde_json::from_str(c.value()).unwrap()
    } else {
        jar.signed_mut(&case.key).add(Cookie::new("id", json));
        let c = jar.signed(&case.key).get("id").unwrap();
        serde_json::from_str(c.value()).unwrap()
    }
}

fn setup_jar(private: bool, json_len: usize) -> &'static JarCase {
    let case: &'static JarCase = Box::leak(Box::new(JarCase {
        jar: std::cell::RefCell::new(CookieJar::new()),
        key: cookie::Key::generate(),
        value: payload(json_len),
        private,
    }));
    assert_eq!(jar_roundtrip(case), case.value);
    case
}

#[library_benchmark]
#[bench::private_150(setup = setup_jar, args = (true, 150))]
#[bench::private_1024(setup = setup_jar, args = (true, 1024))]
#[bench::private_3000(setup = setup_jar, args = (true, 3000))]
#[bench::signed_150(setup = setup_jar, args = (false, 150))]
#[bench::signed_1024(setup = setup_jar, args = (false, 1024))]
#[bench::signed_3000(setup = setup_jar, args = (false, 3000))]
fn peer_roundtrip(case: &'static JarCase) -> Payload {
    black_box(jar_roundtrip(black_box(case)))
}

library_benchmark_group!(
    name = instructions,
    benchmarks = [
        session_path,
        sealer_roundtrip,
        floor_roundtrip,
        peer_roundtrip
    ]
);

main!(library_benchmark_groups = instructions);
