//! The archive: the one type users of the library open, and the ingest that fills it.
//! Owns the rules that turn records into articles, versions and captures, and the
//! ingest pipeline (parse, normalise, hash and compress on every core while the
//! previous batch is written). Never prints: progress and rejections go to a
//! [`Progress`] the caller supplies; the summary is returned as data.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::error::Result;
use crate::id::{ArticleId, BodyHash, RawHash};
use crate::ingest::{self, Format, Input, Rejection, Unit};
use crate::near::tracker::{Fingerprint, Search, Tracker};
use crate::near::{self, Similarity};
use crate::normalize::{self, NormalizerVersion};
use crate::record::{ArticleKey, Record};
use crate::store::compact::Compaction;
use crate::store::{self, ArticleEntry, BodyEntry, CaptureEntry, Link, OpenMode, Store, VersionEntry, codec};

/// Records parsed and prepared together on all cores before they are written.
const BATCH: usize = 1024;

/// An open archive.
pub struct Archive {
    pub(crate) store: Store,
}

/// What an ingest should do beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    /// Read every input as this format instead of detecting it.
    pub format: Option<Format>,
    /// The outlet of records that name none (and have no URL to take it from).
    pub source: Option<String>,
    /// The capture time of records that give none (instead of their file's
    /// modification time).
    pub captured_at: Option<jiff::Timestamp>,
}

/// Receives an ingest's progress and rejections as they happen.
pub trait Progress: Sync {
    /// The ingest is about to read this many input bytes (0 when unknown).
    fn begin(&self, _total_bytes: u64) {}
    /// This many more input bytes have been stored.
    fn advance(&self, _bytes: u64) {}
    /// A file, line or record could not be read; the ingest goes on.
    fn rejected(&self, _rejection: &Rejection) {}
    /// The ingest is over.
    fn finish(&self) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What an ingest did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    /// Input files read (including unreadable ones).
    pub files: u64,
    /// Records found in them (including rejected ones).
    pub records: u64,
    /// Articles seen for the first time.
    pub new_articles: u64,
    /// Versions (distinct bodies of an article) seen for the first time.
    pub new_versions: u64,
    /// Bodies stored for the first time (a body shared by articles is stored once).
    pub new_bodies: u64,
    /// Captures recorded.
    pub new_captures: u64,
    /// Records that brought no new version: a known text captured again, or the very
    /// same capture ingested before.
    pub duplicates: u64,
    /// New bodies that are near-duplicates (Jaccard >= 0.8) of bodies already stored:
    /// revisions and syndicated copies.
    pub near_duplicates: u64,
    /// Files, lines or records that could not be read.
    pub rejected: u64,
}

/// A record ready to write: everything costly already done.
struct Prepared {
    record: Record,
    key: ArticleKey,
    id: ArticleId,
    hash: BodyHash,
    words: u32,
    /// The normalised body, when it was not stored as the batch was prepared.
    body: Option<String>,
    /// Its verified near-duplicates among the bodies indexed before it.
    similar: Vec<(BodyHash, Similarity)>,
    /// The body compressed for the pack (see [`Archive::compress_bodies`]).
    body_blob: Option<Vec<u8>>,
    fingerprint: Option<Fingerprint>,
    raw_hash: RawHash,
    raw_len: u64,
    raw_blob: Option<Vec<u8>>,
    /// Its article as the archive held it when the batch was prepared (read then on
    /// every core, rather than by the one thread that writes).
    stored_article: Result<Option<ArticleEntry>>,
    captured_at: i64,
}

impl Archive {
    /// Opens an existing archive.
    pub fn open(path: &Path) -> Result<Archive> {
        Ok(Archive { store: Store::open(path, OpenMode::Existing)? })
    }

    /// Opens an archive to inspect it, even one that has lost writes (`verify`).
    pub fn open_for_inspection(path: &Path) -> Result<Archive> {
        Ok(Archive { store: Store::open(path, OpenMode::Inspect)? })
    }

    /// Opens an archive, creating it if it does not exist.
    pub fn open_or_create(path: &Path) -> Result<Archive> {
        Ok(Archive { store: Store::open(path, OpenMode::Create)? })
    }

