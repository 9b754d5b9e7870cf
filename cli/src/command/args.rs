//! The command line's arguments: the enrichment flags every mode shares
//! ([`EnrichArgs`]), a file run's own ([`Args`]) and the subcommands.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// The line layouts.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
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
    pub(crate) files: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) enrich: EnrichArgs,
    /// Write the embedded component (logenrich:filter@0.3.1, wit/ in the repository) to
    /// FILE and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "files")]
    pub(crate) write_component: Option<PathBuf>,
    /// Follow the files by name as they grow, like `tail -F`: rotation by rename or
    /// copytruncate, names that appear later, glob patterns (quoted, e.g.
    /// '/var/log/nginx/*access.log') that pick up new files. Runs until SIGINT/SIGTERM.
    #[arg(short = 'F', long)]
    pub(crate) follow: bool,
    /// With --follow: read the files present at the start from their start, not their end.
    #[arg(long, requires = "follow")]
    pub(crate) from_start: bool,
    /// With --follow: milliseconds between looks at the files [default: 25].
    #[arg(long, value_name = "MS", requires = "follow")]
    pub(crate) poll: Option<u64>,
    /// Keep how far each input file was read and its records written in FILE; a run with
    /// the same FILE resumes after the last written record (none lost, none repeated),
    /// also after a rotation. With -o, the output is appended to. Files only, not stdin.
    #[arg(long, value_name = "FILE")]
    pub(crate) checkpoint: Option<PathBuf>,
    /// Write JSON Lines here instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Also write an HTML report of this run's records to FILE (see `logenrich report`).
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// The flags of an enrichment, the same for a file run and `logenrich nats`.
#[derive(Debug, Clone, clap::Args)]
pub struct EnrichArgs {
    /// Line layout [default: auto].
    #[arg(long, value_enum)]
    pub(crate) format: Option<Format>,
    /// Read lines in this nginx `log_format` (every `$variable`; unknown ones land in
    /// `extra`), e.g. '$remote_addr - $remote_user [$time_local] "$request" $status'.
    #[arg(long, value_name = "FORMAT", conflicts_with_all = ["format", "apache_format"])]
    pub(crate) log_format: Option<String>,
    /// Read lines in this Apache `LogFormat`, e.g. '%h %l %u %t "%r" %>s %b'.
    #[arg(long, value_name = "FORMAT", conflicts_with = "format")]
    pub(crate) apache_format: Option<String>,
    /// Look up each client's origin AS with Team Cymru's IP→ASN service over DNS
    /// (origin.asn.cymru.com; opt-in: it sends client addresses to a third party).
    #[arg(long)]
    pub(crate) cymru: bool,
    /// Record schema: logenrich's own, or the Elastic Common Schema 9.4 (README § ECS)
    /// [default: logenrich].
    #[arg(long, value_name = "SCHEMA", value_parser = ["logenrich", "ecs"])]
    pub(crate) schema: Option<String>,
    /// With `--schema ecs`: each record also carries its line as `event.original`.
    #[arg(long)]
    pub(crate) event_original: bool,
    /// The UTC offset of times logged without a zone (error logs, `[27/Jun/2013:11:55:44]`),
    /// e.g. +02:00 [default: UTC].
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub(crate) default_offset: Option<String>,
    /// TOML configuration file; flags override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Nameserver as IP or IP:PORT (repeatable); default: the system's.
    #[arg(long, value_name = "IP[:PORT]")]
    pub(crate) nameserver: Vec<String>,
    /// Skip reverse DNS.
    #[arg(long)]
    pub(crate) no_dns: bool,
    /// Query this DNSBL zone for every client (repeatable), e.g. zen.spamhaus.org.
    #[arg(long, value_name = "ZONE")]
    pub(crate) dnsbl: Vec<String>,
    /// GeoIP database (.mmdb: City, Country, ASN, or the flat ip-location-db files);
    /// repeatable. Default: the standard locations.
    #[arg(long, value_name = "PATH")]
    pub(crate) geoip_db: Vec<PathBuf>,
    /// Skip GeoIP.
    #[arg(long)]
    pub(crate) no_geoip: bool,
    /// Run this component instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    pub(crate) component: Option<PathBuf>,
    /// Pass a setting to the component as NAME=VALUE (repeatable): `true`/`false` give a
    /// flag, anything else text. For settings a newer component knows and this CLI has
    /// no flag for.
    #[arg(long = "setting", value_name = "NAME=VALUE")]
    pub(crate) settings: Vec<String>,
    /// Lines per batch [default: 2048].
    #[arg(long, value_name = "N")]
    pub(crate) batch_size: Option<usize>,
    /// Bytes of line data per batch, cut at whichever of this and --batch-size comes
    /// first; with --instances it bounds the memory of a run [default: 4 MiB, or
    /// --max-memory / 32 when that is less].
    #[arg(long, value_name = "BYTES")]
    pub(crate) batch_bytes: Option<usize>,
    /// Batches processed at once, each by its own component instance [default: one
    /// more than the cores, from 2 to 8].
    #[arg(long, value_name = "N")]
    pub(crate) instances: Option<usize>,
    /// Milliseconds without new input after which a partial batch is processed, so a
    /// live stream's records come out promptly [default: 50].
    #[arg(long, value_name = "MS")]
    pub(crate) linger: Option<u64>,
    /// Longest line processed, in bytes; a longer one gets an error record with its
    /// length and first bytes [default: 65536].
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_line_bytes: Option<usize>,
    /// Seconds of guest time one call into the component may take; 0: no limit (faster,
    /// for trusted components only) [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) deadline: Option<f64>,
    /// MiB of memory one component instance may use [default: 512].
    #[arg(long, value_name = "MIB")]
    pub(crate) max_memory: Option<usize>,
    /// Stop (exit 1) after this many batches in a row that the component failed
    /// [default: 5].
    #[arg(long, value_name = "N")]
    pub(crate) max_failed_batches: Option<u64>,
    /// Keep DNS answers in this file (created if missing) for later runs and other
    /// processes: within their TTLs a re-run sends no query. Bounded by `[dns]
    /// cache_db_max_mib` in --config [default: 1024], oldest entries evicted first.
    #[arg(long, value_name = "FILE")]
    pub(crate) cache_db: Option<PathBuf>,
    /// Share DNS answers with other logenrich processes through this JetStream key-value
    /// bucket (created if missing; nats-server 2.11 or later), asked after the memory
    /// cache and --cache-db and before the network; a name another process is asking
    /// for is waited for, not asked again.
    #[arg(long, value_name = "nats://HOST:PORT/BUCKET")]
    pub(crate) shared_cache: Option<String>,
    /// DNS queries in flight at most [default: 512].
    #[arg(long, value_name = "N")]
    pub(crate) concurrency: Option<usize>,
    /// Seconds per DNS try [default: 2].
    #[arg(long, value_name = "SECONDS")]
    pub(crate) timeout: Option<f64>,
    /// DNS tries per query [default: 2].
    #[arg(long, value_name = "N")]
    pub(crate) attempts: Option<usize>,
    /// No summary on stderr.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Never show the progress bar.
    #[arg(long)]
    pub(crate) no_progress: bool,
    /// Don't use the compile cache (~/.cache/logenrich).
    #[arg(long)]
    pub(crate) no_compile_cache: bool,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Make a self-contained HTML report (offline map, scanners, blocklists, countries,
    /// ASNs, PTR domains, targets, status codes, time, parse errors) from enriched JSON
    /// Lines, e.g. `logenrich report enriched.jsonl -o report.html --png map.png`.
    Report(crate::report::ReportArgs),
    /// Enrich the log lines of a NATS JetStream stream, read through a durable pull
    /// consumer that several runners may share, publishing one message of records per
    /// input message (README § Scale out).
    Nats(Box<crate::nats::queue::NatsArgs>),
}
