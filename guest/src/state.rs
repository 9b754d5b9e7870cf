//! The filter's configuration: defaults, validation, and the compiled form used per batch.

use crate::bindings::exports::logenrich::filter::filter::{
    Config, ConfigError, DnsblCode, DnsblZone, LogFormat,
};
use crate::dnsbl::Zone;
use crate::parse::Format;
use crate::scanner::{DEFAULT_DNS_KEYWORDS, DEFAULT_UA_KEYWORDS, Tagger};

/// The plain settings of a configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The line layout.
    pub format: Format,
    /// Reverse DNS on.
    pub enable_dns: bool,
    /// GeoIP on.
    pub enable_geoip: bool,
}

/// A validated, compiled configuration.
#[derive(Debug, Clone)]
pub struct State {
    /// Plain settings.
    pub settings: Settings,
    /// The compiled keyword lists.
    pub tagger: Tagger,
    /// The DNSBL zones with their code tables.
    pub zones: Vec<Zone>,
}

/// The built-in configuration.
pub fn default_config() -> Config {
    let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Config {
        format: LogFormat::Auto,
        ua_keywords: list(DEFAULT_UA_KEYWORDS),
        dns_keywords: list(DEFAULT_DNS_KEYWORDS),
        dnsbl_zones: Vec::new(),
        enable_dns: true,
        enable_geoip: true,
    }
}

/// A DNSBL zone entry with the built-in code table filled in, when known.
pub fn zone_with_builtin(zone: &str) -> DnsblZone {
    let codes = crate::dnsbl::builtin_codes(zone)
        .unwrap_or_default()
        .iter()
        .map(|(a, m)| DnsblCode {
            answer: a.to_string(),
            meaning: m.to_string(),
        })
        .collect();
    DnsblZone {
        zone: zone.to_string(),
        codes,
    }
}

impl State {
    /// Validates and compiles a configuration.
    pub fn new(cfg: &Config) -> Result<Self, ConfigError> {
        let tagger =
            Tagger::new(&cfg.ua_keywords, &cfg.dns_keywords).map_err(|(f, r)| ConfigError {
                field: f.to_string(),
                reason: r,
            })?;
        let mut zones: Vec<Zone> = Vec::with_capacity(cfg.dnsbl_zones.len());
        for (i, z) in cfg.dnsbl_zones.iter().enumerate() {
            let codes: Vec<(String, String)> = z
                .codes
                .iter()
                .map(|c| (c.answer.clone(), c.meaning.clone()))
                .collect();
            let zone = Zone::new(&z.zone, &codes).map_err(|(f, r)| ConfigError {
                field: format!("dnsbl-zones[{i}].{f}"),
                reason: r,
            })?;
            if zones
                .iter()
                .any(|other| other.name.eq_ignore_ascii_case(&zone.name))
            {
                return Err(ConfigError {
                    field: format!("dnsbl-zones[{i}].zone"),
                    reason: format!("zone {} is listed twice", zone.name),
                });
            }
            zones.push(zone);
        }
        Ok(Self {
            settings: Settings {
                format: match cfg.format {
                    LogFormat::Auto => Format::Auto,
                    LogFormat::Honeypot => Format::Honeypot,
                    LogFormat::Combined => Format::Combined,
                    LogFormat::Common => Format::Common,
                },
                enable_dns: cfg.enable_dns,
                enable_geoip: cfg.enable_geoip,
            },
            tagger,
            zones,
        })
    }
}
