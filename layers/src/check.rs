//! The shape shared by layers whose check is synchronous (token extraction,
//! scopes, API keys): a [`RequestCheck`] looks at the request, adds its
//! extensions or refuses, and [`CheckLayer`] runs it in front of the inner
//! service. Written once here so the layers differ only in their check.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::challenge::{Rejection, ResponseBody, ResponseFuture};

/// A synchronous check of a request.
pub trait RequestCheck: Send + Sync + 'static {
    /// Checks `request`, inserting what it established as extensions, or
    /// returns the rejection to answer with.
    fn check<B>(&self, request: &mut Request<B>) -> Result<(), Rejection>;
}

/// A [`Layer`] running a [`RequestCheck`] before the inner service.
#[derive(Debug)]
pub struct CheckLayer<C> {
    pub(crate) check: Arc<C>,
}

impl<C> CheckLayer<C> {
    pub(crate) fn from_check(check: C) -> Self {
        Self {
            check: Arc::new(check),
        }
    }
}

impl<C> Clone for CheckLayer<C> {
    fn clone(&self) -> Self {
        Self {
            check: Arc::clone(&self.check),
        }
    }
}

impl<S, C> Layer<S> for CheckLayer<C> {
    type Service = Checked<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Checked {
            inner,
            check: Arc::clone(&self.check),
        }
    }
}

/// The service made by a [`CheckLayer`].
#[derive(Debug)]
pub struct Checked<S, C> {
    inner: S,
    check: Arc<C>,
}

impl<S: Clone, C> Clone for Checked<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            check: Arc::clone(&self.check),
        }
    }
}

impl<S, C, ReqBody, ResBody> Service<Request<ReqBody>> for Checked<S, C>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: RequestCheck,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.check.check(&mut request) {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(rejection) => ResponseFuture::reject(rejection),
        }
    }
}
