//! [`StreamableHttpConfig`]: what the Streamable HTTP server accepts and how
//! it answers, built by [`StreamableHttpConfigBuilder`] and checked once, at
//! `build()`, so invalid configuration never reaches request time.

use std::collections::HashSet;
use std::time::Duration;

use crate::protocol::ProtocolVersion;
use crate::transport::SessionOwner;

/// Default for [`StreamableHttpConfigBuilder::max_body_bytes`]: 4 MiB, as
/// the official TypeScript SDK.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Default for [`StreamableHttpConfigBuilder::max_batch_len`]: 100, as the
/// official TypeScript SDK.
pub const DEFAULT_MAX_BATCH_LEN: usize = 100;
/// Default for [`StreamableHttpConfigBuilder::max_sessions`].
pub const DEFAULT_MAX_SESSIONS: usize = 4096;
/// Default for [`StreamableHttpConfigBuilder::idle_timeout`]: 30 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default for [`StreamableHttpConfigBuilder::keep_alive`]: 15 seconds, as
/// the official TypeScript SDK.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Default for [`StreamableHttpConfigBuilder::sse_retry`]: one second.
pub const DEFAULT_SSE_RETRY: Duration = Duration::from_secs(1);
/// Default for [`StreamableHttpConfigBuilder::event_log_events`].
pub const DEFAULT_EVENT_LOG_EVENTS: usize = 256;
/// Default for [`StreamableHttpConfigBuilder::event_log_bytes`]: 1 MiB.
pub const DEFAULT_EVENT_LOG_BYTES: usize = 1024 * 1024;
/// Default for [`StreamableHttpConfigBuilder::sse_channel_capacity`].
pub const DEFAULT_SSE_CHANNEL_CAPACITY: usize = 32;
/// Default for [`StreamableHttpConfigBuilder::request_outbox_capacity`].
pub const DEFAULT_REQUEST_OUTBOX_CAPACITY: usize = 32;
/// Default for [`StreamableHttpConfigBuilder::session_outbox_capacity`].
pub const DEFAULT_SESSION_OUTBOX_CAPACITY: usize = 64;
/// What a 503 for "too many sessions" tells clients in `Retry-After`.
pub const DEFAULT_SESSIONS_RETRY_AFTER: Duration = Duration::from_secs(5);

/// How answers to requests are sent (transports, "Sending Messages to the
/// Server", item 5: the server may answer with one JSON object or an SSE
/// stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResponseMode {
    /// Plain JSON when the handler answers without sending anything first;
    /// an SSE stream as soon as it sends a message (progress, a log message,
    /// a request to the client) before its answer, or closes its stream
    /// early (see [`SseControl`](super::SseControl)).
    #[default]
    Auto,
    /// Always plain JSON. Messages a handler sends before its answer go to
    /// the session's standalone GET stream instead (they reach the client
    /// only if it has one open).
    JsonOnly,
    /// Always an SSE stream, opened at once (with the priming event when it
    /// applies).
    SseAlways,
}

/// Which `Origin` headers are accepted (transports, "Security Warning":
/// servers MUST validate `Origin`; a present and invalid one gets 403).
///
/// Requests without `Origin` are always accepted: browsers send it on every
/// POST (so on every `initialize`, without which no session exists), and
/// other clients do not send it at all.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// Origins whose host is `localhost`, `127.0.0.1` or `[::1]` (any scheme
    /// and port): the default, safe for a server on the loopback interface,
    /// where DNS rebinding is the threat.
    Loopback,
    /// Exactly these origins (`scheme://host[:port]`, compared
    /// case-insensitively, without a trailing slash).
    List(HashSet<String>),
    /// Any origin: no check. Only for servers that authenticate every
    /// request and are not reachable from browsers by rebinding.
    Any,
}

/// Which `Host` headers (or HTTP/2 `:authority`) are accepted: a second
/// defence against DNS rebinding, off by default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum HostPolicy {
    /// No check (the default).
    #[default]
    Any,
    /// `localhost`, `127.0.0.1` and `[::1]`, on any port.
    Loopback,
    /// These hosts: an entry `name` matches on any port, `name:port` on
    /// that port only (case-insensitive).
    List(HashSet<String>),
}

