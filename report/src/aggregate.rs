//! Folding [`Facts`] into the report's tallies: one entry per distinct client (its lookups,
//! requests, scanner evidence, a few User-Agents) and the per-line figures (status codes,
//! targets, User-Agents, scanner keywords, attack rules, requests over time, parse errors). The figures
//! that depend only on the client (countries, ASNs, PTR domains, DNSBL verdicts, scanner
//! sources) are derived from the client table when the report is written.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::attacks::Attacks;
use crate::record::{Batch, ClientDetails, Facts, RecordFacts};
use crate::topk::{Bounded, Tally, Weight};

/// Distinct targets and User-Agents kept (see [`Bounded`]).
const VALUE_CAP: usize = 20_000;
/// Distinct parse-error reasons kept.
const REASON_CAP: usize = 1_000;
/// Scanner keywords and User-Agents remembered per client.
const PER_CLIENT: usize = 8;
/// Where each parse-error reason was seen: the first few places.
const ERROR_PLACES: usize = 50;
/// Time buckets kept before they are merged into larger ones.
const MAX_BUCKETS: usize = 4_000;

/// One distinct client.
#[derive(Debug)]
pub struct Client {
    /// Its address.
    pub ip: Box<str>,
    /// Lines from it.
    pub requests: u64,
    /// Its lookups (from the first line a parser thread decoded).
    pub details: ClientDetails,
    /// Scanner evidence sources seen on any of its lines.
    pub sources: u8,
    /// Scanner keywords matched on any of its lines (at most [`PER_CLIENT`]).
    pub matched: Vec<Box<str>>,
    /// Distinct User-Agents (the first [`PER_CLIENT`]).
    pub agents: Vec<Box<str>>,
}

/// The lines of one parse-error reason.
#[derive(Debug, Default)]
pub struct ErrorTally {
    /// How many lines.
    pub count: u64,
    /// The first places (`file:line`).
    pub at: Vec<String>,
}

impl Weight for ErrorTally {
    fn weight(&self) -> u64 {
        self.count
    }
}

/// Headline counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Lines read.
    pub lines: u64,
    /// Enriched records.
    pub records: u64,
    /// Error records (lines logenrich could not parse).
    pub errors: u64,
    /// Lines that were not logenrich records at all.
    pub foreign: u64,
    /// Distinct clients.
    pub clients: u64,
    /// Clients with a location.
    pub located: u64,
    /// Distinct locations (map markers).
    pub locations: u64,
}

/// Everything the report shows, before it is laid out.
#[derive(Debug)]
pub struct Aggregate {
    /// The clients, in order of first appearance (their index is their id).
    pub clients: Vec<Client>,
    index: FxHashMap<Box<str>, u32>,
    /// Headline counts (clients and locations are filled in by [`Aggregate::totals`]).
    pub counts: Totals,
    /// By HTTP status.
    pub statuses: FxHashMap<u16, Tally>,
    /// Error-log records by level (those without a client count their lines only).
    pub levels: FxHashMap<String, Tally>,
    /// By request target.
    pub targets: Bounded<String, Tally>,
    /// By User-Agent.
    pub agents: Bounded<String, Tally>,
    /// By scanner keyword (lines whose record matched it).
    pub keywords: FxHashMap<String, Tally>,
    /// By attack rule (lines tagged with it, error records included).
    pub attacks: Attacks,
    /// Requests per time bucket (bucket start, Unix seconds).
    pub buckets: BTreeMap<i64, Tally>,
    /// The width of a time bucket, seconds.
    pub bucket_secs: i64,
    /// Records without a time.
    pub untimed: u64,
    /// Parse errors and foreign lines by reason.
    pub reasons: Bounded<String, ErrorTally>,
}

impl Default for Aggregate {
    fn default() -> Self {
        Aggregate {
            clients: Vec::new(),
            index: FxHashMap::default(),
            counts: Totals::default(),
            statuses: FxHashMap::default(),
            levels: FxHashMap::default(),
            targets: Bounded::new(VALUE_CAP),
            agents: Bounded::new(VALUE_CAP),
            keywords: FxHashMap::default(),
            attacks: Attacks::default(),
            buckets: BTreeMap::new(),
            bucket_secs: 3600,
            untimed: 0,
            reasons: Bounded::new(REASON_CAP),
        }
    }
}

