//! The lookup providers a host answers the component's imports with, one async trait per
//! capability. `logenrich-dns` implements [`ReverseDns`], [`Dnsbl`] and [`Cymru`];
//! `logenrich-geoip` implements [`GeoLookup`]; an embedder may bring its own.

use std::net::IpAddr;

use crate::{DnsblOutcome, GeoRecord, PtrOutcome, TxtOutcome};

/// Reverse DNS, behind the component's `dns` import.
#[async_trait::async_trait]
pub trait ReverseDns: Send + Sync {
    /// One outcome per address, in order.
    async fn reverse(&self, ips: &[IpAddr]) -> Vec<PtrOutcome>;
}

/// DNSBL queries, behind the component's `dnsbl` import. The host calls it only for the
/// zones the user configured.
#[async_trait::async_trait]
pub trait Dnsbl: Send + Sync {
    /// One outcome per address, in order, for `zone` (no trailing dot).
    async fn dnsbl(&self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome>;
}

/// GeoIP, behind the component's `geoip` import (memory-mapped databases answer at once;
/// an embedder's provider may query a service).
#[async_trait::async_trait]
pub trait GeoLookup: Send + Sync {
    /// One result per address, in order; `None` when nothing is known.
    async fn locate(&self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>>;
}

/// Team Cymru's IP → ASN service over DNS, behind the component's `cymru` import. The
/// provider builds the query names itself ([`crate::names`]): the component passes
/// addresses and AS numbers, never names.
#[async_trait::async_trait]
pub trait Cymru: Send + Sync {
    /// The TXT answer of each address's origin query, in order.
    async fn origin(&self, ips: &[IpAddr]) -> Vec<TxtOutcome>;
    /// The TXT answer of each AS number's name query, in order.
    async fn as_name(&self, asns: &[u32]) -> Vec<TxtOutcome>;
}
