//! The LSH table that proposes near-duplicate candidates during an ingest. Owns the
//! in-memory buckets (band key -> bodies) and which bodies are indexed; the table is
//! persisted as segments in the store and rebuilt from them when an ingest starts.
//! Never decides similarity: it only proposes candidates.
//!
//! A bucket is a chain through the bodies, newest first: each band's table maps a band
//! key to the last body indexed with it, and each body keeps, per band, the body indexed
//! with that key before it. Eight bytes per distinct key and four per body and band, where
//! a vector per bucket took four times that at a million bodies. A body's links of every
//! band are side by side: copies of one story share most of their bands, so the chains
//! of those bands step through the same bodies, and the read that brings one band's next
//! step brings the others' (candidates among a million bodies in twenty copies each: 51 µs
//! a body with a column per band).

use rustc_hash::FxHashMap;

use super::minhash::{BANDS, BandKeys};
use crate::id::BodyHash;

/// The end of a chain.
const NONE: u32 = u32::MAX;

// A body's bands at a step of [`LshIndex::candidates`] are bits of a `u32`.
const _: () = assert!(BANDS <= 32);

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
    // Per band, band key -> the newest body with it. Keys are 32 bits, so two bands'
    // keys can be equal by chance; in one shared table such a pair would splice one
    // band's chain onto another's and hide the bodies behind it. Twenty small tables
    // also grow in small steps, where one of twenty million keys doubled all at once.
    newest: Vec<FxHashMap<u32, u32>>,
    /// Per body, per band: the body indexed with the same key before it.
    earlier: Vec<[u32; BANDS]>,
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

    /// The table: each column of keys becomes its band's chain links, in place and a
    /// band to a core, and the columns are then laid side by side, a body's links
    /// together. A body listed twice (which no archive should hold) keeps its first place.
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
        let links: Vec<(FxHashMap<u32, u32>, Vec<u32>)> = columns
            .into_par_iter()
            .map(|mut keys| {
                let mut newest = FxHashMap::default();
                for (position, key) in keys.iter_mut().enumerate() {
                    *key = newest.insert(*key, position as u32).unwrap_or(NONE);
                }
                (newest, keys)
            })
            .collect();
        let (newest, columns): (Vec<_>, Vec<_>) = links.into_iter().unzip();
        let earlier = (0..bodies.len()).map(|at| std::array::from_fn(|band| columns[band][at])).collect();
        LshIndex { bodies, positions, newest, earlier }
    }
}

impl Default for LshIndex {
    fn default() -> Self {
        LshIndex {
            bodies: Vec::new(),
            positions: FxHashMap::default(),
            newest: vec![FxHashMap::default(); BANDS],
            earlier: Vec::new(),
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
        let links =
            std::array::from_fn(|band| self.newest[band].insert(keys[band], position).unwrap_or(NONE));
        self.earlier.push(links);
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
        let limit = limit.map_or(u32::MAX, |limit| u32::try_from(limit).unwrap_or(u32::MAX));
        // Each chain runs newest first, so they are merged by always taking the newest
        // body any chain is at: the bodies come out newest first with the number of
        // bands they share, and no list of every step is sorted. The chains of a story's
        // copies are at the same body together and step together, through one read of
        // that body's links. A head is a position plus one, zero once its chain has
        // ended (the end, u32::MAX, wraps to it): a step compares every band's head at
        // once into a mask of the bands at the newest body, and moves only those. A list
        // of heads that dropped ended chains took a twentieth of a record's cost at a
        // million versions, and 27-34% longer than this (benches/near.rs).
        let mut heads: [u32; BANDS] = std::array::from_fn(|band| {
            self.newest[band].get(&keys[band]).map_or(0, |&at| at.wrapping_add(1))
        });
        if limit == 0 {
            heads = [0; BANDS];
        }
        let mut taken = [0u32; BANDS];
        let mut counted: Vec<(u32, u32)> = Vec::new();
        loop {
            let newest = heads.iter().copied().max().unwrap_or(0);
            if newest == 0 {
                break;
            }
            let links = &self.earlier[newest as usize - 1];
            let mut here = 0u32;
            for (band, head) in heads.iter().enumerate() {
                here |= u32::from(*head == newest) << band;
            }
            counted.push((newest - 1, here.count_ones()));
            while here != 0 {
                let band = here.trailing_zeros() as usize;
                here &= here - 1;
                taken[band] += 1;
                heads[band] = if taken[band] < limit { links[band].wrapping_add(1) } else { 0 };
            }
        }
        // Stable: among bodies sharing as many bands, the newest stays first.
        counted.sort_by_key(|&(_, shared)| std::cmp::Reverse(shared));
        counted.into_iter().map(|(position, _)| position).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeatable stream of pseudo-random numbers.
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

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
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
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

    /// What `candidates` must give, worked out the slow way: per band, the newest
    /// `limit` bodies with its key; each body once, most bands first, then newest.
    fn candidates_by_scanning(indexed: &[BandKeys], keys: &BandKeys, limit: usize) -> Vec<u32> {
        let mut shared = std::collections::BTreeMap::<u32, u32>::new();
        for band in 0..BANDS {
            let with_key =
                (0..indexed.len() as u32).rev().filter(|&at| indexed[at as usize][band] == keys[band]);
            for at in with_key.take(limit) {
                *shared.entry(at).or_default() += 1;
            }
        }
        let mut ranked: Vec<(u32, u32)> = shared.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        ranked.into_iter().map(|(at, _)| at).collect()
    }

    #[test]
    fn candidates_are_the_newest_of_each_bucket_most_bands_shared_first() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        // Few distinct keys: long chains that cross and share bodies.
        let indexed: Vec<BandKeys> = (0..400).map(|_| std::array::from_fn(|_| (next() % 6) as u32)).collect();
        let mut index = LshIndex::new();
        for (n, keys) in indexed.iter().enumerate() {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&(n as u32).to_le_bytes());
            index.insert(BodyHash(hash), keys);
        }
        for _ in 0..50 {
            let keys: BandKeys = std::array::from_fn(|_| (next() % 8) as u32);
            for limit in [0, 1, 3, 64] {
                assert_eq!(
                    index.candidates(&keys, Some(limit)),
                    candidates_by_scanning(&indexed, &keys, limit)
                );
            }
            assert_eq!(index.candidates(&keys, None), candidates_by_scanning(&indexed, &keys, usize::MAX));
        }
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
