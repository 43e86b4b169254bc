//! Export: deduplicated sets of versions in the formats archives and data pipelines
//! read. Owns the selection (filters, latest only), the deduplication (none, exact, near
//! at a threshold, with a representative kept by a rule) and the order of rows; each
//! format is one small writer behind [`RowWriter`]. Rows are streamed: only the
//! per-body choice of representatives is held in memory, never the bodies.

mod writers;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

pub use writers::{CsvWriter, JsonlWriter, TxtWriter, WarcWriter};

use crate::archive::{Archive, Progress};
use crate::error::{Error, Result};
use crate::id::{ArticleId, BodyHash};
use crate::query::ListFilter;

/// How versions are deduplicated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dedup {
    /// Every selected version.
    None,
    /// One version per distinct body.
    Exact,
    /// One version per near-duplicate cluster (connected components at the threshold).
    Near,
}

/// Which version stands for its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The first captured.
    Earliest,
    /// The last captured.
    Latest,
    /// The one with the most words.
    Longest,
}

/// What to export.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Deduplication.
    pub dedup: Dedup,
    /// Jaccard threshold for `Dedup::Near` and for the `cluster` field.
    pub threshold: f32,
    /// The representative of each group.
    pub keep: Keep,
    /// Only the newest version of each article.
    pub latest: bool,
    /// The same filters as `list`.
    pub filter: ListFilter,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            dedup: Dedup::None,
            threshold: crate::near::NEAR_JACCARD,
            keep: Keep::Earliest,
            latest: false,
            filter: ListFilter::default(),
        }
    }
}

/// One exported version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExportRow {
    /// Body hash (hex).
    pub hash: String,
    /// Article id (hex).
    pub article: String,
    /// Article URL.
    pub url: Option<String>,
    /// Title of this version.
    pub title: Option<String>,
    /// Publication date.
    pub published: Option<String>,
    /// First capture of this version (RFC 3339).
    pub captured_at: String,
    /// Outlet.
    pub source: Option<String>,
    /// Normalised body, one paragraph per line.
    pub body: String,
    /// The near-duplicate cluster (smallest member hash, short), if the version has one.
    pub cluster: Option<String>,
    /// How many selected versions this row stands for (itself included).
    pub duplicates: u64,
}

/// One export format.
pub trait RowWriter {
    /// Writes one row.
    fn row(&mut self, row: &ExportRow) -> std::io::Result<()>;
    /// Ends the output.
    fn finish(&mut self) -> std::io::Result<()>;
}

/// Ends the output and the progress display.
fn finish(writer: &mut dyn RowWriter, progress: &dyn Progress) -> Result<()> {
    writer.finish().map_err(|e| io_error("finish the export", e))?;
    progress.finish();
    Ok(())
}

/// A selected version, without its body.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    article: ArticleId,
    index: usize,
    hash: BodyHash,
    captured: i64,
    words: u32,
}

impl Archive {
    /// Writes the selected, deduplicated versions to `writer`; returns the rows written.
    pub fn export(
        &self,
        options: &ExportOptions,
        writer: &mut dyn RowWriter,
        progress: &dyn Progress,
    ) -> Result<u64> {
        let clusters = self.cluster_names(options.threshold)?;
        let group_of = |c: &Candidate| -> GroupKey {
            match options.dedup {
                Dedup::None => GroupKey::Version(c.article, c.index),
                Dedup::Exact => GroupKey::Body(c.hash),
                Dedup::Near => {
                    clusters.get(&c.hash).map_or(GroupKey::Body(c.hash), |(_, root)| GroupKey::Cluster(*root))
                }
            }
        };
        if options.dedup == Dedup::None {
            return self.export_every_version(options, &clusters, writer, progress);
        }
        // First pass, metadata only: each group's representative and size.
        let mut groups: HashMap<GroupKey, (Candidate, u64)> = HashMap::new();
        self.each_candidate(options, |c| {
            let entry = groups.entry(group_of(&c)).or_insert((c, 0));
            entry.1 += 1;
            if better(options.keep, &c, &entry.0) {
                entry.0 = c;
            }
            Ok(())
        })?;
        progress.begin(groups.len() as u64);
        // Second pass, in archive order: write each representative with its body.
        let mut written = 0;
        self.each_candidate(options, |c| {
            let (chosen, size) = groups[&group_of(&c)];
            if (chosen.article, chosen.index) != (c.article, c.index) {
                return Ok(());
            }
            self.write_row(&c, size, &clusters, writer, progress)?;
            written += 1;
            Ok(())
        })?;
        finish(writer, progress)?;
        Ok(written)
    }

    /// Without deduplication every row stands for itself: one streaming pass.
    fn export_every_version(
        &self,
        options: &ExportOptions,
        clusters: &HashMap<BodyHash, (String, BodyHash)>,
        writer: &mut dyn RowWriter,
        progress: &dyn Progress,
    ) -> Result<u64> {
        progress.begin(0);
        let mut written = 0;
        self.each_candidate(options, |c| {
            self.write_row(&c, 1, clusters, writer, progress)?;
            written += 1;
            Ok(())
        })?;
        finish(writer, progress)?;
        Ok(written)
    }

    /// Writes one version standing for `size` versions, with its cluster's name.
    fn write_row(
        &self,
        c: &Candidate,
        size: u64,
        clusters: &HashMap<BodyHash, (String, BodyHash)>,
        writer: &mut dyn RowWriter,
        progress: &dyn Progress,
    ) -> Result<()> {
        let cluster = match clusters.get(&c.hash) {
            Some((name, _)) => Some(name.clone()),
            None => self.is_copied(&c.hash)?.then(|| c.hash.short()),
        };
        let row = self.export_row(c, size, cluster)?;
        writer.row(&row).map_err(|e| io_error("write the export", e))?;
        progress.advance(1);
        Ok(())
    }

