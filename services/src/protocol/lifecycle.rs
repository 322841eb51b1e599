//! Implementation info, capabilities, `initialize` (legacy revisions) and
//! `server/discover` (2026-07-28).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::{CacheScope, JsonObject, RequestMeta, ResultMeta, ResultType};

/// The theme an icon is designed for (schema: `Icon.theme`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum IconTheme {
    /// For a light background.
    Light,
    /// For a dark background.
    Dark,
}

/// An icon for a user interface (schema: `Icon`, 2025-11-25 and later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Icon {
    /// An `http(s):` or `data:` URI of the image.
    pub src: String,
    /// MIME type override.
    #[serde(rename = "mimeType", skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Sizes such as `"48x48"` or `"any"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sizes: Option<Vec<String>>,
    /// The theme the icon is designed for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theme: Option<IconTheme>,
}

impl Icon {
    /// An icon at `src`.
    pub fn new(src: impl Into<String>) -> Self {
        Self {
            src: src.into(),
            mime_type: None,
            sizes: None,
            theme: None,
        }
    }
}

/// Describes an MCP client or server (schema: `Implementation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Implementation {
    /// Programmatic name.
    pub name: String,
    /// Display name (2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Version of the implementation.
    pub version: String,
    /// What the implementation does (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Website URL (2025-11-25 and later).
    #[serde(rename = "websiteUrl", skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// Icons (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
}

impl Implementation {
    /// An implementation with a name and a version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            title: None,
            version: version.into(),
            description: None,
            website_url: None,
            icons: None,
        }
    }
}

/// `ClientCapabilities.roots`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RootsCapability {
    /// Whether the client sends `notifications/roots/list_changed` (removed
    /// in 2026-07-28, where this object is empty).
    #[serde(rename = "listChanged", skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `ClientCapabilities.sampling`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SamplingCapability {
    /// Supports `includeContext` other than `"none"` (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<JsonObject>,
    /// Supports `tools` and `toolChoice` (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<JsonObject>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `ClientCapabilities.elicitation` (2025-06-18 and later). An empty object
/// means form mode only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElicitationCapability {
    /// Supports form mode (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<JsonObject>,
    /// Supports URL mode (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<JsonObject>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// What a client supports (schema: `ClientCapabilities`). Open: unknown
/// capabilities, such as the 2025-11-25 `tasks`, are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientCapabilities {
    /// Experimental, non-standard capabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experimental: Option<BTreeMap<String, JsonObject>>,
    /// Roots (deprecated in 2026-07-28).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roots: Option<RootsCapability>,
    /// Sampling (deprecated in 2026-07-28).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling: Option<SamplingCapability>,
    /// Elicitation (2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elicitation: Option<ElicitationCapability>,
    /// Extensions by identifier (2026-07-28).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<BTreeMap<String, JsonObject>>,
    /// Other capabilities.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `ServerCapabilities.prompts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PromptsCapability {
    /// Whether the server notifies prompt list changes.
    #[serde(rename = "listChanged", skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `ServerCapabilities.resources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourcesCapability {
    /// Whether the server supports resource update subscriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<bool>,
    /// Whether the server notifies resource list changes.
    #[serde(rename = "listChanged", skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `ServerCapabilities.tools`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolsCapability {
    /// Whether the server notifies tool list changes.
    #[serde(rename = "listChanged", skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// What a server supports (schema: `ServerCapabilities`). Open: unknown
/// capabilities, such as the 2025-11-25 `tasks`, are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServerCapabilities {
    /// Experimental, non-standard capabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experimental: Option<BTreeMap<String, JsonObject>>,
    /// Sends log messages (deprecated in 2026-07-28).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<JsonObject>,
    /// Offers argument completion (2025-03-26 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completions: Option<JsonObject>,
    /// Offers prompts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts: Option<PromptsCapability>,
    /// Offers resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    /// Offers tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<ToolsCapability>,
    /// Extensions by identifier (2026-07-28).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<BTreeMap<String, JsonObject>>,
    /// Other capabilities.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Params of `initialize` (schema: `InitializeRequestParams`; 2025-11-25 and
