//! Cookie attributes: every combination, on the first, update and deletion cookies; invalid combinations and injection as build errors.

use super::*;

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
