//! The run's plan: flags merged with the config file and checked (limits, DNS, DNSBL
//! zones, GeoIP databases), and the component settings it makes.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use clap::ValueEnum;

use crate::config::{self, FileConfig};
use logenrich::{Setting, SettingValue};
use logenrich_dns::DnsSettings;
use logenrich_geoip as geoip;

use super::args::{EnrichArgs, Format};

/// A DNSBL zone and its code table (empty: the component's built-in one, if any).
pub(crate) struct Zone {
    pub(crate) zone: String,
    pub(crate) codes: Vec<(String, String)>,
}

/// `value` if it is within `range`, else a usage error naming the setting.
pub(crate) fn in_range<T>(
    name: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> anyhow::Result<T>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(anyhow!(
            "invalid setting {name}: {value} is outside {}..={}",
            range.start(),
            range.end()
        ))
    }
}

/// Everything decided from flags + file.
pub(crate) struct Plan {
    pub(crate) file: FileConfig,
    pub(crate) batch_size: usize,
    pub(crate) batch_bytes: usize,
    pub(crate) instances: usize,
    pub(crate) linger: Duration,
    pub(crate) deadline: Option<Duration>,
    pub(crate) memory_mib: usize,
    pub(crate) max_line_bytes: usize,
    pub(crate) max_failed_batches: u64,
    pub(crate) dns: Option<DnsSettings>,
    /// `--cache-db`: the file and its size bound in bytes.
    pub(crate) cache_db: Option<(PathBuf, u64)>,
    /// `--shared-cache`: the bucket's URL (checked).
    pub(crate) shared_cache: Option<String>,
    pub(crate) dnsbl: Vec<Zone>,
    pub(crate) geoip: Vec<PathBuf>,
    pub(crate) geoip_on: bool,
}

