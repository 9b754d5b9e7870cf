//! The built component under wasmtime through the embedding API, with its imports answered
//! by a recording test double: one call per import per batch, each distinct address once,
//! records in order and in the canonical encoding, typed configuration errors, and the
//! exact imports.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use logenrich::{
    Batch, Dnsbl, DnsblOutcome, Enricher, EnricherBuilder, Error, GeoLookup, GeoRecord, PtrOutcome,
    ReverseDns, SettingValue,
};
use serde_json::{Value, json};

use crate::util;

/// Answers from a fixed table and records every call.
#[derive(Default)]
struct Recorder {
    reverse: Mutex<Vec<Vec<IpAddr>>>,
    dnsbl: Mutex<Vec<(String, Vec<IpAddr>)>>,
    geoip: Mutex<Vec<Vec<IpAddr>>>,
}

#[async_trait::async_trait]
impl ReverseDns for Recorder {
    async fn reverse(&self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        self.reverse.lock().unwrap().push(ips.to_vec());
        ips.iter()
            .map(|ip| match ip.to_string().as_str() {
                "192.0.2.9" => PtrOutcome::Found("scan-9.census.shodan.io".into()),
                "192.0.2.11" => PtrOutcome::Found("probe-1.internet-measurement.com".into()),
                _ => PtrOutcome::NotFound,
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl Dnsbl for Recorder {
    async fn dnsbl(&self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
        self.dnsbl
            .lock()
            .unwrap()
            .push((zone.to_string(), ips.to_vec()));
        ips.iter()
            .map(|ip| match ip.to_string().as_str() {
                "192.0.2.9" => DnsblOutcome::Listed {
                    answers: vec![Ipv4Addr::new(127, 0, 0, 2)],
                    reason: Some("listed for testing".into()),
                },
                "192.0.2.10" => DnsblOutcome::Listed {
                    answers: vec![Ipv4Addr::new(127, 255, 255, 254)],
                    reason: None,
                },
                _ => DnsblOutcome::NotListed,
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl GeoLookup for Recorder {
    async fn locate(&self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>> {
        self.geoip.lock().unwrap().push(ips.to_vec());
        ips.iter()
            .map(|ip| {
                ip.is_ipv6().then(|| GeoRecord {
                    country_code: Some("DE".into()),
                    city: Some("Berlin".into()),
                    latitude: Some(52.52),
                    longitude: Some(13.405),
                    asn: Some(64501),
                    ..GeoRecord::default()
                })
            })
            .collect()
    }
}

fn builder(recorder: &Arc<Recorder>, zones: &[&str]) -> EnricherBuilder {
    std::fs::create_dir_all(util::cache_home()).unwrap();
    Enricher::builder()
        .reverse_dns(recorder.clone())
        .dnsbl(recorder.clone(), zones.iter().copied())
        .geoip(recorder.clone())
        .compile_cache(util::cache_home())
}

/// An enricher configured with Spamhaus ZEN.
async fn with_zen(recorder: &Arc<Recorder>, format: &str) -> Enricher {
    builder(recorder, &["zen.spamhaus.org"])
        .setting("format", SettingValue::Text(format.into()))
        .build()
        .await
        .expect("component loads and accepts the settings")
}

fn lines() -> Vec<String> {
    vec![
        util::line("192.0.2.9", "Mozilla/5.0 zgrab/0.x"),
        util::line(
            "2001:db8::1",
            "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
        ),
        "definitely not a log line".to_string(),
        util::line("192.0.2.9", "curl/8.0"),
        util::line("192.0.2.10", "-"),
        util::line("2001:db8::1", "-"),
    ]
}

fn records(jsonl: &[u8]) -> Vec<Value> {
    util::records(jsonl)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_are_called_once_per_batch_with_distinct_addresses() {
    let recorder = Arc::new(Recorder::default());
    let enricher = with_zen(&recorder, "auto").await;
    let unique: Vec<IpAddr> = ["192.0.2.9", "2001:db8::1", "192.0.2.10"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    for round in 0..2u64 {
        let first = 1 + round * 6;
        let done = enricher
            .process(Batch::from_lines(first, lines()).expect("a small batch fits"))
            .await
            .unwrap();
        assert_eq!(done.failure, None);
        assert_eq!(done.stats.clients, unique);
        assert_eq!((done.stats.parsed, done.stats.errors), (5, 1));
        let out = records(&done.jsonl);
        let numbers: Vec<u64> = out.iter().map(|r| r["line"].as_u64().unwrap()).collect();
        assert_eq!(numbers, (first..first + 6).collect::<Vec<_>>());

        let calls = round as usize + 1;
        assert_eq!(recorder.reverse.lock().unwrap().len(), calls);
        assert_eq!(recorder.reverse.lock().unwrap()[round as usize], unique);
        assert_eq!(recorder.geoip.lock().unwrap()[round as usize], unique);
        let dnsbl = recorder.dnsbl.lock().unwrap();
        assert_eq!(dnsbl.len(), calls);
        assert_eq!(
            dnsbl[round as usize],
            ("zen.spamhaus.org".to_string(), unique.clone())
        );
    }
    let c = enricher.call_counts();
    assert_eq!((c.dns_calls, c.dns_addresses), (2, 6));
    assert_eq!(c.refused_zones, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_carry_the_enrichments() {
    let recorder = Arc::new(Recorder::default());
    let enricher = with_zen(&recorder, "honeypot").await;
    let done = enricher
        .process(Batch::from_lines(1, lines()).expect("a small batch fits"))
        .await
        .unwrap();
    let out = records(&done.jsonl);

    let first = &out[0];
    assert_eq!(first["time"], "2022-07-19T11:23:20Z");
    assert_eq!(
        first["dns"],
        json!({"name": "scan-9.census.shodan.io", "status": "found"})
    );
    assert_eq!(first["scanner"]["matched"], json!(["shodan.io"]));
    assert_eq!(first["dnsbl"][0]["listed"], true);
    assert!(
        first["dnsbl"][0]["meanings"][0]
            .as_str()
            .unwrap()
            .starts_with("SBL")
    );

    let v6 = &out[1];
    assert_eq!(v6["geo"]["city"], "Berlin");
    assert_eq!(v6["geo"]["lat"], 52.52);
    assert_eq!(v6["scanner"]["matched"], json!(["censys.io"]));

    assert_eq!(
        out[2],
        json!({"line": 3, "error": {"column": 1, "reason": "invalid client address \"definitely\""},
               "raw": "definitely not a log line"})
    );

    let public = &out[4];
    assert_eq!(
        public["dnsbl"][0]["listed"], false,
        "127.255.255.254 is an error, not a listing"
    );
    assert!(
        public["dnsbl"][0]["error"]
            .as_str()
            .unwrap()
            .contains("public")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyword_in_both_lists_keeps_both_sources() {
    let recorder = Arc::new(Recorder::default());
    let enricher = builder(&recorder, &[]).build().await.unwrap();
    let line = util::line("192.0.2.11", "Mozilla/5.0 internet-measurement.com bot");
    let done = enricher
        .process(Batch::from_lines(1, [line]).expect("a small batch fits"))
        .await
        .unwrap();
    assert_eq!(
        records(&done.jsonl)[0]["scanner"],
        json!({"sources": ["dns", "ua"], "matched": ["internet-measurement.com"]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_a_typed_error() {
    let recorder = Arc::new(Recorder::default());
    let err = builder(&recorder, &[])
        .setting(
            "extra-dns-keywords",
            SettingValue::Texts(vec!["ok".into(), String::new()]),
        )
        .build()
        .await
        .unwrap_err();
    match err {
        Error::Config { field, .. } => assert_eq!(field, "extra-dns-keywords[1]"),
        other => panic!("expected a config error, got {other:?}"),
    }
    let err = builder(&recorder, &[])
        .setting("no-such-setting", SettingValue::Flag(true))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, reason } if field == "no-such-setting" && reason.contains("unknown")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_and_version_describe_the_settings() {
    let enricher = builder(&Arc::new(Recorder::default()), &[])
        .build()
        .await
        .unwrap();
    assert_eq!(enricher.contract_version().await.unwrap(), "0.3.1");
    let names: Vec<String> = enricher
        .defaults()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    for want in [
        "format",
        "reverse-dns",
        "geoip",
        "ua-keywords",
        "dnsbl-zones",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_batches_comes_back_in_order() {
    let enricher = Arc::new(
        builder(&Arc::new(Recorder::default()), &[])
            .instances(3)
            .build()
            .await
            .unwrap(),
    );
    let batches = (0..20u64).map(|i| {
        let mut b = Batch::from_lines(1 + i * 6, lines()).expect("a small batch fits");
        b.source = Some(format!("part-{i}.log"));
        b
    });
    let out: Vec<_> = enricher
        .process_stream(futures::stream::iter(batches), 3)
        .collect()
        .await;
    assert_eq!(out.len(), 20);
    for (i, done) in out.into_iter().enumerate() {
        let recs = records(&done.unwrap().jsonl);
        assert_eq!(recs[0]["file"], format!("part-{i}.log"));
        assert_eq!(recs[0]["line"], 1 + i as u64 * 6);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_component_imports_exactly_our_four_interfaces() {
    let enricher = builder(&Arc::new(Recorder::default()), &[])
        .build()
        .await
        .unwrap();
    let imports = enricher.imports();
    let want: Vec<String> = ["cymru", "dns", "dnsbl", "geoip", "types"]
        .iter()
        .map(|i| format!("logenrich:filter/{i}@0.3.1"))
        .collect();
    assert_eq!(imports, want, "no WASI, nothing else");
}
