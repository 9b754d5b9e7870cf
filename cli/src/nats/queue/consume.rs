//! The input side of `logenrich nats`: the durable pull consumer (opened, or created
//! with `--create`), and the loop that pulls messages and cuts each into batches (the
//! file splitter's rules: `--batch-size`, `--batch-bytes`, `--max-line-bytes`). Small
//! messages that arrive together share a batch, each as a part of its own (its lines
//! numbered from 1, its subject as `file`), so that a stream of one-line messages costs
//! a component call per batch, not per message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{anyhow, bail};
use async_nats::jetstream::{self, consumer, consumer::PullConsumer};
use futures::{FutureExt as _, StreamExt as _};
use logenrich::Batch;
use tokio::sync::mpsc;

use super::publish::Held;
use super::{NatsArgs, Source};
use crate::checkpoint::Position;
use crate::input::Splitter;

/// How long one pull request waits for messages: also how long a stop may wait for
/// the pull in progress.
const PULL_EXPIRES: Duration = Duration::from_secs(1);

/// The longest pause between pulls after errors (the server gone, say).
const MAX_BACKOFF: Duration = Duration::from_secs(4);

/// An input message being processed: what its output and acknowledgement need.
pub(crate) struct Message {
    pub(crate) sequence: u64,
    pub(crate) subject: String,
    pub(crate) lines: u64,
    pub(crate) acker: Arc<jetstream::message::Acker>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("sequence", &self.sequence)
            .field("subject", &self.subject)
            .field("lines", &self.lines)
            .finish_non_exhaustive()
    }
}

/// The messages a batch holds lines of, in order.
#[derive(Debug, Default)]
pub(crate) struct Inputs {
    pub(crate) pieces: Vec<Piece>,
}

/// One message's lines in a batch: how many, and the message when they are its last.
#[derive(Debug)]
pub(crate) struct Piece {
    pub(crate) lines: usize,
    pub(crate) last: Option<Message>,
}

/// How messages are pulled and cut.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    pub(crate) fetch: usize,
    pub(crate) batch_size: usize,
    pub(crate) batch_bytes: usize,
    pub(crate) max_line_bytes: usize,
}

/// The consumer of `args`, created when missing if `--create` says so.
pub(crate) async fn open(
    js: &jetstream::Context,
    args: &NatsArgs,
) -> anyhow::Result<(PullConsumer, Source)> {
    let stream = match js.get_stream(&args.stream).await {
        Ok(stream) => stream,
        Err(e) => bail!(
            "--stream {}: {e}; create it first, e.g. `nats stream add {} --subjects 'logs.>' --retention work --storage file` (README § Scale out)",
            args.stream,
            args.stream
        ),
    };
    let found = stream.consumer_info(&args.consumer).await;
    let consumer = match found {
        Ok(_) => stream
            .get_consumer::<consumer::pull::Config>(&args.consumer)
            .await
            .map_err(|e| anyhow!("--consumer {}: {e}", args.consumer))?,
        Err(e) if is_missing(&e) && args.create => create(&stream, args).await?,
        Err(e) if is_missing(&e) => bail!(
            "--consumer {}: stream {} has no such consumer; pass --create, or create it: `nats consumer add {} {} --pull --ack explicit --wait 30s --max-pending 1024 --deliver all`",
            args.consumer,
            args.stream,
            args.stream,
            args.consumer
        ),
        Err(e) => bail!("--consumer {}: {e}", args.consumer),
    };
    let info = consumer.cached_info();
    if info.config.ack_policy != consumer::AckPolicy::Explicit {
        bail!(
            "--consumer {}: its ack policy is {:?}; logenrich acknowledges each message after its output is stored, which needs explicit acks",
            args.consumer,
            info.config.ack_policy
        );
    }
    let source = Source {
        stream: args.stream.clone(),
        ack_wait: info.config.ack_wait,
    };
    Ok((consumer, source))
}

