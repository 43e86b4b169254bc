//! Near-duplicate detection during an ingest: the LSH table rebuilt from the store's
//! segments, exact verification of each candidate, and the segment of newly indexed
//! bodies written once per batch. Owns the cache of recent shingle sets; never decides
//! what a match means for articles (that is [`crate::archive`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::index::LshIndex;
use super::minhash::{self, BandKeys};
use super::shingle::{self, Similarity};
use crate::error::{Error, Result};
use crate::id::BodyHash;
use crate::store::Store;

/// Shingle sets kept in memory for verification: revisions and copies tend to arrive
/// close together, so recent bodies are the likely candidates.
const CACHE_BODIES: usize = 50_000;

/// A body's shingles and band keys, computed while a batch is prepared.
#[derive(Clone, Debug)]
pub struct Fingerprint {
    /// Sorted, distinct shingle hashes.
    pub shingles: Arc<Vec<u64>>,
    /// LSH band keys.
    pub bands: BandKeys,
}

impl Fingerprint {
    /// The fingerprint of a normalised body.
    pub fn of(body: &str) -> Fingerprint {
        let shingles = shingle::shingles(body);
        let bands = minhash::band_keys(&shingles);
        Fingerprint { shingles: Arc::new(shingles), bands }
    }
}

/// The near-duplicate state of one ingest.
pub struct Tracker {
    index: LshIndex,
    cache: HashMap<BodyHash, Arc<Vec<u64>>>,
    cache_order: VecDeque<BodyHash>,
    pending: Vec<(BodyHash, BandKeys)>,
    pending_pairs: Vec<(BodyHash, BodyHash, Similarity)>,
}

impl Tracker {
    /// Rebuilds the LSH table from the archive's segments.
    pub fn load(store: &Store) -> Result<Tracker> {
        let mut index = LshIndex::new();
        for segment in store.near_segments() {
            for (hash, bands) in segment? {
                index.insert(hash, &bands);
            }
        }
        Ok(Tracker {
            index,
            cache: HashMap::new(),
            cache_order: VecDeque::new(),
            pending: Vec::new(),
            pending_pairs: Vec::new(),
        })
    }

    /// Whether a body is indexed.
    pub fn is_indexed(&self, hash: &BodyHash) -> bool {
        self.index.contains(hash)
    }

    /// Indexes a body not indexed yet: verifies every candidate on shingles, keeps the
    /// pairs worth keeping for the next segment, and returns them.
    pub fn index_body(
        &mut self,
        store: &Store,
        hash: BodyHash,
        fingerprint: &Fingerprint,
    ) -> Result<Vec<(BodyHash, Similarity)>> {
        // A text without words (an empty page) is nobody's copy.
        if fingerprint.shingles.as_slice() == shingle::shingles("") {
            return Ok(Vec::new());
        }
        let mut kept = Vec::new();
        for candidate in self.index.candidates(&fingerprint.bands) {
            let other = self.shingles_of(store, &candidate)?;
            let similarity = shingle::similarity(&fingerprint.shingles, &other);
            if super::is_kept(&similarity) {
                self.pending_pairs.push((hash, candidate, similarity));
                kept.push((candidate, similarity));
            }
        }
        self.index.insert(hash, &fingerprint.bands);
        self.pending.push((hash, fingerprint.bands));
        self.remember(hash, fingerprint.shingles.clone());
        Ok(kept)
    }

    /// Writes the pairs found since the last call (at once, so that no pair is ever
    /// stored one way only), then the bodies indexed since as one segment. A body
    /// counts as indexed only once its segment is written, so a crash before that
    /// has the next ingest index it again and find the same pairs.
    pub fn write_segment(&mut self, store: &Store) -> Result<()> {
        if !self.pending_pairs.is_empty() {
            store.put_similar_pairs(&self.pending_pairs)?;
            self.pending_pairs.clear();
        }
        if !self.pending.is_empty() {
            store.put_near_segment(&self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }

    fn shingles_of(&mut self, store: &Store, hash: &BodyHash) -> Result<Arc<Vec<u64>>> {
        if let Some(found) = self.cache.get(hash) {
            return Ok(found.clone());
        }
        let body = store.body(hash)?.ok_or_else(|| Error::Corrupt {
            tree: "near_segments",
            detail: format!("indexed body {} is missing (run `newsvault verify`)", hash.short()),
        })?;
        let shingles = Arc::new(shingle::shingles(&body));
        self.remember(*hash, shingles.clone());
        Ok(shingles)
    }

    fn remember(&mut self, hash: BodyHash, shingles: Arc<Vec<u64>>) {
        if self.cache.insert(hash, shingles).is_none() {
            self.cache_order.push_back(hash);
        }
        while self.cache_order.len() > CACHE_BODIES {
            if let Some(old) = self.cache_order.pop_front() {
                self.cache.remove(&old);
            }
        }
    }
}
