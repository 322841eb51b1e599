//! The server side of the HTTP+SSE transport of MCP revision 2024-11-05
//! ("Transports" → "HTTP with SSE"), deprecated since 2025-03-26, for
//! clients that have not moved to Streamable HTTP.
//!
//! [`LegacySseServer`] is a `tower::Service<http::Request<B>>` with two
//! routes:
//! - `GET` on the SSE path (default `/sse`) opens a session: the response is
//!   an event stream whose first event is `endpoint`, with the URL to POST
//!   to (`<messages path>?sessionId=<id>`); everything the server sends to
//!   this client (answers, progress, its own requests) follows as `message`
//!   events. The session ends when the client drops the stream.
//! - `POST` on the messages path (default `/messages`) with `?sessionId=`
//!   hands one JSON-RPC message (or batch) to that session and answers
//!   `202 Accepted`; its answer comes on the stream. An unknown session is
//!   404, a missing `sessionId` 400, a body that is not JSON-RPC 400.
//!
//! Each posted message reaches the MCP server as a
//! [`ServerRequest`] carrying the POST's
//! request extensions (where authentication layers put the caller), in the
//! session of its SSE connection. As in
//! [`serve_channel`](super::serve_channel), `initialize`, notifications and
//! answers are handled in order, other requests concurrently.
//!
//! `Origin` is checked on both routes as the Streamable HTTP transport
//! requires (a present, disallowed `Origin` gets 403): by default only
//! loopback origins (`localhost`, `127.0.0.1`, `[::1]`) are accepted, since
//! DNS rebinding is the threat for a local server. Requests without
//! `Origin` (non-browser clients) are accepted. (This check is a small copy
//! of the Streamable HTTP server's, which keeps its own private.)
//!
//! ```no_run
//! # async fn run(server: mcp_tower_services::server::McpServer) -> Result<(), Box<dyn std::error::Error>> {
//! use hyper_util::rt::TokioIo;
//! use hyper_util::service::TowerToHyperService;
//! use mcp_tower_services::transport::legacy_sse_server::LegacySseServer;
//!
//! let service = LegacySseServer::builder().build(server)?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! loop {
//!     let (stream, _) = listener.accept().await?;
//!     let service = TowerToHyperService::new(service.clone());
//!     tokio::spawn(hyper::server::conn::http1::Builder::new()
//!         .serve_connection(TokioIo::new(stream), service));
//! }
//! # }
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, ORIGIN};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame as BodyFrame, SizeHint};
use http_body_util::BodyExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::jsonrpc::{ErrorCode, ErrorObject, ErrorResponse, Message, Payload, parse};
use crate::peer::Outgoing;
use crate::protocol::methods;
use crate::server::{ServerRequest, Session};
use crate::transport::channel::{Frame, ServeMessages};

const TARGET: &str = "mcp_tower::legacy_sse";

/// Default largest POST body: 4 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Default most sessions at once.
pub const DEFAULT_MAX_SESSIONS: usize = 1024;
/// How many messages wait for a slow SSE client before the session waits.
const OUTBOX_CAPACITY: usize = 64;
/// How many posted messages wait for the session before the POST waits.
const QUEUE_CAPACITY: usize = 64;

/// The body of every response of [`LegacySseServer`]: a short fixed body, or
/// a session's event stream.
pub struct LegacySseBody {
    kind: BodyKind,
}

enum BodyKind {
    Full(Option<Bytes>),
    Stream {
        first: Option<Bytes>,
        events: mpsc::Receiver<Outgoing>,
        keep_alive: Option<Pin<Box<tokio::time::Interval>>>,
    },
}

impl LegacySseBody {
    fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            kind: BodyKind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// Whether this is a session's event stream.
    pub fn is_stream(&self) -> bool {
        matches!(self.kind, BodyKind::Stream { .. })
    }
}

impl fmt::Debug for LegacySseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacySseBody")
            .field("stream", &self.is_stream())
            .finish()
    }
}

fn message_event(outgoing: &Outgoing) -> Bytes {
    let json = match outgoing {
        Outgoing::One(message) => message.to_json(),
        Outgoing::Batch(messages) => serde_json::to_string(messages).unwrap_or_default(),
    };
    // Serialized JSON has no raw line breaks, so one data line suffices.
    Bytes::from(format!("event: message\ndata: {json}\n\n"))
}

