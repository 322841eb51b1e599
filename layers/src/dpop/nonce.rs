//! Stateless server-provided nonces (RFC 9449 §8 and §9).
//!
//! A nonce is `base64url(issued_at || HMAC-SHA256(secret, label || issued_at)[..16])`:
//! any instance that shares the secret can verify it without shared state.
//! Rotation keeps the previous secret valid until nonces made with it expire.
//! Secrets are held as aws-lc HMAC keys, which AWS-LC cleanses on free; the
//! bytes handed to the builder are zeroized as soon as the key is made.

use std::fmt;
use std::sync::{Arc, RwLock};

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::clock::{self, SharedClock};
use crate::config::ConfigError;
use crate::jose::b64;

const LABEL: &[u8] = b"mcp-tower dpop nonce v1";
const TAG_LEN: usize = 16;
const NONCE_BYTES: usize = 8 + TAG_LEN;
/// Minimum secret length in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// The outcome of checking a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NonceStatus {
    /// Issued by us and not expired. `refresh` is true when it is old enough
    /// that the response should carry a fresh one (RFC 9449 §8.2).
    Valid {
        /// Send a new `DPoP-Nonce` with the response.
        refresh: bool,
    },
    /// Forged, malformed, expired, or made with a retired secret.
    Invalid,
}

struct Keys {
    current: hmac::Key,
    previous: Option<hmac::Key>,
}

/// Issues and verifies server nonces. Cheap to share behind an `Arc`.
pub struct NonceIssuer {
    keys: RwLock<Keys>,
    lifetime: u64,
    refresh_after: u64,
    clock: SharedClock,
}

/// Builder for [`NonceIssuer`].
pub struct NonceIssuerBuilder {
    secret: Zeroizing<Vec<u8>>,
    previous: Option<Zeroizing<Vec<u8>>>,
    lifetime: u64,
    refresh_after: Option<u64>,
    clock: SharedClock,
}

impl NonceIssuer {
    /// Starts a builder with the shared secret (at least 32 bytes).
    pub fn builder(secret: impl Into<Vec<u8>>) -> NonceIssuerBuilder {
        NonceIssuerBuilder {
            secret: Zeroizing::new(secret.into()),
            previous: None,
            lifetime: 300,
            refresh_after: None,
            clock: clock::system(),
        }
    }

    /// A nonce issuer with a fresh random secret: fine for one instance; a
    /// fleet must share a secret through [`NonceIssuer::builder`].
    pub fn random() -> Result<Self, ConfigError> {
        let mut secret = Zeroizing::new(vec![0u8; 32]);
        aws_lc_rs::rand::fill(&mut secret)
            .map_err(|_| ConfigError::new("nonce secret", "the system random generator failed"))?;
        Self::builder(secret.to_vec()).build()
    }

    /// Issues a nonce for the current time.
    pub fn issue(&self) -> String {
        let now = self.clock.now_unix().to_be_bytes();
        let tag = {
            let keys = self
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            sign(&keys.current, now)
        };
        let mut raw = [0u8; NONCE_BYTES];
        raw[..8].copy_from_slice(&now);
        raw[8..].copy_from_slice(&tag.as_ref()[..TAG_LEN]);
        b64::encode(raw)
    }

    /// Checks a nonce: made with the current or previous secret, not from the
    /// future (5 s of clock skew between instances allowed), and younger than
    /// the lifetime.
    pub fn check(&self, nonce: &str) -> NonceStatus {
        let Ok(raw) = b64::decode_array::<NONCE_BYTES>(nonce) else {
            return NonceStatus::Invalid;
        };
        let issued_bytes: [u8; 8] = raw[..8].try_into().unwrap_or_default();
        let presented = &raw[8..];
        let authentic = {
            let keys = self
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let matches = |key: &hmac::Key| {
                bool::from(sign(key, issued_bytes).as_ref()[..TAG_LEN].ct_eq(presented))
            };
            // Both keys are always tried so timing does not tell which matched.
            let current = matches(&keys.current);
            let previous = keys.previous.as_ref().is_some_and(matches);
            current | previous
        };
        if !authentic {
            return NonceStatus::Invalid;
        }
        let issued = u64::from_be_bytes(issued_bytes);
        let now = self.clock.now_unix();
        if issued > now.saturating_add(5) || now.saturating_sub(issued) >= self.lifetime {
            return NonceStatus::Invalid;
        }
        NonceStatus::Valid {
            refresh: now.saturating_sub(issued) >= self.refresh_after,
        }
    }

    /// Makes `secret` the current secret; the old current one stays valid as
    /// the previous secret (the one before it is dropped).
    pub fn rotate(&self, secret: impl Into<Vec<u8>>) -> Result<(), ConfigError> {
        let key = make_key(&Zeroizing::new(secret.into()))?;
        let mut keys = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = std::mem::replace(&mut keys.current, key);
        keys.previous = Some(old);
        tracing::info!(target: "mcp_tower::dpop", "DPoP nonce secret rotated");
        Ok(())
    }

    /// How long a nonce stays valid, in seconds.
    pub fn lifetime(&self) -> u64 {
        self.lifetime
    }
}

