//! The Streamable HTTP server transport over real sockets: hyper serves
//! `StreamableHttpService` on 127.0.0.1:0 and a hyper client talks to it
//! (MCP 2025-11-25, basic/transports, "Streamable HTTP"). The idle timeout
//! test drives the service in process with tokio's paused clock.
#![cfg(feature = "http-server")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use mcp_tower_services::protocol::{
    CallToolResult, ElicitRequestFormParams, ElicitRequestParams, RequestedSchema,
};
use mcp_tower_services::server::{McpServer, ToolError};
use mcp_tower_services::transport::http::{
    SseControl, StreamableHttpConfig, StreamableHttpConfigBuilder, StreamableHttpService,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tower::ServiceExt;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Text {
    text: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Steps {
    steps: u32,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

/// What the test's stand-in for an auth layer puts in the HTTP request.
#[derive(Debug, Clone)]
struct Caller(&'static str);

fn fail(error: impl std::fmt::Display) -> ToolError {
    ToolError::new(error.to_string())
}

fn mcp_server(gate: Arc<Notify>) -> McpServer {
    let gated = Arc::clone(&gate);
    McpServer::builder()
        .name("http-test")
        .tool("echo", "Echoes", |_ctx, args: Text| async move {
            Ok::<_, ToolError>(CallToolResult::text(args.text))
        })
        .tool(
            "progress",
            "Reports progress",
            |ctx, args: Steps| async move {
                for step in 1..=args.steps {
                    ctx.progress(f64::from(step), Some(f64::from(args.steps)), None)
                        .await
                        .map_err(fail)?;
                }
                Ok(CallToolResult::text("done"))
            },
        )
        .tool(
            "ask",
            "Asks the user for a name",
            |ctx, _: Nothing| async move {
                let params = ElicitRequestParams::Form(ElicitRequestFormParams::new(
                    "Your name?",
                    RequestedSchema::new(BTreeMap::new()),
                ));
                let result = ctx.elicit(&params).await.map_err(fail)?;
                Ok(CallToolResult::text(
                    serde_json::to_string(&result).unwrap(),
                ))
            },
        )
        .tool(
            "announce",
            "Notifies outside the request",
            |ctx, args: Text| async move {
                ctx.session
                    .peer()
                    .notify(
                        "notifications/message",
                        &json!({"level": "info", "data": args.text}),
                    )
                    .await
                    .map_err(fail)?;
                Ok(CallToolResult::text("announced"))
            },
        )
        .tool(
            "gated",
            "Progress, the gate, progress, answer",
            move |ctx, _: Nothing| {
                let gate = Arc::clone(&gated);
                async move {
                    ctx.progress(1.0, Some(2.0), None).await.map_err(fail)?;
                    gate.notified().await;
                    ctx.progress(2.0, Some(2.0), None).await.map_err(fail)?;
                    Ok(CallToolResult::text("through the gate"))
                }
            },
        )
        .tool(
            "poll",
            "Closes its stream, waits for the gate",
            move |ctx, _: Nothing| {
                let gate = Arc::clone(&gate);
                async move {
                    let closed = ctx
                        .extensions
                        .get::<SseControl>()
                        .is_some_and(SseControl::close_stream);
                    gate.notified().await;
                    Ok(CallToolResult::text(format!("closed early: {closed}")))
                }
            },
        )
        .tool(
            "whoami",
            "The caller the HTTP layers found",
            |ctx, _: Nothing| async move {
                let caller = ctx.extensions.get::<Caller>().map_or("nobody", |c| c.0);
                Ok(CallToolResult::text(caller))
            },
        )
        .build()
        .unwrap()
}

/// The service on 127.0.0.1:0, with a layer that puts a `Caller` in every
/// request (as the auth layers put a `Principal`); stopped on drop.
struct TestServer {
    addr: SocketAddr,
    gate: Arc<Notify>,
    service: StreamableHttpService<McpServer>,
    accept: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept.abort();
        self.service.close_all_sessions();
    }
}

async fn start(config: StreamableHttpConfigBuilder) -> TestServer {
    let gate = Arc::new(Notify::new());
    let service =
        StreamableHttpService::new(mcp_server(Arc::clone(&gate)), config.build().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = service.clone();
    let accept = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let app = tower::ServiceBuilder::new()
                .map_request(|mut request: Request<Incoming>| {
                    request.extensions_mut().insert(Caller("ada"));
                    request
                })
                .service(app.clone());
            connections.spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    TestServer {
        addr,
        gate,
        service,
        accept,
    }
}

/// A response, with the task of its connection (aborting it disconnects).
struct Reply {
    response: Response<Incoming>,
    connection: JoinHandle<()>,
}

impl Reply {
    fn status(&self) -> StatusCode {
        self.response.status()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
    }

    async fn text(self) -> String {
        let bytes = self
            .response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    async fn json(self) -> Value {
        assert_eq!(self.header("content-type"), Some("application/json"));
        serde_json::from_str(&self.text().await).unwrap()
    }

    /// The one answer, whether sent as JSON or on an SSE stream.
    async fn answer(self) -> Value {
        if self.header("content-type") == Some("text/event-stream") {
            self.sse().message().await
        } else {
            self.json().await
        }
    }

    fn sse(self) -> Events {
        assert_eq!(self.header("content-type"), Some("text/event-stream"));
        Events {
            body: self.response.into_body(),
            buffer: String::new(),
            connection: self.connection,
        }
    }
}

#[derive(Debug, Default)]
struct Event {
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
}

impl Event {
    fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().unwrap()).unwrap()
    }
}

/// An SSE response read event by event (comments skipped).
struct Events {
    body: Incoming,
    buffer: String,
    connection: JoinHandle<()>,
}

impl Events {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Event::default();
                let mut any = false;
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "" => continue,
                        "id" => event.id = Some(value.to_owned()),
                        "retry" => event.retry = Some(value.parse().unwrap()),
                        "data" => event.data = Some(value.to_owned()),
                        "event" => assert_eq!(value, "message"),
                        other => panic!("unexpected SSE field {other}"),
                    }
                    any = true;
                }
                if any {
                    return Some(event);
                }
                continue;
            }
            let frame = self.body.frame().await?.unwrap();
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
    }

    /// The next event that carries a message.
    async fn message(&mut self) -> Value {
        loop {
            let event = self.next().await.expect("the stream ended");
            if event.data.as_deref().is_some_and(|d| !d.is_empty()) {
                return event.json();
            }
        }
    }

    /// Drops the connection, as a client that goes away.
    fn disconnect(self) {
        self.connection.abort();
    }
}

