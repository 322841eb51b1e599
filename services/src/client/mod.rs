//! [`McpClient`]: the client side of MCP over any [`Transport`], as a
//! `tower::Service` for raw requests ([`ClientRequest`]) with a typed API on
//! top (`initialize`, `list_tools`, `call_tool`, `read_resource`, ...), and
//! handlers for what the server asks of the client (sampling, elicitation,
//! roots) and tells it (notifications).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_tower_services::client::McpClient;
//! use mcp_tower_services::transport::StreamTransport;
//!
//! let (reader, writer) = tokio::io::duplex(64 * 1024);
//! # let _ = writer;
//! let transport = StreamTransport::new(reader, tokio::io::sink());
//! let client = McpClient::builder().name("my-client").connect(transport).await?;
//! let server = client.initialize().await?;
//! println!("connected to {}", server.server_info.name);
//! let result = client
//!     .call_tool("add", serde_json::json!({"a": 1, "b": 2}))
//!     .await?;
//! # let _ = result;
//! # Ok(())
//! # }
//! ```

mod dispatch;
mod handlers;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;
use tower_service::Service;

use crate::jsonrpc::{ErrorObject, Notification};
use crate::peer::{Peer, PeerError};
use crate::protocol::{
    CallToolRequestParams, CallToolResult, CompleteRequestParams, CompleteResult,
    CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams, ElicitResult,
    GetPromptRequestParams, GetPromptResult, Implementation, InitializeRequestParams,
    InitializeResult, JsonObject, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, LoggingLevel, PaginatedRequestParams,
    ProgressNotificationParams, ProgressToken, ProtocolVersion, ReadResourceRequestParams,
    ReadResourceResult, RequestMeta, Root, SetLevelRequestParams, SubscribeRequestParams, methods,
};
use crate::transport::Transport;

use handlers::Handlers;
pub use handlers::NotificationHandler;

type ProgressCallback = Arc<dyn Fn(ProgressNotificationParams) + Send + Sync>;

/// Progress callbacks by token, shared with the dispatch task.
pub(crate) type ProgressTable = Mutex<HashMap<ProgressToken, ProgressCallback>>;

/// A raw request to the server: the method and its params.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientRequest {
    /// The method, e.g. `tools/call`.
    pub method: String,
    /// The params (an object), if any.
    pub params: Option<Value>,
}

impl ClientRequest {
    /// A request for `method` with `params`.
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        Self {
            method: method.into(),
            params,
        }
    }
}

/// Builder for [`McpClient`].
pub struct McpClientBuilder {
    info: Implementation,
    version: ProtocolVersion,
    timeout: Duration,
    handlers: Handlers,
}

struct Inner {
    peer: Peer,
    info: Implementation,
    version: ProtocolVersion,
    handlers: Handlers,
    server: Mutex<Option<InitializeResult>>,
    progress: Arc<ProgressTable>,
    next_token: AtomicU64,
    dispatch: JoinHandle<()>,
    flushed: Mutex<Option<JoinHandle<io::Result<()>>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.dispatch.abort();
    }
}

/// An MCP client connected to one server; cheap to clone, clones share the
/// connection, which closes when the last clone is dropped (or on
/// [`McpClient::close`]).
#[derive(Clone)]
pub struct McpClient {
    inner: Arc<Inner>,
}

impl McpClient {
    /// A builder; the client is named after this crate until
    /// [`McpClientBuilder::name`] is called.
    pub fn builder() -> McpClientBuilder {
        McpClientBuilder {
            info: Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
            version: ProtocolVersion::LATEST_LEGACY,
            timeout: crate::peer::DEFAULT_REQUEST_TIMEOUT,
            handlers: Handlers::default(),
        }
    }
}

