//! The live-pipeline figures of issue 8: line written → record out on a trickle (a
//! followed file and a pipe), the cost of `--checkpoint` on a file run, and a SIGTERM in
//! the middle of a run resumed from its checkpoint with no gap and no repeat.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs::{DnsServer, FixtureOptions};
use crate::report::{Report, Row, alternate, count, median_of, rate, secs};

/// Clients of the trickle: few, so every lookup after the first of each is cached.
const TRICKLE_CLIENTS: usize = 5;

fn trickle_line(i: usize) -> String {
    format!(
        "192.0.2.{} - - [19/Jul/2022:13:23:20 +0200] \"GET /t/{i} HTTP/1.1\" 200 612 \"-\" \"Mozilla/5.0\" \"-\" 443 www.example.org\n",
        i % TRICKLE_CLIENTS + 1
    )
}

/// The `i` of a record's `/t/{i}` target, from its JSON text.
fn trickle_index(record: &str) -> Option<usize> {
    let at = record.find("\"target\":\"/t/")? + "\"target\":\"/t/".len();
    let digits: String = record[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Percentile `p` (0..=100) of sorted `values`.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Where the trickle's lines go: a followed file, or the CLI's stdin.
enum Feed {
    File(std::path::PathBuf),
    Pipe(std::process::ChildStdin),
}

impl Feed {
    fn write(&mut self, line: &str) -> anyhow::Result<()> {
        match self {
            Feed::File(path) => {
                let mut f = OpenOptions::new().append(true).create(true).open(path)?;
                f.write_all(line.as_bytes())?;
            }
            Feed::Pipe(stdin) => {
                stdin.write_all(line.as_bytes())?;
                stdin.flush()?;
            }
        }
        Ok(())
    }
}

/// Writes `n` lines at `per_sec` into `feed` of the running `child` and returns each
/// line's write → record latency, in milliseconds, sorted.
fn trickle(child: &mut Child, mut feed: Feed, n: usize, per_sec: f64) -> anyhow::Result<Vec<f64>> {
    let stdout = child.stdout.take().context("no stdout")?;
    let (tx, rx) = mpsc::channel::<(usize, Instant)>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some(i) = trickle_index(&line) {
                let _ = tx.send((i, Instant::now()));
            }
        }
    });
    // Warm-up: one line per client, so the measured lines' lookups are cached.
    let warm = 10_000;
    for i in 0..TRICKLE_CLIENTS {
        feed.write(&trickle_line(warm + i))?;
    }
    for _ in 0..TRICKLE_CLIENTS {
        rx.recv_timeout(Duration::from_secs(30))
            .context("no warm-up record")?;
    }
    let gap = Duration::from_secs_f64(1.0 / per_sec);
    let mut sent = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let due = start + gap * i as u32;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        sent.push(Instant::now());
        feed.write(&trickle_line(i))?;
    }
    let mut latencies = Vec::with_capacity(n);
    let deadline = Instant::now() + Duration::from_secs(30);
    while latencies.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let (i, at) = rx.recv_timeout(left).context("records missing")?;
        if i < n {
            latencies.push(at.duration_since(sent[i]).as_secs_f64() * 1000.0);
        }
    }
    drop(feed);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

/// The CLI with reverse DNS against the fixture (cached after the warm-up) and GeoIP.
fn live_command(ctx: &Ctx, dns: &DnsServer, geo: &std::path::Path) -> anyhow::Result<Command> {
    let mut cmd = Command::new(&ctx.bins.logenrich);
    cmd.args(["--no-progress", "-q", "--nameserver", &dns.nameserver()])
        .args(["--geoip-db", arg(geo)?])
        .env("XDG_CACHE_HOME", &ctx.cache_home)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    Ok(cmd)
}

fn trickle_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let dns = DnsServer::start(&ctx.bins.dns_fixture, &FixtureOptions::default())?;
    let geo = data::geoip_db(&ctx.work, 1_000, 0)?;
    let n = if ctx.quick { 30 } else { 100 };
    let per_sec = 10.0;

    let dir = ctx.work.join("live-follow");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("access.log");
    std::fs::write(&log, "")?;
    let mut cmd = live_command(ctx, &dns, &geo)?;
    let mut child = cmd
        .args(["--follow", arg(&log)?])
        .stdin(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(300)); // it opens the file (read from its end)
    let followed = trickle(&mut child, Feed::File(log), n, per_sec)?;

    let mut cmd = live_command(ctx, &dns, &geo)?;
    let mut child = cmd.stdin(Stdio::piped()).spawn()?;
    let stdin = child.stdin.take().context("no stdin")?;
    let piped = trickle(&mut child, Feed::Pipe(stdin), n, per_sec)?;

    let (p50, p99) = (percentile(&followed, 50.0), percentile(&followed, 99.0));
    report.push(Row::new(
        format!("trickle {per_sec:.0} lines/s, --follow a file, lookups cached, {n} lines"),
        format!("write → record p50 {p50:.1} ms, p99 {p99:.1} ms"),
        "p99 ≤ 100 ms",
        p99 <= 100.0,
    ));
    report.push(Row::new(
        format!("trickle {per_sec:.0} lines/s on a pipe (--linger 50), {n} lines"),
        format!(
            "write → record p50 {:.1} ms, p99 {:.1} ms",
            percentile(&piped, 50.0),
            percentile(&piped, 99.0)
        ),
        "p99 ≤ 100 ms",
        percentile(&piped, 99.0) <= 100.0,
    ));
    Ok(())
}

