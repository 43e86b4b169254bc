//! Command-line definitions and one thin adapter per command: flags in, library call,
//! rendered answer out. Owns argument names, help texts and exit codes; never does the
//! archive's work itself.

mod progress;
mod render;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use newsvault::{Archive, Format, IngestOptions, ListFilter};

/// Exit code: something failed (including "some inputs were rejected").
pub const EXIT_FAILURE: u8 = 1;

/// newsvault keeps a clean, deduplicated archive of scraped news.
///
/// Article bodies are normalised and stored once, content-addressed by BLAKE3, with
/// every capture recorded and every article's versions kept in capture order.
#[derive(Debug, Parser)]
#[command(name = "newsvault", version, max_term_width = 100)]
#[command(
    after_help = "Start with `newsvault ingest PATH...`, then `newsvault list` and `newsvault show REF`.\n\
REF is a version hash or article id (any unique prefix of 4+ hex characters) or an article URL."
)]
pub struct Cli {
    /// The archive directory (created by the first ingest).
    #[arg(long, global = true, env = "NEWSVAULT_ARCHIVE", default_value = ".newsvault", value_name = "DIR")]
    archive: PathBuf,

    /// Print machine-readable JSON on stdout (one object, or JSON Lines for lists).
    #[arg(long, global = true)]
    json: bool,

    /// When to use colour (NO_COLOR in the environment means never, unless `always`).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    color: ColorChoice,

    #[command(subcommand)]
    command: Command,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read scraped articles into the archive.
    ///
    /// PATHs are files, directories (read recursively, hidden entries skipped) or `-`
    /// for standard input. Gzip is read transparently. The format is detected from the
    /// name and content: text page dumps, HTML, JSON records, JSON Lines, WARC.
    /// A record without a capture time is taken as captured when its file was last
    /// modified (standard input: now). Ingesting the same capture again stores nothing.
    /// Bad files, lines and records are reported on stderr and skipped; the exit code
    /// is then 1, and every good record is still stored.
    Ingest(IngestArgs),
    /// List articles, oldest first: id, versions, captures, last seen, source, title.
    List(ListArgs),
    /// Show one version: its metadata and normalised body (one paragraph per line).
    Show(ShowArgs),
    /// An article's versions in capture order: number, hash, first capture, words,
    /// captures, how it was linked, title.
    Log(LogArgs),
    /// What changed between two versions: the headline and other metadata first, then the
    /// body. REFs can be versions of one article or copies across outlets.
    ///
    /// Formats: `inline` (word diff; git's `[-old-]{+new+}` markers without colour),
    /// `unified` (a patch that `patch` applies to the first body as `show` prints it),
    /// `side-by-side` (two columns sized to the terminal), `json` (the operations and
    /// figures), `html` (one self-contained page).
    Diff(DiffArgs),
    /// Stored versions similar to one, best first: Jaccard, containment, hash, article,
    /// source, title. Other articles with the very same text come first (1.000).
    ///
    /// Similarity is measured on word 5-shingles (lower-cased words, 5 at a time): Jaccard
    /// is shared / all shingles; containment is how much of the shorter text is inside
    /// the longer (a copy that drops or adds paragraphs scores high there). Each ingest puts
    /// a new body in the group of the stored bodies it resembles (Jaccard 0.5, or
    /// containment 0.8); near compares the version with every member of its group, so
    /// every score shown is exact and every member at the threshold is listed.
    Near(NearArgs),
    /// Groups of near-duplicate versions across articles (syndicated copies, wire stories),
    /// largest first, with each member's source, URL and attribution.
    Clusters(ClustersArgs),
    /// Write a deduplicated set of versions: one row per exported version with its hash,
    /// article, URL, title, dates, source, body, near-duplicate cluster and how many
    /// versions it stands for (`duplicates`).
    ///
    /// `--dedup exact` keeps one version per distinct text, `near` one per cluster of
    /// near-duplicates at `--threshold`; `--keep` picks which. Output goes to stdout or,
    /// atomically, to `--output` (a `.gz` WARC path gets one gzip member per record; `txt`
    /// needs `--output DIR`, one file per version, named HASH-ARTICLE.txt).
    Export(ExportArgs),
    /// Counts and sizes of the archive.
    Stats,
    /// Re-hash every stored body and raw capture and check every reference.
    /// Exit code 1 if anything is wrong.
    Verify,
    /// Give back the disk space the archive's index files hold beyond their contents.
    ///
    /// An ingest writes keys in random order, and the embedded database keeps old copies
    /// of its pages: after a large ingest its files can be three to four times what they
    /// hold. Compaction writes them again in key order (the packs of bodies and captures
    /// are already compact and are not touched). It needs free space for one more copy of
    /// the index files while it runs. Interrupting it is safe: the next command finishes
    /// or discards it.
    Compact(CompactArgs),
}

