//! WARC files (1.0 and 1.1): every HTML `response` record (and `resource` record with
//! an HTML type) becomes a unit whose bytes are the HTTP payload, with WARC-Target-URI
//! as its URL and WARC-Date as its capture time. Owns the record framing and the HTTP
//! payload decoding (chunked transfer, gzip and deflate content encodings). Never trusts
//! a length from the file beyond the bytes present, and never parses HTML itself.

use std::io::{BufRead, Read};

use super::stream::{self, Line, MAX_RECORD_BYTES};
use super::{Rejection, Unit};
use crate::dates;
use crate::record::Origin;

/// The most one record's payload may expand to when its content encoding is undone.
const MAX_PAYLOAD: u64 = 64 << 20;

/// Splits a WARC file into one unit per HTML response record (see [`WarcUnits`]).
pub fn split(file: &str, bytes: &[u8]) -> Vec<Result<Unit, Rejection>> {
    WarcUnits::new(file, bytes).collect()
}

/// Header names (lower-cased) and values, in order.
type Headers = Vec<(String, String)>;

/// The most bytes of WARC headers one record may have.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// A WARC file read as a stream, one record at a time. Malformed records are rejected
/// with their number, and reading goes on at the next `WARC/` line; a block larger than
/// [`MAX_RECORD_BYTES`] is read through and rejected, never held.
pub struct WarcUnits<R> {
    reader: R,
    file: String,
    number: u64,
    /// A `WARC/` line found while looking for the next record after a damaged one.
    found_start: Option<Vec<u8>>,
    line: Vec<u8>,
    done: bool,
}

impl<R: BufRead> WarcUnits<R> {
    /// Reads `reader`, naming units after `file`.
    pub fn new(file: &str, reader: R) -> Self {
        WarcUnits {
            reader,
            file: file.to_string(),
            number: 0,
            found_start: None,
            line: Vec::new(),
            done: false,
        }
    }

    /// The next record's first line, blank lines skipped; `None` at the end.
    fn first_line(&mut self) -> Result<Option<Vec<u8>>, String> {
        if let Some(line) = self.found_start.take() {
            return Ok(Some(line));
        }
        loop {
            match stream::read_line(&mut self.reader, &mut self.line, MAX_HEADER_BYTES).map_err(read_error)? {
                Line::End => return Ok(None),
                Line::TooLong(_) => return Ok(Some(Vec::new())),
                Line::Read if self.line.iter().all(|b| *b == b'\r') => {}
                Line::Read => return Ok(Some(std::mem::take(&mut self.line))),
            }
        }
    }

    /// Skips to the next line that starts a record; false at the end of the file.
    fn find_next_record(&mut self) -> Result<bool, String> {
        loop {
            match stream::read_line(&mut self.reader, &mut self.line, MAX_HEADER_BYTES).map_err(read_error)? {
                Line::End => return Ok(false),
                Line::Read if self.line.starts_with(b"WARC/1.") => {
                    self.found_start = Some(std::mem::take(&mut self.line));
                    return Ok(true);
                }
                _ => {}
            }
        }
    }

    /// Header lines up to a blank line, names lower-cased.
    fn headers(&mut self) -> Result<Headers, Framing> {
        let mut headers = Vec::new();
        let mut total = 0;
        loop {
            let line = stream::read_line(&mut self.reader, &mut self.line, MAX_HEADER_BYTES)
                .map_err(|e| Framing::Truncated(read_error(e)))?;
            if line == Line::End {
                return Err(Framing::Truncated("WARC headers are cut off".into()));
            }
            total += self.line.len() + 1;
            if line != Line::Read || total > MAX_HEADER_BYTES {
                return Err(Framing::Malformed("WARC headers are longer than 1 MiB".into()));
            }
            let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
            if line.is_empty() {
                return Ok(headers);
            }
            headers.extend(header_field(line));
        }
    }

