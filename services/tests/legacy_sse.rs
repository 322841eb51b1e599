//! The legacy HTTP+SSE transport (revision 2024-11-05): `LegacySseClient`
//! with `McpClient` against `LegacySseServer` with `McpServer`, on
//! 127.0.0.1, and the server's routes and refusals over raw HTTP.
#![cfg(all(feature = "legacy-sse", feature = "http-client"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use mcp_tower_services::client::McpClient;
use mcp_tower_services::peer::PeerError;
use mcp_tower_services::protocol::{
    CallToolResult, ElicitAction, ElicitRequestFormParams, ElicitRequestParams, ElicitResult,
    ElicitValue, RequestedSchema,
};
use mcp_tower_services::server::{McpServer, ToolContext, ToolError};
use mcp_tower_services::transport::http_client::LegacySseClient;
use mcp_tower_services::transport::legacy_sse_server::LegacySseServer;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

/// Who the (pretend) authentication layer says is calling.
#[derive(Debug, Clone)]
struct Caller(&'static str);

fn server(cancelled: Arc<Notify>) -> McpServer {
    McpServer::builder()
        .name("legacy-test")
        .tool("add", "Adds", |_ctx: ToolContext, a: Add| async move {
            Ok::<_, ToolError>(CallToolResult::text((a.a + a.b).to_string()))
        })
        .tool(
            "whoami",
            "Names the caller",
            |ctx: ToolContext, _: Nothing| async move {
                let caller = ctx.extensions.get::<Caller>().map_or("nobody", |c| c.0);
                Ok::<_, ToolError>(CallToolResult::text(caller))
            },
        )
        .tool(
            "count",
            "Progress",
            |ctx: ToolContext, _: Nothing| async move {
                for i in 1..=3 {
                    ctx.progress(f64::from(i), Some(3.0), None)
                        .await
                        .map_err(|e| ToolError::new(e.to_string()))?;
                }
                Ok(CallToolResult::text("counted"))
            },
        )
        .tool(
            "ask",
            "Elicits",
            |ctx: ToolContext, _: Nothing| async move {
                let form = ElicitRequestFormParams::new(
                    "Your name?",
                    RequestedSchema::new(BTreeMap::new()),
                );
                let answer = ctx
                    .elicit(&ElicitRequestParams::Form(form))
                    .await
                    .map_err(|e| ToolError::new(e.to_string()))?;
                let name = match answer.content.as_ref().and_then(|c| c.get("name")) {
                    Some(ElicitValue::String(s)) => s.clone(),
                    _ => "nobody".to_owned(),
                };
                Ok(CallToolResult::text(name))
            },
        )
        .tool(
            "hang",
            "Waits for cancellation",
            move |ctx: ToolContext, _: Nothing| {
                let cancelled = Arc::clone(&cancelled);
                async move {
                    // The server drops a cancelled handler.
                    struct OnDrop(Arc<Notify>);
                    impl Drop for OnDrop {
                        fn drop(&mut self) {
                            self.0.notify_one();
                        }
                    }
                    let _guard = OnDrop(cancelled);
                    ctx.progress(0.0, None, None).await.ok();
                    ctx.cancelled().await;
                    Ok(CallToolResult::text("cancelled"))
                }
            },
        )
        .build()
        .unwrap()
}

/// Serves the legacy transport; every request gets a `Caller` extension,
/// as an authentication layer in front would add.
async fn serve(legacy: LegacySseServer<McpServer>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let legacy = legacy.clone();
            let service = tower::service_fn(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(Caller("alice"));
                legacy.clone().oneshot(request)
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)),
            );
        }
    });
    addr
}

