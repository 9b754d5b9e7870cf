//! The `dns` import: reverse (PTR) lookups answered by a [`ReverseDns`] provider; without
//! one every lookup fails ("reverse DNS is disabled in the runner").

use logenrich_types::PtrOutcome;
use logenrich_types::provider::ReverseDns;
use wasmtime::component::Linker;

use super::bindings::logenrich::filter::dns::{self as wit, PtrResult};
use super::bindings::logenrich::filter::types::IpAddress;
use super::{Capability, Has, View, convert};

/// The import's state, shared by every instance.
pub(crate) type State = Capability<dyn ReverseDns>;

impl wit::Host for View<'_, State> {
    async fn reverse(&mut self, ips: Vec<IpAddress>) -> Vec<PtrResult> {
        self.state.counter.count(ips.len());
        let Some(provider) = &self.state.provider else {
            let failed = || PtrResult::Failed(convert::disabled("reverse DNS"));
            return ips.iter().map(|_| failed()).collect();
        };
        let ips = convert::ips(&ips);
        let outcomes = self.clock.in_host(provider.reverse(&ips)).await;
        outcomes
            .into_iter()
            .map(|o| match o {
                PtrOutcome::Found(name) => PtrResult::Found(name),
                PtrOutcome::NotFound => PtrResult::NotFound,
                PtrOutcome::Failed(e) => PtrResult::Failed(convert::error(e)),
            })
            .collect()
    }
}

/// Adds the `dns` import to `linker`; `get` gives a call its [`View`].
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> View<'_, State>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Has<State>>(linker, get)
}
