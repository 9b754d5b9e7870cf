//! The persistent lookup cache (`--cache-db`, issue 17): a re-run with a warm file vs a
//! cold one (and vs none) against the DNS fixture at 20 ms, and what a hit in the file
//! costs against a hit in memory, in process.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use logenrich_dns::cache::{Entry, Lifetime, TtlCache, TtlPolicy};
use logenrich_dns::store::Store;
use logenrich_dns::store::cachedb::CacheDb;

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs::{DNSBL_ZONE, DnsServer, FixtureOptions};
use crate::report::{Report, Row, count, median_of, s, secs};

/// The `N queries sent` of a run's summary.
fn queries_sent(stderr: &str) -> Option<u64> {
    let line = stderr.lines().find(|l| l.contains(" queries sent "))?;
    line.trim_start_matches("logenrich: dns: ")
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// Both `--cache-db` rows.
pub fn cachedb_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    rerun(ctx, report)?;
    hit_cost(ctx, report)
}

/// A run without `--cache-db`, with a cold one, and again with it warm, in rounds.
fn rerun(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let (lines, clients): (u64, u32) = if ctx.quick {
        (20_000, 2_000)
    } else {
        (200_000, 10_000)
    };
    let server = DnsServer::start(
        &ctx.bins.dns_fixture,
        &FixtureOptions {
            latency_ms: 20,
            listed_percent: 5.0,
            ..FixtureOptions::default()
        },
    )?;
    let ns = server.nameserver();
    let file = data::corpus_file(&ctx.work, &data::corpus_options(lines, clients))?;
    let db = ctx.work.join("bench-cache.redb");
    let db_arg = arg(&db)?;
    let base = [
        arg(&file)?,
        "--nameserver",
        &ns,
        "--dnsbl",
        DNSBL_ZONE,
        "--no-geoip",
    ];
    let run = |tag: &str, with_db: bool| {
        let mut args = base.to_vec();
        if with_db {
            args.extend(["--cache-db", db_arg]);
        }
        let m = ctx.run_logenrich(tag, &args)?;
        let log = std::fs::read_to_string(ctx.work.join(format!("logenrich-{tag}.stderr")))?;
        anyhow::Ok((m, queries_sent(&log).unwrap_or(u64::MAX)))
    };
    let (mut none, mut cold, mut warm) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ctx.sizes.rounds {
        none.push(run("cachedb-none", false)?);
        let _ = std::fs::remove_file(&db);
        cold.push(run("cachedb-cold", true)?);
        warm.push(run("cachedb-warm", true)?);
    }
    let wall = |v: &[(crate::procs::Measured, u64)]| median_of(v, |(m, _)| s(m.wall));
    let queries = |v: &[(crate::procs::Measured, u64)]| v.iter().map(|(_, q)| *q).max();
    let warm_queries = queries(&warm).unwrap_or(u64::MAX);
    report.push(Row::new(
        format!(
            "a re-run with a warm --cache-db vs a cold one, PTR + DNSBL at 20 ms ({} lines, {} clients)",
            count(lines),
            count(u64::from(clients))
        ),
        format!(
            "warm {} ({} queries), cold {} ({} queries): {:.1}× faster; no --cache-db {} ({} queries)",
            secs(wall(&warm)),
            warm_queries,
            secs(wall(&cold)),
            queries(&cold).unwrap_or(0),
            wall(&cold) / wall(&warm),
            secs(wall(&none)),
            queries(&none).unwrap_or(0),
        ),
        "0 queries when warm",
        warm_queries == 0,
    ));
    let _ = std::fs::remove_file(&db);
    Ok(())
}

/// What one lookup costs when the memory cache answers it, and when the cache file does
/// (a read transaction, the bytes, and the JSON decode the lookup path does).
fn hit_cost(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let n: u32 = if ctx.quick { 20_000 } else { 200_000 };
    let policy = TtlPolicy {
        min_ttl: Duration::from_secs(60),
        max_ttl: Duration::from_secs(86_400),
        negative_ttl: Duration::from_secs(3_600),
        failure_ttl: Duration::from_secs(30),
    };
    let now = SystemTime::now();
    let ips: Vec<IpAddr> = (0..n)
        .map(|i| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i)))
        .collect();
    let name = |ip: &IpAddr| format!("host-{ip}.example.net.");
    let memory: TtlCache<IpAddr, String> = TtlCache::new(n as usize, policy);
    let path = ctx.work.join("bench-hits.redb");
    let _ = std::fs::remove_file(&path);
    let db = Arc::new(CacheDb::open(&path, 1 << 30)?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        for ip in &ips {
            memory.insert(
                *ip,
                name(ip),
                Lifetime::Positive(Duration::from_secs(3_600)),
                now,
            );
            let entry = Entry {
                value: name(ip),
                expires: now + Duration::from_secs(3_600),
            };
            db.put(
                &format!("ptr/{ip}"),
                serde_json::to_vec(&entry)?,
                entry.expires,
            )
            .await?;
        }
        db.flush().await?;
        anyhow::Ok(())
    })?;
    let mut memory_ns = Vec::new();
    let mut db_ns = Vec::new();
    for _ in 0..ctx.sizes.rounds.max(3) {
        let started = Instant::now();
        let mut found = 0usize;
        for ip in &ips {
            found += usize::from(memory.get(ip, now).is_some());
        }
        memory_ns.push(started.elapsed().as_nanos() as f64 / f64::from(n));
        anyhow::ensure!(found == n as usize, "memory answered {found} of {n}");
        let started = Instant::now();
        let found = rt.block_on(async {
            let mut found = 0usize;
            for ip in &ips {
                if let Some(bytes) = db.get(&format!("ptr/{ip}")).await? {
                    let entry: Entry<String> = serde_json::from_slice(&bytes)?;
                    found += usize::from(entry.is_valid(now, &policy));
                }
            }
            anyhow::Ok(found)
        })?;
        db_ns.push(started.elapsed().as_nanos() as f64 / f64::from(n));
        anyhow::ensure!(
            found == n as usize,
            "the cache file answered {found} of {n}"
        );
    }
    drop(db);
    let _ = std::fs::remove_file(&path);
    let (m, d) = (
        crate::report::median(&memory_ns),
        crate::report::median(&db_ns),
    );
    report.push(Row::info(
        format!(
            "a lookup answered by --cache-db vs by memory ({} entries, in process)",
            count(u64::from(n))
        ),
        format!(
            "cache file {:.1} µs, memory {:.2} µs per hit ({:.0}×)",
            d / 1e3,
            m / 1e3,
            d / m
        ),
    ));
    Ok(())
}