impl Body for LegacySseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, Infallible>>> {
        match &mut self.get_mut().kind {
            BodyKind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(BodyFrame::data(b)))),
            BodyKind::Stream {
                first,
                events,
                keep_alive,
            } => {
                if let Some(first) = first.take() {
                    return Poll::Ready(Some(Ok(BodyFrame::data(first))));
                }
                match events.poll_recv(cx) {
                    Poll::Ready(Some(outgoing)) => {
                        return Poll::Ready(Some(Ok(BodyFrame::data(message_event(&outgoing)))));
                    }
                    Poll::Ready(None) => return Poll::Ready(None),
                    Poll::Pending => {}
                }
                if let Some(interval) = keep_alive {
                    if interval.as_mut().poll_tick(cx).is_ready() {
                        return Poll::Ready(Some(Ok(BodyFrame::data(Bytes::from_static(
                            b": keep-alive\n\n",
                        )))));
                    }
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.kind, BodyKind::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            BodyKind::Stream { .. } => SizeHint::default(),
        }
    }
}

/// Which `Origin` headers are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origins {
    Loopback,
    List(Vec<String>),
    Any,
}

/// Why a [`LegacySseServer`] configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LegacySseConfigError {
    /// A path does not start with `/`, or both routes have the same path.
    #[error("the SSE and messages paths must start with / and differ: {0:?}")]
    InvalidPath(String),
    /// An allowed origin is not `scheme://host[:port]`.
    #[error("allowed origin {0:?} is not of the form scheme://host[:port]")]
    InvalidOrigin(String),
}

#[derive(Debug, Clone)]
struct Config {
    sse_path: String,
    messages_path: String,
    origins: Origins,
    max_body_bytes: usize,
    max_sessions: usize,
    keep_alive: Option<Duration>,
}

/// Builder for [`LegacySseServer`].
#[derive(Debug, Clone)]
pub struct LegacySseServerBuilder {
    config: Config,
    origins: Vec<String>,
}

impl LegacySseServerBuilder {
    /// The path of the SSE route (default `/sse`).
    #[must_use]
    pub fn sse_path(mut self, path: impl Into<String>) -> Self {
        self.config.sse_path = path.into();
        self
    }

    /// The path of the messages route (default `/messages`). The `endpoint`
    /// event names it as given, so when the service is mounted under a
    /// prefix, include the prefix here and in the route.
    #[must_use]
    pub fn messages_path(mut self, path: impl Into<String>) -> Self {
        self.config.messages_path = path.into();
        self
    }

    /// Accepts exactly these origins (`scheme://host[:port]`) instead of the
    /// loopback ones.
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Accepts every origin (no check): only for servers that authenticate
    /// every request.
    #[must_use]
    pub fn allow_any_origin(mut self) -> Self {
        self.config.origins = Origins::Any;
        self
    }

    /// The largest POST body (default 4 MiB); larger ones get 413.
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.max_body_bytes = bytes;
        self
    }

    /// The most sessions at once (default 1024); more get 503.
    #[must_use]
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.config.max_sessions = sessions;
        self
    }

    /// Sends an SSE comment this often so proxies keep idle streams open
    /// (default: never).
    #[must_use]
    pub fn keep_alive(mut self, every: Duration) -> Self {
        self.config.keep_alive = Some(every);
        self
    }

    /// The service around `server`.
    pub fn build<S: ServeMessages>(
        mut self,
        server: S,
    ) -> Result<LegacySseServer<S>, LegacySseConfigError> {
        let config = &mut self.config;
        for path in [&config.sse_path, &config.messages_path] {
            if !path.starts_with('/') || path.contains(['?', '#']) {
                return Err(LegacySseConfigError::InvalidPath(path.clone()));
            }
        }
        if config.sse_path == config.messages_path {
            return Err(LegacySseConfigError::InvalidPath(config.sse_path.clone()));
        }
        if !self.origins.is_empty() && config.origins != Origins::Any {
            let mut list = Vec::new();
            for origin in &self.origins {
                match normalize_origin(origin) {
                    Some(origin) => list.push(origin),
                    None => return Err(LegacySseConfigError::InvalidOrigin(origin.clone())),
                }
            }
            config.origins = Origins::List(list);
        }
        Ok(LegacySseServer {
            server,
            shared: Arc::new(Shared {
                config: self.config,
                sessions: Mutex::new(HashMap::new()),
            }),
        })
    }
}

