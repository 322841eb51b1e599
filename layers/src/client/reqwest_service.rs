//! `DpopSigning` over `reqwest::Request` (`reqwest::Client` is a tower
//! `Service<reqwest::Request>`).

use std::future::poll_fn;
use std::task::{Context, Poll};

use tower_service::Service;

use super::layer::DpopSigning;
use super::signing::{SigningError, UseDpopKey};
use super::{BoxError, SigningFuture};

impl<S> Service<reqwest::Request> for DpopSigning<S>
where
    S: Service<reqwest::Request, Response = reqwest::Response> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    type Response = reqwest::Response;
    type Error = SigningError;
    type Future = SigningFuture<reqwest::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|e| SigningError::Inner(e.into()))
    }

    fn call(&mut self, mut request: reqwest::Request) -> Self::Future {
        let mut inner = self.take_ready();
        let signer = std::sync::Arc::clone(&self.signer);
        Box::pin(async move {
            let url = request.url().to_string();
            // reqwest keeps request extensions private, so `UseDpopKey`
            // cannot be read here: reqwest requests use the current key.
            let hint: Option<UseDpopKey> = None;
            // A body can be sent again when it is in memory and small enough;
            // `try_clone` refuses streams.
            let small = request.body().is_none_or(|b| {
                b.as_bytes()
                    .is_some_and(|bytes| bytes.len() <= signer.retry_body_limit)
            });
            let retry = if small { request.try_clone() } else { None };
            let method = request.method().as_str().to_owned();
            let sent = signer.sign(&method, &url, request.headers_mut(), hint.as_ref())?;
            let response = inner
                .call(request)
                .await
                .map_err(|e| SigningError::Inner(e.into()))?;
            if !signer.wants_retry(&url, response.status(), response.headers(), sent.as_deref()) {
                return Ok(response);
            }
            let Some(mut again) = retry else {
                return Err(signer.too_large());
            };
            signer.sign(&method, &url, again.headers_mut(), hint.as_ref())?;
            poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(|e| SigningError::Inner(e.into()))?;
            inner
                .call(again)
                .await
                .map_err(|e| SigningError::Inner(e.into()))
        })
    }
}
