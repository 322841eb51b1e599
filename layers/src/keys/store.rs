//! Where a client's DPoP keys come from, and how they rotate.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::clock::{self, SharedClock};
use crate::jose::Algorithm;

use super::{DpopKey, KeyError};

/// A source of signing keys. The current key signs new proofs; earlier keys
/// stay findable by thumbprint while tokens bound to them may still be used.
pub trait KeyStore: Send + Sync + 'static {
    /// The key to sign with now.
    fn current(&self) -> Result<Arc<DpopKey>, KeyError>;

    /// A current or retained key by its thumbprint.
    fn find(&self, jkt: &str) -> Option<Arc<DpopKey>>;
}

/// When keys are replaced and how long old ones are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Replace the current key after this long; `None` never rotates.
    pub rotate_every: Option<Duration>,
    /// Keep a replaced key this long: at least the lifetime of the access
    /// tokens bound to it.
    pub retain_previous: Duration,
}

impl Default for RotationPolicy {
    /// Rotate daily; keep old keys for 24 hours.
    fn default() -> Self {
        Self {
            rotate_every: Some(Duration::from_secs(24 * 3600)),
            retain_previous: Duration::from_secs(24 * 3600),
        }
    }
}

impl RotationPolicy {
    /// One key for the life of the process.
    pub fn never() -> Self {
        Self {
            rotate_every: None,
            retain_previous: Duration::ZERO,
        }
    }
}

struct State {
    current: Arc<DpopKey>,
    since: u64,
    previous: Vec<(Arc<DpopKey>, u64)>,
}

/// Keys generated and held in process memory, rotated by a [`RotationPolicy`].
pub struct MemoryKeyStore {
    alg: Algorithm,
    policy: RotationPolicy,
    clock: SharedClock,
    state: Mutex<State>,
}

impl MemoryKeyStore {
    /// A store generating `alg` keys, starting with a fresh one.
    pub fn generate(alg: Algorithm, policy: RotationPolicy) -> Result<Self, KeyError> {
        Self::with_clock(alg, policy, clock::system())
    }

    /// As [`MemoryKeyStore::generate`], reading time from `clock`.
    pub fn with_clock(
        alg: Algorithm,
        policy: RotationPolicy,
        clock: SharedClock,
    ) -> Result<Self, KeyError> {
        let key = DpopKey::generate(alg)?;
        Ok(Self::from_key_with_clock(key, policy, clock))
    }

    /// A store starting with `key`; rotated keys use the same algorithm.
    pub fn from_key(key: DpopKey, policy: RotationPolicy) -> Self {
        Self::from_key_with_clock(key, policy, clock::system())
    }

    fn from_key_with_clock(key: DpopKey, policy: RotationPolicy, clock: SharedClock) -> Self {
        Self {
            alg: key.alg(),
            policy,
            state: Mutex::new(State {
                current: Arc::new(key),
                since: clock.now_unix(),
                previous: Vec::new(),
            }),
            clock,
        }
    }

    /// Replaces the current key now, whatever the schedule.
    pub fn rotate(&self) -> Result<Arc<DpopKey>, KeyError> {
        let key = Arc::new(DpopKey::generate(self.alg)?);
        let now = self.clock.now_unix();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.replace(&mut state, Arc::clone(&key), now);
        Ok(key)
    }

    fn replace(&self, state: &mut State, key: Arc<DpopKey>, now: u64) {
        let old = std::mem::replace(&mut state.current, key);
        state.since = now;
        state.previous.push((
            Arc::clone(&old),
            now.saturating_add(self.policy.retain_previous.as_secs()),
        ));
        state.previous.retain(|(_, until)| *until > now);
        tracing::info!(target: "mcp_tower::keys", old_jkt = old.thumbprint(), new_jkt = state.current.thumbprint(), "DPoP key rotated");
    }
}

impl KeyStore for MemoryKeyStore {
    fn current(&self) -> Result<Arc<DpopKey>, KeyError> {
        let now = self.clock.now_unix();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(every) = self.policy.rotate_every {
            if now >= state.since.saturating_add(every.as_secs()) {
                let key = Arc::new(DpopKey::generate(self.alg)?);
                self.replace(&mut state, key, now);
            }
        }
        Ok(Arc::clone(&state.current))
    }

    fn find(&self, jkt: &str) -> Option<Arc<DpopKey>> {
        let now = self.clock.now_unix();
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.current.thumbprint() == jkt {
            return Some(Arc::clone(&state.current));
        }
        state
            .previous
            .iter()
            .find(|(key, until)| *until > now && key.thumbprint() == jkt)
            .map(|(key, _)| Arc::clone(key))
    }
}

impl std::fmt::Debug for MemoryKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryKeyStore")
            .field("alg", &self.alg)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn rotates_on_schedule_and_retains_previous() {
        let clock = ManualClock::new(1000);
        let policy = RotationPolicy {
            rotate_every: Some(Duration::from_secs(100)),
            retain_previous: Duration::from_secs(50),
        };
        let store =
            MemoryKeyStore::with_clock(Algorithm::ES256, policy, Arc::new(clock.clone())).unwrap();
        let first = store.current().unwrap();
        clock.advance(99);
        assert_eq!(store.current().unwrap().thumbprint(), first.thumbprint());
        clock.advance(1);
        let second = store.current().unwrap();
        assert_ne!(second.thumbprint(), first.thumbprint());
        assert!(store.find(first.thumbprint()).is_some());
        clock.advance(50);
        assert!(store.find(first.thumbprint()).is_none());
        assert!(store.find(second.thumbprint()).is_some());
    }

    #[test]
    fn never_policy_keeps_one_key() {
        let clock = ManualClock::new(0);
        let store = MemoryKeyStore::with_clock(
            Algorithm::ES256,
            RotationPolicy::never(),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let first = store.current().unwrap();
        clock.advance(10_000_000);
        assert_eq!(store.current().unwrap().thumbprint(), first.thumbprint());
        let rotated = store.rotate().unwrap();
        assert_ne!(rotated.thumbprint(), first.thumbprint());
    }
}
