//! [`MultiIssuerValidator`]: several validators side by side, one per
//! trusted issuer, chosen by the token's `iss` before anything is verified.
//!
//! A JWT (RFC 7519, JWS compact serialization: three base64url segments
//! whose first decodes to a JSON object) is routed by the `iss` of its
//! payload, read *without* trusting it: the payload only has to be a
//! base64url-encoded JSON object with a string `iss`. The chosen validator
//! then verifies everything, the signature and `iss` included, so a forged
//! `iss` can only pick a validator that will refuse the token. As a second
//! guard, claims whose `iss` differs from the one routed on are refused.
//!
//! - An `iss` no validator is configured for: [`TokenError::WrongIssuer`].
//! - A JWT-shaped token whose payload is not a JSON object, or has no string
//!   `iss`: [`TokenError::Malformed`] / [`TokenError::InvalidClaim`].
//! - Anything else (opaque tokens, API keys, JWE): the fallback validator
//!   (e.g. introspection, API keys) when one is configured, else
//!   [`TokenError::Malformed`].
//!
//! The router keeps no state of its own.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::ConfigError;
use crate::jose::b64;

use super::validator::{TokenError, TokenValidator, ValidationFuture};

/// Longest token the router decodes; longer ones are malformed.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Longest `iss` written to logs.
const MAX_LOGGED_ISSUER: usize = 128;

type Shared = Arc<dyn TokenValidator>;

/// A [`TokenValidator`] routing tokens by issuer; see the
/// [module docs](self). Cheap to clone.
#[derive(Clone)]
pub struct MultiIssuerValidator {
    issuers: Arc<HashMap<String, Shared>>,
    fallback: Option<Shared>,
}

/// Builder for [`MultiIssuerValidator`].
pub struct MultiIssuerValidatorBuilder {
    issuers: Vec<(String, Shared)>,
    fallback: Option<Shared>,
}

impl MultiIssuerValidator {
    /// A builder with no issuers.
    pub fn builder() -> MultiIssuerValidatorBuilder {
        MultiIssuerValidatorBuilder {
            issuers: Vec::new(),
            fallback: None,
        }
    }
}

impl MultiIssuerValidatorBuilder {
    /// Validates JWTs whose `iss` is exactly `issuer` with `validator`, which
    /// must itself check the signature and the issuer.
    #[must_use]
    pub fn issuer(mut self, issuer: impl Into<String>, validator: impl TokenValidator) -> Self {
        self.issuers.push((issuer.into(), Arc::new(validator)));
        self
    }

    /// Validates tokens that are not JWTs (opaque tokens, API keys) with
    /// `validator`. Without one they are refused as malformed.
    #[must_use]
    pub fn fallback(mut self, validator: impl TokenValidator) -> Self {
        self.fallback = Some(Arc::new(validator));
        self
    }

    /// Checks the configuration and builds the router.
    pub fn build(self) -> Result<MultiIssuerValidator, ConfigError> {
        const SETTING: &str = "multi-issuer validator";
        if self.issuers.is_empty() && self.fallback.is_none() {
            return Err(ConfigError::new(
                SETTING,
                "no issuer and no fallback validator is configured",
            ));
        }
        let mut issuers = HashMap::with_capacity(self.issuers.len());
        for (issuer, validator) in self.issuers {
            if issuer.is_empty() {
                return Err(ConfigError::new(SETTING, "an issuer must not be empty"));
            }
            if issuers.contains_key(&issuer) {
                return Err(ConfigError::new(
                    SETTING,
                    format!("issuer {issuer:?} is configured twice"),
                ));
            }
            issuers.insert(issuer, validator);
        }
        Ok(MultiIssuerValidator {
            issuers: Arc::new(issuers),
            fallback: self.fallback,
        })
    }
}

/// Where a token goes.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// A JWT claiming this issuer.
    Issuer(String),
    /// Not a JWT.
    Opaque,
}

/// Decodes a base64url segment into a JSON object, if it is one.
fn json_object(segment: &str) -> Option<Map<String, Value>> {
    let bytes = b64::decode(segment).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Reads where `token` should go, trusting nothing in it.
fn route(token: &str) -> Result<Route, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed("the access token is too large"));
    }
    let mut segments = token.split('.');
    // RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.' signature.
    let (Some(header), Some(payload), Some(_), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Ok(Route::Opaque);
    };
    // RFC 7515 §4: the JOSE header is a JSON object. A dotted token without
    // one is opaque.
    if json_object(header).is_none() {
        return Ok(Route::Opaque);
    }
    let claims = json_object(payload).ok_or(TokenError::Malformed(
        "the JWT payload is not a base64url-encoded JSON object",
    ))?;
    match claims.get("iss") {
        Some(Value::String(issuer)) => Ok(Route::Issuer(issuer.clone())),
        _ => Err(TokenError::InvalidClaim("iss")),
    }
}

fn refuse(error: TokenError) -> ValidationFuture {
    Box::pin(std::future::ready(Err(error)))
}

