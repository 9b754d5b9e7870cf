//! The host side of the component's three imports (`dns`, `dnsbl`, `geoip`): conversions
//! between WIT and std types, delegation to the providers, the zone allow-list, and call
//! counters.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::HostState;
use super::bindings::logenrich::filter::{cymru, dns, dnsbl, geoip, types};
use crate::lookup::{
    Cymru, Dnsbl, DnsblOutcome, GeoLookup, GeoRecord, LookupError, PtrOutcome, ReverseDns,
    TxtOutcome,
};

/// The lookup providers behind the imports; `None` disables an import.
#[derive(Default)]
pub(crate) struct Providers {
    /// Reverse DNS.
    pub ptr: Option<Arc<dyn ReverseDns>>,
    /// DNSBL.
    pub dnsbl: Option<Arc<dyn Dnsbl>>,
    /// GeoIP.
    pub geoip: Option<Arc<dyn GeoLookup>>,
    /// Team Cymru (opt-in: it sends client addresses to a third party).
    pub cymru: Option<Arc<dyn Cymru>>,
    /// The DNSBL zones the user configured (lower case, no trailing dot): the only ones
    /// the `dnsbl` import queries. A component cannot choose what to query.
    pub zones: HashSet<String>,
    /// Import call counters.
    pub counters: Counters,
}

/// A zone name as compared against the allow-list.
pub(crate) fn zone_key(zone: &str) -> String {
    zone.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// How often the component called each import, and with how many addresses.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// `dns.reverse` calls.
    pub dns_calls: AtomicU64,
    /// Addresses passed to `dns.reverse`.
    pub dns_addresses: AtomicU64,
    /// `dnsbl.lookup` calls.
    pub dnsbl_calls: AtomicU64,
    /// Addresses passed to `dnsbl.lookup`.
    pub dnsbl_addresses: AtomicU64,
    /// `geoip.lookup` calls.
    pub geoip_calls: AtomicU64,
    /// Addresses passed to `geoip.lookup`.
    pub geoip_addresses: AtomicU64,
    /// `dnsbl.lookup` calls refused because the zone was not configured.
    pub refused_zones: AtomicU64,
    /// `cymru.origin` and `cymru.as-name` calls.
    pub cymru_calls: AtomicU64,
    /// Addresses and AS numbers passed to them.
    pub cymru_keys: AtomicU64,
}

