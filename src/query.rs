//! Reading the archive back: resolving references, listing articles, showing a
//! version, an article's log, and the archive's counts. Owns the shapes these
//! answers take as data; never renders them (the binary does).

use serde::Serialize;

use crate::archive::Archive;
use crate::diff::{self, Side, VersionDiff};
use crate::error::{Error, Result};
use crate::id::{self, ArticleId, BodyHash};
use crate::record::{ArticleKey, PageMeta, canonical_url};
use crate::store::{ArticleEntry, Link, VersionEntry};

/// How many candidates an ambiguous reference lists.
const MAX_CANDIDATES: usize = 10;

/// What a reference resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// A version: a body in an article.
    Version {
        /// The article it was resolved in.
        article: ArticleId,
        /// The body.
        hash: BodyHash,
    },
    /// An article (its latest version where one version is wanted).
    Article(ArticleId),
}

/// Filters for [`Archive::list`].
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Outlet, matched case-insensitively against the whole source or a suffix of it
    /// (`svt.se` matches `www.svt.se`).
    pub source: Option<String>,
    /// Only articles last seen at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only articles first seen at or before this time (Unix seconds).
    pub until: Option<i64>,
    /// Only articles whose latest title contains this text (case-insensitive).
    pub title: Option<String>,
}

/// One row of `list`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArticleRow {
    /// Article id (hex).
    pub id: String,
    /// Latest title.
    pub title: Option<String>,
    /// URL.
    pub url: Option<String>,
    /// Outlet.
    pub source: Option<String>,
    /// Number of versions.
    pub versions: usize,
    /// Number of captures.
    pub captures: u64,
    /// First capture (RFC 3339).
    pub first_seen: String,
    /// Last capture (RFC 3339).
    pub last_seen: String,
    #[serde(skip)]
    first_seen_at: i64,
}

/// One version, shown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VersionView {
    /// Body hash (hex).
    pub hash: String,
    /// Article id (hex).
    pub article: String,
    /// Title captured with this body.
    pub title: Option<String>,
    /// Article URL.
    pub url: Option<String>,
    /// Publication date.
    pub published: Option<String>,
    /// Outlet.
    pub source: Option<String>,
    /// First capture of this body in this article (RFC 3339).
    pub captured_at: String,
    /// 1-based position among the article's versions.
    pub version: usize,
    /// The article's number of versions.
    pub versions: usize,
    /// Words in the body.
    pub words: u32,
    /// How it was linked to the article.
    pub link: String,
    /// Page furniture.
    #[serde(flatten)]
    pub meta: PageMeta,
    /// Other articles that hold the very same body.
    pub also_in: Vec<String>,
    /// The normalised body: one paragraph per line.
    pub body: String,
}

/// One row of `log`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogRow {
    /// Body hash (hex).
    pub hash: String,
    /// First capture of this body (RFC 3339).
    pub captured_at: String,
    /// Title captured with it.
    pub title: Option<String>,
    /// Words in the body.
    pub words: u32,
    /// How it was linked to the article.
    pub link: String,
    /// Captures of this body in this article.
    pub captures: u64,
}

/// The archive's counts and sizes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Articles.
    pub articles: u64,
    /// Versions (distinct bodies per article, summed over articles).
    pub versions: u64,
    /// Distinct body hashes.
    pub bodies: u64,
    /// Captures.
    pub captures: u64,
    /// Groups of near-duplicate bodies (revisions and copies of one text).
    pub near_groups: u64,
    /// Bytes of raw input captured (each capture counted).
    pub input_bytes: u64,
    /// Bytes the archive takes on disk: `index_bytes` and `pack_bytes`.
    pub stored_bytes: u64,
    /// Of those, sled's files (the trees; what `compact` can shrink).
    pub index_bytes: u64,
    /// Of those, the packs (bodies, raw captures, the near-duplicate index).
    pub pack_bytes: u64,
    /// The normaliser version the hashes were made with.
    pub normalizer: u32,
}

