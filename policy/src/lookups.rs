//! The batched lookups the policy asks its host for, as plain Rust types: reverse DNS,
//! DNSBL, GeoIP, and (contract 0.3) Team Cymru's TXT answers.
//!
//! In the component they are the WIT imports; natively, tests and benchmarks implement
//! [`Lookups`] with doubles. The outcome types are `logenrich-types`', shared with the
//! host crates.

use std::net::IpAddr;

pub use logenrich_types::{DnsblOutcome, GeoRecord, LookupError, PtrOutcome, TxtOutcome};

/// The batched lookups. Each returns one result per address, in order; the policy
/// tolerates a wrong count (every address of the call is then marked failed).
pub trait Lookups {
    /// Reverse DNS of each address.
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<PtrOutcome>;
    /// The raw DNSBL answers of `zone` for each address.
    fn dnsbl(&mut self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome>;
    /// GeoIP of each address.
    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>>;

    /// The TXT answer of each address's Team Cymru origin query
    /// ([`logenrich_types::names::cymru_origin_name`]). The default answers nothing (an empty list): a
    /// host written before contract 0.3 has no such lookup, and every address is then
    /// reported as failed, "the host offers no Team Cymru lookups".
    fn cymru_origin(&mut self, ips: &[IpAddr]) -> Vec<TxtOutcome> {
        let _ = ips;
        Vec::new()
    }

    /// The TXT answer of each AS number's Team Cymru query
    /// ([`logenrich_types::names::cymru_as_name`]). The default answers nothing, like
    /// [`Lookups::cymru_origin`].
    fn cymru_as(&mut self, asns: &[u32]) -> Vec<TxtOutcome> {
        let _ = asns;
        Vec::new()
    }
}

/// Lookups that answer nothing: every DNS query fails, no address is in a database. For
/// running the policy natively with lookups off (benchmarks, tests).
pub struct NoLookups;

impl Lookups for NoLookups {
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        let e = || PtrOutcome::Failed(LookupError::Other("no lookups here".into()));
        ips.iter().map(|_| e()).collect()
    }
    fn dnsbl(&mut self, _zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
        let e = || DnsblOutcome::Failed(LookupError::Other("no lookups here".into()));
        ips.iter().map(|_| e()).collect()
    }
    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>> {
        ips.iter().map(|_| None).collect()
    }
}
