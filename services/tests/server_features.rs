//! `McpServer`'s features beyond the basics: resource templates,
//! subscriptions and server-initiated notifications, completion, tools with
//! structured output, hand-written and annotated tools, pagination, and log
//! messages.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use mcp_tower_services::jsonrpc::{ErrorCode, Message, Notification, Request};
use mcp_tower_services::peer::Outgoing;
use mcp_tower_services::protocol::{
    CallToolResult, ContentBlock, GetPromptResult, JsonObject, LoggingLevel, Prompt,
    PromptArgument, PromptMessage, Resource, ResourceContents, ResourceTemplate, Role,
    TextResourceContents, Tool, ToolAnnotations,
};
use mcp_tower_services::server::{
    CompletionRequest, McpServer, RequestContext, ResourceError, ServerRequest, Session,
    TemplateMatch, ToolContext, ToolDefinitionError, ToolError,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower::ServiceExt;

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
    method: &str,
    params: Value,
) -> Result<Value, (ErrorCode, String, Option<Value>)> {
    let request = Message::Request(Request {
        id: 1.into(),
        method: method.into(),
        params: Some(params),
    });
    match send(server, session, request).await {
        Some(Message::Response(r)) => Ok(r.result),
        Some(Message::Error(e)) => Err((e.error.code, e.error.message, e.error.data)),
        other => panic!("unexpected answer {other:?}"),
    }
}

/// An initialized session on `server` whose unsolicited messages arrive on
/// the returned receiver.
async fn connect(server: &McpServer) -> (Session, mpsc::Receiver<Outgoing>, Value) {
    let (outbox, received) = mpsc::channel(16);
    let session = Session::new(outbox);
    let init = call(
        server,
        &session,
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "features", "version": "0"}
        }),
    )
    .await
    .unwrap();
    let note = Message::Notification(Notification {
        method: "notifications/initialized".into(),
        params: None,
    });
    assert_eq!(send(server, &session, note).await, None);
    (session, received, init)
}

fn text(uri: &str, text: &str) -> Vec<ResourceContents> {
    vec![ResourceContents::Text(TextResourceContents::new(uri, text))]
}

fn next_notification(received: &mut mpsc::Receiver<Outgoing>) -> Option<Notification> {
    match received.try_recv() {
        Ok(Outgoing::One(Message::Notification(n))) => Some(n),
        Ok(other) => panic!("unexpected message {other:?}"),
        Err(_) => None,
    }
}

const LANGUAGES: [&str; 4] = ["python", "perl", "php", "rust"];

