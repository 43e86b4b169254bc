//! The ingest and export stages on real newsdiffs-se records, one at a time: parse a JSON
//! line, normalise its body, BLAKE3-hash it, zstd-compress it, and store a batch; then
//! export an archive as JSON Lines. With `benches/near.rs` (shingle and sign, candidate
//! lookup) and `benches/diff.rs`, every stage of the pipeline has a figure.

use std::io::BufRead;
use std::path::PathBuf;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use newsvault::ingest::json;
use newsvault::normalize::normalize;
use newsvault::store::codec;

fn corpus_file() -> PathBuf {
    std::env::var_os("NEWSVAULT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"))
        .join("newsdiffs-se/versions.jsonl.gz")
}

fn corpus_lines(limit: usize) -> Vec<String> {
    let file = std::fs::File::open(corpus_file())
        .expect("the corpus is needed for benchmarks: set NEWSVAULT_CORPUS");
    std::io::BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .take(limit)
        .map(|l| l.expect("a line"))
        .collect()
}

fn stages(c: &mut Criterion) {
    let lines: Vec<String> = corpus_lines(20_000).into_iter().step_by(100).collect();
    let bytes: u64 = lines.iter().map(|l| l.len() as u64).sum();
    let records: Vec<_> = lines.iter().map(|l| json::parse_record(l).expect("a record")).collect();
    let bodies: Vec<String> = records.iter().map(|r| normalize(&r.body)).collect();
    let mut group = c.benchmark_group(format!("{} records", lines.len()));
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("parse JSON line", |b| {
        b.iter(|| {
            lines.iter().map(|l| json::parse_record(l).map(|r| r.body.len()).unwrap_or(0)).sum::<usize>()
        })
    });
    group.bench_function("normalise body", |b| {
        b.iter(|| records.iter().map(|r| normalize(&r.body).len()).sum::<usize>())
    });
    group.bench_function("BLAKE3 body", |b| {
        b.iter(|| bodies.iter().map(|t| newsvault::BodyHash::of(t).0[0] as usize).sum::<usize>())
    });
    group.bench_function("zstd body", |b| {
        b.iter(|| bodies.iter().map(|t| codec::encode_blob(t.as_bytes()).len()).sum::<usize>())
    });
    group.bench_function("zstd raw line against its body", |b| {
        b.iter(|| {
            lines
                .iter()
                .zip(&bodies)
                .map(|(l, t)| codec::encode_blob_against(l.as_bytes(), t.as_bytes()).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

/// The floor for any content-addressed store: read every newsdiffs-se record from an
/// uncompressed JSON Lines file (in the page cache) and BLAKE3-hash it, on one core.
/// `scripts/bench-ingest.sh` times the whole ingest of the same file.
fn read_and_hash_floor(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("versions.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("a file"));
    let mut input = flate2::read::GzDecoder::new(std::fs::File::open(corpus_file()).expect("the corpus"));
    let bytes = std::io::copy(&mut input, &mut out).expect("the corpus decompresses");
    drop(out);
    let mut group = c.benchmark_group("floor");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("read and BLAKE3 every record of newsdiffs-se", |b| {
        b.iter(|| {
            let reader = std::io::BufReader::new(std::fs::File::open(&path).expect("the file"));
            reader
                .split(b'\n')
                .map(|line| blake3::hash(&line.expect("a line")).as_bytes()[0] as usize)
                .sum::<usize>()
        })
    });
    group.finish();
}

/// Store write: a whole ingest of 2,000 records into a new archive (parse to captures,
/// near-duplicate indexing included), and the JSON Lines export of that archive.
fn store_and_export(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("slice.jsonl");
    std::fs::write(&input, corpus_lines(2_000).join("\n")).expect("the slice is written");
    let mut group = c.benchmark_group("2,000 records");
    group.sample_size(10);
    group.bench_function("ingest into a new archive", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("a temporary directory"),
            |target| {
                let archive =
                    newsvault::Archive::open_or_create(&target.path().join("a")).expect("a new archive");
                archive
                    .ingest(std::slice::from_ref(&input), &Default::default(), &newsvault::NoProgress)
                    .expect("ingest")
            },
            BatchSize::PerIteration,
        )
    });
    let archive = newsvault::Archive::open_or_create(&dir.path().join("a")).expect("a new archive");
    archive
        .ingest(std::slice::from_ref(&input), &Default::default(), &newsvault::NoProgress)
        .expect("ingest");
    group.bench_function("export JSON Lines", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            let mut writer = newsvault::export::JsonlWriter::new(&mut out);
            archive.export(&Default::default(), &mut writer, &newsvault::NoProgress).expect("export");
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, stages, store_and_export, read_and_hash_floor);
criterion_main!(benches);
