//! The sessions of a Streamable HTTP server (MCP transports, "Session
//! Management"): cryptographically random `Mcp-Session-Id`s, a bounded
//! number of sessions, an idle timeout, and what each session holds (the
//! MCP [`Session`], its SSE streams, a token that ends its work).
//!
//! Time is tokio's, so tests move it with `tokio::time::pause`/`advance`.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::sse::{LogLimits, Streams};
use crate::peer::Outgoing;
use crate::server::Session;

/// Random bytes in a session id (256 bits, as hex: 64 visible ASCII
/// characters, transports "Session Management" item 1).
const SESSION_ID_BYTES: usize = 32;

/// A session id: visible ASCII only; compared as a map key.
pub(crate) type SessionId = Arc<str>;

/// A fresh random session id from the operating system's generator.
pub(crate) fn new_session_id() -> Result<SessionId, getrandom::Error> {
    let mut bytes = [0u8; SESSION_ID_BYTES];
    getrandom::getrandom(&mut bytes)?;
    let mut id = String::with_capacity(SESSION_ID_BYTES * 2);
    for byte in bytes {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    Ok(id.into())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `value` can be a session id of ours (cheap check before lookup).
pub(crate) fn plausible_session_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 256 && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// One client's state on the HTTP side.
pub(crate) struct HttpSession {
    /// `None` in stateless mode.
    pub(crate) id: Option<SessionId>,
    /// Who opened the session, when sessions are bound to their owners
    /// ([`SessionOwner`](crate::transport::SessionOwner)).
    pub(crate) owner: Option<String>,
    pub(crate) session: Session,
    pub(crate) streams: Arc<Streams>,
    /// Cancelled when the session ends: in-flight requests stop, streams end.
    pub(crate) closed: CancellationToken,
    busy: AtomicUsize,
    last_active: Mutex<Instant>,
}

impl fmt::Debug for HttpSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The id is a bearer secret for the session: never printed.
        f.debug_struct("HttpSession")
            .field("stateful", &self.id.is_some())
            .field("busy", &self.busy.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Keeps a session from expiring while it lives (a request in flight, an
/// open SSE connection); marks it active when dropped.
#[derive(Debug)]
pub(crate) struct Busy(Arc<HttpSession>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HttpSession {
    fn new(
        id: Option<SessionId>,
        owner: Option<String>,
        limits: LogLimits,
        channel_capacity: usize,
        outbox_capacity: usize,
    ) -> (Arc<Self>, mpsc::Receiver<Outgoing>) {
        let (outbox, rx) = mpsc::channel(outbox_capacity);
        let session = Arc::new(Self {
            id,
            owner,
            session: Session::new(outbox),
            streams: Arc::new(Streams::new(limits, channel_capacity)),
            closed: CancellationToken::new(),
            busy: AtomicUsize::new(0),
            last_active: Mutex::new(Instant::now()),
        });
        (session, rx)
    }

    /// A session for one stateless POST: not stored, its unsolicited
    /// messages dropped.
    pub(crate) fn stateless(limits: LogLimits, channel_capacity: usize) -> Arc<Self> {
        Self::new(None, None, limits, channel_capacity, 1).0
    }

    fn last_active(&self) -> MutexGuard<'_, Instant> {
        self.last_active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the session active now.
    pub(crate) fn touch(&self) {
        *self.last_active() = Instant::now();
    }

    /// Holds the session active until the guard drops.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.touch();
        Busy(Arc::clone(self))
    }

    fn expired(&self, timeout: Option<Duration>) -> bool {
        let Some(timeout) = timeout else {
            return false;
        };
        self.busy.load(Ordering::Acquire) == 0 && self.last_active().elapsed() >= timeout
    }

    /// Ends the session: handlers stop, streams end, the server's own
    /// requests to the client fail.
    pub(crate) fn close(&self) {
        self.closed.cancel();
        self.streams.close_all();
        self.session.pending().fail_all();
    }
}

/// Why no session was created.
#[derive(Debug)]
pub(crate) enum CreateError {
    /// Every slot is taken.
    Full,
    /// The operating system's random generator failed.
    Random(getrandom::Error),
}

struct Inner {
    sessions: Mutex<HashMap<SessionId, Arc<HttpSession>>>,
    max: usize,
    idle_timeout: Option<Duration>,
    limits: LogLimits,
    channel_capacity: usize,
    outbox_capacity: usize,
}

/// The live sessions of one service; clones share them.
#[derive(Clone)]
pub(crate) struct SessionStore(Arc<Inner>);

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStore")
            .field("sessions", &self.len())
            .field("max", &self.0.max)
            .finish_non_exhaustive()
    }
}

impl SessionStore {
    pub(crate) fn new(
        max: usize,
        idle_timeout: Option<Duration>,
        limits: LogLimits,
        channel_capacity: usize,
        outbox_capacity: usize,
    ) -> Self {
        Self(Arc::new(Inner {
            sessions: Mutex::new(HashMap::new()),
            max,
            idle_timeout,
            limits,
            channel_capacity,
            outbox_capacity,
        }))
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<SessionId, Arc<HttpSession>>> {
        self.0
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// How many sessions are open.
    pub(crate) fn len(&self) -> usize {
        self.sessions().len()
    }

    /// A new session, with its task that moves messages from the session's
    /// outbox into its standalone stream and, with an idle timeout, its
    /// watchdog. Expired sessions are pruned first when the store is full.
    /// `owner`: who opened it, when sessions are bound to their owners.
    pub(crate) fn create(&self, owner: Option<String>) -> Result<Arc<HttpSession>, CreateError> {
        let id = new_session_id().map_err(CreateError::Random)?;
        let (session, outbox) = HttpSession::new(
            Some(Arc::clone(&id)),
            owner,
            self.0.limits,
            self.0.channel_capacity,
            self.0.outbox_capacity,
        );
        {
            let mut sessions = self.sessions();
            if sessions.len() >= self.0.max {
                let timeout = self.0.idle_timeout;
                sessions.retain(|_, s| {
                    let expired = s.expired(timeout);
                    if expired {
                        s.close();
                    }
                    !expired
                });
            }
            if sessions.len() >= self.0.max {
                return Err(CreateError::Full);
            }
            sessions.insert(id, Arc::clone(&session));
        }
        tokio::spawn(pump(
            outbox,
            Arc::clone(&session.streams),
            session.closed.clone(),
        ));
        if let Some(timeout) = self.0.idle_timeout {
            tokio::spawn(watchdog(
                Arc::downgrade(&self.0),
                Arc::downgrade(&session),
                timeout,
            ));
        }
        Ok(session)
    }

    /// The session `id`, unless unknown or expired (an expired one is
    /// removed now, whether or not its watchdog ran yet).
    pub(crate) fn get(&self, id: &str) -> Option<Arc<HttpSession>> {
        let mut sessions = self.sessions();
        let session = sessions.get(id)?;
        if session.expired(self.0.idle_timeout) {
            if let Some(session) = sessions.remove(id) {
                session.close();
            }
            return None;
        }
        Some(Arc::clone(session))
    }

    /// Removes and ends the session `id`; `false` if there was none.
    pub(crate) fn remove(&self, id: &str) -> bool {
        let removed = self.sessions().remove(id);
        removed.map(|s| s.close()).is_some()
    }

    /// Ends every session.
    pub(crate) fn clear(&self) {
        let sessions = std::mem::take(&mut *self.sessions());
        for session in sessions.values() {
            session.close();
        }
    }
}

/// Moves what is sent to the session's outbox (messages that belong to no
/// request) into the standalone stream, which buffers them while no GET is
/// connected.
async fn pump(
    mut outbox: mpsc::Receiver<Outgoing>,
    streams: Arc<Streams>,
    closed: CancellationToken,
) {
    loop {
        let outgoing = tokio::select! {
            () = closed.cancelled() => return,
            outgoing = outbox.recv() => outgoing,
        };
        let json = match outgoing {
            Some(Outgoing::One(message)) => message.to_json(),
            Some(Outgoing::Batch(messages)) => serde_json::to_string(&messages).unwrap_or_default(),
            None => return,
        };
        streams.append_standalone(&json);
    }
}

/// Ends the session after `timeout` without activity.
async fn watchdog(store: Weak<Inner>, session: Weak<HttpSession>, timeout: Duration) {
    loop {
        let (deadline, closed) = {
            let Some(session) = session.upgrade() else {
                return;
            };
            (*session.last_active() + timeout, session.closed.clone())
        };
        tokio::select! {
            () = closed.cancelled() => return,
            () = tokio::time::sleep_until(deadline) => {}
        }
        let (Some(store), Some(session)) = (store.upgrade(), session.upgrade()) else {
            return;
        };
        if session.busy.load(Ordering::Acquire) > 0 {
            // Dropping the last guard marks it active; check again a full
            // timeout from now at the latest.
            session.touch();
            continue;
        }
        if session.expired(Some(timeout)) {
            if let Some(id) = &session.id {
                let removed = store
                    .sessions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(id);
                if removed.is_some() {
                    tracing::debug!(target: "mcp_tower::http", idle = ?timeout, "session expired");
                }
            }
            session.close();
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn store(max: usize, idle: Option<Duration>) -> SessionStore {
        SessionStore::new(
            max,
            idle,
            LogLimits {
                events: 16,
                bytes: 1 << 20,
            },
            4,
            4,
        )
    }

    #[test]
    fn ids_are_random_visible_ascii() {
        let a = new_session_id().unwrap();
        let b = new_session_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(plausible_session_id(&a));
        assert!(!plausible_session_id("a b"));
        assert!(!plausible_session_id(""));
    }

    #[tokio::test]
    async fn bounded_and_removable() {
        let store = store(1, None);
        let session = store.create(None).unwrap();
        assert!(matches!(store.create(None), Err(CreateError::Full)));
        let id = session.id.clone().unwrap();
        assert!(store.get(&id).is_some());
        assert!(store.remove(&id));
        assert!(session.closed.is_cancelled());
        assert!(store.get(&id).is_none());
        assert!(store.create(None).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_sessions_expire_but_busy_ones_do_not() {
        let store = store(4, Some(Duration::from_secs(60)));
        let idle = store.create(None).unwrap();
        let working = store.create(None).unwrap();
        let guard = working.busy();
        tokio::time::sleep(Duration::from_secs(61)).await;
        assert!(
            idle.closed.is_cancelled(),
            "the watchdog ended the idle session"
        );
        assert!(store.get(idle.id.as_deref().unwrap()).is_none());
        assert!(store.get(working.id.as_deref().unwrap()).is_some());
        drop(guard);
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(store.get(working.id.as_deref().unwrap()).is_some());
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert!(working.closed.is_cancelled());
        assert_eq!(store.len(), 0);
    }
}
