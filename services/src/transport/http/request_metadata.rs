//! Revision 2026-07-28's request metadata on the server (Streamable HTTP,
//! "Request Metadata" and "Server Validation"): the headers a modern
//! request mirrors from its body must be there and match it, else 400 with
//! `HeaderMismatch` (-32020); and the HTTP status of a modern request's
//! JSON-RPC error says what kind of error it is. The `Mcp-Param-*` headers
//! are checked by the MCP server, which knows the tools' schemas (see
//! [`ParamHeaders`](crate::protocol::request_headers::ParamHeaders)).

use http::{HeaderMap, StatusCode};

use super::server::MCP_PROTOCOL_VERSION;
use crate::jsonrpc::{ErrorCode, Message, Request};
use crate::protocol::request_headers::{self, MCP_METHOD, MCP_NAME, decode_value, name_source};
use crate::protocol::{
    HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY, UNSUPPORTED_PROTOCOL_VERSION,
};

/// The protocol version a request carries in `_meta`, if any.
pub(super) fn meta_version(request: &Request) -> Option<&str> {
    request_headers::meta_version(request.params.as_ref())
}

/// Checks that `MCP-Protocol-Version` is present and names `version`, the
/// request's `_meta` version.
pub(super) fn check_version(headers: &HeaderMap, version: &str) -> Result<(), String> {
    match headers.get(MCP_PROTOCOL_VERSION) {
        Some(value) if value.as_bytes() == version.as_bytes() => Ok(()),
        Some(_) => Err(format!(
            "the {MCP_PROTOCOL_VERSION} header does not match the body"
        )),
        None => Err(format!("the {MCP_PROTOCOL_VERSION} header is missing")),
    }
}

/// Whether a request's `_meta` carries the client's capabilities (an
/// object), as a 2026-07-28 request must.
pub(super) fn declares_capabilities(request: &Request) -> bool {
    request
        .params
        .as_ref()
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get("io.modelcontextprotocol/clientCapabilities"))
        .is_some_and(serde_json::Value::is_object)
}

/// Checks the mirrored headers of a modern request whose `_meta` says
/// `version`: `MCP-Protocol-Version`, `Mcp-Method`, and `Mcp-Name` where
/// the method has one, each present and equal to the body's value (after
/// decoding the Base64 sentinel). The error says which header is wrong,
/// without echoing what it held.
pub(super) fn check(headers: &HeaderMap, request: &Request, version: &str) -> Result<(), String> {
    let same = |name: &str, body: &str| match headers.get(name) {
        Some(value) if value.as_bytes() == body.as_bytes() => Ok(()),
        Some(_) => Err(format!("the {name} header does not match the body")),
        None => Err(format!("the {name} header is missing")),
    };
    check_version(headers, version)?;
    same(MCP_METHOD, &request.method)?;
    if let Some(body) = name_source(&request.method, request.params.as_ref()) {
        let Some(value) = headers.get(MCP_NAME) else {
            return Err(format!("the {MCP_NAME} header is missing"));
        };
        let decoded = decode_value(value.as_bytes())
            .ok_or_else(|| format!("the {MCP_NAME} header is not a valid value"))?;
        if body.as_str() != Some(decoded.as_str()) {
            return Err(format!("the {MCP_NAME} header does not match the body"));
        }
    }
    Ok(())
}

/// The HTTP status of the JSON answer to a modern request: 404 for a
/// method the server does not implement, 400 for a header mismatch, a
/// missing client capability or an unsupported protocol version, 200 for
/// everything else (results, and errors of the request itself).
pub(super) fn status_of(answer: &Message) -> StatusCode {
    let Message::Error(error) = answer else {
        return StatusCode::OK;
    };
    match error.error.code {
        ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        HEADER_MISMATCH | MISSING_REQUIRED_CLIENT_CAPABILITY | UNSUPPORTED_PROTOCOL_VERSION => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use http::HeaderValue;
    use serde_json::{Value, json};

    use super::*;
    use crate::jsonrpc::{ErrorObject, ErrorResponse, Response};

    fn request(method: &str, params: &Value) -> Request {
        Request {
            id: 1.into(),
            method: method.into(),
            params: Some(params.clone()),
        }
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    http::HeaderName::from_static(n),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn mirrored_headers_must_match() {
        let params = json!({"name": "Hello, 世界", "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}});
        let call = request("tools/call", &params);
        assert_eq!(meta_version(&call), Some("2026-07-28"));
        let good = [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "=?base64?SGVsbG8sIOS4lueVjA==?="),
        ];
        assert_eq!(check(&headers(&good), &call, "2026-07-28"), Ok(()));
        // Each one missing, then each one wrong.
        for i in 0..good.len() {
            let mut missing = good.to_vec();
            missing.remove(i);
            let error = check(&headers(&missing), &call, "2026-07-28").unwrap_err();
            assert!(error.contains("missing"), "{error}");
            let mut wrong = good.to_vec();
            wrong[i].1 = "tools/list";
            let error = check(&headers(&wrong), &call, "2026-07-28").unwrap_err();
            assert!(error.contains("does not match"), "{error}");
        }
        let mut bad = good.to_vec();
        bad[2].1 = "=?base64?***?=";
        let error = check(&headers(&bad), &call, "2026-07-28").unwrap_err();
        assert!(error.contains("not a valid value"), "{error}");
        // Methods without a name need no Mcp-Name.
        let list = request("tools/list", &params);
        let h = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
        ]);
        assert_eq!(check(&h, &list, "2026-07-28"), Ok(()));
    }

    #[test]
    fn statuses_of_modern_answers() {
        let error = |code| {
            Message::Error(ErrorResponse::new(
                Some(1.into()),
                ErrorObject::new(code, "x"),
            ))
        };
        assert_eq!(
            status_of(&error(ErrorCode::METHOD_NOT_FOUND)),
            StatusCode::NOT_FOUND
        );
        for code in [
            HEADER_MISMATCH,
            MISSING_REQUIRED_CLIENT_CAPABILITY,
            UNSUPPORTED_PROTOCOL_VERSION,
        ] {
            assert_eq!(status_of(&error(code)), StatusCode::BAD_REQUEST);
        }
        assert_eq!(status_of(&error(ErrorCode::INVALID_PARAMS)), StatusCode::OK);
        let result = Message::Response(Response {
            id: 1.into(),
            result: json!({}),
        });
        assert_eq!(status_of(&result), StatusCode::OK);
    }
}
