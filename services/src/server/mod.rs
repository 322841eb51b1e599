//! [`McpServer`]: the server side of MCP as a `tower::Service` over JSON-RPC
//! messages, so per-message middleware (timeouts, concurrency limits,
//! tracing, per-tool authorization) is plain tower; [`ErrorToJsonRpcLayer`]
//! turns the errors of layers such as `TimeoutLayer` into JSON-RPC answers
//! so the stack can still be served.
//!
//! Served so far:
//! - the lifecycle of the revisions that start with `initialize`
//!   (2024-11-05 to 2025-11-25: version negotiation,
//!   `notifications/initialized`, requests refused before `initialize`),
//!   `ping`;
//! - tools (`tools/list`, `tools/call`): typed ([`McpServerBuilder::tool`]),
//!   with structured output ([`McpServerBuilder::tool_with_output`]), or with
//!   a hand-written schema ([`McpServerBuilder::tool_raw`]); titles and
//!   annotations with [`McpServerBuilder::configure_tool`];
//! - resources (`resources/list`, `resources/read`), resource templates
//!   (`resources/templates/list`, RFC 6570 `{var}` and `{+var}`, see
//!   [`UriTemplate`]), subscriptions (`resources/subscribe`,
//!   `resources/unsubscribe`, [`McpServer::notify_resource_updated`]);
//! - prompts (`prompts/list`, `prompts/get`);
//! - completion (`completion/complete`) of prompt arguments and template
//!   variables;
//! - pagination of the four list methods ([`McpServerBuilder::page_size`]);
//! - list-change notifications and server-wide log messages
//!   ([`McpServer::notify_tools_list_changed`], [`McpServer::log`]);
//! - in handlers, through [`RequestContext`]: the transport's extensions,
//!   progress, log messages, cancellation (`notifications/cancelled` stops
//!   the handler and no answer is sent), and requests to the client
//!   (sampling, elicitation, roots);
//! - `logging/setLevel`.
//!
//! - the session-less 2026-07-28 revision side by side with the legacy ones
//!   (dual-era): `server/discover`, per-request `_meta` (version,
//!   capabilities, log level), -32022 for unsupported versions, `resultType`
//!   and `serverInfo` on results, caching hints, and multi round-trip
//!   requests: a handler's `elicit`, `create_message` or `list_roots` turns
//!   into an `input_required` result and the handler runs again when the
//!   client retries with the answers (so modern handlers must be safe to
//!   re-run up to their first input request); handlers can name their
//!   input requests ([`RequestContext::elicit_as`]) and carry state between
//!   rounds ([`RequestContext::set_request_state`]);
//! - handlers that fail their request with a JSON-RPC error
//!   ([`RequestContext::fail_request`]), for example -32021 when the client
//!   did not declare a capability the request needs
//!   ([`RequestContext::require_client_capabilities`]).
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
mod completion;
mod context;
mod error_layer;
mod listen;
mod modern;
mod notify;
mod pagination;
mod session;
mod templates;
mod tool;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::num::NonZeroUsize;
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
    CallToolRequestParams, CallToolResult, CancelledNotificationParams, CompleteRequestParams,
    DiscoverResult, GetPromptRequestParams, GetPromptResult, HEADER_MISMATCH, Implementation,
    InitializeRequestParams, InitializeResult, InputRequiredResult, JsonObject, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProgressToken, Prompt, PromptsCapability, ProtocolVersion, RESOURCE_NOT_FOUND,
    ReadResourceRequestParams, ReadResourceResult, Reference, Resource, ResourceContents,
    ResourceTemplate, ResourcesCapability, ServerCapabilities, SetLevelRequestParams,
    SubscribeRequestParams, Tool, ToolsCapability, UnsubscribeRequestParams, methods,
};

use catalog::{PromptEntry, ResourceEntry, TemplateEntry};
pub use catalog::{ResourceError, TemplateMatch};
pub use completion::CompletionRequest;
use completion::{Completers, Target};
pub use context::{RequestContext, ToolContext};
pub use error_layer::{BoxError, ErrorToJsonRpc, ErrorToJsonRpcLayer, ResponseFuture};
use notify::Sessions;
pub use session::{Phase, Session};
pub use templates::{UriTemplate, UriTemplateError, Variables};
use tool::ToolEntry;

