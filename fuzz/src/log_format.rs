//! Target `log_format`: custom format strings. The first line is compiled as an nginx
//! `log_format` or an Apache `LogFormat` (`logenrich_policy::logformat`); the other lines
//! are matched against it in a whole batch (`batch::process`, its output checked like
//! the `batch` target's).
//!
//! Input: a mode byte (bit 0: Apache, else nginx; the rest as in [`crate::batch`]: bits
//! 1–3, shifted down, pick the lookups), the format string, `\n`, the lines.

use std::cell::RefCell;

use logenrich_policy::Filter;
use logenrich_policy::logformat::{Dialect, LogFormat};

thread_local! {
    /// The default filter, whose `custom` layout each input replaces.
    static FILTER: RefCell<Filter> = RefCell::new(
        Filter::new(&crate::batch::settings("auto")).expect("the fuzzed settings are valid"),
    );
}

/// The target's body.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (format, lines) = crate::first_line(rest);
    let Ok(format) = std::str::from_utf8(format) else {
        return; // a setting is a string: the host never passes other bytes
    };
    let dialect = if mode & 1 == 0 {
        Dialect::Nginx
    } else {
        Dialect::Apache
    };
    let compiled = match LogFormat::new(format, dialect) {
        Ok(f) => f,
        Err(e) => {
            assert!(
                (1..=format.len() + 1).contains(&e.column),
                "column {} outside a format of {} bytes: {}",
                e.column,
                format.len(),
                e.reason
            );
            return;
        }
    };
    let lines: Vec<&[u8]> = if lines.is_empty() {
        Vec::new()
    } else {
        lines.split(|&b| b == b'\n').collect()
    };
    FILTER.with(|filter| {
        let mut filter = filter.borrow_mut();
        filter.custom = Some(compiled);
        // Bits 1-3 pick the lookups; no bad line ends or huge line numbers here.
        crate::batch::process(&filter, mode >> 1 & 0x0f, &lines);
    });
}
