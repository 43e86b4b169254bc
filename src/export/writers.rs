//! One writer per export format: JSON Lines, CSV (RFC 4180), WARC/1.1 (optionally one
//! gzip member per record) and a directory of text files. Each turns rows into bytes and
//! nothing else.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

use super::{ExportRow, RowWriter};

/// One JSON object per line, with the contract's fields.
pub struct JsonlWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonlWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        JsonlWriter { out }
    }
}

impl<W: Write> RowWriter for JsonlWriter<W> {
    fn row(&mut self, row: &ExportRow) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, row)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// RFC 4180 CSV with a header row; every field quoted where needed (bodies always are,
/// as they hold line breaks).
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        CsvWriter { out: csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out) }
    }
}

impl<W: Write> RowWriter for CsvWriter<W> {
    fn row(&mut self, row: &ExportRow) -> io::Result<()> {
        self.out.serialize(row).map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => io::Error::other(format!("{other:?}")),
        })
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// WARC/1.1: a `warcinfo` record, then one record per row: a `response` (HTTP headers
/// and an HTML page of the version) for a version with a web URL, a `resource` (the page
/// alone) for one without; sha1 base32 digests.
pub struct WarcWriter<W: Write> {
    out: W,
    gzip: bool,
    started: bool,
}

impl<W: Write> WarcWriter<W> {
    /// Writes to `out`; with `gzip`, one gzip member per record (`.warc.gz`).
    pub fn new(out: W, gzip: bool) -> Self {
        WarcWriter { out, gzip, started: false }
    }

    fn record(&mut self, headers: &[(&str, String)], block: &[u8]) -> io::Result<()> {
        let mut bytes = b"WARC/1.1\r\n".to_vec();
        for (name, value) in headers {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(format!("Content-Length: {}\r\n\r\n", block.len()).as_bytes());
        bytes.extend_from_slice(block);
        bytes.extend_from_slice(b"\r\n\r\n");
        if self.gzip {
            let mut member = flate2::write::GzEncoder::new(&mut self.out, flate2::Compression::default());
            member.write_all(&bytes)?;
            member.finish()?;
            Ok(())
        } else {
            self.out.write_all(&bytes)
        }
    }

    fn info(&mut self) -> io::Result<()> {
        let block =
            format!("software: newsvault {}\r\nformat: WARC File Format 1.1\r\n", env!("CARGO_PKG_VERSION"));
        let headers = [
            ("WARC-Type", "warcinfo".to_string()),
            ("WARC-Record-ID", record_id(b"warcinfo", block.as_bytes())),
            ("WARC-Date", jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ("Content-Type", "application/warc-fields".to_string()),
        ];
        self.record(&headers, block.as_bytes())
    }
}

impl<W: Write> RowWriter for WarcWriter<W> {
    fn row(&mut self, row: &ExportRow) -> io::Result<()> {
        if !self.started {
            self.started = true;
            self.info()?;
        }
        let payload = html_page(row);
        let id = ("WARC-Record-ID", record_id(row.article.as_bytes(), row.hash.as_bytes()));
        let date = ("WARC-Date", row.captured_at.clone());
        let web_url = row.url.as_deref().filter(|url| is_web_url(url));
        let (headers, block) = match web_url {
            // What a crawler would have recorded: the HTTP response, headers and page.
            Some(url) => {
                let mut block = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                    payload.len()
                )
                .into_bytes();
                block.extend_from_slice(payload.as_bytes());
                let headers = vec![
                    ("WARC-Type", "response".to_string()),
                    id,
                    date,
                    ("WARC-Target-URI", header_safe_uri(url)),
                    ("WARC-Payload-Digest", sha1_base32(payload.as_bytes())),
                    ("WARC-Block-Digest", sha1_base32(&block)),
                    ("Content-Type", "application/http;msgtype=response".to_string()),
                ];
                (headers, block)
            }
            // No web address (a page dump without its URL): a `resource` record, the
            // page alone, since WARC readers take HTTP headers only from http(s) records.
            None => {
                let uri = row.url.clone().unwrap_or_else(|| format!("urn:newsvault:article:{}", row.article));
                let block = payload.into_bytes();
                let headers = vec![
                    ("WARC-Type", "resource".to_string()),
                    id,
                    date,
                    ("WARC-Target-URI", header_safe_uri(&uri)),
                    ("WARC-Block-Digest", sha1_base32(&block)),
                    ("Content-Type", "text/html; charset=utf-8".to_string()),
                ];
                (headers, block)
            }
        };
        self.record(&headers, &block)
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            self.info()?;
        }
        self.out.flush()
    }
}