/// The configuration of a [`StreamableHttpService`](super::StreamableHttpService).
#[derive(Debug, Clone)]
#[non_exhaustive]
#[allow(clippy::struct_excessive_bools)] // independent switches, not states
pub struct StreamableHttpConfig {
    /// Sessions (`Mcp-Session-Id`) or stateless.
    pub(crate) stateful: bool,
    /// How requests are answered.
    pub(crate) response_mode: ResponseMode,
    /// Whether GET opens the standalone SSE stream (405 otherwise).
    pub(crate) allow_get: bool,
    /// Whether DELETE ends a session (405 otherwise).
    pub(crate) allow_delete: bool,
    /// Accepted `Origin` headers.
    pub(crate) origins: OriginPolicy,
    /// Accepted `Host` headers.
    pub(crate) hosts: HostPolicy,
    /// Protocol revisions accepted in `MCP-Protocol-Version`.
    pub(crate) versions: Vec<ProtocolVersion>,
    /// The largest request body.
    pub(crate) max_body_bytes: usize,
    /// The most messages in one batch (2025-03-26).
    pub(crate) max_batch_len: usize,
    /// The most sessions at once.
    pub(crate) max_sessions: usize,
    /// `Retry-After` of the 503 sent when every session slot is taken.
    pub(crate) sessions_retry_after: Duration,
    /// How long a session lives without activity.
    pub(crate) idle_timeout: Option<Duration>,
    /// How often an idle SSE stream gets a comment.
    pub(crate) keep_alive: Option<Duration>,
    /// The SSE `retry` field sent with priming events and before the server
    /// closes a stream's connection early.
    pub(crate) sse_retry: Option<Duration>,
    /// Whether SSE streams start with a priming event for clients of
    /// 2025-11-25 and later.
    pub(crate) priming: bool,
    /// How many events a session keeps for resumption.
    pub(crate) event_log_events: usize,
    /// How many bytes of events a session keeps for resumption.
    pub(crate) event_log_bytes: usize,
    /// Events buffered per SSE connection before the writer waits.
    pub(crate) sse_channel_capacity: usize,
    /// Messages a handler can send before its answer without waiting.
    pub(crate) request_outbox_capacity: usize,
    /// Messages buffered in a session's outbox (for the standalone stream).
    pub(crate) session_outbox_capacity: usize,
    /// Who owns a request, when sessions are bound to their owners.
    pub(crate) session_owner: Option<SessionOwner>,
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A size or count is zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    /// A duration is zero.
    #[error("{0} must be longer than zero")]
    ZeroDuration(&'static str),
    /// An allowed origin is not `scheme://host[:port]`.
    #[error("allowed origin {0:?} is not of the form scheme://host[:port]")]
    InvalidOrigin(String),
    /// An allowed host is empty or has characters a host cannot have.
    #[error("allowed host {0:?} is not of the form host or host:port")]
    InvalidHost(String),
    /// No protocol revision with Streamable HTTP sessions is accepted.
    #[error(
        "the accepted protocol versions must include one that begins with initialize (2025-11-25 or older)"
    )]
    NoVersion,
    /// The event log cannot hold what one SSE connection buffers.
    #[error("event_log_events ({events}) must be at least sse_channel_capacity ({channel})")]
    LogSmallerThanChannel {
        /// The configured log size.
        events: usize,
        /// The configured channel capacity.
        channel: usize,
    },
}

/// Builder for [`StreamableHttpConfig`].
#[derive(Debug, Clone)]
pub struct StreamableHttpConfigBuilder {
    config: StreamableHttpConfig,
    origins: Vec<String>,
    hosts: Vec<String>,
}

impl Default for StreamableHttpConfigBuilder {
    fn default() -> Self {
        Self {
            config: StreamableHttpConfig {
                stateful: true,
                response_mode: ResponseMode::Auto,
                allow_get: true,
                allow_delete: true,
                origins: OriginPolicy::Loopback,
                hosts: HostPolicy::Any,
                // 2026-07-28 requests are served without a session.
                versions: ProtocolVersion::SUPPORTED.to_vec(),
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                max_batch_len: DEFAULT_MAX_BATCH_LEN,
                max_sessions: DEFAULT_MAX_SESSIONS,
                sessions_retry_after: DEFAULT_SESSIONS_RETRY_AFTER,
                idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
                keep_alive: Some(DEFAULT_KEEP_ALIVE),
                sse_retry: Some(DEFAULT_SSE_RETRY),
                priming: true,
                event_log_events: DEFAULT_EVENT_LOG_EVENTS,
                event_log_bytes: DEFAULT_EVENT_LOG_BYTES,
                sse_channel_capacity: DEFAULT_SSE_CHANNEL_CAPACITY,
                request_outbox_capacity: DEFAULT_REQUEST_OUTBOX_CAPACITY,
                session_outbox_capacity: DEFAULT_SESSION_OUTBOX_CAPACITY,
                session_owner: None,
            },
            origins: Vec::new(),
            hosts: Vec::new(),
        }
    }
}

