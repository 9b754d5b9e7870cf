//! Error-log lines, in the layouts the servers write by default:
//! - nginx `error_log`: `2023/09/08 13:50:28 [error] 7164#7164: *20 MESSAGE, client: ADDR,
//!   server: NAME, request: "…", upstream: "…", host: "…", referrer: "…"` (the connection
//!   `*N` and each context key optional; the keys and their order as
//!   `ngx_http_log_error` and `ngx_http_log_error_handler` write them in nginx's
//!   `src/http/ngx_http_request.c`);
//! - Apache httpd 2.4 `ErrorLog` with the default `ErrorLogFormat`: `[Wed Oct 11
//!   14:32:52.123456 2023] [core:error] [pid 35708:tid 4328636416] core.c(4567):
//!   (13)Permission denied: [client 198.51.100.7:52104] AH00126: MESSAGE, referer: URL`
//!   (the source file, OS error, client, port, code and referer optional);
//! - Apache 2.2: `[Wed Oct 11 14:32:52 2023] [error] [client 198.51.100.7] MESSAGE`.
//!
//! Error logs carry no zone: their times are local ([`LogTime::local`]), read as UTC
//! unless the `default-offset` setting says otherwise, with no `time_offset`.

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

use super::{Cursor, ParseError, Parsed, Rare, dash_none, split_request};
use crate::client::parse_client;
use crate::time::LogTime;

/// What an error-log line has beyond the fields it shares with an access line (client,
/// time, request, host).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorLog<'a> {
    /// The severity: nginx `debug` … `emerg`, Apache `trace8` … `emerg`.
    pub level: &'a str,
    /// Apache's module (`core` of `[core:error]`).
    pub module: Option<&'a str>,
    /// The process id.
    pub pid: Option<u32>,
    /// The thread id.
    pub tid: Option<u64>,
    /// nginx's connection number (`*20`).
    pub connection: Option<u64>,
    /// Apache's message code (`AH00126`).
    pub code: Option<&'a str>,
    /// Apache's OS error (`(13)Permission denied`).
    pub os_error: Option<&'a str>,
    /// Apache's source file and line (`mod_rewrite.c(470)`, at debug and trace levels).
    pub source_file: Option<&'a str>,
    /// The message, without the context nginx appends or the parts Apache puts around it.
    pub message: &'a str,
    /// The client's port (Apache 2.4).
    pub client_port: Option<u16>,
    /// nginx's `server:` (the `server_name`, or the listening address).
    pub server: Option<&'a str>,
    /// nginx's `upstream:`.
    pub upstream: Option<&'a str>,
    /// The referrer (nginx `referrer:`, Apache `, referer:`).
    pub referrer: Option<&'a str>,
}

const NGINX_LEVELS: [&str; 8] = [
    "debug", "info", "notice", "warn", "error", "crit", "alert", "emerg",
];

const APACHE_LEVELS: [&str; 16] = [
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace1", "trace2",
    "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
];

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// `None` when `line` does not begin like an error-log line (an nginx date, or an Apache
/// bracketed time); else its fields, or where it goes wrong.
pub fn parse(line: &str) -> Option<Result<Parsed<'_>, ParseError>> {
    let b = line.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() >= 20
        && b[4] == b'/'
        && b[7] == b'/'
        && b[10] == b' '
        && b[13] == b':'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
    {
        return Some(nginx(line));
    }
    let weekday = line.get(1..4).is_some_and(|w| WEEKDAYS.contains(&w));
    (b.first() == Some(&b'[') && weekday && b.get(4) == Some(&b' ')).then(|| apache(line))
}

/// A number of the digits `b[from..to]`.
fn number(b: &[u8], from: usize, to: usize) -> Option<u32> {
    b.get(from..to)?.iter().try_fold(0u32, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// A UTC time from its parts; `None` for a day or a clock that does not exist.
fn utc<'a>(year: u32, month: u32, day: u32, hms: [u32; 3]) -> Option<LogTime<'a>> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?);
    let [h, m, s] = hms.map(|v| u8::try_from(v).unwrap_or(u8::MAX));
    let local = PrimitiveDateTime::new(date.ok()?, Time::from_hms(h, m, s).ok()?);
    Some(LogTime {
        instant: local.assume_offset(UtcOffset::UTC),
        offset: "",
        local: true,
    })
}

