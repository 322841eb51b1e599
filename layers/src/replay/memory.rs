//! A sharded, bounded in-memory replay cache.

use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::{BinaryHeap, HashMap};
use std::future::{Ready, ready};
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

use crate::clock::{self, SharedClock};

use super::{Freshness, ReplayCache, ReplayError, ReplayKey};

/// Default total capacity: one million proofs (about 100 MB at worst).
pub const DEFAULT_CAPACITY: usize = 1_000_000;

struct Shard {
    entries: HashMap<ReplayKey, u64>,
    expiries: BinaryHeap<Reverse<(u64, ReplayKey)>>,
}

/// An in-memory [`ReplayCache`] for one instance.
///
/// Sharded by key to keep lock contention low; each shard holds at most
/// `capacity / shards` entries. Expired entries are dropped as new ones
/// arrive. When a shard is full of unexpired entries it refuses with
/// [`ReplayError::Full`] (the layer answers 503 with `Retry-After`) instead of
/// forgetting an entry, so it never admits a replay.
///
/// # Capacity is shared by every client
/// A proof is recorded when it is verified, before the access token is (the
/// token layer needs the verified proof), so anyone with a self-made key can
/// add entries, each kept for the proof's acceptance window (361 s with the
/// default windows). The shard of a key is chosen by a hash with a random
/// per-cache seed, so a client cannot aim its proofs at one shard; but a
/// client sending fresh proofs faster than `capacity / window` per second
/// (about 2,800/s for the defaults) fills the cache, and then proofs are
/// refused with 503 until entries expire. Limit the rate of requests per
/// client ahead of the DPoP layer (at your proxy, or a tower layer), and size
/// `capacity` for your peak.
pub struct MemoryReplayCache {
    shards: Box<[Mutex<Shard>]>,
    /// Keyed (`SipHash`, random key) so shard placement is unpredictable.
    placement: RandomState,
    per_shard: usize,
    clock: SharedClock,
}

impl MemoryReplayCache {
    /// A cache holding up to `capacity` entries (at least one per shard).
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, clock::system())
    }

    /// A cache reading time from `clock`.
    pub fn with_clock(capacity: usize, clock: SharedClock) -> Self {
        let shards = std::thread::available_parallelism()
            .map_or(4, std::num::NonZero::get)
            .saturating_mul(4)
            .next_power_of_two()
            .clamp(1, 64)
            .min(capacity.max(1));
        let per_shard = capacity.div_ceil(shards).max(1);
        Self {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Shard {
                        entries: HashMap::new(),
                        expiries: BinaryHeap::new(),
                    })
                })
                .collect(),
            per_shard,
            placement: RandomState::new(),
            clock,
        }
    }

    /// The number of unexpired entries (for metrics and tests).
    pub fn len(&self) -> usize {
        let now = self.clock.now_unix();
        self.shards
            .iter()
            .map(|s| {
                let mut shard = s.lock().unwrap_or_else(PoisonError::into_inner);
                shard.purge(now);
                shard.entries.len()
            })
            .sum()
    }

    /// Whether the cache holds no unexpired entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shard holding `key`. Keys are SHA-256 of what the client chose:
    /// their own bytes would let it fill one shard on purpose.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "any bits of the hash will do"
    )]
    fn shard_of(&self, key: ReplayKey) -> usize {
        self.placement.hash_one(key) as usize % self.shards.len()
    }

    fn insert(&self, key: ReplayKey, expires_at: u64) -> Result<Freshness, ReplayError> {
        let now = self.clock.now_unix();
        let mut shard = self.shards[self.shard_of(key)]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shard.purge(now);
        if shard.entries.contains_key(&key) {
            return Ok(Freshness::Replayed);
        }
        if shard.entries.len() >= self.per_shard {
            let oldest = shard.expiries.peek().map_or(now + 1, |Reverse((t, _))| *t);
            return Err(ReplayError::Full {
                retry_after_secs: oldest.saturating_sub(now).max(1),
            });
        }
        shard.entries.insert(key, expires_at);
        shard.expiries.push(Reverse((expires_at, key)));
        Ok(Freshness::Fresh)
    }
}

