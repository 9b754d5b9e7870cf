//! A configured filter that survives an interrupted call.
//!
//! The component keeps one [`Session`] per instance. No borrow of its state is held while
//! the lookups run, so a call that never returns normally (a JavaScript import that
//! throws through the component, or a panic caught by a native caller) leaves nothing
//! locked or half-written: the next call starts from the configured filter, and all
//! per-batch state is created afresh inside [`Session::process`].
//!
//! That makes a caught import error survivable, not free: in a component, the abandoned
//! call's stack frames and heap are never reclaimed (measured under Node: ~670 bytes of
//! the 1 MiB shadow stack per throw, so the instance traps after ~1,560 throws). The WIT
//! therefore still tells hosts to discard an instance after a trap or a thrown import.

use std::cell::RefCell;
use std::rc::Rc;

use crate::batch::{self, BatchIn, BatchStats};
use crate::lookups::Lookups;
use crate::settings::{ConfigError, Filter, Setting};

/// The configuration of one instance.
///
/// The default configuration is compiled on first use, not at creation: an instance that
/// is configured before its first batch (every host does that) compiles its attack rules
/// and keyword lists once.
#[derive(Debug)]
pub struct Session {
    filter: RefCell<Option<Rc<Filter>>>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A session with the default configuration (compiled when first needed).
    pub fn new() -> Self {
        Self {
            filter: RefCell::new(None),
        }
    }

    /// Replaces the configuration; on error the previous one stays.
    pub fn configure(&self, settings: &[Setting]) -> Result<(), ConfigError> {
        let filter = Filter::new(settings)?;
        *self.filter.borrow_mut() = Some(Rc::new(filter));
        Ok(())
    }

    /// The current configuration (the defaults when none was given).
    fn filter(&self) -> Rc<Filter> {
        let mut slot = self.filter.borrow_mut();
        let filter = slot.get_or_insert_with(|| {
            Rc::new(
                Filter::new(&[])
                    .unwrap_or_else(|e| unreachable!("the built-in configuration is valid: {e}")),
            )
        });
        Rc::clone(filter)
    }

    /// Processes a batch into JSON Lines.
    pub fn process(&self, lookups: &mut impl Lookups, batch: BatchIn<'_>) -> (Vec<u8>, BatchStats) {
        // A clone of the Rc: the RefCell is not borrowed while lookups run.
        let filter = self.filter();
        let mut out = Vec::new();
        let stats = batch::process(&filter, lookups, batch, &mut out);
        (out, stats)
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::*;
    use crate::lookups::{DnsblOutcome, GeoRecord, NoLookups, PtrOutcome};
    use crate::settings::SettingValue;

    struct Throwing;

    impl Lookups for Throwing {
        fn reverse(&mut self, _: &[IpAddr]) -> Vec<PtrOutcome> {
            panic!("the host's import threw")
        }
        fn dnsbl(&mut self, _: &str, _: &[IpAddr]) -> Vec<DnsblOutcome> {
            panic!("the host's import threw")
        }
        fn geoip(&mut self, _: &[IpAddr]) -> Vec<Option<GeoRecord>> {
            panic!("the host's import threw")
        }
    }

    const LINE: &[u8] =
        br#"192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1 "-" "-""#;

    const ENDS: &[u32] = &[LINE.len() as u32];

    fn batch() -> BatchIn<'static> {
        BatchIn {
            first_line: 1,
            source: None,
            data: LINE,
            ends: ENDS,
            parts: &[],
        }
    }

    #[test]
    fn an_interrupted_call_does_not_poison_the_session() {
        let session = Session::new();
        session
            .configure(&[Setting::new("geoip", SettingValue::Flag(false))])
            .unwrap();
        let interrupted =
            catch_unwind(AssertUnwindSafe(|| session.process(&mut Throwing, batch())));
        assert!(interrupted.is_err());
        // Configuring and processing still work, with the configuration kept.
        let (jsonl, stats) = session.process(&mut NoLookups, batch());
        assert_eq!(stats.parsed, 1);
        assert!(String::from_utf8(jsonl).unwrap().contains("\"geo\":null"));
        session.configure(&[]).unwrap();
    }

    #[test]
    fn an_unconfigured_session_uses_the_defaults() {
        let (jsonl, stats) = Session::new().process(&mut NoLookups, batch());
        assert_eq!(stats.parsed, 1);
        assert!(String::from_utf8(jsonl).unwrap().contains("\"attacks\":[]"));
    }

    #[test]
    fn a_rejected_configuration_keeps_the_previous_one() {
        let session = Session::new();
        session
            .configure(&[Setting::new("reverse-dns", SettingValue::Flag(false))])
            .unwrap();
        assert!(
            session
                .configure(&[Setting::new("nope", SettingValue::Flag(true))])
                .is_err()
        );
        let (jsonl, _) = session.process(&mut NoLookups, batch());
        assert!(String::from_utf8(jsonl).unwrap().contains("\"dns\":null"));
    }
}
