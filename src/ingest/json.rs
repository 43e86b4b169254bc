//! JSON and JSON Lines records from scrapers, mapped to [`Record`]s by their field
//! names. Owns the mapping of the shapes in use: the newsdiffs export (`text` holds
//! header lines, a blank line, then the body; `url`, `captured_at`, `outlet`),
//! news-please (`title`, `maintext`/`text`, `url`, `date_publish`, `source_domain`),
//! trafilatura's `--json` (`title`, `text`, `source`/`url`, `date`, `hostname`), a
//! plain `{url, title, body|text, published, source}`, and block-based CMS JSON (TRT
//! World's among them): the article in an object under `content` (or `article`,
//! `data`, `post`, `story`) when the top level has no body, its body a list of blocks
//! whose HTML or text is under `value`, `text` or `html`. Never guesses a body from an
//! unknown field: an unknown shape is an error that lists the fields found.

use std::io::BufRead;

use serde_json::{Map, Value};

use super::stream::{self, Line, MAX_RECORD_BYTES};
use super::{Rejection, Unit};
use crate::dates;
use crate::record::{Origin, PageMeta, Record};

/// Field names read as the body, in order of preference.
const BODY_FIELDS: &[&str] =
    &["body", "text", "maintext", "raw_text", "content", "articleBody", "article_body"];
const TITLE_FIELDS: &[&str] = &["title", "headline"];
const URL_FIELDS: &[&str] = &["url", "canonical_url", "source_url", "link", "uri"];
const PUBLISHED_FIELDS: &[&str] =
    &["published", "date_publish", "datePublished", "published_at", "publish_date", "pubdate", "date"];
const SOURCE_FIELDS: &[&str] = &[
    "source",
    "source_domain",
    "outlet",
    "hostname",
    "source-hostname",
    "sitename",
    "site_name",
    "domain",
    "site",
];
/// Where a CMS's JSON nests the article when its top level holds none.
const ARTICLE_FIELDS: &[&str] = &["content", "article", "data", "post", "story"];
/// Where a block of a body given as blocks holds its text or HTML.
const BLOCK_TEXT_FIELDS: &[&str] = &["value", "text", "html"];
const CAPTURED_FIELDS: &[&str] = &[
    "captured_at",
    "date_download",
    "fetched_at",
    "crawled_at",
    "scraped_at",
    "retrieved_at",
    "downloaded_at",
];
const BYLINE_FIELDS: &[&str] = &["byline", "author", "authors"];
const STANDFIRST_FIELDS: &[&str] = &["standfirst", "description", "excerpt", "summary", "dek"];

/// Splits JSON Lines into one unit per non-blank line.
pub fn split_lines(file: &str, bytes: &[u8]) -> Vec<Result<Unit, Rejection>> {
    LineUnits::new(file, bytes).collect()
}

/// JSON Lines read as a stream: one unit per non-blank line, numbered from one. A line
/// longer than [`MAX_RECORD_BYTES`] is rejected (and never held); a read error ends
/// the file with a rejection at the line it happened.
pub struct LineUnits<R> {
    reader: R,
    file: String,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> LineUnits<R> {
    /// Reads `reader`, naming units after `file`.
    pub fn new(file: &str, reader: R) -> Self {
        LineUnits { reader, file: file.to_string(), line: 0, buf: Vec::new(), done: false }
    }
}

impl<R: BufRead> Iterator for LineUnits<R> {
    type Item = Result<Unit, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.line += 1;
            let origin = || Origin { file: self.file.clone(), record: Some(self.line) };
            match stream::read_line(&mut self.reader, &mut self.buf, MAX_RECORD_BYTES) {
                Ok(Line::End) => self.done = true,
                Ok(Line::TooLong(length)) => {
                    return Some(Err(Rejection::new(
                        origin(),
                        format!(
                            "line of {} MiB is longer than the {} MiB a record may have",
                            length >> 20,
                            MAX_RECORD_BYTES >> 20
                        ),
                    )));
                }
                Ok(Line::Read) if self.buf.iter().all(u8::is_ascii_whitespace) => {}
                Ok(Line::Read) => {
                    let line = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
                    return Some(Ok(Unit { origin: origin(), raw: line.to_vec(), ..Unit::default() }));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(Rejection::new(origin(), format!("cannot read on: {e}"))));
                }
            }
        }
        None
    }
}

