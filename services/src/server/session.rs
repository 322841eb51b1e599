//! The state one client has with a server: the lifecycle of the revisions
//! that begin with `initialize` (2024-11-05 to 2025-11-25), the requests in
//! flight (so `notifications/cancelled` can stop them), the requests the
//! server sent to the client, and resource subscriptions.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::{Message, RequestId};
use crate::peer::{Outbox, Outgoing, Peer, PendingRequests};
use crate::protocol::{ClientCapabilities, Implementation, LoggingLevel, ProtocolVersion};

/// Where a session is in the lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Nothing received yet: only `initialize` and `ping` are served.
    New,
    /// `initialize` answered; waiting for `notifications/initialized`.
    Initializing,
    /// Operating.
    Ready,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    version: Option<ProtocolVersion>,
    client: Option<Implementation>,
    capabilities: Option<ClientCapabilities>,
    log_level: Option<LoggingLevel>,
    in_flight: HashMap<RequestId, CancellationToken>,
    subscriptions: HashSet<String>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    pending: Arc<PendingRequests>,
    outbox: Outbox,
}

/// One client's session; clones share it. The transport makes one per
/// connection (stdio, TCP, WebSocket) or per `Mcp-Session-Id` (Streamable
/// HTTP), with the outbox where messages that belong to no request go
/// (resource updates, list changes).
#[derive(Debug, Clone)]
pub struct Session(Arc<Shared>);

/// A session that does not keep it alive: the server's registry of live
/// sessions holds these, so a session ends when its transport drops it.
#[derive(Debug, Clone)]
pub(crate) struct WeakSession(Weak<Shared>);

impl WeakSession {
    /// The session, if anything still holds it.
    pub(crate) fn upgrade(&self) -> Option<Session> {
        self.0.upgrade().map(Session)
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::detached()
    }
}

/// Unregisters a request from the in-flight table when it ends.
#[derive(Debug)]
pub(crate) struct InFlight {
    session: Session,
    id: RequestId,
    pub(crate) token: CancellationToken,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.session.state().in_flight.remove(&self.id);
    }
}

impl Session {
    /// A session whose unsolicited messages go to `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self(Arc::new(Shared {
            state: Mutex::new(State {
                phase: Phase::New,
                version: None,
                client: None,
                capabilities: None,
                log_level: None,
                in_flight: HashMap::new(),
                subscriptions: HashSet::new(),
            }),
            pending: Arc::new(PendingRequests::new()),
            outbox,
        }))
    }

    /// A session with no way to reach the client outside a request (its
    /// unsolicited messages are dropped): for tests and one-shot calls.
    pub fn detached() -> Self {
        let (outbox, _) = mpsc::channel(1);
        Self::new(outbox)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The lifecycle phase.
    pub fn phase(&self) -> Phase {
        self.state().phase
    }

    /// The negotiated protocol revision, once initialized.
    pub fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.state().version
    }

    /// What the client said about itself in `initialize`.
    pub fn client_info(&self) -> Option<Implementation> {
        self.state().client.clone()
    }

    /// The client's capabilities from `initialize`.
    pub fn client_capabilities(&self) -> Option<ClientCapabilities> {
        self.state().capabilities.clone()
    }

    /// The minimum level of log messages the client asked for.
    pub fn log_level(&self) -> Option<LoggingLevel> {
        self.state().log_level
    }

    /// Whether the client subscribed to updates of `uri`.
    pub fn is_subscribed(&self, uri: &str) -> bool {
        self.state().subscriptions.contains(uri)
    }

    /// The client, reached through the session's outbox (for messages that
    /// belong to no request).
    pub fn peer(&self) -> Peer {
        Peer::new(self.0.outbox.clone(), Arc::clone(&self.0.pending))
    }

    /// Sends a message to the client outside any request; `false` when the
    /// session's outbox is closed or full.
    pub fn try_send(&self, message: Message) -> bool {
        self.0.outbox.try_send(Outgoing::One(message)).is_ok()
    }

    /// The requests the server sent to this client and waits on.
    pub fn pending(&self) -> &Arc<PendingRequests> {
        &self.0.pending
    }

    /// Whether the client ended the session (its outbox is closed).
    pub fn is_closed(&self) -> bool {
        self.0.outbox.is_closed()
    }

    /// A handle that does not keep the session alive.
    pub(crate) fn downgrade(&self) -> WeakSession {
        WeakSession(Arc::downgrade(&self.0))
    }

    pub(crate) fn initialize(
        &self,
        version: ProtocolVersion,
        client: Implementation,
        capabilities: ClientCapabilities,
    ) {
        let mut state = self.state();
        state.phase = Phase::Initializing;
        state.version = Some(version);
        state.client = Some(client);
        state.capabilities = Some(capabilities);
    }

    pub(crate) fn initialized(&self) {
        let mut state = self.state();
        if state.phase == Phase::Initializing {
            state.phase = Phase::Ready;
        }
    }

    pub(crate) fn set_log_level(&self, level: LoggingLevel) {
        self.state().log_level = Some(level);
    }

    pub(crate) fn subscribe(&self, uri: String) {
        self.state().subscriptions.insert(uri);
    }

    pub(crate) fn unsubscribe(&self, uri: &str) {
        self.state().subscriptions.remove(uri);
    }

    /// Registers a request so it can be cancelled; `None` when a request
    /// with this id is already in flight.
    pub(crate) fn begin(&self, id: &RequestId) -> Option<InFlight> {
        let token = CancellationToken::new();
        let mut state = self.state();
        if state.in_flight.contains_key(id) {
            return None;
        }
        state.in_flight.insert(id.clone(), token.clone());
        drop(state);
        Some(InFlight {
            session: self.clone(),
            id: id.clone(),
            token,
        })
    }

    /// Cancels the request `id` if it is in flight.
    pub(crate) fn cancel(&self, id: &RequestId) -> bool {
        let token = self.state().in_flight.get(id).cloned();
        token.map(|t| t.cancel()).is_some()
    }
}
