//! Server-Sent Events for Streamable HTTP: the event encoding (HTML Living
//! Standard, "Server-sent events", §9.2.5 event stream format), event ids
//! that name their stream, and a session's streams with the bounded event
//! log behind resumption (MCP transports, "Resumability and Redelivery").
//!
//! Every event gets an id `STREAM-SEQ`: `STREAM` is 0 for the session's
//! standalone (GET) stream and a number per POST response stream, `SEQ`
//! counts from 1 within the stream. So ids are unique within the session
//! and a `Last-Event-ID` names the stream to resume. A GET with
//! `Last-Event-ID` replays the logged events after it on that stream and
//! continues it; a request stream that already ended is replayed and closed.
//!
//! Each stream has at most one live connection. A request stream's writer
//! waits for room on it (backpressure reaches only that request's handler);
//! the standalone stream's writer never waits: a connection that cannot
//! keep up is closed and its client resumes from the log.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, mpsc};

/// A stream within a session.
pub(crate) type StreamId = u64;

/// The standalone stream a GET opens.
pub(crate) const STANDALONE: StreamId = 0;

/// The comment sent on idle streams.
pub(crate) const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// An SSE event id: the stream and the position within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventId {
    pub(crate) stream: StreamId,
    pub(crate) seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.stream, self.seq)
    }
}

impl FromStr for EventId {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (stream, seq) = s.split_once('-').ok_or(())?;
        let number = |part: &str| {
            if part.is_empty() || part.len() > 20 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            part.parse::<u64>().map_err(|_| ())
        };
        Ok(Self {
            stream: number(stream)?,
            seq: number(seq)?,
        })
    }
}

/// One `message` event carrying `json` (a JSON text, which has no line
/// breaks).
pub(crate) fn message_event(id: EventId, json: &str) -> Bytes {
    Bytes::from(format!("event: message\nid: {id}\ndata: {json}\n\n"))
}

/// The priming event: an id and empty data (transports, "Sending Messages
/// to the Server", item 6), with `retry` if set.
pub(crate) fn priming_event(id: EventId, retry: Option<Duration>) -> Bytes {
    match retry {
        Some(retry) => Bytes::from(format!(
            "id: {id}\nretry: {}\ndata: \n\n",
            retry.as_millis()
        )),
        None => Bytes::from(format!("id: {id}\ndata: \n\n")),
    }
}

/// A block that sets only the reconnection time; it dispatches no event.
pub(crate) fn retry_field(retry: Duration) -> Bytes {
    Bytes::from(format!("retry: {}\n\n", retry.as_millis()))
}

/// Limits of a session's event log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogLimits {
    pub(crate) events: usize,
    pub(crate) bytes: usize,
}

#[derive(Debug)]
struct Live {
    id: u64,
    tx: mpsc::Sender<Bytes>,
}

#[derive(Debug, Default)]
struct StreamState {
    next_seq: u64,
    events: VecDeque<(u64, Bytes)>,
    /// The highest sequence number handed to a connection.
    delivered: u64,
    /// The highest sequence number evicted from the log.
    evicted: u64,
    live: Option<Live>,
    finished: bool,
}

impl StreamState {
    fn allocate(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn live_sender(&self) -> Option<&mpsc::Sender<Bytes>> {
        self.live
            .as_ref()
            .map(|l| &l.tx)
            .filter(|tx| !tx.is_closed())
    }
}

/// A new connection to a stream, and what it starts with.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) stream: StreamId,
    pub(crate) id: u64,
    /// Events to send before anything from `rx`.
    pub(crate) replay: VecDeque<Bytes>,
    /// Live events; `None` when the stream has ended (replay only).
    pub(crate) rx: Option<mpsc::Receiver<Bytes>>,
}

/// Why a connection to a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConnectError {
    /// The standalone stream already has a connection (409).
    Busy,
    /// No such stream (never existed, or forgotten).
    Unknown,
}

#[derive(Debug)]
struct State {
    next_stream: StreamId,
    next_conn: u64,
    streams: HashMap<StreamId, StreamState>,
    /// The stream of every logged event, oldest first.
    order: VecDeque<StreamId>,
    bytes: usize,
    closed: bool,
}

