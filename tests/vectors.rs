//! The v1 test-vector suite: `vectors/v1/positive.json` and `vectors/v1/negative.json`.
//!
//! Three things live here, and `vectors/README.md` documents the files they produce:
//!
//! 1. A generator that builds every case from fixed secrets, nonces and times (no randomness at
//!    all), with an expected outcome *declared* next to each case and explained in its `desc`, never
//!    computed by opening the token.
//! 2. A check that the committed files are byte-for-byte what the generator produces. Run with
//!    `SEALED_TEST_REGENERATE_VECTORS=1` to rewrite them instead.
//! 3. A runner that reads the committed JSON back with `serde_json` and runs every case through a
//!    freshly built opener, using only the case's own fields (as another implementation would),
//!    then checks the suite's size and coverage.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call
// (the generator and the runner); here a panic is a failed test, never a crash on hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sealed_session::{
    Codec, Key, KeyId, KeyRing, Mode, Rejection, Reseal, Sealer, Timestamps, UnixTime,
};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Set to `1` to rewrite the committed vector files from the generator.
const REGENERATE_ENV: &str = "SEALED_TEST_REGENERATE_VECTORS";

fn vector_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join("v1")
        .join(file)
}

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------

/// 2023-11-14T22:13:20Z: the opener's clock in most cases.
const NOW: u64 = 1_700_000_000;
/// The default absolute lifetime (14 days).
const LIFETIME: u64 = 14 * 86_400;
/// When the typical session was created and issued: ten minutes before `NOW`.
const T0: u64 = NOW - 600;
/// The codec id for JSON in the envelope's flags.
const JSON: u8 = 0x01;
/// The payload of most negative cases.
const USER_ANN: &[u8] = br#"{"user":"ann"}"#;

/// A test key: secret bytes and an id (HKDF-derived or explicit).
#[derive(Clone)]
struct TestKey {
    name: &'static str,
    secret: Vec<u8>,
    id: u32,
    derived: bool,
}

fn secret_bytes(name: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut block = 0u32;
    while out.len() < len {
        out.extend_from_slice(&Sha256::digest(
            format!("sealed-session/v1 vectors: secret {name} {block}").as_bytes(),
        ));
        block += 1;
    }
    out.truncate(len);
    out
}

impl TestKey {
    /// A 32-byte key whose id is derived from its secret.
    fn derived(name: &'static str) -> Self {
        Self::derived_len(name, 32)
    }

    fn derived_len(name: &'static str, len: usize) -> Self {
        let secret = secret_bytes(name, len);
        let id = Key::try_from(&secret[..]).unwrap().id().get();
        TestKey {
            name,
            secret,
            id,
            derived: true,
        }
    }

    /// A 32-byte key with an operator-assigned id.
    fn explicit(name: &'static str, id: u32) -> Self {
        let secret = secret_bytes(name, 32);
        assert_ne!(Key::try_from(&secret[..]).unwrap().id().get(), id);
        TestKey {
            name,
            secret,
            id,
            derived: false,
        }
    }

    fn key(&self) -> Key {
        Key::try_from(&self.secret[..])
            .unwrap()
            .with_id(KeyId::new(self.id))
    }

    /// `alpha (0x1234abcd)`, for descriptions.
    fn label(&self) -> String {
        format!("{} (id {:08x})", self.name, self.id)
    }
}

/// The usual primary key (derived id).
fn alpha() -> TestKey {
    TestKey::derived("alpha")
}
/// A date-stamped explicit id, the usual successor of `alpha`.
fn bravo() -> TestKey {
    TestKey::explicit("bravo", 0x2023_1114)
}
/// The largest possible id.
fn charlie() -> TestKey {
    TestKey::explicit("charlie", 0xffff_ffff)
}
/// A key that was in the ring once and has been removed.
fn delta() -> TestKey {
    TestKey::derived("delta")
}
/// Another secret under `alpha`'s id.
fn echo() -> TestKey {
    TestKey::explicit("echo", alpha().id)
}
/// A 64-byte secret (longer than the minimum), derived id.
fn foxtrot() -> TestKey {
    TestKey::derived_len("foxtrot", 64)
}
/// A key whose id is `alpha`'s with bit 0 flipped.
fn kilo() -> TestKey {
    TestKey::explicit("kilo", alpha().id ^ 1)
}
/// A key that was never in any ring used here.
fn stranger() -> TestKey {
    TestKey::explicit("stranger", 0x0bad_c0de)
}
/// The smallest possible id.
fn zero() -> TestKey {
    TestKey::explicit("zero", 0)
}

