//! Reading the request: neighbours, several lines, duplicates, floods.

use super::*;

#[test]
fn malformed_neighbours_never_hide_our_cookie() {
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| b);
    let token = env.issue_token();
    let ours = format!("{NAME}={token}");
    let big = format!("big={}", "x".repeat(3000));
    let many_mid: String = (0..5000)
        .map(|i| {
            if i == 2500 {
                ours.clone()
            } else {
                format!("c{i}=v")
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let many_end = (0..5000)
        .map(|i| format!("c{i}=v"))
        .chain([ours.clone()])
        .collect::<Vec<_>>()
        .join("; ");
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("alone", vec![ours.clone().into_bytes()]),
        ("after null;", vec![format!("null; {ours}").into_bytes()]),
        (
            "pairs without '='",
            vec![format!("a; {ours}; b; ;;").into_bytes()],
        ),
        (
            "empty names and values",
            vec![format!("=; =x; y=; {ours}; ==").into_bytes()],
        ),
        (
            "junk names and look-alikes",
            vec![format!(
                "SID=junk; sidx=junk; xsid=junk; sid.1=junk; {NAME}_=junk; {ours}; {{}}=1"
            )
            .into_bytes()],
        ),
        (
            "non-UTF-8 neighbours",
            vec![[
                b"junk=\xff\xfe; ".as_slice(),
                ours.as_bytes(),
                b"; bad=\xc3\x28; \xf0\x9f=1".as_slice(),
            ]
            .concat()],
        ),
        (
            "a non-UTF-8 line before ours",
            vec![b"\xff\xff\xff".to_vec(), ours.clone().into_bytes()],
        ),
        (
            "3000-byte neighbour",
            vec![format!("{big}; {ours}; {big}").into_bytes()],
        ),
        (
            "5000 tiny cookies, ours in the middle",
            vec![many_mid.into_bytes()],
        ),
        ("5000 tiny cookies, ours last", vec![many_end.into_bytes()]),
        (
            "several Cookie lines",
            vec![
                b"theme=dark".to_vec(),
                b"null".to_vec(),
                ours.clone().into_bytes(),
                b"lang=en".to_vec(),
            ],
        ),
    ];
    for (label, lines) in cases {
        let s = env
            .manager
            .load_from_cookie_headers(lines.iter().map(Vec::as_slice));
        assert_eq!(s.rejection(), None, "{label}");
        assert!(!s.is_new(), "{label}: ours was found");
        assert_eq!(
            s.get::<String>("user").unwrap(),
            Some("ann".into()),
            "{label}"
        );
        assert_eq!(env.finish(&s, label), Vec::<String>::new(), "{label}");
    }
    // The same through a HeaderMap with several Cookie lines.
    let s = env.load_lines(&["theme=dark; null", &ours, "lang=en"]);
    assert_eq!(s.get::<String>("user").unwrap(), Some("ann".into()));
}

#[test]
fn duplicate_cookie_names_valid_first_last_or_absent() {
    let key = Key::generate();
    let env = Env::with(ring_of(&key), policy(NAME), |b| b);
    let valid = env.issue_token();
    let other_valid = Env::with(KeyRing::generate(), policy(NAME), |b| b).issue_token();
    let garbages: Vec<(&str, String, Rejection)> = vec![
        ("garbage", "junk!".into(), Rejection::Malformed),
        ("tampered", tamper(&valid), Rejection::BadTag),
        ("foreign key", other_valid, Rejection::UnknownKey),
    ];
    let attrs = Attrs::of(env.manager.policy());
    // Two cookies with our name, in one `Cookie` line or in two.
    let lines = |split: bool, a: &str, b: &str| {
        if split {
            vec![format!("{NAME}={a}"), format!("x=1; {NAME}={b}")]
        } else {
            vec![format!("x=1; {NAME}={a}; y=2; {NAME}={b}")]
        }
    };
    for (glabel, garbage, reason) in &garbages {
        for (layout, split) in [("one line", false), ("two lines", true)] {
            let cases: Vec<(&str, Vec<String>, bool)> = vec![
                ("valid first", lines(split, &valid, garbage), true),
                ("valid last", lines(split, garbage, &valid), true),
                ("valid absent", lines(split, garbage, "also-junk!"), false),
            ];
            for (position, hdrs, opens) in cases {
                let label = format!("{glabel}, {layout}, {position}");
                let refs: Vec<&str> = hdrs.iter().map(String::as_str).collect();
                let s = env.load_lines(&refs);
                if opens {
                    assert_eq!(s.rejection(), None, "{label}");
                    assert!(!s.is_new(), "{label}");
                    assert_eq!(
                        s.get::<String>("user").unwrap(),
                        Some("ann".into()),
                        "{label}"
                    );
                    let out = env.finish(&s, &label);
                    assert_eq!(out, Vec::<String>::new(), "{label}: no deletion cookie");
                } else {
                    assert_eq!(s.rejection(), Some(*reason), "{label}: the first reason");
                    assert!(s.is_new(), "{label}");
                    assert!(s.is_empty(), "{label}");
                    assert_eq!(s.status(), SessionStatus::Unchanged, "{label}");
                    let out = env.finish(&s, &label);
                    assert_eq!(out.len(), 1, "{label}: one deletion cookie: {out:?}");
                    assert_deletion(&parse(&out[0]), NAME, &attrs, T0, &label);
                }
            }
        }
    }
    // Up to MAX_CANDIDATES copies are tried: the valid one last among them still opens.
    let mut line: Vec<String> = (1..MAX_CANDIDATES)
        .map(|i| format!("{NAME}=junk{i}!"))
        .collect();
    line.push(format!("{NAME}={valid}"));
    let s = env.load_lines(&[&line.join("; ")]);
    assert_eq!(
        s.get::<String>("user").unwrap(),
        Some("ann".into()),
        "valid as candidate {MAX_CANDIDATES}"
    );
    assert_eq!(env.finish(&s, "candidates"), Vec::<String>::new());

    // A flood of 5000 cookies with our name: a fresh session and a single deletion cookie.
    let flood = (0..5000)
        .map(|i| format!("{NAME}=junk{i}!"))
        .collect::<Vec<_>>()
        .join("; ");
    let s = env.load_lines(&[&flood]);
    assert_eq!(s.rejection(), Some(Rejection::Malformed), "flood");
    assert!(s.is_new(), "flood");
    let out = env.finish(&s, "flood");
    assert_eq!(out.len(), 1, "flood: {out:?}");
    assert_deletion(&parse(&out[0]), NAME, &attrs, T0, "flood");
}

#[test]
fn concurrent_first_requests_get_distinct_sessions() {
    let env = Env::with(KeyRing::generate(), policy(NAME), |b| b);
    let n = 100;
    let barrier = Barrier::new(n);
    let results: Vec<(usize, String, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (env, barrier) = (&env, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let s = env.manager.load(&HeaderMap::new());
                    s.insert("n", &i).unwrap();
                    let out = env.manager.finish_at(T0, &s).unwrap();
                    assert_eq!(out.len(), 1, "thread {i}");
                    (i, s.id().unwrap().to_string(), token_of(NAME, &out))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: HashSet<&String> = results.iter().map(|(_, id, _)| id).collect();
    let tokens: HashSet<&String> = results.iter().map(|(_, _, t)| t).collect();
    assert_eq!(ids.len(), n, "distinct ids");
    assert_eq!(tokens.len(), n, "distinct tokens");
    for (i, id, token) in &results {
        let s = env.load(&Jar::default().with(NAME, token));
        assert_eq!(
            s.id().map(|x| x.to_string()).as_ref(),
            Some(id),
            "thread {i}"
        );
        assert_eq!(s.get::<usize>("n").unwrap(), Some(*i), "thread {i}");
    }
}