impl Default for StreamableHttpConfig {
    fn default() -> Self {
        StreamableHttpConfigBuilder::default().config
    }
}

impl StreamableHttpConfig {
    /// A builder with the defaults.
    pub fn builder() -> StreamableHttpConfigBuilder {
        StreamableHttpConfigBuilder::default()
    }
}

impl StreamableHttpConfigBuilder {
    /// Stateless mode: no `Mcp-Session-Id`; every POST is served by a fresh
    /// session (already initialized unless the POST is `initialize`), GET
    /// and DELETE get 405, and nothing is resumable. Like the TypeScript
    /// SDK's `sessionIdGenerator: undefined`. Server-to-client requests
    /// cannot work (their answers would reach another session), so the fresh
    /// sessions declare no client capabilities.
    #[must_use]
    pub fn stateless(mut self) -> Self {
        self.config.stateful = false;
        self
    }

    /// How requests are answered (default [`ResponseMode::Auto`]).
    #[must_use]
    pub fn response_mode(mut self, mode: ResponseMode) -> Self {
        self.config.response_mode = mode;
        self
    }

    /// [`ResponseMode::JsonOnly`].
    #[must_use]
    pub fn json_response_only(self) -> Self {
        self.response_mode(ResponseMode::JsonOnly)
    }

    /// [`ResponseMode::SseAlways`].
    #[must_use]
    pub fn sse_always(self) -> Self {
        self.response_mode(ResponseMode::SseAlways)
    }

    /// Whether GET opens the standalone SSE stream (default yes; 405 if not).
    #[must_use]
    pub fn allow_get(mut self, allow: bool) -> Self {
        self.config.allow_get = allow;
        self
    }

    /// Whether DELETE ends a session (default yes; 405 if not).
    #[must_use]
    pub fn allow_delete(mut self, allow: bool) -> Self {
        self.config.allow_delete = allow;
        self
    }

    /// Accepts exactly these origins (`scheme://host[:port]`) instead of the
    /// loopback ones; call it more than once to add more.
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Accepts origins on `localhost`, `127.0.0.1` and `[::1]` (the default).
    #[must_use]
    pub fn allow_loopback_origins(mut self) -> Self {
        self.origins.clear();
        self.config.origins = OriginPolicy::Loopback;
        self
    }

    /// Accepts every origin (no `Origin` check). Use only behind
    /// authentication, on a server browsers cannot reach by rebinding.
    #[must_use]
    pub fn allow_any_origin(mut self) -> Self {
        self.origins.clear();
        self.config.origins = OriginPolicy::Any;
        self
    }

