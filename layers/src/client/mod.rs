//! Client-side DPoP: sign each outgoing request with a proof, remember the
//! server nonces, and retry once when a server asks for a fresh nonce.

mod proof;

pub use proof::{ProofRequest, sign_proof};
