//! The generator of the v1 test vectors: `vectors/v1/positive.json` and `vectors/v1/negative.json`.
//!
//! Every case is built from fixed secrets, nonces and times (no randomness at all), with its
//! expected outcome *declared* next to it and explained in its `desc`, never computed by opening
//! the token. `tests/vectors.rs` (the runner) reads only the committed files, as an implementation
//! in another language would; this target checks that the committed files are byte for byte what
//! the generator produces, so they can always be regenerated and reviewed as a diff.
//!
//! ```sh
//! cargo test --features test-vectors --test vectors_generate        # check only
//! SEALED_TEST_REGENERATE_VECTORS=1 cargo test --features test-vectors --test vectors_generate
//! ```
//!
//! Each vector family is one module with one function, `cases(&mut Suite)`, listed in
//! [`FAMILIES`]; a new family is a new module and one line there. The order of the list is the
//! order of the cases in the files.

// clippy.toml's `allow-*-in-tests` covers `#[test]` functions only, not the helpers they call;
// here a panic is a failed test, never a crash on hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test helpers: a panic is a failed test"
)]

mod bit_flips;
mod boundaries;
mod codec_and_size;
mod encodings;
mod positive;
mod times;
mod truncations;
mod versions_keys_and_context;

use std::path::PathBuf;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sealed_session::{
    Codec, Key, KeyId, KeyRing, Mode, Rejection, Reseal, Sealer, Timestamps, UnixTime,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Set to `1` to rewrite the committed vector files from the generator.
const REGENERATE_ENV: &str = "SEALED_TEST_REGENERATE_VECTORS";

fn vector_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join("v1")
        .join(file)
}
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
    fn leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
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
    r.map(Reseal::as_str)
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
/// The vector families, in the order their cases appear in the files. Each pushes its positive
/// and negative cases into the suite.
const FAMILIES: &[fn(&mut Suite)] = &[
    positive::cases,
    bit_flips::cases,
    truncations::cases,
    encodings::cases,
    versions_keys_and_context::cases,
    times::cases,
    codec_and_size::cases,
    boundaries::cases,
];

const POSITIVE_DESCRIPTION: &str = "Tokens that must open: each gives the opener's key ring and settings, the clock, the envelope sealed (nonce, flags, timestamps, plaintext) and the token. An implementation must open the token to the plaintext's JSON value with the given key id, mode, timestamps and re-seal hint, and sealing the same envelope with the same nonce must give the same token. See vectors/README.md.";
const NEGATIVE_DESCRIPTION: &str = "Tokens that must not open: each gives the opener's key ring and settings, the clock and the token; opening must fail with exactly the given rejection code. See vectors/README.md.";

/// The two committed files, as the generator renders them.
fn generate() -> (String, String) {
    let mut s = Suite::default();
    for family in FAMILIES {
        family(&mut s);
    }
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

fn read_committed(file: &str) -> String {
    let path = vector_path(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run with {REGENERATE_ENV}=1 to create it",
            path.display()
        )
    })
}

/// The committed files are what the generator produces, byte for byte: the generator is
/// deterministic, and nobody edited a file by hand. With `SEALED_TEST_REGENERATE_VECTORS=1` the
/// files are rewritten first (atomically), so the check then passes by construction and the
/// change is reviewed as a diff of `vectors/`.
#[test]
fn committed_vectors_are_what_the_generator_produces() {
    let (pos, neg) = generate();
    if std::env::var(REGENERATE_ENV).as_deref() == Ok("1") {
        std::fs::create_dir_all(vector_path("")).unwrap();
        for (file, text) in [("positive.json", &pos), ("negative.json", &neg)] {
            let tmp = vector_path(&format!(".{file}.tmp"));
            std::fs::write(&tmp, text).unwrap();
            std::fs::rename(&tmp, vector_path(file)).unwrap();
        }
    }
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
                "vectors/v1/{file} differs from the generator from line {line} on; if the change is intended, run `{REGENERATE_ENV}=1 cargo test --features test-vectors --test vectors_generate` and review the diff"
            );
        }
    }
}

/// Generating twice gives the same bytes: nothing depends on randomness, the clock or hash-map
/// order, so a regeneration on another machine reproduces the committed files.
#[test]
fn the_generator_is_deterministic() {
    assert!(generate() == generate(), "two runs of the generator differ");
}