/// earlier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InitializeRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
    /// The latest version the client supports; a string, since it may be one
    /// the server does not know (see [`ProtocolVersion::negotiate`](super::ProtocolVersion::negotiate)).
    #[serde(rename = "protocolVersion")]
    pub protocol_version: String,
    /// The client's capabilities.
    pub capabilities: ClientCapabilities,
    /// The client software.
    #[serde(rename = "clientInfo")]
    pub client_info: Implementation,
}

impl InitializeRequestParams {
    /// Params for an `initialize` request.
    pub fn new(
        protocol_version: impl Into<String>,
        capabilities: ClientCapabilities,
        client_info: Implementation,
    ) -> Self {
        Self {
            meta: None,
            protocol_version: protocol_version.into(),
            capabilities,
            client_info,
        }
    }
}

/// Result of `initialize` (schema: `InitializeResult`; 2025-11-25 and earlier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InitializeResult {
    /// Result metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// `resultType` (not used by the revisions that have `initialize`).
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// The version the server chose.
    #[serde(rename = "protocolVersion")]
    pub protocol_version: String,
    /// The server's capabilities.
    pub capabilities: ServerCapabilities,
    /// The server software.
    #[serde(rename = "serverInfo")]
    pub server_info: Implementation,
    /// Guidance on using the server, e.g. for a system prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl InitializeResult {
    /// A result for the negotiated version.
    pub fn new(
        protocol_version: impl Into<String>,
        capabilities: ServerCapabilities,
        server_info: Implementation,
    ) -> Self {
        Self {
            meta: None,
            result_type: None,
            protocol_version: protocol_version.into(),
            capabilities,
            server_info,
            instructions: None,
            extra: JsonObject::new(),
        }
    }
}

/// Result of `server/discover` (schema: `DiscoverResult`; 2026-07-28).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DiscoverResult {
    /// Result metadata (`io.modelcontextprotocol/serverInfo`).
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// `resultType`.
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Versions the server supports.
    #[serde(rename = "supportedVersions")]
    pub supported_versions: Vec<String>,
    /// The server's capabilities.
    pub capabilities: ServerCapabilities,
    /// Guidance on using the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Cache freshness hint in milliseconds (required in 2026-07-28).
    #[serde(rename = "ttlMs", skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Who may cache the result (required in 2026-07-28).
    #[serde(rename = "cacheScope", skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<CacheScope>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl DiscoverResult {
    /// A complete result listing `supported_versions` and `capabilities`.
    pub fn new(supported_versions: Vec<String>, capabilities: ServerCapabilities) -> Self {
        Self {
            meta: None,
            result_type: Some(ResultType::Complete),
            supported_versions,
            capabilities,
            instructions: None,
            ttl_ms: None,
            cache_scope: None,
            extra: JsonObject::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn legacy_initialize_round_trips() {
        let req = json!({
            "protocolVersion": "2024-11-05",
            "capabilities": {"roots": {"listChanged": true}, "sampling": {}},
            "clientInfo": {"name": "ExampleClient", "version": "1.0.0"}
        });
        let p: InitializeRequestParams = serde_json::from_value(req.clone()).unwrap();
        assert_eq!(
            p.capabilities.roots.as_ref().unwrap().list_changed,
            Some(true)
        );
        assert_eq!(serde_json::to_value(&p).unwrap(), req);

        let res = json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {
                "logging": {},
                "tools": {"listChanged": true},
                "tasks": {"list": {}, "requests": {"tools": {"call": {}}}}
            },
            "serverInfo": {"name": "s", "title": "S", "version": "2", "websiteUrl": "https://s.example",
                           "icons": [{"src": "https://s.example/i.png", "theme": "dark"}]},
            "instructions": "Use tools."
        });
        let r: InitializeResult = serde_json::from_value(res.clone()).unwrap();
        assert!(r.capabilities.extra.contains_key("tasks"));
        assert_eq!(
            r.server_info.icons.as_ref().unwrap()[0].theme,
            Some(IconTheme::Dark)
        );
        assert_eq!(serde_json::to_value(&r).unwrap(), res);
    }

    #[test]
    fn missing_required_members_are_errors() {
        assert!(
            serde_json::from_value::<InitializeRequestParams>(
                json!({"protocolVersion": "2025-06-18", "capabilities": {}})
            )
            .is_err()
        );
        assert!(serde_json::from_value::<Implementation>(json!({"name": "n"})).is_err());
        assert!(serde_json::from_value::<Icon>(json!({"src": "a", "theme": "blue"})).is_err());
    }
}
