//! `McpServer` over JSON-RPC messages: the lifecycle, version negotiation,
//! typed tools, errors with the standard codes, and request extensions
//! reaching tool handlers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use mcp_tower_services::jsonrpc::{ErrorCode, Message, Notification, Request};
use mcp_tower_services::protocol::{
    CallToolResult, ContentBlock, GetPromptResult, Prompt, PromptArgument, PromptMessage, Resource,
    ResourceContents, Role, TextResourceContents,
};
use mcp_tower_services::server::{
    McpServer, Phase, ServerRequest, Session, ToolContext, ToolError,
};
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Echo {
    /// The text to send back.
    text: String,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Add {
    a: i64,
    b: i64,
}

#[derive(Clone)]
struct Caller(&'static str);

fn server() -> McpServer {
    McpServer::builder()
        .name("test-server")
        .version("1.2.3")
        .instructions("Use echo and add.")
        .tool(
            "echo",
            "Echoes text",
            |_ctx: ToolContext, args: Echo| async move {
                Ok::<_, ToolError>(CallToolResult::text(args.text))
            },
        )
        .tool(
            "add",
            "Adds two integers",
            |_ctx: ToolContext, args: Add| async move {
                args.a
                    .checked_add(args.b)
                    .map(|sum| CallToolResult::text(sum.to_string()))
                    .ok_or_else(|| ToolError::new("overflow"))
            },
        )
        .tool(
            "whoami",
            "Who called",
            |ctx: ToolContext, _args: serde_json::Map<String, Value>| async move {
                let caller = ctx.extensions.get::<Caller>().map_or("nobody", |c| c.0);
                Ok::<_, ToolError>(CallToolResult::text(caller))
            },
        )
        .resource(
            Resource::new("memo://readme", "readme"),
            |_ctx| async move {
                Ok::<_, ToolError>(vec![ResourceContents::Text(TextResourceContents::new(
                    "memo://readme",
                    "hello",
                ))])
            },
        )
        .prompt(
            {
                let mut prompt = Prompt::new("greet");
                let mut who = PromptArgument::new("who");
                who.required = Some(true);
                prompt.arguments = Some(vec![who]);
                prompt
            },
            |_ctx, args| async move {
                let text = format!("Say hello to {}", args["who"]);
                Ok::<_, ToolError>(GetPromptResult::new(vec![PromptMessage::new(
                    Role::User,
                    ContentBlock::text(text),
                )]))
            },
        )
        .build()
        .unwrap()
}

async fn send(server: &McpServer, session: &Session, message: Message) -> Option<Message> {
    server
        .clone()
        .oneshot(ServerRequest::new(message, session.clone()))
        .await
        .unwrap()
}

async fn call(
    server: &McpServer,
    session: &Session,
    id: i64,
    method: &str,
    params: Value,
) -> Result<Value, (ErrorCode, String)> {
    let request = Message::Request(Request {
        id: id.into(),
        method: method.into(),
        params: Some(params),
    });
    match send(server, session, request).await {
        Some(Message::Response(r)) => Ok(r.result),
        Some(Message::Error(e)) => Err((e.error.code, e.error.message)),
        other => panic!("unexpected answer {other:?}"),
    }
}

async fn initialized(server: &McpServer, version: &str) -> (Session, Value) {
    let session = Session::detached();
    let result = call(
        server,
        &session,
        0,
        "initialize",
        json!({
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "test-client", "version": "0"}
        }),
    )
    .await
    .unwrap();
    assert_eq!(session.phase(), Phase::Initializing);
    let note = Message::Notification(Notification {
        method: "notifications/initialized".into(),
        params: None,
    });
    assert_eq!(send(server, &session, note).await, None);
    assert_eq!(session.phase(), Phase::Ready);
    (session, result)
}

#[tokio::test]
async fn initialize_negotiates_and_describes_the_server() {
    let server = server();
    let (session, result) = initialized(&server, "2025-06-18").await;
    assert_eq!(result["protocolVersion"], "2025-06-18");
    assert_eq!(
        result["serverInfo"],
        json!({"name": "test-server", "version": "1.2.3"})
    );
    assert_eq!(result["instructions"], "Use echo and add.");
    assert!(result["capabilities"]["tools"].is_object());
    assert!(result["capabilities"]["logging"].is_object());
    assert_eq!(session.client_info().unwrap().name, "test-client");

    for (asked, answered) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-11-25", "2025-11-25"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let (_, result) = initialized(&server, asked).await;
        assert_eq!(result["protocolVersion"], answered, "asked {asked}");
    }
}

#[tokio::test]
async fn requests_before_initialize_are_refused_but_ping_works() {
    let server = server();
    let session = Session::detached();
    let (code, message) = call(&server, &session, 1, "tools/list", json!({}))
        .await
        .unwrap_err();
    assert_eq!(code, ErrorCode::INVALID_REQUEST);
    assert!(message.contains("initialize"));
    assert_eq!(
        call(&server, &session, 2, "ping", json!({})).await.unwrap(),
        json!({})
    );
}

