//! Chunking: round trips, and missing, reordered, foreign and leftover chunks.

use super::*;

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