use crate::protocol::request_headers::{HeaderParams, ParamHeaders};
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
    /// The `x-mcp-header` parameters of each tool, by index.
    tool_headers: Vec<HeaderParams>,
    resources: Vec<ResourceEntry>,
    templates: Vec<TemplateEntry>,
    prompts: Vec<PromptEntry>,
    completers: Completers,
    page_size: Option<NonZeroUsize>,
    subscriptions: bool,
    list_changed: bool,
    sessions: Sessions,
    /// Open `subscriptions/listen` streams (2026-07-28).
    listeners: listen::Listeners,
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
    templates: Vec<TemplateEntry>,
    prompts: Vec<PromptEntry>,
    completers: Completers,
    page_size: Option<NonZeroUsize>,
    subscriptions: bool,
    list_changed: bool,
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
            templates: Vec::new(),
            prompts: Vec::new(),
            completers: Completers::default(),
            page_size: None,
            subscriptions: false,
            list_changed: false,
            error: None,
        }
    }

    /// The capabilities the server advertises in `initialize`.
    pub fn capabilities(&self) -> ServerCapabilities {
        self.inner.capabilities()
    }
}

impl McpServerBuilder {
    /// Keeps the first definition error, reported by [`Self::build`].
    fn fail(&mut self, error: ToolDefinitionError) {
        self.error.get_or_insert(error);
    }

    fn add_tool(mut self, entry: Result<ToolEntry, ToolDefinitionError>) -> Self {
        match entry {
            Ok(entry) => self.tools.push(entry),
            Err(error) => self.fail(error),
        }
        self
    }

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
    /// tool's `inputSchema`. Arguments that do not decode as `A` are a tool
    /// error (`isError: true`) the model can read.
    #[must_use]
    pub fn tool<A, F, Fut>(self, name: &str, description: &str, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        self.add_tool(ToolEntry::typed(name, description, handler))
    }

    /// Adds a tool with structured output: arguments `A` as with
    /// [`Self::tool`], and a result `O` whose JSON Schema becomes the tool's
    /// `outputSchema`. The result carries `O` as `structuredContent` and, for
    /// clients that do not read it, the same JSON as a text block. `O` must
    /// serialize to a JSON object (revisions before 2026-07-28 require it).
    #[must_use]
    pub fn tool_with_output<A, O, F, Fut>(self, name: &str, description: &str, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + 'static,
        F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        self.add_tool(ToolEntry::with_output(name, description, handler))
    }

    /// Adds a tool described by hand (any JSON Schema as `inputSchema`,
    /// `outputSchema`, annotations, icons); the handler gets the arguments
    /// as they came (an empty object when none) and checks them itself.
    #[must_use]
    pub fn tool_raw<F, Fut>(self, tool: Tool, handler: F) -> Self
    where
        F: Fn(ToolContext, JsonObject) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, ToolError>> + Send + 'static,
    {
        self.add_tool(ToolEntry::raw(tool, handler))
    }

