//! Plain-text page dumps. Owns two shapes: the TRT World page (a `date YYYY-MM-DD
//! SECTION` line, "N MIN READ", title, standfirst, photo caption with credit, date
//! line, body, `SOURCE:` attribution, "Explore" list of other headlines), read field
//! by field; a file `export --format txt` wrote (`name: value` header lines, a blank
//! line, the body), read back as written; and any other text, read as a title line
//! followed by the body.
//! Never normalises the body: widget labels left in it are the normaliser's to drop.

use crate::dates;
use crate::record::{PageMeta, Record};

/// The header lines `export --format txt` writes, in order: `captured` and `article`
/// are always there, so a header holding both is taken for an export.
pub const EXPORT_HEADER: [&str; 6] = ["title", "url", "source", "published", "captured", "article"];

/// Parses a text page.
pub fn parse(text: &str) -> Result<Record, String> {
    let lines: Vec<&str> = text.lines().collect();
    if let Some(record) = parse_exported(&lines) {
        return Ok(record);
    }
    match page_head(&lines) {
        Some((published, section)) => Ok(parse_page(&lines, published, section)),
        None => parse_plain(&lines),
    }
}

/// A file `export --format txt` wrote: its header's fields and its body as they were.
fn parse_exported(lines: &[&str]) -> Option<Record> {
    let blank = lines.iter().position(|line| line.is_empty())?;
    let mut fields = std::collections::HashMap::new();
    for line in &lines[..blank] {
        let (name, value) = line.split_once(": ")?;
        if !EXPORT_HEADER.contains(&name) {
            return None;
        }
        fields.insert(name, value.to_string());
    }
    let captured = dates::parse_timestamp(fields.get("captured")?)?;
    fields.get("article")?;
    Some(Record {
        title: fields.remove("title"),
        url: fields.remove("url"),
        source: fields.remove("source"),
        published: fields.remove("published"),
        captured_at: Some(captured),
        body: lines[blank + 1..].join("\n"),
        ..Record::default()
    })
}

/// The `date YYYY-MM-DD SECTION` line that opens a page dump, and the section.
fn page_head(lines: &[&str]) -> Option<(String, Option<String>)> {
    let first = lines.iter().find(|l| !l.trim().is_empty())?.trim();
    let rest = first.strip_prefix("date ")?;
    let (date, section) = rest.split_once(' ').unwrap_or((rest, ""));
    let date = dates::parse_date(date)?;
    let section = section.trim();
    Some((date.to_string(), (!section.is_empty()).then(|| section.to_string())))
}

fn parse_page(lines: &[&str], published: String, section: Option<String>) -> Record {
    let mut meta = PageMeta { section, ..PageMeta::default() };
    let mut rest = lines.iter().map(|l| l.trim()).skip_while(|l| l.is_empty()).skip(1).peekable();

    if rest.peek().is_some_and(|l| is_reading_time(l)) {
        meta.reading_time = rest.next().map(str::to_string);
    }
    // The head runs to the first blank line: title, standfirst, the title again (the
    // photo's alt text), the caption with its credit, the date line.
    let head: Vec<&str> = rest.by_ref().take_while(|l| !l.is_empty()).collect();
    let title = head.first().map(|t| t.to_string());
    let mut date_line = None;
    for line in head.iter().skip(1) {
        if Some(*line) == title.as_deref() {
            continue;
        }
        if date_line.is_none() && dates::parse_date(line).is_some() && line.len() < 40 {
            date_line = Some(line.to_string());
        } else if meta.standfirst.is_none() {
            meta.standfirst = Some(line.to_string());
        } else if meta.caption.is_none() {
            meta.caption = Some(line.to_string());
        }
    }

    // The body runs to `SOURCE:`, or to "Explore" when there is no attribution.
    let mut body = Vec::new();
    let mut in_explore = false;
    for line in rest {
        if in_explore {
            if !line.is_empty() && !line.starts_with("By ") {
                meta.related.push(line.to_string());
            }
        } else if let Some(source) = strip_prefix_ignore_case(line, "SOURCE:") {
            meta.attribution = Some(source.trim().to_string()).filter(|s| !s.is_empty());
        } else if line.eq_ignore_ascii_case("explore") {
            in_explore = true;
        } else if meta.attribution.is_none() {
            body.push(line);
        }
    }
    Record {
        title,
        published: Some(published),
        body: body.join("\n").trim().to_string(),
        meta,
        ..Record::default()
    }
}

