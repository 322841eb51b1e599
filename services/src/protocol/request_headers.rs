//! The request metadata revision 2026-07-28 mirrors from the JSON-RPC body
//! into HTTP headers on Streamable HTTP ("Request Metadata"): `Mcp-Method`,
//! `Mcp-Name`, and `Mcp-Param-{Name}` for tool parameters whose schema
//! carries `x-mcp-header`; the value encoding (plain, or the
//! `=?base64?...?=` sentinel) and the rules an `x-mcp-header` annotation
//! must follow. The client transport uses this to build the headers, the
//! server to check them against the body (`HeaderMismatch`, -32020).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName};
use serde_json::Value;

use super::methods;

/// `Mcp-Method`: the request's `method`.
pub const MCP_METHOD: &str = "mcp-method";
/// `Mcp-Name`: `params.name` or `params.uri` (see [`name_source`]).
pub const MCP_NAME: &str = "mcp-name";
/// The prefix of the `Mcp-Param-{Name}` headers.
pub const MCP_PARAM_PREFIX: &str = "mcp-param-";

const SENTINEL_START: &str = "=?base64?";
const SENTINEL_END: &str = "?=";

/// The protocol version a request's params carry in `_meta` (2026-07-28's
/// per-request version), if any.
pub fn meta_version(params: Option<&Value>) -> Option<&str> {
    params?
        .get("_meta")?
        .get("io.modelcontextprotocol/protocolVersion")?
        .as_str()
}

/// What `Mcp-Name` mirrors: `params.name` of `tools/call` and `prompts/get`,
/// `params.uri` of `resources/read`; `None` for other methods.
pub fn name_source<'a>(method: &str, params: Option<&'a Value>) -> Option<&'a Value> {
    let key = match method {
        methods::TOOLS_CALL | methods::PROMPTS_GET => "name",
        methods::RESOURCES_READ => "uri",
        _ => return None,
    };
    Some(params.and_then(|p| p.get(key)).unwrap_or(&Value::Null))
}

/// Whether a header value is all visible ASCII, space or tab (RFC 9110
/// §5.5, as the specification restricts it).
fn is_plain_header_text(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || (0x21..=0x7E).contains(&b))
}

/// A value as a header value ("Value Encoding"): as is when it is
/// non-empty visible ASCII without leading or trailing white space and
/// does not look like the sentinel; otherwise Base64 in the sentinel.
pub fn encode_value(value: &str) -> String {
    let sentinel = value.starts_with(SENTINEL_START) && value.ends_with(SENTINEL_END);
    let padded = value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']);
    if !value.is_empty() && is_plain_header_text(value.as_bytes()) && !padded && !sentinel {
        value.to_owned()
    } else {
        format!("{SENTINEL_START}{}{SENTINEL_END}", STANDARD.encode(value))
    }
}

/// A header value decoded ("Value Encoding"): the sentinel's Base64 as
/// UTF-8, or the value itself. `None` for characters a header value may
/// not carry, bad Base64, or bytes that are not UTF-8.
pub fn decode_value(header: &[u8]) -> Option<String> {
    if !is_plain_header_text(header) {
        return None;
    }
    let text = std::str::from_utf8(header).ok()?;
    match text
        .strip_prefix(SENTINEL_START)
        .and_then(|rest| rest.strip_suffix(SENTINEL_END))
    {
        Some(encoded) => String::from_utf8(STANDARD.decode(encoded).ok()?).ok(),
        None => Some(text.to_owned()),
    }
}

/// Why a tool's `x-mcp-header` annotations are invalid (the tool must then
/// be left out of `tools/list` by clients on Streamable HTTP).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderParamError {
    /// The value is not a non-empty HTTP field-name token.
    #[error("x-mcp-header {0:?} is not a non-empty HTTP token")]
    NotAToken(String),
    /// Two annotations name the same header (compared case-insensitively).
    #[error("x-mcp-header {0:?} is used twice")]
    Duplicate(String),
    /// The annotated property is not a string, integer or boolean.
    #[error("x-mcp-header {0:?} is on a property that is not of type string, integer or boolean")]
    NotPrimitive(String),
    /// The annotation is not on a property reached through `properties`
    /// keys alone from the schema root.
    #[error("an x-mcp-header annotation is not on a property reached through `properties` alone")]
    Unreachable,
}

/// The primitive types a mirrored parameter may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Boolean,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HeaderParam {
    /// The `x-mcp-header` value: the header is `Mcp-Param-{name}`.
    name: String,
    /// The chain of `properties` keys to the parameter.
    path: Vec<String>,
    kind: Kind,
}

