//! Encoding (rows 1–5): what is refused before anything is decoded.

use super::*;

/// Row 1: no cookie, no session; no `Set-Cookie` unless the handler writes.
#[test]
fn checklist_01_no_cookie_no_session_no_set_cookie() {
    let m = manager_with(RING.clone(), &clock(), |b| b);
    for headers in [&[][..], &["theme=dark; lang=en"][..], &[""][..]] {
        let s = load(&m, headers);
        assert!(s.is_new() && s.id().is_none() && s.rejection().is_none());
        assert_eq!(s.get::<String>("user").unwrap(), None);
        assert!(
            m.finish_at(T0, &s).unwrap().is_empty(),
            "{headers:?}: a read"
        );
        s.insert("user", &"ann").unwrap();
        let out = m.finish_at(T0, &s).unwrap();
        assert_eq!(out.len(), 1, "{headers:?}: a write");
        assert_eq!(Cookie::parse(out[0].as_str()).unwrap().name(), COOKIE);
    }
}

/// Row 2: an empty value is rejected.
#[test]
fn checklist_02_empty_value_rejected() {
    for mode in Mode::ALL {
        assert_rejects(sealer(mode), T0, "", Rejection::Malformed, "empty");
    }
    assert_rejects(&ALL_MODES, T0, "", Rejection::Malformed, "empty");
    let m = manager_with(RING.clone(), &clock(), |b| b);
    for header in [
        "session=",
        "session= ",
        "session=;",
        "theme=1; session=; x=2",
    ] {
        assert_fresh(&m, header, Rejection::Malformed, header);
    }
}

/// Row 3: a value over the maximum (4097 bytes, 100 KiB) is rejected before base64 decoding,
/// in time independent of its length beyond the cap: junk that is not base64 at all is
/// `TooLarge` too, and 100 KiB costs what 4097 bytes cost.
#[test]
fn checklist_03_oversized_value_rejected_before_decoding() {
    let max = SealerBuilder::DEFAULT_MAX_TOKEN_LEN;
    let at_cap_junk = "!".repeat(max);
    for mode in Mode::ALL {
        let s = sealer(mode);
        assert_eq!(s.max_token_len(), 4096);
        for (what, token) in [
            ("4097 base64 characters", "A".repeat(max + 1)),
            ("100 KiB base64 characters", "A".repeat(100 * 1024)),
            ("4097 bytes of junk", "!".repeat(max + 1)),
            ("100 KiB of junk", "\u{0}\u{ff}".repeat(50 * 1024)),
            ("4097 bytes of multibyte text", "é".repeat(2049)),
        ] {
            assert_rejects(s, T0, &token, Rejection::TooLarge, what);
        }
        // At the cap the same junk is decoded, and refused as what it is.
        assert_rejects(s, T0, &at_cap_junk, Rejection::Malformed, "4096 junk");
    }

    let just_over = "A".repeat(max + 1);
    let far_over = "A".repeat(100 * 1024);
    let s = sealer(Mode::default());
    let small = best_time(5, 2000, || {
        let _ = std::hint::black_box(s.open_at::<Value>(T0, &just_over));
    });
    let large = best_time(5, 2000, || {
        let _ = std::hint::black_box(s.open_at::<Value>(T0, &far_over));
    });
    // Decoding 100 KiB 2000 times would take ~25 times as long as 4097 bytes; a generous bound.
    assert!(
        large <= small * 5 + Duration::from_millis(20),
        "100 KiB took {large:?}, 4097 bytes {small:?}"
    );

    let m = manager_with(RING.clone(), &clock(), |b| b);
    assert_fresh(&m, &pair(&far_over), Rejection::TooLarge, "100 KiB cookie");
    assert_fresh(
        &m,
        &pair(&just_over),
        Rejection::TooLarge,
        "4097-byte cookie",
    );
}

