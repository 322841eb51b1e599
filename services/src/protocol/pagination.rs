//! Pagination: `cursor` on list requests, `nextCursor` on list results.

use serde::{Deserialize, Serialize};

use super::meta::RequestMeta;

/// An opaque pagination cursor (schema: `Cursor`).
pub type Cursor = String;

/// Params of a paginated list request (schema: `PaginatedRequestParams`):
/// `tools/list`, `resources/list`, `resources/templates/list`, `prompts/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaginatedRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
    /// Where to continue; absent for the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

impl PaginatedRequestParams {
    /// Params asking for the page after `cursor`.
    pub fn after(cursor: impl Into<Cursor>) -> Self {
        Self {
            meta: None,
            cursor: Some(cursor.into()),
        }
    }
}
