//! Logging: `logging/setLevel` and `notifications/message` (deprecated in
//! 2026-07-28, where the level is set per request in `_meta`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::meta::{NotificationMeta, RequestMeta};

/// Severity of a log message, the RFC 5424 §6.2.1 levels (schema:
/// `LoggingLevel`). Ordered from least (`Debug`) to most (`Emergency`) severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LoggingLevel {
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `notice`.
    Notice,
    /// `warning`.
    Warning,
    /// `error`.
    Error,
    /// `critical`.
    Critical,
    /// `alert`.
    Alert,
    /// `emergency`.
    Emergency,
}

impl LoggingLevel {
    /// Every level, least severe first.
    pub const ALL: [LoggingLevel; 8] = [
        LoggingLevel::Debug,
        LoggingLevel::Info,
        LoggingLevel::Notice,
        LoggingLevel::Warning,
        LoggingLevel::Error,
        LoggingLevel::Critical,
        LoggingLevel::Alert,
        LoggingLevel::Emergency,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            LoggingLevel::Debug => "debug",
            LoggingLevel::Info => "info",
            LoggingLevel::Notice => "notice",
            LoggingLevel::Warning => "warning",
            LoggingLevel::Error => "error",
            LoggingLevel::Critical => "critical",
            LoggingLevel::Alert => "alert",
            LoggingLevel::Emergency => "emergency",
        }
    }
}

impl fmt::Display for LoggingLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LoggingLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown logging level {s:?}; expected one of debug, info, notice, warning, error, critical, alert, emergency"))
    }
}

/// Params of `logging/setLevel` (schema: `SetLevelRequestParams`; 2025-11-25
/// and earlier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SetLevelRequestParams {
    /// Request metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
    /// The minimum level the client wants.
    pub level: LoggingLevel,
}

impl SetLevelRequestParams {
    /// Params setting `level`.
    pub fn new(level: LoggingLevel) -> Self {
        Self { meta: None, level }
    }
}

/// Params of `notifications/message` (schema: `LoggingMessageNotificationParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoggingMessageNotificationParams {
    /// Notification metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<NotificationMeta>,
    /// Severity.
    pub level: LoggingLevel,
    /// Name of the logger.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// The data: any JSON value.
    pub data: serde_json::Value,
}

impl LoggingMessageNotificationParams {
    /// A log message.
    pub fn new(level: LoggingLevel, data: serde_json::Value) -> Self {
        Self {
            meta: None,
            level,
            logger: None,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn levels_are_ordered_by_severity() {
        let mut sorted = LoggingLevel::ALL;
        sorted.sort();
        assert_eq!(sorted, LoggingLevel::ALL);
        assert!(LoggingLevel::Debug < LoggingLevel::Info);
        assert!(LoggingLevel::Warning < LoggingLevel::Error);
        assert!(LoggingLevel::Alert < LoggingLevel::Emergency);
    }

    #[test]
    fn levels_round_trip_and_reject_unknown() {
        for l in LoggingLevel::ALL {
            let v = serde_json::to_value(l).unwrap();
            assert_eq!(v, serde_json::Value::from(l.as_str()));
            assert_eq!(serde_json::from_value::<LoggingLevel>(v).unwrap(), l);
            assert_eq!(l.as_str().parse::<LoggingLevel>().unwrap(), l);
        }
        assert!(serde_json::from_str::<LoggingLevel>("\"warn\"").is_err());
        assert!(serde_json::from_str::<LoggingLevel>("\"DEBUG\"").is_err());
        assert!("trace".parse::<LoggingLevel>().is_err());
    }
}
