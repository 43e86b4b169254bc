//! Reliability: an archive damaged in each way a disk or a bug can damage it is caught
//! by `verify` (or refused at open with a clear message), a writer and readers meet
//! "archive in use" at once while an ingest runs, and an archive from another format
//! version is refused naming both versions. The kill test is in `tests/crash.rs`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::newsvault;
use newsvault::store::codec;
use newsvault::store::model::{ArticleEntry, BodyEntry, Link, VersionEntry};
use predicates::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// An archive of the mixed fixtures plus a revision, so that it has versions, raw
/// captures, body links and a near-duplicate pair; returns it with its stats.
fn sound_archive(dir: &Path) -> (PathBuf, Value) {
    let archive = dir.join("a");
    newsvault(&archive).arg("ingest").arg(fixture("mixed")).assert().code(1);
    newsvault(&archive)
        .args(["ingest", "--captured-at", "2030-01-01T00:00:00Z"])
        .arg(fixture("revised-lighthouse.txt"))
        .assert()
        .success();
    newsvault(&archive).arg("verify").assert().success().stdout(predicate::str::contains("no problems"));
    let stats = stats(&archive).expect("a sound archive has stats");
    assert!(stats["near_groups"].as_u64() >= Some(1), "{stats}");
    (archive, stats)
}

fn stats(archive: &Path) -> Option<Value> {
    let output =
        newsvault(archive).args(["stats", "--json"]).timeout(Duration::from_secs(60)).output().ok()?;
    output.status.success().then(|| serde_json::from_slice(&output.stdout).ok()).flatten()
}

/// Runs `verify` and returns its exit code and everything it printed.
fn verify(archive: &Path) -> (Option<i32>, String) {
    let output =
        newsvault(archive).arg("verify").timeout(Duration::from_secs(60)).output().expect("verify runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

/// Changes the archive through sled directly, as a bug or a disk would.
fn damage(archive: &Path, tree: &str, change: impl FnOnce(&sled::Tree)) {
    let db = sled::open(archive).expect("the archive opens with sled");
    change(&db.open_tree(tree).expect("the tree exists"));
    db.flush().expect("sled flushes");
    drop(db);
    wait_for_release(archive);
}

/// sled lets go of its lock when its background threads have ended, a moment after
/// the handle is dropped.
fn wait_for_release(archive: &Path) {
    let log = std::fs::File::open(archive.join("db")).unwrap();
    for _ in 0..500 {
        if log.try_lock().is_ok() {
            log.unlock().unwrap();
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("sled kept the archive locked");
}

fn first(tree: &sled::Tree) -> (sled::IVec, sled::IVec) {
    tree.iter().next().expect("the tree has an entry").expect("the entry reads")
}

fn assert_caught(archive: &Path, expected: &str) {
    let (code, text) = verify(archive);
    assert_eq!(code, Some(1), "verify must fail:\n{text}");
    assert!(text.contains(expected), "verify must say `{expected}`:\n{text}");
    assert!(text.lines().filter(|l| l.starts_with("problem:")).count() >= 1, "{text}");
}

/// Flips a byte in the middle of the first pack entry of `kind` (1 body, 2 raw
/// capture), walking the pack by its documented layout: kind, hash (32), length (u32
/// little-endian), stored bytes.
fn damage_pack_entry(archive: &Path, kind: u8) {
    let pack = archive.join("packs/00000000.pack");
    let bytes = std::fs::read(&pack).unwrap();
    let mut at = 0;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 33..at + 37].try_into().unwrap()) as usize;
        if bytes[at] == kind {
            flip_byte(&pack, (at + 37 + len / 2) as u64, 0x10);
            return;
        }
        at += 37 + len;
    }
    panic!("no entry of kind {kind} in {}", pack.display());
}

#[test]
fn a_changed_byte_in_a_stored_body_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage_pack_entry(&archive, 1);
    assert_caught(&archive, "problem: bodies");
}

#[test]
fn a_changed_byte_in_a_compressed_raw_capture_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage_pack_entry(&archive, 2);
    assert_caught(&archive, "problem: raws");
}

