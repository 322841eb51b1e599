//! [`DpopLayer`]: verifies the DPoP proof of each request before the inner
//! service sees it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Request, Response, StatusCode};
use http_body_util::{Either, Full};
use pin_project::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::authorization::{self, AuthorizationError, TokenScheme};
use crate::bearer::BearerToken;
use crate::challenge::{ChallengeConfig, DPOP_NONCE, ErrorCode, Rejection, ResponseBody};
use crate::clock::{self, SharedClock};
use crate::config::ConfigError;
use crate::jose::Algorithm;
use crate::replay::{Freshness, MemoryReplayCache, ReplayCache, ReplayError};

use super::error::DpopError;
use super::nonce::NonceIssuer;
use super::target::RequestTarget;
use super::verifier::{
    CheckedProof, DpopVerifier, DpopVerifierBuilder, RequestFacts, VerifiedDpop,
};

/// The `DPoP` request header.
pub static DPOP: http::HeaderName = http::HeaderName::from_static("dpop");

/// Where the layer sits, which decides what a request must carry and how
/// failures are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopMode {
    /// A protected resource: `Authorization: DPoP <token>` and a proof with a
    /// matching `ath` are required; failures are 401 with a `DPoP` challenge
    /// (RFC 9449 §7).
    #[default]
    ResourceServer,
    /// A token endpoint: a proof is required, no access token is involved;
    /// failures are 400 with a JSON error (RFC 9449 §5).
    TokenEndpoint,
    /// Every request needs a proof; an access token is optional, and when one
    /// is sent as `Authorization: DPoP <token>` the proof's `ath` must match
    /// it. Failures are 401 with a `DPoP` challenge.
    ProofRequired,
    /// Proofs are checked when present (and required for `DPoP`-scheme
    /// tokens); requests without one pass untouched.
    Optional,
}

struct Shared<R> {
    verifier: DpopVerifier,
    mode: DpopMode,
    target: RequestTarget,
    replay: R,
    challenges: ChallengeConfig,
}

/// A [`Layer`] that verifies DPoP proofs (RFC 9449) and inserts
/// [`VerifiedDpop`] into the request extensions.
///
/// ```
/// use mcp_tower_layers::dpop::{DpopLayer, DpopMode, RequestTarget};
///
/// let layer = DpopLayer::builder()
///     .mode(DpopMode::ResourceServer)
///     .target(RequestTarget::public_base_url("https://mcp.example.com").unwrap())
///     .build()
///     .unwrap();
/// let service = tower::ServiceBuilder::new().layer(layer).service_fn(|_req: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::<bytes::Bytes>::default()))
/// });
/// # drop(service);
/// ```
pub struct DpopLayer<R = MemoryReplayCache> {
    shared: Arc<Shared<R>>,
}

impl<R> Clone for DpopLayer<R> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Builder for [`DpopLayer`].
pub struct DpopLayerBuilder<R> {
    verifier: DpopVerifierBuilder,
    mode: DpopMode,
    target: Option<RequestTarget>,
    replay: Option<R>,
    make_replay: Option<fn(usize, SharedClock) -> R>,
    memory_capacity: usize,
    clock: SharedClock,
    challenges: ChallengeConfig,
}

impl DpopLayer<MemoryReplayCache> {
    /// A builder with the defaults: resource-server mode, ES256/PS256/RS256,
    /// an `iat` window of 5 minutes back and 60 s ahead, no nonces, an
    /// in-memory replay cache of one million entries, and the request URI
    /// taken from the request as `http` (set [`DpopLayerBuilder::target`]).
    pub fn builder() -> DpopLayerBuilder<MemoryReplayCache> {
        DpopLayerBuilder {
            verifier: DpopVerifier::builder(),
            mode: DpopMode::default(),
            target: None,
            replay: None,
            make_replay: Some(MemoryReplayCache::with_clock),
            memory_capacity: crate::replay::memory::DEFAULT_CAPACITY,
            clock: clock::system(),
            challenges: ChallengeConfig::new().bearer(false),
        }
    }
}

impl<R> DpopLayerBuilder<R> {
    /// Where the layer sits (default [`DpopMode::ResourceServer`]).
    #[must_use]
    pub fn mode(mut self, mode: DpopMode) -> Self {
        self.mode = mode;
        self
    }