/// An nginx error-log line.
fn nginx(line: &str) -> Result<Parsed<'_>, ParseError> {
    let b = line.as_bytes();
    let mut c = Cursor { line, pos: 0 };
    let n = |from, to| number(b, from, to).unwrap_or(u32::MAX);
    let time = (b[16] == b':')
        .then(|| {
            utc(
                n(0, 4),
                n(5, 7),
                n(8, 10),
                [n(11, 13), n(14, 16), n(17, 19)],
            )
        })
        .flatten()
        .ok_or_else(|| {
            c.error(format_args!(
                "invalid time: {:?} is not like 2023/09/08 13:50:28",
                line.get(..19).unwrap_or("")
            ))
        })?;
    c.pos = 19;
    let level = level(&mut c, &NGINX_LEVELS)?;
    c.space("the process id")?;
    let pid_pos = c.pos;
    let ids = c.token();
    let (pid, tid) = ids
        .strip_suffix(':')
        .and_then(|ids| ids.split_once('#'))
        .and_then(|(p, t)| Some((p.parse::<u32>().ok()?, t.parse::<u64>().ok()?)))
        .ok_or_else(|| c.error_at(pid_pos, "expected PID#TID: after the level"))?;
    let mut connection = None;
    if !c.at_end() {
        c.space("the message")?;
        if let Some(rest) = c.rest().strip_prefix(b"*") {
            let len = rest.iter().take_while(|d| d.is_ascii_digit()).count();
            if len > 0 && rest.get(len) == Some(&b' ') {
                connection = line[c.pos + 1..c.pos + 1 + len].parse().ok();
                c.pos += len + 2;
            }
        }
    }
    let text = &line[c.pos..];
    let (message, ctx) = nginx_context(text);
    let (method, target, protocol) = ctx.request.map_or((None, None, None), split_request);
    let client = ctx.client.and_then(|t| parse_client(t, false));
    Ok(Parsed {
        ip_text: client.map(|c| c.text),
        ip: client.and_then(|c| c.ip),
        time: Some(time),
        request: ctx.request,
        method,
        target,
        protocol,
        host: ctx.host,
        rare: Some(Box::new(Rare {
            error_log: Some(ErrorLog {
                level,
                pid: Some(pid),
                tid: Some(tid),
                connection,
                message,
                server: ctx.server,
                upstream: ctx.upstream,
                referrer: ctx.referrer,
                ..ErrorLog::default()
            }),
            syslog: None,
        })),
        ..Parsed::default()
    })
}

/// ` [level]`, one of `levels`.
fn level<'a>(c: &mut Cursor<'a>, levels: &[&str]) -> Result<&'a str, ParseError> {
    let level = bracket(c, "the level")?;
    if !levels.contains(&level) {
        return Err(c.error_at(
            c.pos - 1 - level.len(),
            format_args!("unknown level {level:?}"),
        ));
    }
    Ok(level)
}

/// The context nginx appends to an error message.
#[derive(Default)]
struct Context<'a> {
    client: Option<&'a str>,
    server: Option<&'a str>,
    request: Option<&'a str>,
    upstream: Option<&'a str>,
    host: Option<&'a str>,
    referrer: Option<&'a str>,
}

/// The keys nginx appends, in its order, and whether their values are quoted.
const KEYS: [(&str, bool); 7] = [
    ("client", false),
    ("server", false),
    ("request", true),
    ("subrequest", true),
    ("upstream", true),
    ("host", true),
    ("referrer", true),
];

/// How many `, client: ` a message may hold before the context's: a message can quote a
/// path or a header an attacker chose.
const CLIENT_TRIES: usize = 8;

/// The message and its context: the context starts at the first `, client: ` after which
/// the rest of the line reads as keys in nginx's order, to its end.
fn nginx_context(text: &str) -> (&str, Context<'_>) {
    for (at, _) in text.match_indices(", client: ").take(CLIENT_TRIES) {
        if let Some(ctx) = context(&text[at..]) {
            return (&text[..at], ctx);
        }
    }
    (text, Context::default())
}

/// `rest` with `, KEY: ` removed, for the first of `KEYS[from..]` it starts with.
fn key_at(rest: &str, from: usize) -> Option<(usize, &str)> {
    let after = rest.strip_prefix(", ")?;
    KEYS.iter()
        .enumerate()
        .skip(from)
        .find_map(|(i, (name, _))| {
            let value = after.strip_prefix(name)?.strip_prefix(": ")?;
            Some((i, value))
        })
}