fn catalog() -> McpServer {
    let mut language = PromptArgument::new("language");
    language.required = Some(true);
    let mut review = Prompt::new("review");
    review.arguments = Some(vec![language, PromptArgument::new("style")]);
    McpServer::builder()
        .resource(Resource::new("memo://readme", "readme"), |_ctx| async {
            Ok::<_, ToolError>(text("memo://readme", "fixed"))
        })
        .resource_template(
            ResourceTemplate::new("users://{id}/profile", "profile"),
            |_ctx: RequestContext, found: TemplateMatch| async move {
                let id = found.get("id").unwrap_or_default().to_owned();
                if id == "0" {
                    return Err(ResourceError::NotFound);
                }
                if id == "boom" {
                    return Err(ResourceError::Failed("the profile store is down".into()));
                }
                Ok(text(&found.uri, &format!("profile of {id}")))
            },
        )
        .resource_template(
            ResourceTemplate::new("file:///{+path}", "file"),
            |_ctx, found: TemplateMatch| async move {
                let path = found.get("path").unwrap_or_default().to_owned();
                Ok(text(&found.uri, &path))
            },
        )
        .prompt(review, |_ctx, args| async move {
            Ok::<_, ToolError>(GetPromptResult::new(vec![PromptMessage::new(
                Role::User,
                ContentBlock::text(format!("Review this {}", args["language"])),
            )]))
        })
        .complete_prompt_argument(
            "review",
            "language",
            |_ctx, request: CompletionRequest| async move {
                LANGUAGES
                    .iter()
                    .filter(|l| l.starts_with(&request.value))
                    .map(|l| (*l).to_owned())
                    .collect()
            },
        )
        .complete_template_variable(
            "users://{id}/profile",
            "id",
            |_ctx, request: CompletionRequest| async move {
                // Many candidates: only the first 100 are sent.
                (0..250).map(|i| format!("{}{i}", request.value)).collect()
            },
        )
        .complete_template_variable(
            "file:///{+path}",
            "path",
            |_ctx, request: CompletionRequest| async move {
                // The client may send what it already resolved.
                vec![format!(
                    "{}/{}",
                    request.resolved.get("root").map_or("none", String::as_str),
                    request.value
                )]
            },
        )
        .resource_subscriptions(true)
        .list_changed(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn templates_are_listed_and_read_when_no_fixed_resource_matches() {
    let server = catalog();
    let (session, _rx, init) = connect(&server).await;
    assert_eq!(
        init["capabilities"]["resources"],
        json!({"subscribe": true, "listChanged": true})
    );
    let list = call(&server, &session, "resources/templates/list", json!({}))
        .await
        .unwrap();
    assert_eq!(
        list["resourceTemplates"],
        json!([
            {"uriTemplate": "users://{id}/profile", "name": "profile"},
            {"uriTemplate": "file:///{+path}", "name": "file"},
        ])
    );
    let fixed = call(
        &server,
        &session,
        "resources/read",
        json!({"uri": "memo://readme"}),
    )
    .await
    .unwrap();
    assert_eq!(fixed["contents"][0]["text"], "fixed");
    let profile = call(
        &server,
        &session,
        "resources/read",
        json!({"uri": "users://42/profile"}),
    )
    .await
    .unwrap();
    assert_eq!(
        profile["contents"][0],
        json!({"uri": "users://42/profile", "text": "profile of 42"})
    );
    let file = call(
        &server,
        &session,
        "resources/read",
        json!({"uri": "file:///etc/my%20hosts"}),
    )
    .await
    .unwrap();
    assert_eq!(file["contents"][0]["text"], "etc/my hosts");
}

#[tokio::test]
async fn unknown_resources_are_32002_with_the_uri() {
    let server = catalog();
    let (session, _rx, _) = connect(&server).await;
    for uri in ["users://42/posts", "users://0/profile", "nothing://here"] {
        let (code, _, data) = call(&server, &session, "resources/read", json!({"uri": uri}))
            .await
            .unwrap_err();
        assert_eq!(code, ErrorCode(-32002), "{uri}");
        assert_eq!(data, Some(json!({"uri": uri})));
    }
    let (code, message, _) = call(
        &server,
        &session,
        "resources/read",
        json!({"uri": "users://boom/profile"}),
    )
    .await
    .unwrap_err();
    assert_eq!(code, ErrorCode::INTERNAL_ERROR);
    assert!(message.contains("the profile store is down"), "{message}");
}

#[test]
fn bad_templates_and_completers_are_refused_at_build() {
    let read = |_ctx, _found: TemplateMatch| async { Ok::<_, ResourceError>(Vec::new()) };
    let bad = McpServer::builder()
        .resource_template(ResourceTemplate::new("x://{a", "a"), read)
        .build();
    assert!(matches!(bad, Err(ToolDefinitionError::Template(_))));
    let unsupported = McpServer::builder()
        .resource_template(ResourceTemplate::new("x://{?q}", "q"), read)
        .build();
    assert!(matches!(unsupported, Err(ToolDefinitionError::Template(_))));
    let twice = McpServer::builder()
        .resource_template(ResourceTemplate::new("x://{a}", "a"), read)
        .resource_template(ResourceTemplate::new("x://{a}", "b"), read)
        .build();
    assert!(matches!(twice, Err(ToolDefinitionError::Duplicate(_))));
    let complete = |_ctx, _request| async { Vec::new() };
    let no_variable = McpServer::builder()
        .resource_template(ResourceTemplate::new("x://{a}", "a"), read)
        .complete_template_variable("x://{a}", "b", complete)
        .build();
    assert!(matches!(
        no_variable,
        Err(ToolDefinitionError::UnknownCompletionTarget { .. })
    ));
    let no_prompt = McpServer::builder()
        .complete_prompt_argument("nope", "a", complete)
        .build();
    assert!(matches!(
        no_prompt,
        Err(ToolDefinitionError::UnknownCompletionTarget { .. })
    ));
}

#[tokio::test]
async fn subscribers_get_resource_updates() {
    let server = catalog();
    let (alice, mut alice_rx, _) = connect(&server).await;
    let (bob, mut bob_rx, _) = connect(&server).await;
    for uri in ["memo://readme", "users://7/profile"] {
        assert_eq!(
            call(&server, &alice, "resources/subscribe", json!({"uri": uri})).await,
            Ok(json!({}))
        );
    }
    assert!(alice.is_subscribed("users://7/profile"));
    let (code, _, _) = call(
        &server,
        &bob,
        "resources/subscribe",
        json!({"uri": "nothing://here"}),
    )
    .await
    .unwrap_err();
    assert_eq!(code, ErrorCode(-32002));

    assert_eq!(server.notify_resource_updated("users://7/profile"), 1);
    let update = next_notification(&mut alice_rx).unwrap();
    assert_eq!(update.method, "notifications/resources/updated");
    assert_eq!(update.params, Some(json!({"uri": "users://7/profile"})));
    assert_eq!(next_notification(&mut bob_rx), None);

    call(
        &server,
        &alice,
        "resources/unsubscribe",
        json!({"uri": "users://7/profile"}),
    )
    .await
    .unwrap();
    assert_eq!(server.notify_resource_updated("users://7/profile"), 0);
    assert_eq!(next_notification(&mut alice_rx), None);
    assert_eq!(server.notify_resource_updated("memo://readme"), 1);
    assert!(next_notification(&mut alice_rx).is_some());
}

#[tokio::test]
async fn list_changes_reach_every_initialized_session_and_closed_ones_are_forgotten() {
    let server = catalog();
    let (alice, mut alice_rx, _) = connect(&server).await;
    let (bob, bob_rx, _) = connect(&server).await;
    // A session that has not sent notifications/initialized yet gets nothing.
    let (outbox, mut early_rx) = mpsc::channel(4);
    let early = Session::new(outbox);
    call(
        &server,
        &early,
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e", "version": "0"}}),
    )
    .await
    .unwrap();
    assert_eq!(server.live_sessions(), 3);

    assert_eq!(server.notify_prompts_list_changed(), 2);
    assert_eq!(
        next_notification(&mut alice_rx).unwrap().method,
        "notifications/prompts/list_changed"
    );
    assert_eq!(next_notification(&mut early_rx), None);
    assert_eq!(server.notify_resources_list_changed(), 2);
    assert_eq!(
        next_notification(&mut alice_rx).unwrap().method,
        "notifications/resources/list_changed"
    );
    // The catalog has no tools, so it advertises no tools.listChanged and
    // sends nothing.
    assert_eq!(server.notify_tools_list_changed(), 0);

    // Bob's transport closed its end; Alice's session was dropped.
    drop(bob_rx);
    drop(alice);
    drop(early);
    assert_eq!(server.live_sessions(), 0);
    assert_eq!(server.notify_prompts_list_changed(), 0);
    drop(bob);
}

#[tokio::test]
async fn without_the_options_nothing_is_advertised_or_sent() {
    let server = McpServer::builder()
        .tool("t", "", |_ctx, _args: JsonObject| async {
            Ok::<_, ToolError>(CallToolResult::text("x"))
        })
        .resource(Resource::new("memo://a", "a"), |_ctx| async {
            Ok::<_, ToolError>(text("memo://a", "a"))
        })
        .build()
        .unwrap();
    let (session, mut rx, init) = connect(&server).await;
    assert_eq!(init["capabilities"]["tools"], json!({}));
    assert_eq!(init["capabilities"]["resources"], json!({}));
    assert!(init["capabilities"].get("completions").is_none());
    assert_eq!(server.notify_tools_list_changed(), 0);
    assert_eq!(next_notification(&mut rx), None);
    let (code, _, _) = call(
        &server,
        &session,
        "resources/subscribe",
        json!({"uri": "memo://a"}),
    )
    .await
    .unwrap_err();
    assert_eq!(code, ErrorCode::METHOD_NOT_FOUND);
    let (code, _, _) = call(
        &server,
        &session,
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}}),
    )
    .await
    .unwrap_err();
    assert_eq!(code, ErrorCode::METHOD_NOT_FOUND);
}

