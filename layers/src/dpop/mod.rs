//! DPoP (RFC 9449): proof parsing and verification, server nonces, and the
//! [`DpopLayer`] that puts them in front of a service.
//!
//! The checks of RFC 9449 §4.3 live in [`DpopVerifier::verify`]; each failure
//! is its own [`DpopError`] variant. Replay detection (§11.1) goes through a
//! [`ReplayCache`](crate::replay::ReplayCache); nonces (§8, §9) through a
//! [`NonceIssuer`].

mod error;
pub mod htu;
mod layer;
pub mod nonce;
mod proof;
mod target;
mod verifier;

pub use error::DpopError;
pub use layer::{DPOP, Dpop, DpopLayer, DpopLayerBuilder, DpopMode, ResponseFuture};
pub use nonce::{NonceIssuer, NonceIssuerBuilder, NonceStatus};
pub use proof::{DEFAULT_MAX_PROOF_BYTES, DpopProof, ProofClaims};
pub use target::RequestTarget;
pub use verifier::{
    CheckedProof, DEFAULT_MAX_AGE_SECS, DEFAULT_MAX_FUTURE_SECS, DEFAULT_MAX_JTI_LEN, DpopVerifier,
    DpopVerifierBuilder, RequestFacts, VerifiedDpop, access_token_hash, ath_matches,
};
