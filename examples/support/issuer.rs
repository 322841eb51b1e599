//! A stand-in authorization server for the examples: one ES256 key, its JWKS,
//! and RFC 9068 access tokens signed with it.

use mcp_tower::clock::{Clock, SystemClock};
use mcp_tower::jose::Algorithm;
use mcp_tower::keys::{DpopKey, KeyError};

/// Signs access tokens as `issuer`.
pub(crate) struct DemoIssuer {
    key: DpopKey,
    pub(crate) issuer: String,
}

impl DemoIssuer {
    pub(crate) fn new(issuer: &str) -> Result<Self, KeyError> {
        Ok(Self {
            key: DpopKey::generate(Algorithm::ES256)?,
            issuer: issuer.to_owned(),
        })
    }

    /// `{"keys":[...]}` with the public key, `kid` "demo-1".
    pub(crate) fn jwks(&self) -> String {
        let jwk = self.key.jwk().canonical_json();
        format!(
            r#"{{"keys":[{{"kid":"demo-1","alg":"ES256","use":"sig",{}]}}"#,
            &jwk[1..]
        )
    }

    /// An `at+jwt` access token for `audience`, valid for an hour; bound to
    /// the DPoP key `cnf_jkt` when given.
    pub(crate) fn mint(
        &self,
        subject: &str,
        audience: &str,
        scope: &str,
        cnf_jkt: Option<&str>,
    ) -> Result<String, KeyError> {
        let now = SystemClock.now_unix();
        let mut claims = serde_json::json!({
            "iss": self.issuer, "sub": subject, "aud": audience, "scope": scope,
            "client_id": "demo-client", "iat": now, "exp": now + 3600, "jti": format!("{subject}-{now}"),
        });
        if let Some(jkt) = cnf_jkt {
            claims["cnf"] = serde_json::json!({ "jkt": jkt });
        }
        self.key.sign_compact(
            br#"{"alg":"ES256","typ":"at+jwt","kid":"demo-1"}"#,
            claims.to_string().as_bytes(),
        )
    }
}
