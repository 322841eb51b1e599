//! [`McpServer`]: the server side of MCP as a `tower::Service` over JSON-RPC
//! messages, so per-message middleware (timeouts, concurrency limits,
//! tracing, per-tool authorization) is plain tower.
//!
//! Served so far: the lifecycle of the revisions that start with
//! `initialize` (2024-11-05 to 2025-11-25: version negotiation,
//! `notifications/initialized`, requests refused before `initialize`),
//! `ping`, `logging/setLevel`, typed tools (`tools/list`, `tools/call`),
//! resources (`resources/list`, `resources/read`) and prompts
//! (`prompts/list`, `prompts/get`). Resource templates and subscriptions,
//! completion, progress, cancellation, server-to-client requests and the
//! session-less 2026-07-28 revision are still to come.
//!
//! ```
//! use mcp_tower_services::server::{McpServer, ToolError};
//! use mcp_tower_services::protocol::CallToolResult;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Add { a: i64, b: i64 }
//!
//! let server = McpServer::builder()
//!     .name("calculator")
//!     .tool("add", "Adds two integers", |_ctx, args: Add| async move {
//!         Ok::<_, ToolError>(CallToolResult::text((args.a + args.b).to_string()))
//!     })
//!     .build()
//!     .unwrap();
//! # let _ = server;
//! ```

mod catalog;
mod context;
mod session;
mod tool;

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_service::Service;

use crate::jsonrpc::{ErrorObject, ErrorResponse, Message, Notification, Request, Response};
use crate::peer::Outbox;
use crate::protocol::{
    CallToolRequestParams, CallToolResult, CancelledNotificationParams, GetPromptRequestParams,
    GetPromptResult, Implementation, InitializeRequestParams, InitializeResult, ListPromptsResult,
    ListResourcesResult, ListToolsResult, ProgressToken, Prompt, PromptsCapability,
    ProtocolVersion, RESOURCE_NOT_FOUND, ReadResourceRequestParams, ReadResourceResult, Resource,
    ResourceContents, ResourcesCapability, ServerCapabilities, SetLevelRequestParams,
    SubscribeRequestParams, ToolsCapability, UnsubscribeRequestParams, methods,
};

use catalog::{PromptEntry, ResourceEntry};
pub use context::{RequestContext, ToolContext};
pub use session::{Phase, Session};
use tool::ToolEntry;
pub use tool::{ToolDefinitionError, ToolError};

/// One incoming message, with the session it belongs to and the extensions
/// of the transport request that carried it.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServerRequest {
    /// The message.
    pub message: Message,
    /// The client's session.
    pub session: Session,
    /// Extensions from the transport (for example the HTTP request's, where
    /// the auth layers put the caller's identity).
    pub extensions: http::Extensions,
    /// Where messages about this request go before its answer (progress,
    /// log messages, requests to the client); the session's outbox when
    /// `None`. Streamable HTTP sets it to the request's response stream.
    pub outbox: Option<Outbox>,
}

impl ServerRequest {
    /// A message of `session` with no extensions.
    pub fn new(message: Message, session: Session) -> Self {
        Self {
            message,
            session,
            extensions: http::Extensions::new(),
            outbox: None,
        }
    }

    /// Routes messages about this request to `outbox`.
    #[must_use]
    pub fn with_outbox(mut self, outbox: Outbox) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Adds the transport's extensions.
    #[must_use]
    pub fn with_extensions(mut self, extensions: http::Extensions) -> Self {
        self.extensions = extensions;
        self
    }
}

struct Inner {
    info: Implementation,
    instructions: Option<String>,
    tools: Vec<ToolEntry>,
    tool_index: HashMap<String, usize>,
    resources: Vec<ResourceEntry>,
    prompts: Vec<PromptEntry>,
}

/// The MCP server: cheap to clone; one instance serves every session.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

