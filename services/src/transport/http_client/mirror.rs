//! The request headers revision 2026-07-28 mirrors from the JSON-RPC body
//! (Streamable HTTP, "Request Metadata"): `MCP-Protocol-Version` from
//! `_meta["io.modelcontextprotocol/protocolVersion"]`, `Mcp-Method` from
//! `method`, `Mcp-Name` from `params.name` or `params.uri` for `tools/call`,
//! `resources/read` and `prompts/get`, and `Mcp-Param-{Name}` for the
//! arguments of `tools/call` whose schema carries `x-mcp-header`, each
//! Base64-encoded as `=?base64?...?=` when not a plain header value
//! ("Value Encoding").
//!
//! Only requests that carry a protocol version in `_meta` (the modern
//! revisions) get them; requests of the revisions with `initialize` keep
//! the negotiated version header and nothing else. The `x-mcp-header`
//! annotations come from the `tools/list` answers that pass through the
//! transport ([`ToolParams`]); tools whose annotations break the rules are
//! left out of those answers, as the specification requires of clients on
//! Streamable HTTP. A tool called before any `tools/list` gets no
//! `Mcp-Param-*` headers (a server that needs them answers
//! `HeaderMismatch`; list the tools, then call again).

use std::collections::{HashMap, HashSet};

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::jsonrpc::{Message, Payload, RequestId};
use crate::peer::Outgoing;
use crate::protocol::methods;
use crate::protocol::request_headers::{
    HeaderParams, MCP_METHOD, MCP_NAME, encode_value, meta_version, name_source,
};
use crate::transport::lines::Frame;

use super::common::MCP_PROTOCOL_VERSION;

/// The one modern request in `outgoing`, if it is one: the request and its
/// protocol version.
fn modern_request(outgoing: &Outgoing) -> Option<(&crate::jsonrpc::Request, &str)> {
    let Outgoing::One(Message::Request(request)) = outgoing else {
        return None;
    };
    let version = meta_version(request.params.as_ref())?;
    Some((request, version))
}

/// The mirrored headers for `outgoing` (empty unless it is one modern
/// request); `tools` gives the `Mcp-Param-*` headers of `tools/call`.
pub(super) fn headers(outgoing: &Outgoing, tools: &ToolParams) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Some((request, version)) = modern_request(outgoing) else {
        return headers;
    };
    let params = request.params.as_ref();
    if let Ok(version) = HeaderValue::from_str(version) {
        headers.insert(MCP_PROTOCOL_VERSION, version);
    }
    headers.insert(HeaderName::from_static(MCP_METHOD), value(&request.method));
    let name = name_source(&request.method, params).and_then(Value::as_str);
    if let Some(name) = name {
        headers.insert(HeaderName::from_static(MCP_NAME), value(name));
    }
    if request.method == methods::TOOLS_CALL
        && let Some(tool) = name.and_then(|name| tools.tools.get(name))
    {
        for (header, text) in tool.headers(params.and_then(|p| p.get("arguments"))) {
            if let (Ok(header), Ok(text)) = (
                HeaderName::from_bytes(header.as_bytes()),
                HeaderValue::from_str(&text),
            ) {
                headers.append(header, text);
            }
        }
    }
    headers
}

/// `text` encoded as a header value.
fn value(text: &str) -> HeaderValue {
    // Both forms are visible ASCII, so this cannot fail.
    HeaderValue::from_str(&encode_value(text))
        .unwrap_or_else(|_| HeaderValue::from_static("=?base64??="))
}

/// The `x-mcp-header` parameters of the tools the server listed, learnt
/// from the `tools/list` answers of modern requests.
#[derive(Debug, Default)]
pub(super) struct ToolParams {
    /// Modern `tools/list` requests waiting for their answer.
    lists: HashSet<RequestId>,
    /// The mirrored parameters of each listed tool that has some.
    tools: HashMap<String, HeaderParams>,
}

impl ToolParams {
    /// Notes a modern `tools/list` request going out.
    pub(super) fn sent(&mut self, outgoing: &Outgoing) {
        if let Some((request, _)) = modern_request(outgoing)
            && request.method == methods::TOOLS_LIST
        {
            self.lists.insert(request.id.clone());
        }
    }

