//! The plain data every logenrich crate shares, defined once: the outcomes of the lookups
//! the component asks its host for ([`PtrOutcome`], [`DnsblOutcome`], [`TxtOutcome`],
//! [`GeoRecord`], [`LookupError`]), named settings ([`Setting`], [`SettingValue`]), the
//! parts of a batch of several inputs ([`Part`], numbered by [`labels`]), the DNS query
//! names of DNSBL and Team Cymru lookups ([`names`]), with the `ecs` feature the Elastic
//! Common Schema encoding of a record ([`ecs`]) and, with the `providers` feature, the
//! async traits a host's lookup providers implement ([`provider`]).
//!
//! The policy (and so the component), the embedding library, the DNS and GeoIP crates and
//! the test fixture all use these; each WIT conversion is written once, next to its
//! generated bindings (`guest/src/convert.rs`, `host/src/component/convert.rs`).

#[cfg(feature = "ecs")]
pub mod ecs;
pub mod names;
mod outcome;
mod part;
#[cfg(feature = "providers")]
pub mod provider;
mod setting;

/// The version of the WIT contract (`wit/logenrich.wit`) these types belong to; the
/// policy implements it and the host links it.
pub const CONTRACT_VERSION: &str = "0.3.1";

pub use outcome::{DnsblOutcome, GeoRecord, LookupError, PtrOutcome, TxtOutcome};
pub use part::{Labels, Part, labels};
pub use setting::{Setting, SettingValue};