/// Builder for [`McpServer`].
pub struct McpServerBuilder {
    info: Implementation,
    instructions: Option<String>,
    tools: Vec<ToolEntry>,
    resources: Vec<ResourceEntry>,
    prompts: Vec<PromptEntry>,
    error: Option<ToolDefinitionError>,
}

impl McpServer {
    /// A builder; the server is named after this crate until
    /// [`McpServerBuilder::name`] is called.
    pub fn builder() -> McpServerBuilder {
        McpServerBuilder {
            info: Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
            instructions: None,
            tools: Vec::new(),
            resources: Vec::new(),
            prompts: Vec::new(),
            error: None,
        }
    }
}

impl McpServerBuilder {
    /// The server's name in `serverInfo`.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.info.name = name.into();
        self
    }

    /// The server's version in `serverInfo`.
    #[must_use]
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.info.version = version.into();
        self
    }

    /// Instructions for the model, sent in the `initialize` result.
    #[must_use]
    pub fn instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Adds a tool whose arguments are `A`; `A`'s JSON Schema becomes the
    /// tool's `inputSchema`.
    #[must_use]
    pub fn tool<A, F, Fut>(mut self, name: &str, description: &str, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        match ToolEntry::typed(name, description, handler) {
            Ok(entry) => self.tools.push(entry),
            Err(error) => {
                self.error.get_or_insert(error);
            }
        }
        self
    }

    /// Adds a resource; `read` returns its contents.
    #[must_use]
    pub fn resource<F, Fut>(mut self, resource: Resource, read: F) -> Self
    where
        F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, ToolError>> + Send + 'static,
    {
        self.resources.push(ResourceEntry::new(resource, read));
        self
    }

    /// Adds a prompt; `get` fills it in from the client's arguments (the
    /// required ones are checked first).
    #[must_use]
    pub fn prompt<F, Fut>(mut self, prompt: Prompt, get: F) -> Self
    where
        F: Fn(RequestContext, BTreeMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, ToolError>> + Send + 'static,
    {
        self.prompts.push(PromptEntry::new(prompt, get));
        self
    }

    /// Builds the server, refusing tools with bad argument types and
    /// duplicate tool, resource or prompt names.
    pub fn build(self) -> Result<McpServer, ToolDefinitionError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut tool_index = HashMap::new();
        for (i, entry) in self.tools.iter().enumerate() {
            if tool_index.insert(entry.tool.name.clone(), i).is_some() {
                return Err(ToolDefinitionError::Duplicate(entry.tool.name.clone()));
            }
        }
        let mut uris = std::collections::HashSet::new();
        if let Some(r) = self
            .resources
            .iter()
            .find(|r| !uris.insert(&r.resource.uri))
        {
            return Err(ToolDefinitionError::Duplicate(r.resource.uri.clone()));
        }
        let mut names = std::collections::HashSet::new();
        if let Some(p) = self.prompts.iter().find(|p| !names.insert(&p.prompt.name)) {
            return Err(ToolDefinitionError::Duplicate(p.prompt.name.clone()));
        }
        Ok(McpServer {
            inner: Arc::new(Inner {
                info: self.info,
                instructions: self.instructions,
                tools: self.tools,
                tool_index,
                resources: self.resources,
                prompts: self.prompts,
            }),
        })
    }
}

type Outcome = Result<Value, ErrorObject>;

fn params<T: DeserializeOwned>(params: Option<Value>) -> Result<T, ErrorObject> {
    serde_json::from_value(params.unwrap_or_else(|| Value::Object(serde_json::Map::new())))
        .map_err(|e| ErrorObject::invalid_params(format!("invalid params: {e}")))
}

fn to_value<T: Serialize>(result: &T) -> Outcome {
    serde_json::to_value(result).map_err(|e| ErrorObject::internal_error(e.to_string()))
}

impl Inner {
    fn capabilities(&self) -> ServerCapabilities {
        ServerCapabilities {
            logging: Some(serde_json::Map::new()),
            tools: (!self.tools.is_empty()).then(ToolsCapability::default),
            resources: (!self.resources.is_empty()).then(ResourcesCapability::default),
            prompts: (!self.prompts.is_empty()).then(PromptsCapability::default),
            ..ServerCapabilities::default()
        }
    }

