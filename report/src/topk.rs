//! Tallies: requests and the set of clients behind a figure, and a bounded table of them
//! for values that are not bounded by the number of clients (targets, User-Agents, error
//! reasons).

use std::hash::Hash;

use rustc_hash::{FxHashMap, FxHashSet};

/// Requests and the distinct clients (indices into the client table) behind a figure.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Lines counted.
    pub requests: u64,
    /// The clients.
    pub clients: FxHashSet<u32>,
}

impl Tally {
    /// Counts one line of `client`.
    pub fn add(&mut self, client: u32) {
        self.requests += 1;
        self.clients.insert(client);
    }

    /// Folds `other` in.
    pub fn merge(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.clients.extend(other.clients.iter().copied());
    }
}

/// A table of at most `cap` values. When a new value arrives at a full table, the less
/// frequent half is dropped (lossy counting): the frequent values keep exact counts as
/// long as they stay in, and the table says how many lines it no longer attributes.
#[derive(Debug)]
pub struct Bounded<K, V> {
    map: FxHashMap<K, V>,
    cap: usize,
    /// Lines counted for values that were dropped.
    pub dropped_requests: u64,
    /// Values that were dropped.
    pub dropped_values: u64,
}

/// Something a [`Bounded`] table can rank.
pub trait Weight {
    /// The count the table ranks by.
    fn weight(&self) -> u64;
}

impl Weight for Tally {
    fn weight(&self) -> u64 {
        self.requests
    }
}

impl<K: Hash + Eq, V: Weight + Default> Bounded<K, V> {
    /// An empty table of at most `cap` values.
    pub fn new(cap: usize) -> Self {
        Bounded {
            map: FxHashMap::default(),
            cap: cap.max(2),
            dropped_requests: 0,
            dropped_values: 0,
        }
    }

    /// The entry of `key`, made room for if the table is full. `key` is only turned into
    /// an owned key when it is new.
    pub fn entry<Q>(&mut self, key: &Q) -> &mut V
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if !self.map.contains_key(key) {
            if self.map.len() >= self.cap {
                self.shrink();
            }
            self.map.insert(key.to_owned(), V::default());
        }
        self.map.get_mut(key).expect("just inserted")
    }

    fn shrink(&mut self) {
        let mut weights: Vec<u64> = self.map.values().map(Weight::weight).collect();
        let mid = weights.len() / 2;
        let (_, &mut median, _) = weights.select_nth_unstable(mid);
        let before = self.map.len();
        let mut dropped = 0;
        self.map.retain(|_, v| {
            let keep = v.weight() > median;
            if !keep {
                dropped += v.weight();
            }
            keep
        });
        self.dropped_requests += dropped;
        self.dropped_values += (before - self.map.len()) as u64;
    }

    /// The values, any order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }

    /// How many values are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequent_values_survive_a_flood_of_rare_ones() {
        let mut t: Bounded<String, Tally> = Bounded::new(100);
        for round in 0..10_000u32 {
            t.entry("/wp-login.php").add(round % 7);
            t.entry(format!("/rare/{round}").as_str()).add(1);
        }
        assert!(t.len() <= 100);
        let hot = t.iter().find(|(k, _)| *k == "/wp-login.php").unwrap().1;
        assert_eq!(hot.requests, 10_000);
        assert_eq!(hot.clients.len(), 7);
        let held: u64 = t.iter().map(|(_, v)| v.requests).sum();
        assert_eq!(held + t.dropped_requests, 20_000);
        assert!(t.dropped_values > 9_000);
    }
}
