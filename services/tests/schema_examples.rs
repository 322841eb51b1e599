//! Every example of the official MCP schema (revision 2026-07-28, copied into
//! `tests/fixtures/schema-examples/`, see the README there) deserializes into
//! the Rust type that models it and re-serializes to an equal JSON value.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use mcp_tower_services::jsonrpc::{ErrorCode, ErrorObject, Message};
use mcp_tower_services::protocol::{
    self, BlobResourceContents, CallToolRequestParams, CallToolResult, CancelledNotificationParams,
    ClientCapabilities, CompleteRequestParams, CompleteResult, ContentBlock,
    CreateMessageRequestParams, CreateMessageResult, DiscoverResult, ElicitRequestParams,
    ElicitResult, GetPromptRequestParams, GetPromptResult, InputRequest, InputRequests,
    InputRequiredResult, InputResponses, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListRootsResult, ListToolsResult, LoggingMessageNotificationParams,
    MissingRequiredClientCapabilityData, ModelPreferences, NotificationParams,
    PaginatedRequestParams, PrimitiveSchemaDefinition, ProgressNotificationParams,
    ReadResourceRequestParams, ReadResourceResult, RequestParams, Resource,
    ResourceUpdatedNotificationParams, Root, SamplingContent, SamplingMessage, ServerCapabilities,
    SubscriptionsAcknowledgedNotificationParams, SubscriptionsListenRequestParams,
    SubscriptionsListenResult, TextResourceContents, Tool, UnsupportedProtocolVersionData, methods,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

type Check = fn(&Value) -> Result<(), String>;

enum Entry {
    /// Checked by this function.
    Test(Check),
    /// Not modelled, with the reason.
    #[allow(dead_code)]
    Skip(&'static str),
}

/// Schema type name (the fixture directory) → how its examples are checked.
#[allow(clippy::too_many_lines)] // One entry per schema type.
fn table() -> Vec<(&'static str, Entry)> {
    use Entry::Test;
    vec![
        // Content.
        (
            "AudioContent",
            Test(|v| block(v, |b| matches!(b, ContentBlock::Audio(_)))),
        ),
        (
            "BlobResourceContents",
            Test(round_trip::<BlobResourceContents>),
        ),
        (
            "EmbeddedResource",
            Test(|v| block(v, |b| matches!(b, ContentBlock::Resource(_)))),
        ),
        (
            "ImageContent",
            Test(|v| block(v, |b| matches!(b, ContentBlock::Image(_)))),
        ),
        (
            "ResourceLink",
            Test(|v| block(v, |b| matches!(b, ContentBlock::ResourceLink(_)))),
        ),
        (
            "TextContent",
            Test(|v| block(v, |b| matches!(b, ContentBlock::Text(_)))),
        ),
        (
            "TextResourceContents",
            Test(round_trip::<TextResourceContents>),
        ),
        // Capabilities and discovery.
        ("ClientCapabilities", Test(round_trip::<ClientCapabilities>)),
        ("ServerCapabilities", Test(round_trip::<ServerCapabilities>)),
        (
            "DiscoverRequest",
            Test(|v| request::<RequestParams>(v, methods::SERVER_DISCOVER)),
        ),
        ("DiscoverResult", Test(round_trip::<DiscoverResult>)),
        ("DiscoverResultResponse", Test(response::<DiscoverResult>)),
        // Tools.
        ("Tool", Test(round_trip::<Tool>)),
        (
            "CallToolRequest",
            Test(|v| request::<CallToolRequestParams>(v, methods::TOOLS_CALL)),
        ),
        (
            "CallToolRequestParams",
            Test(round_trip::<CallToolRequestParams>),
        ),
        ("CallToolResult", Test(round_trip::<CallToolResult>)),
        ("CallToolResultResponse", Test(response::<CallToolResult>)),
        (
            "ListToolsRequest",
            Test(|v| request::<PaginatedRequestParams>(v, methods::TOOLS_LIST)),
        ),
        ("ListToolsResult", Test(round_trip::<ListToolsResult>)),
        ("ListToolsResultResponse", Test(response::<ListToolsResult>)),
        (
            "ToolListChangedNotification",
            Test(|v| {
                notification::<NotificationParams>(v, methods::NOTIFICATION_TOOLS_LIST_CHANGED)
            }),
        ),
        // Resources.
        ("Resource", Test(round_trip::<Resource>)),
        (
            "ListResourcesRequest",
            Test(|v| request::<PaginatedRequestParams>(v, methods::RESOURCES_LIST)),
        ),
        (
            "ListResourcesResult",
            Test(round_trip::<ListResourcesResult>),
        ),
        (
            "ListResourcesResultResponse",
            Test(response::<ListResourcesResult>),
        ),
        (
            "ListResourceTemplatesRequest",
            Test(|v| request::<PaginatedRequestParams>(v, methods::RESOURCES_TEMPLATES_LIST)),
        ),
        (
            "ListResourceTemplatesResult",
            Test(round_trip::<ListResourceTemplatesResult>),
        ),
        (
            "ListResourceTemplatesResultResponse",
            Test(response::<ListResourceTemplatesResult>),
        ),
        (
            "ReadResourceRequest",
            Test(|v| request::<ReadResourceRequestParams>(v, methods::RESOURCES_READ)),
        ),
        ("ReadResourceResult", Test(round_trip::<ReadResourceResult>)),
        (
            "ReadResourceResultResponse",
            Test(response::<ReadResourceResult>),
        ),
        (
            "ResourceListChangedNotification",
            Test(|v| {
                notification::<NotificationParams>(v, methods::NOTIFICATION_RESOURCES_LIST_CHANGED)
            }),
        ),
        (
            "ResourceUpdatedNotification",
            Test(|v| {
                notification::<ResourceUpdatedNotificationParams>(
                    v,
                    methods::NOTIFICATION_RESOURCES_UPDATED,
                )
            }),
        ),
        (
            "ResourceUpdatedNotificationParams",
            Test(round_trip::<ResourceUpdatedNotificationParams>),
        ),
        // Subscriptions.
        (
            "SubscriptionsListenRequest",
            Test(|v| request::<SubscriptionsListenRequestParams>(v, methods::SUBSCRIPTIONS_LISTEN)),
        ),
        (
            "SubscriptionsListenResult",
            Test(round_trip::<SubscriptionsListenResult>),
        ),
        (
            "SubscriptionsListenResultResponse",
            Test(response::<SubscriptionsListenResult>),
        ),
        (
            "SubscriptionsAcknowledgedNotification",
            Test(|v| {
                notification::<SubscriptionsAcknowledgedNotificationParams>(
                    v,
                    methods::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED,
                )
            }),
        ),
        // Prompts.
        (
            "ListPromptsRequest",
            Test(|v| request::<PaginatedRequestParams>(v, methods::PROMPTS_LIST)),
        ),
        ("ListPromptsResult", Test(round_trip::<ListPromptsResult>)),
        (
            "ListPromptsResultResponse",
            Test(response::<ListPromptsResult>),
        ),
        (
            "GetPromptRequest",
            Test(|v| request::<GetPromptRequestParams>(v, methods::PROMPTS_GET)),
        ),
        (
            "GetPromptRequestParams",
            Test(round_trip::<GetPromptRequestParams>),
        ),
        ("GetPromptResult", Test(round_trip::<GetPromptResult>)),
        ("GetPromptResultResponse", Test(response::<GetPromptResult>)),
        (
            "PromptListChangedNotification",
            Test(|v| {
                notification::<NotificationParams>(v, methods::NOTIFICATION_PROMPTS_LIST_CHANGED)
            }),
        ),
        // Completion.
        (
            "CompleteRequest",
            Test(|v| request::<CompleteRequestParams>(v, methods::COMPLETION_COMPLETE)),
        ),
        (
            "CompleteRequestParams",
            Test(round_trip::<CompleteRequestParams>),
        ),
        ("CompleteResult", Test(round_trip::<CompleteResult>)),
        ("CompleteResultResponse", Test(response::<CompleteResult>)),
        // Logging, progress, cancellation, pagination.
        (
            "LoggingMessageNotification",
            Test(|v| {
                notification::<LoggingMessageNotificationParams>(v, methods::NOTIFICATION_MESSAGE)
            }),
        ),
        (
            "LoggingMessageNotificationParams",
            Test(round_trip::<LoggingMessageNotificationParams>),
        ),
        (
            "ProgressNotification",
            Test(|v| notification::<ProgressNotificationParams>(v, methods::NOTIFICATION_PROGRESS)),
        ),
        (
            "ProgressNotificationParams",
            Test(round_trip::<ProgressNotificationParams>),
        ),
        (
            "CancelledNotification",
            Test(|v| {
                notification::<CancelledNotificationParams>(v, methods::NOTIFICATION_CANCELLED)
            }),
        ),
        (
            "CancelledNotificationParams",
            Test(round_trip::<CancelledNotificationParams>),
        ),
        (
            "PaginatedRequestParams",
            Test(round_trip::<PaginatedRequestParams>),
        ),
        // Roots.
        ("Root", Test(round_trip::<Root>)),
        ("ListRootsResult", Test(round_trip::<ListRootsResult>)),
        (
            // The example carries an `id` (but no `jsonrpc`); the schema's
            // `ListRootsRequest` is `{ method, params? }`, so the `id` is
            // tolerated on input and not written back.
            "ListRootsRequest",
            Test(|v| {
                let mut expected = v.clone();
                expected.as_object_mut().unwrap().remove("id");
                input_request(v, &expected, |r| matches!(r, InputRequest::ListRoots(_)))
            }),
        ),
        // Sampling.
        (
            "CreateMessageRequest",
            Test(|v| input_request(v, v, |r| matches!(r, InputRequest::CreateMessage(_)))),
        ),
        (
            "CreateMessageRequestParams",
            Test(round_trip::<CreateMessageRequestParams>),
        ),
        (
            "CreateMessageResult",
            Test(round_trip::<CreateMessageResult>),
        ),
        ("SamplingMessage", Test(round_trip::<SamplingMessage>)),
        ("ModelPreferences", Test(round_trip::<ModelPreferences>)),
        (
            "ToolUseContent",
            Test(|v| sampling_block(v, |b| matches!(b, SamplingContent::ToolUse(_)))),
        ),
        (
            "ToolResultContent",
            Test(|v| sampling_block(v, |b| matches!(b, SamplingContent::ToolResult(_)))),
        ),
        // Elicitation.
        (
            "ElicitRequest",
            Test(|v| input_request(v, v, |r| matches!(r, InputRequest::Elicit(_)))),
        ),
        (
            "ElicitRequestFormParams",
            Test(|v| elicit_params(v, |p| matches!(p, ElicitRequestParams::Form(_)))),
        ),
        (
            "ElicitRequestURLParams",
            Test(|v| elicit_params(v, |p| matches!(p, ElicitRequestParams::Url(_)))),
        ),
        ("ElicitResult", Test(round_trip::<ElicitResult>)),
        (
            "StringSchema",
            Test(|v| field(v, |f| matches!(f, PrimitiveSchemaDefinition::String(_)))),
        ),
        (
            "NumberSchema",
            Test(|v| field(v, |f| matches!(f, PrimitiveSchemaDefinition::Number(_)))),
        ),
        (
            "BooleanSchema",
            Test(|v| field(v, |f| matches!(f, PrimitiveSchemaDefinition::Boolean(_)))),
        ),
        (
            "UntitledSingleSelectEnumSchema",
            Test(|v| {
                field(v, |f| {
                    matches!(f, PrimitiveSchemaDefinition::UntitledSingleSelect(_))
                })
            }),
        ),
        (
            "TitledSingleSelectEnumSchema",
            Test(|v| {
                field(v, |f| {
                    matches!(f, PrimitiveSchemaDefinition::TitledSingleSelect(_))
                })
            }),
        ),
        (
            "UntitledMultiSelectEnumSchema",
            Test(|v| {
                field(v, |f| {
                    matches!(f, PrimitiveSchemaDefinition::UntitledMultiSelect(_))
                })
            }),
        ),
        (
            "TitledMultiSelectEnumSchema",
            Test(|v| {
                field(v, |f| {
                    matches!(f, PrimitiveSchemaDefinition::TitledMultiSelect(_))
                })
            }),
        ),
        // Multi round-trip requests.
        ("InputRequests", Test(round_trip::<InputRequests>)),
        ("InputResponses", Test(round_trip::<InputResponses>)),
        (
            "InputRequiredResult",
            Test(round_trip::<InputRequiredResult>),
        ),
        // Errors: bare error objects and error responses.
        (
            "ParseError",
            Test(|v| error_object(v, ErrorCode::PARSE_ERROR)),
        ),
        (
            "InvalidParamsError",
            Test(|v| error_object(v, ErrorCode::INVALID_PARAMS)),
        ),
        (
            "InternalError",
            Test(|v| error_object(v, ErrorCode::INTERNAL_ERROR)),
        ),
        (
            "MethodNotFoundError",
            Test(|v| error_object(v, ErrorCode::METHOD_NOT_FOUND)),
        ),
        (
            "HeaderMismatchError",
            Test(|v| error_response::<Value>(v, protocol::HEADER_MISMATCH)),
        ),
        (
            "UnsupportedProtocolVersionError",
            Test(|v| {
                error_response::<UnsupportedProtocolVersionData>(
                    v,
                    protocol::UNSUPPORTED_PROTOCOL_VERSION,
                )
            }),
        ),
        (
            "MissingRequiredClientCapabilityError",
            Test(|v| {
                error_response::<MissingRequiredClientCapabilityData>(
                    v,
                    protocol::MISSING_REQUIRED_CLIENT_CAPABILITY,
                )
            }),
        ),
    ]
}

/// JSON does not tell `50` from `50.0`; compare numbers by value.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| v.clone(), Value::Number),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

fn same(expected: &Value, actual: &Value) -> Result<(), String> {
    if normalize(expected) == normalize(actual) {
        Ok(())
    } else {
        Err(format!(
            "re-serialized JSON differs\n expected: {expected}\n   actual: {actual}"
        ))
    }
}

fn parse<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| {
        format!(
            "does not deserialize as {}: {e}",
            std::any::type_name::<T>()
        )
    })
}

