//! Envelope (rows 6–15): lengths, nonces, tags, versions, modes, key ids and what the tag binds.

use super::*;

/// Row 6: every decoded length from 0 up to the minimum token size is rejected, without a
/// slice-index panic, by every opener.
#[test]
fn checklist_06_every_short_decoded_length_rejected() {
    for mode in Mode::ALL {
        let real = unb64(&token_of_len(mode, 3));
        for len in 0..mode.overhead() {
            for bytes in [real[..len].to_vec(), {
                let mut z = vec![0u8; len];
                if let Some(b) = z.first_mut() {
                    *b = mode.version_byte();
                }
                z
            }] {
                let t = base64url(&bytes);
                for opener in SEALERS.iter().chain([&*ALL_MODES]) {
                    assert_rejects(opener, T0, &t, Rejection::Malformed, &format!("{len}"));
                }
            }
        }
    }
}

/// Row 7: a nonce of the wrong length for the mode is refused, never a `from_slice` panic: by the
/// primitive wrappers for every other length, and by the opener when a token's version byte
/// names a mode with another nonce length.
#[test]
fn checklist_07_wrong_nonce_length_rejected() {
    for alg in [
        AeadAlgorithm::XChaCha20Poly1305,
        AeadAlgorithm::Aes256Gcm,
        AeadAlgorithm::Aes256GcmSiv,
    ] {
        let c = AeadCipher::from_slice(alg, &secret(3)).unwrap();
        let n = c.nonce_len();
        let mut buf = *b"payload";
        let tag = c.encrypt_in_place(&vec![1; n], b"ad", &mut buf).unwrap();
        for len in (0..=48).filter(|l| *l != n) {
            let nonce = vec![1u8; len];
            let mut b = *b"payload";
            assert!(
                c.encrypt_in_place(&nonce, b"ad", &mut b).is_err(),
                "{alg:?} {len}"
            );
            let mut b = buf;
            assert!(
                c.decrypt_in_place(&nonce, b"ad", &mut b, &tag).is_err(),
                "{alg:?} {len}"
            );
        }
        c.decrypt_in_place(&vec![1; n], b"ad", &mut buf, &tag)
            .unwrap();
        assert_eq!(&buf, b"payload");
    }
    // Relabel a token as another mode (another nonce length): refused by the tag, no panic.
    for from in Mode::ALL {
        let bytes = unb64(&token_of_len(from, 40));
        for to in Mode::ALL.into_iter().filter(|m| *m != from) {
            let mut b = bytes.clone();
            b[0] = to.version_byte();
            let t = base64url(&b);
            assert_rejects(
                &ALL_MODES,
                T0,
                &t,
                Rejection::BadTag,
                &format!("{from}→{to}"),
            );
            assert_rejects(
                sealer(from),
                T0,
                &t,
                Rejection::UnsupportedVersion,
                &format!("{from}→{to}"),
            );
        }
    }
}

/// Row 8: a tag truncated by 1–15 bytes (1–31 for the 32-byte HMAC tag) is rejected.
#[test]
fn checklist_08_truncated_tags_rejected() {
    for mode in Mode::ALL {
        let bytes = unb64(&token_of_len(mode, 40));
        for cut in 1..mode.tag_len() {
            let t = base64url(&bytes[..bytes.len() - cut]);
            assert_rejects(sealer(mode), T0, &t, Rejection::BadTag, &format!("-{cut}"));
        }
    }
    let mac = HmacSha256::from_slice(&secret(4)).unwrap();
    let tag = mac.sign(&[b"message"]);
    assert_eq!(tag.len(), HMAC_TAG_LEN);
    for len in 0..HMAC_TAG_LEN {
        assert!(mac.verify(&[b"message"], &tag[..len]).is_err(), "{len}");
    }
    mac.verify(&[b"message"], &tag).unwrap();
    for alg in [
        AeadAlgorithm::XChaCha20Poly1305,
        AeadAlgorithm::Aes256Gcm,
        AeadAlgorithm::Aes256GcmSiv,
    ] {
        let c = AeadCipher::from_slice(alg, &secret(5)).unwrap();
        let nonce = vec![2; c.nonce_len()];
        let mut buf = *b"payload";
        let tag = c.encrypt_in_place(&nonce, b"", &mut buf).unwrap();
        for len in 0..AEAD_TAG_LEN {
            let mut b = buf;
            assert!(
                c.decrypt_in_place(&nonce, b"", &mut b, &tag[..len])
                    .is_err(),
                "{alg:?} {len}"
            );
        }
    }
}

