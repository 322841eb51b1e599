//! What a handler controls beyond its result, on modern (2026-07-28)
//! requests: the keys of its input requests, the `requestState` of its
//! `input_required` answers, and failing the request with a JSON-RPC error
//! (among them -32021 for a client capability it needs and was not
//! declared).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use mcp_tower_services::jsonrpc::{ErrorCode, ErrorObject, Message, Request};
use mcp_tower_services::protocol::{
    CallToolResult, ClientCapabilities, ElicitRequestParams, GetPromptResult, Prompt,
    SamplingCapability, Tool,
};
use mcp_tower_services::server::{McpServer, ServerRequest, Session, ToolError};
use serde_json::{Value, json};
use tower::ServiceExt;

type Answer = Result<Value, (ErrorCode, Option<Value>)>;

async fn call(server: &McpServer, method: &str, params: Value) -> Answer {
    let request = Message::Request(Request {
        id: 7.into(),
        method: method.into(),
        params: Some(params),
    });
    let answer = server
        .clone()
        .oneshot(ServerRequest::new(request, Session::detached()))
        .await
        .unwrap();
    match answer {
        Some(Message::Response(r)) => Ok(r.result),
        Some(Message::Error(e)) => Err((e.error.code, e.error.data)),
        other => panic!("unexpected answer {other:?}"),
    }
}

/// A modern `tools/call` of `name` from a client declaring `capabilities`,
/// with the members of `extra` added to the params.
async fn call_tool(server: &McpServer, name: &str, capabilities: Value, extra: Value) -> Answer {
    let mut params = json!({
        "name": name,
        "arguments": {},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": capabilities
        }
    });
    if let (Value::Object(params), Value::Object(extra)) = (&mut params, extra) {
        params.extend(extra);
    }
    call(server, "tools/call", params).await
}

fn tool(name: &str) -> Tool {
    Tool::new(
        name,
        json!({"type": "object", "properties": {}})
            .as_object()
            .unwrap()
            .clone(),
    )
    .unwrap()
}

fn name_form() -> ElicitRequestParams {
    serde_json::from_value(json!({
        "message": "What is your name?",
        "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}
    }))
    .unwrap()
}

fn accepted(name: &str) -> Value {
    json!({"action": "accept", "content": {"name": name}})
}

fn server() -> McpServer {
    let mut sampling = ClientCapabilities::default();
    sampling.sampling = Some(SamplingCapability::default());
    let prompt: Prompt = serde_json::from_value(json!({"name": "greeting"})).unwrap();
    McpServer::builder()
        .tool_raw(tool("named"), |ctx, _args| async move {
            let answer = ctx.elicit_as("user_name", &name_form()).await?;
            let answer = serde_json::to_value(answer).unwrap();
            Ok(CallToolResult::text(format!(
                "Hello, {}!",
                answer["content"]["name"].as_str().unwrap_or_default()
            )))
        })
        .tool_raw(tool("rounds"), |ctx, _args| async move {
            // Round 1 asks "first" and says so in its state; round 2 sees the
            // state, asks "second" (not "first" again) and completes.
            if ctx.request_state() != Some("after-first") {
                ctx.set_request_state("after-first");
                ctx.elicit_as("first", &name_form()).await?;
            }
            ctx.elicit_as("second", &name_form()).await?;
            Ok(CallToolResult::text("done"))
        })
        .tool_raw(tool("strict"), |ctx, _args| async move {
            if ctx.request_state().is_some_and(|s| s != "genuine") {
                return Err(ctx.fail_request(ErrorObject::invalid_params("tampered state")));
            }
            ctx.set_request_state("genuine");
            ctx.elicit_as("confirm", &name_form()).await?;
            Ok(CallToolResult::text("verified"))
        })
        .tool_raw(tool("needs_sampling"), move |ctx, _args| {
            let sampling = sampling.clone();
            async move {
                ctx.require_client_capabilities(&sampling)?;
                Ok::<_, ToolError>(CallToolResult::text("sampling is there"))
            }
        })
        .prompt(prompt, |ctx, _args| async move {
            let answer = ctx.elicit_as("who", &name_form()).await?;
            let answer = serde_json::to_value(answer).unwrap();
            let name = answer["content"]["name"].as_str().unwrap_or_default();
            Ok(
                serde_json::from_value::<GetPromptResult>(json!({"messages": [
                    {"role": "user", "content": {"type": "text", "text": format!("Greet {name}")}}
                ]}))
                .unwrap(),
            )
        })
        .build()
        .unwrap()
}

fn elicitation() -> Value {
    json!({"elicitation": {}})
}

