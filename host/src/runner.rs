//! The pipeline: a reader thread cuts inputs into batches, a pool of reused component
//! instances processes several batches at once (so slow lookups of one batch overlap the
//! work of others), and the writer emits the results in input order.
//!
//! Memory stays bounded: at most `instances` batches are being processed and at most
//! `instances` more wait in the reader's channel.

use std::collections::HashSet;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt;
use tokio::sync::{Mutex, mpsc};

use crate::component::{Config, Instance, LineResult, Runtime};
use crate::input::{Batch, Batches, Input};
use crate::output::{LineMeta, write_failure, write_result};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Lines per batch.
    pub batch_size: usize,
    /// Component instances, i.e. batches in flight.
    pub instances: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Input lines read (= records written).
    pub lines: u64,
    /// Lines that parsed.
    pub parsed: u64,
    /// Lines that did not parse (or that the component could not handle).
    pub errors: u64,
    /// Lines that were not valid UTF-8.
    pub invalid_utf8: u64,
    /// Distinct client addresses among parsed lines.
    pub unique_ips: u64,
    /// Inputs that could not be read (named in `input_errors`).
    pub input_errors: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// A pool of configured instances, reused across batches.
struct Pool {
    free: Mutex<Vec<Instance>>,
    runtime: Arc<Runtime>,
    config: Config,
}

impl Pool {
    async fn take(&self) -> anyhow::Result<Instance> {
        if let Some(inst) = self.free.lock().await.pop() {
            return Ok(inst);
        }
        let mut inst = self.runtime.instance().await?;
        inst.configure(&self.config)
            .await?
            .map_err(|e| anyhow::anyhow!("configuration rejected: {}: {}", e.field, e.reason))?;
        Ok(inst)
    }

    async fn give_back(&self, inst: Instance) {
        self.free.lock().await.push(inst);
    }
}

/// The output of one processed batch.
struct Done {
    json: Vec<u8>,
    lines: u64,
    parsed: u64,
    errors: u64,
    invalid_utf8: u64,
    ips: Vec<IpAddr>,
}

async fn process_batch(
    pool: Arc<Pool>,
    batch: Batch,
    file: Option<Arc<str>>,
) -> anyhow::Result<Done> {
    let mut inst = pool.take().await?;
    let result = inst.process(batch.first_line, &batch.lines).await;
    let mut done = Done {
        json: Vec::with_capacity(batch.lines.len() * 600),
        lines: batch.lines.len() as u64,
        parsed: 0,
        errors: 0,
        invalid_utf8: batch.lossy.len() as u64,
        ips: Vec::new(),
    };
    let mut lossy = batch.lossy.iter().peekable();
    let mut meta_for = |i: usize| {
        let invalid_utf8 = lossy.next_if(|&&l| l == i).is_some();
        LineMeta {
            file: file.as_deref(),
            invalid_utf8,
        }
    };
    match result {
        Ok(results) if results.len() == batch.lines.len() => {
            pool.give_back(inst).await;
            for (i, r) in results.iter().enumerate() {
                match r {
                    LineResult::Enriched(rec) => {
                        done.parsed += 1;
                        if let Ok(ip) = crate::output::text(&batch.lines[i], &rec.ip).parse() {
                            done.ips.push(ip);
                        }
                    }
                    LineResult::Error(_) => done.errors += 1,
                }
                write_result(&mut done.json, r, &batch.lines[i], meta_for(i));
            }
        }
        other => {
            // A trap (or a component breaking the contract) loses the instance, not the
            // lines: each line gets an error record, and the pool makes a new instance.
            let reason = match other {
                Ok(results) => format!(
                    "component returned {} results for {} lines",
                    results.len(),
                    batch.lines.len()
                ),
                Err(e) => format!("component trapped: {e:#}"),
            };
            for (i, line) in batch.lines.iter().enumerate() {
                write_failure(
                    &mut done.json,
                    batch.first_line + i as u64,
                    line,
                    &reason,
                    meta_for(i),
                );
            }
            done.errors = done.lines;
        }
    }
    Ok(done)
}

/// Runs the component over `inputs`, writing JSON Lines to `out`.
pub async fn run(
    runtime: Arc<Runtime>,
    config: Config,
    inputs: Vec<Input>,
    out: &mut (dyn Write + Send),
    opts: &RunOptions,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let instances = opts.instances.max(1);
    let pool = Arc::new(Pool {
        free: Mutex::new(Vec::new()),
        runtime,
        config,
    });
    // Fail early (and once) if the component cannot be instantiated or configured.
    let first = pool.take().await?;
    pool.give_back(first).await;

    let names: Vec<Option<Arc<str>>> = inputs
        .iter()
        .map(|i| (inputs.len() > 1).then(|| Arc::from(i.name())))
        .collect();
    let (tx, mut rx) = mpsc::channel::<Batch>(instances);
    let (err_tx, mut err_rx) = mpsc::unbounded_channel::<String>();
    let batch_size = opts.batch_size;
    let reader = std::thread::Builder::new()
        .name("logenrich-reader".into())
        .spawn(move || {
            for (index, input) in inputs.iter().enumerate() {
                let reader = match input.open() {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = err_tx.send(format!("cannot open input {}: {e}", input.name()));
                        continue;
                    }
                };
                for batch in Batches::new(reader, index, batch_size) {
                    match batch {
                        Ok(b) => {
                            if tx.blocking_send(b).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = err_tx.send(format!("cannot read input {}: {e}", input.name()));
                            break;
                        }
                    }
                }
            }
        })
        .context("cannot start the reader thread")?;

    let progress = opts.progress.then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {human_pos} lines  {rate}  {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner())
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} lines/s", state.per_sec());
            },
        );
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });

    let batches = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut results = batches
        .map(|batch| {
            let file = names[batch.input].clone();
            tokio::spawn(process_batch(pool.clone(), batch, file))
        })
        .buffered(instances);

    let mut summary = Summary::default();
    let mut unique: HashSet<IpAddr> = HashSet::new();
    while let Some(joined) = results.next().await {
        let done = joined.context("a batch task panicked")??;
        out.write_all(&done.json).context("cannot write output")?;
        summary.lines += done.lines;
        summary.parsed += done.parsed;
        summary.errors += done.errors;
        summary.invalid_utf8 += done.invalid_utf8;
        unique.extend(done.ips);
        if let Some(bar) = &progress {
            bar.inc(done.lines);
        }
    }
    out.flush().context("cannot write output")?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if reader.join().is_err() {
        anyhow::bail!("the reader thread panicked");
    }
    while let Ok(e) = err_rx.try_recv() {
        summary.input_errors.push(e);
    }
    summary.unique_ips = unique.len() as u64;
    summary.elapsed = started.elapsed();
    Ok(summary)
}
