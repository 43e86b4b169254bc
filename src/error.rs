//! The library's error type. Owns every failure the library can report to a caller;
//! it never prints, and it never decides exit codes (that is the binary's job).

use std::path::PathBuf;

/// Everything that can go wrong inside the library, apart from a rejected input
/// record, which is not an error of the archive but a finding of the ingest
/// (see [`crate::ingest::Rejection`]).
// Variant fields are described by each variant's message.
#[allow(missing_docs)]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process holds the archive's lock.
    #[error("archive {} is in use by another newsvault process (try again when it has finished)", path.display())]
    ArchiveInUse { path: PathBuf },

    /// The archive directory does not exist or holds no archive.
    #[error("no archive at {} (create one with `newsvault ingest PATH`)", path.display())]
    NoArchive { path: PathBuf },

    /// The archive was written with an on-disk format this build cannot read.
    #[error(
        "archive {} uses format version {found}; this newsvault reads format version {supported} (and {}, which an ingest upgrades)",
        path.display(),
        crate::store::upgraded_formats_named()
    )]
    FormatVersion { path: PathBuf, found: u32, supported: u32 },

    /// The archive was built with a normaliser this build does not know.
    #[error(
        "archive {} was built with normaliser version {found}; this newsvault knows versions 1 to {known}",
        path.display()
    )]
    NormalizerVersion { path: PathBuf, found: u32, known: u32 },

    /// A stored value could not be decoded.
    #[error("corrupt value in tree `{tree}`: {detail}")]
    Corrupt { tree: &'static str, detail: String },

    /// A reference matched nothing.
    #[error("no version or article matches `{0}`")]
    NotFound(String),

    /// A reference matched more than one thing.
    #[error("`{reference}` is ambiguous; it matches {}", candidates.join(", "))]
    Ambiguous { reference: String, candidates: Vec<String> },

    /// A reference that is not a hash prefix, an article id or a URL.
    #[error(
        "`{0}` is not a reference: give a version hash or article id (4+ hex characters) or an article URL"
    )]
    BadReference(String),

    /// The archive's own files are damaged: sled found a checksum that does not match.
    #[error(
        "the archive's files are damaged (a checksum fails at byte {offset} of its log); \
         `newsvault verify` lists what can still be read"
    )]
    Damaged { offset: u64 },

    /// The archive holds less than its last completed ingest left: sled cut its log
    /// at a damaged place while recovering.
    #[error(
        "archive {} has lost writes: its last completed ingest left {committed} captures, its files now \
         record {found}; they were damaged (restore a copy; `newsvault verify` lists what is left)",
        path.display()
    )]
    LostWrites { path: PathBuf, committed: u64, found: u64 },

    /// The embedded database failed.
    #[error("storage error: {0}")]
    Store(sled::Error),

    /// An I/O failure outside the database. The cause is part of the message, not a
    /// `source`, which a chain of contexts would print a second time.
    #[error("{context}: {cause}")]
    Io { context: String, cause: std::io::Error },

    /// The archive's path names something other than a directory.
    #[error("archive {} is not a directory (give --archive a directory, new or holding an archive)", path.display())]
    NotADirectory { path: PathBuf },
}

impl From<sled::Error> for Error {
    fn from(error: sled::Error) -> Self {
        match error {
            sled::Error::Corruption { at, .. } => {
                Error::Damaged { offset: at.map_or(0, |pointer| pointer.lid()) }
            }
            other => Error::Store(other),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
