//! logenrich's DNS client: batched reverse (PTR), DNSBL and Team Cymru lookups.
//!
//! [`DnsProvider`] answers a whole batch at once: it deduplicates the addresses, serves what
//! it can from its own TTL cache ([`cache`]), joins lookups already in flight (from
//! concurrent batches too) and sends the rest concurrently, at most
//! [`DnsSettings::concurrency`] at a time. It implements `logenrich-types`' provider traits
//! ([`ReverseDns`], [`Dnsbl`], [`Cymru`]) and its outcomes are that crate's;
//! expected failures (not found, timeout, SERVFAIL, an unreachable server) are values,
//! never errors.
//!
//! The queries themselves go out through `client`: hickory-proto encodes and decodes the
//! messages, our own small UDP and TCP exchanges carry them (`udp`, `tcp`), and
//! `server` keeps per nameserver an RTT estimate (retransmit timer), a circuit breaker
//! and a TCP preference. The lookups run on the provider's own I/O thread (`io`), and a
//! PTR request also starts the DNSBL lookups of the same addresses in the zones asked
//! before, so a batch's two kinds of lookups overlap. Without nameservers given, those of
//! `/etc/resolv.conf` are used (read by the `resolv-conf` crate). [`testpoint`] checks a
//! DNSBL zone's RFC 5782 test points.
//!
//! Why not hickory-resolver's exchange (0.26.3): against Debian's NSD with its default
//! response rate limiting, a burst of DNSBL queries gets part of its answers truncated
//! (the RRL "slip"); hickory retries those over one TCP connection whose send queue is a
//! `futures` channel of 32 slots (`hickory-net` `xfer/mod.rs`, `DEFAULT_STREAM_BUFFER_SIZE`)
//! filled with `try_send` (`BufDnsStreamHandle::send`, called from
//! `DnsMultiplexer::send_message`), so every query beyond the slots failed at once with
//! "mpsc::SendError send failed because channel is full", although `max_active_requests`
//! allowed hundreds. Its UDP sockets are unconnected (a refused port waits out the
//! timeout) and its retransmit interval has a floor of 333 ms.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::{BoxFuture, join_all};
use hickory_proto::rr::Name;
use tokio::sync::Semaphore;

use crate::cache::{Cached, Lifetime, LookupCache, SharedLookup, TtlPolicy};
use crate::store::Stores;
use logenrich_types::names::zone_key;
pub use logenrich_types::names::{cymru_as_name, cymru_origin_name, dnsbl_query_name};
use logenrich_types::provider::{Cymru, Dnsbl, ReverseDns};
use logenrich_types::{DnsblOutcome, LookupError, PtrOutcome, TxtOutcome};

mod answer;
pub mod cache;
mod client;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod io;
mod server;
pub mod store;
mod tcp;
pub mod testpoint;
mod udp;
mod window;
mod wire;

