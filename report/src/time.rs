//! Record times (RFC 3339 UTC, as the component writes them) to Unix seconds and back.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Unix seconds of an RFC 3339 time, `None` when it does not parse.
pub fn parse_utc(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// `YYYY-MM-DD HH:MM` UTC of Unix seconds.
pub fn label(secs: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => secs.to_string(),
    }
}

/// RFC 3339 of now.
pub fn now() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = parse_utc("2022-07-15T02:44:54Z").unwrap();
        assert_eq!(t, 1_657_853_094);
        assert_eq!(label(t), "2022-07-15 02:44");
        assert_eq!(parse_utc("yesterday"), None);
    }
}
