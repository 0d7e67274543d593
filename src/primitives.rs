//! The cryptographic primitives, each behind one small wrapper that checks every length before
//! the underlying crate sees it.
//!
//! Everything the crate seals, opens or derives goes through here, so the Wycheproof and RFC
//! vectors (run through these wrappers under the `test-vectors` feature) test the code paths the
//! crate uses. The wrappers never panic: `GenericArray::from_slice` and friends panic on a wrong
//! length, so slices are converted to fixed-size arrays first and a wrong length is an error.
//! Tags are checked only by the crates' constant-time functions.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::AesGcm;
use aes_gcm_siv::AesGcmSiv;
use chacha20poly1305::XChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// A primitive refused its input: a wrong length, or a tag that did not verify. Deliberately
/// opaque, as in RustCrypto's `aead::Error`: callers learn nothing about which check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrimitiveError;

/// Bytes of every AEAD tag used here.
pub const AEAD_TAG_LEN: usize = 16;
/// Bytes of an HMAC-SHA256 tag; shorter (truncated) tags are refused.
pub const HMAC_TAG_LEN: usize = 32;

/// AES-256-GCM over the encryption-only AES key schedule: GCM and GCM-SIV never run AES
/// backwards, and `aes::Aes256` also expands (and moves around, per message in GCM-SIV, whose
/// message keys are derived per nonce) the decryption round keys: about 500 instructions of key
/// setup and 950 of copies per GCM-SIV message. The same algorithm, the same bytes (the
/// Wycheproof and RFC 8452 vectors run through these types).
pub type Aes256Gcm = AesGcm<aes::Aes256Enc, U12>;
/// AES-256-GCM-SIV over the encryption-only AES key schedule (see [`Aes256Gcm`]).
pub type Aes256GcmSiv = AesGcmSiv<aes::Aes256Enc>;

/// One of the three AEADs, keyed once.
#[derive(Clone)]
pub enum AeadCipher {
    /// XChaCha20-Poly1305: 24-byte nonces.
    XChaCha20Poly1305(XChaCha20Poly1305),
    /// AES-256-GCM: 12-byte nonces.
    Aes256Gcm(Aes256Gcm),
    /// AES-256-GCM-SIV: 12-byte nonces.
    Aes256GcmSiv(Aes256GcmSiv),
}

impl std::fmt::Debug for AeadCipher {
    /// Names the algorithm only: the key schedule is key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            AeadCipher::XChaCha20Poly1305(_) => "XChaCha20Poly1305",
            AeadCipher::Aes256Gcm(_) => "Aes256Gcm",
            AeadCipher::Aes256GcmSiv(_) => "Aes256GcmSiv",
        };
        write!(f, "AeadCipher::{name}(<redacted>)")
    }
}

/// Every variant wipes its keys when dropped: the AES key schedules (the `aes` crate's
/// `zeroize` feature) and the XChaCha20-Poly1305 key (wiped by its crate). One exception is
/// documented in SECURITY.md ("Secrets in memory"): on x86/x86_64 the GHASH key an AES-256-GCM
/// state keeps is not wiped (polyval's run-time CLMUL dispatch has no `Drop`); see
/// `tests::secret_holding_states_are_wiped_on_drop`.
impl zeroize::ZeroizeOnDrop for AeadCipher {}

/// Which AEAD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadAlgorithm {
    /// XChaCha20-Poly1305.
    XChaCha20Poly1305,
    /// AES-256-GCM.
    Aes256Gcm,
    /// AES-256-GCM-SIV.
    Aes256GcmSiv,
}

impl AeadCipher {
    /// Key `algorithm` with a 32-byte key.
    pub fn new(algorithm: AeadAlgorithm, key: &[u8; 32]) -> Self {
        match algorithm {
            AeadAlgorithm::XChaCha20Poly1305 => {
                AeadCipher::XChaCha20Poly1305(XChaCha20Poly1305::new(key.into()))
            }
            AeadAlgorithm::Aes256Gcm => AeadCipher::Aes256Gcm(Aes256Gcm::new(key.into())),
            AeadAlgorithm::Aes256GcmSiv => AeadCipher::Aes256GcmSiv(Aes256GcmSiv::new(key.into())),
        }
    }