fn to_value<T: Serialize>(t: &T) -> Result<Value, String> {
    serde_json::to_value(t).map_err(|e| format!("does not serialize: {e}"))
}

fn round_trip<T: DeserializeOwned + Serialize>(v: &Value) -> Result<(), String> {
    let t: T = parse(v)?;
    same(v, &to_value(&t)?)
}

fn round_trip_is<T: DeserializeOwned + Serialize>(
    v: &Value,
    expected: &Value,
    is: fn(&T) -> bool,
) -> Result<(), String> {
    let t: T = parse(v)?;
    if !is(&t) {
        return Err(format!(
            "parsed as the wrong variant: {}",
            std::any::type_name::<T>()
        ));
    }
    same(expected, &to_value(&t)?)
}

fn block(v: &Value, is: fn(&ContentBlock) -> bool) -> Result<(), String> {
    round_trip_is(v, v, is)
}

fn sampling_block(v: &Value, is: fn(&SamplingContent) -> bool) -> Result<(), String> {
    round_trip_is(v, v, is)
}

fn field(v: &Value, is: fn(&PrimitiveSchemaDefinition) -> bool) -> Result<(), String> {
    round_trip_is(v, v, is)
}

fn elicit_params(v: &Value, is: fn(&ElicitRequestParams) -> bool) -> Result<(), String> {
    round_trip_is(v, v, is)
}

