//! Argument completion (`completion/complete`): completers registered per
//! prompt argument or per resource-template variable.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::protocol::{CompleteResult, Completion};

use super::context::RequestContext;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Completer =
    Arc<dyn Fn(RequestContext, CompletionRequest) -> BoxFuture<Vec<String>> + Send + Sync>;

/// What the client asks to complete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompletionRequest {
    /// The prompt argument or template variable being completed.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
    /// Other arguments or variables the user already filled in
    /// (`context.arguments`, sent from revision 2025-06-18 on).
    pub resolved: BTreeMap<String, String>,
}

/// What a completer belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// A prompt, by name.
    Prompt(String),
    /// A resource template, by URI template.
    Template(String),
}

impl Target {
    pub(crate) fn name(&self) -> &str {
        match self {
            Target::Prompt(name) | Target::Template(name) => name,
        }
    }
}

/// The completers, by target and argument.
#[derive(Clone, Default)]
pub(crate) struct Completers {
    by_argument: HashMap<(Target, String), Completer>,
}

impl Completers {
    pub(crate) fn insert<F, Fut>(&mut self, target: Target, argument: &str, complete: F)
    where
        F: Fn(RequestContext, CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<String>> + Send + 'static,
    {
        let complete: Completer =
            Arc::new(move |context, request| Box::pin(complete(context, request)));
        self.by_argument
            .insert((target, argument.to_owned()), complete);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_argument.is_empty()
    }

    /// Every (target, argument) pair with a completer.
    pub(crate) fn targets(&self) -> impl Iterator<Item = (&Target, &str)> {
        self.by_argument.keys().map(|(t, a)| (t, a.as_str()))
    }

    /// Completes `request` for `target`: no values when the argument has no
    /// completer.
    pub(crate) async fn complete(
        &self,
        target: Target,
        context: RequestContext,
        request: CompletionRequest,
    ) -> CompleteResult {
        let key = (target, request.argument.clone());
        let values = match self.by_argument.get(&key) {
            Some(complete) => complete(context, request).await,
            None => Vec::new(),
        };
        CompleteResult::new(limited(values))
    }
}

/// At most [`Completion::MAX_VALUES`] values, with `total` and `hasMore`
/// always set (MCP: completion, "Completion Results").
fn limited(values: Vec<String>) -> Completion {
    let total = values.len() as u64;
    let mut completion = Completion::new(values);
    completion.total = Some(total);
    completion.has_more = Some(total > Completion::MAX_VALUES as u64);
    completion
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_limited_to_one_hundred() {
        let many = limited((0..250).map(|i| i.to_string()).collect());
        assert_eq!(many.values.len(), 100);
        assert_eq!(many.values[99], "99");
        assert_eq!((many.total, many.has_more), (Some(250), Some(true)));
        let few = limited(vec!["a".into()]);
        assert_eq!((few.total, few.has_more), (Some(1), Some(false)));
    }
}
