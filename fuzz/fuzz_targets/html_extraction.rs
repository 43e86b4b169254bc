//! HTML pages: arbitrary bytes go through `html::parse_bytes(bytes, None)`: the nesting
//! guard, rs-trafilatura's extraction and the canonical-URL scan. Checks that no page
//! panics, overflows the stack, hangs or allocates without bound.
//!
//! Each input is parsed on a thread of its own with a 2 MiB stack
//! (`NEWSVAULT_FUZZ_STACK_KIB` to change it): rayon's default, what a library user's
//! worker threads get, and what `html.rs`'s own test holds the deepest accepted page to.
//! (The CLI gives its rayon workers 64 MiB as defence in depth; 2 MiB is the stricter
//! bound.) Under AddressSanitizer the deepest page the guard accepts (990 nested
//! `<div>`s) still parses in 2 MiB, so a stack overflow here is a real one.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use newsvault::ingest::html;

fn stack_size() -> usize {
    static SIZE: OnceLock<usize> = OnceLock::new();
    *SIZE.get_or_init(|| {
        let kib = std::env::var("NEWSVAULT_FUZZ_STACK_KIB").ok().and_then(|v| v.parse().ok()).unwrap_or(2048);
        kib * 1024
    })
}

fuzz_target!(|data: &[u8]| {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(stack_size())
            .spawn_scoped(scope, || {
                let _ = html::parse_bytes(data, None);
            })
            .expect("spawn a parsing thread")
            .join()
            .expect("parse_bytes panicked");
    });
});
