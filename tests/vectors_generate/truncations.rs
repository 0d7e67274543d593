//! Tokens cut short: below the mode's minimum (`malformed`) and at or above it (`bad_tag`).

use super::*;

pub(crate) fn cases(s: &mut Suite) {
    let a = &alpha();
    let env = Env::fresh(USER_ANN);
    s.neg(
        "signed-hmac-sha256: empty token (0 bytes, no version byte) -> malformed",
        &Ctx::new(SIGNED),
        String::new(),
        Rejection::Malformed,
    );
    for mode in [SIGNED, XCHACHA, SIV] {
        let ctx = Ctx::new(mode);
        let t = tok(a, mode, &env, &format!("{mode} truncation base"));
        let n = decode(&t).len();
        let h = mode.header_len();
        let min = mode.overhead();
        assert_eq!(n, min + USER_ANN.len());
        let short = |len: usize, what: &str| {
            (
                format!(
                    "{mode}: {n}-byte token cut to {len} byte{} ({what}), below the {min}-byte minimum -> malformed",
                    if len == 1 { "" } else { "s" }
                ),
                truncate(&t, len),
            )
        };
        for (desc, token) in [
            short(1, "the version byte alone"),
            short(h - 1, "header minus one byte"),
            short(h, "the header alone"),
            short(
                h + 24,
                "header and envelope's fixed part minus one byte, no tag",
            ),
            short(n - 15, "the last 15 bytes dropped"),
        ] {
            s.neg(desc, &ctx, token, Rejection::Malformed);
        }
        s.neg(
            format!(
                "{mode}: {n}-byte token cut to {min} bytes (the last 14 dropped), exactly the minimum: splits, but the tag is now other bytes -> bad_tag"
            ),
            &ctx,
            truncate(&t, min),
            Rejection::BadTag,
        );
        s.neg(
            format!(
                "{mode}: last tag byte dropped ({n} -> {} bytes) -> bad_tag",
                n - 1
            ),
            &ctx,
            truncate(&t, n - 1),
            Rejection::BadTag,
        );
    }
}
