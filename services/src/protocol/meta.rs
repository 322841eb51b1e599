//! `_meta`, progress tokens, and the common request, notification and result
//! shapes (schema: `MetaObject`, `RequestMetaObject`, `RequestParams`,
//! `NotificationParams`, `Result`, `EmptyResult`, `CacheableResult`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::lifecycle::{ClientCapabilities, Implementation};
use super::logging::LoggingLevel;
use crate::jsonrpc::RequestId;

/// A JSON object (`{ [key: string]: unknown }` in the schema).
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// A plain `_meta` object on a tool, resource, content block and the like
/// (schema: `MetaObject`). Key naming rules are in the schema's `MetaObject` docs.
pub type Meta = JsonObject;

/// A progress token: a string or an integer (schema: `ProgressToken`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ProgressToken {
    /// A string token.
    String(String),
    /// An integer token.
    Integer(i64),
}

impl fmt::Display for ProgressToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgressToken::String(s) => write!(f, "{s:?}"),
            ProgressToken::Integer(n) => write!(f, "{n}"),
        }
    }
}

impl From<&str> for ProgressToken {
    fn from(s: &str) -> Self {
        ProgressToken::String(s.to_owned())
    }
}

impl From<String> for ProgressToken {
    fn from(s: String) -> Self {
        ProgressToken::String(s)
    }
}

impl From<i64> for ProgressToken {
    fn from(n: i64) -> Self {
        ProgressToken::Integer(n)
    }
}

/// `_meta` on request params (schema: `RequestMetaObject`; `RequestParams._meta`
/// in the legacy revisions).
///
/// The `io.modelcontextprotocol/*` keys were added in 2026-07-28, where
/// `protocolVersion` and `clientCapabilities` are required on every request;
/// they are optional here so legacy requests parse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestMeta {
    /// Asks for `notifications/progress` carrying this token.
    #[serde(rename = "progressToken", skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    /// The request's protocol version (2026-07-28; required there). Kept as a
    /// string so an unsupported version can be reported back.
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        skip_serializing_if = "Option::is_none"
    )]
    pub protocol_version: Option<String>,
    /// The client software making the request (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/clientInfo",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_info: Option<Implementation>,
    /// The client's capabilities for this request (2026-07-28; required there).
    #[serde(
        rename = "io.modelcontextprotocol/clientCapabilities",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_capabilities: Option<ClientCapabilities>,
    /// The log level the client wants for this request (2026-07-28,
    /// deprecated there); absent means no `notifications/message`.
    #[serde(
        rename = "io.modelcontextprotocol/logLevel",
        skip_serializing_if = "Option::is_none"
    )]
    pub log_level: Option<LoggingLevel>,
    /// Any other keys.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl RequestMeta {
    /// The `_meta` a 2026-07-28 request needs: its version and capabilities.
    pub fn modern(protocol_version: &str, client_capabilities: ClientCapabilities) -> Self {
        Self {
            protocol_version: Some(protocol_version.to_owned()),
            client_capabilities: Some(client_capabilities),
            ..Self::default()
        }
    }

    /// A `_meta` carrying only a progress token.
    pub fn with_progress_token(token: impl Into<ProgressToken>) -> Self {
        Self {
            progress_token: Some(token.into()),
            ..Self::default()
        }
    }
}

/// `_meta` on notification params (schema: `NotificationMetaObject`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationMeta {
    /// The id of the `subscriptions/listen` request whose stream delivered
    /// this notification (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/subscriptionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription_id: Option<RequestId>,
    /// Any other keys.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// `_meta` on results (schema: `ResultMetaObject`,
/// `SubscriptionsListenResultMetaObject`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResultMeta {
    /// The server software producing the response (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/serverInfo",
        skip_serializing_if = "Option::is_none"
    )]
    pub server_info: Option<Implementation>,
    /// On a `subscriptions/listen` result: the id of the subscription it
    /// closes (2026-07-28).
    #[serde(
        rename = "io.modelcontextprotocol/subscriptionId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subscription_id: Option<RequestId>,
    /// Any other keys.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Params of a request that has only `_meta` (schema: `RequestParams`), such
/// as `ping`, `roots/list` or `server/discover`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
}

impl RequestParams {
    /// Params with the given `_meta`.
    pub fn with_meta(meta: RequestMeta) -> Self {
        Self { meta: Some(meta) }
    }
}

/// Params of a notification that has only `_meta` (schema:
/// `NotificationParams`), such as the `list_changed` notifications and
/// `notifications/initialized`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NotificationParams {
    /// Notification metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<NotificationMeta>,
}

/// How to read a result (schema: `ResultType`, 2026-07-28): an open string
/// set. A result without it, from an older server, counts as `complete`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ResultType {
    /// `"complete"`: the final result.
    #[default]
    Complete,
    /// `"input_required"`: an `InputRequiredResult`.
    InputRequired,
    /// Any other value.
    Other(String),
}

impl ResultType {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            ResultType::Complete => "complete",
            ResultType::InputRequired => "input_required",
            ResultType::Other(s) => s,
        }
    }
}

impl Serialize for ResultType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResultType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(match s.as_str() {
            "complete" => ResultType::Complete,
            "input_required" => ResultType::InputRequired,
            _ => ResultType::Other(s),
        })
    }
}

/// Who may cache a cacheable result (schema: `CacheableResult.cacheScope`,
/// 2026-07-28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CacheScope {
    /// No user-specific data; shared caches may serve it to anyone.
    Public,
    /// Cache only within the same authorization context.
    Private,
}

/// A result with no data (schema: `EmptyResult`), e.g. for `ping`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmptyResult {
    /// Result metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// `resultType` (2026-07-28; required there).
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Other members (results are open objects).
    #[serde(flatten)]
    pub extra: JsonObject,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn modern_request_meta_is_typed() {
        let v = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "c", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
            "io.modelcontextprotocol/logLevel": "warning",
            "progressToken": 5,
            "com.example/trace": "x"
        });
        let m: RequestMeta = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(m.protocol_version.as_deref(), Some("2026-07-28"));
        assert_eq!(m.client_info.as_ref().unwrap().name, "c");
        assert!(
            m.client_capabilities
                .as_ref()
                .unwrap()
                .elicitation
                .is_some()
        );
        assert_eq!(m.log_level, Some(LoggingLevel::Warning));
        assert_eq!(m.progress_token, Some(ProgressToken::Integer(5)));
        assert_eq!(m.extra.get("com.example/trace"), Some(&json!("x")));
        assert_eq!(serde_json::to_value(&m).unwrap(), v);
        assert!(
            serde_json::from_value::<RequestMeta>(
                json!({"io.modelcontextprotocol/logLevel": "loud"})
            )
            .is_err()
        );
    }

    #[test]
    fn result_type_is_open() {
        let r: EmptyResult = serde_json::from_value(json!({"resultType": "later"})).unwrap();
        assert_eq!(r.result_type, Some(ResultType::Other("later".into())));
        let r: EmptyResult = serde_json::from_value(json!({})).unwrap();
        assert_eq!(r.result_type.unwrap_or_default(), ResultType::Complete);
    }
}
