//! Replay detection for DPoP proofs (RFC 9449 §11.1).
//!
//! A [`ReplayCache`] atomically records a proof's key-and-`jti` pair and says
//! whether it was seen before. Entries live until the proof could no longer be
//! accepted anyway (its `iat` leaves the window), so the cache stays small.
//! The in-memory cache is [`MemoryReplayCache`]; a Redis cache for a fleet
//! implements the same trait.

pub mod memory;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use memory::MemoryReplayCache;

/// The identity of one proof: SHA-256 over the key thumbprint and the `jti`.
/// Hashing bounds the entry size whatever the `jti`, and two keys cannot
/// collide by choosing the same `jti`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// The key for a proof signed by the key with thumbprint `jkt`.
    pub fn new(jkt: &str, jti: &str) -> Self {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(jkt.as_bytes());
        ctx.update(&[0]);
        ctx.update(jti.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        Self(out)
    }

    /// The raw 32 bytes (for storage backends).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// What the cache says about a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Freshness {
    /// First use: recorded now.
    Fresh,
    /// Seen before: a replay.
    Replayed,
}

/// The cache could not decide; the request must be refused (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// Full of unexpired entries; forgetting one could admit a replay.
    #[error("replay cache is full; retry in {retry_after_secs} s")]
    Full {
        /// Seconds until the oldest entry expires.
        retry_after_secs: u64,
    },
    /// The backend is unreachable or failed.
    #[error("replay cache unavailable: {0}")]
    Unavailable(String),
}

/// Atomic check-and-insert of proof identities.
///
/// `Future` is an associated type so an in-memory cache answers without a
/// boxed future, while a networked cache returns its own future.
pub trait ReplayCache: Send + Sync + 'static {
    /// The future of [`ReplayCache::check_and_insert`].
    type Future: Future<Output = Result<Freshness, ReplayError>> + Send + 'static;

    /// Records `key` until `expires_at` (Unix seconds) unless it is already
    /// recorded, and says which it was. Must be atomic: of many concurrent
    /// calls with one key, exactly one sees [`Freshness::Fresh`].
    fn check_and_insert(&self, key: ReplayKey, expires_at: u64) -> Self::Future;
}

impl<R: ReplayCache + ?Sized> ReplayCache for Arc<R> {
    type Future = R::Future;

    fn check_and_insert(&self, key: ReplayKey, expires_at: u64) -> Self::Future {
        (**self).check_and_insert(key, expires_at)
    }
}

/// A boxed replay future, for caches behind `dyn`.
pub type BoxReplayFuture = Pin<Box<dyn Future<Output = Result<Freshness, ReplayError>> + Send>>;
