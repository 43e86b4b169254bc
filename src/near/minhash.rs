//! MinHash signatures and LSH band keys. Owns the number of hash functions, the
//! banding, and how a band becomes one 32-bit key. Never verifies similarity: band
//! keys only propose candidates, and every reported score is computed on shingles.
//!
//! 20 bands of 5 rows (100 bins): a pair at Jaccard 0.8 shares a band with
//! probability 1 - (1 - 0.8^5)^20 = 0.99965, at 0.9 with 0.9999999, while a pair at 0.3
//! does with 0.047, so few candidates need checking.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Bands per signature.
pub const BANDS: usize = 20;
/// Rows (bins) per band.
pub const ROWS: usize = 5;
/// Bins per signature.
pub const HASHES: usize = BANDS * ROWS;

/// The band keys of a document: one 32-bit key per band.
///
/// 32 bits are enough for keys that only propose candidates: at a million bodies a
/// key meets an unrelated body's in its band with probability 2^20 / 2^32 (0.02%), and
/// such a candidate fails its verification on shingles. Against 64-bit keys they halve
/// the index segments (197 -> 105 MB at a million versions), and candidate lookup for
/// 200 bodies went from 0.76 to 0.43 ms (with the tables split by band).
pub type BandKeys = [u32; BANDS];

/// A band key from a band's 64-bit hash: its low half. Segments written with 64-bit
/// keys are read through this too, so their bodies keep the keys they would get now.
pub fn narrow(wide: u64) -> u32 {
    wide as u32
}

/// The MinHash signature of a shingle set, by one-permutation hashing: each shingle's
/// (already random) 64-bit hash picks one of [`HASHES`] bins with its high bits and
/// competes for that bin's minimum with its low bits, so a signature costs one pass over
/// the shingles instead of one per hash function. Bins left empty (short texts) borrow
/// from the next non-empty bin to their right, offset by the distance, so that two sets
/// still agree on a bin with probability close to their Jaccard similarity.
pub fn signature(shingles: &[u64]) -> [u64; HASHES] {
    let mut mins = [u64::MAX; HASHES];
    for &s in shingles {
        let mixed = mix(s);
        let bin = (((mixed >> 32) * HASHES as u64) >> 32) as usize;
        let value = mixed & 0xFFFF_FFFF;
        if value < mins[bin] {
            mins[bin] = value;
        }
    }
    densify(&mut mins);
    mins
}

/// Fills empty bins by rotation: bin i takes the value of the first non-empty bin
/// i + d (cyclically), plus d * 2^32, so borrowed values never equal filled ones.
fn densify(mins: &mut [u64; HASHES]) {
    if mins.iter().all(|&m| m == u64::MAX) {
        return;
    }
    let filled = *mins;
    for i in 0..HASHES {
        if filled[i] != u64::MAX {
            continue;
        }
        let (distance, value) = (1..HASHES)
            .map(|d| (d, filled[(i + d) % HASHES]))
            .find(|(_, v)| *v != u64::MAX)
            .expect("some bin is filled, checked above");
        mins[i] = value + ((distance as u64) << 32);
    }
}

/// A bijective mix of a shingle hash, so that the bin and the value are independent
/// whatever hash made the shingle (splitmix64's finaliser).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The band keys of a shingle set.
pub fn band_keys(shingles: &[u64]) -> BandKeys {
    let sig = signature(shingles);
    std::array::from_fn(|band| {
        let rows = &sig[band * ROWS..(band + 1) * ROWS];
        let mut bytes = [0u8; ROWS * 8];
        for (chunk, value) in bytes.chunks_exact_mut(8).zip(rows) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        narrow(xxh3_64_with_seed(&bytes, band as u64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_sets_share_every_band_and_disjoint_sets_none() {
        let a: Vec<u64> = (0..200).collect();
        let b: Vec<u64> = (1000..1200).collect();
        assert_eq!(band_keys(&a), band_keys(&a));
        let (ka, kb) = (band_keys(&a), band_keys(&b));
        assert!(ka.iter().zip(&kb).all(|(x, y)| x != y));
    }

    #[test]
    fn short_sets_fill_every_bin_and_agree_with_themselves() {
        let sig = signature(&[42, 43]);
        assert!(sig.iter().all(|&m| m != u64::MAX));
        assert_eq!(band_keys(&[42, 43]), band_keys(&[42, 43]));
    }

    #[test]
    fn bins_agree_about_as_often_as_the_sets_overlap() {
        // Jaccard 0.5: 300 shared of 600 in the union.
        let a: Vec<u64> = (0..450).map(|x| x * 0x9E37_79B9).collect();
        let b: Vec<u64> = (150..600).map(|x| x * 0x9E37_79B9).collect();
        let agree = signature(&a).iter().zip(signature(&b).iter()).filter(|(x, y)| x == y).count();
        assert!((35..=65).contains(&agree), "{agree} of 100 bins agree");
    }

    #[test]
    fn similar_sets_share_a_band() {
        // Jaccard 180/220 = 0.82.
        let a: Vec<u64> = (0..200).map(|x| x * 7919).collect();
        let b: Vec<u64> = (20..220).map(|x| x * 7919).collect();
        let (ka, kb) = (band_keys(&a), band_keys(&b));
        assert!(ka.iter().zip(&kb).any(|(x, y)| x == y));
    }
}
