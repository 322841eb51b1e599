//! Access token validation: the [`TokenValidator`] trait, the
//! [`ValidateTokenLayer`] that runs it and enforces DPoP binding, and the
//! [`AccessClaims`] / [`Principal`] extensions it inserts.

pub mod binding;
mod claims;
mod layer;
mod validator;

pub mod jwks;
pub mod jwt;

pub use binding::BindingError;
pub use claims::{AccessClaims, Principal};
pub use layer::{
    ValidateToken, ValidateTokenFuture, ValidateTokenLayer, ValidateTokenLayerBuilder,
};
pub use validator::{TokenError, TokenValidator, ValidationFuture};

pub use jwks::{JwksError, JwksSource, VerificationKey};
pub use jwt::{JwtValidator, JwtValidatorBuilder};
