//! Making scraped text safe for a terminal. Owns which characters are removed or
//! replaced: control characters (escape sequences could rewrite the screen), bidi
//! overrides and isolates (they reorder what is shown), and zero-width characters.
//! Never used on data written to files or pipes (JSON, exports), which keep text as
//! stored; an export shown on a terminal is shown safe too.

/// Text with terminal-unsafe characters removed; tabs become spaces and, unless
/// `keep_newlines`, line breaks become spaces too.
pub fn for_terminal(text: &str, keep_newlines: bool) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' if keep_newlines => Some('\n'),
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{2060}'
            | '\u{FEFF}' => None,
            c => Some(c),
        })
        .collect()
}

/// One line: [`for_terminal`] without line breaks.
pub fn line(text: &str) -> String {
    for_terminal(text, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bidi_overrides_are_removed() {
        assert_eq!(line("a\u{1b}[2Jb\u{202E}c\u{7}d\ne"), "a[2Jbcd e");
        assert_eq!(for_terminal("x\ny\u{200B}", true), "x\ny");
    }
}