impl TokenValidator for MultiIssuerValidator {
    fn validate(&self, token: &str) -> ValidationFuture {
        let issuer = match route(token) {
            Ok(Route::Issuer(issuer)) => issuer,
            Ok(Route::Opaque) => {
                return match &self.fallback {
                    Some(fallback) => fallback.validate(token),
                    None => refuse(TokenError::Malformed(
                        "not a JWT, and no validator for other tokens is configured",
                    )),
                };
            }
            Err(error) => return refuse(error),
        };
        let Some(validator) = self.issuers.get(&issuer) else {
            let shown: String = issuer.chars().take(MAX_LOGGED_ISSUER).collect();
            tracing::info!(target: "mcp_tower::token", reason = "unknown_issuer", issuer = ?shown, "access token from an issuer that is not trusted");
            return refuse(TokenError::WrongIssuer);
        };
        let validation = validator.validate(token);
        Box::pin(async move {
            let claims = validation.await?;
            // The validator chosen for `issuer` vouched for another one.
            if claims.issuer().is_some_and(|i| i != issuer) {
                tracing::error!(target: "mcp_tower::token", reason = "issuer_mismatch", "the validator for an issuer accepted a token naming another issuer; refusing it");
                return Err(TokenError::WrongIssuer);
            }
            Ok(claims)
        })
    }
}

impl fmt::Debug for MultiIssuerValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut issuers: Vec<&String> = self.issuers.keys().collect();
        issuers.sort();
        f.debug_struct("MultiIssuerValidator")
            .field("issuers", &issuers)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl fmt::Debug for MultiIssuerValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let issuers: Vec<&String> = self.issuers.iter().map(|(i, _)| i).collect();
        f.debug_struct("MultiIssuerValidatorBuilder")
            .field("issuers", &issuers)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::b64::encode;
    use crate::token::AccessClaims;

    fn jwt(payload: &str) -> String {
        format!(
            "{}.{}.c2ln",
            encode(r#"{"alg":"ES256","typ":"at+jwt"}"#),
            encode(payload)
        )
    }

    /// Accepts everything, claiming `issuer`.
    struct Named(Option<&'static str>);

    impl TokenValidator for Named {
        fn validate(&self, _token: &str) -> ValidationFuture {
            let mut raw = Map::new();
            if let Some(iss) = self.0 {
                raw.insert("iss".into(), iss.into());
            }
            Box::pin(std::future::ready(Ok(AccessClaims::from_claims(raw))))
        }
    }

    #[test]
    fn routes_jwts_by_iss_and_everything_else_to_opaque() {
        assert_eq!(
            route(&jwt(r#"{"iss":"https://as1","sub":"a"}"#)),
            Ok(Route::Issuer("https://as1".into()))
        );
        assert_eq!(route("opaque-token"), Ok(Route::Opaque));
        assert_eq!(route("a.b.c"), Ok(Route::Opaque));
        assert_eq!(route("a.b.c.d.e"), Ok(Route::Opaque));
        assert_eq!(route(""), Ok(Route::Opaque));
        // A JSON array as header is not a JOSE header.
        assert_eq!(
            route(&format!("{}.{}.s", encode("[]"), encode(r#"{"iss":"x"}"#))),
            Ok(Route::Opaque)
        );
    }

    #[test]
    fn refuses_jwts_without_a_readable_iss() {
        for payload in [r#"["iss"]"#, r#""https://as1""#, "not json", "{"] {
            assert!(
                matches!(route(&jwt(payload)), Err(TokenError::Malformed(_))),
                "{payload}"
            );
        }
        let bad_b64 = format!("{}.!!!.s", encode("{}"));
        assert!(matches!(route(&bad_b64), Err(TokenError::Malformed(_))));
        assert_eq!(
            route(&jwt(r#"{"iss":1}"#)),
            Err(TokenError::InvalidClaim("iss"))
        );
        assert_eq!(route(&jwt("{}")), Err(TokenError::InvalidClaim("iss")));
        let huge = jwt(&format!(r#"{{"iss":"{}"}}"#, "x".repeat(MAX_TOKEN_BYTES)));
        assert!(matches!(route(&huge), Err(TokenError::Malformed(_))));
    }

    #[tokio::test]
    async fn refuses_claims_naming_another_issuer() {
        let v = MultiIssuerValidator::builder()
            .issuer("https://as1", Named(Some("https://as2")))
            .issuer("https://as3", Named(None))
            .build()
            .unwrap();
        assert_eq!(
            v.validate(&jwt(r#"{"iss":"https://as1"}"#)).await,
            Err(TokenError::WrongIssuer)
        );
        assert!(v.validate(&jwt(r#"{"iss":"https://as3"}"#)).await.is_ok());
    }

    #[test]
    fn configuration_is_checked() {
        assert!(MultiIssuerValidator::builder().build().is_err());
        assert!(
            MultiIssuerValidator::builder()
                .issuer("", Named(None))
                .build()
                .is_err()
        );
        assert!(
            MultiIssuerValidator::builder()
                .issuer("a", Named(None))
                .issuer("a", Named(None))
                .build()
                .is_err()
        );
        let v = MultiIssuerValidator::builder()
            .issuer("https://b", Named(None))
            .issuer("https://a", Named(None))
            .build()
            .unwrap();
        assert_eq!(
            format!("{v:?}"),
            r#"MultiIssuerValidator { issuers: ["https://a", "https://b"], fallback: false }"#
        );
    }
}
