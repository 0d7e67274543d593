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
//! `tests/wycheproof.rs`; `checklist_43` here restates its HMAC part. Two properties live at the
//! end: the sealer never produces a plaintext over the limit (row 27), and a rendered
//! `Set-Cookie` is never over 4096 bytes without an error, for arbitrary session data and
//! arbitrary valid cookie policies (row 34).
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

/// The cookie name of the sealers.
const NAME: &str = "id";
/// The cookie name of the session managers.
const COOKIE: &str = "session";
/// A fixed "now" (2023-11-14T22:13:20Z).
const T0: UnixTime = UnixTime::from_secs(1_700_000_000);
/// The sealers' absolute lifetime.
const LIFETIME: Duration = Duration::from_secs(3600);

fn at(offset: u64) -> UnixTime {
    UnixTime::from_secs(T0.as_secs() + offset)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A deterministic, non-uniform 32-byte secret.
fn secret(seed: u8) -> Vec<u8> {
    (0..32u8)
        .map(|i| i.wrapping_mul(29).wrapping_add(seed).rotate_left(5) ^ 0xa5)
        .collect()
}

fn key(seed: u8) -> Key {
    Key::try_from(&secret(seed)[..]).unwrap()
}

fn ring_of(key: &Key) -> KeyRing {
    KeyRing::builder().primary(key.clone()).build().unwrap()
}

/// The ring most tests use.
static KEY: LazyLock<Key> = LazyLock::new(|| key(1));
static RING: LazyLock<KeyRing> = LazyLock::new(|| ring_of(&KEY));

fn sealer_in(mode: Mode, ring: KeyRing) -> Sealer {
    Sealer::builder(ring, NAME)
        .mode(mode)
        .lifetime(LIFETIME)
        .build()
        .unwrap()
}

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

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(token).unwrap()
}

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

// ---------------------------------------------------------------------------------------------
// Encoding (rows 1–5)
// ---------------------------------------------------------------------------------------------

/// Row 1: no cookie, no session; no `Set-Cookie` unless the handler writes.
#[test]
fn checklist_01_no_cookie_no_session_no_set_cookie() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    for headers in [&[][..], &["theme=dark; lang=en"][..], &[""][..]] {
        let s = load(&m, headers);
        assert!(s.is_new() && s.id().is_none() && s.rejection().is_none());
        assert_eq!(s.get::<String>("user").unwrap(), None);
        assert!(
            m.finish_at(T0, &s).unwrap().is_empty(),
            "{headers:?}: a read"
        );
        s.insert("user", &"ann").unwrap();
        let out = m.finish_at(T0, &s).unwrap();
        assert_eq!(out.len(), 1, "{headers:?}: a write");
        assert_eq!(Cookie::parse(out[0].as_str()).unwrap().name(), COOKIE);
    }
}

/// Row 2: an empty value is rejected.
#[test]
fn checklist_02_empty_value_rejected() {
    for mode in Mode::ALL {
        assert_rejects(sealer(mode), T0, "", Rejection::Malformed, "empty");
    }
    assert_rejects(&ALL_MODES, T0, "", Rejection::Malformed, "empty");
    let m = manager_with(RING.clone(), &clock(), |b| b);
    for header in [
        "session=",
        "session= ",
        "session=;",
        "theme=1; session=; x=2",
    ] {
        assert_fresh(&m, header, Rejection::Malformed, header);
    }
}

/// Row 3: a value over the maximum (4097 bytes, 100 KiB) is rejected before base64 decoding,
/// in time independent of its length beyond the cap: junk that is not base64 at all is
/// `TooLarge` too, and 100 KiB costs what 4097 bytes cost.
#[test]
fn checklist_03_oversized_value_rejected_before_decoding() {
    let max = SealerBuilder::DEFAULT_MAX_TOKEN_LEN;
    let at_cap_junk = "!".repeat(max);
    for mode in Mode::ALL {
        let s = sealer(mode);
        assert_eq!(s.max_token_len(), 4096);
        for (what, token) in [
            ("4097 base64 characters", "A".repeat(max + 1)),
            ("100 KiB base64 characters", "A".repeat(100 * 1024)),
            ("4097 bytes of junk", "!".repeat(max + 1)),
            ("100 KiB of junk", "\u{0}\u{ff}".repeat(50 * 1024)),
            ("4097 bytes of multibyte text", "é".repeat(2049)),
        ] {
            assert_rejects(s, T0, &token, Rejection::TooLarge, what);
        }
        // At the cap the same junk is decoded, and refused as what it is.
        assert_rejects(s, T0, &at_cap_junk, Rejection::Malformed, "4096 junk");
    }

    let just_over = "A".repeat(max + 1);
    let far_over = "A".repeat(100 * 1024);
    let s = sealer(Mode::default());
    let small = best_time(5, 2000, || {
        let _ = std::hint::black_box(s.open_at::<Value>(T0, &just_over));
    });
    let large = best_time(5, 2000, || {
        let _ = std::hint::black_box(s.open_at::<Value>(T0, &far_over));
    });
    // Decoding 100 KiB 2000 times would take ~25 times as long as 4097 bytes; a generous bound.
    assert!(
        large <= small * 5 + Duration::from_millis(20),
        "100 KiB took {large:?}, 4097 bytes {small:?}"
    );

    let m = manager_with(RING.clone(), &clock(), |b| b);
    assert_fresh(&m, &pair(&far_over), Rejection::TooLarge, "100 KiB cookie");
    assert_fresh(
        &m,
        &pair(&just_over),
        Rejection::TooLarge,
        "4097-byte cookie",
    );
}

/// Row 4: invalid characters, the standard alphabet, padding, a non-canonical last character and
/// a length ≡ 1 (mod 4) are rejected: exactly one spelling of a token is accepted.
#[test]
fn checklist_04_only_canonical_base64url_accepted() {
    for mode in Mode::ALL {
        let s = sealer(mode);
        let mut residues_seen = [false; 4];
        for n in 0..60 {
            let token = token_of_len(mode, n);
            let residue = token.len() % 4;
            if residues_seen[residue] {
                continue;
            }
            residues_seen[residue] = true;
            assert!(s.open_at::<Value>(T0, &token).is_ok());
            assert_eq!(b64(&unb64(&token)), token, "canonical by construction");
            let mid = token.len() / 2;
            for bad in ['+', '/', '=', '.', '*', '~', '%', '$', '\\', '"'] {
                let t = format!("{}{bad}{}", &token[..mid], &token[mid + 1..]);
                assert_rejects(s, T0, &t, Rejection::Malformed, &format!("{bad:?} inside"));
            }
            // The standard alphabet spelling of the same bytes, padded or not.
            let standard = STANDARD.encode(unb64(&token));
            if standard != token {
                assert_rejects(s, T0, &standard, Rejection::Malformed, "standard, padded");
            }
            if let Some(i) = token.find(['-', '_']) {
                let std_char = if &token[i..=i] == "-" { "+" } else { "/" };
                let t = format!("{}{std_char}{}", &token[..i], &token[i + 1..]);
                assert_rejects(s, T0, &t, Rejection::Malformed, "standard alphabet");
            }
            for pad in ["=", "==", "==="] {
                let t = format!("{token}{pad}");
                assert_rejects(s, T0, &t, Rejection::Malformed, "padding");
            }
            // Exactly one last character opens: every other is a different token or
            // non-canonical.
            let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let stem = &token[..token.len() - 1];
            let opening: Vec<char> = alphabet
                .chars()
                .filter(|c| s.open_at::<Value>(T0, &format!("{stem}{c}")).is_ok())
                .collect();
            assert_eq!(opening, vec![token.chars().last().unwrap()], "{mode}");
            if residue != 0 {
                // Set the unused low bits of the last character: non-canonical.
                let last = alphabet.find(token.chars().last().unwrap()).unwrap();
                let unused = if residue == 2 { 0b1111 } else { 0b11 };
                let t = format!("{stem}{}", &alphabet[(last | unused)..=(last | unused)]);
                assert_rejects(s, T0, &t, Rejection::Malformed, "non-canonical last");
            }
            // A length of 1 mod 4.
            let cut = (1..=4).find(|k| (token.len() - k) % 4 == 1).unwrap();
            let t = &token[..token.len() - cut];
            assert_rejects(s, T0, t, Rejection::Malformed, "length 1 mod 4");
            assert_rejects(s, T0, &format!("{t}AAAA"), Rejection::Malformed, "1 mod 4");
        }
        assert_eq!(residues_seen, [true, false, true, true], "{mode}");
    }
}

/// Row 5: white space, tab or control characters inside the value are rejected.
#[test]
fn checklist_05_whitespace_and_control_characters_rejected() {
    for mode in Mode::ALL {
        let s = sealer(mode);
        let token = token_of_len(mode, 10);
        let mid = token.len() / 2;
        for c in [
            ' ', '\t', '\n', '\r', '\0', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{7f}', '\u{a0}',
            '\u{2028}', '\u{feff}',
        ] {
            for (what, t) in [
                ("leading", format!("{c}{token}")),
                ("inside", format!("{}{c}{}", &token[..mid], &token[mid..])),
                ("trailing", format!("{token}{c}")),
            ] {
                assert_rejects(s, T0, &t, Rejection::Malformed, &format!("{c:?} {what}"));
            }
        }
    }
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let token = issue(&m, &[("user", json!("ann"))]);
    let mid = token.len() / 2;
    for c in ['\t', ' ', '\u{1}'] {
        let header = pair(&format!("{}{c}{}", &token[..mid], &token[mid..]));
        assert_fresh(
            &m,
            &header,
            Rejection::Malformed,
            &format!("{c:?} in a header"),
        );
    }
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The checklist's expected outcome for every rejection: a fresh session and a `tracing` event
/// with the reason code, never the token, the key or the plaintext.
#[test]
fn checklist_expected_outcome_logs_the_reason_never_the_token() {
    let raw = secret(77);
    let ring = ring_of(&Key::try_from(&raw[..]).unwrap());
    let c = clock();
    let m = manager_with(ring, &c, |b| b.with_lifetime(secs(3600)));
    let token = issue(&m, &[("password", json!("hunter2-plaintext"))]);
    let mut tampered = token.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let cases = [
        ("bad_tag", tampered.clone(), T0),
        ("expired", token.clone(), at(3600)),
        ("too_large", "Q".repeat(5000), T0),
        ("malformed", format!("{}!", &token[..40]), T0),
    ];
    for (code, value, now) in cases {
        c.set(now);
        let logs = LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer({
                let logs = logs.clone();
                move || logs.clone()
            })
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let s = load(&m, &[&pair(&value)]);
            assert!(s.is_new(), "{code}");
            assert_deletion(&m.finish_at(now, &s).unwrap(), code);
        });
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains(&format!("reason={code}")), "{code}: {text}");
        for secret_text in [
            &value[..40],
            &token[..40],
            &token[token.len() - 30..],
            "hunter2",
        ] {
            assert!(
                !text.contains(secret_text),
                "{code}: the log holds {secret_text:?}: {text}"
            );
        }
        assert_no_secret(code, &text, &raw);
    }
}

