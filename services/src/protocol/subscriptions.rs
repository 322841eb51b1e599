//! `subscriptions/listen` and `notifications/subscriptions/acknowledged`
//! (2026-07-28; they replace the HTTP GET stream and `resources/subscribe`).

use serde::{Deserialize, Serialize};

use super::meta::{JsonObject, NotificationMeta, RequestMeta, ResultMeta, ResultType};

/// The notifications a client opts in to (schema: `SubscriptionFilter`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubscriptionFilter {
    /// Receive `notifications/tools/list_changed`.
    #[serde(rename = "toolsListChanged", skip_serializing_if = "Option::is_none")]
    pub tools_list_changed: Option<bool>,
    /// Receive `notifications/prompts/list_changed`.
    #[serde(rename = "promptsListChanged", skip_serializing_if = "Option::is_none")]
    pub prompts_list_changed: Option<bool>,
    /// Receive `notifications/resources/list_changed`.
    #[serde(
        rename = "resourcesListChanged",
        skip_serializing_if = "Option::is_none"
    )]
    pub resources_list_changed: Option<bool>,
    /// Receive `notifications/resources/updated` for these URIs.
    #[serde(
        rename = "resourceSubscriptions",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_subscriptions: Option<Vec<String>>,
}

/// Params of `subscriptions/listen` (schema: `SubscriptionsListenRequestParams`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubscriptionsListenRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
    /// The notifications wanted.
    pub notifications: SubscriptionFilter,
}

impl SubscriptionsListenRequestParams {
    /// Params asking for `notifications`.
    pub fn new(notifications: SubscriptionFilter) -> Self {
        Self {
            meta: None,
            notifications,
        }
    }
}

/// Result of `subscriptions/listen`, sent when the server ends the
/// subscription gracefully (schema: `SubscriptionsListenResult`); its `_meta`
/// carries `io.modelcontextprotocol/subscriptionId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubscriptionsListenResult {
    /// Result metadata (required by the schema).
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// `resultType`.
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// Params of `notifications/subscriptions/acknowledged` (schema:
/// `SubscriptionsAcknowledgedNotificationParams`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SubscriptionsAcknowledgedNotificationParams {
    /// Notification metadata (`io.modelcontextprotocol/subscriptionId`).
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<NotificationMeta>,
    /// The subset of the requested notifications the server will send.
    pub notifications: SubscriptionFilter,
}
