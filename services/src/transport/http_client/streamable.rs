//! [`StreamableHttpClient`]: the client side of Streamable HTTP (MCP
//! 2025-03-26 and later, "Transports" → "Streamable HTTP").

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::{Message, Payload, RequestId};
use crate::peer::Outgoing;
use crate::protocol::methods;
use crate::transport::channel::{CHANNEL_CAPACITY, Channel, Frame, Transport};

use super::common::{
    self, EVENT_STREAM, HeaderSet, JSON, LAST_EVENT_ID, MCP_PROTOCOL_VERSION, MCP_SESSION_ID, Next,
    TARGET,
};
use super::reconnect::ReconnectPolicy;
use super::sse_parser::SseParser;
use super::{
    BoxError, ConfigError, DEFAULT_MAX_MESSAGE_BYTES, HttpService, HyperClient, SESSION_EXPIRED,
    TRANSPORT_ERROR,
};

/// How long the request after `notifications/initialized` waits for the
/// server to answer the GET that opens the standalone stream.
const STANDALONE_OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const ACCEPT_BOTH: HeaderValue = HeaderValue::from_static("application/json, text/event-stream");
const ACCEPT_SSE: HeaderValue = HeaderValue::from_static(EVENT_STREAM);
const CONTENT_JSON: HeaderValue = HeaderValue::from_static(JSON);

/// The Streamable HTTP client transport: open it with
/// [`McpClientBuilder::connect`](crate::client::McpClientBuilder::connect).
///
/// How messages go out:
/// - Every message is its own POST to the endpoint, with
///   `Accept: application/json, text/event-stream` and
///   `Content-Type: application/json`, the session id once there is one,
///   and `MCP-Protocol-Version` once `initialize` was answered.
/// - Notifications and answers to the server's requests are sent one after
///   the other, each once the previous got its status (202), so they reach
///   the server in order. Requests are sent in their own tasks, so a slow
///   tool does not hold up the next request; `initialize` is the
///   exception: nothing else is sent before its response headers arrived
///   (with the session id).
/// - `notifications/cancelled` also stops reading the cancelled request's
///   stream (the server will not answer it).
///
/// How messages come in: a JSON body or an SSE stream per posted request,
/// every message of which goes to the channel, and the optional GET stream,
/// opened once `notifications/initialized` was accepted (405: the server
/// offers none); what the client sends next waits until the server answered
/// that GET (for 2 s at most), so a server request sent on the stream while
/// the server handles the next request finds it open. A stream that ends before it is done is resumed with a GET
/// carrying `Last-Event-ID` (the POST stream only when the server gave an
/// event id, as 2025-11-25's SSE polling does), after the server's `retry`
/// or the [`ReconnectPolicy`]'s backoff.
///
/// On close (every clone of the outbox dropped) the transport stops its
/// streams and sends `DELETE` with the session id (a 405 is fine).
/// Requests still waiting for answers are abandoned.
#[derive(Clone)]
pub struct StreamableHttpClient<C> {
    http: C,
    config: Arc<Config>,
}

struct Config {
    endpoint: Uri,
    headers: HeaderMap,
    max_message_bytes: usize,
    reconnect: ReconnectPolicy,
    standalone_stream: bool,
    end_session_on_close: bool,
    modern_headers: bool,
}

/// Builder for [`StreamableHttpClient`].
#[derive(Debug)]
pub struct StreamableHttpClientBuilder {
    endpoint: String,
    headers: HeaderSet,
    max_message_bytes: usize,
    reconnect: ReconnectPolicy,
    standalone_stream: bool,
    end_session_on_close: bool,
    modern_headers: bool,
}

impl StreamableHttpClient<HyperClient> {
    /// The transport to `endpoint` over a plain HTTP/1.1 [`HyperClient`].
    pub fn hyper(endpoint: &str) -> Result<Self, ConfigError> {
        StreamableHttpClient::builder(endpoint).build_hyper()
    }
}

