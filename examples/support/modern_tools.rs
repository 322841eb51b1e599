//! The diagnostic tools and prompt of the conformance suite's revision
//! 2026-07-28 server scenarios (suite 0.2.0-alpha): multi round-trip
//! requests (`input-required-result-*`), a tool with an `x-mcp-header`
//! parameter (`http-custom-header-server-validation`), and the stateless
//! checks of `server-stateless` (a missing client capability, no requests on
//! a response stream, no log messages without a log level).
//!
//! Every `requestState` these tools hand out is HMAC-SHA256 signed with a
//! key made at start-up; a state that fails the check fails the request
//! with -32602.

use std::sync::Arc;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mcp_tower::services::jsonrpc::ErrorObject;
use mcp_tower::services::protocol::{
    CallToolResult, ClientCapabilities, CreateMessageRequestParams, ElicitRequestParams,
    GetPromptResult, LoggingLevel, Prompt, SamplingCapability, Tool,
};
use mcp_tower::services::server::{McpServerBuilder, RequestContext, ToolError};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Signs and checks `requestState` values: `base64url(payload).base64url(tag)`.
struct StateSigner(hmac::Key);

impl StateSigner {
    fn new() -> Result<Self, BoxError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| "could not make the requestState key")?;
        Ok(Self(key))
    }

    fn seal(&self, payload: &str) -> String {
        let tag = hmac::sign(&self.0, payload.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    fn open(&self, state: &str) -> Option<String> {
        let (payload, tag) = state.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.0, &payload, &tag).ok()?;
        String::from_utf8(payload).ok()
    }

    /// The payload of the state the client echoed (`None` on a first
    /// round); a state that fails the check fails the request with -32602.
    fn verified(&self, ctx: &RequestContext) -> Result<Option<String>, ToolError> {
        let Some(state) = ctx.request_state() else {
            return Ok(None);
        };
        match self.open(state) {
            Some(payload) => Ok(Some(payload)),
            None => Err(ctx.fail_request(ErrorObject::invalid_params(
                "requestState failed its integrity check",
            ))),
        }
    }
}

fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, ToolError> {
    serde_json::from_value(value).map_err(|e| ToolError::new(format!("bad example data: {e}")))
}

fn tool(name: &str, description: &str, input_schema: &Value) -> Result<Tool, BoxError> {
    let tool = serde_json::from_value(
        json!({"name": name, "description": description, "inputSchema": input_schema}),
    )?;
    Ok(tool)
}

fn no_arguments() -> Value {
    json!({"type": "object", "properties": {}})
}

/// A form asking for one field of type `kind`.
fn form(message: &str, field: &str, kind: &str) -> Result<ElicitRequestParams, ToolError> {
    from_json(json!({
        "message": message,
        "requestedSchema": {"type": "object",
            "properties": {field: {"type": kind}}, "required": [field]}
    }))
}

fn question(text: &str, max_tokens: u32) -> Result<CreateMessageRequestParams, ToolError> {
    from_json(json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
        "maxTokens": max_tokens
    }))
}

