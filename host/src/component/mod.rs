//! Runs the enrichment component under wasmtime: the engine and its compile cache, the
//! linker with our four imports (and, for components built by others, the WASI that
//! Rust std on wasip2 needs, from an empty context), and instances.
//!
//! One module per import (`dns`, `dnsbl`, `geoip`, `cymru`), each with its own state, the
//! view a call sees and its `add_to_linker`; `convert` holds the conversions between WIT
//! and plain types. Everything here is crate-private: the generated bindings and
//! wasmtime's types stay behind [`crate::Enricher`].

mod convert;
pub(crate) mod cymru;
pub(crate) mod dns;
pub(crate) mod dnsbl;
pub(crate) mod geoip;

use std::future::Future;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasData, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub(crate) use convert::{ip as ip_of, part_to_wit, setting_from_wit, setting_to_wit};

mod bindings {
    wasmtime::component::bindgen!({
        world: "enricher",
        path: "../wit",
        imports: { default: async },
        exports: { default: async },
    });
}

pub(crate) use bindings::exports::logenrich::filter::filter::{Batch, JsonlBatch, Part, Setting};

/// The component built from `guest/` by the build script, embedded in the binary.
pub const EMBEDDED: &[u8] = include_bytes!(env!("LOGENRICH_GUEST_WASM"));

/// What one instance may use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Guest time per call (time spent in our imports, e.g. DNS, does not count); `None`
    /// compiles the component without interruption checks and sets no limit.
    pub deadline: Option<Duration>,
    /// Linear memory per instance, in bytes.
    pub memory: usize,
}

/// How often the epoch ticks: the granularity of the deadline.
const TICK: Duration = Duration::from_millis(10);

/// The clock of the call in progress: when it started and how long it spent in imports.
#[derive(Debug)]
pub(crate) struct CallClock {
    started: Instant,
    /// Time spent in our imports during this call.
    in_host: Duration,
}

impl CallClock {
    /// A clock started now.
    pub(crate) fn new() -> Self {
        CallClock {
            started: Instant::now(),
            in_host: Duration::ZERO,
        }
    }

    /// Runs `work` (a provider's lookup) and counts its time as the host's, not the
    /// guest's.
    pub(crate) async fn in_host<F: Future>(&mut self, work: F) -> F::Output {
        let started = Instant::now();
        let out = work.await;
        self.in_host += started.elapsed();
        out
    }

    /// Guest time of the call so far.
    fn guest(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.in_host)
    }
}

/// How often the component called one import, and with how many keys (addresses or AS
/// numbers).
#[derive(Debug, Default)]
pub(crate) struct Counter {
    calls: AtomicU64,
    keys: AtomicU64,
}

impl Counter {
    /// Counts a call with `keys` keys.
    pub(crate) fn count(&self, keys: usize) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.keys.fetch_add(keys as u64, Ordering::Relaxed);
    }

    /// (calls, keys) so far.
    pub(crate) fn get(&self) -> (u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.keys.load(Ordering::Relaxed),
        )
    }
}

/// An import's provider (none: the import answers that it is disabled) and its call
/// counter: the state of `dns`, `geoip` and `cymru`.
pub(crate) struct Capability<P: ?Sized> {
    /// The provider.
    pub provider: Option<Arc<P>>,
    /// Calls and keys so far.
    pub counter: Counter,
}

impl<P: ?Sized> Default for Capability<P> {
    fn default() -> Self {
        Capability {
            provider: None,
            counter: Counter::default(),
        }
    }
}

/// What one call of an import sees: the import's shared state and the calling instance's
/// clock (time in the provider is not guest time).
pub(crate) struct View<'a, S> {
    /// The shared state.
    pub state: &'a S,
    /// The instance's clock.
    pub clock: &'a mut CallClock,
}

/// The `HasData` of an import whose calls see a [`View`] of `S`.
pub(crate) struct Has<S>(PhantomData<S>);

impl<S: 'static> HasData for Has<S> {
    type Data<'a> = View<'a, S>;
}

/// The state of every import, shared by all instances of a runtime.
#[derive(Default)]
pub(crate) struct Imports {
    /// Reverse DNS.
    pub dns: dns::State,
    /// DNSBL, with its allow-list of zones.
    pub dnsbl: dnsbl::State,
    /// GeoIP.
    pub geoip: geoip::State,
    /// Team Cymru.
    pub cymru: cymru::State,
}

/// Per-store state: an empty WASI context (for foreign components), the imports' shared
/// state, the store's limits and the clock of the current call.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    imports: Arc<Imports>,
    limits: StoreLimits,
    deadline: Option<Duration>,
    clock: CallClock,
}

impl HostState {
    /// A store's state: an empty WASI context, the imports, and `limits`.
    fn new(imports: Arc<Imports>, limits: Limits) -> Self {
        Self {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            imports,
            limits: StoreLimitsBuilder::new()
                .memory_size(limits.memory)
                .trap_on_grow_failure(true)
                .build(),
            deadline: limits.deadline,
            clock: CallClock::new(),
        }
    }
}

