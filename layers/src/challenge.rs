//! Every rejection the layers send: status, `WWW-Authenticate` challenges and a
//! small JSON body, built in one place so they are consistent and standard.
//!
//! - 401 with `Bearer`/`DPoP` challenges (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1),
//! - 401 / 400 `use_dpop_nonce` with a `DPoP-Nonce` header (RFC 9449 §8, §9),
//! - 400 `invalid_request` / `invalid_dpop_proof`, 403 `insufficient_scope`,
//! - 429 / 503 with `Retry-After`.
//!
//! A rejection never contains a token, a proof or a key: descriptions are
//! static texts chosen by the layers.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};
use http_body_util::{Either, Full};
use pin_project::pin_project;

use crate::jose::Algorithm;

/// The body of a response from a layer that may reject: the inner service's
/// body, or the rejection's JSON.
pub type ResponseBody<B> = Either<B, Full<Bytes>>;

/// The `DPoP-Nonce` header (RFC 9449 §8.1).
pub static DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// OAuth error codes used in challenges and bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Malformed request (RFC 6750 §3.1).
    InvalidRequest,
    /// Token expired, revoked, malformed or otherwise invalid (RFC 6750 §3.1).
    InvalidToken,
    /// The token lacks a required scope (RFC 6750 §3.1).
    InsufficientScope,
    /// The DPoP proof is invalid (RFC 9449 §5, §7.1).
    InvalidDpopProof,
    /// A (fresh) server nonce is required (RFC 9449 §8, §9).
    UseDpopNonce,
    /// The server cannot decide now; try again later.
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The registered code string.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::InvalidDpopProof => "invalid_dpop_proof",
            ErrorCode::UseDpopNonce => "use_dpop_nonce",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An authentication scheme of a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// One `WWW-Authenticate` challenge: a scheme and its auth-params.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: Scheme,
    params: Vec<(&'static str, Cow<'static, str>)>,
}

impl Challenge {
    /// A challenge with no parameters.
    pub fn new(scheme: Scheme) -> Self {
        Self {
            scheme,
            params: Vec::new(),
        }
    }

    /// Adds an auth-param; the value is sent as a quoted-string.
    #[must_use]
    pub fn param(mut self, name: &'static str, value: impl Into<Cow<'static, str>>) -> Self {
        self.params.push((name, value.into()));
        self
    }

    /// Renders the challenge as an RFC 9110 §11.6.1 header value. Values are
    /// quoted-strings of printable ASCII: other characters are replaced by
    /// `?`. RFC 6750 §3 allows neither `"` nor `\` in `error`,
    /// `error_description`, `error_uri` and `scope` (RFC 9449 §7.1 reuses
    /// those): there `"` becomes `'` and `\` becomes `?`; in other params
    /// (`realm`, `algs`, `resource_metadata`) they are escaped.
    pub fn to_header_value(&self) -> HeaderValue {
        let mut out = String::from(match self.scheme {
            Scheme::Bearer => "Bearer",
            Scheme::Dpop => "DPoP",
        });
        for (i, (name, value)) in self.params.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            let _ = write!(out, "{name}=\"");
            let no_quotes = matches!(*name, "error" | "error_description" | "error_uri" | "scope");
            for c in value.chars() {
                match c {
                    '"' if no_quotes => out.push('\''),
                    '"' | '\\' if !no_quotes => {
                        out.push('\\');
                        out.push(c);
                    }
                    ' '..='~' if c != '\\' => out.push(c),
                    _ => out.push('?'),
                }
            }
            out.push('"');
        }
        // Only printable ASCII was written above.
        HeaderValue::from_str(&out).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

/// How the auth layers of one protected resource introduce themselves in
/// their challenges: the schemes offered (`Bearer`, `DPoP` with its
/// algorithms), `realm`, and the RFC 9728 `resource_metadata` URL. Give every
/// auth layer of a resource the same one, so all its 401s agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeConfig {
    bearer: bool,
    dpop_algs: Option<String>,
    realm: Option<String>,
    resource_metadata: Option<String>,
}

impl Default for ChallengeConfig {
    /// A `Bearer` challenge with no parameters.
    fn default() -> Self {
        Self {
            bearer: true,
            dpop_algs: None,
            realm: None,
            resource_metadata: None,
        }
    }
}

impl ChallengeConfig {
    /// The default: a `Bearer` challenge.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether to offer the `Bearer` scheme (default yes).
    #[must_use]
    pub fn bearer(mut self, offer: bool) -> Self {
        self.bearer = offer;
        self
    }

    /// Offer the `DPoP` scheme with these algorithms (RFC 9449 §7.1).
    #[must_use]
    pub fn dpop(mut self, algorithms: &[Algorithm]) -> Self {
        let algs: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
        self.dpop_algs = Some(algs.join(" "));
        self
    }

