//! The inputs cargo-fuzz found bugs with (`fuzz/regressions/<target>/`), replayed through
//! the same code as their fuzz target: each must now be read or rejected, promptly.

use std::path::Path;

use newsvault::ingest::{decode_text, html, json, text_page, warc};
use newsvault::normalize::normalize;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    entries
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect()
}

#[test]
fn every_regression_input_is_read_or_rejected() {
    let mut replayed = 0;
    // A crash here (a stack overflow aborts) fails the test run.
    for (_, bytes) in inputs("html_extraction") {
        let _ = html::parse_bytes(&bytes, None);
        replayed += 1;
    }
    for (_, bytes) in inputs("text_page") {
        let _ = decode_text(&bytes).and_then(|text| text_page::parse(&text));
        replayed += 1;
    }
    for (_, bytes) in inputs("json_mapping") {
        let _ = json::split_lines("fuzz.jsonl", &bytes);
        let _ = json::split_document("fuzz.json", &bytes);
        replayed += 1;
    }
    for (_, bytes) in inputs("warc") {
        let _ = warc::split("fuzz.warc", &bytes);
        replayed += 1;
    }
    for (name, bytes) in inputs("normalize") {
        let text = String::from_utf8_lossy(&bytes);
        let once = normalize(&text);
        assert_eq!(normalize(&once), once, "{name}: normalising twice changes nothing");
        replayed += 1;
    }
    assert!(replayed >= 2, "the regression inputs are found ({replayed})");
}

#[test]
fn deep_html_found_by_fuzzing_is_refused_before_parsing() {
    for (name, bytes) in inputs("html_extraction") {
        let error = html::parse_bytes(&bytes, None).expect_err(&name);
        assert!(error.contains("nested"), "{name}: {error}");
    }
}

/// The tag patterns `html_depth_guard` found, repeated into pages nested far past the
/// guard's limit (each repetition deepens the tree by at least a third of a level).
#[test]
fn deep_patterns_found_by_fuzzing_the_guard_are_refused() {
    let patterns = inputs("html_depth_guard");
    assert!(!patterns.is_empty());
    for (name, pattern) in patterns {
        let page = pattern.repeat(20_000);
        let error = html::parse_bytes(&page, None).expect_err(&name);
        assert!(error.contains("nested"), "{name}: {error}");
    }
}
