//! Arguments (clap) and the run with its summary; the plan (flags merged with the config
//! file) is in [`plan`], what is read and the stop on signals in [`sources`].

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::checkpoint::{Checkpoint, OutputMark};
use crate::input::{ReadOptions, Reader};
use crate::pipeline::WriteSink;
use crate::runner::{self, RunOptions};
use logenrich::Enricher;
use logenrich_dns::DnsProvider;
use logenrich_geoip::{self as geoip, GeoIp};

mod plan;
mod sources;

use plan::{Plan, plan, settings};
use sources::{sources, stop_on_signals};

/// The line layouts.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// Decide per line.
    Auto,
    /// nginx combined + "$http_x_forwarded_for" $server_port $host.
    Honeypot,
    /// nginx/Apache combined.
    Combined,
    /// Common Log Format.
    Common,
}

/// Enrich web-server access logs with reverse DNS, DNSBL listings, GeoIP and scanner tags;
/// writes one JSON object per input line.
#[derive(Debug, Parser)]
#[command(name = "logenrich", version, args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Input files (plain or gzip); `-` or none reads stdin.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Line layout [default: auto].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Read lines in this nginx `log_format` (every `$variable`; unknown ones land in
    /// `extra`), e.g. '$remote_addr - $remote_user [$time_local] "$request" $status'.
    #[arg(long, value_name = "FORMAT", conflicts_with_all = ["format", "apache_format"])]
    log_format: Option<String>,
    /// Read lines in this Apache `LogFormat`, e.g. '%h %l %u %t "%r" %>s %b'.
    #[arg(long, value_name = "FORMAT", conflicts_with = "format")]
    apache_format: Option<String>,
    /// Look up each client's origin AS with Team Cymru's IP→ASN service over DNS
    /// (origin.asn.cymru.com; opt-in: it sends client addresses to a third party).
    #[arg(long)]
    cymru: bool,
    /// TOML configuration file; flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Nameserver as IP or IP:PORT (repeatable); default: the system's.
    #[arg(long, value_name = "IP[:PORT]")]
    nameserver: Vec<String>,
    /// Skip reverse DNS.
    #[arg(long)]
    no_dns: bool,
    /// Query this DNSBL zone for every client (repeatable), e.g. zen.spamhaus.org.
    #[arg(long, value_name = "ZONE")]
    dnsbl: Vec<String>,
    /// GeoIP database (.mmdb: City, Country, ASN, or the flat ip-location-db files);
    /// repeatable. Default: the standard locations.
    #[arg(long, value_name = "PATH")]
    geoip_db: Vec<PathBuf>,
    /// Skip GeoIP.
    #[arg(long)]
    no_geoip: bool,
    /// Run this component instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    component: Option<PathBuf>,
    /// Pass a setting to the component as NAME=VALUE (repeatable): `true`/`false` give a
    /// flag, anything else text. For settings a newer component knows and this CLI has
    /// no flag for.
    #[arg(long = "setting", value_name = "NAME=VALUE")]
    settings: Vec<String>,
    /// Write the embedded component (logenrich:filter@0.3.0, wit/ in the repository) to
    /// FILE and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "files")]
    write_component: Option<PathBuf>,
    /// Lines per batch [default: 2048].
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Bytes of line data per batch, cut at whichever of this and --batch-size comes
    /// first; with --instances it bounds the memory of a run [default: 4 MiB, or
    /// --max-memory / 32 when that is less].
    #[arg(long, value_name = "BYTES")]
    batch_bytes: Option<usize>,
    /// Batches processed at once, each by its own component instance [default: twice
    /// the cores, from 2 to 8].
    #[arg(long, value_name = "N")]
    instances: Option<usize>,
    /// Milliseconds without new input after which a partial batch is processed, so a
    /// live stream's records come out promptly [default: 50].
    #[arg(long, value_name = "MS")]
    linger: Option<u64>,
    /// Longest line processed, in bytes; a longer one gets an error record with its
    /// length and first bytes [default: 65536].
    #[arg(long, value_name = "BYTES")]
    max_line_bytes: Option<usize>,
    /// Seconds of guest time one call into the component may take; 0: no limit (faster,
    /// for trusted components only) [default: 10].
    #[arg(long, value_name = "SECONDS")]
    deadline: Option<f64>,
    /// MiB of memory one component instance may use [default: 512].
    #[arg(long, value_name = "MIB")]
    max_memory: Option<usize>,
    /// Stop (exit 1) after this many batches in a row that the component failed
    /// [default: 5].
    #[arg(long, value_name = "N")]
    max_failed_batches: Option<u64>,
    /// Follow the files by name as they grow, like `tail -F`: rotation by rename or
    /// copytruncate, names that appear later, glob patterns (quoted, e.g.
    /// '/var/log/nginx/*access.log') that pick up new files. Runs until SIGINT/SIGTERM.
    #[arg(short = 'F', long)]
    follow: bool,
    /// With --follow: read the files present at the start from their start, not their end.
    #[arg(long, requires = "follow")]
    from_start: bool,
    /// With --follow: milliseconds between looks at the files [default: 25].
    #[arg(long, value_name = "MS", requires = "follow")]
    poll: Option<u64>,
    /// Keep how far each input file was read and its records written in FILE; a run with
    /// the same FILE resumes after the last written record (none lost, none repeated),
    /// also after a rotation. With -o, the output is appended to. Files only, not stdin.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Keep DNS answers in this file (created if missing) for later runs and other
    /// processes: within their TTLs a re-run sends no query. Bounded by `[dns]
    /// cache_db_max_mib` in --config [default: 1024], oldest entries evicted first.
    #[arg(long, value_name = "FILE")]
    cache_db: Option<PathBuf>,
    /// DNS queries in flight at most [default: 512].
    #[arg(long, value_name = "N")]
    concurrency: Option<usize>,
    /// Seconds per DNS try [default: 2].
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// DNS tries per query [default: 2].
    #[arg(long, value_name = "N")]
    attempts: Option<usize>,
    /// Write JSON Lines here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// No summary on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// Never show the progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Don't use the compile cache (~/.cache/logenrich).
    #[arg(long)]
    no_compile_cache: bool,
    /// Also write an HTML report of this run's records to FILE (see `logenrich report`).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<crate::report::Command>,
}

