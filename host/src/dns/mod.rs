//! The host's DNS provider: batched reverse (PTR) and DNSBL lookups over hickory-resolver.
//!
//! [`DnsProvider`] answers a whole batch at once: it deduplicates the addresses, serves what
//! it can from its own TTL cache ([`crate::cache`]), joins lookups already in flight (from
//! concurrent batches too) and sends the rest concurrently, at most
//! [`DnsSettings::concurrency`] at a time. hickory's own cache is disabled so that every
//! reuse is counted here. Outcomes are the types of [`crate::lookup`]; expected failures
//! (not found, timeout, SERVFAIL) are values, never errors.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, join_all};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use tokio::sync::Semaphore;

use crate::cache::{Cached, Lifetime, LookupCache, SharedLookup, TtlPolicy};
use crate::lookup::{Dnsbl, DnsblOutcome, LookupError, PtrOutcome, ReverseDns};

/// How to build a [`DnsProvider`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSettings {
    /// Nameservers to query (UDP, with TCP when an answer is truncated); empty means the
    /// system configuration (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// Time allowed for one try of a query.
    pub timeout: Duration,
    /// How many times a query is tried in all (at least 1).
    pub attempts: usize,
    /// Most lookups in flight at once (at least 1).
    pub concurrency: usize,
    /// Most outcomes cached, per cache (one for PTR, one for DNSBL); 0 turns caching off.
    pub cache_size: usize,
    /// Floor of the TTL of cached answers (and of negative ones, up to `negative_ttl`).
    pub min_ttl: Duration,
    /// Ceiling of the TTL of cached answers.
    pub max_ttl: Duration,
    /// TTL of cached negative answers (NXDOMAIN, no records) without a SOA, and the
    /// ceiling of those with one.
    pub negative_ttl: Duration,
    /// How long a failed lookup (timeout, SERVFAIL, REFUSED) is remembered, so a dead
    /// server costs one timeout per name, not one per batch (0: never).
    pub failure_ttl: Duration,
}

impl Default for DnsSettings {
    fn default() -> Self {
        DnsSettings {
            nameservers: Vec::new(),
            timeout: Duration::from_secs(2),
            attempts: 2,
            concurrency: 512,
            cache_size: 100_000,
            min_ttl: Duration::from_secs(60),
            max_ttl: Duration::from_secs(86_400),
            negative_ttl: Duration::from_secs(300),
            failure_ttl: Duration::from_secs(30),
        }
    }
}

/// Why a [`DnsProvider`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DnsSetupError {
    /// The system resolver configuration (`/etc/resolv.conf`) could not be read or has no
    /// nameserver.
    #[error("cannot read the system DNS configuration: {0}")]
    SystemConfig(#[source] NetError),
    /// A setting is out of range; the message names it.
    #[error("invalid DNS setting: {0}")]
    InvalidSetting(&'static str),
    /// hickory-resolver refused the configuration.
    #[error("cannot build the DNS resolver: {0}")]
    Resolver(#[source] NetError),
}

/// Counters of a [`DnsProvider`] since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DnsStats {
    /// DNS queries sent to the network (a DNSBL listing costs two: A, then TXT).
    pub queries_sent: u64,
    /// Lookups answered from the cache.
    pub cache_hits: u64,
    /// Lookups that joined an identical lookup already in flight.
    pub inflight_joins: u64,
    /// Lookups that ended in a failure (timeout, SERVFAIL, ...).
    pub failures: u64,
}

/// The RFC 5782 §2 query name of `ip` in `zone`, without trailing dot: IPv4 octets reversed
/// (`192.0.2.99` → `99.2.0.192.zone`), IPv6 as 32 reversed nibbles, and IPv4-mapped IPv6
/// (`::ffff:a.b.c.d`) as IPv4. A leading or trailing dot of `zone` is ignored.
pub fn dnsbl_query_name(ip: IpAddr, zone: &str) -> String {
    let zone = zone.trim_matches('.');
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{zone}")
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mut name = String::with_capacity(64 + zone.len());
            for i in 0..32 {
                let nibble = (bits >> (4 * i)) & 0xf;
                name.push_str(&format!("{nibble:x}."));
            }
            name.push_str(zone);
            name
        }
    }
}

/// A DNSBL cache key: normalized zone and canonical address.
type DnsblKey = (Arc<str>, IpAddr);

/// The state shared by the clones of a provider and its lookup tasks.
struct Inner {
    resolver: TokioResolver,
    permits: Arc<Semaphore>,
    ptr: Arc<LookupCache<IpAddr, PtrOutcome>>,
    dnsbl: Arc<LookupCache<DnsblKey, DnsblOutcome>>,
    queries_sent: AtomicU64,
    cache_hits: AtomicU64,
    inflight_joins: AtomicU64,
    failures: AtomicU64,
}

