//! The `cymru` import: Team Cymru's TXT answers from a [`Cymru`] provider, which builds
//! the query names itself (a component cannot choose a name). Without one (`--cymru` not
//! given) every query fails ("Team Cymru lookup is disabled in the runner"). Opt-in: it
//! sends client addresses to a third party.

use logenrich_types::TxtOutcome;
use logenrich_types::provider::Cymru;
use wasmtime::component::Linker;

use super::bindings::logenrich::filter::cymru::{self as wit, TxtResult};
use super::bindings::logenrich::filter::types::IpAddress;
use super::{Capability, Has, View, convert};

/// The import's state, shared by every instance; its counter counts both functions'
/// calls, and the addresses and AS numbers passed.
pub(crate) type State = Capability<dyn Cymru>;

fn txt(o: TxtOutcome) -> TxtResult {
    match o {
        TxtOutcome::Found(texts) => TxtResult::Found(texts),
        TxtOutcome::NotFound => TxtResult::NotFound,
        TxtOutcome::Failed(e) => TxtResult::Failed(convert::error(e)),
    }
}

fn disabled(n: usize) -> Vec<TxtResult> {
    let failed = || TxtResult::Failed(convert::disabled("Team Cymru lookup"));
    (0..n).map(|_| failed()).collect()
}

impl wit::Host for View<'_, State> {
    async fn origin(&mut self, ips: Vec<IpAddress>) -> Vec<TxtResult> {
        self.state.counter.count(ips.len());
        let Some(provider) = &self.state.provider else {
            return disabled(ips.len());
        };
        let ips = convert::ips(&ips);
        let answers = self.clock.in_host(provider.origin(&ips)).await;
        answers.into_iter().map(txt).collect()
    }

    async fn as_name(&mut self, asns: Vec<u32>) -> Vec<TxtResult> {
        self.state.counter.count(asns.len());
        let Some(provider) = &self.state.provider else {
            return disabled(asns.len());
        };
        let answers = self.clock.in_host(provider.as_name(&asns)).await;
        answers.into_iter().map(txt).collect()
    }
}

/// Adds the `cymru` import to `linker`; `get` gives a call its [`View`].
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> View<'_, State>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<T, Has<State>>(linker, get)
}
