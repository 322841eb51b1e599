//! An incremental `text/event-stream` parser, as the WHATWG HTML standard
//! defines it (§9.2.6 "Parsing an event stream", §9.2.7 "Interpreting an
//! event stream"): fields `data`, `event`, `id` and `retry`, multi-line
//! data, comments, CR, LF and CRLF line endings (also split across chunks),
//! a leading byte order mark, and limits on the length of a line and of an
//! event's data so a peer cannot make it buffer without bound.
//!
//! Feed it the bytes of a response body as they arrive with
//! [`SseParser::feed`], then take the events with [`SseParser::next_event`].
//! At the end of the stream an incomplete event is discarded, as the
//! standard says; call [`SseParser::restart`] before feeding the body of a
//! reconnection (the last event ID and the reconnection time survive).
//!
//! ```
//! use mcp_tower_services::transport::http_client::SseParser;
//!
//! let mut parser = SseParser::new();
//! parser.feed(b"retry: 500\nid: 7\ndata: {\"a\":\r\ndata: 1}\r\n\r\n");
//! let event = parser.next_event().unwrap().unwrap();
//! assert_eq!(event.data, "{\"a\":\n1}");
//! assert_eq!(event.event, "message");
//! assert_eq!(parser.last_event_id(), "7");
//! assert_eq!(parser.retry(), Some(std::time::Duration::from_millis(500)));
//! ```

use std::time::Duration;

/// Default longest line: 4 MiB and a little, so a 4 MiB message fits on a
/// `data:` line.
pub const DEFAULT_MAX_LINE_BYTES: usize = 4 * 1024 * 1024 + 64;
/// Default largest `data` of one event: 4 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SseEvent {
    /// The event type: the `event` field, or `"message"` when there was none.
    pub event: String,
    /// The `data` lines joined with LF.
    pub data: String,
    /// The last event ID when the event was dispatched (empty if none).
    pub id: String,
}

/// Why a part of the stream was skipped. The parser stays usable: it
/// resumes at the next line (for a long line) or the next event (for a
/// large event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// A line longer than the limit; the line and its event are skipped.
    #[error("an event-stream line is longer than {limit} bytes; its event was skipped")]
    LineTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// An event whose data is larger than the limit; the event is skipped.
    #[error("an event's data is larger than {limit} bytes; the event was skipped")]
    EventTooLarge {
        /// The configured limit.
        limit: usize,
    },
}

