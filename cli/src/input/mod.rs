//! Input: files (plain or gzip, told apart by magic bytes), stdin, or files followed as
//! they grow ([`follow`]), read as batches of lines with bounded memory. Lines go to the
//! component as bytes: it decodes invalid UTF-8 lossily and flags it, never drops it.
//!
//! Two threads read: a raw reader that may block (a quiet pipe, a file that does not
//! grow) and a batcher that cuts batches ([`Splitter`]), a partial one after `linger`
//! without input or at once when every followed file is at its end. Each batch goes out
//! with a [`Mark`] saying where it ends in its input, for the checkpoint, on one channel:
//! [`Reader`] is the CLI's [`Source`].

pub mod follow;
mod splitter;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use flate2::read::MultiGzDecoder;

pub use crate::checkpoint::Position;
pub use splitter::Splitter;

use logenrich::Batch;

use crate::checkpoint::{Checkpoint, Identity, InputKey};
use crate::pipeline::{Mark, Marked, Source, SourceOutputs};

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

    /// Opens the input, decompressing gzip when the first bytes say so. Reads from the
    /// start without seeking, so a named pipe or `/dev/fd/N` works too.
    pub fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        match self {
            Input::Stdin => Ok(decompressing(Box::new(io::stdin()))?),
            Input::File(p) => Ok(decompressing(Box::new(File::open(p)?))?),
        }
    }
}

const READ_BUFFER: usize = 256 * 1024;

/// Wraps `raw` in a gzip decoder when its first bytes are gzip's magic.
fn decompressing(raw: Box<dyn Read + Send>) -> io::Result<Box<dyn BufRead + Send>> {
    let mut buffered = BufReader::with_capacity(READ_BUFFER, raw);
    if buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            READ_BUFFER,
            MultiGzDecoder::new(buffered),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

/// A reader of `file` from `offset` on (bytes after decompression for gzip: those before
/// it are decompressed and dropped; a plain file is seeked).
fn open_at(mut file: File, offset: u64) -> io::Result<Box<dyn BufRead + Send>> {
    if !file.metadata()?.is_file() {
        // A pipe or a device (`<(zcat log.gz)`, `/dev/fd/N`) cannot seek: it is read as it
        // comes, `offset` bytes skipped.
        let mut reader = decompressing(Box::new(file))?;
        io::copy(&mut reader.by_ref().take(offset), &mut io::sink())?;
        return Ok(reader);
    }
    let mut magic = [0u8; 2];
    let n = file.read(&mut magic)?;
    file.rewind()?;
    if n == 2 && magic == [0x1f, 0x8b] {
        let mut reader = decompressing(Box::new(file))?;
        io::copy(&mut reader.by_ref().take(offset), &mut io::sink())?;
        Ok(reader)
    } else {
        file.seek(io::SeekFrom::Start(offset))?;
        Ok(Box::new(BufReader::with_capacity(READ_BUFFER, file)))
    }
}

/// Chunks the raw reader may read ahead of the batcher.
const CHUNKS_QUEUED: usize = 4;

/// What the raw reader sends the batcher.
#[derive(Debug)]
enum Chunk {
    /// Input `index` starts: its key, its name in records, where reading starts.
    Open {
        index: usize,
        key: Arc<InputKey>,
        source: Option<String>,
        start: Position,
    },
    /// Bytes of input `index`.
    Data(usize, Vec<u8>),
    /// Input `index` ended; with the error that ended it, if any. `forget`: it will not be
    /// read again (rotated away, truncated), so the checkpoint may drop it.
    End {
        index: usize,
        error: Option<String>,
        forget: bool,
    },
    /// Every input is at its end for now (followed files): cut partial batches at once.
    Idle,
}

/// How the reader threads cut batches.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Lines per full batch.
    pub batch_size: usize,
    /// Bytes of line data per full batch (the bound on what one instance copies in and
    /// writes out).
    pub batch_bytes: usize,
    /// A partial batch is sent after this long without new input.
    pub linger: Duration,
    /// A longer line is not processed: it gets an error record (see [`Splitter`]).
    pub max_line_bytes: usize,
}