#[tokio::test]
async fn our_legacy_client_and_server_talk() {
    let cancelled = Arc::new(Notify::new());
    let legacy = LegacySseServer::builder()
        .build(server(Arc::clone(&cancelled)))
        .unwrap();
    let addr = serve(legacy.clone()).await;
    let transport = LegacySseClient::hyper(&format!("http://{addr}/sse")).unwrap();
    let client = McpClient::builder()
        .protocol_version(mcp_tower_services::protocol::ProtocolVersion::V2024_11_05)
        .on_elicitation(|_params| async {
            let mut content = BTreeMap::new();
            content.insert("name".to_owned(), ElicitValue::String("Ada".to_owned()));
            let mut result = ElicitResult::new(ElicitAction::Accept);
            result.content = Some(content);
            Ok(result)
        })
        .connect(transport)
        .await
        .unwrap();
    let info = client.initialize().await.unwrap();
    assert_eq!(info.server_info.name, "legacy-test");
    assert_eq!(info.protocol_version, "2024-11-05");
    assert_eq!(legacy.active_sessions(), 1);

    let tools = client.list_tools().await.unwrap();
    assert_eq!(tools.len(), 5);
    let sum = client
        .call_tool("add", json!({"a": 2, "b": 40}))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&sum).unwrap()["content"][0]["text"],
        "42"
    );
    let who = client.call_tool("whoami", json!({})).await.unwrap();
    assert_eq!(
        serde_json::to_value(&who).unwrap()["content"][0]["text"],
        "alice"
    );

    let steps = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&steps);
    client
        .call_tool_with_progress("count", serde_json::Map::new(), move |p| {
            sink.lock().unwrap().push(p.progress);
        })
        .await
        .unwrap();
    assert_eq!(*steps.lock().unwrap(), [1.0, 2.0, 3.0]);

    // A dropped call is cancelled on the server.
    let (started, mut begun) = tokio::sync::mpsc::unbounded_channel();
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
    tokio::time::timeout(Duration::from_secs(20), cancelled.notified())
        .await
        .unwrap();

    client.close().await.unwrap();
}

