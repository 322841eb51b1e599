//! `subscriptions/listen` (2026-07-28, "Subscriptions"): a long-lived
//! request whose response stream carries the notifications the client opted
//! in to. It replaces `resources/subscribe` and the HTTP GET stream of the
//! legacy revisions.
//!
//! The handler acknowledges first (`notifications/subscriptions/
//! acknowledged` with the subset of the filter this server honours), then
//! stays registered here until the client cancels the request (on HTTP:
//! closes the stream) or the server ends it ([`McpServer::end_subscriptions`]),
//! which answers the request with a `complete` result. Every notification
//! on the stream carries the request id as
//! `_meta["io.modelcontextprotocol/subscriptionId"]`, and only the types
//! the filter asked for are sent. Like the legacy notifications, delivery
//! never waits: a stream whose outbox is full misses the message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::{ErrorObject, Message, Notification, RequestId};
use crate::peer::Peer;
use crate::protocol::{
    NotificationMeta, ServerCapabilities, SubscriptionFilter,
    SubscriptionsAcknowledgedNotificationParams, SubscriptionsListenRequestParams, methods,
};

use super::McpServer;
use super::context::RequestContext;

const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// One open `subscriptions/listen` stream.
#[derive(Debug)]
struct Listener {
    /// Tells this stream from others with the same request id.
    key: u64,
    id: RequestId,
    filter: SubscriptionFilter,
    peer: Peer,
    /// Cancelled when the server ends the subscription.
    end: CancellationToken,
}

/// The open `subscriptions/listen` streams of a server.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    live: Mutex<Vec<Listener>>,
    next_key: AtomicU64,
}

impl Listeners {
    fn table(&self) -> std::sync::MutexGuard<'_, Vec<Listener>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the notification `method` with `params` to every open stream
    /// whose filter `wants` it, tagged with the stream's subscription id;
    /// returns how many streams got it. Streams whose client is gone are
    /// forgotten.
    pub(crate) fn send(
        &self,
        method: &str,
        params: &Map<String, Value>,
        wants: impl Fn(&SubscriptionFilter) -> bool,
    ) -> usize {
        let mut sent = 0;
        self.table().retain(|listener| {
            if listener.peer.is_closed() || listener.end.is_cancelled() {
                return false;
            }
            if wants(&listener.filter) {
                let mut params = params.clone();
                tag(&mut params, &listener.id);
                let message = Message::Notification(Notification {
                    method: method.to_owned(),
                    params: Some(Value::Object(params)),
                });
                if listener.peer.try_send(message) {
                    sent += 1;
                } else {
                    tracing::debug!(target: "mcp_tower::server", %method, "a subscription stream is full; notification dropped");
                }
            }
            true
        });
        sent
    }

    /// Ends every open stream: each handler answers with a `complete`
    /// result; returns how many there were.
    pub(crate) fn end_all(&self) -> usize {
        let table = std::mem::take(&mut *self.table());
        for listener in &table {
            listener.end.cancel();
        }
        table.len()
    }

    /// Registers a stream; returns its key.
    fn add(
        &self,
        id: RequestId,
        filter: SubscriptionFilter,
        peer: Peer,
        end: CancellationToken,
    ) -> u64 {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        self.table().push(Listener {
            key,
            id,
            filter,
            peer,
            end,
        });
        key
    }

    fn remove(&self, key: u64) {
        self.table().retain(|listener| listener.key != key);
    }
}

/// Puts the subscription id into a notification's `_meta`.
fn tag(params: &mut Map<String, Value>, id: &RequestId) {
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert(
            SUBSCRIPTION_ID.to_owned(),
            serde_json::to_value(id).unwrap_or(Value::Null),
        );
    }
}

/// What of `wanted` this server can honour with `capabilities`: list
/// changes it advertises, resource updates if it advertises `subscribe`.
fn honoured(wanted: &SubscriptionFilter, capabilities: &ServerCapabilities) -> SubscriptionFilter {
    let yes = |asked: Option<bool>, offered: Option<bool>| {
        (asked == Some(true) && offered == Some(true)).then_some(true)
    };
    let subscribe = capabilities.resources.as_ref().and_then(|c| c.subscribe) == Some(true);
    SubscriptionFilter {
        tools_list_changed: yes(
            wanted.tools_list_changed,
            capabilities.tools.as_ref().and_then(|c| c.list_changed),
        ),
        prompts_list_changed: yes(
            wanted.prompts_list_changed,
            capabilities.prompts.as_ref().and_then(|c| c.list_changed),
        ),
        resources_list_changed: yes(
            wanted.resources_list_changed,
            capabilities.resources.as_ref().and_then(|c| c.list_changed),
        ),
        resource_subscriptions: wanted
            .resource_subscriptions
            .clone()
            .filter(|uris| subscribe && !uris.is_empty()),
    }
}

impl McpServer {
    /// Ends every open `subscriptions/listen` stream gracefully (each gets
    /// its `complete` result), for example before shutting down; returns how
    /// many there were.
    pub fn end_subscriptions(&self) -> usize {
        self.inner.listeners.end_all()
    }
}

impl super::Inner {
    /// Serves `subscriptions/listen`: acknowledges, then streams the
    /// notifications of the filter until the client cancels or the server
    /// ends the subscription.
    pub(super) async fn listen(
        &self,
        context: RequestContext,
        id: RequestId,
        params: SubscriptionsListenRequestParams,
    ) -> Result<Value, ErrorObject> {
        let filter = honoured(&params.notifications, &self.capabilities());
        let meta = NotificationMeta {
            subscription_id: Some(id.clone()),
            ..NotificationMeta::default()
        };
        let ack = SubscriptionsAcknowledgedNotificationParams {
            meta: Some(meta),
            notifications: filter.clone(),
        };
        let peer = context.peer().clone();
        peer.notify(methods::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED, &ack)
            .await
            .map_err(|error| ErrorObject::internal_error(error.to_string()))?;
        let end = CancellationToken::new();
        let key = self.listeners.add(id.clone(), filter, peer, end.clone());
        tracing::debug!(target: "mcp_tower::server", "subscription stream opened");
        tokio::select! {
            () = context.cancelled() => {}
            () = end.cancelled() => {}
        }
        self.listeners.remove(key);
        let mut result = Map::new();
        let mut meta = Map::new();
        meta.insert(
            SUBSCRIPTION_ID.to_owned(),
            serde_json::to_value(&id).unwrap_or(Value::Null),
        );
        result.insert("_meta".to_owned(), Value::Object(meta));
        Ok(Value::Object(result))
    }
}