fn is_missing(e: &jetstream::context::ConsumerInfoError) -> bool {
    match e.kind() {
        jetstream::context::ConsumerInfoErrorKind::NotFound => true,
        jetstream::context::ConsumerInfoErrorKind::JetStream(j) => {
            j.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND
        }
        _ => false,
    }
}

/// Creates the consumer; when several runners race, the one that loses takes the
/// consumer the winner made (the server refuses only a different configuration).
async fn create(
    stream: &jetstream::stream::Stream,
    args: &NatsArgs,
) -> anyhow::Result<PullConsumer> {
    let config = consumer::pull::Config {
        durable_name: Some(args.consumer.clone()),
        description: Some("logenrich runners".into()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(args.ack_wait.unwrap_or(30)),
        max_ack_pending: args.max_ack_pending.unwrap_or(1024),
        ..Default::default()
    };
    match stream.create_consumer_strict(config).await {
        Ok(consumer) => Ok(consumer),
        Err(e) if e.kind() == jetstream::stream::ConsumerCreateStrictErrorKind::AlreadyExists => {
            stream
                .get_consumer(&args.consumer)
                .await
                .map_err(|e| anyhow!("--consumer {}: {e}", args.consumer))
        }
        Err(e) => Err(anyhow!(
            "--create: cannot create consumer {}: {e}",
            args.consumer
        )),
    }
}

/// Pulls messages until `stop`, cutting each into batches for `out`; the messages
/// are held (kept alive with in-progress acks) from their arrival. Returns why it gave
/// up, if it did (the consumer or stream was deleted).
pub(crate) async fn read(
    consumer: PullConsumer,
    reading: Reading,
    out: mpsc::Sender<(Inputs, Batch)>,
    held: Held,
    stop: Arc<AtomicBool>,
) -> Option<String> {
    let mut backoff = Duration::ZERO;
    let mut last_error = String::new();
    while !stop.load(Ordering::Relaxed) {
        if !backoff.is_zero() {
            tokio::time::sleep(backoff).await;
        }
        let pull = consumer
            .batch()
            .max_messages(reading.fetch)
            .expires(PULL_EXPIRES)
            .messages()
            .await;
        let mut messages = match pull {
            Ok(messages) => messages,
            Err(e) => {
                if let Some(fatal) = failed(&e.to_string(), &mut last_error, &mut backoff) {
                    return Some(fatal);
                }
                continue;
            }
        };
        backoff = Duration::ZERO;
        let mut gather = Gather::new(&reading, &out);
        loop {
            // What has arrived goes into one batch; before waiting for more, it is sent.
            let next = match messages.next().now_or_never() {
                Some(next) => next,
                None => {
                    if !gather.flush().await {
                        return None;
                    }
                    messages.next().await
                }
            };
            match next {
                Some(Ok(message)) => {
                    if !cut(message, &reading, &mut gather, &held).await {
                        return None;
                    }
                }
                Some(Err(e)) => {
                    if let Some(fatal) = failed(&e.to_string(), &mut last_error, &mut backoff) {
                        return Some(fatal);
                    }
                    break;
                }
                None => break,
            }
        }
        if !gather.flush().await {
            return None;
        }
    }
    None
}

/// Batches of several messages in the making: a message's batches join the current one
/// while it stays under `--batch-size` lines and `--batch-bytes` bytes.
struct Gather<'a> {
    out: &'a mpsc::Sender<(Inputs, Batch)>,
    reading: &'a Reading,
    batch: Batch,
    inputs: Inputs,
}

impl<'a> Gather<'a> {
    fn new(reading: &'a Reading, out: &'a mpsc::Sender<(Inputs, Batch)>) -> Self {
        Gather {
            out,
            reading,
            batch: Batch::new(1),
            inputs: Inputs::default(),
        }
    }

