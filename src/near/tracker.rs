//! Near-duplicate detection during an ingest: the LSH table and the groups rebuilt
//! from the store, exact verification of candidates, and what one batch added (its
//! bodies' band keys and places in the packs, and the joins they made), written once
//! per batch. Owns the cache of recent shingle sets and where each indexed body is;
//! never decides what a match means for articles (that is [`crate::archive`]).
//!
//! A new body joins the group of every stored body it is verified to resemble (a
//! kept pair, [`super::is_kept`]); groups it bridges become one. So a body is checked
//! against one or a few members of each group its candidates fall in, not against
//! every member: a story copied a hundred times costs the hundred-and-first copy a
//! verification or two, not a hundred. A candidate's text is read from the pack where
//! its segment (or this ingest) placed it, not looked up in sled, whose bodies tree
//! outgrows its cache long before a million versions.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::groups::Groups;
use super::index::{self, LshIndex};
use super::minhash::{self, BandKeys};
use super::shingle::{self, Similarity};
use crate::error::{Error, Result};
use crate::id::BodyHash;
use crate::store::pack::Location;
use crate::store::{Joins, StagedNear, Store};

/// Shingle sets kept in memory for verification: the bodies indexed most recently,
/// since revisions and copies tend to arrive close together. The least recently used
/// goes first, and a body goes first once a newer one nearly the same stands in for it
/// (see [`Tracker::index_body`]); bodies read back from the store are not kept. A
/// scrape repeated daily brings back each story as a new body a day's worth of bodies
/// later, and in the million-version replay (a round of 49,097 bodies) keeping old
/// bodies read back, and copies a newer one stands in for, pushed out the previous
/// round's copies: store reads per body indexed fell from 0.65 to 0.23 at 700,000
/// bodies without them.
const CACHE_BODIES: NonZeroUsize = NonZeroUsize::new(50_000).expect("not zero");

/// Candidates verified per group, among those in memory and again among those in the
/// store, before the group is given up on. Candidates come most-bands-shared first, so
/// a group whose likeliest members fail this often holds nothing the new body resembles.
const TRIES_PER_GROUP: usize = 4;

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

/// How thoroughly a new body is compared with the stored ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// Enough to place it in its groups.
    Groups,
    /// Every candidate, for a record whose article is chosen by similarity.
    Every,
}

/// The near-duplicate state of one ingest.
pub struct Tracker {
    index: LshIndex,
    groups: Groups,
    // Fx hashing: body hashes are uniform already, and every candidate is looked up.
    cache: LruCache<BodyHash, Arc<Vec<u64>>, FxBuildHasher>,
    /// Cached bodies a newer one nearly the same stands in for, to go first from the
    /// cache once the batch is written (until then the batch's bodies are read from
    /// memory only, and must not be pushed out).
    stood_in_for: Vec<BodyHash>,
    pending: Vec<(BodyHash, BandKeys)>,
    pending_joins: Vec<Joins>,
    staged: Option<StagedNear>,
    next_segment: u64,
    /// Where each indexed body is in the packs, by index position, where its segment
    /// or this ingest said (see [`Store::body_with`]).
    located: Vec<Option<Location>>,
}

