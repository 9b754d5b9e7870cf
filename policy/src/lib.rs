//! logenrich's policy, as plain Rust with no generated types: the access-log parser, scanner
//! tagging, DNSBL answer decoding, configuration, and the canonical JSON Lines encoding of a
//! batch.
//!
//! The component in `guest/` is a thin wrapper around this crate (it converts WIT types and
//! calls [`Session`]); everything here is tested natively with `cargo test -p
//! logenrich-policy`.

pub mod attacks;
mod attacks_literals;
pub mod attacks_rules;
pub mod attacks_settings;
mod attacks_teddy;
mod attacks_teddy_lanes;
pub mod batch;
pub mod client;
pub mod cymru;
pub mod decode;
pub mod dnsbl;
mod excerpt;
pub mod json;
pub mod logformat;
pub mod lookups;
pub mod parse;
pub mod scanner;
pub mod session;
pub mod settings;
pub mod tagging;
pub mod time;

pub use batch::{BatchIn, BatchStats};
pub use lookups::{
    DnsblOutcome, GeoRecord, LookupError, Lookups, NoLookups, PtrOutcome, TxtOutcome,
};
pub use session::Session;
pub use settings::{ConfigError, Filter, Setting, SettingValue};

/// The version of the WIT contract this policy implements.
pub use logenrich_types::{CONTRACT_VERSION, Part, labels};