    /// One record after its first line: headers and block.
    fn record(&mut self) -> Result<(Headers, Vec<u8>), Framing> {
        let headers = self.headers()?;
        let length: u64 = header(&headers, "content-length")
            .ok_or_else(|| Framing::Malformed("WARC record without Content-Length".into()))?
            .trim()
            .parse()
            .map_err(|_| Framing::Malformed("WARC Content-Length is not a number".into()))?;
        if length > MAX_RECORD_BYTES as u64 {
            let skipped = std::io::copy(&mut (&mut self.reader).take(length), &mut std::io::sink())
                .map_err(|e| Framing::Truncated(read_error(e)))?;
            if skipped < length {
                return Err(truncated(length));
            }
            return Err(Framing::Skipped(format!(
                "record of {} MiB is larger than the {} MiB a record may have",
                length >> 20,
                MAX_RECORD_BYTES >> 20
            )));
        }
        let mut block = Vec::with_capacity(length as usize);
        (&mut self.reader)
            .take(length)
            .read_to_end(&mut block)
            .map_err(|e| Framing::Truncated(read_error(e)))?;
        if (block.len() as u64) < length {
            return Err(truncated(length));
        }
        Ok((headers, block))
    }
}

impl<R: BufRead> Iterator for WarcUnits<R> {
    type Item = Result<Unit, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let first = match self.first_line() {
                Ok(Some(line)) => line,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(reason) => {
                    self.done = true;
                    return Some(Err(Rejection::new(self.origin_next(), reason)));
                }
            };
            let origin = self.origin_next();
            let framing = if first.starts_with(b"WARC/") {
                self.record()
            } else {
                Err(Framing::Malformed("not a WARC record (no WARC/ version line)".into()))
            };
            match framing {
                Ok((headers, block)) => match unit_of(&WarcRecord { headers, block: &block }, origin) {
                    Ok(Some(unit)) => return Some(Ok(unit)),
                    Ok(None) => {}
                    Err(rejection) => return Some(Err(rejection)),
                },
                Err(Framing::Skipped(reason)) => return Some(Err(Rejection::new(origin, reason))),
                Err(Framing::Truncated(reason)) => {
                    self.done = true;
                    return Some(Err(Rejection::new(origin, reason)));
                }
                Err(Framing::Malformed(reason)) => {
                    match self.find_next_record() {
                        Ok(true) => {}
                        _ => self.done = true,
                    }
                    return Some(Err(Rejection::new(origin, reason)));
                }
            }
        }
        None
    }
}

impl<R> WarcUnits<R> {
    fn origin_next(&mut self) -> Origin {
        self.number += 1;
        Origin { file: self.file.clone(), record: Some(self.number) }
    }
}

fn read_error(e: std::io::Error) -> String {
    format!("cannot read on: {e}")
}

fn truncated(length: u64) -> Framing {
    Framing::Truncated(format!("truncated WARC record: {length} bytes announced, fewer present"))
}

/// One WARC record: its headers and block.
struct WarcRecord<'a> {
    headers: Vec<(String, String)>,
    block: &'a [u8],
}

impl WarcRecord<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

enum Framing {
    /// The file ends inside the record: nothing after it can be read.
    Truncated(String),
    /// The record is damaged; the next one may be fine.
    Malformed(String),
    /// The record was read through but is refused; the next one follows.
    Skipped(String),
}

