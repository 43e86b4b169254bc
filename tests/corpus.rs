//! Tests on the real corpus in `../shared/corpus` (or `NEWSVAULT_CORPUS`). Skipped with a
//! notice where the corpus is missing, except in CI, where a missing corpus fails.

mod common;

use std::collections::HashSet;
use std::io::BufRead;

use common::{corpus_dir, newsvault};
use newsvault::ingest::text_page;

#[test]
fn the_seed_page_parses_field_by_field() {
    let Some(corpus) = corpus_dir() else { return };
    let text = std::fs::read_to_string(corpus.join("trtworld/000_407be108de235255.txt")).unwrap();
    let page = text_page::parse(&text).unwrap();
    assert_eq!(page.published.as_deref(), Some("2017-10-14"));
    assert_eq!(page.meta.section.as_deref(), Some("WORLD"));
    assert_eq!(page.meta.reading_time.as_deref(), Some("2 MIN READ"));
    assert_eq!(page.title.as_deref(), Some("Syrian regime forces capture Al Mayadeen from Daesh"));
    assert!(page.meta.standfirst.as_deref().unwrap().starts_with("Regime forces backed by Shia militants"));
    let caption = page.meta.caption.as_deref().unwrap();
    assert!(caption.starts_with("A war monitor says") && caption.ends_with("(AFP File) / AFP"), "{caption}");
    assert_eq!(page.meta.attribution.as_deref(), Some("TRTWorld and agencies"));
    assert!(page.meta.related.len() >= 15, "the Explore headlines: {:?}", page.meta.related);
    assert!(page.meta.related.iter().all(|h| !h.starts_with("By ")));
    assert!(page.meta.related.contains(&"Anti-government protests resume in Madagascar cities".to_string()));

    let body = newsvault::normalize::normalize(&page.body);
    let paragraphs: Vec<&str> = body.lines().collect();
    assert!(paragraphs[0].starts_with("Syrian regime forces and its allies captured"));
    assert!(paragraphs.contains(&"String of defeats"), "subheadings are kept");
    assert!(!paragraphs.contains(&"Recommended"), "widget labels are dropped");
    assert!(paragraphs.last().unwrap().starts_with("In neighbouring Iraq"));
    assert!(!body.contains("SOURCE") && !body.contains("Explore") && !body.contains("Kushayb"));
    assert_eq!(paragraphs.len(), 9);
}

#[test]
fn all_newsdiffs_versions_ingest_and_reingest_stores_nothing_new() {
    let Some(corpus) = corpus_dir() else { return };
    let input = corpus.join("newsdiffs-se/versions.jsonl.gz");
    let (lines, urls) = count_lines_and_urls(&input);
    assert_eq!(lines, 49_097);

    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let first = ingest(&archive, &input);
    assert_eq!(first["records"], 49_097);
    assert_eq!(first["rejected"], 0, "{first}");
    assert_eq!(first["new_articles"], urls as u64, "one article per URL");
    assert_eq!(first["new_captures"], 49_097);

    let again = ingest(&archive, &input);
    assert_eq!(again["records"], 49_097);
    for field in ["new_articles", "new_versions", "new_bodies", "new_captures", "rejected"] {
        assert_eq!(again[field], 0, "{field}: {again}");
    }
    assert_eq!(again["duplicates"], 49_097);

    let stats: serde_json::Value = serde_json::from_slice(
        &newsvault(&archive).args(["stats", "--json"]).assert().success().get_output().stdout,
    )
    .unwrap();
    assert_eq!(stats["captures"], 49_097);
    assert_eq!(stats["articles"], urls as u64);
    assert_eq!(stats["versions"], first["new_versions"]);
    assert_eq!(stats["bodies"], first["new_bodies"]);
    newsvault(&archive).arg("verify").assert().success();

    // Exact dedup gives one row per distinct body; near dedup fewer still.
    let rows = |dedup: &str| {
        let out = newsvault(&archive).args(["export", "--dedup", dedup]).assert().success();
        out.get_output().stdout.iter().filter(|&&b| b == b'\n').count() as u64
    };
    let exact = rows("exact");
    assert_eq!(exact, stats["bodies"].as_u64().unwrap());
    assert!(rows("near") < exact);
}

fn ingest(archive: &std::path::Path, input: &std::path::Path) -> serde_json::Value {
    let out = newsvault(archive).args(["ingest", "--json"]).arg(input).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn count_lines_and_urls(path: &std::path::Path) -> (usize, usize) {
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap()));
    let mut urls = HashSet::new();
    let mut lines = 0;
    for line in reader.lines() {
        let record: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        urls.insert(record["url"].as_str().unwrap().to_string());
        lines += 1;
    }
    (lines, urls.len())
}
