//! Runs `vectors/v1/chunks.json` (chunk assembly) and `vectors/v1/session.json` (the session
//! payload and its lineage) the way another implementation would: from the JSON files alone.

#![allow(clippy::panic, reason = "test helpers: a panic is a failed test")]

use std::sync::Arc;

use sealed_session::hazmat::cookie_candidates;
use sealed_session::{
    Chunking, CookiePolicy, KeyRing, ManualClock, Rejection, SessionManager, UnixTime,
};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/vectors/v1/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn chunk_vectors() {
    let v = load("chunks.json");
    let name = v["cookie_name"].as_str().unwrap();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let desc = case["desc"].as_str().unwrap();
        let chunking = case["max_chunks"]
            .as_u64()
            .map(|n| Chunking::new(n as usize));
        let policy = CookiePolicy::builder(name)
            .chunking(chunking)
            .build()
            .unwrap();
        let headers: Vec<&[u8]> = case["cookie_headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().as_bytes())
            .collect();
        let want: Vec<(String, usize)> = case["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c[0].as_str().unwrap().to_owned(),
                    c[1].as_u64().unwrap() as usize,
                )
            })
            .collect();
        assert_eq!(cookie_candidates(&policy, &headers), want, "{desc}");
    }
}

#[test]
fn session_payload_vectors() {
    let v = load("session.json");
    let now = UnixTime::from_secs(1_700_000_000);
    let clock = Arc::new(ManualClock::new(now));
    let manager = SessionManager::builder(KeyRing::generate())
        .with_cookie_name("id")
        .with_clock(clock)
        .build()
        .unwrap();
    for case in v["cases"].as_array().unwrap() {
        let desc = case["desc"].as_str().unwrap();
        let payload: Value = serde_json::from_str(case["payload"].as_str().unwrap()).unwrap();
        let token = manager.sealer().seal_at(now, &payload).unwrap();
        let header = format!("id={token}");
        let session = manager.load_from_cookie_headers([header.as_bytes()]);
        if case["valid"].as_bool().unwrap() {
            assert_eq!(session.rejection(), None, "{desc}");
            assert_eq!(
                session.id().map(|i| i.to_string()).as_deref(),
                case["id"].as_str(),
                "{desc}"
            );
            assert_eq!(
                session.lineage().map(|i| i.to_string()).as_deref(),
                case["lineage"].as_str(),
                "{desc}"
            );
        } else {
            assert_eq!(session.rejection(), Some(Rejection::Decode), "{desc}");
        }
    }
}

/// What the crate writes matches the vectors: no lineage before a renew, the old id after it.
#[test]
fn written_payloads_follow_the_session_vectors() {
    let manager = SessionManager::builder(KeyRing::generate())
        .with_cookie_name("id")
        .build()
        .unwrap();
    let session = manager.load(&http::HeaderMap::new());
    session.insert("user", &"ann").unwrap();
    let first = session.id().unwrap();
    let cookie = manager.finish(&session).unwrap().remove(0);
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("id=")
        .unwrap();
    let opened = manager.sealer().open::<Value>(token).unwrap();
    assert!(
        opened.value().get("lineage").is_none(),
        "{}",
        opened.value()
    );
    let header = format!("id={token}");
    let session = manager.load_from_cookie_headers([header.as_bytes()]);
    session.renew();
    let cookie = manager.finish(&session).unwrap().remove(0);
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("id=")
        .unwrap();
    let opened = manager.sealer().open::<Value>(token).unwrap();
    assert_eq!(opened.value()["lineage"], Value::from(first.to_string()));
    assert_ne!(opened.value()["id"], Value::from(first.to_string()));
}
