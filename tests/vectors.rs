//! The runner of the v1 test vectors: `vectors/v1/positive.json` and `vectors/v1/negative.json`.
//!
//! It reads only the committed JSON, field by field, as an implementation in another language
//! would: for every case it builds a fresh key ring and opener from that case's own fields,
//! checks the exact outcome through the public API, and for positive cases seals the same
//! envelope with the case's nonce and compares the token. Nothing here knows how the cases were
//! made; the generator is `tests/vectors_generate/`, and `vectors/README.md` documents the
//! files.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test, never a crash on hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use sealed_session::{
    Codec, Key, KeyId, KeyRing, Mode, Rejection, Reseal, Sealer, Timestamps, UnixTime,
};
use serde_json::Value;

fn vector_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join("v1")
        .join(file)
}

fn read_committed(file: &str) -> String {
    let path = vector_path(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; the generator (tests/vectors_generate.rs) writes it",
            path.display()
        )
    })
}

fn reseal_code(r: Option<Reseal>) -> Option<&'static str> {
    r.map(Reseal::as_str)
}

/// The fields a case may have; anything else is a schema error (so README and files agree).
const COMMON_FIELDS: [&str; 15] = [
    "desc",
    "keys",
    "revoke_before",
    "now",
    "cookie_name",
    "purpose",
    "mode",
    "also_open",
    "lifetime_secs",
    "idle_timeout_secs",
    "refresh_after_secs",
    "leeway_secs",
    "max_token_len",
    "max_payload_bytes",
    "max_depth",
];
const POSITIVE_FIELDS: [&str; 10] = [
    "token_mode",
    "nonce",
    "flags",
    "created",
    "issued",
    "expires",
    "plaintext",
    "token",
    "key_id",
    "reseal",
];
const NEGATIVE_FIELDS: [&str; 2] = ["token", "rejection"];

type Res<T> = Result<T, String>;

fn get<'a>(v: &'a Value, name: &str) -> Res<&'a Value> {
    v.get(name).ok_or_else(|| format!("missing field `{name}`"))
}

fn u64_of(v: &Value, name: &str) -> Res<u64> {
    get(v, name)?
        .as_u64()
        .ok_or_else(|| format!("`{name}` is not an unsigned integer"))
}

/// Absent or `null` is `None`.
fn opt_u64_of(v: &Value, name: &str) -> Res<Option<u64>> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`{name}` is neither null nor an unsigned integer")),
    }
}

fn usize_of(v: &Value, name: &str) -> Res<usize> {
    usize::try_from(u64_of(v, name)?).map_err(|_| format!("`{name}` does not fit usize"))
}

fn str_of<'a>(v: &'a Value, name: &str) -> Res<&'a str> {
    get(v, name)?
        .as_str()
        .ok_or_else(|| format!("`{name}` is not a string"))
}

fn mode_of(name: &str) -> Res<Mode> {
    Mode::from_name(name).ok_or_else(|| format!("unknown mode `{name}`"))
}

/// Eight lowercase hex digits.
fn key_id_of(text: &str) -> Res<KeyId> {
    if text.len() != 8 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!("key id `{text}` is not eight lowercase hex digits"));
    }
    u32::from_str_radix(text, 16)
        .map(KeyId::new)
        .map_err(|e| e.to_string())
}

fn hex_of(v: &Value, name: &str) -> Res<Vec<u8>> {
    hex::decode(str_of(v, name)?).map_err(|e| format!("`{name}` is not hex: {e}"))
}

/// The keys of a case: (key, state text, activation time).
fn keys_of(case: &Value) -> Res<Vec<(Key, String, Option<u64>)>> {
    let keys = get(case, "keys")?
        .as_array()
        .ok_or("`keys` is not an array")?;
    keys.iter()
        .map(|k| {
            let id = key_id_of(str_of(k, "id")?)?;
            let secret = hex_of(k, "secret")?;
            let key = Key::try_from(&secret[..]).map_err(|e| e.to_string())?;
            let derived = get(k, "id_derived")?
                .as_bool()
                .ok_or("`id_derived` is not a boolean")?;
            if derived != (key.id() == id) {
                return Err(format!(
                    "key {id}: id_derived is {derived}, but the HKDF-derived id is {}",
                    key.id()
                ));
            }
            let state = str_of(k, "state")?.to_owned();
            let at = opt_u64_of(k, "activates_at")?;
            if (state == "pending") != at.is_some() {
                return Err(format!(
                    "key {id}: activates_at is required for pending keys only"
                ));
            }
            Ok((key.with_id(id), state, at))
        })
        .collect()
}

