//! `McpClient` against `McpServer` over in-memory pipes (the stdio framing):
//! the typed API, progress, cancellation both ways, and the server asking
//! the client for elicitation, sampling and roots.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_tower_services::client::{ClientRequest, McpClient, McpClientBuilder};
use mcp_tower_services::jsonrpc::ErrorObject;
use mcp_tower_services::peer::PeerError;
use mcp_tower_services::protocol::{
    CallToolResult, ContentBlock, CreateMessageRequestParams, CreateMessageResult, ElicitAction,
    ElicitRequestFormParams, ElicitRequestParams, ElicitResult, ElicitValue, GetPromptResult,
    Prompt, PromptMessage, RequestedSchema, Resource, ResourceContents, Role, Root,
    SamplingContent, SamplingMessage, TextContent, TextResourceContents, methods,
};
use mcp_tower_services::server::{McpServer, ToolContext, ToolError};
use mcp_tower_services::transport::{StreamTransport, Transport, serve_channel};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};
use tower::{Service, ServiceExt};

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

/// What the tests observe of the server: a hanging tool's cancellation.
#[derive(Default)]
struct Probe {
    started: Notify,
    cancelled: Notify,
}

fn server(probe: Arc<Probe>) -> McpServer {
    McpServer::builder()
        .name("client-test-server")
        .tool("add", "Adds", |_ctx: ToolContext, a: Add| async move {
            Ok::<_, ToolError>(CallToolResult::text((a.a + a.b).to_string()))
        })
        .tool(
            "count",
            "Reports progress",
            |ctx: ToolContext, s: Steps| async move {
                for i in 1..=s.steps {
                    ctx.progress(f64::from(i), Some(f64::from(s.steps)), Some("counting"))
                        .await
                        .map_err(|e| ToolError::new(e.to_string()))?;
                }
                Ok(CallToolResult::text("counted"))
            },
        )
        .tool("hang", "Never ends", move |ctx: ToolContext, _: Nothing| {
            let probe = Arc::clone(&probe);
            async move {
                struct OnDrop(Arc<Probe>);
                impl Drop for OnDrop {
                    fn drop(&mut self) {
                        self.0.cancelled.notify_one();
                    }
                }
                let _guard = OnDrop(Arc::clone(&probe));
                probe.started.notify_one();
                ctx.cancelled().await;
                Ok(CallToolResult::text("unreachable"))
            }
        })
        .tool(
            "ask",
            "Elicits a name",
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
                Ok(CallToolResult::text(format!("{:?} {name}", answer.action)))
            },
        )
        .tool(
            "sample",
            "Asks the model",
            |ctx: ToolContext, _: Nothing| async move {
                let params = CreateMessageRequestParams::new(
                    vec![SamplingMessage::new(
                        Role::User,
                        SamplingContent::Text(TextContent::new("hi")),
                    )],
                    10,
                );
                let answer = ctx
                    .create_message(&params)
                    .await
                    .map_err(|e| ToolError::new(e.to_string()))?;
                Ok(CallToolResult::text(format!("model {}", answer.model)))
            },
        )
        .tool(
            "roots",
            "Lists roots",
            |ctx: ToolContext, _: Nothing| async move {
                let roots = ctx
                    .list_roots()
                    .await
                    .map_err(|e| ToolError::new(e.to_string()))?;
                let uris: Vec<_> = roots.roots.into_iter().map(|r| r.uri).collect();
                Ok(CallToolResult::text(uris.join(",")))
            },
        )
        .resource(Resource::new("memo://a", "a"), |_ctx| async {
            Ok(vec![ResourceContents::Text(TextResourceContents::new(
                "memo://a", "A",
            ))])
        })
        .prompt(Prompt::new("greet"), |_ctx, _args| async {
            Ok(GetPromptResult::new(vec![PromptMessage::new(
                Role::User,
                ContentBlock::text("hello"),
            )]))
        })
        .build()
        .unwrap()
}

/// A client connected to a fresh server over in-memory pipes; the server
/// task ends when the client closes.
async fn connect(
    builder: McpClientBuilder,
) -> (McpClient, Arc<Probe>, tokio::task::JoinHandle<()>) {
    let probe = Arc::new(Probe::default());
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_io);
    let server = server(Arc::clone(&probe));
    let task = tokio::spawn(async move {
        let channel = StreamTransport::new(server_read, server_write)
            .open()
            .await
            .unwrap();
        serve_channel(server, channel).await.unwrap();
    });
    let (read, write) = tokio::io::split(client_io);
    let client = builder
        .connect(StreamTransport::new(read, write))
        .await
        .unwrap();
    (client, probe, task)
}

fn text(result: &CallToolResult) -> String {
    match &result.content[0] {
        ContentBlock::Text(t) => t.text.clone(),
        other => panic!("not text: {other:?}"),
    }
}

