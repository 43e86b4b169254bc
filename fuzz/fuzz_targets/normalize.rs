//! Normalisation and terminal sanitising on arbitrary text. Checks the documented
//! invariants: `normalize` is idempotent (normalising its output changes nothing),
//! `normalize_with(CURRENT)` is `normalize`, its output has no blank or untrimmed
//! paragraph, no `\r` and no control character but `\n`/`\t`; and `sanitize`'s output
//! holds no control character (but `\n` when kept), is unchanged by sanitising again,
//! and `sanitize::line` is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsvault::normalize::{NormalizerVersion, normalize, normalize_with, word_count};
use newsvault::sanitize;

fuzz_target!(|text: &str| {
    let once = normalize(text);
    let twice = normalize(&once);
    assert_eq!(twice, once, "normalize is not idempotent on {text:?}");
    assert_eq!(normalize_with(NormalizerVersion::CURRENT, text).as_deref(), Some(once.as_str()));
    for paragraph in once.split('\n') {
        assert!(!paragraph.is_empty() || once.is_empty(), "empty paragraph in {once:?}");
        assert_eq!(paragraph, paragraph.trim(), "untrimmed paragraph in {once:?}");
    }
    assert!(
        !once.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
        "control character left in {once:?}"
    );
    let _ = word_count(&once);

    for keep_newlines in [false, true] {
        let safe = sanitize::for_terminal(text, keep_newlines);
        assert!(
            !safe.chars().any(|c| c.is_control() && !(keep_newlines && c == '\n')),
            "control character left by for_terminal({keep_newlines}) in {safe:?}"
        );
        assert_eq!(sanitize::for_terminal(&safe, keep_newlines), safe);
    }
    assert!(!sanitize::line(text).contains('\n'));
});
