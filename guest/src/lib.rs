//! The logenrich component: parses access-log lines, tags scanners and decodes DNSBL
//! answers, asking the host for reverse DNS, DNSBL answers and GeoIP through batched
//! imports.
//!
//! The generated bindings stay private in [`bindings`]; the policy lives in plain modules
//! that unit-test natively (`cargo test -p guest`).

pub mod batch;
pub mod dnsbl;
pub mod parse;
pub mod scanner;
pub mod state;
pub mod time;

use std::cell::RefCell;

use bindings::exports::logenrich::filter::filter::{Config, ConfigError, Guest, LineResult};
use bindings::logenrich::filter::dns::PtrResult;
use bindings::logenrich::filter::dnsbl::DnsblResult;
use bindings::logenrich::filter::geoip::GeoRecord;
use bindings::logenrich::filter::types::IpAddress;
use bindings::logenrich::filter::{dns, dnsbl as dnsbl_import, geoip};

#[cfg_attr(
    target_arch = "wasm32",
    expect(unsafe_code, reason = "wit-bindgen's generated ABI glue")
)]
mod bindings {
    wit_bindgen::generate!({
        world: "enricher",
        path: "../wit",
        additional_derives: [PartialEq],
    });
    // Exported symbols only on wasm: their names (`logenrich:filter/...`) break native
    // linker version scripts, and natively only the pure logic is tested.
    #[cfg(target_arch = "wasm32")]
    use super::Component;
    #[cfg(target_arch = "wasm32")]
    export!(Component);
}

thread_local! {
    /// The compiled configuration (a component instance is single-threaded).
    static STATE: RefCell<Option<state::State>> = const { RefCell::new(None) };
}

/// The exported component.
struct Component;

/// The real imports.
struct HostLookups;

impl batch::Lookups for HostLookups {
    fn reverse(&mut self, ips: &[IpAddress]) -> Vec<PtrResult> {
        dns::reverse(ips)
    }
    fn dnsbl(&mut self, zone: &str, ips: &[IpAddress]) -> Vec<DnsblResult> {
        dnsbl_import::lookup(zone, ips)
    }
    fn geoip(&mut self, ips: &[IpAddress]) -> Vec<Option<GeoRecord>> {
        geoip::lookup(ips)
    }
}

impl Guest for Component {
    fn default_config() -> Config {
        state::default_config()
    }

    fn configure(cfg: Config) -> Result<(), ConfigError> {
        let new = state::State::new(&cfg)?;
        STATE.with(|s| *s.borrow_mut() = Some(new));
        Ok(())
    }

    fn process(first_line: u64, lines: Vec<String>) -> Vec<LineResult> {
        STATE.with(|s| {
            let mut slot = s.borrow_mut();
            let state = slot.get_or_insert_with(|| {
                state::State::new(&state::default_config())
                    .unwrap_or_else(|e| unreachable!("built-in config is valid: {}", e.reason))
            });
            batch::process(state, &mut HostLookups, first_line, lines)
        })
    }
}
