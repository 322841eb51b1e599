//! The client the MCP conformance suite drives: our `McpClient` over our
//! Streamable HTTP client transport, acting as the scenario named in
//! `MCP_CONFORMANCE_SCENARIO` asks, with the protocol revision named in
//! `MCP_CONFORMANCE_PROTOCOL_VERSION` (2025-11-25 when unset; 2026-07-28
//! discovers with `server/discover` and sends per-request `_meta`).
//!
//! ```text
//! cargo run --example conformance_client -- http://127.0.0.1:3000/mcp
//! ```
//!
//! Scenarios:
//! - `initialize`, `tools_call`, `json-schema-ref-no-deref`: connect, list
//!   the tools, call `add_numbers` when the server has it.
//! - `request-metadata`: connect with every client capability declared and
//!   list the tools (the library retries a request the server refuses with
//!   `UnsupportedProtocolVersion` with a version from the error's list).
//! - `http-standard-headers`: call every tool, read every resource, get
//!   every prompt (each request mirrors `Mcp-Method` / `Mcp-Name`).
//! - `http-custom-headers`: list the tools, then make the tool calls listed
//!   in `MCP_CONFORMANCE_CONTEXT` (`x-mcp-header` parameters are mirrored).
//! - `http-invalid-tool-headers`: call every tool left after the transport
//!   dropped those with invalid `x-mcp-header` annotations.
//! - `json-schema-2020-12-preservation`: hand each tool's `inputSchema`
//!   back to the server's `json_schema_echo` tool.
//! - `sep-2322-client-request-state`: call the multi round-trip tools (one
//!   alongside an unrelated call), answering elicitations by accepting.
//! - `elicitation-sep1034-client-defaults`: answer the server's elicitation
//!   by accepting, with the defaults of its schema applied.
//! - `sse-retry`: call `test_reconnection`; the transport resumes the closed
//!   stream after the server's `retry` delay, with `Last-Event-ID`.
//!
//! Exits 0 when the scenario ran, 1 otherwise.

#[path = "support/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::process::ExitCode;

use mcp_tower::services::client::{McpClient, McpClientBuilder};
use mcp_tower::services::jsonrpc::ErrorObject;
use mcp_tower::services::protocol::{
    ElicitAction, ElicitRequestParams, ElicitResult, ElicitValue, ProtocolVersion, Tool,
};
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

/// The revision the suite asks for in `MCP_CONFORMANCE_PROTOCOL_VERSION`
/// (2025-11-25 when unset, as the suite defaults to it).
fn protocol_version() -> Result<ProtocolVersion, String> {
    match std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION") {
        Ok(version) => version
            .parse::<ProtocolVersion>()
            .map_err(|_| format!("unknown protocol version {version:?}")),
        Err(_) => Ok(ProtocolVersion::V2025_11_25),
    }
}

/// Arguments for `tool` that satisfy its schema's `required` list, for
/// calling every tool a server offers: each required property gets its
/// `default`, else a plain value of its type.
fn sample_arguments(tool: &Tool) -> Value {
    let properties = tool
        .input_schema
        .get("properties")
        .and_then(Value::as_object);
    let required = tool.input_schema.get("required").and_then(Value::as_array);
    let mut arguments = serde_json::Map::new();
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        let property = properties.and_then(|p| p.get(name));
        let value = match property.and_then(|p| p.get("default")) {
            Some(default) => default.clone(),
            None => match property.and_then(|p| p.get("type")).and_then(Value::as_str) {
                Some("integer" | "number") => json!(0),
                Some("boolean") => json!(false),
                Some("object") => json!({}),
                Some("array") => json!([]),
                Some("null") => Value::Null,
                _ => json!("example"),
            },
        };
        arguments.insert(name.to_owned(), value);
    }
    Value::Object(arguments)
}

/// The tool calls the suite lists in `MCP_CONFORMANCE_CONTEXT`
/// (`{"toolCalls": [{"name": .., "arguments": {..}}]}`).
fn context_tool_calls() -> Result<Vec<(String, Value)>, String> {
    let context = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .map_err(|_| "MCP_CONFORMANCE_CONTEXT is not set".to_owned())?;
    let context: Value =
        serde_json::from_str(&context).map_err(|e| format!("bad MCP_CONFORMANCE_CONTEXT: {e}"))?;
    let calls = context
        .get("toolCalls")
        .and_then(Value::as_array)
        .ok_or("MCP_CONFORMANCE_CONTEXT has no toolCalls")?;
    calls
        .iter()
        .map(|call| {
            let name = call
                .get("name")
                .and_then(Value::as_str)
                .ok_or("a tool call in MCP_CONFORMANCE_CONTEXT has no name")?;
            let arguments = call.get("arguments").cloned().unwrap_or_else(|| json!({}));
            Ok((name.to_owned(), arguments))
        })
        .collect()
}

/// Calls `name` and logs the answer.
async fn call(client: &McpClient, name: &str, arguments: Value) -> Result<(), String> {
    let result = client
        .call_tool(name, arguments)
        .await
        .map_err(|e| format!("calling {name} failed: {e}"))?;
    tracing::info!(tool = name, ?result, "tool answered");
    Ok(())
}

