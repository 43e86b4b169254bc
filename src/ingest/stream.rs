//! Inputs as streams: opening a file or standard input, undoing gzip, refusing gzip
//! bombs, counting the bytes read (for progress), and reading lines with a cap. Owns
//! every limit on how much of an input is held in memory at once; never parses a
//! record (that is the format modules').

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The most bytes one record may have (a JSON line, a page, a WARC record's block).
pub const MAX_RECORD_BYTES: usize = 32 << 20;

/// The most a JSON document (an array of records, parsed whole) may have.
pub const MAX_DOCUMENT_BYTES: u64 = 256 << 20;

/// How many times its compressed size a gzip input may expand to (past the first
/// 64 MiB). News text expands 3 to 10 times; a gzip bomb about a thousand.
pub const MAX_EXPANSION: u64 = 200;
const EXPANSION_FLOOR: u64 = 64 << 20;

/// The buffer in front of the parsers: large enough that format detection sees a whole
/// first JSON line.
const BUFFER: usize = 1 << 20;

/// A reader that counts the bytes taken from the file (before decompression).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A reader over decompressed bytes that fails once they outgrow the compressed bytes
/// read by more than [`MAX_EXPANSION`] times.
struct ExpansionGuard<R> {
    inner: R,
    compressed: Arc<AtomicU64>,
    expanded: u64,
}

impl<R: Read> Read for ExpansionGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.expanded += n as u64;
        let compressed = self.compressed.load(Ordering::Relaxed);
        if self.expanded > EXPANSION_FLOOR && self.expanded > compressed.saturating_mul(MAX_EXPANSION) {
            return Err(io::Error::other(format!(
                "gzip data expands more than {MAX_EXPANSION}-fold ({} MiB from {} KiB): refused as a gzip bomb",
                self.expanded >> 20,
                compressed >> 10
            )));
        }
        Ok(n)
    }
}

/// An opened input: its decompressed bytes, and how many of its own bytes were read.
pub struct Stream {
    /// The decompressed bytes.
    pub reader: Box<dyn BufRead + Send>,
    /// Bytes taken from the file or standard input so far.
    pub consumed: Arc<AtomicU64>,
    /// Whether it was gzip.
    pub gzipped: bool,
}

impl Stream {
    /// Opens a reader, looking through gzip (detected by its magic bytes).
    pub fn open(source: Box<dyn Read + Send>) -> io::Result<Stream> {
        let consumed = Arc::new(AtomicU64::new(0));
        let mut raw = BufReader::with_capacity(1 << 16, Counting { inner: source, count: consumed.clone() });
        let gzipped = raw.fill_buf()?.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn BufRead + Send> = if gzipped {
            let decoder = flate2::read::MultiGzDecoder::new(raw);
            let guard = ExpansionGuard { inner: decoder, compressed: consumed.clone(), expanded: 0 };
            Box::new(BufReader::with_capacity(BUFFER, guard))
        } else {
            Box::new(BufReader::with_capacity(BUFFER, raw))
        };
        Ok(Stream { reader, consumed, gzipped })
    }
}

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line (without its `\n`) is in the buffer.
    Read,
    /// The line was longer than the cap: it was read through and dropped; its length.
    TooLong(u64),
    /// The input has ended.
    End,
}

/// Reads one line into `buf` (cleared first), holding at most `cap` bytes of it; a
/// longer line is read through to its end without being kept.
pub fn read_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>, cap: usize) -> io::Result<Line> {
    buf.clear();
    let mut length = 0u64;
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        any = true;
        let (chunk, found_end) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], true),
            None => (available, false),
        };
        length += chunk.len() as u64;
        if length <= cap as u64 {
            buf.extend_from_slice(chunk);
        }
        let used = chunk.len() + usize::from(found_end);
        reader.consume(used);
        if found_end {
            break;
        }
    }
    Ok(match (any, length > cap as u64) {
        (false, _) => Line::End,
        (true, true) => {
            buf.clear();
            Line::TooLong(length)
        }
        (true, false) => Line::Read,
    })
}

/// Reads everything left, refusing more than `cap` bytes.
pub fn read_capped(reader: &mut dyn BufRead, cap: u64) -> io::Result<Result<Vec<u8>, u64>> {
    let mut bytes = Vec::new();
    reader.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Ok(Err(cap));
    }
    Ok(Ok(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn lines_are_read_up_to_the_cap_and_longer_ones_skipped() {
        let mut input: &[u8] = b"short\r\n0123456789abcdef\nlast";
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut input, &mut buf, 8).unwrap(), Line::Read);
        assert_eq!(buf, b"short\r");
        assert_eq!(read_line(&mut input, &mut buf, 8).unwrap(), Line::TooLong(16));
        assert_eq!(read_line(&mut input, &mut buf, 8).unwrap(), Line::Read);
        assert_eq!(buf, b"last");
        assert_eq!(read_line(&mut input, &mut buf, 8).unwrap(), Line::End);
    }

    #[test]
    fn a_gzip_bomb_is_refused_and_ordinary_gzip_read() {
        let gzip = |bytes: &[u8]| {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        };
        let text = b"{\"title\": \"a line of our own\"}\n".repeat(1000);
        let mut stream = Stream::open(Box::new(io::Cursor::new(gzip(&text)))).unwrap();
        assert!(stream.gzipped);
        assert_eq!(read_capped(&mut stream.reader, 1 << 20).unwrap().unwrap(), text);

        let bomb = gzip(&vec![0u8; 200 << 20]);
        let mut stream = Stream::open(Box::new(io::Cursor::new(bomb))).unwrap();
        let error = io::copy(&mut stream.reader, &mut io::sink()).unwrap_err();
        assert!(error.to_string().contains("gzip bomb"), "{error}");
    }
}
