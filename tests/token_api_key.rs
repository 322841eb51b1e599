//! API keys: `ApiKeyValidator` behind `BearerLayer` + `ValidateTokenLayer`,
//! and `ApiKeyHeaderLayer` for a dedicated header, composed with scope
//! checks.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{HeaderName, WWW_AUTHENTICATE};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_tower_layers::bearer::BearerLayer;
use mcp_tower_layers::challenge::ChallengeConfig;
use mcp_tower_layers::scope::RequireScopesLayer;
use mcp_tower_layers::token::{
    AccessClaims, ApiKeyGrant, ApiKeyHeaderLayer, ApiKeyValidator, Principal, TokenError,
    TokenValidator, ValidateTokenLayer,
};
use serde_json::Value;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

const ADMIN_KEY: &str = "mcp_sk_admin_7Yq2Lw9Vb4Xn1Rt6";
const READER_KEY: &str = "mcp_sk_reader_Pz3Hk8Jd5Mf0Gs2";
const METADATA: &str = "https://mcp.example.com/.well-known/oauth-protected-resource";

fn validator() -> ApiKeyValidator {
    ApiKeyValidator::builder()
        .key(
            ADMIN_KEY,
            ApiKeyGrant::new("admin", ["tools:read", "tools:call"]),
        )
        // As an operator would configure it: the hex SHA-256 (sha256sum).
        .key_hash(
            ApiKeyValidator::hash_hex(READER_KEY),
            ApiKeyGrant {
                subject: "reader".into(),
                scopes: vec!["tools:read".into()],
            },
        )
        .build()
        .unwrap()
}

