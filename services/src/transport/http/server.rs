//! [`StreamableHttpService`]: the server side of Streamable HTTP as a
//! `tower::Service<http::Request<B>>` (MCP 2025-11-25, basic/transports,
//! "Streamable HTTP").

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tower_service::Service;
use tracing::Instrument;

use super::body::McpBody;
use super::config::{
    HostPolicy, OriginPolicy, ResponseMode, StreamableHttpConfig, is_loopback_host,
    normalize_origin, split_host,
};
use super::request_metadata;
use super::session_store::{Busy, CreateError, HttpSession, SessionStore, plausible_session_id};
use super::sse::{
    Append, ConnectError, Connection, EventId, LogLimits, STANDALONE, StreamId, Streams,
};
use crate::jsonrpc::{self, ErrorCode, ErrorObject, ErrorResponse, Message, Payload};
use crate::peer::{Outbox, Outgoing};
use crate::protocol::request_headers::ParamHeaders;
use crate::protocol::{
    ClientCapabilities, HEADER_MISMATCH, Implementation, ProtocolVersion, methods,
};
use crate::server::{ServerRequest, Session};
use crate::transport::ServeMessages;

/// `Mcp-Session-Id` (transports, "Session Management").
pub const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// `MCP-Protocol-Version` (transports, "Protocol Version Header").
pub const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// `Last-Event-ID` (transports, "Resumability and Redelivery").
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The JSON-RPC code of transport-level rejections, as the official SDKs
/// use it.
pub const TRANSPORT_ERROR: ErrorCode = ErrorCode(-32000);
/// The JSON-RPC code in the body of a 404 for an unknown session.
pub const SESSION_NOT_FOUND: ErrorCode = ErrorCode(-32001);

const TARGET: &str = "mcp_tower::http";

/// The protocol revision assumed when nothing says otherwise (transports,
/// "Protocol Version Header").
const FALLBACK_VERSION: ProtocolVersion = ProtocolVersion::V2025_03_26;

/// Lets a handler steer its SSE stream; found in
/// [`RequestContext::extensions`](crate::server::RequestContext::extensions)
/// of every request that came in a POST.
///
/// [`close_stream`](Self::close_stream) implements 2025-11-25 "SSE polling"
/// (transports, "Sending Messages to the Server", item 6): the server closes
/// the connection of the request's stream (after a `retry` field) while the
/// request keeps running; the client reconnects with GET and
/// `Last-Event-ID` and gets what was sent meanwhile, and finally the answer.
///
/// ```
/// # use mcp_tower_services::server::{ToolContext, ToolError};
/// # use mcp_tower_services::protocol::CallToolResult;
/// use mcp_tower_services::transport::http::SseControl;
///
/// async fn long_job(ctx: ToolContext) -> Result<CallToolResult, ToolError> {
///     if let Some(sse) = ctx.extensions.get::<SseControl>() {
///         sse.close_stream(); // the client polls instead of holding a connection
///     }
///     // ... work ...
///     Ok(CallToolResult::text("done"))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SseControl {
    inner: Arc<ControlInner>,
}

#[derive(Debug)]
struct ControlInner {
    close: Notify,
    resumable: bool,
    streams: Weak<Streams>,
    retry: Option<Duration>,
}

impl SseControl {
    /// Whether the client can resume this request's stream: the session
    /// has an id, and the client (2025-11-25 or later) gets a priming event
    /// with an event id before anything else.
    pub fn is_resumable(&self) -> bool {
        self.inner.resumable
    }

    /// Closes the connection of this request's SSE stream (switching the
    /// answer to SSE first, so the client holds an event id) while the
    /// request keeps running. Returns `false`, and does nothing, when the
    /// stream is not resumable (see [`Self::is_resumable`]): closing it would
    /// lose the answer.
    pub fn close_stream(&self) -> bool {
        if !self.inner.resumable {
            tracing::debug!(target: TARGET, "close_stream ignored: the stream is not resumable");
            return false;
        }
        self.inner.close.notify_one();
        true
    }

    /// Closes the connection of the session's standalone (GET) stream,
    /// after a `retry` field; the client reconnects. Returns whether one was
    /// open.
    pub fn close_standalone_stream(&self) -> bool {
        self.inner
            .streams
            .upgrade()
            .is_some_and(|s| s.close_connection(STANDALONE, self.inner.retry))
    }
}

struct Shared {
    config: StreamableHttpConfig,
    store: SessionStore,
    limits: LogLimits,
}

/// The Streamable HTTP transport, server side: a `tower::Service` over
/// `http::Request<B>` that serves the MCP server `S` on one endpoint.
///
/// Mount it where the MCP endpoint is (it does not look at the path), for
/// example with axum's `Router::route_service("/mcp", service)` or hyper's
/// `TowerToHyperService`, behind the HTTP security layers you choose. Clones
/// share the sessions.
pub struct StreamableHttpService<S> {
    server: S,
    shared: Arc<Shared>,
}

