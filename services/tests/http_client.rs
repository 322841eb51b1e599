//! `StreamableHttpClient` (and `McpClient` on it) against small hyper
//! servers on 127.0.0.1 that answer in specific ways: JSON, SSE with
//! progress, 202, a stream closed after a priming event and resumed with
//! `Last-Event-ID`, session expiry, HTTP errors, no session at all. Each test
//! checks what the client sent. The reconnection wait is injected and
//! records the delay it was asked for; only the server that is slow to
//! answer the GET stream on purpose sleeps.
#![cfg(feature = "http-client")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use mcp_tower_services::client::McpClient;
use mcp_tower_services::peer::PeerError;
use mcp_tower_services::transport::http_client::{
    ReconnectPolicy, StreamableHttpClient, StreamableHttpClientBuilder,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

type Body = BoxBody<Bytes, Infallible>;

/// One request the server received.
#[derive(Debug, Clone)]
struct Recorded {
    method: Method,
    headers: HeaderMap,
    body: Value,
}

impl Recorded {
    fn rpc_method(&self) -> Option<&str> {
        self.body.get("method").and_then(Value::as_str)
    }

    fn id(&self) -> Value {
        self.body["id"].clone()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

/// A body fed by the test through a channel; ends when the sender drops.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

struct TestServer {
    url: String,
    log: Arc<Mutex<Vec<Recorded>>>,
    arrivals: tokio::sync::Mutex<mpsc::UnboundedReceiver<Recorded>>,
}

impl TestServer {
    /// Serves `handler` on 127.0.0.1:0 (path `/mcp`).
    async fn start(handler: impl Fn(&Recorded) -> Response<Body> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let (arrived, arrivals) = mpsc::unbounded_channel();
        let handler = Arc::new(handler);
        let server_log = Arc::clone(&log);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (handler, log, arrived) = (
                    Arc::clone(&handler),
                    Arc::clone(&server_log),
                    arrived.clone(),
                );
                let service =
                    hyper::service::service_fn(move |request: http::Request<Incoming>| {
                        let (handler, log, arrived) =
                            (Arc::clone(&handler), Arc::clone(&log), arrived.clone());
                        async move {
                            let (parts, body) = request.into_parts();
                            let bytes = body.collect().await.unwrap().to_bytes();
                            let body = if bytes.is_empty() {
                                Value::Null
                            } else {
                                serde_json::from_slice(&bytes).unwrap()
                            };
                            let recorded = Recorded {
                                method: parts.method,
                                headers: parts.headers,
                                body,
                            };
                            log.lock().unwrap().push(recorded.clone());
                            let response = handler(&recorded);
                            let _ = arrived.send(recorded);
                            Ok::<_, Infallible>(response)
                        }
                    });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url,
            log,
            arrivals: tokio::sync::Mutex::new(arrivals),
        }
    }

    /// Waits for the next request that matches.
    async fn next(&self, matches: impl Fn(&Recorded) -> bool) -> Recorded {
        let mut arrivals = self.arrivals.lock().await;
        loop {
            let recorded = tokio::time::timeout(Duration::from_secs(20), arrivals.recv())
                .await
                .expect("the client sent nothing more")
                .unwrap();
            if matches(&recorded) {
                return recorded;
            }
        }
    }

    fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    fn find(&self, matches: impl Fn(&Recorded) -> bool) -> Option<Recorded> {
        self.requests().into_iter().find(|r| matches(r))
    }

    fn builder(&self) -> StreamableHttpClientBuilder {
        StreamableHttpClient::builder(&self.url)
    }

    /// A hyper transport to this server that opens no GET stream.
    fn without_get_stream(
        &self,
    ) -> StreamableHttpClient<mcp_tower_services::transport::http_client::HyperClient> {
        self.builder()
            .standalone_stream(false)
            .build_hyper()
            .unwrap()
    }
}

fn full(status: StatusCode, content_type: Option<&str>, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::builder().status(status);
    if let Some(content_type) = content_type {
        response = response.header("content-type", content_type);
    }
    response.body(Full::new(body.into()).boxed()).unwrap()
}

fn json(value: &Value) -> Response<Body> {
    full(StatusCode::OK, Some("application/json"), value.to_string())
}

fn accepted() -> Response<Body> {
    full(StatusCode::ACCEPTED, None, Bytes::new())
}

fn status(code: u16) -> Response<Body> {
    full(StatusCode::from_u16(code).unwrap(), None, Bytes::new())
}

fn with_session(mut response: Response<Body>, id: &str) -> Response<Body> {
    response
        .headers_mut()
        .insert("mcp-session-id", id.parse().unwrap());
    response
}

/// An SSE response whose events the test sends through the returned sender.
fn sse() -> (mpsc::Sender<Bytes>, Response<Body>) {
    let (tx, rx) = mpsc::channel(16);
    let response = Response::builder()
        .header("content-type", "text/event-stream")
        .body(ChannelBody(rx).boxed())
        .unwrap();
    (tx, response)
}

/// An SSE response with these events, ended after them.
fn sse_fixed(text: String) -> Response<Body> {
    full(StatusCode::OK, Some("text/event-stream"), text)
}

fn event(message: &Value) -> String {
    format!("event: message\ndata: {message}\n\n")
}

fn init_result(id: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {
        "protocolVersion": "2025-11-25",
        "capabilities": {"tools": {}},
        "serverInfo": {"name": "hand-written", "version": "1"}
    }})
}