/// What to read.
#[derive(Debug, Clone)]
pub enum Sources {
    /// These inputs in order, each to its end.
    Inputs(Vec<Input>),
    /// Files followed by name as they grow, until stopped.
    Follow(follow::FollowOptions),
}

/// The CLI's source: files (plain or gzip), stdin or followed files, read on two threads
/// (see the module doc). With a checkpoint, files resume where it says (and the unread
/// rest of a file rotated away since is read first). The lines read before an input
/// error still get their batches.
#[derive(Debug)]
pub struct Reader {
    /// What to read.
    pub sources: Sources,
    /// Where to resume.
    pub checkpoint: Option<Arc<Checkpoint>>,
    /// How to cut batches.
    pub opts: ReadOptions,
}

impl Source for Reader {
    /// Returns the batcher's handle (the raw reader is left to end with its input).
    fn spawn(
        self: Box<Self>,
        outputs: SourceOutputs,
        stop: Arc<AtomicBool>,
    ) -> io::Result<std::thread::JoinHandle<()>> {
        let Reader {
            sources,
            checkpoint,
            opts,
        } = *self;
        let (chunk_tx, chunk_rx) = sync_channel::<Chunk>(CHUNKS_QUEUED);
        let reader_stop = stop.clone();
        std::thread::Builder::new()
            .name("logenrich-read".into())
            .spawn(move || match sources {
                Sources::Inputs(inputs) => {
                    read_inputs(inputs, checkpoint.as_deref(), &chunk_tx);
                }
                Sources::Follow(options) => {
                    follow::follow(&options, checkpoint.as_deref(), &chunk_tx, &reader_stop);
                }
            })?;
        std::thread::Builder::new()
            .name("logenrich-batch".into())
            .spawn(move || batch_loop(opts, &chunk_rx, outputs, &stop))
    }
}

/// Sends the bytes of `reader` as input `index` until its end; the error that ended it.
fn pump(index: usize, reader: &mut dyn Read, tx: &SyncSender<Chunk>) -> Result<Option<String>, ()> {
    loop {
        let mut buf = vec![0u8; READ_BUFFER];
        match reader.read(&mut buf) {
            Ok(0) => return Ok(None),
            Ok(n) => {
                buf.truncate(n);
                tx.send(Chunk::Data(index, buf)).map_err(drop)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Ok(Some(e.to_string())),
        }
    }
}

/// One file to read to its end: where from, and whether the checkpoint may forget it
/// afterwards.
struct Part {
    key: InputKey,
    file: File,
    start: Position,
    forget: bool,
}

/// The files to read for `path`: what is left of files rotated away from that name since
/// the checkpoint, then the file there now, from its checkpoint position if it has one
/// ([`Checkpoint::resume`]).
fn plan_file(path: &Path, checkpoint: Option<&Checkpoint>) -> io::Result<Vec<Part>> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let resume = checkpoint
        .map(|c| c.resume(path, &file, &meta))
        .unwrap_or_default();
    let mut parts: Vec<Part> = resume
        .rotated
        .into_iter()
        .map(|r| Part {
            key: InputKey::file(r.path, &r.file, r.identity),
            file: r.file,
            start: r.start,
            forget: true,
        })
        .collect();
    parts.push(Part {
        key: InputKey::file(path.to_path_buf(), &file, Identity::of(&meta)),
        file,
        start: resume.position.unwrap_or_default(),
        forget: false,
    });
    Ok(parts)
}