impl<S: Clone> Clone for StreamableHttpService<S> {
    fn clone(&self) -> Self {
        Self {
            server: self.server.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> fmt::Debug for StreamableHttpService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamableHttpService")
            .field("config", &self.shared.config)
            .field("sessions", &self.shared.store)
            .finish_non_exhaustive()
    }
}

impl<S: ServeMessages> StreamableHttpService<S> {
    /// Serves `server` with `config` (see
    /// [`StreamableHttpConfig::builder`]).
    pub fn new(server: S, config: StreamableHttpConfig) -> Self {
        let limits = LogLimits {
            events: config.event_log_events,
            bytes: config.event_log_bytes,
        };
        let store = SessionStore::new(
            config.max_sessions,
            config.idle_timeout,
            limits,
            config.sse_channel_capacity,
            config.session_outbox_capacity,
        );
        Self {
            server,
            shared: Arc::new(Shared {
                config,
                store,
                limits,
            }),
        }
    }

    /// Serves `server` with the default configuration.
    pub fn with_defaults(server: S) -> Self {
        Self::new(server, StreamableHttpConfig::default())
    }

    /// The configuration.
    pub fn config(&self) -> &StreamableHttpConfig {
        &self.shared.config
    }

    /// How many sessions are open.
    pub fn session_count(&self) -> usize {
        self.shared.store.len()
    }

    /// Ends the session `id` as DELETE would; later requests with it get 404.
    pub fn close_session(&self, id: &str) -> bool {
        self.shared.store.remove(id)
    }

    /// Ends every session (at shutdown): requests in flight stop, SSE
    /// streams end.
    pub fn close_all_sessions(&self) {
        self.shared.store.clear();
    }
}

/// A boxed error of a request body.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future of [`StreamableHttpService`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<McpBody>, Infallible>> + Send>>;

impl<S, B> Service<Request<B>> for StreamableHttpService<S>
where
    S: ServeMessages,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Each message is run on a clone of the server, made ready then.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let this = self.clone();
        let span = tracing::debug_span!(target: TARGET, "mcp_http", method = %request.method());
        Box::pin(async move { Ok(this.handle(request).await) }.instrument(span))
    }
}

/// A rejection: status, JSON-RPC error code and message (sent as an error
/// response without id, transports "Sending Messages to the Server" item 4).
fn reject(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response<McpBody> {
    let message = message.into();
    tracing::debug!(target: TARGET, status = status.as_u16(), code = code.0, %message, "request refused");
    error_response(
        status,
        ErrorResponse::new(None, ErrorObject::new(code, message)),
    )
}

fn error_response(status: StatusCode, error: ErrorResponse) -> Response<McpBody> {
    let mut response = Response::new(McpBody::full(Message::Error(error).to_json()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn session_not_found() -> Response<McpBody> {
    reject(
        StatusCode::NOT_FOUND,
        SESSION_NOT_FOUND,
        "Session not found",
    )
}

/// Whether an `Accept` header lists `wanted` (a media type, without
/// wildcards, with a non-zero quality).
fn accepts(headers: &HeaderMap, wanted: &str) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case(wanted)
                && !parts.any(|p| {
                    p.split_once('=').is_some_and(|(k, v)| {
                        k.trim().eq_ignore_ascii_case("q")
                            && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
                    })
                })
        })
}

/// Whether the request's one `Content-Type` is `application/json`
/// (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    value.to_str().is_ok_and(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .eq_ignore_ascii_case("application/json")
    })
}

fn sse_response(body: McpBody) -> Response<McpBody> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    // Tells nginx not to buffer the stream.
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    response
}

fn json_response(bytes: Bytes) -> Response<McpBody> {
    let mut response = Response::new(McpBody::full(bytes));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn with_session_id(mut response: Response<McpBody>, http: &HttpSession) -> Response<McpBody> {
    if let Some(value) = http
        .id
        .as_deref()
        .and_then(|id| HeaderValue::from_str(id).ok())
    {
        response.headers_mut().insert(MCP_SESSION_ID, value);
    }
    response
}

/// Unregisters an SSE connection when its body is dropped, and keeps the
/// session active meanwhile. For a session of one POST (stateless, and
/// every 2026-07-28 request) the client closing the stream also cancels the
/// request (2026-07-28, "Cancellation"): nothing could resume it.
struct ConnGuard {
    streams: Arc<Streams>,
    stream: StreamId,
    conn: u64,
    cancel: Option<CancellationToken>,
    _busy: Busy,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.streams.disconnect(self.stream, self.conn);
        if let Some(cancel) = &self.cancel {
            cancel.cancel();
        }
    }
}

