//! Serving MCP on a listener (TCP, Unix socket, TLS, WebSocket): one
//! session per connection, each in its own task, a bounded number at a
//! time, with graceful shutdown and a [`ServerHandle`] that counts the
//! connections.
//!
//! The transport modules build a [`Serve`] (`tcp::serve`, `unix::serve`,
//! `tls::serve`, `websocket::serve`); awaiting it runs the accept loop:
//!
//! ```no_run
//! # async fn run(server: mcp_tower_services::server::McpServer) -> std::io::Result<()> {
//! use mcp_tower_services::transport::tcp;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let serve = tcp::serve(listener, server)
//!     .max_connections(256)
//!     .with_graceful_shutdown(async move { let _ = stopped.await; });
//! let handle = serve.handle(); // active_connections(), shutdown()
//! # drop((stop, handle));
//! serve.await
//! # }
//! ```
//!
//! Each connection's session gets the transport's extensions in every
//! [`ServerRequest`](crate::server::ServerRequest) (see
//! [`serve_channel_with`]): [`ClientAddr`] over TCP, TLS and WebSocket.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::channel::{Channel, ServeMessages, serve_channel_with};
use super::lines::DEFAULT_MAX_MESSAGE_BYTES;

/// The address of the peer of a TCP connection (also under TLS and
/// WebSocket), put into the extensions of every request of its session.
///
/// This is the services crate's own type: `mcp-tower-services` does not
/// depend on `mcp-tower-layers`, whose HTTP layers have a client address of
/// their own; the umbrella crate converts where it composes the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub SocketAddr);

