//! Resources and prompts: fixed descriptions with async handlers that read
//! a resource's contents or fill a prompt in.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::protocol::{GetPromptResult, Prompt, Resource, ResourceContents};

use super::context::RequestContext;
use super::tool::ToolError;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

type ReadHandler = Arc<
    dyn Fn(RequestContext) -> BoxFuture<Result<Vec<ResourceContents>, ToolError>> + Send + Sync,
>;
type PromptHandler = Arc<
    dyn Fn(
            RequestContext,
            BTreeMap<String, String>,
        ) -> BoxFuture<Result<GetPromptResult, ToolError>>
        + Send
        + Sync,
>;

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
            read: Arc::new(move |context| Box::pin(read(context))),
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
}
