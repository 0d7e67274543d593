//! The time policy on the authenticated timestamps, and the order of its checks.

use super::*;

pub(crate) fn cases(s: &mut Suite) {
    let a = &alpha();
    let p = USER_ANN;
    let case = |s: &mut Suite, desc: &str, ctx: Ctx, mode: Mode, env: Env, r: Rejection| {
        let token = tok(a, mode, &env, desc);
        s.neg(format!("{mode}: {desc} -> {}", r.as_str()), &ctx, token, r);
    };
    case(
        s,
        "now = expires (the token's own expiry is exclusive)",
        Ctx::new(SIV),
        SIV,
        Env::fresh(p).times(T0, T0, NOW),
        Rejection::Expired,
    );
    case(
        s,
        "now = expires + 1",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(p).times(T0, T0, NOW - 1),
        Rejection::Expired,
    );
    let created = NOW - LIFETIME;
    case(
        s,
        "token's own expires 30 days after created, but now = created + the opener's 14-day lifetime (the absolute limit counts from created, whatever expires says)",
        Ctx::new(XCHACHA),
        XCHACHA,
        Env::fresh(p).times(created, NOW - 60, created + 30 * 86_400),
        Rejection::Expired,
    );
    case(
        s,
        "opener lifetime_secs 3600, shorter than the token's own 14-day expiry: created = issued = exactly 3600 s ago",
        Ctx::new(SIV).lifetime(3600),
        SIV,
        Env::fresh(p).times(NOW - 3600, NOW - 3600, NOW - 3600 + LIFETIME),
        Rejection::Expired,
    );
    case(
        s,
        "expires = 0",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(p).times(T0, T0, 0),
        Rejection::Expired,
    );
    let late = u64::MAX - 1000;
    case(
        s,
        "now = created = issued = 2^64 - 1001, expires = 2^64 - 1: the token's expiry is ahead, but created + 14-day lifetime overflows u64 (an overflowing deadline is treated as passed)",
        Ctx::new(SIGNED).now(late),
        SIGNED,
        Env::fresh(p).times(late, late, u64::MAX),
        Rejection::Expired,
    );
    case(
        s,
        "idle_timeout 1800 s, issued exactly 1800 s ago",
        Ctx::new(XCHACHA).idle(1800),
        XCHACHA,
        Env::fresh(p).times(NOW - 1800, NOW - 1800, NOW - 1800 + LIFETIME),
        Rejection::IdleTimeout,
    );
    case(
        s,
        "idle_timeout 1800 s, created 2 days ago and last issued 1 day ago",
        Ctx::new(GCM).idle(1800),
        GCM,
        Env::fresh(p).times(NOW - 2 * 86_400, NOW - 86_400, NOW - 2 * 86_400 + LIFETIME),
        Rejection::IdleTimeout,
    );
    case(
        s,
        "created = issued = now + 3600, far beyond the 60 s leeway",
        Ctx::new(SIV),
        SIV,
        Env::fresh(p).times(NOW + 3600, NOW + 3600, NOW + 3600 + LIFETIME),
        Rejection::NotYetValid,
    );
    case(
        s,
        "created = issued = now + 61, one second beyond the 60 s leeway",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(p).times(NOW + 61, NOW + 61, NOW + 61 + LIFETIME),
        Rejection::NotYetValid,
    );
    case(
        s,
        "created = now - 100 is after issued = now - 200 (a session cannot be issued before it was created)",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(p).times(NOW - 100, NOW - 200, NOW - 100 + LIFETIME),
        Rejection::NotYetValid,
    );
    let cutoff = NOW - 3600;
    case(
        s,
        "revoke_before = now - 3600, created = issued = now - 7200 (issued before the cutoff)",
        Ctx::new(SIV).revoke_before(cutoff),
        SIV,
        Env::fresh(p).times(NOW - 7200, NOW - 7200, NOW - 7200 + LIFETIME),
        Rejection::Revoked,
    );
    case(
        s,
        "revoke_before = now - 3600, created = now - 7200 but re-sealed (issued) 60 s ago: the cutoff applies to created, so a re-seal cannot launder a revoked session",
        Ctx::new(SIGNED).revoke_before(cutoff),
        SIGNED,
        Env::fresh(p).times(NOW - 7200, NOW - 60, NOW - 7200 + LIFETIME),
        Rejection::Revoked,
    );

    // Precedence: the tag before any time check, and the time checks in their fixed order.
    let env = Env::fresh(p).times(T0, T0, NOW - 1);
    let t = tok(a, SIGNED, &env, "expired and tampered");
    s.neg(
        "signed-hmac-sha256: expired (expires = now - 1) and its payload tampered: the tag is checked before any timestamp is read -> bad_tag",
        &Ctx::new(SIGNED),
        flip(&t, 30 + 9, 0x01),
        Rejection::BadTag,
    );
    case(
        s,
        "both not yet valid (created = now - 100 > issued = now - 200) and expired (expires = 0): not_yet_valid is checked first",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(p).times(NOW - 100, NOW - 200, 0),
        Rejection::NotYetValid,
    );
    case(
        s,
        "both expired (expires = now - 1) and revoked (created < revoke_before = now - 3600): expired is checked first",
        Ctx::new(SIGNED).revoke_before(cutoff),
        SIGNED,
        Env::fresh(p).times(NOW - 7200, NOW - 7200, NOW - 1),
        Rejection::Expired,
    );
    case(
        s,
        "both revoked (created < revoke_before = now - 3600) and idle (idle_timeout 1800 s, issued 7200 s ago): revoked is checked first",
        Ctx::new(SIGNED).revoke_before(cutoff).idle(1800),
        SIGNED,
        Env::fresh(p).times(NOW - 7200, NOW - 7200, NOW - 7200 + LIFETIME),
        Rejection::Revoked,
    );
    case(
        s,
        "both expired (expires = now - 1) and an unknown codec id (flags 0x02): time policy is checked before the codec",
        Ctx::new(SIGNED),
        SIGNED,
        Env::fresh(p).times(T0, T0, NOW - 1).flags(0x02),
        Rejection::Expired,
    );
}
