//! MCP over TLS on TCP with rustls: newline-delimited JSON-RPC inside the
//! TLS stream, one session per connection. With the `websocket` feature,
//! [`websocket`](super::websocket) also speaks `wss`.
//!
//! The caller brings the rustls configuration (certificates, trusted roots,
//! client authentication, ALPN): this crate pulls in no root store. rustls
//! is re-exported as [`rustls`] so the versions match.
//!
//! The server puts the peer's [`ClientAddr`] and a [`TlsConnectionInfo`]
//! (SNI name, ALPN protocol, the client's certificate chain when the config
//! asks for one) into the extensions of every request of the session.

use std::future::Future;
use std::io;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

pub use rustls;

use super::channel::ServeMessages;
pub use super::serve::{ClientAddr, ServerHandle};
use super::serve::{Serve, open_lines};
use super::stream::StreamTransport;

/// What the TLS handshake established about a client connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsConnectionInfo {
    /// The server name the client asked for (SNI), if it sent one.
    pub server_name: Option<String>,
    /// The negotiated ALPN protocol, if any.
    pub alpn_protocol: Option<Vec<u8>>,
    /// The client's certificate chain, end entity first, when the server
    /// config required or allowed client authentication and it sent one.
    pub peer_certificates: Vec<CertificateDer<'static>>,
}

impl TlsConnectionInfo {
    fn of(connection: &rustls::ServerConnection) -> Self {
        Self {
            server_name: connection.server_name().map(str::to_owned),
            alpn_protocol: connection.alpn_protocol().map(<[u8]>::to_vec),
            peer_certificates: connection
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
        }
    }
}

/// The client side of a TLS connection, ready for
/// [`McpClientBuilder::connect`](crate::client::McpClientBuilder::connect).
pub type TlsTransport = StreamTransport<
    ReadHalf<client::TlsStream<TcpStream>>,
    WriteHalf<client::TlsStream<TcpStream>>,
>;

/// Connects over TCP to `addr` and runs the TLS handshake, verifying the
/// server's certificate for `server_name` (a DNS name or an IP address)
/// with `config`.
pub async fn connect(
    addr: impl ToSocketAddrs,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<TlsTransport> {
    let stream = connect_stream(addr, server_name, config).await?;
    let (read, write) = tokio::io::split(stream);
    Ok(StreamTransport::new(read, write))
}

/// TCP connect and TLS handshake.
pub(crate) async fn connect_stream(
    addr: impl ToSocketAddrs,
    server_name: &str,
    config: Arc<rustls::ClientConfig>,
) -> io::Result<client::TlsStream<TcpStream>> {
    let name = ServerName::try_from(server_name.to_owned()).map_err(|error| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{server_name:?} is not a DNS name or an IP address: {error}"),
        )
    })?;
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    TlsConnector::from(config).connect(name, stream).await
}

/// Runs the server side of the TLS handshake and records what it learned in
/// `extensions`.
pub(crate) async fn accept_stream(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    mut extensions: http::Extensions,
) -> io::Result<(server::TlsStream<TcpStream>, http::Extensions)> {
    let stream = acceptor.accept(stream).await?;
    extensions.insert(TlsConnectionInfo::of(stream.get_ref().1));
    Ok((stream, extensions))
}

/// Serves `server` over TLS with `config` on every connection `listener`
/// accepts; await the result. Handshakes run in the connections' tasks,
/// bounded by [`Serve::handshake_timeout`].
pub fn serve<S: ServeMessages>(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    server: S,
) -> Serve<TcpListener, S> {
    let acceptor = TlsAcceptor::from(config);
    Serve::new(
        listener,
        server,
        Arc::new(move |stream, extensions, connection| {
            let acceptor = acceptor.clone();
            Box::pin(async move {
                let (stream, extensions) = accept_stream(acceptor, stream, extensions).await?;
                Ok((open_lines(stream, &connection).await?, extensions))
            })
        }),
    )
}

/// [`serve`] until `signal` resolves, then shuts down gracefully.
pub fn serve_with_shutdown<S, F>(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    server: S,
    signal: F,
) -> Serve<TcpListener, S, F>
where
    S: ServeMessages,
    F: Future<Output = ()> + Send + 'static,
{
    serve(listener, config, server).with_graceful_shutdown(signal)
}
