//! [`ReportBuilder`]: bytes in (files, `.gz`, stdin, or a running enrichment's output as it
//! is written), a [`Report`] out.
//!
//! Complete lines go in chunks of about 1 MiB to parser threads (JSON decoding is the
//! cost, so it runs on every core) and their [`Facts`] to one aggregating thread, through
//! bounded channels: memory holds a few chunks in flight plus the tallies.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rustc_hash::FxHashSet;

use crate::aggregate::Aggregate;
use crate::record::Batch;
use crate::{Error, Report};

/// Bytes of complete lines per chunk handed to a parser thread.
const CHUNK: usize = 1 << 20;
/// Bytes read per `read` call.
const READ: usize = 256 << 10;

/// Collects enriched JSON Lines and makes a [`Report`] of them.
///
/// Feed it with [`ReportBuilder::feed`] (any split: lines are completed across calls) or
/// [`ReportBuilder::read_path`], then call [`ReportBuilder::finish`].
pub struct ReportBuilder {
    pending: Vec<u8>,
    chunks: Option<SyncSender<Vec<u8>>>,
    workers: Vec<JoinHandle<()>>,
    aggregator: Option<JoinHandle<Aggregate>>,
}

impl Default for ReportBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ReportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportBuilder")
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl ReportBuilder {
    /// A builder with one parser thread per core (at most 4).
    pub fn new() -> Self {
        let n = std::thread::available_parallelism().map_or(2, usize::from);
        Self::with_threads(n.min(4))
    }

    /// A builder with `threads` parser threads (at least one).
    pub fn with_threads(threads: usize) -> Self {
        let threads = threads.max(1);
        let (chunk_tx, chunk_rx) = sync_channel::<Vec<u8>>(threads * 2);
        let (facts_tx, facts_rx) = sync_channel::<Batch>(threads * 2);
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let workers = (0..threads)
            .map(|i| {
                let rx = Arc::clone(&chunk_rx);
                let tx = facts_tx.clone();
                std::thread::Builder::new()
                    .name(format!("report-parse-{i}"))
                    .spawn(move || parse_chunks(&rx, &tx))
                    .expect("cannot start a report thread")
            })
            .collect();
        drop(facts_tx);
        let aggregator = std::thread::Builder::new()
            .name("report-aggregate".to_owned())
            .spawn(move || aggregate(&facts_rx))
            .expect("cannot start a report thread");
        ReportBuilder {
            pending: Vec::with_capacity(CHUNK + READ),
            chunks: Some(chunk_tx),
            workers,
            aggregator: Some(aggregator),
        }
    }

    /// Adds bytes of JSON Lines; a line may be split across calls.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= CHUNK {
            self.send_complete_lines();
        }
    }

    /// Ends the current input: a last line without a newline is complete.
    pub fn end_input(&mut self) {
        if self.pending.last().is_some_and(|&b| b != b'\n') {
            self.pending.push(b'\n');
        }
    }

    /// Reads all of `reader` (gzip when it starts with the gzip magic).
    pub fn read<R: Read>(&mut self, reader: R, name: &Path) -> Result<(), Error> {
        let mut reader = std::io::BufReader::with_capacity(READ, reader);
        let head = std::io::BufRead::fill_buf(&mut reader).map_err(|e| Error::read(name, e))?;
        let result = if head.starts_with(&[0x1f, 0x8b]) {
            self.read_plain(flate2::bufread::MultiGzDecoder::new(reader), name)
        } else {
            self.read_plain(reader, name)
        };
        self.end_input();
        result
    }

    /// Reads a file, or stdin for `-`.
    pub fn read_path(&mut self, path: &Path) -> Result<(), Error> {
        if path == Path::new("-") {
            self.read(std::io::stdin().lock(), path)
        } else {
            let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
            self.read(file, path)
        }
    }

    fn read_plain<R: Read>(&mut self, mut reader: R, name: &Path) -> Result<(), Error> {
        loop {
            let len = self.pending.len();
            self.pending.resize(len + READ, 0);
            let n = match reader.read(&mut self.pending[len..]) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                    self.pending.truncate(len);
                    continue;
                }
                Err(e) => {
                    self.pending.truncate(len);
                    return Err(Error::read(name, e));
                }
            };
            self.pending.truncate(len + n);
            if n == 0 {
                return Ok(());
            }
            if self.pending.len() >= CHUNK {
                self.send_complete_lines();
            }
        }
    }

    fn send_complete_lines(&mut self) {
        if let Some(pos) = memchr::memrchr(b'\n', &self.pending) {
            let mut rest = Vec::with_capacity(CHUNK + READ);
            rest.extend_from_slice(&self.pending[pos + 1..]);
            self.pending.truncate(pos + 1);
            let chunk = std::mem::replace(&mut self.pending, rest);
            self.send(chunk);
        }
    }

    fn send(&mut self, chunk: Vec<u8>) {
        if let Some(tx) = &self.chunks {
            // The threads only stop when the sender is dropped.
            let _ = tx.send(chunk);
        }
    }

    /// Parses what is left and makes the report.
    pub fn finish(mut self) -> Report {
        Report {
            agg: self.finish_inner(),
        }
    }

    fn finish_inner(&mut self) -> Aggregate {
        self.end_input();
        let last = std::mem::take(&mut self.pending);
        if !last.is_empty() {
            self.send(last);
        }
        self.chunks = None;
        for w in self.workers.drain(..) {
            // A parser thread that panicked loses its chunk; the report still comes.
            let _ = w.join();
        }
        self.aggregator
            .take()
            .and_then(|a| a.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for ReportBuilder {
    fn drop(&mut self) {
        if self.aggregator.is_some() {
            self.finish_inner();
        }
    }
}

fn parse_chunks(rx: &Mutex<Receiver<Vec<u8>>>, tx: &SyncSender<Batch>) {
    let mut seen: FxHashSet<Box<str>> = FxHashSet::default();
    let mut known = |ip: &str| {
        if seen.contains(ip) {
            true
        } else {
            seen.insert(ip.into());
            false
        }
    };
    loop {
        let chunk = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(c) => c,
                Err(_) => return,
            }
        };
        let mut batch = Batch {
            text: String::with_capacity(chunk.len() / 4),
            facts: Vec::with_capacity(chunk.len() / 400),
        };
        for line in chunk.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // Blank lines are skipped (only a line that starts blank is scanned).
            let blank = line.first().is_none_or(u8::is_ascii_whitespace)
                && line.iter().all(u8::is_ascii_whitespace);
            if !blank {
                batch.parse(line, &mut known);
            }
        }
        if tx.send(batch).is_err() {
            return;
        }
    }
}

