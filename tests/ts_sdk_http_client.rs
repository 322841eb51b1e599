//! Interoperability of our HTTP client transports with the official MCP
//! TypeScript SDK (`tests/interop/ts`, installed by `scripts/test.sh` with
//! `npm ci --prefix tests/interop/ts`):
//! - `McpClient` over `StreamableHttpClient` drives the SDK's
//!   `StreamableHTTPServerTransport` (`server_http.mjs streamable`): tools,
//!   progress, SSE polling (the server closes the stream, we resume with
//!   `Last-Event-ID`), cancellation, elicitation, resources, prompts and
//!   `DELETE` on close;
//! - `McpClient` over `LegacySseClient` drives the SDK's deprecated
//!   `SSEServerTransport` (`server_http.mjs sse`);
//! - the SDK's deprecated `SSEClientTransport` (`client_sse.mjs`) drives our
//!   `LegacySseServer`;
//! - and the client composes with `DpopSigningLayer` around the HTTP client.
#![cfg(all(feature = "http-client", feature = "legacy-sse"))]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use mcp_tower::prelude::*;
use mcp_tower::services::client::McpClient;
use mcp_tower::services::protocol::{
    CallToolResult, ElicitAction, ElicitResult, ElicitValue, Resource, ResourceContents,
    TextResourceContents,
};
use mcp_tower::services::server::{McpServer, ToolContext, ToolError};
use mcp_tower::services::transport::http_client::{
    LegacySseClient, StreamableHttpClient, hyper_client,
};
use mcp_tower::services::transport::legacy_sse_server::LegacySseServer;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

fn interop_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sdk = root.join("tests/interop/ts/node_modules/@modelcontextprotocol/sdk");
    assert!(
        sdk.is_dir(),
        "the MCP TypeScript SDK is not installed: run `npm ci --prefix tests/interop/ts` (scripts/test.sh does)"
    );
    root.join("tests/interop/ts")
}

/// The TypeScript server, its base URL and the JSON events it reports.
struct TsServer {
    _child: Child,
    base: String,
    events: mpsc::UnboundedReceiver<Value>,
}

impl TsServer {
    async fn start(mode: &str) -> Self {
        let mut child = Command::new("node")
            .arg(interop_dir().join("server_http.mjs"))
            .arg(mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node must be installed (scripts/test.sh checks)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the TypeScript server did not start")
            .unwrap()
            .expect("the TypeScript server exited");
        let base = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(event);
                }
            }
        });
        Self {
            _child: child,
            base,
            events,
        }
    }

    /// Waits for the next event named `name`.
    async fn event(&mut self, name: &str) -> Value {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(30), self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no {name} event from the TypeScript server"))
                .expect("the TypeScript server exited");
            if event["event"] == name {
                return event;
            }
        }
    }
}

