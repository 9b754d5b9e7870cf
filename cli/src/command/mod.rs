//! The command line and a file run with its summary: the arguments are in [`args`], the
//! plan (flags merged with the config file) in [`plan`](mod@plan), the enrichment every mode
//! builds from them in [`setup`], what is read and the stop on signals in [`sources`](mod@sources).

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;

use crate::checkpoint::{Checkpoint, OutputMark};
use crate::input::{ReadOptions, Reader};
use crate::pipeline::WriteSink;
use crate::runner::{self, RunOptions};
use logenrich_dns::DnsProvider;

mod args;
mod plan;
mod setup;
mod sources;

pub use args::{Args, Command, EnrichArgs};
pub(crate) use plan::{Plan, in_range, plan};
pub(crate) use setup::enrichment;
pub(crate) use sources::sources;
pub(crate) use sources::stop_on_signals;

/// How a run failed, which decides the exit status.
pub enum Failure {
    /// Bad arguments or configuration: exit 2.
    Usage(anyhow::Error),
    /// Anything during the run: exit 1.
    Runtime(anyhow::Error),
}

pub(crate) fn usage<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Usage(e.into())
}

pub(crate) fn runtime<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Runtime(e.into())
}

/// Runs the command.
pub fn main(mut args: Args) -> Result<ExitCode, Failure> {
    match args.command.take() {
        Some(Command::Report(report)) => return crate::report::main(&report).map_err(runtime),
        Some(Command::Nats(nats)) => return crate::nats::queue::main(*nats),
        None => {}
    }
    if let Some(path) = &args.write_component {
        logenrich::write_component(path)
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(runtime)?;
        return Ok(ExitCode::SUCCESS);
    }
    let plan = plan(&args.enrich).map_err(usage)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(runtime)?;
    rt.block_on(run(args, plan))
}

async fn run(args: Args, plan: Plan) -> Result<ExitCode, Failure> {
    let quiet = args.enrich.quiet;
    let (sources, mut checkpoint) = sources(&args).map_err(usage)?;
    let en = setup::enrichment(&args.enrich, &plan).await?;
    let instances = plan.instances;
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
        progress: !args.enrich.no_progress && !quiet && std::io::stderr().is_terminal(),
        checkpoint,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let signals = tokio::spawn(stop_on_signals(stop.clone(), quiet));
    let mut sink = match output_file {
        Some((path, length)) => WriteSink::file(out, path, length),
        None => WriteSink::stream(out),
    };
    let summary = runner::run(en.enricher.clone(), source, &mut sink, opts, stop)
        .await
        .map_err(runtime)?;
    signals.abort();
    drop(sink);
    en.flush_stores().await;
    if let Some(report) = report {
        let geoip: &[PathBuf] = if plan.geoip_on { &plan.geoip } else { &[] };
        let facts = crate::report::RunFacts {
            nameservers: (plan.dns.iter().flat_map(|d| &d.nameservers))
                .map(ToString::to_string)
                .collect(),
            reverse_dns: !args.enrich.no_dns && plan.file.dns.enabled.unwrap_or(true),
            zones: plan.dnsbl.iter().map(|z| z.zone.clone()).collect(),
            geoip,
            dns_stats: en.dns.as_ref().map(DnsProvider::stats),
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
        en.print_lookups(&plan);
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