/// The keys of `rest` (`, client: …` to the end), or `None` when it is not all keys.
fn context(mut rest: &str) -> Option<Context<'_>> {
    let mut ctx = Context::default();
    let mut next = 0;
    while !rest.is_empty() {
        let (key, value_on) = key_at(rest, next)?;
        next = key + 1;
        let ends = |tail: &str| tail.is_empty() || key_at(tail, next).is_some();
        let (value, after) = if KEYS[key].1 {
            let body = value_on.strip_prefix('"')?;
            let end = memchr::memchr_iter(b'"', body.as_bytes()).find(|&q| ends(&body[q + 1..]))?;
            (&body[..end], &body[end + 1..])
        } else {
            // An address or a server name: no spaces.
            let word = memchr::memchr(b' ', value_on.as_bytes()).unwrap_or(value_on.len());
            let end = memchr::memchr_iter(b',', &value_on.as_bytes()[..word])
                .find(|&at| ends(&value_on[at..]))
                .unwrap_or(word);
            if !ends(&value_on[end..]) {
                return None;
            }
            (&value_on[..end], &value_on[end..])
        };
        let slot = match KEYS[key].0 {
            "client" => &mut ctx.client,
            "server" => &mut ctx.server,
            "request" => &mut ctx.request,
            "upstream" => &mut ctx.upstream,
            "host" => &mut ctx.host,
            "referrer" => &mut ctx.referrer,
            _ => &mut None,
        };
        *slot = dash_none(value);
        rest = after;
    }
    ctx.client
        .is_none_or(|c| parse_client(c, false).is_some())
        .then_some(ctx)
}

/// An Apache 2.4 or 2.2 error-log line.
fn apache(line: &str) -> Result<Parsed<'_>, ParseError> {
    let mut c = Cursor { line, pos: 1 };
    let close =
        memchr::memchr(b']', c.rest()).ok_or_else(|| c.error("expected ']' closing the time"))?;
    let stamp = &line[1..1 + close];
    let time = apache_time(stamp).ok_or_else(|| {
        c.error(format_args!(
            "invalid time: {stamp:?} is not like Wed Oct 11 14:32:52.123456 2023"
        ))
    })?;
    c.pos += close + 1;
    let mut e = ErrorLog::default();
    let group = bracket(&mut c, "the level")?;
    let (module, level) = group
        .rsplit_once(':')
        .map_or((None, group), |(m, l)| (Some(m), l));
    if !APACHE_LEVELS.contains(&level) {
        return Err(c.error_at(
            c.pos - 1 - group.len(),
            format_args!("unknown level {level:?}"),
        ));
    }
    e.level = level;
    e.module = module.and_then(dash_none);
    // Apache 2.4 writes `[pid N:tid N]` (`[pid N]` without threads) and the client's port.
    let v24 = c.rest().starts_with(b" [pid ");
    if v24 {
        let ids = bracket(&mut c, "the process id")?;
        let ids = &ids[4..];
        let (pid, tid) = ids
            .split_once(":tid ")
            .map_or((ids, None), |(p, t)| (p, Some(t)));
        e.pid = pid.parse().ok();
        e.tid = tid.and_then(|t| t.parse().ok());
        if e.pid.is_none() || tid.is_some() && e.tid.is_none() {
            return Err(c.error_at(c.pos - ids.len() - 1, "expected [pid N:tid N]"));
        }
    }
    let mut text = if c.at_end() {
        ""
    } else {
        c.space("the message")?;
        &line[c.pos..]
    };
    // `%F: ` (the source file, debug levels), `%E: ` (the OS error), `[client %a] `, each
    // optional and in this order; a `[client ` later on is the message's.
    if let Some((file, rest)) = text.split_once(": ")
        && !file.contains(' ')
        && file
            .strip_suffix(')')
            .and_then(|f| f.rsplit_once('('))
            .is_some_and(|(name, n)| {
                !name.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
            })
    {
        e.source_file = Some(file);
        text = rest;
    }
    if let Some((os_error, rest)) = text.split_once(": ")
        && os_error
            .strip_prefix('(')
            .and_then(|o| o.split_once(')'))
            .is_some_and(|(n, _)| {
                let n = n.strip_prefix('-').unwrap_or(n);
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
            })
    {
        e.os_error = Some(os_error);
        text = rest;
    }
    let mut client = None;
    if let Some(inner) = text
        .strip_prefix("[client ")
        .or_else(|| text.strip_prefix("[remote "))
        && let Some(end) = inner.find(']')
    {
        let (ip, port) = apache_client(&inner[..end], v24);
        client = ip;
        e.client_port = port;
        text = inner[end + 1..].trim_start_matches(' ');
    }
    let code_len = text.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if code_len == 7 && text.starts_with("AH") && text[code_len..].starts_with(": ") {
        e.code = Some(&text[..code_len]);
        text = &text[code_len + 2..];
    }
    if let Some((message, referrer)) = text.rsplit_once(", referer: ") {
        text = message;
        e.referrer = dash_none(referrer);
    }
    e.message = text;
    Ok(Parsed {
        ip_text: client.map(|c| c.text),
        ip: client.and_then(|c| c.ip),
        time: Some(time),
        rare: Some(Box::new(Rare {
            error_log: Some(e),
            syslog: None,
        })),
        ..Parsed::default()
    })
}

