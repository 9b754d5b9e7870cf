//! The embedding API: build an [`Enricher`] with a component, one provider per capability
//! and settings, then feed it [`Batch`]es from any source and get JSON Lines back.
//!
//! ```no_run
//! # async fn demo() -> Result<(), logenrich::Error> {
//! use logenrich::{Batch, Enricher, SettingValue};
//! let enricher = Enricher::builder()
//!     .setting("reverse-dns", SettingValue::Flag(false))
//!     .build()
//!     .await?;
//! let batch = Batch::from_lines(1, ["192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] \"GET / HTTP/1.1\" 200 1"])
//!     .expect("one short line fits");
//! let done = enricher.process(batch).await?;
//! std::io::Write::write_all(&mut std::io::stdout(), &done.jsonl).ok();
//! # Ok(()) }
//! ```
//!
//! A trap in the component never loses lines: the batch comes back with one failure record
//! per line ([`Processed::failure`] says why) and the instance is replaced.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use logenrich_types::provider::{Cymru, Dnsbl, GeoLookup, ReverseDns};
use logenrich_types::{Setting, SettingValue};

use crate::component::{self, Imports, Instance, Limits, Runtime};
use crate::types::{Batch, BatchStats, CallCounts, Processed};

/// Why an [`Enricher`] could not be built or could not make an instance.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The component file could not be read.
    #[error("cannot read component {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The component could not be compiled or linked (not a component, wrong world,
    /// imports logenrich does not grant).
    #[error("{0}")]
    Load(String),
    /// The component rejected a setting.
    #[error("invalid setting {field}: {reason}")]
    Config {
        /// The setting at fault, as the component names it.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A new instance could not be created or configured (e.g. it trapped while
    /// starting).
    #[error("cannot start a component instance: {0}")]
    Instance(String),
}

/// Where the component comes from.
#[derive(Debug, Clone)]
enum Source {
    Embedded,
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// Builds an [`Enricher`].
pub struct EnricherBuilder {
    source: Source,
    imports: Imports,
    settings: Vec<Setting>,
    instances: usize,
    cache_dir: Option<PathBuf>,
    limits: Limits,
    /// The DNSBL zones given with [`EnricherBuilder::dnsbl`].
    zones: Option<Vec<String>>,
}

/// The default guest-time limit of one call into the component: a 2048-line batch takes
/// a few milliseconds; time in lookups does not count.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

/// The default linear-memory limit of one instance: a 2048-line batch of ordinary log
/// lines takes a few MiB with its JSON; 512 MiB leaves two orders of magnitude.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;

/// Linear memory one instance may need per byte of a batch's line data, worst case: a
/// byte can become up to 12 bytes of JSON (a control byte escaped to `\u0001` in `raw`
/// and in its field), the output buffer doubles as it grows, and the input is copied in.
/// A batch of `n` bytes always fits a memory limit of `MEMORY_PER_BATCH_BYTE * n`
/// (tested with hostile lines in `tests/volume.rs`); callers cut batches by bytes so.
pub const MEMORY_PER_BATCH_BYTE: usize = 32;

impl std::fmt::Debug for EnricherBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnricherBuilder")
            .field("source", &self.source)
            .field("settings", &self.settings)
            .field("instances", &self.instances)
            .finish_non_exhaustive()
    }
}

