//! The DNS provider against the loopback DNS fixture: PTR, DNSBL, failures, caching,
//! in-flight deduplication and concurrency.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use fixture::dns::{DnsFixture, FixtureConfig, dnsbl_query_name, ptr_query_name};
use logenrich::{DnsblOutcome, LookupError, PtrOutcome};
use logenrich_dns::{DnsProvider, DnsSettings, DnsStats};

const ZONE: &str = "bl.test";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn settings(addr: SocketAddr) -> DnsSettings {
    DnsSettings {
        nameservers: vec![addr],
        timeout: Duration::from_millis(400),
        attempts: 1,
        ..DnsSettings::default()
    }
}

async fn start(config: FixtureConfig) -> (DnsFixture, DnsProvider) {
    let fixture = DnsFixture::start(config).await.expect("fixture starts");
    let provider = DnsProvider::new(&settings(fixture.addr())).expect("provider");
    (fixture, provider)
}

fn found(name: &str) -> PtrOutcome {
    PtrOutcome::Found(name.to_owned())
}

/// `n` distinct IPv4 addresses in 10.0.0.0/8 starting at 10.`base`.0.0.
fn many(base: u8, n: u32) -> Vec<IpAddr> {
    let start = u32::from(Ipv4Addr::new(10, base, 0, 0));
    (0..n)
        .map(|i| IpAddr::V4(Ipv4Addr::from(start + i)))
        .collect()
}

#[tokio::test]
async fn reverse_finds_v4_and_v6_names_in_input_order() {
    let config = FixtureConfig::default()
        .with_ptr(ip("192.0.2.1"), "one.example.test")
        .with_ptr(ip("2001:db8::1"), "v6.example.test");
    let (fixture, provider) = start(config).await;
    let ips = [
        ip("192.0.2.1"),
        ip("2001:db8::1"),
        ip("192.0.2.2"),
        ip("192.0.2.1"),
    ];
    let out = provider.reverse(&ips).await;
    assert_eq!(
        out,
        [
            found("one.example.test"),
            found("v6.example.test"),
            PtrOutcome::NotFound,
            found("one.example.test")
        ]
    );
    assert_eq!(
        fixture.queries_for(&ptr_query_name(ip("192.0.2.1"))),
        1,
        "deduplicated within the batch"
    );
    assert_eq!(provider.stats().queries_sent, 3);
    assert!(provider.reverse(&[]).await.is_empty());
}

#[tokio::test]
async fn reverse_reports_timeout_servfail_and_refused_and_remembers_them_briefly() {
    let config = FixtureConfig::default().with_ptr(ip("192.0.2.1"), "ok.example.test");
    let (fixture, provider) = start(config).await;
    let handle = fixture.handle();
    handle.drop_name(&ptr_query_name(ip("192.0.2.10")));
    handle.servfail_name(&ptr_query_name(ip("192.0.2.11")));
    handle.refuse_name(&ptr_query_name(ip("192.0.2.12")));
    let ips = [
        ip("192.0.2.10"),
        ip("192.0.2.11"),
        ip("192.0.2.12"),
        ip("192.0.2.1"),
    ];
    let started = Instant::now();
    let out = provider.reverse(&ips).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let expected = [
        PtrOutcome::Failed(LookupError::Timeout),
        PtrOutcome::Failed(LookupError::ServerFailure),
        PtrOutcome::Failed(LookupError::Refused),
        found("ok.example.test"),
    ];
    assert_eq!(out, expected);
    assert_eq!(provider.stats().failures, 3);

    // Failures are remembered for `failure_ttl` (30 s): the next batch does not wait
    // for a dead or refusing server again; the success is cached too.
    let asked: Vec<u64> = ips
        .iter()
        .map(|&a| fixture.queries_for(&ptr_query_name(a)))
        .collect();
    handle.clear_faults();
    let started = Instant::now();
    let again = provider.reverse(&ips).await;
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(again, expected);
    let asked_again: Vec<u64> = ips
        .iter()
        .map(|&a| fixture.queries_for(&ptr_query_name(a)))
        .collect();
    assert_eq!(asked_again, asked, "nothing asked twice");

    // With failures not remembered (failure_ttl 0), the next batch asks again.
    let fresh = DnsProvider::new(&DnsSettings {
        failure_ttl: Duration::ZERO,
        ..settings(fixture.addr())
    })
    .expect("provider");
    handle.servfail_name(&ptr_query_name(ip("192.0.2.11")));
    let _ = fresh.reverse(&ips[1..2]).await;
    handle.clear_faults();
    let out = fresh.reverse(&ips[1..2]).await;
    assert_eq!(out, [PtrOutcome::NotFound]);
}