    /// Edits the description of the tool `name`, added before: its title,
    /// annotations, icons or `_meta`.
    ///
    /// ```
    /// # use mcp_tower_services::server::{McpServer, ToolError};
    /// # use mcp_tower_services::protocol::{CallToolResult, ToolAnnotations};
    /// # #[derive(serde::Deserialize, schemars::JsonSchema)] struct Path { path: String }
    /// let server = McpServer::builder()
    ///     .tool("read", "Reads a file", |_ctx, args: Path| async move {
    ///         Ok::<_, ToolError>(CallToolResult::text(args.path))
    ///     })
    ///     .configure_tool("read", |tool| {
    ///         tool.title = Some("Read a file".into());
    ///         let mut hints = ToolAnnotations::default();
    ///         hints.read_only_hint = Some(true);
    ///         tool.annotations = Some(hints);
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = server;
    /// ```
    #[must_use]
    pub fn configure_tool(mut self, name: &str, configure: impl FnOnce(&mut Tool)) -> Self {
        match self.tools.iter_mut().rev().find(|t| t.tool.name == name) {
            Some(entry) => configure(&mut entry.tool),
            None => self.fail(ToolDefinitionError::UnknownTool(name.to_owned())),
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

    /// Adds a resource template: `resources/read` of a URI no fixed resource
    /// has, that matches `template.uri_template` (RFC 6570 `{var}` and
    /// `{+var}`, see [`UriTemplate`]), calls `read` with the URI and its
    /// variables. Templates are tried in the order they were added.
    /// [`ResourceError::NotFound`] answers -32002 (nothing exists under these
    /// values); a [`ToolError`] converts into [`ResourceError::Failed`], so
    /// `?` works on it.
    #[must_use]
    pub fn resource_template<F, Fut>(mut self, template: ResourceTemplate, read: F) -> Self
    where
        F: Fn(RequestContext, TemplateMatch) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, ResourceError>> + Send + 'static,
    {
        match UriTemplate::parse(&template.uri_template) {
            Ok(matcher) => self
                .templates
                .push(TemplateEntry::new(template, matcher, read)),
            Err(error) => self.fail(error.into()),
        }
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

    /// Completes the argument `argument` of the prompt `prompt`
    /// (`completion/complete` with a `ref/prompt`): `complete` returns the
    /// candidates for what the user typed so far; the first 100 are sent,
    /// with `total` and `hasMore`. Adding any completer advertises the
    /// `completions` capability.
    #[must_use]
    pub fn complete_prompt_argument<F, Fut>(
        mut self,
        prompt: &str,
        argument: &str,
        complete: F,
    ) -> Self
    where
        F: Fn(RequestContext, CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.completers
            .insert(Target::Prompt(prompt.to_owned()), argument, complete);
        self
    }

    /// Completes the variable `variable` of the resource template
    /// `uri_template` (`completion/complete` with a `ref/resource`), as
    /// [`Self::complete_prompt_argument`] does for prompts.
    #[must_use]
    pub fn complete_template_variable<F, Fut>(
        mut self,
        uri_template: &str,
        variable: &str,
        complete: F,
    ) -> Self
    where
        F: Fn(RequestContext, CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        self.completers.insert(
            Target::Template(uri_template.to_owned()),
            variable,
            complete,
        );
        self
    }

    /// Splits `tools/list`, `resources/list`, `resources/templates/list` and
    /// `prompts/list` into pages of `size` items with opaque cursors; 0 (the
    /// default) sends every item in one page.
    #[must_use]
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = NonZeroUsize::new(size);
        self
    }

    /// Serves `resources/subscribe` and `resources/unsubscribe` and
    /// advertises `resources.subscribe`; then
    /// [`McpServer::notify_resource_updated`] reaches the subscribers.
    /// Without it, both methods are answered -32601.
    #[must_use]
    pub fn resource_subscriptions(mut self, enabled: bool) -> Self {
        self.subscriptions = enabled;
        self
    }

    /// Advertises `listChanged` for tools, resources and prompts (those the
    /// server has), so [`McpServer::notify_tools_list_changed`] and its
    /// siblings send their notifications.
    #[must_use]
    pub fn list_changed(mut self, enabled: bool) -> Self {
        self.list_changed = enabled;
        self
    }

    /// Builds the server, refusing tools with bad argument or output types,
    /// unparsable URI templates, duplicate tool, resource, template or prompt
    /// names, and completers for arguments that do not exist.
    pub fn build(self) -> Result<McpServer, ToolDefinitionError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut tool_index = HashMap::new();
        let mut tool_headers = Vec::with_capacity(self.tools.len());
        for (i, entry) in self.tools.iter().enumerate() {
            if tool_index.insert(entry.tool.name.clone(), i).is_some() {
                return Err(ToolDefinitionError::Duplicate(entry.tool.name.clone()));
            }
            let schema = Value::Object(entry.tool.input_schema.clone());
            let params = HeaderParams::from_input_schema(&schema).map_err(|error| {
                ToolDefinitionError::HeaderParam {
                    tool: entry.tool.name.clone(),
                    error,
                }
            })?;
            tool_headers.push(params);
        }
        first_duplicate(self.resources.iter().map(|r| &r.resource.uri))?;
        first_duplicate(self.templates.iter().map(|t| &t.template.uri_template))?;
        first_duplicate(self.prompts.iter().map(|p| &p.prompt.name))?;
        for (target, argument) in self.completers.targets() {
            let exists = match target {
                Target::Prompt(name) => self
                    .prompts
                    .iter()
                    .any(|p| &p.prompt.name == name && p.has_argument(argument)),
                Target::Template(uri) => self.templates.iter().any(|t| {
                    &t.template.uri_template == uri && t.matcher.variables().any(|v| v == argument)
                }),
            };
            if !exists {
                return Err(ToolDefinitionError::UnknownCompletionTarget {
                    reference: target.name().to_owned(),
                    argument: argument.to_owned(),
                });
            }
        }
        Ok(McpServer {
            inner: Arc::new(Inner {
                info: self.info,
                instructions: self.instructions,
                tools: self.tools,
                tool_index,
                tool_headers,
                resources: self.resources,
                templates: self.templates,
                prompts: self.prompts,
                completers: self.completers,
                page_size: self.page_size,
                subscriptions: self.subscriptions,
                list_changed: self.list_changed,
                sessions: Sessions::default(),
                listeners: listen::Listeners::default(),
            }),
        })
    }
}

fn first_duplicate<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), ToolDefinitionError> {
    let mut seen = HashSet::new();
    for name in names {
        if !seen.insert(name) {
            return Err(ToolDefinitionError::Duplicate(name.clone()));
        }
    }
    Ok(())
}

