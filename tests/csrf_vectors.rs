//! Runs `vectors/v1/csrf.json` (CSRF tokens: SECURITY.md, "CSRF tokens") the way another
//! implementation would: from the JSON file alone. Each case gives a key ring, the clock, the
//! request's session cookie (or none) and a token, and the verdict `verify_csrf` must reach.
//!
//! The tokens were sealed once by `regenerate_csrf_vectors` below (ignored: run it with
//! `cargo test --test csrf_vectors -- --ignored` to rewrite the file) with plain `Sealer`s, not
//! the crate's CSRF code: purpose `csrf`, the session's cookie name, AES-256-GCM-SIV, the payload
//! `{"lineage":"…"}`. So the file pins the documented format, not whatever the code does.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is a failed test"
)]

use std::sync::Arc;
use std::time::Duration;

use sealed_session::csrf::CsrfRejection;
use sealed_session::{Key, KeyRing, ManualClock, Sealer, SessionManager, UnixTime};
use serde_json::{json, Value};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/v1/csrf.json");

fn verdict(r: Result<(), CsrfRejection>) -> String {
    match r {
        Ok(()) => "ok".to_owned(),
        Err(CsrfRejection::Invalid(reason)) => format!("invalid:{reason}"),
        Err(other) => other.as_str().to_owned(),
    }
}

