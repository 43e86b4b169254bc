//! The binary, driven as a user would, on fixtures the project wrote itself.

mod common;

use std::path::{Path, PathBuf};

use common::newsvault;
use predicates::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("--json prints one JSON object")
}

fn json_lines(output: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(output).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

fn ingest_json(archive: &Path, paths: &[PathBuf]) -> (i32, Value, String) {
    let out = newsvault(archive).arg("ingest").arg("--json").args(paths).output().unwrap();
    (out.status.code().unwrap(), json(&out.stdout), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Ingests a page dump as captured at `time` (file times are not an order tests can trust).
fn ingest_at(archive: &Path, path: &Path, time: &str) -> (i32, Value, String) {
    let out =
        newsvault(archive).args(["ingest", "--json", "--captured-at", time]).arg(path).output().unwrap();
    (out.status.code().unwrap(), json(&out.stdout), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn show(archive: &Path, reference: &str) -> Value {
    json(&newsvault(archive).args(["show", "--json", reference]).assert().success().get_output().stdout)
}

#[test]
fn mixed_inputs_are_stored_and_bad_ones_rejected_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let (code, summary, stderr) = ingest_json(&archive, &[fixture("mixed"), fixture("bad")]);
    assert_eq!(code, 1, "rejections make the exit code 1");
    assert_eq!(summary["files"], 7);
    // lighthouse, latin1, np, and three good lines of wire.jsonl.
    assert_eq!(summary["new_versions"], 6, "{summary}");
    assert_eq!(summary["new_articles"], 5, "{summary}");
    assert_eq!(summary["rejected"], 5, "{summary}\n{stderr}");
    for expected in [
        "wire.jsonl:4: no article text",
        "wire.jsonl:5: invalid JSON",
        "blob.bin: binary",
        "empty.txt: empty file",
        "truncated.txt.gz: gzip",
    ] {
        assert!(stderr.contains(expected), "stderr lacks {expected:?}:\n{stderr}");
    }
    for line in stderr.lines() {
        assert!(line.starts_with("newsvault: rejected "), "one line per rejection: {line}");
    }
    let rows =
        json_lines(&newsvault(&archive).args(["list", "--json"]).assert().success().get_output().stdout);
    assert_eq!(rows.len(), 5);
    let titles: Vec<&str> = rows.iter().filter_map(|r| r["title"].as_str()).collect();
    assert!(titles.contains(&"Bron öppnar för trafik"), "{titles:?}");
    assert!(titles.contains(&"Tidning"), "latin-1 file decoded: {titles:?}");
    newsvault(&archive).arg("verify").assert().success().stdout(predicate::str::contains("no problems"));
}

#[test]
fn reingesting_the_same_scrape_stores_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let (_, first, _) = ingest_json(&archive, &[fixture("mixed")]);
    let stats_before =
        json(&newsvault(&archive).args(["stats", "--json"]).assert().success().get_output().stdout);
    let (_, again, _) = ingest_json(&archive, &[fixture("mixed")]);
    assert_eq!(again["new_articles"], 0);
    assert_eq!(again["new_versions"], 0);
    assert_eq!(again["new_captures"], 0);
    assert_eq!(again["duplicates"], first["records"].as_u64().unwrap() - first["rejected"].as_u64().unwrap());
    let stats_after =
        json(&newsvault(&archive).args(["stats", "--json"]).assert().success().get_output().stdout);
    for field in ["articles", "versions", "bodies", "captures", "input_bytes"] {
        assert_eq!(stats_before[field], stats_after[field], "{field}");
    }
}

#[test]
fn a_rescrape_with_other_whitespace_widgets_and_explore_list_is_the_same_version() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    ingest_at(&archive, &fixture("mixed/lighthouse.txt"), "2024-03-02T08:00:00Z");
    let (code, summary, _) = ingest_at(&archive, &fixture("rescrape-lighthouse.txt"), "2024-03-02T09:00:00Z");
    assert_eq!(code, 0);
    assert_eq!(summary["new_versions"], 0, "{summary}");
    assert_eq!(summary["new_captures"], 1, "a new capture of the same text: {summary}");
    let (_, revised, _) = ingest_at(&archive, &fixture("revised-lighthouse.txt"), "2024-03-02T10:00:00Z");
    assert_eq!(revised["new_versions"], 1, "one changed word is a new version: {revised}");

    let rows =
        json_lines(&newsvault(&archive).args(["list", "--json"]).assert().success().get_output().stdout);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["versions"], 2);
    assert_eq!(rows[0]["captures"], 3);
    let id = rows[0]["id"].as_str().unwrap();
    let log =
        json_lines(&newsvault(&archive).args(["log", "--json", id]).assert().success().get_output().stdout);
    assert_eq!(log.len(), 2);
    let latest = show(&archive, id);
    assert!(latest["body"].as_str().unwrap().contains("three summers"));
    assert_eq!(latest["attribution"], "Coast Desk and agencies");
    assert_eq!(latest["standfirst"], "A volunteer crew has relit the old lamp after forty dark winters.");
    assert!(!latest["body"].as_str().unwrap().contains("Recommended"));
    assert!(latest["body"].as_str().unwrap().contains("Forty dark winters"), "subheadings stay");
}

#[test]
fn references_resolve_by_prefix_url_and_article() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    ingest_json(&archive, &[fixture("mixed/wire.jsonl")]);
    let by_url = show(&archive, "https://gazette.example/bridge");
    assert!(
        by_url["body"].as_str().unwrap().ends_with("tjugofem minuter."),
        "an article shows its latest version"
    );
    let hash = by_url["hash"].as_str().unwrap();
    let by_prefix = show(&archive, &hash[..8]);
    assert_eq!(by_prefix["hash"], hash);
    assert_eq!(by_prefix["version"], 2);
    assert_eq!(by_prefix["published"], "2024-05-06");
    assert_eq!(by_prefix["byline"], "Av Kim Lund");

    newsvault(&archive)
        .args(["show", "zzzz"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a reference"));
    newsvault(&archive)
        .args(["show", "https://nowhere.example/x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no version or article matches"));
}

#[test]
fn an_ambiguous_prefix_lists_its_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    // Enough distinct texts that some pair of hashes or ids shares 4 leading hex digits.
    let lines: String = (0..400)
        .map(|i| {
            format!(
                "{{\"url\": \"https://x.example/{i}\", \"title\": \"t{i}\", \"body\": \"body number {i}\"}}\n"
            )
        })
        .collect();
    let input = dir.path().join("many.jsonl");
    std::fs::write(&input, lines).unwrap();
    ingest_json(&archive, &[input]);
    let rows =
        json_lines(&newsvault(&archive).args(["list", "--json"]).assert().success().get_output().stdout);
    let mut prefixes: Vec<String> = rows.iter().map(|r| r["id"].as_str().unwrap()[..4].to_string()).collect();
    prefixes.sort();
    let shared = prefixes.windows(2).find(|w| w[0] == w[1]).map(|w| w[0].clone());
    let shared = shared.expect("400 ids in 65,536 prefixes share one with near certainty");
    newsvault(&archive)
        .args(["show", &shared])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is ambiguous").and(predicate::str::contains("article")));
}

#[test]
fn show_raw_gives_the_captured_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    ingest_json(&archive, &[fixture("mixed/np.json")]);
    let shown = show(&archive, "https://farm.example/orchard");
    assert_eq!(shown["source"], "farm.example");
    assert_eq!(shown["captured_at"], "2024-08-21T06:00:00Z");
    let raw = newsvault(&archive).args(["show", "--raw", "https://farm.example/orchard"]).assert().success();
    assert_eq!(raw.get_output().stdout, std::fs::read(fixture("mixed/np.json")).unwrap());
}

