//! `logenrich nats`: the enrichment of a JetStream stream's messages, read through a
//! durable pull consumer that any number of runners share. Each input message (one or
//! more log lines) becomes one output message of their records, published with
//! `Nats-Msg-Id: <stream>:<sequence>`; the input is acknowledged only once the output's
//! publish is (so a runner killed in between leaves the message to be redelivered, and
//! the output stream's duplicate window drops the second publish).
//!
//! [`consume`] opens the consumer and turns messages into batches, [`publish`] builds
//! the output messages, confirms them and acknowledges the inputs (and keeps the
//! messages being worked on from being redelivered, with in-progress acks).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use async_nats::jetstream;
use futures::StreamExt as _;
use tokio::sync::mpsc;

use crate::command::{EnrichArgs, Failure, Plan, enrichment, plan, runtime, usage};

mod consume;
mod publish;

use consume::{Inputs, Reading};
use publish::{Confirmed, Held, Output};

/// Arguments of `logenrich nats` (and every enrichment flag of a file run).
#[derive(Debug, clap::Args)]
pub struct NatsArgs {
    /// The NATS server.
    #[arg(
        long,
        value_name = "nats://HOST:PORT",
        default_value = "nats://127.0.0.1:4222"
    )]
    server: String,
    /// The JetStream stream the log lines are in (work-queue retention is the expected
    /// set-up: what is acknowledged is gone).
    #[arg(long, value_name = "NAME")]
    stream: String,
    /// The durable pull consumer to read through; runners that name the same one share
    /// its messages.
    #[arg(long, value_name = "NAME")]
    consumer: String,
    /// Publish each input message's records to this subject (a stream must store it,
    /// with a duplicate window of at least 10 × the consumer's AckWait).
    #[arg(long, value_name = "SUBJECT")]
    out_subject: String,
    /// Create the consumer if it is missing (explicit acks, --ack-wait,
    /// --max-ack-pending); safe when several runners start at once.
    #[arg(long)]
    create: bool,
    /// With --create: seconds the server waits for an acknowledgement (or an in-progress
    /// ack) before it redelivers a message to another runner [default: 30].
    #[arg(long, value_name = "SECONDS", requires = "create")]
    ack_wait: Option<u64>,
    /// With --create: messages delivered and not yet acknowledged, over all runners
    /// [default: 1024].
    #[arg(long, value_name = "N", requires = "create")]
    max_ack_pending: Option<i64>,
    /// Messages asked for per pull request [default: 64].
    #[arg(long, value_name = "N")]
    fetch: Option<usize>,
    #[command(flatten)]
    enrich: EnrichArgs,
}

/// What the consumer is, once opened or created.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) stream: String,
    pub(crate) ack_wait: Duration,
}

/// Runs `logenrich nats`.
pub fn main(args: NatsArgs) -> Result<ExitCode, Failure> {
    let plan = plan(&args.enrich).map_err(usage)?;
    let fetch =
        crate::command::in_range("fetch", args.fetch.unwrap_or(64), 1..=10_000).map_err(usage)?;
    if let Some(secs) = args.ack_wait {
        crate::command::in_range("ack_wait", secs, 1..=86_400).map_err(usage)?;
    }
    if args.out_subject.is_empty() || args.out_subject.contains([' ', '*', '>']) {
        return Err(usage(anyhow!(
            "--out-subject {:?}: a subject to publish to has no spaces or wildcards",
            args.out_subject
        )));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(runtime)?;
    rt.block_on(run(args, plan, fetch))
}

/// What a run did, for its summary.
#[derive(Debug, Default)]
struct Tally {
    messages: u64,
    batches: u64,
    lines: u64,
    parsed: u64,
    errors: u64,
    failed_batches: u64,
    first_failure: Option<String>,
    gave_up: bool,
}

async fn run(args: NatsArgs, plan: Plan, fetch: usize) -> Result<ExitCode, Failure> {
    let quiet = args.enrich.quiet;
    let started = Instant::now();
    let en = enrichment(&args.enrich, &plan).await?;
    let addrs = servers(&args.server).map_err(usage)?;
    let client = connect(&args.server, addrs).await.map_err(runtime)?;
    let js = jetstream::new(client.clone());
    let (consumer, source) = consume::open(&js, &args).await.map_err(usage)?;
    publish::check_output(&js, &args.out_subject, source.ack_wait, quiet)
        .await
        .map_err(usage)?;

    let stop = Arc::new(AtomicBool::new(false));
    let signals = tokio::spawn(crate::command::stop_on_signals(stop.clone(), quiet));
    let held = Held::default();
    let keep_alive = tokio::spawn(held.clone().keep_alive(source.ack_wait));
    let (batches_tx, mut batches_rx) = mpsc::channel::<(Inputs, logenrich::Batch)>(plan.instances);
    let reading = Reading {
        fetch,
        batch_size: plan.batch_size,
        batch_bytes: plan.batch_bytes,
        max_line_bytes: plan.max_line_bytes,
    };
    let reader = tokio::spawn(consume::read(
        consumer,
        reading,
        batches_tx,
        held.clone(),
        stop.clone(),
    ));
    let (out_tx, out_rx) = mpsc::channel::<Output>(publish::IN_FLIGHT);
    let confirmer = tokio::spawn(publish::confirm(
        js.clone(),
        out_rx,
        held.clone(),
        stop.clone(),
    ));

    let batches = futures::stream::poll_fn(move |cx| batches_rx.poll_recv(cx));
    let mut results = std::pin::pin!(en.enricher.process_stream_with(batches, plan.instances));
    let mut tally = Tally::default();
    let mut records: Vec<u8> = Vec::new();
    let mut in_a_row = 0u64;
    let max_payload = client.server_info().max_payload;
    'results: while let Some((inputs, done)) = results.next().await {
        let done = done.map_err(runtime)?;
        tally.batches += 1;
        tally.lines += done.batch.len() as u64;
        tally.parsed += done.stats.parsed;
        tally.errors += done.stats.errors;
        match done.failure {
            Some(reason) => {
                tally.failed_batches += 1;
                tally.first_failure.get_or_insert(reason);
                in_a_row += 1;
                if in_a_row >= plan.max_failed_batches && !tally.gave_up {
                    tally.gave_up = true;
                    stop.store(true, Ordering::Relaxed);
                }
            }
            None => in_a_row = 0,
        }
        // One record per line, in order: each message takes its lines' records.
        let mut rest = &done.jsonl[..];
        for piece in inputs.pieces {
            let (mine, after) = split_records(rest, piece.lines);
            records.extend_from_slice(mine);
            rest = after;
            let Some(message) = piece.last else { continue };
            tally.messages += 1;
            let output = Output::new(
                &source.stream,
                &args.out_subject,
                message,
                std::mem::take(&mut records),
                max_payload,
            );
            if out_tx.send(output).await.is_err() {
                break 'results;
            }
        }
    }
    drop(out_tx);
    let reader_error = reader.await.map_err(runtime)?;
    let confirmed = confirmer.await.map_err(runtime)?;
    keep_alive.abort();
    signals.abort();
    // The acknowledgements are on their way; make sure they left.
    if let Err(e) = client.flush().await {
        eprintln!("logenrich: nats: cannot flush the last acknowledgements: {e}");
    }
    en.flush_stores().await;
    if !quiet {
        print_summary(&tally, &confirmed, started.elapsed());
        en.print_lookups(&plan);
    }
    report_end(&tally, &confirmed, reader_error)
}

