//! `bench`: logenrich's benchmark suite. It generates its own corpora, starts the servers
//! it needs on loopback (the `dns-fixture` binary), alternates both sides of every
//! comparison, and prints a Markdown table of figures against their bars (PASS/MISS).
//!
//! One command does everything: `cargo run --release -p bench -- [--quick]`. It builds the
//! `logenrich` and `dns-fixture` binaries of its own profile first (release here; CI runs
//! `--quick` on the debug build the tests made). The exit status is non-zero only
//! when a measurement broke, never for a missed bar.

mod cachedb;
mod ctx;
mod data;
mod dnsbench;
mod e2e;
mod htmlreport;
mod limits;
mod live;
mod nats;
mod node;
mod parse_tag;
mod peers;
mod procs;
mod python;
mod realdns;
mod report;
mod resolvers;
mod startup;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use ctx::{Ctx, Sizes};
use report::{Report, Row, Verdict};

/// The `logenrich` CLI's allocator, so that the in-process parse + tag figures (both
/// sides) allocate as the CLI does.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The groups of figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Group {
    /// Parse + tag, component vs native, in process.
    Parse,
    /// The notebook way (Python) vs logenrich: parse + tag, and lookups.
    Notebook,
    /// The Python package's read_log() vs the CLI and the notebook way, lookups off.
    Python,
    /// GoAccess vs logenrich on the same file.
    Goaccess,
    /// The Node.js host (jco) vs the logenrich CLI on the same file, lookups off.
    Node,
    /// DNS: unique IPs at 50 ms, and the curve over in-flight limits.
    Dns,
    /// End to end with DNS + DNSBL + GeoIP, and scaling over sizes.
    E2e,
    /// Start-up with an empty and a warm compile cache.
    Startup,
    /// Robustness: a dead nameserver, a huge newline-free line.
    Limits,
    /// The HTML report of 1M enriched records, 20k clients, against `wc -l`.
    Report,
    /// PTR + DNSBL + GeoIP against a real DNS server (Debian's NSD) vs GeoIP only, and
    /// PTR + DNSBL through unbound in front of it vs straight to it.
    Realdns,
    /// Issue 8's live-pipeline figures: trickle latency, checkpoint cost, SIGTERM + resume.
    Live,
    /// `logenrich nats` through a real nats-server vs a file, and over pinned cores.
    Nats,
    /// `--cache-db`: a warm re-run vs a cold one at 20 ms, and the cost of a hit.
    Cachedb,
}