#[cfg(feature = "reqwest")]
impl StreamableHttpClient<super::ReqwestHttp<reqwest::Client>> {
    /// The transport to `endpoint` over `client`.
    pub fn reqwest(endpoint: &str, client: reqwest::Client) -> Result<Self, ConfigError> {
        StreamableHttpClient::builder(endpoint).build(super::ReqwestHttp::new(client))
    }
}

impl StreamableHttpClient<()> {
    /// A builder for the transport to `endpoint` (an absolute http or https
    /// URL: the MCP endpoint).
    pub fn builder(endpoint: &str) -> StreamableHttpClientBuilder {
        StreamableHttpClientBuilder {
            endpoint: endpoint.to_owned(),
            headers: HeaderSet::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            reconnect: ReconnectPolicy::default(),
            standalone_stream: true,
            end_session_on_close: true,
            modern_headers: true,
        }
    }
}

impl<C: HttpService> StreamableHttpClient<C> {
    /// The transport to `endpoint` over `http`, with the defaults.
    pub fn new(endpoint: &str, http: C) -> Result<Self, ConfigError> {
        StreamableHttpClient::builder(endpoint).build(http)
    }
}

impl StreamableHttpClientBuilder {
    /// Adds a header to every request (for example `Authorization`; a
    /// layer around the HTTP client is the other way). The transport's own
    /// headers (`Accept`, `Content-Type`, `Mcp-Session-Id`,
    /// `MCP-Protocol-Version`, `Last-Event-ID`) are refused.
    #[must_use]
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<http::HeaderName> + std::fmt::Debug,
        V: TryInto<HeaderValue>,
    {
        self.headers.add(name, value);
        self
    }

    /// The largest message accepted from the server (a JSON body, one SSE
    /// event); default 4 MiB. A larger SSE event is skipped; a larger JSON
    /// body fails its request.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// How streams are resumed (see [`ReconnectPolicy`]).
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// Whether to open the GET stream for the server's own requests and
    /// notifications after initialization (default `true`).
    #[must_use]
    pub fn standalone_stream(mut self, open: bool) -> Self {
        self.standalone_stream = open;
        self
    }

    /// Whether to send `DELETE` with the session id on close (default
    /// `true`).
    #[must_use]
    pub fn end_session_on_close(mut self, end: bool) -> Self {
        self.end_session_on_close = end;
        self
    }

    /// Whether requests of the modern revision (2026-07-28: protocol
    /// version in `_meta`) carry the headers that revision requires to
    /// mirror the body: `MCP-Protocol-Version` (the request's own),
    /// `Mcp-Method`, `Mcp-Name` and the `Mcp-Param-*` of the called tool's
    /// `x-mcp-header` parameters, Base64 sentinel where a value is not a
    /// plain header value. Default `true`; tools whose `x-mcp-header`
    /// annotations are invalid are then left out of `tools/list` answers.
    /// Requests of the older revisions never carry them.
    #[must_use]
    pub fn modern_headers(mut self, mirror: bool) -> Self {
        self.modern_headers = mirror;
        self
    }

    /// The transport over `http`.
    pub fn build<C: HttpService>(self, http: C) -> Result<StreamableHttpClient<C>, ConfigError> {
        Ok(StreamableHttpClient {
            http,
            config: Arc::new(Config {
                endpoint: common::endpoint(&self.endpoint)?,
                headers: self.headers.finish()?,
                max_message_bytes: self.max_message_bytes,
                reconnect: self.reconnect,
                standalone_stream: self.standalone_stream,
                end_session_on_close: self.end_session_on_close,
                modern_headers: self.modern_headers,
            }),
        })
    }

    /// The transport over a plain HTTP/1.1 [`HyperClient`].
    pub fn build_hyper(self) -> Result<StreamableHttpClient<HyperClient>, ConfigError> {
        self.build(super::hyper_client())
    }
}

