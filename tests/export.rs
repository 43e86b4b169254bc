//! `export` driven through the binary: each format read back by an independent reader,
//! the deduplication modes, and the JSON Lines round trip into a new archive.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::newsvault;
use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// An archive of the fixtures: the lighthouse story in two versions (and a re-scrape),
/// the bridge story in three outlets' shapes, and more.
fn archive(dir: &Path) -> PathBuf {
    let archive = dir.join("a");
    let inputs = [
        ("mixed", "2024-03-02T08:00:00Z"),
        ("rescrape-lighthouse.txt", "2024-03-02T09:00:00Z"),
        ("revised-lighthouse.txt", "2024-03-02T10:00:00Z"),
    ];
    for (input, time) in inputs {
        // `mixed` holds rejected records on purpose: the exit code is 1 there.
        let _ = newsvault(&archive)
            .args(["ingest", "--json", "--captured-at", time])
            .arg(fixture(input))
            .output()
            .unwrap();
    }
    archive
}

fn stdout(archive: &Path, args: &[&str]) -> String {
    String::from_utf8(newsvault(archive).args(args).assert().success().get_output().stdout.clone()).unwrap()
}

fn hashes_of_jsonl(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["hash"].as_str().unwrap().to_string())
        .collect()
}

/// Every distinct version of an archive with what an export says of it.
fn versions(archive: &Path) -> BTreeSet<String> {
    stdout(archive, &["export", "--dedup", "exact"])
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            let fields = ["hash", "article", "url", "title", "published", "source", "captured_at"];
            fields.map(|field| row[field].to_string()).join(" ")
        })
        .collect()
}

#[test]
fn a_warc_or_txt_export_ingested_into_a_new_archive_gives_the_same_versions() {
    let dir = tempfile::tempdir().unwrap();
    let first = archive(dir.path());
    // A page a scraper got nothing from: an empty body, which must come back empty.
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "{\"url\": \"https://blank.example/1\", \"title\": \"Blank\", \"body\": \"\"}\n")
        .unwrap();
    newsvault(&first).arg("ingest").arg(&empty).assert().success();
    let before = versions(&first);
    assert_eq!(before.len(), 8);
    for (format, output) in [("warc", "set.warc.gz"), ("txt", "texts")] {
        let exported = dir.path().join(output);
        newsvault(&first)
            .args(["export", "--dedup", "exact", "--format", format, "--output"])
            .arg(&exported)
            .assert()
            .success();
        let second = dir.path().join(format!("from-{format}"));
        newsvault(&second).arg("ingest").arg(&exported).assert().success();
        assert_eq!(versions(&second), before, "{format}");
    }
}

#[test]
fn an_exact_export_ingested_into_a_new_archive_gives_the_same_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let first = archive(dir.path());
    let exported = dir.path().join("set.jsonl");
    newsvault(&first).args(["export", "--dedup", "exact", "--output"]).arg(&exported).assert().success();
    let second = dir.path().join("b");
    newsvault(&second).args(["ingest"]).arg(&exported).assert().success();
    let before = hashes_of_jsonl(&std::fs::read_to_string(&exported).unwrap());
    let after = hashes_of_jsonl(&stdout(&second, &["export", "--dedup", "exact"]));
    assert_eq!(before, after);
    assert_eq!(before.len(), 7);
}

