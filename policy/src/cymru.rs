//! Team Cymru's IP → ASN mapping over DNS: the decoding of its TXT answers,
//! and the two batched lookups of a batch (origin of each client, then the name of each
//! distinct origin AS).
//!
//! The host builds the query names (`logenrich_types::names`); the component passes it
//! addresses and AS numbers. Formats (Team Cymru, "IP to ASN Mapping Service", DNS
//! section; reference §4):
//! - `<reversed IPv4>.origin.asn.cymru.com` and `<reversed nibbles>.origin6.asn.cymru.com`
//!   TXT: `"ASN | prefix | CC | registry | allocated"`. A prefix announced by several
//!   ASes lists them separated by spaces (`"23028 701 | …"`); an address covered by
//!   several announced prefixes gets one TXT record per prefix (the most specific is
//!   used here).
//! - `AS<n>.asn.cymru.com` TXT: `"ASN | CC | registry | allocated | AS name"`.
//!
//! Opt-in (`cymru` setting): it sends client addresses to a third party. Private and
//! local addresses ([`crate::client::is_private`]) are never sent.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::client::is_private;
use crate::json;
use crate::lookups::{LookupError, Lookups, TxtOutcome};

/// A decoded origin answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The origin ASes, in the order listed (several for a multi-origin prefix).
    pub asns: Vec<u32>,
    /// The announced prefix, e.g. `216.90.108.0/24`.
    pub prefix: Option<String>,
    /// ISO 3166 country code of the allocation.
    pub country_code: Option<String>,
    /// The registry (`arin`, `ripencc`, …).
    pub registry: Option<String>,
    /// The allocation date, as written.
    pub allocated: Option<String>,
}

fn opt(field: Option<&str>) -> Option<String> {
    field
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
}

/// Parses `"ASN [ASN…] | prefix | CC | registry | allocated"` (surrounding quotes, as
/// some tools print TXT data, are ignored).
pub fn parse_origin(txt: &str) -> Result<Origin, String> {
    let txt = txt.trim().trim_matches('"');
    let mut fields = txt.split('|');
    let asns = fields
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|a| a.trim_start_matches("AS").parse::<u32>())
        .collect::<Result<Vec<u32>, _>>()
        .map_err(|_| format!("not a Team Cymru origin answer: {txt:?}"))?;
    if asns.is_empty() {
        return Err(format!("no AS number in the origin answer {txt:?}"));
    }
    Ok(Origin {
        asns,
        prefix: opt(fields.next()),
        country_code: opt(fields.next()),
        registry: opt(fields.next()),
        allocated: opt(fields.next()),
    })
}

/// Parses `"ASN | CC | registry | allocated | AS name"` into `(asn, name)`.
pub fn parse_as(txt: &str) -> Result<(u32, Option<String>), String> {
    let txt = txt.trim().trim_matches('"');
    let mut fields = txt.splitn(5, '|');
    let asn = fields
        .next()
        .unwrap_or_default()
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("not a Team Cymru AS answer: {txt:?}"))?;
    Ok((asn, opt(fields.nth(3))))
}

