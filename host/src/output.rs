//! Output: one JSON object per input line (JSON Lines), in the stable schema of the README.
//!
//! Field names follow the schema (`ip`, `time`, `dns.name`, `geo.lat`, ...); absent
//! values are `null`, never `"-"`.

use serde::Serialize;

use crate::component::{
    DnsInfo, DnsStatus, DnsblVerdict, LineResult, LogRecord, ScannerSource, ScannerTag, Span,
    WitGeoRecord,
};

/// Per-line context the component does not know.
#[derive(Debug, Clone, Copy)]
pub struct LineMeta<'a> {
    /// The input's name, when the run has several inputs.
    pub file: Option<&'a str>,
    /// The line was not valid UTF-8 and was decoded lossily.
    pub invalid_utf8: bool,
}

#[derive(Serialize)]
struct Record<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    line: u64,
    ip: &'a str,
    user: Option<&'a str>,
    time: Time,
    time_offset: &'a str,
    method: Option<&'a str>,
    target: Option<&'a str>,
    protocol: Option<&'a str>,
    request: &'a str,
    status: Option<u16>,
    bytes: Option<u64>,
    referer: Option<&'a str>,
    user_agent: Option<&'a str>,
    forwarded: Vec<&'a str>,
    server_port: Option<u16>,
    host: Option<&'a str>,
    dns: Option<Dns<'a>>,
    dnsbl: Vec<Dnsbl<'a>>,
    geo: Option<Geo<'a>>,
    scanner: Option<Scanner<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    invalid_utf8: bool,
}

/// Seconds since the epoch, written as RFC 3339 UTC.
struct Time(i64);

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use time::format_description::well_known::Rfc3339;
        let text = time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok());
        match text {
            Some(text) => s.serialize_str(&text),
            None => s.serialize_none(),
        }
    }
}

#[derive(Serialize)]
struct Dns<'a> {
    name: Option<&'a str>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct Dnsbl<'a> {
    zone: &'a str,
    listed: bool,
    answers: &'a [String],
    meanings: &'a [String],
    reason: Option<&'a str>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct Geo<'a> {
    country_code: Option<&'a str>,
    country: Option<&'a str>,
    subdivision: Option<&'a str>,
    city: Option<&'a str>,
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy_radius: Option<u16>,
    time_zone: Option<&'a str>,
    asn: Option<u32>,
    as_org: Option<&'a str>,
}

#[derive(Serialize)]
struct Scanner<'a> {
    sources: Vec<&'static str>,
    matched: &'a [String],
}

#[derive(Serialize)]
struct Failure<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    line: u64,
    error: FailureDetail<'a>,
    raw: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    invalid_utf8: bool,
}

#[derive(Serialize)]
struct FailureDetail<'a> {
    column: Option<u32>,
    reason: &'a str,
}

fn dns(d: &DnsInfo) -> Dns<'_> {
    Dns {
        name: d.name.as_deref(),
        status: match d.status {
            DnsStatus::Found => "found",
            DnsStatus::NotFound => "not_found",
            DnsStatus::Timeout => "timeout",
            DnsStatus::Failed => "failed",
        },
        error: d.error.as_deref(),
    }
}

fn dnsbl(v: &DnsblVerdict) -> Dnsbl<'_> {
    Dnsbl {
        zone: &v.zone,
        listed: v.listed,
        answers: &v.answers,
        meanings: &v.meanings,
        reason: v.reason.as_deref(),
        error: v.error.as_deref(),
    }
}

fn geo(g: &WitGeoRecord) -> Geo<'_> {
    Geo {
        country_code: g.country_code.as_deref(),
        country: g.country_name.as_deref(),
        subdivision: g.subdivision.as_deref(),
        city: g.city.as_deref(),
        lat: g.latitude,
        lon: g.longitude,
        accuracy_radius: g.accuracy_radius,
        time_zone: g.time_zone.as_deref(),
        asn: g.asn,
        as_org: g.as_org.as_deref(),
    }
}

fn scanner(s: &ScannerTag) -> Scanner<'_> {
    Scanner {
        sources: s
            .sources
            .iter()
            .map(|s| match s {
                ScannerSource::Dns => "dns",
                ScannerSource::Ua => "ua",
            })
            .collect(),
        matched: &s.matched,
    }
}

/// The text of a span of `line`; a span outside the line (a component breaking the
/// contract) reads as empty rather than panicking.
pub fn text<'a>(line: &'a str, s: &Span) -> &'a str {
    line.get(s.start as usize..s.end as usize).unwrap_or("")
}

fn record<'a>(r: &'a LogRecord, line: &'a str, meta: LineMeta<'a>) -> Record<'a> {
    let t = |s: &Span| text(line, s);
    Record {
        file: meta.file,
        line: r.line,
        ip: t(&r.ip),
        user: r.user.as_ref().map(t),
        time: Time(r.time),
        time_offset: t(&r.time_offset),
        method: r.method.as_ref().map(t),
        target: r.target.as_ref().map(t),
        protocol: r.protocol.as_ref().map(t),
        request: t(&r.request),
        status: r.status,
        bytes: r.bytes,
        referer: r.referer.as_ref().map(t),
        user_agent: r.user_agent.as_ref().map(t),
        forwarded: r.forwarded.iter().map(t).collect(),
        server_port: r.server_port,
        host: r.host.as_ref().map(t),
        dns: r.dns.as_ref().map(dns),
        dnsbl: r.dnsbl.iter().map(dnsbl).collect(),
        geo: r.geo.as_ref().map(geo),
        scanner: r.scanner.as_ref().map(scanner),
        invalid_utf8: meta.invalid_utf8,
    }
}

/// Appends one result for `line` as a JSON line to `out`.
pub fn write_result(out: &mut Vec<u8>, result: &LineResult, line: &str, meta: LineMeta<'_>) {
    let written = match result {
        LineResult::Enriched(r) => serde_json::to_writer(&mut *out, &record(r, line, meta)),
        LineResult::Error(e) => serde_json::to_writer(
            &mut *out,
            &Failure {
                file: meta.file,
                line: e.line,
                error: FailureDetail {
                    column: Some(e.column),
                    reason: &e.reason,
                },
                raw: &e.raw,
                invalid_utf8: meta.invalid_utf8,
            },
        ),
    };
    // Serializing plain structs of strings and numbers into a Vec cannot fail.
    debug_assert!(written.is_ok());
    out.push(b'\n');
}

/// Appends an error record for a line the component could not handle at all (a trap).
pub fn write_failure(out: &mut Vec<u8>, line: u64, raw: &str, reason: &str, meta: LineMeta<'_>) {
    let failure = Failure {
        file: meta.file,
        line,
        error: FailureDetail {
            column: None,
            reason,
        },
        raw,
        invalid_utf8: meta.invalid_utf8,
    };
    let written = serde_json::to_writer(&mut *out, &failure);
    debug_assert!(written.is_ok());
    out.push(b'\n');
}
