//! The one place stored values are encoded and decoded. Every value starts with a
//! format-version byte, so the encoding can change later and an old value is
//! recognised, never misread. Structured values are bincode 2 (serde); text and raw
//! captures are zstd-compressed (raw captures against their body, and a body that
//! resembles a stored one against that one, its base). Articles have a compact form
//! of their own (version 2), which leaves out what the rest of the value gives.
//! Nothing outside this module touches bincode or zstd.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::model::{ArticleEntry, CaptureEntry, Link, VersionEntry};
use super::pack::Location;
use crate::error::{Error, Result};
use crate::id::{BodyHash, RawHash};
use crate::near::minhash::{self, BANDS, BandKeys};
use crate::record::{ArticleKey, Origin, PageMeta};

/// The version byte written before every stored value (articles in their compact
/// form have their own, [`ARTICLE_VERSION`]).
pub const VALUE_VERSION: u8 = 1;

/// The first byte of a body compressed against a base body: the base's hash follows,
/// then the frame. The base is always stored whole, so a body is read with at most
/// one other; and the blob names its base, so a pack reads without sled.
const AGAINST_BASE: u8 = 2;

/// zstd level for bodies stored whole. Level 1 against level 3, measured on the whole
/// newsdiffs-se ingest: 6% less time, 2% more bytes in the packs.
const ZSTD_LEVEL: i32 = 1;

/// zstd level for what is compressed against a reference (raw captures against their
/// body, revisions and copies against their base), most of the packs' bytes. Level 3
/// against 1 on the whole newsdiffs-se ingest: packs 50.8 MB against 52.0 (level 2:
/// 52.2), 2.20 s against 2.14 (median of 3, interleaved); a million replayed versions
/// take 0.50x their input after compaction at level 1.
const AGAINST_LEVEL: i32 = 3;

/// The largest blob a frame may claim to hold: the ingest refuses documents past this,
/// so a header claiming more is damage, and is not allocated for.
const MAX_BLOB_BYTES: u64 = crate::ingest::stream::MAX_DOCUMENT_BYTES;

/// Encodes a structured value.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![VALUE_VERSION];
    bincode::serde::encode_into_std_write(value, &mut out, bincode::config::standard())
        .expect("encoding into a Vec cannot fail because writes to memory never fail");
    out
}

/// Decodes a structured value read from `tree`.
pub fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T> {
    let payload = versioned_payload(tree, bytes)?;
    let (value, used) = bincode::serde::decode_from_slice(payload, bincode::config::standard())
        .map_err(|e| Error::Corrupt { tree, detail: e.to_string() })?;
    read_whole(tree, payload, used)?;
    Ok(value)
}

thread_local! {
    /// One compression context per thread and use: creating a zstd context costs more
    /// than compressing a short article with it.
    static PLAIN: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static AGAINST: std::cell::RefCell<Option<zstd::zstd_safe::CCtx<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Compresses bytes (a body) for storage.
pub fn encode_blob(bytes: &[u8]) -> Vec<u8> {
    let frame = PLAIN.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(compressor) => compressor,
            None => slot.insert(
                zstd::bulk::Compressor::new(ZSTD_LEVEL)
                    .expect("zstd accepts level 1 because it is in its range"),
            ),
        };
        compressor
            .compress(bytes)
            .expect("compressing into memory cannot fail because the buffer is sized by zstd")
    });
    versioned(&frame)
}

/// Compresses bytes against a reference the reader will have (a raw capture against
/// its normalised body): zstd takes the reference as a dictionary, so the text the two
/// share is stored once. A raw capture of a news page is mostly its body; this keeps
/// what the page adds around it (markup, headers, the scraper's fields).
///
/// The reference is given to zstd as a prefix, which a reader decodes the same way as
/// a raw-content dictionary (it loads the reference as a dictionary, and zstd takes
/// bytes that do not open with its dictionary magic number as raw content: a
/// reference is always text here, which cannot). zstd indexes a prefix in the
/// context's own tables instead of building a dictionary for each call. Measured on
/// 10,000 newsdiffs-se records against their texts: 14.5 µs a record against 25.5 µs,
/// for 1.7% more bytes.
pub fn encode_blob_against(bytes: &[u8], reference: &[u8]) -> Vec<u8> {
    let frame = AGAINST.with(|cell| {
        let mut slot = cell.borrow_mut();
        let context = slot.get_or_insert_with(zstd::zstd_safe::CCtx::create);
        compress_with_prefix(context, bytes, reference)
    });
    versioned(&frame)
}

/// The first byte of a raw capture of JSON compressed against its body written as a
/// JSON string's contents ([`json_string_contents`]), the way the record holds its text:
/// against the text as it is, every line break (`\n` in the record) cut short a match.
/// On the first 20,000 newsdiffs-se records: 337 bytes a raw against 366.
const RAW_AGAINST_JSON_TEXT: u8 = 3;

/// Compresses a raw capture against its normalised body, written the way a record of
/// its kind holds it (a JSON record: as a JSON string).
pub fn encode_raw(raw: &[u8], body: &str) -> Vec<u8> {
    if !looks_like_json(raw) {
        return encode_blob_against(raw, body.as_bytes());
    }
    let mut blob = encode_blob_against(raw, &json_string_contents(body));
    blob[0] = RAW_AGAINST_JSON_TEXT;
    blob
}

/// Decompresses a raw capture stored with [`encode_raw`] against `body` (or, before
/// layout 12, with [`encode_blob_against`]).
pub fn decode_raw(bytes: &[u8], body: &str) -> Result<Vec<u8>> {
    match bytes.split_first() {
        Some((&RAW_AGAINST_JSON_TEXT, frame)) => {
            decompress("raws", frame, Some(json_string_contents(body).as_slice()))
        }
        _ => decode_blob_against("raws", bytes, body.as_bytes()),
    }
}

