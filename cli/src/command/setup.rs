//! What every mode builds from its enrichment flags: the DNS provider with the stores
//! behind its cache (`--cache-db`, `--shared-cache`) and the [`Enricher`]; and the
//! lookup lines of the summary, the same for a file run and `logenrich nats`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;

use super::Failure;
use super::args::EnrichArgs;
use super::plan::{Plan, settings};
use logenrich::Enricher;
use logenrich_dns::DnsProvider;
use logenrich_dns::store::{Store, Stores};
use logenrich_geoip::{self as geoip, GeoIp};

/// A ready enrichment: the enricher and, when lookups are on, its DNS provider.
pub(crate) struct Enrichment {
    pub(crate) enricher: Arc<Enricher>,
    pub(crate) dns: Option<DnsProvider>,
}

fn usage<E: Into<anyhow::Error>>(e: E) -> Failure {
    Failure::Usage(e.into())
}

/// The DNS provider of `settings`, with the stores the plan names behind its cache:
/// the cache database first (local, fast), then the shared bucket.
async fn dns_provider(
    settings: &logenrich_dns::DnsSettings,
    plan: &Plan,
) -> anyhow::Result<DnsProvider> {
    let mut stores: Vec<Arc<dyn Store>> = Vec::new();
    if let Some((path, max_bytes)) = &plan.cache_db {
        let db =
            logenrich_dns::store::cachedb::CacheDb::open(path, *max_bytes).context("--cache-db")?;
        stores.push(Arc::new(db));
    }
    if let Some(url) = &plan.shared_cache {
        let shared = crate::nats::kv::SharedCache::open(url)
            .await
            .context("--shared-cache")?;
        stores.push(Arc::new(shared));
    }
    Ok(DnsProvider::with_stores(settings, Stores::new(stores))?)
}

/// Builds the enrichment of `args` and `plan`: lookups, GeoIP, the component and its
/// settings; then checks the DNSBL zones' test points (warnings only).
pub(crate) async fn enrichment(args: &EnrichArgs, plan: &Plan) -> Result<Enrichment, Failure> {
    let quiet = args.quiet;
    let mut builder = Enricher::builder();
    let dns = match &plan.dns {
        Some(settings) => Some(dns_provider(settings, plan).await.map_err(usage)?),
        None => None,
    };
    if let Some(dns) = &dns {
        let dns = Arc::new(dns.clone());
        let zones = plan.dnsbl.iter().map(|z| z.zone.clone());
        builder = builder.reverse_dns(dns.clone()).dnsbl(dns.clone(), zones);
        if args.cymru {
            builder = builder.cymru(dns);
        }
    }
    if plan.geoip_on {
        if plan.geoip.is_empty() {
            if !quiet {
                eprintln!(
                    "logenrich: no GeoIP database found in {}; geo is off (see README: fetch GeoLite2)",
                    geoip::DEFAULT_DIRS.join(", ")
                );
            }
        } else {
            let geo = GeoIp::open(&plan.geoip).map_err(usage)?;
            builder = builder.geoip(Arc::new(geo));
        }
    }
    if let Some(path) = &args.component {
        builder = builder.component_file(path);
    }
    if let Some(dir) = compile_cache(args) {
        builder = builder.compile_cache(dir);
    }
    let settings = settings(args, plan).map_err(usage)?;
    builder = match plan.deadline {
        Some(limit) => builder.deadline(limit),
        None => builder.no_deadline(),
    };
    let enricher = builder
        .settings(settings)
        .instances(plan.instances)
        .memory_limit(plan.memory_mib << 20)
        .build()
        .await
        .map_err(usage)?;
    // Test points only once the component has accepted the zones (valid DNS names).
    if let (Some(dns), false) = (&dns, plan.dnsbl.is_empty()) {
        let zones: Vec<String> = plan.dnsbl.iter().map(|z| z.zone.clone()).collect();
        for warning in logenrich_dns::testpoint::check(dns, &zones).await {
            eprintln!("logenrich: warning: {warning}");
        }
    }
    Ok(Enrichment {
        enricher: Arc::new(enricher),
        dns,
    })
}

/// The compile cache directory, unless `--no-compile-cache`; one that cannot be
/// created is not fatal: the component is compiled without it.
fn compile_cache(args: &EnrichArgs) -> Option<PathBuf> {
    let dir = (!args.no_compile_cache)
        .then(logenrich::default_cache_dir)
        .flatten()?;
    if std::fs::create_dir_all(&dir).is_err() {
        eprintln!(
            "logenrich: cannot create compile cache {}; compiling without it",
            dir.display()
        );
    }
    dir.is_dir().then_some(dir)
}

impl Enrichment {
    /// Writes what the stores still hold to them; a failure is a warning (the records
    /// are written: only later runs lose those answers).
    pub(crate) async fn flush_stores(&self) {
        if let Some(dns) = &self.dns
            && let Err(e) = dns.flush_stores().await
        {
            eprintln!(
                "logenrich: warning: the lookup cache kept only part of this run's answers: {e}"
            );
        }
    }

    /// The summary's lines on lookups and imports (stderr).
    pub(crate) fn print_lookups(&self, plan: &Plan) {
        if let Some(dns) = &self.dns {
            print_dns(dns, plan);
        }
        let enricher = &self.enricher;
        let c = enricher.call_counts();
        eprintln!(
            "logenrich: imports: dns {} calls/{} ips, dnsbl {} calls/{} ips, geoip {} calls/{} ips; component ready in {:.0} ms",
            c.dns_calls,
            c.dns_addresses,
            c.dnsbl_calls,
            c.dnsbl_addresses,
            c.geoip_calls,
            c.geoip_addresses,
            enricher.compile_time().as_secs_f64() * 1000.0,
        );
    }
}

fn print_dns(dns: &DnsProvider, plan: &Plan) {
    let s = dns.stats();
    let asked = s.cache_hits + s.inflight_joins + s.queries_sent;
    eprintln!(
        "logenrich: dns: {} queries sent ({} over TCP, {} retransmits), {} cache hits ({:.1}%), {} joined in flight, {} failed",
        s.queries_sent,
        s.tcp_queries,
        s.retransmits,
        s.cache_hits,
        100.0 * s.cache_hits as f64 / (asked.max(1)) as f64,
        s.inflight_joins,
        s.failures,
    );
    // The stores in the order `dns_provider` put them.
    let mut tier = 0;
    if plan.cache_db.is_some() {
        eprintln!(
            "logenrich: dns: {} lookups answered by the cache database",
            s.store_hits[tier]
        );
        tier += 1;
    }
    if plan.shared_cache.is_some() {
        eprintln!(
            "logenrich: dns: {} lookups answered by the shared cache, {} waited for another process's answer",
            s.store_hits[tier], s.claim_waits
        );
    }
    if s.store_errors > 0 {
        eprintln!(
            "logenrich: dns: {} lookup-cache errors (those lookups went to the network)",
            s.store_errors
        );
    }
    if s.window_cuts > 0 || s.servfail_retries > 0 {
        eprintln!(
            "logenrich: dns: answers came late: {} queries in flight per nameserver at the end (halved {} times), {} SERVFAIL answers of a resolver asked again",
            s.window, s.window_cuts, s.servfail_retries,
        );
    }
    if s.unreachable {
        eprintln!(
            "logenrich: dns: the nameserver was unreachable (refused, or silent for a whole --timeout) during the run; its lookups failed at once until it answered again"
        );
    }
}
