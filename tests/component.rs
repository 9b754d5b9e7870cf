//! The built component under wasmtime, with its imports answered by a recording test
//! double: one call per import per batch, each distinct address once, records in order.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use logenrich::component::{
    DnsStatus, DnsblZone, Instance, LineResult, LogFormat, Providers, Runtime, Source,
};
use logenrich::lookup::{DnsblOutcome, GeoRecord, Locate, PtrOutcome, Resolve};

use crate::util;

/// Answers from a fixed table and records every call.
#[derive(Default)]
struct Recorder {
    reverse: Mutex<Vec<Vec<IpAddr>>>,
    dnsbl: Mutex<Vec<(String, Vec<IpAddr>)>>,
    geoip: Mutex<Vec<Vec<IpAddr>>>,
}

#[async_trait::async_trait]
impl Resolve for Recorder {
    async fn reverse(&self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        self.reverse.lock().unwrap().push(ips.to_vec());
        ips.iter()
            .map(|ip| match ip.to_string().as_str() {
                "192.0.2.9" => PtrOutcome::Found("scan-9.census.shodan.io".into()),
                _ => PtrOutcome::NotFound,
            })
            .collect()
    }
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

impl Locate for Recorder {
    fn locate(&self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>> {
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

fn runtime(recorder: &Arc<Recorder>) -> Runtime {
    let providers = Providers {
        resolver: Some(recorder.clone()),
        geoip: Some(recorder.clone()),
        ..Providers::default()
    };
    std::fs::create_dir_all(util::cache_home()).unwrap();
    Runtime::new(&Source::Embedded, Some(&util::cache_home()), providers).expect("component loads")
}

/// A runtime and an instance configured with Spamhaus ZEN and `format`.
async fn with_zen(recorder: &Arc<Recorder>, format: LogFormat) -> (Runtime, Instance) {
    let rt = runtime(recorder);
    let mut inst = rt.instance().await.unwrap();
    let mut cfg = inst.default_config().await.unwrap();
    cfg.dnsbl_zones = vec![DnsblZone {
        zone: "zen.spamhaus.org".into(),
        codes: vec![],
    }];
    cfg.format = format;
    inst.configure(&cfg).await.unwrap().unwrap();
    (rt, inst)
}

fn batch() -> Vec<String> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_are_called_once_per_batch_with_distinct_addresses() {
    let recorder = Arc::new(Recorder::default());
    let (rt, mut inst) = with_zen(&recorder, LogFormat::Auto).await;

    for round in 0..2u64 {
        let first = 1 + round * 6;
        let out = inst.process(first, &batch()).await.unwrap();
        assert_eq!(out.len(), 6);
        let unique: Vec<IpAddr> = ["192.0.2.9", "2001:db8::1", "192.0.2.10"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let calls = round as usize + 1;
        assert_eq!(recorder.reverse.lock().unwrap().len(), calls);
        assert_eq!(recorder.reverse.lock().unwrap()[round as usize], unique);
        assert_eq!(recorder.geoip.lock().unwrap()[round as usize], unique);
        let dnsbl = recorder.dnsbl.lock().unwrap();
        assert_eq!(dnsbl.len(), calls);
        assert_eq!(
            dnsbl[round as usize],
            ("zen.spamhaus.org".to_string(), unique)
        );

        let lines: Vec<u64> = out
            .iter()
            .map(|r| match r {
                LineResult::Enriched(r) => r.line,
                LineResult::Error(e) => e.line,
            })
            .collect();
        assert_eq!(lines, (first..first + 6).collect::<Vec<_>>());
    }
    let c = rt.counters();
    assert_eq!(c.dns_calls.load(std::sync::atomic::Ordering::Relaxed), 2);
    assert_eq!(
        c.dns_addresses.load(std::sync::atomic::Ordering::Relaxed),
        6
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_carry_the_enrichments() {
    let recorder = Arc::new(Recorder::default());
    let (_rt, mut inst) = with_zen(&recorder, LogFormat::Honeypot).await;
    let out = inst.process(1, &batch()).await.unwrap();

    let LineResult::Enriched(first) = &out[0] else {
        panic!("line 1 should parse")
    };
    assert_eq!(first.time, 1_658_229_800); // 2022-07-19T11:23:20Z
    let dns = first.dns.as_ref().unwrap();
    assert_eq!(
        (dns.status, dns.name.as_deref()),
        (DnsStatus::Found, Some("scan-9.census.shodan.io"))
    );
    assert_eq!(first.scanner.as_ref().unwrap().matched, ["shodan.io"]);
    assert!(first.dnsbl[0].listed);
    assert!(first.dnsbl[0].meanings[0].starts_with("SBL"));

    let LineResult::Enriched(v6) = &out[1] else {
        panic!("line 2 should parse")
    };
    assert_eq!(v6.geo.as_ref().unwrap().city.as_deref(), Some("Berlin"));
    assert_eq!(v6.scanner.as_ref().unwrap().matched, ["censys.io"]);

    let LineResult::Error(e) = &out[2] else {
        panic!("line 3 should fail")
    };
    assert_eq!((e.line, e.column), (3, 1));
    assert!(e.reason.contains("invalid client address"), "{}", e.reason);

    let LineResult::Enriched(public) = &out[4] else {
        panic!("line 5 should parse")
    };
    assert!(
        !public.dnsbl[0].listed,
        "127.255.255.254 is an error, not a listing"
    );
    assert!(public.dnsbl[0].error.as_ref().unwrap().contains("public"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configuration_is_a_typed_error() {
    let recorder = Arc::new(Recorder::default());
    let rt = runtime(&recorder);
    let mut inst = rt.instance().await.unwrap();
    let mut cfg = inst.default_config().await.unwrap();
    cfg.dns_keywords.push(String::new());
    let err = inst.configure(&cfg).await.unwrap().unwrap_err();
    assert_eq!(err.field, "dns-keywords");
}

#[test]
fn the_component_imports_our_interfaces_and_no_sockets_or_files() {
    let rt = runtime(&Arc::new(Recorder::default()));
    let imports = rt.imported_interfaces();
    for ours in ["dns", "dnsbl", "geoip", "types"] {
        let name = format!("logenrich:filter/{ours}@0.1.0");
        assert!(imports.contains(&name), "{name} missing from {imports:?}");
    }
    for forbidden in ["wasi:sockets", "wasi:filesystem", "wasi:http"] {
        assert!(
            !imports.iter().any(|i| i.starts_with(forbidden)),
            "component imports {forbidden}: {imports:?}"
        );
    }
    println!("component imports: {imports:#?}");
}
