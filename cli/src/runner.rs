//! The CLI's pipeline: a [`Source`] cuts inputs into batches (a partial one after
//! `linger` without input), each with its checkpoint mark; the [`Enricher`] processes
//! several at once (so slow lookups of one batch overlap the work of others), and their
//! JSON Lines go to a [`Sink`] in input order, flushed whenever the pipeline goes idle.
//! A mark is checkpointed once its batch's records were flushed.
//!
//! Memory stays bounded: at most `instances` batches are being processed and at most
//! `instances` more wait in the reader's channel. A stop request (the first SIGINT or
//! SIGTERM) ends reading; what was read is still processed and written. A closed output
//! (e.g. `| head`) ends the run quietly.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use logenrich::Enricher;

use crate::checkpoint::{Checkpoint, OutputMark};
use crate::distinct::{Count, Distinct};
use crate::pipeline::{Mark, Marked, Sink, SinkError, Source, SourceOutputs};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Batches in flight, each on its own component instance.
    pub instances: usize,
    /// After this many failed batches in a row, reading stops and the run fails.
    pub max_failed_batches: u64,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Resume from and save progress to this checkpoint.
    pub checkpoint: Option<Checkpoint>,
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
    /// Distinct client addresses among parsed lines (estimated when there are many).
    pub unique_ips: Count,
    /// Batches the component failed (trapped or broke the contract), with the first
    /// reason.
    pub failed_batches: u64,
    /// The reason of the first failed batch.
    pub first_failure: Option<String>,
    /// Inputs that could not be read (named in `input_errors`).
    pub input_errors: Vec<String>,
    /// The output was closed by its reader (e.g. `| head`); the run ended there.
    pub output_closed: bool,
    /// The run stopped early because the component failed this many batches in a row.
    pub gave_up_after: Option<u64>,
    /// Wall time.
    pub elapsed: Duration,
}

