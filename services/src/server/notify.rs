//! Messages the server sends on its own, outside any request: resource
//! updates to the sessions subscribed to a resource, list changes and log
//! messages to every initialized session.
//!
//! The server learns about a session when the session initializes, and
//! keeps only a weak handle to it: a session ends when its transport drops
//! it, and the registry forgets it (and any session whose outbox closed)
//! the next time it is used.
//!
//! Sending never waits: a session whose outbox is full misses the message
//! (logged at `debug`), so one slow client cannot hold up the server or the
//! other clients. Notifications are best effort in MCP anyway.

use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;

use crate::jsonrpc::{Message, Notification};
use crate::protocol::{
    LoggingLevel, LoggingMessageNotificationParams, ResourceUpdatedNotificationParams, methods,
};

use super::McpServer;
use super::session::{Phase, Session, WeakSession};

/// The sessions a server has seen, held weakly.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    live: Mutex<Vec<WeakSession>>,
}

impl Sessions {
    fn table(&self) -> std::sync::MutexGuard<'_, Vec<WeakSession>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers `session` (once: call it when the session initializes).
    pub(crate) fn register(&self, session: &Session) {
        let mut table = self.table();
        table.retain(|weak| weak.upgrade().is_some_and(|s| !s.is_closed()));
        table.push(session.downgrade());
    }

    /// The sessions still open, forgetting the others.
    pub(crate) fn live(&self) -> Vec<Session> {
        let mut live = Vec::new();
        self.table().retain(|weak| match weak.upgrade() {
            Some(session) if !session.is_closed() => {
                live.push(session);
                true
            }
            _ => false,
        });
        live
    }
}

fn notification<P: Serialize>(method: &str, params: Option<&P>) -> Message {
    Message::Notification(Notification {
        method: method.to_owned(),
        params: params.and_then(|p| serde_json::to_value(p).ok()),
    })
}

/// The params of a notification as an object (empty when it has none).
fn params_of(message: &Message) -> serde_json::Map<String, Value> {
    match message {
        Message::Notification(Notification {
            params: Some(Value::Object(params)),
            ..
        }) => params.clone(),
        _ => serde_json::Map::new(),
    }
}

impl McpServer {
    /// Sends `message` to the ready sessions `filter` accepts; returns how
    /// many got it.
    fn broadcast(&self, message: &Message, filter: impl Fn(&Session) -> bool) -> usize {
        let mut sent = 0;
        for session in self.inner.sessions.live() {
            if session.phase() != Phase::Ready || !filter(&session) {
                continue;
            }
            if session.try_send(message.clone()) {
                sent += 1;
            } else {
                tracing::debug!(target: "mcp_tower::server", method = message.method(), "a session's outbox is full or closed; notification dropped");
            }
        }
        sent
    }

    /// Sends `notifications/resources/updated` for `uri` to every live
    /// session subscribed to it; returns how many sessions it reached.
    pub fn notify_resource_updated(&self, uri: &str) -> usize {
        let message = notification(
            methods::NOTIFICATION_RESOURCES_UPDATED,
            Some(&ResourceUpdatedNotificationParams::new(uri)),
        );
        let streams = self.inner.listeners.send(
            methods::NOTIFICATION_RESOURCES_UPDATED,
            &params_of(&message),
            |filter| {
                filter
                    .resource_subscriptions
                    .as_ref()
                    .is_some_and(|uris| uris.iter().any(|u| u == uri))
            },
        );
        streams + self.broadcast(&message, |session| session.is_subscribed(uri))
    }

    /// Sends `notifications/tools/list_changed` to every initialized
    /// session, if the server advertises `tools.listChanged` (see
    /// [`McpServerBuilder::list_changed`](super::McpServerBuilder::list_changed));
    /// returns how many sessions it reached.
    pub fn notify_tools_list_changed(&self) -> usize {
        let advertised = self.inner.capabilities().tools.and_then(|c| c.list_changed);
        self.list_changed(methods::NOTIFICATION_TOOLS_LIST_CHANGED, advertised)
    }

    /// Sends `notifications/resources/list_changed` to every initialized
    /// session, if the server advertises `resources.listChanged`; returns how
    /// many sessions it reached.
    pub fn notify_resources_list_changed(&self) -> usize {
        let advertised = self
            .inner
            .capabilities()
            .resources
            .and_then(|c| c.list_changed);
        self.list_changed(methods::NOTIFICATION_RESOURCES_LIST_CHANGED, advertised)
    }

    /// Sends `notifications/prompts/list_changed` to every initialized
    /// session, if the server advertises `prompts.listChanged`; returns how
    /// many sessions it reached.
    pub fn notify_prompts_list_changed(&self) -> usize {
        let advertised = self
            .inner
            .capabilities()
            .prompts
            .and_then(|c| c.list_changed);
        self.list_changed(methods::NOTIFICATION_PROMPTS_LIST_CHANGED, advertised)
    }

    fn list_changed(&self, method: &str, advertised: Option<bool>) -> usize {
        if advertised != Some(true) {
            tracing::debug!(target: "mcp_tower::server", %method, "not sent: the capability is not advertised");
            return 0;
        }
        // 2026-07-28: to the `subscriptions/listen` streams that asked.
        let streams = self
            .inner
            .listeners
            .send(method, &serde_json::Map::new(), |filter| {
                let wanted = match method {
                    methods::NOTIFICATION_TOOLS_LIST_CHANGED => filter.tools_list_changed,
                    methods::NOTIFICATION_PROMPTS_LIST_CHANGED => filter.prompts_list_changed,
                    methods::NOTIFICATION_RESOURCES_LIST_CHANGED => filter.resources_list_changed,
                    _ => None,
                };
                wanted == Some(true)
            });
        streams + self.broadcast(&notification::<Value>(method, None), |_| true)
    }

    /// Sends a log message (`notifications/message`) to every initialized
    /// session that asked for this level or a lower one with
    /// `logging/setLevel`; returns how many sessions it reached.
    pub fn log(&self, level: LoggingLevel, logger: Option<&str>, data: Value) -> usize {
        let mut params = LoggingMessageNotificationParams::new(level, data);
        params.logger = logger.map(str::to_owned);
        let message = notification(methods::NOTIFICATION_MESSAGE, Some(&params));
        self.broadcast(&message, |session| {
            session.log_level().is_some_and(|min| level >= min)
        })
    }

    /// How many sessions the server knows to be open.
    pub fn live_sessions(&self) -> usize {
        self.inner.sessions.live().len()
    }
}
