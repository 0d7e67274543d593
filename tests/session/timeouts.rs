//! Time: idle, absolute and rolling refresh on an injected clock.

use super::*;

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
