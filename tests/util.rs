//! Helpers shared by the integration tests: running the `logenrich` binary, reading its
//! JSON Lines, and the bundled sample.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// The bundled sample log.
pub fn sample() -> PathBuf {
    root().join("samples/honeypot.log")
}

/// A compile cache shared by all tests, so the guest is compiled once per test run.
pub fn cache_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache-home")
}

/// The `logenrich` binary with a shared compile cache, no progress bar, no GeoIP from the
/// machine's standard paths (unless a test asks for it), and the current dir in a temp dir.
pub fn logenrich() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logenrich"));
    cmd.env("XDG_CACHE_HOME", cache_home()).arg("--no-progress");
    cmd
}

/// Runs the command with `stdin` as input.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("logenrich starts");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The runner may exit before reading everything (e.g. on a config error).
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("logenrich finishes");
    writer.join().expect("stdin writer");
    out
}

/// Parses JSON Lines.
pub fn records(stdout: &[u8]) -> Vec<Value> {
    std::str::from_utf8(stdout)
        .expect("output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

/// Stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A honeypot-format line for `ip` with `ua`.
pub fn line(ip: &str, ua: &str) -> String {
    format!(
        r#"{ip} - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 612 "-" "{ua}" "-" 443 www.example.org"#
    )
}

/// A third-party program a test runs (nginx, nsd, chromium), from `PATH` or the `sbin`
/// directories Debian installs daemons in. Missing, it fails the test when `CI` is set
/// (`.ci/run` sets it, and installs the packages) and skips it elsewhere, saying so on
/// stderr, so README's test command passes on a machine without these packages.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin", "/sbin"].map(PathBuf::from));
    let found = dirs.map(|d| d.join(name)).find(|p| p.is_file());
    if found.is_none() {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("{name} is not installed (.ci/run installs it)");
        }
        eprintln!(
            "skipped: {name} is not installed (apt-get install the package to run this test)"
        );
    }
    found
}

/// `logenrich nats` with the shared compile cache and no progress bar.
pub fn logenrich_nats() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logenrich"));
    cmd.env("XDG_CACHE_HOME", cache_home())
        .args(["nats", "--no-progress"]);
    cmd
}
