//! Response side (rows 33–36): deletion cookies, the 4096-byte budget, attribute injection, opaque errors.

use super::*;

/// The attributes a deletion cookie must repeat.
#[derive(Debug, PartialEq)]
struct Attributes {
    path: Option<String>,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<cookie::SameSite>,
    partitioned: bool,
}

fn attributes(c: &Cookie<'_>) -> Attributes {
    Attributes {
        path: c.path().map(str::to_owned),
        domain: c.domain().map(str::to_owned),
        secure: c.secure().unwrap_or(false),
        http_only: c.http_only().unwrap_or(false),
        same_site: c.same_site(),
        partitioned: c.partitioned().unwrap_or(false),
    }
}

/// Row 33: the logout deletion cookie has the same Path, Domain, Secure, SameSite, Partitioned
/// (and HttpOnly) as the issued cookie, `Max-Age=0` and an `Expires` in the past, for every
/// chunk of a chunked session.
#[test]
fn checklist_33_deletion_cookie_mirrors_the_issued_attributes() {
    type Configure = fn(SessionBuilder) -> SessionBuilder;
    let configs: [(&str, Configure); 4] = [
        ("every attribute", |b| {
            b.with_secure(true)
                .with_domain("example.com")
                .with_path("/app")
                .with_same_site(SameSite::None)
                .with_partitioned(true)
        }),
        ("__Host- defaults", |b| {
            b.with_cookie_name("__Host-session").with_secure(true)
        }),
        ("strict, persistent, readable by scripts", |b| {
            b.with_same_site(SameSite::Strict)
                .with_http_only(false)
                .with_domain(".example.org")
                .with_cookie_lifetime(CookieLifetime::Persistent(secs(86_400)))
        }),
        ("chunked", |b| b.with_chunking(Some(Chunking::new(3)))),
    ];
    for (what, configure) in configs {
        let c = clock();
        let m = manager_with(RING.clone(), &c, configure);
        let s = load(&m, &[]);
        s.insert(
            "blob",
            &"x".repeat(if what == "chunked" { 5000 } else { 10 }),
        )
        .unwrap();
        let issued = m.finish_at(T0, &s).unwrap();
        let header: String = issued
            .iter()
            .map(|raw| {
                let c = Cookie::parse(raw.as_str()).unwrap();
                format!("{}={}; ", c.name(), c.value())
            })
            .collect();
        let s = m.load_from_cookie_headers([header.as_bytes()]);
        assert!(!s.is_new(), "{what}");
        s.purge();
        let deleted = m.finish_at(at(10), &s).unwrap();
        assert_eq!(
            deleted.len(),
            issued.len(),
            "{what}: one deletion per cookie"
        );
        for (raw_issued, raw_deleted) in issued.iter().zip(&deleted) {
            let i = Cookie::parse(raw_issued.as_str()).unwrap();
            let d = Cookie::parse(raw_deleted.as_str()).unwrap();
            assert_eq!(d.name(), i.name(), "{what}");
            assert_eq!(attributes(&d), attributes(&i), "{what}: {raw_deleted}");
            assert_eq!(d.value(), "", "{what}");
            assert_eq!(d.max_age(), Some(cookie::time::Duration::ZERO), "{what}");
            match d.expires_datetime() {
                Some(t) => assert!(t.unix_timestamp() < T0.as_secs() as i64, "{what}"),
                None => panic!("{what}: no Expires in {raw_deleted}"),
            }
        }
    }
}

/// Row 34: a session whose `Set-Cookie` would exceed 4096 bytes is a typed error the
/// application sees (from `finish` and, earlier, from `ensure_fits`); up to the limit every
/// header is complete and at most 4096 bytes.
#[test]
fn checklist_34_oversized_set_cookie_is_a_typed_error() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let attempt = |n: usize| {
        let s = load(&m, &[]);
        s.insert("blob", &"x".repeat(n)).unwrap();
        let out = m.finish_at(T0, &s);
        assert_eq!(s.ensure_fits().is_ok(), out.is_ok(), "{n}");
        out
    };
    let (mut lo, mut hi) = (0usize, 4096usize);
    assert!(attempt(lo).is_ok());
    assert!(attempt(hi).is_err());
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if attempt(mid).is_ok() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let largest = attempt(lo).unwrap();
    assert_eq!(largest.len(), 1);
    assert!(largest[0].len() <= MAX_SET_COOKIE_LEN);
    assert!(
        largest[0].len() > MAX_SET_COOKIE_LEN - 4,
        "{}",
        largest[0].len()
    );
    let value = Cookie::parse(largest[0].as_str())
        .unwrap()
        .value()
        .to_owned();
    assert_eq!(
        load(&m, &[&pair(&value)])
            .get::<String>("blob")
            .unwrap()
            .unwrap()
            .len(),
        lo
    );
    for n in [hi, hi + 1, 5000, 20_000] {
        let e = attempt(n).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionTooLarge, "{n}: {e}");
    }
}

