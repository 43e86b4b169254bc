//! Normalisation: the documented, versioned function from an article body to the
//! canonical text that is hashed and stored. Pure and idempotent; it never reads
//! or writes anything, and a rule is never changed in place: a new rule set gets
//! a new [`NormalizerVersion`], and an archive keeps using the version it was built with.
//!
//! # Version 1
//! 1. Line breaks: `\r\n`, `\r`, U+2028 and U+2029 become `\n`.
//! 2. Characters: Unicode NFC; no-break, thin and other spaces become a plain space;
//!    zero-width characters, the soft hyphen, the byte-order mark and control
//!    characters (other than `\n` and `\t`) are removed; typographic quotes fold to
//!    `"` and `'`, dashes (en, em, figure, minus, horizontal bar) to `-`, the
//!    ellipsis to `...`.
//! 3. Paragraphs: when the text has a blank line between two non-blank ones, paragraphs are the blocks between
//!    blank lines and a single line break inside one is a space (hard-wrapped text);
//!    otherwise every line is a paragraph.
//! 4. Inside a paragraph, runs of whitespace become one space, and the ends are trimmed.
//! 5. Page chrome: paragraphs that are only a widget label ("Recommended", "Advertisement",
//!    "Read more", "Share", "Annons", "Läs också", ... see [`CHROME_LABELS_V1`]) are dropped,
//!    as are empty paragraphs.
//! 6. The paragraphs are joined with a single `\n`: one paragraph per line.
//!
//! Applying it to its own output changes nothing.

use unicode_normalization::UnicodeNormalization;

/// A set of normalisation rules. Stored in every archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct NormalizerVersion(pub u32);

impl NormalizerVersion {
    /// The rules new archives are built with.
    pub const CURRENT: NormalizerVersion = NormalizerVersion(1);

    /// Whether this build knows these rules.
    pub fn is_known(self) -> bool {
        (1..=Self::CURRENT.0).contains(&self.0)
    }
}

/// Widget labels that scrapers pick up between paragraphs, compared case-insensitively
/// with a trailing colon removed. Version 1's list: never edit it, add a version.
pub const CHROME_LABELS_V1: &[&str] = &[
    "recommended",
    "advertisement",
    "advertising",
    "sponsored",
    "related",
    "related articles",
    "related stories",
    "read more",
    "read also",
    "see also",
    "also read",
    "more on this",
    "share",
    "share this",
    "share this article",
    "tweet",
    "email",
    "print",
    "listen",
    "listen to this article",
    "skip advertisement",
    "continue reading",
    "click here",
    "annons",
    "läs också",
    "läs mer",
    "dela",
    "mejla",
    "twittra",
];

/// Normalises a body with the current rules.
pub fn normalize(body: &str) -> String {
    normalize_v1(body)
}

/// Normalises a body with the given rules, or `None` if this build does not know them.
pub fn normalize_with(version: NormalizerVersion, body: &str) -> Option<String> {
    match version.0 {
        1 => Some(normalize_v1(body)),
        _ => None,
    }
}

fn normalize_v1(body: &str) -> String {
    // NFC before folding (so canonical equivalents of folded characters fold too) and
    // after it (removing an invisible character can bring a letter and its combining
    // mark together): this is what makes the function idempotent.
    let folded = fold_characters(&nfc(body));
    let folded = nfc(&folded);
    let mut out = String::with_capacity(folded.len());
    for paragraph in paragraphs(&folded) {
        let start = out.len();
        if start > 0 {
            out.push('\n');
        }
        let text_start = out.len();
        push_collapsed(&mut out, paragraph);
        let text = &out[text_start..];
        if text.is_empty() || is_chrome_label(text) {
            out.truncate(start);
        }
    }
    out
}

/// Step 1 and 2: one pass over the characters.
fn fold_characters(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    // Runs of characters that stay as they are are copied whole.
    let mut unchanged_from = 0;
    let mut chars = body.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let replacement = match c {
            ' '..='~' | '\n' | '\t' => continue,
            c if !c.is_ascii()
                && (c as u32) < 0x2000
                && !matches!(c, '\u{00A0}' | '\u{00AD}' | '\u{00AB}' | '\u{00BB}' | '\u{1680}')
                && !c.is_control() =>
            {
                continue;
            }
            '\r' => {
                if chars.peek().is_some_and(|(_, next)| *next == '\n') {
                    chars.next();
                }
                "\n"
            }
            '\u{2028}' | '\u{2029}' => "\n",
            '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{2039}' | '\u{203A}' => "'",
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}' | '\u{00BB}' => "\"",
            '\u{2010}'..='\u{2015}' | '\u{2212}' => "-",
            '\u{2026}' => "...",
            // Zero-width characters, the soft hyphen, the byte-order mark, control
            // characters, and bidi controls (formatting, not text) are removed.
            '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => "",
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => "",
            c if c.is_control() => "",
            _ => continue,
        };
        out.push_str(&body[unchanged_from..at]);
        out.push_str(replacement);
        unchanged_from = chars.peek().map_or(body.len(), |(next, _)| *next);
    }
    out.push_str(&body[unchanged_from..]);
    out
}

