//! Near-duplicate groups over index positions: which bodies are copies or revisions of
//! one another, joined whenever a verified pair links them (connected components), and
//! which of those joins are not stored yet. Owns the grouping only; never verifies a
//! pair and never touches the store.

use rustc_hash::FxHashMap as HashMap;
use std::cmp::Reverse;

/// No group: the body has no kept near-duplicate.
const NONE: u32 = u32::MAX;

/// A body's group as it will be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// The body's position.
    pub position: u32,
    /// The root of the group it was stored in, if any.
    pub from: Option<u32>,
    /// The root of its group now.
    pub to: u32,
}

/// Groups of positions, each named by its root (the member it was founded on).
#[derive(Debug, Default)]
pub struct Groups {
    root: Vec<u32>,
    stored: Vec<u32>,
    members: HashMap<u32, Vec<u32>>,
    changed: Vec<u32>,
}

impl Groups {
    /// `len` positions, none grouped.
    pub fn with_len(len: usize) -> Groups {
        Groups { root: vec![NONE; len], stored: vec![NONE; len], ..Groups::default() }
    }

    /// Adds a position, ungrouped, and returns it.
    pub fn push(&mut self) -> u32 {
        self.root.push(NONE);
        self.stored.push(NONE);
        (self.root.len() - 1) as u32
    }

    /// Puts back a stored assignment.
    pub fn restore(&mut self, position: u32, root: u32) {
        self.root[position as usize] = root;
        self.stored[position as usize] = root;
        self.members.entry(root).or_default().push(position);
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

    /// Puts `position` into the groups named by `keys` (see [`Groups::key_of`]), which
    /// become one: the largest absorbs the others (the oldest when sizes tie), so a
    /// body changes group O(log n) times at most.
    pub fn join(&mut self, position: u32, keys: &[u32]) {
        let Some(&target) = keys.iter().max_by_key(|key| (self.size(**key), Reverse(**key))) else {
            return;
        };
        if self.root[target as usize] == NONE {
            self.assign(target, target);
        }
        for &key in keys {
            if key != target {
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
        self.changed.push(position);
    }

    /// The assignments that differ from what is stored, which from now on count as
    /// stored.
    pub fn take_changes(&mut self) -> Vec<Change> {
        let mut changed = std::mem::take(&mut self.changed);
        changed.sort_unstable();
        changed.dedup();
        let mut changes = Vec::new();
        for position in changed {
            let (now, stored) = (self.root[position as usize], self.stored[position as usize]);
            if now != stored {
                changes.push(Change { position, from: (stored != NONE).then_some(stored), to: now });
                self.stored[position as usize] = now;
            }
        }
        changes
    }
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
    fn a_body_joins_and_bridges_groups_and_only_changes_are_stored() {
        let mut groups = Groups::with_len(0);
        for _ in 0..3 {
            groups.push();
        }
        // 1 resembles 0: a new group rooted at 0.
        groups.join(1, &[groups.key_of(0)]);
        assert_eq!(groups.key_of(1), 0);
        let first = groups.take_changes();
        assert_eq!(
            first,
            vec![Change { position: 0, from: None, to: 0 }, Change { position: 1, from: None, to: 0 }]
        );
        // 3 resembles 2 (alone) and 1 (in 0's group): one group, the larger's root.
        groups.push();
        groups.join(3, &[groups.key_of(2), groups.key_of(1)]);
        assert_eq!(grouped(&groups), vec![vec![0, 1, 2, 3]]);
        let second = groups.take_changes();
        assert_eq!(
            second,
            vec![Change { position: 2, from: None, to: 0 }, Change { position: 3, from: None, to: 0 }]
        );
        assert!(groups.take_changes().is_empty());
        // A body resembling nothing stays alone.
        let lone = groups.push();
        groups.join(lone, &[]);
        assert_eq!(groups.key_of(lone), lone);
        assert!(groups.take_changes().is_empty());
    }

    #[test]
    fn merged_groups_move_their_members_and_restore_reads_back() {
        let mut groups = Groups::with_len(5);
        groups.restore(0, 0);
        groups.restore(1, 0);
        groups.restore(2, 2);
        groups.restore(3, 2);
        groups.restore(4, 2);
        let new = groups.push();
        groups.join(new, &[groups.key_of(1), groups.key_of(3)]);
        assert_eq!(grouped(&groups), vec![vec![0, 1, 2, 3, 4, 5]]);
        let changes = groups.take_changes();
        assert_eq!(
            changes,
            vec![
                Change { position: 0, from: Some(0), to: 2 },
                Change { position: 1, from: Some(0), to: 2 },
                Change { position: 5, from: None, to: 2 },
            ]
        );
    }
}