async fn handler(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let principal = request.extensions().get::<Principal>().cloned().unwrap();
    let claims = request.extensions().get::<AccessClaims>().cloned().unwrap();
    let body = serde_json::json!({"sub": principal.subject(), "scopes": claims.scopes().collect::<Vec<_>>()});
    Ok(Response::new(Full::new(Bytes::from(body.to_string()))))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

async fn send<S, B>(mut service: S, headers: &[(&str, &[u8])]) -> Reply
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>, Error = Infallible>,
    B: hyper::body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let mut request = Request::post("https://mcp.example.com/mcp");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = service
        .ready()
        .await
        .unwrap()
        .call(request.body(Full::default()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        json: serde_json::from_slice(&body).unwrap(),
    }
}

fn header_stack(
    layer: &ApiKeyHeaderLayer,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<impl hyper::body::Body<Data = Bytes, Error = impl std::fmt::Debug>>,
    Error = Infallible,
> {
    layer.layer(tower::service_fn(handler))
}

#[tokio::test]
async fn validator_finds_each_key() {
    let v = validator();
    let admin = v.validate(ADMIN_KEY).await.unwrap();
    assert_eq!(admin.subject(), Some("admin"));
    assert!(admin.scopes().eq(["tools:read", "tools:call"]));
    let reader = v.validate(READER_KEY).await.unwrap();
    assert_eq!(reader.principal().subject(), "reader");
    assert!(reader.scopes().eq(["tools:read"]));
    // One character off, a prefix, or a hash of a key is no key.
    assert_eq!(
        v.validate(&ADMIN_KEY[..ADMIN_KEY.len() - 1]).await,
        Err(TokenError::Inactive)
    );
    assert_eq!(
        v.validate(&format!("{ADMIN_KEY}x")).await,
        Err(TokenError::Inactive)
    );
    assert_eq!(
        v.validate(&ApiKeyValidator::hash_hex(READER_KEY)).await,
        Err(TokenError::Inactive)
    );
    // Raw 32-byte hashes work as well as hex.
    let raw: Vec<u8> = (0..32)
        .map(|i| {
            u8::from_str_radix(&ApiKeyValidator::hash_hex(READER_KEY)[2 * i..2 * i + 2], 16)
                .unwrap()
        })
        .collect();
    let v = ApiKeyValidator::builder()
        .key_hash(raw, ApiKeyGrant::new("raw", ["x"]))
        .build()
        .unwrap();
    assert!(v.validate(READER_KEY).await.is_ok());
    // Debug shows neither keys nor hashes.
    let text = format!("{:?}", validator());
    assert!(!text.contains(ADMIN_KEY) && !text.contains(&ApiKeyValidator::hash_hex(READER_KEY)));
}

#[tokio::test]
async fn bearer_api_keys_through_validate_token_layer() {
    let stack = ServiceBuilder::new()
        .layer(BearerLayer::new())
        .layer(ValidateTokenLayer::new(validator()))
        .layer(RequireScopesLayer::all_of(["tools:call"]))
        .service_fn(handler);
    let ok = send(
        stack.clone(),
        &[("authorization", format!("Bearer {ADMIN_KEY}").as_bytes())],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json["sub"], "admin");

    let wrong = send(
        stack.clone(),
        &[("authorization", b"Bearer mcp_sk_guess_0000000000")],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json["error"], "invalid_token");

    // The reader key lacks tools:call.
    let reader = send(
        stack,
        &[("authorization", format!("Bearer {READER_KEY}").as_bytes())],
    )
    .await;
    assert_eq!(reader.status, StatusCode::FORBIDDEN);
    assert_eq!(reader.json["error"], "insufficient_scope");
}

#[tokio::test]
async fn header_layer_accepts_a_known_key() {
    let layer = ApiKeyHeaderLayer::new(validator());
    let reply = send(header_stack(&layer), &[("x-api-key", ADMIN_KEY.as_bytes())]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["sub"], "admin");
    assert_eq!(
        reply.json["scopes"],
        serde_json::json!(["tools:read", "tools:call"])
    );
}

#[tokio::test]
async fn header_layer_refuses_unknown_keys_with_invalid_token() {
    let layer = ApiKeyHeaderLayer::new(validator())
        .with_challenges(ChallengeConfig::new().resource_metadata(METADATA));
    let reply = send(
        header_stack(&layer),
        &[("x-api-key", b"mcp_sk_guess_0000000000")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.json["error"], "invalid_token");
    let challenge = reply.headers[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.contains(METADATA), "{challenge}");
    assert!(!format!("{:?}", reply.headers).contains("guess"));
}

#[tokio::test]
async fn header_layer_asks_for_a_missing_key() {
    let layer = ApiKeyHeaderLayer::new(validator());
    // A key in Authorization is not what this layer reads.
    let reply = send(
        header_stack(&layer),
        &[("authorization", format!("Bearer {ADMIN_KEY}").as_bytes())],
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.headers[WWW_AUTHENTICATE], "Bearer");
    assert!(reply.json.get("error").is_none());
    assert!(
        reply.json["error_description"]
            .as_str()
            .unwrap()
            .contains("x-api-key")
    );
}

#[tokio::test]
async fn header_layer_refuses_duplicate_and_malformed_headers() {
    let layer = ApiKeyHeaderLayer::new(validator());
    let twice = send(
        header_stack(&layer),
        &[
            ("x-api-key", ADMIN_KEY.as_bytes()),
            ("x-api-key", READER_KEY.as_bytes()),
        ],
    )
    .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(twice.json["error"], "invalid_request");
    // Even two copies of a valid key are refused.
    let same = send(
        header_stack(&layer),
        &[
            ("x-api-key", ADMIN_KEY.as_bytes()),
            ("x-api-key", ADMIN_KEY.as_bytes()),
        ],
    )
    .await;
    assert_eq!(same.status, StatusCode::BAD_REQUEST);
    for value in [&b""[..], b"key\xff\xfe"] {
        let reply = send(header_stack(&layer), &[("x-api-key", value)]).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{value:?}");
        assert_eq!(reply.json["error"], "invalid_request");
    }
}

#[tokio::test]
async fn header_layer_reads_a_configured_header() {
    let layer = ApiKeyHeaderLayer::new(validator()).header(HeaderName::from_static("x-mcp-token"));
    let ok = send(
        header_stack(&layer),
        &[("x-mcp-token", READER_KEY.as_bytes())],
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json["sub"], "reader");
    let other = send(
        header_stack(&layer),
        &[("x-api-key", READER_KEY.as_bytes())],
    )
    .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn header_layer_composes_with_scope_checks() {
    let stack = ServiceBuilder::new()
        .layer(ApiKeyHeaderLayer::new(validator()))
        .layer(RequireScopesLayer::all_of(["tools:call"]))
        .service_fn(handler);
    let admin = send(stack.clone(), &[("x-api-key", ADMIN_KEY.as_bytes())]).await;
    assert_eq!(admin.status, StatusCode::OK);
    let reader = send(stack, &[("x-api-key", READER_KEY.as_bytes())]).await;
    assert_eq!(reader.status, StatusCode::FORBIDDEN);
    assert!(
        reader.headers[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains(r#"scope="tools:call""#)
    );
}