#[derive(Debug, Args)]
struct CompactArgs {
    /// Do not draw a progress line.
    #[arg(long)]
    no_progress: bool,
}

#[derive(Debug, Args)]
struct IngestArgs {
    /// Files, directories or `-` (standard input).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Read every input as this format instead of detecting it.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<FormatArg>,
    /// The outlet to record for articles whose input names none and has no URL.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
    /// When records that give no capture time were captured (default: their file's
    /// modification time; standard input: now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    captured_at: Option<i64>,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Whether to compact the index when the ingest is done: `auto` once its files
    /// have reached 64 MiB and doubled since the last compaction (see `compact`).
    #[arg(long, value_enum, default_value_t = CompactWhen::Auto, value_name = "WHEN")]
    compact: CompactWhen,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CompactWhen {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    Text,
    Html,
    Json,
    Jsonl,
    Warc,
}

impl From<FormatArg> for Format {
    fn from(format: FormatArg) -> Format {
        match format {
            FormatArg::Text => Format::Text,
            FormatArg::Html => Format::Html,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Warc => Format::Warc,
        }
    }
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Only this outlet (`svt.se` also matches `www.svt.se`).
    #[arg(long, value_name = "SOURCE")]
    source: Option<String>,
    /// Only articles captured at or after this date or time (`2017-08-20`, RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_time)]
    since: Option<i64>,
    /// Only articles first captured at or before this date (the whole day, UTC) or time.
    #[arg(long, value_name = "DATE", value_parser = parse_range_end)]
    until: Option<i64>,
    /// Only articles whose title contains this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// A version hash, an article id (its latest version) or an article URL.
    #[arg(value_name = "REF")]
    reference: String,
    /// Print the stored original capture (the latest capture of this version) instead.
    #[arg(long)]
    raw: bool,
}

#[derive(Debug, Args)]
struct LogArgs {
    /// An article id, an article URL, or a version hash (its article).
    #[arg(value_name = "ARTICLE")]
    reference: String,
    /// With each version's diff to the one before (inline; `--json` adds a `diff` object).
    #[arg(short = 'p', long = "patch")]
    patch: bool,
    /// With `-p`: unchanged paragraphs shown around each change.
    #[arg(long, default_value_t = 1, value_name = "N")]
    context: usize,
    /// Accepted and unused, as it always was here: scripts that pass it keep working.
    #[arg(long, value_name = "COLUMNS", hide = true)]
    width: Option<usize>,
}

#[derive(Debug, Args)]
struct DiffArgs {
    /// The old version.
    #[arg(value_name = "REF")]
    old: String,
    /// The new version.
    #[arg(value_name = "REF")]
    new: String,
    /// How to show it (`--json` means `--format json`).
    #[arg(long, value_enum, default_value_t = DiffFormat::Inline, value_name = "FORMAT")]
    format: DiffFormat,
    #[command(flatten)]
    layout: DiffLayout,
}

/// Layout of human-readable diffs.
#[derive(Debug, Args)]
struct DiffLayout {
    /// Unchanged paragraphs shown around each change (lines of context in `unified`).
    #[arg(long, default_value_t = 1, value_name = "N")]
    context: usize,
    /// Width of `side-by-side` (default: the terminal's, else 100).
    #[arg(long, value_name = "COLUMNS")]
    width: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DiffFormat {
    Inline,
    Unified,
    SideBySide,
    Json,
    Html,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl, value_name = "FORMAT")]
    format: ExportFormat,
    /// How to deduplicate.
    #[arg(long, value_enum, default_value_t = DedupArg::None, value_name = "HOW")]
    dedup: DedupArg,
    /// Jaccard threshold of `--dedup near` and of the `cluster` field (0 to 1).
    #[arg(long, default_value_t = 0.8, value_parser = parse_fraction, value_name = "J")]
    threshold: f32,
    /// Which version stands for its group.
    #[arg(long, value_enum, default_value_t = KeepArg::Earliest, value_name = "WHICH")]
    keep: KeepArg,
    /// Only the newest version of each article.
    #[arg(long)]
    latest: bool,
    /// Where to write (default: stdout).
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
    #[command(flatten)]
    filter: ListArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Jsonl,
    Csv,
    Warc,
    Txt,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum DedupArg {
    None,
    Exact,
    Near,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum KeepArg {
    Earliest,
    Latest,
    Longest,
}

#[derive(Debug, Args)]
struct NearArgs {
    /// Version hashes, article ids (their latest version) or article URLs. `-` reads
    /// them from standard input, one per line: one process answers them all, which
    /// saves the archive's opening for every reference after the first. With more than
    /// one, each answer is headed by its reference (JSON rows carry it as `of`).
    #[arg(value_name = "REF", required = true)]
    references: Vec<String>,
    /// The least Jaccard similarity to list (0 to 1).
    #[arg(long, default_value_t = 0.8, value_parser = parse_fraction, value_name = "J")]
    threshold: f32,
}

#[derive(Debug, Args)]
struct ClustersArgs {
    /// The least Jaccard similarity that joins two versions (0 to 1).
    #[arg(long, default_value_t = 0.8, value_parser = parse_fraction, value_name = "J")]
    threshold: f32,
    /// Only clusters of at least this many versions.
    #[arg(long, default_value_t = 2, value_name = "N")]
    min_size: usize,
}

fn parse_fraction(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("`{text}` is not a number from 0 to 1")),
    }
}

