//! `verify`: re-hashes every stored body and raw capture (and checks the index's segments
//! and joins against the hashes recorded for them) and checks every reference
//! between the trees (articles, captures, the articles each body names, near-duplicate
//! groups, index segments). Owns the list of what can be wrong; collects every finding into a report
//! and never stops at the first, and never repairs anything.
//!
//! A tree that cannot be read to its end (sled reports damaged pages) is one problem;
//! references into it are then not checked, so one damaged page does not bury the
//! report under thousands of consequences.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::archive::Archive;
use crate::error::Result;
use crate::id::{ArticleId, BodyHash, RawHash};
use crate::store::model::{Link, VersionEntry};
use crate::store::pack::Location;

/// One thing found wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Which tree.
    pub tree: &'static str,
    /// Which key (hex, short).
    pub key: String,
    /// What is wrong.
    pub what: String,
}

/// What `verify` found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Values checked.
    pub checked: u64,
    /// Records an interrupted ingest left half-written (a body naming an article not
    /// written yet, pack bytes past the recorded end): running the ingest again
    /// completes them, and readers never see them. Not problems.
    pub unfinished: u64,
    /// Everything found wrong.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    fn problem(&mut self, tree: &'static str, key: impl Into<String>, what: impl Into<String>) {
        self.problems.push(Problem { tree, key: key.into(), what: what.into() });
    }

    /// Whether nothing was found wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The sound keys of a tree, and whether the whole tree could be read.
struct Sound<K> {
    keys: HashSet<K>,
    complete: bool,
}

impl<K: Eq + std::hash::Hash> Sound<K> {
    /// Whether `key` is missing; `false` when the tree was not read to its end,
    /// because then its absence proves nothing.
    fn lacks(&self, key: &K) -> bool {
        self.complete && !self.keys.contains(key)
    }
}

/// Where the body entries read say each body's text is; `complete` when the whole
/// bodies tree was read.
struct Places {
    at: HashMap<BodyHash, Location>,
    complete: bool,
}