fn aggregate(rx: &Receiver<Batch>) -> Aggregate {
    let mut agg = Aggregate::default();
    for batch in rx {
        agg.add(batch);
    }
    agg
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn line(i: usize) -> String {
        format!(
            r#"{{"line":{i},"ip":"192.0.2.{}","status":200,"dnsbl":[],"geo":null}}"#,
            i % 50
        )
    }

    #[test]
    fn lines_split_anywhere_and_across_threads() {
        let text: String = (0..20_000).map(|i| line(i) + "\n").collect();
        let mut b = ReportBuilder::with_threads(3);
        for piece in text.as_bytes().chunks(777) {
            b.feed(piece);
        }
        let t = b.finish().totals();
        assert_eq!(
            (t.lines, t.records, t.clients, t.foreign),
            (20_000, 20_000, 50, 0)
        );
    }

    #[test]
    fn gzip_and_a_last_line_without_newline() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(format!("{}\n{}", line(1), line(2)).as_bytes())
            .unwrap();
        let gz = gz.finish().unwrap();
        let mut b = ReportBuilder::with_threads(1);
        b.read(&gz[..], Path::new("a.gz")).unwrap();
        b.read(line(3).as_bytes(), Path::new("b")).unwrap();
        let t = b.finish().totals();
        assert_eq!((t.records, t.foreign), (3, 0));
    }
}