    #[cfg_attr(
        not(feature = "test-vectors"),
        allow(
            dead_code,
            reason = "used only by the external vectors (the hazmat re-export)"
        )
    )]
    /// Key `algorithm` with a key of any length: only 32 bytes are accepted.
    ///
    /// # Errors
    /// [`PrimitiveError`] for any other length.
    pub fn from_slice(algorithm: AeadAlgorithm, key: &[u8]) -> Result<Self, PrimitiveError> {
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(key.try_into().map_err(|_| PrimitiveError)?);
        Ok(AeadCipher::new(algorithm, &key))
    }

    #[cfg_attr(
        not(feature = "test-vectors"),
        allow(
            dead_code,
            reason = "used only by the external vectors (the hazmat re-export)"
        )
    )]
    /// The nonce length this cipher requires.
    pub fn nonce_len(&self) -> usize {
        match self {
            AeadCipher::XChaCha20Poly1305(_) => 24,
            AeadCipher::Aes256Gcm(_) | AeadCipher::Aes256GcmSiv(_) => 12,
        }
    }

    /// Encrypt `buf` in place; returns the tag.
    ///
    /// # Errors
    /// [`PrimitiveError`] if the nonce has the wrong length (or the message exceeds the
    /// algorithm's limit).
    pub fn encrypt_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], PrimitiveError> {
        let tag = match self {
            AeadCipher::XChaCha20Poly1305(c) => {
                c.encrypt_in_place_detached(&array::<24>(nonce)?.into(), aad, buf)
            }
            AeadCipher::Aes256Gcm(c) => {
                c.encrypt_in_place_detached(&array::<12>(nonce)?.into(), aad, buf)
            }
            AeadCipher::Aes256GcmSiv(c) => {
                c.encrypt_in_place_detached(&array::<12>(nonce)?.into(), aad, buf)
            }
        }
        .map_err(|_| PrimitiveError)?;
        Ok(tag.into())
    }

    /// Verify `tag` and decrypt `buf` in place (constant-time tag check by the underlying
    /// crate). On error `buf` is left unspecified and must be discarded.
    ///
    /// # Errors
    /// [`PrimitiveError`] if the nonce or tag has the wrong length, or the tag does not verify.
    pub fn decrypt_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), PrimitiveError> {
        let tag = array::<AEAD_TAG_LEN>(tag)?;
        match self {
            AeadCipher::XChaCha20Poly1305(c) => {
                c.decrypt_in_place_detached(&array::<24>(nonce)?.into(), aad, buf, &tag.into())
            }
            AeadCipher::Aes256Gcm(c) => {
                c.decrypt_in_place_detached(&array::<12>(nonce)?.into(), aad, buf, &tag.into())
            }
            AeadCipher::Aes256GcmSiv(c) => {
                c.decrypt_in_place_detached(&array::<12>(nonce)?.into(), aad, buf, &tag.into())
            }
        }
        .map_err(|_| PrimitiveError)
    }
}

/// HMAC-SHA256 with its key schedule (the hashed inner and outer pads) computed once.
#[derive(Clone)]
pub struct HmacSha256(Hmac<Sha256>);

impl std::fmt::Debug for HmacSha256 {
    /// The keyed state is key material: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSha256(<redacted>)")
    }
}

impl HmacSha256 {
    /// Key it with a 32-byte key. HMAC pads a key shorter than SHA-256's 64-byte block with
    /// zeros (RFC 2104), so the padded block is the same key and the infallible constructor can
    /// be used.
    pub fn new(key: &[u8; 32]) -> Self {
        let mut block = Zeroizing::new([0u8; 64]);
        for (d, s) in block.iter_mut().zip(key.iter()) {
            *d = *s;
        }
        HmacSha256(<Hmac<Sha256> as KeyInit>::new((&*block).into()))
    }