fn parse_plain(lines: &[&str]) -> Result<Record, String> {
    let mut rest = lines.iter().skip_while(|l| l.trim().is_empty());
    let title = rest.next().map(|t| t.trim().to_string()).ok_or("empty file")?;
    let body = rest.copied().collect::<Vec<_>>().join("\n").trim().to_string();
    Ok(Record { title: Some(title), body, ..Record::default() })
}

fn is_reading_time(line: &str) -> bool {
    let upper = line.to_ascii_uppercase();
    upper.ends_with("MIN READ") && upper.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn strip_prefix_ignore_case<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &line[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exported_text_is_read_back_and_a_lookalike_is_not() {
        let exported = "title: Ferry back\nurl: https://one.example/f\ncaptured: 2024-03-01T08:00:00Z\narticle: ab12\n\nFirst.\nSecond.\n";
        let record = parse(exported).unwrap();
        assert_eq!(record.title.as_deref(), Some("Ferry back"));
        assert_eq!(record.url.as_deref(), Some("https://one.example/f"));
        assert_eq!(record.captured_at.map(|t| t.to_string()).as_deref(), Some("2024-03-01T08:00:00Z"));
        assert_eq!(record.body, "First.\nSecond.");
        // Without the fields an export always writes, it is an ordinary page.
        let lookalike = parse("title: Ferry back\nnote: late\n\nFirst.\n").unwrap();
        assert_eq!(lookalike.title.as_deref(), Some("title: Ferry back"));
    }

    const PAGE: &str = " date 2024-03-02 SCIENCE
3 MIN READ
Lighthouse keepers return to the northern cape
A volunteer crew has relit the old lamp after forty dark winters.
Lighthouse keepers return to the northern cape
The restored lamp seen from the harbour at dusk. (Pat Doe) / Coast Press
March 2, 2024

The lamp at the northern cape shone again on Friday night.

Volunteers spent two summers restoring the lens.

Forty dark winters

Recommended

The keepers plan to open the tower to visitors in June.

SOURCE:Coast Desk and agencies
Explore
Harbour festival draws record crowds
By Sam Roe
Ferry timetable changes for the spring
";

    #[test]
    fn a_page_is_read_field_by_field() {
        let r = parse(PAGE).unwrap();
        assert_eq!(r.published.as_deref(), Some("2024-03-02"));
        assert_eq!(r.meta.section.as_deref(), Some("SCIENCE"));
        assert_eq!(r.meta.reading_time.as_deref(), Some("3 MIN READ"));
        assert_eq!(r.title.as_deref(), Some("Lighthouse keepers return to the northern cape"));
        assert_eq!(
            r.meta.standfirst.as_deref(),
            Some("A volunteer crew has relit the old lamp after forty dark winters.")
        );
        assert_eq!(
            r.meta.caption.as_deref(),
            Some("The restored lamp seen from the harbour at dusk. (Pat Doe) / Coast Press")
        );
        assert_eq!(r.meta.attribution.as_deref(), Some("Coast Desk and agencies"));
        assert_eq!(
            r.meta.related,
            vec!["Harbour festival draws record crowds", "Ferry timetable changes for the spring"]
        );
        assert!(r.body.starts_with("The lamp at the northern cape"));
        assert!(r.body.contains("Forty dark winters"));
        assert!(r.body.ends_with("visitors in June."));
        assert!(!r.body.contains("Explore") && !r.body.contains("SOURCE"));
    }

    #[test]
    fn other_text_is_a_title_and_a_body() {
        let r = parse("\n\nA headline\nFirst line.\n\nSecond.\n").unwrap();
        assert_eq!(r.title.as_deref(), Some("A headline"));
        assert_eq!(r.body, "First line.\n\nSecond.");
        assert!(parse("\n \n").is_err());
    }
}
