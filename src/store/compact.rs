//! Compaction: sled's files written again with the trees' contents, each half of a tree
//! in key order, and swapped in for the old ones. Owns the copy, the swap and the
//! finishing of a swap a crash cut off; never adds, changes or drops a key or a value,
//! and never touches the packs or `committed`.
//!
//! sled 0.34 keeps a page's old copies until the segment holding them is at most half
//! live, and random keys leave its leaves split half full. A million-version archive's
//! trees held 73 MB of keys and values in 334 MB of sled's files; the same trees written
//! again in key order took 220 MB.
//!
//! The swap, each step durable before the next:
//! 1. the trees are copied into a new sled in `compact.new/`, which is opened once more
//!    and checked against a digest of everything copied (sled writes its snapshot at
//!    open, so that open also spares the next command replaying the whole copy); then
//!    `compact.new/ready` is written;
//! 2. sled's files in the archive (`conf`, `db`, `snap.*`, `blobs/`) are moved into
//!    `compact.old/`, then `compact.old/moved` is written;
//! 3. the new files are moved from `compact.new/` into the archive, and `ready` is
//!    removed;
//! 4. `compact.new/` and `compact.old/` are removed.
//!
//! Steps 2 to 4 are `finish_interrupted`, which every open also runs, with the
//! archive's lock held and before sled is opened: with `ready` the swap is completed
//! from wherever it stopped; without it, whatever is left of either directory is
//! removed (a copy cut off before it was whole, or old files already replaced).

//!
//! An ingest ends with a compaction when one is [`due`]: sled's files have reached
//! [`DUE_AT_LEAST`] and [`DUE_GROWTH`] times what the last compaction left (recorded in
//! `compacted` beside them), so an archive fed a little at a time is not copied whole
//! for each small ingest, and the copies an archive growing without end costs add up
//! to about twice its final index.

use std::fs;
use std::path::Path;

use serde::Serialize;

use super::{Store, scan};
use crate::error::{Error, Result};

/// Where the new files are written.
const NEW_DIR: &str = "compact.new";
/// Where sled's old files wait to be removed.
const OLD_DIR: &str = "compact.old";
/// In [`NEW_DIR`]: the copy is whole and checked.
const READY: &str = "ready";
/// In [`OLD_DIR`]: every old file is in it.
const MOVED: &str = "moved";

/// Beside sled's files: their size in bytes (decimal text) when the last compaction
/// ended.
const COMPACTED: &str = "compacted";

/// The least size of sled's files at which a compaction is due: below it, what a copy
/// gives back is not worth an ingest's time (the whole newsdiffs-se corpus takes 11 MB).
pub const DUE_AT_LEAST: u64 = 64 << 20;

/// How many times what the last compaction left sled's files must have grown to.
pub const DUE_GROWTH: u64 = 2;

/// Entries copied between reports of progress.
const REPORT_EVERY: u64 = 10_000;

/// What a compaction did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Compaction {
    /// Keys copied (every tree's).
    pub keys: u64,
    /// Bytes of keys and values copied.
    pub content_bytes: u64,
    /// The archive's bytes on disk before (sled's files and the packs).
    pub bytes_before: u64,
    /// The archive's bytes on disk after.
    pub bytes_after: u64,
    /// Whether the copy replaced sled's files: it does not when it is no smaller (an
    /// archive that has never been rewritten much, whose files sled's own segment
    /// granularity keeps near their contents), and the files are kept as they were.
    pub swapped: bool,
}

/// Whether sled's files have grown enough since the last compaction for an ingest to
/// end with one.
pub(super) fn due(store: &Store) -> Result<bool> {
    let (sled_bytes, _) = store.sizes_on_disk()?;
    Ok(due_at(sled_bytes, last_compacted(&store.path)))
}

/// [`due`] for sled's files of `sled_bytes` when the last compaction left `last` (none:
/// never compacted).
fn due_at(sled_bytes: u64, last: Option<u64>) -> bool {
    sled_bytes >= DUE_AT_LEAST && sled_bytes >= last.unwrap_or(0).saturating_mul(DUE_GROWTH)
}

/// What the last compaction left, if it recorded it (an unreadable record counts as
/// none: the worst it costs is one compaction more).
fn last_compacted(path: &Path) -> Option<u64> {
    fs::read_to_string(path.join(COMPACTED)).ok()?.trim().parse().ok()
}

