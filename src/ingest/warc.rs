//! WARC files: every HTML response record. (Being built.)

use super::{Rejection, Unit};
use crate::record::Origin;

/// Splits a WARC file into one unit per HTML response record.
pub fn split(file: &str, bytes: &[u8]) -> Vec<Result<Unit, Rejection>> {
    let _ = bytes;
    vec![Err(Rejection::new(
        Origin { file: file.to_string(), record: None },
        "WARC input is not supported yet",
    ))]
}
