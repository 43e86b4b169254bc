//! The sled layout: which trees exist, how their keys are built, and typed reads and
//! writes over them. Owns the archive's lock, its format and normaliser versions;
//! never decides what a record means (that is [`crate::archive`]).
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `meta` | name | format and normaliser versions (u32, big-endian), captures written (u64), recorded end of the last pack |
//! | `bodies` | body hash (32) | [`BodyEntry`]: where the text is in a pack, the first [`INLINE_HOLDERS`] articles that hold it |
//! | `holders` | body hash (32) + article id (16) | nothing: an article holding the body beyond the first [`INLINE_HOLDERS`] (layout 9 and before: none, every holder in the entry) |
//! | `articles` | article id (16) | where in a pack its [`ArticleEntry`] is, or, once a later batch has changed it (and in layout 10 and before), the entry itself: its versions, each with its captures ([`CaptureEntry`], with where their raw bytes are in a pack); written without the URL its key holds, and without what repeats the version or capture before it (title, date, page furniture, input file; [`codec::encode_article`]) |
//! | `near` | `s` + segment number (8, big-endian) | where in a pack the LSH band keys of the bodies one ingest batch indexed are, with where each body is (layout 8: without; layouts 6 and 7: the keys themselves) |
//! | `near` | `j` + segment number (8, big-endian) | where in a pack the [`Joins`] of those bodies are (for each that joined near-duplicate groups, one verified member of each; layouts 6 and 7: the joins themselves) |
//!
//! Bodies, raw captures, articles, index segments and joins themselves are in append-only pack
//! files ([`pack`]): sled rewrites a leaf with every value in it whenever it changes, and
//! leaves of segments of 100 KB each cost a million-version archive 0.4 GB of sled's
//! files for 0.17 GB of content. A raw capture is compressed against its body, and a
//! body resembling a stored one (a revision, a syndicated copy) against that one's
//! whole text, so what they share is stored once.
//!
//! A text many articles hold (the empty body of every page a scraper got nothing from,
//! "Texten uppdateras.") names its holders past the first few in keys of their own: in
//! its entry, each new holder rewrote the whole list, and the million-version replay's
//! empty body, held by 12,238 articles, made every capture of it rewrite 196 KB.
//!
//! Every key costs twice: sled's page table (read whole at every open, so it sets how
//! long any command takes to start) grows with the number of keys, and every write
//! of a new random key costs sled about three times its bytes on disk. Per new
//! version an ingest writes two keys (body and article; a capture is kept in its
//! version, so a repeated capture of a known version rewrites only its article), and
//! two per batch of 1,024 records (its index segment and its joins). Near-duplicate
//! groups are kept as the joins that made them, appended once and replayed into
//! connected components when read: a story copied a hundred times costs a hundred
//! entries in the joins, no keys of its own and no rewrites when groups merge (one
//! key per grouped body, rewritten on merges, took a quarter of sled's bytes; a key per
//! capture another third), and the scores are computed on the texts when asked for.
//! Writes for one batch go in the order: the batch's new bodies, raw captures, index
//! segment and joins appended to the pack and synced, the pack's new end, then in sled
//! the bodies (with the articles that hold them), where the index segment and the
//! batch's joins are (one atomic sled batch), and the articles last, each once
//! (a new one appended to the pack and synced, then pointed at from its key): an
//! article's key holding or pointing at it is the mark that its captures are stored,
//! so a crash at any point
//! leaves nothing that points at a missing value, a body is indexed before any capture
//! of it counts as stored, and a re-run of the same input completes what the crash cut
//! off.

//!
//! Outside sled, `lock` is held by every open archive ([`compact`] swaps sled's own
//! locked file for a new one, and the archive must stay held while it does), and
//! `committed` (written atomically at the end of every ingest) holds the
//! number of captures that ingest left. sled recovers a damaged log by cutting it at
//! the first bad checksum, silently; a `captures` counter in `meta` that has fallen
//! below `committed` is how that loss is noticed, at every open.

pub mod codec;
pub mod compact;
pub mod model;
pub mod pack;

use std::path::{Path, PathBuf};

pub use model::{ArticleEntry, BodyEntry, CaptureEntry, Link, VersionEntry};

use pack::{Kind, Location, PackEnd, Packs};

use crate::error::{Error, Result};
use crate::id::{ArticleId, BodyHash, RawHash};
use crate::normalize::NormalizerVersion;

/// The on-disk layout version, stored in `meta`.
pub const FORMAT_VERSION: u32 = 12;

/// The layouts before [`FORMAT_VERSION`], read as they are: 11 is layout 12 with every
/// raw capture compressed against its body's text as it is (layout 12 writes a JSON
/// record's against the text as a JSON string, [`codec::encode_raw`]), 10 is layout 11 with each
/// article in its key's value instead of a pack ([`codec::article_value`]), 9 is layout 10 with every
/// holder of a body in its entry (the `holders` tree empty), 8 is layout 9 with index
/// segments that do not say where their bodies are ([`codec::decode_segment`] reads
/// every version), 7 is layout 8 with segments of 64-bit band keys and joins in sled's
/// values instead of the packs ([`codec::near_value`]), and 6 is 7 without articles in
/// their compact form ([`codec::encode_article`], which layout 7 reads too). The first
/// ingest marks such an archive 12 before it writes anything, so a release that reads
/// only an older layout refuses the archive at open instead of failing on each value it
/// cannot read.
pub const UPGRADED_FORMATS: [u32; 6] = [6, 7, 8, 9, 10, 11];