/// ` [TEXT]`: the text.
fn bracket<'a>(c: &mut Cursor<'a>, what: &str) -> Result<&'a str, ParseError> {
    c.space(what)?;
    c.expect(b'[')?;
    let start = c.pos;
    let len = memchr::memchr(b']', c.rest())
        .ok_or_else(|| c.error(format_args!("expected ']' closing {what}")))?;
    c.pos += len + 1;
    Ok(&c.line[start..start + len])
}

/// Apache's `[client ADDR]`: 2.4 writes `ADDR:PORT` (an IPv6 address unbracketed, so the
/// port is what follows its last colon), 2.2 the address alone.
fn apache_client(text: &str, with_port: bool) -> (Option<crate::client::Client<'_>>, Option<u16>) {
    if with_port
        && let Some((ip, port)) = text.rsplit_once(':')
        && let (Some(client), Ok(port)) = (parse_client(ip, false), port.parse::<u16>())
    {
        return (Some(client), Some(port));
    }
    (parse_client(text, false), None)
}

/// `Wed Oct 11 14:32:52.123456 2023` (the day zero- or space-padded, the fraction
/// optional and dropped).
fn apache_time(text: &str) -> Option<LogTime<'_>> {
    let mut parts = text.split(' ').filter(|p| !p.is_empty());
    let (_weekday, month, day, clock, year) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() {
        return None;
    }
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let clock = clock
        .split_once('.')
        .map_or(clock, |(whole, _)| whole)
        .as_bytes();
    if clock.len() != 8 || clock[2] != b':' || clock[5] != b':' {
        return None;
    }
    let day = day.parse().ok()?;
    let hms = [
        number(clock, 0, 2)?,
        number(clock, 3, 5)?,
        number(clock, 6, 8)?,
    ];
    utc(year.parse().ok()?, month as u32, day, hms)
}

/// Appends an error-log record's fields, from `,"log_type":"error"` to `"referrer":…`
/// (no trailing comma), `p` being an error-log line and `e` its [`Parsed::error_log`].
#[cold]
#[inline(never)]
pub(crate) fn write_fields(
    out: &mut Vec<u8>,
    p: &Parsed<'_>,
    e: &ErrorLog<'_>,
    times: &mut crate::json::TimeWriter,
) {
    use crate::json;
    out.extend_from_slice(b",\"log_type\":\"error\",\"ip\":");
    json::opt_str(out, p.ip_text);
    out.extend_from_slice(b",\"client_port\":");
    json::opt_int(out, e.client_port);
    out.extend_from_slice(b",\"time\":");
    times.write_opt(out, p.time.as_ref());
    out.extend_from_slice(b",\"level\":");
    json::str(out, e.level);
    out.extend_from_slice(b",\"module\":");
    json::opt_str(out, e.module);
    out.extend_from_slice(b",\"pid\":");
    json::opt_int(out, e.pid);
    out.extend_from_slice(b",\"tid\":");
    json::opt_int(out, e.tid);
    out.extend_from_slice(b",\"connection\":");
    json::opt_int(out, e.connection);
    out.extend_from_slice(b",\"code\":");
    json::opt_str(out, e.code);
    out.extend_from_slice(b",\"os_error\":");
    json::opt_str(out, e.os_error);
    out.extend_from_slice(b",\"source_file\":");
    json::opt_str(out, e.source_file);
    out.extend_from_slice(b",\"message\":");
    json::str(out, e.message);
    out.extend_from_slice(b",\"server\":");
    json::opt_str(out, e.server);
    out.extend_from_slice(b",\"method\":");
    json::opt_str(out, p.method);
    out.extend_from_slice(b",\"target\":");
    json::opt_str(out, p.target);
    out.extend_from_slice(b",\"protocol\":");
    json::opt_str(out, p.protocol);
    out.extend_from_slice(b",\"request\":");
    json::opt_str(out, p.request);
    out.extend_from_slice(b",\"upstream\":");
    json::opt_str(out, e.upstream);
    out.extend_from_slice(b",\"host\":");
    json::opt_str(out, p.host);
    out.extend_from_slice(b",\"referrer\":");
    json::opt_str(out, e.referrer);
}

#[cfg(test)]
#[path = "parse_errorlog_tests.rs"]
mod tests;
