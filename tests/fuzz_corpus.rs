//! Replays the committed fuzz corpus under `cargo test`: every file in `fuzz/corpus/<target>/`
//! (and in `fuzz/regressions/<target>/`, where inputs that once crashed a target are kept) goes
//! through the same harness function the cargo-fuzz target runs (`fuzz/harness.rs`), so the
//! corpus and its oracles are checked on every CI run without a fuzzer or a nightly toolchain.
//!
//! The valid tokens and headers among the seeds are generated deterministically by
//! `harness::seeds()` (fixed keys, nonces and time); `generated_seeds_are_committed` checks the
//! committed files are exactly those. To rewrite them after a format change:
//! `REGENERATE_FUZZ_SEEDS=1 cargo test --all-features --test fuzz_corpus` (the `config_parse` and
//! `cache_entry` corpora are replayed with the `config` and `redis` features only).

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

#[path = "../fuzz/harness.rs"]
mod harness;

use std::fs;
use std::path::{Path, PathBuf};

fn dir(kind: &str, target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind)
        .join(target)
}

/// The files of a corpus folder, sorted, without hidden files; none if the folder is absent.
fn files(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    out.sort();
    out
}

fn replay(target: &str, run: fn(&[u8])) {
    let corpus = files(&dir("corpus", target));
    assert!(
        corpus.len() >= 5,
        "{target}: only {} corpus files",
        corpus.len()
    );
    let regressions = files(&dir("regressions", target));
    for file in corpus.iter().chain(&regressions) {
        let data = fs::read(file).expect("a corpus file");
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} fails the harness (reproduce with `cargo fuzz run --sanitizer none \
             {target} {}`)",
            file.display(),
            file.display()
        );
    }
}

#[test]
fn open_token_corpus() {
    replay("open_token", harness::open_token);
}

#[test]
fn cookie_header_corpus() {
    replay("cookie_header", harness::cookie_header);
}

#[test]
fn cookie_policy_corpus() {
    replay("cookie_policy", harness::cookie_policy);
}

#[test]
fn payload_decode_corpus() {
    replay("payload_decode", harness::payload_decode);
}

#[test]
fn chunk_assembly_corpus() {
    replay("chunk_assembly", harness::chunk_assembly);
}

#[test]
fn session_payload_corpus() {
    replay("session_payload", harness::session_payload);
}

#[cfg(feature = "config")]
#[test]
fn config_parse_corpus() {
    replay("config_parse", harness::config_parse);
}

#[cfg(feature = "redis")]
#[test]
fn cache_entry_corpus() {
    replay("cache_entry", harness::cache_entry);
}

