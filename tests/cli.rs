//! The `logenrich` binary as a user runs it: the sample, stdin, gzip, several files,
//! conservation of lines, exit codes and messages, and the real DNS/DNSBL/GeoIP paths
//! against a loopback DNS server and `.mmdb` fixtures.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

use fixture::dns::{DnsFixture, FixtureConfig, ptr_query_name};
use fixture::mmdb::{AsnRecord, CityRecord, write_asn, write_city};
use serde_json::Value;

use crate::util::{self, line, logenrich, records, run, stderr};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn sample_gives_one_record_per_line_in_order() {
    let out = run(
        logenrich()
            .args(["--no-dns", "--no-geoip"])
            .arg(util::sample()),
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(util::sample()).unwrap();
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), text.lines().count());
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r["line"], i as u64 + 1);
    }
    let errors = recs.iter().filter(|r| r.get("error").is_some()).count();
    assert!(
        (1..10).contains(&errors),
        "{errors} unparseable lines in the sample"
    );
    let scanners = recs.iter().filter(|r| r["scanner"].is_object()).count();
    assert!(scanners > 20, "only {scanners} scanners tagged");
    let summary = stderr(&out);
    assert!(
        summary.contains(&format!("{} lines", recs.len())),
        "{summary}"
    );
    // Absent values are null, never "-".
    assert!(!String::from_utf8_lossy(&out.stdout).contains(r#":"-""#));
}

#[test]
fn schema_ecs_writes_every_record_as_an_ecs_document_the_host_s_own_too() {
    let long = format!(
        "198.51.100.1 - - [19/Jul/2022:13:23:20 +0200] \"GET /{} HTTP/1.1\" 200 1",
        "a".repeat(1300)
    );
    let input = format!(
        "{}\n{long}\nnot a line\n",
        line(
            "198.51.100.7",
            "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)"
        )
    );
    let out = run(
        logenrich().args([
            "--no-dns",
            "--no-geoip",
            "--schema",
            "ecs",
            "--max-line-bytes",
            "1024",
            "-",
        ]),
        input.as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let docs = records(&out.stdout);
    assert_eq!(docs.len(), 3);
    for d in &docs {
        assert_eq!(d["ecs"]["version"], "9.4.0", "{d}");
        assert!(d.get("line").is_none() && d.get("ip").is_none(), "{d}");
    }
    assert_eq!(docs[0]["source"]["ip"], "198.51.100.7");
    assert_eq!(docs[0]["url"]["domain"], "www.example.org");
    assert!(
        docs[0]["tags"]
            .as_array()
            .unwrap()
            .contains(&"scanner".into()),
        "{}",
        docs[0]
    );
    // Written by the host (over the line limit), then by the component (no parse).
    for (d, reason) in [
        (&docs[1], "longer than the limit"),
        (&docs[2], "invalid client address"),
    ] {
        assert_eq!(d["event"]["kind"], "pipeline_error", "{d}");
        assert!(
            d["error"]["message"].as_str().unwrap().contains(reason),
            "{d}"
        );
        assert!(d["event"]["original"].is_string(), "{d}");
    }
    assert_eq!(
        (&docs[1]["logenrich"]["line"], &docs[2]["logenrich"]["line"]),
        (&2.into(), &3.into())
    );
    let bad = run(logenrich().args(["--no-dns", "--schema", "otel", "-"]), b"");
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

#[test]
fn garbage_and_invalid_utf8_are_records_not_losses() {
    let mut input = Vec::new();
    for i in 0..50 {
        match i % 5 {
            0 => input.extend_from_slice(b"\xff\xfe binary \x00 junk"),
            1 => input.extend_from_slice(b""),
            2 => {
                let mut l = line("192.0.2.1", "café ").into_bytes();
                let at = l.windows(5).position(|w| w == "café".as_bytes()).unwrap() + 5;
                l.insert(at + 1, 0xff);
                input.extend_from_slice(&l);
            }
            _ => input.extend_from_slice(line(&format!("192.0.2.{i}"), "ok").as_bytes()),
        }
        input.push(b'\n');
    }
    let out = run(
        logenrich().args(["--no-dns", "--no-geoip", "--batch-size", "7"]),
        &input,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), 50);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r["line"], i as u64 + 1, "order kept");
        match i % 5 {
            0 => {
                assert_eq!(r["invalid_utf8"], true);
                assert!(r["error"]["reason"].is_string());
                assert!(r["raw"].as_str().unwrap().contains("binary"));
            }
            1 => assert!(
                r["error"]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("empty line")
            ),
            2 => {
                assert_eq!(r["invalid_utf8"], true);
                assert_eq!(r["user_agent"], "café \u{fffd}");
            }
            _ => assert!(r.get("invalid_utf8").is_none()),
        }
    }
}

