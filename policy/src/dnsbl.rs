//! DNSBL answer decoding: what a zone's A answers mean.
//!
//! The host only returns raw answers; this module owns their meaning. Answers in
//! 127.255.255.0/24 are errors of the list service (RFC 5782 §2.1 reserves 127.0.0.0/8 for
//! answers; Spamhaus documents the 127.255.255.x error codes), never listings.

use std::net::Ipv4Addr;

/// Spamhaus ZEN's answer codes (source: Spamhaus' DNSBL return-code documentation).
pub const ZEN_CODES: &[(&str, &str)] = &[
    ("127.0.0.2", "SBL: Spamhaus SBL data"),
    ("127.0.0.3", "SBL CSS: Spamhaus SBL CSS data"),
    ("127.0.0.4", "XBL: CBL data (exploited or infected host)"),
    ("127.0.0.9", "DROP/EDROP: Spamhaus DROP data"),
    (
        "127.0.0.10",
        "PBL: ISP maintained (dynamic or end-user range)",
    ),
    (
        "127.0.0.11",
        "PBL: Spamhaus maintained (dynamic or end-user range)",
    ),
    ("127.0.0.30", "BCL: botnet controller"),
];

/// Error answers shared by list operators (source: Spamhaus' return-code documentation).
const ERROR_CODES: &[(u8, &str)] = &[
    (252, "typing error in the DNSBL zone name"),
    (
        254,
        "query via a public or open resolver: the list refuses to answer it",
    ),
    (255, "excessive number of queries"),
];

/// Checks a zone name against RFC 1035 §2.3.4 limits (labels of 1 to 63 bytes, at most
/// 253 bytes in all) and RFC 952/1123 host-name characters (letters, digits, `-`, `_`).
pub fn check_dns_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("empty".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label of {} bytes, more than 63", label.len()));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!("character {c:?} in a label"));
        }
    }
    if name.len() > 253 {
        return Err(format!("{} bytes, more than 253", name.len()));
    }
    Ok(())
}

/// The built-in code table of a zone, if the guest knows it.
pub fn builtin_codes(zone: &str) -> Option<&'static [(&'static str, &'static str)]> {
    match zone.trim_end_matches('.').to_ascii_lowercase().as_str() {
        "zen.spamhaus.org" => Some(ZEN_CODES),
        _ => None,
    }
}

/// A zone and its code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The zone name.
    pub name: String,
    /// Answer → meaning, sorted by answer.
    codes: Vec<(Ipv4Addr, String)>,
}

/// One zone's decoded verdict on one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Whether any answer is a real listing.
    pub listed: bool,
    /// The answers, dotted quads.
    pub answers: Vec<String>,
    /// The meaning of each listing answer.
    pub meanings: Vec<String>,
    /// The TXT reason.
    pub reason: Option<String>,
    /// Why the verdict is unusable (error answers, failed query).
    pub error: Option<String>,
}

impl Zone {
    /// Builds a zone from `(answer, meaning)` pairs; an empty table takes the built-in one
    /// when there is one. An error carries the offending code's index (`None`: the name).
    pub fn new(name: &str, codes: &[(String, String)]) -> Result<Self, (Option<usize>, String)> {
        let clean = name.trim().trim_end_matches('.');
        if let Err(why) = check_dns_name(clean) {
            return Err((None, format!("{name:?} is not a DNS zone name: {why}")));
        }
        let mut table = Vec::with_capacity(codes.len());
        let owned;
        let codes = if codes.is_empty() {
            owned = builtin_codes(clean)
                .unwrap_or_default()
                .iter()
                .map(|(a, m)| (a.to_string(), m.to_string()))
                .collect::<Vec<_>>();
            &owned
        } else {
            codes
        };
        for (i, (answer, meaning)) in codes.iter().enumerate() {
            let addr: Ipv4Addr = answer
                .parse()
                .map_err(|_| (Some(i), format!("{answer:?} is not an IPv4 address")))?;
            if addr.octets()[0] != 127 {
                return Err((
                    Some(i),
                    format!("{answer} is outside 127.0.0.0/8 (RFC 5782 §2.1)"),
                ));
            }
            table.push((addr, meaning.clone()));
        }
        table.sort_by_key(|(a, _)| *a);
        Ok(Self {
            name: clean.to_string(),
            codes: table,
        })
    }

