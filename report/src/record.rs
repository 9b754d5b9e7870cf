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
    error: Option<ErrorField<'a>>,
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

/// What the report keeps of one line.
#[derive(Debug)]
pub enum Facts {
    /// An enriched record.
    Record(Box<RecordFacts>),
    /// A line that did not parse (the component's error record).
    Error {
        /// The reason, digits folded to `N` so that like errors group.
        reason: String,
        /// `file:line` or `line`.
        at: String,
    },
    /// A line that is not a logenrich record at all.
    Foreign {
        /// Why.
        reason: String,
    },
}

/// What the report keeps of an enriched line.
#[derive(Debug, Default)]
pub struct RecordFacts {
    /// The client address.
    pub ip: String,
    /// Unix time.
    pub time: Option<i64>,
    /// HTTP status.
    pub status: Option<u16>,
    /// Request target (cut to [`MAX_TEXT`]).
    pub target: Option<String>,
    /// User-Agent (cut to [`MAX_TEXT`]).
    pub user_agent: Option<String>,
    /// Scanner evidence sources ([`SRC_DNS`] | [`SRC_UA`]).
    pub sources: u8,
    /// Scanner keywords matched.
    pub matched: Vec<String>,
    /// The client's lookups, when this parser thread meets it first.
    pub details: Option<ClientDetails>,
}

/// Cuts `s` to at most [`MAX_TEXT`] bytes on a character boundary.
pub fn cut(s: &str) -> String {
    if s.len() <= MAX_TEXT {
        return s.to_owned();
    }
    let mut end = MAX_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
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

/// Parses one line. `known` says whether this thread has decoded the client's details
/// before (then they are not decoded again).
pub fn parse(line: &[u8], known: &mut dyn FnMut(&str) -> bool) -> Facts {
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
        };
    }
    let Some(ip) = raw.ip else {
        return Facts::Foreign {
            reason: "not a logenrich record: no ip and no error".to_owned(),
        };
    };
    let mut facts = RecordFacts {
        time: raw.time.as_deref().and_then(crate::time::parse_utc),
        status: raw.status.and_then(|s| u16::try_from(s).ok()),
        target: raw.target.as_deref().map(cut),
        user_agent: raw.user_agent.as_deref().map(cut),
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
        facts.matched = s.matched.iter().map(|m| cut(m)).collect();
    }
    if !known(&ip) {
        facts.details = Some(ClientDetails {
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
        });
    }
    facts.ip = ip.into_owned();
    Facts::Record(Box::new(facts))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"line":7,"ip":"198.51.100.9","user":null,"time":"2022-07-15T02:44:54Z","time_offset":"+0200","method":"GET","target":"/","protocol":"HTTP/1.1","request":"GET / HTTP/1.1","status":200,"bytes":3167,"referer":null,"user_agent":"Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)","forwarded":[],"server_port":443,"host":"198.51.100.77","dns":{"name":"scanner-9.census.shodan.io","status":"found"},"dnsbl":[{"zone":"zen.spamhaus.org","listed":true,"answers":["127.0.0.4"],"meanings":["XBL: CBL data (exploited or infected host)"],"reason":null,"error":null}],"geo":{"country_code":"NL","country":"Netherlands","subdivision":null,"city":"Amsterdam","lat":52.37,"lon":4.89,"accuracy_radius":20,"time_zone":"Europe/Amsterdam","asn":64500,"as_org":"Example AS"},"scanner":{"sources":["dns","ua"],"matched":["shodan.io","censys.io"]}}"#;

    #[test]
    fn parses_the_readme_record() {
        let Facts::Record(r) = parse(LINE.as_bytes(), &mut |_| false) else {
            panic!("not a record");
        };
        assert_eq!(r.ip, "198.51.100.9");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.time, Some(1_657_853_094));
        assert_eq!(r.sources, SRC_DNS | SRC_UA);
        assert_eq!(r.matched, ["shodan.io", "censys.io"]);
        let d = r.details.expect("details decoded for a new client");
        assert_eq!(
            d.dns.unwrap().name.as_deref(),
            Some("scanner-9.census.shodan.io")
        );
        assert!(d.dnsbl[0].listed);
        assert_eq!(d.geo.unwrap().city.as_deref(), Some("Amsterdam"));
    }

    #[test]
    fn known_clients_are_not_decoded_again() {
        let Facts::Record(r) = parse(LINE.as_bytes(), &mut |_| true) else {
            panic!("not a record");
        };
        assert!(r.details.is_none());
    }

    #[test]
    fn error_records_and_foreign_lines() {
        let e = br#"{"file":"a.log","line":12,"error":{"column":null,"reason":"line of 70000 bytes is longer than the limit"},"raw":"x"}"#;
        match parse(e, &mut |_| false) {
            Facts::Error { reason, at } => {
                assert_eq!(reason, "line of N bytes is longer than the limit");
                assert_eq!(at, "a.log:12");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(b"not json", &mut |_| false),
            Facts::Foreign { .. }
        ));
        assert!(matches!(
            parse(b"{}", &mut |_| false),
            Facts::Foreign { .. }
        ));
    }

    #[test]
    fn escaped_strings_are_decoded_and_long_ones_cut() {
        let long = "é".repeat(400);
        let line =
            format!(r#"{{"ip":"192.0.2.1","target":"\u003cb\u003e","user_agent":"{long}"}}"#);
        let Facts::Record(r) = parse(line.as_bytes(), &mut |_| false) else {
            panic!("not a record");
        };
        assert_eq!(r.target.as_deref(), Some("<b>"));
        let ua = r.user_agent.unwrap();
        assert!(ua.len() <= MAX_TEXT + '…'.len_utf8() && ua.ends_with('…'));
    }
}
