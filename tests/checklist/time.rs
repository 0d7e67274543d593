//! Time (rows 16–21): the authenticated timestamps, on an injected clock.

use super::*;

/// Row 16: past the absolute lifetime the cookie the browser still sends is rejected, even for a
/// session kept busy (re-sealing never moves the absolute expiry).
#[test]
fn checklist_16_absolute_lifetime_exceeded_rejected() {
    let c = clock();
    let m = manager_with(RING.clone(), &c, |b| {
        b.with_lifetime(secs(3600)).with_idle_timeout(None)
    });
    let first = issue(&m, &[("n", json!(0))]);
    // Busy: a write every 10 minutes re-seals the cookie.
    let mut token = first.clone();
    for step in 1..=5 {
        c.set(at(600 * step));
        let s = load(&m, &[&pair(&token)]);
        assert!(!s.is_new(), "step {step}");
        s.insert("n", &step).unwrap();
        let out = m.finish_at(c.now(), &s).unwrap();
        token = Cookie::parse(out[0].clone()).unwrap().value().to_owned();
    }
    c.set(at(3599));
    assert!(!load(&m, &[&pair(&first)]).is_new());
    c.set(at(3600));
    assert_fresh(&m, &pair(&first), Rejection::Expired, "the first cookie");
    assert_fresh(&m, &pair(&token), Rejection::Expired, "the busy cookie");
    for mode in Mode::ALL {
        let t = sealer(mode).seal_at(T0, &1).unwrap();
        assert_rejects(sealer(mode), at(3600), &t, Rejection::Expired, "sealer");
    }
}

/// Row 17: past the idle limit the cookie is rejected.
#[test]
fn checklist_17_idle_limit_exceeded_rejected() {
    let c = clock();
    let m = manager_with(RING.clone(), &c, |b| b.with_idle_timeout(Some(secs(1800))));
    let token = issue(&m, &[("user", json!("ann"))]);
    c.set(at(1799));
    assert!(!load(&m, &[&pair(&token)]).is_new());
    c.set(at(1800));
    assert_fresh(&m, &pair(&token), Rejection::IdleTimeout, "idle 30 min");
    for mode in Mode::ALL {
        let s = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .idle_timeout(Some(secs(300)))
            .build()
            .unwrap();
        let t = s.seal_at(T0, &1).unwrap();
        assert!(s.open_at::<Value>(at(299), &t).is_ok());
        assert_rejects(&s, at(300), &t, Rejection::IdleTimeout, "idle 300 s");
    }
}

/// Row 18: a token issued in the future beyond the leeway is rejected (and one whose creation
/// is after its issue).
#[test]
fn checklist_18_issued_in_the_future_rejected() {
    for mode in Mode::ALL {
        let s = sealer(mode);
        assert_eq!(SealerBuilder::DEFAULT_LEEWAY, secs(60));
        let ok = s.seal_at(at(60), &1).unwrap();
        assert!(
            s.open_at::<Value>(T0, &ok).is_ok(),
            "{mode}: within the leeway"
        );
        let future = s.seal_at(at(61), &1).unwrap();
        assert_rejects(s, T0, &future, Rejection::NotYetValid, "61 s ahead");
        let backwards = seal_raw(
            s,
            times(T0.as_secs() + 10, T0.as_secs(), T0.as_secs() + 60),
            b"1",
        );
        assert_rejects(
            s,
            T0,
            &backwards,
            Rejection::NotYetValid,
            "created > issued",
        );
    }
}

