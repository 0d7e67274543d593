//! Unit tests of keys and key rings: derivation, parsing, builder checks, rotation times.
//! Compiled only with `#[cfg(test)]` (the `mod tests;` line of the parent module).

use super::*;

fn key(b: u8) -> Key {
    let mut s = [b; 32];
    s[0] = b.wrapping_add(1);
    Key::try_from(&s[..]).unwrap()
}

#[test]
fn rejects_short_uniform_and_overlong_secrets() {
    for bad in [
        &[1u8; 31][..],
        &[0u8; 32][..],
        &[9u8; 64][..],
        &[5u8; 1025][..],
    ] {
        let e = Key::try_from(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
    }
    assert!(Key::try_from(&[][..]).is_err());
    assert!(Key::from_base64("not base64!").is_err());
    assert_eq!(
        Key::from_base64("AAAA").unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
}

#[test]
fn aes_gcm_counters_outlive_their_rings_only_once_used() {
    let tracked = |k: &Key| {
        let fingerprint = *derive::<16>(&k.secret, LABEL_GCM_COUNTER);
        let counters = GCM_SEALS.lock().unwrap();
        counters
            .get(&fingerprint)
            .map(|c| c.load(Ordering::Relaxed))
    };
    let (unused, used) = (Key::generate(), Key::generate());
    let rings =
        [unused.clone(), used.clone()].map(|k| KeyRing::builder().primary(k).build().unwrap());
    assert!(rings[1].find(used.id).unwrap().count_aes_gcm_seal());
    assert_eq!((tracked(&unused), tracked(&used)), (Some(0), Some(1)));
    drop(rings);
    // The next ring built prunes counters no ring holds and that never counted a seal.
    let _other = KeyRing::generate();
    assert_eq!(
        tracked(&unused),
        None,
        "an unused counter is dropped with its ring"
    );
    assert_eq!(
        tracked(&used),
        Some(1),
        "a used one is kept for the process"
    );
    let again = KeyRing::builder().primary(used.clone()).build().unwrap();
    assert_eq!(again.aes_gcm_seals(used.id), Some(1));
}

#[test]
fn overlong_base64_is_refused_before_decoding() {
    // Exactly MAX_LEN bytes, padded: the longest text accepted.
    let longest = base64::engine::general_purpose::STANDARD.encode(
        (0..Key::MAX_LEN)
            .map(|i| (i * 7 + 1) as u8)
            .collect::<Vec<u8>>(),
    );
    assert!(Key::from_base64(&longest).is_ok());
    for text in [format!("{longest}A"), "A".repeat(1 << 20), "!".repeat(5000)] {
        let e = Key::from_base64(&text).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
        assert!(e.message().contains("longer than 1024 bytes"), "{e}");
    }
    // The decoded length is exact, not the buffer's estimate.
    let k = key(5);
    let b64 = k.to_base64();
    for text in [b64.as_str(), b64.trim_end_matches('=')] {
        assert_eq!(&*Key::from_base64(text).unwrap().secret, &*k.secret);
    }
    assert_eq!(
        Key::from_base64("AAA=====").unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
}

#[test]
fn base64_forms_are_all_accepted() {
    let k = Key::generate();
    let std = k.to_base64();
    let url_nopad = std
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    for text in [std.to_string(), url_nopad, format!("  {}\n", std.as_str())] {
        assert_eq!(Key::from_base64(&text).unwrap().id(), k.id());
    }
}

#[test]
fn debug_never_prints_secret_bytes() {
    let k = Key::try_from(&(0u8..32).collect::<Vec<_>>()[..]).unwrap();
    let ring = KeyRing::builder().primary(k.clone()).build().unwrap();
    let texts = [
        format!("{k:?}"),
        format!("{k:#?}"),
        format!("{ring:?}"),
        format!("{:?}", KeyRing::builder().primary(k.clone())),
    ];
    let b64 = k.to_base64();
    for t in &texts {
        assert!(!t.contains(b64.as_str()), "{t}");
        assert!(!t.contains("[0, 1, 2"), "{t}");
        assert!(!t.contains("000102"), "{t}");
    }
    assert!(texts[0].contains("<redacted>"));
}

#[test]
fn derived_ids_are_pinned() {
    // HKDF-SHA256(salt "sealed-session/v1", IKM 0x00..0x1f, info ".../key-id", L=4).
    let k = Key::try_from(&(0u8..32).collect::<Vec<_>>()[..]).unwrap();
    assert_eq!(k.id(), derive_key_id(&(0u8..32).collect::<Vec<_>>()));
    assert_ne!(k.id(), key(3).id());
    assert_eq!(k.clone().with_id(KeyId::new(7)).id(), KeyId::new(7));
}

#[test]
fn build_validates() {
    let kind = |b: KeyRingBuilder| b.build().unwrap_err().kind();
    assert_eq!(kind(KeyRing::builder()), ErrorKind::InvalidKeyRing);
    assert_eq!(
        kind(KeyRing::builder().older(key(1))),
        ErrorKind::InvalidKeyRing
    );
    assert_eq!(
        kind(KeyRing::builder().primary(key(1)).primary(key(2))),
        ErrorKind::InvalidKeyRing
    );
    assert_eq!(
        kind(KeyRing::builder().primary(key(1)).older(key(1))),
        ErrorKind::InvalidKeyRing
    );
    assert_eq!(
        kind(
            KeyRing::builder()
                .primary(key(1))
                .older(key(2).with_id(KeyId::new(5)))
                .older(key(3).with_id(KeyId::new(5)))
        ),
        ErrorKind::InvalidKeyRing
    );
    let t = UnixTime::from_secs(10);
    assert_eq!(
        kind(
            KeyRing::builder()
                .primary(key(1))
                .pending(key(2), t)
                .pending(key(3), t)
        ),
        ErrorKind::InvalidKeyRing
    );
}

/// The configuration names entries by these positions (`keys.key[2]`), so they are pinned.
#[test]
fn build_problems_name_the_entries_in_the_order_added() {
    let problem = |b: KeyRingBuilder| b.try_build().err();
    let t = UnixTime::from_secs(10);
    assert_eq!(problem(KeyRing::builder()), Some(RingProblem::Empty));
    assert_eq!(
        problem(KeyRing::builder().older(key(1))),
        Some(RingProblem::NoPrimary)
    );
    assert_eq!(
        problem(
            KeyRing::builder()
                .older(key(1))
                .primary(key(2))
                .primary(key(3))
        ),
        Some(RingProblem::SecondPrimary {
            first: 1,
            second: 2
        })
    );
    assert_eq!(
        problem(
            KeyRing::builder()
                .pending(key(1), t)
                .primary(key(2))
                .pending(key(3), t)
        ),
        Some(RingProblem::SecondPending {
            first: 0,
            second: 2
        })
    );
    let id = KeyId::new(5);
    assert_eq!(
        problem(
            KeyRing::builder()
                .primary(key(1).with_id(id))
                .older(key(2))
                .older(key(3).with_id(id))
        ),
        Some(RingProblem::SameId {
            id,
            first: 0,
            second: 2
        })
    );
    assert_eq!(problem(KeyRing::builder().primary(key(1))), None);
}

#[test]
fn pending_key_becomes_primary_at_its_time() {
    let (a, b) = (key(1), key(2));
    let at = UnixTime::from_secs(1000);
    let ring = KeyRing::builder()
        .primary(a.clone())
        .pending(b.clone(), at)
        .build()
        .unwrap();
    assert_eq!(ring.primary_id_at(UnixTime::from_secs(999)), a.id());
    assert_eq!(ring.primary_id_at(at), b.id());
    let ka = ring.find(a.id()).unwrap();
    let kb = ring.find(b.id()).unwrap();
    assert!(!ring.is_retiring(kb, UnixTime::from_secs(999)));
    assert!(!ring.is_retiring(ka, UnixTime::from_secs(999)));
    assert!(ring.is_retiring(ka, at));
    assert!(!ring.is_retiring(kb, at));
}

#[test]
fn lookup_is_by_id() {
    let ring = KeyRing::builder()
        .primary(key(1))
        .older(key(2))
        .older(key(3))
        .build()
        .unwrap();
    for k in [key(1), key(2), key(3)] {
        assert_eq!(ring.find(k.id()).map(|r| r.id), Some(k.id()));
    }
    assert!(ring.find(key(4).id()).is_none());
}

#[test]
fn key_id_parse_forms() {
    assert_eq!(KeyId::parse("0000002a").unwrap(), KeyId::new(42));
    assert_eq!(KeyId::parse("0x2a").unwrap(), KeyId::new(42));
    assert_eq!(KeyId::parse("42").unwrap(), KeyId::new(42));
    assert!(KeyId::parse("forty-two").is_err());
    assert_eq!(KeyId::new(42).to_string(), "0000002a");
}