/// How a run failed, which decides the exit status.
pub enum Failure {
    /// Bad arguments or configuration: exit 2.
    Usage(anyhow::Error),
    /// Anything during the run: exit 1.
    Runtime(anyhow::Error),
}

fn usage<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Usage(e.into())
}

/// The DNS provider of `settings`, with the stores the plan names behind its cache.
fn dns_provider(settings: &logenrich_dns::DnsSettings, plan: &Plan) -> anyhow::Result<DnsProvider> {
    let mut stores: Vec<Arc<dyn logenrich_dns::store::Store>> = Vec::new();
    if let Some((path, max_bytes)) = &plan.cache_db {
        let db =
            logenrich_dns::store::cachedb::CacheDb::open(path, *max_bytes).context("--cache-db")?;
        stores.push(Arc::new(db));
    }
    let stores = logenrich_dns::store::Stores::new(stores);
    Ok(DnsProvider::with_stores(settings, stores)?)
}

fn runtime<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Runtime(e.into())
}

/// Runs the command.
pub fn main(args: Args) -> Result<ExitCode, Failure> {
    if let Some(crate::report::Command::Report(report)) = &args.command {
        return crate::report::main(report).map_err(runtime);
    }
    if let Some(path) = &args.write_component {
        logenrich::write_component(path)
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(runtime)?;
        return Ok(ExitCode::SUCCESS);
    }
    let plan = plan(&args).map_err(usage)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(runtime)?;
    rt.block_on(run(args, plan))
}

