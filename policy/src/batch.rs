//! The batch flow: split and parse every line, collect the distinct clients, call each
//! enabled lookup once per batch (once per zone for DNSBL), encode each client's enrichment
//! once, then write one JSON record per line with its client's fragment spliced in.
//!
//! This is the canonical JSON Lines encoding (README § Output, WIT `jsonl-batch`): every
//! host that runs the component writes these bytes as they are.

use std::borrow::Cow;
use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::Part;
use crate::json::{self, TimeWriter};
use crate::lookups::{DnsblOutcome, GeoRecord, LookupError, Lookups, PtrOutcome};
use crate::parse::{ParseError, Parsed, dash_none};
use crate::scanner::Evidence;
use crate::settings::Filter;
use crate::tagging::LineTags;

/// A batch of lines as one buffer plus the end offset of each line (the WIT `batch`).
#[derive(Debug, Clone, Copy)]
pub struct BatchIn<'a> {
    /// The 1-based number of the first line.
    pub first_line: u64,
    /// The input's name, written as `file` in every record when present.
    pub source: Option<&'a str>,
    /// The lines, back to back, without newlines.
    pub data: &'a [u8],
    /// The end offset of each line in `data`.
    pub ends: &'a [u32],
    /// When the lines come from several inputs: the runs of lines of each, numbered and
    /// named by their own part ([`labels`](crate::labels)); lines past the parts' total
    /// are the batch's own (`first_line`, `source`). Empty for a batch of one input.
    pub parts: &'a [Part],
}

impl<'a> BatchIn<'a> {
    /// The bytes of each line. Offsets out of order or past the end are clamped, so a
    /// host's bad offsets give short lines (and parse errors), never a panic.
    pub fn lines(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let data = self.data;
        let mut start = 0usize;
        self.ends.iter().map(move |&end| {
            let end = (end as usize).clamp(start, data.len());
            let line = &data[start..end];
            start = end;
            line
        })
    }
}

/// What a batch held (the WIT `batch-stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Lines that parsed.
    pub parsed: u32,
    /// Lines that did not parse.
    pub errors: u32,
    /// Lines that were not valid UTF-8.
    pub invalid_utf8: u32,
    /// The distinct clients, in order of first appearance.
    pub clients: Vec<IpAddr>,
}

/// Makes a lookup's answer exactly `n` long: a host that returns the wrong count gets
/// every address marked failed rather than misaligned records.
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

