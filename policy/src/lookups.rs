//! The batched lookups the policy asks its host for, as plain Rust types: reverse DNS,
//! DNSBL, GeoIP, and (contract 0.3) Team Cymru's TXT answers.
//!
//! In the component they are the WIT imports; natively, tests and benchmarks implement
//! [`Lookups`] with doubles.

use std::net::{IpAddr, Ipv4Addr};

/// Why a DNS lookup failed. Not found is not a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No answer within the host's timeout and retries.
    Timeout,
    /// SERVFAIL.
    ServerFailure,
    /// REFUSED.
    Refused,
    /// Anything else, described.
    Other(String),
}

impl LookupError {
    /// The text written as a record's `error`.
    pub fn text(&self) -> &str {
        match self {
            LookupError::Timeout => "timeout",
            LookupError::ServerFailure => "server failure (SERVFAIL)",
            LookupError::Refused => "refused",
            LookupError::Other(m) => m,
        }
    }
}

/// The outcome of one reverse lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ptr {
    /// The PTR name, without the trailing dot.
    Found(String),
    /// NXDOMAIN or no PTR record.
    NotFound,
    /// The lookup failed.
    Failed(LookupError),
}

/// The raw outcome of one DNSBL query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsblAnswer {
    /// The name exists: its A answers and TXT reason.
    Listed {
        /// The A records.
        answers: Vec<Ipv4Addr>,
        /// The TXT record, if any.
        reason: Option<String>,
    },
    /// NXDOMAIN.
    NotListed,
    /// The query failed.
    Failed(LookupError),
}

/// The TXT answer of one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Txt {
    /// The TXT records, one string per record (the character-strings of a record
    /// concatenated).
    Found(Vec<String>),
    /// NXDOMAIN or no TXT record.
    NotFound,
    /// The query failed.
    Failed(LookupError),
}

/// What the GeoIP databases know about an address (see the WIT `geo-record`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Geo {
    /// ISO 3166-1 alpha-2 country code.
    pub country_code: Option<String>,
    /// Country name in English.
    pub country_name: Option<String>,
    /// First subdivision.
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

/// The batched lookups. Each returns one result per address, in order; the policy
/// tolerates a wrong count (every address of the call is then marked failed).
pub trait Lookups {
    /// Reverse DNS of each address.
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<Ptr>;
    /// The raw DNSBL answers of `zone` for each address.
    fn dnsbl(&mut self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblAnswer>;
    /// GeoIP of each address.
    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<Geo>>;

    /// The TXT answer of each address's Team Cymru origin query
    /// ([`crate::cymru::origin_query`]). The default answers nothing (an empty list): a
    /// host written before contract 0.3 has no such lookup, and every address is then
    /// reported as failed, "the host offers no Team Cymru lookups".
    fn cymru_origin(&mut self, ips: &[IpAddr]) -> Vec<Txt> {
        let _ = ips;
        Vec::new()
    }

    /// The TXT answer of each AS number's Team Cymru query
    /// ([`crate::cymru::as_query`]). The default answers nothing, like
    /// [`Lookups::cymru_origin`].
    fn cymru_as(&mut self, asns: &[u32]) -> Vec<Txt> {
        let _ = asns;
        Vec::new()
    }
}

/// Lookups that answer nothing: every DNS query fails, no address is in a database. For
/// running the policy natively with lookups off (benchmarks, tests).
pub struct NoLookups;

impl Lookups for NoLookups {
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<Ptr> {
        let e = || Ptr::Failed(LookupError::Other("no lookups here".into()));
        ips.iter().map(|_| e()).collect()
    }
    fn dnsbl(&mut self, _zone: &str, ips: &[IpAddr]) -> Vec<DnsblAnswer> {
        let e = || DnsblAnswer::Failed(LookupError::Other("no lookups here".into()));
        ips.iter().map(|_| e()).collect()
    }
    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<Geo>> {
        ips.iter().map(|_| None).collect()
    }
}
