//! Reading inputs into [`Record`]s: finding files, decompressing, decoding text,
//! detecting the format, and splitting a file into units (one per record), each
//! parsed by the module for its shape. Owns every rejection of bad input; never
//! touches the archive and never normalises a body.

pub mod html;
pub mod json;
pub mod stream;
pub mod text_page;
pub mod warc;

use std::borrow::Cow;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::record::{Origin, Record};
use stream::{MAX_DOCUMENT_BYTES, MAX_RECORD_BYTES, Stream};

/// The input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A scraped page as plain text (the TRT World page shape, or title + body).
    Text,
    /// An HTML page.
    Html,
    /// One JSON record, or an array of them.
    Json,
    /// JSON Lines: one record per line.
    Jsonl,
    /// A WARC file: every HTML response record.
    Warc,
}

impl Format {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Html => "html",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Warc => "warc",
        }
    }
}

/// A record that could not be read, with where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// The file, and line or record when there is one.
    pub origin: Origin,
    /// Why, in one line.
    pub reason: String,
}

impl Rejection {
    /// A rejection at `origin`.
    pub fn new(origin: Origin, reason: impl Into<String>) -> Self {
        Rejection { origin, reason: reason.into() }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.origin, self.reason)
    }
}

/// One input to read: a file, or standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A file on disk.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Input {
    /// The name used in messages and capture origins.
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "-".to_string(),
        }
    }

    /// Size on disk, when known (for progress).
    pub fn size(&self) -> u64 {
        match self {
            Input::File(path) => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            Input::Stdin => 0,
        }
    }

    /// The file's modification time: the capture time of a record that has none.
    pub fn modified(&self) -> Option<jiff::Timestamp> {
        let Input::File(path) = self else { return None };
        let modified = std::fs::metadata(path).ok()?.modified().ok()?;
        jiff::Timestamp::try_from(modified).ok()
    }
}

/// Expands the paths a user gave into inputs: files as they are, directories
/// recursively (sorted, hidden entries skipped, and `archive`, the archive's own
/// directory, never read: `ingest .` beside an archive kept there), `-` as standard input.
pub fn expand_inputs(paths: &[PathBuf], archive: &Path) -> Vec<Result<Input, Rejection>> {
    let archive = archive.canonicalize().ok();
    let is_archive = |dir: &Path| archive.is_some() && dir.canonicalize().ok() == archive;
    let mut out = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(Ok(Input::Stdin));
            continue;
        }
        if is_archive(path) {
            out.push(Err(Rejection::new(origin_of(path), "this is the archive being ingested into")));
            continue;
        }
        if !path.is_dir() {
            out.push(match std::fs::metadata(path) {
                Ok(_) => Ok(Input::File(path.clone())),
                Err(e) => Err(Rejection::new(origin_of(path), e.to_string())),
            });
            continue;
        }
        let walker = walkdir::WalkDir::new(path).sort_by_file_name().into_iter().filter_entry(|e| {
            let hidden = e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.');
            let the_archive = e.file_type().is_dir() && is_archive(e.path());
            !hidden && !the_archive
        });
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => out.push(Ok(Input::File(e.into_path()))),
                Ok(_) => {}
                Err(e) => {
                    let at = e.path().map(origin_of).unwrap_or_else(|| origin_of(path));
                    out.push(Err(Rejection::new(at, e.to_string())));
                }
            }
        }
    }
    out
}

fn origin_of(path: &Path) -> Origin {
    Origin { file: path.display().to_string(), record: None }
}

/// An input being read: its units, parsed from the stream as they are asked for, so
/// that memory holds a batch of records, never a whole file.
pub struct Units {
    inner: Box<dyn Iterator<Item = Result<Unit, Rejection>> + Send>,
    consumed: Arc<AtomicU64>,
    file_time: Option<jiff::Timestamp>,
}

impl Units {
    /// Bytes of the input (before decompression) read so far.
    pub fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }
}

impl Iterator for Units {
    type Item = Result<Unit, Rejection>;