/// The oracle of `cache_entry` against the cache's own writes: a value the cache stored reads
/// back through the stand-in server (so the harness's reading of the wire layout is the cache's).
#[cfg(feature = "redis")]
#[test]
fn cache_entry_oracle_matches_a_real_entry() {
    let mut wire = (harness::CACHE_NOW_NANOS + 1).to_be_bytes().to_vec();
    wire.extend_from_slice(&u64::MAX.to_be_bytes());
    wire.extend_from_slice(br#"{"a":1}"#);
    harness::cache_entry(&wire);
    let rig = &*harness::CACHE_RIG;
    let _turn = rig.turn.lock().unwrap();
    rig.server.serve(Some(wire));
    let got = rig.runtime.block_on(rig.plain.get_async(&"k".to_owned()));
    rig.server.serve(None);
    assert_eq!(got, Some(serde_json::json!({"a": 1})));
}

/// The committed sealed seed is inside the format: the sealed cache serves it (so the fuzzer
/// mutates a real sealed entry), and the unsealed cache does not. It has a random nonce, so it is
/// written once (when missing, or with `REGENERATE_FUZZ_SEEDS`), not compared with a regenerated
/// one.
#[cfg(feature = "redis")]
#[test]
fn cache_entry_sealed_seed_is_served() {
    let path = dir("corpus", "cache_entry").join("valid-sealed");
    let value = serde_json::json!({"user": "ann", "roles": ["admin"]});
    if std::env::var_os("REGENERATE_FUZZ_SEEDS").is_some() || !path.exists() {
        fs::write(&path, harness::sealed_entry_seed(&value)).unwrap();
    }
    let wire = fs::read(&path).unwrap();
    let rig = &*harness::CACHE_RIG;
    let _turn = rig.turn.lock().unwrap();
    rig.server.serve(Some(wire));
    let sealed = rig.runtime.block_on(rig.sealed.get_async(&"k".to_owned()));
    let plain = rig.runtime.block_on(rig.plain.get_async(&"k".to_owned()));
    rig.server.serve(None);
    assert_eq!(sealed, Some(value));
    assert_eq!(plain, None);
}

/// The secret marker really reaches the parser: a config with it in `secret` loads, and the
/// same marker in a field that is not a secret is refused without being repeated.
#[cfg(feature = "config")]
#[test]
fn config_parse_plants_a_real_secret() {
    let text = "[[keys.key]]\nid = \"1\"\nsecret = \"$SECRET\"\nstate = \"primary\"\n"
        .replace("$SECRET", harness::MARKER_SECRET);
    let loaded = sealed_session::config::Config::from_toml_str(&text);
    assert!(loaded.is_ok(), "{loaded:?}");
    let misplaced = format!("[session]\nmode = \"{}\"\n", harness::MARKER_SECRET);
    let e = sealed_session::config::Config::from_toml_str(&misplaced).unwrap_err();
    assert!(
        !e.to_string().contains(&harness::MARKER_SECRET[..16]),
        "{e}"
    );
}

#[test]
fn generated_seeds_are_committed() {
    let regenerate = std::env::var_os("REGENERATE_FUZZ_SEEDS").is_some();
    for (target, name, bytes) in harness::seeds() {
        let path = dir("corpus", target).join(&name);
        if regenerate {
            fs::write(&path, &bytes).expect("write a seed");
        }
        let committed = fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{}: the committed seed differs from harness::seeds() (see this file's docs)",
            path.display()
        );
    }
}

/// The generated valid seeds really are valid, so the fuzzers start from inside the format.
#[test]
fn the_valid_seeds_open() {
    use sealed_session::Mode;
    let all_modes = &harness::OPENERS[Mode::ALL.len()].1;
    for (target, name, bytes) in harness::seeds() {
        if !name.starts_with("valid") {
            continue;
        }
        let text = std::str::from_utf8(&bytes).expect("ASCII");
        if target == "chunk_assembly" {
            let (selector, header) = bytes.split_first().unwrap();
            let manager = &harness::CHUNKED_MANAGERS[usize::from(*selector)];
            let values: Vec<&[u8]> = header.split(|&b| b == b'\n').collect();
            let session = manager.load_from_cookie_headers(values);
            assert!(!session.is_new(), "{name}: {:?}", session.rejection());
        } else if target == "open_token" {
            let opened = all_modes.open_at::<serde_json::Value>(harness::NOW, text);
            assert!(opened.is_ok(), "{name}: {opened:?}");
        } else {
            let session = harness::MANAGERS[0].load_from_cookie_headers([bytes.as_slice()]);
            assert!(!session.is_new(), "{name}: {:?}", session.rejection());
        }
    }
}

/// The oracle of `session_payload` against known answers, one per committed seed: which payloads
/// SECURITY.md ("Session payload") says open, and to what, so the corpus replay checks the crate
/// against a reading of the spec rather than against itself.
#[test]
fn the_session_payload_oracle_agrees_with_known_answers() {
    let opens = [
        "array-triple",
        "array-triple-null",
        "big-value",
        "canonical",
        "deep-value-32",
        "duplicates",
        "empty-data",
        "escaped-id",
        "escaped-keys",
        "fields-reordered",
        "lineage",
        "lineage-equal-id",
        "lineage-null",
        "unknown-field",
        "unsorted",
        "whitespace",
    ];
    let refused = [
        // Documented as opening, but refused by the crate: see harness::documented_pair.
        "array-pair",
        "deep-value-33",
        "duplicate-data",
        "duplicate-id",
        "id-non-canonical",
        "id-number",
        "id-standard-alphabet",
        "invalid-utf8",
        "lineage-invalid",
        "missing-data",
        "non-object-data",
        "not-object",
        "trailing-data",
    ];
    let folder = dir("corpus", "session_payload");
    let mut named: Vec<&str> = opens.iter().chain(&refused).copied().collect();
    named.sort_unstable();
    let committed: Vec<String> = files(&folder)
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(committed, named, "every seed has a known answer");
    let expect = |name: &str| harness::expected_session(&fs::read(folder.join(name)).unwrap());
    for name in opens {
        assert!(expect(name).is_some(), "{name} opens");
    }
    for name in refused {
        assert!(expect(name).is_none(), "{name} is refused");
    }
    let entries = |name: &str| -> Vec<(String, String)> {
        let e = expect(name).unwrap();
        e.data
            .iter()
            .map(|(k, v)| (k.clone(), v.get().to_owned()))
            .collect()
    };
    let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        entries("duplicates"),
        pairs(&[("a", r#"{"x":5}"#), ("b", "3"), ("c", "[]")])
    );
    assert_eq!(
        entries("escaped-keys")
            .iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>(),
        ["/", "a", "b\n", "m\u{1}\"new\\", "é\"\\", "😀"]
    );
    assert_eq!(expect("escaped-id").unwrap().id, "AAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(expect("lineage-null").unwrap().lineage, None);
    assert_eq!(
        expect("lineage").unwrap().lineage.as_deref(),
        Some("BBBBBBBBBBBBBBBBBBBBBA")
    );
    assert_eq!(entries("unknown-field"), pairs(&[("a", "1")]));
}

/// Regression (fails on 35e3b28): a payload whose `data` holds a value `serde_json` cannot read as
/// a `Value` (a number out of `f64`'s range, a lone surrogate escape) is refused by
/// `Sealer::open_at::<Value>` with `Decode`, but the session layer, which keeps values as raw
/// text since 3abd421, opens it: `contains` and `keys` then report an entry that `entries()`
/// silently drops and `get_value` cannot read, and the cookie written back carries it again. The
/// session must open exactly what the sealer opens (the `cookie_header` target's model too).
/// Inputs: `fuzz/regressions/session_payload/`.
#[test]
fn a_session_value_serde_json_refuses_is_refused_like_the_sealer() {
    let manager = &*harness::PAYLOAD_MANAGER;
    let sealer = manager.sealer();
    for name in ["number-out-of-range", "lone-surrogate-escape"] {
        let payload = fs::read(dir("regressions", "session_payload").join(name)).unwrap();
        let times = sealed_session::Timestamps {
            created: harness::NOW,
            issued: harness::NOW,
            expires: harness::NOW.checked_add(sealer.lifetime()).unwrap(),
        };
        let nonce = vec![7; sealer.mode().nonce_len()];
        let token = sealer
            .seal_raw_for_vectors(harness::NOW, &times, 1, &payload, &nonce)
            .unwrap();
        assert_eq!(
            sealer
                .open_at::<serde_json::Value>(harness::NOW, &token)
                .err(),
            Some(sealed_session::Rejection::Decode),
            "{name}"
        );
        let header = format!("{}={token}", harness::NAME);
        let session = manager.load_from_cookie_headers([header.as_bytes()]);
        assert!(
            session.is_new(),
            "{name}: opened with keys {:?} but entries {:?}",
            session.keys(),
            session.entries()
        );
        assert_eq!(
            session.rejection(),
            Some(sealed_session::Rejection::Decode),
            "{name}"
        );
    }
}

/// The harness's own oracle against a known answer: the strict decoder and the predicted
/// rejections agree with the documented examples.
#[test]
fn the_oracles_agree_with_known_answers() {
    use sealed_session::{Mode, Rejection};
    assert_eq!(harness::strict_base64url(""), Some(vec![]));
    assert_eq!(harness::strict_base64url("AQ"), Some(vec![1]));
    assert_eq!(harness::strict_base64url("AR"), None, "non-canonical");
    assert_eq!(harness::strict_base64url("AQ=="), None, "padding");
    assert_eq!(harness::strict_base64url("A"), None, "1 mod 4");
    assert_eq!(harness::strict_base64url("+/"), None, "standard alphabet");
    assert_eq!(harness::strict_base64url("-_8"), Some(vec![0xfb, 0xff]));
    for len in 0..64 {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let text = harness::base64url(&bytes);
        assert_eq!(harness::strict_base64url(&text), Some(bytes));
    }
    let known = [sealed_session::KeyId::new(1)];
    let predict = |t: &str| harness::predicted_rejection(t, 4096, &[Mode::Signed], &known);
    assert_eq!(predict(&"A".repeat(4097)), Some(Rejection::TooLarge));
    assert_eq!(predict(""), Some(Rejection::Malformed));
    assert_eq!(predict("AA"), Some(Rejection::UnsupportedVersion));
    assert_eq!(predict("EQ"), Some(Rejection::Malformed), "0x11, too short");
    assert_eq!(
        harness::candidates(&[b" a=1; session = x ;session=y; session"], "session"),
        vec!["x".to_owned(), "y".to_owned()]
    );
}
