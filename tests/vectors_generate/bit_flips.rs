//! One bit flipped in each field of a token, in every mode, and version bytes relabelled.

use super::*;

pub(crate) fn cases(s: &mut Suite) {
    let a = &alpha();
    let ctx = Ctx::new(SIGNED);
    let env = Env::fresh(USER_ANN);
    let t = tok(a, SIGNED, &env, "signed base");
    let n = decode(&t).len();
    s.neg(
        "signed-hmac-sha256: version byte bit 0 flipped (0x11 -> 0x10, not a v1 version byte) -> unsupported_version",
        &ctx,
        flip(&t, 0, 0x01),
        Rejection::UnsupportedVersion,
    );
    s.neg(
        format!(
            "signed-hmac-sha256: key id bit 0 flipped ({:08x} -> {:08x}, no key in the ring has it) -> unknown_key",
            a.id,
            a.id ^ 1
        ),
        &ctx,
        flip(&t, 4, 0x01),
        Rejection::UnknownKey,
    );
    let k = kilo();
    s.neg(
        format!(
            "signed-hmac-sha256: key id bit 0 flipped onto {}, another key in the ring: its tag does not verify -> bad_tag",
            k.label()
        ),
        &ctx.clone()
            .ring(vec![(a.clone(), State::Primary), (k.clone(), State::Older)]),
        flip(&t, 4, 0x01),
        Rejection::BadTag,
    );
    s.neg(
        "signed-hmac-sha256: flags byte bit 1 flipped (0x01 -> 0x03, readable but authenticated) -> bad_tag",
        &ctx,
        flip(&t, 5, 0x02),
        Rejection::BadTag,
    );
    s.neg(
        format!(
            "signed-hmac-sha256: created bit 0 flipped ({} -> {}) -> bad_tag",
            env.created,
            env.created ^ 1
        ),
        &ctx,
        flip(&t, 13, 0x01),
        Rejection::BadTag,
    );
    s.neg(
        format!(
            "signed-hmac-sha256: issued bit 0 flipped ({} -> {}) -> bad_tag",
            env.issued,
            env.issued ^ 1
        ),
        &ctx,
        flip(&t, 21, 0x01),
        Rejection::BadTag,
    );
    s.neg(
        format!(
            "signed-hmac-sha256: expires pushed ~2^56 s into the future (bit 0 of its top byte: {} -> {}) -> bad_tag",
            env.expires,
            env.expires ^ (1 << 56)
        ),
        &ctx,
        flip(&t, 22, 0x01),
        Rejection::BadTag,
    );
    s.neg(
        "signed-hmac-sha256: payload bit 0 flipped ({\"user\":\"ann\"} -> {\"user\":\"`nn\"}, still valid JSON) -> bad_tag",
        &ctx,
        flip(&t, 30 + 9, 0x01),
        Rejection::BadTag,
    );
    s.neg(
        "signed-hmac-sha256: first tag byte bit 0 flipped -> bad_tag",
        &ctx,
        flip(&t, n - 32, 0x01),
        Rejection::BadTag,
    );
    s.neg(
        "signed-hmac-sha256: last tag byte bit 7 flipped -> bad_tag",
        &ctx,
        flip(&t, n - 1, 0x80),
        Rejection::BadTag,
    );

    for mode in [XCHACHA, SIV, GCM] {
        let ctx = Ctx::new(mode);
        let t = tok(a, mode, &env, &format!("{mode} base"));
        let n = decode(&t).len();
        let h = mode.header_len();
        let ver = mode.version_byte();
        let why = match Mode::from_version_byte(ver ^ 1) {
            Some(other) => format!("{other}, which this opener does not accept"),
            None => "not a v1 version byte".to_owned(),
        };
        s.neg(
            format!(
                "{mode}: version byte bit 0 flipped (0x{ver:02x} -> 0x{:02x}, {why}) -> unsupported_version",
                ver ^ 1
            ),
            &ctx,
            flip(&t, 0, 0x01),
            Rejection::UnsupportedVersion,
        );
        s.neg(
            format!(
                "{mode}: key id bit 0 flipped ({:08x} -> {:08x}, no key in the ring has it) -> unknown_key",
                a.id,
                a.id ^ 1
            ),
            &ctx,
            flip(&t, 4, 0x01),
            Rejection::UnknownKey,
        );
        s.neg(
            format!("{mode}: first nonce byte bit 0 flipped (the nonce is in the header, which is the AAD) -> bad_tag"),
            &ctx,
            flip(&t, 5, 0x01),
            Rejection::BadTag,
        );
        s.neg(
            format!("{mode}: last nonce byte bit 0 flipped -> bad_tag"),
            &ctx,
            flip(&t, h - 1, 0x01),
            Rejection::BadTag,
        );
        s.neg(
            format!("{mode}: ciphertext byte 0 (the encrypted flags) bit 0 flipped -> bad_tag"),
            &ctx,
            flip(&t, h, 0x01),
            Rejection::BadTag,
        );
        s.neg(
            format!("{mode}: ciphertext byte 16 (inside the encrypted issued time) bit 0 flipped -> bad_tag"),
            &ctx,
            flip(&t, h + 16, 0x01),
            Rejection::BadTag,
        );
        s.neg(
            format!("{mode}: ciphertext byte 25 (the first encrypted payload byte) bit 0 flipped -> bad_tag"),
            &ctx,
            flip(&t, h + 25, 0x01),
            Rejection::BadTag,
        );
        s.neg(
            format!("{mode}: first tag byte bit 0 flipped -> bad_tag"),
            &ctx,
            flip(&t, n - 16, 0x01),
            Rejection::BadTag,
        );
        s.neg(
            format!("{mode}: last tag byte bit 7 flipped -> bad_tag"),
            &ctx,
            flip(&t, n - 1, 0x80),
            Rejection::BadTag,
        );
    }

    // The version byte is authenticated: relabelling a token as another accepted mode fails.
    let t = tok(a, XCHACHA, &env, "relabel xchacha");
    s.neg(
        "xchacha20poly1305 token relabelled 0x12 -> 0x14 for an opener that accepts both (xchacha20poly1305, also_open aes-256-gcm-siv): split as AES-256-GCM-SIV, it does not decrypt -> bad_tag",
        &Ctx::new(XCHACHA).also_open(SIV),
        flip(&t, 0, 0x12 ^ 0x14),
        Rejection::BadTag,
    );
    let t = tok(a, GCM, &env, "relabel gcm");
    s.neg(
        "aes-256-gcm token relabelled 0x13 -> 0x14 for an opener that accepts both (aes-256-gcm-siv, also_open aes-256-gcm): same layout, but the version byte is in the AAD and each mode has its own subkey -> bad_tag",
        &Ctx::new(SIV).also_open(GCM),
        flip(&t, 0, 0x13 ^ 0x14),
        Rejection::BadTag,
    );
}