    #[cfg_attr(
        not(feature = "test-vectors"),
        allow(
            dead_code,
            reason = "used only by the external vectors (the hazmat re-export)"
        )
    )]
    /// Key it with a key of any length (longer than a block is hashed first, as RFC 2104 says).
    ///
    /// # Errors
    /// Never in practice (HMAC accepts every key length); kept fallible because the underlying
    /// constructor is.
    pub fn from_slice(key: &[u8]) -> Result<Self, PrimitiveError> {
        <Hmac<Sha256> as Mac>::new_from_slice(key)
            .map(HmacSha256)
            .map_err(|_| PrimitiveError)
    }

    /// The tag over the concatenation of `parts`.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; HMAC_TAG_LEN] {
        let mut mac = self.0.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// Verify a full 32-byte `tag` over the concatenation of `parts`, in constant time. A
    /// shorter tag is refused, never compared as a prefix.
    ///
    /// # Errors
    /// [`PrimitiveError`] if the tag is not 32 bytes or does not match.
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> Result<(), PrimitiveError> {
        if tag.len() != HMAC_TAG_LEN {
            return Err(PrimitiveError);
        }
        let mut mac = self.0.clone();
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(tag).map_err(|_| PrimitiveError)
    }
}

/// HKDF-SHA256 (RFC 5869): extract with `salt`, expand `info` into `out`.
///
/// # Errors
/// [`PrimitiveError`] if `out` is longer than 255 × 32 bytes.
pub fn hkdf_sha256(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), PrimitiveError> {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| PrimitiveError)
}

#[cfg_attr(
    not(feature = "cache"),
    allow(
        dead_code,
        reason = "the one derivation from a kept PRK is the cache's subkey"
    )
)]
/// HKDF-SHA256's extract step alone: the pseudorandom key that [`hkdf_sha256_expand`] expands,
/// for a key whose subkeys are derived at different times.
pub fn hkdf_sha256_extract(salt: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let (mut prk, _) = Hkdf::<Sha256>::extract(Some(salt), ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&prk);
    zeroize::Zeroize::zeroize(prk.as_mut_slice());
    out
}

#[cfg_attr(
    not(feature = "cache"),
    allow(
        dead_code,
        reason = "the one derivation from a kept PRK is the cache's subkey"
    )
)]
/// HKDF-SHA256's expand step from a pseudorandom key made by [`hkdf_sha256_extract`].
///
/// # Errors
/// [`PrimitiveError`] if `out` is longer than 255 × 32 bytes.
pub fn hkdf_sha256_expand(
    prk: &[u8; 32],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), PrimitiveError> {
    Hkdf::<Sha256>::from_prk(prk)
        .map_err(|_| PrimitiveError)?
        .expand(info, out)
        .map_err(|_| PrimitiveError)
}