use client::Client;

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
    /// Most queries in flight at once (at least 1); a query pausing before it asks a
    /// resolver again after a SERVFAIL holds no place.
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
    /// The system resolver configuration (`/etc/resolv.conf`) could not be read.
    #[error("cannot read the system DNS configuration {path}: {source}")]
    SystemConfig {
        /// The file.
        path: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The system resolver configuration could not be parsed.
    #[error("cannot parse the system DNS configuration {path}: {reason}")]
    SystemConfigSyntax {
        /// The file.
        path: &'static str,
        /// What the parser said (it names the line).
        reason: String,
    },
    /// The system configuration names no nameserver.
    #[error("the system DNS configuration (/etc/resolv.conf) names no nameserver")]
    NoNameserver,
    /// The thread that runs the lookups could not be started.
    #[error("cannot start the DNS thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A setting is out of range; the message names it.
    #[error("invalid DNS setting: {0}")]
    InvalidSetting(&'static str),
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
    /// Lookups that ended in a failure (timeout, SERVFAIL, unreachable server, ...).
    pub failures: u64,
    /// UDP queries sent again because no answer came within the retransmit interval.
    pub retransmits: u64,
    /// Queries asked over TCP (after a truncated UDP answer, or while a server answers
    /// UDP truncated).
    pub tcp_queries: u64,
    /// Whether a nameserver was judged unreachable (refused, or silent for a whole
    /// timeout) at some point: lookups then failed at once until a probe got through.
    pub unreachable: bool,
    /// SERVFAIL answers of a recursive resolver asked again after a pause.
    pub servfail_retries: u64,
    /// The smallest window of UDP queries in flight among the nameservers now.
    pub window: u64,
    /// How often a nameserver's window was halved (its answers were late).
    pub window_cuts: u64,
    /// Lookups answered by the stores behind the memory cache: the first (`--cache-db`),
    /// the second (the shared cache).
    pub store_hits: [u64; 2],
    /// Lookups answered by another process that had claimed them in the shared store.
    pub claim_waits: u64,
    /// Reads and writes that a store failed (each a miss or a lost write).
    pub store_errors: u64,
}

/// Most DNSBL zones remembered for the prefetch (the host asks only configured ones).
const PREFETCH_ZONES: usize = 16;

/// A DNSBL cache key: normalized zone and canonical address.
type DnsblKey = (Arc<str>, IpAddr);

/// The state shared by the clones of a provider and its lookup tasks.
struct Inner {
    client: Client,
    io: io::IoThread,
    /// DNSBL zones asked so far, for the prefetch.
    zones: Mutex<Vec<Arc<str>>>,
    ptr: Arc<LookupCache<IpAddr, PtrOutcome>>,
    dnsbl: Arc<LookupCache<DnsblKey, DnsblOutcome>>,
    cymru_origin: Arc<LookupCache<IpAddr, TxtOutcome>>,
    cymru_as: Arc<LookupCache<u32, TxtOutcome>>,
    cache_hits: AtomicU64,
    inflight_joins: AtomicU64,
    failures: AtomicU64,
    stores: Stores,
}

impl Inner {
    /// `lookup` behind the stores (as [`Stores::tiered`]), if there are any.
    fn via_stores<V>(
        &self,
        key: impl FnOnce() -> String,
        lookup: BoxFuture<'static, (V, Lifetime)>,
    ) -> BoxFuture<'static, (V, Lifetime)>
    where
        V: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        if self.stores.is_empty() {
            lookup
        } else {
            self.stores.tiered(key(), self.ptr.cache().policy(), lookup)
        }
    }
}

