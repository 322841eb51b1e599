//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells
//! an MCP client which authorization servers protect this resource, and the
//! services that serve it.
//!
//! - [`ProtectedResourceMetadata`] is the document, built and validated by
//!   [`ProtectedResourceMetadataBuilder`]; it may carry `signed_metadata`
//!   (RFC 9728 §2.2), a JWT signed with a [`DpopKey`](crate::keys::DpopKey).
//! - [`ProtectedResourceMetadataService`] answers `GET`/`HEAD` at the
//!   document's well-known path (RFC 9728 §3.1) and 404 elsewhere;
//!   [`ProtectedResourceMetadataLayer`] answers that path in front of another
//!   service and passes every other request on.
//! - [`ProtectedResourceMetadata::url`] is the URL to give to
//!   [`ChallengeConfig::resource_metadata`](crate::challenge::ChallengeConfig::resource_metadata),
//!   so every 401 from the auth layers points at the document (RFC 9728 §5.1).
//!
//! The well-known route must not require a token: mount the layer (or the
//! service) outside the auth layers.
//!
//! ```
//! use mcp_tower_layers::challenge::ChallengeConfig;
//! use mcp_tower_layers::metadata::ProtectedResourceMetadata;
//!
//! let metadata = ProtectedResourceMetadata::builder("https://mcp.example.com/mcp")
//!     .authorization_server("https://auth.example.com")
//!     .scopes_supported(["tools:read", "tools:call"])
//!     .bearer_methods_supported(["header"])
//!     .build()?;
//! assert_eq!(
//!     metadata.url(),
//!     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
//! );
//! let challenges = ChallengeConfig::new().resource_metadata(metadata.url());
//! # let _ = challenges;
//! # Ok::<(), mcp_tower_layers::ConfigError>(())
//! ```

mod document;
mod service;
mod signed;

pub use document::{ProtectedResourceMetadata, ProtectedResourceMetadataBuilder};
pub use service::{
    DEFAULT_MAX_AGE, ProtectedResourceMetadataLayer, ProtectedResourceMetadataRoute,
    ProtectedResourceMetadataService,
};

/// The well-known URI suffix registered by RFC 9728 §3, as a path.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";
