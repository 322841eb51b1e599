//! The [`TokenValidator`] trait and its errors.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::claims::AccessClaims;

/// The future of [`TokenValidator::validate`].
pub type ValidationFuture = Pin<Box<dyn Future<Output = Result<AccessClaims, TokenError>> + Send>>;

/// What [`TokenValidator::validate_eager`] returns: the answer, or the
/// future that will give it.
#[must_use]
pub enum Validation {
    /// Validated at once, without I/O.
    Ready(Result<AccessClaims, TokenError>),
    /// Validation needs I/O (a JWKS fetch, introspection).
    Pending(ValidationFuture),
}

impl Validation {
    /// As a future, whichever it is.
    pub fn into_future(self) -> ValidationFuture {
        match self {
            Validation::Ready(result) => Box::pin(std::future::ready(result)),
            Validation::Pending(future) => future,
        }
    }
}

impl std::fmt::Debug for Validation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validation::Ready(result) => f.debug_tuple("Ready").field(result).finish(),
            Validation::Pending(_) => f.write_str("Pending"),
        }
    }
}

/// Checks an access token and says what it grants.
///
/// Implementations: JWT access tokens, introspection, API keys, and a
/// multi-issuer router over them. The future is boxed because validation may
/// need I/O (JWKS, introspection) and validators are used behind `dyn`.
pub trait TokenValidator: Send + Sync + 'static {
    /// Validates `token`. The future must not borrow `self`: clone what it
    /// needs (typically an `Arc`).
    fn validate(&self, token: &str) -> ValidationFuture;

    /// Validates `token` right here when that needs no I/O, or returns the
    /// future of [`validate`](Self::validate) when it does.
    /// [`ValidateTokenLayer`](super::ValidateTokenLayer) calls this, so a
    /// validator that usually has what it needs at hand (a JWT validator with
    /// its keys cached) answers without boxing a future, and the layer then
    /// calls the inner service without boxing one either.
    ///
    /// The default returns [`Validation::Pending`] with `validate`'s future.
    /// An implementation must give the same answer as `validate`, and must
    /// not block: it may not wait for I/O.
    fn validate_eager(&self, token: &str) -> Validation {
        Validation::Pending(self.validate(token))
    }
}

impl<V: TokenValidator + ?Sized> TokenValidator for Arc<V> {
    fn validate(&self, token: &str) -> ValidationFuture {
        (**self).validate(token)
    }

    fn validate_eager(&self, token: &str) -> Validation {
        (**self).validate_eager(token)
    }
}

/// Why a token was refused. Every variant is answered with 401
/// `invalid_token` (fail closed); messages never contain the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not a well-formed token of the expected kind.
    #[error("access token is malformed: {0}")]
    Malformed(&'static str),
    /// `exp` has passed.
    #[error("access token has expired")]
    Expired,
    /// `nbf` (or `iat`) is in the future.
    #[error("access token is not valid yet")]
    NotYetValid,
    /// `aud` does not name this resource (RFC 8707; the MCP specification
    /// forbids accepting tokens meant for others).
    #[error("access token was not issued for this resource (audience mismatch)")]
    WrongAudience,
    /// `iss` is not the configured issuer.
    #[error("access token issuer is not trusted")]
    WrongIssuer,
    /// `typ` is not allowed (RFC 9068 §2.1 asks for `at+jwt`).
    #[error("access token type is not accepted: expected at+jwt")]
    WrongType,
    /// `alg` is `none`, HMAC without a configured secret, or not allowed for
    /// the key.
    #[error("access token algorithm is not allowed")]
    AlgorithmNotAllowed,
    /// No key with this `kid` (after a permitted refresh).
    #[error("access token key id is unknown")]
    UnknownKey,
    /// The signature does not verify.
    #[error("access token signature is invalid")]
    InvalidSignature,
    /// A claim is missing or has the wrong type.
    #[error("access token claim {0} is missing or invalid")]
    InvalidClaim(&'static str),
    /// Introspection says the token is not active, or the API key is unknown.
    #[error("access token is not active")]
    Inactive,
    /// No usable verification key, or the introspection endpoint failed:
    /// the request is refused rather than let through.
    #[error("access token cannot be validated now: {0}")]
    Unavailable(String),
}

impl TokenError {
    /// A short stable name for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "malformed",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::WrongAudience => "wrong_audience",
            TokenError::WrongIssuer => "wrong_issuer",
            TokenError::WrongType => "wrong_type",
            TokenError::AlgorithmNotAllowed => "alg_not_allowed",
            TokenError::UnknownKey => "unknown_kid",
            TokenError::InvalidSignature => "invalid_signature",
            TokenError::InvalidClaim(_) => "invalid_claim",
            TokenError::Inactive => "inactive",
            TokenError::Unavailable(_) => "unavailable",
        }
    }
}
