//! The conversions between the generated WIT types and `logenrich-types`' plain ones, each
//! written once: addresses and settings both ways, lookup answers from the imports.

use std::net::{IpAddr, Ipv4Addr};

use logenrich_types as plain;

use crate::bindings::exports::logenrich::filter::filter::{Part, Setting, SettingValue};
use crate::bindings::logenrich::filter::cymru::TxtResult;
use crate::bindings::logenrich::filter::dns::PtrResult;
use crate::bindings::logenrich::filter::dnsbl::DnsblResult;
use crate::bindings::logenrich::filter::geoip::GeoRecord;
use crate::bindings::logenrich::filter::types::{IpAddress, LookupError};

/// An address as the imports take it.
pub fn ip(ip: &IpAddr) -> IpAddress {
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

fn error(e: LookupError) -> plain::LookupError {
    match e {
        LookupError::Timeout => plain::LookupError::Timeout,
        LookupError::ServerFailure => plain::LookupError::ServerFailure,
        LookupError::Refused => plain::LookupError::Refused,
        LookupError::Other(m) => plain::LookupError::Other(m),
    }
}

/// A `dns.reverse` answer.
pub fn ptr(r: PtrResult) -> plain::PtrOutcome {
    match r {
        PtrResult::Found(name) => plain::PtrOutcome::Found(name),
        PtrResult::NotFound => plain::PtrOutcome::NotFound,
        PtrResult::Failed(e) => plain::PtrOutcome::Failed(error(e)),
    }
}

/// A `dnsbl.lookup` answer.
pub fn dnsbl(r: DnsblResult) -> plain::DnsblOutcome {
    match r {
        DnsblResult::Listed(l) => plain::DnsblOutcome::Listed {
            answers: l
                .answers
                .into_iter()
                .map(|(a, b, c, d)| Ipv4Addr::new(a, b, c, d))
                .collect(),
            reason: l.reason,
        },
        DnsblResult::NotListed => plain::DnsblOutcome::NotListed,
        DnsblResult::Failed(e) => plain::DnsblOutcome::Failed(error(e)),
    }
}

/// A `cymru` answer.
pub fn txt(r: TxtResult) -> plain::TxtOutcome {
    match r {
        TxtResult::Found(texts) => plain::TxtOutcome::Found(texts),
        TxtResult::NotFound => plain::TxtOutcome::NotFound,
        TxtResult::Failed(e) => plain::TxtOutcome::Failed(error(e)),
    }
}

/// A `geoip.lookup` record.
pub fn geo(g: GeoRecord) -> plain::GeoRecord {
    plain::GeoRecord {
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
    }
}

/// A setting from the host.
pub fn setting_from_wit(s: Setting) -> plain::Setting {
    let value = match s.value {
        SettingValue::Flag(v) => plain::SettingValue::Flag(v),
        SettingValue::Text(v) => plain::SettingValue::Text(v),
        SettingValue::Texts(v) => plain::SettingValue::Texts(v),
        SettingValue::Table(v) => plain::SettingValue::Table(v),
    };
    plain::Setting::new(s.name, value)
}

/// A setting for the host (the defaults).
pub fn setting_to_wit(s: plain::Setting) -> Setting {
    let value = match s.value {
        plain::SettingValue::Flag(v) => SettingValue::Flag(v),
        plain::SettingValue::Text(v) => SettingValue::Text(v),
        plain::SettingValue::Texts(v) => SettingValue::Texts(v),
        plain::SettingValue::Table(v) => SettingValue::Table(v),
    };
    Setting {
        name: s.name,
        value,
    }
}

/// A WIT `part` as the policy's.
pub fn part(p: Part) -> plain::Part {
    plain::Part {
        lines: p.lines,
        first_line: p.first_line,
        source: p.source,
    }
}