#[derive(Clone, Copy)]
enum State {
    Primary,
    Older,
    Pending(u64),
}

/// Everything about the opener a case runs against.
#[derive(Clone)]
struct Ctx {
    keys: Vec<(TestKey, State)>,
    revoke_before: Option<u64>,
    now: u64,
    cookie_name: String,
    purpose: String,
    mode: Mode,
    also_open: Vec<Mode>,
    lifetime: u64,
    idle: Option<u64>,
    refresh: Option<u64>,
    leeway: u64,
    max_token_len: usize,
    max_payload_bytes: usize,
    max_depth: usize,
}

impl Ctx {
    /// A `mode` opener at `NOW` for cookie `id`, purpose `session`, ring = alpha as primary, with
    /// the library's defaults for everything else.
    fn new(mode: Mode) -> Self {
        Ctx {
            keys: vec![(alpha(), State::Primary)],
            revoke_before: None,
            now: NOW,
            cookie_name: "id".into(),
            purpose: "session".into(),
            mode,
            also_open: Vec::new(),
            lifetime: LIFETIME,
            idle: None,
            refresh: None,
            leeway: 60,
            max_token_len: 4096,
            max_payload_bytes: Codec::DEFAULT_MAX_BYTES,
            max_depth: Codec::DEFAULT_MAX_DEPTH,
        }
    }
    fn mode_to(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    fn ring(mut self, keys: Vec<(TestKey, State)>) -> Self {
        self.keys = keys;
        self
    }
    fn revoke_before(mut self, t: u64) -> Self {
        self.revoke_before = Some(t);
        self
    }
    fn now(mut self, now: u64) -> Self {
        self.now = now;
        self
    }
    fn name(mut self, name: &str) -> Self {
        self.cookie_name = name.into();
        self
    }
    fn purpose(mut self, purpose: &str) -> Self {
        self.purpose = purpose.into();
        self
    }
    fn also_open(mut self, mode: Mode) -> Self {
        self.also_open.push(mode);
        self
    }
    fn lifetime(mut self, secs: u64) -> Self {
        self.lifetime = secs;
        self
    }
    fn idle(mut self, secs: u64) -> Self {
        self.idle = Some(secs);
        self
    }
    fn refresh(mut self, secs: u64) -> Self {
        self.refresh = Some(secs);
        self
    }
    fn max_token_len(mut self, len: usize) -> Self {
        self.max_token_len = len;
        self
    }
    fn codec(mut self, max_payload_bytes: usize, max_depth: usize) -> Self {
        self.max_payload_bytes = max_payload_bytes;
        self.max_depth = max_depth;
        self
    }

    fn to_json(&self, desc: String) -> CommonJson {
        CommonJson {
            desc,
            keys: self
                .keys
                .iter()
                .map(|(k, state)| KeyJson {
                    id: format!("{:08x}", k.id),
                    id_derived: k.derived,
                    secret: hex::encode(&k.secret),
                    state: match state {
                        State::Primary => "primary",
                        State::Older => "older",
                        State::Pending(_) => "pending",
                    },
                    activates_at: match state {
                        State::Pending(at) => Some(*at),
                        _ => None,
                    },
                })
                .collect(),
            revoke_before: self.revoke_before,
            now: self.now,
            cookie_name: self.cookie_name.clone(),
            purpose: self.purpose.clone(),
            mode: self.mode.as_str(),
            also_open: self.also_open.iter().map(|m| m.as_str()).collect(),
            lifetime_secs: self.lifetime,
            idle_timeout_secs: self.idle,
            refresh_after_secs: self.refresh,
            leeway_secs: self.leeway,
            max_token_len: self.max_token_len,
            max_payload_bytes: self.max_payload_bytes,
            max_depth: self.max_depth,
        }
    }
}

/// The sealed contents of a token.
#[derive(Clone)]
struct Env {
    flags: u8,
    created: u64,
    issued: u64,
    expires: u64,
    payload: Vec<u8>,
}

impl Env {
    /// A session created and issued at `T0`, expiring after the default lifetime.
    fn fresh(payload: &[u8]) -> Self {
        Env {
            flags: JSON,
            created: T0,
            issued: T0,
            expires: T0 + LIFETIME,
            payload: payload.to_vec(),
        }
    }
    fn times(mut self, created: u64, issued: u64, expires: u64) -> Self {
        self.created = created;
        self.issued = issued;
        self.expires = expires;
        self
    }
    fn flags(mut self, flags: u8) -> Self {
        self.flags = flags;
        self
    }
}

/// The deterministic nonce of a case: SHA-256 of a label, cut to the mode's nonce length.
fn nonce_for(mode: Mode, label: &str) -> Vec<u8> {
    let digest = Sha256::digest(format!("sealed-session/v1 vectors: nonce {label}").as_bytes());
    digest[..mode.nonce_len()].to_vec()
}

/// Seal `env` under `key` (as the only, primary key) in `mode` for `name`/`purpose`.
fn seal(key: &TestKey, mode: Mode, name: &str, purpose: &str, env: &Env, nonce: &[u8]) -> String {
    let ring = KeyRing::builder().primary(key.key()).build().unwrap();
    let sealer = Sealer::builder(ring, name)
        .mode(mode)
        .purpose(purpose)
        .max_token_len(1 << 20)
        .build()
        .unwrap();
    let times = Timestamps {
        created: UnixTime::from_secs(env.created),
        issued: UnixTime::from_secs(env.issued),
        expires: UnixTime::from_secs(env.expires),
    };
    sealer
        .seal_raw_for_vectors(
            UnixTime::from_secs(env.issued),
            &times,
            env.flags,
            &env.payload,
            nonce,
        )
        .unwrap()
}

/// Seal for cookie `id`, purpose `session` (the default context of `Ctx::new`).
fn tok(key: &TestKey, mode: Mode, env: &Env, label: &str) -> String {
    seal(key, mode, "id", "session", env, &nonce_for(mode, label))
}

fn decode(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(token).unwrap()
}

fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// XOR one decoded byte with `mask` and re-encode.
fn flip(token: &str, index: usize, mask: u8) -> String {
    let mut b = decode(token);
    b[index] ^= mask;
    encode(&b)
}

/// Keep the first `len` decoded bytes and re-encode (canonically).
fn truncate(token: &str, len: usize) -> String {
    let b = decode(token);
    encode(&b[..len])
}

fn reseal_code(r: Option<Reseal>) -> Option<&'static str> {
    r.map(|r| match r {
        Reseal::RotatedKey => "rotated_key",
        Reseal::ModeChanged => "mode_changed",
        Reseal::Refresh => "refresh",
        _ => "unknown",
    })
}

