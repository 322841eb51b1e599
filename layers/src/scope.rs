//! [`RequireScopesLayer`]: 403 `insufficient_scope` unless the token grants
//! the scopes a route needs (RFC 6750 §3.1), with `scope="..."` in the
//! challenge so MCP clients can ask the user for more (step-up).

use http::Request;

use crate::challenge::{ChallengeConfig, ErrorCode, Rejection};
use crate::check::{CheckLayer, Checked, RequestCheck};
use crate::token::AccessClaims;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    AllOf,
    AnyOf,
}

/// What [`RequireScopesLayer`] checks: the scopes of [`AccessClaims`].
#[derive(Debug)]
pub struct ScopeCheck {
    scopes: Vec<String>,
    rule: Rule,
    joined: String,
    challenges: ChallengeConfig,
}

/// A [`Layer`](tower_layer::Layer) requiring scopes of the validated token. Place it after
/// [`ValidateTokenLayer`](crate::token::ValidateTokenLayer); without its
/// [`AccessClaims`] the request is refused (401) and an error is logged.
pub type RequireScopesLayer = CheckLayer<ScopeCheck>;

/// The service made by [`RequireScopesLayer`].
pub type RequireScopes<S> = Checked<S, ScopeCheck>;

impl RequireScopesLayer {
    /// Every one of `scopes` is required.
    pub fn all_of<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Self {
        Self::new(scopes, Rule::AllOf)
    }

    /// At least one of `scopes` is required.
    pub fn any_of<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I) -> Self {
        Self::new(scopes, Rule::AnyOf)
    }

    fn new<I: IntoIterator<Item = S>, S: Into<String>>(scopes: I, rule: Rule) -> Self {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        Self::from_check(ScopeCheck {
            joined: scopes.join(" "),
            scopes,
            rule,
            challenges: ChallengeConfig::new(),
        })
    }

    /// How rejections introduce the resource.
    #[must_use]
    pub fn with_challenges(self, challenges: ChallengeConfig) -> Self {
        Self::from_check(ScopeCheck {
            scopes: self.check.scopes.clone(),
            rule: self.check.rule,
            joined: self.check.joined.clone(),
            challenges,
        })
    }
}

impl ScopeCheck {
    fn allows(&self, claims: &AccessClaims) -> bool {
        match self.rule {
            Rule::AllOf => self.scopes.iter().all(|s| claims.has_scope(s)),
            Rule::AnyOf => self.scopes.iter().any(|s| claims.has_scope(s)),
        }
    }

    fn check_claims(&self, claims: Option<&AccessClaims>) -> Result<(), Rejection> {
        let Some(claims) = claims else {
            tracing::error!(target: "mcp_tower::scope", "no AccessClaims extension: put ValidateTokenLayer before RequireScopesLayer; refusing the request");
            return Err(self.challenges.apply(Rejection::unauthorized(
                Some(ErrorCode::InvalidToken),
                "the access token was not validated",
            )));
        };
        if self.allows(claims) {
            return Ok(());
        }
        tracing::info!(target: "mcp_tower::scope", required = %self.joined, subject = claims.subject(), "insufficient scope");
        let description = match self.rule {
            Rule::AllOf => "the access token lacks a required scope",
            Rule::AnyOf => "the access token has none of the accepted scopes",
        };
        Err(self
            .challenges
            .challenges(Some(&self.joined))
            .into_iter()
            .fold(Rejection::forbidden(description), Rejection::challenge))
    }
}

impl RequestCheck for ScopeCheck {
    fn check<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        let span = tracing::debug_span!(target: "mcp_tower::scope", "require_scopes");
        let _entered = span.enter();
        self.check_claims(request.extensions().get::<AccessClaims>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(scopes: &[&str]) -> AccessClaims {
        let mut map = serde_json::Map::new();
        map.insert("scope".into(), scopes.join(" ").into());
        AccessClaims::from_claims(map)
    }

    #[test]
    fn all_of_and_any_of() {
        let all = RequireScopesLayer::all_of(["a", "b"]);
        assert!(
            all.check
                .check_claims(Some(&claims(&["a", "b", "c"])))
                .is_ok()
        );
        let refused = all
            .check
            .check_claims(Some(&claims(&["a"])))
            .unwrap_err()
            .into_response();
        assert_eq!(refused.status(), http::StatusCode::FORBIDDEN);
        assert_eq!(
            refused.headers()[http::header::WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope", error_description="the access token lacks a required scope", scope="a b""#
        );
        let any = RequireScopesLayer::any_of(["a", "b"]);
        assert!(any.check.check_claims(Some(&claims(&["b"]))).is_ok());
        assert!(any.check.check_claims(Some(&claims(&["c"]))).is_err());
        assert_eq!(
            any.check.check_claims(None).unwrap_err().status(),
            http::StatusCode::UNAUTHORIZED
        );
    }
}
