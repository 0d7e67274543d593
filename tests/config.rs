//! `sealed_session::config` (issue 6): parsing the file (valid, each kind of invalid), the
//! environment on top of it, secrets kept out of every error and `Debug`, reloading the key
//! ring at runtime, rotating a file's keys, and a rolling rotation across two running axum
//! instances of the demo app that loses no session.
//!
//! Run with `cargo test --features config,axum --test config`.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{header, HeaderMap, HeaderValue};
use sealed_session::config::{write_atomically, Config, KeyRingReloader, Rotation};
use sealed_session::{
    CookieLifetime, ErrorKind, Key, KeyId, KeyState, ManualClock, Mode, Rejection, Reseal,
    SameSite, Sealer, SessionManager, UnixTime,
};
use serde_json::{json, Value};

#[path = "common/fixtures.rs"]
mod fixtures;

use fixtures::{key, key_base64, key_entry, T0};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A pending `[[keys.key]]` section.
fn pending(id: u32, key: &Key, at: UnixTime) -> String {
    format!("{}activates_at = \"{at}\"\n", key_entry(id, key, "pending"))
}

/// A file with one primary key and `extra` before it.
fn with_primary(extra: &str) -> String {
    format!("{extra}\n{}", key_entry(1, &key(1), "primary"))
}

fn load(toml: &str) -> Config {
    Config::loader()
        .toml(toml)
        .load()
        .unwrap_or_else(|e| panic!("{e}\n--- in ---\n{toml}"))
}

fn load_err(toml: &str) -> sealed_session::Error {
    match Config::loader().toml(toml).load() {
        Ok(c) => panic!("loaded: {c:?}\n--- from ---\n{toml}"),
        Err(e) => e,
    }
}

/// Assert the error's kind and that its message contains every fragment.
#[track_caller]
fn assert_err(e: &sealed_session::Error, kind: ErrorKind, fragments: &[&str]) {
    assert_eq!(e.kind(), kind, "{e}");
    for f in fragments {
        assert!(e.message().contains(f), "{f:?} not in {:?}", e.message());
    }
}

fn vars(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn ids(ring_keys: impl Iterator<Item = (KeyId, KeyState)>) -> Vec<(u32, KeyState)> {
    let mut v: Vec<_> = ring_keys.map(|(id, s)| (id.get(), s)).collect();
    v.sort_by_key(|(id, _)| *id);
    v
}

// ---------------------------------------------------------------------------------------------
// Valid files
// ---------------------------------------------------------------------------------------------

#[test]
fn full_file_sets_every_setting() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("k3.key"),
        format!("  {}\n", key_base64(&key(3))),
    )
    .unwrap();
    let toml = format!(
        r#"
[session]
cookie_name = "__Secure-sid"
path = "/app"
domain = "example.com"
same_site = "strict"
secure = true
http_only = false
partitioned = true
mode = "xchacha20poly1305"
also_open = ["signed-hmac-sha256"]
purpose = "login"
lifetime = "3d"
idle_timeout = "45m"
refresh_fraction = 0.5
cookie_lifetime = "30d"
chunks = 3
leeway = "5s"
delete_rejected = false

[keys]
revoke_before = "2023-11-01T00:00:00Z"
{}{}
[[keys.key]]
id = "3"
secret_file = "k3.key"
state = "pending"
activates_at = 2023-11-15T00:00:00Z
"#,
        key_entry(1, &key(1), "primary"),
        key_entry(2, &key(2), "older"),
    );
    let config = Config::loader()
        .toml(toml)
        .base_dir(dir.path())
        .load()
        .unwrap();
    assert_eq!(config.cookie_name(), "__Secure-sid");
    assert_eq!(config.mode(), Mode::XChaCha20Poly1305);
    let ring = config.key_ring();
    assert_eq!(
        ids(ring.keys()),
        vec![
            (1, KeyState::Primary),
            (2, KeyState::Older),
            (
                3,
                KeyState::Pending {
                    activates_at: UnixTime::from_secs(1_700_006_400)
                }
            ),
        ]
    );
    assert_eq!(
        ring.revoke_before(),
        Some(UnixTime::from_secs(1_698_796_800))
    );
    assert_eq!(ring.primary_id_at(T0), KeyId::new(1));
    assert_eq!(
        ring.primary_id_at(UnixTime::from_secs(1_700_006_400)),
        KeyId::new(3)
    );

    let manager = config.build_manager().unwrap();
    let policy = manager.policy();
    assert_eq!(policy.name(), "__Secure-sid");
    assert_eq!(policy.path(), "/app");
    assert_eq!(policy.domain(), Some("example.com"));
    assert_eq!(policy.same_site(), SameSite::Strict);
    assert!(policy.secure());
    assert!(!policy.http_only());
    assert!(policy.partitioned());
    assert_eq!(
        policy.lifetime(),
        CookieLifetime::Persistent(Duration::from_secs(30 * 86400))
    );
    assert_eq!(policy.max_chunks(), 3);
    let sealer = manager.sealer();
    assert_eq!(sealer.mode(), Mode::XChaCha20Poly1305);
    assert_eq!(sealer.purpose(), "login");
    assert_eq!(sealer.lifetime(), Duration::from_secs(3 * 86400));
    assert_eq!(sealer.idle_timeout(), Some(Duration::from_secs(45 * 60)));
    assert_eq!(sealer.max_token_len(), 3 * 4096);

    // also_open: a signed token under the same name and purpose opens, and is to be re-sealed.
    let signed = Sealer::builder(ring.clone(), "__Secure-sid")
        .mode(Mode::Signed)
        .purpose("login")
        .build()
        .unwrap();
    let token = signed.seal_at(T0, &json!({"a": 1})).unwrap();
    let opened = sealer.open_at::<Value>(T0, &token).unwrap();
    assert_eq!(opened.reseal(), Some(Reseal::ModeChanged));

    // delete_rejected = false: a refused cookie gets no deletion cookie.
    let mut headers = HeaderMap::new();
    headers.insert(
        header::COOKIE,
        HeaderValue::from_static("__Secure-sid=garbage"),
    );
    let session = manager.load(&headers);
    assert_eq!(session.get::<u32>("a").unwrap(), None);
    assert!(manager.finish_at(T0, &session).unwrap().is_empty());
}

#[test]
fn keys_alone_give_the_defaults() {
    let config = load(&key_entry(7, &key(7), "primary"));
    assert_eq!(config.cookie_name(), SessionManager::DEFAULT_COOKIE_NAME);
    assert_eq!(config.mode(), Mode::Aes256GcmSiv);
    assert_eq!(config.source(), None);
    let manager = config.build_manager().unwrap();
    let defaults = SessionManager::builder(config.key_ring()).build().unwrap();
    assert_eq!(format!("{manager:?}"), format!("{defaults:?}"));
}

#[test]
fn idle_timeout_off_and_other_value_forms() {
    let config = load(&with_primary(
        "[session]\nidle_timeout = \"off\"\nrefresh_fraction = 1\ncookie_lifetime = \"session\"\nchunks = 1\nsame_site = \"None\"\n",
    ));
    let manager = config.build_manager().unwrap();
    assert_eq!(manager.sealer().idle_timeout(), None);
    assert_eq!(manager.policy().lifetime(), CookieLifetime::BrowserSession);
    assert_eq!(manager.policy().chunking(), None);
    assert_eq!(manager.policy().same_site(), SameSite::None);
}

#[test]
fn times_in_every_form() {
    for (value, secs) in [
        ("\"2023-11-14T22:13:20Z\"", 1_700_000_000),
        ("\"2023-11-14T23:13:20+01:00\"", 1_700_000_000),
        ("\"2023-11-14T22:13:20.5Z\"", 1_700_000_000),
        ("2023-11-14T22:13:20Z", 1_700_000_000),
        ("2023-11-14T17:13:20-05:00", 1_700_000_000),
        ("\"@1700000000\"", 1_700_000_000),
        ("1700000000", 1_700_000_000),
    ] {
        let config = load(&with_primary(&format!("[keys]\nrevoke_before = {value}\n")));
        assert_eq!(
            config.key_ring().revoke_before(),
            Some(UnixTime::from_secs(secs)),
            "{value}"
        );
    }
}

#[test]
fn secret_file_is_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/k1"), key_base64(&key(1))).unwrap();
    let path = dir.path().join("session.toml");
    std::fs::write(
        &path,
        "[[keys.key]]\nid = \"1\"\nsecret_file = \"keys/k1\"\nstate = \"primary\"\n",
    )
    .unwrap();
    let config = Config::loader().file(&path).load().unwrap();
    assert_eq!(config.source(), Some(path.as_path()));
    assert!(config.key_ring().contains(KeyId::new(1)));
    // The key is the file's: a token sealed under the inline form of the same key opens.
    let inline = load(&key_entry(1, &key(1), "primary"))
        .build_manager()
        .unwrap();
    let token = inline.sealer().seal_at(T0, &1).unwrap();
    let from_file = config.build_manager().unwrap();
    assert_eq!(
        *from_file
            .sealer()
            .open_at::<i32>(T0, &token)
            .unwrap()
            .value(),
        1
    );
}

#[test]
fn an_id_defaults_to_the_derived_one() {
    let k = key(9);
    let config = load(&format!(
        "[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n",
        key_base64(&k)
    ));
    assert_eq!(config.key_ring().primary_id_at(T0), k.id());
}

// ---------------------------------------------------------------------------------------------
// Invalid files: each kind, named
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_fields_are_named() {
    for (toml, path) in [
        (with_primary("sesion = 1\n"), "sesion"),
        (
            with_primary("[session]\ncookie_nam = \"x\"\n"),
            "session.cookie_nam",
        ),
        (
            with_primary("[session]\nrefresh_fraktion = 0.5\n"),
            "session.refresh_fraktion",
        ),
        (with_primary("[keys]\nrevoke = 5\n"), "keys.revoke"),
        (
            format!("{}secrett = \"x\"\n", key_entry(1, &key(1), "primary")),
            "keys.key[0].secrett",
        ),
    ] {
        let e = load_err(&toml);
        assert_err(
            &e,
            ErrorKind::InvalidConfig,
            &[path, "unknown field", "expected one of"],
        );
        assert!(
            e.message().starts_with(&format!("{path}: unknown field")),
            "{e}"
        );
    }
}