/// A fixed-size copy of `bytes`, or an error: the non-panicking replacement for `from_slice`.
fn array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], PrimitiveError> {
    bytes.try_into().map_err(|_| PrimitiveError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::needs_drop;
    use zeroize::ZeroizeOnDrop;

    fn assert_zeroize_on_drop<T: ZeroizeOnDrop>() {}

    /// Compile-time (the marker trait) where the crates declare it, drop glue where they wipe in
    /// `Drop` without the marker: without its `zeroize` feature `Poly1305` is plain data with no
    /// drop glue at all, so this fails if a feature is lost.
    #[test]
    fn secret_holding_states_are_wiped_on_drop() {
        assert_zeroize_on_drop::<crate::keys::Key>();
        assert_zeroize_on_drop::<AeadCipher>();
        assert_zeroize_on_drop::<aes::Aes256>();
        assert_zeroize_on_drop::<aes::Aes256Enc>();
        assert_zeroize_on_drop::<XChaCha20Poly1305>();
        assert_zeroize_on_drop::<Zeroizing<[u8; 32]>>();
        // The per-message Poly1305 key of XChaCha20-Poly1305 (every backend wipes it).
        assert!(
            needs_drop::<poly1305::Poly1305>(),
            "poly1305 without zeroize"
        );
        assert!(needs_drop::<Aes256Gcm>() && needs_drop::<Aes256GcmSiv>());
        // The GHASH key inside every AES-256-GCM state, and the per-message POLYVAL key of
        // AES-256-GCM-SIV: polyval 0.6 wipes them in its portable backend only. On x86/x86_64 its
        // run-time CLMUL dispatch keeps the state in a union of `ManuallyDrop` with no `Drop`, so
        // nothing wipes it there (SECURITY.md, "Secrets in memory"). If the first assertion
        // starts failing, polyval fixed it: update SECURITY.md and the Cargo.toml comment.
        let wiped = needs_drop::<polyval::Polyval>() && needs_drop::<ghash::GHash>();
        if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
            assert!(!wiped, "polyval now wipes its CLMUL state: update the docs");
        } else {
            assert!(wiped, "ghash/polyval without zeroize");
        }
    }

    /// The one known gap (SECURITY.md, "Secrets in memory"): the keyed HMAC-SHA256 state is
    /// plain data with no drop glue, so nothing wipes it. If this fails, `hmac`/`sha2` learned to
    /// wipe it: turn that on, move `HmacSha256` to the test above and update SECURITY.md.
    #[test]
    fn the_hmac_state_is_not_wiped_the_documented_gap() {
        assert!(!needs_drop::<Hmac<Sha256>>());
        assert!(!needs_drop::<HmacSha256>());
    }

    #[test]
    fn wrong_lengths_are_errors_not_panics() {
        for alg in [
            AeadAlgorithm::XChaCha20Poly1305,
            AeadAlgorithm::Aes256Gcm,
            AeadAlgorithm::Aes256GcmSiv,
        ] {
            assert!(AeadCipher::from_slice(alg, &[1; 16]).is_err());
            let c = AeadCipher::new(alg, &[7; 32]);
            let n = c.nonce_len();
            let mut buf = *b"hello";
            for bad in [0, n - 1, n + 1, 32] {
                assert_eq!(
                    c.encrypt_in_place(&vec![0; bad], b"", &mut buf),
                    Err(PrimitiveError)
                );
            }
            let tag = c.encrypt_in_place(&vec![0; n], b"ad", &mut buf).unwrap();
            for cut in 0..AEAD_TAG_LEN {
                let mut b = buf;
                assert_eq!(
                    c.decrypt_in_place(&vec![0; n], b"ad", &mut b, &tag[..cut]),
                    Err(PrimitiveError)
                );
            }
            c.decrypt_in_place(&vec![0; n], b"ad", &mut buf, &tag)
                .unwrap();
            assert_eq!(&buf, b"hello");
        }
    }

    #[test]
    fn hmac_refuses_truncated_tags_and_padded_key_matches() {
        let key = [3u8; 32];
        let a = HmacSha256::new(&key);
        let b = HmacSha256::from_slice(&key).unwrap();
        let tag = a.sign(&[b"ab", b"c"]);
        assert_eq!(tag, b.sign(&[b"abc"]));
        assert!(a.verify(&[b"abc"], &tag).is_ok());
        assert_eq!(a.verify(&[b"abc"], &tag[..16]), Err(PrimitiveError));
        assert_eq!(a.verify(&[b"abc"], &[]), Err(PrimitiveError));
        let mut bad = tag;
        bad[31] ^= 1;
        assert_eq!(a.verify(&[b"abc"], &bad), Err(PrimitiveError));
    }

    #[test]
    fn hkdf_in_two_steps_matches_hkdf_in_one() {
        let (mut one, mut two) = ([0u8; 32], [0u8; 32]);
        hkdf_sha256(b"salt", b"input key", b"info", &mut one).unwrap();
        let prk = hkdf_sha256_extract(b"salt", b"input key");
        hkdf_sha256_expand(&prk, b"info", &mut two).unwrap();
        assert_eq!(one, two);
        let mut long = vec![0u8; 255 * 32 + 1];
        assert_eq!(
            hkdf_sha256_expand(&prk, b"i", &mut long),
            Err(PrimitiveError)
        );
    }

    #[test]
    fn hkdf_refuses_overlong_output() {
        let mut ok = [0u8; 32];
        assert!(hkdf_sha256(b"s", b"k", b"i", &mut ok).is_ok());
        let mut long = vec![0u8; 255 * 32 + 1];
        assert_eq!(
            hkdf_sha256(b"s", b"k", b"i", &mut long),
            Err(PrimitiveError)
        );
    }
}