/// Whether a raw capture opens as a JSON object or array does.
fn looks_like_json(raw: &[u8]) -> bool {
    matches!(raw.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['))
}

/// `text` as the contents of a JSON string: quote, backslash and control characters
/// escaped in the short forms JSON writers use, everything else (non-ASCII too) as it
/// is. Stored raw captures were compressed against this: it must never change.
fn json_string_contents(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    let mut plain_from = 0;
    for (at, &byte) in text.as_bytes().iter().enumerate() {
        let short = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0x00..=0x1f => 0,
            _ => continue,
        };
        out.extend_from_slice(&text.as_bytes()[plain_from..at]);
        plain_from = at + 1;
        if short == 0 {
            out.extend_from_slice(format!("\\u{byte:04x}").as_bytes());
        } else {
            out.extend_from_slice(&[b'\\', short]);
        }
    }
    out.extend_from_slice(&text.as_bytes()[plain_from..]);
    out
}

/// Compresses `bytes` as one frame with `prefix` as its single-use dictionary.
fn compress_with_prefix(
    context: &mut zstd::zstd_safe::CCtx<'static>,
    bytes: &[u8],
    prefix: &[u8],
) -> Vec<u8> {
    use zstd::zstd_safe::{CParameter, ResetDirective};
    let expect_level = "zstd accepts level 3 because it is in its range";
    let mut frame = Vec::with_capacity(zstd::zstd_safe::compress_bound(bytes.len()));
    // SAFETY: the context keeps a pointer to the prefix, which its type says must
    // outlive it. zstd uses a prefix for the next frame only, and that frame is made
    // here while `prefix` is borrowed. The reset below drops the pointer whether the
    // frame was made or not (a reset of the parameters clears every dictionary and
    // prefix), and nothing between `ref_prefix` and it can panic. This is the only
    // function that uses these contexts, and it sets a prefix before every frame.
    let prefix: &'static [u8] = unsafe { std::mem::transmute::<&[u8], &'static [u8]>(prefix) };
    context.set_parameter(CParameter::CompressionLevel(AGAINST_LEVEL)).expect(expect_level);
    let made = context.ref_prefix(prefix).and_then(|_| context.compress2(&mut frame, bytes));
    context
        .reset(ResetDirective::SessionAndParameters)
        .expect("resetting a context between frames cannot fail");
    made.expect("compressing into memory cannot fail because the buffer is sized by zstd");
    frame
}

fn versioned(frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.len() + 1);
    out.push(VALUE_VERSION);
    out.extend_from_slice(frame);
    out
}

/// Compresses a body against a stored body it resembles (its base, stored whole):
/// a revision or a syndicated copy then costs about what it changed.
pub fn encode_body_against(bytes: &[u8], base: &BodyHash, base_text: &[u8]) -> Vec<u8> {
    let frame = encode_blob_against(bytes, base_text);
    let mut out = Vec::with_capacity(frame.len() + 32);
    out.push(AGAINST_BASE);
    out.extend_from_slice(&base.0);
    out.extend_from_slice(&frame[1..]);
    out
}

/// The base a stored body blob was compressed against, or none: stored whole.
pub fn body_base(bytes: &[u8]) -> Result<Option<BodyHash>> {
    match bytes.split_first() {
        Some((&AGAINST_BASE, rest)) => rest
            .get(..32)
            .and_then(BodyHash::from_slice)
            .map(Some)
            .ok_or_else(|| Error::Corrupt { tree: "bodies", detail: "a base hash cut short".into() }),
        _ => Ok(None),
    }
}

/// Decompresses a body blob: `base_text` is the text of its [`body_base`], if it has one.
pub fn decode_body(bytes: &[u8], base_text: Option<&[u8]>) -> Result<Vec<u8>> {
    match (bytes.first(), base_text) {
        (Some(&AGAINST_BASE), Some(base_text)) => {
            decompress("bodies", bytes.get(33..).unwrap_or_default(), Some(base_text))
        }
        (Some(&AGAINST_BASE), None) => Err(Error::Corrupt {
            tree: "bodies",
            detail: "a body stored against a base, read without it".into(),
        }),
        _ => decode_blob("bodies", bytes),
    }
}

/// Decompresses a stored blob read from `tree`.
pub fn decode_blob(tree: &'static str, bytes: &[u8]) -> Result<Vec<u8>> {
    decompress(tree, versioned_payload(tree, bytes)?, None)
}

/// Decompresses a blob stored with [`encode_blob_against`] the same reference.
pub fn decode_blob_against(tree: &'static str, bytes: &[u8], reference: &[u8]) -> Result<Vec<u8>> {
    decompress(tree, versioned_payload(tree, bytes)?, Some(reference))
}

thread_local! {
    /// One decompression context per thread: creating one (and zeroing its tables)
    /// cost more than decompressing a body, and the near-duplicate search reads many.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn decompress(tree: &'static str, payload: &[u8], reference: Option<&[u8]>) -> Result<Vec<u8>> {
    let corrupt = |detail: String| Error::Corrupt { tree, detail: format!("compressed data: {detail}") };
    // Every frame is written whole, with its content size in its header.
    let size = match zstd::zstd_safe::get_frame_content_size(payload) {
        Ok(Some(size)) if size <= MAX_BLOB_BYTES => size as usize,
        Ok(Some(size)) => return Err(corrupt(format!("a frame of {size} bytes"))),
        Ok(None) | Err(_) => return Err(corrupt("no zstd frame header".into())),
    };
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor = match slot.as_mut() {
            Some(decompressor) => decompressor,
            None => slot.insert(zstd::bulk::Decompressor::new().map_err(|e| corrupt(e.to_string()))?),
        };
        // An empty dictionary is none: the context is reset either way.
        decompressor.set_dictionary(reference.unwrap_or_default()).map_err(|e| corrupt(e.to_string()))?;
        let out = decompressor.decompress(payload, size).map_err(|e| corrupt(e.to_string()))?;
        if out.len() != size {
            return Err(corrupt(format!("{} bytes where the frame says {size}", out.len())));
        }
        Ok(out)
    })
}

