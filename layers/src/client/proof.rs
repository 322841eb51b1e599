//! Building DPoP proofs (RFC 9449 §4.2) for outgoing requests.

use serde::Serialize;

use crate::dpop::access_token_hash;
use crate::jose::b64;
use crate::keys::{DpopKey, KeyError};

/// What one proof asserts.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// Target URI; query and fragment are removed before it becomes `htu`.
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
pub fn sign_proof(key: &DpopKey, request: &ProofRequest<'_>) -> Result<String, KeyError> {
    let mut jti = [0u8; 16];
    aws_lc_rs::rand::fill(&mut jti).map_err(|_| KeyError::Signing)?;
    let jti = b64::encode(jti);
    let ath = request.access_token.map(access_token_hash);
    let htu = request.url.split(['?', '#']).next().unwrap_or_default();
    let claims = Claims {
        jti: &jti,
        htm: request.method,
        htu,
        iat: request.iat,
        ath: ath.as_deref(),
        nonce: request.nonce,
    };
    let claims = serde_json::to_vec(&claims).map_err(|_| KeyError::Signing)?;
    key.sign_compact_encoded(key.proof_header_b64(), &claims)
}
