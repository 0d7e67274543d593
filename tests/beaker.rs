//! The legacy Beaker reader against cookies made by the real Python Beaker 1.14 (feature
//! `beaker-compat`).
//!
//! `tests/beaker/make_cookies.py` runs in the virtual environment `scripts/install-beaker.sh`
//! makes (`$SEALED_TEST_BEAKER_VENV`, default `target/beaker-venv`) and prints the cookies its
//! `CookieSession` wrote, each with the reader settings and the expected outcome. Without that
//! environment every test prints `SKIPPED` and passes, unless `SEALED_TEST_REQUIRE_BEAKER=1` (set
//! by `scripts/test.sh` once the install worked), when it fails.
//!
//! Covered: unencrypted JSON and both encryption backends open with the application's entries
//! (`user`, `count`, nested values, non-ASCII, an application's own underscore key) and without
//! Beaker's keys; custom name, Path and Domain; the timeout from `_accessed_time`; Beaker
//! 1.13's `_expires`; quoting; tampered, foreign, wrongly keyed and pickled cookies give the
//! expected typed rejection; every one-character change and every truncation of a real cookie
//! is rejected without a panic.
#![cfg(feature = "beaker-compat")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::path::PathBuf;

use sealed_session::beaker::{BeakerReader, LegacyRejection, LegacySession};
use sealed_session::UnixTime;
use serde_json::Value;

#[path = "beaker/cookies.rs"]
mod cookies;

use cookies::{cookies, Case, Expect};

fn expect_ok(reader: &BeakerReader, now: UnixTime, case: &Case) -> LegacySession {
    match reader.read_at(now, &case.value) {
        Ok(session) => session,
        Err(r) => panic!("{}: expected to open, got {r}", case.desc),
    }
}

#[test]
fn the_cookies_come_from_beaker_1_14() {
    let Some(c) = cookies() else { return };
    assert!(c.beaker.starts_with("1.14."), "Beaker {}", c.beaker);
    assert!(c.cases.len() >= 20, "only {} cases", c.cases.len());
}

#[test]
fn every_real_beaker_cookie_opens_or_is_rejected_as_expected() {
    let Some(c) = cookies() else { return };
    let now = c.now();
    let mut opened = 0;
    let mut rejected = 0;
    for case in &c.cases {
        let reader = case.reader();
        match &case.expect {
            Expect::Ok(ok) => {
                assert_eq!(ok, "ok", "{}", case.desc);
                let session = expect_ok(&reader, now, case);
                let entries = session.entries();
                assert_eq!(
                    entries.get("user"),
                    Some(&Value::from("ann")),
                    "{}",
                    case.desc
                );
                assert_eq!(entries.get("count"), Some(&Value::from(7)), "{}", case.desc);
                assert_eq!(Some(entries), case.entries.as_ref(), "{}", case.desc);
                for beaker_key in [
                    "_id",
                    "_creation_time",
                    "_accessed_time",
                    "_domain",
                    "_path",
                    "_expires",
                ] {
                    assert!(
                        !entries.contains_key(beaker_key),
                        "{}: {beaker_key}",
                        case.desc
                    );
                }
                assert!(session.created() <= session.accessed(), "{}", case.desc);
                if let Some(accessed) = case.accessed {
                    // Beaker stamps after the script read its clock: the same second or the next.
                    let a = session.accessed().as_secs();
                    let want = accessed as u64;
                    assert!(a == want || a == want + 1, "{}: {a} vs {want}", case.desc);
                }
                assert_eq!(
                    session.cookie_path(),
                    Some(case.cookie_path.as_deref().unwrap_or("/")),
                    "{}",
                    case.desc
                );
                assert_eq!(
                    session.cookie_domain(),
                    case.cookie_domain.as_deref(),
                    "{}",
                    case.desc
                );
                opened += 1;
            }
            Expect::Rejected(codes) => {
                let got = reader
                    .read_at(now, &case.value)
                    .map(|_| ())
                    .expect_err(&case.desc);
                assert!(
                    codes.iter().any(|c| c == got.as_str()),
                    "{}: expected one of {codes:?}, got {got}",
                    case.desc
                );
                for code in codes {
                    assert!(
                        LegacyRejection::from_code(code).is_some(),
                        "unknown code {code}"
                    );
                }
                rejected += 1;
            }
        }
    }
    eprintln!("real Beaker cookies: {opened} opened, {rejected} rejected as expected");
    assert!(
        opened >= 8 && rejected >= 14,
        "{opened} opened, {rejected} rejected"
    );
}