    /// Gives back the disk space sled's files hold beyond their contents: old copies of
    /// pages and half-full leaves, which an ingest of random keys leaves behind (sled's
    /// files were 4.6 times their contents after a million versions, 3.0 times after
    /// compaction). The archive is closed by it, and stays whole if it is cut off at any
    /// point: the next open finishes or discards the swap.
    pub fn compact(self, progress: &dyn Progress) -> Result<Compaction> {
        progress.begin(0);
        let done = self.store.compact(&|bytes| progress.advance(bytes));
        progress.finish();
        done
    }

    /// Whether the index has grown enough since it was last compacted for an ingest to
    /// end with a compaction (at a million versions it gives back a third of the
    /// index's files, 114 MB, in about an eighth of the ingest's time).
    pub fn compaction_due(&self) -> Result<bool> {
        self.store.compaction_due()
    }

    /// The archive's directory.
    pub fn path(&self) -> &Path {
        self.store.path()
    }

    /// The normaliser this archive's hashes were made with.
    pub fn normalizer(&self) -> NormalizerVersion {
        self.store.normalizer()
    }

    /// Ingests files, directories and `-` (standard input). Bad inputs are reported to
    /// `progress` and counted; every good record is stored. Errors are the archive's own.
    pub fn ingest(
        &self,
        paths: &[PathBuf],
        options: &IngestOptions,
        progress: &dyn Progress,
    ) -> Result<IngestSummary> {
        let mut run = self.start_run()?;
        let inputs = ingest::expand_inputs(paths, self.path());
        progress.begin(inputs.iter().flatten().map(Input::size).sum());
        for input in inputs {
            run.summary.files += 1;
            match input {
                Ok(input) => self.ingest_input(&input, options, progress, &mut run)?,
                Err(rejection) => reject(&mut run.summary, progress, &rejection),
            }
        }
        self.store.commit(run.captures_written)?;
        progress.finish();
        Ok(run.summary)
    }

    /// What an ingest starts from: the archive's count of captures and its index.
    fn start_run(&self) -> Result<Run> {
        let captures_written = match self.store.captures_written()? {
            Some(count) => count,
            None => self.store.count_captures()?,
        };
        Ok(Run {
            summary: IngestSummary::default(),
            near: Tracker::load(&self.store)?,
            captures_written,
            last_batch: LastBatch::default(),
        })
    }

    fn ingest_input(
        &self,
        input: &Input,
        options: &IngestOptions,
        progress: &dyn Progress,
        run: &mut Run,
    ) -> Result<()> {
        let (format, mut units) = match ingest::open_units(input, options.format, options.captured_at) {
            Ok(opened) => opened,
            Err(rejection) => {
                reject(&mut run.summary, progress, &rejection);
                progress.advance(input.size());
                return Ok(());
            }
        };
        let mut pending: Option<Vec<Result<Prepared, Rejection>>> = None;
        let mut reported = 0u64;
        loop {
            // Read and prepare the next batch on the pool while this thread writes the
            // last one.
            let (prepared, written) = rayon::join(
                || {
                    let batch: Vec<_> = units.by_ref().take(BATCH).collect();
                    (!batch.is_empty()).then(|| self.prepare_batch(format, batch, options))
                },
                || pending.take().map(|batch| self.write_batch(batch, progress, run)),
            );
            if let Some(written) = written {
                written?;
            }
            let consumed = units.consumed();
            progress.advance(consumed.saturating_sub(reported));
            reported = consumed;
            if prepared.is_none() && pending.is_none() {
                break;
            }
            pending = prepared;
        }
        Ok(())
    }

    fn prepare_batch(
        &self,
        format: Format,
        batch: Vec<Result<Unit, Rejection>>,
        options: &IngestOptions,
    ) -> Vec<Result<Prepared, Rejection>> {
        use rayon::prelude::*;
        batch
            .into_par_iter()
            .map(|unit| {
                let record = ingest::parse_unit(format, unit?)?;
                Ok(self.prepare(record, options))
            })
            .collect()
    }