#[derive(Serialize)]
struct KeyJson {
    id: String,
    id_derived: bool,
    secret: String,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    activates_at: Option<u64>,
}

#[derive(Serialize)]
struct CommonJson {
    desc: String,
    keys: Vec<KeyJson>,
    revoke_before: Option<u64>,
    now: u64,
    cookie_name: String,
    purpose: String,
    mode: &'static str,
    also_open: Vec<&'static str>,
    lifetime_secs: u64,
    idle_timeout_secs: Option<u64>,
    refresh_after_secs: Option<u64>,
    leeway_secs: u64,
    max_token_len: usize,
    max_payload_bytes: usize,
    max_depth: usize,
}

#[derive(Serialize)]
struct PositiveJson {
    #[serde(flatten)]
    common: CommonJson,
    token_mode: &'static str,
    nonce: String,
    flags: u8,
    created: u64,
    issued: u64,
    expires: u64,
    plaintext: String,
    token: String,
    key_id: String,
    reseal: Option<&'static str>,
}

#[derive(Serialize)]
struct NegativeJson {
    #[serde(flatten)]
    common: CommonJson,
    token: String,
    rejection: &'static str,
}

#[derive(Serialize)]
struct FileJson<C> {
    version: u32,
    description: &'static str,
    cases: Vec<C>,
}

