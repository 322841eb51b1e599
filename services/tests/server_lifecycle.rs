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

// ---------------------------------------------------------------------------
// Progress, logging, cancellation, server-to-client requests and tower
// middleware.

mod in_flight {
    use std::convert::Infallible;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};
    use std::time::Duration;

    use mcp_tower_services::jsonrpc::{
        ErrorCode, ErrorResponse, Message, Notification, Payload, Request, RequestId, Response,
    };
    use mcp_tower_services::peer::Outgoing;
    use mcp_tower_services::protocol::{
        CallToolResult, CreateMessageRequestParams, ElicitRequestParams, JsonObject, LoggingLevel,
    };
    use mcp_tower_services::server::{
        ErrorToJsonRpcLayer, McpServer, ServerRequest, Session, ToolContext, ToolError,
    };
    use mcp_tower_services::transport::channel::Frame;
    use mcp_tower_services::transport::{Channel, serve_channel};
    use serde_json::{Value, json};
    use tokio::sync::{Notify, mpsc, oneshot};
    use tower::{Layer, Service, ServiceBuilder, ServiceExt};

    type Args = JsonObject;

    /// What the `wait` tool reports: each call sends a receiver that fails
    /// once the call's handler is dropped, and waits for `release`.
    struct Probe {
        started: mpsc::UnboundedReceiver<oneshot::Receiver<()>>,
        release: Arc<Notify>,
    }

    fn server() -> (McpServer, Probe) {
        let (started_tx, started) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let released = Arc::clone(&release);
        let server = McpServer::builder()
            .tool("progress", "", |ctx: ToolContext, _args: Args| async move {
                ctx.progress(1.0, Some(2.0), Some("half way")).await?;
                ctx.progress(2.0, Some(2.0), None).await?;
                Ok(CallToolResult::text("done"))
            })
            .tool("log", "", |ctx: ToolContext, _args: Args| async move {
                ctx.log(LoggingLevel::Debug, None, json!("details")).await?;
                ctx.log(LoggingLevel::Warning, Some("tool"), json!("careful"))
                    .await?;
                Ok(CallToolResult::text("logged"))
            })
            .tool("wait", "", move |_ctx: ToolContext, _args: Args| {
                let started = started_tx.clone();
                let release = Arc::clone(&released);
                async move {
                    let (alive, watcher) = oneshot::channel::<()>();
                    started.send(watcher).unwrap();
                    release.notified().await;
                    drop(alive);
                    Ok::<_, ToolError>(CallToolResult::text("released"))
                }
            })
            .tool("ask", "", |ctx: ToolContext, _args: Args| async move {
                let params: ElicitRequestParams = serde_json::from_value(json!({
                    "message": "Your name?",
                    "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}}
                }))
                .unwrap();
                let answer = ctx.elicit(&params).await?;
                Ok(CallToolResult::text(serde_json::to_string(&answer.content).unwrap()))
            })
            .tool("sample", "", |ctx: ToolContext, _args: Args| async move {
                let params: CreateMessageRequestParams = serde_json::from_value(json!({
                    "messages": [{"role": "user", "content": {"type": "text", "text": "Hi"}}],
                    "maxTokens": 10
                }))
                .unwrap();
                let answer = ctx.create_message(&params).await?;
                Ok(CallToolResult::text(answer.model))
            })
            .tool("roots", "", |ctx: ToolContext, _args: Args| async move {
                let roots = ctx.list_roots().await?;
                Ok(CallToolResult::text(roots.roots[0].uri.clone()))
            })
            .build()
            .unwrap();
        (server, Probe { started, release })
    }

    fn request(id: i64, method: &str, params: Value) -> Message {
        Message::Request(Request {
            id: id.into(),
            method: method.into(),
            params: Some(params),
        })
    }

    fn tool_call(id: i64, name: &str) -> Message {
        request(id, "tools/call", json!({"name": name, "arguments": {}}))
    }

    /// Runs `message` through `service`; the future owns what it needs, so
    /// it can be spawned.
    fn send<S>(
        service: S,
        session: &Session,
        message: Message,
    ) -> impl Future<Output = Option<Message>> + Send + 'static
    where
        S: Service<ServerRequest, Response = Option<Message>, Error = Infallible> + Send + 'static,
        S::Future: Send,
    {
        let request = ServerRequest::new(message, session.clone());
        async move { service.oneshot(request).await.unwrap() }
    }

    /// An initialized session whose client declared `capabilities`.
    async fn session(server: &McpServer, capabilities: Value) -> Session {
        let session = Session::detached();
        let init = request(
            0,
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": capabilities,
                "clientInfo": {"name": "in-flight", "version": "0"}
            }),
        );
        assert!(matches!(
            send(server.clone(), &session, init).await,
            Some(Message::Response(_))
        ));
        let ready = Message::Notification(Notification {
            method: "notifications/initialized".into(),
            params: None,
        });
        assert_eq!(send(server.clone(), &session, ready).await, None);
        session
    }

    fn result(answer: Option<Message>) -> Value {
        match answer {
            Some(Message::Response(response)) => response.result,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    fn notification(outgoing: Option<Outgoing>) -> Notification {
        match outgoing {
            Some(Outgoing::One(Message::Notification(n))) => n,
            other => panic!("expected a notification, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn progress_goes_to_the_request_outbox_with_the_clients_token() {
        let (server, _probe) = server();
        let session = session(&server, json!({})).await;
        let (outbox, mut sent) = mpsc::channel(8);
        let call = request(
            1,
            "tools/call",
            json!({"name": "progress", "arguments": {}, "_meta": {"progressToken": "tok-1"}}),
        );
        let answer = server
            .clone()
            .oneshot(ServerRequest::new(call, session.clone()).with_outbox(outbox))
            .await
            .unwrap();
        assert_eq!(result(answer)["content"][0]["text"], "done");
        let first = notification(sent.recv().await);
        assert_eq!(first.method, "notifications/progress");
        assert_eq!(
            first.params,
            Some(
                json!({"progressToken": "tok-1", "progress": 1.0, "total": 2.0, "message": "half way"})
            )
        );
        let second = notification(sent.recv().await);
        assert_eq!(second.params.unwrap()["progress"], 2.0);
        assert!(
            sent.recv().await.is_none(),
            "nothing else, and the outbox is released"
        );

        // Without a progress token, no notification.
        let (outbox, mut sent) = mpsc::channel(8);
        let answer = server
            .clone()
            .oneshot(ServerRequest::new(tool_call(2, "progress"), session).with_outbox(outbox))
            .await
            .unwrap();
        assert_eq!(result(answer)["content"][0]["text"], "done");
        assert!(sent.recv().await.is_none());
    }

    #[tokio::test]
    async fn context_log_messages_respect_the_sessions_level() {
        let (server, _probe) = server();
        let session = session(&server, json!({})).await;
        let quiet = {
            let (outbox, mut sent) = mpsc::channel(8);
            let answer = server
                .clone()
                .oneshot(
                    ServerRequest::new(tool_call(1, "log"), session.clone()).with_outbox(outbox),
                )
                .await
                .unwrap();
            assert_eq!(result(answer)["content"][0]["text"], "logged");
            sent.recv().await
        };
        assert!(quiet.is_none(), "no level set: no log messages");
        let set_level = request(2, "logging/setLevel", json!({"level": "info"}));
        result(send(server.clone(), &session, set_level).await);
        let (outbox, mut sent) = mpsc::channel(8);
        server
            .clone()
            .oneshot(ServerRequest::new(tool_call(3, "log"), session).with_outbox(outbox))
            .await
            .unwrap();
        let message = notification(sent.recv().await);
        assert_eq!(message.method, "notifications/message");
        assert_eq!(
            message.params,
            Some(json!({"level": "warning", "logger": "tool", "data": "careful"}))
        );
        assert!(
            sent.recv().await.is_none(),
            "the debug message is below info"
        );
    }

    #[tokio::test]
    async fn a_cancelled_request_stops_its_handler_and_gets_no_answer() {
        let (server, mut probe) = server();
        let session = session(&server, json!({})).await;
        let running = tokio::spawn(send(server.clone(), &session, tool_call(5, "wait")));
        let handler = probe.started.recv().await.unwrap();
        let cancel = Message::Notification(Notification {
            method: "notifications/cancelled".into(),
            params: Some(json!({"requestId": 5, "reason": "changed my mind"})),
        });
        assert_eq!(send(server.clone(), &session, cancel).await, None);
        assert_eq!(
            running.await.unwrap(),
            None,
            "no answer to a cancelled request"
        );
        assert!(handler.await.is_err(), "the handler was dropped");
        // The id is free again.
        let again = tokio::spawn(send(server.clone(), &session, tool_call(5, "wait")));
        probe.started.recv().await.unwrap();
        probe.release.notify_one();
        assert_eq!(
            result(again.await.unwrap())["content"][0]["text"],
            "released"
        );
    }

    #[tokio::test]
    async fn a_request_id_already_in_flight_is_refused() {
        let (server, mut probe) = server();
        let session = session(&server, json!({})).await;
        let first = tokio::spawn(send(server.clone(), &session, tool_call(7, "wait")));
        probe.started.recv().await.unwrap();
        let duplicate = send(server.clone(), &session, tool_call(7, "wait")).await;
        let Some(Message::Error(error)) = duplicate else {
            panic!("expected an error, got {duplicate:?}");
        };
        assert_eq!(error.id, Some(7.into()));
        assert_eq!(error.error.code, ErrorCode::INVALID_REQUEST);
        assert!(error.error.message.contains("already in flight"));
        probe.release.notify_one();
        assert_eq!(
            result(first.await.unwrap())["content"][0]["text"],
            "released"
        );
    }

    /// Calls `tool`, expects a request `method` to the client on the request
    /// outbox, answers it with `answer` through the server, and returns the
    /// tool's result.
    async fn round_trip(
        server: &McpServer,
        session: &Session,
        tool: &str,
        method: &str,
        answer: Value,
    ) -> Value {
        let (outbox, mut sent) = mpsc::channel(8);
        let call = ServerRequest::new(tool_call(1, tool), session.clone()).with_outbox(outbox);
        let running = tokio::spawn(server.clone().oneshot(call));
        let Some(Outgoing::One(Message::Request(asked))) = sent.recv().await else {
            panic!("no request to the client");
        };
        assert_eq!(asked.method, method);
        let response = Message::Response(Response {
            id: asked.id,
            result: answer,
        });
        assert_eq!(send(server.clone(), session, response).await, None);
        result(running.await.unwrap().unwrap())
    }

    #[tokio::test]
    async fn elicitation_sampling_and_roots_are_answered_through_the_server() {
        let (server, _probe) = server();
        let capabilities = json!({"elicitation": {}, "sampling": {}, "roots": {}});
        let session = session(&server, capabilities).await;
        let asked = round_trip(
            &server,
            &session,
            "ask",
            "elicitation/create",
            json!({"action": "accept", "content": {"name": "Ada"}}),
        )
        .await;
        assert_eq!(asked["content"][0]["text"], r#"{"name":"Ada"}"#);
        let sampled = round_trip(
            &server,
            &session,
            "sample",
            "sampling/createMessage",
            json!({"role": "assistant", "content": {"type": "text", "text": "Hello"}, "model": "test-model"}),
        )
        .await;
        assert_eq!(sampled["content"][0]["text"], "test-model");
        let roots = round_trip(
            &server,
            &session,
            "roots",
            "roots/list",
            json!({"roots": [{"uri": "file:///work", "name": "work"}]}),
        )
        .await;
        assert_eq!(roots["content"][0]["text"], "file:///work");
        assert!(session.pending().is_empty());
    }

    #[tokio::test]
    async fn an_error_from_the_client_fails_the_tool() {
        let (server, _probe) = server();
        let session = session(&server, json!({"roots": {}})).await;
        let (outbox, mut sent) = mpsc::channel(8);
        let call = ServerRequest::new(tool_call(1, "roots"), session.clone()).with_outbox(outbox);
        let running = tokio::spawn(server.clone().oneshot(call));
        let Some(Outgoing::One(Message::Request(asked))) = sent.recv().await else {
            panic!("no request to the client");
        };
        let refusal = Message::Error(ErrorResponse::new(
            Some(asked.id),
            mcp_tower_services::jsonrpc::ErrorObject::internal_error("no roots today"),
        ));
        assert_eq!(send(server.clone(), &session, refusal).await, None);
        let failed = result(running.await.unwrap().unwrap());
        assert_eq!(failed["isError"], true);
        assert!(
            failed["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("no roots today")
        );
    }

    #[tokio::test]
    async fn requests_the_client_did_not_declare_are_tool_errors() {
        let (server, _probe) = server();
        let session = session(&server, json!({})).await;
        for (tool, capability) in [
            ("ask", "elicitation"),
            ("sample", "sampling"),
            ("roots", "roots"),
        ] {
            let (outbox, mut sent) = mpsc::channel(8);
            let call = ServerRequest::new(tool_call(1, tool), session.clone()).with_outbox(outbox);
            let failed = result(server.clone().oneshot(call).await.unwrap());
            assert_eq!(failed["isError"], true, "{tool}");
            let text = failed["content"][0]["text"].as_str().unwrap();
            assert!(
                text.contains(&format!("did not declare the {capability} capability")),
                "{text}"
            );
            assert!(
                sent.recv().await.is_none(),
                "nothing was sent to the client"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn layer_errors_become_internal_error_responses() {
        let (server, mut probe) = server();
        let session = session(&server, json!({})).await;
        let stack = ServiceBuilder::new()
            .layer(ErrorToJsonRpcLayer::new())
            .timeout(Duration::from_secs(5))
            .concurrency_limit(4)
            .service(server.clone());
        // Paused time: the runtime jumps to the deadline once the handler
        // waits, so the timeout fires without waiting five real seconds.
        let answer = send(stack.clone(), &session, tool_call(9, "wait")).await;
        let handler = probe.started.recv().await.unwrap();
        let Some(Message::Error(error)) = answer else {
            panic!("expected an error, got {answer:?}");
        };
        assert_eq!(error.id, Some(RequestId::Number(9)));
        assert_eq!(error.error.code, ErrorCode::INTERNAL_ERROR);
        assert!(
            error.error.message.contains("timed out"),
            "{}",
            error.error.message
        );
        assert!(handler.await.is_err(), "the timed-out handler was dropped");
        // Quick requests pass.
        assert_eq!(
            result(send(stack.clone(), &session, request(10, "ping", json!({}))).await),
            json!({})
        );
        // The id of the timed-out request is free again.
        let running = tokio::spawn(send(stack, &session, tool_call(9, "wait")));
        probe.started.recv().await.unwrap();
        probe.release.notify_one();
        assert_eq!(
            result(running.await.unwrap())["content"][0]["text"],
            "released"
        );
    }

    #[tokio::test]
    async fn a_concurrency_limit_holds_requests_until_a_slot_frees() {
        let (server, mut probe) = server();
        let session = session(&server, json!({})).await;
        let stack = ServiceBuilder::new()
            .layer(ErrorToJsonRpcLayer::new())
            .concurrency_limit(1)
            .service(server);
        let first = tokio::spawn(send(stack.clone(), &session, tool_call(1, "wait")));
        probe.started.recv().await.unwrap();
        let mut second = stack.clone();
        let ready = std::future::poll_fn(|cx| Poll::Ready(second.poll_ready(cx))).await;
        assert!(ready.is_pending(), "the only slot is taken");
        probe.release.notify_one();
        assert_eq!(
            result(first.await.unwrap())["content"][0]["text"],
            "released"
        );
        second.ready().await.unwrap();
        let ping = second
            .call(ServerRequest::new(request(2, "ping", json!({})), session))
            .await
            .unwrap();
        assert_eq!(result(ping), json!({}));
    }

    #[tokio::test(start_paused = true)]
    async fn a_layered_server_is_served_on_a_channel() {
        let (server, mut probe) = server();
        let stack = ServiceBuilder::new()
            .layer(ErrorToJsonRpcLayer::new())
            .timeout(Duration::from_secs(5))
            .concurrency_limit(8)
            .service(server.clone());
        let (to_server, incoming) = mpsc::channel(8);
        let (outbox, mut from_server) = mpsc::channel(8);
        let channel = Channel {
            incoming,
            outbox,
            flushed: tokio::spawn(async { Ok(()) }),
        };
        let serving = tokio::spawn(serve_channel(stack, channel));
        let frame = |message| Frame::Payload(Payload::Single(message));
        let init = request(
            0,
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "c", "version": "0"}}),
        );
        to_server.send(frame(init)).await.unwrap();
        let Some(Outgoing::One(Message::Response(_))) = from_server.recv().await else {
            panic!("no initialize result");
        };
        assert_eq!(server.live_sessions(), 1);
        let initialized = Message::Notification(Notification {
            method: "notifications/initialized".into(),
            params: None,
        });
        to_server.send(frame(initialized)).await.unwrap();
        to_server.send(frame(tool_call(1, "wait"))).await.unwrap();
        let handler = probe.started.recv().await.unwrap();
        let Some(Outgoing::One(Message::Error(error))) = from_server.recv().await else {
            panic!("no timeout error");
        };
        assert_eq!(
            (error.id, error.error.code),
            (Some(1.into()), ErrorCode::INTERNAL_ERROR)
        );
        assert!(handler.await.is_err());
        drop(to_server);
        serving.await.unwrap().unwrap();
        // The server's registry did not keep the closed session alive.
        assert_eq!(server.live_sessions(), 0);
    }

    /// Who is calling, as an authentication layer would record it.
    #[derive(Clone, PartialEq)]
    struct Role(&'static str);

    /// A per-tool authorization layer: only callers with the `admin` role
    /// may call `tool`; others get a tool error, and the server never sees
    /// the call.
    #[derive(Clone)]
    struct AdminOnly {
        tool: &'static str,
    }

    impl<S> Layer<S> for AdminOnly {
        type Service = AdminOnlyService<S>;
        fn layer(&self, inner: S) -> Self::Service {
            AdminOnlyService {
                inner,
                tool: self.tool,
            }
        }
    }

    #[derive(Clone)]
    struct AdminOnlyService<S> {
        inner: S,
        tool: &'static str,
    }

    type BoxFuture = Pin<Box<dyn Future<Output = Result<Option<Message>, Infallible>> + Send>>;

    impl<S> Service<ServerRequest> for AdminOnlyService<S>
    where
        S: Service<ServerRequest, Response = Option<Message>, Error = Infallible>,
        S::Future: Send + 'static,
    {
        type Response = Option<Message>;
        type Error = Infallible;
        type Future = BoxFuture;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            self.inner.poll_ready(cx)
        }

        fn call(&mut self, request: ServerRequest) -> BoxFuture {
            let refused = match &request.message {
                Message::Request(call) if call.method == "tools/call" => {
                    let name = call.params.as_ref().and_then(|p| p.get("name"));
                    let refused = name == Some(&json!(self.tool))
                        && request.extensions.get::<Role>() != Some(&Role("admin"));
                    refused.then(|| call.id.clone())
                }
                _ => None,
            };
            if let Some(id) = refused {
                let result = serde_json::to_value(CallToolResult::error(
                    "you are not allowed to call this tool",
                ))
                .unwrap();
                return Box::pin(
                    async move { Ok(Some(Message::Response(Response { id, result }))) },
                );
            }
            Box::pin(self.inner.call(request))
        }
    }

    #[tokio::test]
    async fn a_per_tool_authorization_layer_refuses_a_tool() {
        let (server, _probe) = server();
        let session = session(&server, json!({})).await;
        let stack = ServiceBuilder::new()
            .layer(AdminOnly { tool: "progress" })
            .service(server);
        let as_role = |role: &'static str, message| {
            let mut extensions = http::Extensions::new();
            extensions.insert(Role(role));
            ServerRequest::new(message, session.clone()).with_extensions(extensions)
        };
        let refused = stack
            .clone()
            .oneshot(as_role("guest", tool_call(1, "progress")))
            .await
            .unwrap();
        let refused = result(refused);
        assert_eq!(refused["isError"], true);
        assert_eq!(
            refused["content"][0]["text"],
            "you are not allowed to call this tool"
        );
        let allowed = stack
            .clone()
            .oneshot(as_role("admin", tool_call(2, "progress")))
            .await
            .unwrap();
        assert_eq!(result(allowed)["content"][0]["text"], "done");
        // Other tools are open to everyone.
        let other = stack
            .oneshot(as_role("guest", tool_call(3, "log")))
            .await
            .unwrap();
        assert_eq!(result(other)["content"][0]["text"], "logged");
    }
}
