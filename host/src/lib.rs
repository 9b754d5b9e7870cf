//! logenrich, the host: runs the enrichment component over access logs, answering its
//! imports with real lookups (reverse DNS, DNSBL, GeoIP), and writes its JSON Lines.
//!
//! Embedding: build an [`Enricher`] (a component, one provider per capability, settings),
//! then feed it [`Batch`]es from any source, one at a time with [`Enricher::process`] or
//! as a stream with [`Enricher::process_stream`]; each comes back as JSON Lines bytes in
//! the canonical encoding. The providers of the CLI are public too: [`dns::DnsProvider`]
//! (hickory, cached) and [`geoip::GeoIp`] (maxminddb). See `examples/embed.rs`.

pub mod cache;
pub mod checkpoint;
mod component;
pub mod config;
pub mod dns;
mod enricher;
pub mod geoip;
pub mod input;
pub mod lookup;
mod output;
pub mod runner;
pub mod testpoint;
mod types;

pub use enricher::{
    Batch, BatchStats, CallCounts, DEFAULT_DEADLINE, DEFAULT_MEMORY_LIMIT, Enricher,
    EnricherBuilder, Error, Processed, Setting, SettingValue, default_cache_dir,
    embedded_component, write_component,
};
pub use lookup::{Dnsbl, DnsblOutcome, GeoLookup, GeoRecord, LookupError, PtrOutcome, ReverseDns};