#[test]
fn commands_on_a_missing_archive_fail_clearly_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("none");
    for command in [&["list"][..], &["stats"], &["verify"], &["show", "abcd"], &["compact"]] {
        newsvault(&archive).args(command).assert().code(1).stderr(predicate::str::contains("no archive at"));
    }
    assert!(!archive.exists());
}

#[test]
fn a_second_process_gets_archive_in_use_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    ingest_json(&archive, &[fixture("mixed/np.json")]);
    let held = newsvault::Archive::open(&archive).unwrap();
    let started = std::time::Instant::now();
    newsvault(&archive).arg("list").assert().code(1).stderr(predicate::str::contains("is in use"));
    newsvault(&archive).arg("compact").assert().code(1).stderr(predicate::str::contains("is in use"));
    newsvault(&archive)
        .args(["ingest"])
        .arg(fixture("mixed/lighthouse.txt"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is in use"));
    assert!(started.elapsed().as_secs() < 10, "no waiting for the lock");
    drop(held);
    newsvault(&archive).arg("verify").assert().success();
}

#[test]
fn compaction_keeps_everything_and_reports_what_it_gave_back() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let inputs = [fixture("mixed"), fixture("revised-lighthouse.txt"), fixture("rescrape-lighthouse.txt")];
    ingest_json(&archive, &inputs);
    let read = |args: &[&str]| newsvault(&archive).args(args).assert().success().get_output().stdout.clone();
    let before =
        (read(&["list", "--json"]), read(&["clusters", "--json"]), json(&read(&["stats", "--json"])));

    let done = json(&read(&["compact", "--json", "--no-progress"]));
    let stats = json(&read(&["stats", "--json"]));
    assert!(done["keys"].as_u64().unwrap() > 0, "{done}");
    assert_eq!(done["bytes_before"], before.2["stored_bytes"], "{done}");
    assert_eq!(done["bytes_after"], stats["stored_bytes"], "{done}");
    // The packs are not touched; the index files are what is written again.
    assert_eq!(stats["pack_bytes"], before.2["pack_bytes"]);
    for s in [&before.2, &stats] {
        assert_eq!(s["index_bytes"].as_u64().unwrap() + s["pack_bytes"].as_u64().unwrap(), s["stored_bytes"]);
    }
    assert_eq!((read(&["list", "--json"]), read(&["clusters", "--json"])), (before.0, before.1));
    for field in ["articles", "versions", "bodies", "captures", "near_groups", "input_bytes"] {
        assert_eq!(stats[field], before.2[field], "{field}");
    }
    newsvault(&archive).arg("verify").assert().success();
    let human = read(&["compact"]);
    assert!(String::from_utf8_lossy(&human).starts_with("copied "), "{}", String::from_utf8_lossy(&human));
    // The archive takes new captures as before.
    let (code, again, _) = ingest_json(&archive, &inputs);
    assert_eq!((code, again["new_versions"].as_u64()), (1, Some(0)), "{again}");
}

