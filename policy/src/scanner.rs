//! Scanner tagging: which User-Agent and reverse-DNS keywords a record matches.
//!
//! Each keyword list is compiled once into an Aho-Corasick automaton (ASCII
//! case-insensitive), so a field is scanned once whatever the number of keywords.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// User-Agent keywords of known internet scanners (source: the FIRST incident-response
/// course's list; `Nmap Scripting Engine` and `internet-measurement.com` are two keywords
/// there although a missing comma fused them).
pub const DEFAULT_UA_KEYWORDS: &[&str] = &[
    "project_patchwatch",
    "scaninfo@expanseinc.com",
    "project-resonance.com",
    "gdnplus.com",
    "censys.io",
    "netsystemsresearch.com",
    "Nmap Scripting Engine",
    "internet-measurement.com",
    "InternetMeasurement",
    "tchelebi.io",
    "paloaltonetworks.com",
    "security.ipip.net",
];

/// Reverse-DNS keywords of known internet scanners (source: the same course).
pub const DEFAULT_DNS_KEYWORDS: &[&str] = &[
    "shodan.io",
    "research-scanner.com",
    "censys-scanner.com",
    "shadowserver.org",
    "the-shadow-server-foundation",
    "internet-measurement.com",
    "internet-census.org",
    "netsystemsresearch.com",
    "leakix.org",
    "stretchoid.com",
    "recyber.net",
    "planetlab",
    "criminalip.com",
    "quadmetrics.com",
    "scanopticon.com",
    "onyphe.net",
    "crd.bi.zone",
    "michael-kipp.com",
    "mapletoast.com",
    "maaketing.nl",
    "intenettl.org",
    "iostation.io",
    "intrinsec.com",
    "security.ipip.net",
    "rnd.group-ib.com",
    "threatsinkhole.com",
    "binaryedge.ninja",
];

/// A compiled keyword list.
#[derive(Debug, Clone)]
pub struct Keywords {
    words: Vec<String>,
    automaton: Option<AhoCorasick>,
}

impl Keywords {
    /// Compiles a keyword list. An empty keyword is an error (it would match everything):
    /// the error gives its index.
    pub fn new(words: &[String]) -> Result<Self, (usize, String)> {
        if let Some(i) = words.iter().position(|w| w.trim().is_empty()) {
            return Err((i, "empty keyword".into()));
        }
        let automaton = if words.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(words)
                    .map_err(|e| (0, format!("cannot compile keywords: {e}")))?,
            )
        };
        Ok(Self {
            words: words.to_vec(),
            automaton,
        })
    }

    /// The keywords found in `haystack`, each once, in the order they are listed.
    pub fn find<'k>(&'k self, haystack: &str) -> Vec<&'k str> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let mut found: Vec<usize> = ac
            .find_overlapping_iter(haystack)
            .map(|m| m.pattern().as_usize())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
            .into_iter()
            .map(|id| self.words[id].as_str())
            .collect()
    }
}

/// Which sources matched and which keywords, `dns` before `ua`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The reverse-DNS name matched.
    pub dns: bool,
    /// The User-Agent matched.
    pub ua: bool,
    /// The matched keywords, DNS ones first, each once (a keyword in both lists that
    /// matched on both sides is listed once, and both sources are set).
    pub matched: Vec<String>,
}

impl Evidence {
    /// Combines the keywords matched in the reverse-DNS name and in the User-Agent;
    /// `None` when neither matched.
    pub fn combine(dns: &[&str], ua: &[&str]) -> Option<Self> {
        if dns.is_empty() && ua.is_empty() {
            return None;
        }
        let mut matched: Vec<String> = dns.iter().map(|s| s.to_string()).collect();
        for w in ua {
            if !matched.iter().any(|m| m == w) {
                matched.push(w.to_string());
            }
        }
        Some(Self {
            dns: !dns.is_empty(),
            ua: !ua.is_empty(),
            matched,
        })
    }
}

/// Which keyword list a configuration error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// The User-Agent keywords.
    Ua,
    /// The reverse-DNS keywords.
    Dns,
}

/// A keyword list that does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordError {
    /// The list.
    pub list: List,
    /// The index of the bad keyword in it.
    pub index: usize,
    /// What is wrong.
    pub reason: String,
}