/// [`UPGRADED_FORMATS`] as a message names them: "6, 7, 8, 9, 10 and 11".
pub fn upgraded_formats_named() -> String {
    let named = UPGRADED_FORMATS.map(|format| format.to_string());
    match named.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

const META_FORMAT: &[u8] = b"format";
const META_NORMALIZER: &[u8] = b"normalizer";
const META_CAPTURES: &[u8] = b"captures";
const META_PACK_END: &[u8] = b"pack_end";

/// The file beside sled's that records what the last completed ingest left.
const COMMITTED_FILE: &str = "committed";

/// The file whose lock an open archive holds. sled locks its own log too, but a
/// compaction swaps that file for another while the archive must stay held.
const LOCK_FILE: &str = "lock";

/// How many of a body's holders its entry names; the rest are keys in `holders`.
/// Eight: 128 bytes, and 99.97% of the million-version replay's bodies have no more.
pub const INLINE_HOLDERS: usize = 8;

/// Where the caller knows a body's pack entry to be, when it does.
pub type KnownLocations<'a> = dyn Fn(&BodyHash) -> Option<Location> + Sync + 'a;

/// A numbered `near` value (a segment, a batch's joins) and its content, which can be
/// unreadable on its own (damage in its pack entry) while its key still says which it is.
pub type Numbered<T> = (u64, Result<T>);

/// The `near` values of a segment and its joins staged in the pack
/// ([`Store::stage_near_batch`]).
#[derive(Debug)]
pub struct StagedNear {
    segment: Vec<u8>,
    joins: Option<Vec<u8>>,
}

/// An open archive's trees.
pub struct Store {
    path: PathBuf,
    db: sled::Db,
    meta: sled::Tree,
    bodies: sled::Tree,
    holders: sled::Tree,
    articles: sled::Tree,
    near: sled::Tree,
    normalizer: NormalizerVersion,
    lost: Option<LostWrites>,
    packs: Packs,
    pack_end: std::sync::Mutex<PackEnd>,
    // Last, so that it is released after sled's files are closed.
    lock: std::fs::File,
}

/// Captures the last completed ingest left, against those the archive now holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LostWrites {
    /// Recorded in `committed`.
    pub committed: u64,
    /// Recorded in the archive's own counter.
    pub found: u64,
}

/// Whether to create the archive when it is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Create it (ingest).
    Create,
    /// It must exist (every other command).
    Existing,
    /// It must exist, and is opened even when it has lost writes, to be inspected
    /// (`verify`).
    Inspect,
}