fn result(id: &Value, result: Value) -> Value {
    let mut message = json!({"jsonrpc": "2.0", "id": id});
    message["result"] = result;
    message
}

fn tool_text(text: &str) -> Value {
    json!({"content": [{"type": "text", "text": text}]})
}

/// Answers `initialize` (with session `sess-1`), 202 to notifications and
/// answers, 405 to GET, 200 to DELETE; `other` answers the rest.
fn lifecycle(
    other: impl Fn(&Recorded) -> Response<Body> + Send + Sync + 'static,
) -> impl Fn(&Recorded) -> Response<Body> + Send + Sync + 'static {
    move |r: &Recorded| match (&r.method, r.rpc_method()) {
        (&Method::POST, Some("initialize")) => with_session(json(&init_result(&r.id())), "sess-1"),
        (&Method::POST, _) if r.body.get("id").is_none() || r.rpc_method().is_none() => accepted(),
        (&Method::GET, _) if r.header("last-event-id").is_none() => status(405),
        (&Method::DELETE, _) => status(200),
        _ => other(r),
    }
}

fn client() -> mcp_tower_services::client::McpClientBuilder {
    McpClient::builder().name("http-client-test")
}

fn remote_code(error: &PeerError) -> i64 {
    match error {
        PeerError::Remote { error, .. } => error.code.0,
        other => panic!("not a remote error: {other:?}"),
    }
}