type Queue = mpsc::Sender<(Frame, http::Extensions)>;

struct Shared {
    config: Config,
    sessions: Mutex<HashMap<String, Queue>>,
}

impl Shared {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Queue>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The legacy HTTP+SSE transport as a tower service: see the
/// [module documentation](self).
pub struct LegacySseServer<S> {
    server: S,
    shared: Arc<Shared>,
}

impl<S: Clone> Clone for LegacySseServer<S> {
    fn clone(&self) -> Self {
        Self {
            server: self.server.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> fmt::Debug for LegacySseServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LegacySseServer")
            .field("config", &self.shared.config)
            .field("sessions", &self.active_sessions())
            .finish_non_exhaustive()
    }
}

impl LegacySseServer<()> {
    /// A builder with the defaults: `/sse`, `/messages`, loopback origins.
    pub fn builder() -> LegacySseServerBuilder {
        LegacySseServerBuilder {
            config: Config {
                sse_path: "/sse".to_owned(),
                messages_path: "/messages".to_owned(),
                origins: Origins::Loopback,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                max_sessions: DEFAULT_MAX_SESSIONS,
                keep_alive: None,
            },
            origins: Vec::new(),
        }
    }
}

impl<S> LegacySseServer<S> {
    /// How many SSE sessions are open.
    pub fn active_sessions(&self) -> usize {
        self.shared.sessions().len()
    }
}

/// A small JSON-RPC error body (id `null`), as the transports allow.
fn reject(status: StatusCode, code: ErrorCode, message: &str) -> Response<LegacySseBody> {
    let body = Message::Error(ErrorResponse::new(None, ErrorObject::new(code, message))).to_json();
    let mut response = Response::new(LegacySseBody::full(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

const TRANSPORT_ERROR: ErrorCode = ErrorCode(-32000);

/// `scheme://host[:port]`, lowercased, or `None` if it is not one.
fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    let valid = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !authority.is_empty()
        && !authority.contains(['/', '?', '#', '@']);
    valid.then_some(origin)
}

fn origin_host(origin: &str) -> Option<&str> {
    let (_, authority) = origin.split_once("://")?;
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map(|(host, _)| host);
    }
    Some(authority.split(':').next().unwrap_or(authority))
}

impl Config {
    fn origin_allowed(&self, origin: &HeaderValue) -> bool {
        let normalized = origin.to_str().ok().and_then(normalize_origin);
        match (&self.origins, normalized) {
            (Origins::Any, _) => true,
            (_, None) => false,
            (Origins::Loopback, Some(origin)) => {
                matches!(
                    origin_host(&origin),
                    Some("localhost" | "127.0.0.1" | "::1")
                )
            }
            (Origins::List(list), Some(origin)) => list.contains(&origin),
        }
    }
}

fn session_id() -> Result<String, getrandom::Error> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)?;
    let mut id = String::with_capacity(32);
    for b in bytes {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0xF)]));
    }
    Ok(id)
}

fn query_session(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("sessionId="))
}

impl<S, B> Service<Request<B>> for LegacySseServer<S>
where
    S: ServeMessages,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<LegacySseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.route(request).await) })
    }
}

