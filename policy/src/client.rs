//! The client field of a line: one address, a chain of addresses, or a client that is not
//! an address at all.
//!
//! - A chain (`10.0.0.2, 10.0.0.1, 85.181.35.98`) appears when `$remote_addr` was
//!   replaced by a forwarded-for list upstream (Filebeat's nginx module reads such logs).
//!   The whole chain goes to the record's `forwarded`; the client is the **last public
//!   address** of the chain, or the last entry when none is public. Entries are appended
//!   left to right by each proxy on the way, so the right end is what our own side saw;
//!   the left end is whatever the client claimed, which an attacker can forge (MDN,
//!   *X-Forwarded-For*, "Security and privacy concerns"). On a honeypot, trusting the
//!   leftmost entry would let every scanner pick its own source address.
//! - `unix:` is what nginx logs as the client of a request that came in over a Unix
//!   socket (a local proxy in front of it): the line parses, with no client address, so
//!   no lookup is made for it. Apache's `%h` may log a host name (with `HostnameLookups`),
//!   which is treated the same way when the format allows it.

use std::net::IpAddr;

/// A line's client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client<'a> {
    /// The client as written (the chosen entry of a chain).
    pub text: &'a str,
    /// Its address; `None` for `unix:` or a host name: no lookups for this line.
    pub ip: Option<IpAddr>,
    /// The whole field when it was a chain of addresses.
    pub chain: Option<&'a str>,
}

/// Whether an address is one of the private, local or shared ranges that no one outside
/// the network can be seen from: RFC 1918, loopback, link-local, CGNAT 100.64.0.0/10
/// (RFC 6598), unspecified, IPv6 unique-local fc00::/7 (RFC 4193). IPv4-mapped IPv6
/// addresses are judged as IPv4. Documentation ranges count as public (the tests and the
/// sample logs use them as clients).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                v6.is_loopback()
                    || v6.is_unspecified()
                    || first & 0xfe00 == 0xfc00
                    || first & 0xffc0 == 0xfe80
            }
        },
    }
}

/// Reads a client field. `names` allows a host name as the client (Apache `%h`).
/// `None` when the field is not a client.
pub fn parse_client(text: &str, names: bool) -> Option<Client<'_>> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(Client {
            text,
            ip: Some(ip),
            chain: None,
        });
    }
    if text.contains(',') {
        let mut chosen: Option<(&str, IpAddr)> = None;
        let mut last: Option<(&str, IpAddr)> = None;
        for entry in text.split(',').map(str::trim) {
            let ip: IpAddr = entry.parse().ok()?;
            if !is_private(ip) {
                chosen = Some((entry, ip));
            }
            last = Some((entry, ip));
        }
        let (entry, ip) = chosen.or(last)?;
        return Some(Client {
            text: entry,
            ip: Some(ip),
            chain: Some(text),
        });
    }
    let name_like = !text.is_empty()
        && text != "-"
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    (text.starts_with("unix:") || (names && name_like)).then_some(Client {
        text,
        ip: None,
        chain: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn chains_choose_the_last_public_address() {
        let c = parse_client("10.0.0.2, 10.0.0.1, 85.181.35.98", false).unwrap();
        assert_eq!((c.text, c.ip), ("85.181.35.98", Some(ip("85.181.35.98"))));
        assert_eq!(c.chain, Some("10.0.0.2, 10.0.0.1, 85.181.35.98"));
        let c = parse_client("203.0.113.9,198.51.100.7,10.1.1.1", false).unwrap();
        assert_eq!(c.text, "198.51.100.7", "a forged left end is not chosen");
        let c = parse_client("10.0.0.2, 192.168.1.1", false).unwrap();
        assert_eq!(c.text, "192.168.1.1", "all private: the last entry");
        let c = parse_client("2001:db8::1, fd00::2", false).unwrap();
        assert_eq!(c.text, "2001:db8::1");
        assert_eq!(parse_client("10.0.0.2, nope", false), None);
        assert_eq!(parse_client(",", false), None);
    }

    #[test]
    fn unix_sockets_and_names() {
        let c = parse_client("unix:", false).unwrap();
        assert_eq!((c.text, c.ip, c.chain), ("unix:", None, None));
        assert_eq!(parse_client("host.example", false), None);
        assert_eq!(parse_client("host.example", true).unwrap().ip, None);
        assert_eq!(parse_client("-", true), None);
        assert_eq!(parse_client("", true), None);
        assert_eq!(parse_client("a b", true), None);
    }

    #[test]
    fn private_ranges() {
        for p in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip(p)), "{p}");
        }
        for p in [
            "85.181.35.98",
            "192.0.2.1",
            "100.128.0.1",
            "2001:db8::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_private(ip(p)), "{p}");
        }
    }
}
