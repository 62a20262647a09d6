//! A map that keeps at most `capacity` entries and forgets the oldest first.
//!
//! The node's memory must not grow with a shop's history: op outcomes,
//! finished orders and terminal bindings live in these, and what falls out is
//! asked of the store when it is needed again. Every eviction is reported to
//! the caller, so it can keep `freshness` honest.

use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Clone)]
pub struct FifoMap<K, V> {
    capacity: usize,
    entries: BTreeMap<K, (u64, V)>,
    /// Keys in insertion order, with the generation they were inserted at;
    /// an entry removed or re-inserted since leaves a stale item here, skipped on eviction.
    order: VecDeque<(K, u64)>,
    next_generation: u64,
}

impl<K: Ord + Clone, V> FifoMap<K, V> {
    pub fn new(capacity: usize) -> Self {
        FifoMap {
            capacity: capacity.max(1),
            entries: BTreeMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, value)| value)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Inserts or replaces (a replaced entry counts as new); answers the entries
    /// evicted to make room, oldest first.
    pub fn insert(&mut self, key: K, value: V) -> Vec<(K, V)> {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.entries.insert(key.clone(), (generation, value));
        self.order.push_back((key, generation));
        let mut evicted = Vec::new();
        while self.entries.len() > self.capacity {
            let Some((key, generation)) = self.order.pop_front() else {
                break;
            };
            if self
                .entries
                .get(&key)
                .is_some_and(|(current, _)| *current == generation)
                && let Some((_, value)) = self.entries.remove(&key)
            {
                evicted.push((key, value));
            }
        }
        self.compact();
        evicted
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let removed = self.entries.remove(key).map(|(_, value)| value);
        self.compact();
        removed
    }

    /// Drops stale order items once they outnumber the live entries, so churn
    /// (insert, remove, insert) cannot grow the queue without bound.
    fn compact(&mut self) {
        if self.order.len() <= 2 * self.entries.len() + 64 {
            return;
        }
        let entries = &self.entries;
        self.order.retain(|(key, generation)| {
            entries
                .get(key)
                .is_some_and(|(current, _)| current == generation)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_oldest_first_and_says_so() {
        let mut map = FifoMap::new(2);
        assert!(map.insert(1, "a").is_empty());
        assert!(map.insert(2, "b").is_empty());
        assert_eq!(map.insert(3, "c"), vec![(1, "a")]);
        // A re-inserted key is new again.
        assert!(map.insert(2, "B").is_empty());
        assert_eq!(map.insert(4, "d"), vec![(3, "c")]);
        assert_eq!(map.get(&2), Some(&"B"));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn churn_does_not_grow_the_queue() {
        let mut map = FifoMap::new(4);
        for round in 0..10_000 {
            map.insert(round % 3, round);
            map.remove(&(round % 3));
        }
        assert!(map.order.len() <= 64 + 2 * map.len());
    }
}
