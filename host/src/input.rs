//! Input: files (plain or gzip, told apart by magic bytes) and stdin, read as batches of
//! lines with bounded memory. Lines go to the component as bytes: it decodes invalid UTF-8
//! lossily and flags it, never drops it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::Batch;

/// One input: a file, or stdin for `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// `-` is stdin, anything else a file.
    pub fn from_arg(arg: &Path) -> Self {
        if arg == Path::new("-") {
            Input::Stdin
        } else {
            Input::File(arg.to_path_buf())
        }
    }

    /// The name used in output records and messages.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// Opens the input, decompressing gzip when the first bytes say so.
    pub fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            Input::Stdin => Box::new(io::stdin()),
            Input::File(p) => Box::new(File::open(p)?),
        };
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let head = buffered.fill_buf()?;
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(Box::new(BufReader::with_capacity(
                256 * 1024,
                MultiGzDecoder::new(buffered),
            )))
        } else {
            Ok(Box::new(buffered))
        }
    }
}

/// Cuts lines into batches: a batch is full at `batch_size` lines; [`Splitter::cut`] ends
/// a partial one (the linger timer, the end of an input). A line is only complete at its
/// `\n` or at the end of its input; its bytes are kept as read, without the `\n`.
#[derive(Debug)]
pub struct Splitter {
    batch_size: usize,
    max_line: usize,
    source: Option<String>,
    next_line: u64,
    batch: Batch,
    /// The bytes of the line being read, when it has no `\n` yet (at most `max_line`).
    partial: Vec<u8>,
    /// The length of the line being read, when it is longer than `max_line` (its bytes
    /// past the prefix are dropped as they arrive: memory stays bounded).
    overlong: Option<u64>,
}

/// How many bytes of an over-long line its error record keeps.
pub const OVERSIZED_PREFIX: usize = 1024;

impl Splitter {
    /// A splitter for one input, named `source` in its records when set; a line longer
    /// than `max_line` bytes becomes a batch of its own, marked `oversized`.
    pub fn new(batch_size: usize, max_line: usize, source: Option<String>) -> Self {
        let mut batch = Batch::new(1);
        batch.source.clone_from(&source);
        Self {
            batch_size: batch_size.max(1),
            max_line: max_line.max(1),
            source,
            next_line: 1,
            batch,
            partial: Vec::new(),
            overlong: None,
        }
    }

    /// Ends an over-long line: the batch before it, then the line alone, marked.
    fn push_overlong(&mut self, len: u64, out: &mut impl FnMut(Batch)) {
        self.cut(out);
        let mut prefix = std::mem::take(&mut self.partial);
        prefix.truncate(OVERSIZED_PREFIX);
        let mut alone = Batch::new(self.next_line);
        alone.source.clone_from(&self.source);
        alone.push_line(&prefix);
        alone.oversized = Some(len);
        out(alone);
        self.next_line += 1;
        self.batch.first_line = self.next_line;
    }

    /// Adds `bytes` (no `\n` in them) to the line being read, within the limit.
    fn extend_partial(&mut self, bytes: &[u8]) {
        if let Some(len) = &mut self.overlong {
            *len += bytes.len() as u64;
            return;
        }
        if self.partial.len() + bytes.len() > self.max_line {
            self.overlong = Some((self.partial.len() + bytes.len()) as u64);
            let room = OVERSIZED_PREFIX.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&bytes[..room.min(bytes.len())]);
            self.partial.truncate(OVERSIZED_PREFIX);
            self.partial.shrink_to(OVERSIZED_PREFIX);
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn push_line(&mut self, line: &[u8], out: &mut impl FnMut(Batch)) {
        if self.batch.is_empty() {
            self.batch.first_line = self.next_line;
        }
        self.batch.push_line(line);
        self.next_line += 1;
        if self.batch.len() >= self.batch_size {
            self.emit(out);
        }
    }

    fn emit(&mut self, out: &mut impl FnMut(Batch)) {
        let mut next = Batch::new(self.next_line);
        next.source.clone_from(&self.source);
        out(std::mem::replace(&mut self.batch, next));
    }

    /// Takes bytes as read; hands each full batch to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl FnMut(Batch)) {
        while let Some(nl) = memchr::memchr(b'\n', bytes) {
            if self.partial.is_empty() && self.overlong.is_none() && nl <= self.max_line {
                self.push_line(&bytes[..nl], out);
            } else {
                self.extend_partial(&bytes[..nl]);
                self.end_partial(out);
            }
            bytes = &bytes[nl + 1..];
        }
        self.extend_partial(bytes);
    }