/// The origin of the most specific prefix among the TXT records of one address (ties:
/// the first). Records that do not decode are skipped; the error of the first is
/// returned when none decodes.
pub fn best_origin(txts: &[String]) -> Result<Origin, String> {
    let prefix_len = |o: &Origin| {
        o.prefix
            .as_deref()
            .and_then(|p| p.rsplit_once('/'))
            .and_then(|(_, l)| l.parse::<u8>().ok())
            .unwrap_or(0)
    };
    let mut best: Option<Origin> = None;
    let mut first_error = None;
    for txt in txts {
        match parse_origin(txt) {
            Ok(o) if best.as_ref().is_none_or(|b| prefix_len(&o) > prefix_len(b)) => best = Some(o),
            Ok(_) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    best.ok_or_else(|| first_error.unwrap_or_else(|| "empty TXT answer".into()))
}

/// What the record's `cymru` says about one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Decoded; the AS name when its lookup answered.
    Found(Origin, Option<String>),
    /// No origin (NXDOMAIN: the address is not announced).
    NotFound,
    /// A private or local address: not sent to Team Cymru.
    Private,
    /// The lookup failed or the answer did not decode.
    Failed(LookupError),
}

/// Looks up every client: one origin call for the public ones, one AS call for the
/// distinct first origin ASes. A host that answers the wrong count (or nothing: a host
/// without Cymru lookups) gets every address of the call marked failed.
pub fn lookup_all(lookups: &mut impl Lookups, clients: &[IpAddr]) -> Vec<Verdict> {
    let public: Vec<IpAddr> = clients
        .iter()
        .copied()
        .filter(|ip| !is_private(*ip))
        .collect();
    let origins = if public.is_empty() {
        Vec::new()
    } else {
        fitted(lookups.cymru_origin(&public), public.len(), "cymru origin")
    };
    let mut decoded: FxHashMap<IpAddr, Verdict> = FxHashMap::default();
    let mut asns: Vec<u32> = Vec::new();
    for (ip, txt) in public.iter().zip(origins) {
        let verdict = match txt {
            TxtOutcome::Found(txts) => match best_origin(&txts) {
                Ok(o) => {
                    if !asns.contains(&o.asns[0]) {
                        asns.push(o.asns[0]);
                    }
                    Verdict::Found(o, None)
                }
                Err(e) => Verdict::Failed(LookupError::Other(e)),
            },
            TxtOutcome::NotFound => Verdict::NotFound,
            TxtOutcome::Failed(e) => Verdict::Failed(e),
        };
        decoded.insert(*ip, verdict);
    }
    let mut names: FxHashMap<u32, String> = FxHashMap::default();
    if !asns.is_empty() {
        for (asn, txt) in asns
            .iter()
            .zip(fitted(lookups.cymru_as(&asns), asns.len(), "cymru as"))
        {
            if let TxtOutcome::Found(txts) = txt
                && let Some((_, Some(name))) = txts.iter().find_map(|t| parse_as(t).ok())
            {
                names.insert(*asn, name);
            }
        }
    }
    clients
        .iter()
        .map(|ip| match decoded.remove(ip) {
            None => Verdict::Private,
            Some(Verdict::Found(o, _)) => {
                let name = names.get(&o.asns[0]).cloned();
                Verdict::Found(o, name)
            }
            Some(v) => v,
        })
        .collect()
}

fn fitted(got: Vec<TxtOutcome>, n: usize, what: &str) -> Vec<TxtOutcome> {
    if got.len() == n {
        return got;
    }
    let msg = if got.is_empty() {
        "the host offers no Team Cymru lookups".to_string()
    } else {
        format!("host {what} returned {} results for {n} queries", got.len())
    };
    (0..n)
        .map(|_| TxtOutcome::Failed(LookupError::Other(msg.clone())))
        .collect()
}

/// Appends `,"cymru":{"asn","asns","prefix","country_code","registry","allocated",
/// "as_name","status","error"?}`.
pub fn write(out: &mut Vec<u8>, verdict: &Verdict) {
    let none = Origin::default();
    let (origin, name, status, error) = match verdict {
        Verdict::Found(o, name) => (o, name.as_deref(), "found", None),
        Verdict::NotFound => (&none, None, "not_found", None),
        Verdict::Private => (&none, None, "private", None),
        Verdict::Failed(e) => (
            &none,
            None,
            if matches!(e, LookupError::Timeout) {
                "timeout"
            } else {
                "failed"
            },
            Some(e.text()),
        ),
    };
    out.extend_from_slice(b",\"cymru\":{\"asn\":");
    json::opt_int(out, origin.asns.first().copied());
    out.extend_from_slice(b",\"asns\":[");
    for (i, asn) in origin.asns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::int(out, *asn);
    }
    out.extend_from_slice(b"],\"prefix\":");
    json::opt_str(out, origin.prefix.as_deref());
    out.extend_from_slice(b",\"country_code\":");
    json::opt_str(out, origin.country_code.as_deref());
    out.extend_from_slice(b",\"registry\":");
    json::opt_str(out, origin.registry.as_deref());
    out.extend_from_slice(b",\"allocated\":");
    json::opt_str(out, origin.allocated.as_deref());
    out.extend_from_slice(b",\"as_name\":");
    json::opt_str(out, name);
    out.extend_from_slice(b",\"status\":\"");
    out.extend_from_slice(status.as_bytes());
    out.push(b'"');
    if let Some(e) = error {
        out.extend_from_slice(b",\"error\":");
        json::str(out, e);
    }
    out.push(b'}');
}

#[cfg(test)]
#[path = "cymru_tests.rs"]
mod tests;