    fn initialize(&self, session: &Session, params: InitializeRequestParams) -> Outcome {
        if session.phase() != Phase::New {
            return Err(ErrorObject::invalid_request(
                "the session is already initialized",
            ));
        }
        let version = ProtocolVersion::negotiate(&params.protocol_version);
        session.initialize(version, params.client_info, params.capabilities);
        tracing::debug!(target: "mcp_tower::server", requested = %params.protocol_version, negotiated = version.as_str(), "initialize");
        let mut result =
            InitializeResult::new(version.as_str(), self.capabilities(), self.info.clone());
        result.instructions.clone_from(&self.instructions);
        to_value(&result)
    }

    async fn call_tool(&self, context: RequestContext, params: CallToolRequestParams) -> Outcome {
        let Some(&index) = self.tool_index.get(&params.name) else {
            return Err(ErrorObject::invalid_params(format!(
                "unknown tool: {}",
                params.name
            )));
        };
        let result = (self.tools[index].handler)(context, params.arguments).await;
        to_value(&result)
    }

    async fn read_resource(&self, context: RequestContext, uri: &str) -> Outcome {
        let Some(entry) = self.resources.iter().find(|r| r.resource.uri == uri) else {
            return Err(
                ErrorObject::new(RESOURCE_NOT_FOUND, format!("resource not found: {uri}"))
                    .with_data(serde_json::json!({ "uri": uri })),
            );
        };
        let contents = (entry.read)(context)
            .await
            .map_err(|e| ErrorObject::internal_error(format!("reading {uri} failed: {e}")))?;
        to_value(&ReadResourceResult::new(contents))
    }

    async fn get_prompt(&self, context: RequestContext, params: GetPromptRequestParams) -> Outcome {
        let Some(entry) = self.prompts.iter().find(|p| p.prompt.name == params.name) else {
            return Err(ErrorObject::invalid_params(format!(
                "unknown prompt: {}",
                params.name
            )));
        };
        let arguments = params.arguments.unwrap_or_default();
        if let Some(missing) = entry.missing_argument(&arguments) {
            return Err(ErrorObject::invalid_params(format!(
                "prompt {} needs the argument {missing}",
                params.name
            )));
        }
        let result = (entry.get)(context, arguments).await.map_err(|e| {
            ErrorObject::internal_error(format!("prompt {} failed: {e}", params.name))
        })?;
        to_value(&result)
    }

