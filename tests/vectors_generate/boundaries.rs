//! The boundaries SECURITY.md states as numbers or comparisons, each pinned on both sides where
//! it has two: the minimum token length per mode, `now + leeway` overflowing, the activation
//! instant of a pending key, the order of re-seal hints (refresh included) and the hint for a
//! token issued in the future inside the leeway, the token-length limit in bytes, the payload
//! limit in bytes, how nesting depth is counted, JSON white space and numbers, and the session
//! layer's payload shape.

use super::*;

pub(crate) fn cases(s: &mut Suite) {
    minimum_lengths(s);
    leeway_overflow(s);
    activation_instant(s);
    reseal_hint_order(s);
    token_length_in_bytes(s);
    json_text(s);
    session_payload(s);
}

/// Per mode: one byte short of the minimum is `malformed`; exactly the minimum (an authentic
/// token with an empty payload) passes every step up to the codec, which refuses the empty text.
fn minimum_lengths(s: &mut Suite) {
    let a = &alpha();
    for mode in [SIGNED, XCHACHA, GCM, SIV] {
        let min = mode.overhead();
        let t = tok(a, mode, &Env::fresh(b""), &format!("{mode} minimum"));
        assert_eq!(decode(&t).len(), min);
        s.neg(
            format!(
                "{mode}: {} bytes, one below the mode's {min}-byte minimum (header {} + envelope 25 + tag {}), first byte 0x{:02x} -> malformed",
                min - 1,
                mode.header_len(),
                mode.tag_len(),
                mode.version_byte()
            ),
            &Ctx::new(mode),
            truncate(&t, min - 1),
            Rejection::Malformed,
        );
        s.neg(
            format!(
                "{mode}: exactly the {min}-byte minimum, authentic, with an empty payload: splits, verifies and passes the time policy; zero bytes are not JSON -> decode"
            ),
            &Ctx::new(mode),
            t,
            Rejection::Decode,
        );
    }
    let t = tok(a, SIV, &Env::fresh(b""), "aes-256-gcm-siv minimum");
    s.neg(
        "aes-256-gcm-siv token cut to 57 bytes, one below its minimum, given to a signed-hmac-sha256 opener that does not accept aes-256-gcm-siv: a known version byte's length is checked before whether the opener accepts its mode -> malformed",
        &Ctx::new(SIGNED),
        truncate(&t, SIV.overhead() - 1),
        Rejection::Malformed,
    );
}

/// `now + leeway` past 2^64 − 1 saturates to 2^64 − 1: it neither wraps nor refuses.
fn leeway_overflow(s: &mut Suite) {
    let a = &alpha();
    let now = u64::MAX - 4000;
    s.pos(
        "aes-256-gcm-siv: now = 2^64 - 4001, leeway_secs 5000 (now + leeway overflows, and is taken as 2^64 - 1), issued = expires = 2^64 - 1, created = now - 10, lifetime_secs 3600: issued is not after 2^64 - 1, so it opens (a wrapped sum would refuse it as not_yet_valid)",
        &Ctx::new(SIV).now(now).leeway(5000).lifetime(3600),
        a,
        SIV,
        &Env::fresh(USER_ANN).times(now - 10, u64::MAX, u64::MAX),
        None,
    );
    let now = u64::MAX - 10;
    let desc = "signed-hmac-sha256: now = 2^64 - 11, leeway_secs 60 (now + leeway overflows, and is taken as 2^64 - 1), created = issued = expires = 2^64 - 1: not refused as not_yet_valid (a wrapped sum would be), but now >= expires is false and created + 14-day lifetime overflows -> expired";
    s.neg(
        desc,
        &Ctx::new(SIGNED).now(now),
        tok(
            a,
            SIGNED,
            &Env::fresh(USER_ANN).times(u64::MAX, u64::MAX, u64::MAX),
            desc,
        ),
        Rejection::Expired,
    );
}

/// A pending key seals from `activates_at` on (`now >= activates_at`): at that second the old
/// primary's tokens are hinted `rotated_key`, one second before they are not.
fn activation_instant(s: &mut Suite) {
    let (a, b) = (alpha(), bravo());
    for (at, reseal, why) in [
        (
            NOW,
            Some(Reseal::RotatedKey),
            "activation is now >= activates_at, so bravo seals from this second on",
        ),
        (
            NOW + 1,
            None,
            "one second before activation alpha still seals",
        ),
    ] {
        s.pos(
            format!(
                "aes-256-gcm-siv: sealed under primary {} with pending key {} activating at {} (now = {NOW}): opens, re-seal {} ({why})",
                a.label(),
                b.label(),
                at,
                reseal_code(reseal).unwrap_or("null"),
            ),
            &Ctx::new(SIV).ring(vec![(a.clone(), State::Primary), (b.clone(), State::Pending(at))]),
            &a,
            SIV,
            &Env::fresh(USER_ANN),
            reseal,
        );
    }
}

