//! The literal gate of the attack rules: the prefix literals of each pattern (extracted by
//! `regex-syntax`), and their compaction into a small set for one Aho-Corasick automaton.
//! Every match of a rule starts with one of its literals, so a field without any of them
//! needs no regex at all, and a match can only start where one of them starts.

use regex_syntax::hir::literal::{ExtractKind, Extractor};

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
const MAX_LITERAL: usize = 4;

/// Makes the prefilter's literals few and short (a smaller automaton): each is cut to
/// [`MAX_LITERAL`] bytes; literals that
/// share a two-byte prefix with punctuation in it (`$(cat`, `$(curl`, … or `../`, `..\`)
/// are replaced by that prefix when there are three or more; a literal that starts with
/// another one is dropped (its rules join the shorter one's). Every step keeps the gate
/// sound: a field that contains a literal contains its prefix.
pub(crate) fn compact(
    literals: Vec<Vec<u8>>,
    rules: Vec<Vec<u16>>,
) -> (Vec<Vec<u8>>, Vec<Vec<u16>>) {
    let mut pairs: Vec<(Vec<u8>, Vec<u16>)> = literals
        .into_iter()
        .map(|mut l| {
            l.truncate(MAX_LITERAL);
            l
        })
        .zip(rules)
        .collect();
    let punct_prefix = |l: &[u8]| {
        (l.len() > 2 && l[..2].iter().any(|b| !b.is_ascii_alphanumeric())).then(|| l[..2].to_vec())
    };
    let mut prefixes: Vec<Vec<u8>> = pairs.iter().filter_map(|(l, _)| punct_prefix(l)).collect();
    prefixes.sort();
    let crowded: Vec<Vec<u8>> = prefixes
        .chunk_by(|a, b| a == b)
        .filter(|group| group.len() >= 3)
        .map(|group| group[0].clone())
        .collect();
    for (lit, _) in &mut pairs {
        if punct_prefix(lit).is_some_and(|p| crowded.contains(&p)) {
            lit.truncate(2);
        }
    }
    pairs.sort();
    let mut kept: Vec<(Vec<u8>, Vec<u16>)> = Vec::with_capacity(pairs.len());
    for (lit, rules) in pairs {
        match kept.iter_mut().find(|(k, _)| lit.starts_with(k)) {
            Some((_, k_rules)) => {
                k_rules.extend(rules);
                k_rules.sort_unstable();
                k_rules.dedup();
            }
            None => kept.push((lit, rules)),
        }
    }
    kept.into_iter().unzip()
}