fn parse_time(text: &str) -> Result<i64, String> {
    seconds_of(text, newsvault::dates::parse_timestamp(text))
}

fn parse_range_end(text: &str) -> Result<i64, String> {
    seconds_of(text, newsvault::dates::parse_range_end(text))
}

/// A date argument read, in Unix seconds, or the one message for any that cannot be.
fn seconds_of(text: &str, read: Option<jiff::Timestamp>) -> Result<i64, String> {
    read.map(|t| t.as_second())
        .ok_or_else(|| format!("`{text}` is not a date or time (try 2017-08-20 or 2017-08-20T12:00:00Z)"))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let out = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(out);
    let color = render::use_color(cli.color, std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let style = render::Style { json: cli.json, color };
    let code = match &cli.command {
        Command::Ingest(args) => ingest(&cli, args, &style, &mut out)?,
        Command::List(args) => {
            render::list(&mut out, &style, &open(&cli)?.list(&list_filter(args))?)?;
            ExitCode::SUCCESS
        }
        Command::Show(args) => {
            let archive = open(&cli)?;
            if args.raw {
                render::raw(&mut out, &archive.raw(&args.reference)?)?;
            } else {
                render::show(&mut out, &style, &archive.show(&args.reference)?)?;
            }
            ExitCode::SUCCESS
        }
        Command::Log(args) => {
            let archive = open(&cli)?;
            let (id, article, rows) = archive.log(&args.reference)?;
            let diffs = if args.patch { archive.log_diffs(id)? } else { Vec::new() };
            render::log(&mut out, &style, &id, &article, &rows, &diffs, args.context)?;
            ExitCode::SUCCESS
        }
        Command::Diff(args) => {
            let diff = open(&cli)?.diff(&args.old, &args.new)?;
            let format = if cli.json { DiffFormat::Json } else { args.format };
            let width = args.layout.width.unwrap_or_else(terminal_width);
            let context = args.layout.context;
            match format {
                DiffFormat::Inline => newsvault::diff::render::inline(&mut out, &diff, context, color)?,
                DiffFormat::Unified => newsvault::diff::render::unified(&mut out, &diff, context.max(1))?,
                DiffFormat::SideBySide => {
                    newsvault::diff::render::side_by_side(&mut out, &diff, width, context, color)?
                }
                DiffFormat::Json => newsvault::diff::render::json(&mut out, &diff)?,
                DiffFormat::Html => newsvault::diff::render::html(&mut out, &diff)?,
            }
            ExitCode::SUCCESS
        }
        Command::Near(args) => near(&cli, args, &style, &mut out)?,
        Command::Clusters(args) => {
            render::clusters(&mut out, &style, &open(&cli)?.clusters(args.threshold, args.min_size)?)?;
            ExitCode::SUCCESS
        }
        Command::Export(args) => {
            let rows = export(&cli, args)?;
            if cli.json {
                writeln!(out, "{{\"exported\":{rows}}}")?;
            }
            ExitCode::SUCCESS
        }
        Command::Stats => {
            render::stats(&mut out, &style, &open(&cli)?.stats()?)?;
            ExitCode::SUCCESS
        }
        Command::Compact(args) => {
            let progress = progress::Bar::new(!args.no_progress);
            render::compacted(&mut out, &style, &open(&cli)?.compact(&progress)?)?;
            ExitCode::SUCCESS
        }
        Command::Verify => {
            let report = Archive::open_for_inspection(&cli.archive)?.verify()?;
            render::verify(&mut out, &style, &report)?;
            if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILURE) }
        }
    };
    out.flush()?;
    Ok(code)
}

fn list_filter(args: &ListArgs) -> ListFilter {
    ListFilter {
        source: args.source.clone(),
        since: args.since,
        until: args.until,
        title: args.title.clone(),
    }
}