#[tokio::test]
async fn typed_api_round_trips() {
    let (client, _, task) = connect(McpClient::builder().name("tester")).await;
    let server = client.initialize().await.unwrap();
    assert_eq!(server.server_info.name, "client-test-server");
    assert_eq!(server.protocol_version, "2025-11-25");
    client.ping().await.unwrap();
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "add"));
    let sum = client
        .call_tool("add", json!({"a": 2, "b": 40}))
        .await
        .unwrap();
    assert_eq!(text(&sum), "42");
    let resources = client.list_resources().await.unwrap();
    assert_eq!(resources[0].uri, "memo://a");
    let read = client.read_resource("memo://a").await.unwrap();
    assert_eq!(read.contents.len(), 1);
    let prompt = client.get_prompt("greet", BTreeMap::new()).await.unwrap();
    assert_eq!(prompt.messages.len(), 1);
    client.close().await.unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn requests_before_initialize_and_unknown_methods_are_refused() {
    let (client, _, _task) = connect(McpClient::builder()).await;
    let error = client.list_tools().await.unwrap_err();
    assert!(matches!(error, PeerError::Remote { error, .. } if error.code.0 == -32600));
    client.initialize().await.unwrap();
    let error = client
        .request::<_, Value>("no/such/method", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(error, PeerError::Remote { error, .. } if error.code.0 == -32601));
    let error = client
        .request::<_, Value>("resources/read", &json!({"uri": "memo://missing"}))
        .await
        .unwrap_err();
    assert!(matches!(error, PeerError::Remote { error, .. } if error.code.0 == -32002));
}

#[tokio::test]
async fn the_client_is_a_tower_service() {
    let (mut client, _, _task) = connect(McpClient::builder()).await;
    client.initialize().await.unwrap();
    let value = client
        .ready()
        .await
        .unwrap()
        .call(ClientRequest::new(
            methods::TOOLS_CALL,
            Some(json!({"name": "add", "arguments": {"a": 1, "b": 1}})),
        ))
        .await
        .unwrap();
    assert_eq!(value["content"][0]["text"], "2");
}

#[tokio::test]
async fn progress_reaches_the_callback_of_its_call() {
    let (client, _, _task) = connect(McpClient::builder()).await;
    client.initialize().await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let mut args = serde_json::Map::new();
    args.insert("steps".into(), json!(3));
    let result = client
        .call_tool_with_progress("count", args, move |p| {
            sink.lock().unwrap().push((p.progress, p.total, p.message));
        })
        .await
        .unwrap();
    assert_eq!(text(&result), "counted");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[2], (3.0, Some(3.0), Some("counting".to_owned())));
}

#[tokio::test]
async fn dropping_a_call_cancels_it_on_the_server() {
    let (client, probe, _task) = connect(McpClient::builder()).await;
    client.initialize().await.unwrap();
    let (started_tx, started_rx) = oneshot::channel();
    let call = {
        let client = client.clone();
        let probe = Arc::clone(&probe);
        tokio::spawn(async move {
            tokio::select! {
                _ = client.call_tool("hang", json!({})) => panic!("hang answered"),
                () = async {
                    probe.started.notified().await;
                    let _ = started_tx.send(());
                    std::future::pending::<()>().await;
                } => {}
            }
        })
    };
    started_rx.await.unwrap();
    call.abort();
    // The server drops the handler when `notifications/cancelled` arrives.
    probe.cancelled.notified().await;
    // The connection is still good.
    client.ping().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_request_times_out() {
    let (client, probe, _task) =
        connect(McpClient::builder().request_timeout(Duration::from_secs(2))).await;
    client.initialize().await.unwrap();
    let error = client.call_tool("hang", json!({})).await.unwrap_err();
    assert!(matches!(error, PeerError::Timeout { .. }));
    probe.cancelled.notified().await;
}

#[tokio::test]
async fn the_server_elicits_samples_and_lists_roots_through_the_client() {
    let builder = McpClient::builder()
        .on_elicitation(|params: ElicitRequestParams| async move {
            let ElicitRequestParams::Form(form) = params else {
                return Err(ErrorObject::invalid_params("form mode only"));
            };
            assert_eq!(form.message, "Your name?");
            let mut result = ElicitResult::new(ElicitAction::Accept);
            let mut content = BTreeMap::new();
            content.insert("name".to_owned(), ElicitValue::String("Ada".into()));
            result.content = Some(content);
            Ok(result)
        })
        .on_sampling(|params: CreateMessageRequestParams| async move {
            assert_eq!(params.max_tokens, 10);
            Ok(CreateMessageResult::new(
                SamplingContent::Text(TextContent::new("hello")),
                "test-model",
            ))
        })
        .roots(vec![Root::new("file:///a"), Root::new("file:///b")]);
    let (client, _, _task) = connect(builder).await;
    client.initialize().await.unwrap();
    let asked = client.call_tool("ask", json!({})).await.unwrap();
    assert_eq!(text(&asked), "Accept Ada");
    let sampled = client.call_tool("sample", json!({})).await.unwrap();
    assert_eq!(text(&sampled), "model test-model");
    let roots = client.call_tool("roots", json!({})).await.unwrap();
    assert_eq!(text(&roots), "file:///a,file:///b");
}

#[tokio::test]
async fn without_the_capability_the_server_does_not_ask() {
    let (client, _, _task) = connect(McpClient::builder()).await;
    client.initialize().await.unwrap();
    let asked = client.call_tool("ask", json!({})).await.unwrap();
    assert_eq!(asked.is_error, Some(true));
    assert!(text(&asked).contains("elicitation"), "{}", text(&asked));
}

#[tokio::test]
async fn a_closed_server_fails_waiting_requests() {
    let (client_io, server_io) = tokio::io::duplex(1024);
    let (read, write) = tokio::io::split(client_io);
    let client = McpClient::builder()
        .connect(StreamTransport::new(read, write))
        .await
        .unwrap();
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.ping().await }
    });
    // Read the ping, then hang up without answering.
    let (mut server_read, server_write) = tokio::io::split(server_io);
    let mut line = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        tokio::io::AsyncReadExt::read_exact(&mut server_read, &mut byte)
            .await
            .unwrap();
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    assert!(String::from_utf8(line).unwrap().contains("\"ping\""));
    drop(server_read);
    drop(server_write);
    assert_eq!(pending.await.unwrap().unwrap_err(), PeerError::Closed);
}

