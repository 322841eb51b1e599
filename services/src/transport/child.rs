//! The client side of MCP's stdio transport: start the server as a child
//! process and talk newline-delimited JSON-RPC on its stdin and stdout.
//!
//! Shutdown follows MCP's stdio lifecycle: when the client closes (every
//! clone of the channel's outbox is dropped), the child's stdin is closed;
//! the child then has a grace period (default 5 s) to exit; if it does not,
//! it gets `SIGTERM` and another grace period, then `SIGKILL` (lifecycle,
//! "Shutdown", stdio; on other platforms it is killed at once). It is
//! always waited for, so no zombie remains. The child is
//! also killed if the transport's task is dropped (`kill_on_drop`).
//! [`McpClient::close`](crate::client::McpClient::close) returns after the
//! child ended.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use mcp_tower_services::client::McpClient;
//! use mcp_tower_services::transport::child::ChildProcess;
//!
//! let mut command = tokio::process::Command::new("my-mcp-server");
//! command.arg("--verbose");
//! let client = McpClient::builder().connect(ChildProcess::new(command)).await?;
//! client.initialize().await.map_err(std::io::Error::other)?;
//! client.close().await?; // stdin closed, child exited
//! # Ok(()) }
//! ```

use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::sync::watch;

use super::channel::{Channel, Transport};
use super::lines::DEFAULT_MAX_MESSAGE_BYTES;
use super::stream::StreamTransport;

/// Default for [`ChildProcess::grace_period`].
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// A server started as a child process, as a [`Transport`].
#[derive(Debug)]
pub struct ChildProcess {
    command: Command,
    stderr: Option<Stdio>,
    grace: Duration,
    max_message_bytes: usize,
    status: ChildStatus,
}

/// What became of the child: its process id once started, its exit status
/// once it ended. Cheap to clone; get one with [`ChildProcess::status`].
#[derive(Debug, Clone)]
pub struct ChildStatus {
    state: Arc<watch::Sender<ChildState>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct ChildState {
    pid: Option<u32>,
    exit: Option<ExitStatus>,
    ended: bool,
}

impl ChildStatus {
    fn new() -> Self {
        Self {
            state: Arc::new(watch::Sender::new(ChildState::default())),
        }
    }

    /// The child's process id, once it started.
    pub fn pid(&self) -> Option<u32> {
        self.state.borrow().pid
    }

    /// The child's exit status, once it ended and was waited for.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.state.borrow().exit
    }

    /// Resolves once the child ended and was reaped (or could not be
    /// waited for), with its exit status if known.
    pub async fn exited(&self) -> Option<ExitStatus> {
        let mut state = self.state.subscribe();
        let ended = state.wait_for(|s| s.ended).await;
        ended.ok().and_then(|s| s.exit)
    }

    fn set(&self, change: impl FnOnce(&mut ChildState)) {
        self.state.send_modify(change);
    }
}

impl ChildProcess {
    /// Will start `command` with piped stdin and stdout; its stderr is
    /// inherited unless [`ChildProcess::stderr`] says otherwise.
    pub fn new(command: impl Into<Command>) -> Self {
        Self {
            command: command.into(),
            stderr: None,
            grace: DEFAULT_GRACE_PERIOD,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            status: ChildStatus::new(),
        }
    }

    /// Where the child's stderr (its logs) goes: `Stdio::null()`,
    /// `Stdio::piped()` is not read by this transport, so prefer a file.
    #[must_use]
    pub fn stderr(mut self, stderr: impl Into<Stdio>) -> Self {
        self.stderr = Some(stderr.into());
        self
    }

    /// How long the child may take to exit after its stdin was closed
    /// before it gets `SIGTERM`, and again after `SIGTERM` before it gets
    /// `SIGKILL` (default 5 s each).
    #[must_use]
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The largest message accepted from the child (default 4 MiB).
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// Follows the child's process id and exit.
    pub fn status(&self) -> ChildStatus {
        self.status.clone()
    }
}

impl Transport for ChildProcess {
    async fn open(self) -> io::Result<Channel> {
        let Self {
            mut command,
            stderr,
            grace,
            max_message_bytes,
            status,
        } = self;
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.unwrap_or_else(Stdio::inherit))
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                status.set(|s| s.ended = true);
                return Err(error);
            }
        };
        status.set(|s| s.pid = child.id());
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            // Unreachable with the pipes set above; `child` is killed on drop.
            status.set(|s| s.ended = true);
            return Err(io::Error::other("the child's stdin or stdout is not piped"));
        };
        let channel = StreamTransport::new(stdout, stdin)
            .max_message_bytes(max_message_bytes)
            .open()
            .await?;
        let Channel {
            incoming,
            outbox,
            flushed: written,
        } = channel;
        let flushed = tokio::spawn(supervise(child, written, grace, status));
        Ok(Channel {
            incoming,
            outbox,
            flushed,
        })
    }
}

/// Stops a child that did not exit after its stdin closed: `SIGTERM`, then
/// after `grace` `SIGKILL` (MCP lifecycle, "Shutdown", stdio).
async fn stop(child: &mut Child, grace: Duration) -> io::Result<ExitStatus> {
    if terminate(child) {
        tracing::debug!(target: "mcp_tower::transport", ?grace, "the child process did not exit after stdin closed; sent SIGTERM");
        if let Ok(exit) = tokio::time::timeout(grace, child.wait()).await {
            return exit;
        }
    }
    tracing::debug!(target: "mcp_tower::transport", ?grace, "the child process is still running; killing it");
    // `kill` sends SIGKILL and waits for the child.
    child.kill().await?;
    child.wait().await
}

/// Sends `SIGTERM`; `false` if it could not be sent. The child has not been
/// waited for yet, so its process id is still its own (a zombie keeps it).
#[cfg(unix)]
fn terminate(child: &Child) -> bool {
    use rustix::process::{Pid, Signal, kill_process};
    let Some(pid) = child
        .id()
        .and_then(|id| i32::try_from(id).ok())
        .and_then(Pid::from_raw)
    else {
        return false;
    };
    kill_process(pid, Signal::TERM).is_ok()
}

/// No `SIGTERM` here: the child is killed at once.
#[cfg(not(unix))]
fn terminate(_child: &Child) -> bool {
    false
}

/// Waits for the writer (which closes the child's stdin when it ends), then
/// for the child, stopping it after `grace`.
async fn supervise(
    mut child: Child,
    mut written: tokio::task::JoinHandle<io::Result<()>>,
    grace: Duration,
    status: ChildStatus,
) -> io::Result<()> {
    let early = tokio::select! {
        written = &mut written => Err(written),
        exit = child.wait() => Ok(exit),
    };
    let written = match early {
        Err(written) => written,
        Ok(exit) => {
            // The child ended on its own (crashed, or closed the session).
            tracing::debug!(target: "mcp_tower::transport", ?exit, "the child process exited");
            written.await
        }
    };
    let exit = match tokio::time::timeout(grace, child.wait()).await {
        Ok(exit) => exit,
        Err(_) => stop(&mut child, grace).await,
    };
    status.set(|s| {
        s.exit = exit.as_ref().ok().copied();
        s.ended = true;
    });
    if let Err(error) = &exit {
        tracing::debug!(target: "mcp_tower::transport", %error, "waiting for the child process failed");
    }
    written.map_err(io::Error::other)?
}