fn sse_body(http: &Arc<HttpSession>, conn: Connection, keep_alive: Option<Duration>) -> McpBody {
    let guard = ConnGuard {
        streams: Arc::clone(&http.streams),
        stream: conn.stream,
        conn: conn.id,
        cancel: http.id.is_none().then(|| http.closed.clone()),
        _busy: http.busy(),
    };
    McpBody::sse(conn.replay, conn.rx, keep_alive, Box::new(guard))
}

/// Whether a POST is one request that carries its protocol version in
/// `_meta` the 2026-07-28 way (a modern version, or one this server does not
/// know; not a legacy one), with that version when this server knows it.
enum Versioned {
    Yes(Option<ProtocolVersion>),
    No,
}

/// The request metadata of a POST (revision 2026-07-28, "Request Metadata"
/// and "Server Validation"):
/// - one request whose `MCP-Protocol-Version` header names a modern
///   revision must carry that version and the client's capabilities in
///   `_meta` (400 -32602 otherwise);
/// - one request with a modern or unknown version in `_meta` must carry the
///   same version in the header (400 `HeaderMismatch` otherwise) and, for a
///   modern version this server knows, `Mcp-Method` and `Mcp-Name` matching
///   the body; its `Mcp-Param-*` headers go on to the server as
///   [`ParamHeaders`].
///
/// Error answers carry the request's id.
#[allow(clippy::result_large_err)]
fn request_metadata(
    parts: &mut Parts,
    items: &[Result<Message, ErrorResponse>],
) -> Result<Versioned, Response<McpBody>> {
    let [Ok(Message::Request(request))] = items else {
        return Ok(Versioned::No);
    };
    let refuse = |code: ErrorCode, message: String| {
        tracing::debug!(target: TARGET, code = code.0, %message, "modern request refused");
        error_response(
            StatusCode::BAD_REQUEST,
            ErrorResponse::new(Some(request.id.clone()), ErrorObject::new(code, message)),
        )
    };
    let header = parts.headers.get(MCP_PROTOCOL_VERSION);
    let header_modern = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<ProtocolVersion>().ok())
        .is_some_and(ProtocolVersion::is_stateless);
    let Some(version) = request_metadata::meta_version(request) else {
        if header_modern {
            return Err(refuse(
                ErrorCode::INVALID_PARAMS,
                "Invalid params: a 2026-07-28 request must carry io.modelcontextprotocol/protocolVersion and io.modelcontextprotocol/clientCapabilities in _meta".into(),
            ));
        }
        return Ok(Versioned::No);
    };
    let known = version.parse::<ProtocolVersion>().ok();
    if known.is_some_and(|v| !v.is_stateless()) {
        // A legacy revision named in `_meta`: the legacy rules apply.
        return Ok(Versioned::No);
    }
    // Whatever the version, the header must name it (for a known modern
    // version `check` below repeats this with the other mirrored headers).
    if let Err(why) = request_metadata::check_version(&parts.headers, version) {
        return Err(refuse(HEADER_MISMATCH, format!("Header mismatch: {why}")));
    }
    if known.is_some() {
        if !request_metadata::declares_capabilities(request) {
            return Err(refuse(
                ErrorCode::INVALID_PARAMS,
                "Invalid params: _meta must carry io.modelcontextprotocol/clientCapabilities"
                    .into(),
            ));
        }
        if let Err(why) = request_metadata::check(&parts.headers, request, version) {
            return Err(refuse(HEADER_MISMATCH, format!("Header mismatch: {why}")));
        }
        let params = ParamHeaders::from_headers(&parts.headers);
        parts.extensions.insert(params);
    }
    Ok(Versioned::Yes(known))
}

/// What kind of POST is being answered.
#[allow(clippy::struct_excessive_bools)] // independent facts, not states
struct Shape {
    /// The body was a JSON-RPC batch.
    batch: bool,
    /// SSE streams start with a priming event.
    priming: bool,
    /// The POST is `initialize`.
    init: bool,
    /// The request carries its protocol version in `_meta`.
    versioned: bool,
}

/// What a POST's driver decided to answer with.
enum Decision {
    Json(Bytes, StatusCode),
    Sse(McpBody),
    /// Every request was cancelled: nothing to say.
    Nothing,
}