#[test]
fn a_changed_byte_in_an_article_in_a_pack_is_caught_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage_pack_entry(&archive, 5);
    let (code, text) = verify(&archive);
    assert_eq!(code, Some(1), "{text}");
    let problem =
        text.lines().find(|l| l.starts_with("problem: articles")).unwrap_or_else(|| panic!("{text}"));
    assert!(problem.contains("article ") && problem.contains("is not the one recorded"), "{problem}");
}

#[test]
fn an_article_key_pointing_at_another_article_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage(&archive, "articles", |articles| {
        // Two articles written once, so in the packs (one captured again is in its value).
        let mut entries =
            articles.iter().map(|entry| entry.unwrap()).filter(|(_, v)| v[0] == codec::ARTICLE_IN_PACK);
        let (key, _) = entries.next().unwrap();
        let (_, other) = entries.next().unwrap();
        articles.insert(key, other).unwrap();
    });
    assert_caught(&archive, "is not the one recorded");
}

/// The entries of `kind` in the first pack, walked by its documented layout.
fn pack_entries(archive: &Path, kind: u8) -> usize {
    let bytes = std::fs::read(archive.join("packs/00000000.pack")).unwrap();
    let (mut at, mut found) = (0, 0);
    while at < bytes.len() {
        found += usize::from(bytes[at] == kind);
        at += 37 + u32::from_le_bytes(bytes[at + 33..at + 37].try_into().unwrap()) as usize;
    }
    found
}

#[test]
fn an_article_captured_again_later_is_kept_in_its_value_not_appended_to_the_packs_again() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    for hour in 0..5 {
        newsvault(&archive)
            .args(["ingest", "--no-progress", "--captured-at", &format!("2020-01-01T0{hour}:00:00Z")])
            .arg(fixture("revised-lighthouse.txt"))
            .assert()
            .success();
    }
    assert_eq!(pack_entries(&archive, 5), 1, "only the article's first writing is in the packs");
    let db = sled::open(&archive).unwrap();
    let articles: Vec<_> = db.open_tree("articles").unwrap().iter().map(|e| e.unwrap()).collect();
    drop(db);
    wait_for_release(&archive);
    let [(key, value)] = &articles[..] else { panic!("one article, found {}", articles.len()) };
    assert_eq!(value[0], codec::ARTICLE_VERSION, "held in its value since its second capture");
    assert_eq!(article_of(&archive, key, value).capture_count(), 5);
    newsvault(&archive).arg("verify").assert().success();
}

#[test]
fn a_truncated_pack_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    let pack = archive.join("packs/00000000.pack");
    let len = std::fs::metadata(&pack).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&pack).unwrap().set_len(len / 2).unwrap();
    assert_caught(&archive, "packs/00000000.pack");
}

#[test]
fn a_removed_body_is_caught_where_it_is_missed() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage(&archive, "bodies", |bodies| {
        let (key, _) = first(bodies);
        bodies.remove(key).unwrap();
    });
    assert_caught(&archive, "has no stored body");
}

#[test]
fn a_dangling_version_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage(&archive, "articles", |articles| {
        let (key, value) = first(articles);
        let mut article = article_of(&archive, &key, &value);
        let mut ghost: VersionEntry = article.versions[0].clone();
        ghost.hash = newsvault::BodyHash::of("a body nobody stored");
        ghost.link = Link::Url;
        article.versions.push(ghost);
        articles.insert(key, codec::encode_article(&article)).unwrap();
    });
    assert_caught(&archive, "has no stored body");
}

