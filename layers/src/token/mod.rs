//! Access token validation: the [`TokenValidator`] trait, the
//! [`ValidateTokenLayer`] that runs it and enforces DPoP binding, and the
//! [`AccessClaims`] / [`Principal`] extensions it inserts.

pub mod binding;
mod claim_set;
mod claims;
mod layer;
mod text;
mod validator;

pub mod api_key;
#[cfg(feature = "fetch")]
pub mod introspection;
pub mod jwks;
pub mod jwt;
pub mod multi_issuer;

pub use binding::BindingError;
pub use claims::{AccessClaims, Principal};
pub use layer::{
    ValidateToken, ValidateTokenFuture, ValidateTokenLayer, ValidateTokenLayerBuilder,
};
pub use validator::{TokenError, TokenValidator, Validation, ValidationFuture};

pub use api_key::{
    ApiKeyGrant, ApiKeyHeader, ApiKeyHeaderLayer, ApiKeyValidator, ApiKeyValidatorBuilder,
};
#[cfg(feature = "fetch")]
pub use introspection::{ClientAuthMethod, IntrospectionValidator, IntrospectionValidatorBuilder};
pub use jwks::{JwksError, JwksSource, VerificationKey};
pub use jwt::{JwtValidator, JwtValidatorBuilder};
pub use multi_issuer::{MultiIssuerValidator, MultiIssuerValidatorBuilder};
