//! The output side of `logenrich nats`: each input message's records as one output
//! message (in parts only when they pass the server's largest message), published with
//! a `Nats-Msg-Id` the output stream dedupes by, confirmed, and only then the input
//! acknowledged. Publishes are pipelined ([`IN_FLIGHT`] at once); one that fails (the
//! server gone) is sent again, with the same id, until it is confirmed. Messages being
//! worked on get in-progress acks, so a slow batch is not redelivered meanwhile.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, message::PublishMessage};
use futures::StreamExt as _;
use tokio::sync::mpsc;

use super::consume::Message;

/// Output messages published and not yet confirmed, at most.
pub(crate) const IN_FLIGHT: usize = 256;

/// Room kept in an output message for its headers.
const HEADER_ROOM: usize = 4096;

/// Header: the input message's stream sequence.
pub(crate) const SOURCE_SEQUENCE: &str = "Logenrich-Source-Sequence";
/// Header: the input message's stream.
pub(crate) const SOURCE_STREAM: &str = "Logenrich-Source-Stream";
/// Header: the input message's subject.
pub(crate) const SOURCE_SUBJECT: &str = "Logenrich-Source-Subject";
/// Header: the records' line count.
pub(crate) const LINES: &str = "Logenrich-Lines";
/// Header, on an output in parts only: `K/N`.
pub(crate) const PART: &str = "Logenrich-Part";

/// After a stop, how many times a failed publish is sent again before its input is
/// left to be redelivered.
const RETRIES_AFTER_STOP: u32 = 3;

/// The input messages being worked on, kept alive with in-progress acks.
#[derive(Clone, Default)]
pub(crate) struct Held(Arc<Mutex<HashMap<u64, Arc<jetstream::message::Acker>>>>);

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Held").field(&self.lock().len()).finish()
    }
}

impl Held {
    pub(crate) fn hold(&self, sequence: u64, acker: Arc<jetstream::message::Acker>) {
        self.lock().insert(sequence, acker);
    }

    fn release(&self, sequence: u64) {
        self.lock().remove(&sequence);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<jetstream::message::Acker>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every third of `ack_wait`, tells the server the held messages are in progress
    /// (each resets its AckWait). Runs until aborted.
    pub(crate) async fn keep_alive(self, ack_wait: Duration) {
        let every = (ack_wait / 3).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            let ackers: Vec<_> = self.lock().values().cloned().collect();
            for acker in ackers {
                // A lost one only risks a redelivery, which the duplicate window absorbs.
                let _ = acker.ack_with(AckKind::Progress).await;
            }
        }
    }
}

/// One input message's output, ready to publish.
#[derive(Debug)]
pub(crate) struct Output {
    subject: String,
    parts: Vec<PublishMessage>,
    input: Message,
}

impl Output {
    /// The output of `input` from `stream`: its `records` on `subject`, in parts of at
    /// most `max_payload` bytes (each cut after a record) when they do not fit one.
    pub(crate) fn new(
        stream: &str,
        subject: &str,
        input: Message,
        records: Vec<u8>,
        max_payload: usize,
    ) -> Output {
        let room = max_payload.saturating_sub(HEADER_ROOM).max(1024);
        let id = format!("{stream}:{}", input.sequence);
        let mut headers = HeaderMap::new();
        headers.insert(SOURCE_STREAM, stream);
        headers.insert(SOURCE_SEQUENCE, input.sequence.to_string().as_str());
        headers.insert(SOURCE_SUBJECT, input.subject.as_str());
        headers.insert(LINES, input.lines.to_string().as_str());
        let chunks = cut_records(&records, room);
        let n = chunks.len();
        let parts = if n == 1 {
            vec![message(headers, &id, records)]
        } else {
            (chunks.iter().enumerate())
                .map(|(k, chunk)| {
                    let mut headers = headers.clone();
                    headers.insert(PART, format!("{}/{n}", k + 1).as_str());
                    message(headers, &format!("{id}:{}", k + 1), chunk.to_vec())
                })
                .collect()
        };
        Output {
            subject: subject.to_owned(),
            parts,
            input,
        }
    }
}

fn message(headers: HeaderMap, id: &str, payload: Vec<u8>) -> PublishMessage {
    PublishMessage::build()
        .headers(headers)
        .message_id(id)
        .payload(payload.into())
}

