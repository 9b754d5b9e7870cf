//! Subprocesses: building and finding the `logenrich` and `dns-fixture` binaries, running the
//! DNS fixture on loopback, and running a command for its wall time and peak RSS.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// The binaries the bench runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// The `logenrich` CLI.
    pub logenrich: PathBuf,
    /// The `dns-fixture` server.
    pub dns_fixture: PathBuf,
    /// The cargo profile they were built with (`release` for figures that count).
    pub profile: String,
}

/// The workspace root (the bench crate's parent directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Builds the `logenrich` and `dns-fixture` binaries (unless `build` is false) with the
/// profile this bench was built with, and finds them in the same target directory:
/// `cargo run --release -p bench` measures release binaries (the figures the bars are
/// for); CI's `cargo run -p bench -- --quick` reuses the test build's debug binaries, so
/// it checks that every measurement still runs without a second build of wasmtime.
pub fn binaries(build: bool) -> anyhow::Result<Binaries> {
    let exe = std::env::current_exe().context("cannot find the bench executable")?;
    let profile_dir = exe
        .parent()
        .context("the bench executable has no directory")?;
    let target = profile_dir
        .parent()
        .context("the bench executable is not inside a target directory")?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("the bench executable's directory has no name")?;
    let build_args: Vec<String> = match profile {
        "debug" => Vec::new(),
        "release" => vec!["--release".into()],
        other => vec!["--profile".into(), other.into()],
    };
    let build_line = format!(
        "cargo build {} -p fixture -p logenrich-cli",
        build_args.join(" ")
    )
    .replace("  ", " ");
    if build {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        eprintln!("bench: {build_line}");
        let status = Command::new(cargo)
            .current_dir(workspace_root())
            .arg("build")
            .args(&build_args)
            .args(["-p", "fixture", "-p", "logenrich-cli"])
            .arg("--target-dir")
            .arg(target)
            .status()
            .context("cannot run cargo")?;
        if !status.success() {
            bail!("building logenrich and dns-fixture failed ({status})");
        }
    }
    let bins = Binaries {
        logenrich: profile_dir.join("logenrich"),
        dns_fixture: profile_dir.join("dns-fixture"),
        profile: profile.to_owned(),
    };
    for b in [&bins.logenrich, &bins.dns_fixture] {
        if !b.is_file() {
            bail!(
                "{} is missing: run without --no-build, or {build_line}",
                b.display()
            );
        }
    }
    Ok(bins)
}

/// `name` (`nsd`, `unbound`, `nats-server`) from `PATH` or Debian's `/usr/sbin`.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Knobs of a `dns-fixture` process.
#[derive(Debug, Clone, Default)]
pub struct FixtureOptions {
    /// Delay before every answer.
    pub latency_ms: u64,
    /// Percentage of DNSBL-listed addresses.
    pub listed_percent: f64,
    /// Answers per second at most (0: no limit).
    pub answers_per_second: u32,
}

/// A running `dns-fixture`; killed when dropped.
pub struct DnsServer {
    child: Child,
    /// Where it listens (UDP and TCP).
    pub addr: SocketAddr,
}

/// The DNSBL zone the fixture serves.
pub const DNSBL_ZONE: &str = "bl.test";

impl DnsServer {
    /// Starts the fixture with synthetic PTR names for every address.
    pub fn start(bin: &Path, opts: &FixtureOptions) -> anyhow::Result<Self> {
        let mut child = Command::new(bin)
            .args(["--synthetic", "--dnsbl-zone", DNSBL_ZONE])
            .arg(format!("--latency-ms={}", opts.latency_ms))
            .arg(format!("--listed-percent={}", opts.listed_percent))
            .arg(format!("--answers-per-second={}", opts.answers_per_second))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .context("cannot read the fixture's address")?;
        let addr = first
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => Ok(DnsServer { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("dns-fixture did not say where it listens (got {first:?})")
            }
        }
    }

    /// `127.0.0.1:PORT`, for `--nameserver`.
    pub fn nameserver(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished subprocess cost.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// From spawn to exit.
    pub wall: Duration,
    /// Its peak resident set size, in KiB.
    pub max_rss_kib: u64,
    /// CPU time (user + system) it used, all threads (10 ms resolution; the last 5 ms of
    /// its life may be missed).
    pub cpu: Duration,
}

/// How often a running child's peak RSS is sampled.
const RSS_POLL: Duration = Duration::from_millis(5);

/// Runs `cmd` to completion (stdin from /dev/null; stdout and stderr as configured on
/// `cmd`) and returns its wall time and peak RSS. A non-zero exit is an error that quotes
/// `stderr_file` when given.
///
/// The peak RSS is the child's `VmHWM` (`/proc/PID/status`), read every 5 ms while it
/// runs: it is the high-water mark of the child's own address space, so only growth in its
/// last 5 ms can be missed. `getrusage`/`wait4` would be simpler but are wrong here: a
/// child spawned with vfork (as std does) inherits this process's peak RSS — the bench
/// holds a corpus in memory — as its own `ru_maxrss`.
pub fn run_measured(cmd: &mut Command, stderr_file: Option<&Path>) -> anyhow::Result<Measured> {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));
    let (mut max_rss_kib, mut cpu) = (0, Duration::ZERO);
    let status = loop {
        if let Some(status) = child.try_wait().context("cannot wait for the child")? {
            break status;
        }
        if let Some(hwm) = vm_hwm_kib(&proc_dir) {
            max_rss_kib = max_rss_kib.max(hwm);
        }
        if let Some(used) = cpu_time(&proc_dir) {
            cpu = cpu.max(used);
        }
        std::thread::sleep(RSS_POLL);
    };
    let wall = started.elapsed();
    if !status.success() {
        let detail = stderr_file
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        bail!(
            "{:?} failed ({status}): {}",
            cmd.get_program(),
            detail.trim()
        );
    }
    Ok(Measured {
        wall,
        max_rss_kib,
        cpu,
    })
}

/// The `VmHWM` line of `/proc/PID/status`, in KiB (`None` once the process is a zombie or
/// gone).
fn vm_hwm_kib(proc_dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// utime + stime of `/proc/PID/stat` (fields 14 and 15, in USER_HZ = 1/100 s ticks).
pub fn cpu_time(proc_dir: &Path) -> Option<Duration> {
    let text = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let mut fields = text.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Runs `cmd` (stdout piped) and returns the time from spawn to its first complete output
/// line, and to its exit.
pub fn first_line_time(cmd: &mut Command) -> anyhow::Result<(Duration, Duration)> {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .context("cannot read the first record")?;
    let first = started.elapsed();
    std::io::copy(&mut reader, &mut std::io::sink()).context("cannot drain the output")?;
    let status = child.wait().context("cannot wait for the child")?;
    let total = started.elapsed();
    if !status.success() || line.is_empty() {
        bail!("{:?} failed or wrote nothing ({status})", cmd.get_program());
    }
    Ok((first, total))
}

/// Whether `program args...` runs and exits 0 (quietly).
pub fn runs_ok(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd` and returns its stdout; a failure quotes stderr.
pub fn output_of(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).context("output is not UTF-8")
}
