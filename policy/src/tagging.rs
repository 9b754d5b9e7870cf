//! The per-line tags of a batch: the scanner keywords of a line's User-Agent and its
//! attack hits, each computed once per distinct field value.
//!
//! Honeypot traffic repeats itself: the same few User-Agents and requests make most of a
//! batch. User-Agents, requests and Referers are remembered for the batch (keyed by the
//! borrowed text), so a repeated value costs one hash lookup and one copy of its hits'
//! JSON. When nearly every value is new (after 256 lookups in a batch, seven in eight
//! missed), the rest of the batch scans without the memo: remembering them would cost
//! more than it saves.
//!
//! Nothing is remembered across batches: a cache of the values of earlier batches (two
//! generations, values admitted on their second sight) was tried and measured slower in
//! the component on the bench corpus (80.9 % of untagged throughput with it, 82.5 %
//! without): probing a table of thousands of values whose texts are spread over a large
//! buffer cost more than the scans it saved.

use std::collections::hash_map::{Entry, VacantEntry};
use std::hash::{Hash, Hasher};

use rustc_hash::FxHashMap;

use crate::attacks::{Attacks, Field, Hits, Scratch};
use crate::json;
use crate::parse::Parsed;
use crate::settings::Filter;

/// Where a value's hits are in [`LineTags`]' buffer of encoded hits: their
/// `{"rule",…},{…}` JSON, empty when there is none.
#[derive(Debug, Clone, Copy, Default)]
struct Encoded {
    start: u32,
    end: u32,
}

/// A User-Agent seen in the batch (see [`LineTags::ua`]).
#[derive(Debug, Clone, Copy)]
pub struct UaSlot(u32);

/// What a User-Agent carries.
#[derive(Debug, Default)]
struct UaTags<'f> {
    /// The scanner keywords it matches.
    keywords: Vec<&'f str>,
    /// The attack rules it matches.
    hits: Encoded,
}

/// The memos and buffers of one batch.
pub struct LineTags<'f, 'a> {
    filter: &'f Filter,
    scratch: Scratch,
    hits: Hits,
    /// The JSON of the memoized values' hits (see [`Encoded`]).
    encoded: Vec<u8>,
    ua: FxHashMap<Key<'a>, UaSlot>,
    uas: Vec<UaTags<'f>>,
    /// The requests and Referers of the batch.
    seen: FxHashMap<(Field, Key<'a>), Encoded>,
    lookups: u32,
    misses: u32,
}

/// A memo key: a field's text, hashed as a `str` and compared by [`same`].
#[derive(Debug, Clone, Copy)]
struct Key<'a>(&'a str);

impl Encoded {
    /// `start..end` of the buffer, which holds one batch's distinct values' hits: far
    /// below 4 GiB.
    fn span(start: usize, end: usize) -> Self {
        let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Self {
            start: offset(start),
            end: offset(end),
        }
    }

    fn of(self, encoded: &[u8]) -> &[u8] {
        &encoded[self.start as usize..self.end as usize]
    }
}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        same(self.0.as_bytes(), other.0.as_bytes())
    }
}

impl Eq for Key<'_> {}

impl<'f, 'a> LineTags<'f, 'a> {
    /// Empty memos for a batch run with `filter`.
    pub fn new(filter: &'f Filter) -> Self {
        Self {
            filter,
            scratch: Scratch::default(),
            hits: Hits::default(),
            encoded: Vec::new(),
            ua: FxHashMap::default(),
            uas: Vec::new(),
            // A batch's distinct requests are about 480 on the bench corpus (a quarter
            // of 2048 lines): growing from empty rehashed six times per batch, from 256
            // twice (perf: 5 % of what attack tags cost).
            seen: if filter.attacks.is_some() {
                FxHashMap::with_capacity_and_hasher(1024, Default::default())
            } else {
                FxHashMap::default()
            },
            lookups: 0,
            misses: 0,
        }
    }

    /// Whether remembering requests and Referers pays in this batch (see the module
    /// documentation).
    fn memo_pays(&self) -> bool {
        self.lookups < 256 || self.misses < self.lookups / 8 * 7
    }

    /// A User-Agent's slot, its tags computed on first sight. A line looks its
    /// User-Agent up once: the slot gives its keywords and its hits.
    pub fn ua(&mut self, ua: &'a str) -> UaSlot {
        if let Some(&slot) = self.ua.get(&Key(ua)) {
            return slot;
        }
        let hits = match &self.filter.attacks {
            Some(a) => encode_hits(
                a,
                Field::UserAgent,
                ua,
                &mut self.scratch,
                &mut self.hits,
                &mut self.encoded,
            ),
            None => Encoded::default(),
        };
        let slot = UaSlot(u32::try_from(self.uas.len()).unwrap_or(u32::MAX));
        self.uas.push(UaTags {
            keywords: self.filter.tagger.ua_matches(ua),
            hits,
        });
        self.ua.insert(Key(ua), slot);
        slot
    }

    /// The scanner keywords of a User-Agent.
    pub fn ua_keywords(&self, slot: UaSlot) -> &[&'f str] {
        &self.uas[slot.0 as usize].keywords
    }