#[tokio::test]
async fn json_answers_session_and_version_headers_and_delete_on_close() {
    let server = TestServer::start(lifecycle(|r| match r.rpc_method() {
        Some("tools/list") => json(&result(
            &r.id(),
            json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}),
        )),
        _ => status(500),
    }))
    .await;
    let transport = server
        .builder()
        .header("authorization", "Bearer secret-token")
        .build_hyper()
        .unwrap();
    let client = client().connect(transport).await.unwrap();
    let info = client.initialize().await.unwrap();
    assert_eq!(info.server_info.name, "hand-written");
    let tools = client.list_tools().await.unwrap();
    assert_eq!(tools[0].name, "echo");
    // The GET stream is tried once initialized (405 here).
    server.next(|r| r.method == Method::GET).await;
    client.close().await.unwrap();

    let initialize = server
        .find(|r| r.rpc_method() == Some("initialize"))
        .unwrap();
    assert_eq!(
        initialize.header("accept"),
        Some("application/json, text/event-stream")
    );
    assert_eq!(initialize.header("content-type"), Some("application/json"));
    assert_eq!(initialize.header("mcp-session-id"), None);
    assert_eq!(initialize.header("mcp-protocol-version"), None);
    let initialized = server
        .find(|r| r.rpc_method() == Some("notifications/initialized"))
        .unwrap();
    let list = server
        .find(|r| r.rpc_method() == Some("tools/list"))
        .unwrap();
    let get = server.find(|r| r.method == Method::GET).unwrap();
    let delete = server.find(|r| r.method == Method::DELETE).unwrap();
    for later in [&initialized, &list, &get, &delete] {
        assert_eq!(later.header("mcp-session-id"), Some("sess-1"), "{later:?}");
        assert_eq!(later.header("mcp-protocol-version"), Some("2025-11-25"));
    }
    assert_eq!(get.header("accept"), Some("text/event-stream"));
    for request in server.requests() {
        assert_eq!(request.header("authorization"), Some("Bearer secret-token"));
    }
}

#[tokio::test]
async fn an_sse_answer_delivers_progress_then_the_result() {
    let server = TestServer::start(lifecycle(|r| match r.rpc_method() {
        Some("tools/call") => {
            let token = r.body["params"]["_meta"]["progressToken"].clone();
            let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": token, "progress": 1, "total": 2}});
            // Multi-line data, CRLF endings and a comment, as a server may send.
            let answer = result(&r.id(), tool_text("done")).to_string();
            // Split between two members: a line break there is whitespace.
            let (head, tail) = answer.split_at(answer.find(",\"result\"").unwrap());
            sse_fixed(format!(
                ": hello\r\n{}data: {head}\r\ndata: {tail}\r\n\r\n",
                event(&progress)
            ))
        }
        _ => status(500),
    }))
    .await;
    let client = client()
        .connect(server.builder().build_hyper().unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let outcome = client
        .call_tool_with_progress("slow", serde_json::Map::new(), move |p| {
            sink.lock().unwrap().push(p.progress);
        })
        .await;
    let result = outcome.unwrap();
    assert_eq!(result.content.len(), 1);
    assert_eq!(*seen.lock().unwrap(), [1.0]);
}

#[tokio::test]
async fn a_stream_closed_after_its_priming_event_is_resumed_with_last_event_id() {
    let server = TestServer::start(lifecycle(|r| {
        match (&r.method, r.rpc_method(), r.header("last-event-id")) {
            (&Method::POST, Some("tools/call"), _) => {
                let token = r.body["params"]["_meta"]["progressToken"].clone();
                let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                    "params": {"progressToken": token, "progress": 1}});
                // Priming event, one message, then the server closes the
                // connection (SSE polling, 2025-11-25).
                sse_fixed(format!(
                    "id: e1\nretry: 1234\ndata: \n\nid: e2\n{}",
                    event(&progress)
                ))
            }
            (&Method::GET, _, Some("e2")) => {
                // The resumed stream: the answer to call id 1.
                sse_fixed(format!(
                    "id: e3\n{}",
                    event(&result(&json!(1), tool_text("resumed")))
                ))
            }
            _ => status(500),
        }
    }))
    .await;
    let delays = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&delays);
    let policy = ReconnectPolicy::new().sleep_with(move |delay| {
        recorded.lock().unwrap().push(delay);
        async {}
    });
    let transport = server.builder().reconnect(policy).build_hyper().unwrap();
    let client = client().connect(transport).await.unwrap();
    client.initialize().await.unwrap();
    let progress = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&progress);
    let result = client
        .call_tool_with_progress("poll", serde_json::Map::new(), move |_| {
            *counter.lock().unwrap() += 1;
        })
        .await
        .unwrap();
    assert_eq!(result.content.len(), 1);
    assert_eq!(*progress.lock().unwrap(), 1);
    // The server's retry value, not the default backoff.
    assert_eq!(*delays.lock().unwrap(), [Duration::from_millis(1234)]);
    let resume = server
        .find(|r| r.header("last-event-id").is_some())
        .unwrap();
    assert_eq!(resume.method, Method::GET);
    assert_eq!(resume.header("last-event-id"), Some("e2"));
    assert_eq!(resume.header("mcp-session-id"), Some("sess-1"));
    assert_eq!(resume.header("accept"), Some("text/event-stream"));
}

