//! The `logenrich` command line: enrich access logs with reverse DNS, DNSBL, GeoIP and
//! scanner tags, writing JSON Lines.
//!
//! Exit status: 0 on success (unparseable lines are records, not failures), 2 for usage or
//! configuration errors (before any output), 1 for runtime errors.

mod cli;
mod report;

use std::process::ExitCode;

/// jemalloc instead of the system allocator: a run allocates and frees about a dozen
/// strings per record (lifting the component's results, writing JSON); with glibc's malloc
/// an enriched run spent a quarter of its time in malloc/free (see bench/README.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = <cli::Args as clap::Parser>::parse();
    match cli::main(args) {
        Ok(code) => code,
        Err(cli::Failure::Usage(e)) => {
            eprintln!("logenrich: {e:#}");
            ExitCode::from(2)
        }
        Err(cli::Failure::Runtime(e)) => {
            eprintln!("logenrich: {e:#}");
            ExitCode::from(1)
        }
    }
}
