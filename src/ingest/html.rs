//! HTML pages: the article's main text and the page's metadata (title, canonical URL,
//! published date, site name, author, description). Owns the choice of extractor:
//! rs-trafilatura, measured best on the aeb pages (see `tests/html_extraction.rs`), and
//! the guards around it; the pages newsvault's WARC export writes, read back as written
//! without it; and the HTML fragments of block-based CMS JSON. Never normalises the
//! body (that is [`crate::normalize`]'s job) and never lets a hostile page exhaust the
//! stack or the clock.

use crate::dates;
use crate::record::{PageMeta, Record};

/// Pages nested deeper than this are refused: no article needs it (the 181 aeb pages
/// pass), a recursive tree walk over a million nested tags would exhaust the stack, and
/// extraction time grows with the square of the depth (4,990 levels took 2.5 s).
const MAX_DEPTH: usize = 1_000;

/// What marks a page `export --format warc` wrote: such a page is read back as written
/// (a paragraph per `<p>` of its article, its metadata from its head), so an export
/// ingested again gives the same versions. An extractor merged its short paragraphs.
pub const EXPORTED_PAGE_MARK: &str = r#"<meta name="generator" content="newsvault">"#;

/// Parses an HTML page given as bytes (any encoding: a declared charset is honoured,
/// otherwise UTF-8, otherwise windows-1252).
pub fn parse_bytes(bytes: &[u8], url_hint: Option<&str>) -> Result<Record, String> {
    let depth = nesting_depth(bytes);
    if depth > MAX_DEPTH {
        return Err(format!("HTML nested {depth} tags deep (more than {MAX_DEPTH}); not an article page"));
    }
    if let Some(record) = exported_page(bytes, url_hint) {
        return Ok(record);
    }
    let options = rs_trafilatura::Options { url: url_hint.map(str::to_string), ..Default::default() };
    let extracted = rs_trafilatura::extract_bytes_with_options(bytes, &options)
        .map_err(|e| format!("no article text found in the HTML ({e})"))?;
    let body = extracted.content_text.trim().to_string();
    if body.is_empty() {
        return Err("no article text found in the HTML".into());
    }
    let meta = extracted.metadata;
    Ok(Record {
        url: canonical_url(bytes).or_else(|| url_hint.map(str::to_string)),
        title: meta.title.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        published: meta.date.and_then(|d| dates::normalize_published(&d.to_rfc3339())),
        source: meta.sitename.filter(|s| !s.trim().is_empty()),
        body,
        meta: PageMeta {
            byline: meta.author,
            standfirst: meta.description,
            section: meta.categories.first().cloned(),
            ..PageMeta::default()
        },
        ..Record::default()
    })
}