#[tokio::test]
async fn cache_answers_the_second_batch() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        ..FixtureConfig::default()
    };
    let (fixture, provider) = start(config).await;
    fixture
        .handle()
        .set_ptr(ip("10.9.0.0"), "explicit.example.test");
    let mut ips = many(9, 100);
    ips.push(ip("2001:db8::7"));
    fixture.handle().set_synthetic_ptr(true);
    let first = provider.reverse(&ips).await;
    let second = provider.reverse(&ips).await;
    assert_eq!(first, second);
    assert_eq!(first[0], found("explicit.example.test"));
    assert_eq!(first[1], found("h-10-9-0-1.scan.example.test"));
    // Asked once each (a retransmit on a loaded machine is the same question, counted).
    let stats = provider.stats();
    for ip in &ips {
        let asked = fixture.queries_for(&ptr_query_name(*ip));
        assert!(
            asked == 1 || (asked > 1 && stats.retransmits > 0),
            "{ip} asked {asked} times"
        );
    }
    assert_eq!((stats.queries_sent, stats.cache_hits), (101, 101));

    // NXDOMAIN is cached too (negative TTL).
    fixture.handle().set_synthetic_ptr(false);
    let nx = [ip("10.99.0.1")];
    assert_eq!(provider.reverse(&nx).await, [PtrOutcome::NotFound]);
    assert_eq!(provider.reverse(&nx).await, [PtrOutcome::NotFound]);
    assert_eq!(fixture.queries_for(&ptr_query_name(nx[0])), 1);
}

