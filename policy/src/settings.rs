//! Configuration as named settings: the defaults, validation (an error names the setting),
//! and the compiled [`Filter`] used per batch.
//!
//! Settings are named values rather than a fixed record so that a 0.2.x component can add
//! a setting without breaking hosts written for 0.2.0 (see the WIT `setting`).

use crate::attacks::{ATTACK_RULE, AttackSettings, Attacks, RuleSpec};
use crate::attacks_rules::DEFAULT_RULES;
use crate::dnsbl::Zone;
use crate::logformat::{Dialect, LogFormat};
use crate::parse::{Format, ParseError, Parsed, parse_line};
use crate::scanner::{DEFAULT_DNS_KEYWORDS, DEFAULT_UA_KEYWORDS, Tagger};
pub use logenrich_types::{Setting, SettingValue};

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
    /// The built-in line layout.
    pub format: Format,
    /// A custom layout (`log-format` or `apache-format`), used instead of `format`.
    pub custom: Option<LogFormat>,
    /// Reverse DNS on.
    pub reverse_dns: bool,
    /// GeoIP on.
    pub geoip: bool,
    /// Team Cymru origin lookups on.
    pub cymru: bool,
    /// The compiled keyword lists.
    pub tagger: Tagger,
    /// The DNSBL zones, in the configured order, with their code tables.
    pub zones: Vec<Zone>,
    /// The compiled attack rules; `None` when attack tagging is off.
    pub attacks: Option<Attacks>,
    /// Records in the Elastic Common Schema (`encoding` = `ecs`) instead of logenrich's.
    pub ecs: bool,
    /// ECS records carry the line as `event.original`.
    pub event_original: bool,
    /// The offset of times logged without a zone (`default-offset`); `None` for UTC.
    pub default_offset: Option<time::UtcOffset>,
}