impl<S: ServeMessages> LegacySseServer<S> {
    async fn route<B>(self, request: Request<B>) -> Response<LegacySseBody>
    where
        B: Body + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let config = &self.shared.config;
        if let Some(origin) = request.headers().get(ORIGIN) {
            if !config.origin_allowed(origin) {
                tracing::warn!(target: TARGET, origin = ?origin, "request refused: Origin not allowed (DNS rebinding defence)");
                return reject(
                    StatusCode::FORBIDDEN,
                    TRANSPORT_ERROR,
                    "Forbidden: Origin not allowed",
                );
            }
        }
        let path = request.uri().path();
        let method = request.method();
        if path == config.sse_path {
            if method == Method::GET {
                return self.open();
            }
            return not_allowed("GET");
        }
        if path == config.messages_path {
            if method == Method::POST {
                return post(Arc::clone(&self.shared), request).await;
            }
            return not_allowed("POST");
        }
        reject(StatusCode::NOT_FOUND, TRANSPORT_ERROR, "Not Found")
    }

    /// `GET` on the SSE path: a new session.
    fn open(&self) -> Response<LegacySseBody> {
        let config = &self.shared.config;
        let id = match session_id() {
            Ok(id) => id,
            Err(error) => {
                tracing::error!(target: TARGET, %error, "no randomness for a session id");
                return reject(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    TRANSPORT_ERROR,
                    "Internal Server Error",
                );
            }
        };
        let (queue, messages) = mpsc::channel(QUEUE_CAPACITY);
        {
            let mut sessions = self.shared.sessions();
            if sessions.len() >= config.max_sessions {
                drop(sessions);
                tracing::warn!(target: TARGET, "session refused: too many sessions");
                return reject(
                    StatusCode::SERVICE_UNAVAILABLE,
                    TRANSPORT_ERROR,
                    "Service Unavailable: too many sessions",
                );
            }
            sessions.insert(id.clone(), queue);
        }
        let (outbox, events) = mpsc::channel(OUTBOX_CAPACITY);
        let endpoint = format!(
            "event: endpoint\ndata: {}?sessionId={id}\n\n",
            config.messages_path
        );
        tokio::spawn(run_session(
            self.server.clone(),
            Arc::clone(&self.shared),
            id,
            Session::new(outbox.clone()),
            outbox,
            messages,
        ));
        tracing::debug!(target: TARGET, "legacy SSE session opened");
        let keep_alive = config.keep_alive.map(|every| {
            Box::pin(tokio::time::interval_at(
                tokio::time::Instant::now() + every,
                every,
            ))
        });
        let mut response = Response::new(LegacySseBody {
            kind: BodyKind::Stream {
                first: Some(Bytes::from(endpoint)),
                events,
                keep_alive,
            },
        });
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-transform"),
        );
        response
    }
}

/// `POST` on the messages path: one message (or batch) for a session.
async fn post<B>(shared: Arc<Shared>, request: Request<B>) -> Response<LegacySseBody>
where
    B: Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let Some(id) = query_session(parts.uri.query()) else {
        return reject(
            StatusCode::BAD_REQUEST,
            TRANSPORT_ERROR,
            "Bad Request: sessionId is required",
        );
    };
    let queue = shared.sessions().get(id).cloned();
    let Some(queue) = queue else {
        return reject(
            StatusCode::NOT_FOUND,
            ErrorCode(-32001),
            "Session not found",
        );
    };
    let json = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TRANSPORT_ERROR,
            "Unsupported Media Type: Content-Type must be application/json",
        );
    }
    let limit = shared.config.max_body_bytes;
    let body = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            if error.is::<http_body_util::LengthLimitError>() {
                return reject(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    TRANSPORT_ERROR,
                    &format!("Payload Too Large: the limit is {limit} bytes"),
                );
            }
            return reject(
                StatusCode::BAD_REQUEST,
                TRANSPORT_ERROR,
                "Bad Request: reading the body failed",
            );
        }
    };
    let frame = match parse(&body) {
        Ok(payload) => Frame::Payload(payload),
        Err(error) => {
            return reject(
                StatusCode::BAD_REQUEST,
                error.error.code,
                &error.error.message,
            );
        }
    };
    if queue.send((frame, parts.extensions)).await.is_err() {
        return reject(
            StatusCode::NOT_FOUND,
            ErrorCode(-32001),
            "Session not found",
        );
    }
    let mut response = Response::new(LegacySseBody::full("Accepted"));
    *response.status_mut() = StatusCode::ACCEPTED;
    response
}