#[tokio::test]
async fn cache_follows_answer_and_soa_ttls() {
    let config = FixtureConfig {
        ttl: 1,
        negative_ttl: 1,
        ..FixtureConfig::default()
    }
    .with_ptr(ip("192.0.2.1"), "short.example.test")
    .with_ptr(ip("192.0.2.2"), "long.example.test");
    let fixture = DnsFixture::start(config).await.expect("fixture");
    let settings = DnsSettings {
        min_ttl: Duration::ZERO,
        ..settings(fixture.addr())
    };
    let provider = DnsProvider::new(&settings).expect("provider");
    let short = [ip("192.0.2.1"), ip("192.0.2.3")]; // a 1 s answer and a 1 s NXDOMAIN
    provider.reverse(&short).await;
    fixture.handle().set_ttl(3600);
    provider.reverse(&[ip("192.0.2.2")]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    provider
        .reverse(&[ip("192.0.2.1"), ip("192.0.2.2"), ip("192.0.2.3")])
        .await;
    assert_eq!(
        fixture.queries_for(&ptr_query_name(ip("192.0.2.1"))),
        2,
        "expired"
    );
    assert_eq!(
        fixture.queries_for(&ptr_query_name(ip("192.0.2.3"))),
        2,
        "negative expired"
    );
    assert_eq!(
        fixture.queries_for(&ptr_query_name(ip("192.0.2.2"))),
        1,
        "still cached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_share_lookups_in_flight() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        latency: Duration::from_millis(100),
        ..FixtureConfig::default()
    };
    let (fixture, provider) = start(config).await;
    let ips = many(20, 50);
    let (a, b) = tokio::join!(provider.reverse(&ips), provider.reverse(&ips));
    assert_eq!(a, b);
    // One query per address (plus any retransmit the RTT timer sent on a loaded machine).
    let stats = provider.stats();
    assert_eq!(fixture.total_queries(), 50 + stats.retransmits);
    assert_eq!(
        stats,
        DnsStats {
            queries_sent: 50,
            cache_hits: 0,
            inflight_joins: 50,
            failures: 0,
            retransmits: stats.retransmits,
            tcp_queries: 0,
            unreachable: false,
            servfail_retries: 0,
            ..stats
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_run_concurrently() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        latency: Duration::from_millis(100),
        ..FixtureConfig::default()
    };
    let (fixture, provider) = start(config).await;
    let ips = many(30, 200);
    let started = Instant::now();
    let out = provider.reverse(&ips).await;
    let elapsed = started.elapsed();
    eprintln!("200 unique PTR lookups at 100 ms latency: {elapsed:?}");
    assert!(out.iter().all(|o| matches!(o, PtrOutcome::Found(_))));
    // One query per address, plus any retransmit the RTT timer sent on a loaded machine.
    let retransmits = provider.stats().retransmits;
    assert_eq!(fixture.total_queries(), 200 + retransmits);
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_limit_is_enforced() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        latency: Duration::from_millis(100),
        ..FixtureConfig::default()
    };
    let fixture = DnsFixture::start(config).await.expect("fixture");
    let settings = DnsSettings {
        concurrency: 10,
        ..settings(fixture.addr())
    };
    let provider = DnsProvider::new(&settings).expect("provider");
    let started = Instant::now();
    provider.reverse(&many(40, 30)).await;
    // 30 lookups, 10 at a time, 100 ms each: at least three rounds.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn dnsbl_reports_listings_raw() {
    let config = FixtureConfig::default()
        .with_listing(
            ip("192.0.2.99"),
            &[Ipv4Addr::new(127, 0, 0, 4)],
            Some("spam source"),
        )
        .with_listing(
            ip("192.0.2.98"),
            &[Ipv4Addr::new(127, 0, 0, 3), Ipv4Addr::new(127, 0, 0, 9)],
            None,
        )
        .with_listing(ip("192.0.2.97"), &[Ipv4Addr::new(127, 255, 255, 254)], None)
        .with_listing(
            ip("2001:db8::99"),
            &[Ipv4Addr::new(127, 0, 0, 2)],
            Some("v6"),
        );
    let (fixture, provider) = start(config).await;
    let ips = [
        ip("192.0.2.99"),
        ip("192.0.2.98"),
        ip("192.0.2.97"),
        ip("192.0.2.1"),
        ip("127.0.0.2"),
        ip("127.0.0.1"),
        ip("::ffff:192.0.2.99"),
        ip("2001:db8::99"),
    ];
    let out = provider.dnsbl(ZONE, &ips).await;
    let listed = |answers: &[[u8; 4]], reason: Option<&str>| DnsblOutcome::Listed {
        answers: answers.iter().map(|&a| Ipv4Addr::from(a)).collect(),
        reason: reason.map(str::to_owned),
    };
    let expected = [
        listed(&[[127, 0, 0, 4]], Some("spam source")),
        listed(&[[127, 0, 0, 3], [127, 0, 0, 9]], None),
        listed(&[[127, 255, 255, 254]], None),
        DnsblOutcome::NotListed,
        listed(&[[127, 0, 0, 2]], Some("RFC 5782 test point")),
        DnsblOutcome::NotListed,
        listed(&[[127, 0, 0, 4]], Some("spam source")),
        listed(&[[127, 0, 0, 2]], Some("v6")),
    ];
    assert_eq!(out, expected);
    // The mapped address was queried as IPv4, once, and the TXT only for listings.
    let name = dnsbl_query_name(ip("192.0.2.99"), ZONE);
    assert_eq!(fixture.queries_for(&name), 2, "A and TXT, once");
    assert_eq!(
        fixture.queries_for(&dnsbl_query_name(ip("192.0.2.1"), ZONE)),
        1,
        "A only"
    );

    // Cached per (zone, address); a trailing dot or case change is the same zone.
    let total = fixture.total_queries();
    assert_eq!(provider.dnsbl("BL.test.", &ips).await, expected);
    assert_eq!(fixture.total_queries(), total);
}

#[tokio::test]
async fn dnsbl_failures_and_bad_zones() {
    let (fixture, provider) = start(FixtureConfig::default()).await;
    fixture
        .handle()
        .servfail_name(&dnsbl_query_name(ip("192.0.2.5"), ZONE));
    fixture
        .handle()
        .drop_name(&dnsbl_query_name(ip("192.0.2.6"), ZONE));
    let out = provider
        .dnsbl(ZONE, &[ip("192.0.2.5"), ip("192.0.2.6")])
        .await;
    assert_eq!(
        out,
        [
            DnsblOutcome::Failed(LookupError::ServerFailure),
            DnsblOutcome::Failed(LookupError::Timeout)
        ]
    );
    let bad = provider.dnsbl("", &[ip("192.0.2.5")]).await;
    assert!(matches!(
        &bad[..],
        [DnsblOutcome::Failed(LookupError::Other(_))]
    ));
    // A zone the server is not authoritative for: REFUSED.
    let other = provider.dnsbl("other.test", &[ip("192.0.2.5")]).await;
    assert_eq!(other, [DnsblOutcome::Failed(LookupError::Refused)]);
}

#[tokio::test]
async fn truncated_answers_are_retried_over_tcp() {
    let reason = "é-long reason ".repeat(200); // ~3 KB: over the UDP payload size
    let config = FixtureConfig::default().with_listing(
        ip("192.0.2.50"),
        &[Ipv4Addr::new(127, 0, 0, 2)],
        Some(&reason),
    );
    let (fixture, provider) = start(config).await;
    let out = provider.dnsbl(ZONE, &[ip("192.0.2.50")]).await;
    let expected = DnsblOutcome::Listed {
        answers: vec![Ipv4Addr::new(127, 0, 0, 2)],
        reason: Some(reason),
    };
    assert_eq!(out, [expected]);
    let name = dnsbl_query_name(ip("192.0.2.50"), ZONE);
    assert_eq!(
        fixture.queries_for(&name),
        3,
        "A, TXT over UDP (truncated), TXT over TCP"
    );
}

#[tokio::test]
async fn reverse_starts_the_dnsbl_lookups_of_zones_asked_before() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        ..FixtureConfig::default()
    }
    .with_listing(ip("192.0.2.44"), &[Ipv4Addr::new(127, 0, 0, 2)], None);
    let (fixture, provider) = start(config).await;
    provider.dnsbl(ZONE, &[ip("192.0.2.1")]).await; // the zone is now known
    let ips = [ip("192.0.2.44"), ip("192.0.2.45")];
    provider.reverse(&ips).await;
    // The DNSBL queries went out with the PTR ones, before any `dnsbl` call for them.
    let deadline = Instant::now() + Duration::from_secs(2);
    while fixture.queries_for(&dnsbl_query_name(ips[1], ZONE)) == 0 {
        assert!(Instant::now() < deadline, "no prefetch");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let out = provider.dnsbl(ZONE, &ips).await;
    assert!(matches!(out[0], DnsblOutcome::Listed { .. }));
    assert_eq!(out[1], DnsblOutcome::NotListed);
    // Nothing asked twice: A and TXT of the listing, A of the other.
    assert_eq!(fixture.queries_for(&dnsbl_query_name(ips[0], ZONE)), 2);
    assert_eq!(fixture.queries_for(&dnsbl_query_name(ips[1], ZONE)), 1);
}