#[test]
fn a_fresh_cookie_expires_after_the_legacy_timeout() {
    let Some(c) = cookies() else { return };
    let case = c.case("within the legacy timeout");
    let reader = case.reader();
    let now = c.now().as_secs();
    // `_accessed_time` is the script's `now` or the second after it.
    let session = expect_ok(&reader, UnixTime::from_secs(now + 3599), case);
    assert_eq!(
        session.expires(),
        Some(UnixTime::from_secs(session.accessed().as_secs() + 3600))
    );
    assert_eq!(
        reader
            .read_at(UnixTime::from_secs(now + 3602), &case.value)
            .unwrap_err(),
        LegacyRejection::Expired
    );
    // Without a timeout, Beaker never expires a cookie session; neither does the reader.
    let untimed = BeakerReader::builder("legacy-validate-key-from-production.ini")
        .build()
        .unwrap();
    let far = UnixTime::from_secs(now + 10 * 365 * 86_400);
    assert_eq!(untimed.read_at(far, &case.value).unwrap().expires(), None);
}

#[test]
fn the_deletion_cookie_carries_beakers_name_path_and_domain() {
    let Some(c) = cookies() else { return };
    let case = c.case("custom cookie name, Path and Domain");
    let reader = case.reader();
    assert_eq!(Some(reader.cookie_name()), case.cookie_name.as_deref());
    let deletion = reader.deletion_cookie();
    assert!(deletion.starts_with("legacy_sid=; "), "{deletion}");
    // Beaker's own Set-Cookie had these attributes; the deletion must match them.
    let attributes = case.attributes.as_ref().unwrap();
    for attr in ["Path=/app", "Domain=example.com"] {
        assert!(attributes.iter().any(|a| a == attr), "{attributes:?}");
        assert!(deletion.contains(attr), "{deletion}");
    }
    assert!(deletion.contains("Max-Age=0"), "{deletion}");
}

#[test]
fn every_one_character_change_and_truncation_of_a_real_cookie_is_rejected() {
    let Some(c) = cookies() else { return };
    let now = c.now();
    let mut tried = 0;
    for desc in [
        "unencrypted JSON",
        "encrypted, cryptography backend (AES-256-GCM)",
        "encrypted, pycryptodome backend (AES-256-CTR)",
    ] {
        let case = c.case(desc);
        let reader = case.reader();
        let value = case.value.as_bytes();
        for i in 0..value.len() {
            for replacement in [b'0', b'f', b'A', b'+', b'/', b'=', b'"', b' ', 0xff] {
                if value[i] == replacement {
                    continue;
                }
                let mut changed = value.to_vec();
                changed[i] = replacement;
                let changed = String::from_utf8_lossy(&changed);
                let got = reader.read_at(now, &changed);
                assert!(
                    got.is_err(),
                    "{desc}: byte {i} -> {replacement:#x}: {got:?}"
                );
                tried += 1;
            }
        }
        for len in 0..value.len() {
            let got = reader.read_at(now, &case.value[..len]);
            assert!(got.is_err(), "{desc}: truncated to {len}");
            tried += 1;
        }
    }
    eprintln!("{tried} altered real cookies, all rejected");
}

// ---------------------------------------------------------------------------------------------
// The fuzz target's corpus, replayed (needs `test-vectors` for the harness's cookie writer)
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "test-vectors")]
#[path = "beaker/fuzz_harness.rs"]
mod fuzz_harness;

/// Every file of `fuzz/corpus/beaker_reader/` through the fuzz target's function and oracles;
/// the generated seeds must be committed as they are generated (rewrite them with
/// `REGENERATE_FUZZ_SEEDS=1`).
#[cfg(feature = "test-vectors")]
#[test]
fn the_fuzz_corpus_replays_through_the_harness() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/beaker_reader");
    if std::env::var("REGENERATE_FUZZ_SEEDS").as_deref() == Ok("1") {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in fuzz_harness::seeds() {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in fuzz_harness::seeds() {
        let committed = std::fs::read(dir.join(name))
            .unwrap_or_else(|e| panic!("seed {name} not committed ({e}): REGENERATE_FUZZ_SEEDS=1"));
        assert_eq!(
            committed, bytes,
            "seed {name} is stale: REGENERATE_FUZZ_SEEDS=1"
        );
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "only {} corpus files", files.len());
    for file in &files {
        fuzz_harness::beaker_reader(&std::fs::read(file).unwrap());
    }
    // The harness's own checks catch what they should: a valid cookie opens, and the stored
    // zlib it builds is one the reader inflates.
    let seeds = fuzz_harness::seeds();
    let valid = &seeds
        .iter()
        .find(|(n, _)| *n == "raw-valid-plain")
        .unwrap()
        .1;
    let session = fuzz_harness::READERS
        .plain
        .read_at(fuzz_harness::NOW, std::str::from_utf8(&valid[1..]).unwrap())
        .unwrap();
    assert_eq!(session.entries().get("user"), Some(&Value::from("ann")));
}
