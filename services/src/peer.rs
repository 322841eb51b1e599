//! The other end of a connection, from either side: [`Peer`] sends requests
//! (and waits for their answers) and notifications; [`PendingRequests`]
//! matches answers to the requests this side sent.
//!
//! Servers use a `Peer` for server-to-client requests (sampling,
//! elicitation, roots) and notifications (progress, log messages, list
//! changes); the client uses one for everything it sends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId};
use crate::protocol::{CancelledNotificationParams, methods};

/// How long [`Peer::request`] waits for an answer unless told otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What a transport writes: one message, or the answers to a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// One message.
    One(Message),
    /// The answers to a batch, sent as one JSON array.
    Batch(Vec<Message>),
}

/// Where messages for the peer go: the sending half of a transport (or, in
/// Streamable HTTP, of one response stream).
pub type Outbox = mpsc::Sender<Outgoing>;

/// Why a message to the peer got no (good) answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// The connection is gone.
    #[error("the connection to the peer is closed")]
    Closed,
    /// No answer in time; the request was cancelled.
    #[error("no answer to {method} within {timeout:?}; request cancelled")]
    Timeout {
        /// The request's method.
        method: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The peer answered with an error.
    #[error("the peer answered {method} with error {}: {}", .error.code.0, .error.message)]
    Remote {
        /// The request's method.
        method: String,
        /// The error object it sent.
        error: ErrorObject,
    },
    /// The answer did not have the expected shape.
    #[error("the peer's answer to {method} is malformed: {reason}")]
    Malformed {
        /// The request's method.
        method: String,
        /// What was wrong.
        reason: String,
    },
    /// The peer did not declare the capability this request needs.
    #[error("the peer did not declare the {0} capability")]
    NotSupported(&'static str),
    /// A modern (2026-07-28) request needs input from the client: the server
    /// answers `input_required` with the input requests and the client
    /// retries the request with the answers (multi round-trip requests).
    #[error("the client must provide input first; the request will be retried with it")]
    InputRequired,
    /// This side's params could not be encoded.
    #[error("the params of {method} could not be encoded: {reason}")]
    Encode {
        /// The request's method.
        method: String,
        /// What went wrong.
        reason: String,
    },
}

type Answer = Result<Value, ErrorObject>;

/// Requests this side sent and is waiting on, shared by every [`Peer`] of one
/// connection or session.
#[derive(Debug, Default)]
pub struct PendingRequests {
    next_id: AtomicI64,
    waiting: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    waiting: HashMap<RequestId, oneshot::Sender<Answer>>,
    /// No answer can come any more: new requests fail at once.
    closed: bool,
}

impl PendingRequests {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn register(&self) -> Result<(RequestId, oneshot::Receiver<Answer>), PeerError> {
        let id = RequestId::Number(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        let mut table = self.table();
        if table.closed {
            return Err(PeerError::Closed);
        }
        table.waiting.insert(id.clone(), tx);
        Ok((id, rx))
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn forget(&self, id: &RequestId) -> bool {
        self.table().waiting.remove(id).is_some()
    }

    /// Hands an answer (a response or an error response) to the request
    /// waiting for it. Returns the message back if it is not an answer to one
    /// of ours (a request, a notification, or an answer nobody waits for).
    pub fn resolve(&self, message: Message) -> Option<Message> {
        let (id, answer) = match message {
            Message::Response(response) => (response.id, Ok(response.result)),
            Message::Error(error) => match error.id {
                Some(id) => (id, Err(error.error)),
                None => return Some(Message::Error(error)),
            },
            other => return Some(other),
        };
        let Some(waiter) = self.table().waiting.remove(&id) else {
            tracing::debug!(target: "mcp_tower::peer", %id, "answer to no pending request dropped");
            return None;
        };
        let _ = waiter.send(answer);
        None
    }

    /// Fails every waiting request, and every later one, with
    /// [`PeerError::Closed`]: the connection is gone and no answer can come.
    pub fn fail_all(&self) {
        let mut table = self.table();
        table.closed = true;
        table.waiting.clear();
    }

    /// How many requests wait for an answer.
    pub fn len(&self) -> usize {
        self.table().waiting.len()
    }

    /// Whether no request waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes a request from the table, and tells the peer it is cancelled,
/// when its caller stops waiting before the answer came.
struct Waiting<'a> {
    peer: &'a Peer,
    id: RequestId,
    reason: &'static str,
    done: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.done || !self.peer.pending.forget(&self.id) {
            return;
        }
        let mut cancel = CancelledNotificationParams::new(self.id.clone());
        cancel.reason = Some(self.reason.to_owned());
        if let Ok(Some(params)) = encode(methods::NOTIFICATION_CANCELLED, &cancel) {
            // Best effort: a full outbox means the peer is not reading anyway.
            let _ = self
                .peer
                .outbox
                .try_send(Outgoing::One(Message::Notification(Notification {
                    method: methods::NOTIFICATION_CANCELLED.to_owned(),
                    params: Some(params),
                })));
        }
    }
}

/// A handle to the other side: cheap to clone.
#[derive(Debug, Clone)]
pub struct Peer {
    outbox: Outbox,
    pending: Arc<PendingRequests>,
    timeout: Duration,
}

impl Peer {
    /// A peer reached through `outbox`, whose answers are matched in `pending`.
    pub fn new(outbox: Outbox, pending: Arc<PendingRequests>) -> Self {
        Self {
            outbox,
            pending,
            timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// The same peer with another answer timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same peer (same pending table) reached through another outbox.
    #[must_use]
    pub fn with_outbox(&self, outbox: Outbox) -> Self {
        Self {
            outbox,
            pending: Arc::clone(&self.pending),
            timeout: self.timeout,
        }
    }

    /// The table of requests waiting for answers.
    pub fn pending(&self) -> &Arc<PendingRequests> {
        &self.pending
    }

    /// Whether the connection is still open.
    pub fn is_closed(&self) -> bool {
        self.outbox.is_closed()
    }

    /// Sends a message as it is if the outbox has room now; `false` when it
    /// is full or closed (for best-effort notifications that must not wait).
    pub fn try_send(&self, message: Message) -> bool {
        self.outbox.try_send(Outgoing::One(message)).is_ok()
    }

    /// Sends a message as it is.
    pub async fn send(&self, message: Message) -> Result<(), PeerError> {
        self.outbox
            .send(Outgoing::One(message))
            .await
            .map_err(|_| PeerError::Closed)
    }

    /// Sends a notification.
    pub async fn notify<P: Serialize>(&self, method: &str, params: &P) -> Result<(), PeerError> {
        let params = encode(method, params)?;
        self.send(Message::Notification(Notification {
            method: method.to_owned(),
            params,
        }))
        .await
    }

    /// Sends a request and waits for its answer, decoded as `R`. When the
    /// wait times out, or the caller drops the future, the peer is told with
    /// `notifications/cancelled`.
    pub async fn request<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, PeerError> {
        let value = self.request_value(method, encode(method, params)?).await?;
        serde_json::from_value(value).map_err(|e| PeerError::Malformed {
            method: method.to_owned(),
            reason: e.to_string(),
        })
    }

    /// Sends a request with raw params and waits for the raw result.
    pub async fn request_value(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, PeerError> {
        let (id, answer) = self.pending.register()?;
        let mut waiting = Waiting {
            peer: self,
            id: id.clone(),
            reason: "the caller stopped waiting",
            done: false,
        };
        self.send(Message::Request(Request {
            id: id.clone(),
            method: method.to_owned(),
            params,
        }))
        .await?;
        let outcome = tokio::time::timeout(self.timeout, answer).await;
        if outcome.is_err() {
            waiting.reason = "timed out";
        } else {
            waiting.done = true;
        }
        drop(waiting);
        match outcome {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(error))) => Err(PeerError::Remote {
                method: method.to_owned(),
                error,
            }),
            Ok(Err(_)) => Err(PeerError::Closed),
            Err(_) => Err(PeerError::Timeout {
                method: method.to_owned(),
                timeout: self.timeout,
            }),
        }
    }
}

fn encode<P: Serialize>(method: &str, params: &P) -> Result<Option<Value>, PeerError> {
    match serde_json::to_value(params) {
        Ok(Value::Null) => Ok(None),
        Ok(value @ (Value::Object(_) | Value::Array(_))) => Ok(Some(value)),
        Ok(_) => Err(PeerError::Encode {
            method: method.to_owned(),
            reason: "params must be a JSON object".to_owned(),
        }),
        Err(e) => Err(PeerError::Encode {
            method: method.to_owned(),
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;
    use crate::jsonrpc::{ErrorResponse, Response};

    fn peer() -> (Peer, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(8);
        (Peer::new(tx, Arc::new(PendingRequests::new())), rx)
    }

    #[tokio::test]
    async fn a_request_gets_its_answer() {
        let (peer, mut rx) = peer();
        let pending = Arc::clone(peer.pending());
        let answer = tokio::spawn(async move {
            let Some(Outgoing::One(Message::Request(request))) = rx.recv().await else {
                panic!("no request sent");
            };
            assert_eq!(request.method, "roots/list");
            assert!(
                pending
                    .resolve(Message::Response(Response {
                        id: request.id,
                        result: json!({"roots": []}),
                    }))
                    .is_none()
            );
        });
        let value: Value = peer.request("roots/list", &json!({})).await.unwrap();
        assert_eq!(value, json!({"roots": []}));
        answer.await.unwrap();
        assert!(peer.pending().is_empty());
    }

    #[tokio::test]
    async fn an_error_answer_is_a_remote_error() {
        let (peer, mut rx) = peer();
        let pending = Arc::clone(peer.pending());
        tokio::spawn(async move {
            let Some(Outgoing::One(Message::Request(request))) = rx.recv().await else {
                panic!("no request sent");
            };
            pending.resolve(Message::Error(ErrorResponse::new(
                Some(request.id),
                ErrorObject::method_not_found("x"),
            )));
        });
        let error = peer.request_value("x", None).await.unwrap_err();
        assert!(matches!(error, PeerError::Remote { error, .. } if error.code.0 == -32601));
    }

    #[tokio::test(start_paused = true)]
    async fn no_answer_times_out_and_cancels() {
        let (peer, mut rx) = peer();
        let peer = peer.with_timeout(Duration::from_secs(5));
        let error = peer.request_value("x", None).await.unwrap_err();
        assert!(matches!(error, PeerError::Timeout { .. }));
        assert!(peer.pending().is_empty());
        let Some(Outgoing::One(Message::Request(request))) = rx.recv().await else {
            panic!("no request");
        };
        let Some(Outgoing::One(Message::Notification(cancel))) = rx.recv().await else {
            panic!("no cancellation");
        };
        assert_eq!(cancel.method, methods::NOTIFICATION_CANCELLED);
        assert_eq!(
            cancel.params.unwrap()["requestId"],
            serde_json::to_value(&request.id).unwrap()
        );
    }

    #[tokio::test]
    async fn a_closed_connection_fails_at_once() {
        let (peer, rx) = peer();
        drop(rx);
        assert_eq!(
            peer.request_value("x", None).await.unwrap_err(),
            PeerError::Closed
        );
        assert!(peer.pending().is_empty());
    }

    #[tokio::test]
    async fn after_the_input_ends_new_requests_fail_at_once() {
        let (peer, _rx) = peer();
        peer.pending().fail_all();
        assert_eq!(
            peer.request_value("x", None).await.unwrap_err(),
            PeerError::Closed
        );
    }

    #[test]
    fn unknown_answers_and_other_messages() {
        let pending = PendingRequests::new();
        let stray = Message::Response(Response {
            id: RequestId::Number(9),
            result: json!({}),
        });
        assert!(pending.resolve(stray).is_none());
        let notification = Message::Notification(Notification {
            method: "n".into(),
            params: None,
        });
        assert_eq!(pending.resolve(notification.clone()), Some(notification));
    }
}
