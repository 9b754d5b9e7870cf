//! One enriched record as the component writes it (the canonical encoding documented in
//! `wit/logenrich.wit`, `jsonl-batch`, and README § Output), reduced to what the report
//! keeps of a line: [`Facts`].
//!
//! A client's `dns`, `dnsbl` and `geo` are the same on each of its lines (the component
//! enriches a client once per batch), so they are only borrowed as raw JSON and decoded
//! the first time a parser thread meets the client ([`ClientDetails`]).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// The longest target, User-Agent or reason kept, in bytes; longer ones are cut (on a
/// character boundary) and end in `…`.
pub const MAX_TEXT: usize = 300;

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    file: Option<Cow<'a, str>>,
    #[serde(default)]
    line: Option<u64>,
    #[serde(borrow, default)]
    ip: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    time: Option<Cow<'a, str>>,
    #[serde(default)]
    status: Option<u64>,
    #[serde(borrow, default)]
    target: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    dns: Option<&'a RawValue>,
    #[serde(borrow, default)]
    dnsbl: Option<&'a RawValue>,
    #[serde(borrow, default)]
    geo: Option<&'a RawValue>,
    #[serde(borrow, default)]
    scanner: Option<Scanner<'a>>,
    #[serde(borrow, default)]
    attacks: Option<Vec<RawAttack<'a>>>,
    #[serde(borrow, default)]
    error: Option<ErrorField<'a>>,
    #[serde(borrow, default)]
    log_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    level: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawAttack<'a> {
    #[serde(borrow, default)]
    rule: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    field: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "match")]
    matched: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Scanner<'a> {
    #[serde(borrow, default)]
    sources: Vec<Cow<'a, str>>,
    #[serde(borrow, default)]
    matched: Vec<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorField<'a> {
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
}

/// The reverse-DNS outcome of a client.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Dns {
    /// The PTR name.
    #[serde(default)]
    pub name: Option<String>,
    /// `found`, `not_found`, `timeout` or `failed`.
    #[serde(default)]
    pub status: String,
}

/// One DNSBL verdict of a client.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Verdict {
    /// The zone.
    #[serde(default)]
    pub zone: String,
    /// Listed (never true for an error answer).
    #[serde(default)]
    pub listed: bool,
    /// The raw answers.
    #[serde(default)]
    pub answers: Vec<String>,
    /// What the answers mean.
    #[serde(default)]
    pub meanings: Vec<String>,
    /// The zone's TXT reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// The error (a failed query, or an error answer such as 127.255.255.254).
    #[serde(default)]
    pub error: Option<String>,
}

/// The GeoIP record of a client.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Geo {
    /// ISO country code.
    #[serde(default)]
    pub country_code: Option<String>,
    /// Country name.
    #[serde(default)]
    pub country: Option<String>,
    /// First subdivision.
    #[serde(default)]
    pub subdivision: Option<String>,
    /// City.
    #[serde(default)]
    pub city: Option<String>,
    /// Latitude.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude.
    #[serde(default)]
    pub lon: Option<f64>,
    /// AS number.
    #[serde(default)]
    pub asn: Option<u32>,
    /// AS organisation.
    #[serde(default)]
    pub as_org: Option<String>,
}

/// A client's lookups, decoded once per parser thread and client.
#[derive(Debug, Clone, Default)]
pub struct ClientDetails {
    /// Reverse DNS (`None` when it was off).
    pub dns: Option<Dns>,
    /// DNSBL verdicts, one per zone.
    pub dnsbl: Vec<Verdict>,
    /// GeoIP.
    pub geo: Option<Geo>,
}

/// Scanner evidence source bits.
pub const SRC_DNS: u8 = 1;
/// Scanner evidence source bits.
pub const SRC_UA: u8 = 2;

/// One attack tag of a line (strings in its [`Batch`], cut to [`MAX_TEXT`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attack {
    /// The rule id.
    pub rule: Span,
    /// The field it matched in.
    pub field: Option<Span>,
    /// The evidence (attacker-controlled text).
    pub matched: Option<Span>,
}

/// A span of [`Batch::text`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span(u32, u32);

/// The facts of a chunk of lines, their strings in one buffer (no allocation per line).
#[derive(Debug, Default)]
pub struct Batch {
    /// The strings of the facts, back to back.
    pub text: String,
    /// One per line.
    pub facts: Vec<Facts>,
}

impl Batch {
    /// The text of `span`.
    pub fn get(&self, span: Span) -> &str {
        self.text
            .get(span.0 as usize..span.1 as usize)
            .unwrap_or("")
    }

