//! [`RequestContext`]: what a handler (tool, resource, prompt, completion)
//! can see and do besides reading its arguments: the transport's extensions,
//! the session, progress reports, log messages, cancellation, requests to
//! the client (sampling, elicitation, roots), and failing the request with a
//! JSON-RPC error.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::{ErrorObject, RequestId};
use crate::peer::{Peer, PeerError};
use crate::protocol::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams,
    ElicitResult, InputRequest, InputResponse, JsonObject, ListRootsResult, LoggingLevel,
    LoggingMessageNotificationParams, MISSING_REQUIRED_CLIENT_CAPABILITY,
    MissingRequiredClientCapabilityData, ProgressNotificationParams, ProgressToken,
    ProtocolVersion, methods,
};

use super::modern::ModernRequest;
use super::session::Session;
use super::tool::ToolError;

/// The JSON-RPC error a handler chose to answer its request with
/// ([`RequestContext::fail_request`]), shared by the handler's context and
/// the server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Failure(Arc<Mutex<Option<ErrorObject>>>);

impl Failure {
    /// Keeps the first error.
    fn set(&self, error: ErrorObject) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(error);
    }

    /// The error, if the handler failed the request.
    pub(crate) fn take(&self) -> Option<ErrorObject> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// What a handler can see and do besides reading its arguments.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestContext {
    /// The extensions of the transport request that carried the call: what
    /// HTTP layers established (for example the caller's `Principal`).
    pub extensions: http::Extensions,
    /// The client's session.
    pub session: Session,
    /// The id of the request being served.
    pub request_id: RequestId,
    /// The token the client asked progress notifications for, if any.
    pub progress_token: Option<ProgressToken>,
    peer: Peer,
    cancelled: CancellationToken,
    modern: Option<Arc<ModernRequest>>,
    failure: Failure,
}

/// The context of a tool call.
pub type ToolContext = RequestContext;

impl RequestContext {
    pub(crate) fn new(
        extensions: http::Extensions,
        session: Session,
        request_id: RequestId,
        peer: Peer,
        cancelled: CancellationToken,
    ) -> Self {
        Self {
            extensions,
            session,
            request_id,
            progress_token: None,
            peer,
            cancelled,
            modern: None,
            failure: Failure::default(),
        }
    }

    /// Where the server finds the error the handler failed the request with.
    pub(crate) fn failure(&self) -> Failure {
        self.failure.clone()
    }

    /// Serves a modern (2026-07-28) request: capabilities and log level come
    /// from its `_meta`, and input from the client goes through
    /// `input_required` results.
    pub(crate) fn with_modern(mut self, modern: Arc<ModernRequest>) -> Self {
        self.modern = Some(modern);
        self
    }

    /// Whether this request uses the modern revision (2026-07-28): no
    /// session state, input through `input_required` results.
    pub fn is_modern(&self) -> bool {
        self.modern.is_some()
    }