impl<S: ServeMessages> StreamableHttpService<S> {
    async fn handle<B>(self, request: Request<B>) -> Response<McpBody>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = request.into_parts();
        if let Err(response) = self.check_origin(&parts) {
            return response;
        }
        match parts.method {
            Method::POST => self.post(parts, body).await,
            Method::GET => self.get(&parts),
            Method::DELETE => self.delete(&parts),
            _ => self.method_not_allowed(),
        }
    }

    fn method_not_allowed(&self) -> Response<McpBody> {
        let config = self.config();
        let mut allow = String::from("POST");
        if config.stateful && config.allow_get {
            allow.push_str(", GET");
        }
        if config.stateful && config.allow_delete {
            allow.push_str(", DELETE");
        }
        let mut response = reject(
            StatusCode::METHOD_NOT_ALLOWED,
            TRANSPORT_ERROR,
            "Method not allowed",
        );
        if let Ok(value) = HeaderValue::from_str(&allow) {
            response.headers_mut().insert(ALLOW, value);
        }
        response
    }

    /// DNS rebinding defence (transports, "Security Warning" item 1): a
    /// present `Origin` must be allowed, and so must `Host` when a host
    /// policy is set; 403 otherwise.
    #[allow(clippy::result_large_err)]
    fn check_origin(&self, parts: &Parts) -> Result<(), Response<McpBody>> {
        let config = self.config();
        if let Some(origin) = parts.headers.get(ORIGIN) {
            let normalized = origin.to_str().ok().and_then(normalize_origin);
            let allowed = match (&config.origins, &normalized) {
                (OriginPolicy::Any, _) => true,
                (_, None) => false,
                (OriginPolicy::Loopback, Some(origin)) => origin
                    .split_once("://")
                    .and_then(|(_, authority)| split_host(authority))
                    .is_some_and(|(host, _)| is_loopback_host(host)),
                (OriginPolicy::List(list), Some(origin)) => list.contains(origin),
            };
            if !allowed {
                tracing::warn!(target: TARGET, origin = ?origin, "request refused: Origin not allowed (DNS rebinding defence)");
                return Err(reject(
                    StatusCode::FORBIDDEN,
                    TRANSPORT_ERROR,
                    "Forbidden: Origin not allowed",
                ));
            }
        }
        if config.hosts == HostPolicy::Any {
            return Ok(());
        }
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(http::uri::Authority::as_str))
            .map(str::to_ascii_lowercase);
        let allowed = host.as_deref().is_some_and(|full| {
            split_host(full).is_some_and(|(name, _)| match &config.hosts {
                HostPolicy::Any => true,
                HostPolicy::Loopback => is_loopback_host(name),
                HostPolicy::List(list) => list.contains(full) || list.contains(name),
            })
        });
        if allowed {
            Ok(())
        } else {
            tracing::warn!(target: TARGET, host = ?host, "request refused: Host not allowed (DNS rebinding defence)");
            Err(reject(
                StatusCode::FORBIDDEN,
                TRANSPORT_ERROR,
                "Forbidden: Host not allowed",
            ))
        }
    }

    /// The session a request names: 400 without `Mcp-Session-Id`, 404 for
    /// an unknown or expired one (transports, "Session Management" items 2
    /// and 3), and 404 as well for one that another owner opened, when
    /// sessions are bound to their owners ([`SessionOwner`](crate::transport::SessionOwner)).
    #[allow(clippy::result_large_err)]
    fn session(&self, parts: &Parts) -> Result<Arc<HttpSession>, Response<McpBody>> {
        let Some(value) = parts.headers.get(MCP_SESSION_ID) else {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                TRANSPORT_ERROR,
                "Bad Request: Mcp-Session-Id header is required",
            ));
        };
        value
            .to_str()
            .ok()
            .filter(|id| plausible_session_id(id))
            .and_then(|id| self.shared.store.get(id))
            .filter(|http| self.owned_by_caller(http, parts))
            .ok_or_else(session_not_found)
    }

    /// Whether the caller owns `http` (always, unless sessions are bound to
    /// their owners).
    fn owned_by_caller(&self, http: &HttpSession, parts: &Parts) -> bool {
        let Some(owner) = &self.config().session_owner else {
            return true;
        };
        let caller = owner.of(parts);
        let is_owner = caller == http.owner;
        if !is_owner {
            tracing::warn!(target: TARGET, authenticated = caller.is_some(), "a session was used by someone other than its owner; answered as unknown");
        }
        is_owner
    }

    /// The revision in `MCP-Protocol-Version`, if any; 400 for one this
    /// server does not accept (transports, "Protocol Version Header").
    #[allow(clippy::result_large_err)]
    fn header_version(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<ProtocolVersion>, Response<McpBody>> {
        let Some(value) = headers.get(MCP_PROTOCOL_VERSION) else {
            return Ok(None);
        };
        let accepted = &self.config().versions;
        let version = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<ProtocolVersion>().ok())
            .filter(|v| accepted.contains(v));
        if let Some(version) = version {
            return Ok(Some(version));
        }
        let list: Vec<&str> = accepted.iter().map(|v| v.as_str()).collect();
        Err(reject(
            StatusCode::BAD_REQUEST,
            TRANSPORT_ERROR,
            format!(
                "Bad Request: Unsupported protocol version: {} (supported versions: {})",
                String::from_utf8_lossy(value.as_bytes()),
                list.join(", ")
            ),
        ))
    }

    /// Whether SSE streams of a session at `version` start with a priming
    /// event (and so can be closed early and resumed).
    fn primes(&self, http: &HttpSession, version: ProtocolVersion) -> bool {
        let config = self.config();
        config.priming && http.id.is_some() && version >= ProtocolVersion::V2025_11_25
    }

    /// The messages of a POST body, whether it was a batch, and the revision
    /// an `initialize` among them negotiates.
    #[allow(clippy::result_large_err, clippy::type_complexity)]
    fn messages(
        &self,
        bytes: &[u8],
    ) -> Result<
        (
            Vec<Result<Message, ErrorResponse>>,
            bool,
            Option<ProtocolVersion>,
        ),
        Response<McpBody>,
    > {
        let config = self.config();
        let (items, batch) = match jsonrpc::parse(bytes) {
            Ok(Payload::Single(message)) => (vec![Ok(message)], false),
            Ok(Payload::Batch(items)) => (items, true),
            Err(error) => return Err(error_response(StatusCode::BAD_REQUEST, error)),
        };
        if batch && items.len() > config.max_batch_len {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                ErrorCode::INVALID_REQUEST,
                format!(
                    "Invalid Request: a batch must not exceed {} messages",
                    config.max_batch_len
                ),
            ));
        }
        let init = items.iter().find_map(|item| match item {
            Ok(Message::Request(r)) if r.method == methods::INITIALIZE => Some(
                r.params
                    .as_ref()
                    .and_then(|p| p.get("protocolVersion"))
                    .and_then(|v| v.as_str())
                    .map_or(ProtocolVersion::LATEST_LEGACY, ProtocolVersion::negotiate),
            ),
            _ => None,
        });
        if init.is_some() && batch {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                ErrorCode::INVALID_REQUEST,
                "Invalid Request: initialize must be sent alone",
            ));
        }
        Ok((items, batch, init))
    }

    /// The session of a POST: a new one for `initialize` without
    /// `Mcp-Session-Id` (503 when full), a fresh one per POST when stateless,
    /// otherwise the one named.
    #[allow(clippy::result_large_err)]
    fn post_session(
        &self,
        parts: &Parts,
        init: bool,
        modern: bool,
    ) -> Result<Arc<HttpSession>, Response<McpBody>> {
        let config = self.config();
        let headers = &parts.headers;
        // Revision 2026-07-28 has no sessions: its requests are served alone
        // even by a stateful service.
        if !config.stateful || (modern && !headers.contains_key(MCP_SESSION_ID)) {
            Ok(HttpSession::stateless(
                self.shared.limits,
                config.sse_channel_capacity,
            ))
        } else if init && !headers.contains_key(MCP_SESSION_ID) {
            match self.shared.store.create(
                config
                    .session_owner
                    .as_ref()
                    .and_then(|owner| owner.of(parts)),
            ) {
                Ok(http) => {
                    tracing::debug!(target: TARGET, sessions = self.shared.store.len(), "session created");
                    Ok(http)
                }
                Err(CreateError::Full) => {
                    tracing::warn!(target: TARGET, max = config.max_sessions, "initialize refused: too many sessions");
                    let mut response = reject(
                        StatusCode::SERVICE_UNAVAILABLE,
                        TRANSPORT_ERROR,
                        "Service Unavailable: too many sessions",
                    );
                    let after = config.sessions_retry_after.as_secs().max(1);
                    response
                        .headers_mut()
                        .insert(http::header::RETRY_AFTER, HeaderValue::from(after));
                    Err(response)
                }
                Err(CreateError::Random(error)) => {
                    tracing::error!(target: TARGET, %error, "no randomness for a session id");
                    Err(reject(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        ErrorCode::INTERNAL_ERROR,
                        "Internal Server Error",
                    ))
                }
            }
        } else {
            self.session(parts)
        }
    }

    async fn post<B>(self, mut parts: Parts, body: B) -> Response<McpBody>
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let config = self.config();
        if !(accepts(&parts.headers, "application/json")
            && accepts(&parts.headers, "text/event-stream"))
        {
            return reject(
                StatusCode::NOT_ACCEPTABLE,
                TRANSPORT_ERROR,
                "Not Acceptable: Client must accept both application/json and text/event-stream",
            );
        }
        if !is_json(&parts.headers) {
            return reject(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                TRANSPORT_ERROR,
                "Unsupported Media Type: Content-Type must be application/json",
            );
        }
        let bytes = match read_body(&parts.headers, body, config.max_body_bytes).await {
            Ok(bytes) => bytes,
            Err(response) => return response,
        };
        let (items, batch, init) = match self.messages(&bytes) {
            Ok(parsed) => parsed,
            Err(response) => return response,
        };
        drop(bytes);
        // A request with its version in `_meta` is checked against its
        // headers first (2026-07-28); its version, known or not, is the
        // server's to accept or refuse (-32022).
        let versioned = match request_metadata(&mut parts, &items) {
            Ok(versioned) => versioned,
            Err(response) => return response,
        };
        let header_version = match &versioned {
            Versioned::Yes(version) => *version,
            Versioned::No if init.is_some() => None,
            Versioned::No => match self.header_version(&parts.headers) {
                Ok(version) => version,
                Err(response) => return response,
            },
        };
        let modern = matches!(versioned, Versioned::Yes(_))
            || header_version.is_some_and(ProtocolVersion::is_stateless)
            || items.iter().any(|item| match item {
                Ok(Message::Request(request)) => is_modern_request(request),
                _ => false,
            });
        let versioned = matches!(versioned, Versioned::Yes(_));
        let http = match self.post_session(&parts, init.is_some(), modern) {
            Ok(http) => http,
            Err(response) => return response,
        };
        let version = init
            .or(header_version)
            .or_else(|| http.session.protocol_version())
            .unwrap_or(FALLBACK_VERSION);
        if http.id.is_none() && init.is_none() {
            // Stateless: a fresh session, treated as initialized.
            http.session.initialize(
                version,
                Implementation::new("stateless-client", "0"),
                ClientCapabilities::default(),
            );
            http.session.initialized();
        }
        if batch && !version.supports_batches() {
            return reject(
                StatusCode::BAD_REQUEST,
                ErrorCode::INVALID_REQUEST,
                format!(
                    "Invalid Request: JSON-RPC batches are not allowed in protocol version {version}"
                ),
            );
        }
        http.touch();
        let needs_answer = items
            .iter()
            .any(|item| matches!(item, Ok(Message::Request(_)) | Err(_)));
        if !needs_answer {
            // Notifications and answers to our requests: handled in order
            // before 202, so the client's next request sees their effect.
            let _busy = http.busy();
            for message in items.into_iter().flatten() {
                call(
                    self.server.clone(),
                    &http.session,
                    message,
                    parts.extensions.clone(),
                    None,
                )
                .await;
            }
            let mut response = with_session_id(Response::new(McpBody::empty()), &http);
            *response.status_mut() = StatusCode::ACCEPTED;
            return response;
        }
        let priming = config.response_mode != ResponseMode::JsonOnly && self.primes(&http, version);
        let shape = Shape {
            batch,
            priming,
            init: init.is_some(),
            versioned,
        };
        self.answer(http, items, parts.extensions, shape).await
    }

    async fn answer(
        self,
        http: Arc<HttpSession>,
        items: Vec<Result<Message, ErrorResponse>>,
        mut extensions: http::Extensions,
        shape: Shape,
    ) -> Response<McpBody> {
        let Shape {
            batch,
            priming,
            init,
            versioned,
        } = shape;
        let config = self.config();
        let stream = http.streams.open();
        let control = SseControl {
            inner: Arc::new(ControlInner {
                close: Notify::new(),
                resumable: priming,
                streams: Arc::downgrade(&http.streams),
                retry: config.sse_retry,
            }),
        };
        extensions.insert(control.clone());
        let (decide, decision) = oneshot::channel();
        let driver = Driver {
            http: Arc::clone(&http),
            stream,
            priming,
            retry: config.sse_retry,
            keep_alive: config.keep_alive,
            decide: Some(decide),
            sse: false,
            versioned,
            _busy: http.busy(),
        };
        let outbox_capacity = config.request_outbox_capacity;
        let mode = config.response_mode;
        let server = self.server.clone();
        tokio::spawn(
            driver
                .run(
                    server,
                    items,
                    batch,
                    extensions,
                    control,
                    mode,
                    outbox_capacity,
                )
                .in_current_span(),
        );
        let response = match decision.await {
            Ok(Decision::Json(bytes, status)) => {
                let mut response = json_response(bytes);
                *response.status_mut() = status;
                response
            }
            Ok(Decision::Sse(body)) => sse_response(body),
            Ok(Decision::Nothing) => sse_response(McpBody::empty()),
            Err(_) => return session_not_found(),
        };
        if init && http.session.phase() == crate::server::Phase::New {
            // initialize failed: no session to keep.
            if let Some(id) = &http.id {
                self.shared.store.remove(id);
            }
            return response;
        }
        with_session_id(response, &http)
    }

    fn get(&self, parts: &Parts) -> Response<McpBody> {
        let config = self.config();
        if !config.stateful || !config.allow_get {
            return self.method_not_allowed();
        }
        if !accepts(&parts.headers, "text/event-stream") {
            return reject(
                StatusCode::NOT_ACCEPTABLE,
                TRANSPORT_ERROR,
                "Not Acceptable: Client must accept text/event-stream",
            );
        }
        let http = match self.session(parts) {
            Ok(http) => http,
            Err(response) => return response,
        };
        let header_version = match self.header_version(&parts.headers) {
            Ok(version) => version,
            Err(response) => return response,
        };
        let after = match parts.headers.get(LAST_EVENT_ID) {
            None => None,
            Some(value) => match value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<EventId>().ok())
            {
                Some(id) => Some(id),
                None => {
                    return reject(
                        StatusCode::BAD_REQUEST,
                        TRANSPORT_ERROR,
                        "Bad Request: invalid Last-Event-ID",
                    );
                }
            },
        };
        http.touch();
        let version = header_version
            .or_else(|| http.session.protocol_version())
            .unwrap_or(FALLBACK_VERSION);
        let priming = self.primes(&http, version);
        match http.streams.connect(after, priming, config.sse_retry) {
            Ok(conn) => {
                tracing::debug!(target: TARGET, stream = conn.stream, resumed = after.is_some(), replayed = conn.replay.len(), "SSE stream connected");
                let body = sse_body(&http, conn, config.keep_alive);
                with_session_id(sse_response(body), &http)
            }
            Err(ConnectError::Busy) => reject(
                StatusCode::CONFLICT,
                TRANSPORT_ERROR,
                "Conflict: Only one SSE stream is allowed per session",
            ),
            Err(ConnectError::Unknown) if http.closed.is_cancelled() => session_not_found(),
            Err(ConnectError::Unknown) => reject(
                StatusCode::BAD_REQUEST,
                TRANSPORT_ERROR,
                "Bad Request: Last-Event-ID names no stream this session still has",
            ),
        }
    }

    fn delete(&self, parts: &Parts) -> Response<McpBody> {
        let config = self.config();
        if !config.stateful || !config.allow_delete {
            return self.method_not_allowed();
        }
        let http = match self.session(parts) {
            Ok(http) => http,
            Err(response) => return response,
        };
        if let Err(response) = self.header_version(&parts.headers) {
            return response;
        }
        if let Some(id) = &http.id {
            self.shared.store.remove(id);
        }
        tracing::debug!(target: TARGET, sessions = self.shared.store.len(), "session deleted");
        let mut response = Response::new(McpBody::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        response
    }
}

