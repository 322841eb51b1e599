//! Private keys for signing DPoP proofs, and stores that hold and rotate them.
//!
//! Private keys live in AWS-LC (through aws-lc-rs), which cleanses key memory
//! when a key is freed; PKCS#8 exports are returned in [`Zeroizing`] buffers.
//! `Debug` never shows key material, only the algorithm and thumbprint.

mod store;

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use zeroize::Zeroizing;

use crate::jose::jwk::{EcPublicJwk, RsaPublicJwk};
use crate::jose::{Algorithm, PublicJwk, b64};

pub use store::{KeyStore, MemoryKeyStore, RotationPolicy};

/// Why a key operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Key generation failed in the crypto library.
    #[error("key generation failed")]
    Generation,
    /// The key bytes are not a valid PKCS#8 key for the algorithm.
    #[error("key rejected: not a valid PKCS#8 {0} private key")]
    Rejected(Algorithm),
    /// An RSA size other than 2048, 3072 or 4096 bits.
    #[error("unsupported RSA key size: use 2048, 3072 or 4096 bits")]
    RsaSize,
    /// Signing failed in the crypto library.
    #[error("signing failed")]
    Signing,
    /// The key store could not provide a key.
    #[error("key store unavailable: {0}")]
    Unavailable(String),
}

enum Signer {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A private key for DPoP proofs, with its public JWK and thumbprint.
pub struct DpopKey {
    alg: Algorithm,
    signer: Signer,
    jwk: PublicJwk,
    jkt: String,
    header_b64: String,
}

impl DpopKey {
    /// Generates a key for `alg`: P-256 for ES256, RSA-2048 for RS256/PS256.
    pub fn generate(alg: Algorithm) -> Result<Self, KeyError> {
        if alg.is_rsa() {
            Self::generate_rsa(alg, 2048)
        } else {
            let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| KeyError::Generation)?;
            Self::from_signer(alg, Signer::Ec(pair))
        }
    }

    /// Generates an RSA key of `bits` (2048, 3072 or 4096) for RS256 or PS256.
    pub fn generate_rsa(alg: Algorithm, bits: usize) -> Result<Self, KeyError> {
        let size = match bits {
            2048 => KeySize::Rsa2048,
            3072 => KeySize::Rsa3072,
            4096 => KeySize::Rsa4096,
            _ => return Err(KeyError::RsaSize),
        };
        if !alg.is_rsa() {
            return Err(KeyError::Rejected(alg));
        }
        let pair = RsaKeyPair::generate(size).map_err(|_| KeyError::Generation)?;
        Self::from_signer(alg, Signer::Rsa(pair))
    }

