//! # mcp-tower
//!
//! Production security for Model Context Protocol servers and clients, as
//! composable [`tower`](https://docs.rs/tower) layers: add them one
//! `.layer(...)` at a time, in the order you choose.
//!
//! This crate re-exports the layers of [`mcp_tower_layers`] and offers a
//! [`prelude`]. What works today:
//!
//! - [`dpop::DpopLayer`]: server-side DPoP proof verification (RFC 9449 §4.3),
//!   replay detection, server nonces;
//! - [`client::DpopSigningLayer`]: client-side DPoP signing for any
//!   `http` client service and (feature `reqwest`) for `reqwest::Client`.
//!
//! ```
//! use mcp_tower::prelude::*;
//!
//! let dpop = DpopLayer::builder()
//!     .target(RequestTarget::public_base_url("https://mcp.example.com").unwrap())
//!     .build()
//!     .unwrap();
//! # let _ = dpop;
//! ```

pub mod presets;
pub mod sessions;

pub use mcp_tower_layers as layers;
#[cfg(feature = "fetch")]
pub use mcp_tower_layers::fetch;
pub use mcp_tower_layers::{
    ConfigError, authorization, bearer, challenge, client, clock, dpop, jose, keys, metadata,
    replay, scope, token,
};
pub use mcp_tower_services as services;

/// The types most programs need, in one import.
pub mod prelude {
    pub use crate::presets::{ResourceOptions, SecurityLevel, SecurityStack};
    pub use mcp_tower_layers::bearer::{BearerLayer, BearerToken};
    pub use mcp_tower_layers::challenge::ChallengeConfig;
    pub use mcp_tower_layers::client::{DpopSigningLayer, SigningError, UseDpopKey};
    pub use mcp_tower_layers::dpop::{
        DpopError, DpopLayer, DpopMode, NonceIssuer, RequestTarget, VerifiedDpop,
    };
    pub use mcp_tower_layers::jose::Algorithm;
    pub use mcp_tower_layers::keys::{DpopKey, KeyStore, MemoryKeyStore, RotationPolicy};
    pub use mcp_tower_layers::replay::{MemoryReplayCache, ReplayCache};
    pub use mcp_tower_layers::scope::RequireScopesLayer;
    pub use mcp_tower_layers::token::{
        AccessClaims, Principal, TokenError, TokenValidator, ValidateTokenLayer,
    };
}
