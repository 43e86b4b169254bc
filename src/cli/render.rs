//! Rendering the library's answers: human text (sanitised for the terminal) or JSON.
//! Owns layout only; every value shown comes from the library as data.

use std::io::Write;

use anyhow::Result;
use newsvault::diff::VersionDiff;
use newsvault::export::{ExportRow, RowWriter};
use newsvault::near::query::{Cluster, NearRow};
use newsvault::query::{ArticleRow, LogRow, Stats, VersionView};
use newsvault::sanitize;
use newsvault::store::ArticleEntry;
use newsvault::{ArticleId, Compaction, IngestSummary, VerifyReport};
use serde::Serialize;

use super::ColorChoice;

/// How to render.
pub struct Style {
    /// JSON instead of text.
    pub json: bool,
    /// ANSI colour in text.
    pub color: bool,
}

/// An export's rows on their way to a terminal: the scraped text in them made safe to
/// show, as every other command's output is. Files and pipes get the text as stored.
pub struct TerminalRows<'a>(pub &'a mut dyn RowWriter);

impl RowWriter for TerminalRows<'_> {
    fn row(&mut self, row: &ExportRow) -> std::io::Result<()> {
        let line = |field: &Option<String>| field.as_deref().map(sanitize::line);
        let safe = ExportRow {
            url: line(&row.url),
            title: line(&row.title),
            published: line(&row.published),
            source: line(&row.source),
            body: sanitize::for_terminal(&row.body, true),
            ..row.clone()
        };
        self.0.row(&safe)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.0.finish()
    }
}

/// Whether to colour: `always`, or `auto` on a terminal without NO_COLOR.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

impl Style {
    fn bold(&self, text: &str) -> String {
        if self.color { format!("\x1b[1m{text}\x1b[0m") } else { text.to_string() }
    }

    fn dim(&self, text: &str) -> String {
        if self.color { format!("\x1b[2m{text}\x1b[0m") } else { text.to_string() }
    }
}

fn json_line(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

fn opt(text: &Option<String>) -> String {
    sanitize::line(text.as_deref().unwrap_or("-"))
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(newsvault::id::SHORT_HEX)]
}

/// The end of an ingest.
pub fn ingest_summary(
    out: &mut impl Write,
    style: &Style,
    s: &IngestSummary,
    compacted: Option<&Compaction>,
) -> Result<()> {
    if style.json {
        #[derive(Serialize)]
        struct Ingested<'a> {
            #[serde(flatten)]
            summary: &'a IngestSummary,
            compacted: Option<&'a Compaction>,
        }
        return json_line(out, &Ingested { summary: s, compacted });
    }
    writeln!(
        out,
        "{} records from {} files: {} new articles, {} new versions ({} new bodies, {} of them near-duplicates of stored ones), {} duplicates, {} rejected",
        s.records,
        s.files,
        s.new_articles,
        s.new_versions,
        s.new_bodies,
        s.near_duplicates,
        s.duplicates,
        s.rejected
    )?;
    if let Some(done) = compacted {
        write!(out, "compacted the index: ")?;
        compacted_line(out, done)?;
    }
    Ok(())
}

/// `list`.
pub fn list(out: &mut impl Write, style: &Style, rows: &[ArticleRow]) -> Result<()> {
    for row in rows {
        if style.json {
            json_line(out, row)?;
        } else {
            writeln!(
                out,
                "{}  {:>3}v {:>4}c  {}  {}  {}",
                style.bold(short(&row.id)),
                row.versions,
                row.captures,
                &row.last_seen[..row.last_seen.len().min(10)],
                opt(&row.source),
                opt(&row.title)
            )?;
        }
    }
    Ok(())
}

