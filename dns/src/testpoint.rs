//! RFC 5782 §5 test points: before trusting a DNSBL zone, check that it lists 127.0.0.2 and
//! does not list 127.0.0.1. This catches a mistyped zone, a zone that is gone, and the
//! common trap of querying Spamhaus through a public resolver, which answers even the test
//! point with an error code (127.255.255.254) instead of a listing.

use std::net::{IpAddr, Ipv4Addr};

use logenrich_types::DnsblOutcome;
use logenrich_types::provider::Dnsbl;

/// The address every working IPv4 DNSBL must list (RFC 5782 §5).
pub const LISTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// The address no working IPv4 DNSBL may list (RFC 5782 §5).
pub const NOT_LISTED: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

/// Whether an answer is a listing code rather than an error code: inside 127.0.0.0/8 and
/// outside 127.255.255.0/24, which list operators use for errors.
fn is_listing_code(a: &Ipv4Addr) -> bool {
    let [first, b, c, _] = a.octets();
    first == 127 && (b, c) != (255, 255)
}

fn describe(outcome: &DnsblOutcome) -> String {
    match outcome {
        DnsblOutcome::Listed { answers, .. } => {
            let list: Vec<String> = answers.iter().map(Ipv4Addr::to_string).collect();
            format!("answered {}", list.join(", "))
        }
        DnsblOutcome::NotListed => "does not exist (NXDOMAIN)".into(),
        DnsblOutcome::Failed(e) => format!("failed ({e:?})"),
    }
}

/// Checks each zone's test points; returns one warning per zone that fails them.
pub async fn check(resolver: &dyn Dnsbl, zones: &[String]) -> Vec<String> {
    let mut warnings = Vec::new();
    for zone in zones {
        let got = resolver.dnsbl(zone, &[LISTED, NOT_LISTED]).await;
        let [listed, not_listed] = got.as_slice() else {
            continue;
        };
        let listed_ok = matches!(listed, DnsblOutcome::Listed { answers, .. } if answers.iter().any(is_listing_code));
        let not_listed_ok = matches!(not_listed, DnsblOutcome::NotListed);
        if !listed_ok {
            let hint = match listed {
                DnsblOutcome::Listed { answers, .. }
                    if answers.contains(&Ipv4Addr::new(127, 255, 255, 254)) =>
                {
                    " — the list refuses queries from public/open resolvers; use your own resolver (--nameserver)"
                }
                _ => "",
            };
            warnings.push(format!(
                "DNSBL zone {zone} fails the RFC 5782 test point: 127.0.0.2 {}{hint}; its verdicts are not trustworthy",
                describe(listed)
            ));
        } else if !not_listed_ok {
            warnings.push(format!(
                "DNSBL zone {zone} fails the RFC 5782 test point: 127.0.0.1 {} but must not be listed; its verdicts are not trustworthy",
                describe(not_listed)
            ));
        }
    }
    warnings
}
