//! Diffs between two versions, computed into data: the metadata that changed, the
//! word-level operations that turn one body into the other, paragraph-level hunks for
//! context, and summary figures. Owns tokenisation and the meaning of the figures;
//! never renders (see [`render`]) and never reads the archive.

pub mod render;

use serde::Serialize;
use similar::{Algorithm, DiffOp, TextDiff};

/// One side of a diff: a version's label, metadata and normalised body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Side {
    /// How the version is named in headers (`5d0c3d1b2a4e (2017-08-18T15:17:55Z)`).
    pub label: String,
    /// Metadata fields in the order they are compared; the title first.
    pub fields: Vec<(&'static str, Option<String>)>,
    /// The normalised body: one paragraph per line.
    pub body: String,
}

/// A metadata field that differs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldChange {
    /// The field's name.
    pub field: &'static str,
    /// Its old value.
    pub old: Option<String>,
    /// Its new value.
    pub new: Option<String>,
}

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// Text in both.
    Equal,
    /// Text only in the old body.
    Delete,
    /// Text only in the new body.
    Insert,
    /// Old text replaced by new text.
    Replace,
}

/// One word-level operation, with byte offsets into each body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Op {
    /// What it does.
    pub op: OpKind,
    /// Byte offset in the old body.
    pub old_start: usize,
    /// The old text it covers (empty for an insert).
    pub old_text: String,
    /// Byte offset in the new body.
    pub new_start: usize,
    /// The new text it covers (empty for a delete).
    pub new_text: String,
}

/// Summary figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Words only in the new body.
    pub words_added: usize,
    /// Words only in the old body.
    pub words_removed: usize,
    /// Words of the old body.
    pub old_words: usize,
    /// Words of the new body.
    pub new_words: usize,
    /// (added + removed) / (old words + new words): 0 for the same text, 1 for nothing shared.
    pub changed_share: f64,
}

/// The difference of two versions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VersionDiff {
    /// The old version's label.
    pub old: String,
    /// The new version's label.
    pub new: String,
    /// Metadata that changed, title first.
    pub metadata: Vec<FieldChange>,
    /// Word-level operations over the bodies; applying them to the old body gives the new.
    pub ops: Vec<Op>,
    /// Figures.
    pub summary: Summary,
    #[serde(skip)]
    old_body: String,
    #[serde(skip)]
    new_body: String,
}

impl VersionDiff {
    /// The old body.
    pub fn old_body(&self) -> &str {
        &self.old_body
    }

    /// The new body.
    pub fn new_body(&self) -> &str {
        &self.new_body
    }

    /// Whether anything differs.
    pub fn is_empty(&self) -> bool {
        self.metadata.is_empty() && self.ops.iter().all(|o| o.op == OpKind::Equal)
    }
}

/// Compares two versions.
pub fn diff_versions(old: &Side, new: &Side) -> VersionDiff {
    let metadata = old
        .fields
        .iter()
        .filter_map(|(field, old_value)| {
            let new_value = new.fields.iter().find(|(f, _)| f == field).and_then(|(_, v)| v.clone());
            (*old_value != new_value).then(|| FieldChange { field, old: old_value.clone(), new: new_value })
        })
        .collect();
    let ops = word_ops(&old.body, &new.body);
    let summary = summarise(&ops, &old.body, &new.body);
    VersionDiff {
        old: old.label.clone(),
        new: new.label.clone(),
        metadata,
        ops,
        summary,
        old_body: old.body.clone(),
        new_body: new.body.clone(),
    }
}