#[tokio::test]
async fn resuming_gives_up_after_the_policys_attempts() {
    let server = TestServer::start(lifecycle(|r| match (&r.method, r.rpc_method()) {
        (&Method::POST, Some("tools/call")) => sse_fixed("id: only\ndata: \n\n".to_owned()),
        (&Method::GET, _) => status(503),
        _ => status(500),
    }))
    .await;
    let delays = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&delays);
    let policy = ReconnectPolicy::new()
        .max_attempts(3)
        .sleep_with(move |delay| {
            recorded.lock().unwrap().push(delay);
            async {}
        });
    let transport = server.builder().reconnect(policy).build_hyper().unwrap();
    let client = client().connect(transport).await.unwrap();
    client.initialize().await.unwrap();
    let error = client.call_tool("x", json!({})).await.unwrap_err();
    assert_eq!(remote_code(&error), -32000);
    assert_eq!(
        *delays.lock().unwrap(),
        [
            Duration::from_secs(1),
            Duration::from_millis(1500),
            Duration::from_millis(2250)
        ]
    );
    let resumes = server
        .requests()
        .into_iter()
        .filter(|r| r.header("last-event-id") == Some("only"))
        .count();
    assert_eq!(resumes, 3);
}

#[tokio::test]
async fn a_stream_that_ends_without_an_answer_or_event_id_fails_its_request() {
    let server = TestServer::start(lifecycle(|r| match r.rpc_method() {
        Some("tools/call") => sse_fixed(": nothing to see\n\n".to_owned()),
        _ => status(500),
    }))
    .await;
    let client = client()
        .connect(server.builder().build_hyper().unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();
    let error = client.call_tool("x", json!({})).await.unwrap_err();
    assert_eq!(remote_code(&error), -32000);
}

#[tokio::test]
async fn http_errors_fail_the_request_with_the_status() {
    let server = TestServer::start(lifecycle(|r| match r.body["params"]["name"].as_str() {
        _ if r.rpc_method() == Some("ping") => json(&result(&r.id(), json!({}))),
        Some("boom") => full(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("text/plain"),
            "it broke",
        ),
        Some("auth") => {
            let mut response = status(401);
            response.headers_mut().insert(
                "www-authenticate",
                "Bearer resource_metadata=\"http://x/.well-known/oauth-protected-resource\""
                    .parse()
                    .unwrap(),
            );
            response
        }
        Some("rpc") => full(
            StatusCode::BAD_REQUEST,
            Some("application/json"),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32602,"message":"bad params"}}"#,
        ),
        Some("html") => full(StatusCode::OK, Some("text/html"), "<p>hi</p>"),
        _ => status(500),
    }))
    .await;
    let client = client()
        .connect(server.builder().build_hyper().unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();

    let PeerError::Remote { error, .. } = client.call_tool("boom", json!({})).await.unwrap_err()
    else {
        panic!("not remote")
    };
    assert_eq!(error.code.0, -32000);
    assert!(error.message.contains("500"), "{}", error.message);
    let data = error.data.unwrap();
    assert_eq!(data["httpStatus"], 500);
    assert_eq!(data["body"], "it broke");

    let PeerError::Remote { error, .. } = client.call_tool("auth", json!({})).await.unwrap_err()
    else {
        panic!("not remote")
    };
    assert_eq!(error.data.as_ref().unwrap()["httpStatus"], 401);
    assert!(
        error.data.unwrap()["wwwAuthenticate"]
            .as_str()
            .unwrap()
            .starts_with("Bearer resource_metadata=")
    );

    let PeerError::Remote { error, .. } = client.call_tool("rpc", json!({})).await.unwrap_err()
    else {
        panic!("not remote")
    };
    assert_eq!(
        (error.code.0, error.message.as_str()),
        (-32602, "bad params")
    );
    assert_eq!(error.data.unwrap()["httpStatus"], 400);

    let error = client.call_tool("html", json!({})).await.unwrap_err();
    assert_eq!(remote_code(&error), -32000);
    // The connection is still usable.
    client.ping().await.unwrap();
}

