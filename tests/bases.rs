//! Bodies stored against a near-duplicate (their base): a revision and a syndicated
//! copy cost the pack about what they change, whether their base came in the same
//! batch or an earlier ingest; every body still reads back exactly, and a damaged base
//! is reported for the bodies that need it.

mod common;

use std::path::Path;

use common::newsvault;
use serde_json::{Value, json};

/// `count` made-up words starting at the `from`th, as one paragraph: words no compressor
/// predicts, as a real article's are to a first approximation.
fn words(from: u64, count: u64) -> String {
    let word = |i: u64| {
        let mixed =
            (i + 1).wrapping_mul(6364136223846793005).rotate_left(29).wrapping_mul(1442695040888963407);
        format!("ord{:x}", mixed >> 40)
    };
    (from..from + count).map(word).collect::<Vec<_>>().join(" ")
}

fn record(url: &str, outlet: &str, at: &str, text: &str) -> String {
    format!(
        "{}\n",
        json!({"url": url, "outlet": outlet, "title": "Ett påhittat ämne", "captured_at": at, "text": text})
    )
}

/// An article captured on `day` and again an hour later with its first `edits` words
/// changed.
fn with_revision(url: &str, day: &str, text: &str, edits: usize) -> [String; 2] {
    let outlet = url.split('/').nth(2).unwrap();
    [
        record(url, outlet, &format!("{day}T00:00:00Z"), text),
        record(url, outlet, &format!("{day}T01:00:00Z"), &text.replacen("ord", "nytt", edits)),
    ]
}

fn ingest(archive: &Path, input: &Path, lines: &[String]) -> Value {
    std::fs::write(input, lines.concat()).unwrap();
    let out = newsvault(archive).args(["ingest", "--json"]).arg(input).assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

/// Bytes of the bodies and raw captures in the packs (kinds 1 and 2; the index's
/// segments and joins are counted out), walking each pack by its documented layout:
/// kind, hash (32), length (u32 little-endian), stored bytes.
fn pack_bytes(archive: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(archive.join("packs")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let mut at = 0;
        while at < bytes.len() {
            let len = u32::from_le_bytes(bytes[at + 33..at + 37].try_into().unwrap()) as usize;
            if matches!(bytes[at], 1 | 2) {
                total += (37 + len) as u64;
            }
            at += 37 + len;
        }
    }
    total
}

fn body_of(archive: &Path, reference: &str) -> String {
    let out = newsvault(archive).args(["show", "--json", reference]).assert().success();
    let shown: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    shown["body"].as_str().unwrap().to_string()
}

#[test]
fn revisions_and_copies_cost_what_they_change_and_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let original = [words(0, 400), words(400, 400)].join("\n");
    let revision = original.replacen("ord", "nytt", 3);
    let copy = format!("{original}\n{}", words(900, 20));

    ingest(
        &archive,
        &dir.path().join("1.jsonl"),
        &[record("https://a.example/x", "a.example", "2026-01-01T00:00:00Z", &original)],
    );
    let alone = pack_bytes(&archive);
    // The revision comes in the same batch as a second original; the copy in a later ingest.
    let other = [words(2000, 400), words(2400, 400)].join("\n");
    let second = ingest(
        &archive,
        &dir.path().join("2.jsonl"),
        &with_revision("https://a.example/y", "2026-01-02", &other, 2),
    );
    assert_eq!(second["new_versions"], 2, "{second}");
    let with_other = pack_bytes(&archive);
    ingest(
        &archive,
        &dir.path().join("3.jsonl"),
        &[
            record("https://a.example/x", "a.example", "2026-01-03T00:00:00Z", &revision),
            record("https://b.example/z", "b.example", "2026-01-03T00:00:00Z", &copy),
        ],
    );
    let after = pack_bytes(&archive);

    let whole_pair = with_other - alone;
    assert!(whole_pair < alone * 3 / 2, "an original and its revision cost {whole_pair}, one alone {alone}");
    assert!(
        after - with_other < alone / 3,
        "a revision and a copy cost {} against {alone}",
        after - with_other
    );

    for (reference, text) in [
        ("https://a.example/x", &revision),
        ("https://b.example/z", &copy),
        ("https://a.example/y", &other.replacen("ord", "nytt", 2)),
    ] {
        assert!(&body_of(&archive, reference) == text, "{reference} reads back otherwise");
    }
    let out = newsvault(&archive).args(["log", "--json", "https://a.example/x"]).assert().success();
    let first_version: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.get_output().stdout).lines().next().unwrap())
            .unwrap();
    assert!(
        body_of(&archive, first_version["hash"].as_str().unwrap()) == original,
        "the original reads back otherwise"
    );
    newsvault(&archive).arg("verify").assert().success();
    let out = newsvault(&archive)
        .args(["export", "--format", "txt", "--output"])
        .arg(dir.path().join("out"))
        .assert();
    out.success();
    assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 5);
}

#[test]
fn a_damaged_base_is_reported_for_the_bodies_stored_against_it() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let original = words(0, 600);
    ingest(
        &archive,
        &dir.path().join("1.jsonl"),
        &with_revision("https://a.example/x", "2026-01-01", &original, 1),
    );
    newsvault(&archive).arg("verify").assert().success();
    // Flip a byte inside the first entry: the original's body, the revision's base.
    let pack = archive.join("packs/00000000.pack");
    let mut bytes = std::fs::read(&pack).unwrap();
    let len = u32::from_le_bytes(bytes[33..37].try_into().unwrap()) as usize;
    assert_eq!(bytes[0], 1, "the first entry is a body");
    bytes[37 + len / 2] ^= 0x10;
    std::fs::write(&pack, bytes).unwrap();
    let out = newsvault(&archive).arg("verify").assert().code(1);
    let report = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(report.matches("problem: bodies").count() >= 2, "both bodies are reported: {report}");
}
