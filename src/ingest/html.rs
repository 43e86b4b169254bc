//! HTML pages: main-text extraction and page metadata. (Being built.)

use crate::record::Record;

/// Parses an HTML page given as bytes (any encoding).
pub fn parse_bytes(bytes: &[u8], url_hint: Option<&str>) -> Result<Record, String> {
    let _ = (bytes, url_hint);
    Err("HTML input is not supported yet".into())
}