    /// The `realm` parameter.
    #[must_use]
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The `resource_metadata` parameter (RFC 9728 §5.1): the URL of this
    /// resource's protected resource metadata.
    #[must_use]
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// The challenges to send; `scope` is added when given (RFC 6750 §3).
    pub fn challenges(&self, scope: Option<&str>) -> Vec<Challenge> {
        let mut out = Vec::with_capacity(2);
        let with_common = |mut c: Challenge| {
            if let Some(realm) = &self.realm {
                c = c.param("realm", realm.clone());
            }
            if let Some(url) = &self.resource_metadata {
                c = c.param("resource_metadata", url.clone());
            }
            if let Some(scope) = scope {
                c = c.param("scope", scope.to_owned());
            }
            c
        };
        if self.bearer {
            out.push(with_common(Challenge::new(Scheme::Bearer)));
        }
        if let Some(algs) = &self.dpop_algs {
            out.push(with_common(Challenge::new(Scheme::Dpop)).param("algs", algs.clone()));
        }
        out
    }

    /// Adds this configuration's challenges to `rejection`.
    pub fn apply(&self, rejection: Rejection) -> Rejection {
        self.challenges(None)
            .into_iter()
            .fold(rejection, Rejection::challenge)
    }
}

/// The future of a layer that answers synchronously or passes on: the inner
/// service's future, or a ready response (a rejection, or an answer such as
/// the metadata document).
#[pin_project(project = ResponseFutureProj)]
#[derive(Debug)]
pub enum ResponseFuture<F> {
    /// The checks passed; the inner service runs.
    Inner {
        /// The inner service's future.
        #[pin]
        future: F,
    },
    /// The layer answered itself.
    Ready {
        /// The response, taken when polled.
        response: Option<Response<Full<Bytes>>>,
    },
}

impl<F> ResponseFuture<F> {
    /// A future that answers with `rejection`.
    pub fn reject(rejection: Rejection) -> Self {
        Self::ready(rejection.into_response())
    }

    /// A future that answers with `response`.
    pub fn ready(response: Response<Full<Bytes>>) -> Self {
        ResponseFuture::Ready {
            response: Some(response),
        }
    }

    /// A future that runs the inner service.
    pub fn inner(future: F) -> Self {
        ResponseFuture::Inner { future }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ResponseFutureProj::Inner { future } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(response.map(Either::Left)))
            }
            ResponseFutureProj::Ready { response } => {
                // Polling again after completion yields an empty 500 rather
                // than a panic.
                let response = response.take().unwrap_or_else(|| {
                    let mut r = Response::new(Full::default());
                    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    r
                });
                Poll::Ready(Ok(response.map(Either::Right)))
            }
        }
    }
}

/// A complete rejection, turned into a response by [`Rejection::into_response`].
#[derive(Debug, Clone)]
pub struct Rejection {
    status: StatusCode,
    error: Option<ErrorCode>,
    description: Cow<'static, str>,
    challenges: Vec<Challenge>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Rejection {
    /// A rejection with `status`, an optional error code and a description.
    pub fn new(
        status: StatusCode,
        error: Option<ErrorCode>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            challenges: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// 401 with the given challenge code (none when credentials were simply
    /// missing, RFC 6750 §3.1).
    pub fn unauthorized(
        error: Option<ErrorCode>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error, description)
    }

    /// 400 with the given error code.
    pub fn bad_request(error: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(error), description)
    }

