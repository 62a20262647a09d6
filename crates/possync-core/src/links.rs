//! Sync links between configs: unordered pairs, so every link is two-way by
//! construction. Links are not transitive: A-B and B-C do not link A and C.

use crate::ids::ConfigId;
use crate::limits::LINKS_PER_CONFIG_MAX;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("a config cannot sync with itself")]
    SelfLink,
    #[error("unknown config {0}")]
    UnknownConfig(ConfigId),
    #[error("at most {LINKS_PER_CONFIG_MAX} linked configs")]
    TooMany,
}

/// The set of links, each stored once as (smaller id, larger id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncLinks {
    pairs: BTreeSet<(ConfigId, ConfigId)>,
}

fn ordered(a: ConfigId, b: ConfigId) -> (ConfigId, ConfigId) {
    if a <= b { (a, b) } else { (b, a) }
}

impl SyncLinks {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (ConfigId, ConfigId)>) -> Self {
        SyncLinks {
            pairs: pairs
                .into_iter()
                .filter(|(a, b)| a != b)
                .map(|(a, b)| ordered(a, b))
                .collect(),
        }
    }

    pub fn pairs(&self) -> impl Iterator<Item = (ConfigId, ConfigId)> + '_ {
        self.pairs.iter().copied()
    }

    pub fn are_linked(&self, a: ConfigId, b: ConfigId) -> bool {
        a != b && self.pairs.contains(&ordered(a, b))
    }

    /// The configs linked to `config_id`, in id order.
    pub fn sync_with(&self, config_id: ConfigId) -> Vec<ConfigId> {
        let mut linked: Vec<ConfigId> = self
            .pairs
            .iter()
            .filter_map(|&(a, b)| {
                if a == config_id {
                    Some(b)
                } else if b == config_id {
                    Some(a)
                } else {
                    None
                }
            })
            .collect();
        linked.sort();
        linked
    }

    /// Replaces the links of `config_id` with exactly `linked`: new links appear
    /// on both sides, dropped ones vanish from both sides, other configs' links
    /// are untouched. `config_exists` says which ids are real configs.
    pub fn set_sync_with(
        &self,
        config_id: ConfigId,
        linked: &[ConfigId],
        config_exists: impl Fn(ConfigId) -> bool,
    ) -> Result<SyncLinks, LinkError> {
        let wanted: BTreeSet<ConfigId> = linked.iter().copied().collect();
        if wanted.len() > LINKS_PER_CONFIG_MAX {
            return Err(LinkError::TooMany);
        }
        if wanted.contains(&config_id) {
            return Err(LinkError::SelfLink);
        }
        for &other in wanted.iter().chain(std::iter::once(&config_id)) {
            if !config_exists(other) {
                return Err(LinkError::UnknownConfig(other));
            }
        }
        let mut pairs: BTreeSet<(ConfigId, ConfigId)> = self
            .pairs
            .iter()
            .copied()
            .filter(|&(a, b)| a != config_id && b != config_id)
            .collect();
        pairs.extend(wanted.into_iter().map(|other| ordered(config_id, other)));
        Ok(SyncLinks { pairs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(id: i64) -> ConfigId {
        ConfigId(id)
    }

    #[test]
    fn linking_is_two_way_and_not_transitive() {
        let links = SyncLinks::default()
            .set_sync_with(c(1), &[c(2)], |_| true)
            .unwrap()
            .set_sync_with(c(2), &[c(1), c(3)], |_| true)
            .unwrap();
        assert_eq!(links.sync_with(c(1)), vec![c(2)]);
        assert_eq!(links.sync_with(c(2)), vec![c(1), c(3)]);
        assert_eq!(links.sync_with(c(3)), vec![c(2)]);
        assert!(!links.are_linked(c(1), c(3)));
    }

    #[test]
    fn unlinking_removes_both_directions() {
        let links = SyncLinks::from_pairs([(c(1), c(2)), (c(2), c(3))]);
        let links = links.set_sync_with(c(2), &[c(3)], |_| true).unwrap();
        assert_eq!(links.sync_with(c(1)), Vec::<ConfigId>::new());
        assert_eq!(links.sync_with(c(3)), vec![c(2)]);
    }

    #[test]
    fn self_and_unknown_links_are_refused() {
        let links = SyncLinks::default();
        assert_eq!(
            links.set_sync_with(c(1), &[c(1)], |_| true),
            Err(LinkError::SelfLink)
        );
        assert_eq!(
            links.set_sync_with(c(1), &[c(9)], |id| id != c(9)),
            Err(LinkError::UnknownConfig(c(9)))
        );
    }

    proptest! {
        #[test]
        fn links_stay_symmetric(changes in prop::collection::vec((1i64..6, prop::collection::vec(1i64..6, 0..5)), 0..20)) {
            let mut links = SyncLinks::default();
            for (config, linked) in changes {
                let linked: Vec<ConfigId> = linked.into_iter().map(ConfigId).collect();
                if let Ok(next) = links.set_sync_with(ConfigId(config), &linked, |_| true) {
                    let mut expected: Vec<ConfigId> = linked.clone();
                    expected.sort();
                    expected.dedup();
                    prop_assert_eq!(next.sync_with(ConfigId(config)), expected);
                    links = next;
                }
                for a in 1..6 {
                    for b in links.sync_with(ConfigId(a)) {
                        prop_assert!(links.sync_with(b).contains(&ConfigId(a)));
                        prop_assert_ne!(b, ConfigId(a));
                    }
                }
            }
        }
    }
}