/// The first `n` records of `jsonl` (each ends in `\n`) and the rest.
fn split_records(jsonl: &[u8], n: usize) -> (&[u8], &[u8]) {
    if n == 0 {
        return (&[], jsonl);
    }
    match memchr::memchr_iter(b'\n', jsonl).nth(n - 1) {
        Some(end) => jsonl.split_at(end + 1),
        None => (jsonl, &[]),
    }
}

/// `--server`: one URL, or several separated by commas (the servers of a cluster).
fn servers(server: &str) -> anyhow::Result<Vec<async_nats::ServerAddr>> {
    (server.split(',').map(str::trim))
        .map(|url| {
            url.parse()
                .map_err(|e| anyhow!("--server {url:?}: {e} (expected nats://HOST:PORT)"))
        })
        .collect()
}

/// Connects, with the client's reconnection (back-off up to 4 s, without end) for the
/// rest of the run.
async fn connect(
    server: &str,
    addrs: Vec<async_nats::ServerAddr>,
) -> anyhow::Result<async_nats::Client> {
    async_nats::ConnectOptions::new()
        .name("logenrich")
        .connection_timeout(Duration::from_secs(5))
        .connect(addrs)
        .await
        .with_context(|| format!("cannot connect to the NATS server {server}"))
}

fn print_summary(tally: &Tally, confirmed: &Confirmed, elapsed: Duration) {
    let secs = elapsed.as_secs_f64();
    eprintln!(
        "logenrich: nats: {} messages in {} batches ({} lines, {} parsed, {} errors), {:.2} s, {:.0} lines/s",
        tally.messages,
        tally.batches,
        tally.lines,
        tally.parsed,
        tally.errors,
        secs,
        tally.lines as f64 / secs.max(1e-9),
    );
    eprintln!(
        "logenrich: nats: {} published and acknowledged ({} dropped by the output stream as duplicates, {} publishes retried), {} left for redelivery",
        confirmed.acked, confirmed.duplicates, confirmed.retries, confirmed.abandoned,
    );
}

fn report_end(
    tally: &Tally,
    confirmed: &Confirmed,
    reader_error: Option<String>,
) -> Result<ExitCode, Failure> {
    if let Some(reason) = &tally.first_failure {
        eprintln!(
            "logenrich: the component failed {} batch(es); their lines are error records (first: {reason})",
            tally.failed_batches
        );
    }
    if tally.gave_up {
        eprintln!(
            "logenrich: stopped: the component failed {} batches in a row (--max-failed-batches)",
            tally.failed_batches
        );
        return Ok(ExitCode::from(1));
    }
    if let Some(e) = reader_error {
        return Err(runtime(anyhow!("{e}")));
    }
    if confirmed.abandoned > 0 {
        eprintln!(
            "logenrich: nats: {} messages were not acknowledged (their output could not be confirmed before the stop); the server redelivers them",
            confirmed.abandoned
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::split_records;

    #[test]
    fn records_are_split_after_the_nth_newline() {
        let jsonl = b"{\"line\":1}\n{\"line\":2}\n{\"line\":1}\n";
        let (a, rest) = split_records(jsonl, 2);
        assert_eq!(a, b"{\"line\":1}\n{\"line\":2}\n");
        let (none, rest) = split_records(rest, 0);
        assert!(none.is_empty());
        assert_eq!(split_records(rest, 1), (rest, &b""[..]));
        // Fewer records than asked for: all of them (the count is the component's).
        assert_eq!(split_records(b"x\n", 3), (&b"x\n"[..], &b""[..]));
    }
}
