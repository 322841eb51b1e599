//! [`LegacySseClient`]: the client side of the HTTP+SSE transport of MCP
//! revision 2024-11-05.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::jsonrpc::{Message, Payload, RequestId};
use crate::peer::Outgoing;
use crate::protocol::methods;
use crate::transport::channel::{CHANNEL_CAPACITY, Channel, Frame, Transport};

use super::common::{self, EVENT_STREAM, HeaderSet, JSON, MCP_PROTOCOL_VERSION, Next, TARGET};
use super::sse_parser::SseParser;
use super::{ConfigError, DEFAULT_MAX_MESSAGE_BYTES, HttpService, HyperClient, TRANSPORT_ERROR};

/// Default for [`LegacySseClientBuilder::endpoint_timeout`].
pub const DEFAULT_ENDPOINT_TIMEOUT: Duration = Duration::from_secs(30);

/// The client side of the HTTP+SSE transport of MCP revision 2024-11-05
/// ("Transports" → "HTTP with SSE"), deprecated since 2025-03-26 but still
/// served by many servers. Open it with
/// [`McpClientBuilder::connect`](crate::client::McpClientBuilder::connect).
///
/// Opening GETs the SSE endpoint and waits for its `endpoint` event, whose
/// data is the URL to POST messages to (resolved against the SSE URL per
/// RFC 3986 §5.2; it must have the same origin, else opening fails, as it
/// does when no `endpoint` event comes in time). Messages are then posted
/// one after the other; everything the server sends arrives as `message`
/// events on the SSE stream. The stream is the session: when it ends the
/// channel closes (this transport has no resumption), and closing the
/// transport drops it. An HTTP error to a posted request fails that request
/// as with [`StreamableHttpClient`](super::StreamableHttpClient); a 404
/// (the server forgot the session) also closes the channel.
#[derive(Clone)]
pub struct LegacySseClient<C> {
    http: C,
    config: Arc<Config>,
}

struct Config {
    url: Uri,
    headers: HeaderMap,
    max_message_bytes: usize,
    endpoint_timeout: Duration,
}

/// Builder for [`LegacySseClient`].
#[derive(Debug)]
pub struct LegacySseClientBuilder {
    url: String,
    headers: HeaderSet,
    max_message_bytes: usize,
    endpoint_timeout: Duration,
}

impl LegacySseClient<()> {
    /// A builder for the transport whose SSE endpoint is `url`.
    pub fn builder(url: &str) -> LegacySseClientBuilder {
        LegacySseClientBuilder {
            url: url.to_owned(),
            headers: HeaderSet::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            endpoint_timeout: DEFAULT_ENDPOINT_TIMEOUT,
        }
    }
}

impl LegacySseClient<HyperClient> {
    /// The transport to the SSE endpoint `url` over a [`HyperClient`].
    pub fn hyper(url: &str) -> Result<Self, ConfigError> {
        LegacySseClient::builder(url).build_hyper()
    }
}

impl<C: HttpService> LegacySseClient<C> {
    /// The transport to the SSE endpoint `url` over `http`.
    pub fn new(url: &str, http: C) -> Result<Self, ConfigError> {
        LegacySseClient::builder(url).build(http)
    }
}

impl LegacySseClientBuilder {
    /// Adds a header to every request (see
    /// [`StreamableHttpClientBuilder::header`](super::StreamableHttpClientBuilder::header)).
    #[must_use]
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<http::HeaderName> + std::fmt::Debug,
        V: TryInto<HeaderValue>,
    {
        self.headers.add(name, value);
        self
    }

    /// The largest message accepted from the server; default 4 MiB.
    #[must_use]
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }

    /// How long opening waits for the `endpoint` event (default 30 s).
    #[must_use]
    pub fn endpoint_timeout(mut self, timeout: Duration) -> Self {
        self.endpoint_timeout = timeout;
        self
    }

    /// The transport over `http`.
    pub fn build<C: HttpService>(self, http: C) -> Result<LegacySseClient<C>, ConfigError> {
        Ok(LegacySseClient {
            http,
            config: Arc::new(Config {
                url: common::endpoint(&self.url)?,
                headers: self.headers.finish()?,
                max_message_bytes: self.max_message_bytes,
                endpoint_timeout: self.endpoint_timeout,
            }),
        })
    }

    /// The transport over a plain HTTP/1.1 [`HyperClient`].
    pub fn build_hyper(self) -> Result<LegacySseClient<HyperClient>, ConfigError> {
        self.build(super::hyper_client())
    }
}

