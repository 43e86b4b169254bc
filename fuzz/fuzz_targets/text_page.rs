//! Plain-text page dumps: arbitrary bytes are decoded as `ingest::parse_unit` does for
//! `Format::Text` (`decode_text`, then `text_page::parse`). Checks that neither panics,
//! hangs nor allocates without bound, whatever the bytes (binary, any encoding, a
//! half-formed TRT World page head).
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsvault::ingest::{decode_text, text_page};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = decode_text(data) {
        let _ = text_page::parse(&text);
    }
});
