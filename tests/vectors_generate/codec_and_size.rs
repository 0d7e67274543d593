//! Authentic tokens whose envelope the codec refuses, and tokens over the length limit.

use super::*;

pub(crate) fn cases(s: &mut Suite) {
    let a = &alpha();
    let case = |s: &mut Suite, desc: &str, ctx: Ctx, mode: Mode, env: Env| {
        let token = tok(a, mode, &env, desc);
        s.neg(
            format!("{mode}: authentic, but {desc} -> decode"),
            &ctx,
            token,
            Rejection::Decode,
        );
    };
    let p = USER_ANN;
    case(
        s,
        "flags 0x02 (an unknown codec id; only 0x01 = JSON exists)",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(p).flags(0x02),
    );
    case(
        s,
        "flags 0x11 (JSON with reserved bit 4 set; reserved bits must be 0 in v1)",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(p).flags(0x11),
    );
    case(
        s,
        "flags 0x00 (no codec id)",
        Ctx::new(SIV),
        SIV,
        Env::fresh(p).flags(0x00),
    );
    case(
        s,
        "the payload nests 33 arrays deep, one over the default max_depth 32",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(&nested_arrays(33)),
    );
    case(
        s,
        "the payload nests 5 objects deep with max_depth 4",
        Ctx::new(SIV).codec(Codec::DEFAULT_MAX_BYTES, 4),
        SIV,
        Env::fresh(br#"{"a":{"b":{"c":{"d":{}}}}}"#),
    );
    case(
        s,
        "the payload is 65 bytes with max_payload_bytes 64",
        Ctx::new(SIV).codec(64, Codec::DEFAULT_MAX_DEPTH),
        SIV,
        Env::fresh(&note_of_len(65)),
    );
    case(
        s,
        "the payload has trailing data ({\"a\":1} x)",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(br#"{"a":1} x"#),
    );
    case(
        s,
        "the payload is two JSON values ({\"a\":1}{})",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(br#"{"a":1}{}"#),
    );
    case(
        s,
        "the payload starts with a UTF-8 byte-order mark (EF BB BF, then {})",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(b"\xEF\xBB\xBF{}"),
    );
    case(
        s,
        "the payload is not UTF-8 (a 0xFF byte inside a string)",
        Ctx::new(XCHACHA),
        XCHACHA,
        Env::fresh(b"{\"a\":\"\xFF\"}"),
    );
    case(
        s,
        "the payload escapes a lone surrogate ({\"a\":\"\\ud800\"})",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(br#"{"a":"\ud800"}"#),
    );
    case(
        s,
        "the payload is empty (zero bytes is not JSON)",
        Ctx::new(GCM),
        GCM,
        Env::fresh(b""),
    );
    case(
        s,
        "the payload is truncated JSON ({\"a\":)",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(br#"{"a":"#),
    );

    let t = tok(a, SIGNED, &Env::fresh(p), "signed base");
    s.neg(
        format!(
            "signed-hmac-sha256: a valid {}-character token with max_token_len {} -> too_large",
            t.len(),
            t.len() - 1
        ),
        &Ctx::new(SIGNED).max_token_len(t.len() - 1),
        t.clone(),
        Rejection::TooLarge,
    );
    s.neg(
        "signed-hmac-sha256: 101 characters of non-base64 ('!') with max_token_len 100: the length is checked before decoding -> too_large",
        &Ctx::new(SIGNED).max_token_len(100),
        "!".repeat(101),
        Rejection::TooLarge,
    );
}