/// The opener a case describes, built from its own fields.
fn opener_of(case: &Value) -> Res<Sealer> {
    let mut ring = KeyRing::builder();
    for (key, state, at) in keys_of(case)? {
        ring = match (state.as_str(), at) {
            ("primary", None) => ring.primary(key),
            ("older", None) => ring.older(key),
            ("pending", Some(at)) => ring.pending(key, UnixTime::from_secs(at)),
            _ => return Err(format!("unknown key state `{state}`")),
        };
    }
    if let Some(t) = opt_u64_of(case, "revoke_before")? {
        ring = ring.revoke_before(UnixTime::from_secs(t));
    }
    let ring = ring.build().map_err(|e| e.to_string())?;
    let mut b = Sealer::builder(ring, str_of(case, "cookie_name")?)
        .purpose(str_of(case, "purpose")?)
        .mode(mode_of(str_of(case, "mode")?)?)
        .lifetime(Duration::from_secs(u64_of(case, "lifetime_secs")?))
        .idle_timeout(opt_u64_of(case, "idle_timeout_secs")?.map(Duration::from_secs))
        .refresh_after(opt_u64_of(case, "refresh_after_secs")?.map(Duration::from_secs))
        .leeway(Duration::from_secs(u64_of(case, "leeway_secs")?))
        .max_token_len(usize_of(case, "max_token_len")?)
        .codec(
            Codec::new()
                .with_max_bytes(usize_of(case, "max_payload_bytes")?)
                .with_max_depth(usize_of(case, "max_depth")?),
        );
    for m in get(case, "also_open")?
        .as_array()
        .ok_or("`also_open` is not an array")?
    {
        b = b.also_open(mode_of(
            m.as_str().ok_or("`also_open` holds a non-string")?,
        )?);
    }
    b.build().map_err(|e| e.to_string())
}

fn check_fields(case: &Value, specific: &[&str]) -> Res<()> {
    let obj = case.as_object().ok_or("a case is not an object")?;
    for name in obj.keys() {
        if !COMMON_FIELDS.contains(&name.as_str()) && !specific.contains(&name.as_str()) {
            return Err(format!("unexpected field `{name}`"));
        }
    }
    Ok(())
}

fn run_positive(case: &Value) -> Res<()> {
    check_fields(case, &POSITIVE_FIELDS)?;
    let opener = opener_of(case)?;
    let now = UnixTime::from_secs(u64_of(case, "now")?);
    let token = str_of(case, "token")?;
    let plaintext = str_of(case, "plaintext")?;
    let expected: Value =
        serde_json::from_str(plaintext).map_err(|e| format!("plaintext is not JSON: {e}"))?;
    let key_id = key_id_of(str_of(case, "key_id")?)?;
    let token_mode = mode_of(str_of(case, "token_mode")?)?;
    let times = Timestamps {
        created: UnixTime::from_secs(u64_of(case, "created")?),
        issued: UnixTime::from_secs(u64_of(case, "issued")?),
        expires: UnixTime::from_secs(u64_of(case, "expires")?),
    };
    let reseal = match get(case, "reseal")? {
        Value::Null => None,
        Value::String(s) => Some(s.as_str()),
        _ => return Err("`reseal` is neither null nor a string".into()),
    };

    let opened = opener
        .open_at::<Value>(now, token)
        .map_err(|r| format!("expected to open, got rejection {r}"))?;
    if opened.value() != &expected {
        return Err(format!("opened to {}, expected {expected}", opened.value()));
    }
    let meta = opened.meta();
    if meta.key_id() != key_id {
        return Err(format!("key id {}, expected {key_id}", meta.key_id()));
    }
    if meta.mode() != token_mode {
        return Err(format!("mode {}, expected {token_mode}", meta.mode()));
    }
    if meta.times() != times {
        return Err(format!("timestamps {:?}, expected {times:?}", meta.times()));
    }
    let got = reseal_code(opened.reseal());
    if got != reseal {
        return Err(format!("re-seal hint {got:?}, expected {reseal:?}"));
    }

    // Sealing the same envelope with the same nonce, key and context gives the same token.
    let (key, _, _) = keys_of(case)?
        .into_iter()
        .find(|(k, _, _)| k.id() == key_id)
        .ok_or("key_id is not in the ring")?;
    let sealer = Sealer::builder(
        KeyRing::builder()
            .primary(key)
            .build()
            .map_err(|e| e.to_string())?,
        str_of(case, "cookie_name")?,
    )
    .purpose(str_of(case, "purpose")?)
    .mode(token_mode)
    .max_token_len(usize_of(case, "max_token_len")?)
    .build()
    .map_err(|e| e.to_string())?;
    let flags = u8::try_from(u64_of(case, "flags")?).map_err(|_| "`flags` is not a byte")?;
    let resealed = sealer
        .seal_raw_for_vectors(
            now,
            &times,
            flags,
            plaintext.as_bytes(),
            &hex_of(case, "nonce")?,
        )
        .map_err(|e| format!("re-sealing failed: {e}"))?;
    if resealed != token {
        return Err(format!(
            "re-sealing with the case's nonce gave {resealed}, expected the case's token"
        ));
    }
    Ok(())
}

