//! The literal gate of the attack rules: the prefix literals of each pattern (extracted by
//! `regex-syntax`), and their compaction into a small set for one Aho-Corasick automaton.
//! Every match of a rule starts with one of its literals, so a field without any of them
//! needs no regex at all, and a match can only start where one of them starts.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind};
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::attacks_teddy::Teddy;

/// The prefix literals of a pattern, lower-cased; `None` when it has none (a match may
/// start anywhere with anything).
///
/// They are extracted from the pattern parsed case-*sensitively*, then lower-cased, and
/// compared with the text ASCII case-insensitively. That is a sound gate for the
/// case-insensitive regex: wherever it matches a letter `t` (literally or by a class),
/// `t` or its other case is in the pattern, so the lower-cased literal equals the
/// lower-cased text. Parsing case-insensitively instead would multiply the literals
/// (`jndi` → 16 variants) until the extractor cuts them short.
pub(crate) fn prefix_literals(pattern: &str) -> Result<Option<Vec<Vec<u8>>>, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(false)
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    // Classes of more than 4 bytes (`\s`, `\d`) end a literal rather than multiply it.
    let seq = Extractor::new()
        .kind(ExtractKind::Prefix)
        .limit_class(4)
        .extract(&hir);
    let Some(literals) = seq.literals() else {
        return Ok(None);
    };
    if literals.iter().any(|l| l.as_bytes().is_empty()) {
        return Ok(None);
    }
    let mut lower: Vec<Vec<u8>> = literals
        .iter()
        .map(|l| l.as_bytes().to_ascii_lowercase())
        .collect();
    lower.sort();
    lower.dedup();
    // A literal that starts with another one adds nothing to the gate. Sorted, such a
    // literal follows its prefix (or another literal sharing that prefix).
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(lower.len());
    for lit in lower {
        if !kept.iter().any(|k| lit.starts_with(k)) {
            kept.push(lit);
        }
    }
    Ok(Some(kept))
}

/// The longest literal kept in the prefilter: a prefix of a prefix literal is still one.
pub(crate) const MAX_LITERAL: usize = 4;

/// A rule behind a prefilter literal, with its whole prefix literal (lower case): a hit of
/// the short literal becomes a candidate position only where the whole one follows.
pub(crate) type Entry = (u16, Box<[u8]>);

/// Makes the prefilter's literals few and short (a smaller automaton) from `(literal,
/// rule)` pairs: each is cut to [`MAX_LITERAL`] bytes, and a literal that starts with
/// another one is dropped (its rules join the shorter one's). Both steps keep the gate
/// sound: a field that contains a literal contains its prefix. Each rule keeps its whole
/// literal ([`Entry`]), so a short one costs no extra regex searches.
///
/// Literals are not cut below four bytes: merging the crowded two-byte prefixes (`/.`
/// for `/.env` and `/.git`, `/b` for `/bin` and `/boaform`) made a smaller automaton, but
/// `/.` and `/b` occur in a tenth of all requests, and each such field then paid the
/// overlapping pass (component, bench corpus: 80 % of untagged throughput with them, 84 %
/// without).
fn compact(literals: Vec<(Vec<u8>, u16)>) -> (Vec<Vec<u8>>, Vec<Vec<Entry>>) {
    let mut pairs: Vec<(Vec<u8>, Entry)> = literals
        .into_iter()
        .map(|(whole, rule)| {
            let short = whole[..whole.len().min(MAX_LITERAL)].to_vec();
            (short, (rule, whole.into_boxed_slice()))
        })
        .collect();
    pairs.sort();
    let mut kept: Vec<(Vec<u8>, Vec<Entry>)> = Vec::with_capacity(pairs.len());
    for (lit, entry) in pairs {
        match kept.iter_mut().find(|(k, _)| lit.starts_with(k)) {
            Some((_, entries)) => {
                if !entries.contains(&entry) {
                    entries.push(entry);
                }
            }
            None => kept.push((lit, vec![entry])),
        }
    }
    kept.into_iter().unzip()
}

/// The gate of one set of rules (those that apply to a field): their literals in one
/// case-insensitive Aho-Corasick DFA, and for each literal its rules with their whole
/// literals. Fields with the same rules share a gate; a field with few rules gets a small
/// one (X-Forwarded-For: only `${` and `()` among the built-in rules, found with `memchr`).
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    dfa: DFA,
    entries: Vec<Vec<Entry>>,
    starts: Starts,
    /// The vector filter of the literals, for a gate without a `memchr` shortcut.
    #[cfg_attr(
        not(any(test, all(target_arch = "wasm32", target_feature = "simd128"))),
        expect(dead_code, reason = "native builds search with the DFA")
    )]
    teddy: Option<Teddy>,
}

/// The first bytes of a gate's literals (in either case), when they are few enough to
/// look for with `memchr`.
#[derive(Debug, Clone, Copy)]
enum Starts {
    One(u8),
    Two(u8, u8),
    Three(u8, u8, u8),
    Any,
}