/// Records what a compaction left, atomically.
fn record_compacted(path: &Path, sled_bytes: u64) -> Result<()> {
    let file = path.join(COMPACTED);
    let io_error = |e| io(&file, "writing", e);
    let mut temporary = tempfile::NamedTempFile::new_in(path).map_err(io_error)?;
    std::io::Write::write_all(&mut temporary, format!("{sled_bytes}\n").as_bytes()).map_err(io_error)?;
    temporary.as_file().sync_all().map_err(io_error)?;
    temporary.persist(&file).map_err(|e| io_error(e.error))?;
    Ok(())
}

/// Copies the store's trees into new files and swaps them in. `copied` is told the bytes
/// of keys and values copied, every [`REPORT_EVERY`] entries of a part.
pub(super) fn compact(store: Store, copied: &(dyn Fn(u64) + Sync)) -> Result<Compaction> {
    let (sled_before, packs_bytes) = store.sizes_on_disk()?;
    let bytes_before = sled_before + packs_bytes;
    let path = store.path.clone();
    let new = path.join(NEW_DIR);
    // The open has finished any earlier swap; nothing of one may linger into this one.
    remove_dir_if_present(&new)?;
    remove_dir_if_present(&path.join(OLD_DIR))?;
    let made = write_new(&store.db, &new, copied)?;
    if made.sled_bytes >= sled_before {
        discard_copy(&new)?;
        record_compacted(&path, sled_before)?;
        return Ok(Compaction {
            keys: made.keys,
            content_bytes: made.content_bytes,
            bytes_before,
            bytes_after: bytes_before,
            swapped: false,
        });
    }
    // sled's handles on the old files go before the files do; the archive's own lock is
    // kept until the swap is over.
    let lock = store.close();
    finish_interrupted(&path)?;
    record_compacted(&path, made.sled_bytes)?;
    drop(lock);
    Ok(Compaction {
        keys: made.keys,
        content_bytes: made.content_bytes,
        bytes_before,
        bytes_after: made.sled_bytes + packs_bytes,
        swapped: true,
    })
}

/// Removes a whole copy that is not to be swapped in: `ready` first and durably, so
/// that a crash while the rest goes leaves litter, not a swap to complete.
fn discard_copy(new: &Path) -> Result<()> {
    let ready = new.join(READY);
    fs::remove_file(&ready).map_err(|e| io(&ready, "removing", e))?;
    sync_dir(new)?;
    remove_dir_if_present(new)
}

/// Completes or discards a swap cut off by a crash (steps 2 to 4 of the module
/// documentation). Called with the archive's lock held, before sled is opened.
pub(super) fn finish_interrupted(path: &Path) -> Result<()> {
    finish_within(path, &mut Steps::unlimited())
}

/// How many file operations the swap may make before it stops as if cut off: tests
/// stop it after each in turn.
struct Steps(Option<usize>);

impl Steps {
    fn unlimited() -> Steps {
        Steps(None)
    }

    /// Whether one more operation may be made (and counts it).
    fn take(&mut self) -> bool {
        match &mut self.0 {
            None => true,
            Some(0) => false,
            Some(left) => {
                *left -= 1;
                true
            }
        }
    }
}

fn finish_within(path: &Path, steps: &mut Steps) -> Result<()> {
    let new = path.join(NEW_DIR);
    let old = path.join(OLD_DIR);
    if new.join(READY).exists() {
        if !old.join(MOVED).exists() {
            fs::create_dir_all(&old).map_err(|e| io(&old, "creating", e))?;
            if !move_sled_files(path, &old, steps)? || !steps.take() {
                return Ok(());
            }
            write_mark(&old, MOVED)?;
        }
        if !move_sled_files(&new, path, steps)? {
            return Ok(());
        }
        // `ready` goes first, and durably: once it is gone, what is left of either
        // directory is litter.
        if !steps.take() {
            return Ok(());
        }
        let ready = new.join(READY);
        fs::remove_file(&ready).map_err(|e| io(&ready, "removing", e))?;
        sync_dir(&new)?;
    }
    // Without `ready`, `compact.new` is a copy cut off before it was whole (or what the
    // swap above left of it), and `compact.old` holds only files already replaced: old
    // files are moved there only while `ready` stands, and it is removed only once the
    // new files are in.
    for litter in [&new, &old] {
        if litter.exists() {
            if !steps.take() {
                return Ok(());
            }
            remove_dir_if_present(litter)?;
            sync_dir(path)?;
        }
    }
    Ok(())
}

/// Moves sled's files from one directory to another, then syncs both; false if `steps` ran out first.
fn move_sled_files(from: &Path, to: &Path, steps: &mut Steps) -> Result<bool> {
    for name in sled_files(from)? {
        if !steps.take() {
            return Ok(false);
        }
        rename(&from.join(&name), &to.join(&name))?;
    }
    sync_dir(from)?;
    sync_dir(to)?;
    Ok(true)
}

