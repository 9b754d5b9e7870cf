//! Attack tags: which attack rules a record's fields match, with the matched text as
//! evidence.
//!
//! A rule is data ([`RuleSpec`]): an id, the fields it looks at, a regular expression, a
//! description and a reference. The built-in set is in [`crate::attacks_rules`]; settings
//! add rules, replace them or drop the built-ins ([`AttackSettings`]).
//!
//! Matching sees through encoding: a field is first [normalized](crate::decode::normalize) (nginx's
//! `\xHH` escapes and percent-encoding undone, repeatedly, at most
//! [`MAX_DECODE_ROUNDS`] times) and the rules match the decoded bytes ASCII
//! case-insensitively. So `%24%7Bjndi:`, `%252e%252e%252f` and `\x16\x03\x01` are seen
//! as `${jndi:`, `../` and the bytes of a TLS record.
//!
//! Speed: every pattern's prefix literals are extracted with `regex-syntax` when the rules
//! are compiled and put in Aho-Corasick automata, one per set of rules a field has (the
//! private `attacks_literals` module). A field is scanned once by its automaton; only the rules
//! whose whole literals occur in the field run their regex, as an anchored search at the
//! positions where the literals start. A rule without such literals (a pattern
//! starting with `.*`) runs unanchored on every field it names. Patterns are the regex
//! crate's syntax, compiled by its engine (`regex-automata`'s meta regex, used directly
//! for the anchored searches).

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

use crate::attacks_literals::{Gate, prefix_literals};
use crate::attacks_rules::BuiltinRule;
pub use crate::attacks_settings::{ATTACK_RULE, AttackSettings};
pub use crate::decode::{MAX_DECODE_ROUNDS, normalize};

/// A rule's pattern compiled as the rules are: ASCII case-insensitive, over bytes (no
/// Unicode, no UTF-8 requirement), its NFA at most 1 MiB; the error is the engine's
/// message.
pub fn rule_regex(pattern: &str) -> Result<Regex, String> {
    Regex::builder()
        .syntax(
            regex_automata::util::syntax::Config::new()
                .case_insensitive(true)
                .unicode(false)
                .utf8(false),
        )
        .configure(
            Regex::config()
                .utf8_empty(false)
                .nfa_size_limit(Some(1 << 20)),
        )
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// The longest evidence written, in bytes (cut at a character boundary).
pub const MAX_EVIDENCE: usize = 128;

/// A field a rule can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// The request line, as logged (method, target and protocol).
    Request,
    /// The request target alone.
    Target,
    /// The User-Agent.
    UserAgent,
    /// The Referer.
    Referer,
    /// The X-Forwarded-For field, as logged.
    Forwarded,
    /// Every value of `extra` (fields of a custom format the schema has no key for).
    Extra,
    /// An error-log line's message.
    Message,
    /// The whole line, for a line that does not parse.
    Raw,
}

impl Field {
    /// Every field, in output order.
    pub const ALL: [Field; 8] = [
        Field::Request,
        Field::Target,
        Field::UserAgent,
        Field::Referer,
        Field::Forwarded,
        Field::Extra,
        Field::Message,
        Field::Raw,
    ];

    /// The name written in a record's `attacks[].field` and used in settings.
    pub fn name(self) -> &'static str {
        match self {
            Field::Request => "request",
            Field::Target => "target",
            Field::UserAgent => "user_agent",
            Field::Referer => "referer",
            Field::Forwarded => "forwarded",
            Field::Extra => "extra",
            Field::Message => "message",
            Field::Raw => "raw",
        }
    }

    /// The field of a name (`x_forwarded_for` is accepted for `forwarded`).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("x_forwarded_for") {
            return Some(Field::Forwarded);
        }
        Field::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A rule as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// The id written as `attacks[].rule`: letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// The fields it looks at.
    pub fields: Vec<Field>,
    /// The regular expression (regex crate syntax; bytes; ASCII case-insensitive).
    pub pattern: String,
    /// What a match means.
    pub description: String,
    /// Where the rule comes from (CVE, RFC, article).
    pub reference: String,
}

/// The fields of a rule given without `fields`.
pub const DEFAULT_FIELDS: &[Field] = &[
    Field::Request,
    Field::UserAgent,
    Field::Referer,
    Field::Forwarded,
    Field::Extra,
    Field::Message,
];

impl RuleSpec {
    /// A built-in rule as a spec.
    pub fn builtin(r: &BuiltinRule) -> Self {
        Self {
            id: r.id.into(),
            fields: r.fields.to_vec(),
            pattern: r.pattern.into(),
            description: r.description.into(),
            reference: r.reference.into(),
        }
    }

