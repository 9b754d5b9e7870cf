//! The `dnsbl` import: DNSBL queries answered by a [`Dnsbl`] provider, for the zones the
//! embedder named (the allow-list) and no others: a component cannot choose what to
//! query. A zone outside the list is answered `failed(other)` and counted.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use logenrich_types::DnsblOutcome;
use logenrich_types::names::zone_key;
use logenrich_types::provider::Dnsbl;
use wasmtime::component::Linker;

use super::bindings::logenrich::filter::dnsbl::{self as wit, DnsblResult, Listing};
use super::bindings::logenrich::filter::types::{IpAddress, LookupError};
use super::{Counter, Has, View, convert};

/// The import's state, shared by every instance.
#[derive(Default)]
pub(crate) struct State {
    /// The provider, if DNSBL lookups are on.
    pub provider: Option<Arc<dyn Dnsbl>>,
    /// The zones the embedder configured ([`zone_key`] form): the only ones queried.
    pub zones: HashSet<String>,
    /// `lookup` calls and the addresses passed.
    pub counter: Counter,
    /// `lookup` calls refused: the zone was not configured.
    pub refused: AtomicU64,
}

impl State {
    /// The state for `provider` and its allow-list of `zones`.
    pub(crate) fn new(provider: Arc<dyn Dnsbl>, zones: &[String]) -> Self {
        State {
            provider: Some(provider),
            zones: zones.iter().map(|z| zone_key(z)).collect(),
            ..State::default()
        }
    }
}

fn result(o: DnsblOutcome) -> DnsblResult {
    match o {
        DnsblOutcome::Listed { answers, reason } => DnsblResult::Listed(Listing {
            answers: answers
                .iter()
                .map(|a| {
                    let [a, b, c, d] = a.octets();
                    (a, b, c, d)
                })
                .collect(),
            reason,
        }),
        DnsblOutcome::NotListed => DnsblResult::NotListed,
        DnsblOutcome::Failed(e) => DnsblResult::Failed(convert::error(e)),
    }
}

impl wit::Host for View<'_, State> {
    async fn lookup(&mut self, zone: String, ips: Vec<IpAddress>) -> Vec<DnsblResult> {
        let state = self.state;
        state.counter.count(ips.len());
        let key = zone_key(&zone);
        if !state.zones.contains(&key) {
            state.refused.fetch_add(1, Ordering::Relaxed);
            let refused = || {
                DnsblResult::Failed(LookupError::Other(format!(
                    "zone {zone:?} was not configured; the host queries only configured zones"
                )))
            };
            return ips.iter().map(|_| refused()).collect();
        }
        let Some(provider) = &state.provider else {
            let failed = || DnsblResult::Failed(convert::disabled("DNSBL"));
            return ips.iter().map(|_| failed()).collect();
        };
        let ips = convert::ips(&ips);
        let outcomes = self.clock.in_host(provider.dnsbl(&key, &ips)).await;
        outcomes.into_iter().map(result).collect()
    }
}

/// Adds the `dnsbl` import to `linker`; `get` gives a call its [`View`].
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> View<'_, State>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Has<State>>(linker, get)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Mutex;

    use super::*;
    use crate::component::CallClock;
    use wit::Host as _;

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

    #[tokio::test]
    async fn only_configured_zones_are_queried() {
        let recorder = Arc::new(Recorder::default());
        let state = State::new(recorder.clone(), &["bl.example".into()]);
        let mut clock = CallClock::new();
        let mut view = View {
            state: &state,
            clock: &mut clock,
        };
        let ips = vec![IpAddress::Ipv4((192, 0, 2, 1))];

        // A component asking for a zone of its own choosing gets a failure, and nothing
        // reaches the resolver.
        let got = view.lookup("c2.attacker.example".into(), ips.clone()).await;
        assert!(
            matches!(&got[..], [DnsblResult::Failed(LookupError::Other(m))] if m.contains("not configured")),
            "{got:?}"
        );
        assert!(recorder.0.lock().unwrap().is_empty());
        assert_eq!(state.refused.load(Ordering::Relaxed), 1);

        // The configured zone, in any case and with a trailing dot, is answered.
        let got = view.lookup("BL.Example.".into(), ips).await;
        assert!(matches!(&got[..], [DnsblResult::Listed(_)]), "{got:?}");
        assert_eq!(*recorder.0.lock().unwrap(), ["bl.example"]);
        assert_eq!(state.counter.get(), (2, 2));
    }
}
