//! `logenrich._native`, the Python package's native module (python/README.md): a run of
//! the CLI's pipeline (`logenrich_cli::frontend`) whose records come back either as JSON
//! Lines, batch by batch (`enrich()`), or as typed columns in Arrow's buffer layout
//! (`read_log()`, built by [`columns`] while the run goes on). The interpreter is released
//! (`Python::detach`) while the run is waited for and while columns are built.

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use logenrich_cli::frontend::{self, Input};
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

mod columns;

use columns::{Column, Columns, Data, Strings};

/// jemalloc for the module's own allocations (the interpreter keeps its allocator), as in
/// the command: with glibc's, `read_log` of 1M generated lines took 5.5 s instead of 4.6 s
/// (side by side, with a fuzzer on the other core).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// How long a wait for records lasts before Python's signals (Ctrl-C) are checked.
const WAIT: Duration = Duration::from_millis(100);

fn error(e: frontend::Error) -> PyErr {
    match e {
        frontend::Error::Usage(m) => PyValueError::new_err(m),
        frontend::Error::Runtime(m) => PyRuntimeError::new_err(m),
    }
}

/// A run over files and an optional pipe: `Run(flags, paths, fd=None)`, with `flags` as
/// the CLI takes them. Raises `ValueError` with the CLI's message for bad flags.
#[pyclass(module = "logenrich._native")]
struct Run {
    run: Option<frontend::Run>,
}

impl Run {
    fn live(&mut self) -> PyResult<&mut frontend::Run> {
        self.run
            .as_mut()
            .ok_or_else(|| PyValueError::new_err("the run is closed"))
    }
}

#[pymethods]
impl Run {
    #[new]
    #[pyo3(signature = (flags, paths, fd=None))]
    fn new(
        py: Python<'_>,
        flags: Vec<String>,
        paths: Vec<PathBuf>,
        fd: Option<i32>,
    ) -> PyResult<Self> {
        let mut inputs: Vec<Input> = paths.into_iter().map(Input::Path).collect();
        if let Some(fd) = fd {
            let file = File::open(format!("/dev/fd/{fd}"))
                .map_err(|e| PyOSError::new_err(format!("cannot open descriptor {fd}: {e}")))?;
            inputs.push(Input::Open(file));
        }
        let run = py
            .detach(|| frontend::Run::start(&flags, inputs))
            .map_err(error)?;
        Ok(Run { run: Some(run) })
    }

    /// The next batch's records (JSON Lines), `None` once all are out.
    fn next_records<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let run = self.live()?;
        loop {
            match py.detach(|| run.next(WAIT)) {
                Ok(Some(records)) => return Ok(Some(PyBytes::new(py, &records))),
                Ok(None) => return Ok(None),
                Err(()) => py.check_signals()?,
            }
        }
    }

    /// Every remaining record as columns: a list of `(name, kind, rows, validity, nulls,
    /// *buffers)` (python/logenrich/_frame.py reads them). `progress(n)` is called with
    /// the records of each batch. Batches are turned into columns on worker threads
    /// (one per core) while the run goes on, then joined in order.
    #[pyo3(signature = (progress=None))]
    fn columns<'py>(
        &mut self,
        py: Python<'py>,
        progress: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let run = self.live()?;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        let jobs: Jobs = std::sync::Mutex::new(None);
        let (done_tx, mut done) = mpsc::channel::<(usize, Columns)>();
        let all = std::thread::scope(|scope| -> PyResult<Columns> {
            let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(workers * 2);
            *jobs.lock().unwrap_or_else(|e| e.into_inner()) = Some(job_rx);
            for _ in 0..workers {
                let (jobs, done_tx) = (&jobs, done_tx.clone());
                scope.spawn(move || build(jobs, &done_tx));
            }
            drop(done_tx);
            let mut order = InOrder::default();
            let mut sent = 0;
            loop {
                let got = py.detach(|| match run.next(WAIT) {
                    Ok(Some(records)) => {
                        let n = memchr::memchr_iter(b'\n', &records).count();
                        let _ = job_tx.send((sent, records));
                        order.take(&mut done);
                        Ok(Some(n))
                    }
                    Ok(None) => Ok(None),
                    Err(()) => Err(()),
                });
                match got {
                    Ok(Some(n)) => {
                        sent += 1;
                        if let Some(progress) = &progress {
                            progress.call1((n,))?;
                        }
                    }
                    Ok(None) => break,
                    Err(()) => py.check_signals()?,
                }
            }
            drop(job_tx);
            Ok(py.detach(|| order.finish(&mut done)))
        })?;
        let columns = py.detach(|| all.finish());
        columns.into_iter().map(|c| export(py, c)).collect()
    }

    /// Stops reading (what was read is still enriched).
    fn stop(&mut self) -> PyResult<()> {
        self.live()?.stop();
        Ok(())
    }

    /// Waits for the end of the run (records not taken are dropped); its summary.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let run = self
            .run
            .take()
            .ok_or_else(|| PyValueError::new_err("the run is closed"))?;
        let s = py.detach(|| run.finish()).map_err(error)?;
        let d = PyDict::new(py);
        d.set_item("lines", s.lines)?;
        d.set_item("parsed", s.parsed)?;
        d.set_item("errors", s.errors)?;
        d.set_item("invalid_utf8", s.invalid_utf8)?;
        d.set_item("unique_ips", s.unique_ips)?;
        d.set_item("unique_ips_exact", s.unique_ips_exact)?;
        d.set_item("failed_batches", s.failed_batches)?;
        d.set_item("first_failure", s.first_failure)?;
        d.set_item("input_errors", s.input_errors)?;
        d.set_item("seconds", s.seconds)?;
        Ok(d)
    }

    /// Stops the run and waits for it (without the interpreter); nothing more comes.
    fn close(&mut self, py: Python<'_>) {
        if let Some(run) = self.run.take() {
            py.detach(move || drop(run));
        }
    }
}

