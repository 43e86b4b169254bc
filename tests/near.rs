//! Near-duplicate groups through the real binary: a copy that bridges two texts joins
//! their groups across separate ingests, `near` gives exact scores computed from the
//! texts, `clusters` shows the merged group, and `verify` agrees with what was stored.

mod common;

use std::path::Path;

use common::newsvault;
use serde_json::{Value, json};

/// `count` distinct made-up words starting at `from`, as one paragraph.
fn words(from: usize, count: usize) -> String {
    (from..from + count).map(|i| format!("ord{i:04}")).collect::<Vec<_>>().join(" ")
}

fn ingest(archive: &Path, dir: &Path, name: &str, url: &str, outlet: &str, text: &str) {
    let record = json!({"url": url, "outlet": outlet, "title": name, "captured_at": "2026-01-02T03:04:05Z", "text": text});
    let path = dir.join(format!("{name}.jsonl"));
    std::fs::write(&path, format!("{record}\n")).unwrap();
    newsvault(archive).arg("ingest").arg(&path).assert().success();
}

fn stats(archive: &Path) -> Value {
    serde_json::from_slice(
        &newsvault(archive).args(["stats", "--json"]).assert().success().get_output().stdout,
    )
    .unwrap()
}

fn near(archive: &Path, reference: &str, threshold: &str) -> Vec<Value> {
    let output =
        newsvault(archive).args(["near", reference, "--threshold", threshold, "--json"]).assert().success();
    String::from_utf8_lossy(&output.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_bridging_copy_merges_two_texts_into_one_group_with_exact_scores() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let (x, y, z) = (words(0, 100), words(100, 100), words(200, 100));
    // A = X Y and C = Y Z share a third of their words: not near-duplicates.
    ingest(&archive, dir.path(), "a", "https://one.example/a", "one.example", &format!("{x}\n\n{y}"));
    ingest(&archive, dir.path(), "c", "https://two.example/c", "two.example", &format!("{y}\n\n{z}"));
    assert_eq!(stats(&archive)["near_groups"], 0);
    // B = X Y Z resembles both, so all three become one group.
    ingest(
        &archive,
        dir.path(),
        "b",
        "https://three.example/b",
        "three.example",
        &format!("{x}\n\n{y}\n\n{z}"),
    );
    assert_eq!(stats(&archive)["near_groups"], 1);

    // A's 196 five-word shingles are all among B's 296.
    let rows = near(&archive, "https://one.example/a", "0.5");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["url"], "https://three.example/b");
    let jaccard = rows[0]["jaccard"].as_f64().unwrap();
    assert!((jaccard - 196.0 / 296.0).abs() < 1e-4, "{jaccard}");
    assert_eq!(rows[0]["containment"].as_f64().unwrap(), 1.0);
    // C is in A's group but too unlike A to list: Jaccard 96/296, half of A inside C.
    assert!(
        near(&archive, "https://one.example/a", "0.3").iter().all(|r| r["url"] != "https://two.example/c")
    );
    assert!(near(&archive, "https://one.example/a", "0.7").is_empty());

    let clusters = newsvault(&archive).args(["clusters", "--threshold", "0.5", "--json"]).assert().success();
    let clusters: Vec<Value> = String::from_utf8_lossy(&clusters.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0]["members"].as_array().unwrap().len(), 3);

    // A revision of A joins the same group in a later ingest.
    let revised = format!("{x}\n\n{}", words(100, 99) + " ord9999");
    ingest(&archive, dir.path(), "a2", "https://one.example/a", "one.example", &revised);
    assert_eq!(stats(&archive)["near_groups"], 1);
    let rows = near(&archive, "https://one.example/a", "0.8");
    assert!(rows.iter().any(|r| r["url"] == "https://one.example/a"), "the earlier version: {rows:?}");
    newsvault(&archive).arg("verify").assert().success();

    // Many references, one process: each row says which reference it answers, and one
    // that cannot be answered is reported without stopping the others.
    let output = newsvault(&archive)
        .args(["near", "-", "--threshold", "0.5", "--json"])
        .write_stdin("https://three.example/b\nhttps://nowhere.example/\n\nhttps://two.example/c\n")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("nowhere.example"));
    let rows: Vec<Value> = String::from_utf8_lossy(&output.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |reference: &str| rows.iter().filter(|r| r["of"] == reference).count();
    assert_eq!(of("https://three.example/b"), 3, "A, its revision and C resemble B: {rows:?}");
    assert_eq!(of("https://two.example/c"), 1, "{rows:?}");
    // Answered from the groups read once, the rows are those of a single question.
    let batch: Vec<Value> = rows
        .iter()
        .filter(|r| r["of"] == "https://three.example/b")
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("of");
            r
        })
        .collect();
    assert_eq!(batch, near(&archive, "https://three.example/b", "0.5"));
    let text = newsvault(&archive)
        .args(["near", "https://three.example/b", "https://two.example/c"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    assert!(
        text.starts_with("== https://three.example/b\n") && text.contains("\n== https://two.example/c\n"),
        "{text}"
    );
}