/// The parameters of one tool that are mirrored into `Mcp-Param-{Name}`
/// headers, read from its `inputSchema`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderParams {
    params: Vec<HeaderParam>,
}

/// Schema keywords whose value is one subschema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "items",
    "additionalItems",
    "additionalProperties",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
];
/// Schema keywords whose value is an array of subschemas.
const SCHEMA_ARRAY_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Schema keywords whose value maps names to subschemas (other than
/// `properties`).
const SCHEMA_MAP_KEYWORDS: &[&str] = &[
    "$defs",
    "definitions",
    "patternProperties",
    "dependentSchemas",
];

impl HeaderParams {
    /// Reads and checks the annotations of `input_schema` ("Schema
    /// Extension"). A schema without annotations gives an empty set.
    pub fn from_input_schema(input_schema: &Value) -> Result<Self, HeaderParamError> {
        let mut params = Self::default();
        params.walk(input_schema, Some(&mut Vec::new()))?;
        Ok(params)
    }

    /// Whether no parameter is mirrored.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Walks a (sub)schema; `path` is the chain of `properties` keys that
    /// reached it, or `None` when something else did.
    fn walk(
        &mut self,
        schema: &Value,
        path: Option<&mut Vec<String>>,
    ) -> Result<(), HeaderParamError> {
        let Value::Object(schema) = schema else {
            return Ok(());
        };
        if let Some(name) = schema.get("x-mcp-header") {
            // The root itself is not a property.
            let Some(path) = path.as_deref().filter(|p| !p.is_empty()) else {
                return Err(HeaderParamError::Unreachable);
            };
            self.add(name, schema.get("type"), path.clone())?;
        }
        let mut path = path;
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (key, sub) in properties {
                match path.as_deref_mut() {
                    Some(path) => {
                        path.push(key.clone());
                        let walked = self.walk(sub, Some(path));
                        path.pop();
                        walked?;
                    }
                    None => self.walk(sub, None)?,
                }
            }
        }
        for keyword in SCHEMA_KEYWORDS {
            if let Some(sub) = schema.get(*keyword) {
                self.walk(sub, None)?;
            }
        }
        for keyword in SCHEMA_ARRAY_KEYWORDS {
            if let Some(Value::Array(subs)) = schema.get(*keyword) {
                for sub in subs {
                    self.walk(sub, None)?;
                }
            }
        }
        for keyword in SCHEMA_MAP_KEYWORDS {
            if let Some(Value::Object(subs)) = schema.get(*keyword) {
                for sub in subs.values() {
                    self.walk(sub, None)?;
                }
            }
        }
        Ok(())
    }

    fn add(
        &mut self,
        name: &Value,
        kind: Option<&Value>,
        path: Vec<String>,
    ) -> Result<(), HeaderParamError> {
        let Some(name) = name.as_str().filter(|n| is_token(n)) else {
            return Err(HeaderParamError::NotAToken(name.to_string()));
        };
        if self
            .params
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
        {
            return Err(HeaderParamError::Duplicate(name.to_owned()));
        }
        let kind = match kind.and_then(Value::as_str) {
            Some("string") => Kind::String,
            Some("integer") => Kind::Integer,
            Some("boolean") => Kind::Boolean,
            _ => return Err(HeaderParamError::NotPrimitive(name.to_owned())),
        };
        self.params.push(HeaderParam {
            name: name.to_owned(),
            path,
            kind,
        });
        Ok(())
    }

    /// The headers a client sends with `tools/call` `arguments`: name
    /// (`Mcp-Param-{Name}`) and encoded value, for every mirrored parameter
    /// with a non-null value of its type ("Client Behavior").
    pub fn headers(&self, arguments: Option<&Value>) -> Vec<(String, String)> {
        self.params
            .iter()
            .filter_map(|param| {
                let text = param.text(arguments)?;
                Some((format!("Mcp-Param-{}", param.name), encode_value(&text)))
            })
            .collect()
    }

    /// The server's check ("Server Validation"): every mirrored parameter
    /// with a value in `arguments` has its header, and the decoded header
    /// equals the value (integers compared as numbers); a parameter without
    /// a value has no header. `header(name)` gives the raw value of
    /// `Mcp-Param-{name}` (looked up case-insensitively). The error says
    /// what was wrong, for the `HeaderMismatch` message.
    pub fn check<'h>(
        &self,
        arguments: Option<&Value>,
        header: impl Fn(&str) -> Option<&'h [u8]>,
    ) -> Result<(), String> {
        for param in &self.params {
            let value = param.value(arguments);
            let Some(raw) = header(&param.name) else {
                if value.is_some() {
                    return Err(format!("the Mcp-Param-{} header is missing", param.name));
                }
                continue;
            };
            let decoded = decode_value(raw).ok_or_else(|| {
                format!("the Mcp-Param-{} header is not a valid value", param.name)
            })?;
            let Some(value) = value else {
                return Err(format!(
                    "the Mcp-Param-{} header has no value in the arguments",
                    param.name
                ));
            };
            if !param.matches(value, &decoded) {
                return Err(format!(
                    "the Mcp-Param-{} header does not match the arguments",
                    param.name
                ));
            }
        }
        Ok(())
    }
}