#[test]
fn an_ingest_compacts_the_index_when_asked_and_not_when_it_is_small() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let (_, small, _) = ingest_json(&archive, &[fixture("revised-lighthouse.txt")]);
    // A few kilobytes of index are far from what `auto` waits for.
    assert_eq!(small["compacted"], Value::Null, "{small}");
    let out = newsvault(&archive)
        .args(["ingest", "--json", "--no-progress", "--compact", "always"])
        .arg(fixture("rescrape-lighthouse.txt"))
        .output()
        .unwrap();
    let done = json(&out.stdout);
    assert_eq!(done["records"], 1, "{done}");
    let compacted = &done["compacted"];
    assert!(compacted["keys"].as_u64().unwrap() > 0, "{done}");
    let stats = json(&newsvault(&archive).args(["stats", "--json"]).assert().success().get_output().stdout);
    assert_eq!(compacted["bytes_after"], stats["stored_bytes"], "{done}\n{stats}");
    assert_eq!(stats["captures"], 2, "{stats}");
    newsvault(&archive).arg("verify").assert().success();
    let human = newsvault(&archive)
        .args(["ingest", "--compact", "always"])
        .arg(fixture("revised-lighthouse.txt"))
        .assert()
        .success();
    let human = String::from_utf8_lossy(&human.get_output().stdout).into_owned();
    assert!(human.lines().nth(1).is_some_and(|l| l.starts_with("compacted the index: copied ")), "{human}");
}

#[test]
fn until_a_date_takes_in_the_whole_of_that_day() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    ingest_at(&archive, &fixture("revised-lighthouse.txt"), "2024-03-01T21:30:00Z");
    let listed = |args: &[&str]| {
        json_lines(
            &newsvault(&archive).arg("list").arg("--json").args(args).assert().success().get_output().stdout,
        )
        .len()
    };
    assert_eq!(listed(&["--until", "2024-03-01"]), 1, "captured that evening");
    assert_eq!(listed(&["--until", "2024-02-29"]), 0);
    assert_eq!(listed(&["--until", "2024-03-01T21:00:00Z"]), 0, "a time is a point, not a day");
    assert_eq!(listed(&["--since", "2024-03-01", "--until", "2024-03-01"]), 1);
}