fn run_negative(case: &Value) -> Res<Rejection> {
    check_fields(case, &NEGATIVE_FIELDS)?;
    let code = str_of(case, "rejection")?;
    let expected =
        Rejection::from_code(code).ok_or_else(|| format!("unknown rejection code `{code}`"))?;
    let opener = opener_of(case)?;
    let now = UnixTime::from_secs(u64_of(case, "now")?);
    match opener.open_at::<Value>(now, str_of(case, "token")?) {
        Ok(_) => Err(format!("expected rejection {code}, but the token opened")),
        Err(r) if r == expected => Ok(r),
        Err(r) => Err(format!("expected rejection {code}, got {r}")),
    }
}

/// The committed file's cases, after checking the top-level object.
fn cases_of(file: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&read_committed(file)).unwrap();
    assert_eq!(doc["version"], 1, "{file}: version");
    assert!(
        doc["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{file}: description"
    );
    let obj = doc.as_object().unwrap();
    assert_eq!(obj.len(), 3, "{file}: only version, description and cases");
    doc["cases"].as_array().unwrap().clone()
}

fn desc_of(case: &Value) -> String {
    case.get("desc")
        .and_then(Value::as_str)
        .unwrap_or("<no desc>")
        .to_owned()
}

#[test]
fn every_committed_vector_has_its_expected_outcome() {
    let mut failures = Vec::new();
    for (i, case) in cases_of("positive.json").iter().enumerate() {
        if let Err(e) = run_positive(case) {
            failures.push(format!("positive #{i} ({}): {e}", desc_of(case)));
        }
    }
    for (i, case) in cases_of("negative.json").iter().enumerate() {
        if let Err(e) = run_negative(case) {
            failures.push(format!("negative #{i} ({}): {e}", desc_of(case)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_suite_is_large_distinct_and_covers_every_outcome() {
    let positive = cases_of("positive.json");
    let negative = cases_of("negative.json");
    assert!(
        positive.len() >= 12,
        "{} positive cases; at least 12",
        positive.len()
    );
    assert!(
        negative.len() >= 30,
        "{} negative cases; at least 30",
        negative.len()
    );

    let mut seen = HashSet::new();
    for case in positive.iter().chain(&negative) {
        let desc = case["desc"].as_str().unwrap();
        assert!(!desc.trim().is_empty(), "an empty desc");
        assert!(seen.insert(desc.to_owned()), "duplicate desc: {desc}");
    }

    let rejections: BTreeSet<&str> = negative
        .iter()
        .map(|c| c["rejection"].as_str().unwrap())
        .collect();
    for r in Rejection::ALL {
        assert!(
            rejections.contains(r.as_str()),
            "no negative case expects {r}"
        );
    }

    let token_modes: BTreeSet<&str> = positive
        .iter()
        .map(|c| c["token_mode"].as_str().unwrap())
        .collect();
    for m in Mode::ALL {
        assert!(token_modes.contains(m.as_str()), "no positive case in {m}");
    }
    let hints: BTreeSet<&str> = positive
        .iter()
        .map(|c| c["reseal"].as_str().unwrap_or("null"))
        .collect();
    for h in ["null", "rotated_key", "mode_changed", "refresh"] {
        assert!(hints.contains(h), "no positive case with re-seal hint {h}");
    }
}
