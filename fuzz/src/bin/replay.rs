//! Runs the fuzz targets' bodies over saved inputs, as a plain (uninstrumented) binary:
//! the CI smoke, and a way to reproduce a crash with a backtrace.
//!
//! `replay` runs every target over its seeds (`fuzz/seeds/<target>/`) and its saved
//! regression inputs (`fuzz/regressions/<target>/`); `replay TARGET PATH...` runs one
//! target over the given files and folders (e.g. an afl-fuzz queue or crash folder).
//! Ends with `replay: N passed, M failed`; exits 1 when an input failed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use logenrich_fuzz::TARGETS;

/// One input to run: the target's name, its body and the file.
type Job = (&'static str, fn(&[u8]), PathBuf);

/// The files under `path` (itself if a file), sorted; AFL++'s bookkeeping files skipped.
fn inputs(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let Ok(listing) = std::fs::read_dir(path) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = listing
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            !name.starts_with('.') && name != "README.txt"
        })
        .collect();
    files.sort();
    files
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut jobs: Vec<Job> = Vec::new();
    match args.split_first() {
        None => {
            for &(name, body) in TARGETS {
                for dir in ["seeds", "regressions"] {
                    for file in inputs(&root.join(dir).join(name)) {
                        jobs.push((name, body, file));
                    }
                }
            }
        }
        Some((target, paths)) => {
            let Some(&(name, body)) = TARGETS.iter().find(|(n, _)| n == target) else {
                let names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
                eprintln!(
                    "replay: no target {target:?} (targets: {})",
                    names.join(", ")
                );
                return ExitCode::from(2);
            };
            for path in paths {
                jobs.extend(inputs(Path::new(path)).into_iter().map(|f| (name, body, f)));
            }
        }
    }
    let (mut passed, mut failed) = (0usize, 0usize);
    for (name, body, file) in &jobs {
        let data = match std::fs::read(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("replay: {name}: cannot read {}: {e}", file.display());
                failed += 1;
                continue;
            }
        };
        match catch_unwind(AssertUnwindSafe(|| body(&data))) {
            Ok(()) => passed += 1,
            Err(_) => {
                eprintln!("replay: {name}: FAILED on {}", file.display());
                failed += 1;
            }
        }
    }
    if jobs.is_empty() {
        eprintln!("replay: no inputs");
        failed += 1;
    }
    println!("replay: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
