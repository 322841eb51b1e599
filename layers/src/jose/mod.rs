//! The JOSE pieces the layers share (RFC 7515, 7517, 7518, 7638): base64url,
//! signature algorithms, public JWKs, and thumbprints.
//!
//! Kept apart from `dpop/` because token validation (JWT access tokens, JWKS)
//! and the client signing layer use the same types.

pub mod alg;
pub mod b64;
pub mod jwk;

pub use alg::{AlgError, Algorithm};
pub use jwk::{EcPublicJwk, JwkError, PublicJwk, RsaPublicJwk};