// ---------------------------------------------------------------------------------------------
// Envelope (rows 6–15)
// ---------------------------------------------------------------------------------------------

/// Row 6: every decoded length from 0 up to the minimum token size is rejected, without a
/// slice-index panic, by every opener.
#[test]
fn checklist_06_every_short_decoded_length_rejected() {
    for mode in Mode::ALL {
        let real = unb64(&token_of_len(mode, 3));
        for len in 0..mode.overhead() {
            for bytes in [real[..len].to_vec(), {
                let mut z = vec![0u8; len];
                if let Some(b) = z.first_mut() {
                    *b = mode.version_byte();
                }
                z
            }] {
                let t = b64(&bytes);
                for opener in SEALERS.iter().chain([&*ALL_MODES]) {
                    assert_rejects(opener, T0, &t, Rejection::Malformed, &format!("{len}"));
                }
            }
        }
    }
}

/// Row 7: a nonce of the wrong length for the mode is refused, never a `from_slice` panic: by the
/// primitive wrappers for every other length, and by the opener when a token's version byte
/// names a mode with another nonce length.
#[test]
fn checklist_07_wrong_nonce_length_rejected() {
    for alg in [
        AeadAlgorithm::XChaCha20Poly1305,
        AeadAlgorithm::Aes256Gcm,
        AeadAlgorithm::Aes256GcmSiv,
    ] {
        let c = AeadCipher::from_slice(alg, &secret(3)).unwrap();
        let n = c.nonce_len();
        let mut buf = *b"payload";
        let tag = c.encrypt_in_place(&vec![1; n], b"ad", &mut buf).unwrap();
        for len in (0..=48).filter(|l| *l != n) {
            let nonce = vec![1u8; len];
            let mut b = *b"payload";
            assert!(
                c.encrypt_in_place(&nonce, b"ad", &mut b).is_err(),
                "{alg:?} {len}"
            );
            let mut b = buf;
            assert!(
                c.decrypt_in_place(&nonce, b"ad", &mut b, &tag).is_err(),
                "{alg:?} {len}"
            );
        }
        c.decrypt_in_place(&vec![1; n], b"ad", &mut buf, &tag)
            .unwrap();
        assert_eq!(&buf, b"payload");
    }
    // Relabel a token as another mode (another nonce length): refused by the tag, no panic.
    for from in Mode::ALL {
        let bytes = unb64(&token_of_len(from, 40));
        for to in Mode::ALL.into_iter().filter(|m| *m != from) {
            let mut b = bytes.clone();
            b[0] = to.version_byte();
            let t = b64(&b);
            assert_rejects(
                &ALL_MODES,
                T0,
                &t,
                Rejection::BadTag,
                &format!("{from}→{to}"),
            );
            assert_rejects(
                sealer(from),
                T0,
                &t,
                Rejection::UnsupportedVersion,
                &format!("{from}→{to}"),
            );
        }
    }
}

/// Row 8: a tag truncated by 1–15 bytes (1–31 for the 32-byte HMAC tag) is rejected.
#[test]
fn checklist_08_truncated_tags_rejected() {
    for mode in Mode::ALL {
        let bytes = unb64(&token_of_len(mode, 40));
        for cut in 1..mode.tag_len() {
            let t = b64(&bytes[..bytes.len() - cut]);
            assert_rejects(sealer(mode), T0, &t, Rejection::BadTag, &format!("-{cut}"));
        }
    }
    let mac = HmacSha256::from_slice(&secret(4)).unwrap();
    let tag = mac.sign(&[b"message"]);
    assert_eq!(tag.len(), HMAC_TAG_LEN);
    for len in 0..HMAC_TAG_LEN {
        assert!(mac.verify(&[b"message"], &tag[..len]).is_err(), "{len}");
    }
    mac.verify(&[b"message"], &tag).unwrap();
    for alg in [
        AeadAlgorithm::XChaCha20Poly1305,
        AeadAlgorithm::Aes256Gcm,
        AeadAlgorithm::Aes256GcmSiv,
    ] {
        let c = AeadCipher::from_slice(alg, &secret(5)).unwrap();
        let nonce = vec![2; c.nonce_len()];
        let mut buf = *b"payload";
        let tag = c.encrypt_in_place(&nonce, b"", &mut buf).unwrap();
        for len in 0..AEAD_TAG_LEN {
            let mut b = buf;
            assert!(
                c.decrypt_in_place(&nonce, b"", &mut b, &tag[..len])
                    .is_err(),
                "{alg:?} {len}"
            );
        }
    }
}

/// Row 9: an unknown version byte (0x00, 0xFF, the current + 1, and every other unknown value)
/// is rejected, and a known but different one is never opened ("try every format" is not done).
#[test]
fn checklist_09_unknown_version_bytes_rejected() {
    for mode in Mode::ALL {
        let bytes = unb64(&token_of_len(mode, 40));
        for v in 0..=255u8 {
            let mut b = bytes.clone();
            b[0] = v;
            let t = b64(&b);
            match Mode::from_version_byte(v) {
                None => {
                    for opener in SEALERS.iter().chain([&*ALL_MODES]) {
                        assert_rejects(opener, T0, &t, Rejection::UnsupportedVersion, "");
                    }
                }
                Some(m) if m == mode => assert!(ALL_MODES.open_at::<Value>(T0, &t).is_ok()),
                Some(_) => assert!(ALL_MODES.open_at::<Value>(T0, &t).is_err()),
            }
        }
    }
    for v in [0x00, 0xff, 0x15, 0x10, 0x21] {
        assert_eq!(Mode::from_version_byte(v), None, "{v:#x}");
    }
}

/// Row 10: a signed token given to an encrypted-only opener, and the reverse, is rejected (and
/// so is every mode given to an opener of another mode).
#[test]
fn checklist_10_signed_and_encrypted_openers_refuse_each_other() {
    for from in Mode::ALL {
        let token = token_of_len(from, 5);
        for to in Mode::ALL.into_iter().filter(|m| *m != from) {
            assert_rejects(
                sealer(to),
                T0,
                &token,
                Rejection::UnsupportedVersion,
                &format!("{from} token"),
            );
        }
    }
}

/// Row 11: an unknown key id is rejected by one lookup, never by trying every key: a token whose
/// id names no key is `UnknownKey` even when a key in the ring would verify it, and a token
/// whose id names another key is `BadTag` although the right key is in the ring.
#[test]
fn checklist_11_unknown_key_id_rejected_without_trying_keys() {
    let a = key(11);
    let b = key(12);
    for mode in Mode::ALL {
        let sealed_as_2 = sealer_in(mode, ring_of(&a.clone().with_id(KeyId::new(2))))
            .seal_at(T0, &json!("v"))
            .unwrap();
        let a_as_1 = ring_of(&a.clone().with_id(KeyId::new(1)));
        assert_rejects(
            &sealer_in(mode, a_as_1),
            T0,
            &sealed_as_2,
            Rejection::UnknownKey,
            "the sealing key under another id",
        );
        let mixed = KeyRing::builder()
            .primary(a.clone().with_id(KeyId::new(1)))
            .older(b.clone().with_id(KeyId::new(2)))
            .build()
            .unwrap();
        assert_rejects(
            &sealer_in(mode, mixed),
            T0,
            &sealed_as_2,
            Rejection::BadTag,
            "only the key named by the id is tried",
        );
        let many = (0..64u32)
            .fold(KeyRing::builder().primary(key(13)), |r, i| {
                r.older(Key::generate().with_id(KeyId::new(1000 + i)))
            })
            .build()
            .unwrap();
        assert_rejects(
            &sealer_in(mode, many),
            T0,
            &sealed_as_2,
            Rejection::UnknownKey,
            "65 keys",
        );
    }
}

/// Row 12: a known key id with the wrong secret (another deployment) is rejected.
#[test]
fn checklist_12_known_key_id_wrong_secret_rejected() {
    for mode in Mode::ALL {
        let ours = sealer_in(mode, ring_of(&key(21).with_id(KeyId::new(7))));
        let theirs = sealer_in(mode, ring_of(&key(22).with_id(KeyId::new(7))));
        let token = theirs.seal_at(T0, &json!({"user": "mallory"})).unwrap();
        assert_rejects(
            &ours,
            T0,
            &token,
            Rejection::BadTag,
            "same id, other secret",
        );
    }
}

/// What the opening order predicts for a token that passed as `original` and was altered into
/// `altered`: version, length, accepted mode, key id, else the tag.
fn predicted(altered: &[u8], accepted: &[Mode]) -> Rejection {
    let Some(mode) = altered.first().and_then(|v| Mode::from_version_byte(*v)) else {
        return Rejection::UnsupportedVersion;
    };
    if altered.len() < mode.overhead() {
        return Rejection::Malformed;
    }
    if !accepted.contains(&mode) {
        return Rejection::UnsupportedVersion;
    }
    if altered[1..5] != KEY.id().get().to_be_bytes() {
        return Rejection::UnknownKey;
    }
    Rejection::BadTag
}

/// Row 13: every bit of every field of a short token flipped, exhaustively: each variant is
/// rejected, with the rejection the opening order predicts.
#[test]
fn checklist_13_every_bit_flip_rejected() {
    for mode in Mode::ALL {
        let token = sealer(mode).seal_at(T0, &1).unwrap();
        let bytes = unb64(&token);
        assert_eq!(bytes.len(), mode.overhead() + 1);
        let mut count = 0;
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let t = b64(&b);
                assert_rejects(sealer(mode), T0, &t, predicted(&b, &[mode]), "flip");
                assert_rejects(&ALL_MODES, T0, &t, predicted(&b, &Mode::ALL), "flip");
                count += 1;
            }
        }
        assert_eq!(count, 8 * (mode.overhead() + 1));
    }
}