/// Splits a JSON document: one record, or an array of records (one unit each).
pub fn split_document(file: &str, bytes: &[u8]) -> Vec<Result<Unit, Rejection>> {
    let whole = Origin { file: file.to_string(), record: None };
    let text = match super::decode_text(bytes) {
        Ok(text) => text,
        Err(reason) => return vec![Err(Rejection::new(whole, reason))],
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                Ok(Unit {
                    origin: Origin { file: file.to_string(), record: Some(i as u64 + 1) },
                    raw: serde_json::to_vec(&item)
                        .expect("a parsed JSON value serialises because it came from JSON"),
                    ..Unit::default()
                })
            })
            .collect(),
        Ok(_) => vec![Ok(Unit { origin: whole, raw: bytes.to_vec(), ..Unit::default() })],
        Err(e) => vec![Err(Rejection::new(whole, format!("invalid JSON: {e}")))],
    }
}

/// Maps one JSON record to a record.
pub fn parse_record(text: &str) -> Result<Record, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err(format!("expected a JSON object, found {}", kind_of(&value)));
    };
    if fields.contains_key("article_id") && fields.contains_key("outlet") {
        return map_newsdiffs(&fields);
    }
    if let Some(body) = body_of(&fields)? {
        return map_generic(&fields, body);
    }
    let (article, body) = nested_article(&fields)?.ok_or_else(|| missing_body(&fields))?;
    // What a nested article does not say (often its URL, its capture time) the record
    // around it may; what it does say comes from it, whatever the name it uses.
    let mut record = map_generic(article, body)?;
    let around = map_generic(&fields, String::new())?;
    record.url = record.url.or(around.url);
    record.title = record.title.or(around.title);
    record.published = record.published.or(around.published);
    record.captured_at = record.captured_at.or(around.captured_at);
    record.source = record.source.or(around.source);
    Ok(record)
}

/// A JSON object: a record, or an article nested in one.
type Object = Map<String, Value>;

/// For a record without a body of its own: the first object nested under one of
/// [`ARTICLE_FIELDS`] that has one, with its body.
fn nested_article(fields: &Object) -> Result<Option<(&Object, String)>, String> {
    for nested in ARTICLE_FIELDS.iter().filter_map(|name| fields.get(*name)?.as_object()) {
        if let Some(body) = body_of(nested)? {
            return Ok(Some((nested, body)));
        }
    }
    Ok(None)
}

/// The body: the first of [`BODY_FIELDS`] present as text, or as a list of blocks (a
/// paragraph each).
fn body_of(fields: &Map<String, Value>) -> Result<Option<String>, String> {
    let mut empty = None;
    for name in BODY_FIELDS {
        match fields.get(*name) {
            // An empty field gives way to a later one that holds the body; with none,
            // the body is empty (a page a scraper got nothing from), not missing.
            Some(Value::String(text)) if text.trim().is_empty() => empty = empty.or(Some(String::new())),
            Some(Value::String(text)) => return Ok(Some(text.clone())),
            Some(Value::Array(blocks)) => {
                if let Some(body) = block_body(blocks)? {
                    return Ok(Some(body));
                }
            }
            _ => {}
        }
    }
    Ok(empty)
}

