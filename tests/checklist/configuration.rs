//! Configuration (rows 37–38): unacceptable secrets and rings, and secrets never printed.

use super::*;

/// Row 37: empty, all-zero, uniform or shorter-than-32-byte secrets, duplicate key ids and a ring
/// without a primary are build errors.
#[test]
fn checklist_37_unacceptable_secrets_and_rings_are_build_errors() {
    for bad in [
        &[][..],
        &[0u8; 32][..],
        &[0u8; 64][..],
        &[0xffu8; 32][..],
        &secret(1)[..31],
        &[7u8; 1025][..],
    ] {
        let e = Key::try_from(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey, "{} bytes", bad.len());
    }
    for text in [
        "",
        "   ",
        "AAAA",
        &STANDARD.encode([0u8; 32]),
        "not base64!",
    ] {
        assert_eq!(
            Key::from_base64(text).unwrap_err().kind(),
            ErrorKind::InvalidKey
        );
    }
    let ring_kind = |b: sealed_session::KeyRingBuilder| b.build().unwrap_err().kind();
    let (a, b) = (key(51), key(52));
    for (what, builder) in [
        ("empty", KeyRing::builder()),
        ("no primary", KeyRing::builder().older(a.clone())),
        (
            "two primaries",
            KeyRing::builder().primary(a.clone()).primary(b.clone()),
        ),
        (
            "the same key twice",
            KeyRing::builder().primary(a.clone()).older(a.clone()),
        ),
        (
            "duplicate explicit ids",
            KeyRing::builder()
                .primary(a.clone().with_id(KeyId::new(9)))
                .older(b.clone().with_id(KeyId::new(9))),
        ),
        (
            "two pending keys",
            KeyRing::builder()
                .primary(a.clone())
                .pending(b.clone(), at(10))
                .pending(key(53), at(20)),
        ),
    ] {
        assert_eq!(ring_kind(builder), ErrorKind::InvalidKeyRing, "{what}");
    }
    assert_eq!(
        KeyRing::from_key_list("").unwrap_err().kind(),
        ErrorKind::InvalidKeyRing
    );
    assert_eq!(
        KeyRing::from_key_list("1:AAAA").unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    #[cfg(feature = "config")]
    {
        let short = STANDARD.encode(&secret(1)[..16]);
        let toml = format!("[[keys.key]]\nsecret = \"{short}\"\nstate = \"primary\"\n");
        let e = sealed_session::config::Config::from_toml_str(&toml).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey, "{e}");
        assert!(!e.to_string().contains(&short), "{e}");
        let no_primary = format!(
            "[[keys.key]]\nsecret = \"{}\"\nstate = \"older\"\n",
            a.to_base64().as_str()
        );
        let e = sealed_session::config::Config::from_toml_str(&no_primary).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKeyRing, "{e}");
    }
}

