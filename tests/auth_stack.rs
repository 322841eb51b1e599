//! The preset stacks and the auth layers composed: token extraction, DPoP
//! proof, validation with DPoP binding (RFC 9449 §6, §7), scopes, and a
//! misordered stack failing closed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower::client::{ProofRequest, sign_proof};
use mcp_tower::clock::{Clock, SystemClock};
use mcp_tower::prelude::*;
use mcp_tower::token::ValidationFuture;
use tower::{Layer, ServiceBuilder, ServiceExt};

const BASE: &str = "https://mcp.example.com";
const URL: &str = "https://mcp.example.com/mcp";

/// Tokens known in advance: a real `TokenValidator` over a fixed table.
struct TableValidator(Vec<(&'static str, serde_json::Value)>);

impl TokenValidator for TableValidator {
    fn validate(&self, token: &str) -> ValidationFuture {
        let found = self
            .0
            .iter()
            .find(|(t, _)| *t == token)
            .map(|(_, c)| c.clone());
        Box::pin(async move {
            match found {
                Some(serde_json::Value::Object(map)) => Ok(AccessClaims::from_claims(map)),
                _ => Err(TokenError::Inactive),
            }
        })
    }
}

fn validator(bound_to: &str) -> TableValidator {
    TableValidator(vec![
        (
            "plain-token",
            serde_json::json!({"sub": "alice", "scope": "tools:read"}),
        ),
        (
            "bound-token",
            serde_json::json!({"sub": "bob", "scope": "tools:read tools:call", "cnf": {"jkt": bound_to}}),
        ),
    ])
}

async fn handler(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let principal = request.extensions().get::<Principal>().cloned();
    let body = serde_json::json!({ "sub": principal.as_ref().map(Principal::subject) });
    Ok(Response::new(Full::new(Bytes::from(body.to_string()))))
}

struct Reply {
    status: StatusCode,
    challenges: Vec<String>,
    nonce: Option<String>,
    json: serde_json::Value,
}

async fn send<L>(layer: &L, request: Request<Full<Bytes>>) -> Reply
where
    L: Layer<tower::util::ServiceFn<fn(Request<Full<Bytes>>) -> HandlerFuture>>,
    L::Service:
        tower::Service<Request<Full<Bytes>>, Response = Response<StackBody>, Error = Infallible>,
{
    let handler: fn(Request<Full<Bytes>>) -> HandlerFuture = |r| Box::pin(handler(r));
    let response = layer
        .layer(tower::service_fn(handler))
        .oneshot(request)
        .await
        .unwrap();
    reply(response).await
}

type HandlerFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>,
>;
type StackBody = mcp_tower::challenge::ResponseBody<
    mcp_tower::challenge::ResponseBody<mcp_tower::challenge::ResponseBody<Full<Bytes>>>,
>;

async fn reply<B: hyper::body::Body>(response: Response<B>) -> Reply
where
    B::Error: std::fmt::Debug,
{
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        challenges: parts
            .headers
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect(),
        nonce: parts
            .headers
            .get("dpop-nonce")
            .map(|v| v.to_str().unwrap().to_owned()),
        json: serde_json::from_slice(&bytes).unwrap_or_default(),
    }
}

fn request(authorization: Option<&str>, proof: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::post(URL);
    if let Some(a) = authorization {
        builder = builder.header("authorization", a);
    }
    if let Some(p) = proof {
        builder = builder.header("dpop", p);
    }
    builder.body(Full::default()).unwrap()
}

fn proof(key: &DpopKey, token: &str, nonce: Option<&str>) -> String {
    let request = ProofRequest {
        method: "POST",
        url: URL,
        access_token: Some(token),
        nonce,
        iat: SystemClock.now_unix(),
    };
    sign_proof(key, &request).unwrap()
}

fn stack(level: SecurityLevel, key: &DpopKey) -> SecurityStack<TableValidator> {
    let mut options = ResourceOptions::new(BASE);
    options.challenges = ChallengeConfig::new()
        .resource_metadata("https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
    level.stack(validator(key.thumbprint()), &options).unwrap()
}

#[tokio::test]
async fn standard_accepts_bearer_and_challenges_with_both_schemes() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let layer = stack(SecurityLevel::Standard, &key);

    let missing = send(&layer, request(None, None)).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.challenges.len(), 2);
    assert!(
        missing.challenges[0].starts_with("Bearer resource_metadata=\"https://mcp.example.com/"),
        "{:?}",
        missing.challenges
    );
    assert!(missing.challenges[1].starts_with("DPoP resource_metadata="));
    assert!(
        !missing.challenges[0].contains("error="),
        "no error code without credentials (RFC 6750 §3.1)"
    );

    let ok = send(&layer, request(Some("Bearer plain-token"), None)).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json["sub"], "alice");

    let unknown = send(&layer, request(Some("Bearer nope"), None)).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.challenges[0].starts_with("Bearer error=\"invalid_token\""));

    let mut in_query = request(Some("Bearer plain-token"), None);
    *in_query.uri_mut() = "https://mcp.example.com/mcp?access_token=plain-token"
        .parse()
        .unwrap();
    let query = send(&layer, in_query).await;
    assert_eq!(query.status, StatusCode::BAD_REQUEST);
    assert_eq!(query.json["error"], "invalid_request");
    assert!(!query.json.to_string().contains("plain-token"));
}

