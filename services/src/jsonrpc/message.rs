//! Message types, strict parsing and serialization.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::error::ErrorObject;

/// A request id: a string or an integer (MCP forbids `null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        RequestId::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId::String(s.to_owned())
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestId::Number(n) => serializer.serialize_i64(*n),
            RequestId::String(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(RequestId::String(s)),
            Value::Number(n) => n.as_i64().map(RequestId::Number).ok_or_else(|| {
                serde::de::Error::custom("a request id must be a string or an integer")
            }),
            _ => Err(serde::de::Error::custom(
                "a request id must be a string or an integer",
            )),
        }
    }
}

/// A request: expects a response with the same id.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The id.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// The parameters: an object or an array, if any.
    pub params: Option<Value>,
}

/// A notification: no response.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The parameters: an object or an array, if any.
    pub params: Option<Value>,
}

/// A successful response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the request answered.
    pub id: RequestId,
    /// The result.
    pub result: Value,
}

/// An error response. The id is `None` when the request's id could not be
/// read (a parse error or an invalid request).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorResponse {
    /// The id of the request answered.
    pub id: Option<RequestId>,
    /// The error.
    pub error: ErrorObject,
}

/// Any JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A successful response.
    Response(Response),
    /// An error response.
    Error(ErrorResponse),
}

/// What one JSON text held.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A single message.
    Single(Message),
    /// A batch (JSON array); each entry parsed on its own, so one bad entry
    /// gets its own error response (JSON-RPC 2.0 §6).
    Batch(Vec<Result<Message, ErrorResponse>>),
}

impl ErrorResponse {
    /// An error response to `id`.
    pub fn new(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self { id, error }
    }
}

fn invalid(id: Option<RequestId>, message: &str) -> ErrorResponse {
    ErrorResponse::new(id, ErrorObject::invalid_request(message))
}

/// Parses one JSON text: a message or a batch.
///
/// Invalid JSON is -32700; a JSON value that is not a valid message, and an
/// empty batch, are -32600 (JSON-RPC 2.0 §5.1, §6).
pub fn parse(text: &[u8]) -> Result<Payload, ErrorResponse> {
    let value: Value = serde_json::from_slice(text).map_err(|e| {
        ErrorResponse::new(None, ErrorObject::parse_error(format!("invalid JSON: {e}")))
    })?;
    match value {
        Value::Array(items) if items.is_empty() => Err(invalid(None, "empty batch")),
        Value::Array(items) => Ok(Payload::Batch(
            items.into_iter().map(Message::from_value).collect(),
        )),
        value => Message::from_value(value).map(Payload::Single),
    }
}

impl Message {
    /// Validates one message given as a JSON value.
    pub fn from_value(value: Value) -> Result<Message, ErrorResponse> {
        let Value::Object(mut map) = value else {
            return Err(invalid(None, "a message must be a JSON object"));
        };
        let id = match map.remove("id") {
            None => None,
            Some(Value::String(s)) => Some(RequestId::String(s)),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(n) => Some(RequestId::Number(n)),
                None => return Err(invalid(None, "id must be a string or an integer")),
            },
            // A null id is only valid on an error response whose request id
            // could not be read.
            Some(Value::Null) if map.contains_key("error") && !map.contains_key("method") => None,
            Some(_) => return Err(invalid(None, "id must be a string or an integer")),
        };
        if map.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return Err(invalid(id, "jsonrpc must be \"2.0\""));
        }
        if let Some(method) = map.remove("method") {
            let Value::String(method) = method else {
                return Err(invalid(id, "method must be a string"));
            };
            if map.contains_key("result") || map.contains_key("error") {
                return Err(invalid(id, "a request cannot carry result or error"));
            }
            let params = match map.remove("params") {
                None => None,
                Some(p @ (Value::Object(_) | Value::Array(_))) => Some(p),
                Some(_) => return Err(invalid(id, "params must be an object or an array")),
            };
            return Ok(match id {
                Some(id) => Message::Request(Request { id, method, params }),
                None => Message::Notification(Notification { method, params }),
            });
        }
        match (map.remove("result"), map.remove("error")) {
            (Some(result), None) => match id {
                Some(id) => Ok(Message::Response(Response { id, result })),
                None => Err(invalid(None, "a response needs the id of its request")),
            },
            (None, Some(error)) => {
                let error = parse_error_object(error).ok_or_else(|| {
                    invalid(
                        id.clone(),
                        "error must be an object with an integer code and a string message",
                    )
                })?;
                Ok(Message::Error(ErrorResponse { id, error }))
            }
            (Some(_), Some(_)) => Err(invalid(id, "a response has result or error, not both")),
            (None, None) => Err(invalid(id, "not a request, notification or response")),
        }
    }

    /// The method, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            _ => None,
        }
    }

    /// The JSON text of the message.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: keys are strings, values JSON.
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn parse_error_object(value: Value) -> Option<ErrorObject> {
    let Value::Object(mut map) = value else {
        return None;
    };
    let code = map.get("code")?.as_i64()?;
    let Value::String(message) = map.remove("message")? else {
        return None;
    };
    Some(ErrorObject {
        code: super::ErrorCode(code),
        message,
        data: map.remove("data"),
    })
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("jsonrpc", "2.0")?;
        match self {
            Message::Request(r) => {
                map.serialize_entry("id", &r.id)?;
                map.serialize_entry("method", &r.method)?;
                if let Some(params) = &r.params {
                    map.serialize_entry("params", params)?;
                }
            }
            Message::Notification(n) => {
                map.serialize_entry("method", &n.method)?;
                if let Some(params) = &n.params {
                    map.serialize_entry("params", params)?;
                }
            }
            Message::Response(r) => {
                map.serialize_entry("id", &r.id)?;
                map.serialize_entry("result", &r.result)?;
            }
            Message::Error(e) => {
                map.serialize_entry("id", &e.id)?;
                map.serialize_entry("error", &e.error)?;
            }
        }
        map.end()
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Self {
        Message::Request(r)
    }
}

