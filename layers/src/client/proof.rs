//! Building DPoP proofs (RFC 9449 §4.2) for outgoing requests.

use std::borrow::Cow;

use serde::Serialize;

use crate::dpop::access_token_hash;
use crate::jose::b64;
use crate::keys::{DpopKey, KeyError};

/// What one proof asserts.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Target URI; query, fragment and any user information
    /// (`user:password@`) are removed before it becomes `htu`.
    pub url: &'a str,
    /// The access token sent with the request, for `ath`.
    pub access_token: Option<&'a str>,
    /// The server's nonce, if it asked for one.
    pub nonce: Option<&'a str>,
    /// Creation time, Unix seconds.
    pub iat: u64,
}

#[derive(Serialize)]
struct Claims<'a> {
    jti: &'a str,
    htm: &'a str,
    htu: &'a str,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

/// Signs a proof for `request` with `key`, with a fresh random `jti`
/// (128 bits).
///
/// The `htu` claim is `request.url` without query and fragment (RFC 9449
/// §4.2) and without user information: a proof is sent in a header servers
/// log, and credentials in a URL must not travel with it.
pub fn sign_proof(key: &DpopKey, request: &ProofRequest<'_>) -> Result<String, KeyError> {
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).map_err(|_| KeyError::Signing)?;
    let jti = b64::encode(jti);
    let ath = request.access_token.map(access_token_hash);
    let htu = htu_of(request.url);
    let claims = Claims {
        jti: &jti,
        htm: request.method,
        htu: &htu,
        iat: request.iat,
        ath: ath.as_deref(),
        nonce: request.nonce,
    };
    let claims = serde_json::to_vec(&claims).map_err(|_| KeyError::Signing)?;
    key.sign_compact_encoded(key.proof_header_b64(), &claims)
}

/// `url` without query, fragment and user information: the `htu` of a proof
/// (RFC 9449 §4.2; RFC 3986 §3.2.1 user information is never sent along).
pub(crate) fn htu_of(url: &str) -> Cow<'_, str> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match split_url(url) {
        Some(parts) if parts.had_userinfo => {
            Cow::Owned(format!("{}{}{}", parts.scheme, parts.host, parts.rest))
        }
        _ => Cow::Borrowed(url),
    }
}

/// An absolute URL split around its authority, as [`split_url`] finds it.
pub(crate) struct UrlParts<'a> {
    /// `scheme://`.
    pub(crate) scheme: &'a str,
    /// `host[:port]`, without user information.
    pub(crate) host: &'a str,
    /// Path, query and fragment.
    pub(crate) rest: &'a str,
    /// Whether user information preceded the host.
    pub(crate) had_userinfo: bool,
}

/// Splits an absolute URL around its authority; `None` without `://`. The
/// authority ends at the first `/`, `?` or `#` after `://` (RFC 3986 §3.2),
/// and user information at its last `@`.
pub(crate) fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let authority_start = url.find("://")? + 3;
    let after = &url[authority_start..];
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = &after[..end];
    let at = authority.rfind('@');
    Some(UrlParts {
        scheme: &url[..authority_start],
        host: at.map_or(authority, |at| &authority[at + 1..]),
        rest: &after[end..],
        had_userinfo: at.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::Algorithm;

    #[test]
    fn htu_has_no_userinfo_query_or_fragment() {
        assert_eq!(htu_of("https://h/a?q#f"), "https://h/a");
        assert_eq!(htu_of("https://user:pass@h:8443/a?q"), "https://h:8443/a");
        assert_eq!(htu_of("https://user@h"), "https://h");
        assert_eq!(htu_of("https://a@b:c@h/x"), "https://h/x");
        // An `@` in the path, query or fragment is not user information.
        assert_eq!(htu_of("https://h/a@b"), "https://h/a@b");
        assert_eq!(htu_of("https://h?x@y"), "https://h");
        assert_eq!(htu_of("https://h#x@y"), "https://h");
        assert!(matches!(htu_of("https://h/a"), Cow::Borrowed(_)));
    }

    #[test]
    fn signed_proof_htu_has_no_userinfo() {
        let key = DpopKey::generate(Algorithm::ES256).unwrap();
        let proof = sign_proof(
            &key,
            &ProofRequest {
                method: "POST",
                url: "https://alice:s3cret@mcp.example.com/mcp?x=1",
                access_token: None,
                nonce: None,
                iat: 1_700_000_000,
            },
        )
        .unwrap();
        let payload = b64::decode(proof.split('.').nth(1).unwrap()).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(claims["htu"], "https://mcp.example.com/mcp");
        let payload = String::from_utf8(payload).unwrap();
        assert!(!payload.contains("alice") && !payload.contains("s3cret"));
    }
}