fn input_request(v: &Value, expected: &Value, is: fn(&InputRequest) -> bool) -> Result<(), String> {
    round_trip_is(v, expected, is)
}

fn message(v: &Value) -> Result<Message, String> {
    let msg =
        Message::from_value(v.clone()).map_err(|e| format!("not a JSON-RPC message: {e:?}"))?;
    same(v, &to_value(&msg)?)?;
    Ok(msg)
}

fn request<P: DeserializeOwned + Serialize>(v: &Value, method: &str) -> Result<(), String> {
    match message(v)? {
        Message::Request(r) if r.method == method => {
            round_trip::<P>(r.params.as_ref().ok_or("request without params")?)
        }
        other => Err(format!("expected a {method} request, got {other:?}")),
    }
}

fn notification<P: DeserializeOwned + Serialize>(v: &Value, method: &str) -> Result<(), String> {
    match message(v)? {
        Message::Notification(n) if n.method == method => match &n.params {
            Some(params) => round_trip::<P>(params),
            None => Ok(()),
        },
        other => Err(format!("expected a {method} notification, got {other:?}")),
    }
}

fn response<R: DeserializeOwned + Serialize>(v: &Value) -> Result<(), String> {
    match message(v)? {
        Message::Response(r) => round_trip::<R>(&r.result),
        other => Err(format!("expected a result response, got {other:?}")),
    }
}

