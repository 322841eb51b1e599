//! Tools: typed tools (a handler takes a deserializable argument type whose
//! JSON Schema, via `schemars`, becomes the tool's `inputSchema`), typed
//! tools with structured output (the result type's schema becomes
//! `outputSchema`), and raw tools with a hand-written schema.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::peer::PeerError;
use crate::protocol::{CallToolResult, ContentBlock, JsonObject, Tool};

use super::context::ToolContext;
use super::templates::UriTemplateError;

/// A tool failed. Answered as a tool result with `isError: true` (so the
/// model can see what went wrong), never as a protocol error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

impl ToolError {
    /// A failure with this message for the model.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A request to the client failed (for example the client lacks the
/// sampling capability): the tool fails with the reason, so `?` works on
/// [`RequestContext::create_message`](super::RequestContext::create_message),
/// [`elicit`](super::RequestContext::elicit) and
/// [`list_roots`](super::RequestContext::list_roots).
impl From<PeerError> for ToolError {
    fn from(error: PeerError) -> Self {
        Self(error.to_string())
    }
}

pub(crate) type ToolFuture = Pin<Box<dyn Future<Output = CallToolResult> + Send>>;
type Handler = Arc<dyn Fn(ToolContext, Option<JsonObject>) -> ToolFuture + Send + Sync>;

/// A tool definition and its handler.
#[derive(Clone)]
pub(crate) struct ToolEntry {
    pub(crate) tool: Tool,
    pub(crate) handler: Handler,
}

/// Why the server could not be built: a tool, resource, template, prompt or
/// completer was defined wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolDefinitionError {
    /// The argument type's schema is not a JSON object schema.
    #[error(
        "tool {0:?}: the argument type must be a struct (its JSON Schema must have \"type\": \"object\")"
    )]
    NotAnObject(String),
    /// The output type's schema is not a JSON object schema (revisions
    /// before 2026-07-28 need an object for `structuredContent`).
    #[error(
        "tool {0:?}: the output type must be a struct (its JSON Schema must have \"type\": \"object\")"
    )]
    OutputNotAnObject(String),
    /// Two tools, resources, resource templates or prompts with one name or URI.
    #[error("{0:?} is registered twice")]
    Duplicate(String),
    /// A resource template's URI template cannot be matched.
    #[error(transparent)]
    Template(#[from] UriTemplateError),
    /// A tool's `x-mcp-header` annotations break the rules of revision
    /// 2026-07-28 (clients on Streamable HTTP would leave the tool out).
    #[error("tool {tool:?}: {error}")]
    HeaderParam {
        /// The tool.
        tool: String,
        /// What is wrong.
        error: crate::protocol::request_headers::HeaderParamError,
    },
    /// A tool to configure was never added.
    #[error("tool {0:?} is configured but was never added")]
    UnknownTool(String),
    /// A completer for a prompt argument or template variable that does not
    /// exist.
    #[error(
        "a completer for {argument:?} of {reference:?}, which has no such argument or variable"
    )]
    UnknownCompletionTarget {
        /// The prompt name or URI template.
        reference: String,
        /// The argument or variable.
        argument: String,
    },
}

fn schema_of<T: JsonSchema>() -> Option<JsonObject> {
    match serde_json::to_value(schemars::schema_for!(T)) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn is_object_schema(schema: &JsonObject) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}

/// A handler that decodes its arguments as `A` and turns what the typed
/// handler returns into a tool result with `finish`.
fn typed_handler<A, R, F, Fut>(handler: F, finish: fn(R) -> CallToolResult) -> Handler
where
    A: DeserializeOwned + Send + 'static,
    R: 'static,
    F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
{
    Arc::new(move |context, arguments| {
        let arguments = Value::Object(arguments.unwrap_or_default());
        match serde_json::from_value::<A>(arguments) {
            // Invalid arguments are a tool error, so the model can correct
            // itself (MCP 2025-11-25, tools: error handling).
            Err(error) => Box::pin(std::future::ready(CallToolResult::error(format!(
                "invalid arguments: {error}"
            )))),
            Ok(arguments) => {
                let future = handler(context, arguments);
                Box::pin(async move {
                    match future.await {
                        Ok(result) => finish(result),
                        Err(error) => CallToolResult::error(error.0),
                    }
                })
            }
        }
    })
}

/// The result of a tool with structured output: `structuredContent`, and the
/// same JSON as a text block for clients that do not read it (MCP
/// 2025-06-18, tools: structured content).
fn structured<O: Serialize>(output: O) -> CallToolResult {
    match serde_json::to_value(output) {
        Ok(value) => {
            let mut result = CallToolResult::new(vec![ContentBlock::text(value.to_string())]);
            result.structured_content = Some(value);
            result
        }
        Err(error) => {
            CallToolResult::error(format!("the tool's output could not be encoded: {error}"))
        }
    }
}

impl ToolEntry {
    fn describe(
        name: &str,
        description: &str,
        input_schema: Option<JsonObject>,
    ) -> Result<Tool, ToolDefinitionError> {
        let mut tool = input_schema
            .and_then(|schema| Tool::new(name, schema))
            .ok_or_else(|| ToolDefinitionError::NotAnObject(name.to_owned()))?;
        if !description.is_empty() {
            tool.description = Some(description.to_owned());
        }
        Ok(tool)
    }

    pub(crate) fn typed<A, F, Fut>(
        name: &str,
        description: &str,
        handler: F,
    ) -> Result<Self, ToolDefinitionError>
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        Ok(Self {
            tool: Self::describe(name, description, schema_of::<A>())?,
            handler: typed_handler(handler, std::convert::identity),
        })
    }

    pub(crate) fn with_output<A, O, F, Fut>(
        name: &str,
        description: &str,
        handler: F,
    ) -> Result<Self, ToolDefinitionError>
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + 'static,
        F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        let mut tool = Self::describe(name, description, schema_of::<A>())?;
        let output = schema_of::<O>()
            .filter(is_object_schema)
            .ok_or_else(|| ToolDefinitionError::OutputNotAnObject(name.to_owned()))?;
        tool.output_schema = Some(output);
        Ok(Self {
            tool,
            handler: typed_handler(handler, structured::<O>),
        })
    }

    pub(crate) fn raw<F, Fut>(tool: Tool, handler: F) -> Result<Self, ToolDefinitionError>
    where
        F: Fn(ToolContext, JsonObject) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        if !is_object_schema(&tool.input_schema) {
            return Err(ToolDefinitionError::NotAnObject(tool.name));
        }
        let handler: Handler = Arc::new(move |context, arguments| {
            let future = handler(context, arguments.unwrap_or_default());
            Box::pin(async move {
                future
                    .await
                    .unwrap_or_else(|error| CallToolResult::error(error.0))
            })
        });
        Ok(Self { tool, handler })
    }
}
