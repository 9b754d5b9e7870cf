//! Robustness figures (issue 8's bars that the runner can be measured on today): a dead
//! (refusing) and a silent nameserver against lookups off, and a huge newline-free line
//! between good lines.

use std::io::Write;

use fixture::dns::{DnsFixture, FixtureConfig};

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::report::{Report, Row, count, secs};

/// A loopback port with nothing listening (the discard port is not served here).
const DEAD_NAMESERVER: &str = "127.0.0.1:9";

/// Lines and clients of the dead-resolver corpus, as the issue measured it.
const DEAD_CLIENTS: u32 = 115;

/// Dead nameserver: the run with reverse DNS against nothing listening (the kernel refuses:
/// ICMP port unreachable) and against a server that drops every query (silence), and the
/// same run with `--no-dns`; bar: within 2× of it plus one lookup timeout (all its tries).
fn dead_resolver(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let lines = ctx.sizes.parse_lines;
    let file = data::corpus_file(&ctx.work, &data::corpus_options(lines, DEAD_CLIENTS))?;
    let file = arg(&file)?;
    let off = ctx.run_logenrich("dead-off", &[file, "--no-dns", "--no-geoip"])?;
    // The silent server: the hickory fixture dropping everything, on a runtime of ours
    // that serves while the CLI runs.
    let rt = tokio::runtime::Runtime::new()?;
    let silent = rt.block_on(DnsFixture::start(FixtureConfig {
        drop_percent: 100,
        ..FixtureConfig::default()
    }))?;
    let silent_addr = silent.addr().to_string();
    let timeout = 1.0;
    let attempts = 1;
    let one_timeout = timeout * f64::from(attempts + 1);
    let bound = 2.0 * off.wall.as_secs_f64() + one_timeout;
    for (what, tag, ns) in [
        ("nameserver down", "dead-on", DEAD_NAMESERVER),
        (
            "nameserver silent (drops every query)",
            "silent-on",
            silent_addr.as_str(),
        ),
    ] {
        let dead = ctx.run_logenrich(
            tag,
            &[
                file,
                "--no-geoip",
                "--nameserver",
                ns,
                "--timeout",
                "1",
                "--attempts",
                "1",
            ],
        )?;
        report.push(Row::new(
            format!("{what}, {} lines, {DEAD_CLIENTS} clients", count(lines)),
            format!(
                "{} against {} with --no-dns (bound 2× + one timeout of {one_timeout:.0} s = {})",
                secs(dead.wall.as_secs_f64()),
                secs(off.wall.as_secs_f64()),
                secs(bound)
            ),
            "≤ 2× --no-dns + one timeout",
            dead.wall.as_secs_f64() <= bound,
        ));
    }
    drop(silent);
    Ok(())
}

/// A newline-free line of `huge` bytes between 1,000 good lines on each side: peak RSS,
/// and every good line enriched.
fn huge_line(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let huge: u64 = if ctx.quick { 256 << 20 } else { 2 << 30 };
    let path = ctx.work.join(format!("huge-line-{}MiB.log", huge >> 20));
    if !path.exists() {
        let good = data::corpus_lines(&data::corpus_options(1000, 100));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for l in &good {
            writeln!(f, "{l}")?;
        }
        let block = vec![b'A'; 1 << 20];
        for _ in 0..huge >> 20 {
            f.write_all(&block)?;
        }
        f.write_all(b"\n")?;
        for l in &good {
            writeln!(f, "{l}")?;
        }
        f.flush()?;
    }
    let m = ctx.run_logenrich("huge-line", &[arg(&path)?, "--no-dns", "--no-geoip"])?;
    let mib = m.max_rss_kib as f64 / 1024.0;
    report.push(Row::new(
        format!(
            "a {} MiB newline-free line between 2,000 good lines",
            huge >> 20
        ),
        format!(
            "peak RSS {mib:.0} MB, {} wall (the line is one error record)",
            secs(m.wall.as_secs_f64())
        ),
        "≤ 200 MB",
        mib <= 200.0,
    ));
    Ok(())
}

/// The robustness figures.
pub fn limits_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    dead_resolver(ctx, report)?;
    huge_line(ctx, report)
}
