//! [`SessionOwner`]: binds each Streamable HTTP session to whoever opened it,
//! so that a session id alone is not enough to use a session.
//!
//! The MCP specification's security best practices ("Session Hijacking")
//! say servers must not use sessions for authentication and should bind
//! session ids to user-specific information. The authentication layers in
//! front of the Streamable HTTP server (`http::StreamableHttpService`,
//! feature `http-server`) know the user; this module is how the service
//! asks them: a function of the request's parts (usually of an extension
//! those layers inserted) that names the owner. The session remembers the owner of its `initialize`
//! request; a later request for it whose owner differs (another user, or
//! none) is answered 404 "Session not found", exactly as for an unknown
//! session, so that ids cannot be probed.

use std::fmt;
use std::sync::Arc;

use http::request::Parts;

type OwnerFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

/// Names the owner of a request, for binding sessions to their owners (see
/// the [module docs](self) and
/// `StreamableHttpConfigBuilder::session_owner`).
///
/// ```
/// # #[cfg(feature = "http-server")] {
/// use mcp_tower_services::transport::SessionOwner;
/// use mcp_tower_services::transport::http::StreamableHttpConfig;
///
/// /// What an authentication layer put in the request's extensions.
/// #[derive(Clone)]
/// struct User(String);
///
/// let config = StreamableHttpConfig::builder()
///     .session_owner(SessionOwner::extension(|user: &User| user.0.clone()))
///     .build()
///     .unwrap();
/// # drop(config);
/// # }
/// ```
#[derive(Clone)]
pub struct SessionOwner(Arc<OwnerFn>);

impl SessionOwner {
    /// The owner is whatever `owner` says of the request; `None` is "nobody"
    /// (an unauthenticated request), which only matches a session opened by
    /// nobody.
    pub fn new(owner: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(owner))
    }

    /// The owner is `key` of the request's `T` extension; a request without
    /// one is owned by nobody.
    pub fn extension<T: Send + Sync + 'static>(
        key: impl Fn(&T) -> String + Send + Sync + 'static,
    ) -> Self {
        Self::new(move |parts| parts.extensions.get::<T>().map(&key))
    }

    /// The owner of the request with these parts.
    pub(crate) fn of(&self, parts: &Parts) -> Option<String> {
        (self.0)(parts)
    }
}

impl fmt::Debug for SessionOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionOwner(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone)]
    struct User(&'static str);

    #[test]
    fn reads_the_extension() {
        let owner = SessionOwner::extension(|user: &User| user.0.to_owned());
        let (mut parts, ()) = http::Request::new(()).into_parts();
        assert_eq!(owner.of(&parts), None);
        parts.extensions.insert(User("alice"));
        assert_eq!(owner.of(&parts).as_deref(), Some("alice"));
        assert_eq!(format!("{owner:?}"), "SessionOwner(..)");
    }
}
