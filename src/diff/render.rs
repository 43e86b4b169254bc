//! Renderers of a [`VersionDiff`]: inline word diff, unified patch, side by side, JSON
//! and a self-contained HTML page, each writing to `&mut dyn Write`. Owns layout and
//! colour; never computes a diff itself beyond grouping paragraphs for context, and
//! sanitises scraped text before it reaches a terminal.

use std::io::{self, Write};

use similar::{DiffOp, DiffTag, TextDiff};
use unicode_width::UnicodeWidthStr;

use super::{OpKind, VersionDiff, word_ops};
use crate::sanitize;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// The paragraphs (lines) of a body.
fn paragraphs(body: &str) -> Vec<&str> {
    if body.is_empty() { Vec::new() } else { body.split('\n').collect() }
}

/// Paragraph-level operations grouped into hunks with `context` unchanged paragraphs
/// around each change.
fn hunks(diff: &VersionDiff, context: usize) -> Vec<Vec<DiffOp>> {
    let old = paragraphs(diff.old_body());
    let new = paragraphs(diff.new_body());
    TextDiff::configure().algorithm(similar::Algorithm::Patience).diff_slices(&old, &new).grouped_ops(context)
}

fn summary_line(diff: &VersionDiff) -> String {
    let s = diff.summary;
    format!(
        "+{} words, -{} words, {:.1}% of the body changed",
        s.words_added,
        s.words_removed,
        s.changed_share * 100.0
    )
}

fn paint(text: &str, colour: &str, on: bool) -> String {
    if on { format!("{colour}{text}{RESET}") } else { text.to_string() }
}

/// Inline: metadata changes first, then the word diff of the changed paragraphs with
/// `context` paragraphs around them, then the summary. Without colour, git's
/// `--word-diff=plain` markers: `[-old-]{+new+}`.
pub fn inline(out: &mut dyn Write, diff: &VersionDiff, context: usize, colour: bool) -> io::Result<()> {
    writeln!(out, "{}", paint(&format!("--- {}\n+++ {}", diff.old, diff.new), DIM, colour))?;
    for change in &diff.metadata {
        let old = sanitize::line(change.old.as_deref().unwrap_or(""));
        let new = sanitize::line(change.new.as_deref().unwrap_or(""));
        writeln!(out, "{}: {}{}", change.field, deleted(&old, colour), inserted(&new, colour))?;
    }
    let old = paragraphs(diff.old_body());
    let new = paragraphs(diff.new_body());
    let mut shown_until = 0;
    for hunk in hunks(diff, context) {
        let first = hunk.first().map_or(0, |op| op.old_range().start);
        if first > shown_until {
            skipped(out, first - shown_until, colour)?;
        }
        for op in &hunk {
            let (o, n) = (op.old_range(), op.new_range());
            match op.tag() {
                DiffTag::Equal => {
                    for p in &old[o.clone()] {
                        writeln!(out, "{}", sanitize::line(p))?;
                    }
                }
                DiffTag::Delete => {
                    for p in &old[o.clone()] {
                        writeln!(out, "{}", deleted(&sanitize::line(p), colour))?;
                    }
                }
                DiffTag::Insert => {
                    for p in &new[n.clone()] {
                        writeln!(out, "{}", inserted(&sanitize::line(p), colour))?;
                    }
                }
                DiffTag::Replace => {
                    let (a, b) = (old[o.clone()].join("\n"), new[n.clone()].join("\n"));
                    writeln!(out, "{}", word_diff_text(&a, &b, colour))?;
                }
            }
            shown_until = o.end;
        }
    }
    if old.len() > shown_until && diff.ops.iter().any(|o| o.op != OpKind::Equal) {
        skipped(out, old.len() - shown_until, colour)?;
    }
    writeln!(out, "{}", summary_line(diff))
}

fn skipped(out: &mut dyn Write, n: usize, colour: bool) -> io::Result<()> {
    let plural = if n == 1 { "" } else { "s" };
    writeln!(out, "{}", paint(&format!("… {n} unchanged paragraph{plural} …"), DIM, colour))
}

