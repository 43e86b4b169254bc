//! Hostile input: each of these is rejected with a one-line message naming the file
//! (and line), or read as what it is; never a crash, a hang or a huge allocation, and
//! the good records beside them are stored. Inputs are generated here, in our own words.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::newsvault;
use serde_json::Value;

/// Ingests `paths` with a time limit; returns the exit code, the summary and stderr.
fn ingest(archive: &Path, paths: &[&Path]) -> (Option<i32>, Value, String) {
    let output = newsvault(archive)
        .args(["ingest", "--json"])
        .args(paths)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let summary = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), summary, String::from_utf8_lossy(&output.stderr).to_string())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

const GOOD_LINE: &[u8] =
    b"{\"url\": \"https://example.org/harbour\", \"title\": \"Harbour reopens\", \"body\": \"The harbour reopened on Monday after the storm.\"}\n";

/// A rejection line names the file (and line), and says why, on one line.
fn assert_rejected(stderr: &str, at: &str, why: &str) {
    let line =
        stderr.lines().find(|l| l.contains(at)).unwrap_or_else(|| panic!("no line names {at}:\n{stderr}"));
    assert!(line.contains(why), "`{why}` expected in: {line}");
}

#[test]
fn random_bytes_and_nul_bytes_are_refused_as_binary() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let noise = write(dir.path(), "noise.bin", &noise);
    let nul = write(dir.path(), "nul.txt", b"A title\n\nSome words\0 and more of them.\n");
    let good = write(dir.path(), "good.jsonl", GOOD_LINE);
    let (code, summary, stderr) = ingest(&dir.path().join("a"), &[&noise, &nul, &good]);
    assert_eq!(code, Some(1));
    assert_rejected(&stderr, "noise.bin", "binary data");
    assert_rejected(&stderr, "nul.txt", "NUL bytes");
    assert_eq!(summary["new_versions"], 1, "the good file is stored: {summary}");
}

#[test]
fn a_100_mb_single_line_is_refused_without_holding_it_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut line = b"{\"title\": \"long\", \"body\": \"".to_vec();
    line.resize(line.len() + (100 << 20), b'a');
    line.extend_from_slice(b"\"}\n");
    line.extend_from_slice(GOOD_LINE);
    let jsonl = write(dir.path(), "long.jsonl", &line);
    let page = write(dir.path(), "long.txt", &vec![b'w'; 100 << 20]);
    let (code, summary, stderr) = ingest(&dir.path().join("a"), &[&jsonl, &page]);
    assert_eq!(code, Some(1));
    assert_rejected(&stderr, "long.jsonl:1", "line of 100 MiB is longer than the 32 MiB");
    assert_rejected(&stderr, "long.txt", "larger than the 32 MiB a page may have");
    assert_eq!(summary["new_versions"], 1, "line 2 is stored: {summary}");
}

#[test]
fn deeply_nested_json_is_refused_at_its_depth() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 100_000;
    let array = "[".repeat(depth) + &"]".repeat(depth);
    let object = "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth) + "\n";
    let json = write(dir.path(), "nested.json", array.as_bytes());
    let jsonl = write(dir.path(), "nested.jsonl", [object.as_bytes(), GOOD_LINE].concat().as_slice());
    let (code, summary, stderr) = ingest(&dir.path().join("a"), &[&json, &jsonl]);
    assert_eq!(code, Some(1));
    assert_rejected(&stderr, "nested.json:", "recursion limit exceeded");
    assert_rejected(&stderr, "nested.jsonl:1", "recursion limit exceeded");
    assert_eq!(summary["new_versions"], 1, "{summary}");
}

#[test]
fn a_gzip_bomb_is_refused_early() {
    let dir = tempfile::tempdir().unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = write(dir.path(), "bomb.jsonl.gz", &encoder.finish().unwrap());
    assert!(std::fs::metadata(&bomb).unwrap().len() < 2 << 20, "1 GiB in about a megabyte");
    let good = write(dir.path(), "good.jsonl", GOOD_LINE);
    let (code, summary, stderr) = ingest(&dir.path().join("a"), &[&bomb, &good]);
    assert_eq!(code, Some(1));
    assert_rejected(&stderr, "bomb.jsonl.gz", "refused as a gzip bomb");
    assert_eq!(summary["new_versions"], 1, "{summary}");
}

#[test]
fn invalid_utf8_a_byte_order_mark_and_crlf_are_read_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let bom = write(
        dir.path(),
        "bom.txt",
        b"\xEF\xBB\xBFA headline behind a mark\r\n\r\nFirst paragraph of ours.\r\n\r\nSecond paragraph of ours.\r\n",
    );
    let latin1 =
        write(dir.path(), "latin1.txt", b"Rubrik\n\nEn mening om r\xe4ksm\xf6rg\xe5sar och annat.\n");
    let (code, summary, stderr) = ingest(&archive, &[&bom, &latin1]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(summary["new_versions"], 2);
    let list = newsvault(&archive).args(["list", "--json"]).output().unwrap();
    let titles: Vec<Value> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["title"].clone())
        .collect();
    assert!(titles.contains(&Value::from("A headline behind a mark")), "no mark, no CR: {titles:?}");
    let show =
        newsvault(&archive).args(["show", "--json"]).arg(list_id(&list.stdout, "Rubrik")).output().unwrap();
    let shown: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["body"], "En mening om räksmörgåsar och annat.");
}

fn list_id(listing: &[u8], title: &str) -> String {
    String::from_utf8_lossy(listing)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|row| row["title"] == title)
        .map(|row| row["id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no article titled {title}"))
}

#[test]
fn file_names_with_spaces_and_newlines_are_read_and_named_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    write(&inputs, "a page with spaces.txt", b"Spaced title\n\nA body in a file named with spaces.\n");
    write(&inputs, "two\nlines.txt", b"Newline title\n\nA body in a file whose name breaks a line.\n");
    write(&inputs, "bad\nname.txt", b"Broken\n\nBinary \0 inside.\n");
    let (code, summary, stderr) = ingest(&dir.path().join("a"), &[&inputs]);
    assert_eq!(code, Some(1));
    assert_eq!(summary["new_versions"], 2, "{summary}");
    assert_eq!(stderr.lines().filter(|l| l.contains("rejected")).count(), 1, "{stderr}");
    assert_rejected(&stderr, "name.txt", "NUL bytes");
    assert!(!stderr.contains("bad\nname"), "the newline in the name is not printed raw: {stderr}");
}

#[test]
fn an_html_page_of_a_million_nested_tags_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let page = "<html><body>".to_string()
        + &"<div>".repeat(1_000_000)
        + "deep"
        + &"</div>".repeat(1_000_000)
        + "</body></html>";
    let deep = write(dir.path(), "deep.html", page.as_bytes());
    let (code, _, stderr) = ingest(&dir.path().join("a"), &[&deep]);
    assert_eq!(code, Some(1));
    assert_rejected(&stderr, "deep.html", "nested");
}
