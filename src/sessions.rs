//! Binding MCP Streamable HTTP sessions to the authenticated caller.
//!
//! A session id alone must not be enough to use a session (MCP security
//! best practices, "Session Hijacking"): with [`session_owner`] the
//! Streamable HTTP server (`StreamableHttpService`, feature `http-server`)
//! remembers the [`Principal`] that sent
//! `initialize` and answers any request for that session from anyone else
//! as if the session did not exist (404).
//!
//! ```
//! # #[cfg(feature = "http-server")] {
//! use mcp_tower::sessions::session_owner;
//! use mcp_tower::services::transport::http::StreamableHttpConfig;
//!
//! let config = StreamableHttpConfig::builder()
//!     .session_owner(session_owner())
//!     .build()
//!     .unwrap();
//! # drop(config);
//! # }
//! ```
//!
//! The token validation layer
//! ([`ValidateTokenLayer`](mcp_tower_layers::token::ValidateTokenLayer))
//! must run before the service, as it does in every preset stack.

use mcp_tower_layers::token::Principal;
use mcp_tower_services::transport::SessionOwner;

/// Owners by [`Principal`]: the issuer and the subject it vouched for (the
/// same subject from two issuers is two owners). A request without a
/// `Principal` is owned by nobody, so it can use only sessions opened
/// without one.
pub fn session_owner() -> SessionOwner {
    SessionOwner::extension(|principal: &Principal| {
        // The issuer is a URL and cannot hold a NUL, so the pair is
        // unambiguous.
        format!(
            "{}\u{0}{}",
            principal.issuer().unwrap_or_default(),
            principal.subject()
        )
    })
}
