//! [`McpBody`]: the response body of the Streamable HTTP service, either a
//! whole JSON text (or nothing) or an SSE stream fed by the session.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};

use super::sse::KEEP_ALIVE;

/// Runs when an SSE response body is dropped (its client went away or the
/// stream ended): unregisters the connection from its stream.
pub(crate) trait OnDrop: Send + Sync + 'static {}

impl<T: Send + Sync + 'static> OnDrop for T {}

/// The body of a Streamable HTTP response: a JSON text, nothing, or an SSE
/// stream. It never fails (`Error = Infallible`); an SSE stream ends when
/// the server ends it or the session closes.
pub struct McpBody {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    Sse(Box<SseBody>),
}

struct SseBody {
    replay: VecDeque<Bytes>,
    rx: Option<mpsc::Receiver<Bytes>>,
    keep_alive: Option<Interval>,
    _guard: Box<dyn OnDrop>,
}

impl McpBody {
    /// A body of `bytes`.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Self {
            kind: Kind::Full(Some(bytes.into())),
        }
    }

    /// No body.
    pub fn empty() -> Self {
        Self {
            kind: Kind::Full(None),
        }
    }

    /// Whether this is an SSE stream.
    pub fn is_sse(&self) -> bool {
        matches!(self.kind, Kind::Sse(_))
    }

    pub(crate) fn sse(
        replay: VecDeque<Bytes>,
        rx: Option<mpsc::Receiver<Bytes>>,
        keep_alive: Option<Duration>,
        guard: Box<dyn OnDrop>,
    ) -> Self {
        let keep_alive = keep_alive.filter(|_| rx.is_some()).map(|period| {
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        });
        Self {
            kind: Kind::Sse(Box::new(SseBody {
                replay,
                rx,
                keep_alive,
                _guard: guard,
            })),
        }
    }
}

impl Default for McpBody {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for McpBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full(bytes) => f
                .debug_struct("McpBody::Full")
                .field("len", &bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Sse(sse) => f
                .debug_struct("McpBody::Sse")
                .field("replay", &sse.replay.len())
                .field("live", &sse.rx.is_some())
                .finish(),
        }
    }
}

impl Body for McpBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Sse(sse) => {
                if let Some(event) = sse.replay.pop_front() {
                    return Poll::Ready(Some(Ok(Frame::data(event))));
                }
                let Some(rx) = &mut sse.rx else {
                    return Poll::Ready(None);
                };
                match rx.poll_recv(cx) {
                    Poll::Ready(Some(event)) => {
                        if let Some(interval) = &mut sse.keep_alive {
                            interval.reset();
                        }
                        Poll::Ready(Some(Ok(Frame::data(event))))
                    }
                    Poll::Ready(None) => {
                        sse.rx = None;
                        sse.keep_alive = None;
                        Poll::Ready(None)
                    }
                    Poll::Pending => {
                        if let Some(interval) = &mut sse.keep_alive {
                            if interval.poll_tick(cx).is_ready() {
                                return Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
                                    KEEP_ALIVE,
                                )))));
                            }
                        }
                        Poll::Pending
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Sse(sse) => sse.replay.is_empty() && sse.rx.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Sse(_) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use http_body_util::BodyExt;

    use super::*;

    #[tokio::test]
    async fn full_and_empty() {
        let body = McpBody::full("{}");
        assert_eq!(body.size_hint().exact(), Some(2));
        assert_eq!(body.collect().await.unwrap().to_bytes(), "{}");
        let empty = McpBody::empty();
        assert!(empty.is_end_stream());
        assert!(empty.collect().await.unwrap().to_bytes().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn sse_replays_then_streams_with_keep_alive() {
        let (tx, rx) = mpsc::channel(4);
        let mut body = McpBody::sse(
            VecDeque::from([Bytes::from_static(b"a")]),
            Some(rx),
            Some(Duration::from_secs(10)),
            Box::new(()),
        );
        assert!(body.is_sse());
        assert_eq!(
            body.frame().await.unwrap().unwrap().into_data().unwrap(),
            "a"
        );
        tx.send(Bytes::from_static(b"b")).await.unwrap();
        assert_eq!(
            body.frame().await.unwrap().unwrap().into_data().unwrap(),
            "b"
        );
        // Nothing to send: after the period, a comment.
        let frame = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(frame, KEEP_ALIVE);
        drop(tx);
        assert!(body.frame().await.is_none());
        assert!(body.is_end_stream());
    }
}