impl McpClientBuilder {
    /// The client's name in `clientInfo`.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.info.name = name.into();
        self
    }

    /// The client's version in `clientInfo`.
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.info.version = version.into();
        self
    }

    /// The protocol revision to ask for in `initialize` (default 2025-11-25,
    /// the newest revision that has `initialize`).
    #[must_use]
    pub fn protocol_version(mut self, version: ProtocolVersion) -> Self {
        self.version = version;
        self
    }

    /// How long a request waits for its answer (default 60 s); then it is
    /// cancelled and fails with [`PeerError::Timeout`].
    #[must_use]
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Answers `sampling/createMessage` (and declares the `sampling`
    /// capability).
    #[must_use]
    pub fn on_sampling<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(CreateMessageRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CreateMessageResult, ErrorObject>> + Send + 'static,
    {
        self.handlers.set_sampling(handler);
        self
    }

    /// Answers `elicitation/create` (and declares the `elicitation`
    /// capability).
    #[must_use]
    pub fn on_elicitation<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(ElicitRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ElicitResult, ErrorObject>> + Send + 'static,
    {
        self.handlers.set_elicitation(handler);
        self
    }

    /// Offers `roots` for `roots/list` (and declares the `roots`
    /// capability); change them later with [`McpClient::set_roots`].
    #[must_use]
    pub fn roots(mut self, roots: Vec<Root>) -> Self {
        self.handlers.roots = Some(Arc::new(Mutex::new(roots)));
        self
    }

    /// Called for every notification from the server except progress
    /// (which goes to the callback of the request it belongs to).
    #[must_use]
    pub fn on_notification(
        mut self,
        handler: impl Fn(Notification) + Send + Sync + 'static,
    ) -> Self {
        self.handlers.notification = Some(Arc::new(handler));
        self
    }

    /// Opens `transport` and starts reading from it. Call
    /// [`McpClient::initialize`] next.
    pub async fn connect<T: Transport>(self, transport: T) -> io::Result<McpClient> {
        let channel = transport.open().await?;
        let pending = Arc::new(crate::peer::PendingRequests::new());
        let peer = Peer::new(channel.outbox, pending).with_timeout(self.timeout);
        let progress = Arc::new(ProgressTable::default());
        let dispatch = tokio::spawn(dispatch::run(
            channel.incoming,
            peer.clone(),
            self.handlers.clone(),
            Arc::clone(&progress),
        ));
        Ok(McpClient {
            inner: Arc::new(Inner {
                peer,
                info: self.info,
                version: self.version,
                handlers: self.handlers,
                server: Mutex::new(None),
                progress,
                next_token: AtomicU64::new(0),
                dispatch,
                flushed: Mutex::new(Some(channel.flushed)),
            }),
        })
    }
}

/// Unregisters a progress callback when its request ends.
struct ProgressGuard<'a> {
    table: &'a ProgressTable,
    token: ProgressToken,
}

impl Drop for ProgressGuard<'_> {
    fn drop(&mut self) {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.token);
    }
}

fn empty() -> Value {
    Value::Object(serde_json::Map::new())
}

impl McpClient {
    /// The peer: the server, for raw requests and notifications.
    pub fn peer(&self) -> &Peer {
        &self.inner.peer
    }

    /// The server's `initialize` result, once initialized.
    pub fn server(&self) -> Option<InitializeResult> {
        self.inner
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The negotiated protocol revision, once initialized.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.server()
            .and_then(|s| s.protocol_version.parse::<ProtocolVersion>().ok())
    }

    /// Opens the session: `initialize`, a check that the server chose a
    /// revision this client speaks, then `notifications/initialized`.
    pub async fn initialize(&self) -> Result<InitializeResult, PeerError> {
        let params = InitializeRequestParams::new(
            self.inner.version.as_str(),
            self.inner.handlers.capabilities(),
            self.inner.info.clone(),
        );
        let result: InitializeResult = self.request(methods::INITIALIZE, &params).await?;
        let known = result
            .protocol_version
            .parse::<ProtocolVersion>()
            .ok()
            .filter(|v| v.uses_initialize());
        if known.is_none() {
            return Err(PeerError::Malformed {
                method: methods::INITIALIZE.to_owned(),
                reason: format!(
                    "the server chose protocol version {:?}, which this client does not speak",
                    result.protocol_version
                ),
            });
        }
        *self
            .inner
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(result.clone());
        self.inner
            .peer
            .notify(methods::INITIALIZED, &empty())
            .await?;
        tracing::debug!(target: "mcp_tower::client", server = %result.server_info.name, version = %result.protocol_version, "initialized");
        Ok(result)
    }