#[test]
fn malformed_session_values_name_the_field() {
    for (session, fragments) in [
        (
            "lifetime = \"soon\"",
            &["session.lifetime: expected a duration"][..],
        ),
        ("lifetime = \"0s\"", &["session.lifetime: must be between"]),
        (
            "lifetime = 3600",
            &["session.lifetime: expected a string, found an integer"],
        ),
        (
            "idle_timeout = \"forever\"",
            &["session.idle_timeout", "\"off\""],
        ),
        (
            "leeway = \"2d\"",
            &["session.leeway: must be at most one day"],
        ),
        (
            "cookie_lifetime = \"500d\"",
            &["session.cookie_lifetime", "400 days"],
        ),
        (
            "mode = \"rot13\"",
            &["session.mode: unknown mode", "aes-256-gcm-siv"],
        ),
        (
            "also_open = [\"rot13\"]",
            &["session.also_open[0]: unknown mode"],
        ),
        (
            "also_open = \"signed-hmac-sha256\"",
            &["session.also_open: expected an array"],
        ),
        (
            "same_site = \"sometimes\"",
            &["session.same_site: expected \"strict\", \"lax\" or \"none\""],
        ),
        (
            "secure = \"yes\"",
            &["session.secure: expected true or false, found a string"],
        ),
        (
            "http_only = 1",
            &["session.http_only: expected true or false, found an integer"],
        ),
        ("chunks = 17", &["session.chunks: must be from 1"]),
        (
            "chunks = \"2\"",
            &["session.chunks: expected a whole number, found a string"],
        ),
        (
            "refresh_fraction = 1.5",
            &["session.refresh_fraction: must be a number from 0 to 1"],
        ),
        (
            "cookie_name = \"\"",
            &["session.cookie_name: must not be empty"],
        ),
        ("purpose = \" \"", &["session.purpose: must not be empty"]),
    ] {
        let e = load_err(&with_primary(&format!("[session]\n{session}\n")));
        assert_err(&e, ErrorKind::InvalidConfig, fragments);
    }
    let e = load_err(&with_primary("session = 5\n"));
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["session: expected a table ([session]), found an integer"],
    );
}

#[test]
fn cookie_rules_are_checked_at_load() {
    let e = load_err(&with_primary("[session]\nsecure = false\n"));
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &[
            "session.secure: a __Host- cookie requires Secure",
            "the default cookie name is __Host-session",
        ],
    );
    let e = load_err(&with_primary(
        "[session]\ncookie_name = \"id\"\nsecure = false\nsame_site = \"none\"\n",
    ));
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["session.cookie_name, session.same_site, session.secure: SameSite=None requires Secure"],
    );
    let e = load_err(&with_primary("[session]\ncookie_name = \"a;b\"\n"));
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["session.cookie_name: must be a cookie name"],
    );
}

#[test]
fn ring_problems_name_the_entry() {
    let (k1, k2, k3) = (key(1), key(2), key(3));
    let at = UnixTime::from_secs(1_800_000_000);
    let cases: Vec<(String, ErrorKind, &[&str])> = vec![
        (
            key_entry(1, &k1, "primary") + &key_entry(2, &k2, "primary"),
            ErrorKind::InvalidKeyRing,
            &["keys.key[1].state: a second primary key (keys.key[0] is primary)"],
        ),
        (
            key_entry(1, &k1, "older"),
            ErrorKind::InvalidKeyRing,
            &["keys.key: no key is primary"],
        ),
        (
            key_entry(1, &k1, "primary") + &pending(2, &k2, at) + &pending(3, &k3, at),
            ErrorKind::InvalidKeyRing,
            &["keys.key[2].state: a second pending key (keys.key[1] is pending)"],
        ),
        (
            key_entry(1, &k1, "primary") + &key_entry(1, &k2, "older"),
            ErrorKind::InvalidKeyRing,
            &["keys.key[1]: the key id 00000001 is already used by keys.key[0]"],
        ),
        (
            "[keys]\nkey = []\n".to_owned(),
            ErrorKind::InvalidKeyRing,
            &["keys.key: no keys are configured"],
        ),
        (
            "[session]\ncookie_name = \"id\"\n".to_owned(),
            ErrorKind::InvalidKeyRing,
            &["keys: no keys are configured", "SEALED_SESSION_KEYS"],
        ),
        (
            "[keys.key]\nid = \"1\"\n".to_owned(),
            ErrorKind::InvalidConfig,
            &["keys.key: expected an array of tables ([[keys.key]] sections), found a table"],
        ),
        (
            "[[keys.key]]\nid = \"1\"\nstate = \"primary\"\n".to_owned(),
            ErrorKind::InvalidKey,
            &["keys.key[0]: missing secret: set secret (base64) or secret_file"],
        ),
        (
            format!(
                "{}secret_file = \"k\"\n",
                key_entry(1, &k1, "primary")
            ),
            ErrorKind::InvalidConfig,
            &["keys.key[0]: set secret or secret_file, not both"],
        ),
        (
            "[[keys.key]]\nid = \"1\"\nsecret = \"AAECAwQFBgcICQoLDA0ODw==\"\nstate = \"primary\"\n"
                .to_owned(),
            ErrorKind::InvalidKey,
            &["keys.key[0].secret: the secret is 16 bytes; at least 32"],
        ),
        (
            "[[keys.key]]\nid = \"1\"\nsecret = \"not base64!\"\nstate = \"primary\"\n".to_owned(),
            ErrorKind::InvalidKey,
            &["keys.key[0].secret: the secret is not valid base64"],
        ),
        (
            "[[keys.key]]\nid = \"1\"\nsecret = 12\nstate = \"primary\"\n".to_owned(),
            ErrorKind::InvalidConfig,
            &["keys.key[0].secret: expected a string (the secret in base64), found an integer"],
        ),
        (
            "[[keys.key]]\nid = \"1\"\nsecret_file = \"/nonexistent/sealed-session/k1\"\nstate = \"primary\"\n"
                .to_owned(),
            ErrorKind::InvalidConfig,
            &["keys.key[0].secret_file: cannot read the file it names"],
        ),
        (
            key_entry(1, &k1, "primary").replace("id = \"00000001\"", "id = \"key-one\""),
            ErrorKind::InvalidConfig,
            &["keys.key[0].id: a key id is eight hex digits"],
        ),
        (
            key_entry(1, &k1, "primary").replace("id = \"00000001\"", "id = 1"),
            ErrorKind::InvalidConfig,
            &["keys.key[0].id: expected a string", "found an integer"],
        ),
        (
            key_entry(1, &k1, "primary").replace("state = \"primary\"\n", ""),
            ErrorKind::InvalidConfig,
            &["keys.key[0].state: missing"],
        ),
        (
            key_entry(1, &k1, "primary").replace("\"primary\"", "\"main\""),
            ErrorKind::InvalidConfig,
            &["keys.key[0].state: expected \"primary\", \"older\" or \"pending\""],
        ),
        (
            key_entry(1, &k1, "primary") + &key_entry(2, &k2, "pending"),
            ErrorKind::InvalidConfig,
            &["keys.key[1].activates_at: missing: a pending key needs the time"],
        ),
        (
            format!("{}activates_at = \"2030-01-01T00:00:00Z\"\n", key_entry(1, &k1, "primary")),
            ErrorKind::InvalidConfig,
            &["keys.key[0].activates_at: only a pending key has an activation time"],
        ),
        (
            format!("{}retired_at = \"2030-01-01T00:00:00Z\"\n", key_entry(1, &k1, "primary")),
            ErrorKind::InvalidConfig,
            &["keys.key[0].retired_at: only an older key has a retirement time"],
        ),
        (
            "[[keys.key]]\n".to_owned() + "[[keys]]\n",
            ErrorKind::InvalidConfig,
            &["TOML syntax error at line 2"],
        ),
    ];
    for (toml, kind, fragments) in cases {
        let e = load_err(&toml);
        assert_err(&e, kind, fragments);
    }
}

#[test]
fn bad_times_name_the_field() {
    for bad in [
        "\"2023-13-01T00:00:00Z\"",
        "\"2023-02-30T00:00:00Z\"",
        "\"2023-11-14T22:13:20\"",
        "\"2023-11-14\"",
        "\"tomorrow\"",
        "\"2023-11-14T25:00:00Z\"",
        "2023-11-14T22:13:20",
        "2023-11-14",
        "-5",
        "true",
    ] {
        let e = load_err(&with_primary(&format!("[keys]\nrevoke_before = {bad}\n")));
        assert_err(&e, ErrorKind::InvalidConfig, &["keys.revoke_before: "]);
        let e = load_err(&format!(
            "{}{}activates_at = {bad}\n",
            key_entry(1, &key(1), "primary"),
            key_entry(2, &key(2), "pending")
        ));
        assert_err(
            &e,
            ErrorKind::InvalidConfig,
            &["keys.key[1].activates_at: "],
        );
    }
    let e = load_err(&with_primary(
        "[keys]\nrevoke_before = \"2023-02-30T00:00:00Z\"\n",
    ));
    assert_err(&e, ErrorKind::InvalidConfig, &["RFC 3339"]);
}

