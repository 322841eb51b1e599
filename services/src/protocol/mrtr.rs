//! Multi round-trip requests (2026-07-28, `basic/patterns/mrtr`): a server
//! that needs input answers with an [`InputRequiredResult`] holding
//! [`InputRequests`]; the client retries the original request with
//! `inputResponses` and the echoed `requestState`.

use std::collections::BTreeMap;

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::client_features::{
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    ListRootsResult,
};
use super::meta::{JsonObject, RequestParams, ResultMeta, ResultType};
use super::methods;

/// A request the server needs the client to fulfil (schema: `InputRequest`):
/// `{ method, params }` without a JSON-RPC envelope. Unknown methods are an
/// error.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InputRequest {
    /// `sampling/createMessage`.
    CreateMessage(CreateMessageRequestParams),
    /// `roots/list`; its params are optional.
    ListRoots(Option<RequestParams>),
    /// `elicitation/create`.
    Elicit(ElicitRequestParams),
}

impl InputRequest {
    /// The method name.
    pub fn method(&self) -> &'static str {
        match self {
            InputRequest::CreateMessage(_) => methods::SAMPLING_CREATE_MESSAGE,
            InputRequest::ListRoots(_) => methods::ROOTS_LIST,
            InputRequest::Elicit(_) => methods::ELICITATION_CREATE,
        }
    }
}

impl Serialize for InputRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("method", self.method())?;
        match self {
            InputRequest::CreateMessage(p) => map.serialize_entry("params", p)?,
            InputRequest::ListRoots(Some(p)) => map.serialize_entry("params", p)?,
            InputRequest::ListRoots(None) => {}
            InputRequest::Elicit(p) => map.serialize_entry("params", p)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for InputRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;

        #[derive(Deserialize)]
        struct Wire {
            method: String,
            params: Option<serde_json::Value>,
        }

        let Wire { method, params } = Wire::deserialize(deserializer)?;
        let need = |params: Option<serde_json::Value>| {
            params.ok_or_else(|| D::Error::custom(format!("{method} needs params")))
        };
        match method.as_str() {
            methods::SAMPLING_CREATE_MESSAGE => serde_json::from_value(need(params)?)
                .map(InputRequest::CreateMessage),
            methods::ELICITATION_CREATE => {
                serde_json::from_value(need(params)?).map(InputRequest::Elicit)
            }
            methods::ROOTS_LIST => params
                .map(serde_json::from_value)
                .transpose()
                .map(InputRequest::ListRoots),
            other => {
                return Err(D::Error::custom(format!(
                    "unknown input request method {other:?}; expected sampling/createMessage, roots/list or elicitation/create"
                )));
            }
        }
        .map_err(D::Error::custom)
    }
}

/// The client's answer to an [`InputRequest`] (schema: `InputResponse`),
/// told apart by `action` (elicitation), `roots` (roots) or otherwise
/// sampling.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InputResponse {
    /// Answer to `sampling/createMessage`.
    CreateMessage(CreateMessageResult),
    /// Answer to `roots/list`.
    ListRoots(ListRootsResult),
    /// Answer to `elicitation/create`.
    Elicit(ElicitResult),
}

impl Serialize for InputResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            InputResponse::CreateMessage(r) => r.serialize(serializer),
            InputResponse::ListRoots(r) => r.serialize(serializer),
            InputResponse::Elicit(r) => r.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for InputResponse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.get("action").is_some() {
            serde_json::from_value(value).map(InputResponse::Elicit)
        } else if value.get("roots").is_some() {
            serde_json::from_value(value).map(InputResponse::ListRoots)
        } else {
            serde_json::from_value(value).map(InputResponse::CreateMessage)
        }
        .map_err(D::Error::custom)
    }
}

/// Server-assigned key → request (schema: `InputRequests`).
pub type InputRequests = BTreeMap<String, InputRequest>;

/// Key of an [`InputRequests`] entry → the client's answer (schema: `InputResponses`).
pub type InputResponses = BTreeMap<String, InputResponse>;

/// An interim result asking for more input (schema: `InputRequiredResult`,
/// `"resultType": "input_required"`). At least one of `inputRequests` and
/// `requestState` must be present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputRequiredResult {
    /// Result metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// `resultType`: `input_required`.
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Requests the client must fulfil before retrying.
    #[serde(rename = "inputRequests", skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<InputRequests>,
    /// Opaque state to echo back on the retry.
    #[serde(rename = "requestState", skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl InputRequiredResult {
    /// An `input_required` result with the given requests and state.
    pub fn new(input_requests: Option<InputRequests>, request_state: Option<String>) -> Self {
        Self {
            meta: None,
            result_type: Some(ResultType::InputRequired),
            input_requests,
            request_state,
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
    fn unknown_input_request_method_is_an_error() {
        assert!(
            serde_json::from_value::<InputRequest>(json!({"method": "tools/call", "params": {}}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<InputRequest>(json!({"method": "elicitation/create"}))
                .is_err()
        );
        let roots: InputRequest = serde_json::from_value(json!({"method": "roots/list"})).unwrap();
        assert_eq!(roots, InputRequest::ListRoots(None));
    }
}
