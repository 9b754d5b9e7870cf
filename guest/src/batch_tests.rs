//! The batch flow against a counting test double of the imports.

use super::*;
use crate::bindings::exports::logenrich::filter::filter::{DnsblCode, DnsblZone};
use crate::bindings::logenrich::filter::dnsbl::Listing;
use crate::state::default_config;

/// Answers like a small world and records every call.
#[derive(Default)]
struct Double {
    reverse_calls: Vec<Vec<IpAddress>>,
    dnsbl_calls: Vec<(String, Vec<IpAddress>)>,
    geoip_calls: Vec<Vec<IpAddress>>,
    short_answers: bool,
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddress {
    IpAddress::Ipv4((a, b, c, d))
}

impl Lookups for Double {
    fn reverse(&mut self, ips: &[IpAddress]) -> Vec<PtrResult> {
        self.reverse_calls.push(ips.to_vec());
        if self.short_answers {
            return Vec::new();
        }
        ips.iter()
            .map(|ip| match ip {
                IpAddress::Ipv4((198, 51, 100, 9)) => {
                    PtrResult::Found("scanner-9.census.shodan.io".into())
                }
                IpAddress::Ipv4((203, 0, 113, 1)) => PtrResult::Failed(LookupError::Timeout),
                IpAddress::Ipv6(_) => PtrResult::Found("v6.example.net".into()),
                _ => PtrResult::NotFound,
            })
            .collect()
    }
    fn dnsbl(&mut self, zone: &str, ips: &[IpAddress]) -> Vec<DnsblResult> {
        self.dnsbl_calls.push((zone.to_string(), ips.to_vec()));
        ips.iter()
            .map(|ip| match ip {
                IpAddress::Ipv4((198, 51, 100, 9)) => DnsblResult::Listed(Listing {
                    answers: vec![(127, 0, 0, 4)],
                    reason: Some("see https://example.test".into()),
                }),
                IpAddress::Ipv4((192, 0, 2, 38)) => DnsblResult::Listed(Listing {
                    answers: vec![(127, 255, 255, 254)],
                    reason: None,
                }),
                _ => DnsblResult::NotListed,
            })
            .collect()
    }
    fn geoip(&mut self, ips: &[IpAddress]) -> Vec<Option<GeoRecord>> {
        self.geoip_calls.push(ips.to_vec());
        ips.iter()
            .map(|ip| {
                (*ip == v4(198, 51, 100, 9)).then(|| GeoRecord {
                    country_code: Some("NL".into()),
                    country_name: Some("Netherlands".into()),
                    subdivision: None,
                    city: Some("Amsterdam".into()),
                    latitude: Some(52.37),
                    longitude: Some(4.89),
                    accuracy_radius: Some(20),
                    time_zone: None,
                    asn: Some(64500),
                    as_org: Some("Example AS".into()),
                })
            })
            .collect()
    }
}

fn lines() -> Vec<String> {
    [
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 404 232 "-" "Python-urllib/3.8" "-" 443 198.51.100.77"#,
        r#"198.51.100.9 - - [19/Jul/2022:13:23:21 +0200] "GET / HTTP/1.1" 200 3167 "-" "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)" "-""#,
        "garbage line",
        r#"192.0.2.38 - - [19/Jul/2022:13:23:22 +0200] "GET /x HTTP/1.1" 404 232 "-" "-" "-" 443"#,
        r#"2001:db8:1:c84::2de - - [18/Jul/2022:03:31:53 +0200] "GET /favicon.ico HTTP/1.1" 404 232 "-" "zgrab/0.x" "-" 443 [2001:db8:60::face]"#,
        r#"203.0.113.1 - - [19/Jul/2022:13:23:23 +0200] "GET / HTTP/1.1" 200 1 "-" "-""#,
        r#"198.51.100.9 - - [19/Jul/2022:13:23:24 +0200] "GET /robots.txt HTTP/1.1" 200 1 "-" "-" "-" 80"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn state_with_zone() -> State {
    let mut cfg = default_config();
    cfg.dnsbl_zones = vec![
        DnsblZone {
            zone: "zen.spamhaus.org".into(),
            codes: vec![],
        },
        DnsblZone {
            zone: "bl.example".into(),
            codes: vec![DnsblCode {
                answer: "127.0.0.4".into(),
                meaning: "exploited".into(),
            }],
        },
    ];
    State::new(&cfg).unwrap()
}

fn record(r: &LineResult) -> &LogRecord {
    match r {
        LineResult::Enriched(rec) => rec,
        LineResult::Error(e) => panic!("line {} did not parse: {}", e.line, e.reason),
    }
}

#[test]
fn one_call_per_import_with_unique_addresses() {
    let mut d = Double::default();
    let out = process(&state_with_zone(), &mut d, 10, lines());
    assert_eq!(out.len(), 7);
    let unique = vec![
        v4(192, 0, 2, 38),
        v4(198, 51, 100, 9),
        IpAddress::Ipv6((0x2001, 0xdb8, 1, 0xc84, 0, 0, 0, 0x2de)),
        v4(203, 0, 113, 1),
    ];
    assert_eq!(d.reverse_calls, vec![unique.clone()]);
    assert_eq!(d.geoip_calls, vec![unique.clone()]);
    assert_eq!(
        d.dnsbl_calls,
        vec![
            ("zen.spamhaus.org".to_string(), unique.clone()),
            ("bl.example".to_string(), unique)
        ]
    );
}

#[test]
fn records_are_assembled_in_order_with_enrichments() {
    let mut d = Double::default();
    let out = process(&state_with_zone(), &mut d, 10, lines());
    let numbers: Vec<u64> = out
        .iter()
        .map(|r| match r {
            LineResult::Enriched(rec) => rec.line,
            LineResult::Error(e) => e.line,
        })
        .collect();
    assert_eq!(numbers, (10..17).collect::<Vec<_>>());

    let LineResult::Error(e) = &out[2] else {
        panic!("line 12 should fail")
    };
    assert_eq!((e.column, e.raw.as_str()), (1, "garbage line"));

    let first = record(&out[0]);
    assert_eq!(first.time, 1_658_229_800); // 2022-07-19T11:23:20Z
    assert_eq!(first.dns.as_ref().unwrap().status, DnsStatus::NotFound);
    let zen = &first.dnsbl[0];
    assert!(!zen.listed, "127.255.255.254 must not count as a listing");
    assert!(zen.error.as_ref().unwrap().contains("public"));
    assert!(first.scanner.is_none());

    let scanner = record(&out[1]);
    assert_eq!(
        scanner.dns.as_ref().unwrap().name.as_deref(),
        Some("scanner-9.census.shodan.io")
    );
    let tag = scanner.scanner.as_ref().unwrap();
    assert_eq!(tag.sources, [ScannerSource::Dns, ScannerSource::Ua]);
    assert_eq!(tag.matched, ["shodan.io", "censys.io"]);
    assert!(scanner.dnsbl[0].listed);
    assert!(scanner.dnsbl[0].meanings[0].starts_with("XBL"));
    assert_eq!(
        scanner.dnsbl[0].reason.as_deref(),
        Some("see https://example.test")
    );
    assert_eq!(scanner.dnsbl[1].meanings, ["exploited"]);
    assert_eq!(
        scanner.geo.as_ref().unwrap().city.as_deref(),
        Some("Amsterdam")
    );

    // The same address later in the batch gets the same enrichment.
    let again = record(&out[6]);
    assert_eq!(again.geo, scanner.geo);
    assert_eq!(
        again.scanner.as_ref().unwrap().sources,
        [ScannerSource::Dns]
    );

    let timeout = record(&out[5]);
    let dns = timeout.dns.as_ref().unwrap();
    assert_eq!(
        (dns.status, dns.error.as_deref()),
        (DnsStatus::Timeout, Some("timeout"))
    );
    assert!(timeout.geo.is_none());
}

#[test]
fn disabled_imports_are_not_called() {
    let mut cfg = default_config();
    cfg.enable_dns = false;
    cfg.enable_geoip = false;
    let mut d = Double::default();
    let out = process(&State::new(&cfg).unwrap(), &mut d, 1, lines());
    assert!(d.reverse_calls.is_empty() && d.geoip_calls.is_empty() && d.dnsbl_calls.is_empty());
    let rec = record(&out[1]);
    assert!(rec.dns.is_none() && rec.geo.is_none() && rec.dnsbl.is_empty());
    assert_eq!(rec.scanner.as_ref().unwrap().sources, [ScannerSource::Ua]);
}

#[test]
fn no_calls_for_a_batch_without_valid_lines() {
    let mut d = Double::default();
    let out = process(
        &state_with_zone(),
        &mut d,
        1,
        vec!["x".into(), String::new()],
    );
    assert_eq!(out.len(), 2);
    assert!(d.reverse_calls.is_empty() && d.geoip_calls.is_empty() && d.dnsbl_calls.is_empty());
}

#[test]
fn a_host_answering_the_wrong_count_fails_lookups_not_the_batch() {
    let mut d = Double {
        short_answers: true,
        ..Double::default()
    };
    let out = process(&state_with_zone(), &mut d, 1, lines());
    let dns = record(&out[0]).dns.clone().unwrap();
    assert_eq!(dns.status, DnsStatus::Failed);
    assert!(
        dns.error
            .unwrap()
            .contains("returned 0 results for 4 addresses")
    );
}

#[test]
fn bad_config_names_the_field() {
    let mut cfg = default_config();
    cfg.dnsbl_zones = vec![
        DnsblZone {
            zone: "a.example".into(),
            codes: vec![],
        },
        DnsblZone {
            zone: "b.example".into(),
            codes: vec![DnsblCode {
                answer: "127.0.0.300".into(),
                meaning: "x".into(),
            }],
        },
    ];
    let e = State::new(&cfg).unwrap_err();
    assert_eq!(e.field, "dnsbl-zones[1].codes[0].answer");
    cfg.dnsbl_zones[1] = DnsblZone {
        zone: "A.example.".into(),
        codes: vec![],
    };
    let e = State::new(&cfg).unwrap_err();
    assert!(e.reason.contains("twice"), "{}", e.reason);
    cfg.dnsbl_zones.clear();
    cfg.dns_keywords.push(String::new());
    assert_eq!(State::new(&cfg).unwrap_err().field, "dns-keywords");
}

#[test]
fn verbatim_fields_are_spans_of_the_line() {
    let mut lines = lines();
    lines[0] = r#"192.0.2.38 - alice [19/Jul/2022:13:23:20 +0200] "GET /a?b=c HTTP/1.1" 404 232 "http://r.example/" "Python-urllib/3.8" "203.0.113.5, 198.51.100.2" 443 [2001:db8::face]"#.into();
    let out = process(&state_with_zone(), &mut Double::default(), 1, lines.clone());
    let rec = record(&out[0]);
    let line = lines[0].as_str();
    let text = |s: &Span| &line[s.start as usize..s.end as usize];
    assert_eq!(text(&rec.ip), "192.0.2.38");
    assert_eq!(rec.user.as_ref().map(text), Some("alice"));
    assert_eq!(text(&rec.time_offset), "+0200");
    assert_eq!(rec.method.as_ref().map(text), Some("GET"));
    assert_eq!(rec.target.as_ref().map(text), Some("/a?b=c"));
    assert_eq!(rec.protocol.as_ref().map(text), Some("HTTP/1.1"));
    assert_eq!(text(&rec.request), "GET /a?b=c HTTP/1.1");
    assert_eq!(rec.referer.as_ref().map(text), Some("http://r.example/"));
    assert_eq!(rec.user_agent.as_ref().map(text), Some("Python-urllib/3.8"));
    let xff: Vec<&str> = rec.forwarded.iter().map(text).collect();
    assert_eq!(xff, ["203.0.113.5", "198.51.100.2"]);
    assert_eq!(rec.host.as_ref().map(text), Some("2001:db8::face"));
}
