//! The LSH table that proposes near-duplicate candidates during an ingest. Owns the
//! in-memory buckets (band key -> bodies) and which bodies are indexed; the table is
//! persisted as segments in the store and rebuilt from them when an ingest starts.
//! Never decides similarity: it only proposes candidates.
//!
//! A bucket is a chain through the bodies, newest first: each band's table maps a band
//! key to the last body indexed with it, and each body keeps, per band, the body indexed
//! with that key before it. Eight bytes per distinct key and four per body and band, where
//! a vector per bucket took four times that at a million bodies.

use rustc_hash::FxHashMap;

use super::minhash::{BANDS, BandKeys};
use crate::id::BodyHash;

/// The end of a chain.
const NONE: u32 = u32::MAX;

/// Bodies read from one bucket, newest first. A story copied hundreds of times fills
/// its buckets with copies; the newest of them are the candidates worth verifying (a
/// new body joins a group through any one of its members).
pub const CHAIN_LIMIT: usize = 64;

/// Band key -> bodies with that band.
#[derive(Debug)]
pub struct LshIndex {
    bodies: Vec<BodyHash>,
    // Fx hashing: the keys are already uniform hashes (BLAKE3, xxh3), and the default
    // SipHash was a third of loading the table of a million bodies.
    positions: FxHashMap<BodyHash, u32>,
    // One table per band. Keys are 32 bits, so two bands' keys can be equal by chance;
    // in one shared table such a pair would splice one band's chain onto another's and
    // hide the bodies behind it. Twenty small tables also grow in small steps, where
    // one of twenty million keys doubled all at once.
    bands: Vec<Band>,
}

/// One band's buckets.
#[derive(Debug, Default)]
struct Band {
    /// Band key -> the newest body with it.
    newest: FxHashMap<u32, u32>,
    /// Per body: the body indexed with the same key before it.
    earlier: Vec<u32>,
}

impl Band {
    fn push(&mut self, key: u32, position: u32) {
        self.earlier.push(self.newest.insert(key, position).unwrap_or(NONE));
    }
}

/// Builds a table from bodies in the order they were indexed (an archive's segments,
/// read back), on all cores: the bands are independent of each other and of the map of
/// positions, and an ingest into a million-version archive started by spending 0.9 s
/// on them on one core.
pub struct Builder {
    bodies: Vec<BodyHash>,
    /// Per band, each body's key.
    columns: Vec<Vec<u32>>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder { bodies: Vec::new(), columns: vec![Vec::new(); BANDS] }
    }
}

impl Builder {
    /// Adds the next body.
    pub fn push(&mut self, hash: BodyHash, keys: &BandKeys) {
        self.bodies.push(hash);
        self.columns.iter_mut().zip(keys).for_each(|(column, key)| column.push(*key));
    }

    /// The table: each column of keys becomes its band's chain links, in place. A body
    /// listed twice (which no archive should hold) keeps its first place.
    pub fn finish(self) -> LshIndex {
        use rayon::prelude::*;
        let Builder { bodies, columns } = self;
        let mut positions = FxHashMap::default();
        positions.reserve(bodies.len());
        for (position, hash) in bodies.iter().enumerate() {
            positions.entry(*hash).or_insert(position as u32);
        }
        if positions.len() < bodies.len() {
            let mut index = LshIndex::new();
            for (position, hash) in bodies.iter().enumerate() {
                index.insert(*hash, &std::array::from_fn(|band| columns[band][position]));
            }
            return index;
        }
        let bands = columns
            .into_par_iter()
            .map(|mut keys| {
                let mut newest = FxHashMap::default();
                for (position, key) in keys.iter_mut().enumerate() {
                    *key = newest.insert(*key, position as u32).unwrap_or(NONE);
                }
                Band { newest, earlier: keys }
            })
            .collect();
        LshIndex { bodies, positions, bands }
    }
}

