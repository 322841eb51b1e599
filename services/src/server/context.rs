//! [`RequestContext`]: what a handler (tool, resource, prompt, completion)
//! can see and do besides reading its arguments: the transport's extensions,
//! the session, progress reports, log messages, cancellation, and requests
//! to the client (sampling, elicitation, roots).

use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::RequestId;
use crate::peer::{Peer, PeerError};
use crate::protocol::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams,
    ElicitResult, InputRequest, InputResponse, ListRootsResult, LoggingLevel,
    LoggingMessageNotificationParams, ProgressNotificationParams, ProgressToken, ProtocolVersion,
    methods,
};

use super::modern::ModernRequest;
use super::session::Session;

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
        }
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
    pub fn request_state(&self) -> Option<&str> {
        self.modern.as_ref().and_then(|m| m.request_state())
    }

    /// Asks the client for input: a request on the wire (legacy) or an
    /// entry of the `input_required` result (modern).
    async fn input<R: serde::de::DeserializeOwned>(
        &self,
        request: InputRequest,
        params: &impl serde::Serialize,
        pick: impl Fn(InputResponse) -> Option<R>,
    ) -> Result<R, PeerError> {
        let method = request.method();
        let Some(modern) = &self.modern else {
            return self.peer.request(method, params).await;
        };
        match modern.input(request) {
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
        self.require(|c| c.sampling.is_some(), "sampling")?;
        let request = InputRequest::CreateMessage(params.clone());
        self.input(request, params, |answer| match answer {
            InputResponse::CreateMessage(result) => Some(result),
            _ => None,
        })
        .await
    }

    /// Asks the user for input through the client (`elicitation/create`).
    pub async fn elicit(&self, params: &ElicitRequestParams) -> Result<ElicitResult, PeerError> {
        self.require(|c| c.elicitation.is_some(), "elicitation")?;
        let request = InputRequest::Elicit(params.clone());
        self.input(request, params, |answer| match answer {
            InputResponse::Elicit(result) => Some(result),
            _ => None,
        })
        .await
    }

    /// Asks the client for its roots (`roots/list`).
    pub async fn list_roots(&self) -> Result<ListRootsResult, PeerError> {
        self.require(|c| c.roots.is_some(), "roots")?;
        self.input(
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