impl<C> std::fmt::Debug for LegacySseClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacySseClient")
            .field("url", &self.config.url)
            .field("headers", &self.config.headers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Negotiation {
    initialize: Option<RequestId>,
    version: Option<HeaderValue>,
}

impl<C: HttpService> Transport for LegacySseClient<C> {
    async fn open(self) -> io::Result<Channel> {
        let config = self.config;
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(config.url.clone());
        if let Some(headers) = request.headers_mut() {
            headers.extend(config.headers.clone());
            headers.insert(ACCEPT, HeaderValue::from_static(EVENT_STREAM));
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(io::Error::other)?;
        let response = common::call(&self.http, request)
            .await
            .map_err(|e| io::Error::other(format!("connecting to the SSE endpoint failed: {e}")))?;
        let status = response.status();
        if !status.is_success()
            || common::media_type(response.headers()).as_deref() != Some(EVENT_STREAM)
        {
            return Err(io::Error::other(format!(
                "the SSE endpoint answered HTTP {} with content type {:?}, expected an event stream",
                common::describe(status),
                common::media_type(response.headers()).unwrap_or_default()
            )));
        }
        let limit = config.max_message_bytes;
        let mut parser = SseParser::new()
            .max_line_bytes(limit.saturating_add(64))
            .max_event_bytes(limit);
        let mut body = Box::pin(response.into_body());
        let mut early = Vec::new();
        let wait = async {
            loop {
                match common::next_event(&mut body, &mut parser).await {
                    Next::Event(event) if event.event == "endpoint" => return Ok(event.data),
                    Next::Event(event) if event.event == "message" && !event.data.is_empty() => {
                        early.push(common::frame_of(event.data.as_bytes()));
                    }
                    Next::Event(_) | Next::Skipped(_) => {}
                    Next::End => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the SSE stream ended before the endpoint event",
                        ));
                    }
                    Next::Failed(error) => return Err(io::Error::other(error)),
                }
            }
        };
        let data = tokio::time::timeout(config.endpoint_timeout, wait)
            .await
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the SSE endpoint sent no endpoint event in time",
                )
            })??;
        let post_to = resolve(&config.url, data.trim())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if !same_origin(&config.url, &post_to) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the endpoint event names another origin than the SSE endpoint",
            ));
        }
        tracing::debug!(target: TARGET, "legacy SSE endpoint received");

        let (outbox, outgoing) = mpsc::channel::<Outgoing>(CHANNEL_CAPACITY);
        let (frames, incoming) = mpsc::channel::<Frame>(CHANNEL_CAPACITY);
        let shutdown = CancellationToken::new();
        let negotiation = Arc::new(Mutex::new(Negotiation::default()));
        let reader = Reader {
            frames: frames.clone(),
            negotiation: Arc::clone(&negotiation),
        };
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = reader.run(early, body, parser) => {}
            }
            // The stream was the session: once it ends, so does the writer.
            stop.cancel();
        });
        let writer = Writer {
            http: self.http,
            config,
            post_to,
            frames,
            negotiation,
            shutdown,
        };
        let flushed = tokio::spawn(writer.run(outgoing));
        Ok(Channel {
            incoming,
            outbox,
            flushed,
        })
    }
}

struct Reader {
    frames: mpsc::Sender<Frame>,
    negotiation: Arc<Mutex<Negotiation>>,
}