fn ring_of(v: &Value) -> KeyRing {
    let list = v
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            format!(
                "{}:{}",
                k["id"].as_u64().unwrap(),
                k["secret"].as_str().unwrap()
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    KeyRing::from_key_list(&list).unwrap()
}

#[test]
fn csrf_vectors() {
    let text = std::fs::read_to_string(PATH).unwrap_or_else(|e| panic!("{PATH}: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let name = v["cookie_name"].as_str().unwrap();
    let now = UnixTime::from_secs(v["now"].as_u64().unwrap());
    let clock = Arc::new(ManualClock::new(now));
    let manager = SessionManager::builder(ring_of(&v["ring"]))
        .with_cookie_name(name)
        .with_clock(clock)
        .with_lifetime(Duration::from_secs(v["max_age_secs"].as_u64().unwrap()))
        .build()
        .unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let desc = case["desc"].as_str().unwrap();
        let session = match case["session_cookie"].as_str() {
            Some(token) => {
                let s = manager.load_from_cookie_headers([format!("{name}={token}").as_bytes()]);
                assert!(!s.is_new(), "{desc}: the session cookie opens");
                assert_eq!(
                    s.lineage().map(|l| l.to_string()).as_deref(),
                    case["lineage"].as_str(),
                    "{desc}: lineage"
                );
                s
            }
            None => manager.load(&http::HeaderMap::new()),
        };
        let got = verdict(manager.verify_csrf(&session, case["token"].as_str().unwrap()));
        assert_eq!(got, case["expect"].as_str().unwrap(), "{desc}");
    }
}

/// Rewrites vectors/v1/csrf.json (fresh nonces: the tokens change, the verdicts must not).
#[test]
#[ignore = "rewrites vectors/v1/csrf.json"]
fn regenerate_csrf_vectors() {
    const NAME: &str = "session";
    const NOW: u64 = 1_700_000_000;
    const MAX_AGE: u64 = 7 * 24 * 3600;
    const LINEAGE: &str = "TGluZWFnZS1vZi10aGUtdg";
    const OTHER: &str = "T3RoZXItbGluZWFnZS0tLQ";
    const ID: &str = "UmVuZXdlZC1pZC0tLS0tLQ";
    let key = |id: u32, fill: u8| {
        let mut bytes = [fill; 32];
        bytes[0] = 0;
        Key::try_from(&bytes[..])
            .unwrap()
            .with_id(sealed_session::KeyId::new(id))
    };
    let (k1, k2, k3) = (key(1, 0x11), key(2, 0x22), key(3, 0x33));
    let ring = KeyRing::builder()
        .primary(k2.clone())
        .older(k1.clone())
        .build()
        .unwrap();
    let sealer = |ring: KeyRing, name: &str, purpose: &str| {
        Sealer::builder(ring, name)
            .purpose(purpose)
            .lifetime(Duration::from_secs(MAX_AGE))
            .build()
            .unwrap()
    };
    let only = |k: &Key| KeyRing::builder().primary(k.clone()).build().unwrap();
    let csrf = sealer(ring.clone(), NAME, "csrf");
    let at = |secs: u64| UnixTime::from_secs(secs);
    let payload = |l: &str| json!({ "lineage": l });
    let session = sealer(ring.clone(), NAME, "session")
        .seal_at(
            at(NOW - 60),
            &json!({ "id": ID, "lineage": LINEAGE, "data": {} }),
        )
        .unwrap();
    let good = csrf.seal_at(at(NOW - 3600), &payload(LINEAGE)).unwrap();
    let mut cases = vec![
        (
            "a token for the session's lineage (the session was renewed since: its id differs)",
            Some(&session),
            good.clone(),
            "ok",
        ),
        (
            "sealed under the older key k1, still in the ring",
            Some(&session),
            sealer(only(&k1), NAME, "csrf")
                .seal_at(at(NOW - 60), &payload(LINEAGE))
                .unwrap(),
            "ok",
        ),
        (
            "one second before the max age",
            Some(&session),
            csrf.seal_at(at(NOW - MAX_AGE + 1), &payload(LINEAGE))
                .unwrap(),
            "ok",
        ),
        (
            "at the max age",
            Some(&session),
            csrf.seal_at(at(NOW - MAX_AGE), &payload(LINEAGE)).unwrap(),
            "invalid:expired",
        ),
        (
            "another session's lineage",
            Some(&session),
            csrf.seal_at(at(NOW - 60), &payload(OTHER)).unwrap(),
            "other_session",
        ),
        (
            "the same payload with the purpose 'session'",
            Some(&session),
            sealer(ring.clone(), NAME, "session")
                .seal_at(at(NOW - 60), &payload(LINEAGE))
                .unwrap(),
            "invalid:bad_tag",
        ),
        (
            "the session cookie's own token",
            Some(&session),
            session.clone(),
            "invalid:bad_tag",
        ),
        (
            "sealed for another cookie name",
            Some(&session),
            sealer(ring.clone(), "other", "csrf")
                .seal_at(at(NOW - 60), &payload(LINEAGE))
                .unwrap(),
            "invalid:bad_tag",
        ),
        (
            "under a key not in the ring",
            Some(&session),
            sealer(only(&k3), NAME, "csrf")
                .seal_at(at(NOW - 60), &payload(LINEAGE))
                .unwrap(),
            "invalid:unknown_key",
        ),
        (
            "an unknown member in the payload",
            Some(&session),
            csrf.seal_at(at(NOW - 60), &json!({ "lineage": LINEAGE, "user": "ann" }))
                .unwrap(),
            "invalid:decode",
        ),
        (
            "not a lineage",
            Some(&session),
            csrf.seal_at(at(NOW - 60), &json!({ "lineage": "short" }))
                .unwrap(),
            "invalid:decode",
        ),
        (
            "no session in the request",
            None,
            good.clone(),
            "no_session",
        ),
        ("an empty token", Some(&session), String::new(), "missing"),
    ];
    let mut flipped = good.clone().into_bytes();
    let i = flipped.len() - 5;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    cases.push((
        "one character of a good token changed",
        Some(&session),
        String::from_utf8(flipped).unwrap(),
        "invalid:bad_tag",
    ));
    let secret = |k: &Key| k.to_base64().as_str().to_owned();
    let file = json!({
        "version": 1,
        "description": "CSRF tokens (SECURITY.md, 'CSRF tokens'): a v1 token sealed under the session's key ring and cookie name with the purpose 'csrf', payload {\"lineage\": <the session's lineage>}, lifetime the CSRF max age. 'expect' is the verdict for the request's session (the session cookie, or none): ok, missing, no_session, other_session, or invalid:<opening rejection>.",
        "cookie_name": NAME,
        "now": NOW,
        "max_age_secs": MAX_AGE,
        "ring": [
            { "id": 2, "secret": secret(&k2), "state": "primary" },
            { "id": 1, "secret": secret(&k1), "state": "older" }
        ],
        "cases": cases.into_iter().map(|(desc, cookie, token, expect)| json!({
            "desc": desc,
            "session_cookie": cookie,
            "lineage": cookie.map(|_| LINEAGE),
            "token": token,
            "expect": expect,
        })).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&file).unwrap();
    text.push('\n');
    std::fs::write(PATH, text).unwrap();
}