    /// Appends `,"attacks":[…]` for a parsed line (nothing when tagging is off): the hits
    /// in field order (request, target, user_agent, referer, forwarded, extra, message), each
    /// field's in rule order. `ua` is the slot of the line's User-Agent. A chained client
    /// field is not scanned (it parsed as addresses).
    pub fn write_attacks(&mut self, out: &mut Vec<u8>, p: &Parsed<'a>, ua: Option<UaSlot>) {
        let Some(attacks) = &self.filter.attacks else {
            return;
        };
        out.extend_from_slice(b",\"attacks\":[");
        let mut comma = false;
        // A layout without `$request` but with `$request_uri`: the target stands in for it.
        if let Some(request) = p.request.or(p.target) {
            comma = self.field(out, Field::Request, request, comma);
        }
        if let Some(t) = p.target.filter(|_| attacks.wants(Field::Target)) {
            comma = self.field(out, Field::Target, t, comma);
        }
        if let Some(slot) = ua {
            let json = self.uas[slot.0 as usize].hits.of(&self.encoded);
            comma = copy_json(out, json, comma);
        }
        if let Some(r) = p.referer {
            comma = self.field(out, Field::Referer, r, comma);
        }
        if let Some(f) = p.forwarded {
            comma = self.field(out, Field::Forwarded, f, comma);
        }
        if !p.extra.is_empty() {
            self.hits.clear();
            for (_, value) in &p.extra {
                attacks.scan(Field::Extra, value, &mut self.scratch, &mut self.hits);
            }
            comma = write_hits(out, attacks, &self.hits, comma);
        }
        if let Some(e) = p.error_log() {
            self.field(out, Field::Message, e.message, comma);
        }
        out.push(b']');
    }

    /// Appends the hits of one field's value (after a comma when `comma` and there are
    /// any), remembered for a request or a Referer while that pays; returns whether the
    /// next hit needs a comma.
    fn field(&mut self, out: &mut Vec<u8>, field: Field, text: &'a str, comma: bool) -> bool {
        let filter = self.filter;
        let Some(attacks) = &filter.attacks else {
            return comma;
        };
        if !attacks.wants(field) {
            return comma;
        }
        if !(matches!(field, Field::Request | Field::Referer) && self.memo_pays()) {
            self.hits.clear();
            attacks.scan(field, text, &mut self.scratch, &mut self.hits);
            return write_hits(out, attacks, &self.hits, comma);
        }
        self.lookups += 1;
        // A repeated value (three in four on the bench corpus) costs the lookup and a
        // copy; the scan of a new one is out of line, which kept the compiled component
        // from spilling this path's registers. One hash and probe serve both.
        match self.seen.entry((field, Key(text))) {
            Entry::Occupied(at) => copy_json(out, at.get().of(&self.encoded), comma),
            Entry::Vacant(slot) => {
                self.misses += 1;
                remember(
                    slot,
                    out,
                    attacks,
                    &mut self.scratch,
                    &mut self.hits,
                    &mut self.encoded,
                    comma,
                )
            }
        }
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

/// `a == b`, comparing `u64` words (the last word overlaps the one before it). The
/// guest's `memcmp` (compiler-builtins on wasm32) compares a byte at a time: comparing
/// memo keys with it was 6 % of the component's time on the bench corpus (perf), with
/// attack tags off as well as on.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let word = |s: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[at..at + 8]);
        u64::from_ne_bytes(w)
    };
    let last = a.len() - 8;
    (0..last).step_by(8).all(|at| word(a, at) == word(b, at)) && word(a, last) == word(b, last)
}

/// [`LineTags::field`] for a value not seen before in the batch: scans it, remembers
/// its hits in `slot` and appends them to `out`.
#[inline(never)]
fn remember<'a>(
    slot: VacantEntry<'_, (Field, Key<'a>), Encoded>,
    out: &mut Vec<u8>,
    attacks: &Attacks,
    scratch: &mut Scratch,
    hits: &mut Hits,
    encoded: &mut Vec<u8>,
    comma: bool,
) -> bool {
    let (field, Key(text)) = *slot.key();
    let at = encode_hits(attacks, field, text, scratch, hits, encoded);
    slot.insert(at);
    copy_json(out, at.of(encoded), comma)
}

/// Scans `text` as `field` and appends its hits' JSON to `encoded`; returns where.
fn encode_hits(
    attacks: &Attacks,
    field: Field,
    text: &str,
    scratch: &mut Scratch,
    hits: &mut Hits,
    encoded: &mut Vec<u8>,
) -> Encoded {
    hits.clear();
    attacks.scan(field, text, scratch, hits);
    let start = encoded.len();
    write_hits(encoded, attacks, hits, false);
    Encoded::span(start, encoded.len())
}

/// Appends encoded hits, with a leading comma when `comma` and there are any; returns
/// whether the next one needs a comma.
fn copy_json(out: &mut Vec<u8>, json: &[u8], comma: bool) -> bool {
    if json.is_empty() {
        return comma;
    }
    if comma {
        out.push(b',');
    }
    json::append(out, json);
    true
}

/// Appends `{"rule","field","match"}` per hit, comma-separated, with a leading comma when
/// `comma`; returns whether the next one needs a comma.
fn write_hits(out: &mut Vec<u8>, attacks: &Attacks, hits: &Hits, mut comma: bool) -> bool {
    for (h, evidence) in hits.iter() {
        if comma {
            out.push(b',');
        }
        comma = true;
        out.extend_from_slice(b"{\"rule\":");
        json::append(out, attacks.rule_id_json(h.rule));
        out.extend_from_slice(b",\"field\":\"");
        json::append(out, h.field.name().as_bytes());
        out.extend_from_slice(b"\",\"match\":");
        json::str(out, evidence);
        out.push(b'}');
    }
    comma
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::same;

    proptest! {
        #[test]
        fn same_is_slice_equality(
            a in proptest::collection::vec(0u8..4, 0..40),
            b in proptest::collection::vec(0u8..4, 0..40),
        ) {
            prop_assert_eq!(same(&a, &b), a == b);
            prop_assert!(same(&a, &a.clone()));
        }
    }
}
