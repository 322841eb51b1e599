//! The README's axum quick-start: a DPoP-protected route in an axum app.
//!
//! ```text
//! cargo run --example axum_quickstart
//! ```
//!
//! Prints `listening on http://HOST:PORT`, then serves `POST /mcp` behind
//! `DpopLayer` (every request needs `Authorization: DPoP <token>` and a proof)
//! and an unprotected `GET /health`.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use mcp_tower::prelude::*;

async fn mcp(Extension(proof): Extension<VerifiedDpop>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "jkt": proof.jkt }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;

    let dpop = DpopLayer::builder()
        .mode(DpopMode::ResourceServer)
        // Behind a proxy, name the public URL clients use: htu is checked against it.
        .target(RequestTarget::public_base_url(&format!("http://{addr}"))?)
        .nonce(Arc::new(NonceIssuer::random()?))
        .build()?;

    let app = Router::new()
        .route("/mcp", post(mcp))
        .route_layer(dpop)
        .route("/health", get(|| async { "ok" }));

    println!("listening on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
