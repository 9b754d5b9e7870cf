//! The bodies of logenrich's fuzz targets, one module each: every body takes arbitrary
//! bytes, feeds them to the real code and panics when an invariant breaks. The AFL++
//! binaries (`src/bin/<target>.rs`, feature `afl`) and the plain `replay` binary (saved
//! inputs, CI) call the same bodies. See `fuzz/README.md`.

pub mod attacks;
pub mod batch;
pub mod checkpoint;
pub mod config;
pub mod cymru;
pub mod dns_answer;
pub mod jsonl;
pub mod log_format;
pub mod lookups;

/// The CLI's checkpoint file (`cli/src/checkpoint.rs`, compiled here as it is: the CLI is a
/// binary crate with no library).
#[path = "../../cli/src/checkpoint.rs"]
pub mod cli_checkpoint;

/// The CLI's TOML configuration (`cli/src/config.rs`, compiled here as it is).
#[path = "../../cli/src/config.rs"]
pub mod cli_config;

/// A target: its name (the binary's and the seed folder's) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("batch", batch::run),
    ("log_format", log_format::run),
    ("attacks", attacks::run),
    ("dns_answer", dns_answer::run),
    ("cymru", cymru::run),
    ("checkpoint", checkpoint::run),
    ("config", config::run),
];

/// Splits `data` at its first `\n`: the line before it and the rest (`data` and nothing
/// when there is none).
pub fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Runs `target`'s body over its seeds once. The AFL++ binaries call it before the fork
/// server starts, so that what the body builds once (compiled filters and rules, lazy DFA
/// caches) is built in the parent and not again in every forked child.
pub fn warm_up(target: &str) {
    let Some(&(_, body)) = TARGETS.iter().find(|(n, _)| *n == target) else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(data) = std::fs::read(entry.path()) {
            body(&data);
        }
    }
}