/// `records` in pieces of at most `room` bytes, each ending after a record (a record
/// longer than `room` is a piece alone); one piece, maybe empty, when they fit.
fn cut_records(records: &[u8], room: usize) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut rest = records;
    while rest.len() > room {
        let end = memchr::memrchr(b'\n', &rest[..room])
            .or_else(|| memchr::memchr(b'\n', rest))
            .map_or(rest.len(), |i| i + 1);
        pieces.push(&rest[..end]);
        rest = &rest[end..];
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// What the confirmations came to.
#[derive(Debug, Default)]
pub(crate) struct Confirmed {
    /// Inputs whose output was confirmed and that were acknowledged.
    pub(crate) acked: u64,
    /// Of those, outputs the stream had already (a redelivery's republish).
    pub(crate) duplicates: u64,
    /// Publishes sent again after a failure.
    pub(crate) retries: u64,
    /// Inputs left unacknowledged at a stop, for the server to redeliver.
    pub(crate) abandoned: u64,
}

/// How one output ended.
enum Delivered {
    Acked { duplicate: bool, retries: u32 },
    Abandoned { retries: u32 },
}

/// Publishes the outputs of `rx` (pipelined), acknowledging each input once its
/// output is confirmed.
pub(crate) async fn confirm(
    js: jetstream::Context,
    rx: mpsc::Receiver<Output>,
    held: Held,
    stop: Arc<AtomicBool>,
) -> Confirmed {
    let mut rx = rx;
    let outputs = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut done = std::pin::pin!(
        outputs
            .map(|output| deliver(js.clone(), output, held.clone(), stop.clone()))
            .buffered(IN_FLIGHT)
    );
    let mut confirmed = Confirmed::default();
    while let Some(delivered) = done.next().await {
        match delivered {
            Delivered::Acked { duplicate, retries } => {
                confirmed.acked += 1;
                confirmed.duplicates += u64::from(duplicate);
                confirmed.retries += u64::from(retries);
            }
            Delivered::Abandoned { retries } => {
                confirmed.abandoned += 1;
                confirmed.retries += u64::from(retries);
            }
        }
    }
    confirmed
}

/// Publishes `output` until the server confirms every part, then acknowledges its
/// input (and waits for the server to confirm that too, trying again if it does not).
async fn deliver(
    js: jetstream::Context,
    output: Output,
    held: Held,
    stop: Arc<AtomicBool>,
) -> Delivered {
    let mut retries = 0u32;
    let mut duplicate = true;
    for part in &output.parts {
        let mut backoff = Duration::from_millis(50);
        loop {
            let sent = async {
                let ack = js
                    .send_publish(output.subject.clone(), part.clone())
                    .await?;
                ack.await.map_err(async_nats::Error::from)
            };
            match sent.await {
                Ok(ack) => {
                    duplicate &= ack.duplicate;
                    break;
                }
                Err(e) => {
                    if stop.load(Ordering::Relaxed) && retries >= RETRIES_AFTER_STOP {
                        held.release(output.input.sequence);
                        return Delivered::Abandoned { retries };
                    }
                    if retries == 0 {
                        eprintln!(
                            "logenrich: nats: publish of {}:{} failed ({e}); sending it again",
                            output.subject, output.input.sequence
                        );
                    }
                    retries += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
    // The output is stored: from here a redelivery is only a duplicate, so a lost ack
    // costs a redelivery, not a record. While running, a plain ack (no reply to wait
    // for: half the server's messages per input); once stopping, acks the server
    // confirms, so that what this runner published is acknowledged when it exits.
    let acker = &output.input.acker;
    let sent = !stop.load(Ordering::Relaxed) && acker.ack().await.is_ok();
    if !sent {
        for _ in 0..3 {
            if acker.double_ack().await.is_ok() {
                break;
            }
        }
    }
    held.release(output.input.sequence);
    Delivered::Acked { duplicate, retries }
}

/// Checks that a stream stores `subject` (else the publishes would fail): names what
/// to create when none does; warns when its duplicate window is under 10 × `ack_wait`.
pub(crate) async fn check_output(
    js: &jetstream::Context,
    subject: &str,
    ack_wait: Duration,
    quiet: bool,
) -> anyhow::Result<()> {
    let Ok(name) = js.stream_by_subject(subject).await else {
        bail!(
            "--out-subject {subject}: no stream stores it; create one with a duplicate window of at least 10 × AckWait, e.g. `nats stream add ENRICHED --subjects '{subject}' --dupe-window {}s --storage file` (README § Scale out)",
            (ack_wait * 10).as_secs()
        );
    };
    let mut stream = js.get_stream(&name).await?;
    let window = stream.info().await?.config.duplicate_window;
    if window < ack_wait * 10 && !quiet {
        eprintln!(
            "logenrich: nats: warning: stream {name}'s duplicate window ({window:?}) is under 10 × the consumer's AckWait ({ack_wait:?}): a message redelivered after a crash may be published twice"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::cut_records;

    #[test]
    fn records_are_cut_after_a_record_within_the_room() {
        let records = b"aaaa\nbb\ncccccc\nd\n";
        assert_eq!(cut_records(records, 100), vec![&records[..]]);
        assert_eq!(
            cut_records(records, 8),
            vec![&b"aaaa\nbb\n"[..], b"cccccc\n", b"d\n"]
        );
        // A record longer than the room is a piece alone.
        assert_eq!(
            cut_records(b"aaaaaaaa\nb\n", 4),
            vec![&b"aaaaaaaa\n"[..], b"b\n"]
        );
        assert_eq!(cut_records(b"", 4), vec![&b""[..]]);
    }
}
