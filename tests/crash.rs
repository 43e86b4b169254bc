//! Crash safety on the real corpus: an ingest of all newsdiffs-se versions killed
//! (SIGKILL) at random moments, several times, leaves an archive that `verify` passes
//! each time, and finishing the ingest gives exactly what an uninterrupted ingest gives;
//! a compaction killed the same way leaves every article, version and capture as it was.
//! `NEWSVAULT_KILL_SEED` replays a run's kill moments.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{corpus_dir, newsvault};
use serde_json::Value;

const KILLS: usize = 6;

#[test]
fn an_ingest_killed_at_random_moments_completes_to_the_same_archive() {
    let Some(corpus) = corpus_dir() else { return };
    let input = corpus.join("newsdiffs-se/versions.jsonl.gz");
    let dir = tempfile::tempdir().unwrap();

    let whole = dir.path().join("whole");
    let started = Instant::now();
    newsvault(&whole).arg("ingest").arg(&input).assert().success();
    let uninterrupted = started.elapsed();

    let seed = kill_seed();
    eprintln!("kill seed {seed} (NEWSVAULT_KILL_SEED), uninterrupted ingest {uninterrupted:?}");
    let mut random = SplitMix(seed);

    let killed = dir.path().join("killed");
    for kill in 1..=KILLS {
        // Each run first skips what the earlier ones stored, then gets a little further:
        // a kill anywhere from the opening of the archive to a third of a whole ingest
        // lands, run after run, all along the corpus.
        let delay = uninterrupted.mul_f64(0.03 + 0.3 * random.unit());
        let outcome = ingest_killed_after(&killed, &input, delay);
        let (code, report) = verify(&killed);
        let captures = stats(&killed)["captures"].clone();
        eprintln!(
            "kill {kill} after {delay:?}: {outcome} at {captures} captures; verify: {}",
            report.trim().replace('\n', " / ")
        );
        assert_eq!(code, Some(0), "verify after kill {kill} (seed {seed}):\n{report}");
    }
    newsvault(&killed).arg("ingest").arg(&input).assert().success();

    let (expected, found) = (stats(&whole), stats(&killed));
    for field in ["articles", "versions", "bodies", "captures", "near_groups"] {
        assert_eq!(found[field], expected[field], "{field} (seed {seed})");
    }
    assert_eq!(listing(&killed), listing(&whole), "the same articles with the same versions (seed {seed})");
    assert_eq!(clusters(&killed), clusters(&whole), "the same near-duplicate clusters (seed {seed})");
    let (code, report) = verify(&killed);
    assert_eq!(code, Some(0), "{report}");
    assert!(!report.contains("half-written"), "nothing left unfinished:\n{report}");
}

#[test]
fn a_compaction_killed_at_random_moments_leaves_the_archive_as_it_was() {
    let Some(corpus) = corpus_dir() else { return };
    let input = corpus.join("newsdiffs-se/versions.jsonl.gz");
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    newsvault(&archive).arg("ingest").arg(&input).assert().success();
    let (listed, clustered, counted) = (listing(&archive), clusters(&archive), stats(&archive));

    let started = Instant::now();
    // Only timed: what a compaction gives back is the unit tests' (src/store/compact.rs).
    // sled's files for an archive this small are at their smallest already, and sled may
    // add a segment to them whenever the archive is opened again.
    newsvault(&archive).args(["compact", "--no-progress"]).assert().success();
    let uninterrupted = started.elapsed();

    let seed = kill_seed();
    eprintln!("kill seed {seed} (NEWSVAULT_KILL_SEED), uninterrupted compaction {uninterrupted:?}");
    let mut random = SplitMix(seed);
    for kill in 1..=KILLS {
        let delay = uninterrupted.mul_f64(0.05 + random.unit());
        let outcome = killed_after(&archive, &["compact", "--no-progress"], delay);
        let left: Vec<_> =
            ["compact.new", "compact.old"].into_iter().filter(|d| archive.join(d).exists()).collect();
        let (code, report) = verify(&archive);
        eprintln!(
            "kill {kill} after {delay:?}: {outcome}, leaving {left:?}; verify: {}",
            report.trim().replace('\n', " / ")
        );
        assert_eq!(code, Some(0), "verify after kill {kill} (seed {seed}):\n{report}");
        assert_eq!(listing(&archive), listed, "the same articles after kill {kill} (seed {seed})");
        let now = stats(&archive);
        for field in ["articles", "versions", "bodies", "captures", "near_groups", "input_bytes"] {
            assert_eq!(now[field], counted[field], "{field} after kill {kill} (seed {seed})");
        }
    }
    assert_eq!(clusters(&archive), clustered, "the same near-duplicate clusters (seed {seed})");
    // The compacted index still knows every body and capture: the same input stores nothing.
    let again = newsvault(&archive).args(["--json", "ingest"]).arg(&input).assert().success();
    let again: Value = serde_json::from_slice(&again.get_output().stdout).unwrap();
    assert_eq!((again["new_articles"].as_u64(), again["new_versions"].as_u64()), (Some(0), Some(0)));
}

/// Starts an ingest and kills it with SIGKILL after `delay`, unless it ended first.
fn ingest_killed_after(archive: &Path, input: &Path, delay: Duration) -> &'static str {
    killed_after(archive, &[std::ffi::OsStr::new("ingest"), input.as_os_str()], delay)
}

/// Starts a command and kills it with SIGKILL after `delay`, unless it ended first.
fn killed_after<S: AsRef<std::ffi::OsStr>>(archive: &Path, args: &[S], delay: Duration) -> &'static str {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("newsvault"))
        .arg("--archive")
        .arg(archive)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let outcome = match child.try_wait().unwrap() {
        Some(_) => "had finished",
        None => {
            child.kill().unwrap();
            "killed"
        }
    };
    child.wait().unwrap();
    outcome
}

fn verify(archive: &Path) -> (Option<i32>, String) {
    let output = newsvault(archive).arg("verify").timeout(Duration::from_secs(300)).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr),
    )
}

fn stats(archive: &Path) -> Value {
    serde_json::from_slice(
        &newsvault(archive).args(["stats", "--json"]).assert().success().get_output().stdout,
    )
    .unwrap()
}

fn listing(archive: &Path) -> Vec<u8> {
    newsvault(archive).args(["list", "--json"]).assert().success().get_output().stdout.clone()
}

fn clusters(archive: &Path) -> Vec<u8> {
    let args = ["clusters", "--threshold", "0.5", "--json"];
    newsvault(archive).args(args).assert().success().get_output().stdout.clone()
}

/// The seed of a run's kill moments: `NEWSVAULT_KILL_SEED`, else the clock.
fn kill_seed() -> u64 {
    std::env::var("NEWSVAULT_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    })
}

/// A small seeded generator (SplitMix64): the kill moments must be replayable.
struct SplitMix(u64);

impl SplitMix {
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }
}
