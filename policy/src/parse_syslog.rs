//! The syslog header in front of an access-log line: what nginx writes with
//! `access_log syslog:server=...`, and what rsyslog or journald give back.
//!
//! Three shapes (the header is dropped; its host and tag are kept):
//! - RFC 3164, with or without the `<PRI>` nginx sends:
//!   `<190>Jul  8 11:07:07 web-1 nginx[2869]: MESSAGE` (the day space-padded);
//! - RFC 3164 with an RFC 3339 time, rsyslog's high-precision template:
//!   `2023-07-08T11:07:07.123+02:00 web-1 nginx[2869]: MESSAGE`;
//! - RFC 5424: `<190>1 2023-07-08T11:07:07Z web-1 nginx 2869 - - MESSAGE` (structured data
//!   `-` or one or more `[...]` elements).
//!
//! The header's time is not used: the access line has its own, with its offset.

/// A syslog header's parts and the message after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wrapper<'a> {
    /// The HOSTNAME field.
    pub host: &'a str,
    /// The tag (RFC 3164, `nginx[2869]` without its colon) or APP-NAME (RFC 5424).
    pub tag: &'a str,
    /// What follows the header.
    pub message: &'a str,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The header of `line` and its message, if `line` starts with one.
pub fn unwrap(line: &str) -> Option<Wrapper<'_>> {
    let rest = skip_priority(line);
    if let Some(v1) = rest.strip_prefix("1 ") {
        return rfc5424(v1);
    }
    let after_time = bsd_time(rest).or_else(|| iso_time(rest))?;
    let (host, after_host) = word(after_time)?;
    let (tag, message) = word(after_host)?;
    let tag = tag.strip_suffix(':')?;
    let named = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic());
    (named(host) && named(tag)).then_some(Wrapper { host, tag, message })
}

/// `line` without a leading `<PRI>` (1 to 3 digits).
fn skip_priority(line: &str) -> &str {
    let Some(rest) = line.strip_prefix('<') else {
        return line;
    };
    match rest.split_once('>') {
        Some((digits, after))
            if (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            after
        }
        _ => line,
    }
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
fn rfc5424(text: &str) -> Option<Wrapper<'_>> {
    let (_time, rest) = word(text)?;
    let (host, rest) = word(rest)?;
    let (tag, rest) = word(rest)?;
    let (_procid, rest) = word(rest)?;
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
    Some(Wrapper { host, tag, message })
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
    fn the_three_header_shapes_give_host_tag_and_message() {
        for (header, host, tag) in [
            (
                "Jul  8 11:07:07 web-1 nginx[2869]: ",
                "web-1",
                "nginx[2869]",
            ),
            ("<190>Jul  8 11:07:07 web-1 nginx: ", "web-1", "nginx"),
            ("Jul 18 11:07:07 web-1 nginx: ", "web-1", "nginx"),
            (
                "2023-07-08T11:07:07.123+02:00 web-1 nginx[2869]: ",
                "web-1",
                "nginx[2869]",
            ),
            (
                "<190>1 2023-07-08T11:07:07Z web-1 nginx 2869 - - ",
                "web-1",
                "nginx",
            ),
            (
                r#"<190>1 2023-07-08T11:07:07Z web-1 nginx - - [a k="x\]y"][b] "#,
                "web-1",
                "nginx",
            ),
        ] {
            let line = format!("{header}{LINE}");
            assert_eq!(
                unwrap(&line),
                Some(Wrapper {
                    host,
                    tag,
                    message: LINE
                }),
                "{header}"
            );
        }
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
