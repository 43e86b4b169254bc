//! The HTML nesting guard against the parser. The input is a short ASCII pattern,
//! repeated until the tree html5ever builds from it (through `dom_query`, as
//! rs-trafilatura parses) is just past the guard's limit: `TARGET_DEPTH` (1,100) elements
//! deep, extrapolated from the depth of three shorter repetitions (measured without
//! recursion). `html::parse_bytes` promises to refuse pages nested deeper than its
//! `MAX_DEPTH` (1,000) before extraction; checks that it does, with an error that says
//! "nested". Refusing takes milliseconds, extracting a page that deep takes many seconds
//! under AddressSanitizer, so the page is parsed on a 2 MiB thread (rayon's stack, as in
//! ingest) and a verdict not back within `GUARD_WAIT` means the guard let it through
//! (confirmed by measuring the whole page's depth before failing). A stack overflow on
//! that thread is a failure too.
//!
//! Patterns that deepen the tree by less than one element per three repetitions, or not
//! steadily, are skipped (they would need pages too large to fuzz quickly).
//!
//! To look past a known miscount while it is unfixed, `NEWSVAULT_FUZZ_SKIP` takes a
//! comma-separated list: `stray-lt` skips patterns where (repeated) a `<` is followed by
//! a character that cannot start a tag (`<<v>`), `end-tags` patterns with `</`, `ruby`
//! patterns with `<rb`, `<rt` or `<rp`.
#![no_main]

use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use dom_query::Document;
use libfuzzer_sys::fuzz_target;
use newsvault::ingest::html;

/// The guard's limit (`MAX_DEPTH` in `src/ingest/html.rs`) plus `html` and `body`.
const LIMIT: usize = 5_002;
/// How deep the built page should be: just past the limit, so that a guard that
/// undercounts by a few percent is caught.
const TARGET_DEPTH: usize = 1_100;
const PROBE_REPEATS: usize = 300;
const MAX_PAGE_BYTES: usize = 1 << 20;
/// How long a refusal may take (it takes milliseconds).
const GUARD_WAIT: Duration = Duration::from_secs(3);

/// The deepest element nesting in the tree html5ever builds (html and body included).
fn dom_depth(page: &str) -> usize {
    let doc = Document::from(page);
    let mut deepest = 0;
    let mut stack = vec![(doc.root(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        let depth = if node.is_element() { depth + 1 } else { depth };
        deepest = deepest.max(depth);
        let mut child = node.first_child();
        while let Some(c) = child {
            child = c.next_sibling();
            stack.push((c, depth));
        }
    }
    deepest
}

/// Whether a pattern falls in a known miscount class the user asked to skip.
fn skipped(pattern: &[u8]) -> bool {
    static SKIP: OnceLock<String> = OnceLock::new();
    let skip = SKIP.get_or_init(|| std::env::var("NEWSVAULT_FUZZ_SKIP").unwrap_or_default());
    if skip.is_empty() {
        return false;
    }
    let twice = [pattern, pattern].concat().to_ascii_lowercase();
    let stray_lt =
        || twice.windows(2).any(|w| w[0] == b'<' && !(w[1].is_ascii_alphabetic() || b"/!?".contains(&w[1])));
    let end_tags = || twice.windows(2).any(|w| w == b"</");
    let ruby = || twice.windows(3).any(|w| w == b"<rb" || w == b"<rt" || w == b"<rp");
    skip.split(',').any(|class| match class.trim() {
        "stray-lt" => stray_lt(),
        "end-tags" => end_tags(),
        "ruby" => ruby(),
        _ => false,
    })
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() || !data.is_ascii() || !data.contains(&b'<') || skipped(data) {
        return;
    }
    let pattern = std::str::from_utf8(data).expect("ASCII");
    // Depth after 1, 2 and 3 probes' worth of repetitions: a pattern that deepens the
    // tree by the same amount per probe is extrapolated (parsing a page thousands deep just to
    // measure it costs seconds under AddressSanitizer: html5ever's scope checks walk the
    // open elements).
    let d: Vec<usize> = (1..=3).map(|k| dom_depth(&pattern.repeat(k * PROBE_REPEATS))).collect();
    let growth = d[2].saturating_sub(d[1]);
    if growth != d[1].saturating_sub(d[0]) || growth * 3 < PROBE_REPEATS {
        return;
    }
    let repeats = 3 * PROBE_REPEATS + (TARGET_DEPTH.saturating_sub(d[2]) * PROBE_REPEATS).div_ceil(growth);
    if repeats * pattern.len() > MAX_PAGE_BYTES {
        return;
    }
    let page = pattern.repeat(repeats);
    let (send, verdict) = mpsc::channel();
    let parse = {
        let page = page.clone();
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let _ = send.send(html::parse_bytes(page.as_bytes(), None).map(|r| r.body.len()));
            })
            .expect("spawn a parsing thread")
    };
    let verdict = verdict.recv_timeout(GUARD_WAIT);
    if let Ok(Err(reason)) = &verdict
        && reason.contains("nested")
    {
        parse.join().expect("parse_bytes panicked");
        return;
    }
    let depth = dom_depth(&page);
    assert!(
        depth <= LIMIT,
        "a page {depth} elements deep ({repeats} x {pattern:?}) got past the nesting guard: {}",
        match verdict {
            Ok(result) => format!("{result:?}"),
            Err(_) => format!("still extracting after {GUARD_WAIT:?}"),
        }
    );
    // Shallow after all (the extrapolation was off): let extraction finish.
    parse.join().expect("parse_bytes panicked");
});