/// Batched, cached, deduplicated reverse-DNS and DNSBL lookups. Cheap to clone (clones share
/// the resolver, caches and counters). Lookups must run inside a tokio runtime.
#[derive(Clone)]
pub struct DnsProvider {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DnsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsProvider")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl DnsProvider {
    /// Builds the resolver (reading `/etc/resolv.conf` when no nameserver is given).
    pub fn new(settings: &DnsSettings) -> Result<DnsProvider, DnsSetupError> {
        if settings.timeout.is_zero() {
            return Err(DnsSetupError::InvalidSetting("timeout must be above zero"));
        }
        if settings.attempts == 0 {
            return Err(DnsSetupError::InvalidSetting("attempts must be at least 1"));
        }
        if settings.concurrency == 0 || settings.concurrency > Semaphore::MAX_PERMITS {
            return Err(DnsSetupError::InvalidSetting(
                "concurrency must be at least 1",
            ));
        }
        if settings.min_ttl > settings.max_ttl {
            return Err(DnsSetupError::InvalidSetting(
                "min_ttl must not exceed max_ttl",
            ));
        }
        let mut builder = if settings.nameservers.is_empty() {
            TokioResolver::builder_tokio().map_err(DnsSetupError::SystemConfig)?
        } else {
            let servers = settings.nameservers.iter().map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
            });
            let config = ResolverConfig::from_parts(None, Vec::new(), servers.collect());
            TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        };
        let options = builder.options_mut();
        options.timeout = settings.timeout;
        options.attempts = settings.attempts - 1; // hickory counts retries
        options.cache_size = 0; // ours counts hits; hickory's would hide them
        options.use_hosts_file = ResolveHosts::Never;
        options.try_tcp_on_error = true;
        options.max_active_requests = settings.concurrency.max(32); // per TCP connection
        let resolver = builder.build().map_err(DnsSetupError::Resolver)?;
        let policy = TtlPolicy {
            min_ttl: settings.min_ttl,
            max_ttl: settings.max_ttl,
            negative_ttl: settings.negative_ttl,
            failure_ttl: settings.failure_ttl,
        };
        Ok(DnsProvider {
            inner: Arc::new(Inner {
                resolver,
                permits: Arc::new(Semaphore::new(settings.concurrency)),
                ptr: LookupCache::new(settings.cache_size, policy),
                dnsbl: LookupCache::new(settings.cache_size, policy),
                queries_sent: AtomicU64::new(0),
                cache_hits: AtomicU64::new(0),
                inflight_joins: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            }),
        })
    }

    /// Looks up the PTR name of every address: exactly one outcome per input, in input
    /// order. IPv4-mapped IPv6 addresses are looked up as IPv4.
    pub async fn reverse(&self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        let keys: Vec<IpAddr> = ips.iter().map(|ip| ip.to_canonical()).collect();
        let inner = &self.inner;
        resolve_all(
            inner,
            &inner.ptr,
            keys,
            |ip| fetch_ptr(Arc::clone(inner), ip).boxed(),
            || PtrOutcome::Failed(aborted()),
        )
        .await
    }

    /// Queries the DNSBL `zone` for every address (query names as [`dnsbl_query_name`]):
    /// exactly one outcome per input, in input order.
    pub async fn dnsbl(&self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
        let zone = zone.trim_matches('.').to_ascii_lowercase();
        if zone.is_empty() || Name::from_ascii(format!("{zone}.")).is_err() {
            let error = LookupError::Other(format!("invalid DNSBL zone {zone:?}"));
            return vec![DnsblOutcome::Failed(error); ips.len()];
        }
        let zone: Arc<str> = Arc::from(zone);
        let keys: Vec<DnsblKey> = ips
            .iter()
            .map(|ip| (Arc::clone(&zone), ip.to_canonical()))
            .collect();
        let inner = &self.inner;
        let fetch = |key: DnsblKey| fetch_dnsbl(Arc::clone(inner), key).boxed();
        resolve_all(inner, &inner.dnsbl, keys, fetch, || {
            DnsblOutcome::Failed(aborted())
        })
        .await
    }

    /// The counters so far.
    pub fn stats(&self) -> DnsStats {
        let inner = &self.inner;
        DnsStats {
            queries_sent: inner.queries_sent.load(Ordering::Relaxed),
            cache_hits: inner.cache_hits.load(Ordering::Relaxed),
            inflight_joins: inner.inflight_joins.load(Ordering::Relaxed),
            failures: inner.failures.load(Ordering::Relaxed),
        }
    }
}