/// Batched, cached, deduplicated reverse-DNS and DNSBL lookups. Cheap to clone (clones share
/// the nameservers' state, caches and counters). Lookups must run inside a tokio runtime.
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
    /// Builds the provider (reading `/etc/resolv.conf` when no nameserver is given).
    pub fn new(settings: &DnsSettings) -> Result<DnsProvider, DnsSetupError> {
        DnsProvider::with_stores(settings, Stores::default())
    }

    /// Builds the provider with `stores` behind its memory cache ([`store`]).
    pub fn with_stores(
        settings: &DnsSettings,
        stores: Stores,
    ) -> Result<DnsProvider, DnsSetupError> {
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
        let nameservers = if settings.nameservers.is_empty() {
            system_nameservers()?
        } else {
            settings.nameservers.clone()
        };
        let client = Client::new(
            &nameservers,
            settings.timeout,
            settings.attempts,
            settings.concurrency,
        );
        let policy = TtlPolicy {
            min_ttl: settings.min_ttl,
            max_ttl: settings.max_ttl,
            negative_ttl: settings.negative_ttl,
            failure_ttl: settings.failure_ttl,
        };
        Ok(DnsProvider {
            inner: Arc::new(Inner {
                client,
                io: io::IoThread::start().map_err(DnsSetupError::Thread)?,
                zones: Mutex::default(),
                ptr: LookupCache::new(settings.cache_size, policy),
                dnsbl: LookupCache::new(settings.cache_size, policy),
                cymru_origin: LookupCache::new(settings.cache_size, policy),
                cymru_as: LookupCache::new(settings.cache_size, policy),
                cache_hits: AtomicU64::new(0),
                inflight_joins: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                stores: stores.with_hold(lookup_time(settings)),
            }),
        })
    }

    /// Looks up the PTR name of every address: exactly one outcome per input, in input
    /// order. IPv4-mapped IPv6 addresses are looked up as IPv4.
    ///
    /// For each address whose PTR lookup this call starts (a new client), the DNSBL lookups
    /// in the zones asked so far start at once too, in the background: a batch asks for
    /// its PTR names and then for its DNSBL verdicts, and this way both sets of lookups run
    /// together (the later `dnsbl` call joins them).
    pub async fn reverse(&self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        let keys: Vec<IpAddr> = ips.iter().map(|ip| ip.to_canonical()).collect();
        let inner = &self.inner;
        resolve_all(
            inner,
            &inner.ptr,
            keys,
            |ip| {
                inner.via_stores(
                    || store::ptr_key(ip),
                    fetch_ptr(Arc::clone(inner), ip).boxed(),
                )
            },
            |new| self.prefetch_dnsbl(new),
            || PtrOutcome::Failed(aborted()),
        )
        .await
    }

    /// Queries the DNSBL `zone` for every address (query names as [`dnsbl_query_name`]):
    /// exactly one outcome per input, in input order.
    pub async fn dnsbl(&self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
        let zone = zone_key(zone);
        if zone.is_empty() || Name::from_ascii(format!("{zone}.")).is_err() {
            let error = LookupError::Other(format!("invalid DNSBL zone {zone:?}"));
            return vec![DnsblOutcome::Failed(error); ips.len()];
        }
        let zone = self.remember_zone(zone);
        let keys: Vec<DnsblKey> = ips
            .iter()
            .map(|ip| (Arc::clone(&zone), ip.to_canonical()))
            .collect();
        let inner = &self.inner;
        let fetch = |key: DnsblKey| dnsbl_lookup(inner, key);
        resolve_all(
            inner,
            &inner.dnsbl,
            keys,
            fetch,
            |_| {},
            || DnsblOutcome::Failed(aborted()),
        )
        .await
    }

    /// `zone` as the shared key of its lookups; remembered (up to [`PREFETCH_ZONES`]) for
    /// [`Self::reverse`]'s prefetch.
    fn remember_zone(&self, zone: String) -> Arc<str> {
        let mut zones = self
            .inner
            .zones
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = zones.iter().find(|z| ***z == *zone) {
            return Arc::clone(known);
        }
        let zone: Arc<str> = Arc::from(zone);
        if zones.len() < PREFETCH_ZONES {
            zones.push(Arc::clone(&zone));
        }
        zone
    }

    /// Starts (without waiting) the DNSBL lookups of `ips` in every remembered zone that
    /// are neither cached nor in flight. Not counted in the statistics until asked for.
    fn prefetch_dnsbl(&self, ips: &[IpAddr]) {
        let inner = &self.inner;
        let zones = inner
            .zones
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let now = SystemTime::now();
        for zone in zones {
            for &ip in ips {
                let key: DnsblKey = (Arc::clone(&zone), ip);
                let fetch = || dnsbl_lookup(inner, key.clone());
                let _ = inner
                    .dnsbl
                    .get_or_start(inner.io.handle(), key.clone(), now, fetch);
            }
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> DnsStats {
        let inner = &self.inner;
        let counters = &inner.client.counters;
        let (window, window_cuts) = inner.client.windows();
        let store = inner.stores.counters();
        DnsStats {
            queries_sent: counters.queries.load(Ordering::Relaxed),
            cache_hits: inner.cache_hits.load(Ordering::Relaxed),
            inflight_joins: inner.inflight_joins.load(Ordering::Relaxed),
            failures: inner.failures.load(Ordering::Relaxed),
            retransmits: counters.retransmits.load(Ordering::Relaxed),
            tcp_queries: counters.tcp_queries.load(Ordering::Relaxed),
            unreachable: inner.client.was_unreachable(),
            servfail_retries: counters.servfail_retries.load(Ordering::Relaxed),
            window,
            window_cuts,
            store_hits: store.hits.each_ref().map(|n| n.load(Ordering::Relaxed)),
            claim_waits: store.claim_waits.load(Ordering::Relaxed),
            store_errors: store.errors.load(Ordering::Relaxed),
        }
    }

    /// Waits until the stores keep every answer put so far (call before exit).
    pub async fn flush_stores(&self) -> Result<(), store::StoreError> {
        self.inner.stores.flush().await
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

/// Where the system's resolver configuration lives.
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// The nameservers of `/etc/resolv.conf`, each at port 53 (the file names no port).
fn system_nameservers() -> Result<Vec<SocketAddr>, DnsSetupError> {
    let text = std::fs::read(RESOLV_CONF).map_err(|source| DnsSetupError::SystemConfig {
        path: RESOLV_CONF,
        source,
    })?;
    let config =
        resolv_conf::Config::parse(&text).map_err(|e| DnsSetupError::SystemConfigSyntax {
            path: RESOLV_CONF,
            reason: e.to_string(),
        })?;
    nameservers_of(&config)
}

/// The distinct nameservers of a parsed configuration, at port 53.
fn nameservers_of(config: &resolv_conf::Config) -> Result<Vec<SocketAddr>, DnsSetupError> {
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for ns in &config.nameservers {
        let addr = SocketAddr::new(IpAddr::from(ns.clone()), 53);
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err(DnsSetupError::NoNameserver);
    }
    Ok(addrs)
}

#[async_trait::async_trait]
impl Cymru for DnsProvider {
    async fn origin(&self, ips: &[IpAddr]) -> Vec<TxtOutcome> {
        let keys: Vec<IpAddr> = ips.iter().map(|ip| ip.to_canonical()).collect();
        let inner = &self.inner;
        let fetch = |ip: IpAddr| {
            let lookup = fetch_txt(Arc::clone(inner), cymru_origin_name(ip)).boxed();
            inner.via_stores(|| store::origin_key(ip), lookup)
        };
        resolve_all(
            inner,
            &inner.cymru_origin,
            keys,
            fetch,
            |_| {},
            || TxtOutcome::Failed(aborted()),
        )
        .await
    }

    async fn as_name(&self, asns: &[u32]) -> Vec<TxtOutcome> {
        let inner = &self.inner;
        let fetch = |asn: u32| {
            let lookup = fetch_txt(Arc::clone(inner), cymru_as_name(asn)).boxed();
            inner.via_stores(|| store::as_key(asn), lookup)
        };
        resolve_all(
            inner,
            &inner.cymru_as,
            asns.to_vec(),
            fetch,
            |_| {},
            || TxtOutcome::Failed(aborted()),
        )
        .await
    }
}

async fn fetch_txt(inner: Arc<Inner>, name: String) -> (TxtOutcome, Lifetime) {
    let name = match prepare(&name, "query name") {
        Ok(ready) => ready,
        Err(error) => return (TxtOutcome::Failed(error), Lifetime::Transient),
    };
    let (outcome, lifetime) = answer::txt(&inner.client, name).await;
    count_failure(&inner, matches!(outcome, TxtOutcome::Failed(_)));
    (outcome, lifetime)
}

/// The DNS name of a query name built here (`what` it is, for the error); a failure is
/// a value for the lookup, never cached.
fn prepare(name: &str, what: &str) -> Result<Name, LookupError> {
    Name::from_ascii(format!("{name}."))
        .map_err(|error| LookupError::Other(format!("invalid {what}: {error}")))
}

fn aborted() -> LookupError {
    LookupError::Other("the lookup task ended abnormally".to_owned())
}

/// Resolves a batch: each distinct key once, from the cache, a lookup in flight or a new
/// lookup; all pending ones awaited together. `started` is told the keys whose lookups
/// this call started, before it waits. Returns one value per key, in order.
async fn resolve_all<K, V>(
    inner: &Inner,
    cache: &Arc<LookupCache<K, V>>,
    keys: Vec<K>,
    fetch: impl Fn(K) -> BoxFuture<'static, (V, Lifetime)>,
    started: impl FnOnce(&[K]),
    on_abort: impl Fn() -> V,
) -> Vec<V>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    let now = SystemTime::now();
    // The component sends distinct addresses; a repeated key takes its first one's value.
    let mut first: HashMap<&K, usize> = HashMap::with_capacity(keys.len());
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    let mut values: Vec<Option<V>> = vec![None; keys.len()];
    let mut pending: Vec<(usize, SharedLookup<V>)> = Vec::new();
    let mut new_keys: Vec<K> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if let Some(&j) = first.get(key) {
            repeats.push((i, j));
            continue;
        }
        first.insert(key, i);
        match cache.get_or_start(inner.io.handle(), key.clone(), now, || fetch(key.clone())) {
            Cached::Hit(value) => {
                inner.cache_hits.fetch_add(1, Ordering::Relaxed);
                values[i] = Some(value);
            }
            Cached::InFlight { result, joined } => {
                if joined {
                    inner.inflight_joins.fetch_add(1, Ordering::Relaxed);
                } else {
                    new_keys.push(key.clone());
                }
                pending.push((i, result));
            }
        }
    }
    started(&new_keys);
    let (slots, lookups): (Vec<usize>, Vec<SharedLookup<V>>) = pending.into_iter().unzip();
    for (slot, value) in slots.into_iter().zip(join_all(lookups).await) {
        values[slot] = Some(value.unwrap_or_else(&on_abort));
    }
    for (i, j) in repeats {
        values[i] = values[j].clone();
    }
    values
        .into_iter()
        .map(|v| v.unwrap_or_else(&on_abort))
        .collect()
}

fn count_failure(inner: &Inner, failed: bool) {
    if failed {
        inner.failures.fetch_add(1, Ordering::Relaxed);
    }
}

async fn fetch_ptr(inner: Arc<Inner>, ip: IpAddr) -> (PtrOutcome, Lifetime) {
    let outcome = answer::ptr(&inner.client, ip).await;
    count_failure(&inner, matches!(outcome.0, PtrOutcome::Failed(_)));
    outcome
}

/// The DNSBL lookup of `key`, behind the stores.
fn dnsbl_lookup(inner: &Arc<Inner>, key: DnsblKey) -> BoxFuture<'static, (DnsblOutcome, Lifetime)> {
    let store_key = store::dnsbl_key(&key.0, key.1);
    inner.via_stores(|| store_key, fetch_dnsbl(Arc::clone(inner), key).boxed())
}

