//! DNS: the host's `DnsProvider` resolving N unique addresses (PTR) against the
//! `dns-fixture` subprocess at 50 ms latency — the bar at the default in-flight limit, and
//! the curve of wall time over the in-flight limit against the bound
//! `latency × ⌈N / in-flight⌉`. Every measurement uses a fresh provider (empty cache).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use logenrich::{Cymru as _, PtrOutcome, TxtOutcome};
use logenrich_dns::{DnsProvider, DnsSettings};

use crate::ctx::Ctx;
use crate::data;
use crate::procs::{DnsServer, FixtureOptions};
use crate::report::{Report, Row, count, median, secs};

const LATENCY: Duration = Duration::from_millis(50);

/// One resolution of a whole batch.
struct Sample {
    wall: f64,
    failed: usize,
}

fn resolve(
    rt: &tokio::runtime::Runtime,
    server: &DnsServer,
    ips: &[IpAddr],
    concurrency: usize,
) -> anyhow::Result<Sample> {
    let settings = DnsSettings {
        nameservers: vec![server.addr],
        concurrency,
        ..DnsSettings::default()
    };
    let provider = DnsProvider::new(&settings).context("cannot build the DNS provider")?;
    let started = Instant::now();
    let out = rt.block_on(provider.reverse(ips));
    let wall = started.elapsed().as_secs_f64();
    anyhow::ensure!(out.len() == ips.len(), "one outcome per address");
    let failed = out
        .iter()
        .filter(|o| !matches!(o, PtrOutcome::Found(_)))
        .count();
    Ok(Sample { wall, failed })
}

/// `latency × ⌈n / in_flight⌉`, in seconds.
fn bound(n: usize, in_flight: usize) -> f64 {
    LATENCY.as_secs_f64() * n.div_ceil(in_flight) as f64
}

/// The DNS bar and curve.
pub fn dns_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let server = DnsServer::start(
        &ctx.bins.dns_fixture,
        &FixtureOptions {
            latency_ms: LATENCY.as_millis() as u64,
            ..FixtureOptions::default()
        },
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start a tokio runtime")?;
    let ips = data::unique_ips(ctx.sizes.dns_ips);
    let n = ips.len();
    let rounds = ctx.sizes.rounds;

    let default = DnsSettings::default().concurrency;
    let samples = (0..rounds)
        .map(|_| resolve(&rt, &server, &ips, default))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let wall = median(&samples.iter().map(|s| s.wall).collect::<Vec<_>>());
    let failed = samples.iter().map(|s| s.failed).max().unwrap_or(0);
    report.push(Row::new(
        format!(
            "DNS: {} unique IPs at 50 ms, default {default} in flight",
            count(n as u64)
        ),
        format!(
            "{} wall (bound {}), {failed} not found/failed",
            secs(wall),
            secs(bound(n, default))
        ),
        "≤ 2 s",
        wall <= 2.0 && failed == 0,
    ));
    cymru_figure(&rt, &server, &ips, report)?;
    slow_server_figure(ctx, &rt, &ips, report)?;

    let mut table = String::from(
        "| in flight | wall (median) | bound latency × ⌈N / in-flight⌉ | wall / bound | not found/failed |\n|---|---|---|---|---|\n",
    );
    for &c in &ctx.sizes.curve {
        let b = bound(n, c);
        // A point whose bound is long is measured once: its spread is small against it.
        let r = if b > 5.0 { 1 } else { rounds };
        let samples = (0..r)
            .map(|_| resolve(&rt, &server, &ips, c))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let wall = median(&samples.iter().map(|s| s.wall).collect::<Vec<_>>());
        let failed = samples.iter().map(|s| s.failed).max().unwrap_or(0);
        eprintln!(
            "bench: DNS curve: {c} in flight: {} (bound {})",
            secs(wall),
            secs(b)
        );
        table.push_str(&format!(
            "| {c} | {} | {} | {:.2} | {failed} |\n",
            secs(wall),
            secs(b),
            wall / b
        ));
    }
    report.section(
        format!(
            "DNS curve: {} unique IPs (PTR), fixture at 50 ms, fresh cache each run",
            count(n as u64)
        ),
        table,
    );
    Ok(())
}

