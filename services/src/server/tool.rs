//! Typed tools: a handler takes a deserializable argument type whose JSON
//! Schema (via `schemars`) becomes the tool's `inputSchema`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::protocol::{CallToolResult, JsonObject, Tool};

use super::context::ToolContext;

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

pub(crate) type ToolFuture = Pin<Box<dyn Future<Output = CallToolResult> + Send>>;
type Handler = Arc<dyn Fn(ToolContext, Option<JsonObject>) -> ToolFuture + Send + Sync>;

/// A tool definition and its handler, for
/// [`McpServerBuilder::tool`](super::McpServerBuilder::tool).
#[derive(Clone)]
pub(crate) struct ToolEntry {
    pub(crate) tool: Tool,
    pub(crate) handler: Handler,
}

/// Why a tool could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolDefinitionError {
    /// The argument type's schema is not a JSON object schema.
    #[error(
        "tool {0:?}: the argument type must be a struct (its JSON Schema must have \"type\": \"object\")"
    )]
    NotAnObject(String),
    /// Two tools with one name.
    #[error("tool {0:?} is registered twice")]
    Duplicate(String),
}

/// The `inputSchema` of `A`: JSON Schema 2020-12 from `schemars`.
fn input_schema<A: JsonSchema>() -> Option<JsonObject> {
    let schema = schemars::schema_for!(A);
    match serde_json::to_value(schema) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

impl ToolEntry {
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
        let schema =
            input_schema::<A>().ok_or_else(|| ToolDefinitionError::NotAnObject(name.to_owned()))?;
        let mut tool = Tool::new(name, schema)
            .ok_or_else(|| ToolDefinitionError::NotAnObject(name.to_owned()))?;
        if !description.is_empty() {
            tool.description = Some(description.to_owned());
        }
        let handler = Arc::new(handler);
        let handler: Handler = Arc::new(move |context, arguments| {
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
                        future
                            .await
                            .unwrap_or_else(|error| CallToolResult::error(error.0))
                    })
                }
            }
        });
        Ok(Self { tool, handler })
    }
}
