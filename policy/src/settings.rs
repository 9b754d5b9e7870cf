//! Configuration as named settings: the defaults, validation (an error names the setting),
//! and the compiled [`Filter`] used per batch.
//!
//! Settings are named values rather than a fixed record so that a 0.2.x component can add
//! a setting without breaking hosts written for 0.2.0 (see the WIT `setting`).

use crate::attacks::{ATTACK_RULE, AttackSettings, Attacks, RuleSpec};
use crate::attacks_rules::DEFAULT_RULES;
use crate::dnsbl::Zone;
use crate::parse::Format;
use crate::scanner::{DEFAULT_DNS_KEYWORDS, DEFAULT_UA_KEYWORDS, Tagger};

/// A setting's value (the WIT `setting-value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// On or off.
    Flag(bool),
    /// One word.
    Text(String),
    /// A list of words.
    Texts(Vec<String>),
    /// Key → value pairs, in order.
    Table(Vec<(String, String)>),
}

impl Value {
    fn shape(&self) -> &'static str {
        match self {
            Value::Flag(_) => "flag",
            Value::Text(_) => "text",
            Value::Texts(_) => "texts",
            Value::Table(_) => "table",
        }
    }
}

/// One named setting (the WIT `setting`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// Its name, e.g. `format`.
    pub name: String,
    /// Its value.
    pub value: Value,
}

