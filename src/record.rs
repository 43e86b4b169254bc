//! The one shape every input format is turned into: a scraped article [`Record`],
//! with where it came from. Owns the article key rules; never parses input and
//! never touches storage.

use serde::{Deserialize, Serialize};

use crate::id::ArticleId;

/// Where a record came from: the input file (or `-` for stdin) and, for files that
/// hold many records, the line or record number (1-based).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The path as the user gave it (or as found under a directory they gave).
    pub file: String,
    /// 1-based line (JSON Lines) or record (JSON arrays, WARC) number.
    pub record: Option<u64>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.record {
            Some(n) => write!(f, "{}:{n}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

/// Page furniture and attribution found around an article body: kept with the
/// version, never part of the hashed body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageMeta {
    /// Section or category ("WORLD").
    pub section: Option<String>,
    /// The reading-time line ("2 MIN READ").
    pub reading_time: Option<String>,
    /// The standfirst (dek) under the headline.
    pub standfirst: Option<String>,
    /// Author line.
    pub byline: Option<String>,
    /// Photo caption, with its credit.
    pub caption: Option<String>,
    /// The source attribution ("TRTWorld and agencies", "TT", "AFP").
    pub attribution: Option<String>,
    /// Other headlines listed on the page ("Explore", "Related").
    pub related: Vec<String>,
}

/// One scraped article as read from an input, before normalisation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// Where it came from.
    pub origin: Origin,
    /// The exact bytes captured for this record (a file, a JSON line, a WARC payload).
    pub raw: Vec<u8>,
    /// The article's URL, when the input names one.
    pub url: Option<String>,
    /// Headline.
    pub title: Option<String>,
    /// Publication date or time as given, ISO 8601 where it could be read.
    pub published: Option<String>,
    /// When the scraper captured it, in seconds since the epoch, when the input says.
    pub captured_at: Option<jiff::Timestamp>,
    /// The outlet or site ("www.svt.se", "trtworld.com").
    pub source: Option<String>,
    /// The article body as found: paragraphs separated by blank lines or line breaks.
    pub body: String,
    /// Everything else found on the page.
    pub meta: PageMeta,
}

/// How an article is identified: by URL when the record has one, otherwise by the
/// documented key of source, title and published date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArticleKey {
    /// The article's URL (fragment removed, surrounding whitespace trimmed).
    Url(String),
    /// Source, title and published date, lower-cased and whitespace-folded.
    Key {
        /// The outlet.
        source: String,
        /// The headline.
        title: String,
        /// The published date (its date part only).
        published: String,
    },
}

impl ArticleKey {
    /// The key of a record.
    pub fn of(record: &Record) -> Self {
        match record.url.as_deref().map(canonical_url) {
            Some(url) if !url.is_empty() => ArticleKey::Url(url),
            _ => ArticleKey::Key {
                source: fold_key_part(record.source.as_deref()),
                title: fold_key_part(record.title.as_deref()),
                published: fold_key_part(record.published.as_deref().map(date_part)),
            },
        }
    }

    /// The article id this key stands for.
    pub fn id(&self) -> ArticleId {
        let mut hasher = blake3::Hasher::new();
        match self {
            ArticleKey::Url(url) => {
                hasher.update(b"url\0");
                hasher.update(url.as_bytes());
            }
            ArticleKey::Key { source, title, published } => {
                hasher.update(b"key\0");
                for part in [source, title, published] {
                    hasher.update(part.as_bytes());
                    hasher.update(b"\0");
                }
            }
        }
        let hash = hasher.finalize();
        let mut id = [0u8; ArticleId::LEN];
        id.copy_from_slice(&hash.as_bytes()[..ArticleId::LEN]);
        ArticleId(id)
    }
}

/// The form of a URL used for identity: trimmed, without its `#fragment`.
pub fn canonical_url(url: &str) -> String {
    let url = url.trim();
    url.split('#').next().unwrap_or(url).to_string()
}

fn fold_key_part(part: Option<&str>) -> String {
    part.unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The date of a published timestamp (`2017-10-14T08:00:00Z` -> `2017-10-14`), so that a
/// re-scrape that only gained a time of day keeps its key.
fn date_part(published: &str) -> &str {
    published.get(..10).filter(|d| d.as_bytes().get(4) == Some(&b'-')).unwrap_or(published)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_fragment_does_not_change_identity() {
        let a = Record { url: Some("https://x.se/a#comments".into()), ..Default::default() };
        let b = Record { url: Some(" https://x.se/a ".into()), ..Default::default() };
        assert_eq!(ArticleKey::of(&a).id(), ArticleKey::of(&b).id());
    }

    #[test]
    fn key_without_url_folds_case_space_and_time_of_day() {
        let a = Record {
            source: Some("TRT World".into()),
            title: Some("A  Title".into()),
            published: Some("2017-10-14".into()),
            ..Default::default()
        };
        let b = Record {
            source: Some("trt world".into()),
            title: Some("a title".into()),
            published: Some("2017-10-14T10:00:00Z".into()),
            ..Default::default()
        };
        assert_eq!(ArticleKey::of(&a).id(), ArticleKey::of(&b).id());
        let c = Record { title: Some("another".into()), ..b };
        assert_ne!(ArticleKey::of(&a).id(), ArticleKey::of(&c).id());
    }
}
