//! Unified diffs of real revisions, applied with `patch`: for consecutive versions of
//! at least 500 newsdiffs-se articles, patching the first body (as `show` prints it)
//! gives the second exactly.

mod common;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::Command;

use common::corpus_dir;
use newsvault::diff::{Side, diff_versions, render};

#[test]
fn unified_diffs_of_real_revisions_apply_with_patch() {
    let Some(corpus) = corpus_dir() else { return };
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(
        std::fs::File::open(corpus.join("newsdiffs-se/versions.jsonl.gz")).unwrap(),
    ));
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in reader.lines() {
        let line = line.unwrap();
        let article = serde_json::from_str::<serde_json::Value>(&line).unwrap()["article_id"]
            .as_str()
            .unwrap()
            .to_string();
        let record = newsvault::ingest::json::parse_record(&line).unwrap();
        let body = newsvault::normalize::normalize(&record.body);
        let bodies = versions.entry(article).or_default();
        if bodies.last() != Some(&body) {
            bodies.push(body);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut articles, mut pairs) = (0, 0);
    for bodies in versions.values().filter(|b| b.len() >= 2) {
        for pair in bodies.windows(2) {
            assert_patch_applies(dir.path(), &pair[0], &pair[1]);
            pairs += 1;
        }
        articles += 1;
        if articles == 600 {
            break;
        }
    }
    eprintln!("{pairs} revisions of {articles} articles patched exactly");
    assert!(articles >= 500);
}

fn assert_patch_applies(dir: &std::path::Path, old: &str, new: &str) {
    let side = |label: &str, body: &str| Side { label: label.into(), fields: Vec::new(), body: body.into() };
    let diff = diff_versions(&side("old", old), &side("new", new));
    let mut patch = Vec::new();
    render::unified(&mut patch, &diff, 3).unwrap();
    let target = dir.join("body.txt");
    let as_shown = |body: &str| if body.is_empty() { String::new() } else { format!("{body}\n") };
    std::fs::write(&target, as_shown(old)).unwrap();
    std::fs::write(dir.join("change.patch"), &patch).unwrap();
    let status = Command::new("patch")
        .args(["--quiet", "--force", "--silent", "-p0"])
        .arg(&target)
        .arg("-i")
        .arg(dir.join("change.patch"))
        .status()
        .expect("`patch` is installed");
    assert!(status.success(), "patch failed:\n{}", String::from_utf8_lossy(&patch));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), as_shown(new));
}
