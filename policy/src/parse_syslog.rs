//! The syslog header in front of an access-log line: what nginx writes with
//! `access_log syslog:server=...`, and what rsyslog or journald give back.
//!
//! Three shapes (the header's fields go to the record's `syslog`):
//! - RFC 3164, with or without the `<PRI>` nginx sends:
//!   `<190>Jul  8 11:07:07 web-1 nginx[2869]: MESSAGE` (the day space-padded);
//! - RFC 3164 with an RFC 3339 time, rsyslog's high-precision template:
//!   `2023-07-08T11:07:07.123+02:00 web-1 nginx[2869]: MESSAGE`;
//! - RFC 5424: `<190>1 2023-07-08T11:07:07Z web-1 nginx 2869 - - MESSAGE` (structured data
//!   `-` or one or more `[...]` elements).
//!
//! The header's time is kept as written (an RFC 3164 time has no year and no zone): the
//! record's `time` is the access line's own, with its offset.

/// A syslog header's parts and the message after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wrapper<'a> {
    /// The HOSTNAME field.
    pub host: &'a str,
    /// The tag's program (RFC 3164, `nginx` of `nginx[2869]:`) or APP-NAME (RFC 5424).
    pub app: &'a str,
    /// The tag's process id (`2869`) or PROCID; `None` when absent or not a number.
    pub pid: Option<u32>,
    /// The `<PRI>` value: facility × 8 + severity.
    pub priority: Option<u8>,
    /// The header's time, as written.
    pub time: &'a str,
    /// What follows the header.
    pub message: &'a str,
}

/// RFC 5424's facility names (§ 6.2.1, Table 1), as syslog implementations abbreviate them.
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// RFC 5424's severities (§ 6.2.1, Table 2), abbreviated as syslog implementations do.
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// Appends `,"syslog":{"host","app","pid","facility","severity","time"}` (absent fields
/// `null`).
#[cold]
#[inline(never)]
pub(crate) fn write(out: &mut Vec<u8>, w: &Wrapper<'_>) {
    use crate::json;
    out.extend_from_slice(b",\"syslog\":{\"host\":");
    json::str(out, w.host);
    out.extend_from_slice(b",\"app\":");
    json::opt_str(out, super::dash_none(w.app));
    out.extend_from_slice(b",\"pid\":");
    json::opt_int(out, w.pid);
    out.extend_from_slice(b",\"facility\":");
    json::opt_str(
        out,
        w.priority
            .and_then(|p| FACILITIES.get(usize::from(p >> 3)).copied()),
    );
    out.extend_from_slice(b",\"severity\":");
    json::opt_str(out, w.priority.map(|p| SEVERITIES[usize::from(p & 7)]));
    out.extend_from_slice(b",\"time\":");
    json::str(out, w.time);
    out.push(b'}');
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The header of `line` and its message, if `line` starts with one.
pub fn unwrap(line: &str) -> Option<Wrapper<'_>> {
    let (priority, rest) = priority(line);
    if let Some(v1) = rest.strip_prefix("1 ") {
        return rfc5424(v1, priority);
    }
    let after_time = bsd_time(rest).or_else(|| iso_time(rest))?;
    let time = rest[..rest.len() - after_time.len()].trim_end();
    let (host, after_host) = word(after_time)?;
    let (tag, message) = word(after_host)?;
    let tag = tag.strip_suffix(':')?;
    let named = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic());
    if !(named(host) && named(tag)) {
        return None;
    }
    let (app, pid) = match tag.strip_suffix(']').and_then(|t| t.split_once('[')) {
        Some((app, pid)) => (app, pid.parse().ok()),
        None => (tag, None),
    };
    Some(Wrapper {
        host,
        app,
        pid,
        priority,
        time,
        message,
    })
}

