//! MCP over Unix domain sockets: newline-delimited JSON-RPC (the stdio
//! framing) on a local socket, one session per connection.
//!
//! The server puts the peer's [`PeerCredentials`] (user, group and process
//! of the connecting process, from the kernel) into the extensions of every
//! request of the connection's session; the socket file's permissions are
//! the first line of access control.

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;

use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};

use super::channel::ServeMessages;
pub use super::serve::ServerHandle;
use super::serve::{Listener, Serve, open_lines};
use super::stream::StreamTransport;

/// Who is at the other end of a Unix socket, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerCredentials {
    /// The peer process's effective user id.
    pub uid: u32,
    /// The peer process's effective group id.
    pub gid: u32,
    /// The peer's process id, where the platform reports it.
    pub pid: Option<i32>,
}

/// The client side of a Unix socket connection, ready for
/// [`McpClientBuilder::connect`](crate::client::McpClientBuilder::connect).
pub type UnixTransport = StreamTransport<OwnedReadHalf, OwnedWriteHalf>;

/// Connects to an MCP server listening on the socket at `path`.
pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixTransport> {
    let (read, write) = UnixStream::connect(path).await?.into_split();
    Ok(StreamTransport::new(read, write))
}

impl Listener for UnixListener {
    type Io = UnixStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, http::Extensions)> {
        let (stream, _) = UnixListener::accept(self).await?;
        let mut extensions = http::Extensions::new();
        match stream.peer_cred() {
            Ok(cred) => {
                extensions.insert(PeerCredentials {
                    uid: cred.uid(),
                    gid: cred.gid(),
                    pid: cred.pid(),
                });
            }
            Err(error) => {
                tracing::debug!(target: "mcp_tower::transport", %error, "peer credentials unavailable");
            }
        }
        Ok((stream, extensions))
    }
}

/// Serves `server` on every connection `listener` accepts; await the result
/// (configure it first: [`Serve::max_connections`], [`Serve::handle`], ...).
/// The socket file is the caller's: remove it after the server ended.
pub fn serve<S: ServeMessages>(listener: UnixListener, server: S) -> Serve<UnixListener, S> {
    Serve::new(
        listener,
        server,
        Arc::new(|stream, extensions, connection| {
            let open = open_lines(stream, &connection);
            Box::pin(async move { Ok((open.await?, extensions)) })
        }),
    )
}

/// [`serve`] until `signal` resolves, then shuts down gracefully.
pub fn serve_with_shutdown<S, F>(
    listener: UnixListener,
    server: S,
    signal: F,
) -> Serve<UnixListener, S, F>
where
    S: ServeMessages,
    F: Future<Output = ()> + Send + 'static,
{
    serve(listener, server).with_graceful_shutdown(signal)
}
