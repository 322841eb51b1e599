//! [`RequestContext`]: what a handler (tool, resource, prompt, completion)
//! can see and do besides reading its arguments: the transport's extensions,
//! the session, progress reports, log messages, cancellation, and requests
//! to the client (sampling, elicitation, roots).

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::RequestId;
use crate::peer::{Peer, PeerError};
use crate::protocol::{
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    ListRootsResult, LoggingLevel, LoggingMessageNotificationParams, ProgressNotificationParams,
    ProgressToken, methods,
};

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
        if self.session.log_level().is_none_or(|min| level < min) {
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
        self.peer
            .request(methods::SAMPLING_CREATE_MESSAGE, params)
            .await
    }

    /// Asks the user for input through the client (`elicitation/create`).
    pub async fn elicit(&self, params: &ElicitRequestParams) -> Result<ElicitResult, PeerError> {
        self.require(|c| c.elicitation.is_some(), "elicitation")?;
        self.peer.request(methods::ELICITATION_CREATE, params).await
    }

    /// Asks the client for its roots (`roots/list`).
    pub async fn list_roots(&self) -> Result<ListRootsResult, PeerError> {
        self.require(|c| c.roots.is_some(), "roots")?;
        self.peer
            .request(methods::ROOTS_LIST, &serde_json::json!({}))
            .await
    }

    fn require(
        &self,
        has: impl Fn(&crate::protocol::ClientCapabilities) -> bool,
        name: &'static str,
    ) -> Result<(), PeerError> {
        match self.session.client_capabilities() {
            Some(capabilities) if has(&capabilities) => Ok(()),
            _ => Err(PeerError::NotSupported(name)),
        }
    }
}