impl bindings::logenrich::filter::types::Host for HostState {}

/// Adds our four imports (and the types they share) to `linker`.
fn add_imports(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    bindings::logenrich::filter::types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    dns::add_to_linker(linker, |s| View {
        state: &s.imports.dns,
        clock: &mut s.clock,
    })?;
    dnsbl::add_to_linker(linker, |s| View {
        state: &s.imports.dnsbl,
        clock: &mut s.clock,
    })?;
    geoip::add_to_linker(linker, |s| View {
        state: &s.imports.geoip,
        clock: &mut s.clock,
    })?;
    cymru::add_to_linker(linker, |s| View {
        state: &s.imports.cymru,
        clock: &mut s.clock,
    })
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Import prefixes a component may have: our interfaces, and the WASI interfaces Rust std
/// on wasip2 pulls in (streams, stdio, environment, exit, clocks, random seeds), which
/// grant nothing: the context is empty. Files, sockets and HTTP are refused outright. The
/// component this project builds imports only `logenrich:filter/*`.
const ALLOWED_IMPORTS: &[&str] = &[
    "logenrich:filter/",
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
];

/// Refuses a component that imports anything outside [`ALLOWED_IMPORTS`].
fn check_imports(engine: &Engine, component: &Component, name: &str) -> Result<(), String> {
    let ty = component.component_type();
    let refused: Vec<String> = ty
        .imports(engine)
        .map(|(import, _)| import.to_string())
        .filter(|import| !ALLOWED_IMPORTS.iter().any(|p| import.starts_with(p)))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{name} imports {}, which logenrich does not grant (only its own lookups and the \
             WASI that Rust std needs)",
            refused.join(", ")
        ))
    }
}

/// A compiled component with its linker, ready to make instances.
pub(crate) struct Runtime {
    engine: Engine,
    pre: bindings::EnricherPre<HostState>,
    pub(crate) imports: Arc<Imports>,
    limits: Limits,
    /// Stops the epoch ticker when the runtime goes.
    ticker: Arc<AtomicBool>,
    /// How long compiling (or loading from the compile cache) took.
    pub(crate) compile_time: std::time::Duration,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker.store(true, Ordering::Relaxed);
    }
}

/// Advances the engine's epoch every [`TICK`] until `stop` is set.
fn start_ticker(engine: &Engine) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let (engine, flag) = (engine.clone(), stop.clone());
    let spawned = std::thread::Builder::new()
        .name("logenrich-epoch".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(TICK);
                engine.increment_epoch();
            }
        });
    if spawned.is_err() {
        // Without a ticker the deadline cannot fire; the run still works.
        eprintln!("logenrich: cannot start the epoch thread; no time limit on the component");
    }
    stop
}

/// The compile cache directory: `$XDG_CACHE_HOME/logenrich` or `~/.cache/logenrich`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|d| d.join("logenrich"))
}

/// wasmtime's error as one line of text: a trap's own message, not its backtrace.
pub(crate) fn one_line(e: &wasmtime::Error) -> String {
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        return trap.to_string();
    }
    // The outer contexts are wasmtime's backtrace; the root cause says what happened.
    let text = e.root_cause().to_string();
    text.lines().next().unwrap_or("").to_string()
}

impl Runtime {
    /// Compiles (or loads from `cache_dir`) `bytes`, named `name` in messages, and links
    /// it to `imports`.
    pub(crate) fn new(
        bytes: &[u8],
        name: &str,
        cache_dir: Option<&Path>,
        imports: Imports,
        limits: Limits,
    ) -> Result<Self, String> {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        // Interruption for the deadline: a counter check at loop heads and function
        // entries in the compiled component (it costs guest speed; see bench/README.md).
        config.epoch_interruption(limits.deadline.is_some());
        // For profiling the guest with `perf`: LOGENRICH_PERFMAP=1 writes /tmp/perf-PID.map.
        if std::env::var_os("LOGENRICH_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        #[cfg(not(feature = "compile-cache"))]
        let _ = cache_dir;
        #[cfg(feature = "compile-cache")]
        if let Some(dir) = cache_dir {
            let mut cc = wasmtime::CacheConfig::new();
            cc.with_directory(dir);
            let cache = wasmtime::Cache::new(cc)
                .map_err(|e| format!("cannot use compile cache {}: {e:#}", dir.display()))?;
            config.cache(Some(cache));
        }
        let engine = Engine::new(&config).map_err(|e| format!("{e:#}"))?;
        let started = std::time::Instant::now();
        let component = Component::new(&engine, bytes)
            .map_err(|e| format!("{name} is not a valid component: {e:#}"))?;
        let compile_time = started.elapsed();

        check_imports(&engine, &component, name)?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| format!("{e:#}"))?;
        add_imports(&mut linker).map_err(|e| format!("{e:#}"))?;
        let misfit = |e: wasmtime::Error| {
            format!(
                "{name} does not fit the logenrich:filter/enricher@{} world: {e:#}",
                logenrich_types::CONTRACT_VERSION
            )
        };
        let instance_pre = linker.instantiate_pre(&component).map_err(misfit)?;
        let pre = bindings::EnricherPre::new(instance_pre).map_err(misfit)?;
        let ticker = match limits.deadline {
            Some(_) => start_ticker(&engine),
            None => Arc::new(AtomicBool::new(true)),
        };
        Ok(Self {
            engine,
            pre,
            imports: Arc::new(imports),
            limits,
            ticker,
            compile_time,
        })
    }

