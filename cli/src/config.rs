//! The TOML configuration file (`--config FILE`): everything the flags set, plus keyword
//! lists and DNSBL code tables. Flags override it; both become the component's settings
//! and the runner's options (`command/plan.rs`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema; the message has line and column.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What and where, from the TOML parser.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("invalid setting {field}: {reason}")]
    Invalid {
        /// The setting, as `section.key`.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// The file's schema. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `auto`, `honeypot`, `combined` or `common`.
    pub format: Option<String>,
    /// `logenrich` or `ecs` (as `--schema`).
    pub schema: Option<String>,
    /// ECS records carry their line as `event.original` (as `--event-original`).
    pub event_original: Option<bool>,
    /// The offset of times logged without a zone (as `--default-offset`).
    pub default_offset: Option<String>,
    /// Lines per batch.
    pub batch_size: Option<usize>,
    /// Bytes of line data per batch.
    pub batch_bytes: Option<usize>,
    /// Component instances working on batches at once.
    pub instances: Option<usize>,
    /// Milliseconds without input before a partial batch is processed.
    pub linger_ms: Option<u64>,
    /// Seconds of guest time per call into the component.
    pub deadline: Option<f64>,
    /// Longest line processed, in bytes.
    pub max_line_bytes: Option<usize>,
    /// MiB of memory per component instance.
    pub max_memory_mib: Option<usize>,
    /// Failed batches in a row before the run stops.
    pub max_failed_batches: Option<u64>,
    /// Reverse DNS and resolver settings.
    #[serde(default)]
    pub dns: DnsSection,
    /// GeoIP settings.
    #[serde(default)]
    pub geoip: GeoSection,
    /// Scanner keyword lists.
    #[serde(default)]
    pub scanner: ScannerSection,
    /// DNSBL zones, in order.
    #[serde(default)]
    pub dnsbl: Vec<DnsblSection>,
    /// An nginx `log_format` string the lines are in (as `--log-format`).
    pub log_format: Option<String>,
    /// An Apache `LogFormat` string the lines are in (as `--apache-format`).
    pub apache_format: Option<String>,
    /// `[attacks]`.
    #[serde(default)]
    pub attacks: AttacksSection,
}

/// `[dns]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSection {
    /// Reverse DNS on or off (DNSBL needs the resolver but not this).
    pub enabled: Option<bool>,
    /// `IP` or `IP:PORT` nameservers; empty is the system configuration.
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Seconds per try.
    pub timeout: Option<f64>,
    /// Tries per query.
    pub attempts: Option<usize>,
    /// Lookups in flight.
    pub concurrency: Option<usize>,
    /// Cached outcomes per cache.
    pub cache_size: Option<usize>,
    /// TTL floor, seconds.
    pub min_ttl: Option<u64>,
    /// TTL ceiling, seconds.
    pub max_ttl: Option<u64>,
    /// Negative TTL, seconds.
    pub negative_ttl: Option<u64>,
    /// Seconds a failed lookup is remembered.
    pub failure_ttl: Option<u64>,
    /// The persistent lookup cache (`--cache-db`).
    pub cache_db: Option<PathBuf>,
    /// Its file-size bound, MiB.
    pub cache_db_max_mib: Option<u64>,
    /// The shared lookup cache (`--shared-cache`), `nats://HOST:PORT/BUCKET`.
    pub shared_cache: Option<String>,
}

/// `[geoip]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoSection {
    /// GeoIP on or off.
    pub enabled: Option<bool>,
    /// Database files; empty means the standard locations.
    #[serde(default)]
    pub databases: Vec<PathBuf>,
}

/// `[scanner]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerSection {
    /// Replaces the built-in User-Agent keywords.
    pub ua_keywords: Option<Vec<String>>,
    /// Replaces the built-in reverse-DNS keywords.
    pub dns_keywords: Option<Vec<String>>,
    /// Added to the User-Agent keywords.
    #[serde(default)]
    pub extra_ua_keywords: Vec<String>,
    /// Added to the reverse-DNS keywords.
    #[serde(default)]
    pub extra_dns_keywords: Vec<String>,
}

/// `[attacks]`: attack tags (the component's `attacks*` settings).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttacksSection {
    /// Tag attacks at all (default on).
    pub enabled: Option<bool>,
    /// Keep the built-in rules (default on); off: only `rule`s.
    pub defaults: Option<bool>,
    /// Built-in rule ids to leave out.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Rules added, or replacing a built-in rule of the same id.
    #[serde(default)]
    pub rule: Vec<AttackRule>,
}

/// `[[attacks.rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackRule {
    /// The rule's id, written in each match.
    pub id: String,
    /// A regular expression (the `regex` crate's syntax, ASCII, bytes).
    pub pattern: String,
    /// Fields it looks at (`request`, `target`, `user_agent`, `referer`, `forwarded`,
    /// `extra`, `raw`); default: the component's.
    #[serde(default)]
    pub fields: Vec<String>,
    /// What it detects.
    pub description: Option<String>,
    /// A CVE or source.
    pub reference: Option<String>,
}

/// `[[dnsbl]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsblSection {
    /// The zone, e.g. `zen.spamhaus.org`.
    pub zone: String,
    /// Answer → meaning; empty uses the component's built-in table for known zones.
    #[serde(default)]
    pub codes: BTreeMap<String, String>,
}

impl FileConfig {
    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses config text; the error has the TOML parser's line and column.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', " "))
    }
}

/// Parses `IP` or `IP:PORT` (`[v6]:PORT` for IPv6 with a port); the default port is 53.
pub fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("{text:?} is not IP or IP:PORT"))
}

/// Converts seconds to a duration, rejecting negative, zero or absurd values.
pub fn seconds(field: &str, secs: f64) -> Result<Duration, ConfigError> {
    if secs.is_finite() && secs > 0.0 && secs <= 3600.0 {
        Ok(Duration::from_secs_f64(secs))
    } else {
        Err(ConfigError::Invalid {
            field: field.into(),
            reason: format!("{secs} is not a number of seconds in (0, 3600]"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let c = FileConfig::parse(
            r#"
            format = "honeypot"
            batch_size = 1000
            [dns]
            nameservers = ["127.0.0.1:5353", "::1"]
            timeout = 0.5
            [geoip]
            databases = ["/tmp/a.mmdb"]
            [scanner]
            extra_ua_keywords = ["masscan"]
            [[dnsbl]]
            zone = "zen.spamhaus.org"
            [[dnsbl]]
            zone = "bl.example"
            codes = { "127.0.0.2" = "spam" }
            "#,
        )
        .unwrap();
        assert_eq!(c.format.as_deref(), Some("honeypot"));
        assert_eq!(c.dns.nameservers.len(), 2);
        assert_eq!(c.dnsbl[1].codes["127.0.0.2"], "spam");
        assert_eq!(c.scanner.extra_ua_keywords, ["masscan"]);
    }

    #[test]
    fn unknown_keys_are_errors_with_position() {
        let e = FileConfig::parse("[dns]\ntimeot = 1\n").unwrap_err();
        assert!(e.contains("timeot") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn nameservers_and_seconds() {
        assert_eq!(parse_nameserver("192.0.2.1").unwrap().port(), 53);
        assert_eq!(parse_nameserver("127.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(parse_nameserver("[::1]:54").unwrap().port(), 54);
        assert!(parse_nameserver("dns.example").is_err());
        assert!(seconds("dns.timeout", 0.0).is_err());
        assert!(seconds("dns.timeout", f64::NAN).is_err());
        assert_eq!(seconds("t", 0.25).unwrap(), Duration::from_millis(250));
    }
}