fn not_allowed(allow: &'static str) -> Response<LegacySseBody> {
    let mut response = reject(
        StatusCode::METHOD_NOT_ALLOWED,
        TRANSPORT_ERROR,
        "Method Not Allowed",
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// One session: handles what its POSTs queue until the client drops the
/// stream, then forgets the session.
async fn run_session<S: ServeMessages>(
    server: S,
    shared: Arc<Shared>,
    id: String,
    session: Session,
    outbox: mpsc::Sender<Outgoing>,
    mut messages: mpsc::Receiver<(Frame, http::Extensions)>,
) {
    let mut in_flight = JoinSet::new();
    loop {
        let next = tokio::select! {
            () = outbox.closed() => None,
            next = messages.recv() => next,
        };
        let Some((frame, extensions)) = next else {
            break;
        };
        if let Frame::Payload(Payload::Single(message)) = &frame {
            let ordered = !matches!(message, Message::Request(_))
                || message.method() == Some(methods::INITIALIZE);
            if ordered {
                let Frame::Payload(Payload::Single(message)) = frame else {
                    continue;
                };
                if let Some(answer) = handle(server.clone(), &session, message, extensions).await {
                    let _ = outbox.send(Outgoing::One(answer)).await;
                }
                continue;
            }
        }
        let (server, session, outbox) = (server.clone(), session.clone(), outbox.clone());
        in_flight.spawn(async move {
            let answer = match frame {
                Frame::Invalid(error) => Some(Outgoing::One(Message::Error(error))),
                Frame::Payload(Payload::Single(message)) => {
                    handle(server, &session, message, extensions)
                        .await
                        .map(Outgoing::One)
                }
                Frame::Payload(Payload::Batch(items)) => {
                    let mut answers = Vec::new();
                    for item in items {
                        let answer = match item {
                            Ok(message) => {
                                handle(server.clone(), &session, message, extensions.clone()).await
                            }
                            Err(error) => Some(Message::Error(error)),
                        };
                        answers.extend(answer);
                    }
                    (!answers.is_empty()).then_some(Outgoing::Batch(answers))
                }
            };
            if let Some(answer) = answer {
                let _ = outbox.send(answer).await;
            }
        });
        while in_flight.try_join_next().is_some() {}
    }
    shared.sessions().remove(&id);
    drop(messages);
    // Nobody can answer the server's own requests any more; handlers still
    // running are stopped.
    session.pending().fail_all();
    in_flight.abort_all();
    tracing::debug!(target: TARGET, "legacy SSE session closed");
}

async fn handle<S: ServeMessages>(
    mut server: S,
    session: &Session,
    message: Message,
    extensions: http::Extensions,
) -> Option<Message> {
    let request = ServerRequest::new(message, session.clone()).with_extensions(extensions);
    match std::future::poll_fn(|cx| server.poll_ready(cx)).await {
        Ok(()) => match server.call(request).await {
            Ok(answer) => answer,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn origins() {
        let config = LegacySseServer::builder().config;
        let ok = |o: &'static str| config.origin_allowed(&HeaderValue::from_static(o));
        assert!(ok("http://localhost:3000"));
        assert!(ok("http://127.0.0.1"));
        assert!(ok("http://[::1]:8080"));
        assert!(!ok("http://evil.example"));
        assert!(!ok("http://localhost.evil.example"));
        assert!(!ok("null"));
        let server = LegacySseServer::builder()
            .allow_origin("https://App.example/")
            .build(crate::server::McpServer::builder().build().unwrap())
            .unwrap();
        let config = &server.shared.config;
        assert!(config.origin_allowed(&HeaderValue::from_static("https://app.example")));
        assert!(!config.origin_allowed(&HeaderValue::from_static("http://localhost")));
    }

    #[test]
    fn configuration_is_checked() {
        let server = || crate::server::McpServer::builder().build().unwrap();
        assert!(
            LegacySseServer::builder()
                .sse_path("sse")
                .build(server())
                .is_err()
        );
        assert!(
            LegacySseServer::builder()
                .messages_path("/sse")
                .build(server())
                .is_err()
        );
        assert!(
            LegacySseServer::builder()
                .allow_origin("not an origin")
                .build(server())
                .is_err()
        );
    }

    #[test]
    fn session_ids_are_random_hex() {
        let (a, b) = (session_id().unwrap(), session_id().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert_eq!(query_session(Some("x=1&sessionId=ab")), Some("ab"));
        assert_eq!(query_session(None), None);
    }
}