    /// The names of the interfaces the component imports, e.g. `logenrich:filter/dns@0.3.0`.
    pub(crate) fn imported_interfaces(&self) -> Vec<String> {
        let component = self.pre.instance_pre().component();
        let ty = component.component_type();
        let mut names: Vec<String> = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        names.sort();
        names
    }

    /// Makes a fresh instance in its own store. The guest gets no preopened directories,
    /// no sockets, no environment and no arguments.
    pub(crate) async fn instance(&self) -> wasmtime::Result<Instance> {
        let mut store = Store::new(
            &self.engine,
            HostState::new(Arc::clone(&self.imports), self.limits),
        );
        store.limiter(|s| &mut s.limits);
        // What the guest hands back (a batch's JSON Lines) is in its memory already, so
        // the memory cap bounds it; wasmtime's own 128 MiB default would fail batches
        // the cap allows.
        store.set_hostcall_fuel(self.limits.memory);
        if let Some(deadline) = self.limits.deadline {
            store.epoch_deadline_callback(move |ctx| {
                let guest = ctx.data().clock.guest();
                if guest > deadline {
                    Err(wasmtime::Error::msg(format!(
                        "the component ran longer than its limit of {deadline:?} (guest time)"
                    )))
                } else {
                    // Let other batches' tasks run between slices of a long call.
                    Ok(UpdateDeadline::Yield(1))
                }
            });
        }
        let mut inst = Instance {
            store,
            bindings: None,
        };
        inst.start_call();
        let bindings = self.pre.instantiate_async(&mut inst.store).await?;
        inst.bindings = Some(bindings);
        Ok(inst)
    }
}

/// One instance of the component; reuse it across batches, discard it after a trap.
pub(crate) struct Instance {
    store: Store<HostState>,
    bindings: Option<bindings::Enricher>,
}

impl Instance {
    /// Starts the clock of a call: the deadline counts from here.
    fn start_call(&mut self) {
        self.store.data_mut().clock = CallClock::new();
        if self.store.data().deadline.is_some() {
            self.store.set_epoch_deadline(1);
        }
    }

    /// The bindings, taken out for a call (put back by [`Instance::done`]), with the clock
    /// started.
    fn call(&mut self) -> wasmtime::Result<bindings::Enricher> {
        self.start_call();
        self.bindings
            .take()
            .ok_or_else(|| wasmtime::Error::msg("the instance is unusable"))
    }

    fn done<R>(&mut self, b: bindings::Enricher, r: R) -> R {
        self.bindings = Some(b);
        r
    }

    /// The contract version the component implements.
    pub(crate) async fn contract_version(&mut self) -> wasmtime::Result<String> {
        let b = self.call()?;
        let r = b
            .logenrich_filter_filter()
            .call_contract_version(&mut self.store)
            .await;
        self.done(b, r)
    }

    /// Every setting the component knows, with its default.
    pub(crate) async fn defaults(&mut self) -> wasmtime::Result<Vec<Setting>> {
        let b = self.call()?;
        let r = b
            .logenrich_filter_filter()
            .call_defaults(&mut self.store)
            .await;
        self.done(b, r)
    }

    /// Configures the component; the inner error is the component's verdict.
    pub(crate) async fn configure(
        &mut self,
        settings: &[Setting],
    ) -> wasmtime::Result<Result<(), (String, String)>> {
        let b = self.call()?;
        let r = b
            .logenrich_filter_filter()
            .call_configure(&mut self.store, settings)
            .await;
        let verdict = self.done(b, r)?;
        Ok(verdict.map_err(|e| (e.field, e.reason)))
    }

    /// Runs one batch.
    pub(crate) async fn process(&mut self, batch: &Batch) -> wasmtime::Result<JsonlBatch> {
        let b = self.call()?;
        let r = b
            .logenrich_filter_filter()
            .call_process(&mut self.store, batch)
            .await;
        self.done(b, r)
    }

    /// Runs one batch of several inputs, cut into `parts`.
    pub(crate) async fn process_parts(
        &mut self,
        batch: &Batch,
        parts: &[Part],
    ) -> wasmtime::Result<JsonlBatch> {
        let b = self.call()?;
        let r = b
            .logenrich_filter_filter()
            .call_process_parts(&mut self.store, batch, parts)
            .await;
        self.done(b, r)
    }
}
