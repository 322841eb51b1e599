//! The stdio transport (MCP "Transports", stdio): newline-delimited JSON-RPC
//! on a reader and a writer, normally the process's stdin and stdout. Logs
//! must go to stderr.
//!
//! Messages are handled concurrently (a slow tool does not hold up `ping`);
//! responses are written as they are ready, each on its own line.

use std::io;

use tokio::io::{AsyncRead, AsyncWrite};

use super::channel::{ServeMessages, Transport, serve_channel};
use super::stream::StreamTransport;

/// Serves `server` on `reader`/`writer` as one session, until the reader ends
/// (then waits for the requests in flight) or writing fails.
pub async fn serve<S, R, W>(server: S, reader: R, writer: W) -> io::Result<()>
where
    S: ServeMessages,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let channel = StreamTransport::new(reader, writer).open().await?;
    serve_channel(server, channel).await
}

/// The transport on this process's stdin and stdout.
pub fn stdio() -> StreamTransport<tokio::io::Stdin, tokio::io::Stdout> {
    StreamTransport::new(tokio::io::stdin(), tokio::io::stdout())
}

/// Serves `server` on this process's stdin and stdout.
pub async fn serve_stdio<S: ServeMessages>(server: S) -> io::Result<()> {
    serve_channel(server, stdio().open().await?).await
}