async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> Reply {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = sender.send_request(request).await.unwrap();
    Reply {
        response,
        connection,
    }
}

fn post(body: &Value) -> http::request::Builder {
    Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .extension(body.to_string())
}

fn finish(builder: http::request::Builder) -> Request<Full<Bytes>> {
    let body = builder
        .extensions_ref()
        .and_then(|e| e.get::<String>().cloned())
        .unwrap_or_default();
    builder.body(Full::new(Bytes::from(body))).unwrap()
}

/// An initialized session.
struct Client {
    addr: SocketAddr,
    id: String,
    version: String,
}

fn initialize_body(version: &str, capabilities: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": version,
        "capabilities": capabilities,
        "clientInfo": {"name": "test", "version": "1"}
    }})
}

async fn connect(server: &TestServer, version: &str, capabilities: Value) -> Client {
    let reply = send(
        server.addr,
        finish(post(&initialize_body(version, &capabilities))),
    )
    .await;
    assert_eq!(reply.status(), StatusCode::OK);
    let id = reply
        .header("mcp-session-id")
        .expect("a session id")
        .to_owned();
    assert!(id.len() >= 32 && id.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    let answer = reply.answer().await;
    assert_eq!(answer["result"]["protocolVersion"], version);
    let client = Client {
        addr: server.addr,
        id,
        version: version.to_owned(),
    };
    let initialized = client
        .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    assert_eq!(initialized.status(), StatusCode::ACCEPTED);
    assert_eq!(initialized.text().await, "");
    client
}

impl Client {
    fn request(&self, body: &Value) -> http::request::Builder {
        post(body)
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", &self.version)
    }

    async fn post(&self, body: &Value) -> Reply {
        send(self.addr, finish(self.request(body))).await
    }

    async fn get(&self, last_event_id: Option<&str>) -> Reply {
        let mut builder = Request::get("/mcp")
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", &self.version);
        if let Some(id) = last_event_id {
            builder = builder.header("last-event-id", id);
        }
        send(self.addr, builder.body(Full::default()).unwrap()).await
    }

    async fn delete(&self) -> Reply {
        let request = Request::delete("/mcp")
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", &self.version)
            .body(Full::default())
            .unwrap();
        send(self.addr, request).await
    }
}

fn call(id: i64, tool: &str, arguments: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments}})
}

