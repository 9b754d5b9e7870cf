//! The `logenrich` command line (the library `logenrich_cli` is the pipeline and the
//! CLI itself; here are `main` and the allocator).
//!
//! Exit status: 0 on success (unparseable lines are records, not failures), 2 for usage or
//! configuration errors (before any output), 1 for runtime errors.

use logenrich_cli::command;

use std::process::ExitCode;

/// jemalloc instead of the system allocator: with glibc's, malloc and free took about a
/// quarter of an enriched run's profile, and jemalloc ran 1M lines end to end about 30 %
/// faster (bench/README.md, "CLI allocator"). That was measured while the host still
/// lifted typed records; what allocates per batch now is the batch and its JSON Lines
/// buffers, the lookups' outcomes and the report's parsing.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts (`_RJEM_MALLOC_CONF` in the environment
/// still overrides them). One arena instead of four per core, and freed pages given back
/// after 1 s instead of 10 s: over 1M lines with 462k distinct clients (reverse DNS,
/// DNSBL, GeoLite2 City, 2 cores) the peak RSS went from 163 MB to 130 MB, at the same
/// speed (each thread's cache still serves most allocations without the arena's lock).
#[cfg(not(target_env = "msvc"))]
#[expect(
    unsafe_code,
    reason = "jemalloc reads its options from this exported symbol (a C `const char *`)"
)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: MallocConf =
    MallocConf(c"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr());

/// A C string pointer that may be shared between threads (it points at a literal).
#[cfg(not(target_env = "msvc"))]
#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);

// SAFETY: the pointer is to a `'static` literal that is never written.
#[cfg(not(target_env = "msvc"))]
#[expect(unsafe_code, reason = "a pointer to a static literal is safe to share")]
unsafe impl Sync for MallocConf {}

fn main() -> ExitCode {
    let args = <command::Args as clap::Parser>::parse();
    match command::main(args) {
        Ok(code) => code,
        Err(command::Failure::Usage(e)) => {
            eprintln!("logenrich: {e:#}");
            ExitCode::from(2)
        }
        Err(command::Failure::Runtime(e)) => {
            eprintln!("logenrich: {e:#}");
            ExitCode::from(1)
        }
    }
}