/// The version byte of an article written in its compact form ([`encode_article`]).
/// Articles written before it (version [`VALUE_VERSION`], the whole [`ArticleEntry`])
/// are still read, so an archive holds both until its articles are rewritten.
pub const ARTICLE_VERSION: u8 = 2;

/// Encodes an article without what can be derived from the rest: its URL when it is
/// the one its key was made from (nearly always); a version's title, published date
/// and page furniture when they are the previous version's; a capture's input file
/// when it is the previous capture's. At a million captures these were a quarter of an
/// article's bytes.
pub fn encode_article(article: &ArticleEntry) -> Vec<u8> {
    let url = match (&article.key, &article.url) {
        (ArticleKey::Url(key), Some(url)) if key == url => UrlForm::SameAsKey,
        (_, url) => UrlForm::Given(url),
    };
    let mut file_before = None;
    let mut versions = Vec::with_capacity(article.versions.len());
    for (at, version) in article.versions.iter().enumerate() {
        let before = at.checked_sub(1).map(|before| &article.versions[before]);
        let captures = version
            .captures
            .iter()
            .map(|capture| {
                let file = Repeat::of(&capture.origin.file, file_before);
                file_before = Some(&capture.origin.file);
                CaptureForm {
                    captured_at: capture.captured_at,
                    raw: capture.raw,
                    raw_len: capture.raw_len,
                    raw_at: capture.raw_at,
                    file,
                    record: capture.origin.record,
                    ingested_at: capture.ingested_at,
                }
            })
            .collect();
        versions.push(VersionForm {
            hash: version.hash,
            first_captured: version.first_captured,
            title: Repeat::of(&version.title, before.map(|v| &v.title)),
            published: Repeat::of(&version.published, before.map(|v| &v.published)),
            words: version.words,
            meta: Repeat::of(&version.meta, before.map(|v| &v.meta)),
            link: version.link,
            captures,
        });
    }
    let form = ArticleForm { key: &article.key, url, source: &article.source, versions };
    let mut out = vec![ARTICLE_VERSION];
    bincode::serde::encode_into_std_write(&form, &mut out, bincode::config::standard())
        .expect("encoding into a Vec cannot fail because writes to memory never fail");
    out
}

/// Decodes an article of either form.
pub fn decode_article(bytes: &[u8]) -> Result<ArticleEntry> {
    let payload = match bytes.split_first() {
        Some((&ARTICLE_VERSION, payload)) => payload,
        Some((&VALUE_VERSION, _)) => return decode("articles", bytes),
        Some((other, _)) => {
            return Err(article_corrupt(format!(
                "article format version {other}, this newsvault reads {VALUE_VERSION} and {ARTICLE_VERSION}"
            )));
        }
        None => return Err(article_corrupt("empty value")),
    };
    let (form, used): (StoredArticle, usize) =
        bincode::serde::decode_from_slice(payload, bincode::config::standard()).map_err(article_corrupt)?;
    read_whole("articles", payload, used)?;
    let url = match (form.url, &form.key) {
        (UrlForm::SameAsKey, ArticleKey::Url(key)) => Some(key.clone()),
        (UrlForm::SameAsKey, ArticleKey::Key { .. }) => {
            return Err(article_corrupt("a URL taken from a key that has none"));
        }
        (UrlForm::Given(url), _) => url,
    };
    let mut versions: Vec<VersionEntry> = Vec::with_capacity(form.versions.len());
    let mut file_before: Option<String> = None;
    for version in form.versions {
        let before = versions.last();
        let mut captures = Vec::with_capacity(version.captures.len());
        for capture in version.captures {
            let file = capture.file.given_or(file_before.as_ref(), "the first capture's input file")?;
            file_before = Some(file.clone());
            captures.push(CaptureEntry {
                captured_at: capture.captured_at,
                raw: capture.raw,
                raw_len: capture.raw_len,
                raw_at: capture.raw_at,
                origin: Origin { file, record: capture.record },
                ingested_at: capture.ingested_at,
            });
        }
        let entry = VersionEntry {
            hash: version.hash,
            first_captured: version.first_captured,
            title: version.title.given_or(before.map(|v| &v.title), "the first version's title")?,
            published: version
                .published
                .given_or(before.map(|v| &v.published), "the first version's date")?,
            words: version.words,
            meta: version.meta.given_or(before.map(|v| &v.meta), "the first version's page furniture")?,
            link: version.link,
            captures,
        };
        versions.push(entry);
    }
    Ok(ArticleEntry { key: form.key, url, source: form.source, versions })
}

/// The version byte of an `articles` value that holds no article but says where it is
/// in a pack (layout 11): the location at a fixed width follows. An article in a pack
/// is in its compact form ([`encode_article`]); one held in the value itself (layouts
/// 10 and before) is still read.
pub const ARTICLE_IN_PACK: u8 = 3;

const ARTICLE_IN_PACK_LEN: usize = 1 + LOCATION_LEN;

/// An `articles` value as stored: the article itself, or where it is.
#[derive(Debug, PartialEq, Eq)]
pub enum ArticleValue<'a> {
    /// The article, as [`decode_article`] reads it.
    Inline(&'a [u8]),
    /// Where the article is in a pack.
    InPack(Location),
}