type Outcome = Result<Value, ErrorObject>;

fn params<T: DeserializeOwned>(params: Option<Value>) -> Result<T, ErrorObject> {
    serde_json::from_value(params.unwrap_or_else(|| Value::Object(serde_json::Map::new())))
        .map_err(|e| ErrorObject::invalid_params(format!("invalid params: {e}")))
}

fn to_value<T: Serialize>(result: &T) -> Outcome {
    serde_json::to_value(result).map_err(|e| ErrorObject::internal_error(e.to_string()))
}

fn empty() -> Value {
    Value::Object(serde_json::Map::new())
}

/// -32002 with `data.uri` (MCP: resources, error handling).
fn resource_not_found(uri: &str) -> ErrorObject {
    ErrorObject::new(RESOURCE_NOT_FOUND, format!("resource not found: {uri}"))
        .with_data(serde_json::json!({ "uri": uri }))
}

/// One page of `entries` as the list result `R`, built by `make`.
fn list_page<T, I, R: Serialize>(
    entries: &[T],
    method: &str,
    size: Option<NonZeroUsize>,
    request: Option<Value>,
    item: impl Fn(&T) -> I,
    make: impl FnOnce(Vec<I>, Option<String>) -> R,
) -> Outcome {
    let request: PaginatedRequestParams = params(request)?;
    let (page, next) = pagination::page(entries, method, size, request.cursor.as_deref())?;
    to_value(&make(page.iter().map(item).collect(), next))
}

impl Inner {
    fn has_resources(&self) -> bool {
        !self.resources.is_empty() || !self.templates.is_empty()
    }