impl EnricherBuilder {
    /// Runs the component in this file instead of the embedded one.
    pub fn component_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.source = Source::File(path.into());
        self
    }

    /// Runs this component (bytes of a `.wasm` component) instead of the embedded one.
    pub fn component_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.source = Source::Bytes(bytes);
        self
    }

    /// Answers the `dns` import with `provider` (else every PTR lookup fails).
    pub fn reverse_dns(mut self, provider: Arc<dyn ReverseDns>) -> Self {
        self.imports.dns.provider = Some(provider);
        self
    }

    /// Answers the `dnsbl` import with `provider` for `zones` and no other zone, and
    /// gives the component those zones (its `dnsbl-zones` setting, set after every other
    /// setting so that it wins). A zone is compared without case or trailing dot.
    pub fn dnsbl<Z: Into<String>>(
        mut self,
        provider: Arc<dyn Dnsbl>,
        zones: impl IntoIterator<Item = Z>,
    ) -> Self {
        let zones: Vec<String> = zones.into_iter().map(Into::into).collect();
        self.imports.dnsbl = component::dnsbl::State::new(provider, &zones);
        self.zones = Some(zones);
        self
    }

    /// Answers the `geoip` import with `provider` (else no address is found).
    pub fn geoip(mut self, provider: Arc<dyn GeoLookup>) -> Self {
        self.imports.geoip.provider = Some(provider);
        self
    }

    /// Answers the `cymru` import with `provider` (else every query fails). The component
    /// calls it only with its `cymru` setting on.
    pub fn cymru(mut self, provider: Arc<dyn Cymru>) -> Self {
        self.imports.cymru.provider = Some(provider);
        self
    }

    /// Adds a setting; a later one of the same name wins.
    pub fn setting(mut self, name: impl Into<String>, value: SettingValue) -> Self {
        self.settings.push(Setting {
            name: name.into(),
            value,
        });
        self
    }

    /// Adds settings.
    pub fn settings(mut self, settings: impl IntoIterator<Item = Setting>) -> Self {
        self.settings.extend(settings);
        self
    }

    /// Keeps at most `n` idle instances for reuse (default [`default_instances`]): as
    /// many batches as are processed at once.
    pub fn instances(mut self, n: usize) -> Self {
        self.instances = n.max(1);
        self
    }

    /// Limits the guest time of each call into the component (default
    /// [`DEFAULT_DEADLINE`]); a call past it fails (its batch gets failure records).
    pub fn deadline(mut self, limit: Duration) -> Self {
        self.limits.deadline = Some(limit);
        self
    }

    /// No time limit on calls into the component: it is compiled without interruption
    /// checks, which makes it faster (bench/README.md) but lets a looping component hang
    /// its batch. For trusted components only.
    pub fn no_deadline(mut self) -> Self {
        self.limits.deadline = None;
        self
    }

    /// Limits each instance's linear memory, in bytes (default [`DEFAULT_MEMORY_LIMIT`]);
    /// growing past it traps.
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.limits.memory = bytes;
        self
    }

    /// Caches compiled code in `dir` (wasmtime's cache), so a second start does not
    /// recompile. With the `compile-cache` feature.
    #[cfg(feature = "compile-cache")]
    pub fn compile_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Compiles the component, links the providers, and checks the settings by
    /// configuring a first instance.
    pub async fn build(mut self) -> Result<Enricher, Error> {
        let (bytes, name): (std::borrow::Cow<'_, [u8]>, String) = match &self.source {
            Source::Embedded => (component::EMBEDDED.into(), "the embedded component".into()),
            Source::File(path) => (
                std::fs::read(path)
                    .map_err(|source| Error::Read {
                        path: path.clone(),
                        source,
                    })?
                    .into(),
                path.display().to_string(),
            ),
            Source::Bytes(b) => (b.as_slice().into(), "the given component".into()),
        };
        if let Some(zones) = self.zones.take() {
            self.settings
                .push(Setting::new("dnsbl-zones", SettingValue::Texts(zones)));
        }
        let runtime = Runtime::new(
            &bytes,
            &name,
            self.cache_dir.as_deref(),
            self.imports,
            self.limits,
        )
        .map_err(Error::Load)?;
        // The host writes some records itself (a line over the limit, a batch the
        // component failed): in the encoding the settings ask for, the last one winning.
        let ecs = self
            .settings
            .iter()
            .rev()
            .find(|s| s.name == "encoding")
            .is_some_and(|s| s.value == SettingValue::Text("ecs".into()));
        let enricher = Enricher {
            ecs,
            runtime: Arc::new(runtime),
            settings: self
                .settings
                .iter()
                .map(component::setting_to_wit)
                .collect(),
            free: Mutex::new(Vec::new()),
            keep: self.instances,
        };
        let first = enricher.take().await?;
        enricher.give_back(first);
        Ok(enricher)
    }
}

/// A configured component with a pool of instances. Cheap to share (`Arc`) between tasks.
pub struct Enricher {
    /// Failure records in the Elastic Common Schema (setting `encoding` = `ecs`).
    ecs: bool,
    runtime: Arc<Runtime>,
    settings: Vec<component::Setting>,
    free: Mutex<Vec<Instance>>,
    keep: usize,
}

impl std::fmt::Debug for Enricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enricher")
            .field("settings", &self.settings.len())
            .field("keep", &self.keep)
            .finish_non_exhaustive()
    }
}

/// The component the CLI embeds, as bytes: what `logenrich --write-component` writes.
pub fn embedded_component() -> &'static [u8] {
    component::EMBEDDED
}

