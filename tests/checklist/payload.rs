//! Payload (rows 22–27): the decoder directly, and through an opener with a valid tag.

use super::*;

/// A sealer per mode with room for large payloads, for decoder rows through a valid tag.
fn roomy(mode: Mode) -> Sealer {
    Sealer::builder(RING.clone(), NAME)
        .mode(mode)
        .lifetime(LIFETIME)
        .max_token_len(1 << 20)
        .codec(Codec::new().with_max_bytes(1 << 19))
        .build()
        .unwrap()
}

/// Every mode opens `payload` (sealed raw, so authentic) as `Rejection::Decode`.
fn assert_decode_rejection(payload: &[u8], what: &str) {
    for mode in Mode::ALL {
        let s = roomy(mode);
        let token = seal_raw(
            &s,
            times(T0.as_secs(), T0.as_secs(), T0.as_secs() + 60),
            payload,
        );
        assert_rejects(&s, T0, &token, Rejection::Decode, what);
    }
}

fn codec_kind<T: std::fmt::Debug>(r: Result<T, sealed_session::Error>) -> ErrorKind {
    r.expect_err("the codec refuses it").kind()
}

/// Row 22: nesting 100 000 deep is an error, not a stack overflow (checked on a thread with a
/// 256 KiB stack).
#[test]
fn checklist_22_deep_nesting_is_an_error_not_a_stack_overflow() {
    let arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let objects = format!("{}1{}", r#"{"":"#.repeat(100_000), "}".repeat(100_000));
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn({
            let (arrays, objects) = (arrays.clone(), objects.clone());
            move || {
                let c = Codec::new().with_max_bytes(1 << 20).with_max_depth(100_000);
                [
                    codec_kind(c.decode_value(arrays.as_bytes())),
                    codec_kind(c.decode_value(objects.as_bytes())),
                    codec_kind(
                        Codec::new()
                            .with_max_bytes(1 << 20)
                            .decode_value(arrays.as_bytes()),
                    ),
                ]
            }
        })
        .unwrap();
    assert_eq!(handle.join().unwrap(), [ErrorKind::PayloadTooDeep; 3]);
    assert_decode_rejection(arrays.as_bytes(), "100 000 nested arrays");
    assert_decode_rejection(objects.as_bytes(), "100 000 nested objects");
}

#[derive(Debug, Deserialize, PartialEq)]
struct User {
    name: String,
    age: u8,
}

/// Row 23: duplicate keys are an error in a typed struct; into a generic map the last value wins
/// (serde_json's behaviour, documented on `Codec::decode_map`).
#[test]
fn checklist_23_duplicate_keys_error_in_a_struct_last_wins_in_a_map() {
    let dup = br#"{"name":"a","age":1,"age":2}"#;
    let c = Codec::new();
    assert_eq!(codec_kind(c.decode::<User>(dup)), ErrorKind::Codec);
    assert_eq!(c.decode_map(dup).unwrap()["age"], json!(2));
    assert_eq!(c.decode_value(dup).unwrap()["age"], json!(2));
    for mode in Mode::ALL {
        let s = roomy(mode);
        let token = seal_raw(
            &s,
            times(T0.as_secs(), T0.as_secs(), T0.as_secs() + 60),
            dup,
        );
        assert_eq!(
            s.open_at::<User>(T0, &token).unwrap_err(),
            Rejection::Decode
        );
        assert_eq!(
            s.open_at::<Value>(T0, &token).unwrap().value()["age"],
            json!(2)
        );
    }
}

/// Row 24: non-UTF-8 bytes and lone surrogates are errors.
#[test]
fn checklist_24_non_utf8_and_lone_surrogates_error() {
    let c = Codec::new();
    for bad in [
        &b"\"\xff\""[..],
        b"\"\xc0\xaf\"",         // overlong '/'
        b"\"\xed\xa0\x80\"",     // a surrogate encoded as UTF-8 (CESU-8)
        b"\"\xf4\x90\x80\x80\"", // past U+10FFFF
        b"{\"a\":\"\x80\"}",
        br#""\ud800""#,
        br#""\udc00""#,
        br#""\ud800\u0041""#,
        br#"{"\udfff":1}"#,
    ] {
        assert_eq!(codec_kind(c.decode_value(bad)), ErrorKind::Codec, "{bad:?}");
        assert_decode_rejection(bad, &format!("{bad:?}"));
    }
    assert_eq!(c.decode_value(br#""\ud83d\ude00""#).unwrap(), json!("😀"));
}

/// Row 25: numbers out of range for the target type are errors.
#[test]
fn checklist_25_out_of_range_numbers_error() {
    let c = Codec::new();
    assert_eq!(codec_kind(c.decode::<f64>(b"1e400")), ErrorKind::Codec);
    assert_eq!(codec_kind(c.decode_value(b"1e400")), ErrorKind::Codec);
    assert_eq!(codec_kind(c.decode_value(b"-1e400")), ErrorKind::Codec);
    assert_eq!(
        codec_kind(c.decode::<u64>(b"18446744073709551616")),
        ErrorKind::Codec
    );
    assert_eq!(
        codec_kind(c.decode::<i64>(b"-9223372036854775809")),
        ErrorKind::Codec
    );
    assert_eq!(codec_kind(c.decode::<u8>(b"256")), ErrorKind::Codec);
    assert_eq!(codec_kind(c.decode::<u32>(b"-1")), ErrorKind::Codec);
    assert_eq!(codec_kind(c.decode::<u64>(b"1.5")), ErrorKind::Codec);
    assert_eq!(c.decode::<u64>(b"18446744073709551615").unwrap(), u64::MAX);
    for mode in Mode::ALL {
        let s = roomy(mode);
        let token = seal_raw(
            &s,
            times(T0.as_secs(), T0.as_secs(), T0.as_secs() + 60),
            br#"{"name":"a","age":256}"#,
        );
        assert_eq!(
            s.open_at::<User>(T0, &token).unwrap_err(),
            Rejection::Decode
        );
    }
    assert_decode_rejection(b"1e400", "1e400");
}

/// Row 26: trailing data after the JSON value, and a UTF-8 byte-order mark, are errors.
#[test]
fn checklist_26_trailing_data_and_bom_error() {
    let c = Codec::new();
    for bad in [
        &b"{\"a\":1} x"[..],
        b"{\"a\":1}{}",
        b"1 2",
        b"[] []",
        b"{}\0",
        b"\xEF\xBB\xBF{}",
        b"\xEF\xBB\xBF1",
    ] {
        assert_eq!(codec_kind(c.decode_value(bad)), ErrorKind::Codec, "{bad:?}");
        assert_decode_rejection(bad, &format!("{bad:?}"));
    }
    assert!(c.decode_value(b" {} \n").is_ok(), "white space is not data");
}

/// Row 27: a plaintext over the configured maximum is an error to encode, to seal and to open
/// (the property that the sealer never produces one is `checklist_27_property_...` below).
#[test]
fn checklist_27_plaintext_over_the_limit_is_an_error() {
    let c = Codec::new().with_max_bytes(100);
    let fits = "x".repeat(98); // 100 bytes of JSON with the quotes
    let over = "x".repeat(99);
    assert_eq!(c.encode(&fits).unwrap().len(), 100);
    assert_eq!(codec_kind(c.encode(&over)), ErrorKind::PayloadTooLarge);
    let over_json = serde_json::to_vec(&over).unwrap();
    assert_eq!(
        codec_kind(c.decode_value(&over_json)),
        ErrorKind::PayloadTooLarge
    );
    for mode in Mode::ALL {
        let s = Sealer::builder(RING.clone(), NAME)
            .mode(mode)
            .codec(c)
            .build()
            .unwrap();
        assert!(s.seal_at(T0, &fits).is_ok());
        assert_eq!(
            s.seal_at(T0, &over).unwrap_err().kind(),
            ErrorKind::PayloadTooLarge
        );
        // A token from a sealer with a larger limit does not open under the smaller one.
        let big = roomy(mode).seal_at(T0, &over).unwrap();
        assert_rejects(&s, T0, &big, Rejection::Decode, "over the opener's limit");
    }
}