impl Counters {
    fn count(calls: &AtomicU64, addresses: &AtomicU64, n: usize) {
        calls.fetch_add(1, Ordering::Relaxed);
        addresses.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A WIT address as a std one.
pub(crate) fn ip(a: &types::IpAddress) -> IpAddr {
    match *a {
        types::IpAddress::Ipv4((a, b, c, d)) => Ipv4Addr::new(a, b, c, d).into(),
        types::IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            Ipv6Addr::new(a, b, c, d, e, f, g, h).into()
        }
    }
}

fn error(e: LookupError) -> types::LookupError {
    match e {
        LookupError::Timeout => types::LookupError::Timeout,
        LookupError::ServerFailure => types::LookupError::ServerFailure,
        LookupError::Refused => types::LookupError::Refused,
        LookupError::Other(m) => types::LookupError::Other(m),
    }
}

fn disabled(what: &str) -> types::LookupError {
    types::LookupError::Other(format!("{what} is disabled in the runner"))
}

impl types::Host for HostState {}

impl dns::Host for HostState {
    async fn reverse(&mut self, ips: Vec<types::IpAddress>) -> Vec<dns::PtrResult> {
        let started = std::time::Instant::now();
        let out = self.reverse_inner(ips).await;
        self.clock.in_host += started.elapsed();
        out
    }
}

impl HostState {
    async fn reverse_inner(&mut self, ips: Vec<types::IpAddress>) -> Vec<dns::PtrResult> {
        let c = &self.providers.counters;
        Counters::count(&c.dns_calls, &c.dns_addresses, ips.len());
        let Some(resolver) = self.providers.ptr.clone() else {
            return ips
                .iter()
                .map(|_| dns::PtrResult::Failed(disabled("reverse DNS")))
                .collect();
        };
        let ips: Vec<IpAddr> = ips.iter().map(ip).collect();
        resolver
            .reverse(&ips)
            .await
            .into_iter()
            .map(|o| match o {
                PtrOutcome::Found(name) => dns::PtrResult::Found(name),
                PtrOutcome::NotFound => dns::PtrResult::NotFound,
                PtrOutcome::Failed(e) => dns::PtrResult::Failed(error(e)),
            })
            .collect()
    }
}

impl dnsbl::Host for HostState {
    async fn lookup(
        &mut self,
        zone: String,
        ips: Vec<types::IpAddress>,
    ) -> Vec<dnsbl::DnsblResult> {
        let started = std::time::Instant::now();
        let out = self.dnsbl_inner(zone, ips).await;
        self.clock.in_host += started.elapsed();
        out
    }
}

impl HostState {
    async fn dnsbl_inner(
        &mut self,
        zone: String,
        ips: Vec<types::IpAddress>,
    ) -> Vec<dnsbl::DnsblResult> {
        let c = &self.providers.counters;
        Counters::count(&c.dnsbl_calls, &c.dnsbl_addresses, ips.len());
        let key = zone_key(&zone);
        if !self.providers.zones.contains(&key) {
            c.refused_zones.fetch_add(1, Ordering::Relaxed);
            let refused = || {
                dnsbl::DnsblResult::Failed(types::LookupError::Other(format!(
                    "zone {zone:?} was not configured; the host queries only configured zones"
                )))
            };
            return ips.iter().map(|_| refused()).collect();
        }
        let Some(resolver) = self.providers.dnsbl.clone() else {
            return ips
                .iter()
                .map(|_| dnsbl::DnsblResult::Failed(disabled("DNSBL")))
                .collect();
        };
        let ips: Vec<IpAddr> = ips.iter().map(ip).collect();
        resolver
            .dnsbl(&key, &ips)
            .await
            .into_iter()
            .map(|o| match o {
                DnsblOutcome::Listed { answers, reason } => {
                    dnsbl::DnsblResult::Listed(dnsbl::Listing {
                        answers: answers
                            .iter()
                            .map(|a| {
                                let [a, b, c, d] = a.octets();
                                (a, b, c, d)
                            })
                            .collect(),
                        reason,
                    })
                }
                DnsblOutcome::NotListed => dnsbl::DnsblResult::NotListed,
                DnsblOutcome::Failed(e) => dnsbl::DnsblResult::Failed(error(e)),
            })
            .collect()
    }
}

fn txt(o: TxtOutcome) -> cymru::TxtResult {
    match o {
        TxtOutcome::Found(texts) => cymru::TxtResult::Found(texts),
        TxtOutcome::NotFound => cymru::TxtResult::NotFound,
        TxtOutcome::Failed(e) => cymru::TxtResult::Failed(error(e)),
    }
}

/// Team Cymru lookups: the host builds the query names from the addresses and AS numbers
/// (a component cannot choose a name); without a provider (`--cymru` not given) every
/// query is answered `failed(other)`.
impl cymru::Host for HostState {
    async fn origin(&mut self, ips: Vec<types::IpAddress>) -> Vec<cymru::TxtResult> {
        let started = std::time::Instant::now();
        let c = &self.providers.counters;
        Counters::count(&c.cymru_calls, &c.cymru_keys, ips.len());
        let out = match self.providers.cymru.clone() {
            Some(provider) => {
                let ips: Vec<IpAddr> = ips.iter().map(ip).collect();
                provider.origin(&ips).await.into_iter().map(txt).collect()
            }
            None => ips
                .iter()
                .map(|_| cymru::TxtResult::Failed(disabled("Team Cymru lookup")))
                .collect(),
        };
        self.clock.in_host += started.elapsed();
        out
    }

