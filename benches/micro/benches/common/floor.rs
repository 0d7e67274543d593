//! The floor: the least a token of the sealer's kind can cost, with the crate's primitives driven
//! directly and no envelope. One definition for `benches/instructions.rs` (Callgrind) and
//! `benches/seal.rs` (criterion), so that the two measure the same thing; each includes this file
//! with `#[path = "common/floor.rs"] mod floor;` (cargo does not discover files in a
//! subdirectory of `benches/` as bench targets of their own).
//!
//! The key state is built once ([`Floor::new`]): the AEAD with its key schedule, or HMAC-SHA256
//! keyed once and cloned per token. Sealing is the typed value to JSON (`serde_json::to_vec`;
//! [`Floor::seal_json`] starts from JSON already encoded), then the mode's raw primitive (a
//! random nonce from `rand::thread_rng()`, `encrypt_in_place_detached` with no associated data;
//! or the MAC over the payload), then base64url-no-pad of `nonce || ciphertext || tag` or
//! `payload || tag`. Opening is the reverse, down to the typed value (`decrypt_in_place_detached`,
//! `verify_slice`, `serde_json::from_slice`).
//!
//! The primitives are the crate's own (src/primitives.rs), so that the floor is what the sealer
//! could at best be: AES-GCM and AES-GCM-SIV over the encryption-only key schedule
//! (`aes::Aes256Enc`; `aes::Aes256` also expands the decryption round keys neither mode uses),
//! and base64url through `base64-simd`.

use aes_gcm::aead::{self, AeadInPlace, KeyInit};
use base64_simd::URL_SAFE_NO_PAD;
use chacha20poly1305::XChaCha20Poly1305;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sealed_session::Mode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Sha256;

type Aes256Gcm = aes_gcm::AesGcm<aes::Aes256Enc, aes_gcm::aead::consts::U12>;
type Aes256GcmSiv = aes_gcm_siv::AesGcmSiv<aes::Aes256Enc>;

/// A mode's primitive with its key state built once.
pub enum Floor {
    Signed(Hmac<Sha256>),
    XChaCha(XChaCha20Poly1305),
    Gcm(Aes256Gcm),
    Siv(Aes256GcmSiv),
}

impl Floor {
    /// The primitive of `mode` under a fresh random key.
    pub fn new(mode: Mode) -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        match mode {
            Mode::Signed => {
                Floor::Signed(<Hmac<Sha256> as Mac>::new_from_slice(&key).expect("any key length"))
            }
            Mode::XChaCha20Poly1305 => Floor::XChaCha(XChaCha20Poly1305::new(&key.into())),
            Mode::Aes256Gcm => Floor::Gcm(Aes256Gcm::new(&key.into())),
            Mode::Aes256GcmSiv => Floor::Siv(Aes256GcmSiv::new(&key.into())),
            other => unimplemented!("no floor for {other}"),
        }
    }

    /// Typed value → JSON → primitive → base64url.
    #[allow(
        dead_code,
        reason = "benches/seal.rs seals JSON already encoded (`seal_json`)"
    )]
    pub fn seal<T: Serialize>(&self, value: &T) -> String {
        let json = serde_json::to_vec(value).expect("json");
        match self {
            // The JSON buffer takes the tag: no second buffer, no copy.
            Floor::Signed(keyed) => {
                let tag = hmac_tag(keyed, &json);
                let mut buf = json;
                buf.extend_from_slice(&tag);
                URL_SAFE_NO_PAD.encode_to_string(&buf)
            }
            Floor::XChaCha(c) => aead_seal(c, &json),
            Floor::Gcm(c) => aead_seal(c, &json),
            Floor::Siv(c) => aead_seal(c, &json),
        }
    }

    /// JSON already encoded → primitive → base64url: [`Floor::seal`] without the encoding.
    #[allow(
        dead_code,
        reason = "benches/instructions.rs seals the typed value (`seal`)"
    )]
    pub fn seal_json(&self, json: &[u8]) -> String {
        match self {
            Floor::Signed(keyed) => {
                let tag = hmac_tag(keyed, json);
                let mut buf = Vec::with_capacity(json.len() + tag.len());
                buf.extend_from_slice(json);
                buf.extend_from_slice(&tag);
                URL_SAFE_NO_PAD.encode_to_string(&buf)
            }
            Floor::XChaCha(c) => aead_seal(c, json),
            Floor::Gcm(c) => aead_seal(c, json),
            Floor::Siv(c) => aead_seal(c, json),
        }
    }

    /// base64url → primitive → JSON → typed value.
    pub fn open<T: DeserializeOwned>(&self, token: &str) -> T {
        let mut bytes = URL_SAFE_NO_PAD.decode_to_vec(token).expect("base64url");
        match self {
            Floor::Signed(keyed) => {
                let split = bytes.len().checked_sub(32).expect("tag");
                let (body, tag) = bytes.split_at(split);
                let mut mac = keyed.clone();
                mac.update(body);
                mac.verify_slice(tag).expect("tag verifies");
                serde_json::from_slice(body).expect("json")
            }
            Floor::XChaCha(c) => aead_open(c, &mut bytes),
            Floor::Gcm(c) => aead_open(c, &mut bytes),
            Floor::Siv(c) => aead_open(c, &mut bytes),
        }
    }
}

fn hmac_tag(keyed: &Hmac<Sha256>, payload: &[u8]) -> [u8; 32] {
    let mut mac = keyed.clone();
    mac.update(payload);
    mac.finalize().into_bytes().into()
}

fn aead_seal<A: AeadInPlace>(cipher: &A, plaintext: &[u8]) -> String {
    let mut nonce = aead::Nonce::<A>::default();
    rand::thread_rng().fill_bytes(&mut nonce);
    let mut buf = Vec::with_capacity(nonce.len() + plaintext.len() + 16);
    buf.extend_from_slice(&nonce);
    buf.extend_from_slice(plaintext);
    let (_, body) = buf.split_at_mut(nonce.len());
    let tag = cipher
        .encrypt_in_place_detached(&nonce, b"", body)
        .expect("encrypts");
    buf.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode_to_string(&buf)
}

fn aead_open<A: AeadInPlace, T: DeserializeOwned>(cipher: &A, bytes: &mut [u8]) -> T {
    // Copied into fixed-size values (the crate's clippy.toml bans the panicking `from_slice`).
    let mut nonce = aead::Nonce::<A>::default();
    let mut tag = aead::Tag::<A>::default();
    let (nonce_bytes, rest) = bytes.split_at_mut(nonce.len());
    let split = rest.len().checked_sub(tag.len()).expect("tag");
    let (body, tag_bytes) = rest.split_at_mut(split);
    nonce.copy_from_slice(nonce_bytes);
    tag.copy_from_slice(tag_bytes);
    cipher
        .decrypt_in_place_detached(&nonce, b"", body, &tag)
        .expect("decrypts");
    serde_json::from_slice(body).expect("json")
}