    /// A rule from its `attack-rule.ID` table: `pattern` (required), `fields`
    /// (comma-separated names, default [`DEFAULT_FIELDS`]), `description`, `reference`.
    /// The error says which key is wrong.
    pub fn from_table(id: &str, table: &[(String, String)]) -> Result<Self, String> {
        check_id(id)?;
        let mut spec = Self {
            id: id.into(),
            fields: DEFAULT_FIELDS.to_vec(),
            pattern: String::new(),
            description: String::new(),
            reference: String::new(),
        };
        let mut has_pattern = false;
        for (key, value) in table {
            match key.as_str() {
                "pattern" => {
                    spec.pattern = value.clone();
                    has_pattern = true;
                }
                "fields" => {
                    spec.fields = value
                        .split(',')
                        .filter(|f| !f.trim().is_empty())
                        .map(|f| {
                            Field::from_name(f).ok_or_else(|| {
                                format!(
                                    "fields: {:?} is not a field (request, target, user_agent, \
                                     referer, forwarded, extra, message, raw)",
                                    f.trim()
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    if spec.fields.is_empty() {
                        return Err("fields: no field named".into());
                    }
                }
                "description" => spec.description = value.clone(),
                "reference" => spec.reference = value.clone(),
                other => {
                    return Err(format!(
                        "{other:?} is not a rule key (pattern, fields, description, reference)"
                    ));
                }
            }
        }
        if !has_pattern {
            return Err("pattern: missing".into());
        }
        Ok(spec)
    }

    /// The spec as its `attack-rule.ID` table.
    pub fn to_table(&self) -> Vec<(String, String)> {
        let fields: Vec<&str> = self.fields.iter().map(|f| f.name()).collect();
        vec![
            ("pattern".into(), self.pattern.clone()),
            ("fields".into(), fields.join(",")),
            ("description".into(), self.description.clone()),
            ("reference".into(), self.reference.clone()),
        ]
    }
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err("a rule id is 1 to 64 characters".into());
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(format!(
            "rule id {id:?}: use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// A rule that does not compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule's id.
    pub id: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone)]
struct Compiled {
    id: String,
    /// `id` as a JSON string, written once per hit.
    id_json: Box<[u8]>,
    fields: u8,
    regex: Regex,
}

/// The compiled rules.
#[derive(Debug, Clone)]
pub struct Attacks {
    rules: Vec<Compiled>,
    /// The literal gates (see [`crate::attacks_literals`]): one per distinct set of rules
    /// that apply to a field.
    gates: Vec<Gate>,
    /// Each field's gate (by `Field as usize`), `None` when no rule with literals
    /// applies to it.
    gate_of: [Option<u8>; Field::ALL.len()],
    /// Rules without prefix literals: run on every field they name.
    unanchored: Vec<u16>,
    /// The fields any rule looks at.
    fields: u8,
}

/// One rule matching one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The rule's index (see [`Attacks::rule_id`]).
    pub rule: u16,
    /// The field.
    pub field: Field,
    /// Where the matched text (decoded, at most [`MAX_EVIDENCE`] bytes) is in its
    /// [`Hits`]' text.
    evidence: std::ops::Range<usize>,
}

/// The hits of one or more scans, their evidence kept in one buffer (no allocation per
/// hit once the buffers have grown).
#[derive(Debug, Default)]
pub struct Hits {
    list: Vec<Hit>,
    text: String,
}

impl Hits {
    /// Drops every hit.
    pub fn clear(&mut self) {
        self.list.clear();
        self.text.clear();
    }

    /// No hit.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Each hit, in order, with its evidence.
    pub fn iter(&self) -> impl Iterator<Item = (&Hit, &str)> {
        self.list
            .iter()
            .map(|h| (h, &self.text[h.evidence.clone()]))
    }

    fn push(&mut self, rule: u16, field: Field, matched: &[u8]) {
        let start = self.text.len();
        self.text.push_str(&evidence(matched));
        self.list.push(Hit {
            rule,
            field,
            evidence: start..self.text.len(),
        });
    }
}

/// Buffers reused from field to field.
#[derive(Debug, Default)]
pub struct Scratch {
    decoded: Vec<u8>,
    temp: Vec<u8>,
    /// `(rule, position)`: where a rule's literal starts (`u32::MAX`: a rule without
    /// literals, searched unanchored).
    candidates: Vec<(u16, u32)>,
}

impl Attacks {
    /// Compiles the rules; the error names the rule.
    pub fn new(specs: &[RuleSpec]) -> Result<Self, RuleError> {
        let mut rules = Vec::with_capacity(specs.len());
        let mut literals: Vec<Vec<Vec<u8>>> = Vec::with_capacity(specs.len());
        let mut unanchored = Vec::new();
        let mut fields = 0u8;
        if specs.len() > usize::from(u16::MAX) {
            return Err(RuleError {
                id: String::new(),
                reason: "too many rules".into(),
            });
        }
        for (index, spec) in specs.iter().enumerate() {
            let err = |reason: String| RuleError {
                id: spec.id.clone(),
                reason,
            };
            check_id(&spec.id).map_err(err)?;
            let regex = rule_regex(&spec.pattern).map_err(|e| err(format!("pattern: {e}")))?;
            let index = index as u16;
            match prefix_literals(&spec.pattern).map_err(|e| err(format!("pattern: {e}")))? {
                None => {
                    unanchored.push(index);
                    literals.push(Vec::new());
                }
                Some(lits) => literals.push(lits),
            }
            let mask = spec.fields.iter().fold(0u8, |m, f| m | f.bit());
            fields |= mask;
            let mut id_json = Vec::new();
            crate::json::str(&mut id_json, &spec.id);
            rules.push(Compiled {
                id: spec.id.clone(),
                id_json: id_json.into(),
                fields: mask,
                regex,
            });
        }
        let (gates, gate_of) = gates(&rules, &literals).map_err(|reason| RuleError {
            id: String::new(),
            reason,
        })?;
        Ok(Self {
            rules,
            gates,
            gate_of,
            unanchored,
            fields,
        })
    }

    /// The id of rule `index`.
    pub fn rule_id(&self, index: u16) -> &str {
        &self.rules[usize::from(index)].id
    }

    /// The id of rule `index` as a JSON string (quoted, escaped).
    pub fn rule_id_json(&self, index: u16) -> &[u8] {
        &self.rules[usize::from(index)].id_json
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether any rule looks at `field`.
    pub fn wants(&self, field: Field) -> bool {
        self.fields & field.bit() != 0
    }

    /// The ids of the rules that have no prefix literal (each runs on every field).
    pub fn unanchored(&self) -> impl Iterator<Item = &str> {
        self.unanchored.iter().map(|&i| self.rule_id(i))
    }

    /// Appends a [`Hit`] per rule that matches `text` as `field`, in rule order.
    pub fn scan(&self, field: Field, text: &str, scratch: &mut Scratch, out: &mut Hits) {
        if !self.wants(field) {
            return;
        }
        let Scratch {
            decoded,
            temp,
            candidates,
        } = scratch;
        let text = normalize(text.as_bytes(), decoded, temp);
        candidates.clear();
        let bit = field.bit();
        let applies = |r: &u16| self.rules[usize::from(*r)].fields & bit != 0;
        if let Some(gate) = self.gate_of[field as usize] {
            self.gates[usize::from(gate)].candidates(text, candidates);
        }
        candidates.extend(
            self.unanchored
                .iter()
                .filter(|r| applies(r))
                .map(|&r| (r, u32::MAX)),
        );
        if candidates.is_empty() {
            return;
        }
        candidates.sort_unstable();
        candidates.dedup();
        // Every match starts where one of its rule's literals does: an anchored search
        // at each such position, leftmost first, finds the leftmost match without the
        // unanchored forward-then-reverse scan.
        let mut done: Option<u16> = None;
        for &(rule, at) in candidates.iter() {
            if done == Some(rule) {
                continue;
            }
            let regex = &self.rules[usize::from(rule)].regex;
            let found = if at == u32::MAX {
                regex.find(text)
            } else {
                regex.search(
                    &Input::new(text)
                        .range(at as usize..)
                        .anchored(Anchored::Yes),
                )
            };
            if let Some(m) = found {
                out.push(rule, field, &text[m.range()]);
                done = Some(rule);
            }
        }
    }
}

/// The gates of `rules` (with their prefix `literals`, empty for a rule without): fields
/// whose rules with literals are the same share one.
fn gates(
    rules: &[Compiled],
    literals: &[Vec<Vec<u8>>],
) -> Result<(Vec<Gate>, [Option<u8>; Field::ALL.len()]), String> {
    let mut sets: Vec<Vec<u16>> = Vec::new();
    let mut gates = Vec::new();
    let mut gate_of = [None; Field::ALL.len()];
    for field in Field::ALL {
        let set: Vec<u16> = (0..rules.len() as u16)
            .filter(|&r| rules[usize::from(r)].fields & field.bit() != 0)
            .filter(|&r| !literals[usize::from(r)].is_empty())
            .collect();
        if set.is_empty() {
            continue;
        }
        if let Some(at) = sets.iter().position(|s| *s == set) {
            gate_of[field as usize] = u8::try_from(at).ok();
            continue;
        }
        let pairs = set
            .iter()
            .flat_map(|&r| literals[usize::from(r)].iter().map(move |l| (l.clone(), r)))
            .collect();
        if let Some(gate) = Gate::new(pairs)? {
            gate_of[field as usize] = u8::try_from(gates.len()).ok();
            sets.push(set);
            gates.push(gate);
        }
    }
    Ok((gates, gate_of))
}

/// The matched bytes as text, cut to [`MAX_EVIDENCE`] bytes at a character boundary.
fn evidence(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let mut cut = bytes.len().min(MAX_EVIDENCE);
    while cut > 0 && cut < bytes.len() && bytes[cut] & 0xC0 == 0x80 {
        cut -= 1;
    }
    String::from_utf8_lossy(&bytes[..cut])
}

#[cfg(test)]
#[path = "attacks_tests.rs"]
mod tests;
