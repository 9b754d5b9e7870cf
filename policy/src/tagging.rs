//! The per-line tags of a batch: the scanner keywords of a line's User-Agent and its
//! attack hits, each computed once per distinct field value in the batch.
//!
//! Honeypot traffic repeats itself: the same few User-Agents and requests make most of a
//! batch. A per-batch memo (FxHash, keyed by the borrowed field text) turns the keyword
//! scan and the attack scan of a repeated value into one hash lookup.

use rustc_hash::FxHashMap;

use crate::attacks::{Attacks, Field, Hit, Scratch};
use crate::json;
use crate::parse::Parsed;
use crate::settings::Filter;

/// What a User-Agent carries.
#[derive(Debug, Default)]
pub struct UaTags<'f> {
    /// The scanner keywords it matches.
    pub keywords: Vec<&'f str>,
    /// The attack rules it matches.
    pub hits: Vec<Hit>,
}

/// The memos and buffers of one batch.
pub struct LineTags<'f, 'a> {
    filter: &'f Filter,
    scratch: Scratch,
    hits: Vec<Hit>,
    ua: FxHashMap<&'a str, UaTags<'f>>,
    request: FxHashMap<&'a str, Vec<Hit>>,
    request_lookups: u32,
    request_misses: u32,
}

impl<'f, 'a> LineTags<'f, 'a> {
    /// Empty memos for a batch of `lines` lines run with `filter`. The request memo is
    /// sized for the batch up front: with every request distinct, its growth (rehashing)
    /// cost about 3 % of the throughput (bench: 66.6 → 69.7 % of untagged).
    pub fn new(filter: &'f Filter, lines: usize) -> Self {
        // Capped: a host may send a million lines per batch.
        let request = if filter.attacks.is_some() {
            FxHashMap::with_capacity_and_hasher(lines.min(4096), Default::default())
        } else {
            FxHashMap::default()
        };
        Self {
            filter,
            scratch: Scratch::default(),
            hits: Vec::new(),
            ua: FxHashMap::default(),
            request,
            request_lookups: 0,
            request_misses: 0,
        }
    }

    /// Whether the request memo pays: after 256 lines, only while at least one request
    /// in eight was seen before in the batch (with every request distinct, hashing and
    /// storing them cost ~3 % of the throughput for nothing).
    fn memo_requests(&self) -> bool {
        self.request_lookups < 256 || self.request_misses < self.request_lookups / 8 * 7
    }

    /// The tags of a User-Agent, scanned on first sight.
    pub fn ua(&mut self, ua: &'a str) -> &UaTags<'f> {
        let (filter, scratch) = (self.filter, &mut self.scratch);
        self.ua.entry(ua).or_insert_with(|| {
            let mut hits = Vec::new();
            if let Some(a) = &filter.attacks {
                a.scan(Field::UserAgent, ua, scratch, &mut hits);
            }
            UaTags {
                keywords: filter.tagger.ua_matches(ua),
                hits,
            }
        })
    }

    /// Appends `,"attacks":[…]` for a parsed line (nothing when tagging is off): the hits
    /// in field order (request, target, user_agent, referer, forwarded, extra), each
    /// field's in rule order. A chained client field is not scanned (it parsed as
    /// addresses).
    pub fn write_attacks(&mut self, out: &mut Vec<u8>, p: &Parsed<'a>) {
        let Some(attacks) = &self.filter.attacks else {
            return;
        };
        out.extend_from_slice(b",\"attacks\":[");
        let memo = self.memo_requests();
        let scratch = &mut self.scratch;
        // A layout without `$request` but with `$request_uri`: the target stands in for it.
        let mut comma = false;
        if let Some(request) = p.request.or(p.target)
            && attacks.wants(Field::Request)
        {
            if memo {
                let misses = &mut self.request_misses;
                let hits = self.request.entry(request).or_insert_with(|| {
                    *misses += 1;
                    let mut v = Vec::new();
                    attacks.scan(Field::Request, request, scratch, &mut v);
                    v
                });
                self.request_lookups += 1;
                comma = write_hits(out, attacks, hits, comma);
            } else {
                self.hits.clear();
                attacks.scan(Field::Request, request, scratch, &mut self.hits);
                comma = write_hits(out, attacks, &self.hits, comma);
            }
        }
        self.hits.clear();
        if let Some(t) = p.target {
            attacks.scan(Field::Target, t, &mut self.scratch, &mut self.hits);
        }
        comma = write_hits(out, attacks, &self.hits, comma);
        if let Some(ua) = p.user_agent {
            let hits = &self.ua(ua).hits;
            comma = write_hits(out, attacks, hits, comma);
        }
        self.hits.clear();
        if let Some(r) = p.referer {
            attacks.scan(Field::Referer, r, &mut self.scratch, &mut self.hits);
        }
        if let Some(f) = p.forwarded {
            attacks.scan(Field::Forwarded, f, &mut self.scratch, &mut self.hits);
        }
        for (_, value) in &p.extra {
            attacks.scan(Field::Extra, value, &mut self.scratch, &mut self.hits);
        }
        write_hits(out, attacks, &self.hits, comma);
        out.push(b']');
    }

    /// Appends `,"attacks":[…]` for a line that did not parse, when a rule matches it
    /// (an error record has no `attacks` key otherwise).
    pub fn write_raw_attacks(&mut self, out: &mut Vec<u8>, line: &str) {
        let Some(attacks) = &self.filter.attacks else {
            return;
        };
        self.hits.clear();
        attacks.scan(Field::Raw, line, &mut self.scratch, &mut self.hits);
        if !self.hits.is_empty() {
            out.extend_from_slice(b",\"attacks\":[");
            write_hits(out, attacks, &self.hits, false);
            out.push(b']');
        }
    }
}

/// Appends `{"rule","field","match"}` per hit, comma-separated, with a leading comma when
/// `comma`; returns whether the next one needs a comma.
fn write_hits(out: &mut Vec<u8>, attacks: &Attacks, hits: &[Hit], mut comma: bool) -> bool {
    for h in hits {
        if comma {
            out.push(b',');
        }
        comma = true;
        out.extend_from_slice(b"{\"rule\":");
        json::str(out, attacks.rule_id(h.rule));
        out.extend_from_slice(b",\"field\":\"");
        out.extend_from_slice(h.field.name().as_bytes());
        out.extend_from_slice(b"\",\"match\":");
        json::str(out, &h.evidence);
        out.push(b'}');
    }
    comma
}
