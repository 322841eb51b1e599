//! Preset stacks: the recommended order of our layers for three levels of
//! protection. Each preset is a plain [`SecurityStack`] whose fields are the
//! layers themselves, so you can take it apart and compose them your way.
//!
//! | level | what a request needs |
//! | --- | --- |
//! | [`SecurityLevel::Standard`] | a valid access token (`Bearer`; a `DPoP`-bound token must come with its proof) |
//! | [`SecurityLevel::Enhanced`] | a DPoP-bound token sent with `DPoP` and a fresh proof; replay cache |
//! | [`SecurityLevel::Maximum`] | as Enhanced, plus server nonces and the narrowest `iat` window, ES256/PS256 only |

use std::sync::Arc;

use mcp_tower_layers::ConfigError;
use mcp_tower_layers::bearer::{Bearer, BearerLayer};
use mcp_tower_layers::challenge::ChallengeConfig;
use mcp_tower_layers::dpop::{Dpop, DpopLayer, DpopMode, NonceIssuer, RequestTarget};
use mcp_tower_layers::jose::Algorithm;
use mcp_tower_layers::token::{TokenValidator, ValidateToken, ValidateTokenLayer};
use tower_layer::Layer;

/// How strict the preset stack is. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityLevel {
    /// Bearer tokens; DPoP verified when a client uses it.
    Standard,
    /// DPoP required, with replay detection.
    Enhanced,
    /// DPoP required, server nonces, strictest windows.
    Maximum,
}

/// What every preset needs to know about the resource.
#[derive(Debug, Clone)]
pub struct ResourceOptions {
    /// The public base URL clients use (for the DPoP `htu` check), such as
    /// `https://mcp.example.com`.
    pub public_base_url: String,
    /// How rejections introduce the resource (realm, `resource_metadata`).
    pub challenges: ChallengeConfig,
    /// Shared nonce secret for [`SecurityLevel::Maximum`] (at least 32
    /// bytes; share it across instances). `None`: a random one per process.
    pub nonce_secret: Option<Vec<u8>>,
}

impl ResourceOptions {
    /// Options for a resource reached at `public_base_url`.
    pub fn new(public_base_url: impl Into<String>) -> Self {
        Self {
            public_base_url: public_base_url.into(),
            challenges: ChallengeConfig::new(),
            nonce_secret: None,
        }
    }
}

/// The layers of a preset, outermost first: token extraction, DPoP proof
/// verification, token validation (with DPoP binding).
#[derive(Debug)]
pub struct SecurityStack<V> {
    /// Reads `Authorization`.
    pub bearer: BearerLayer,
    /// Verifies DPoP proofs.
    pub dpop: DpopLayer,
    /// Validates the token and its binding.
    pub validate: ValidateTokenLayer<V>,
}

impl<V> Clone for SecurityStack<V> {
    fn clone(&self) -> Self {
        Self {
            bearer: self.bearer.clone(),
            dpop: self.dpop.clone(),
            validate: self.validate.clone(),
        }
    }
}

impl SecurityLevel {
    /// Builds the preset around `validator`.
    pub fn stack<V: TokenValidator>(
        self,
        validator: V,
        options: &ResourceOptions,
    ) -> Result<SecurityStack<V>, ConfigError> {
        let algorithms: &[Algorithm] = match self {
            SecurityLevel::Maximum => &[Algorithm::ES256, Algorithm::PS256],
            _ => &Algorithm::ALL,
        };
        let challenges = options.challenges.clone().dpop(algorithms);
        let mut dpop = DpopLayer::builder()
            .target(RequestTarget::public_base_url(&options.public_base_url)?)
            .algorithms(algorithms.iter().copied())
            .challenges(challenges.clone());
        dpop = match self {
            SecurityLevel::Standard => dpop.mode(DpopMode::Optional),
            SecurityLevel::Enhanced => dpop.mode(DpopMode::ResourceServer),
            SecurityLevel::Maximum => {
                let nonces = match &options.nonce_secret {
                    Some(secret) => NonceIssuer::builder(secret.clone()).build()?,
                    None => NonceIssuer::random()?,
                };
                dpop.mode(DpopMode::ResourceServer)
                    .nonce(Arc::new(nonces))
                    .iat_window(60, 5)
            }
        };
        let challenges = if self == SecurityLevel::Standard {
            challenges
        } else {
            challenges.bearer(false)
        };
        Ok(SecurityStack {
            bearer: BearerLayer::with_challenges(challenges.clone()),
            dpop: dpop.challenges(challenges.clone()).build()?,
            validate: ValidateTokenLayer::builder(validator)
                .challenges(challenges)
                .build(),
        })
    }
}

impl<S, V> Layer<S> for SecurityStack<V> {
    type Service = Bearer<Dpop<ValidateToken<S, V>>>;

    fn layer(&self, inner: S) -> Self::Service {
        self.bearer
            .layer(self.dpop.layer(self.validate.layer(inner)))
    }
}
