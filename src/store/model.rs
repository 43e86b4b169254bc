//! The values kept in the archive's trees. Owns their shapes only; encoding lives in
//! [`super::codec`], and the rules that fill them in [`crate::archive`].

use serde::{Deserialize, Serialize};

use super::pack::Location;
use crate::id::{ArticleId, BodyHash, RawHash};
use crate::record::{ArticleKey, Origin, PageMeta};

/// One article: its identity and its versions, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArticleEntry {
    /// What the article id was derived from.
    pub key: ArticleKey,
    /// The URL, when known.
    pub url: Option<String>,
    /// The outlet.
    pub source: Option<String>,
    /// Distinct bodies in the order they were first captured.
    pub versions: Vec<VersionEntry>,
}

impl ArticleEntry {
    /// Whether this capture is recorded in any version.
    pub fn has_capture(&self, captured_at: i64, raw: &RawHash) -> bool {
        self.versions.iter().any(|v| v.has_capture(captured_at, raw))
    }

    /// Number of captures of all versions.
    pub fn capture_count(&self) -> usize {
        self.versions.iter().map(|v| v.captures.len()).sum()
    }

    /// The latest version.
    pub fn latest(&self) -> Option<&VersionEntry> {
        self.versions.last()
    }

    /// The headline of the latest version.
    pub fn title(&self) -> Option<&str> {
        self.latest().and_then(|v| v.title.as_deref())
    }
}

/// How a version came to belong to its article.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Link {
    /// Same URL.
    Url,
    /// Same source, title and published date (a record without a URL).
    Key,
    /// A record without a URL whose body is a near-duplicate of this version of an
    /// article from the same source with the same title or published date.
    Similar {
        /// The version it resembles.
        to: BodyHash,
        /// Their Jaccard similarity.
        jaccard: f32,
    },
}

/// One version of an article: a distinct body and what was around it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionEntry {
    /// The normalised body's hash.
    pub hash: BodyHash,
    /// When this body was first captured for the article (Unix seconds).
    pub first_captured: i64,
    /// Headline as captured with this body.
    pub title: Option<String>,
    /// Publication date as captured.
    pub published: Option<String>,
    /// Words in the normalised body.
    pub words: u32,
    /// Page furniture captured with it.
    pub meta: PageMeta,
    /// How it was linked to the article.
    pub link: Link,
    /// Every capture of this body for the article, oldest first.
    pub captures: Vec<CaptureEntry>,
}

impl VersionEntry {
    /// Whether this very capture (same time, same raw bytes) is recorded.
    pub fn has_capture(&self, captured_at: i64, raw: &RawHash) -> bool {
        self.captures.iter().any(|c| c.captured_at == captured_at && c.raw == *raw)
    }

    /// The most recent capture.
    pub fn latest_capture(&self) -> Option<&CaptureEntry> {
        self.captures.iter().max_by_key(|c| c.captured_at)
    }
}

/// A stored body: where its text is, and the articles that hold it (nearly always one;
/// more when outlets published the very same text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BodyEntry {
    /// The zstd of the normalised text in a pack.
    pub at: Location,
    /// Articles holding it as a version, in the order they were linked.
    pub articles: Vec<ArticleId>,
}

/// One capture: a record seen in an input at a time. Kept in its version, so the
/// article written is the mark that the capture is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureEntry {
    /// When it was captured (Unix seconds).
    pub captured_at: i64,
    /// The raw input's hash.
    pub raw: RawHash,
    /// The raw input's length in bytes.
    pub raw_len: u64,
    /// The raw input in a pack, compressed against the body (see
    /// [`super::codec::encode_raw`]).
    pub raw_at: Location,
    /// Where it was read from.
    pub origin: Origin,
    /// When it was ingested (Unix seconds).
    pub ingested_at: i64,
}
