//! The 4096-byte budget of one `Set-Cookie`.

use super::*;

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