#[tokio::test]
async fn prompt_arguments_and_template_variables_are_completed() {
    let server = catalog();
    let (session, _rx, init) = connect(&server).await;
    assert_eq!(init["capabilities"]["completions"], json!({}));
    let complete = |reference: Value, name: &str, value: &str| json!({"ref": reference, "argument": {"name": name, "value": value}});
    let prompt = json!({"type": "ref/prompt", "name": "review"});
    let languages = call(
        &server,
        &session,
        "completion/complete",
        complete(prompt.clone(), "language", "p"),
    )
    .await
    .unwrap();
    assert_eq!(
        languages["completion"],
        json!({"values": ["python", "perl", "php"], "total": 3, "hasMore": false})
    );
    // A declared argument without a completer has no suggestions.
    let style = call(
        &server,
        &session,
        "completion/complete",
        complete(prompt.clone(), "style", "x"),
    )
    .await
    .unwrap();
    assert_eq!(style["completion"]["values"], json!([]));

    let template = json!({"type": "ref/resource", "uri": "users://{id}/profile"});
    let ids = call(
        &server,
        &session,
        "completion/complete",
        complete(template, "id", "u"),
    )
    .await
    .unwrap();
    let values = ids["completion"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 100);
    assert_eq!(values[0], "u0");
    assert_eq!(ids["completion"]["total"], 250);
    assert_eq!(ids["completion"]["hasMore"], true);

    let mut with_context = complete(
        json!({"type": "ref/resource", "uri": "file:///{+path}"}),
        "path",
        "a",
    );
    with_context["context"] = json!({"arguments": {"root": "/srv"}});
    let path = call(&server, &session, "completion/complete", with_context)
        .await
        .unwrap();
    assert_eq!(path["completion"]["values"], json!(["/srv/a"]));
}

