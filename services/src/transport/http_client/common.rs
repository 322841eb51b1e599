//! What the HTTP client transports share: calling the HTTP service, reading
//! bounded bodies and SSE events, and turning HTTP failures into JSON-RPC
//! errors for the requests that wait.

use std::pin::Pin;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value};

use crate::jsonrpc::{ErrorCode, ErrorObject, ErrorResponse, Message, Payload, RequestId, parse};
use crate::transport::channel::Frame;

use super::sse_parser::{SseError, SseEvent, SseParser};
use super::{BoxError, ConfigError, HttpService};

pub(super) const TARGET: &str = "mcp_tower::http_client";

pub(super) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
pub(super) const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
pub(super) const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
pub(super) const EVENT_STREAM: &str = "text/event-stream";
pub(super) const JSON: &str = "application/json";

/// How much of an error response's body is read to find a JSON-RPC error.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// The longest plain-text error body copied into an error's `data`.
const ERROR_TEXT_LIMIT: usize = 1024;

/// Headers the transports set themselves.
const RESERVED: [&str; 6] = [
    "accept",
    "content-type",
    "content-length",
    "mcp-session-id",
    "mcp-protocol-version",
    "last-event-id",
];

/// Collects the headers a builder was given, refusing invalid and reserved
/// ones; credentials are marked sensitive so HTTP/2 never indexes them.
#[derive(Debug, Default)]
pub(super) struct HeaderSet {
    headers: HeaderMap,
    error: Option<ConfigError>,
}

impl HeaderSet {
    pub(super) fn add<K, V>(&mut self, name: K, value: V)
    where
        K: TryInto<HeaderName> + std::fmt::Debug,
        V: TryInto<HeaderValue>,
    {
        if self.error.is_some() {
            return;
        }
        let shown = format!("{name:?}");
        let (Ok(name), Ok(mut value)) = (name.try_into(), value.try_into()) else {
            self.error = Some(ConfigError::InvalidHeader { name: shown });
            return;
        };
        if RESERVED.contains(&name.as_str()) {
            self.error = Some(ConfigError::ReservedHeader(name.as_str().to_owned()));
            return;
        }
        if matches!(
            name.as_str(),
            "authorization" | "proxy-authorization" | "cookie" | "dpop"
        ) {
            value.set_sensitive(true);
        }
        self.headers.append(name, value);
    }

    pub(super) fn finish(self) -> Result<HeaderMap, ConfigError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.headers),
        }
    }
}

/// Checks that `endpoint` is an absolute http(s) URL.
pub(super) fn endpoint(endpoint: &str) -> Result<http::Uri, ConfigError> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|e: http::uri::InvalidUri| ConfigError::InvalidEndpoint(e.to_string()))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => Ok(uri),
        _ => Err(ConfigError::InvalidEndpoint(format!(
            "{endpoint:?} has no http or https scheme and host"
        ))),
    }
}

/// Sends one request through the HTTP service.
pub(super) async fn call<C: HttpService>(
    http: &C,
    request: http::Request<Full<Bytes>>,
) -> Result<Response<C::ResponseBody>, BoxError> {
    let mut http = http.clone();
    std::future::poll_fn(|cx| http.poll_ready(cx))
        .await
        .map_err(Into::into)?;
    http.call(request).await.map_err(Into::into)
}

/// The media type of a response, lowercased, without parameters.
pub(super) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    Some(essence)
}

/// Why reading a body failed.
#[derive(Debug)]
pub(super) enum ReadError {
    TooLarge(usize),
    Body(BoxError),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(limit) => {
                write!(f, "the response body is larger than {limit} bytes")
            }
            ReadError::Body(error) => write!(f, "reading the response body failed: {error}"),
        }
    }
}

/// Reads a whole body, up to `limit` bytes.
pub(super) async fn read_limited<B>(body: B, limit: usize) -> Result<Bytes, ReadError>
where
    B: Body<Error: Into<BoxError>>,
{
    let mut body = std::pin::pin!(body);
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Body(e.into()))?;
        if let Ok(mut data) = frame.into_data() {
            if out.len() + data.remaining() > limit {
                return Err(ReadError::TooLarge(limit));
            }
            while data.has_remaining() {
                let chunk = data.chunk();
                out.extend_from_slice(chunk);
                let n = chunk.len();
                data.advance(n);
            }
        }
    }
    Ok(out.freeze())
}

/// What reading an SSE body produced next.
pub(super) enum Next {
    Event(SseEvent),
    /// An oversized line or event was skipped.
    Skipped(SseError),
    /// The body ended.
    End,
    /// Reading the body failed.
    Failed(BoxError),
}

/// Reads the next SSE event of `body`.
pub(super) async fn next_event<B>(body: &mut Pin<Box<B>>, parser: &mut SseParser) -> Next
where
    B: Body<Error: Into<BoxError>>,
{
    loop {
        match parser.next_event() {
            Ok(Some(event)) => return Next::Event(event),
            Err(error) => return Next::Skipped(error),
            Ok(None) => {}
        }
        match body.frame().await {
            None => return Next::End,
            Some(Err(error)) => return Next::Failed(error.into()),
            Some(Ok(frame)) => {
                if let Ok(mut data) = frame.into_data() {
                    while data.has_remaining() {
                        let chunk = data.chunk();
                        parser.feed(chunk);
                        let n = chunk.len();
                        data.advance(n);
                    }
                }
            }
        }
    }
}