/// A URI fit for a header line: control characters and whitespace, which would end the
/// header or corrupt the record (a scraped URL can hold them), percent-encoded as UTF-8.
fn header_safe_uri(uri: &str) -> String {
    let mut safe = String::with_capacity(uri.len());
    for c in uri.chars() {
        if c.is_control() || c.is_whitespace() {
            for byte in c.to_string().bytes() {
                safe.push_str(&format!("%{byte:02X}"));
            }
        } else {
            safe.push(c);
        }
    }
    safe
}

fn is_web_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// `sha1:` and the base32 of the SHA-1, as web archives write digests.
pub fn sha1_base32(bytes: &[u8]) -> String {
    format!("sha1:{}", data_encoding::BASE32.encode(&Sha1::digest(bytes)))
}

/// A stable record id: a UUID-shaped name derived from what the record holds.
fn record_id(a: &[u8], b: &[u8]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(a);
    hasher.update(b"\0");
    hasher.update(b);
    let h = crate::id::hex(&hasher.finalize().as_bytes()[..16]);
    format!("<urn:uuid:{}-{}-{}-{}-{}>", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The version as a small HTML page: its metadata in the head, one `<p>` per paragraph
/// in the article, and the mark that has `ingest` read it back as it was written
/// (the title is kept out of the article: an extractor would take it for a paragraph).
fn html_page(row: &ExportRow) -> String {
    let escape = crate::diff::render::escape;
    let title = escape(row.title.as_deref().unwrap_or(""));
    let mut page = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n{}\n<title>{title}</title>\n",
        crate::ingest::html::EXPORTED_PAGE_MARK
    );
    if let Some(url) = &row.url {
        page.push_str(&format!("<link rel=\"canonical\" href=\"{}\">\n", escape(url)));
    }
    if let Some(source) = &row.source {
        page.push_str(&format!("<meta property=\"og:site_name\" content=\"{}\">\n", escape(source)));
    }
    if let Some(published) = &row.published {
        page.push_str(&format!(
            "<meta property=\"article:published_time\" content=\"{}\">\n",
            escape(published)
        ));
    }
    page.push_str("</head>\n<body>\n<article>\n");
    for paragraph in row.body.lines() {
        page.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
    }
    page.push_str("</article>\n</body>\n</html>\n");
    page
}

/// A directory with one file per version, named `<hash>-<article>.txt` (one text may be
/// a version of several articles, a wire story run by many outlets): a small header (title,
/// URL, source, published, captured, article), a blank line, then the body. Written into
/// a temporary directory beside the target and renamed into place when finished.
pub struct TxtWriter {
    target: PathBuf,
    temporary: Option<tempfile::TempDir>,
}

impl TxtWriter {
    /// Prepares to write the directory `target`, which must not exist yet.
    pub fn new(target: &Path) -> io::Result<Self> {
        if target.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", target.display()),
            ));
        }
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Ok(TxtWriter {
            target: target.to_path_buf(),
            temporary: Some(tempfile::Builder::new().prefix(".newsvault-export").tempdir_in(parent)?),
        })
    }
}

impl RowWriter for TxtWriter {
    fn row(&mut self, row: &ExportRow) -> io::Result<()> {
        let dir = self.temporary.as_ref().ok_or_else(|| io::Error::other("export already finished"))?;
        let mut text = String::new();
        // The names `ingest` recognises an export by, and reads back.
        let values = [
            row.title.as_deref(),
            row.url.as_deref(),
            row.source.as_deref(),
            row.published.as_deref(),
            Some(row.captured_at.as_str()),
            Some(row.article.as_str()),
        ];
        for (name, value) in crate::ingest::text_page::EXPORT_HEADER.into_iter().zip(values) {
            if let Some(value) = value {
                text.push_str(&format!("{name}: {}\n", value.replace('\n', " ")));
            }
        }
        text.push('\n');
        text.push_str(&row.body);
        text.push('\n');
        // A name already taken would mean a version written twice: an error, never an
        // overwrite that silently drops one.
        let path = dir.path().join(format!("{}-{}.txt", row.hash, row.article));
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
        file.write_all(text.as_bytes())
    }

    fn finish(&mut self) -> io::Result<()> {
        let dir = self.temporary.take().ok_or_else(|| io::Error::other("export already finished"))?;
        std::fs::rename(dir.keep(), &self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uri_with_controls_or_spaces_is_percent_encoded_for_its_header() {
        assert_eq!(header_safe_uri("https://a.example/x?q=1"), "https://a.example/x?q=1");
        assert_eq!(
            header_safe_uri("https://a.example/a b\r\n\u{1b}[2J\u{85}"),
            "https://a.example/a%20b%0D%0A%1B[2J%C2%85"
        );
    }
}
