//! Word shingles: the unit of similarity. Owns the tokenisation (lower-cased runs of
//! word characters, as Python's `\w+` on lower-cased text) and the 64-bit hashing of
//! every run of [`SHINGLE_WORDS`] words. Never stores anything.

use xxhash_rust::xxh3::xxh3_64;

/// Words per shingle.
pub const SHINGLE_WORDS: usize = 5;

/// The lower-cased words of a text: maximal runs of alphanumeric characters and `_`.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
                w.to_lowercase()
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// The sorted, distinct shingle hashes of a text. A text of fewer than
/// [`SHINGLE_WORDS`] words is one shingle of all its words (none: one empty shingle),
/// so that every text has a non-empty set.
pub fn shingles(text: &str) -> Vec<u64> {
    let word_hashes = word_hashes(text);
    let mut set: Vec<u64> = if word_hashes.len() < SHINGLE_WORDS {
        vec![combine(&word_hashes)]
    } else {
        word_hashes.windows(SHINGLE_WORDS).map(combine).collect()
    };
    set.sort_unstable();
    set.dedup();
    set
}

/// The hash of every word of [`words`], lower-casing into one reused buffer instead of
/// building each word.
fn word_hashes(text: &str) -> Vec<u64> {
    let mut hashes = Vec::with_capacity(text.len() / 6);
    let mut word = String::with_capacity(64);
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c.to_ascii_lowercase());
                continue;
            }
        } else if push_lower_word_char(&mut word, c) {
            continue;
        }
        if !word.is_empty() {
            hashes.push(xxh3_64(word.as_bytes()));
            word.clear();
        }
    }
    if !word.is_empty() {
        hashes.push(xxh3_64(word.as_bytes()));
    }
    hashes
}

/// Appends the lower case of a non-ASCII character to `word` if it is a word character
/// (alphanumeric); false, appending nothing, if it is not.
fn push_lower_word_char(word: &mut String, c: char) -> bool {
    match latin1_word_char(c) {
        Some(Some(lower)) => word.push(lower),
        Some(None) => return false,
        None if c.is_alphanumeric() => word.extend(c.to_lowercase()),
        None => return false,
    }
    true
}

/// For a character of Latin-1's upper half (`Some`): its lower case if it is a word
/// character (`Some(Some)`), else `Some(None)`; `None` for any other character. The
/// table is made by the standard library's own rules, once: Swedish and other European
/// news is full of these letters, and asking Unicode's tables for each was a sixth of
/// shingling.
fn latin1_word_char(c: char) -> Option<Option<char>> {
    static TABLE: std::sync::LazyLock<[Option<char>; 128]> = std::sync::LazyLock::new(|| {
        std::array::from_fn(|at| {
            let c = char::from(0x80 + at as u8);
            // Every Latin-1 letter lower-cases to one character.
            c.is_alphanumeric().then(|| c.to_lowercase().next().unwrap_or(c))
        })
    });
    let code = c as u32;
    (0x80..0x100).contains(&code).then(|| TABLE[(code - 0x80) as usize])
}

/// One hash for a run of word hashes: order matters, so "a b" and "b a" differ.
fn combine(word_hashes: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15 ^ word_hashes.len() as u64;
    for &w in word_hashes {
        h = (h ^ w).wrapping_mul(0x0100_0000_01B3_u64.wrapping_mul(0xFF51_AFD7_ED55_8CCD));
        h ^= h >> 29;
    }
    h
}

/// Size of the intersection of two sorted, distinct sets.
pub fn intersection(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The true similarity of two shingle sets.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Similarity {
    /// |A ∩ B| / |A ∪ B|.
    pub jaccard: f32,
    /// |A ∩ B| / min(|A|, |B|): how much of the shorter text is inside the longer.
    pub containment: f32,
}

/// Jaccard and containment of two sorted, distinct sets.
pub fn similarity(a: &[u64], b: &[u64]) -> Similarity {
    let shared = intersection(a, b);
    let union = a.len() + b.len() - shared;
    let smaller = a.len().min(b.len());
    Similarity {
        jaccard: if union == 0 { 1.0 } else { shared as f32 / union as f32 },
        containment: if smaller == 0 { 1.0 } else { shared as f32 / smaller as f32 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_cased_word_runs() {
        assert_eq!(words("Hej, Världen! it's 2024_x"), vec!["hej", "världen", "it", "s", "2024_x"]);
    }

    #[test]
    fn latin1_letters_are_words_and_lower_cased_as_unicode_says() {
        for code in 0x80u32..0x100 {
            let c = char::from_u32(code).unwrap_or_default();
            let expected = c.is_alphanumeric().then(|| c.to_lowercase().collect::<String>());
            assert_eq!(latin1_word_char(c).map(|lower| lower.map(String::from)), Some(expected), "{c:?}");
        }
        assert_eq!(latin1_word_char('a'), None);
        assert_eq!(latin1_word_char('ő'), None);
        assert_eq!(words("ÅSA ÄLSKAR ÖL, ½ µg ×2"), vec!["åsa", "älskar", "öl", "½", "µg", "2"]);
    }

    #[test]
    fn word_hashes_are_the_hashes_of_the_words() {
        let text = "Hej, Världen! ÅSA it's ½×µ ÆØÞß ŐŒ İstanbul ÿ";
        let expected: Vec<u64> = words(text).iter().map(|w| xxh3_64(w.as_bytes())).collect();
        assert_eq!(word_hashes(text), expected);
    }

    #[test]
    fn shingles_are_runs_of_five_words() {
        assert_eq!(shingles("one two three four five six").len(), 2);
        assert_eq!(shingles("One two three four five"), shingles("one, TWO: three four five!"));
        assert_eq!(shingles("short text").len(), 1);
        assert_eq!(shingles("").len(), 1);
        assert_ne!(shingles("a b c d e"), shingles("e d c b a"));
    }

    #[test]
    fn similarity_is_jaccard_and_containment() {
        let a = [1, 2, 3, 4];
        let b = [3, 4, 5, 6, 7, 8, 9, 10];
        let s = similarity(&a, &b);
        assert_eq!(s.jaccard, 2.0 / 10.0);
        assert_eq!(s.containment, 0.5);
        assert_eq!(similarity(&a, &a).jaccard, 1.0);
    }
}