fn deleted(text: &str, colour: bool) -> String {
    if text.is_empty() {
        String::new()
    } else if colour {
        format!("{RED}{text}{RESET}")
    } else {
        format!("[-{text}-]")
    }
}

fn inserted(text: &str, colour: bool) -> String {
    if text.is_empty() {
        String::new()
    } else if colour {
        format!("{GREEN}{text}{RESET}")
    } else {
        format!("{{+{text}+}}")
    }
}

/// Two texts word-diffed into one, with deletions and insertions marked.
fn word_diff_text(old: &str, new: &str, colour: bool) -> String {
    let mut out = String::new();
    for op in word_ops(old, new) {
        let (a, b) = (sanitize::for_terminal(&op.old_text, true), sanitize::for_terminal(&op.new_text, true));
        match op.op {
            OpKind::Equal => out.push_str(&a),
            OpKind::Delete => out.push_str(&deleted(&a, colour)),
            OpKind::Insert => out.push_str(&inserted(&b, colour)),
            OpKind::Replace => {
                out.push_str(&deleted(&a, colour));
                out.push_str(&inserted(&b, colour));
            }
        }
    }
    out
}

/// A standard unified diff of the two bodies as `show` prints them (each paragraph a
/// line ending in a newline), which `patch` applies to the old body to give the new.
pub fn unified(out: &mut dyn Write, diff: &VersionDiff, context: usize) -> io::Result<()> {
    let old = with_final_newline(diff.old_body());
    let new = with_final_newline(diff.new_body());
    let text_diff = TextDiff::from_lines(&old, &new);
    let mut patch = text_diff.unified_diff();
    patch.context_radius(context).header(&format!("a/{}", diff.old), &format!("b/{}", diff.new));
    write!(out, "{patch}")
}

fn with_final_newline(body: &str) -> String {
    if body.is_empty() { String::new() } else { format!("{body}\n") }
}

/// The diff as JSON: metadata changes, operations and figures.
pub fn json(out: &mut dyn Write, diff: &VersionDiff) -> io::Result<()> {
    serde_json::to_writer(&mut *out, diff)?;
    writeln!(out)
}

/// Two columns of `width` characters in all, wrapped, with a gutter marking changed
/// (`|`), removed (`<`) and added (`>`) paragraphs; changed words are coloured, or
/// marked as in [`inline`] without colour.
pub fn side_by_side(
    out: &mut dyn Write,
    diff: &VersionDiff,
    width: usize,
    context: usize,
    colour: bool,
) -> io::Result<()> {
    let column = (width.max(23) - 3) / 2;
    writeln!(out, "{}", paint(&format!("{:<column$} | {}", diff.old, diff.new), DIM, colour))?;
    for change in &diff.metadata {
        let old = sanitize::line(change.old.as_deref().unwrap_or(""));
        let new = sanitize::line(change.new.as_deref().unwrap_or(""));
        rows(out, &[(old, true)], &[(new, true)], '|', column, colour, change.field)?;
    }
    let old = paragraphs(diff.old_body());
    let new = paragraphs(diff.new_body());
    for (i, hunk) in hunks(diff, context).iter().enumerate() {
        if i > 0 || hunk.first().is_some_and(|op| op.old_range().start > 0) {
            writeln!(out, "{}", paint(&"·".repeat(column.min(40)), DIM, colour))?;
        }
        for op in hunk {
            let (o, n) = (op.old_range(), op.new_range());
            let count = o.len().max(n.len());
            for k in 0..count {
                let a = old.get(o.start + k).filter(|_| k < o.len()).map(|p| sanitize::line(p));
                let b = new.get(n.start + k).filter(|_| k < n.len()).map(|p| sanitize::line(p));
                match (op.tag(), a, b) {
                    (DiffTag::Equal, Some(a), _) => {
                        rows(out, &[(a.clone(), false)], &[(a, false)], ' ', column, colour, "")?
                    }
                    (_, Some(a), Some(b)) => {
                        let (left, right) = marked_words(&a, &b);
                        rows(out, &left, &right, '|', column, colour, "")?
                    }
                    (_, Some(a), None) => rows(out, &[(a, true)], &[], '<', column, colour, "")?,
                    (_, None, Some(b)) => rows(out, &[], &[(b, true)], '>', column, colour, "")?,
                    (_, None, None) => {}
                }
            }
        }
    }
    writeln!(out, "{}", summary_line(diff))
}

