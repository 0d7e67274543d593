//! Integration tests of the session layer through the public API only: [`CookiePolicy`],
//! [`SessionManager`] and [`Session`], with an injected [`ManualClock`] and every `Set-Cookie`
//! parsed back with the `cookie` crate (attributes are compared field by field, never by
//! substring).
//!
//! Covered (issue 3 and the rows 1–2, 14, 16–18, 20–21, 28–35 of SECURITY.md's checklist), one
//! module per subject:
//! - every attribute combination (name prefix × Path × Domain × SameSite × Secure × HttpOnly ×
//!   Partitioned × lifetime) on the first, update and deletion cookies, invalid combinations as
//!   build errors, and attribute injection refused at build time;
//! - Max-Age and Expires on persistent cookies, capped at 400 days and at the absolute expiry;
//! - when a `Set-Cookie` is sent (writes, renew, purge, re-seal after rotation or mode change,
//!   rolling refresh) and when it is not (read-only requests, untouched sessions);
//! - every rejection reason: a fresh session, and one deletion cookie or none as configured;
//! - malformed neighbours, several `Cookie` lines, duplicates of our name, 5000 tiny cookies;
//! - the 4096-byte boundary (4096 accepted, 4097 refused), chunking round trips, and missing,
//!   reordered, foreign and leftover chunks;
//! - idle, absolute and rolling-refresh time limits; 100 concurrent first requests.
//!
//! The fixtures and helpers below are shared by every module (`use super::*`); what only one
//! subject needs lives in its module.
//!
//! Table-driven tests loop over a `Vec` of cases and name the case in every assertion message.

// Helpers outside `#[test]` functions unwrap and panic too: in a test a panic is a failed
// assertion, not a crash on hostile input (the same reasoning as `clippy.toml`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a test failure"
)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Barrier};

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use sealed_session::{
    Chunking, Clock, CookieLifetime, CookiePolicy, CookiePolicyBuilder, ErrorKind, Key, KeyRing,
    ManualClock, Mode, Rejection, SameSite, Sealer, Session, SessionBuilder, SessionManager,
    SessionStatus, TokenMeta, UnixTime, MAX_CANDIDATES, MAX_COOKIE_LIFETIME, MAX_SET_COOKIE_LEN,
};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers
// ---------------------------------------------------------------------------------------------

#[path = "../common/fixtures.rs"]
mod fixtures;

use fixtures::{at, ring_of, secs, T0};

/// The cookie name every manager uses unless a test says otherwise.
const NAME: &str = "sid";
/// One day in seconds.
const DAY: u64 = 86_400;
/// The absolute lifetime of the time-test managers: three hours.
const LIFETIME: u64 = 3 * 3600;
/// The idle timeout of the time-test managers: thirty minutes.
const IDLE: u64 = 1800;
/// The rolling-refresh point of the time-test managers (a quarter of `IDLE`).
const REFRESH: u64 = IDLE / 4;

fn unix(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap()
}

fn policy(name: &str) -> CookiePolicy {
    CookiePolicy::builder(name).build().unwrap()
}

fn to_cookie_same_site(s: SameSite) -> cookie::SameSite {
    match s {
        SameSite::Strict => cookie::SameSite::Strict,
        SameSite::Lax => cookie::SameSite::Lax,
        SameSite::None => cookie::SameSite::None,
    }
}

/// A manager and the manual clock it reads.
#[derive(Debug, Clone)]
struct Env {
    manager: SessionManager,
    clock: Arc<ManualClock>,
}

impl Env {
    /// A manager over `ring` with `policy`, its clock at `T0`, configured further by `f`.
    fn with(
        ring: KeyRing,
        policy: CookiePolicy,
        f: impl FnOnce(SessionBuilder) -> SessionBuilder,
    ) -> Env {
        let clock = Arc::new(ManualClock::new(T0));
        let manager = f(SessionManager::builder(ring)
            .with_cookie_policy(policy)
            .with_clock(clock.clone()))
        .build()
        .unwrap();
        Env { manager, clock }
    }