#[test]
fn a_capture_pointing_at_another_raw_capture_and_a_join_with_an_unknown_body_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage(&archive, "articles", |articles| {
        // The first article's first capture now points at the second article's raw bytes.
        let mut entries = articles.iter().map(|entry| entry.unwrap());
        let (key, value) = entries.next().unwrap();
        let (other_key, other) = entries.next().unwrap();
        let mut article = article_of(&archive, &key, &value);
        let other = article_of(&archive, &other_key, &other);
        article.versions[0].captures[0].raw_at = other.versions[0].captures[0].raw_at;
        articles.insert(key, codec::encode_article(&article)).unwrap();
    });
    damage(&archive, "near", |near| {
        // The joins of the first segment (key `j` + segment number): one now names a
        // body the archive does not hold (written back in sled, as layout 7 kept them).
        let (key, value) = near.scan_prefix(b"j").next().unwrap().unwrap();
        let mut joins: Vec<newsvault::store::Joins> =
            codec::decode("near", &near_content(&archive, &value)).unwrap();
        joins[0].1[0] = newsvault::id::BodyHash([7; 32]);
        near.insert(key, codec::encode(&joins)).unwrap();
    });
    assert_caught(&archive, "is not the one recorded");
    assert_caught(&archive, "which is not a stored, indexed body");
}

#[test]
fn a_changed_byte_in_an_index_segment_in_a_pack_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    // A second segment after the one damaged below.
    let record = serde_json::json!({"url": "https://example.org/tide", "body": "The tide tables for the spring were printed late this year."});
    newsvault(&archive).args(["ingest", "-"]).write_stdin(format!("{record}\n")).assert().success();
    let db = sled::open(&archive).unwrap();
    let (_, value) = db.open_tree("near").unwrap().scan_prefix(b"s").next().unwrap().unwrap();
    drop(db);
    wait_for_release(&archive);
    let codec::NearValue::InPack(at, _) = codec::near_value("near", &value).unwrap() else {
        panic!("the current layout keeps segments in the packs")
    };
    let path = archive.join("packs").join(format!("{:08}.pack", at.pack));
    let mut pack = std::fs::read(&path).unwrap();
    // A byte of a band key: the fixed layout would read it without complaint.
    let at_key = at.offset as usize + newsvault::store::pack::HEADER_LEN + 1 + 32 + 5;
    pack[at_key] ^= 0x10;
    std::fs::write(&path, pack).unwrap();
    assert_caught(&archive, "the index segment there does not hash to the one recorded");
    let (_, text) = verify(&archive);
    assert!(!text.contains("are missing"), "a damaged segment is not also reported missing:\n{text}");
}

#[test]
fn a_value_from_another_format_version_is_named_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage(&archive, "articles", |articles| {
        let (key, value) = first(articles);
        let mut bytes = value.to_vec();
        bytes[0] = 7;
        articles.insert(key, bytes).unwrap();
    });
    assert_caught(&archive, "article format version 7, this newsvault reads 1, 2 and 3");
}

/// The layout version an archive records.
fn format(archive: &Path) -> u32 {
    let db = sled::open(archive).unwrap();
    let value = db.open_tree("meta").unwrap().get("format").unwrap().unwrap();
    drop(db);
    wait_for_release(archive);
    u32::from_be_bytes(value.as_ref().try_into().unwrap())
}

/// The article an `articles` value holds, or points at in a pack (checking the entry's
/// hash of the article's id and stored bytes, as documented).
fn article_of(archive: &Path, key: &[u8], value: &[u8]) -> ArticleEntry {
    let at = match codec::article_value(value).unwrap() {
        codec::ArticleValue::Inline(bytes) => return codec::decode_article(bytes).unwrap(),
        codec::ArticleValue::InPack(at) => at,
    };
    let pack = std::fs::read(archive.join("packs").join(format!("{:08}.pack", at.pack))).unwrap();
    let entry = &pack[at.offset as usize..];
    let stored = &entry[newsvault::store::pack::HEADER_LEN..][..at.len as usize];
    assert_eq!(entry[0], 5, "an article's entry");
    assert_eq!(&entry[1..33], blake3::Hasher::new().update(key).update(stored).finalize().as_bytes());
    codec::decode_article(stored).unwrap()
}

/// The content a `near` value points at in a pack.
fn near_content(archive: &Path, value: &[u8]) -> Vec<u8> {
    let codec::NearValue::InPack(at, _) = codec::near_value("near", value).unwrap() else {
        panic!("the current layout keeps near values in the packs")
    };
    let pack = std::fs::read(archive.join("packs").join(format!("{:08}.pack", at.pack))).unwrap();
    let start = at.offset as usize + newsvault::store::pack::HEADER_LEN;
    pack[start..start + at.len as usize].to_vec()
}

