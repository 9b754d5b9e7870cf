//! Outcome types of the host's lookup providers, independent of the generated bindings.
//!
//! The providers (`dns`, `geoip`) return these; `component` converts them to the WIT types.

use std::net::Ipv4Addr;

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

/// Reverse DNS and DNSBL, as the component's `dns` and `dnsbl` imports need them.
///
/// Implemented by [`crate::dns::DnsProvider`]; tests may implement it with a recording
/// double to check how the component calls its imports.
#[async_trait::async_trait]
pub trait Resolve: Send + Sync {
    /// One outcome per address, in order.
    async fn reverse(&self, ips: &[std::net::IpAddr]) -> Vec<PtrOutcome>;
    /// One outcome per address, in order.
    async fn dnsbl(&self, zone: &str, ips: &[std::net::IpAddr]) -> Vec<DnsblOutcome>;
}

/// GeoIP, as the component's `geoip` import needs it. Implemented by
/// [`crate::geoip::GeoIp`].
pub trait Locate: Send + Sync {
    /// One result per address, in order; `None` when no database has it.
    fn locate(&self, ips: &[std::net::IpAddr]) -> Vec<Option<GeoRecord>>;
}
