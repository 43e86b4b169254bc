//! Helpers shared by the integration tests: the binary, temporary archives, and the
//! real corpus in `../shared/corpus` (or `NEWSVAULT_CORPUS`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The corpus directory, or `None` (with a printed notice) when it is missing outside
/// CI. In CI (`CI` set) a missing corpus fails the test: corpus tests are never skipped there.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("NEWSVAULT_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "corpus not found at {} (set NEWSVAULT_CORPUS): corpus tests may not be skipped in CI",
            dir.display()
        );
    }
    eprintln!(
        "notice: corpus not found at {}; skipping this corpus test (set NEWSVAULT_CORPUS)",
        dir.display()
    );
    None
}

/// A command running the newsvault binary on an archive in `dir`.
pub fn newsvault(archive: &Path) -> assert_cmd::Command {
    let mut cmd =
        assert_cmd::Command::cargo_bin("newsvault").expect("the newsvault binary is built for tests");
    cmd.arg("--archive").arg(archive).env_remove("NEWSVAULT_ARCHIVE").env("NO_COLOR", "1");
    cmd
}