/// The SSE streams of one session and their event log.
#[derive(Debug)]
pub(crate) struct Streams {
    state: Mutex<State>,
    limits: LogLimits,
    channel_capacity: usize,
    /// Woken whenever a connection comes or goes, so a writer waiting for
    /// room on a connection that was replaced looks again.
    changed: Notify,
}

/// The outcome of offering an event to a request stream.
pub(crate) enum Append {
    /// Logged, and sent if a connection is open.
    Done,
    /// The open connection `conn` is full: reserve room on `tx`, then offer
    /// the event again with the permit.
    Wait {
        /// The connection.
        conn: u64,
        /// Its sender.
        tx: mpsc::Sender<Bytes>,
    },
}

impl Streams {
    pub(crate) fn new(limits: LogLimits, channel_capacity: usize) -> Self {
        let mut streams = HashMap::new();
        streams.insert(STANDALONE, StreamState::default());
        Self {
            state: Mutex::new(State {
                next_stream: STANDALONE + 1,
                next_conn: 0,
                streams,
                order: VecDeque::new(),
                bytes: 0,
                closed: false,
            }),
            limits,
            channel_capacity,
            changed: Notify::new(),
        }
    }

    /// Resolves after the next change of connections; enable it before
    /// looking at the state.
    pub(crate) fn changed(&self) -> Notified<'_> {
        self.changed.notified()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new request stream, not yet connected.
    pub(crate) fn open(&self) -> StreamId {
        let mut state = self.state();
        let id = state.next_stream;
        state.next_stream += 1;
        state.streams.insert(id, StreamState::default());
        id
    }

    /// Forgets a request stream that was answered without SSE.
    pub(crate) fn discard(&self, stream: StreamId) {
        let mut state = self.state();
        if state
            .streams
            .get(&stream)
            .is_some_and(|s| s.events.is_empty())
        {
            state.streams.remove(&stream);
        }
    }

    /// Connects the writer's first connection to a request stream, starting
    /// with `prefix` and a priming event when `priming` (with `retry`).
    pub(crate) fn attach(
        &self,
        stream: StreamId,
        priming: bool,
        retry: Option<Duration>,
    ) -> Option<Connection> {
        let mut state = self.state();
        if state.closed {
            return None;
        }
        let conn = state.next_conn;
        state.next_conn += 1;
        let entry = state.streams.get_mut(&stream)?;
        let mut replay = VecDeque::new();
        if priming {
            let seq = entry.allocate();
            replay.push_back(priming_event(EventId { stream, seq }, retry));
            entry.delivered = seq;
        }
        let (tx, rx) = mpsc::channel(self.channel_capacity);
        entry.live = Some(Live { id: conn, tx });
        Some(Connection {
            stream,
            id: conn,
            replay,
            rx: Some(rx),
        })
    }

    /// A GET's connection. With `after` (from `Last-Event-ID`): the logged
    /// events of that stream after it, then the stream's live events unless
    /// it has ended (a connection it still had is closed: its client has
    /// moved on). Without: the standalone stream's undelivered events, then
    /// its live events, unless it has a connection already; and when
    /// `priming` and there is nothing to replay, a priming event (with
    /// `retry`) so the client holds an id to resume from.
    pub(crate) fn connect(
        &self,
        after: Option<EventId>,
        priming: bool,
        retry: Option<Duration>,
    ) -> Result<Connection, ConnectError> {
        let mut state = self.state();
        if state.closed {
            return Err(ConnectError::Unknown);
        }
        let conn = state.next_conn;
        state.next_conn += 1;
        let stream = after.map_or(STANDALONE, |id| id.stream);
        let entry = state
            .streams
            .get_mut(&stream)
            .ok_or(ConnectError::Unknown)?;
        let from = match after {
            Some(id) if id.seq > entry.next_seq => return Err(ConnectError::Unknown),
            Some(id) => id.seq,
            None if entry.live_sender().is_some() => return Err(ConnectError::Busy),
            None => entry.delivered,
        };
        if entry.evicted > from {
            tracing::warn!(
                target: "mcp_tower::http",
                stream,
                after = from,
                evicted = entry.evicted,
                "resumed stream lost events the log no longer holds"
            );
        }
        let mut replay: VecDeque<Bytes> = entry
            .events
            .iter()
            .filter(|(seq, _)| *seq > from)
            .map(|(_, bytes)| bytes.clone())
            .collect();
        if after.is_none() && priming && replay.is_empty() {
            let seq = entry.allocate();
            replay.push_back(priming_event(EventId { stream, seq }, retry));
        }
        entry.delivered = entry.delivered.max(entry.next_seq);
        let rx = if entry.finished {
            None
        } else {
            let (tx, rx) = mpsc::channel(self.channel_capacity);
            entry.live = Some(Live { id: conn, tx });
            Some(rx)
        };
        drop(state);
        self.changed.notify_waiters();
        Ok(Connection {
            stream,
            id: conn,
            replay,
            rx,
        })
    }