    /// The line being read is complete.
    fn end_partial(&mut self, out: &mut impl FnMut(Batch)) {
        match self.overlong.take() {
            Some(len) => self.push_overlong(len, out),
            None => {
                let line = std::mem::take(&mut self.partial);
                self.push_line(&line, out);
            }
        }
    }

    /// Hands the complete lines gathered so far to `out` as a (partial) batch, if any.
    pub fn cut(&mut self, out: &mut impl FnMut(Batch)) {
        if !self.batch.is_empty() {
            self.emit(out);
        }
    }

    /// The input ended (or failed): a last line without `\n` is a line too; then cut.
    pub fn finish(&mut self, out: &mut impl FnMut(Batch)) {
        if !self.partial.is_empty() || self.overlong.is_some() {
            self.end_partial(out);
        }
        self.cut(out);
    }

    /// Whether complete lines wait for a cut.
    pub fn has_pending(&self) -> bool {
        !self.batch.is_empty()
    }

    /// Lines handed out or waiting, i.e. the number of the next line minus one.
    pub fn lines(&self) -> u64 {
        self.next_line - 1
    }
}

/// What the raw reader sends the batcher.
enum Chunk {
    /// Bytes of input `usize`.
    Data(usize, Vec<u8>),
    /// Input `usize` ended; with the error that ended it, if any.
    End(usize, Option<String>),
}

/// How the reader threads cut batches.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Lines per full batch.
    pub batch_size: usize,
    /// A partial batch is sent after this long without new input.
    pub linger: std::time::Duration,
    /// A longer line is not processed: it gets an error record (see [`Splitter`]).
    pub max_line_bytes: usize,
}

