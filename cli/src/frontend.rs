//! A file run for front ends other than the command line (the Python package): the
//! CLI's own flags, checks, reader (gzip by magic), enrichment and runner, with the
//! records handed to the caller batch by batch instead of written to a file, and the
//! report command.
//!
//! [`Run::start`] checks the flags and sets the enrichment up before it returns (so a bad
//! argument is an error there, with the CLI's message); the run itself goes on in a
//! thread of its own, its records waiting in a short queue for [`Run::next`].

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Parser as _;
use tokio::sync::mpsc;

use crate::command::{self, Args, Failure};
use crate::input::{ReadOptions, Reader};
use crate::pipeline::{Sink, SinkError};
use crate::runner::{self, RunOptions};

/// Batches of records that may wait for the caller before the run waits too.
const QUEUED: usize = 8;

/// What a run reads.
#[derive(Debug)]
pub enum Input {
    /// A file (plain or gzip).
    Path(PathBuf),
    /// An open file or the read end of a pipe the caller writes lines to (read through
    /// its `/dev/fd` name, so the caller may close its own descriptor once
    /// [`Run::start`] returned).
    Open(File),
}

/// Why a run could not start or ended badly.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Bad flags or configuration (the CLI would exit 2), with the CLI's message.
    #[error("{0}")]
    Usage(String),
    /// Anything else (the CLI would exit 1).
    #[error("{0}")]
    Runtime(String),
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Usage(e) => Error::Usage(format!("{e:#}")),
            Failure::Runtime(e) => Error::Runtime(format!("{e:#}")),
        }
    }
}

/// What a finished run counted (the CLI's summary line).
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Lines read (= records).
    pub lines: u64,
    /// Lines that parsed.
    pub parsed: u64,
    /// Lines that did not.
    pub errors: u64,
    /// Lines that were not valid UTF-8.
    pub invalid_utf8: u64,
    /// Distinct clients (estimated past 65,536).
    pub unique_ips: u64,
    /// Whether `unique_ips` is exact.
    pub unique_ips_exact: bool,
    /// Batches the component failed (their lines are error records), and the first reason.
    pub failed_batches: u64,
    /// The first failed batch's reason.
    pub first_failure: Option<String>,
    /// Inputs that could not be read, with why.
    pub input_errors: Vec<String>,
    /// Wall time.
    pub seconds: f64,
}

/// A run in progress.
pub struct Run {
    records: mpsc::Receiver<Vec<u8>>,
    runtime: tokio::runtime::Handle,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Summary, Error>>>,
    /// The inputs opened by the caller, held open until the run ends.
    _open: Vec<File>,
}

/// Hands each batch's records to the [`Run`]'s queue; a caller that went away closes it.
struct QueueSink(mpsc::Sender<Vec<u8>>);

