//! The client side of MCP's HTTP transports, over any tower HTTP client:
//!
//! - [`StreamableHttpClient`]: Streamable HTTP (MCP 2025-03-26 and later,
//!   "Transports" → "Streamable HTTP"): every message posted to one
//!   endpoint, answers as JSON or as an SSE stream, `Mcp-Session-Id` and
//!   `MCP-Protocol-Version` headers, the optional GET stream, resumption
//!   with `Last-Event-ID` (also the SSE polling of 2025-11-25), and `DELETE`
//!   of the session on close. Optionally
//!   ([`StreamableHttpClientBuilder::modern_headers`]) requests of the modern
//!   revision (2026-07-28) also get the headers it mirrors from the body.
//! - [`LegacySseClient`]: the HTTP+SSE transport of revision 2024-11-05 (a GET
//!   SSE stream whose `endpoint` event names the URL to POST to).
//! - [`SseParser`]: the `text/event-stream` parser both use.
//!
//! Both are generic over the HTTP client `C`: any
//! `tower::Service<http::Request<Full<Bytes>>, Response = http::Response<B>>`
//! (see [`HttpService`]). That is where authentication composes: wrap the
//! client in `mcp-tower-layers`' `DpopSigningLayer`, a layer that adds
//! `Authorization`, a timeout or a retry layer, and hand the stack to the
//! transport. [`hyper_client`] builds a plain HTTP/1.1 client (hyper-util,
//! TCP; TLS is the connector you choose when you build your own), and with
//! the `reqwest` feature [`ReqwestHttp`] adapts a `reqwest::Client`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_tower_services::client::McpClient;
//! use mcp_tower_services::transport::http_client::StreamableHttpClient;
//!
//! let transport = StreamableHttpClient::builder("http://127.0.0.1:8080/mcp")
//!     .header("authorization", "Bearer token")
//!     .build_hyper()?;
//! let client = McpClient::builder().connect(transport).await?;
//! client.initialize().await?;
//! let tools = client.list_tools().await?;
//! # let _ = tools;
//! client.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Errors reach the waiting request
//!
//! When a posted request gets no answer because of HTTP (an error status, a
//! connection that failed, a stream that ended and could not be resumed),
//! the transport hands the client a JSON-RPC error response with that
//! request's id, so the call fails with `PeerError::Remote` at once instead
//! of waiting for its timeout. If the server's error body is itself a
//! JSON-RPC error (as the specification allows), its code and message are
//! used; otherwise the code is [`TRANSPORT_ERROR`]. Either way `data` holds
//! `httpStatus` (and `wwwAuthenticate` for 401 and 403). A 404 to a request
//! that carried a session id means the server ended the session: that
//! request fails with the server's error or [`SESSION_EXPIRED`], and the
//! connection closes (every other waiting request fails with
//! `PeerError::Closed`); connect again to start a new session.
//!
//! Logs go to the `tracing` target `mcp_tower::http_client`; they never
//! contain bodies or header values.

mod common;
mod legacy_sse;
mod mirror;
mod reconnect;
#[cfg(feature = "reqwest")]
mod reqwest_http;
pub mod sse_parser;
mod streamable;

use std::error::Error as StdError;

use bytes::Bytes;
use http_body_util::Full;
use tower_service::Service;

use crate::jsonrpc::ErrorCode;

pub use legacy_sse::{DEFAULT_ENDPOINT_TIMEOUT, LegacySseClient, LegacySseClientBuilder};
pub use reconnect::ReconnectPolicy;
#[cfg(feature = "reqwest")]
pub use reqwest_http::ReqwestHttp;
pub use sse_parser::{SseError, SseEvent, SseParser};
pub use streamable::{StreamableHttpClient, StreamableHttpClientBuilder};

/// The error type the HTTP clients' errors are converted to.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The code of the error a request gets when HTTP failed it and the server
/// sent no JSON-RPC error of its own (the code the TypeScript SDK uses for
/// transport errors too).
pub const TRANSPORT_ERROR: ErrorCode = ErrorCode(-32000);

/// The code of the error a request gets when the server answers 404 to its
/// session id and sent no JSON-RPC error of its own (the TypeScript SDK's
/// "Session not found").
pub const SESSION_EXPIRED: ErrorCode = ErrorCode(-32001);

/// Default largest message (a JSON body, an SSE event's data): 4 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = crate::transport::lines::DEFAULT_MAX_MESSAGE_BYTES;

/// An HTTP client the transports can send requests with: any tower service
/// from `http::Request<Full<Bytes>>` to `http::Response<B>` that can be
/// shared between tasks (`Clone + Send + Sync`) and whose body, error and
/// future can move between them. Implemented for every such service; you
/// never implement it yourself.
pub trait HttpService:
    Service<
        http::Request<Full<Bytes>>,
        Response = http::Response<Self::ResponseBody>,
        Error: Into<BoxError>,
        Future: Send,
    > + Clone
    + Send
    + Sync
    + 'static
{
    /// The response body.
    type ResponseBody: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static;
}

impl<S, B> HttpService for S
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type ResponseBody = B;
}

/// hyper-util's pooled HTTP/1.1 client over plain TCP, as the transports
/// send with it.
pub type HyperClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

/// A [`HyperClient`]: HTTP/1.1 over TCP, connections pooled. For TLS build
/// a `hyper_util::client::legacy::Client` with an HTTPS connector (for
/// example hyper-rustls) and pass it to the transport's `build`.
pub fn hyper_client() -> HyperClient {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Why a transport's configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The endpoint is not an absolute `http` or `https` URL.
    #[error("the endpoint must be an absolute http or https URL: {0}")]
    InvalidEndpoint(String),
    /// A header name or value given to the builder is not valid HTTP.
    #[error("the header {name:?} is not a valid HTTP header name and value")]
    InvalidHeader {
        /// The header's name (as given).
        name: String,
    },
    /// A header the transport sets itself.
    #[error("the header {0} is set by the transport and cannot be configured")]
    ReservedHeader(String),
}