#[derive(Default)]
struct Suite {
    positive: Vec<PositiveJson>,
    negative: Vec<NegativeJson>,
}

impl Suite {
    /// Seal `env` under `key` in `token_mode` for the context's cookie name and purpose, with the
    /// nonce derived from `desc`; return the token.
    fn seal_pos(
        desc: &str,
        ctx: &Ctx,
        key: &TestKey,
        token_mode: Mode,
        env: &Env,
    ) -> (Vec<u8>, String) {
        let nonce = nonce_for(token_mode, desc);
        let token = seal(key, token_mode, &ctx.cookie_name, &ctx.purpose, env, &nonce);
        (nonce, token)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per JSON field group"
    )]
    fn push_pos(
        &mut self,
        desc: String,
        ctx: &Ctx,
        key: &TestKey,
        token_mode: Mode,
        env: &Env,
        nonce: Vec<u8>,
        token: String,
        reseal: Option<Reseal>,
    ) {
        let plaintext = String::from_utf8(env.payload.clone()).unwrap();
        self.positive.push(PositiveJson {
            common: ctx.to_json(desc),
            token_mode: token_mode.as_str(),
            nonce: hex::encode(nonce),
            flags: env.flags,
            created: env.created,
            issued: env.issued,
            expires: env.expires,
            plaintext,
            token,
            key_id: format!("{:08x}", key.id),
            reseal: reseal_code(reseal),
        });
    }

    /// A positive case: `env` sealed under `key` in `token_mode`, expected to open under `ctx`
    /// with the given re-seal hint.
    fn pos(
        &mut self,
        desc: impl Into<String>,
        ctx: &Ctx,
        key: &TestKey,
        token_mode: Mode,
        env: &Env,
        reseal: Option<Reseal>,
    ) {
        let desc = desc.into();
        let (nonce, token) = Self::seal_pos(&desc, ctx, key, token_mode, env);
        self.push_pos(desc, ctx, key, token_mode, env, nonce, token, reseal);
    }

    /// A negative case: `token` is expected to be refused by `ctx` with `rejection`.
    fn neg(&mut self, desc: impl Into<String>, ctx: &Ctx, token: String, rejection: Rejection) {
        self.negative.push(NegativeJson {
            common: ctx.to_json(desc.into()),
            token,
            rejection: rejection.as_str(),
        });
    }
}