#[tokio::test]
async fn bound_token_sent_as_bearer_is_a_refused_downgrade() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let layer = stack(SecurityLevel::Standard, &key);
    let downgrade = send(&layer, request(Some("Bearer bound-token"), None)).await;
    assert_eq!(downgrade.status, StatusCode::UNAUTHORIZED);
    assert!(
        downgrade.challenges[0].contains("DPoP-bound"),
        "{:?}",
        downgrade.challenges
    );

    let with_proof = send(
        &layer,
        request(
            Some("DPoP bound-token"),
            Some(&proof(&key, "bound-token", None)),
        ),
    )
    .await;
    assert_eq!(with_proof.status, StatusCode::OK);
    assert_eq!(with_proof.json["sub"], "bob");
}

#[tokio::test]
async fn proof_from_another_key_does_not_match_the_binding() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let thief = DpopKey::generate(Algorithm::ES256).unwrap();
    let layer = stack(SecurityLevel::Enhanced, &key);
    let stolen = send(
        &layer,
        request(
            Some("DPoP bound-token"),
            Some(&proof(&thief, "bound-token", None)),
        ),
    )
    .await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED);
    assert_eq!(stolen.json["error"], "invalid_token");
    assert!(
        stolen.challenges[0].contains("does not match the key"),
        "{:?}",
        stolen.challenges
    );
}

#[tokio::test]
async fn enhanced_requires_dpop_and_bound_tokens() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let layer = stack(SecurityLevel::Enhanced, &key);

    let bearer = send(&layer, request(Some("Bearer plain-token"), None)).await;
    assert_eq!(bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        bearer.challenges.len(),
        1,
        "DPoP only: {:?}",
        bearer.challenges
    );
    assert!(bearer.challenges[0].starts_with("DPoP error=\"invalid_token\""));

    let unbound = send(
        &layer,
        request(
            Some("DPoP plain-token"),
            Some(&proof(&key, "plain-token", None)),
        ),
    )
    .await;
    assert_eq!(unbound.status, StatusCode::UNAUTHORIZED);
    assert!(unbound.challenges[0].contains("not DPoP-bound"));

    let proof = proof(&key, "bound-token", None);
    let ok = send(&layer, request(Some("DPoP bound-token"), Some(&proof))).await;
    assert_eq!(ok.status, StatusCode::OK);
    let replay = send(&layer, request(Some("DPoP bound-token"), Some(&proof))).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.json["error"], "invalid_dpop_proof");
}

#[tokio::test]
async fn maximum_requires_a_nonce_and_refuses_rs256() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let layer = stack(SecurityLevel::Maximum, &key);
    let first = send(
        &layer,
        request(
            Some("DPoP bound-token"),
            Some(&proof(&key, "bound-token", None)),
        ),
    )
    .await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    assert_eq!(first.json["error"], "use_dpop_nonce");
    let nonce = first.nonce.expect("DPoP-Nonce header");
    let second = send(
        &layer,
        request(
            Some("DPoP bound-token"),
            Some(&proof(&key, "bound-token", Some(&nonce))),
        ),
    )
    .await;
    assert_eq!(second.status, StatusCode::OK);

    let rsa = DpopKey::generate(Algorithm::RS256).unwrap();
    let layer = stack(SecurityLevel::Maximum, &rsa);
    let refused = send(
        &layer,
        request(
            Some("DPoP bound-token"),
            Some(&proof(&rsa, "bound-token", Some(&nonce))),
        ),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.challenges[0].contains("not in the server's allowlist"),
        "{:?}",
        refused.challenges
    );
    assert!(refused.challenges[0].contains("algs=\"ES256 PS256\""));
}

#[tokio::test]
async fn scopes_are_checked_after_validation() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let preset = stack(SecurityLevel::Standard, &key);
    let service = ServiceBuilder::new()
        .layer(preset.bearer.clone())
        .layer(preset.dpop.clone())
        .layer(preset.validate.clone())
        .layer(RequireScopesLayer::all_of(["tools:call"]))
        .service_fn(handler);
    let response = service
        .clone()
        .oneshot(request(Some("Bearer plain-token"), None))
        .await
        .unwrap();
    let refused = reply(response).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["error"], "insufficient_scope");
    assert!(refused.challenges[0].contains("scope=\"tools:call\""));

    let proof = proof(&key, "bound-token", None);
    let response = service
        .oneshot(request(Some("DPoP bound-token"), Some(&proof)))
        .await
        .unwrap();
    assert_eq!(reply(response).await.status, StatusCode::OK);
}

#[tokio::test]
async fn validation_without_bearer_layer_fails_closed() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let service = ServiceBuilder::new()
        .layer(ValidateTokenLayer::new(Arc::new(validator(
            key.thumbprint(),
        ))))
        .service_fn(handler);
    let response = service
        .oneshot(request(Some("Bearer plain-token"), None))
        .await
        .unwrap();
    let refused = reply(response).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json["error"], "invalid_token");
}

