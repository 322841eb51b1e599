//! [`DpopSigningLayer`] and its service.

use std::sync::Arc;

use tower_layer::Layer;

use crate::clock::SharedClock;
use crate::keys::KeyStore;

use super::signing::{DEFAULT_RETRY_BODY_LIMIT, Signer};

/// A [`Layer`] that adds a DPoP proof to every request, tracks server nonces
/// per origin and retries once on a nonce challenge.
#[derive(Clone, Debug)]
pub struct DpopSigningLayer {
    signer: Arc<Signer>,
}

/// Builder for [`DpopSigningLayer`].
pub struct DpopSigningLayerBuilder {
    keys: Arc<dyn KeyStore>,
    clock: Option<SharedClock>,
    retry_body_limit: usize,
}

impl DpopSigningLayer {
    /// Signs with the current key of `keys`, the system clock, and buffers
    /// request bodies up to 1 MiB for the nonce retry.
    pub fn new(keys: Arc<dyn KeyStore>) -> Self {
        Self {
            signer: Arc::new(Signer::with_defaults(keys)),
        }
    }

    /// A builder, to set the clock or the retry buffer limit.
    pub fn builder(keys: Arc<dyn KeyStore>) -> DpopSigningLayerBuilder {
        DpopSigningLayerBuilder {
            keys,
            clock: None,
            retry_body_limit: DEFAULT_RETRY_BODY_LIMIT,
        }
    }
}

impl DpopSigningLayerBuilder {
    /// The clock for `iat` (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Largest request body buffered so the request can be sent again after
    /// a nonce challenge. Bodies of unknown size are never buffered.
    #[must_use]
    pub fn retry_body_limit(mut self, bytes: usize) -> Self {
        self.retry_body_limit = bytes;
        self
    }

    /// Builds the layer.
    pub fn build(self) -> DpopSigningLayer {
        DpopSigningLayer {
            signer: Arc::new(Signer::new(
                self.keys,
                self.clock.unwrap_or_else(crate::clock::system),
                self.retry_body_limit,
            )),
        }
    }
}

impl std::fmt::Debug for DpopSigningLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopSigningLayerBuilder")
            .field("retry_body_limit", &self.retry_body_limit)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for DpopSigningLayer {
    type Service = DpopSigning<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DpopSigning {
            inner,
            signer: Arc::clone(&self.signer),
        }
    }
}

/// The service made by [`DpopSigningLayer`]: a `Service<http::Request<B>>`,
/// and with the `reqwest` feature a `Service<reqwest::Request>`.
#[derive(Clone, Debug)]
pub struct DpopSigning<S> {
    pub(crate) inner: S,
    pub(crate) signer: Arc<Signer>,
}

impl<S> DpopSigning<S> {
    /// Takes the ready inner service for a future, leaving a clone in place
    /// (tower's clone-and-swap).
    pub(crate) fn take_ready(&mut self) -> S
    where
        S: Clone,
    {
        let clone = self.inner.clone();
        std::mem::replace(&mut self.inner, clone)
    }
}
