//! The questions asked of the near-duplicate groups: which stored versions resemble
//! this one (`near`), which pairs of bodies are alike (`near_pairs`), and which groups
//! of versions across articles are copies of one story (`clusters`). Scores are
//! computed from the texts of a group's members, never stored. Owns the answers'
//! shapes as data; never renders them.

use std::collections::HashMap;

use serde::Serialize;

use super::groups::{self, Components};
use super::{Similarity, shingle};
use crate::archive::Archive;
use crate::error::Result;
use crate::id::{ArticleId, BodyHash};

/// One version similar to the one asked about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NearRow {
    /// Its body hash.
    pub hash: String,
    /// Its article.
    pub article: String,
    /// Jaccard similarity of the two shingle sets.
    pub jaccard: f32,
    /// How much of the shorter text is inside the longer.
    pub containment: f32,
    /// The article's outlet.
    pub source: Option<String>,
    /// The version's title.
    pub title: Option<String>,
    /// The article's URL.
    pub url: Option<String>,
}

/// The near-duplicate groups of an archive, read once (see [`Archive::near_groups`]).
pub struct NearGroups {
    index: HashMap<BodyHash, usize>,
    groups: Vec<Vec<BodyHash>>,
}

/// One version in a cluster.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterMember {
    /// Body hash.
    pub hash: String,
    /// Article id.
    pub article: String,
    /// Outlet.
    pub source: Option<String>,
    /// URL.
    pub url: Option<String>,
    /// Title of this version.
    pub title: Option<String>,
    /// The attribution line, when the page had one ("TRTWorld and agencies", "TT").
    pub attribution: Option<String>,
}

/// A group of near-duplicate versions spanning two or more articles.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cluster {
    /// The cluster's name: the smallest member hash, short.
    pub cluster: String,
    /// Distinct member body hashes, sorted.
    pub members: Vec<String>,
    /// Every version (body in an article) of the cluster.
    pub versions: Vec<ClusterMember>,
}

impl Archive {
    /// Every pair of distinct bodies worth keeping ([`crate::near::is_kept`]) at
    /// Jaccard >= `threshold`, each once (smaller hash first), sorted. Pairs are
    /// looked for within each group, on all cores.
    pub fn near_pairs(&self, threshold: f32) -> Result<Vec<(BodyHash, BodyHash, Similarity)>> {
        use rayon::prelude::*;
        let per_group: Vec<Result<Vec<_>>> =
            self.groups()?.par_iter().map(|members| self.pairs_within(members, threshold)).collect();
        let mut pairs = Vec::new();
        for group in per_group {
            pairs.extend(group?);
        }
        pairs.sort_by_key(|pair| (pair.0, pair.1));
        Ok(pairs)
    }

    /// The near-duplicate groups, as the archive's joins make them.
    fn components(&self) -> Result<Components> {
        let mut components = Components::default();
        self.store.for_each_join(|body, others| {
            for other in others {
                components.union(*body, *other);
            }
            Ok(())
        })?;
        Ok(components)
    }

    /// The members of `hash`'s near-duplicate group (itself alone if it has none),
    /// found by [`groups::component_of`]: a small set kept while the joins are scanned,
    /// where building every group (`components`) would hash every grouped body of the
    /// archive (0.7 s at a million versions).
    fn group_of(&self, hash: &BodyHash) -> Result<Vec<BodyHash>> {
        Ok(groups::component_of(&self.store.near_joins_flat()?, *hash))
    }

    /// Every near-duplicate group's members (two or more).
    pub fn groups(&self) -> Result<Vec<Vec<BodyHash>>> {
        Ok(self.components()?.into_groups())
    }

    fn pairs_within(
        &self,
        members: &[BodyHash],
        threshold: f32,
    ) -> Result<Vec<(BodyHash, BodyHash, Similarity)>> {
        let shingles: Vec<Vec<u64>> =
            members.iter().map(|hash| Ok(shingle::shingles(&self.body(hash)?))).collect::<Result<_>>()?;
        let mut pairs = Vec::new();
        for i in 0..members.len() {
            for j in i + 1..members.len() {
                let similarity = shingle::similarity(&shingles[i], &shingles[j]);
                if crate::near::is_kept(&similarity) && similarity.jaccard >= threshold {
                    let (a, b) = (members[i].min(members[j]), members[i].max(members[j]));
                    pairs.push((a, b, similarity));
                }
            }
        }
        Ok(pairs)
    }