    /// How the request URI is found for the `htu` check.
    #[must_use]
    pub fn target(mut self, target: RequestTarget) -> Self {
        self.target = Some(target);
        self
    }

    /// Accepted algorithms (default ES256, PS256, RS256).
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.verifier = self.verifier.algorithms(algorithms);
        self
    }

    /// How old and how far ahead a proof's `iat` may be, in seconds.
    #[must_use]
    pub fn iat_window(mut self, max_age_secs: u64, max_future_secs: u64) -> Self {
        self.verifier = self.verifier.iat_window(max_age_secs, max_future_secs);
        self
    }

    /// Longest accepted `jti`.
    #[must_use]
    pub fn max_jti_len(mut self, len: usize) -> Self {
        self.verifier = self.verifier.max_jti_len(len);
        self
    }

    /// Largest accepted proof in bytes.
    #[must_use]
    pub fn max_proof_bytes(mut self, bytes: usize) -> Self {
        self.verifier = self.verifier.max_proof_bytes(bytes);
        self
    }

    /// Require server nonces (RFC 9449 §9 for resource servers, §8 for
    /// authorization servers).
    #[must_use]
    pub fn nonce(mut self, issuer: Arc<NonceIssuer>) -> Self {
        self.verifier = self.verifier.nonce(issuer);
        self
    }

    /// The clock, for the verifier and the default replay cache.
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.verifier = self.verifier.clock(Arc::clone(&clock));
        self.clock = clock;
        self
    }

    /// Capacity of the default in-memory replay cache.
    #[must_use]
    pub fn memory_replay_capacity(mut self, entries: usize) -> Self {
        self.memory_capacity = entries;
        self
    }

    /// How rejections introduce the resource (`realm`, `resource_metadata`,
    /// whether `Bearer` is offered too). The `DPoP` challenge with this
    /// layer's algorithms is always added. Default: `DPoP` only.
    #[must_use]
    pub fn challenges(mut self, challenges: ChallengeConfig) -> Self {
        self.challenges = challenges;
        self
    }

    /// Use another replay cache (for example one shared by a fleet).
    pub fn replay_cache<R2: ReplayCache>(self, cache: R2) -> DpopLayerBuilder<R2> {
        DpopLayerBuilder {
            verifier: self.verifier,
            mode: self.mode,
            target: self.target,
            replay: Some(cache),
            make_replay: None,
            memory_capacity: self.memory_capacity,
            clock: self.clock,
            challenges: self.challenges,
        }
    }

    /// Validates the configuration.
    pub fn build(self) -> Result<DpopLayer<R>, ConfigError>
    where
        R: ReplayCache,
    {
        let verifier = self.verifier.build()?;
        let replay = match (self.replay, self.make_replay) {
            (Some(replay), _) => replay,
            (None, Some(make)) => {
                if self.memory_capacity == 0 {
                    return Err(ConfigError::new(
                        "replay cache capacity",
                        "must be at least 1",
                    ));
                }
                make(self.memory_capacity, self.clock)
            }
            (None, None) => return Err(ConfigError::new("replay cache", "none configured")),
        };
        let challenges = self.challenges.dpop(verifier.algorithms());
        Ok(DpopLayer {
            shared: Arc::new(Shared {
                verifier,
                mode: self.mode,
                target: self
                    .target
                    .unwrap_or_else(|| RequestTarget::from_request(false)),
                replay,
                challenges,
            }),
        })
    }
}

