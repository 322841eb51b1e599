//! The "everything" server the MCP conformance suite expects: the tools,
//! resources and prompts of the suite's reference server
//! (`examples/servers/typescript/everything-server.ts` in
//! modelcontextprotocol/conformance, v0.1.16), on our `McpServer`, and the
//! diagnostic tools of its 2026-07-28 scenarios (`modern_tools`).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use mcp_tower::services::protocol::{
    CallToolResult, ElicitRequestParams, GetPromptResult, LoggingLevel, Prompt, Resource,
    ResourceContents, ResourceTemplate, Tool,
};
use mcp_tower::services::server::{
    McpServer, McpServerBuilder, RequestContext, ResourceError, TemplateMatch, ToolContext,
    ToolDefinitionError, ToolError,
};
use mcp_tower::services::transport::http::SseControl;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A 1×1 red PNG.
pub(crate) const TEST_IMAGE_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file.
pub(crate) const TEST_AUDIO_BASE64: &str =
    "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/// Decodes a protocol type written as JSON; a mistake here is a tool error.
fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, ToolError> {
    serde_json::from_value(value).map_err(|e| ToolError::new(format!("bad example data: {e}")))
}

/// A tool described in JSON (`inputSchema` defaults to an empty object
/// schema).
fn tool(name: &str, description: &str, input_schema: Value) -> Result<Tool, ToolDefinitionError> {
    let schema = if input_schema.is_null() {
        json!({"type": "object", "properties": {}})
    } else {
        input_schema
    };
    serde_json::from_value(json!({"name": name, "description": description, "inputSchema": schema}))
        .map_err(|_| ToolDefinitionError::NotAnObject(name.to_owned()))
}

fn text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::text(text)
}

/// Sends a log message whatever level the client set, as the reference
/// server does (its tool writes `notifications/message` directly).
async fn log(ctx: &ToolContext, data: &str) -> Result<(), ToolError> {
    let params = json!({"level": LoggingLevel::Info, "data": data});
    ctx.peer()
        .notify("notifications/message", &params)
        .await
        .map_err(|e| ToolError::new(e.to_string()))
}

