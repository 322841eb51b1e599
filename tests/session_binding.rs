//! Streamable HTTP sessions bound to the authenticated caller
//! (`mcp_tower::sessions::session_owner`): `BearerLayer` → `ValidateTokenLayer`
//! (API keys for two users) → `StreamableHttpService` with session owners.
//! A session opened by one user is unknown (404) to the other, for POST,
//! GET and DELETE alike, and stays usable by its owner.
#![cfg(feature = "http-server")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower::bearer::BearerLayer;
use mcp_tower::services::server::McpServer;
use mcp_tower::services::transport::http::{
    MCP_SESSION_ID, StreamableHttpConfig, StreamableHttpService,
};
use mcp_tower::sessions::session_owner;
use mcp_tower::token::{ApiKeyGrant, ApiKeyValidator, ValidateTokenLayer};
use tower::{Service, ServiceBuilder, ServiceExt};

const ALICE: &str = "mcp_sk_alice_Q2w8Lr5Tz1Vn7Kp4";
const BOB: &str = "mcp_sk_bob_Hd6Mf3Js9Wx0Cb2Ye";

/// The body our layers answer with.
type Body = mcp_tower::challenge::ResponseBody<
    mcp_tower::challenge::ResponseBody<mcp_tower::services::transport::http::McpBody>,
>;

trait Stack:
    Service<Request<Full<Bytes>>, Response = http::Response<Body>, Error = Infallible> + Send
{
}

impl<S> Stack for S where
    S: Service<Request<Full<Bytes>>, Response = http::Response<Body>, Error = Infallible> + Send
{
}

fn stack(bound: bool) -> impl Stack {
    let validator = ApiKeyValidator::builder()
        .key(ALICE, ApiKeyGrant::new("alice", ["mcp"]))
        .key(BOB, ApiKeyGrant::new("bob", ["mcp"]))
        .build()
        .unwrap();
    let mut config = StreamableHttpConfig::builder();
    if bound {
        config = config.session_owner(session_owner());
    }
    let server = McpServer::builder().name("bound").build().unwrap();
    let mcp = StreamableHttpService::new(server, config.build().unwrap());
    ServiceBuilder::new()
        .layer(BearerLayer::new())
        .layer(ValidateTokenLayer::new(validator))
        .service(mcp)
}

fn request(method: Method, key: &str, session: Option<&str>, body: &str) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri("http://127.0.0.1/mcp")
        .header("authorization", format!("Bearer {key}"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(session) = session {
        builder = builder.header(MCP_SESSION_ID, session);
    }
    builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

async fn send(service: &mut impl Stack, request: Request<Full<Bytes>>) -> (StatusCode, String) {
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Alice opens a session: its id.
async fn open_session(service: &mut impl Stack) -> String {
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let response = service
        .ready()
        .await
        .unwrap()
        .call(request(Method::POST, ALICE, None, init))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()[MCP_SESSION_ID]
        .to_str()
        .unwrap()
        .to_owned();
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let (status, _) = send(
        service,
        request(Method::POST, ALICE, Some(&id), initialized),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    id
}

const PING: &str = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;

#[tokio::test]
async fn another_user_cannot_use_or_end_a_session() {
    let mut service = stack(true);
    let id = open_session(&mut service).await;

    // Bob holds Alice's session id: every method answers as for an
    // unknown session.
    let (status, body) = send(&mut service, request(Method::POST, BOB, Some(&id), PING)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("-32001"), "{body}");
    let (status, _) = send(&mut service, request(Method::GET, BOB, Some(&id), "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&mut service, request(Method::DELETE, BOB, Some(&id), "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The session is Alice's still.
    let (status, body) = send(&mut service, request(Method::POST, ALICE, Some(&id), PING)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(r#""result":{}"#), "{body}");
    let (status, _) = send(&mut service, request(Method::DELETE, ALICE, Some(&id), "")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&mut service, request(Method::POST, ALICE, Some(&id), PING)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn without_binding_a_session_id_is_enough() {
    // What the binding prevents: the service alone cannot tell users apart.
    let mut service = stack(false);
    let id = open_session(&mut service).await;
    let (status, body) = send(&mut service, request(Method::POST, BOB, Some(&id), PING)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