impl Default for LshIndex {
    fn default() -> Self {
        LshIndex {
            bodies: Vec::new(),
            positions: FxHashMap::default(),
            bands: (0..BANDS).map(|_| Band::default()).collect(),
        }
    }
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
        for (band, key) in self.bands.iter_mut().zip(keys) {
            band.push(*key, position);
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

    /// The positions of the indexed bodies sharing at least one band with `keys` (the
    /// newest `limit` of each bucket, or all), each once, most bands shared first (the
    /// likeliest near-duplicates), then the most recently indexed.
    pub fn candidates(&self, keys: &BandKeys, limit: Option<usize>) -> Vec<u32> {
        let mut found: Vec<u32> = Vec::new();
        // The bands' chains are walked side by side, one step of each in turn: every
        // step is a read at a random place in a table of tens of megabytes, and a step
        // depends on the one before it in its chain only, so the reads of the `BANDS` chains
        // are in flight together instead of one after another.
        let mut heads: Vec<(usize, u32)> = keys
            .iter()
            .enumerate()
            .filter_map(|(band, key)| self.bands[band].newest.get(key).map(|&at| (band, at)))
            .collect();
        for _ in 0..limit.unwrap_or(usize::MAX) {
            if heads.is_empty() {
                break;
            }
            heads.retain_mut(|(band, at)| {
                found.push(*at);
                *at = self.bands[*band].earlier[*at as usize];
                *at != NONE
            });
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
        let mut keys_a = [0u32; super::super::minhash::BANDS];
        let mut keys_b = keys_a;
        for (i, k) in keys_a.iter_mut().enumerate() {
            *k = i as u32;
        }
        for (i, k) in keys_b.iter_mut().enumerate() {
            *k = 100 + i as u32;
        }
        keys_b[3] = 3;
        keys_b[4] = 4;
        assert!(index.insert(a, &keys_a));
        assert!(!index.insert(a, &keys_a));
        assert_eq!(index.candidates(&keys_b, None), vec![0]);
        index.insert(b, &keys_b);
        // b shares all its bands with itself, two with a.
        assert_eq!(index.candidates(&keys_b, None), vec![1, 0]);
        assert_eq!(index.hash_at(0), a);
        assert_eq!(index.position(&b), Some(1));
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn a_table_built_from_its_bodies_proposes_what_one_indexed_body_by_body_does() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        // Distinct bodies, then some listed twice (the slower path); few distinct keys,
        // so that chains are long and cross.
        for distinct in [500u32, 450] {
            let bodies: Vec<(BodyHash, BandKeys)> = (0..500u32)
                .map(|n| {
                    let mut hash = [0u8; 32];
                    hash[..4].copy_from_slice(&(n % distinct).to_le_bytes());
                    (BodyHash(hash), std::array::from_fn(|_| (next() % 40) as u32))
                })
                .collect();
            let mut one_by_one = LshIndex::new();
            let mut builder = Builder::default();
            for (hash, keys) in &bodies {
                one_by_one.insert(*hash, keys);
                builder.push(*hash, keys);
            }
            let built = builder.finish();
            assert_eq!(built.len(), distinct as usize, "a body listed twice is indexed once");
            for (hash, keys) in &bodies {
                assert_eq!(built.position(hash), one_by_one.position(hash));
                assert_eq!(built.candidates(keys, None), one_by_one.candidates(keys, None));
                assert_eq!(built.candidates(keys, Some(3)), one_by_one.candidates(keys, Some(3)));
            }
        }
        assert!(Builder::default().finish().candidates(&[1; BANDS], None).is_empty());
    }

    #[test]
    fn equal_keys_in_different_bands_do_not_hide_each_others_bodies() {
        let mut index = LshIndex::new();
        let keys = |first: u32, second: u32, rest: u32| {
            let mut keys = [0u32; super::super::minhash::BANDS];
            keys.iter_mut().enumerate().for_each(|(band, k)| *k = rest + band as u32);
            keys[0] = first;
            keys[1] = second;
            keys
        };
        let a = BodyHash([1; 32]);
        let b = BodyHash([2; 32]);
        index.insert(a, &keys(5, 100, 1000));
        // b's second band has the key a's first band has.
        index.insert(b, &keys(200, 5, 2000));
        assert_eq!(index.candidates(&keys(5, 300, 3000), None), vec![0]);
        assert_eq!(index.candidates(&keys(400, 5, 4000), None), vec![1]);
    }

    #[test]
    fn a_crowded_bucket_gives_its_newest_bodies() {
        let mut index = LshIndex::new();
        let shared = [7u32; super::super::minhash::BANDS];
        for n in 0..(CHAIN_LIMIT as u32 + 10) {
            let mut keys = shared;
            keys[1..].iter_mut().enumerate().for_each(|(i, k)| *k = 1000 * n + i as u32 + 100);
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&n.to_le_bytes());
            index.insert(BodyHash(hash), &keys);
        }
        let found = index.candidates(&shared, Some(CHAIN_LIMIT));
        assert_eq!(found.len(), CHAIN_LIMIT);
        assert_eq!(index.candidates(&shared, None).len(), CHAIN_LIMIT + 10);
        assert_eq!(found[0], CHAIN_LIMIT as u32 + 9);
        assert_eq!(*found.last().unwrap(), 10);
    }
}
