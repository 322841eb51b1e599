//! Revision 2026-07-28 over Streamable HTTP: a modern `McpClient` (no
//! handshake, `_meta` on every request, input through `input_required`)
//! against `StreamableHttpService` on 127.0.0.1:0, which serves modern
//! requests without a session even though it keeps sessions for legacy ones;
//! and the revision's request metadata: mirrored headers (`Mcp-Method`,
//! `Mcp-Name`, `Mcp-Param-*` from `x-mcp-header`) checked against the body,
//! and the HTTP status of modern errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use mcp_tower::services::client::McpClient;
use mcp_tower::services::protocol::{
    CallToolResult, ContentBlock, ElicitAction, ElicitRequestFormParams, ElicitRequestParams,
    ElicitResult, ElicitValue, ProtocolVersion, RequestedSchema, Tool,
};
use mcp_tower::services::server::{McpServer, ToolContext, ToolError};
use mcp_tower::services::transport::http::StreamableHttpService;
use mcp_tower::services::transport::http_client::StreamableHttpClient;
use serde_json::json;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Nothing {}

async fn serve() -> (String, tokio::task::JoinHandle<()>) {
    let server = McpServer::builder()
        .name("modern-http")
        .tool(
            "ask",
            "Asks the user's name",
            |ctx: ToolContext, _: Nothing| async move {
                let form =
                    ElicitRequestFormParams::new("Name?", RequestedSchema::new(BTreeMap::new()));
                let answer = ctx.elicit(&ElicitRequestParams::Form(form)).await?;
                let name = match answer.content.as_ref().and_then(|c| c.get("name")) {
                    Some(ElicitValue::String(name)) => name.clone(),
                    _ => "nobody".to_owned(),
                };
                Ok::<_, ToolError>(CallToolResult::text(name))
            },
        )
        .tool_raw(query_tool(), |_ctx: ToolContext, arguments| async move {
            let region = arguments
                .get("region")
                .and_then(|r| r.as_str())
                .unwrap_or("-");
            Ok::<_, ToolError>(CallToolResult::text(format!("ran in {region}")))
        })
        .build()
        .unwrap();
    serve_server(server).await
}

/// Serves `server` over Streamable HTTP on 127.0.0.1:0: its URL, and the
/// task to abort.
async fn serve_server(server: McpServer) -> (String, tokio::task::JoinHandle<()>) {
    let service = StreamableHttpService::with_defaults(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, task)
}

/// The specification's example: `region` is mirrored into
/// `Mcp-Param-Region`.
fn query_tool() -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "query": {"type": "string"}
        },
        "required": ["region", "query"]
    });
    let serde_json::Value::Object(schema) = schema else {
        unreachable!()
    };
    Tool::new("execute_sql", schema).unwrap()
}

fn text_of(result: &CallToolResult) -> &str {
    match result.content.first() {
        Some(ContentBlock::Text(text)) => &text.text,
        _ => panic!("{result:?}"),
    }
}

#[tokio::test]
async fn tool_parameters_are_mirrored_once_the_tools_are_listed() {
    let (url, server) = serve().await;
    let client = McpClient::builder()
        .protocol_version(ProtocolVersion::V2026_07_28)
        .connect(StreamableHttpClient::hyper(&url).unwrap())
        .await
        .unwrap();
    client.initialize().await.unwrap();
    let arguments = json!({"region": "Hello, 世界", "query": "SELECT 1"});
    // Before tools/list the transport does not know the annotation, sends
    // no Mcp-Param-Region, and the server refuses (the specification's
    // remedy: list the tools, then call again).
    let error = client
        .call_tool("execute_sql", arguments.clone())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Mcp-Param-Region"), "{error}");
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "execute_sql"));
    let result = client.call_tool("execute_sql", arguments).await.unwrap();
    assert_eq!(text_of(&result), "ran in Hello, 世界");
    client.close().await.unwrap();
    server.abort();
}

/// POSTs `body` with `headers` (and the media types); the status and the
/// JSON answer.
async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut request = http::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn mirrored_headers_must_match_the_body() {
    let (url, server) = serve().await;
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "execute_sql", "arguments": {"region": "us-west1", "query": "q"}, "_meta": meta
    }});
    let good: [(&str, &str); 4] = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/call"),
        ("mcp-name", "execute_sql"),
        ("mcp-param-region", "us-west1"),
    ];
    let (status, answer) = post(&url, &good, call.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["content"][0]["text"], "ran in us-west1");
    // Each header missing, then each header wrong (the Base64 form of the
    // right value is right).
    for i in 0..good.len() {
        let mut missing = good.to_vec();
        missing.remove(i);
        let (status, answer) = post(&url, &missing, call.clone()).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (400, &json!(-32020)),
            "without {}: {answer}",
            good[i].0
        );
        assert_eq!(answer["id"], 7);
        let mut wrong = good.to_vec();
        // A version this server knows, so that only the mismatch is wrong.
        wrong[i].1 = if i == 0 { "2025-11-25" } else { "other" };
        let (status, answer) = post(&url, &wrong, call.clone()).await;
        assert_eq!(
            (status, &answer["error"]["code"]),
            (400, &json!(-32020)),
            "wrong {}: {answer}",
            good[i].0
        );
    }
    let mut encoded = good.to_vec();
    encoded[3].1 = "=?base64?dXMtd2VzdDE=?=";
    assert_eq!(post(&url, &encoded, call.clone()).await.0, 200);
    // Integers and case-insensitive names are not at issue here; a method
    // the server does not have is 404 with -32601.
    let unknown =
        json!({"jsonrpc": "2.0", "id": 8, "method": "tools/unknown", "params": {"_meta": meta}});
    let headers = [
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "tools/unknown"),
    ];
    let (status, answer) = post(&url, &headers, unknown).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &json!(-32601)),
        "{answer}"
    );
    server.abort();
}