/// Reads a request body of at most `max` bytes: 413 beyond, 400 if it
/// cannot be read.
async fn read_body<B>(headers: &HeaderMap, body: B, max: usize) -> Result<Bytes, Response<McpBody>>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let too_large = || {
        reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            TRANSPORT_ERROR,
            format!("Payload Too Large: Request body must not exceed {max} bytes"),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(_) => Err(reject(
            StatusCode::BAD_REQUEST,
            TRANSPORT_ERROR,
            "Bad Request: the request body could not be read",
        )),
    }
}

/// Runs one message through a clone of the server.
async fn call<S: ServeMessages>(
    mut server: S,
    session: &Session,
    message: Message,
    extensions: http::Extensions,
    outbox: Option<Outbox>,
) -> Option<Message> {
    let mut request = ServerRequest::new(message, session.clone()).with_extensions(extensions);
    if let Some(outbox) = outbox {
        request = request.with_outbox(outbox);
    }
    match std::future::poll_fn(|cx| server.poll_ready(cx)).await {
        Ok(()) => match server.call(request).await {
            Ok(answer) => answer,
        },
    }
}

/// Answers the messages of one POST in order (as `serve_channel` answers a
/// batch); error entries of a batch answer themselves.
async fn answer_all<S: ServeMessages>(
    server: S,
    session: Session,
    items: Vec<Result<Message, ErrorResponse>>,
    mut extensions: http::Extensions,
    outbox: Option<Outbox>,
) -> Vec<Message> {
    let mut answers = Vec::new();
    let count = items.len();
    for (i, item) in items.into_iter().enumerate() {
        let answer = match item {
            Ok(message) => {
                let extensions = if i + 1 == count {
                    std::mem::take(&mut extensions)
                } else {
                    extensions.clone()
                };
                call(
                    server.clone(),
                    &session,
                    message,
                    extensions,
                    outbox.clone(),
                )
                .await
            }
            Err(error) => Some(Message::Error(error)),
        };
        answers.extend(answer);
    }
    answers
}