/// The modern revision (2026-07-28): `server/discover` instead of the
/// handshake, `_meta` on every request, and input through `input_required`
/// results that the client answers and retries.
mod modern {
    use super::*;
    use mcp_tower_services::protocol::ProtocolVersion;

    fn elicitor() -> McpClientBuilder {
        McpClient::builder()
            .protocol_version(ProtocolVersion::V2026_07_28)
            .on_elicitation(|_params: ElicitRequestParams| async move {
                let mut result = ElicitResult::new(ElicitAction::Accept);
                let mut content = BTreeMap::new();
                content.insert("name".to_owned(), ElicitValue::String("Grace".into()));
                result.content = Some(content);
                Ok(result)
            })
            .roots(vec![Root::new("file:///m")])
    }

    #[tokio::test]
    async fn discover_replaces_the_handshake() {
        let (client, _, _task) = connect(elicitor()).await;
        let server = client.initialize().await.unwrap();
        assert_eq!(server.protocol_version, "2026-07-28");
        assert_eq!(server.server_info.name, "client-test-server");
        assert_eq!(
            client.protocol_version(),
            Some(ProtocolVersion::V2026_07_28)
        );
        let sum = client
            .call_tool("add", json!({"a": 1, "b": 2}))
            .await
            .unwrap();
        assert_eq!(text(&sum), "3");
        let raw: Value = client.request("tools/list", &json!({})).await.unwrap();
        assert_eq!(raw["resultType"], "complete");
        assert_eq!(
            raw["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "client-test-server"
        );
        assert_eq!(raw["cacheScope"], "private");
        assert!(raw["ttlMs"].is_u64());
    }

    #[tokio::test]
    async fn input_is_asked_for_with_input_required_and_the_retry_completes() {
        let (client, _, _task) = connect(elicitor()).await;
        client.initialize().await.unwrap();
        let asked = client.call_tool("ask", json!({})).await.unwrap();
        assert_eq!(text(&asked), "Accept Grace");
        let roots = client.call_tool("roots", json!({})).await.unwrap();
        assert_eq!(text(&roots), "file:///m");
    }

    #[tokio::test]
    async fn the_server_answers_input_required_on_the_wire() {
        let (client, _, _task) = connect(McpClient::builder()).await;
        // A raw modern request that declares elicitation but brings no answer.
        let params = json!({
            "name": "ask",
            "arguments": {},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}
            }
        });
        let interim: Value = client.request("tools/call", &params).await.unwrap();
        assert_eq!(interim["resultType"], "input_required");
        let request = &interim["inputRequests"]["elicitation/create-0"];
        assert_eq!(request["method"], "elicitation/create");
        assert_eq!(request["params"]["message"], "Your name?");
    }

    #[tokio::test]
    async fn unsupported_versions_and_removed_methods_are_refused() {
        let (client, _, _task) = connect(McpClient::builder()).await;
        let params = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "1900-01-01"}});
        let error = client
            .request::<_, Value>("tools/list", &params)
            .await
            .unwrap_err();
        let PeerError::Remote { error, .. } = error else {
            panic!("expected an error answer");
        };
        assert_eq!(error.code.0, -32022);
        assert_eq!(error.data.unwrap()["requested"], "1900-01-01");
        // `clientCapabilities` is required in a modern `_meta`.
        let bare = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}});
        let error = client
            .request::<_, Value>("tools/list", &bare)
            .await
            .unwrap_err();
        assert!(matches!(error, PeerError::Remote { error, .. } if error.code.0 == -32602));
        let modern = json!({"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        }});
        let error = client
            .request::<_, Value>("ping", &modern)
            .await
            .unwrap_err();
        assert!(matches!(error, PeerError::Remote { error, .. } if error.code.0 == -32601));
        let missing = json!({
            "uri": "memo://missing",
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}
            }
        });
        let error = client
            .request::<_, Value>("resources/read", &missing)
            .await
            .unwrap_err();
        assert!(matches!(error, PeerError::Remote { error, .. } if error.code.0 == -32602));
    }
}