async fn elicit(
    ctx: &ToolContext,
    params: Value,
    label: &str,
) -> Result<CallToolResult, ToolError> {
    let params: ElicitRequestParams = from_json(params)?;
    Ok(match ctx.elicit(&params).await {
        Ok(answer) => {
            let content =
                serde_json::to_string(&answer.content.unwrap_or_default()).unwrap_or_default();
            let action = serde_json::to_value(answer.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            text(format!("{label}: action={action}, content={content}"))
        }
        Err(e) => text(format!("Elicitation not supported or error: {e}")),
    })
}

#[allow(clippy::too_many_lines)]
fn tools(builder: McpServerBuilder) -> Result<McpServerBuilder, ToolDefinitionError> {
    Ok(builder
        .tool_raw(
            tool("test_simple_text", "Tests simple text content response", Value::Null)?,
            |_ctx, _args| async { Ok(text("This is a simple text response for testing.")) },
        )
        .tool_raw(
            tool("test_image_content", "Tests image content response", Value::Null)?,
            |_ctx, _args| async {
                from_json(json!({"content": [
                    {"type": "image", "data": TEST_IMAGE_BASE64, "mimeType": "image/png"}
                ]}))
            },
        )
        .tool_raw(
            tool("test_audio_content", "Tests audio content response", Value::Null)?,
            |_ctx, _args| async {
                from_json(json!({"content": [
                    {"type": "audio", "data": TEST_AUDIO_BASE64, "mimeType": "audio/wav"}
                ]}))
            },
        )
        .tool_raw(
            tool("test_embedded_resource", "Tests embedded resource content response", Value::Null)?,
            |_ctx, _args| async {
                from_json(json!({"content": [{"type": "resource", "resource": {
                    "uri": "test://embedded-resource",
                    "mimeType": "text/plain",
                    "text": "This is an embedded resource content."
                }}]}))
            },
        )
        .tool_raw(
            tool(
                "test_multiple_content_types",
                "Tests response with multiple content types (text, image, resource)",
                Value::Null,
            )?,
            |_ctx, _args| async {
                from_json(json!({"content": [
                    {"type": "text", "text": "Multiple content types test:"},
                    {"type": "image", "data": TEST_IMAGE_BASE64, "mimeType": "image/png"},
                    {"type": "resource", "resource": {
                        "uri": "test://mixed-content-resource",
                        "mimeType": "application/json",
                        "text": "{\"test\":\"data\",\"value\":123}"
                    }}
                ]}))
            },
        )
        .tool_raw(
            tool(
                "test_tool_with_logging",
                "Tests tool that emits log messages during execution",
                Value::Null,
            )?,
            |ctx, _args| async move {
                log(&ctx, "Tool execution started").await?;
                log(&ctx, "Tool processing data").await?;
                log(&ctx, "Tool execution completed").await?;
                Ok(text("Tool with logging executed successfully"))
            },
        )
        .tool_raw(
            tool(
                "test_tool_with_progress",
                "Tests tool that reports progress notifications",
                Value::Null,
            )?,
            |ctx, _args| async move {
                for step in [0.0, 50.0, 100.0] {
                    ctx.progress(step, Some(100.0), Some(&format!("Completed step {step} of 100")))
                        .await
                        .map_err(|e| ToolError::new(e.to_string()))?;
                }
                let token = ctx
                    .progress_token
                    .as_ref()
                    .map_or_else(|| "0".to_owned(), |t| match t {
                        mcp_tower::services::protocol::ProgressToken::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                Ok(text(token))
            },
        )
        .tool_raw(
            tool("test_error_handling", "Tests error response handling", Value::Null)?,
            |_ctx, _args| async {
                Err(ToolError::new(
                    "This tool intentionally returns an error for testing",
                ))
            },
        )
        .tool_raw(
            tool(
                "test_reconnection",
                "Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the stream mid-call and send the result after client reconnects.",
                Value::Null,
            )?,
            |ctx, _args| async move {
                // SEP-1699: close the request's SSE stream while the call
                // runs; the client comes back with Last-Event-ID and gets the
                // answer from the session's event log.
                if let Some(sse) = ctx.extensions.get::<SseControl>() {
                    sse.close_stream();
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                Ok(text(
                    "Reconnection test completed successfully. If you received this, the client properly reconnected after stream closure.",
                ))
            },
        )
        .tool_raw(
            tool(
                "test_sampling",
                "Tests server-initiated sampling (LLM completion request)",
                json!({"type": "object", "properties": {
                    "prompt": {"type": "string", "description": "The prompt to send to the LLM"}
                }, "required": ["prompt"]}),
            )?,
            |ctx, args| async move {
                let prompt = args.get("prompt").and_then(Value::as_str).unwrap_or_default();
                let params = from_json(json!({
                    "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                    "maxTokens": 100
                }))?;
                Ok(match ctx.create_message(&params).await {
                    Ok(answer) => {
                        let answer = serde_json::to_value(answer).unwrap_or_default();
                        let reply = answer["content"]["text"].as_str().unwrap_or("No response");
                        text(format!("LLM response: {reply}"))
                    }
                    Err(e) => text(format!("Sampling not supported or error: {e}")),
                })
            },
        )
        .tool_raw(
            tool(
                "test_elicitation",
                "Tests server-initiated elicitation (user input request)",
                json!({"type": "object", "properties": {
                    "message": {"type": "string", "description": "The message to show the user"}
                }, "required": ["message"]}),
            )?,
            |ctx, args| async move {
                let message = args.get("message").and_then(Value::as_str).unwrap_or_default();
                let params = json!({
                    "message": message,
                    "requestedSchema": {"type": "object", "properties": {
                        "response": {"type": "string", "description": "User's response"}
                    }, "required": ["response"]}
                });
                elicit(&ctx, params, "User response").await
            },
        )
        .tool_raw(
            tool(
                "test_elicitation_sep1034_defaults",
                "Tests elicitation with default values per SEP-1034",
                Value::Null,
            )?,
            |ctx, _args| async move {
                let params = json!({
                    "message": "Please review and update the form fields with defaults",
                    "requestedSchema": {"type": "object", "properties": {
                        "name": {"type": "string", "description": "User name", "default": "John Doe"},
                        "age": {"type": "integer", "description": "User age", "default": 30},
                        "score": {"type": "number", "description": "User score", "default": 95.5},
                        "status": {"type": "string", "description": "User status",
                                   "enum": ["active", "inactive", "pending"], "default": "active"},
                        "verified": {"type": "boolean", "description": "Verification status", "default": true}
                    }, "required": []}
                });
                elicit(&ctx, params, "Elicitation completed").await
            },
        )
        .tool_raw(
            tool(
                "test_elicitation_sep1330_enums",
                "Tests elicitation with enum schema improvements per SEP-1330",
                Value::Null,
            )?,
            |ctx, _args| async move {
                let params = json!({
                    "message": "Please select options from the enum fields",
                    "requestedSchema": {"type": "object", "properties": {
                        "untitledSingle": {"type": "string", "description": "Select one option",
                                           "enum": ["option1", "option2", "option3"]},
                        "titledSingle": {"type": "string", "description": "Select one option with titles",
                                         "oneOf": [{"const": "value1", "title": "First Option"},
                                                   {"const": "value2", "title": "Second Option"},
                                                   {"const": "value3", "title": "Third Option"}]},
                        "legacyEnum": {"type": "string", "description": "Select one option (legacy)",
                                       "enum": ["opt1", "opt2", "opt3"],
                                       "enumNames": ["Option One", "Option Two", "Option Three"]},
                        "untitledMulti": {"type": "array", "description": "Select multiple options",
                                          "minItems": 1, "maxItems": 3,
                                          "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                        "titledMulti": {"type": "array", "description": "Select multiple options with titles",
                                        "minItems": 1, "maxItems": 3,
                                        "items": {"anyOf": [{"const": "value1", "title": "First Choice"},
                                                            {"const": "value2", "title": "Second Choice"},
                                                            {"const": "value3", "title": "Third Choice"}]}}
                    }, "required": []}
                });
                elicit(&ctx, params, "Elicitation completed").await
            },
        )
        .tool_raw(
            tool(
                "json_schema_2020_12_tool",
                "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
                json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {
                        "street": {"type": "string"}, "city": {"type": "string"}
                    }}},
                    "properties": {
                        "name": {"type": "string"},
                        "address": {"$ref": "#/$defs/address"},
                        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                        "phone": {"type": "string"},
                        "email": {"type": "string"}
                    },
                    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
                    "if": {"properties": {"contactMethod": {"const": "phone"}},
                           "required": ["contactMethod"]},
                    "then": {"required": ["phone"]},
                    "else": {"required": ["email"]},
                    "additionalProperties": false
                }),
            )?,
            |_ctx, args| async move {
                let args = serde_json::to_string(&args).unwrap_or_default();
                Ok(text(format!("JSON Schema 2020-12 tool called with: {args}")))
            },
        ))
}