fn error_response<D: DeserializeOwned + Serialize>(
    v: &Value,
    code: ErrorCode,
) -> Result<(), String> {
    match message(v)? {
        Message::Error(e) if e.error.code == code => match &e.error.data {
            Some(data) => round_trip::<D>(data),
            None => Ok(()),
        },
        other => Err(format!(
            "expected an error response with code {}, got {other:?}",
            code.0
        )),
    }
}

fn error_object(v: &Value, code: ErrorCode) -> Result<(), String> {
    let e: ErrorObject = parse(v)?;
    if e.code != code {
        return Err(format!("code {} instead of {}", e.code.0, code.0));
    }
    same(v, &to_value(&e)?)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-examples")
}

#[test]
fn every_schema_example_round_trips() {
    let table = table();
    let names: BTreeSet<&str> = table.iter().map(|(n, _)| *n).collect();
    assert_eq!(names.len(), table.len(), "duplicate table entries");

    let dirs: BTreeSet<String> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    let missing: Vec<_> = dirs
        .iter()
        .filter(|d| !names.contains(d.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "example types without a table entry: {missing:?}"
    );
    let stale: Vec<_> = names.iter().filter(|n| !dirs.contains(**n)).collect();
    assert!(
        stale.is_empty(),
        "table entries without examples: {stale:?}"
    );

    let (mut tested, mut skipped, mut failures) = (0, 0, Vec::new());
    for (name, entry) in &table {
        let mut files: Vec<_> = fs::read_dir(fixtures().join(name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name}: no examples");
        for file in files {
            let value: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
            match entry {
                Entry::Skip(_) => skipped += 1,
                Entry::Test(check) => {
                    tested += 1;
                    if let Err(e) = check(&value) {
                        failures.push(format!("{}: {e}", file.display()));
                    }
                }
            }
        }
    }
    println!("schema examples: {tested} tested, {skipped} skipped");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(tested >= 129, "only {tested} examples tested");
}