impl Setting {
    /// A setting from a name and a value.
    pub fn new(name: impl Into<String>, value: Value) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

/// A configuration the policy cannot use (the WIT `config-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting at fault, with a position inside it, e.g. `ua-keywords[3]`.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// The prefix of the per-zone code table settings, `dnsbl-codes.ZONE`.
pub const DNSBL_CODES: &str = "dnsbl-codes.";

/// A validated, compiled configuration.
#[derive(Debug, Clone)]
pub struct Filter {
    /// The line layout.
    pub format: Format,
    /// Reverse DNS on.
    pub reverse_dns: bool,
    /// GeoIP on.
    pub geoip: bool,
    /// The compiled keyword lists.
    pub tagger: Tagger,
    /// The DNSBL zones, in the configured order, with their code tables.
    pub zones: Vec<Zone>,
    /// The compiled attack rules; `None` when attack tagging is off.
    pub attacks: Option<Attacks>,
}

fn texts(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

/// Every setting with its default value, in documentation order.
pub fn defaults() -> Vec<Setting> {
    let mut settings = vec![
        Setting::new("format", Value::Text("auto".into())),
        Setting::new("reverse-dns", Value::Flag(true)),
        Setting::new("geoip", Value::Flag(true)),
        Setting::new("ua-keywords", Value::Texts(texts(DEFAULT_UA_KEYWORDS))),
        Setting::new("dns-keywords", Value::Texts(texts(DEFAULT_DNS_KEYWORDS))),
        Setting::new("extra-ua-keywords", Value::Texts(Vec::new())),
        Setting::new("extra-dns-keywords", Value::Texts(Vec::new())),
        Setting::new("dnsbl-zones", Value::Texts(Vec::new())),
        Setting::new(
            format!("{DNSBL_CODES}zen.spamhaus.org"),
            Value::Table(
                crate::dnsbl::ZEN_CODES
                    .iter()
                    .map(|(a, m)| (a.to_string(), m.to_string()))
                    .collect(),
            ),
        ),
        Setting::new("attacks", Value::Flag(true)),
        Setting::new("attack-defaults", Value::Flag(true)),
        Setting::new("attack-disable", Value::Texts(Vec::new())),
    ];
    settings.extend(DEFAULT_RULES.iter().map(|r| {
        Setting::new(
            format!("{ATTACK_RULE}{}", r.id),
            Value::Table(RuleSpec::builtin(r).to_table()),
        )
    }));
    settings
}

/// The settings after overrides, before compiling.
struct Raw {
    format: String,
    reverse_dns: bool,
    geoip: bool,
    ua: Vec<String>,
    dns: Vec<String>,
    extra_ua: Vec<String>,
    extra_dns: Vec<String>,
    zones: Vec<String>,
    codes: Vec<(String, Vec<(String, String)>)>,
    attacks: AttackSettings,
}

fn wrong_shape(s: &Setting, want: &str) -> ConfigError {
    ConfigError {
        field: s.name.clone(),
        reason: format!("expected a {want} value, got a {}", s.value.shape()),
    }
}

impl Raw {
    fn apply(&mut self, s: &Setting) -> Result<(), ConfigError> {
        let texts = |target: &mut Vec<String>| match &s.value {
            Value::Texts(v) => {
                *target = v.clone();
                Ok(())
            }
            _ => Err(wrong_shape(s, "texts")),
        };
        let flag = |target: &mut bool| match &s.value {
            Value::Flag(v) => {
                *target = *v;
                Ok(())
            }
            _ => Err(wrong_shape(s, "flag")),
        };
        match s.name.as_str() {
            "format" => match &s.value {
                Value::Text(v) => {
                    self.format = v.clone();
                    Ok(())
                }
                _ => Err(wrong_shape(s, "text")),
            },
            "reverse-dns" => flag(&mut self.reverse_dns),
            "geoip" => flag(&mut self.geoip),
            "ua-keywords" => texts(&mut self.ua),
            "dns-keywords" => texts(&mut self.dns),
            "extra-ua-keywords" => texts(&mut self.extra_ua),
            "extra-dns-keywords" => texts(&mut self.extra_dns),
            "dnsbl-zones" => texts(&mut self.zones),
            "attacks" => flag(&mut self.attacks.enabled),
            "attack-defaults" => flag(&mut self.attacks.defaults),
            "attack-disable" => texts(&mut self.attacks.disable),
            name if name.starts_with(ATTACK_RULE) => match &s.value {
                Value::Table(t) => {
                    let id = &name[ATTACK_RULE.len()..];
                    self.attacks.rules.retain(|(r, _)| r != id);
                    self.attacks.rules.push((id.to_string(), t.clone()));
                    Ok(())
                }
                _ => Err(wrong_shape(s, "table")),
            },
            name if name.starts_with(DNSBL_CODES) => match &s.value {
                Value::Table(t) => {
                    let zone = normalize_zone(&name[DNSBL_CODES.len()..]);
                    self.codes.retain(|(z, _)| *z != zone);
                    self.codes.push((zone, t.clone()));
                    Ok(())
                }
                _ => Err(wrong_shape(s, "table")),
            },
            _ => Err(ConfigError {
                field: s.name.clone(),
                reason: format!(
                    "unknown setting (this component implements logenrich:filter@{})",
                    crate::CONTRACT_VERSION
                ),
            }),
        }
    }
}

fn normalize_zone(zone: &str) -> String {
    zone.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `base` followed by `extra`, with the position of a bad keyword in the combined list
/// mapped back to the setting it came from.
fn keywords(
    base: Vec<String>,
    extra: Vec<String>,
    base_name: &str,
    extra_name: &str,
) -> (Vec<String>, impl Fn(usize) -> String) {
    let n = base.len();
    let mut all = base;
    all.extend(extra);
    let (base_name, extra_name) = (base_name.to_string(), extra_name.to_string());
    let field = move |i: usize| {
        if i < n {
            format!("{base_name}[{i}]")
        } else {
            format!("{extra_name}[{}]", i - n)
        }
    };
    (all, field)
}

impl Filter {
    /// The defaults overridden by `settings` (a later value of the same name wins),
    /// validated and compiled.
    pub fn new(settings: &[Setting]) -> Result<Self, ConfigError> {
        let mut raw = Raw {
            format: "auto".into(),
            reverse_dns: true,
            geoip: true,
            ua: texts(DEFAULT_UA_KEYWORDS),
            dns: texts(DEFAULT_DNS_KEYWORDS),
            extra_ua: Vec::new(),
            extra_dns: Vec::new(),
            zones: Vec::new(),
            codes: Vec::new(),
            attacks: AttackSettings::default(),
        };
        for s in settings {
            raw.apply(s)?;
        }
        let format = match raw.format.as_str() {
            "auto" => Format::Auto,
            "honeypot" => Format::Honeypot,
            "combined" => Format::Combined,
            "common" => Format::Common,
            other => {
                return Err(ConfigError {
                    field: "format".into(),
                    reason: format!("{other:?} is not a format (auto, honeypot, combined, common)"),
                });
            }
        };
        let (ua, ua_field) = keywords(raw.ua, raw.extra_ua, "ua-keywords", "extra-ua-keywords");
        let (dns, dns_field) =
            keywords(raw.dns, raw.extra_dns, "dns-keywords", "extra-dns-keywords");
        let tagger = Tagger::new(&ua, &dns).map_err(|e| ConfigError {
            field: match e.list {
                crate::scanner::List::Ua => ua_field(e.index),
                crate::scanner::List::Dns => dns_field(e.index),
            },
            reason: e.reason,
        })?;

        let mut zones: Vec<Zone> = Vec::with_capacity(raw.zones.len());
        for (i, name) in raw.zones.iter().enumerate() {
            let key = normalize_zone(name);
            let codes = raw
                .codes
                .iter()
                .find(|(z, _)| *z == key)
                .map(|(_, c)| c.as_slice())
                .unwrap_or_default();
            let zone = Zone::new(name, codes).map_err(|(code, reason)| ConfigError {
                field: match code {
                    None => format!("dnsbl-zones[{i}]"),
                    Some(c) => format!("{DNSBL_CODES}{key}[{c}]"),
                },
                reason,
            })?;
            if zones
                .iter()
                .any(|other| other.name.eq_ignore_ascii_case(&zone.name))
            {
                return Err(ConfigError {
                    field: format!("dnsbl-zones[{i}]"),
                    reason: format!("zone {} is listed twice", zone.name),
                });
            }
            zones.push(zone);
        }
        let attacks = raw
            .attacks
            .compile()
            .map_err(|(field, reason)| ConfigError { field, reason })?;
        Ok(Self {
            format,
            reverse_dns: raw.reverse_dns,
            geoip: raw.geoip,
            tagger,
            zones,
            attacks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts_of(l: &[&str]) -> Value {
        Value::Texts(texts(l))
    }

    #[test]
    fn defaults_round_trip() {
        let f = Filter::new(&defaults()).unwrap();
        assert_eq!(f.format, Format::Auto);
        assert!(f.reverse_dns && f.geoip && f.zones.is_empty());
        assert!(Filter::new(&[]).is_ok());
    }

    #[test]
    fn unknown_setting_is_named() {
        let e = Filter::new(&[Setting::new("colour", Value::Flag(true))]).unwrap_err();
        assert_eq!(e.field, "colour");
        assert!(e.reason.contains("unknown setting"), "{}", e.reason);
    }

    #[test]
    fn wrong_shape_is_named() {
        let e = Filter::new(&[Setting::new("geoip", Value::Text("yes".into()))]).unwrap_err();
        assert_eq!(e.field, "geoip");
        assert!(e.reason.contains("flag"), "{}", e.reason);
    }

    #[test]
    fn bad_format_value() {
        let e = Filter::new(&[Setting::new("format", Value::Text("csv".into()))]).unwrap_err();
        assert_eq!(e.field, "format");
    }

    #[test]
    fn keyword_errors_point_into_the_right_list() {
        let e =
            Filter::new(&[Setting::new("extra-ua-keywords", texts_of(&["ok", " "]))]).unwrap_err();
        assert_eq!(e.field, "extra-ua-keywords[1]");
        let e = Filter::new(&[Setting::new("dns-keywords", texts_of(&["", "x"]))]).unwrap_err();
        assert_eq!(e.field, "dns-keywords[0]");
    }

    #[test]
    fn zones_with_codes_and_builtins() {
        let f = Filter::new(&[
            Setting::new(
                "dnsbl-zones",
                texts_of(&["zen.spamhaus.org", "bl.example.org."]),
            ),
            Setting::new(
                "dnsbl-codes.bl.example.org",
                Value::Table(vec![("127.0.0.2".into(), "spam".into())]),
            ),
        ])
        .unwrap();
        assert_eq!(f.zones.len(), 2);
        assert_eq!(f.zones[1].name, "bl.example.org");
        let v = f.zones[1].decode(&["127.0.0.2".parse().unwrap()], None);
        assert_eq!(v.meanings, ["spam"]);
        let v = f.zones[0].decode(&["127.0.0.4".parse().unwrap()], None);
        assert!(v.meanings[0].starts_with("XBL"), "{:?}", v.meanings);
    }

    #[test]
    fn attack_settings_compile_or_name_the_rule() {
        let f = Filter::new(&defaults()).unwrap();
        assert_eq!(f.attacks.as_ref().unwrap().len(), DEFAULT_RULES.len());
        let f = Filter::new(&[Setting::new("attacks", Value::Flag(false))]).unwrap();
        assert!(f.attacks.is_none());
        let e = Filter::new(&[Setting::new(
            "attack-rule.mine",
            Value::Table(vec![("pattern".into(), "a(".into())]),
        )])
        .unwrap_err();
        assert_eq!(e.field, "attack-rule.mine");
        let e = Filter::new(&[Setting::new("attack-rule.mine", Value::Flag(true))]).unwrap_err();
        assert!(e.reason.contains("table"), "{}", e.reason);
        let e = Filter::new(&[Setting::new(
            "attack-disable",
            Value::Texts(vec!["xss".into(), "nope".into()]),
        )])
        .unwrap_err();
        assert_eq!(e.field, "attack-disable[1]");
    }

    #[test]
    fn zone_errors_are_named() {
        let e = Filter::new(&[
            Setting::new("dnsbl-zones", texts_of(&["bl.example.org"])),
            Setting::new(
                "dnsbl-codes.bl.example.org",
                Value::Table(vec![
                    ("127.0.0.2".into(), "ok".into()),
                    ("nope".into(), "bad".into()),
                ]),
            ),
        ])
        .unwrap_err();
        assert_eq!(e.field, "dnsbl-codes.bl.example.org[1]");
        let e = Filter::new(&[Setting::new(
            "dnsbl-zones",
            texts_of(&["ok.example", &"x".repeat(300)]),
        )])
        .unwrap_err();
        assert_eq!(e.field, "dnsbl-zones[1]");
        let e = Filter::new(&[Setting::new(
            "dnsbl-zones",
            texts_of(&["a.example", "A.example."]),
        )])
        .unwrap_err();
        assert!(e.reason.contains("twice"), "{}", e.reason);
    }
}
