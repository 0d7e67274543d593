//! Integration tests of the session layer through the public API only: [`CookiePolicy`],
//! [`SessionManager`] and [`Session`], with an injected [`ManualClock`] and every `Set-Cookie`
//! parsed back with the `cookie` crate (attributes are compared field by field, never by
//! substring).
//!
//! Covered (issue 3 and `SECURITY-CHECKLIST.md` rows 1–2, 14, 16–18, 20–21, 28–35):
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
use std::time::Duration;

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

/// The cookie name every manager uses unless a test says otherwise.
const NAME: &str = "sid";
/// A fixed "now" (2023-11-14T22:13:20Z).
const T0: UnixTime = UnixTime::from_secs(1_700_000_000);
/// One day in seconds.
const DAY: u64 = 86_400;
/// The absolute lifetime of the time-test managers: three hours.
const LIFETIME: u64 = 3 * 3600;
/// The idle timeout of the time-test managers: thirty minutes.
const IDLE: u64 = 1800;
/// The rolling-refresh point of the time-test managers (a quarter of `IDLE`).
const REFRESH: u64 = IDLE / 4;

/// `T0 + offset` seconds.
fn at(offset: u64) -> UnixTime {
    UnixTime::from_secs(T0.as_secs() + offset)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn unix(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap()
}

fn ring_of(key: &Key) -> KeyRing {
    KeyRing::builder().primary(key.clone()).build().unwrap()
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

// ---------------------------------------------------------------------------------------------
// Cookie attributes: every combination, on the first, update and deletion cookies
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct AttrCase {
    name: &'static str,
    path: &'static str,
    domain: Option<&'static str>,
    same_site: SameSite,
    secure: bool,
    http_only: bool,
    partitioned: bool,
    lifetime: CookieLifetime,
}

impl AttrCase {
    fn label(&self) -> String {
        format!(
            "name={} path={} domain={:?} samesite={:?} secure={} httponly={} partitioned={} \
             lifetime={:?}",
            self.name,
            self.path,
            self.domain,
            self.same_site,
            self.secure,
            self.http_only,
            self.partitioned,
            self.lifetime
        )
    }

    fn builder(&self) -> CookiePolicyBuilder {
        let mut b = CookiePolicy::builder(self.name)
            .path(self.path)
            .same_site(self.same_site)
            .secure(self.secure)
            .http_only(self.http_only)
            .partitioned(self.partitioned)
            .lifetime(self.lifetime);
        if let Some(d) = self.domain {
            b = b.domain(d);
        }
        b
    }

    /// The same settings through the manager builder's `with_*` setters.
    fn manager_builder(&self, ring: KeyRing) -> SessionBuilder {
        let mut b = SessionManager::builder(ring)
            .with_cookie_name(self.name)
            .with_path(self.path)
            .with_same_site(self.same_site)
            .with_secure(self.secure)
            .with_http_only(self.http_only)
            .with_partitioned(self.partitioned)
            .with_cookie_lifetime(self.lifetime);
        if let Some(d) = self.domain {
            b = b.with_domain(d);
        }
        b
    }

    /// The attribute words an error message may name, one per rule this combination breaks
    /// (empty when the combination is valid).
    fn violations(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.same_site == SameSite::None && !self.secure {
            v.push("SameSite");
        }
        if self.partitioned && !self.secure {
            v.push("Partitioned");
        }
        if self.name.starts_with("__Host-") {
            if !self.secure {
                v.push("Secure");
            }
            if self.path != "/" {
                v.push("Path");
            }
            if self.domain.is_some() {
                v.push("Domain");
            }
        }
        if self.name.starts_with("__Secure-") && !self.secure {
            v.push("Secure");
        }
        v
    }

    /// The attributes every cookie of this policy must carry, stated from the case itself.
    fn attrs(&self) -> Attrs {
        Attrs {
            path: Some(self.path.to_owned()),
            domain: self.domain.map(str::to_owned),
            secure: self.secure,
            http_only: self.http_only,
            same_site: Some(to_cookie_same_site(self.same_site)),
            partitioned: self.partitioned,
        }
    }
}

fn attr_cases() -> Vec<AttrCase> {
    let mut out = Vec::new();
    for name in ["sid", "__Host-sid", "__Secure-sid"] {
        for path in ["/", "/app"] {
            for domain in [None, Some("example.com")] {
                for same_site in [SameSite::Strict, SameSite::Lax, SameSite::None] {
                    for secure in [true, false] {
                        for http_only in [true, false] {
                            for partitioned in [true, false] {
                                for lifetime in [
                                    CookieLifetime::BrowserSession,
                                    CookieLifetime::Persistent(secs(DAY)),
                                ] {
                                    out.push(AttrCase {
                                        name,
                                        path,
                                        domain,
                                        same_site,
                                        secure,
                                        http_only,
                                        partitioned,
                                        lifetime,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Assert the Max-Age and Expires of a written (not deleted) cookie for `lifetime`.
#[track_caller]
fn assert_lifetime(c: &Parsed, lifetime: CookieLifetime, now: UnixTime, what: &str) {
    match lifetime {
        CookieLifetime::BrowserSession => {
            assert_eq!(c.max_age, None, "{what}: Max-Age ({})", c.raw);
            assert_eq!(c.expires, None, "{what}: Expires ({})", c.raw);
        }
        CookieLifetime::Persistent(d) => {
            let d = i64::try_from(d.as_secs()).unwrap();
            assert_eq!(c.max_age, Some(d), "{what}: Max-Age ({})", c.raw);
            assert_eq!(
                c.expires,
                Some(unix(now) + d),
                "{what}: Expires ({})",
                c.raw
            );
        }
    }
}

#[test]
fn every_attribute_combination_on_first_update_and_deletion_cookies() {
    let cases = attr_cases();
    assert_eq!(cases.len(), 3 * 2 * 2 * 3 * 2 * 2 * 2 * 2);
    let (mut valid, mut invalid) = (0, 0);
    for case in &cases {
        let label = case.label();
        let violations = case.violations();
        let built = case.builder().build();
        let via_manager = case.manager_builder(KeyRing::generate()).build();
        if !violations.is_empty() {
            invalid += 1;
            let Err(e) = built else {
                panic!("{label}: must be a build error");
            };
            let Err(e2) = via_manager else {
                panic!("{label}: must be a build error through the manager builder");
            };
            for e in [e, e2] {
                assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{label}: {e}");
                assert!(
                    violations.iter().any(|v| e.message().contains(v)),
                    "{label}: the message {:?} names none of {violations:?}",
                    e.message()
                );
            }
            continue;
        }
        valid += 1;
        let policy = built.unwrap_or_else(|e| panic!("{label}: must build, got {e}"));
        let want = case.attrs();
        assert_eq!(Attrs::of(&policy), want, "{label}: policy getters");
        let via_manager =
            via_manager.unwrap_or_else(|e| panic!("{label}: must build via with_*, got {e}"));
        assert_eq!(
            via_manager.policy(),
            &policy,
            "{label}: with_* builds the same policy"
        );
        let env = Env::with(KeyRing::generate(), policy, |b| b);

        // First request: a new session is written.
        let s1 = env.manager.load(&HeaderMap::new());
        s1.insert("user", &"ann").unwrap();
        let out1 = env.finish(&s1, &label);
        assert_eq!(out1.len(), 1, "{label}: first response {out1:?}");
        let first = parse(&out1[0]);
        assert_eq!(first.name, case.name, "{label}: first cookie name");
        assert_ne!(first.value, "", "{label}: first cookie value");
        assert_eq!(first.attrs, want, "{label}: first cookie ({})", first.raw);
        assert_lifetime(&first, case.lifetime, T0, &format!("{label}: first"));
        let header_ok = HeaderValue::from_str(&out1[0]).map(|v| v.as_bytes() == out1[0].as_bytes());
        assert_eq!(header_ok.ok(), Some(true), "{label}: a valid header value");

        // Second request: the cookie comes back and the handler writes.
        let mut jar = Jar::from(&out1);
        env.set(at(60));
        let s2 = env.load(&jar);
        assert_eq!(
            s2.get::<String>("user").unwrap(),
            Some("ann".to_owned()),
            "{label}: data after the first cookie"
        );
        assert_eq!(s2.id(), s1.id(), "{label}: same session id");
        s2.insert("visits", &2).unwrap();
        let out2 = env.finish(&s2, &label);
        assert_eq!(out2.len(), 1, "{label}: update response {out2:?}");
        let update = parse(&out2[0]);
        assert_eq!(update.name, case.name, "{label}: update cookie name");
        assert_ne!(update.value, first.value, "{label}: update re-sealed");
        assert_eq!(
            update.attrs, want,
            "{label}: update cookie ({})",
            update.raw
        );
        assert_lifetime(&update, case.lifetime, at(60), &format!("{label}: update"));

        // Third request: logout.
        jar.store(&out2);
        env.set(at(120));
        let s3 = env.load(&jar);
        assert_eq!(
            s3.get::<u32>("visits").unwrap(),
            Some(2),
            "{label}: update data"
        );
        s3.purge();
        assert_eq!(s3.status(), SessionStatus::Purged, "{label}");
        let out3 = env.finish(&s3, &label);
        assert_eq!(out3.len(), 1, "{label}: deletion response {out3:?}");
        let deletion = parse(&out3[0]);
        assert_deletion(&deletion, case.name, &want, at(120), &label);
        assert_eq!(
            out3[0],
            env.manager.policy().render_removal(case.name),
            "{label}: the deletion cookie is the policy's removal"
        );
        assert_eq!(first.attrs, update.attrs, "{label}: first vs update");
        assert_eq!(first.attrs, deletion.attrs, "{label}: first vs deletion");
        jar.store(&out3);
        assert!(jar.cookies.is_empty(), "{label}: the browser forgot it");
    }
    // 128 plain + 96 __Secure- + 24 __Host- combinations are valid.
    assert_eq!((valid, invalid), (248, 328));
}

#[test]
fn invalid_and_injected_attributes_are_build_errors_naming_the_attribute() {
    let cases: Vec<(&str, CookiePolicyBuilder, &str)> = vec![
        (
            "SameSite=None without Secure",
            CookiePolicy::builder(NAME)
                .secure(false)
                .same_site(SameSite::None),
            "SameSite",
        ),
        (
            "Partitioned without Secure",
            CookiePolicy::builder(NAME).secure(false).partitioned(true),
            "Partitioned",
        ),
        (
            "__Host- without Secure",
            CookiePolicy::builder("__Host-sid").secure(false),
            "Secure",
        ),
        (
            "__Host- with Path=/app",
            CookiePolicy::builder("__Host-sid").path("/app"),
            "Path",
        ),
        (
            "__Host- with a Domain",
            CookiePolicy::builder("__Host-sid").domain("example.com"),
            "Domain",
        ),
        (
            "__host- (lower case) with a Domain",
            CookiePolicy::builder("__host-sid").domain("example.com"),
            "Domain",
        ),
        (
            "__HOST- (upper case) without Secure",
            CookiePolicy::builder("__HOST-sid").secure(false),
            "Secure",
        ),
        (
            "__Secure- without Secure",
            CookiePolicy::builder("__Secure-sid").secure(false),
            "Secure",
        ),
        (
            "Path injecting a Domain",
            CookiePolicy::builder(NAME).path("/; Domain=evil"),
            "Path",
        ),
        (
            "Path with CR/LF",
            CookiePolicy::builder(NAME).path("/app\r\nSet-Cookie: evil=1"),
            "Path",
        ),
        (
            "Path with a tab",
            CookiePolicy::builder(NAME).path("/a\tb"),
            "Path",
        ),
        (
            "Path not starting with /",
            CookiePolicy::builder(NAME).path("app"),
            "Path",
        ),
        (
            "name with ;",
            CookiePolicy::builder("sid;Domain=evil"),
            "name",
        ),
        ("name with =", CookiePolicy::builder("a=b"), "name"),
        ("name with a space", CookiePolicy::builder("a b"), "name"),
        (
            "name with CR/LF",
            CookiePolicy::builder("sid\r\nSet-Cookie: evil=1"),
            "name",
        ),
        ("empty name", CookiePolicy::builder(""), "name"),
        (
            "Domain with CR/LF",
            CookiePolicy::builder(NAME).domain("example.com\r\nSet-Cookie: evil=1"),
            "Domain",
        ),
        (
            "Domain with ;",
            CookiePolicy::builder(NAME).domain("example.com; Secure"),
            "Domain",
        ),
        (
            "Domain with a space",
            CookiePolicy::builder(NAME).domain("exa mple.com"),
            "Domain",
        ),
        (
            "empty Domain",
            CookiePolicy::builder(NAME).domain(""),
            "Domain",
        ),
    ];
    // The same mistakes made through the manager builder's `with_*` setters.
    let ring = KeyRing::generate;
    let via_manager: Vec<(&str, SessionBuilder, &str)> = vec![
        (
            "with_path injecting a Domain",
            SessionManager::builder(ring()).with_path("/; Domain=evil"),
            "Path",
        ),
        (
            "with_cookie_name with ;",
            SessionManager::builder(ring()).with_cookie_name("sid;x"),
            "name",
        ),
        (
            "with_domain with CR/LF",
            SessionManager::builder(ring()).with_domain("example.com\r\nX: y"),
            "Domain",
        ),
        (
            "default __Host- name with a Domain",
            SessionManager::builder(ring()).with_domain("example.com"),
            "Domain",
        ),
        (
            "SameSite=None without Secure",
            SessionManager::builder(ring())
                .with_cookie_name(NAME)
                .with_secure(false)
                .with_same_site(SameSite::None),
            "SameSite",
        ),
        (
            "Partitioned without Secure",
            SessionManager::builder(ring())
                .with_cookie_name(NAME)
                .with_secure(false)
                .with_partitioned(true),
            "Partitioned",
        ),
    ];
    let errors = cases
        .into_iter()
        .map(|(label, b, attribute)| (label, b.build().map(|_| ()), attribute))
        .chain(
            via_manager
                .into_iter()
                .map(|(label, b, attribute)| (label, b.build().map(|_| ()), attribute)),
        );
    for (label, built, attribute) in errors {
        let Err(e) = built else {
            panic!("{label}: must be a build error");
        };
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{label}: {e}");
        assert!(
            e.message().contains(attribute),
            "{label}: the message {:?} must name {attribute}",
            e.message()
        );
        assert!(
            !e.message().contains('\r') && !e.message().contains('\n'),
            "{label}: the message must not carry raw CR/LF: {:?}",
            e.message()
        );
    }
    // The valid prefixed forms build and render what the prefixes require.
    let host = policy("__Host-sid");
    let c = parse(
        &host
            .render("__Host-sid", "v", T0, host.lifetime(), None)
            .unwrap(),
    );
    assert_eq!(
        (
            c.attrs.secure,
            c.attrs.path.as_deref(),
            c.attrs.domain.as_deref()
        ),
        (true, Some("/"), None),
        "__Host-: Secure, Path=/, no Domain"
    );
    let secure = CookiePolicy::builder("__Secure-sid")
        .domain("example.com")
        .build()
        .unwrap();
    let c = parse(
        &secure
            .render("__Secure-sid", "v", T0, secure.lifetime(), None)
            .unwrap(),
    );
    assert_eq!(
        (c.attrs.secure, c.attrs.domain.as_deref()),
        (true, Some("example.com")),
        "__Secure-"
    );
}

// ---------------------------------------------------------------------------------------------
// Persistent cookies: Max-Age and Expires, capped at 400 days and at the absolute expiry
// ---------------------------------------------------------------------------------------------

#[test]
fn persistent_cookies_carry_max_age_and_expires_capped_at_400_days_and_session_expiry() {
    struct Case {
        label: &'static str,
        cookie: u64,
        session: u64,
        // Offsets of the update and renew requests.
        later: u64,
    }
    let cases = vec![
        Case {
            label: "cookie shorter than the session",
            cookie: DAY,
            session: 7 * DAY,
            later: DAY / 2,
        },
        Case {
            label: "cookie longer than the session",
            cookie: 30 * DAY,
            session: 7 * DAY,
            later: 2 * DAY,
        },
        Case {
            label: "cookie over 400 days, session longer",
            cookie: 500 * DAY,
            session: 1000 * DAY,
            later: 100 * DAY,
        },
        Case {
            label: "cookie over 400 days, session shorter",
            cookie: 500 * DAY,
            session: 300 * DAY,
            later: 10 * DAY,
        },
    ];
    let cap = MAX_COOKIE_LIFETIME.as_secs();
    assert_eq!(cap, 400 * DAY);
    for case in cases {
        let label = case.label;
        let p = CookiePolicy::builder(NAME)
            .lifetime(CookieLifetime::Persistent(secs(case.cookie)))
            .build()
            .unwrap();
        let env = Env::with(KeyRing::generate(), p, |b| {
            b.with_lifetime(secs(case.session)).with_idle_timeout(None)
        });
        let expiry = T0.as_secs() + case.session;
        let expect = |now: UnixTime| {
            let remaining = expiry - now.as_secs();
            case.cookie.min(cap).min(remaining)
        };

        let out = env.issue(&[("user", json!("ann"))]);
        assert_eq!(out.len(), 1, "{label}");
        let c = parse(&out[0]);
        let want = i64::try_from(expect(T0)).unwrap();
        assert_eq!(c.max_age, Some(want), "{label}: first Max-Age ({})", c.raw);
        assert_eq!(c.expires, Some(unix(T0) + want), "{label}: first Expires");
        assert!(
            want <= i64::try_from(cap).unwrap(),
            "{label}: at most 400 days"
        );

        // An update later keeps the absolute expiry, so the cap can only shrink.
        env.set(at(case.later));
        let s = env.load(&Jar::from(&out));
        s.insert("n", &1).unwrap();
        let out2 = env.finish(&s, label);
        let c2 = parse(&out2[0]);
        let want2 = i64::try_from(expect(at(case.later))).unwrap();
        assert_eq!(
            c2.max_age,
            Some(want2),
            "{label}: update Max-Age ({})",
            c2.raw
        );
        assert_eq!(
            c2.expires,
            Some(unix(at(case.later)) + want2),
            "{label}: update Expires"
        );
        assert!(
            c2.expires.unwrap() <= i64::try_from(expiry).unwrap(),
            "{label}: never past the absolute expiry"
        );

        // A renewed session starts a new absolute lifetime.
        let s = env.load(&Jar::from(&out2));
        s.renew();
        let out3 = env.finish(&s, label);
        let c3 = parse(&out3[0]);
        let want3 = i64::try_from(case.cookie.min(cap).min(case.session)).unwrap();
        assert_eq!(
            c3.max_age,
            Some(want3),
            "{label}: renewed Max-Age ({})",
            c3.raw
        );
        assert_eq!(c3.expires, Some(unix(at(case.later)) + want3), "{label}");
    }
}

#[test]
fn set_cookie_lifetime_overrides_the_policy_for_one_response() {
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| {
        b.with_lifetime(secs(7 * DAY))
    });
    let out = env.issue(&[("user", json!("ann"))]);
    let c = parse(&out[0]);
    assert_eq!(
        (c.max_age, c.expires),
        (None, None),
        "browser-session default"
    );

    // "Remember me" on a read-only request: the new lifetime needs a Set-Cookie.
    env.set(at(60));
    let s = env.load(&Jar::from(&out));
    s.set_cookie_lifetime(CookieLifetime::Persistent(secs(30 * DAY)));
    assert_eq!(s.status(), SessionStatus::Changed);
    let out2 = env.finish(&s, "remember me");
    assert_eq!(out2.len(), 1, "{out2:?}");
    let c2 = parse(&out2[0]);
    let remaining = i64::try_from(7 * DAY - 60).unwrap();
    assert_eq!(
        c2.max_age,
        Some(remaining),
        "capped at the session's expiry"
    );
    assert_eq!(c2.expires, Some(unix(T0) + i64::try_from(7 * DAY).unwrap()));
    assert_eq!(c2.attrs, Attrs::of(env.manager.policy()));
}

// ---------------------------------------------------------------------------------------------
// When a Set-Cookie is sent
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Nothing,
    Write,
    Delete,
}

#[test]
fn set_cookie_only_when_changed_renewed_purged_or_resealed() {
    type Act = fn(&Session);
    let existing: Vec<(&str, Act, SessionStatus, Expect)> = vec![
        (
            "untouched",
            |_| {},
            SessionStatus::Unchanged,
            Expect::Nothing,
        ),
        (
            "get",
            |s| assert_eq!(s.get::<String>("user").unwrap(), Some("ann".into())),
            SessionStatus::Unchanged,
            Expect::Nothing,
        ),
        (
            "every read accessor",
            |s| {
                assert!(s.contains("user"));
                assert_eq!(s.keys(), vec!["n".to_owned(), "user".to_owned()]);
                assert_eq!(s.len(), 2);
                assert!(!s.is_empty());
                assert_eq!(s.entries().len(), 2);
                assert_eq!(s.get_value("n"), Some(json!(1)));
                assert!(s.id().is_some());
                assert_eq!(s.created(), Some(T0));
                assert_eq!(s.issued(), Some(T0));
                assert_eq!(s.expires(), Some(at(7 * DAY)));
                assert!(!s.is_new());
                assert_eq!(s.rejection(), None);
            },
            SessionStatus::Unchanged,
            Expect::Nothing,
        ),
        (
            "insert an equal value",
            |s| s.insert("user", &"ann").unwrap(),
            SessionStatus::Unchanged,
            Expect::Nothing,
        ),
        (
            "insert_value an equal value",
            |s| s.insert_value("n", json!(1)),
            SessionStatus::Unchanged,
            Expect::Nothing,
        ),
        (
            "remove an absent key",
            |s| assert_eq!(s.remove("absent"), None),
            SessionStatus::Unchanged,
            Expect::Nothing,
        ),
        (
            "remove_as an absent key",
            |s| assert_eq!(s.remove_as::<u32>("absent").unwrap(), None),
            SessionStatus::Unchanged,
            Expect::Nothing,
        ),
        (
            "insert a new key",
            |s| s.insert("theme", &"dark").unwrap(),
            SessionStatus::Changed,
            Expect::Write,
        ),
        (
            "insert a changed value",
            |s| s.insert("user", &"bob").unwrap(),
            SessionStatus::Changed,
            Expect::Write,
        ),
        (
            "insert_value",
            |s| s.insert_value("n", json!(2)),
            SessionStatus::Changed,
            Expect::Write,
        ),
        (
            "remove",
            |s| assert_eq!(s.remove("n"), Some(json!(1))),
            SessionStatus::Changed,
            Expect::Write,
        ),
        (
            "remove_as",
            |s| assert_eq!(s.remove_as::<u32>("n").unwrap(), Some(1)),
            SessionStatus::Changed,
            Expect::Write,
        ),
        (
            "clear",
            |s| s.clear(),
            SessionStatus::Changed,
            Expect::Write,
        ),
        (
            "renew",
            |s| s.renew(),
            SessionStatus::Renewed,
            Expect::Write,
        ),
        (
            "set_cookie_lifetime",
            |s| s.set_cookie_lifetime(CookieLifetime::Persistent(secs(DAY))),
            SessionStatus::Changed,
            Expect::Write,
        ),
        (
            "purge",
            |s| s.purge(),
            SessionStatus::Purged,
            Expect::Delete,
        ),
    ];
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| b);
    let issued = env.issue(&[("user", json!("ann")), ("n", json!(1))]);
    let jar = Jar::from(&issued);
    let attrs = Attrs::of(env.manager.policy());
    // A minute later: well inside the refresh window (30 minutes by default).
    env.set(at(60));
    for (label, act, status, expect) in existing {
        let s = env.load(&jar);
        let before = s.id();
        act(&s);
        assert_eq!(s.status(), status, "{label}: status");
        let out = env.finish(&s, label);
        let parsed: Vec<Parsed> = out.iter().map(|c| parse(c)).collect();
        match expect {
            Expect::Nothing => assert_eq!(out, Vec::<String>::new(), "{label}"),
            Expect::Write => {
                assert_eq!(parsed.len(), 1, "{label}: {out:?}");
                assert!(!parsed[0].is_deletion(), "{label}: a write ({out:?})");
                assert_eq!(parsed[0].attrs, attrs, "{label}");
                let (value, _) = env.open(&parsed[0].value, label);
                let id = s.id().unwrap();
                assert_eq!(
                    value["id"],
                    json!(id.to_string()),
                    "{label}: id in the token"
                );
                if status == SessionStatus::Renewed {
                    assert_ne!(Some(id), before, "{label}: a new id");
                } else {
                    assert_eq!(Some(id), before, "{label}: the same id");
                }
                let data: BTreeMap<String, Value> = s.entries().into_iter().collect();
                assert_eq!(value["data"], json!(data), "{label}: data in the token");
            }
            Expect::Delete => {
                assert_eq!(parsed.len(), 1, "{label}: {out:?}");
                assert_deletion(&parsed[0], NAME, &attrs, env.now(), label);
            }
        }
    }

    let fresh: Vec<(&str, Act, Expect)> = vec![
        ("untouched", |_| {}, Expect::Nothing),
        (
            "read",
            |s| assert_eq!(s.get::<String>("user").unwrap(), None),
            Expect::Nothing,
        ),
        (
            "insert then remove",
            |s| {
                s.insert("a", &1).unwrap();
                assert_eq!(s.remove("a"), Some(json!(1)));
            },
            Expect::Nothing,
        ),
        ("clear", |s| s.clear(), Expect::Nothing),
        (
            "set_cookie_lifetime alone",
            |s| s.set_cookie_lifetime(CookieLifetime::Persistent(secs(DAY))),
            Expect::Nothing,
        ),
        ("insert", |s| s.insert("a", &1).unwrap(), Expect::Write),
    ];
    for (label, act, expect) in fresh {
        let label = format!("no cookie, {label}");
        let s = env.manager.load(&HeaderMap::new());
        act(&s);
        let out = env.finish(&s, &label);
        match expect {
            Expect::Nothing => assert_eq!(out, Vec::<String>::new(), "{label}"),
            _ => {
                assert_eq!(out.len(), 1, "{label}: {out:?}");
                assert!(!parse(&out[0]).is_deletion(), "{label}");
                assert!(s.is_new(), "{label}");
            }
        }
    }
}

#[test]
fn reseal_after_key_rotation_or_mode_change_sends_a_cookie_keeping_the_session() {
    let old = Key::generate();
    let new = Key::generate();
    let before = Env::with(ring_of(&old), policy(NAME), |b| b);
    let signed = Env::with(ring_of(&new), policy(NAME), |b| b.with_mode(Mode::Signed));
    let rotated_ring = KeyRing::builder()
        .primary(new.clone())
        .older(old.clone())
        .build()
        .unwrap();
    let after = Env::with(rotated_ring, policy(NAME), |b| {
        b.with_also_open(Mode::Signed)
    });
    let only_new = Env::with(ring_of(&new), policy(NAME), |b| b);
    let cases: Vec<(&str, &Env)> = vec![("rotated key", &before), ("mode changed", &signed)];
    for (label, issuer) in cases {
        let out = issuer.issue(&[("user", json!("ann"))]);
        let old_token = token_of(NAME, &out);
        let old_id = issuer.open(&old_token, label).0["id"].clone();
        after.set(at(60));
        let s = after.load(&Jar::from(&out));
        assert_eq!(
            s.get::<String>("user").unwrap(),
            Some("ann".into()),
            "{label}"
        );
        assert_eq!(s.status(), SessionStatus::Unchanged, "{label}");
        let resealed = after.finish(&s, label);
        assert_eq!(resealed.len(), 1, "{label}: a read-only request re-seals");
        let token = token_of(NAME, &resealed);
        let (value, meta) = after.open(&token, label);
        assert_eq!(
            meta.key_id(),
            new.id(),
            "{label}: sealed under the new primary"
        );
        assert_eq!(meta.mode(), Mode::Aes256GcmSiv, "{label}: the current mode");
        assert_eq!(meta.created(), T0, "{label}: created kept");
        assert_eq!(meta.expires(), at(7 * DAY), "{label}: expiry kept");
        assert_eq!(meta.issued(), at(60), "{label}: issued moved");
        assert_eq!(value["id"], old_id, "{label}: the same session id");
        assert_eq!(value["data"], json!({"user": "ann"}), "{label}: data kept");
        // Opens without the old key once re-sealed, and the next request is quiet.
        only_new.set(at(60));
        let (v2, _) = only_new.open(&token, label);
        assert_eq!(v2, value, "{label}: opens under the new key alone");
        let s = after.load(&Jar::from(&resealed));
        assert_eq!(
            s.get::<String>("user").unwrap(),
            Some("ann".into()),
            "{label}"
        );
        assert_eq!(after.finish(&s, label), Vec::<String>::new(), "{label}");
    }
}

#[test]
fn untouched_session_is_never_opened_and_sends_nothing() {
    let key = Key::generate();
    let env = Env::timed(ring_of(&key), policy(NAME), true);
    let valid = env.issue_token();
    let stranger = Env::timed(ring_of(&Key::generate()), policy(NAME), true);
    let rotated = Env::timed(
        KeyRing::builder()
            .primary(Key::generate())
            .older(key.clone())
            .build()
            .unwrap(),
        policy(NAME),
        true,
    );
    let cases: Vec<(&str, &Env, String, UnixTime)> = vec![
        ("garbage cookie", &env, "garbage!".to_owned(), T0),
        ("valid cookie", &env, valid.clone(), at(60)),
        ("refresh due", &env, valid.clone(), at(REFRESH + 1)),
        ("expired", &env, valid.clone(), at(LIFETIME)),
        ("unknown key", &stranger, valid.clone(), T0),
        ("rotated key", &rotated, valid.clone(), T0),
        ("tampered", &env, tamper(&valid), T0),
    ];
    for (label, e, value, now) in cases {
        e.set(now);
        let s = e.load(&Jar::default().with(NAME, &value));
        assert!(!s.is_loaded(), "{label}: lazy");
        assert_eq!(e.finish(&s, label), Vec::<String>::new(), "{label}");
        assert!(!s.is_loaded(), "{label}: finish_at did not open it");
    }
}

#[test]
fn renew_changes_the_id_and_keeps_the_data() {
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| b);
    let out = env.issue(&[("user", json!("ann")), ("cart", json!([1, 2]))]);
    let (v0, _) = env.open(&token_of(NAME, &out), "first");
    env.set(at(600));
    let s = env.load(&Jar::from(&out));
    let old_id = s.id().unwrap();
    assert_eq!(v0["id"], json!(old_id.to_string()));
    s.renew();
    assert_eq!(s.status(), SessionStatus::Renewed);
    let new_id = s.id().unwrap();
    assert_ne!(new_id, old_id, "renew gives a new id");
    assert_eq!(s.get::<String>("user").unwrap(), Some("ann".into()));
    let renewed = env.finish(&s, "renew");
    assert_eq!(renewed.len(), 1, "{renewed:?}");
    let (value, meta) = env.open(&token_of(NAME, &renewed), "renewed");
    assert_eq!(
        value["id"],
        json!(new_id.to_string()),
        "the cookie carries the new id"
    );
    assert_eq!(value["data"], json!({"user": "ann", "cart": [1, 2]}));
    assert_eq!(
        meta.created(),
        at(600),
        "a renewed session has a new creation time"
    );
    // The next request opens to the new id.
    env.set(at(660));
    let next = env.load(&Jar::from(&renewed));
    assert_eq!(next.id(), Some(new_id));
    assert_eq!(next.get::<Vec<u32>>("cart").unwrap(), Some(vec![1, 2]));
    assert!(!next.is_new());
    assert_eq!(next.created(), Some(at(600)));
}

#[test]
fn purge_emits_a_deletion_cookie_matching_the_issued_cookie() {
    let policies = vec![
        policy(NAME),
        CookiePolicy::builder("__Host-sid")
            .same_site(SameSite::None)
            .partitioned(true)
            .build()
            .unwrap(),
        CookiePolicy::builder(NAME)
            .path("/app")
            .domain("example.com")
            .same_site(SameSite::Strict)
            .http_only(false)
            .secure(false)
            .lifetime(CookieLifetime::Persistent(secs(DAY)))
            .build()
            .unwrap(),
    ];
    for p in policies {
        let label = format!("{p:?}");
        let name = p.name().to_owned();
        let env = Env::with(KeyRing::generate(), p, |b| b);
        let out = env.issue(&[("user", json!("ann"))]);
        let issued = parse(&out[0]);
        env.set(at(60));
        let s = env.load(&Jar::from(&out));
        assert_eq!(
            s.get::<String>("user").unwrap(),
            Some("ann".into()),
            "{label}"
        );
        s.purge();
        assert!(s.is_empty(), "{label}");
        assert_eq!(s.id(), None, "{label}");
        let del = env.finish(&s, &label);
        assert_eq!(del.len(), 1, "{label}: {del:?}");
        assert_deletion(&parse(&del[0]), &name, &issued.attrs, at(60), &label);

        // Writing after a purge starts a new session with a new id.
        let s = env.load(&Jar::from(&out));
        let old = s.id().unwrap();
        s.purge();
        s.insert("user", &"bob").unwrap();
        assert_eq!(s.status(), SessionStatus::Renewed, "{label}");
        let new = s.id().unwrap();
        assert_ne!(new, old, "{label}");
        let w = env.finish(&s, &label);
        assert_eq!(w.len(), 1, "{label}: {w:?}");
        let (value, _) = env.open(&token_of(&name, &w), &label);
        assert_eq!(value["id"], json!(new.to_string()), "{label}");
        assert_eq!(value["data"], json!({"user": "bob"}), "{label}");
    }
}

// ---------------------------------------------------------------------------------------------
// Rejections: a fresh session and the configured deletion cookie
// ---------------------------------------------------------------------------------------------

/// The managers and tokens the rejection table uses.
#[derive(Debug)]
struct RejectFixture {
    main: Env,
    revoking: Env,
    cases: Vec<RejectCase>,
}

#[derive(Debug)]
struct RejectCase {
    label: &'static str,
    value: String,
    now: UnixTime,
    revoking: bool,
    expected: Rejection,
}

fn reject_fixture(delete_rejected: bool) -> RejectFixture {
    let key = Key::generate();
    let ring = ring_of(&key);
    let main = Env::timed(ring.clone(), policy(NAME), delete_rejected);
    let revoking = Env::timed(
        KeyRing::builder()
            .primary(key.clone())
            .revoke_before(at(10))
            .build()
            .unwrap(),
        policy(NAME),
        delete_rejected,
    );
    let valid = main.issue_token();

    // Another ring, same name: the key id is unknown.
    let foreign = Env::timed(KeyRing::generate(), policy(NAME), true).issue_token();
    // Same ring, another cookie name: moved between cookies.
    let moved = Env::timed(ring.clone(), policy("other"), true).issue_token();
    // Same ring and name, signed mode: a version the encrypted manager does not accept.
    let signed = Env::with(ring.clone(), policy(NAME), |b| b.with_mode(Mode::Signed)).issue_token();
    // Sealed by a manager whose clock is an hour ahead.
    let future_env = Env::timed(ring.clone(), policy(NAME), true);
    future_env.set(at(3600));
    let s = future_env.manager.load(&HeaderMap::new());
    s.insert("user", &"ann").unwrap();
    let out = future_env.manager.finish(&s).unwrap();
    let future = token_of(NAME, &out);
    // Authentic (same ring, name and purpose) but not a session payload.
    let not_a_session = Sealer::builder(ring.clone(), NAME)
        .build()
        .unwrap()
        .seal_at(T0, &json!({"user": "ann"}))
        .unwrap();
    // Refreshed at +1500 and +3000: idle-fresh, but created at T0.
    let mut jar = Jar::default().with(NAME, &valid);
    for t in [1500, 3000] {
        main.set(at(t));
        let s = main.load(&jar);
        assert_eq!(s.get::<String>("user").unwrap(), Some("ann".into()));
        jar.store(&main.finish(&s, "refresh chain"));
    }
    let refreshed = jar.cookies[NAME].clone();
    assert_eq!(main.open(&refreshed, "refresh chain").1.issued(), at(3000));
    main.set(T0);

    let case = |label, value: String, now, expected| RejectCase {
        label,
        value,
        now,
        revoking: false,
        expected,
    };
    let mut cases = vec![
        case("garbage", "garbage!".into(), T0, Rejection::Malformed),
        case("empty value", String::new(), T0, Rejection::Malformed),
        // A known version byte, but shorter than the mode's smallest token.
        case("too short", valid[..8].to_owned(), T0, Rejection::Malformed),
        // An unknown version byte (0x00).
        case(
            "unknown version",
            "AAAA".into(),
            T0,
            Rejection::UnsupportedVersion,
        ),
        case(
            "standard base64 alphabet",
            valid.replace('-', "+").replace('_', "/") + "+/",
            T0,
            Rejection::Malformed,
        ),
        case("too large", "A".repeat(5000), T0, Rejection::TooLarge),
        case("unknown key", foreign, T0, Rejection::UnknownKey),
        case("tampered", tamper(&valid), T0, Rejection::BadTag),
        case("moved from another name", moved, T0, Rejection::BadTag),
        case("signed token", signed, T0, Rejection::UnsupportedVersion),
        case("expired", refreshed, at(LIFETIME), Rejection::Expired),
        case("idle", valid.clone(), at(IDLE), Rejection::IdleTimeout),
        case("not yet valid", future, T0, Rejection::NotYetValid),
        case(
            "not a session payload",
            not_a_session,
            T0,
            Rejection::Decode,
        ),
    ];
    cases.push(RejectCase {
        label: "revoked",
        value: valid,
        now: at(20),
        revoking: true,
        expected: Rejection::Revoked,
    });
    RejectFixture {
        main,
        revoking,
        cases,
    }
}

#[test]
fn every_rejection_gives_a_fresh_session_and_the_configured_deletion_cookie() {
    for delete in [true, false] {
        let fx = reject_fixture(delete);
        let attrs = Attrs::of(fx.main.manager.policy());
        let mut seen = HashSet::new();
        for c in &fx.cases {
            let label = format!("{} (delete_rejected={delete})", c.label);
            let env = if c.revoking { &fx.revoking } else { &fx.main };
            env.set(c.now);
            let jar = Jar::default().with("theme", "dark").with(NAME, &c.value);

            let s = env.load(&jar);
            assert!(!s.is_loaded(), "{label}: lazy");
            assert_eq!(s.rejection(), Some(c.expected), "{label}: rejection");
            seen.insert(c.expected);
            assert!(s.is_loaded(), "{label}");
            assert!(s.is_new(), "{label}: fresh");
            assert!(s.is_empty(), "{label}: empty");
            assert_eq!(s.id(), None, "{label}: no id");
            assert_eq!(s.created(), None, "{label}");
            assert_eq!(s.get::<String>("user").unwrap(), None, "{label}");
            assert_eq!(s.status(), SessionStatus::Unchanged, "{label}: status");
            let out = env.finish(&s, &label);
            if delete && c.expected != Rejection::NotYetValid {
                assert_eq!(
                    out.len(),
                    1,
                    "{label}: exactly one deletion cookie: {out:?}"
                );
                assert_deletion(&parse(&out[0]), NAME, &attrs, c.now, &label);
            } else {
                assert_eq!(out, Vec::<String>::new(), "{label}: no deletion cookie");
            }

            // A handler that writes after the rejection gets a new session in one cookie.
            let s = env.load(&jar);
            s.insert("user", &"bob").unwrap();
            assert_eq!(s.rejection(), Some(c.expected), "{label}");
            let out = env.finish(&s, &label);
            assert_eq!(out.len(), 1, "{label}: one write: {out:?}");
            let w = parse(&out[0]);
            assert!(!w.is_deletion(), "{label}: {out:?}");
            let (value, meta) = env.open(&w.value, &label);
            assert_eq!(value["id"], json!(s.id().unwrap().to_string()), "{label}");
            assert_eq!(value["data"], json!({"user": "bob"}), "{label}");
            assert_eq!(meta.created(), c.now, "{label}: created now");
        }
        // Every reason the session layer can meet is in the table.
        assert_eq!(
            seen.len(),
            Rejection::ALL.len(),
            "reasons covered: {seen:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the request: neighbours, several lines, duplicates, floods
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_neighbours_never_hide_our_cookie() {
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| b);
    let token = env.issue_token();
    let ours = format!("{NAME}={token}");
    let big = format!("big={}", "x".repeat(3000));
    let many_mid: String = (0..5000)
        .map(|i| {
            if i == 2500 {
                ours.clone()
            } else {
                format!("c{i}=v")
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let many_end = (0..5000)
        .map(|i| format!("c{i}=v"))
        .chain([ours.clone()])
        .collect::<Vec<_>>()
        .join("; ");
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("alone", vec![ours.clone().into_bytes()]),
        ("after null;", vec![format!("null; {ours}").into_bytes()]),
        (
            "pairs without '='",
            vec![format!("a; {ours}; b; ;;").into_bytes()],
        ),
        (
            "empty names and values",
            vec![format!("=; =x; y=; {ours}; ==").into_bytes()],
        ),
        (
            "junk names and look-alikes",
            vec![format!(
                "SID=junk; sidx=junk; xsid=junk; sid.1=junk; {NAME}_=junk; {ours}; {{}}=1"
            )
            .into_bytes()],
        ),
        (
            "non-UTF-8 neighbours",
            vec![[
                b"junk=\xff\xfe; ".as_slice(),
                ours.as_bytes(),
                b"; bad=\xc3\x28; \xf0\x9f=1".as_slice(),
            ]
            .concat()],
        ),
        (
            "a non-UTF-8 line before ours",
            vec![b"\xff\xff\xff".to_vec(), ours.clone().into_bytes()],
        ),
        (
            "3000-byte neighbour",
            vec![format!("{big}; {ours}; {big}").into_bytes()],
        ),
        (
            "5000 tiny cookies, ours in the middle",
            vec![many_mid.into_bytes()],
        ),
        ("5000 tiny cookies, ours last", vec![many_end.into_bytes()]),
        (
            "several Cookie lines",
            vec![
                b"theme=dark".to_vec(),
                b"null".to_vec(),
                ours.clone().into_bytes(),
                b"lang=en".to_vec(),
            ],
        ),
    ];
    for (label, lines) in cases {
        let s = env
            .manager
            .load_from_cookie_headers(lines.iter().map(Vec::as_slice));
        assert_eq!(s.rejection(), None, "{label}");
        assert!(!s.is_new(), "{label}: ours was found");
        assert_eq!(
            s.get::<String>("user").unwrap(),
            Some("ann".into()),
            "{label}"
        );
        assert_eq!(env.finish(&s, label), Vec::<String>::new(), "{label}");
    }
    // The same through a HeaderMap with several Cookie lines.
    let s = env.load_lines(&["theme=dark; null", &ours, "lang=en"]);
    assert_eq!(s.get::<String>("user").unwrap(), Some("ann".into()));
}

#[test]
fn duplicate_cookie_names_valid_first_last_or_absent() {
    let key = Key::generate();
    let env = Env::with(ring_of(&key), policy(NAME), |b| b);
    let valid = env.issue_token();
    let other_valid = Env::with(KeyRing::generate(), policy(NAME), |b| b).issue_token();
    let garbages: Vec<(&str, String, Rejection)> = vec![
        ("garbage", "junk!".into(), Rejection::Malformed),
        ("tampered", tamper(&valid), Rejection::BadTag),
        ("foreign key", other_valid, Rejection::UnknownKey),
    ];
    let attrs = Attrs::of(env.manager.policy());
    // Two cookies with our name, in one `Cookie` line or in two.
    let lines = |split: bool, a: &str, b: &str| {
        if split {
            vec![format!("{NAME}={a}"), format!("x=1; {NAME}={b}")]
        } else {
            vec![format!("x=1; {NAME}={a}; y=2; {NAME}={b}")]
        }
    };
    for (glabel, garbage, reason) in &garbages {
        for (layout, split) in [("one line", false), ("two lines", true)] {
            let cases: Vec<(&str, Vec<String>, bool)> = vec![
                ("valid first", lines(split, &valid, garbage), true),
                ("valid last", lines(split, garbage, &valid), true),
                ("valid absent", lines(split, garbage, "also-junk!"), false),
            ];
            for (position, hdrs, opens) in cases {
                let label = format!("{glabel}, {layout}, {position}");
                let refs: Vec<&str> = hdrs.iter().map(String::as_str).collect();
                let s = env.load_lines(&refs);
                if opens {
                    assert_eq!(s.rejection(), None, "{label}");
                    assert!(!s.is_new(), "{label}");
                    assert_eq!(
                        s.get::<String>("user").unwrap(),
                        Some("ann".into()),
                        "{label}"
                    );
                    let out = env.finish(&s, &label);
                    assert_eq!(out, Vec::<String>::new(), "{label}: no deletion cookie");
                } else {
                    assert_eq!(s.rejection(), Some(*reason), "{label}: the first reason");
                    assert!(s.is_new(), "{label}");
                    assert!(s.is_empty(), "{label}");
                    assert_eq!(s.status(), SessionStatus::Unchanged, "{label}");
                    let out = env.finish(&s, &label);
                    assert_eq!(out.len(), 1, "{label}: one deletion cookie: {out:?}");
                    assert_deletion(&parse(&out[0]), NAME, &attrs, T0, &label);
                }
            }
        }
    }
    // Up to MAX_CANDIDATES copies are tried: the valid one last among them still opens.
    let mut line: Vec<String> = (1..MAX_CANDIDATES)
        .map(|i| format!("{NAME}=junk{i}!"))
        .collect();
    line.push(format!("{NAME}={valid}"));
    let s = env.load_lines(&[&line.join("; ")]);
    assert_eq!(
        s.get::<String>("user").unwrap(),
        Some("ann".into()),
        "valid as candidate {MAX_CANDIDATES}"
    );
    assert_eq!(env.finish(&s, "candidates"), Vec::<String>::new());

    // A flood of 5000 cookies with our name: a fresh session and a single deletion cookie.
    let flood = (0..5000)
        .map(|i| format!("{NAME}=junk{i}!"))
        .collect::<Vec<_>>()
        .join("; ");
    let s = env.load_lines(&[&flood]);
    assert_eq!(s.rejection(), Some(Rejection::Malformed), "flood");
    assert!(s.is_new(), "flood");
    let out = env.finish(&s, "flood");
    assert_eq!(out.len(), 1, "flood: {out:?}");
    assert_deletion(&parse(&out[0]), NAME, &attrs, T0, "flood");
}

#[test]
fn concurrent_first_requests_get_distinct_sessions() {
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| b);
    let n = 100;
    let barrier = Barrier::new(n);
    let results: Vec<(usize, String, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (env, barrier) = (&env, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let s = env.manager.load(&HeaderMap::new());
                    s.insert("n", &i).unwrap();
                    let out = env.manager.finish_at(T0, &s).unwrap();
                    assert_eq!(out.len(), 1, "thread {i}");
                    (i, s.id().unwrap().to_string(), token_of(NAME, &out))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: HashSet<&String> = results.iter().map(|(_, id, _)| id).collect();
    let tokens: HashSet<&String> = results.iter().map(|(_, _, t)| t).collect();
    assert_eq!(ids.len(), n, "distinct ids");
    assert_eq!(tokens.len(), n, "distinct tokens");
    for (i, id, token) in &results {
        let s = env.load(&Jar::default().with(NAME, token));
        assert_eq!(
            s.id().map(|x| x.to_string()).as_ref(),
            Some(id),
            "thread {i}"
        );
        assert_eq!(s.get::<usize>("n").unwrap(), Some(*i), "thread {i}");
    }
}

// ---------------------------------------------------------------------------------------------
// The 4096-byte budget
// ---------------------------------------------------------------------------------------------

#[test]
fn render_boundary_is_4096_accepted_and_4097_refused() {
    let cases: Vec<(&str, CookiePolicy, CookieLifetime)> = vec![
        ("defaults", policy(NAME), CookieLifetime::BrowserSession),
        (
            "every attribute, persistent",
            CookiePolicy::builder("__Secure-sid")
                .path("/app")
                .domain("example.com")
                .same_site(SameSite::None)
                .partitioned(true)
                .build()
                .unwrap(),
            CookieLifetime::Persistent(secs(DAY)),
        ),
        (
            "insecure, no HttpOnly",
            CookiePolicy::builder(NAME)
                .secure(false)
                .http_only(false)
                .same_site(SameSite::Strict)
                .build()
                .unwrap(),
            CookieLifetime::BrowserSession,
        ),
    ];
    assert_eq!(MAX_SET_COOKIE_LEN, 4096);
    for (label, p, lifetime) in cases {
        let name = p.name().to_owned();
        let expiry = Some(at(7 * DAY));
        let base = p.render(&name, "", T0, lifetime, expiry).unwrap().len();
        let fits = "a".repeat(MAX_SET_COOKIE_LEN - base);
        let s = p.render(&name, &fits, T0, lifetime, expiry).unwrap();
        assert_eq!(s.len(), 4096, "{label}");
        let c = parse(&s);
        assert_eq!(c.value, fits, "{label}: value intact");
        assert_eq!(c.attrs, Attrs::of(&p), "{label}: attributes intact");
        let over = "a".repeat(MAX_SET_COOKIE_LEN - base + 1);
        let e = p.render(&name, &over, T0, lifetime, expiry).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{label}: {e}");
        assert!(e.message().contains("4097"), "{label}: {e}");
    }
}

#[test]
fn finish_refuses_a_session_over_the_budget_without_chunking() {
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| b);
    // Grow the payload one byte at a time until the Set-Cookie no longer fits.
    let mut last_ok: Option<(usize, usize)> = None;
    let mut crossed = None;
    for n in 2500..3500 {
        let s = env.manager.load(&HeaderMap::new());
        s.insert("blob", &"x".repeat(n)).unwrap();
        match env.manager.finish_at(T0, &s) {
            Ok(out) => {
                assert_eq!(out.len(), 1, "{n} bytes: {out:?}");
                assert!(out[0].len() <= MAX_SET_COOKIE_LEN, "{n} bytes");
                last_ok = Some((n, out[0].len()));
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{n} bytes: {e}");
                crossed = Some(n);
                break;
            }
        }
    }
    let (ok_n, ok_len) = last_ok.expect("some sizes fit");
    let crossed = crossed.expect("the boundary is crossed below 3500 bytes");
    assert_eq!(crossed, ok_n + 1, "the first size that does not fit");
    // One more payload byte adds one or two base64 characters.
    assert!(
        (MAX_SET_COOKIE_LEN - 1..=MAX_SET_COOKIE_LEN).contains(&ok_len),
        "the largest cookie that fits is {ok_len} bytes"
    );

    // Far over: 6000 bytes of data.
    let s = env.manager.load(&HeaderMap::new());
    s.insert("blob", &blob(6000, 1)).unwrap();
    let e = env.manager.finish_at(T0, &s).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{e}");
}

// ---------------------------------------------------------------------------------------------
// Chunking
// ---------------------------------------------------------------------------------------------

fn chunked(max: usize) -> Env {
    let p = CookiePolicy::builder(NAME)
        .chunking(Some(Chunking::new(max)))
        .build()
        .unwrap();
    Env::with(KeyRing::generate(), p, |b| b)
}

/// Issue a chunked session holding `blob` and `user`; returns the Set-Cookie values.
#[track_caller]
fn issue_chunked(env: &Env, size: usize, seed: usize, chunks: usize) -> Vec<String> {
    let out = env.issue(&[("blob", json!(blob(size, seed))), ("user", json!("ann"))]);
    let names: Vec<String> = out.iter().map(|c| parse(c).name).collect();
    let want: Vec<String> = (0..chunks)
        .map(|i| env.manager.policy().chunk_name(i))
        .collect();
    assert_eq!(names, want, "{size} bytes of data need {chunks} chunks");
    out
}

#[test]
fn chunked_session_round_trips() {
    let env = chunked(4);
    let attrs = Attrs::of(env.manager.policy());
    let out = issue_chunked(&env, 6000, 1, 3);
    for c in &out {
        assert!(
            c.len() <= MAX_SET_COOKIE_LEN,
            "each chunk fits: {}",
            c.len()
        );
        let p = parse(c);
        assert_eq!(p.attrs, attrs, "chunk {}", p.name);
        assert!(!p.is_deletion(), "chunk {}", p.name);
    }
    assert_eq!(
        env.manager.policy().chunk_name(2),
        format!("{NAME}.2"),
        "chunk names"
    );
    let jar = Jar::from(&out);
    let pairs: Vec<String> = jar
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let layouts: Vec<(&str, Vec<String>)> = vec![
        ("one line", vec![jar.line()]),
        (
            "reverse order, one line",
            vec![pairs.iter().rev().cloned().collect::<Vec<_>>().join("; ")],
        ),
        ("one line each", pairs.clone()),
        (
            "with neighbours",
            vec![format!("a=1; {}; null", pairs.join("; x=2; "))],
        ),
        (
            "a tossed duplicate of a middle chunk first",
            vec![format!("{NAME}.1=AAAA; {}", jar.line())],
        ),
        (
            "a tossed duplicate of the first chunk last",
            vec![format!("{}; {NAME}=AAAA", jar.line())],
        ),
    ];
    for (label, lines) in layouts {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let s = env.load_lines(&refs);
        assert_eq!(s.rejection(), None, "{label}");
        assert_eq!(
            s.get::<String>("blob").unwrap(),
            Some(blob(6000, 1)),
            "{label}"
        );
        assert_eq!(
            s.get::<String>("user").unwrap(),
            Some("ann".into()),
            "{label}"
        );
        assert_eq!(
            env.finish(&s, label),
            Vec::<String>::new(),
            "{label}: read-only"
        );
    }
    // An update of a chunked session rewrites every chunk, same names, same attributes.
    env.set(at(60));
    let s = env.load(&jar);
    s.insert("user", &"bob").unwrap();
    let out2 = env.finish(&s, "update");
    let names: Vec<String> = out2.iter().map(|c| parse(c).name).collect();
    assert_eq!(names, vec![NAME, "sid.1", "sid.2"], "update chunks");
    let s = env.load(&Jar::from(&out2));
    assert_eq!(s.get::<String>("user").unwrap(), Some("bob".into()));
    // Purging a chunked session deletes every chunk.
    s.purge();
    let del = env.finish(&s, "purge");
    assert_eq!(del.len(), 3, "{del:?}");
    for (i, c) in del.iter().enumerate() {
        assert_deletion(
            &parse(c),
            &format!("{NAME}{}", chunk_suffix(i)),
            &attrs,
            at(60),
            "purge",
        );
    }
}

#[test]
fn many_chunks_fit_with_every_attribute_and_a_persistent_lifetime() {
    let p = CookiePolicy::builder("__Secure-sid")
        .path("/app/with/a/rather/long/path")
        .domain("accounts.sub.example.com")
        .same_site(SameSite::None)
        .partitioned(true)
        .lifetime(CookieLifetime::Persistent(secs(500 * DAY)))
        .chunking(Some(Chunking::new(16)))
        .build()
        .unwrap();
    assert_eq!(p.max_chunks(), 16);
    let attrs = Attrs::of(&p);
    let env = Env::with(KeyRing::generate(), p, |b| {
        b.with_lifetime(secs(1000 * DAY))
            .with_codec(sealed_session::Codec::new().with_max_bytes(64 * 1024))
    });
    let big = blob(40_000, 5);
    let out = env.issue(&[("blob", json!(big))]);
    assert!(
        out.len() > 10,
        "two-digit chunk names are used: {}",
        out.len()
    );
    for (i, c) in out.iter().enumerate() {
        let label = format!("chunk {i}");
        assert!(c.len() <= MAX_SET_COOKIE_LEN, "{label}: {} bytes", c.len());
        let parsed = parse(c);
        assert_eq!(
            parsed.name,
            format!("__Secure-sid{}", chunk_suffix(i)),
            "{label}"
        );
        assert_eq!(parsed.attrs, attrs, "{label}");
        let cap = i64::try_from(MAX_COOKIE_LIFETIME.as_secs()).unwrap();
        assert_eq!(parsed.max_age, Some(cap), "{label}: 400 days");
        assert_eq!(parsed.expires, Some(unix(T0) + cap), "{label}");
    }
    let s = env.load(&Jar::from(&out));
    assert_eq!(s.rejection(), None);
    assert_eq!(s.get::<String>("blob").unwrap(), Some(big));
    assert_eq!(env.finish(&s, "read-only"), Vec::<String>::new());
    // Shrinking to one cookie deletes every other chunk.
    s.clear();
    let out2 = env.finish(&s, "clear");
    assert_eq!(out2.len(), out.len(), "{out2:?}");
    assert!(!parse(&out2[0]).is_deletion());
    for (i, c) in out2.iter().enumerate().skip(1) {
        let name = format!("__Secure-sid{}", chunk_suffix(i));
        assert_deletion(&parse(c), &name, &attrs, T0, &name);
    }
}

fn chunk_suffix(i: usize) -> String {
    if i == 0 {
        String::new()
    } else {
        format!(".{i}")
    }
}

#[test]
fn missing_reordered_and_foreign_chunks_are_rejected() {
    let env = chunked(4);
    let attrs = Attrs::of(env.manager.policy());
    // 10 000 characters of data: four chunks, the middle two full-sized.
    let a = Jar::from(&issue_chunked(&env, 10_000, 1, 4));
    let b = Jar::from(&issue_chunked(&env, 10_000, 2, 4));
    let c = |i: usize| format!("{NAME}{}", chunk_suffix(i));
    let swap = |jar: &Jar, x: usize, y: usize| {
        let mut j = jar.clone();
        let (vx, vy) = (jar.cookies[&c(x)].clone(), jar.cookies[&c(y)].clone());
        j.cookies.insert(c(x), vy);
        j.cookies.insert(c(y), vx);
        j
    };
    let mut missing_middle = a.clone();
    missing_middle.cookies.remove(&c(1));
    let mut missing_last = a.clone();
    missing_last.cookies.remove(&c(3));
    let mut foreign = a.clone();
    foreign.cookies.insert(c(2), b.cookies[&c(2)].clone());
    let mut foreign_first = a.clone();
    foreign_first.cookies.insert(c(0), b.cookies[&c(0)].clone());
    // (label, jar, the expected reason where the damage leaves the header and the last
    // character intact; otherwise any rejection)
    let cases: Vec<(&str, Jar, Option<Rejection>)> = vec![
        ("missing middle chunk", missing_middle, None),
        ("missing last chunk", missing_last, None),
        (
            "reordered middle chunks",
            swap(&a, 1, 2),
            Some(Rejection::BadTag),
        ),
        ("reordered first chunks", swap(&a, 0, 1), None),
        ("foreign middle chunk", foreign, Some(Rejection::BadTag)),
        (
            "foreign first chunk",
            foreign_first,
            Some(Rejection::BadTag),
        ),
    ];
    for (label, jar, reason) in cases {
        let s = env.load(&jar);
        let got = s.rejection();
        assert!(got.is_some(), "{label}: must be rejected");
        if let Some(r) = reason {
            assert_eq!(got, Some(r), "{label}");
        }
        assert!(s.is_new(), "{label}: fresh");
        assert!(s.is_empty(), "{label}: empty");
        assert_eq!(s.get::<String>("user").unwrap(), None, "{label}");
        let out = env.finish(&s, label);
        let parsed: Vec<Parsed> = out.iter().map(|x| parse(x)).collect();
        for p in &parsed {
            assert_deletion(p, &p.name, &attrs, T0, label);
        }
        let deleted: BTreeSet<String> = parsed.iter().map(|p| p.name.clone()).collect();
        assert!(
            jar.names().is_subset(&deleted),
            "{label}: every chunk the browser sent is deleted: {deleted:?}"
        );
    }
    // A chunk alone under the wrong index (no first chunk) is no session, and is deleted once
    // the handler writes. Only chunks the request carried are deleted (`sid.1` was not sent).
    let mut stray = Jar::default();
    stray.cookies.insert(c(2), a.cookies[&c(2)].clone());
    let s = env.load(&stray);
    assert!(s.is_new());
    s.insert("user", &"bob").unwrap();
    let out = env.finish(&s, "stray");
    let names: Vec<String> = out.iter().map(|x| parse(x).name).collect();
    assert_eq!(
        names,
        vec![c(0), c(2)],
        "written chunk, then the leftover deleted"
    );
    assert!(!parse(&out[0]).is_deletion());
    assert_deletion(&parse(&out[1]), &c(2), &attrs, T0, "stray");
}

#[test]
fn more_chunks_than_allowed_is_session_too_large() {
    let cases: Vec<(usize, usize)> = vec![(2, 6000), (3, 10_000), (4, 15_000)];
    for (max, size) in cases {
        let env = chunked(max);
        let s = env.manager.load(&HeaderMap::new());
        s.insert("blob", &blob(size, 3)).unwrap();
        let e = env.manager.finish_at(T0, &s).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::SessionTooLarge,
            "{max} chunks, {size}: {e}"
        );
    }
    // The same sizes fit with one more chunk allowed.
    let env = chunked(3);
    let out = issue_chunked(&env, 6000, 3, 3);
    assert!(out.iter().all(|c| c.len() <= MAX_SET_COOKIE_LEN));
}

#[test]
fn shrinking_a_chunked_session_deletes_leftover_chunks() {
    let env = chunked(4);
    let attrs = Attrs::of(env.manager.policy());
    let out = issue_chunked(&env, 6000, 4, 3);
    env.set(at(60));
    let s = env.load(&Jar::from(&out));
    assert_eq!(s.remove_as::<String>("blob").unwrap(), Some(blob(6000, 4)));
    let out2 = env.finish(&s, "shrink");
    let parsed: Vec<Parsed> = out2.iter().map(|c| parse(c)).collect();
    let names: Vec<&str> = parsed.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec![NAME, "sid.1", "sid.2"], "{out2:?}");
    assert!(!parsed[0].is_deletion(), "the session in one cookie");
    assert_deletion(&parsed[1], "sid.1", &attrs, at(60), "leftover 1");
    assert_deletion(&parsed[2], "sid.2", &attrs, at(60), "leftover 2");
    let mut jar = Jar::from(&out);
    jar.store(&out2);
    assert_eq!(jar.names(), BTreeSet::from([NAME.to_owned()]));
    let s = env.load(&jar);
    assert_eq!(s.get::<String>("user").unwrap(), Some("ann".into()));
    assert!(!s.contains("blob"));
    assert_eq!(env.finish(&s, "after shrink"), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Time: idle, absolute and rolling refresh with an injected clock
// ---------------------------------------------------------------------------------------------

#[test]
fn idle_timeout_boundary() {
    let env = Env::timed(KeyRing::generate(), policy(NAME), true);
    let jar = Jar::from(&env.issue(&[("user", json!("ann"))]));
    let cases: Vec<(u64, Option<Rejection>)> = vec![
        (IDLE - 1, None),
        (IDLE, Some(Rejection::IdleTimeout)),
        (IDLE + 1, Some(Rejection::IdleTimeout)),
    ];
    for (offset, expected) in cases {
        let label = format!("T0+{offset}s");
        env.set(at(offset));
        let s = env.load(&jar);
        assert_eq!(s.rejection(), expected, "{label}");
        assert_eq!(s.is_new(), expected.is_some(), "{label}");
        let user = s.get::<String>("user").unwrap();
        assert_eq!(user.is_some(), expected.is_none(), "{label}: {user:?}");
        let out = env.finish(&s, &label);
        assert_eq!(out.len(), 1, "{label}: refresh or deletion: {out:?}");
        assert_eq!(parse(&out[0]).is_deletion(), expected.is_some(), "{label}");
    }
    // Refreshed one second before the limit, the session lives another idle window.
    env.set(at(IDLE - 1));
    let s = env.load(&jar);
    assert_eq!(s.get::<String>("user").unwrap(), Some("ann".into()));
    let refreshed = Jar::from(&env.finish(&s, "refresh"));
    assert_eq!(refreshed.names(), BTreeSet::from([NAME.to_owned()]));
    for (offset, ok) in [(2 * IDLE - 2, true), (2 * IDLE - 1, false)] {
        env.set(at(offset));
        let s = env.load(&refreshed);
        let want = if ok {
            None
        } else {
            Some(Rejection::IdleTimeout)
        };
        assert_eq!(s.rejection(), want, "refreshed, T0+{offset}s");
    }
}

#[test]
fn absolute_lifetime_holds_under_continuous_refresh() {
    let p = CookiePolicy::builder(NAME)
        .lifetime(CookieLifetime::Persistent(secs(DAY)))
        .build()
        .unwrap();
    let env = Env::timed(KeyRing::generate(), p, true);
    let mut jar = Jar::from(&env.issue(&[("user", json!("ann"))]));
    let step = 600;
    assert!((REFRESH..IDLE).contains(&step));
    let mut refreshes = 0;
    let mut t = step;
    while t < LIFETIME {
        let label = format!("T0+{t}s");
        env.set(at(t));
        let s = env.load(&jar);
        assert_eq!(s.rejection(), None, "{label}");
        assert_eq!(
            s.get::<String>("user").unwrap(),
            Some("ann".into()),
            "{label}"
        );
        assert_eq!(s.created(), Some(T0), "{label}");
        assert_eq!(s.issued(), Some(at(t - step)), "{label}");
        let out = env.finish(&s, &label);
        assert_eq!(out.len(), 1, "{label}: a rolling refresh: {out:?}");
        let c = parse(&out[0]);
        let (_, meta) = env.open(&c.value, &label);
        assert_eq!(meta.issued(), at(t), "{label}: issued moves");
        assert_eq!(meta.created(), T0, "{label}: created kept");
        assert_eq!(meta.expires(), at(LIFETIME), "{label}: expiry kept");
        let remaining = i64::try_from(LIFETIME - t).unwrap();
        assert_eq!(c.max_age, Some(remaining), "{label}: capped at the expiry");
        assert_eq!(c.expires, Some(unix(at(LIFETIME))), "{label}");
        jar.store(&out);
        refreshes += 1;
        t += step;
    }
    assert_eq!(refreshes, LIFETIME / step - 1);
    // One second before created + lifetime it still opens.
    env.set(at(LIFETIME - 1));
    let s = env.load(&jar);
    assert_eq!(s.rejection(), None, "at created + lifetime - 1");
    assert_eq!(s.get::<String>("user").unwrap(), Some("ann".into()));
    env.set(at(LIFETIME));
    let s = env.load(&jar);
    assert_eq!(
        s.rejection(),
        Some(Rejection::Expired),
        "at created + lifetime"
    );
    assert!(s.is_new());
    let out = env.finish(&s, "expired");
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(parse(&out[0]).is_deletion());
}

#[test]
fn rolling_refresh_only_after_the_refresh_point() {
    let fractions: Vec<(f64, u64)> = vec![(0.25, 450), (0.5, 900), (1.0, IDLE)];
    for (fraction, point) in fractions {
        let env = Env::with(KeyRing::generate(), policy(NAME), |b| {
            b.with_lifetime(secs(LIFETIME))
                .with_idle_timeout(Some(secs(IDLE)))
                .with_refresh_fraction(fraction)
        });
        let jar = Jar::from(&env.issue(&[("user", json!("ann"))]));
        let id = env.load(&jar).id().unwrap();
        let mut offsets = vec![0, 1, point - 1, point, point + 1, IDLE - 1];
        offsets.dedup();
        for offset in offsets {
            let label = format!("fraction {fraction}, T0+{offset}s");
            env.set(at(offset));
            let s = env.load(&jar);
            let out = if offset >= IDLE {
                assert_eq!(s.rejection(), Some(Rejection::IdleTimeout), "{label}");
                continue;
            } else {
                assert_eq!(
                    s.get::<String>("user").unwrap(),
                    Some("ann".into()),
                    "{label}"
                );
                env.finish(&s, &label)
            };
            if offset < point {
                assert_eq!(
                    out,
                    Vec::<String>::new(),
                    "{label}: read-only, no Set-Cookie"
                );
            } else {
                assert_eq!(out.len(), 1, "{label}: refreshed: {out:?}");
                let (value, meta) = env.open(&token_of(NAME, &out), &label);
                assert_eq!(meta.issued(), at(offset), "{label}: a later issued");
                assert_eq!(meta.created(), T0, "{label}: the same created");
                assert_eq!(value["id"], json!(id.to_string()), "{label}: the same id");
                assert_eq!(value["data"], json!({"user": "ann"}), "{label}");
            }
        }
    }
    // Without an idle timeout there is no rolling refresh at all.
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| {
        b.with_lifetime(secs(LIFETIME)).with_idle_timeout(None)
    });
    let jar = Jar::from(&env.issue(&[("user", json!("ann"))]));
    for offset in [REFRESH, IDLE, LIFETIME - 1] {
        env.set(at(offset));
        let s = env.load(&jar);
        assert_eq!(
            s.get::<String>("user").unwrap(),
            Some("ann".into()),
            "T0+{offset}"
        );
        assert_eq!(
            env.finish(&s, "no idle"),
            Vec::<String>::new(),
            "T0+{offset}"
        );
    }
    env.set(at(LIFETIME));
    assert_eq!(env.load(&jar).rejection(), Some(Rejection::Expired));
}

#[test]
fn clock_skew_is_tolerated_up_to_the_leeway() {
    let ring = KeyRing::generate();
    let env = Env::timed(ring.clone(), policy(NAME), true);
    // (seconds the sealing server's clock is ahead, the expected rejection)
    let cases: Vec<(u64, Option<Rejection>)> = vec![
        (0, None),
        (60, None),
        (61, Some(Rejection::NotYetValid)),
        (3600, Some(Rejection::NotYetValid)),
    ];
    for (ahead, expected) in cases {
        let label = format!("issued {ahead}s ahead");
        let other = Env::timed(ring.clone(), policy(NAME), true);
        other.set(at(ahead));
        let s = other.manager.load(&HeaderMap::new());
        s.insert("user", &"ann").unwrap();
        let out = other.manager.finish(&s).unwrap();
        env.set(T0);
        let s = env.load(&Jar::from(&out));
        assert_eq!(s.rejection(), expected, "{label}");
        assert_eq!(s.is_new(), expected.is_some(), "{label}");
        let out = env.finish(&s, &label);
        // A cookie not valid *yet* is not deleted: it comes from a node whose clock is ahead
        // by more than the leeway, and opens there (SECURITY.md, "Clocks").
        assert_eq!(out, Vec::<String>::new(), "{label}");
    }
}