/// Runs the requests of one POST in their own task, so they outlive a
/// client that disconnects (transports: disconnection is not cancellation),
/// and decides the response: JSON when the answer comes first, SSE as soon
/// as something else must be sent.
struct Driver {
    http: Arc<HttpSession>,
    stream: StreamId,
    priming: bool,
    retry: Option<Duration>,
    keep_alive: Option<Duration>,
    decide: Option<oneshot::Sender<Decision>>,
    sse: bool,
    /// Whether the request carries its protocol version in `_meta`: a
    /// JSON answer's status then says what kind of error it is.
    versioned: bool,
    _busy: Busy,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    async fn run<S: ServeMessages>(
        mut self,
        server: S,
        items: Vec<Result<Message, ErrorResponse>>,
        batch: bool,
        extensions: http::Extensions,
        control: SseControl,
        mode: ResponseMode,
        outbox_capacity: usize,
    ) {
        let (outbox, mut rx) = mpsc::channel::<Outgoing>(outbox_capacity);
        let outbox = (mode != ResponseMode::JsonOnly).then_some(outbox);
        let mut rx_open = outbox.is_some();
        let answers = answer_all(server, self.http.session.clone(), items, extensions, outbox);
        tokio::pin!(answers);
        if mode == ResponseMode::SseAlways {
            self.switch();
        }
        let closed = self.http.closed.clone();
        let answers = loop {
            tokio::select! {
                biased;
                () = closed.cancelled() => return,
                () = control.inner.close.notified() => self.close_connection(),
                outgoing = rx.recv(), if rx_open => match outgoing {
                    Some(outgoing) => {
                        self.switch();
                        self.write(&outgoing_json(&outgoing)).await;
                    }
                    None => rx_open = false,
                },
                answers = &mut answers => break answers,
            }
        };
        // What the handler sent before answering is queued already.
        while let Ok(outgoing) = rx.try_recv() {
            self.switch();
            self.write(&outgoing_json(&outgoing)).await;
        }
        if self.sse {
            for answer in &answers {
                self.write(&answer.to_json()).await;
            }
            self.http.streams.finish(self.stream);
            return;
        }
        self.http.streams.discard(self.stream);
        let decision = match answers.as_slice() {
            [] => Decision::Nothing,
            [one] if !batch => {
                let status = if self.versioned {
                    request_metadata::status_of(one)
                } else {
                    StatusCode::OK
                };
                Decision::Json(Bytes::from(one.to_json()), status)
            }
            all => Decision::Json(
                Bytes::from(serde_json::to_string(all).unwrap_or_default()),
                StatusCode::OK,
            ),
        };
        if let Some(decide) = self.decide.take() {
            let _ = decide.send(decision);
        }
    }

