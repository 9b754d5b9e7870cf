//! The HTML report (issue 9): `logenrich report` over 1M enriched records of 20k clients
//! (written once by an enriched run against the DNS fixture, one DNSBL zone and a City
//! database), against a plain line count of the same file (`wc -l`) for scale: time, peak
//! RSS and the HTML's size against their bars, and the PNG map's extra cost.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs::{self, DNSBL_ZONE, DnsServer, FixtureOptions, Measured};
use crate::report::{Report, Row, count, median_of, s, secs};

/// The client pool of the bar.
const CLIENTS: u32 = 20_000;
/// The bars.
const MAX_SECS: f64 = 3.0;
const MAX_RSS_MB: f64 = 300.0;
const MAX_HTML_MB: f64 = 5.0;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn rss_mb(m: &Measured) -> f64 {
    m.max_rss_kib as f64 * 1024.0 / 1e6
}

/// The enriched JSON Lines of `lines` lines, made once per size.
fn enriched_file(ctx: &Ctx, lines: u64) -> anyhow::Result<PathBuf> {
    let path = ctx
        .work
        .join(format!("enriched-{lines}-{CLIENTS}ips.jsonl"));
    if path.is_file() {
        return Ok(path);
    }
    let corpus = data::corpus_file(&ctx.work, &data::corpus_options(lines, CLIENTS))?;
    let db = data::geoip_db(&ctx.work, CLIENTS, 1_000)?;
    let server = DnsServer::start(
        &ctx.bins.dns_fixture,
        &FixtureOptions {
            latency_ms: 0,
            listed_percent: 5.0,
            ..FixtureOptions::default()
        },
    )?;
    eprintln!("bench: enriching {} for the report", corpus.display());
    let tmp = path.with_extension("tmp");
    let log = ctx.work.join("logenrich-report-input.stderr");
    let mut cmd = Command::new(&ctx.bins.logenrich);
    cmd.arg(arg(&corpus)?)
        .args(["--no-progress", "--nameserver", &server.nameserver()])
        .args([
            "--dnsbl",
            DNSBL_ZONE,
            "--geoip-db",
            arg(&db)?,
            "-o",
            arg(&tmp)?,
        ])
        .env("XDG_CACHE_HOME", &ctx.cache_home)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    procs::run_measured(&mut cmd, Some(&log))?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

fn report_run(
    ctx: &Ctx,
    input: &Path,
    html: &Path,
    png: Option<&Path>,
) -> anyhow::Result<Measured> {
    let log = ctx.work.join("logenrich-report.stderr");
    let mut cmd = Command::new(&ctx.bins.logenrich);
    cmd.args(["report", "-q", arg(input)?, "-o", arg(html)?]);
    if let Some(png) = png {
        cmd.args(["--png", arg(png)?]);
    }
    cmd.stdout(Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    procs::run_measured(&mut cmd, Some(&log))
}

fn line_count(input: &Path) -> anyhow::Result<Measured> {
    let mut cmd = Command::new("wc");
    cmd.arg("-l")
        .arg(input)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    procs::run_measured(&mut cmd, None)
}

/// The report figures.
pub fn report_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let lines = if ctx.quick { 100_000 } else { 1_000_000 };
    let input = enriched_file(ctx, lines)?;
    let input_mb = mb(std::fs::metadata(&input)?.len());
    let html = ctx.work.join("report.html");
    let png = ctx.work.join("report.png");
    // Warm the page cache once, then alternate the two sides.
    line_count(&input)?;
    let (mut reports, mut counts) = (Vec::new(), Vec::new());
    for _ in 0..ctx.sizes.rounds {
        reports.push(report_run(ctx, &input, &html, None)?);
        counts.push(line_count(&input)?);
    }
    let with_png = report_run(ctx, &input, &html, Some(&png))?;
    let wall = median_of(&reports, |m| s(m.wall));
    let cpu = median_of(&reports, |m| s(m.cpu));
    let rss = median_of(&reports, rss_mb);
    let wc = median_of(&counts, |m| s(m.wall));
    let html_mb = mb(std::fs::metadata(&html)?.len());
    let png_kb = std::fs::metadata(&png)?.len() / 1000;
    eprintln!(
        "bench: report of {} records: {} wall, {} CPU, {rss:.0} MB peak RSS, HTML {html_mb:.2} MB; wc -l {}",
        count(lines),
        secs(wall),
        secs(cpu),
        secs(wc)
    );
    let what = format!(
        "{} enriched records ({input_mb:.0} MB), {} clients",
        count(lines),
        count(u64::from(CLIENTS))
    );
    let scale = if ctx.quick {
        " (quick: a tenth of the bar's size)"
    } else {
        ""
    };
    report.push(Row::new(
        format!("report: time, {what}{scale}"),
        format!(
            "{} ({} CPU); `wc -l` of the same file {}: {:.0}× a plain read",
            secs(wall),
            secs(cpu),
            secs(wc),
            wall / wc.max(1e-6)
        ),
        "≤ 3 s",
        wall <= MAX_SECS,
    ));
    report.push(Row::new(
        format!("report: peak RSS, {what}{scale}"),
        format!("{rss:.0} MB"),
        "≤ 300 MB",
        rss <= MAX_RSS_MB,
    ));
    report.push(Row::new(
        format!("report: HTML size, {what}{scale}"),
        format!("{html_mb:.2} MB"),
        "≤ 5 MB",
        html_mb <= MAX_HTML_MB,
    ));
    report.push(Row::info(
        "report with --png (the map rasterised by resvg, 1600 px wide)",
        format!(
            "{} wall (+{} over the HTML alone), PNG {png_kb} kB",
            secs(s(with_png.wall)),
            secs((s(with_png.wall) - wall).max(0.0))
        ),
    ));
    Ok(())
}