impl Archive {
    /// Checks the whole archive.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        if let Some(lost) = self.store.lost_writes() {
            report.problem(
                "captures",
                "-",
                format!(
                    "the last completed ingest left {} captures and the archive's counter now says {}: \
                     sled cut its log at damage and what followed is lost",
                    lost.committed, lost.found
                ),
            );
        }
        let bodies = verify_blobs("bodies", self.store.body_entries(), &mut report, |hash, bytes| {
            std::str::from_utf8(bytes).is_ok_and(|text| BodyHash::of(text) == *hash)
        });
        let unrecorded = self.store.unrecorded_pack_bytes();
        if unrecorded > 0 {
            // A stopped ingest wrote them and never pointed at them; the next cuts them off.
            report.unfinished += 1;
        }
        let articles = self.verify_articles(&bodies, &mut report);
        let places = self.verify_body_links(&articles, &mut report);
        self.verify_near(&bodies, &places, &mut report);
        Ok(report)
    }

    /// Articles, their versions and the versions' captures; returns each readable
    /// article's bodies.
    fn verify_articles(
        &self,
        bodies: &Sound<BodyHash>,
        report: &mut VerifyReport,
    ) -> Sound<(ArticleId, BodyHash)> {
        let mut held = Sound { keys: HashSet::new(), complete: true };
        let mut captures = 0;
        for item in self.store.articles() {
            report.checked += 1;
            let (id, article) = match item {
                Ok(entry) => entry,
                Err(e) => {
                    report.problem("articles", "?", e.to_string());
                    held.complete = false;
                    continue;
                }
            };
            if article.key.id() != id {
                report.problem("articles", id.short(), "stored under an id that its key does not give");
            }
            if article.versions.is_empty() {
                report.problem("articles", id.short(), "has no versions");
            }
            for version in &article.versions {
                if bodies.lacks(&version.hash) {
                    report.problem(
                        "articles",
                        id.short(),
                        format!("version {} has no stored body", version.hash.short()),
                    );
                }
                if let Link::Similar { to, .. } = version.link
                    && bodies.lacks(&to)
                {
                    report.problem(
                        "articles",
                        id.short(),
                        format!(
                            "version {} was linked by similarity to a missing body",
                            version.hash.short()
                        ),
                    );
                }
                if !held.keys.insert((id, version.hash)) {
                    report.problem(
                        "articles",
                        id.short(),
                        format!("version {} is listed twice", version.hash.short()),
                    );
                }
                captures += self.verify_captures(&id, version, bodies, report);
            }
        }
        if held.complete {
            self.verify_capture_count(captures, report);
        }
        held
    }

    /// Every version's body names its article; a body naming an article that lacks it
    /// is unfinished. Returns where each body entry read says its text is.
    fn verify_body_links(&self, held: &Sound<(ArticleId, BodyHash)>, report: &mut VerifyReport) -> Places {
        let mut linked = HashSet::new();
        let mut places = Places { at: HashMap::new(), complete: true };
        let mut complete = true;
        for item in self.store.body_records() {
            match item {
                Ok((hash, entry)) => {
                    places.at.insert(hash, entry.at);
                    for article in entry.articles {
                        link(held, &mut linked, report, (article, hash));
                    }
                }
                Err(e) => {
                    report.problem("bodies", "?", e.to_string());
                    complete = false;
                    places.complete = false;
                }
            }
        }
        // Holders past the first few are keys of their own, each of a stored body.
        for item in self.store.overflow_holders() {
            match item {
                Ok((hash, article)) => {
                    if places.complete && !places.at.contains_key(&hash) {
                        report.problem(
                            "holders",
                            hash.short(),
                            format!("names article {} as holding a body not stored", article.short()),
                        );
                    }
                    link(held, &mut linked, report, (article, hash));
                }
                Err(e) => {
                    report.problem("holders", "?", e.to_string());
                    complete = false;
                }
            }
        }
        if complete {
            for (article, hash) in held.keys.difference(&linked) {
                report.problem(
                    "bodies",
                    hash.short(),
                    format!("does not name article {} which holds it", article.short()),
                );
            }
        }
        places
    }

    /// A version has captures, and every capture its raw bytes, which hash as
    /// recorded; returns how many captures it has.
    fn verify_captures(
        &self,
        id: &ArticleId,
        version: &VersionEntry,
        bodies: &Sound<BodyHash>,
        report: &mut VerifyReport,
    ) -> u64 {
        if version.captures.is_empty() {
            report.problem(
                "articles",
                id.short(),
                format!("version {} has no captures", version.hash.short()),
            );
        }
        // A raw capture is compressed against its body: with the body damaged or
        // missing (reported there) it cannot be read.
        if bodies.keys.contains(&version.hash)
            && let Ok(Some(body)) = self.store.body(&version.hash)
        {
            for capture in &version.captures {
                report.checked += 1;
                // raw_of checks the bytes against the capture's hash.
                if let Err(e) = self.store.raw_of(capture, &body) {
                    report.problem("raws", capture.raw.short(), e.to_string());
                }
            }
        }
        version.captures.len() as u64
    }

    /// The captures stored add up to the archive's count of those written.
    fn verify_capture_count(&self, count: u64, report: &mut VerifyReport) {
        match self.store.captures_written() {
            Ok(Some(counted)) if counted > count => report.problem(
                "captures",
                "-",
                format!("{count} captures are stored but {counted} were written"),
            ),
            Ok(_) => {}
            Err(e) => report.problem("meta", "captures", e.to_string()),
        }
    }

    /// Every index segment decodes and names stored bodies; every join names stored,
    /// indexed bodies and belongs to a segment.
    fn verify_near(&self, bodies: &Sound<BodyHash>, places: &Places, report: &mut VerifyReport) {
        let mut indexed = Sound { keys: HashSet::new(), complete: true };
        let mut next = 0u64;
        for segment in self.store.near_segments() {
            report.checked += 1;
            match segment {
                Ok((number, content)) => {
                    // Segments are numbered from 0 without gaps: a missing one is bodies
                    // that groups name and the index does not hold.
                    if number != next {
                        report.problem(
                            "near",
                            format!("segment #{number}"),
                            format!("segments #{next} to #{} are missing", number.saturating_sub(1)),
                        );
                        indexed.complete = false;
                    }
                    next = number + 1;
                    let entries = match content {
                        Ok(entries) => entries,
                        Err(e) => {
                            report.problem("near", format!("segment #{number}"), e.to_string());
                            indexed.complete = false;
                            continue;
                        }
                    };
                    for (hash, _, at) in entries {
                        if bodies.lacks(&hash) {
                            report.problem(
                                "near",
                                format!("segment #{number}"),
                                format!("indexes missing body {}", hash.short()),
                            );
                        }
                        // An ingest reads the body where its segment says.
                        if let Some(at) = at
                            && let Some(stored_at) = self.place_of(&hash, places)
                            && at != stored_at
                        {
                            report.problem(
                                "near",
                                format!("segment #{number}"),
                                format!(
                                    "places body {} at {}:{}, where its entry says {}:{}",
                                    hash.short(),
                                    at.pack,
                                    at.offset,
                                    stored_at.pack,
                                    stored_at.offset
                                ),
                            );
                        }
                        indexed.keys.insert(hash);
                    }
                }
                Err(e) => {
                    report.problem("near", format!("segment #{next}"), e.to_string());
                    indexed.complete = false;
                }
            }
        }
        // Every join names bodies that are stored and indexed, and comes with its segment.
        for item in self.store.near_joins() {
            report.checked += 1;
            let (number, joins) = match item {
                Ok((number, Ok(joins))) => (number, joins),
                Ok((number, Err(e))) => {
                    report.problem("near", format!("joins #{number}"), e.to_string());
                    continue;
                }
                Err(e) => {
                    report.problem("near", "joins", e.to_string());
                    continue;
                }
            };
            if indexed.complete && number >= next {
                report.problem("near", format!("joins #{number}"), "have no index segment");
            }
            for (body, others) in joins {
                for end in std::iter::once(&body).chain(&others) {
                    if bodies.lacks(end) || indexed.lacks(end) {
                        report.problem(
                            "near",
                            body.short(),
                            format!("is joined with {}, which is not a stored, indexed body", end.short()),
                        );
                    }
                }
            }
        }
    }

    /// Where a body's entry says its text is: from the entries read, or, past damage
    /// that ended their reading, from its entry.
    fn place_of(&self, hash: &BodyHash, places: &Places) -> Option<Location> {
        match places.at.get(hash) {
            Some(at) => Some(*at),
            None if !places.complete => self.store.body_entry(hash).ok().flatten().map(|entry| entry.at),
            None => None,
        }
    }
}

