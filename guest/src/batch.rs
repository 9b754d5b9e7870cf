//! The batch flow: parse every line, collect the distinct client addresses, call each
//! enabled import once per batch (once per zone for DNSBL), then assemble the records.
//!
//! The imports are behind the [`Lookups`] trait so the flow runs natively in tests with a
//! counting double, and in the component with the real imports.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::net::IpAddr;

use crate::bindings::exports::logenrich::filter::filter::{
    DnsInfo, DnsStatus, DnsblVerdict, LineResult, LogRecord, ParseError, ScannerSource, ScannerTag,
    Span,
};
use crate::bindings::logenrich::filter::dns::PtrResult;
use crate::bindings::logenrich::filter::dnsbl::DnsblResult;
use crate::bindings::logenrich::filter::geoip::GeoRecord;
use crate::bindings::logenrich::filter::types::{IpAddress, LookupError};
use crate::parse::{Parsed, parse_line};
use crate::state::State;

/// The three batched imports.
pub trait Lookups {
    /// Reverse DNS of each address, one result per address.
    fn reverse(&mut self, ips: &[IpAddress]) -> Vec<PtrResult>;
    /// DNSBL answers of `zone` for each address, one result per address.
    fn dnsbl(&mut self, zone: &str, ips: &[IpAddress]) -> Vec<DnsblResult>;
    /// GeoIP of each address, one result per address.
    fn geoip(&mut self, ips: &[IpAddress]) -> Vec<Option<GeoRecord>>;
}

/// Imports that answer every address with a failure: for running the pure flow natively
/// with DNS, DNSBL and GeoIP disabled (benchmarks, tests).
pub struct NoLookups;

impl Lookups for NoLookups {
    fn reverse(&mut self, ips: &[IpAddress]) -> Vec<PtrResult> {
        let e = || PtrResult::Failed(LookupError::Other("no lookups here".into()));
        ips.iter().map(|_| e()).collect()
    }
    fn dnsbl(&mut self, _zone: &str, ips: &[IpAddress]) -> Vec<DnsblResult> {
        let e = || DnsblResult::Failed(LookupError::Other("no lookups here".into()));
        ips.iter().map(|_| e()).collect()
    }
    fn geoip(&mut self, ips: &[IpAddress]) -> Vec<Option<GeoRecord>> {
        ips.iter().map(|_| None).collect()
    }
}

/// A hasher with fixed keys: keeps the component from importing a random source.
type FixedState = BuildHasherDefault<DefaultHasher>;