/// Default for [`Serve::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default for [`Serve::drain_timeout`].
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`Serve::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the accept loop waits after an error that is not about one
/// connection (out of file descriptors, for instance) before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Something that accepts connections: a TCP or Unix listener.
pub trait Listener: Send + 'static {
    /// One accepted connection, before any handshake.
    type Io: Send + 'static;

    /// The next connection, with what is known about its peer as extensions.
    fn accept(&mut self) -> impl Future<Output = io::Result<(Self::Io, http::Extensions)>> + Send;
}

#[cfg(any(feature = "tcp", feature = "tls", feature = "websocket"))]
impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> io::Result<(Self::Io, http::Extensions)> {
        let (stream, addr) = tokio::net::TcpListener::accept(self).await?;
        // JSON-RPC messages are small and latency matters more than packets.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(target: "mcp_tower::transport", %error, "TCP_NODELAY not set");
        }
        let mut extensions = http::Extensions::new();
        extensions.insert(ClientAddr(addr));
        Ok((stream, extensions))
    }
}

/// What the connection task hands to a transport's handshake: limits and the
/// signals between the transport's reader and the accept loop.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// Cancelled when the server shuts down: the reader stops reading (as if
    /// the peer had closed), so the session drains and ends.
    pub(crate) stop: CancellationToken,
    /// Cancelled by the reader when the peer's input ended (or `stop`): the
    /// requests in flight then get [`Serve::drain_timeout`] to finish.
    pub(crate) ended: CancellationToken,
    /// The largest message accepted from the peer.
    pub(crate) max_message_bytes: usize,
}

/// A transport's per-connection handshake (TLS, WebSocket upgrade) and
/// framing: turns an accepted connection into a [`Channel`], and may add
/// extensions (what TLS learned about the peer).
pub(crate) type Opener<Io> = Arc<dyn Fn(Io, http::Extensions, Connection) -> Opening + Send + Sync>;

/// A connection being opened: its channel and extensions once ready.
pub(crate) type Opening =
    Pin<Box<dyn Future<Output = io::Result<(Channel, http::Extensions)>> + Send>>;

/// Observes and stops a running [`Serve`]; cheap to clone.
#[derive(Clone)]
pub struct ServerHandle {
    connections: Arc<watch::Sender<usize>>,
    stop: CancellationToken,
    closed: CancellationToken,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("active_connections", &self.active_connections())
            .field("shutting_down", &self.is_shutting_down())
            .finish()
    }
}

impl ServerHandle {
    fn new() -> Self {
        Self {
            connections: Arc::new(watch::Sender::new(0)),
            stop: CancellationToken::new(),
            closed: CancellationToken::new(),
        }
    }

    /// Connections accepted and not yet ended (handshakes included).
    pub fn active_connections(&self) -> usize {
        *self.connections.borrow()
    }

    /// Follows [`ServerHandle::active_connections`]: for example
    /// `handle.watch_connections().wait_for(|&n| n == 0).await`.
    pub fn watch_connections(&self) -> watch::Receiver<usize> {
        self.connections.subscribe()
    }

    /// Resolves once no connection is open.
    pub async fn idle(&self) {
        let mut connections = self.watch_connections();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = connections.wait_for(|&n| n == 0).await;
    }

    /// Starts a graceful shutdown: stop accepting, stop reading from every
    /// connection, let the requests in flight finish (within the drain
    /// timeout), write their answers, then close. The [`Serve`] future
    /// resolves once every connection ended.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }

    /// Whether [`ServerHandle::shutdown`] was called (or the shutdown
    /// signal fired).
    pub fn is_shutting_down(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves once the server stopped accepting (it closed its listener)
    /// after a shutdown started; open connections may still be draining.
    pub async fn stopped_accepting(&self) {
        self.closed.cancelled().await;
    }

    fn opened(&self) -> ConnectionGuard {
        self.connections.send_modify(|n| *n += 1);
        ConnectionGuard(Arc::clone(&self.connections))
    }
}

/// Counts a connection until its task ends (or is dropped).
struct ConnectionGuard(Arc<watch::Sender<usize>>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Serves an MCP server on a listener; await it (it is an [`IntoFuture`]) to
/// run the accept loop. Built by the transport modules' `serve` functions.
#[must_use = "a Serve does nothing until awaited"]
pub struct Serve<L: Listener, S, F = std::future::Pending<()>> {
    listener: L,
    server: S,
    opener: Opener<L::Io>,
    signal: F,
    handle: ServerHandle,
    max_connections: usize,
    max_message_bytes: usize,
    drain_timeout: Duration,
    handshake_timeout: Duration,
}

impl<L: Listener, S, F> fmt::Debug for Serve<L, S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("handle", &self.handle)
            .field("max_connections", &self.max_connections)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("drain_timeout", &self.drain_timeout)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl<L: Listener, S: ServeMessages> Serve<L, S> {
    pub(crate) fn new(listener: L, server: S, opener: Opener<L::Io>) -> Self {
        Self {
            listener,
            server,
            opener,
            signal: std::future::pending(),
            handle: ServerHandle::new(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

impl<L: Listener, S: ServeMessages, F> Serve<L, S, F>
where
    F: Future<Output = ()> + Send + 'static,
{
    /// Starts a graceful shutdown (see [`ServerHandle::shutdown`]) when
    /// `signal` resolves.
    pub fn with_graceful_shutdown<G>(self, signal: G) -> Serve<L, S, G>
    where
        G: Future<Output = ()> + Send + 'static,
    {
        Serve {
            listener: self.listener,
            server: self.server,
            opener: self.opener,
            signal,
            handle: self.handle,
            max_connections: self.max_connections,
            max_message_bytes: self.max_message_bytes,
            drain_timeout: self.drain_timeout,
            handshake_timeout: self.handshake_timeout,
        }
    }

    /// A handle to count the connections and to shut the server down.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// The most connections served at once (default 1024, at least 1);
    /// further clients wait in the listener's backlog until one ends.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = connections.max(1);
        self
    }

    /// The largest message accepted from a client (default 4 MiB); a longer
    /// one is answered with -32600.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// How long the requests still running when a client closed its side
    /// (or at shutdown) may take to finish before they are dropped, as if
    /// cancelled (default 30 s). Their answers are written if the client
    /// still reads.
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// How long a connection's handshake (TLS, WebSocket upgrade) may take
    /// (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    async fn run(self) -> io::Result<()> {
        let Self {
            mut listener,
            server,
            opener,
            signal,
            handle,
            max_connections,
            max_message_bytes,
            drain_timeout,
            handshake_timeout,
        } = self;
        let stop = handle.stop.clone();
        let signalled = {
            let stop = stop.clone();
            async move {
                tokio::select! {
                    () = signal => stop.cancel(),
                    () = stop.cancelled() => {}
                }
            }
        };
        tokio::pin!(signalled);
        let permits = Arc::new(Semaphore::new(max_connections));
        let mut connections = JoinSet::new();
        loop {
            let permit = tokio::select! {
                biased;
                () = &mut signalled => break,
                permit = Arc::clone(&permits).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                biased;
                () = &mut signalled => break,
                accepted = listener.accept() => accepted,
            };
            let (io, extensions) = match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_connection_error(&error) => {
                    tracing::debug!(target: "mcp_tower::transport", %error, "accepting a connection failed");
                    continue;
                }
                Err(error) => {
                    tracing::warn!(target: "mcp_tower::transport", %error, "accepting failed; retrying in a second");
                    tokio::select! {
                        () = &mut signalled => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            };
            let guard = handle.opened();
            let connection = Connection {
                stop: stop.child_token(),
                ended: CancellationToken::new(),
                max_message_bytes,
            };
            let open = opener(io, extensions, connection.clone());
            let server = server.clone();
            connections.spawn(async move {
                // Dropped in reverse: the count goes down before the slot
                // is freed, so it never exceeds `max_connections`.
                let _permit = permit;
                let _guard = guard;
                serve_connection(server, open, connection, handshake_timeout, drain_timeout).await;
            });
            // Reap ended connections so the set does not grow.
            while connections.try_join_next().is_some() {}
        }
        // Refuse new connections while the open ones drain.
        drop(listener);
        stop.cancel();
        handle.closed.cancel();
        while connections.join_next().await.is_some() {}
        Ok(())
    }
}

/// One connection: handshake (bounded), then the session until the peer
/// closes, the server stops, or the drain timeout after either.
async fn serve_connection<S: ServeMessages>(
    server: S,
    open: Opening,
    connection: Connection,
    handshake_timeout: Duration,
    drain_timeout: Duration,
) {
    let opened = tokio::select! {
        () = connection.stop.cancelled() => return,
        opened = tokio::time::timeout(handshake_timeout, open) => opened,
    };
    let (channel, extensions) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(error)) => {
            tracing::debug!(target: "mcp_tower::transport", %error, "handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(target: "mcp_tower::transport", ?handshake_timeout, "handshake timed out");
            return;
        }
    };
    let session = serve_channel_with(server, channel, extensions);
    let drained = async {
        connection.ended.cancelled().await;
        tokio::time::sleep(drain_timeout).await;
    };
    tokio::select! {
        ended = session => {
            if let Err(error) = ended {
                tracing::debug!(target: "mcp_tower::transport", %error, "connection ended with an error");
            }
        }
        () = drained => {
            // Dropping the session aborts its handlers; the writer then
            // flushes what was sent and closes.
            tracing::debug!(target: "mcp_tower::transport", ?drain_timeout, "requests still running after the drain timeout were dropped");
        }
    }
}

/// Errors about one connection (it was reset before being accepted), after
/// which accepting can go on at once.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl<L, S, F> IntoFuture for Serve<L, S, F>
where
    L: Listener,
    S: ServeMessages,
    F: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

#[cfg(any(feature = "tcp", feature = "unix", feature = "tls"))]
pub(crate) use byte_stream::open_lines;

/// Newline-delimited JSON on a byte stream, as a listener's connection.
#[cfg(any(feature = "tcp", feature = "unix", feature = "tls"))]
mod byte_stream {
    use std::future::Future;
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

    use super::super::channel::{Channel, Transport};
    use super::super::stream::StreamTransport;
    use super::Connection;

    /// A reader that ends (reads EOF) once `stop` is cancelled, and cancels
    /// `ended` when it returns EOF or an error: how a byte-stream connection
    /// learns of a shutdown and tells the accept loop its input is over.
    pub(crate) struct StopRead<R> {
        inner: R,
        stop: Pin<Box<WaitForCancellationFutureOwned>>,
        ended: CancellationToken,
    }

    impl<R> StopRead<R> {
        pub(crate) fn new(inner: R, connection: &Connection) -> Self {
            Self {
                inner,
                stop: Box::pin(connection.stop.clone().cancelled_owned()),
                ended: connection.ended.clone(),
            }
        }
    }

    impl<R> Drop for StopRead<R> {
        fn drop(&mut self) {
            self.ended.cancel();
        }
    }

    impl<R: AsyncRead + Unpin> AsyncRead for StopRead<R> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.stop.as_mut().poll(cx).is_ready() {
                self.ended.cancel();
                return Poll::Ready(Ok(()));
            }
            let (before, room) = (buf.filled().len(), buf.remaining());
            let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
            match &polled {
                Poll::Ready(Ok(())) if room > 0 && buf.filled().len() == before => {
                    self.ended.cancel();
                }
                Poll::Ready(Err(_)) => self.ended.cancel(),
                _ => {}
            }
            polled
        }
    }

    /// The opener of a byte stream framed as newline-delimited JSON (TCP, Unix
    /// sockets, and TLS after its handshake).
    pub(crate) fn open_lines<Io>(
        io: Io,
        connection: &Connection,
    ) -> impl Future<Output = io::Result<Channel>> + Send + 'static
    where
        Io: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(io);
        let read = StopRead::new(read, connection);
        StreamTransport::new(read, write)
            .max_message_bytes(connection.max_message_bytes)
            .open()
    }
}