    /// Sends a request and decodes its result.
    pub async fn request<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, PeerError> {
        self.inner.peer.request(method, params).await
    }

    /// Sends a notification.
    pub async fn notify<P: Serialize>(&self, method: &str, params: &P) -> Result<(), PeerError> {
        self.inner.peer.notify(method, params).await
    }

    /// `ping`.
    pub async fn ping(&self) -> Result<(), PeerError> {
        let _: Value = self.request(methods::PING, &empty()).await?;
        Ok(())
    }

    /// Every page of a list method, concatenated.
    async fn list_all<R, T>(
        &self,
        method: &str,
        items: impl Fn(R) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, PeerError>
    where
        R: DeserializeOwned,
    {
        let mut all = Vec::new();
        let mut params = PaginatedRequestParams::default();
        // A server that keeps returning cursors is cut off rather than
        // followed forever.
        for _ in 0..1000 {
            let page: R = self.request(method, &params).await?;
            let (page, next) = items(page);
            all.extend(page);
            match next {
                Some(cursor) => params = PaginatedRequestParams::after(cursor),
                None => return Ok(all),
            }
        }
        Err(PeerError::Malformed {
            method: method.to_owned(),
            reason: "more than 1000 pages".to_owned(),
        })
    }

    /// `tools/list`, every page.
    pub async fn list_tools(&self) -> Result<Vec<crate::protocol::Tool>, PeerError> {
        self.list_all(methods::TOOLS_LIST, |r: ListToolsResult| {
            (r.tools, r.next_cursor)
        })
        .await
    }

    /// `tools/call` with these arguments (a JSON object).
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<CallToolResult, PeerError> {
        let mut params = CallToolRequestParams::new(name);
        params.arguments = match arguments {
            Value::Object(map) => Some(map),
            Value::Null => None,
            _ => {
                return Err(PeerError::Encode {
                    method: methods::TOOLS_CALL.to_owned(),
                    reason: "tool arguments must be a JSON object".to_owned(),
                });
            }
        };
        self.request(methods::TOOLS_CALL, &params).await
    }

    /// `tools/call` asking for progress: `on_progress` sees each
    /// `notifications/progress` of this call.
    pub async fn call_tool_with_progress(
        &self,
        name: &str,
        arguments: JsonObject,
        on_progress: impl Fn(ProgressNotificationParams) + Send + Sync + 'static,
    ) -> Result<CallToolResult, PeerError> {
        let token = ProgressToken::String(format!(
            "mcp-tower-{}",
            self.inner.next_token.fetch_add(1, Ordering::Relaxed)
        ));
        self.inner
            .progress
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), Arc::new(on_progress));
        let _guard = ProgressGuard {
            table: &self.inner.progress,
            token: token.clone(),
        };
        let mut params = CallToolRequestParams::new(name);
        params.arguments = Some(arguments);
        params.meta = Some(RequestMeta::with_progress_token(token));
        self.request(methods::TOOLS_CALL, &params).await
    }

    /// `resources/list`, every page.
    pub async fn list_resources(&self) -> Result<Vec<crate::protocol::Resource>, PeerError> {
        self.list_all(methods::RESOURCES_LIST, |r: ListResourcesResult| {
            (r.resources, r.next_cursor)
        })
        .await
    }

    /// `resources/templates/list`, every page.
    pub async fn list_resource_templates(
        &self,
    ) -> Result<Vec<crate::protocol::ResourceTemplate>, PeerError> {
        self.list_all(
            methods::RESOURCES_TEMPLATES_LIST,
            |r: ListResourceTemplatesResult| (r.resource_templates, r.next_cursor),
        )
        .await
    }

    /// `resources/read`.
    pub async fn read_resource(&self, uri: &str) -> Result<ReadResourceResult, PeerError> {
        self.request(
            methods::RESOURCES_READ,
            &ReadResourceRequestParams::new(uri),
        )
        .await
    }

    /// `resources/subscribe`.
    pub async fn subscribe(&self, uri: &str) -> Result<(), PeerError> {
        let _: Value = self
            .request(
                methods::RESOURCES_SUBSCRIBE,
                &SubscribeRequestParams::new(uri),
            )
            .await?;
        Ok(())
    }

    /// `resources/unsubscribe`.
    pub async fn unsubscribe(&self, uri: &str) -> Result<(), PeerError> {
        let _: Value = self
            .request(
                methods::RESOURCES_UNSUBSCRIBE,
                &SubscribeRequestParams::new(uri),
            )
            .await?;
        Ok(())
    }

    /// `prompts/list`, every page.
    pub async fn list_prompts(&self) -> Result<Vec<crate::protocol::Prompt>, PeerError> {
        self.list_all(methods::PROMPTS_LIST, |r: ListPromptsResult| {
            (r.prompts, r.next_cursor)
        })
        .await
    }

    /// `prompts/get`.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: std::collections::BTreeMap<String, String>,
    ) -> Result<GetPromptResult, PeerError> {
        let mut params = GetPromptRequestParams::new(name);
        params.arguments = Some(arguments);
        self.request(methods::PROMPTS_GET, &params).await
    }

    /// `completion/complete`.
    pub async fn complete(
        &self,
        params: &CompleteRequestParams,
    ) -> Result<CompleteResult, PeerError> {
        self.request(methods::COMPLETION_COMPLETE, params).await
    }

    /// `logging/setLevel`.
    pub async fn set_log_level(&self, level: LoggingLevel) -> Result<(), PeerError> {
        let _: Value = self
            .request(
                methods::LOGGING_SET_LEVEL,
                &SetLevelRequestParams::new(level),
            )
            .await?;
        Ok(())
    }

    /// Replaces the roots offered to the server and tells it
    /// (`notifications/roots/list_changed`). Fails with
    /// [`PeerError::NotSupported`] if the client was built without roots.
    pub async fn set_roots(&self, roots: Vec<Root>) -> Result<(), PeerError> {
        let Some(table) = &self.inner.handlers.roots else {
            return Err(PeerError::NotSupported("roots"));
        };
        *table.lock().unwrap_or_else(PoisonError::into_inner) = roots;
        self.notify(methods::NOTIFICATION_ROOTS_LIST_CHANGED, &empty())
            .await
    }

    /// Closes the connection and waits until everything sent was written.
    /// Other clones of this client keep it open until they are dropped too.
    pub async fn close(self) -> io::Result<()> {
        let flushed = self
            .inner
            .flushed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => {
                drop(inner);
                match flushed {
                    Some(writer) => writer.await.map_err(io::Error::other)?,
                    None => Ok(()),
                }
            }
            Err(_) => Ok(()),
        }
    }
}

/// The future of [`McpClient`] as a service.
pub type ClientFuture = Pin<Box<dyn Future<Output = Result<Value, PeerError>> + Send>>;

impl Service<ClientRequest> for McpClient {
    type Response = Value;
    type Error = PeerError;
    type Future = ClientFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.inner.peer.is_closed() {
            Poll::Ready(Err(PeerError::Closed))
        } else {
            Poll::Ready(Ok(()))
        }
    }

    fn call(&mut self, request: ClientRequest) -> Self::Future {
        let peer = self.inner.peer.clone();
        Box::pin(async move { peer.request_value(&request.method, request.params).await })
    }
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("name", &self.inner.info.name)
            .field("initialized", &self.server().is_some())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for McpClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClientBuilder")
            .field("name", &self.info.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}
