//! `notifications/progress` and `notifications/cancelled`. The
//! `list_changed` notifications and `notifications/initialized` carry
//! [`NotificationParams`](super::NotificationParams).

use serde::{Deserialize, Serialize};

use super::meta::{NotificationMeta, ProgressToken};
use crate::jsonrpc::RequestId;

/// Params of `notifications/progress` (schema: `ProgressNotificationParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProgressNotificationParams {
    /// Notification metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<NotificationMeta>,
    /// The token from the request's `_meta.progressToken`.
    #[serde(rename = "progressToken")]
    pub progress_token: ProgressToken,
    /// Progress so far; increases with every notification.
    pub progress: f64,
    /// Total, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// What is happening (2025-03-26 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ProgressNotificationParams {
    /// Progress for `progress_token`.
    pub fn new(progress_token: ProgressToken, progress: f64) -> Self {
        Self {
            meta: None,
            progress_token,
            progress,
            total: None,
            message: None,
        }
    }
}

/// Params of `notifications/cancelled` (schema: `CancelledNotificationParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CancelledNotificationParams {
    /// Notification metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<NotificationMeta>,
    /// The id of the request to cancel (optional only in 2025-11-25, where
    /// tasks are cancelled with `tasks/cancel` instead).
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// Why, for logs or display.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CancelledNotificationParams {
    /// Cancels `request_id`.
    pub fn new(request_id: RequestId) -> Self {
        Self {
            meta: None,
            request_id: Some(request_id),
            reason: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn progress_token_is_string_or_integer() {
        let s: ProgressNotificationParams =
            serde_json::from_value(json!({"progressToken": "a", "progress": 1})).unwrap();
        assert_eq!(s.progress_token, ProgressToken::String("a".into()));
        let n: ProgressNotificationParams =
            serde_json::from_value(json!({"progressToken": 7, "progress": 1})).unwrap();
        assert_eq!(n.progress_token, ProgressToken::Integer(7));
        assert!(
            serde_json::from_value::<ProgressNotificationParams>(
                json!({"progressToken": true, "progress": 1})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<ProgressNotificationParams>(
                json!({"progressToken": null, "progress": 1})
            )
            .is_err()
        );
    }

    #[test]
    fn cancelled_request_id_is_string_or_integer() {
        let n: CancelledNotificationParams =
            serde_json::from_value(json!({"requestId": 3})).unwrap();
        assert_eq!(n.request_id, Some(RequestId::Number(3)));
        assert_eq!(serde_json::to_value(&n).unwrap(), json!({"requestId": 3}));
        assert!(
            serde_json::from_value::<CancelledNotificationParams>(json!({"requestId": 1.5}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<CancelledNotificationParams>(json!({"requestId": [1]}))
                .is_err()
        );
    }
}
