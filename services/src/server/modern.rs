//! The modern revision (2026-07-28, "Versioning and Compatibility"): no
//! handshake; every request carries its protocol version, the client's
//! capabilities and identity in `_meta`; `server/discover` tells what the
//! server speaks; results carry `resultType` and the server's identity; a
//! handler that needs input from the client answers `input_required`
//! (multi round-trip requests, `basic/patterns/mrtr`) and runs again when the
//! client retries with `inputResponses`.
//!
//! The server is dual-era: a request without the modern `_meta` is served
//! by the legacy rules of its session.

use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::jsonrpc::ErrorObject;
use crate::protocol::{
    ClientCapabilities, InputRequest, InputRequests, InputResponse, InputResponses, LoggingLevel,
    ProtocolVersion, RequestMeta, UNSUPPORTED_PROTOCOL_VERSION, UnsupportedProtocolVersionData,
    methods,
};

/// What a modern request said about itself, and the input its handler asked
/// for while running.
#[derive(Debug)]
pub(crate) struct ModernRequest {
    pub(crate) version: ProtocolVersion,
    pub(crate) capabilities: ClientCapabilities,
    pub(crate) log_level: Option<LoggingLevel>,
    responses: InputResponses,
    request_state: Option<String>,
    needed: Mutex<(usize, InputRequests)>,
    /// The state the handler wants back with the client's answers.
    next_state: Mutex<Option<String>>,
}

/// Methods of the legacy revisions only (removed in 2026-07-28).
pub(crate) fn legacy_only(method: &str) -> bool {
    matches!(
        method,
        methods::INITIALIZE
            | methods::PING
            | methods::LOGGING_SET_LEVEL
            | methods::RESOURCES_SUBSCRIBE
            | methods::RESOURCES_UNSUBSCRIBE
    )
}