    /// Normalises, hashes and fingerprints one record, and compresses its raw capture
    /// (what is not stored already). New bodies are compressed once the batch's
    /// near-duplicates are known, against one of them.
    fn prepare(&self, mut record: Record, options: &IngestOptions) -> Prepared {
        if record.source.is_none() {
            record.source = options.source.clone();
        }
        let body = normalize::normalize_with(self.store.normalizer(), &record.body)
            .expect("the archive's normaliser version was checked when it was opened");
        let hash = BodyHash::of(&body);
        let raw_hash = RawHash::of(&record.raw);
        let known_body = self.store.has_body(&hash).unwrap_or(false);
        let key = ArticleKey::of(&record);
        let id = key.id();
        let captured_at = record.captured_at.unwrap_or_else(jiff::Timestamp::now).as_second();
        let stored_article = self.store.article(&id);
        // A capture ingested before (a re-run) needs nothing compressed.
        let known_capture = known_body
            && stored_article
                .as_ref()
                .ok()
                .and_then(Option::as_ref)
                .is_some_and(|a| a.has_capture(captured_at, &raw_hash));
        Prepared {
            id,
            key,
            hash,
            words: normalize::word_count(&body) as u32,
            similar: Vec::new(),
            body_blob: None,
            fingerprint: (!known_body).then(|| Fingerprint::of(&body)),
            raw_hash,
            raw_len: record.raw.len() as u64,
            raw_blob: (!known_capture).then(|| codec::encode_raw(&record.raw, &body)),
            body: (!known_body).then_some(body),
            stored_article,
            captured_at,
            record: Record { raw: Vec::new(), body: String::new(), ..record },
        }
    }

    /// Writes a batch in order; returns how many units it held. The articles, which
    /// hold the captures and so mark records as stored, are written last, after the
    /// batch's index segment.
    fn write_batch(
        &self,
        batch: Vec<Result<Prepared, Rejection>>,
        progress: &dyn Progress,
        run: &mut Run,
    ) -> Result<u64> {
        let units = batch.len() as u64;
        let mut fresh = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for item in batch {
            run.summary.records += 1;
            match item {
                Ok(mut prepared) => {
                    let repeated = !seen.insert((prepared.id, prepared.captured_at, prepared.raw_hash));
                    if repeated || self.is_stored_capture_of_new_body(&prepared, run)? {
                        run.summary.duplicates += 1;
                        continue;
                    }
                    // A capture stored before is found when its article is read; its body
                    // is indexed here all the same if a stopped ingest left it unindexed.
                    prepared.similar = self.index_near_duplicates(&mut prepared, run)?;
                    fresh.push(prepared);
                }
                Err(rejection) => reject(&mut run.summary, progress, &rejection),
            }
        }
        self.compress_bodies(&mut fresh, &run.near, &run.last_batch)?;
        let mut staged = self.stage_blobs(fresh.iter_mut(), &mut run.near)?;
        run.last_batch.bodies = staged.bodies.keys().copied().collect();
        let mut changed = Changed::default();
        let mut captured = 0;
        for prepared in fresh {
            captured += u64::from(self.write_record(prepared, &mut staged, &mut changed, run)?);
        }
        // A body staged and indexed whose every record turned out to be a capture stored
        // already (one placed in another article by similarity, read differently since:
        // the early check cannot see where it will be placed) is kept, held by no
        // article, so that the index never names a body the archive does not have.
        for (hash, at) in std::mem::take(&mut staged.bodies) {
            self.store.put_body(&hash, &BodyEntry { at, articles: Vec::new() })?;
        }
        run.near.write_segment(&self.store)?;
        let created = &changed.created;
        self.store.put_articles(changed.articles.iter().map(|(id, a)| (id, a, !created.contains(id))))?;
        run.last_batch.articles = changed.articles.into_keys().collect();
        run.summary.new_captures += captured;
        run.captures_written += captured;
        self.store.set_captures_written(run.captures_written)?;
        Ok(units)
    }

