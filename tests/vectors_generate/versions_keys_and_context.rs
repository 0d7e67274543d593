//! Version bytes, keys that are unknown or have another secret, cookie name and purpose binding,
//! and modes the opener does not accept.

use super::*;

pub(crate) fn cases(s: &mut Suite) {
    let a = &alpha();
    let env = Env::fresh(USER_ANN);
    let ctx = Ctx::new(SIGNED);
    let t = tok(a, SIGNED, &env, "signed base");
    for (v, why) in [
        (0x00, "zero"),
        (0x01, "wire version 0"),
        (0x10, "wire version 1, mode 0"),
        (0x15, "wire version 1, mode 5"),
        (0x21, "wire version 2, signed"),
        (0xff, "all ones"),
    ] {
        let mut b = decode(&t);
        b[0] = v;
        s.neg(
            format!("signed-hmac-sha256: version byte 0x11 replaced by 0x{v:02x} ({why}) -> unsupported_version"),
            &ctx,
            encode(&b),
            Rejection::UnsupportedVersion,
        );
    }
    s.neg(
        "a 1-byte token 0xff: the version byte is read before the length (the minimum length depends on the mode) -> unsupported_version",
        &ctx,
        encode(&[0xff]),
        Rejection::UnsupportedVersion,
    );

    // Keys.
    let x = stranger();
    s.neg(
        format!(
            "aes-256-gcm-siv: sealed under {}, which was never in the ring -> unknown_key (a fresh session, not an error)",
            x.label()
        ),
        &Ctx::new(SIV),
        tok(&x, SIV, &env, "stranger"),
        Rejection::UnknownKey,
    );
    let d = delta();
    s.neg(
        format!(
            "aes-256-gcm-siv: sealed under {}, an older key since removed from the ring (now only {}) -> unknown_key",
            d.label(),
            bravo().label()
        ),
        &Ctx::new(SIV).ring(vec![(bravo(), State::Primary)]),
        tok(&d, SIV, &env, "retired"),
        Rejection::UnknownKey,
    );
    let e = echo();
    for mode in [SIGNED, SIV] {
        s.neg(
            format!(
                "{mode}: sealed under {} but the ring holds {} with the same id and another secret -> bad_tag",
                a.label(),
                e.label()
            ),
            &Ctx::new(mode).ring(vec![(e.clone(), State::Primary)]),
            tok(a, mode, &env, &format!("impostor {mode}")),
            Rejection::BadTag,
        );
    }

    // Context binding.
    let siv_id = tok(a, SIV, &env, "context id");
    s.neg(
        "aes-256-gcm-siv: sealed for cookie id, opened as cookie sid -> bad_tag",
        &Ctx::new(SIV).name("sid"),
        siv_id.clone(),
        Rejection::BadTag,
    );
    s.neg(
        "aes-256-gcm-siv: sealed for cookie id, opened as cookie ID (names are compared as bytes) -> bad_tag",
        &Ctx::new(SIV).name("ID"),
        siv_id.clone(),
        Rejection::BadTag,
    );
    s.neg(
        "aes-256-gcm-siv: sealed for purpose session, opened for purpose csrf -> bad_tag",
        &Ctx::new(SIV).purpose("csrf"),
        siv_id.clone(),
        Rejection::BadTag,
    );
    s.neg(
        "signed-hmac-sha256: sealed for purpose session, opened for purpose csrf -> bad_tag",
        &Ctx::new(SIGNED).purpose("csrf"),
        t.clone(),
        Rejection::BadTag,
    );
    s.neg(
        "aes-256-gcm-siv: sealed for cookie __Host-id, opened as id (prefix stripped) -> bad_tag",
        &Ctx::new(SIV),
        seal(
            a,
            SIV,
            "__Host-id",
            "session",
            &env,
            &nonce_for(SIV, "host"),
        ),
        Rejection::BadTag,
    );
    s.neg(
        "aes-256-gcm-siv: sealed for cookie id, opened as __Host-id (prefix added) -> bad_tag",
        &Ctx::new(SIV).name("__Host-id"),
        siv_id.clone(),
        Rejection::BadTag,
    );
    s.neg(
        "aes-256-gcm-siv: name and purpose swapped (sealed for name id / purpose session, opened for name session / purpose id) -> bad_tag",
        &Ctx::new(SIV).name("session").purpose("id"),
        siv_id.clone(),
        Rejection::BadTag,
    );

    // Mode not accepted.
    s.neg(
        "signed-hmac-sha256 token to an aes-256-gcm-siv opener (no also_open): a readable token is never accepted where encrypted ones are expected -> unsupported_version",
        &Ctx::new(SIV),
        t.clone(),
        Rejection::UnsupportedVersion,
    );
    s.neg(
        "aes-256-gcm-siv token to a signed-hmac-sha256 opener (no also_open) -> unsupported_version",
        &Ctx::new(SIGNED),
        siv_id,
        Rejection::UnsupportedVersion,
    );
    s.neg(
        "xchacha20poly1305 token to an aes-256-gcm-siv opener that also opens aes-256-gcm but not xchacha20poly1305 -> unsupported_version",
        &Ctx::new(SIV).also_open(GCM),
        tok(a, XCHACHA, &env, "xchacha to siv"),
        Rejection::UnsupportedVersion,
    );
}