/// Reads `inputs` in order on two threads and sends their batches to `tx`: a raw reader
/// that may block on a quiet pipe, and a batcher that cuts a partial batch after
/// `linger` without new input, so a live stream's records come out promptly. Errors
/// (an input that cannot be opened or read) go to `errors`; the lines read before an
/// error still get their batches. Once `stop` is set, the batcher sends what it holds
/// and ends. Returns the batcher's handle (the raw reader is left to end with its input).
pub fn spawn_readers(
    inputs: Vec<(Input, Option<String>)>,
    opts: ReadOptions,
    tx: tokio::sync::mpsc::Sender<Batch>,
    errors: tokio::sync::mpsc::UnboundedSender<String>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> io::Result<std::thread::JoinHandle<()>> {
    use std::sync::atomic::Ordering;
    use std::sync::mpsc::{RecvTimeoutError, sync_channel};

    let sources: Vec<Option<String>> = inputs.iter().map(|(_, s)| s.clone()).collect();
    let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(4);
    std::thread::Builder::new()
        .name("logenrich-read".into())
        .spawn(move || {
            for (index, (input, _)) in inputs.iter().enumerate() {
                let mut reader = match input.open() {
                    Ok(r) => r,
                    Err(e) => {
                        let why = format!("cannot open input {}: {e}", input.name());
                        if chunk_tx.send(Chunk::End(index, Some(why))).is_err() {
                            return;
                        }
                        continue;
                    }
                };
                let error = loop {
                    let mut buf = vec![0u8; 256 * 1024];
                    match reader.read(&mut buf) {
                        Ok(0) => break None,
                        Ok(n) => {
                            buf.truncate(n);
                            if chunk_tx.send(Chunk::Data(index, buf)).is_err() {
                                return;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break Some(format!("cannot read input {}: {e}", input.name())),
                    }
                };
                if chunk_tx.send(Chunk::End(index, error)).is_err() {
                    return;
                }
            }
        })?;

    std::thread::Builder::new()
        .name("logenrich-batch".into())
        .spawn(move || {
            let mut batcher = Batcher::new(opts, sources);
            // A closed receiver means the run is over (e.g. the output was closed).
            let closed = std::cell::Cell::new(false);
            let mut send = |b: Batch| {
                if tx.blocking_send(b).is_err() {
                    closed.set(true);
                }
            };
            while !closed.get() {
                if stop.load(Ordering::Relaxed) {
                    // Take what was already read, then end.
                    while let Ok(chunk) = chunk_rx.try_recv() {
                        batcher.take(chunk, &mut send, &errors);
                    }
                    batcher.splitter.finish(&mut send);
                    return;
                }
                // Wake at `linger` only when lines wait for a cut; otherwise now and then,
                // to see a stop request (never a busy loop, even with a linger of 0).
                let wait = if batcher.splitter.has_pending() {
                    opts.linger
                } else {
                    std::time::Duration::from_millis(200)
                };
                match chunk_rx.recv_timeout(wait) {
                    Ok(chunk) => batcher.take(chunk, &mut send, &errors),
                    Err(RecvTimeoutError::Timeout) => batcher.splitter.cut(&mut send),
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        })
}

/// The batcher thread's state: the splitter of the input being read.
struct Batcher {
    opts: ReadOptions,
    sources: Vec<Option<String>>,
    current: usize,
    splitter: Splitter,
}

impl Batcher {
    fn new(opts: ReadOptions, sources: Vec<Option<String>>) -> Self {
        let first = sources.first().cloned().flatten();
        Self {
            splitter: Splitter::new(opts.batch_size, opts.max_line_bytes, first),
            opts,
            sources,
            current: 0,
        }
    }

    /// Takes one chunk from the raw reader.
    fn take(
        &mut self,
        chunk: Chunk,
        send: &mut impl FnMut(Batch),
        errors: &tokio::sync::mpsc::UnboundedSender<String>,
    ) {
        match chunk {
            Chunk::Data(index, bytes) => {
                self.switch(index, send);
                self.splitter.push(&bytes, send);
            }
            Chunk::End(index, error) => {
                self.switch(index, send);
                self.splitter.finish(send);
                if let Some(e) = error {
                    let _ = errors.send(e);
                }
            }
        }
    }

    /// Moves to input `index`, finishing the previous one first (its last lines are never
    /// dropped, whatever the order chunks are taken in).
    fn switch(&mut self, index: usize, send: &mut impl FnMut(Batch)) {
        if index != self.current {
            self.splitter.finish(send);
            self.current = index;
            let source = self.sources.get(index).cloned().flatten();
            self.splitter = Splitter::new(self.opts.batch_size, self.opts.max_line_bytes, source);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn split(chunks: &[&[u8]], size: usize) -> Vec<Batch> {
        let mut out = Vec::new();
        let mut s = Splitter::new(size, 1 << 16, None);
        for c in chunks {
            s.push(c, &mut |b| out.push(b));
        }
        s.finish(&mut |b| out.push(b));
        out
    }

    fn lines(b: &Batch) -> Vec<&[u8]> {
        (0..b.len()).map(|i| b.line(i)).collect()
    }

    #[test]
    fn splits_and_numbers_lines() {
        let b = split(&[b"a\nb\r\n\nc"], 2);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].first_line, lines(&b[0])),
            (1, vec![&b"a"[..], b"b\r"])
        );
        assert_eq!((b[1].first_line, lines(&b[1])), (3, vec![&b""[..], b"c"]));
    }

    #[test]
    fn lines_across_chunks_are_joined() {
        let b = split(&[b"ab", b"c\nde", b"", b"f\ng"], 10);
        assert_eq!(lines(&b[0]), [&b"abc"[..], b"def", b"g"]);
    }

    #[test]
    fn cut_sends_a_partial_batch_and_numbering_goes_on() {
        let mut out = Vec::new();
        let mut s = Splitter::new(10, 1 << 16, Some("x.log".into()));
        s.push(b"one\ntwo\nthr", &mut |b| out.push(b));
        assert!(out.is_empty());
        s.cut(&mut |b| out.push(b));
        s.cut(&mut |b| out.push(b)); // nothing new: no empty batch
        s.push(b"ee\n", &mut |b| out.push(b));
        s.finish(&mut |b| out.push(b));
        assert_eq!(out.len(), 2);
        assert_eq!(lines(&out[0]), [&b"one"[..], b"two"]);
        assert_eq!(
            (out[1].first_line, lines(&out[1])),
            (3, vec![&b"three"[..]])
        );
        assert_eq!(out[1].source.as_deref(), Some("x.log"));
        assert_eq!(s.lines(), 3);
    }

    #[test]
    fn an_overlong_line_is_a_batch_of_its_own_with_a_prefix() {
        let mut out = Vec::new();
        let mut s = Splitter::new(10, 4096, None);
        s.push(b"a\nb\n", &mut |b| out.push(b));
        let big = vec![b'x'; 100_000];
        for chunk in big.chunks(7000) {
            s.push(chunk, &mut |b| out.push(b));
        }
        s.push(b"\nc\n", &mut |b| out.push(b));
        s.finish(&mut |b| out.push(b));
        assert_eq!(out.len(), 3);
        assert_eq!(lines(&out[0]), [&b"a"[..], b"b"]);
        assert_eq!(out[1].oversized, Some(100_000));
        assert_eq!((out[1].first_line, out[1].len()), (3, 1));
        assert_eq!(out[1].data.len(), OVERSIZED_PREFIX);
        assert_eq!((out[2].first_line, lines(&out[2])), (4, vec![&b"c"[..]]));
        // A line of exactly the limit is an ordinary line.
        let mut out = Vec::new();
        let mut s = Splitter::new(10, 8, None);
        s.push(b"12345678\n123456789", &mut |b| out.push(b));
        s.finish(&mut |b| out.push(b));
        assert_eq!(lines(&out[0]), [&b"12345678"[..]]);
        assert_eq!(out[1].oversized, Some(9));
    }

    #[test]
    fn moving_to_the_next_input_finishes_the_previous_one() {
        let opts = ReadOptions {
            batch_size: 10,
            linger: std::time::Duration::from_millis(50),
            max_line_bytes: 1 << 16,
        };
        let mut b = Batcher::new(opts, vec![Some("a.log".into()), Some("b.log".into())]);
        let (errors, _keep) = tokio::sync::mpsc::unbounded_channel();
        let mut out = Vec::new();
        // Input 0 without its `End` (as the stop drain may see it), then input 1.
        b.take(
            Chunk::Data(0, b"one\ntwo".to_vec()),
            &mut |x| out.push(x),
            &errors,
        );
        b.take(
            Chunk::Data(1, b"three\n".to_vec()),
            &mut |x| out.push(x),
            &errors,
        );
        b.splitter.finish(&mut |x| out.push(x));
        assert_eq!(out.len(), 2);
        assert_eq!(lines(&out[0]), [&b"one"[..], b"two"]);
        assert_eq!(out[0].source.as_deref(), Some("a.log"));
        assert_eq!(
            (out[1].first_line, lines(&out[1])),
            (1, vec![&b"three"[..]])
        );
        assert_eq!(out[1].source.as_deref(), Some("b.log"));
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes() {
        let b = split(&[b"ok\nbad \xff\xfe here\n"], 10);
        assert_eq!(b[0].line(1), b"bad \xff\xfe here");
        assert_eq!(b[0].len(), 2);
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"one\ntwo\n").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let mut reader = Input::File(path).open().unwrap();
        let mut text = Vec::new();
        reader.read_to_end(&mut text).unwrap();
        assert_eq!(text, b"one\ntwo\n");
    }

    #[test]
    fn empty_input_has_no_batches() {
        assert!(split(&[b""], 4).is_empty());
    }
}
