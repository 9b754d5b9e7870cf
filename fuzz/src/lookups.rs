//! A [`Lookups`] driven by the fuzz input: a mode byte picks how each lookup answers
//! (nothing at all, failures, the wrong number of results, or answers made of the input's
//! text), so that the batch flow's decoding and encoding of answers is fuzzed too.

use std::net::{IpAddr, Ipv4Addr};

use logenrich_policy::{DnsblOutcome, GeoRecord, LookupError, Lookups, PtrOutcome, TxtOutcome};

/// Answers scripted by `mode` (low three bits: the variant), with strings from `text`.
pub struct Scripted<'a> {
    /// Which answers: see [`Lookups`] methods below.
    pub mode: u8,
    /// The text answers are made of.
    pub text: &'a str,
    /// Its whitespace-separated words (split once: splitting per answer made a long text
    /// cost its length per client, and afl-fuzz saw such inputs as hangs).
    words: Vec<&'a str>,
}

/// At most this many DNSBL answer codes per client, however long the text (a whole text
/// of them per client also made long inputs hang).
const MAX_CODES: usize = 16;

impl<'a> Scripted<'a> {
    /// Answers scripted by `mode` with strings from `text`.
    pub fn new(mode: u8, text: &'a str) -> Self {
        Scripted {
            mode,
            text,
            words: text.split_whitespace().collect(),
        }
    }

    fn variant(&self) -> u8 {
        self.mode & 7
    }

    /// The `i`-th whitespace-separated word of the text, cycling (the whole text when it
    /// has none).
    fn word(&self, i: usize) -> &'a str {
        if self.words.is_empty() {
            self.text
        } else {
            self.words[i % self.words.len()]
        }
    }

    fn error(&self, i: usize) -> LookupError {
        match i % 4 {
            0 => LookupError::Timeout,
            1 => LookupError::ServerFailure,
            2 => LookupError::Refused,
            _ => LookupError::Other(self.text.to_string()),
        }
    }

    /// `n` results from `each`, or a wrong count for the variants that test it.
    fn answer<T>(&self, n: usize, each: impl Fn(usize) -> T) -> Vec<T> {
        match self.variant() {
            1 => Vec::new(),
            4 => (0..n + 1).map(each).collect(),
            _ => (0..n).map(each).collect(),
        }
    }

    /// A float made of the text's bytes (any bit pattern: NaN, infinities, subnormals).
    fn float(&self, salt: u64) -> f64 {
        let mut bits = salt;
        for b in self.text.bytes() {
            bits = bits.rotate_left(8) ^ u64::from(b);
        }
        f64::from_bits(bits)
    }
}

impl Lookups for Scripted<'_> {
    fn reverse(&mut self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        self.answer(ips.len(), |i| match self.variant() {
            0 => PtrOutcome::Failed(LookupError::Other("no lookups here".into())),
            3 => match i % 3 {
                0 => PtrOutcome::NotFound,
                1 => PtrOutcome::Failed(self.error(i)),
                _ => PtrOutcome::Found(self.word(i).into()),
            },
            5 => PtrOutcome::Found(self.text.into()),
            _ => PtrOutcome::Found(self.word(i).into()),
        })
    }

    fn dnsbl(&mut self, zone: &str, ips: &[IpAddr]) -> Vec<DnsblOutcome> {
        let codes: Vec<Ipv4Addr> = self
            .text
            .as_bytes()
            .chunks(4)
            .take(MAX_CODES)
            .map(|c| Ipv4Addr::new(127, 0, 0, c.iter().fold(0u8, |a, b| a.wrapping_add(*b))))
            .collect();
        self.answer(ips.len(), |i| match (self.variant(), i % 3) {
            (0, _) => DnsblOutcome::Failed(LookupError::Other("no lookups here".into())),
            (3, 0) => DnsblOutcome::NotListed,
            (3, 1) => DnsblOutcome::Failed(self.error(i)),
            (6, _) => DnsblOutcome::Listed {
                answers: Vec::new(),
                reason: None,
            },
            _ => DnsblOutcome::Listed {
                answers: codes.clone(),
                reason: (i % 2 == 0).then(|| format!("{zone} {}", self.word(i))),
            },
        })
    }

    fn geoip(&mut self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>> {
        let text = |i: usize| Some(self.word(i).to_string());
        self.answer(ips.len(), |i| match self.variant() {
            0 | 3 if i % 2 == 0 => None,
            _ => Some(GeoRecord {
                country_code: text(i),
                country_name: text(i + 1),
                subdivision: text(i + 2),
                city: Some(self.text.to_string()),
                latitude: Some(self.float(i as u64)),
                longitude: Some(self.float(!(i as u64))),
                accuracy_radius: Some(self.text.len() as u16),
                time_zone: text(i + 3),
                asn: Some(self.text.len() as u32),
                as_org: text(i + 4),
            }),
        })
    }

    fn cymru_origin(&mut self, ips: &[IpAddr]) -> Vec<TxtOutcome> {
        self.answer(ips.len(), |i| match (self.variant(), i % 3) {
            (0, _) => TxtOutcome::Failed(LookupError::Other("no lookups here".into())),
            (3, 0) => TxtOutcome::NotFound,
            (3, 1) => TxtOutcome::Failed(self.error(i)),
            _ => TxtOutcome::Found(self.text.split(';').map(str::to_string).collect()),
        })
    }

    fn cymru_as(&mut self, asns: &[u32]) -> Vec<TxtOutcome> {
        self.answer(asns.len(), |i| match (self.variant(), i % 3) {
            (0, _) => TxtOutcome::Failed(LookupError::Other("no lookups here".into())),
            (3, 0) => TxtOutcome::NotFound,
            (3, 1) => TxtOutcome::Failed(self.error(i)),
            _ => TxtOutcome::Found(vec![self.text.to_string()]),
        })
    }
}