impl Reader {
    async fn run<B>(self, early: Vec<Frame>, mut body: std::pin::Pin<Box<B>>, mut parser: SseParser)
    where
        B: http_body::Body<Error: Into<super::BoxError>>,
    {
        for frame in early {
            if !self.deliver(frame).await {
                return;
            }
        }
        loop {
            let frame = match common::next_event(&mut body, &mut parser).await {
                Next::Event(event) if event.event == "message" && !event.data.is_empty() => {
                    common::frame_of(event.data.as_bytes())
                }
                Next::Event(_) => continue,
                Next::Skipped(error) => {
                    tracing::warn!(target: TARGET, %error, "skipped part of the SSE stream");
                    common::skipped(error)
                }
                Next::End => {
                    tracing::debug!(target: TARGET, "the server ended the SSE stream");
                    return;
                }
                Next::Failed(error) => {
                    tracing::debug!(target: TARGET, %error, "the SSE stream broke");
                    return;
                }
            };
            if !self.deliver(frame).await {
                return;
            }
        }
    }

    async fn deliver(&self, frame: Frame) -> bool {
        observe(&self.negotiation, &frame);
        self.frames.send(frame).await.is_ok()
    }
}

/// Notes the negotiated version when the answer to `initialize` passes.
fn observe(negotiation: &Mutex<Negotiation>, frame: &Frame) {
    let Frame::Payload(Payload::Single(Message::Response(response))) = frame else {
        return;
    };
    let mut negotiation = negotiation.lock().unwrap_or_else(PoisonError::into_inner);
    if negotiation.initialize.as_ref() == Some(&response.id) {
        negotiation.initialize = None;
        negotiation.version = response
            .result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .and_then(|v| HeaderValue::from_str(v).ok());
    }
}

struct Writer<C> {
    http: C,
    config: Arc<Config>,
    post_to: Uri,
    frames: mpsc::Sender<Frame>,
    negotiation: Arc<Mutex<Negotiation>>,
    shutdown: CancellationToken,
}

impl<C: HttpService> Writer<C> {
    async fn run(self, mut outgoing: mpsc::Receiver<Outgoing>) -> io::Result<()> {
        loop {
            let next = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => None,
                next = outgoing.recv() => next,
            };
            let Some(message) = next else { break };
            if !self.send(message).await {
                break;
            }
        }
        // Dropping the SSE stream ends the session on the server.
        self.shutdown.cancel();
        Ok(())
    }

    /// POSTs one frame; `false` when the session is gone.
    async fn send(&self, outgoing: Outgoing) -> bool {
        let (body, requests) = match &outgoing {
            Outgoing::One(message) => {
                if let Message::Request(request) = message {
                    if request.method == methods::INITIALIZE {
                        self.negotiation
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .initialize = Some(request.id.clone());
                    }
                }
                (
                    message.to_json().into_bytes(),
                    request_ids(std::slice::from_ref(message)),
                )
            }
            Outgoing::Batch(messages) => (
                serde_json::to_vec(messages).unwrap_or_default(),
                request_ids(messages),
            ),
        };
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(self.post_to.clone());
        if let Some(headers) = request.headers_mut() {
            headers.extend(self.config.headers.clone());
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
            let version = self
                .negotiation
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .version
                .clone();
            if let Some(version) = version {
                headers.insert(MCP_PROTOCOL_VERSION, version);
            }
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(request) => request,
            Err(error) => {
                tracing::warn!(target: TARGET, %error, "building a POST failed");
                return true;
            }
        };
        let error = match common::call(&self.http, request).await {
            Ok(response) if response.status().is_success() => return true,
            Ok(response) => {
                let status = response.status();
                tracing::debug!(target: TARGET, status = status.as_u16(), "the message endpoint refused a message");
                let error = common::http_error(response, TRANSPORT_ERROR).await;
                if status == StatusCode::NOT_FOUND {
                    self.fail(&requests, &error).await;
                    tracing::warn!(target: TARGET, "the server no longer knows the session (HTTP 404); closing");
                    return false;
                }
                error
            }
            Err(error) => {
                tracing::debug!(target: TARGET, %error, "POST failed");
                common::transport_error(format!(
                    "could not send the message to the MCP server: {error}"
                ))
            }
        };
        if requests.is_empty() {
            tracing::warn!(target: TARGET, "a notification or an answer could not be delivered");
        }
        self.fail(&requests, &error).await;
        true
    }

    async fn fail(&self, ids: &[RequestId], error: &crate::jsonrpc::ErrorObject) {
        for id in ids {
            if self
                .frames
                .send(common::error_frame(id.clone(), error.clone()))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

fn request_ids(messages: &[Message]) -> Vec<RequestId> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Request(r) => Some(r.id.clone()),
            _ => None,
        })
        .collect()
}

