//! `verify`: re-hashes every stored body and raw capture and checks every reference
//! between the trees. Owns the list of what can be wrong; collects every finding into
//! a report and never stops at the first, and never repairs anything.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::archive::Archive;
use crate::error::Result;
use crate::id::{ArticleId, BodyHash, RawHash};
use crate::store::codec;

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

impl Archive {
    /// Checks the whole archive.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut report = VerifyReport::default();
        let bodies = verify_blobs("bodies", self.store.bodies(), &mut report, |key, bytes| {
            let hash = BodyHash::from_slice(key)?;
            (BodyHash::of(std::str::from_utf8(bytes).ok()?) == hash).then_some(hash)
        });
        let raws = verify_blobs("raws", self.store.raws(), &mut report, |key, bytes| {
            let hash = RawHash::from_slice(key)?;
            (RawHash::of(bytes) == hash).then_some(hash)
        });

        let mut versions: HashMap<ArticleId, HashSet<BodyHash>> = HashMap::new();
        for item in self.store.articles() {
            report.checked += 1;
            let (id, article) = match item {
                Ok(entry) => entry,
                Err(e) => {
                    report.problem("articles", "?", e.to_string());
                    continue;
                }
            };
            if article.key.id() != id {
                report.problem("articles", id.short(), "stored under an id that its key does not give");
            }
            for version in &article.versions {
                if !bodies.contains(&version.hash) {
                    report.problem(
                        "articles",
                        id.short(),
                        format!("version {} has no stored body", version.hash.short()),
                    );
                }
            }
            versions.insert(id, article.versions.iter().map(|v| v.hash).collect());
        }

        for item in self.store.body_links() {
            report.checked += 1;
            match item {
                Ok((hash, article)) if !versions.get(&article).is_some_and(|v| v.contains(&hash)) => report
                    .problem(
                        "body_articles",
                        hash.short(),
                        format!("links to article {} which lacks it", article.short()),
                    ),
                Ok(_) => {}
                Err(e) => report.problem("body_articles", "?", e.to_string()),
            }
        }

        for item in self.store.all_captures() {
            report.checked += 1;
            let (article, _, capture) = match item {
                Ok(entry) => entry,
                Err(e) => {
                    report.problem("captures", "?", e.to_string());
                    continue;
                }
            };
            match versions.get(&article) {
                None => {
                    report.problem("captures", article.short(), "capture of an article that does not exist")
                }
                Some(v) if !v.contains(&capture.body) => report.problem(
                    "captures",
                    article.short(),
                    format!("capture of body {} which is not a version of the article", capture.body.short()),
                ),
                Some(_) => {}
            }
            if !raws.contains(&capture.raw) {
                report.problem(
                    "captures",
                    article.short(),
                    format!("raw capture {} is missing", capture.raw.short()),
                );
            }
        }
        Ok(report)
    }
}

/// Decodes and re-hashes every value of a blob tree; returns the keys that are sound.
/// `sound_key` gives the key's id when the decoded content matches it.
fn verify_blobs<K: Eq + std::hash::Hash>(
    tree: &'static str,
    items: impl Iterator<Item = Result<(sled::IVec, sled::IVec)>>,
    report: &mut VerifyReport,
    sound_key: impl Fn(&[u8], &[u8]) -> Option<K>,
) -> HashSet<K> {
    let mut sound = HashSet::new();
    for item in items {
        report.checked += 1;
        let (key, value) = match item {
            Ok(kv) => kv,
            Err(e) => {
                report.problem(tree, "?", e.to_string());
                continue;
            }
        };
        let short = crate::id::hex(&key[..key.len().min(6)]);
        match codec::decode_blob(tree, &value) {
            Ok(bytes) => match sound_key(&key, &bytes) {
                Some(id) => {
                    sound.insert(id);
                }
                None => report.problem(tree, short, "content does not match its hash"),
            },
            Err(e) => report.problem(tree, short, e.to_string()),
        }
    }
    sound
}
