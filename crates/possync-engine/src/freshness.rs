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
    /// A node starting at `now` over a store whose newest id stamped at most
    /// `now + skew` was stamped `newest_stored_ms` ([`World::newest_stored_id_ms`]):
    /// ids stamped after it cannot be stored, unless the node itself stores them.
    ///
    /// Before the store could tell, the horizon was `now + skew`: for the
    /// first two minutes after every start, each op was looked up in the
    /// store (a read round trip per op, just when every terminal reconnects
    /// and resends). Ids stamped beyond `now + skew` are left out of the
    /// question as they always were: a terminal whose clock runs that far
    /// ahead has its ids looked up while they are in the future, and if one
    /// of them is resent once it is not, the store refuses the second answer.
    ///
    /// [`World::newest_stored_id_ms`]: crate::World::newest_stored_id_ms
    pub fn starting_at(
        now: Timestamp,
        lookups: Lookups,
        skew_ms: i64,
        newest_stored_ms: Option<i64>,
    ) -> Self {
        let bound_ms = now.unix_millis().saturating_add(skew_ms);
        let horizon_ms = match newest_stored_ms {
            Some(newest_ms) => newest_ms.saturating_add(1).min(bound_ms),
            None => i64::MIN,
        };
        Freshness {
            lookups,
            skew_ms,
            horizon_ms,
        }
    }

    /// The greatest time stamp among `ids` that is at most `at_most_ms`, read
    /// from each id's first 48 bits whatever its version: what a store
    /// answers for [`crate::World::newest_stored_id_ms`], for stores kept in
    /// memory (the simulation, tests).
    pub fn newest_stamp_ms(ids: impl IntoIterator<Item = Uuid>, at_most_ms: i64) -> Option<i64> {
        ids.into_iter()
            .map(|id| i64::try_from(id.as_u128() >> 80).unwrap_or(i64::MAX))
            .filter(|&stamp_ms| stamp_ms <= at_most_ms)
            .max()
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
        // The store holds an id stamped 50 ms after the start (a terminal's
        // clock a little ahead): ids stamped up to it are not fresh.
        let mut freshness =
            Freshness::starting_at(start, Lookups::FreshIdsSkipStore, 100, Some(1_000_050));
        let later = start.plus_millis(1_000);
        assert_eq!(v7_millis(v7_at(1_000_500)), Some(1_000_500));
        assert!(freshness.is_fresh(v7_at(1_000_500), later));
        // Stamped at or before the store's newest id: maybe stored before.
        assert!(!freshness.is_fresh(v7_at(1_000_050), later));
        assert!(!freshness.is_fresh(v7_at(999_000), later));
        // Stamped too far in the future.
        assert!(!freshness.is_fresh(v7_at(1_001_200), later));
        // Not v7.
        assert!(!freshness.is_fresh(Uuid::from_u128(7), later));
        // Forgetting an id moves the horizon past it.
        freshness.forgot(v7_at(1_000_600));
        assert!(!freshness.is_fresh(v7_at(1_000_500), later));
        assert!(freshness.is_fresh(v7_at(1_000_700), later));
        let always = Freshness::starting_at(start, Lookups::Always, 100, None);
        assert!(!always.is_fresh(v7_at(1_000_500), later));
    }

    #[test]
    fn the_store_newest_id_bounds_the_start_horizon() {
        let start = Timestamp::from_unix_millis(1_000_000);
        let ids = [v7_at(999_000), v7_at(1_000_040), v7_at(1_000_200)];
        // The id stamped beyond now + skew is left out of the question.
        let newest = Freshness::newest_stamp_ms(ids, 1_000_100);
        assert_eq!(newest, Some(1_000_040));
        let freshness = Freshness::starting_at(start, Lookups::FreshIdsSkipStore, 100, newest);
        assert!(!freshness.is_fresh(v7_at(1_000_040), start));
        assert!(freshness.is_fresh(v7_at(1_000_041), start));
        // An empty store: every v7 id up to now + skew is new.
        let empty = Freshness::starting_at(start, Lookups::FreshIdsSkipStore, 100, None);
        assert!(empty.is_fresh(v7_at(1), start));
        assert!(!empty.is_fresh(v7_at(1_000_101), start));
        // Whatever the store says, ids up to the old horizon at most are looked up.
        let late = Freshness::starting_at(start, Lookups::FreshIdsSkipStore, 100, Some(5_000_000));
        assert!(late.is_fresh(v7_at(1_000_100), start));
    }
}