/// The scanner tagger: a UA keyword list and a DNS keyword list.
#[derive(Debug, Clone)]
pub struct Tagger {
    ua: Keywords,
    dns: Keywords,
}

impl Tagger {
    /// Compiles both lists; the error names the list and the keyword.
    pub fn new(ua: &[String], dns: &[String]) -> Result<Self, KeywordError> {
        let err = |list| {
            move |(index, reason)| KeywordError {
                list,
                index,
                reason,
            }
        };
        Ok(Self {
            ua: Keywords::new(ua).map_err(err(List::Ua))?,
            dns: Keywords::new(dns).map_err(err(List::Dns))?,
        })
    }

    /// The DNS keywords in a reverse-DNS name (once per client).
    pub fn dns_matches(&self, ptr_name: &str) -> Vec<&str> {
        self.dns.find(ptr_name)
    }

    /// The UA keywords in a User-Agent (once per line).
    pub fn ua_matches(&self, user_agent: &str) -> Vec<&str> {
        self.ua.find(user_agent)
    }

    /// Tags one record; `None` when nothing matched.
    pub fn tag(&self, ptr_name: Option<&str>, user_agent: Option<&str>) -> Option<Evidence> {
        let dns = ptr_name.map(|n| self.dns_matches(n)).unwrap_or_default();
        let ua = user_agent.map(|u| self.ua_matches(u)).unwrap_or_default();
        Evidence::combine(&dns, &ua)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Tagger {
        let s = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Tagger::new(&s(DEFAULT_UA_KEYWORDS), &s(DEFAULT_DNS_KEYWORDS)).unwrap()
    }

    #[test]
    fn untagged_when_nothing_matches() {
        let t = defaults();
        assert_eq!(
            t.tag(Some("dsl-1-2.example.net"), Some("Mozilla/5.0")),
            None
        );
        assert_eq!(t.tag(None, None), None);
    }

    #[test]
    fn dns_matches_case_insensitively() {
        let e = defaults()
            .tag(Some("Scanner-42.Census.SHODAN.IO"), None)
            .unwrap();
        assert!(e.dns && !e.ua);
        assert_eq!(e.matched, ["shodan.io"]);
    }

    #[test]
    fn nmap_and_internet_measurement_are_two_keywords() {
        let t = defaults();
        let e = t.tag(None, Some("Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)")).unwrap();
        assert_eq!(e.matched, ["Nmap Scripting Engine"]);
        let e = t.tag(None, Some("internet-measurement.com bot")).unwrap();
        assert_eq!(e.matched, ["internet-measurement.com"]);
    }

    #[test]
    fn both_sources_with_evidence_in_order() {
        let e = defaults()
            .tag(
                Some("scanner-01.ch1.censys-scanner.com"),
                Some("Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)"),
            )
            .unwrap();
        assert!(e.dns && e.ua);
        assert_eq!(e.matched, ["censys-scanner.com", "censys.io"]);
    }

    #[test]
    fn overlapping_keywords_all_reported_once() {
        let words = vec!["scan".to_string(), "scanner".to_string()];
        let t = Tagger::new(&[], &words).unwrap();
        let e = t.tag(Some("scanner.scan.example"), None).unwrap();
        assert_eq!(e.matched, ["scan", "scanner"]);
    }

    #[test]
    fn empty_keyword_is_rejected() {
        let err = Tagger::new(&["ok".into(), " ".into()], &[]).unwrap_err();
        assert_eq!((err.list, err.index), (List::Ua, 1));
    }

    #[test]
    fn keyword_in_both_lists_keeps_both_sources() {
        // `internet-measurement.com` is in both default lists: a PTR and a UA that both
        // carry it are evidence from both sources, with the keyword listed once.
        let t = defaults();
        let e = t
            .tag(
                Some("scan-7.internet-measurement.com"),
                Some("Mozilla/5.0 (compatible; internet-measurement.com crawler)"),
            )
            .unwrap();
        assert!(e.dns && e.ua, "{e:?}");
        assert_eq!(e.matched, ["internet-measurement.com"]);
        let ua_only = t
            .tag(None, Some("internet-measurement.com crawler"))
            .unwrap();
        assert!(!ua_only.dns && ua_only.ua);
    }
}
