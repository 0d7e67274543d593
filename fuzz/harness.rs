//! The fuzz harness: one entry point per fuzz target, shared by the cargo-fuzz targets in
//! `fuzz/fuzz_targets/` (each includes this file with `#[path = "../harness.rs"] mod harness;`)
//! and by `tests/fuzz_corpus.rs`, which replays every committed corpus file through the same
//! functions under `cargo test`.
//!
//! Each entry point takes arbitrary bytes, must never panic on its own account, and checks the
//! crate against an oracle written independently of it:
//!
//! - [`open_token`]: the bytes as a token, opened by one opener per mode and by one that opens
//!   every mode. A rejection before the tag check must be exactly the one the documented opening
//!   order predicts ([`predicted_rejection`], with its own strict base64url decoder); anything
//!   that gets past those checks is `BadTag` or later; a token that opens is canonical, within
//!   the size limit, of an accepted mode and under a known key.
//! - [`cookie_header`]: the bytes as `Cookie` header values (split at `\n`), read by a plain and a
//!   chunked [`SessionManager`]. The session must be the one the first opening candidate (by an
//!   independent RFC 6265 pair splitter, at most [`MAX_CANDIDATES`]) gives, or fresh with the
//!   first candidate's rejection; nothing is opened when our cookie name is absent; the response
//!   cookies (a deletion for a refused cookie, then a written session) are each at most 4096
//!   bytes, parse back, and the written one opens again.
//! - [`cookie_policy`]: the bytes as a cookie name, Path, Domain and flags. The builder either
//!   refuses with `InvalidConfig`, or every cookie it renders (first cookie and deletion) is a
//!   valid header value that re-parses to exactly the configured attributes; conservative
//!   well-formed policies must build.
//! - [`payload_decode`]: the bytes as an envelope payload (and flags) sealed with a known key, then
//!   opened: it opens exactly when `serde_json` accepts the bytes and the flags, size and depth
//!   limits hold, to the same value, and is otherwise `Rejection::Decode`.
//! - [`chunk_assembly`]: the bytes as `Cookie` header values for a manager that splits sessions
//!   across 2–4 cookies, then a write: no deletion for a chunk the response writes, and the
//!   browser's jar after the response opens again to the same session.
//! - `config_parse` (feature `config`): the bytes as TOML and environment variables with a planted
//!   secret: typed errors that never repeat the secret.
//! - `cache_entry` (feature `redis`): the bytes as an entry read from Redis (a stand-in server on
//!   127.0.0.1): the unsealed cache serves exactly the fresh entries the codec accepts, the sealed
//!   one nothing unsealed.
//!
//! [`seeds`] generates the deterministic part of the committed corpus (valid tokens and headers
//! under the harness's fixed keys and fixed nonces).

// A panic here is a finding (the fuzzer's crash), never a crash on the crate's behalf; each fuzz
// target uses only one entry point.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "fuzz harness: a panic is a finding; each target uses one entry point"
)]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use sealed_session::{
    Chunking, Codec, CookieLifetime, CookiePolicy, ErrorKind, Key, KeyId, KeyRing, ManualClock,
    Mode, Rejection, SameSite, Sealer, SessionManager, Timestamps, UnixTime, MAX_CANDIDATES,
    MAX_SET_COOKIE_LEN,
};
use serde_json::Value;

// The fixtures (and with them the independent base64url codec and the opening order's oracle)
// are the integration tests' own, so that the fuzz targets and the tests check the same model.
#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use fixtures::secret;
pub use fixtures::{base64url, predicted_rejection, strict_base64url};

/// The fixed time every token is sealed and opened at.
pub const NOW: UnixTime = fixtures::T0;
/// The cookie name of every manager and sealer here.
pub const NAME: &str = "session";
/// The session id in generated seeds (22 base64url characters: 16 zero bytes).
pub const SEED_SESSION_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// The primary key (id `0x000000a1`).
pub static KEY_A: LazyLock<Key> = LazyLock::new(|| {
    Key::try_from(&secret(1)[..])
        .unwrap()
        .with_id(KeyId::new(0xa1))
});
/// An older key (id `0x000000b2`): opens, and its tokens are re-sealed.
pub static KEY_B: LazyLock<Key> = LazyLock::new(|| {
    Key::try_from(&secret(2)[..])
        .unwrap()
        .with_id(KeyId::new(0xb2))
});
/// The key ids the ring knows.
pub static KNOWN: LazyLock<[KeyId; 2]> = LazyLock::new(|| [KEY_A.id(), KEY_B.id()]);

fn ring() -> KeyRing {
    KeyRing::builder()
        .primary(KEY_A.clone())
        .older(KEY_B.clone())
        .build()
        .unwrap()
}

/// One opener per mode (opening only that mode), then one that opens every mode.
pub static OPENERS: LazyLock<Vec<(Vec<Mode>, Sealer)>> = LazyLock::new(|| {
    let mut out: Vec<(Vec<Mode>, Sealer)> = Mode::ALL
        .into_iter()
        .map(|m| {
            let s = Sealer::builder(ring(), NAME).mode(m).build().unwrap();
            (vec![m], s)
        })
        .collect();
    let all = Mode::ALL
        .into_iter()
        .fold(Sealer::builder(ring(), NAME), |b, m| b.also_open(m))
        .build()
        .unwrap();
    out.push((Mode::ALL.to_vec(), all));
    out
});

/// The largest payload [`payload_decode`] accepts (the codec's default limit).
pub const PAYLOAD_MAX_BYTES: usize = Codec::DEFAULT_MAX_BYTES;

/// One sealer per mode for [`payload_decode`]: tokens up to 64 KiB, the default codec.
pub static PAYLOAD_SEALERS: LazyLock<Vec<Sealer>> = LazyLock::new(|| {
    Mode::ALL
        .into_iter()
        .map(|m| {
            Sealer::builder(ring(), NAME)
                .mode(m)
                .max_token_len(1 << 16)
                .build()
                .unwrap()
        })
        .collect()
});

fn manager(chunks: Option<usize>) -> SessionManager {
    SessionManager::builder(ring())
        .with_cookie_name(NAME)
        .with_chunking(chunks.map(Chunking::new))
        .with_clock(Arc::new(ManualClock::new(NOW)))
        .build()
        .unwrap()
}

/// A manager with one cookie per session, and one that splits sessions across up to 3 cookies.
pub static MANAGERS: LazyLock<[SessionManager; 2]> =
    LazyLock::new(|| [manager(None), manager(Some(3))]);

// ---------------------------------------------------------------------------------------------
// open_token
// ---------------------------------------------------------------------------------------------