#[test]
fn syntax_errors_give_line_and_column() {
    let e = load_err("[session]\ncookie_name = \"id\"\nsecure = tru\n");
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["TOML syntax error at line 3, column 10"],
    );
    let e = load_err("[session]\ncookie_name = \"a\"\ncookie_name = \"b\"\n");
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["TOML syntax error at line 3", "cookie_name"],
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let e = Config::load("/nonexistent/sealed-session.toml").unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["/nonexistent/sealed-session.toml: cannot read"],
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, "[session]\nmode = \"rot13\"\n").unwrap();
    let e = Config::loader().file(&path).load().unwrap_err();
    assert!(
        e.message()
            .starts_with(&format!("{}: session.mode: unknown mode", path.display())),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------------------------

#[test]
fn environment_overrides_the_file() {
    let file = format!(
        "[session]\ncookie_name = \"file\"\nsecure = true\nlifetime = \"7d\"\nmode = \"aes-256-gcm\"\npurpose = \"p\"\n\n[keys]\nrevoke_before = \"@100\"\n{}",
        key_entry(1, &key(1), "primary")
    );
    let at = UnixTime::from_secs(1_800_000_000);
    let env = vars(&[
        ("SEALED_SESSION_COOKIE_NAME", "env".to_owned()),
        ("SEALED_SESSION_SECURE", "false".to_owned()),
        ("SEALED_SESSION_LIFETIME", "1d".to_owned()),
        ("SEALED_SESSION_IDLE_TIMEOUT", "off".to_owned()),
        ("SEALED_SESSION_MODE", "xchacha20poly1305".to_owned()),
        (
            "SEALED_SESSION_ALSO_OPEN",
            "aes-256-gcm, signed-hmac-sha256".to_owned(),
        ),
        (
            "SEALED_SESSION_KEYS",
            format!(
                "2:{},3:{}@{at},1:{}",
                key_base64(&key(2)),
                key_base64(&key(3)),
                key_base64(&key(1))
            ),
        ),
        (
            "SEALED_SESSION_REVOKE_BEFORE",
            "2023-11-14T22:13:20Z".to_owned(),
        ),
        ("SEALED_SESSION_PATH", "   ".to_owned()), // empty: unset
        ("HOME", "/root".to_owned()),              // not ours
    ]);
    let config = Config::loader()
        .toml(file.clone())
        .env_vars(env)
        .load()
        .unwrap();
    assert_eq!(config.cookie_name(), "env");
    assert_eq!(config.mode(), Mode::XChaCha20Poly1305);
    assert_eq!(
        ids(config.key_ring().keys()),
        vec![
            (1, KeyState::Older),
            (2, KeyState::Primary),
            (3, KeyState::Pending { activates_at: at }),
        ]
    );
    assert_eq!(config.key_ring().revoke_before(), Some(T0));
    let manager = config.build_manager().unwrap();
    assert!(!manager.policy().secure());
    assert_eq!(manager.policy().path(), "/");
    assert_eq!(manager.sealer().lifetime(), Duration::from_secs(86400));
    assert_eq!(manager.sealer().idle_timeout(), None);
    assert_eq!(
        manager.sealer().purpose(),
        "p",
        "the file's value where env is silent"
    );

    // Without the environment, the file's values.
    let plain = load(&file);
    assert_eq!(plain.cookie_name(), "file");
    assert_eq!(
        plain.key_ring().revoke_before(),
        Some(UnixTime::from_secs(100))
    );
}

#[test]
fn environment_errors_name_the_variable() {
    let file = with_primary("");
    for (name, value, kind, fragment) in [
        (
            "SEALED_SESSION_SECURE",
            "maybe".to_owned(),
            ErrorKind::InvalidConfig,
            "SEALED_SESSION_SECURE: expected true or false (also 1/0, yes/no, on/off; any case)",
        ),
        (
            "SEALED_SESSION_LIFETIME",
            "long".to_owned(),
            ErrorKind::InvalidConfig,
            "SEALED_SESSION_LIFETIME: expected a duration",
        ),
        (
            "SEALED_SESSION_MODE",
            "rot13".to_owned(),
            ErrorKind::InvalidConfig,
            "SEALED_SESSION_MODE: unknown mode",
        ),
        (
            "SEALED_SESSION_CHUNKS",
            "many".to_owned(),
            ErrorKind::InvalidConfig,
            "SEALED_SESSION_CHUNKS: expected a whole number",
        ),
        (
            "SEALED_SESSION_REVOKE_BEFORE",
            "yesterday".to_owned(),
            ErrorKind::InvalidConfig,
            "SEALED_SESSION_REVOKE_BEFORE: expected an RFC 3339 time",
        ),
        (
            "SEALED_SESSION_COOKIENAME",
            "x".to_owned(),
            ErrorKind::InvalidConfig,
            "SEALED_SESSION_COOKIENAME: unknown variable; the known ones are SEALED_SESSION_CONFIG",
        ),
        (
            "SEALED_SESSION_KEYS",
            "1".to_owned(),
            ErrorKind::InvalidKey,
            "SEALED_SESSION_KEYS[0]: expected id:secret",
        ),
        (
            "SEALED_SESSION_KEYS",
            format!("1:{},x:{}", key_base64(&key(1)), key_base64(&key(2))),
            ErrorKind::InvalidKey,
            "SEALED_SESSION_KEYS[1]: a key id is",
        ),
        (
            "SEALED_SESSION_KEYS",
            "1:AAECAwQFBgcICQoLDA0ODw==".to_owned(),
            ErrorKind::InvalidKey,
            "SEALED_SESSION_KEYS[0]: the secret is 16 bytes",
        ),
        (
            "SEALED_SESSION_KEYS",
            format!("1:{}@soon", key_base64(&key(1))),
            ErrorKind::InvalidConfig,
            "SEALED_SESSION_KEYS[0]: the activation time",
        ),
        (
            "SEALED_SESSION_KEYS",
            format!("1:{}@2030-01-01T00:00:00Z", key_base64(&key(1))),
            ErrorKind::InvalidKeyRing,
            "SEALED_SESSION_KEYS: no key is primary",
        ),
        (
            "SEALED_SESSION_KEYS",
            format!("1:{},1:{}", key_base64(&key(1)), key_base64(&key(2))),
            ErrorKind::InvalidKeyRing,
            "SEALED_SESSION_KEYS[1]: the key id 00000001 is already used by SEALED_SESSION_KEYS[0]",
        ),
    ] {
        let e = Config::loader()
            .toml(file.clone())
            .env_vars(vars(&[(name, value)]))
            .load()
            .unwrap_err();
        assert_err(&e, kind, &[fragment]);
    }
    let e = Config::loader()
        .toml(file)
        .env_vars(vars(&[
            ("SEALED_SESSION_KEYS", format!("1:{}", key_base64(&key(1)))),
            ("SEALED_SESSION_KEYS_FILE", "/k".to_owned()),
        ]))
        .load()
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["SEALED_SESSION_KEYS and SEALED_SESSION_KEYS_FILE are both set"],
    );
}

#[test]
fn environment_alone_and_the_keys_file() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("keys");
    std::fs::write(
        &list,
        format!(
            "# current\n5:{}\n# previous\n4:{}\n",
            key_base64(&key(5)),
            key_base64(&key(4))
        ),
    )
    .unwrap();
    let config = Config::loader()
        .env_vars(vars(&[
            ("SEALED_SESSION_KEYS_FILE", list.display().to_string()),
            ("SEALED_SESSION_COOKIE_NAME", "sid".to_owned()),
        ]))
        .load()
        .unwrap();
    assert_eq!(
        ids(config.key_ring().keys()),
        vec![(4, KeyState::Older), (5, KeyState::Primary)]
    );
    assert_eq!(config.cookie_name(), "sid");

    // SEALED_SESSION_CONFIG names the file when the loader is given none.
    let path = dir.path().join("session.toml");
    std::fs::write(
        &path,
        with_primary("[session]\ncookie_name = \"from-file\"\n"),
    )
    .unwrap();
    let config = Config::loader()
        .env_vars(vars(&[(
            "SEALED_SESSION_CONFIG",
            path.display().to_string(),
        )]))
        .load()
        .unwrap();
    assert_eq!(config.cookie_name(), "from-file");
    assert_eq!(config.source(), Some(path.as_path()));

    let e = Config::loader()
        .env_vars(vars(&[(
            "SEALED_SESSION_KEYS_FILE",
            "/nonexistent/keys".to_owned(),
        )]))
        .load()
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["SEALED_SESSION_KEYS_FILE: cannot read the file it names"],
    );
    let e = Config::loader().load().unwrap_err();
    assert_err(&e, ErrorKind::InvalidKeyRing, &["no keys are configured"]);
}

// ---------------------------------------------------------------------------------------------
// Secrets stay out of errors and Debug
// ---------------------------------------------------------------------------------------------

/// A base64 string that is a plausible secret; it must never show up in any message.
const MARK: &str = "U2VjcmV0TWFya2VyVGhhdE11c3ROb3RMZWFrIQ";

#[track_caller]
fn assert_no_mark(text: &str) {
    assert!(!text.contains(MARK), "secret leaked: {text}");
    assert!(!text.contains(&MARK[..12]), "secret prefix leaked: {text}");
    assert!(
        !text.contains(&MARK[MARK.len() - 12..]),
        "secret suffix leaked: {text}"
    );
}

