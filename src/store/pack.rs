//! Pack files: the archive's bodies and raw captures, each compressed once, and the
//! near-duplicate index's segments and joins, each appended to a file under `packs/`
//! that is only ever appended to; sled keeps where each one is
//! (a [`Location`]). Owns the pack format and the order that makes a crash harmless:
//! a batch's entries are written and synced, then the pack's new length is recorded in
//! sled, and only then may sled point at them; an ingest first cuts its pack back to
//! the recorded length, dropping what a crash left unrecorded. Never decides what is
//! stored, and never rewrites an entry.
//!
//! Why not in sled: sled rewrites a leaf with every value in it each time the leaf
//! changes, so kilobyte values made the archive 2.7 times its content and were the
//! slowest part of an ingest. Packs hold them once (as git's and restic's packs do).
//!
//! An entry: kind (1 byte: 1 body, 2 raw capture, 3 index segment, 4 joins, 5 article),
//! the content hash (32 bytes; of the stored bytes for segments and joins, of the
//! article's id and then the stored bytes for an article), the stored length (u32,
//! little-endian), then the stored bytes ([`super::codec`] blob or value).
//! A pack can be read entry by entry without sled, and every entry names its hash.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A pack is closed and the next one started past this many bytes.
const PACK_LIMIT: u64 = 1 << 30;

/// Bytes before an entry's stored bytes.
pub const HEADER_LEN: usize = 1 + 32 + 4;

/// What an entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A normalised body.
    Body = 1,
    /// A raw capture.
    Raw = 2,
    /// An index segment: the band keys of the bodies one ingest batch indexed.
    Segment = 3,
    /// The joins one ingest batch made.
    Joins = 4,
    /// An article as one ingest batch left it (a later batch that changes it appends it
    /// again).
    Article = 5,
}

/// Where an entry's stored bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The pack's number.
    pub pack: u32,
    /// Where the entry (its header) starts.
    pub offset: u64,
    /// Length of the stored bytes after the header.
    pub len: u32,
}

/// The pack being appended to, and how far it is recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackEnd {
    /// The pack's number.
    pub pack: u32,
    /// Its recorded length: everything before is pointed at or may be.
    pub len: u64,
}

/// The packs of one archive: reading any entry, appending to the last pack.
pub struct Packs {
    dir: PathBuf,
    open: Mutex<HashMap<u32, Arc<File>>>,
    writer: Mutex<Option<Writer>>,
}

struct Writer {
    end: PackEnd,
    file: File,
    buffer: Vec<u8>,
}

impl Packs {
    /// The packs in `archive/packs` (created when first written).
    pub fn new(archive: &Path) -> Packs {
        Packs { dir: archive.join("packs"), open: Mutex::new(HashMap::new()), writer: Mutex::new(None) }
    }

    /// The file of pack `number`.
    pub fn path_of(&self, number: u32) -> PathBuf {
        self.dir.join(format!("{number:08}.pack"))
    }

    /// Reads an entry's stored bytes, checking that its header names `kind` and `hash`.
    pub fn read(&self, location: Location, kind: Kind, hash: &[u8; 32]) -> Result<Vec<u8>> {
        self.read_hashed(location, kind, |_| *hash)
    }

    /// Reads an entry's stored bytes, checking that its header names `kind` and the hash
    /// `hash_of` gives for them (an entry whose hash covers its own bytes).
    pub fn read_hashed(
        &self,
        location: Location,
        kind: Kind,
        hash_of: impl FnOnce(&[u8]) -> [u8; 32],
    ) -> Result<Vec<u8>> {
        let file = self.file(location.pack)?;
        let mut bytes = vec![0u8; HEADER_LEN + location.len as usize];
        file.read_exact_at(&mut bytes, location.offset).map_err(|e| Error::Corrupt {
            tree: "packs",
            detail: format!("{} at {}: {e}", self.path_of(location.pack).display(), location.offset),
        })?;
        let header_ok = bytes[0] == kind as u8
            && bytes[33..37] == location.len.to_le_bytes()
            && bytes[1..33] == hash_of(&bytes[HEADER_LEN..]);
        if !header_ok {
            return Err(Error::Corrupt {
                tree: "packs",
                detail: format!(
                    "{} at {}: the entry there is not the one recorded",
                    self.path_of(location.pack).display(),
                    location.offset
                ),
            });
        }
        bytes.drain(..HEADER_LEN);
        Ok(bytes)
    }