/// Row 4: invalid characters, the standard alphabet, padding, a non-canonical last character and
/// a length ≡ 1 (mod 4) are rejected: exactly one spelling of a token is accepted.
#[test]
fn checklist_04_only_canonical_base64url_accepted() {
    for mode in Mode::ALL {
        let s = sealer(mode);
        let mut residues_seen = [false; 4];
        for n in 0..60 {
            let token = token_of_len(mode, n);
            let residue = token.len() % 4;
            if residues_seen[residue] {
                continue;
            }
            residues_seen[residue] = true;
            assert!(s.open_at::<Value>(T0, &token).is_ok());
            assert_eq!(
                base64url(&unb64(&token)),
                token,
                "canonical by construction"
            );
            let mid = token.len() / 2;
            for bad in ['+', '/', '=', '.', '*', '~', '%', '$', '\\', '"'] {
                let t = format!("{}{bad}{}", &token[..mid], &token[mid + 1..]);
                assert_rejects(s, T0, &t, Rejection::Malformed, &format!("{bad:?} inside"));
            }
            // The standard alphabet spelling of the same bytes, padded or not.
            let standard = STANDARD.encode(unb64(&token));
            if standard != token {
                assert_rejects(s, T0, &standard, Rejection::Malformed, "standard, padded");
            }
            if let Some(i) = token.find(['-', '_']) {
                let std_char = if &token[i..=i] == "-" { "+" } else { "/" };
                let t = format!("{}{std_char}{}", &token[..i], &token[i + 1..]);
                assert_rejects(s, T0, &t, Rejection::Malformed, "standard alphabet");
            }
            for pad in ["=", "==", "==="] {
                let t = format!("{token}{pad}");
                assert_rejects(s, T0, &t, Rejection::Malformed, "padding");
            }
            // Exactly one last character opens: every other is a different token or
            // non-canonical.
            let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let stem = &token[..token.len() - 1];
            let opening: Vec<char> = alphabet
                .chars()
                .filter(|c| s.open_at::<Value>(T0, &format!("{stem}{c}")).is_ok())
                .collect();
            assert_eq!(opening, vec![token.chars().last().unwrap()], "{mode}");
            if residue != 0 {
                // Set the unused low bits of the last character: non-canonical.
                let last = alphabet.find(token.chars().last().unwrap()).unwrap();
                let unused = if residue == 2 { 0b1111 } else { 0b11 };
                let t = format!("{stem}{}", &alphabet[(last | unused)..=(last | unused)]);
                assert_rejects(s, T0, &t, Rejection::Malformed, "non-canonical last");
            }
            // A length of 1 mod 4.
            let cut = (1..=4).find(|k| (token.len() - k) % 4 == 1).unwrap();
            let t = &token[..token.len() - cut];
            assert_rejects(s, T0, t, Rejection::Malformed, "length 1 mod 4");
            assert_rejects(s, T0, &format!("{t}AAAA"), Rejection::Malformed, "1 mod 4");
        }
        assert_eq!(residues_seen, [true, false, true, true], "{mode}");
    }
}

/// Row 5: white space, tab or control characters inside the value are rejected.
#[test]
fn checklist_05_whitespace_and_control_characters_rejected() {
    for mode in Mode::ALL {
        let s = sealer(mode);
        let token = token_of_len(mode, 10);
        let mid = token.len() / 2;
        for c in [
            ' ', '\t', '\n', '\r', '\0', '\u{b}', '\u{c}', '\u{1b}', '\u{1f}', '\u{7f}', '\u{a0}',
            '\u{2028}', '\u{feff}',
        ] {
            for (what, t) in [
                ("leading", format!("{c}{token}")),
                ("inside", format!("{}{c}{}", &token[..mid], &token[mid..])),
                ("trailing", format!("{token}{c}")),
            ] {
                assert_rejects(s, T0, &t, Rejection::Malformed, &format!("{c:?} {what}"));
            }
        }
    }
    let m = manager_with(RING.clone(), &clock(), |b| b);
    let token = issue(&m, &[("user", json!("ann"))]);
    let mid = token.len() / 2;
    for c in ['\t', ' ', '\u{1}'] {
        let header = pair(&format!("{}{c}{}", &token[..mid], &token[mid..]));
        assert_fresh(
            &m,
            &header,
            Rejection::Malformed,
            &format!("{c:?} in a header"),
        );
    }
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The checklist's expected outcome for every rejection: a fresh session and a `tracing` event
/// with the reason code, never the token, the key or the plaintext.
#[test]
fn checklist_expected_outcome_logs_the_reason_never_the_token() {
    let raw = secret(77);
    let ring = ring_of(&Key::try_from(&raw[..]).unwrap());
    let c = clock();
    let m = manager_with(ring, &c, |b| b.with_lifetime(secs(3600)));
    let token = issue(&m, &[("password", json!("hunter2-plaintext"))]);
    let mut tampered = token.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let cases = [
        ("bad_tag", tampered.clone(), T0),
        ("expired", token.clone(), at(3600)),
        ("too_large", "Q".repeat(5000), T0),
        ("malformed", format!("{}!", &token[..40]), T0),
    ];
    for (code, value, now) in cases {
        c.set(now);
        let logs = LogBuffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer({
                let logs = logs.clone();
                move || logs.clone()
            })
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let s = load(&m, &[&pair(&value)]);
            assert!(s.is_new(), "{code}");
            assert_deletion(&m.finish_at(now, &s).unwrap(), code);
        });
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains(&format!("reason={code}")), "{code}: {text}");
        for secret_text in [
            &value[..40],
            &token[..40],
            &token[token.len() - 30..],
            "hunter2",
        ] {
            assert!(
                !text.contains(secret_text),
                "{code}: the log holds {secret_text:?}: {text}"
            );
        }
        assert_no_secret(code, &text, &raw);
    }
}
