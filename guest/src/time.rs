//! Access-log timestamps: `%d/%b/%Y:%H:%M:%S %z` in, RFC 3339 UTC out (with the `time` crate).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A request time: the instant, and the UTC offset as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTime<'a> {
    /// The instant, in the offset of the log.
    pub instant: OffsetDateTime,
    /// The offset as written, e.g. `+0200`.
    pub offset: &'a str,
}

impl LogTime<'_> {
    /// The instant in UTC as RFC 3339, e.g. `2022-07-19T11:23:20Z`.
    pub fn utc_rfc3339(&self) -> String {
        self.instant
            .to_offset(UtcOffset::UTC)
            .format(&Rfc3339)
            .unwrap_or_else(|e| format!("unformattable time: {e}"))
    }
}

/// Parses `19/Jul/2022:13:23:20 +0200`.
pub fn parse_log_time(text: &str) -> Result<LogTime<'_>, String> {
    let format = format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    let instant = OffsetDateTime::parse(text, &format)
        .map_err(|e| format!("{text:?} is not like 19/Jul/2022:13:23:20 +0200 ({e})"))?;
    let offset = text.rsplit_once(' ').map_or("", |(_, o)| o);
    Ok(LogTime { instant, offset })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_utc() {
        let t = parse_log_time("19/Jul/2022:13:23:20 +0200").unwrap();
        assert_eq!(t.utc_rfc3339(), "2022-07-19T11:23:20Z");
        assert_eq!(t.offset, "+0200");
    }

    #[test]
    fn crosses_midnight_and_year() {
        let t = parse_log_time("01/Jan/2023:00:30:00 +0100").unwrap();
        assert_eq!(t.utc_rfc3339(), "2022-12-31T23:30:00Z");
        let t = parse_log_time("31/Dec/2022:20:00:00 -0530").unwrap();
        assert_eq!(t.utc_rfc3339(), "2023-01-01T01:30:00Z");
    }

    #[test]
    fn rejects_bad_times() {
        for bad in [
            "",
            "19/Jul/2022:13:23:20",
            "32/Jul/2022:13:23:20 +0200",
            "19/Jux/2022:13:23:20 +0200",
            "19/Jul/2022 13:23:20 +0200",
            "19/Jul/2022:25:23:20 +0200",
        ] {
            assert!(parse_log_time(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
