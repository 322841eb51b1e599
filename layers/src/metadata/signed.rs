//! `signed_metadata` (RFC 9728 §2.2): the members as the claims of a compact
//! JWS (RFC 7515 §7.1), with an `iss` claim naming the attesting party.

use serde::Serialize;

use super::document::Members;
use crate::config::ConfigError;
use crate::keys::DpopKey;

/// The protected header: `alg` of the key, `typ` `JWT` (RFC 7519 §5.1), and
/// an optional `kid`.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// The claims: `iss`, then the metadata members (RFC 9728 §2.2).
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    #[serde(flatten)]
    members: &'a Members,
}

/// Signs `members` with `key` as a compact JWT.
pub(super) fn sign(
    members: &Members,
    key: &DpopKey,
    issuer: &str,
    kid: Option<&str>,
) -> Result<String, ConfigError> {
    let refuse = |problem: String| ConfigError::new("signed_metadata", problem);
    let header = serde_json::to_vec(&Header {
        alg: key.alg().as_str(),
        typ: "JWT",
        kid,
    })
    .map_err(|e| refuse(format!("cannot serialize the JWS header: {e}")))?;
    let claims = serde_json::to_vec(&Claims {
        iss: issuer,
        members,
    })
    .map_err(|e| refuse(format!("cannot serialize the claims: {e}")))?;

    key.sign_compact(&header, &claims)
        .map_err(|e| refuse(format!("signing failed: {e}")))
}