    /// Compresses the batch's new bodies on all cores, each against the whole text of
    /// its most similar near-duplicate where it has one (a revision against the
    /// version before it, a syndicated copy against the copy stored first), else alone.
    /// A base read fails only on a damaged archive; the body is then stored whole.
    fn compress_bodies(&self, batch: &mut [Prepared], near: &Tracker, last_batch: &LastBatch) -> Result<()> {
        use rayon::prelude::*;
        let closest = |p: &Prepared| {
            p.similar.iter().max_by(|a, b| a.1.jaccard.total_cmp(&b.1.jaccard)).map(|(hash, _)| *hash)
        };
        // The bodies this batch stores: not one the previous batch stored while this one
        // was prepared, and each once.
        let mut in_batch = std::collections::HashMap::new();
        for (at, p) in batch.iter_mut().enumerate() {
            if p.body.is_some() && (in_batch.contains_key(&p.hash) || last_batch.bodies.contains(&p.hash)) {
                p.body = None;
            }
            if p.body.is_some() {
                in_batch.insert(p.hash, at);
            }
        }
        // Bases of bodies stored before this batch, read on all cores.
        let mut bases: Vec<Option<(BodyHash, Arc<[u8]>)>> = batch
            .par_iter()
            .map(|p| {
                let similar = closest(p).filter(|hash| p.body.is_some() && !in_batch.contains_key(hash))?;
                let (hash, text) =
                    self.store.base_for(&similar, &|body| near.location(body)).ok().flatten()?;
                Some((hash, Arc::from(text)))
            })
            .collect();
        // Bases in this batch, in order: an earlier body of the batch, or its base.
        for at in 0..batch.len() {
            let p = &batch[at];
            if p.body.is_none() {
                continue;
            }
            if let Some(&earlier) = closest(p).and_then(|hash| in_batch.get(&hash)).filter(|&&e| e < at) {
                let whole = match &bases[earlier] {
                    Some(base) => base.clone(),
                    None => (
                        batch[earlier].hash,
                        Arc::from(batch[earlier].body.as_deref().unwrap_or("").as_bytes()),
                    ),
                };
                bases[at] = Some(whole);
            }
        }
        batch.par_iter_mut().zip(bases).for_each(|(p, base)| {
            let Some(body) = p.body.take() else { return };
            p.body_blob = Some(match base {
                Some((hash, text)) => codec::encode_body_against(body.as_bytes(), &hash, &text),
                None => codec::encode_blob(body.as_bytes()),
            });
        });
        Ok(())
    }

