//! The attack settings (`attacks`, `attack-defaults`, `attack-disable`,
//! `attack-rule.ID`) and the rule list they make.
//!
//! A host maps its users' TOML onto these settings, e.g.
//!
//! ```toml
//! [attacks]
//! enabled = true            # attacks (flag)
//! defaults = true           # attack-defaults (flag): keep the built-in rules
//! disable = ["xss"]         # attack-disable (texts)
//! [[attacks.rule]]          # each becomes attack-rule.<id> (table)
//! id = "wp-login"
//! fields = ["request"]      # table key "fields": "request" (comma-separated)
//! pattern = '/wp-login\.php'
//! description = "WordPress login probes"
//! reference = "https://example.org/advisory"
//! ```

use crate::attacks::{Attacks, RuleSpec};
use crate::attacks_rules::DEFAULT_RULES;

/// The attack settings, before compiling (see [`crate::settings`]).
#[derive(Debug, Clone)]
pub struct AttackSettings {
    /// `attacks` (flag): tag attacks at all. Default on.
    pub enabled: bool,
    /// `attack-defaults` (flag): keep the built-in rules. Default on.
    pub defaults: bool,
    /// `attack-disable` (texts): ids of rules to leave out.
    pub disable: Vec<String>,
    /// `attack-rule.ID` (table): rules added, or replacing the built-in rule of that id.
    pub rules: Vec<(String, Vec<(String, String)>)>,
}

/// The prefix of the per-rule settings, `attack-rule.ID`.
pub const ATTACK_RULE: &str = "attack-rule.";

impl Default for AttackSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            defaults: true,
            disable: Vec::new(),
            rules: Vec::new(),
        }
    }
}

impl AttackSettings {
    /// The rule list these settings make: the built-ins (unless dropped), each replaced
    /// by a configured rule of the same id, then the other configured rules in order,
    /// less the disabled ids. The error is `(setting name, reason)`.
    pub fn specs(&self) -> Result<Vec<RuleSpec>, (String, String)> {
        let mut specs: Vec<RuleSpec> = if self.defaults {
            DEFAULT_RULES.iter().map(RuleSpec::builtin).collect()
        } else {
            Vec::new()
        };
        for (id, table) in &self.rules {
            let spec =
                RuleSpec::from_table(id, table).map_err(|e| (format!("{ATTACK_RULE}{id}"), e))?;
            match specs.iter_mut().find(|s| s.id == spec.id) {
                Some(slot) => *slot = spec,
                None => specs.push(spec),
            }
        }
        for (i, id) in self.disable.iter().enumerate() {
            let before = specs.len();
            specs.retain(|s| s.id != *id);
            if specs.len() == before {
                return Err((
                    format!("attack-disable[{i}]"),
                    format!("no rule has the id {id:?}"),
                ));
            }
        }
        Ok(specs)
    }

    /// The compiled rules, `None` when tagging is off or no rule is left.
    pub fn compile(&self) -> Result<Option<Attacks>, (String, String)> {
        if !self.enabled {
            return Ok(None);
        }
        let specs = self.specs()?;
        if specs.is_empty() {
            return Ok(None);
        }
        let from_setting = |id: &str| self.rules.iter().any(|(r, _)| r == id);
        Attacks::new(&specs).map(Some).map_err(|e| {
            let field = if from_setting(&e.id) {
                format!("{ATTACK_RULE}{}", e.id)
            } else {
                "attacks".to_string()
            };
            (field, e.reason)
        })
    }
}
