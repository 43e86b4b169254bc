//! Near-duplicates: revisions of one article and syndicated copies across outlets.
//! Owns shingling, MinHash/LSH candidate generation, exact verification on shingles,
//! the groups kept in the archive, and the questions asked of them (`near`, `clusters`).
//! Never reports an estimated score: every pair's Jaccard and containment are computed
//! on the two shingle sets.
//!
//! How it works: at ingest, every new body's shingles (lower-cased `\w+` words, 5 at a
//! time) get a 100-hash MinHash signature cut into 20 bands of 5. Bodies sharing a band
//! with it are candidates; a candidate whose true similarity reaches [`KEEP_JACCARD`]
//! (or [`KEEP_CONTAINMENT`]) puts the new body in its group (see [`tracker`]). The
//! archive keeps the groups, not the pairs: `near` and `clusters` compute the scores
//! within a group from the texts when asked, so every score shown is exact and the
//! archive grows with the number of bodies, not with the square of a group's size.

pub mod groups;
pub mod index;
pub mod minhash;
pub mod query;
pub mod shingle;
pub mod tracker;

pub use shingle::Similarity;

/// Pairs at or above this Jaccard are kept.
pub const KEEP_JACCARD: f32 = 0.5;
/// Pairs at or above this containment are kept, whatever their Jaccard.
pub const KEEP_CONTAINMENT: f32 = 0.8;
/// The Jaccard at which a new body counts as a near-duplicate in the ingest summary and
/// links a record without a URL to an article (the `near` default threshold too).
pub const NEAR_JACCARD: f32 = 0.8;

/// Whether a verified pair is worth keeping.
pub fn is_kept(similarity: &Similarity) -> bool {
    similarity.jaccard >= KEEP_JACCARD || similarity.containment >= KEEP_CONTAINMENT
}