/// The raw reader of [`Sources::Inputs`]: each input in order, to its end.
fn read_inputs(inputs: Vec<Input>, checkpoint: Option<&Checkpoint>, tx: &SyncSender<Chunk>) {
    let several = inputs.len() > 1;
    let mut index = 0;
    for input in inputs {
        let parts = match &input {
            Input::Stdin => None,
            Input::File(path) => match plan_file(path, checkpoint) {
                Ok(parts) => Some(parts),
                Err(e) => {
                    let why = format!("cannot open input {}: {e}", input.name());
                    let end = Chunk::End {
                        index,
                        error: Some(why),
                        forget: false,
                    };
                    if tx.send(end).is_err() {
                        return;
                    }
                    index += 1;
                    continue;
                }
            },
        };
        let Some(parts) = parts else {
            let key = Arc::new(InputKey {
                path: "-".into(),
                identity: None,
                fingerprint: None,
            });
            let source = several.then(|| "-".to_owned());
            let result = input.open().map_err(|e| e.to_string());
            if send_input(index, key, source, Position::default(), result, false, tx).is_err() {
                return;
            }
            index += 1;
            continue;
        };
        let named = several || parts.len() > 1;
        for part in parts {
            let source = named.then(|| part.key.path.display().to_string());
            let key = Arc::new(part.key);
            let result = open_at(part.file, part.start.offset).map_err(|e| e.to_string());
            if send_input(index, key, source, part.start, result, part.forget, tx).is_err() {
                return;
            }
            index += 1;
        }
    }
}

/// Sends one input: its opening, its bytes, its end.
fn send_input(
    index: usize,
    key: Arc<InputKey>,
    source: Option<String>,
    start: Position,
    reader: Result<Box<dyn BufRead + Send>, String>,
    forget: bool,
    tx: &SyncSender<Chunk>,
) -> Result<(), ()> {
    let name = key.path.display().to_string();
    tx.send(Chunk::Open {
        index,
        key,
        source,
        start,
    })
    .map_err(drop)?;
    let error = match reader {
        Ok(mut reader) => pump(index, &mut reader, tx)?,
        Err(e) => Some(e),
    };
    let error = error.map(|e| format!("cannot read input {name}: {e}"));
    tx.send(Chunk::End {
        index,
        error,
        forget,
    })
    .map_err(drop)
}

/// The batcher thread: cuts the chunks into batches until the inputs end, the run is
/// stopped, or the batch receiver is gone.
fn batch_loop(
    opts: ReadOptions,
    chunks: &Receiver<Chunk>,
    outputs: SourceOutputs,
    stop: &AtomicBool,
) {
    let mut batcher = Batcher::new(opts, outputs);
    while !batcher.closed {
        if stop.load(Ordering::Relaxed) {
            // Take what was already read (not what the reader goes on reading), then end.
            for chunk in chunks.try_iter().take(CHUNKS_QUEUED + 1) {
                batcher.take(chunk);
            }
            batcher.stop();
            return;
        }
        // Wake at `linger` only when lines wait for a cut; otherwise now and then, to see
        // a stop request (never a busy loop, even with a linger of 0).
        let wait = if batcher.has_pending() {
            opts.linger
        } else {
            Duration::from_millis(100)
        };
        match chunks.recv_timeout(wait) {
            Ok(chunk) => batcher.take(chunk),
            Err(RecvTimeoutError::Timeout) => batcher.cut_all(),
            Err(RecvTimeoutError::Disconnected) => {
                batcher.stop();
                return;
            }
        }
    }
}

/// One open input of the batcher.
struct Open {
    key: Arc<InputKey>,
    splitter: Splitter,
}

/// The batcher thread's state: a splitter per open input.
struct Batcher {
    opts: ReadOptions,
    outputs: SourceOutputs,
    open: HashMap<usize, Open>,
    /// The batch receiver is gone (the run is over, e.g. the output was closed).
    closed: bool,
}

impl Batcher {
    fn new(opts: ReadOptions, outputs: SourceOutputs) -> Self {
        Self {
            opts,
            outputs,
            open: HashMap::new(),
            closed: false,
        }
    }

    fn has_pending(&self) -> bool {
        self.open.values().any(|o| o.splitter.has_pending())
    }

    /// Sends one batch with its mark; notes when the receiver is gone.
    fn send(outputs: &SourceOutputs, closed: &mut bool, mark: Mark, batch: Batch) {
        if outputs
            .batches
            .blocking_send(Marked { mark, batch })
            .is_err()
        {
            *closed = true;
        }
    }

