//! [`RequireScopesLayer`]: 403 `insufficient_scope` unless the token grants
//! the scopes a route needs (RFC 6750 §3.1), with `scope="..."` in the
//! challenge so MCP clients can ask the user for more (step-up).

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::challenge::{ChallengeConfig, ErrorCode, Rejection, ResponseBody, ResponseFuture};
use crate::token::AccessClaims;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    AllOf,
    AnyOf,
}

#[derive(Debug)]
struct Shared {
    scopes: Vec<String>,
    rule: Rule,
    joined: String,
    challenges: ChallengeConfig,
}

/// A [`Layer`] requiring scopes of the validated token. Place it after
/// [`ValidateTokenLayer`](crate::token::ValidateTokenLayer); without its
/// [`AccessClaims`] the request is refused (401) and an error is logged.
#[derive(Debug, Clone)]
pub struct RequireScopesLayer {
    shared: Arc<Shared>,
}

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
        Self {
            shared: Arc::new(Shared {
                joined: scopes.join(" "),
                scopes,
                rule,
                challenges: ChallengeConfig::new(),
            }),
        }
    }

    /// How rejections introduce the resource.
    #[must_use]
    pub fn with_challenges(self, challenges: ChallengeConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                scopes: self.shared.scopes.clone(),
                rule: self.shared.rule,
                joined: self.shared.joined.clone(),
                challenges,
            }),
        }
    }
}

impl Shared {
    fn allows(&self, claims: &AccessClaims) -> bool {
        match self.rule {
            Rule::AllOf => self.scopes.iter().all(|s| claims.has_scope(s)),
            Rule::AnyOf => self.scopes.iter().any(|s| claims.has_scope(s)),
        }
    }

    fn check(&self, claims: Option<&AccessClaims>) -> Result<(), Rejection> {
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
        tracing::info!(target: "mcp_tower::scope", required = %self.joined, subject = claims.subject.as_deref(), "insufficient scope");
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

impl<S> Layer<S> for RequireScopesLayer {
    type Service = RequireScopes<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopes {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service made by [`RequireScopesLayer`].
#[derive(Debug, Clone)]
pub struct RequireScopes<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScopes<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let span = tracing::debug_span!(target: "mcp_tower::scope", "require_scopes");
        let _entered = span.enter();
        match self
            .shared
            .check(request.extensions().get::<AccessClaims>())
        {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(rejection) => ResponseFuture::reject(rejection),
        }
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
        assert!(all.shared.check(Some(&claims(&["a", "b", "c"]))).is_ok());
        let refused = all
            .shared
            .check(Some(&claims(&["a"])))
            .unwrap_err()
            .into_response();
        assert_eq!(refused.status(), http::StatusCode::FORBIDDEN);
        assert_eq!(
            refused.headers()[http::header::WWW_AUTHENTICATE],
            r#"Bearer error="insufficient_scope", error_description="the access token lacks a required scope", scope="a b""#
        );
        let any = RequireScopesLayer::any_of(["a", "b"]);
        assert!(any.shared.check(Some(&claims(&["b"]))).is_ok());
        assert!(any.shared.check(Some(&claims(&["c"]))).is_err());
        assert_eq!(
            any.shared.check(None).unwrap_err().status(),
            http::StatusCode::UNAUTHORIZED
        );
    }
}