#[tokio::test]
async fn a_404_to_the_session_ends_the_connection_without_delete() {
    let server = TestServer::start(lifecycle(|r| match r.rpc_method() {
        Some("tools/call") => full(
            StatusCode::NOT_FOUND,
            Some("application/json"),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}"#,
        ),
        _ => status(500),
    }))
    .await;
    let client = client().connect(server.without_get_stream()).await.unwrap();
    client.initialize().await.unwrap();
    let PeerError::Remote { error, .. } = client.call_tool("x", json!({})).await.unwrap_err()
    else {
        panic!("not remote")
    };
    assert_eq!(error.code.0, -32001);
    assert_eq!(error.message, "Session not found");
    // The connection is closed: further requests fail at once.
    assert_eq!(client.ping().await.unwrap_err(), PeerError::Closed);
    client.close().await.unwrap();
    assert!(server.find(|r| r.method == Method::DELETE).is_none());
}

#[tokio::test]
async fn a_404_without_a_body_is_session_expired() {
    let server = TestServer::start(lifecycle(|r| match r.rpc_method() {
        Some("tools/list") => status(404),
        _ => status(500),
    }))
    .await;
    let client = client().connect(server.without_get_stream()).await.unwrap();
    client.initialize().await.unwrap();
    let error = client.list_tools().await.unwrap_err();
    assert_eq!(remote_code(&error), -32001);
}