/// Calls every tool with [`sample_arguments`], reads every resource and
/// gets every prompt.
async fn exercise_everything(client: &McpClient) -> Result<(), String> {
    for tool in client.list_tools().await.map_err(|e| e.to_string())? {
        call(client, &tool.name, sample_arguments(&tool)).await?;
    }
    for resource in client.list_resources().await.map_err(|e| e.to_string())? {
        client
            .read_resource(&resource.uri)
            .await
            .map_err(|e| format!("reading {} failed: {e}", resource.uri))?;
    }
    for prompt in client.list_prompts().await.map_err(|e| e.to_string())? {
        client
            .get_prompt(&prompt.name, BTreeMap::new())
            .await
            .map_err(|e| format!("getting prompt {} failed: {e}", prompt.name))?;
    }
    Ok(())
}

/// Hands each tool's `inputSchema`, as this client holds it, back to the
/// server's `json_schema_echo` tool: what the server sees is what our
/// parsing kept of the schema.
async fn echo_schemas(client: &McpClient) -> Result<(), String> {
    let tools = client.list_tools().await.map_err(|e| e.to_string())?;
    let echo = "json_schema_echo";
    if !tools.iter().any(|t| t.name == echo) {
        return Err(format!("the server has no {echo} tool"));
    }
    for tool in tools.iter().filter(|t| t.name != echo) {
        call(client, echo, json!({"schema": tool.input_schema})).await?;
    }
    Ok(())
}

/// The multi round-trip tools of `sep-2322-client-request-state`; an
/// unrelated call runs alongside one of them, and neither may carry the
/// other's `inputResponses` or `requestState`.
async fn multi_round_trips(client: &McpClient) -> Result<(), String> {
    let tools = client.list_tools().await.map_err(|e| e.to_string())?;
    let has = |name: &str| tools.iter().any(|t| t.name == name);
    if has("test_mrtr_echo_state") && has("test_mrtr_unrelated") {
        let (first, second) = tokio::join!(
            call(client, "test_mrtr_echo_state", json!({})),
            call(client, "test_mrtr_unrelated", json!({})),
        );
        first?;
        second?;
    }
    for name in ["test_mrtr_no_state", "test_mrtr_no_result_type"] {
        if has(name) {
            call(client, name, json!({})).await?;
        }
    }
    Ok(())
}

/// Calls the first tool whose name mentions elicitation.
async fn call_elicitation_tool(client: &McpClient) -> Result<(), String> {
    let tools = client.list_tools().await.map_err(|e| e.to_string())?;
    let Some(tool) = tools.iter().find(|t| t.name.contains("elicitation")) else {
        return Err("the server has no elicitation tool".to_owned());
    };
    call(client, &tool.name, json!({})).await
}

/// What the client does once connected, by scenario.
async fn act(scenario: &str, client: &McpClient) -> Result<(), String> {
    match scenario {
        "initialize" | "tools_call" | "tools-call" | "json-schema-ref-no-deref" => {
            let tools = client.list_tools().await.map_err(|e| e.to_string())?;
            if tools.iter().any(|t| t.name == "add_numbers") {
                call(client, "add_numbers", json!({"a": 5, "b": 3})).await?;
            }
            Ok(())
        }
        "request-metadata" => {
            let tools = client.list_tools().await.map_err(|e| e.to_string())?;
            tracing::info!(count = tools.len(), "tools listed");
            Ok(())
        }
        "http-standard-headers" => exercise_everything(client).await,
        "http-custom-headers" => {
            let calls = context_tool_calls()?;
            // The listing teaches the transport which parameters to mirror.
            client.list_tools().await.map_err(|e| e.to_string())?;
            for (name, arguments) in calls {
                call(client, &name, arguments).await?;
            }
            Ok(())
        }
        // The transport leaves tools with invalid `x-mcp-header`
        // annotations out of the listing; call every tool that is left.
        "http-invalid-tool-headers" => {
            for tool in client.list_tools().await.map_err(|e| e.to_string())? {
                call(client, &tool.name, sample_arguments(&tool)).await?;
            }
            Ok(())
        }
        "json-schema-2020-12-preservation" => echo_schemas(client).await,
        "sep-2322-client-request-state" => multi_round_trips(client).await,
        "elicitation-sep1034-client-defaults" | "elicitation-defaults" => {
            call_elicitation_tool(client).await
        }
        "sse-retry" => call(client, "test_reconnection", json!({})).await,
        other => Err(format!("unknown scenario {other:?}")),
    }
}

async fn run(scenario: &str, url: &str) -> Result<(), String> {
    let builder = McpClient::builder()
        .name("mcp-tower-conformance-client")
        .protocol_version(protocol_version()?);
    let builder = match scenario {
        // Every client capability declared, so the server sees each in the
        // request `_meta`; this client has no model and asks no user, so it
        // refuses sampling and declines elicitations.
        "request-metadata" => builder
            .on_sampling(|_params| async {
                Err(ErrorObject::internal_error(
                    "this client has no model to sample",
                ))
            })
            .on_elicitation(|_params| async { Ok(ElicitResult::new(ElicitAction::Decline)) })
            .roots(Vec::new()),
        "sep-2322-client-request-state"
        | "elicitation-sep1034-client-defaults"
        | "elicitation-defaults" => {
            builder.on_elicitation(|params: ElicitRequestParams| async move {
                accept_with_defaults(&params)
            })
        }
        _ => builder,
    };
    // `sse-retry` leaves the optional GET stream closed (see `connect`).
    let client = connect(url, builder, scenario != "sse-retry").await?;
    act(scenario, &client).await?;
    client.close().await.map_err(|e| e.to_string())
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