    /// 503 with `Retry-After` seconds.
    pub fn unavailable(retry_after_secs: u64, description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(ErrorCode::TemporarilyUnavailable),
            description,
        )
        .header(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)))
    }

    /// 403 `insufficient_scope` (RFC 6750 §3.1); the challenges should carry
    /// the `scope` needed.
    pub fn forbidden(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            Some(ErrorCode::InsufficientScope),
            description,
        )
    }

    /// Adds a challenge; `error` and `error_description` are added to it
    /// automatically when the rejection has them.
    #[must_use]
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.challenges.push(challenge);
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The error code, if any.
    pub fn error(&self) -> Option<ErrorCode> {
        self.error
    }

    /// The human-readable description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Builds the response: status, challenges, extra headers,
    /// `Cache-Control: no-store` and a JSON body.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut body = serde_json::Map::new();
        if let Some(code) = self.error {
            body.insert("error".into(), code.as_str().into());
        }
        body.insert("error_description".into(), self.description.as_ref().into());
        let body = serde_json::Value::Object(body).to_string();

        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for challenge in self.challenges {
            let mut challenge = challenge;
            if let Some(code) = self.error {
                // `error` goes first, as in the RFC examples; the challenge's
                // own params (realm, algs, ...) are kept after the description.
                let own = std::mem::take(&mut challenge.params);
                challenge = challenge
                    .param("error", code.as_str())
                    .param("error_description", self.description.clone());
                challenge.params.extend(own);
            }
            headers.append(WWW_AUTHENTICATE, challenge.to_header_value());
        }
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[test]
    fn quotes_and_escapes_params() {
        let c = Challenge::new(Scheme::Dpop)
            .param("algs", "ES256 PS256")
            .param("realm", "a \"b\" \\ c")
            .param("error_description", "bad \"x\" \\ é\n");
        assert_eq!(
            c.to_header_value(),
            r#"DPoP algs="ES256 PS256", realm="a \"b\" \\ c", error_description="bad 'x' ? ??""#
        );
        assert_eq!(Challenge::new(Scheme::Bearer).to_header_value(), "Bearer");
    }

    #[tokio::test]
    async fn builds_nonce_rejection() {
        let response = Rejection::unauthorized(
            Some(ErrorCode::UseDpopNonce),
            "Resource server requires nonce in DPoP proof",
        )
        .challenge(Challenge::new(Scheme::Dpop).param("algs", "ES256"))
        .header(
            DPOP_NONCE.clone(),
            HeaderValue::from_static("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
        )
        .into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256""#
        );
        assert_eq!(response.headers()["dpop-nonce"], "eyJ7S_zG.eyJH0-Z.HX4w-7v");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"], "use_dpop_nonce");
    }

    #[test]
    fn missing_credentials_have_no_error_code() {
        let response = Rejection::unauthorized(None, "authorization required")
            .challenge(Challenge::new(Scheme::Bearer).param("realm", "mcp"))
            .into_response();
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Bearer realm="mcp""#
        );
    }

    #[test]
    fn challenge_config_offers_both_schemes() {
        let config = ChallengeConfig::new()
            .realm("mcp")
            .resource_metadata("https://r.example/.well-known/oauth-protected-resource")
            .dpop(&[Algorithm::ES256, Algorithm::PS256]);
        let response = config
            .apply(Rejection::unauthorized(
                Some(ErrorCode::InvalidToken),
                "expired",
            ))
            .into_response();
        let values: Vec<_> = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .collect();
        assert_eq!(
            values,
            [
                r#"Bearer error="invalid_token", error_description="expired", realm="mcp", resource_metadata="https://r.example/.well-known/oauth-protected-resource""#,
                r#"DPoP error="invalid_token", error_description="expired", realm="mcp", resource_metadata="https://r.example/.well-known/oauth-protected-resource", algs="ES256 PS256""#,
            ]
        );
        let scoped = config.bearer(false).challenges(Some("tools:call"));
        assert_eq!(scoped.len(), 1);
        assert!(
            scoped[0]
                .to_header_value()
                .to_str()
                .unwrap()
                .contains(r#"scope="tools:call""#)
        );
    }

    #[test]
    fn unavailable_has_retry_after() {
        let response = Rejection::unavailable(0, "busy").into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
    }

    /// Reads `scheme name="value", ...` back as RFC 9110 §11.2 and §5.6.4
    /// define it (quoted-pair unescaped), or `None` if it is not that.
    fn parse_challenge(header: &str) -> Option<(String, Vec<(String, String)>)> {
        let (scheme, mut rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = Vec::new();
        while !rest.is_empty() {
            let (name, after) = rest.split_once("=\"")?;
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next()? {
                    (_, '\\') => value.push(chars.next()?.1),
                    (i, '"') => break i,
                    (_, c) => value.push(c),
                }
            };
            params.push((name.to_owned(), value));
            let tail = &after[end + 1..];
            rest = match tail.strip_prefix(", ") {
                Some(next) => next,
                None if tail.is_empty() => tail,
                None => return None,
            };
        }
        Some((scheme.to_owned(), params))
    }

    proptest::proptest! {
        #[test]
        fn any_param_value_reads_back_from_the_header(
            values in proptest::collection::vec("\\PC{0,40}|[\"\\\\ ,=a-z]{0,20}|.{0,10}", 1..4),
        ) {
            let names = ["realm", "error_description", "scope", "resource_metadata"];
            let mut challenge = Challenge::new(Scheme::Bearer);
            for (name, value) in names.iter().zip(&values) {
                challenge = challenge.param(name, value.clone());
            }
            let header = challenge.to_header_value();
            let (scheme, params) = parse_challenge(header.to_str().unwrap())
                .ok_or_else(|| proptest::test_runner::TestCaseError::fail(format!("unreadable: {header:?}")))?;
            proptest::prop_assert_eq!(scheme, "Bearer");
            let expected: Vec<(String, String)> = names
                .iter()
                .zip(&values)
                .map(|(name, value)| {
                    let rfc6750 = matches!(*name, "error_description" | "scope");
                    let printable = value
                        .chars()
                        .map(|c| match c {
                            '"' if rfc6750 => '\'',
                            '\\' if rfc6750 => '?',
                            ' '..='~' => c,
                            _ => '?',
                        })
                        .collect();
                    ((*name).to_owned(), printable)
                })
                .collect();
            proptest::prop_assert_eq!(params, expected);
        }
    }
}
