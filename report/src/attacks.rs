//! Attack tags (contract 0.3's `attacks`, README § Attack tags): lines by rule, the clients
//! behind them, and the first few example matches of each rule.
//!
//! Rule ids come from the run's configuration (a few dozen), but the input may be any JSON
//! Lines, so the table of rules is a [`Bounded`] one like the targets'. The matches are
//! attacker-controlled text: each is cut to [`MAX_TEXT`](crate::record::MAX_TEXT) bytes,
//! at most [`EXAMPLES`] are kept per rule, and they reach the page only as JSON data that
//! the page's script puts in as text.

use serde_json::{Value, json};

use crate::record::{Attack, Batch};
use crate::topk::{Bounded, Tally, Weight};

/// Distinct rules kept (far more than any configuration has).
const RULE_CAP: usize = 1_000;
/// Distinct example matches kept per rule.
pub const EXAMPLES: usize = 3;

/// The lines of one rule.
#[derive(Debug, Default, Clone)]
pub struct RuleTally {
    /// Lines tagged with the rule (once per line, however many fields matched) and the
    /// clients that sent them (an error record has none).
    pub tally: Tally,
    /// The first distinct `(field, match)` pairs, at most [`EXAMPLES`].
    pub examples: Vec<(Box<str>, Box<str>)>,
}

impl Weight for RuleTally {
    fn weight(&self) -> u64 {
        self.tally.requests
    }
}

/// Attack tags by rule.
#[derive(Debug)]
pub struct Attacks {
    /// By rule id.
    pub rules: Bounded<String, RuleTally>,
    /// Lines with at least one tag.
    pub lines: u64,
    /// Of those, error records (lines that did not parse, so no client).
    pub unparsed: u64,
}

impl Default for Attacks {
    fn default() -> Self {
        Attacks {
            rules: Bounded::new(RULE_CAP),
            lines: 0,
            unparsed: 0,
        }
    }
}

impl Attacks {
    /// Folds in the tags of one line: `client` is the sender, `None` for an error record.
    pub fn add(&mut self, text: &Batch, attacks: &[Attack], client: Option<u32>) {
        if attacks.is_empty() {
            return;
        }
        self.lines += 1;
        self.unparsed += u64::from(client.is_none());
        for (i, a) in attacks.iter().enumerate() {
            let rule = text.get(a.rule);
            let first = !attacks[..i].iter().any(|b| text.get(b.rule) == rule);
            let t = self.rules.entry(rule);
            if first {
                t.tally.requests += 1;
                if let Some(c) = client {
                    t.tally.clients.insert(c);
                }
            }
            if t.examples.len() < EXAMPLES {
                let field = a.field.map_or("", |f| text.get(f));
                let matched = a.matched.map_or("", |m| text.get(m));
                if !t
                    .examples
                    .iter()
                    .any(|(f, m)| **f == *field && **m == *matched)
                {
                    t.examples.push((field.into(), matched.into()));
                }
            }
        }
    }

    /// The rows of the panel, as the other panels' rows are made.
    pub fn rows(&self) -> Vec<(String, Tally)> {
        self.rules
            .iter()
            .map(|(k, t)| (k.clone(), t.tally.clone()))
            .collect()
    }

    /// Appends each row's examples (`[[field, match], ...]`) to the panel's rows.
    pub fn add_examples(&self, panel: &mut Value) {
        let Some(rows) = panel["rows"].as_array_mut() else {
            return;
        };
        for row in rows {
            let examples = row[0]
                .as_str()
                .and_then(|rule| self.rules.iter().find(|(k, _)| k.as_str() == rule))
                .map_or_else(Vec::new, |(_, t)| {
                    t.examples.iter().map(|(f, m)| json!([f, m])).collect()
                });
            if let Some(r) = row.as_array_mut() {
                r.push(Value::Array(examples));
            }
        }
        panel["examples"] = json!(true);
    }

    /// The panel's note.
    pub fn note(&self) -> String {
        let mut note = String::from(
            "lines tagged with the rule (once per line); examples are the first distinct matches",
        );
        if self.unparsed > 0 {
            note.push_str(&format!(
                "; {} lines that did not parse (no client) are counted in requests",
                self.unparsed
            ));
        }
        if self.rules.dropped_values > 0 {
            note.push_str(&format!(
                "; {} rare rules were dropped to bound memory",
                self.rules.dropped_values
            ));
        }
        note
    }
}

#[cfg(test)]
mod tests {
    use crate::aggregate::Aggregate;
    use crate::record::parse_one;