#[test]
fn gzip_and_several_files_name_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("a.log");
    std::fs::write(
        &plain,
        format!("{}\n{}\n", line("192.0.2.1", "x"), line("192.0.2.2", "y")),
    )
    .unwrap();
    let gz = dir.path().join("b.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(format!("{}\n", line("2001:db8::5", "z")).as_bytes())
        .unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();

    let out = run(
        logenrich()
            .args(["--no-dns", "--no-geoip"])
            .arg(&plain)
            .arg(&gz),
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&out.stdout);
    let got: Vec<(String, u64, String)> = recs
        .iter()
        .map(|r| {
            let file = r["file"].as_str().unwrap();
            let name = std::path::Path::new(file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                name,
                r["line"].as_u64().unwrap(),
                r["ip"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a.log".to_string(), 1, "192.0.2.1".to_string()),
            ("a.log".to_string(), 2, "192.0.2.2".to_string()),
            ("b.log.gz".to_string(), 1, "2001:db8::5".to_string()),
        ]
    );
}

#[test]
fn missing_file_is_exit_1_naming_it_and_other_files_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.log");
    std::fs::write(&good, format!("{}\n", line("192.0.2.1", "x"))).unwrap();
    let missing = dir.path().join("nope.log");
    let out = run(
        logenrich()
            .args(["--no-dns", "--no-geoip"])
            .arg(&missing)
            .arg(&good),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("nope.log") && err.contains("cannot open"),
        "{err}"
    );
    assert_eq!(records(&out.stdout).len(), 1);
}

#[test]
fn bad_config_is_exit_2_with_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "format = \"auto\"\n[dns]\ntimeot = 1\n").unwrap();
    let out = run(logenrich().arg("--config").arg(&cfg), b"");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bad.toml") && err.contains("timeot") && err.contains("line 3"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    std::fs::write(
        &cfg,
        "[[dnsbl]]\nzone = \"bl.example\"\ncodes = { \"127.0.0.999\" = \"x\" }\n",
    )
    .unwrap();
    let out = run(
        logenrich()
            .args(["--no-dns", "--no-geoip", "--config"])
            .arg(&cfg),
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("dnsbl-codes.bl.example[0]"),
        "{}",
        stderr(&out)
    );

    let out = run(
        logenrich().args(["--no-geoip", "--nameserver", "dns.example"]),
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--nameserver"), "{}", stderr(&out));

    let out = run(logenrich().args(["--format", "apache"]), b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_database_and_bad_component_are_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fake.mmdb");
    std::fs::write(&db, "not a database").unwrap();
    let out = run(logenrich().arg("--no-dns").arg("--geoip-db").arg(&db), b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("fake.mmdb"), "{}", stderr(&out));

    let comp = dir.path().join("fake.wasm");
    std::fs::write(&comp, b"\0asm\x01\0\0\0").unwrap();
    let out = run(
        logenrich()
            .args(["--no-dns", "--no-geoip", "--component"])
            .arg(&comp),
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("fake.wasm"), "{}", stderr(&out));
}

fn geo_dbs(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let city = dir.join("city.mmdb");
    write_city(
        &city,
        &[(
            "198.51.100.0/24",
            CityRecord {
                country_code: Some("NL".into()),
                country_name: Some("Netherlands".into()),
                city: Some("Amsterdam".into()),
                latitude: Some(52.37),
                longitude: Some(4.89),
                ..CityRecord::default()
            },
        )],
    )
    .unwrap();
    let asn = dir.join("asn.mmdb");
    write_asn(
        &asn,
        &[(
            "198.51.100.0/24",
            AsnRecord {
                number: 64500,
                organization: "Example Net".into(),
            },
        )],
    )
    .unwrap();
    (city, asn)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_dnsbl_and_geoip_end_to_end() {
    let config = FixtureConfig::default()
        .with_ptr(ip("198.51.100.7"), "scanner-7.census.shodan.io")
        .with_ptr(ip("2001:db8::7"), "v6-host.example.net")
        .with_listing(
            ip("198.51.100.7"),
            &[Ipv4Addr::new(127, 0, 0, 2)],
            Some("test listing"),
        )
        .with_listing(
            ip("198.51.100.8"),
            &[Ipv4Addr::new(127, 255, 255, 254)],
            None,
        );
    let fixture = DnsFixture::start(config).await.unwrap();
    fixture
        .handle()
        .drop_name(&ptr_query_name(ip("198.51.100.9")));
    let dir = tempfile::tempdir().unwrap();
    let (city, asn) = geo_dbs(dir.path());

    let mut input = String::new();
    for _ in 0..3 {
        for addr in [
            "198.51.100.7",
            "2001:db8::7",
            "198.51.100.8",
            "198.51.100.9",
            "203.0.113.1",
        ] {
            input.push_str(&line(addr, "Mozilla/5.0"));
            input.push('\n');
        }
    }
    let mut cmd = logenrich();
    cmd.arg("--nameserver")
        .arg(fixture.addr().to_string())
        .args([
            "--timeout",
            "0.3",
            "--attempts",
            "1",
            "--batch-size",
            "4",
            "--instances",
            "1",
        ])
        .args(["--dnsbl", "bl.test"])
        .arg("--geoip-db")
        .arg(&city)
        .arg("--geoip-db")
        .arg(&asn);
    let out = tokio::task::spawn_blocking(move || run(&mut cmd, input.as_bytes()))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), 15);
    let by_ip = |a: &str| -> &Value { recs.iter().find(|r| r["ip"] == a).unwrap() };

    let scanner = by_ip("198.51.100.7");
    assert_eq!(scanner["dns"]["name"], "scanner-7.census.shodan.io");
    assert_eq!(scanner["dns"]["status"], "found");
    assert_eq!(scanner["scanner"]["sources"], serde_json::json!(["dns"]));
    assert_eq!(scanner["dnsbl"][0]["zone"], "bl.test");
    assert_eq!(scanner["dnsbl"][0]["listed"], true);
    assert_eq!(scanner["dnsbl"][0]["reason"], "test listing");
    assert_eq!(scanner["geo"]["city"], "Amsterdam");
    assert_eq!(scanner["geo"]["asn"], 64500);
    assert_eq!(scanner["geo"]["as_org"], "Example Net");

    assert_eq!(by_ip("2001:db8::7")["dns"]["name"], "v6-host.example.net");
    let public = &by_ip("198.51.100.8")["dnsbl"][0];
    assert_eq!(public["listed"], false);
    assert!(
        public["error"].as_str().unwrap().contains("public"),
        "{public}"
    );
    assert_eq!(by_ip("198.51.100.9")["dns"]["status"], "timeout");
    assert_eq!(by_ip("203.0.113.1")["dns"]["status"], "not_found");
    assert!(by_ip("203.0.113.1")["geo"].is_null());

    // Across four batches (one at a time), each name reached the server once; the
    // dropped one only in the first batch (its tries), then its failure was remembered.
    for addr in ["198.51.100.7", "2001:db8::7", "198.51.100.8", "203.0.113.1"] {
        assert_eq!(
            fixture.queries_for(&ptr_query_name(ip(addr))),
            1,
            "PTR of {addr}"
        );
    }
    // Its tries: the first send and the retransmits on the RTT timer (interval doubled
    // each time from at least 10 ms) within the 0.3 s timeout.
    let dropped = fixture.queries_for(&ptr_query_name(ip("198.51.100.9")));
    assert!(
        (1..=8).contains(&dropped),
        "{dropped} queries for the dropped name"
    );
    assert_eq!(fixture.queries_for("1.100.51.198.bl.test"), 0);
    assert_eq!(
        fixture.queries_for("7.100.51.198.bl.test"),
        2,
        "A then TXT, once"
    );
}