#[async_trait::async_trait]
impl ReverseDns for DnsProvider {
    async fn reverse(&self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        DnsProvider::reverse(self, ips).await
    }
}

#[async_trait::async_trait]
impl Dnsbl for DnsProvider {
    async fn dnsbl(&self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
        DnsProvider::dnsbl(self, zone, ips).await
    }
}

fn aborted() -> LookupError {
    LookupError::Other("the lookup task ended abnormally".to_owned())
}

/// Resolves a batch: each distinct key once, from the cache, a lookup in flight or a new
/// lookup; all pending ones awaited together. Returns one value per key, in order.
async fn resolve_all<K, V>(
    inner: &Inner,
    cache: &Arc<LookupCache<K, V>>,
    keys: Vec<K>,
    fetch: impl Fn(K) -> BoxFuture<'static, (V, Lifetime)>,
    on_abort: impl Fn() -> V,
) -> Vec<V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let now = Instant::now();
    let mut slot_of: HashMap<K, usize> = HashMap::with_capacity(keys.len());
    let mut values: Vec<Option<V>> = Vec::new();
    let mut pending: Vec<(usize, SharedLookup<V>)> = Vec::new();
    for key in &keys {
        if slot_of.contains_key(key) {
            continue;
        }
        let slot = values.len();
        slot_of.insert(key.clone(), slot);
        match cache.get_or_start(key.clone(), now, || fetch(key.clone())) {
            Cached::Hit(value) => {
                inner.cache_hits.fetch_add(1, Ordering::Relaxed);
                values.push(Some(value));
            }
            Cached::InFlight { result, joined } => {
                if joined {
                    inner.inflight_joins.fetch_add(1, Ordering::Relaxed);
                }
                values.push(None);
                pending.push((slot, result));
            }
        }
    }
    let (slots, lookups): (Vec<usize>, Vec<SharedLookup<V>>) = pending.into_iter().unzip();
    for (slot, value) in slots.into_iter().zip(join_all(lookups).await) {
        values[slot] = Some(value.unwrap_or_else(&on_abort));
    }
    keys.iter()
        .map(|key| {
            slot_of
                .get(key)
                .and_then(|&slot| values[slot].clone())
                .unwrap_or_else(&on_abort)
        })
        .collect()
}

/// How a failed hickory lookup counts: a negative answer (with the SOA's negative TTL if
/// any) or a failure.
enum Negative {
    NotFound(Option<Duration>),
    Failed(LookupError),
}

fn classify(error: &NetError) -> Negative {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(no_records)) => match no_records.response_code {
            ResponseCode::ServFail => Negative::Failed(LookupError::ServerFailure),
            ResponseCode::Refused => Negative::Failed(LookupError::Refused),
            _ => Negative::NotFound(
                no_records
                    .negative_ttl
                    .map(|s| Duration::from_secs(s.into())),
            ),
        },
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
            Negative::Failed(LookupError::ServerFailure)
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => {
            Negative::Failed(LookupError::Refused)
        }
        NetError::Timeout => Negative::Failed(LookupError::Timeout),
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Negative::Failed(LookupError::Timeout)
        }
        other => Negative::Failed(LookupError::Other(other.to_string())),
    }
}

/// The smallest TTL of `records`, as a [`Lifetime::Positive`].
fn positive<'a>(records: impl Iterator<Item = &'a Record>) -> Lifetime {
    let ttl = records.map(|r| r.ttl).min().unwrap_or(0);
    Lifetime::Positive(Duration::from_secs(ttl.into()))
}

fn count_failure(inner: &Inner, failed: bool) {
    if failed {
        inner.failures.fetch_add(1, Ordering::Relaxed);
    }
}

async fn fetch_ptr(inner: Arc<Inner>, ip: IpAddr) -> (PtrOutcome, Lifetime) {
    let Ok(_permit) = Arc::clone(&inner.permits).acquire_owned().await else {
        return (PtrOutcome::Failed(aborted()), Lifetime::Transient);
    };
    inner.queries_sent.fetch_add(1, Ordering::Relaxed);
    let outcome = match inner.resolver.reverse_lookup(ip).await {
        Ok(lookup) => {
            let ptrs: Vec<&Record> = lookup
                .answers()
                .iter()
                .filter(|r| matches!(r.data, RData::PTR(_)))
                .collect();
            match ptrs.first().map(|r| &r.data) {
                Some(RData::PTR(name)) => {
                    let name = name.0.to_ascii().trim_end_matches('.').to_owned();
                    (PtrOutcome::Found(name), positive(ptrs.into_iter()))
                }
                _ => (PtrOutcome::NotFound, Lifetime::Negative(None)),
            }
        }
        Err(error) => match classify(&error) {
            Negative::NotFound(ttl) => (PtrOutcome::NotFound, Lifetime::Negative(ttl)),
            Negative::Failed(error) => (PtrOutcome::Failed(error), Lifetime::Failed),
        },
    };
    count_failure(&inner, matches!(outcome.0, PtrOutcome::Failed(_)));
    outcome
}