#[tokio::test]
async fn elicitation_works_on_a_newer_revision() {
    let legacy = LegacySseServer::builder()
        .build(server(Arc::new(Notify::new())))
        .unwrap();
    let addr = serve(legacy).await;
    let client = McpClient::builder()
        .on_elicitation(|_params| async {
            let mut content = BTreeMap::new();
            content.insert("name".to_owned(), ElicitValue::String("Ada".to_owned()));
            let mut result = ElicitResult::new(ElicitAction::Accept);
            result.content = Some(content);
            Ok(result)
        })
        .connect(LegacySseClient::hyper(&format!("http://{addr}/sse")).unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();
    let named = client.call_tool("ask", json!({})).await.unwrap();
    assert_eq!(
        serde_json::to_value(named).unwrap()["content"][0]["text"],
        "Ada"
    );
    client.close().await.unwrap();
}

async fn raw(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> (StatusCode, http::HeaderMap, Incoming) {
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http();
    let mut request = request;
    let uri = format!("http://{addr}{}", request.uri());
    *request.uri_mut() = uri.parse().unwrap();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body)
}

async fn text(body: Incoming) -> String {
    String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn post(path: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

/// Opens a session: the stream (past its endpoint event) and the endpoint.
async fn open_session(addr: SocketAddr) -> (Incoming, String) {
    // The stream starts with the endpoint event.
    let (status, headers, mut body) =
        raw(addr, Request::get("/sse").body(Full::default()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/event-stream");
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = std::str::from_utf8(&first).unwrap().to_owned();
    let endpoint = first
        .strip_prefix("event: endpoint\ndata: ")
        .and_then(|s| s.strip_suffix("\n\n"))
        .unwrap()
        .to_owned();
    assert!(endpoint.starts_with("/messages?sessionId="), "{endpoint}");
    let id = endpoint.rsplit('=').next().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    (body, endpoint)
}

#[tokio::test]
async fn a_session_streams_answers_until_its_stream_is_dropped() {
    let legacy = LegacySseServer::builder()
        .build(server(Arc::new(Notify::new())))
        .unwrap();
    let addr = serve(legacy).await;
    let (mut body, endpoint) = open_session(addr).await;
    let endpoint = endpoint.as_str();
    // A message is accepted, and its answer comes on the stream.
    let (status, _, accepted) = raw(
        addr,
        post(endpoint, r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(text(accepted).await, "Accepted");
    let event = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(
        std::str::from_utf8(&event).unwrap(),
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n"
    );

    // Dropping the stream ends the session: its URL is then unknown.
    drop(body);
    // Pings make the server write to the dead stream until it notices.
    let mut gone = false;
    for n in 0..200 {
        let ping = format!(r#"{{"jsonrpc":"2.0","id":{n},"method":"ping"}}"#);
        let (status, _, _) = raw(addr, post(endpoint, &ping)).await;
        if status == StatusCode::NOT_FOUND {
            gone = true;
            break;
        }
    }
    assert!(gone, "the session outlived its stream");
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let legacy = LegacySseServer::builder()
        .max_body_bytes(1024)
        .build(server(Arc::new(Notify::new())))
        .unwrap();
    let addr = serve(legacy.clone()).await;

    let (_stream, endpoint) = open_session(addr).await;
    let endpoint = endpoint.as_str();
    let cases: Vec<(Request<Full<Bytes>>, StatusCode)> = vec![
        // Unknown session.
        (
            post("/messages?sessionId=nope", "{}"),
            StatusCode::NOT_FOUND,
        ),
        // No session.
        (post("/messages", "{}"), StatusCode::BAD_REQUEST),
        // Not JSON-RPC.
        (post(endpoint, "{\"x\":1}"), StatusCode::BAD_REQUEST),
        (post(endpoint, "not json"), StatusCode::BAD_REQUEST),
        // Too large.
        (
            Request::post(endpoint)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(vec![b' '; 2048])))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        // Wrong content type.
        (
            Request::post(endpoint)
                .header("content-type", "text/plain")
                .body(Full::new(Bytes::from_static(b"{}")))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        // A browser page of another origin.
        (
            Request::post(endpoint)
                .header("content-type", "application/json")
                .header("origin", "http://evil.example")
                .body(Full::new(Bytes::from_static(b"{}")))
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            Request::get("/sse")
                .header("origin", "http://evil.example")
                .body(Full::default())
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            Request::get("/messages").body(Full::default()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Request::post("/sse").body(Full::default()).unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Request::get("/other").body(Full::default()).unwrap(),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (request, expected) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let (status, _, _) = raw(addr, request).await;
        assert_eq!(status, expected, "{what}");
    }
    // A loopback origin is fine.
    let (status, _, _) = raw(
        addr,
        Request::post(endpoint)
            .header("content-type", "application/json")
            .header("origin", "http://localhost:5173")
            .body(Full::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","method":"x"}"#,
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_client_refuses_an_endpoint_of_another_origin() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(|_request: Request<Incoming>| async {
            Ok::<_, Infallible>(
                http::Response::builder()
                    .header("content-type", "text/event-stream")
                    .body(Full::new(Bytes::from_static(
                        b"event: endpoint\ndata: http://evil.example/messages\n\n",
                    )))
                    .unwrap(),
            )
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
    let error = McpClient::builder()
        .connect(LegacySseClient::hyper(&format!("http://{addr}/sse")).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
}

#[tokio::test]
async fn a_closed_stream_fails_waiting_requests() {
    // A server whose stream ends right after the endpoint event.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper::service::service_fn(|request: Request<Incoming>| async move {
                let response = if request.method() == http::Method::GET {
                    http::Response::builder()
                        .header("content-type", "text/event-stream")
                        .body(Full::new(Bytes::from_static(
                            b"event: endpoint\ndata: /messages?sessionId=1\n\n",
                        )))
                } else {
                    http::Response::builder().status(202).body(Full::default())
                };
                Ok::<_, Infallible>(response.unwrap())
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    let client = McpClient::builder()
        .connect(LegacySseClient::hyper(&format!("http://{addr}/sse")).unwrap())
        .await
        .unwrap();
    assert_eq!(client.initialize().await.unwrap_err(), PeerError::Closed);
}
