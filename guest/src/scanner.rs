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
    /// Compiles a keyword list. Empty keywords are an error (they would match everything).
    pub fn new(words: &[String]) -> Result<Self, String> {
        if let Some(i) = words.iter().position(|w| w.trim().is_empty()) {
            return Err(format!("keyword {i} is empty"));
        }
        let automaton = if words.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(words)
                    .map_err(|e| format!("cannot compile keywords: {e}"))?,
            )
        };
        Ok(Self {
            words: words.to_vec(),
            automaton,
        })
    }

    /// Appends every keyword found in `haystack` to `out`, each at most once, in the
    /// order the keywords are listed.
    pub fn find_into(&self, haystack: &str, out: &mut Vec<String>) {
        let Some(ac) = &self.automaton else { return };
        let mut found: Vec<usize> = ac
            .find_overlapping_iter(haystack)
            .map(|m| m.pattern().as_usize())
            .collect();
        if found.is_empty() {
            return;
        }
        found.sort_unstable();
        found.dedup();
        for id in found {
            let word = &self.words[id];
            if !out.contains(word) {
                out.push(word.clone());
            }
        }
    }
}

/// Which sources matched and which keywords, `dns` before `ua`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The reverse-DNS name matched.
    pub dns: bool,
    /// The User-Agent matched.
    pub ua: bool,
    /// The matched keywords, DNS ones first.
    pub matched: Vec<String>,
}

/// The scanner tagger: a UA keyword list and a DNS keyword list.
#[derive(Debug, Clone)]
pub struct Tagger {
    ua: Keywords,
    dns: Keywords,
}

impl Tagger {
    /// Compiles both lists; the error names the list.
    pub fn new(ua: &[String], dns: &[String]) -> Result<Self, (&'static str, String)> {
        Ok(Self {
            ua: Keywords::new(ua).map_err(|e| ("ua-keywords", e))?,
            dns: Keywords::new(dns).map_err(|e| ("dns-keywords", e))?,
        })
    }

    /// Tags one record; `None` when nothing matched.
    pub fn tag(&self, ptr_name: Option<&str>, user_agent: Option<&str>) -> Option<Evidence> {
        let mut matched = Vec::new();
        if let Some(name) = ptr_name {
            self.dns.find_into(name, &mut matched);
        }
        let dns = !matched.is_empty();
        let before = matched.len();
        if let Some(ua) = user_agent {
            self.ua.find_into(ua, &mut matched);
        }
        let ua = matched.len() > before;
        (dns || ua).then_some(Evidence { dns, ua, matched })
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
        assert_eq!(err.0, "ua-keywords");
        assert!(err.1.contains("keyword 1"), "{}", err.1);
    }
}
