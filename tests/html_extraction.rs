//! HTML main-text extraction quality on the 181 real pages of the aeb corpus: word-level
//! F1 (bag-of-words precision and recall of the extracted body against the true
//! `articleBody`), averaged over every page; a page that fails to extract scores 0.

mod common;

use std::collections::HashMap;
use std::io::Read;

use common::corpus_dir;

#[test]
fn extraction_reaches_a_word_f1_of_090_on_aeb() {
    let Some(corpus) = corpus_dir() else { return };
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(corpus.join("aeb/ground-truth.json")).unwrap()).unwrap();
    let truth = truth.as_object().unwrap();
    let started = std::time::Instant::now();
    let mut scores = Vec::new();
    for (id, page) in truth {
        let mut html = Vec::new();
        let file = std::fs::File::open(corpus.join(format!("aeb/html/{id}.html.gz"))).unwrap();
        flate2::read::GzDecoder::new(file).read_to_end(&mut html).unwrap();
        let expected = page["articleBody"].as_str().unwrap();
        let score = match newsvault::ingest::html::parse_bytes(&html, page["url"].as_str()) {
            Ok(record) => word_f1(&record.body, expected),
            Err(e) => {
                eprintln!("{id}: {e}");
                0.0
            }
        };
        scores.push(score);
    }
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    eprintln!(
        "aeb: {} pages, mean word F1 {mean:.3}, {:.1} ms per page",
        scores.len(),
        started.elapsed().as_secs_f64() * 1000.0 / scores.len() as f64
    );
    assert_eq!(scores.len(), 181);
    assert!(mean >= 0.90, "mean word F1 {mean:.3}");
}

/// Lower-cased runs of word characters, counted.
fn bag(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in
        text.to_lowercase().split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_string()).or_default() += 1;
    }
    counts
}

fn word_f1(extracted: &str, expected: &str) -> f64 {
    let (got, want) = (bag(extracted), bag(expected));
    let shared: usize = got.iter().map(|(w, n)| (*n).min(want.get(w).copied().unwrap_or(0))).sum();
    let (got_total, want_total) = (got.values().sum::<usize>(), want.values().sum::<usize>());
    if shared == 0 || got_total == 0 || want_total == 0 {
        return 0.0;
    }
    let precision = shared as f64 / got_total as f64;
    let recall = shared as f64 / want_total as f64;
    2.0 * precision * recall / (precision + recall)
}
