//! The LSH table that proposes near-duplicate candidates during an ingest. Owns the
//! in-memory buckets (band key -> bodies) and which bodies are indexed; the table is
//! persisted as segments in the store and rebuilt from them when an ingest starts.
//! Never decides similarity: it only proposes candidates.

use std::collections::HashMap;

use super::minhash::BandKeys;
use crate::id::BodyHash;

/// The bodies in one bucket: nearly always one.
#[derive(Debug)]
enum Bucket {
    One(u32),
    Many(Vec<u32>),
}

/// Band key -> bodies with that band.
#[derive(Debug, Default)]
pub struct LshIndex {
    bodies: Vec<BodyHash>,
    positions: HashMap<BodyHash, u32>,
    buckets: HashMap<u64, Bucket>,
}

impl LshIndex {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of indexed bodies.
    pub fn len(&self) -> usize {
        self.bodies.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.bodies.is_empty()
    }

    /// Whether a body is indexed.
    pub fn contains(&self, hash: &BodyHash) -> bool {
        self.positions.contains_key(hash)
    }

    /// Indexes a body; false if it was already.
    pub fn insert(&mut self, hash: BodyHash, keys: &BandKeys) -> bool {
        if self.contains(&hash) {
            return false;
        }
        let position = self.bodies.len() as u32;
        self.bodies.push(hash);
        self.positions.insert(hash, position);
        for key in keys {
            match self.buckets.get_mut(key) {
                None => {
                    self.buckets.insert(*key, Bucket::One(position));
                }
                Some(Bucket::One(first)) => {
                    let first = *first;
                    self.buckets.insert(*key, Bucket::Many(vec![first, position]));
                }
                Some(Bucket::Many(list)) => list.push(position),
            }
        }
        true
    }

    /// A body's position (the order it was indexed in).
    pub fn position(&self, hash: &BodyHash) -> Option<u32> {
        self.positions.get(hash).copied()
    }

    /// The body at a position.
    pub fn hash_at(&self, position: u32) -> BodyHash {
        self.bodies[position as usize]
    }

    /// The positions of the indexed bodies sharing at least one band with `keys`, each
    /// once, most bands shared first (the likeliest near-duplicates), then the most
    /// recently indexed.
    pub fn candidates(&self, keys: &BandKeys) -> Vec<u32> {
        let mut found: Vec<u32> = Vec::new();
        for key in keys {
            match self.buckets.get(key) {
                None => {}
                Some(Bucket::One(p)) => found.push(*p),
                Some(Bucket::Many(list)) => found.extend_from_slice(list),
            }
        }
        found.sort_unstable();
        let mut counted: Vec<(u32, u32)> = Vec::new();
        for position in found {
            match counted.last_mut() {
                Some((last, count)) if *last == position => *count += 1,
                _ => counted.push((position, 1)),
            }
        }
        counted.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        counted.into_iter().map(|(position, _)| position).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_sharing_a_band_are_candidates_once_most_shared_first() {
        let mut index = LshIndex::new();
        let a = BodyHash([1; 32]);
        let b = BodyHash([2; 32]);
        let mut keys_a = [0u64; super::super::minhash::BANDS];
        let mut keys_b = keys_a;
        for (i, k) in keys_a.iter_mut().enumerate() {
            *k = i as u64;
        }
        for (i, k) in keys_b.iter_mut().enumerate() {
            *k = 100 + i as u64;
        }
        keys_b[3] = 3;
        keys_b[4] = 4;
        assert!(index.insert(a, &keys_a));
        assert!(!index.insert(a, &keys_a));
        assert_eq!(index.candidates(&keys_b), vec![0]);
        index.insert(b, &keys_b);
        // b shares all its bands with itself, two with a.
        assert_eq!(index.candidates(&keys_b), vec![1, 0]);
        assert_eq!(index.hash_at(0), a);
        assert_eq!(index.position(&b), Some(1));
        assert_eq!(index.len(), 2);
    }
}
