//! Moving off Beaker without logging anyone out: cookies made by the real Python Beaker 1.14
//! (`tests/beaker/make_cookies.py`) go through `SessionBuilder::with_legacy_beaker`, in the
//! library and over HTTP in the axum demo app (`BEAKER_*` settings).
//!
//! A valid Beaker cookie becomes a sealed session in the same response and is deleted with its
//! own Path and Domain; a cookie of ours wins over it (and it is deleted); a refused one
//! (tampered, foreign, expired, pickle) is a fresh session, deleted, never a 500.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

#[path = "beaker/cookies.rs"]
mod cookies;

#[path = "../examples/axum_app.rs"]
#[allow(dead_code, reason = "only the router and the settings are used")]
mod app;

use std::collections::HashMap;
use std::sync::Arc;

use cookies::{cookies, Case, Expect};
use sealed_session::axum::SessionLayer;
use sealed_session::{KeyRing, ManualClock, Session, SessionManager};
use serde_json::{json, Value};

const NAME: &str = "id";

fn manager(case: &Case, now: sealed_session::UnixTime) -> SessionManager {
    SessionManager::builder(KeyRing::generate())
        .with_cookie_name(NAME)
        .with_clock(Arc::new(ManualClock::new(now)))
        .with_legacy_beaker(case.reader())
        .build()
        .unwrap()
}

fn legacy_name(case: &Case) -> String {
    case.cookie_name
        .clone()
        .unwrap_or_else(|| "beaker.session.id".to_owned())
}

fn header(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn load(manager: &SessionManager, header: &str) -> Session {
    manager.load_from_cookie_headers([header.as_bytes()])
}

/// (name, value, is a deletion) of each Set-Cookie.
fn parsed(out: &[String]) -> Vec<(String, String, bool)> {
    out.iter()
        .map(|c| {
            let pair = c.split(';').next().unwrap();
            let (n, v) = pair.split_once('=').unwrap();
            (n.to_owned(), v.to_owned(), c.contains("Max-Age=0"))
        })
        .collect()
}

#[test]
fn every_valid_beaker_cookie_becomes_a_sealed_session_and_is_deleted() {
    let Some(all) = cookies() else { return };
    let now = all.now();
    let mut migrated = 0;
    for case in all
        .cases
        .iter()
        .filter(|c| matches!(&c.expect, Expect::Ok(_)))
    {
        let m = manager(case, now);
        let legacy = legacy_name(case);
        let s = load(&m, &header(&[("theme", "dark"), (&legacy, &case.value)]));
        assert_eq!(
            s.get::<String>("user").unwrap().as_deref(),
            Some("ann"),
            "{}",
            case.desc
        );
        if let Some(entries) = &case.entries {
            for (k, v) in entries {
                assert_eq!(s.get_value(k).as_ref(), Some(v), "{}: {k}", case.desc);
            }
        }
        assert!(s
            .keys()
            .iter()
            .all(|k| !matches!(k.as_str(), "_id" | "_accessed_time" | "_creation_time")));
        let out = parsed(&m.finish(&s).unwrap());
        assert_eq!(out.len(), 2, "{}: {out:?}", case.desc);
        let (ours, token, deleted) = &out[0];
        assert_eq!((ours.as_str(), *deleted), (NAME, false), "{}", case.desc);
        assert_eq!(
            (out[1].0.as_str(), out[1].2),
            (legacy.as_str(), true),
            "{}",
            case.desc
        );
        // The next request carries our cookie (and, from a browser that kept it, the old one):
        // ours wins, the data is the same, and the Beaker cookie is deleted again.
        let s2 = load(&m, &header(&[(NAME, token), (&legacy, &case.value)]));
        assert_eq!(s2.get::<String>("user").unwrap().as_deref(), Some("ann"));
        assert_eq!(
            s2.id(),
            s.id(),
            "{}: the migrated session, not a second one",
            case.desc
        );
        let out2 = parsed(&m.finish(&s2).unwrap());
        assert_eq!(out2.len(), 1, "{}: {out2:?}", case.desc);
        assert_eq!((out2[0].0.as_str(), out2[0].2), (legacy.as_str(), true));
        migrated += 1;
    }
    assert!(migrated >= 8, "{migrated}");
}

#[test]
fn every_refused_beaker_cookie_is_a_fresh_session_and_is_deleted() {
    let Some(all) = cookies() else { return };
    let now = all.now();
    let mut refused = 0;
    for case in all
        .cases
        .iter()
        .filter(|c| matches!(&c.expect, Expect::Rejected(_)))
    {
        let m = manager(case, now);
        let legacy = legacy_name(case);
        let s = load(&m, &header(&[(&legacy, &case.value)]));
        assert!(s.is_new(), "{}", case.desc);
        assert!(s.is_empty(), "{}", case.desc);
        let out = parsed(&m.finish(&s).unwrap());
        assert_eq!(out.len(), 1, "{}: {out:?}", case.desc);
        assert_eq!(
            (out[0].0.as_str(), out[0].2),
            (legacy.as_str(), true),
            "{}",
            case.desc
        );
        refused += 1;
    }
    assert!(refused >= 10, "{refused}");
}

#[test]
fn an_untouched_session_migrates_nothing_and_sends_nothing() {
    let Some(all) = cookies() else { return };
    let case = all.case("unencrypted JSON");
    let m = manager(case, all.now());
    let s = load(&m, &header(&[("beaker.session.id", &case.value)]));
    assert!(m.finish(&s).unwrap().is_empty());
}

/// The `BEAKER_*` settings of the demo app for `case`.
fn demo_vars(case: &Case) -> HashMap<&'static str, String> {
    let s = &case.settings;
    let mut vars = HashMap::new();
    vars.insert(
        "BEAKER_VALIDATE_KEY",
        s["validate_key"].as_str().unwrap().to_owned(),
    );
    if let Some(k) = s.get("encrypt_key").and_then(Value::as_str) {
        vars.insert("BEAKER_ENCRYPT_KEY", k.to_owned());
    }
    if let Some(c) = s.get("crypto").and_then(Value::as_str) {
        vars.insert("BEAKER_CRYPTO", c.to_owned());
    }
    if let Some(t) = s.get("timeout").and_then(Value::as_u64) {
        vars.insert("BEAKER_TIMEOUT", t.to_string());
    }
    vars
}

