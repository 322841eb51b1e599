//! `DpopSigningLayer` against a real `DpopLayer` server over loopback sockets:
//! reqwest and hyper-util clients, the nonce retry, bodies that cannot be
//! retried, token-endpoint nonces and key selection.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use mcp_tower::client::{SigningError, UseDpopKey};
use mcp_tower::prelude::*;
use tokio::net::TcpListener;
use tower::{Service, ServiceBuilder, ServiceExt};

struct Server {
    url: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Echoes the verified key and the request body.
async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let jkt = request
        .extensions()
        .get::<VerifiedDpop>()
        .map(|v| v.jkt.clone());
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let json = serde_json::json!({ "jkt": jkt, "body": String::from_utf8_lossy(&body) });
    Ok(Response::new(Full::new(Bytes::from(json.to_string()))))
}

async fn start(mode: DpopMode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let layer = DpopLayer::builder()
        .mode(mode)
        .nonce(Arc::new(NonceIssuer::random().unwrap()))
        .build()
        .unwrap();
    let counter = Arc::clone(&hits);
    let service = ServiceBuilder::new()
        .map_request(move |r: Request<Incoming>| {
            counter.fetch_add(1, Ordering::SeqCst);
            r
        })
        .layer(layer)
        .service_fn(echo);
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server {
        url: format!("http://{addr}/mcp"),
        hits,
        task,
    }
}

fn keys() -> Arc<MemoryKeyStore> {
    Arc::new(MemoryKeyStore::generate(Algorithm::ES256, RotationPolicy::never()).unwrap())
}

async fn json(response: reqwest::Response) -> serde_json::Value {
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn reqwest_client_answers_the_nonce_challenge_once_then_reuses_the_nonce() {
    let server = start(DpopMode::ResourceServer).await;
    let keys = keys();
    let http = reqwest::Client::new();
    let mut client = ServiceBuilder::new()
        .layer(DpopSigningLayer::new(keys.clone()))
        .service(http.clone());
    let request = || {
        http.post(&server.url)
            .header("authorization", "DPoP opaque-token")
            .body("hello")
            .build()
            .unwrap()
    };
    let first = json(client.ready().await.unwrap().call(request()).await.unwrap()).await;
    assert_eq!(first["jkt"], keys.current().unwrap().thumbprint());
    assert_eq!(
        first["body"], "hello",
        "the body is sent again on the retry"
    );
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        2,
        "one challenge, one retry"
    );

    let second = json(client.ready().await.unwrap().call(request()).await.unwrap()).await;
    assert_eq!(second["body"], "hello");
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        3,
        "the stored nonce is reused"
    );
}

#[tokio::test]
async fn reqwest_body_over_the_limit_is_not_retried_and_says_why() {
    let server = start(DpopMode::ResourceServer).await;
    let http = reqwest::Client::new();
    let mut client = ServiceBuilder::new()
        .layer(
            DpopSigningLayer::builder(keys())
                .retry_body_limit(4)
                .build(),
        )
        .service(http.clone());
    let request = http
        .post(&server.url)
        .header("authorization", "DPoP opaque-token")
        .body("more than four bytes")
        .build()
        .unwrap();
    let error = client
        .ready()
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap_err();
    assert!(matches!(error, SigningError::NotRetried { .. }), "{error}");
    assert!(
        error.to_string().contains("retry buffer limit of 4 bytes"),
        "{error}"
    );
    // The nonce was stored: the next request goes through at once.
    let request = http
        .post(&server.url)
        .header("authorization", "DPoP opaque-token")
        .body("more than four bytes")
        .build()
        .unwrap();
    let ok = client.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn hyper_client_with_full_body_retries_and_resends_the_body() {
    let server = start(DpopMode::ResourceServer).await;
    let hyper_client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut client = ServiceBuilder::new()
        .layer(DpopSigningLayer::new(keys()))
        .service(hyper_client);
    let request = Request::post(&server.url)
        .header("authorization", "DPoP opaque-token")
        .body(Full::new(Bytes::from_static(b"payload")))
        .unwrap();
    let response = client.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["body"], "payload");
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

/// A body that arrives in chunks with no size hint, like a stream.
struct Streaming(Vec<Bytes>);

impl From<Bytes> for Streaming {
    fn from(bytes: Bytes) -> Self {
        Self(vec![bytes])
    }
}

impl hyper::body::Body for Streaming {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(if self.0.is_empty() {
            None
        } else {
            Some(Ok(Frame::data(self.0.remove(0))))
        })
    }
}

#[tokio::test]
async fn streaming_body_is_not_retried() {
    let server = start(DpopMode::ResourceServer).await;
    let hyper_client: Client<_, Streaming> = Client::builder(TokioExecutor::new()).build_http();
    let mut client = ServiceBuilder::new()
        .layer(DpopSigningLayer::new(keys()))
        .service(hyper_client);
    let request = Request::post(&server.url)
        .header("authorization", "DPoP opaque-token")
        .body(Streaming(vec![
            Bytes::from_static(b"a"),
            Bytes::from_static(b"b"),
        ]))
        .unwrap();
    let error = client
        .ready()
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("is a stream or larger"),
        "{error}"
    );
}

#[tokio::test]
async fn token_endpoint_nonce_error_is_retried() {
    let server = start(DpopMode::TokenEndpoint).await;
    let http = reqwest::Client::new();
    let mut client = ServiceBuilder::new()
        .layer(DpopSigningLayer::new(keys()))
        .service(http.clone());
    let request = http
        .post(&server.url)
        .header("authorization", "Basic Y2xpZW50OnNlY3JldA==")
        .body("grant_type=authorization_code")
        .build()
        .unwrap();
    let response = client.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn use_dpop_key_selects_a_retained_key() {
    let server = start(DpopMode::ResourceServer).await;
    let keys = Arc::new(
        MemoryKeyStore::generate(
            Algorithm::ES256,
            RotationPolicy {
                rotate_every: None,
                retain_previous: std::time::Duration::from_secs(3600),
            },
        )
        .unwrap(),
    );
    let old = keys.current().unwrap();
    let new = keys.rotate().unwrap();
    let hyper_client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut client = ServiceBuilder::new()
        .layer(DpopSigningLayer::new(keys.clone()))
        .service(hyper_client);
    for (hint, expected) in [
        (Some(old.thumbprint()), old.thumbprint()),
        (None, new.thumbprint()),
    ] {
        let mut request = Request::post(&server.url)
            .header("authorization", "DPoP opaque-token")
            .body(Full::new(Bytes::new()))
            .unwrap();
        if let Some(jkt) = hint {
            request.extensions_mut().insert(UseDpopKey(jkt.to_owned()));
        }
        let response = client.ready().await.unwrap().call(request).await.unwrap();
        let body: serde_json::Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes())
                .unwrap();
        assert_eq!(body["jkt"], expected);
    }
    let mut request = Request::post(&server.url)
        .body(Full::new(Bytes::new()))
        .unwrap();
    request
        .extensions_mut()
        .insert(UseDpopKey("unknown".into()));
    let error = client
        .ready()
        .await
        .unwrap()
        .call(request)
        .await
        .unwrap_err();
    assert!(matches!(error, SigningError::UnknownKey));
}

#[tokio::test]
async fn relative_uri_cannot_be_signed() {
    let mut client = ServiceBuilder::new()
        .layer(DpopSigningLayer::new(keys()))
        .service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        });
    let error = client
        .ready()
        .await
        .unwrap()
        .call(Request::get("/relative").body(Full::default()).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(error, SigningError::RelativeUri));
}