impl<S, R> Layer<S> for DpopLayer<R> {
    type Service = Dpop<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Dpop {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service made by [`DpopLayer`].
pub struct Dpop<S, R = MemoryReplayCache> {
    inner: S,
    shared: Arc<Shared<R>>,
}

impl<S: Clone, R> Clone for Dpop<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<R> Shared<R> {
    /// Every synchronous check. `Ok(None)`: nothing to verify (optional mode).
    fn check<B>(&self, request: &Request<B>) -> Result<Option<CheckedProof>, Rejection> {
        let presented = match self.mode {
            DpopMode::TokenEndpoint => Ok(None),
            _ => presented_token(request),
        };
        let token = match self.mode {
            DpopMode::TokenEndpoint => None,
            DpopMode::ResourceServer => match presented {
                Ok(Some((TokenScheme::Dpop, token))) => Some(token),
                Ok(Some((TokenScheme::Bearer, _)) | None)
                | Err(AuthorizationError::UnsupportedScheme) => {
                    return Err(self.missing_dpop_token(request));
                }
                Err(e) => return Err(self.invalid_request(e.to_string())),
            },
            DpopMode::ProofRequired | DpopMode::Optional => match presented {
                Ok(Some((TokenScheme::Dpop, token))) => Some(token),
                Ok(_) | Err(AuthorizationError::UnsupportedScheme) => {
                    if self.mode == DpopMode::Optional && !request.headers().contains_key(&DPOP) {
                        return Ok(None);
                    }
                    None
                }
                Err(e) => return Err(self.invalid_request(e.to_string())),
            },
        };
        let proof = single_proof(request).map_err(|e| self.reject(&e))?;
        let uri = self.target.resolve(request).map_err(|e| self.reject(&e))?;
        let facts = RequestFacts {
            method: request.method().as_str(),
            uri: &uri,
            access_token: token,
        };
        self.verifier
            .verify(proof, facts)
            .map(Some)
            .map_err(|e| self.reject(&e))
    }

    fn status(&self) -> StatusCode {
        match self.mode {
            DpopMode::TokenEndpoint => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    fn with_challenge(&self, rejection: Rejection) -> Rejection {
        if self.mode == DpopMode::TokenEndpoint {
            rejection
        } else {
            self.challenges.apply(rejection)
        }
    }

    fn missing_dpop_token<B>(&self, request: &Request<B>) -> Rejection {
        let present = request.headers().contains_key(http::header::AUTHORIZATION);
        tracing::info!(target: "mcp_tower::dpop", reason = "missing_dpop_token", authorization_present = present, "request refused");
        if present {
            // A token sent with another scheme: RFC 9449 §7.2 forbids the downgrade.
            self.with_challenge(Rejection::unauthorized(
                Some(ErrorCode::InvalidToken),
                "this resource requires a DPoP-bound access token sent as Authorization: DPoP",
            ))
        } else {
            self.with_challenge(Rejection::unauthorized(
                None,
                "a DPoP-bound access token is required",
            ))
        }
    }

    fn invalid_request(&self, description: String) -> Rejection {
        tracing::info!(target: "mcp_tower::dpop", reason = "invalid_authorization", "request refused");
        self.with_challenge(Rejection::bad_request(
            ErrorCode::InvalidRequest,
            description,
        ))
    }

    fn reject(&self, error: &DpopError) -> Rejection {
        tracing::info!(target: "mcp_tower::dpop", reason = error.reason(), "DPoP proof refused");
        if error.is_nonce_error() {
            let rejection = Rejection::new(
                self.status(),
                Some(ErrorCode::UseDpopNonce),
                error.to_string(),
            );
            let rejection = match self.fresh_nonce() {
                Some(nonce) => rejection.header(DPOP_NONCE.clone(), nonce),
                None => rejection,
            };
            return self.with_challenge(rejection);
        }
        if *error == DpopError::UnknownRequestUri {
            return Rejection::bad_request(ErrorCode::InvalidRequest, error.to_string());
        }
        self.with_challenge(Rejection::new(
            self.status(),
            Some(ErrorCode::InvalidDpopProof),
            error.to_string(),
        ))
    }

    fn replay_failure(error: &ReplayError) -> Rejection {
        tracing::error!(target: "mcp_tower::dpop", reason = "replay_cache", error = %error, "cannot check DPoP replay; refusing");
        match error {
            ReplayError::Full { retry_after_secs } => Rejection::unavailable(
                *retry_after_secs,
                "too many recent DPoP proofs; retry later",
            ),
            _ => Rejection::unavailable(1, "DPoP replay check unavailable; retry later"),
        }
    }

    fn fresh_nonce(&self) -> Option<HeaderValue> {
        let issuer = self.verifier.nonce_issuer()?;
        HeaderValue::from_str(&issuer.issue()).ok()
    }
}

/// The access token: from the [`BearerToken`] that `BearerLayer` already
/// extracted when it runs first, else from the `Authorization` header.
fn presented_token<B>(
    request: &Request<B>,
) -> Result<Option<(TokenScheme, &str)>, AuthorizationError> {
    match request.extensions().get::<BearerToken>() {
        Some(token) => Ok(Some((token.scheme(), token.secret()))),
        None => authorization::access_token(request.headers()),
    }
}

fn single_proof<B>(request: &Request<B>) -> Result<&str, DpopError> {
    let mut proofs = request.headers().get_all(&DPOP).iter();
    match (proofs.next(), proofs.next()) {
        (None, _) => Err(DpopError::MissingProof),
        (Some(_), Some(_)) => Err(DpopError::MultipleProofs),
        (Some(proof), None) => proof.to_str().map_err(|_| DpopError::HeaderNotAscii),
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Dpop<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: ReplayCache,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let span = tracing::debug_span!(target: "mcp_tower::dpop", "dpop", method = %request.method(), path = request.uri().path());
        let _entered = span.enter();
        let state = match self.shared.check(&request) {
            Err(rejection) => State::Reject {
                response: Some(rejection.into_response()),
            },
            Ok(None) => State::Inner {
                future: self.inner.call(request),
                nonce: None,
            },
            Ok(Some(checked)) => {
                let check = self
                    .shared
                    .replay
                    .check_and_insert(checked.replay_key, checked.expires_at);
                request.extensions_mut().insert(checked.verified);
                let ready_inner = self.inner.clone();
                State::Replay {
                    check,
                    pending: Some(Pending {
                        service: std::mem::replace(&mut self.inner, ready_inner),
                        request,
                        refresh_nonce: checked.refresh_nonce,
                        shared: Arc::clone(&self.shared),
                    }),
                }
            }
        };
        ResponseFuture { state }
    }
}

struct Pending<S, B, R> {
    service: S,
    request: Request<B>,
    refresh_nonce: bool,
    shared: Arc<Shared<R>>,
}

/// The future of [`Dpop`]: the replay check, then the inner service, or a
/// rejection.
#[pin_project]
pub struct ResponseFuture<S, B, R>
where
    S: Service<Request<B>>,
    R: ReplayCache,
{
    #[pin]
    state: State<S, B, R>,
}

#[pin_project(project = StateProj)]
enum State<S, B, R>
where
    S: Service<Request<B>>,
    R: ReplayCache,
{
    Replay {
        #[pin]
        check: R::Future,
        pending: Option<Pending<S, B, R>>,
    },
    Inner {
        #[pin]
        future: S::Future,
        nonce: Option<HeaderValue>,
    },
    Reject {
        response: Option<Response<Full<Bytes>>>,
    },
}

impl<S, B, R, ResBody> Future for ResponseFuture<S, B, R>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    R: ReplayCache,
{
    type Output = Result<Response<ResponseBody<ResBody>>, S::Error>;

    #[allow(clippy::expect_used)] // polling a finished future is a caller bug
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Replay { check, pending } => {
                    let freshness = ready!(check.poll(cx));
                    let Pending {
                        mut service,
                        request,
                        refresh_nonce,
                        shared,
                    } = pending
                        .take()
                        .expect("ResponseFuture polled after completion");
                    let next = match freshness {
                        Ok(Freshness::Fresh) => State::Inner {
                            future: service.call(request),
                            nonce: if refresh_nonce {
                                shared.fresh_nonce()
                            } else {
                                None
                            },
                        },
                        Ok(_) => {
                            let jkt = request
                                .extensions()
                                .get::<VerifiedDpop>()
                                .map(|v| v.jkt.as_str());
                            tracing::warn!(target: "mcp_tower::dpop", reason = "replayed", jkt, "DPoP proof replay refused");
                            State::Reject {
                                response: Some(shared.reject(&DpopError::Replayed).into_response()),
                            }
                        }
                        Err(error) => State::Reject {
                            response: Some(Shared::<R>::replay_failure(&error).into_response()),
                        },
                    };
                    state.set(next);
                }
                StateProj::Inner { future, nonce } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(nonce) = nonce.take() {
                        response.headers_mut().insert(DPOP_NONCE.clone(), nonce);
                    }
                    return Poll::Ready(Ok(response.map(Either::Left)));
                }
                StateProj::Reject { response } => {
                    let response = response
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(response.map(Either::Right)));
                }
            }
        }
    }
}

impl<R> fmt::Debug for DpopLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopLayer")
            .field("mode", &self.shared.mode)
            .field("verifier", &self.shared.verifier)
            .field("target", &self.shared.target)
            .finish_non_exhaustive()
    }
}

impl<S: fmt::Debug, R> fmt::Debug for Dpop<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<R> fmt::Debug for DpopLayerBuilder<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopLayerBuilder")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}