impl Default for MemoryReplayCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl Shard {
    fn purge(&mut self, now: u64) {
        while let Some(Reverse((expires_at, key))) = self.expiries.peek().copied() {
            if expires_at > now {
                break;
            }
            self.expiries.pop();
            self.entries.remove(&key);
        }
    }
}

impl ReplayCache for MemoryReplayCache {
    type Future = Ready<Result<Freshness, ReplayError>>;

    fn check_and_insert(&self, key: ReplayKey, expires_at: u64) -> Self::Future {
        ready(self.insert(key, expires_at))
    }
}

impl std::fmt::Debug for MemoryReplayCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryReplayCache")
            .field("shards", &self.shards.len())
            .field("per_shard", &self.per_shard)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    fn cache(capacity: usize, clock: &ManualClock) -> MemoryReplayCache {
        MemoryReplayCache::with_clock(capacity, Arc::new(clock.clone()))
    }

    #[test]
    fn second_insert_is_a_replay_until_expiry() {
        let clock = ManualClock::new(1000);
        let cache = cache(100, &clock);
        let key = ReplayKey::new("jkt", "jti-1");
        assert_eq!(cache.insert(key, 1010), Ok(Freshness::Fresh));
        assert_eq!(cache.insert(key, 1010), Ok(Freshness::Replayed));
        clock.set(1010);
        assert_eq!(cache.insert(key, 1020), Ok(Freshness::Fresh));
    }

    #[test]
    fn same_jti_under_another_key_is_distinct() {
        let clock = ManualClock::new(1000);
        let cache = cache(100, &clock);
        assert_eq!(
            cache.insert(ReplayKey::new("a", "x"), 2000),
            Ok(Freshness::Fresh)
        );
        assert_eq!(
            cache.insert(ReplayKey::new("b", "x"), 2000),
            Ok(Freshness::Fresh)
        );
        // The separator keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(ReplayKey::new("ab", "c"), ReplayKey::new("a", "bc"));
    }

    #[test]
    fn full_cache_refuses_rather_than_forgets() {
        let clock = ManualClock::new(1000);
        let cache = MemoryReplayCache {
            per_shard: 2,
            ..cache(2, &clock)
        };
        // Use a single shard's worth of keys by construction.
        let keys: Vec<ReplayKey> = (0..200)
            .map(|i| ReplayKey::new("k", &i.to_string()))
            .filter(|k| cache.shard_of(*k) == 0)
            .take(3)
            .collect();
        assert_eq!(cache.insert(keys[0], 1030), Ok(Freshness::Fresh));
        assert_eq!(cache.insert(keys[1], 1060), Ok(Freshness::Fresh));
        assert_eq!(
            cache.insert(keys[2], 1060),
            Err(ReplayError::Full {
                retry_after_secs: 30
            })
        );
        // Still remembers both.
        assert_eq!(cache.insert(keys[0], 1030), Ok(Freshness::Replayed));
        clock.set(1030);
        assert_eq!(cache.insert(keys[2], 1060), Ok(Freshness::Fresh));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn clients_cannot_choose_the_shard() {
        let cache = MemoryReplayCache::new(1000);
        let shards = cache.shards.len();
        assert!(shards > 1);
        // Keys a client would pick to land in one shard if placement used
        // the key's own bytes spread over the shards.
        let chosen: std::collections::HashSet<usize> = (0..10_000)
            .map(|i| ReplayKey::new("attacker", &i.to_string()))
            .filter(|k| usize::from(k.0[0]) % shards == 0)
            .take(64)
            .map(|k| cache.shard_of(k))
            .collect();
        assert!(chosen.len() > 1, "{chosen:?}");
    }

    #[test]
    fn concurrent_inserts_admit_exactly_one() {
        let cache = Arc::new(MemoryReplayCache::new(1000));
        let key = ReplayKey::new("jkt", "same");
        let fresh: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let cache = Arc::clone(&cache);
                    s.spawn(move || cache.insert(key, u64::MAX) == Ok(Freshness::Fresh))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| usize::from(h.join().unwrap()))
                .sum()
        });
        assert_eq!(fresh, 1);
    }
}
