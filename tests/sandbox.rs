//! The sandbox's limits, against a hostile component (`tests/hostile`, built here once):
//! a trap, an endless loop, unbounded memory, a wrong record count, a loop in
//! `configure`, and a DNSBL query for a zone the user did not configure. Each costs its
//! batch only (lines in = records out) or ends the run cleanly, within its time limit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::util::{line, logenrich, records, run, stderr};

/// Builds `tests/hostile` for wasm32-unknown-unknown and makes it a component (once).
fn hostile() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let root = crate::util::root();
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile");
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.current_dir(&root)
            .args(["build", "-q", "-p", "hostile", "--lib"])
            .args(["--target", "wasm32-unknown-unknown", "--profile", "guest"])
            .arg("--target-dir")
            .arg(&target);
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if (key.starts_with("CARGO_") && key != "CARGO_HOME") || key.starts_with("RUSTC") {
                cmd.env_remove(key);
            }
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building tests/hostile failed");
        let module = std::fs::read(target.join("wasm32-unknown-unknown/guest/hostile.wasm"))
            .expect("the hostile module");
        let component = wit_component::ComponentEncoder::default()
            .validate(true)
            .module(&module)
            .and_then(|e| e.encode())
            .expect("a component");
        let path = target.join("hostile.wasm");
        std::fs::write(&path, component).unwrap();
        path
    })
}

fn input(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| line(&format!("192.0.2.{}", i % 200 + 1), "-") + "\n")
        .collect::<String>()
        .into_bytes()
}

/// Runs the CLI on the hostile component in `mode` over `n` lines.
fn run_mode(mode: &str, n: usize, extra: &[&str]) -> (std::process::Output, Duration) {
    let mut cmd = logenrich();
    cmd.args(["--no-dns", "--no-geoip", "-q", "--batch-size", "100"])
        .arg("--component")
        .arg(hostile())
        .args(extra)
        .arg("--setting")
        .arg(format!("hostile-mode={mode}"));
    let started = Instant::now();
    let out = run(&mut cmd, &input(n));
    (out, started.elapsed())
}

fn assert_failure_records(out: &std::process::Output, n: usize, cause: &str) {
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), n, "one record per line: {}", stderr(out));
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r["line"], i as u64 + 1);
        let reason = r["error"]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(cause), "line {}: {reason}", i + 1);
        assert!(
            reason.len() < 300,
            "a one-line cause, not a backtrace: {reason}"
        );
        assert!(r["error"]["column"].is_null());
    }
}

#[test]
fn a_well_behaved_hostile_build_passes_lines_through() {
    let (out, _) = run_mode("none", 250, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(records(&out.stdout).len(), 250);
}

#[test]
fn a_trap_costs_its_batches_and_the_run_fails() {
    let (out, _) = run_mode("trap", 250, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_failure_records(&out, 250, "wasm trap");
}

#[test]
fn a_loop_is_cut_at_the_deadline() {
    let (out, took) = run_mode(
        "loop",
        150,
        &["--deadline", "0.5", "--max-failed-batches", "2"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_failure_records(&out, 150, "ran longer than its limit");
    // Two batches, each cut after 0.5 s of guest time, in parallel instances.
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn memory_growth_is_capped() {
    let (out, _) = run_mode("grow", 100, &["--max-memory", "64"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_failure_records(&out, 100, "memory");
}

#[test]
fn a_wrong_record_count_breaks_the_contract_not_the_run() {
    let (out, _) = run_mode("short", 250, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_failure_records(&out, 250, "broke the contract");
}

#[test]
fn a_loop_in_configure_is_a_start_up_error_within_the_deadline() {
    let (out, took) = run_mode("configure-loop", 10, &["--deadline", "0.5"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ran longer than its limit"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty());
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn an_unconfigured_zone_is_refused_to_the_component() {
    let (out, _) = run_mode("exfiltrate", 20, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), 20);
    assert!(recs.iter().all(|r| r["note"] == "refused"), "{recs:?}");
}
