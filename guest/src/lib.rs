//! The logenrich component: the WIT glue around `logenrich-policy`.
//!
//! It converts between the generated types and the policy's plain ones, and answers the
//! policy's lookups with the four imports. Built for `wasm32-unknown-unknown` and made a
//! component by the host's build script, it imports nothing but `logenrich:filter`'s
//! `dns`, `dnsbl`, `geoip` and `cymru` (no WASI).

use std::net::{IpAddr, Ipv4Addr};

use bindings::exports::logenrich::filter::filter::{
    Batch, BatchStats, ConfigError, Guest, JsonlBatch, Setting, SettingValue,
};
use bindings::logenrich::filter::cymru::TxtResult;
use bindings::logenrich::filter::dns::PtrResult;
use bindings::logenrich::filter::dnsbl::DnsblResult;
use bindings::logenrich::filter::types::{IpAddress, LookupError};
use bindings::logenrich::filter::{cymru, dns, dnsbl, geoip};
use logenrich_policy as policy;

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

fn to_wit_ip(ip: &IpAddr) -> IpAddress {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            IpAddress::Ipv4((a, b, c, d))
        }
        IpAddr::V6(v6) => {
            let [a, b, c, d, e, f, g, h] = v6.segments();
            IpAddress::Ipv6((a, b, c, d, e, f, g, h))
        }
    }
}

fn from_wit_error(e: LookupError) -> policy::LookupError {
    match e {
        LookupError::Timeout => policy::LookupError::Timeout,
        LookupError::ServerFailure => policy::LookupError::ServerFailure,
        LookupError::Refused => policy::LookupError::Refused,
        LookupError::Other(m) => policy::LookupError::Other(m),
    }
}

fn from_wit_txt(r: TxtResult) -> policy::Txt {
    match r {
        TxtResult::Found(txts) => policy::Txt::Found(txts),
        TxtResult::NotFound => policy::Txt::NotFound,
        TxtResult::Failed(e) => policy::Txt::Failed(from_wit_error(e)),
    }
}

/// The policy's lookups, answered by the imports.
struct Imports;

impl policy::Lookups for Imports {
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<policy::Ptr> {
        let ips: Vec<IpAddress> = ips.iter().map(to_wit_ip).collect();
        dns::reverse(&ips)
            .into_iter()
            .map(|r| match r {
                PtrResult::Found(name) => policy::Ptr::Found(name),
                PtrResult::NotFound => policy::Ptr::NotFound,
                PtrResult::Failed(e) => policy::Ptr::Failed(from_wit_error(e)),
            })
            .collect()
    }

    fn dnsbl(&mut self, zone: &str, ips: &[IpAddr]) -> Vec<policy::DnsblAnswer> {
        let ips: Vec<IpAddress> = ips.iter().map(to_wit_ip).collect();
        dnsbl::lookup(zone, &ips)
            .into_iter()
            .map(|r| match r {
                DnsblResult::Listed(l) => policy::DnsblAnswer::Listed {
                    answers: l
                        .answers
                        .into_iter()
                        .map(|(a, b, c, d)| Ipv4Addr::new(a, b, c, d))
                        .collect(),
                    reason: l.reason,
                },
                DnsblResult::NotListed => policy::DnsblAnswer::NotListed,
                DnsblResult::Failed(e) => policy::DnsblAnswer::Failed(from_wit_error(e)),
            })
            .collect()
    }

    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<policy::Geo>> {
        let ips: Vec<IpAddress> = ips.iter().map(to_wit_ip).collect();
        geoip::lookup(&ips)
            .into_iter()
            .map(|r| {
                r.map(|g| policy::Geo {
                    country_code: g.country_code,
                    country_name: g.country_name,
                    subdivision: g.subdivision,
                    city: g.city,
                    latitude: g.latitude,
                    longitude: g.longitude,
                    accuracy_radius: g.accuracy_radius,
                    time_zone: g.time_zone,
                    asn: g.asn,
                    as_org: g.as_org,
                })
            })
            .collect()
    }

    fn cymru_origin(&mut self, ips: &[IpAddr]) -> Vec<policy::Txt> {
        let ips: Vec<IpAddress> = ips.iter().map(to_wit_ip).collect();
        cymru::origin(&ips).into_iter().map(from_wit_txt).collect()
    }

    fn cymru_as(&mut self, asns: &[u32]) -> Vec<policy::Txt> {
        cymru::as_name(asns).into_iter().map(from_wit_txt).collect()
    }
}

impl Guest for Component {
    fn contract_version() -> String {
        policy::CONTRACT_VERSION.to_string()
    }

    fn defaults() -> Vec<Setting> {
        policy::settings::defaults()
            .into_iter()
            .map(|s| Setting {
                name: s.name,
                value: match s.value {
                    policy::Value::Flag(v) => SettingValue::Flag(v),
                    policy::Value::Text(v) => SettingValue::Text(v),
                    policy::Value::Texts(v) => SettingValue::Texts(v),
                    policy::Value::Table(v) => SettingValue::Table(v),
                },
            })
            .collect()
    }

    fn configure(settings: Vec<Setting>) -> Result<(), ConfigError> {
        let settings: Vec<policy::Setting> = settings
            .into_iter()
            .map(|s| policy::Setting {
                name: s.name,
                value: match s.value {
                    SettingValue::Flag(v) => policy::Value::Flag(v),
                    SettingValue::Text(v) => policy::Value::Text(v),
                    SettingValue::Texts(v) => policy::Value::Texts(v),
                    SettingValue::Table(v) => policy::Value::Table(v),
                },
            })
            .collect();
        SESSION
            .with(|s| s.configure(&settings))
            .map_err(|e| ConfigError {
                field: e.field,
                reason: e.reason,
            })
    }

    fn process(batch: Batch) -> JsonlBatch {
        let input = policy::BatchIn {
            first_line: batch.first_line,
            source: batch.source.as_deref(),
            data: &batch.data,
            ends: &batch.ends,
        };
        let (jsonl, stats) = SESSION.with(|s| s.process(&mut Imports, input));
        JsonlBatch {
            jsonl,
            stats: BatchStats {
                parsed: stats.parsed,
                errors: stats.errors,
                invalid_utf8: stats.invalid_utf8,
                clients: stats.clients.iter().map(to_wit_ip).collect(),
            },
        }
    }
}
