//! The JOSE pieces the layers share (RFC 7515, 7517, 7518, 7638): base64url,
//! signature algorithms, public JWKs, and thumbprints.
//!
//! Kept apart from `dpop/` because token validation (JWT access tokens, JWKS)
//! and the client signing layer use the same types.

pub mod alg;
pub mod b64;
pub mod jwk;

pub use alg::{AlgError, Algorithm};

/// Whether JSON text is an object: its first non-whitespace byte is `{`.
/// Serde's derived struct parsing also accepts arrays (fields in order);
/// JOSE headers, claims sets and JWKs must be objects (RFC 7515 §4,
/// RFC 7519 §7.2, RFC 7517 §4).
pub(crate) fn is_json_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}
pub use jwk::{EcPublicJwk, JwkError, PreparedKey, PublicJwk, RsaPublicJwk};
