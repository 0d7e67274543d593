//! Unit tests of the legacy reader: the edge cases the real Beaker never writes.
//! Compiled only with `#[cfg(test)]` (the `mod tests;` line of the parent module).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests: a panic is a failed test"
)]

use super::*;
use miniz_oxide::deflate::compress_to_vec_zlib;

const VK: &str = "unit-test-validate-key";
const EK: &str = "unit-test-encrypt-key";
const NOW: UnixTime = UnixTime::from_secs(1_700_000_000);

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `<hex HMAC-SHA1(VK, payload)><payload>`, as `SignedCookie.value_encode` writes.
fn signed(payload: &str) -> String {
    signed_value(
        <HmacSha1 as Mac>::new_from_slice(VK.as_bytes()).unwrap(),
        payload,
    )
}

fn json_session(extra: &str) -> String {
    format!(
        r#"{{"_domain": null, "_path": "/", "_id": "0123", "user": "ann", "count": 3,
            "_creation_time": 1699999000.25, "_accessed_time": 1699999990.75{extra}}}"#
    )
}

/// An unencrypted Beaker cookie around these serializer bytes.
fn plain_cookie(serialized: &[u8]) -> String {
    signed(&b64(serialized))
}

fn json_cookie(json: &str) -> String {
    plain_cookie(&compress_to_vec_zlib(json.as_bytes(), 6))
}

fn reader() -> BeakerReader {
    BeakerReader::builder(VK).build().unwrap()
}

#[test]
fn a_hand_made_cookie_opens_without_beakers_keys() {
    let s = reader()
        .read_at(NOW, &json_cookie(&json_session("")))
        .unwrap();
    assert_eq!(s.entries().len(), 2);
    assert_eq!(s.entries()["user"], "ann");
    assert_eq!(s.created(), UnixTime::from_secs(1_699_999_000));
    assert_eq!(s.accessed(), UnixTime::from_secs(1_699_999_990));
    assert_eq!(s.expires(), None);
    assert_eq!(s.cookie_path(), Some("/"));
    assert_eq!(s.cookie_domain(), None);
}

#[test]
fn the_timeout_is_beakers_strict_greater_than() {
    let r = BeakerReader::builder(VK)
        .timeout_secs(Some(10))
        .build()
        .unwrap();
    let c = json_cookie(&json_session(""));
    let accessed = 1_699_999_990;
    let s = r.read_at(UnixTime::from_secs(accessed + 10), &c).unwrap();
    assert_eq!(s.expires(), Some(UnixTime::from_secs(accessed + 10)));
    assert_eq!(
        r.read_at(UnixTime::from_secs(accessed + 11), &c),
        Err(LegacyRejection::Expired)
    );
}