impl Store {
    /// Opens the archive at `path`.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Store> {
        let no_archive = || Error::NoArchive { path: path.to_path_buf() };
        if mode != OpenMode::Create && !path.is_dir() {
            return Err(no_archive());
        }
        // Whether this is an archive is asked with the lock held and any compaction's
        // swap finished: between its steps sled's files are in neither place.
        let had_lock_file = path.join(LOCK_FILE).exists();
        let lock = lock_archive(path, mode)?;
        compact::finish_interrupted(path)?;
        if mode != OpenMode::Create && !(path.join("conf").exists() || path.join("db").exists()) {
            if !had_lock_file {
                // Leave a directory that holds no archive as it was.
                drop(lock);
                let _ = std::fs::remove_file(path.join(LOCK_FILE));
            }
            return Err(no_archive());
        }
        let config = sled::Config::new()
            .path(path)
            // With articles in the packs, sled holds small entries, and its cache costs
            // about twice its capacity: the million-version replay peaked at 0.87 GB
            // with 64 MiB, 0.98 with 96 and 1.02 with 128 (84, 72 and 64 s, one run
            // each: a larger cache may be faster, but not within 1 GB).
            .cache_capacity(64 << 20)
            // Writes reach the file in order whenever a buffer fills; the periodic flush
            // only bounds what an operating-system crash can lose, and every ingest ends
            // with an explicit flush.
            .flush_every_ms(Some(5000))
            .mode(sled::Mode::HighThroughput);
        let db = open_sled(&config).map_err(|e| open_error(path, e))?;
        let meta = db.open_tree("meta")?;
        let normalizer = check_versions(path, &meta, mode)?;
        let lost = check_committed(path, &meta)?;
        let pack_end =
            meta.get(META_PACK_END)?.map(|v| codec::decode("meta", &v)).transpose()?.unwrap_or_default();
        if let (Some(lost), false) = (lost, mode == OpenMode::Inspect) {
            return Err(Error::LostWrites {
                path: path.to_path_buf(),
                committed: lost.committed,
                found: lost.found,
            });
        }
        Ok(Store {
            path: path.to_path_buf(),
            bodies: db.open_tree("bodies")?,
            holders: db.open_tree("holders")?,
            articles: db.open_tree("articles")?,
            near: db.open_tree("near")?,
            db,
            meta,
            normalizer,
            lost,
            packs: Packs::new(path),
            pack_end: std::sync::Mutex::new(pack_end),
            lock,
        })
    }

    /// Writes sled's files again with the trees' contents, in key order, and swaps them
    /// in for the old ones ([`compact`]), closing the store. `copied` is told the bytes
    /// of keys and values copied as the copy goes, from every thread copying.
    pub fn compact(self, copied: &(dyn Fn(u64) + Sync)) -> Result<compact::Compaction> {
        compact::compact(self, copied)
    }

    /// Whether sled's files have grown enough since the last compaction for an ingest to
    /// end with one ([`compact::due`]).
    pub fn compaction_due(&self) -> Result<bool> {
        compact::due(self)
    }

    /// Closes sled's files and keeps the archive's lock.
    fn close(self) -> std::fs::File {
        self.lock
    }

    /// Whether the archive holds fewer captures than its last completed ingest left.
    pub fn lost_writes(&self) -> Option<LostWrites> {
        self.lost
    }

    /// The archive's count of captures written, if it keeps one (archives keep it
    /// from their first ingest on).
    pub fn captures_written(&self) -> Result<Option<u64>> {
        read_u64(&self.meta, META_CAPTURES)
    }

    /// Counts the captures (a scan of the articles).
    pub fn count_captures(&self) -> Result<u64> {
        self.articles().try_fold(0, |count, item| item.map(|(_, a)| count + a.capture_count() as u64))
    }

    /// Records how many captures are written; called after each batch's captures.
    pub fn set_captures_written(&self, count: u64) -> Result<()> {
        self.meta.insert(META_CAPTURES, &count.to_be_bytes())?;
        Ok(())
    }

    /// Makes every write durable, then records outside sled how many captures the
    /// archive now holds (see the module documentation).
    pub fn commit(&self, captures: u64) -> Result<()> {
        self.flush()?;
        let io = |e| Error::Io {
            context: format!("writing {}", self.path.join(COMMITTED_FILE).display()),
            cause: e,
        };
        let mut file = tempfile::NamedTempFile::new_in(&self.path).map_err(io)?;
        std::io::Write::write_all(&mut file, format!("{captures}\n").as_bytes()).map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(self.path.join(COMMITTED_FILE)).map_err(|e| io(e.error))?;
        Ok(())
    }

    /// The archive's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The normaliser rules this archive was built with.
    pub fn normalizer(&self) -> NormalizerVersion {
        self.normalizer
    }

    /// Whether a body is stored.
    pub fn has_body(&self, hash: &BodyHash) -> Result<bool> {
        Ok(self.bodies.contains_key(hash.0)?)
    }

    /// A stored body's entry.
    pub fn body_entry(&self, hash: &BodyHash) -> Result<Option<BodyEntry>> {
        self.bodies.get(hash.0)?.map(|bytes| codec::decode("bodies", &bytes)).transpose()
    }

    /// A stored body's text.
    pub fn body(&self, hash: &BodyHash) -> Result<Option<String>> {
        self.body_with(hash, &|_| None)
    }

    /// A stored body's text, reading its pack entry (and its base's) where `known`
    /// says they are instead of looking them up in the bodies tree: an ingest knows
    /// where it put the bodies it stored, and at a million versions that lookup was a
    /// tenth of the ingest. A wrong location fails the check of the entry's header (its
    /// kind, hash and length).
    pub fn body_with(&self, hash: &BodyHash, known: &KnownLocations<'_>) -> Result<Option<String>> {
        self.stored_body(hash, known)?.map(|stored| self.text_of(hash, &stored, known)).transpose()
    }

    /// A body's text from its pack entry at `at`.
    fn text_at(&self, hash: &BodyHash, at: Location) -> Result<String> {
        self.text_of(hash, &self.packs.read(at, Kind::Body, &hash.0)?, &|_| None)
    }

    /// A body's text from its stored blob, read against its base if it has one.
    fn text_of(&self, hash: &BodyHash, stored: &[u8], known: &KnownLocations<'_>) -> Result<String> {
        let text = match codec::body_base(stored)? {
            None => codec::decode_body(stored, None)?,
            Some(base) => codec::decode_body(stored, Some(&self.whole_bytes(hash, &base, known)?))?,
        };
        utf8_body(hash, text)
    }

    /// A body's blob as its pack holds it, if the body is stored.
    fn stored_body(&self, hash: &BodyHash, known: &KnownLocations<'_>) -> Result<Option<Vec<u8>>> {
        let at = match known(hash) {
            Some(at) => Some(at),
            None => self.body_entry(hash)?.map(|entry| entry.at),
        };
        at.map(|at| self.packs.read(at, Kind::Body, &hash.0)).transpose()
    }

    /// The text of `base`, which `of` is stored against: a base is always stored whole.
    /// Only a dictionary, so not checked as UTF-8 (the body read with it is).
    fn whole_bytes(&self, of: &BodyHash, base: &BodyHash, known: &KnownLocations<'_>) -> Result<Vec<u8>> {
        let corrupt = |what: &str| Error::Corrupt {
            tree: "bodies",
            detail: format!("body {} is stored against {}, which is {what}", of.short(), base.short()),
        };
        let stored = self.stored_body(base, known)?.ok_or_else(|| corrupt("missing"))?;
        if codec::body_base(&stored)?.is_some() {
            return Err(corrupt("not stored whole"));
        }
        codec::decode_body(&stored, None)
    }

    /// What a new body resembling the stored body `similar` is best compressed
    /// against, with its text: `similar` itself if it is stored whole, else its base.
    /// `known` as for [`Store::body_with`].
    pub fn base_for(
        &self,
        similar: &BodyHash,
        known: &KnownLocations<'_>,
    ) -> Result<Option<(BodyHash, Vec<u8>)>> {
        let Some(stored) = self.stored_body(similar, known)? else {
            return Ok(None);
        };
        Ok(Some(match codec::body_base(&stored)? {
            None => (*similar, codec::decode_body(&stored, None)?),
            Some(base) => (base, self.whole_bytes(similar, &base, known)?),
        }))
    }

    /// A capture's raw bytes, given its body's text (they are compressed against it).
    /// Decoding against another text than the one it was compressed against need not
    /// fail, so the bytes are checked against the capture's hash.
    pub fn raw_of(&self, capture: &CaptureEntry, body: &str) -> Result<Vec<u8>> {
        let stored = self.packs.read(capture.raw_at, Kind::Raw, &capture.raw.0)?;
        let raw = codec::decode_raw(&stored, body)?;
        if RawHash::of(&raw) != capture.raw {
            return Err(Error::Corrupt {
                tree: "raws",
                detail: format!("raw capture {} does not match its hash", capture.raw.short()),
            });
        }
        Ok(raw)
    }

    /// Whether an article is stored.
    pub fn has_article(&self, id: &ArticleId) -> Result<bool> {
        Ok(self.articles.contains_key(id.0)?)
    }

    /// An article.
    pub fn article(&self, id: &ArticleId) -> Result<Option<ArticleEntry>> {
        self.articles.get(id.0)?.map(|value| self.article_from(id, &value)).transpose()
    }

    /// The article an `articles` value holds or points at; an error names the article.
    fn article_from(&self, id: &ArticleId, value: &[u8]) -> Result<ArticleEntry> {
        let read = match codec::article_value(value) {
            Ok(codec::ArticleValue::Inline(bytes)) => codec::decode_article(bytes),
            Ok(codec::ArticleValue::InPack(at)) => self
                .packs
                .read_hashed(at, Kind::Article, |stored| article_hash(id, stored))
                .and_then(|stored| codec::decode_article(&stored)),
            Err(e) => Err(e),
        };
        read.map_err(|e| match e {
            Error::Corrupt { tree, detail } => {
                Error::Corrupt { tree, detail: format!("article {}: {detail}", id.short()) }
            }
            other => other,
        })
    }

    /// Queues an encoded body (see [`codec::encode_blob`]) for the pack; it is written by
    /// [`Store::write_staged`] and pointed at by [`Store::put_body`].
    pub fn stage_body(&self, hash: &BodyHash, encoded: &[u8]) -> Result<Location> {
        self.stage(Kind::Body, &hash.0, encoded)
    }

    /// Queues an encoded raw capture for the pack.
    pub fn stage_raw(&self, hash: &RawHash, encoded: &[u8]) -> Result<Location> {
        self.stage(Kind::Raw, &hash.0, encoded)
    }

    fn stage(&self, kind: Kind, hash: &[u8; 32], encoded: &[u8]) -> Result<Location> {
        let recorded = *self.pack_end.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.packs.append(recorded, kind, hash, encoded)
    }

    /// Writes and syncs what was staged, and records the pack's new end.
    pub fn write_staged(&self) -> Result<()> {
        if let Some(end) = self.packs.sync()? {
            self.meta.insert(META_PACK_END, codec::encode(&end))?;
            *self.pack_end.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = end;
        }
        Ok(())
    }

    /// Bytes a stopped ingest left past the last pack's recorded end (the next ingest
    /// cuts them off).
    pub fn unrecorded_pack_bytes(&self) -> u64 {
        self.packs.unrecorded_bytes(*self.pack_end.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Writes a body's entry (pointing at its written pack entry).
    pub fn put_body(&self, hash: &BodyHash, entry: &BodyEntry) -> Result<()> {
        self.bodies.insert(hash.0, codec::encode(entry))?;
        Ok(())
    }

    /// Records that an article holds a stored body: in its entry while that names fewer
    /// than [`INLINE_HOLDERS`], else as a key of its own, so that a body held by
    /// thousands of articles is not rewritten whole for each.
    pub fn link_body(&self, hash: &BodyHash, article: &ArticleId) -> Result<()> {
        let mut entry = self.body_entry(hash)?.ok_or_else(|| Error::Corrupt {
            tree: "bodies",
            detail: format!("body {} is missing (run `newsvault verify`)", hash.short()),
        })?;
        if entry.articles.contains(article) {
            return Ok(());
        }
        if entry.articles.len() < INLINE_HOLDERS {
            entry.articles.push(*article);
            self.put_body(hash, &entry)?;
        } else {
            self.holders.insert(holder_key(hash, article), &[])?;
        }
        Ok(())
    }

    /// The articles a body's entry names as holding it, then those past
    /// [`INLINE_HOLDERS`], in id order; none for a body not stored. Some may not hold it
    /// yet (see [`Store::articles_with_body`]).
    pub fn holders(&self, hash: &BodyHash) -> Result<Vec<ArticleId>> {
        let Some(entry) = self.body_entry(hash)? else { return Ok(Vec::new()) };
        let mut holders = entry.articles.clone();
        for item in scan(self.holders.scan_prefix(hash.0)) {
            let (_, article) = split_holder_key(&item?.0)?;
            // Keys are unique; only the entry's own list can name one again.
            if !entry.articles.contains(&article) {
                holders.push(article);
            }
        }
        Ok(holders)
    }

    /// Every holder past a body's entry, as (body, article), in key order. An error
    /// ends the iteration.
    pub fn overflow_holders(&self) -> impl Iterator<Item = Result<(BodyHash, ArticleId)>> + '_ {
        scan(self.holders.iter()).map(|item| split_holder_key(&item?.0))
    }

    /// Writes articles, each given with whether the archive held it before. A new
    /// article is appended to the pack and made durable, then its key points at it: a
    /// B-tree of random keys rewrites a leaf full of others' articles for each, and a
    /// million-version archive's articles, nearly all written once, made its sled files
    /// 0.5 GB for 0.2 GB of them. An article held before (a re-scrape's capture, a
    /// revision) is kept in its key's value from then on, where sled reclaims the copy
    /// it replaces: appended again for each capture, a page re-scraped every hour would
    /// leave a month of ever longer dead copies in the packs.
    pub fn put_articles<'a>(
        &self,
        articles: impl IntoIterator<Item = (&'a ArticleId, &'a ArticleEntry, bool)>,
    ) -> Result<()> {
        let mut placed = Vec::new();
        for (id, article, held_before) in articles {
            let stored = codec::encode_article(article);
            if held_before {
                self.articles.insert(id.0, stored)?;
            } else {
                placed.push((id, self.stage(Kind::Article, &article_hash(id, &stored), &stored)?));
            }
        }
        self.write_staged()?;
        for (id, at) in placed {
            self.articles.insert(id.0, codec::encode_article_at(at))?;
        }
        Ok(())
    }

    /// Every article, in id order.
    pub fn articles(&self) -> impl Iterator<Item = Result<(ArticleId, ArticleEntry)>> + '_ {
        scan(self.articles.iter()).map(|item| {
            let (key, value) = item?;
            let id = ArticleId::from_slice(&key).ok_or_else(|| Error::Corrupt {
                tree: "articles",
                detail: format!("key of {} bytes", key.len()),
            })?;
            Ok((id, self.article_from(&id, &value)?))
        })
    }

    /// Every stored body's entry, in hash order. An error ends the iteration.
    pub fn body_records(&self) -> impl Iterator<Item = Result<(BodyHash, BodyEntry)>> + '_ {
        scan(self.bodies.iter()).map(|item| {
            let (key, value) = item?;
            let hash = BodyHash::from_slice(&key).ok_or_else(|| Error::Corrupt {
                tree: "bodies",
                detail: format!("key of {} bytes", key.len()),
            })?;
            Ok((hash, codec::decode("bodies", &value)?))
        })
    }

    /// Every stored body: its hash, and its text or why it cannot be read. The outer
    /// error is the tree's own (and ends the iteration).
    pub fn body_entries(&self) -> impl Iterator<Item = Result<(BodyHash, Result<Vec<u8>>)>> + '_ {
        self.body_records().map(|item| {
            let (hash, entry) = item?;
            Ok((hash, self.text_at(&hash, entry.at).map(String::into_bytes)))
        })
    }

    /// The articles that hold a body. An article that does not (yet) hold it is what an
    /// interrupted ingest leaves between writing the body and its article; it is skipped.
    pub fn articles_with_body(&self, hash: &BodyHash) -> Result<Vec<ArticleId>> {
        self.articles_holding(hash)?.collect()
    }

    /// [`Store::articles_with_body`], each article read only when asked for: a caller
    /// that needs the first or the first two of a thousand holders reads those.
    pub fn articles_holding<'a>(
        &'a self,
        hash: &'a BodyHash,
    ) -> Result<impl Iterator<Item = Result<ArticleId>> + 'a> {
        let holds = move |article: &ArticleEntry| article.versions.iter().any(|v| v.hash == *hash);
        Ok(self.holders(hash)?.into_iter().filter_map(move |id| match self.article(&id) {
            Ok(Some(article)) if holds(&article) => Some(Ok(id)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        }))
    }

    /// Body hashes whose hex form starts with `prefix`, at most `limit`.
    pub fn bodies_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<BodyHash>> {
        ids_with_prefix(&self.bodies, "bodies", prefix, limit, BodyHash::from_slice)
    }

    /// Article ids whose hex form starts with `prefix`, at most `limit`.
    pub fn articles_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<ArticleId>> {
        ids_with_prefix(&self.articles, "articles", prefix, limit, ArticleId::from_slice)
    }

    /// Queues an index segment (the band keys of bodies indexed together) and the joins
    /// indexing them made for the pack, to be written with the batch's bodies; returns
    /// the values [`Store::put_near_batch`] records for them.
    pub fn stage_near_batch(&self, entries: &[codec::SegmentEntry], joins: &[Joins]) -> Result<StagedNear> {
        let segment = self.stage_near(Kind::Segment, &codec::encode_segment(entries))?;
        let joins =
            (!joins.is_empty()).then(|| self.stage_near(Kind::Joins, &codec::encode(&joins))).transpose()?;
        Ok(StagedNear { segment, joins })
    }

    fn stage_near(&self, kind: Kind, encoded: &[u8]) -> Result<Vec<u8>> {
        let hash = *blake3::hash(encoded).as_bytes();
        Ok(codec::encode_in_pack(self.stage(kind, &hash, encoded)?, &hash))
    }

    /// Records, as one atomic batch, where a staged segment and its joins are (once
    /// [`Store::write_staged`] has made them durable).
    pub fn put_near_batch(&self, number: u64, staged: StagedNear) -> Result<()> {
        let mut batch = sled::Batch::default();
        batch.insert(&near_key(b's', &[&number.to_be_bytes()])[..], staged.segment);
        if let Some(joins) = staged.joins {
            batch.insert(&near_key(b'j', &[&number.to_be_bytes()])[..], joins);
        }
        self.near.apply_batch(batch)?;
        Ok(())
    }

    /// The content of a `near` value: the value itself (layouts 6 and 7), or what it points at
    /// in a pack, checked against its hash (a segment's fixed layout would read damaged
    /// keys without complaint; hashing is 2 GB/s).
    fn near_content<'a>(&self, value: &'a [u8], kind: Kind) -> Result<std::borrow::Cow<'a, [u8]>> {
        let (at, hash) = match codec::near_value("near", value)? {
            codec::NearValue::Inline(content) => return Ok(std::borrow::Cow::Borrowed(content)),
            codec::NearValue::InPack(at, hash) => (at, hash),
        };
        let content = self.packs.read(at, kind, &hash)?;
        if *blake3::hash(&content).as_bytes() != hash {
            return Err(Error::Corrupt {
                tree: "packs",
                detail: format!(
                    "{} at {}: the {} not hash to the one recorded",
                    self.packs.path_of(at.pack).display(),
                    at.offset,
                    if kind == Kind::Segment { "index segment there does" } else { "joins there do" }
                ),
            });
        }
        Ok(std::borrow::Cow::Owned(content))
    }

    /// Every index segment with its number, in the order written.
    pub fn near_segments(&self) -> impl Iterator<Item = Result<Numbered<Vec<codec::SegmentEntry>>>> + '_ {
        self.numbered(b's', Kind::Segment, |content| codec::decode_segment("near", content))
    }

    /// The joins of every segment with its number, in the order written: replayed in
    /// order they rebuild the near-duplicate groups.
    pub fn near_joins(&self) -> impl Iterator<Item = Result<Numbered<Vec<Joins>>>> + '_ {
        self.numbered(b'j', Kind::Joins, |content| codec::decode("near", content))
    }

    /// Every join, in the order made, as flat lists: for a caller that reads them more
    /// than once.
    pub fn near_joins_flat(&self) -> Result<FlatJoins> {
        let mut joins = FlatJoins::default();
        self.each_joins_content(|content| codec::decode_joins_into("near", content, &mut joins))?;
        Ok(joins)
    }

    /// Calls `each` with every join, in the order made, holding one batch's joins at a
    /// time.
    pub fn for_each_join(&self, mut each: impl FnMut(&BodyHash, &[BodyHash]) -> Result<()>) -> Result<()> {
        let mut batch = FlatJoins::default();
        self.each_joins_content(|content| {
            batch.clear();
            codec::decode_joins_into("near", content, &mut batch)?;
            batch.iter().try_for_each(|(body, others)| each(body, others))
        })
    }

    /// Calls `each` with the content of every batch's joins, in the order written.
    fn each_joins_content(&self, mut each: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        for item in scan(self.near.scan_prefix([b'j'])) {
            let (_, value) = item?;
            each(&self.near_content(&value, Kind::Joins)?)?;
        }
        Ok(())
    }

    fn numbered<T>(
        &self,
        prefix: u8,
        kind: Kind,
        decode: impl Fn(&[u8]) -> Result<T> + 'static,
    ) -> impl Iterator<Item = Result<Numbered<T>>> + '_ {
        scan(self.near.scan_prefix([prefix])).map(move |item| {
            let (key, value) = item?;
            let number = key.get(1..).and_then(|n| n.try_into().ok()).map(u64::from_be_bytes);
            let content = self.near_content(&value, kind).and_then(|content| decode(&content));
            Ok((number.ok_or_else(|| near_corrupt(&key))?, content))
        })
    }

    /// Number of distinct bodies.
    pub fn body_count(&self) -> Result<usize> {
        count(&self.bodies)
    }

    /// Bytes the archive takes on disk: sled's files and the packs.
    pub fn size_on_disk(&self) -> Result<u64> {
        let (index, packs) = self.sizes_on_disk()?;
        Ok(index + packs)
    }

    /// Bytes on disk of sled's files and of the packs.
    pub fn sizes_on_disk(&self) -> Result<(u64, u64)> {
        Ok((self.db.size_on_disk()?, self.packs.size_on_disk()))
    }

    /// Makes every write so far durable.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}