#[tokio::test]
async fn scopes_without_validation_fail_closed() {
    let service = ServiceBuilder::new()
        .layer(BearerLayer::new())
        .layer(RequireScopesLayer::any_of(["tools:read"]))
        .service_fn(handler);
    let response = service
        .oneshot(request(Some("Bearer plain-token"), None))
        .await
        .unwrap();
    assert_eq!(reply(response).await.status, StatusCode::UNAUTHORIZED);
}

/// A proof for `token` at `URL` claiming `iat`.
fn proof_at(key: &DpopKey, token: &str, nonce: Option<&str>, iat: u64) -> String {
    let request = ProofRequest {
        method: "POST",
        url: URL,
        access_token: Some(token),
        nonce,
        iat,
    };
    sign_proof(key, &request).unwrap()
}

#[tokio::test]
async fn maximum_narrows_the_iat_window_that_enhanced_accepts() {
    // Enhanced keeps the DpopLayer default window (300 s back, 60 s ahead);
    // Maximum narrows it to 60 s back, 5 s ahead. A proof 30 s ahead or
    // 120 s old falls between the two.
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let enhanced = stack(SecurityLevel::Enhanced, &key);
    let maximum = stack(SecurityLevel::Maximum, &key);
    let nonce = send(
        &maximum,
        request(
            Some("DPoP bound-token"),
            Some(&proof(&key, "bound-token", None)),
        ),
    )
    .await
    .nonce
    .expect("DPoP-Nonce header");

    let now = SystemClock.now_unix();
    for (iat, refusal) in [
        (now + 30, "iat is in the future"),
        (now - 120, "iat is too old"),
    ] {
        let refused = send(
            &maximum,
            request(
                Some("DPoP bound-token"),
                Some(&proof_at(&key, "bound-token", Some(&nonce), iat)),
            ),
        )
        .await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "iat {iat}");
        assert_eq!(refused.json["error"], "invalid_dpop_proof");
        assert!(
            refused.challenges[0].contains(refusal),
            "{:?}",
            refused.challenges
        );

        let accepted = send(
            &enhanced,
            request(
                Some("DPoP bound-token"),
                Some(&proof_at(&key, "bound-token", None, iat)),
            ),
        )
        .await;
        assert_eq!(
            accepted.status,
            StatusCode::OK,
            "iat {iat}: {}",
            accepted.json
        );
        assert_eq!(accepted.json["sub"], "bob");
    }

    // The nonce was good: the same proof made now passes Maximum.
    let fresh = send(
        &maximum,
        request(
            Some("DPoP bound-token"),
            Some(&proof_at(&key, "bound-token", Some(&nonce), now)),
        ),
    )
    .await;
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.json);
}

/// `BearerLayer` → `DpopLayer` → `ValidateTokenLayer` with
/// `allow_unbound_dpop(allow)`, around the handler.
async fn unbound_dpop_stack(allow: bool, key: &DpopKey, request: Request<Full<Bytes>>) -> Reply {
    let dpop = DpopLayer::builder()
        .mode(DpopMode::ResourceServer)
        .target(RequestTarget::public_base_url(BASE).unwrap())
        .build()
        .unwrap();
    let validate = ValidateTokenLayer::builder(validator(key.thumbprint()))
        .allow_unbound_dpop(allow)
        .build();
    let service = ServiceBuilder::new()
        .layer(BearerLayer::new())
        .layer(dpop)
        .layer(validate)
        .service_fn(handler);
    reply(service.oneshot(request).await.unwrap()).await
}

#[tokio::test]
async fn allow_unbound_dpop_admits_an_unbound_token_with_a_valid_proof() {
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let unbound = || {
        request(
            Some("DPoP plain-token"),
            Some(&proof(&key, "plain-token", None)),
        )
    };

    let allowed = unbound_dpop_stack(true, &key, unbound()).await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.json);
    assert_eq!(allowed.json["sub"], "alice");

    let refused = unbound_dpop_stack(false, &key, unbound()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.json["error"], "invalid_token");
    assert!(
        refused.challenges[0].starts_with("Bearer error=\"invalid_token\""),
        "{:?}",
        refused.challenges
    );
    assert!(refused.challenges[0].contains("not DPoP-bound"));

    // Allowing unbound tokens does not relax the binding of bound ones.
    let thief = DpopKey::generate(Algorithm::ES256).unwrap();
    let stolen = unbound_dpop_stack(
        true,
        &key,
        request(
            Some("DPoP bound-token"),
            Some(&proof(&thief, "bound-token", None)),
        ),
    )
    .await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED);
    assert_eq!(stolen.json["error"], "invalid_token");

    // Nor does it let an unbound token through without a proof.
    let no_proof = unbound_dpop_stack(true, &key, request(Some("DPoP plain-token"), None)).await;
    assert_eq!(no_proof.status, StatusCode::UNAUTHORIZED);
}