#[test]
fn dedup_modes_give_one_row_per_version_body_or_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let none = stdout(&archive, &["export"]);
    let exact = stdout(&archive, &["export", "--dedup", "exact"]);
    let near = stdout(&archive, &["export", "--dedup", "near", "--threshold", "0.5"]);
    assert_eq!(none.lines().count(), 7, "every version");
    assert_eq!(exact.lines().count(), 7, "every body is distinct here");
    assert_eq!(
        near.lines().count(),
        5,
        "the two lighthouse versions are one cluster, the two gazette ones another"
    );
    let lighthouse: Vec<serde_json::Value> = near
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["title"] == "Lighthouse keepers return to the northern cape")
        .collect();
    assert_eq!(lighthouse.len(), 1);
    assert_eq!(lighthouse[0]["duplicates"], 2);
    assert!(lighthouse[0]["cluster"].is_string());
    let latest = stdout(&archive, &["export", "--dedup", "near", "--threshold", "0.5", "--keep", "latest"]);
    let kept = latest.lines().find(|l| l.contains("Lighthouse keepers")).unwrap();
    assert!(kept.contains("three summers"), "--keep latest keeps the revision");
    assert_eq!(stdout(&archive, &["export", "--latest"]).lines().count(), 5, "one per article");
}

#[test]
fn csv_reads_back_with_one_record_per_version() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let csv_text = stdout(&archive, &["export", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        headers,
        [
            "hash",
            "article",
            "url",
            "title",
            "published",
            "captured_at",
            "source",
            "body",
            "cluster",
            "duplicates"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 7);
    let jsonl = stdout(&archive, &["export"]);
    for (record, line) in records.iter().zip(jsonl.lines()) {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(&record[0], row["hash"].as_str().unwrap());
        assert_eq!(&record[7], row["body"].as_str().unwrap(), "bodies with line breaks and quotes survive");
    }
}

#[test]
fn a_warc_gz_reads_back_with_valid_digests() {
    use data_encoding::BASE32;
    use sha1::{Digest, Sha1};
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let path = dir.path().join("set.warc.gz");
    newsvault(&archive).args(["export", "--format", "warc", "--output"]).arg(&path).assert().success();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&path).unwrap()),
        &mut bytes,
    )
    .unwrap();
    // An independent walk over the records: version line, headers, Content-Length block.
    let (mut at, mut responses, mut resources) = (0, 0, 0);
    while at < bytes.len() {
        let head_end = at + bytes[at..].windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(bytes[at..head_end].to_vec()).unwrap();
        assert!(head.starts_with("WARC/1.1\r\n"));
        let field =
            |name: &str| head.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string));
        let length: usize = field("Content-Length").unwrap().parse().unwrap();
        let block = &bytes[head_end + 4..head_end + 4 + length];
        let digest = |data: &[u8]| format!("sha1:{}", BASE32.encode(&Sha1::digest(data)));
        if field("WARC-Type").as_deref() == Some("response") {
            responses += 1;
            assert_eq!(field("WARC-Block-Digest").unwrap(), digest(block));
            let payload = &block[block.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
            assert_eq!(field("WARC-Payload-Digest").unwrap(), digest(payload));
            assert!(
                field("WARC-Target-URI").is_some()
                    && field("WARC-Record-ID").unwrap().starts_with("<urn:uuid:")
            );
        }
        if field("WARC-Type").as_deref() == Some("resource") {
            // A version without a web URL: the page alone, as WARC readers expect.
            resources += 1;
            assert_eq!(field("WARC-Block-Digest").unwrap(), digest(block));
            assert!(field("WARC-Payload-Digest").is_none() && block.starts_with(b"<!DOCTYPE html>"));
            assert!(field("WARC-Target-URI").unwrap().starts_with("urn:newsvault:article:"));
        }
        at = head_end + 4 + length + 4;
    }
    assert!(responses >= 1 && resources >= 1, "{responses} responses, {resources} resources");
    assert_eq!(responses + resources, 7);
    // And newsvault reads its own WARC back: one HTML response per exported version.
    let back = dir.path().join("b");
    newsvault(&back)
        .args(["ingest", "--json"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"records\":7"));
}