/// A tree's entries, ending after the first error. sled's iterator retries the same
/// position after a failed read, so a caller that carried on past an error (to report
/// it and go on) would read the damaged page forever.
fn scan(iter: sled::Iter) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec)>> {
    let mut failed = false;
    iter.map_while(move |item| {
        if failed {
            return None;
        }
        failed = item.is_err();
        Some(item.map_err(Error::from))
    })
}

/// The hash an article's pack entry is checked by: of its id, then its stored bytes,
/// so that an entry read is both whole and the one its key points at.
fn article_hash(id: &ArticleId, stored: &[u8]) -> [u8; 32] {
    *blake3::Hasher::new().update(&id.0).update(stored).finalize().as_bytes()
}

/// A tree's number of entries (a scan: sled keeps no count).
fn count(tree: &sled::Tree) -> Result<usize> {
    scan(tree.iter()).try_fold(0, |count, item| item.map(|_| count + 1))
}

/// A body indexed in a segment and the near-duplicate groups it joined, each named by
/// the member it was verified against.
pub type Joins = (BodyHash, Vec<BodyHash>);

/// Every join of an archive in the order made, read into two flat lists: a million
/// versions made 0.9 million joins, and a vector for each was most of the time `near`
/// spent on them.
#[derive(Debug, Default)]
pub struct FlatJoins {
    /// Each join's body, then the members it was verified against.
    hashes: Vec<BodyHash>,
    /// Where each join ends in `hashes`.
    ends: Vec<usize>,
}

