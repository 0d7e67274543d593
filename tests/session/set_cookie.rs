//! When a `Set-Cookie` is sent (writes, renew, purge, re-seal) and when it is not.

use super::*;

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