    /// Accepts only these `Host` values (`name` for any port, `name:port`);
    /// call it more than once to add more.
    #[must_use]
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }

    /// Accepts only `Host: localhost`, `127.0.0.1` or `[::1]` (any port):
    /// for servers bound to loopback, the strongest DNS rebinding defence.
    #[must_use]
    pub fn allow_loopback_hosts(mut self) -> Self {
        self.hosts.clear();
        self.config.hosts = HostPolicy::Loopback;
        self
    }

    /// The protocol revisions accepted in `MCP-Protocol-Version` (default:
    /// every revision this crate speaks; 2026-07-28 requests are served
    /// without a session).
    #[must_use]
    pub fn versions(mut self, versions: impl IntoIterator<Item = ProtocolVersion>) -> Self {
        self.config.versions = versions.into_iter().collect();
        self
    }

    /// The largest request body; larger ones get 413 (default 4 MiB).
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.config.max_body_bytes = bytes;
        self
    }

    /// The most messages in one batch; more get 400 (default 100).
    #[must_use]
    pub fn max_batch_len(mut self, len: usize) -> Self {
        self.config.max_batch_len = len;
        self
    }

    /// The most sessions at once; `initialize` beyond gets 503 with
    /// `Retry-After` (default 4096).
    #[must_use]
    pub fn max_sessions(mut self, sessions: usize) -> Self {
        self.config.max_sessions = sessions;
        self
    }

    /// `Retry-After` of the 503 sent when every session slot is taken
    /// (default 5 s).
    #[must_use]
    pub fn sessions_retry_after(mut self, after: Duration) -> Self {
        self.config.sessions_retry_after = after;
        self
    }

    /// How long a session lives with no request, no request in flight and
    /// no SSE connection open (default 30 minutes; `None` keeps sessions
    /// until DELETE).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// How often an SSE stream with nothing to send gets a `: keep-alive`
    /// comment, so proxies do not close it (default 15 s; `None` for never).
    #[must_use]
    pub fn keep_alive(mut self, every: Option<Duration>) -> Self {
        self.config.keep_alive = every;
        self
    }

    /// The SSE `retry` field (how long clients wait before reconnecting),
    /// sent with priming events and before the server closes a stream's
    /// connection early (default 1 s; `None` to leave it to the client).
    #[must_use]
    pub fn sse_retry(mut self, retry: Option<Duration>) -> Self {
        self.config.sse_retry = retry;
        self
    }

    /// Whether SSE streams of sessions at 2025-11-25 or later start with a
    /// priming event (an id and empty data), so the client can resume even
    /// before the first message (default yes; transports, "Sending Messages
    /// to the Server", item 6). Older clients never get one: they may not
    /// handle empty data.
    #[must_use]
    pub fn priming(mut self, enabled: bool) -> Self {
        self.config.priming = enabled;
        self
    }

    /// How many SSE events a session keeps for resumption with
    /// `Last-Event-ID`, over all its streams (default 256); the oldest go
    /// first.
    #[must_use]
    pub fn event_log_events(mut self, events: usize) -> Self {
        self.config.event_log_events = events;
        self
    }

    /// How many bytes of SSE events a session keeps (default 1 MiB); the
    /// newest event is kept even if it alone is larger.
    #[must_use]
    pub fn event_log_bytes(mut self, bytes: usize) -> Self {
        self.config.event_log_bytes = bytes;
        self
    }

    /// Events buffered per SSE connection (default 32). A request's handler
    /// waits when its stream's buffer is full; the standalone stream's
    /// connection is closed instead (the client resumes from the log), so a
    /// slow reader never holds up the server.
    #[must_use]
    pub fn sse_channel_capacity(mut self, capacity: usize) -> Self {
        self.config.sse_channel_capacity = capacity;
        self
    }

    /// Messages a handler can send before its answer before it waits for
    /// them to be written (default 32).
    #[must_use]
    pub fn request_outbox_capacity(mut self, capacity: usize) -> Self {
        self.config.request_outbox_capacity = capacity;
        self
    }

    /// Messages waiting in a session's outbox to enter the standalone
    /// stream (default 64).
    #[must_use]
    pub fn session_outbox_capacity(mut self, capacity: usize) -> Self {
        self.config.session_outbox_capacity = capacity;
        self
    }

    /// Binds every session to the owner of its `initialize` request, as
    /// `owner` names it (usually from an extension the authentication
    /// layers in front of the service inserted): a request for the session
    /// from any other owner gets 404 "Session not found", as for an unknown
    /// session (MCP security best practices, "Session Hijacking"). Off by
    /// default, since the service alone cannot know who is calling; the
    /// umbrella crate's `mcp_tower::sessions::session_owner()` binds to
    /// the authenticated `Principal`.
    #[must_use]
    pub fn session_owner(mut self, owner: SessionOwner) -> Self {
        self.config.session_owner = Some(owner);
        self
    }

    /// Checks and returns the configuration.
    pub fn build(self) -> Result<StreamableHttpConfig, ConfigError> {
        let Self {
            mut config,
            origins,
            hosts,
        } = self;
        for (value, name) in [
            (config.max_body_bytes, "max_body_bytes"),
            (config.max_batch_len, "max_batch_len"),
            (config.max_sessions, "max_sessions"),
            (config.event_log_events, "event_log_events"),
            (config.event_log_bytes, "event_log_bytes"),
            (config.sse_channel_capacity, "sse_channel_capacity"),
            (config.request_outbox_capacity, "request_outbox_capacity"),
            (config.session_outbox_capacity, "session_outbox_capacity"),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        for (value, name) in [
            (config.idle_timeout, "idle_timeout"),
            (config.keep_alive, "keep_alive"),
        ] {
            if value.is_some_and(|d| d.is_zero()) {
                return Err(ConfigError::ZeroDuration(name));
            }
        }
        if config.event_log_events < config.sse_channel_capacity {
            return Err(ConfigError::LogSmallerThanChannel {
                events: config.event_log_events,
                channel: config.sse_channel_capacity,
            });
        }
        if !config.versions.iter().any(|v| v.uses_initialize()) {
            return Err(ConfigError::NoVersion);
        }
        if !origins.is_empty() {
            let mut set = HashSet::new();
            for origin in origins {
                set.insert(normalize_origin(&origin).ok_or(ConfigError::InvalidOrigin(origin))?);
            }
            config.origins = OriginPolicy::List(set);
        }
        if !hosts.is_empty() {
            let mut set = HashSet::new();
            for host in hosts {
                if split_host(&host).is_none() {
                    return Err(ConfigError::InvalidHost(host));
                }
                set.insert(host.to_ascii_lowercase());
            }
            config.hosts = HostPolicy::List(set);
        }
        Ok(config)
    }
}

