//! [`ErrorToJsonRpcLayer`]: lets any tower layer wrap [`McpServer`](super::McpServer)
//! and still be served.
//!
//! The transports' serving functions take a service that never fails
//! (`Error = Infallible`): every failure must become a JSON-RPC answer. Tower
//! layers such as `TimeoutLayer` fail with an error instead; this adapter,
//! put outermost, turns such an error into a -32603 internal-error response
//! to the request (whose id it reads before the call), and into nothing for a
//! notification, which gets no answer anyway.
//!
//! ```
//! # use std::time::Duration;
//! use mcp_tower_services::server::{ErrorToJsonRpcLayer, McpServer};
//! use tower::ServiceBuilder;
//!
//! let server = McpServer::builder().build().unwrap();
//! let service = ServiceBuilder::new()
//!     .layer(ErrorToJsonRpcLayer::new())
//!     .timeout(Duration::from_secs(30))
//!     .concurrency_limit(16)
//!     .service(server);
//! # let _ = service;
//! ```
//!
//! The error's `Display` text becomes the response's message: wrap layers
//! whose errors may carry secrets in one that redacts them first.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::jsonrpc::{ErrorObject, ErrorResponse, Message, RequestId};

use super::ServerRequest;

/// The boxed error tower's layers use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Wraps a service in [`ErrorToJsonRpc`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorToJsonRpcLayer {
    _private: (),
}

impl ErrorToJsonRpcLayer {
    /// The layer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for ErrorToJsonRpcLayer {
    type Service = ErrorToJsonRpc<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ErrorToJsonRpc::new(inner)
    }
}

/// A service over [`ServerRequest`]s whose errors become JSON-RPC -32603
/// responses, so that it never fails itself.
#[derive(Debug, Clone)]
pub struct ErrorToJsonRpc<S> {
    inner: S,
    /// Why the inner service could not become ready: the next call is
    /// answered with it, then readiness is asked again.
    not_ready: Option<String>,
}

impl<S> ErrorToJsonRpc<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            not_ready: None,
        }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

fn failure(id: Option<RequestId>, reason: &str) -> Option<Message> {
    tracing::warn!(target: "mcp_tower::server", %reason, "a layer failed the request; answered -32603");
    id.map(|id| {
        Message::Error(ErrorResponse::new(
            Some(id),
            ErrorObject::internal_error(reason),
        ))
    })
}

impl<S> Service<ServerRequest> for ErrorToJsonRpc<S>
where
    S: Service<ServerRequest, Response = Option<Message>>,
    S::Error: Into<BoxError>,
{
    type Response = Option<Message>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.not_ready.is_some() {
            return Poll::Ready(Ok(()));
        }
        if let Err(error) = ready!(self.inner.poll_ready(cx)) {
            self.not_ready = Some(error.into().to_string());
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ServerRequest) -> Self::Future {
        let id = match &request.message {
            Message::Request(call) => Some(call.id.clone()),
            _ => None,
        };
        match self.not_ready.take() {
            Some(reason) => ResponseFuture::Failed {
                answer: failure(id, &reason),
            },
            None => ResponseFuture::Inner {
                future: self.inner.call(request),
                id,
            },
        }
    }
}

/// The future of [`ErrorToJsonRpc`].
#[pin_project(project = Projection)]
#[derive(Debug)]
pub enum ResponseFuture<F> {
    /// The inner service's call.
    Inner {
        /// Its future.
        #[pin]
        future: F,
        /// The id of the request, to answer an error to.
        id: Option<RequestId>,
    },
    /// The inner service was not ready: this answer.
    Failed {
        /// The error response (`None` once taken, or for a notification).
        answer: Option<Message>,
    },
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Option<Message>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Option<Message>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            Projection::Inner { future, id } => Poll::Ready(Ok(match ready!(future.poll(cx)) {
                Ok(answer) => answer,
                Err(error) => failure(id.take(), &error.into().to_string()),
            })),
            Projection::Failed { answer } => Poll::Ready(Ok(answer.take())),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::future::{Ready, ready};

    use super::*;
    use crate::jsonrpc::{ErrorCode, Notification, Request};
    use crate::server::Session;

    /// Fails every call, and its readiness when told to.
    #[derive(Clone)]
    struct Failing {
        not_ready: bool,
    }

    impl Service<ServerRequest> for Failing {
        type Response = Option<Message>;
        type Error = std::io::Error;
        type Future = Ready<Result<Option<Message>, std::io::Error>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            if std::mem::take(&mut self.not_ready) {
                return Poll::Ready(Err(std::io::Error::other("backend gone")));
            }
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _request: ServerRequest) -> Self::Future {
            ready(Err(std::io::Error::other("handler failed")))
        }
    }

    fn request(id: i64) -> ServerRequest {
        let message = Message::Request(Request {
            id: id.into(),
            method: "ping".into(),
            params: None,
        });
        ServerRequest::new(message, Session::detached())
    }

    async fn run(service: &mut ErrorToJsonRpc<Failing>, request: ServerRequest) -> Option<Message> {
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .unwrap();
        service.call(request).await.unwrap()
    }

    fn error_of(answer: Option<Message>) -> (Option<RequestId>, ErrorObject) {
        match answer {
            Some(Message::Error(e)) => (e.id, e.error),
            other => panic!("expected an error response, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn call_errors_answer_the_request() {
        let mut service = ErrorToJsonRpcLayer::new().layer(Failing { not_ready: false });
        let (id, error) = error_of(run(&mut service, request(3)).await);
        assert_eq!(id, Some(RequestId::Number(3)));
        assert_eq!(error.code, ErrorCode::INTERNAL_ERROR);
        assert_eq!(error.message, "handler failed");
        let notification = Message::Notification(Notification {
            method: "notifications/initialized".into(),
            params: None,
        });
        let quiet = run(
            &mut service,
            ServerRequest::new(notification, Session::detached()),
        )
        .await;
        assert_eq!(quiet, None, "notifications get no answer");
    }

    #[tokio::test]
    async fn readiness_errors_answer_the_next_request_then_readiness_is_asked_again() {
        let mut service = ErrorToJsonRpc::new(Failing { not_ready: true });
        let (id, error) = error_of(run(&mut service, request(1)).await);
        assert_eq!(id, Some(RequestId::Number(1)));
        assert_eq!(error.message, "backend gone");
        assert!(!service.get_ref().not_ready);
        let (_, error) = error_of(run(&mut service, request(2)).await);
        assert_eq!(error.message, "handler failed");
    }
}