    fn agg(lines: &[&str]) -> Aggregate {
        let mut a = Aggregate::default();
        for l in lines {
            a.add(parse_one(l.as_bytes(), &mut |_| false));
        }
        a
    }

    fn rule<'a>(a: &'a Aggregate, id: &str) -> &'a super::RuleTally {
        a.attacks
            .rules
            .iter()
            .find(|(k, _)| *k == id)
            .unwrap_or_else(|| panic!("no rule {id}"))
            .1
    }

    #[test]
    fn attacks_by_rule_with_clients_and_bounded_examples() {
        let jndi = |ip: &str, m: &str| {
            format!(
                r#"{{"ip":"{ip}","scanner":null,"attacks":[{{"rule":"log4j-jndi","field":"user_agent","match":"{m}"}},{{"rule":"log4j-jndi","field":"referer","match":"{m}"}},{{"rule":"xss","field":"user_agent","match":"<script>alert(1)</script>"}}]}}"#
            )
        };
        let mut lines = vec![
            jndi("192.0.2.1", "${jndi:ldap://a}"),
            jndi("192.0.2.1", "${jndi:ldap://a}"),
            jndi("192.0.2.2", "${jndi:ldap://b}"),
        ];
        for i in 0..10 {
            lines.push(jndi("192.0.2.3", &format!("${{jndi:ldap://x{i}}}")));
        }
        // No `attacks` key (contract 0.2), an empty list, and null.
        lines.push(r#"{"ip":"192.0.2.4","scanner":null}"#.into());
        lines.push(r#"{"ip":"192.0.2.4","scanner":null,"attacks":[]}"#.into());
        lines.push(r#"{"ip":"192.0.2.4","scanner":null,"attacks":null}"#.into());
        // An error record with a `raw` tag: counted, with no client.
        lines.push(
            r#"{"line":9,"error":{"column":null,"reason":"expected a method"},"raw":"\u0016\u0003\u0001","attacks":[{"rule":"tls-handshake","field":"raw","match":"\u0016\u0003\u0001"}]}"#
                .into(),
        );
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let a = agg(&refs);
        let t = a.totals();
        assert_eq!((t.records, t.errors, t.clients), (16, 1, 4));

        let j = rule(&a, "log4j-jndi");
        assert_eq!(j.tally.requests, 13, "once per line, not per field");
        assert_eq!(j.tally.clients.len(), 3);
        assert_eq!(j.examples.len(), super::EXAMPLES);
        assert_eq!(
            (&*j.examples[0].0, &*j.examples[0].1),
            ("user_agent", "${jndi:ldap://a}")
        );
        assert_eq!(&*j.examples[1].0, "referer");
        let x = rule(&a, "xss");
        assert_eq!((x.tally.requests, x.tally.clients.len()), (13, 3));
        assert_eq!(x.examples.len(), 1, "the same match is kept once");

        let tls = rule(&a, "tls-handshake");
        assert_eq!((tls.tally.requests, tls.tally.clients.len()), (1, 0));
        assert_eq!(&*tls.examples[0].1, "\u{16}\u{3}\u{1}");
        assert_eq!((a.attacks.lines, a.attacks.unparsed), (14, 1));
        assert_eq!(a.attacks.rules.iter().count(), 3);

        // The panel: rows by requests, each with its clients and examples.
        let panels = crate::panels::panels(&a);
        let p = panels
            .iter()
            .find(|p| p["id"] == "attacks")
            .expect("an attacks panel");
        assert_eq!(p["examples"], true);
        let rows = p["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2][0], "tls-handshake");
        assert_eq!((&rows[2][1], &rows[2][2]), (&1.into(), &0.into()));
        assert_eq!(rows[2][4], serde_json::json!([["raw", "\u{16}\u{3}\u{1}"]]));
        assert_eq!(rows[0][4].as_array().unwrap().len(), super::EXAMPLES);
        assert!(
            p["note"]
                .as_str()
                .unwrap()
                .contains("1 lines that did not parse")
        );
    }

    #[test]
    fn long_matches_are_cut() {
        let m = "A".repeat(5000);
        let line = format!(
            r#"{{"ip":"192.0.2.1","attacks":[{{"rule":"sql-injection","field":"target","match":"{m}"}}]}}"#
        );
        let a = agg(&[&line]);
        let ex = &rule(&a, "sql-injection").examples[0].1;
        assert!(ex.len() <= crate::record::MAX_TEXT + '…'.len_utf8() && ex.ends_with('…'));
    }
}