#[test]
fn secrets_never_appear_in_errors() {
    let k = key_entry(1, &key(1), "primary");
    let toml_cases = [
        // Malformed secrets.
        format!("[[keys.key]]\nid = \"1\"\nsecret = \"{MARK}\"\nstate = \"primary\"\n"),
        format!("[[keys.key]]\nid = \"1\"\nsecret = \"{MARK}!\"\nstate = \"primary\"\n"),
        format!(
            "[[keys.key]]\nid = \"1\"\nsecret = \"{}\"\nstate = \"primary\"\n",
            &MARK[..20]
        ),
        // A secret of the wrong type, or in the wrong field.
        format!("[[keys.key]]\nid = \"1\"\nsecret = [\"{MARK}\"]\nstate = \"primary\"\n"),
        format!(
            "[[keys.key]]\nid = \"1\"\nsecret = {{ value = \"{MARK}\" }}\nstate = \"primary\"\n"
        ),
        format!(
            "[[keys.key]]\nid = \"{MARK}\"\nsecret = \"{}\"\nstate = \"primary\"\n",
            key_base64(&key(1))
        ),
        format!(
            "[[keys.key]]\nid = \"1\"\nsecret = \"{}\"\nstate = \"{MARK}\"\n",
            key_base64(&key(1))
        ),
        format!("[session]\nmode = \"{MARK}\"\n{k}"),
        format!("[session]\nlifetime = \"{MARK}\"\n{k}"),
        format!("[session]\ncookie_lifetime = \"{MARK}\"\n{k}"),
        format!("[session]\nsame_site = \"{MARK}\"\n{k}"),
        format!("[keys]\nrevoke_before = \"{MARK}\"\n{k}"),
        format!("[session]\n{MARK} = \"x\"\n{k}"),
        format!("[session]\n\"{MARK}\" = \"x\"\n{k}"),
        // Syntax errors on a secret's line.
        format!("[[keys.key]]\nid = \"1\"\nsecret = \"{MARK}\nstate = \"primary\"\n"),
        format!("[[keys.key]]\nid = \"1\"\nsecret = {MARK}\nstate = \"primary\"\n"),
        format!("[[keys.key]]\nid = \"1\"\nsecret = '{MARK}\nstate = \"primary\"\n"),
        format!("[[keys.key]]\nid = \"1\"\nsecret = \"{MARK}\"\nsecret = \"{MARK}\"\n"),
        format!("[[keys.key]]\nid = \"1\"\n{MARK}\n"),
        MARK.to_owned(),
    ];
    for toml in &toml_cases {
        let e = load_err(toml);
        assert_no_mark(&e.to_string());
        assert_no_mark(&format!("{e:?}"));
    }

    // A secret file holding something that is not a key.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k"), &MARK[..20]).unwrap();
    let e = Config::loader()
        .toml("[[keys.key]]\nid = \"1\"\nsecret_file = \"k\"\nstate = \"primary\"\n")
        .base_dir(dir.path())
        .load()
        .unwrap_err();
    assert_err(&e, ErrorKind::InvalidKey, &["keys.key[0].secret_file"]);
    assert_no_mark(&e.to_string());

    // The environment.
    for (name, value) in [
        ("SEALED_SESSION_KEYS", format!("1:{MARK}")),
        ("SEALED_SESSION_KEYS", format!("1:{}", &MARK[..20])),
        ("SEALED_SESSION_KEYS", MARK.to_owned()),
        (
            "SEALED_SESSION_KEYS",
            format!("{MARK}:{}", key_base64(&key(1))),
        ),
        (
            "SEALED_SESSION_KEYS",
            format!("1:{}@{MARK}", key_base64(&key(1))),
        ),
        ("SEALED_SESSION_SECURE", MARK.to_owned()),
        ("SEALED_SESSION_MODE", MARK.to_owned()),
        ("SEALED_SESSION_REVOKE_BEFORE", MARK.to_owned()),
        (&format!("SEALED_SESSION_{MARK}") as &str, "x".to_owned()),
    ] {
        let e = Config::loader()
            .toml(k.clone())
            .env_vars(vars(&[(name, value)]))
            .load()
            .unwrap_err();
        assert_no_mark(&e.to_string());
    }
}

/// The `[session]` table and the variables are read through serde (`SessionSettings`): a value
/// of the wrong type is reported by where it is and what kind of value it is, never by the value
/// (serde's and `toml`'s own messages quote it), and an unknown key names the key.
#[test]
fn serde_settings_errors_name_the_key_never_the_value() {
    const DIGITS: &str = "918273645546372819";
    let cases: [(String, &[&str]); 10] = [
        // A key-like string where a number or a boolean is expected.
        (
            format!("chunks = \"{MARK}\""),
            &["session.chunks: expected a whole number, found a string"],
        ),
        (
            format!("refresh_fraction = \"{MARK}\""),
            &["session.refresh_fraction: expected a number from 0 to 1, found a string"],
        ),
        (
            format!("partitioned = \"{MARK}\""),
            &["session.partitioned: expected true or false, found a string"],
        ),
        (
            format!("also_open = [\"aes-256-gcm\", \"{MARK}\"]"),
            &["session.also_open[1]: unknown mode"],
        ),
        (
            format!("also_open = [\"aes-256-gcm\", {DIGITS}]"),
            &["session.also_open[1]: expected a string, found an integer"],
        ),
        // A number where a string is expected.
        (
            format!("cookie_name = {DIGITS}"),
            &["session.cookie_name: expected a string, found an integer"],
        ),
        (
            format!("purpose = {DIGITS}.5"),
            &["session.purpose: expected a string, found a float"],
        ),
        (
            format!("domain = {{ secret = \"{MARK}\" }}"),
            &["session.domain: expected a string, found a table"],
        ),
        (
            "lifetime = 2023-11-14T22:13:20Z".to_owned(),
            &["session.lifetime: expected a string, found a date-time"],
        ),
        (
            "secure_cookie = true".to_owned(),
            &[
                "session.secure_cookie: unknown field; expected one of cookie_name, path, domain, \
                 same_site, secure, http_only, partitioned, mode, also_open, purpose, lifetime, \
                 idle_timeout, refresh_fraction, cookie_lifetime, chunks, leeway, delete_rejected",
            ],
        ),
    ];
    for (line, fragments) in cases {
        let e = load_err(&with_primary(&format!("[session]\n{line}\n")));
        assert_err(&e, ErrorKind::InvalidConfig, fragments);
        for text in [e.to_string(), format!("{e:?}")] {
            assert_no_mark(&text);
            assert!(!text.contains(&DIGITS[..8]), "{text}");
            assert!(!text.contains("2023"), "{text}");
        }
    }
    // The key table is walked by hand, with the same rule.
    let e = load_err(&format!(
        "[[keys.key]]\nid = \"1\"\nsecret = {DIGITS}\nstate = \"primary\"\n"
    ));
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["keys.key[0].secret: expected a string (the secret in base64), found an integer"],
    );
    assert!(!e.to_string().contains(&DIGITS[..8]), "{e}");

    // The environment: the same reader, every value text, named by the variable.
    let k = key_entry(1, &key(1), "primary");
    for (name, value, fragment) in [
        (
            "SEALED_SESSION_CHUNKS",
            MARK.to_owned(),
            "expected a whole number",
        ),
        (
            "SEALED_SESSION_REFRESH_FRACTION",
            MARK.to_owned(),
            "expected a number",
        ),
        (
            "SEALED_SESSION_PARTITIONED",
            MARK.to_owned(),
            "expected true or false",
        ),
        (
            "SEALED_SESSION_ALSO_OPEN",
            format!("aes-256-gcm, {MARK}"),
            "unknown mode",
        ),
        (
            "SEALED_SESSION_LIFETIME",
            DIGITS.to_owned(),
            "expected a duration",
        ),
    ] {
        let e = Config::loader()
            .toml(k.clone())
            .env_vars(vars(&[(name, value)]))
            .load()
            .unwrap_err();
        assert_err(
            &e,
            ErrorKind::InvalidConfig,
            &[&format!("{name}: {fragment}")],
        );
        assert_no_mark(&e.to_string());
        assert!(!e.to_string().contains(&DIGITS[..8]), "{e}");
    }
}

/// A TOML syntax error is reported by line and column: `toml`'s own rendering, which prints the
/// offending source line under the message, is not used, so a secret on that line stays out.
#[test]
fn syntax_errors_do_not_echo_the_line() {
    for line in [
        format!("purpose = {MARK}"),
        format!("cookie_name = \"{MARK}"),
        format!("cookie_name = '{MARK}"),
        format!("domain = \"{MARK}\" x"),
        MARK.to_owned(),
    ] {
        let e = load_err(&with_primary(&format!("[session]\n{line}\n")));
        assert_err(
            &e,
            ErrorKind::InvalidConfig,
            &["TOML syntax error at line 2"],
        );
        for text in [e.to_string(), format!("{e:?}")] {
            assert_no_mark(&text);
            assert!(!text.contains(&line), "{text}");
            assert!(!text.contains(" = "), "the line is echoed: {text}");
            assert!(!text.contains('|'), "a source snippet is printed: {text}");
        }
    }
}

#[test]
fn debug_never_prints_secrets() {
    let (k1, k2) = (key(1), key(2));
    let env_key = key(3);
    let toml = key_entry(1, &k1, "primary") + &key_entry(2, &k2, "older");
    let config = Config::loader()
        .toml(toml.clone())
        .env_vars(vars(&[
            ("SEALED_SESSION_KEYS", format!("3:{}", key_base64(&env_key))),
            ("SEALED_SESSION_COOKIE_NAME", "sid".to_owned()),
        ]))
        .load()
        .unwrap();
    let loader = Config::loader().toml(toml.clone()).env_vars(vars(&[(
        "SEALED_SESSION_KEYS",
        format!("3:{}", key_base64(&env_key)),
    )]));
    let reloader = KeyRingReloader::new(&config);
    let rotation = Rotation::immediate(key(4));
    let rotated = rotation.apply(&toml, Path::new("."), T0).unwrap();
    let texts = [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{loader:?}"),
        format!("{reloader:?}"),
        format!("{rotation:?}"),
        format!("{rotated:?}"),
    ];
    for text in &texts {
        for k in [&k1, &k2, &env_key, &key(4)] {
            let secret = key_base64(k);
            assert!(!text.contains(&secret), "{text}");
            assert!(!text.contains(&secret[..16]), "{text}");
        }
    }
    assert!(
        texts[0].contains("SEALED_SESSION_KEYS"),
        "names are shown: {}",
        texts[0]
    );
    assert!(texts[0].contains("00000003"), "ids are shown: {}", texts[0]);
    assert!(
        rotated.text().contains(&key_base64(&key(4))),
        "the text itself holds the new secret"
    );
}

// ---------------------------------------------------------------------------------------------
// Reloading
// ---------------------------------------------------------------------------------------------