/// Row 14: a valid token moved to another cookie name, or sealed for another purpose, is
/// rejected; at the session layer it gives a fresh session.
#[test]
fn checklist_14_token_moved_to_another_name_or_purpose_rejected() {
    for mode in Mode::ALL {
        let token = sealer(mode).seal_at(T0, &json!({"user": "ann"})).unwrap();
        for name in ["id2", "ID", "__Host-id", "id.1", "i"] {
            let other = Sealer::builder(RING.clone(), name)
                .mode(mode)
                .build()
                .unwrap();
            assert_rejects(&other, T0, &token, Rejection::BadTag, name);
        }
        let csrf = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .purpose("csrf")
            .build()
            .unwrap();
        assert_rejects(&csrf, T0, &token, Rejection::BadTag, "purpose csrf");
    }
    let c = clock();
    let a = manager_with(RING.clone(), &c, |b| b.with_cookie_name("a"));
    let b = manager_with(RING.clone(), &c, |b| b.with_cookie_name("b"));
    let token = issue(&a, &[("user", json!("ann"))]);
    let s = load(&b, &[&format!("b={token}")]);
    assert!(s.is_new());
    assert_eq!(s.rejection(), Some(Rejection::BadTag));
}

/// Row 15: a token from another application sharing the same secret, cookie name and mode but
/// with another purpose is rejected, both ways.
#[test]
fn checklist_15_other_application_same_secret_rejected() {
    for mode in Mode::ALL {
        let app = |purpose: &str| {
            Sealer::builder(ring_of(&KEY), NAME)
                .mode(mode)
                .purpose(purpose)
                .build()
                .unwrap()
        };
        let (billing, forum) = (app("billing"), app("forum"));
        let from_billing = billing.seal_at(T0, &json!({"admin": true})).unwrap();
        let from_forum = forum.seal_at(T0, &json!({"admin": true})).unwrap();
        assert!(billing.open_at::<Value>(T0, &from_billing).is_ok());
        assert_rejects(
            &forum,
            T0,
            &from_billing,
            Rejection::BadTag,
            "billing→forum",
        );
        assert_rejects(
            &billing,
            T0,
            &from_forum,
            Rejection::BadTag,
            "forum→billing",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Time (rows 16–21), on an injected clock
// ---------------------------------------------------------------------------------------------

/// Row 16: past the absolute lifetime the cookie the browser still sends is rejected, even for a
/// session kept busy (re-sealing never moves the absolute expiry).
#[test]
fn checklist_16_absolute_lifetime_exceeded_rejected() {
    let c = clock();
    let m = manager_with(RING.clone(), &c, |b| {
        b.with_lifetime(secs(3600)).with_idle_timeout(None)
    });
    let first = issue(&m, &[("n", json!(0))]);
    // Busy: a write every 10 minutes re-seals the cookie.
    let mut token = first.clone();
    for step in 1..=5 {
        c.set(at(600 * step));
        let s = load(&m, &[&pair(&token)]);
        assert!(!s.is_new(), "step {step}");
        s.insert("n", &step).unwrap();
        let out = m.finish_at(c.now(), &s).unwrap();
        token = Cookie::parse(out[0].clone()).unwrap().value().to_owned();
    }
    c.set(at(3599));
    assert!(!load(&m, &[&pair(&first)]).is_new());
    c.set(at(3600));
    assert_fresh(&m, &pair(&first), Rejection::Expired, "the first cookie");
    assert_fresh(&m, &pair(&token), Rejection::Expired, "the busy cookie");
    for mode in Mode::ALL {
        let t = sealer(mode).seal_at(T0, &1).unwrap();
        assert_rejects(sealer(mode), at(3600), &t, Rejection::Expired, "sealer");
    }
}

/// Row 17: past the idle limit the cookie is rejected.
#[test]
fn checklist_17_idle_limit_exceeded_rejected() {
    let c = clock();
    let m = manager_with(RING.clone(), &c, |b| b.with_idle_timeout(Some(secs(1800))));
    let token = issue(&m, &[("user", json!("ann"))]);
    c.set(at(1799));
    assert!(!load(&m, &[&pair(&token)]).is_new());
    c.set(at(1800));
    assert_fresh(&m, &pair(&token), Rejection::IdleTimeout, "idle 30 min");
    for mode in Mode::ALL {
        let s = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .idle_timeout(Some(secs(300)))
            .build()
            .unwrap();
        let t = s.seal_at(T0, &1).unwrap();
        assert!(s.open_at::<Value>(at(299), &t).is_ok());
        assert_rejects(&s, at(300), &t, Rejection::IdleTimeout, "idle 300 s");
    }
}

/// Row 18: a token issued in the future beyond the leeway is rejected (and one whose creation
/// is after its issue).
#[test]
fn checklist_18_issued_in_the_future_rejected() {
    for mode in Mode::ALL {
        let s = sealer(mode);
        assert_eq!(SealerBuilder::DEFAULT_LEEWAY, secs(60));
        let ok = s.seal_at(at(60), &1).unwrap();
        assert!(
            s.open_at::<Value>(T0, &ok).is_ok(),
            "{mode}: within the leeway"
        );
        let future = s.seal_at(at(61), &1).unwrap();
        assert_rejects(s, T0, &future, Rejection::NotYetValid, "61 s ahead");
        let backwards = seal_raw(
            s,
            times(T0.as_secs() + 10, T0.as_secs(), T0.as_secs() + 60),
            b"1",
        );
        assert_rejects(
            s,
            T0,
            &backwards,
            Rejection::NotYetValid,
            "created > issued",
        );
    }
}

/// Row 19: an expiry of 0 or `u64::MAX`, and timestamps that overflow when a lifetime or an idle
/// timeout is added, are rejected with checked arithmetic (no panic, no wrap-around).
#[test]
fn checklist_19_extreme_timestamps_rejected_with_checked_arithmetic() {
    let max = u64::MAX;
    let t0 = T0.as_secs();
    for mode in Mode::ALL {
        let s = sealer(mode);
        let idle = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .lifetime(LIFETIME)
            .idle_timeout(Some(secs(300)))
            .build()
            .unwrap();
        let cases: [(&str, &Sealer, Timestamps, UnixTime, Rejection); 7] = [
            ("expires 0", s, times(t0, t0, 0), T0, Rejection::Expired),
            ("expires now", s, times(t0, t0, t0), T0, Rejection::Expired),
            (
                "expires u64::MAX, created a lifetime ago",
                s,
                times(t0 - 3600, t0, max),
                T0,
                Rejection::Expired,
            ),
            (
                "expires u64::MAX, created at 0",
                s,
                times(0, 0, max),
                T0,
                Rejection::Expired,
            ),
            (
                "created + lifetime overflows",
                s,
                times(max - 10, max - 10, max),
                UnixTime::from_secs(max - 10),
                Rejection::Expired,
            ),
            (
                "issued + idle overflows",
                &idle,
                times(max - 3600 - 5, max - 1, max),
                UnixTime::from_secs(max - 10),
                Rejection::IdleTimeout,
            ),
            (
                "now is u64::MAX (now + leeway overflows)",
                s,
                times(t0, t0, t0 + 3600),
                UnixTime::from_secs(max),
                Rejection::Expired,
            ),
        ];
        for (what, opener, ts, now, expected) in cases {
            let token = seal_raw(opener, ts, b"1");
            assert_rejects(opener, now, &token, expected, what);
        }
        let e = s.seal_at(UnixTime::from_secs(max - 10), &1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimeOverflow, "{mode}: sealing");
    }
}

/// Row 20: a token created before the ring's revoke-all cutoff is rejected, however recently it
/// was re-sealed.
#[test]
fn checklist_20_created_before_revoke_cutoff_rejected() {
    for mode in Mode::ALL {
        let s = sealer(mode);
        let old = s.seal_at(T0, &1).unwrap();
        let meta = *s.open_at::<Value>(at(100), &old).unwrap().meta();
        let resealed = s.reseal_at(at(100), &1, &meta).unwrap();
        let revoking = |cutoff: UnixTime| {
            let ring = KeyRing::builder()
                .primary(KEY.clone())
                .revoke_before(cutoff)
                .build()
                .unwrap();
            sealer_in(mode, ring)
        };
        let r = revoking(at(1));
        assert_rejects(&r, at(200), &old, Rejection::Revoked, "created before");
        assert_rejects(
            &r,
            at(200),
            &resealed,
            Rejection::Revoked,
            "re-sealed later",
        );
        let new = s.seal_at(at(1), &1).unwrap();
        assert!(
            r.open_at::<Value>(at(200), &new).is_ok(),
            "created at the cutoff"
        );
        assert!(revoking(T0).open_at::<Value>(at(200), &old).is_ok());
    }
}

/// Row 21: a token under an older key that still opens is accepted and re-sealed under the
/// primary, keeping its creation time and absolute expiry.
#[test]
fn checklist_21_older_key_accepted_and_resealed_keeping_expiry() {
    let c = clock();
    let (k1, k2) = (key(31), key(32));
    let before = manager_with(ring_of(&k1), &c, |b| b);
    let token = issue(&before, &[("user", json!("ann"))]);
    let original = *before.sealer().open_at::<Value>(T0, &token).unwrap().meta();
    let rotated_ring = KeyRing::builder()
        .primary(k2.clone())
        .older(k1.clone())
        .build()
        .unwrap();
    let after = manager_with(rotated_ring, &c, |b| b);
    c.set(at(60));
    let opened = after.sealer().open_at::<Value>(c.now(), &token).unwrap();
    assert_eq!(opened.reseal(), Some(Reseal::RotatedKey));
    let s = load(&after, &[&pair(&token)]);
    assert_eq!(s.get::<String>("user").unwrap().as_deref(), Some("ann"));
    let out = after.finish_at(c.now(), &s).unwrap();
    assert_eq!(out.len(), 1, "a read re-seals: {out:?}");
    let resealed = Cookie::parse(out[0].clone()).unwrap().value().to_owned();
    let meta = *after
        .sealer()
        .open_at::<Value>(c.now(), &resealed)
        .unwrap()
        .meta();
    assert_eq!(meta.key_id(), k2.id());
    assert_eq!(meta.created(), original.created());
    assert_eq!(meta.expires(), original.expires());
    assert_eq!(meta.issued(), at(60));
}

// ---------------------------------------------------------------------------------------------
// Payload (rows 22–27): the decoder directly, and through an opener with a valid tag
// ---------------------------------------------------------------------------------------------

/// A sealer per mode with room for large payloads, for decoder rows through a valid tag.
fn roomy(mode: Mode) -> Sealer {
    Sealer::builder(RING.clone(), NAME)
        .mode(mode)
        .lifetime(LIFETIME)
        .max_token_len(1 << 20)
        .codec(Codec::new().with_max_bytes(1 << 19))
        .build()
        .unwrap()
}

/// Every mode opens `payload` (sealed raw, so authentic) as `Rejection::Decode`.
fn assert_decode_rejection(payload: &[u8], what: &str) {
    for mode in Mode::ALL {
        let s = roomy(mode);
        let token = seal_raw(
            &s,
            times(T0.as_secs(), T0.as_secs(), T0.as_secs() + 60),
            payload,
        );
        assert_rejects(&s, T0, &token, Rejection::Decode, what);
    }
}

fn codec_kind<T: std::fmt::Debug>(r: Result<T, sealed_session::Error>) -> ErrorKind {
    r.expect_err("the codec refuses it").kind()
}

/// Row 22: nesting 100 000 deep is an error, not a stack overflow (checked on a thread with a
/// 256 KiB stack).
#[test]
fn checklist_22_deep_nesting_is_an_error_not_a_stack_overflow() {
    let arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let objects = format!("{}1{}", r#"{"":"#.repeat(100_000), "}".repeat(100_000));
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn({
            let (arrays, objects) = (arrays.clone(), objects.clone());
            move || {
                let c = Codec::new().with_max_bytes(1 << 20).with_max_depth(100_000);
                [
                    codec_kind(c.decode_value(arrays.as_bytes())),
                    codec_kind(c.decode_value(objects.as_bytes())),
                    codec_kind(
                        Codec::new()
                            .with_max_bytes(1 << 20)
                            .decode_value(arrays.as_bytes()),
                    ),
                ]
            }
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), [ErrorKind::PayloadTooDeep; 3]);
    assert_decode_rejection(arrays.as_bytes(), "100 000 nested arrays");
    assert_decode_rejection(objects.as_bytes(), "100 000 nested objects");
}

#[derive(Debug, Deserialize, PartialEq)]
struct User {
    name: String,
    age: u8,
}

/// Row 23: duplicate keys are an error in a typed struct; into a generic map the last value wins
/// (serde_json's behaviour, documented on `Codec::decode_map`).
#[test]
fn checklist_23_duplicate_keys_error_in_a_struct_last_wins_in_a_map() {
    let dup = br#"{"name":"a","age":1,"age":2}"#;
    let c = Codec::new();
    assert_eq!(codec_kind(c.decode::<User>(dup)), ErrorKind::Codec);
    assert_eq!(c.decode_map(dup).unwrap()["age"], json!(2));
    assert_eq!(c.decode_value(dup).unwrap()["age"], json!(2));
    for mode in Mode::ALL {
        let s = roomy(mode);
        let token = seal_raw(
            &s,
            times(T0.as_secs(), T0.as_secs(), T0.as_secs() + 60),
            dup,
        );
        assert_eq!(
            s.open_at::<User>(T0, &token).unwrap_err(),
            Rejection::Decode
        );
        assert_eq!(
            s.open_at::<Value>(T0, &token).unwrap().value()["age"],
            json!(2)
        );
    }
}

/// Row 24: non-UTF-8 bytes and lone surrogates are errors.
#[test]
fn checklist_24_non_utf8_and_lone_surrogates_error() {
    let c = Codec::new();
    for bad in [
        &b"\"\xff\""[..],
        b"\"\xc0\xaf\"",         // overlong '/'
        b"\"\xed\xa0\x80\"",     // a surrogate encoded as UTF-8 (CESU-8)
        b"\"\xf4\x90\x80\x80\"", // past U+10FFFF
        b"{\"a\":\"\x80\"}",
        br#""\ud800""#,
        br#""\udc00""#,
        br#""\ud800\u0041""#,
        br#"{"\udfff":1}"#,
    ] {
        assert_eq!(codec_kind(c.decode_value(bad)), ErrorKind::Codec, "{bad:?}");
        assert_decode_rejection(bad, &format!("{bad:?}"));
    }
    assert_eq!(c.decode_value(br#""\ud83d\ude00""#).unwrap(), json!("😀"));
}

/// Row 25: numbers out of range for the target type are errors.
#[test]
fn checklist_25_out_of_range_numbers_error() {
    let c = Codec::new();
    assert_eq!(codec_kind(c.decode::<f64>(b"1e400")), ErrorKind::Codec);
    assert_eq!(codec_kind(c.decode_value(b"1e400")), ErrorKind::Codec);
    assert_eq!(codec_kind(c.decode_value(b"-1e400")), ErrorKind::Codec);
    assert_eq!(
        codec_kind(c.decode::<u64>(b"18446744073709551616")),
        ErrorKind::Codec
    );
    assert_eq!(
        codec_kind(c.decode::<i64>(b"-9223372036854775809")),
        ErrorKind::Codec
    );
    assert_eq!(codec_kind(c.decode::<u8>(b"256")), ErrorKind::Codec);
    assert_eq!(codec_kind(c.decode::<u32>(b"-1")), ErrorKind::Codec);
    assert_eq!(codec_kind(c.decode::<u64>(b"1.5")), ErrorKind::Codec);
    assert_eq!(c.decode::<u64>(b"18446744073709551615").unwrap(), u64::MAX);
    for mode in Mode::ALL {
        let s = roomy(mode);
        let token = seal_raw(
            &s,
            times(T0.as_secs(), T0.as_secs(), T0.as_secs() + 60),
            br#"{"name":"a","age":256}"#,
        );
        assert_eq!(
            s.open_at::<User>(T0, &token).unwrap_err(),
            Rejection::Decode
        );
    }
    assert_decode_rejection(b"1e400", "1e400");
}

/// Row 26: trailing data after the JSON value, and a UTF-8 byte-order mark, are errors.
#[test]
fn checklist_26_trailing_data_and_bom_error() {
    let c = Codec::new();
    for bad in [
        &b"{\"a\":1} x"[..],
        b"{\"a\":1}{}",
        b"1 2",
        b"[] []",
        b"{}\0",
        b"\xEF\xBB\xBF{}",
        b"\xEF\xBB\xBF1",
    ] {
        assert_eq!(codec_kind(c.decode_value(bad)), ErrorKind::Codec, "{bad:?}");
        assert_decode_rejection(bad, &format!("{bad:?}"));
    }
    assert!(c.decode_value(b" {} \n").is_ok(), "white space is not data");
}

/// Row 27: a plaintext over the configured maximum is an error to encode, to seal and to open
/// (the property that the sealer never produces one is `checklist_27_property_...` below).
#[test]
fn checklist_27_plaintext_over_the_limit_is_an_error() {
    let c = Codec::new().with_max_bytes(100);
    let fits = "x".repeat(98); // 100 bytes of JSON with the quotes
    let over = "x".repeat(99);
    assert_eq!(c.encode(&fits).unwrap().len(), 100);
    assert_eq!(codec_kind(c.encode(&over)), ErrorKind::PayloadTooLarge);
    let over_json = serde_json::to_vec(&over).unwrap();
    assert_eq!(
        codec_kind(c.decode_value(&over_json)),
        ErrorKind::PayloadTooLarge
    );
    for mode in Mode::ALL {
        let s = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .codec(c)
            .build()
            .unwrap();
        assert!(s.seal_at(T0, &fits).is_ok());
        assert_eq!(
            s.seal_at(T0, &over).unwrap_err().kind(),
            ErrorKind::PayloadTooLarge
        );
        // A token from a sealer with a larger limit does not open under the smaller one.
        let big = roomy(mode).seal_at(T0, &over).unwrap();
        assert_rejects(&s, T0, &big, Rejection::Decode, "over the opener's limit");
    }
}

// ---------------------------------------------------------------------------------------------
// Headers and middleware (rows 28–32), at the framework-agnostic layer; the same rows run
// through both adapters in the HTTP suite
// ---------------------------------------------------------------------------------------------

/// Tokens an attacker can put next to a victim's cookie.
fn attacker_tokens(m: &SessionManager, victim: &str) -> Vec<String> {
    let mut tampered = victim.as_bytes().to_vec();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let c = clock();
    let elsewhere = manager_with(ring_of(&key(41)), &c, |b| b);
    vec![
        "garbage".to_owned(),
        String::from_utf8(tampered).unwrap(),
        issue(&elsewhere, &[("user", json!("mallory"))]),
        String::new(),
        "A".repeat(5000),
        m.sealer()
            .seal_at(T0, &json!("not a session payload"))
            .unwrap(),
    ]
}

/// Row 28: two (or more) cookies with our name, the attacker's first: the valid one is used, in
/// every order, in one `Cookie` header or several.
#[test]
fn checklist_28_duplicate_names_the_valid_cookie_wins_in_any_order() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let victim = issue(&m, &[("user", json!("ann"))]);
    let id = load(&m, &[&pair(&victim)]).id().unwrap();
    let bad = attacker_tokens(&m, &victim);
    for attacker in &bad {
        for (what, headers) in [
            (
                "attacker first",
                vec![format!("{}; {}", pair(attacker), pair(&victim))],
            ),
            (
                "victim first",
                vec![format!("{}; {}", pair(&victim), pair(attacker))],
            ),
            (
                "two headers, attacker first",
                vec![pair(attacker), pair(&victim)],
            ),
            (
                "two headers, victim first",
                vec![pair(&victim), pair(attacker)],
            ),
        ] {
            let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
            let s = load(&m, &refs);
            assert_eq!(s.id(), Some(id), "{what}");
            assert_eq!(s.get::<String>("user").unwrap().as_deref(), Some("ann"));
            assert_eq!(s.rejection(), None, "{what}");
            assert!(m.finish_at(T0, &s).unwrap().is_empty(), "{what}");
        }
    }
    // Every attacker cookie at once, in both orders.
    let mut all: Vec<String> = bad.iter().map(|t| pair(t)).collect();
    all.push(pair(&victim));
    for _ in 0..2 {
        let s = load(&m, &[&all.join("; ")]);
        assert_eq!(s.id(), Some(id));
        all.reverse();
    }
}

/// Row 29: unrelated malformed pairs around ours (`null;`, a pair without `=`, junk names,
/// non-UTF-8 bytes, empty names) never hide our cookie.
#[test]
fn checklist_29_malformed_neighbours_never_hide_our_cookie() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let token = issue(&m, &[("user", json!("ann"))]);
    let id = load(&m, &[&pair(&token)]).id().unwrap();
    let ours = pair(&token).into_bytes();
    let neighbours: [&[u8]; 14] = [
        b"null",
        b"=",
        b"=value",
        b";;;",
        b"a",
        b"b=c=d",
        b"\"quoted\"=1",
        b"\xff\xfe=\x80",
        b"session",
        b"sessionx=1",
        b"x=\"unterminated",
        b"  ",
        b"\x00junk=1",
        b"$Version=1",
    ];
    let mut header = Vec::new();
    for n in neighbours {
        header.extend_from_slice(n);
        header.extend_from_slice(b"; ");
    }
    let before = [&header[..], &ours[..]].concat();
    let after = [&ours[..], b"; ", &header[..]].concat();
    let around = [&header[..], &ours[..], b"; ", &header[..]].concat();
    for (what, h) in [("before", &before), ("after", &after), ("around", &around)] {
        let s = m.load_from_cookie_headers([&h[..]]);
        assert_eq!(s.id(), Some(id), "{what}");
        assert_eq!(s.rejection(), None, "{what}");
    }
    // Neighbours in headers of their own.
    let s = m.load_from_cookie_headers(neighbours.iter().copied().chain([&ours[..]]));
    assert_eq!(s.id(), Some(id), "separate headers");
}

fn tiny_cookies(n: usize) -> String {
    (0..n).map(|i| format!("c{i}=v; ")).collect()
}

/// Row 30: thousands of tiny cookies in one header cost bounded, linear work; at most
/// `MAX_CANDIDATES` cookies with our name are ever opened.
#[test]
fn checklist_30_thousands_of_tiny_cookies_bounded_work() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let token = issue(&m, &[("user", json!("ann"))]);
    let id = load(&m, &[&pair(&token)]).id().unwrap();
    let header = format!("{}{}", tiny_cookies(10_000), pair(&token));
    let s = load(&m, &[&header]);
    assert_eq!(s.id(), Some(id), "found after 10 000 tiny cookies");

    let small = format!("{}{}", tiny_cookies(2_000), pair(&token));
    let large = format!("{}{}", tiny_cookies(20_000), pair(&token));
    let time = |h: &str| {
        best_time(3, 5, || {
            let s = load(&m, &[h]);
            assert!(s.id().is_some());
        })
    };
    let (t_small, t_large) = (time(&small), time(&large));
    // Linear is ~10 times; quadratic would be ~100 times.
    assert!(
        t_large <= t_small * 40 + Duration::from_millis(50),
        "20 000 cookies took {t_large:?}, 2 000 took {t_small:?}"
    );

    // Our name many times: only the first MAX_CANDIDATES are tried.
    let garbage = |n: usize| vec![pair("garbage"); n].join("; ");
    let at_bound = format!("{}; {}", garbage(MAX_CANDIDATES - 1), pair(&token));
    assert_eq!(load(&m, &[&at_bound]).id(), Some(id));
    let past_bound = format!("{}; {}", garbage(MAX_CANDIDATES), pair(&token));
    let s = load(&m, &[&past_bound]);
    assert!(
        s.is_new(),
        "the candidate after MAX_CANDIDATES is never opened"
    );
    assert_eq!(s.rejection(), Some(Rejection::Malformed));
    let flood = format!("{}; {}", garbage(5_000), pair(&token));
    let t_flood = best_time(3, 5, || {
        let _ = std::hint::black_box(load(&m, &[&flood]).id());
    });
    assert!(t_flood < Duration::from_secs(2), "{t_flood:?}");
}

/// Row 31: only our exact cookie name is read; only it is ever base64-decoded or opened (a
/// value under any other name, even our valid token, leaves the session fresh with no
/// rejection, and no deletion cookie is sent).
#[test]
fn checklist_31_only_our_exact_cookie_name_is_opened() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let token = issue(&m, &[("user", json!("ann"))]);
    for name in [
        "Session",
        "SESSION",
        "sessionx",
        "xsession",
        "session.1",
        "session.0",
        "__Host-session",
        "__Secure-session",
        "session%20",
        "sess",
        "session_",
    ] {
        for value in [token.as_str(), "garbage", ""] {
            let header = format!("{name}={value}");
            let s = load(&m, &[&header]);
            assert!(s.is_new(), "{header}");
            assert_eq!(s.rejection(), None, "{header}: it was opened");
            assert!(m.finish_at(T0, &s).unwrap().is_empty(), "{header}");
        }
    }
    // White space around the name is not part of it (RFC 6265 parsing).
    assert!(!load(&m, &[&format!(" {COOKIE} = {token} ")]).is_new());
}

/// Row 32: 100 concurrent first requests get independent sessions: nothing shared by accident.
#[test]
fn checklist_32_concurrent_first_requests_are_independent() {
    const N: usize = 100;
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let barrier = Barrier::new(N);
    let tokens: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let (m, barrier) = (&m, &barrier);
                scope.spawn(move || {
                    let s = load(m, &[]);
                    barrier.wait();
                    s.insert("user", &format!("user-{i}")).unwrap();
                    let out = m.finish_at(T0, &s).unwrap();
                    (i, Cookie::parse(out[0].clone()).unwrap().value().to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ids = std::collections::HashSet::new();
    for (i, token) in &tokens {
        let s = load(&m, &[&pair(token)]);
        assert_eq!(s.get::<String>("user").unwrap(), Some(format!("user-{i}")));
        assert!(ids.insert(s.id().unwrap()));
    }
    assert_eq!(ids.len(), N);
}

// ---------------------------------------------------------------------------------------------
// Response side (rows 33–36)
// ---------------------------------------------------------------------------------------------

/// The attributes a deletion cookie must repeat.
#[derive(Debug, PartialEq)]
struct Attributes {
    path: Option<String>,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<cookie::SameSite>,
    partitioned: bool,
}

fn attributes(c: &Cookie<'_>) -> Attributes {
    Attributes {
        path: c.path().map(str::to_owned),
        domain: c.domain().map(str::to_owned),
        secure: c.secure().unwrap_or(false),
        http_only: c.http_only().unwrap_or(false),
        same_site: c.same_site(),
        partitioned: c.partitioned().unwrap_or(false),
    }
}

/// Row 33: the logout deletion cookie has the same Path, Domain, Secure, SameSite, Partitioned
/// (and HttpOnly) as the issued cookie, `Max-Age=0` and an `Expires` in the past, for every
/// chunk of a chunked session.
#[test]
fn checklist_33_deletion_cookie_mirrors_the_issued_attributes() {
    type Configure = fn(SessionBuilder) -> SessionBuilder;
    let configs: [(&str, Configure); 4] = [
        ("every attribute", |b| {
            b.with_secure(true)
                .with_domain("example.com")
                .with_path("/app")
                .with_same_site(SameSite::None)
                .with_partitioned(true)
        }),
        ("__Host- defaults", |b| {
            b.with_cookie_name("__Host-session").with_secure(true)
        }),
        ("strict, persistent, readable by scripts", |b| {
            b.with_same_site(SameSite::Strict)
                .with_http_only(false)
                .with_domain(".example.org")
                .with_cookie_lifetime(CookieLifetime::Persistent(secs(86_400)))
        }),
        ("chunked", |b| b.with_chunking(Some(Chunking::new(3)))),
    ];
    for (what, configure) in configs {
        let c = clock();
        let m = manager_with(RING.clone(), &c, configure);
        let s = load(&m, &[]);
        s.insert(
            "blob",
            &"x".repeat(if what == "chunked" { 5000 } else { 10 }),
        )
        .unwrap();
        let issued = m.finish_at(T0, &s).unwrap();
        let header: String = issued
            .iter()
            .map(|raw| {
                let c = Cookie::parse(raw.as_str()).unwrap();
                format!("{}={}; ", c.name(), c.value())
            })
            .collect();
        let s = m.load_from_cookie_headers([header.as_bytes()]);
        assert!(!s.is_new(), "{what}");
        s.purge();
        let deleted = m.finish_at(at(10), &s).unwrap();
        assert_eq!(
            deleted.len(),
            issued.len(),
            "{what}: one deletion per cookie"
        );
        for (raw_issued, raw_deleted) in issued.iter().zip(&deleted) {
            let i = Cookie::parse(raw_issued.as_str()).unwrap();
            let d = Cookie::parse(raw_deleted.as_str()).unwrap();
            assert_eq!(d.name(), i.name(), "{what}");
            assert_eq!(attributes(&d), attributes(&i), "{what}: {raw_deleted}");
            assert_eq!(d.value(), "", "{what}");
            assert_eq!(d.max_age(), Some(cookie::time::Duration::ZERO), "{what}");
            match d.expires_datetime() {
                Some(t) => assert!(t.unix_timestamp() < T0.as_secs() as i64, "{what}"),
                None => panic!("{what}: no Expires in {raw_deleted}"),
            }
        }
    }
}

/// Row 34: a session whose `Set-Cookie` would exceed 4096 bytes is a typed error the
/// application sees (from `finish` and, earlier, from `ensure_fits`); up to the limit every
/// header is complete and at most 4096 bytes.
#[test]
fn checklist_34_oversized_set_cookie_is_a_typed_error() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let attempt = |n: usize| {
        let s = load(&m, &[]);
        s.insert("blob", &"x".repeat(n)).unwrap();
        let out = m.finish_at(T0, &s);
        assert_eq!(s.ensure_fits().is_ok(), out.is_ok(), "{n}");
        out
    };
    let (mut lo, mut hi) = (0usize, 4096usize);
    assert!(attempt(lo).is_ok());
    assert!(attempt(hi).is_err());
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if attempt(mid).is_ok() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let largest = attempt(lo).unwrap();
    assert_eq!(largest.len(), 1);
    assert!(largest[0].len() <= MAX_SET_COOKIE_LEN);
    assert!(
        largest[0].len() > MAX_SET_COOKIE_LEN - 4,
        "{}",
        largest[0].len()
    );
    let value = Cookie::parse(largest[0].as_str())
        .unwrap()
        .value()
        .to_owned();
    assert_eq!(
        load(&m, &[&pair(&value)])
            .get::<String>("blob")
            .unwrap()
            .unwrap()
            .len(),
        lo
    );
    for n in [hi, hi + 1, 5000, 20_000] {
        let e = attempt(n).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{n}: {e}");
    }
}

/// Row 35: application-supplied attribute injection (a Path with `;`, a name with `;`, a Domain
/// with CR/LF, …) is a configuration error at build time, through the cookie policy, the session
/// builder and every adapter's builder.
#[test]
fn checklist_35_attribute_injection_is_a_build_error() {
    let policies = [
        CookiePolicy::builder("a;b"),
        CookiePolicy::builder("a=b"),
        CookiePolicy::builder("a b"),
        CookiePolicy::builder("a\r\nSet-Cookie: x=y"),
        CookiePolicy::builder(""),
        CookiePolicy::builder("id").path("/; Domain=evil"),
        CookiePolicy::builder("id").path("/\r\nX: y"),
        CookiePolicy::builder("id").path("/a,b"),
        CookiePolicy::builder("id").path("/a b"),
        CookiePolicy::builder("id").path("relative"),
        CookiePolicy::builder("id").domain("a.com\r\nX: y"),
        CookiePolicy::builder("id").domain("a.com; Secure"),
        CookiePolicy::builder("id").domain("evil.com/x"),
        CookiePolicy::builder("id").domain(""),
        CookiePolicy::builder("__Host-id").domain("a.com"),
        CookiePolicy::builder("__Host-id").path("/a"),
        CookiePolicy::builder("__Host-id").secure(false),
        CookiePolicy::builder("__Secure-id").secure(false),
        CookiePolicy::builder("id")
            .secure(false)
            .same_site(SameSite::None),
        CookiePolicy::builder("id").secure(false).partitioned(true),
    ];
    for b in policies {
        let what = format!("{b:?}");
        let e = b.build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{what}");
        assert!(!e.message().contains(['\r', '\n']), "{what}: {e}");
    }
    let ring = RING.clone();
    for injection in Injection::ALL {
        let e = injection
            .apply(SessionManager::builder(ring.clone()))
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{injection:?}");
        #[cfg(feature = "axum")]
        {
            let b = sealed_session::axum::SessionLayer::builder(ring.clone());
            let e = injection.apply(b).build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "axum: {injection:?}");
        }
        #[cfg(feature = "actix")]
        {
            let b = sealed_session::actix::SessionMiddleware::builder(ring.clone());
            let e = injection.apply(b).build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "actix: {injection:?}");
        }
    }
    #[cfg(feature = "config")]
    {
        let k = Key::try_from(&secret(35)[..]).unwrap();
        for (field, value) in [
            ("path", r#""/; Domain=evil""#),
            ("cookie_name", r#""a;b""#),
            ("domain", r#""a.com\r\nX: y""#),
        ] {
            let toml = format!(
                "[session]\n{field} = {value}\n[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n",
                k.to_base64().as_str()
            );
            let e = sealed_session::config::Config::from_toml_str(&toml).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{field}: {e}");
            assert!(!e.message().contains(['\r', '\n']), "{field}: {e}");
        }
    }
}

/// Attribute injections, applied through the setters every adapter's builder shares.
#[derive(Clone, Copy, Debug)]
enum Injection {
    PathWithDomain,
    NameWithSemicolon,
    DomainWithNewline,
    HostPrefixWithDomain,
}

impl Injection {
    const ALL: [Injection; 4] = [
        Injection::PathWithDomain,
        Injection::NameWithSemicolon,
        Injection::DomainWithNewline,
        Injection::HostPrefixWithDomain,
    ];

    fn apply<T: From<SessionManager>>(self, b: SessionBuilder<T>) -> SessionBuilder<T> {
        match self {
            Injection::PathWithDomain => b.with_path("/; Domain=evil"),
            Injection::NameWithSemicolon => b.with_cookie_name("a;b"),
            Injection::DomainWithNewline => b.with_domain("a.com\r\nX: y"),
            Injection::HostPrefixWithDomain => b.with_cookie_name("__Host-x").with_domain("a.com"),
        }
    }
}

/// Row 36: error responses the crate causes are opaque: status only, no error text in the body
/// (the adapters' `500` for a session that no longer fits and for a missing layer, and
/// `error_response`); hostile cookies cause no error response at all.
#[cfg(feature = "axum")]
#[tokio::test]
async fn checklist_36_crate_error_responses_are_opaque() {
    use axum::body::{to_bytes, Body};
    use axum::http::{header, Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use sealed_session::axum::{error_response, SessionLayer};
    use tower::ServiceExt as _;

    async fn grow(s: Session) -> &'static str {
        s.insert("big", &"x".repeat(10_000)).unwrap();
        "grown: this text must not reach the client"
    }
    async fn me(s: Session) -> String {
        format!("{:?}", s.get::<String>("user").ok().flatten())
    }
    let layer: SessionLayer = SessionLayer::builder(RING.clone())
        .with_cookie_name(COOKIE)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/grow", get(grow))
        .route("/me", get(me))
        .layer(layer);
    let call = |path: &'static str, cookie: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::builder().uri(path);
            if let Some(c) = cookie {
                req = req.header(header::COOKIE, c);
            }
            let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let status = res.status();
            let set_cookies = res.headers().get_all(header::SET_COOKIE).iter().count();
            let body = to_bytes(res.into_body(), 1 << 20).await.unwrap();
            (status, set_cookies, body)
        }
    };
    let (status, set_cookies, body) = call("/grow", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.is_empty(), "{body:?}");
    assert_eq!(set_cookies, 0);
    for cookie in [pair("garbage"), pair(&"A".repeat(100_000)), pair("")] {
        let (status, _, body) = call("/me", Some(cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&body[..], b"None");
    }
    let bare = Router::new().route("/me", get(me));
    let res = bare
        .oneshot(Request::builder().uri("/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(to_bytes(res.into_body(), 1024).await.unwrap().is_empty());
    let too_large = load(&manager_with(RING.clone(), &clock(), |b| b), &[]);
    too_large.insert("big", &"x".repeat(10_000)).unwrap();
    let e = too_large.ensure_fits().unwrap_err();
    let res = error_response(&e);
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(to_bytes(res.into_body(), 1024).await.unwrap().is_empty());
}

/// Row 36 for actix-web: the middleware's `500` and a missing middleware are opaque.
#[cfg(feature = "actix")]
#[actix_web::test]
async fn checklist_36_crate_error_responses_are_opaque_actix() {
    use actix_web::{test, web, App, HttpResponse};
    use sealed_session::actix::SessionMiddleware;

    async fn grow(s: Session) -> HttpResponse {
        s.insert("big", &"x".repeat(10_000)).unwrap();
        HttpResponse::Ok().body("grown: this text must not reach the client")
    }
    let middleware: SessionMiddleware = SessionMiddleware::builder(RING.clone())
        .with_cookie_name(COOKIE)
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .wrap(middleware)
            .route("/grow", web::get().to(grow)),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/grow").to_request()).await;
    assert_eq!(res.status().as_u16(), 500);
    assert_eq!(res.headers().get_all("set-cookie").count(), 0);
    assert!(test::read_body(res).await.is_empty());
    let bare = test::init_service(App::new().route("/grow", web::get().to(grow))).await;
    let res = test::call_service(&bare, test::TestRequest::get().uri("/grow").to_request()).await;
    assert_eq!(res.status().as_u16(), 500);
    assert!(test::read_body(res).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Configuration (rows 37–38)
// ---------------------------------------------------------------------------------------------

/// Row 37: empty, all-zero, uniform or shorter-than-32-byte secrets, duplicate key ids and a ring
/// without a primary are build errors.
#[test]
fn checklist_37_unacceptable_secrets_and_rings_are_build_errors() {
    for bad in [
        &[][..],
        &[0u8; 32][..],
        &[0u8; 64][..],
        &[0xffu8; 32][..],
        &secret(1)[..31],
        &[7u8; 1025][..],
    ] {
        let e = Key::try_from(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey, "{} bytes", bad.len());
    }
    for text in [
        "",
        "   ",
        "AAAA",
        &STANDARD.encode([0u8; 32]),
        "not base64!",
    ] {
        assert_eq!(
            Key::from_base64(text).unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
    }
    let ring_kind = |b: sealed_session::KeyRingBuilder| b.build().unwrap_err().kind();
    let (a, b) = (key(51), key(52));
    for (what, builder) in [
        ("empty", KeyRing::builder()),
        ("no primary", KeyRing::builder().older(a.clone())),
        (
            "two primaries",
            KeyRing::builder().primary(a.clone()).primary(b.clone()),
        ),
        (
            "the same key twice",
            KeyRing::builder().primary(a.clone()).older(a.clone()),
        ),
        (
            "duplicate explicit ids",
            KeyRing::builder()
                .primary(a.clone().with_id(KeyId::new(9)))
                .older(b.clone().with_id(KeyId::new(9))),
        ),
        (
            "two pending keys",
            KeyRing::builder()
                .primary(a.clone())
                .pending(b.clone(), at(10))
                .pending(key(53), at(20)),
        ),
    ] {
        assert_eq!(ring_kind(builder), ErrorKind::InvalidKeyRing, "{what}");
    }
    assert_eq!(
        KeyRing::from_key_list("").unwrap_err().kind(),
        ErrorKind::InvalidKeyRing
    );
    assert_eq!(
        KeyRing::from_key_list("1:AAAA").unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    #[cfg(feature = "config")]
    {
        let short = STANDARD.encode(&secret(1)[..16]);
        let toml = format!("[[keys.key]]\nsecret = \"{short}\"\nstate = \"primary\"\n");
        let e = sealed_session::config::Config::from_toml_str(&toml).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey, "{e}");
        assert!(!e.to_string().contains(&short), "{e}");
        let no_primary = format!(
            "[[keys.key]]\nsecret = \"{}\"\nstate = \"older\"\n",
            a.to_base64().as_str()
        );
        let e = sealed_session::config::Config::from_toml_str(&no_primary).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKeyRing, "{e}");
    }
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

/// Row 38: `Debug` (plain and `{:#?}`) and `Display` of keys, rings, builders, sealers,
/// managers, policies, sessions, configurations, caches, adapters and the primitive wrappers
/// never print secret bytes (nor the subkeys derived from them).
#[test]
fn checklist_38_debug_and_display_never_print_secrets() {
    let raw = secret(38);
    let k = Key::try_from(&raw[..]).unwrap();
    let ring = ring_of(&k);
    let clock = clock();
    let manager = manager_with(ring.clone(), &clock, |b| b);
    let session = load(&manager, &[]);
    session.insert("password", &"hunter2-secret-value").unwrap();
    let mut texts: Vec<(&str, String)> = vec![
        ("Key", format!("{k:?}")),
        ("Key #", format!("{k:#?}")),
        ("KeyId", format!("{} {:?}", k.id(), k.id())),
        ("KeyRing", format!("{ring:?} {ring:#?}")),
        (
            "KeyRingBuilder",
            format!("{:?}", KeyRing::builder().primary(k.clone()).older(key(2))),
        ),
        (
            "Sealer",
            format!("{:?}", sealer_in(Mode::Signed, ring.clone())),
        ),
        (
            "SealerBuilder",
            format!("{:?}", Sealer::builder(ring.clone(), NAME)),
        ),
        ("SessionManager", format!("{manager:?} {manager:#?}")),
        (
            "SessionBuilder",
            format!("{:?}", SessionManager::builder(ring.clone())),
        ),
        ("CookiePolicy", format!("{:?}", manager.policy())),
        ("Session", format!("{session:?}")),
        (
            "AeadCipher",
            format!(
                "{:?}",
                AeadCipher::from_slice(AeadAlgorithm::Aes256GcmSiv, &raw).unwrap()
            ),
        ),
        (
            "HmacSha256",
            format!("{:?}", HmacSha256::from_slice(&raw).unwrap()),
        ),
        (
            "Error from a bad secret",
            Key::try_from(&[raw[0]; 32][..]).unwrap_err().to_string(),
        ),
    ];
    #[cfg(feature = "axum")]
    texts.push((
        "SessionLayer",
        format!(
            "{:?}",
            sealed_session::axum::SessionLayer::new(manager.clone())
        ),
    ));
    #[cfg(feature = "actix")]
    texts.push((
        "SessionMiddleware",
        format!(
            "{:?}",
            sealed_session::actix::SessionMiddleware::new(manager.clone())
        ),
    ));
    #[cfg(feature = "cache")]
    {
        use sealed_session::cache::Cache;
        let builder = Cache::builder().seal_with(ring.clone());
        texts.push(("CacheBuilder", format!("{builder:?}")));
        let cache = builder.build().unwrap();
        let ns = cache.namespace::<String, String>("secrets");
        ns.insert(&"k".to_owned(), &"hunter2-secret-value".to_owned())
            .unwrap();
        texts.push(("Cache", format!("{cache:?} {ns:?}")));
    }
    #[cfg(feature = "config")]
    {
        use sealed_session::config::{Config, KeyRingReloader};
        let toml = format!(
            "[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n",
            k.to_base64().as_str()
        );
        let config = Config::from_toml_str(&toml).unwrap();
        texts.push(("Config", format!("{config:?} {config:#?}")));
        texts.push((
            "ConfigLoader",
            format!("{:?}", Config::loader().toml(toml.clone())),
        ));
        texts.push((
            "KeyRingReloader",
            format!("{:?}", KeyRingReloader::new(&config)),
        ));
        let bad = toml.replace("primary", "nonsense");
        texts.push((
            "config Error",
            Config::from_toml_str(&bad).unwrap_err().to_string(),
        ));
    }
    for (what, text) in &texts {
        assert_no_secret(what, text, &raw);
    }
    let session_text = &texts.iter().find(|(w, _)| *w == "Session").unwrap().1;
    assert!(!session_text.contains("hunter2"), "{session_text}");
    assert!(texts[0].1.contains("redacted"), "{}", texts[0].1);
    // The checker itself finds a leak.
    let leaky = format!("{:?}", &raw);
    let caught = std::panic::catch_unwind(|| assert_no_secret("leaky", &leaky, &raw));
    assert!(caught.is_err(), "the spellings catch a Debug of the bytes");
}

/// Secrets in memory (issue 17, item 4): the key-holding types of key rotation print no secret
/// either (row 38 covers the rest), old or new key, and a key parsed from base64 in any form has
/// the same secret as the original (the decoding into a pre-sized wiped buffer changed nothing
/// but where the copies live).
#[cfg(feature = "config")]
#[test]
fn secrets_in_memory_rotation_types_print_no_secret() {
    use sealed_session::config::Rotation;
    let old_raw = secret(71);
    let new_raw = secret(72);
    let old = Key::try_from(&old_raw[..]).unwrap();
    let new = Key::try_from(&new_raw[..]).unwrap();
    let toml = format!(
        "[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n",
        old.to_base64().as_str()
    );
    let rotation = Rotation::immediate(new.clone());
    let rotated = rotation
        .apply(
            &toml,
            std::path::Path::new("."),
            UnixTime::from_secs(1_700_000_000),
        )
        .unwrap();
    assert!(
        rotated.text().contains(new.to_base64().as_str()),
        "the text holds the key"
    );
    for (what, text) in [
        ("Rotation", format!("{rotation:?} {rotation:#?}")),
        ("Rotated", format!("{rotated:?} {rotated:#?}")),
        ("RotationReport", format!("{:?}", rotated.report())),
    ] {
        assert_no_secret(what, &text, &old_raw);
        assert_no_secret(what, &text, &new_raw);
    }
    let std = old.to_base64();
    for form in [
        std.as_str().to_owned(),
        std.trim_end_matches('=').to_owned(),
        URL_SAFE_NO_PAD.encode(&old_raw),
        format!("  {}\n", std.as_str()),
    ] {
        let again = Key::from_base64(&form).unwrap();
        assert_eq!(again.to_base64().as_str(), std.as_str(), "{form:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Cache (rows 39–42)
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "cache")]
mod cache_rows {
    use std::future::Future as _;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use sealed_session::cache::{Cache, CreateError, ManualCacheClock};

    const DEADLINE: Duration = Duration::from_secs(30);

    fn wait_until(what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
            thread::yield_now();
        }
    }

    fn manual(ttl: Duration, grace: Duration) -> (Cache, ManualCacheClock) {
        let clock = ManualCacheClock::new();
        let cache = Cache::builder()
            .clock(clock.clone())
            .ttl(ttl)
            .grace(grace)
            .build()
            .unwrap();
        (cache, clock)
    }

    /// Run `f` on another thread; fail if it has not returned within the deadline.
    fn promptly<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("{what} blocked: the key is wedged"))
    }

    #[derive(Debug)]
    struct DbDown;

    /// Row 39: 64 concurrent callers on one cold key: one creation, and all receive the same
    /// result, or the same error.
    #[test]
    fn checklist_39_one_creation_for_64_concurrent_callers() {
        for fail in [false, true] {
            let (cache, _) = manual(Duration::from_secs(60), Duration::ZERO);
            let ns = cache.namespace::<String, String>("users");
            let runs = AtomicU32::new(0);
            let key = "cold".to_owned();
            let results: Vec<_> = thread::scope(|s| {
                let handles: Vec<_> = (0..64)
                    .map(|_| {
                        s.spawn(|| {
                            ns.get_or_create(&key, || {
                                runs.fetch_add(1, Ordering::SeqCst);
                                wait_until("63 waiters", || cache.stats().coalesced == 63);
                                if fail {
                                    Err(DbDown)
                                } else {
                                    Ok("created once".to_owned())
                                }
                            })
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert_eq!(runs.load(Ordering::SeqCst), 1, "fail={fail}");
            assert_eq!(cache.stats().creations, 1);
            if fail {
                let errors: Vec<Arc<DbDown>> = results
                    .into_iter()
                    .map(|r| match r {
                        Err(CreateError::Create(e)) => e,
                        other => panic!("{other:?}"),
                    })
                    .collect();
                assert_eq!(errors.len(), 64);
                assert!(errors.iter().all(|e| Arc::ptr_eq(e, &errors[0])));
            } else {
                assert!(results
                    .iter()
                    .all(|r| r.as_deref().ok() == Some("created once")));
            }
        }
    }

    /// Row 40: a creator that panics, or whose future is dropped, does not wedge the key: the
    /// next caller creates.
    #[test]
    fn checklist_40_panicking_or_cancelled_creator_does_not_wedge_the_key() {
        let (cache, _) = manual(Duration::from_secs(60), Duration::ZERO);
        let ns = cache.namespace::<u32, u32>("n");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ns.get_or_create(&1, || -> Result<u32, DbDown> { panic!("creator exploded") })
        }));
        assert!(panicked.is_err());
        let next = ns.clone();
        let got = promptly("after a panic", move || {
            next.get_or_create(&1, || Ok::<_, DbDown>(7))
        });
        assert_eq!(got.unwrap(), 7);

        let mut fut =
            Box::pin(ns.get_or_create_async(&2, std::future::pending::<Result<u32, DbDown>>));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(fut);
        let next = ns.clone();
        let got = promptly("after a cancellation", move || {
            next.get_or_create(&2, || Ok::<_, DbDown>(8))
        });
        assert_eq!(got.unwrap(), 8);
        assert_eq!(cache.stats().creations, 4);
    }

    /// Row 41: an expired entry still in the store is never returned as fresh.
    #[test]
    fn checklist_41_expired_entry_never_returned_as_fresh() {
        for grace in [Duration::ZERO, Duration::from_secs(30)] {
            let (cache, clock) = manual(Duration::from_secs(60), grace);
            let ns = cache.namespace::<u32, String>("n");
            ns.insert(&1, &"old".to_owned()).unwrap();
            clock.advance(Duration::from_secs(59));
            assert_eq!(ns.get(&1).as_deref(), Some("old"));
            clock.advance(Duration::from_secs(1));
            cache.run_pending_tasks();
            assert_eq!(cache.entry_count(), 1, "the expired entry is still stored");
            assert_eq!(ns.get(&1), None, "grace {grace:?}");
            let fresh = ns.get_or_create(&1, || Ok::<_, DbDown>("new".to_owned()));
            assert_eq!(fresh.unwrap(), "new", "grace {grace:?}: the creator ran");
            assert_eq!(ns.get(&1).as_deref(), Some("new"));
        }
    }

    /// Row 42: 100 000 distinct keys keep the store within its configured byte bound.
    #[test]
    fn checklist_42_distinct_keys_stay_within_the_byte_bound() {
        const CAPACITY: u64 = 1 << 20;
        let cache = Cache::builder()
            .clock(ManualCacheClock::new())
            .capacity_bytes(CAPACITY)
            .build()
            .unwrap();
        let ns = cache.namespace::<u64, String>("flood");
        for i in 0..100_000u64 {
            ns.insert(&i, &format!("value {i:08} {}", "x".repeat(40)))
                .unwrap();
            if i % 5000 == 4999 {
                cache.run_pending_tasks();
                assert!(cache.weighted_size() <= CAPACITY, "after {} keys", i + 1);
            }
        }
        cache.run_pending_tasks();
        assert!(cache.weighted_size() <= CAPACITY);
        assert!(cache.entry_count() * Cache::ENTRY_OVERHEAD <= CAPACITY);
        assert!(cache.stats().evictions > 90_000, "{:?}", cache.stats());
    }
}

// ---------------------------------------------------------------------------------------------
// Primitives (rows 43–44)
// ---------------------------------------------------------------------------------------------

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap()).unwrap()
}

/// Row 43: the Wycheproof vectors run through the crate's own wrappers (in full in
/// `tests/wycheproof.rs`); here the HMAC part: every truncated-tag HMAC-SHA256 vector, and RFC
/// 4231 test case 5's 16-byte tag, is refused, not verified as a prefix.
#[test]
fn checklist_43_wycheproof_and_truncated_hmac_tags_refused() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::HmacSha256).unwrap();
    let mut truncated = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            let mac = HmacSha256::from_slice(&t.key).unwrap();
            if group.tag_size != 256 {
                assert!(mac.verify(&[&t.msg[..]], &t.tag).is_err(), "tc {}", t.tc_id);
                truncated += 1;
            } else {
                assert_eq!(
                    mac.verify(&[&t.msg[..]], &t.tag).is_ok(),
                    !t.result.must_fail()
                );
            }
        }
    }
    assert!(truncated >= 80, "{truncated}");
    let rfc: Value = serde_json::from_str(include_str!("../vectors/rfc4231.json")).unwrap();
    let case5 = &rfc["cases"][4];
    assert_eq!(case5["test_case"], 5);
    let mac = HmacSha256::from_slice(&hex_field(case5, "key")).unwrap();
    let data = hex_field(case5, "data");
    let short = hex_field(case5, "truncated_128");
    assert_eq!(short.len(), 16);
    assert_eq!(&mac.sign(&[&data[..]])[..16], &short[..]);
    assert!(mac.verify(&[&data[..]], &short).is_err());
    mac.verify(&[&data[..]], &hex_field(case5, "hmac_sha256"))
        .unwrap();
}

/// Row 44: tags are compared only through the crates' constant-time functions. By construction:
/// the wrappers return no tag to compare (opening verifies inside `HmacSha256::verify`, which
/// calls `Mac::verify_slice`, and `AeadCipher::decrypt_in_place`, which calls
/// `decrypt_in_place_detached`), and `clippy.toml` forbids the prefix-verifying and panicking
/// alternatives. This test checks the observable half: a tag differing only in its last byte, or
/// only in its first bit, or truncated, is refused by every wrapper and by every mode's opener.
#[test]
fn checklist_44_tags_only_verified_in_constant_time() {
    let mac = HmacSha256::new(&secret(44).try_into().unwrap());
    let tag = mac.sign(&[b"a", b"b"]);
    let mut variants = vec![tag[..31].to_vec(), tag[..16].to_vec()];
    for (i, mask) in [(31, 0x01), (0, 0x80), (15, 0xff)] {
        let mut t = tag;
        t[i] ^= mask;
        variants.push(t.to_vec());
    }
    for v in &variants {
        assert!(mac.verify(&[b"ab"], v).is_err());
    }
    mac.verify(&[b"ab"], &tag).unwrap();
    for alg in [
        AeadAlgorithm::XChaCha20Poly1305,
        AeadAlgorithm::Aes256Gcm,
        AeadAlgorithm::Aes256GcmSiv,
    ] {
        let c = AeadCipher::new(alg, &secret(45).try_into().unwrap());
        let nonce = vec![9; c.nonce_len()];
        let mut ct = *b"plaintext";
        let tag = c.encrypt_in_place(&nonce, b"aad", &mut ct).unwrap();
        for (i, mask) in [(15, 0x01), (0, 0x80)] {
            let mut t = tag;
            t[i] ^= mask;
            let mut b = ct;
            assert!(
                c.decrypt_in_place(&nonce, b"aad", &mut b, &t).is_err(),
                "{alg:?}"
            );
        }
        let mut b = ct;
        assert!(c
            .decrypt_in_place(&nonce, b"aad", &mut b, &tag[..15])
            .is_err());
        let mut b = ct;
        c.decrypt_in_place(&nonce, b"aad", &mut b, &tag).unwrap();
        assert_eq!(&b, b"plaintext");
    }
    for mode in Mode::ALL {
        let mut bytes = unb64(&token_of_len(mode, 8));
        *bytes.last_mut().unwrap() ^= 1;
        assert_rejects(
            sealer(mode),
            T0,
            &b64(&bytes),
            Rejection::BadTag,
            "last tag byte",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Properties (rows 27 and 34)
// ---------------------------------------------------------------------------------------------

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An arbitrary valid cookie policy, applied to a session builder: name, Path, Domain,
/// SameSite, Secure (forced where a prefix, SameSite=None or Partitioned requires it), HttpOnly,
/// Partitioned, lifetime and chunking.
#[derive(Debug, Clone)]
struct PolicyCase {
    name: String,
    path: String,
    domain: Option<String>,
    same_site: SameSite,
    secure: bool,
    http_only: bool,
    partitioned: bool,
    lifetime: Option<u64>,
    chunks: Option<usize>,
    mode: Mode,
}

impl PolicyCase {
    fn apply(&self, b: SessionBuilder) -> SessionBuilder {
        let mut b = b
            .with_cookie_name(self.name.clone())
            .with_path(self.path.clone())
            .with_same_site(self.same_site)
            .with_secure(self.secure)
            .with_http_only(self.http_only)
            .with_partitioned(self.partitioned)
            .with_chunking(self.chunks.map(Chunking::new))
            .with_mode(self.mode)
            .with_cookie_lifetime(match self.lifetime {
                None => CookieLifetime::BrowserSession,
                Some(s) => CookieLifetime::Persistent(secs(s)),
            });
        if let Some(d) = &self.domain {
            b = b.with_domain(d.clone());
        }
        b
    }
}

fn policy_case() -> impl Strategy<Value = PolicyCase> {
    let name = prop_oneof![
        "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}",
        "__Host-[a-z]{1,10}",
        "__Secure-[a-z]{1,10}",
    ];
    let path = prop_oneof![
        Just("/".to_owned()),
        "/[\\x21-\\x2b\\x2d-\\x3a\\x3c-\\x7e]{0,80}"
    ];
    let domain = prop::option::of(prop_oneof![
        "[a-z0-9]{1,20}(\\.[a-z0-9]{1,20}){0,3}",
        "\\.[a-z]{1,10}\\.com",
        "[a-z]{60}\\.[a-z]{60}\\.[a-z]{60}\\.[a-z]{60}",
    ]);
    let same_site = prop_oneof![
        Just(SameSite::Strict),
        Just(SameSite::Lax),
        Just(SameSite::None)
    ];
    (
        name,
        path,
        domain,
        same_site,
        any::<[bool; 3]>(),
        prop::option::of(0u64..100_000_000),
        prop::option::of(2usize..=16),
        0usize..4,
    )
        .prop_map(
            |(
                name,
                path,
                domain,
                same_site,
                [secure, http_only, partitioned],
                lifetime,
                chunks,
                m,
            )| {
                let host = name.to_ascii_lowercase().starts_with("__host-");
                let needs_secure = host
                    || name.to_ascii_lowercase().starts_with("__secure-")
                    || same_site == SameSite::None
                    || partitioned;
                PolicyCase {
                    path: if host { "/".to_owned() } else { path },
                    domain: if host { None } else { domain },
                    secure: secure || needs_secure,
                    name,
                    same_site,
                    http_only,
                    partitioned,
                    lifetime,
                    chunks,
                    mode: Mode::ALL[m],
                }
            },
        )
}

fn session_data() -> impl Strategy<Value = Vec<(String, Value)>> {
    let value = prop_oneof![
        "[a-zA-Z0-9 ]{0,200}".prop_map(Value::from),
        "\\PC{0,100}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0usize..7000).prop_map(|n| Value::from("v".repeat(n))),
        prop::collection::vec(any::<u16>(), 0..200).prop_map(Value::from),
    ];
    prop::collection::vec(("[a-z_]{1,16}", value), 0..6)
}

proptest! {
    #![proptest_config(config(96))]

    /// Row 27 (property): under arbitrary limits, the sealer either refuses with
    /// `PayloadTooLarge` or produces a token whose plaintext is within the limit.
    #[test]
    fn checklist_27_property_sealer_never_exceeds_the_plaintext_limit(
        m in 0usize..4,
        len in 0usize..3000,
        max_bytes in 0usize..3000,
    ) {
        let mode = Mode::ALL[m];
        let s = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .codec(Codec::new().with_max_bytes(max_bytes))
            .max_token_len(1 << 16)
            .build()
            .unwrap();
        let value = "p".repeat(len);
        match s.seal_at(T0, &value) {
            Ok(token) => {
                let plaintext = unb64(&token).len() - mode.overhead();
                prop_assert!(plaintext <= max_bytes, "{} > {}", plaintext, max_bytes);
                prop_assert_eq!(plaintext, len + 2);
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::PayloadTooLarge);
                prop_assert!(len + 2 > max_bytes);
            }
        }
    }

    /// Row 34 (property): through `SessionManager::finish_at`, with arbitrary session data and
    /// arbitrary valid cookie policies, every rendered `Set-Cookie` is at most 4096 bytes and
    /// complete (it parses back with the policy's name and opens to the data), or the result
    /// is `SessionTooLarge`; a session with under 1500 bytes of data always fits.
    #[test]
    fn checklist_34_property_set_cookie_never_over_4096_without_an_error(
        case in policy_case(),
        data in session_data(),
    ) {
        let c = clock();
        let m = case
            .apply(SessionManager::builder(RING.clone()).with_clock(Arc::clone(&c) as _))
            .build()
            .map_err(|e| TestCaseError::fail(format!("a valid policy was refused: {e}")))?;
        let s = m.load_from_cookie_headers(std::iter::empty::<&[u8]>());
        for (k, v) in &data {
            s.insert_value(k.clone(), v.clone());
        }
        let data_len = serde_json::to_vec(&s.entries()).unwrap().len();
        match m.finish_at(T0, &s) {
            Ok(out) => {
                let mut header = String::new();
                for (i, raw) in out.iter().enumerate() {
                    prop_assert!(raw.len() <= MAX_SET_COOKIE_LEN, "{} bytes", raw.len());
                    let cookie = Cookie::parse(raw.as_str()).unwrap();
                    prop_assert_eq!(cookie.name(), m.policy().chunk_name(i));
                    prop_assert_eq!(cookie.path(), Some(m.policy().path()));
                    header.push_str(&format!("{}={}; ", cookie.name(), cookie.value()));
                }
                if !data.is_empty() || s.id().is_some() {
                    let back = m.load_from_cookie_headers([header.as_bytes()]);
                    prop_assert_eq!(back.entries(), s.entries());
                }
            }
            Err(e) => {
                prop_assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{}", e);
                prop_assert!(data_len >= 1500, "refused {} bytes of data", data_len);
            }
        }
    }
}
