//! Target `config`: the TOML configuration file (`cli/src/config.rs`, compiled into this
//! crate as [`crate::cli_config`]): `FileConfig::parse`, then what the CLI's plan does
//! next with the values that are checked there (nameservers, seconds, the custom format
//! strings compiled by the policy).
//!
//! Input: the file's text (bytes that are not UTF-8 are replaced, as a file read as text
//! would be refused instead).

use logenrich_policy::logformat::{Dialect, LogFormat};

use crate::cli_config::{FileConfig, parse_nameserver, seconds};

/// The target's body.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let config = match FileConfig::parse(&text) {
        Ok(c) => c,
        Err(e) => {
            assert!(!e.contains('\n'), "the error is one line: {e:?}");
            return;
        }
    };
    for ns in &config.dns.nameservers {
        let _ = parse_nameserver(ns);
    }
    for (field, secs) in [
        ("dns.timeout", config.dns.timeout),
        ("deadline", config.deadline),
    ] {
        if let Some(secs) = secs
            && let Ok(d) = seconds(field, secs)
        {
            assert!(d.as_secs_f64() > 0.0 && d.as_secs_f64() <= 3600.0);
        }
    }
    if let Some(f) = &config.log_format {
        let _ = LogFormat::new(f, Dialect::Nginx);
    }
    if let Some(f) = &config.apache_format {
        let _ = LogFormat::new(f, Dialect::Apache);
    }
}
