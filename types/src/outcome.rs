//! The outcome of each kind of lookup. Expected failures are values: not found is an
//! outcome of its own, a failed query carries a [`LookupError`].

use std::net::Ipv4Addr;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// Why a DNS lookup failed. Not found is not a failure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub enum LookupError {
    /// No answer within the host's timeout and retries.
    Timeout,
    /// The server answered SERVFAIL.
    ServerFailure,
    /// The server answered REFUSED.
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

/// The outcome of one reverse (PTR) lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub enum PtrOutcome {
    /// The first PTR name, without the trailing dot.
    Found(String),
    /// NXDOMAIN or no PTR record.
    NotFound,
    /// The query failed.
    Failed(LookupError),
}

/// The raw outcome of one DNSBL query (its meaning is decoded by the policy).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
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

/// The TXT answer of one query (Team Cymru's origin and AS name lookups).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
pub enum TxtOutcome {
    /// The TXT records, one string per record (its character-strings concatenated).
    Found(Vec<String>),
    /// NXDOMAIN or no TXT record.
    NotFound,
    /// The query failed.
    Failed(LookupError),
}

/// What the GeoIP databases know about one address (the WIT `geo-record`).
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
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