#[test]
fn a_zlib_bomb_stops_at_the_codec_limit() {
    // 2 MiB of spaces deflate to about 2 KiB: a valid, signed cookie under the size limit
    // that would inflate to 128 times the codec's 16 KiB.
    let bomb = compress_to_vec_zlib(&vec![b' '; 2 << 20], 10);
    let cookie = plain_cookie(&bomb);
    assert!(cookie.len() <= MAX_LEGACY_COOKIE_LEN, "{}", cookie.len());
    assert_eq!(
        reader().read_at(NOW, &cookie),
        Err(LegacyRejection::ZlibBound)
    );
    // The same bound is the codec's: a tighter codec stops a smaller stream.
    let small = json_cookie(&json_session(&format!(r#", "pad": "{}""#, "x".repeat(600))));
    let tight = BeakerReader::builder(VK)
        .codec(Codec::new().with_max_bytes(512))
        .build()
        .unwrap();
    assert_eq!(tight.read_at(NOW, &small), Err(LegacyRejection::ZlibBound));
    assert!(reader().read_at(NOW, &small).is_ok());
}

#[test]
fn the_inflate_bound_is_exact() {
    let data = vec![b'a'; 1000];
    let z = compress_to_vec_zlib(&data, 6);
    assert_eq!(inflate_json(&z, 1000).unwrap(), data);
    assert_eq!(inflate_json(&z, 999), Err(LegacyRejection::ZlibBound));
    assert_eq!(inflate_json(&z, 0), Err(LegacyRejection::ZlibBound));
}

#[test]
fn truncated_corrupt_or_trailing_zlib_is_decode() {
    let z = compress_to_vec_zlib(json_session("").as_bytes(), 6);
    let r = reader();
    let mut trailing = z.clone();
    trailing.push(0);
    let mut bad_adler = z.clone();
    *bad_adler.last_mut().unwrap() ^= 1;
    for bytes in [
        &z[..z.len() - 1],
        &z[..2],
        &trailing[..],
        &bad_adler[..],
        b"{\"user\": \"raw JSON, not zlib\"}",
        b"",
    ] {
        assert_eq!(
            r.read_at(NOW, &plain_cookie(bytes)),
            Err(LegacyRejection::Decode),
            "{bytes:?}"
        );
    }
}

#[test]
fn a_pickle_is_refused_by_its_first_byte() {
    // The start of `pickle.dumps({...}, 2)`: PROTO 2, EMPTY_DICT...
    let cookie = plain_cookie(b"\x80\x02}q\x00(X\x04\x00\x00\x00userq\x01X\x03\x00\x00\x00ann");
    assert_eq!(reader().read_at(NOW, &cookie), Err(LegacyRejection::Pickle));
}

#[test]
fn too_large_is_checked_before_anything_else() {
    let r = reader();
    let huge = "a".repeat(MAX_LEGACY_COOKIE_LEN + 1);
    assert_eq!(r.read_at(NOW, &huge), Err(LegacyRejection::TooLarge));
    let huge_valid_looking = format!("{}{}", "0".repeat(40), "A".repeat(MAX_LEGACY_COOKIE_LEN));
    assert_eq!(
        r.read_at(NOW, &huge_valid_looking),
        Err(LegacyRejection::TooLarge)
    );
    let at_limit = "a".repeat(MAX_LEGACY_COOKIE_LEN);
    assert_eq!(
        r.read_at(NOW, &at_limit),
        Err(LegacyRejection::BadSignature)
    );
}

#[test]
fn the_signature_must_be_forty_lowercase_hex_digits() {
    let r = reader();
    let good = json_cookie(&json_session(""));
    assert!(r.read_at(NOW, &good).is_ok());
    for short in ["", "\"\"", "abc", &good[..39]] {
        assert_eq!(
            r.read_at(NOW, short),
            Err(LegacyRejection::Malformed),
            "{short}"
        );
    }
    let upper = format!("{}{}", good[..40].to_ascii_uppercase(), &good[40..]);
    if upper != good {
        assert_eq!(r.read_at(NOW, &upper), Err(LegacyRejection::Malformed));
    }
    let not_hex = format!("g{}", &good[1..]);
    assert_eq!(r.read_at(NOW, &not_hex), Err(LegacyRejection::Malformed));
    // A multi-byte character straddling the 40th byte is not a panic.
    let straddle = format!("{}é{}", "0".repeat(39), &good[40..]);
    assert_eq!(r.read_at(NOW, &straddle), Err(LegacyRejection::Malformed));
    // One digit missing: the payload's first character becomes part of the signature.
    assert_eq!(
        r.read_at(NOW, &good[1..]),
        Err(LegacyRejection::BadSignature)
    );
}

#[test]
fn signed_but_bad_base64_is_malformed() {
    let r = reader();
    for payload in ["eJ!!", "eJx", "eJx1====", "eJ x1", "eJ_-"] {
        assert_eq!(
            r.read_at(NOW, &signed(payload)),
            Err(LegacyRejection::Malformed),
            "{payload}"
        );
    }
}

#[test]
fn beakers_keys_must_have_beakers_types() {
    let r = reader();
    let missing_accessed = r#"{"_creation_time": 1.0, "user": "ann"}"#;
    let missing_created = r#"{"_accessed_time": 1.0, "user": "ann"}"#;
    for json in [
        missing_accessed,
        missing_created,
        r#"{"_creation_time": 1.0, "_accessed_time": "yesterday"}"#,
        r#"{"_creation_time": -1.0, "_accessed_time": 1.0}"#,
        r#"{"_creation_time": 1e300, "_accessed_time": 1.0}"#,
        r#"{"_creation_time": 1.0, "_accessed_time": 1.0, "_id": 5}"#,
        r#"{"_creation_time": 1.0, "_accessed_time": 1.0, "_path": 5}"#,
        r#"{"_creation_time": 1.0, "_accessed_time": 1.0, "_expires": false}"#,
        r#"{"_creation_time": 1.0, "_accessed_time": 1.0, "_expires": 12}"#,
        r#"["not", "a", "dict"]"#,
        r#"{"_creation_time": 1.0, "_accessed_time": 1.0} trailing"#,
        "not json at all",
    ] {
        assert_eq!(
            r.read_at(NOW, &json_cookie(json)),
            Err(LegacyRejection::Decode),
            "{json}"
        );
    }
    let with_expires = json_session(r#", "_expires": true, "_flash": ["kept"]"#);
    let s = r.read_at(NOW, &json_cookie(&with_expires)).unwrap();
    assert!(!s.entries().contains_key("_expires"));
    assert_eq!(s.entries()["_flash"][0], "kept");
}

#[test]
fn the_codecs_depth_limit_applies() {
    let deep = format!(
        r#"{{"_creation_time": 1.0, "_accessed_time": 1.0, "x": {}{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(
        reader().read_at(NOW, &json_cookie(&deep)),
        Err(LegacyRejection::Decode)
    );
}

/// What `Session._encrypt_data` does, with a chosen nonce and IV.
fn encrypted_cookie(crypto: BeakerCrypto, json: &str, nonce: &str) -> String {
    let mut key = [0u8; 32];
    let salt = format!("{VK}{nonce}");
    pbkdf2::pbkdf2_hmac::<Sha1>(EK.as_bytes(), salt.as_bytes(), 1, &mut key);
    let mut data = compress_to_vec_zlib(json.as_bytes(), 6);
    let body = match crypto {
        BeakerCrypto::Cryptography => {
            let iv = [7u8; 12];
            let tag = Aes256Gcm::new(&key.into())
                .encrypt_in_place_detached(&iv.into(), b"", &mut data)
                .unwrap();
            [&iv[..], &tag[..], &data[..]].concat()
        }
        BeakerCrypto::Pycryptodome => {
            Aes256Ctr::new(&key.into(), &[0u8; 16].into()).apply_keystream(&mut data);
            data
        }
    };
    signed(&format!("{nonce}{}", b64(&body)))
}

#[test]
fn both_backends_open_and_short_ciphertexts_are_malformed() {
    let nonce = b64(&[9u8; 16]);
    assert_eq!(nonce.len(), NONCE_B64_LEN);
    for crypto in [BeakerCrypto::Cryptography, BeakerCrypto::Pycryptodome] {
        let r = BeakerReader::builder(VK)
            .encrypt_key(EK)
            .crypto(crypto)
            .build()
            .unwrap();
        let c = encrypted_cookie(crypto, &json_session(""), &nonce);
        assert_eq!(r.read_at(NOW, &c).unwrap().entries()["count"], 3);
        // The nonce is salt text: another nonce is another key.
        let other = format!("{}{}", &c[..40], &c[40..]).replacen(&nonce, &b64(&[8u8; 16]), 1);
        assert!(r.read_at(NOW, &signed(&other[40..])).is_err());
        assert_eq!(
            r.read_at(NOW, &signed(&nonce[..10])),
            Err(LegacyRejection::Malformed)
        );
    }
    let gcm = BeakerReader::builder(VK).encrypt_key(EK).build().unwrap();
    let short = signed(&format!("{nonce}{}", b64(&[0u8; 27])));
    assert_eq!(gcm.read_at(NOW, &short), Err(LegacyRejection::Malformed));
    let tag_only = signed(&format!("{nonce}{}", b64(&[0u8; 28])));
    assert_eq!(gcm.read_at(NOW, &tag_only), Err(LegacyRejection::BadTag));
}

#[test]
fn settings_deserialize_strictly_with_beakers_defaults() {
    let s: BeakerSettings = serde_json::from_str(r#"{"validate_key": "v"}"#).unwrap();
    let r = BeakerReader::from_settings(s).unwrap();
    assert_eq!(r.cookie_name(), DEFAULT_COOKIE_NAME);
    assert_eq!(r.deletion_cookie_attributes().path(), "/");
    assert_eq!(r.deletion_cookie_attributes().domain(), None);
    let deletion = r.deletion_cookie();
    assert!(deletion.starts_with("beaker.session.id=; "), "{deletion}");
    assert!(
        deletion.contains("Max-Age=0") && deletion.contains("Path=/"),
        "{deletion}"
    );
    assert!(!deletion.contains("Secure"), "{deletion}");
    let host = BeakerReader::builder("v")
        .cookie_name("__Host-sid")
        .build()
        .unwrap();
    assert!(host.deletion_cookie().contains("Secure"));
    let s: BeakerSettings =
        serde_json::from_str(r#"{"validate_key": "v", "encrypt_key": "e", "crypto": "pycrypto"}"#)
            .unwrap();
    assert_eq!(s.crypto, BeakerCrypto::Pycryptodome);
    for bad in [
        r#"{"validate_key": "v", "encrypt_nonce_bits": 48}"#,
        r#"{"validate_key": "v", "crypto": "default"}"#,
        r#"{"encrypt_key": "e"}"#,
    ] {
        assert!(
            serde_json::from_str::<BeakerSettings>(bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn bad_settings_are_config_errors_that_never_echo_a_key() {
    let cases: [(BeakerReaderBuilder, &str); 6] = [
        (BeakerReader::builder(""), "validate_key"),
        (BeakerReader::builder(VK).encrypt_key(""), "encrypt_key"),
        (
            BeakerReader::builder(VK).encrypt_key("clé-secrète"),
            "encrypt_key",
        ),
        (
            BeakerReader::builder("clé-secrète").encrypt_key(EK),
            "validate_key",
        ),
        (
            BeakerReader::builder(VK).cookie_name("bad name"),
            "cookie_name",
        ),
        (BeakerReader::builder(VK).path("no-slash"), "path"),
    ];
    for (builder, names) in cases {
        let e = builder.build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        let text = format!("{e} {e:?}");
        assert!(text.contains(names), "{text}");
        for secret in [VK, EK, "clé-secrète"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // A non-ASCII validate_key is fine without encryption (Beaker signs its UTF-8).
    assert!(BeakerReader::builder("clé").build().is_ok());
}

#[test]
fn debug_never_prints_a_key_or_an_entry() {
    let settings: BeakerSettings = serde_json::from_str(&format!(
        r#"{{"validate_key": "{VK}", "encrypt_key": "{EK}"}}"#
    ))
    .unwrap();
    let reader = BeakerReader::builder(VK).encrypt_key(EK).build().unwrap();
    let session = BeakerReader::builder(VK)
        .build()
        .unwrap()
        .read_at(NOW, &json_cookie(&json_session(r#", "secret": "hunter2""#)))
        .unwrap();
    let builder = BeakerReader::builder(VK).encrypt_key(EK);
    for text in [
        format!("{settings:?}"),
        format!("{reader:?}"),
        format!("{builder:?}"),
        format!("{session:?}"),
    ] {
        assert!(!text.contains(VK) && !text.contains(EK), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("redacted") || text.contains("keys"), "{text}");
    }
}

#[test]
fn rejection_codes_are_snake_case_and_round_trip() {
    for r in LegacyRejection::ALL {
        let code = r.as_str();
        assert!(
            code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
        assert_eq!(LegacyRejection::from_code(code), Some(r));
        assert_eq!(r.to_string(), code);
    }
    assert_eq!(LegacyRejection::from_code("nope"), None);
}