fn call_with_progress(id: i64, tool: &str, arguments: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": tool, "arguments": arguments, "_meta": {"progressToken": "p"}}})
}

async fn assert_error(reply: Reply, status: StatusCode, code: i64) -> Value {
    assert_eq!(reply.status(), status);
    let body = reply.json().await;
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], Value::Null);
    assert_eq!(body["error"]["code"], code, "{body}");
    body
}

fn config() -> StreamableHttpConfigBuilder {
    StreamableHttpConfig::builder()
}

#[tokio::test]
async fn initialize_then_a_tool_call_answered_as_json() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    let reply = client.post(&call(1, "echo", &json!({"text": "hi"}))).await;
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(reply.header("mcp-session-id"), Some(client.id.as_str()));
    let answer = reply.json().await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["result"]["content"][0]["text"], "hi");
    assert_eq!(server.service.session_count(), 1);
}

#[tokio::test]
async fn http_request_extensions_reach_the_tool() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    let answer = client
        .post(&call(1, "whoami", &json!({})))
        .await
        .json()
        .await;
    assert_eq!(answer["result"]["content"][0]["text"], "ada");
}

#[tokio::test]
async fn progress_switches_the_answer_to_sse() {
    let server = start(config()).await;
    let client = connect(&server, "2025-11-25", json!({})).await;
    let mut events = client
        .post(&call_with_progress(7, "progress", &json!({"steps": 3})))
        .await
        .sse();
    // 2025-11-25: a priming event first (an id, retry, empty data).
    let priming = events.next().await.unwrap();
    assert!(priming.id.is_some());
    assert_eq!(priming.retry, Some(1000));
    assert_eq!(priming.data.as_deref(), Some(""));
    let mut ids = vec![priming.id.unwrap()];
    for step in 1..=3 {
        let event = events.next().await.unwrap();
        let message = event.json();
        assert_eq!(message["method"], "notifications/progress");
        assert_eq!(message["params"]["progress"], f64::from(step));
        assert_eq!(message["params"]["progressToken"], "p");
        ids.push(event.id.unwrap());
    }
    let answer = events.next().await.unwrap();
    assert_eq!(answer.json()["id"], 7);
    assert_eq!(answer.json()["result"]["content"][0]["text"], "done");
    ids.push(answer.id.unwrap());
    assert!(
        events.next().await.is_none(),
        "the stream ends after the answer"
    );
    ids.dedup();
    assert_eq!(ids.len(), 5, "event ids are unique");
}

#[tokio::test]
async fn no_priming_event_before_2025_11_25() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    let mut events = client
        .post(&call_with_progress(1, "progress", &json!({"steps": 1})))
        .await
        .sse();
    let first = events.next().await.unwrap();
    assert_eq!(first.json()["method"], "notifications/progress");
    assert!(first.id.is_some(), "every event has an id");
    assert_eq!(events.message().await["id"], 1);
}

#[tokio::test]
async fn elicitation_round_trip_over_the_request_stream() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({"elicitation": {}})).await;
    let mut events = client.post(&call(3, "ask", &json!({}))).await.sse();
    let request = events.message().await;
    assert_eq!(request["method"], "elicitation/create");
    assert_eq!(request["params"]["message"], "Your name?");
    let answer = json!({"jsonrpc": "2.0", "id": request["id"],
                        "result": {"action": "accept", "content": {"name": "Ada"}}});
    let accepted = client.post(&answer).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let result = events.message().await;
    assert_eq!(result["id"], 3);
    let text: Value =
        serde_json::from_str(result["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text["action"], "accept");
    assert_eq!(text["content"]["name"], "Ada");
}

#[tokio::test]
async fn the_get_stream_carries_session_messages_and_is_single() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    // Sent while no GET stream is open: buffered.
    let before = client
        .post(&call(1, "announce", &json!({"text": "early"})))
        .await;
    assert_eq!(
        before.json().await["result"]["content"][0]["text"],
        "announced"
    );
    let get = client.get(None).await;
    assert_eq!(get.status(), StatusCode::OK);
    let mut events = get.sse();
    let early = events.message().await;
    assert_eq!(early["method"], "notifications/message");
    assert_eq!(early["params"]["data"], "early");
    // A second GET stream while one is open: 409.
    assert_error(client.get(None).await, StatusCode::CONFLICT, -32000).await;
    let during = client
        .post(&call(2, "announce", &json!({"text": "live"})))
        .await;
    assert_eq!(during.status(), StatusCode::OK);
    assert_eq!(events.message().await["params"]["data"], "live");
}