/// Appends `"dns":…,"dnsbl":[…],"geo":…` for one client (then `,"cymru":…` when on).
fn encode_client(
    out: &mut Vec<u8>,
    filter: &Filter,
    ptr: Option<&PtrOutcome>,
    dnsbl: &[Vec<DnsblOutcome>],
    slot: usize,
    geo: Option<&GeoRecord>,
) {
    out.extend_from_slice(b"\"dns\":");
    match ptr {
        None => out.extend_from_slice(b"null"),
        Some(PtrOutcome::Found(name)) => {
            out.extend_from_slice(b"{\"name\":");
            json::str(out, name);
            out.extend_from_slice(b",\"status\":\"found\"}");
        }
        Some(PtrOutcome::NotFound) => {
            out.extend_from_slice(b"{\"name\":null,\"status\":\"not_found\"}")
        }
        Some(PtrOutcome::Failed(e)) => {
            out.extend_from_slice(b"{\"name\":null,\"status\":");
            out.extend_from_slice(if matches!(e, LookupError::Timeout) {
                b"\"timeout\""
            } else {
                b"\"failed\""
            });
            out.extend_from_slice(b",\"error\":");
            json::str(out, e.text());
            out.push(b'}');
        }
    }
    out.extend_from_slice(b",\"dnsbl\":[");
    for (z, (zone, answers)) in filter.zones.iter().zip(dnsbl).enumerate() {
        if z > 0 {
            out.push(b',');
        }
        let verdict = match &answers[slot] {
            DnsblOutcome::Listed { answers, reason } => zone.decode(answers, reason.clone()),
            DnsblOutcome::NotListed => crate::dnsbl::Verdict::default(),
            DnsblOutcome::Failed(e) => crate::dnsbl::Verdict {
                error: Some(e.text().to_string()),
                ..Default::default()
            },
        };
        out.extend_from_slice(b"{\"zone\":");
        json::str(out, &zone.name);
        out.extend_from_slice(if verdict.listed {
            b",\"listed\":true,\"answers\":"
        } else {
            b",\"listed\":false,\"answers\":"
        });
        json::str_list(out, verdict.answers.iter().map(String::as_str));
        out.extend_from_slice(b",\"meanings\":");
        json::str_list(out, verdict.meanings.iter().map(String::as_str));
        out.extend_from_slice(b",\"reason\":");
        json::opt_str(out, verdict.reason.as_deref());
        out.extend_from_slice(b",\"error\":");
        json::opt_str(out, verdict.error.as_deref());
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"geo\":");
    match geo {
        None => out.extend_from_slice(b"null"),
        Some(g) => {
            out.extend_from_slice(b"{\"country_code\":");
            json::opt_str(out, g.country_code.as_deref());
            out.extend_from_slice(b",\"country\":");
            json::opt_str(out, g.country_name.as_deref());
            out.extend_from_slice(b",\"subdivision\":");
            json::opt_str(out, g.subdivision.as_deref());
            out.extend_from_slice(b",\"city\":");
            json::opt_str(out, g.city.as_deref());
            out.extend_from_slice(b",\"lat\":");
            json::opt_f64(out, g.latitude);
            out.extend_from_slice(b",\"lon\":");
            json::opt_f64(out, g.longitude);
            out.extend_from_slice(b",\"accuracy_radius\":");
            json::opt_int(out, g.accuracy_radius);
            out.extend_from_slice(b",\"time_zone\":");
            json::opt_str(out, g.time_zone.as_deref());
            out.extend_from_slice(b",\"asn\":");
            json::opt_int(out, g.asn);
            out.extend_from_slice(b",\"as_org\":");
            json::opt_str(out, g.as_org.as_deref());
            out.push(b'}');
        }
    }
}

/// Appends `"file":…,` when the batch has a source name.
fn file_field(out: &mut Vec<u8>, source: Option<&str>) {
    if let Some(name) = source {
        out.extend_from_slice(b"\"file\":");
        json::str(out, name);
        out.push(b',');
    }
}

/// Bytes a record adds to its line's own text: keys, the UTC time, tags, attack hits.
const RECORD_OVERHEAD: usize = 320;

