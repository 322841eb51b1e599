//! The client the MCP conformance suite drives: our `McpClient` over our
//! Streamable HTTP client transport, acting as the scenario named in
//! `MCP_CONFORMANCE_SCENARIO` asks.
//!
//! ```text
//! cargo run --example conformance_client -- http://127.0.0.1:3000/mcp
//! ```
//!
//! Scenarios: `initialize` and `tools_call` (initialize, list the tools, call
//! `add_numbers` when the server has it), `elicitation-sep1034-client-defaults`
//! (answer the server's elicitation by accepting, with the defaults of its
//! schema applied), `sse-retry` (call `test_reconnection`; the transport
//! resumes the closed stream after the server's `retry` delay, with
//! `Last-Event-ID`). Exits 0 when the scenario ran, 1 otherwise.

#[path = "support/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::process::ExitCode;

use mcp_tower::services::client::{McpClient, McpClientBuilder};
use mcp_tower::services::jsonrpc::ErrorObject;
use mcp_tower::services::protocol::{ElicitAction, ElicitRequestParams, ElicitResult, ElicitValue};
use mcp_tower::services::transport::http_client::StreamableHttpClient;
use serde_json::{Value, json};

const USAGE: &str = "usage: conformance_client SERVER_URL  (scenario in MCP_CONFORMANCE_SCENARIO)";

/// Accepts an elicitation, filling every field with its schema's default
/// (SEP-1034: a client that applies defaults sends them back).
fn accept_with_defaults(params: &ElicitRequestParams) -> Result<ElicitResult, ErrorObject> {
    let ElicitRequestParams::Form(form) = params else {
        return Ok(ElicitResult::new(ElicitAction::Decline));
    };
    let schema = serde_json::to_value(&form.requested_schema)
        .map_err(|e| ErrorObject::internal_error(e.to_string()))?;
    let mut content = BTreeMap::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let Some(default) = property.get("default") else {
                continue;
            };
            let value: Result<ElicitValue, _> = serde_json::from_value(default.clone());
            if let Ok(value) = value {
                content.insert(name.clone(), value);
            }
        }
    }
    let mut result = ElicitResult::new(ElicitAction::Accept);
    result.content = Some(content);
    Ok(result)
}

/// Connects and initializes. `standalone` opens the optional GET stream;
/// `sse-retry` leaves it closed, so the only GET is the resumption of the
/// tool call's stream (with `Last-Event-ID`, after the server's `retry`)
/// rather than a race between that and a fresh GET.
async fn connect(
    url: &str,
    builder: McpClientBuilder,
    standalone: bool,
) -> Result<McpClient, String> {
    let transport = StreamableHttpClient::builder(url)
        .standalone_stream(standalone)
        .build_hyper()
        .map_err(|e| format!("bad server URL: {e}"))?;
    let client = builder
        .connect(transport)
        .await
        .map_err(|e| format!("connecting failed: {e}"))?;
    client
        .initialize()
        .await
        .map_err(|e| format!("initialize failed: {e}"))?;
    Ok(client)
}

async fn run(scenario: &str, url: &str) -> Result<(), String> {
    let builder = McpClient::builder().name("mcp-tower-conformance-client");
    match scenario {
        "initialize" | "tools_call" | "tools-call" => {
            let client = connect(url, builder, true).await?;
            let tools = client.list_tools().await.map_err(|e| e.to_string())?;
            if tools.iter().any(|t| t.name == "add_numbers") {
                let result = client
                    .call_tool("add_numbers", json!({"a": 5, "b": 3}))
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(?result, "add_numbers answered");
            }
            client.close().await.map_err(|e| e.to_string())
        }
        "elicitation-sep1034-client-defaults" | "elicitation-defaults" => {
            let builder = builder.on_elicitation(|params: ElicitRequestParams| async move {
                accept_with_defaults(&params)
            });
            let client = connect(url, builder, true).await?;
            let tools = client.list_tools().await.map_err(|e| e.to_string())?;
            let Some(tool) = tools.iter().find(|t| t.name.contains("elicitation")) else {
                return Err("the server has no elicitation tool".to_owned());
            };
            let result = client
                .call_tool(&tool.name, json!({}))
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(?result, "elicitation tool answered");
            client.close().await.map_err(|e| e.to_string())
        }
        "sse-retry" => {
            let client = connect(url, builder, false).await?;
            let result = client
                .call_tool("test_reconnection", json!({}))
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(?result, "test_reconnection answered");
            client.close().await.map_err(|e| e.to_string())
        }
        other => Err(format!("unknown scenario {other:?}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    cli::init_tracing();
    let parsed = cli::parse_or_usage(
        || {
            let mut args = std::env::args().skip(1);
            let url = args.next().ok_or_else(String::new)?;
            let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO")
                .map_err(|_| "MCP_CONFORMANCE_SCENARIO is not set".to_owned())?;
            Ok((url, scenario))
        },
        USAGE,
    );
    let (url, scenario) = match parsed {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    match run(&scenario, &url).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scenario {scenario} failed: {error}");
            ExitCode::FAILURE
        }
    }
}