    /// Adds one batch of a message (`last`: the message, when the batch ends it);
    /// `false` when the pipeline is gone.
    async fn add(&mut self, batch: Batch, last: Option<Message>) -> bool {
        let joins = self.batch.is_empty()
            || (batch.oversized.is_none()
                && self.batch.oversized.is_none()
                && self.batch.fits(batch.data.len())
                && self.batch.len() + batch.len() <= self.reading.batch_size
                && self.batch.data.len() + batch.data.len() <= self.reading.batch_bytes);
        if !joins && !self.flush().await {
            return false;
        }
        let lines = batch.len();
        // Cannot fail: an empty batch takes `batch` whole, and a joined one fits.
        if let Err(full) = self.batch.push_part(batch) {
            eprintln!("logenrich: nats: {full}");
        }
        self.inputs.pieces.push(Piece { lines, last });
        self.batch.oversized.is_none() || self.flush().await
    }

    /// Sends the batch in the making, if any; `false` when the pipeline is gone.
    async fn flush(&mut self) -> bool {
        if self.inputs.pieces.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.batch, Batch::new(1));
        let inputs = std::mem::take(&mut self.inputs);
        self.out.send((inputs, batch)).await.is_ok()
    }
}

/// A pull failed with `error`: says so once per kind of error and backs off; `Some`
/// when it cannot go on.
fn failed(error: &str, last: &mut String, backoff: &mut Duration) -> Option<String> {
    if error.contains("consumer deleted") || error.contains("consumer not found") {
        return Some(format!("nats: the consumer is gone: {error}"));
    }
    if *last != error {
        eprintln!("logenrich: nats: pull: {}; trying again", describe(error));
        error.clone_into(last);
    }
    *backoff = (*backoff * 2).clamp(Duration::from_millis(50), MAX_BACKOFF);
    None
}

/// A pull error as a user can read it: async-nats shows a bare status for some (a
/// server that is restarting, or whose JetStream is not up yet, answers 503 "no
/// responders", printed `503, None`).
fn describe(error: &str) -> String {
    if error.starts_with("503") || error.contains("no responders") {
        format!(
            "no responders: JetStream is not answering yet (a server restarting or starting up) ({error})"
        )
    } else {
        error.to_owned()
    }
}

/// Cuts `message` into batches for `gather`; `false` when the pipeline is gone.
async fn cut(
    message: jetstream::Message,
    reading: &Reading,
    gather: &mut Gather<'_>,
    held: &Held,
) -> bool {
    let sequence = match message.info() {
        Ok(info) => info.stream_sequence,
        // Not a JetStream delivery: nothing to acknowledge, nothing to dedupe by.
        Err(_) => return true,
    };
    let (message, acker) = message.split();
    let acker = Arc::new(acker);
    held.hold(sequence, acker.clone());
    let subject = message.subject.to_string();
    let mut splitter = Splitter::resuming(
        reading.batch_size,
        reading.batch_bytes,
        reading.max_line_bytes,
        Some(subject.clone()),
        Position::default(),
    );
    let mut batches = Vec::new();
    let payload = &message.payload;
    splitter.push(payload, &mut |batch, _| batches.push(batch));
    splitter.finish(&mut |batch, _| batches.push(batch));
    let lines = batches.iter().map(|b| b.len() as u64).sum();
    // A message without lines still gets its (empty) output, so it is acknowledged.
    let last = batches.pop().unwrap_or_else(|| {
        let mut empty = Batch::new(1);
        empty.source = Some(subject.clone());
        empty
    });
    for batch in batches {
        if !gather.add(batch, None).await {
            return false;
        }
    }
    let message = Message {
        sequence,
        subject,
        lines,
        acker,
    };
    gather.add(last, Some(message)).await
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_bare_503_is_explained_other_errors_are_kept() {
        let told = describe("503, None");
        assert!(told.starts_with("no responders: JetStream"), "{told}");
        assert!(told.ends_with("(503, None)"), "{told}");
        assert_eq!(describe("timed out"), "timed out");
    }
}
