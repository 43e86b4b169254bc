//! Near-duplicate recall and precision on real revisions and wire copies: the pairs the
//! archive finds at ingest against every pair found exactly, by an independent
//! all-pairs similarity join written here (word 5-shingles as strings, prefix filtering).

mod common;

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use common::corpus_dir;

const THRESHOLD: f64 = 0.8;
/// How many newsdiffs-se versions the test ingests.
const VERSIONS: usize = 10_000;

#[test]
fn near_duplicates_found_at_ingest_match_an_exact_join() {
    let Some(corpus) = corpus_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let slice = dir.path().join("slice.jsonl");
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(
        std::fs::File::open(corpus.join("newsdiffs-se/versions.jsonl.gz")).unwrap(),
    ));
    let lines: Vec<String> = reader.lines().take(VERSIONS).map(Result::unwrap).collect();
    std::fs::write(&slice, lines.join("\n")).unwrap();

    let archive = newsvault::Archive::open_or_create(&dir.path().join("a")).unwrap();
    let summary = archive.ingest(&[slice], &Default::default(), &newsvault::NoProgress).unwrap();
    assert_eq!(summary.rejected, 0);

    let bodies: Vec<(newsvault::BodyHash, String)> = archive.bodies().map(Result::unwrap).collect();
    let sets: Vec<HashSet<String>> = bodies.iter().map(|(_, text)| shingle_set(text)).collect();
    let truth: HashSet<(usize, usize)> = exact_pairs(&sets, THRESHOLD);
    let position: HashMap<newsvault::BodyHash, usize> =
        bodies.iter().enumerate().map(|(i, (h, _))| (*h, i)).collect();

    let found = archive.near_pairs(THRESHOLD as f32).unwrap();
    let mut true_found = 0;
    for (a, b, similarity) in &found {
        let (i, j) = (position[a], position[b]);
        let exact = jaccard(&sets[i], &sets[j]);
        assert!(
            (exact - similarity.jaccard as f64).abs() < 1e-4,
            "reported {} but exactly {exact}",
            similarity.jaccard
        );
        if truth.contains(&(i.min(j), i.max(j))) {
            true_found += 1;
        }
    }
    let recall = true_found as f64 / truth.len() as f64;
    let precision = true_found as f64 / found.len() as f64;
    eprintln!(
        "{} distinct bodies, {} true pairs at Jaccard >= {THRESHOLD}, {} found: recall {recall:.4}, precision {precision:.4}",
        bodies.len(),
        truth.len(),
        found.len()
    );
    assert!(truth.len() > 500, "the slice holds many revisions and copies");
    assert!(recall >= 0.999, "recall {recall}");
    assert_eq!(precision, 1.0);
}

/// Lower-cased runs of word characters, 5 at a time, joined by a space; fewer than 5
/// words make one shingle of them all.
fn shingle_set(text: &str) -> HashSet<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> =
        lower.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    if words.len() < 5 {
        return HashSet::from([words.join(" ")]);
    }
    words.windows(5).map(|w| w.join(" ")).collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let shared = a.intersection(b).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

/// Every pair with Jaccard >= t: prefix filtering over shingles ordered rarest first.
fn exact_pairs(sets: &[HashSet<String>], t: f64) -> HashSet<(usize, usize)> {
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for set in sets {
        for s in set {
            *frequency.entry(s).or_default() += 1;
        }
    }
    let mut order: Vec<usize> = (0..sets.len()).collect();
    order.sort_by_key(|&i| sets[i].len());
    let mut index: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut pairs = HashSet::new();
    for i in order {
        let n = sets[i].len();
        let mut tokens: Vec<&str> = sets[i].iter().map(String::as_str).collect();
        tokens.sort_by_key(|s| (frequency[s], *s));
        let prefix = n - (t * n as f64).ceil() as usize + 1;
        let mut candidates = HashSet::new();
        for token in &tokens[..prefix.min(n)] {
            let posting = index.entry(token).or_default();
            candidates.extend(posting.iter().copied());
            posting.push(i);
        }
        for j in candidates {
            if (sets[j].len() as f64) >= t * n as f64 && jaccard(&sets[i], &sets[j]) >= t {
                pairs.insert((i.min(j), i.max(j)));
            }
        }
    }
    pairs
}
