//! Access-log timestamps: `%d/%b/%Y:%H:%M:%S %z` parsed into an instant (with the `time`
//! crate). The encoder (`json::TimeWriter`) writes it as RFC 3339 UTC.

use time::macros::format_description;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::excerpt::Excerpt;

/// A request time: the instant, and the UTC offset as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogTime<'a> {
    /// The instant, in the offset of the log.
    pub instant: OffsetDateTime,
    /// The offset as written, e.g. `+0200`.
    pub offset: &'a str,
    /// The log wrote a local time with no zone (`[27/Jun/2013:11:55:44]`, an error log):
    /// `instant` assumed UTC, which the `default-offset` setting corrects.
    pub local: bool,
}

#[cfg(test)]
impl LogTime<'_> {
    /// The instant in UTC as RFC 3339 by the `time` crate, e.g. `2022-07-19T11:23:20Z`: the
    /// tests' reference for `json::TimeWriter`.
    pub fn utc_rfc3339(&self) -> String {
        self.instant
            .to_offset(UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| format!("unformattable time: {e}"))
    }
}

/// Parses `19/Jul/2022:13:23:20 +0200`, and the variants real servers and applications
/// write: a one-digit day (`1/Apr/2014:...`), a month in any case (`jul`, `JUL`), a zone
/// name `GMT`, `UTC` or `Z` instead of an offset (UTC), an offset with a colon
/// (`+02:00`), no zone at all (`27/Jun/2013:11:55:44`), read as UTC with no
/// `offset` in the record, and a month abbreviated in another language (`Okt`, `déc.`,
/// `ago`: glibc's abbreviations for de, fr, es, it, pt and nl).
pub fn parse_log_time(text: &str) -> Result<LogTime<'_>, String> {
    if let Some(instant) = parse_fixed(text) {
        let offset = text.rsplit_once(' ').map_or("", |(_, o)| o);
        return Ok(LogTime {
            instant,
            offset,
            local: false,
        });
    }
    parse_variant(text).ok_or_else(|| {
        parse_generic(text)
            .err()
            .unwrap_or_else(|| format!("{} is not like 19/Jul/2022:13:23:20 +0200", Excerpt(text)))
    })
}

/// The variants of [`parse_log_time`]; `None` when `text` is none of them.
fn parse_variant(text: &str) -> Option<LogTime<'_>> {
    let stamp_format = format_description!(
        "[day padding:none]/[month repr:short case_sensitive:false]/[year]:[hour]:[minute]:[second]"
    );
    let (stamp, zone) = text.split_once(' ').unwrap_or((text, ""));
    let local = PrimitiveDateTime::parse(stamp, &stamp_format)
        .ok()
        .or_else(|| {
            let (day, rest) = stamp.split_once('/')?;
            let (month, rest) = rest.split_once('/')?;
            let english = localised_month(month)?;
            PrimitiveDateTime::parse(&format!("{day}/{english}/{rest}"), &stamp_format).ok()
        })?;
    let offset = match zone {
        "" | "GMT" | "UTC" | "Z" => UtcOffset::UTC,
        _ => {
            let zone_format =
                format_description!("[offset_hour sign:mandatory][optional [:]][offset_minute]");
            UtcOffset::parse(zone, &zone_format).ok()?
        }
    };
    Some(LogTime {
        instant: local.assume_offset(offset),
        offset: zone,
        local: zone.is_empty(),
    })
}

/// Month abbreviations that `strftime("%b")` writes in other locales, by their English
/// ones: glibc's locale data (`LC_TIME` `abmon`) for de_DE and de_AT, fr_FR, es_ES, it_IT,
/// pt_BR and pt_PT, nl_NL (checked against Debian 12's `/usr/share/i18n/locales`), and
/// `mrz`, `fév`, `avr`, `aoû` of older releases; only those that differ from the
/// English. No abbreviation means different months in two of them.
const LOCALISED_MONTHS: [(&str, &str); 32] = [
    ("jän", "Jan"),
    ("janv", "Jan"),
    ("ene", "Jan"),
    ("gen", "Jan"),
    ("févr", "Feb"),
    ("fév", "Feb"),
    ("fev", "Feb"),
    ("mär", "Mar"),
    ("mrz", "Mar"),
    ("mars", "Mar"),
    ("mrt", "Mar"),
    ("avr", "Apr"),
    ("avril", "Apr"),
    ("abr", "Apr"),
    ("mai", "May"),
    ("mag", "May"),
    ("mei", "May"),
    ("juin", "Jun"),
    ("giu", "Jun"),
    ("juil", "Jul"),
    ("lug", "Jul"),
    ("août", "Aug"),
    ("aoû", "Aug"),
    ("ago", "Aug"),
    ("sept", "Sep"),
    ("set", "Sep"),
    ("okt", "Oct"),
    ("ott", "Oct"),
    ("out", "Oct"),
    ("déc", "Dec"),
    ("dez", "Dec"),
    ("dic", "Dec"),
];