#[test]
fn reload_swaps_the_ring_of_every_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.toml");
    let (k1, k2) = (key(1), key(2));
    let session = "[session]\ncookie_name = \"sid\"\n";
    std::fs::write(&path, format!("{session}{}", key_entry(1, &k1, "primary"))).unwrap();

    let config = Config::loader().file(&path).load().unwrap();
    let manager = config.build_manager().unwrap();
    let sealer = Sealer::builder(config.key_ring(), "other").build().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let reloader = KeyRingReloader::new(&config)
        .with_manager(manager.clone())
        .with_sealer(sealer.clone())
        .with_callback(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
    assert!(!reloader.reload_if_changed().unwrap(), "nothing changed");

    // Another instance already seals under k2.
    let new_config = load(&format!(
        "{session}{}{}",
        key_entry(2, &k2, "primary"),
        key_entry(1, &k1, "older")
    ));
    let other = new_config.build_manager().unwrap();
    let under_k2 = other.sealer().seal_at(T0, &json!({"n": 2})).unwrap();
    let under_k1 = manager.sealer().seal_at(T0, &json!({"n": 1})).unwrap();
    assert_eq!(
        manager
            .sealer()
            .open_at::<Value>(T0, &under_k2)
            .unwrap_err(),
        Rejection::UnknownKey
    );

    // The file gains k2 as primary: after the reload both tokens open, k1's to be re-sealed.
    std::fs::write(
        &path,
        format!(
            "{session}{}{}",
            key_entry(2, &k2, "primary"),
            key_entry(1, &k1, "older")
        ),
    )
    .unwrap();
    assert!(reloader.reload_if_changed().unwrap());
    assert!(!reloader.reload_if_changed().unwrap(), "applied once");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let opened = manager.sealer().open_at::<Value>(T0, &under_k2).unwrap();
    assert_eq!(opened.value()["n"], 2);
    let opened = manager.sealer().open_at::<Value>(T0, &under_k1).unwrap();
    assert_eq!(opened.reseal(), Some(Reseal::RotatedKey));
    assert!(sealer.ring().contains(KeyId::new(2)));
    assert_eq!(
        manager
            .sealer()
            .open_at::<Value>(T0, &manager.sealer().seal_at(T0, &1).unwrap())
            .unwrap()
            .meta()
            .key_id(),
        KeyId::new(2)
    );

    // k1 removed: its tokens are unknown now.
    std::fs::write(&path, format!("{session}{}", key_entry(2, &k2, "primary"))).unwrap();
    assert!(reloader.reload_if_changed().unwrap());
    assert_eq!(
        manager
            .sealer()
            .open_at::<Value>(T0, &under_k1)
            .unwrap_err(),
        Rejection::UnknownKey
    );

    // A broken file: an error, and the ring in place stays.
    std::fs::write(&path, format!("{session}{}", key_entry(2, &k2, "older"))).unwrap();
    let e = reloader.reload_if_changed().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKeyRing);
    assert!(e.message().starts_with(&path.display().to_string()), "{e}");
    assert!(manager.sealer().open_at::<Value>(T0, &under_k2).is_ok());

    // `reload` swaps even when nothing changed.
    std::fs::write(&path, format!("{session}{}", key_entry(2, &k2, "primary"))).unwrap();
    let ring = reloader.reload().unwrap();
    assert_eq!(ring.primary_id_at(T0), KeyId::new(2));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[test]
fn reload_sees_a_replaced_secret_file_and_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.toml");
    std::fs::write(dir.path().join("k"), key_base64(&key(1))).unwrap();
    let keys = "[[keys.key]]\nid = \"1\"\nsecret_file = \"k\"\nstate = \"primary\"\n";
    std::fs::write(&path, keys).unwrap();
    let config = Config::load(&path).unwrap();
    let manager = config.build_manager().unwrap();
    let reloader = KeyRingReloader::new(&config).with_manager(manager.clone());
    let token = manager.sealer().seal_at(T0, &1).unwrap();

    std::fs::write(dir.path().join("k"), key_base64(&key(2))).unwrap();
    assert!(reloader.reload_if_changed().unwrap(), "same id, new secret");
    assert_eq!(
        manager.sealer().open_at::<i32>(T0, &token).unwrap_err(),
        Rejection::BadTag
    );

    std::fs::write(dir.path().join("k"), key_base64(&key(1))).unwrap();
    std::fs::write(
        &path,
        format!("[keys]\nrevoke_before = \"@{}\"\n{keys}", T0.as_secs() + 1),
    )
    .unwrap();
    assert!(reloader.reload_if_changed().unwrap(), "a new cutoff");
    assert_eq!(
        manager.sealer().open_at::<i32>(T0, &token).unwrap_err(),
        Rejection::Revoked
    );
}

#[test]
fn settings_changes_alone_do_not_swap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.toml");
    std::fs::write(&path, with_primary("")).unwrap();
    let config = Config::load(&path).unwrap();
    let reloader = KeyRingReloader::new(&config);
    std::fs::write(
        &path,
        with_primary("# a comment\n[session]\nlifetime = \"1d\"\n"),
    )
    .unwrap();
    assert!(
        !reloader.reload_if_changed().unwrap(),
        "only keys are reloaded"
    );
}

#[test]
fn the_poller_picks_up_a_change_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.toml");
    std::fs::write(&path, with_primary("")).unwrap();
    let config = Config::load(&path).unwrap();
    let manager = config.build_manager().unwrap();
    let poller = KeyRingReloader::new(&config)
        .with_manager(manager.clone())
        .spawn_poller(Duration::from_millis(20))
        .unwrap();
    let k2 = key(2);
    write_atomically(
        &path,
        format!(
            "{}{}",
            key_entry(2, &k2, "primary"),
            key_entry(1, &key(1), "older")
        )
        .as_bytes(),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !manager.sealer().ring().contains(KeyId::new(2)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the poller never reloaded"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    poller.stop();
    // Stopped: later changes are not picked up.
    std::fs::write(&path, with_primary("")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(manager.sealer().ring().contains(KeyId::new(2)));
}

// ---------------------------------------------------------------------------------------------
// Rotating a file
// ---------------------------------------------------------------------------------------------

fn rotate(
    text: &str,
    rotation: &Rotation,
    now: UnixTime,
) -> (String, sealed_session::config::RotationReport) {
    let rotated = rotation.apply(text, Path::new("."), now).unwrap();
    (rotated.text().to_owned(), rotated.report().clone())
}

fn states_of(text: &str) -> Vec<(u32, KeyState)> {
    load(text)
        .key_ring()
        .keys()
        .map(|(id, s)| (id.get(), s))
        .collect::<Vec<_>>()
}

#[test]
fn rotation_to_pending_keeps_every_key() {
    let text = format!(
        "[session]\ncookie_name = \"sid\" # comments go\nlifetime = \"1d\"\n\n[keys]\nrevoke_before = 2023-01-01T00:00:00Z\n{}{}{}",
        key_entry(3, &key(3), "older"),
        key_entry(1, &key(1), "primary"),
        key_entry(2, &key(2), "older"),
    );
    let at = T0.checked_add(Duration::from_secs(3600)).unwrap();
    let new = key(9).with_id(KeyId::new(9));
    let (out, report) = rotate(&text, &Rotation::pending(new.clone(), at), T0);
    assert_eq!(report.added(), KeyId::new(9));
    assert_eq!(report.added_state(), KeyState::Pending { activates_at: at });
    assert_eq!(report.promoted(), None);
    assert!(report.demoted().is_empty());
    assert!(report.dropped().is_empty());
    assert_eq!(
        report.keys_summary(),
        "00000009=pending 00000001=primary 00000003=older 00000002=older"
    );
    let mut states = states_of(&out);
    states.sort_by_key(|(id, _)| *id);
    assert_eq!(
        states,
        vec![
            (1, KeyState::Primary),
            (2, KeyState::Older),
            (3, KeyState::Older),
            (9, KeyState::Pending { activates_at: at }),
        ]
    );
    let config = load(&out);
    assert_eq!(config.cookie_name(), "sid");
    assert_eq!(
        config.build_manager().unwrap().sealer().lifetime(),
        Duration::from_secs(86400)
    );
    assert_eq!(
        config.key_ring().revoke_before(),
        Some(UnixTime::from_secs(1_672_531_200))
    );
    assert!(out.contains(&key_base64(&new)));
    assert!(!out.contains("comments go"));
    // Every other key is byte-for-byte the same secret.
    for k in [key(1), key(2), key(3)] {
        assert!(out.contains(&key_base64(&k)));
    }
}

#[test]
fn rotation_promotes_an_activated_pending_key_and_refuses_a_waiting_one() {
    let at = T0.checked_add(Duration::from_secs(600)).unwrap();
    let text = format!(
        "{}{}{}",
        key_entry(1, &key(1), "primary"),
        pending(2, &key(2), at),
        key_entry(0, &key(0), "older"),
    );
    // Still waiting: refused, nothing to write.
    let e = Rotation::pending(key(3), at.checked_add(Duration::from_secs(3600)).unwrap())
        .apply(&text, Path::new("."), T0)
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &[
            "keys.key[1]: the key 00000002 is pending until",
            "a rotation is already in progress",
        ],
    );
    let e = Rotation::immediate(key(3))
        .apply(&text, Path::new("."), T0)
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["a rotation is already in progress"],
    );

    // Its time has come: written as primary, the old primary demoted with retired_at.
    let later = at.checked_add(Duration::from_secs(60)).unwrap();
    let new_at = later.checked_add(Duration::from_secs(3600)).unwrap();
    let (out, report) = rotate(
        &text,
        &Rotation::pending(key(3).with_id(KeyId::new(3)), new_at),
        later,
    );
    assert_eq!(report.promoted(), Some(KeyId::new(2)));
    assert_eq!(report.demoted(), &[KeyId::new(1)]);
    assert_eq!(
        report.keys_summary(),
        "00000003=pending 00000002=primary 00000001=older 00000000=older"
    );
    assert!(out.contains(&format!("retired_at = \"{at}\"")), "{out}");
}