#[test]
fn txt_writes_one_file_per_version_and_refuses_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let out = dir.path().join("texts");
    newsvault(&archive).args(["export", "--format", "txt", "--output"]).arg(&out).assert().success();
    let files: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 7);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let article = text.lines().find_map(|l| l.strip_prefix("article: ")).unwrap();
        assert!(name.ends_with(&format!("-{article}.txt")), "{name} names its article");
    }
    let text = std::fs::read_to_string(
        files.iter().find(|f| std::fs::read_to_string(f).unwrap().contains("Lighthouse")).unwrap(),
    )
    .unwrap();
    assert!(text.starts_with("title: Lighthouse keepers return to the northern cape\n"));
    newsvault(&archive)
        .args(["export", "--format", "txt", "--output"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    newsvault(&archive)
        .args(["export", "--format", "txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--output DIR"));
}

#[test]
fn an_export_to_a_bad_path_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive(dir.path());
    let bad = dir.path().join("missing-dir").join("out.jsonl");
    newsvault(&archive)
        .args(["export", "--output"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing-dir"));
    assert!(!bad.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".newsvault-export"))
        .collect();
    assert!(leftovers.is_empty());
}

const WIRE_BODY: &str =
    "The regional ferry resumed its winter timetable after storms kept it in port for three days.";
const WIRE_URLS: [&str; 2] = ["https://one.example/ferry", "https://two.example/news/ferry"];

/// An archive of one wire story run word for word by two outlets.
fn wire_archive(dir: &Path) -> PathBuf {
    let archive = dir.join("a");
    let wire = dir.join("wire.jsonl");
    let lines: Vec<String> = WIRE_URLS
        .iter()
        .map(|url| {
            serde_json::json!({"url": url, "title": "Ferry back on timetable", "body": WIRE_BODY}).to_string()
        })
        .collect();
    std::fs::write(&wire, lines.join("\n") + "\n").unwrap();
    newsvault(&archive).arg("ingest").arg(&wire).assert().success();
    archive
}

#[test]
fn a_text_two_articles_hold_is_the_cluster_that_clusters_names() {
    let dir = tempfile::tempdir().unwrap();
    let archive = wire_archive(dir.path());
    let clusters = stdout(&archive, &["clusters", "--json"]);
    let named: serde_json::Value = serde_json::from_str(clusters.lines().next().unwrap()).unwrap();
    let rows = stdout(&archive, &["export", "--dedup", "none"]);
    let rows: Vec<serde_json::Value> = rows.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["cluster"] == named["cluster"]), "{rows:?} against {named}");
}

#[test]
fn txt_writes_a_file_for_each_article_holding_the_same_text() {
    let dir = tempfile::tempdir().unwrap();
    let archive = wire_archive(dir.path());
    let out = dir.path().join("texts");
    newsvault(&archive)
        .args(["export", "--format", "txt", "--dedup", "none", "--output"])
        .arg(&out)
        .assert()
        .success();
    let texts: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(texts.len(), 2, "one file per version, though both hold one text");
    for url in WIRE_URLS {
        assert!(
            texts
                .iter()
                .any(|t| t.contains(&format!("url: {url}\n")) && t.ends_with(&format!("{WIRE_BODY}\n")))
        );
    }
}

#[test]
fn an_export_piped_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    // More rows than a pipe holds, so the export is still writing when the reader leaves.
    let lines: Vec<String> = (0..400)
        .map(|n| {
            let body = (0..200).map(|w| format!("word{}", n * 1000 + w)).collect::<Vec<_>>().join(" ");
            serde_json::json!({"url": format!("https://many.example/{n}"), "title": format!("Item {n}"), "body": body})
                .to_string()
        })
        .collect();
    let input = dir.path().join("many.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    newsvault(&archive).arg("ingest").arg(&input).assert().success();
    let mut export = std::process::Command::new(assert_cmd::cargo::cargo_bin!("newsvault"))
        .arg("--archive")
        .arg(&archive)
        .args(["export", "--no-progress"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(export.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.contains("many.example"));
    // The reader is gone (as `| head -n 1` goes): the export must end with success, silently.
    let output = export.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.stderr.is_empty(), "{}", String::from_utf8_lossy(&output.stderr));
}