#[tokio::test]
async fn without_a_session_id_none_is_sent_and_no_delete() {
    let server = TestServer::start(|r: &Recorded| match (&r.method, r.rpc_method()) {
        (&Method::POST, Some("initialize")) => json(&init_result(&r.id())),
        (&Method::POST, Some("ping")) => json(&result(&r.id(), json!({}))),
        (&Method::POST, _) => accepted(),
        _ => status(405),
    })
    .await;
    let client = client()
        .connect(server.builder().build_hyper().unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();
    client.ping().await.unwrap();
    server.next(|r| r.method == Method::GET).await;
    client.close().await.unwrap();
    for request in server.requests() {
        assert_eq!(request.header("mcp-session-id"), None);
        assert_ne!(request.method, Method::DELETE);
    }
    let ping = server.find(|r| r.rpc_method() == Some("ping")).unwrap();
    assert_eq!(ping.header("mcp-protocol-version"), Some("2025-11-25"));
}

#[tokio::test]
async fn the_get_stream_carries_server_requests_and_their_answers_are_posted() {
    let (events, stream) = sse();
    let stream = Mutex::new(Some(stream));
    let server = TestServer::start(move |r: &Recorded| match (&r.method, r.rpc_method()) {
        (&Method::POST, Some("initialize")) => with_session(json(&init_result(&r.id())), "s"),
        (&Method::GET, _) => stream.lock().unwrap().take().unwrap_or_else(|| status(409)),
        (&Method::POST, _) => accepted(),
        _ => status(200),
    })
    .await;
    let client = client()
        .connect(server.builder().build_hyper().unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();
    server.next(|r| r.method == Method::GET).await;
    events
        .send(Bytes::from(event(
            &json!({"jsonrpc": "2.0", "id": "srv-1", "method": "ping"}),
        )))
        .await
        .unwrap();
    let answer = server
        .next(|r| r.body.get("id") == Some(&json!("srv-1")))
        .await;
    assert_eq!(answer.body["result"], json!({}));
    assert_eq!(answer.header("mcp-session-id"), Some("s"));
    assert_eq!(answer.header("content-type"), Some("application/json"));
    client.close().await.unwrap();
    // Closing dropped the GET stream: writing to it fails once the
    // connection is gone.
    tokio::time::timeout(Duration::from_secs(20), async {
        while events.send(Bytes::from_static(b": ping\n\n")).await.is_ok() {}
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_dropped_call_is_cancelled_and_its_stream_abandoned() {
    let held = Arc::new(Mutex::new(None::<mpsc::Sender<Bytes>>));
    let slot = Arc::clone(&held);
    let server = TestServer::start(lifecycle(move |r| match r.rpc_method() {
        Some("tools/call") => {
            let (tx, response) = sse();
            let token = r.body["params"]["_meta"]["progressToken"].clone();
            let progress = json!({"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": token, "progress": 1}});
            tx.try_send(Bytes::from(event(&progress))).unwrap();
            *slot.lock().unwrap() = Some(tx);
            response
        }
        _ => status(500),
    }))
    .await;
    let client = client()
        .connect(server.builder().build_hyper().unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();
    let (started, mut begun) = mpsc::unbounded_channel();
    let call = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .call_tool_with_progress("hang", serde_json::Map::new(), move |_| {
                    let _ = started.send(());
                })
                .await
        })
    };
    begun.recv().await.unwrap();
    call.abort();
    let cancel = server
        .next(|r| r.rpc_method() == Some("notifications/cancelled"))
        .await;
    let call_id = server
        .find(|r| r.rpc_method() == Some("tools/call"))
        .unwrap()
        .id();
    assert_eq!(cancel.body["params"]["requestId"], call_id);
    // The client stopped reading the call's stream: writing to it fails
    // once the connection is gone.
    let events = held.lock().unwrap().take().unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while events.send(Bytes::from_static(b": ping\n\n")).await.is_ok() {}
    })
    .await
    .unwrap();
    client.close().await.unwrap();
}

#[cfg(feature = "reqwest")]
#[tokio::test]
async fn reqwest_works_as_the_http_client() {
    let server = TestServer::start(lifecycle(|r| match r.rpc_method() {
        Some("ping") => json(&result(&r.id(), json!({}))),
        _ => status(500),
    }))
    .await;
    let transport = StreamableHttpClient::reqwest(&server.url, reqwest::Client::new()).unwrap();
    let client = client().connect(transport).await.unwrap();
    client.initialize().await.unwrap();
    client.ping().await.unwrap();
    client.close().await.unwrap();
    let delete = server.find(|r| r.method == Method::DELETE).unwrap();
    assert_eq!(delete.header("mcp-session-id"), Some("sess-1"));
}

#[test]
fn configuration_is_checked() {
    assert!(
        StreamableHttpClient::builder("not a url")
            .build_hyper()
            .is_err()
    );
    assert!(
        StreamableHttpClient::builder("http://127.0.0.1/mcp")
            .header("mcp-session-id", "x")
            .build_hyper()
            .is_err()
    );
}