    /// Appends the batch's new bodies and raw captures to the pack, each once, with the
    /// index segment and joins of the bodies it indexed, and makes them durable before
    /// anything in sled points at them.
    fn stage_blobs<'a>(
        &self,
        batch: impl Iterator<Item = &'a mut Prepared>,
        near: &mut Tracker,
    ) -> Result<Staged> {
        let mut staged = Staged::default();
        for prepared in batch {
            // Only the first record of each body the archive lacks has one (see
            // `compress_bodies`).
            if let Some(blob) = prepared.body_blob.take() {
                staged.bodies.insert(prepared.hash, self.store.stage_body(&prepared.hash, &blob)?);
            }
            // A raw capture is compressed against its body, and the same raw bytes can
            // give two bodies (the HTML extractor reads the page's URL, which a WARC
            // gives apart from the bytes), so a staged raw is one of a raw and a body.
            let raw_key = (prepared.raw_hash, prepared.hash);
            if let Some(blob) = prepared.raw_blob.take()
                && !staged.raws.contains_key(&raw_key)
            {
                staged.raws.insert(raw_key, self.store.stage_raw(&prepared.raw_hash, &blob)?);
            }
        }
        near.stage_segment(&self.store, &staged.bodies)?;
        self.store.write_staged()?;
        for (hash, at) in &staged.bodies {
            near.located(hash, *at);
        }
        Ok(staged)
    }

    /// Stores one record's body and records its capture in its article, which is kept
    /// in `changed` to be written once the batch's index segment is. Returns false for
    /// a capture the archive holds already.
    fn write_record(
        &self,
        mut p: Prepared,
        staged: &mut Staged,
        changed: &mut Changed,
        run: &mut Run,
    ) -> Result<bool> {
        let store = &self.store;
        let prepared_id = p.id;
        let similar = std::mem::take(&mut p.similar);
        let mut link = match p.key {
            ArticleKey::Url(_) => Link::Url,
            ArticleKey::Key { .. } => Link::Key,
        };
        if matches!(p.key, ArticleKey::Key { .. })
            && !changed.has_article(store, &p.id)?
            && let Some((article, to, similarity)) = self.revised_article(&p, &similar, changed)?
        {
            p.id = article;
            link = Link::Similar { to, jaccard: similarity.jaccard };
        }
        let (existing, changed_before) = match changed.articles.remove(&p.id) {
            Some(article) => (Some(article), true),
            None => (stored_article(store, &mut p, prepared_id, &run.last_batch)?, false),
        };
        if existing.as_ref().is_some_and(|a| a.has_capture(p.captured_at, &p.raw_hash)) {
            if changed_before && let Some(article) = existing {
                changed.articles.insert(p.id, article);
            }
            run.summary.duplicates += 1;
            return Ok(false);
        }
        if existing.is_none() {
            run.summary.new_articles += 1;
            changed.created.insert(p.id);
        }
        let mut article = existing.unwrap_or_else(|| ArticleEntry {
            key: p.key.clone(),
            url: p.record.url.clone(),
            source: p.record.source.clone(),
            versions: Vec::new(),
        });
        let raw_at =
            *staged.raws.get(&(p.raw_hash, p.hash)).unwrap_or_else(|| unreachable_blob("raw capture"));
        let capture = CaptureEntry {
            captured_at: p.captured_at,
            raw: p.raw_hash,
            raw_len: p.raw_len,
            raw_at,
            origin: std::mem::take(&mut p.record.origin),
            ingested_at: jiff::Timestamp::now().as_second(),
        };
        let added = add_capture(&mut article, &p, link, capture);
        // The first record of a new body has its staged blob, and writes its entry.
        if let Some(at) = staged.bodies.remove(&p.hash) {
            store.put_body(&p.hash, &BodyEntry { at, articles: vec![p.id] })?;
            run.summary.new_bodies += 1;
        } else if added {
            store.link_body(&p.hash, &p.id)?;
        }
        if added {
            run.summary.new_versions += 1;
        } else {
            run.summary.duplicates += 1;
        }
        changed.articles.insert(p.id, article);
        Ok(true)
    }

    /// Whether a record is a capture its article holds already, read into a body the
    /// archive does not have: the same raw bytes parsed differently since (a parser that
    /// changed). The capture is a duplicate and stores nothing, so that body must not be
    /// indexed either: the index would name a body that is never written.
    fn is_stored_capture_of_new_body(&self, p: &Prepared, run: &Run) -> Result<bool> {
        if p.body.is_none() || run.near.is_indexed(&p.hash) || run.last_batch.bodies.contains(&p.hash) {
            return Ok(false);
        }
        let has_capture = |article: &ArticleEntry| article.has_capture(p.captured_at, &p.raw_hash);
        if run.last_batch.articles.contains(&p.id) {
            return Ok(self.store.article(&p.id)?.is_some_and(|a| has_capture(&a)));
        }
        // A failed read is reported where the record is written.
        Ok(p.stored_article.as_ref().is_ok_and(|a| a.as_ref().is_some_and(has_capture)))
    }

    /// Indexes the body if it is not yet (a new body, or one a crash left unindexed) and
    /// returns its verified near-duplicates among the bodies indexed before it.
    fn index_near_duplicates(&self, p: &mut Prepared, run: &mut Run) -> Result<Vec<(BodyHash, Similarity)>> {
        if run.near.is_indexed(&p.hash) {
            return Ok(Vec::new());
        }
        let fingerprint = match p.fingerprint.take() {
            Some(fingerprint) => fingerprint,
            None => Fingerprint::of(&self.body(&p.hash)?),
        };
        // A record without a URL may be placed in an article by what it resembles, so
        // it is compared with every candidate.
        let search = match p.key {
            ArticleKey::Url(_) => Search::Groups,
            ArticleKey::Key { .. } => Search::Every,
        };
        let similar = run.near.index_body(&self.store, p.hash, &fingerprint, search)?;
        if similar.iter().any(|(_, s)| s.jaccard >= near::NEAR_JACCARD) {
            run.summary.near_duplicates += 1;
        }
        Ok(similar)
    }

    /// For a record without a URL whose key names no stored article: an article from the
    /// same source, with the same title or published date, holding this very body or a
    /// near-duplicate of it (Jaccard >= 0.8). The most similar wins.
    fn revised_article(
        &self,
        p: &Prepared,
        similar: &[(BodyHash, Similarity)],
        changed: &Changed,
    ) -> Result<Option<(ArticleId, BodyHash, Similarity)>> {
        let same = Similarity { jaccard: 1.0, containment: 1.0 };
        let mut matches: Vec<(BodyHash, Similarity)> = std::iter::once((p.hash, same))
            .chain(similar.iter().copied().filter(|(_, s)| s.jaccard >= near::NEAR_JACCARD))
            .collect();
        matches.sort_by(|a, b| b.1.jaccard.total_cmp(&a.1.jaccard));
        let fold = |s: Option<&str>| s.map(|s| s.trim().to_lowercase());
        for (hash, similarity) in matches {
            for article_id in self.store.holders(&hash)? {
                let Some(article) = changed.article(&self.store, &article_id)? else { continue };
                if fold(article.source.as_deref()) != fold(p.record.source.as_deref()) {
                    continue;
                }
                let version = article.versions.iter().find(|v| v.hash == hash);
                let same_title = version.is_some_and(|v| {
                    v.title.is_some() && fold(v.title.as_deref()) == fold(p.record.title.as_deref())
                });
                let same_date =
                    version.is_some_and(|v| v.published.is_some() && v.published == p.record.published);
                if same_title || same_date {
                    return Ok(Some((article_id, hash, similarity)));
                }
            }
        }
        Ok(None)
    }
}