    /// Forgets connection `conn` of `stream` (its client went away).
    pub(crate) fn disconnect(&self, stream: StreamId, conn: u64) {
        let mut state = self.state();
        if let Some(entry) = state.streams.get_mut(&stream) {
            if entry.live.as_ref().is_some_and(|l| l.id == conn) {
                entry.live = None;
            }
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// Closes the live connection of `stream` without ending the stream,
    /// after a `retry` field if set (transports: the server MAY close the
    /// connection and the client polls by reconnecting). Returns whether a
    /// connection was open.
    pub(crate) fn close_connection(&self, stream: StreamId, retry: Option<Duration>) -> bool {
        let mut state = self.state();
        let Some(live) = state.streams.get_mut(&stream).and_then(|s| s.live.take()) else {
            return false;
        };
        drop(state);
        self.changed.notify_waiters();
        if let Some(retry) = retry {
            let _ = live.tx.try_send(retry_field(retry));
        }
        !live.tx.is_closed()
    }

    /// Offers an event of a request stream: logged, and sent on the open
    /// connection. When that connection is full the writer is asked to
    /// wait (nothing is logged yet), so a request's events reach its client
    /// in order and at the client's pace; `reserved` is the room it waited
    /// for.
    pub(crate) fn append_request(
        &self,
        stream: StreamId,
        json: &str,
        reserved: Option<(u64, mpsc::OwnedPermit<Bytes>)>,
    ) -> Append {
        let mut state = self.state();
        let Some(entry) = state.streams.get_mut(&stream) else {
            return Append::Done;
        };
        let live = entry
            .live
            .as_ref()
            .filter(|l| !l.tx.is_closed())
            .map(|l| (l.id, l.tx.clone()));
        let permit = match (live, reserved) {
            (Some((conn, _)), Some((reserved_for, permit))) if conn == reserved_for => Some(permit),
            (Some((conn, tx)), _) if tx.capacity() == 0 => return Append::Wait { conn, tx },
            _ => None,
        };
        let seq = entry.allocate();
        let bytes = message_event(EventId { stream, seq }, json);
        if let Some(permit) = permit {
            permit.send(bytes.clone());
            entry.delivered = seq;
        } else if let Some(live) = &entry.live {
            if live.tx.try_send(bytes.clone()).is_ok() {
                entry.delivered = seq;
            } else {
                // Closed, or filled by a `retry` field meanwhile: the client
                // resumes from the log.
                entry.live = None;
            }
        }
        Self::log(&mut state, self.limits, stream, seq, bytes);
        Append::Done
    }

    /// Writes an event on the standalone stream: to its connection if it
    /// has room (a connection without room is closed; its client resumes
    /// from the log), and to the log.
    pub(crate) fn append_standalone(&self, json: &str) {
        let mut state = self.state();
        if state.closed {
            return;
        }
        let Some(entry) = state.streams.get_mut(&STANDALONE) else {
            return;
        };
        let seq = entry.allocate();
        let bytes = message_event(
            EventId {
                stream: STANDALONE,
                seq,
            },
            json,
        );
        if let Some(live) = &entry.live {
            match live.tx.try_send(bytes.clone()) {
                Ok(()) => entry.delivered = seq,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(
                        target: "mcp_tower::http",
                        "standalone SSE connection too slow; closed (the client can resume)"
                    );
                    entry.live = None;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => entry.live = None,
            }
        }
        Self::log(&mut state, self.limits, STANDALONE, seq, bytes);
    }

    fn log(state: &mut State, limits: LogLimits, stream: StreamId, seq: u64, bytes: Bytes) {
        state.bytes += bytes.len();
        state.order.push_back(stream);
        if let Some(entry) = state.streams.get_mut(&stream) {
            entry.events.push_back((seq, bytes));
        }
        while state.order.len() > 1
            && (state.order.len() > limits.events || state.bytes > limits.bytes)
        {
            let Some(oldest) = state.order.pop_front() else {
                break;
            };
            let Some(entry) = state.streams.get_mut(&oldest) else {
                continue;
            };
            if let Some((seq, bytes)) = entry.events.pop_front() {
                state.bytes -= bytes.len();
                entry.evicted = seq;
                if seq > entry.delivered {
                    tracing::warn!(
                        target: "mcp_tower::http",
                        stream = oldest,
                        seq,
                        "event log full: an undelivered event was dropped"
                    );
                }
            }
            if oldest != STANDALONE && entry.finished && entry.events.is_empty() {
                state.streams.remove(&oldest);
            }
        }
    }

    /// Ends a request stream: its connection closes once it has sent what
    /// it holds; resumptions replay the log and close.
    pub(crate) fn finish(&self, stream: StreamId) {
        let mut state = self.state();
        if let Some(entry) = state.streams.get_mut(&stream) {
            entry.finished = true;
            entry.live = None;
            if entry.events.is_empty() {
                state.streams.remove(&stream);
            }
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// Ends every stream (the session is over).
    pub(crate) fn close_all(&self) {
        let mut state = self.state();
        state.closed = true;
        state.streams.clear();
        state.order.clear();
        state.bytes = 0;
        drop(state);
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn streams(events: usize) -> Streams {
        Streams::new(
            LogLimits {
                events,
                bytes: usize::MAX,
            },
            4,
        )
    }

    fn resume(s: &Streams, stream: StreamId, seq: u64) -> Result<Connection, ConnectError> {
        s.connect(Some(EventId { stream, seq }), false, None)
    }

    fn text(bytes: &Bytes) -> &str {
        std::str::from_utf8(bytes).unwrap()
    }

    #[test]
    fn event_ids_round_trip_strictly() {
        let id = EventId { stream: 3, seq: 17 };
        assert_eq!(id.to_string(), "3-17");
        assert_eq!("3-17".parse::<EventId>(), Ok(id));
        for bad in ["", "3", "3-", "-1", "a-1", "1-2-3", "+1-2", "1 -2"] {
            assert!(bad.parse::<EventId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn encodings() {
        let id = EventId { stream: 1, seq: 2 };
        assert_eq!(
            text(&message_event(id, "{}")),
            "event: message\nid: 1-2\ndata: {}\n\n"
        );
        assert_eq!(
            text(&priming_event(id, Some(Duration::from_millis(1500)))),
            "id: 1-2\nretry: 1500\ndata: \n\n"
        );
        assert_eq!(text(&priming_event(id, None)), "id: 1-2\ndata: \n\n");
        assert_eq!(
            text(&retry_field(Duration::from_secs(2))),
            "retry: 2000\n\n"
        );
    }

    #[test]
    fn standalone_buffers_until_connected_then_one_connection() {
        let s = streams(16);
        s.append_standalone("1");
        s.append_standalone("2");
        let conn = s.connect(None, false, None).unwrap();
        assert_eq!(conn.replay.len(), 2);
        assert!(text(&conn.replay[0]).contains("id: 0-1"));
        assert_eq!(
            s.connect(None, false, None).unwrap_err(),
            ConnectError::Busy
        );
        let mut rx = conn.rx.unwrap();
        s.append_standalone("3");
        assert!(text(&rx.try_recv().unwrap()).contains("data: 3"));
        drop(rx);
        s.disconnect(STANDALONE, conn.id);
        // Reconnecting without Last-Event-ID does not repeat delivered events.
        let again = s.connect(None, false, None).unwrap();
        assert!(again.replay.is_empty());
    }

    #[test]
    fn resume_replays_after_the_id_and_continues() {
        let s = streams(16);
        let stream = s.open();
        let conn = s.attach(stream, true, None).unwrap();
        assert!(text(&conn.replay[0]).starts_with(&format!("id: {stream}-1\n")));
        for n in 0..3 {
            assert!(matches!(
                s.append_request(stream, &n.to_string(), None),
                Append::Done
            ));
        }
        drop(conn);
        let resumed = resume(&s, stream, 2).unwrap();
        let replayed: Vec<_> = resumed.replay.iter().map(text).collect();
        assert_eq!(replayed.len(), 2);
        assert!(replayed[0].contains("data: 1"));
        assert!(resumed.rx.is_some());
        s.finish(stream);
        // A finished stream replays and ends.
        let done = resume(&s, stream, 1).unwrap();
        assert_eq!(done.replay.len(), 3);
        assert!(done.rx.is_none());
        assert_eq!(resume(&s, 99, 1).unwrap_err(), ConnectError::Unknown);
        assert_eq!(resume(&s, stream, 50).unwrap_err(), ConnectError::Unknown);
    }

    #[test]
    fn a_full_request_connection_asks_the_writer_to_wait() {
        let s = streams(64);
        let stream = s.open();
        let conn = s.attach(stream, false, None).unwrap();
        for n in 0..4 {
            assert!(matches!(
                s.append_request(stream, &n.to_string(), None),
                Append::Done
            ));
        }
        assert!(matches!(
            s.append_request(stream, "x", None),
            Append::Wait { .. }
        ));
        drop(conn);
    }

    #[tokio::test]
    async fn a_waiting_writer_hears_when_its_connection_is_replaced() {
        let s = streams(64);
        let stream = s.open();
        let conn = s.attach(stream, false, None).unwrap();
        for n in 0..4 {
            s.append_request(stream, &n.to_string(), None);
        }
        let changed = s.changed();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let Append::Wait { conn: waited, .. } = s.append_request(stream, "x", None) else {
            panic!("the connection is full");
        };
        assert_eq!(waited, conn.id);
        // The client resumes on a new connection: the writer wakes up and
        // finds room there.
        let resumed = resume(&s, stream, 4).unwrap();
        changed.await;
        assert!(matches!(s.append_request(stream, "x", None), Append::Done));
        let mut rx = resumed.rx.unwrap();
        assert!(text(&rx.try_recv().unwrap()).contains("data: x"));
    }

    #[test]
    fn a_slow_standalone_connection_is_closed_not_waited_for() {
        let s = streams(64);
        let conn = s.connect(None, false, None).unwrap();
        let mut rx = conn.rx.unwrap();
        for n in 0..5 {
            s.append_standalone(&n.to_string());
        }
        // The fifth event found no room: the connection was dropped (its
        // body ends after what it holds) and the slot is free again.
        for _ in 0..4 {
            assert!(rx.try_recv().is_ok());
        }
        assert!(matches!(
            rx.try_recv(),
            Err(mpsc::error::TryRecvError::Disconnected)
        ));
        // The client resumes from the last id it saw and gets the rest.
        let resumed = s
            .connect(
                Some(EventId {
                    stream: STANDALONE,
                    seq: 4,
                }),
                false,
                None,
            )
            .unwrap();
        assert_eq!(resumed.replay.len(), 1);
        assert!(text(&resumed.replay[0]).contains("data: 4"));
    }

    #[test]
    fn the_log_is_bounded_and_forgets_finished_streams() {
        let s = streams(3);
        let a = s.open();
        s.append_request(a, "a1", None);
        s.finish(a);
        for n in 0..3 {
            s.append_standalone(&n.to_string());
        }
        // The finished stream's only event was evicted; the stream is gone.
        assert_eq!(resume(&s, a, 0).unwrap_err(), ConnectError::Unknown);
        let conn = s.connect(None, false, None).unwrap();
        assert_eq!(conn.replay.len(), 3);
    }

    #[test]
    fn closing_a_connection_sends_retry_and_keeps_the_stream() {
        let s = streams(16);
        let stream = s.open();
        let conn = s
            .attach(stream, true, Some(Duration::from_millis(5)))
            .unwrap();
        let mut rx = conn.rx.unwrap();
        assert!(s.close_connection(stream, Some(Duration::from_millis(5))));
        assert_eq!(text(&rx.try_recv().unwrap()), "retry: 5\n\n");
        assert!(rx.try_recv().is_err());
        s.append_request(stream, "later", None);
        let resumed = resume(&s, stream, 1).unwrap();
        assert_eq!(resumed.replay.len(), 1);
    }
}
