//! An axum app composing mcp-tower layers in its own order:
//!
//! ```text
//! metadata route (RFC 9728, outside auth)
//!   └ concurrency limit (shed load before spending crypto on it)
//!       └ /health                         open
//!       └ /mcp   BearerLayer → DpopLayer (optional) → ValidateTokenLayer → RequireScopesLayer
//! ```
//!
//! `cargo run --example axum_app` prints `listening on http://HOST:PORT` and a
//! curl command with a freshly minted access token to try.

#[path = "support/issuer.rs"]
mod issuer;

use axum::routing::{get, post};
use axum::{Json, Router};
use mcp_tower::metadata::{ProtectedResourceMetadata, ProtectedResourceMetadataLayer};
use mcp_tower::prelude::*;
use mcp_tower::token::{JwksSource, JwtValidator};
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;

/// The handler sees who called, through the axum extractors.
async fn mcp(principal: Principal, proof: Option<VerifiedDpop>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "sub": principal.subject(),
        "scopes": principal.scopes().collect::<Vec<_>>(),
        // The proof's key when the proof is tied to the token (the DPoP
        // layer is optional here: a proof beside a Bearer token is not).
        "jkt": proof.filter(|p| p.token_bound).map(|p| p.jkt),
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let resource = format!("{base}/mcp");
    let issuer = issuer::DemoIssuer::new("http://127.0.0.1/demo-issuer")?;

    let metadata = ProtectedResourceMetadata::builder(resource.as_str())
        .authorization_server(issuer.issuer.as_str())
        .scopes_supported(["mcp:tools"])
        .dpop_signing_alg_values_supported(Algorithm::ALL)
        .build()?;
    // Every 401 points clients at the metadata (RFC 9728 §5.1).
    let challenges = ChallengeConfig::new()
        .resource_metadata(metadata.url())
        .dpop(&Algorithm::ALL);

    let validator = JwtValidator::builder()
        .issuer(issuer.issuer.as_str())
        .audience(resource.as_str())
        .keys(JwksSource::from_json(&issuer.jwks())?)
        .build()?;
    let auth = ServiceBuilder::new()
        .layer(BearerLayer::with_challenges(challenges.clone()))
        .layer(
            DpopLayer::builder()
                .mode(DpopMode::Optional)
                .target(RequestTarget::public_base_url(&base)?)
                .challenges(challenges.clone())
                .build()?,
        )
        .layer(
            ValidateTokenLayer::builder(validator)
                .challenges(challenges.clone())
                .build(),
        )
        .layer(RequireScopesLayer::all_of(["mcp:tools"]).with_challenges(challenges));

    let app = Router::new()
        .route("/mcp", post(mcp))
        .route_layer(auth)
        .route("/health", get(|| async { "ok" }))
        .layer(ConcurrencyLimitLayer::new(256))
        .layer(ProtectedResourceMetadataLayer::new(&metadata));

    let token = issuer.mint("alice", &resource, "mcp:tools", None)?;
    println!("listening on {base}");
    println!("try: curl -X POST -H 'authorization: Bearer {token}' {resource}");
    println!("metadata: {}", metadata.url());
    axum::serve(listener, app).await?;
    Ok(())
}
