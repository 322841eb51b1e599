//! MCP over WebSocket (RFC 6455): one JSON-RPC message or batch per text
//! frame, in both directions, on one long-lived connection per session.
//!
//! WebSocket is not (yet) a standard MCP transport: this follows the
//! official TypeScript SDK's `WebSocketClientTransport` and the draft
//! SEP-1288, which use the subprotocol `mcp` (`Sec-WebSocket-Protocol:
//! mcp`). Clients here ask for it; servers select it when the client offers
//! it and, with [`WebSocketOptions::require_subprotocol`], refuse clients
//! that do not (HTTP 400).
//!
//! - Binary frames are refused: the connection is closed with 1003
//!   (unsupported data).
//! - Pings are answered with pongs (by tungstenite, while reading).
//! - Text that is not JSON-RPC is answered like on the other transports
//!   (-32700, -32600) and the connection goes on. A message longer than
//!   `max_message_bytes` is answered with -32600 and the connection goes
//!   on; one longer than twice that is not read at all: it is answered with
//!   -32600 and the connection is closed with 1009 (message too big), since
//!   the frame cannot be skipped.
//! - The server puts the peer's [`ClientAddr`] (on TCP) and the upgrade
//!   request's URI and headers ([`UpgradeRequest`]) into the extensions of
//!   every request of the session.
//! - With the `tls` feature, `wss` through rustls: [`connect_tls`] and
//!   [`serve_tls`], with the caller's rustls configuration.

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_util::sync::CancellationToken;

pub use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::jsonrpc::{ErrorObject, ErrorResponse as JsonRpcErrorResponse, parse};
use crate::peer::Outgoing;

use super::channel::{
    CHANNEL_CAPACITY, Channel, Frame, ServeMessages, Transport, serve_channel_with,
};
use super::lines::DEFAULT_MAX_MESSAGE_BYTES;
pub use super::serve::{ClientAddr, ServerHandle};
use super::serve::{Connection, Serve};

/// The WebSocket subprotocol of MCP (`Sec-WebSocket-Protocol: mcp`).
pub const SUBPROTOCOL: &str = "mcp";

/// How long, after sending a close frame, the reader waits for the peer's.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The URI and headers of the HTTP request that opened a WebSocket session,
/// for layers and handlers (the server puts it into every request's
/// extensions).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UpgradeRequest {
    /// The request target (path and query).
    pub uri: http::Uri,
    /// The request's headers.
    pub headers: http::HeaderMap,
}

/// WebSocket settings for clients, [`accept`] and [`serve_with`].
#[derive(Debug, Clone)]
pub struct WebSocketOptions {
    max_message_bytes: usize,
    subprotocol: bool,
    require_subprotocol: bool,
}

impl Default for WebSocketOptions {
    fn default() -> Self {
        Self {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            subprotocol: true,
            require_subprotocol: false,
        }
    }
}

impl WebSocketOptions {
    /// The defaults: 4 MiB messages, the `mcp` subprotocol offered and
    /// selected but not required.
    pub fn new() -> Self {
        Self::default()
    }

    /// The largest message accepted from the peer (default 4 MiB); see the
    /// [module docs](self) for what happens to longer ones. [`serve`] takes
    /// [`Serve::max_message_bytes`] instead.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Whether a client asks for the `mcp` subprotocol (default yes); a
    /// request that names subprotocols itself is left as it is.
    #[must_use]
    pub fn subprotocol(mut self, offer: bool) -> Self {
        self.subprotocol = offer;
        self
    }

    /// Whether a server refuses clients that do not offer the `mcp`
    /// subprotocol (default no: they are served without one).
    #[must_use]
    pub fn require_subprotocol(mut self, require: bool) -> Self {
        self.require_subprotocol = require;
        self
    }
}

/// tungstenite's limits: messages up to twice ours are read (and answered
/// with -32600 when over ours), longer ones end the connection.
fn ws_config(max_message_bytes: usize) -> WebSocketConfig {
    let hard = max_message_bytes.saturating_mul(2);
    WebSocketConfig::default()
        .max_message_size(Some(hard))
        .max_frame_size(Some(hard))
}

fn to_io(error: tungstenite::Error) -> io::Error {
    match error {
        tungstenite::Error::Io(error) => error,
        other => io::Error::other(other),
    }
}

/// The client side of an open WebSocket connection, ready for
/// [`McpClientBuilder::connect`](crate::client::McpClientBuilder::connect).
#[derive(Debug)]
pub struct WebSocketTransport<S> {
    ws: WebSocketStream<S>,
    max_message_bytes: usize,
}

