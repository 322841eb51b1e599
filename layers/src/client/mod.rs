//! Client-side DPoP: sign each outgoing request with a proof, remember the
//! server nonces, and retry once when a server asks for a fresh nonce.
//!
//! [`DpopSigningLayer`] wraps any `Service<http::Request<B>>` (a hyper-util
//! client, an axum router in tests, ...) and, with the `reqwest` feature,
//! `reqwest::Client` (which is a `Service<reqwest::Request>`).
//!
//! ```
//! use std::sync::Arc;
//! use mcp_tower_layers::client::DpopSigningLayer;
//! use mcp_tower_layers::jose::Algorithm;
//! use mcp_tower_layers::keys::{MemoryKeyStore, RotationPolicy};
//!
//! let keys = MemoryKeyStore::generate(Algorithm::ES256, RotationPolicy::default()).unwrap();
//! let layer = DpopSigningLayer::new(Arc::new(keys));
//! # let _ = layer;
//! ```

mod http_service;
mod layer;
mod nonces;
mod proof;
#[cfg(feature = "reqwest")]
mod reqwest_service;
mod signing;

pub use layer::{DpopSigning, DpopSigningLayer, DpopSigningLayerBuilder};
pub use proof::{ProofRequest, sign_proof};
pub use signing::{DEFAULT_RETRY_BODY_LIMIT, SigningError, UseDpopKey};

/// A boxed error, as tower uses.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The boxed future of a signing service (it awaits the server and may send
/// the request a second time).
pub type SigningFuture<T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, SigningError>> + Send>>;
