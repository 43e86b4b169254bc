//! Diff speed: two 5,000-word versions (generated here: our own words, with every tenth
//! paragraph edited, some removed and some added), and the diffs of a 25-version article
//! as `log -p` makes them.

use criterion::{Criterion, criterion_group, criterion_main};
use newsvault::diff::{Side, diff_versions, render};

const WORDS: &[&str] = &[
    "council", "harbour", "river", "school", "market", "ferry", "storm", "budget", "mayor", "bridge", "road",
    "winter", "summer", "crowd", "report", "police", "station", "village", "festival", "lamp",
];

/// A deterministic text of `paragraphs` paragraphs of 50 words; `edit` changes it.
fn text(paragraphs: usize, edit: usize) -> String {
    let mut state: u64 = 42;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as usize
    };
    let mut out = Vec::new();
    for p in 0..paragraphs {
        let words: Vec<&str> = (0..50).map(|_| WORDS[next() % WORDS.len()]).collect();
        let mut paragraph = words.join(" ");
        if edit > 0 && p % 10 == edit % 10 {
            paragraph = paragraph.replacen("river", "canal", 1) + " updated";
        }
        if edit > 0 && p % 37 == edit % 37 {
            continue;
        }
        out.push(paragraph);
    }
    out.join("\n")
}

fn side(label: &str, body: String) -> Side {
    Side { label: label.into(), fields: vec![("title", Some(label.into()))], body }
}

fn benches(c: &mut Criterion) {
    let old = side("old", text(100, 0));
    let new = side("new", text(100, 3));
    c.bench_function("diff of two 5,000-word versions", |b| b.iter(|| diff_versions(&old, &new).summary));
    let diff = diff_versions(&old, &new);
    c.bench_function("render inline + unified of that diff", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            render::inline(&mut out, &diff, 1, false).expect("memory");
            render::unified(&mut out, &diff, 3).expect("memory");
            out.len()
        })
    });
    // 25 versions of a 600-word article, each a small edit of the one before.
    let versions: Vec<Side> = (0..25).map(|v| side("v", text(12, v))).collect();
    c.bench_function("log -p of a 25-version article (diff + inline render)", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            for pair in versions.windows(2) {
                render::inline(&mut out, &diff_versions(&pair[0], &pair[1]), 1, false).expect("memory");
            }
            out.len()
        })
    });
}

criterion_group!(diff_benches, benches);
criterion_main!(diff_benches);