/// Marks a sound archive as written in layout `before` and rewrites what that layout
/// wrote differently: index segments and joins back in sled's values as layouts 6 and 7
/// kept them (bincode, with 64-bit band keys whose high halves are noise: the keys those
/// bodies had), and for layout 6 every article in the whole form, without the compact one.
fn as_layout(archive: &Path, before: u32) {
    let db = sled::open(archive).unwrap();
    db.open_tree("meta").unwrap().insert("format", &before.to_be_bytes()).unwrap();
    if before <= 10 {
        // Articles in their keys' values: compact, or for layout 6 whole.
        let articles = db.open_tree("articles").unwrap();
        for item in articles.iter() {
            let (key, value) = item.unwrap();
            let article = article_of(archive, &key, &value);
            let inline = if before == 6 { codec::encode(&article) } else { codec::encode_article(&article) };
            articles.insert(key, inline).unwrap();
        }
    }
    if before == 8 {
        // Segments that do not say where their bodies are, held in sled's values.
        let near = db.open_tree("near").unwrap();
        for item in near.scan_prefix(b"s") {
            let (key, value) = item.unwrap();
            let mut unplaced = vec![codec::SEGMENT_WITHOUT_PLACES];
            for (hash, keys, _) in codec::decode_segment("near", &near_content(archive, &value)).unwrap() {
                unplaced.extend_from_slice(&hash.0);
                keys.iter().for_each(|k| unplaced.extend_from_slice(&k.to_le_bytes()));
            }
            near.insert(key, unplaced).unwrap();
        }
    }
    if before <= 7 {
        let near = db.open_tree("near").unwrap();
        for item in near.iter() {
            let (key, value) = item.unwrap();
            let content = near_content(archive, &value);
            let inline = if key[0] == b's' {
                let entries = codec::decode_segment("near", &content).unwrap();
                let wide: Vec<(newsvault::id::BodyHash, [u64; newsvault::near::minhash::BANDS])> = entries
                    .into_iter()
                    .map(|(hash, keys, _)| {
                        (hash, keys.map(|k| u64::from(k) | (u64::from(k.rotate_left(7) ^ 0x5A5A) << 32)))
                    })
                    .collect();
                codec::encode(&wide)
            } else {
                content
            };
            near.insert(key, inline).unwrap();
        }
    }
    db.flush().unwrap();
    drop(db);
    wait_for_release(archive);
}

/// An ingest reads the bodies it verifies candidates on where their index segment says
/// they are; verify checks each place against the body's own entry.
#[test]
fn verify_reports_a_segment_placing_a_body_elsewhere_than_its_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    let db = sled::open(&archive).unwrap();
    let near = db.open_tree("near").unwrap();
    let (key, value) = near.scan_prefix(b"s").next().unwrap().unwrap();
    let mut entries = codec::decode_segment("near", &near_content(&archive, &value)).unwrap();
    let (hash, _, at) = &mut entries[0];
    let placed = at.expect("a segment of this release places its bodies");
    *at = Some(newsvault::store::pack::Location { offset: placed.offset + 1, ..placed });
    let short = hash.short();
    near.insert(key, codec::encode_segment(&entries)).unwrap();
    db.flush().unwrap();
    drop(near);
    drop(db);
    wait_for_release(&archive);
    let (code, report) = verify(&archive);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains(&format!("places body {short} at")), "{report}");
}