/// A body given as a list of blocks, as block-based CMSs write it: each block a string
/// or an object holding its text or HTML under one of [`BLOCK_TEXT_FIELDS`]. A block
/// under `html`, or one with HTML's own tags or character references in it, is read as
/// an HTML fragment, a paragraph per paragraph element; any other is text (a `<` in it
/// is a character: "Apple <AAPL.O>"). Blocks without text (an embedded video, a
/// related story) are left out.
fn block_body(blocks: &[Value]) -> Result<Option<String>, String> {
    let mut paragraphs = Vec::new();
    for block in blocks {
        let (text, field) = match block {
            Value::String(text) => (text.as_str(), None),
            Value::Object(block) => {
                let Some((text, field)) = BLOCK_TEXT_FIELDS
                    .iter()
                    .find_map(|name| Some((block.get(*name)?.as_str()?, Some(*name))))
                else {
                    continue;
                };
                (text, field)
            }
            _ => continue,
        };
        let text = text.trim();
        let paragraph = if field == Some("html") || super::html::has_markup(text) {
            super::html::fragment_text(text)?
        } else {
            text.to_string()
        };
        if !paragraph.is_empty() {
            paragraphs.push(paragraph);
        }
    }
    Ok((!paragraphs.is_empty()).then(|| paragraphs.join("\n\n")))
}

/// The publication date: the first of [`PUBLISHED_FIELDS`] as text, or as an object
/// holding it under `date` (`"published": {"date": "2024-04-17T11:19:59Z"}`).
fn published_of(fields: &Map<String, Value>) -> Option<String> {
    let text = string_field(fields, PUBLISHED_FIELDS).or_else(|| {
        PUBLISHED_FIELDS.iter().find_map(|name| fields.get(*name)?.get("date")?.as_str().map(str::to_string))
    })?;
    dates::normalize_published(&text)
}

/// The newsdiffs export: the header lines before the first blank line hold a date,
/// the title and a byline, in an order that varies by outlet.
fn map_newsdiffs(fields: &Map<String, Value>) -> Result<Record, String> {
    let text = string_field(fields, &["text"]).ok_or_else(|| missing_body(fields))?;
    let (head, body) = text.split_once("\n\n").unwrap_or((text.as_str(), ""));
    let mut date = None;
    let mut others: Vec<&str> = Vec::new();
    for line in head.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if date.is_none() && is_date_line(line) {
            date = Some(line);
        } else {
            others.push(line);
        }
    }
    // The headline is the longest remaining line; a shorter one is the byline.
    let title_at = (0..others.len()).max_by_key(|&i| (others[i].chars().count(), std::cmp::Reverse(i)));
    let title = title_at.map(|i| others[i].to_string());
    let byline = others.iter().enumerate().find(|(i, _)| Some(*i) != title_at).map(|(_, l)| l.to_string());
    Ok(Record {
        url: string_field(fields, &["url"]),
        title,
        published: date.and_then(dates::parse_date).map(|d| d.to_string()),
        captured_at: string_field(fields, &["captured_at"]).as_deref().and_then(dates::parse_timestamp),
        source: string_field(fields, &["outlet"]),
        body: body.to_string(),
        meta: PageMeta { byline, ..PageMeta::default() },
        ..Record::default()
    })
}

fn is_date_line(line: &str) -> bool {
    line.starts_with("Publicerad") || line.starts_with("Uppdaterad") || dates::parse_date(line).is_some()
}

fn map_generic(fields: &Map<String, Value>, body: String) -> Result<Record, String> {
    // trafilatura puts the URL in `source`; others put the outlet there.
    let source_field = string_field(fields, &["source"]);
    let source_is_url = source_field.as_deref().is_some_and(|s| s.contains("://"));
    let url = string_field(fields, URL_FIELDS).or_else(|| source_field.clone().filter(|_| source_is_url));
    let source = if source_is_url {
        string_field(fields, &SOURCE_FIELDS[1..])
    } else {
        string_field(fields, SOURCE_FIELDS)
    };
    Ok(Record {
        url,
        title: string_field(fields, TITLE_FIELDS),
        published: published_of(fields),
        captured_at: string_field(fields, CAPTURED_FIELDS).as_deref().and_then(dates::parse_timestamp),
        source,
        body,
        meta: PageMeta {
            byline: string_field(fields, BYLINE_FIELDS),
            standfirst: string_field(fields, STANDFIRST_FIELDS),
            attribution: string_field(fields, &["attribution", "credit", "agency"]),
            section: string_field(fields, &["section", "category", "categories"]),
            ..PageMeta::default()
        },
        ..Record::default()
    })
}

