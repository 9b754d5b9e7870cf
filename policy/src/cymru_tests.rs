//! Team Cymru: answer decoding (multi-origin, several prefixes, junk), and
//! the batched lookups against a recording double.

use proptest::prelude::*;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn origin_answers() {
    let o = parse_origin("23028 | 216.90.108.0/24 | US | arin | 1998-09-25").unwrap();
    assert_eq!(o.asns, [23028]);
    assert_eq!(o.prefix.as_deref(), Some("216.90.108.0/24"));
    assert_eq!(o.country_code.as_deref(), Some("US"));
    assert_eq!(o.registry.as_deref(), Some("arin"));
    assert_eq!(o.allocated.as_deref(), Some("1998-09-25"));
    let multi = parse_origin("\"23028 701 3356 | 216.90.108.0/24 | US | arin | \"").unwrap();
    assert_eq!(multi.asns, [23028, 701, 3356]);
    assert_eq!(multi.allocated, None);
    for bad in ["", "x | y", " | 10.0.0.0/8 | US", "99999999999 | p"] {
        assert!(parse_origin(bad).is_err(), "{bad:?}");
    }
    let (asn, name) =
        parse_as("23028 | US | arin | 2002-01-04 | TEAM-CYMRU - Team Cymru Inc., US").unwrap();
    assert_eq!(
        (asn, name.as_deref()),
        (23028, Some("TEAM-CYMRU - Team Cymru Inc., US"))
    );
    assert_eq!(
        parse_as("64500 | ZZ | other | | A | B")
            .unwrap()
            .1
            .as_deref(),
        Some("A | B")
    );
    assert_eq!(parse_as("64500 | ZZ").unwrap().1, None);
    assert!(parse_as("AS | x").is_err());
}

#[test]
fn the_most_specific_prefix_wins() {
    let txts = vec![
        "3356 | 4.0.0.0/9 | US | arin | 1992-12-01".to_string(),
        "junk".to_string(),
        "64500 | 4.2.2.0/24 | US | arin |".to_string(),
        "64501 | 4.2.0.0/16 | US | arin |".to_string(),
    ];
    assert_eq!(best_origin(&txts).unwrap().asns, [64500]);
    assert!(
        best_origin(&["junk".to_string()])
            .unwrap_err()
            .contains("junk")
    );
    assert!(best_origin(&[]).is_err());
}

/// Cymru answers for a few addresses, recording calls.
#[derive(Default)]
struct Double {
    origin_calls: Vec<Vec<IpAddr>>,
    as_calls: Vec<Vec<u32>>,
}

impl Lookups for Double {
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<crate::PtrOutcome> {
        ips.iter().map(|_| crate::PtrOutcome::NotFound).collect()
    }
    fn dnsbl(&mut self, _: &str, ips: &[IpAddr]) -> Vec<crate::DnsblOutcome> {
        ips.iter().map(|_| crate::DnsblOutcome::NotListed).collect()
    }
    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<crate::GeoRecord>> {
        ips.iter().map(|_| None).collect()
    }
    fn cymru_origin(&mut self, ips: &[IpAddr]) -> Vec<TxtOutcome> {
        self.origin_calls.push(ips.to_vec());
        ips.iter()
            .map(|ip| match ip.to_string().as_str() {
                "198.51.100.9" => TxtOutcome::Found(vec![
                    "64500 64501 | 198.51.100.0/24 | NL | ripencc | 2001-01-01".into(),
                ]),
                "198.51.100.10" => {
                    TxtOutcome::Found(vec!["64500 | 198.51.100.0/24 | NL | ripencc |".into()])
                }
                "203.0.113.1" => TxtOutcome::Failed(LookupError::Timeout),
                "203.0.113.2" => TxtOutcome::Found(vec!["garbage".into()]),
                _ => TxtOutcome::NotFound,
            })
            .collect()
    }
    fn cymru_as(&mut self, asns: &[u32]) -> Vec<TxtOutcome> {
        self.as_calls.push(asns.to_vec());
        asns.iter()
            .map(|a| {
                TxtOutcome::Found(vec![format!(
                    "{a} | NL | ripencc | 2001-01-01 | EXAMPLE-AS{a}, NL"
                )])
            })
            .collect()
    }
}