/// The batches waiting for a worker: their index and records, one worker at a time
/// waiting on them.
type Jobs = std::sync::Mutex<Option<mpsc::Receiver<(usize, Vec<u8>)>>>;

/// A worker: the columns of each batch it takes from `jobs`, sent on `done`.
fn build(jobs: &Jobs, done: &mpsc::Sender<(usize, Columns)>) {
    loop {
        let job = {
            let jobs = jobs.lock().unwrap_or_else(|e| e.into_inner());
            match jobs.as_ref().map(mpsc::Receiver::recv) {
                Some(Ok(job)) => job,
                _ => return,
            }
        };
        let (index, records) = job;
        let mut columns = Columns::default();
        columns.add(&records);
        if done.send((index, columns)).is_err() {
            return;
        }
    }
}

/// Batches' columns joined in batch order as the workers finish them.
#[derive(Default)]
struct InOrder {
    all: Columns,
    next: usize,
    waiting: std::collections::BTreeMap<usize, Columns>,
}

impl InOrder {
    fn put(&mut self, index: usize, columns: Columns) {
        self.waiting.insert(index, columns);
        while let Some(columns) = self.waiting.remove(&self.next) {
            self.all.append(columns);
            self.next += 1;
        }
    }

    /// Joins what the workers have finished so far.
    fn take(&mut self, done: &mut mpsc::Receiver<(usize, Columns)>) {
        while let Ok((index, columns)) = done.try_recv() {
            self.put(index, columns);
        }
    }

    /// Waits for the workers and joins the rest.
    fn finish(mut self, done: &mut mpsc::Receiver<(usize, Columns)>) -> Columns {
        while let Ok((index, columns)) = done.recv() {
            self.put(index, columns);
        }
        self.all
    }
}

/// A column as `(name, kind, rows, validity, nulls, *buffers)`.
fn export<'py>(py: Python<'py>, c: Column) -> PyResult<Bound<'py, PyTuple>> {
    let bytes = |b: &[u8]| PyBytes::new(py, b).into_any();
    let rows = c.data.len();
    let head = |kind: &str, valid: &[bool]| -> PyResult<Vec<Bound<'py, PyAny>>> {
        let (bitmap, nulls) = columns::bitmap(valid);
        Ok(vec![
            c.name.as_str().into_pyobject(py)?.into_any(),
            kind.into_pyobject(py)?.into_any(),
            rows.into_pyobject(py)?.into_any(),
            bitmap.as_deref().map(bytes).into_pyobject(py)?.into_any(),
            nulls.into_pyobject(py)?.into_any(),
        ])
    };
    let mut out = match &c.data {
        Data::Null(_) => {
            let mut h = head("null", &[])?;
            h[4] = rows.into_pyobject(py)?.into_any();
            h
        }
        Data::Str(s) => {
            let mut h = head("str", &s.valid)?;
            h.extend(strings(py, s));
            h
        }
        Data::Int(x, v) | Data::Time(x, v) => {
            let kind = if matches!(c.data, Data::Time(..)) {
                "time"
            } else {
                "int"
            };
            let mut h = head(kind, v)?;
            h.push(bytes(&le(x.iter().map(|i| i.to_le_bytes()))));
            h
        }
        Data::Float(x, v) => {
            let mut h = head("float", v)?;
            h.push(bytes(&le(x.iter().map(|f| f.to_le_bytes()))));
            h
        }
        Data::Bool(x, v) => {
            let mut h = head("bool", v)?;
            h.push(bytes(&columns::bits(x)));
            h
        }
        Data::List {
            offsets,
            items,
            valid,
        } => {
            let mut h = head("list", valid)?;
            h.push(bytes(&le(offsets.iter().map(|i| i.to_le_bytes()))));
            let (bitmap, nulls) = columns::bitmap(&items.valid);
            h.push(bitmap.as_deref().map(bytes).into_pyobject(py)?.into_any());
            h.push(nulls.into_pyobject(py)?.into_any());
            h.extend(strings(py, items));
            h
        }
    };
    out.shrink_to_fit();
    PyTuple::new(py, out)
}

/// A string column's offsets and bytes.
fn strings<'py>(py: Python<'py>, s: &Strings) -> [Bound<'py, PyAny>; 2] {
    [
        PyBytes::new(py, &le(s.offsets.iter().map(|i| i.to_le_bytes()))).into_any(),
        PyBytes::new(py, &s.bytes).into_any(),
    ]
}

/// Fixed-size values as little-endian bytes.
fn le<const N: usize>(values: impl Iterator<Item = [u8; N]>) -> Vec<u8> {
    values.flatten().collect()
}

/// Writes the HTML report (and the map as a PNG with `png`) of enriched JSON Lines
/// files, as `logenrich report` does.
#[pyfunction]
#[pyo3(signature = (inputs, output, png=None))]
fn report(
    py: Python<'_>,
    inputs: Vec<PathBuf>,
    output: PathBuf,
    png: Option<PathBuf>,
) -> PyResult<()> {
    py.detach(|| frontend::report(&inputs, &output, png.as_deref()))
        .map_err(error)
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Run>()?;
    m.add_function(wrap_pyfunction!(report, m)?)?;
    Ok(())
}