/// A word, and whether it changed.
type Word = (String, bool);

/// The words of two paragraphs, each flagged when it changed.
fn marked_words(old: &str, new: &str) -> (Vec<Word>, Vec<Word>) {
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for op in word_ops(old, new) {
        let changed = op.op != OpKind::Equal;
        left.extend(op.old_text.split_whitespace().map(|w| (w.to_string(), changed)));
        right.extend(op.new_text.split_whitespace().map(|w| (w.to_string(), changed)));
    }
    (left, right)
}

/// Prints two word lists wrapped into columns, side by side.
fn rows(
    out: &mut dyn Write,
    left: &[(String, bool)],
    right: &[(String, bool)],
    gutter: char,
    column: usize,
    colour: bool,
    label: &str,
) -> io::Result<()> {
    let split = |words: &[(String, bool)], removed: bool| -> Vec<Vec<(String, bool)>> {
        let mut words: Vec<(String, bool)> =
            words.iter().flat_map(|(w, c)| w.split_whitespace().map(move |x| (x.to_string(), *c))).collect();
        if !colour {
            mark_runs(&mut words, if removed { ("[-", "-]") } else { ("{+", "+}") });
        }
        wrap(&words, column)
    };
    let (mut l, r) = (split(left, true), split(right, false));
    if !label.is_empty() {
        l.insert(0, vec![(format!("{label}:"), false)]);
    }
    let height = l.len().max(r.len()).max(1);
    for i in 0..height {
        let a = l.get(i).map(|line| render_line(line, RED, colour)).unwrap_or_default();
        let b = r.get(i).map(|line| render_line(line, GREEN, colour)).unwrap_or_default();
        let pad = column.saturating_sub(a.1);
        writeln!(out, "{}{} {gutter} {}", a.0, " ".repeat(pad), b.0)?;
    }
    Ok(())
}

/// Without colour, each run of changed words is bracketed as a whole: `[-a b-]`.
fn mark_runs(words: &mut [(String, bool)], (open, close): (&str, &str)) {
    let changed: Vec<bool> = words.iter().map(|(_, c)| *c).collect();
    for (i, (word, is_changed)) in words.iter_mut().enumerate() {
        if !*is_changed {
            continue;
        }
        if i == 0 || !changed[i - 1] {
            word.insert_str(0, open);
        }
        if !changed.get(i + 1).copied().unwrap_or(false) {
            word.push_str(close);
        }
    }
}

