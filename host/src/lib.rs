//! logenrich, the embedding library: runs the enrichment component under wasmtime over
//! batches of log lines, answering its imports with the lookup providers it is given, and
//! returns the component's JSON Lines.
//!
//! Build an [`Enricher`] (a component, one provider per capability, settings), then feed
//! it [`Batch`]es from any source, one at a time with [`Enricher::process`] or as a stream
//! with [`Enricher::process_stream`]; each comes back as JSON Lines bytes in the canonical
//! encoding. Providers implement the traits of [`provider`]; the CLI's are in the
//! `logenrich-dns` ([`ReverseDns`], [`Dnsbl`], [`Cymru`]) and `logenrich-geoip`
//! ([`GeoLookup`]) crates. See `examples/embed.rs`.

mod component;
mod enricher;
mod output;
mod types;

pub use enricher::{
    DEFAULT_DEADLINE, DEFAULT_MEMORY_LIMIT, Enricher, EnricherBuilder, Error,
    MEMORY_PER_BATCH_BYTE, default_cache_dir, default_instances, embedded_component,
    write_component,
};
pub use logenrich_types::provider::{self, Cymru, Dnsbl, GeoLookup, ReverseDns};
pub use logenrich_types::{
    CONTRACT_VERSION, DnsblOutcome, GeoRecord, LookupError, PtrOutcome, Setting, SettingValue,
    TxtOutcome,
};
pub use types::{Batch, BatchFull, BatchStats, CallCounts, Part, Processed};