    /// Appends `s` cut to [`MAX_TEXT`] bytes (on a character boundary, then `…`).
    fn push_cut(&mut self, s: &str) -> Span {
        let start = self.text.len() as u32;
        if s.len() <= MAX_TEXT {
            self.text.push_str(s);
        } else {
            let mut end = MAX_TEXT;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&s[..end]);
            self.text.push('…');
        }
        Span(start, self.text.len() as u32)
    }

    /// The attack tags of a line (those without a rule are skipped).
    fn push_attacks(&mut self, raw: Option<Vec<RawAttack<'_>>>) -> Vec<Attack> {
        let mut out = Vec::new();
        for a in raw.into_iter().flatten() {
            let Some(rule) = a.rule else { continue };
            out.push(Attack {
                rule: self.push_cut(&rule),
                field: a.field.as_deref().map(|f| self.push_cut(f)),
                matched: a.matched.as_deref().map(|m| self.push_cut(m)),
            });
        }
        out
    }

    /// Parses one line and appends its facts. `known` says whether this thread has
    /// decoded the client's details before (then they are not decoded again).
    pub fn parse(&mut self, line: &[u8], known: &mut dyn FnMut(&str) -> bool) {
        let facts = self.parse_line(line, known);
        self.facts.push(facts);
    }

    fn parse_line(&mut self, line: &[u8], known: &mut dyn FnMut(&str) -> bool) -> Facts {
        // An ECS document (`--schema ecs`) is read as the record it was made from.
        let converted = crate::ecs::is_ecs(line)
            .then(|| crate::ecs::to_record(line))
            .flatten();
        let line = converted.as_deref().unwrap_or(line);
        let raw: Raw<'_> = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => {
                return Facts::Foreign {
                    reason: format!("not a logenrich record: {}", fold_digits(&e.to_string())),
                };
            }
        };
        if let Some(err) = raw.error {
            let reason = err.reason.as_deref().unwrap_or("no reason given");
            let at = match (&raw.file, raw.line) {
                (Some(f), Some(l)) => format!("{}:{l}", cut(f)),
                (None, Some(l)) => format!("line {l}"),
                (Some(f), None) => cut(f),
                (None, None) => String::from("?"),
            };
            return Facts::Error {
                reason: cut(&fold_digits(reason)),
                at,
                attacks: self.push_attacks(raw.attacks),
            };
        }
        let level = (raw.log_type.as_deref() == Some("error"))
            .then(|| raw.level.as_deref().map_or_else(|| "-".to_owned(), cut));
        let Some(ip) = raw.ip else {
            // An error-log line without a client (a server's own event).
            if let Some(level) = level {
                return Facts::Event { level };
            }
            return Facts::Foreign {
                reason: "not a logenrich record: no ip and no error".to_owned(),
            };
        };
        let mut facts = RecordFacts {
            ip: self.push_cut(&ip),
            time: raw.time.as_deref().and_then(crate::time::parse_utc),
            status: raw.status.and_then(|s| u16::try_from(s).ok()),
            target: raw.target.as_deref().map(|t| self.push_cut(t)),
            user_agent: raw.user_agent.as_deref().map(|u| self.push_cut(u)),
            attacks: self.push_attacks(raw.attacks),
            level,
            ..RecordFacts::default()
        };
        if let Some(s) = raw.scanner {
            for src in &s.sources {
                match src.as_ref() {
                    "dns" => facts.sources |= SRC_DNS,
                    "ua" => facts.sources |= SRC_UA,
                    _ => {}
                }
            }
            facts.matched = s.matched.iter().map(|m| self.push_cut(m)).collect();
        }
        if !known(&ip) {
            facts.details = Some(Box::new(ClientDetails {
                dns: raw
                    .dns
                    .and_then(|r| serde_json::from_str::<Option<Dns>>(r.get()).ok().flatten()),
                dnsbl: raw
                    .dnsbl
                    .and_then(|r| serde_json::from_str(r.get()).ok())
                    .unwrap_or_default(),
                geo: raw
                    .geo
                    .and_then(|r| serde_json::from_str::<Option<Geo>>(r.get()).ok().flatten()),
            }));
        }
        Facts::Record(facts)
    }
}

/// What the report keeps of one line.
#[derive(Debug)]
pub enum Facts {
    /// An enriched record.
    Record(RecordFacts),
    /// A line that did not parse (the component's error record).
    Error {
        /// The reason, digits folded to `N` so that like errors group.
        reason: String,
        /// `file:line` or `line`.
        at: String,
        /// Attack tags (a `raw` rule such as a TLS handshake; no client to credit).
        attacks: Vec<Attack>,
    },
    /// An error-log record without a client (a server's own event, `start worker
    /// processes`).
    Event {
        /// Its level.
        level: String,
    },
    /// A line that is not a logenrich record at all.
    Foreign {
        /// Why.
        reason: String,
    },
}