/// Where a batch's new bodies and raw captures were written in the pack.
#[derive(Default)]
struct Staged {
    bodies: std::collections::HashMap<BodyHash, store::pack::Location>,
    raws: std::collections::HashMap<(RawHash, BodyHash), store::pack::Location>,
}

/// The articles a batch changed, written once each after the batch's index segment:
/// an article written is the mark that its captures are stored, so a body is always
/// indexed by the time a capture of it counts as stored.
#[derive(Default)]
struct Changed {
    articles: std::collections::HashMap<ArticleId, ArticleEntry>,
    /// Those the archive did not hold before this batch.
    created: std::collections::HashSet<ArticleId>,
}

impl Changed {
    /// Whether the article exists, as this batch has left it so far.
    fn has_article(&self, store: &Store, id: &ArticleId) -> Result<bool> {
        Ok(self.articles.contains_key(id) || store.has_article(id)?)
    }

    /// An article as this batch has left it so far.
    fn article(&self, store: &Store, id: &ArticleId) -> Result<Option<ArticleEntry>> {
        match self.articles.get(id) {
            Some(article) => Ok(Some(article.clone())),
            None => store.article(id),
        }
    }
}

/// The state of one ingest.
struct Run {
    summary: IngestSummary,
    near: Tracker,
    /// Captures the archive holds, kept in its counter after every batch.
    captures_written: u64,
    last_batch: LastBatch,
}

/// What the batch written last stored. A batch is prepared while the one before it
/// is written, after every earlier one is: what it read of the archive is current but
/// for these.
#[derive(Default)]
struct LastBatch {
    bodies: std::collections::HashSet<BodyHash>,
    articles: std::collections::HashSet<ArticleId>,
}

/// A record's article as the archive holds it: as read when its batch was prepared,
/// unless the batch before wrote it since, or the record was placed in another article.
fn stored_article(
    store: &Store,
    p: &mut Prepared,
    prepared_id: ArticleId,
    last_batch: &LastBatch,
) -> Result<Option<ArticleEntry>> {
    let read = std::mem::replace(&mut p.stored_article, Ok(None));
    if p.id != prepared_id || last_batch.articles.contains(&p.id) {
        return store.article(&p.id);
    }
    read
}

/// A body is compressed whenever it was missing when the batch was prepared, a raw
/// capture whenever its capture was, and nothing is ever deleted, so a missing blob
/// of a missing body or capture cannot happen.
fn unreachable_blob(what: &str) -> ! {
    panic!(
        "{what} was missing from the archive but was not prepared: values are never deleted, so this is a bug"
    )
}

