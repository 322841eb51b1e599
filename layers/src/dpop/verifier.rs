//! The RFC 9449 §4.3 checks of a proof against a request.

use std::fmt;
use std::sync::Arc;

use subtle::ConstantTimeEq;

use crate::clock::{self, SharedClock};
use crate::config::ConfigError;
use crate::jose::{Algorithm, b64};
use crate::replay::ReplayKey;

use super::error::DpopError;
use super::htu;
use super::nonce::{NonceIssuer, NonceStatus};
use super::proof::{DEFAULT_MAX_PROOF_BYTES, DpopProof};

/// Default: proofs up to 5 minutes old are accepted.
pub const DEFAULT_MAX_AGE_SECS: u64 = 300;
/// Default: proofs up to 60 seconds in the future are accepted (clock skew).
pub const DEFAULT_MAX_FUTURE_SECS: u64 = 60;
/// Default cap on `jti` length in characters.
pub const DEFAULT_MAX_JTI_LEN: usize = 128;

/// What a verified proof established; inserted as a request extension by
/// [`DpopLayer`](super::DpopLayer) for later layers and handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedDpop {
    /// RFC 7638 thumbprint of the proof's key (compare with `cnf.jkt`).
    pub jkt: String,
    /// The proof's signature algorithm.
    pub alg: Algorithm,
    /// The proof's `htm`.
    pub htm: String,
    /// The proof's `htu`, normalized.
    pub htu: String,
    /// The proof's `iat`.
    pub iat: i64,
    /// The proof's `jti`.
    pub jti: String,
    /// Whether the proof's `ath` was checked against this request's access
    /// token: true when the token came under the `DPoP` scheme. A proof sent
    /// beside a `Bearer` token (which the `ProofRequired` and `Optional`
    /// modes let through) says nothing about that token, so do not take its
    /// `jkt` for the token's key unless this is true.
    pub token_bound: bool,
}

/// A proof that passed every synchronous check; the replay check remains.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckedProof {
    /// What the proof established.
    pub verified: VerifiedDpop,
    /// The identity to record in the replay cache.
    pub replay_key: ReplayKey,
    /// When the replay entry may be forgotten (Unix seconds): the first second
    /// at which the proof's `iat` is outside the window.
    pub expires_at: u64,
    /// The nonce is valid but old: send a fresh one with the response.
    pub refresh_nonce: bool,
}

/// The request facts a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The request URI, normalized with the `htu` rules.
    pub uri: &'a str,
    /// The access token presented with the request, if any.
    pub access_token: Option<&'a str>,
}

/// Checks proofs. Build it with [`DpopVerifier::builder`].
pub struct DpopVerifier {
    algorithms: Vec<Algorithm>,
    max_age: u64,
    max_future: u64,
    max_jti_len: usize,
    max_proof_bytes: usize,
    nonce: Option<Arc<NonceIssuer>>,
    clock: SharedClock,
}

/// Builder for [`DpopVerifier`]: the same settings, checked by `build()`.
pub struct DpopVerifierBuilder(DpopVerifier);

impl DpopVerifier {
    /// A builder with the defaults: ES256, PS256, RS256; 5 minutes old to 60 s
    /// ahead; `jti` up to 128 characters; proofs up to 8 KiB; no nonces.
    pub fn builder() -> DpopVerifierBuilder {
        DpopVerifierBuilder(DpopVerifier {
            algorithms: Algorithm::ALL.to_vec(),
            max_age: DEFAULT_MAX_AGE_SECS,
            max_future: DEFAULT_MAX_FUTURE_SECS,
            max_jti_len: DEFAULT_MAX_JTI_LEN,
            max_proof_bytes: DEFAULT_MAX_PROOF_BYTES,
            nonce: None,
            clock: clock::system(),
        })
    }