fn export(cli: &Cli, args: &ExportArgs) -> Result<u64> {
    use newsvault::export::{
        self, CsvWriter, Dedup, ExportOptions, JsonlWriter, Keep, RowWriter, TxtWriter, WarcWriter,
    };
    let options = ExportOptions {
        dedup: match args.dedup {
            DedupArg::None => Dedup::None,
            DedupArg::Exact => Dedup::Exact,
            DedupArg::Near => Dedup::Near,
        },
        threshold: args.threshold,
        keep: match args.keep {
            KeepArg::Earliest => Keep::Earliest,
            KeepArg::Latest => Keep::Latest,
            KeepArg::Longest => Keep::Longest,
        },
        latest: args.latest,
        filter: list_filter(&args.filter),
    };
    let archive = open(cli)?;
    let terminal = args.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    // Rows shown on the terminal are the progress; a bar would be drawn over them.
    let progress = progress::Bar::new(!args.no_progress && !terminal);
    let gzip = args.output.as_ref().is_some_and(|p| p.extension().is_some_and(|e| e == "gz"));
    let write = |writer: &mut dyn RowWriter| {
        if terminal {
            archive.export(&options, &mut render::TerminalRows(writer), &progress)
        } else {
            archive.export(&options, writer, &progress)
        }
    };
    if args.format == ExportFormat::Txt {
        let dir =
            args.output.as_ref().context("`--format txt` writes a directory: give it with --output DIR")?;
        let mut writer = TxtWriter::new(dir).with_context(|| format!("export to {}", dir.display()))?;
        return Ok(archive.export(&options, &mut writer, &progress)?);
    }
    let run = |out: &mut dyn Write| -> newsvault::Result<u64> {
        match args.format {
            ExportFormat::Jsonl => write(&mut JsonlWriter::new(out)),
            ExportFormat::Csv => write(&mut CsvWriter::new(out)),
            ExportFormat::Warc => write(&mut WarcWriter::new(out, gzip)),
            ExportFormat::Txt => unreachable!("a txt export is a directory, written above"),
        }
    };
    Ok(match &args.output {
        Some(path) => export::write_atomically(path, run)?,
        None => run(&mut std::io::stdout().lock())?,
    })
}

/// The terminal's width, or 100 when stdout is not a terminal.
fn terminal_width() -> usize {
    terminal_size::terminal_size().map_or(100, |(w, _)| usize::from(w.0))
}

fn open(cli: &Cli) -> Result<Archive> {
    Ok(Archive::open(&cli.archive)?)
}

/// `near`: one reference answered as the contract says, or many, each headed by its
/// reference; a reference that cannot be answered is reported and the rest go on.
fn near(cli: &Cli, args: &NearArgs, style: &render::Style, out: &mut impl Write) -> Result<ExitCode> {
    let archive = open(cli)?;
    if let [reference] = args.references.as_slice()
        && reference != "-"
    {
        render::near(out, style, &archive.near(reference, args.threshold)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut references = Vec::new();
    for reference in &args.references {
        if reference == "-" {
            for line in std::io::BufRead::lines(std::io::stdin().lock()) {
                let line = line.context("reading references from standard input")?;
                references.extend((!line.trim().is_empty()).then(|| line.trim().to_string()));
            }
        } else {
            references.push(reference.clone());
        }
    }
    let mut failed = false;
    let groups = archive.near_groups()?;
    for reference in &references {
        match archive.near_in(&groups, reference, args.threshold) {
            Ok(rows) => render::near_of(out, style, reference, &rows)?,
            Err(error) => {
                out.flush()?;
                eprintln!("newsvault: {}", newsvault::sanitize::line(&format!("{error:#}")));
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::from(EXIT_FAILURE) } else { ExitCode::SUCCESS })
}

fn ingest(cli: &Cli, args: &IngestArgs, style: &render::Style, out: &mut impl Write) -> Result<ExitCode> {
    let archive = Archive::open_or_create(&cli.archive)?;
    let options = IngestOptions {
        format: args.format.map(Format::from),
        source: args.source.clone(),
        captured_at: args.captured_at.and_then(|s| jiff::Timestamp::from_second(s).ok()),
    };
    let progress = progress::Bar::new(!args.no_progress);
    let summary = archive
        .ingest(&args.paths, &options, &progress)
        .with_context(|| format!("ingest into {}", cli.archive.display()))?;
    let compact = match args.compact {
        CompactWhen::Auto => archive.compaction_due()?,
        CompactWhen::Always => true,
        CompactWhen::Never => false,
    };
    let compacted = if compact {
        let bar = progress::Bar::new(!args.no_progress);
        Some(archive.compact(&bar).with_context(|| format!("compact {}", cli.archive.display()))?)
    } else {
        None
    };
    render::ingest_summary(out, style, &summary, compacted.as_ref())?;
    Ok(if summary.rejected > 0 { ExitCode::from(EXIT_FAILURE) } else { ExitCode::SUCCESS })
}

/// Whether an error is a closed stdout (`newsvault list | head`): not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == BrokenPipe)
            || matches!(cause.downcast_ref(), Some(newsvault::Error::Io { cause, .. }) if cause.kind() == BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}
