//! Arguments (clap), their merge with the config file, and the run with its summary.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use clap::{Parser, ValueEnum};

use logenrich::component::{self, Config, DnsblCode, DnsblZone, LogFormat, Providers, Runtime};
use logenrich::config::{self, FileConfig};
use logenrich::dns::{DnsProvider, DnsSettings};
use logenrich::geoip::{self, GeoIp};
use logenrich::input::Input;
use logenrich::runner::{self, RunOptions};

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
#[command(name = "logenrich", version)]
pub struct Args {
    /// Input files (plain or gzip); `-` or none reads stdin.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Line layout [default: auto].
    #[arg(long, value_enum)]
    format: Option<Format>,
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
    /// Lines per batch [default: 2048].
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,
    /// Batches processed at once, each by its own component instance [default: 8].
    #[arg(long, value_name = "N")]
    instances: Option<usize>,
    /// DNS lookups in flight at most [default: 512].
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

fn runtime<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Runtime(e.into())
}

/// Everything decided from flags + file.
struct Plan {
    file: FileConfig,
    dns: Option<DnsSettings>,
    dnsbl: Vec<DnsblZone>,
    geoip: Vec<PathBuf>,
    geoip_on: bool,
}

fn plan(args: &Args) -> anyhow::Result<Plan> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let d = &file.dns;
    let mut dns = DnsSettings::default();
    let names = if args.nameserver.is_empty() {
        &d.nameservers
    } else {
        &args.nameserver
    };
    dns.nameservers = names
        .iter()
        .map(|n| config::parse_nameserver(n).map_err(|e| anyhow!("--nameserver: {e}")))
        .collect::<anyhow::Result<_>>()?;
    if let Some(t) = args.timeout.or(d.timeout) {
        dns.timeout = config::seconds("timeout", t)?;
    }
    if let Some(a) = args.attempts.or(d.attempts) {
        dns.attempts = a;
    }
    if let Some(c) = args.concurrency.or(d.concurrency) {
        dns.concurrency = c;
    }
    if let Some(c) = d.cache_size {
        dns.cache_size = c;
    }
    if let Some(s) = d.min_ttl {
        dns.min_ttl = Duration::from_secs(s);
    }
    if let Some(s) = d.max_ttl {
        dns.max_ttl = Duration::from_secs(s);
    }
    if let Some(s) = d.negative_ttl {
        dns.negative_ttl = Duration::from_secs(s);
    }
    let ptr_on = !args.no_dns && d.enabled.unwrap_or(true);

    let mut dnsbl: Vec<DnsblZone> = file
        .dnsbl
        .iter()
        .map(|z| DnsblZone {
            zone: z.zone.clone(),
            codes: z
                .codes
                .iter()
                .map(|(answer, meaning)| DnsblCode {
                    answer: answer.clone(),
                    meaning: meaning.clone(),
                })
                .collect(),
        })
        .collect();
    for zone in &args.dnsbl {
        if !dnsbl.iter().any(|z| z.zone.eq_ignore_ascii_case(zone)) {
            dnsbl.push(DnsblZone {
                zone: zone.clone(),
                codes: Vec::new(),
            });
        }
    }
    let geoip_on = !args.no_geoip && file.geoip.enabled.unwrap_or(true);
    let geoip = if !args.geoip_db.is_empty() {
        args.geoip_db.clone()
    } else if !file.geoip.databases.is_empty() {
        file.geoip.databases.clone()
    } else {
        geoip::default_paths()
    };
    Ok(Plan {
        dns: (ptr_on || !dnsbl.is_empty()).then_some(dns),
        file,
        dnsbl,
        geoip,
        geoip_on,
    })
}

fn component_config(mut cfg: Config, args: &Args, plan: &Plan) -> anyhow::Result<Config> {
    let format = match (args.format, plan.file.format.as_deref()) {
        (Some(f), _) => f,
        (None, Some(text)) => Format::from_str(text, true).map_err(|_| {
            anyhow!("invalid setting format: {text:?} (auto, honeypot, combined, common)")
        })?,
        (None, None) => Format::Auto,
    };
    cfg.format = match format {
        Format::Auto => LogFormat::Auto,
        Format::Honeypot => LogFormat::Honeypot,
        Format::Combined => LogFormat::Combined,
        Format::Common => LogFormat::Common,
    };
    let s = &plan.file.scanner;
    if let Some(ua) = &s.ua_keywords {
        cfg.ua_keywords = ua.clone();
    }
    if let Some(dns) = &s.dns_keywords {
        cfg.dns_keywords = dns.clone();
    }
    cfg.ua_keywords.extend(s.extra_ua_keywords.iter().cloned());
    cfg.dns_keywords
        .extend(s.extra_dns_keywords.iter().cloned());
    cfg.dnsbl_zones = plan.dnsbl.clone();
    cfg.enable_dns = !args.no_dns && plan.file.dns.enabled.unwrap_or(true);
    cfg.enable_geoip = plan.geoip_on && !plan.geoip.is_empty();
    Ok(cfg)
}

