//! Pagination: `cursor` on list requests, `nextCursor` on list results.

/// Defines a paginated list result: `_meta`, `resultType`, the items under
/// their member name, `nextCursor`, `ttlMs`, `cacheScope` and other members,
/// with a `new(items)` constructor. The list results differ only in the
/// items, so they are written once here.
macro_rules! paginated_result {
    ($(#[$doc:meta])* $name:ident { $field:ident: $item:ty = $json:literal }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub struct $name {
            /// Result metadata.
            #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
            pub meta: Option<$crate::protocol::ResultMeta>,
            /// `resultType` (2026-07-28).
            #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
            pub result_type: Option<$crate::protocol::ResultType>,
            /// The items of this page.
            #[serde(rename = $json)]
            pub $field: Vec<$item>,
            /// Cursor of the next page, if any.
            #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
            pub next_cursor: Option<String>,
            /// Cache freshness hint in milliseconds (2026-07-28).
            #[serde(rename = "ttlMs", skip_serializing_if = "Option::is_none")]
            pub ttl_ms: Option<u64>,
            /// Who may cache the result (2026-07-28).
            #[serde(rename = "cacheScope", skip_serializing_if = "Option::is_none")]
            pub cache_scope: Option<$crate::protocol::CacheScope>,
            /// Other members.
            #[serde(flatten)]
            pub extra: $crate::protocol::JsonObject,
        }

        impl $name {
            /// A page holding `items`.
            pub fn new($field: Vec<$item>) -> Self {
                Self {
                    $field,
                    ..Self::default()
                }
            }
        }
    };
}

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
