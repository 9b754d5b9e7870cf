//! `logenrich report` (an HTML report, and optionally a PNG map, from enriched JSON Lines
//! already written) and `--report FILE` on a run (the same report of the run's records,
//! fed from the output as it is written). The work is `logenrich-report`'s; this is the
//! command line around it.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::runner::Summary;
use anyhow::Context as _;
use logenrich_dns::DnsStats;
use logenrich_report::{Meta, Report, ReportBuilder};

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a self-contained HTML report (offline map, scanners, blocklists, countries,
    /// ASNs, PTR domains, targets, status codes, time, parse errors) from enriched JSON
    /// Lines, e.g. `logenrich report enriched.jsonl -o report.html --png map.png`.
    Report(ReportArgs),
}

/// Arguments of `logenrich report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Enriched JSON Lines written by logenrich (plain or gzip); `-` or none reads stdin.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Also write the map as a PNG (rendered without a browser).
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
    /// The report's title [default: "logenrich report"].
    #[arg(long, value_name = "TEXT")]
    title: Option<String>,
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// Runs `logenrich report`: exit 1 when an input cannot be read (the others are still
/// reported) or the report cannot be written.
pub fn main(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files.clone()
    };
    let mut builder = ReportBuilder::new();
    let mut failed = false;
    for file in &files {
        if let Err(e) = builder.read_path(file) {
            eprintln!("logenrich: {e}");
            failed = true;
        }
    }
    let report = builder.finish();
    let meta = Meta {
        title: args.title.clone(),
        inputs: files.iter().map(|f| f.display().to_string()).collect(),
        ..Meta::default()
    };
    write(&report, &meta, &args.output, args.png.as_deref())?;
    if !args.quiet {
        summary(
            &report,
            &args.output,
            args.png.as_deref(),
            started.elapsed(),
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn write(report: &Report, meta: &Meta, html: &Path, png: Option<&Path>) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(html).with_context(|| format!("cannot create {}", html.display()))?;
    report
        .write_html(BufWriter::with_capacity(1 << 20, file), meta)
        .with_context(|| format!("cannot write {}", html.display()))?;
    if let Some(png) = png {
        let bytes = report.png()?;
        std::fs::write(png, bytes).with_context(|| format!("cannot write {}", png.display()))?;
    }
    Ok(())
}

fn summary(report: &Report, html: &Path, png: Option<&Path>, elapsed: Duration) {
    let t = report.totals();
    eprintln!(
        "logenrich: report {} ({} lines, {} records, {} errors, {} clients, {} located at {} places){}, {:.2} s",
        html.display(),
        t.lines,
        t.records,
        t.errors,
        t.clients,
        t.located,
        t.locations,
        png.map(|p| format!(", map {}", p.display()))
            .unwrap_or_default(),
        elapsed.as_secs_f64()
    );
}

/// `--report FILE` on a run: a tee on the output that feeds the report as records are
/// written.
pub struct RunReport {
    path: PathBuf,
    builder: Arc<Mutex<ReportBuilder>>,
    started: String,
}

struct Tee {
    inner: Box<dyn Write + Send>,
    builder: Arc<Mutex<ReportBuilder>>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Ok(mut b) = self.builder.lock() {
            b.feed(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What the run knew about its lookups, for the report's "how the lookups were made".
pub struct RunFacts<'a> {
    /// The nameservers (empty: the system's).
    pub nameservers: Vec<String>,
    /// Reverse DNS on.
    pub reverse_dns: bool,
    /// DNSBL zones.
    pub zones: Vec<String>,
    /// GeoIP database files (empty: geo off).
    pub geoip: &'a [PathBuf],
    /// The DNS provider's counters.
    pub dns_stats: Option<DnsStats>,
    /// The run's summary.
    pub summary: &'a Summary,
}

impl RunReport {
    /// A report to be written to `path` at the end of the run.
    pub fn new(path: &Path) -> Self {
        RunReport {
            path: path.to_path_buf(),
            builder: Arc::new(Mutex::new(ReportBuilder::new())),
            started: now(),
        }
    }

    /// `out`, teed into the report.
    pub fn tee(&self, out: Box<dyn Write + Send>) -> Box<dyn Write + Send> {
        Box::new(Tee {
            inner: out,
            builder: Arc::clone(&self.builder),
        })
    }

    /// Writes the report (call after the output was dropped).
    pub fn finish(self, facts: &RunFacts<'_>) -> anyhow::Result<()> {
        let builder = Arc::try_unwrap(self.builder)
            .ok()
            .and_then(|m| m.into_inner().ok())
            .context("the report's input is still in use")?;
        let report = builder.finish();
        let servers = if facts.nameservers.is_empty() {
            "the system's resolver (/etc/resolv.conf)".to_owned()
        } else {
            facts.nameservers.join(", ")
        };
        let mut lookups = vec![(
            "this run".to_owned(),
            format!(
                "started {}, ended {}: {} lines ({} parsed, {} errors), {} unique IPs, {:.2} s",
                self.started,
                now(),
                facts.summary.lines,
                facts.summary.parsed,
                facts.summary.errors,
                facts.summary.unique_ips,
                facts.summary.elapsed.as_secs_f64()
            ),
        )];
        lookups.push((
            "reverse DNS".to_owned(),
            if facts.reverse_dns {
                format!("PTR queries to {servers}, each client once (cached)")
            } else {
                "off".to_owned()
            },
        ));
        if !facts.zones.is_empty() {
            lookups.push((
                "DNSBL queries".to_owned(),
                format!("{} via {servers}", facts.zones.join(", ")),
            ));
        }
        if let Some(s) = &facts.dns_stats {
            lookups.push((
                "DNS counters".to_owned(),
                format!(
                    "{} queries sent ({} over TCP, {} retransmits), {} cache hits, {} joined in \
                     flight, {} failed{}",
                    s.queries_sent,
                    s.tcp_queries,
                    s.retransmits,
                    s.cache_hits,
                    s.inflight_joins,
                    s.failures,
                    if s.unreachable {
                        "; the nameserver was unreachable for a while"
                    } else {
                        ""
                    }
                ),
            ));
        }
        lookups.push((
            "GeoIP databases".to_owned(),
            if facts.geoip.is_empty() {
                "none (geo off)".to_owned()
            } else {
                facts
                    .geoip
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ));
        let meta = Meta {
            title: None,
            inputs: vec!["this run's records".to_owned()],
            generated: None,
            lookups,
        };
        write(&report, &meta, &self.path, None)
    }
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