    /// Answers with an SSE stream from now on.
    fn switch(&mut self) {
        if self.sse {
            return;
        }
        self.sse = true;
        let Some(conn) = self
            .http
            .streams
            .attach(self.stream, self.priming, self.retry)
        else {
            return;
        };
        let body = sse_body(&self.http, conn, self.keep_alive);
        if let Some(decide) = self.decide.take() {
            // If the client is gone, the body drops here and disconnects;
            // the request goes on and its events are logged.
            let _ = decide.send(Decision::Sse(body));
        }
    }

    /// `SseControl::close_stream`: switch to SSE (so the client gets the
    /// priming event id), then close the connection after `retry`.
    fn close_connection(&mut self) {
        self.switch();
        if self.http.streams.close_connection(self.stream, self.retry) {
            tracing::debug!(target: TARGET, stream = self.stream, "SSE connection closed early; the client will resume");
        }
    }

    /// Writes one event, waiting while the client's connection is full (or
    /// until that connection is replaced or gone).
    async fn write(&self, json: &str) {
        let streams = &self.http.streams;
        let mut reserved = None;
        loop {
            let changed = streams.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match streams.append_request(self.stream, json, reserved.take()) {
                Append::Done => return,
                Append::Wait { conn, tx } => tokio::select! {
                    permit = tx.reserve_owned() => match permit {
                        Ok(permit) => reserved = Some((conn, permit)),
                        Err(_) => streams.disconnect(self.stream, conn),
                    },
                    () = &mut changed => {}
                },
            }
        }
    }
}