/// Team Cymru (`--cymru`): the origin of every address, then the names of the distinct
/// origin ASes, as the component asks for them (two batched calls), against the fixture's
/// synthetic Cymru answers at 50 ms; fresh cache.
fn cymru_figure(
    rt: &tokio::runtime::Runtime,
    server: &DnsServer,
    ips: &[IpAddr],
    report: &mut Report,
) -> anyhow::Result<()> {
    let settings = DnsSettings {
        nameservers: vec![server.addr],
        ..DnsSettings::default()
    };
    let provider = DnsProvider::new(&settings).context("cannot build the DNS provider")?;
    let started = Instant::now();
    let origins = rt.block_on(provider.origin(ips));
    let mut asns: Vec<u32> = origins
        .iter()
        .filter_map(|o| match o {
            TxtOutcome::Found(texts) => texts.first()?.split('|').next()?.trim().parse().ok(),
            _ => None,
        })
        .collect();
    asns.sort_unstable();
    asns.dedup();
    let names = rt.block_on(provider.as_name(&asns));
    let wall = started.elapsed().as_secs_f64();
    let failed = origins
        .iter()
        .chain(&names)
        .filter(|o| !matches!(o, TxtOutcome::Found(_)))
        .count();
    report.push(Row::new(
        format!(
            "Team Cymru: {} unique IPs at 50 ms (origin, then {} AS names)",
            count(ips.len() as u64),
            count(asns.len() as u64)
        ),
        format!("{} wall, {failed} not found/failed", secs(wall)),
        "≤ 2 s",
        wall <= 2.0 && failed == 0,
    ));
    Ok(())
}

/// Answers a second of the slow server: its queue holds 0.5 s of them, then it drops.
const SLOW_RATE: u32 = 6_000;

/// A slow server (50 ms, [`SLOW_RATE`] answers a second, a bounded queue): the queries
/// sent for N distinct PTR lookups, retransmits included, and the wall time; fresh cache.
fn slow_server_figure(
    ctx: &Ctx,
    rt: &tokio::runtime::Runtime,
    ips: &[IpAddr],
    report: &mut Report,
) -> anyhow::Result<()> {
    let server = DnsServer::start(
        &ctx.bins.dns_fixture,
        &FixtureOptions {
            latency_ms: LATENCY.as_millis() as u64,
            answers_per_second: SLOW_RATE,
            ..FixtureOptions::default()
        },
    )?;
    let settings = DnsSettings {
        nameservers: vec![server.addr],
        ..DnsSettings::default()
    };
    let provider = DnsProvider::new(&settings).context("cannot build the DNS provider")?;
    let started = Instant::now();
    let out = rt.block_on(provider.reverse(ips));
    let wall = started.elapsed().as_secs_f64();
    let stats = provider.stats();
    let failed = out
        .iter()
        .filter(|o| !matches!(o, PtrOutcome::Found(_)))
        .count();
    let n = ips.len() as u64;
    report.push(Row::new(
        format!(
            "DNS: {} unique IPs against a slow server (50 ms, {} answers/s, 0.5 s queue)",
            count(n),
            count(u64::from(SLOW_RATE))
        ),
        format!(
            "{} queries ({} retransmits, window {} after {} cuts), {} wall, {failed} failed",
            count(stats.queries_sent),
            count(stats.retransmits),
            stats.window,
            stats.window_cuts,
            secs(wall)
        ),
        "≤ 1.05 × N queries, ≤ 2 s",
        stats.queries_sent * 100 <= n * 105 && wall <= 2.0 && failed == 0,
    ));
    Ok(())
}