/// `field` of an accepted form, as text; `None` if the user did not accept.
fn field(answer: &impl serde::Serialize, field: &str) -> Option<String> {
    let answer = serde_json::to_value(answer).ok()?;
    if answer["action"] != "accept" {
        return None;
    }
    Some(match &answer["content"][field] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The text of a sampling answer.
fn sampled(answer: &impl serde::Serialize) -> String {
    serde_json::to_value(answer)
        .ok()
        .and_then(|a| a["content"]["text"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The roots of a `roots/list` answer, as a list of URIs.
fn roots(answer: &impl serde::Serialize) -> String {
    let answer = serde_json::to_value(answer).unwrap_or_default();
    let uris: Vec<&str> = answer["roots"]
        .as_array()
        .map(|roots| roots.iter().filter_map(|r| r["uri"].as_str()).collect())
        .unwrap_or_default();
    uris.join(", ")
}

fn text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::text(text)
}

/// Adds the tools and the prompt.
pub(crate) fn add(builder: McpServerBuilder) -> Result<McpServerBuilder, BoxError> {
    let signer = Arc::new(StateSigner::new()?);
    let builder = input_required_basic(builder)?;
    let builder = input_required_stateful(builder, &signer)?;
    stateless(builder)
}

fn input_required_basic(builder: McpServerBuilder) -> Result<McpServerBuilder, BoxError> {
    let prompt: Prompt = serde_json::from_value(json!({
        "name": "test_input_required_result_prompt",
        "description": "A prompt that asks the user for its context first (SEP-2322)"
    }))?;
    Ok(builder
        .tool_raw(
            tool(
                "test_input_required_result_elicitation",
                "Asks the user's name (input request \"user_name\") and greets them",
                &no_arguments(),
            )?,
            |ctx, _args| async move {
                let ask = form("What is your name?", "name", "string")?;
                let answer = ctx.elicit_as("user_name", &ask).await?;
                Ok(match field(&answer, "name") {
                    Some(name) => text(format!("Hello, {name}!")),
                    None => text("The user declined to give a name."),
                })
            },
        )
        .tool_raw(
            tool(
                "test_input_required_result_sampling",
                "Asks the client's model a question (input request \"capital_question\")",
                &no_arguments(),
            )?,
            |ctx, _args| async move {
                let ask = question("What is the capital of France?", 100)?;
                let answer = ctx.create_message_as("capital_question", &ask).await?;
                Ok(text(format!("The model answered: {}", sampled(&answer))))
            },
        )
        .tool_raw(
            tool(
                "test_input_required_result_list_roots",
                "Asks the client for its roots (input request \"client_roots\")",
                &no_arguments(),
            )?,
            |ctx, _args| async move {
                let answer = ctx.list_roots_as("client_roots").await?;
                Ok(text(format!("The client's roots: {}", roots(&answer))))
            },
        )
        .tool_raw(
            tool(
                "test_input_required_result_capabilities",
                "Asks for input only through the capabilities the client declared",
                &no_arguments(),
            )?,
            |ctx, _args| async move {
                let declared = ctx.client_capabilities().unwrap_or_default();
                let mut parts = Vec::new();
                if declared.sampling.is_some() {
                    let ask = question("What is the capital of France?", 100)?;
                    let answer = ctx.create_message_as("capital_question", &ask).await?;
                    parts.push(format!("model: {}", sampled(&answer)));
                }
                if declared.elicitation.is_some() {
                    let ask = form("What is your name?", "name", "string")?;
                    let answer = ctx.elicit_as("user_name", &ask).await?;
                    parts.push(format!(
                        "user: {}",
                        field(&answer, "name").unwrap_or_default()
                    ));
                }
                if parts.is_empty() {
                    return Ok(text("The client declared no capability to ask it through."));
                }
                Ok(text(parts.join("; ")))
            },
        )
        .prompt(prompt, |ctx, _args| async move {
            let ask = form("What context should the prompt use?", "context", "string")?;
            let answer = ctx.elicit_as("user_context", &ask).await?;
            let context = field(&answer, "context").unwrap_or_default();
            from_json::<GetPromptResult>(json!({"messages": [{"role": "user", "content": {
                "type": "text", "text": format!("Answer with this context in mind: {context}")
            }}]}))
        }))
}

fn input_required_stateful(
    builder: McpServerBuilder,
    signer: &Arc<StateSigner>,
) -> Result<McpServerBuilder, BoxError> {
    let (s1, s2, s3, s4) = (
        Arc::clone(signer),
        Arc::clone(signer),
        Arc::clone(signer),
        Arc::clone(signer),
    );
    Ok(builder
        .tool_raw(
            tool(
                "test_input_required_result_request_state",
                "Asks for a confirmation and checks the requestState it gets back",
                &no_arguments(),
            )?,
            move |ctx, _args| {
                let signer = Arc::clone(&s1);
                async move { confirm(&ctx, &signer, "awaiting-confirmation").await }
            },
        )
        .tool_raw(
            tool(
                "test_input_required_result_tampered_state",
                "Hands out an HMAC-signed requestState and rejects a modified one",
                &no_arguments(),
            )?,
            move |ctx, _args| {
                let signer = Arc::clone(&s2);
                async move { confirm(&ctx, &signer, "tamper-check").await }
            },
        )
        .tool_raw(
            tool(
                "test_input_required_result_multiple_inputs",
                "Asks for a name, a greeting from the model and the roots in one round",
                &no_arguments(),
            )?,
            move |ctx, _args| {
                let signer = Arc::clone(&s3);
                async move {
                    if signer
                        .verified(&ctx)?
                        .is_some_and(|s| s != "multiple-inputs")
                    {
                        return Err(ctx.fail_request(ErrorObject::invalid_params(
                            "requestState belongs to another request",
                        )));
                    }
                    ctx.set_request_state(signer.seal("multiple-inputs"));
                    let name = form("What is your name?", "name", "string")?;
                    let greeting = question("Generate a greeting", 50)?;
                    let (name, greeting, roots_answer) = tokio::join!(
                        ctx.elicit_as("user_name", &name),
                        ctx.create_message_as("greeting", &greeting),
                        ctx.list_roots_as("client_roots"),
                    );
                    let name = field(&name?, "name").unwrap_or_default();
                    Ok(text(format!(
                        "name: {name}; greeting: {}; roots: {}",
                        sampled(&greeting?),
                        roots(&roots_answer?)
                    )))
                }
            },
        )
        .tool_raw(
            tool(
                "test_input_required_result_multi_round",
                "Asks a name, then a favourite colour, in two rounds",
                &no_arguments(),
            )?,
            move |ctx, _args| {
                let signer = Arc::clone(&s4);
                async move { multi_round(&ctx, &signer).await }
            },
        ))
}

/// One confirmation under the key "confirm", with a signed state `tag`;
/// the answer says "state-ok" once the echoed state checked out.
async fn confirm(
    ctx: &RequestContext,
    signer: &StateSigner,
    tag: &str,
) -> Result<CallToolResult, ToolError> {
    let echoed = signer.verified(ctx)?;
    if echoed.as_deref().is_some_and(|s| s != tag) {
        return Err(ctx.fail_request(ErrorObject::invalid_params(
            "requestState belongs to another request",
        )));
    }
    ctx.set_request_state(signer.seal(tag));
    let ask = form("Please confirm", "ok", "boolean")?;
    let answer = ctx.elicit_as("confirm", &ask).await?;
    if echoed.is_none() {
        return Err(ctx.fail_request(ErrorObject::invalid_params(
            "the answer came without the requestState it belongs to",
        )));
    }
    let ok = field(&answer, "ok").unwrap_or_default();
    Ok(text(format!("state-ok: requestState verified; ok={ok}")))
}

/// Round 1 asks "step1" (a name); round 2 carries the name in the signed
/// state and asks "step2" (a colour); round 3 completes.
async fn multi_round(
    ctx: &RequestContext,
    signer: &StateSigner,
) -> Result<CallToolResult, ToolError> {
    let known = match signer.verified(ctx)? {
        None => None,
        Some(state) if state == "round-1" => None,
        Some(state) => match state.strip_prefix("round-2:") {
            Some(name) => Some(name.to_owned()),
            None => {
                return Err(ctx.fail_request(ErrorObject::invalid_params(
                    "requestState belongs to another request",
                )));
            }
        },
    };
    let name = if let Some(name) = known {
        name
    } else {
        ctx.set_request_state(signer.seal("round-1"));
        let ask = form("Step 1: What is your name?", "name", "string")?;
        field(&ctx.elicit_as("step1", &ask).await?, "name").unwrap_or_default()
    };
    ctx.set_request_state(signer.seal(&format!("round-2:{name}")));
    let ask = form("Step 2: What is your favorite color?", "color", "string")?;
    let color = field(&ctx.elicit_as("step2", &ask).await?, "color").unwrap_or_default();
    Ok(text(format!("{name} likes {color}.")))
}

fn stateless(builder: McpServerBuilder) -> Result<McpServerBuilder, BoxError> {
    let mut sampling = ClientCapabilities::default();
    sampling.sampling = Some(SamplingCapability::default());
    let header_schema = json!({
        "type": "object",
        "properties": {
            "region": {"type": "string", "description": "Where to run; mirrored into Mcp-Param-Region",
                       "x-mcp-header": "Region"},
            "note": {"type": "string", "description": "Free text, not mirrored"}
        },
        "required": ["region"]
    });
    Ok(builder
        .tool_raw(
            tool(
                "test_header_params",
                "Echoes its region argument, which clients mirror into the Mcp-Param-Region header (SEP-2243)",
                &header_schema,
            )?,
            |_ctx, args| async move {
                let region = args.get("region").and_then(Value::as_str).unwrap_or_default();
                Ok(text(format!("region: {region}")))
            },
        )
        .tool_raw(
            tool(
                "test_missing_capability",
                "Needs the sampling capability: without it the request fails with -32021",
                &no_arguments(),
            )?,
            move |ctx, _args| {
                let sampling = sampling.clone();
                async move {
                    ctx.require_client_capabilities(&sampling)?;
                    let ask = question("Say hello.", 20)?;
                    let answer = ctx.create_message(&ask).await?;
                    Ok(text(format!("The model said: {}", sampled(&answer))))
                }
            },
        )
        .tool_raw(
            tool(
                "test_streaming_elicitation",
                "Reports progress, then asks the user for input: on 2026-07-28 the question is an input_required result, never a request on the response stream",
                &no_arguments(),
            )?,
            |ctx, _args| async move {
                ctx.progress(1.0, Some(2.0), Some("asking the user"))
                    .await
                    .map_err(|e| ToolError::new(e.to_string()))?;
                let ask = form("Continue?", "ok", "boolean")?;
                let answer = ctx.elicit_as("continue", &ask).await?;
                Ok(text(format!(
                    "The user answered ok={}",
                    field(&answer, "ok").unwrap_or_default()
                )))
            },
        )
        .tool_raw(
            tool(
                "test_logging_tool",
                "Logs three info messages at the level the request asked for (none without one)",
                &no_arguments(),
            )?,
            |ctx, _args| async move {
                for step in ["started", "working", "done"] {
                    ctx.log(LoggingLevel::Info, Some("test_logging_tool"), json!(step))
                        .await
                        .map_err(|e| ToolError::new(e.to_string()))?;
                }
                Ok(text("Logged at the requested level."))
            },
        ))
}
