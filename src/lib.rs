//! newsvault keeps a clean, deduplicated archive of scraped news.
//!
//! Scraped articles (text page dumps, HTML, JSON and JSON Lines, WARC) are read into
//! [`Record`]s, their bodies normalised ([`normalize`]) and stored once, content-addressed
//! by BLAKE3, in an embedded sled database. Every capture is recorded; an article keeps
//! its versions in capture order.
//!
//! ```
//! use newsvault::{Archive, IngestOptions, NoProgress};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let page = dir.path().join("page.txt");
//! std::fs::write(&page, "A headline\n\nFirst paragraph.\n\nSecond paragraph.\n")?;
//! let archive = Archive::open_or_create(&dir.path().join("archive"))?;
//! let summary = archive.ingest(&[page], &IngestOptions::default(), &NoProgress)?;
//! assert_eq!(summary.new_versions, 1);
//! let rows = archive.list(&Default::default())?;
//! let shown = archive.show(&rows[0].id)?;
//! assert_eq!(shown.body, "First paragraph.\nSecond paragraph.");
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod archive;
pub mod dates;
pub mod diff;
pub mod error;
pub mod export;
pub mod id;
pub mod ingest;
pub mod near;
pub mod normalize;
pub mod query;
pub mod record;
pub mod sanitize;
pub mod store;
pub mod verify;

pub use archive::{Archive, IngestOptions, IngestSummary, NoProgress, Progress};
pub use error::{Error, Result};
pub use id::{ArticleId, BodyHash, RawHash};
pub use ingest::{Format, Rejection};
pub use query::{ArticleRow, ListFilter, LogRow, Resolved, Stats, VersionView};
pub use record::{ArticleKey, Origin, PageMeta, Record};
pub use store::compact::Compaction;
pub use verify::{Problem, VerifyReport};
