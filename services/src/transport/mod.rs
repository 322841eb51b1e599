//! Transports carry JSON-RPC messages between MCP peers. Every message
//! transport opens into a [`Channel`] (see [`Transport`]); servers run on one
//! with [`serve_channel`], clients with
//! [`McpClientBuilder::connect`](crate::client::McpClientBuilder::connect).
//!
//! # Transports
//!
//! | Transport | Module | Cargo feature | Client | Server |
//! | --- | --- | --- | --- | --- |
//! | stdio (this process's stdin/stdout) | `stdio` | `stdio` | — | `serve_stdio` |
//! | any byte stream, newline-delimited JSON | [`stream`] | — | [`StreamTransport`] | [`serve_channel`] |
//! | TCP | `tcp` | `tcp` | `tcp::connect` | `tcp::serve` |
//! | Unix domain socket (Unix only) | `unix` | `unix` | `unix::connect` | `unix::serve` |
//! | TLS over TCP (rustls) | `tls` | `tls` | `tls::connect` | `tls::serve` |
//! | WebSocket, subprotocol `mcp` (`wss` with `tls`) | `websocket` | `websocket` | `websocket::connect` | `websocket::serve`, `websocket::accept` |
//! | a child process's stdin/stdout | `child` | `child-process` | `child::ChildProcess` | — |
//! | Streamable HTTP, client side (over any tower HTTP client) | `http_client` | `http-client` | `http_client::StreamableHttpClient` | — |
//! | HTTP+SSE of 2024-11-05 (deprecated) | `http_client`, `legacy_sse_server` | `http-client`, `legacy-sse` | `http_client::LegacySseClient` | `legacy_sse_server::LegacySseServer` |
//! | Streamable HTTP (server side; mount it with axum or hyper) | `http` | `http-server` | — | `http::StreamableHttpService` |
//!
//! The listening servers (TCP, Unix, TLS, WebSocket) share `serve::Serve`:
//! one session per connection in its own task, a bounded number of
//! connections, graceful shutdown, and a `serve::ServerHandle` that counts
//! the open connections. What a transport knows about a connection (the
//! peer's `ClientAddr`, TLS details, Unix peer credentials) reaches every
//! request as an extension, through [`serve_channel_with`].

pub mod channel;
#[cfg(feature = "child-process")]
pub mod child;
#[cfg(feature = "http-server")]
pub mod http;
#[cfg(feature = "http-client")]
pub mod http_client;
#[cfg(feature = "legacy-sse")]
pub mod legacy_sse_server;
pub mod lines;
#[cfg(any(
    feature = "tcp",
    feature = "unix",
    feature = "tls",
    feature = "websocket"
))]
pub mod serve;
pub mod session_owner;
#[cfg(feature = "stdio")]
pub mod stdio;
pub mod stream;
#[cfg(feature = "tcp")]
pub mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(all(unix, feature = "unix"))]
pub mod unix;
#[cfg(feature = "websocket")]
pub mod websocket;

pub use channel::{Channel, ServeMessages, Transport, serve_channel, serve_channel_with};
#[cfg(any(
    feature = "tcp",
    feature = "unix",
    feature = "tls",
    feature = "websocket"
))]
pub use serve::{ClientAddr, Serve, ServerHandle};
pub use session_owner::SessionOwner;
pub use stream::StreamTransport;