    /// Reads the answer to a noted `tools/list` in `frame`, and leaves out
    /// of it the tools whose annotations are invalid.
    pub(super) fn received(&mut self, frame: &mut Frame) {
        if self.lists.is_empty() {
            return;
        }
        let Frame::Payload(Payload::Single(message)) = frame else {
            return;
        };
        let (Message::Response(crate::jsonrpc::Response { id, .. })
        | Message::Error(crate::jsonrpc::ErrorResponse { id: Some(id), .. })) = &*message
        else {
            return;
        };
        if !self.lists.remove(id) {
            return;
        }
        let Message::Response(response) = message else {
            return;
        };
        let Some(Value::Array(tools)) = response.result.get_mut("tools") else {
            return;
        };
        tools.retain(|tool| {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                return true;
            };
            let schema = tool.get("inputSchema").unwrap_or(&Value::Null);
            match HeaderParams::from_input_schema(schema) {
                Ok(params) if params.is_empty() => {
                    self.tools.remove(name);
                    true
                }
                Ok(params) => {
                    self.tools.insert(name.to_owned(), params);
                    true
                }
                Err(error) => {
                    tracing::warn!(target: "mcp_tower::transport", tool = name, %error, "tool left out of tools/list: invalid x-mcp-header");
                    self.tools.remove(name);
                    false
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    const VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
    use crate::jsonrpc::{Notification, Request};

    fn request(method: &str, params: serde_json::Value) -> Outgoing {
        Outgoing::One(Message::Request(Request {
            id: 1.into(),
            method: method.into(),
            params: Some(params),
        }))
    }

    #[test]
    fn modern_requests_get_the_headers() {
        let meta = json!({VERSION_KEY: "2026-07-28"});
        let no_tools = ToolParams::default();
        let h = headers(
            &request("tools/call", json!({"name": "get_weather", "_meta": meta})),
            &no_tools,
        );
        assert_eq!(h["mcp-protocol-version"], "2026-07-28");
        assert_eq!(h["mcp-method"], "tools/call");
        assert_eq!(h["mcp-name"], "get_weather");
        let h = headers(
            &request(
                "resources/read",
                json!({"uri": "file:///a b", "_meta": meta}),
            ),
            &no_tools,
        );
        assert_eq!(h["mcp-name"], "file:///a b");
        let h = headers(&request("tools/list", json!({"_meta": meta})), &no_tools);
        assert!(h.get("mcp-name").is_none());
        // Legacy requests and notifications get none.
        assert!(
            headers(
                &request("tools/call", json!({"name": "x"})),
                &ToolParams::default()
            )
            .is_empty()
        );
        let note = Outgoing::One(Message::Notification(Notification {
            method: "notifications/initialized".into(),
            params: None,
        }));
        assert!(headers(&note, &ToolParams::default()).is_empty());
    }

    #[test]
    fn tool_parameters_are_learnt_from_tools_list() {
        let meta = json!({VERSION_KEY: "2026-07-28"});
        let mut tools = ToolParams::default();
        tools.sent(&request("tools/list", json!({"_meta": meta})));
        let mut answer = Frame::Payload(Payload::Single(Message::Response(
            crate::jsonrpc::Response {
                id: 1.into(),
                result: json!({"tools": [
                    {"name": "execute_sql", "inputSchema": {"type": "object", "properties": {
                        "region": {"type": "string", "x-mcp-header": "Region"},
                        "query": {"type": "string"}
                    }}},
                    {"name": "broken", "inputSchema": {"type": "object", "properties": {
                        "n": {"type": "number", "x-mcp-header": "N"}
                    }}},
                    {"name": "plain", "inputSchema": {"type": "object"}}
                ]}),
            },
        )));
        tools.received(&mut answer);
        // The tool with an invalid annotation is left out.
        let Frame::Payload(Payload::Single(Message::Response(response))) = &answer else {
            unreachable!()
        };
        let names: Vec<&str> = response.result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["execute_sql", "plain"]);
        let call = request(
            "tools/call",
            json!({"name": "execute_sql", "arguments": {"region": "Hello, 世界", "query": "q"}, "_meta": meta}),
        );
        let h = headers(&call, &tools);
        assert_eq!(h["mcp-param-region"], "=?base64?SGVsbG8sIOS4lueVjA==?=");
        // A legacy tools/list is not read.
        let mut legacy = ToolParams::default();
        legacy.sent(&request("tools/list", json!({})));
        assert!(legacy.lists.is_empty());
    }
}