#[test]
fn rotation_now_demotes_and_retention_drops_only_the_least_recent() {
    let day = Duration::from_secs(86400);
    let text = format!(
        "[session]\nlifetime = \"7d\"\n{}{}retired_at = \"{}\"\n{}retired_at = \"{}\"\n{}",
        key_entry(1, &key(1), "primary"),
        key_entry(2, &key(2), "older"),
        T0.checked_sub(day).unwrap(),
        key_entry(3, &key(3), "older"),
        T0.checked_sub(day * 30).unwrap(),
        key_entry(4, &key(4), "older"), // no retired_at: unknown
    );
    let (out, report) = rotate(
        &text,
        &Rotation::immediate(key(5).with_id(KeyId::new(5))).retain(2),
        T0,
    );
    assert_eq!(report.demoted(), &[KeyId::new(1)]);
    assert_eq!(report.dropped(), &[KeyId::new(3), KeyId::new(4)]);
    assert_eq!(
        report.dropped_early(),
        &[KeyId::new(4)],
        "3 retired 30 days ago; 4 unknown"
    );
    assert_eq!(
        report.keys_summary(),
        "00000005=primary 00000001=older 00000002=older"
    );
    assert!(out.contains(&format!("retired_at = \"{T0}\"")));
    let config = load(&out);
    assert_eq!(config.key_ring().primary_id_at(T0), KeyId::new(5));
    assert!(!config.key_ring().contains(KeyId::new(3)));

    // retain(0) drops every older key, never the primary or the new key.
    let (out, report) = rotate(
        &out,
        &Rotation::immediate(key(6).with_id(KeyId::new(6))).retain(0),
        T0,
    );
    assert_eq!(
        report.dropped(),
        &[KeyId::new(5), KeyId::new(1), KeyId::new(2)]
    );
    assert_eq!(
        report.dropped_early(),
        &[KeyId::new(5), KeyId::new(1), KeyId::new(2)]
    );
    assert_eq!(states_of(&out), vec![(6, KeyState::Primary)]);
}

#[test]
fn rotation_keeps_secret_file_references() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k1"), key_base64(&key(1))).unwrap();
    let text = "[[keys.key]]\nid = \"1\"\nsecret_file = \"k1\"\nstate = \"primary\"\n";
    let rotated = Rotation::immediate(key(2))
        .apply(text, dir.path(), T0)
        .unwrap();
    assert!(rotated.text().contains("secret_file = \"k1\""));
    assert!(!rotated.text().contains(&key_base64(&key(1))));
    // Without the secret file the starting point does not load: refused.
    let e = Rotation::immediate(key(2))
        .apply(text, Path::new("/nonexistent"), T0)
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["keys.key[0].secret_file: cannot read"],
    );
}

#[test]
fn rotation_refuses_what_it_cannot_do() {
    let text = key_entry(1, &key(1), "primary");
    let e = Rotation::immediate(key(2).with_id(KeyId::new(1)))
        .apply(&text, Path::new("."), T0)
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["a key with the id 00000001 is already in the file"],
    );
    let e = Rotation::pending(key(2), T0)
        .apply(&text, Path::new("."), T0)
        .unwrap_err();
    assert_err(&e, ErrorKind::InvalidConfig, &["is not after now"]);
    let e = Rotation::immediate(key(2))
        .apply("[session]\ncookie_name = \"sid\"\n", Path::new("."), T0)
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["keys.key: the file has no [[keys.key]] sections"],
    );
    let e = Rotation::immediate(key(2))
        .apply(&format!("{text}bogus = 1\n"), Path::new("."), T0)
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["keys.key[0].bogus: unknown field"],
    );
}

#[test]
fn write_atomically_keeps_the_permissions_but_never_for_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.toml");
    std::fs::write(&path, "old").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    write_atomically(&path, b"new").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // The group keeps its access; others lose theirs.
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomically(&path, b"newer").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A new file is owner-only.
        let fresh = dir.path().join("fresh.toml");
        write_atomically(&fresh, b"x").unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_file(&fresh).unwrap();
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("session.toml")]);
    assert!(write_atomically(&dir.path().join("missing/dir/f"), b"x").is_err());
}

// ---------------------------------------------------------------------------------------------
// A rolling rotation across two running instances
// ---------------------------------------------------------------------------------------------

#[path = "../examples/axum_app.rs"]
#[allow(
    dead_code,
    reason = "`router`, `configure` and `Settings` are used; `main` is the example's"
)]
mod app;

// `demo::configure` is the app's own `configure`, as the other test files call it.
#[path = "../examples/support/demo.rs"]
mod demo;