impl<C: HttpService> Transport for StreamableHttpClient<C> {
    async fn open(self) -> io::Result<Channel> {
        let (outbox, outgoing) = mpsc::channel::<Outgoing>(CHANNEL_CAPACITY);
        let (frames, incoming) = mpsc::channel::<Frame>(CHANNEL_CAPACITY);
        let conn = Conn {
            http: self.http,
            state: Arc::new(State {
                config: self.config,
                session: Mutex::new(SessionState::default()),
                frames,
                shutdown: CancellationToken::new(),
                streams: Mutex::new(HashMap::new()),
                next_stream: AtomicU64::new(0),
                standalone_started: AtomicBool::new(false),
                tools: Mutex::default(),
            }),
        };
        let flushed = tokio::spawn(conn.write(outgoing));
        Ok(Channel {
            incoming,
            outbox,
            flushed,
        })
    }
}

impl<C> std::fmt::Debug for StreamableHttpClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamableHttpClient")
            .field("endpoint", &self.config.endpoint)
            .field("headers", &self.config.headers.keys().collect::<Vec<_>>())
            .field("max_message_bytes", &self.config.max_message_bytes)
            .field("reconnect", &self.config.reconnect)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct SessionState {
    id: Option<HeaderValue>,
    protocol_version: Option<HeaderValue>,
    /// The `initialize` request waiting for its answer.
    initialize: Option<RequestId>,
    expired: bool,
}

struct State {
    config: Arc<Config>,
    session: Mutex<SessionState>,
    frames: mpsc::Sender<Frame>,
    /// Cancelled on close and when the session expired: stops every task.
    shutdown: CancellationToken,
    /// The stream of each request waiting for its answer, with a number
    /// that tells the task that reads it from a later one.
    streams: Mutex<HashMap<RequestId, (u64, CancellationToken)>>,
    next_stream: AtomicU64,
    standalone_started: AtomicBool,
    /// What `tools/list` answers said of `x-mcp-header` parameters.
    tools: Mutex<super::mirror::ToolParams>,
}

/// What each task of an open transport holds.
struct Conn<C> {
    http: C,
    state: Arc<State>,
}