/// Reads and re-hashes every entry of a blob tree; returns the hashes that are sound.
/// Records that a body names an article as holding it (in its entry or a key of its
/// own). A body names its article just before the article is written, so one the
/// articles do not show holding it is where an ingest stopped between the two.
fn link(
    held: &Sound<(ArticleId, BodyHash)>,
    linked: &mut HashSet<(ArticleId, BodyHash)>,
    report: &mut VerifyReport,
    named: (ArticleId, BodyHash),
) {
    if held.lacks(&named) {
        report.unfinished += 1;
    }
    linked.insert(named);
}

fn verify_blobs<K: Eq + std::hash::Hash + Copy + HashShort>(
    tree: &'static str,
    items: impl Iterator<Item = Result<(K, Result<Vec<u8>>)>>,
    report: &mut VerifyReport,
    matches: impl Fn(&K, &[u8]) -> bool,
) -> Sound<K> {
    let mut sound = Sound { keys: HashSet::new(), complete: true };
    for item in items {
        report.checked += 1;
        match item {
            Ok((hash, Ok(bytes))) if matches(&hash, &bytes) => {
                sound.keys.insert(hash);
            }
            Ok((hash, Ok(_))) => report.problem(tree, hash.short_hex(), "content does not match its hash"),
            Ok((hash, Err(e))) => report.problem(tree, hash.short_hex(), e.to_string()),
            Err(e) => {
                report.problem(tree, "?", e.to_string());
                sound.complete = false;
            }
        }
    }
    sound
}

/// The short hex form of a content hash, for reports.
trait HashShort {
    fn short_hex(&self) -> String;
}

impl HashShort for BodyHash {
    fn short_hex(&self) -> String {
        self.short()
    }
}

impl HashShort for RawHash {
    fn short_hex(&self) -> String {
        self.short()
    }
}