/// `show`.
pub fn show(out: &mut impl Write, style: &Style, v: &VersionView) -> Result<()> {
    if style.json {
        return json_line(out, v);
    }
    let field = |out: &mut dyn Write, name: &str, value: &str| -> std::io::Result<()> {
        writeln!(out, "{} {}", style.dim(&format!("{name:<11}")), sanitize::line(value))
    };
    field(out, "version", &v.hash)?;
    field(
        out,
        "article",
        &format!("{}  (version {} of {}, linked by {})", v.article, v.version, v.versions, v.link),
    )?;
    let m = &v.meta;
    for (name, value) in [
        ("title", &v.title),
        ("url", &v.url),
        ("source", &v.source),
        ("published", &v.published),
        ("section", &m.section),
        ("standfirst", &m.standfirst),
        ("byline", &m.byline),
        ("caption", &m.caption),
        ("attribution", &m.attribution),
    ] {
        if let Some(value) = value {
            field(out, name, value)?;
        }
    }
    field(out, "captured", &v.captured_at)?;
    field(out, "words", &v.words.to_string())?;
    for other in &v.also_in {
        field(out, "also in", other)?;
    }
    if !m.related.is_empty() {
        field(out, "related", &format!("{} other headlines on the page (see --json)", m.related.len()))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", sanitize::for_terminal(&v.body, true))?;
    Ok(())
}

/// `show --raw`: the bytes as captured, sanitised only when a terminal would interpret them.
pub fn raw(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        write!(out, "{}", sanitize::for_terminal(&String::from_utf8_lossy(bytes), true))?;
    } else {
        out.write_all(bytes)?;
    }
    Ok(())
}

/// `log` (`-p`: `diffs[i]` leads from version i+1 to version i+2).
pub fn log(
    out: &mut impl Write,
    style: &Style,
    id: &ArticleId,
    article: &ArticleEntry,
    rows: &[LogRow],
    diffs: &[VersionDiff],
    context: usize,
) -> Result<()> {
    if !style.json {
        writeln!(out, "{} {}  {}", style.bold("article"), id, opt(&article.url))?;
    }
    for (i, row) in rows.iter().enumerate() {
        let diff = i.checked_sub(1).and_then(|d| diffs.get(d));
        if style.json {
            let mut value = serde_json::to_value(row)?;
            if let Some(diff) = diff {
                value["diff"] = serde_json::to_value(diff)?;
            }
            json_line(out, &value)?;
        } else {
            writeln!(
                out,
                "{:>3}  {}  {}  {:>5}w  {:>3}c  {:<3}  {}",
                i + 1,
                style.bold(short(&row.hash)),
                row.captured_at,
                row.words,
                row.captures,
                row.link,
                opt(&row.title)
            )?;
            if let Some(diff) = diff {
                newsvault::diff::render::inline(&mut *out, diff, context, style.color)?;
                writeln!(out)?;
            }
        }
    }
    Ok(())
}

/// `near`.
pub fn near(out: &mut impl Write, style: &Style, rows: &[NearRow]) -> Result<()> {
    for row in rows {
        if style.json {
            json_line(out, row)?;
        } else {
            writeln!(
                out,
                "{:.3}  {:.3}  {}  {}  {}  {}",
                row.jaccard,
                row.containment,
                style.bold(short(&row.hash)),
                short(&row.article),
                opt(&row.source),
                opt(&row.title)
            )?;
        }
    }
    Ok(())
}

/// `near` with several references: each answer headed by its reference (text), or
/// each row carrying it as `of` (JSON).
pub fn near_of(out: &mut impl Write, style: &Style, reference: &str, rows: &[NearRow]) -> Result<()> {
    #[derive(Serialize)]
    struct Of<'a> {
        of: &'a str,
        #[serde(flatten)]
        row: &'a NearRow,
    }
    if style.json {
        for row in rows {
            json_line(out, &Of { of: reference, row })?;
        }
        return Ok(());
    }
    writeln!(out, "== {}", style.bold(&sanitize::line(reference)))?;
    near(out, style, rows)
}

/// `clusters`.
pub fn clusters(out: &mut impl Write, style: &Style, clusters: &[Cluster]) -> Result<()> {
    for cluster in clusters {
        if style.json {
            json_line(out, cluster)?;
            continue;
        }
        let articles: std::collections::BTreeSet<&str> =
            cluster.versions.iter().map(|v| v.article.as_str()).collect();
        writeln!(
            out,
            "{} {}: {} versions in {} articles",
            style.bold("cluster"),
            cluster.cluster,
            cluster.versions.len(),
            articles.len()
        )?;
        for v in &cluster.versions {
            let attribution =
                v.attribution.as_deref().map(|a| format!("  [{}]", sanitize::line(a))).unwrap_or_default();
            writeln!(
                out,
                "  {}  {}  {}  {}{}",
                short(&v.hash),
                opt(&v.source),
                opt(&v.title),
                opt(&v.url),
                attribution
            )?;
        }
    }
    Ok(())
}