#[tokio::test]
async fn session_header_rules() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    // Missing: 400.
    let missing = send(
        server.addr,
        finish(post(&call(1, "echo", &json!({"text": "x"})))),
    )
    .await;
    assert_error(missing, StatusCode::BAD_REQUEST, -32000).await;
    // Unknown: 404.
    let unknown = send(
        server.addr,
        finish(post(&call(1, "echo", &json!({"text": "x"}))).header("mcp-session-id", "f00d")),
    )
    .await;
    assert_error(unknown, StatusCode::NOT_FOUND, -32001).await;
    // DELETE ends it; then 404.
    let deleted = client.delete().await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(server.service.session_count(), 0);
    let after = client.post(&call(2, "echo", &json!({"text": "x"}))).await;
    assert_error(after, StatusCode::NOT_FOUND, -32001).await;
    assert_error(client.delete().await, StatusCode::NOT_FOUND, -32001).await;
}

#[tokio::test]
async fn delete_and_get_can_be_disabled() {
    let server = start(config().allow_delete(false).allow_get(false)).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    let delete = client.delete().await;
    assert_eq!(delete.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(delete.header("allow"), Some("POST"));
    let get = client.get(None).await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn origin_and_host_checks() {
    let server = start(config()).await;
    let init = initialize_body("2025-06-18", &json!({}));
    let evil = send(
        server.addr,
        finish(post(&init).header("origin", "http://evil.example.com")),
    )
    .await;
    assert_error(evil, StatusCode::FORBIDDEN, -32000).await;
    let null = send(server.addr, finish(post(&init).header("origin", "null"))).await;
    assert_eq!(null.status(), StatusCode::FORBIDDEN);
    let local = send(
        server.addr,
        finish(post(&init).header("origin", format!("http://localhost:{}", server.addr.port()))),
    )
    .await;
    assert_eq!(local.status(), StatusCode::OK);

    let strict = start(
        config()
            .allow_loopback_hosts()
            .allow_origin("https://app.example.com"),
    )
    .await;
    let rebinding = send(
        strict.addr,
        finish(post(&init).header("host", format!("evil.example.com:{}", strict.addr.port()))),
    )
    .await;
    assert_error(rebinding, StatusCode::FORBIDDEN, -32000).await;
    let listed = send(
        strict.addr,
        finish(
            post(&init)
                .header("host", format!("127.0.0.1:{}", strict.addr.port()))
                .header("origin", "https://app.example.com"),
        ),
    )
    .await;
    assert_eq!(listed.status(), StatusCode::OK);
    let loopback_origin = send(
        strict.addr,
        finish(
            post(&init)
                .header("host", format!("localhost:{}", strict.addr.port()))
                .header("origin", "http://localhost"),
        ),
    )
    .await;
    assert_eq!(loopback_origin.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn accept_content_type_and_size_rules() {
    let server = start(config().max_body_bytes(512)).await;
    let init = initialize_body("2025-06-18", &json!({}));
    let mut request = finish(post(&init));
    request
        .headers_mut()
        .insert("accept", "application/json".parse().unwrap());
    assert_error(
        send(server.addr, request).await,
        StatusCode::NOT_ACCEPTABLE,
        -32000,
    )
    .await;
    let mut request = finish(post(&init));
    request
        .headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    assert_error(
        send(server.addr, request).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        -32000,
    )
    .await;
    let big = call(1, "echo", &json!({"text": "x".repeat(1024)}));
    let too_large = send(server.addr, finish(post(&big))).await;
    assert_error(too_large, StatusCode::PAYLOAD_TOO_LARGE, -32000).await;
    // A GET must accept text/event-stream.
    let client = connect(&server, "2025-06-18", json!({})).await;
    let request = Request::get("/mcp")
        .header("accept", "application/json")
        .header("mcp-session-id", &client.id)
        .body(Full::default())
        .unwrap();
    assert_error(
        send(server.addr, request).await,
        StatusCode::NOT_ACCEPTABLE,
        -32000,
    )
    .await;
}

#[tokio::test]
async fn malformed_json_and_invalid_messages() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    let mut request = finish(client.request(&json!({})));
    *request.body_mut() = Full::new(Bytes::from_static(b"{\"jsonrpc\": "));
    let body = assert_error(
        send(server.addr, request).await,
        StatusCode::BAD_REQUEST,
        -32700,
    )
    .await;
    assert!(body["error"]["message"].as_str().unwrap().contains("JSON"));
    let invalid = client
        .post(&json!({"jsonrpc": "1.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    assert_eq!(invalid.json().await["error"]["code"], -32600);
}

#[tokio::test]
async fn unsupported_protocol_version_header() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    let mut request = finish(client.request(&call(1, "echo", &json!({"text": "x"}))));
    request
        .headers_mut()
        .insert("mcp-protocol-version", "1999-01-01".parse().unwrap());
    let body = assert_error(
        send(server.addr, request).await,
        StatusCode::BAD_REQUEST,
        -32000,
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1999-01-01")
    );
    // Without the header, the negotiated version applies.
    let mut request = finish(client.request(&call(2, "echo", &json!({"text": "x"}))));
    request.headers_mut().remove("mcp-protocol-version");
    assert_eq!(send(server.addr, request).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn batches_only_in_2025_03_26() {
    let server = start(config()).await;
    let batch = json!([
        call(1, "echo", &json!({"text": "a"})),
        {"jsonrpc": "2.0", "method": "notifications/whatever"},
        call(2, "echo", &json!({"text": "b"})),
        {"jsonrpc": "2.0", "id": 3}
    ]);
    let modern = connect(&server, "2025-06-18", json!({})).await;
    assert_error(modern.post(&batch).await, StatusCode::BAD_REQUEST, -32600).await;

    let old = connect(&server, "2025-03-26", json!({})).await;
    let answers = old.post(&batch).await.json().await;
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0]["result"]["content"][0]["text"], "a");
    assert_eq!(answers[1]["result"]["content"][0]["text"], "b");
    assert_eq!(answers[2]["error"]["code"], -32600);
    // Only notifications: 202.
    let notes = json!([{"jsonrpc": "2.0", "method": "notifications/whatever"}]);
    assert_eq!(old.post(&notes).await.status(), StatusCode::ACCEPTED);
    // initialize inside a batch: refused.
    let with_init = json!([initialize_body("2025-03-26", &json!({}))]);
    let refused = send(server.addr, finish(post(&with_init))).await;
    assert_error(refused, StatusCode::BAD_REQUEST, -32600).await;
}

#[tokio::test]
async fn a_dropped_stream_resumes_with_last_event_id() {
    let server = start(config()).await;
    let client = connect(&server, "2025-11-25", json!({})).await;
    let mut events = client
        .post(&call_with_progress(5, "gated", &json!({})))
        .await
        .sse();
    let priming = events.next().await.unwrap();
    assert_eq!(priming.data.as_deref(), Some(""));
    let first = events.next().await.unwrap();
    assert_eq!(first.json()["params"]["progress"], 1.0);
    let last_id = first.id.unwrap();
    events.disconnect();
    // The request goes on without its client.
    server.gate.notify_one();
    let mut resumed = client.get(Some(&last_id)).await.sse();
    let second = resumed.message().await;
    assert_eq!(second["method"], "notifications/progress");
    assert_eq!(second["params"]["progress"], 2.0);
    let answer = resumed.message().await;
    assert_eq!(answer["id"], 5);
    assert_eq!(answer["result"]["content"][0]["text"], "through the gate");
    assert!(
        resumed.next().await.is_none(),
        "a finished stream closes after the replay"
    );
    // Resuming again from the same point replays the same events.
    let mut again = client.get(Some(&last_id)).await.sse();
    assert_eq!(again.message().await["params"]["progress"], 2.0);
    assert_eq!(again.message().await["id"], 5);
    // An id of no stream: 400.
    let unknown = client.get(Some("999-1")).await;
    assert_error(unknown, StatusCode::BAD_REQUEST, -32000).await;
    let garbage = client.get(Some("not-an-id")).await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sse_polling_closes_the_stream_early_and_resumes() {
    let server = start(config().sse_retry(Some(Duration::from_millis(250)))).await;
    let client = connect(&server, "2025-11-25", json!({})).await;
    let mut events = client.post(&call(9, "poll", &json!({}))).await.sse();
    let priming = events.next().await.unwrap();
    assert_eq!(priming.retry, Some(250));
    assert_eq!(priming.data.as_deref(), Some(""));
    let priming_id = priming.id.unwrap();
    // The server closes the connection (after a retry field) before the answer.
    let mut rest = Vec::new();
    while let Some(event) = events.next().await {
        rest.push(event);
    }
    assert!(
        rest.iter().all(|e| e.data.is_none()),
        "no message before the close"
    );
    server.gate.notify_one();
    let mut resumed = client.get(Some(&priming_id)).await.sse();
    let answer = resumed.message().await;
    assert_eq!(answer["id"], 9);
    assert_eq!(answer["result"]["content"][0]["text"], "closed early: true");
    assert!(resumed.next().await.is_none());
}

#[tokio::test]
async fn sse_polling_is_refused_for_older_clients() {
    let server = start(config()).await;
    let client = connect(&server, "2025-06-18", json!({})).await;
    let pending = tokio::spawn({
        let (addr, id, version) = (client.addr, client.id.clone(), client.version.clone());
        async move {
            Client { addr, id, version }
                .post(&call(9, "poll", &json!({})))
                .await
                .json()
                .await
        }
    });
    server.gate.notify_one();
    let answer = pending.await.unwrap();
    assert_eq!(
        answer["result"]["content"][0]["text"],
        "closed early: false"
    );
}

#[tokio::test]
async fn too_many_sessions_get_503_until_one_ends() {
    let server = start(config().max_sessions(2)).await;
    let first = connect(&server, "2025-06-18", json!({})).await;
    let _second = connect(&server, "2025-06-18", json!({})).await;
    let init = initialize_body("2025-06-18", &json!({}));
    let full = send(server.addr, finish(post(&init))).await;
    assert_eq!(full.header("retry-after"), Some("5"));
    assert_error(full, StatusCode::SERVICE_UNAVAILABLE, -32000).await;
    assert_eq!(first.delete().await.status(), StatusCode::NO_CONTENT);
    let _third = connect(&server, "2025-06-18", json!({})).await;
}

#[tokio::test]
async fn stateless_mode_serves_each_post_alone() {
    let server = start(config().stateless()).await;
    let init = send(
        server.addr,
        finish(post(&initialize_body("2025-06-18", &json!({})))),
    )
    .await;
    assert_eq!(init.status(), StatusCode::OK);
    assert!(init.header("mcp-session-id").is_none());
    // No session header needed; the fresh session is already initialized.
    let echo = send(
        server.addr,
        finish(post(&call(1, "echo", &json!({"text": "solo"})))),
    )
    .await;
    assert_eq!(echo.json().await["result"]["content"][0]["text"], "solo");
    let get = send(
        server.addr,
        Request::get("/mcp")
            .header("accept", "text/event-stream")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(server.service.session_count(), 0);
}

#[tokio::test]
async fn json_only_and_sse_always_modes() {
    let server = start(config().json_response_only()).await;
    let client = connect(&server, "2025-11-25", json!({})).await;
    let reply = client
        .post(&call_with_progress(1, "progress", &json!({"steps": 2})))
        .await;
    assert_eq!(reply.json().await["result"]["content"][0]["text"], "done");

    let server = start(config().sse_always()).await;
    let client = connect(&server, "2025-11-25", json!({})).await;
    let mut events = client
        .post(&call(1, "echo", &json!({"text": "s"})))
        .await
        .sse();
    assert_eq!(events.message().await["result"]["content"][0]["text"], "s");
}

// In process, with tokio's clock paused: no sockets, so no real time.
#[tokio::test(start_paused = true)]
async fn idle_sessions_expire() {
    let config = config()
        .idle_timeout(Some(Duration::from_secs(60)))
        .build()
        .unwrap();
    let service = StreamableHttpService::new(mcp_server(Arc::new(Notify::new())), config);
    let request = |body: &Value, session: Option<&str>| {
        let mut builder = post(body);
        if let Some(id) = session {
            builder = builder.header("mcp-session-id", id);
        }
        finish(builder)
    };
    let init = service
        .clone()
        .oneshot(request(&initialize_body("2025-06-18", &json!({})), None))
        .await
        .unwrap();
    let id = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let ok = service
        .clone()
        .oneshot(request(&initialized, Some(&id)))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::ACCEPTED);

    tokio::time::advance(Duration::from_secs(59)).await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let alive = service
        .clone()
        .oneshot(request(&ping, Some(&id)))
        .await
        .unwrap();
    assert_eq!(alive.status(), StatusCode::OK, "activity keeps the session");
    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(service.session_count(), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    for _ in 0..10 {
        if service.session_count() == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(service.session_count(), 0, "the watchdog removed it");
    let gone = service
        .clone()
        .oneshot(request(&ping, Some(&id)))
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}