    /// The accepted algorithms, in preference order.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// The nonce issuer, when nonces are required.
    pub fn nonce_issuer(&self) -> Option<&Arc<NonceIssuer>> {
        self.nonce.as_ref()
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Runs every check of RFC 9449 §4.3 except replay detection, which needs
    /// the (possibly remote) cache: see [`CheckedProof::replay_key`].
    ///
    /// Cheap checks run before the signature so forged proofs cost little.
    pub fn verify(
        &self,
        proof: &str,
        request: RequestFacts<'_>,
    ) -> Result<CheckedProof, DpopError> {
        let proof = DpopProof::parse(proof, self.max_proof_bytes)?;
        let alg = proof.alg();
        if !self.algorithms.contains(&alg) {
            return Err(DpopError::AlgNotAllowed(alg));
        }
        if !proof.jwk().supports(alg) {
            return Err(DpopError::AlgKeyMismatch);
        }
        let claims = proof.claims();
        // §4.3 item 8: methods are case-sensitive (RFC 9110 §9.1).
        if claims.htm != request.method {
            return Err(DpopError::HtmMismatch);
        }
        // §4.3 item 9.
        let htu = htu::normalize(&claims.htu).map_err(DpopError::InvalidHtu)?;
        if htu != request.uri {
            return Err(DpopError::HtuMismatch);
        }
        // §4.3 item 11.
        let now = self.clock.now_unix();
        let iat = claims.iat;
        let iat_unsigned = u64::try_from(iat).map_err(|_| DpopError::IatTooOld)?;
        if iat_unsigned.saturating_add(self.max_age) < now {
            return Err(DpopError::IatTooOld);
        }
        if iat_unsigned > now.saturating_add(self.max_future) {
            return Err(DpopError::IatInFuture);
        }
        if claims.jti.is_empty() {
            return Err(DpopError::EmptyJti);
        }
        if claims.jti.chars().count() > self.max_jti_len {
            return Err(DpopError::JtiTooLong {
                max: self.max_jti_len,
            });
        }
        // §4.3 item 12 (ath) when a token is presented.
        if let Some(token) = request.access_token {
            let ath = claims.ath.as_deref().ok_or(DpopError::MissingAth)?;
            if !ath_matches(ath, token) {
                return Err(DpopError::AthMismatch);
            }
        }
        // §4.3 item 10, §8, §9.
        let refresh_nonce = match &self.nonce {
            None => false,
            Some(issuer) => match claims.nonce.as_deref() {
                None => return Err(DpopError::NonceRequired),
                Some(nonce) => match issuer.check(nonce) {
                    NonceStatus::Valid { refresh } => refresh,
                    _ => return Err(DpopError::NonceInvalid),
                },
            },
        };
        // §4.3 item 6 (and 7: the jwk was checked to be public when parsed).
        proof.verify_signature()?;

        let jkt = proof.jwk().thumbprint();
        let replay_key = ReplayKey::new(&jkt, &claims.jti);
        Ok(CheckedProof {
            replay_key,
            expires_at: iat_unsigned.saturating_add(self.max_age).saturating_add(1),
            refresh_nonce,
            verified: VerifiedDpop {
                jkt,
                alg,
                htm: claims.htm.clone(),
                htu,
                iat,
                jti: claims.jti.clone(),
                token_bound: request.access_token.is_some(),
            },
        })
    }
}

/// `ath` = base64url(SHA-256(ASCII access token)), compared in constant time.
pub fn ath_matches(ath: &str, access_token: &str) -> bool {
    let expected = access_token_hash(access_token);
    bool::from(expected.as_bytes().ct_eq(ath.as_bytes()))
}

/// The `ath` value for an access token (RFC 9449 §4.2).
pub fn access_token_hash(access_token: &str) -> String {
    b64::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        access_token.as_bytes(),
    ))
}

impl DpopVerifierBuilder {
    /// The accepted algorithms (default ES256, PS256, RS256).
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.0.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How old (seconds) and how far ahead (seconds) a proof's `iat` may be.
    #[must_use]
    pub fn iat_window(mut self, max_age_secs: u64, max_future_secs: u64) -> Self {
        self.0.max_age = max_age_secs;
        self.0.max_future = max_future_secs;
        self
    }

    /// Longest accepted `jti`, in characters.
    #[must_use]
    pub fn max_jti_len(mut self, len: usize) -> Self {
        self.0.max_jti_len = len;
        self
    }

    /// Largest accepted proof, in bytes.
    #[must_use]
    pub fn max_proof_bytes(mut self, bytes: usize) -> Self {
        self.0.max_proof_bytes = bytes;
        self
    }

    /// Require server nonces issued by `issuer`.
    #[must_use]
    pub fn nonce(mut self, issuer: Arc<NonceIssuer>) -> Self {
        self.0.nonce = Some(issuer);
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.0.clock = clock;
        self
    }

