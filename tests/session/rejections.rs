//! Rejections: a fresh session and the configured deletion cookie.

use super::*;

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