#[tokio::test]
async fn modern_requests_mirror_their_headers() {
    let server = TestServer::start(lifecycle(|r| json(&result(&r.id(), tool_text("ok"))))).await;
    let transport = server
        .builder()
        .standalone_stream(false)
        .modern_headers(true)
        .build_hyper()
        .unwrap();
    let client = client().connect(transport).await.unwrap();
    // A 2026-07-28 request: no handshake, the version in `_meta`.
    let params = json!({"name": "Grüße", "arguments": {},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}});
    client
        .peer()
        .request_value("tools/call", Some(params))
        .await
        .unwrap();
    let call = server
        .find(|r| r.rpc_method() == Some("tools/call"))
        .unwrap();
    assert_eq!(call.header("mcp-protocol-version"), Some("2026-07-28"));
    assert_eq!(call.header("mcp-method"), Some("tools/call"));
    assert_eq!(call.header("mcp-name"), Some("=?base64?R3LDvMOfZQ==?="));
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_request_answered_202_gets_its_answer_on_the_get_stream() {
    let (events, stream) = sse();
    let stream = Mutex::new(Some(stream));
    let server = TestServer::start(move |r: &Recorded| match (&r.method, r.rpc_method()) {
        (&Method::POST, Some("initialize")) => with_session(json(&init_result(&r.id())), "s"),
        (&Method::GET, _) => stream.lock().unwrap().take().unwrap_or_else(|| status(409)),
        _ => accepted(),
    })
    .await;
    let client = client()
        .connect(server.builder().build_hyper().unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();
    server.next(|r| r.method == Method::GET).await;
    let ping = {
        let client = client.clone();
        tokio::spawn(async move { client.ping().await })
    };
    let request = server.next(|r| r.rpc_method() == Some("ping")).await;
    events
        .send(Bytes::from(event(&result(&request.id(), json!({})))))
        .await
        .unwrap();
    ping.await.unwrap().unwrap();
    client.close().await.unwrap();
}

/// A 2026-07-28 `server/discover` answer.
fn discover_result(id: &Value) -> Value {
    result(
        id,
        json!({"resultType": "complete", "supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "modern", "version": "1"}}}),
    )
}

/// HTTP 400 with an `UnsupportedProtocolVersionError` listing `supported`.
fn unsupported_version(id: &Value, requested: Option<&str>, supported: &[&str]) -> Response<Body> {
    let error = json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": -32022, "message": "Unsupported protocol version",
        "data": {"supported": supported, "requested": requested.unwrap_or("")}}});
    full(
        StatusCode::BAD_REQUEST,
        Some("application/json"),
        error.to_string(),
    )
}

/// The `_meta` protocol version of a recorded request.
fn meta_version(r: &Recorded) -> Option<&str> {
    r.body["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"].as_str()
}

fn modern_client() -> mcp_tower_services::client::McpClientBuilder {
    client().protocol_version(mcp_tower_services::protocol::ProtocolVersion::V2026_07_28)
}