/// A slow server whose queue is full gets fewer queries at once, not copies of the same
/// ones: against 50 ms answers at 2,500 a second (a queue of at most 0.5 s, then drops),
/// 3,000 distinct lookups are sent with few retransmits, and all are answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_is_not_flooded_with_retransmits() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        latency: Duration::from_millis(50),
        answers_per_second: 2_500,
        ..FixtureConfig::default()
    };
    let fixture = DnsFixture::start(config).await.expect("fixture starts");
    let provider = DnsProvider::new(&DnsSettings {
        nameservers: vec![fixture.addr()],
        ..DnsSettings::default()
    })
    .expect("provider");
    let ips = many(30, 3_000);
    let started = Instant::now();
    let out = provider.reverse(&ips).await;
    let stats = provider.stats();
    eprintln!(
        "3000 lookups in {:?}: {} queries, {} retransmits, window {} after {} cuts",
        started.elapsed(),
        fixture.total_queries(),
        stats.retransmits,
        stats.window,
        stats.window_cuts
    );
    let failed = out
        .iter()
        .filter(|o| !matches!(o, PtrOutcome::Found(_)))
        .count();
    assert_eq!(failed, 0, "{stats:?}");
    assert!(
        stats.queries_sent <= 3_150,
        "{} queries for 3000 lookups: {stats:?}",
        stats.queries_sent
    );
}