    /// Interprets the raw answers of a listed query.
    pub fn decode(&self, answers: &[Ipv4Addr], reason: Option<String>) -> Verdict {
        let mut v = Verdict {
            reason,
            ..Verdict::default()
        };
        let mut errors = Vec::new();
        for &a in answers {
            v.answers.push(a.to_string());
            let [first, b, c, d] = a.octets();
            if first != 127 {
                errors.push(format!("{a}: answer outside 127.0.0.0/8, not a listing"));
            } else if (b, c) == (255, 255) {
                let what = ERROR_CODES
                    .iter()
                    .find(|(code, _)| *code == d)
                    .map_or("error code of the list service", |(_, m)| m);
                errors.push(format!("{a}: {what}"));
            } else {
                v.listed = true;
                match self.codes.binary_search_by_key(&a, |(k, _)| *k) {
                    Ok(i) => v.meanings.push(self.codes[i].1.clone()),
                    Err(_) if self.codes.is_empty() => v.meanings.push(format!("listed ({a})")),
                    Err(_) => v.meanings.push(format!("unknown code {a}")),
                }
            }
        }
        if !errors.is_empty() {
            v.error = Some(errors.join("; "));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zen() -> Zone {
        Zone::new("zen.spamhaus.org", &[]).unwrap()
    }

    #[test]
    fn zen_codes_have_meanings() {
        let v = zen().decode(
            &[Ipv4Addr::new(127, 0, 0, 4), Ipv4Addr::new(127, 0, 0, 10)],
            None,
        );
        assert!(v.listed);
        assert_eq!(v.answers, ["127.0.0.4", "127.0.0.10"]);
        assert!(v.meanings[0].starts_with("XBL"), "{:?}", v.meanings);
        assert!(v.meanings[1].starts_with("PBL"), "{:?}", v.meanings);
        assert_eq!(v.error, None);
    }

    #[test]
    fn error_codes_are_never_listings() {
        for (d, needle) in [
            (252, "typing"),
            (254, "public"),
            (255, "excessive"),
            (253, "error code"),
        ] {
            let v = zen().decode(&[Ipv4Addr::new(127, 255, 255, d)], None);
            assert!(!v.listed, "127.255.255.{d} counted as listing");
            assert!(v.meanings.is_empty());
            let e = v.error.unwrap();
            assert!(e.contains(needle), "{e}");
        }
    }

    #[test]
    fn outside_loopback_is_an_error() {
        let v = zen().decode(&[Ipv4Addr::new(192, 0, 2, 1)], None);
        assert!(!v.listed);
        assert!(v.error.unwrap().contains("outside 127.0.0.0/8"));
    }

    #[test]
    fn unknown_zone_and_unknown_code() {
        let z = Zone::new("bl.example.", &[]).unwrap();
        assert_eq!(z.name, "bl.example");
        let v = z.decode(&[Ipv4Addr::new(127, 0, 0, 2)], Some("spam".into()));
        assert!(v.listed);
        assert_eq!(v.meanings, ["listed (127.0.0.2)"]);
        assert_eq!(v.reason.as_deref(), Some("spam"));
        let z = Zone::new("bl.example", &[("127.0.0.2".into(), "spam source".into())]).unwrap();
        let v = z.decode(&[Ipv4Addr::new(127, 0, 0, 7)], None);
        assert_eq!(v.meanings, ["unknown code 127.0.0.7"]);
    }

    #[test]
    fn bad_tables_are_rejected_with_field() {
        let e = Zone::new(
            "bl.example",
            &[("127.0.0.2".into(), "a".into()), ("x".into(), "b".into())],
        )
        .unwrap_err();
        assert_eq!(e.0, Some(1));
        let e = Zone::new("bl.example", &[("10.0.0.2".into(), "a".into())]).unwrap_err();
        assert!(e.1.contains("outside"));
        assert!(Zone::new(" ", &[]).is_err());
    }

    #[test]
    fn zone_names_are_checked_as_dns_names() {
        let long = "a".repeat(300);
        let e = Zone::new(&format!("{long}.example"), &[]).unwrap_err();
        assert_eq!(e.0, None);
        assert!(e.1.contains("label of 300 bytes"), "{}", e.1);
        assert!(Zone::new(&format!("{}.example", "a".repeat(63)), &[]).is_ok());
        assert!(Zone::new("bl..example", &[]).is_err());
        assert!(Zone::new("bl.exa mple", &[]).is_err());
        let e = Zone::new(&"ab.".repeat(90), &[]).unwrap_err();
        assert!(e.1.contains("more than 253"), "{}", e.1);
    }
}