impl From<Notification> for Message {
    fn from(n: Notification) -> Self {
        Message::Notification(n)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Self {
        Message::Response(r)
    }
}

impl From<ErrorResponse> for Message {
    fn from(e: ErrorResponse) -> Self {
        Message::Error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::ErrorCode;
    use serde_json::json;

    fn single(text: &str) -> Result<Message, ErrorResponse> {
        match parse(text.as_bytes())? {
            Payload::Single(m) => Ok(m),
            Payload::Batch(_) => panic!("batch"),
        }
    }

    #[test]
    fn parses_each_kind() {
        let r = single(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
        assert_eq!(
            r,
            Message::Request(Request {
                id: 1.into(),
                method: "ping".into(),
                params: None
            })
        );
        let n = single(r#"{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}"#)
            .unwrap();
        assert_eq!(n.method(), Some("notifications/initialized"));
        let ok = single(r#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap();
        assert!(matches!(
            ok,
            Message::Response(Response {
                id: RequestId::String(_),
                ..
            })
        ));
        let err =
            single(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#).unwrap();
        assert!(matches!(
            err,
            Message::Error(ErrorResponse { id: None, .. })
        ));
    }

    #[test]
    fn refuses_invalid_messages_with_the_right_code() {
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"x""#,
                ErrorCode::PARSE_ERROR,
            ),
            ("[]", ErrorCode::INVALID_REQUEST),
            ("42", ErrorCode::INVALID_REQUEST),
            (r#"{"id":1,"method":"x"}"#, ErrorCode::INVALID_REQUEST),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"s"}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","result":1}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}"#,
                ErrorCode::INVALID_REQUEST,
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, ErrorCode::INVALID_REQUEST),
        ];
        for (text, code) in cases {
            let error = single(text).unwrap_err();
            assert_eq!(error.error.code, code, "{text}");
        }
        // The id is kept when it could be read.
        let error = single(r#"{"jsonrpc":"1.0","id":7,"method":"x"}"#).unwrap_err();
        assert_eq!(error.id, Some(RequestId::Number(7)));
    }

    #[test]
    fn batches_report_each_entry() {
        let Payload::Batch(items) =
            parse(br#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 5]"#).unwrap()
        else {
            panic!("not a batch")
        };
        assert!(items[0].is_ok());
        assert_eq!(
            items[1].as_ref().unwrap_err().error.code,
            ErrorCode::INVALID_REQUEST
        );
    }

    #[test]
    fn serializes_with_jsonrpc_member() {
        let m = Message::Error(ErrorResponse::new(None, ErrorObject::parse_error("bad")));
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}})
        );
        let r = Message::Request(Request {
            id: "x".into(),
            method: "tools/list".into(),
            params: Some(json!({})),
        });
        let again = single(&r.to_json()).unwrap();
        assert_eq!(again, r);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn requests_round_trip(id in proptest::num::i64::ANY, method in "[a-z/]{1,20}") {
            let r = Message::Request(Request { id: id.into(), method, params: None });
            proptest::prop_assert_eq!(single(&r.to_json()).unwrap(), r);
        }
    }
}