    /// The next unit; one whose container gives no capture time gets the input's.
    fn next(&mut self) -> Option<Self::Item> {
        let mut item = self.inner.next()?;
        if let Ok(unit) = &mut item {
            unit.captured_at = unit.captured_at.or(self.file_time);
        }
        Some(item)
    }
}

/// Opens an input and detects its format (unless `forced`) from its name and first
/// bytes. JSON Lines and WARC are read as streams, a record at a time; a JSON document
/// is read whole up to [`MAX_DOCUMENT_BYTES`], a page up to [`MAX_RECORD_BYTES`]. Units
/// whose container gives no capture time get `capture_time`, else the file's time.
pub fn open_units(
    input: &Input,
    forced: Option<Format>,
    capture_time: Option<jiff::Timestamp>,
) -> Result<(Format, Units), Rejection> {
    let name = input.name();
    let at = || Origin { file: name.clone(), record: None };
    let source: Box<dyn Read + Send> = match input {
        Input::File(path) => Box::new(
            std::fs::File::open(path).map_err(|e| Rejection::new(at(), format!("cannot open: {e}")))?,
        ),
        Input::Stdin => Box::new(std::io::stdin()),
    };
    let Stream { mut reader, consumed, gzipped } =
        Stream::open(source).map_err(|e| Rejection::new(at(), format!("cannot read: {e}")))?;
    let read_error = |e: std::io::Error| {
        let reason = match (gzipped, e.kind()) {
            (true, std::io::ErrorKind::Other) => e.to_string(),
            (true, _) => format!("gzip data is damaged or truncated: {e}"),
            (false, _) => format!("cannot read: {e}"),
        };
        Rejection::new(at(), reason)
    };
    let head = reader.fill_buf().map_err(read_error)?;
    if head.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::new(at(), "empty file"));
    }
    let format = forced.unwrap_or_else(|| detect_format(&name, head));
    let inner: Box<dyn Iterator<Item = Result<Unit, Rejection>> + Send> = match format {
        Format::Jsonl => Box::new(json::LineUnits::new(&name, reader)),
        Format::Warc => Box::new(warc::WarcUnits::new(&name, reader)),
        Format::Json => {
            let bytes = stream::read_capped(&mut reader, MAX_DOCUMENT_BYTES)
                .map_err(read_error)?
                .map_err(|cap| too_large(at(), "a JSON document", cap))?;
            Box::new(json::split_document(&name, &bytes).into_iter())
        }
        Format::Text | Format::Html => {
            let raw = stream::read_capped(&mut reader, MAX_RECORD_BYTES as u64)
                .map_err(read_error)?
                .map_err(|cap| too_large(at(), "a page", cap))?;
            Box::new(std::iter::once(Ok(Unit { origin: at(), raw, url: None, captured_at: None })))
        }
    };
    let file_time = capture_time.or_else(|| input.modified());
    Ok((format, Units { inner, consumed, file_time }))
}

fn too_large(at: Origin, what: &str, cap: u64) -> Rejection {
    Rejection::new(at, format!("larger than the {} MiB {what} may have", cap >> 20))
}

/// Decodes text: UTF-8 (a byte-order mark removed), else the encoding detected from
/// the bytes (windows-1252 and latin-1 pages are common). Bytes that look binary
/// (NUL bytes) are refused.
pub fn decode_text(bytes: &[u8]) -> Result<Cow<'_, str>, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        if text.contains('\0') {
            return Err("binary data (NUL bytes), not text".into());
        }
        return Ok(Cow::Borrowed(text));
    }
    if looks_binary(bytes) {
        return Err("binary data, not text".into());
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let encoding = detector.guess(None, chardetng::Utf8Detection::Deny);
    let (text, _, _) = encoding.decode(bytes);
    Ok(Cow::Owned(text.into_owned()))
}

fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    let controls = sample.iter().filter(|&&b| b < 0x09 || (0x0e..0x20).contains(&b)).count();
    sample.contains(&0) || controls * 20 > sample.len()
}

