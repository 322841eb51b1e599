//! Interoperability with the official MCP TypeScript SDK over Streamable
//! HTTP: its `StreamableHTTPClientTransport` talks to our
//! `StreamableHttpService`, served by hyper on 127.0.0.1:0 in this test.
//! `scripts/test.sh` installs the SDK (`npm ci --prefix tests/interop/ts`).
#![cfg(feature = "http-server")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use mcp_tower::services::protocol::{
    CallToolResult, ContentBlock, GetPromptResult, Prompt, PromptArgument, PromptMessage, Resource,
    ResourceContents, Role, TextResourceContents,
};
use mcp_tower::services::server::{McpServer, ToolContext, ToolError};
use mcp_tower::services::transport::http::{StreamableHttpConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

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

fn fail(error: impl std::fmt::Display) -> ToolError {
    ToolError::new(error.to_string())
}

fn server() -> McpServer {
    let mut who = PromptArgument::new("who");
    who.required = Some(true);
    let mut greet = Prompt::new("greet");
    greet.arguments = Some(vec![who]);
    McpServer::builder()
        .name("mcp-tower-http-interop")
        .tool(
            "echo",
            "Echoes the text back",
            |_ctx: ToolContext, args: Echo| async move {
                Ok::<_, ToolError>(CallToolResult::text(args.text))
            },
        )
        .tool(
            "add",
            "Adds two integers",
            |_ctx: ToolContext, args: Add| async move {
                Ok::<_, ToolError>(CallToolResult::text((args.a + args.b).to_string()))
            },
        )
        .tool(
            "slow",
            "Reports progress, then answers",
            |ctx: ToolContext, args: Steps| async move {
                for step in 1..=args.steps {
                    ctx.progress(
                        f64::from(step),
                        Some(f64::from(args.steps)),
                        Some("working"),
                    )
                    .await
                    .map_err(fail)?;
                }
                Ok(CallToolResult::text(format!("{} steps", args.steps)))
            },
        )
        .resource(Resource::new("memo://about", "about"), |_ctx| async move {
            Ok::<_, ToolError>(vec![ResourceContents::Text(TextResourceContents::new(
                "memo://about",
                "Served over Streamable HTTP by mcp-tower.",
            ))])
        })
        .prompt(greet, |_ctx, args| async move {
            let who = args.get("who").map_or("world", String::as_str);
            Ok::<_, ToolError>(GetPromptResult::new(vec![PromptMessage::new(
                Role::User,
                ContentBlock::text(format!("Say hello to {who}.")),
            )]))
        })
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ts_sdk_http_client_uses_our_streamable_http_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sdk = root.join("tests/interop/ts/node_modules/@modelcontextprotocol/sdk");
    assert!(
        sdk.is_dir(),
        "the MCP TypeScript SDK is not installed: run `npm ci --prefix tests/interop/ts` (scripts/test.sh does)"
    );
    let service = StreamableHttpService::new(
        server(),
        StreamableHttpConfig::builder()
            .allow_loopback_hosts()
            .build()
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = service.clone();
    let accept = tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let app = TowerToHyperService::new(app.clone());
            connections.spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), app)
                    .await;
            });
        }
    });

    let output = tokio::process::Command::new("node")
        .arg(root.join("tests/interop/ts/client_http.mjs"))
        .arg(format!("http://{addr}/mcp"))
        .kill_on_drop(true)
        .output()
        .await
        .expect("node must be installed (scripts/test.sh checks)");
    let sessions_left = service.session_count();
    accept.abort();
    service.close_all_sessions();
    assert!(
        output.status.success(),
        "the TypeScript client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(out["server"]["name"], "mcp-tower-http-interop");
    assert_eq!(out["protocolVersion"], "2025-11-25");
    assert_eq!(out["sessionId"].as_str().unwrap().len(), 64);
    let names: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo", "add", "slow"]);
    assert_eq!(out["echo"]["content"][0]["text"], "hello over HTTP");
    assert_eq!(out["add"]["content"][0]["text"], "42");
    assert_eq!(out["slow"]["content"][0]["text"], "3 steps");
    let progress: Vec<f64> = out["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(progress, [1.0, 2.0, 3.0]);
    assert_eq!(out["progress"][0]["total"], 3.0);
    assert_eq!(out["progress"][0]["message"], "working");
    assert_eq!(out["unknownTool"]["code"], -32602);
    assert_eq!(out["resources"][0]["uri"], "memo://about");
    assert!(
        out["about"]["contents"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Streamable HTTP")
    );
    assert_eq!(out["prompts"][0]["name"], "greet");
    assert_eq!(
        out["greet"]["messages"][0]["content"]["text"],
        "Say hello to Ada."
    );
    assert_eq!(out["ping"], "ok");
    assert_eq!(out["terminated"], true);
    assert_eq!(
        out["errors"],
        serde_json::json!([]),
        "the transport reported errors"
    );
    assert_eq!(sessions_left, 0, "DELETE ended the session");
}
