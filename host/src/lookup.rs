//! Outcome types of the host's lookup providers, independent of the generated bindings.
//!
//! One trait per capability ([`ReverseDns`], [`Dnsbl`], [`GeoLookup`]), each async; the
//! providers (`dns`, `geoip`) implement them, and `component` converts their outcomes to
//! the WIT types.

use std::net::{IpAddr, Ipv4Addr};

/// Why a DNS query failed (not found is not a failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No answer within the timeout and retries.
    Timeout,
    /// The server answered SERVFAIL.
    ServerFailure,
    /// The server answered REFUSED.
    Refused,
    /// Anything else, described.
    Other(String),
}

/// The outcome of one reverse (PTR) lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtrOutcome {
    /// The first PTR name, without the trailing dot.
    Found(String),
    /// NXDOMAIN or no PTR record.
    NotFound,
    /// The query failed.
    Failed(LookupError),
}

/// The outcome of one DNSBL query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsblOutcome {
    /// The query name exists: its A answers and the TXT reason if any.
    Listed {
        /// A records of the query name.
        answers: Vec<Ipv4Addr>,
        /// TXT record of the query name, strings joined.
        reason: Option<String>,
    },
    /// NXDOMAIN: not listed.
    NotListed,
    /// The query failed.
    Failed(LookupError),
}

/// The TXT answer of one Team Cymru query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtOutcome {
    /// The TXT records, one string per record (its character-strings concatenated).
    Found(Vec<String>),
    /// NXDOMAIN or no TXT record.
    NotFound,
    /// The query failed.
    Failed(LookupError),
}

/// What the GeoIP databases know about one address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoRecord {
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: Option<String>,
    /// Country name in English.
    pub country_name: Option<String>,
    /// First subdivision, code or name.
    pub subdivision: Option<String>,
    /// City name in English.
    pub city: Option<String>,
    /// Latitude in degrees.
    pub latitude: Option<f64>,
    /// Longitude in degrees.
    pub longitude: Option<f64>,
    /// Accuracy radius in km.
    pub accuracy_radius: Option<u16>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Autonomous system number.
    pub asn: Option<u32>,
    /// Autonomous system organisation.
    pub as_org: Option<String>,
}

/// Reverse DNS, behind the component's `dns` import. Implemented by
/// [`crate::dns::DnsProvider`]; an embedder may bring its own.
#[async_trait::async_trait]
pub trait ReverseDns: Send + Sync {
    /// One outcome per address, in order.
    async fn reverse(&self, ips: &[IpAddr]) -> Vec<PtrOutcome>;
}

/// DNSBL queries, behind the component's `dnsbl` import. Implemented by
/// [`crate::dns::DnsProvider`]. The host only calls it for zones the user configured.
#[async_trait::async_trait]
pub trait Dnsbl: Send + Sync {
    /// One outcome per address, in order, for `zone` (no trailing dot).
    async fn dnsbl(&self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome>;
}

/// GeoIP, behind the component's `geoip` import. Implemented by
/// [`crate::geoip::GeoIp`] (memory-mapped databases answer at once; an embedder's
/// provider may query a service).
#[async_trait::async_trait]
pub trait GeoLookup: Send + Sync {
    /// One result per address, in order; `None` when nothing is known.
    async fn locate(&self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>>;
}

/// Team Cymru's IP → ASN service over DNS, behind the component's `cymru` import.
/// Implemented by [`crate::dns::DnsProvider`], which builds the query names itself (the
/// component passes addresses and AS numbers, never names).
#[async_trait::async_trait]
pub trait Cymru: Send + Sync {
    /// The TXT answer of `origin.asn.cymru.com` / `origin6.asn.cymru.com` for each
    /// address, in order.
    async fn origin(&self, ips: &[IpAddr]) -> Vec<TxtOutcome>;
    /// The TXT answer of `AS<n>.asn.cymru.com` for each AS number, in order.
    async fn as_name(&self, asns: &[u32]) -> Vec<TxtOutcome>;
}