impl Archive {
    /// Resolves a reference: a version hash or article id prefix (4+ hex characters),
    /// or an article URL.
    pub fn resolve(&self, reference: &str) -> Result<Resolved> {
        let reference = reference.trim();
        if reference.contains("://") {
            let id = ArticleKey::Url(canonical_url(reference)).id();
            return match self.store.article(&id)? {
                Some(_) => Ok(Resolved::Article(id)),
                None => Err(Error::NotFound(reference.to_string())),
            };
        }
        if !id::is_hex_prefix(reference) {
            return Err(Error::BadReference(reference.to_string()));
        }
        let bodies = self.store.bodies_with_prefix(reference, MAX_CANDIDATES + 1)?;
        let articles = self.store.articles_with_prefix(reference, MAX_CANDIDATES + 1)?;
        match (bodies.as_slice(), articles.as_slice()) {
            ([hash], []) => {
                let article =
                    self.store.articles_holding(hash)?.next().transpose()?.ok_or_else(|| Error::Corrupt {
                        tree: "bodies",
                        detail: format!("body {} belongs to no article", hash.short()),
                    })?;
                Ok(Resolved::Version { article, hash: *hash })
            }
            ([], [article]) => Ok(Resolved::Article(*article)),
            ([], []) => Err(Error::NotFound(reference.to_string())),
            _ => {
                let mut candidates: Vec<String> =
                    bodies.iter().map(|h| format!("version {}", h.short())).collect();
                candidates.extend(articles.iter().map(|a| format!("article {}", a.short())));
                candidates.truncate(MAX_CANDIDATES);
                Err(Error::Ambiguous { reference: reference.to_string(), candidates })
            }
        }
    }

    /// An article by id.
    pub fn article(&self, id: &ArticleId) -> Result<ArticleEntry> {
        self.store.article(id)?.ok_or_else(|| Error::NotFound(id.to_hex()))
    }

    /// Resolves a reference to an article (a version reference gives its article).
    pub fn resolve_article(&self, reference: &str) -> Result<ArticleId> {
        Ok(match self.resolve(reference)? {
            Resolved::Version { article, .. } | Resolved::Article(article) => article,
        })
    }

    /// Resolves a reference to one version (an article gives its latest).
    pub fn resolve_version(&self, reference: &str) -> Result<(ArticleId, BodyHash)> {
        match self.resolve(reference)? {
            Resolved::Version { article, hash } => Ok((article, hash)),
            Resolved::Article(id) => {
                let hash = self
                    .article(&id)?
                    .latest()
                    .map(|v| v.hash)
                    .ok_or_else(|| Error::NotFound(reference.into()))?;
                Ok((id, hash))
            }
        }
    }

