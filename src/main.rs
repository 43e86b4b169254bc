//! The `newsvault` binary: parses arguments, calls the library, prints, and maps
//! errors to exit codes. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

mod cli;

/// mimalloc: an ingest allocates and frees a few short strings and vectors per word and
/// record on both cores, where glibc's allocator was 8% of the profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // Defence in depth under the HTML depth guard: extraction walks the page's tree
    // recursively on these threads. The stack is virtual memory until used.
    let _ = rayon::ThreadPoolBuilder::new().stack_size(64 << 20).build_global();
    match cli::run(args) {
        Ok(code) => code,
        Err(error) if cli::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("newsvault: {}", newsvault::sanitize::line(&format!("{error:#}")));
            ExitCode::from(cli::EXIT_FAILURE)
        }
    }
}