impl FlatJoins {
    /// The joins in order: a body, and the members it joined through.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&BodyHash, &[BodyHash])> {
        (0..self.ends.len()).map(|join| {
            let start = join.checked_sub(1).map_or(0, |before| self.ends[before]);
            (&self.hashes[start], &self.hashes[start + 1..self.ends[join]])
        })
    }

    /// Number of joins.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn clear(&mut self) {
        self.hashes.clear();
        self.ends.clear();
    }

    /// Starts a join of `body`; the members it joined through follow ([`FlatJoins::push_member`]).
    pub(crate) fn start_join(&mut self, body: BodyHash) {
        self.hashes.push(body);
        self.ends.push(self.hashes.len());
    }

    /// Adds a member to the join started last.
    pub(crate) fn push_member(&mut self, member: BodyHash) {
        self.hashes.push(member);
        if let Some(end) = self.ends.last_mut() {
            *end = self.hashes.len();
        }
    }
}

fn holder_key(body: &BodyHash, article: &ArticleId) -> [u8; 48] {
    let mut key = [0; 48];
    key[..32].copy_from_slice(&body.0);
    key[32..].copy_from_slice(&article.0);
    key
}

fn split_holder_key(key: &[u8]) -> Result<(BodyHash, ArticleId)> {
    let (body, article) = key.split_at_checked(32).unwrap_or((key, &[]));
    match (BodyHash::from_slice(body), ArticleId::from_slice(article)) {
        (Some(body), Some(article)) => Ok((body, article)),
        _ => Err(Error::Corrupt { tree: "holders", detail: format!("key of {} bytes", key.len()) }),
    }
}

