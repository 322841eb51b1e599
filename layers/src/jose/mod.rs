//! The JOSE pieces the layers share (RFC 7515, 7517, 7518, 7638): base64url,
//! signature algorithms, public JWKs, and thumbprints.
//!
//! Kept apart from `dpop/` because token validation (JWT access tokens, JWKS)
//! and the client signing layer use the same types.

pub mod alg;
pub mod b64;
pub mod jwk;

pub use alg::{AlgError, Algorithm};

/// The three parts of a JWS in compact form (RFC 7515 §7.1): header,
/// payload and signature, still base64url; `None` unless there are exactly
/// two dots. The dots are found with `memchr` (vector instructions), as
/// tokens and proofs are split on every request.
pub(crate) fn compact_parts(compact: &str) -> Option<(&str, &str, &str)> {
    let mut dots = memchr::memchr_iter(b'.', compact.as_bytes());
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        return None;
    };
    // Dots are ASCII, so each split falls on a character boundary.
    let (header, rest) = compact.split_at_checked(first)?;
    let (payload, signature) = rest.get(1..)?.split_at_checked(second - first - 1)?;
    Some((header, payload, signature.get(1..)?))
}

/// Whether JSON text is an object: its first non-whitespace byte is `{`.
/// Serde's derived struct parsing also accepts arrays (fields in order);
/// JOSE headers, claims sets and JWKs must be objects (RFC 7515 §4,
/// RFC 7519 §7.2, RFC 7517 §4).
pub(crate) fn is_json_object(json: &[u8]) -> bool {
    json.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}
pub use jwk::{EcPublicJwk, JwkError, PreparedKey, PublicJwk, RsaPublicJwk};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_compact_serializations_in_three() {
        assert_eq!(compact_parts("a.b.c"), Some(("a", "b", "c")));
        assert_eq!(compact_parts(".."), Some(("", "", "")));
        assert_eq!(compact_parts("é.ü.ß"), Some(("é", "ü", "ß")));
        for bad in ["", "a", "a.b", "a.b.c.d", "a..b.c", "...."] {
            assert_eq!(compact_parts(bad), None, "{bad}");
        }
    }
}