/// Fuzz target `open_token`: arbitrary bytes as a token.
pub fn open_token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for (accepted, opener) in OPENERS.iter() {
        let predicted = predicted_rejection(&text, opener.max_token_len(), accepted, &*KNOWN);
        match opener.open_at::<Value>(NOW, &text) {
            Ok(opened) => {
                assert_eq!(
                    predicted, None,
                    "opened a token the order refuses: {text:?}"
                );
                let meta = opened.meta();
                assert!(accepted.contains(&meta.mode()), "{text:?}");
                assert!(KNOWN.contains(&meta.key_id()), "{text:?}");
                let bytes = strict_base64url(&text).expect("an opened token is strict base64url");
                assert_eq!(base64url(&bytes), text, "an opened token is canonical");
                assert_eq!(bytes.first(), Some(&meta.mode().version_byte()));
                // Opening is a pure function of the token and the time.
                let again = opener.open_at::<Value>(NOW, &text).expect("opens twice");
                assert_eq!(again.value(), opened.value());
            }
            Err(rejection) => match predicted {
                Some(expected) => assert_eq!(
                    rejection, expected,
                    "the opening order predicts {expected:?} for {text:?}"
                ),
                None => assert!(
                    !matches!(
                        rejection,
                        Rejection::TooLarge
                            | Rejection::Malformed
                            | Rejection::UnsupportedVersion
                            | Rejection::UnknownKey
                    ),
                    "{rejection:?} after every check before the tag passed, for {text:?}"
                ),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// cookie_header
// ---------------------------------------------------------------------------------------------

/// The values of the cookies named `name` in `Cookie` header values, in order, at most
/// [`MAX_CANDIDATES`]: RFC 6265 pairs split at `;`, blank segments skipped, name and value
/// trimmed, pairs without `=` or with an empty name skipped, non-UTF-8 bytes replaced.
pub fn candidates(values: &[&[u8]], name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for raw in values {
        let text = String::from_utf8_lossy(raw);
        // RFC 6265's optional white space around names and values is SP and HTAB only: a
        // name behind a CR, a NEL or another Unicode space is not our name.
        let ows: &[char] = &[' ', '\t'];
        for segment in text.split(';') {
            let Some((n, v)) = segment.trim_matches(ows).split_once('=') else {
                continue;
            };
            let n = n.trim_matches(ows);
            if !n.is_empty() && n == name && out.len() < MAX_CANDIDATES {
                out.push(v.trim_matches(ows).to_owned());
            }
        }
    }
    out
}

fn parse_set_cookie(raw: &str) -> cookie::Cookie<'_> {
    assert!(
        raw.len() <= MAX_SET_COOKIE_LEN,
        "a Set-Cookie of {} bytes",
        raw.len()
    );
    assert!(
        http::HeaderValue::from_str(raw).is_ok(),
        "not a header value: {raw:?}"
    );
    cookie::Cookie::parse(raw).unwrap_or_else(|e| panic!("unparsable Set-Cookie {raw:?}: {e}"))
}

/// Fuzz target `cookie_header`: arbitrary bytes as `Cookie` header values, one per line.
pub fn cookie_header(data: &[u8]) {
    let values: Vec<&[u8]> = data.split(|&b| b == b'\n').take(16).collect();
    let mentions_name = data.windows(NAME.len()).any(|w| w == NAME.as_bytes());
    for (index, manager) in MANAGERS.iter().enumerate() {
        let chunked = index == 1;
        let session = manager.load_from_cookie_headers(values.iter().copied());
        let id = session.id();
        let rejection = session.rejection();
        if !mentions_name {
            assert!(session.is_new() && rejection.is_none() && id.is_none());
        }
        if !chunked {
            // The first candidate that opens is the session; otherwise the first rejection.
            let mut expected_id = None;
            let mut first_rejection = None;
            for candidate in candidates(&values, NAME) {
                match manager.sealer().open_at::<Value>(NOW, &candidate) {
                    Ok(opened) => {
                        expected_id = Some(opened.value()["id"].as_str().unwrap().to_owned());
                        break;
                    }
                    Err(r) => {
                        first_rejection.get_or_insert(r);
                    }
                }
            }
            assert_eq!(id.map(|i| i.to_string()), expected_id, "{data:?}");
            if expected_id.is_none() {
                assert_eq!(rejection, first_rejection, "{data:?}");
                assert!(session.is_new());
            } else {
                assert_eq!(rejection, None);
            }
        }
        // The response for an untouched session: a deletion for a refused cookie, or nothing
        // (a valid session sealed at NOW needs no refresh; one under the older key is re-sealed).
        let out = manager
            .finish_at(NOW, &session)
            .expect("an untouched session");
        for raw in &out {
            let c = parse_set_cookie(raw);
            assert!(
                c.name() == NAME || c.name().starts_with("session."),
                "{raw}"
            );
            if rejection.is_some() {
                assert_eq!(c.value(), "", "{raw}");
                assert_eq!(c.max_age(), Some(cookie::time::Duration::ZERO), "{raw}");
            }
        }
        if rejection.is_some() {
            assert!(!out.is_empty(), "a refused cookie is deleted");
        } else if session.is_new() {
            assert!(out.is_empty(), "{out:?}");
        }
        // Writing always produces cookies within the budget that open to what was written.
        session.insert("fuzz", &"written").unwrap();
        let out = manager
            .finish_at(NOW, &session)
            .expect("a small session fits");
        let mut header = String::new();
        for raw in &out {
            let c = parse_set_cookie(raw);
            if !c.value().is_empty() {
                header.push_str(&format!("{}={}; ", c.name(), c.value()));
            }
        }
        let reopened = manager.load_from_cookie_headers([header.as_bytes()]);
        assert_eq!(
            reopened.get::<String>("fuzz").unwrap().as_deref(),
            Some("written")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// cookie_policy
// ---------------------------------------------------------------------------------------------

/// A conservative, certainly valid shape: the builder must accept it.
fn plainly_valid(name: &str, path: &str, domain: Option<&str>) -> bool {
    let word = |s: &str, extra: &[u8]| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    let name_ok = word(name, b"-_") && !name.starts_with("__") && name.len() <= 64;
    let path_ok =
        path == "/" || (path.starts_with('/') && word(&path[1..], b"-_/") && path.len() <= 200);
    let domain_ok = domain.is_none_or(|d| {
        let labels: Vec<&str> = d.split('.').collect();
        labels.len() <= 4
            && labels.iter().all(|l| {
                (1..=20).contains(&l.len())
                    && l.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
    });
    name_ok && path_ok && domain_ok
}

/// Fuzz target `cookie_policy`: byte 0 holds the flags (bits 0–1 SameSite, 2 Secure,
/// 3 HttpOnly, 4 Partitioned, 5 a Domain, 6 a persistent lifetime, 7 chunking), byte 1 the
/// persistent lifetime in days; the rest is the name, Path and Domain separated by `0x00`
/// (non-UTF-8 bytes replaced).
pub fn cookie_policy(data: &[u8]) {
    let (flags, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
    let (days, rest) = rest.split_first().map_or((0, rest), |(d, r)| (*d, r));
    let mut fields = rest.splitn(3, |&b| b == 0).map(String::from_utf8_lossy);
    let name = fields.next().unwrap_or_default().into_owned();
    let path = fields.next().unwrap_or_default().into_owned();
    let domain = fields.next().map(|d| d.into_owned());
    let domain = if flags & 0x20 != 0 { domain } else { None };
    let same_site = match flags & 3 {
        0 => SameSite::Strict,
        2 => SameSite::None,
        _ => SameSite::Lax,
    };
    let secure = flags & 0x04 != 0;
    let http_only = flags & 0x08 != 0;
    let partitioned = flags & 0x10 != 0;
    let lifetime = if flags & 0x40 != 0 {
        CookieLifetime::Persistent(Duration::from_secs(u64::from(days) * 86_400 + 1))
    } else {
        CookieLifetime::BrowserSession
    };
    let chunking = (flags & 0x80 != 0).then(|| Chunking::new(usize::from(days % 17)));

    let mut builder = CookiePolicy::builder(name.clone())
        .path(path.clone())
        .same_site(same_site)
        .secure(secure)
        .http_only(http_only)
        .partitioned(partitioned)
        .lifetime(lifetime)
        .chunking(chunking);
    if let Some(d) = &domain {
        builder = builder.domain(d.clone());
    }
    let policy = match builder.build() {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{e}");
            assert!(
                !e.message().contains(['\r', '\n', '\0']),
                "the message quotes raw control characters: {e:?}"
            );
            let needs_secure = same_site == SameSite::None || partitioned || name.starts_with("__");
            assert!(
                !(plainly_valid(&name, &path, domain.as_deref()) && (secure || !needs_secure)),
                "refused a plainly valid policy {name:?} {path:?} {domain:?}: {e}"
            );
            return;
        }
        Ok(p) => p,
    };

    // What the policy reports is what was asked, and the prefixes' rules hold.
    assert_eq!(policy.name(), name);
    assert_eq!(policy.path(), path);
    assert_eq!(policy.domain(), domain.as_deref());
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("__host-") {
        assert!(secure && path == "/" && domain.is_none(), "{name:?}");
    }
    if lower.starts_with("__secure-") || same_site == SameSite::None || partitioned {
        assert!(secure, "{name:?} {same_site:?} partitioned={partitioned}");
    }

    let value = "AbC-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let expires_at = NOW.checked_add(Duration::from_secs(30 * 86_400)).unwrap();
    let expected_max_age = match lifetime {
        CookieLifetime::BrowserSession => None,
        CookieLifetime::Persistent(d) => Some(d.min(Duration::from_secs(30 * 86_400)).as_secs()),
    };
    let chunk_names = (0..policy.max_chunks()).map(|i| policy.chunk_name(i));
    for chunk_name in chunk_names {
        let first = match policy.render(&chunk_name, value, NOW, lifetime, Some(expires_at)) {
            Ok(rendered) => Some(rendered),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{e}");
                assert!(
                    chunk_name.len() + path.len() + domain.as_ref().map_or(0, String::len)
                        > MAX_SET_COOKIE_LEN - 200
                );
                None
            }
        };
        let removal = policy.render_removal(&chunk_name);
        let cases = first
            .iter()
            .map(|r| (r.as_str(), value, expected_max_age))
            .chain([(removal.as_str(), "", Some(0))]);
        for (rendered, expected_value, max_age) in cases {
            assert!(
                http::HeaderValue::from_str(rendered).is_ok(),
                "not a header value: {rendered:?}"
            );
            let c = cookie::Cookie::parse(rendered)
                .unwrap_or_else(|e| panic!("unparsable {rendered:?}: {e}"));
            assert_eq!(c.name(), chunk_name, "{rendered}");
            assert_eq!(c.value(), expected_value, "{rendered}");
            assert_eq!(c.path(), Some(path.as_str()), "{rendered}");
            let domain_back = domain.as_deref().map(|d| d.strip_prefix('.').unwrap_or(d));
            assert_eq!(c.domain(), domain_back, "{rendered}");
            assert_eq!(c.secure().unwrap_or(false), secure, "{rendered}");
            assert_eq!(c.http_only().unwrap_or(false), http_only, "{rendered}");
            assert_eq!(c.partitioned().unwrap_or(false), partitioned, "{rendered}");
            let same_site_back = match same_site {
                SameSite::Strict => cookie::SameSite::Strict,
                SameSite::Lax => cookie::SameSite::Lax,
                SameSite::None => cookie::SameSite::None,
            };
            assert_eq!(c.same_site(), Some(same_site_back), "{rendered}");
            let max_age_back = c.max_age().map(|d| d.whole_seconds());
            assert_eq!(
                max_age_back,
                max_age.map(|s| i64::try_from(s).unwrap()),
                "{rendered}"
            );
            // Exactly the attributes we set: nothing smuggled in through a value.
            let expected_attrs = 2 // Path, SameSite
                + usize::from(secure)
                + usize::from(http_only)
                + usize::from(partitioned)
                + usize::from(domain.is_some())
                + if max_age.is_some() { 2 } else { 0 };
            assert_eq!(rendered.matches("; ").count(), expected_attrs, "{rendered}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// payload_decode
// ---------------------------------------------------------------------------------------------

/// The nesting depth of a JSON value (a scalar is 0).
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A typed target for the payload, to reach the struct paths of serde (duplicate fields,
/// out-of-range numbers).
#[derive(Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Typed {
    n: u8,
    s: Option<String>,
    v: Option<Vec<i64>>,
}

/// Fuzz target `payload_decode`: byte 0 picks the mode (low 2 bits) and whether byte 1 is the
/// envelope's flags (bit 7; otherwise the flags are the JSON codec's `0x01`); the rest is the
/// payload, sealed with a known key and opened.
pub fn payload_decode(data: &[u8]) {
    let (selector, rest) = data.split_first().map_or((0, data), |(s, r)| (*s, r));
    let (flags, payload) = if selector & 0x80 != 0 {
        rest.split_first().map_or((1, rest), |(f, r)| (*f, r))
    } else {
        (1, rest)
    };
    let mode = Mode::ALL[usize::from(selector & 3)];
    let sealer = &PAYLOAD_SEALERS[usize::from(selector & 3)];
    let times = Timestamps {
        created: NOW,
        issued: NOW,
        expires: NOW.checked_add(Duration::from_secs(3600)).unwrap(),
    };
    let nonce = vec![0x5a; mode.nonce_len()];
    let token = match sealer.seal_raw_for_vectors(NOW, &times, flags, payload, &nonce) {
        Ok(token) => token,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::PayloadTooLarge, "{e}");
            assert!(mode.encoded_len(payload.len()) > sealer.max_token_len());
            return;
        }
    };
    let reference = serde_json::from_slice::<Value>(payload).ok();
    let within_limits = payload.len() <= PAYLOAD_MAX_BYTES
        && reference
            .as_ref()
            .is_some_and(|v| depth(v) <= Codec::DEFAULT_MAX_DEPTH);
    let acceptable = flags == 1 && within_limits;
    match sealer.open_at::<Value>(NOW, &token) {
        Ok(opened) => {
            assert!(
                acceptable,
                "opened a payload serde_json or the limits refuse"
            );
            assert_eq!(Some(opened.value()), reference.as_ref());
            assert_eq!(opened.meta().times(), times);
        }
        Err(r) => {
            assert!(!acceptable, "refused an acceptable payload: {r:?}");
            assert_eq!(r, Rejection::Decode);
        }
    }
    // The codec on its own (no flags) agrees.
    assert_eq!(Codec::new().decode_value(payload).is_ok(), within_limits);
    // A typed target: the codec accepts exactly what serde_json and the limits accept.
    let typed_reference = serde_json::from_slice::<Typed>(payload).ok();
    let typed = sealer.open_at::<Typed>(NOW, &token);
    match typed {
        Ok(opened) => {
            assert!(acceptable);
            assert_eq!(Some(opened.value()), typed_reference.as_ref());
        }
        Err(r) => {
            assert_eq!(r, Rejection::Decode);
            assert!(!acceptable || typed_reference.is_none());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic seeds
// ---------------------------------------------------------------------------------------------

fn seal_fixed(sealer: &Sealer, payload: &[u8], nonce_byte: u8) -> String {
    let times = Timestamps {
        created: NOW,
        issued: NOW,
        expires: NOW.checked_add(sealer.lifetime()).unwrap(),
    };
    let nonce = vec![nonce_byte; sealer.mode().nonce_len()];
    sealer
        .seal_raw_for_vectors(NOW, &times, 1, payload, &nonce)
        .unwrap()
}

fn sealed_payload_text(data: &str) -> Vec<u8> {
    format!(r#"{{"id":"{SEED_SESSION_ID}","data":{data}}}"#).into_bytes()
}

/// The generated part of the corpus: `(target, file name, bytes)`. Valid tokens and headers
/// under the harness's fixed keys and nonces, so regenerating gives the same bytes.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, mode) in Mode::ALL.into_iter().enumerate() {
        let (_, sealer) = &OPENERS[i];
        let token = seal_fixed(sealer, br#"{"user":"ann","n":1}"#, 7);
        out.push((
            "open_token",
            format!("valid-{}", mode.as_str()),
            token.into_bytes(),
        ));
    }
    let older = Sealer::builder(
        KeyRing::builder().primary(KEY_B.clone()).build().unwrap(),
        NAME,
    )
    .build()
    .unwrap();
    out.push((
        "open_token",
        "valid-older-key".to_owned(),
        seal_fixed(&older, b"[]", 9).into_bytes(),
    ));

    let plain = MANAGERS[0].sealer();
    let token = seal_fixed(plain, &sealed_payload_text(r#"{"user":"ann"}"#), 3);
    let cases = [
        ("valid-alone", format!("{NAME}={token}")),
        (
            "valid-among-neighbours",
            format!("theme=dark; null; ={NAME}; {NAME}={token}; lang=en"),
        ),
        (
            "garbage-then-valid",
            format!("{NAME}=garbage; {NAME}={token}"),
        ),
        (
            "two-headers",
            format!("{NAME}=AAAA; other=1\n{NAME}={token}"),
        ),
        (
            "chunked",
            format!("{NAME}={}; {NAME}.1={}", &token[..100], &token[100..]),
        ),
    ];
    for (name, header) in cases {
        out.push(("cookie_header", name.to_owned(), header.into_bytes()));
    }

    // chunk_assembly: byte 0 picks the manager (0: 2 chunks, 1: 3, 2: 4).
    let chunked = CHUNKED_MANAGERS[1].sealer();
    let big = format!(r#"{{"user":"ann","pad":"{}"}}"#, "x".repeat(300));
    let token = seal_fixed(chunked, &sealed_payload_text(&big), 5);
    let (a, rest) = token.split_at(token.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    let small = seal_fixed(chunked, &sealed_payload_text(r#"{"user":"ann"}"#), 6);
    let (s0, s1) = small.split_at(small.len() / 2);
    let cases = [
        (
            "valid-three-chunks",
            format!("\u{1}{NAME}=3.{a}; {NAME}.1={b}; {NAME}.2={c}"),
        ),
        ("valid-one-chunk", format!("\u{0}{NAME}={small}")),
        (
            "valid-shrinks-to-one",
            format!("\u{1}{NAME}=2.{s0}; {NAME}.1={s1}"),
        ),
        (
            "valid-with-stray-chunk",
            format!("\u{2}{NAME}={small}; {NAME}.3=stray"),
        ),
        (
            "valid-chunks-across-headers",
            format!("\u{1}{NAME}.2={c}\n{NAME}=3.{a}\n{NAME}.1={b}"),
        ),
    ];
    for (name, input) in cases {
        out.push(("chunk_assembly", name.to_owned(), input.into_bytes()));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// chunk_assembly
// ---------------------------------------------------------------------------------------------

/// The index of a chunk name of ours (`session`, `session.1`, …) below `max`, as the documented
/// naming (canonical decimal, no leading zero) gives it: written here independently of the crate.
pub fn chunk_index_of(name: &str, max: usize) -> Option<usize> {
    if name == NAME {
        return Some(0);
    }
    let rest = name.strip_prefix(NAME)?.strip_prefix('.')?;
    if rest.is_empty() || rest.starts_with('0') || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let index: usize = rest.parse().ok()?;
    (index < max).then_some(index)
}

/// Managers that split a session across 2, 3 and 4 cookies.
pub static CHUNKED_MANAGERS: LazyLock<[SessionManager; 3]> =
    LazyLock::new(|| [manager(Some(2)), manager(Some(3)), manager(Some(4))]);

/// Fuzz target `chunk_assembly`: byte 0 picks a manager that splits sessions across 2, 3 or 4
/// cookies; the rest are `Cookie` header values, one per line. The session is loaded, written to
/// (a new entry), and finished. Never panics, and:
///
/// - no deletion cookie names a chunk the same response writes; when the session opened, the
///   only chunks expired are those past the ones written (a session that now fits in fewer
///   cookies, or stray chunks sent beside it), never one of the chunks it is written to;
/// - every `Set-Cookie` is within the budget and parses, and the written chunks are exactly
///   `session`, `session.1`, … in order;
/// - a browser's jar (the request's cookies, with the response applied) opens again, to the same
///   session id when the session had opened, with the new entry: the response never leaves a
///   chunk behind that would break the assembly, nor deletes one it needs.
pub fn chunk_assembly(data: &[u8]) {
    let (selector, rest) = data.split_first().map_or((0, data), |(s, r)| (*s, r));
    let manager = &CHUNKED_MANAGERS[usize::from(selector) % CHUNKED_MANAGERS.len()];
    let max = manager.policy().max_chunks();
    let values: Vec<&[u8]> = rest.split(|&b| b == b'\n').take(16).collect();

    // The browser's jar as far as our chunks go: the request's last value per chunk name (an
    // independent reading of the pairs; which duplicate the jar holds does not matter, as every
    // chunk the response leaves is one it writes).
    let mut jar: Vec<Option<String>> = vec![None; max];
    for raw in &values {
        let text = String::from_utf8_lossy(raw);
        for segment in text.split(';') {
            if let Some((n, v)) = segment.trim().split_once('=') {
                if let Some(i) = chunk_index_of(n.trim(), max) {
                    jar[i] = Some(v.trim().to_owned());
                }
            }
        }
    }

    let session = manager.load_from_cookie_headers(values.iter().copied());
    let opened = !session.is_new();
    let id = session.id();
    if opened {
        assert!(session.rejection().is_none());
        assert!(jar[0].is_some(), "opened without our first chunk: {data:?}");
    }
    session.insert("fuzz", &"chunked").unwrap();
    let out = match manager.finish_at(NOW, &session) {
        Ok(out) => out,
        Err(e) => {
            // Only an opened session that grew past the configured chunks may fail to fit.
            assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{e}");
            assert!(opened, "a fresh session with one entry did not fit: {e}");
            return;
        }
    };
    let mut written = Vec::new();
    let mut deleted = Vec::new();
    for raw in &out {
        let c = parse_set_cookie(raw);
        let index = chunk_index_of(c.name(), max)
            .unwrap_or_else(|| panic!("a cookie that is not ours: {raw}"));
        if c.value().is_empty() {
            assert_eq!(c.max_age(), Some(cookie::time::Duration::ZERO), "{raw}");
            deleted.push(index);
            jar[index] = None;
        } else {
            written.push(index);
            jar[index] = Some(c.value().to_owned());
        }
    }
    assert!(!written.is_empty(), "a written session sets a cookie");
    for (expected, index) in written.iter().enumerate() {
        assert_eq!(*index, expected, "chunks out of order: {out:?}");
    }
    for index in &deleted {
        assert!(
            *index >= written.len(),
            "deleted chunk {index} while writing {} chunks (opened: {opened}): {data:?} -> {out:?}",
            written.len()
        );
    }
    let header: String = jar
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let v = v.as_ref()?;
            let name = if i == 0 {
                NAME.to_owned()
            } else {
                format!("{NAME}.{i}")
            };
            Some(format!("{name}={v}; "))
        })
        .collect();
    let reopened = manager.load_from_cookie_headers([header.as_bytes()]);
    assert!(
        !reopened.is_new(),
        "the jar after the response does not open ({:?}): {data:?} -> {out:?}",
        reopened.rejection()
    );
    if opened {
        assert_eq!(reopened.id(), id, "the session id changed");
    }
    assert_eq!(
        reopened.get::<String>("fuzz").unwrap().as_deref(),
        Some("chunked")
    );
}

// ---------------------------------------------------------------------------------------------
// config_parse
// ---------------------------------------------------------------------------------------------

/// The secret planted wherever an input says `$SECRET` (32 bytes, standard base64): no error may
/// repeat any 16 characters of it.
#[cfg(feature = "config")]
pub const MARKER_SECRET: &str = "Q2FuYXJ5U2VjcmV0TWFya2VyOTg3NjU0MzIxMHh5eno=";

/// An empty folder for relative `secret_file` paths, so that no input reads a file of ours.
#[cfg(feature = "config")]
static EMPTY_DIR: LazyLock<std::path::PathBuf> = LazyLock::new(|| {
    let dir =
        std::env::temp_dir().join(format!("sealed-session-fuzz-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
});

/// Fails if the error repeats 16 characters of the secret that do not also stand somewhere that
/// is not a secret (`public`): a cookie name, say, may be quoted in a message, and the fuzzer
/// may well have copied part of the secret there.
#[cfg(feature = "config")]
fn assert_no_leak(e: &sealed_session::Error, text: &str, public: &str) {
    let shown = format!("{e} {e:?}");
    let marker: Vec<char> = MARKER_SECRET.chars().collect();
    for window in marker.windows(16) {
        let piece: String = window.iter().collect();
        assert!(
            public.contains(&piece) || !shown.contains(&piece),
            "the error repeats the secret: {shown:?} for {text:?}"
        );
    }
}

/// Everything in the TOML that is not a secret, by an independent parse: table keys, and the
/// strings of every field but `secret`. Nothing when it does not parse: syntax errors keep only
/// short runs of the text (sanitized), so no part of the secret may survive them.
#[cfg(feature = "config")]
fn toml_public_text(toml_text: &str) -> String {
    fn walk(value: &toml::Value, field: &str, out: &mut String) {
        match value {
            toml::Value::String(s) if field != "secret" => {
                out.push_str(s);
                out.push('\u{1}');
            }
            toml::Value::Array(items) => items.iter().for_each(|v| walk(v, field, out)),
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.push_str(k);
                    out.push('\u{1}');
                    walk(v, k, out);
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if let Ok(table) = toml_text.parse::<toml::Table>() {
        walk(&toml::Value::Table(table), "", &mut out);
    }
    out
}

/// Fuzz target `config_parse` (feature `config`): the bytes (non-UTF-8 replaced) are a TOML text,
/// then, after the first `0x00`, `NAME=VALUE` lines given as environment variables; `$SECRET`
/// anywhere becomes [`MARKER_SECRET`]. Parsed by `Config::from_toml_str` and by a loader with
/// the variables on top. Never panics; an error is `InvalidConfig`, `InvalidKey` or
/// `InvalidKeyRing`, and repeats no 16 characters of the secret except those that also stand
/// where no secret goes (anything but a `secret` field and the `SEALED_SESSION_KEYS` value, by an
/// independent TOML parse). A loaded config gives a key ring.
///
/// Inputs with a `/` or a `\u`/`\U` escape are skipped, and so are variables naming a file:
/// they could name a file outside the empty folder relative `secret_file` paths start from
/// (reading files is not what is fuzzed here).
#[cfg(feature = "config")]
pub fn config_parse(data: &[u8]) {
    let text = String::from_utf8_lossy(data).replace("$SECRET", MARKER_SECRET);
    if text.contains('/') || text.contains("\\u") || text.contains("\\U") {
        return;
    }
    let (toml_text, env_text) = text.split_once('\0').unwrap_or((&text, ""));
    let vars: Vec<(String, String)> = env_text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if vars
        .iter()
        .any(|(k, _)| k.contains("FILE") || k.contains("CONFIG"))
    {
        return;
    }
    let toml_public = toml_public_text(toml_text);
    let mut all_public = toml_public.clone();
    for (k, v) in &vars {
        all_public.push_str(k);
        all_public.push('\u{1}');
        if k != "SEALED_SESSION_KEYS" {
            all_public.push_str(v);
            all_public.push('\u{1}');
        }
    }
    let check = |e: &sealed_session::Error, public: &str| {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::InvalidConfig | ErrorKind::InvalidKey | ErrorKind::InvalidKeyRing
            ),
            "{e:?} for {text:?}"
        );
        assert_no_leak(e, &text, public);
    };
    match sealed_session::config::Config::from_toml_str(toml_text) {
        Ok(config) => {
            let _ = config.key_ring();
        }
        Err(e) => check(&e, &toml_public),
    }
    let loaded = sealed_session::config::Config::loader()
        .toml(toml_text)
        .base_dir(EMPTY_DIR.as_path())
        .env_vars(vars)
        .load();
    match loaded {
        Ok(config) => {
            let _ = config.key_ring();
            let _ = config.cookie_name();
        }
        Err(e) => check(&e, &all_public),
    }
}

// ---------------------------------------------------------------------------------------------
// cache_entry
// ---------------------------------------------------------------------------------------------

/// A stand-in for Redis on 127.0.0.1: it answers the lookup (`MGET`, or `GETRANGE`s in a
/// `MULTI`/`EXEC`) with no generation and the bytes
/// last given to [`FakeRedis::serve`] as the entry, and anything else with `+OK`. Enough for a
/// read: the cache's lookup is one `MGET` of the namespace generation and the entry.
#[cfg(feature = "redis")]
pub struct FakeRedis {
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
    entry: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    /// The arguments of the last command that was not an `MGET` (a write's script call holds the
    /// entry: how the committed sealed seed was captured).
    last_command: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

#[cfg(feature = "redis")]
impl FakeRedis {
    /// Listen on an ephemeral loopback port, one thread per connection.
    pub fn start() -> FakeRedis {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let entry: Arc<std::sync::Mutex<Option<Vec<u8>>>> = Arc::default();
        let last_command: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
        let shared = Arc::clone(&entry);
        let shared_last = Arc::clone(&last_command);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let entry = Arc::clone(&shared);
                let last_command = Arc::clone(&shared_last);
                std::thread::spawn(move || {
                    let mut writer = stream.try_clone().unwrap();
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    let mut read_line = |reader: &mut BufReader<std::net::TcpStream>| {
                        line.clear();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => None,
                            Ok(_) => Some(line.trim_end().to_owned()),
                        }
                    };
                    let mut queued: Vec<usize> = Vec::new();
                    loop {
                        let Some(head) = read_line(&mut reader) else {
                            return;
                        };
                        let count: usize = head.trim_start_matches('*').parse().unwrap_or(0);
                        let mut args = Vec::with_capacity(count);
                        for _ in 0..count {
                            let Some(len) = read_line(&mut reader) else {
                                return;
                            };
                            let len: usize = len.trim_start_matches('$').parse().unwrap_or(0);
                            let mut arg = vec![0; len + 2];
                            if reader.read_exact(&mut arg).is_err() {
                                return;
                            }
                            arg.truncate(len);
                            args.push(arg);
                        }
                        let command = args.first().map(|c| c.to_ascii_uppercase());
                        let bulk = |bytes: &[u8]| {
                            let mut r = format!("${}\r\n", bytes.len()).into_bytes();
                            r.extend_from_slice(bytes);
                            r.extend_from_slice(b"\r\n");
                            r
                        };
                        let reply = match command.as_deref() {
                            Some(b"MGET") => {
                                let mut r = b"*2\r\n$-1\r\n".to_vec();
                                match entry.lock().unwrap().as_deref() {
                                    None => r.extend_from_slice(b"$-1\r\n"),
                                    Some(bytes) => r.extend_from_slice(&bulk(bytes)),
                                }
                                r
                            }
                            // The lookup is MULTI, GETRANGE generation, GETRANGE entry, EXEC: no
                            // generation, and the entry cut to the range asked for (an absent key
                            // reads as an empty string, as in Redis).
                            Some(b"MULTI") => b"+OK\r\n".to_vec(),
                            Some(b"GETRANGE") => {
                                let last: usize = args
                                    .get(3)
                                    .and_then(|a| std::str::from_utf8(a).ok())
                                    .and_then(|a| a.parse().ok())
                                    .unwrap_or(0);
                                queued.push(last);
                                b"+QUEUED\r\n".to_vec()
                            }
                            Some(b"EXEC") => {
                                let mut r = format!("*{}\r\n", queued.len()).into_bytes();
                                for (i, last) in queued.drain(..).enumerate() {
                                    let value = if i == 0 {
                                        Vec::new()
                                    } else {
                                        let e = entry.lock().unwrap().clone().unwrap_or_default();
                                        e.get(..=last).unwrap_or(&e).to_vec()
                                    };
                                    r.extend_from_slice(&bulk(&value));
                                }
                                r
                            }
                            _ => {
                                *last_command.lock().unwrap() = args;
                                b"+OK\r\n".to_vec()
                            }
                        };
                        if writer.write_all(&reply).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeRedis {
            url,
            entry,
            last_command,
        }
    }

    /// The arguments of the last command other than a lookup.
    pub fn last_command(&self) -> Vec<Vec<u8>> {
        self.last_command.lock().unwrap().clone()
    }

    /// What the next reads find as the entry (`None`: no entry).
    pub fn serve(&self, entry: Option<Vec<u8>>) {
        *self.entry.lock().unwrap() = entry;
    }
}

/// The cache clock's time for [`cache_entry`], in nanoseconds.
#[cfg(feature = "redis")]
pub const CACHE_NOW_NANOS: u64 = 1_000_000_000_000;

/// A runtime, the fake server, and two caches over it (sealed with the harness's ring, and
/// unsealed), each with one namespace of JSON values under string keys.
#[cfg(feature = "redis")]
pub struct CacheRig {
    /// Runs the cache's async reads.
    pub runtime: tokio::runtime::Runtime,
    /// The store stand-in.
    pub server: FakeRedis,
    /// A namespace of the sealed cache.
    pub sealed: sealed_session::cache::Namespace<String, Value, sealed_session::cache::RedisStore>,
    /// A namespace of the unsealed cache.
    pub plain: sealed_session::cache::Namespace<String, Value, sealed_session::cache::RedisStore>,
    /// Held from [`FakeRedis::serve`] to the end of the reads: the corpus replay runs tests on
    /// several threads, and one server serves one entry at a time.
    pub turn: std::sync::Mutex<()>,
}

#[cfg(feature = "redis")]
impl std::fmt::Debug for CacheRig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheRig")
            .field("url", &self.server.url)
            .finish()
    }
}

/// The rig [`cache_entry`] reads through.
#[cfg(feature = "redis")]
pub static CACHE_RIG: LazyLock<CacheRig> = LazyLock::new(|| {
    use sealed_session::cache::{Cache, ManualCacheClock, RedisStore};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = FakeRedis::start();
    let build = |sealed: bool| {
        let store = runtime
            .block_on(
                RedisStore::builder(&server.url)
                    .unwrap()
                    .prefix("fz")
                    .op_timeout(Duration::from_secs(10))
                    .connect(),
            )
            .unwrap();
        let clock = ManualCacheClock::new();
        clock.set(Duration::from_nanos(CACHE_NOW_NANOS));
        let builder = Cache::builder()
            .store(store)
            .codec(Codec::new())
            .clock(clock);
        let builder = if sealed {
            builder.seal_with(ring())
        } else {
            builder.allow_unsealed(true)
        };
        builder.build().unwrap().namespace::<String, Value>("fuzz")
    };
    let sealed = build(true);
    let plain = build(false);
    CacheRig {
        runtime,
        server,
        sealed,
        plain,
        turn: std::sync::Mutex::new(()),
    }
});

/// A sealed entry for key `"k"` of the sealed cache, as its write sends it to the store (the
/// stand-in captures the script call's arguments): a seed from inside the sealed format. The
/// nonce is random, so the committed seed is generated once, not regenerated on every run.
#[cfg(feature = "redis")]
pub fn sealed_entry_seed(value: &Value) -> Vec<u8> {
    let rig = &*CACHE_RIG;
    let _turn = rig
        .turn
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // The stand-in answers the write's script call with `+OK`, which the store may refuse to
    // read as a result: the entry has been sent either way.
    let _ = rig
        .runtime
        .block_on(rig.sealed.insert_async(&"k".to_owned(), value));
    rig.server
        .last_command()
        .into_iter()
        .find(|arg| arg.len() > 16 + 33 && arg[16] == 0x35)
        .expect("the write sent a sealed shared entry")
}

/// Fuzz target `cache_entry` (feature `redis`): the bytes as an entry value read from the store
/// (`fresh_until:u64 || stale_until:u64 || payload`, big-endian nanoseconds), read by a sealed
/// and an unsealed cache. Never panics, and:
///
/// - the unsealed cache serves a value exactly when the entry is fresh at the cache's time and
///   the codec (size, depth, valid JSON) accepts the payload, and then that value;
/// - the sealed cache serves nothing that is not a sealed shared entry (`0x35`, a known key id,
///   and at least the seal's overhead long).
#[cfg(feature = "redis")]
pub fn cache_entry(data: &[u8]) {
    let rig = &*CACHE_RIG;
    let _turn = rig
        .turn
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    rig.server.serve(Some(data.to_vec()));
    let key = "k".to_owned();
    let plain = rig.runtime.block_on(rig.plain.get_async(&key));
    let sealed = rig.runtime.block_on(rig.sealed.get_async(&key));
    rig.server.serve(None);

    let fresh = data
        .first_chunk::<8>()
        .is_some_and(|f| CACHE_NOW_NANOS < u64::from_be_bytes(*f))
        && data.len() >= 16;
    let payload = data.get(16..).unwrap_or_default();
    let expected = if fresh {
        Codec::new().decode_value(payload).ok()
    } else {
        None
    };
    assert_eq!(plain, expected, "{data:?}");
    if sealed.is_some() {
        assert!(fresh && payload.len() >= 5 + 12 + 16, "{data:?}");
        assert_eq!(payload[0], 0x35);
        let kid = KeyId::new(u32::from_be_bytes(payload[1..5].try_into().unwrap()));
        assert!(KNOWN.contains(&kid));
    }
}

// ---------------------------------------------------------------------------------------------
// session_payload
// ---------------------------------------------------------------------------------------------

/// A manager whose sessions may span 8 cookies, so that its tokens (up to 8 × 4096 characters)
/// can carry a payload at the codec's 16 KiB limit: the codec's limits, not the cookie budget,
/// decide what opens.
pub static PAYLOAD_MANAGER: LazyLock<SessionManager> = LazyLock::new(|| manager(Some(8)));

/// The key [`session_payload`] inserts after reading: escapes in it, and sorted between keys a
/// payload is likely to hold.
pub const NEW_KEY: &str = "m\u{1}\"new\\";

/// The value inserted under [`NEW_KEY`].
fn new_value() -> Value {
    serde_json::json!({"b": [1, "\u{2028}"], "a": null})
}

/// An object's members as written, in order, duplicates kept, keys unescaped and values as
/// their text: what `serde_json::Value` (which keeps the last duplicate) hides.
struct Members(Vec<(String, Box<serde_json::value::RawValue>)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(member) = map.next_entry()? {
                    out.push(member);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A session id as SECURITY.md defines it: a JSON string of 22 canonical base64url characters
/// (16 bytes), by the fixtures' strict decoder.
fn session_id_in(raw: &serde_json::value::RawValue) -> Option<String> {
    let text: String = serde_json::from_str(raw.get()).ok()?;
    let bytes = strict_base64url(&text)?;
    (text.len() == 22 && bytes.len() == 16).then_some(text)
}

/// What a session payload must open to.
#[derive(Debug)]
pub struct ExpectedSession {
    /// The id, as written in the payload (unescaped).
    pub id: String,
    /// The lineage, `None` when absent or `null`.
    pub lineage: Option<String>,
    /// `data`'s members, the last of duplicate keys kept, with their text as written.
    pub data: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>,
}

/// A two-element array `["<id>", {…}]` within the limits (`Some`): SECURITY.md says it is
/// `Decode` (serde's derived decoder reads a sequence in field order, `id`, `lineage`, `data`),
/// so [`session_payload`] checks that it never opens.
fn documented_pair(payload: &[u8]) -> Option<Option<ExpectedSession>> {
    if payload.len() > PAYLOAD_MAX_BYTES
        || serde_json::from_slice::<Value>(payload)
            .map_or(true, |v| depth(&v) > Codec::DEFAULT_MAX_DEPTH)
    {
        return None;
    }
    let elements: Vec<Box<serde_json::value::RawValue>> = serde_json::from_slice(payload).ok()?;
    match &elements[..] {
        [id, data] => Some(expected_fields(Some(id), None, Some(data))),
        _ => None,
    }
}

/// The oracle of [`session_payload`], written from SECURITY.md ("Session payload") with
/// `serde_json` alone: the session a payload opens to, or `None` if it must be refused.
pub fn expected_session(payload: &[u8]) -> Option<ExpectedSession> {
    // The codec's limits: size, UTF-8 JSON with nothing after it, depth.
    if payload.len() > PAYLOAD_MAX_BYTES {
        return None;
    }
    let value: Value = serde_json::from_slice(payload).ok()?;
    if depth(&value) > Codec::DEFAULT_MAX_DEPTH {
        return None;
    }
    // The fields: from an object (each of `id`, `lineage`, `data` at most once, others
    // ignored) or, as serde's derived decoder reads a struct, from the array
    // `[id, lineage, data]` (exactly three elements; `lineage` may be `null`).
    match value {
        Value::Object(_) => {
            let Members(members) = serde_json::from_slice(payload).ok()?;
            let field = |name: &str| {
                let mut found = members.iter().filter(|(k, _)| k == name);
                match (found.next(), found.next()) {
                    (_, Some(_)) => Err(()),
                    (one, None) => Ok(one.map(|(_, v)| &**v)),
                }
            };
            let (id, lineage, data) = (
                field("id").ok()?,
                field("lineage").ok()?,
                field("data").ok()?,
            );
            expected_fields(id, lineage, data)
        }
        Value::Array(_) => {
            let elements: Vec<Box<serde_json::value::RawValue>> =
                serde_json::from_slice(payload).ok()?;
            match &elements[..] {
                [id, lineage, data] => expected_fields(Some(id), Some(lineage), Some(data)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn expected_fields(
    id: Option<&serde_json::value::RawValue>,
    lineage: Option<&serde_json::value::RawValue>,
    data: Option<&serde_json::value::RawValue>,
) -> Option<ExpectedSession> {
    let id = session_id_in(id?)?;
    let lineage = match lineage {
        None => None,
        Some(raw) if raw.get() == "null" => None,
        Some(raw) => Some(session_id_in(raw)?),
    };
    let Members(members) = serde_json::from_str(data?.get()).ok()?;
    // Inserting in order keeps the last of duplicate keys, as `serde_json::Map` does.
    let data = members.into_iter().collect();
    Some(ExpectedSession { id, lineage, data })
}

/// The payload the session layer must write for `expected` after the insert: the bytes
/// `serde_json` writes for `{"id":…,"lineage":…,"data":{…}}` (keys sorted, `lineage` omitted
/// while it equals `id`), each value's text as the cookie held it.
fn expected_written(expected: &ExpectedSession, new_value: &Value) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        lineage: Option<&'a str>,
        data: &'a std::collections::BTreeMap<String, Box<serde_json::value::RawValue>>,
    }
    let mut data = expected.data.clone();
    data.insert(
        NEW_KEY.to_owned(),
        serde_json::value::to_raw_value(new_value).unwrap(),
    );
    let lineage = expected.lineage.as_deref().filter(|l| *l != expected.id);
    serde_json::to_vec(&Out {
        id: &expected.id,
        lineage,
        data: &data,
    })
    .unwrap()
}

/// The token a response's `Set-Cookie` headers carry for our name, assembled from its chunks
/// (SECURITY.md, "Chunk format"); deletions are skipped.
fn token_of(out: &[String], max: usize) -> String {
    let mut pieces: Vec<Option<String>> = vec![None; max];
    for raw in out {
        let c = parse_set_cookie(raw);
        let index = chunk_index_of(c.name(), max)
            .unwrap_or_else(|| panic!("a cookie that is not ours: {raw}"));
        if !c.value().is_empty() {
            pieces[index] = Some(c.value().to_owned());
        }
    }
    let first = pieces[0].take().expect("the first chunk is written");
    let (count, first) = match first.split_once('.') {
        Some((n, rest)) => (
            n.parse::<usize>().expect("a canonical count"),
            rest.to_owned(),
        ),
        None => (1, first),
    };
    let mut token = first;
    for piece in pieces.iter_mut().take(count).skip(1) {
        token.push_str(&piece.take().expect("every counted chunk is written"));
    }
    assert!(
        pieces.iter().all(Option::is_none),
        "chunks past the count: {out:?}"
    );
    token
}

/// Fuzz target `session_payload`: the bytes as a session payload, sealed (fixed nonce) by the
/// session sealer of [`PAYLOAD_MANAGER`] and sent as its cookie. The session opens exactly when
/// [`expected_session`] says so, to its id, lineage and entries (`entries`, `keys`,
/// `get_value`); after an insert the response carries exactly the payload `serde_json` writes for
/// the same session plus the new entry ([`expected_written`]), or, only when that is over the
/// codec's byte limit, `SessionTooLarge`; the written cookies open again to the same session.
pub fn session_payload(payload: &[u8]) {
    let manager = &*PAYLOAD_MANAGER;
    let sealer = manager.sealer();
    let max = manager.policy().max_chunks();
    let times = Timestamps {
        created: NOW,
        issued: NOW,
        expires: NOW.checked_add(sealer.lifetime()).unwrap(),
    };
    let nonce = vec![0x3c; sealer.mode().nonce_len()];
    let token = match sealer.seal_raw_for_vectors(NOW, &times, 1, payload, &nonce) {
        Ok(token) => token,
        Err(e) => {
            // Only a token over the manager's length limit (far past the codec's 16 KiB).
            assert_eq!(e.kind(), ErrorKind::PayloadTooLarge, "{e}");
            assert!(payload.len() > PAYLOAD_MAX_BYTES, "{e}");
            return;
        }
    };
    let pair = documented_pair(payload);
    let expected = expected_session(payload);
    let header = format!("{NAME}={token}");
    let session = manager.load_from_cookie_headers([header.as_bytes()]);

    // Reading.
    let opened = !session.is_new();
    let expected = match pair {
        // SECURITY.md: the two-element array is `Decode`.
        Some(_) => {
            assert!(
                !opened,
                "opened a two-element array: {:?}",
                String::from_utf8_lossy(payload)
            );
            None
        }
        None => {
            assert_eq!(
                opened,
                expected.is_some(),
                "opened: {opened}, rejection {:?}, expected {expected:?}, for {:?}",
                session.rejection(),
                String::from_utf8_lossy(payload)
            );
            expected
        }
    };
    let parsed =
        |raw: &serde_json::value::RawValue| -> Value { serde_json::from_str(raw.get()).unwrap() };
    match &expected {
        Some(e) => {
            assert_eq!(session.rejection(), None);
            assert_eq!(session.id().map(|i| i.to_string()).as_deref(), Some(&*e.id));
            let lineage = e.lineage.as_deref().unwrap_or(&e.id);
            assert_eq!(
                session.lineage().map(|l| l.to_string()).as_deref(),
                Some(lineage)
            );
            let entries: Vec<(String, Value)> =
                e.data.iter().map(|(k, v)| (k.clone(), parsed(v))).collect();
            assert_eq!(
                session.entries(),
                entries,
                "{:?}",
                String::from_utf8_lossy(payload)
            );
            assert_eq!(session.keys(), e.data.keys().cloned().collect::<Vec<_>>());
            assert_eq!(session.len(), e.data.len());
            for (k, v) in &entries {
                assert_eq!(session.get_value(k).as_ref(), Some(v), "{k:?}");
                assert!(session.contains(k));
            }
        }
        None => {
            assert!(session.id().is_none() && session.entries().is_empty());
            assert_eq!(session.rejection(), Some(Rejection::Decode));
        }
    }

    // Writing.
    let value = new_value();
    session.insert(NEW_KEY, &value).unwrap();
    assert_eq!(session.get_value(NEW_KEY), Some(value.clone()));
    let written = expected.as_ref().map(|e| expected_written(e, &value));
    let out = match manager.finish_at(NOW, &session) {
        Ok(out) => out,
        Err(e) => {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::SessionTooLarge | ErrorKind::PayloadTooLarge
                ),
                "{e}"
            );
            let len = written.as_ref().map_or(0, Vec::len);
            assert!(len > PAYLOAD_MAX_BYTES, "refused to write {len} bytes: {e}");
            return;
        }
    };
    if let Some(w) = &written {
        assert!(w.len() <= PAYLOAD_MAX_BYTES, "wrote {} bytes", w.len());
    }
    let token = token_of(&out, max);
    let text = sealer
        .open_at::<Box<serde_json::value::RawValue>>(NOW, &token)
        .expect("the written session opens")
        .into_value();
    let reopened = sealer.open_at::<Value>(NOW, &token).unwrap().into_value();
    assert_eq!(serde_json::from_str::<Value>(text.get()).unwrap(), reopened);
    match (&expected, &written) {
        (Some(e), Some(w)) => {
            assert_eq!(
                text.get(),
                std::str::from_utf8(w).unwrap(),
                "the payload written for {:?}",
                String::from_utf8_lossy(payload)
            );
            assert_eq!(reopened["id"], Value::from(e.id.as_str()));
        }
        _ => {
            // A new session: a fresh id, no lineage written, only the new entry.
            let id = session
                .id()
                .expect("a written session has an id")
                .to_string();
            assert_eq!(
                reopened,
                serde_json::json!({"id": id, "data": {NEW_KEY: value}})
            );
        }
    }
    // The crate's own reader agrees with what it wrote.
    let again = manager.load_from_cookie_headers([format!("{NAME}={token}").as_bytes()]);
    assert!(!again.is_new(), "{:?}", again.rejection());
    assert_eq!(again.id(), session.id());
    assert_eq!(again.lineage(), session.lineage());
    assert_eq!(again.entries(), session.entries());
}