/// What [`write_new`] made.
struct Made {
    keys: u64,
    content_bytes: u64,
    sled_bytes: u64,
}

/// Step 1: the trees copied into a new sled at `dir`, checked, and marked ready.
///
/// Both passes (the copy and its check) run on every core, a part of a tree at a time.
/// The copy inserts key by key: sled runs each write batch alone (under a lock of the
/// whole database), so batches kept the copy to one core. Measured on the million-version
/// replay's index (1,444,468 keys): the copy took 5.3 s on two cores, 7.9 s on one, and
/// 10.7 s in batches of 10,000; batches left sled's files smaller (175 MB against 220).
fn write_new(from: &sled::Db, dir: &Path, copied: &(dyn Fn(u64) + Sync)) -> Result<Made> {
    let to = open_new(dir)?;
    let parts = parts(from);
    let written = on_every_core(&parts, |part| copy_part(from, &to, part, copied))?;
    to.flush()?;
    drop(to);
    let reopened = open_new(dir)?;
    let read = on_every_core(&parts, |part| digest_part(&reopened, part, |_, _| Ok(())))?;
    let (keys, content_bytes) = written.iter().fold((0, 0), |(k, b), d| (k + d.keys, b + d.bytes));
    if read != written {
        let read_keys: u64 = read.iter().map(|d| d.keys).sum();
        return Err(Error::Corrupt {
            tree: "compact",
            detail: format!(
                "the new files in {} do not read back as written ({keys} keys written, {read_keys} read); the archive is unchanged",
                dir.display(),
            ),
        });
    }
    let sled_bytes = reopened.size_on_disk()?;
    drop(reopened);
    sync_dir(dir)?;
    write_mark(dir, READY)?;
    Ok(Made { keys, content_bytes, sled_bytes })
}

/// A half of a tree: the keys below 0x80, or from it on. Hash-keyed trees split evenly.
struct Part {
    tree: sled::IVec,
    upper: bool,
}

/// Every tree in two halves, in one order: the copy's digests and the check's are
/// compared part by part in it.
fn parts(db: &sled::Db) -> Vec<Part> {
    tree_names(db)
        .into_iter()
        .flat_map(|tree| [Part { tree: tree.clone(), upper: false }, Part { tree, upper: true }])
        .collect()
}

impl Part {
    fn entries(&self, db: &sled::Db) -> Result<impl Iterator<Item = Result<(sled::IVec, sled::IVec)>>> {
        const HALF: &[u8] = &[0x80];
        let tree = db.open_tree(&self.tree)?;
        Ok(scan(if self.upper { tree.range(HALF..) } else { tree.range(..HALF) }))
    }
}

/// `work` on each part, on all cores, each part taken by the next thread free (the
/// largest trees' halves are most of the work); the results in the parts' order, or an
/// error if any part failed.
fn on_every_core<T: Send>(parts: &[Part], work: impl Fn(&Part) -> Result<T> + Sync) -> Result<Vec<T>> {
    use rayon::iter::{ParallelBridge, ParallelIterator};
    let mut done: Vec<(usize, T)> = parts
        .iter()
        .enumerate()
        .par_bridge()
        .map(|(at, part)| Ok((at, work(part)?)))
        .collect::<Result<_>>()?;
    done.sort_by_key(|(at, _)| *at);
    Ok(done.into_iter().map(|(_, made)| made).collect())
}

/// Copies a part into the same tree of `to`, key by key; its digest.
fn copy_part(from: &sled::Db, to: &sled::Db, part: &Part, copied: &(dyn Fn(u64) + Sync)) -> Result<Digest> {
    let target = to.open_tree(&part.tree)?;
    let (mut entries, mut unreported) = (0, 0);
    let digest = digest_part(from, part, |key, value| {
        unreported += (key.len() + value.len()) as u64;
        target.insert(key, value)?;
        entries += 1;
        if entries % REPORT_EVERY == 0 {
            copied(std::mem::take(&mut unreported));
        }
        Ok(())
    })?;
    copied(unreported);
    Ok(digest)
}

/// A part's digest as `db` holds it, each entry handed on to `then` once counted.
fn digest_part(
    db: &sled::Db,
    part: &Part,
    mut then: impl FnMut(sled::IVec, sled::IVec) -> Result<()>,
) -> Result<Digest> {
    let mut digest = Digest::default();
    for entry in part.entries(db)? {
        let (key, value) = entry?;
        digest.add(&part.tree, &key, &value);
        then(key, value)?;
    }
    Ok(digest)
}

