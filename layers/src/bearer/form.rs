//! Form-encoded body tokens (RFC 6750 §2.2), off unless this layer is added.
//!
//! The MCP authorization specification wants tokens in the `Authorization`
//! header only; this layer exists for other OAuth resources that must accept
//! `access_token` in an `application/x-www-form-urlencoded` POST body. Put it
//! before [`BearerLayer`](super::BearerLayer): it reads the body (up to a
//! limit), hands the token on as a [`BearerToken`], and passes the body on
//! unchanged. A request using two methods at once is refused (RFC 6750 §2).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt, Either, Limited};
use tower_layer::Layer;
use tower_service::Service;

use crate::authorization::{TokenScheme, is_token68};
use crate::challenge::{ErrorCode, Rejection, ResponseBody};

use super::BearerToken;

/// Default largest form body read: 64 KiB.
pub const DEFAULT_FORM_LIMIT: usize = 64 * 1024;

/// A [`Layer`] that reads `access_token` from form-encoded POST bodies.
#[derive(Debug, Clone, Copy)]
pub struct FormBodyTokenLayer {
    limit: usize,
}

impl Default for FormBodyTokenLayer {
    fn default() -> Self {
        Self {
            limit: DEFAULT_FORM_LIMIT,
        }
    }
}

impl FormBodyTokenLayer {
    /// Reads form bodies up to 64 KiB.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads form bodies up to `bytes`; larger ones are refused with 400.
    #[must_use]
    pub fn limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }
}

impl<S> Layer<S> for FormBodyTokenLayer {
    type Service = FormBodyToken<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FormBodyToken {
            inner,
            limit: self.limit,
        }
    }
}

/// The service made by [`FormBodyTokenLayer`].
#[derive(Debug, Clone)]
pub struct FormBodyToken<S> {
    inner: S,
    limit: usize,
}

fn is_form<B>(request: &Request<B>) -> bool {
    request.method() == Method::POST
        && request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
}

/// Decodes a form value (`+` is a space, `%XX` a byte).
fn form_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = value.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Whether a form (or query) parameter name, percent-decoded, is
/// `access_token` (RFC 6750 §2.2, §2.3).
pub(super) fn is_access_token_name(name: &str) -> bool {
    if name.contains(['%', '+']) {
        form_decode(name).as_deref() == Some("access_token")
    } else {
        // Nothing to decode: no copy, on every request with a query.
        name == "access_token"
    }
}

/// The `access_token` values of a form body.
fn form_tokens(body: &[u8]) -> Result<Vec<String>, &'static str> {
    let text = std::str::from_utf8(body).map_err(|_| "form body is not UTF-8")?;
    let mut tokens = Vec::new();
    for pair in text.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if is_access_token_name(name) {
            tokens.push(form_decode(value).ok_or("malformed percent-encoding in the form body")?);
        }
    }
    Ok(tokens)
}

fn refuse(description: &'static str) -> Rejection {
    tracing::info!(target: "mcp_tower::bearer", reason = description, "form token refused");
    Rejection::bad_request(ErrorCode::InvalidRequest, description)
}

/// The boxed future of [`FormBodyToken`] (it reads the body).
pub type FormBodyTokenFuture<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for FormBodyToken<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = FormBodyTokenFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !is_form(&request) {
            return Box::pin(async move { inner.call(request).await.map(|r| r.map(Either::Left)) });
        }
        let limit = self.limit;
        Box::pin(async move {
            let reject = |r: Rejection| Ok(r.into_response().map(Either::Right));
            let (mut parts, body) = request.into_parts();
            let Ok(collected) = Limited::new(body, limit).collect().await else {
                return reject(refuse("form body too large or unreadable"));
            };
            let bytes = collected.to_bytes();
            let tokens = match form_tokens(&bytes) {
                Ok(tokens) => tokens,
                Err(description) => return reject(refuse(description)),
            };
            match tokens.as_slice() {
                [] => {}
                [token] if parts.headers.contains_key(AUTHORIZATION) => {
                    let _ = token;
                    return reject(refuse(
                        "send the access token in one place only (RFC 6750 §2)",
                    ));
                }
                [token] if is_token68(token) => {
                    parts
                        .extensions
                        .insert(BearerToken::new(TokenScheme::Bearer, token.as_str()));
                }
                [_] => return reject(refuse("malformed access_token in the form body")),
                _ => return reject(refuse("more than one access_token in the form body")),
            }
            let request = Request::from_parts(parts, ReqBody::from(bytes));
            inner.call(request).await.map(|r| r.map(Either::Left))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_form_tokens() {
        assert_eq!(
            form_tokens(b"a=1&access_token=abc%2Bd&b=2").unwrap(),
            ["abc+d"]
        );
        assert_eq!(
            form_tokens(b"access_token=x&access_token=y").unwrap(),
            ["x", "y"]
        );
        assert!(form_tokens(b"access_token=%zz").is_err());
        assert!(form_tokens(b"a=1").unwrap().is_empty());
        assert_eq!(form_decode("a+b%20c").as_deref(), Some("a b c"));
    }
}