/// The English abbreviation of a localised month name (any case, a trailing `.` allowed:
/// French writes `janv.`).
fn localised_month(text: &str) -> Option<&'static str> {
    let text = text.strip_suffix('.').unwrap_or(text);
    if text.len() > 8 {
        return None;
    }
    let lower = text.to_lowercase();
    LOCALISED_MONTHS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, english)| *english)
}

/// The `default-offset` setting: `""`, `Z` or `UTC` (UTC, `None`), or `+0200`, `+02:00`,
/// `-05:30`.
pub fn parse_offset(text: &str) -> Result<Option<UtcOffset>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("utc") || text.eq_ignore_ascii_case("z") {
        return Ok(None);
    }
    let format = format_description!("[offset_hour sign:mandatory][optional [:]][offset_minute]");
    match UtcOffset::parse(text, &format) {
        Ok(o) if o.is_utc() => Ok(None),
        Ok(o) => Ok(Some(o)),
        Err(_) => Err(format!(
            "{text:?} is not an offset like +02:00, -0530 or UTC"
        )),
    }
}

/// Parses nginx's `$time_iso8601`, `2022-07-19T13:23:20+02:00` (RFC 3339, by the `time`
/// crate); the offset as written is `+02:00` or `Z`.
pub fn parse_iso8601(text: &str) -> Result<LogTime<'_>, String> {
    let instant = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| {
            format!(
                "{} is not like 2022-07-19T13:23:20+02:00 ({e})",
                Excerpt(text)
            )
        })?;
    let offset = if text.ends_with(['Z', 'z']) {
        &text[text.len() - 1..]
    } else {
        text.get(text.len().saturating_sub(6)..).unwrap_or("")
    };
    Ok(LogTime {
        instant,
        offset,
        local: false,
    })
}

/// Parses seconds since the epoch: `1658229800.123` (nginx `$msec`; the fraction is
/// dropped, records have whole seconds) or an integer of `per_second` units (Apache
/// `%{msec}t`).
pub fn parse_epoch(text: &str, per_second: u32) -> Result<OffsetDateTime, String> {
    let bad = || format!("{} is not a time in seconds since 1970", Excerpt(text));
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let units: i64 = whole.parse().map_err(|_| bad())?;
    let secs = if fraction.is_empty() {
        units / i64::from(per_second.max(1))
    } else {
        units
    };
    OffsetDateTime::from_unix_timestamp(secs).map_err(|_| bad())
}

/// The `time` crate's parser of the format: the reference, and the one that explains
/// what is wrong with a bad time.
fn parse_generic(text: &str) -> Result<OffsetDateTime, String> {
    let format = format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    );
    OffsetDateTime::parse(text, &format).map_err(|e| {
        format!(
            "{} is not like 19/Jul/2022:13:23:20 +0200 ({e})",
            Excerpt(text)
        )
    })
}

