//! axum extractors for what the layers establish: [`Principal`],
//! [`AccessClaims`], [`VerifiedDpop`] and [`BearerToken`].
//!
//! ```ignore
//! async fn handler(principal: Principal, proof: Option<VerifiedDpop>) -> String { .. }
//! ```
//!
//! Extracting a value the layers did not set means the route is not behind
//! them: the extractor refuses with 401 (fail closed) and logs an error
//! naming the layer that should have run. The 401 carries a plain `Bearer`
//! challenge, without an error code: nothing authenticated the request, as
//! when credentials are missing (RFC 9110 §15.5.2, RFC 6750 §3.1). Use
//! `Option<T>` where the value is legitimately optional.

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::Response;
use http::request::Parts;

use crate::bearer::BearerToken;
use crate::challenge::{Challenge, Rejection, Scheme};
use crate::dpop::VerifiedDpop;
use crate::token::{AccessClaims, Principal};

fn missing(what: &'static str, layer: &'static str) -> Response {
    tracing::error!(target: "mcp_tower::axum", what, layer, "extractor found no value: the route is not behind the layer that sets it; refusing");
    // RFC 9110 §15.5.2: a 401 must carry a challenge. No layer authenticated
    // the request, so, as for missing credentials, no error code (RFC 6750
    // §3.1).
    Rejection::unauthorized(None, "the request was not authenticated")
        .challenge(Challenge::new(Scheme::Bearer))
        .into_response()
        .map(Body::new)
}

macro_rules! extension_extractor {
    ($type:ty, $layer:literal) => {
        impl<S: Send + Sync> FromRequestParts<S> for $type {
            type Rejection = Response;

            async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
                parts
                    .extensions
                    .get::<$type>()
                    .cloned()
                    .ok_or_else(|| missing(stringify!($type), $layer))
            }
        }

        impl<S: Send + Sync> OptionalFromRequestParts<S> for $type {
            type Rejection = std::convert::Infallible;

            async fn from_request_parts(
                parts: &mut Parts,
                _state: &S,
            ) -> Result<Option<Self>, Self::Rejection> {
                Ok(parts.extensions.get::<$type>().cloned())
            }
        }
    };
}

extension_extractor!(Principal, "ValidateTokenLayer");
extension_extractor!(AccessClaims, "ValidateTokenLayer");
extension_extractor!(VerifiedDpop, "DpopLayer");
extension_extractor!(BearerToken, "BearerLayer");