/// Benchmarks logenrich against its bars, baselines and peers; prints a Markdown table.
#[derive(Debug, Parser)]
#[command(name = "bench", about)]
struct Args {
    /// Small sizes and one round (CI smoke run, under a minute).
    #[arg(long)]
    quick: bool,
    /// Also write the Markdown report to FILE.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Python with pandas and dnspython for the notebook baseline, and the logenrich
    /// package for read_log()
    /// [default: $VIRTUAL_ENV/bin/python, else python3].
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// Don't build the logenrich and dns-fixture binaries first.
    #[arg(long)]
    no_build: bool,
    /// Where corpora, databases and logs go [default: <target>/bench-data].
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Rounds per side of each comparison [default: 3, --quick: 1].
    #[arg(long, value_name = "N")]
    rounds: Option<usize>,
    /// Run only these groups (comma-separated or repeated) [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Group>,
    /// Also run the end-to-end and start-up groups with this (older) `logenrich` binary,
    /// alternated with the built one in two passes; its rows are marked `[baseline]`.
    #[arg(long, value_name = "BIN")]
    baseline: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn default_python() -> PathBuf {
    std::env::var_os("VIRTUAL_ENV")
        .map(|v| PathBuf::from(v).join("bin/python"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let bins = procs::binaries(!args.no_build)?;
    let mut sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    if let Some(r) = args.rounds {
        sizes.rounds = r.max(1);
    }
    let work = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => bins
            .logenrich
            .parent()
            .and_then(|p| p.parent())
            .context("no target directory")?
            .join("bench-data"),
    };
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let ctx = Ctx {
        quick: args.quick,
        cache_home: work.join("cache-warm"),
        python: args.python.clone().unwrap_or_else(default_python),
        sizes,
        bins,
        work,
    };
    ctx.warm_cache().context("the logenrich CLI does not run")?;
    let baseline = match &args.baseline {
        Some(bin) => {
            let mut old = ctx.clone();
            old.bins.logenrich.clone_from(bin);
            old.warm_cache()
                .context("the baseline logenrich CLI does not run")?;
            Some(old)
        }
        None => None,
    };

    let mut report = Report::default();
    let wanted = |g: Group| args.only.is_empty() || args.only.contains(&g);
    if wanted(Group::Parse) {
        let opts = data::corpus_options(ctx.sizes.parse_lines, ctx.sizes.unique_ips);
        let lines = data::corpus_lines(&opts);
        let r = parse_tag::measure(&mut report, &lines, ctx.sizes.rounds);
        record(&mut report, "parse + tag", r);
    }
    if wanted(Group::Notebook) {
        let r = peers::notebook_figures(&ctx, &mut report);
        record(&mut report, "the notebook way", r);
    }
    if wanted(Group::Python) {
        let r = python::read_log_figures(&ctx, &mut report);
        record(&mut report, "the Python package", r);
    }
    if wanted(Group::Goaccess) {
        let r = peers::goaccess(&ctx, &mut report);
        record(&mut report, "GoAccess", r);
    }
    if wanted(Group::Node) {
        let r = node::node_host(&ctx, &mut report);
        record(&mut report, "the Node host", r);
    }
    if wanted(Group::Dns) {
        let r = dnsbench::dns_figures(&ctx, &mut report);
        record(&mut report, "DNS", r);
    }
    if wanted(Group::E2e) {
        let group = "end to end";
        side_by_side(
            &ctx,
            baseline.as_ref(),
            &mut report,
            group,
            e2e::e2e_figures,
        );
    }
    if wanted(Group::Startup) {
        let group = "start-up";
        side_by_side(
            &ctx,
            baseline.as_ref(),
            &mut report,
            group,
            startup::startup_figures,
        );
    }
    if wanted(Group::Live) {
        let r = live::live_figures(&ctx, &mut report);
        record(&mut report, "live pipeline", r);
    }
    if wanted(Group::Nats) {
        let r = nats::nats_figures(&ctx, &mut report);
        record(&mut report, "NATS", r);
    }
    if wanted(Group::Cachedb) {
        let r = cachedb::cachedb_figures(&ctx, &mut report);
        record(&mut report, "--cache-db", r);
    }
    if wanted(Group::Limits) {
        let r = limits::limits_figures(&ctx, &mut report);
        record(&mut report, "limits", r);
    }
    if wanted(Group::Report) {
        let r = htmlreport::report_figures(&ctx, &mut report);
        record(&mut report, "the HTML report", r);
    }
    if wanted(Group::Realdns) {
        let r = realdns::realdns_figures(&ctx, &mut report);
        record(&mut report, "NSD", r);
        let r = realdns::unbound_figures(&ctx, &mut report);
        record(&mut report, "unbound", r);
    }

    let header = header(&ctx, started.elapsed().as_secs_f64());
    let md = report.markdown(&header);
    println!("{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md).with_context(|| format!("cannot write {}", out.display()))?;
    }
    eprintln!(
        "bench: {} PASS, {} MISS, {} skipped, {} ERROR",
        report.count(Verdict::Pass),
        report.count(Verdict::Miss),
        report.count(Verdict::Skipped),
        report.count(Verdict::Error)
    );
    Ok(if report.count(Verdict::Error) > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

type Figures = fn(&Ctx, &mut Report) -> anyhow::Result<()>;

/// Runs a group with the built binary, or, with a baseline, both binaries alternated in
/// two passes (new then old, old then new), each row marked with its side and pass.
fn side_by_side(
    ctx: &Ctx,
    baseline: Option<&Ctx>,
    report: &mut Report,
    group: &str,
    figures: Figures,
) {
    let Some(old) = baseline else {
        let r = figures(ctx, report);
        record(report, group, r);
        return;
    };
    for pass in 1..=2 {
        let mut sides = [("new", ctx), ("baseline", old)];
        if pass == 2 {
            sides.reverse();
        }
        for (label, side) in sides {
            let mut part = Report::default();
            let r = figures(side, &mut part);
            record(&mut part, group, r);
            for mut row in part.rows {
                row.figure = format!("{} [{label}, pass {pass}]", row.figure);
                report.rows.push(row);
            }
        }
    }
}

/// A group that failed to measure becomes an ERROR row; the others still run.
fn record(report: &mut Report, group: &str, result: anyhow::Result<()>) {
    if let Err(e) = result {
        report.push(Row {
            figure: group.to_owned(),
            measured: format!("{e:#}"),
            bar: "-".to_owned(),
            verdict: Verdict::Error,
        });
    }
}

/// The report's heading: mode, machine and the command that reproduces it.
fn header(ctx: &Ctx, elapsed: f64) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let mode = if ctx.quick { " -- --quick" } else { "" };
    let profile = &ctx.bins.profile;
    let build = if profile == "release" {
        String::new()
    } else {
        format!(
            " Binaries of the `{profile}` profile: the figures only show that every \
             measurement runs; the bars are for release binaries."
        )
    };
    format!(
        "## logenrich bench ({})\n\nMachine: {cores} cores ({model}), Linux {}, load average \
         {} at the end. {} round(s) per side, medians; suite ran {:.0} s.{build} Reproduce: \
         `cargo run --release -p bench{mode}`.",
        if ctx.quick { "quick" } else { "full" },
        kernel.trim(),
        load.join(" "),
        ctx.sizes.rounds,
        elapsed
    )
}