/// The frame for one JSON text (an SSE event's data, a JSON body).
pub(super) fn frame_of(text: &[u8]) -> Frame {
    match parse(text) {
        Ok(payload) => Frame::Payload(payload),
        Err(error) => Frame::Invalid(error),
    }
}

/// The frame for a part of a stream that was skipped.
pub(super) fn skipped(error: SseError) -> Frame {
    Frame::Invalid(ErrorResponse::new(
        None,
        ErrorObject::invalid_request(error.to_string()),
    ))
}

/// The ids a frame answers (responses and error responses).
pub(super) fn answers(frame: &Frame) -> Vec<RequestId> {
    let one = |message: &Message| match message {
        Message::Response(r) => Some(r.id.clone()),
        Message::Error(e) => e.id.clone(),
        _ => None,
    };
    match frame {
        Frame::Payload(Payload::Single(message)) => one(message).into_iter().collect(),
        Frame::Payload(Payload::Batch(items)) => items
            .iter()
            .filter_map(|item| item.as_ref().ok().and_then(one))
            .collect(),
        Frame::Invalid(_) => Vec::new(),
    }
}

/// The error response that fails request `id`.
pub(super) fn error_frame(id: RequestId, error: ErrorObject) -> Frame {
    Frame::Payload(Payload::Single(Message::Error(ErrorResponse::new(
        Some(id),
        error,
    ))))
}

/// A transport failure as a JSON-RPC error.
pub(super) fn transport_error(message: impl Into<String>) -> ErrorObject {
    ErrorObject::new(super::TRANSPORT_ERROR, message)
}

/// The error an HTTP error response stands for: the server's JSON-RPC error
/// if its body is one, else `default_code` with the status; `data` gets
/// `httpStatus` (and `wwwAuthenticate`).
pub(super) async fn http_error<B>(response: Response<B>, default_code: ErrorCode) -> ErrorObject
where
    B: Body<Error: Into<BoxError>>,
{
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_limited(response.into_body(), ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let from_server = match parse(&body) {
        Ok(Payload::Single(Message::Error(error))) => Some(error.error),
        _ => None,
    };
    let text = (from_server.is_none() && !body.is_empty() && body.len() <= ERROR_TEXT_LIMIT)
        .then(|| std::str::from_utf8(&body).ok().map(str::to_owned))
        .flatten();
    let mut error = from_server.unwrap_or_else(|| {
        ErrorObject::new(
            default_code,
            format!("the MCP endpoint answered HTTP {}", describe(status)),
        )
    });
    let mut data = match error.data.take() {
        None => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            let mut map = Map::new();
            map.insert("server".to_owned(), other);
            map
        }
    };
    data.insert("httpStatus".to_owned(), Value::from(status.as_u16()));
    if let Some(challenge) = challenge {
        data.insert("wwwAuthenticate".to_owned(), Value::String(challenge));
    }
    if let Some(text) = text {
        data.insert("body".to_owned(), Value::String(text));
    }
    error.data = Some(Value::Object(data));
    error
}

/// `404 Not Found`.
pub(super) fn describe(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[tokio::test]
    async fn a_json_rpc_error_body_is_used() {
        let response = Response::builder()
            .status(404)
            .body(Full::new(Bytes::from_static(
                br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}"#,
            )))
            .unwrap();
        let error = http_error(response, super::super::SESSION_EXPIRED).await;
        assert_eq!(error.code.0, -32001);
        assert_eq!(error.message, "Session not found");
        assert_eq!(error.data.unwrap()["httpStatus"], 404);
    }

    #[tokio::test]
    async fn other_bodies_give_the_status() {
        let response = Response::builder()
            .status(401)
            .header("www-authenticate", "Bearer realm=\"x\"")
            .body(Full::new(Bytes::from_static(b"nope")))
            .unwrap();
        let error = http_error(response, super::super::TRANSPORT_ERROR).await;
        assert_eq!(error.code.0, -32000);
        assert_eq!(
            error.message,
            "the MCP endpoint answered HTTP 401 Unauthorized"
        );
        let data = error.data.unwrap();
        assert_eq!(data["wwwAuthenticate"], "Bearer realm=\"x\"");
        assert_eq!(data["body"], "nope");
    }

    #[tokio::test]
    async fn bodies_are_bounded() {
        let body = Full::new(Bytes::from(vec![b'x'; 100]));
        assert!(matches!(
            read_limited(body, 99).await,
            Err(ReadError::TooLarge(99))
        ));
        let body = Full::new(Bytes::from(vec![b'x'; 100]));
        assert_eq!(read_limited(body, 100).await.unwrap().len(), 100);
    }

    #[test]
    fn endpoints_and_headers() {
        assert!(endpoint("http://127.0.0.1:1/mcp").is_ok());
        assert!(endpoint("https://example.com").is_ok());
        assert!(endpoint("/mcp").is_err());
        assert!(endpoint("ftp://example.com/").is_err());
        let mut set = HeaderSet::default();
        set.add("x-ok", "1");
        set.add("Mcp-Session-Id", "forged");
        assert_eq!(
            set.finish(),
            Err(ConfigError::ReservedHeader("mcp-session-id".into()))
        );
        let mut set = HeaderSet::default();
        set.add("bad header", "1");
        assert!(matches!(
            set.finish(),
            Err(ConfigError::InvalidHeader { .. })
        ));
        let mut set = HeaderSet::default();
        set.add("authorization", "Bearer t");
        assert!(set.finish().unwrap()["authorization"].is_sensitive());
    }

    #[test]
    fn media_types() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "Text/Event-Stream; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(media_type(&headers).as_deref(), Some(EVENT_STREAM));
    }
}
