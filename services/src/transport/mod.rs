//! Transports carry JSON-RPC messages between MCP peers. This module holds
//! the pieces they share; the transports themselves (stdio, Streamable HTTP,
//! WebSocket, TCP, Unix sockets) build on them.

pub mod lines;
#[cfg(feature = "stdio")]
pub mod stdio;
