//! Argument completion: `completion/complete`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::meta::{JsonObject, RequestMeta, ResultMeta, ResultType};

/// Identifies a prompt (schema: `PromptReference`, `"type": "ref/prompt"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PromptReference {
    /// Name of the prompt.
    pub name: String,
    /// Display name (2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

impl PromptReference {
    /// A reference to prompt `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            title: None,
        }
    }
}

/// Identifies a resource or resource template (schema:
/// `ResourceTemplateReference`, `ResourceReference` in 2024-11-05 and
/// 2025-03-26; `"type": "ref/resource"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceTemplateReference {
    /// The URI or URI template.
    pub uri: String,
}

impl ResourceTemplateReference {
    /// A reference to `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        Self { uri: uri.into() }
    }
}

/// What is being completed, tagged by `"type"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum Reference {
    /// `"ref/prompt"`.
    #[serde(rename = "ref/prompt")]
    Prompt(PromptReference),
    /// `"ref/resource"`.
    #[serde(rename = "ref/resource")]
    Resource(ResourceTemplateReference),
}

/// The argument being completed (schema: `CompleteRequestParams.argument`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompletionArgument {
    /// Name of the argument.
    pub name: String,
    /// Value typed so far.
    pub value: String,
}

impl CompletionArgument {
    /// An argument and its partial value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// Extra context for completion (schema: `CompleteRequestParams.context`;
/// 2025-06-18 and later).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompletionContext {
    /// Variables already resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<BTreeMap<String, String>>,
}

/// Params of `completion/complete` (schema: `CompleteRequestParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompleteRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
    /// What is being completed.
    #[serde(rename = "ref")]
    pub reference: Reference,
    /// The argument.
    pub argument: CompletionArgument,
    /// Extra context (2025-06-18 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<CompletionContext>,
}

impl CompleteRequestParams {
    /// Params completing `argument` of `reference`.
    pub fn new(reference: Reference, argument: CompletionArgument) -> Self {
        Self {
            meta: None,
            reference,
            argument,
            context: None,
        }
    }
}

/// The completions (schema: `CompleteResult.completion`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Completion {
    /// At most 100 values.
    pub values: Vec<String>,
    /// Total number of options, which may exceed `values.len()`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Whether more options exist.
    #[serde(rename = "hasMore", skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
}

impl Completion {
    /// The most values a result may carry.
    pub const MAX_VALUES: usize = 100;

    /// Completions from `values`, truncated to [`Self::MAX_VALUES`] with
    /// `hasMore` set when truncated.
    pub fn new(mut values: Vec<String>) -> Self {
        let has_more = values.len() > Self::MAX_VALUES;
        let total = values.len() as u64;
        values.truncate(Self::MAX_VALUES);
        Self {
            values,
            total: has_more.then_some(total),
            has_more: has_more.then_some(true),
        }
    }
}

/// Result of `completion/complete` (schema: `CompleteResult`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompleteResult {
    /// Result metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// `resultType` (2026-07-28).
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// The completions.
    pub completion: Completion,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl CompleteResult {
    /// A result with the given completions.
    pub fn new(completion: Completion) -> Self {
        Self {
            completion,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn reference_is_tagged() {
        let r: Reference =
            serde_json::from_value(json!({"type": "ref/resource", "uri": "file:///{p}"})).unwrap();
        assert_eq!(
            r,
            Reference::Resource(ResourceTemplateReference::new("file:///{p}"))
        );
        assert!(
            serde_json::from_value::<Reference>(json!({"type": "ref/tool", "name": "x"})).is_err()
        );
    }

    #[test]
    fn completion_truncates() {
        let c = Completion::new((0..150).map(|i| i.to_string()).collect());
        assert_eq!(c.values.len(), 100);
        assert_eq!(c.total, Some(150));
        assert_eq!(c.has_more, Some(true));
    }
}