/// Converts a std address to the WIT one.
pub fn to_wit(ip: IpAddr) -> IpAddress {
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

/// Makes an import's answer exactly `n` long: a host that returns the wrong count gets
/// every address marked failed rather than a trap or misaligned records.
fn fit<T>(got: Vec<T>, n: usize, what: &str, failed: impl Fn(String) -> T) -> Vec<T> {
    if got.len() == n {
        got
    } else {
        let msg = format!(
            "host {what} returned {} results for {n} addresses",
            got.len()
        );
        (0..n).map(|_| failed(msg.clone())).collect()
    }
}

fn error_text(e: &LookupError) -> String {
    match e {
        LookupError::Timeout => "timeout".into(),
        LookupError::ServerFailure => "server failure (SERVFAIL)".into(),
        LookupError::Refused => "refused".into(),
        LookupError::Other(m) => m.clone(),
    }
}

fn dns_info(r: &PtrResult) -> DnsInfo {
    match r {
        PtrResult::Found(name) => DnsInfo {
            name: Some(name.clone()),
            status: DnsStatus::Found,
            error: None,
        },
        PtrResult::NotFound => DnsInfo {
            name: None,
            status: DnsStatus::NotFound,
            error: None,
        },
        PtrResult::Failed(e) => DnsInfo {
            name: None,
            status: if matches!(e, LookupError::Timeout) {
                DnsStatus::Timeout
            } else {
                DnsStatus::Failed
            },
            error: Some(error_text(e)),
        },
    }
}

/// The span of `part`, a slice of `line`, within `line`.
fn span(line: &str, part: &str) -> Span {
    let start = (part.as_ptr() as usize).saturating_sub(line.as_ptr() as usize);
    let start = start.min(line.len());
    let end = (start + part.len()).min(line.len());
    Span {
        start: u32::try_from(start).unwrap_or(u32::MAX),
        end: u32::try_from(end).unwrap_or(u32::MAX),
    }
}

/// Runs one batch. Returns exactly one result per line, in order.
pub fn process(
    state: &State,
    lookups: &mut impl Lookups,
    first_line: u64,
    lines: Vec<String>,
) -> Vec<LineResult> {
    let cfg = &state.settings;
    let mut slots: HashMap<IpAddr, usize, FixedState> = HashMap::default();
    let mut unique: Vec<IpAddress> = Vec::new();
    let parsed: Vec<Result<(Parsed<'_>, usize), crate::parse::ParseError>> = lines
        .iter()
        .map(|line| {
            parse_line(line, cfg.format).map(|p| {
                let slot = *slots.entry(p.ip).or_insert_with(|| {
                    unique.push(to_wit(p.ip));
                    unique.len() - 1
                });
                (p, slot)
            })
        })
        .collect();

    let n = unique.len();
    let ptr = if cfg.enable_dns && n > 0 {
        let got = lookups.reverse(&unique);
        Some(fit(got, n, "dns.reverse", |m| {
            PtrResult::Failed(LookupError::Other(m))
        }))
    } else {
        None
    };
    let dnsbl: Vec<Vec<DnsblVerdict>> = state
        .zones
        .iter()
        .map(|zone| {
            let got = if n > 0 {
                lookups.dnsbl(&zone.name, &unique)
            } else {
                Vec::new()
            };
            fit(got, n, "dnsbl.lookup", |m| {
                DnsblResult::Failed(LookupError::Other(m))
            })
            .into_iter()
            .map(|r| {
                let v = match r {
                    DnsblResult::Listed(l) => zone.decode(
                        &l.answers
                            .iter()
                            .map(|&(a, b, c, d)| std::net::Ipv4Addr::new(a, b, c, d))
                            .collect::<Vec<_>>(),
                        l.reason,
                    ),
                    DnsblResult::NotListed => crate::dnsbl::Verdict::default(),
                    DnsblResult::Failed(e) => crate::dnsbl::Verdict {
                        error: Some(error_text(&e)),
                        ..Default::default()
                    },
                };
                DnsblVerdict {
                    zone: zone.name.clone(),
                    listed: v.listed,
                    answers: v.answers,
                    meanings: v.meanings,
                    reason: v.reason,
                    error: v.error,
                }
            })
            .collect()
        })
        .collect();
    let geo = if cfg.enable_geoip && n > 0 {
        let got = lookups.geoip(&unique);
        Some(fit(got, n, "geoip.lookup", |_| None))
    } else {
        None
    };

    let mut out = Vec::with_capacity(lines.len());
    for (i, result) in parsed.into_iter().enumerate() {
        let line_no = first_line + i as u64;
        let (p, slot) = match result {
            Ok(ok) => ok,
            Err(e) => {
                out.push(LineResult::Error(ParseError {
                    line: line_no,
                    column: e.column,
                    reason: e.reason,
                    raw: lines[i].clone(),
                }));
                continue;
            }
        };
        let dns = ptr.as_ref().map(|r| dns_info(&r[slot]));
        let ptr_name = match ptr.as_ref().map(|r| &r[slot]) {
            Some(PtrResult::Found(name)) => Some(name.as_str()),
            _ => None,
        };
        let scanner = state.tagger.tag(ptr_name, p.user_agent).map(|e| {
            let mut sources = Vec::with_capacity(2);
            if e.dns {
                sources.push(ScannerSource::Dns);
            }
            if e.ua {
                sources.push(ScannerSource::Ua);
            }
            ScannerTag {
                sources,
                matched: e.matched,
            }
        });
        let time = p.time.instant.unix_timestamp();
        let line = lines[i].as_str();
        let sp = |part: &str| span(line, part);
        out.push(LineResult::Enriched(LogRecord {
            line: line_no,
            ip: sp(p.ip_text),
            user: p.user.map(sp),
            time,
            time_offset: sp(p.time.offset),
            method: p.method.map(sp),
            target: p.target.map(sp),
            protocol: p.protocol.map(sp),
            request: sp(p.request),
            status: p.status,
            bytes: p.bytes,
            referer: p.referer.map(sp),
            user_agent: p.user_agent.map(sp),
            forwarded: p.forwarded_chain().map(sp).collect(),
            server_port: p.server_port,
            host: p.host.map(sp),
            dns,
            dnsbl: dnsbl.iter().map(|z| z[slot].clone()).collect(),
            geo: geo.as_ref().and_then(|g| g[slot].clone()),
            scanner,
        }));
    }
    out
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