pub(crate) fn plan(args: &EnrichArgs) -> anyhow::Result<Plan> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let d = &file.dns;
    let mut dns = DnsSettings::default();
    let names = if args.nameserver.is_empty() {
        &d.nameservers
    } else {
        &args.nameserver
    };
    dns.nameservers = names
        .iter()
        .map(|n| config::parse_nameserver(n).map_err(|e| anyhow!("--nameserver: {e}")))
        .collect::<anyhow::Result<_>>()?;
    if let Some(t) = args.timeout.or(d.timeout) {
        dns.timeout = config::seconds("timeout", t)?;
    }
    if let Some(a) = args.attempts.or(d.attempts) {
        dns.attempts = in_range("attempts", a, 0..=10)?;
    }
    if let Some(c) = args.concurrency.or(d.concurrency) {
        dns.concurrency = in_range("concurrency", c, 1..=4096)?;
    }
    if let Some(c) = d.cache_size {
        dns.cache_size = c;
    }
    if let Some(s) = d.min_ttl {
        dns.min_ttl = Duration::from_secs(s);
    }
    if let Some(s) = d.max_ttl {
        dns.max_ttl = Duration::from_secs(s);
    }
    if let Some(s) = d.negative_ttl {
        dns.negative_ttl = Duration::from_secs(s);
    }
    if let Some(s) = d.failure_ttl {
        dns.failure_ttl = Duration::from_secs(in_range("dns.failure_ttl", s, 0..=3600)?);
    }
    let ptr_on = !args.no_dns && d.enabled.unwrap_or(true);
    let cache_db = match args.cache_db.clone().or_else(|| d.cache_db.clone()) {
        Some(path) => {
            let min = logenrich_dns::store::cachedb::MIN_BOUND >> 20;
            let mib = in_range(
                "dns.cache_db_max_mib",
                d.cache_db_max_mib.unwrap_or(1024),
                min..=1 << 20,
            )?;
            Some((path, mib << 20))
        }
        None => None,
    };
    let shared_cache = args.shared_cache.clone().or_else(|| d.shared_cache.clone());
    if let Some(url) = &shared_cache {
        crate::nats::kv::parse_url(url).map_err(|e| anyhow!("--shared-cache: {e}"))?;
    }

    let mut dnsbl: Vec<Zone> = file
        .dnsbl
        .iter()
        .map(|z| Zone {
            zone: z.zone.clone(),
            codes: z
                .codes
                .iter()
                .map(|(answer, meaning)| (answer.clone(), meaning.clone()))
                .collect(),
        })
        .collect();
    for zone in &args.dnsbl {
        if !dnsbl.iter().any(|z| z.zone.eq_ignore_ascii_case(zone)) {
            dnsbl.push(Zone {
                zone: zone.clone(),
                codes: Vec::new(),
            });
        }
    }
    let geoip_on = !args.no_geoip && file.geoip.enabled.unwrap_or(true);
    let geoip = if !args.geoip_db.is_empty() {
        args.geoip_db.clone()
    } else if !file.geoip.databases.is_empty() {
        file.geoip.databases.clone()
    } else {
        geoip::default_paths()
    };
    let batch_size = in_range(
        "batch_size",
        args.batch_size.or(file.batch_size).unwrap_or(2048),
        1..=1_000_000,
    )?;
    let instances = in_range(
        "instances",
        args.instances
            .or(file.instances)
            .unwrap_or_else(logenrich::default_instances),
        1..=256,
    )?;
    let linger = in_range(
        "linger",
        args.linger.or(file.linger_ms).unwrap_or(50),
        0..=60_000,
    )?;
    let deadline = match args.deadline.or(file.deadline).unwrap_or(10.0) {
        0.0 => None,
        secs => Some(config::seconds("deadline", secs)?),
    };
    let memory_mib = in_range(
        "max_memory",
        args.max_memory.or(file.max_memory_mib).unwrap_or(512),
        16..=65_536,
    )?;
    let max_failed_batches = in_range(
        "max_failed_batches",
        args.max_failed_batches
            .or(file.max_failed_batches)
            .unwrap_or(5),
        1..=1_000_000,
    )?;
    let max_line_bytes = in_range(
        "max_line_bytes",
        args.max_line_bytes
            .or(file.max_line_bytes)
            .unwrap_or(65_536),
        1024..=64 << 20,
    )?;
    let batch_bytes = batch_bytes(args, &file, memory_mib, max_line_bytes)?;
    Ok(Plan {
        max_line_bytes,
        batch_size,
        batch_bytes,
        instances,
        linger: Duration::from_millis(linger),
        deadline,
        memory_mib,
        max_failed_batches,
        dns: (ptr_on || !dnsbl.is_empty() || args.cymru).then_some(dns),
        cache_db,
        shared_cache,
        file,
        dnsbl,
        geoip,
        geoip_on,
    })
}

/// Bytes per batch: a batch of them (or one line of `max_line_bytes`) with the worst
/// escaping must fit an instance's memory.
fn batch_bytes(
    args: &EnrichArgs,
    file: &FileConfig,
    memory_mib: usize,
    max_line_bytes: usize,
) -> anyhow::Result<usize> {
    let fits = (memory_mib << 20) / logenrich::MEMORY_PER_BATCH_BYTE;
    let batch_bytes = args
        .batch_bytes
        .or(file.batch_bytes)
        .unwrap_or(fits.min(4 << 20));
    let batch_bytes = in_range("batch_bytes", batch_bytes, 1024..=1 << 30)?;
    for (name, bytes) in [
        ("batch_bytes", batch_bytes),
        ("max_line_bytes", max_line_bytes),
    ] {
        if bytes > fits {
            let need = (bytes * logenrich::MEMORY_PER_BATCH_BYTE).div_ceil(1 << 20);
            return Err(anyhow!(
                "invalid setting {name}: {bytes} bytes may need {need} MiB of an instance's \
                 memory (JSON escaping, worst case), more than max_memory ({memory_mib} MiB); \
                 lower {name} to {fits} or raise max_memory to {need} MiB",
            ));
        }
    }
    Ok(batch_bytes)
}