#[async_trait::async_trait]
impl Sink for QueueSink {
    async fn write(&mut self, records: &[u8]) -> Result<(), SinkError> {
        self.0
            .send(records.to_vec())
            .await
            .map_err(|_| SinkError::Closed)
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

impl Run {
    /// Starts enriching `inputs` in order with `flags`, the enrichment flags of a file run
    /// as the CLI takes them (`--no-dns`, `--dnsbl ZONE`, ...). Returns once the component
    /// is ready; [`Error::Usage`] for flags the CLI would refuse.
    pub fn start(flags: &[String], inputs: Vec<Input>) -> Result<Run, Error> {
        let mut argv: Vec<String> = vec!["logenrich".into()];
        argv.extend(flags.iter().cloned());
        argv.extend(["--quiet".into(), "--no-progress".into(), "--".into()]);
        if inputs.is_empty() {
            return Err(Error::Usage("no input to read".into()));
        }
        let mut open = Vec::new();
        for input in inputs {
            match input {
                Input::Path(p) => argv.push(p.to_string_lossy().into_owned()),
                Input::Open(file) => {
                    use std::os::fd::AsRawFd as _;
                    argv.push(format!("/dev/fd/{}", file.as_raw_fd()));
                    open.push(file);
                }
            }
        }
        let args = Args::try_parse_from(&argv).map_err(|e| {
            let text = e.to_string();
            Error::Usage(text.lines().next().unwrap_or("bad arguments").to_owned())
        })?;
        let plan = command::plan(&args.enrich).map_err(|e| Error::Usage(format!("{e:#}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Runtime(format!("cannot start the async runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (records_tx, records) = mpsc::channel(QUEUED);
        let (ready_tx, ready) = std::sync::mpsc::sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let run_stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("logenrich-run".into())
            .spawn(move || runtime.block_on(run(args, plan, records_tx, ready_tx, run_stop)))
            .map_err(|e| Error::Runtime(format!("cannot start the run: {e}")))?;
        let mut run = Run {
            records,
            runtime: handle,
            stop,
            thread: Some(thread),
            _open: open,
        };
        match ready.recv() {
            Ok(Ok(())) => Ok(run),
            Ok(Err(e)) => {
                let _ = run.thread.take().map(JoinHandle::join);
                Err(e)
            }
            Err(_) => Err(run
                .finish()
                .err()
                .unwrap_or_else(|| Error::Runtime("the run ended before it started".into()))),
        }
    }

    /// The next batch's records (JSON Lines, in input order), waiting at most `wait`:
    /// `Ok(None)` when the run is over, `Err(())` when nothing came in time.
    #[expect(clippy::result_unit_err, reason = "a timeout has nothing to say")]
    pub fn next(&mut self, wait: Duration) -> Result<Option<Vec<u8>>, ()> {
        let records = &mut self.records;
        self.runtime
            .block_on(async { tokio::time::timeout(wait, records.recv()).await })
            .map_err(|_| ())
    }

    /// Ends reading (what was read is still enriched and queued).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for the run to end (records not taken are dropped) and returns its summary.
    pub fn finish(mut self) -> Result<Summary, Error> {
        self.records.close();
        while self.records.try_recv().is_ok() {}
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Runtime("the run panicked".into())),
            None => Err(Error::Runtime("the run is over".into())),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.stop();
        self.records.close();
        if let Some(thread) = self.thread.take() {
            while self.records.try_recv().is_ok() {}
            let _ = thread.join();
        }
    }
}

/// The run's thread: sets the enrichment up (its outcome sent on `ready`), then runs.
async fn run(
    args: Args,
    plan: command::Plan,
    records: mpsc::Sender<Vec<u8>>,
    ready: std::sync::mpsc::SyncSender<Result<(), Error>>,
    stop: Arc<AtomicBool>,
) -> Result<Summary, Error> {
    let setup = async {
        let (sources, _) = command::sources(&args).map_err(command::usage)?;
        let en = command::enrichment(&args.enrich, &plan).await?;
        Ok::<_, Failure>((sources, en))
    };
    let (sources, en) = match setup.await {
        Ok(ok) => {
            let _ = ready.send(Ok(()));
            ok
        }
        Err(e) => {
            let e = Error::from(e);
            let _ = ready.send(Err(e.clone()));
            return Err(e);
        }
    };
    let source = Box::new(Reader {
        sources,
        checkpoint: None,
        opts: ReadOptions {
            batch_size: plan.batch_size,
            batch_bytes: plan.batch_bytes,
            linger: plan.linger,
            max_line_bytes: plan.max_line_bytes,
        },
    });
    let opts = RunOptions {
        instances: plan.instances,
        max_failed_batches: plan.max_failed_batches,
        progress: false,
        checkpoint: None,
    };
    let mut sink = QueueSink(records);
    let summary = runner::run(en.enricher.clone(), source, &mut sink, opts, stop)
        .await
        .map_err(|e| Error::Runtime(format!("{e:#}")))?;
    drop(sink);
    en.flush_stores().await;
    Ok(Summary {
        lines: summary.lines,
        parsed: summary.parsed,
        errors: summary.errors,
        invalid_utf8: summary.invalid_utf8,
        unique_ips: summary.unique_ips.n,
        unique_ips_exact: summary.unique_ips.exact,
        failed_batches: summary.failed_batches,
        first_failure: summary.first_failure,
        input_errors: summary.input_errors,
        seconds: summary.elapsed.as_secs_f64(),
    })
}

/// Writes the HTML report (and with `png` the map as a PNG) of enriched JSON Lines files,
/// as `logenrich report FILES -o OUTPUT [--png PNG]` does.
pub fn report(
    inputs: &[PathBuf],
    output: &std::path::Path,
    png: Option<&std::path::Path>,
) -> Result<(), Error> {
    let mut argv: Vec<std::ffi::OsString> =
        vec!["logenrich".into(), "report".into(), "--quiet".into()];
    argv.extend(["-o".into(), output.as_os_str().to_owned()]);
    if let Some(png) = png {
        argv.extend(["--png".into(), png.as_os_str().to_owned()]);
    }
    argv.push("--".into());
    argv.extend(inputs.iter().map(|p| p.as_os_str().to_owned()));
    let args = Args::try_parse_from(argv).map_err(|e| Error::Usage(e.to_string()))?;
    match command::main(args) {
        Ok(code) if code == std::process::ExitCode::SUCCESS => Ok(()),
        Ok(_) => Err(Error::Runtime(
            "the report could not read all of its inputs".into(),
        )),
        Err(f) => Err(f.into()),
    }
}
