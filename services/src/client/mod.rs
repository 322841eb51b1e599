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
    CreateMessageRequestParams, CreateMessageResult, DiscoverResult, ElicitRequestParams,
    ElicitResult, GetPromptRequestParams, GetPromptResult, Implementation, InitializeRequestParams,
    InitializeResult, InputRequiredResult, JsonObject, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
    PaginatedRequestParams, ProgressNotificationParams, ProgressToken, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResult, RequestMeta, Root, SetLevelRequestParams,
    SubscribeRequestParams, UNSUPPORTED_PROTOCOL_VERSION, methods,
};
use crate::transport::Transport;

use handlers::Handlers;
pub use handlers::NotificationHandler;

/// How many `input_required` rounds a request may take.
const MAX_INPUT_ROUNDS: usize = 8;

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
    /// The revision in use when it is a modern (per-request `_meta`) one.
    modern: Mutex<Option<ProtocolVersion>>,
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

    /// The protocol revision to ask for (default 2025-11-25, the newest
    /// revision that has `initialize`). With a modern revision (2026-07-28)
    /// [`McpClient::initialize`] calls `server/discover` and falls back to
    /// `initialize` for a legacy server; requests then carry their version,
    /// capabilities and client info in `_meta`, and the server's
    /// `input_required` results are answered with the handlers and retried
    /// (multi round-trip requests).
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
                modern: Mutex::new(None),
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