#[tokio::test]
async fn a_second_initialize_is_refused() {
    let server = server();
    let (session, _) = initialized(&server, "2025-06-18").await;
    let again = call(&server, &session, 9, "initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "0"}})).await;
    assert_eq!(again.unwrap_err().0, ErrorCode::INVALID_REQUEST);
}

#[tokio::test]
async fn tools_are_listed_with_their_schemas() {
    let server = server();
    let (session, _) = initialized(&server, "2025-06-18").await;
    let list = call(&server, &session, 1, "tools/list", json!({}))
        .await
        .unwrap();
    let tools = list["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 3);
    let echo = tools.iter().find(|t| t["name"] == "echo").unwrap();
    assert_eq!(echo["description"], "Echoes text");
    assert_eq!(echo["inputSchema"]["type"], "object");
    assert_eq!(echo["inputSchema"]["properties"]["text"]["type"], "string");
    assert_eq!(echo["inputSchema"]["required"], json!(["text"]));
}

#[tokio::test]
async fn tools_are_called_with_typed_arguments() {
    let server = server();
    let (session, _) = initialized(&server, "2025-06-18").await;
    let echoed = call(
        &server,
        &session,
        1,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    )
    .await
    .unwrap();
    assert_eq!(echoed["content"], json!([{"type": "text", "text": "hi"}]));
    let sum = call(
        &server,
        &session,
        2,
        "tools/call",
        json!({"name": "add", "arguments": {"a": 2, "b": 40}}),
    )
    .await
    .unwrap();
    assert_eq!(sum["content"][0]["text"], "42");
    // A tool's own failure and bad arguments are tool results with isError.
    let overflow = call(
        &server,
        &session,
        3,
        "tools/call",
        json!({"name": "add", "arguments": {"a": i64::MAX, "b": 1}}),
    )
    .await
    .unwrap();
    assert_eq!(overflow["isError"], true);
    let bad = call(
        &server,
        &session,
        4,
        "tools/call",
        json!({"name": "add", "arguments": {"a": "two"}}),
    )
    .await
    .unwrap();
    assert_eq!(bad["isError"], true);
    assert!(
        bad["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("invalid arguments")
    );
}

#[tokio::test]
async fn protocol_errors_use_the_standard_codes() {
    let server = server();
    let (session, _) = initialized(&server, "2025-06-18").await;
    let unknown_tool = call(&server, &session, 1, "tools/call", json!({"name": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(unknown_tool.0, ErrorCode::INVALID_PARAMS);
    let no_name = call(&server, &session, 2, "tools/call", json!({"arguments": {}}))
        .await
        .unwrap_err();
    assert_eq!(no_name.0, ErrorCode::INVALID_PARAMS);
    let unknown_method = call(&server, &session, 3, "resources/teleport", json!({}))
        .await
        .unwrap_err();
    assert_eq!(unknown_method.0, ErrorCode::METHOD_NOT_FOUND);
    let bad_level = call(
        &server,
        &session,
        4,
        "logging/setLevel",
        json!({"level": "loud"}),
    )
    .await
    .unwrap_err();
    assert_eq!(bad_level.0, ErrorCode::INVALID_PARAMS);
    assert_eq!(
        call(
            &server,
            &session,
            5,
            "logging/setLevel",
            json!({"level": "warning"})
        )
        .await
        .unwrap(),
        json!({})
    );
}

#[tokio::test]
async fn tool_handlers_see_the_transport_extensions() {
    let server = server();
    let (session, _) = initialized(&server, "2025-06-18").await;
    let mut extensions = http::Extensions::new();
    extensions.insert(Caller("alice"));
    let request = Message::Request(Request {
        id: 1.into(),
        method: "tools/call".into(),
        params: Some(json!({"name": "whoami", "arguments": {}})),
    });
    let answer = server
        .clone()
        .oneshot(ServerRequest::new(request, session).with_extensions(extensions))
        .await
        .unwrap();
    let Some(Message::Response(response)) = answer else {
        panic!("no response")
    };
    assert_eq!(response.result["content"][0]["text"], "alice");
}

#[tokio::test]
async fn duplicate_tools_are_refused_at_build() {
    let result = McpServer::builder()
        .tool("echo", "", |_ctx: ToolContext, a: Echo| async move {
            Ok::<_, ToolError>(CallToolResult::text(a.text))
        })
        .tool("echo", "", |_ctx: ToolContext, a: Echo| async move {
            Ok::<_, ToolError>(CallToolResult::text(a.text))
        })
        .build();
    assert!(result.is_err());
}

#[tokio::test]
async fn resources_are_listed_and_read() {
    let server = server();
    let (session, init) = initialized(&server, "2025-06-18").await;
    assert!(init["capabilities"]["resources"].is_object());
    let list = call(&server, &session, 1, "resources/list", json!({}))
        .await
        .unwrap();
    assert_eq!(list["resources"][0]["uri"], "memo://readme");
    let read = call(
        &server,
        &session,
        2,
        "resources/read",
        json!({"uri": "memo://readme"}),
    )
    .await
    .unwrap();
    assert_eq!(read["contents"][0]["text"], "hello");
    let missing = call(
        &server,
        &session,
        3,
        "resources/read",
        json!({"uri": "memo://nope"}),
    )
    .await
    .unwrap_err();
    assert_eq!(missing.0, ErrorCode(-32002));
}

#[tokio::test]
async fn prompts_are_listed_and_filled_in() {
    let server = server();
    let (session, init) = initialized(&server, "2025-06-18").await;
    assert!(init["capabilities"]["prompts"].is_object());
    let list = call(&server, &session, 1, "prompts/list", json!({}))
        .await
        .unwrap();
    assert_eq!(list["prompts"][0]["name"], "greet");
    let got = call(
        &server,
        &session,
        2,
        "prompts/get",
        json!({"name": "greet", "arguments": {"who": "Ada"}}),
    )
    .await
    .unwrap();
    assert_eq!(got["messages"][0]["content"]["text"], "Say hello to Ada");
    let missing = call(
        &server,
        &session,
        3,
        "prompts/get",
        json!({"name": "greet"}),
    )
    .await
    .unwrap_err();
    assert_eq!(missing.0, ErrorCode::INVALID_PARAMS);
    let unknown = call(&server, &session, 4, "prompts/get", json!({"name": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(unknown.0, ErrorCode::INVALID_PARAMS);
}
