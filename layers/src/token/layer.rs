//! [`ValidateTokenLayer`]: validates the [`BearerToken`] with a
//! [`TokenValidator`], enforces DPoP binding, and inserts [`AccessClaims`]
//! and [`Principal`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body_util::Either;
use tower_layer::Layer;
use tower_service::Service;

use pin_project::pin_project;

use crate::bearer::{BearerToken, TokenScheme};
use crate::challenge::{ChallengeConfig, ErrorCode, Rejection, ResponseBody, ResponseFuture};
use crate::dpop::VerifiedDpop;

use super::binding::{self, BindingError};
use super::claims::{AccessClaims, Principal};
use super::validator::{TokenError, TokenValidator, Validation};

struct Shared<V> {
    validator: V,
    challenges: ChallengeConfig,
    allow_unbound_dpop: bool,
}

/// A [`Layer`] that validates access tokens.
///
/// Needs [`BearerLayer`](crate::bearer::BearerLayer) before it, and for
/// `DPoP`-scheme tokens [`DpopLayer`](crate::dpop::DpopLayer) too; when their
/// extensions are missing it refuses the request (401) and logs an error
/// naming the misordered stack.
pub struct ValidateTokenLayer<V> {
    shared: Arc<Shared<V>>,
}

impl<V> Clone for ValidateTokenLayer<V> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Builder for [`ValidateTokenLayer`].
pub struct ValidateTokenLayerBuilder<V> {
    validator: V,
    challenges: ChallengeConfig,
    allow_unbound_dpop: bool,
}

impl<V: TokenValidator> ValidateTokenLayer<V> {
    /// Validates with `validator`, answering with a plain `Bearer` challenge
    /// and refusing unbound tokens sent with the `DPoP` scheme.
    pub fn new(validator: V) -> Self {
        Self::builder(validator).build()
    }

    /// A builder.
    pub fn builder(validator: V) -> ValidateTokenLayerBuilder<V> {
        ValidateTokenLayerBuilder {
            validator,
            challenges: ChallengeConfig::new(),
            allow_unbound_dpop: false,
        }
    }
}

impl<V: TokenValidator> ValidateTokenLayerBuilder<V> {
    /// How rejections introduce the resource.
    #[must_use]
    pub fn challenges(mut self, challenges: ChallengeConfig) -> Self {
        self.challenges = challenges;
        self
    }

    /// Accept tokens without `cnf.jkt` under the `DPoP` scheme (RFC 9449 §7.1
    /// lets a resource server do so). Default: refused.
    #[must_use]
    pub fn allow_unbound_dpop(mut self, allow: bool) -> Self {
        self.allow_unbound_dpop = allow;
        self
    }

    /// Builds the layer.
    pub fn build(self) -> ValidateTokenLayer<V> {
        ValidateTokenLayer {
            shared: Arc::new(Shared {
                validator: self.validator,
                challenges: self.challenges,
                allow_unbound_dpop: self.allow_unbound_dpop,
            }),
        }
    }
}

impl<S, V> Layer<S> for ValidateTokenLayer<V> {
    type Service = ValidateToken<S, V>;

