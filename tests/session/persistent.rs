//! Persistent cookies: Max-Age and Expires, capped at 400 days and at the absolute expiry.

use super::*;

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