impl Tracker {
    /// Rebuilds the LSH table and the groups from the archive.
    pub fn load(store: &Store) -> Result<Tracker> {
        let mut builder = index::Builder::default();
        let mut located = Vec::new();
        let mut next_segment = 0;
        for segment in store.near_segments() {
            let (number, entries) = segment?;
            for (hash, bands, at) in entries? {
                builder.push(hash, &bands);
                located.push(at);
            }
            next_segment = number + 1;
        }
        let index = builder.finish();
        if located.len() != index.len() {
            // A body listed twice: places by position are not worth working out for what
            // no archive should hold, and the store knows them all.
            located = vec![None; index.len()];
        }
        let mut groups = Groups::with_len(index.len());
        let unindexed = |hash: &BodyHash| Error::Corrupt {
            tree: "near",
            detail: format!("a join names unindexed body {} (run `newsvault verify`)", hash.short()),
        };
        let mut keys = Vec::new();
        store.for_each_join(|body, others| {
            let position = index.position(body).ok_or_else(|| unindexed(body))?;
            keys.clear();
            for other in others {
                let key = groups.key_of(index.position(other).ok_or_else(|| unindexed(other))?);
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            groups.join(position, &keys);
            Ok(())
        })?;
        Ok(Tracker {
            index,
            groups,
            cache: LruCache::with_hasher(CACHE_BODIES, FxBuildHasher),
            stood_in_for: Vec::new(),
            pending: Vec::new(),
            pending_joins: Vec::new(),
            staged: None,
            next_segment,
            located,
        })
    }

    /// Whether a body is indexed.
    pub fn is_indexed(&self, hash: &BodyHash) -> bool {
        self.index.contains(hash)
    }

    /// Indexes a body not indexed yet: verifies candidates on shingles, joins the
    /// groups of those worth keeping, and returns the verified pairs.
    pub fn index_body(
        &mut self,
        store: &Store,
        hash: BodyHash,
        fingerprint: &Fingerprint,
        search: Search,
    ) -> Result<Vec<(BodyHash, Similarity)>> {
        // A text without words (an empty page) is nobody's copy.
        if fingerprint.shingles.as_slice() == shingle::shingles("") {
            return Ok(Vec::new());
        }
        let mut kept = Vec::new();
        let mut joined: Vec<u32> = Vec::new();
        // One verified member of each group joined: what the archive records.
        let mut through = Vec::new();
        let limit = match search {
            Search::Groups => Some(index::CHAIN_LIMIT),
            Search::Every => None,
        };
        // Candidates whose shingles are in memory first: any verified member places the
        // body in its group, and one in memory costs a comparison where one in the pack
        // costs a read, a decompression and shingling. In the million-version replay a
        // story's newest copy is in memory and the copies sharing the most bands mostly
        // are not: verifying those came to a third of the cost of a record at the end.
        // Each pass has its own tries per group, so every candidate the order by bands
        // shared alone would have tried is still tried if its group is not joined.
        let (in_memory, in_store): (Vec<u32>, Vec<u32>) = self
            .index
            .candidates(&fingerprint.bands, limit)
            .into_iter()
            .partition(|&candidate| self.cache.contains(&self.index.hash_at(candidate)));
        for pass in [in_memory, in_store] {
            let mut tries: FxHashMap<u32, usize> = FxHashMap::default();
            for candidate in pass {
                let group = self.groups.key_of(candidate);
                if search == Search::Groups {
                    let tried = tries.entry(group).or_default();
                    if joined.contains(&group) || *tried >= TRIES_PER_GROUP {
                        continue;
                    }
                    *tried += 1;
                }
                let other_hash = self.index.hash_at(candidate);
                let other = self.shingles_of(store, &other_hash)?;
                let similarity = shingle::similarity(&fingerprint.shingles, &other);
                if super::is_kept(&similarity) {
                    if similarity.jaccard >= super::NEAR_JACCARD {
                        // Whatever would find the older body finds this one too.
                        self.stood_in_for.push(other_hash);
                    }
                    kept.push((other_hash, similarity));
                    if !joined.contains(&group) {
                        joined.push(group);
                        through.push(other_hash);
                    }
                }
            }
        }
        self.index.insert(hash, &fingerprint.bands);
        let position = self.groups.push();
        self.groups.join(position, &joined);
        self.pending.push((hash, fingerprint.bands));
        if !through.is_empty() {
            self.pending_joins.push((hash, through));
        }
        self.cache.put(hash, fingerprint.shingles.clone());
        Ok(kept)
    }

    /// Queues the bodies indexed since the last segment, with where each is and the
    /// joins indexing them made, for the pack, to be made durable with the batch's
    /// bodies. `staged` is where this batch's bodies will be; a body stored before (one
    /// a stopped ingest left unindexed) is where the store says.
    pub fn stage_segment(&mut self, store: &Store, staged: &HashMap<BodyHash, Location>) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut entries = Vec::with_capacity(self.pending.len());
        for (hash, bands) in &self.pending {
            let at = match staged.get(hash) {
                Some(at) => Some(*at),
                None => store.body_entry(hash)?.map(|entry| entry.at),
            };
            entries.push((*hash, *bands, at));
        }
        self.staged = Some(store.stage_near_batch(&entries, &self.pending_joins)?);
        Ok(())
    }

    /// Records the staged segment and its joins, in one atomic batch, once the pack
    /// holds them. A body counts as indexed only once its segment is recorded, so a
    /// crash before that has the next ingest index it again and place it in the same
    /// groups.
    pub fn write_segment(&mut self, store: &Store) -> Result<()> {
        for hash in std::mem::take(&mut self.stood_in_for) {
            self.cache.demote(&hash);
        }
        let Some(staged) = self.staged.take() else { return Ok(()) };
        store.put_near_batch(self.next_segment, staged)?;
        self.next_segment += 1;
        self.pending.clear();
        self.pending_joins.clear();
        Ok(())
    }