/// The parser's state: see the module documentation.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // each flag is one state of the standard's algorithm
pub struct SseParser {
    buf: Vec<u8>,
    /// Where unprocessed bytes start in `buf`.
    start: usize,
    /// How far past `start` we already looked for a line ending.
    scanned: usize,
    /// The BOM check at the start of the stream is done.
    started: bool,
    /// The previous line ended with CR: an LF that follows belongs to it.
    skip_lf: bool,
    /// Inside a line that was too long: drop bytes up to its end.
    discarding_line: bool,
    /// Inside an event that was too large: ignore fields up to its end.
    discarding_event: bool,
    data: String,
    event_type: String,
    id_buffer: String,
    last_event_id: String,
    retry: Option<Duration>,
    max_line: usize,
    max_event: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser with the default limits.
    pub fn new() -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            started: false,
            skip_lf: false,
            discarding_line: false,
            discarding_event: false,
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            retry: None,
            max_line: DEFAULT_MAX_LINE_BYTES,
            max_event: DEFAULT_MAX_EVENT_BYTES,
        }
    }

    /// Sets the longest line accepted, in bytes.
    #[must_use]
    pub fn max_line_bytes(mut self, bytes: usize) -> Self {
        self.max_line = bytes.max(1);
        self
    }

    /// Sets the largest `data` of one event, in bytes.
    #[must_use]
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event = bytes;
        self
    }

    /// The last event ID: what a reconnection sends as `Last-Event-ID`
    /// (empty: send none).
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time the server asked for with `retry`, if it did.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Prepares for a new connection's body: drops buffered bytes and the
    /// incomplete event, keeps the last event ID and the reconnection time.
    pub fn restart(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        self.started = false;
        self.skip_lf = false;
        self.discarding_line = false;
        self.discarding_event = false;
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// Adds bytes of the stream.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        if self.discarding_line {
            // Drop the rest of the oversized line without buffering it.
            match chunk.iter().position(|&b| b == b'\r' || b == b'\n') {
                None => return,
                Some(end) => {
                    self.discarding_line = false;
                    self.skip_lf = chunk[end] == b'\r';
                    chunk = &chunk[end + 1..];
                }
            }
        }
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.scanned = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, `Ok(None)` when more bytes are needed.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, SseError> {
        loop {
            if !self.started {
                let pending = &self.buf[self.start..];
                if pending.len() < BOM.len() && BOM.starts_with(pending) && !pending.is_empty() {
                    return Ok(None);
                }
                if pending.is_empty() {
                    return Ok(None);
                }
                if pending.starts_with(BOM) {
                    self.start += BOM.len();
                }
                self.started = true;
            }
            if self.skip_lf && self.start < self.buf.len() {
                if self.buf[self.start] == b'\n' {
                    self.start += 1;
                }
                self.skip_lf = false;
            }
            let from = self.start + self.scanned;
            let found = self.buf[from..]
                .iter()
                .position(|&b| b == b'\r' || b == b'\n');
            let Some(offset) = found else {
                self.scanned = self.buf.len() - self.start;
                if self.scanned > self.max_line {
                    self.buf.clear();
                    self.start = 0;
                    self.scanned = 0;
                    self.discarding_line = true;
                    self.discard_event();
                    return Err(SseError::LineTooLong {
                        limit: self.max_line,
                    });
                }
                self.compact();
                return Ok(None);
            };
            let end = from + offset;
            let line_start = self.start;
            self.skip_lf = self.buf[end] == b'\r';
            self.start = end + 1;
            self.scanned = 0;
            if end - line_start > self.max_line {
                self.discard_event();
                return Err(SseError::LineTooLong {
                    limit: self.max_line,
                });
            }
            let line = String::from_utf8_lossy(&self.buf[line_start..end]).into_owned();
            match self.process_line(&line) {
                Ok(Some(event)) => return Ok(Some(event)),
                Ok(None) => {}
                Err(error) => return Err(error),
            }
        }
    }

    fn compact(&mut self) {
        if self.start > 4096 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    fn discard_event(&mut self) {
        self.discarding_event = true;
        self.data = String::new();
        self.event_type.clear();
    }

    fn process_line(&mut self, line: &str) -> Result<Option<SseEvent>, SseError> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if line.starts_with(':') || self.discarding_event {
            return Ok(None);
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.event_type),
            "data" => {
                if self.data.len() + value.len() > self.max_event {
                    self.discard_event();
                    return Err(SseError::EventTooLarge {
                        limit: self.max_event,
                    });
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => value.clone_into(&mut self.id_buffer),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Too many digits for a u64: ignored like any invalid value.
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        self.last_event_id.clone_from(&self.id_buffer);
        if self.discarding_event {
            self.discarding_event = false;
            self.data.clear();
            self.event_type.clear();
            return None;
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        if data.ends_with('\n') {
            data.pop();
        }
        let event = if self.event_type.is_empty() {
            "message".to_owned()
        } else {
            std::mem::take(&mut self.event_type)
        };
        Some(SseEvent {
            event,
            data,
            id: self.last_event_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn events(parser: &mut SseParser) -> Vec<Result<SseEvent, SseError>> {
        let mut out = Vec::new();
        loop {
            match parser.next_event() {
                Ok(Some(event)) => out.push(Ok(event)),
                Ok(None) => return out,
                Err(error) => out.push(Err(error)),
            }
        }
    }

    fn all(text: &[u8]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        parser.feed(text);
        events(&mut parser)
            .into_iter()
            .map(Result::unwrap)
            .collect()
    }

    fn ev(event: &str, data: &str, id: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
            id: id.into(),
        }
    }

    #[test]
    fn fields_and_multi_line_data() {
        assert_eq!(
            all(b"event: add\ndata: 1\ndata:2\ndata\nid: x\n\n"),
            [ev("add", "1\n2\n", "x")]
        );
    }

    #[test]
    fn every_line_ending_and_ones_split_across_chunks() {
        for text in [
            &b"data: a\r\rdata: b\r\r"[..],
            b"data: a\n\ndata: b\n\n",
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            b"data: a\r\n\ndata: b\n\r\n",
        ] {
            assert_eq!(all(text), [ev("message", "a", ""), ev("message", "b", "")]);
            // Byte by byte: a CR at the end of a chunk, its LF in the next.
            let mut parser = SseParser::new();
            let mut out = Vec::new();
            for byte in text {
                parser.feed(std::slice::from_ref(byte));
                out.extend(events(&mut parser).into_iter().map(Result::unwrap));
            }
            assert_eq!(out, [ev("message", "a", ""), ev("message", "b", "")]);
        }
    }

    #[test]
    fn a_leading_bom_is_skipped_once() {
        assert_eq!(all(b"\xEF\xBB\xBFdata: x\n\n"), [ev("message", "x", "")]);
        // Split BOM.
        let mut parser = SseParser::new();
        parser.feed(b"\xEF");
        assert_eq!(parser.next_event(), Ok(None));
        parser.feed(b"\xBB\xBFdata: y\n\n");
        assert_eq!(parser.next_event(), Ok(Some(ev("message", "y", ""))));
        // A second BOM is part of the field name, so the line is ignored.
        assert!(all(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n").is_empty());
    }

    #[test]
    fn comments_unknown_fields_and_empty_events() {
        assert!(all(b": keep-alive\n\n:another\nfoo: bar\n\n").is_empty());
        // Only the first space after the colon is removed.
        assert_eq!(all(b"data:  two\n\n"), [ev("message", " two", "")]);
        // A line without a colon is a field with an empty value.
        assert_eq!(all(b"data\n\n"), [ev("message", "", "")]);
    }

    #[test]
    fn a_priming_event_has_an_id_and_empty_data() {
        let mut parser = SseParser::new();
        parser.feed(b"id: p1\nretry: 250\ndata: \n\n");
        assert_eq!(parser.next_event(), Ok(Some(ev("message", "", "p1"))));
        assert_eq!(parser.last_event_id(), "p1");
        assert_eq!(parser.retry(), Some(Duration::from_millis(250)));
        // An id without data is not an event but still moves the cursor.
        parser.feed(b"id: p2\n\n");
        assert_eq!(parser.next_event(), Ok(None));
        assert_eq!(parser.last_event_id(), "p2");
    }

    #[test]
    fn id_rules() {
        let mut parser = SseParser::new();
        // An id with NUL is ignored; an empty id resets.
        parser.feed(b"id: a\n\nid: b\0c\n\n");
        let _ = events(&mut parser);
        assert_eq!(parser.last_event_id(), "a");
        parser.feed(b"id\n\n");
        let _ = events(&mut parser);
        assert_eq!(parser.last_event_id(), "");
        // The id is only applied when the event is dispatched.
        parser.feed(b"id: z\ndata: q\n");
        assert_eq!(parser.next_event(), Ok(None));
        assert_eq!(parser.last_event_id(), "");
    }

    #[test]
    fn retry_needs_digits_only() {
        let mut parser = SseParser::new();
        parser.feed(b"retry: 10a\n\nretry: -5\n\nretry:\n\nretry: 99999999999999999999999\n\n");
        let _ = events(&mut parser);
        assert_eq!(parser.retry(), None);
        parser.feed(b"retry: 0\n\n");
        let _ = events(&mut parser);
        assert_eq!(parser.retry(), Some(Duration::ZERO));
    }

    #[test]
    fn an_incomplete_event_at_the_end_is_not_dispatched() {
        let mut parser = SseParser::new();
        parser.feed(b"data: a\n\ndata: partial\n");
        assert_eq!(
            events(&mut parser)
                .into_iter()
                .map(Result::unwrap)
                .collect::<Vec<_>>(),
            [ev("message", "a", "")]
        );
        parser.restart();
        parser.feed(b"data: b\n\n");
        assert_eq!(parser.next_event(), Ok(Some(ev("message", "b", ""))));
    }

    #[test]
    fn restart_keeps_the_cursor_and_retry() {
        let mut parser = SseParser::new();
        parser.feed(b"id: 3\nretry: 9\ndata: x\n\nid: 4\ndata: half");
        let _ = events(&mut parser);
        parser.restart();
        assert_eq!(parser.last_event_id(), "3");
        parser.feed(b"\xEF\xBB\xBFdata: y\n\n");
        assert_eq!(parser.next_event(), Ok(Some(ev("message", "y", "3"))));
        assert_eq!(parser.retry(), Some(Duration::from_millis(9)));
    }

    #[test]
    fn a_long_line_is_skipped_with_its_event() {
        let mut parser = SseParser::new().max_line_bytes(16);
        parser.feed(b"data: first\n");
        parser.feed(&[b'x'; 40]);
        assert_eq!(
            parser.next_event(),
            Err(SseError::LineTooLong { limit: 16 })
        );
        parser.feed(&[b'y'; 40]);
        parser.feed(b"\ndata: more\n\ndata: ok\n\n");
        assert_eq!(
            events(&mut parser)
                .into_iter()
                .map(Result::unwrap)
                .collect::<Vec<_>>(),
            [ev("message", "ok", "")]
        );
        // A long line that arrives complete in one chunk.
        let mut parser = SseParser::new().max_line_bytes(8);
        parser.feed(b"data: 0123456789\n\ndata: ok\n\n");
        assert_eq!(parser.next_event(), Err(SseError::LineTooLong { limit: 8 }));
        assert_eq!(parser.next_event(), Ok(Some(ev("message", "ok", ""))));
    }

    #[test]
    fn a_large_event_is_skipped() {
        let mut parser = SseParser::new().max_event_bytes(10);
        parser.feed(b"data: 123456\ndata: 789012\ndata: x\n\ndata: ok\n\n");
        assert_eq!(
            parser.next_event(),
            Err(SseError::EventTooLarge { limit: 10 })
        );
        assert_eq!(parser.next_event(), Ok(Some(ev("message", "ok", ""))));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(all(b"data: \xFF\n\n"), [ev("message", "\u{FFFD}", "")]);
    }

    proptest::proptest! {
        #[test]
        fn chunking_does_not_change_the_events(
            text in proptest::collection::vec(proptest::sample::select(b"da:t i\r\nxe\xEF\xBB\xBF".to_vec()), 0..200),
            cut in 0usize..200,
        ) {
            let whole = {
                let mut p = SseParser::new();
                p.feed(&text);
                (events(&mut p), p.last_event_id().to_owned())
            };
            let cut = cut.min(text.len());
            let mut p = SseParser::new();
            p.feed(&text[..cut]);
            let mut got = events(&mut p);
            p.feed(&text[cut..]);
            got.extend(events(&mut p));
            proptest::prop_assert_eq!(whole, (got, p.last_event_id().to_owned()));
        }
    }
}
