//! The axum extractors (feature `axum`): values the layers set reach
//! handlers; a route outside the layers fails closed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use mcp_tower::prelude::*;
use mcp_tower::token::ApiKeyValidator;
use tower::{ServiceBuilder, ServiceExt};

async fn whoami(
    principal: Principal,
    claims: AccessClaims,
    token: BearerToken,
    proof: Option<VerifiedDpop>,
) -> String {
    format!(
        "{} {} {:?} {}",
        principal.subject(),
        claims.scopes().collect::<Vec<_>>().join(","),
        token.scheme(),
        proof.is_some()
    )
}

fn app() -> Router {
    let keys = ApiKeyValidator::builder()
        .key(
            "mcp_sk_test_0123456789abcdef",
            mcp_tower::token::ApiKeyGrant::new("svc", ["tools"]),
        )
        .build()
        .unwrap();
    Router::new()
        .route("/me", get(whoami))
        .route_layer(
            ServiceBuilder::new()
                .layer(BearerLayer::new())
                .layer(ValidateTokenLayer::new(keys)),
        )
        .route("/unprotected-me", get(whoami))
}

async fn get_text(app: Router, path: &str, auth: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(a) = auth {
        request = request.header("authorization", a);
    }
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn handlers_receive_what_the_layers_established() {
    let (status, body) = get_text(app(), "/me", Some("Bearer mcp_sk_test_0123456789abcdef")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "svc tools Bearer false");
}

#[tokio::test]
async fn layers_reject_before_the_handler() {
    let (status, _) = get_text(app(), "/me", Some("Bearer wrong-key-0123456789")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_route_outside_the_layers_fails_closed() {
    let (status, body) = get_text(
        app(),
        "/unprotected-me",
        Some("Bearer mcp_sk_test_0123456789abcdef"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("invalid_token"));
}