/// `stats`.
pub fn stats(out: &mut impl Write, style: &Style, s: &Stats) -> Result<()> {
    if style.json {
        return json_line(out, s);
    }
    let ratio = if s.input_bytes > 0 { s.stored_bytes as f64 / s.input_bytes as f64 } else { 0.0 };
    writeln!(out, "articles     {}", s.articles)?;
    writeln!(out, "versions     {}", s.versions)?;
    writeln!(out, "bodies       {}  (distinct texts)", s.bodies)?;
    writeln!(out, "captures     {}", s.captures)?;
    writeln!(out, "near groups  {}  (bodies linked by Jaccard >= 0.5 or containment >= 0.8)", s.near_groups)?;
    writeln!(out, "input        {}", human_bytes(s.input_bytes))?;
    writeln!(
        out,
        "on disk      {}  ({ratio:.2}x the input; index {}, packs {})",
        human_bytes(s.stored_bytes),
        human_bytes(s.index_bytes),
        human_bytes(s.pack_bytes)
    )?;
    writeln!(out, "normaliser   version {}", s.normalizer)?;
    Ok(())
}

/// `compact`.
pub fn compacted(out: &mut impl Write, style: &Style, done: &Compaction) -> Result<()> {
    if style.json {
        return json_line(out, done);
    }
    compacted_line(out, done)
}

/// What a compaction did, in one line.
fn compacted_line(out: &mut impl Write, done: &Compaction) -> Result<()> {
    if !done.swapped {
        writeln!(
            out,
            "copied {} keys ({}): the copy was no smaller than sled's files, which are kept as they were ({} on disk)",
            done.keys,
            human_bytes(done.content_bytes),
            human_bytes(done.bytes_before)
        )?;
        return Ok(());
    }
    let freed = done.bytes_before.saturating_sub(done.bytes_after);
    writeln!(
        out,
        "copied {} keys ({}): on disk {} -> {}, {} freed",
        done.keys,
        human_bytes(done.content_bytes),
        human_bytes(done.bytes_before),
        human_bytes(done.bytes_after),
        human_bytes(freed)
    )?;
    Ok(())
}

/// `verify`.
pub fn verify(out: &mut impl Write, style: &Style, report: &VerifyReport) -> Result<()> {
    if style.json {
        return json_line(out, report);
    }
    for p in &report.problems {
        writeln!(out, "problem: {} {}: {}", p.tree, p.key, sanitize::line(&p.what))?;
    }
    if report.unfinished > 0 {
        writeln!(
            out,
            "{} records are half-written by an interrupted ingest (not damage): run it again to complete them",
            report.unfinished
        )?;
    }
    if report.is_ok() {
        writeln!(out, "checked {} values: no problems", report.checked)?;
    } else {
        writeln!(out, "checked {} values: {} problems", report.checked, report.problems.len())?;
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps the rows it is given.
    #[derive(Default)]
    struct Kept(Vec<ExportRow>);

    impl RowWriter for Kept {
        fn row(&mut self, row: &ExportRow) -> std::io::Result<()> {
            self.0.push(row.clone());
            Ok(())
        }

        fn finish(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn rows_for_a_terminal_lose_escapes_and_bidi_controls_but_keep_their_paragraphs() {
        let row = ExportRow {
            hash: "ab".repeat(32),
            article: "cd".repeat(16),
            url: Some("https://e.example/\u{1b}]8;;x\u{7}".into()),
            title: Some("Hi\u{1b}[2J\u{202e}there".into()),
            published: None,
            captured_at: "2024-03-01T08:00:00Z".into(),
            source: Some("e\u{2066}xample".into()),
            body: "First\u{200b} paragraph.\nSecond\r paragraph.".into(),
            cluster: None,
            duplicates: 1,
        };
        let mut kept = Kept::default();
        TerminalRows(&mut kept).row(&row).unwrap();
        let shown = &kept.0[0];
        assert_eq!(shown.url.as_deref(), Some("https://e.example/]8;;x"));
        assert_eq!(shown.title.as_deref(), Some("Hi[2Jthere"));
        assert_eq!(shown.source.as_deref(), Some("example"));
        assert_eq!(shown.body, "First paragraph.\nSecond  paragraph.");
        assert_eq!((&shown.hash, &shown.captured_at), (&row.hash, &row.captured_at));
    }
}