/// Encodes where an article is.
pub fn encode_article_at(at: Location) -> Vec<u8> {
    let mut out = Vec::with_capacity(ARTICLE_IN_PACK_LEN);
    out.push(ARTICLE_IN_PACK);
    write_location(&mut out, at);
    out
}

/// Reads an `articles` value: the article, or where it is.
pub fn article_value(bytes: &[u8]) -> Result<ArticleValue<'_>> {
    match bytes.first() {
        Some(&ARTICLE_IN_PACK) => {
            let at: &[u8; LOCATION_LEN] = bytes[1..].try_into().map_err(|_| {
                article_corrupt(format!(
                    "a pack location of {} bytes where it takes {ARTICLE_IN_PACK_LEN}",
                    bytes.len()
                ))
            })?;
            Ok(ArticleValue::InPack(read_location(at)))
        }
        Some(&(VALUE_VERSION | ARTICLE_VERSION)) => Ok(ArticleValue::Inline(bytes)),
        Some(other) => Err(article_corrupt(format!(
            "article format version {other}, this newsvault reads {VALUE_VERSION}, {ARTICLE_VERSION} and {ARTICLE_IN_PACK}"
        ))),
        None => Err(article_corrupt("empty value")),
    }
}

fn article_corrupt(detail: impl std::fmt::Display) -> Error {
    Error::Corrupt { tree: "articles", detail: detail.to_string() }
}

/// An article as stored. The type parameters are references when it is written and
/// owned values when it is read; the two encode alike, so writing clones nothing.
#[derive(Serialize, Deserialize)]
struct ArticleForm<Key, Text, Version> {
    key: Key,
    url: UrlForm<Text>,
    source: Text,
    versions: Vec<Version>,
}

#[derive(Serialize, Deserialize)]
struct VersionForm<Text, Meta, Capture> {
    hash: BodyHash,
    first_captured: i64,
    title: Repeat<Text>,
    published: Repeat<Text>,
    words: u32,
    meta: Repeat<Meta>,
    link: Link,
    captures: Vec<Capture>,
}

#[derive(Serialize, Deserialize)]
struct CaptureForm<File> {
    captured_at: i64,
    raw: RawHash,
    raw_len: u64,
    raw_at: Location,
    file: Repeat<File>,
    record: Option<u64>,
    ingested_at: i64,
}

type StoredArticle =
    ArticleForm<ArticleKey, Option<String>, VersionForm<Option<String>, PageMeta, CaptureForm<String>>>;

#[derive(Serialize, Deserialize)]
enum UrlForm<Text> {
    /// The URL the article's key was made from.
    SameAsKey,
    Given(Text),
}

/// A field left out when it is the same as the one before it: the previous version's,
/// or the previous capture's.
#[derive(Serialize, Deserialize)]
enum Repeat<T> {
    AsBefore,
    Given(T),
}

impl<'a, T: PartialEq> Repeat<&'a T> {
    fn of(value: &'a T, before: Option<&T>) -> Self {
        match before {
            Some(before) if before == value => Repeat::AsBefore,
            _ => Repeat::Given(value),
        }
    }
}

impl<T: Clone> Repeat<T> {
    /// The value, taken from `before` when it was left out; `what` names the first
    /// of its kind, which has nothing before it to repeat (a value marked so is damage).
    fn given_or(self, before: Option<&T>, what: &str) -> Result<T> {
        match self {
            Repeat::Given(value) => Ok(value),
            Repeat::AsBefore => before
                .cloned()
                .ok_or_else(|| article_corrupt(format!("{what} is marked as repeating the one before it"))),
        }
    }
}

/// Decodes a batch's joins (a `Vec<Joins>` as [`encode`] wrote it) onto the end of
/// `into`, without a vector for each join.
pub fn decode_joins_into(tree: &'static str, bytes: &[u8], into: &mut super::FlatJoins) -> Result<()> {
    let payload = versioned_payload(tree, bytes)?;
    let corrupt = |detail: String| Error::Corrupt { tree, detail };
    let ((), used) =
        bincode::serde::seed_decode_from_slice(joins::Batch(into), payload, bincode::config::standard())
            .map_err(|e| corrupt(e.to_string()))?;
    read_whole(tree, payload, used)
}

/// The version byte of a `near` value that holds no content but says where it is in
/// a pack: the location (pack u32, offset u64, length u32, little-endian), then the
/// hash of the stored bytes.
pub const IN_PACK_VERSION: u8 = 3;

const IN_PACK_LEN: usize = 1 + LOCATION_LEN + 32;

/// Bytes of a location at a fixed width: pack u32, offset u64, length u32, little-endian.
const LOCATION_LEN: usize = 4 + 8 + 4;

fn write_location(out: &mut Vec<u8>, at: Location) {
    out.extend_from_slice(&at.pack.to_le_bytes());
    out.extend_from_slice(&at.offset.to_le_bytes());
    out.extend_from_slice(&at.len.to_le_bytes());
}

fn read_location(bytes: &[u8; LOCATION_LEN]) -> Location {
    let (pack, rest) = bytes.split_first_chunk::<4>().expect("16 bytes hold 4");
    let (offset, len) = rest.split_first_chunk::<8>().expect("12 bytes hold 8");
    Location {
        pack: u32::from_le_bytes(*pack),
        offset: u64::from_le_bytes(*offset),
        len: u32::from_le_bytes(len.try_into().expect("four bytes are left of 16")),
    }
}

/// A `near` value as stored: its content itself (layouts 6 and 7), or where that is.
#[derive(Debug, PartialEq, Eq)]
pub enum NearValue<'a> {
    /// The content, as [`decode_segment`] and [`decode_joins_into`] read it.
    Inline(&'a [u8]),
    /// Where the content is, and the hash of its stored bytes.
    InPack(Location, [u8; 32]),
}

