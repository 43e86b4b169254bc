//! JSON and JSON Lines records: arbitrary bytes are split as JSON Lines
//! (`json::split_lines`) and as a JSON document (`json::split_document`), and every
//! unit, as well as the whole input, is decoded and mapped by `json::parse_record`,
//! as `ingest::parse_unit` does for `Format::Json`/`Format::Jsonl`. Checks that
//! nothing panics (including the `expect` on re-serialising array items), hangs or
//! allocates without bound, and that JSON Lines units never contain a line break.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsvault::ingest::{decode_text, json};

fn parse(raw: &[u8]) {
    if let Ok(text) = decode_text(raw) {
        let _ = json::parse_record(&text);
    }
}

fuzz_target!(|data: &[u8]| {
    for unit in json::split_lines("fuzz.jsonl", data).into_iter().flatten() {
        assert!(!unit.raw.contains(&b'\n'), "a JSON Lines unit spans lines");
        parse(&unit.raw);
    }
    for unit in json::split_document("fuzz.json", data).into_iter().flatten() {
        parse(&unit.raw);
    }
    parse(data);
});