/// The longest a lookup may take: every try of every server, and the SERVFAIL retries.
fn lookup_time(settings: &DnsSettings) -> Duration {
    let tries = settings.attempts.max(1) * settings.nameservers.len().max(1);
    settings.timeout * u32::try_from(tries).unwrap_or(u32::MAX) + client::SERVFAIL_WINDOW
}

async fn fetch_dnsbl(inner: Arc<Inner>, (zone, ip): DnsblKey) -> (DnsblOutcome, Lifetime) {
    let query = dnsbl_query_name(ip, &zone);
    let name = match prepare(&query, "DNSBL query name") {
        Ok(ready) => ready,
        Err(error) => return (DnsblOutcome::Failed(error), Lifetime::Transient),
    };
    let (outcome, lifetime) = answer::dnsbl(&inner.client, name).await;
    count_failure(&inner, matches!(outcome, DnsblOutcome::Failed(_)));
    (outcome, lifetime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nameservers_of_a_resolv_conf() {
        let text = "# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n\
                    nameserver 192.0.2.53\nsearch example.org\n";
        let config = resolv_conf::Config::parse(text).expect("parses");
        let got = nameservers_of(&config).expect("nameservers");
        assert_eq!(
            got,
            [
                "192.0.2.53:53".parse::<SocketAddr>().unwrap(),
                "[2001:db8::53]:53".parse().unwrap()
            ]
        );
        let none = resolv_conf::Config::parse("search example.org\n").expect("parses");
        assert!(matches!(
            nameservers_of(&none),
            Err(DnsSetupError::NoNameserver)
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