#[tokio::test]
async fn unknown_completion_references_are_invalid_params() {
    let server = catalog();
    let (session, _rx, _) = connect(&server).await;
    for (reference, argument) in [
        (json!({"type": "ref/prompt", "name": "nope"}), "language"),
        (json!({"type": "ref/prompt", "name": "review"}), "nope"),
        (json!({"type": "ref/resource", "uri": "users://{x}"}), "x"),
        (json!({"type": "ref/resource", "uri": "memo://readme"}), "x"),
        (
            json!({"type": "ref/resource", "uri": "users://{id}/profile"}),
            "nope",
        ),
        (json!({"type": "ref/tool", "name": "x"}), "x"),
    ] {
        let params = json!({"ref": reference, "argument": {"name": argument, "value": ""}});
        let (code, _, _) = call(&server, &session, "completion/complete", params)
            .await
            .unwrap_err();
        assert_eq!(code, ErrorCode::INVALID_PARAMS, "{reference} {argument}");
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Divide {
    dividend: i64,
    divisor: i64,
}

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Quotient {
    quotient: i64,
    remainder: i64,
}

fn tools() -> McpServer {
    let mut schema = JsonObject::new();
    schema.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    schema.insert("type".into(), "object".into());
    schema.insert(
        "properties".into(),
        json!({"items": {"type": "array", "prefixItems": [{"type": "string"}], "items": false}}),
    );
    let mut raw = Tool::new("raw", schema).unwrap();
    raw.description = Some("Hand-written schema".into());
    McpServer::builder()
        .tool_with_output(
            "divide",
            "Integer division",
            |_ctx: ToolContext, args: Divide| async move {
                if args.divisor == 0 {
                    return Err(ToolError::new("division by zero"));
                }
                Ok(Quotient {
                    quotient: args.dividend / args.divisor,
                    remainder: args.dividend % args.divisor,
                })
            },
        )
        .configure_tool("divide", |tool| {
            tool.title = Some("Divide".into());
            let mut hints = ToolAnnotations::default();
            hints.read_only_hint = Some(true);
            hints.idempotent_hint = Some(true);
            tool.annotations = Some(hints);
        })
        .tool_raw(raw, |_ctx, args: JsonObject| async move {
            Ok(CallToolResult::text(Value::Object(args).to_string()))
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn tools_with_output_have_an_output_schema_and_structured_content() {
    let server = tools();
    let (session, _rx, _) = connect(&server).await;
    let list = call(&server, &session, "tools/list", json!({}))
        .await
        .unwrap();
    let divide = &list["tools"][0];
    assert_eq!(divide["title"], "Divide");
    assert_eq!(
        divide["annotations"],
        json!({"readOnlyHint": true, "idempotentHint": true})
    );
    assert_eq!(divide["outputSchema"]["type"], "object");
    assert_eq!(
        divide["outputSchema"]["properties"]["quotient"]["type"],
        "integer"
    );
    let result = call(
        &server,
        &session,
        "tools/call",
        json!({"name": "divide", "arguments": {"dividend": 17, "divisor": 5}}),
    )
    .await
    .unwrap();
    assert_eq!(
        result["structuredContent"],
        json!({"quotient": 3, "remainder": 2})
    );
    let text: Value = serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(text, result["structuredContent"]);
    let failed = call(
        &server,
        &session,
        "tools/call",
        json!({"name": "divide", "arguments": {"dividend": 1, "divisor": 0}}),
    )
    .await
    .unwrap();
    assert_eq!(failed["isError"], true);
    assert!(failed.get("structuredContent").is_none());
}

#[tokio::test]
async fn raw_tools_keep_their_schema_and_get_their_arguments_as_sent() {
    let server = tools();
    let (session, _rx, _) = connect(&server).await;
    let list = call(&server, &session, "tools/list", json!({}))
        .await
        .unwrap();
    let raw = &list["tools"][1];
    assert_eq!(
        raw["inputSchema"]["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        raw["inputSchema"]["properties"]["items"]["prefixItems"],
        json!([{"type": "string"}])
    );
    let echoed = call(
        &server,
        &session,
        "tools/call",
        json!({"name": "raw", "arguments": {"items": ["a"], "extra": 1}}),
    )
    .await
    .unwrap();
    let sent: Value = serde_json::from_str(echoed["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({"items": ["a"], "extra": 1}));
    let none = call(&server, &session, "tools/call", json!({"name": "raw"}))
        .await
        .unwrap();
    assert_eq!(none["content"][0]["text"], "{}");
}

#[test]
fn tool_definition_errors() {
    #[derive(serde::Serialize, schemars::JsonSchema)]
    struct NotAnObject(Vec<u8>);
    let output = McpServer::builder()
        .tool_with_output("t", "", |_ctx, _args: JsonObject| async {
            Ok::<_, ToolError>(NotAnObject(vec![]))
        })
        .build();
    assert_eq!(
        output.unwrap_err(),
        ToolDefinitionError::OutputNotAnObject("t".into())
    );
    let mut array = JsonObject::new();
    array.insert("type".into(), "object".into());
    let mut tool = Tool::new("r", array).unwrap();
    tool.input_schema.insert("type".into(), "array".into());
    let raw = McpServer::builder()
        .tool_raw(tool, |_ctx, _args| async {
            Ok::<_, ToolError>(CallToolResult::text(""))
        })
        .build();
    assert_eq!(
        raw.unwrap_err(),
        ToolDefinitionError::NotAnObject("r".into())
    );
    let unknown = McpServer::builder()
        .configure_tool("ghost", |_tool| {})
        .build();
    assert_eq!(
        unknown.unwrap_err(),
        ToolDefinitionError::UnknownTool("ghost".into())
    );
}

fn many(page_size: usize) -> McpServer {
    let mut builder = McpServer::builder().page_size(page_size);
    for i in 0..5 {
        builder = builder.tool_raw(Tool::without_arguments(format!("t{i}")), |_ctx, _| async {
            Ok::<_, ToolError>(CallToolResult::text(""))
        });
        let uri = format!("memo://{i}");
        builder = builder.resource(Resource::new(uri.clone(), format!("r{i}")), move |_ctx| {
            let uri = uri.clone();
            async move { Ok::<_, ToolError>(text(&uri, "")) }
        });
        builder = builder.prompt(Prompt::new(format!("p{i}")), |_ctx, _| async {
            Ok::<_, ToolError>(GetPromptResult::new(Vec::new()))
        });
        builder = builder.resource_template(
            ResourceTemplate::new(format!("t{i}://{{x}}"), format!("t{i}")),
            |_ctx, _found| async { Ok(Vec::new()) },
        );
    }
    builder.build().unwrap()
}

#[tokio::test]
async fn lists_are_paginated_with_opaque_cursors() {
    let server = many(2);
    let (session, _rx, _) = connect(&server).await;
    for (method, member) in [
        ("tools/list", "tools"),
        ("resources/list", "resources"),
        ("resources/templates/list", "resourceTemplates"),
        ("prompts/list", "prompts"),
    ] {
        let mut names = Vec::new();
        let mut params = json!({});
        let mut pages = 0;
        loop {
            let page = call(&server, &session, method, params).await.unwrap();
            pages += 1;
            let items = page[member].as_array().unwrap();
            assert!(items.len() <= 2);
            names.extend(items.iter().map(|i| i["name"].as_str().unwrap().to_owned()));
            match page.get("nextCursor") {
                Some(cursor) => params = json!({"cursor": cursor}),
                None => break,
            }
        }
        assert_eq!(pages, 3, "{method}");
        assert_eq!(names.len(), 5, "{method}: {names:?}");
        assert!(names[0].ends_with('0') && names[4].ends_with('4'));
        let (code, _, _) = call(&server, &session, method, json!({"cursor": "bogus"}))
            .await
            .unwrap_err();
        assert_eq!(code, ErrorCode::INVALID_PARAMS, "{method}");
    }
    // A cursor of one list is not valid for another.
    let page = call(&server, &session, "tools/list", json!({}))
        .await
        .unwrap();
    let (code, _, _) = call(
        &server,
        &session,
        "prompts/list",
        json!({"cursor": page["nextCursor"]}),
    )
    .await
    .unwrap_err();
    assert_eq!(code, ErrorCode::INVALID_PARAMS);
}

#[tokio::test]
async fn without_a_page_size_everything_is_one_page() {
    let server = many(0);
    let (session, _rx, _) = connect(&server).await;
    let page = call(&server, &session, "tools/list", json!({}))
        .await
        .unwrap();
    assert_eq!(page["tools"].as_array().unwrap().len(), 5);
    assert!(page.get("nextCursor").is_none());
    let (code, _, _) = call(&server, &session, "tools/list", json!({"cursor": "x"}))
        .await
        .unwrap_err();
    assert_eq!(code, ErrorCode::INVALID_PARAMS);
}

#[tokio::test]
async fn server_log_messages_respect_each_sessions_level() {
    let server = catalog();
    let (quiet, mut quiet_rx, _) = connect(&server).await;
    let (chatty, mut chatty_rx, _) = connect(&server).await;
    let (_silent, mut silent_rx, _) = connect(&server).await;
    call(
        &server,
        &quiet,
        "logging/setLevel",
        json!({"level": "error"}),
    )
    .await
    .unwrap();
    call(
        &server,
        &chatty,
        "logging/setLevel",
        json!({"level": "debug"}),
    )
    .await
    .unwrap();
    assert_eq!(
        server.log(LoggingLevel::Info, Some("db"), json!("connected")),
        1
    );
    let message = next_notification(&mut chatty_rx).unwrap();
    assert_eq!(message.method, "notifications/message");
    assert_eq!(
        message.params,
        Some(json!({"level": "info", "logger": "db", "data": "connected"}))
    );
    assert_eq!(next_notification(&mut quiet_rx), None);
    // Sessions that never set a level get no log messages.
    assert_eq!(next_notification(&mut silent_rx), None);
    assert_eq!(server.log(LoggingLevel::Critical, None, json!({"x": 1})), 2);
    assert!(next_notification(&mut quiet_rx).is_some());
}