/// Row 9: an unknown version byte (0x00, 0xFF, the current + 1, and every other unknown value)
/// is rejected, and a known but different one is never opened ("try every format" is not done).
#[test]
fn checklist_09_unknown_version_bytes_rejected() {
    for mode in Mode::ALL {
        let bytes = unb64(&token_of_len(mode, 40));
        for v in 0..=255u8 {
            let mut b = bytes.clone();
            b[0] = v;
            let t = base64url(&b);
            match Mode::from_version_byte(v) {
                None => {
                    for opener in SEALERS.iter().chain([&*ALL_MODES]) {
                        assert_rejects(opener, T0, &t, Rejection::UnsupportedVersion, "");
                    }
                }
                Some(m) if m == mode => assert!(ALL_MODES.open_at::<Value>(T0, &t).is_ok()),
                Some(_) => assert!(ALL_MODES.open_at::<Value>(T0, &t).is_err()),
            }
        }
    }
    for v in [0x00, 0xff, 0x15, 0x10, 0x21] {
        assert_eq!(Mode::from_version_byte(v), None, "{v:#x}");
    }
}

/// Row 10: a signed token given to an encrypted-only opener, and the reverse, is rejected (and
/// so is every mode given to an opener of another mode).
#[test]
fn checklist_10_signed_and_encrypted_openers_refuse_each_other() {
    for from in Mode::ALL {
        let token = token_of_len(from, 5);
        for to in Mode::ALL.into_iter().filter(|m| *m != from) {
            assert_rejects(
                sealer(to),
                T0,
                &token,
                Rejection::UnsupportedVersion,
                &format!("{from} token"),
            );
        }
    }
}

/// Row 11: an unknown key id is rejected by one lookup, never by trying every key: a token whose
/// id names no key is `UnknownKey` even when a key in the ring would verify it, and a token
/// whose id names another key is `BadTag` although the right key is in the ring.
#[test]
fn checklist_11_unknown_key_id_rejected_without_trying_keys() {
    let a = key(11);
    let b = key(12);
    for mode in Mode::ALL {
        let sealed_as_2 = sealer_in(mode, ring_of(&a.clone().with_id(KeyId::new(2))))
            .seal_at(T0, &json!("v"))
            .unwrap();
        let a_as_1 = ring_of(&a.clone().with_id(KeyId::new(1)));
        assert_rejects(
            &sealer_in(mode, a_as_1),
            T0,
            &sealed_as_2,
            Rejection::UnknownKey,
            "the sealing key under another id",
        );
        let mixed = KeyRing::builder()
            .primary(a.clone().with_id(KeyId::new(1)))
            .older(b.clone().with_id(KeyId::new(2)))
            .build()
            .unwrap();
        assert_rejects(
            &sealer_in(mode, mixed),
            T0,
            &sealed_as_2,
            Rejection::BadTag,
            "only the key named by the id is tried",
        );
        let many = (0..64u32)
            .fold(KeyRing::builder().primary(key(13)), |r, i| {
                r.older(Key::generate().with_id(KeyId::new(1000 + i)))
            })
            .build()
            .unwrap();
        assert_rejects(
            &sealer_in(mode, many),
            T0,
            &sealed_as_2,
            Rejection::UnknownKey,
            "65 keys",
        );
    }
}