/// A ~1 KiB payload (exactly 1024 bytes): a browsing history and padding.
fn kib_payload() -> Vec<u8> {
    let mut s = String::from(r#"{"history":["#);
    let mut i = 0u64;
    loop {
        let item = format!(r#"{{"path":"/articles/{i:03}","at":{}}}"#, NOW - 60 * i);
        if s.len() + item.len() + 40 > 1024 {
            break;
        }
        if i > 0 {
            s.push(',');
        }
        s.push_str(&item);
        i += 1;
    }
    s.push_str(r#"],"pad":""#);
    let mut c = 0u8;
    while s.len() < 1022 {
        s.push(char::from(b'a' + c % 26));
        c += 1;
    }
    s.push_str(r#""}"#);
    assert_eq!(s.len(), 1024);
    s.into_bytes()
}

/// `{"note":"xxx…"}` of exactly `len` bytes.
fn note_of_len(len: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"note":""#);
    while s.len() < len - 2 {
        s.push('x');
    }
    s.push_str(r#""}"#);
    assert_eq!(s.len(), len);
    s.into_bytes()
}

/// `depth` nested arrays around `0`.
fn nested_arrays(depth: usize) -> Vec<u8> {
    format!("{}0{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
}

const SIGNED: Mode = Mode::Signed;
const XCHACHA: Mode = Mode::XChaCha20Poly1305;
const GCM: Mode = Mode::Aes256Gcm;
const SIV: Mode = Mode::Aes256GcmSiv;

fn positive_cases(s: &mut Suite) {
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

fn negative_cases(s: &mut Suite) {
    let a = alpha();
    bit_flips(s, &a);
    truncations(s, &a);
    encodings(s, &a);
    versions_keys_and_context(s, &a);
    times(s, &a);
    codec_and_size(s, &a);
}

fn bit_flips(s: &mut Suite, a: &TestKey) {
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

fn truncations(s: &mut Suite, a: &TestKey) {
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

fn encodings(s: &mut Suite, a: &TestKey) {
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

fn versions_keys_and_context(s: &mut Suite, a: &TestKey) {
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

fn times(s: &mut Suite, a: &TestKey) {
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

fn codec_and_size(s: &mut Suite, a: &TestKey) {
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

const POSITIVE_DESCRIPTION: &str = "Tokens that must open: each gives the opener's key ring and settings, the clock, the envelope sealed (nonce, flags, timestamps, plaintext) and the token. An implementation must open the token to the plaintext's JSON value with the given key id, mode, timestamps and re-seal hint, and sealing the same envelope with the same nonce must give the same token. See vectors/README.md.";
const NEGATIVE_DESCRIPTION: &str = "Tokens that must not open: each gives the opener's key ring and settings, the clock and the token; opening must fail with exactly the given rejection code. See vectors/README.md.";

/// The two committed files, as the generator renders them.
fn generate() -> (String, String) {
    let mut s = Suite::default();
    positive_cases(&mut s);
    negative_cases(&mut s);
    let pos = render(&FileJson {
        version: 1,
        description: POSITIVE_DESCRIPTION,
        cases: s.positive,
    });
    let neg = render(&FileJson {
        version: 1,
        description: NEGATIVE_DESCRIPTION,
        cases: s.negative,
    });
    (pos, neg)
}

/// Pretty JSON (two-space indent) with a final newline.
fn render<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap();
    s.push('\n');
    s
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

static REGENERATE: Once = Once::new();

/// With `SEALED_TEST_REGENERATE_VECTORS=1`, write the generated files once (atomically, so a
/// test reading them in parallel sees the old or the new file, never half of one).
fn regenerate_if_asked() {
    REGENERATE.call_once(|| {
        if std::env::var(REGENERATE_ENV).as_deref() != Ok("1") {
            return;
        }
        let (pos, neg) = generate();
        std::fs::create_dir_all(vector_path("")).unwrap();
        for (file, text) in [("positive.json", pos), ("negative.json", neg)] {
            let tmp = vector_path(&format!(".{file}.tmp"));
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, vector_path(file)).unwrap();
        }
    });
}

fn read_committed(file: &str) -> String {
    let path = vector_path(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run with {REGENERATE_ENV}=1 to create it",
            path.display()
        )
    })
}

#[test]
fn committed_vectors_are_what_the_generator_produces() {
    regenerate_if_asked();
    let (pos, neg) = generate();
    for (file, generated) in [("positive.json", pos), ("negative.json", neg)] {
        let committed = read_committed(file);
        if committed != generated {
            let line = committed
                .lines()
                .zip(generated.lines())
                .position(|(c, g)| c != g)
                .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()))
                + 1;
            panic!(
                "vectors/v1/{file} differs from the generator from line {line} on; if the change is intended, run `{REGENERATE_ENV}=1 cargo test --features test-vectors --test vectors` and review the diff"
            );
        }
    }
}

// ----- The runner: only the committed JSON, read field by field. -----

/// The fields a case may have; anything else is a schema error (so README and files agree).
const COMMON_FIELDS: [&str; 15] = [
    "desc",
    "keys",
    "revoke_before",
    "now",
    "cookie_name",
    "purpose",
    "mode",
    "also_open",
    "lifetime_secs",
    "idle_timeout_secs",
    "refresh_after_secs",
    "leeway_secs",
    "max_token_len",
    "max_payload_bytes",
    "max_depth",
];
const POSITIVE_FIELDS: [&str; 10] = [
    "token_mode",
    "nonce",
    "flags",
    "created",
    "issued",
    "expires",
    "plaintext",
    "token",
    "key_id",
    "reseal",
];
const NEGATIVE_FIELDS: [&str; 2] = ["token", "rejection"];

type Res<T> = Result<T, String>;

fn get<'a>(v: &'a Value, name: &str) -> Res<&'a Value> {
    v.get(name).ok_or_else(|| format!("missing field `{name}`"))
}

fn u64_of(v: &Value, name: &str) -> Res<u64> {
    get(v, name)?
        .as_u64()
        .ok_or_else(|| format!("`{name}` is not an unsigned integer"))
}

/// Absent or `null` is `None`.
fn opt_u64_of(v: &Value, name: &str) -> Res<Option<u64>> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("`{name}` is neither null nor an unsigned integer")),
    }
}

fn usize_of(v: &Value, name: &str) -> Res<usize> {
    usize::try_from(u64_of(v, name)?).map_err(|_| format!("`{name}` does not fit usize"))
}

fn str_of<'a>(v: &'a Value, name: &str) -> Res<&'a str> {
    get(v, name)?
        .as_str()
        .ok_or_else(|| format!("`{name}` is not a string"))
}

fn mode_of(name: &str) -> Res<Mode> {
    Mode::from_name(name).ok_or_else(|| format!("unknown mode `{name}`"))
}

/// Eight lowercase hex digits.
fn key_id_of(text: &str) -> Res<KeyId> {
    if text.len() != 8 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!("key id `{text}` is not eight lowercase hex digits"));
    }
    u32::from_str_radix(text, 16)
        .map(KeyId::new)
        .map_err(|e| e.to_string())
}

