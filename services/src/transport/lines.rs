//! Newline-delimited JSON framing: the MCP stdio transport (messages are
//! separated by newlines and contain none), also used over TCP and Unix
//! sockets.
//!
//! [`LineReader`] bounds each message (a peer cannot make it buffer without
//! limit), skips an oversized line to stay in step with the stream, and hands
//! invalid JSON back as the JSON-RPC error response to send. [`LineWriter`]
//! writes one message per line and flushes.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::jsonrpc::{ErrorResponse, Message, Payload, parse};

/// Default largest message: 4 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// What one line held.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A message or a batch.
    Payload(Payload),
    /// Not valid JSON-RPC: the error response to send back (-32700, -32600).
    Invalid(ErrorResponse),
}

/// Why reading failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A line longer than the limit; it was skipped up to its newline, so the
    /// next read starts at the following message.
    #[error("message larger than {limit} bytes; skipped")]
    TooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// Reading from the peer failed.
    #[error("reading the transport failed: {0}")]
    Io(#[from] io::Error),
}

/// Reads newline-delimited JSON-RPC messages.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    line: Vec<u8>,
    max: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Reads from `reader` (wrap a raw stream in `tokio::io::BufReader`),
    /// with the default message limit.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line: Vec::new(),
            max: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    /// Sets the largest accepted message in bytes.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max = bytes;
        self
    }

    /// The next frame; `Ok(None)` at the end of the stream. Blank lines are
    /// skipped; a final line without a newline still counts.
    pub async fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            let Some(oversized) = self.read_line().await? else {
                return Ok(None);
            };
            if oversized {
                return Err(FrameError::TooLarge { limit: self.max });
            }
            let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(match parse(line) {
                Ok(payload) => Frame::Payload(payload),
                Err(error) => Frame::Invalid(error),
            }));
        }
    }

    /// Fills `self.line` with the next line (without its newline). Returns
    /// `None` at the end of the stream, `Some(true)` when the line was longer
    /// than the limit (and has been skipped).
    async fn read_line(&mut self) -> Result<Option<bool>, FrameError> {
        self.line.clear();
        let mut oversized = false;
        let mut seen_any = false;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok((seen_any).then_some(oversized));
            }
            seen_any = true;
            let (chunk, end) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            if !oversized && self.line.len() + chunk.len() <= self.max {
                self.line.extend_from_slice(chunk);
            } else {
                // Drop what was kept and the rest of this line.
                oversized = true;
                self.line.clear();
            }
            let consumed = end.unwrap_or(available.len());
            self.reader.consume(consumed);
            if end.is_some() {
                return Ok(Some(oversized));
            }
        }
    }
}

/// Writes newline-delimited JSON-RPC messages.
#[derive(Debug)]
pub struct LineWriter<W> {
    writer: W,
    buffer: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> LineWriter<W> {
    /// Writes to `writer`.
    pub fn new(writer: W) -> Self {
        Self {
            writer,
            buffer: Vec::new(),
        }
    }

    /// Writes `message` and a newline, and flushes.
    pub async fn send(&mut self, message: &Message) -> io::Result<()> {
        self.buffer.clear();
        // Compact JSON escapes newlines inside strings, so the line has none.
        serde_json::to_writer(&mut self.buffer, message).map_err(io::Error::other)?;
        self.finish().await
    }

    /// Writes several messages as one batch (a JSON array) and a newline.
    pub async fn send_batch(&mut self, messages: &[Message]) -> io::Result<()> {
        self.buffer.clear();
        serde_json::to_writer(&mut self.buffer, messages).map_err(io::Error::other)?;
        self.finish().await
    }

    async fn finish(&mut self) -> io::Result<()> {
        self.buffer.push(b'\n');
        self.writer.write_all(&self.buffer).await?;
        self.writer.flush().await
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.writer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonrpc::{ErrorCode, Notification, Request};
    use tokio::io::{AsyncWriteExt, BufReader, duplex};

    fn request(id: i64) -> Message {
        Message::Request(Request {
            id: id.into(),
            method: "tools/call".into(),
            params: Some(serde_json::json!({"name": "echo", "arguments": {"text": "a\nb"}})),
        })
    }

    #[tokio::test]
    async fn round_trips_messages_one_per_line() {
        let (client, server) = duplex(64);
        let mut writer = LineWriter::new(client);
        let mut reader = LineReader::new(BufReader::new(server));
        let task = tokio::spawn(async move {
            for id in 0..3 {
                writer.send(&request(id)).await.unwrap();
            }
            writer
                .send(&Message::Notification(Notification {
                    method: "notifications/initialized".into(),
                    params: None,
                }))
                .await
                .unwrap();
        });
        for id in 0..3 {
            assert_eq!(
                reader.next_frame().await.unwrap(),
                Some(Frame::Payload(Payload::Single(request(id))))
            );
        }
        assert!(matches!(
            reader.next_frame().await.unwrap(),
            Some(Frame::Payload(_))
        ));
        task.await.unwrap();
        assert_eq!(reader.next_frame().await.unwrap(), None);
    }

    #[tokio::test]
    async fn skips_blank_lines_handles_crlf_and_a_final_line_without_newline() {
        let input = b"\n  \r\n{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\r\n{\"jsonrpc\":\"2.0\",\"method\":\"b\"}";
        let mut reader = LineReader::new(&input[..]);
        for method in ["a", "b"] {
            let Some(Frame::Payload(Payload::Single(m))) = reader.next_frame().await.unwrap()
            else {
                panic!("expected a message")
            };
            assert_eq!(m.method(), Some(method));
        }
        assert_eq!(reader.next_frame().await.unwrap(), None);
    }

    #[tokio::test]
    async fn invalid_json_is_answered_and_reading_goes_on() {
        let input = b"{not json}\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";
        let mut reader = LineReader::new(&input[..]);
        let Some(Frame::Invalid(error)) = reader.next_frame().await.unwrap() else {
            panic!("expected an error frame")
        };
        assert_eq!(error.error.code, ErrorCode::PARSE_ERROR);
        assert!(matches!(
            reader.next_frame().await.unwrap(),
            Some(Frame::Payload(_))
        ));
    }

    #[tokio::test]
    async fn oversized_lines_are_skipped_without_buffering_them() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\n{\"jsonrpc\":\"2.0\",\"method\":\"after\"}\n");
        // A tiny buffer makes the long line arrive in many pieces.
        let mut reader =
            LineReader::new(BufReader::with_capacity(16, &input[..])).max_message_bytes(100);
        assert!(matches!(
            reader.next_frame().await,
            Err(FrameError::TooLarge { limit: 100 })
        ));
        assert!(reader.line.capacity() <= 200, "the long line was not kept");
        let Some(Frame::Payload(Payload::Single(m))) = reader.next_frame().await.unwrap() else {
            panic!("expected the next message")
        };
        assert_eq!(m.method(), Some("after"));
    }

    #[tokio::test]
    async fn batches_are_one_line() {
        let (client, server) = duplex(4096);
        let mut writer = LineWriter::new(client);
        writer.send_batch(&[request(1), request(2)]).await.unwrap();
        writer.into_inner().shutdown().await.unwrap();
        let mut reader = LineReader::new(BufReader::new(server));
        let Some(Frame::Payload(Payload::Batch(items))) = reader.next_frame().await.unwrap() else {
            panic!("expected a batch")
        };
        assert_eq!(items.len(), 2);
    }
}