    /// Validates the settings.
    pub fn build(mut self) -> Result<DpopVerifier, ConfigError> {
        let mut seen = Vec::with_capacity(self.0.algorithms.len());
        self.0.algorithms.retain(|a| {
            let first = !seen.contains(a);
            seen.push(*a);
            first
        });
        if self.0.algorithms.is_empty() {
            return Err(ConfigError::new(
                "DPoP algorithms",
                "at least one algorithm is required",
            ));
        }
        if self.0.max_age == 0 || self.0.max_age > 3600 {
            return Err(ConfigError::new(
                "DPoP iat window",
                "max age must be 1 to 3600 seconds",
            ));
        }
        if self.0.max_future > 300 {
            return Err(ConfigError::new(
                "DPoP iat window",
                "max future skew must be at most 300 seconds",
            ));
        }
        if !(16..=1024).contains(&self.0.max_jti_len) {
            return Err(ConfigError::new(
                "DPoP max_jti_len",
                "must be 16 to 1024 characters",
            ));
        }
        if !(512..=65536).contains(&self.0.max_proof_bytes) {
            return Err(ConfigError::new(
                "DPoP max_proof_bytes",
                "must be 512 to 65536 bytes",
            ));
        }
        Ok(self.0)
    }
}

impl fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifier")
            .field("algorithms", &self.algorithms)
            .field("max_age", &self.max_age)
            .field("max_future", &self.max_future)
            .field("max_jti_len", &self.max_jti_len)
            .field("max_proof_bytes", &self.max_proof_bytes)
            .field("nonce", &self.nonce.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for DpopVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifierBuilder")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ath_example_from_rfc9449() {
        // RFC 9449 §7.1, figure 13: the access token and its ath.
        let token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU";
        assert_eq!(
            access_token_hash(token),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
        assert!(ath_matches(
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo",
            token
        ));
        assert!(!ath_matches(
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEp",
            token
        ));
        assert!(!ath_matches("", token));
    }

    #[test]
    fn builder_refuses_bad_settings() {
        assert!(DpopVerifier::builder().algorithms([]).build().is_err());
        assert!(DpopVerifier::builder().iat_window(0, 0).build().is_err());
        assert!(DpopVerifier::builder().iat_window(60, 301).build().is_err());
        assert!(DpopVerifier::builder().max_jti_len(1).build().is_err());
        assert!(DpopVerifier::builder().max_proof_bytes(1).build().is_err());
        assert!(DpopVerifier::builder().build().is_ok());
    }

    #[test]
    fn iat_window_limits_are_inclusive() {
        // The largest accepted settings: a max age of 3600 s, 300 s ahead.
        assert!(
            DpopVerifier::builder()
                .iat_window(3600, 300)
                .build()
                .is_ok()
        );
        // One second beyond either is refused.
        assert!(DpopVerifier::builder().iat_window(3601, 0).build().is_err());
        assert!(DpopVerifier::builder().iat_window(1, 301).build().is_err());
        // The smallest: 1 s old, none ahead.
        assert!(DpopVerifier::builder().iat_window(1, 0).build().is_ok());
    }

    #[test]
    fn debug_shows_settings_and_no_secret() {
        let secret = b"debug-test-nonce-secret-0123456789abcdef".to_vec();
        let issuer = std::sync::Arc::new(
            crate::dpop::NonceIssuer::builder(secret.clone())
                .build()
                .unwrap(),
        );
        let verifier = DpopVerifier::builder()
            .iat_window(120, 30)
            .max_jti_len(64)
            .nonce(issuer)
            .build()
            .unwrap();
        let debug = format!("{verifier:?}");
        for part in [
            "DpopVerifier {",
            "max_age: 120",
            "max_future: 30",
            "max_jti_len: 64",
            "nonce: true",
        ] {
            assert!(debug.contains(part), "{part} in {debug}");
        }
        assert!(!debug.contains(std::str::from_utf8(&secret).unwrap()));
        let plain = format!("{:?}", DpopVerifier::builder().build().unwrap());
        assert!(plain.contains("nonce: false"), "{plain}");
        assert_eq!(
            format!("{:?}", DpopVerifier::builder()),
            "DpopVerifierBuilder { .. }"
        );
    }
}