    /// Where the batches of `key` go: each with its position.
    fn sender<'a>(
        outputs: &'a SourceOutputs,
        key: &'a Arc<InputKey>,
        closed: &'a mut bool,
    ) -> impl FnMut(Batch, Position) + 'a {
        move |batch, position| {
            let mark = Mark::Batch(Arc::clone(key), position);
            Self::send(outputs, closed, mark, batch);
        }
    }

    /// Takes one chunk from the raw reader.
    fn take(&mut self, chunk: Chunk) {
        match chunk {
            Chunk::Open {
                index,
                key,
                source,
                start,
            } => {
                let o = &self.opts;
                let splitter = Splitter::resuming(
                    o.batch_size,
                    o.batch_bytes,
                    o.max_line_bytes,
                    source,
                    start,
                );
                if let Some(old) = self.open.insert(index, Open { key, splitter }) {
                    self.finish(old, false);
                }
            }
            Chunk::Data(index, bytes) => {
                if let Some(open) = self.open.get_mut(&index) {
                    let mut send = Self::sender(&self.outputs, &open.key, &mut self.closed);
                    open.splitter.push(&bytes, &mut send);
                }
            }
            Chunk::End {
                index,
                error,
                forget,
            } => {
                if let Some(open) = self.open.remove(&index) {
                    self.finish(open, forget);
                }
                if let Some(e) = error {
                    let _ = self.outputs.errors.send(e);
                }
            }
            Chunk::Idle => self.cut_all(),
        }
    }

    /// An input ended: its last line (even without `\n`) and partial batch go out.
    fn finish(&mut self, mut open: Open, forget: bool) {
        {
            let mut send = Self::sender(&self.outputs, &open.key, &mut self.closed);
            open.splitter.finish(&mut send);
        }
        let ended = Mark::Ended {
            key: open.key,
            forget,
        };
        Self::send(&self.outputs, &mut self.closed, ended, Batch::default());
    }

    /// Sends every partial batch.
    fn cut_all(&mut self) {
        for open in self.open.values_mut() {
            let mut send = Self::sender(&self.outputs, &open.key, &mut self.closed);
            open.splitter.cut(&mut send);
        }
    }

    /// The run stops: stdin's unfinished last line is a line (nothing else will come);
    /// a file's stays unread, so a checkpoint resumes at its start.
    fn stop(&mut self) {
        for (_, mut open) in std::mem::take(&mut self.open) {
            let mut send = Self::sender(&self.outputs, &open.key, &mut self.closed);
            if open.key.identity.is_none() {
                open.splitter.finish(&mut send);
            } else {
                open.splitter.cut(&mut send);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn outputs() -> (SourceOutputs, tokio::sync::mpsc::Receiver<Marked>) {
        let (batches, rx) = tokio::sync::mpsc::channel(64);
        let (errors, _) = tokio::sync::mpsc::unbounded_channel();
        (SourceOutputs { batches, errors }, rx)
    }

    /// What was sent: the batches with lines, and every mark, in order.
    fn received(rx: &mut tokio::sync::mpsc::Receiver<Marked>) -> (Vec<Batch>, Vec<Mark>) {
        let (mut batches, mut marks) = (Vec::new(), Vec::new());
        while let Ok(marked) = rx.try_recv() {
            if !marked.batch.is_empty() {
                batches.push(marked.batch);
            }
            marks.push(marked.mark);
        }
        (batches, marks)
    }

    fn small_batches() -> ReadOptions {
        ReadOptions {
            batch_size: 10,
            batch_bytes: 1 << 20,
            linger: Duration::from_millis(50),
            max_line_bytes: 1 << 16,
        }
    }

    fn open(index: usize, name: &str) -> Chunk {
        Chunk::Open {
            index,
            key: Arc::new(InputKey {
                path: name.into(),
                identity: None,
                fingerprint: None,
            }),
            source: Some(name.into()),
            start: Position::default(),
        }
    }

    #[test]
    fn inputs_keep_their_own_lines_and_marks() {
        let opts = small_batches();
        let (out, mut rx) = outputs();
        let mut b = Batcher::new(opts, out);
        // Two inputs interleaved (as followed files are); the first without its `End`
        // when a new input takes its index (as a stop drain may see it).
        b.take(open(0, "a.log"));
        b.take(open(1, "b.log"));
        b.take(Chunk::Data(0, b"one\ntw".to_vec()));
        b.take(Chunk::Data(1, b"three\n".to_vec()));
        b.take(Chunk::Data(0, b"o\n".to_vec()));
        b.take(Chunk::Idle);
        b.take(open(0, "c.log"));
        let (got, marks) = received(&mut rx);
        let mut got: Vec<_> = got
            .iter()
            .map(|b| {
                let lines: Vec<&[u8]> = (0..b.len()).map(|i| b.line(i)).collect();
                (b.source.clone().unwrap(), b.first_line, lines.concat())
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("a.log".to_owned(), 1, b"onetwo".to_vec()),
                ("b.log".to_owned(), 1, b"three".to_vec())
            ]
        );
        assert_eq!(marks.len(), 3, "{marks:?}");
        assert!(marks.iter().any(|m| matches!(
            m,
            Mark::Batch(k, Position { offset: 8, line: 2 }) if k.path == Path::new("a.log")
        )));
        assert!(
            matches!(&marks[2], Mark::Ended { key, forget: false } if key.path == Path::new("a.log"))
        );
    }

    #[test]
    fn a_stop_keeps_a_files_unfinished_line_unread() {
        let opts = small_batches();
        let (out, mut rx) = outputs();
        let mut b = Batcher::new(opts, out);
        let file = Chunk::Open {
            index: 0,
            key: Arc::new(InputKey {
                path: "f.log".into(),
                identity: Some(Identity { dev: 1, ino: 2 }),
                fingerprint: None,
            }),
            source: None,
            start: Position::default(),
        };
        b.take(file);
        b.take(open(1, "-"));
        b.take(Chunk::Data(0, b"done\nhal".to_vec()));
        b.take(Chunk::Data(1, b"x\ny".to_vec()));
        b.stop();
        let mut lines = Vec::new();
        for batch in received(&mut rx).0 {
            lines.extend((0..batch.len()).map(|i| batch.line(i).to_vec()));
        }
        lines.sort();
        assert_eq!(lines, [b"done".to_vec(), b"x".to_vec(), b"y".to_vec()]);
    }

    #[test]
    fn gzip_is_detected_by_magic_and_resumed_after_decompression() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"one\ntwo\n").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let mut text = Vec::new();
        Input::File(path.clone())
            .open()
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        assert_eq!(text, b"one\ntwo\n");
        let mut rest = Vec::new();
        open_at(File::open(&path).unwrap(), 4)
            .unwrap()
            .read_to_end(&mut rest)
            .unwrap();
        assert_eq!(rest, b"two\n");
    }

    /// A named pipe (or `<(zcat log.gz)`, `/dev/fd/N`) cannot seek: it is read from its
    /// start as it comes (it failed with "Illegal seek" when the open rewound the file).
    #[test]
    fn a_named_pipe_is_read_without_seeking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, b"one\ntwo\n").unwrap())
        };
        let mut text = Vec::new();
        Input::File(fifo.clone())
            .open()
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        writer.join().unwrap();
        assert_eq!(text, b"one\ntwo\n");
        // The reader's own way in (a file's parts, for the checkpoint).
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::write(fifo, b"one\ntwo\n").unwrap())
        };
        let mut parts = plan_file(&fifo, None).unwrap();
        assert_eq!(parts.len(), 1);
        let mut text = Vec::new();
        open_at(parts.remove(0).file, 0)
            .unwrap()
            .read_to_end(&mut text)
            .unwrap();
        writer.join().unwrap();
        assert_eq!(text, b"one\ntwo\n");
    }
}
