//! The `geoip` import: GeoIP records answered by a [`GeoLookup`] provider; without one no
//! address is found.

use logenrich_types::GeoRecord;
use logenrich_types::provider::GeoLookup;
use wasmtime::component::Linker;

use super::bindings::logenrich::filter::geoip as wit;
use super::bindings::logenrich::filter::types::IpAddress;
use super::{Capability, Has, View, convert};

/// The import's state, shared by every instance.
pub(crate) type State = Capability<dyn GeoLookup>;

impl wit::Host for View<'_, State> {
    async fn lookup(&mut self, ips: Vec<IpAddress>) -> Vec<Option<wit::GeoRecord>> {
        self.state.counter.count(ips.len());
        let Some(provider) = &self.state.provider else {
            return ips.iter().map(|_| None).collect();
        };
        let ips = convert::ips(&ips);
        let records = self.clock.in_host(provider.locate(&ips)).await;
        records.into_iter().map(|r| r.map(to_wit)).collect()
    }
}

fn to_wit(r: GeoRecord) -> wit::GeoRecord {
    wit::GeoRecord {
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

/// Adds the `geoip` import to `linker`; `get` gives a call its [`View`].
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> View<'_, State>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Has<State>>(linker, get)
}