impl HeaderParam {
    /// The argument at this parameter's path, unless absent or null.
    fn value<'a>(&self, arguments: Option<&'a Value>) -> Option<&'a Value> {
        let mut value = arguments?;
        for key in &self.path {
            value = value.get(key)?;
        }
        (!value.is_null()).then_some(value)
    }

    /// The argument as header text ("Type conversion"), if it has this
    /// parameter's type.
    fn text(&self, arguments: Option<&Value>) -> Option<String> {
        match (self.kind, self.value(arguments)?) {
            (Kind::String, Value::String(s)) => Some(s.clone()),
            (Kind::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            (Kind::Boolean, Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Whether the decoded header `text` stands for `value`.
    #[allow(
        clippy::float_cmp,
        reason = "integers compared as numbers: `42.0` is exactly 42"
    )]
    fn matches(&self, value: &Value, text: &str) -> bool {
        match (self.kind, value) {
            (Kind::String, Value::String(s)) => s == text,
            (Kind::Boolean, Value::Bool(b)) => text == if *b { "true" } else { "false" },
            // Numerically: `42.0` stands for 42 (the specification's note).
            (Kind::Integer, Value::Number(n)) => match (n.as_f64(), text.trim().parse::<f64>()) {
                (Some(body), Ok(header)) => body == header,
                _ => false,
            },
            // A value of another type than the schema says: the tool's own
            // argument checks refuse it; here it can only mismatch.
            _ => false,
        }
    }
}

/// The `Mcp-Param-*` headers of an HTTP request: the Streamable HTTP server
/// puts them in the extensions of a modern request so that the MCP server
/// can check them against the arguments of `tools/call` (it knows the
/// tools' schemas; the transport does not).
#[derive(Debug, Clone, Default)]
pub struct ParamHeaders(HeaderMap);

impl ParamHeaders {
    /// The `Mcp-Param-*` headers among `headers`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut params = HeaderMap::new();
        for (name, value) in headers {
            if name.as_str().starts_with(MCP_PARAM_PREFIX) {
                params.append(name.clone(), value.clone());
            }
        }
        Self(params)
    }

    /// The raw value of `Mcp-Param-{name}` (names compare
    /// case-insensitively); `None` when absent or not a valid header name.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let name = HeaderName::from_bytes(format!("{MCP_PARAM_PREFIX}{name}").as_bytes()).ok()?;
        self.0.get(name).map(http::HeaderValue::as_bytes)
    }
}