/// A page newsvault exported (see [`EXPORTED_PAGE_MARK`]), read as it was written.
fn exported_page(bytes: &[u8], url_hint: Option<&str>) -> Option<Record> {
    let head = bytes.get(..512).unwrap_or(bytes);
    if !head.windows(EXPORTED_PAGE_MARK.len()).any(|w| w == EXPORTED_PAGE_MARK.as_bytes()) {
        return None;
    }
    let page = dom_query::Document::from(std::str::from_utf8(bytes).ok()?);
    let meta = |property: &str| {
        let found = page.select(&format!(r#"meta[property="{property}"]"#)).attr("content")?;
        Some(found.to_string()).filter(|value| !value.is_empty())
    };
    // Marked but not shaped as ours: the extractor reads it like any other page. An
    // article without paragraphs is ours all the same: an empty body (a failed scrape).
    let article = page.select("body > article");
    if article.is_empty() {
        return None;
    }
    let paragraphs: Vec<String> = article.select("p").iter().map(|p| p.text().to_string()).collect();
    Some(Record {
        url: canonical_url(bytes).or_else(|| url_hint.map(str::to_string)),
        title: Some(page.select("title").text().to_string()).filter(|title| !title.is_empty()),
        published: meta("article:published_time").as_deref().and_then(dates::normalize_published),
        source: meta("og:site_name"),
        body: paragraphs.join("\n"),
        ..Record::default()
    })
}

/// Whether text carries HTML: a tag of an element HTML has (`<p>`, `</strong>`,
/// `<br/>`) or a character reference (`&amp;`, `&#8217;`). A `<` before anything else
/// (a ticker, "<NWND.O>", or "a < b") is a character of the text.
pub fn has_markup(text: &str) -> bool {
    const ELEMENTS: &[&str] = &[
        "p",
        "br",
        "a",
        "b",
        "i",
        "em",
        "strong",
        "span",
        "div",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "figure",
        "figcaption",
        "img",
        "iframe",
        "pre",
        "code",
        "table",
        "tr",
        "td",
        "th",
        "sup",
        "sub",
        "u",
        "s",
        "small",
        "mark",
        "q",
        "cite",
        "hr",
        "section",
        "article",
    ];
    let tag = text.match_indices('<').any(|(at, _)| {
        let rest = text[at + 1..].strip_prefix('/').unwrap_or(&text[at + 1..]);
        let name_len = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        let after = rest[name_len..].chars().next();
        ELEMENTS.iter().any(|e| rest[..name_len].eq_ignore_ascii_case(e))
            && matches!(after, Some('>' | '/' | ' ' | '\t' | '\n'))
    });
    tag || html_escape::decode_html_entities(text) != text
}

/// Elements that make a paragraph of an HTML fragment's text.
const PARAGRAPHS: &[&str] =
    &["p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "figcaption", "td", "th"];

/// The text of an HTML fragment (a block of a CMS's article body, not a whole page):
/// a paragraph per innermost paragraph element, or the whole text if it has none.
/// Markup without text (an embedded player) gives an empty string. A fragment nested
/// deeper than any article is refused, as a page is.
pub fn fragment_text(html: &str) -> Result<String, String> {
    let depth = nesting_depth(html.as_bytes());
    if depth > MAX_DEPTH {
        return Err(format!("HTML block nested {depth} tags deep (more than {MAX_DEPTH})"));
    }
    let fragment = dom_query::Document::fragment(html);
    let mut paragraphs = Vec::new();
    innermost_paragraphs(&fragment.root(), &mut paragraphs);
    Ok(if paragraphs.is_empty() { fragment.text().trim().to_string() } else { paragraphs.join("\n\n") })
}

/// Adds the text of each innermost paragraph element under `node`, in document order,
/// in one walk (depth bounded by the guard above); returns whether `node` holds one.
fn innermost_paragraphs(node: &dom_query::NodeRef, paragraphs: &mut Vec<String>) -> bool {
    let mut holds_one = false;
    for child in node.children_it(false) {
        holds_one |= innermost_paragraphs(&child, paragraphs);
    }
    let is_paragraph =
        node.is_element() && node.node_name().is_some_and(|name| PARAGRAPHS.contains(&name.as_ref()));
    if is_paragraph && !holds_one {
        // Innermost paragraphs do not nest, so their texts are read once in all.
        let text = node.text().trim().to_string();
        if !text.is_empty() {
            paragraphs.push(text);
        }
    }
    holds_one || is_paragraph
}

/// The page's own URL: `<link rel="canonical" href>`, else `<meta property="og:url" content>`.
fn canonical_url(bytes: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(256 * 1024)]);
    let absolute = |url: String| url.contains("://").then_some(url);
    tags(&head, "link")
        .find(|tag| attribute(tag, "rel").is_some_and(|rel| rel.eq_ignore_ascii_case("canonical")))
        .and_then(|tag| attribute(tag, "href"))
        .and_then(absolute)
        .or_else(|| {
            tags(&head, "meta")
                .find(|tag| attribute(tag, "property").is_some_and(|p| p.eq_ignore_ascii_case("og:url")))
                .and_then(|tag| attribute(tag, "content"))
                .and_then(absolute)
        })
}

/// The insides of every `<name ...>` tag.
fn tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    html.match_indices('<').filter_map(move |(at, _)| {
        let rest = &html[at + 1..];
        let after =
            rest.get(..name.len()).filter(|n| n.eq_ignore_ascii_case(name)).map(|_| &rest[name.len()..])?;
        after
            .starts_with(|c: char| c.is_whitespace())
            .then(|| &after[..after.find('>').unwrap_or(after.len())])
    })
}