    /// Every stored body with its hash, in hash order.
    pub fn bodies(&self) -> impl Iterator<Item = Result<(BodyHash, String)>> + '_ {
        self.store.body_entries().map(|item| {
            let (hash, text) = item?;
            let text = String::from_utf8(text?).map_err(|_| crate::Error::Corrupt {
                tree: "bodies",
                detail: format!("body {} is not UTF-8", hash.short()),
            })?;
            Ok((hash, text))
        })
    }

    /// The stored versions similar to `reference` at Jaccard >= `threshold`, best first.
    /// Other articles holding the very same text come first, at 1.0.
    pub fn near(&self, reference: &str, threshold: f32) -> Result<Vec<NearRow>> {
        let (article, hash) = self.resolve_version(reference)?;
        let members = self.group_of(&hash)?;
        self.near_rows(article, hash, members, threshold)
    }

    /// Every near-duplicate group, read once to answer `near` about many versions
    /// ([`Archive::near_in`]): one scan of the joins per version would cost each
    /// question what reading every group costs once.
    pub fn near_groups(&self) -> Result<NearGroups> {
        let groups = self.groups()?;
        let index =
            groups.iter().enumerate().flat_map(|(at, group)| group.iter().map(move |h| (*h, at))).collect();
        Ok(NearGroups { index, groups })
    }

    /// [`Archive::near`] with the groups read beforehand.
    pub fn near_in(&self, groups: &NearGroups, reference: &str, threshold: f32) -> Result<Vec<NearRow>> {
        let (article, hash) = self.resolve_version(reference)?;
        let members = match groups.index.get(&hash) {
            Some(&at) => groups.groups[at].clone(),
            None => vec![hash],
        };
        self.near_rows(article, hash, members, threshold)
    }

    /// The rows of `near` for a version of `article`, given its group's members.
    fn near_rows(
        &self,
        article: ArticleId,
        hash: BodyHash,
        members: Vec<BodyHash>,
        threshold: f32,
    ) -> Result<Vec<NearRow>> {
        let mut found: Vec<(BodyHash, Similarity)> =
            vec![(hash, Similarity { jaccard: 1.0, containment: 1.0 })];
        if members.len() > 1 {
            let own = shingle::shingles(&self.body(&hash)?);
            for member in members {
                if member == hash {
                    continue;
                }
                let similarity = shingle::similarity(&own, &shingle::shingles(&self.body(&member)?));
                if crate::near::is_kept(&similarity) && similarity.jaccard >= threshold {
                    found.push((member, similarity));
                }
            }
        }
        found.sort_by(|a, b| {
            b.1.jaccard
                .total_cmp(&a.1.jaccard)
                .then(b.1.containment.total_cmp(&a.1.containment))
                .then(a.0.cmp(&b.0))
        });
        let mut rows = Vec::new();
        for (other, similarity) in found {
            for holder in self.store.articles_with_body(&other)? {
                if other == hash && holder == article {
                    continue;
                }
                rows.push(self.near_row(other, holder, similarity)?);
            }
        }
        Ok(rows)
    }

    fn near_row(&self, hash: BodyHash, article_id: ArticleId, similarity: Similarity) -> Result<NearRow> {
        let article = self.article(&article_id)?;
        let title = article.versions.iter().find(|v| v.hash == hash).and_then(|v| v.title.clone());
        Ok(NearRow {
            hash: hash.to_hex(),
            article: article_id.to_hex(),
            jaccard: similarity.jaccard,
            containment: similarity.containment,
            source: article.source,
            title,
            url: article.url,
        })
    }

    /// Groups of near-duplicate versions (Jaccard >= `threshold`, connected components)
    /// that span two or more articles and hold at least `min_size` versions; largest first.
    pub fn clusters(&self, threshold: f32, min_size: usize) -> Result<Vec<Cluster>> {
        let mut sets = Components::default();
        for (a, b, _) in self.near_pairs(threshold)? {
            sets.union(a, b);
        }
        // A body held by several articles is a cluster even with no near pair. The
        // articles' own versions say who holds what (a body's list of articles can name
        // one an interrupted ingest did not write).
        let mut holders: HashMap<BodyHash, Vec<ArticleId>> = HashMap::new();
        for item in self.store.articles() {
            let (id, article) = item?;
            for version in &article.versions {
                holders.entry(version.hash).or_default().push(id);
            }
        }
        let empty = BodyHash::of("");
        for (hash, articles) in &holders {
            // Pages with no text at all are not copies of one another.
            if articles.len() > 1 && *hash != empty {
                sets.insert(*hash);
            }
        }
        let mut clusters = Vec::new();
        for mut members in sets.into_groups() {
            members.sort();
            let versions: Vec<(BodyHash, ArticleId)> = members
                .iter()
                .flat_map(|h| holders.get(h).into_iter().flatten().map(move |a| (*h, *a)))
                .collect();
            let mut articles: Vec<ArticleId> = versions.iter().map(|(_, a)| *a).collect();
            articles.sort();
            articles.dedup();
            if articles.len() < 2 || versions.len() < min_size {
                continue;
            }
            clusters.push(Cluster {
                cluster: members[0].short(),
                members: members.iter().map(BodyHash::to_hex).collect(),
                versions: versions.iter().map(|(h, a)| self.cluster_member(*h, *a)).collect::<Result<_>>()?,
            });
        }
        clusters.sort_by(|a, b| b.versions.len().cmp(&a.versions.len()).then(a.cluster.cmp(&b.cluster)));
        Ok(clusters)
    }

    fn cluster_member(&self, hash: BodyHash, article_id: ArticleId) -> Result<ClusterMember> {
        let article = self.article(&article_id)?;
        let version = article.versions.iter().find(|v| v.hash == hash);
        Ok(ClusterMember {
            hash: hash.to_hex(),
            article: article_id.to_hex(),
            title: version.and_then(|v| v.title.clone()),
            attribution: version.and_then(|v| v.meta.attribution.clone()),
            source: article.source,
            url: article.url,
        })
    }
}
