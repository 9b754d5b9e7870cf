//! logenrich's DNS client against hickory-resolver 0.26, configured as logenrich used it
//! before issue 8 (timeout 2 s, 2 attempts, no cache, TCP fallback, 512 lookups in
//! flight): a burst of PTR + DNSBL lookups against NSD (rate limiting on, stock buffers),
//! and PTR lookups against the hickory fixture dropping 10 % of the queries. Same
//! addresses, same server, a fresh client (empty cache) per run, alternated.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::{FutureExt, StreamExt};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use logenrich::{DnsblOutcome, PtrOutcome};
use logenrich_dns::{DnsProvider, DnsSettings, dnsbl_query_name};

use crate::report::{Report, Row, count, median_of, secs};

/// One run: wall time, failed lookups, and a note (logenrich's retransmits).
struct Sample {
    wall: f64,
    failed: usize,
    retransmits: u64,
}

/// hickory-resolver as `DnsProvider` built it before issue 8.
fn hickory(ns: SocketAddr) -> anyhow::Result<TokioResolver> {
    let mut udp = ConnectionConfig::udp();
    udp.port = ns.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = ns.port();
    let server = NameServerConfig::new(ns.ip(), true, vec![udp, tcp]);
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![server]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let options = builder.options_mut();
    options.timeout = Duration::from_secs(2);
    options.attempts = 1;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    options.try_tcp_on_error = true;
    options.max_active_requests = 512;
    builder.build().context("cannot build hickory-resolver")
}

/// Whether a hickory error is NXDOMAIN (an answer, not a failure).
fn nxdomain(e: &NetError) -> bool {
    matches!(e, NetError::Dns(DnsError::NoRecordsFound(n)) if n.response_code == ResponseCode::NXDomain)
}

/// PTR lookups of `ptr` and DNSBL lookups (A, then TXT when listed) of `bl` in `zone`
/// through hickory-resolver, 512 at a time.
async fn hickory_run(ns: SocketAddr, ptr: &[IpAddr], bl: &[IpAddr], zone: &str) -> Sample {
    let Ok(resolver) = hickory(ns) else {
        return Sample {
            wall: 0.0,
            failed: ptr.len() + bl.len(),
            retransmits: 0,
        };
    };
    let started = Instant::now();
    let resolver = &resolver;
    let ptrs = futures::stream::iter(
        ptr.iter()
            .map(|&ip| async move { resolver.reverse_lookup(ip).await.is_err() }.boxed_local()),
    );
    let bls = futures::stream::iter(bl.iter().map(|&ip| {
        async move {
            let name = format!("{}.", dnsbl_query_name(ip, zone));
            match resolver.ipv4_lookup(name.as_str()).await {
                Ok(_) => resolver.txt_lookup(name.as_str()).await.is_err(),
                Err(e) => !nxdomain(&e),
            }
        }
        .boxed_local()
    }));
    let failed = ptrs
        .chain(bls)
        .buffer_unordered(512)
        .filter(|&failed| async move { failed })
        .count()
        .await;
    Sample {
        wall: started.elapsed().as_secs_f64(),
        failed,
        retransmits: 0,
    }
}

/// The same lookups through a fresh `DnsProvider` with its defaults.
async fn logenrich_run(ns: SocketAddr, ptr: &[IpAddr], bl: &[IpAddr], zone: &str) -> Sample {
    let settings = DnsSettings {
        nameservers: vec![ns],
        ..DnsSettings::default()
    };
    let Ok(provider) = DnsProvider::new(&settings) else {
        return Sample {
            wall: 0.0,
            failed: ptr.len() + bl.len(),
            retransmits: 0,
        };
    };
    let started = Instant::now();
    let (p, b) = tokio::join!(provider.reverse(ptr), provider.dnsbl(zone, bl));
    let failed = p
        .iter()
        .filter(|o| matches!(o, PtrOutcome::Failed(_)))
        .count()
        + b.iter()
            .filter(|o| matches!(o, DnsblOutcome::Failed(_)))
            .count();
    Sample {
        wall: started.elapsed().as_secs_f64(),
        failed,
        retransmits: provider.stats().retransmits,
    }
}

fn describe(samples: &[Sample]) -> String {
    let wall = median_of(samples, |s| s.wall);
    let failed = samples.iter().map(|s| s.failed).max().unwrap_or(0);
    let re = samples.iter().map(|s| s.retransmits).max().unwrap_or(0);
    let re = if re > 0 {
        format!(", {re} retransmits")
    } else {
        String::new()
    };
    format!("{} wall, {failed} failed{re}", secs(wall))
}

/// Both clients, alternated `rounds` times, on the same lookups.
fn compare(
    rt: &tokio::runtime::Runtime,
    rounds: usize,
    ns: SocketAddr,
    ptr: &[IpAddr],
    bl: &[IpAddr],
    zone: &str,
) -> (Vec<Sample>, Vec<Sample>) {
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        ours.push(rt.block_on(logenrich_run(ns, ptr, bl, zone)));
        theirs.push(rt.block_on(hickory_run(ns, ptr, bl, zone)));
    }
    (ours, theirs)
}

/// The two client rows: the burst against NSD at `nsd`, and the lossy fixture.
pub fn client_figures(
    report: &mut Report,
    rounds: usize,
    nsd: SocketAddr,
    ips: &[IpAddr],
    zone: &str,
) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start a tokio runtime")?;
    let n = count(ips.len() as u64);
    let (ours, theirs) = compare(&rt, rounds, nsd, ips, ips, zone);
    report.push(Row::info(
        format!("a burst of {n} PTR + {n} DNSBL lookups against NSD: logenrich's client vs hickory-resolver 0.26 as used before"),
        format!("logenrich {}; hickory-resolver {}", describe(&ours), describe(&theirs)),
    ));

    let fixture = rt.block_on(fixture::dns::DnsFixture::start(
        fixture::dns::FixtureConfig {
            synthetic_ptr: true,
            drop_percent: 10,
            ..fixture::dns::FixtureConfig::default()
        },
    ))?;
    let lossy = &ips[..ips.len().min(2_000)];
    let (ours, theirs) = compare(&rt, rounds, fixture.addr(), lossy, &[], zone);
    report.push(Row::info(
        format!(
            "{} PTR lookups, hickory fixture at 0 ms dropping 10 % of queries: RTT-based retransmit vs hickory-resolver",
            count(lossy.len() as u64)
        ),
        format!("logenrich {}; hickory-resolver {}", describe(&ours), describe(&theirs)),
    ));
    drop(fixture);
    Ok(())
}
