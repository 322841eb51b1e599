//! An MCP server on stdio with the tools `echo` and `add`.
//!
//! ```text
//! cargo run --example stdio_server
//! ```
//!
//! Speaks newline-delimited JSON-RPC on stdin/stdout (logs go to stderr), as
//! MCP clients expect of a server they start as a child process.

use mcp_tower::services::protocol::CallToolResult;
use mcp_tower::services::server::{McpServer, ToolContext, ToolError};
use mcp_tower::services::transport::stdio::serve_stdio;

/// Arguments of `echo`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Echo {
    /// The text to send back.
    text: String,
}

/// Arguments of `add`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    /// The first addend.
    a: i64,
    /// The second addend.
    b: i64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let server = McpServer::builder()
        .name("mcp-tower-stdio-example")
        .version(env!("CARGO_PKG_VERSION"))
        .tool(
            "echo",
            "Echoes the text back",
            |_ctx: ToolContext, args: Echo| async move {
                Ok::<_, ToolError>(CallToolResult::text(args.text))
            },
        )
        .tool(
            "add",
            "Adds two integers",
            |_ctx: ToolContext, args: Add| async move {
                args.a
                    .checked_add(args.b)
                    .map(|sum| CallToolResult::text(sum.to_string()))
                    .ok_or_else(|| ToolError::new("the sum does not fit in 64 bits"))
            },
        )
        .build()
        .map_err(std::io::Error::other)?;
    serve_stdio(server).await
}
