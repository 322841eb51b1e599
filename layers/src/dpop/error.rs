//! Why a request's DPoP proof was refused: one variant per RFC 9449 §4.3 check.

use crate::jose::AlgError;
use crate::jose::Algorithm;
use crate::jose::jwk::{JwkError, SignatureError};

use super::htu::HtuError;

/// A DPoP proof check that failed. Messages say what was wrong and what was
/// expected, and never contain the proof, the token or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// No `DPoP` header (§4.3 item 1).
    #[error("missing DPoP proof: send exactly one DPoP header")]
    MissingProof,
    /// More than one `DPoP` header (§4.3 item 1).
    #[error("more than one DPoP header: send exactly one")]
    MultipleProofs,
    /// The header value is not visible ASCII.
    #[error("DPoP header is not a visible ASCII string")]
    HeaderNotAscii,
    /// Larger than the configured cap; refused before any decoding.
    #[error("DPoP proof is {len} bytes, more than the {max} allowed")]
    ProofTooLarge {
        /// Size of the proof.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// Not a compact JWS of three base64url parts with JSON objects (§4.3 item 2).
    #[error("DPoP proof is not a well-formed JWT: {0}")]
    Malformed(&'static str),
    /// `typ` is not `dpop+jwt` (§4.3 item 4).
    #[error("DPoP proof typ must be \"dpop+jwt\"")]
    InvalidType,
    /// `alg` missing (§4.3 item 3).
    #[error("DPoP proof header has no alg")]
    MissingAlg,
    /// `alg` is `none`, HMAC or unknown (§4.3 item 5).
    #[error("DPoP proof alg refused: {0}")]
    Alg(AlgError),
    /// A supported algorithm this server does not accept (§4.3 item 5).
    #[error("DPoP proof alg {0} is not in the server's allowlist")]
    AlgNotAllowed(Algorithm),
    /// The `jwk` header is missing (§4.3 item 3).
    #[error("DPoP proof header has no jwk")]
    MissingJwk,
    /// The `jwk` header is not an acceptable public key (§4.3 item 7).
    #[error("DPoP proof jwk refused: {0}")]
    InvalidJwk(JwkError),
    /// A `crit` header names extensions we do not understand (RFC 7515 §4.1.11).
    #[error("DPoP proof has a crit header; no JWS extensions are supported")]
    CriticalHeader,
    /// `alg` does not fit the type of `jwk` (e.g. ES256 with an RSA key).
    #[error("DPoP proof alg does not match its jwk key type")]
    AlgKeyMismatch,
    /// The signature does not verify with `jwk` (§4.3 item 6).
    #[error("DPoP proof signature is invalid")]
    InvalidSignature,
    /// A required claim is missing or has the wrong JSON type (§4.3 item 3).
    #[error("DPoP proof claim \"{0}\" is missing or has the wrong type")]
    InvalidClaim(&'static str),
    /// `htm` differs from the request method (§4.3 item 8).
    #[error("DPoP proof htm does not match the request method")]
    HtmMismatch,
    /// `htu` is not a valid http(s) URI (§4.3 item 9).
    #[error("DPoP proof htu is invalid: {0}")]
    InvalidHtu(HtuError),
    /// `htu` differs from the request URI after normalization (§4.3 item 9).
    #[error("DPoP proof htu does not match the request URI")]
    HtuMismatch,
    /// `iat` older than the accepted window (§4.3 item 11).
    #[error("DPoP proof iat is too old")]
    IatTooOld,
    /// `iat` further in the future than allowed (§4.3 item 11).
    #[error("DPoP proof iat is in the future")]
    IatInFuture,
    /// `jti` longer than allowed.
    #[error("DPoP proof jti is longer than {max} characters")]
    JtiTooLong {
        /// Configured maximum.
        max: usize,
    },
    /// `jti` empty.
    #[error("DPoP proof jti is empty")]
    EmptyJti,
    /// A proof with this key and `jti` was already used (§11.1).
    #[error("DPoP proof was already used (jti replay)")]
    Replayed,
    /// An access token was presented but the proof has no `ath` (§4.3 item 12).
    #[error("DPoP proof has no ath although an access token was presented")]
    MissingAth,
    /// `ath` is not the hash of the presented access token (§4.3 item 12).
    #[error("DPoP proof ath does not match the access token")]
    AthMismatch,
    /// The server requires a nonce and the proof has none (§8, §9).
    #[error("DPoP proof must carry the server-provided nonce")]
    NonceRequired,
    /// The nonce is not one this server issued, or it expired (§8, §9).
    #[error("DPoP proof nonce is invalid or expired; use the new nonce")]
    NonceInvalid,
    /// The request URI could not be determined (no usable `Host`).
    #[error("cannot determine the request URI to check htu")]
    UnknownRequestUri,
}

impl From<JwkError> for DpopError {
    fn from(e: JwkError) -> Self {
        DpopError::InvalidJwk(e)
    }
}

impl From<SignatureError> for DpopError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::AlgKeyMismatch => DpopError::AlgKeyMismatch,
            _ => DpopError::InvalidSignature,
        }
    }
}

impl DpopError {
    /// Whether the client should retry with a fresh nonce (`use_dpop_nonce`).
    pub fn is_nonce_error(&self) -> bool {
        matches!(self, DpopError::NonceRequired | DpopError::NonceInvalid)
    }

    /// A short stable name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            DpopError::MissingProof => "missing_proof",
            DpopError::MultipleProofs => "multiple_proofs",
            DpopError::HeaderNotAscii => "header_not_ascii",
            DpopError::ProofTooLarge { .. } => "proof_too_large",
            DpopError::Malformed(_) => "malformed",
            DpopError::InvalidType => "invalid_typ",
            DpopError::MissingAlg => "missing_alg",
            DpopError::Alg(_) => "alg_refused",
            DpopError::AlgNotAllowed(_) => "alg_not_allowed",
            DpopError::MissingJwk => "missing_jwk",
            DpopError::InvalidJwk(_) => "invalid_jwk",
            DpopError::CriticalHeader => "crit_header",
            DpopError::AlgKeyMismatch => "alg_key_mismatch",
            DpopError::InvalidSignature => "invalid_signature",
            DpopError::InvalidClaim(_) => "invalid_claim",
            DpopError::HtmMismatch => "htm_mismatch",
            DpopError::InvalidHtu(_) => "invalid_htu",
            DpopError::HtuMismatch => "htu_mismatch",
            DpopError::IatTooOld => "iat_too_old",
            DpopError::IatInFuture => "iat_in_future",
            DpopError::JtiTooLong { .. } => "jti_too_long",
            DpopError::EmptyJti => "empty_jti",
            DpopError::Replayed => "replayed",
            DpopError::MissingAth => "missing_ath",
            DpopError::AthMismatch => "ath_mismatch",
            DpopError::NonceRequired => "nonce_required",
            DpopError::NonceInvalid => "nonce_invalid",
            DpopError::UnknownRequestUri => "unknown_request_uri",
        }
    }
}