async fn run(args: Args, plan: Plan) -> Result<ExitCode, Failure> {
    let quiet = args.quiet;
    let (sources, mut checkpoint) = sources(&args).map_err(usage)?;
    let mut builder = Enricher::builder();
    let dns = match &plan.dns {
        Some(settings) => Some(dns_provider(settings, &plan).map_err(usage)?),
        None => None,
    };
    if let Some(dns) = &dns {
        let dns = Arc::new(dns.clone());
        let zones = plan.dnsbl.iter().map(|z| z.zone.clone());
        builder = builder.reverse_dns(dns.clone()).dnsbl(dns.clone(), zones);
        if args.cymru {
            builder = builder.cymru(dns);
        }
    }
    let mut geo_note = None;
    if plan.geoip_on {
        if plan.geoip.is_empty() {
            geo_note = Some(format!(
                "no GeoIP database found in {}; geo is off (see README: fetch GeoLite2)",
                geoip::DEFAULT_DIRS.join(", ")
            ));
        } else {
            let geo = GeoIp::open(&plan.geoip).map_err(usage)?;
            builder = builder.geoip(Arc::new(geo));
        }
    }
    if let (Some(note), false) = (&geo_note, quiet) {
        eprintln!("logenrich: {note}");
    }

    if let Some(path) = &args.component {
        builder = builder.component_file(path);
    }
    let cache_dir = (!args.no_compile_cache)
        .then(logenrich::default_cache_dir)
        .flatten();
    if let Some(dir) = &cache_dir {
        // A cache that cannot be created is not fatal: compile without it.
        if std::fs::create_dir_all(dir).is_err() {
            eprintln!(
                "logenrich: cannot create compile cache {}; compiling without it",
                dir.display()
            );
        }
    }
    if let Some(dir) = cache_dir.filter(|d| d.is_dir()) {
        builder = builder.compile_cache(dir);
    }
    let instances = plan.instances;
    let settings = settings(&args, &plan).map_err(usage)?;
    builder = match plan.deadline {
        Some(limit) => builder.deadline(limit),
        None => builder.no_deadline(),
    };
    let enricher = builder
        .settings(settings)
        .instances(instances)
        .memory_limit(plan.memory_mib << 20)
        .build()
        .await
        .map_err(usage)?;
    let enricher = Arc::new(enricher);
    // Test points only once the component has accepted the zones (valid DNS names).
    if let (Some(dns), false) = (&dns, plan.dnsbl.is_empty()) {
        let zones: Vec<String> = plan.dnsbl.iter().map(|z| z.zone.clone()).collect();
        for warning in logenrich_dns::testpoint::check(dns, &zones).await {
            eprintln!("logenrich: warning: {warning}");
        }
    }

    let (mut out, output_file): (Box<dyn Write + Send>, _) = match &args.output {
        Some(path) => {
            let (file, length) = open_output(path, checkpoint.as_mut()).map_err(usage)?;
            let out = Box::new(BufWriter::with_capacity(1 << 20, file));
            (out, Some((crate::checkpoint::absolute(path), length)))
        }
        None => (
            Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout())),
            None,
        ),
    };
    let report = args.report.as_deref().map(crate::report::RunReport::new);
    if let Some(report) = &report {
        out = report.tee(out);
    }
    let source = Box::new(Reader {
        sources,
        checkpoint: checkpoint.clone().map(Arc::new),
        opts: ReadOptions {
            batch_size: plan.batch_size,
            batch_bytes: plan.batch_bytes,
            linger: plan.linger,
            max_line_bytes: plan.max_line_bytes,
        },
    });
    let opts = RunOptions {
        instances,
        max_failed_batches: plan.max_failed_batches,
        progress: !args.no_progress && !quiet && std::io::stderr().is_terminal(),
        checkpoint,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let signals = tokio::spawn(stop_on_signals(stop.clone(), quiet));
    let mut sink = match output_file {
        Some((path, length)) => WriteSink::file(out, path, length),
        None => WriteSink::stream(out),
    };
    let summary = runner::run(enricher.clone(), source, &mut sink, opts, stop)
        .await
        .map_err(runtime)?;
    signals.abort();
    drop(sink);
    if let Some(dns) = &dns
        && let Err(e) = dns.flush_stores().await
    {
        eprintln!("logenrich: warning: the lookup cache kept only part of this run's answers: {e}");
    }
    if let Some(report) = report {
        let geoip: &[PathBuf] = if plan.geoip_on { &plan.geoip } else { &[] };
        let facts = crate::report::RunFacts {
            nameservers: (plan.dns.iter().flat_map(|d| &d.nameservers))
                .map(ToString::to_string)
                .collect(),
            reverse_dns: !args.no_dns && plan.file.dns.enabled.unwrap_or(true),
            zones: plan.dnsbl.iter().map(|z| z.zone.clone()).collect(),
            geoip,
            dns_stats: dns.as_ref().map(DnsProvider::stats),
            summary: &summary,
        };
        report.finish(&facts).map_err(runtime)?;
    }

    for e in &summary.input_errors {
        eprintln!("logenrich: {e}");
    }
    if !quiet {
        let secs = summary.elapsed.as_secs_f64();
        eprintln!(
            "logenrich: {} lines ({} parsed, {} errors, {} invalid UTF-8), {} unique IPs, {:.2} s, {:.0} lines/s",
            summary.lines,
            summary.parsed,
            summary.errors,
            summary.invalid_utf8,
            summary.unique_ips,
            secs,
            summary.lines as f64 / secs.max(1e-9),
        );
        if let Some(dns) = &dns {
            let s = dns.stats();
            let asked = s.cache_hits + s.inflight_joins + s.queries_sent;
            eprintln!(
                "logenrich: dns: {} queries sent ({} over TCP, {} retransmits), {} cache hits ({:.1}%), {} joined in flight, {} failed",
                s.queries_sent,
                s.tcp_queries,
                s.retransmits,
                s.cache_hits,
                100.0 * s.cache_hits as f64 / (asked.max(1)) as f64,
                s.inflight_joins,
                s.failures,
            );
            if plan.cache_db.is_some() {
                eprintln!(
                    "logenrich: dns: {} lookups answered by the cache database, {} store errors",
                    s.store_hits[0], s.store_errors,
                );
            }
            if s.window_cuts > 0 || s.servfail_retries > 0 {
                eprintln!(
                    "logenrich: dns: answers came late: {} queries in flight per nameserver at the end (halved {} times), {} SERVFAIL answers of a resolver asked again",
                    s.window, s.window_cuts, s.servfail_retries,
                );
            }
            if s.unreachable {
                eprintln!(
                    "logenrich: dns: the nameserver was unreachable (refused, or silent for a whole --timeout) during the run; its lookups failed at once until it answered again"
                );
            }
        }
        let c = enricher.call_counts();
        eprintln!(
            "logenrich: imports: dns {} calls/{} ips, dnsbl {} calls/{} ips, geoip {} calls/{} ips; component ready in {:.0} ms",
            c.dns_calls,
            c.dns_addresses,
            c.dnsbl_calls,
            c.dnsbl_addresses,
            c.geoip_calls,
            c.geoip_addresses,
            enricher.compile_time().as_secs_f64() * 1000.0,
        );
    }
    if let Some(n) = summary.gave_up_after {
        eprintln!(
            "logenrich: stopped: the component failed {n} batches in a row (--max-failed-batches); the lines read so far have records"
        );
    }
    if let Some(reason) = &summary.first_failure {
        eprintln!(
            "logenrich: the component failed {} batch(es); their lines are error records (first: {reason})",
            summary.failed_batches
        );
    }
    Ok(
        if summary.input_errors.is_empty() && summary.failed_batches == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// Opens `-o FILE`; with a checkpoint, resumes it: a file the checkpoint measured is
/// truncated back to its length then (what a crash left after it, a torn record
/// included, is written again), and refused if it is shorter. Before any record is
/// written, the checkpoint is saved with the file's length now, so a crash before the
/// run's first save is undone by the next run too (it would otherwise keep that run's
/// records and write them again). Returns the file and its length.
fn open_output(path: &Path, checkpoint: Option<&mut Checkpoint>) -> anyhow::Result<(File, u64)> {
    let Some(checkpoint) = checkpoint else {
        let file = File::create(path)
            .with_context(|| format!("cannot create output file {}", path.display()))?;
        return Ok((file, 0));
    };
    let file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open output file {}", path.display()))?;
    let absolute = crate::checkpoint::absolute(path);
    let mut length = file.metadata()?.len();
    // A mark of another file means the records of this checkpoint went elsewhere (or to
    // stdout): this file is appended to.
    if let Some(mark) = checkpoint.output().filter(|m| m.path == absolute) {
        if length < mark.bytes {
            anyhow::bail!(
                "output file {} is {length} bytes, shorter than the {} bytes checkpoint {} \
                 recorded: it was changed since; restore it, or remove the checkpoint to start over",
                path.display(),
                mark.bytes,
                checkpoint.path().display(),
            );
        }
        file.set_len(mark.bytes)
            .with_context(|| format!("cannot truncate output file {}", path.display()))?;
        length = mark.bytes;
    }
    checkpoint.set_output(Some(OutputMark {
        path: absolute,
        bytes: length,
    }));
    checkpoint.save()?;
    Ok((file, length))
}
