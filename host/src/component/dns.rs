//! The `dns` import: reverse (PTR) lookups answered by a [`ReverseDns`] provider; without
//! one every lookup fails ("reverse DNS is disabled in the runner").

use std::sync::Arc;

use logenrich_types::PtrOutcome;
use logenrich_types::provider::ReverseDns;
use wasmtime::component::{HasData, Linker};

use super::bindings::logenrich::filter::dns::{self as wit, PtrResult};
use super::bindings::logenrich::filter::types::IpAddress;
use super::{CallClock, Counter, convert};

/// The import's state, shared by every instance.
#[derive(Default)]
pub(crate) struct State {
    /// The provider, if reverse DNS is on.
    pub provider: Option<Arc<dyn ReverseDns>>,
    /// `reverse` calls and the addresses passed.
    pub counter: Counter,
}

/// What one call sees: the shared state and the calling instance's clock.
pub(crate) struct View<'a> {
    /// The shared state.
    pub state: &'a State,
    /// The instance's clock (time in the provider is not guest time).
    pub clock: &'a mut CallClock,
}

impl wit::Host for View<'_> {
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

struct HasDns;

impl HasData for HasDns {
    type Data<'a> = View<'a>;
}

/// Adds the `dns` import to `linker`; `get` gives a call its [`View`].
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> View<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, HasDns>(linker, get)
}
