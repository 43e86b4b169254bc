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
fn the_cms_json_gives_its_article_with_a_paragraph_per_text_block() {
    let Some(corpus) = corpus_dir() else { return };
    let path = corpus.join("trtworld/trtworld_cms_db.json");
    let cms: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let article = &cms["content"];
    let text_blocks = article["body"].as_array().unwrap().iter().filter(|b| b["blockType"] == "text").count();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let summary = ingest(&archive, &path);
    assert_eq!((summary["records"].as_u64(), summary["new_versions"].as_u64()), (Some(1), Some(1)));
    let list = newsvault(&archive).args(["list", "--json"]).assert().success().get_output().stdout.clone();
    let row: serde_json::Value = serde_json::from_slice(&list).unwrap();
    let id = row["id"].as_str().unwrap();
    let shown =
        newsvault(&archive).args(["show", "--json", id]).assert().success().get_output().stdout.clone();
    let shown: serde_json::Value = serde_json::from_slice(&shown).unwrap();
    assert_eq!(shown["title"], article["title"]);
    assert_eq!(shown["source"], article["site"]);
    let published = article["published"]["date"].as_str().unwrap();
    assert!(shown["published"].as_str().unwrap().starts_with(&published[..10]), "{shown}");
    // The embedded video and the related story give no paragraph.
    let body = shown["body"].as_str().unwrap();
    assert_eq!(body.lines().count(), text_blocks, "{body}");
    assert!(!body.contains('<') && !body.contains("&amp;"));
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

/// The HTML extractor reads a page's URL, so one page captured under two URLs can give
/// two bodies; each capture's raw bytes, stored compressed against its own body, must
/// read back (they were once compressed against the first body only).
#[test]
fn one_page_under_two_urls_keeps_both_captures_readable() {
    use std::io::Read;
    let Some(corpus) = corpus_dir() else { return };
    let page =
        corpus.join("aeb/html/7916ecca969ffdd8f6fc32d171fbe0dd63db40fe4c1d2ade02b1dec5929a162f.html.gz");
    let mut html = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(page).unwrap()).read_to_end(&mut html).unwrap();
    let record = |uri: &str, date: &str| {
        let mut block = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            html.len()
        )
        .into_bytes();
        block.extend_from_slice(&html);
        let mut out = format!(
            "WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {date}\r\nWARC-Record-ID: <urn:uuid:{date}>\r\nContent-Length: {}\r\n\r\n",
            block.len()
        )
        .into_bytes();
        out.extend_from_slice(&block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("two.warc");
    let news = "https://news.example.com/2020/01/02/story";
    let forum = "https://forum.example.com/forum/thread/123";
    std::fs::write(
        &input,
        [record(news, "2024-01-01T00:00:00Z"), record(forum, "2024-01-02T00:00:00Z")].concat(),
    )
    .unwrap();
    let archive = dir.path().join("a");
    newsvault(&archive).arg("ingest").arg(&input).assert().success();
    newsvault(&archive).arg("verify").assert().success();
    // The page names its own canonical URL: one article, a version per extraction.
    let listing = newsvault(&archive).args(["list", "--json"]).assert().success().get_output().stdout.clone();
    let article: serde_json::Value = serde_json::from_slice(&listing).unwrap();
    let id = article["id"].as_str().unwrap();
    let log = newsvault(&archive).args(["log", "--json", id]).assert().success().get_output().stdout.clone();
    let hashes: Vec<String> = String::from_utf8_lossy(&log)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["hash"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(hashes.len(), 2, "two bodies from one page: {hashes:?}");
    let raw = |hash: &str| {
        newsvault(&archive).args(["show", "--raw", hash]).assert().success().get_output().stdout.clone()
    };
    assert_eq!(raw(&hashes[0]), raw(&hashes[1]), "the same captured bytes under both URLs");
}