/// Encodes where a `near` value's content is.
pub fn encode_in_pack(at: Location, hash: &[u8; 32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(IN_PACK_LEN);
    out.push(IN_PACK_VERSION);
    write_location(&mut out, at);
    out.extend_from_slice(hash);
    out
}

/// Reads a `near` value: its content, or where that is.
pub fn near_value<'a>(tree: &'static str, bytes: &'a [u8]) -> Result<NearValue<'a>> {
    match bytes.first() {
        Some(&IN_PACK_VERSION) if bytes.len() == IN_PACK_LEN => {
            let at = bytes[1..1 + LOCATION_LEN].try_into().expect("16 bytes, by the value's length");
            Ok(NearValue::InPack(
                read_location(at),
                bytes[1 + LOCATION_LEN..].try_into().expect("32 bytes, by the value's length"),
            ))
        }
        Some(&IN_PACK_VERSION) => Err(Error::Corrupt {
            tree,
            detail: format!("a pack location of {} bytes where it takes {IN_PACK_LEN}", bytes.len()),
        }),
        _ => Ok(NearValue::Inline(bytes)),
    }
}

/// The version byte of an index segment in its fixed layout ([`encode_segment`]).
/// Segments written before it are still read: version [`SEGMENT_WITHOUT_PLACES`] (the
/// same without where each body is) and version [`VALUE_VERSION`] (64-bit band keys in
/// bincode). Not 3, which opens a pointer into a pack ([`IN_PACK_VERSION`]), so that a
/// segment is never taken for one where older layouts held it in sled's value.
pub const SEGMENT_VERSION: u8 = 4;

/// The version byte of a fixed-layout segment that does not say where its bodies are.
pub const SEGMENT_WITHOUT_PLACES: u8 = 2;

/// Bytes of one body in a segment without places: its hash, then its band keys,
/// little-endian.
const SEGMENT_ENTRY_WITHOUT_PLACE: usize = 32 + 4 * BANDS;

/// Bytes of one body in a segment: as above, then where the body is in a pack
/// ([`LOCATION_LEN`]; all ones for "not said").
const SEGMENT_ENTRY: usize = SEGMENT_ENTRY_WITHOUT_PLACE + LOCATION_LEN;

/// A body's entry in an index segment: its hash, its band keys, and where it is in a
/// pack, when the segment says (an ingest reads the bodies it verifies candidates on
/// from there without asking sled).
pub type SegmentEntry = (BodyHash, BandKeys, Option<Location>);

/// Encodes an index segment: the version byte, then each body's hash, band keys and
/// place at a fixed width. Random keys take their whole width anyway, and bincode's
/// variable integers spend five bytes on most 32-bit ones.
pub fn encode_segment(entries: &[SegmentEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + entries.len() * SEGMENT_ENTRY);
    out.push(SEGMENT_VERSION);
    for (hash, keys, at) in entries {
        out.extend_from_slice(&hash.0);
        for key in keys {
            out.extend_from_slice(&key.to_le_bytes());
        }
        write_location(&mut out, at.unwrap_or(Location { pack: u32::MAX, offset: u64::MAX, len: u32::MAX }));
    }
    out
}

/// Decodes an index segment of any version: 64-bit keys of the oldest are narrowed as
/// [`minhash::band_keys`] narrows them now.
pub fn decode_segment(tree: &'static str, bytes: &[u8]) -> Result<Vec<SegmentEntry>> {
    let corrupt = |detail: String| Error::Corrupt { tree, detail };
    let fixed = |payload: &[u8], width: usize| {
        if !payload.len().is_multiple_of(width) {
            return Err(corrupt(format!(
                "an index segment of {} bytes is not whole entries of {width}",
                payload.len()
            )));
        }
        Ok(payload.chunks_exact(width).map(segment_entry).collect())
    };
    match bytes.split_first() {
        Some((&SEGMENT_VERSION, payload)) => fixed(payload, SEGMENT_ENTRY),
        Some((&SEGMENT_WITHOUT_PLACES, payload)) => fixed(payload, SEGMENT_ENTRY_WITHOUT_PLACE),
        Some((&VALUE_VERSION, _)) => {
            let wide: Vec<(BodyHash, [u64; BANDS])> = decode(tree, bytes)?;
            Ok(wide.into_iter().map(|(hash, keys)| (hash, keys.map(minhash::narrow), None)).collect())
        }
        Some((other, _)) => Err(corrupt(format!(
            "index segment format version {other}, this newsvault reads {VALUE_VERSION}, {SEGMENT_WITHOUT_PLACES} and {SEGMENT_VERSION}"
        ))),
        None => Err(corrupt("empty value".into())),
    }
}

/// One entry of a fixed-layout segment, with or without its place (by its length).
fn segment_entry(entry: &[u8]) -> SegmentEntry {
    let (hash, rest) = entry.split_at(32);
    let hash = BodyHash(hash.try_into().expect("an entry opens with 32 bytes of hash, by its length"));
    let keys = std::array::from_fn(|band| {
        let at = band * 4;
        u32::from_le_bytes(rest[at..at + 4].try_into().expect("four bytes per key, by the entry's length"))
    });
    let at = rest[4 * BANDS..].try_into().ok().map(read_location).filter(|at| at.pack != u32::MAX);
    (hash, keys, at)
}

/// serde visitors that read a batch of joins, `[(body, [member, ...]), ...]`, straight
/// into [`super::FlatJoins`].
mod joins {
    use serde::de::{DeserializeSeed, Deserializer, Error as _, SeqAccess, Visitor};

    use super::super::FlatJoins;
    use crate::id::BodyHash;

    /// The batch: a sequence of joins.
    pub struct Batch<'a>(pub &'a mut FlatJoins);
    /// One join: a tuple of a body and its members.
    struct Join<'a>(&'a mut FlatJoins);
    /// A join's members: a sequence of hashes.
    struct Members<'a>(&'a mut FlatJoins);

    impl<'de> DeserializeSeed<'de> for Batch<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Batch<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence of joins")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Join(&mut *self.0))?.is_some() {}
            Ok(())
        }
    }

    impl<'de> DeserializeSeed<'de> for Join<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_tuple(2, self)
        }
    }

    impl<'de> Visitor<'de> for Join<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a body and its members")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let body: BodyHash = seq.next_element()?.ok_or_else(|| A::Error::invalid_length(0, &self))?;
            self.0.start_join(body);
            seq.next_element_seed(Members(&mut *self.0))?
                .ok_or_else(|| A::Error::invalid_length(1, &"a join"))
        }
    }

    impl<'de> DeserializeSeed<'de> for Members<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Members<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a sequence of body hashes")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(member) = seq.next_element()? {
                self.0.push_member(member);
            }
            Ok(())
        }
    }
}