/// Words and the whitespace between them, as tokens whose concatenation is the text.
pub fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (at, c) in text.char_indices() {
        let space = c.is_whitespace();
        if in_space.is_some_and(|s| s != space) {
            out.push(&text[start..at]);
            start = at;
        }
        in_space = Some(space);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The word-level operations turning `old` into `new`.
pub fn word_ops(old: &str, new: &str) -> Vec<Op> {
    let old_tokens = tokens(old);
    let new_tokens = tokens(new);
    let diff = TextDiff::configure().algorithm(Algorithm::Myers).diff_slices(&old_tokens, &new_tokens);
    let offsets = |tokens: &[&str]| -> Vec<usize> {
        let mut at = 0;
        let mut out = Vec::with_capacity(tokens.len() + 1);
        for t in tokens {
            out.push(at);
            at += t.len();
        }
        out.push(at);
        out
    };
    let (old_at, new_at) = (offsets(&old_tokens), offsets(&new_tokens));
    diff.ops()
        .iter()
        .map(|op| {
            let (kind, old_range, new_range) = match *op {
                DiffOp::Equal { old_index, new_index, len } => {
                    (OpKind::Equal, old_index..old_index + len, new_index..new_index + len)
                }
                DiffOp::Delete { old_index, old_len, new_index } => {
                    (OpKind::Delete, old_index..old_index + old_len, new_index..new_index)
                }
                DiffOp::Insert { old_index, new_index, new_len } => {
                    (OpKind::Insert, old_index..old_index, new_index..new_index + new_len)
                }
                DiffOp::Replace { old_index, old_len, new_index, new_len } => {
                    (OpKind::Replace, old_index..old_index + old_len, new_index..new_index + new_len)
                }
            };
            Op {
                op: kind,
                old_start: old_at[old_range.start],
                old_text: old[old_at[old_range.start]..old_at[old_range.end]].to_string(),
                new_start: new_at[new_range.start],
                new_text: new[new_at[new_range.start]..new_at[new_range.end]].to_string(),
            }
        })
        .collect()
}

/// Applies operations to the old body; `None` if they do not fit it.
pub fn apply_ops(old: &str, ops: &[Op]) -> Option<String> {
    let mut out = String::with_capacity(old.len());
    let mut at = 0;
    for op in ops {
        if op.old_start != at || old.get(at..at + op.old_text.len())? != op.old_text {
            return None;
        }
        at += op.old_text.len();
        match op.op {
            OpKind::Equal => out.push_str(&op.old_text),
            OpKind::Delete => {}
            OpKind::Insert | OpKind::Replace => out.push_str(&op.new_text),
        }
    }
    (at == old.len()).then_some(out)
}

fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

fn summarise(ops: &[Op], old: &str, new: &str) -> Summary {
    let (mut added, mut removed) = (0, 0);
    for op in ops.iter().filter(|o| o.op != OpKind::Equal) {
        removed += word_count(&op.old_text);
        added += word_count(&op.new_text);
    }
    let (old_words, new_words) = (word_count(old), word_count(new));
    let total = old_words + new_words;
    Summary {
        words_added: added,
        words_removed: removed,
        old_words,
        new_words,
        changed_share: if total == 0 { 0.0 } else { (added + removed) as f64 / total as f64 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn side(label: &str, title: &str, body: &str) -> Side {
        Side { label: label.into(), fields: vec![("title", Some(title.into()))], body: body.into() }
    }

    #[test]
    fn a_changed_figure_is_one_replace_and_counted() {
        let old = side("a", "Storm hits coast", "Ten homes lost power.\nRoads are closed.");
        let new = side("b", "Storm hits the coast", "Twelve homes lost power.\nRoads are closed.");
        let d = diff_versions(&old, &new);
        assert_eq!(
            d.metadata,
            vec![FieldChange {
                field: "title",
                old: Some("Storm hits coast".into()),
                new: Some("Storm hits the coast".into())
            }]
        );
        let changes: Vec<_> = d.ops.iter().filter(|o| o.op != OpKind::Equal).collect();
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].old_text.as_str(), changes[0].new_text.as_str()), ("Ten", "Twelve"));
        assert_eq!((d.summary.words_added, d.summary.words_removed), (1, 1));
        assert!((d.summary.changed_share - 2.0 / 14.0).abs() < 1e-9);
        assert_eq!(apply_ops(&old.body, &d.ops).as_deref(), Some(new.body.as_str()));
    }

    #[test]
    fn tokens_keep_every_byte() {
        assert_eq!(tokens("a  b\nc "), vec!["a", "  ", "b", "\n", "c", " "]);
        assert_eq!(tokens(""), Vec::<&str>::new());
    }

    #[test]
    fn the_same_text_is_an_empty_diff() {
        let a = side("a", "T", "Same words.");
        assert!(diff_versions(&a, &a).is_empty());
    }

    proptest! {
        #[test]
        fn applying_the_operations_gives_the_new_text(
            old in "(?s)[a-cå ,\n]{0,80}",
            new in "(?s)[a-cå ,\n]{0,80}",
        ) {
            let ops = word_ops(&old, &new);
            prop_assert_eq!(apply_ops(&old, &ops), Some(new.clone()));
        }
    }
}
