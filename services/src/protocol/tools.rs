//! Tools: `tools/list` and `tools/call`.

use serde::{Deserialize, Deserializer, Serialize};

use super::content::ContentBlock;
use super::lifecycle::Icon;
use super::meta::{JsonObject, Meta, RequestMeta, ResultMeta, ResultType};
use super::mrtr::InputResponses;

/// Hints describing a tool (schema: `ToolAnnotations`; 2025-03-26 and later).
/// Hints only: never trust them from an untrusted server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolAnnotations {
    /// Display title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Does not modify its environment (default false).
    #[serde(rename = "readOnlyHint", skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    /// May perform destructive updates (default true).
    #[serde(rename = "destructiveHint", skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    /// Repeating a call with the same arguments has no further effect (default false).
    #[serde(rename = "idempotentHint", skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    /// Interacts with an open world of external entities (default true).
    #[serde(rename = "openWorldHint", skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

/// Whether a tool may run as a task (schema: `ToolExecution.taskSupport`;
/// 2025-11-25 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TaskSupport {
    /// Never as a task.
    Forbidden,
    /// Either way.
    Optional,
    /// Only as a task.
    Required,
}

/// Execution properties of a tool (schema: `ToolExecution`; 2025-11-25 only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolExecution {
    /// Task support.
    #[serde(rename = "taskSupport", skip_serializing_if = "Option::is_none")]
    pub task_support: Option<TaskSupport>,
}

/// A tool the client can call (schema: `Tool`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tool {
    /// Programmatic name.
    pub name: String,
    /// Display name (2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the tool does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments; its root `type` must be `"object"`.
    #[serde(rename = "inputSchema", deserialize_with = "object_schema")]
    pub input_schema: JsonObject,
    /// JSON Schema of `structuredContent` (2025-06-18 and later; any JSON
    /// Schema from 2026-07-28, an object schema before).
    #[serde(rename = "outputSchema", skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<JsonObject>,
    /// Hints (2025-03-26 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<ToolAnnotations>,
    /// Execution properties (2025-11-25 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution: Option<ToolExecution>,
    /// Icons (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
    /// Metadata (2025-06-18 and later).
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl Tool {
    /// A tool with a name and an input schema. Returns `None` if the schema's
    /// root `type` is not `"object"`.
    pub fn new(name: impl Into<String>, input_schema: JsonObject) -> Option<Self> {
        if input_schema.get("type").and_then(serde_json::Value::as_str) != Some("object") {
            return None;
        }
        Some(Self {
            name: name.into(),
            title: None,
            description: None,
            input_schema,
            output_schema: None,
            annotations: None,
            execution: None,
            icons: None,
            meta: None,
        })
    }

    /// A tool that takes no arguments (`{"type": "object"}`).
    pub fn without_arguments(name: impl Into<String>) -> Self {
        let mut schema = JsonObject::new();
        schema.insert("type".to_owned(), "object".into());
        Self {
            name: name.into(),
            title: None,
            description: None,
            input_schema: schema,
            output_schema: None,
            annotations: None,
            execution: None,
            icons: None,
            meta: None,
        }
    }
}

fn object_schema<'de, D: Deserializer<'de>>(d: D) -> Result<JsonObject, D::Error> {
    let schema = JsonObject::deserialize(d)?;
    match schema.get("type").and_then(serde_json::Value::as_str) {
        Some("object") => Ok(schema),
        _ => Err(serde::de::Error::custom(
            "inputSchema must be a JSON Schema with \"type\": \"object\" at its root",
        )),
    }
}

paginated_result! {
    /// Result of `tools/list` (schema: `ListToolsResult`).
    ListToolsResult { tools: Tool = "tools" }
}

/// Params of `tools/call` (schema: `CallToolRequestParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallToolRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
    /// Name of the tool.
    pub name: String,
    /// Arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<JsonObject>,
    /// Answers to the server's input requests (2026-07-28).
    #[serde(rename = "inputResponses", skip_serializing_if = "Option::is_none")]
    pub input_responses: Option<InputResponses>,
    /// Opaque state echoed back to the server (2026-07-28).
    #[serde(rename = "requestState", skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
}

impl CallToolRequestParams {
    /// Params calling `name` without arguments.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            meta: None,
            name: name.into(),
            arguments: None,
            input_responses: None,
            request_state: None,
        }
    }
}

/// Result of `tools/call` (schema: `CallToolResult`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallToolResult {
    /// Result metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// `resultType` (2026-07-28).
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Unstructured result.
    pub content: Vec<ContentBlock>,
    /// Structured result, matching the tool's `outputSchema` (2025-06-18 and
    /// later; any JSON value from 2026-07-28, an object before).
    #[serde(rename = "structuredContent", skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<serde_json::Value>,
    /// Whether the tool call failed (default false).
    #[serde(rename = "isError", skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl CallToolResult {
    /// A successful result with the given content.
    pub fn new(content: Vec<ContentBlock>) -> Self {
        Self {
            content,
            ..Self::default()
        }
    }

    /// A successful result holding one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(vec![ContentBlock::text(text)])
    }

    /// A tool error (`isError: true`) with a text explanation the model can read.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            is_error: Some(true),
            ..Self::text(text)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn input_schema_must_be_an_object_schema() {
        let bad = json!({"name": "t", "inputSchema": {"type": "array"}});
        assert!(serde_json::from_value::<Tool>(bad).is_err());
        let missing = json!({"name": "t", "inputSchema": {}});
        assert!(serde_json::from_value::<Tool>(missing).is_err());
        assert!(Tool::new("t", JsonObject::new()).is_none());
        let ok = serde_json::to_value(Tool::without_arguments("t")).unwrap();
        assert_eq!(ok, json!({"name": "t", "inputSchema": {"type": "object"}}));
    }

    #[test]
    fn call_tool_result_helpers() {
        let v = serde_json::to_value(CallToolResult::error("boom")).unwrap();
        assert_eq!(
            v,
            json!({"content": [{"type": "text", "text": "boom"}], "isError": true})
        );
    }

    #[test]
    fn unknown_result_members_survive() {
        let v = json!({"content": [], "x-vendor": {"a": 1}});
        let r: CallToolResult = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(r.extra.get("x-vendor"), Some(&json!({"a": 1})));
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }
}