fn texts(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

/// Every setting with its default value, in documentation order.
pub fn defaults() -> Vec<Setting> {
    let mut settings = vec![
        Setting::new("format", SettingValue::Text("auto".into())),
        Setting::new("log-format", SettingValue::Text(String::new())),
        Setting::new("apache-format", SettingValue::Text(String::new())),
        Setting::new("reverse-dns", SettingValue::Flag(true)),
        Setting::new("geoip", SettingValue::Flag(true)),
        Setting::new("cymru", SettingValue::Flag(false)),
        Setting::new("encoding", SettingValue::Text("logenrich".into())),
        Setting::new("event-original", SettingValue::Flag(false)),
        Setting::new("default-offset", SettingValue::Text(String::new())),
        Setting::new(
            "ua-keywords",
            SettingValue::Texts(texts(DEFAULT_UA_KEYWORDS)),
        ),
        Setting::new(
            "dns-keywords",
            SettingValue::Texts(texts(DEFAULT_DNS_KEYWORDS)),
        ),
        Setting::new("extra-ua-keywords", SettingValue::Texts(Vec::new())),
        Setting::new("extra-dns-keywords", SettingValue::Texts(Vec::new())),
        Setting::new("dnsbl-zones", SettingValue::Texts(Vec::new())),
        Setting::new(
            format!("{DNSBL_CODES}zen.spamhaus.org"),
            SettingValue::Table(
                crate::dnsbl::ZEN_CODES
                    .iter()
                    .map(|(a, m)| (a.to_string(), m.to_string()))
                    .collect(),
            ),
        ),
        Setting::new("attacks", SettingValue::Flag(true)),
        Setting::new("attack-defaults", SettingValue::Flag(true)),
        Setting::new("attack-disable", SettingValue::Texts(Vec::new())),
    ];
    settings.extend(DEFAULT_RULES.iter().map(|r| {
        Setting::new(
            format!("{ATTACK_RULE}{}", r.id),
            SettingValue::Table(RuleSpec::builtin(r).to_table()),
        )
    }));
    settings
}

/// The settings after overrides, before compiling.
struct Raw {
    format: String,
    log_format: String,
    apache_format: String,
    reverse_dns: bool,
    geoip: bool,
    cymru: bool,
    encoding: String,
    event_original: bool,
    default_offset: String,
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
            SettingValue::Texts(v) => {
                *target = v.clone();
                Ok(())
            }
            _ => Err(wrong_shape(s, "texts")),
        };
        let flag = |target: &mut bool| match &s.value {
            SettingValue::Flag(v) => {
                *target = *v;
                Ok(())
            }
            _ => Err(wrong_shape(s, "flag")),
        };
        let text = |target: &mut String| match &s.value {
            SettingValue::Text(v) => {
                *target = v.clone();
                Ok(())
            }
            _ => Err(wrong_shape(s, "text")),
        };
        match s.name.as_str() {
            "format" => text(&mut self.format),
            "log-format" => text(&mut self.log_format),
            "apache-format" => text(&mut self.apache_format),
            "reverse-dns" => flag(&mut self.reverse_dns),
            "geoip" => flag(&mut self.geoip),
            "cymru" => flag(&mut self.cymru),
            "encoding" => text(&mut self.encoding),
            "event-original" => flag(&mut self.event_original),
            "default-offset" => text(&mut self.default_offset),
            "ua-keywords" => texts(&mut self.ua),
            "dns-keywords" => texts(&mut self.dns),
            "extra-ua-keywords" => texts(&mut self.extra_ua),
            "extra-dns-keywords" => texts(&mut self.extra_dns),
            "dnsbl-zones" => texts(&mut self.zones),
            "attacks" => flag(&mut self.attacks.enabled),
            "attack-defaults" => flag(&mut self.attacks.defaults),
            // Also a text of comma-separated ids, so that a host's `NAME=VALUE` option
            // (the CLI's `--setting`) can give it.
            "attack-disable" => match &s.value {
                SettingValue::Text(t) => {
                    self.attacks.disable = t
                        .split(',')
                        .map(str::trim)
                        .filter(|id| !id.is_empty())
                        .map(str::to_string)
                        .collect();
                    Ok(())
                }
                _ => texts(&mut self.attacks.disable),
            },
            // A table, or a text that is the pattern alone (default fields).
            name if name.starts_with(ATTACK_RULE) => {
                let table = match &s.value {
                    SettingValue::Table(t) => t.clone(),
                    SettingValue::Text(pattern) => vec![("pattern".to_string(), pattern.clone())],
                    _ => return Err(wrong_shape(s, "table")),
                };
                let id = &name[ATTACK_RULE.len()..];
                self.attacks.rules.retain(|(r, _)| r != id);
                self.attacks.rules.push((id.to_string(), table));
                Ok(())
            }
            name if name.starts_with(DNSBL_CODES) => match &s.value {
                SettingValue::Table(t) => {
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
            log_format: String::new(),
            apache_format: String::new(),
            reverse_dns: true,
            geoip: true,
            cymru: false,
            encoding: "logenrich".into(),
            event_original: false,
            default_offset: String::new(),
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
        let ecs = match raw.encoding.as_str() {
            "logenrich" => false,
            "ecs" => true,
            other => {
                return Err(ConfigError {
                    field: "encoding".into(),
                    reason: format!("{other:?} is not an encoding (logenrich, ecs)"),
                });
            }
        };
        let default_offset =
            crate::time::parse_offset(&raw.default_offset).map_err(|reason| ConfigError {
                field: "default-offset".into(),
                reason,
            })?;
        let custom = custom_format(&raw.log_format, &raw.apache_format)?;
        if custom.is_some() && format != Format::Auto {
            return Err(ConfigError {
                field: "format".into(),
                reason: "a custom log-format or apache-format replaces the built-in layouts: \
                         leave format at auto"
                    .into(),
            });
        }
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
            custom,
            reverse_dns: raw.reverse_dns,
            geoip: raw.geoip,
            cymru: raw.cymru,
            tagger,
            zones,
            attacks,
            ecs,
            event_original: raw.event_original,
            default_offset,
        })
    }
}

/// The custom layout of `log-format` or `apache-format` (at most one may be set).
fn custom_format(nginx: &str, apache: &str) -> Result<Option<LogFormat>, ConfigError> {
    let (name, text, dialect) = match (nginx.trim().is_empty(), apache.trim().is_empty()) {
        (true, true) => return Ok(None),
        (false, false) => {
            return Err(ConfigError {
                field: "apache-format".into(),
                reason: "log-format is set too: give one custom format".into(),
            });
        }
        (false, true) => ("log-format", nginx, Dialect::Nginx),
        (true, false) => ("apache-format", apache, Dialect::Apache),
    };
    LogFormat::new(text, dialect)
        .map(Some)
        .map_err(|e| ConfigError {
            field: name.into(),
            reason: format!("column {}: {}", e.column, e.reason),
        })
}

impl Filter {
    /// Parses a line with the configured layout.
    pub fn parse<'a>(&'a self, line: &'a str) -> Result<Parsed<'a>, ParseError> {
        match &self.custom {
            Some(f) => f.parse(line),
            None => parse_line(line, self.format),
        }
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