    fn capabilities(&self) -> ServerCapabilities {
        let list_changed = self.list_changed.then_some(true);
        ServerCapabilities {
            logging: Some(serde_json::Map::new()),
            completions: (!self.completers.is_empty()).then(serde_json::Map::new),
            tools: (!self.tools.is_empty()).then(|| ToolsCapability {
                list_changed,
                ..ToolsCapability::default()
            }),
            resources: self.has_resources().then(|| ResourcesCapability {
                subscribe: self.subscriptions.then_some(true),
                list_changed,
                ..ResourcesCapability::default()
            }),
            prompts: (!self.prompts.is_empty()).then(|| PromptsCapability {
                list_changed,
                ..PromptsCapability::default()
            }),
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
        // From now on the server can reach the session on its own.
        self.sessions.register(session);
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
        // 2026-07-28 over Streamable HTTP: `Mcp-Param-*` headers must match
        // the arguments they mirror (the transport hands them over).
        if context.is_modern()
            && let Some(headers) = context.extensions.get::<ParamHeaders>()
            && let Some(mirrored) = self.tool_headers.get(index)
            && !mirrored.is_empty()
        {
            let arguments = params.arguments.clone().map(Value::Object);
            if let Err(why) = mirrored.check(arguments.as_ref(), |name| headers.get(name)) {
                return Err(ErrorObject::new(
                    HEADER_MISMATCH,
                    format!("Header mismatch: {why}"),
                ));
            }
        }
        let result = (self.tools[index].handler)(context, params.arguments).await;
        to_value(&result)
    }

    /// Whether `resources/read` of `uri` would find a resource or template.
    fn resource_exists(&self, uri: &str) -> bool {
        self.resources.iter().any(|r| r.resource.uri == uri)
            || self
                .templates
                .iter()
                .any(|t| t.matcher.matches(uri).is_some())
    }

    async fn read_resource(&self, context: RequestContext, uri: String) -> Outcome {
        let contents = if let Some(entry) = self.resources.iter().find(|r| r.resource.uri == uri) {
            (entry.read)(context).await
        } else {
            let Some((entry, variables)) = self
                .templates
                .iter()
                .find_map(|t| t.matcher.matches(&uri).map(|v| (t, v)))
            else {
                return Err(resource_not_found(&uri));
            };
            let found = TemplateMatch {
                uri: uri.clone(),
                variables,
            };
            (entry.read)(context, found).await
        };
        match contents {
            Ok(contents) => to_value(&ReadResourceResult::new(contents)),
            Err(ResourceError::NotFound) => Err(resource_not_found(&uri)),
            Err(ResourceError::Failed(reason)) => Err(ErrorObject::internal_error(format!(
                "reading {uri} failed: {reason}"
            ))),
        }
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

    async fn complete(&self, context: RequestContext, params: CompleteRequestParams) -> Outcome {
        let argument = params.argument.name;
        let target = match params.reference {
            Reference::Prompt(prompt) => {
                let Some(entry) = self.prompts.iter().find(|p| p.prompt.name == prompt.name) else {
                    return Err(ErrorObject::invalid_params(format!(
                        "unknown prompt: {}",
                        prompt.name
                    )));
                };
                if !entry.has_argument(&argument) {
                    return Err(ErrorObject::invalid_params(format!(
                        "prompt {} has no argument {argument}",
                        prompt.name
                    )));
                }
                Target::Prompt(prompt.name)
            }
            Reference::Resource(resource) => {
                let Some(entry) = self
                    .templates
                    .iter()
                    .find(|t| t.template.uri_template == resource.uri)
                else {
                    return Err(ErrorObject::invalid_params(format!(
                        "unknown resource template: {}",
                        resource.uri
                    )));
                };
                if !entry.matcher.variables().any(|v| v == argument) {
                    return Err(ErrorObject::invalid_params(format!(
                        "resource template {} has no variable {argument}",
                        resource.uri
                    )));
                }
                Target::Template(resource.uri)
            }
        };
        let request = CompletionRequest {
            argument,
            value: params.argument.value,
            resolved: params.context.and_then(|c| c.arguments).unwrap_or_default(),
        };
        to_value(&self.completers.complete(target, context, request).await)
    }

    /// `server/discover` (2026-07-28): the versions, capabilities and
    /// identity of this server.
    fn discover(&self) -> Outcome {
        let versions = ProtocolVersion::SUPPORTED
            .iter()
            .rev()
            .map(|v| v.as_str().to_owned())
            .collect();
        let mut result = DiscoverResult::new(versions, self.capabilities());
        result.instructions.clone_from(&self.instructions);
        to_value(&result)
    }

    async fn request(&self, context: RequestContext, call: Request) -> Outcome {
        let session = &context.session;
        let modern = context.is_modern();
        match call.method.as_str() {
            methods::SERVER_DISCOVER => return self.discover(),
            // Removed in 2026-07-28: a modern request cannot use them.
            method if modern && modern::legacy_only(method) => {
                return Err(ErrorObject::method_not_found(method));
            }
            methods::INITIALIZE => return self.initialize(session, params(call.params)?),
            methods::PING => return Ok(empty()),
            _ => {}
        }
        if !modern && session.phase() == Phase::New {
            return Err(ErrorObject::invalid_request(
                "the session is not initialized: send initialize first",
            ));
        }
        let size = self.page_size;
        match call.method.as_str() {
            methods::TOOLS_LIST => list_page(
                &self.tools,
                methods::TOOLS_LIST,
                size,
                call.params,
                |t| t.tool.clone(),
                |tools, next| ListToolsResult {
                    next_cursor: next,
                    ..ListToolsResult::new(tools)
                },
            ),
            methods::TOOLS_CALL => self.call_tool(context, params(call.params)?).await,
            methods::SUBSCRIPTIONS_LISTEN if modern => {
                let id = call.id.clone();
                self.listen(context, id, params(call.params)?).await
            }
            methods::RESOURCES_LIST => list_page(
                &self.resources,
                methods::RESOURCES_LIST,
                size,
                call.params,
                |r| r.resource.clone(),
                |resources, next| ListResourcesResult {
                    next_cursor: next,
                    ..ListResourcesResult::new(resources)
                },
            ),
            methods::RESOURCES_TEMPLATES_LIST => list_page(
                &self.templates,
                methods::RESOURCES_TEMPLATES_LIST,
                size,
                call.params,
                |t| t.template.clone(),
                |templates, next| ListResourceTemplatesResult {
                    next_cursor: next,
                    ..ListResourceTemplatesResult::new(templates)
                },
            ),
            methods::RESOURCES_READ => {
                let params: ReadResourceRequestParams = params(call.params)?;
                self.read_resource(context, params.uri).await
            }
            methods::RESOURCES_SUBSCRIBE if self.subscriptions && self.has_resources() => {
                let params: SubscribeRequestParams = params(call.params)?;
                if !self.resource_exists(&params.uri) {
                    return Err(resource_not_found(&params.uri));
                }
                session.subscribe(params.uri);
                Ok(empty())
            }
            methods::RESOURCES_UNSUBSCRIBE if self.subscriptions && self.has_resources() => {
                let params: UnsubscribeRequestParams = params(call.params)?;
                session.unsubscribe(&params.uri);
                Ok(empty())
            }
            methods::PROMPTS_LIST => list_page(
                &self.prompts,
                methods::PROMPTS_LIST,
                size,
                call.params,
                |p| p.prompt.clone(),
                |prompts, next| ListPromptsResult {
                    next_cursor: next,
                    ..ListPromptsResult::new(prompts)
                },
            ),
            methods::PROMPTS_GET => self.get_prompt(context, params(call.params)?).await,
            methods::COMPLETION_COMPLETE if !self.completers.is_empty() => {
                self.complete(context, params(call.params)?).await
            }
            methods::LOGGING_SET_LEVEL => {
                let level: SetLevelRequestParams = params(call.params)?;
                session.set_log_level(level.level);
                Ok(empty())
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
                let modern = match modern::detect(call.params.as_ref()) {
                    Ok(modern) => modern.map(Arc::new),
                    Err(error) => {
                        tracing::debug!(target: "mcp_tower::server", %method, "unsupported protocol version");
                        return Some(Message::Error(ErrorResponse::new(Some(id), error)));
                    }
                };
                if let Some(modern) = &modern {
                    context = context.with_modern(Arc::clone(modern));
                }
                let failure = context.failure();
                let outcome = tokio::select! {
                    biased;
                    () = flight.token.cancelled() => {
                        tracing::debug!(target: "mcp_tower::server", %method, %id, "cancelled; no answer sent");
                        return None;
                    }
                    outcome = self.request(context, call) => outcome,
                };
                drop(flight);
                let outcome = match &modern {
                    Some(modern) => self.finish_modern(&method, modern, outcome),
                    None => outcome,
                };
                // A handler that failed the request with a protocol error
                // overrides its own result and any `input_required`.
                let outcome = failure.take().map_or(outcome, Err);
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

impl Inner {
    /// Turns the outcome of a modern request into its answer:
    /// `input_required` when the handler asked for input it did not get,
    /// otherwise the result with `resultType`, the server's identity and (for
    /// cacheable results) caching hints; resource-not-found becomes -32602.
    fn finish_modern(
        &self,
        method: &str,
        modern: &modern::ModernRequest,
        outcome: Outcome,
    ) -> Outcome {
        let needed = modern.take_needed();
        let server_info = serde_json::to_value(&self.info).unwrap_or_default();
        if !needed.is_empty() {
            let interim = InputRequiredResult::new(Some(needed), modern.next_state());
            return Ok(modern::finish(to_value(&interim)?, &server_info));
        }
        match outcome {
            Ok(result) => {
                let mut result = modern::finish(result, &server_info);
                if modern::cacheable(method) {
                    modern::add_cache_hints(&mut result);
                }
                Ok(result)
            }
            Err(mut error) if error.code == RESOURCE_NOT_FOUND => {
                error.code = crate::jsonrpc::ErrorCode::INVALID_PARAMS;
                Err(error)
            }
            Err(error) => Err(error),
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
