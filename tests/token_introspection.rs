//! `IntrospectionValidator` (RFC 7662) against a real introspection endpoint:
//! a hyper server on 127.0.0.1:0 that checks the client credentials, counts
//! calls and answers active / inactive / errors / garbage / slowly.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use mcp_tower_layers::bearer::BearerLayer;
use mcp_tower_layers::clock::ManualClock;
use mcp_tower_layers::fetch::HttpFetcher;
use mcp_tower_layers::token::{
    ApiKeyGrant, ApiKeyValidator, ClientAuthMethod, IntrospectionValidator,
    IntrospectionValidatorBuilder, MultiIssuerValidator, Principal, TokenError, TokenValidator,
    ValidateTokenLayer,
};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};

const NOW: u64 = 1_700_000_000;
const CLIENT_ID: &str = "mcp-resource";
/// Characters that must be form-encoded inside Basic credentials
/// (RFC 6749 §2.3.1).
const SECRET: &str = "s3cr3t:p@ss w0rd+";
/// A token with characters that must be form-encoded in the body.
const TOKEN: &str = "opaque+Tok/en~Kz8mXK1EalYznwH==";
const RESOURCE: &str = "https://mcp.example.com";
const ISSUER: &str = "https://as.example.com";

/// What the endpoint answers for a token.
#[derive(Clone)]
enum Reply {
    Json(Value),
    Status(u16),
    Raw(&'static str),
    Slow(Duration, Value),
    /// Answers once the test adds a permit to the semaphore.
    Gate(Arc<tokio::sync::Semaphore>, Value),
}

/// One request as the endpoint saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: http::Method,
    headers: HeaderMap,
    form: HashMap<String, String>,
}

#[derive(Default)]
struct Mock {
    calls: AtomicUsize,
    replies: Mutex<HashMap<String, Reply>>,
    last: Mutex<Option<Seen>>,
}