/// What the report keeps of an enriched line (strings in its [`Batch`]).
#[derive(Debug, Default)]
pub struct RecordFacts {
    /// The client address.
    pub ip: Span,
    /// Unix time.
    pub time: Option<i64>,
    /// HTTP status.
    pub status: Option<u16>,
    /// Request target (cut to [`MAX_TEXT`]).
    pub target: Option<Span>,
    /// User-Agent (cut to [`MAX_TEXT`]).
    pub user_agent: Option<Span>,
    /// Scanner evidence sources ([`SRC_DNS`] | [`SRC_UA`]).
    pub sources: u8,
    /// Scanner keywords matched.
    pub matched: Vec<Span>,
    /// Attack tags.
    pub attacks: Vec<Attack>,
    /// The client's lookups, when this parser thread meets it first.
    pub details: Option<Box<ClientDetails>>,
    /// The level of an error-log record (`log_type` `error`); `None` for an access line.
    pub level: Option<String>,
}

/// Cuts `s` to at most [`MAX_TEXT`] bytes on a character boundary.
pub fn cut(s: &str) -> String {
    let mut b = Batch::default();
    let span = b.push_cut(s);
    b.get(span).to_owned()
}

/// Folds each run of ASCII digits to `N`, so that "line of 70000 bytes" and "line of 80000
/// bytes" are one reason.
pub fn fold_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_digits = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// Parses one line on its own (tests and small inputs).
#[cfg(test)]
pub fn parse_one(line: &[u8], known: &mut dyn FnMut(&str) -> bool) -> Batch {
    let mut b = Batch::default();
    b.parse(line, known);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"line":7,"ip":"198.51.100.9","user":null,"time":"2022-07-15T02:44:54Z","time_offset":"+0200","method":"GET","target":"/","protocol":"HTTP/1.1","request":"GET / HTTP/1.1","status":200,"bytes":3167,"referer":null,"user_agent":"Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)","forwarded":[],"server_port":443,"host":"198.51.100.77","dns":{"name":"scanner-9.census.shodan.io","status":"found"},"dnsbl":[{"zone":"zen.spamhaus.org","listed":true,"answers":["127.0.0.4"],"meanings":["XBL: CBL data (exploited or infected host)"],"reason":null,"error":null}],"geo":{"country_code":"NL","country":"Netherlands","subdivision":null,"city":"Amsterdam","lat":52.37,"lon":4.89,"accuracy_radius":20,"time_zone":"Europe/Amsterdam","asn":64500,"as_org":"Example AS"},"scanner":{"sources":["dns","ua"],"matched":["shodan.io","censys.io"]}}"#;

    #[test]
    fn parses_the_readme_record() {
        let b = parse_one(LINE.as_bytes(), &mut |_| false);
        let Facts::Record(r) = &b.facts[0] else {
            panic!("not a record");
        };
        assert_eq!(b.get(r.ip), "198.51.100.9");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.time, Some(1_657_853_094));
        assert_eq!(r.sources, SRC_DNS | SRC_UA);
        let matched: Vec<&str> = r.matched.iter().map(|&m| b.get(m)).collect();
        assert_eq!(matched, ["shodan.io", "censys.io"]);
        let d = r
            .details
            .as_ref()
            .expect("details decoded for a new client");
        assert_eq!(
            d.dns.as_ref().unwrap().name.as_deref(),
            Some("scanner-9.census.shodan.io")
        );
        assert!(d.dnsbl[0].listed);
        assert_eq!(d.geo.as_ref().unwrap().city.as_deref(), Some("Amsterdam"));
    }

    #[test]
    fn known_clients_are_not_decoded_again() {
        let b = parse_one(LINE.as_bytes(), &mut |_| true);
        let Facts::Record(r) = &b.facts[0] else {
            panic!("not a record");
        };
        assert!(r.details.is_none());
    }

    #[test]
    fn error_records_and_foreign_lines() {
        let e = br#"{"file":"a.log","line":12,"error":{"column":null,"reason":"line of 70000 bytes is longer than the limit"},"raw":"x"}"#;
        match parse_one(e, &mut |_| false).facts.remove(0) {
            Facts::Error { reason, at, .. } => {
                assert_eq!(reason, "line of N bytes is longer than the limit");
                assert_eq!(at, "a.log:12");
            }
            other => panic!("{other:?}"),
        }
        for foreign in [&b"not json"[..], b"{}"] {
            let b = parse_one(foreign, &mut |_| false);
            assert!(matches!(b.facts[0], Facts::Foreign { .. }));
        }
    }

    #[test]
    fn escaped_strings_are_decoded_and_long_ones_cut() {
        let long = "é".repeat(400);
        let line =
            format!(r#"{{"ip":"192.0.2.1","target":"\u003cb\u003e","user_agent":"{long}"}}"#);
        let b = parse_one(line.as_bytes(), &mut |_| false);
        let Facts::Record(r) = &b.facts[0] else {
            panic!("not a record");
        };
        assert_eq!(b.get(r.target.unwrap()), "<b>");
        let ua = b.get(r.user_agent.unwrap());
        assert!(ua.len() <= MAX_TEXT + '…'.len_utf8() && ua.ends_with('…'));
    }
}
