//! Tokens that open: one fresh session per mode, payload shapes, rotation, mode migration,
//! rolling refresh, key-id edges, names and purposes, and the boundaries that still open.

use super::*;

pub(crate) fn cases(s: &mut Suite) {
    let (a, b) = (alpha(), bravo());
    let small: &[u8] = br#"{"user":"ann","visits":1}"#;
    let unicode: &[u8] =
        "{\"name\":\"Zoë\",\"city\":\"東京\",\"emoji\":\"🦀\",\"escaped\":\"caf\\u00e9 \\\"q\\\" \\\\ \\n\"}"
            .as_bytes();
    let nested: &[u8] = br#"{"cart":{"items":[{"sku":"A-1","qty":2,"tags":["gift",null,true]},{"sku":"B-22","qty":1,"tags":[]}],"total":12.5},"prefs":{"theme":{"dark":true,"contrast":[1,[2,[3]]]}}}"#;
    let kib = kib_payload();

    // One fresh session per mode, under the only (primary) key with a derived id.
    s.pos(
        "signed-hmac-sha256: empty object {}, fresh session under the only key (primary alpha, derived id): opens, no re-seal",
        &Ctx::new(SIGNED),
        &a,
        SIGNED,
        &Env::fresh(b"{}"),
        None,
    );
    for mode in [XCHACHA, GCM, SIV] {
        s.pos(
            format!("{mode}: small object, fresh session under the only key (primary alpha, derived id): opens, no re-seal"),
            &Ctx::new(mode),
            &a,
            mode,
            &Env::fresh(small),
            None,
        );
    }
    s.pos(
        "signed-hmac-sha256: unicode payload (raw UTF-8 and \\u escapes, an astral-plane emoji): opens to the same value, no re-seal",
        &Ctx::new(SIGNED),
        &a,
        SIGNED,
        &Env::fresh(unicode),
        None,
    );
    s.pos(
        "aes-256-gcm-siv: unicode payload (raw UTF-8 and \\u escapes, an astral-plane emoji): opens to the same value, no re-seal",
        &Ctx::new(SIV),
        &a,
        SIV,
        &Env::fresh(unicode),
        None,
    );
    s.pos(
        "xchacha20poly1305: nested objects and arrays (depth 5, a float, null, booleans): opens, no re-seal",
        &Ctx::new(XCHACHA),
        &a,
        XCHACHA,
        &Env::fresh(nested),
        None,
    );
    s.pos(
        "aes-256-gcm: 1024-byte payload: opens, no re-seal",
        &Ctx::new(GCM),
        &a,
        GCM,
        &Env::fresh(&kib),
        None,
    );
    s.pos(
        "signed-hmac-sha256: 1024-byte payload (HMAC input spans many blocks): opens, no re-seal",
        &Ctx::new(SIGNED),
        &a,
        SIGNED,
        &Env::fresh(&kib),
        None,
    );

    // Rotation.
    let rotated = Ctx::new(SIV).ring(vec![(b.clone(), State::Primary), (a.clone(), State::Older)]);
    s.pos(
        format!(
            "aes-256-gcm-siv: sealed under older key {} while {} is primary: opens, re-seal rotated_key (alpha no longer seals)",
            a.label(),
            b.label()
        ),
        &rotated,
        &a,
        SIV,
        &Env::fresh(small),
        Some(Reseal::RotatedKey),
    );
    s.pos(
        format!(
            "aes-256-gcm-siv: sealed under the primary {}, an explicit id, of a rotated ring: opens, no re-seal",
            b.label()
        ),
        &rotated,
        &b,
        SIV,
        &Env::fresh(small),
        None,
    );
    let pending_later = Ctx::new(XCHACHA).ring(vec![
        (a.clone(), State::Primary),
        (b.clone(), State::Pending(NOW + 3600)),
    ]);
    s.pos(
        format!(
            "xchacha20poly1305: sealed under pending key {} one hour before its activation: opens by design (a rolling deploy distributes a pending key before any node seals with it, and a node whose clock is ahead may already seal with it); no re-seal, so nodes do not flip tokens between keys",
            b.label()
        ),
        &pending_later,
        &b,
        XCHACHA,
        &Env::fresh(small),
        None,
    );
    s.pos(
        format!(
            "xchacha20poly1305: sealed under primary {} while the pending key is not active yet: opens, no re-seal (alpha still seals)",
            a.label()
        ),
        &pending_later,
        &a,
        XCHACHA,
        &Env::fresh(small),
        None,
    );
    let pending_active = Ctx::new(SIGNED).ring(vec![
        (a.clone(), State::Primary),
        (b.clone(), State::Pending(NOW - 60)),
    ]);
    s.pos(
        format!(
            "signed-hmac-sha256: sealed under the old primary {} one minute after pending key {} activated: opens, re-seal rotated_key",
            a.label(),
            b.label()
        ),
        &pending_active,
        &a,
        SIGNED,
        &Env::fresh(small),
        Some(Reseal::RotatedKey),
    );
    s.pos(
        format!(
            "signed-hmac-sha256: sealed under {} after its activation time (it now seals): opens, no re-seal",
            b.label()
        ),
        &pending_active,
        &b,
        SIGNED,
        &Env::fresh(small),
        None,
    );

    // Mode migration.
    s.pos(
        "signed-hmac-sha256 token to an aes-256-gcm-siv opener with also_open [signed-hmac-sha256]: opens, re-seal mode_changed",
        &Ctx::new(SIV).also_open(SIGNED),
        &a,
        SIGNED,
        &Env::fresh(small),
        Some(Reseal::ModeChanged),
    );
    s.pos(
        "aes-256-gcm token to a xchacha20poly1305 opener with also_open [aes-256-gcm]: opens, re-seal mode_changed",
        &Ctx::new(XCHACHA).also_open(GCM),
        &a,
        GCM,
        &Env::fresh(small),
        Some(Reseal::ModeChanged),
    );
    s.pos(
        format!(
            "xchacha20poly1305 token under older key {} to an aes-256-gcm-siv opener with also_open [xchacha20poly1305]: opens, re-seal rotated_key (a rotated key is reported before a mode change)",
            a.label()
        ),
        &Ctx::new(SIV)
            .also_open(XCHACHA)
            .ring(vec![(b.clone(), State::Primary), (a.clone(), State::Older)]),
        &a,
        XCHACHA,
        &Env::fresh(small),
        Some(Reseal::RotatedKey),
    );

    // Rolling refresh.
    let created = NOW - 2 * 86_400;
    s.pos(
        "aes-256-gcm: refresh_after 3600 s, issued exactly 3600 s ago (created two days ago): opens, re-seal refresh (the refresh point is reached at now - issued >= refresh_after)",
        &Ctx::new(GCM).refresh(3600),
        &a,
        GCM,
        &Env::fresh(small).times(created, NOW - 3600, created + LIFETIME),
        Some(Reseal::Refresh),
    );
    s.pos(
        "aes-256-gcm: refresh_after 3600 s, issued 3599 s ago: opens, no re-seal (one second before the refresh point)",
        &Ctx::new(GCM).refresh(3600),
        &a,
        GCM,
        &Env::fresh(small).times(created, NOW - 3599, created + LIFETIME),
        None,
    );

    // Explicit ids at the edges of the id space.
    let (z, c) = (zero(), charlie());
    let edges = Ctx::new(GCM).ring(vec![(z.clone(), State::Primary), (c.clone(), State::Older)]);
    s.pos(
        format!(
            "aes-256-gcm: sealed under older key {}, an explicit id and the largest, while {} is primary: opens, re-seal rotated_key",
            c.label(),
            z.label()
        ),
        &edges,
        &c,
        GCM,
        &Env::fresh(small),
        Some(Reseal::RotatedKey),
    );
    s.pos(
        format!(
            "signed-hmac-sha256: sealed under primary {}, an explicit id and the smallest: opens, no re-seal",
            z.label()
        ),
        &edges.clone().mode_to(SIGNED),
        &z,
        SIGNED,
        &Env::fresh(small),
        None,
    );

    // Cookie names and purposes (bound into every tag, never stored).
    s.pos(
        "aes-256-gcm-siv: cookie name __Host-id (the prefix is part of the bound name): opens, no re-seal",
        &Ctx::new(SIV).name("__Host-id"),
        &a,
        SIV,
        &Env::fresh(small),
        None,
    );
    s.pos(
        "signed-hmac-sha256: cookie name __Secure-csrf, purpose csrf: opens, no re-seal",
        &Ctx::new(SIGNED).name("__Secure-csrf").purpose("csrf"),
        &a,
        SIGNED,
        &Env::fresh(br#"{"csrf":"c0ffee"}"#),
        None,
    );
    let f = foxtrot();
    s.pos(
        format!(
            "xchacha20poly1305: cookie name sid, purpose api:v2/oauth-state, under {} with a 64-byte secret: opens, no re-seal",
            f.label()
        ),
        &Ctx::new(XCHACHA)
            .name("sid")
            .purpose("api:v2/oauth-state")
            .ring(vec![(f.clone(), State::Primary)]),
        &f,
        XCHACHA,
        &Env::fresh(br#"{"state":"xyz","return_to":"/"}"#),
        None,
    );

    // Boundaries that still open.
    s.pos(
        "aes-256-gcm-siv: created = issued = now + 60, exactly the 60 s leeway: opens (only issued > now + leeway is refused)",
        &Ctx::new(SIV),
        &a,
        SIV,
        &Env::fresh(small).times(NOW + 60, NOW + 60, NOW + 60 + LIFETIME),
        None,
    );
    s.pos(
        "signed-hmac-sha256: expires = now + 1: opens in its last second (only now >= expires is refused)",
        &Ctx::new(SIGNED),
        &a,
        SIGNED,
        &Env::fresh(small).times(T0, T0, NOW + 1),
        None,
    );
    let old = NOW - LIFETIME + 1;
    s.pos(
        "aes-256-gcm: created = now - lifetime + 1 (one second before the opener's absolute limit), issued 10 s ago: opens",
        &Ctx::new(GCM),
        &a,
        GCM,
        &Env::fresh(small).times(old, NOW - 10, old + LIFETIME),
        None,
    );
    s.pos(
        "xchacha20poly1305: idle_timeout 1800 s, issued 1799 s ago: opens (only now >= issued + idle is refused)",
        &Ctx::new(XCHACHA).idle(1800),
        &a,
        XCHACHA,
        &Env::fresh(small).times(NOW - 1799, NOW - 1799, NOW - 1799 + LIFETIME),
        None,
    );
    s.pos(
        "aes-256-gcm-siv: revoke_before = created = now - 600: opens (only created < revoke_before is refused)",
        &Ctx::new(SIV).revoke_before(T0),
        &a,
        SIV,
        &Env::fresh(small),
        None,
    );
    {
        let desc = "signed-hmac-sha256: token exactly max_token_len characters long: opens (only longer is refused)";
        let ctx = Ctx::new(SIGNED);
        let env = Env::fresh(USER_ANN);
        let (nonce, token) = Suite::seal_pos(desc, &ctx, &a, SIGNED, &env);
        let ctx = ctx.max_token_len(token.len());
        s.push_pos(desc.into(), &ctx, &a, SIGNED, &env, nonce, token, None);
    }
    s.pos(
        "signed-hmac-sha256: 32 nested arrays, exactly the default max_depth 32: opens",
        &Ctx::new(SIGNED),
        &a,
        SIGNED,
        &Env::fresh(&nested_arrays(32)),
        None,
    );
    s.pos(
        "aes-256-gcm-siv: max_payload_bytes 64, payload exactly 64 bytes: opens",
        &Ctx::new(SIV).codec(64, 32),
        &a,
        SIV,
        &Env::fresh(&note_of_len(64)),
        None,
    );
}