impl Aggregate {
    /// Folds in a batch of lines.
    pub fn add(&mut self, batch: Batch) {
        let Batch { text, facts } = batch;
        let text = Batch {
            text,
            facts: Vec::new(),
        };
        for f in facts {
            self.add_one(&text, f);
        }
    }

    fn add_one(&mut self, text: &Batch, facts: Facts) {
        self.counts.lines += 1;
        match facts {
            Facts::Record(r) => self.add_record(text, r),
            Facts::Error {
                reason,
                at,
                attacks,
            } => {
                self.counts.errors += 1;
                self.attacks.add(text, &attacks, None);
                let t = self.reasons.entry(reason.as_str());
                t.count += 1;
                if t.at.len() < ERROR_PLACES {
                    t.at.push(at);
                }
            }
            Facts::Event { level } => {
                self.counts.records += 1;
                self.levels.entry(level).or_default().requests += 1;
            }
            Facts::Foreign { reason } => {
                self.counts.foreign += 1;
                self.reasons.entry(reason.as_str()).count += 1;
            }
        }
    }

    fn add_record(&mut self, text: &Batch, r: RecordFacts) {
        self.counts.records += 1;
        let ip = text.get(r.ip);
        let id = match self.index.get(ip) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.clients.len()).unwrap_or(u32::MAX);
                let ip: Box<str> = ip.into();
                self.index.insert(ip.clone(), id);
                self.clients.push(Client {
                    ip,
                    requests: 0,
                    details: ClientDetails::default(),
                    sources: 0,
                    matched: Vec::new(),
                    agents: Vec::new(),
                });
                id
            }
        };
        let client = &mut self.clients[id as usize];
        client.requests += 1;
        if let Some(d) = r.details {
            // The first decoded details win, but a found PTR name replaces a failure.
            let c = &mut client.details;
            let found = |d: &ClientDetails| d.dns.as_ref().is_some_and(|x| x.name.is_some());
            let empty = c.dns.is_none() && c.geo.is_none() && c.dnsbl.is_empty();
            if empty || (!found(c) && found(&d)) {
                *c = *d;
            }
        }
        client.sources |= r.sources;
        for &m in &r.matched {
            let m = text.get(m);
            if client.matched.len() < PER_CLIENT && !client.matched.iter().any(|x| **x == *m) {
                client.matched.push(m.into());
            }
        }
        let ua = r.user_agent.map(|u| text.get(u));
        if let Some(ua) = ua
            && client.agents.len() < PER_CLIENT
            && !client.agents.iter().any(|x| **x == *ua)
        {
            client.agents.push(ua.into());
        }
        if let Some(s) = r.status {
            self.statuses.entry(s).or_default().add(id);
        }
        if let Some(level) = r.level {
            self.levels.entry(level).or_default().add(id);
        }
        if let Some(t) = r.target {
            self.targets.entry(text.get(t)).add(id);
        }
        if let Some(ua) = ua {
            self.agents.entry(ua).add(id);
        }
        for &m in &r.matched {
            let m = text.get(m);
            match self.keywords.get_mut(m) {
                Some(t) => t.add(id),
                None => self.keywords.entry(m.to_owned()).or_default().add(id),
            }
        }
        self.attacks.add(text, &r.attacks, Some(id));
        match r.time {
            Some(t) => {
                let start = t.div_euclid(self.bucket_secs) * self.bucket_secs;
                self.buckets.entry(start).or_default().add(id);
                if self.buckets.len() > MAX_BUCKETS {
                    self.coarsen();
                }
            }
            None => self.untimed += 1,
        }
    }

    /// Merges time buckets into buckets a day (then a week, ...) wide.
    fn coarsen(&mut self) {
        self.bucket_secs *= if self.bucket_secs < 86_400 { 24 } else { 7 };
        let old = std::mem::take(&mut self.buckets);
        for (start, tally) in old {
            let s = start.div_euclid(self.bucket_secs) * self.bucket_secs;
            self.buckets.entry(s).or_default().merge(&tally);
        }
    }

    /// Headline counts.
    pub fn totals(&self) -> Totals {
        let mut t = self.counts;
        t.clients = self.clients.len() as u64;
        let mut places = rustc_hash::FxHashSet::default();
        for c in &self.clients {
            if let Some((lat, lon)) = c.location() {
                t.located += 1;
                places.insert((lat.to_bits(), lon.to_bits()));
            }
        }
        t.locations = places.len() as u64;
        t
    }
}