fn text(result: &CallToolResult) -> String {
    serde_json::to_value(result).unwrap()["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn args(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

fn answer_ada() -> mcp_tower::services::client::McpClientBuilder {
    McpClient::builder()
        .name("mcp-tower-interop")
        .on_elicitation(|_params| async {
            let mut content = BTreeMap::new();
            content.insert("name".to_owned(), ElicitValue::String("Ada".to_owned()));
            let mut result = ElicitResult::new(ElicitAction::Accept);
            result.content = Some(content);
            Ok(result)
        })
}

/// The tools every run exercises the same way over either transport.
async fn exercise(client: &McpClient) {
    let mut names: Vec<String> = client
        .list_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "add",
            "ask",
            "cancellations",
            "echo",
            "hang",
            "poll",
            "progress"
        ]
    );
    let echo = client
        .call_tool("echo", json!({"text": "hello from Rust"}))
        .await
        .unwrap();
    assert_eq!(text(&echo), "hello from Rust");
    let add = client
        .call_tool("add", json!({"a": 20, "b": 22}))
        .await
        .unwrap();
    assert_eq!(text(&add), "42");

    let steps = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&steps);
    let done = client
        .call_tool_with_progress("progress", args(json!({"steps": 3})), move |p| {
            sink.lock().unwrap().push((p.progress, p.message));
        })
        .await
        .unwrap();
    assert_eq!(text(&done), "3 steps done");
    assert_eq!(
        *steps.lock().unwrap(),
        [
            (1.0, Some("step 1".to_owned())),
            (2.0, Some("step 2".to_owned())),
            (3.0, Some("step 3".to_owned()))
        ]
    );

    // Elicitation: the server asks us in the middle of the call.
    let asked = client.call_tool("ask", json!({})).await.unwrap();
    assert_eq!(text(&asked), "accept: Ada");

    let about = client.read_resource("memo://about").await.unwrap();
    let about = serde_json::to_value(&about).unwrap();
    assert_eq!(about["contents"][0]["text"], "A TypeScript SDK server.");
    let resources = client.list_resources().await.unwrap();
    assert_eq!(resources[0].uri, "memo://about");
    let prompts = client.list_prompts().await.unwrap();
    assert_eq!(prompts[0].name, "greet");
    let mut who = BTreeMap::new();
    who.insert("who".to_owned(), "Ada".to_owned());
    let greet = client.get_prompt("greet", who).await.unwrap();
    assert_eq!(
        serde_json::to_value(&greet).unwrap()["messages"][0]["content"]["text"],
        "Say hello to Ada."
    );
    client.ping().await.unwrap();

    // Cancellation: drop a call once it runs; the server's tool sees the
    // abort, and a second tool reports it.
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
    let seen = client.call_tool("cancellations", json!({})).await.unwrap();
    let seen: Value = serde_json::from_str(&text(&seen)).unwrap();
    assert_eq!(seen.as_array().unwrap().len(), 1, "{seen}");
    assert!(
        seen[0]["reason"]
            .as_str()
            .unwrap()
            .contains("stopped waiting"),
        "{seen}"
    );
}

#[tokio::test]
async fn our_streamable_http_client_drives_the_typescript_server() {
    let mut ts = TsServer::start("streamable").await;
    let transport = StreamableHttpClient::hyper(&format!("{}/mcp", ts.base)).unwrap();
    let client = answer_ada().connect(transport).await.unwrap();
    let info = client.initialize().await.unwrap();
    assert_eq!(info.server_info.name, "ts-sdk-http-server");
    assert_eq!(info.protocol_version, "2025-11-25");
    exercise(&client).await;

    // SSE polling: the tool closes its stream after the first progress; we
    // resume with GET + Last-Event-ID after the server's retry (50 ms) and
    // get the rest from its event store.
    let steps = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&steps);
    let polled = client
        .call_tool_with_progress("poll", serde_json::Map::new(), move |p| {
            sink.lock().unwrap().push(p.progress);
        })
        .await
        .unwrap();
    assert_eq!(text(&polled), "polled (stream closed: true)");
    assert_eq!(*steps.lock().unwrap(), [1.0, 2.0]);
    // What the server printed, in order: the cancellation, then the close.
    assert!(ts.event("cancelled").await["reason"].is_string());
    assert_eq!(ts.event("stream-closed").await["closed"], true);

    // Closing sends DELETE; the server reports the session deleted.
    client.close().await.unwrap();
    ts.event("session-deleted").await;
}

#[tokio::test]
async fn our_legacy_client_drives_the_typescript_sse_server() {
    let ts = TsServer::start("sse").await;
    let transport = LegacySseClient::hyper(&format!("{}/sse", ts.base)).unwrap();
    let client = answer_ada().connect(transport).await.unwrap();
    let info = client.initialize().await.unwrap();
    assert_eq!(info.server_info.name, "ts-sdk-http-server");
    exercise(&client).await;
    client.close().await.unwrap();
}

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

