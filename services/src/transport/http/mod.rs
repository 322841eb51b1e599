//! The Streamable HTTP transport, server side (MCP 2025-11-25 and
//! 2025-06-18, basic/transports, "Streamable HTTP"; batches as in
//! 2025-03-26): [`StreamableHttpService`] serves an MCP server (an
//! [`McpServer`](crate::server::McpServer) or any tower stack around one) as
//! a `tower::Service<http::Request<B>>`, to mount on one endpoint behind the
//! HTTP layers you choose.
//!
//! ```no_run
//! # async fn run(server: mcp_tower_services::server::McpServer) -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_tower_services::transport::http::{StreamableHttpConfig, StreamableHttpService};
//!
//! let config = StreamableHttpConfig::builder()
//!     .allow_loopback_hosts() // bound to 127.0.0.1: refuse other Host headers too
//!     .max_sessions(256)
//!     .build()?;
//! let service = StreamableHttpService::new(server, config);
//! // axum: Router::new().route_service("/mcp", service)
//! // hyper: hyper_util::service::TowerToHyperService::new(service)
//! # drop(service);
//! # Ok(())
//! # }
//! ```
//!
//! # What the service does
//!
//! | Request | Answer (spec section) |
//! | --- | --- |
//! | POST, one JSON-RPC request | `application/json` with the answer, or `text/event-stream` with the request's progress, log messages and server-to-client requests, then the answer (Sending Messages, item 5); see [`ResponseMode`] |
//! | POST, only notifications or responses | 202, no body (Sending Messages, item 4) |
//! | POST `initialize` | a new session; its `Mcp-Session-Id` in the response (Session Management, item 1) |
//! | POST, a JSON array | accepted only when the session's revision is 2025-03-26; otherwise 400 with -32600 |
//! | GET with `Accept: text/event-stream` | the session's standalone SSE stream: what is sent to the session outside requests (Listening for Messages); a second one at a time gets 409 |
//! | GET with `Last-Event-ID` | resumes the stream that event belongs to: the logged events after it, then the rest (Resumability and Redelivery) |
//! | DELETE | ends the session: 204 (Session Management, item 5) |
//!
//! Rejections carry a JSON-RPC error response without id: 400 without
//! `Mcp-Session-Id` (-32000), 404 for an unknown or expired session
//! (-32001: the client must initialize again), 400 for an unsupported
//! `MCP-Protocol-Version`, 403 for a refused `Origin` or `Host`, 405 for
//! GET or DELETE when disabled (and in stateless mode), 406 when `Accept`
//! does not list both `application/json` and `text/event-stream` (POST) or
//! `text/event-stream` (GET) — wildcards do not count, as in the official
//! TypeScript SDK —, 413 for a body over the limit, 415 for a
//! `Content-Type` other than `application/json`, 400 with -32700 for
//! invalid JSON and -32600 for an invalid message, 503 with `Retry-After`
//! when every session slot is taken (a server-wide condition, not one
//! client's rate).
//!
//! # Decisions
//!
//! - **Origin** (Security Warning): by default only origins on `localhost`,
//!   `127.0.0.1` and `[::1]` are accepted, and requests without `Origin`
//!   (non-browser clients; browsers send it on every POST, so on the
//!   `initialize` every session needs). A server reached under a public
//!   name lists its origins ([`StreamableHttpConfigBuilder::allow_origin`]).
//!   A `Host` allowlist is off by default; servers bound to loopback should
//!   turn it on ([`StreamableHttpConfigBuilder::allow_loopback_hosts`]).
//! - **Protocol version**: `MCP-Protocol-Version` when present (400 if not
//!   accepted); otherwise the version negotiated at `initialize`; otherwise
//!   2025-03-26, as the spec says.
//! - **JSON or SSE**: a request is answered with plain JSON when its
//!   handler answers without sending anything first; as soon as it sends a
//!   message (or closes its stream early), the answer becomes an SSE stream.
//! - **Disconnection is not cancellation** (Sending Messages, item 6): a
//!   POST's requests run in their own task; when the client goes away they
//!   continue, their events are logged, and the client can resume with
//!   `Last-Event-ID`. To cancel, clients send `notifications/cancelled`.
//!   Requests stop when their session ends (DELETE, idle timeout).
//! - **Resumability**: every SSE event has an id `STREAM-SEQUENCE`, unique
//!   in the session and naming its stream. A session keeps a bounded log of
//!   recent events over all its streams
//!   ([`StreamableHttpConfigBuilder::event_log_events`] and
//!   [`event_log_bytes`](StreamableHttpConfigBuilder::event_log_bytes)).
//!   Messages sent while no GET stream is connected wait in that log (and
//!   are dropped, with a warning, when it overflows).
//! - **SSE polling** (2025-11-25): for sessions at 2025-11-25 or later, SSE
//!   streams start with a priming event (an id, `retry` if configured, empty
//!   data), and a handler can close its stream's connection early with
//!   [`SseControl::close_stream`] (found in the request extensions): the
//!   client reconnects with `Last-Event-ID` and gets the rest.
//! - **Slow clients**: every SSE connection has a bounded buffer. A request
//!   stream's handler waits for its own client; the standalone stream never
//!   waits: a connection that cannot keep up is closed and its client
//!   resumes from the log. No client can hold up another session.
//! - **Sessions**: ids are 256 random bits from the operating system, in
//!   hex. A session ends on DELETE, or after
//!   [`idle_timeout`](StreamableHttpConfigBuilder::idle_timeout) with no
//!   request, no request in flight and no SSE connection open.
//! - **Stateless mode** ([`StreamableHttpConfigBuilder::stateless`]): no
//!   session ids; each POST is served by a fresh session, already
//!   initialized unless the POST is `initialize`, as the TypeScript SDK's
//!   `sessionIdGenerator: undefined`; GET and DELETE get 405.
//! - **Extensions**: the HTTP request's extensions (where the auth layers
//!   put the caller's identity) are moved into every
//!   [`ServerRequest`](crate::server::ServerRequest) of the POST, with an
//!   [`SseControl`].
//! - **Logs** (target `mcp_tower::http`): never bodies, headers with
//!   credentials, or session ids.

mod body;
mod config;
mod request_metadata;
mod server;
mod session_store;
mod sse;

pub use super::session_owner::SessionOwner;
pub use body::McpBody;
pub use config::{
    ConfigError, DEFAULT_EVENT_LOG_BYTES, DEFAULT_EVENT_LOG_EVENTS, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_KEEP_ALIVE, DEFAULT_MAX_BATCH_LEN, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_SESSIONS,
    DEFAULT_REQUEST_OUTBOX_CAPACITY, DEFAULT_SESSION_OUTBOX_CAPACITY, DEFAULT_SESSIONS_RETRY_AFTER,
    DEFAULT_SSE_CHANNEL_CAPACITY, DEFAULT_SSE_RETRY, HostPolicy, OriginPolicy, ResponseMode,
    StreamableHttpConfig, StreamableHttpConfigBuilder,
};
pub use server::{
    LAST_EVENT_ID, MCP_PROTOCOL_VERSION, MCP_SESSION_ID, ResponseFuture, SESSION_NOT_FOUND,
    SseControl, StreamableHttpService, TRANSPORT_ERROR,
};
