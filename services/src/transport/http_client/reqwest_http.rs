//! [`ReqwestHttp`]: a `reqwest` client (or a tower stack around one, such as
//! `mcp-tower-layers`' DPoP signing for reqwest) as the [`HttpService`] the
//! transports send with.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tower_service::Service;

use super::BoxError;
#[cfg(doc)]
use super::HttpService;

/// Adapts a `Service<reqwest::Request, Response = reqwest::Response>` (a
/// `reqwest::Client`, or layers around one) to
/// `Service<http::Request<Full<Bytes>>>`.
#[derive(Debug, Clone)]
pub struct ReqwestHttp<S = reqwest::Client> {
    inner: S,
}

impl<S> ReqwestHttp<S> {
    /// Sends with `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }

    /// The wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<http::Request<Full<Bytes>>> for ReqwestHttp<S>
where
    S: Service<reqwest::Request, Response = reqwest::Response> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
{
    type Response = http::Response<reqwest::Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<Full<Bytes>>) -> Self::Future {
        // The clone-and-swap pattern: the ready service goes into the future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.map_err(|e| match e {})?.to_bytes();
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, body))?;
            let response = inner.call(request).await.map_err(Into::into)?;
            Ok(http::Response::from(response))
        })
    }
}
