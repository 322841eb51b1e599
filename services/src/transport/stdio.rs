//! The stdio transport (MCP "Transports", stdio): newline-delimited JSON-RPC
//! on a reader and a writer, normally the process's stdin and stdout. Logs
//! must go to stderr.
//!
//! Messages are handled concurrently (a slow tool does not hold up `ping`);
//! responses are written as they are ready, each on its own line.

use std::convert::Infallible;
use std::io;

use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::jsonrpc::{ErrorObject, ErrorResponse, Message, Payload};
use crate::protocol::methods;
use crate::server::{ServerRequest, Session};

use super::lines::{Frame, FrameError, LineReader, LineWriter};

/// What the server answers to one line.
enum Answer {
    One(Message),
    Batch(Vec<Message>),
}

/// Serves `server` on `reader`/`writer` as one session, until the reader ends
/// (then waits for the requests in flight) or writing fails.
pub async fn serve<S, R, W>(server: S, reader: R, writer: W) -> io::Result<()>
where
    S: Service<ServerRequest, Response = Option<Message>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let session = Session::new();
    let (tx, mut rx) = mpsc::channel::<Answer>(64);
    let write_task = tokio::spawn(async move {
        let mut writer = LineWriter::new(writer);
        while let Some(answer) = rx.recv().await {
            match answer {
                Answer::One(message) => writer.send(&message).await?,
                Answer::Batch(messages) => writer.send_batch(&messages).await?,
            }
        }
        Ok::<(), io::Error>(())
    });
    let mut lines = LineReader::new(BufReader::new(reader));
    let mut in_flight = JoinSet::new();
    loop {
        let frame = match lines.next_frame().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(FrameError::TooLarge { limit }) => {
                let error =
                    ErrorObject::invalid_request(format!("message larger than {limit} bytes"));
                let _ = tx
                    .send(Answer::One(Message::Error(ErrorResponse::new(None, error))))
                    .await;
                continue;
            }
            Err(FrameError::Io(error)) => return Err(error),
        };
        // The lifecycle is ordered: `initialize` and notifications are handled
        // before the next line is read; other requests run concurrently.
        if let Frame::Payload(Payload::Single(message)) = &frame {
            let ordered = matches!(message, Message::Notification(_))
                || message.method() == Some(methods::INITIALIZE);
            if ordered {
                let Frame::Payload(Payload::Single(message)) = frame else {
                    continue;
                };
                if let Some(answer) = handle(server.clone(), &session, message).await {
                    let _ = tx.send(Answer::One(answer)).await;
                }
                continue;
            }
        }
        let (server, session, tx) = (server.clone(), session.clone(), tx.clone());
        spawn_handler(&mut in_flight, server, session, tx, frame);
        // Reap finished handlers so the set does not grow with the session.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
    drop(tx);
    write_task.await.map_err(io::Error::other)?
}

fn spawn_handler<S>(
    in_flight: &mut JoinSet<()>,
    server: S,
    session: Session,
    tx: mpsc::Sender<Answer>,
    frame: Frame,
) where
    S: Service<ServerRequest, Response = Option<Message>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    in_flight.spawn(async move {
        let answer = match frame {
            Frame::Invalid(error) => Some(Answer::One(Message::Error(error))),
            Frame::Payload(Payload::Single(message)) => {
                handle(server, &session, message).await.map(Answer::One)
            }
            Frame::Payload(Payload::Batch(items)) => {
                let mut answers = Vec::new();
                for item in items {
                    let answer = match item {
                        Ok(message) => handle(server.clone(), &session, message).await,
                        Err(error) => Some(Message::Error(error)),
                    };
                    answers.extend(answer);
                }
                (!answers.is_empty()).then_some(Answer::Batch(answers))
            }
        };
        if let Some(answer) = answer {
            let _ = tx.send(answer).await;
        }
    });
}

async fn handle<S>(mut server: S, session: &Session, message: Message) -> Option<Message>
where
    S: Service<ServerRequest, Response = Option<Message>, Error = Infallible>,
{
    let ready = std::future::poll_fn(|cx| server.poll_ready(cx)).await;
    match ready {
        Ok(()) => match server
            .call(ServerRequest::new(message, session.clone()))
            .await
        {
            Ok(answer) => answer,
        },
    }
}

/// Serves `server` on this process's stdin and stdout.
pub async fn serve_stdio<S>(server: S) -> io::Result<()>
where
    S: Service<ServerRequest, Response = Option<Message>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    serve(server, tokio::io::stdin(), tokio::io::stdout()).await
}