impl<S> WebSocketTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Wraps a connection whose WebSocket handshake is done (client or
    /// server side).
    pub fn new(ws: WebSocketStream<S>) -> Self {
        let max_message_bytes = ws
            .get_config()
            .max_message_size
            .map_or(DEFAULT_MAX_MESSAGE_BYTES, |hard| hard / 2);
        Self {
            ws,
            max_message_bytes,
        }
    }

    /// The subprotocol the server selected is in the handshake response;
    /// this is the negotiated stream.
    pub fn get_ref(&self) -> &WebSocketStream<S> {
        &self.ws
    }
}

impl<S> Transport for WebSocketTransport<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn open(self) -> io::Result<Channel> {
        Ok(open_channel(self.ws, self.max_message_bytes, None))
    }
}

/// Connects to the MCP server at the `ws://` URL `url`, asking for the `mcp`
/// subprotocol.
pub async fn connect(url: &str) -> io::Result<WebSocketTransport<TcpStream>> {
    connect_with(url, &WebSocketOptions::default()).await
}

/// Connects with a request of the caller's (a URL, a `Uri`, or a
/// `ClientRequestBuilder` with headers such as `Authorization`) and options.
pub async fn connect_with(
    request: impl IntoClientRequest,
    options: &WebSocketOptions,
) -> io::Result<WebSocketTransport<TcpStream>> {
    let request = client_request(request, options)?;
    let (host, port) = host_and_port(&request, 80)?;
    let stream = TcpStream::connect((host.as_str(), port)).await?;
    stream.set_nodelay(true)?;
    handshake(request, stream, options).await
}

/// Connects to the MCP server at a `wss://` URL (or request) over TLS with
/// the caller's rustls configuration; the certificate is verified for the
/// URL's host.
#[cfg(feature = "tls")]
pub async fn connect_tls(
    request: impl IntoClientRequest,
    config: Arc<rustls::ClientConfig>,
    options: &WebSocketOptions,
) -> io::Result<WebSocketTransport<tokio_rustls::client::TlsStream<TcpStream>>> {
    let request = client_request(request, options)?;
    let (host, port) = host_and_port(&request, 443)?;
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let stream = super::tls::connect_stream((host.as_str(), port), name, config).await?;
    handshake(request, stream, options).await
}

fn client_request(
    request: impl IntoClientRequest,
    options: &WebSocketOptions,
) -> io::Result<Request> {
    let mut request = request
        .into_client_request()
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
    if options.subprotocol
        && !request
            .headers()
            .contains_key(http::header::SEC_WEBSOCKET_PROTOCOL)
    {
        request.headers_mut().insert(
            http::header::SEC_WEBSOCKET_PROTOCOL,
            http::HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    Ok(request)
}

fn host_and_port(request: &Request, default_port: u16) -> io::Result<(String, u16)> {
    let uri = request.uri();
    let host = uri.host().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{uri} names no host"))
    })?;
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("wss" | "https") => 443,
        Some("ws" | "http") => 80,
        _ => default_port,
    });
    Ok((host.to_owned(), port))
}

async fn handshake<S>(
    request: Request,
    stream: S,
    options: &WebSocketOptions,
) -> io::Result<WebSocketTransport<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = ws_config(options.max_message_bytes);
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config))
            .await
            .map_err(to_io)?;
    Ok(WebSocketTransport {
        ws,
        max_message_bytes: options.max_message_bytes,
    })
}

/// Runs the server side of the WebSocket handshake on `stream`: selects the
/// `mcp` subprotocol when offered (refuses the client when it is required
/// and not offered), and records the upgrade request.
#[allow(clippy::result_large_err)] // the callback's signature is tungstenite's
async fn server_handshake<S>(
    stream: S,
    max_message_bytes: usize,
    require_subprotocol: bool,
) -> io::Result<(WebSocketStream<S>, UpgradeRequest)>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (seen, upgrade) = oneshot::channel();
    let callback = move |request: &Request, mut response: Response| {
        let offered = request
            .headers()
            .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|name| name.trim() == SUBPROTOCOL);
        if offered {
            response.headers_mut().insert(
                http::header::SEC_WEBSOCKET_PROTOCOL,
                http::HeaderValue::from_static(SUBPROTOCOL),
            );
        } else if require_subprotocol {
            let mut refusal = ErrorResponse::new(Some(format!(
                "the WebSocket subprotocol {SUBPROTOCOL:?} is required"
            )));
            *refusal.status_mut() = http::StatusCode::BAD_REQUEST;
            return Err(refusal);
        }
        let _ = seen.send(UpgradeRequest {
            uri: request.uri().clone(),
            headers: request.headers().clone(),
        });
        Ok(response)
    };
    let ws = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        callback,
        Some(ws_config(max_message_bytes)),
    )
    .await
    .map_err(to_io)?;
    let upgrade = upgrade.await.map_err(|_| {
        io::Error::other("the WebSocket handshake finished without an upgrade request")
    })?;
    Ok((ws, upgrade))
}