/// Each layout before the current one is read as it is, and the first ingest marks it
/// current; a body ingested then is still found near the ones the old layout indexed.
#[test]
fn an_archive_of_a_layout_before_is_read_and_marked_current_by_an_ingest() {
    for before in newsvault::store::UPGRADED_FORMATS {
        let dir = tempfile::tempdir().unwrap();
        let (archive, _) = sound_archive(dir.path());
        as_layout(&archive, before);
        let listed = newsvault(&archive).args(["list", "--json", "--title", "Lighthouse"]).assert().success();
        let listed = String::from_utf8_lossy(&listed.get_output().stdout).to_string();
        assert_eq!(format(&archive), before, "a reader leaves the layout as it found it");
        let article: Value =
            serde_json::from_str(listed.lines().next().expect("the lighthouse is listed")).unwrap();
        let shown = newsvault(&archive)
            .args(["show", "--json"])
            .arg(article["id"].as_str().unwrap())
            .assert()
            .success();
        let shown: Value = serde_json::from_slice(&shown.get_output().stdout).unwrap();
        let copy = serde_json::json!({
            "url": "https://example.org/lighthouse-copy",
            "title": "Keepers relight the cape lamp",
            "body": format!("{} The copy adds one line of its own.", shown["body"].as_str().unwrap()),
        });
        newsvault(&archive)
            .args(["ingest", "--captured-at", "2030-02-01T00:00:00Z", "-"])
            .write_stdin(format!("{copy}\n"))
            .assert()
            .success()
            .stdout(predicate::str::contains("1 of them near-duplicates"));
        assert_eq!(
            format(&archive),
            newsvault::store::FORMAT_VERSION,
            "after an ingest into layout {before}"
        );
        let near = newsvault(&archive)
            .args(["near", "--json", "https://example.org/lighthouse-copy"])
            .assert()
            .success();
        assert!(
            String::from_utf8_lossy(&near.get_output().stdout).contains(shown["hash"].as_str().unwrap()),
            "layout {before}: the copy is near the version the old layout indexed"
        );
        newsvault(&archive).arg("verify").assert().success();
    }
}

#[test]
fn an_archive_of_another_format_version_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    let db = sled::open(&archive).unwrap();
    let other = newsvault::store::FORMAT_VERSION + 1;
    db.open_tree("meta").unwrap().insert("format", &other.to_be_bytes()).unwrap();
    db.flush().unwrap();
    drop(db);
    wait_for_release(&archive);
    for command in [&["list"][..], &["verify"], &["ingest", "-"]] {
        newsvault(&archive).args(command).write_stdin("").assert().code(1).stderr(
            predicate::str::contains(format!("uses format version {other}")).and(predicate::str::contains(
                format!("reads format version {}", newsvault::store::FORMAT_VERSION),
            )),
        );
    }
}

/// Flips one byte at offsets spread over sled's log file, each on a fresh copy. Every
/// outcome must be one of: verify reports the damage (exit 1), sled refuses to open
/// with a message, or the byte was in space sled no longer uses and the archive reads
/// as before. Never a hang, a panic, or an archive that silently says less.
#[test]
fn bytes_flipped_in_sleds_own_files_are_caught_or_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, sound) = sound_archive(dir.path());
    // sled's log is sparse at this size: flip only inside the pages it has written.
    let log = std::fs::read(archive.join("db")).unwrap();
    let written: Vec<u64> = (0..log.len())
        .step_by(512)
        .filter(|&start| log[start..(start + 512).min(log.len())].iter().any(|&b| b != 0))
        .map(|start| start as u64)
        .collect();
    let mut outcomes = std::collections::BTreeMap::<&str, u32>::new();
    const FLIPS: u64 = 24;
    for i in 0..FLIPS {
        let copy = dir.path().join(format!("flip{i}"));
        copy_dir(&archive, &copy);
        let block = written[(written.len() as u64 * i / FLIPS) as usize];
        let offset = (block + (i * 7919) % 512).min(log.len() as u64 - 1);
        flip_byte(&copy.join("db"), offset, 0x5a);
        let (code, text) = verify(&copy);
        assert!(!text.contains("panicked"), "flip at {offset}: a panic:\n{text}");
        let outcome = match code {
            Some(1) => {
                assert!(
                    text.lines().all(|l| l.starts_with("problem:")
                        || l.starts_with("checked")
                        || l.starts_with("newsvault:")
                        || l.contains("half-written")),
                    "flip at {offset}: every line names a problem:\n{text}"
                );
                "reported"
            }
            Some(0) => {
                let now = stats(&copy).expect("a verified archive has stats");
                for field in ["articles", "versions", "bodies", "captures", "near_groups"] {
                    assert_eq!(now[field], sound[field], "flip at {offset}: {field} changed silently");
                }
                "harmless"
            }
            other => {
                panic!("flip at {offset}: verify exited {other:?} (a hang is killed after 60 s):\n{text}")
            }
        };
        *outcomes.entry(outcome).or_default() += 1;
        std::fs::remove_dir_all(&copy).unwrap();
    }
    eprintln!("{FLIPS} flipped bytes: {outcomes:?}");
    assert!(outcomes.get("reported").copied().unwrap_or(0) >= 1, "some flips hit live data: {outcomes:?}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn flip_byte(file: &Path, offset: u64, mask: u8) {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(file).unwrap();
    let mut byte = [0u8];
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.read_exact(&mut byte).unwrap();
    byte[0] ^= mask;
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&byte).unwrap();
}