/// An attribute's value in a tag's inside (quoted with `"` or `'`, or bare), its
/// character references decoded as a browser does (`?a=1&amp;b=2` is `?a=1&b=2`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let preceded_by_space = lower[..at].ends_with(|c: char| c.is_whitespace());
        let rest = lower[from..].trim_start();
        if !preceded_by_space || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        let (quote, value) = match value.chars().next()? {
            q @ ('"' | '\'') => (Some(q), &value[1..]),
            _ => (None, value),
        };
        let end = match quote {
            Some(q) => value.find(q).unwrap_or(value.len()),
            None => value.find(|c: char| c.is_whitespace() || c == '/').unwrap_or(value.len()),
        };
        return Some(html_escape::decode_html_entities(value[..end].trim()).into_owned());
    }
    None
}

/// An upper bound on how deeply an HTML parser nests the page's elements, found by
/// reading tags as its tokenizer does (a name runs to whitespace, `/` or `>`; a `<` not
/// followed by a letter, `/`, `!` or `?` is text) and closing only what it certainly
/// closes: an end tag closes the innermost open element only when that element has its
/// name, after the elements whose end tags may be left out (`p`, `li`, `dd`, `dt`,
/// `option`, ...) are closed first; any other end tag is taken as ignored, as a parser
/// ignores misnested and unknown ones. A start tag opens its element even when written
/// self-closing, unless it is void; an element whose end tag may be left out closes an
/// open sibling of its name. Errs towards deeper, and stops past [`MAX_DEPTH`].
fn nesting_depth(bytes: &[u8]) -> usize {
    const VOID: &[&[u8]] = &[
        b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta", b"param",
        b"source", b"track", b"wbr", b"keygen",
    ];
    // Elements whose end tags may be left out: an end tag of an enclosing element closes them.
    const OPTIONAL_END: &[&[u8]] = &[
        b"p",
        b"li",
        b"dd",
        b"dt",
        b"option",
        b"optgroup",
        b"rb",
        b"rp",
        b"rt",
        b"rtc",
        b"tr",
        b"td",
        b"th",
        b"tbody",
        b"thead",
        b"tfoot",
        b"colgroup",
        b"caption",
    ];
    // Elements whose start tag certainly closes an open one of the same name on top.
    const CLOSES_SIBLING: &[&[u8]] = &[b"p", b"li", b"dd", b"dt", b"option"];
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut deepest = 0usize;
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'<') {
        let start = i + offset + 1;
        let closing = bytes.get(start) == Some(&b'/');
        let name_start = start + usize::from(closing);
        if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            // Text, a comment or a declaration: look for the next tag after this `<`.
            i = start;
            continue;
        }
        let name_end = bytes[name_start..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
            .map_or(bytes.len(), |e| name_start + e);
        let name = bytes[name_start..name_end].to_ascii_lowercase();
        if closing {
            if name == b"table" && open.iter().any(|n| n == b"table") {
                while open.pop().is_some_and(|n| n != b"table") {}
            }
            while open.last().is_some_and(|top| *top != name && OPTIONAL_END.contains(&top.as_slice())) {
                open.pop();
            }
            if open.last() == Some(&name) {
                open.pop();
            }
        } else if name == b"col" && open.last().is_none_or(|top| top != b"colgroup") {
            // A column outside its group opens one, which stays open.
            open.push(b"colgroup".to_vec());
            deepest = deepest.max(open.len());
        } else if !VOID.contains(&name.as_slice()) {
            if CLOSES_SIBLING.contains(&name.as_slice()) && open.last() == Some(&name) {
                open.pop();
            }
            // A table cell or row without its row or body gets them from the parser.
            let top = open.last().map(Vec::as_slice);
            let implied: &[&[u8]] = match name.as_slice() {
                b"td" | b"th" if top != Some(b"tr") => match top {
                    Some(b"tbody" | b"thead" | b"tfoot") => &[b"tr"],
                    _ => &[b"tbody", b"tr"],
                },
                b"tr" if !matches!(top, Some(b"tbody" | b"thead" | b"tfoot")) => &[b"tbody"],
                _ => &[],
            };
            open.extend(implied.iter().map(|n| n.to_vec()));
            open.push(name);
            deepest = deepest.max(open.len());
            if deepest > MAX_DEPTH {
                return deepest;
            }
        }
        i = bytes[name_end..].iter().position(|&b| b == b'>').map_or(bytes.len(), |e| name_end + e);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head>
<meta charset="utf-8">
<title>Harbour ferry returns after repairs | Coast Daily</title>
<meta property="og:title" content="Harbour ferry returns after repairs">
<meta property="og:site_name" content="Coast Daily">
<meta name="author" content="Robin Vale">
<meta name="description" content="The old ferry is back on the water after a winter in dry dock.">
<link rel="canonical" href="https://coast.example/news/ferry-returns">
<meta property="article:published_time" content="2024-04-02T07:30:00+02:00">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<article>
<h1>Harbour ferry returns after repairs</h1>
<p>The harbour ferry made its first crossing of the season on Tuesday morning, carrying forty passengers and two bicycles across the bay.</p>
<p>Engineers spent the winter replacing the hull plates and the old diesel engine, which had served the route for more than thirty years.</p>
<p>The operator said the timetable would return to hourly sailings from May, with extra evening trips during the summer festival.</p>
</article>
<footer>Copyright Coast Daily. All rights reserved.</footer>
</body></html>"#;

    #[test]
    fn the_article_and_its_metadata_are_read() {
        let r =
            parse_bytes(PAGE.as_bytes(), Some("https://coast.example/news/ferry-returns?ref=feed")).unwrap();
        assert!(r.body.contains("first crossing of the season"), "{}", r.body);
        assert!(r.body.contains("hourly sailings from May"));
        assert!(!r.body.contains("All rights reserved"));
        assert_eq!(r.title.as_deref(), Some("Harbour ferry returns after repairs"));
        assert_eq!(r.url.as_deref(), Some("https://coast.example/news/ferry-returns"));
        assert_eq!(r.published.as_deref(), Some("2024-04-02T05:30:00Z"));
        assert_eq!(r.meta.byline.as_deref(), Some("Robin Vale"));
    }

    #[test]
    fn a_windows_1252_page_is_decoded() {
        let mut page = PAGE.replace("utf-8", "windows-1252").into_bytes();
        let at = page.windows(7).position(|w| w == b"morning").unwrap();
        page.splice(at..at, b"caf\xe9 ".iter().copied());
        let r = parse_bytes(&page, None).unwrap();
        assert!(r.body.contains("café morning"), "{}", r.body);
    }

    #[test]
    fn a_page_without_text_is_refused() {
        let err = parse_bytes(b"<html><head></head><body><script>var x = 1;</script></body></html>", None);
        assert!(err.unwrap_err().contains("no article text"));
    }

    #[test]
    fn a_million_nested_tags_are_refused_quickly() {
        let page = format!(
            "<html><body>{}deep{}</body></html>",
            "<div>".repeat(1_000_000),
            "</div>".repeat(1_000_000)
        );
        let started = std::time::Instant::now();
        let err = parse_bytes(page.as_bytes(), None).unwrap_err();
        assert!(err.contains("nested"), "{err}");
        assert!(started.elapsed().as_secs() < 5);
    }

    #[test]
    fn markup_is_told_from_text_with_angle_brackets() {
        assert!(has_markup("<p>One.</p>"));
        assert!(has_markup("The harbour <strong>opened</strong>."));
        assert!(has_markup("Line<br/>break"));
        assert!(has_markup("Fish &amp; chips"));
        assert!(!has_markup("Shares of Northwind <NWND.O> rose."));
        assert!(!has_markup("if a < b and c > d"));
        assert!(!has_markup("plain text"));
    }

    #[test]
    fn a_fragment_gives_a_paragraph_per_innermost_block() {
        assert_eq!(fragment_text("<p>One <strong>bold</strong> line.</p>").unwrap(), "One bold line.");
        assert_eq!(
            fragment_text("<ul><li><p>First &amp; foremost</p></li><li>Second</li></ul><h2>Head</h2>")
                .unwrap(),
            "First & foremost\n\nSecond\n\nHead"
        );
        assert_eq!(fragment_text("plain <em>text</em>").unwrap(), "plain text");
        assert_eq!(fragment_text(r#"<iframe src="https://video.example/embed/1"></iframe>"#).unwrap(), "");
        let deep = "<blockquote>".repeat(MAX_DEPTH + 1) + "text";
        assert!(fragment_text(&deep).unwrap_err().contains("nested"));
    }

    #[test]
    fn a_marked_page_not_shaped_as_an_export_goes_to_the_extractor() {
        let ours = format!(
            "<html><head>{EXPORTED_PAGE_MARK}<title>T</title></head><body><article><p>One.</p><p>Two.</p></article></body></html>"
        );
        assert_eq!(exported_page(ours.as_bytes(), None).map(|r| r.body).as_deref(), Some("One.\nTwo."));
        let lookalike = ours.replace("<article>", "<div><article>").replace("</article>", "</article></div>");
        assert!(exported_page(lookalike.as_bytes(), None).is_none());
        let empty = ours.replace("<p>One.</p><p>Two.</p>", "");
        assert_eq!(exported_page(empty.as_bytes(), None).map(|r| r.body).as_deref(), Some(""));
    }

    #[test]
    fn canonical_and_og_urls_are_read() {
        assert_eq!(
            canonical_url(b"<LINK href='https://a.example/x' REL=canonical>").as_deref(),
            Some("https://a.example/x")
        );
        assert_eq!(
            canonical_url(br#"<meta content="https://b.example/y" property="og:url"/>"#).as_deref(),
            Some("https://b.example/y")
        );
        assert_eq!(canonical_url(br#"<link rel="canonical" href="/relative">"#), None);
        assert_eq!(
            canonical_url(br#"<meta property="og:url" content="https://c.example/a?x=1&amp;y=2&#38;z=3">"#)
                .as_deref(),
            Some("https://c.example/a?x=1&y=2&z=3")
        );
    }

    #[test]
    fn the_deepest_page_accepted_parses_on_a_worker_thread_stack() {
        let depth = MAX_DEPTH - 10;
        let page = format!(
            "<html><body>{}<p>{}</p>{}</body></html>",
            "<div>".repeat(depth),
            "Some words of text inside a deeply nested page. ".repeat(20),
            "</div>".repeat(depth)
        );
        let worker = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || parse_bytes(page.as_bytes(), None).is_ok());
        assert!(worker.unwrap().join().is_ok(), "no stack overflow");
    }

    #[test]
    fn nesting_depth_ignores_void_and_closed_elements() {
        assert_eq!(nesting_depth(b"<p>a<br><img src=x/></p><p>b</p>"), 1);
        assert_eq!(nesting_depth(b"<div><div><span>x</span></div></div>"), 3);
        assert_eq!(nesting_depth(b"no tags < here"), 0);
        // As a parser reads them: self-closing non-void elements and stray end tags
        // nest (found by fuzzing the HTML extraction).
        assert_eq!(nesting_depth(b"<x/><x/><x/>"), 3);
        assert_eq!(nesting_depth(b"<x></><x></b><x>"), 3);
        assert_eq!(nesting_depth(b"<x><ul></x><x><ul></x>"), 4);
        assert_eq!(nesting_depth(b"<a-></a.><a-></a.>"), 2);
        assert_eq!(nesting_depth(b"<<v><<v>"), 2);
        assert_eq!(nesting_depth(b"<rb><rb>"), 2);
        assert_eq!(nesting_depth(b"<table><td><table><td>"), 8);
        assert_eq!(nesting_depth(b"<table><td>a</td><td>b</table><table><tr><td>c</table>"), 4);
        // Left-out end tags of real pages do not add up.
        assert_eq!(nesting_depth(b"<ul><li>a<li>b<li>c</ul><div><p>x<p>y</div>"), 2);
    }
}