/// Detects a file's format from its name (a `.gz` suffix is looked through) and,
/// failing that, its content.
pub fn detect_format(name: &str, bytes: &[u8]) -> Format {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".gz").unwrap_or(&lower);
    let by_name = match stem.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jsonl" | "ndjson") => Some(Format::Jsonl),
        Some("json") => Some(Format::Json),
        Some("html" | "htm" | "xhtml") => Some(Format::Html),
        Some("warc") => Some(Format::Warc),
        Some("txt" | "text") => Some(Format::Text),
        _ => None,
    };
    by_name.unwrap_or_else(|| detect_by_content(bytes))
}

fn detect_by_content(bytes: &[u8]) -> Format {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let head = &bytes[start..bytes.len().min(start + 1024)];
    let lower = String::from_utf8_lossy(head).to_ascii_lowercase();
    if head.starts_with(b"WARC/") {
        Format::Warc
    } else if head.starts_with(b"{") {
        let first_line = bytes[start..].split(|&b| b == b'\n').next().unwrap_or_default();
        let one_record_per_line = serde_json::from_slice::<serde_json::Value>(first_line).is_ok()
            && bytes[start + first_line.len()..].iter().any(|b| !b.is_ascii_whitespace());
        if one_record_per_line { Format::Jsonl } else { Format::Json }
    } else if head.starts_with(b"[") {
        Format::Json
    } else if lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.contains("<head")
        || lower.contains("<body")
    {
        Format::Html
    } else {
        Format::Text
    }
}

/// A piece of an input that holds one record, not yet parsed.
#[derive(Clone, Debug, Default)]
pub struct Unit {
    /// Where it is.
    pub origin: Origin,
    /// Its exact bytes.
    pub raw: Vec<u8>,
    /// The URL the container gives (a WARC record's target).
    pub url: Option<String>,
    /// The capture time the container gives (a WARC date), else the file's time.
    pub captured_at: Option<jiff::Timestamp>,
}

/// Parses one unit into a record.
pub fn parse_unit(format: Format, unit: Unit) -> Result<Record, Rejection> {
    let parsed = match format {
        Format::Text => decode_text(&unit.raw).and_then(|t| text_page::parse(&t)),
        Format::Html | Format::Warc => html::parse_bytes(&unit.raw, unit.url.as_deref()),
        Format::Json | Format::Jsonl => decode_text(&unit.raw).and_then(|t| json::parse_record(&t)),
    };
    let mut record = parsed.map_err(|reason| Rejection::new(unit.origin.clone(), reason))?;
    record.url = record.url.or(unit.url);
    record.captured_at = record.captured_at.or(unit.captured_at);
    if record.source.is_none() {
        record.source = record.url.as_deref().and_then(host_of);
    }
    record.origin = unit.origin;
    record.raw = unit.raw;
    Ok(record)
}

/// The host of a URL (`https://www.svt.se/a/b` -> `www.svt.se`).
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected_by_name_then_content() {
        assert_eq!(detect_format("a.jsonl.gz", b""), Format::Jsonl);
        assert_eq!(detect_format("a.HTML", b""), Format::Html);
        assert_eq!(detect_format("a", b"WARC/1.1\r\n"), Format::Warc);
        assert_eq!(detect_format("a", b"{\"a\":1}\n{\"a\":2}\n"), Format::Jsonl);
        assert_eq!(detect_format("a", b"{\n\"a\": 1\n}"), Format::Json);
        assert_eq!(detect_format("a", b"  <!DOCTYPE html><html>"), Format::Html);
        assert_eq!(detect_format("a", b"Title\n\nBody"), Format::Text);
    }

    #[test]
    fn latin1_text_is_decoded_and_binary_refused() {
        let latin1 =
            b"R\xe4ksm\xf6rg\xe5s med sm\xf6r och \xe4gg, en klassisk svensk r\xe4tt som m\xe5nga \xe4lskar.";
        assert!(decode_text(latin1).unwrap().contains("Räksmörgås"));
        assert!(decode_text(b"\x00\x01\x02binary").is_err());
        assert_eq!(decode_text(b"\xEF\xBB\xBFhej").unwrap(), "hej");
    }

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(host_of("https://www.SVT.se:443/a?b").as_deref(), Some("www.svt.se"));
        assert_eq!(host_of("not a url"), None);
    }
}
