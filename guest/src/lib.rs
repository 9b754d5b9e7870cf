//! The logenrich component: the WIT glue around `logenrich-policy`.
//!
//! It converts between the generated types and the policy's plain ones, and answers the
//! policy's lookups with the four imports. Built for `wasm32-unknown-unknown` and made a
//! component by the host's build script, it imports nothing but `logenrich:filter`'s
//! `dns`, `dnsbl`, `geoip` and `cymru` (no WASI).

use std::net::IpAddr;

use bindings::exports::logenrich::filter::filter::{
    Batch, BatchStats, ConfigError, Guest, JsonlBatch, Part, Setting,
};
use bindings::logenrich::filter::types::IpAddress;
use bindings::logenrich::filter::{cymru, dns, dnsbl, geoip};
use logenrich_policy as policy;

mod convert;

#[expect(unsafe_code, reason = "wit-bindgen's generated ABI glue")]
mod bindings {
    wit_bindgen::generate!({
        world: "enricher",
        path: "../wit",
    });
    use super::Component;
    export!(Component);
}

thread_local! {
    /// This instance's configuration (an instance is single-threaded).
    static SESSION: policy::Session = policy::Session::new();
}

/// The exported component.
struct Component;

/// The policy's lookups, answered by the imports.
struct Imports;

impl policy::Lookups for Imports {
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<policy::PtrOutcome> {
        let ips: Vec<IpAddress> = ips.iter().map(convert::ip).collect();
        dns::reverse(&ips).into_iter().map(convert::ptr).collect()
    }

    fn dnsbl(&mut self, zone: &str, ips: &[IpAddr]) -> Vec<policy::DnsblOutcome> {
        let ips: Vec<IpAddress> = ips.iter().map(convert::ip).collect();
        dnsbl::lookup(zone, &ips)
            .into_iter()
            .map(convert::dnsbl)
            .collect()
    }

    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<policy::GeoRecord>> {
        let ips: Vec<IpAddress> = ips.iter().map(convert::ip).collect();
        geoip::lookup(&ips)
            .into_iter()
            .map(|r| r.map(convert::geo))
            .collect()
    }

    fn cymru_origin(&mut self, ips: &[IpAddr]) -> Vec<policy::TxtOutcome> {
        let ips: Vec<IpAddress> = ips.iter().map(convert::ip).collect();
        cymru::origin(&ips).into_iter().map(convert::txt).collect()
    }

    fn cymru_as(&mut self, asns: &[u32]) -> Vec<policy::TxtOutcome> {
        cymru::as_name(asns).into_iter().map(convert::txt).collect()
    }
}

impl Guest for Component {
    fn contract_version() -> String {
        policy::CONTRACT_VERSION.to_string()
    }

    fn defaults() -> Vec<Setting> {
        policy::settings::defaults()
            .into_iter()
            .map(convert::setting_to_wit)
            .collect()
    }

    fn configure(settings: Vec<Setting>) -> Result<(), ConfigError> {
        let settings: Vec<policy::Setting> = settings
            .into_iter()
            .map(convert::setting_from_wit)
            .collect();
        SESSION
            .with(|s| s.configure(&settings))
            .map_err(|e| ConfigError {
                field: e.field,
                reason: e.reason,
            })
    }

    fn process(batch: Batch) -> JsonlBatch {
        run(&batch, &[])
    }

    fn process_parts(batch: Batch, parts: Vec<Part>) -> JsonlBatch {
        let parts: Vec<policy::Part> = parts.into_iter().map(convert::part).collect();
        run(&batch, &parts)
    }
}

/// Runs the policy over `batch`, cut into `parts` (none: one input).
fn run(batch: &Batch, parts: &[policy::Part]) -> JsonlBatch {
    let input = policy::BatchIn {
        first_line: batch.first_line,
        source: batch.source.as_deref(),
        data: &batch.data,
        ends: &batch.ends,
        parts,
    };
    let (jsonl, stats) = SESSION.with(|s| s.process(&mut Imports, input));
    JsonlBatch {
        jsonl,
        stats: BatchStats {
            parsed: stats.parsed,
            errors: stats.errors,
            invalid_utf8: stats.invalid_utf8,
            clients: stats.clients.iter().map(convert::ip).collect(),
        },
    }
}