fn resource(value: Value) -> Result<Resource, ToolDefinitionError> {
    serde_json::from_value(value).map_err(|_| ToolDefinitionError::NotAnObject("resource".into()))
}

fn contents(value: Value) -> Result<Vec<ResourceContents>, ToolError> {
    from_json(value)
}

fn prompt(value: Value) -> Result<Prompt, ToolDefinitionError> {
    serde_json::from_value(value).map_err(|_| ToolDefinitionError::NotAnObject("prompt".into()))
}

fn messages(value: Value) -> Result<GetPromptResult, ToolError> {
    let mut result = serde_json::Map::new();
    result.insert("messages".to_owned(), value);
    from_json(Value::Object(result))
}

/// The conformance suite's "everything" server.
pub(crate) fn server() -> Result<McpServer, Box<dyn std::error::Error + Send + Sync>> {
    let builder = McpServer::builder()
        .name("mcp-conformance-test-server")
        .version("1.0.0")
        .resource_subscriptions(true)
        .list_changed(true);
    let template: ResourceTemplate = serde_json::from_value(json!({
        "uriTemplate": "test://template/{id}/data",
        "name": "template",
        "title": "Resource Template",
        "description": "A resource template with parameter substitution",
        "mimeType": "application/json"
    }))
    .map_err(|_| ToolDefinitionError::NotAnObject("template".into()))?;
    let builder = resources(tools(builder)?, template)?;
    let builder = crate::modern_tools::add(prompts(builder)?)?;
    let this: Arc<OnceLock<McpServer>> = Arc::default();
    let server = triggers(builder, &this)?
        .complete_prompt_argument(
            "test_prompt_with_arguments",
            "arg1",
            |_ctx, _request| async { Vec::new() },
        )
        .build()?;
    // The trigger tools reach the server through this cell (a cycle, but
    // the example's server lives as long as the process).
    let _ = this.set(server.clone());
    Ok(server)
}

/// `test_trigger_tool_change` and `test_trigger_prompt_change`: the suite's
/// hooks for `subscriptions/listen` (2026-07-28); each announces a change of
/// its list to the sessions and open streams that asked for it.
fn triggers(
    builder: McpServerBuilder,
    this: &Arc<OnceLock<McpServer>>,
) -> Result<McpServerBuilder, ToolDefinitionError> {
    let tools = Arc::clone(this);
    let prompts = Arc::clone(this);
    Ok(builder
        .tool_raw(
            tool(
                "test_trigger_tool_change",
                "Announces a change of the tool list",
                Value::Null,
            )?,
            move |_ctx, _args| {
                let reached = tools.get().map_or(0, McpServer::notify_tools_list_changed);
                async move { Ok(text(format!("tools/list_changed sent to {reached}"))) }
            },
        )
        .tool_raw(
            tool(
                "test_trigger_prompt_change",
                "Announces a change of the prompt list",
                Value::Null,
            )?,
            move |_ctx, _args| {
                let reached = prompts
                    .get()
                    .map_or(0, McpServer::notify_prompts_list_changed);
                async move { Ok(text(format!("prompts/list_changed sent to {reached}"))) }
            },
        ))
}