#[test]
fn a_directory_ingested_with_the_archive_inside_leaves_the_archive_out() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    std::fs::copy(fixture("revised-lighthouse.txt"), dir.path().join("page.txt")).unwrap();
    let (code, first, _) = ingest_json(&archive, &[dir.path().to_path_buf()]);
    assert_eq!((code, first["records"].as_u64()), (0, Some(1)));
    // The archive now exists inside the directory: a second ingest must not read it.
    let (code, again, stderr) = ingest_json(&archive, &[dir.path().join(".")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((again["files"].as_u64(), again["records"].as_u64()), (Some(1), Some(1)), "{again}");
    assert_eq!(again["new_versions"], 0);
    // Named itself, it is refused in one line.
    let (code, _, stderr) = ingest_json(&archive, std::slice::from_ref(&archive));
    assert_eq!(code, 1);
    assert!(stderr.contains("this is the archive being ingested into"), "{stderr}");
}

#[test]
fn paths_that_cannot_be_used_are_named_in_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let page = fixture("revised-lighthouse.txt");
    let one_line = |assert: assert_cmd::assert::Assert, expected: &str| {
        let stderr = String::from_utf8_lossy(&assert.code(1).get_output().stderr).into_owned();
        assert!(stderr.contains(expected) && stderr.lines().count() == 1, "{stderr}");
        assert_eq!(stderr.matches("os error").count(), 0, "{stderr}");
    };
    one_line(newsvault(&page).arg("ingest").arg(&page).assert(), "is not a directory");
    let archive = dir.path().join("a");
    ingest_json(&archive, std::slice::from_ref(&page));
    let missing = dir.path().join("missing").join("out.jsonl");
    one_line(
        newsvault(&archive).arg("export").arg("--output").arg(&missing).assert(),
        "there is no directory",
    );
    one_line(newsvault(&archive).arg("export").arg("--output").arg(dir.path()).assert(), "is a directory");
}

#[test]
fn stdin_is_read_with_dash() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    newsvault(&archive)
        .args(["ingest", "--json", "--format", "jsonl", "-"])
        .write_stdin(std::fs::read(fixture("mixed/wire.jsonl")).unwrap())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("\"new_versions\":3"));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    newsvault(dir.path()).args(["list", "--since", "yesterday-ish"]).assert().code(2);
    newsvault(dir.path()).arg("frobnicate").assert().code(2);
    newsvault(dir.path()).arg("ingest").assert().code(2);
}

#[test]
fn stats_and_verify_speak_json() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    ingest_json(&archive, &[fixture("mixed")]);
    let stats = json(&newsvault(&archive).args(["stats", "--json"]).assert().success().get_output().stdout);
    assert_eq!(stats["articles"], 5);
    assert_eq!(stats["versions"], 6);
    assert_eq!(stats["bodies"], 6);
    assert_eq!(stats["captures"], 6);
    assert!(stats["stored_bytes"].as_u64().unwrap() > 0);
    let report = json(&newsvault(&archive).args(["verify", "--json"]).assert().success().get_output().stdout);
    assert_eq!(report["problems"].as_array().unwrap().len(), 0);
    assert!(
        report["checked"].as_u64().unwrap() >= 6 * 3,
        "bodies, raw captures and articles are each checked"
    );
}

#[test]
fn scraped_control_characters_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let input = dir.path().join("evil.jsonl");
    std::fs::write(
        &input,
        "{\"url\": \"https://e.example/1\", \"title\": \"Hi\\u001b[2J\\u202ethere\", \"body\": \"text\"}\n",
    )
    .unwrap();
    ingest_json(&archive, &[input]);
    let out = newsvault(&archive).arg("list").assert().success().get_output().stdout.clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Hi[2Jthere"), "{text:?}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
}

#[test]
fn an_html_page_is_read_with_its_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let (code, summary, stderr) = ingest_json(&archive, &[fixture("html/ferry.html")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["new_versions"], 1);
    let shown = show(&archive, "https://coast.example/news/ferry-returns");
    assert_eq!(shown["title"], "Harbour ferry returns after repairs");
    assert_eq!(shown["source"], "Coast Daily");
    assert_eq!(shown["published"], "2024-04-02T05:30:00Z");
    let body = shown["body"].as_str().unwrap();
    assert!(body.contains("first crossing of the season") && body.contains("added nearly an hour"), "{body}");
    assert!(!body.contains("All rights reserved") && !body.contains("Lifeboat crew"), "{body}");
}

/// A WARC record, written here: our own bytes, in the WARC/1.1 framing.
fn warc_record(kind: &str, uri: &str, date: &str, block: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: {date}\r\nWARC-Record-ID: <urn:uuid:{:08}-0000-0000-0000-000000000000>\r\nContent-Length: {}\r\n\r\n",
        block.len() % 100_000_000,
        block.len()
    )
    .into_bytes();
    out.extend_from_slice(block);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