async fn fetch_dnsbl(inner: Arc<Inner>, (zone, ip): DnsblKey) -> (DnsblOutcome, Lifetime) {
    let name = match Name::from_ascii(format!("{}.", dnsbl_query_name(ip, &zone))) {
        Ok(name) => name,
        Err(error) => {
            let error = LookupError::Other(format!("invalid DNSBL query name: {error}"));
            return (DnsblOutcome::Failed(error), Lifetime::Transient);
        }
    };
    let Ok(_permit) = Arc::clone(&inner.permits).acquire_owned().await else {
        return (DnsblOutcome::Failed(aborted()), Lifetime::Transient);
    };
    inner.queries_sent.fetch_add(1, Ordering::Relaxed);
    let outcome = match inner.resolver.ipv4_lookup(name.clone()).await {
        Ok(lookup) => {
            let records: Vec<&Record> = lookup
                .answers()
                .iter()
                .filter(|r| matches!(r.data, RData::A(_)))
                .collect();
            let answers = records
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect::<Vec<_>>();
            if answers.is_empty() {
                (DnsblOutcome::NotListed, Lifetime::Negative(None))
            } else {
                inner.queries_sent.fetch_add(1, Ordering::Relaxed);
                let reason = inner
                    .resolver
                    .txt_lookup(name)
                    .await
                    .ok()
                    .and_then(|txt| txt_text(txt.answers()));
                (
                    DnsblOutcome::Listed { answers, reason },
                    positive(records.into_iter()),
                )
            }
        }
        Err(error) => match classify(&error) {
            Negative::NotFound(ttl) => (DnsblOutcome::NotListed, Lifetime::Negative(ttl)),
            Negative::Failed(error) => (DnsblOutcome::Failed(error), Lifetime::Failed),
        },
    };
    count_failure(&inner, matches!(outcome.0, DnsblOutcome::Failed(_)));
    outcome
}

/// The text of TXT records: each record's strings concatenated (as bytes, then decoded as
/// UTF-8, lossily), records joined by `"; "`.
fn txt_text(records: &[Record]) -> Option<String> {
    let texts: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(String::from_utf8_lossy(&txt.txt_data.concat()).into_owned()),
            _ => None,
        })
        .collect();
    (!texts.is_empty()).then(|| texts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn builds_rfc5782_query_names() {
        assert_eq!(
            dnsbl_query_name(ip("192.0.2.99"), "zone"),
            "99.2.0.192.zone"
        );
        assert_eq!(
            dnsbl_query_name(ip("127.0.0.2"), "bl.test."),
            "2.0.0.127.bl.test"
        );
        assert_eq!(
            dnsbl_query_name(ip("::ffff:192.0.2.99"), "zone"),
            "99.2.0.192.zone"
        );
        // RFC 5782 §2.4
        assert_eq!(
            dnsbl_query_name(ip("2001:db8:1:2:3:4:567:89ab"), "ugly.example"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example"
        );
    }

    #[test]
    fn classifies_errors() {
        let servfail = NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail));
        assert!(matches!(
            classify(&servfail),
            Negative::Failed(LookupError::ServerFailure)
        ));
        let refused = NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused));
        assert!(matches!(
            classify(&refused),
            Negative::Failed(LookupError::Refused)
        ));
        assert!(matches!(
            classify(&NetError::Timeout),
            Negative::Failed(LookupError::Timeout)
        ));
        assert!(matches!(
            classify(&NetError::Busy),
            Negative::Failed(LookupError::Other(_))
        ));
    }

    #[test]
    fn rejects_bad_settings() {
        let bad = DnsSettings {
            attempts: 0,
            ..DnsSettings::default()
        };
        assert!(matches!(
            DnsProvider::new(&bad),
            Err(DnsSetupError::InvalidSetting(_))
        ));
        let bad = DnsSettings {
            concurrency: 0,
            ..DnsSettings::default()
        };
        assert!(matches!(
            DnsProvider::new(&bad),
            Err(DnsSetupError::InvalidSetting(_))
        ));
    }
}