/// Reads the modern `_meta` of a request's params: `Ok(None)` for a legacy
/// request (no `io.modelcontextprotocol/protocolVersion`, or a legacy
/// version there), an `UnsupportedProtocolVersionError` for a version this
/// server does not speak.
pub(crate) fn detect(params: Option<&Value>) -> Result<Option<ModernRequest>, ErrorObject> {
    let Some(requested) = crate::protocol::request_headers::meta_version(params) else {
        return Ok(None);
    };
    let Some(version) = ProtocolVersion::accept(requested, ProtocolVersion::SUPPORTED) else {
        let data = UnsupportedProtocolVersionData::new(ProtocolVersion::SUPPORTED, requested);
        return Err(
            ErrorObject::new(UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version")
                .with_data(serde_json::to_value(data).unwrap_or_default()),
        );
    };
    if !version.is_stateless() {
        return Ok(None);
    }
    // `meta_version` found it, so `_meta` is there.
    let meta = params
        .and_then(|p| p.get("_meta"))
        .cloned()
        .unwrap_or_default();
    let meta: RequestMeta = serde_json::from_value(meta)
        .map_err(|e| ErrorObject::invalid_params(format!("invalid _meta: {e}")))?;
    let responses = match params.and_then(|p| p.get("inputResponses")) {
        None | Some(Value::Null) => InputResponses::new(),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| ErrorObject::invalid_params(format!("invalid inputResponses: {e}")))?,
    };
    let request_state = params
        .and_then(|p| p.get("requestState"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Some(ModernRequest {
        version,
        // Required in 2026-07-28.
        capabilities: meta.client_capabilities.ok_or_else(|| {
            ErrorObject::invalid_params(
                "invalid _meta: io.modelcontextprotocol/clientCapabilities is required",
            )
        })?,
        log_level: meta.log_level,
        responses,
        request_state,
        needed: Mutex::new((0, InputRequests::new())),
        next_state: Mutex::new(None),
    }))
}

impl ModernRequest {
    /// The client's answer to the next input request of the handler, or
    /// `None` after noting the request (the handler then fails with
    /// `PeerError::InputRequired` and the server answers `input_required`).
    ///
    /// The request goes under `key` when the handler names it; otherwise
    /// keys are given in call order (`elicitation/create-0`, ...), so a
    /// handler that runs again on the retry meets its answers in the same
    /// places.
    pub(crate) fn input(&self, key: Option<&str>, request: InputRequest) -> Option<InputResponse> {
        let mut needed = self.needed.lock().unwrap_or_else(PoisonError::into_inner);
        let key = key.map_or_else(
            || format!("{}-{}", request.method(), needed.0),
            str::to_owned,
        );
        needed.0 += 1;
        if let Some(answer) = self.responses.get(&key) {
            return Some(answer.clone());
        }
        needed.1.insert(key, request);
        None
    }

    /// The input requests the handler could not get answers to.
    pub(crate) fn take_needed(&self) -> InputRequests {
        std::mem::take(&mut self.needed.lock().unwrap_or_else(PoisonError::into_inner).1)
    }

    /// The state the client echoed from the previous round.
    pub(crate) fn request_state(&self) -> Option<&str> {
        self.request_state.as_deref()
    }

    /// Sets the state an `input_required` answer carries.
    pub(crate) fn set_next_state(&self, state: String) {
        *self
            .next_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(state);
    }

    /// The state for an `input_required` answer: what the handler set, or
    /// else the state the client echoed.
    pub(crate) fn next_state(&self) -> Option<String> {
        self.next_state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .or_else(|| self.request_state.clone())
    }
}

/// Whether results of `method` are cacheable (2026-07-28, caching): they
/// must carry `ttlMs` and `cacheScope`.
pub(crate) fn cacheable(method: &str) -> bool {
    matches!(
        method,
        methods::SERVER_DISCOVER
            | methods::TOOLS_LIST
            | methods::PROMPTS_LIST
            | methods::RESOURCES_LIST
            | methods::RESOURCES_TEMPLATES_LIST
            | methods::RESOURCES_READ
    )
}

/// Adds caching hints the handler did not set: no freshness (`ttlMs: 0`,
/// the client asks again) and `private` (the answer may depend on the
/// caller).
pub(crate) fn add_cache_hints(result: &mut Value) {
    if let Value::Object(map) = result {
        map.entry("ttlMs").or_insert(Value::from(0));
        map.entry("cacheScope")
            .or_insert_with(|| Value::String("private".to_owned()));
    }
}

/// Decorates a modern result: `resultType: "complete"` unless the handler
/// set one, and the server's identity in `_meta`.
pub(crate) fn finish(mut result: Value, server_info: &Value) -> Value {
    if let Value::Object(map) = &mut result {
        map.entry("resultType")
            .or_insert_with(|| Value::String("complete".to_owned()));
        let meta = map
            .entry("_meta")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(meta) = meta {
            meta.entry("io.modelcontextprotocol/serverInfo")
                .or_insert_with(|| server_info.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn legacy_requests_are_not_modern() {
        assert!(detect(None).unwrap().is_none());
        assert!(detect(Some(&json!({"name": "x"}))).unwrap().is_none());
        let legacy = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2025-11-25"}});
        assert!(detect(Some(&legacy)).unwrap().is_none());
    }

    #[test]
    fn an_unknown_version_is_refused_with_the_supported_list() {
        let params = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "1900-01-01"}});
        let error = detect(Some(&params)).unwrap_err();
        assert_eq!(error.code, UNSUPPORTED_PROTOCOL_VERSION);
        let data = error.data.unwrap();
        assert_eq!(data["requested"], "1900-01-01");
        assert!(
            data["supported"]
                .as_array()
                .unwrap()
                .contains(&json!("2026-07-28"))
        );
    }

    #[test]
    fn input_is_keyed_by_call_order() {
        let params = json!({
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {"roots": {}}},
            "inputResponses": {"roots/list-1": {"roots": [{"uri": "file:///x"}]}},
            "requestState": "s1"
        });
        let modern = detect(Some(&params)).unwrap().unwrap();
        assert!(modern.capabilities.roots.is_some());
        assert_eq!(modern.request_state(), Some("s1"));
        assert!(modern.input(None, InputRequest::ListRoots(None)).is_none());
        assert!(modern.input(None, InputRequest::ListRoots(None)).is_some());
        let needed = modern.take_needed();
        assert_eq!(needed.keys().collect::<Vec<_>>(), ["roots/list-0"]);
    }

    #[test]
    fn named_input_goes_under_its_key() {
        let params = json!({
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {"roots": {}}},
            "inputResponses": {"client_roots": {"roots": []}}
        });
        let modern = detect(Some(&params)).unwrap().unwrap();
        assert!(
            modern
                .input(Some("client_roots"), InputRequest::ListRoots(None))
                .is_some()
        );
        assert!(
            modern
                .input(Some("more_roots"), InputRequest::ListRoots(None))
                .is_none()
        );
        assert_eq!(
            modern.take_needed().keys().collect::<Vec<_>>(),
            ["more_roots"]
        );
    }

    #[test]
    fn the_handler_state_replaces_the_echoed_one() {
        let params = json!({
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}},
            "requestState": "round-1"
        });
        let modern = detect(Some(&params)).unwrap().unwrap();
        assert_eq!(modern.next_state().as_deref(), Some("round-1"));
        modern.set_next_state("round-2".to_owned());
        assert_eq!(modern.next_state().as_deref(), Some("round-2"));
        assert_eq!(modern.request_state(), Some("round-1"));
    }

    #[test]
    fn finish_adds_result_type_and_server_info() {
        let done = finish(json!({"tools": []}), &json!({"name": "s", "version": "1"}));
        assert_eq!(done["resultType"], "complete");
        assert_eq!(
            done["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "s"
        );
        let kept = finish(json!({"resultType": "input_required"}), &json!({}));
        assert_eq!(kept["resultType"], "input_required");
    }
}
