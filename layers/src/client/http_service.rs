//! `DpopSigning` over `http::Request<B>`.

use std::future::poll_fn;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use tower_service::Service;

use super::layer::DpopSigning;
use super::signing::{SigningError, UseDpopKey};
use super::{BoxError, SigningFuture};

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for DpopSigning<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqBody: Body + From<Bytes> + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = SigningError;
    type Future = SigningFuture<Response<ResBody>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|e| SigningError::Inner(e.into()))
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let mut inner = self.take_ready();
        let signer = std::sync::Arc::clone(&self.signer);
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            let url = parts.uri.to_string();
            let hint = parts.extensions.get::<UseDpopKey>().cloned();
            // Keep the body for a second send only when its size is known and small.
            let (body, retry) = match body.size_hint().upper() {
                Some(len) if len <= signer.retry_body_limit as u64 => {
                    let bytes = body
                        .collect()
                        .await
                        .map_err(|e| SigningError::Body(e.into()))?
                        .to_bytes();
                    (ReqBody::from(bytes.clone()), Some((parts.clone(), bytes)))
                }
                _ => (body, None),
            };
            let sent = signer.sign(
                parts.method.as_str(),
                &url,
                &mut parts.headers,
                hint.as_ref(),
            )?;
            let response = inner
                .call(Request::from_parts(parts, body))
                .await
                .map_err(|e| SigningError::Inner(e.into()))?;
            if !signer.wants_retry(&url, response.status(), response.headers(), sent.as_deref()) {
                return Ok(response);
            }
            let Some((mut parts, bytes)) = retry else {
                return Err(signer.too_large());
            };
            signer.sign(
                parts.method.as_str(),
                &url,
                &mut parts.headers,
                hint.as_ref(),
            )?;
            poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(|e| SigningError::Inner(e.into()))?;
            inner
                .call(Request::from_parts(parts, ReqBody::from(bytes)))
                .await
                .map_err(|e| SigningError::Inner(e.into()))
        })
    }
}