/// While one ingest runs (reading standard input that stays open), a second ingest and
/// every reader are told "archive in use" at once, and change nothing; the running
/// ingest then completes with everything it was given.
#[cfg(target_os = "linux")]
#[test]
fn while_an_ingest_runs_writers_and_readers_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    newsvault(&archive).arg("ingest").arg(fixture("mixed/np.json")).assert().success();
    let mut running = Command::new(assert_cmd::cargo::cargo_bin("newsvault"))
        .arg("--archive")
        .arg(&archive)
        .args(["ingest", "--json", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = running.stdin.take().unwrap();
    stdin.write_all(&std::fs::read(fixture("mixed/wire.jsonl")).unwrap()).unwrap();
    stdin.flush().unwrap();
    wait_until_locked(running.id(), &archive);
    for command in [&["list"][..], &["show", "0000"], &["stats"], &["verify"], &["diff", "0000", "1111"]] {
        newsvault(&archive)
            .args(command)
            .timeout(Duration::from_secs(10))
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is in use by another newsvault process"));
    }
    newsvault(&archive)
        .arg("ingest")
        .arg(fixture("mixed/lighthouse.txt"))
        .timeout(Duration::from_secs(10))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is in use"));
    drop(stdin);
    let output = running.wait_with_output().unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["new_versions"], 3, "{summary}");
    newsvault(&archive).arg("verify").assert().success();
    let list = newsvault(&archive).args(["list", "--json"]).output().unwrap();
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    assert_eq!(listed.lines().count(), 3, "the refused ingest stored nothing:\n{listed}");
    assert!(!listed.to_lowercase().contains("lighthouse"), "{listed}");
}

/// Waits until the running ingest has the archive's log open (and so its lock), by
/// looking at its open files rather than opening the archive, which would race it.
fn wait_until_locked(pid: u32, archive: &Path) {
    let log = archive.join("db").canonicalize().ok();
    for _ in 0..400 {
        let open_files = std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten().flatten();
        if open_files.filter_map(|fd| std::fs::read_link(fd.path()).ok()).any(|target| Some(target) == log) {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the ingest never opened the archive");
}

#[test]
fn a_body_naming_an_article_not_yet_written_is_unfinished_and_every_reader_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    // What a kill between writing a body and writing its new article leaves.
    damage(&archive, "bodies", |bodies| {
        let (key, value) = first(bodies);
        let mut entry: BodyEntry = codec::decode("bodies", &value).unwrap();
        entry.articles.push(newsvault::id::ArticleId([7; 16]));
        bodies.insert(key, codec::encode(&entry)).unwrap();
    });
    let (code, text) = verify(&archive);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("half-written"), "{text}");
    for command in [&["clusters", "--threshold", "0.5"][..], &["list"], &["export", "--dedup", "near"]] {
        newsvault(&archive).args(command).assert().success();
    }
}

#[test]
fn a_lost_index_segment_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage(&archive, "near", |near| {
        let mut key = vec![b's'];
        key.extend_from_slice(&0u64.to_be_bytes());
        assert!(near.remove(key).unwrap().is_some(), "the first ingest wrote segment #0");
    });
    assert_caught(&archive, "segments #0 to #0 are missing");
}

/// Records of one text under `count` URLs, as JSON Lines.
fn one_text_under_urls(count: usize, first: usize) -> String {
    (first..first + count)
        .map(|n| {
            let record = serde_json::json!({
                "url": format!("https://example.org/notice-{n}"),
                "title": "Notice",
                "body": "The ferry timetable changes on Monday; the harbour office explains why.",
            });
            format!("{record}\n")
        })
        .collect()
}

