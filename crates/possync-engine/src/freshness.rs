//! When may the node skip asking the store about an id it does not hold?
//!
//! Terminals choose order and op ids, recommended as UUIDv7, whose first 48
//! bits are the creation time in milliseconds. The node holds every op
//! outcome and every order it committed since it started, minus what its
//! bounded caches forgot. So an id stamped after the node started (plus the
//! clock skew a terminal may have) and after everything it forgot cannot be
//! in the store unless the node holds it: the node skips the lookup. Every
//! other id (older, stamped in the future, not v7) is looked up.
//!
//! This only saves reads. Correctness never rests on it: the store refuses
//! a second outcome for an op id and a version that is not the next, so a
//! misjudged id fails its batch, which the node then recovers from by asking
//! the store (see `node`).

use crate::settings::Lookups;
use possync_core::Timestamp;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Freshness {
    lookups: Lookups,
    skew_ms: i64,
    /// Ids stamped before this (milliseconds) may be in the store unknown to the node.
    horizon_ms: i64,
}

/// The creation time of a UUIDv7 in Unix milliseconds, or None for other versions.
pub fn v7_millis(id: Uuid) -> Option<i64> {
    if id.get_version_num() != 7 {
        return None;
    }
    let bytes = id.as_bytes();
    let mut millis = [0u8; 8];
    millis[2..].copy_from_slice(&bytes[..6]);
    i64::try_from(u64::from_be_bytes(millis)).ok()
}

impl Freshness {
    /// A node starting at `now`: everything stamped before `now + skew` may be stored already.
    pub fn starting_at(now: Timestamp, lookups: Lookups, skew_ms: i64) -> Self {
        Freshness {
            lookups,
            skew_ms,
            horizon_ms: now.unix_millis().saturating_add(skew_ms),
        }
    }

    /// True when the store cannot know this id unless the node does.
    pub fn is_fresh(&self, id: Uuid, now: Timestamp) -> bool {
        if self.lookups == Lookups::Always {
            return false;
        }
        v7_millis(id).is_some_and(|millis| {
            millis >= self.horizon_ms && millis <= now.unix_millis().saturating_add(self.skew_ms)
        })
    }

    /// The node forgot an id it held (a cache evicted it): ids up to its stamp
    /// are no longer fresh.
    pub fn forgot(&mut self, id: Uuid) {
        if let Some(millis) = v7_millis(id) {
            self.horizon_ms = self.horizon_ms.max(millis.saturating_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v7_at(millis: u64) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        bytes[6] = 0x70;
        bytes[8] = 0x80;
        Uuid::from_bytes(bytes)
    }

    #[test]
    fn only_recent_v7_ids_skip_the_store() {
        let start = Timestamp::from_unix_millis(1_000_000);
        let mut freshness = Freshness::starting_at(start, Lookups::FreshIdsSkipStore, 100);
        let later = start.plus_millis(1_000);
        assert_eq!(v7_millis(v7_at(1_000_500)), Some(1_000_500));
        assert!(freshness.is_fresh(v7_at(1_000_500), later));
        // Stamped before the node started (plus skew): maybe stored before.
        assert!(!freshness.is_fresh(v7_at(1_000_050), later));
        // Stamped too far in the future.
        assert!(!freshness.is_fresh(v7_at(1_001_200), later));
        // Not v7.
        assert!(!freshness.is_fresh(Uuid::from_u128(7), later));
        // Forgetting an id moves the horizon past it.
        freshness.forgot(v7_at(1_000_600));
        assert!(!freshness.is_fresh(v7_at(1_000_500), later));
        assert!(freshness.is_fresh(v7_at(1_000_700), later));
        let always = Freshness::starting_at(start, Lookups::Always, 100);
        assert!(!always.is_fresh(v7_at(1_000_500), later));
    }
}
