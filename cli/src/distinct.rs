//! The count of distinct clients in a run's summary, in bounded memory.
//!
//! A set of every address grows with the clients: over 1M lines with 462k distinct
//! clients a `HashSet<IpAddr>` took about 28 MB at its peak (its last resize), a sixth
//! of the run's RSS, and a 10M-line run would take ten times that. [`Distinct`] counts
//! exactly while the clients are few (an IPv4 address kept as 4 bytes, IPv6 as 16),
//! and past [`EXACT_UP_TO`] drops the sets and reports a HyperLogLog++ estimate
//! (`cardinality-estimator`, 2^14 registers: about 0.8 % standard error, 16 KiB), fed
//! from the start so it is as good as if it had been alone.

use std::collections::hash_map::DefaultHasher;
use std::fmt;
use std::net::IpAddr;

use cardinality_estimator::CardinalityEstimator;
use rustc_hash::FxHashSet;

/// Distinct clients counted exactly, at most (about 1 MB of sets at the worst).
pub const EXACT_UP_TO: usize = 65_536;

/// Counts distinct client addresses.
pub struct Distinct {
    /// The exact sets, until there are more than [`EXACT_UP_TO`] addresses.
    exact: Option<(FxHashSet<u32>, FxHashSet<u128>)>,
    /// SipHash: HyperLogLog needs every bit of the hash well mixed (FxHash's are not).
    estimate: CardinalityEstimator<IpAddr, DefaultHasher, 14, 6>,
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct {
            exact: Some(Default::default()),
            estimate: CardinalityEstimator::new(),
        }
    }
}

impl fmt::Debug for Distinct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Distinct").field(&self.count()).finish()
    }
}

impl Distinct {
    /// Counts `ip` (an IPv4-mapped IPv6 address as its IPv4 address).
    pub fn insert(&mut self, ip: IpAddr) {
        let ip = ip.to_canonical();
        self.estimate.insert(&ip);
        let Some((v4, v6)) = &mut self.exact else {
            return;
        };
        match ip {
            IpAddr::V4(a) => v4.insert(a.to_bits()),
            IpAddr::V6(a) => v6.insert(a.to_bits()),
        };
        if v4.len() + v6.len() > EXACT_UP_TO {
            self.exact = None;
        }
    }

    /// The count so far.
    pub fn count(&self) -> Count {
        match &self.exact {
            Some((v4, v6)) => Count {
                n: (v4.len() + v6.len()) as u64,
                exact: true,
            },
            None => Count {
                // Never below what was counted exactly.
                n: (self.estimate.estimate() as u64).max(EXACT_UP_TO as u64 + 1),
                exact: false,
            },
        }
    }
}

impl Extend<IpAddr> for Distinct {
    fn extend<T: IntoIterator<Item = IpAddr>>(&mut self, iter: T) {
        for ip in iter {
            self.insert(ip);
        }
    }
}

/// A count of distinct clients, exact or estimated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    /// The count (an estimate unless `exact`).
    pub n: u64,
    /// Whether `n` is exact.
    pub exact: bool,
}

/// `1234` when exact, `about 462,000` (three significant digits) when estimated.
impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exact {
            return write!(f, "{}", self.n);
        }
        let digits = self.n.checked_ilog10().unwrap_or(0);
        let unit = 10u64.pow(digits.saturating_sub(2));
        let rounded = (self.n + unit / 2) / unit * unit;
        let mut text = rounded.to_string();
        let mut at = text.len();
        while at > 3 {
            at -= 3;
            text.insert(at, ',');
        }
        write!(f, "about {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(i: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from_bits(0x0a00_0000 + i))
    }

    #[test]
    fn few_clients_are_counted_exactly_mapped_addresses_as_ipv4() {
        let mut d = Distinct::default();
        d.extend([v4(1), v4(2), v4(1)]);
        d.insert(IpAddr::V6(
            Ipv4Addr::from_bits(0x0a00_0001).to_ipv6_mapped(),
        ));
        d.insert(IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!(d.count(), Count { n: 3, exact: true });
        assert_eq!(d.count().to_string(), "3");
    }

    #[test]
    fn many_clients_are_estimated_within_a_few_percent() {
        let mut d = Distinct::default();
        let n = 300_000u32;
        for i in 0..n {
            d.insert(v4(i));
            // Repeats change nothing.
            d.insert(v4(i / 2));
        }
        let c = d.count();
        assert!(!c.exact);
        let error = (c.n as f64 / f64::from(n) - 1.0).abs();
        assert!(error < 0.03, "{} for {n}: {:.2} % off", c.n, error * 100.0);
        assert!(c.to_string().starts_with("about "), "{c}");
    }

    #[test]
    fn estimates_show_three_significant_digits() {
        let c = |n| Count { n, exact: false }.to_string();
        assert_eq!(c(462_244), "about 462,000");
        assert_eq!(c(65_537), "about 65,500");
        assert_eq!(c(1_234_567), "about 1,230,000");
        assert_eq!(c(99_950), "about 100,000");
    }
}
