//! Security and resilience [`tower`](https://docs.rs/tower) layers for Model
//! Context Protocol servers and clients.
//!
//! Each concern is one layer, usable alone or stacked in any order:
//!
//! - [`dpop::DpopLayer`]: verifies DPoP proofs (RFC 9449) on a server;
//! - [`client::DpopSigningLayer`]: signs outgoing requests with DPoP proofs
//!   (for any `http` client service, and for `reqwest` with the `reqwest` feature).
//!
//! Layers hand their results on as typed request extensions (for example
//! [`dpop::VerifiedDpop`]), and every rejection comes from [`challenge`].

pub mod authorization;
#[cfg(feature = "axum")]
pub mod axum;
pub mod bearer;
pub mod challenge;
pub mod check;
pub mod client;
pub mod clock;
pub mod config;
pub mod dpop;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod jose;
pub mod keys;
pub mod metadata;
pub mod replay;
pub mod scope;
pub mod token;

pub use config::ConfigError;