fn sign(key: &hmac::Key, issued: [u8; 8]) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(LABEL);
    ctx.update(&issued);
    ctx.sign()
}

fn make_key(secret: &[u8]) -> Result<hmac::Key, ConfigError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(ConfigError::new(
            "nonce secret",
            format!(
                "must be at least {MIN_SECRET_BYTES} random bytes, got {}",
                secret.len()
            ),
        ));
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, secret))
}

impl NonceIssuerBuilder {
    /// A previous secret still accepted (for rolling restarts of a fleet).
    #[must_use]
    pub fn previous_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.previous = Some(Zeroizing::new(secret.into()));
        self
    }

    /// How long a nonce is accepted, in seconds (default 300).
    #[must_use]
    pub fn lifetime_secs(mut self, secs: u64) -> Self {
        self.lifetime = secs;
        self
    }

    /// Age in seconds after which successful responses carry a fresh nonce
    /// (default: half the lifetime).
    #[must_use]
    pub fn refresh_after_secs(mut self, secs: u64) -> Self {
        self.refresh_after = Some(secs);
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<NonceIssuer, ConfigError> {
        if self.lifetime < 10 {
            return Err(ConfigError::new(
                "nonce lifetime",
                "must be at least 10 seconds",
            ));
        }
        let refresh_after = self.refresh_after.unwrap_or(self.lifetime / 2);
        if refresh_after >= self.lifetime {
            return Err(ConfigError::new(
                "nonce refresh_after",
                "must be shorter than the lifetime",
            ));
        }
        Ok(NonceIssuer {
            keys: RwLock::new(Keys {
                current: make_key(&self.secret)?,
                previous: self.previous.as_deref().map(|s| make_key(s)).transpose()?,
            }),
            lifetime: self.lifetime,
            refresh_after,
            clock: self.clock,
        })
    }
}

impl fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("lifetime", &self.lifetime)
            .field("refresh_after", &self.refresh_after)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NonceIssuerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceIssuerBuilder")
            .field("secret", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// A nonce issuer shared between layers.
pub type SharedNonceIssuer = Arc<NonceIssuer>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn issuer(clock: &ManualClock, secret: u8) -> NonceIssuer {
        NonceIssuer::builder(vec![secret; 32])
            .lifetime_secs(100)
            .clock(Arc::new(clock.clone()))
            .build()
            .unwrap()
    }

    #[test]
    fn issued_nonce_is_valid_then_refreshes_then_expires() {
        let clock = ManualClock::new(1_000_000);
        let issuer = issuer(&clock, 1);
        let nonce = issuer.issue();
        assert_eq!(issuer.check(&nonce), NonceStatus::Valid { refresh: false });
        clock.advance(50);
        assert_eq!(issuer.check(&nonce), NonceStatus::Valid { refresh: true });
        clock.advance(50);
        assert_eq!(issuer.check(&nonce), NonceStatus::Invalid);
    }

    #[test]
    fn another_instance_with_the_same_secret_accepts_it() {
        let clock = ManualClock::new(1_000_000);
        let nonce = issuer(&clock, 1).issue();
        assert!(matches!(
            issuer(&clock, 1).check(&nonce),
            NonceStatus::Valid { .. }
        ));
        assert_eq!(issuer(&clock, 2).check(&nonce), NonceStatus::Invalid);
    }

    #[test]
    fn refuses_forged_future_and_malformed() {
        let clock = ManualClock::new(1_000_000);
        let issuer = issuer(&clock, 1);
        let nonce = issuer.issue();
        let mut raw = b64::decode(&nonce).unwrap();
        raw[20] ^= 1;
        assert_eq!(issuer.check(&b64::encode(&raw)), NonceStatus::Invalid);
        clock.set(999_000);
        assert_eq!(issuer.check(&nonce), NonceStatus::Invalid);
        assert_eq!(issuer.check("not a nonce"), NonceStatus::Invalid);
        assert_eq!(issuer.check(""), NonceStatus::Invalid);
    }

    #[test]
    fn rotation_keeps_the_previous_secret() {
        let clock = ManualClock::new(1_000_000);
        let issuer = issuer(&clock, 1);
        let old = issuer.issue();
        issuer.rotate(vec![2; 32]).unwrap();
        assert!(matches!(issuer.check(&old), NonceStatus::Valid { .. }));
        issuer.rotate(vec![3; 32]).unwrap();
        assert_eq!(issuer.check(&old), NonceStatus::Invalid);
    }

    #[test]
    fn refuses_short_secrets_and_bad_lifetimes() {
        assert!(NonceIssuer::builder(vec![0; 16]).build().is_err());
        assert!(
            NonceIssuer::builder(vec![0; 32])
                .lifetime_secs(5)
                .build()
                .is_err()
        );
        assert!(
            NonceIssuer::builder(vec![0; 32])
                .lifetime_secs(60)
                .refresh_after_secs(60)
                .build()
                .is_err()
        );
        assert!(format!("{:?}", NonceIssuer::builder(vec![9; 32])).contains("redacted"));
    }
}