/// A leading `<PRI>` (0 to 191) and the rest of `line`.
fn priority(line: &str) -> (Option<u8>, &str) {
    let parsed = line.strip_prefix('<').and_then(|rest| {
        let (digits, after) = rest.split_once('>')?;
        let ok = (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        let value = digits.parse::<u8>().ok().filter(|&p| ok && p <= 191)?;
        Some((Some(value), after))
    });
    parsed.unwrap_or((None, line))
}

/// After `Mmm dd hh:mm:ss ` (the day space-padded or two digits).
fn bsd_time(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    if b.len() < 16 || !MONTHS.contains(&text.get(..3)?) || b[3] != b' ' || b[6] != b' ' {
        return None;
    }
    let day_ok = (b[4] == b' ' || b[4].is_ascii_digit()) && b[5].is_ascii_digit();
    let clock = &b[7..15];
    let clock_ok = clock.iter().enumerate().all(|(i, &c)| {
        if i % 3 == 2 {
            c == b':'
        } else {
            c.is_ascii_digit()
        }
    });
    (day_ok && clock_ok && b[15] == b' ').then(|| &text[16..])
}

/// After an RFC 3339 time and its space (`2023-07-08T11:07:07[.fff](Z|±hh:mm) `).
fn iso_time(text: &str) -> Option<&str> {
    let (time, rest) = text.split_once(' ')?;
    let b = time.as_bytes();
    let shaped = b.len() >= 20
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':';
    shaped.then_some(rest)
}

/// RFC 5424 after its version: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG.
fn rfc5424(text: &str, priority: Option<u8>) -> Option<Wrapper<'_>> {
    let (time, rest) = word(text)?;
    let (host, rest) = word(rest)?;
    let (app, rest) = word(rest)?;
    let (procid, rest) = word(rest)?;
    let (_msgid, rest) = word(rest)?;
    let message = if let Some(m) = rest.strip_prefix("- ") {
        m
    } else {
        // One or more `[id k="v" ...]` elements (`]` inside a value is escaped `\]`).
        let mut at = 0;
        let b = rest.as_bytes();
        while b.get(at) == Some(&b'[') {
            let mut i = at + 1;
            while i < b.len() && !(b[i] == b']' && b[i - 1] != b'\\') {
                i += 1;
            }
            at = i + 1;
        }
        if at == 0 || b.get(at) != Some(&b' ') {
            return None;
        }
        &rest[at + 1..]
    };
    Some(Wrapper {
        host,
        app,
        pid: procid.parse().ok(),
        priority,
        time,
        message,
    })
}

/// The first space-separated word of `text` and what follows its space.
fn word(text: &str) -> Option<(&str, &str)> {
    text.split_once(' ').filter(|(w, _)| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        r#"198.51.100.7 - - [08/Jul/2023:11:07:07 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0""#;

    #[test]
    fn the_three_header_shapes_give_their_fields_and_the_message() {
        // (header, app, pid, priority, time)
        type Case = (
            &'static str,
            &'static str,
            Option<u32>,
            Option<u8>,
            &'static str,
        );
        let cases: [Case; 6] = [
            (
                "Jul  8 11:07:07 web-1 nginx[2869]: ",
                "nginx",
                Some(2869),
                None,
                "Jul  8 11:07:07",
            ),
            (
                "<190>Jul  8 11:07:07 web-1 nginx: ",
                "nginx",
                None,
                Some(190),
                "Jul  8 11:07:07",
            ),
            (
                "Jul 18 11:07:07 web-1 nginx: ",
                "nginx",
                None,
                None,
                "Jul 18 11:07:07",
            ),
            (
                "2023-07-08T11:07:07.123+02:00 web-1 nginx[2869]: ",
                "nginx",
                Some(2869),
                None,
                "2023-07-08T11:07:07.123+02:00",
            ),
            (
                "<190>1 2023-07-08T11:07:07Z web-1 nginx 2869 - - ",
                "nginx",
                Some(2869),
                Some(190),
                "2023-07-08T11:07:07Z",
            ),
            (
                r#"<14>1 2023-07-08T11:07:07Z web-1 nginx - - [a k="x\]y"][b] "#,
                "nginx",
                None,
                Some(14),
                "2023-07-08T11:07:07Z",
            ),
        ];
        for (header, app, pid, priority, time) in cases {
            let line = format!("{header}{LINE}");
            let want = Wrapper {
                host: "web-1",
                app,
                pid,
                priority,
                time,
                message: LINE,
            };
            assert_eq!(unwrap(&line), Some(want), "{header}");
        }
    }

    #[test]
    fn the_record_names_facility_and_severity() {
        let line = format!("<190>Jul  8 11:07:07 web-1 nginx[7]: {LINE}");
        let mut out = Vec::new();
        write(&mut out, &unwrap(&line).unwrap());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#","syslog":{"host":"web-1","app":"nginx","pid":7,"facility":"local7","severity":"info","time":"Jul  8 11:07:07"}"#
        );
        let line = format!("Jul  8 11:07:07 web-1 nginx: {LINE}");
        let mut out = Vec::new();
        write(&mut out, &unwrap(&line).unwrap());
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains(r#""pid":null,"facility":null,"severity":null"#)
        );
        // A priority past 191 is not one: the line has no header.
        assert_eq!(
            unwrap(&format!("<192>Jul  8 11:07:07 web-1 nginx: {LINE}")),
            None
        );
    }

    #[test]
    fn other_lines_have_no_header() {
        for line in [
            LINE,
            "Jux  8 11:07:07 web-1 nginx: x",
            "Jul  8 11:07 web-1 nginx: x",
            "Jul  8 11:07:07 web-1 nginx x",
            "<1900>Jul  8 11:07:07 web-1 nginx: x",
            "<190>1 2023-07-08T11:07:07Z web-1 nginx - - [unclosed x",
            "",
        ] {
            assert_eq!(unwrap(line), None, "{line}");
        }
    }
}