    async fn request(&self, context: RequestContext, call: Request) -> Outcome {
        let session = &context.session;
        match call.method.as_str() {
            methods::INITIALIZE => return self.initialize(session, params(call.params)?),
            methods::PING => return Ok(Value::Object(serde_json::Map::new())),
            _ => {}
        }
        if session.phase() == Phase::New {
            return Err(ErrorObject::invalid_request(
                "the session is not initialized: send initialize first",
            ));
        }
        match call.method.as_str() {
            methods::TOOLS_LIST => {
                let tools = self.tools.iter().map(|t| t.tool.clone()).collect();
                to_value(&ListToolsResult::new(tools))
            }
            methods::TOOLS_CALL => self.call_tool(context, params(call.params)?).await,
            methods::RESOURCES_LIST => {
                let resources = self.resources.iter().map(|r| r.resource.clone()).collect();
                to_value(&ListResourcesResult::new(resources))
            }
            methods::RESOURCES_READ => {
                let params: ReadResourceRequestParams = params(call.params)?;
                self.read_resource(context, &params.uri).await
            }
            methods::RESOURCES_SUBSCRIBE => {
                let params: SubscribeRequestParams = params(call.params)?;
                session.subscribe(params.uri);
                Ok(Value::Object(serde_json::Map::new()))
            }
            methods::RESOURCES_UNSUBSCRIBE => {
                let params: UnsubscribeRequestParams = params(call.params)?;
                session.unsubscribe(&params.uri);
                Ok(Value::Object(serde_json::Map::new()))
            }
            methods::PROMPTS_LIST => {
                let prompts = self.prompts.iter().map(|p| p.prompt.clone()).collect();
                to_value(&ListPromptsResult::new(prompts))
            }
            methods::PROMPTS_GET => self.get_prompt(context, params(call.params)?).await,
            methods::LOGGING_SET_LEVEL => {
                let level: SetLevelRequestParams = params(call.params)?;
                session.set_log_level(level.level);
                Ok(Value::Object(serde_json::Map::new()))
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }

    fn notification(session: &Session, notification: Notification) {
        match notification.method.as_str() {
            methods::INITIALIZED => session.initialized(),
            methods::NOTIFICATION_CANCELLED => {
                let cancel = notification
                    .params
                    .and_then(|p| serde_json::from_value::<CancelledNotificationParams>(p).ok());
                if let Some(id) = cancel.and_then(|c| c.request_id) {
                    let found = session.cancel(&id);
                    tracing::debug!(target: "mcp_tower::server", %id, found, "request cancelled by the client");
                }
            }
            method => {
                tracing::debug!(target: "mcp_tower::server", %method, "notification ignored");
            }
        }
    }

    async fn handle(&self, request: ServerRequest) -> Option<Message> {
        let ServerRequest {
            message,
            session,
            extensions,
            outbox,
        } = request;
        match message {
            Message::Request(call) => {
                let id = call.id.clone();
                let method = call.method.clone();
                let Some(flight) = session.begin(&id) else {
                    let error = ErrorObject::invalid_request(format!(
                        "a request with id {id} is already in flight"
                    ));
                    return Some(Message::Error(ErrorResponse::new(Some(id), error)));
                };
                let peer = match outbox {
                    Some(outbox) => session.peer().with_outbox(outbox),
                    None => session.peer(),
                };
                let mut context = RequestContext::new(
                    extensions,
                    session.clone(),
                    id.clone(),
                    peer,
                    flight.token.clone(),
                );
                context.progress_token = progress_token(call.params.as_ref());
                let outcome = tokio::select! {
                    biased;
                    () = flight.token.cancelled() => {
                        tracing::debug!(target: "mcp_tower::server", %method, %id, "cancelled; no answer sent");
                        return None;
                    }
                    outcome = self.request(context, call) => outcome,
                };
                drop(flight);
                Some(match outcome {
                    Ok(result) => Message::Response(Response { id, result }),
                    Err(error) => {
                        tracing::debug!(target: "mcp_tower::server", %method, code = error.code.0, "request refused");
                        Message::Error(ErrorResponse::new(Some(id), error))
                    }
                })
            }
            Message::Notification(notification) => {
                Self::notification(&session, notification);
                None
            }
            answer @ (Message::Response(_) | Message::Error(_)) => {
                if let Some(stray) = session.pending().resolve(answer) {
                    tracing::debug!(target: "mcp_tower::server", message = ?stray, "error without id from the client");
                }
                None
            }
        }
    }
}

/// `_meta.progressToken` of a request's params.
fn progress_token(params: Option<&Value>) -> Option<ProgressToken> {
    let token = params?.get("_meta")?.get("progressToken")?;
    serde_json::from_value(token.clone()).ok()
}

/// The future of [`McpServer`].
pub type ServerFuture = Pin<Box<dyn Future<Output = Result<Option<Message>, Infallible>> + Send>>;

impl Service<ServerRequest> for McpServer {
    type Response = Option<Message>;
    type Error = Infallible;
    type Future = ServerFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ServerRequest) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { Ok(inner.handle(request).await) })
    }
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.inner.info.name)
            .field("tools", &self.inner.tool_index.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for McpServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServerBuilder")
            .field("name", &self.info.name)
            .finish_non_exhaustive()
    }
}