/// `Ok(true)` when the sink was closed by its reader (e.g. `| head`), which ends the run
/// quietly; other errors are errors.
fn output_closed(written: Result<(), SinkError>) -> anyhow::Result<bool> {
    match written {
        Ok(()) => Ok(false),
        Err(SinkError::Closed) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    let style =
        indicatif::ProgressStyle::with_template("{spinner} {human_pos} lines  {rate}  {elapsed}")
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
}

/// The checkpoint as the run goes: positions are recorded as records are written and
/// saved after the output is flushed.
struct Progress {
    checkpoint: Checkpoint,
    /// Recorded but not saved yet.
    dirty: bool,
    last_save: Instant,
}

/// While records flow, the checkpoint is saved (after a flush) at least this often; it
/// is also saved when the pipeline goes idle (at most every [`SAVE_IDLE`]) and at the end.
const SAVE_EVERY: Duration = Duration::from_secs(1);

/// The least time between two saves when the pipeline goes idle.
const SAVE_IDLE: Duration = Duration::from_millis(100);

impl Progress {
    /// The records of the batch that carried `mark` were written.
    fn written(&mut self, mark: &Mark) {
        match mark {
            Mark::Batch(key, position) => {
                self.checkpoint.record(key, *position);
                self.dirty = true;
            }
            Mark::Ended { key, forget } => {
                if let (true, Some(identity)) = (*forget, key.identity) {
                    self.checkpoint.forget(identity);
                    self.dirty = true;
                }
            }
        }
    }

    /// The output was just flushed (`output`: a file's length then): save what was
    /// recorded.
    fn flushed(&mut self, output: Option<OutputMark>) -> anyhow::Result<()> {
        if self.dirty {
            self.checkpoint.set_output(output);
            self.checkpoint.save()?;
            self.dirty = false;
            self.last_save = Instant::now();
        }
        Ok(())
    }
}

/// Runs the enricher over `source`, writing JSON Lines to `sink`, until the source ends or
/// `stop` is set.
pub async fn run(
    enricher: Arc<Enricher>,
    source: Box<dyn Source>,
    sink: &mut dyn Sink,
    opts: RunOptions,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let instances = opts.instances.max(1);
    let (tx, mut rx) = mpsc::channel::<Marked>(instances);
    let (err_tx, mut err_rx) = mpsc::unbounded_channel::<String>();
    let outputs = SourceOutputs {
        batches: tx,
        errors: err_tx,
    };
    let reader = source
        .spawn(outputs, stop.clone())
        .context("cannot start the reader threads")?;
    let mut ckpt = opts.checkpoint.clone().map(|checkpoint| Progress {
        checkpoint,
        dirty: false,
        last_save: Instant::now(),
    });
    let mut failed_in_a_row = 0u64;

    let progress = opts.progress.then(progress_bar);
    let batches = futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
        .map(|Marked { mark, batch }| (mark, batch));
    let mut results = std::pin::pin!(enricher.process_stream_with(batches, instances));

    let mut summary = Summary::default();
    let mut unique = Distinct::default();
    loop {
        // Flush only when nothing more is ready: a live stream's records go out at once,
        // a file's in large writes.
        let next = match results.next().now_or_never() {
            Some(next) => next,
            None => {
                if output_closed(sink.flush().await)? {
                    summary.output_closed = true;
                    break;
                }
                // Save at most every SAVE_IDLE (an fsync per idle moment would cost a file
                // run ~25 %), and no later than SAVE_IDLE after the pipeline went idle.
                let wait = match &mut ckpt {
                    Some(p) if p.dirty && p.last_save.elapsed() >= SAVE_IDLE => {
                        p.flushed(sink.output_mark())?;
                        None
                    }
                    Some(p) if p.dirty => Some(SAVE_IDLE.saturating_sub(p.last_save.elapsed())),
                    _ => None,
                };
                match (wait, &mut ckpt) {
                    (Some(wait), Some(p)) => match tokio::time::timeout(wait, results.next()).await
                    {
                        Ok(next) => next,
                        Err(_) => {
                            p.flushed(sink.output_mark())?;
                            results.next().await
                        }
                    },
                    _ => results.next().await,
                }
            }
        };
        let Some((mark, done)) = next else { break };
        let done = done?;
        if !done.jsonl.is_empty() && output_closed(sink.write(&done.jsonl).await)? {
            summary.output_closed = true;
            break;
        }
        if let Some(p) = &mut ckpt {
            p.written(&mark);
            if p.last_save.elapsed() >= SAVE_EVERY {
                if output_closed(sink.flush().await)? {
                    summary.output_closed = true;
                    break;
                }
                p.flushed(sink.output_mark())?;
            }
        }
        if done.batch.is_empty() {
            // An input's end: its mark is all it carries.
            continue;
        }
        summary.lines += done.batch.len() as u64;
        summary.parsed += done.stats.parsed;
        summary.errors += done.stats.errors;
        summary.invalid_utf8 += done.stats.invalid_utf8;
        unique.extend(done.stats.clients);
        if let Some(reason) = done.failure {
            summary.failed_batches += 1;
            summary.first_failure.get_or_insert(reason);
            failed_in_a_row += 1;
            if failed_in_a_row >= opts.max_failed_batches && summary.gave_up_after.is_none() {
                // Stop reading; the batches already read still get their records.
                summary.gave_up_after = Some(failed_in_a_row);
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        } else {
            failed_in_a_row = 0;
        }
        if let Some(bar) = &progress {
            bar.inc(done.batch.len() as u64);
        }
    }
    if output_closed(sink.flush().await)? {
        summary.output_closed = true;
    }
    if let Some(p) = &mut ckpt {
        // After a closed output, only what was flushed before counts (saved already).
        if !summary.output_closed {
            p.flushed(sink.output_mark())?;
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if !summary.output_closed && reader.join().is_err() {
        anyhow::bail!("the reader thread panicked");
    }
    while let Ok(e) = err_rx.try_recv() {
        summary.input_errors.push(e);
    }
    summary.unique_ips = unique.count();
    summary.elapsed = started.elapsed();
    Ok(summary)
}