/// A file run with and without `--checkpoint`, side by side.
fn checkpoint_cost(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let lines = ctx.sizes.parse_lines;
    let file = data::corpus_file(&ctx.work, &data::corpus_options(lines, 1_000))?;
    let file = arg(&file)?;
    let ckpt = ctx.work.join("live-cost.ckpt");
    let ckpt = arg(&ckpt)?;
    let (plain, with) = alternate(
        ctx.sizes.rounds.max(3),
        || ctx.run_logenrich("file-plain", &[file, "--no-dns", "--no-geoip"]),
        || {
            let _ = std::fs::remove_file(ckpt);
            ctx.run_logenrich(
                "file-ckpt",
                &[file, "--no-dns", "--no-geoip", "--checkpoint", ckpt],
            )
        },
    )?;
    let a = median_of(&plain, |m| m.wall.as_secs_f64());
    let b = median_of(&with, |m| m.wall.as_secs_f64());
    let ratio = (lines as f64 / b) / (lines as f64 / a);
    report.push(Row::new(
        format!(
            "file run, {} lines, lookups off: --checkpoint vs none",
            count(lines)
        ),
        format!(
            "{} vs {} lines/s ({ratio:.2}×)",
            rate(lines as f64 / b),
            rate(lines as f64 / a)
        ),
        "≥ 0.95×",
        ratio >= 0.95,
    ));
    Ok(())
}

/// The `line` numbers of the records in `out` (each record starts with `{"line":N,`).
fn record_lines(out: &std::path::Path) -> anyhow::Result<Vec<u64>> {
    let text = std::fs::read(out)?;
    let mut lines = Vec::new();
    for record in text.split(|&b| b == b'\n').filter(|r| !r.is_empty()) {
        let rest = record
            .strip_prefix(b"{\"line\":")
            .context("a record without its line number first")?;
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        lines.push(std::str::from_utf8(&rest[..digits])?.parse()?);
    }
    Ok(lines)
}

/// SIGTERM a third of the way through a run with `--checkpoint`, then the same command
/// again: every line has exactly one record, in order.
fn sigterm_resume(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let lines = ctx.sizes.scale[1].min(1_000_000);
    let file = data::corpus_file(&ctx.work, &data::corpus_options(lines, 1_000))?;
    let dir = ctx.work.join("live-resume");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let (ckpt, out) = (dir.join("ckpt.json"), dir.join("out.jsonl"));
    let command = || -> anyhow::Result<Command> {
        let mut cmd = Command::new(&ctx.bins.logenrich);
        cmd.args([
            "--no-progress",
            "-q",
            "--no-dns",
            "--no-geoip",
            "--checkpoint",
        ])
        .args([arg(&ckpt)?, "-o", arg(&out)?, arg(&file)?])
        .env("XDG_CACHE_HOME", &ctx.cache_home)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        Ok(cmd)
    };
    let input_bytes = std::fs::metadata(&file)?.len();
    let started = Instant::now();
    let mut child = command()?.spawn()?;
    // Records are ~1.5× their line: a third of the lines is about half the input's size.
    while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) < input_bytes / 2 {
        if child.try_wait()?.is_some() {
            bail!("the run ended before the signal");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let signalled = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()?;
    let status = child.wait()?;
    let stop_time = signalled.elapsed();
    let first = record_lines(&out)?.len();
    let status2 = command()?.status()?;
    let total = started.elapsed();
    let got = record_lines(&out)?;
    let exact = got.len() as u64 == lines && got.iter().zip(1..).all(|(&l, i)| l == i);
    report.push(Row::new(
        format!(
            "SIGTERM during a {}-line run, then the same --checkpoint run",
            count(lines)
        ),
        format!(
            "{} records before the stop (exit {}, {} after the signal), {} in all ({}), {} overall",
            count(first as u64),
            status.code().unwrap_or(-1),
            secs(stop_time.as_secs_f64()),
            count(got.len() as u64),
            if exact {
                "each line once, in order"
            } else {
                "GAP OR REPEAT"
            },
            secs(total.as_secs_f64()),
        ),
        "every line once, exit 0 twice",
        exact && status.success() && status2.success() && first < lines as usize,
    ));
    Ok(())
}

/// The live-pipeline group.
pub fn live_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    trickle_figures(ctx, report)?;
    checkpoint_cost(ctx, report)?;
    sigterm_resume(ctx, report)
}
