//! An MCP server on stdio with the tools `echo` and `add`, the resource
//! `memo://about` and the prompt `greet`.
//!
//! ```text
//! cargo run --example stdio_server
//! ```
//!
//! Speaks newline-delimited JSON-RPC on stdin/stdout (logs go to stderr), as
//! MCP clients expect of a server they start as a child process.

#[path = "support/mcp_example.rs"]
mod mcp_example;

use mcp_tower::services::server::McpServer;
use mcp_tower::services::transport::stdio::serve_stdio;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // Logs go to stderr: stdout carries the protocol.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let server = mcp_example::add_examples(
        McpServer::builder()
            .name("mcp-tower-stdio-example")
            .version(env!("CARGO_PKG_VERSION")),
    )
    .build()
    .map_err(std::io::Error::other)?;
    serve_stdio(server).await
}