/// Serves `server` as one session on `stream`, a connection on which the
/// client is about to send its WebSocket upgrade request; returns when the
/// session ends. `extensions` (for example a [`ClientAddr`]) reach every
/// request, with the [`UpgradeRequest`].
pub async fn accept<S, Io>(
    stream: Io,
    server: S,
    options: &WebSocketOptions,
    mut extensions: http::Extensions,
) -> io::Result<()>
where
    S: ServeMessages,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (ws, upgrade) = server_handshake(
        stream,
        options.max_message_bytes,
        options.require_subprotocol,
    )
    .await?;
    extensions.insert(upgrade);
    let channel = open_channel(ws, options.max_message_bytes, None);
    serve_channel_with(server, channel, extensions).await
}

/// Serves `server` as one session on a connection whose HTTP upgrade was
/// done elsewhere (hyper, axum): `stream` already speaks WebSocket frames.
pub async fn serve_upgraded<S, Io>(
    stream: Io,
    server: S,
    options: &WebSocketOptions,
    extensions: http::Extensions,
) -> io::Result<()>
where
    S: ServeMessages,
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let config = ws_config(options.max_message_bytes);
    let ws = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config)).await;
    let channel = open_channel(ws, options.max_message_bytes, None);
    serve_channel_with(server, channel, extensions).await
}

/// Serves `server` on every connection `listener` accepts, each upgraded
/// to WebSocket; await the result (configure it first:
/// [`Serve::max_connections`], [`Serve::max_message_bytes`],
/// [`Serve::handle`], ...).
pub fn serve<S: ServeMessages>(listener: TcpListener, server: S) -> Serve<TcpListener, S> {
    serve_with(listener, server, &WebSocketOptions::default())
}

/// [`serve`] with options (the subprotocol requirement; the message limit is
/// [`Serve::max_message_bytes`]).
pub fn serve_with<S: ServeMessages>(
    listener: TcpListener,
    server: S,
    options: &WebSocketOptions,
) -> Serve<TcpListener, S> {
    let require = options.require_subprotocol;
    Serve::new(
        listener,
        server,
        Arc::new(move |stream, extensions, connection| {
            Box::pin(open_server(stream, extensions, connection, require))
        }),
    )
}

/// [`serve`] until `signal` resolves, then shuts down gracefully (open
/// connections are closed with 1001, going away, once their requests
/// finished).
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

/// `wss`: [`serve_with`] behind TLS with the caller's rustls configuration.
#[cfg(feature = "tls")]
pub fn serve_tls<S: ServeMessages>(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    server: S,
    options: &WebSocketOptions,
) -> Serve<TcpListener, S> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let require = options.require_subprotocol;
    Serve::new(
        listener,
        server,
        Arc::new(move |stream, extensions, connection| {
            let acceptor = acceptor.clone();
            Box::pin(async move {
                let (stream, extensions) =
                    super::tls::accept_stream(acceptor, stream, extensions).await?;
                open_server(stream, extensions, connection, require).await
            })
        }),
    )
}

async fn open_server<Io>(
    stream: Io,
    mut extensions: http::Extensions,
    connection: Connection,
    require_subprotocol: bool,
) -> io::Result<(Channel, http::Extensions)>
where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (ws, upgrade) =
        server_handshake(stream, connection.max_message_bytes, require_subprotocol).await?;
    extensions.insert(upgrade);
    let max = connection.max_message_bytes;
    Ok((open_channel(ws, max, Some(connection)), extensions))
}

/// Why this side closes the connection, decided by the reader and sent by
/// the writer once the outbox is drained (so answers go out first).
type CloseReason = Arc<Mutex<Option<CloseFrame>>>;

fn set_reason(reason: &CloseReason, code: CloseCode, text: &'static str) {
    let mut reason = reason.lock().unwrap_or_else(PoisonError::into_inner);
    if reason.is_none() {
        *reason = Some(CloseFrame {
            code,
            reason: text.into(),
        });
    }
}

/// Starts the reader and the writer of an open WebSocket connection.
fn open_channel<S>(
    ws: WebSocketStream<S>,
    max_message_bytes: usize,
    connection: Option<Connection>,
) -> Channel
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = ws.split();
    let (outbox, outgoing) = mpsc::channel::<Outgoing>(CHANNEL_CAPACITY);
    let (frames, incoming) = mpsc::channel::<Frame>(CHANNEL_CAPACITY);
    let reason = CloseReason::default();
    let written = CancellationToken::new();
    let flushed = tokio::spawn(write(sink, outgoing, Arc::clone(&reason), written.clone()));
    tokio::spawn(read(
        stream,
        frames,
        max_message_bytes,
        reason,
        written,
        connection,
    ));
    Channel {
        incoming,
        outbox,
        flushed,
    }
}