/// The first of `names` present as text (an array of strings is joined with ", ";
/// a number is written out).
fn string_field(fields: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| match fields.get(*name)? {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn missing_body(fields: &Map<String, Value>) -> String {
    let mut found: Vec<String> = fields
        .iter()
        .map(|(name, value)| match value {
            Value::String(_) => name.clone(),
            // A field that is not text is named with what it is, so that a body field
            // holding an object does not seem to be missing from the record.
            other => format!("{name} ({})", kind_of(other)),
        })
        .collect();
    found.truncate(20);
    format!(
        "no article text: expected one of {} as text or a list of text blocks; found {}",
        BODY_FIELDS.join(", "),
        if found.is_empty() { "no fields".to_string() } else { found.join(", ") }
    )
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newsdiffs_header_gives_date_title_and_byline() {
        let line = r#"{"article_id": "a/b", "url": "https://n.se/a", "outlet": "n.se", "captured_at": "2017-08-19T05:00:05Z",
            "text": "lördag 19 augusti 2017\nEn lång rubrik om en händelse\nAv Kim\n\nFörsta stycket.\n\nAndra."}"#;
        let r = parse_record(line).unwrap();
        assert_eq!(r.title.as_deref(), Some("En lång rubrik om en händelse"));
        assert_eq!(r.meta.byline.as_deref(), Some("Av Kim"));
        assert_eq!(r.published.as_deref(), Some("2017-08-19"));
        assert_eq!(r.source.as_deref(), Some("n.se"));
        assert_eq!(r.body, "Första stycket.\n\nAndra.");
        assert_eq!(r.captured_at.map(|t| t.as_second()), Some(1503118805));
    }

    #[test]
    fn a_cms_article_nested_with_a_body_of_blocks_maps() {
        let cms = r#"{"latest": [{"title": "A teaser"}], "content": {
            "title": "Harbour reopens", "description": "Boats return after the storm.", "site": "coastnews",
            "published": {"date": "2024-04-17T11:19:59.677Z"},
            "body": [
                {"blockType": "text", "value": "<p>The harbour opened at dawn &amp; boats left.</p>"},
                {"blockType": "video", "value": "<iframe src=\"https://video.example/1\"></iframe>"},
                {"blockType": "related"},
                "Fishers said the catch was good.",
                {"blockType": "text", "html": "<h2>What next</h2><p>Repairs go on.</p>"}
            ]}}"#;
        let r = parse_record(cms).unwrap();
        assert_eq!(r.title.as_deref(), Some("Harbour reopens"));
        assert_eq!(r.source.as_deref(), Some("coastnews"));
        assert_eq!(r.published.as_deref(), Some("2024-04-17T11:19:59Z"));
        assert_eq!(r.meta.standfirst.as_deref(), Some("Boats return after the storm."));
        assert_eq!(
            r.body,
            "The harbour opened at dawn & boats left.\n\nFishers said the catch was good.\n\nWhat next\n\nRepairs go on."
        );
    }

    #[test]
    fn body_fields_are_taken_in_order_and_a_nested_article_keeps_the_record_around_it() {
        let r = parse_record(r#"{"text": "The whole story.", "content": ["tag-one", "tag-two"]}"#).unwrap();
        assert_eq!(r.body, "The whole story.");
        let r =
            parse_record(r#"{"body": ["Shares of Northwind <NWND.O> rose.", "They fell later."]}"#).unwrap();
        assert_eq!(r.body, "Shares of Northwind <NWND.O> rose.\n\nThey fell later.", "text, not markup");
        let r =
            parse_record(r#"{"body": [{"value": "The harbour <strong>opened</strong> &amp; boats left."}]}"#)
                .unwrap();
        assert_eq!(r.body, "The harbour opened & boats left.", "inline markup");
        let r = parse_record(r#"{"body": "", "content": ["Para one.", "Para two."]}"#).unwrap();
        assert_eq!(r.body, "Para one.\n\nPara two.", "an empty field says nothing");
        let api = r#"{"url": "https://api.example/9", "title": "API response", "source": "api",
            "data": {"canonical_url": "https://coast.example/a", "headline": "Harbour reopens", "site": "coast", "body": "B."}}"#;
        let r = parse_record(api).unwrap();
        assert_eq!(
            (r.url.as_deref(), r.title.as_deref(), r.source.as_deref()),
            (Some("https://coast.example/a"), Some("Harbour reopens"), Some("coast")),
            "the nested article's own fields first"
        );
        let nested = r#"{"url": "https://coast.example/a", "captured_at": "2024-03-01T08:00:00Z",
            "data": {"title": "Harbour reopens", "body": "Boats left at dawn."}}"#;
        let r = parse_record(nested).unwrap();
        assert_eq!(
            (r.url.as_deref(), r.title.as_deref()),
            (Some("https://coast.example/a"), Some("Harbour reopens"))
        );
        assert_eq!(r.captured_at.map(|t| t.as_second()), Some(1_709_280_000));
        let deep = format!(r#"{{"body": [{{"html": "{}text"}}]}}"#, "<blockquote>".repeat(2_000));
        assert!(parse_record(&deep).unwrap_err().contains("nested"));
    }

    #[test]
    fn a_body_field_that_is_not_text_is_named_with_what_it_is() {
        let error = parse_record(r#"{"headline": "H", "content": {"id": 3}}"#).unwrap_err();
        assert!(error.contains("found content (an object), headline"), "{error}");
    }

    #[test]
    fn newsdiffs_header_without_body_is_an_empty_body() {
        let r = parse_record(r#"{"article_id": "a", "outlet": "o", "text": "Rubrik\nNAMN\n"}"#).unwrap();
        assert_eq!(r.title.as_deref(), Some("Rubrik"));
        assert_eq!(r.body, "");
    }

    #[test]
    fn news_please_and_trafilatura_shapes_map() {
        let np = r#"{"title": "T", "maintext": "B", "url": "https://a.com/x", "date_publish": "2020-01-02 03:04:05", "source_domain": "a.com", "authors": ["A", "B"]}"#;
        let r = parse_record(np).unwrap();
        assert_eq!(
            (r.title.as_deref(), r.body.as_str(), r.source.as_deref()),
            (Some("T"), "B", Some("a.com"))
        );
        assert_eq!(r.published.as_deref(), Some("2020-01-02T03:04:05Z"));
        assert_eq!(r.meta.byline.as_deref(), Some("A, B"));
        let tr = r#"{"title": "T", "text": "B", "source": "https://b.org/y", "hostname": "b.org", "date": "2021-05-06"}"#;
        let r = parse_record(tr).unwrap();
        assert_eq!((r.url.as_deref(), r.source.as_deref()), (Some("https://b.org/y"), Some("b.org")));
        assert_eq!(r.published.as_deref(), Some("2021-05-06"));
    }

    #[test]
    fn unknown_shapes_name_the_fields_found() {
        let err = parse_record(r#"{"headline": "x", "words": "y"}"#).unwrap_err();
        assert!(err.contains("found headline, words"), "{err}");
        assert!(parse_record("[1]").unwrap_err().contains("an array"));
        assert!(parse_record("{").unwrap_err().starts_with("invalid JSON"));
    }

    #[test]
    fn lines_are_numbered_from_one_and_blank_lines_skipped() {
        let units = split_lines("f", b"{}\n\n{}\r\n");
        let numbers: Vec<_> = units.iter().map(|u| u.as_ref().unwrap().origin.record).collect();
        assert_eq!(numbers, vec![Some(1), Some(3)]);
        assert_eq!(units[1].as_ref().unwrap().raw, b"{}");
    }
}