#[test]
fn a_server_refuses_tools_whose_annotations_break_the_rules() {
    let schema =
        json!({"type": "object", "properties": {"n": {"type": "number", "x-mcp-header": "N"}}});
    let serde_json::Value::Object(schema) = schema else {
        unreachable!()
    };
    let error = McpServer::builder()
        .tool_raw(
            Tool::new("bad", schema).unwrap(),
            |_ctx: ToolContext, _| async { Ok::<_, ToolError>(CallToolResult::text("")) },
        )
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("x-mcp-header"), "{error}");
}

#[tokio::test]
async fn a_modern_client_discovers_and_answers_input_requests_over_http() {
    let (url, server) = serve().await;
    let client = McpClient::builder()
        .protocol_version(ProtocolVersion::V2026_07_28)
        .on_elicitation(|_params: ElicitRequestParams| async move {
            let mut result = ElicitResult::new(ElicitAction::Accept);
            let mut content = BTreeMap::new();
            content.insert("name".to_owned(), ElicitValue::String("Ada".into()));
            result.content = Some(content);
            Ok(result)
        })
        .connect(StreamableHttpClient::hyper(&url).unwrap())
        .await
        .unwrap();
    let info = client.initialize().await.unwrap();
    assert_eq!(info.protocol_version, "2026-07-28");
    assert_eq!(info.server_info.name, "modern-http");
    let result = client.call_tool("ask", json!({})).await.unwrap();
    let Some(ContentBlock::Text(text)) = result.content.first() else {
        panic!("{result:?}");
    };
    assert_eq!(text.text, "Ada");
    client.close().await.unwrap();
    server.abort();
}

#[tokio::test]
async fn a_legacy_client_still_gets_a_session() {
    let (url, server) = serve().await;
    let client = McpClient::builder()
        .connect(StreamableHttpClient::hyper(&url).unwrap())
        .await
        .unwrap();
    let info = client.initialize().await.unwrap();
    assert_eq!(info.protocol_version, "2025-11-25");
    client.close().await.unwrap();
    server.abort();
}

/// The events of an SSE response, as they arrive.
struct Events {
    body: hyper::body::Incoming,
    buffer: String,
}

impl Events {
    /// The next event's JSON data.
    async fn next(&mut self) -> serde_json::Value {
        use http_body_util::BodyExt;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data: String = event
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if !data.is_empty() {
                    return serde_json::from_str(&data).unwrap();
                }
                continue;
            }
            let frame = self.body.frame().await.unwrap().unwrap();
            if let Ok(bytes) = frame.into_data() {
                self.buffer.push_str(std::str::from_utf8(&bytes).unwrap());
            }
        }
    }
}

/// Opens `subscriptions/listen` with `filter` as request `id`.
async fn listen(url: &str, id: u64, filter: serde_json::Value) -> Events {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "subscriptions/listen", "params": {
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        },
        "notifications": filter
    }});
    let request = http::Request::post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "subscriptions/listen")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .unwrap();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    Events {
        body: response.into_body(),
        buffer: String::new(),
    }
}

#[tokio::test]
async fn subscriptions_listen_streams_what_the_filter_asked_for() {
    let server = McpServer::builder()
        .name("listen")
        .list_changed(true)
        .tool("noop", "", |_ctx: ToolContext, _: Nothing| async {
            Ok::<_, ToolError>(CallToolResult::text(""))
        })
        .prompt(
            mcp_tower::services::protocol::Prompt::new("p"),
            |_ctx, _args| async { Ok(mcp_tower::services::protocol::GetPromptResult::new(vec![])) },
        )
        .build()
        .unwrap();
    let (url, task) = serve_server(server.clone()).await;

    // Tools only (and a resource subscription this server cannot honour).
    let mut tools = listen(
        &url,
        11,
        json!({"toolsListChanged": true, "resourceSubscriptions": ["file:///x"]}),
    )
    .await;
    let ack = tools.next().await;
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        11
    );
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    // Prompts only.
    let mut prompts = listen(&url, 12, json!({"promptsListChanged": true})).await;
    assert_eq!(
        prompts.next().await["method"],
        "notifications/subscriptions/acknowledged"
    );

    assert_eq!(server.notify_tools_list_changed(), 1);
    let changed = tools.next().await;
    assert_eq!(changed["method"], "notifications/tools/list_changed");
    assert_eq!(
        changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        11
    );
    assert_eq!(server.notify_prompts_list_changed(), 1);
    let changed = prompts.next().await;
    assert_eq!(changed["method"], "notifications/prompts/list_changed");
    assert_eq!(
        changed["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        12
    );

    // Closing a stream cancels its subscription; the server ends the
    // others with a `complete` result.
    drop(prompts);
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while server.notify_prompts_list_changed() != 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the closed stream's subscription was not cancelled");
    assert_eq!(server.end_subscriptions(), 1);
    let end = tools.next().await;
    assert_eq!(end["id"], 11);
    assert_eq!(end["result"]["resultType"], "complete");
    assert_eq!(
        end["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        11
    );
    task.abort();
}
