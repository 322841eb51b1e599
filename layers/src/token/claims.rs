//! What a validated access token says: [`AccessClaims`], and the
//! [`Principal`] handlers usually want.

use serde_json::{Map, Value};

/// The claims of a validated access token (RFC 9068 §2.2, RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct AccessClaims {
    /// `sub`: the resource owner or client the token is about.
    pub subject: Option<String>,
    /// `client_id`: the client the token was issued to.
    pub client_id: Option<String>,
    /// Scopes from `scope` (space-separated) or `scp` (array).
    pub scopes: Vec<String>,
    /// `aud`, as a list.
    pub audience: Vec<String>,
    /// `iss`.
    pub issuer: Option<String>,
    /// `exp`, Unix seconds.
    pub expires_at: Option<u64>,
    /// `cnf.jkt`: the thumbprint of the DPoP key the token is bound to
    /// (RFC 9449 §6).
    pub cnf_jkt: Option<String>,
    /// Every claim, as received.
    pub raw: Map<String, Value>,
}

impl AccessClaims {
    /// Reads the registered claims out of a JSON claims set. Members of the
    /// wrong type are ignored here; validators check what they require.
    pub fn from_claims(raw: Map<String, Value>) -> Self {
        let string = |name: &str| raw.get(name).and_then(Value::as_str).map(str::to_owned);
        let scopes = match (raw.get("scope"), raw.get("scp")) {
            (Some(Value::String(s)), _) => s
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            (_, Some(Value::Array(items))) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            (_, Some(Value::String(s))) => s
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let audience = match raw.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let cnf_jkt = raw
            .get("cnf")
            .and_then(|c| c.get("jkt"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Self {
            subject: string("sub"),
            client_id: string("client_id"),
            scopes,
            audience,
            issuer: string("iss"),
            expires_at: raw.get("exp").and_then(Value::as_u64),
            cnf_jkt,
            raw,
        }
    }

    /// Whether the token carries `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// The identity handlers see.
    pub fn principal(&self) -> Principal {
        Principal {
            subject: self
                .subject
                .clone()
                .or_else(|| self.client_id.clone())
                .unwrap_or_default(),
            client_id: self.client_id.clone(),
            issuer: self.issuer.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

/// Who is calling: inserted beside [`AccessClaims`] by the token validation
/// layer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Principal {
    /// `sub`, or the client id for client-credentials tokens without one.
    pub subject: String,
    /// The OAuth client.
    pub client_id: Option<String>,
    /// The issuer that vouched for it.
    pub issuer: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> AccessClaims {
        let Value::Object(map) = json else {
            unreachable!()
        };
        AccessClaims::from_claims(map)
    }

    #[test]
    fn reads_registered_claims() {
        let c = claims(serde_json::json!({
            "sub": "alice", "client_id": "app", "scope": "read  write", "aud": "https://r",
            "iss": "https://as", "exp": 1_700_000_000u64, "cnf": {"jkt": "abc"}
        }));
        assert_eq!(c.subject.as_deref(), Some("alice"));
        assert_eq!(c.scopes, ["read", "write"]);
        assert_eq!(c.audience, ["https://r"]);
        assert_eq!(c.cnf_jkt.as_deref(), Some("abc"));
        assert!(c.has_scope("write"));
        assert_eq!(c.principal().subject, "alice");
    }

    #[test]
    fn reads_scp_arrays_and_audience_lists() {
        let c =
            claims(serde_json::json!({"scp": ["a", "b"], "aud": ["x", "y"], "client_id": "svc"}));
        assert_eq!(c.scopes, ["a", "b"]);
        assert_eq!(c.audience, ["x", "y"]);
        assert_eq!(c.principal().subject, "svc");
    }
}
