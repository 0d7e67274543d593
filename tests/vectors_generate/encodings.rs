//! Spellings of a token other than strict base64url without padding.

use super::*;

pub(crate) fn cases(s: &mut Suite) {
    let a = &alpha();
    let ctx = Ctx::new(SIGNED);
    let t = tok(a, SIGNED, &Env::fresh(USER_ANN), "signed base");
    // 76 bytes: 102 characters, 102 % 4 == 2, canonical padding would be "==".
    assert_eq!(t.len() % 4, 2);
    let mut b = decode(&t);
    b.push(0);
    s.neg(
        "signed-hmac-sha256: one zero byte appended (re-encoded): the tag is read from the last 32 bytes -> bad_tag",
        &ctx,
        encode(&b),
        Rejection::BadTag,
    );
    s.neg(
        "signed-hmac-sha256: padding == appended (standard padded base64 of the same bytes; only unpadded is accepted) -> malformed",
        &ctx,
        format!("{t}=="),
        Rejection::Malformed,
    );
    let t15 = tok(
        a,
        SIGNED,
        &Env::fresh(br#"{"user":"anna"}"#),
        "signed base 15",
    );
    assert_eq!(t15.len() % 4, 3);
    s.neg(
        "signed-hmac-sha256: padding = appended to a 103-character token (standard padded base64 of the same bytes) -> malformed",
        &ctx,
        format!("{t15}="),
        Rejection::Malformed,
    );
    let last_changed = |token: &str| {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = *token.as_bytes().last().unwrap();
        let v = alphabet.iter().position(|&c| c == last).unwrap();
        let mut out = token[..token.len() - 1].to_owned();
        out.push(char::from(alphabet[v ^ 1]));
        out
    };
    s.neg(
        "signed-hmac-sha256: last character changed so that its 4 unused low bits are not zero (non-canonical; decodes to the same bytes under a lenient decoder) -> malformed",
        &ctx,
        last_changed(&t),
        Rejection::Malformed,
    );
    s.neg(
        "signed-hmac-sha256: last character of a 103-character token changed so that its 2 unused low bits are not zero (non-canonical) -> malformed",
        &ctx,
        last_changed(&t15),
        Rejection::Malformed,
    );
    s.neg(
        "signed-hmac-sha256: last character removed (101 characters, length = 1 mod 4, which no byte string encodes to) -> malformed",
        &ctx,
        t[..t.len() - 1].to_owned(),
        Rejection::Malformed,
    );
    let mid = t.len() / 2;
    s.neg(
        "signed-hmac-sha256: a space inside the token -> malformed",
        &ctx,
        format!("{} {}", &t[..mid], &t[mid..]),
        Rejection::Malformed,
    );
    s.neg(
        "signed-hmac-sha256: a trailing newline -> malformed",
        &ctx,
        format!("{t}\n"),
        Rejection::Malformed,
    );
    s.neg(
        "signed-hmac-sha256: a leading tab -> malformed",
        &ctx,
        format!("\t{t}"),
        Rejection::Malformed,
    );
    s.neg(
        "signed-hmac-sha256: a '.' inside the token (not in the base64url alphabet) -> malformed",
        &ctx,
        format!("{}.{}", &t[..mid], &t[mid..]),
        Rejection::Malformed,
    );

    // Standard alphabet: find a token (deterministically) with both '-' and '_'.
    let ctx = Ctx::new(XCHACHA);
    let t = (0..)
        .map(|i| tok(a, XCHACHA, &Env::fresh(USER_ANN), &format!("alphabet {i}")))
        .find(|t| t.contains('-') && t.contains('_'))
        .unwrap();
    s.neg(
        "xchacha20poly1305: the first '-' replaced by '+' (standard base64 alphabet for the same bytes) -> malformed",
        &ctx,
        t.replacen('-', "+", 1),
        Rejection::Malformed,
    );
    s.neg(
        "xchacha20poly1305: the first '_' replaced by '/' (standard base64 alphabet for the same bytes) -> malformed",
        &ctx,
        t.replacen('_', "/", 1),
        Rejection::Malformed,
    );
}
