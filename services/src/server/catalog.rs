//! Resources, resource templates and prompts: fixed descriptions with async
//! handlers that read a resource's contents or fill a prompt in.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::protocol::{GetPromptResult, Prompt, Resource, ResourceContents, ResourceTemplate};

use super::context::RequestContext;
use super::templates::{UriTemplate, Variables};
use super::tool::ToolError;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

type Contents = Result<Vec<ResourceContents>, ResourceError>;
type ReadHandler = Arc<dyn Fn(RequestContext) -> BoxFuture<Contents> + Send + Sync>;
type TemplateHandler =
    Arc<dyn Fn(RequestContext, TemplateMatch) -> BoxFuture<Contents> + Send + Sync>;
type PromptHandler = Arc<
    dyn Fn(
            RequestContext,
            BTreeMap<String, String>,
        ) -> BoxFuture<Result<GetPromptResult, ToolError>>
        + Send
        + Sync,
>;

/// Why a resource could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// There is no such resource (a template matched, but nothing exists
    /// under these values): answered with error -32002 and `data.uri`.
    #[error("resource not found")]
    NotFound,
    /// Reading failed: answered with error -32603 and this message.
    #[error("{0}")]
    Failed(String),
}

impl From<ToolError> for ResourceError {
    fn from(error: ToolError) -> Self {
        Self::Failed(error.0)
    }
}

/// A URI that matched a resource template: what a template's handler reads.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TemplateMatch {
    /// The URI the client asked for.
    pub uri: String,
    /// The template's variables, percent-decoded.
    pub variables: Variables,
}

impl TemplateMatch {
    /// The value of the variable `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.variables.get(name).map(String::as_str)
    }
}

/// A resource and the handler that reads it.
#[derive(Clone)]
pub(crate) struct ResourceEntry {
    pub(crate) resource: Resource,
    pub(crate) read: ReadHandler,
}

impl ResourceEntry {
    pub(crate) fn new<F, Fut>(resource: Resource, read: F) -> Self
    where
        F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ResourceContents>, ToolError>> + Send + 'static,
    {
        Self {
            resource,
            read: Arc::new(move |context| {
                let future = read(context);
                Box::pin(async move { future.await.map_err(Into::into) })
            }),
        }
    }
}

/// A resource template, its parsed form and the handler that reads the
/// resources it matches.
#[derive(Clone)]
pub(crate) struct TemplateEntry {
    pub(crate) template: ResourceTemplate,
    pub(crate) matcher: UriTemplate,
    pub(crate) read: TemplateHandler,
}

impl TemplateEntry {
    pub(crate) fn new<F, Fut>(template: ResourceTemplate, matcher: UriTemplate, read: F) -> Self
    where
        F: Fn(RequestContext, TemplateMatch) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Contents> + Send + 'static,
    {
        Self {
            template,
            matcher,
            read: Arc::new(move |context, found| Box::pin(read(context, found))),
        }
    }
}

/// A prompt and the handler that fills it in.
#[derive(Clone)]
pub(crate) struct PromptEntry {
    pub(crate) prompt: Prompt,
    pub(crate) get: PromptHandler,
}

impl PromptEntry {
    pub(crate) fn new<F, Fut>(prompt: Prompt, get: F) -> Self
    where
        F: Fn(RequestContext, BTreeMap<String, String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, ToolError>> + Send + 'static,
    {
        Self {
            prompt,
            get: Arc::new(move |context, arguments| Box::pin(get(context, arguments))),
        }
    }

    /// The first required argument that is missing, if any.
    pub(crate) fn missing_argument(&self, arguments: &BTreeMap<String, String>) -> Option<&str> {
        self.prompt
            .arguments
            .iter()
            .flatten()
            .find(|a| a.required == Some(true) && !arguments.contains_key(&a.name))
            .map(|a| a.name.as_str())
    }

    /// Whether the prompt declares the argument `name`.
    pub(crate) fn has_argument(&self, name: &str) -> bool {
        self.prompt
            .arguments
            .iter()
            .flatten()
            .any(|a| a.name == name)
    }
}