    fn shingles_of(&mut self, store: &Store, hash: &BodyHash) -> Result<Arc<Vec<u64>>> {
        if let Some(found) = self.cache.get(hash) {
            return Ok(found.clone());
        }
        let body = store.body_with(hash, &|body| self.location(body))?.ok_or_else(|| Error::Corrupt {
            tree: "near",
            detail: format!("indexed body {} is missing (run `newsvault verify`)", hash.short()),
        })?;
        // Not kept: an old body read back would push out a newer one, and the body
        // indexed now stands in for it (see CACHE_BODIES).
        Ok(Arc::new(shingle::shingles(&body)))
    }

    /// Records where this ingest stored an indexed body (once the pack holds it).
    pub fn located(&mut self, hash: &BodyHash, at: Location) {
        let Some(slot) = self.index.position(hash) else { return };
        let slot = slot as usize;
        if self.located.len() <= slot {
            self.located.resize(slot + 1, None);
        }
        self.located[slot] = Some(at);
    }

    /// Where an indexed body is, if its segment or this ingest said.
    pub fn location(&self, hash: &BodyHash) -> Option<Location> {
        self.located.get(self.index.position(hash)? as usize).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OpenMode;

    const STORY: &str = "the ferry to the northern islands left an hour late on monday because fog \
        lay over the sound until noon and the harbour office asked every skipper to wait for \
        the pilot boat before they crossed the shipping lane near the old lighthouse";

    /// An archive with nothing stored: reading any body from it fails.
    fn empty_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), OpenMode::Create).unwrap();
        (dir, store)
    }

    fn hashes(joined: &[(BodyHash, Similarity)]) -> Vec<BodyHash> {
        joined.iter().map(|(hash, _)| *hash).collect()
    }

    #[test]
    fn a_group_with_a_member_in_memory_is_joined_without_reading_the_store() {
        let (_dir, store) = empty_store();
        let mut tracker = Tracker::load(&store).unwrap();
        let first = STORY.to_string();
        let revised = STORY.replace("an hour", "two hours").replace("monday", "tuesday");
        // The same words as the first: every band shared with it, fewer with the revision.
        let copy = format!("{STORY}.");
        let [first_hash, revised_hash, copy_hash] = [&first, &revised, &copy].map(|text| BodyHash::of(text));
        let fingerprint = |text: &str| Fingerprint::of(text);

        tracker.index_body(&store, first_hash, &fingerprint(&first), Search::Groups).unwrap();
        let joined =
            tracker.index_body(&store, revised_hash, &fingerprint(&revised), Search::Groups).unwrap();
        assert_eq!(hashes(&joined), vec![first_hash]);
        // The first body is out of memory now, as an old one is.
        tracker.cache.pop(&first_hash);

        let copy_print = fingerprint(&copy);
        let by_bands = tracker.index.candidates(&copy_print.bands, None);
        assert_eq!(by_bands.first().map(|&at| tracker.index.hash_at(at)), Some(first_hash));
        let joined = tracker.index_body(&store, copy_hash, &copy_print, Search::Groups).unwrap();
        assert_eq!(hashes(&joined), vec![revised_hash]);
        let position = |hash| tracker.index.position(&hash).unwrap();
        assert_eq!(tracker.groups.key_of(position(copy_hash)), tracker.groups.key_of(position(first_hash)));
    }

    #[test]
    fn a_body_that_repeats_a_cached_one_is_the_next_to_leave_the_cache() {
        let (_dir, store) = empty_store();
        let mut tracker = Tracker::load(&store).unwrap();
        let first = STORY.to_string();
        let other = "a different story about the price of bread in the market towns, told in \
            other words from the first line to the last, with nothing shared but a few words";
        let repeat = format!("{STORY}.");
        let [first_hash, other_hash, repeat_hash] = [&first, other, &repeat].map(BodyHash::of);
        let least_recent = |tracker: &Tracker| tracker.cache.peek_lru().map(|(hash, _)| *hash);

        for (hash, text) in [(first_hash, first.as_str()), (other_hash, other)] {
            let joined = tracker.index_body(&store, hash, &Fingerprint::of(text), Search::Groups).unwrap();
            assert!(joined.is_empty());
        }
        let joined =
            tracker.index_body(&store, repeat_hash, &Fingerprint::of(&repeat), Search::Groups).unwrap();
        assert_eq!(hashes(&joined), vec![first_hash]);
        assert!(joined[0].1.jaccard >= super::super::NEAR_JACCARD);
        // Verifying the first used it; it stays in place until the batch is written,
        // since until then the batch's bodies are read from memory.
        assert_eq!(least_recent(&tracker), Some(other_hash));
        tracker.write_segment(&store).unwrap();
        assert_eq!(least_recent(&tracker), Some(first_hash));
        assert_eq!(tracker.cache.len(), 3);
    }
}