/// Row 35: application-supplied attribute injection (a Path with `;`, a name with `;`, a Domain
/// with CR/LF, …) is a configuration error at build time, through the cookie policy, the session
/// builder and every adapter's builder.
#[test]
fn checklist_35_attribute_injection_is_a_build_error() {
    let policies = [
        CookiePolicy::builder("a;b"),
        CookiePolicy::builder("a=b"),
        CookiePolicy::builder("a b"),
        CookiePolicy::builder("a\r\nSet-Cookie: x=y"),
        CookiePolicy::builder(""),
        CookiePolicy::builder("id").path("/; Domain=evil"),
        CookiePolicy::builder("id").path("/\r\nX: y"),
        CookiePolicy::builder("id").path("/a,b"),
        CookiePolicy::builder("id").path("/a b"),
        CookiePolicy::builder("id").path("relative"),
        CookiePolicy::builder("id").domain("a.com\r\nX: y"),
        CookiePolicy::builder("id").domain("a.com; Secure"),
        CookiePolicy::builder("id").domain("evil.com/x"),
        CookiePolicy::builder("id").domain(""),
        CookiePolicy::builder("__Host-id").domain("a.com"),
        CookiePolicy::builder("__Host-id").path("/a"),
        CookiePolicy::builder("__Host-id").secure(false),
        CookiePolicy::builder("__Secure-id").secure(false),
        CookiePolicy::builder("id")
            .secure(false)
            .same_site(SameSite::None),
        CookiePolicy::builder("id").secure(false).partitioned(true),
    ];
    for b in policies {
        let what = format!("{b:?}");
        let e = b.build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{what}");
        assert!(!e.message().contains(['\r', '\n']), "{what}: {e}");
    }
    let ring = RING.clone();
    for injection in Injection::ALL {
        let e = injection
            .apply(SessionManager::builder(ring.clone()))
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{injection:?}");
        #[cfg(feature = "axum")]
        {
            let b = sealed_session::axum::SessionLayer::builder(ring.clone());
            let e = injection.apply(b).build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "axum: {injection:?}");
        }
        #[cfg(feature = "actix")]
        {
            let b = sealed_session::actix::SessionMiddleware::builder(ring.clone());
            let e = injection.apply(b).build().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "actix: {injection:?}");
        }
    }
    #[cfg(feature = "config")]
    {
        let k = Key::try_from(&secret(35)[..]).unwrap();
        for (field, value) in [
            ("path", r#""/; Domain=evil""#),
            ("cookie_name", r#""a;b""#),
            ("domain", r#""a.com\r\nX: y""#),
        ] {
            let toml = format!(
                "[session]\n{field} = {value}\n[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n",
                k.to_base64().as_str()
            );
            let e = sealed_session::config::Config::from_toml_str(&toml).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidConfig, "{field}: {e}");
            assert!(!e.message().contains(['\r', '\n']), "{field}: {e}");
        }
    }
}

/// Attribute injections, applied through the setters every adapter's builder shares.
#[derive(Clone, Copy, Debug)]
enum Injection {
    PathWithDomain,
    NameWithSemicolon,
    DomainWithNewline,
    HostPrefixWithDomain,
}

impl Injection {
    const ALL: [Injection; 4] = [
        Injection::PathWithDomain,
        Injection::NameWithSemicolon,
        Injection::DomainWithNewline,
        Injection::HostPrefixWithDomain,
    ];

    fn apply<T: From<SessionManager>>(self, b: SessionBuilder<T>) -> SessionBuilder<T> {
        match self {
            Injection::PathWithDomain => b.with_path("/; Domain=evil"),
            Injection::NameWithSemicolon => b.with_cookie_name("a;b"),
            Injection::DomainWithNewline => b.with_domain("a.com\r\nX: y"),
            Injection::HostPrefixWithDomain => b.with_cookie_name("__Host-x").with_domain("a.com"),
        }
    }
}

/// Row 36: error responses the crate causes are opaque: status only, no error text in the body
/// (the adapters' `500` for a session that no longer fits and for a missing layer, and
/// `error_response`); hostile cookies cause no error response at all.
#[cfg(feature = "axum")]
#[tokio::test]
async fn checklist_36_crate_error_responses_are_opaque() {
    use axum::body::{to_bytes, Body};
    use axum::http::{header, Request, StatusCode};
    use axum::routing::get;
    use axum::Router;
    use sealed_session::axum::{error_response, SessionLayer};
    use tower::ServiceExt as _;

    async fn grow(s: Session) -> &'static str {
        s.insert("big", &"x".repeat(10_000)).unwrap();
        "grown: this text must not reach the client"
    }
    async fn me(s: Session) -> String {
        format!("{:?}", s.get::<String>("user").ok().flatten())
    }
    let layer: SessionLayer = SessionLayer::builder(RING.clone())
        .with_cookie_name(COOKIE)
        .build()
        .unwrap();
    let app = Router::new()
        .route("/grow", get(grow))
        .route("/me", get(me))
        .layer(layer);
    let call = |path: &'static str, cookie: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::builder().uri(path);
            if let Some(c) = cookie {
                req = req.header(header::COOKIE, c);
            }
            let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let status = res.status();
            let set_cookies = res.headers().get_all(header::SET_COOKIE).iter().count();
            let body = to_bytes(res.into_body(), 1 << 20).await.unwrap();
            (status, set_cookies, body)
        }
    };
    let (status, set_cookies, body) = call("/grow", None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.is_empty(), "{body:?}");
    assert_eq!(set_cookies, 0);
    for cookie in [pair("garbage"), pair(&"A".repeat(100_000)), pair("")] {
        let (status, _, body) = call("/me", Some(cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(&body[..], b"None");
    }
    let bare = Router::new().route("/me", get(me));
    let res = bare
        .oneshot(Request::builder().uri("/me").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(to_bytes(res.into_body(), 1024).await.unwrap().is_empty());
    let too_large = load(&manager_with(RING.clone(), &clock(), |b| b), &[]);
    too_large.insert("big", &"x".repeat(10_000)).unwrap();
    let e = too_large.ensure_fits().unwrap_err();
    let res = error_response(&e);
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(to_bytes(res.into_body(), 1024).await.unwrap().is_empty());
}

/// Row 36 for actix-web: the middleware's `500` and a missing middleware are opaque.
#[cfg(feature = "actix")]
#[actix_web::test]
async fn checklist_36_crate_error_responses_are_opaque_actix() {
    use actix_web::{test, web, App, HttpResponse};
    use sealed_session::actix::SessionMiddleware;

    async fn grow(s: Session) -> HttpResponse {
        s.insert("big", &"x".repeat(10_000)).unwrap();
        HttpResponse::Ok().body("grown: this text must not reach the client")
    }
    let middleware: SessionMiddleware = SessionMiddleware::builder(RING.clone())
        .with_cookie_name(COOKIE)
        .build()
        .unwrap();
    let app = test::init_service(
        App::new()
            .wrap(middleware)
            .route("/grow", web::get().to(grow)),
    )
    .await;
    let res = test::call_service(&app, test::TestRequest::get().uri("/grow").to_request()).await;
    assert_eq!(res.status().as_u16(), 500);
    assert_eq!(res.headers().get_all("set-cookie").count(), 0);
    assert!(test::read_body(res).await.is_empty());
    let bare = test::init_service(App::new().route("/grow", web::get().to(grow))).await;
    let res = test::call_service(&bare, test::TestRequest::get().uri("/grow").to_request()).await;
    assert_eq!(res.status().as_u16(), 500);
    assert!(test::read_body(res).await.is_empty());
}
