//! The listening transports (TCP, Unix sockets, TLS, WebSocket, WebSocket
//! over TLS) on real sockets: `McpClient` against `McpServer`, concurrent
//! clients, garbage and oversized messages, clients that vanish mid-request,
//! and graceful shutdown. Every wait is on an explicit signal (the server's
//! connection count, a tool's probe), never on a sleep.
#![cfg(all(
    feature = "tcp",
    feature = "unix",
    feature = "tls",
    feature = "websocket"
))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use mcp_tower_services::client::McpClient;
use mcp_tower_services::protocol::{CallToolResult, ContentBlock};
use mcp_tower_services::server::{McpServer, ToolContext, ToolError};
use mcp_tower_services::transport::serve::{Serve, ServerHandle};
use mcp_tower_services::transport::tls::TlsConnectionInfo;
use mcp_tower_services::transport::unix::PeerCredentials;
use mcp_tower_services::transport::websocket::{self, UpgradeRequest, WebSocketOptions};
use mcp_tower_services::transport::{ClientAddr, tcp, tls, unix};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Echo {
    text: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Steps {
    steps: u32,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

/// What the tests observe of the `wait` tool: it started, it was dropped
/// (cancelled or aborted), and the test lets it finish.
#[derive(Default)]
struct Probe {
    started: Notify,
    dropped: Notify,
    release: Notify,
}

fn server(probe: Arc<Probe>) -> McpServer {
    McpServer::builder()
        .name("transport-test-server")
        .tool("echo", "Echoes", |_ctx: ToolContext, e: Echo| async move {
            Ok::<_, ToolError>(CallToolResult::text(e.text))
        })
        .tool("add", "Adds", |_ctx: ToolContext, a: Add| async move {
            Ok::<_, ToolError>(CallToolResult::text((a.a + a.b).to_string()))
        })
        .tool(
            "count",
            "Reports progress",
            |ctx: ToolContext, s: Steps| async move {
                for i in 1..=s.steps {
                    ctx.progress(f64::from(i), Some(f64::from(s.steps)), None)
                        .await
                        .map_err(|e| ToolError::new(e.to_string()))?;
                }
                Ok(CallToolResult::text("counted"))
            },
        )
        .tool(
            "whoami",
            "Transport extensions",
            |ctx: ToolContext, _: Nothing| async move {
                let addr = ctx
                    .extensions
                    .get::<ClientAddr>()
                    .map(|a| a.0.ip().to_string());
                let uid = ctx.extensions.get::<PeerCredentials>().map(|c| c.uid);
                let tls = ctx.extensions.get::<TlsConnectionInfo>().is_some();
                let path = ctx
                    .extensions
                    .get::<UpgradeRequest>()
                    .map(|u| u.uri.path().to_owned());
                let who = json!({"addr": addr, "uid": uid, "tls": tls, "path": path});
                Ok::<_, ToolError>(CallToolResult::text(who.to_string()))
            },
        )
        .tool(
            "wait",
            "Waits for the test",
            move |_ctx: ToolContext, _: Nothing| {
                let probe = Arc::clone(&probe);
                async move {
                    struct OnDrop(Arc<Probe>);
                    impl Drop for OnDrop {
                        fn drop(&mut self) {
                            self.0.dropped.notify_one();
                        }
                    }
                    let guard = OnDrop(Arc::clone(&probe));
                    probe.started.notify_one();
                    probe.release.notified().await;
                    std::mem::forget(guard);
                    Ok(CallToolResult::text("released"))
                }
            },
        )
        .build()
        .unwrap()
}

fn text(result: &CallToolResult) -> String {
    match &result.content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("not text: {other:?}"),
    }
}

/// A self-signed certificate for 127.0.0.1 and the configs that use it.
struct Certs {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn certs() -> Certs {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Certs {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Tcp,
    Unix,
    Tls,
    Ws,
    Wss,
}

/// Where a test server listens.
enum Target {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

/// A server running in a task, stopped (and its socket file removed) on drop.
struct Running {
    kind: Kind,
    target: Target,
    handle: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
    stop: Option<oneshot::Sender<()>>,
    probe: Arc<Probe>,
    client_tls: Arc<rustls::ClientConfig>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Target::Unix(path) = &self.target {
            let _ = std::fs::remove_file(path);
        }
    }
}

static SOCKETS: AtomicUsize = AtomicUsize::new(0);

fn socket_path() -> PathBuf {
    let n = SOCKETS.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("mcp-tower-test-{}-{n}.sock", std::process::id()))
}

/// Starts a server of `kind`; `configure` sets limits on the `Serve`.
async fn start_with(kind: Kind, configure: impl FnOnce(Configure) -> Configure) -> Running {
    let probe = Arc::new(Probe::default());
    let server = server(Arc::clone(&probe));
    let certs = certs();
    let (stop, stopped) = oneshot::channel::<()>();
    let signal = async move {
        let _ = stopped.await;
    };
    let settings = configure(Configure::default());
    let (target, handle, task) = if kind == Kind::Unix {
        let path = socket_path();
        let listener = UnixListener::bind(&path).unwrap();
        let serve = settings.apply(unix::serve_with_shutdown(listener, server, signal));
        let handle = serve.handle();
        (
            Target::Unix(path),
            handle,
            tokio::spawn(serve.into_future()),
        )
    } else {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serve = match kind {
            Kind::Tcp => tcp::serve(listener, server),
            Kind::Tls => tls::serve(listener, Arc::clone(&certs.server), server),
            Kind::Ws => websocket::serve_with(listener, server, &settings.websocket),
            Kind::Wss => websocket::serve_tls(
                listener,
                Arc::clone(&certs.server),
                server,
                &settings.websocket,
            ),
            Kind::Unix => unreachable!(),
        };
        let serve = settings.apply(serve.with_graceful_shutdown(signal));
        let handle = serve.handle();
        (Target::Tcp(addr), handle, tokio::spawn(serve.into_future()))
    };
    Running {
        kind,
        target,
        handle,
        task: Some(task),
        stop: Some(stop),
        probe,
        client_tls: certs.client,
    }
}

async fn start(kind: Kind) -> Running {
    start_with(kind, |c| c).await
}

#[derive(Default)]
struct Configure {
    max_connections: Option<usize>,
    max_message_bytes: Option<usize>,
    drain_timeout: Option<Duration>,
    websocket: WebSocketOptions,
}

impl Configure {
    fn apply<L, S, F>(self, mut serve: Serve<L, S, F>) -> Serve<L, S, F>
    where
        L: mcp_tower_services::transport::serve::Listener,
        S: mcp_tower_services::transport::ServeMessages,
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if let Some(n) = self.max_connections {
            serve = serve.max_connections(n);
        }
        if let Some(n) = self.max_message_bytes {
            serve = serve.max_message_bytes(n);
        }
        if let Some(d) = self.drain_timeout {
            serve = serve.drain_timeout(d);
        }
        serve
    }
}

impl Running {
    fn addr(&self) -> std::net::SocketAddr {
        match &self.target {
            Target::Tcp(addr) => *addr,
            Target::Unix(_) => panic!("not a TCP server"),
        }
    }

    fn ws_url(&self) -> String {
        let scheme = if self.kind == Kind::Wss { "wss" } else { "ws" };
        format!("{scheme}://{}/mcp", self.addr())
    }

    async fn try_client(&self) -> std::io::Result<McpClient> {
        let builder = McpClient::builder().name("transport-tester");
        match self.kind {
            Kind::Tcp => builder.connect(tcp::connect(self.addr()).await?).await,
            Kind::Unix => {
                let Target::Unix(path) = &self.target else {
                    unreachable!()
                };
                builder.connect(unix::connect(path).await?).await
            }
            Kind::Tls => {
                let transport =
                    tls::connect(self.addr(), "127.0.0.1", Arc::clone(&self.client_tls)).await?;
                builder.connect(transport).await
            }
            Kind::Ws => {
                builder
                    .connect(websocket::connect(&self.ws_url()).await?)
                    .await
            }
            Kind::Wss => {
                let transport = websocket::connect_tls(
                    self.ws_url().as_str(),
                    Arc::clone(&self.client_tls),
                    &WebSocketOptions::default(),
                )
                .await?;
                builder.connect(transport).await
            }
        }
    }

    /// An initialized client.
    async fn client(&self) -> McpClient {
        let client = self.try_client().await.unwrap();
        client.initialize().await.unwrap();
        client
    }

    /// A raw connection that speaks JSON-RPC text without a client.
    async fn raw(&self) -> Raw {
        match self.kind {
            Kind::Tcp => Raw::lines(TcpStream::connect(self.addr()).await.unwrap()),
            Kind::Unix => {
                let Target::Unix(path) = &self.target else {
                    unreachable!()
                };
                Raw::lines(UnixStream::connect(path).await.unwrap())
            }
            Kind::Tls => {
                let tcp = TcpStream::connect(self.addr()).await.unwrap();
                let name = ServerName::try_from("127.0.0.1").unwrap();
                let stream = tokio_rustls::TlsConnector::from(Arc::clone(&self.client_tls))
                    .connect(name, tcp)
                    .await
                    .unwrap();
                Raw::lines(stream)
            }
            Kind::Ws => {
                let (ws, _) = tokio_tungstenite::connect_async(self.ws_url())
                    .await
                    .unwrap();
                Raw::Ws(Box::new(ws))
            }
            Kind::Wss => {
                let tcp = TcpStream::connect(self.addr()).await.unwrap();
                let name = ServerName::try_from("127.0.0.1").unwrap();
                let stream = tokio_rustls::TlsConnector::from(Arc::clone(&self.client_tls))
                    .connect(name, tcp)
                    .await
                    .unwrap();
                let (ws, _) = tokio_tungstenite::client_async(self.ws_url(), stream)
                    .await
                    .unwrap();
                Raw::Wss(Box::new(ws))
            }
        }
    }

    /// Stops the server gracefully and waits for it to end.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap().unwrap();
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type WsPlain = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;
type WsTls = tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>;

/// A connection without a client: send text, read what comes back.
enum Raw {
    Lines(BufReader<Box<dyn Io>>),
    Ws(Box<WsPlain>),
    Wss(Box<WsTls>),
}

impl Raw {
    fn lines(io: impl Io + 'static) -> Self {
        Raw::Lines(BufReader::new(Box::new(io)))
    }

    async fn send(&mut self, text: &str) {
        match self {
            Raw::Lines(io) => {
                io.get_mut().write_all(text.as_bytes()).await.unwrap();
                io.get_mut().write_all(b"\n").await.unwrap();
                io.get_mut().flush().await.unwrap();
            }
            Raw::Ws(ws) => ws.send(WsMessage::text(text)).await.unwrap(),
            Raw::Wss(ws) => ws.send(WsMessage::text(text)).await.unwrap(),
        }
    }

    /// The next message; `None` when the connection ended.
    async fn recv(&mut self) -> Option<Value> {
        let text = match self {
            Raw::Lines(io) => {
                let mut line = String::new();
                if io.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                line
            }
            Raw::Ws(ws) => next_text(ws.next().await)?,
            Raw::Wss(ws) => next_text(ws.next().await)?,
        };
        Some(serde_json::from_str(&text).unwrap())
    }
}

fn next_text(
    message: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
) -> Option<String> {
    match message? {
        Ok(WsMessage::Text(t)) => Some(t.to_string()),
        Ok(WsMessage::Close(_)) | Err(_) => None,
        Ok(other) => panic!("unexpected frame {other:?}"),
    }
}

fn code(answer: &Value) -> i64 {
    answer["error"]["code"].as_i64().unwrap()
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

async fn round_trip(kind: Kind) {
    let running = start(kind).await;
    let client = running.client().await;
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"));
    let echo = client
        .call_tool("echo", json!({"text": "héllo\nworld"}))
        .await
        .unwrap();
    assert_eq!(text(&echo), "héllo\nworld");
    let sum = client
        .call_tool("add", json!({"a": 2, "b": 40}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "42");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let mut args = serde_json::Map::new();
    args.insert("steps".into(), json!(3));
    let counted = client
        .call_tool_with_progress("count", args, move |p| {
            sink.lock().unwrap().push(p.progress);
        })
        .await
        .unwrap();
    assert_eq!(text(&counted), "counted");
    assert_eq!(*seen.lock().unwrap(), vec![1.0, 2.0, 3.0]);

    let who: Value =
        serde_json::from_str(&text(&client.call_tool("whoami", json!({})).await.unwrap())).unwrap();
    match kind {
        Kind::Unix => {
            // The socket file is ours, so its owner is this process's user.
            let Target::Unix(path) = &running.target else {
                unreachable!()
            };
            let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(path).unwrap());
            assert_eq!(who["uid"], json!(uid));
            assert_eq!(who["addr"], Value::Null);
        }
        _ => assert_eq!(who["addr"], json!("127.0.0.1")),
    }
    assert_eq!(who["tls"], json!(matches!(kind, Kind::Tls | Kind::Wss)));
    let path = matches!(kind, Kind::Ws | Kind::Wss).then_some("/mcp");
    assert_eq!(who["path"], json!(path));

    assert_eq!(running.handle.active_connections(), 1);
    client.close().await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}

async fn concurrent_clients(kind: Kind) {
    let running = Arc::new(start(kind).await);
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(running.client().await);
    }
    assert_eq!(running.handle.active_connections(), 8);
    let mut tasks = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let i = i64::try_from(i).unwrap();
            let calls = (0..5).map(|j| {
                let client = &client;
                async move {
                    let sum = client
                        .call_tool("add", json!({"a": i * 100, "b": j}))
                        .await
                        .unwrap();
                    assert_eq!(text(&sum), (i * 100 + j).to_string());
                    let echo = client
                        .call_tool("echo", json!({"text": format!("client {i} call {j}")}))
                        .await
                        .unwrap();
                    assert_eq!(text(&echo), format!("client {i} call {j}"));
                }
            });
            futures_util::future::join_all(calls).await;
            client.close().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    running.handle.idle().await;
    Arc::into_inner(running).unwrap().stop().await;
}

async fn garbage_is_answered(kind: Kind) {
    let running = start_with(kind, |c| Configure {
        max_message_bytes: Some(1024),
        ..c
    })
    .await;
    let other = running.client().await;
    let mut raw = running.raw().await;
    raw.send("{this is not json").await;
    assert_eq!(code(&raw.recv().await.unwrap()), -32700);
    raw.send(r#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#)
        .await;
    assert_eq!(code(&raw.recv().await.unwrap()), -32600);
    let long = format!(
        r#"{{"jsonrpc":"2.0","id":4,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(1500)
    );
    raw.send(&long).await;
    assert_eq!(code(&raw.recv().await.unwrap()), -32600);
    // The same connection still works, and so does the other client.
    raw.send(r#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#)
        .await;
    let pong = raw.recv().await.unwrap();
    assert_eq!(pong["id"], json!(5));
    assert_eq!(pong["result"], json!({}));
    let sum = other
        .call_tool("add", json!({"a": 1, "b": 1}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "2");
    drop(raw);
    other.close().await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}

async fn vanishing_client_ends_its_connection(kind: Kind) {
    let running = start_with(kind, |c| Configure {
        drain_timeout: Some(Duration::ZERO),
        ..c
    })
    .await;
    let other = running.client().await;
    let mut raw = running.raw().await;
    raw.send(INITIALIZE).await;
    assert_eq!(raw.recv().await.unwrap()["id"], json!(1));
    raw.send(INITIALIZED).await;
    let started = running.probe.started.notified();
    raw.send(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait","arguments":{}}}"#,
    )
    .await;
    started.await;
    assert_eq!(running.handle.active_connections(), 2);
    let dropped = running.probe.dropped.notified();
    // Gone without a word: no close frame, no TLS close_notify.
    drop(raw);
    dropped.await;
    running
        .handle
        .watch_connections()
        .wait_for(|&n| n == 1)
        .await
        .unwrap();
    let sum = other
        .call_tool("add", json!({"a": 2, "b": 2}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "4");
    other.close().await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}

async fn graceful_shutdown(kind: Kind) {
    let mut running = start(kind).await;
    let client = running.client().await;
    let started = running.probe.started.notified();
    let call = tokio::spawn({
        let client = client.clone();
        async move { client.call_tool("wait", json!({})).await }
    });
    started.await;
    let _ = running.stop.take().unwrap().send(());
    running.handle.stopped_accepting().await;
    assert!(
        running.try_client().await.is_err(),
        "a new connection was accepted"
    );
    // The request in flight still gets its answer.
    running.probe.release.notify_one();
    let answer = call.await.unwrap().unwrap();
    assert_eq!(text(&answer), "released");
    running.task.take().unwrap().await.unwrap().unwrap();
    assert_eq!(running.handle.active_connections(), 0);
    drop(client);
}

macro_rules! for_each_transport {
    ($($kind:ident => $name:ident),* $(,)?) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn round_trip() {
                    super::round_trip(Kind::$kind).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn concurrent_clients() {
                    super::concurrent_clients(Kind::$kind).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn garbage_is_answered() {
                    super::garbage_is_answered(Kind::$kind).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn vanishing_client_ends_its_connection() {
                    super::vanishing_client_ends_its_connection(Kind::$kind).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn graceful_shutdown() {
                    super::graceful_shutdown(Kind::$kind).await;
                }
            }
        )*
    };
}

for_each_transport! {
    Tcp => tcp_transport,
    Unix => unix_transport,
    Tls => tls_transport,
    Ws => websocket_transport,
    Wss => wss_transport,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let running = start_with(Kind::Tcp, |c| Configure {
        max_connections: Some(1),
        ..c
    })
    .await;
    let first = running.client().await;
    // The second connection is made (the kernel's backlog holds it) but not
    // served until the first one ends.
    let second = running.try_client().await.unwrap();
    let initialized = tokio::spawn(async move {
        second.initialize().await.unwrap();
        second
    });
    assert_eq!(running.handle.active_connections(), 1);
    first.close().await.unwrap();
    let second = initialized.await.unwrap();
    assert_eq!(running.handle.active_connections(), 1);
    second.close().await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_running_when_its_client_vanished_may_finish() {
    // Default drain timeout: the handler is not dropped, it finishes, and
    // then the connection ends.
    let running = start(Kind::Tcp).await;
    let mut raw = running.raw().await;
    raw.send(INITIALIZE).await;
    raw.recv().await.unwrap();
    raw.send(INITIALIZED).await;
    let started = running.probe.started.notified();
    raw.send(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"wait","arguments":{}}}"#,
    )
    .await;
    started.await;
    drop(raw);
    running.probe.release.notify_one();
    running.handle.idle().await;
    running.stop().await;
}

/// A WebSocket client of tungstenite's, on the test server.
async fn raw_ws(running: &Running) -> WsPlain {
    let (ws, _) = tokio_tungstenite::connect_async(running.ws_url())
        .await
        .unwrap();
    ws
}

/// Reads until the close frame and returns its code.
async fn close_code(ws: &mut WsPlain) -> Option<CloseCode> {
    loop {
        match ws.next().await {
            Some(Ok(WsMessage::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_binary_frames_are_refused_with_1003() {
    let running = start(Kind::Ws).await;
    let other = running.client().await;
    let mut ws = raw_ws(&running).await;
    ws.send(WsMessage::binary(INITIALIZE.as_bytes().to_vec()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut ws).await, Some(CloseCode::Unsupported));
    let sum = other
        .call_tool("add", json!({"a": 3, "b": 4}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "7");
    drop(ws);
    other.close().await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_pings_are_answered() {
    let running = start(Kind::Ws).await;
    let mut ws = raw_ws(&running).await;
    ws.send(WsMessage::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    match ws.next().await {
        Some(Ok(WsMessage::Pong(payload))) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
    ws.close(None).await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_messages_far_over_the_limit_close_with_1009() {
    let running = start_with(Kind::Ws, |c| Configure {
        max_message_bytes: Some(1024),
        ..c
    })
    .await;
    let other = running.client().await;
    let mut ws = raw_ws(&running).await;
    // Over twice the limit: tungstenite does not read it, so the connection
    // cannot go on.
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(4096)
    );
    ws.send(WsMessage::text(huge)).await.unwrap();
    // Either the -32600 answer then close 1009, or (if the peer closed with
    // the rest of our frame unread) a reset: in both cases the end.
    let mut answered = None;
    let code = loop {
        match ws.next().await {
            Some(Ok(WsMessage::Text(t))) => {
                answered = Some(code(&serde_json::from_str(&t).unwrap()));
            }
            Some(Ok(WsMessage::Close(frame))) => break frame.map(|f| f.code),
            Some(Ok(other)) => panic!("unexpected {other:?}"),
            Some(Err(_)) | None => break None,
        }
    };
    if let Some(code) = code {
        assert_eq!(code, CloseCode::Size);
        assert_eq!(answered, Some(-32600));
    }
    let sum = other
        .call_tool("add", json!({"a": 5, "b": 5}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "10");
    drop(ws);
    other.close().await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_selects_the_mcp_subprotocol() {
    let running = start(Kind::Ws).await;
    let mut request = running.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "other, mcp".parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "mcp"
    );
    ws.close(None).await.unwrap();
    // A client without a subprotocol is served too (not required here).
    let mut plain = raw_ws(&running).await;
    plain.close(None).await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_can_require_the_mcp_subprotocol() {
    let running = start_with(Kind::Ws, |c| Configure {
        websocket: WebSocketOptions::new().require_subprotocol(true),
        ..c
    })
    .await;
    let refused = tokio_tungstenite::connect_async(running.ws_url()).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 400);
        }
        other => panic!("expected HTTP 400, got {other:?}"),
    }
    // Our client asks for it.
    let client = running.client().await;
    client.ping().await.unwrap();
    client.close().await.unwrap();
    running.handle.idle().await;
    running.stop().await;
}