    /// The time-test configuration: lifetime three hours, idle thirty minutes, refresh at a
    /// quarter of the idle window.
    fn timed(ring: KeyRing, policy: CookiePolicy, delete_rejected: bool) -> Env {
        Env::with(ring, policy, |b| {
            b.with_lifetime(secs(LIFETIME))
                .with_idle_timeout(Some(secs(IDLE)))
                .with_refresh_fraction(0.25)
                .with_delete_rejected(delete_rejected)
        })
    }

    fn now(&self) -> UnixTime {
        self.clock.now()
    }

    fn set(&self, t: UnixTime) {
        self.clock.set(t);
    }

    /// The session for a request carrying `jar`'s cookies.
    fn load(&self, jar: &Jar) -> Session {
        self.manager.load(&jar.headers())
    }

    /// The session for a request with these `Cookie` header lines.
    fn load_lines(&self, lines: &[&str]) -> Session {
        self.manager.load(&headers(lines))
    }

    /// `finish_at` at the clock's time; panics on an error.
    #[track_caller]
    fn finish(&self, session: &Session, what: &str) -> Vec<String> {
        self.manager
            .finish_at(self.now(), session)
            .unwrap_or_else(|e| panic!("{what}: finish_at failed: {e}"))
    }

    /// A first request that stores `data`; returns the `Set-Cookie` values.
    #[track_caller]
    fn issue(&self, data: &[(&str, Value)]) -> Vec<String> {
        let s = self.manager.load(&HeaderMap::new());
        for (k, v) in data {
            s.insert_value(*k, v.clone());
        }
        self.finish(&s, "issue")
    }

    /// A first request that stores `{"user": "ann"}`; returns the single token.
    #[track_caller]
    fn issue_token(&self) -> String {
        let out = self.issue(&[("user", json!("ann"))]);
        assert_eq!(out.len(), 1, "issue: {out:?}");
        parse(&out[0]).value
    }

    /// Open a token (one cookie's value, or the chunks joined) with this manager's sealer.
    #[track_caller]
    fn open(&self, token: &str, what: &str) -> (Value, TokenMeta) {
        let opened = self
            .manager
            .sealer()
            .open_at::<Value>(self.now(), token)
            .unwrap_or_else(|r| panic!("{what}: the issued token does not open: {r:?}"));
        let (value, meta, _) = opened.into_parts();
        (value, meta)
    }
}

/// A header map with one `Cookie` header per line.
fn headers(lines: &[&str]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for line in lines {
        h.append(COOKIE, HeaderValue::from_str(line).unwrap());
    }
    h
}

/// A browser's cookie store for one site: stores `Set-Cookie` values, forgets deleted cookies,
/// and sends the rest back in one `Cookie` header.
#[derive(Debug, Default, Clone)]
struct Jar {
    cookies: BTreeMap<String, String>,
}

impl Jar {
    fn from(set_cookies: &[String]) -> Jar {
        let mut jar = Jar::default();
        jar.store(set_cookies);
        jar
    }

    fn store(&mut self, set_cookies: &[String]) {
        for s in set_cookies {
            let c = parse(s);
            if c.max_age == Some(0) {
                self.cookies.remove(&c.name);
            } else {
                self.cookies.insert(c.name, c.value);
            }
        }
    }

    fn with(mut self, name: &str, value: &str) -> Jar {
        self.cookies.insert(name.to_owned(), value.to_owned());
        self
    }

    fn line(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn headers(&self) -> HeaderMap {
        if self.cookies.is_empty() {
            HeaderMap::new()
        } else {
            headers(&[&self.line()])
        }
    }

    fn names(&self) -> BTreeSet<String> {
        self.cookies.keys().cloned().collect()
    }
}

/// The attributes that must be identical on the first, update and deletion cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Attrs {
    path: Option<String>,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<cookie::SameSite>,
    partitioned: bool,
}

