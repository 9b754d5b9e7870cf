//! Target `attacks`: attack decoding and tagging (`logenrich_policy::decode`,
//! `logenrich_policy::attacks`). Every field is decoded (`\xHH`, percent-encoding, round
//! after round) and scanned by the compiled rules behind their literal gate; each rule's
//! hit is compared with an ungated search of the same regex over the decoded text (the
//! gate must never drop a match, and the evidence is the leftmost match).
//!
//! Input: a mode byte, then the text. With mode bit 0 the first line is a user rule's
//! pattern (compiled as `attack-rule.fuzz`, on every field) and the rest is the text;
//! otherwise the built-in rules scan it.

use std::borrow::Cow;

use logenrich_policy::attacks::{
    Attacks, DEFAULT_FIELDS, Field, Hits, MAX_EVIDENCE, RuleSpec, Scratch, normalize,
};
use logenrich_policy::attacks_rules::DEFAULT_RULES;
use regex_automata::meta::Regex;

/// A rule compiled twice: by the policy, and on its own as the oracle.
struct Oracle {
    fields: Vec<Field>,
    regex: Regex,
}

/// The regex of `pattern` as the policy's rules are built (the policy's own
/// `rule_regex`), searched without any gate.
fn oracle(pattern: &str) -> Option<Regex> {
    logenrich_policy::attacks::rule_regex(pattern).ok()
}

thread_local! {
    static DEFAULTS: (Attacks, Vec<Oracle>) = {
        let specs: Vec<RuleSpec> = DEFAULT_RULES.iter().map(RuleSpec::builtin).collect();
        let oracles = specs
            .iter()
            .map(|s| Oracle {
                fields: s.fields.clone(),
                regex: oracle(&s.pattern).expect("a built-in rule compiles"),
            })
            .collect();
        (Attacks::new(&specs).expect("the built-in rules compile"), oracles)
    };
}

/// The evidence of a match as the policy writes it: at most [`MAX_EVIDENCE`] bytes, cut
/// at a character boundary.
fn evidence(bytes: &[u8]) -> Cow<'_, str> {
    let mut cut = bytes.len().min(MAX_EVIDENCE);
    while cut > 0 && cut < bytes.len() && bytes[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    String::from_utf8_lossy(&bytes[..cut])
}

/// Checks the decoder's contract on `text`.
fn check_decode(text: &[u8]) {
    let (mut decoded, mut temp) = (Vec::new(), Vec::new());
    let out = normalize(text, &mut decoded, &mut temp).to_vec();
    assert!(out.len() <= text.len(), "decoding never lengthens");
    if !text.contains(&b'%') && !text.contains(&b'\\') {
        assert_eq!(out, text, "nothing to decode: the text itself");
    }
    // Reused buffers (as a scan's scratch is) give the same result.
    let again = normalize(text, &mut decoded, &mut temp);
    assert_eq!(again, &out[..], "decoding with reused buffers");
}

/// Scans `text` as every field and compares the hits with the oracles.
fn scan(attacks: &Attacks, oracles: &[Oracle], text: &str) {
    let mut scratch = Scratch::default();
    let mut hits = Hits::default();
    let (mut decoded, mut temp) = (Vec::new(), Vec::new());
    let normalized = normalize(text.as_bytes(), &mut decoded, &mut temp);
    for field in Field::ALL {
        hits.clear();
        attacks.scan(field, text, &mut scratch, &mut hits);
        let got: Vec<(&str, &str)> = hits
            .iter()
            .map(|(h, e)| {
                assert_eq!(h.field, field);
                (attacks.rule_id(h.rule), e)
            })
            .collect();
        let want: Vec<(&str, Cow<'_, str>)> = oracles
            .iter()
            .enumerate()
            .filter(|(_, o)| o.fields.contains(&field))
            .filter_map(|(i, o)| {
                let m = o.regex.find(normalized)?;
                Some((attacks.rule_id(i as u16), evidence(&normalized[m.range()])))
            })
            .collect();
        let want: Vec<(&str, &str)> = want.iter().map(|(r, e)| (*r, e.as_ref())).collect();
        assert_eq!(got, want, "hits of {field:?} in {text:?}");
    }
}

/// The target's body.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    check_decode(rest);
    if mode & 1 == 0 {
        let text = String::from_utf8_lossy(rest);
        DEFAULTS.with(|(attacks, oracles)| scan(attacks, oracles, &text));
        return;
    }
    let (pattern, text) = crate::first_line(rest);
    let Ok(pattern) = std::str::from_utf8(pattern) else {
        return; // a setting is a string
    };
    let fields = if mode & 2 == 0 {
        Field::ALL.to_vec()
    } else {
        DEFAULT_FIELDS.to_vec()
    };
    let spec = RuleSpec {
        id: "fuzz".into(),
        fields: fields.clone(),
        pattern: pattern.into(),
        description: String::new(),
        reference: String::new(),
    };
    let Ok(attacks) = Attacks::new(std::slice::from_ref(&spec)) else {
        return;
    };
    let regex = oracle(pattern).expect("a pattern the policy compiles compiles");
    let text = String::from_utf8_lossy(text);
    scan(&attacks, &[Oracle { fields, regex }], &text);
}
