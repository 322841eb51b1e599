//! The axum extractors (feature `axum`): values the layers set reach
//! handlers; a route outside the layers fails closed, with a challenge.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use mcp_tower::client::{ProofRequest, sign_proof};
use mcp_tower::clock::{Clock, SystemClock};
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
    let request = Request::get("/unprotected-me")
        .header("authorization", "Bearer mcp_sk_test_0123456789abcdef")
        .body(Body::empty())
        .unwrap();
    let (status, challenges, body) = send(app(), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // RFC 9110 §15.5.2: a 401 carries a challenge; nothing authenticated the
    // request, so no error code (RFC 6750 §3.1).
    assert_eq!(challenges, ["Bearer"]);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(json.get("error").is_none(), "{json}");
    assert_eq!(
        json["error_description"],
        "the request was not authenticated"
    );
    assert!(!body.contains("mcp_sk_test"), "the key is never echoed");
}

const BASE: &str = "https://mcp.example.com";

async fn thumbprint(proof: VerifiedDpop) -> String {
    format!("{} {} {}", proof.jkt, proof.htm, proof.htu)
}

/// `/proof` behind a `DpopLayer` that verifies proofs when sent (optional
/// mode), and `/no-layer` behind nothing; both handlers require a proof.
fn dpop_app() -> Router {
    let dpop = DpopLayer::builder()
        .mode(DpopMode::Optional)
        .target(RequestTarget::public_base_url(BASE).unwrap())
        .build()
        .unwrap();
    Router::new()
        .route("/proof", get(thumbprint))
        .route_layer(dpop)
        .route("/no-layer", get(thumbprint))
}

fn signed_get(key: &DpopKey, path: &str) -> Request<Body> {
    let url = format!("{BASE}{path}");
    let proof = sign_proof(
        key,
        &ProofRequest {
            method: "GET",
            url: &url,
            access_token: None,
            nonce: None,
            iat: SystemClock.now_unix(),
        },
    )
    .unwrap();
    Request::get(path)
        .header("dpop", proof)
        .body(Body::empty())
        .unwrap()
}

async fn send(app: Router, request: Request<Body>) -> (StatusCode, Vec<String>, String) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let challenges = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        challenges,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn verified_dpop_reaches_the_handler() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let (status, _, body) = send(dpop_app(), signed_get(&key, "/proof")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        format!("{} GET https://mcp.example.com/proof", key.thumbprint())
    );
}

#[tokio::test]
async fn a_missing_verified_dpop_fails_closed_with_a_challenge() {
    // The layer ran but had no proof to verify (optional mode lets the
    // request through): the handler's extractor refuses.
    let request = Request::get("/proof").body(Body::empty()).unwrap();
    let (status, challenges, body) = send(dpop_app(), request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(challenges, ["Bearer"]);

    // A route not behind the layer: even a valid proof is never verified,
    // so nothing reaches the handler.
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let (status, challenges, body) = send(dpop_app(), signed_get(&key, "/no-layer")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(challenges, ["Bearer"]);
    assert!(!body.contains(key.thumbprint()), "{body}");
}
