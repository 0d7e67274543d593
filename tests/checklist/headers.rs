//! Headers and middleware (rows 28–32), at the framework-agnostic layer; the same rows run through both adapters in the HTTP suite.

use super::*;

/// Tokens an attacker can put next to a victim's cookie.
fn attacker_tokens(m: &SessionManager, victim: &str) -> Vec<String> {
    let mut tampered = victim.as_bytes().to_vec();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let c = clock();
    let elsewhere = manager_with(ring_of(&key(41)), &c, |b| b);
    vec![
        "garbage".to_owned(),
        String::from_utf8(tampered).unwrap(),
        issue(&elsewhere, &[("user", json!("mallory"))]),
        String::new(),
        "A".repeat(5000),
        m.sealer()
            .seal_at(T0, &json!("not a session payload"))
            .unwrap(),
    ]
}

/// Row 28: two (or more) cookies with our name, the attacker's first: the valid one is used, in
/// every order, in one `Cookie` header or several.
#[test]
fn checklist_28_duplicate_names_the_valid_cookie_wins_in_any_order() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let victim = issue(&m, &[("user", json!("ann"))]);
    let id = load(&m, &[&pair(&victim)]).id().unwrap();
    let bad = attacker_tokens(&m, &victim);
    for attacker in &bad {
        for (what, headers) in [
            (
                "attacker first",
                vec![format!("{}; {}", pair(attacker), pair(&victim))],
            ),
            (
                "victim first",
                vec![format!("{}; {}", pair(&victim), pair(attacker))],
            ),
            (
                "two headers, attacker first",
                vec![pair(attacker), pair(&victim)],
            ),
            (
                "two headers, victim first",
                vec![pair(&victim), pair(attacker)],
            ),
        ] {
            let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
            let s = load(&m, &refs);
            assert_eq!(s.id(), Some(id), "{what}");
            assert_eq!(s.get::<String>("user").unwrap().as_deref(), Some("ann"));
            assert_eq!(s.rejection(), None, "{what}");
            assert!(m.finish_at(T0, &s).unwrap().is_empty(), "{what}");
        }
    }
    // Every attacker cookie at once, in both orders.
    let mut all: Vec<String> = bad.iter().map(|t| pair(t)).collect();
    all.push(pair(&victim));
    for _ in 0..2 {
        let s = load(&m, &[&all.join("; ")]);
        assert_eq!(s.id(), Some(id));
        all.reverse();
    }
}

/// Row 29: unrelated malformed pairs around ours (`null;`, a pair without `=`, junk names,
/// non-UTF-8 bytes, empty names) never hide our cookie.
#[test]
fn checklist_29_malformed_neighbours_never_hide_our_cookie() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let token = issue(&m, &[("user", json!("ann"))]);
    let id = load(&m, &[&pair(&token)]).id().unwrap();
    let ours = pair(&token).into_bytes();
    let neighbours: [&[u8]; 14] = [
        b"null",
        b"=",
        b"=value",
        b";;;",
        b"a",
        b"b=c=d",
        b"\"quoted\"=1",
        b"\xff\xfe=\x80",
        b"session",
        b"sessionx=1",
        b"x=\"unterminated",
        b"  ",
        b"\x00junk=1",
        b"$Version=1",
    ];
    let mut header = Vec::new();
    for n in neighbours {
        header.extend_from_slice(n);
        header.extend_from_slice(b"; ");
    }
    let before = [&header[..], &ours[..]].concat();
    let after = [&ours[..], b"; ", &header[..]].concat();
    let around = [&header[..], &ours[..], b"; ", &header[..]].concat();
    for (what, h) in [("before", &before), ("after", &after), ("around", &around)] {
        let s = m.load_from_cookie_headers([&h[..]]);
        assert_eq!(s.id(), Some(id), "{what}");
        assert_eq!(s.rejection(), None, "{what}");
    }
    // Neighbours in headers of their own.
    let s = m.load_from_cookie_headers(neighbours.iter().copied().chain([&ours[..]]));
    assert_eq!(s.id(), Some(id), "separate headers");
}

fn tiny_cookies(n: usize) -> String {
    (0..n).map(|i| format!("c{i}=v; ")).collect()
}