fn form_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn parse_form(body: &[u8]) -> HashMap<String, String> {
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// Client credentials from Basic (form-encoded parts) or from the body.
fn credentials(seen: &Seen) -> Option<(String, String)> {
    if let Some(value) = seen.headers.get(http::header::AUTHORIZATION) {
        let encoded = value.to_str().ok()?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        return Some((form_decode(id), form_decode(secret)));
    }
    Some((
        seen.form.get("client_id")?.clone(),
        seen.form.get("client_secret")?.clone(),
    ))
}

fn json_response(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .unwrap()
}

impl Mock {
    fn reply(&self, token: &str, reply: Reply) {
        self.replies.lock().unwrap().insert(token.into(), reply);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn last(&self) -> Seen {
        self.last.lock().unwrap().clone().unwrap()
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (parts, body) = request.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let seen = Seen {
            method: parts.method,
            headers: parts.headers,
            form: parse_form(&body),
        };
        *self.last.lock().unwrap() = Some(seen.clone());
        if credentials(&seen) != Some((CLIENT_ID.into(), SECRET.into())) {
            return json_response(401, r#"{"error":"invalid_client"}"#);
        }
        let token = seen.form.get("token").cloned().unwrap_or_default();
        let reply = self.replies.lock().unwrap().get(&token).cloned();
        match reply.unwrap_or(Reply::Json(json!({"active": false}))) {
            Reply::Json(v) => json_response(200, v.to_string()),
            Reply::Status(status) => json_response(status, "{}"),
            Reply::Raw(text) => json_response(200, text),
            Reply::Slow(delay, v) => {
                tokio::time::sleep(delay).await;
                json_response(200, v.to_string())
            }
            Reply::Gate(gate, v) => {
                gate.acquire().await.unwrap().forget();
                json_response(200, v.to_string())
            }
        }
    }
}

/// Starts the endpoint; it lives as long as the test's runtime.
async fn start() -> (Arc<Mock>, SocketAddr) {
    let mock = Arc::new(Mock::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::clone(&mock);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let mock = Arc::clone(&server);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let mock = Arc::clone(&mock);
                    async move { Ok::<_, Infallible>(mock.handle(request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (mock, addr)
}

fn active(extra: &Value) -> Value {
    let mut v = json!({
        "active": true,
        "scope": "tools:read tools:call",
        "client_id": "claude-desktop",
        "sub": "alice",
        "aud": [RESOURCE, "https://other.example.com"],
        "iss": ISSUER,
        "exp": NOW + 3600,
        "nbf": NOW - 10,
        "token_type": "Bearer",
    });
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

fn builder(addr: SocketAddr, clock: &ManualClock) -> IntrospectionValidatorBuilder {
    IntrospectionValidator::builder(format!("http://{addr}/introspect"))
        .client_credentials(CLIENT_ID, SECRET)
        .audience(RESOURCE)
        .issuer(ISSUER)
        .clock(Arc::new(clock.clone()))
}

fn validator(addr: SocketAddr, clock: &ManualClock) -> IntrospectionValidator {
    builder(addr, clock).build().unwrap()
}

fn unavailable(result: Result<impl std::fmt::Debug, TokenError>) {
    match result {
        Err(TokenError::Unavailable(text)) => {
            assert!(!text.contains(TOKEN) && !text.contains(SECRET), "{text}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn active_token_is_accepted_with_claims_mapped() {
    let (mock, addr) = start().await;
    mock.reply(
        TOKEN,
        Reply::Json(active(&json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}, "tenant": "acme"}))),
    );
    let clock = ManualClock::new(NOW);
    let claims = validator(addr, &clock).validate(TOKEN).await.unwrap();
    assert_eq!(claims.subject(), Some("alice"));
    assert_eq!(claims.client_id(), Some("claude-desktop"));
    assert!(claims.scopes().eq(["tools:read", "tools:call"]));
    assert!(
        claims
            .audience()
            .eq([RESOURCE, "https://other.example.com"])
    );
    assert_eq!(claims.issuer(), Some(ISSUER));
    assert_eq!(claims.expires_at(), Some(NOW + 3600));
    assert_eq!(
        claims.cnf_jkt(),
        Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
    );
    assert_eq!(claims.raw()["tenant"], "acme");
    assert_eq!(claims.principal().subject(), "alice");

    // RFC 7662 §2.1: a form-encoded POST with the hint, authenticated with
    // client_secret_basic.
    let seen = mock.last();
    assert_eq!(seen.method, http::Method::POST);
    assert_eq!(
        seen.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(seen.headers["accept"], "application/json");
    assert_eq!(seen.form["token"], TOKEN);
    assert_eq!(seen.form["token_type_hint"], "access_token");
    assert!(!seen.form.contains_key("client_secret"));
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn client_secret_post_sends_credentials_in_the_body() {
    let (mock, addr) = start().await;
    mock.reply(TOKEN, Reply::Json(active(&json!({}))));
    let clock = ManualClock::new(NOW);
    let v = builder(addr, &clock)
        .auth_method(ClientAuthMethod::ClientSecretPost)
        .build()
        .unwrap();
    assert!(v.validate(TOKEN).await.is_ok());
    let seen = mock.last();
    assert!(seen.headers.get(http::header::AUTHORIZATION).is_none());
    assert_eq!(seen.form["client_id"], CLIENT_ID);
    assert_eq!(seen.form["client_secret"], SECRET);
}

#[tokio::test]
async fn inactive_token_is_refused() {
    let (mock, addr) = start().await;
    // `active: false` wins even with other members present.
    mock.reply(
        TOKEN,
        Reply::Json(json!({"active": false, "sub": "alice", "aud": RESOURCE})),
    );
    let clock = ManualClock::new(NOW);
    assert_eq!(
        validator(addr, &clock).validate(TOKEN).await,
        Err(TokenError::Inactive)
    );
}

#[tokio::test]
async fn wrong_client_credentials_make_the_endpoint_unavailable() {
    let (mock, addr) = start().await;
    mock.reply(TOKEN, Reply::Json(active(&json!({}))));
    let clock = ManualClock::new(NOW);
    let v = IntrospectionValidator::builder(format!("http://{addr}/introspect"))
        .client_credentials(CLIENT_ID, "wrong-secret")
        .audience(RESOURCE)
        .clock(Arc::new(clock))
        .build()
        .unwrap();
    unavailable(v.validate(TOKEN).await);
    assert_eq!(mock.calls(), 1);
}

#[tokio::test]
async fn endpoint_errors_fail_closed_and_are_not_cached() {
    let (mock, addr) = start().await;
    mock.reply(TOKEN, Reply::Status(500));
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    unavailable(v.validate(TOKEN).await);
    unavailable(v.validate(TOKEN).await);
    assert_eq!(mock.calls(), 2, "failures must be retried, not cached");
    // A 3xx or 404 is no better.
    mock.reply(TOKEN, Reply::Status(302));
    unavailable(v.validate(TOKEN).await);
    // Once the endpoint recovers, the token is accepted.
    mock.reply(TOKEN, Reply::Json(active(&json!({}))));
    assert!(v.validate(TOKEN).await.is_ok());
    assert_eq!(v.cached_entries(), 1);
}

#[tokio::test]
async fn unreachable_endpoint_fails_closed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let clock = ManualClock::new(NOW);
    unavailable(validator(addr, &clock).validate(TOKEN).await);
}

#[tokio::test]
async fn slow_endpoint_times_out() {
    let (mock, addr) = start().await;
    mock.reply(
        TOKEN,
        Reply::Slow(Duration::from_secs(5), active(&json!({}))),
    );
    let clock = ManualClock::new(NOW);
    let v = builder(addr, &clock)
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    unavailable(v.validate(TOKEN).await);
    assert!(started.elapsed() < Duration::from_secs(2));

    // The timeout of a given fetcher is used too.
    let v = builder(addr, &clock)
        .fetcher(
            HttpFetcher::new()
                .unwrap()
                .timeout(Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    unavailable(v.validate(TOKEN).await);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn malformed_responses_fail_closed() {
    let (mock, addr) = start().await;
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    for (token, reply) in [
        ("garbage", Reply::Raw("this is not json")),
        ("array", Reply::Raw(r#"[{"active":true}]"#)),
        ("truncated", Reply::Raw(r#"{"active":true"#)),
        (
            "no-active",
            Reply::Json(json!({"sub": "alice", "aud": RESOURCE})),
        ),
        (
            "string-active",
            Reply::Json(json!({"active": "true", "aud": RESOURCE, "iss": ISSUER})),
        ),
        ("null-active", Reply::Json(json!({"active": null}))),
    ] {
        mock.reply(token, reply);
        match v.validate(token).await {
            Err(TokenError::Unavailable(_)) => {}
            other => panic!("{token}: expected Unavailable, got {other:?}"),
        }
    }
    assert_eq!(v.cached_entries(), 0);
}

#[tokio::test]
async fn claims_are_checked() {
    let (mock, addr) = start().await;
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    for (token, extra, expected) in [
        (
            "other-aud",
            json!({"aud": "https://other.example.com"}),
            TokenError::WrongAudience,
        ),
        (
            "no-aud",
            json!({"aud": null}),
            TokenError::InvalidClaim("aud"),
        ),
        ("expired", json!({"exp": NOW - 1}), TokenError::Expired),
        ("expires-now", json!({"exp": NOW}), TokenError::Expired),
        ("not-yet", json!({"nbf": NOW + 60}), TokenError::NotYetValid),
        (
            "other-iss",
            json!({"iss": "https://evil.example.com"}),
            TokenError::WrongIssuer,
        ),
        (
            "exp-text",
            json!({"exp": "tomorrow"}),
            TokenError::InvalidClaim("exp"),
        ),
        (
            "scope-array",
            json!({"scope": ["a"]}),
            TokenError::InvalidClaim("scope"),
        ),
    ] {
        mock.reply(token, Reply::Json(active(&extra)));
        assert_eq!(v.validate(token).await, Err(expected), "{token}");
    }
    // RFC 8707: a token that names no audience is not for this resource.
    let mut no_aud = active(&json!({}));
    no_aud.as_object_mut().unwrap().remove("aud");
    mock.reply("aud-missing", Reply::Json(no_aud));
    assert_eq!(
        v.validate("aud-missing").await,
        Err(TokenError::WrongAudience)
    );
    // With the explicit audience opt-out and no issuer, neither is checked.
    let lax = IntrospectionValidator::builder(format!("http://{addr}/introspect"))
        .client_credentials(CLIENT_ID, SECRET)
        .accept_any_audience()
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    assert!(lax.validate("other-aud").await.is_ok());
    assert!(lax.validate("other-iss").await.is_ok());
}

#[tokio::test]
async fn confirmations_other_than_jkt_are_refused() {
    // RFC 8705 §3 certificate-bound tokens and any other `cnf` without a
    // string `jkt` carry a sender constraint this resource cannot check:
    // they are refused, as on the JWT path, never taken as unbound bearer
    // tokens.
    let (mock, addr) = start().await;
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    let lax = IntrospectionValidator::builder(format!("http://{addr}/introspect"))
        .client_credentials(CLIENT_ID, SECRET)
        .accept_any_audience()
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    for (token, cnf) in [
        (
            "mtls-bound",
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        ),
        ("empty-cnf", json!({})),
        ("jwk-cnf", json!({"jwk": {"kty": "EC", "crv": "P-256"}})),
        ("numeric-jkt", json!({"jkt": 1})),
        ("null-jkt", json!({"jkt": null})),
        (
            "string-cnf",
            json!("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        ),
        ("array-cnf", json!([{"jkt": "k"}])),
        ("null-cnf", json!(null)),
    ] {
        mock.reply(token, Reply::Json(active(&json!({ "cnf": cnf }))));
        assert_eq!(
            v.validate(token).await,
            Err(TokenError::InvalidClaim("cnf")),
            "{token}"
        );
        // The audience opt-out does not relax it.
        assert_eq!(
            lax.validate(token).await,
            Err(TokenError::InvalidClaim("cnf")),
            "{token} (any audience)"
        );
    }
    // A string `jkt` next to another method is usable: the layer checks it.
    mock.reply(
        "jkt-and-x5t",
        Reply::Json(active(&json!({"cnf": {"jkt": "k", "x5t#S256": "t"}}))),
    );
    assert_eq!(
        v.validate("jkt-and-x5t").await.unwrap().cnf_jkt(),
        Some("k")
    );

    // Through the layers the refusal is a plain 401 invalid_token.
    let (status, headers, _) = call(v, Some("Bearer mtls-bound")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers[http::header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}

#[tokio::test]
async fn building_without_an_audience_fails() {
    let err = IntrospectionValidator::builder("https://as.example.com/introspect")
        .client_credentials(CLIENT_ID, SECRET)
        .issuer(ISSUER)
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "introspection audience");
    let text = err.to_string();
    assert!(text.contains("RFC 8707"), "{text}");
    assert!(text.contains("accept_any_audience"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn accept_any_audience_builds_and_warns() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (mock, addr) = start().await;
    mock.reply(
        TOKEN,
        Reply::Json(active(&json!({"aud": "https://other.example.com"}))),
    );
    let clock = ManualClock::new(NOW);
    let v = IntrospectionValidator::builder(format!("http://{addr}/introspect"))
        .client_credentials(CLIENT_ID, SECRET)
        .accept_any_audience()
        .clock(Arc::new(clock))
        .build()
        .unwrap();
    assert!(format!("{v:?}").contains("any_audience: true"));
    assert!(v.validate(TOKEN).await.is_ok());

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("WARN mcp_tower::token"), "{text}");
    assert!(text.contains("accept_any_audience"), "{text}");
    for secret in [TOKEN, SECRET, "s3cr3t"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn tokens_for_other_resources_are_refused_by_default() {
    let (mock, addr) = start().await;
    let clock = ManualClock::new(NOW);
    // Built with only what `builder` requires: endpoint, credentials and
    // the audience (no issuer).
    let v = IntrospectionValidator::builder(format!("http://{addr}/introspect"))
        .client_credentials(CLIENT_ID, SECRET)
        .audience(RESOURCE)
        .clock(Arc::new(clock))
        .build()
        .unwrap();
    for (token, aud) in [
        ("other", json!("https://other.example.com")),
        (
            "others",
            json!(["https://other.example.com", "https://mcp.example.com/x"]),
        ),
        ("empty", json!([])),
    ] {
        mock.reply(token, Reply::Json(active(&json!({ "aud": aud }))));
        assert_eq!(
            v.validate(token).await,
            Err(TokenError::WrongAudience),
            "{token}"
        );
    }
    let mut no_aud = active(&json!({}));
    no_aud.as_object_mut().unwrap().remove("aud");
    mock.reply("none", Reply::Json(no_aud));
    assert_eq!(v.validate("none").await, Err(TokenError::WrongAudience));
    mock.reply(TOKEN, Reply::Json(active(&json!({"aud": RESOURCE}))));
    assert!(v.validate(TOKEN).await.is_ok());
}

#[tokio::test]
async fn accepted_answers_are_cached_within_the_ttl() {
    let (mock, addr) = start().await;
    mock.reply(TOKEN, Reply::Json(active(&json!({}))));
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    assert!(v.validate(TOKEN).await.is_ok());
    assert!(v.validate(TOKEN).await.is_ok());
    assert_eq!(mock.calls(), 1, "second call within the TTL hits the cache");
    clock.advance(59);
    assert!(v.validate(TOKEN).await.is_ok());
    assert_eq!(mock.calls(), 1);
    clock.advance(1);
    assert!(v.validate(TOKEN).await.is_ok());
    assert_eq!(
        mock.calls(),
        2,
        "after the default 60 s TTL it is asked again"
    );

    // A revoked token is refused once its cached answer is gone.
    mock.reply(TOKEN, Reply::Json(json!({"active": false})));
    assert!(v.validate(TOKEN).await.is_ok());
    clock.advance(60);
    assert_eq!(v.validate(TOKEN).await, Err(TokenError::Inactive));
    assert_eq!(mock.calls(), 3);

    // The TTL is configurable; 0 disables positive caching.
    mock.reply("uncached", Reply::Json(active(&json!({}))));
    let v = builder(addr, &clock).cache_ttl_secs(0).build().unwrap();
    assert!(v.validate("uncached").await.is_ok());
    assert!(v.validate("uncached").await.is_ok());
    assert_eq!(mock.calls(), 5);
}

#[tokio::test]
async fn cached_answers_never_outlive_exp() {
    let (mock, addr) = start().await;
    mock.reply(TOKEN, Reply::Json(active(&json!({"exp": NOW + 10}))));
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    assert!(v.validate(TOKEN).await.is_ok());
    clock.advance(9);
    assert!(v.validate(TOKEN).await.is_ok());
    assert_eq!(mock.calls(), 1);
    // At `exp` the entry is gone: the endpoint is asked again, and its
    // (stale) `active: true` does not save an expired token.
    clock.advance(1);
    assert_eq!(v.validate(TOKEN).await, Err(TokenError::Expired));
    assert_eq!(mock.calls(), 2);
}

#[tokio::test]
async fn refusals_are_cached_briefly() {
    let (mock, addr) = start().await;
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    // Unknown tokens are inactive.
    assert_eq!(v.validate("unknown").await, Err(TokenError::Inactive));
    clock.advance(4);
    assert_eq!(v.validate("unknown").await, Err(TokenError::Inactive));
    assert_eq!(mock.calls(), 1, "within the 5 s negative window");
    // Once the window is over the endpoint is asked again, and an answer
    // that changed is seen.
    mock.reply("unknown", Reply::Json(active(&json!({}))));
    clock.advance(1);
    assert!(v.validate("unknown").await.is_ok());
    assert_eq!(mock.calls(), 2);

    // Audience refusals are definitive too.
    mock.reply(
        "elsewhere",
        Reply::Json(active(&json!({"aud": "https://x"}))),
    );
    assert_eq!(
        v.validate("elsewhere").await,
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        v.validate("elsewhere").await,
        Err(TokenError::WrongAudience)
    );
    assert_eq!(mock.calls(), 3);

    // The window is configurable; 0 disables negative caching.
    let v = builder(addr, &clock)
        .negative_cache_ttl_secs(0)
        .build()
        .unwrap();
    assert_eq!(v.validate("gone").await, Err(TokenError::Inactive));
    assert_eq!(v.validate("gone").await, Err(TokenError::Inactive));
    assert_eq!(mock.calls(), 5);
    let v = builder(addr, &clock)
        .negative_cache_ttl_secs(30)
        .build()
        .unwrap();
    assert_eq!(v.validate("gone").await, Err(TokenError::Inactive));
    clock.advance(29);
    assert_eq!(v.validate("gone").await, Err(TokenError::Inactive));
    assert_eq!(mock.calls(), 6);
}

#[tokio::test]
async fn cache_is_bounded() {
    let (mock, addr) = start().await;
    let clock = ManualClock::new(NOW);
    let v = builder(addr, &clock).cache_capacity(3).build().unwrap();
    for i in 0..10 {
        let token = format!("token-{i}");
        mock.reply(&token, Reply::Json(active(&json!({}))));
        assert!(v.validate(&token).await.is_ok());
    }
    assert_eq!(v.cached_entries(), 3);
    let v = builder(addr, &clock).cache_capacity(0).build().unwrap();
    assert!(v.validate("token-1").await.is_ok());
    assert_eq!(v.cached_entries(), 0);
}

#[tokio::test]
async fn cache_and_debug_never_show_the_token_or_secret() {
    let (mock, addr) = start().await;
    mock.reply(TOKEN, Reply::Json(active(&json!({}))));
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    assert!(v.validate(TOKEN).await.is_ok());
    assert_eq!(v.validate("unknown").await, Err(TokenError::Inactive));
    assert_eq!(v.cached_entries(), 2);
    let text = format!("{v:?} {v:#?}");
    assert!(text.contains("cached_entries: 2"), "{text}");
    for secret in [TOKEN, "unknown", SECRET, "s3cr3t"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn concurrent_validations_of_one_token_share_one_request() {
    let (mock, addr) = start().await;
    mock.reply(
        TOKEN,
        Reply::Slow(Duration::from_millis(100), active(&json!({}))),
    );
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let v = v.clone();
            tokio::spawn(async move { v.validate(TOKEN).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(mock.calls(), 1);

    // A caller that gives up does not strand the others.
    mock.reply(
        "second",
        Reply::Slow(Duration::from_millis(100), active(&json!({}))),
    );
    let first = tokio::spawn({
        let v = v.clone();
        async move { v.validate("second").await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let waiter = tokio::spawn({
        let v = v.clone();
        async move { v.validate("second").await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    first.abort();
    assert!(waiter.await.unwrap().is_ok());
}

#[tokio::test]
async fn requests_in_flight_are_capped() {
    let (mock, addr) = start().await;
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    for token in ["one", "two", "three"] {
        mock.reply(token, Reply::Gate(Arc::clone(&gate), active(&json!({}))));
    }
    let clock = ManualClock::new(NOW);
    let v = builder(addr, &clock)
        .max_concurrent_requests(2)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let tasks: Vec<_> = ["one", "two", "three"]
        .into_iter()
        .map(|token| {
            let v = v.clone();
            tokio::spawn(async move { v.validate(token).await })
        })
        .collect();
    // Two requests reach the endpoint and wait there; the third token is
    // refused without one. Nothing else can finish while the gate is shut.
    tokio::time::timeout(Duration::from_secs(30), async {
        while mock.calls() < 2 || !tasks.iter().any(tokio::task::JoinHandle::is_finished) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("two requests in flight and one refusal");
    gate.add_permits(2);
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            refused => unavailable(refused),
        }
    }
    assert_eq!(accepted, 2);
    assert_eq!(mock.calls(), 2);
    // The refusal was not cached, and the slots are free again.
    mock.reply("three", Reply::Json(active(&json!({}))));
    for token in ["one", "two", "three"] {
        assert!(v.validate(token).await.is_ok(), "{token}");
    }
    assert_eq!(mock.calls(), 3);

    let zero = builder(addr, &clock).max_concurrent_requests(0).build();
    assert!(
        zero.unwrap_err()
            .to_string()
            .contains("max_concurrent_requests")
    );
}

/// Log lines written while a test runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn failures_are_logged_without_credentials() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (mock, addr) = start().await;
    let clock = ManualClock::new(NOW);
    mock.reply(TOKEN, Reply::Status(500));
    unavailable(validator(addr, &clock).validate(TOKEN).await);
    mock.reply(TOKEN, Reply::Raw("garbage"));
    unavailable(validator(addr, &clock).validate(TOKEN).await);
    let wrong = IntrospectionValidator::builder(format!("http://{addr}/introspect"))
        .client_credentials(CLIENT_ID, "another-s3cr3t")
        .audience(RESOURCE)
        .build()
        .unwrap();
    unavailable(wrong.validate(TOKEN).await);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("ERROR mcp_tower::token"), "{text}");
    assert!(text.contains("status 500"), "{text}");
    assert!(text.contains("client_authentication"), "{text}");
    for secret in [TOKEN, "Tok/en", SECRET, "s3cr3t", "Basic "] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

// ---------------------------------------------------------------------------
// Through the layers.

async fn handler(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let principal = request.extensions().get::<Principal>().cloned().unwrap();
    Ok(Response::new(Full::new(Bytes::from(
        principal.subject().to_owned(),
    ))))
}

async fn call<V: TokenValidator>(
    validator: V,
    authorization: Option<&str>,
) -> (StatusCode, HeaderMap, Bytes) {
    let service = ServiceBuilder::new()
        .layer(BearerLayer::new())
        .layer(ValidateTokenLayer::new(validator))
        .service_fn(handler);
    let mut request = Request::post("https://mcp.example.com/mcp");
    if let Some(value) = authorization {
        request = request.header(http::header::AUTHORIZATION, value);
    }
    let response = service
        .oneshot(request.body(Full::default()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn bearer_and_validate_token_layers_with_introspection() {
    let (mock, addr) = start().await;
    mock.reply(TOKEN, Reply::Json(active(&json!({}))));
    mock.reply("broken", Reply::Status(503));
    let clock = ManualClock::new(NOW);
    let v = validator(addr, &clock);

    let (status, _, body) = call(v.clone(), Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "alice");

    let (status, headers, body) = call(v.clone(), Some("Bearer revoked")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers[http::header::WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{challenge}"
    );
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "invalid_token");

    // The endpoint failing refuses the request (fail closed) without details.
    let (status, headers, body) = call(v.clone(), Some("Bearer broken")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let text = format!("{headers:?} {}", String::from_utf8_lossy(&body));
    assert!(!text.contains("broken") && !text.contains("503"), "{text}");

    // No token: 401 without an error code, and the endpoint is not asked.
    let before = mock.calls();
    let (status, headers, _) = call(v, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[http::header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(mock.calls(), before);
}

#[tokio::test]
async fn multi_issuer_falls_back_to_introspection_for_opaque_tokens() {
    let (mock, addr) = start().await;
    mock.reply(TOKEN, Reply::Json(active(&json!({}))));
    let clock = ManualClock::new(NOW);
    let api_keys = ApiKeyValidator::builder()
        .key("mcp_key_0123456789abcdef", ApiKeyGrant::new("svc", ["x"]))
        .build()
        .unwrap();
    let router = MultiIssuerValidator::builder()
        .issuer("https://keys.example.com", api_keys)
        .fallback(validator(addr, &clock))
        .build()
        .unwrap();
    let (status, _, body) = call(router.clone(), Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "alice");
    assert_eq!(router.validate("other").await, Err(TokenError::Inactive));
    assert_eq!(mock.calls(), 2);
}