async fn write<S>(
    mut sink: SplitSink<WebSocketStream<S>, WsMessage>,
    mut outgoing: mpsc::Receiver<Outgoing>,
    reason: CloseReason,
    written: CancellationToken,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut sent = Ok(());
    while let Some(message) = outgoing.recv().await {
        let text = match message {
            Outgoing::One(message) => serde_json::to_string(&message),
            Outgoing::Batch(messages) => serde_json::to_string(&messages),
        };
        let text = match text {
            Ok(text) => text,
            Err(error) => {
                sent = Err(io::Error::other(error));
                break;
            }
        };
        if let Err(error) = sink.send(WsMessage::text(text)).await {
            sent = Err(to_io(error));
            break;
        }
    }
    drop(outgoing);
    let frame = reason
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        });
    // The peer may have closed first: then there is nothing left to send.
    let _ = sink.send(WsMessage::Close(Some(frame))).await;
    written.cancel();
    sent
}

async fn read<S>(
    mut stream: SplitStream<WebSocketStream<S>>,
    frames: mpsc::Sender<Frame>,
    max_message_bytes: usize,
    reason: CloseReason,
    written: CancellationToken,
    connection: Option<Connection>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stop = connection
        .as_ref()
        .map_or_else(CancellationToken::new, |c| c.stop.clone());
    let ended = connection.map(|c| c.ended);
    // Once we sent our close frame, the peer's answer has this long to come.
    let close_deadline = async {
        written.cancelled().await;
        tokio::time::sleep(CLOSE_TIMEOUT).await;
    };
    tokio::pin!(close_deadline);
    let mut frames = Some(frames);
    let end_input = |frames: &mut Option<mpsc::Sender<Frame>>| {
        // Ending the input lets the session drain and drop the outbox, and
        // so the writer send our close frame after the last answer.
        *frames = None;
        if let Some(ended) = &ended {
            ended.cancel();
        }
    };
    loop {
        let next = tokio::select! {
            biased;
            () = stop.cancelled(), if frames.is_some() => {
                set_reason(&reason, CloseCode::Away, "server shutting down");
                end_input(&mut frames);
                continue;
            }
            () = &mut close_deadline => break,
            next = stream.next() => next,
        };
        let frame = match next {
            None => break,
            Some(Ok(WsMessage::Text(text))) => {
                if text.len() > max_message_bytes {
                    too_large(max_message_bytes)
                } else {
                    match parse(text.as_bytes()) {
                        Ok(payload) => Frame::Payload(payload),
                        Err(error) => Frame::Invalid(error),
                    }
                }
            }
            Some(Ok(WsMessage::Binary(_))) => {
                tracing::debug!(target: "mcp_tower::transport", "binary WebSocket frame refused");
                set_reason(
                    &reason,
                    CloseCode::Unsupported,
                    "MCP messages are text frames",
                );
                end_input(&mut frames);
                continue;
            }
            // tungstenite answers pings and the peer's close frame itself.
            Some(Ok(_)) => continue,
            Some(Err(tungstenite::Error::Capacity(error))) => {
                tracing::debug!(target: "mcp_tower::transport", %error, "WebSocket message too large");
                if let Some(frames) = &frames {
                    let _ = frames.send(too_large(max_message_bytes)).await;
                }
                set_reason(&reason, CloseCode::Size, "message too big");
                end_input(&mut frames);
                continue;
            }
            Some(Err(tungstenite::Error::Utf8(_))) => {
                set_reason(&reason, CloseCode::Invalid, "text frame not UTF-8");
                end_input(&mut frames);
                continue;
            }
            Some(Err(tungstenite::Error::Protocol(error))) => {
                tracing::debug!(target: "mcp_tower::transport", %error, "WebSocket protocol error");
                set_reason(&reason, CloseCode::Protocol, "protocol error");
                break;
            }
            Some(Err(error)) => {
                tracing::debug!(target: "mcp_tower::transport", %error, "reading the WebSocket failed");
                break;
            }
        };
        if let Some(sender) = &frames {
            if sender.send(frame).await.is_err() {
                end_input(&mut frames);
            }
        }
    }
    end_input(&mut frames);
}

fn too_large(limit: usize) -> Frame {
    let error = ErrorObject::invalid_request(format!("message larger than {limit} bytes"));
    Frame::Invalid(JsonRpcErrorResponse::new(None, error))
}
