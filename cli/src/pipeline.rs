//! The pipeline's contracts. A [`Source`] yields batches of lines, each with the
//! checkpoint [`Mark`] that travels with it on the same channel; the runner enriches them
//! in order and hands their records to a [`Sink`], whose [`Sink::flush`] says that what
//! was written is durable, so the marks of those batches may be checkpointed.
//!
//! Files, stdin and `--follow` are one source ([`crate::input::Reader`]); stdout and `-o
//! FILE` one sink ([`WriteSink`]). Another transport (the NATS work queue) adds a source
//! whose marks acknowledge messages and a sink whose flush waits for publish
//! acknowledgements: see ARCHITECTURE.md.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread::JoinHandle;

use logenrich::Batch;

use crate::checkpoint::{InputKey, OutputMark, Position};

/// What the checkpoint learns from a batch, in the order the batches come.
#[derive(Debug, Clone)]
pub enum Mark {
    /// The batch ends at this position of this input.
    Batch(Arc<InputKey>, Position),
    /// This input has ended (its batches all came before; the batch carrying this mark
    /// is empty); with `forget`, the checkpoint no longer needs it.
    Ended {
        /// The input.
        key: Arc<InputKey>,
        /// It will not be read again.
        forget: bool,
    },
}

/// A batch and its mark: what a source sends.
#[derive(Debug)]
pub struct Marked {
    /// What the checkpoint records once the batch's records are durable.
    pub mark: Mark,
    /// The lines (none for an input's end).
    pub batch: Batch,
}

/// Where a source sends.
#[derive(Debug)]
pub struct SourceOutputs {
    /// Batches with their marks, in order.
    pub batches: tokio::sync::mpsc::Sender<Marked>,
    /// Inputs that could not be opened or read (the run goes on with the others).
    pub errors: tokio::sync::mpsc::UnboundedSender<String>,
}

/// A source of batches. It runs on threads of its own until its input ends, `stop` is
/// set (then it sends what it holds and ends) or the receiver is gone.
pub trait Source: Send {
    /// Starts reading; the handle ends when the source has sent its last batch.
    fn spawn(
        self: Box<Self>,
        outputs: SourceOutputs,
        stop: Arc<AtomicBool>,
    ) -> io::Result<JoinHandle<()>>;
}

/// Why a sink could not take records.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The reader went away (e.g. `| head`): the run ends quietly.
    #[error("the output was closed")]
    Closed,
    /// Anything else.
    #[error("cannot write output: {0}")]
    Failed(#[source] io::Error),
}

impl From<io::Error> for SinkError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            SinkError::Closed
        } else {
            SinkError::Failed(e)
        }
    }
}

/// Where records go. Async, so that a sink may wait on the network (a publish
/// acknowledgement) without holding a runtime thread.
#[async_trait::async_trait]
pub trait Sink: Send {
    /// Takes the JSON Lines of one batch (they may be buffered).
    async fn write(&mut self, records: &[u8]) -> Result<(), SinkError>;
    /// Pushes out what was written. When it returns `Ok`, every record written before
    /// is durable as far as this sink can tell (handed to the reader of a pipe, or to
    /// the file), so the marks of their batches may be checkpointed.
    async fn flush(&mut self) -> Result<(), SinkError>;
    /// For a file sink, the file and its length as of the last [`flush`](Sink::flush):
    /// saved with the checkpoint, so a restart truncates what was written after it.
    fn output_mark(&self) -> Option<OutputMark> {
        None
    }
}

/// A sink over a (buffered) writer: stdout or an output file. Writes block the calling
/// task, as writes to a pipe or a local file do.
pub struct WriteSink<W: Write + Send> {
    out: W,
    /// For a file: its path, its length counting what is buffered, and as last flushed.
    file: Option<(PathBuf, u64, u64)>,
}

impl<W: Write + Send> WriteSink<W> {
    /// A sink to a stream (stdout): no length to checkpoint.
    pub fn stream(out: W) -> Self {
        Self { out, file: None }
    }

    /// A sink to the file at `path`, `length` bytes long when opened (writes append).
    pub fn file(out: W, path: PathBuf, length: u64) -> Self {
        Self {
            out,
            file: Some((path, length, length)),
        }
    }
}

#[async_trait::async_trait]
impl<W: Write + Send> Sink for WriteSink<W> {
    async fn write(&mut self, records: &[u8]) -> Result<(), SinkError> {
        self.out.write_all(records)?;
        if let Some((_, length, _)) = &mut self.file {
            *length += records.len() as u64;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        if let Some((_, length, flushed)) = &mut self.file {
            *flushed = *length;
        }
        Ok(())
    }

    fn output_mark(&self) -> Option<OutputMark> {
        let (path, _, flushed) = self.file.as_ref()?;
        Some(OutputMark {
            path: path.clone(),
            bytes: *flushed,
        })
    }
}