/// The component's settings from flags and file (only what the user set; the component
/// fills in its defaults).
pub(crate) fn settings(args: &EnrichArgs, plan: &Plan) -> anyhow::Result<Vec<Setting>> {
    let format = match (args.format, plan.file.format.as_deref()) {
        (Some(f), _) => f,
        (None, Some(text)) => Format::from_str(text, true).map_err(|_| {
            anyhow!("invalid setting format: {text:?} (auto, honeypot, combined, common)")
        })?,
        (None, None) => Format::Auto,
    };
    let format = match format {
        Format::Auto => "auto",
        Format::Honeypot => "honeypot",
        Format::Combined => "combined",
        Format::Common => "common",
    };
    let set = |name: &str, value| Setting {
        name: name.to_string(),
        value,
    };
    let mut out = vec![
        set("format", SettingValue::Text(format.into())),
        set(
            "reverse-dns",
            SettingValue::Flag(!args.no_dns && plan.file.dns.enabled.unwrap_or(true)),
        ),
        set(
            "geoip",
            SettingValue::Flag(plan.geoip_on && !plan.geoip.is_empty()),
        ),
    ];
    let s = &plan.file.scanner;
    if let Some(ua) = &s.ua_keywords {
        out.push(set("ua-keywords", SettingValue::Texts(ua.clone())));
    }
    if let Some(dns) = &s.dns_keywords {
        out.push(set("dns-keywords", SettingValue::Texts(dns.clone())));
    }
    if !s.extra_ua_keywords.is_empty() {
        out.push(set(
            "extra-ua-keywords",
            SettingValue::Texts(s.extra_ua_keywords.clone()),
        ));
    }
    if !s.extra_dns_keywords.is_empty() {
        out.push(set(
            "extra-dns-keywords",
            SettingValue::Texts(s.extra_dns_keywords.clone()),
        ));
    }
    let file = &plan.file;
    if let Some(f) = args.log_format.as_ref().or(file.log_format.as_ref()) {
        out.push(set("log-format", SettingValue::Text(f.clone())));
    }
    if let Some(f) = args.apache_format.as_ref().or(file.apache_format.as_ref()) {
        out.push(set("apache-format", SettingValue::Text(f.clone())));
    }
    let a = &file.attacks;
    if let Some(on) = a.enabled {
        out.push(set("attacks", SettingValue::Flag(on)));
    }
    if let Some(on) = a.defaults {
        out.push(set("attack-defaults", SettingValue::Flag(on)));
    }
    if !a.disable.is_empty() {
        out.push(set(
            "attack-disable",
            SettingValue::Texts(a.disable.clone()),
        ));
    }
    for rule in &a.rule {
        let mut table = vec![("pattern".to_owned(), rule.pattern.clone())];
        if !rule.fields.is_empty() {
            table.push(("fields".to_owned(), rule.fields.join(",")));
        }
        if let Some(d) = &rule.description {
            table.push(("description".to_owned(), d.clone()));
        }
        if let Some(r) = &rule.reference {
            table.push(("reference".to_owned(), r.clone()));
        }
        out.push(set(
            &format!("attack-rule.{}", rule.id),
            SettingValue::Table(table),
        ));
    }
    if args.cymru {
        out.push(set("cymru", SettingValue::Flag(true)));
    }
    // The component checks the value (`encoding` names the schema).
    if let Some(schema) = args.schema.as_ref().or(file.schema.as_ref()) {
        out.push(set("encoding", SettingValue::Text(schema.clone())));
    }
    if let Some(offset) = args
        .default_offset
        .as_ref()
        .or(file.default_offset.as_ref())
    {
        out.push(set("default-offset", SettingValue::Text(offset.clone())));
    }
    if args.event_original || file.event_original == Some(true) {
        out.push(set("event-original", SettingValue::Flag(true)));
    }
    for raw in &args.settings {
        let (name, value) = raw
            .split_once('=')
            .ok_or_else(|| anyhow!("--setting {raw:?}: expected NAME=VALUE"))?;
        let value = match value {
            "true" => SettingValue::Flag(true),
            "false" => SettingValue::Flag(false),
            text => SettingValue::Text(text.to_string()),
        };
        out.push(set(name, value));
    }
    // The zones themselves (`dnsbl-zones`) are set by `EnricherBuilder::dnsbl`, with the
    // host's allow-list of the same zones.
    if !plan.dnsbl.is_empty() {
        for z in plan.dnsbl.iter().filter(|z| !z.codes.is_empty()) {
            let name = format!("dnsbl-codes.{}", z.zone.trim_end_matches('.'));
            out.push(set(&name, SettingValue::Table(z.codes.clone())));
        }
    }
    Ok(out)
}