/// Greedy word wrap to `column` display cells; a word longer than a line is cut.
fn wrap(words: &[(String, bool)], column: usize) -> Vec<Vec<(String, bool)>> {
    let mut lines: Vec<Vec<(String, bool)>> = Vec::new();
    let mut current: Vec<(String, bool)> = Vec::new();
    let mut used = 0;
    for (word, changed) in words {
        let mut word = word.clone();
        while word.width() > column {
            let cut = cut_at_width(&word, column);
            let rest = word.split_off(cut);
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            lines.push(vec![(word, *changed)]);
            word = rest;
            used = 0;
        }
        let needed = word.width() + usize::from(!current.is_empty());
        if used + needed > column && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
            used = 0;
        }
        used += word.width() + usize::from(!current.is_empty());
        current.push((word, *changed));
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn cut_at_width(word: &str, column: usize) -> usize {
    let mut used = 0;
    for (at, c) in word.char_indices() {
        used += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used > column {
            return at.max(c.len_utf8());
        }
    }
    word.len()
}

/// A wrapped line as text, and its display width without colour codes.
fn render_line(words: &[(String, bool)], colour_code: &str, colour: bool) -> (String, usize) {
    let mut text = String::new();
    let mut width = 0;
    for (i, (word, changed)) in words.iter().enumerate() {
        if i > 0 {
            text.push(' ');
            width += 1;
        }
        width += word.width();
        if *changed && colour {
            text.push_str(&format!("{colour_code}{word}{RESET}"));
        } else {
            text.push_str(word);
        }
    }
    (text, width)
}

/// One self-contained HTML page: metadata changes, the summary, an inline view and a
/// side-by-side view. No scripts, external styles or fonts; every text is escaped.
pub fn html(out: &mut dyn Write, diff: &VersionDiff) -> io::Result<()> {
    let title = format!("{} → {}", diff.old, diff.new);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    )?;
    if !diff.metadata.is_empty() {
        writeln!(out, "<table class=\"meta\">\n<tr><th>field</th><th>before</th><th>after</th></tr>")?;
        for change in &diff.metadata {
            writeln!(
                out,
                "<tr><td>{}</td><td><del>{}</del></td><td><ins>{}</ins></td></tr>",
                escape(change.field),
                escape(change.old.as_deref().unwrap_or("")),
                escape(change.new.as_deref().unwrap_or(""))
            )?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(
        out,
        "<p class=\"summary\">{}</p>\n<h2>Changes in place</h2>\n<div class=\"inline\">\n<p>",
        escape(&summary_line(diff))
    )?;
    for op in &diff.ops {
        let (a, b) = (html_text(&op.old_text), html_text(&op.new_text));
        match op.op {
            OpKind::Equal => write!(out, "{a}")?,
            OpKind::Delete => write!(out, "<del>{a}</del>")?,
            OpKind::Insert => write!(out, "<ins>{b}</ins>")?,
            OpKind::Replace => write!(out, "<del>{a}</del><ins>{b}</ins>")?,
        }
    }
    writeln!(out, "</p>\n</div>\n<h2>Side by side</h2>\n<table class=\"sbs\">")?;
    writeln!(out, "<tr><th>{}</th><th>{}</th></tr>", escape(&diff.old), escape(&diff.new))?;
    let old = paragraphs(diff.old_body());
    let new = paragraphs(diff.new_body());
    for hunk in hunks(diff, usize::MAX / 4) {
        for op in hunk {
            let (o, n) = (op.old_range(), op.new_range());
            for k in 0..o.len().max(n.len()) {
                let a = (k < o.len()).then(|| old[o.start + k]);
                let b = (k < n.len()).then(|| new[n.start + k]);
                let (left, right) = match (a, b) {
                    (Some(a), Some(b)) if op.tag() == DiffTag::Equal => (escape(a), escape(b)),
                    (Some(a), Some(b)) => html_pair(a, b),
                    (Some(a), None) => (format!("<del>{}</del>", escape(a)), String::new()),
                    (None, Some(b)) => (String::new(), format!("<ins>{}</ins>", escape(b))),
                    (None, None) => (String::new(), String::new()),
                };
                let class = if op.tag() == DiffTag::Equal { "same" } else { "changed" };
                writeln!(out, "<tr class=\"{class}\"><td>{left}</td><td>{right}</td></tr>")?;
            }
        }
    }
    writeln!(out, "</table>\n</body>\n</html>")
}

fn html_pair(old: &str, new: &str) -> (String, String) {
    let (mut left, mut right) = (String::new(), String::new());
    for op in word_ops(old, new) {
        match op.op {
            OpKind::Equal => {
                left.push_str(&escape(&op.old_text));
                right.push_str(&escape(&op.new_text));
            }
            _ => {
                if !op.old_text.is_empty() {
                    left.push_str(&format!("<del>{}</del>", escape(&op.old_text)));
                }
                if !op.new_text.is_empty() {
                    right.push_str(&format!("<ins>{}</ins>", escape(&op.new_text)));
                }
            }
        }
    }
    (left, right)
}

/// Text for the inline view: escaped, with paragraph breaks as line breaks.
fn html_text(text: &str) -> String {
    escape(text).replace('\n', "<br/>\n")
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font:16px/1.5 Georgia,'Times New Roman',serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222;background:#fff}\
h1{font-size:1.3rem;font-family:system-ui,sans-serif}h2{font-size:1.1rem;font-family:system-ui,sans-serif;margin-top:2rem}\
table{border-collapse:collapse;width:100%}td,th{vertical-align:top;padding:.4rem .6rem;border-bottom:1px solid #eee;text-align:left}\
table.sbs td{width:50%}tr.same td{color:#666}del{background:#fdd;color:#900;text-decoration:line-through}\
ins{background:#dfd;color:#060;text-decoration:none}.summary{font-family:system-ui,sans-serif;color:#444}\
.inline{border-left:3px solid #ddd;padding-left:1rem}";

#[cfg(test)]
mod tests {
    use super::super::{Side, diff_versions};
    use super::*;

    fn sample() -> VersionDiff {
        let old = Side {
            label: "aaaa (2024-01-01)".into(),
            fields: vec![("title", Some("Flood warning for the valley".into()))],
            body: "Rain fell all night.\nThe river rose by two metres.\nSchools stay open.\nBuses run as usual.\nThe mayor will speak at noon.".into(),
        };
        let new = Side {
            label: "bbbb (2024-01-02)".into(),
            fields: vec![("title", Some("Flood warning & evacuation for the valley".into()))],
            body: "Rain fell all night.\nThe river rose by three metres.\nSchools stay open.\nBuses run as usual.\nThe mayor will speak at noon.\nSandbags are handed out <free>.".into(),
        };
        diff_versions(&old, &new)
    }

    fn render(f: impl Fn(&mut dyn Write) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn inline_marks_words_like_git_and_collapses_context() {
        let text = render(|out| inline(out, &sample(), 0, false));
        assert!(
            text.contains(
                "title: [-Flood warning for the valley-]{+Flood warning & evacuation for the valley+}"
            ),
            "{text}"
        );
        assert!(text.contains("The river rose by [-two-]{+three+} metres."), "{text}");
        assert!(text.contains("{+Sandbags are handed out <free>.+}"), "{text}");
        assert!(text.contains("… 1 unchanged paragraph …\nThe river"), "{text}");
        assert!(text.contains("… 3 unchanged paragraphs …"), "{text}");
        assert!(text.trim_end().ends_with("+6 words, -1 words, 13.7% of the body changed"), "{text}");
    }

    #[test]
    fn inline_colours_when_asked() {
        let text = render(|out| inline(out, &sample(), 1, true));
        assert!(text.contains("\x1b[31mtwo\x1b[0m\x1b[32mthree\x1b[0m"), "{text:?}");
    }

    #[test]
    fn unified_has_headers_and_hunks() {
        let text = render(|out| unified(out, &sample(), 1));
        assert!(text.starts_with("--- a/aaaa (2024-01-01)\n+++ b/bbbb (2024-01-02)\n@@ "), "{text}");
        assert!(text.contains("-The river rose by two metres.\n+The river rose by three metres.\n"));
    }

    #[test]
    fn side_by_side_fits_the_width() {
        let text = render(|out| side_by_side(out, &sample(), 60, 1, false));
        for line in text.lines() {
            assert!(line.width() <= 60, "{line:?} is {} wide", line.width());
        }
        assert!(text.contains(" | "));
        assert!(text.lines().any(|l| l.contains(" > ") && l.contains("Sandbags")), "{text}");
    }

    #[test]
    fn html_is_well_formed_escaped_and_self_contained() {
        let page = render(|out| html(out, &sample()));
        assert!(page.contains("&lt;free&gt;") && page.contains("&amp; evacuation"));
        assert!(!page.contains("<script") && !page.contains("http"));
        let mut reader = quick_xml::Reader::from_str(page.trim_start_matches("<!DOCTYPE html>\n"));
        let mut depth = 0i32;
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Start(_)) => depth += 1,
                Ok(quick_xml::events::Event::End(_)) => depth -= 1,
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("not well-formed at {}: {e}", reader.buffer_position()),
            }
        }
        assert_eq!(depth, 0);
    }
}
