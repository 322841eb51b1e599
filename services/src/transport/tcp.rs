//! MCP over TCP: newline-delimited JSON-RPC (the stdio framing) on a TCP
//! connection, one session per connection.
//!
//! The server puts the peer's [`ClientAddr`] into the extensions of every
//! request of the connection's session. There is no authentication or
//! encryption at this level: listen on loopback, or use [`tls`](super::tls).
//!
//! ```no_run
//! # async fn run(server: mcp_tower_services::server::McpServer) -> std::io::Result<()> {
//! use mcp_tower_services::client::McpClient;
//! use mcp_tower_services::transport::tcp;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = listener.local_addr()?;
//! tokio::spawn(tcp::serve(listener, server).into_future());
//! let client = McpClient::builder().connect(tcp::connect(addr).await?).await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};

use super::channel::ServeMessages;
pub use super::serve::{ClientAddr, ServerHandle};
use super::serve::{Serve, open_lines};
use super::stream::StreamTransport;

/// The client side of a TCP connection, ready for
/// [`McpClientBuilder::connect`](crate::client::McpClientBuilder::connect).
pub type TcpTransport = StreamTransport<OwnedReadHalf, OwnedWriteHalf>;

/// Connects to an MCP server listening at `addr`.
pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpTransport> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    Ok(StreamTransport::new(read, write))
}

/// Serves `server` on every connection `listener` accepts; await the result
/// (configure it first: [`Serve::max_connections`], [`Serve::handle`], ...).
pub fn serve<S: ServeMessages>(listener: TcpListener, server: S) -> Serve<TcpListener, S> {
    Serve::new(
        listener,
        server,
        Arc::new(|stream, extensions, connection| {
            let open = open_lines(stream, &connection);
            Box::pin(async move { Ok((open.await?, extensions)) })
        }),
    )
}

/// [`serve`] until `signal` resolves, then shuts down gracefully: stops
/// accepting, lets the requests in flight finish, and ends once every
/// connection closed.
pub fn serve_with_shutdown<S, F>(
    listener: TcpListener,
    server: S,
    signal: F,
) -> Serve<TcpListener, S, F>
where
    S: ServeMessages,
    F: Future<Output = ()> + Send + 'static,
{
    serve(listener, server).with_graceful_shutdown(signal)
}
