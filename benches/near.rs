//! Near-duplicate stages on real articles: shingling, signatures and band keys, and
//! candidate lookup in an LSH table of every newsdiffs-se body.

use std::io::BufRead;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use newsvault::near::index::LshIndex;
use newsvault::near::{minhash, shingle};

fn corpus_bodies(limit: usize) -> Vec<String> {
    let corpus = std::env::var_os("NEWSVAULT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let file = std::fs::File::open(corpus.join("newsdiffs-se/versions.jsonl.gz"))
        .expect("the corpus is needed for benchmarks: set NEWSVAULT_CORPUS");
    std::io::BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .take(limit)
        .map(|line| {
            let record = newsvault::ingest::json::parse_record(&line.expect("a line")).expect("a record");
            newsvault::normalize::normalize(&record.body)
        })
        .collect()
}

fn stages(c: &mut Criterion) {
    let bodies = corpus_bodies(usize::MAX);
    let sample: Vec<&String> = bodies.iter().step_by(97).take(200).collect();
    let words: usize = sample.iter().map(|b| b.split_whitespace().count()).sum();
    eprintln!("{} sample bodies, {} words on average", sample.len(), words / sample.len());

    c.bench_function("shingle 200 bodies", |b| {
        b.iter(|| sample.iter().map(|t| shingle::shingles(t).len()).sum::<usize>())
    });
    let sets: Vec<Vec<u64>> = sample.iter().map(|t| shingle::shingles(t)).collect();
    c.bench_function("band keys of 200 bodies", |b| {
        b.iter(|| sets.iter().map(|s| minhash::band_keys(s)[0]).fold(0u32, |a, k| a ^ k))
    });

    let mut index = LshIndex::new();
    for body in &bodies {
        index.insert(newsvault::BodyHash::of(body), &minhash::band_keys(&shingle::shingles(body)));
    }
    let keys: Vec<minhash::BandKeys> = sets.iter().map(|s| minhash::band_keys(s)).collect();
    c.bench_function(&format!("candidates of 200 bodies among {}", index.len()), |b| {
        b.iter(|| keys.iter().map(|k| index.candidates(k, Some(64)).len()).sum::<usize>())
    });

    // The million-version replay's shape: every body 20 times over, each copy with a
    // few bands of its own (an edit), so that buckets hold 20 copies of a story and the
    // table is too large for the processor's caches.
    let mut crowded = LshIndex::new();
    let all_keys: Vec<minhash::BandKeys> =
        bodies.iter().map(|body| minhash::band_keys(&shingle::shingles(body))).collect();
    for copy in 0..20u32 {
        for (n, keys) in all_keys.iter().enumerate() {
            let mut hash = newsvault::BodyHash::of(&bodies[n]).0;
            hash[..4].copy_from_slice(&copy.to_le_bytes());
            let mut edited = *keys;
            edited[(n + copy as usize) % minhash::BANDS] ^= copy.wrapping_mul(0x9E37_79B9) | 1;
            crowded.insert(newsvault::BodyHash(hash), &edited);
        }
    }
    c.bench_function(&format!("candidates of 200 bodies among {} (20 copies each)", crowded.len()), |b| {
        b.iter(|| keys.iter().map(|k| crowded.candidates(k, Some(64)).len()).sum::<usize>())
    });
}

/// `near` on an archive of every newsdiffs-se version, opened once (warm).
fn near_query(c: &mut Criterion) {
    let corpus = std::env::var_os("NEWSVAULT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let archive = newsvault::Archive::open_or_create(&dir.path().join("a")).expect("a new archive");
    archive
        .ingest(&[corpus.join("newsdiffs-se/versions.jsonl.gz")], &Default::default(), &newsvault::NoProgress)
        .expect("the corpus ingests");
    let pairs = archive.near_pairs(0.8).expect("pairs");
    let references: Vec<String> = pairs.iter().step_by(pairs.len() / 50).map(|p| p.0.to_hex()).collect();
    let mut i = 0;
    c.bench_function("near (one version, 49,097-version archive, groups read per question)", |b| {
        b.iter(|| {
            i = (i + 1) % references.len();
            archive.near(&references[i], 0.8).expect("near answers").len()
        })
    });
    let groups = archive.near_groups().expect("groups");
    c.bench_function("near (one version, 49,097-version archive, groups read once)", |b| {
        b.iter(|| {
            i = (i + 1) % references.len();
            archive.near_in(&groups, &references[i], 0.8).expect("near answers").len()
        })
    });
    c.bench_function("read every near-duplicate group (49,097-version archive)", |b| {
        b.iter(|| archive.near_groups().expect("groups"))
    });
}

criterion_group!(benches, stages, near_query);
criterion_main!(benches);