fn ingest_notices(archive: &Path, count: usize, first: usize) {
    newsvault(archive)
        .args(["ingest", "-"])
        .write_stdin(one_text_under_urls(count, first))
        .assert()
        .success();
}

/// The holders a body's entry names and the holder keys of their own, for the one
/// body of an archive.
fn holders_stored(archive: &Path) -> (usize, usize) {
    let db = sled::open(archive).unwrap();
    let (_, value) = db.open_tree("bodies").unwrap().iter().next().unwrap().unwrap();
    let entry: BodyEntry = codec::decode("bodies", &value).unwrap();
    let keys = db.open_tree("holders").unwrap().len();
    drop(db);
    wait_for_release(archive);
    (entry.articles.len(), keys)
}

fn also_in(archive: &Path, url: &str) -> usize {
    let shown = newsvault(archive).args(["show", "--json", url]).assert().success();
    let shown: Value = serde_json::from_slice(&shown.get_output().stdout).unwrap();
    shown["also_in"].as_array().expect("show lists the other holders").len()
}

/// A text many articles hold (the empty page of a failed scrape) names its first few
/// in its entry and the rest in keys of their own, and every reader sees them all.
#[test]
fn a_body_held_by_many_articles_names_every_one_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let inline = newsvault::store::INLINE_HOLDERS;
    ingest_notices(&archive, inline + 12, 0);
    assert_eq!(holders_stored(&archive), (inline, 12));
    assert_eq!(also_in(&archive, "https://example.org/notice-0"), inline + 11);
    ingest_notices(&archive, 3, inline + 11);
    assert_eq!(holders_stored(&archive), (inline, 14), "a holder already named is not named again");
    assert_eq!(also_in(&archive, "https://example.org/notice-3"), inline + 13);
    let (code, text) = verify(&archive);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("no problems"), "{text}");
}

/// Layout 9 named every holder in the body's entry: such an entry is read as it is,
/// and the holders added after it are keys of their own.
#[test]
fn a_layout_9_entry_naming_every_holder_is_read_and_grown_by_keys() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a");
    let inline = newsvault::store::INLINE_HOLDERS;
    ingest_notices(&archive, inline + 4, 0);
    let db = sled::open(&archive).unwrap();
    let (bodies, holders) = (db.open_tree("bodies").unwrap(), db.open_tree("holders").unwrap());
    let (key, value) = bodies.iter().next().unwrap().unwrap();
    let mut entry: BodyEntry = codec::decode("bodies", &value).unwrap();
    for item in holders.iter() {
        let (holder, _) = item.unwrap();
        entry.articles.push(newsvault::id::ArticleId::from_slice(&holder[32..]).unwrap());
        holders.remove(holder).unwrap();
    }
    bodies.insert(key, codec::encode(&entry)).unwrap();
    db.open_tree("meta").unwrap().insert("format", &9u32.to_be_bytes()).unwrap();
    db.flush().unwrap();
    drop((bodies, holders, db));
    wait_for_release(&archive);
    assert_eq!(holders_stored(&archive), (inline + 4, 0));
    assert_eq!(also_in(&archive, "https://example.org/notice-0"), inline + 3);
    ingest_notices(&archive, 2, inline + 4);
    assert_eq!(holders_stored(&archive), (inline + 4, 2));
    assert_eq!(also_in(&archive, "https://example.org/notice-1"), inline + 5);
    let (code, text) = verify(&archive);
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_holder_key_of_a_body_not_stored_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage(&archive, "holders", |holders| {
        holders.insert([9u8; 48], &[]).unwrap();
    });
    assert_caught(&archive, "as holding a body not stored");
}

#[test]
fn a_holder_key_of_the_wrong_length_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _) = sound_archive(dir.path());
    damage(&archive, "holders", |holders| {
        holders.insert([9u8; 40], &[]).unwrap();
    });
    assert_caught(&archive, "key of 40 bytes");
}