/// The fast path for the fixed-width form every log line has (`dd/Mon/yyyy:HH:MM:SS
/// +hhmm`, 26 bytes): a fifth of the parse time with the generic parser. `None` for
/// anything it does not accept, which [`parse_generic`] then decides.
fn parse_fixed(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    if b.len() != 26 || [b[2], b[6], b[11], b[14], b[17], b[20]] != *b"//::: " {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u16> {
        b[from..to].iter().try_fold(0u16, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u16::from(d - b'0'))
        })
    };
    let month = match &b[3..6] {
        b"Jan" => Month::January,
        b"Feb" => Month::February,
        b"Mar" => Month::March,
        b"Apr" => Month::April,
        b"May" => Month::May,
        b"Jun" => Month::June,
        b"Jul" => Month::July,
        b"Aug" => Month::August,
        b"Sep" => Month::September,
        b"Oct" => Month::October,
        b"Nov" => Month::November,
        b"Dec" => Month::December,
        _ => return None,
    };
    let sign: i8 = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let small = |from: usize| num(from, from + 2).and_then(|n| u8::try_from(n).ok());
    let date = Date::from_calendar_date(i32::from(num(7, 11)?), month, small(0)?).ok()?;
    let time = Time::from_hms(small(12)?, small(15)?, small(18)?).ok()?;
    let hours = i8::try_from(small(22)?).ok()?;
    let minutes = i8::try_from(small(24)?).ok()?;
    let offset = UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_real_logs_write_are_read() {
        // (as logged, UTC, offset as written)
        for (logged, utc, offset) in [
            // A one-digit day (a whole file of error records before).
            ("1/Apr/2014:11:55:44 +0200", "2014-04-01T09:55:44Z", "+0200"),
            ("27/Jun/2013:11:55:44 GMT", "2013-06-27T11:55:44Z", "GMT"),
            ("27/Jun/2013:11:55:44 UTC", "2013-06-27T11:55:44Z", "UTC"),
            // No zone: read as UTC, and no offset is claimed.
            ("27/Jun/2013:11:55:44", "2013-06-27T11:55:44Z", ""),
            (
                "27/JUN/2013:11:55:44 -05:30",
                "2013-06-27T17:25:44Z",
                "-05:30",
            ),
            // Months in other languages, as strftime writes them in those locales.
            (
                "03/Okt/2023:10:00:00 +0200",
                "2023-10-03T08:00:00Z",
                "+0200",
            ),
            (
                "24/Dez/2023:10:00:00 +0100",
                "2023-12-24T09:00:00Z",
                "+0100",
            ),
            (
                "04/Mär/2023:10:00:00 +0100",
                "2023-03-04T09:00:00Z",
                "+0100",
            ),
            (
                "14/juil./2023:10:00:00 +0200",
                "2023-07-14T08:00:00Z",
                "+0200",
            ),
            (
                "15/août/2023:10:00:00 +0200",
                "2023-08-15T08:00:00Z",
                "+0200",
            ),
            (
                "06/ene/2024:10:00:00 +0100",
                "2024-01-06T09:00:00Z",
                "+0100",
            ),
            (
                "02/giu/2024:10:00:00 +0200",
                "2024-06-02T08:00:00Z",
                "+0200",
            ),
            (
                "12/out/2024:10:00:00 -0300",
                "2024-10-12T13:00:00Z",
                "-0300",
            ),
            (
                "27/mei/2024:10:00:00 +0200",
                "2024-05-27T08:00:00Z",
                "+0200",
            ),
        ] {
            let t = parse_log_time(logged).unwrap_or_else(|e| panic!("{logged}: {e}"));
            assert_eq!(
                (t.utc_rfc3339().as_str(), t.offset),
                (utc, offset),
                "{logged}"
            );
        }
        // Still refused: a bad day, a bad zone, text after it; the reason names the form.
        for bad in [
            "32/Jun/2013:11:55:44 +0000",
            "27/Jun/2013:11:55:44 CEST",
            "27/Jun/2013:11:55:44 +0000 x",
            "27/Juni/2013:11:55:44 +0000",
            "27/Okto/2013:11:55:44 +0000",
            "27/o/2013:11:55:44 +0000",
        ] {
            let e = parse_log_time(bad).unwrap_err();
            assert!(
                e.contains("is not like 19/Jul/2022:13:23:20 +0200"),
                "{bad}: {e}"
            );
        }
    }

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
    fn fast_path_agrees_with_the_generic_parser() {
        for text in [
            "19/Jul/2022:13:23:20 +0200",
            "29/Feb/2024:23:59:59 -1159",
            "29/Feb/2023:00:00:00 +0000",
            "31/Apr/2022:00:00:00 +0000",
            "01/Jan/0000:00:00:00 -0000",
            "15/Dec/9999:12:00:00 +2559",
            "15/Dec/2022:12:00:00 +2600",
            "15/Dec/2022:12:00:00 +0060",
            "15/Dec/2022:24:00:00 +0100",
            "15/Dec/2022:23:60:00 +0100",
            "15/Dec/2022:23:00:60 +0100",
            "15/dec/2022:23:00:00 +0100",
            "00/Dec/2022:23:00:00 +0100",
            "15/Dec/2022:23:00:00 *0100",
            "1a/Dec/2022:23:00:00 +0100",
        ] {
            if let Some(fast) = parse_fixed(text) {
                assert_eq!(Ok(fast), parse_generic(text), "{text}");
            } else {
                assert!(
                    parse_generic(text).is_err(),
                    "{text} is refused by the fast path only"
                );
            }
        }
    }

    #[test]
    fn iso8601_and_epoch() {
        let t = parse_iso8601("2022-07-19T13:23:20+02:00").unwrap();
        assert_eq!(
            (t.utc_rfc3339().as_str(), t.offset),
            ("2022-07-19T11:23:20Z", "+02:00")
        );
        let t = parse_iso8601("2022-07-19T11:23:20Z").unwrap();
        assert_eq!(t.offset, "Z");
        assert!(parse_iso8601("19/Jul/2022:13:23:20 +0200").is_err());
        let want = OffsetDateTime::from_unix_timestamp(1_658_229_800).unwrap();
        assert_eq!(parse_epoch("1658229800.123", 1), Ok(want));
        assert_eq!(parse_epoch("1658229800123", 1000), Ok(want));
        assert_eq!(parse_epoch("1658229800", 1), Ok(want));
        for bad in ["", ".5", "12a", "1.2.3", "-", "99999999999999999999"] {
            assert!(parse_epoch(bad, 1).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_bad_times() {
        for bad in [
            "",
            "32/Jul/2022:13:23:20 +0200",
            "19/Jux/2022:13:23:20 +0200",
            "19/Jul/2022 13:23:20 +0200",
            "19/Jul/2022:25:23:20 +0200",
        ] {
            assert!(parse_log_time(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