    /// Loads an unencrypted PKCS#8 (DER) private key for `alg`.
    pub fn from_pkcs8(alg: Algorithm, der: &[u8]) -> Result<Self, KeyError> {
        let signer = if alg.is_rsa() {
            Signer::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|_| KeyError::Rejected(alg))?)
        } else {
            Signer::Ec(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| KeyError::Rejected(alg))?,
            )
        };
        Self::from_signer(alg, signer)
    }

    fn from_signer(alg: Algorithm, signer: Signer) -> Result<Self, KeyError> {
        let jwk = match &signer {
            Signer::Ec(pair) => {
                let point = pair.public_key().as_ref();
                let (Ok(x), Ok(y)) = (point[1..33].try_into(), point[33..65].try_into()) else {
                    return Err(KeyError::Rejected(alg));
                };
                PublicJwk::Ec(
                    EcPublicJwk::from_coordinates(x, y).map_err(|_| KeyError::Rejected(alg))?,
                )
            }
            Signer::Rsa(pair) => {
                let public = pair.public_key();
                PublicJwk::Rsa(
                    RsaPublicJwk::from_components(
                        public.modulus().big_endian_without_leading_zero(),
                        public.exponent().big_endian_without_leading_zero(),
                    )
                    .map_err(|_| KeyError::Rejected(alg))?,
                )
            }
        };
        let header = format!(
            r#"{{"typ":"dpop+jwt","alg":"{}","jwk":{}}}"#,
            alg.as_str(),
            jwk.canonical_json()
        );
        Ok(Self {
            alg,
            signer,
            jkt: jwk.thumbprint(),
            jwk,
            header_b64: b64::encode(header),
        })
    }

    /// The signing algorithm.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The public key.
    pub fn jwk(&self) -> &PublicJwk {
        &self.jwk
    }

    /// The RFC 7638 thumbprint of the public key (the `jkt` tokens bind to).
    pub fn thumbprint(&self) -> &str {
        &self.jkt
    }

    /// The base64url proof header `{"typ":"dpop+jwt","alg":..,"jwk":..}`,
    /// computed once per key.
    pub fn proof_header_b64(&self) -> &str {
        &self.header_b64
    }

    /// Signs `message` with the key's algorithm; the result is a JWS
    /// signature (64-byte `r || s` for ES256).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Ec(pair) => pair
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| KeyError::Signing),
            Signer::Rsa(pair) => {
                let padding: &'static dyn signature::RsaEncoding = if self.alg == Algorithm::PS256 {
                    &signature::RSA_PSS_SHA256
                } else {
                    &signature::RSA_PKCS1_SHA256
                };
                let mut sig = vec![0u8; pair.public_modulus_len()];
                pair.sign(padding, &rng, message, &mut sig)
                    .map_err(|_| KeyError::Signing)?;
                Ok(sig)
            }
        }
    }

    /// Signs a compact JWS (RFC 7515 §7.1) over a serialized protected
    /// header and payload: `base64url(header).base64url(payload).base64url(sig)`.
    /// Used for DPoP proofs, signed metadata, and access tokens in tests.
    pub fn sign_compact(&self, header_json: &[u8], payload: &[u8]) -> Result<String, KeyError> {
        self.sign_compact_encoded(&b64::encode(header_json), payload)
    }

    /// As [`DpopKey::sign_compact`] with the header already base64url-encoded.
    pub(crate) fn sign_compact_encoded(
        &self,
        header_b64: &str,
        payload: &[u8],
    ) -> Result<String, KeyError> {
        let mut jws = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 380);
        jws.push_str(header_b64);
        jws.push('.');
        b64::encode_into(payload, &mut jws);
        let signature = self.sign(jws.as_bytes())?;
        jws.push('.');
        b64::encode_into(signature, &mut jws);
        Ok(jws)
    }

    /// Exports the private key as PKCS#8 DER, in a buffer zeroized on drop.
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let der = match &self.signer {
            Signer::Ec(pair) => pair.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            Signer::Rsa(pair) => pair.as_der().map(|d| d.as_ref().to_vec()),
        };
        der.map(Zeroizing::new).map_err(|_| KeyError::Signing)
    }
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.alg)
            .field("jkt", &self.jkt)
            .field("private_key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_verifiably() {
        for alg in Algorithm::ALL {
            let key = DpopKey::generate(alg).unwrap();
            let sig = key.sign(b"message").unwrap();
            key.jwk().verify(alg, b"message", &sig).unwrap();
            assert!(key.jwk().verify(alg, b"other", &sig).is_err());
            let prepared = key.jwk().prepare(alg).unwrap();
            prepared.verify(b"message", &sig).unwrap();
            assert!(prepared.verify(b"other", &sig).is_err());
            assert_eq!(key.thumbprint(), key.jwk().thumbprint());
        }
    }

    #[test]
    fn prepared_keys_refuse_other_key_types() {
        let ec = DpopKey::generate(Algorithm::ES256).unwrap();
        assert!(ec.jwk().prepare(Algorithm::RS256).is_err());
        let rsa = DpopKey::generate(Algorithm::PS256).unwrap();
        assert!(rsa.jwk().prepare(Algorithm::ES256).is_err());
        // One RSA key, two paddings: a PKCS#1 v1.5 signature is not a PSS one.
        let pss = rsa.sign(b"m").unwrap();
        assert!(
            rsa.jwk()
                .prepare(Algorithm::RS256)
                .unwrap()
                .verify(b"m", &pss)
                .is_err()
        );
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_key() {
        for alg in [Algorithm::ES256, Algorithm::PS256] {
            let key = DpopKey::generate(alg).unwrap();
            let again = DpopKey::from_pkcs8(alg, &key.to_pkcs8().unwrap()).unwrap();
            assert_eq!(again.thumbprint(), key.thumbprint());
        }
        assert_eq!(
            DpopKey::from_pkcs8(Algorithm::ES256, b"junk").unwrap_err(),
            KeyError::Rejected(Algorithm::ES256)
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = DpopKey::generate(Algorithm::ES256).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("redacted"));
        assert!(dbg.contains(key.thumbprint()));
    }

    #[test]
    fn refuses_bad_rsa_sizes() {
        assert_eq!(
            DpopKey::generate_rsa(Algorithm::RS256, 1024).unwrap_err(),
            KeyError::RsaSize
        );
        assert!(DpopKey::generate_rsa(Algorithm::ES256, 2048).is_err());
    }
}