fn our_server() -> McpServer {
    McpServer::builder()
        .name("mcp-tower-legacy-sse")
        .tool("echo", "Echoes the text back", |_ctx: ToolContext, a: Echo| async move {
            Ok::<_, ToolError>(CallToolResult::text(a.text))
        })
        .tool("add", "Adds two integers", |_ctx: ToolContext, a: Add| async move {
            Ok::<_, ToolError>(CallToolResult::text((a.a + a.b).to_string()))
        })
        .tool("count", "Reports progress", |ctx: ToolContext, a: Steps| async move {
            for step in 1..=a.steps {
                ctx.progress(f64::from(step), Some(f64::from(a.steps)), None)
                    .await
                    .map_err(|e| ToolError::new(e.to_string()))?;
            }
            Ok(CallToolResult::text(format!("{} steps", a.steps)))
        })
        .resource(Resource::new("memo://about", "about"), |_ctx| async move {
            Ok::<_, ToolError>(vec![ResourceContents::Text(TextResourceContents::new(
                "memo://about",
                "Served over HTTP+SSE by mcp-tower.",
            ))])
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_typescript_sse_client_drives_our_legacy_server() {
    let legacy = LegacySseServer::builder().build(our_server()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(legacy.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    let output = Command::new("node")
        .arg(interop_dir().join("client_sse.mjs"))
        .arg(format!("http://{addr}/sse"))
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("the TypeScript client hung")
        .expect("node must be installed (scripts/test.sh checks)");
    assert!(output.status.success(), "the TypeScript client failed");
    let out: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["server"]["name"], "mcp-tower-legacy-sse");
    let names: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "add", "count"]);
    assert_eq!(out["echo"]["content"][0]["text"], "hello over SSE");
    assert_eq!(out["add"]["content"][0]["text"], "42");
    assert_eq!(out["count"]["content"][0]["text"], "3 steps");
    assert_eq!(out["unknownTool"]["code"], -32602);
    assert_eq!(out["resources"][0]["uri"], "memo://about");
    assert_eq!(
        out["about"]["contents"][0]["text"],
        "Served over HTTP+SSE by mcp-tower."
    );
    assert_eq!(out["ping"], "ok");
}

/// `DpopSigningLayer` wraps the HTTP client the transport sends with: every
/// request the transport makes carries a fresh proof for its method and URL.
#[tokio::test]
async fn the_client_composes_with_dpop_signing() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<(String, Option<String>)>::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let log = Arc::clone(&log);
            let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
                let log = Arc::clone(&log);
                async move {
                    let method = request.method().to_string();
                    let proof = request
                        .headers()
                        .get("dpop")
                        .map(|v| v.to_str().unwrap().to_owned());
                    log.lock().unwrap().push((method.clone(), proof));
                    let body = request.into_body().collect().await.unwrap().to_bytes();
                    let message: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let response = match message["method"].as_str() {
                        Some("initialize") => http::Response::builder()
                            .header("content-type", "application/json")
                            .header("mcp-session-id", "s")
                            .body(Full::new(Bytes::from(
                                json!({"jsonrpc": "2.0", "id": message["id"], "result": {
                                    "protocolVersion": "2025-11-25", "capabilities": {},
                                    "serverInfo": {"name": "dpop", "version": "1"}}})
                                .to_string(),
                            ))),
                        _ if method == "GET" => {
                            http::Response::builder().status(405).body(Full::default())
                        }
                        _ => http::Response::builder().status(202).body(Full::default()),
                    };
                    Ok::<_, Infallible>(response.unwrap())
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    let keys =
        Arc::new(MemoryKeyStore::generate(Algorithm::ES256, RotationPolicy::never()).unwrap());
    let http = tower::ServiceBuilder::new()
        .layer(DpopSigningLayer::new(keys))
        .service(hyper_client());
    let transport = StreamableHttpClient::new(&format!("http://{addr}/mcp"), http).unwrap();
    let client = McpClient::builder().connect(transport).await.unwrap();
    client.initialize().await.unwrap();
    client.close().await.unwrap();
    let seen = seen.lock().unwrap().clone();
    let methods: Vec<&str> = seen.iter().map(|(m, _)| m.as_str()).collect();
    assert!(
        methods.contains(&"POST") && methods.contains(&"DELETE"),
        "{methods:?}"
    );
    for (method, proof) in &seen {
        let proof = proof
            .as_ref()
            .unwrap_or_else(|| panic!("{method} without DPoP"));
        assert_eq!(proof.split('.').count(), 3, "a compact JWS");
    }
}