/// Whether two absolute URLs have the same origin (scheme, host, port).
fn same_origin(a: &Uri, b: &Uri) -> bool {
    let port = |u: &Uri| {
        u.port_u16().or(match u.scheme_str() {
            Some("http") => Some(80),
            Some("https") => Some(443),
            _ => None,
        })
    };
    a.scheme_str().map(str::to_ascii_lowercase) == b.scheme_str().map(str::to_ascii_lowercase)
        && a.host().map(str::to_ascii_lowercase) == b.host().map(str::to_ascii_lowercase)
        && port(a) == port(b)
}

/// Resolves `reference` against the absolute `base` (RFC 3986 §5.2.2; the
/// fragment is dropped).
fn resolve(base: &Uri, reference: &str) -> Result<Uri, String> {
    let invalid = |e: &dyn std::fmt::Display| format!("the endpoint event holds no valid URL: {e}");
    let reference = reference.split('#').next().unwrap_or_default();
    let has_scheme = reference.split_once(':').is_some_and(|(scheme, _)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base
        .authority()
        .map(http::uri::Authority::as_str)
        .unwrap_or_default();
    let target = if has_scheme {
        reference.to_owned()
    } else if let Some(rest) = reference.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else {
        let (path, query) = match reference.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (reference, None),
        };
        let (path, query) = if path.is_empty() {
            (base.path().to_owned(), query.or(base.query()))
        } else if path.starts_with('/') {
            (remove_dot_segments(path), query)
        } else {
            let base_path = base.path();
            let merged = match base_path.rfind('/') {
                Some(i) => format!("{}{path}", &base_path[..=i]),
                None => format!("/{path}"),
            };
            (remove_dot_segments(&merged), query)
        };
        match query {
            Some(query) => format!("{scheme}://{authority}{path}?{query}"),
            None => format!("{scheme}://{authority}{path}"),
        }
    };
    let uri: Uri = target.parse().map_err(|e| invalid(&e))?;
    if uri.scheme().is_none() || uri.authority().is_none() {
        return Err(invalid(&"not an absolute URL"));
    }
    Ok(uri)
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output: Vec<&str> = Vec::new();
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = &input[2..];
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = &input[3..];
            output.pop();
        } else if input == "/.." {
            input = "/";
            output.pop();
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push(&input[..end]);
            input = &input[end..];
        }
    }
    output.concat()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn endpoint_urls_resolve_against_the_sse_url() {
        let base: Uri = "http://h:8/a/b/sse?x=1".parse().unwrap();
        let cases = [
            ("/messages?sessionId=1", "http://h:8/messages?sessionId=1"),
            (
                "messages?sessionId=1",
                "http://h:8/a/b/messages?sessionId=1",
            ),
            ("../m", "http://h:8/a/m"),
            ("./m/./n/../o", "http://h:8/a/b/m/o"),
            ("?sessionId=2", "http://h:8/a/b/sse?sessionId=2"),
            ("", "http://h:8/a/b/sse?x=1"),
            ("//h:8/p", "http://h:8/p"),
            ("http://other/p#frag", "http://other/p"),
            ("/../../m", "http://h:8/m"),
        ];
        for (reference, expected) in cases {
            assert_eq!(
                resolve(&base, reference).unwrap().to_string(),
                expected,
                "{reference}"
            );
        }
        assert!(resolve(&base, "http://[bad").is_err());
    }

    #[test]
    fn origins() {
        let base: Uri = "http://h/sse".parse().unwrap();
        assert!(same_origin(&base, &"http://H:80/m".parse().unwrap()));
        assert!(!same_origin(&base, &"https://h/m".parse().unwrap()));
        assert!(!same_origin(&base, &"http://h:81/m".parse().unwrap()));
        assert!(!same_origin(&base, &"http://evil/m".parse().unwrap()));
    }

    #[test]
    fn dot_segments() {
        // RFC 3986 §5.4 examples' paths.
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
        assert_eq!(remove_dot_segments("/b/c/."), "/b/c/");
        assert_eq!(remove_dot_segments("/b/c/.."), "/b/");
    }
}