impl Gate {
    /// The gate of `(literal, rule)` pairs; `None` without literals.
    pub(crate) fn new(literals: Vec<(Vec<u8>, u16)>) -> Result<Option<Self>, String> {
        let (literals, entries) = compact(literals);
        if literals.is_empty() {
            return Ok(None);
        }
        // The literals' first bytes in either case: with at most three of them, a
        // `memchr` skips to the first (with more, as for the request's gate, which
        // starts with `/`, `.` and letters, it cost a third more than the DFA alone).
        let mut starts: Vec<u8> = literals
            .iter()
            .flat_map(|l| [l[0].to_ascii_lowercase(), l[0].to_ascii_uppercase()])
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let starts = match starts[..] {
            [a] => Starts::One(a),
            [a, b] => Starts::Two(a, b),
            [a, b, c] => Starts::Three(a, b, c),
            _ => Starts::Any,
        };
        // The DFA itself rather than `AhoCorasick`: calls into it are static, not through
        // a `dyn` automaton.
        let dfa = DFA::builder()
            .match_kind(MatchKind::Standard)
            // The literals are lower case; the text is matched as it is, without a
            // lower-cased copy.
            .ascii_case_insensitive(true)
            .prefilter(false)
            .build(&literals)
            .map_err(|e| format!("cannot build the prefilter: {e}"))?;
        // Only the component and the tests search with the vector filter.
        let vectors = cfg!(any(
            test,
            all(target_arch = "wasm32", target_feature = "simd128")
        ));
        let teddy = match starts {
            Starts::Any if vectors => Teddy::new(&literals),
            _ => None,
        };
        Ok(Some(Self {
            dfa,
            entries,
            starts,
            teddy,
        }))
    }

    /// Appends `(rule, position)` for every place in `text` where one of the gate's
    /// whole literals starts.
    ///
    /// In the component, a field of at least [`Teddy::WINDOW`] bytes goes through the
    /// vector filter ([`crate::attacks_teddy`]). Otherwise one pass of the DFA's
    /// transitions, written here rather than the crate's searches: the fields are short
    /// (a request is 30 bytes on average) and the crate's earliest search, then its
    /// overlapping one, set up input, start state and prefilter twice per field
    /// (natively 113–122 ns a distinct request of the bench corpus, 104–111 ns with one
    /// pass). A gate whose literals start with at most three distinct bytes first skips
    /// to the first of them with `memchr`.
    pub(crate) fn candidates(&self, text: &[u8], out: &mut Vec<(u16, u32)>) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if let Some(teddy) = &self.teddy
            && text.len() >= Teddy::WINDOW
        {
            teddy.find::<crate::attacks_teddy::simd128::Simd>(text, |pattern, at| {
                self.confirm(pattern, text, at, out);
            });
            return;
        }
        self.dfa_candidates(text, out);
    }

    /// [`Self::candidates`] by the DFA.
    fn dfa_candidates(&self, text: &[u8], out: &mut Vec<(u16, u32)>) {
        let from = match self.starts {
            Starts::Any => Some(0),
            Starts::One(a) => memchr::memchr(a, text),
            Starts::Two(a, b) => memchr::memchr2(a, b, text),
            Starts::Three(a, b, c) => memchr::memchr3(a, b, c, text),
        };
        let Some(from) = from else {
            return;
        };
        let dfa = &self.dfa;
        // Built with unanchored starts only: this does not fail.
        let Ok(mut sid) = dfa.start_state(Anchored::No) else {
            return;
        };
        for (i, &byte) in text.iter().enumerate().skip(from) {
            sid = dfa.next_state(Anchored::No, sid, byte);
            // Without a prefilter only the match states are special (an unanchored
            // search has no dead state).
            if !dfa.is_special(sid) || !dfa.is_match(sid) {
                continue;
            }
            for k in 0..dfa.match_len(sid) {
                let pattern = dfa.match_pattern(sid, k);
                let at = i + 1 - dfa.pattern_len(pattern);
                self.confirm(pattern.as_u32() as u16, text, at, out);
            }
        }
    }

    /// Appends `(rule, at)` for each rule behind literal `pattern` (found at `at`) whose
    /// whole literal starts there.
    fn confirm(&self, pattern: u16, text: &[u8], at: usize, out: &mut Vec<(u16, u32)>) {
        let rest = &text[at..];
        out.extend(
            self.entries[usize::from(pattern)]
                .iter()
                .filter(|(_, whole)| {
                    rest.get(..whole.len())
                        .is_some_and(|t| t.eq_ignore_ascii_case(whole))
                })
                .map(|(r, _)| (*r, u32::try_from(at).unwrap_or(u32::MAX))),
        );
    }

    /// The candidates of the vector filter run on [`Portable`] lanes where it applies
    /// (else the DFA's), sorted: what the component finds.
    #[cfg(test)]
    pub(crate) fn portable_candidates(&self, text: &[u8]) -> Vec<(u16, u32)> {
        let mut out = Vec::new();
        match &self.teddy {
            Some(teddy) if text.len() >= Teddy::WINDOW => {
                teddy.find::<crate::attacks_teddy::Portable>(text, |pattern, at| {
                    self.confirm(pattern, text, at, &mut out);
                });
            }
            _ => self.dfa_candidates(text, &mut out),
        }
        out.sort_unstable();
        out
    }

    /// The DFA's candidates, sorted.
    #[cfg(test)]
    pub(crate) fn dfa_only(&self, text: &[u8]) -> Vec<(u16, u32)> {
        let mut out = Vec::new();
        self.dfa_candidates(text, &mut out);
        out.sort_unstable();
        out
    }

    /// Whether the gate has a vector filter.
    #[cfg(test)]
    pub(crate) fn has_teddy(&self) -> bool {
        self.teddy.is_some()
    }

    /// The number of literals in the DFA.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether some literal of the gate leads to `rule`.
    #[cfg(test)]
    pub(crate) fn reaches(&self, rule: u16) -> bool {
        self.entries.iter().flatten().any(|(r, _)| *r == rule)
    }
}