/// RFC 9110 §5.6.2 `token = 1*tchar`.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn the_specifications_encoding_examples() {
        for (value, header) in [
            ("us-west1", "us-west1"),
            ("Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            (" padded ", "=?base64?IHBhZGRlZCA=?="),
            ("line1\nline2", "=?base64?bGluZTEKbGluZTI=?="),
            ("=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="),
        ] {
            assert_eq!(encode_value(value), header);
            assert_eq!(decode_value(header.as_bytes()).as_deref(), Some(value));
        }
        assert_eq!(encode_value(""), "=?base64??=");
        assert_eq!(decode_value(b"=?base64??=").as_deref(), Some(""));
        // Not header text, not Base64, not UTF-8.
        assert_eq!(decode_value(b"a\nb"), None);
        assert_eq!(decode_value("caf\u{e9}".as_bytes()), None);
        assert_eq!(decode_value(b"=?base64?not base64!?="), None);
        assert_eq!(decode_value(b"=?base64?/w==?="), None);
    }

    fn spanner() -> Value {
        json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "query": {"type": "string"},
                "limits": {"type": "object", "properties": {
                    "rows": {"type": "integer", "x-mcp-header": "Rows"},
                    "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"}
                }}
            },
            "required": ["region", "query"]
        })
    }

    #[test]
    fn headers_from_annotated_arguments() {
        let params = HeaderParams::from_input_schema(&spanner()).unwrap();
        assert!(!params.is_empty());
        let arguments = json!({"region": "us-west1", "query": "SELECT 1", "limits": {"rows": 42, "dry": false}});
        let mut headers = params.headers(Some(&arguments));
        headers.sort();
        assert_eq!(
            headers,
            [
                ("Mcp-Param-Dry-Run".to_owned(), "false".to_owned()),
                ("Mcp-Param-Region".to_owned(), "us-west1".to_owned()),
                ("Mcp-Param-Rows".to_owned(), "42".to_owned()),
            ]
        );
        // Null or absent values: no header.
        let arguments = json!({"region": null, "query": "q"});
        assert!(params.headers(Some(&arguments)).is_empty());
        assert!(params.headers(None).is_empty());
        assert!(
            HeaderParams::from_input_schema(&json!({"type": "object"}))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn invalid_annotations_are_refused() {
        let cases = [
            // Not a token; empty.
            (
                json!({"properties": {"a": {"type": "string", "x-mcp-header": "Re gion"}}}),
                "token",
            ),
            (
                json!({"properties": {"a": {"type": "string", "x-mcp-header": ""}}}),
                "token",
            ),
            (
                json!({"properties": {"a": {"type": "string", "x-mcp-header": 5}}}),
                "token",
            ),
            // Twice, case-insensitively.
            (
                json!({"properties": {
                    "a": {"type": "string", "x-mcp-header": "Region"},
                    "b": {"type": "string", "x-mcp-header": "region"}
                }}),
                "twice",
            ),
            // Not a primitive (number is not allowed either).
            (
                json!({"properties": {"a": {"type": "number", "x-mcp-header": "A"}}}),
                "type",
            ),
            (
                json!({"properties": {"a": {"type": "object", "x-mcp-header": "A"}}}),
                "type",
            ),
            (json!({"properties": {"a": {"x-mcp-header": "A"}}}), "type"),
            // Not reached through `properties` alone.
            (json!({"type": "string", "x-mcp-header": "A"}), "properties"),
            (
                json!({"properties": {"a": {"type": "array", "items": {"type": "string", "x-mcp-header": "A"}}}}),
                "properties",
            ),
            (
                json!({"oneOf": [{"properties": {"a": {"type": "string", "x-mcp-header": "A"}}}]}),
                "properties",
            ),
            (
                json!({"$defs": {"x": {"type": "string", "x-mcp-header": "A"}}}),
                "properties",
            ),
            (
                json!({"properties": {"a": {"if": {"properties": {"b": {"type": "string", "x-mcp-header": "B"}}}}}}),
                "properties",
            ),
        ];
        for (schema, why) in cases {
            let error = HeaderParams::from_input_schema(&schema).unwrap_err();
            assert!(error.to_string().contains(why), "{schema}: {error}");
        }
        // A property that is merely named `x-mcp-header` is no annotation.
        let named = json!({"properties": {"x-mcp-header": {"type": "string"}}});
        assert!(HeaderParams::from_input_schema(&named).unwrap().is_empty());
    }

    proptest::proptest! {
        /// Any string survives the trip through a header value, and the
        /// encoded form is always a valid header value.
        #[test]
        fn values_round_trip(value in proptest::prelude::any::<String>()) {
            let header = encode_value(&value);
            proptest::prop_assert!(http::HeaderValue::from_str(&header).is_ok());
            proptest::prop_assert_eq!(decode_value(header.as_bytes()), Some(value));
        }

        /// Decoding takes any bytes without panicking.
        #[test]
        fn any_bytes_decode_or_not(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = decode_value(&bytes);
        }
    }

    #[test]
    fn the_server_check() {
        let params = HeaderParams::from_input_schema(&spanner()).unwrap();
        let arguments = json!({"region": "Hello, 世界", "query": "q", "limits": {"rows": 42}});
        let check = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, Vec<u8>)> = pairs
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
                .collect();
            params.check(Some(&arguments), |name| {
                let name = name.to_ascii_lowercase();
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.as_slice())
            })
        };
        let region = "=?base64?SGVsbG8sIOS4lueVjA==?=";
        assert_eq!(check(&[("Region", region), ("Rows", "42")]), Ok(()));
        // Integers compare as numbers.
        assert_eq!(check(&[("region", region), ("ROWS", "42.0")]), Ok(()));
        // Missing, mismatched, undecodable, or with no value in the body.
        for bad in [
            vec![("Region", region)],
            vec![("Region", "Hello"), ("Rows", "42")],
            vec![("Region", region), ("Rows", "43")],
            vec![("Region", "=?base64?***?="), ("Rows", "42")],
            vec![("Region", region), ("Rows", "42"), ("Dry-Run", "true")],
        ] {
            assert!(check(&bad).is_err(), "{bad:?}");
        }
    }
}