#[test]
fn a_warc_gz_gives_every_html_response_with_its_uri_and_date() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let page = std::fs::read(fixture("html/ferry.html")).unwrap();
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n".to_vec();
    response.extend_from_slice(&page);
    let records = [
        warc_record(
            "request",
            "https://coast.example/news/ferry-returns",
            "2024-04-03T09:00:00Z",
            b"GET / HTTP/1.1\r\n\r\n",
        ),
        warc_record(
            "response",
            "https://coast.example/news/ferry-returns",
            "2024-04-03T09:00:00Z",
            &response,
        ),
        warc_record(
            "response",
            "https://coast.example/news/ferry-returns",
            "2024-04-04T09:00:00Z",
            &response,
        ),
    ];
    // One gzip member per record, as web archives write them.
    let mut file = Vec::new();
    for record in &records {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(record).unwrap();
        file.extend(gz.finish().unwrap());
    }
    let input = dir.path().join("crawl.warc.gz");
    std::fs::write(&input, file).unwrap();
    let archive = dir.path().join("a");
    let (code, summary, stderr) = ingest_json(&archive, &[input]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["records"], 2, "two HTML responses: {summary}");
    assert_eq!(summary["new_versions"], 1);
    assert_eq!(summary["new_captures"], 2);
    let rows =
        json_lines(&newsvault(&archive).args(["list", "--json"]).assert().success().get_output().stdout);
    assert_eq!(rows[0]["url"], "https://coast.example/news/ferry-returns");
    assert_eq!(rows[0]["first_seen"], "2024-04-03T09:00:00Z");
    assert_eq!(rows[0]["last_seen"], "2024-04-04T09:00:00Z");
}

/// An archive with two versions of the lighthouse story.
fn revised_archive(dir: &Path) -> (PathBuf, String, String) {
    let archive = dir.join("a");
    ingest_at(&archive, &fixture("mixed/lighthouse.txt"), "2024-03-02T08:00:00Z");
    ingest_at(&archive, &fixture("revised-lighthouse.txt"), "2024-03-02T10:00:00Z");
    let id = json_lines(&newsvault(&archive).args(["list", "--json"]).assert().success().get_output().stdout)
        [0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let log =
        json_lines(&newsvault(&archive).args(["log", "--json", &id]).assert().success().get_output().stdout);
    (archive, log[0]["hash"].as_str().unwrap().to_string(), log[1]["hash"].as_str().unwrap().to_string())
}

#[test]
fn diff_shows_the_changed_word_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, old, new) = revised_archive(dir.path());
    let inline =
        newsvault(&archive).args(["diff", &old, &new]).assert().success().get_output().stdout.clone();
    let inline = String::from_utf8(inline).unwrap();
    assert!(inline.contains("Volunteers spent [-two-]{+three+} summers"), "{inline}");
    assert!(inline.trim_end().ends_with("of the body changed"), "{inline}");

    let json = json(
        &newsvault(&archive).args(["diff", "--json", &old, &new]).assert().success().get_output().stdout,
    );
    assert_eq!(json["summary"]["words_added"], 1);
    assert_eq!(json["summary"]["words_removed"], 1);

    let side = newsvault(&archive)
        .args(["diff", "--format", "side-by-side", "--width", "80", &old, &new])
        .assert()
        .success();
    let side = String::from_utf8(side.get_output().stdout.clone()).unwrap();
    assert!(side.lines().all(|l| l.chars().count() <= 80), "{side}");

    let html = newsvault(&archive).args(["diff", "--format", "html", &old, &new]).assert().success();
    let html = String::from_utf8(html.get_output().stdout.clone()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<del>two</del><ins>three</ins>"), "{html}");
}

#[test]
fn a_unified_diff_patches_the_shown_body_into_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, old, new) = revised_archive(dir.path());
    let body = |hash: &str| show(&archive, hash)["body"].as_str().unwrap().to_string() + "\n";
    let target = dir.path().join("body.txt");
    std::fs::write(&target, body(&old)).unwrap();
    let patch = newsvault(&archive).args(["diff", "--format", "unified", &old, &new]).assert().success();
    std::fs::write(dir.path().join("p.patch"), &patch.get_output().stdout).unwrap();
    let status = std::process::Command::new("patch")
        .args(["--quiet", "--force"])
        .arg(&target)
        .arg("-i")
        .arg(dir.path().join("p.patch"))
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), body(&new));
}

#[test]
fn log_p_shows_each_version_with_its_diff() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _, new) = revised_archive(dir.path());
    let out = newsvault(&archive).args(["log", "-p", &new]).assert().success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert_eq!(out.matches("[-two-]{+three+}").count(), 1, "{out}");
    let rows = json_lines(
        &newsvault(&archive).args(["log", "-p", "--json", &new]).assert().success().get_output().stdout,
    );
    assert!(rows[0].get("diff").is_none());
    assert_eq!(rows[1]["diff"]["summary"]["words_added"], 1);
}
