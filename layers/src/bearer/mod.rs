//! Access token extraction (RFC 6750 §2.1, RFC 9449 §7.1): [`BearerLayer`]
//! reads `Authorization: Bearer <token>` or `Authorization: DPoP <token>` and
//! hands the token on as a [`BearerToken`] request extension.
//!
//! Refused with 400 `invalid_request`: several `Authorization` headers, a
//! malformed value, and an `access_token` in the query string (the MCP
//! authorization specification forbids tokens in URIs). A request without a
//! token gets 401 with the challenge and no error code (RFC 6750 §3.1).
//! Form-body tokens (RFC 6750 §2.2) are off unless [`FormBodyTokenLayer`] is
//! added in front.

mod form;

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, Request};

use crate::authorization::{self, AuthorizationError, TokenHeader};
use crate::challenge::{ChallengeConfig, ErrorCode, Rejection};
use crate::check::{CheckLayer, Checked, RequestCheck};

pub use crate::authorization::TokenScheme;
pub use form::{DEFAULT_FORM_LIMIT, FormBodyToken, FormBodyTokenFuture, FormBodyTokenLayer};

/// The access token of a request, as found by [`BearerLayer`].
///
/// `Debug` never shows the token.
#[derive(Clone)]
pub struct BearerToken {
    scheme: TokenScheme,
    token: Secret,
}

/// Where the token's text is.
#[derive(Clone)]
enum Secret {
    Owned(Arc<str>),
    /// The end of the `Authorization` header value, from `start`: the
    /// header's bytes are shared, not copied (a JWT has ~1 KB).
    Header {
        value: HeaderValue,
        start: usize,
    },
}

impl BearerToken {
    /// A token presented with `scheme`.
    pub fn new(scheme: TokenScheme, token: impl Into<Arc<str>>) -> Self {
        Self {
            scheme,
            token: Secret::Owned(token.into()),
        }
    }

    /// The token [`authorization::access_token_header`] found, kept as a
    /// share of its header value.
    fn from_header(found: &TokenHeader<'_>) -> Self {
        Self {
            scheme: found.scheme,
            token: Secret::Header {
                value: found.value.clone(),
                start: found.start,
            },
        }
    }

    /// The scheme it was presented with.
    pub fn scheme(&self) -> TokenScheme {
        self.scheme
    }

    /// The token itself. Never log it.
    pub fn secret(&self) -> &str {
        match &self.token {
            Secret::Owned(token) => token,
            // Checked as `token68` (ASCII) when found, so this cannot fail.
            Secret::Header { value, start } => value
                .as_bytes()
                .get(*start..)
                .and_then(|token| std::str::from_utf8(token).ok())
                .unwrap_or_default(),
        }
    }
}

impl PartialEq for BearerToken {
    fn eq(&self, other: &Self) -> bool {
        self.scheme == other.scheme && self.secret() == other.secret()
    }
}

impl Eq for BearerToken {}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("scheme", &self.scheme)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// What [`BearerLayer`] checks: the `Authorization` header and the query.
#[derive(Debug, Default)]
pub struct BearerCheck {
    challenges: ChallengeConfig,
}

/// A [`Layer`](tower_layer::Layer) that extracts the access token; see the [module docs](self).
pub type BearerLayer = CheckLayer<BearerCheck>;

/// The service made by [`BearerLayer`].
pub type Bearer<S> = Checked<S, BearerCheck>;

impl Default for BearerLayer {
    fn default() -> Self {
        Self::from_check(BearerCheck::default())
    }
}

impl BearerLayer {
    /// Extracts tokens and answers with a plain `Bearer` challenge.
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers with these challenges (realm, `resource_metadata`, `DPoP`).
    pub fn with_challenges(challenges: ChallengeConfig) -> Self {
        Self::from_check(BearerCheck { challenges })
    }
}

/// Whether the query string carries an `access_token` parameter.
fn token_in_query(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|pair| form::is_access_token_name(pair.split('=').next().unwrap_or_default()))
    })
}

impl BearerCheck {
    fn extract<B>(&self, request: &Request<B>) -> Result<BearerToken, Rejection> {
        let refuse = |description: &'static str, reason: &'static str| {
            tracing::info!(target: "mcp_tower::bearer", reason, "request refused");
            self.challenges.apply(Rejection::bad_request(
                ErrorCode::InvalidRequest,
                description,
            ))
        };
        if token_in_query(request.uri().query()) {
            return Err(refuse(
                "access tokens must be sent in the Authorization header, never in the URI",
                "token_in_query",
            ));
        }
        match authorization::access_token_header(request.headers()) {
            Ok(Some(found)) => Ok(BearerToken::from_header(&found)),
            // Found in the body by `FormBodyTokenLayer`.
            Ok(None) if request.extensions().get::<BearerToken>().is_some() => request
                .extensions()
                .get::<BearerToken>()
                .cloned()
                .ok_or_else(|| Rejection::unauthorized(None, "no access token")),
            Ok(None) | Err(AuthorizationError::UnsupportedScheme) => {
                tracing::debug!(target: "mcp_tower::bearer", reason = "no_token", "request refused");
                Err(self.challenges.apply(Rejection::unauthorized(
                    None,
                    "an access token is required: send Authorization: Bearer <token> or DPoP <token>",
                )))
            }
            Err(AuthorizationError::Multiple) => Err(refuse(
                "more than one Authorization header",
                "multiple_authorization",
            )),
            Err(_) => Err(refuse(
                "malformed Authorization header: expected \"Bearer <token>\" or \"DPoP <token>\"",
                "malformed_authorization",
            )),
        }
    }
}

impl RequestCheck for BearerCheck {
    fn check<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        let span = tracing::debug_span!(target: "mcp_tower::bearer", "bearer");
        let _entered = span.enter();
        let token = self.extract(request)?;
        request.extensions_mut().insert(token);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::AUTHORIZATION;

    #[test]
    fn finds_tokens_in_the_query() {
        assert!(token_in_query(Some("access_token=x")));
        assert!(token_in_query(Some("a=1&access_token=")));
        assert!(!token_in_query(Some("my_access_token=x")));
        // Names are percent-decoded, as a server reading the query would.
        assert!(token_in_query(Some("access%5Ftoken=x")));
        assert!(token_in_query(Some("a=1&%61ccess_token")));
        assert!(!token_in_query(Some("access_token%=x")));
        assert!(!token_in_query(None));
    }

    #[test]
    fn shares_the_header_value() {
        let value = HeaderValue::from_static("DPoP  abc.def");
        let mut headers = http::HeaderMap::new();
        headers.insert(AUTHORIZATION, value);
        let found = authorization::access_token_header(&headers)
            .unwrap()
            .unwrap();
        let shared = BearerToken::from_header(&found);
        assert!(matches!(shared.token, Secret::Header { start: 6, .. }));
        assert_eq!(shared.secret(), "abc.def");
        assert_eq!(shared, BearerToken::new(TokenScheme::Dpop, "abc.def"));
        assert_ne!(shared, BearerToken::new(TokenScheme::Bearer, "abc.def"));
        assert!(!format!("{shared:?}").contains("abc"));
    }

    #[test]
    fn debug_is_redacted() {
        let token = BearerToken::new(TokenScheme::Bearer, "secret-value");
        assert!(!format!("{token:?}").contains("secret-value"));
        assert_eq!(token.secret(), "secret-value");
    }
}
