//! The client's reading loop: answers go to the requests waiting for them,
//! progress to the callback of its request, server requests to the
//! handlers (each in its own task, so a slow elicitation does not hold up
//! the answers the server sends meanwhile), other notifications to the
//! notification handler.

use std::sync::{Arc, PoisonError};

use tokio::sync::mpsc;

use crate::jsonrpc::{ErrorResponse, Message, Notification, Payload, Response};
use crate::peer::Peer;
use crate::protocol::{ProgressNotificationParams, methods};
use crate::transport::channel::Frame;

use super::ProgressTable;
use super::handlers::Handlers;

pub(crate) async fn run(
    mut incoming: mpsc::Receiver<Frame>,
    peer: Peer,
    handlers: Handlers,
    progress: Arc<ProgressTable>,
) {
    while let Some(frame) = incoming.recv().await {
        let messages = match frame {
            Frame::Payload(Payload::Single(message)) => vec![Ok(message)],
            Frame::Payload(Payload::Batch(items)) => items,
            Frame::Invalid(error) => vec![Err(error)],
        };
        for message in messages {
            match message {
                Ok(message) => dispatch(message, &peer, &handlers, &progress),
                Err(error) => {
                    tracing::warn!(target: "mcp_tower::client", code = error.error.code.0, reason = %error.error.message, "the server sent an invalid message");
                }
            }
        }
    }
    tracing::debug!(target: "mcp_tower::client", "the server closed the connection");
    peer.pending().fail_all();
}

fn dispatch(message: Message, peer: &Peer, handlers: &Handlers, progress: &ProgressTable) {
    let Some(message) = peer.pending().resolve(message) else {
        return;
    };
    match message {
        Message::Request(request) => {
            let (peer, handlers) = (peer.clone(), handlers.clone());
            tokio::spawn(async move {
                let answer = match handlers.answer(&request.method, request.params).await {
                    Ok(result) => Message::Response(Response {
                        id: request.id,
                        result,
                    }),
                    Err(error) => Message::Error(ErrorResponse::new(Some(request.id), error)),
                };
                let _ = peer.send(answer).await;
            });
        }
        Message::Notification(notification) => notify(notification, handlers, progress),
        Message::Error(error) => {
            tracing::warn!(target: "mcp_tower::client", code = error.error.code.0, reason = %error.error.message, "the server reported an error about no request");
        }
        Message::Response(_) => {}
    }
}

fn notify(notification: Notification, handlers: &Handlers, progress: &ProgressTable) {
    if notification.method == methods::NOTIFICATION_PROGRESS {
        let params = notification
            .params
            .clone()
            .and_then(|p| serde_json::from_value::<ProgressNotificationParams>(p).ok());
        if let Some(params) = params {
            let callback = progress
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&params.progress_token)
                .cloned();
            if let Some(callback) = callback {
                callback(params);
                return;
            }
        }
    }
    if let Some(handler) = &handlers.notification {
        handler(notification);
    }
}