/// Row 38: `Debug` (plain and `{:#?}`) and `Display` of keys, rings, builders, sealers,
/// managers, policies, sessions, configurations, caches, adapters and the primitive wrappers
/// never print secret bytes (nor the subkeys derived from them).
#[test]
fn checklist_38_debug_and_display_never_print_secrets() {
    let raw = secret(38);
    let k = Key::try_from(&raw[..]).unwrap();
    let ring = ring_of(&k);
    let clock = clock();
    let manager = manager_with(ring.clone(), &clock, |b| b);
    let session = load(&manager, &[]);
    session.insert("password", &"hunter2-secret-value").unwrap();
    let mut texts: Vec<(&str, String)> = vec![
        ("Key", format!("{k:?}")),
        ("Key #", format!("{k:#?}")),
        ("KeyId", format!("{} {:?}", k.id(), k.id())),
        ("KeyRing", format!("{ring:?} {ring:#?}")),
        (
            "KeyRingBuilder",
            format!("{:?}", KeyRing::builder().primary(k.clone()).older(key(2))),
        ),
        (
            "Sealer",
            format!("{:?}", sealer_in(Mode::Signed, ring.clone())),
        ),
        (
            "SealerBuilder",
            format!("{:?}", Sealer::builder(ring.clone(), NAME)),
        ),
        ("SessionManager", format!("{manager:?} {manager:#?}")),
        (
            "SessionBuilder",
            format!("{:?}", SessionManager::builder(ring.clone())),
        ),
        ("CookiePolicy", format!("{:?}", manager.policy())),
        ("Session", format!("{session:?}")),
        (
            "AeadCipher",
            format!(
                "{:?}",
                AeadCipher::from_slice(AeadAlgorithm::Aes256GcmSiv, &raw).unwrap()
            ),
        ),
        (
            "HmacSha256",
            format!("{:?}", HmacSha256::from_slice(&raw).unwrap()),
        ),
        (
            "Error from a bad secret",
            Key::try_from(&[raw[0]; 32][..]).unwrap_err().to_string(),
        ),
    ];
    #[cfg(feature = "axum")]
    texts.push((
        "SessionLayer",
        format!(
            "{:?}",
            sealed_session::axum::SessionLayer::new(manager.clone())
        ),
    ));
    #[cfg(feature = "actix")]
    texts.push((
        "SessionMiddleware",
        format!(
            "{:?}",
            sealed_session::actix::SessionMiddleware::new(manager.clone())
        ),
    ));
    #[cfg(feature = "cache")]
    {
        use sealed_session::cache::Cache;
        let builder = Cache::builder().seal_with(ring.clone());
        texts.push(("CacheBuilder", format!("{builder:?}")));
        let cache = builder.build().unwrap();
        let ns = cache.namespace::<String, String>("secrets");
        ns.insert(&"k".to_owned(), &"hunter2-secret-value".to_owned())
            .unwrap();
        texts.push(("Cache", format!("{cache:?} {ns:?}")));
    }
    #[cfg(feature = "config")]
    {
        use sealed_session::config::{Config, KeyRingReloader};
        let toml = format!(
            "[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n",
            k.to_base64().as_str()
        );
        let config = Config::from_toml_str(&toml).unwrap();
        texts.push(("Config", format!("{config:?} {config:#?}")));
        texts.push((
            "ConfigLoader",
            format!("{:?}", Config::loader().toml(toml.clone())),
        ));
        texts.push((
            "KeyRingReloader",
            format!("{:?}", KeyRingReloader::new(&config)),
        ));
        let bad = toml.replace("primary", "nonsense");
        texts.push((
            "config Error",
            Config::from_toml_str(&bad).unwrap_err().to_string(),
        ));
    }
    for (what, text) in &texts {
        assert_no_secret(what, text, &raw);
    }
    let session_text = &texts.iter().find(|(w, _)| *w == "Session").unwrap().1;
    assert!(!session_text.contains("hunter2"), "{session_text}");
    assert!(texts[0].1.contains("redacted"), "{}", texts[0].1);
    // The checker itself finds a leak.
    let leaky = format!("{:?}", &raw);
    let caught = std::panic::catch_unwind(|| assert_no_secret("leaky", &leaky, &raw));
    assert!(caught.is_err(), "the spellings catch a Debug of the bytes");
}

/// Secrets in memory (issue 17, item 4): the key-holding types of key rotation print no secret
/// either (row 38 covers the rest), old or new key, and a key parsed from base64 in any form has
/// the same secret as the original (the decoding into a pre-sized wiped buffer changed nothing
/// but where the copies live).
#[cfg(feature = "config")]
#[test]
fn secrets_in_memory_rotation_types_print_no_secret() {
    use sealed_session::config::Rotation;
    let old_raw = secret(71);
    let new_raw = secret(72);
    let old = Key::try_from(&old_raw[..]).unwrap();
    let new = Key::try_from(&new_raw[..]).unwrap();
    let toml = format!(
        "[[keys.key]]\nsecret = \"{}\"\nstate = \"primary\"\n",
        old.to_base64().as_str()
    );
    let rotation = Rotation::immediate(new.clone());
    let rotated = rotation
        .apply(
            &toml,
            std::path::Path::new("."),
            UnixTime::from_secs(1_700_000_000),
        )
        .unwrap();
    assert!(
        rotated.text().contains(new.to_base64().as_str()),
        "the text holds the key"
    );
    for (what, text) in [
        ("Rotation", format!("{rotation:?} {rotation:#?}")),
        ("Rotated", format!("{rotated:?} {rotated:#?}")),
        ("RotationReport", format!("{:?}", rotated.report())),
    ] {
        assert_no_secret(what, &text, &old_raw);
        assert_no_secret(what, &text, &new_raw);
    }
    let std = old.to_base64();
    for form in [
        std.as_str().to_owned(),
        std.trim_end_matches('=').to_owned(),
        URL_SAFE_NO_PAD.encode(&old_raw),
        format!("  {}\n", std.as_str()),
    ] {
        let again = Key::from_base64(&form).unwrap();
        assert_eq!(again.to_base64().as_str(), std.as_str(), "{form:?}");
    }
}