/// Records a capture in its article: in the version of its body, added (in order of
/// first capture) if the article does not have it yet. Returns whether the version is
/// new. A known version captured earlier than first recorded (inputs ingested out of
/// order) has its first capture moved back and the versions re-ordered.
fn add_capture(article: &mut ArticleEntry, p: &Prepared, link: Link, capture: CaptureEntry) -> bool {
    if let Some(version) = article.versions.iter_mut().find(|v| v.hash == p.hash) {
        let at = version.captures.partition_point(|c| c.captured_at <= capture.captured_at);
        version.captures.insert(at, capture);
        if version.first_captured > p.captured_at {
            version.first_captured = p.captured_at;
            article.versions.sort_by_key(|v| v.first_captured);
        }
        return false;
    }
    let at = article.versions.partition_point(|v| v.first_captured <= p.captured_at);
    article.versions.insert(
        at,
        VersionEntry {
            hash: p.hash,
            first_captured: p.captured_at,
            title: p.record.title.clone(),
            published: p.record.published.clone(),
            words: p.words,
            meta: p.record.meta.clone(),
            link,
            captures: vec![capture],
        },
    );
    if article.url.is_none() {
        article.url = p.record.url.clone();
    }
    true
}

fn reject(summary: &mut IngestSummary, progress: &dyn Progress, rejection: &Rejection) {
    summary.rejected += 1;
    progress.rejected(rejection);
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "The ferry to the northern islands left an hour late on Monday because fog \
        lay over the harbour until nine, and the crew waited for the pilot boat to lead it out.";

    /// A capture as a parser read it: the same raw bytes and capture time every time.
    fn capture(body: &str) -> Record {
        Record {
            url: Some("https://coast.example/ferry".into()),
            title: Some("Ferry late in fog".into()),
            body: body.into(),
            raw: b"{\"page\": \"the bytes a scraper saved\"}".to_vec(),
            captured_at: jiff::Timestamp::from_second(1_709_280_000).ok(),
            ..Record::default()
        }
    }

    /// Ingests records as one batch, as `ingest` does with the records of its inputs.
    fn ingest_records(archive: &Archive, records: Vec<Record>) -> IngestSummary {
        let mut run = archive.start_run().unwrap();
        let batch = records.into_iter().map(|r| Ok(archive.prepare(r, &IngestOptions::default()))).collect();
        archive.write_batch(batch, &NoProgress, &mut run).unwrap();
        archive.store.commit(run.captures_written).unwrap();
        run.summary
    }

    #[test]
    fn a_stored_capture_read_into_another_body_stores_and_indexes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open_or_create(&dir.path().join("a")).unwrap();
        assert_eq!(ingest_records(&archive, vec![capture(TEXT)]).new_versions, 1);
        // The same bytes, as a parser that changed since reads them: a near-duplicate
        // of the stored body, so indexing it would also have joined it to a group.
        let read_again = capture(&TEXT.replace("nine", "ten"));
        let again = ingest_records(&archive, vec![read_again]);
        assert_eq!((again.new_versions, again.new_bodies, again.duplicates), (0, 0, 1));
        let report = archive.verify().unwrap();
        assert!(report.problems.is_empty() && report.unfinished == 0, "{:?}", report.problems);
        assert_eq!(archive.stats().unwrap().near_groups, 0);
    }

    #[test]
    fn a_stored_capture_placed_by_similarity_and_read_differently_leaves_the_index_whole() {
        let keyless = |published: &str, raw: &[u8], body: &str| Record {
            url: None,
            source: Some("coast.example".into()),
            published: Some(published.into()),
            raw: raw.to_vec(),
            ..capture(body)
        };
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open_or_create(&dir.path().join("a")).unwrap();
        let story: Vec<String> = (0..200).map(|n| format!("word{n}")).collect();
        let story = story.join(" ");
        ingest_records(&archive, vec![keyless("2024-03-01", b"first page", &story)]);
        // Dated a day later, so its key names no article: it joins the first by its text.
        let revised = story.replace("word100 ", "revised ");
        let placed = ingest_records(&archive, vec![keyless("2024-03-02", b"second page", &revised)]);
        assert_eq!((placed.new_articles, placed.new_versions), (0, 1), "{placed:?}");
        // The second page's bytes, read differently since: a duplicate of its capture.
        let read_again = keyless("2024-03-02", b"second page", &revised.replace("word150 ", "reread "));
        let again = ingest_records(&archive, vec![read_again]);
        assert_eq!((again.new_versions, again.duplicates), (0, 1));
        let report = archive.verify().unwrap();
        assert!(report.problems.is_empty() && report.unfinished == 0, "{:?}", report.problems);
    }
}