fn open_new(dir: &Path) -> Result<sled::Db> {
    // The copy writes each part at its right edge and reads nothing back, and an ingest
    // that ends with a compaction still holds its own cache: the million-version ingest
    // peaked at 0.99 GB with 64 MiB here, 0.85 with 16 (the copy as fast).
    let config = sled::Config::new().path(dir).cache_capacity(16 << 20).mode(sled::Mode::HighThroughput);
    Ok(super::open_sled(&config)?)
}

/// Tree names in order.
fn tree_names(db: &sled::Db) -> Vec<sled::IVec> {
    let mut names = db.tree_names();
    names.sort();
    names
}

/// Everything copied of a part, as one BLAKE3 and counts.
#[derive(Default)]
struct Digest {
    hasher: blake3::Hasher,
    keys: u64,
    bytes: u64,
}

impl Digest {
    fn add(&mut self, tree: &[u8], key: &[u8], value: &[u8]) {
        for part in [tree, key, value] {
            self.hasher.update(&(part.len() as u64).to_le_bytes());
            self.hasher.update(part);
        }
        self.keys += 1;
        self.bytes += (key.len() + value.len()) as u64;
    }
}

impl PartialEq for Digest {
    fn eq(&self, other: &Digest) -> bool {
        (self.keys, self.bytes, self.hasher.finalize()) == (other.keys, other.bytes, other.hasher.finalize())
    }
}

/// sled's own files in a directory, by the names sled 0.34 gives them.
fn sled_files(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io(dir, "reading", e))? {
        let name = entry.map_err(|e| io(dir, "reading", e))?.file_name().to_string_lossy().into_owned();
        if matches!(name.as_str(), "conf" | "db" | "blobs") || name.starts_with("snap.") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| io(from, &format!("moving to {}", to.display()), e))
}

fn write_mark(dir: &Path, name: &str) -> Result<()> {
    let file = dir.join(name);
    fs::File::create(&file).and_then(|f| f.sync_all()).map_err(|e| io(&file, "writing", e))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, "syncing", e))
}

fn remove_dir_if_present(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(dir, "removing", e)),
        _ => Ok(()),
    }
}