    async fn as_name(&mut self, asns: Vec<u32>) -> Vec<cymru::TxtResult> {
        let started = std::time::Instant::now();
        let c = &self.providers.counters;
        Counters::count(&c.cymru_calls, &c.cymru_keys, asns.len());
        let out = match self.providers.cymru.clone() {
            Some(provider) => provider.as_name(&asns).await.into_iter().map(txt).collect(),
            None => asns
                .iter()
                .map(|_| cymru::TxtResult::Failed(disabled("Team Cymru lookup")))
                .collect(),
        };
        self.clock.in_host += started.elapsed();
        out
    }
}

impl geoip::Host for HostState {
    async fn lookup(&mut self, ips: Vec<types::IpAddress>) -> Vec<Option<geoip::GeoRecord>> {
        let started = std::time::Instant::now();
        let out = self.geoip_inner(ips).await;
        self.clock.in_host += started.elapsed();
        out
    }
}

impl HostState {
    async fn geoip_inner(&mut self, ips: Vec<types::IpAddress>) -> Vec<Option<geoip::GeoRecord>> {
        let c = &self.providers.counters;
        Counters::count(&c.geoip_calls, &c.geoip_addresses, ips.len());
        let Some(geo) = self.providers.geoip.clone() else {
            return ips.iter().map(|_| None).collect();
        };
        let ips: Vec<IpAddr> = ips.iter().map(ip).collect();
        geo.locate(&ips)
            .await
            .into_iter()
            .map(|r| r.map(to_wit_geo))
            .collect()
    }
}

fn to_wit_geo(r: GeoRecord) -> geoip::GeoRecord {
    geoip::GeoRecord {
        country_code: r.country_code,
        country_name: r.country_name,
        subdivision: r.subdivision,
        city: r.city,
        latitude: r.latitude,
        longitude: r.longitude,
        accuracy_radius: r.accuracy_radius,
        time_zone: r.time_zone,
        asn: r.asn,
        as_org: r.as_org,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use wasmtime::component::ResourceTable;
    use wasmtime_wasi::WasiCtx;

    /// Records the zones it is asked about and lists everything.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl Dnsbl for Recorder {
        async fn dnsbl(&self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
            self.0.lock().unwrap().push(zone.to_string());
            ips.iter()
                .map(|_| DnsblOutcome::Listed {
                    answers: vec![Ipv4Addr::new(127, 0, 0, 2)],
                    reason: None,
                })
                .collect()
        }
    }

    fn state(recorder: Arc<Recorder>, zones: &[&str]) -> HostState {
        HostState::new(
            WasiCtx::builder().build(),
            ResourceTable::new(),
            Arc::new(Providers {
                dnsbl: Some(recorder),
                zones: zones.iter().map(|z| zone_key(z)).collect(),
                ..Providers::default()
            }),
            super::super::Limits {
                deadline: Some(std::time::Duration::from_secs(1)),
                memory: 1 << 20,
            },
        )
    }

    #[tokio::test]
    async fn only_configured_zones_are_queried() {
        let recorder = Arc::new(Recorder::default());
        let mut host = state(recorder.clone(), &["bl.example"]);
        let ips = vec![types::IpAddress::Ipv4((192, 0, 2, 1))];

        // A component asking for a zone of its own choosing gets a failure, and nothing
        // reaches the resolver.
        let got = dnsbl::Host::lookup(&mut host, "c2.attacker.example".into(), ips.clone()).await;
        assert!(
            matches!(&got[..], [dnsbl::DnsblResult::Failed(types::LookupError::Other(m))] if m.contains("not configured")),
            "{got:?}"
        );
        assert!(recorder.0.lock().unwrap().is_empty());
        assert_eq!(
            host.providers
                .counters
                .refused_zones
                .load(Ordering::Relaxed),
            1
        );

        // The configured zone, in any case and with a trailing dot, is answered.
        let got = dnsbl::Host::lookup(&mut host, "BL.Example.".into(), ips).await;
        assert!(
            matches!(&got[..], [dnsbl::DnsblResult::Listed(_)]),
            "{got:?}"
        );
        assert_eq!(*recorder.0.lock().unwrap(), ["bl.example"]);
    }
}
