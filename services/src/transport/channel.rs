//! [`Channel`]: what every message transport hands over once open (frames
//! that arrived, an outbox for frames to send, and a handle that resolves when
//! everything sent was written); the [`Transport`] trait that opens one; and
//! [`serve_channel`], which runs an MCP server on a channel as one session.

use std::convert::Infallible;
use std::future::Future;
use std::io;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tower_service::Service;

use crate::jsonrpc::{Message, Payload};
use crate::peer::{Outbox, Outgoing};
use crate::protocol::methods;
use crate::server::{ServerRequest, Session};

pub use super::lines::Frame;

/// How many frames wait in a channel before the sender waits.
pub const CHANNEL_CAPACITY: usize = 64;

/// An open message transport.
#[derive(Debug)]
pub struct Channel {
    /// Frames from the peer; ends when the peer closes the connection.
    pub incoming: mpsc::Receiver<Frame>,
    /// Where frames for the peer go; the transport stops writing once every
    /// clone of it is dropped.
    pub outbox: Outbox,
    /// The transport's writer: resolves once every clone of the outbox is
    /// dropped and what they sent was written (or writing failed).
    pub flushed: JoinHandle<io::Result<()>>,
}

impl Channel {
    /// Waits until the transport wrote everything: drop every other clone of
    /// the outbox first.
    pub async fn close(self) -> io::Result<()> {
        drop(self.outbox);
        drop(self.incoming);
        self.flushed.await.map_err(io::Error::other)?
    }
}

/// Something that carries JSON-RPC messages both ways once opened: a pair of
/// pipes, a socket, a child process, an HTTP endpoint.
pub trait Transport: Send + 'static {
    /// Starts the transport's I/O and hands over its channel.
    fn open(self) -> impl Future<Output = io::Result<Channel>> + Send;
}

/// The service bound [`serve_channel`] needs: an MCP server (or a stack of
/// tower layers around one).
pub trait ServeMessages:
    Service<ServerRequest, Response = Option<Message>, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<S> ServeMessages for S where
    S: Service<ServerRequest, Response = Option<Message>, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static
{
}

/// Serves `server` on `channel` as one session until the peer closes it,
/// then waits for the requests in flight and for the writer to finish.
///
/// `initialize`, notifications and answers to the server's own requests are
/// handled in order before the next frame is read; other requests run
/// concurrently, so a slow tool does not hold up `ping`.
pub async fn serve_channel<S: ServeMessages>(server: S, channel: Channel) -> io::Result<()> {
    serve_channel_with(server, channel, http::Extensions::new()).await
}

/// [`serve_channel`], with `extensions` cloned into every [`ServerRequest`]
/// of the session: what the transport knows about the connection (the
/// peer's address, its TLS certificate), for layers and handlers to read.
pub async fn serve_channel_with<S: ServeMessages>(
    server: S,
    channel: Channel,
    extensions: http::Extensions,
) -> io::Result<()> {
    let Channel {
        mut incoming,
        outbox,
        flushed,
    } = channel;
    let session = Session::new(outbox.clone());
    let mut in_flight = JoinSet::new();
    while let Some(frame) = incoming.recv().await {
        if let Frame::Payload(Payload::Single(message)) = &frame {
            let ordered = !matches!(message, Message::Request(_))
                || message.method() == Some(methods::INITIALIZE);
            if ordered {
                let Frame::Payload(Payload::Single(message)) = frame else {
                    continue;
                };
                let answer = handle_with(server.clone(), &session, message, &extensions).await;
                if let Some(answer) = answer {
                    let _ = outbox.send(Outgoing::One(answer)).await;
                }
                continue;
            }
        }
        let (server, session, outbox) = (server.clone(), session.clone(), outbox.clone());
        in_flight.spawn(answer_frame(
            server,
            session,
            outbox,
            frame,
            extensions.clone(),
        ));
        // Reap finished handlers so the set does not grow with the session.
        while in_flight.try_join_next().is_some() {}
    }
    // Nobody can answer the server's own requests any more.
    session.pending().fail_all();
    while in_flight.join_next().await.is_some() {}
    drop((session, outbox));
    flushed.await.map_err(io::Error::other)?
}

async fn answer_frame<S: ServeMessages>(
    server: S,
    session: Session,
    outbox: Outbox,
    frame: Frame,
    extensions: http::Extensions,
) {
    let answer = match frame {
        Frame::Invalid(error) => Some(Outgoing::One(Message::Error(error))),
        Frame::Payload(Payload::Single(message)) => {
            handle_with(server, &session, message, &extensions)
                .await
                .map(Outgoing::One)
        }
        Frame::Payload(Payload::Batch(items)) => {
            let mut answers = Vec::new();
            for item in items {
                let answer = match item {
                    Ok(message) => {
                        handle_with(server.clone(), &session, message, &extensions).await
                    }
                    Err(error) => Some(Message::Error(error)),
                };
                answers.extend(answer);
            }
            (!answers.is_empty()).then_some(Outgoing::Batch(answers))
        }
    };
    if let Some(answer) = answer {
        let _ = outbox.send(answer).await;
    }
}

/// Runs one message through `server`, with a clone of `extensions`.
pub(crate) async fn handle_with<S>(
    mut server: S,
    session: &Session,
    message: Message,
    extensions: &http::Extensions,
) -> Option<Message>
where
    S: Service<ServerRequest, Response = Option<Message>, Error = Infallible>,
{
    let ready = std::future::poll_fn(|cx| server.poll_ready(cx)).await;
    let request = ServerRequest::new(message, session.clone()).with_extensions(extensions.clone());
    match ready {
        Ok(()) => match server.call(request).await {
            Ok(answer) => answer,
        },
    }
}