    /// Calls `visit` for every selected version, article by article.
    fn each_candidate(
        &self,
        options: &ExportOptions,
        mut visit: impl FnMut(Candidate) -> Result<()>,
    ) -> Result<()> {
        for item in self.store.articles() {
            let (id, article) = item?;
            if self.row_if_selected(&id, &article, &options.filter)?.is_none() {
                continue;
            }
            let first = if options.latest { article.versions.len().saturating_sub(1) } else { 0 };
            for (index, v) in article.versions.iter().enumerate().skip(first) {
                visit(Candidate {
                    article: id,
                    index,
                    hash: v.hash,
                    captured: v.first_captured,
                    words: v.words,
                })?;
            }
        }
        Ok(())
    }

    fn export_row(&self, c: &Candidate, duplicates: u64, cluster: Option<String>) -> Result<ExportRow> {
        let article = self.article(&c.article)?;
        let version = &article.versions[c.index];
        Ok(ExportRow {
            hash: c.hash.to_hex(),
            article: c.article.to_hex(),
            url: article.url.clone(),
            title: version.title.clone(),
            published: version.published.clone(),
            captured_at: crate::dates::format_time(version.first_captured),
            source: article.source.clone(),
            body: self.body(&c.hash)?,
            cluster,
            duplicates,
        })
    }

    /// Whether a text with words is held by more than one article: a cluster of copies
    /// by itself, as `clusters` names it, though no other text resembles it.
    fn is_copied(&self, hash: &BodyHash) -> Result<bool> {
        if *hash == BodyHash::of("") {
            return Ok(false);
        }
        // Two holders settle it: a story a thousand outlets ran costs each row its list
        // of holders and two article reads, not a thousand.
        let first_two: Vec<_> = self.store.articles_holding(hash)?.take(2).collect::<Result<_>>()?;
        Ok(first_two.len() == 2)
    }

    /// Every body in a near-duplicate cluster at `threshold`: the cluster's name and root.
    fn cluster_names(&self, threshold: f32) -> Result<HashMap<BodyHash, (String, BodyHash)>> {
        let mut parent: HashMap<BodyHash, BodyHash> = HashMap::new();
        fn root(parent: &mut HashMap<BodyHash, BodyHash>, h: BodyHash) -> BodyHash {
            let mut r = h;
            while let Some(&p) = parent.get(&r) {
                if p == r {
                    break;
                }
                r = p;
            }
            parent.insert(h, r);
            r
        }
        for (a, b, _) in self.near_pairs(threshold)? {
            parent.entry(a).or_insert(a);
            parent.entry(b).or_insert(b);
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            if ra != rb {
                parent.insert(ra.max(rb), ra.min(rb));
            }
        }
        let members: Vec<BodyHash> = parent.keys().copied().collect();
        // The smallest hash of a tree is its root, because unions keep the smaller root.
        Ok(members
            .into_iter()
            .map(|h| {
                let r = root(&mut parent, h);
                (h, (r.short(), r))
            })
            .collect())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum GroupKey {
    Version(ArticleId, usize),
    Body(BodyHash),
    Cluster(BodyHash),
}

/// Whether `candidate` should replace `current` as its group's representative.
fn better(keep: Keep, candidate: &Candidate, current: &Candidate) -> bool {
    match keep {
        Keep::Earliest => candidate.captured < current.captured,
        Keep::Latest => candidate.captured > current.captured,
        Keep::Longest => candidate.words > current.words,
    }
}

fn io_error(context: &str, source: std::io::Error) -> Error {
    Error::Io { context: context.to_string(), cause: source }
}

/// Writes to `path` through a temporary file in the same directory, renamed into place
/// only when `write` succeeds: an interrupted export leaves no half file behind.
pub fn write_atomically<T>(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<T>) -> Result<T> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // Known before a long export is written, not when its file is put in place.
    let unfit = if path.is_dir() {
        Some(format!("{} is a directory", path.display()))
    } else if !dir.is_dir() {
        Some(format!("there is no directory {}", dir.display()))
    } else {
        None
    };
    if let Some(unfit) = unfit {
        let cause = std::io::Error::new(std::io::ErrorKind::InvalidInput, unfit);
        return Err(io_error(&format!("cannot write {}", path.display()), cause));
    }
    // Readable as any new file would be (a temporary file is private by default).
    #[cfg(unix)]
    let permissions = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    #[cfg(not(unix))]
    let permissions = std::fs::metadata(dir)
        .map(|m| m.permissions())
        .map_err(|e| io_error("read the output directory", e))?;
    let mut file = tempfile::Builder::new()
        .prefix(".newsvault-export")
        .permissions(permissions)
        .tempfile_in(dir)
        .map_err(|e| io_error(&format!("create a temporary file in {}", dir.display()), e))?;
    let value = {
        let mut buffered = std::io::BufWriter::new(file.as_file_mut());
        let value = write(&mut buffered)?;
        buffered.flush().map_err(|e| io_error(&format!("write {}", path.display()), e))?;
        value
    };
    file.as_file().sync_all().map_err(|e| io_error(&format!("write {}", path.display()), e))?;
    file.persist(path).map_err(|e| io_error(&format!("rename into {}", path.display()), e.error))?;
    Ok(value)
}