fn io(path: &Path, doing: &str, source: std::io::Error) -> Error {
    Error::Io { context: format!("{doing} {}", path.display()), cause: source }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::OpenMode;
    #[cfg(unix)]
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_compaction_is_due_past_the_least_size_once_the_files_have_doubled() {
        let mib = 1 << 20;
        assert!(!due_at(DUE_AT_LEAST - 1, None), "below the least size");
        assert!(due_at(DUE_AT_LEAST, None), "never compacted");
        assert!(!due_at(100 * mib, Some(60 * mib)), "not yet twice what the last one left");
        assert!(due_at(120 * mib, Some(60 * mib)));
        assert!(!due_at(DUE_AT_LEAST - 1, Some(mib)), "twice, but small");
    }

    #[test]
    fn a_compaction_records_what_it_left() {
        let (dir, _) = archive();
        assert_eq!(last_compacted(dir.path()), None);
        let store = Store::open(dir.path(), OpenMode::Existing).unwrap();
        let done = store.compact(&|_| {}).unwrap();
        let left = last_compacted(dir.path()).expect("recorded");
        assert!(done.swapped, "{done:?}");
        // This archive has no packs: all it holds on disk after is sled's files.
        assert_eq!(left, done.bytes_after, "{done:?}");
    }

    /// Tree name, key and value.
    type Entry = (Vec<u8>, Vec<u8>, Vec<u8>);

    /// Every key and value of every tree.
    fn contents(path: &Path) -> Vec<Entry> {
        let store = Store::open(path, OpenMode::Existing).unwrap();
        let mut all = Vec::new();
        for name in tree_names(&store.db) {
            for entry in store.db.open_tree(&name).unwrap().iter() {
                let (key, value) = entry.unwrap();
                all.push((name.to_vec(), key.to_vec(), value.to_vec()));
            }
        }
        all
    }

    /// An archive with keys written in random order and rewritten (so that sled's
    /// files hold old copies of pages a copy leaves behind), and its contents.
    fn archive() -> (tempfile::TempDir, Vec<Entry>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), OpenMode::Create).unwrap();
        let tree = store.db.open_tree("articles").unwrap();
        for round in 1..=4 {
            for n in 0u32..3000 {
                let key = blake3::hash(&n.to_le_bytes());
                let value = format!("value {n}").repeat(round + n as usize % 7);
                tree.insert(&key.as_bytes()[..16], value.as_bytes()).unwrap();
            }
            store.flush().unwrap();
        }
        // Keys at the edges of the halves a copy is made in.
        let edges = store.db.open_tree("edges").unwrap();
        for key in [&b""[..], &[0], &[0x7f, 0xff], &[0x80], &[0x80, 0], &[0xff; 40]] {
            edges.insert(key, key).unwrap();
        }
        store.flush().unwrap();
        drop((tree, edges, store));
        let before = contents(dir.path());
        (dir, before)
    }

    #[test]
    fn a_compaction_keeps_every_key_and_value() {
        let (dir, before) = archive();
        let store = Store::open(dir.path(), OpenMode::Existing).unwrap();
        let done = compact(store, &|_| ()).unwrap();
        assert!(done.swapped && done.bytes_after < done.bytes_before, "{done:?}");
        assert_eq!(done.keys, before.len() as u64);
        assert_eq!(contents(dir.path()), before);
        assert!(!dir.path().join(NEW_DIR).exists() && !dir.path().join(OLD_DIR).exists());
    }

    #[test]
    #[cfg(unix)]
    fn a_copy_no_smaller_than_the_files_it_would_replace_is_discarded() {
        let (dir, before) = archive();
        compact(Store::open(dir.path(), OpenMode::Existing).unwrap(), &|_| ()).unwrap();
        // The file itself, not its bytes: sled may write into its own file at any open.
        let db_file = || fs::metadata(dir.path().join("db")).unwrap().ino();
        let file = db_file();
        // The same contents copied again in the same order take what they took.
        let again = compact(Store::open(dir.path(), OpenMode::Existing).unwrap(), &|_| ()).unwrap();
        assert!(!again.swapped, "{again:?}");
        assert_eq!(again.bytes_after, again.bytes_before);
        assert_eq!(db_file(), file, "sled's files are kept, not replaced by the copy");
        assert_eq!(contents(dir.path()), before);
        assert!(!dir.path().join(NEW_DIR).exists() && !dir.path().join(OLD_DIR).exists());
    }

    #[test]
    fn a_swap_cut_off_after_any_step_is_finished_at_the_next_open() {
        let (dir, before) = archive();
        let mut cuts = 0;
        for allowed in 0.. {
            let store = Store::open(dir.path(), OpenMode::Existing).unwrap();
            write_new(&store.db, &dir.path().join(NEW_DIR), &|_| ()).unwrap();
            let lock = store.close();
            finish_within(dir.path(), &mut Steps(Some(allowed))).unwrap();
            drop(lock);
            let cut = dir.path().join(NEW_DIR).exists() || dir.path().join(OLD_DIR).exists();
            // The next open finishes the swap, wherever it stopped.
            assert_eq!(contents(dir.path()), before, "cut after {allowed} operations");
            assert!(!dir.path().join(NEW_DIR).exists() && !dir.path().join(OLD_DIR).exists());
            if !cut {
                break;
            }
            cuts += 1;
        }
        // conf, db, blobs and a snapshot each way, two marks, three removals.
        assert!(cuts >= 11, "only {cuts} places to cut");
    }

    #[test]
    fn what_a_cut_off_removal_leaves_is_cleared_before_the_next_compaction() {
        let (dir, before) = archive();
        // A swap that moved everything and lost `ready`, then was cut off before it
        // removed its directories: `compact.old` still says its files were moved.
        compact(Store::open(dir.path(), OpenMode::Existing).unwrap(), &|_| ()).unwrap();
        fs::create_dir_all(dir.path().join(NEW_DIR)).unwrap();
        fs::create_dir_all(dir.path().join(OLD_DIR).join("blobs")).unwrap();
        write_mark(&dir.path().join(OLD_DIR), MOVED).unwrap();
        fs::write(dir.path().join(OLD_DIR).join("snap.0000000000000001"), b"stale").unwrap();
        // The next compaction must move the live files away before it moves new ones in.
        let store = Store::open(dir.path(), OpenMode::Existing).unwrap();
        assert!(!dir.path().join(OLD_DIR).exists());
        compact(store, &|_| ()).unwrap();
        assert_eq!(contents(dir.path()), before);
    }

    #[test]
    fn a_directory_without_an_archive_is_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(Store::open(dir.path(), OpenMode::Existing), Err(Error::NoArchive { .. })));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_copy_cut_off_before_it_was_ready_is_discarded() {
        let (dir, before) = archive();
        let store = Store::open(dir.path(), OpenMode::Existing).unwrap();
        write_new(&store.db, &dir.path().join(NEW_DIR), &|_| ()).unwrap();
        drop(store);
        fs::remove_file(dir.path().join(NEW_DIR).join(READY)).unwrap();
        assert_eq!(contents(dir.path()), before);
        assert!(!dir.path().join(NEW_DIR).exists());
    }
}
