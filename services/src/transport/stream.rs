//! Newline-delimited JSON-RPC over any byte stream: the framing of the stdio,
//! TCP, Unix-socket and TLS transports, and of a child process's pipes.

use std::io;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::jsonrpc::{ErrorObject, ErrorResponse};
use crate::peer::Outgoing;

use super::channel::{CHANNEL_CAPACITY, Channel, Frame, Transport};
use super::lines::{DEFAULT_MAX_MESSAGE_BYTES, FrameError, LineReader, LineWriter};

/// A transport over a reader and a writer, one JSON-RPC message (or batch)
/// per line.
#[derive(Debug)]
pub struct StreamTransport<R, W> {
    reader: R,
    writer: W,
    max_message_bytes: usize,
}

impl<R, W> StreamTransport<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    /// Frames messages on `reader` and `writer`.
    pub fn new(reader: R, writer: W) -> Self {
        Self {
            reader,
            writer,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// Sets the largest message accepted from the peer (default 4 MiB); a
    /// longer line is skipped and answered with -32600.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }
}

impl<R, W> Transport for StreamTransport<R, W>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    async fn open(self) -> io::Result<Channel> {
        let (outbox, mut outgoing) = mpsc::channel::<Outgoing>(CHANNEL_CAPACITY);
        let (frames, incoming) = mpsc::channel::<Frame>(CHANNEL_CAPACITY);
        let writer = self.writer;
        let flushed = tokio::spawn(async move {
            let mut writer = LineWriter::new(writer);
            while let Some(frame) = outgoing.recv().await {
                match frame {
                    Outgoing::One(message) => writer.send(&message).await?,
                    Outgoing::Batch(messages) => writer.send_batch(&messages).await?,
                }
            }
            // Tell the peer we are done (EOF on a pipe, FIN on a socket).
            writer.into_inner().shutdown().await
        });
        let mut lines =
            LineReader::new(BufReader::new(self.reader)).max_message_bytes(self.max_message_bytes);
        tokio::spawn(async move {
            loop {
                let frame = match lines.next_frame().await {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(FrameError::TooLarge { limit }) => {
                        let error = ErrorObject::invalid_request(format!(
                            "message larger than {limit} bytes"
                        ));
                        Frame::Invalid(ErrorResponse::new(None, error))
                    }
                    Err(FrameError::Io(error)) => {
                        tracing::debug!(target: "mcp_tower::transport", %error, "reading the stream failed");
                        break;
                    }
                };
                if frames.send(frame).await.is_err() {
                    break;
                }
            }
        });
        Ok(Channel {
            incoming,
            outbox,
            flushed,
        })
    }
}
