//! Target `cymru`: the Team Cymru TXT decoder (`logenrich_policy::cymru`): `parse_origin`
//! and `parse_as` of each record, `best_origin` of all of them (checked against the
//! records that decode: the longest prefix, the first of equals), then the batched
//! `lookup_all` with those records as every answer, and each verdict's JSON.
//!
//! Input: a mode byte (bits 0–2: the lookups' answers, as [`crate::lookups::Scripted`]),
//! then TXT records separated by `\n`.

use std::net::IpAddr;

use logenrich_policy::cymru::{self, Origin, Verdict};
use logenrich_policy::{LookupError, Lookups, TxtOutcome};

/// The prefix length of an origin's prefix, 0 when it has none.
fn prefix_len(o: &Origin) -> u8 {
    o.prefix
        .as_deref()
        .and_then(|p| p.rsplit_once('/'))
        .and_then(|(_, l)| l.parse::<u8>().ok())
        .unwrap_or(0)
}

/// Answers every origin and AS query with the same records, or fails them.
struct Records<'a> {
    mode: u8,
    txts: &'a [String],
}

impl Records<'_> {
    fn answer(&self, n: usize) -> Vec<TxtOutcome> {
        match self.mode & 7 {
            0 => Vec::new(),
            1 => (0..n + 1)
                .map(|_| TxtOutcome::Found(self.txts.to_vec()))
                .collect(),
            2 => (0..n).map(|_| TxtOutcome::NotFound).collect(),
            3 => (0..n)
                .map(|i| match i % 3 {
                    0 => TxtOutcome::Failed(LookupError::Timeout),
                    1 => TxtOutcome::NotFound,
                    _ => TxtOutcome::Found(self.txts.to_vec()),
                })
                .collect(),
            _ => (0..n)
                .map(|i| TxtOutcome::Found(self.txts[i % self.txts.len().max(1)..].to_vec()))
                .collect(),
        }
    }
}

impl Lookups for Records<'_> {
    fn reverse(&mut self, _: &[IpAddr]) -> Vec<logenrich_policy::PtrOutcome> {
        unreachable!("not asked")
    }
    fn dnsbl(&mut self, _: &str, _: &[IpAddr]) -> Vec<logenrich_policy::DnsblOutcome> {
        unreachable!("not asked")
    }
    fn geoip(&mut self, _: &[IpAddr]) -> Vec<Option<logenrich_policy::GeoRecord>> {
        unreachable!("not asked")
    }
    fn cymru_origin(&mut self, ips: &[IpAddr]) -> Vec<TxtOutcome> {
        assert!(
            ips.iter()
                .all(|ip| !logenrich_policy::client::is_private(*ip))
        );
        self.answer(ips.len())
    }
    fn cymru_as(&mut self, asns: &[u32]) -> Vec<TxtOutcome> {
        let mut distinct = asns.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), asns.len(), "each AS asked once");
        self.answer(asns.len())
    }
}

/// The target's body.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let txts: Vec<String> = text.split('\n').map(str::to_string).collect();
    let origins: Vec<Origin> = txts
        .iter()
        .filter_map(|t| cymru::parse_origin(t).ok())
        .collect();
    for o in &origins {
        assert!(!o.asns.is_empty(), "an origin has an AS");
    }
    for t in &txts {
        let _ = cymru::parse_as(t);
    }
    match cymru::best_origin(&txts) {
        Ok(best) => {
            let longest = origins.iter().map(prefix_len).max().expect("one decoded");
            let first = origins
                .iter()
                .find(|o| prefix_len(o) == longest)
                .expect("the longest");
            assert_eq!(&best, first, "the first of the longest prefixes");
        }
        Err(e) => {
            assert!(origins.is_empty(), "no origin decodes: {e}");
        }
    }
    let clients: Vec<IpAddr> = ["192.0.2.1", "10.0.0.1", "2001:db8::7", "198.51.100.2"]
        .iter()
        .map(|a| a.parse().expect("an address"))
        .collect();
    let mut lookups = Records { mode, txts: &txts };
    let verdicts = cymru::lookup_all(&mut lookups, &clients);
    assert_eq!(verdicts.len(), clients.len(), "a verdict per client");
    for (ip, verdict) in clients.iter().zip(&verdicts) {
        if logenrich_policy::client::is_private(*ip) {
            assert_eq!(verdict, &Verdict::Private);
        }
        let mut out = b"{\"line\":1".to_vec();
        cymru::write(&mut out, verdict);
        out.push(b'}');
        let _: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&out));
        });
    }
}
