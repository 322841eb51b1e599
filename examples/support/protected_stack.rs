//! The security stack of `protected_server`, shared with `benches/load.rs` so
//! that the load run measures exactly the example's stack: `BearerLayer` →
//! `DpopLayer` (unless DPoP is off) → `ValidateTokenLayer` (JWT access
//! tokens, RFC 9068) → `RequireScopesLayer` (when scopes are required), with
//! the RFC 9728 metadata route outside them.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use mcp_tower::metadata::ProtectedResourceMetadata;
use mcp_tower::prelude::*;
use mcp_tower::token::{JwksSource, JwtValidator};
use tower::util::BoxCloneService;
use tower::{ServiceBuilder, ServiceExt};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The response body every stage is boxed to.
pub(crate) type Body = UnsyncBoxBody<Bytes, BoxError>;
/// A stage of the stack, boxed so that optional stages can be left out.
pub(crate) type Protected = BoxCloneService<Request<Incoming>, Response<Body>, Infallible>;

/// `--dpop`: how DPoP is treated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum DpopSetting {
    /// Tokens must be DPoP-bound and sent with a proof.
    Required,
    /// Bearer tokens are accepted; proofs are verified when sent.
    Allowed,
    /// No DPoP layer.
    Off,
}

/// What shapes the stack (the command-line options but the listen address
/// and the JWKS source).
pub(crate) struct StackOptions {
    /// The trusted token issuer.
    pub(crate) issuer: String,
    /// This resource's identifier (RFC 8707), the tokens' audience.
    pub(crate) audience: String,
    /// How DPoP is treated.
    pub(crate) dpop: DpopSetting,
    /// Whether DPoP proofs need server nonces.
    pub(crate) nonce: bool,
    /// Scopes every token must carry.
    pub(crate) scopes: Vec<String>,
    /// The public base URL, for the URI DPoP proofs are checked against.
    pub(crate) public_url: Option<String>,
}

/// The RFC 9728 metadata of the resource.
pub(crate) fn metadata(o: &StackOptions) -> Result<ProtectedResourceMetadata, BoxError> {
    let mut metadata = ProtectedResourceMetadata::builder(o.audience.as_str())
        .authorization_server(o.issuer.as_str());
    if !o.scopes.is_empty() {
        metadata = metadata.scopes_supported(o.scopes.clone());
    }
    if o.dpop != DpopSetting::Off {
        metadata = metadata
            .dpop_signing_alg_values_supported(Algorithm::ALL)
            .dpop_bound_access_tokens_required(o.dpop == DpopSetting::Required);
    }
    Ok(metadata.build()?)
}

/// Puts the auth layers around `inner`, whose 401s point at `metadata`.
pub(crate) fn protect(
    o: &StackOptions,
    keys: JwksSource,
    metadata: &ProtectedResourceMetadata,
    inner: Protected,
) -> Result<Protected, BoxError> {
    let validator = JwtValidator::builder()
        .issuer(o.issuer.as_str())
        .audience(o.audience.as_str())
        .keys(keys)
        .build()?;
    let mut challenges = ChallengeConfig::new().resource_metadata(metadata.url());
    if o.dpop != DpopSetting::Off {
        challenges = challenges.dpop(&Algorithm::ALL);
    }
    if o.dpop == DpopSetting::Required {
        challenges = challenges.bearer(false);
    }
    // Innermost first.
    let mut service = inner;
    if !o.scopes.is_empty() {
        let scopes =
            RequireScopesLayer::all_of(o.scopes.clone()).with_challenges(challenges.clone());
        service = wrap(scopes, service);
    }
    let validate = ValidateTokenLayer::builder(validator)
        .challenges(challenges.clone())
        .build();
    service = wrap(validate, service);
    if o.dpop != DpopSetting::Off {
        let target = match &o.public_url {
            Some(url) => RequestTarget::public_base_url(url)?,
            None => RequestTarget::from_request(false),
        };
        let mode = if o.dpop == DpopSetting::Required {
            DpopMode::ResourceServer
        } else {
            DpopMode::Optional
        };
        let mut dpop = DpopLayer::builder()
            .mode(mode)
            .target(target)
            .challenges(challenges.clone());
        if o.nonce {
            dpop = dpop.nonce(Arc::new(NonceIssuer::random()?));
        }
        service = wrap(dpop.build()?, service);
    }
    Ok(wrap(BearerLayer::with_challenges(challenges), service))
}

/// Boxes a response's body.
pub(crate) fn boxed<B>(response: Response<B>) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    response.map(|body| body.map_err(Into::into).boxed_unsync())
}

/// Puts `layer` around `inner` and boxes the result.
pub(crate) fn wrap<L, B>(layer: L, inner: Protected) -> Protected
where
    L: tower::Layer<Protected>,
    L::Service: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    <L::Service as tower::Service<Request<Incoming>>>::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    stage(layer.layer(inner))
}

/// A service answering with `service`'s responses, boxed as a stage.
pub(crate) fn stage<S, B>(service: S) -> Protected
where
    S: tower::Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    ServiceBuilder::new()
        .map_response(boxed)
        .service(service)
        .boxed_clone()
}