#[tokio::test]
async fn a_refused_discover_is_asked_again_with_a_version_from_the_error() {
    let refused = Mutex::new(false);
    let server = TestServer::start(lifecycle(move |r| match r.rpc_method() {
        Some("server/discover") if !std::mem::replace(&mut *refused.lock().unwrap(), true) => {
            unsupported_version(
                &r.id(),
                r.header("mcp-protocol-version"),
                &["2025-11-25", "2026-07-28"],
            )
        }
        Some("server/discover") => json(&discover_result(&r.id())),
        _ => json(&result(
            &r.id(),
            json!({"resultType": "complete", "tools": []}),
        )),
    }))
    .await;
    let transport = server.without_get_stream();
    let client = modern_client().connect(transport).await.unwrap();
    let answer = client.initialize().await.unwrap();
    assert_eq!(answer.protocol_version, "2026-07-28");
    assert_eq!(answer.server_info.name, "modern");
    client.list_tools().await.unwrap();
    let discovers: Vec<Recorded> = server
        .requests()
        .into_iter()
        .filter(|r| r.rpc_method() == Some("server/discover"))
        .collect();
    assert_eq!(discovers.len(), 2, "one refusal, one retry");
    assert_ne!(discovers[0].id(), discovers[1].id());
    for discover in &discovers {
        assert_eq!(discover.header("mcp-protocol-version"), Some("2026-07-28"));
        assert_eq!(meta_version(discover), Some("2026-07-28"));
    }
    assert!(
        server
            .find(|r| r.rpc_method() == Some("initialize"))
            .is_none()
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_server_that_lists_only_legacy_versions_gets_initialize_with_one_of_them() {
    let server = TestServer::start(move |r: &Recorded| match (&r.method, r.rpc_method()) {
        (&Method::POST, Some("server/discover")) => unsupported_version(
            &r.id(),
            r.header("mcp-protocol-version"),
            &["2025-03-26", "2025-06-18"],
        ),
        (&Method::POST, Some("initialize")) => json(&result(
            &r.id(),
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                "serverInfo": {"name": "legacy", "version": "1"}}),
        )),
        (&Method::GET, _) => status(405),
        _ => accepted(),
    })
    .await;
    let transport = server.without_get_stream();
    let client = modern_client().connect(transport).await.unwrap();
    let answer = client.initialize().await.unwrap();
    assert_eq!(answer.protocol_version, "2025-06-18");
    let initialize = server
        .find(|r| r.rpc_method() == Some("initialize"))
        .unwrap();
    assert_eq!(initialize.body["params"]["protocolVersion"], "2025-06-18");
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_refused_modern_request_is_retried_once_then_the_error_reaches_the_caller() {
    let refused = Mutex::new(false);
    let server = TestServer::start(lifecycle(move |r| {
        let supported: &[&str] = match r.rpc_method() {
            Some("server/discover") => return json(&discover_result(&r.id())),
            // Refused once, then answered.
            Some("tools/list") if !std::mem::replace(&mut *refused.lock().unwrap(), true) => {
                &["2026-07-28"]
            }
            Some("tools/list") => {
                return json(&result(
                    &r.id(),
                    json!({"resultType": "complete", "tools": []}),
                ));
            }
            // Always refused: no version in common after the retry either.
            _ => &["2026-07-28", "2099-01-01"],
        };
        unsupported_version(&r.id(), r.header("mcp-protocol-version"), supported)
    }))
    .await;
    let transport = server.without_get_stream();
    let client = modern_client().connect(transport).await.unwrap();
    client.initialize().await.unwrap();
    client.list_tools().await.unwrap();
    let lists = server
        .requests()
        .into_iter()
        .filter(|r| r.rpc_method() == Some("tools/list"))
        .count();
    assert_eq!(lists, 2, "one refusal, one retry");

    let error = client.call_tool("add", json!({})).await.unwrap_err();
    assert_eq!(remote_code(&error), -32022);
    let PeerError::Remote { error, .. } = error else {
        unreachable!()
    };
    let data = error.data.unwrap();
    assert_eq!(data["supported"], json!(["2026-07-28", "2099-01-01"]));
    assert_eq!(data["httpStatus"], 400);
    let calls = server
        .requests()
        .into_iter()
        .filter(|r| r.rpc_method() == Some("tools/call"))
        .count();
    assert_eq!(calls, 2, "retried once, then given up");
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_after_initialization_wait_until_the_get_stream_is_open() {
    // A server that sends a request on the GET stream while it handles the
    // client's next request (say an elicitation during a tool call) must
    // find that stream open. This one is slow to answer the GET; the
    // client's next request comes after that answer.
    let (_events, stream) = sse();
    let stream = Mutex::new(Some(stream));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server_seen = Arc::clone(&seen);
    let server = TestServer::start(move |r: &Recorded| match (&r.method, r.rpc_method()) {
        (&Method::POST, Some("initialize")) => with_session(json(&init_result(&r.id())), "s"),
        (&Method::GET, _) => {
            std::thread::sleep(Duration::from_millis(300));
            server_seen.lock().unwrap().push("GET answered");
            stream.lock().unwrap().take().unwrap_or_else(|| status(409))
        }
        (&Method::POST, Some("tools/list")) => {
            server_seen.lock().unwrap().push("tools/list");
            json(&result(&r.id(), json!({"tools": []})))
        }
        _ => accepted(),
    })
    .await;
    let transport = server.builder().build_hyper().unwrap();
    let client = client().connect(transport).await.unwrap();
    client.initialize().await.unwrap();
    client.list_tools().await.unwrap();
    assert_eq!(*seen.lock().unwrap(), ["GET answered", "tools/list"]);
    client.close().await.unwrap();
}