fn hex_of(v: &Value, name: &str) -> Res<Vec<u8>> {
    hex::decode(str_of(v, name)?).map_err(|e| format!("`{name}` is not hex: {e}"))
}

/// The keys of a case: (key, state text, activation time).
fn keys_of(case: &Value) -> Res<Vec<(Key, String, Option<u64>)>> {
    let keys = get(case, "keys")?
        .as_array()
        .ok_or("`keys` is not an array")?;
    keys.iter()
        .map(|k| {
            let id = key_id_of(str_of(k, "id")?)?;
            let secret = hex_of(k, "secret")?;
            let key = Key::try_from(&secret[..]).map_err(|e| e.to_string())?;
            let derived = get(k, "id_derived")?
                .as_bool()
                .ok_or("`id_derived` is not a boolean")?;
            if derived != (key.id() == id) {
                return Err(format!(
                    "key {id}: id_derived is {derived}, but the HKDF-derived id is {}",
                    key.id()
                ));
            }
            let state = str_of(k, "state")?.to_owned();
            let at = opt_u64_of(k, "activates_at")?;
            if (state == "pending") != at.is_some() {
                return Err(format!(
                    "key {id}: activates_at is required for pending keys only"
                ));
            }
            Ok((key.with_id(id), state, at))
        })
        .collect()
}