#[test]
fn a_component_asking_for_files_or_sockets_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let comp = dir.path().join("greedy.wat");
    std::fs::write(
        &comp,
        r#"(component
             (import "wasi:filesystem/preopens@0.2.6" (instance))
             (import "wasi:sockets/tcp@0.2.6" (instance)))"#,
    )
    .unwrap();
    let out = run(
        logenrich()
            .args(["--no-dns", "--no-geoip", "--component"])
            .arg(&comp),
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("wasi:filesystem/preopens@0.2.6, wasi:sockets/tcp@0.2.6"),
        "{err}"
    );
    assert!(err.contains("does not grant"), "{err}");
}

/// Slow DNS must not serialize the run: batches overlap on several instances, so 16
/// one-line batches at 200 ms latency take far less than 16 × 200 ms (a functional bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_dns_overlaps_batches_and_keeps_order() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        latency: std::time::Duration::from_millis(200),
        ..FixtureConfig::default()
    };
    let fixture = DnsFixture::start(config).await.unwrap();
    let input: String = (1..=16)
        .map(|i| line(&format!("192.0.2.{i}"), "-") + "\n")
        .collect();
    let mut cmd = logenrich();
    cmd.arg("--nameserver")
        .arg(fixture.addr().to_string())
        .args([
            "--no-geoip",
            "--batch-size",
            "1",
            "--instances",
            "16",
            "--timeout",
            "2",
        ]);
    let started = std::time::Instant::now();
    let out = tokio::task::spawn_blocking(move || run(&mut cmd, input.as_bytes()))
        .await
        .unwrap();
    let wall = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&out.stdout);
    let ips: Vec<String> = recs
        .iter()
        .map(|r| r["ip"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = (1..=16).map(|i| format!("192.0.2.{i}")).collect();
    assert_eq!(ips, want, "order kept");
    assert!(recs.iter().all(|r| r["dns"]["status"] == "found"));
    // Serial would be at least 3.2 s; overlapped it is about one round trip plus start-up.
    assert!(
        wall < std::time::Duration::from_millis(2000),
        "took {wall:?}"
    );
}

/// RFC 5782 test points are checked before a zone is trusted: a zone that answers the
/// test point with 127.255.255.254 (public resolver) or does not answer gets a warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnsbl_test_points_are_checked_at_start() {
    let fixture = DnsFixture::start(FixtureConfig::default()).await.unwrap();
    let refusing = DnsFixture::start(FixtureConfig::default().with_listing(
        ip("127.0.0.2"),
        &[Ipv4Addr::new(127, 255, 255, 254)],
        None,
    ))
    .await
    .unwrap();
    let input = format!("{}\n", line("192.0.2.1", "-"));
    let stderr_for = |addr: String, zone: &'static str| {
        let input = input.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = logenrich();
            cmd.args([
                "--no-dns",
                "--no-geoip",
                "--timeout",
                "0.3",
                "--attempts",
                "1",
            ])
            .args(["--nameserver", &addr, "--dnsbl", zone]);
            let out = run(&mut cmd, input.as_bytes());
            assert!(out.status.success(), "{}", stderr(&out));
            assert_eq!(records(&out.stdout).len(), 1);
            stderr(&out)
        })
    };
    let good = stderr_for(fixture.addr().to_string(), "bl.test")
        .await
        .unwrap();
    assert!(!good.contains("warning"), "{good}");
    let public = stderr_for(refusing.addr().to_string(), "bl.test")
        .await
        .unwrap();
    assert!(
        public.contains("fails the RFC 5782 test point") && public.contains("public"),
        "{public}"
    );
    let unknown = stderr_for(fixture.addr().to_string(), "other.test")
        .await
        .unwrap();
    assert!(
        unknown.contains("other.test fails the RFC 5782 test point"),
        "{unknown}"
    );
}

#[test]
fn the_written_component_is_the_embedded_one_and_runs_identically() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("logenrich-filter.wasm");
    let out = run(logenrich().arg("--write-component").arg(&wasm), b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let bytes = std::fs::read(&wasm).unwrap();
    assert_eq!(&bytes[..4], b"\0asm", "a wasm binary");
    assert_eq!(
        &bytes[4..8],
        &[0x0d, 0x00, 0x01, 0x00],
        "a component, not a core module"
    );

    let args = ["--no-dns", "--no-geoip", "-q"];
    let embedded = run(logenrich().args(args).arg(util::sample()), b"");
    let written = run(
        logenrich()
            .args(args)
            .arg("--component")
            .arg(&wasm)
            .arg(util::sample()),
        b"",
    );
    assert!(embedded.status.success() && written.status.success());
    assert_eq!(records(&embedded.stdout).len(), 305);
    assert!(
        embedded.stdout == written.stdout,
        "a --component run of the written file gives identical bytes"
    );
}