fn near_key(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut key = vec![kind];
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

fn near_corrupt(key: &[u8]) -> Error {
    Error::Corrupt { tree: "near", detail: format!("key of {} bytes", key.len()) }
}

fn utf8_body(hash: &BodyHash, text: Vec<u8>) -> Result<String> {
    String::from_utf8(text)
        .map_err(|_| Error::Corrupt { tree: "bodies", detail: format!("body {} is not UTF-8", hash.short()) })
}

fn ids_with_prefix<T>(
    tree: &sled::Tree,
    name: &'static str,
    prefix: &str,
    limit: usize,
    from_slice: fn(&[u8]) -> Option<T>,
) -> Result<Vec<T>> {
    let (low, high) = crate::id::prefix_range(prefix);
    let range = match high {
        Some(high) => tree.range(low..high),
        None => tree.range(low..),
    };
    scan(range)
        .take(limit)
        .map(|item| {
            let key = item?.0;
            from_slice(&key)
                .ok_or_else(|| Error::Corrupt { tree: name, detail: format!("key of {} bytes", key.len()) })
        })
        .collect()
}

/// Reads the versions from `meta`, writing them on a new archive.
fn check_versions(path: &Path, meta: &sled::Tree, mode: OpenMode) -> Result<NormalizerVersion> {
    let read_u32 = |key: &[u8]| -> Result<Option<u32>> {
        meta.get(key)?.map(|v| v.as_ref().try_into().map(u32::from_be_bytes)).transpose().map_err(|_| {
            Error::Corrupt { tree: "meta", detail: format!("{} is not a u32", String::from_utf8_lossy(key)) }
        })
    };
    match read_u32(META_FORMAT)? {
        None => {
            meta.insert(META_NORMALIZER, &NormalizerVersion::CURRENT.0.to_be_bytes())?;
            meta.insert(META_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
            meta.flush()?;
            Ok(NormalizerVersion::CURRENT)
        }
        Some(found) if found != FORMAT_VERSION && !UPGRADED_FORMATS.contains(&found) => {
            Err(Error::FormatVersion { path: path.to_path_buf(), found, supported: FORMAT_VERSION })
        }
        Some(found) => {
            if UPGRADED_FORMATS.contains(&found) && mode == OpenMode::Create {
                meta.insert(META_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
                meta.flush()?;
            }
            let found = read_u32(META_NORMALIZER)?
                .ok_or_else(|| Error::Corrupt { tree: "meta", detail: "no normaliser version".into() })?;
            let version = NormalizerVersion(found);
            if !version.is_known() {
                return Err(Error::NormalizerVersion {
                    path: path.to_path_buf(),
                    found,
                    known: NormalizerVersion::CURRENT.0,
                });
            }
            Ok(version)
        }
    }
}

fn read_u64(meta: &sled::Tree, key: &[u8]) -> Result<Option<u64>> {
    meta.get(key)?.map(|v| v.as_ref().try_into().map(u64::from_be_bytes)).transpose().map_err(|_| {
        Error::Corrupt { tree: "meta", detail: format!("{} is not a u64", String::from_utf8_lossy(key)) }
    })
}

/// Compares the captures the last completed ingest left (the `committed` file) with
/// the archive's own counter.
fn check_committed(path: &Path, meta: &sled::Tree) -> Result<Option<LostWrites>> {
    let file = path.join(COMMITTED_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io { context: format!("reading {}", file.display()), cause: e }),
    };
    let committed: u64 = text.trim().parse().map_err(|_| Error::Corrupt {
        tree: "committed",
        detail: format!("{} does not hold a count", file.display()),
    })?;
    let found = read_u64(meta, META_CAPTURES)?.unwrap_or(0);
    Ok((found < committed).then_some(LostWrites { committed, found }))
}

/// Takes the archive's lock (creating the directory for a new archive), or fails with
/// "archive in use".
fn lock_archive(path: &Path, mode: OpenMode) -> Result<std::fs::File> {
    let file = path.join(LOCK_FILE);
    let io = |e| Error::Io { context: format!("locking {}", file.display()), cause: e };
    if path.exists() && !path.is_dir() {
        return Err(Error::NotADirectory { path: path.to_path_buf() });
    }
    if mode == OpenMode::Create {
        std::fs::create_dir_all(path).map_err(io)?;
    }
    let lock =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&file).map_err(io)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::ArchiveInUse { path: path.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// How sled 0.34's message for a lock it could not take begins.
const SLED_LOCK_FAILURE: &str = "could not acquire lock";

/// Opens sled. With the archive's own lock held, sled's lock on its log can still
/// refuse for a moment in a process that has just closed the archive: sled's background
/// writers let go of a closed database a little after it is closed.
fn open_sled(config: &sled::Config) -> sled::Result<sled::Db> {
    for _ in 0..100 {
        match config.open() {
            Err(sled::Error::Io(e)) if e.to_string().starts_with(SLED_LOCK_FAILURE) => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            opened => return opened,
        }
    }
    config.open()
}

/// Turns sled's lock failure into "archive in use".
fn open_error(path: &Path, error: sled::Error) -> Error {
    if let sled::Error::Io(io) = &error {
        let text = io.to_string();
        if io.kind() == std::io::ErrorKind::WouldBlock || text.starts_with(SLED_LOCK_FAILURE) {
            return Error::ArchiveInUse { path: path.to_path_buf() };
        }
    }
    Error::Store(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_is_archive_in_use() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path(), OpenMode::Create).unwrap();
        let second = Store::open(dir.path(), OpenMode::Existing);
        assert!(matches!(second, Err(Error::ArchiveInUse { .. })), "{:?}", second.err());
    }

    #[test]
    fn a_body_is_read_where_the_caller_knows_it_is_and_a_wrong_place_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), OpenMode::Create).unwrap();
        let base_text = "the harbour master counted forty boats at dawn";
        let revised_text = "the harbour master counted forty-one boats at dawn";
        let (base, revised) = (BodyHash::of(base_text), BodyHash::of(revised_text));
        let base_at = store.stage_body(&base, &codec::encode_blob(base_text.as_bytes())).unwrap();
        let against = codec::encode_body_against(revised_text.as_bytes(), &base, base_text.as_bytes());
        let revised_at = store.stage_body(&revised, &against).unwrap();
        store.write_staged().unwrap();
        // Neither is in the bodies tree: only the locations given can find them.
        let known = |hash: &BodyHash| {
            [(base, base_at), (revised, revised_at)].into_iter().find(|(h, _)| h == hash).map(|(_, at)| at)
        };
        assert_eq!(store.body_with(&revised, &known).unwrap().as_deref(), Some(revised_text));
        assert_eq!(store.base_for(&revised, &known).unwrap(), Some((base, base_text.as_bytes().to_vec())));
        assert_eq!(store.body(&revised).unwrap(), None);
        let swapped = |hash: &BodyHash| Some(if *hash == revised { base_at } else { revised_at });
        assert!(matches!(store.body_with(&revised, &swapped), Err(Error::Corrupt { .. })));
    }

    #[test]
    fn a_missing_archive_is_not_created_by_readers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none");
        assert!(matches!(Store::open(&path, OpenMode::Existing), Err(Error::NoArchive { .. })));
        assert!(!path.exists());
    }
}
