//! Transports carry JSON-RPC messages between MCP peers. Every message
//! transport opens into a [`Channel`] (see [`Transport`]); servers run on one
//! with [`serve_channel`], clients with
//! [`McpClient::connect`](crate::client::McpClient::connect).

pub mod channel;
#[cfg(feature = "http-client")]
pub mod http_client;
pub mod lines;
#[cfg(feature = "stdio")]
pub mod stdio;
pub mod stream;

pub use channel::{Channel, ServeMessages, Transport, serve_channel};
pub use stream::StreamTransport;