/// Header lines after the first line, up to a blank line; returns them (names
/// lower-cased) and where the body starts. Lines may end in CRLF or LF.
fn parse_headers(bytes: &[u8], at: usize) -> Option<(Vec<(String, String)>, usize)> {
    let mut headers = Vec::new();
    let mut line_start = at;
    let mut first = true;
    loop {
        let line_end = line_start + bytes[line_start..].iter().position(|&b| b == b'\n')?;
        let line = &bytes[line_start..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line_start = line_end + 1;
        if first {
            first = false;
            continue;
        }
        if line.is_empty() {
            return Some((headers, line_start));
        }
        headers.extend(header_field(line));
    }
}

/// One `Name: value` line (WARC or HTTP), the name lower-cased; `None` without a colon.
fn header_field(line: &[u8]) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(line);
    let (name, value) = text.split_once(':')?;
    Some((name.trim().to_ascii_lowercase(), value.trim().to_string()))
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The unit of an HTML response or resource record; `None` for every other record.
fn unit_of(record: &WarcRecord<'_>, origin: Origin) -> Result<Option<Unit>, Rejection> {
    let kind = record.header("warc-type").unwrap_or("").to_ascii_lowercase();
    let (content_type, payload) = match kind.as_str() {
        "response" => match http_payload(record.block) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(reason) => return Err(Rejection::new(origin, reason)),
        },
        "resource" => (record.header("content-type").map(str::to_string), record.block.to_vec()),
        _ => return Ok(None),
    };
    if !is_html(content_type.as_deref(), &payload) {
        return Ok(None);
    }
    // newsvault's own name for a page that had no URL is not one.
    let url = record
        .header("warc-target-uri")
        .map(|u| u.trim_matches(|c| c == '<' || c == '>').to_string())
        .filter(|u| !u.starts_with("urn:newsvault:"));
    let captured_at = record.header("warc-date").and_then(dates::parse_timestamp);
    Ok(Some(Unit { origin, raw: payload, url, captured_at }))
}

/// An HTTP response's declared content type and its decoded body.
type Payload = (Option<String>, Vec<u8>);

/// The content type and decoded payload of a successful HTTP response; `None` for any
/// other status.
fn http_payload(block: &[u8]) -> Result<Option<Payload>, String> {
    if !block.starts_with(b"HTTP/") {
        return Err("response record without an HTTP status line".into());
    }
    let (headers, body_start) = parse_headers(block, 0).ok_or("HTTP headers are cut off")?;
    let status_line =
        String::from_utf8_lossy(&block[..block.iter().position(|&b| b == b'\n').unwrap_or(0)]).into_owned();
    let status = status_line.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with('2') {
        return Ok(None);
    }
    let mut body = block[body_start..].to_vec();
    if header(&headers, "transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
        body = dechunk(&body).ok_or("damaged chunked transfer encoding")?;
    }
    match header(&headers, "content-encoding").map(str::to_ascii_lowercase).as_deref() {
        Some("gzip" | "x-gzip") => body = inflate(flate2::read::MultiGzDecoder::new(&body[..]))?,
        Some("deflate") => body = inflate(flate2::read::ZlibDecoder::new(&body[..]))?,
        _ => {}
    }
    Ok(Some((header(&headers, "content-type").map(str::to_string), body)))
}

fn inflate(reader: impl Read) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader
        .take(MAX_PAYLOAD + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("damaged compressed payload: {e}"))?;
    if out.len() as u64 > MAX_PAYLOAD {
        return Err(format!("payload expands past {} MiB", MAX_PAYLOAD >> 20));
    }
    Ok(out)
}

/// Undoes HTTP/1.1 chunked transfer encoding.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.iter().position(|&b| b == b'\n')?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.trim().split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 1..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size..)?;
        body = body.strip_prefix(b"\r\n").or_else(|| body.strip_prefix(b"\n")).unwrap_or(body);
    }
}