/// Row 12: a known key id with the wrong secret (another deployment) is rejected.
#[test]
fn checklist_12_known_key_id_wrong_secret_rejected() {
    for mode in Mode::ALL {
        let ours = sealer_in(mode, ring_of(&key(21).with_id(KeyId::new(7))));
        let theirs = sealer_in(mode, ring_of(&key(22).with_id(KeyId::new(7))));
        let token = theirs.seal_at(T0, &json!({"user": "mallory"})).unwrap();
        assert_rejects(
            &ours,
            T0,
            &token,
            Rejection::BadTag,
            "same id, other secret",
        );
    }
}

/// What the opening order predicts for a token that passed as `original` and was altered into
/// `altered`: version, length, accepted mode, key id, else the tag.
fn predicted(altered: &[u8], accepted: &[Mode]) -> Rejection {
    fixtures::predicted_for_bytes(altered, accepted, &[KEY.id()]).unwrap_or(Rejection::BadTag)
}

/// Row 13: every bit of every field of a short token flipped, exhaustively: each variant is
/// rejected, with the rejection the opening order predicts.
#[test]
fn checklist_13_every_bit_flip_rejected() {
    for mode in Mode::ALL {
        let token = sealer(mode).seal_at(T0, &1).unwrap();
        let bytes = unb64(&token);
        assert_eq!(bytes.len(), mode.overhead() + 1);
        let mut count = 0;
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let t = base64url(&b);
                assert_rejects(sealer(mode), T0, &t, predicted(&b, &[mode]), "flip");
                assert_rejects(&ALL_MODES, T0, &t, predicted(&b, &Mode::ALL), "flip");
                count += 1;
            }
        }
        assert_eq!(count, 8 * (mode.overhead() + 1));
    }
}

/// Row 14: a valid token moved to another cookie name, or sealed for another purpose, is
/// rejected; at the session layer it gives a fresh session.
#[test]
fn checklist_14_token_moved_to_another_name_or_purpose_rejected() {
    for mode in Mode::ALL {
        let token = sealer(mode).seal_at(T0, &json!({"user": "ann"})).unwrap();
        for name in ["id2", "ID", "__Host-id", "id.1", "i"] {
            let other = Sealer::builder(RING.clone(), name)
                .mode(mode)
                .build()
                .unwrap();
            assert_rejects(&other, T0, &token, Rejection::BadTag, name);
        }
        let csrf = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .purpose("csrf")
            .build()
            .unwrap();
        assert_rejects(&csrf, T0, &token, Rejection::BadTag, "purpose csrf");
    }
    let c = clock();
    let a = manager_with(RING.clone(), &c, |b| b.with_cookie_name("a"));
    let b = manager_with(RING.clone(), &c, |b| b.with_cookie_name("b"));
    let token = issue(&a, &[("user", json!("ann"))]);
    let s = load(&b, &[&format!("b={token}")]);
    assert!(s.is_new());
    assert_eq!(s.rejection(), Some(Rejection::BadTag));
}

/// Row 15: a token from another application sharing the same secret, cookie name and mode but
/// with another purpose is rejected, both ways.
#[test]
fn checklist_15_other_application_same_secret_rejected() {
    for mode in Mode::ALL {
        let app = |purpose: &str| {
            Sealer::builder(ring_of(&KEY), NAME)
                .mode(mode)
                .purpose(purpose)
                .build()
                .unwrap()
        };
        let (billing, forum) = (app("billing"), app("forum"));
        let from_billing = billing.seal_at(T0, &json!({"admin": true})).unwrap();
        let from_forum = forum.seal_at(T0, &json!({"admin": true})).unwrap();
        assert!(billing.open_at::<Value>(T0, &from_billing).is_ok());
        assert_rejects(
            &forum,
            T0,
            &from_billing,
            Rejection::BadTag,
            "billing→forum",
        );
        assert_rejects(
            &billing,
            T0,
            &from_forum,
            Rejection::BadTag,
            "forum→billing",
        );
    }
}
