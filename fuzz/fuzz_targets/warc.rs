//! WARC files: arbitrary bytes go through `warc::split("fuzz.warc", bytes)`: record
//! framing, HTTP headers, chunked transfer and gzip/deflate decoding. Checks that no
//! input panics (lengths from the file are never trusted), hangs, or allocates without
//! bound, and that every unit's origin carries a record number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsvault::ingest::warc;

fuzz_target!(|data: &[u8]| {
    for unit in warc::split("fuzz.warc", data) {
        let origin = match &unit {
            Ok(unit) => &unit.origin,
            Err(rejection) => &rejection.origin,
        };
        assert!(origin.record.is_some(), "a WARC unit without a record number");
    }
});