/// Instances (batches at once) when none are asked for: one more than the cores, from 2
/// to 8.
///
/// More instances than cores only help while batches wait on lookups, and each holds its
/// own linear memory (about 7 MB with ordinary batches, 8 MB with GeoIP when most clients
/// of a batch are new) and its batch's lookups in flight. Measured with the release CLI
/// over 1M lines with 462k distinct public clients, reverse DNS, DNSBL and GeoLite2 City
/// on 2 cores: 4 instances 166 MB peak RSS in 62.8 s, 3 instances 148 MB in 62.6 s; at
/// 20 ms DNS latency (400k lines) 4 instances 34.1 s, 3 instances 33.7 s. Earlier, with
/// 10k clients: 8 instances 127 MB in 3.52 s, 4 instances 88 MB in 3.35 s.
pub fn default_instances() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores + 1).clamp(2, 8)
}

impl Enricher {
    /// A builder with the embedded component, no providers and the default settings.
    pub fn builder() -> EnricherBuilder {
        EnricherBuilder {
            source: Source::Embedded,
            imports: Imports::default(),
            settings: Vec::new(),
            instances: default_instances(),
            cache_dir: None,
            limits: Limits {
                deadline: Some(DEFAULT_DEADLINE),
                memory: DEFAULT_MEMORY_LIMIT,
            },
            zones: None,
        }
    }

    async fn take(&self) -> Result<Instance, Error> {
        let pooled = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        if let Some(inst) = pooled {
            return Ok(inst);
        }
        let mut inst = self
            .runtime
            .instance()
            .await
            .map_err(|e| Error::Instance(component::one_line(&e)))?;
        inst.configure(&self.settings)
            .await
            .map_err(|e| Error::Instance(component::one_line(&e)))?
            .map_err(|(field, reason)| Error::Config { field, reason })?;
        Ok(inst)
    }