/// The opener a case describes, built from its own fields.
fn opener_of(case: &Value) -> Res<Sealer> {
    let mut ring = KeyRing::builder();
    for (key, state, at) in keys_of(case)? {
        ring = match (state.as_str(), at) {
            ("primary", None) => ring.primary(key),
            ("older", None) => ring.older(key),
            ("pending", Some(at)) => ring.pending(key, UnixTime::from_secs(at)),
            _ => return Err(format!("unknown key state `{state}`")),
        };
    }
    if let Some(t) = opt_u64_of(case, "revoke_before")? {
        ring = ring.revoke_before(UnixTime::from_secs(t));
    }
    let ring = ring.build().map_err(|e| e.to_string())?;
    let mut b = Sealer::builder(ring, str_of(case, "cookie_name")?)
        .purpose(str_of(case, "purpose")?)
        .mode(mode_of(str_of(case, "mode")?)?)
        .lifetime(Duration::from_secs(u64_of(case, "lifetime_secs")?))
        .idle_timeout(opt_u64_of(case, "idle_timeout_secs")?.map(Duration::from_secs))
        .refresh_after(opt_u64_of(case, "refresh_after_secs")?.map(Duration::from_secs))
        .leeway(Duration::from_secs(u64_of(case, "leeway_secs")?))
        .max_token_len(usize_of(case, "max_token_len")?)
        .codec(
            Codec::new()
                .with_max_bytes(usize_of(case, "max_payload_bytes")?)
                .with_max_depth(usize_of(case, "max_depth")?),
        );
    for m in get(case, "also_open")?
        .as_array()
        .ok_or("`also_open` is not an array")?
    {
        b = b.also_open(mode_of(
            m.as_str().ok_or("`also_open` holds a non-string")?,
        )?);
    }
    b.build().map_err(|e| e.to_string())
}

fn check_fields(case: &Value, specific: &[&str]) -> Res<()> {
    let obj = case.as_object().ok_or("a case is not an object")?;
    for name in obj.keys() {
        if !COMMON_FIELDS.contains(&name.as_str()) && !specific.contains(&name.as_str()) {
            return Err(format!("unexpected field `{name}`"));
        }
    }
    Ok(())
}

fn run_positive(case: &Value) -> Res<()> {
    check_fields(case, &POSITIVE_FIELDS)?;
    let opener = opener_of(case)?;
    let now = UnixTime::from_secs(u64_of(case, "now")?);
    let token = str_of(case, "token")?;
    let plaintext = str_of(case, "plaintext")?;
    let expected: Value =
        serde_json::from_str(plaintext).map_err(|e| format!("plaintext is not JSON: {e}"))?;
    let key_id = key_id_of(str_of(case, "key_id")?)?;
    let token_mode = mode_of(str_of(case, "token_mode")?)?;
    let times = Timestamps {
        created: UnixTime::from_secs(u64_of(case, "created")?),
        issued: UnixTime::from_secs(u64_of(case, "issued")?),
        expires: UnixTime::from_secs(u64_of(case, "expires")?),
    };
    let reseal = match get(case, "reseal")? {
        Value::Null => None,
        Value::String(s) => Some(s.as_str()),
        _ => return Err("`reseal` is neither null nor a string".into()),
    };

    let opened = opener
        .open_at::<Value>(now, token)
        .map_err(|r| format!("expected to open, got rejection {r}"))?;
    if opened.value() != &expected {
        return Err(format!("opened to {}, expected {expected}", opened.value()));
    }
    let meta = opened.meta();
    if meta.key_id() != key_id {
        return Err(format!("key id {}, expected {key_id}", meta.key_id()));
    }
    if meta.mode() != token_mode {
        return Err(format!("mode {}, expected {token_mode}", meta.mode()));
    }
    if meta.times() != times {
        return Err(format!("timestamps {:?}, expected {times:?}", meta.times()));
    }
    let got = reseal_code(opened.reseal());
    if got != reseal {
        return Err(format!("re-seal hint {got:?}, expected {reseal:?}"));
    }

    // Sealing the same envelope with the same nonce, key and context gives the same token.
    let (key, _, _) = keys_of(case)?
        .into_iter()
        .find(|(k, _, _)| k.id() == key_id)
        .ok_or("key_id is not in the ring")?;
    let sealer = Sealer::builder(
        KeyRing::builder()
            .primary(key)
            .build()
            .map_err(|e| e.to_string())?,
        str_of(case, "cookie_name")?,
    )
    .purpose(str_of(case, "purpose")?)
    .mode(token_mode)
    .max_token_len(usize_of(case, "max_token_len")?)
    .build()
    .map_err(|e| e.to_string())?;
    let flags = u8::try_from(u64_of(case, "flags")?).map_err(|_| "`flags` is not a byte")?;
    let resealed = sealer
        .seal_raw_for_vectors(
            now,
            &times,
            flags,
            plaintext.as_bytes(),
            &hex_of(case, "nonce")?,
        )
        .map_err(|e| format!("re-sealing failed: {e}"))?;
    if resealed != token {
        return Err(format!(
            "re-sealing with the case's nonce gave {resealed}, expected the case's token"
        ));
    }
    Ok(())
}