/// Whether a decoder used the whole payload: bytes past a value are damage.
fn read_whole(tree: &'static str, payload: &[u8], used: usize) -> Result<()> {
    match payload.len() - used {
        0 => Ok(()),
        trailing => Err(Error::Corrupt { tree, detail: format!("{trailing} trailing bytes") }),
    }
}

fn versioned_payload<'a>(tree: &'static str, bytes: &'a [u8]) -> Result<&'a [u8]> {
    match bytes.split_first() {
        Some((&VALUE_VERSION, payload)) => Ok(payload),
        Some((other, _)) => Err(Error::Corrupt {
            tree,
            detail: format!("value format version {other}, this newsvault reads {VALUE_VERSION}"),
        }),
        None => Err(Error::Corrupt { tree, detail: "empty value".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scraper's JSON record of our own words, its text with line breaks and quotes.
    fn json_record(text: &str) -> (String, String) {
        let record = serde_json::json!({
            "url": "https://example.org/harbour-report",
            "captured_at": "2031-05-02T06:00:00Z",
            "text": text,
            "outlet": "example.org",
        });
        (record.to_string(), crate::normalize::normalize(text))
    }

    /// Forty paragraphs of made-up words, one quoted in each: nothing in it repeats.
    fn harbour_text() -> String {
        let mut state = 7u64;
        let mut word = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            format!("{:x}", state >> 44)
        };
        (0..40)
            .map(|_| {
                let words: Vec<String> = (0..12).map(|_| word()).collect();
                format!("{} \"{}\" {}.", words[..6].join(" "), word(), words[6..].join(" "))
            })
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    #[test]
    fn a_json_raw_is_compressed_against_its_body_as_a_json_string_and_reads_back() {
        let (raw, body) = json_record(&harbour_text());
        let stored = encode_raw(raw.as_bytes(), &body);
        assert_eq!(stored[0], RAW_AGAINST_JSON_TEXT);
        assert_eq!(decode_raw(&stored, &body).unwrap(), raw.as_bytes());
        let as_layout_11 = encode_blob_against(raw.as_bytes(), body.as_bytes());
        assert!(stored.len() < as_layout_11.len(), "{} against {}", stored.len(), as_layout_11.len());
        // Raws stored by layout 11 read back as they are.
        assert_eq!(decode_raw(&as_layout_11, &body).unwrap(), raw.as_bytes());
    }

    #[test]
    fn a_raw_that_is_not_json_is_compressed_against_its_body_as_it_is() {
        let body = harbour_text().replace('"', "");
        let page = format!("<html><body><p>{}</p></body></html>", body.replace("\n\n", "</p><p>"));
        let stored = encode_raw(page.as_bytes(), &body);
        assert_eq!(stored[0], VALUE_VERSION);
        assert_eq!(decode_raw(&stored, &body).unwrap(), page.as_bytes());
    }

    proptest::proptest! {
        /// The escaping raws are compressed against is JSON's, as serde_json writes it.
        #[test]
        fn a_text_as_a_json_string_is_what_serde_json_writes(chars in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::arbitrary::any::<char>(),
                proptest::strategy::Strategy::prop_map(0u8..0x20, char::from),
                proptest::sample::select(vec!['"', '\\', '\u{7f}']),
            ],
            0..64,
        )) {
            let text: String = chars.into_iter().collect();
            let quoted = serde_json::to_string(&text).unwrap();
            let written = json_string_contents(&text);
            proptest::prop_assert_eq!(written.as_slice(), &quoted.as_bytes()[1..quoted.len() - 1]);
        }
    }

    #[test]
    fn segments_round_trip_and_older_ones_read_with_narrowed_keys() {
        let entries: Vec<SegmentEntry> = (0..3u8)
            .map(|n| {
                let at = (n != 1).then_some(Location { pack: n.into(), offset: 1 << 33, len: 70_000 });
                (
                    BodyHash([n; 32]),
                    std::array::from_fn(|band| (u32::from(n) << 24) | (band as u32 * 977)),
                    at,
                )
            })
            .collect();
        let bytes = encode_segment(&entries);
        assert_eq!(bytes.len(), 1 + 3 * SEGMENT_ENTRY);
        assert_eq!(decode_segment("near", &bytes).unwrap(), entries);
        assert_eq!(decode_segment("near", &encode_segment(&[])).unwrap(), Vec::new());
        let unplaced: Vec<SegmentEntry> =
            entries.iter().map(|(hash, keys, _)| (*hash, *keys, None)).collect();
        let mut without_places = vec![SEGMENT_WITHOUT_PLACES];
        for (hash, keys, _) in &entries {
            without_places.extend_from_slice(&hash.0);
            keys.iter().for_each(|key| without_places.extend_from_slice(&key.to_le_bytes()));
        }
        assert_eq!(decode_segment("near", &without_places).unwrap(), unplaced);
        let wide: Vec<(BodyHash, [u64; BANDS])> = entries
            .iter()
            .map(|(hash, keys, _)| (*hash, keys.map(|k| u64::from(k) | 0xABCD_0000_0000_0000)))
            .collect();
        assert_eq!(decode_segment("near", &encode(&wide)).unwrap(), unplaced);
    }

    #[test]
    fn near_values_say_where_their_content_is_or_hold_it() {
        let at = Location { pack: 3, offset: 1 << 33, len: 70_000 };
        let value = encode_in_pack(at, &[5; 32]);
        assert_eq!(near_value("near", &value).unwrap(), NearValue::InPack(at, [5; 32]));
        let inline = encode(&vec![(BodyHash([1; 32]), vec![BodyHash([2; 32])])]);
        assert_eq!(near_value("near", &inline).unwrap(), NearValue::Inline(&inline));
        let cut = near_value("near", &value[..value.len() - 1]).unwrap_err().to_string();
        assert!(cut.contains("a pack location of 48 bytes"), "{cut}");
    }

    #[test]
    fn cut_or_unknown_segments_are_errors() {
        let bytes = encode_segment(&[(BodyHash([9; 32]), [1; BANDS], None)]);
        let cut = decode_segment("near", &bytes[..bytes.len() - 1]).unwrap_err().to_string();
        assert!(cut.contains("not whole entries"), "{cut}");
        let mut other = bytes.clone();
        other[0] = 9;
        let unknown = decode_segment("near", &other).unwrap_err().to_string();
        assert!(unknown.contains("format version 9"), "{unknown}");
        assert!(decode_segment("near", &[]).is_err());
    }

    #[test]
    fn values_round_trip() {
        let value = (String::from("title"), Some(7u64), vec![1u8, 2]);
        let bytes = encode(&value);
        assert_eq!(bytes[0], VALUE_VERSION);
        assert_eq!(decode::<(String, Option<u64>, Vec<u8>)>("t", &bytes).unwrap(), value);
    }

    /// An article whose URL is its key's, or another, or none, and whose versions'
    /// titles repeat or change, from the seeds.
    fn article_of(url: u8, titles: &[u8]) -> ArticleEntry {
        use crate::id::RawHash;
        use crate::record::Origin;
        let key_url = "https://news.example/a/1".to_string();
        let (key, url) = match url % 4 {
            0 => (ArticleKey::Url(key_url.clone()), Some(key_url)),
            1 => (ArticleKey::Url(key_url.clone()), Some(format!("{key_url}#comments"))),
            2 => (ArticleKey::Url(key_url), None),
            _ => (
                ArticleKey::Key {
                    source: "paper".into(),
                    title: "storm".into(),
                    published: "2026-11-30".into(),
                },
                None,
            ),
        };
        let versions = titles
            .iter()
            .enumerate()
            .map(|(at, &title)| VersionEntry {
                hash: BodyHash::of(&format!("text {at}")),
                first_captured: 1_700_000_000 + at as i64,
                title: (title % 3 != 0).then(|| format!("Storm {}", title % 3)),
                published: (title % 2 == 0).then(|| "2026-11-30".into()),
                words: 120,
                meta: PageMeta { attribution: (title < 3).then(|| "Reuters".into()), ..PageMeta::default() },
                link: Link::Url,
                // None, one or two captures, their files alike or not.
                captures: (0..(usize::from(title) + 1) % 3)
                    .map(|n| CaptureEntry {
                        captured_at: 1_700_000_000 + at as i64,
                        raw: RawHash::of(format!("raw {at} {n}").as_bytes()),
                        raw_len: 2_000,
                        raw_at: super::super::pack::Location { pack: 0, offset: 64 * at as u64, len: 300 },
                        origin: Origin {
                            file: format!("scrape-{}.jsonl", (usize::from(title) + n) % 2),
                            record: Some(at as u64 + 1),
                        },
                        ingested_at: 1_800_000_000,
                    })
                    .collect(),
            })
            .collect();
        ArticleEntry { key, url, source: Some("paper".into()), versions }
    }

    proptest::proptest! {
        #[test]
        fn articles_read_back_as_written_in_either_form(url in 0u8..4, titles in proptest::collection::vec(0u8..6, 0..6)) {
            let article = article_of(url, &titles);
            let compact = encode_article(&article);
            proptest::prop_assert_eq!(decode_article(&compact).unwrap(), article.clone());
            // The whole form written before the compact one is read as it was.
            let whole = encode(&article);
            proptest::prop_assert_eq!(decode_article(&whole).unwrap(), article);
            // At worst one tag byte more than the whole form for the URL, and for each
            // version one for each of its title, date and furniture and its (at most
            // two) captures' files.
            proptest::prop_assert!(compact.len() <= whole.len() + 1 + 5 * titles.len());
        }
    }

    #[test]
    fn an_article_leaves_out_its_key_url_and_what_repeats() {
        let mut article = article_of(4, &[4, 4, 4]);
        for capture in article.versions.iter_mut().flat_map(|v| v.captures.iter_mut()) {
            capture.origin.file = "scrape.jsonl".into();
        }
        let saved = encode(&article).len() - encode_article(&article).len();
        let url = article.url.as_deref().unwrap_or_default().len();
        let first = &article.versions[0];
        let title = first.title.as_deref().unwrap_or_default().len();
        let published = first.published.as_deref().unwrap_or_default().len();
        let attribution = first.meta.attribution.as_deref().unwrap_or_default().len();
        let file = first.captures[0].origin.file.len();
        // Three versions of two captures each: two of each version's fields repeat, and
        // five of the six captures' files.
        assert!(saved >= url + 2 * (title + published + attribution) + 5 * file, "saved {saved} bytes");
        let mut damaged = encode_article(&article_of(3, &[1]));
        damaged.truncate(damaged.len() - 1);
        assert!(decode_article(&damaged).is_err());
    }

    #[test]
    fn joins_read_flat_as_they_were_written_batch_after_batch() {
        let hash = |n: u8| BodyHash([n; 32]);
        let first: Vec<super::super::Joins> =
            vec![(hash(3), vec![hash(1)]), (hash(4), vec![hash(1), hash(2)])];
        let second: Vec<super::super::Joins> = vec![(hash(9), vec![]), (hash(7), vec![hash(4)])];
        let mut flat = super::super::FlatJoins::default();
        decode_joins_into("near", &encode(&first), &mut flat).unwrap();
        decode_joins_into("near", &encode(&Vec::<super::super::Joins>::new()), &mut flat).unwrap();
        decode_joins_into("near", &encode(&second), &mut flat).unwrap();
        let read: Vec<(BodyHash, Vec<BodyHash>)> =
            flat.iter().map(|(body, others)| (*body, others.to_vec())).collect();
        assert_eq!(read, [first.clone(), second.clone()].concat());
        assert_eq!(flat.len(), 4);
        let mut cut = encode(&second);
        cut.truncate(cut.len() - 5);
        assert!(decode_joins_into("near", &cut, &mut flat).is_err());
        let mut longer = encode(&second);
        longer.push(0);
        assert!(decode_joins_into("near", &longer, &mut super::super::FlatJoins::default()).is_err());
    }

    #[test]
    fn blobs_round_trip_and_shrink() {
        let text = "ett ord ".repeat(500);
        let blob = encode_blob(text.as_bytes());
        assert!(blob.len() < text.len() / 4);
        assert_eq!(decode_blob("t", &blob).unwrap(), text.as_bytes());
    }

    #[test]
    fn blobs_against_a_reference_round_trip_and_store_the_shared_text_once() {
        // Words no compressor can predict, as a real article's are to a first approximation.
        let mut state = 7u64;
        let body: String = (0..400)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                format!("{:x} ", state >> 40)
            })
            .collect();
        let raw = format!("{{\"title\": \"Väder\", \"text\": \"{body}\", \"id\": 7}}");
        let alone = encode_blob(raw.as_bytes());
        let against = encode_blob_against(raw.as_bytes(), body.as_bytes());
        assert!(against.len() < alone.len() / 2, "{} vs {}", against.len(), alone.len());
        assert_eq!(decode_blob_against("t", &against, body.as_bytes()).unwrap(), raw.as_bytes());
        let wrong = decode_blob_against("t", &against, b"another text");
        assert!(wrong.map_or(true, |bytes| bytes != raw.as_bytes()));
        // The plain compressor is not left holding the reference.
        assert_eq!(decode_blob("t", &encode_blob(raw.as_bytes())).unwrap(), raw.as_bytes());
    }

    #[test]
    fn each_blob_is_compressed_against_its_own_reference_only() {
        let words = |seed: u64| -> String {
            let mut state = seed;
            (0..300)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    format!("{:x} ", state >> 40)
                })
                .collect()
        };
        let (first, second) = (words(1), words(2));
        let first_raw = format!("<p>{first}</p>");
        let second_raw = format!("<p>{second}</p>");
        let first_blob = encode_blob_against(first_raw.as_bytes(), first.as_bytes());
        let second_blob = encode_blob_against(second_raw.as_bytes(), second.as_bytes());
        // The second frame was not made against what is left of the first reference:
        // it reads back with its own, and is as small as the first.
        assert_eq!(decode_blob_against("t", &second_blob, second.as_bytes()).unwrap(), second_raw.as_bytes());
        assert_eq!(decode_blob_against("t", &first_blob, first.as_bytes()).unwrap(), first_raw.as_bytes());
        assert!(second_blob.len() < first_raw.len() / 4, "{} of {}", second_blob.len(), first_raw.len());
        // A raw with no reference to share compresses as a frame of its own.
        let unrelated = words(3);
        let blob = encode_blob_against(unrelated.as_bytes(), b"");
        assert_eq!(decode_blob_against("t", &blob, b"").unwrap(), unrelated.as_bytes());
    }

    #[test]
    fn bodies_against_a_base_round_trip_name_their_base_and_shrink() {
        let base_text = (0..300).map(|i| format!("ord{} ", i * 7919 % 1000)).collect::<String>();
        let revised = base_text.replacen("ord7 ", "nytt ", 1);
        let base = BodyHash::of(&base_text);
        let whole = encode_blob(revised.as_bytes());
        let against = encode_body_against(revised.as_bytes(), &base, base_text.as_bytes());
        assert!(against.len() < whole.len() / 4, "{} vs {}", against.len(), whole.len());
        assert_eq!(body_base(&against).unwrap(), Some(base));
        assert_eq!(body_base(&whole).unwrap(), None);
        assert_eq!(decode_body(&against, Some(base_text.as_bytes())).unwrap(), revised.as_bytes());
        assert_eq!(decode_body(&whole, None).unwrap(), revised.as_bytes());
        assert!(decode_body(&against, None).is_err());
        assert!(body_base(&against[..20]).is_err());
    }

    #[test]
    fn other_versions_and_damage_are_errors() {
        let mut bytes = encode(&1u32);
        bytes[0] = 9;
        assert!(decode::<u32>("t", &bytes).unwrap_err().to_string().contains("version 9"));
        assert!(decode_blob("t", &[VALUE_VERSION, 1, 2, 3]).is_err());
        assert!(decode::<u32>("t", &[]).is_err());
    }
}