/// When several hints apply, the first of `rotated_key`, `mode_changed`, `refresh` is reported;
/// the time since `issued` saturates at zero for a token issued in the future inside the leeway.
fn reseal_hint_order(s: &mut Suite) {
    let (a, b) = (alpha(), bravo());
    let rotated = vec![(b.clone(), State::Primary), (a.clone(), State::Older)];
    let stale = Env::fresh(USER_ANN).times(NOW - 7200, NOW - 7200, NOW - 7200 + LIFETIME);
    s.pos(
        "signed-hmac-sha256 token to an aes-256-gcm-siv opener with also_open [signed-hmac-sha256] and refresh_after 3600, issued 7200 s ago: both apply, mode_changed is reported before refresh",
        &Ctx::new(SIV).also_open(SIGNED).refresh(3600),
        &a,
        SIGNED,
        &stale,
        Some(Reseal::ModeChanged),
    );
    s.pos(
        format!(
            "xchacha20poly1305: sealed under older key {} with refresh_after 3600, issued 7200 s ago: both apply, rotated_key is reported before refresh",
            a.label()
        ),
        &Ctx::new(XCHACHA).ring(rotated.clone()).refresh(3600),
        &a,
        XCHACHA,
        &stale,
        Some(Reseal::RotatedKey),
    );
    s.pos(
        format!(
            "aes-256-gcm token under older key {} to an aes-256-gcm-siv opener with also_open [aes-256-gcm] and refresh_after 3600, issued 7200 s ago: all three apply, rotated_key is reported",
            a.label()
        ),
        &Ctx::new(SIV).ring(rotated).also_open(GCM).refresh(3600),
        &a,
        GCM,
        &stale,
        Some(Reseal::RotatedKey),
    );
    let future = Env::fresh(USER_ANN).times(NOW + 30, NOW + 30, NOW + 30 + LIFETIME);
    s.pos(
        "aes-256-gcm-siv: created = issued = now + 30 (inside the 60 s leeway), refresh_after 3600: opens; the time since issued counts as 0, not negative, so no re-seal",
        &Ctx::new(SIV).refresh(3600),
        &a,
        SIV,
        &future,
        None,
    );
    s.pos(
        "aes-256-gcm-siv: created = issued = now + 30 (inside the 60 s leeway), refresh_after 0: opens; the time since issued counts as 0, and 0 >= 0, so re-seal refresh",
        &Ctx::new(SIV).refresh(0),
        &a,
        SIV,
        &future,
        Some(Reseal::Refresh),
    );
}

/// `max_token_len` counts the bytes of the text, not its characters; only ASCII can be base64url.
fn token_length_in_bytes(s: &mut Suite) {
    s.neg(
        "signed-hmac-sha256: 60 characters 'é' (U+00E9, 2 bytes each: 120 bytes) with max_token_len 100: the limit counts bytes, so it is refused before decoding -> too_large",
        &Ctx::new(SIGNED).max_token_len(100),
        "é".repeat(60),
        Rejection::TooLarge,
    );
    s.neg(
        "signed-hmac-sha256: 50 characters 'é' (100 bytes) with max_token_len 100: within the limit, and not base64url -> malformed",
        &Ctx::new(SIGNED).max_token_len(100),
        "é".repeat(50),
        Rejection::Malformed,
    );
}

