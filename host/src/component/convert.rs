//! The conversions between the generated WIT types and `logenrich-types`' plain ones, each
//! written once: addresses, lookup errors, and settings both ways.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use logenrich_types::{LookupError, Part, Setting, SettingValue};

use super::bindings::exports::logenrich::filter::filter as wit;
use super::bindings::logenrich::filter::types;

/// A WIT address as a std one.
pub(crate) fn ip(a: &types::IpAddress) -> IpAddr {
    match *a {
        types::IpAddress::Ipv4((a, b, c, d)) => Ipv4Addr::new(a, b, c, d).into(),
        types::IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            Ipv6Addr::new(a, b, c, d, e, f, g, h).into()
        }
    }
}

/// WIT addresses as std ones.
pub(crate) fn ips(a: &[types::IpAddress]) -> Vec<IpAddr> {
    a.iter().map(ip).collect()
}

/// A lookup error as WIT's.
pub(crate) fn error(e: LookupError) -> types::LookupError {
    match e {
        LookupError::Timeout => types::LookupError::Timeout,
        LookupError::ServerFailure => types::LookupError::ServerFailure,
        LookupError::Refused => types::LookupError::Refused,
        LookupError::Other(m) => types::LookupError::Other(m),
    }
}

/// The failure of a lookup this host does not offer.
pub(crate) fn disabled(what: &str) -> types::LookupError {
    types::LookupError::Other(format!("{what} is disabled in the runner"))
}

/// A setting for the component.
pub(crate) fn setting_to_wit(s: &Setting) -> wit::Setting {
    wit::Setting {
        name: s.name.clone(),
        value: match &s.value {
            SettingValue::Flag(v) => wit::SettingValue::Flag(*v),
            SettingValue::Text(v) => wit::SettingValue::Text(v.clone()),
            SettingValue::Texts(v) => wit::SettingValue::Texts(v.clone()),
            SettingValue::Table(v) => wit::SettingValue::Table(v.clone()),
        },
    }
}

/// A setting from the component (its defaults).
pub(crate) fn setting_from_wit(s: wit::Setting) -> Setting {
    let value = match s.value {
        wit::SettingValue::Flag(v) => SettingValue::Flag(v),
        wit::SettingValue::Text(v) => SettingValue::Text(v),
        wit::SettingValue::Texts(v) => SettingValue::Texts(v),
        wit::SettingValue::Table(v) => SettingValue::Table(v),
    };
    Setting::new(s.name, value)
}

/// A batch's part as the WIT's.
pub(crate) fn part_to_wit(p: &Part) -> wit::Part {
    wit::Part {
        lines: p.lines,
        first_line: p.first_line,
        source: p.source.clone(),
    }
}
