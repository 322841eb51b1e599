//! What a validated access token says: [`AccessClaims`], and the
//! [`Principal`] handlers usually want.

use std::fmt;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::claim_set::ClaimSet;

/// The claims of a validated access token (RFC 9068 §2.2, RFC 7662 §2.2).
///
/// The registered claims are fields; every claim, as received, is behind
/// [`raw`](Self::raw). For a JWT access token the claims set is kept as its
/// JSON text ([`raw_json`](Self::raw_json)) and parsed into a map only when
/// [`raw`](Self::raw) is first called: the validator itself reads just the
/// claims it checks.
#[derive(Clone, Default)]
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
    raw: RawClaims,
}

/// Every claim: the JSON text of a JWT claims set, parsed on first use, or
/// a map given as such.
#[derive(Clone, Default)]
struct RawClaims {
    json: Option<String>,
    map: OnceLock<Map<String, Value>>,
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
            raw: RawClaims {
                json: None,
                map: OnceLock::from(raw),
            },
        }
    }

    /// The claims a JWT validator read and checked, with the claims set's
    /// JSON text, which it has checked parses as a JSON object.
    pub(crate) fn from_jwt(set: ClaimSet, json: String) -> Self {
        Self {
            subject: set.sub.valid(),
            client_id: set.client_id.valid(),
            // `scope` wins over `scp`, as in `from_claims`.
            scopes: set.scope.valid().unwrap_or(set.scp),
            audience: set.aud.valid().unwrap_or_default(),
            issuer: set.iss.valid(),
            expires_at: set.exp.valid(),
            cnf_jkt: set.cnf_jkt.valid(),
            raw: RawClaims {
                json: Some(json),
                map: OnceLock::new(),
            },
        }
    }

    /// Every claim, as received.
    ///
    /// For a JWT access token this parses the claims set's JSON text on the
    /// first call and keeps the map for later calls (validation only reads
    /// the registered claims, so a request that never asks pays nothing). The
    /// validator has already checked that the text is a JSON object whose
    /// strings and numbers all parse; should it not parse anyway, the map is
    /// empty. A member that appears twice has its last value, as in
    /// [`serde_json::Map`].
    pub fn raw(&self) -> &Map<String, Value> {
        self.raw.map.get_or_init(|| {
            self.raw
                .json
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok())
                .unwrap_or_default()
        })
    }

    /// The claims set as the JSON text it was signed as, for claims from a
    /// JWT access token (`None` for claims from introspection or API keys).
    /// Deserialize your own typed struct from it to read private claims
    /// without building a map.
    pub fn raw_json(&self) -> Option<&str> {
        self.raw.json.as_deref()
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

impl PartialEq for AccessClaims {
    fn eq(&self, other: &Self) -> bool {
        self.subject == other.subject
            && self.client_id == other.client_id
            && self.scopes == other.scopes
            && self.audience == other.audience
            && self.issuer == other.issuer
            && self.expires_at == other.expires_at
            && self.cnf_jkt == other.cnf_jkt
            && self.raw() == other.raw()
    }
}

impl fmt::Debug for AccessClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessClaims")
            .field("subject", &self.subject)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("expires_at", &self.expires_at)
            .field("cnf_jkt", &self.cnf_jkt)
            .field("raw", self.raw())
            .finish()
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
