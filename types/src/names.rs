//! DNS query names built from addresses, written once for every crate: the reverse (PTR)
//! name, the DNSBL name of RFC 5782 §2, and Team Cymru's origin and AS names.
//!
//! All share one form: the address's labels reversed (IPv4 octets, or IPv6's 32 nibbles)
//! in front of a zone, with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) asked as IPv4
//! where a DNSBL or Team Cymru expects it. Names carry no trailing dot.

use std::fmt::Write as _;
use std::net::IpAddr;

/// The zone of IPv4 Team Cymru origin queries (Team Cymru, "IP to ASN Mapping Service").
pub const CYMRU_ORIGIN_ZONE: &str = "origin.asn.cymru.com";
/// The zone of IPv6 Team Cymru origin queries.
pub const CYMRU_ORIGIN6_ZONE: &str = "origin6.asn.cymru.com";
/// The zone of Team Cymru AS name queries.
pub const CYMRU_ASN_ZONE: &str = "asn.cymru.com";

/// `ip`'s labels reversed, dot-separated, followed by `.zone` (no trailing dot): IPv4
/// octets (`192.0.2.99` → `99.2.0.192`), IPv6 as 32 lower-case nibbles. The address is
/// used as given (see [`dnsbl_query_name`] for the IPv4-mapped case).
pub fn reversed_name(ip: IpAddr, zone: &str) -> String {
    let mut name = String::with_capacity(64 + zone.len() + 1);
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            let _ = write!(name, "{d}.{c}.{b}.{a}");
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            for i in 0..32 {
                if i > 0 {
                    name.push('.');
                }
                let nibble = ((bits >> (4 * i)) & 0xf) as u32;
                name.push(char::from_digit(nibble, 16).unwrap_or('0'));
            }
        }
    }
    if !zone.is_empty() {
        name.push('.');
        name.push_str(zone);
    }
    name
}

/// The reverse-DNS name of `ip`: `…in-addr.arpa` or `…ip6.arpa`.
pub fn ptr_query_name(ip: IpAddr) -> String {
    let zone = if ip.is_ipv4() {
        "in-addr.arpa"
    } else {
        "ip6.arpa"
    };
    reversed_name(ip, zone)
}

/// A zone as given by a user, normalised: trimmed, without leading or trailing dots,
/// lower case. The form the host's allow-list of DNSBL zones and its caches compare.
pub fn zone_key(zone: &str) -> String {
    zone.trim().trim_matches('.').to_ascii_lowercase()
}

/// The RFC 5782 §2 query name of `ip` in `zone`: IPv4 octets reversed, IPv6 as 32
/// reversed nibbles, IPv4-mapped IPv6 as IPv4. A leading or trailing dot of `zone` is
/// ignored.
pub fn dnsbl_query_name(ip: IpAddr, zone: &str) -> String {
    reversed_name(ip.to_canonical(), zone.trim_matches('.'))
}

/// The Team Cymru origin query name of `ip`: under [`CYMRU_ORIGIN_ZONE`] for IPv4 (and
/// IPv4-mapped IPv6), [`CYMRU_ORIGIN6_ZONE`] for IPv6.
pub fn cymru_origin_name(ip: IpAddr) -> String {
    let ip = ip.to_canonical();
    let zone = if ip.is_ipv4() {
        CYMRU_ORIGIN_ZONE
    } else {
        CYMRU_ORIGIN6_ZONE
    };
    reversed_name(ip, zone)
}

/// The Team Cymru AS query name of an AS number, e.g. `AS23028.asn.cymru.com`.
pub fn cymru_as_name(asn: u32) -> String {
    format!("AS{asn}.{CYMRU_ASN_ZONE}")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn rfc5782_names() {
        assert_eq!(
            dnsbl_query_name(ip("192.0.2.99"), "zone"),
            "99.2.0.192.zone"
        );
        assert_eq!(
            dnsbl_query_name(ip("127.0.0.2"), "bl.test."),
            "2.0.0.127.bl.test"
        );
        assert_eq!(
            dnsbl_query_name(ip("::ffff:192.0.2.99"), ".zone"),
            "99.2.0.192.zone"
        );
        // RFC 5782 §2.4's example.
        assert_eq!(
            dnsbl_query_name(ip("2001:db8:1:2:3:4:567:89ab"), "ugly.example"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example"
        );
    }

    #[test]
    fn cymru_names() {
        assert_eq!(
            cymru_origin_name(ip("216.90.108.31")),
            "31.108.90.216.origin.asn.cymru.com"
        );
        assert_eq!(
            cymru_origin_name(ip("::ffff:216.90.108.31")),
            "31.108.90.216.origin.asn.cymru.com"
        );
        assert_eq!(
            cymru_origin_name(ip("2001:4860:b002::68")),
            "8.6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.b.0.6.8.4.1.0.0.2.origin6.asn.cymru.com"
        );
        assert_eq!(cymru_as_name(23028), "AS23028.asn.cymru.com");
    }

    #[test]
    fn ptr_names_and_zone_keys() {
        assert_eq!(ptr_query_name(ip("192.0.2.1")), "1.2.0.192.in-addr.arpa");
        assert!(ptr_query_name(ip("2001:db8::1")).ends_with(".8.b.d.0.1.0.0.2.ip6.arpa"));
        assert_eq!(zone_key(" BL.Example. "), "bl.example");
    }

    proptest! {
        #[test]
        fn v6_names_have_32_nibbles(segs in proptest::array::uniform8(any::<u16>())) {
            let v6 = std::net::Ipv6Addr::from(segs);
            let name = cymru_origin_name(IpAddr::V6(v6));
            if v6.to_ipv4_mapped().is_none() {
                let nibbles: Vec<&str> = name
                    .strip_suffix(CYMRU_ORIGIN6_ZONE)
                    .expect("the IPv6 zone")
                    .trim_end_matches('.')
                    .split('.')
                    .collect();
                prop_assert_eq!(nibbles.len(), 32);
                let back: String = nibbles.iter().rev().copied().collect();
                prop_assert_eq!(u128::from_str_radix(&back, 16).unwrap(), u128::from(v6));
            }
        }
    }
}