impl<C: Clone> Clone for Conn<C> {
    fn clone(&self) -> Self {
        Self {
            http: self.http.clone(),
            state: Arc::clone(&self.state),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The answer stream of posted requests (and its resumptions).
    Post,
    /// The GET stream.
    Get,
}

/// What the messages of one outgoing frame mean to the transport.
struct Outline {
    requests: Vec<RequestId>,
    initialize: Option<RequestId>,
    initialized: bool,
    cancelled: Vec<RequestId>,
}

fn outline(outgoing: &Outgoing) -> Outline {
    let messages: &[Message] = match outgoing {
        Outgoing::One(message) => std::slice::from_ref(message),
        Outgoing::Batch(messages) => messages,
    };
    let mut outline = Outline {
        requests: Vec::new(),
        initialize: None,
        initialized: false,
        cancelled: Vec::new(),
    };
    for message in messages {
        match message {
            Message::Request(request) => {
                if request.method == methods::INITIALIZE {
                    outline.initialize = Some(request.id.clone());
                }
                outline.requests.push(request.id.clone());
            }
            Message::Notification(n) if n.method == methods::INITIALIZED => {
                outline.initialized = true;
            }
            Message::Notification(n) if n.method == methods::NOTIFICATION_CANCELLED => {
                let id = n
                    .params
                    .as_ref()
                    .and_then(|p| p.get("requestId"))
                    .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
                outline.cancelled.extend(id);
            }
            _ => {}
        }
    }
    outline
}

fn body_of(outgoing: &Outgoing) -> Bytes {
    match outgoing {
        Outgoing::One(message) => Bytes::from(message.to_json()),
        Outgoing::Batch(messages) => {
            Bytes::from(serde_json::to_vec(messages).unwrap_or_else(|_| b"[]".to_vec()))
        }
    }
}

impl<C: HttpService> Conn<C> {
    fn session(&self) -> MutexGuard<'_, SessionState> {
        self.state
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn config(&self) -> &Config {
        &self.state.config
    }

    /// The writer: sends what the client puts in the outbox until it is
    /// closed (then ends the session) or the session expired.
    async fn write(self, mut outgoing: mpsc::Receiver<Outgoing>) -> io::Result<()> {
        let shutdown = self.state.shutdown.clone();
        loop {
            let next = tokio::select! {
                biased;
                () = shutdown.cancelled() => None,
                next = outgoing.recv() => next,
            };
            let Some(message) = next else { break };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = self.send(message) => {}
            }
        }
        // From here on the client's sends fail with `PeerError::Closed`.
        drop(outgoing);
        self.state.shutdown.cancel();
        self.end_session().await;
        Ok(())
    }

    /// Sends one outgoing frame.
    async fn send(&self, outgoing: Outgoing) {
        let outline = outline(&outgoing);
        let mirrored = if self.config().modern_headers {
            let mut tools = self.tools();
            tools.sent(&outgoing);
            super::mirror::headers(&outgoing, &tools)
        } else {
            HeaderMap::new()
        };
        let body = body_of(&outgoing);
        if outline.requests.is_empty() {
            let accepted = self.post_in_order(body, mirrored).await;
            for id in &outline.cancelled {
                self.stop_stream(id);
            }
            if accepted && outline.initialized {
                // What the client sends next waits until the GET stream is
                // open (or refused), so whatever the server sends there in
                // answer to it, say an elicitation while a tool runs, finds
                // the stream; a server slow to answer the GET holds the
                // client up for `STANDALONE_OPEN_WAIT` at most.
                let opened = self.open_standalone_stream();
                if tokio::time::timeout(STANDALONE_OPEN_WAIT, opened)
                    .await
                    .is_err()
                {
                    tracing::debug!(target: TARGET, "the GET stream is not open yet; sending on");
                }
            }
            return;
        }
        let token = self.state.shutdown.child_token();
        let stream = self.state.next_stream.fetch_add(1, Ordering::Relaxed);
        {
            let mut streams = self
                .state
                .streams
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for id in &outline.requests {
                streams.insert(id.clone(), (stream, token.clone()));
            }
        }
        let conn = self.clone();
        let ids = outline.requests;
        if let Some(id) = outline.initialize {
            // Nothing else goes out before the session id is known.
            self.session().initialize = Some(id);
            let posted = self.post(body, false, mirrored).await;
            let posted = match posted {
                Ok((response, _)) => match self.adopt_session(&response) {
                    Ok(()) => Ok((response, false)),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            tokio::spawn(async move {
                tokio::select! {
                    () = token.cancelled() => {}
                    () = conn.answer(&ids, posted) => {}
                }
                conn.forget_streams(&ids, stream);
            });
        } else {
            tokio::spawn(async move {
                tokio::select! {
                    () = token.cancelled() => {}
                    () = async {
                        let posted = conn.post(body, true, mirrored).await;
                        conn.answer(&ids, posted).await;
                    } => {}
                }
                conn.forget_streams(&ids, stream);
            });
        }
    }

    /// POSTs notifications or answers and waits for the status. Returns
    /// whether the server accepted them.
    async fn post_in_order(&self, body: Bytes, mirrored: HeaderMap) -> bool {
        match self.post(body, true, mirrored).await {
            Ok((response, sent_session)) => {
                let status = response.status();
                if status.is_success() {
                    return true;
                }
                if status == StatusCode::NOT_FOUND && sent_session {
                    self.expire();
                } else {
                    tracing::warn!(target: TARGET, status = status.as_u16(), "the MCP endpoint refused a notification or an answer");
                }
                false
            }
            Err(error) => {
                tracing::warn!(target: TARGET, %error, "sending a notification or an answer failed");
                false
            }
        }
    }

    fn request(&self, method: Method, with_session: bool) -> http::request::Builder {
        let config = self.config();
        let mut builder = Request::builder()
            .method(method)
            .uri(config.endpoint.clone());
        if let Some(headers) = builder.headers_mut() {
            headers.extend(config.headers.clone());
            if with_session {
                let session = self.session();
                if let Some(id) = &session.id {
                    headers.insert(MCP_SESSION_ID, id.clone());
                }
                if let Some(version) = &session.protocol_version {
                    headers.insert(MCP_PROTOCOL_VERSION, version.clone());
                }
            }
        }
        builder
    }

    fn sends_session(&self, with_session: bool) -> bool {
        with_session && self.session().id.is_some()
    }

    /// POSTs `body` with the `mirrored` headers of a modern request;
    /// `with_session` is false for `initialize`, which starts a session.
    /// Returns the response and whether a session id was sent.
    async fn post(
        &self,
        body: Bytes,
        with_session: bool,
        mirrored: HeaderMap,
    ) -> Result<(Response<C::ResponseBody>, bool), BoxError> {
        let sent_session = self.sends_session(with_session);
        let mut builder = self.request(Method::POST, with_session);
        if let Some(headers) = builder.headers_mut() {
            // The request's own version wins over the negotiated one.
            for (name, value) in &mirrored {
                headers.insert(name, value.clone());
            }
        }
        let request = builder
            .header(ACCEPT, ACCEPT_BOTH)
            .header(CONTENT_TYPE, CONTENT_JSON)
            .body(Full::new(body))?;
        Ok((common::call(&self.http, request).await?, sent_session))
    }

    /// Opens a GET stream, resuming after `last_event_id` if given.
    async fn get(
        &self,
        last_event_id: Option<&str>,
    ) -> Result<(Response<C::ResponseBody>, bool), BoxError> {
        let sent_session = self.sends_session(true);
        let mut builder = self.request(Method::GET, true).header(ACCEPT, ACCEPT_SSE);
        if let Some(id) = last_event_id.filter(|id| !id.is_empty()) {
            builder = builder.header(LAST_EVENT_ID, HeaderValue::from_str(id)?);
        }
        let request = builder.body(Full::new(Bytes::new()))?;
        Ok((common::call(&self.http, request).await?, sent_session))
    }

    /// Takes the session id from the answer to `initialize`.
    fn adopt_session(&self, response: &Response<C::ResponseBody>) -> Result<(), BoxError> {
        if !response.status().is_success() {
            return Ok(());
        }
        let id = match response.headers().get(MCP_SESSION_ID) {
            None => None,
            Some(id) => {
                // MCP "Session Management": visible ASCII only.
                let visible =
                    !id.is_empty() && id.as_bytes().iter().all(|b| (0x21..=0x7E).contains(b));
                if !visible {
                    return Err("the server's Mcp-Session-Id is not visible ASCII".into());
                }
                let mut id = id.clone();
                id.set_sensitive(true);
                Some(id)
            }
        };
        tracing::debug!(target: TARGET, session = id.is_some(), "initialize answered");
        let mut session = self.session();
        session.id = id;
        session.protocol_version = None;
        Ok(())
    }

    /// Hands the answers to posted requests `ids` to the client: from a JSON
    /// body or an SSE stream, or as errors when HTTP failed them.
    async fn answer(
        &self,
        ids: &[RequestId],
        posted: Result<(Response<C::ResponseBody>, bool), BoxError>,
    ) {
        let (response, sent_session) = match posted {
            Ok(posted) => posted,
            Err(error) => {
                tracing::debug!(target: TARGET, %error, "POST failed");
                let error = common::transport_error(format!(
                    "could not send the request to the MCP endpoint: {error}"
                ));
                self.fail(ids, &error).await;
                return;
            }
        };
        let status = response.status();
        if status == StatusCode::NOT_FOUND && sent_session {
            let error = common::http_error(response, SESSION_EXPIRED).await;
            self.fail(ids, &error).await;
            self.expire();
            return;
        }
        if !status.is_success() {
            tracing::debug!(target: TARGET, status = status.as_u16(), "the MCP endpoint refused a request");
            let error = common::http_error(response, TRANSPORT_ERROR).await;
            self.fail(ids, &error).await;
            return;
        }
        if status == StatusCode::ACCEPTED {
            // Not what the specification says for requests; the answer may
            // still come on the GET stream.
            tracing::debug!(target: TARGET, "a request was answered 202 Accepted");
            return;
        }
        match common::media_type(response.headers()).as_deref() {
            Some(EVENT_STREAM) => {
                self.read_stream(response.into_body(), ids.to_vec(), Kind::Post)
                    .await;
            }
            Some(JSON) => {
                let limit = self.config().max_message_bytes;
                match common::read_limited(response.into_body(), limit).await {
                    Ok(body) => {
                        let frame = common::frame_of(&body);
                        let answered = common::answers(&frame);
                        if !self.deliver(frame).await {
                            return;
                        }
                        let mut missing: Vec<RequestId> = ids
                            .iter()
                            .filter(|id| !answered.contains(id))
                            .cloned()
                            .collect();
                        if self.still_waiting(&mut missing) {
                            let error = common::transport_error(
                                "the MCP endpoint's JSON response did not answer the request",
                            );
                            self.fail(&missing, &error).await;
                        }
                    }
                    Err(error) => {
                        let error = common::transport_error(error.to_string());
                        self.fail(ids, &error).await;
                    }
                }
            }
            other => {
                let error = common::transport_error(format!(
                    "the MCP endpoint answered with content type {:?}, expected {JSON} or {EVENT_STREAM}",
                    other.unwrap_or("")
                ));
                self.fail(ids, &error).await;
            }
        }
    }

    /// Reads an SSE stream to its end, resuming it when it ends before it
    /// is done: a POST stream until every request in `awaiting` has its
    /// answer, the GET stream until the transport closes.
    async fn read_stream(&self, body: C::ResponseBody, mut awaiting: Vec<RequestId>, kind: Kind) {
        let limit = self.config().max_message_bytes;
        let mut parser = SseParser::new()
            .max_line_bytes(limit.saturating_add(64))
            .max_event_bytes(limit);
        let policy = self.config().reconnect.clone();
        let mut body = Box::pin(body);
        let mut attempt: u32 = 0;
        loop {
            let cursor = parser.last_event_id().to_owned();
            let (ended, delivered) = self.pump(&mut body, &mut parser, &mut awaiting, kind).await;
            match ended {
                Pumped::Done | Pumped::Closed => return,
                Pumped::Ended => {}
                Pumped::Failed(error) => {
                    tracing::debug!(target: TARGET, %error, ?kind, "an SSE stream broke");
                }
            }
            if delivered || parser.last_event_id() != cursor {
                attempt = 0;
            }
            if kind == Kind::Post && !self.still_waiting(&mut awaiting) {
                return;
            }
            if kind == Kind::Post && parser.last_event_id().is_empty() {
                let error = common::transport_error(
                    "the MCP endpoint ended the response stream before answering, with no event id to resume from",
                );
                self.fail(&awaiting, &error).await;
                return;
            }
            // Reconnect: wait, then GET with Last-Event-ID.
            body = loop {
                if attempt >= policy.attempts() {
                    tracing::debug!(target: TARGET, ?kind, attempts = attempt, "gave up resuming an SSE stream");
                    let error = common::transport_error(format!(
                        "the response stream ended and could not be resumed after {attempt} attempts"
                    ));
                    self.fail(&awaiting, &error).await;
                    return;
                }
                policy.sleep(policy.delay(attempt, parser.retry())).await;
                attempt += 1;
                if kind == Kind::Post && !self.still_waiting(&mut awaiting) {
                    return;
                }
                let cursor = parser.last_event_id().to_owned();
                match self.get(Some(&cursor)).await {
                    Ok((response, sent_session)) => {
                        let status = response.status();
                        if status == StatusCode::NOT_FOUND && sent_session {
                            let error = common::http_error(response, SESSION_EXPIRED).await;
                            self.fail(&awaiting, &error).await;
                            self.expire();
                            return;
                        }
                        if status == StatusCode::METHOD_NOT_ALLOWED {
                            let error = common::transport_error(
                                "the response stream ended and the MCP endpoint offers no GET stream to resume it",
                            );
                            self.fail(&awaiting, &error).await;
                            return;
                        }
                        let sse =
                            common::media_type(response.headers()).as_deref() == Some(EVENT_STREAM);
                        if status.is_success() && sse {
                            tracing::debug!(target: TARGET, ?kind, resumed = !cursor.is_empty(), "SSE stream reconnected");
                            parser.restart();
                            break Box::pin(response.into_body());
                        }
                        tracing::debug!(target: TARGET, status = status.as_u16(), "resuming an SSE stream failed");
                    }
                    Err(error) => {
                        tracing::debug!(target: TARGET, %error, "resuming an SSE stream failed");
                    }
                }
            };
        }
    }

    /// Reads one connection's SSE body; returns how it ended and whether
    /// any event came.
    async fn pump(
        &self,
        body: &mut Pin<Box<C::ResponseBody>>,
        parser: &mut SseParser,
        awaiting: &mut Vec<RequestId>,
        kind: Kind,
    ) -> (Pumped, bool) {
        let mut delivered = false;
        loop {
            let frame = match common::next_event(body, parser).await {
                Next::End => return (Pumped::Ended, delivered),
                Next::Failed(error) => return (Pumped::Failed(error), delivered),
                Next::Skipped(error) => {
                    tracing::warn!(target: TARGET, %error, "skipped part of an SSE stream");
                    common::skipped(error)
                }
                Next::Event(event) => {
                    delivered = true;
                    if event.event != "message" {
                        tracing::debug!(target: TARGET, "ignored an SSE event that is not a message");
                        continue;
                    }
                    if event.data.is_empty() {
                        // A priming event (only an id) or a keep-alive.
                        continue;
                    }
                    common::frame_of(event.data.as_bytes())
                }
            };
            let answered = common::answers(&frame);
            if !self.deliver(frame).await {
                return (Pumped::Closed, delivered);
            }
            awaiting.retain(|id| !answered.contains(id));
            if kind == Kind::Post && awaiting.is_empty() {
                return (Pumped::Done, delivered);
            }
        }
    }

    /// What the transport learnt of the tools' `x-mcp-header` parameters.
    fn tools(&self) -> std::sync::MutexGuard<'_, super::mirror::ToolParams> {
        self.state
            .tools
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a frame to the client; `false` when it stopped listening.
    async fn deliver(&self, mut frame: Frame) -> bool {
        self.observe(&frame);
        self.tools().received(&mut frame);
        let answered = common::answers(&frame);
        if !answered.is_empty() {
            // Whatever stream it came on, these requests wait no longer.
            let mut streams = self
                .state
                .streams
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for id in &answered {
                streams.remove(id);
            }
        }
        self.state.frames.send(frame).await.is_ok()
    }

    /// Drops from `awaiting` the requests answered meanwhile on another
    /// stream (or cancelled); `true` if some still wait.
    fn still_waiting(&self, awaiting: &mut Vec<RequestId>) -> bool {
        let streams = self
            .state
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        awaiting.retain(|id| streams.contains_key(id));
        !awaiting.is_empty()
    }

    /// Notes the negotiated version when the answer to `initialize` passes.
    fn observe(&self, frame: &Frame) {
        let mut session = self.session();
        let Some(initialize) = session.initialize.clone() else {
            return;
        };
        let messages: Vec<&Message> = match frame {
            Frame::Payload(Payload::Single(message)) => vec![message],
            Frame::Payload(Payload::Batch(items)) => {
                items.iter().filter_map(|i| i.as_ref().ok()).collect()
            }
            Frame::Invalid(_) => Vec::new(),
        };
        for message in messages {
            match message {
                Message::Response(response) if response.id == initialize => {
                    session.initialize = None;
                    let version = response
                        .result
                        .get("protocolVersion")
                        .and_then(Value::as_str)
                        .and_then(|v| HeaderValue::from_str(v).ok());
                    session.protocol_version = version;
                }
                Message::Error(error) if error.id.as_ref() == Some(&initialize) => {
                    session.initialize = None;
                }
                _ => {}
            }
        }
    }

    /// Fails each request in `ids` with `error`.
    async fn fail(&self, ids: &[RequestId], error: &crate::jsonrpc::ErrorObject) {
        for id in ids {
            if !self
                .deliver(common::error_frame(id.clone(), error.clone()))
                .await
            {
                return;
            }
        }
    }

    /// Stops reading the stream of a cancelled request.
    fn stop_stream(&self, id: &RequestId) {
        let token = self
            .state
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        if let Some((_, token)) = token {
            token.cancel();
        }
    }

    fn forget_streams(&self, ids: &[RequestId], stream: u64) {
        let mut streams = self
            .state
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            // A later request may reuse the id: only remove our own entry.
            if streams.get(id).is_some_and(|(s, _)| *s == stream) {
                streams.remove(id);
            }
        }
    }

    /// Opens the GET stream once, after initialization. The receiver is
    /// told (or dropped) once the server answered the GET, whatever it
    /// answered, or the GET failed; it ends at once when there is no GET
    /// stream to open.
    fn open_standalone_stream(&self) -> oneshot::Receiver<()> {
        let (answered, opened) = oneshot::channel();
        if !self.config().standalone_stream
            || self.state.standalone_started.swap(true, Ordering::SeqCst)
        {
            return opened;
        }
        let conn = self.clone();
        let token = self.state.shutdown.child_token();
        tokio::spawn(async move {
            tokio::select! {
                () = token.cancelled() => {}
                () = conn.standalone(answered) => {}
            }
        });
        opened
    }

    /// The GET stream: `answered` is told when the server answered the GET.
    async fn standalone(&self, answered: oneshot::Sender<()>) {
        let got = self.get(None).await;
        // The receiver may have stopped waiting; nothing to do then.
        let _ = answered.send(());
        match got {
            Ok((response, sent_session)) => {
                let status = response.status();
                if status == StatusCode::METHOD_NOT_ALLOWED {
                    tracing::debug!(target: TARGET, "the MCP endpoint offers no GET stream");
                } else if status == StatusCode::NOT_FOUND && sent_session {
                    self.expire();
                } else if status.is_success()
                    && common::media_type(response.headers()).as_deref() == Some(EVENT_STREAM)
                {
                    self.read_stream(response.into_body(), Vec::new(), Kind::Get)
                        .await;
                } else {
                    tracing::warn!(target: TARGET, status = status.as_u16(), "the MCP endpoint refused the GET stream");
                }
            }
            Err(error) => {
                tracing::warn!(target: TARGET, %error, "opening the GET stream failed");
            }
        }
    }

    /// The server ended the session (404 to its id): close everything.
    fn expire(&self) {
        {
            let mut session = self.session();
            if session.expired {
                return;
            }
            session.expired = true;
        }
        tracing::warn!(target: TARGET, "the MCP server ended the session (HTTP 404); the connection is closed, connect again for a new session");
        self.state.shutdown.cancel();
    }

    /// Sends `DELETE` with the session id, unless the session expired.
    async fn end_session(&self) {
        let live = {
            let session = self.session();
            session.id.is_some() && !session.expired
        };
        if !live || !self.config().end_session_on_close {
            return;
        }
        let request = match self
            .request(Method::DELETE, true)
            .body(Full::new(Bytes::new()))
        {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(target: TARGET, %error, "building DELETE failed");
                return;
            }
        };
        match common::call(&self.http, request).await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() || status == StatusCode::METHOD_NOT_ALLOWED {
                    tracing::debug!(target: TARGET, status = status.as_u16(), "session ended");
                } else {
                    tracing::debug!(target: TARGET, status = status.as_u16(), "the MCP endpoint refused to end the session");
                }
            }
            Err(error) => {
                tracing::debug!(target: TARGET, %error, "ending the session failed");
            }
        }
    }
}

/// How reading one connection's SSE body ended.
enum Pumped {
    /// Every awaited answer came (POST streams).
    Done,
    /// The client stopped listening.
    Closed,
    /// The body ended.
    Ended,
    /// Reading failed.
    Failed(BoxError),
}
