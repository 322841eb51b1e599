//! The Model Context Protocol as [`tower`](https://docs.rs/tower) services:
//! JSON-RPC 2.0 messages, MCP protocol types, and (in progress) the server
//! and client services and their transports.
//!
//! This crate does not depend on `mcp-tower-layers`; the umbrella crate
//! `mcp-tower` composes the two.

pub mod client;
pub mod jsonrpc;
pub mod peer;
pub mod protocol;
pub mod server;
pub mod transport;