/// `scheme://host[:port]` in lower case without a trailing slash, or `None`
/// if `origin` is not of that form.
pub(crate) fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || authority.contains(['/', '?', '#', '@']) {
        return None;
    }
    split_host(authority)?;
    Some(origin)
}

/// Splits `host[:port]` (with `[v6]` literals) into host and port.
pub(crate) fn split_host(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let valid = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '[' | ']' | ':'));
    if !valid {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

/// Whether `host` (without port) names the loopback interface.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn defaults_are_valid() {
        let config = StreamableHttpConfig::builder().build().unwrap();
        assert!(config.stateful);
        assert_eq!(config.origins, OriginPolicy::Loopback);
        assert_eq!(config.hosts, HostPolicy::Any);
        assert!(config.versions.contains(&ProtocolVersion::V2025_11_25));
        assert!(config.versions.contains(&ProtocolVersion::V2026_07_28));
    }

    #[test]
    fn refuses_bad_values() {
        let b = StreamableHttpConfig::builder;
        assert_eq!(
            b().max_body_bytes(0).build().unwrap_err(),
            ConfigError::Zero("max_body_bytes")
        );
        assert_eq!(
            b().idle_timeout(Some(Duration::ZERO)).build().unwrap_err(),
            ConfigError::ZeroDuration("idle_timeout")
        );
        assert!(matches!(
            b().allow_origin("example.com").build().unwrap_err(),
            ConfigError::InvalidOrigin(_)
        ));
        assert!(matches!(
            b().allow_origin("https://example.com/path")
                .build()
                .unwrap_err(),
            ConfigError::InvalidOrigin(_)
        ));
        assert!(matches!(
            b().allow_host("a b").build().unwrap_err(),
            ConfigError::InvalidHost(_)
        ));
        assert_eq!(
            b().versions([ProtocolVersion::V2026_07_28])
                .build()
                .unwrap_err(),
            ConfigError::NoVersion
        );
        assert!(matches!(
            b().event_log_events(4).build().unwrap_err(),
            ConfigError::LogSmallerThanChannel { .. }
        ));
    }

    #[test]
    fn origins_are_normalized() {
        let config = StreamableHttpConfig::builder()
            .allow_origin("HTTPS://App.Example.com/")
            .allow_origin("http://[::1]:8080")
            .build()
            .unwrap();
        let OriginPolicy::List(set) = config.origins else {
            panic!("not a list");
        };
        assert!(set.contains("https://app.example.com"));
        assert!(set.contains("http://[::1]:8080"));
    }

    #[test]
    fn hosts_split() {
        assert_eq!(
            split_host("localhost:8080"),
            Some(("localhost", Some(8080)))
        );
        assert_eq!(split_host("[::1]:80"), Some(("[::1]", Some(80))));
        assert_eq!(split_host("[::1]"), Some(("[::1]", None)));
        assert_eq!(split_host("example.com"), Some(("example.com", None)));
        assert_eq!(split_host("example.com:x"), None);
        assert_eq!(split_host(""), None);
        assert!(is_loopback_host("LOCALHOST"));
        assert!(!is_loopback_host("localhost.evil.com"));
    }
}
