//! The request headers revision 2026-07-28 mirrors from the JSON-RPC body
//! (Streamable HTTP, "Request Metadata"): `MCP-Protocol-Version` from
//! `_meta["io.modelcontextprotocol/protocolVersion"]`, `Mcp-Method` from
//! `method`, and `Mcp-Name` from `params.name` or `params.uri` for
//! `tools/call`, `resources/read` and `prompts/get`, Base64-encoded as
//! `=?base64?...?=` when not a plain header value ("Value Encoding").
//!
//! Only requests that carry a protocol version in `_meta` (the modern
//! revisions) get them; requests of the revisions with `initialize` keep
//! the negotiated version header and nothing else. `x-mcp-header` tool
//! parameters (`Mcp-Param-{Name}`) are not mirrored.

use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::jsonrpc::Message;
use crate::peer::Outgoing;
use crate::protocol::methods;

use super::common::MCP_PROTOCOL_VERSION;

const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");
const VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// The mirrored headers for `outgoing` (empty unless it is one modern
/// request).
pub(super) fn headers(outgoing: &Outgoing) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Outgoing::One(Message::Request(request)) = outgoing else {
        return headers;
    };
    let params = request.params.as_ref();
    let version = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(VERSION_KEY))
        .and_then(Value::as_str);
    let Some(version) = version else {
        return headers;
    };
    if let Ok(version) = HeaderValue::from_str(version) {
        headers.insert(MCP_PROTOCOL_VERSION, version);
    }
    headers.insert(MCP_METHOD, encode(&request.method));
    let name = match request.method.as_str() {
        methods::TOOLS_CALL | methods::PROMPTS_GET => params.and_then(|p| p.get("name")),
        methods::RESOURCES_READ => params.and_then(|p| p.get("uri")),
        _ => None,
    };
    if let Some(name) = name.and_then(Value::as_str) {
        headers.insert(MCP_NAME, encode(name));
    }
    headers
}

/// The value as is when it is a safe header value, else the Base64
/// sentinel form.
fn encode(value: &str) -> HeaderValue {
    let sentinel = value.starts_with("=?base64?") && value.ends_with("?=");
    let safe = value
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..=0x7E).contains(&b));
    let padded = value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']);
    let plain = !value.is_empty() && safe && !padded && !sentinel;
    let text = if plain {
        value.to_owned()
    } else {
        format!("=?base64?{}?=", base64(value.as_bytes()))
    };
    // Both forms are visible ASCII, so this cannot fail.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("=?base64??="))
}

/// Standard Base64 with padding (RFC 4648 §4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (n >> (18 - 6 * i)) & 0x3F;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;
    use crate::jsonrpc::{Notification, Request};

    #[test]
    fn the_specifications_encoding_examples() {
        assert_eq!(encode("us-west1"), "us-west1");
        assert_eq!(encode("Hello, 世界"), "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(encode(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(encode("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(
            encode("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }

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
        let h = headers(&request(
            "tools/call",
            json!({"name": "get_weather", "_meta": meta}),
        ));
        assert_eq!(h["mcp-protocol-version"], "2026-07-28");
        assert_eq!(h["mcp-method"], "tools/call");
        assert_eq!(h["mcp-name"], "get_weather");
        let h = headers(&request(
            "resources/read",
            json!({"uri": "file:///a b", "_meta": meta}),
        ));
        assert_eq!(h["mcp-name"], "file:///a b");
        let h = headers(&request("tools/list", json!({"_meta": meta})));
        assert!(h.get("mcp-name").is_none());
        // Legacy requests and notifications get none.
        assert!(headers(&request("tools/call", json!({"name": "x"}))).is_empty());
        let note = Outgoing::One(Message::Notification(Notification {
            method: "notifications/initialized".into(),
            params: None,
        }));
        assert!(headers(&note).is_empty());
    }
}