impl Client {
    /// Its latitude and longitude, when GeoIP has them.
    pub fn location(&self) -> Option<(f64, f64)> {
        let g = self.details.geo.as_ref()?;
        Some((g.lat?, g.lon?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::parse_one;

    fn agg(lines: &[String]) -> Aggregate {
        let mut a = Aggregate::default();
        for l in lines {
            a.add(parse_one(l.as_bytes(), &mut |_| false));
        }
        a
    }

    fn rec(ip: &str, time: &str, status: u16, target: &str, geo: &str) -> String {
        format!(
            r#"{{"line":1,"ip":"{ip}","time":"{time}","status":{status},"target":"{target}","user_agent":"ua-{ip}","dns":null,"dnsbl":[],"geo":{geo},"scanner":null}}"#
        )
    }

    #[test]
    fn error_log_records_count_by_level_with_or_without_a_client() {
        let lines = [
            r#"{"line":1,"log_type":"error","ip":"192.0.2.1","time":"2023-09-08T13:50:28Z","level":"error","message":"limiting requests","target":"/","dns":null,"dnsbl":[],"geo":null,"scanner":null,"attacks":[]}"#,
            r#"{"line":2,"log_type":"error","ip":"192.0.2.1","time":"2023-09-08T13:50:29Z","level":"warn","message":"x","dns":null,"dnsbl":[],"geo":null,"scanner":null,"attacks":[]}"#,
            r#"{"line":3,"log_type":"error","ip":null,"time":"2023-09-08T13:50:30Z","level":"notice","message":"start worker processes","dns":null,"dnsbl":[],"geo":null,"scanner":null,"attacks":[]}"#,
            r#"{"line":4,"ip":null,"time":"2023-09-08T13:50:30Z"}"#,
        ]
        .map(String::from);
        let a = agg(&lines);
        let t = a.totals();
        assert_eq!((t.records, t.foreign, t.clients), (3, 1, 1));
        assert_eq!(a.levels["error"].clients.len(), 1);
        assert_eq!(a.levels["warn"].requests, 1);
        assert_eq!(
            (
                a.levels["notice"].requests,
                a.levels["notice"].clients.len()
            ),
            (1, 0)
        );
        assert!(a.statuses.is_empty());
    }

    #[test]
    fn counts_clients_not_lines() {
        let geo = r#"{"country_code":"NL","lat":52.37,"lon":4.89}"#;
        let mut lines = Vec::new();
        for i in 0..1000 {
            let ip = format!("192.0.2.{}", i % 10);
            lines.push(rec(
                &ip,
                "2022-07-15T02:44:54Z",
                200 + (i % 2) as u16,
                "/",
                geo,
            ));
        }
        lines.push(rec(
            "192.0.2.200",
            "2022-07-15T05:00:00Z",
            404,
            "/x",
            "null",
        ));
        lines.push(
            r#"{"line":9,"error":{"column":3,"reason":"expected a date"},"raw":"junk"}"#.into(),
        );
        lines.push("garbage".into());
        let a = agg(&lines);
        let t = a.totals();
        assert_eq!(
            (
                t.lines,
                t.records,
                t.errors,
                t.foreign,
                t.clients,
                t.located,
                t.locations
            ),
            (1003, 1001, 1, 1, 11, 10, 1)
        );
        assert_eq!(a.statuses[&200].requests, 500);
        assert_eq!(a.statuses[&200].clients.len(), 5);
        assert_eq!(a.statuses[&404].clients.len(), 1);
        assert_eq!(a.clients[3].requests, 100);
        assert_eq!(a.buckets.len(), 2);
        assert_eq!(a.clients[0].agents.len(), 1);
    }

    #[test]
    fn time_buckets_stay_bounded() {
        let mut a = Aggregate::default();
        for h in 0..10_000i64 {
            let t = time::OffsetDateTime::from_unix_timestamp(1_600_000_000 + h * 3600)
                .unwrap()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            a.add(parse_one(
                rec("192.0.2.1", &t, 200, "/", "null").as_bytes(),
                &mut |_| true,
            ));
        }
        assert!(a.buckets.len() <= MAX_BUCKETS);
        assert_eq!(a.bucket_secs, 86_400);
        assert_eq!(a.buckets.values().map(|t| t.requests).sum::<u64>(), 10_000);
    }
}
