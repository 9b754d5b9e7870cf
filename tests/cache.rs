//! `--cache-db`: the persistent lookup cache, with the `logenrich` binary against the DNS
//! fixture: a re-run asks nothing, a foreign or damaged file is refused and left alone,
//! and a SIGKILL mid-write leaves a file the next run opens.

use std::process::{Command, Stdio};
use std::time::Duration;

use fixture::dns::{DnsFixture, FixtureConfig};

use crate::util::{line, logenrich, records, run, stderr};

/// `n` lines of `n` distinct public clients.
fn distinct_clients(n: u32) -> String {
    (0..n)
        .map(|i| line(&format!("198.18.{}.{}", i / 250, 1 + i % 250), "-") + "\n")
        .collect()
}

fn cached_run(fixture: &DnsFixture, db: &std::path::Path) -> Command {
    let mut cmd = logenrich();
    cmd.args(["--no-geoip", "--dnsbl", "bl.test", "--nameserver"])
        .arg(fixture.addr().to_string())
        .arg("--cache-db")
        .arg(db);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_with_the_cache_db_sends_no_query() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        synthetic_listed_fraction: 0.1,
        ..FixtureConfig::default()
    };
    let fixture = DnsFixture::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lookups.redb");
    let input = distinct_clients(2000);
    let first = {
        let mut cmd = cached_run(&fixture, &db);
        let input = input.clone();
        tokio::task::spawn_blocking(move || run(&mut cmd, input.as_bytes()))
            .await
            .unwrap()
    };
    assert!(first.status.success(), "{}", stderr(&first));
    let asked = fixture.total_queries();
    assert!(asked >= 4000, "the first run asked {asked} queries");
    let second = {
        let mut cmd = cached_run(&fixture, &db);
        tokio::task::spawn_blocking(move || run(&mut cmd, input.as_bytes()))
            .await
            .unwrap()
    };
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(
        fixture.total_queries() - asked,
        0,
        "the second run's queries; its summary: {}",
        stderr(&second)
    );
    // 2,000 PTR and 2,000 DNSBL lookups, and the zone's two RFC 5782 test points.
    let err = stderr(&second);
    assert!(
        err.contains("4002 lookups answered by the cache database"),
        "{err}"
    );
    let (a, b) = (records(&first.stdout), records(&second.stdout));
    assert_eq!(a.len(), 2000);
    assert_eq!(a, b, "the same records from the cache");
    let listed = b.iter().filter(|r| r["dnsbl"][0]["listed"] == true).count();
    assert!((100..=300).contains(&listed), "{listed} listed");
    assert!(b.iter().all(|r| r["dns"]["status"] == "found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_or_damaged_cache_db_is_refused_and_left_alone() {
    let fixture = DnsFixture::start(FixtureConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    let text = "my notes, not a database\n".repeat(200);
    std::fs::write(&notes, &text).unwrap();
    let mut cmd = cached_run(&fixture, &notes);
    let out = run(&mut cmd, distinct_clients(3).as_bytes());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--cache-db"), "{err}");
    assert!(err.contains("not a logenrich cache database"), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), text);
}

/// A run killed while it writes the cache leaves whole commits: the next run opens the
/// file, and asks the network only for what the killed one had not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_while_writing_the_cache_db_leaves_a_usable_file() {
    let config = FixtureConfig {
        synthetic_ptr: true,
        latency: Duration::from_millis(2),
        ..FixtureConfig::default()
    };
    let fixture = DnsFixture::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lookups.redb");
    let input_path = dir.path().join("in.log");
    std::fs::write(&input_path, distinct_clients(40_000)).unwrap();
    let mut cmd = cached_run(&fixture, &db);
    let mut child = cmd
        .arg(&input_path)
        .args(["--batch-size", "256", "-o"])
        .arg(dir.path().join("out.jsonl"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once answers are being written: some queries asked, not all.
    let started = std::time::Instant::now();
    while fixture.total_queries() < 20_000 && started.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let asked = fixture.total_queries();
    let mut cmd = cached_run(&fixture, &db);
    cmd.arg(&input_path);
    let out = tokio::task::spawn_blocking(move || run(&mut cmd, b""))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(records(&out.stdout).len(), 40_000);
    let again = fixture.total_queries() - asked;
    assert!(
        again < 80_000,
        "the rerun asked {again} queries, none of the killed run's {asked} were kept: {}",
        stderr(&out)
    );
}

fn shared_run(fixture: &DnsFixture, url: &str) -> Command {
    let mut cmd = logenrich();
    cmd.args(["--no-geoip", "--dnsbl", "bl.test", "--nameserver"])
        .arg(fixture.addr().to_string())
        .args(["--shared-cache", url]);
    cmd
}

/// `--shared-cache`: a second process over the same clients asks the bucket, not DNS;
/// two processes at once over new clients ask about as much as one would (a name one
/// is asking for, the other waits for).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_sharing_a_cache_bucket_ask_each_name_once() {
    let Some(program) = crate::util::tool("nats-server") else {
        return;
    };
    let server = fixture::nats::NatsServer::start(&program).unwrap();
    let url = format!("{}/lookups", server.url());
    let config = FixtureConfig {
        synthetic_ptr: true,
        synthetic_listed_fraction: 0.1,
        latency: Duration::from_millis(20),
        ..FixtureConfig::default()
    };
    let fixture = DnsFixture::start(config).await.unwrap();
    let input = distinct_clients(2000);
    let spawn = |input: String| {
        let mut cmd = shared_run(&fixture, &url);
        tokio::task::spawn_blocking(move || run(&mut cmd, input.as_bytes()))
    };
    let first = spawn(input.clone()).await.unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let asked = fixture.total_queries();
    assert!(asked >= 4000, "the first run asked {asked} queries");
    let second = spawn(input.clone()).await.unwrap();
    assert!(second.status.success(), "{}", stderr(&second));
    let err = stderr(&second);
    assert_eq!(
        fixture.total_queries() - asked,
        0,
        "the second run's queries: {err}"
    );
    assert!(
        err.contains("4002 lookups answered by the shared cache"),
        "{err}"
    );
    assert_eq!(records(&first.stdout), records(&second.stdout));

    // Two at once, over 2,000 clients neither has seen.
    let fresh: String = (0..2000u32)
        .map(|i| line(&format!("198.19.{}.{}", i / 250, 1 + i % 250), "-") + "\n")
        .collect();
    let before = fixture.total_queries();
    let (a, b) = (spawn(fresh.clone()), spawn(fresh));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert!(
        a.status.success() && b.status.success(),
        "{}\n{}",
        stderr(&a),
        stderr(&b)
    );
    let together = fixture.total_queries() - before;
    eprintln!(
        "two processes at once: {together} queries\n{}\n{}",
        stderr(&a),
        stderr(&b)
    );
    assert!(
        together <= 4000 * 12 / 10,
        "two processes at once asked {together} queries for 4,000 lookups"
    );
    assert_eq!(records(&a.stdout), records(&b.stdout));
}