    fn file(&self, number: u32) -> Result<Arc<File>> {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(file) = open.get(&number) {
            return Ok(file.clone());
        }
        let path = self.path_of(number);
        let file = Arc::new(
            File::open(&path)
                .map_err(|e| Error::Io { context: format!("opening {}", path.display()), cause: e })?,
        );
        open.insert(number, file.clone());
        Ok(file)
    }

    /// Queues an entry for the pack being written; returns where it will be. Nothing is
    /// on disk until [`Packs::sync`].
    pub fn append(&self, recorded: PackEnd, kind: Kind, hash: &[u8; 32], stored: &[u8]) -> Result<Location> {
        let mut slot = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(self.start_writer(recorded)?);
        }
        let writer = slot.as_mut().expect("the writer was just started");
        let len = u32::try_from(stored.len()).map_err(|_| Error::Corrupt {
            tree: "packs",
            detail: format!("an entry of {} bytes is too large for a pack", stored.len()),
        })?;
        let location =
            Location { pack: writer.end.pack, offset: writer.end.len + writer.buffer.len() as u64, len };
        writer.buffer.push(kind as u8);
        writer.buffer.extend_from_slice(hash);
        writer.buffer.extend_from_slice(&len.to_le_bytes());
        writer.buffer.extend_from_slice(stored);
        Ok(location)
    }

    /// Writes and syncs the queued entries; returns the pack's new end, to be recorded
    /// in sled before anything points at them. `None` when nothing was queued.
    pub fn sync(&self) -> Result<Option<PackEnd>> {
        let mut slot = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(writer) = slot.as_mut() else { return Ok(None) };
        if writer.buffer.is_empty() {
            return Ok(None);
        }
        let path = self.path_of(writer.end.pack);
        let io = |e| Error::Io { context: format!("writing {}", path.display()), cause: e };
        writer.file.write_all(&writer.buffer).map_err(io)?;
        writer.file.sync_data().map_err(io)?;
        writer.end.len += writer.buffer.len() as u64;
        writer.buffer.clear();
        let end = writer.end;
        if end.len >= PACK_LIMIT {
            // The next append starts the next pack, from this end once it is recorded.
            *slot = None;
        }
        Ok(Some(end))
    }

    /// Opens the pack to append to: the recorded one cut back to its recorded length
    /// (what lies past it was written by an ingest that stopped before recording it),
    /// or the next one when the recorded one is full.
    fn start_writer(&self, recorded: PackEnd) -> Result<Writer> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::Io { context: format!("creating {}", self.dir.display()), cause: e })?;
        let end =
            if recorded.len >= PACK_LIMIT { PackEnd { pack: recorded.pack + 1, len: 0 } } else { recorded };
        let path = self.path_of(end.pack);
        let io = |e| Error::Io { context: format!("opening {}", path.display()), cause: e };
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(io)?;
        if file.metadata().map_err(io)?.len() != end.len {
            file.set_len(end.len).map_err(io)?;
        }
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&end.pack);
        Ok(Writer { end, file, buffer: Vec::new() })
    }

    /// Bytes past the recorded end of the last pack (a stopped ingest's leftovers).
    pub fn unrecorded_bytes(&self, recorded: PackEnd) -> u64 {
        std::fs::metadata(self.path_of(recorded.pack)).map_or(0, |m| m.len().saturating_sub(recorded.len))
    }

    /// Bytes in all packs.
    pub fn size_on_disk(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.metadata().ok())
            .map(|m| m.len())
            .sum()
    }
}
