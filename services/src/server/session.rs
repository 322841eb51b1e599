//! The state one client connection has with a server: the lifecycle of the
//! revisions that begin with `initialize` (2024-11-05 to 2025-11-25).

use std::sync::{Arc, Mutex, PoisonError};

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
}

/// One client's session; clones share it. The transport makes one per
/// connection (stdio) or per `Mcp-Session-Id` (Streamable HTTP).
#[derive(Debug, Clone)]
pub struct Session(Arc<Mutex<State>>);

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A session that has not been initialized.
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(State {
            phase: Phase::New,
            version: None,
            client: None,
            capabilities: None,
            log_level: None,
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
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
}