#[tokio::test]
async fn a_named_input_request_is_asked_and_answered_under_its_key() {
    let server = server();
    let first = call_tool(&server, "named", elicitation(), json!({}))
        .await
        .unwrap();
    assert_eq!(first["resultType"], "input_required");
    assert_eq!(
        first["inputRequests"]["user_name"]["method"],
        "elicitation/create"
    );
    assert!(first.get("requestState").is_none());

    let extra = json!({"inputResponses": {"user_name": accepted("Alice"), "other": accepted("x")}});
    let done = call_tool(&server, "named", elicitation(), extra)
        .await
        .unwrap();
    assert_eq!(done["resultType"], "complete");
    assert_eq!(done["content"][0]["text"], "Hello, Alice!");

    // An answer under another key does not count: the question comes again.
    let extra = json!({"inputResponses": {"wrong_key": accepted("Alice")}});
    let again = call_tool(&server, "named", elicitation(), extra)
        .await
        .unwrap();
    assert_eq!(again["resultType"], "input_required");
    assert!(again["inputRequests"].get("user_name").is_some());
}

#[tokio::test]
async fn the_handler_state_travels_between_rounds() {
    let server = server();
    let round1 = call_tool(&server, "rounds", elicitation(), json!({}))
        .await
        .unwrap();
    assert_eq!(round1["requestState"], "after-first");
    assert!(round1["inputRequests"].get("first").is_some());

    let extra = json!({"inputResponses": {"first": accepted("A")}, "requestState": "after-first"});
    let round2 = call_tool(&server, "rounds", elicitation(), extra)
        .await
        .unwrap();
    assert_eq!(round2["resultType"], "input_required");
    let keys: Vec<&String> = round2["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["second"]);
    assert_eq!(round2["requestState"], "after-first");

    let extra = json!({"inputResponses": {"second": accepted("B")}, "requestState": "after-first"});
    let round3 = call_tool(&server, "rounds", elicitation(), extra)
        .await
        .unwrap();
    assert_eq!(round3["content"][0]["text"], "done");
}

#[tokio::test]
async fn a_failed_request_is_a_json_rpc_error_even_when_input_is_missing() {
    let server = server();
    let first = call_tool(&server, "strict", elicitation(), json!({}))
        .await
        .unwrap();
    assert_eq!(first["requestState"], "genuine");

    let extra = json!({"inputResponses": {"confirm": accepted("A")}, "requestState": "forged"});
    let (code, _) = call_tool(&server, "strict", elicitation(), extra)
        .await
        .unwrap_err();
    assert_eq!(code, ErrorCode::INVALID_PARAMS);

    // The handler failed before asking: no input_required either.
    let (code, _) = call_tool(
        &server,
        "strict",
        elicitation(),
        json!({"requestState": "forged"}),
    )
    .await
    .unwrap_err();
    assert_eq!(code, ErrorCode::INVALID_PARAMS);
}

#[tokio::test]
async fn an_undeclared_capability_the_request_needs_is_32021() {
    let server = server();
    let (code, data) = call_tool(&server, "needs_sampling", elicitation(), json!({}))
        .await
        .unwrap_err();
    assert_eq!(code.0, -32021);
    assert_eq!(
        data.unwrap(),
        json!({"requiredCapabilities": {"sampling": {}}})
    );

    let ok = call_tool(
        &server,
        "needs_sampling",
        json!({"sampling": {}}),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(ok["content"][0]["text"], "sampling is there");
}

#[tokio::test]
async fn prompts_ask_for_input_too() {
    let server = server();
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}}
    });
    let first = call(
        &server,
        "prompts/get",
        json!({"name": "greeting", "_meta": meta}),
    )
    .await
    .unwrap();
    assert_eq!(first["resultType"], "input_required");
    assert!(first["inputRequests"].get("who").is_some());

    let params = json!({"name": "greeting", "_meta": meta,
                        "inputResponses": {"who": accepted("Bob")}});
    let done = call(&server, "prompts/get", params).await.unwrap();
    assert_eq!(done["messages"][0]["content"]["text"], "Greet Bob");
}

#[tokio::test]
async fn legacy_requests_fail_with_the_handler_error_too() {
    let server = server();
    let (outbox, _received) = tokio::sync::mpsc::channel(4);
    let session = Session::new(outbox);
    let send = |method: &str, params: Value| {
        let request = Message::Request(Request {
            id: 1.into(),
            method: method.into(),
            params: Some(params),
        });
        server
            .clone()
            .oneshot(ServerRequest::new(request, session.clone()))
    };
    let init = json!({"protocolVersion": "2025-11-25", "capabilities": {},
                      "clientInfo": {"name": "legacy", "version": "0"}});
    assert!(matches!(
        send("initialize", init).await.unwrap(),
        Some(Message::Response(_))
    ));
    let answer = send(
        "tools/call",
        json!({"name": "needs_sampling", "arguments": {}}),
    )
    .await
    .unwrap();
    let Some(Message::Error(error)) = answer else {
        panic!("expected an error, got {answer:?}");
    };
    assert_eq!(error.error.code.0, -32021);
}