fn outgoing_json(outgoing: &Outgoing) -> String {
    match outgoing {
        Outgoing::One(message) => message.to_json(),
        Outgoing::Batch(messages) => serde_json::to_string(messages).unwrap_or_default(),
    }
}

/// Whether a request speaks a modern revision (2026-07-28: its version in
/// `_meta`, no session).
fn is_modern_request(request: &jsonrpc::Request) -> bool {
    request_metadata::meta_version(request)
        .and_then(|v| v.parse::<ProtocolVersion>().ok())
        .is_some_and(ProtocolVersion::is_stateless)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn accept_lists_media_types() {
        let both = headers(&[("accept", "application/json, text/event-stream")]);
        assert!(accepts(&both, "application/json") && accepts(&both, "text/event-stream"));
        let split = headers(&[
            ("accept", "application/json"),
            ("accept", "TEXT/EVENT-STREAM;q=0.5"),
        ]);
        assert!(accepts(&split, "text/event-stream"));
        let zero = headers(&[("accept", "text/event-stream;q=0")]);
        assert!(!accepts(&zero, "text/event-stream"));
        let wildcard = headers(&[("accept", "*/*")]);
        assert!(!accepts(&wildcard, "application/json"));
        assert!(!accepts(&HeaderMap::new(), "application/json"));
    }

    #[test]
    fn content_type_is_json() {
        assert!(is_json(&headers(&[("content-type", "application/json")])));
        assert!(is_json(&headers(&[(
            "content-type",
            "Application/JSON; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[(
            "content-type",
            "application/json-seq"
        )])));
        assert!(!is_json(&HeaderMap::new()));
        assert!(!is_json(&headers(&[
            ("content-type", "application/json"),
            ("content-type", "application/json")
        ])));
    }
}