/// Row 30: thousands of tiny cookies in one header cost bounded, linear work; at most
/// `MAX_CANDIDATES` cookies with our name are ever opened.
#[test]
fn checklist_30_thousands_of_tiny_cookies_bounded_work() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let token = issue(&m, &[("user", json!("ann"))]);
    let id = load(&m, &[&pair(&token)]).id().unwrap();
    let header = format!("{}{}", tiny_cookies(10_000), pair(&token));
    let s = load(&m, &[&header]);
    assert_eq!(s.id(), Some(id), "found after 10 000 tiny cookies");

    let small = format!("{}{}", tiny_cookies(2_000), pair(&token));
    let large = format!("{}{}", tiny_cookies(20_000), pair(&token));
    let time = |h: &str| {
        best_time(3, 5, || {
            let s = load(&m, &[h]);
            assert!(s.id().is_some());
        })
    };
    let (t_small, t_large) = (time(&small), time(&large));
    // Linear is ~10 times; quadratic would be ~100 times.
    assert!(
        t_large <= t_small * 40 + Duration::from_millis(50),
        "20 000 cookies took {t_large:?}, 2 000 took {t_small:?}"
    );

    // Our name many times: only the first MAX_CANDIDATES are tried.
    let garbage = |n: usize| vec![pair("garbage"); n].join("; ");
    let at_bound = format!("{}; {}", garbage(MAX_CANDIDATES - 1), pair(&token));
    assert_eq!(load(&m, &[&at_bound]).id(), Some(id));
    let past_bound = format!("{}; {}", garbage(MAX_CANDIDATES), pair(&token));
    let s = load(&m, &[&past_bound]);
    assert!(
        s.is_new(),
        "the candidate after MAX_CANDIDATES is never opened"
    );
    assert_eq!(s.rejection(), Some(Rejection::Malformed));
    let flood = format!("{}; {}", garbage(5_000), pair(&token));
    let t_flood = best_time(3, 5, || {
        let _ = std::hint::black_box(load(&m, &[&flood]).id());
    });
    assert!(t_flood < Duration::from_secs(2), "{t_flood:?}");
}

/// Row 31: only our exact cookie name is read; only it is ever base64-decoded or opened (a
/// value under any other name, even our valid token, leaves the session fresh with no
/// rejection, and no deletion cookie is sent).
#[test]
fn checklist_31_only_our_exact_cookie_name_is_opened() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let token = issue(&m, &[("user", json!("ann"))]);
    for name in [
        "Session",
        "SESSION",
        "sessionx",
        "xsession",
        "session.1",
        "session.0",
        "__Host-session",
        "__Secure-session",
        "session%20",
        "sess",
        "session_",
    ] {
        for value in [token.as_str(), "garbage", ""] {
            let header = format!("{name}={value}");
            let s = load(&m, &[&header]);
            assert!(s.is_new(), "{header}");
            assert_eq!(s.rejection(), None, "{header}: it was opened");
            assert!(m.finish_at(T0, &s).unwrap().is_empty(), "{header}");
        }
    }
    // White space around the name is not part of it (RFC 6265 parsing).
    assert!(!load(&m, &[&format!(" {COOKIE} = {token} ")]).is_new());
}

/// Row 32: 100 concurrent first requests get independent sessions: nothing shared by accident.
#[test]
fn checklist_32_concurrent_first_requests_are_independent() {
    const N: usize = 100;
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let barrier = Barrier::new(N);
    let tokens: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let (m, barrier) = (&m, &barrier);
                scope.spawn(move || {
                    let s = load(m, &[]);
                    barrier.wait();
                    s.insert("user", &format!("user-{i}")).unwrap();
                    let out = m.finish_at(T0, &s).unwrap();
                    (i, Cookie::parse(out[0].clone()).unwrap().value().to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ids = std::collections::HashSet::new();
    for (i, token) in &tokens {
        let s = load(&m, &[&pair(token)]);
        assert_eq!(s.get::<String>("user").unwrap(), Some(format!("user-{i}")));
        assert!(ids.insert(s.id().unwrap()));
    }
    assert_eq!(ids.len(), N);
}