fn resources(
    builder: McpServerBuilder,
    template: ResourceTemplate,
) -> Result<McpServerBuilder, ToolDefinitionError> {
    Ok(builder
        .resource(
            resource(json!({"uri": "test://static-text", "name": "static-text",
                "title": "Static Text Resource", "description": "A static text resource for testing",
                "mimeType": "text/plain"}))?,
            |_ctx: RequestContext| async {
                contents(json!([{"uri": "test://static-text", "mimeType": "text/plain",
                    "text": "This is the content of the static text resource."}]))
            },
        )
        .resource(
            resource(json!({"uri": "test://static-binary", "name": "static-binary",
                "title": "Static Binary Resource",
                "description": "A static binary resource (image) for testing",
                "mimeType": "image/png"}))?,
            |_ctx: RequestContext| async {
                contents(json!([{"uri": "test://static-binary", "mimeType": "image/png",
                    "blob": TEST_IMAGE_BASE64}]))
            },
        )
        .resource(
            resource(json!({"uri": "test://watched-resource", "name": "watched-resource",
                "title": "Watched Resource",
                "description": "A resource that auto-updates every 3 seconds",
                "mimeType": "text/plain"}))?,
            |_ctx: RequestContext| async {
                contents(json!([{"uri": "test://watched-resource", "mimeType": "text/plain",
                    "text": "Watched resource content"}]))
            },
        )
        .resource_template(template, |_ctx: RequestContext, matched: TemplateMatch| async move {
            let id = matched.get("id").unwrap_or_default().to_owned();
            let body = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
            Ok::<_, ResourceError>(contents(json!([{
                "uri": matched.uri,
                "mimeType": "application/json",
                "text": body.to_string()
            }]))?)
        }))
}

fn prompts(builder: McpServerBuilder) -> Result<McpServerBuilder, ToolDefinitionError> {
    Ok(builder
        .prompt(
            prompt(json!({"name": "test_simple_prompt", "title": "Simple Test Prompt",
                "description": "A simple prompt without arguments"}))?,
            |_ctx, _args| async {
                messages(json!([{"role": "user", "content": {"type": "text",
                    "text": "This is a simple prompt for testing."}}]))
            },
        )
        .prompt(
            prompt(json!({"name": "test_prompt_with_arguments", "title": "Prompt With Arguments",
                "description": "A prompt with required arguments",
                "arguments": [
                    {"name": "arg1", "description": "First test argument", "required": true},
                    {"name": "arg2", "description": "Second test argument", "required": true}
                ]}))?,
            |_ctx, args: BTreeMap<String, String>| async move {
                let arg = |k: &str| args.get(k).cloned().unwrap_or_default();
                messages(json!([{"role": "user", "content": {"type": "text",
                    "text": format!("Prompt with arguments: arg1='{}', arg2='{}'", arg("arg1"), arg("arg2"))}}]))
            },
        )
        .prompt(
            prompt(json!({"name": "test_prompt_with_embedded_resource",
                "title": "Prompt With Embedded Resource",
                "description": "A prompt that includes an embedded resource",
                "arguments": [{"name": "resourceUri", "description": "URI of the resource to embed",
                    "required": true}]}))?,
            |_ctx, args: BTreeMap<String, String>| async move {
                let uri = args.get("resourceUri").cloned().unwrap_or_default();
                messages(json!([
                    {"role": "user", "content": {"type": "resource", "resource": {
                        "uri": uri, "mimeType": "text/plain",
                        "text": "Embedded resource content for testing."}}},
                    {"role": "user", "content": {"type": "text",
                        "text": "Please process the embedded resource above."}}
                ]))
            },
        )
        .prompt(
            prompt(json!({"name": "test_prompt_with_image", "title": "Prompt With Image",
                "description": "A prompt that includes image content"}))?,
            |_ctx, _args| async {
                messages(json!([
                    {"role": "user", "content": {"type": "image", "data": TEST_IMAGE_BASE64,
                        "mimeType": "image/png"}},
                    {"role": "user", "content": {"type": "text",
                        "text": "Please analyze the image above."}}
                ]))
            },
        ))
}