#[test]
fn batched_lookups_skip_private_addresses_and_ask_each_as_once() {
    let clients: Vec<IpAddr> = [
        "198.51.100.9",
        "10.0.0.1",
        "198.51.100.10",
        "203.0.113.1",
        "203.0.113.2",
        "192.0.2.1",
    ]
    .iter()
    .map(|s| ip(s))
    .collect();
    let mut d = Double::default();
    let v = lookup_all(&mut d, &clients);
    assert_eq!(d.origin_calls.len(), 1);
    assert!(
        !d.origin_calls[0].contains(&ip("10.0.0.1")),
        "private: not sent"
    );
    assert_eq!(d.as_calls, vec![vec![64500]]);
    match &v[0] {
        Verdict::Found(o, name) => {
            assert_eq!(o.asns, [64500, 64501]);
            assert_eq!(name.as_deref(), Some("EXAMPLE-AS64500, NL"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(v[1], Verdict::Private);
    assert_eq!(v[3], Verdict::Failed(LookupError::Timeout));
    assert!(matches!(&v[4], Verdict::Failed(LookupError::Other(e)) if e.contains("garbage")));
    assert_eq!(v[5], Verdict::NotFound);

    let mut out = Vec::new();
    write(&mut out, &v[0]);
    write(&mut out, &v[3]);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        concat!(
            r#","cymru":{"asn":64500,"asns":[64500,64501],"prefix":"198.51.100.0/24","country_code":"NL","registry":"ripencc","allocated":"2001-01-01","as_name":"EXAMPLE-AS64500, NL","status":"found"}"#,
            r#","cymru":{"asn":null,"asns":[],"prefix":null,"country_code":null,"registry":null,"allocated":null,"as_name":null,"status":"timeout","error":"timeout"}"#
        )
    );
}

#[test]
fn a_host_without_cymru_lookups_fails_softly() {
    let v = lookup_all(&mut crate::NoLookups, &[ip("198.51.100.9")]);
    assert!(matches!(&v[0], Verdict::Failed(LookupError::Other(e)) if e.contains("no Team Cymru")));
    assert_eq!(
        lookup_all(&mut crate::NoLookups, &[ip("10.1.1.1")]),
        [Verdict::Private]
    );
}

#[test]
fn the_batch_writes_cymru_only_when_on() {
    use crate::settings::{Filter, Setting, SettingValue};
    let line = br#"198.51.100.9 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1"#;
    let unix = br#"unix: - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1"#;
    let data = [&line[..], &unix[..]].concat();
    let ends = [line.len() as u32, data.len() as u32];
    let run = |settings: &[Setting]| {
        let filter = Filter::new(settings).unwrap();
        let mut out = Vec::new();
        let batch = crate::BatchIn {
            first_line: 1,
            source: None,
            data: &data,
            ends: &ends,
            parts: &[],
        };
        crate::batch::process(&filter, &mut Double::default(), batch, &mut out);
        String::from_utf8(out).unwrap()
    };
    let off = run(&[]);
    assert!(!off.contains("cymru"), "{off}");
    let on = run(&[Setting::new("cymru", SettingValue::Flag(true))]);
    let recs: Vec<serde_json::Value> = on
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs[0]["cymru"]["as_name"], "EXAMPLE-AS64500, NL");
    assert!(recs[1]["cymru"].is_null());
    assert!(on.contains(r#""geo":null,"cymru":{"asn":64500"#), "{on}");
}

proptest! {
    #[test]
    fn decoding_never_panics(txt in "\\PC{0,80}") {
        let _ = parse_origin(&txt);
        let _ = parse_as(&txt);
        let _ = best_origin(&[txt]);
    }
}