fn nfc(text: &str) -> std::borrow::Cow<'_, str> {
    use unicode_normalization::{IsNormalized, is_nfc_quick};
    // Below U+0300 (UTF-8 lead bytes under 0xCC) every character is already NFC.
    if text.bytes().all(|b| b < 0xCC) {
        return std::borrow::Cow::Borrowed(text);
    }
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(text.nfc().collect()),
    }
}

/// Step 3: paragraphs are blank-line blocks when there are any, else lines.
fn paragraphs(text: &str) -> Box<dyn Iterator<Item = &str> + '_> {
    let has_blank_line = text.trim().lines().any(|l| l.trim().is_empty());
    if has_blank_line { Box::new(BlankLineBlocks { rest: text }) } else { Box::new(text.split('\n')) }
}

/// Splits text at lines that are empty or only whitespace.
struct BlankLineBlocks<'a> {
    rest: &'a str,
}

impl<'a> Iterator for BlankLineBlocks<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let mut offset = 0;
        for line in self.rest.split_inclusive('\n') {
            if line.trim().is_empty() {
                let block = &self.rest[..offset];
                self.rest = &self.rest[offset + line.len()..];
                return Some(block);
            }
            offset += line.len();
        }
        let block = self.rest;
        self.rest = "";
        Some(block)
    }
}

/// Step 4: appends `paragraph` with whitespace runs folded to one space and ends trimmed.
fn push_collapsed(out: &mut String, paragraph: &str) {
    // Step 1 left no whitespace but ASCII (every other space is folded to one), so the
    // ASCII split is the same split, without decoding characters.
    for (i, word) in paragraph.split_ascii_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

fn is_chrome_label(paragraph: &str) -> bool {
    if paragraph.len() > 40 {
        return false;
    }
    let label = paragraph.trim_end_matches(':').trim_end().to_lowercase();
    CHROME_LABELS_V1.contains(&label.as_str())
}

/// The number of words in a normalised body (whitespace-separated): the runs of bytes
/// that are not ASCII whitespace, as `split_ascii_whitespace` gives them, counted
/// without making a slice of each (that was 3% of an ingest).
pub fn word_count(text: &str) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for &byte in text.as_bytes() {
        let space = byte.is_ascii_whitespace();
        count += usize::from(in_word && space);
        in_word = !space;
    }
    count + usize::from(in_word)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn whitespace_and_line_endings_do_not_change_the_text() {
        let a = "First  paragraph\r\nwraps here.\r\n\r\nSecond\u{00A0}one.";
        let b = "First paragraph wraps here.\n\n\n   Second one.  ";
        assert_eq!(normalize(a), "First paragraph wraps here.\nSecond one.");
        assert_eq!(normalize(a), normalize(b));
    }

    #[test]
    fn typographic_quotes_dashes_and_ellipsis_fold() {
        assert_eq!(normalize("“Yes” – it’s … done—now"), "\"Yes\" - it's ... done-now");
    }

    #[test]
    fn widget_labels_are_dropped_but_words_in_sentences_are_kept() {
        let text = "One.\n\nRecommended\n\nTwo recommended things.\n\nREAD MORE:\n\nThree.";
        assert_eq!(normalize(text), "One.\nTwo recommended things.\nThree.");
    }

    #[test]
    fn lines_without_blank_lines_are_paragraphs() {
        assert_eq!(normalize("a\nb\n\n"), "a\nb");
        assert_eq!(normalize("a\nb"), "a\nb");
    }

    #[test]
    fn one_changed_word_changes_the_text() {
        assert_ne!(normalize("Ten people died."), normalize("Twelve people died."));
    }

    #[test]
    fn invisible_and_control_characters_are_removed() {
        assert_eq!(normalize("a\u{200B}b\u{0007}c\u{202E}d\u{FEFF}"), "abcd");
    }

    #[test]
    fn removing_an_invisible_character_cannot_leave_text_unnormalised() {
        let once = normalize("o\u{200B}\u{0308}");
        assert_eq!(normalize(&once), once);
    }

    #[test]
    fn composed_and_decomposed_forms_agree() {
        assert_eq!(normalize("Go\u{0308}teborg"), normalize("Göteborg"));
    }

    proptest! {
        #[test]
        fn words_are_counted_as_whitespace_splits_them(text in "[ a\t\n\r\u{0B}\u{0C}é”\u{00A0}]{0,60}") {
            prop_assert_eq!(word_count(&text), text.split_ascii_whitespace().count());
        }

        #[test]
        fn normalising_twice_changes_nothing(text in "(?s).{0,300}") {
            let once = normalize(&text);
            prop_assert_eq!(normalize(&once), once.clone());
        }

        #[test]
        fn normalising_structured_text_twice_changes_nothing(
            paras in proptest::collection::vec("[ a-zA-Z“”–\u{00A0}\r\n]{0,40}", 0..8),
            sep in "(\n|\n\n|\r\n\r\n| \n \n)",
        ) {
            let text = paras.join(&sep);
            let once = normalize(&text);
            prop_assert_eq!(normalize(&once), once.clone());
        }
    }
}