    /// The articles that pass `filter`, oldest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<ArticleRow>> {
        let mut rows = Vec::new();
        for item in self.store.articles() {
            let (id, article) = item?;
            if let Some(row) = self.row_if_selected(&id, &article, filter)? {
                rows.push(row);
            }
        }
        rows.sort_by(|a, b| (a.first_seen_at, &a.id).cmp(&(b.first_seen_at, &b.id)));
        Ok(rows)
    }

    /// The article's `list` row if it passes `filter`.
    pub(crate) fn row_if_selected(
        &self,
        id: &ArticleId,
        article: &ArticleEntry,
        filter: &ListFilter,
    ) -> Result<Option<ArticleRow>> {
        if let Some(want) = filter.source.as_deref().map(str::to_lowercase) {
            let have = article.source.as_deref().unwrap_or("").to_lowercase();
            if !(have == want || have.ends_with(&format!(".{want}"))) {
                return Ok(None);
            }
        }
        if let Some(want) = filter.title.as_deref().map(str::to_lowercase)
            && !article.title().unwrap_or("").to_lowercase().contains(&want)
        {
            return Ok(None);
        }
        let (captures, first, last) = capture_span(article);
        if filter.since.is_some_and(|since| last < since) || filter.until.is_some_and(|until| first > until) {
            return Ok(None);
        }
        Ok(Some(ArticleRow {
            id: id.to_hex(),
            title: article.title().map(str::to_string),
            url: article.url.clone(),
            source: article.source.clone(),
            versions: article.versions.len(),
            captures,
            first_seen: crate::dates::format_time(first),
            last_seen: crate::dates::format_time(last),
            first_seen_at: first,
        }))
    }

    /// One version with its body.
    pub fn show(&self, reference: &str) -> Result<VersionView> {
        let (article_id, hash) = self.resolve_version(reference)?;
        self.view(article_id, hash)
    }

    /// A version of a given article.
    pub fn view(&self, article_id: ArticleId, hash: BodyHash) -> Result<VersionView> {
        let article = self.article(&article_id)?;
        let (index, version) = find_version(&article, &hash)?;
        let body = self.body(&hash)?;
        let also_in = self
            .store
            .articles_with_body(&hash)?
            .into_iter()
            .filter(|a| *a != article_id)
            .map(|a| a.to_hex())
            .collect();
        Ok(VersionView {
            hash: hash.to_hex(),
            article: article_id.to_hex(),
            title: version.title.clone(),
            url: article.url.clone(),
            published: version.published.clone(),
            source: article.source.clone(),
            captured_at: crate::dates::format_time(version.first_captured),
            version: index + 1,
            versions: article.versions.len(),
            words: version.words,
            link: link_name(version.link),
            meta: version.meta.clone(),
            also_in,
            body,
        })
    }

    /// The difference of two versions (each any reference; an article means its latest).
    pub fn diff(&self, old: &str, new: &str) -> Result<VersionDiff> {
        Ok(diff::diff_versions(&side_of(&self.show(old)?), &side_of(&self.show(new)?)))
    }

    /// The diff of each of an article's versions to the one before it, oldest first.
    pub fn log_diffs(&self, article_id: ArticleId) -> Result<Vec<VersionDiff>> {
        let article = self.article(&article_id)?;
        let sides = article
            .versions
            .iter()
            .map(|v| self.view(article_id, v.hash).map(|view| side_of(&view)))
            .collect::<Result<Vec<_>>>()?;
        Ok(sides.windows(2).map(|pair| diff::diff_versions(&pair[0], &pair[1])).collect())
    }

    /// A stored body's text.
    pub fn body(&self, hash: &BodyHash) -> Result<String> {
        self.store.body(hash)?.ok_or_else(|| Error::Corrupt {
            tree: "bodies",
            detail: format!("body {} is referenced but missing (run `newsvault verify`)", hash.short()),
        })
    }

    /// The raw input of the latest capture of a version.
    pub fn raw(&self, reference: &str) -> Result<Vec<u8>> {
        let (article, hash) = self.resolve_version(reference)?;
        let article = self.article(&article)?;
        let (_, version) = find_version(&article, &hash)?;
        let capture = version
            .latest_capture()
            .ok_or_else(|| Error::NotFound(format!("a capture of {}", hash.short())))?;
        self.store.raw_of(capture, &self.body(&hash)?)
    }

    /// An article's versions in capture order.
    pub fn log(&self, reference: &str) -> Result<(ArticleId, ArticleEntry, Vec<LogRow>)> {
        let id = self.resolve_article(reference)?;
        let article = self.article(&id)?;
        let rows = article
            .versions
            .iter()
            .map(|v| LogRow {
                hash: v.hash.to_hex(),
                captured_at: crate::dates::format_time(v.first_captured),
                title: v.title.clone(),
                words: v.words,
                link: link_name(v.link),
                captures: v.captures.len() as u64,
            })
            .collect();
        Ok((id, article, rows))
    }

    /// Counts and sizes.
    pub fn stats(&self) -> Result<Stats> {
        let mut stats = Stats { normalizer: self.normalizer().0, ..Stats::default() };
        for item in self.store.articles() {
            let (_, article) = item?;
            stats.articles += 1;
            stats.versions += article.versions.len() as u64;
            for capture in article.versions.iter().flat_map(|v| &v.captures) {
                stats.captures += 1;
                stats.input_bytes += capture.raw_len;
            }
        }
        stats.bodies = self.store.body_count()? as u64;
        stats.near_groups = self.groups()?.len() as u64;
        (stats.index_bytes, stats.pack_bytes) = self.store.sizes_on_disk()?;
        stats.stored_bytes = stats.index_bytes + stats.pack_bytes;
        Ok(stats)
    }
}

/// A version as one side of a diff: labelled by short hash and first capture, with the
/// metadata people compare, headline first.
fn side_of(view: &VersionView) -> Side {
    let m = &view.meta;
    Side {
        label: format!("{} ({})", &view.hash[..id::SHORT_HEX], view.captured_at),
        fields: vec![
            ("title", view.title.clone()),
            ("standfirst", m.standfirst.clone()),
            ("published", view.published.clone()),
            ("byline", m.byline.clone()),
            ("attribution", m.attribution.clone()),
            ("section", m.section.clone()),
            ("url", view.url.clone()),
            ("source", view.source.clone()),
        ],
        body: view.body.clone(),
    }
}

fn find_version<'a>(article: &'a ArticleEntry, hash: &BodyHash) -> Result<(usize, &'a VersionEntry)> {
    article.versions.iter().enumerate().find(|(_, v)| v.hash == *hash).ok_or_else(|| Error::Corrupt {
        tree: "articles",
        detail: format!("body {} is linked to an article that lacks it", hash.short()),
    })
}

/// The name of a link, as printed.
pub fn link_name(link: Link) -> String {
    match link {
        Link::Url => "url".into(),
        Link::Key => "key".into(),
        Link::Similar { to, jaccard } => format!("similar {jaccard:.2} to {}", to.short()),
    }
}

/// An article's number of captures, and its first and last capture times (0 without
/// captures).
fn capture_span(article: &ArticleEntry) -> (u64, i64, i64) {
    let times = || article.versions.iter().flat_map(|v| &v.captures).map(|c| c.captured_at);
    match (times().min(), times().max()) {
        (Some(first), Some(last)) => (article.capture_count() as u64, first, last),
        _ => (0, 0, 0),
    }
}