/// Row 19: an expiry of 0 or `u64::MAX`, and timestamps that overflow when a lifetime or an idle
/// timeout is added, are rejected with checked arithmetic (no panic, no wrap-around).
#[test]
fn checklist_19_extreme_timestamps_rejected_with_checked_arithmetic() {
    let max = u64::MAX;
    let t0 = T0.as_secs();
    for mode in Mode::ALL {
        let s = sealer(mode);
        let idle = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .lifetime(LIFETIME)
            .idle_timeout(Some(secs(300)))
            .build()
            .unwrap();
        let cases: [(&str, &Sealer, Timestamps, UnixTime, Rejection); 7] = [
            ("expires 0", s, times(t0, t0, 0), T0, Rejection::Expired),
            ("expires now", s, times(t0, t0, t0), T0, Rejection::Expired),
            (
                "expires u64::MAX, created a lifetime ago",
                s,
                times(t0 - 3600, t0, max),
                T0,
                Rejection::Expired,
            ),
            (
                "expires u64::MAX, created at 0",
                s,
                times(0, 0, max),
                T0,
                Rejection::Expired,
            ),
            (
                "created + lifetime overflows",
                s,
                times(max - 10, max - 10, max),
                UnixTime::from_secs(max - 10),
                Rejection::Expired,
            ),
            (
                "issued + idle overflows",
                &idle,
                times(max - 3600 - 5, max - 1, max),
                UnixTime::from_secs(max - 10),
                Rejection::IdleTimeout,
            ),
            (
                "now is u64::MAX (now + leeway overflows)",
                s,
                times(t0, t0, t0 + 3600),
                UnixTime::from_secs(max),
                Rejection::Expired,
            ),
        ];
        for (what, opener, ts, now, expected) in cases {
            let token = seal_raw(opener, ts, b"1");
            assert_rejects(opener, now, &token, expected, what);
        }
        let e = s.seal_at(UnixTime::from_secs(max - 10), &1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimeOverflow, "{mode}: sealing");
    }
}

/// Row 20: a token created before the ring's revoke-all cutoff is rejected, however recently it
/// was re-sealed.
#[test]
fn checklist_20_created_before_revoke_cutoff_rejected() {
    for mode in Mode::ALL {
        let s = sealer(mode);
        let old = s.seal_at(T0, &1).unwrap();
        let meta = *s.open_at::<Value>(at(100), &old).unwrap().meta();
        let resealed = s.reseal_at(at(100), &1, &meta).unwrap();
        let revoking = |cutoff: UnixTime| {
            let ring = KeyRing::builder()
                .primary(KEY.clone())
                .revoke_before(cutoff)
                .build()
                .unwrap();
            sealer_in(mode, ring)
        };
        let r = revoking(at(1));
        assert_rejects(&r, at(200), &old, Rejection::Revoked, "created before");
        assert_rejects(
            &r,
            at(200),
            &resealed,
            Rejection::Revoked,
            "re-sealed later",
        );
        let new = s.seal_at(at(1), &1).unwrap();
        assert!(
            r.open_at::<Value>(at(200), &new).is_ok(),
            "created at the cutoff"
        );
        assert!(revoking(T0).open_at::<Value>(at(200), &old).is_ok());
    }
}

/// Row 21: a token under an older key that still opens is accepted and re-sealed under the
/// primary, keeping its creation time and absolute expiry.
#[test]
fn checklist_21_older_key_accepted_and_resealed_keeping_expiry() {
    let c = clock();
    let (k1, k2) = (key(31), key(32));
    let before = manager_with(ring_of(&k1), &c, |b| b);
    let token = issue(&before, &[("user", json!("ann"))]);
    let original = *before.sealer().open_at::<Value>(T0, &token).unwrap().meta();
    let rotated_ring = KeyRing::builder()
        .primary(k2.clone())
        .older(k1.clone())
        .build()
        .unwrap();
    let after = manager_with(rotated_ring, &c, |b| b);
    c.set(at(60));
    let opened = after.sealer().open_at::<Value>(c.now(), &token).unwrap();
    assert_eq!(opened.reseal(), Some(Reseal::RotatedKey));
    let s = load(&after, &[&pair(&token)]);
    assert_eq!(s.get::<String>("user").unwrap().as_deref(), Some("ann"));
    let out = after.finish_at(c.now(), &s).unwrap();
    assert_eq!(out.len(), 1, "a read re-seals: {out:?}");
    let resealed = Cookie::parse(out[0].clone()).unwrap().value().to_owned();
    let meta = *after
        .sealer()
        .open_at::<Value>(c.now(), &resealed)
        .unwrap()
        .meta();
    assert_eq!(meta.key_id(), k2.id());
    assert_eq!(meta.created(), original.created());
    assert_eq!(meta.expires(), original.expires());
    assert_eq!(meta.issued(), at(60));
}
