//! Runs the enrichment component: the engine and its compile cache, the linker with our
//! three imports and the minimal WASI that Rust std needs, and reusable instances.
//!
//! The generated bindings stay private; the types the rest of the runner needs are
//! re-exported below.

mod imports;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use imports::{Counters, Providers};

mod bindings {
    wasmtime::component::bindgen!({
        world: "enricher",
        path: "../wit",
        imports: { default: async },
        exports: { default: async },
    });
}

pub use bindings::exports::logenrich::filter::filter::{
    Config, ConfigError, DnsInfo, DnsStatus, DnsblCode, DnsblVerdict, DnsblZone, LineResult,
    LogFormat, LogRecord, ParseError, ScannerSource, ScannerTag, Span,
};
pub use bindings::logenrich::filter::geoip::GeoRecord as WitGeoRecord;

/// The component built from `guest/` by the build script, embedded in the binary.
pub const EMBEDDED: &[u8] = include_bytes!(env!("LOGENRICH_GUEST_WASM"));

/// Where the component comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// The embedded build of `guest/`.
    Embedded,
    /// A component file implementing the `enricher` world.
    File(PathBuf),
}

/// Per-store state: the minimal WASI context and our providers.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    providers: Arc<Providers>,
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
/// grant nothing: the context is empty. Files, sockets and HTTP are refused outright.
const ALLOWED_IMPORTS: &[&str] = &[
    "logenrich:filter/",
    "wasi:io/",
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:random/",
];

/// Refuses a component that imports anything outside [`ALLOWED_IMPORTS`].
fn check_imports(engine: &Engine, component: &Component, name: &str) -> anyhow::Result<()> {
    let ty = component.component_type();
    let refused: Vec<String> = ty
        .imports(engine)
        .map(|(import, _)| import.to_string())
        .filter(|import| !ALLOWED_IMPORTS.iter().any(|p| import.starts_with(p)))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "{name} imports {}, which logenrich does not grant (only its own lookups and the \
             WASI that Rust std needs)",
            refused.join(", ")
        )
    }
}

/// A compiled component with its linker, ready to make instances.
pub struct Runtime {
    engine: Engine,
    pre: bindings::EnricherPre<HostState>,
    providers: Arc<Providers>,
    /// How long compiling (or loading from the compile cache) took.
    pub compile_time: std::time::Duration,
}

/// The compile cache directory: `$XDG_CACHE_HOME/logenrich` or `~/.cache/logenrich`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .map(|d| d.join("logenrich"))
}

impl Runtime {
    /// Compiles (or loads from `cache_dir`) the component and links it to `providers`.
    pub fn new(
        source: &Source,
        cache_dir: Option<&Path>,
        providers: Providers,
    ) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        config.wasm_component_model(true);
        if let Some(dir) = cache_dir {
            let mut cc = wasmtime::CacheConfig::new();
            cc.with_directory(dir);
            let cache = wasmtime::Cache::new(cc).map_err(|e| {
                anyhow::Error::from(e)
                    .context(format!("cannot use compile cache {}", dir.display()))
            })?;
            config.cache(Some(cache));
        }
        let engine = Engine::new(&config)?;
        let bytes;
        let (bytes, name) = match source {
            Source::Embedded => (EMBEDDED, "the embedded component".to_string()),
            Source::File(path) => {
                bytes = std::fs::read(path)
                    .with_context(|| format!("cannot read component {}", path.display()))?;
                (bytes.as_slice(), path.display().to_string())
            }
        };
        let started = std::time::Instant::now();
        let component = Component::new(&engine, bytes).map_err(|e| {
            anyhow::Error::from(e).context(format!("{name} is not a valid component"))
        })?;
        let compile_time = started.elapsed();

        check_imports(&engine, &component, &name)?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::Enricher::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
        let instance_pre = linker.instantiate_pre(&component).map_err(|e| {
            anyhow::Error::from(e).context(format!(
                "{name} does not fit the logenrich:filter/enricher world"
            ))
        })?;
        let pre = bindings::EnricherPre::new(instance_pre)?;
        Ok(Self {
            engine,
            pre,
            providers: Arc::new(providers),
            compile_time,
        })
    }

    /// The names of the interfaces the component imports, e.g. `wasi:io/streams@0.2.6`.
    pub fn imported_interfaces(&self) -> Vec<String> {
        let component = self.pre.instance_pre().component();
        let ty = component.component_type();
        let mut names: Vec<String> = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        names.sort();
        names
    }

    /// The providers' counters.
    pub fn counters(&self) -> &Counters {
        &self.providers.counters
    }

    /// Makes a fresh instance in its own store. The guest gets no preopened directories,
    /// no sockets, no environment and no arguments.
    pub async fn instance(&self) -> anyhow::Result<Instance> {
        let wasi = WasiCtx::builder().build();
        let mut store = Store::new(
            &self.engine,
            HostState {
                wasi,
                table: ResourceTable::new(),
                providers: self.providers.clone(),
            },
        );
        let bindings = self.pre.instantiate_async(&mut store).await?;
        Ok(Instance { store, bindings })
    }
}

/// One instance of the component; reuse it across batches.
pub struct Instance {
    store: Store<HostState>,
    bindings: bindings::Enricher,
}

impl Instance {
    /// The component's built-in configuration.
    pub async fn default_config(&mut self) -> wasmtime::Result<Config> {
        self.bindings
            .logenrich_filter_filter()
            .call_default_config(&mut self.store)
            .await
    }

    /// Configures the component; the inner error is the component's verdict on `cfg`.
    pub async fn configure(&mut self, cfg: &Config) -> wasmtime::Result<Result<(), ConfigError>> {
        self.bindings
            .logenrich_filter_filter()
            .call_configure(&mut self.store, cfg)
            .await
    }

    /// Runs one batch.
    pub async fn process(
        &mut self,
        first_line: u64,
        lines: &[String],
    ) -> wasmtime::Result<Vec<LineResult>> {
        self.bindings
            .logenrich_filter_filter()
            .call_process(&mut self.store, first_line, lines)
            .await
    }
}