    fn layer(&self, inner: S) -> Self::Service {
        ValidateToken {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service made by [`ValidateTokenLayer`].
pub struct ValidateToken<S, V> {
    inner: S,
    shared: Arc<Shared<V>>,
}

impl<S: Clone, V> Clone for ValidateToken<S, V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<V> Shared<V> {
    fn invalid_token(&self, description: String) -> Rejection {
        self.challenges.apply(Rejection::unauthorized(
            Some(ErrorCode::InvalidToken),
            description,
        ))
    }

    /// After validation: the DPoP binding (RFC 9449 §6, §7), then the
    /// extensions for the layers and handlers after this one.
    fn admit<B>(
        &self,
        scheme: TokenScheme,
        validated: Result<AccessClaims, TokenError>,
        request: &mut Request<B>,
    ) -> Result<(), Rejection> {
        let claims = validated.map_err(|error| {
            tracing::info!(target: "mcp_tower::token", reason = error.reason(), "access token refused");
            self.invalid_token(error.to_string())
        })?;
        let proof = request.extensions().get::<VerifiedDpop>();
        if let Err(error) = binding::check(scheme, claims.cnf_jkt(), proof, self.allow_unbound_dpop)
        {
            if error == BindingError::MissingProof {
                tracing::error!(target: "mcp_tower::token", "DPoP-scheme token without a VerifiedDpop extension: put DpopLayer before ValidateTokenLayer; refusing the request");
            } else {
                tracing::info!(target: "mcp_tower::token", reason = ?error, subject = claims.subject(), "DPoP binding refused");
            }
            return Err(self.invalid_token(error.to_string()));
        }
        tracing::debug!(target: "mcp_tower::token", subject = claims.subject(), "access token accepted");
        let principal: Principal = claims.principal();
        request.extensions_mut().insert(principal);
        request.extensions_mut().insert(claims);
        Ok(())
    }
}

/// The boxed future of [`ValidateToken`] while validation waits for I/O.
type Waiting<B, E> = Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

/// The future of [`ValidateToken`]: when the validator answered at once (see
/// [`TokenValidator::validate_eager`]), the inner service's future or the
/// rejection, unboxed; when validation needs I/O (a JWKS fetch,
/// introspection), a boxed future that validates, then calls the inner
/// service.
#[pin_project]
pub struct ValidateTokenFuture<F, B, E> {
    #[pin]
    state: State<F, B, E>,
}

#[pin_project(project = StateProj)]
enum State<F, B, E> {
    Now {
        #[pin]
        future: ResponseFuture<F>,
    },
    Waiting {
        future: Waiting<B, E>,
    },
}

impl<F, B, E> ValidateTokenFuture<F, B, E> {
    fn now(future: ResponseFuture<F>) -> Self {
        Self {
            state: State::Now { future },
        }
    }
}

impl<F, B, E> Future for ValidateTokenFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Now { future } => future.poll(cx),
            StateProj::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B, E> std::fmt::Debug for ValidateTokenFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.state {
            State::Now { .. } => "ValidateTokenFuture::Now",
            State::Waiting { .. } => "ValidateTokenFuture::Waiting",
        })
    }
}

impl<S, V, ReqBody, ResBody> Service<Request<ReqBody>> for ValidateToken<S, V>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    V: TokenValidator,
    ReqBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ValidateTokenFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let shared = &self.shared;
        let Some(token) = request.extensions().get::<BearerToken>() else {
            tracing::error!(target: "mcp_tower::token", "no BearerToken extension: put BearerLayer before ValidateTokenLayer; refusing the request");
            let rejection = shared.invalid_token("the access token could not be read".into());
            return ValidateTokenFuture::now(ResponseFuture::reject(rejection));
        };
        let scheme = token.scheme();
        let span =
            tracing::debug_span!(target: "mcp_tower::token", "validate_token", scheme = ?scheme);
        let entered = span.enter();
        match shared.validator.validate_eager(token.secret()) {
            Validation::Ready(validated) => {
                let admitted = shared.admit(scheme, validated, &mut request);
                drop(entered);
                // The inner service is ready (`poll_ready`) and is called
                // here, as a synchronous check layer would.
                ValidateTokenFuture::now(match admitted {
                    Ok(()) => ResponseFuture::inner(self.inner.call(request)),
                    Err(rejection) => ResponseFuture::reject(rejection),
                })
            }
            Validation::Pending(validation) => {
                drop(entered);
                let shared = Arc::clone(shared);
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let future = async move {
                    let validated = validation.await;
                    match shared.admit(scheme, validated, &mut request) {
                        Ok(()) => inner
                            .call(request)
                            .await
                            .map(|response| response.map(Either::Left)),
                        Err(rejection) => Ok(rejection.into_response().map(Either::Right)),
                    }
                };
                ValidateTokenFuture {
                    state: State::Waiting {
                        future: Box::pin(tracing::Instrument::instrument(future, span)),
                    },
                }
            }
        }
    }
}

impl<V> std::fmt::Debug for ValidateTokenLayer<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidateTokenLayer")
            .field("allow_unbound_dpop", &self.shared.allow_unbound_dpop)
            .finish_non_exhaustive()
    }
}

impl<V> std::fmt::Debug for ValidateTokenLayerBuilder<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidateTokenLayerBuilder")
            .finish_non_exhaustive()
    }
}

impl<S: std::fmt::Debug, V> std::fmt::Debug for ValidateToken<S, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidateToken")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}