/// One instance of the demo app, configured from a file and reloadable.
struct Instance {
    base_url: String,
    reloader: KeyRingReloader,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start_instance(path: &Path, clock: &Arc<ManualClock>) -> Instance {
    use sealed_session::axum::SessionLayer;
    let config = Config::loader().file(path).load().unwrap();
    let layer: SessionLayer = demo::configure(config.session_builder(), false)
        .with_clock(Arc::clone(clock) as Arc<dyn sealed_session::Clock>)
        .build()
        .unwrap();
    let reloader = KeyRingReloader::new(&config).with_manager(layer.manager().clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app::router(layer))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Instance {
        base_url: format!("http://{addr}"),
        reloader,
        stop,
        task,
    }
}

/// The browser's side: one cookie, carried by hand from one instance to the other.
struct Browser {
    client: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    /// GET `path` on `instance` with the cookie; apply every Set-Cookie for `session`.
    async fn get(&mut self, instance: &Instance, path: &str) -> (Value, bool) {
        let mut request = self.client.get(format!("{}{path}", instance.base_url));
        if let Some(value) = &self.cookie {
            request = request.header(header::COOKIE, format!("session={value}"));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let mut set = false;
        for v in response.headers().get_all(header::SET_COOKIE) {
            let c = cookie::Cookie::parse(v.to_str().unwrap().to_owned()).unwrap();
            if c.name() != "session" {
                continue;
            }
            set = true;
            let removal = c.value().is_empty() || c.max_age().is_some_and(|d| d.is_zero());
            assert!(!removal, "the session cookie was deleted: {v:?}");
            self.cookie = Some(c.value().to_owned());
        }
        (response.json().await.unwrap(), set)
    }
}

/// Move the clock a little and count one more request.
fn step(clock: &ManualClock, expected: &mut u64) -> u64 {
    clock.advance(Duration::from_secs(30));
    *expected += 1;
    *expected
}

/// The key id the current cookie is sealed under.
fn cookie_key(inspector: &SessionManager, clock: &ManualClock, cookie: &str) -> u32 {
    use sealed_session::Clock as _;
    inspector
        .sealer()
        .open_at::<Value>(clock.now(), cookie)
        .unwrap()
        .meta()
        .key_id()
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_rotation_across_two_instances_loses_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let (k1, k2) = (key(1), key(2));
    let activation = T0.checked_add(Duration::from_secs(10 * 60)).unwrap();
    let session = "[session]\ncookie_name = \"session\"\nsecure = false\n";
    let old_ring = format!(
        "{session}{}{}",
        key_entry(1, &k1, "primary"),
        pending(2, &k2, activation)
    );
    let new_ring = format!(
        "{session}{}{}",
        key_entry(2, &k2, "primary"),
        key_entry(1, &k1, "older")
    );
    let final_ring = format!("{session}{}", key_entry(2, &k2, "primary"));
    let (path_a, path_b) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    std::fs::write(&path_a, &old_ring).unwrap();
    std::fs::write(&path_b, &old_ring).unwrap();

    let clock = Arc::new(ManualClock::new(T0));
    let a = start_instance(&path_a, &clock).await;
    let b = start_instance(&path_b, &clock).await;
    // Opens any of the tokens, to see which key sealed them.
    let inspector = demo::configure(load(&new_ring).session_builder::<SessionManager>(), false)
        .build()
        .unwrap();
    let mut browser = Browser {
        client: reqwest::Client::new(),
        cookie: None,
    };
    let mut expected = 0u64;

    // 1. Both instances have the pending key: everything is sealed under k1.
    for instance in [&a, &b, &a, &b] {
        let n = step(&clock, &mut expected);
        let (body, _) = browser.get(instance, "/api/counter").await;
        assert_eq!(body, json!({"count": n}));
        assert_eq!(
            cookie_key(&inspector, &clock, browser.cookie.as_deref().unwrap()),
            1
        );
    }
    let k1_cookie = browser.cookie.clone().unwrap();

    // 2. B is rotated early (the file rewritten, reloaded without a restart): k2 is its primary,
    //    while A still seals with k1. Requests alternate; each cookie opens on the other side.
    std::fs::write(&path_b, &new_ring).unwrap();
    assert!(b.reloader.reload_if_changed().unwrap());
    for (instance, sealed_under) in [(&a, 1), (&b, 2), (&a, 1), (&b, 2), (&a, 1), (&b, 2)] {
        let n = step(&clock, &mut expected);
        let (body, set) = browser.get(instance, "/api/counter").await;
        assert_eq!(
            body,
            json!({"count": n}),
            "lost the session on {}",
            instance.base_url
        );
        assert!(set);
        assert_eq!(
            cookie_key(&inspector, &clock, browser.cookie.as_deref().unwrap()),
            sealed_under
        );
    }
    // Read-only requests: A leaves a k2 cookie alone (k2 is pending there, not retiring), B
    // re-seals a k1 cookie under k2 at once.
    let (body, set) = browser.get(&a, "/api/me").await;
    assert_eq!(body["count"], expected);
    assert!(!set, "A must not flip a k2 cookie back to k1");
    let n = step(&clock, &mut expected);
    let (body, _) = browser.get(&a, "/api/counter").await;
    assert_eq!(body, json!({"count": n}));
    assert_eq!(
        cookie_key(&inspector, &clock, browser.cookie.as_deref().unwrap()),
        1
    );
    let (body, set) = browser.get(&b, "/api/me").await;
    assert_eq!(body["count"], expected);
    assert!(set, "B re-seals a k1 cookie");
    assert_eq!(
        cookie_key(&inspector, &clock, browser.cookie.as_deref().unwrap()),
        2
    );

    // 3. The activation time passes: A seals with k2 too, with no reload.
    clock.set(activation.checked_add(Duration::from_secs(1)).unwrap());
    for instance in [&a, &b, &a, &b] {
        let n = step(&clock, &mut expected);
        let (body, _) = browser.get(instance, "/api/counter").await;
        assert_eq!(body, json!({"count": n}));
        assert_eq!(
            cookie_key(&inspector, &clock, browser.cookie.as_deref().unwrap()),
            2
        );
    }

    // 4. k1 is dropped everywhere; the user keeps their session (their cookie is under k2).
    std::fs::write(&path_a, &final_ring).unwrap();
    std::fs::write(&path_b, &final_ring).unwrap();
    assert!(a.reloader.reload_if_changed().unwrap());
    assert!(b.reloader.reload_if_changed().unwrap());
    for instance in [&a, &b] {
        let n = step(&clock, &mut expected);
        let (body, _) = browser.get(instance, "/api/counter").await;
        assert_eq!(body, json!({"count": n}));
    }
    // A cookie still under k1 is now a fresh session (what dropping a key too early costs).
    let mut stale = Browser {
        client: reqwest::Client::new(),
        cookie: Some(k1_cookie),
    };
    let response = stale
        .client
        .get(format!("{}/api/counter", a.base_url))
        .header(
            header::COOKIE,
            format!("session={}", stale.cookie.take().unwrap()),
        )
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"count": 1}));

    for instance in [a, b] {
        let _ = instance.stop.send(());
        instance.task.await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Every source of a value is named in its error, and the value never is (issue 16)
// ---------------------------------------------------------------------------------------------

/// A value for `field` that holds `MARK` and that the field refuses, in the environment's
/// text form.
fn env_value_with_mark(field: &str) -> String {
    match field {
        // Not an RFC 6265 token ('=' and '/' are not token characters).
        "cookie_name" => format!("{MARK}/="),
        // Does not start with '/'.
        "path" => format!("{MARK};"),
        // '/' and '=' are not host name characters.
        "domain" => format!("{MARK}/="),
        _ => MARK.to_owned(),
    }
}

/// The fields whose every value is acceptable text (nothing to refuse, so nothing to leak).
const ANY_TEXT: [&str; 1] = ["purpose"];

/// Regression (issue 16): `SEALED_SESSION_COOKIE_NAME`, `_PATH`, `_DOMAIN` holding a secret were
/// echoed in full by the builder's message, under `session:`. Every variable, one at a time.
#[test]
fn every_variable_is_named_and_its_value_never_shown() {
    let file = with_primary("");
    let mut names: Vec<(String, String)> = [
        "cookie_name",
        "path",
        "domain",
        "same_site",
        "secure",
        "http_only",
        "partitioned",
        "mode",
        "also_open",
        "lifetime",
        "idle_timeout",
        "refresh_fraction",
        "cookie_lifetime",
        "chunks",
        "leeway",
        "delete_rejected",
    ]
    .iter()
    .map(|f| {
        (
            format!("SEALED_SESSION_{}", f.to_ascii_uppercase()),
            env_value_with_mark(f),
        )
    })
    .collect();
    names.extend([
        ("SEALED_SESSION_KEYS".to_owned(), format!("1:{MARK}")),
        (
            "SEALED_SESSION_KEYS".to_owned(),
            format!("{MARK}:{}", key_base64(&key(1))),
        ),
        (
            "SEALED_SESSION_KEYS".to_owned(),
            format!("1:{}@{MARK}", key_base64(&key(1))),
        ),
        (
            "SEALED_SESSION_KEYS_FILE".to_owned(),
            format!("/nonexistent/{MARK}"),
        ),
        ("SEALED_SESSION_REVOKE_BEFORE".to_owned(), MARK.to_owned()),
    ]);
    for (name, value) in &names {
        let e = Config::loader()
            .toml(file.clone())
            .env_vars([(name.clone(), value.clone())])
            .load()
            .expect_err(name);
        assert_no_mark(&e.to_string());
        assert_no_mark(&format!("{e:?}"));
        assert!(
            e.message().starts_with(name.as_str()),
            "{name} is not named first: {e}"
        );
    }
    // SEALED_SESSION_CONFIG: the file it names is not shown either.
    let e = Config::loader()
        .env_vars([("SEALED_SESSION_CONFIG", format!("/nonexistent/{MARK}.toml"))])
        .load()
        .unwrap_err();
    assert_no_mark(&e.to_string());
    assert!(
        e.message()
            .starts_with("the file SEALED_SESSION_CONFIG names: cannot read"),
        "{e}"
    );
    // ... also when the problem is inside that file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{MARK}.toml"));
    std::fs::write(
        &path,
        with_primary(&format!("[session]\ncookie_name = \"{MARK}=\"\n")),
    )
    .unwrap();
    let e = Config::loader()
        .env_vars([("SEALED_SESSION_CONFIG", path.display().to_string())])
        .load()
        .unwrap_err();
    assert_no_mark(&e.to_string());
    assert!(
        e.message().starts_with(
            "the file SEALED_SESSION_CONFIG names: session.cookie_name: must be a cookie name"
        ),
        "{e}"
    );
}

/// The same, for every key of the file: loaded from a real file, the error names the file's
/// path and the key, never the value.
#[test]
fn every_file_key_is_named_and_its_value_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.toml");
    let k = key_entry(1, &key(1), "primary");
    let secret = key_base64(&key(1));
    let mut cases: Vec<(String, String)> = Vec::new();
    for (field, kind) in [
        ("cookie_name", "text"),
        ("path", "text"),
        ("domain", "text"),
        ("same_site", "text"),
        ("secure", "bool"),
        ("http_only", "bool"),
        ("partitioned", "bool"),
        ("mode", "text"),
        ("also_open", "list"),
        ("lifetime", "text"),
        ("idle_timeout", "text"),
        ("refresh_fraction", "number"),
        ("cookie_lifetime", "text"),
        ("chunks", "number"),
        ("leeway", "text"),
        ("delete_rejected", "bool"),
    ] {
        let value = env_value_with_mark(field);
        let toml_value = match kind {
            "list" => format!("[\"{value}\"]"),
            // A string where a boolean or a number belongs: the wrong type.
            _ => format!("\"{value}\""),
        };
        cases.push((
            format!("session.{field}"),
            format!("[session]\n{field} = {toml_value}\n{k}"),
        ));
    }
    cases.extend([
        (
            "keys.revoke_before".to_owned(),
            format!("[keys]\nrevoke_before = \"{MARK}\"\n{k}"),
        ),
        (
            "keys.key[0].id".to_owned(),
            format!("[[keys.key]]\nid = \"{MARK}\"\nsecret = \"{secret}\"\nstate = \"primary\"\n"),
        ),
        (
            "keys.key[0].secret".to_owned(),
            format!("[[keys.key]]\nid = \"1\"\nsecret = \"{MARK}\"\nstate = \"primary\"\n"),
        ),
        (
            "keys.key[0].secret_file".to_owned(),
            format!(
                "[[keys.key]]\nid = \"1\"\nsecret_file = \"/nonexistent/{MARK}\"\nstate = \"primary\"\n"
            ),
        ),
        (
            "keys.key[0].state".to_owned(),
            format!("[[keys.key]]\nid = \"1\"\nsecret = \"{secret}\"\nstate = \"{MARK}\"\n"),
        ),
        (
            "keys.key[0].activates_at".to_owned(),
            format!(
                "[[keys.key]]\nid = \"1\"\nsecret = \"{secret}\"\nstate = \"pending\"\nactivates_at = \"{MARK}\"\n"
            ),
        ),
        (
            "keys.key[0].retired_at".to_owned(),
            format!(
                "[[keys.key]]\nid = \"1\"\nsecret = \"{secret}\"\nstate = \"older\"\nretired_at = \"{MARK}\"\n"
            ),
        ),
    ]);
    for (field, text) in &cases {
        std::fs::write(&path, text).unwrap();
        let e = Config::loader()
            .file(&path)
            .load()
            .expect_err(field.as_str());
        assert_no_mark(&e.to_string());
        let expected = format!("{}: {field}", path.display());
        assert!(
            e.message().starts_with(&expected),
            "expected {expected:?} first: {e}"
        );
    }
    // The text fields that accept anything stay out of errors too: they are never refused.
    for field in ANY_TEXT {
        std::fs::write(&path, format!("[session]\n{field} = \"{MARK}\"\n{k}")).unwrap();
        assert!(Config::loader().file(&path).load().is_ok(), "{field}");
    }
}

/// A problem between settings names every setting involved, from whichever source.
#[test]
fn conflicts_name_each_source() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.toml");
    std::fs::write(
        &path,
        with_primary("[session]\ncookie_name = \"__Host-id\"\n"),
    )
    .unwrap();
    let e = Config::loader()
        .file(&path)
        .env_vars([("SEALED_SESSION_SECURE", "off")])
        .load()
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &[&format!(
            "{}: session.cookie_name, SEALED_SESSION_SECURE: a __Host- cookie requires Secure",
            path.display()
        )],
    );
    let e = Config::loader()
        .toml(with_primary(""))
        .env_vars([
            ("SEALED_SESSION_COOKIE_NAME", "__Host-id"),
            ("SEALED_SESSION_PATH", "/app"),
        ])
        .load()
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["SEALED_SESSION_COOKIE_NAME, SEALED_SESSION_PATH: a __Host- cookie requires Path=/"],
    );
}