/// Runs one batch: appends one JSON record per line to `out` and returns the counts.
pub fn process(
    filter: &Filter,
    lookups: &mut impl Lookups,
    batch: BatchIn<'_>,
    out: &mut Vec<u8>,
) -> BatchStats {
    let start = out.len();
    let mut stats = BatchStats::default();
    let texts: Vec<(Cow<'_, str>, bool)> = batch
        .lines()
        .map(|bytes| match std::str::from_utf8(bytes) {
            Ok(s) => (Cow::Borrowed(s), false),
            Err(_) => (String::from_utf8_lossy(bytes), true),
        })
        .collect();

    // FxHash: fast, and with fixed keys, so the component needs no random source.
    let mut slots: FxHashMap<IpAddr, u32> = FxHashMap::default();
    let parsed: Vec<Result<(Parsed<'_>, Option<u32>), ParseError>> = texts
        .iter()
        .map(|(text, _)| match filter.parse(text) {
            Ok(mut p) => {
                if let (Some(offset), Some(t)) = (filter.default_offset, p.time.as_mut())
                    && t.local
                {
                    // A local time: the same clock reading at the configured offset.
                    t.instant = t.instant.replace_offset(offset);
                }
                // A line without a client address (`unix:`) is not looked up.
                let slot = p.ip.map(|ip| {
                    let next = u32::try_from(stats.clients.len()).unwrap_or(u32::MAX);
                    *slots.entry(ip).or_insert_with(|| {
                        stats.clients.push(ip);
                        next
                    })
                });
                Ok((p, slot))
            }
            Err(e) => Err(e),
        })
        .collect();
    drop(slots);

    let clients = &stats.clients;
    let n = clients.len();
    let failed_ptr = |m| PtrOutcome::Failed(LookupError::Other(m));
    let ptr = (filter.reverse_dns && n > 0)
        .then(|| fit(lookups.reverse(clients), n, "dns.reverse", failed_ptr));
    let dnsbl: Vec<Vec<DnsblOutcome>> = filter
        .zones
        .iter()
        .map(|zone| {
            let got = if n > 0 {
                lookups.dnsbl(&zone.name, clients)
            } else {
                Vec::new()
            };
            fit(got, n, "dnsbl.lookup", |m| {
                DnsblOutcome::Failed(LookupError::Other(m))
            })
        })
        .collect();
    let geo =
        (filter.geoip && n > 0).then(|| fit(lookups.geoip(clients), n, "geoip.lookup", |_| None));
    let cymru = (filter.cymru && n > 0).then(|| crate::cymru::lookup_all(lookups, clients));

    // Each client's enrichment, encoded once: fragment `i` is
    // `fragments[bounds[i]..bounds[i + 1]]`.
    let mut fragments: Vec<u8> = Vec::with_capacity(n * 160);
    let mut bounds: Vec<usize> = Vec::with_capacity(n + 1);
    let mut dns_matches: Vec<Vec<&str>> = Vec::with_capacity(n);
    bounds.push(0);
    for slot in 0..n {
        let p = ptr.as_ref().map(|p| &p[slot]);
        let g = geo.as_ref().and_then(|g| g[slot].as_ref());
        encode_client(&mut fragments, filter, p, &dnsbl, slot, g);
        if let Some(c) = &cymru {
            crate::cymru::write(&mut fragments, &c[slot]);
        }
        bounds.push(fragments.len());
        dns_matches.push(match p {
            Some(PtrOutcome::Found(name)) => filter.tagger.dns_matches(name),
            _ => Vec::new(),
        });
    }

    // A record copies its line's fields and adds ~290 bytes of keys, time and tags (475
    // bytes out for 197 in on the bench corpus): reserving too little cost a realloc,
    // i.e. a copy of the whole batch's output.
    out.reserve(batch.data.len() + texts.len() * (RECORD_OVERHEAD + fragments.len() / n.max(1)));
    let mut times = TimeWriter::default();
    // User-Agents and requests repeat within a batch: each distinct one is scanned once.
    let mut tags = LineTags::new(filter);
    // A host's first line number near `u64::MAX` wraps (as the component's release
    // build always did) rather than panic.
    let labels = crate::labels(batch.parts, batch.first_line, batch.source);
    for ((line, (text, lossy)), (line_no, source)) in parsed.iter().zip(&texts).zip(labels) {
        out.push(b'{');
        file_field(out, source);
        out.extend_from_slice(b"\"line\":");
        json::int(out, line_no);
        match line {
            Err(e) => {
                stats.errors += 1;
                out.extend_from_slice(b",\"error\":{\"column\":");
                json::int(out, e.column);
                out.extend_from_slice(b",\"reason\":");
                json::str(out, &e.reason);
                out.extend_from_slice(b"},\"raw\":");
                json::str(out, text);
                tags.write_raw_attacks(out, text);
            }
            Ok((p, slot)) => {
                stats.parsed += 1;
                write_fields(out, p, &mut times);
                out.push(b',');
                let dns_matched: &[&str] = match slot {
                    Some(slot) => {
                        let slot = *slot as usize;
                        out.extend_from_slice(&fragments[bounds[slot]..bounds[slot + 1]]);
                        &dns_matches[slot]
                    }
                    None => {
                        out.extend_from_slice(b"\"dns\":null,\"dnsbl\":[],\"geo\":null");
                        if filter.cymru {
                            out.extend_from_slice(b",\"cymru\":null");
                        }
                        &[]
                    }
                };
                out.extend_from_slice(b",\"scanner\":");
                let ua_slot = p.user_agent.map(|ua| tags.ua(ua));
                let ua: &[&str] = match ua_slot {
                    Some(slot) => tags.ua_keywords(slot),
                    None => &[],
                };
                match Evidence::combine(dns_matched, ua) {
                    None => out.extend_from_slice(b"null"),
                    Some(e) => {
                        out.extend_from_slice(match (e.dns, e.ua) {
                            (true, true) => b"{\"sources\":[\"dns\",\"ua\"],\"matched\":",
                            (true, false) => b"{\"sources\":[\"dns\"],\"matched\":",
                            _ => b"{\"sources\":[\"ua\"],\"matched\":",
                        });
                        json::str_list(out, e.matched.iter().map(String::as_str));
                        out.push(b'}');
                    }
                }
                tags.write_attacks(out, p, ua_slot);
            }
        }
        if *lossy {
            stats.invalid_utf8 += 1;
            out.extend_from_slice(b",\"invalid_utf8\":true");
        }
        out.extend_from_slice(b"}\n");
    }
    if filter.ecs {
        to_ecs(out, start, &texts, filter.event_original);
    }
    stats
}

/// Re-encodes the records from `out[start..]`, one per line of `texts`, as ECS documents.
#[cold]
#[inline(never)]
fn to_ecs(out: &mut Vec<u8>, start: usize, texts: &[(Cow<'_, str>, bool)], original: bool) {
    let records = out.split_off(start);
    out.reserve(records.len() + records.len() / 2);
    let lines = records.split(|&b| b == b'\n').filter(|r| !r.is_empty());
    for (record, (text, _)) in lines.zip(texts) {
        logenrich_types::ecs::write(out, record, original.then_some(text.as_ref()));
    }
}

/// Appends the parsed fields of a record, from `,"ip"` to `"host":…` and the optional
/// `request_time`, `upstream_response_time`, `bytes_sent` and `extra` (no trailing comma).
fn write_fields(out: &mut Vec<u8>, p: &Parsed<'_>, times: &mut TimeWriter) {
    if let Some(e) = p.error_log() {
        crate::parse::errorlog::write_fields(out, p, e, times);
        write_extra(out, p);
        return;
    }
    out.extend_from_slice(b",\"ip\":");
    json::opt_str(out, p.ip_text);
    out.extend_from_slice(b",\"user\":");
    json::opt_str(out, p.user);
    out.extend_from_slice(b",\"time\":");
    times.write_opt(out, p.time.as_ref());
    out.extend_from_slice(b",\"time_offset\":");
    json::opt_str(out, p.time.as_ref().and_then(|t| dash_none(t.offset)));
    out.extend_from_slice(b",\"method\":");
    json::opt_str(out, p.method);
    out.extend_from_slice(b",\"target\":");
    json::opt_str(out, p.target);
    out.extend_from_slice(b",\"protocol\":");
    json::opt_str(out, p.protocol);
    out.extend_from_slice(b",\"request\":");
    json::opt_str(out, p.request);
    out.extend_from_slice(b",\"status\":");
    json::opt_int(out, p.status);
    out.extend_from_slice(b",\"bytes\":");
    json::opt_int(out, p.bytes);
    out.extend_from_slice(b",\"referer\":");
    json::opt_str(out, p.referer);
    out.extend_from_slice(b",\"user_agent\":");
    json::opt_str(out, p.user_agent);
    out.extend_from_slice(b",\"forwarded\":");
    json::str_list(out, p.forwarded_chain());
    out.extend_from_slice(b",\"server_port\":");
    json::opt_int(out, p.server_port);
    out.extend_from_slice(b",\"host\":");
    json::opt_str(out, p.host);
    if let Some(t) = p.request_time {
        out.extend_from_slice(b",\"request_time\":");
        json::opt_f64(out, Some(t));
    }
    if let Some(u) = p.upstream_response_time {
        out.extend_from_slice(b",\"upstream_response_time\":");
        json::str(out, u);
    }
    if let Some(b) = p.bytes_sent {
        out.extend_from_slice(b",\"bytes_sent\":");
        json::int(out, b);
    }
    write_extra(out, p);
}

/// Appends `,"syslog":{…}` for a wrapped line, then `,"extra":{…}` when the line has
/// fields the schema has no key for.
fn write_extra(out: &mut Vec<u8>, p: &Parsed<'_>) {
    if let Some(w) = p.syslog() {
        crate::parse::syslog::write(out, w);
    }
    if !p.extra.is_empty() {
        out.extend_from_slice(b",\"extra\":{");
        for (i, (name, value)) in p.extra.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::str(out, name);
            out.push(b':');
            json::opt_str(out, dash_none(value));
        }
        out.push(b'}');
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