/// Runs the command.
pub fn main(args: Args) -> Result<ExitCode, Failure> {
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
    let mut providers = Providers::default();
    let dns = match &plan.dns {
        Some(settings) => Some(DnsProvider::new(settings).map_err(usage)?),
        None => None,
    };
    if let Some(dns) = &dns {
        providers.resolver = Some(Arc::new(dns.clone()));
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
            providers.geoip = Some(Arc::new(geo));
        }
    }
    if let (Some(note), false) = (&geo_note, quiet) {
        eprintln!("logenrich: {note}");
    }
    if let (Some(dns), false) = (&dns, plan.dnsbl.is_empty()) {
        let zones: Vec<String> = plan.dnsbl.iter().map(|z| z.zone.clone()).collect();
        for warning in logenrich::testpoint::check(dns, &zones).await {
            eprintln!("logenrich: warning: {warning}");
        }
    }

    let source = match &args.component {
        Some(path) => component::Source::File(path.clone()),
        None => component::Source::Embedded,
    };
    let cache_dir = (!args.no_compile_cache)
        .then(component::default_cache_dir)
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
    let cache_dir = cache_dir.filter(|d| d.is_dir());
    let runtime_ = Runtime::new(&source, cache_dir.as_deref(), providers).map_err(usage)?;
    let runtime_ = Arc::new(runtime_);

    let mut instance = runtime_.instance().await.map_err(usage)?;
    let defaults = instance
        .default_config()
        .await
        .map_err(|e| usage(anyhow::Error::from(e)))?;
    let cfg = component_config(defaults, &args, &plan).map_err(usage)?;
    instance
        .configure(&cfg)
        .await
        .map_err(|e| usage(anyhow::Error::from(e)))?
        .map_err(|e| usage(anyhow!("invalid setting {}: {}", e.field, e.reason)))?;
    drop(instance);

    let inputs: Vec<Input> = if args.files.is_empty() {
        vec![Input::Stdin]
    } else {
        args.files.iter().map(|f| Input::from_arg(f)).collect()
    };
    let mut out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(path)
                .with_context(|| format!("cannot create output file {}", path.display()))
                .map_err(usage)?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 20, std::io::stdout())),
    };
    let opts = RunOptions {
        batch_size: args
            .batch_size
            .or(plan.file.batch_size)
            .unwrap_or(2048)
            .max(1),
        instances: args.instances.or(plan.file.instances).unwrap_or(8).max(1),
        progress: !args.no_progress && !quiet && std::io::stderr().is_terminal(),
    };
    let summary = runner::run(runtime_.clone(), cfg, inputs, &mut *out, &opts)
        .await
        .map_err(runtime)?;
    drop(out);

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
                "logenrich: dns: {} queries sent, {} cache hits ({:.1}%), {} joined in flight, {} failed",
                s.queries_sent,
                s.cache_hits,
                100.0 * s.cache_hits as f64 / (asked.max(1)) as f64,
                s.inflight_joins,
                s.failures,
            );
        }
        let c = runtime_.counters();
        eprintln!(
            "logenrich: imports: dns {} calls/{} ips, dnsbl {} calls/{} ips, geoip {} calls/{} ips; component ready in {:.0} ms",
            c.dns_calls.load(Ordering::Relaxed),
            c.dns_addresses.load(Ordering::Relaxed),
            c.dnsbl_calls.load(Ordering::Relaxed),
            c.dnsbl_addresses.load(Ordering::Relaxed),
            c.geoip_calls.load(Ordering::Relaxed),
            c.geoip_addresses.load(Ordering::Relaxed),
            runtime_.compile_time.as_secs_f64() * 1000.0,
        );
    }
    Ok(if summary.input_errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