/// What the payload text may be: RFC 8259 white space only, finite numbers, depth counted over
/// arrays and objects outside strings, the size in bytes.
fn json_text(s: &mut Suite) {
    let a = &alpha();
    let pos = |s: &mut Suite, desc: &str, ctx: Ctx, payload: &[u8]| {
        s.pos(
            format!("aes-256-gcm-siv: {desc}: opens"),
            &ctx,
            a,
            SIV,
            &Env::fresh(payload),
            None,
        );
    };
    pos(
        s,
        "the payload has space, tab, CR and LF before, inside and after the value (the four RFC 8259 white-space characters)",
        Ctx::new(SIV),
        b" \t\r\n{ \"a\" :\t[ 1 ,\r\n2 ] }\r\n\t ",
    );
    pos(
        s,
        "max_depth 1, the payload {\"s\":\"[[[{{{\\\"]]]\"} (brackets and an escaped quote inside a string do not count): depth 1",
        Ctx::new(SIV).codec(Codec::DEFAULT_MAX_BYTES, 1),
        br#"{"s":"[[[{{{\"]]]"}"#,
    );
    pos(
        s,
        "max_depth 2, the payload [[0],{\"a\":1},[]] (sibling containers do not add up): depth 2",
        Ctx::new(SIV).codec(Codec::DEFAULT_MAX_BYTES, 2),
        br#"[[0],{"a":1},[]]"#,
    );
    pos(
        s,
        "the payload {\"n\":18446744073709551616,\"m\":-9223372036854775809,\"t\":1e-400} (integers beyond 64 bits and an underflowing exponent are valid JSON numbers; the library reads the first two as 64-bit floats and the third as 0)",
        Ctx::new(SIV),
        br#"{"n":18446744073709551616,"m":-9223372036854775809,"t":1e-400}"#,
    );

    let neg = |s: &mut Suite, desc: &str, ctx: Ctx, mode: Mode, payload: &[u8]| {
        let token = tok(a, mode, &Env::fresh(payload), desc);
        s.neg(
            format!("{mode}: authentic, but {desc} -> decode"),
            &ctx,
            token,
            Rejection::Decode,
        );
    };
    for (what, payload) in [
        ("a form feed (0x0C) before {}", &b"\x0c{}"[..]),
        ("a no-break space (U+00A0) before {}", "\u{a0}{}".as_bytes()),
        ("a vertical tab (0x0B) after {}", b"{}\x0b"),
    ] {
        neg(
            s,
            &format!("the payload has {what}: only space, tab, CR and LF are JSON white space"),
            Ctx::new(SIGNED),
            SIGNED,
            payload,
        );
    }
    for (what, payload) in [
        ("NaN", &br#"{"a":NaN}"#[..]),
        ("Infinity", br#"{"a":Infinity}"#),
        ("-Infinity", br#"{"a":-Infinity}"#),
    ] {
        neg(
            s,
            &format!("the payload holds {what}, which is not JSON"),
            Ctx::new(SIGNED),
            SIGNED,
            payload,
        );
    }
    neg(
        s,
        "the payload holds 1e400, valid JSON syntax but beyond the largest 64-bit float (numbers are read as 64-bit floats, and an infinite one is refused)",
        Ctx::new(SIGNED),
        SIGNED,
        br#"{"a":1e400}"#,
    );
    neg(
        s,
        "the payload holds -1e400 (beyond the most negative 64-bit float)",
        Ctx::new(SIV),
        SIV,
        br#"{"a":-1e400}"#,
    );
    neg(
        s,
        "max_depth 2, the payload [{\"a\":[0]}] (arrays and objects both count: depth 3)",
        Ctx::new(SIV).codec(Codec::DEFAULT_MAX_BYTES, 2),
        SIV,
        br#"[{"a":[0]}]"#,
    );
    neg(
        s,
        "max_depth 2, the payload [\"\\\\\",[[0]]] (the escaped backslash ends right before the closing quote, so the brackets after the string count: depth 3)",
        Ctx::new(SIV).codec(Codec::DEFAULT_MAX_BYTES, 2),
        SIV,
        br#"["\\",[[0]]]"#,
    );
    neg(
        s,
        "max_payload_bytes 16, the payload {\"n\":\"東京東京\"} (12 characters, 20 bytes: the limit counts bytes)",
        Ctx::new(SIV).codec(16, Codec::DEFAULT_MAX_DEPTH),
        SIV,
        "{\"n\":\"東京東京\"}".as_bytes(),
    );
}

/// The payload the session layer seals: `{"id": <22 base64url characters>, "data": {…}}`, under
/// the default cookie name and purpose. At the token layer it is plain JSON.
fn session_payload(s: &mut Suite) {
    let a = &alpha();
    let id = encode(&Sha256::digest(b"sealed-session/v1 vectors: session id")[..16]);
    assert_eq!(id.len(), 22);
    s.pos(
        "aes-256-gcm-siv: the session layer's payload {\"id\":…,\"data\":{…}} (a 128-bit session id as 22 base64url characters, then the session's data) under the default cookie name __Host-session and purpose session: opens, no re-seal",
        &Ctx::new(SIV).name("__Host-session"),
        a,
        SIV,
        &Env::fresh(
            format!(r#"{{"id":"{id}","data":{{"user":"ann","cart":[1,2]}}}}"#).as_bytes(),
        ),
        None,
    );
}