/// The revisions this client speaks among the `data.supported` of an
/// `UnsupportedProtocolVersionError`; `None` when the error lists none.
fn versions_in_common(error: &ErrorObject) -> Option<Vec<ProtocolVersion>> {
    let supported = error.data.as_ref()?.get("supported")?.as_array()?;
    Some(
        supported
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|v| v.parse::<ProtocolVersion>().ok())
            .filter(|v| ProtocolVersion::SUPPORTED.contains(v))
            .collect(),
    )
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
    /// revision this client speaks, then `notifications/initialized`. For a
    /// modern revision, `server/discover` first (see
    /// [`McpClientBuilder::protocol_version`]). When the server refuses our
    /// revision with an `UnsupportedProtocolVersionError` (-32022), the
    /// `supported` list of that error decides: the newest modern revision
    /// both speak is asked for once more, else `initialize` goes out with
    /// the newest legacy revision both speak (2026-07-28, basic/versioning,
    /// "Protocol Version Negotiation").
    pub async fn initialize(&self) -> Result<InitializeResult, PeerError> {
        let mut legacy = if self.inner.version.uses_initialize() {
            self.inner.version
        } else {
            ProtocolVersion::LATEST_LEGACY
        };
        if self.inner.version.is_stateless() {
            let mut version = self.inner.version;
            for attempt in 0..2 {
                match self.discover(version).await {
                    Ok(Some(result)) => return Ok(result),
                    // A legacy server: fall back to its handshake.
                    Ok(None) => break,
                    Err(PeerError::Remote { error, .. })
                        if error.code == crate::jsonrpc::ErrorCode::METHOD_NOT_FOUND =>
                    {
                        break;
                    }
                    Err(PeerError::Remote { method, error })
                        if error.code == UNSUPPORTED_PROTOCOL_VERSION =>
                    {
                        // No usable list: perhaps a legacy server; try its
                        // handshake.
                        let Some(common) = versions_in_common(&error) else {
                            break;
                        };
                        let modern = common.iter().copied().filter(|v| v.is_stateless()).max();
                        if let Some(modern) = modern.filter(|_| attempt == 0) {
                            tracing::debug!(target: "mcp_tower::client", refused = version.as_str(), retry = modern.as_str(), "the server refused our protocol version; asking again");
                            version = modern;
                            continue;
                        }
                        match common.iter().copied().filter(|v| v.uses_initialize()).max() {
                            Some(version) => {
                                legacy = version;
                                break;
                            }
                            None => return Err(PeerError::Remote { method, error }),
                        }
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        let version = legacy;
        let params = InitializeRequestParams::new(
            version.as_str(),
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

    /// `server/discover` with the modern revision `asked`: `Some` with the
    /// server's answer as an [`InitializeResult`] when it speaks a modern
    /// revision we do, `None` when it speaks only legacy ones.
    async fn discover(
        &self,
        asked: ProtocolVersion,
    ) -> Result<Option<InitializeResult>, PeerError> {
        let mut params = JsonObject::new();
        params.insert("_meta".to_owned(), self.modern_meta(asked)?);
        let result: DiscoverResult = self
            .inner
            .peer
            .request(methods::SERVER_DISCOVER, &params)
            .await?;
        let chosen = ProtocolVersion::SUPPORTED
            .iter()
            .copied()
            .filter(|v| v.is_stateless())
            .filter(|v| result.supported_versions.iter().any(|s| s == v.as_str()))
            .max_by_key(|v| (*v == asked, v.as_str().to_owned()));
        let Some(version) = chosen else {
            return Ok(None);
        };
        let server_info = result
            .meta
            .as_ref()
            .and_then(|m| m.server_info.clone())
            .unwrap_or_else(|| Implementation::new("unknown", "unknown"));
        let mut answer = InitializeResult::new(version.as_str(), result.capabilities, server_info);
        answer.instructions = result.instructions;
        *self
            .inner
            .modern
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(version);
        *self
            .inner
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(answer.clone());
        tracing::debug!(target: "mcp_tower::client", server = %answer.server_info.name, version = version.as_str(), "discovered");
        Ok(Some(answer))
    }

    /// The `_meta` every modern request carries.
    fn modern_meta(&self, version: ProtocolVersion) -> Result<Value, PeerError> {
        let mut meta = RequestMeta::modern(version.as_str(), self.inner.handlers.capabilities());
        meta.client_info = Some(self.inner.info.clone());
        serde_json::to_value(meta).map_err(|e| PeerError::Encode {
            method: "_meta".to_owned(),
            reason: e.to_string(),
        })
    }

    /// Sends a request with raw params and returns its raw result. In a
    /// modern session the params get the request `_meta`, and
    /// `input_required` results are answered and retried. A modern request
    /// the server refuses with an `UnsupportedProtocolVersionError` (-32022)
    /// is sent once more with the newest modern revision its `supported`
    /// list shares with us, which the session then keeps.
    pub async fn request_value(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, PeerError> {
        let modern = *self
            .inner
            .modern
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(version) = modern else {
            return self.inner.peer.request_value(method, params).await;
        };
        let params = match params {
            None => JsonObject::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(PeerError::Encode {
                    method: method.to_owned(),
                    reason: "params must be a JSON object".to_owned(),
                });
            }
        };
        let first = self.modern_request(method, params.clone(), version).await;
        let retry = match &first {
            Err(PeerError::Remote { error, .. }) if error.code == UNSUPPORTED_PROTOCOL_VERSION => {
                versions_in_common(error)
                    .and_then(|common| common.into_iter().filter(|v| v.is_stateless()).max())
            }
            _ => None,
        };
        let Some(retry) = retry else {
            return first;
        };
        tracing::debug!(target: "mcp_tower::client", method, refused = version.as_str(), retry = retry.as_str(), "the server refused our protocol version; asking again");
        *self
            .inner
            .modern
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(retry);
        if let Some(server) = self
            .inner
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            retry.as_str().clone_into(&mut server.protocol_version);
        }
        self.modern_request(method, params, retry).await
    }

    /// One modern request of revision `version`: `params` get the request
    /// `_meta`, and `input_required` results are answered and retried.
    async fn modern_request(
        &self,
        method: &str,
        mut params: JsonObject,
        version: ProtocolVersion,
    ) -> Result<Value, PeerError> {
        let Value::Object(ours) = self.modern_meta(version)? else {
            return Err(PeerError::Encode {
                method: method.to_owned(),
                reason: "_meta is not an object".to_owned(),
            });
        };
        match params.get_mut("_meta") {
            Some(Value::Object(theirs)) => theirs.extend(ours),
            _ => {
                params.insert("_meta".to_owned(), Value::Object(ours));
            }
        }
        for _ in 0..MAX_INPUT_ROUNDS {
            let result = self
                .inner
                .peer
                .request_value(method, Some(Value::Object(params.clone())))
                .await?;
            if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
                return Ok(result);
            }
            let interim: InputRequiredResult =
                serde_json::from_value(result).map_err(|e| PeerError::Malformed {
                    method: method.to_owned(),
                    reason: e.to_string(),
                })?;
            let mut responses = JsonObject::new();
            for (key, request) in interim.input_requests.unwrap_or_default() {
                let wire = serde_json::to_value(&request).unwrap_or_default();
                let answer = self
                    .inner
                    .handlers
                    .answer(request.method(), wire.get("params").cloned())
                    .await
                    .map_err(|error| PeerError::Remote {
                        method: request.method().to_owned(),
                        error,
                    })?;
                responses.insert(key, answer);
            }
            params.insert("inputResponses".to_owned(), Value::Object(responses));
            match interim.request_state {
                Some(state) => params.insert("requestState".to_owned(), Value::String(state)),
                None => params.remove("requestState"),
            };
        }
        Err(PeerError::Malformed {
            method: method.to_owned(),
            reason: format!("still input_required after {MAX_INPUT_ROUNDS} rounds"),
        })
    }

    /// Sends a request and decodes its result.
    pub async fn request<P: Serialize, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, PeerError> {
        let params = match serde_json::to_value(params) {
            Ok(Value::Null) => None,
            Ok(value) => Some(value),
            Err(e) => {
                return Err(PeerError::Encode {
                    method: method.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        let value = self.request_value(method, params).await?;
        serde_json::from_value(value).map_err(|e| PeerError::Malformed {
            method: method.to_owned(),
            reason: e.to_string(),
        })
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
        let client = self.clone();
        Box::pin(async move { client.request_value(&request.method, request.params).await })
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