fn is_html(content_type: Option<&str>, payload: &[u8]) -> bool {
    match content_type {
        Some(t) => t.to_ascii_lowercase().contains("html"),
        None => {
            let head = String::from_utf8_lossy(&payload[..payload.len().min(512)]).to_ascii_lowercase();
            head.contains("<html") || head.contains("<!doctype html")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const PAGE: &str = "<html><body><p>The council approved the new library budget.</p></body></html>";

    fn record(kind: &str, uri: &str, block: &[u8], eol: &str) -> Vec<u8> {
        let mut out = format!(
            "WARC/1.1{eol}WARC-Type: {kind}{eol}WARC-Target-URI: {uri}{eol}WARC-Date: 2024-06-01T10:00:00Z{eol}Content-Length: {}{eol}{eol}",
            block.len()
        )
        .into_bytes();
        out.extend_from_slice(block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    fn http(headers: &str, body: &[u8]) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 200 OK\r\n{headers}\r\n").into_bytes();
        out.extend_from_slice(body);
        out
    }

    fn units(bytes: &[u8]) -> Vec<Result<Unit, Rejection>> {
        split("f.warc", bytes)
    }

    #[test]
    fn html_responses_become_units_and_other_records_are_skipped() {
        let mut file = record("warcinfo", "", b"software: test\r\n", "\r\n");
        file.extend(record("request", "https://a.example/1", b"GET /1 HTTP/1.1\r\n\r\n", "\r\n"));
        file.extend(record(
            "response",
            "<https://a.example/1>",
            &http("Content-Type: text/html\r\n", PAGE.as_bytes()),
            "\r\n",
        ));
        file.extend(record(
            "response",
            "https://a.example/img",
            &http("Content-Type: image/png\r\n", b"\x89PNG"),
            "\r\n",
        ));
        let found = units(&file);
        assert_eq!(found.len(), 1);
        let unit = found[0].as_ref().unwrap();
        assert_eq!(unit.raw, PAGE.as_bytes());
        assert_eq!(unit.url.as_deref(), Some("https://a.example/1"));
        assert_eq!(unit.origin.record, Some(3));
        assert_eq!(unit.captured_at.map(|t| t.as_second()), Some(1717236000));
    }

    #[test]
    fn chunked_gzip_payloads_are_decoded() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(PAGE.as_bytes()).unwrap();
        let gzipped = gz.finish().unwrap();
        let (a, b) = gzipped.split_at(10);
        let mut chunked = format!("{:x}\r\n", a.len()).into_bytes();
        chunked.extend_from_slice(a);
        chunked.extend_from_slice(format!("\r\n{:x};ext=1\r\n", b.len()).as_bytes());
        chunked.extend_from_slice(b);
        chunked.extend_from_slice(b"\r\n0\r\n\r\n");
        let block = http(
            "Content-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n",
            &chunked,
        );
        let found = units(&record("response", "https://a.example/2", &block, "\r\n"));
        assert_eq!(found[0].as_ref().unwrap().raw, PAGE.as_bytes());
    }

    #[test]
    fn lf_only_headers_and_resource_records_are_read() {
        let mut file = record("resource", "https://a.example/3", PAGE.as_bytes(), "\n");
        let at = file.windows(14).position(|w| w == b"Content-Length").unwrap();
        file.splice(at..at, b"Content-Type: text/html\n".iter().copied());
        let found = units(&file);
        assert_eq!(found.len(), 1, "{:?}", found.iter().map(|u| u.as_ref().err()).collect::<Vec<_>>());
        assert_eq!(found[0].as_ref().unwrap().raw, PAGE.as_bytes());
    }

    #[test]
    fn a_truncated_record_is_rejected_and_earlier_ones_kept() {
        let mut file = record(
            "response",
            "https://a.example/4",
            &http("Content-Type: text/html\r\n", PAGE.as_bytes()),
            "\r\n",
        );
        let second = record(
            "response",
            "https://a.example/5",
            &http("Content-Type: text/html\r\n", PAGE.as_bytes()),
            "\r\n",
        );
        file.extend_from_slice(&second[..second.len() - 30]);
        let found = units(&file);
        assert_eq!(found.len(), 2);
        assert!(found[0].is_ok());
        let rejection = found[1].as_ref().unwrap_err();
        assert_eq!(rejection.origin.record, Some(2));
        assert!(rejection.reason.contains("truncated"), "{}", rejection.reason);
    }

    #[test]
    fn a_damaged_record_is_skipped_to_the_next() {
        let mut file = b"WARC/1.1\r\nWARC-Type: response\r\n\r\ngarbage\r\n".to_vec();
        file.extend(record(
            "response",
            "https://a.example/6",
            &http("Content-Type: text/html\r\n", PAGE.as_bytes()),
            "\r\n",
        ));
        let found = units(&file);
        assert!(found[0].as_ref().unwrap_err().reason.contains("Content-Length"));
        assert_eq!(found[1].as_ref().unwrap().url.as_deref(), Some("https://a.example/6"));
    }

    #[test]
    fn error_statuses_are_skipped() {
        let block = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<html>gone</html>".to_vec();
        assert!(units(&record("response", "https://a.example/7", &block, "\r\n")).is_empty());
    }
}