impl Attrs {
    /// What a policy should put on every cookie, stated from the policy's getters.
    fn of(p: &CookiePolicy) -> Attrs {
        Attrs {
            path: Some(p.path().to_owned()),
            domain: p.domain().map(|d| d.trim_start_matches('.').to_owned()),
            secure: p.secure(),
            http_only: p.http_only(),
            same_site: Some(to_cookie_same_site(p.same_site())),
            partitioned: p.partitioned(),
        }
    }
}

/// A `Set-Cookie` value parsed back with the `cookie` crate.
#[derive(Debug, Clone)]
struct Parsed {
    raw: String,
    name: String,
    value: String,
    attrs: Attrs,
    max_age: Option<i64>,
    expires: Option<i64>,
}

impl Parsed {
    fn is_deletion(&self) -> bool {
        self.max_age == Some(0)
    }
}

#[track_caller]
fn parse(raw: &str) -> Parsed {
    let c = cookie::Cookie::parse(raw.to_owned())
        .unwrap_or_else(|e| panic!("unparseable Set-Cookie {raw:?}: {e}"));
    Parsed {
        raw: raw.to_owned(),
        name: c.name().to_owned(),
        value: c.value().to_owned(),
        attrs: Attrs {
            path: c.path().map(str::to_owned),
            domain: c.domain().map(str::to_owned),
            secure: c.secure().unwrap_or(false),
            http_only: c.http_only().unwrap_or(false),
            same_site: c.same_site(),
            partitioned: c.partitioned().unwrap_or(false),
        },
        max_age: c.max_age().map(|d| d.whole_seconds()),
        expires: c.expires_datetime().map(|t| t.unix_timestamp()),
    }
}

/// Assert `c` is a deletion cookie for `name` with `attrs`: empty value, Max-Age=0 and an
/// Expires in the past.
#[track_caller]
fn assert_deletion(c: &Parsed, name: &str, attrs: &Attrs, now: UnixTime, what: &str) {
    assert_eq!(c.name, name, "{what}: deletion cookie name ({})", c.raw);
    assert_eq!(c.value, "", "{what}: deletion cookie value ({})", c.raw);
    assert_eq!(c.max_age, Some(0), "{what}: deletion Max-Age ({})", c.raw);
    assert_eq!(
        c.expires.map(|e| e < unix(now)),
        Some(true),
        "{what}: deletion Expires must be in the past ({})",
        c.raw
    );
    assert_eq!(&c.attrs, attrs, "{what}: deletion attributes ({})", c.raw);
}

/// The chunk index of `name` under the base name `base` (0 for the base itself).
fn chunk_index(base: &str, name: &str) -> Option<usize> {
    if name == base {
        return Some(0);
    }
    name.strip_prefix(base)?.strip_prefix('.')?.parse().ok()
}

/// The token carried by the non-deletion cookies of `out`, chunks joined in index order.
#[track_caller]
fn token_of(base: &str, out: &[String]) -> String {
    let mut chunks: Vec<(usize, String)> = out
        .iter()
        .map(|s| parse(s))
        .filter(|c| !c.is_deletion())
        .map(|c| {
            let i = chunk_index(base, &c.name)
                .unwrap_or_else(|| panic!("unexpected cookie {} in {out:?}", c.name));
            (i, c.value)
        })
        .collect();
    chunks.sort();
    for (want, (got, _)) in chunks.iter().enumerate() {
        assert_eq!(*got, want, "chunks must be contiguous: {out:?}");
    }
    chunks.into_iter().map(|(_, v)| v).collect()
}

/// Replace the character in the middle of `token` with another base64url character (inside
/// the ciphertext, so the header still parses and the tag fails).
fn tamper(token: &str) -> String {
    let mid = token.len() / 2;
    let replacement = if &token[mid..=mid] == "A" { "B" } else { "A" };
    let mut t = token.to_owned();
    t.replace_range(mid..=mid, replacement);
    t
}

/// A deterministic, varied string of `n` base64url characters.
fn blob(n: usize, seed: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..n)
        .map(|i| char::from(ALPHABET[(i * 7 + seed * 13 + i / 64) % 64]))
        .collect()
}

mod attributes;
mod budget;
mod chunks;
mod persistent;
mod rejections;
mod request;
mod set_cookie;
mod timeouts;