    /// The protocol revision of this request: from its `_meta` (modern) or
    /// negotiated by `initialize` (legacy).
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        match &self.modern {
            Some(modern) => Some(modern.version),
            None => self.session.protocol_version(),
        }
    }

    /// The client's capabilities: from the request's `_meta` (modern) or
    /// from `initialize` (legacy).
    pub fn client_capabilities(&self) -> Option<ClientCapabilities> {
        match &self.modern {
            Some(modern) => Some(modern.capabilities.clone()),
            None => self.session.client_capabilities(),
        }
    }

    /// The state the client echoed back on this retry of a modern request.
    ///
    /// The client can read and change it: a handler that relies on it must
    /// protect its integrity (for example with an HMAC) and reject a state
    /// that fails the check with [`Self::fail_request`].
    pub fn request_state(&self) -> Option<&str> {
        self.modern.as_ref().and_then(|m| m.request_state())
    }

    /// Sets the `requestState` of the `input_required` answer, if the
    /// handler asks for input it has not got yet (modern requests; without
    /// it the answer carries the state the client echoed). The client sends
    /// it back with its answers, so a handler can carry what it learnt in
    /// earlier rounds. Does nothing on legacy requests.
    pub fn set_request_state(&self, state: impl Into<String>) {
        if let Some(modern) = &self.modern {
            modern.set_next_state(state.into());
        }
    }

    /// Answers this request with the JSON-RPC error `error` instead of the
    /// handler's result (and instead of `input_required`); the first call
    /// wins. Returns a [`ToolError`] with the error's message for the
    /// handler to return: `return Err(ctx.fail_request(error))`.
    ///
    /// For protocol errors only, such as an invalid `requestState` (-32602)
    /// or a missing client capability (-32021, see
    /// [`Self::require_client_capabilities`]); a tool that ran and failed
    /// returns a [`ToolError`] so the model can read it.
    pub fn fail_request(&self, error: ErrorObject) -> ToolError {
        let message = error.message.clone();
        self.failure.set(error);
        ToolError::new(message)
    }

    /// Checks that the client declared every capability in `required` (the
    /// members `roots`, `sampling` and `elicitation`, and `experimental`,
    /// `extensions` and other members by name). If some are missing, fails
    /// the request with `MissingRequiredClientCapabilityError` (-32021,
    /// revision 2026-07-28: a server must not rely on capabilities the client
    /// did not declare) whose `data.requiredCapabilities` lists them, and
    /// returns the [`ToolError`] to return.
    pub fn require_client_capabilities(
        &self,
        required: &ClientCapabilities,
    ) -> Result<(), ToolError> {
        let declared = self.client_capabilities().unwrap_or_default();
        let Some(missing) = missing_capabilities(&declared, required) else {
            return Ok(());
        };
        let names = capability_names(&missing).join(", ");
        let data = serde_json::to_value(MissingRequiredClientCapabilityData::new(missing))
            .unwrap_or_default();
        let error = ErrorObject::new(
            MISSING_REQUIRED_CLIENT_CAPABILITY,
            format!("Missing required client capability: {names}"),
        )
        .with_data(data);
        Err(self.fail_request(error))
    }

    /// Asks the client for input: a request on the wire (legacy) or an
    /// entry of the `input_required` result (modern), under `key` or a key
    /// of its own.
    async fn input<R: serde::de::DeserializeOwned>(
        &self,
        key: Option<&str>,
        request: InputRequest,
        params: &impl serde::Serialize,
        pick: impl Fn(InputResponse) -> Option<R>,
    ) -> Result<R, PeerError> {
        let method = request.method();
        let Some(modern) = &self.modern else {
            return self.peer.request(method, params).await;
        };
        match modern.input(key, request) {
            Some(answer) => pick(answer).ok_or_else(|| PeerError::Malformed {
                method: method.to_owned(),
                reason: "the input response does not answer this kind of request".to_owned(),
            }),
            None => Err(PeerError::InputRequired),
        }
    }

    /// The client, reached on this request's stream (so, over Streamable
    /// HTTP, messages about this request go on its response stream).
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// Whether the client cancelled this request.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }

    /// Resolves when the client cancels this request. The server stops
    /// polling a cancelled handler and sends no answer (MCP: cancellation),
    /// so handlers need this only to clean up or stop work they spawned.
    pub async fn cancelled(&self) {
        self.cancelled.cancelled().await;
    }

    /// Reports progress if the client asked for it (`_meta.progressToken`);
    /// `progress` should increase with each call.
    pub async fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
    ) -> Result<(), PeerError> {
        let Some(token) = &self.progress_token else {
            return Ok(());
        };
        let mut params = ProgressNotificationParams::new(token.clone(), progress);
        params.total = total;
        params.message = message.map(str::to_owned);
        self.peer
            .notify(methods::NOTIFICATION_PROGRESS, &params)
            .await
    }

    /// Sends a log message (`notifications/message`) if the client asked for
    /// this level or a lower one with `logging/setLevel`.
    pub async fn log(
        &self,
        level: LoggingLevel,
        logger: Option<&str>,
        data: Value,
    ) -> Result<(), PeerError> {
        let min = match &self.modern {
            // Modern requests ask per request; none means no log messages.
            Some(modern) => modern.log_level,
            None => self.session.log_level(),
        };
        if min.is_none_or(|min| level < min) {
            return Ok(());
        }
        let mut params = LoggingMessageNotificationParams::new(level, data);
        params.logger = logger.map(str::to_owned);
        self.peer
            .notify(methods::NOTIFICATION_MESSAGE, &params)
            .await
    }

    /// Asks the client's model for a completion (`sampling/createMessage`).
    pub async fn create_message(
        &self,
        params: &CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, PeerError> {
        self.create_message_keyed(None, params).await
    }

    /// [`Self::create_message`], named `key` among the input requests of a
    /// modern request (the client answers it under that key); legacy
    /// requests ignore the key.
    pub async fn create_message_as(
        &self,
        key: &str,
        params: &CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, PeerError> {
        self.create_message_keyed(Some(key), params).await
    }

    async fn create_message_keyed(
        &self,
        key: Option<&str>,
        params: &CreateMessageRequestParams,
    ) -> Result<CreateMessageResult, PeerError> {
        self.require(|c| c.sampling.is_some(), "sampling")?;
        let request = InputRequest::CreateMessage(params.clone());
        self.input(key, request, params, |answer| match answer {
            InputResponse::CreateMessage(result) => Some(result),
            _ => None,
        })
        .await
    }

    /// Asks the user for input through the client (`elicitation/create`).
    pub async fn elicit(&self, params: &ElicitRequestParams) -> Result<ElicitResult, PeerError> {
        self.elicit_keyed(None, params).await
    }

    /// [`Self::elicit`], named `key` among the input requests of a modern
    /// request; legacy requests ignore the key.
    pub async fn elicit_as(
        &self,
        key: &str,
        params: &ElicitRequestParams,
    ) -> Result<ElicitResult, PeerError> {
        self.elicit_keyed(Some(key), params).await
    }

    async fn elicit_keyed(
        &self,
        key: Option<&str>,
        params: &ElicitRequestParams,
    ) -> Result<ElicitResult, PeerError> {
        self.require(|c| c.elicitation.is_some(), "elicitation")?;
        let request = InputRequest::Elicit(params.clone());
        self.input(key, request, params, |answer| match answer {
            InputResponse::Elicit(result) => Some(result),
            _ => None,
        })
        .await
    }

    /// Asks the client for its roots (`roots/list`).
    pub async fn list_roots(&self) -> Result<ListRootsResult, PeerError> {
        self.list_roots_keyed(None).await
    }

    /// [`Self::list_roots`], named `key` among the input requests of a
    /// modern request; legacy requests ignore the key.
    pub async fn list_roots_as(&self, key: &str) -> Result<ListRootsResult, PeerError> {
        self.list_roots_keyed(Some(key)).await
    }

    async fn list_roots_keyed(&self, key: Option<&str>) -> Result<ListRootsResult, PeerError> {
        self.require(|c| c.roots.is_some(), "roots")?;
        self.input(
            key,
            InputRequest::ListRoots(None),
            &serde_json::json!({}),
            |answer| match answer {
                InputResponse::ListRoots(result) => Some(result),
                _ => None,
            },
        )
        .await
    }

    fn require(
        &self,
        has: impl Fn(&crate::protocol::ClientCapabilities) -> bool,
        name: &'static str,
    ) -> Result<(), PeerError> {
        match self.client_capabilities() {
            Some(capabilities) if has(&capabilities) => Ok(()),
            _ => Err(PeerError::NotSupported(name)),
        }
    }
}

/// The members of `required` that `declared` lacks, or `None` when it has
/// them all.
fn missing_capabilities(
    declared: &ClientCapabilities,
    required: &ClientCapabilities,
) -> Option<ClientCapabilities> {
    fn missing_keys<V: Clone>(
        declared: Option<&BTreeMap<String, V>>,
        required: Option<&BTreeMap<String, V>>,
    ) -> Option<BTreeMap<String, V>> {
        let missing: BTreeMap<_, _> = required?
            .iter()
            .filter(|(name, _)| declared.is_none_or(|d| !d.contains_key(*name)))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        (!missing.is_empty()).then_some(missing)
    }
    let mut missing = ClientCapabilities::default();
    if declared.roots.is_none() {
        missing.roots.clone_from(&required.roots);
    }
    if declared.sampling.is_none() {
        missing.sampling.clone_from(&required.sampling);
    }
    if declared.elicitation.is_none() {
        missing.elicitation.clone_from(&required.elicitation);
    }
    missing.experimental = missing_keys(
        declared.experimental.as_ref(),
        required.experimental.as_ref(),
    );
    missing.extensions = missing_keys(declared.extensions.as_ref(), required.extensions.as_ref());
    missing.extra = required
        .extra
        .iter()
        .filter(|(name, _)| !declared.extra.contains_key(*name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect::<JsonObject>();
    (missing != ClientCapabilities::default()).then_some(missing)
}

/// The names of the capabilities in `capabilities`, for messages.
fn capability_names(capabilities: &ClientCapabilities) -> Vec<String> {
    let mut names = Vec::new();
    for (name, present) in [
        ("roots", capabilities.roots.is_some()),
        ("sampling", capabilities.sampling.is_some()),
        ("elicitation", capabilities.elicitation.is_some()),
    ] {
        if present {
            names.push(name.to_owned());
        }
    }
    for (prefix, map) in [
        ("experimental", &capabilities.experimental),
        ("extensions", &capabilities.extensions),
    ] {
        names.extend(
            map.iter()
                .flatten()
                .map(|(name, _)| format!("{prefix}.{name}")),
        );
    }
    names.extend(capabilities.extra.keys().cloned());
    names
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    fn capabilities(value: serde_json::Value) -> ClientCapabilities {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn declared_capabilities_are_not_missing() {
        let declared = capabilities(json!({"sampling": {}, "extensions": {"x/y": {}}}));
        let required = capabilities(json!({"sampling": {}, "extensions": {"x/y": {}}}));
        assert!(missing_capabilities(&declared, &required).is_none());
    }

    #[test]
    fn only_the_missing_capabilities_are_named() {
        let declared = capabilities(json!({"elicitation": {}, "extensions": {"a/b": {}}}));
        let required = capabilities(json!({
            "sampling": {}, "elicitation": {},
            "extensions": {"a/b": {}, "c/d": {"v": 1}}, "custom": {}
        }));
        let missing = missing_capabilities(&declared, &required).unwrap();
        assert_eq!(
            serde_json::to_value(&missing).unwrap(),
            json!({"sampling": {}, "extensions": {"c/d": {"v": 1}}, "custom": {}})
        );
        assert_eq!(
            capability_names(&missing),
            ["sampling", "extensions.c/d", "custom"]
        );
    }
}
