//! Near-duplicate groups over index positions: which bodies are copies or revisions of
//! one another, joined whenever a verified pair links them (connected components), and
//! the same groups read back over body hashes from the joins the archive records.
//! Owns the grouping only; never verifies a pair and never touches the store.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::cmp::Reverse;
use std::collections::BTreeMap;

use crate::id::BodyHash;
use crate::store::FlatJoins;

/// No group: the body has no kept near-duplicate.
const NONE: u32 = u32::MAX;

/// Groups of positions, each named by its root (the member it was founded on).
#[derive(Debug, Default)]
pub struct Groups {
    root: Vec<u32>,
    members: HashMap<u32, Vec<u32>>,
}

impl Groups {
    /// `len` positions, none grouped.
    pub fn with_len(len: usize) -> Groups {
        Groups { root: vec![NONE; len], ..Groups::default() }
    }

    /// Adds a position, ungrouped, and returns it.
    pub fn push(&mut self) -> u32 {
        self.root.push(NONE);
        (self.root.len() - 1) as u32
    }

    /// What names the group of a position: its root, or itself when ungrouped.
    pub fn key_of(&self, position: u32) -> u32 {
        match self.root[position as usize] {
            NONE => position,
            root => root,
        }
    }

    fn size(&self, key: u32) -> usize {
        self.members.get(&key).map_or(1, Vec::len)
    }

    /// Puts `position` (not grouped yet) into the groups named by `keys` (see
    /// [`Groups::key_of`]), which become one: the largest absorbs the others (the
    /// oldest when sizes tie), so a body changes group O(log n) times at most.
    pub fn join(&mut self, position: u32, keys: &[u32]) {
        let Some(&target) = keys.iter().max_by_key(|key| (self.size(**key), Reverse(**key))) else {
            return;
        };
        if self.root[target as usize] == NONE {
            self.assign(target, target);
        }
        for &key in keys {
            if key != target && self.root[key as usize] != target {
                for member in self.members.remove(&key).unwrap_or_else(|| vec![key]) {
                    self.assign(member, target);
                }
            }
        }
        self.assign(position, target);
    }

    fn assign(&mut self, position: u32, root: u32) {
        self.root[position as usize] = root;
        self.members.entry(root).or_default().push(position);
    }
}

/// Connected components over body hashes, from the archive's joins: what `near`,
/// `clusters` and `export --dedup near` read the groups from.
#[derive(Default)]
pub struct Components {
    index: HashMap<BodyHash, usize>,
    hashes: Vec<BodyHash>,
    parent: Vec<usize>,
}

impl Components {
    fn add(&mut self, hash: BodyHash) -> usize {
        if let Some(&i) = self.index.get(&hash) {
            return i;
        }
        let i = self.hashes.len();
        self.index.insert(hash, i);
        self.hashes.push(hash);
        self.parent.push(i);
        i
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Puts `a` and `b` in one component.
    pub fn union(&mut self, a: BodyHash, b: BodyHash) {
        let (a, b) = (self.add(a), self.add(b));
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }

    /// Adds a body alone, if it is not in a component yet.
    pub fn insert(&mut self, hash: BodyHash) {
        self.add(hash);
    }

    /// Every component, in the order their first members were added.
    pub fn into_groups(mut self) -> Vec<Vec<BodyHash>> {
        let mut groups: BTreeMap<usize, Vec<BodyHash>> = BTreeMap::new();
        for i in 0..self.hashes.len() {
            let root = self.root(i);
            groups.entry(root).or_default().push(self.hashes[i]);
        }
        groups.into_values().collect()
    }
}

/// The members of `hash`'s component among `joins` (`hash` alone if no join names it),
/// without building every component: joins are scanned whole, each absorbed when it
/// names a member, until a scan adds nothing. A join names bodies older than its own,
/// so a scan forward finds what joined the group after a member, and one backward what
/// a member joined through; scans alternate between the two. At a million versions a
/// late copy's group took 10 to 20 forward scans of 8 ms each; alternating, 2 to 6.
pub fn component_of(joins: &FlatJoins, hash: BodyHash) -> Vec<BodyHash> {
    let mut members: HashSet<BodyHash> = std::iter::once(hash).collect();
    let absorb = |members: &mut HashSet<BodyHash>, (body, others): (&BodyHash, &[BodyHash])| {
        if members.contains(body) || others.iter().any(|other| members.contains(other)) {
            members.insert(*body);
            members.extend(others.iter().copied());
        }
    };
    for scan in 0.. {
        let before = members.len();
        if scan % 2 == 0 {
            joins.iter().for_each(|join| absorb(&mut members, join));
        } else {
            joins.iter().rev().for_each(|join| absorb(&mut members, join));
        }
        if members.len() == before {
            break;
        }
    }
    members.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grouped(groups: &Groups) -> Vec<Vec<u32>> {
        let mut all: Vec<Vec<u32>> = groups
            .members
            .values()
            .map(|m| {
                let mut m = m.clone();
                m.sort();
                m
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn a_body_joins_and_bridges_groups() {
        let mut groups = Groups::with_len(0);
        for _ in 0..3 {
            groups.push();
        }
        // 1 resembles 0: a new group rooted at 0.
        groups.join(1, &[groups.key_of(0)]);
        assert_eq!(groups.key_of(1), 0);
        // 3 resembles 2 (alone) and 1 (in 0's group): one group, the larger's root.
        groups.push();
        groups.join(3, &[groups.key_of(2), groups.key_of(1)]);
        assert_eq!(grouped(&groups), vec![vec![0, 1, 2, 3]]);
        assert_eq!(groups.key_of(2), 0);
        // A body resembling nothing stays alone.
        let lone = groups.push();
        groups.join(lone, &[]);
        assert_eq!(groups.key_of(lone), lone);
    }

    #[test]
    fn components_over_hashes_match_the_groups() {
        let hash = |i: u8| BodyHash([i; 32]);
        let mut components = Components::default();
        components.union(hash(1), hash(0));
        components.union(hash(3), hash(2));
        components.union(hash(4), hash(1));
        components.union(hash(4), hash(3));
        components.union(hash(6), hash(5));
        components.insert(hash(9));
        let mut groups: Vec<Vec<BodyHash>> = components
            .into_groups()
            .into_iter()
            .map(|mut g| {
                g.sort();
                g
            })
            .collect();
        groups.sort_by_key(Vec::len);
        assert_eq!(groups, vec![vec![hash(9)], vec![hash(5), hash(6)], (0..5).map(hash).collect::<Vec<_>>()]);
    }

    proptest::proptest! {
        /// Joins as an ingest makes them: each names a new body and older ones.
        #[test]
        fn the_component_found_by_scanning_is_the_union_finds(
            links in proptest::collection::vec(proptest::collection::vec(0usize..1000, 0..4), 1..60),
            asked in 0usize..60,
        ) {
            let hash = |i: usize| BodyHash(blake3::hash(&i.to_le_bytes()).into());
            let mut joins = FlatJoins::default();
            let mut components = Components::default();
            for (body, older) in links.iter().enumerate() {
                components.insert(hash(body));
                if body == 0 || older.is_empty() {
                    continue;
                }
                joins.start_join(hash(body));
                for other in older.iter().map(|o| o % body) {
                    joins.push_member(hash(other));
                    components.union(hash(body), hash(other));
                }
            }
            let asked = hash(asked % links.len());
            let mut found = component_of(&joins, asked);
            found.sort();
            let mut expected = components.into_groups().into_iter().find(|g| g.contains(&asked)).unwrap();
            expected.sort();
            proptest::prop_assert_eq!(found, expected);
        }
    }
}