fn run_negative(case: &Value) -> Res<Rejection> {
    check_fields(case, &NEGATIVE_FIELDS)?;
    let code = str_of(case, "rejection")?;
    let expected =
        Rejection::from_code(code).ok_or_else(|| format!("unknown rejection code `{code}`"))?;
    let opener = opener_of(case)?;
    let now = UnixTime::from_secs(u64_of(case, "now")?);
    match opener.open_at::<Value>(now, str_of(case, "token")?) {
        Ok(_) => Err(format!("expected rejection {code}, but the token opened")),
        Err(r) if r == expected => Ok(r),
        Err(r) => Err(format!("expected rejection {code}, got {r}")),
    }
}

/// The committed file's cases, after checking the top-level object.
fn cases_of(file: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&read_committed(file)).unwrap();
    assert_eq!(doc["version"], 1, "{file}: version");
    assert!(
        doc["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{file}: description"
    );
    let obj = doc.as_object().unwrap();
    assert_eq!(obj.len(), 3, "{file}: only version, description and cases");
    doc["cases"].as_array().unwrap().clone()
}

fn desc_of(case: &Value) -> String {
    case.get("desc")
        .and_then(Value::as_str)
        .unwrap_or("<no desc>")
        .to_owned()
}

#[test]
fn every_committed_vector_has_its_expected_outcome() {
    regenerate_if_asked();
    let mut failures = Vec::new();
    for (i, case) in cases_of("positive.json").iter().enumerate() {
        if let Err(e) = run_positive(case) {
            failures.push(format!("positive #{i} ({}): {e}", desc_of(case)));
        }
    }
    for (i, case) in cases_of("negative.json").iter().enumerate() {
        if let Err(e) = run_negative(case) {
            failures.push(format!("negative #{i} ({}): {e}", desc_of(case)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_suite_is_large_distinct_and_covers_every_outcome() {
    regenerate_if_asked();
    let positive = cases_of("positive.json");
    let negative = cases_of("negative.json");
    assert!(
        positive.len() >= 12,
        "{} positive cases; at least 12",
        positive.len()
    );
    assert!(
        negative.len() >= 30,
        "{} negative cases; at least 30",
        negative.len()
    );

    let mut seen = HashSet::new();
    for case in positive.iter().chain(&negative) {
        let desc = case["desc"].as_str().unwrap();
        assert!(!desc.trim().is_empty(), "an empty desc");
        assert!(seen.insert(desc.to_owned()), "duplicate desc: {desc}");
    }

    let rejections: BTreeSet<&str> = negative
        .iter()
        .map(|c| c["rejection"].as_str().unwrap())
        .collect();
    for r in Rejection::ALL {
        assert!(
            rejections.contains(r.as_str()),
            "no negative case expects {r}"
        );
    }

    let token_modes: BTreeSet<&str> = positive
        .iter()
        .map(|c| c["token_mode"].as_str().unwrap())
        .collect();
    for m in Mode::ALL {
        assert!(token_modes.contains(m.as_str()), "no positive case in {m}");
    }
    let hints: BTreeSet<&str> = positive
        .iter()
        .map(|c| c["reseal"].as_str().unwrap_or("null"))
        .collect();
    for h in ["null", "rotated_key", "mode_changed", "refresh"] {
        assert!(hints.contains(h), "no positive case with re-seal hint {h}");
    }
}