/// Over HTTP, in the axum demo app configured by `BEAKER_*`: `/api/me` shows the Beaker user and
/// count, `/api/counter` continues from it, for an unencrypted cookie and both backends.
#[tokio::test]
async fn the_demo_app_keeps_a_beaker_user_logged_in() {
    let Some(all) = cookies() else { return };
    for desc in [
        "unencrypted JSON",
        "encrypted, cryptography backend (AES-256-GCM)",
        "encrypted, pycryptodome backend (AES-256-CTR)",
    ] {
        let case = all.case(desc);
        let vars = demo_vars(case);
        let builder = app::configure(SessionLayer::builder(KeyRing::generate()), false);
        let builder = app::with_beaker(builder, &|n| vars.get(n).cloned()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = app::router(builder.build().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        let res = client
            .get(format!("{base}/api/me"))
            .header("cookie", format!("beaker.session.id={}", case.value))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{desc}");
        let set: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["user"], json!("ann"), "{desc}: {body}");
        assert_eq!(body["count"], json!(7), "{desc}: {body}");
        let ours = set
            .iter()
            .find(|c| c.starts_with("session=") && !c.contains("Max-Age=0"))
            .unwrap_or_else(|| panic!("{desc}: no session cookie in {set:?}"));
        assert!(
            set.iter()
                .any(|c| c.starts_with("beaker.session.id=") && c.contains("Max-Age=0")),
            "{desc}: the Beaker cookie is deleted: {set:?}"
        );
        let pair = ours.split(';').next().unwrap().to_owned();
        let res = client
            .get(format!("{base}/api/counter"))
            .header("cookie", &pair)
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body, json!({ "count": 8 }), "{desc}");
        server.abort();
    }
}

/// The demo's `BEAKER_*` errors name the variable, never its value.
#[test]
fn the_demo_names_a_bad_beaker_setting_without_its_value() {
    for (name, value) in [
        ("BEAKER_CRYPTO", "secret-crypto-xyz"),
        ("BEAKER_TIMEOUT", "secret-timeout-xyz"),
    ] {
        let vars: HashMap<&str, String> = [
            ("BEAKER_VALIDATE_KEY", "k".repeat(16)),
            (name, value.to_owned()),
        ]
        .into_iter()
        .collect();
        let builder = app::configure(SessionLayer::builder(KeyRing::generate()), false);
        let e = app::with_beaker(builder, &|n| vars.get(n).cloned()).unwrap_err();
        assert!(e.message().contains(name), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}