    fn give_back(&self, inst: Instance) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.keep {
            free.push(inst);
        }
    }

    /// Processes one batch on an idle instance (a new one when none is idle). A trap or a
    /// broken answer is not an error: the batch comes back with failure records.
    pub async fn process(&self, batch: Batch) -> Result<Processed, Error> {
        if batch.is_empty() && batch.oversized.is_none() {
            // Nothing for the component to do (a source's mark may travel alone).
            return Ok(Processed {
                batch,
                ..Processed::default()
            });
        }
        if let Some(len) = batch.oversized {
            // Bad input, not a component failure: an error record like a parse error's.
            let kept = batch.data.len();
            let reason = format!(
                "line of {len} bytes is longer than the limit; its first {kept} bytes are in raw"
            );
            let mut done = failed(self.ecs, batch, reason);
            done.failure = None;
            return Ok(done);
        }
        let mut inst = match self.take().await {
            Ok(inst) => inst,
            // A new instance that fails to start (e.g. loops in `configure`) costs this
            // batch, not the run.
            Err(e) => return Ok(failed(self.ecs, batch, e.to_string())),
        };
        let Batch {
            first_line,
            source,
            data,
            ends,
            parts,
            oversized: _,
        } = batch;
        let wit = component::Batch {
            first_line,
            source,
            data,
            ends,
        };
        let result = if parts.is_empty() {
            inst.process(&wit).await
        } else {
            let wit_parts: Vec<component::Part> =
                parts.iter().map(component::part_to_wit).collect();
            inst.process_parts(&wit, &wit_parts).await
        };
        let batch = Batch {
            first_line: wit.first_line,
            source: wit.source,
            data: wit.data,
            ends: wit.ends,
            parts,
            oversized: None,
        };
        let failure = match result {
            Ok(out) => {
                let records = memchr::memchr_iter(b'\n', &out.jsonl).count();
                if records == batch.len() && out.jsonl.last().is_none_or(|&b| b == b'\n') {
                    self.give_back(inst);
                    let s = out.stats;
                    return Ok(Processed {
                        batch,
                        jsonl: out.jsonl,
                        stats: BatchStats {
                            parsed: u64::from(s.parsed),
                            errors: u64::from(s.errors),
                            invalid_utf8: u64::from(s.invalid_utf8),
                            clients: s.clients.iter().map(crate::component::ip_of).collect(),
                        },
                        failure: None,
                    });
                }
                format!(
                    "component broke the contract: {records} records for {} lines",
                    batch.len()
                )
            }
            Err(e) => format!("component failed: {}", component::one_line(&e)),
        };
        // The instance is dropped here, not given back: after a trap it is unusable.
        Ok(failed(self.ecs, batch, failure))
    }

    /// Processes a stream of batches, up to `in_flight` at once, yielding them in order.
    pub fn process_stream<S>(
        self: &Arc<Self>,
        batches: S,
        in_flight: usize,
    ) -> impl Stream<Item = Result<Processed, Error>> + use<S>
    where
        S: Stream<Item = Batch> + Send + 'static,
    {
        self.process_stream_with(batches.map(|b| ((), b)), in_flight)
            .map(|((), done)| done)
    }

    /// [`Enricher::process_stream`] for batches that carry something of the caller's
    /// along (a checkpoint mark, a message to acknowledge): each comes back with its own.
    pub fn process_stream_with<T, S>(
        self: &Arc<Self>,
        batches: S,
        in_flight: usize,
    ) -> impl Stream<Item = (T, Result<Processed, Error>)> + use<T, S>
    where
        T: Send + 'static,
        S: Stream<Item = (T, Batch)> + Send + 'static,
    {
        let this = Arc::clone(self);
        batches
            .map(move |(tag, batch)| {
                let this = Arc::clone(&this);
                async move {
                    let done = tokio::spawn(async move { this.process(batch).await }).await;
                    let done = done.unwrap_or_else(|e| {
                        Err(Error::Instance(format!("batch task failed: {e}")))
                    });
                    (tag, done)
                }
            })
            .buffered(in_flight.max(1))
    }

    /// Every setting the component knows, with its default value.
    pub async fn defaults(&self) -> Result<Vec<Setting>, Error> {
        let mut inst = self.take().await?;
        let got = inst
            .defaults()
            .await
            .map_err(|e| Error::Instance(component::one_line(&e)))?;
        self.give_back(inst);
        Ok(got.into_iter().map(component::setting_from_wit).collect())
    }

    /// The contract version the component implements, e.g. `0.3.1`.
    pub async fn contract_version(&self) -> Result<String, Error> {
        let mut inst = self.take().await?;
        let v = inst
            .contract_version()
            .await
            .map_err(|e| Error::Instance(component::one_line(&e)))?;
        self.give_back(inst);
        Ok(v)
    }

    /// The interfaces the component imports, sorted.
    pub fn imports(&self) -> Vec<String> {
        self.runtime.imported_interfaces()
    }

    /// How long compiling (or loading from the compile cache) took.
    pub fn compile_time(&self) -> Duration {
        self.runtime.compile_time
    }

    /// Import calls so far.
    pub fn call_counts(&self) -> CallCounts {
        let imports = &self.runtime.imports;
        let (dns_calls, dns_addresses) = imports.dns.counter.get();
        let (dnsbl_calls, dnsbl_addresses) = imports.dnsbl.counter.get();
        let (geoip_calls, geoip_addresses) = imports.geoip.counter.get();
        let (cymru_calls, cymru_keys) = imports.cymru.counter.get();
        CallCounts {
            dns_calls,
            dns_addresses,
            dnsbl_calls,
            dnsbl_addresses,
            geoip_calls,
            geoip_addresses,
            refused_zones: imports.dnsbl.refused.load(Ordering::Relaxed),
            cymru_calls,
            cymru_keys,
        }
    }
}

/// A batch the component could not process: one failure record per line.
fn failed(ecs: bool, batch: Batch, reason: String) -> Processed {
    let mut jsonl = Vec::with_capacity(batch.data.len() + batch.len() * 96);
    let mut invalid = 0;
    for (i, (line, source)) in (0..batch.len()).zip(batch.labels()) {
        let bytes = batch.line(i);
        let lossy = std::str::from_utf8(bytes).is_err();
        invalid += u64::from(lossy);
        crate::output::write_failure(
            &mut jsonl,
            source,
            line,
            &String::from_utf8_lossy(bytes),
            &reason,
            lossy,
            ecs,
        );
    }
    Processed {
        stats: BatchStats {
            parsed: 0,
            errors: batch.len() as u64,
            invalid_utf8: invalid,
            clients: Vec::new(),
        },
        batch,
        jsonl,
        failure: Some(reason),
    }
}

/// Where the compile cache lives by default (`$XDG_CACHE_HOME/logenrich` or
/// `~/.cache/logenrich`).
pub fn default_cache_dir() -> Option<PathBuf> {
    component::default_cache_dir()
}

/// Writes the embedded component to `path`.
pub fn write_component(path: &Path) -> std::io::Result<()> {
    std::fs::write(path, component::EMBEDDED)
}