/// Regression (issue 16): the demo read `SESSION_COOKIE_SECURE=flase` as true. The
/// configuration accepts exactly the documented spellings, in any case, and refuses the rest.
#[test]
fn booleans_accept_the_documented_spellings_only() {
    use sealed_session::config::parse_bool;
    for (text, want) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("On", true),
        (" false ", false),
        ("0", false),
        ("No", false),
        ("OFF", false),
    ] {
        assert_eq!(parse_bool(text).unwrap(), want, "{text}");
    }
    for bad in ["flase", "ture", "y", "n", "2", "enabled", "", "truee", "of"] {
        let e = parse_bool(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    }
    for name in [
        "SEALED_SESSION_SECURE",
        "SEALED_SESSION_HTTP_ONLY",
        "SEALED_SESSION_PARTITIONED",
        "SEALED_SESSION_DELETE_REJECTED",
    ] {
        let e = Config::loader()
            .toml(with_primary("[session]\ncookie_name = \"id\"\n"))
            .env_vars([(name, "flase")])
            .load()
            .unwrap_err();
        assert_err(
            &e,
            ErrorKind::InvalidConfig,
            &[&format!("{name}: expected true or false")],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Extreme values: typed errors, never a panic (issue 17, item 3)
// ---------------------------------------------------------------------------------------------

/// Regression (issue 17): `idle_timeout = "18446744073709551615s"` with `refresh_fraction = 1`
/// panicked in `Duration::mul_f64` while the configuration was checked.
#[test]
fn the_longest_durations_are_refused_not_a_panic() {
    for (field, value) in [
        ("idle_timeout", "\"18446744073709551615s\""),
        ("idle_timeout", "\"584942417355years\""),
        ("idle_timeout", "\"101years\""),
        ("lifetime", "\"18446744073709551615s\""),
        ("leeway", "\"18446744073709551615s\""),
        ("cookie_lifetime", "\"18446744073709551615s\""),
        ("idle_timeout", "\"99999999999999999999999999s\""),
    ] {
        let e = load_err(&with_primary(&format!(
            "[session]\n{field} = {value}\nrefresh_fraction = 1\n"
        )));
        assert_err(
            &e,
            ErrorKind::InvalidConfig,
            &[&format!("session.{field}: ")],
        );
    }
    let e = Config::loader()
        .toml(with_primary(""))
        .env_vars([
            ("SEALED_SESSION_IDLE_TIMEOUT", "18446744073709551615s"),
            ("SEALED_SESSION_REFRESH_FRACTION", "1"),
        ])
        .load()
        .unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["SEALED_SESSION_IDLE_TIMEOUT: must be at most 100 years"],
    );
    // The longest accepted idle timeout, refreshed at its very end, builds.
    let config = load(&with_primary(
        "[session]\nidle_timeout = \"36500d\"\nlifetime = \"36500d\"\nrefresh_fraction = 1\n",
    ));
    assert!(config.build_manager().is_ok());
}

mod extremes {
    use super::*;
    use proptest::prelude::*;

    /// Durations at and past every edge humantime and `Duration` have.
    fn duration_text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("18446744073709551615s".to_owned()),
            Just("18446744073709551616s".to_owned()),
            Just("18446744073709551615ns".to_owned()),
            Just("584942417355y".to_owned()),
            Just("0s".to_owned()),
            Just("off".to_owned()),
            Just("session".to_owned()),
            (
                any::<u64>(),
                prop::sample::select(vec!["ns", "us", "ms", "s", "m", "h", "d", "w", "M", "y"])
            )
                .prop_map(|(n, unit)| format!("{n}{unit}")),
            (any::<u64>(), any::<u64>()).prop_map(|(a, b)| format!("{a}y {b}d")),
            "[0-9a-z .]{0,24}",
        ]
    }

    fn fraction_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<f64>().prop_map(|f| f.to_string()),
            Just("NaN".to_owned()),
            Just("inf".to_owned()),
            Just("-0".to_owned()),
            Just("1e400".to_owned()),
            Just("1".to_owned()),
            "[-0-9.e]{0,12}",
        ]
    }

    fn count_text() -> impl Strategy<Value = String> {
        prop_oneof![any::<i64>().prop_map(|n| n.to_string()), "[-0-9]{0,24}"]
    }

    fn time_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<u64>().prop_map(|n| format!("@{n}")),
            Just("9999-12-31T23:59:59Z".to_owned()),
            Just("9999-12-31T23:59:59-23:59".to_owned()),
            "[0-9T:Z@+-]{0,25}",
        ]
    }

    /// The one way every result may look: a configuration that builds, or a typed error.
    fn check(result: Result<Config, sealed_session::Error>) -> Result<(), TestCaseError> {
        match result {
            Ok(config) => {
                prop_assert!(config.build_manager().is_ok());
            }
            Err(e) => {
                prop_assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::InvalidConfig
                            | ErrorKind::InvalidKey
                            | ErrorKind::InvalidKeyRing
                    ),
                    "{e}"
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The file, with durations, fractions, counts and times at their extremes.
        #[test]
        fn the_file_parser_never_panics(
            idle in duration_text(),
            lifetime in duration_text(),
            leeway in duration_text(),
            cookie_lifetime in duration_text(),
            fraction in fraction_text(),
            int_fraction in any::<i64>(),
            chunks in any::<i64>(),
            revoke in time_text(),
            revoke_int in any::<i64>(),
            use_int in any::<bool>(),
        ) {
            let fraction_value = if use_int { int_fraction.to_string() } else {
                // Not every text is a TOML float: fall back to a string (the wrong type).
                format!("\"{fraction}\"")
            };
            let revoke_value = if use_int { revoke_int.to_string() } else { format!("\"{revoke}\"") };
            let text = with_primary(&format!(
                "[session]\ncookie_name = \"id\"\nsecure = false\nidle_timeout = \"{idle}\"\n\
                 lifetime = \"{lifetime}\"\nleeway = \"{leeway}\"\n\
                 cookie_lifetime = \"{cookie_lifetime}\"\nrefresh_fraction = {fraction_value}\n\
                 chunks = {chunks}\n[keys]\nrevoke_before = {revoke_value}\n"
            ));
            check(Config::loader().toml(text).load())?;
            // A float that TOML does parse, at its extremes.
            if let Ok(f) = fraction.parse::<f64>() {
                if f.is_finite() {
                    let text = with_primary(&format!(
                        "[session]\nidle_timeout = \"{idle}\"\nrefresh_fraction = {f:e}\n"
                    ));
                    check(Config::loader().toml(text).load())?;
                }
            }
        }

        /// The environment, every variable at once.
        #[test]
        fn the_environment_parser_never_panics(
            idle in duration_text(),
            lifetime in duration_text(),
            leeway in duration_text(),
            cookie_lifetime in duration_text(),
            fraction in fraction_text(),
            chunks in count_text(),
            revoke in time_text(),
            activates in time_text(),
        ) {
            let vars = [
                ("SEALED_SESSION_KEYS", format!("1:{},2:{}@{activates}", key_base64(&key(1)), key_base64(&key(2)))),
                ("SEALED_SESSION_COOKIE_NAME", "id".to_owned()),
                ("SEALED_SESSION_SECURE", "off".to_owned()),
                ("SEALED_SESSION_IDLE_TIMEOUT", idle),
                ("SEALED_SESSION_LIFETIME", lifetime),
                ("SEALED_SESSION_LEEWAY", leeway),
                ("SEALED_SESSION_COOKIE_LIFETIME", cookie_lifetime),
                ("SEALED_SESSION_REFRESH_FRACTION", fraction),
                ("SEALED_SESSION_CHUNKS", chunks),
                ("SEALED_SESSION_REVOKE_BEFORE", revoke),
            ];
            check(Config::loader().env_vars(vars).load())?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The demo apps read their settings through the configuration (issue 16)
// ---------------------------------------------------------------------------------------------

fn demo(pairs: &[(&str, &str)]) -> Result<app::Settings, sealed_session::Error> {
    app::Settings::from_vars(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

/// Regression (issue 16): the demo read `SESSION_COOKIE_SECURE=flase` as true, refused a pending
/// key in `SESSION_KEYS` ("not valid base64") and ignored misspelt `SEALED_SESSION_*` variables.
#[test]
fn the_demo_reads_the_configuration_and_its_short_names() {
    let k1 = format!("1:{}", key_base64(&key(1)));
    let pending = format!("{k1},2:{}@2030-01-01T00:00:00Z", key_base64(&key(2)));

    let e = demo(&[("SESSION_KEYS", &k1), ("SESSION_COOKIE_SECURE", "flase")]).unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["SESSION_COOKIE_SECURE: expected true or false"],
    );
    assert!(!e.message().contains("SEALED_SESSION_SECURE"), "{e}");

    let s = demo(&[("SESSION_KEYS", &pending), ("BIND", "127.0.0.1:0")]).unwrap();
    assert_eq!(s.bind, "127.0.0.1:0");
    assert_eq!(
        ids(s.config.key_ring().keys()),
        vec![
            (1, KeyState::Primary),
            (
                2,
                KeyState::Pending {
                    activates_at: UnixTime::from_secs(1_893_456_000)
                }
            )
        ]
    );
    // The demo's defaults: Secure, `__Host-session`, a 30-minute idle timeout.
    assert!(s.secure);
    assert_eq!(s.config.cookie_name(), "__Host-session");
    let manager = s.config.build_manager().unwrap();
    assert_eq!(
        manager.sealer().idle_timeout(),
        Some(Duration::from_secs(1800))
    );

    let s = demo(&[("SESSION_KEYS", &k1), ("SESSION_COOKIE_SECURE", "Off")]).unwrap();
    assert!(!s.secure);
    assert_eq!(s.config.cookie_name(), "session");

    // The production variables work, and win over the demo's defaults.
    let s = demo(&[
        ("SEALED_SESSION_KEYS", &k1),
        ("SEALED_SESSION_COOKIE_NAME", "sid"),
        ("SEALED_SESSION_IDLE_TIMEOUT", "5m"),
    ])
    .unwrap();
    assert_eq!(s.config.cookie_name(), "sid");
    assert_eq!(
        s.config.build_manager().unwrap().sealer().idle_timeout(),
        Some(Duration::from_secs(300))
    );

    let e = demo(&[("SESSION_KEYS", &k1), ("SEALED_SESSION_COOKIENAME", "x")]).unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["SEALED_SESSION_COOKIENAME: unknown variable"],
    );
    let e = demo(&[("SESSION_KEYS", &k1), ("SEALED_SESSION_KEYS", &k1)]).unwrap_err();
    assert_err(
        &e,
        ErrorKind::InvalidConfig,
        &["SESSION_KEYS and SEALED_SESSION_KEYS are both set"],
    );
    // A bad key list names the variable the user set, and not the secret.
    let e = demo(&[("SESSION_KEYS", &format!("1:{MARK}"))]).unwrap_err();
    assert!(e.message().starts_with("SESSION_KEYS[0]: "), "{e}");
    assert_no_mark(&e.to_string());
    // No keys at all: a generated ring (with a warning on standard error).
    let s = demo(&[]).unwrap();
    assert_eq!(s.config.key_ring().keys().count(), 1);
    // A file: its settings, not the demo's defaults.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.toml");
    std::fs::write(
        &path,
        with_primary("[session]\ncookie_name = \"from-file\"\n"),
    )
    .unwrap();
    let s = demo(&[("SEALED_SESSION_CONFIG", path.to_str().unwrap())]).unwrap();
    assert_eq!(s.config.cookie_name(), "from-file");
    assert_eq!(
        s.config.build_manager().unwrap().sealer().idle_timeout(),
        Some(SessionManager::DEFAULT_IDLE_TIMEOUT)
    );
}
