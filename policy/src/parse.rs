//! The access-log line parser: one left-to-right pass over a line, borrowing from it.
//!
//! Hand-written rather than a regex because the product's core is here: it must accept
//! every quirk of the honeypot logs (IPv6 clients, bracketed IPv6 hosts, missing trailing
//! fields, `-` fields, `\"` and `\xHH` escapes inside quoted fields, empty or protocol-less
//! requests) and say *where* a bad line went wrong, which a regex that fails to match
//! cannot. Field values are returned as written in the log (escapes kept): the output is
//! lossless, and a JSON writer escapes backslashes.

use std::net::IpAddr;

use crate::client::parse_client;
use crate::excerpt::Excerpt;
use crate::time::{LogTime, parse_log_time};

#[path = "parse_syslog.rs"]
pub mod syslog;

#[path = "parse_errorlog.rs"]
pub mod errorlog;

/// The layouts the parser accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Any of the layouts below, decided per line by where the line ends.
    #[default]
    Auto,
    /// Combined, then `"$http_x_forwarded_for"`, then optional `$server_port` and `$host`.
    Honeypot,
    /// nginx/Apache `combined`.
    Combined,
    /// Common Log Format.
    Common,
}

/// The fields of one parsed line, borrowed from it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed<'a> {
    /// The client as written (the chosen entry of a chain); `None` when the layout has
    /// no client field.
    pub ip_text: Option<&'a str>,
    /// The client address; `None` for a client that is not one (`unix:`, a host name):
    /// no lookups are made for the line.
    pub ip: Option<IpAddr>,
    /// The client field when it was a chain of addresses (see [`crate::client`]).
    pub chain: Option<&'a str>,
    /// `$remote_user`, `None` for `-`.
    pub user: Option<&'a str>,
    /// The request time, when the layout has one.
    pub time: Option<LogTime<'a>>,
    /// The request as logged (between the quotes, escapes kept).
    pub request: Option<&'a str>,
    /// The request method, when the request has one.
    pub method: Option<&'a str>,
    /// The request target.
    pub target: Option<&'a str>,
    /// The protocol, e.g. `HTTP/1.1`.
    pub protocol: Option<&'a str>,
    /// The response status.
    pub status: Option<u16>,
    /// The body size; `None` for `-`.
    pub bytes: Option<u64>,
    /// The referer, `None` for `-` or when the layout has none.
    pub referer: Option<&'a str>,
    /// The User-Agent, `None` for `-` or when the layout has none.
    pub user_agent: Option<&'a str>,
    /// The raw X-Forwarded-For field, `None` for `-` or when absent.
    pub forwarded: Option<&'a str>,
    /// The server port, when logged.
    pub server_port: Option<u16>,
    /// The host, brackets of an IPv6 literal removed.
    pub host: Option<&'a str>,
    /// `$request_time` (seconds; Apache `%D`/`%T` converted), when logged.
    pub request_time: Option<f64>,
    /// `$upstream_response_time` as logged (a list), when logged and not `-`.
    pub upstream_response_time: Option<&'a str>,
    /// `$bytes_sent` (Apache `%O`), when logged.
    pub bytes_sent: Option<u64>,
    /// What few lines have (an error-log line's fields, a syslog header), boxed: every
    /// line of a batch holds a `Parsed`, and 16 more bytes in each cost 3 % of the
    /// honeypot layout's throughput in the policy bench.
    pub rare: Option<Box<Rare<'a>>>,
    /// Fields the schema has no key for: a custom format's other variables, or the
    /// unknown trailing fields auto mode accepted (`trailing_1`, …), in line order.
    pub extra: Vec<(&'a str, &'a str)>,
}

/// The parts of a [`Parsed`] that only some layouts have.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rare<'a> {
    /// The syslog header the line was wrapped in (auto mode).
    pub syslog: Option<syslog::Wrapper<'a>>,
    /// An error-log line's own fields; `None` for an access line.
    pub error_log: Option<errorlog::ErrorLog<'a>>,
}

impl<'a> Parsed<'a> {
    /// An error-log line's own fields; `None` for an access line.
    pub fn error_log(&self) -> Option<&errorlog::ErrorLog<'a>> {
        self.rare.as_ref()?.error_log.as_ref()
    }

    /// The syslog header the line was wrapped in.
    pub fn syslog(&self) -> Option<&syslog::Wrapper<'a>> {
        self.rare.as_ref()?.syslog.as_ref()
    }
}

impl Parsed<'_> {
    /// The forwarded chain: the entries of a chained client field, then those of the
    /// X-Forwarded-For field, split on commas and trimmed.
    pub fn forwarded_chain(&self) -> impl Iterator<Item = &str> {
        self.chain
            .into_iter()
            .chain(self.forwarded)
            .flat_map(|f| f.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "-")
    }
}

/// Why a line did not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based byte column where parsing stopped.
    pub column: u32,
    /// What was expected there (the column is not repeated in it).
    pub reason: String,
}

/// A cursor over the bytes of a line.
struct Cursor<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.line.as_bytes()[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.line.len()
    }

    fn error(&self, what: impl std::fmt::Display) -> ParseError {
        self.error_at(self.pos, what)
    }

    fn error_at(&self, pos: usize, what: impl std::fmt::Display) -> ParseError {
        let column = u32::try_from(pos + 1).unwrap_or(u32::MAX);
        ParseError {
            column,
            reason: what.to_string(),
        }
    }

    /// Consumes one expected byte.
    fn expect(&mut self, byte: u8) -> Result<(), ParseError> {
        if self.rest().first() == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else if self.at_end() {
            Err(self.error(format_args!(
                "expected '{}', found end of line",
                byte as char
            )))
        } else {
            Err(self.error(format_args!("expected '{}'", byte as char)))
        }
    }

    /// Takes bytes up to (not including) the next space or the end.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        let len = memchr::memchr(b' ', self.rest()).unwrap_or(self.rest().len());
        self.pos += len;
        &self.line[start..self.pos]
    }

    /// Takes a quoted field: `"` … `"`, where `\"` and `\\` do not end it.
    fn quoted(&mut self, what: &str) -> Result<&'a str, ParseError> {
        if self.rest().first() != Some(&b'"') {
            return Err(self.error(format_args!("expected '\"' opening the {what}")));
        }
        let open = self.pos;
        let start = open + 1;
        let bytes = self.line.as_bytes();
        let mut search = start;
        loop {
            let Some(off) = memchr::memchr(b'"', &bytes[search..]) else {
                return Err(
                    self.error_at(open, format_args!("unterminated {what}: no closing '\"'"))
                );
            };
            let quote = search + off;
            let backslashes = bytes[start..quote]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            if backslashes % 2 == 0 {
                self.pos = quote + 1;
                return Ok(&self.line[start..quote]);
            }
            search = quote + 1;
        }
    }

    /// Consumes a single space separating two fields.
    fn space(&mut self, before: &str) -> Result<(), ParseError> {
        if self.rest().first() == Some(&b' ') {
            self.pos += 1;
            Ok(())
        } else if self.at_end() {
            Err(self.error(format_args!("expected {before}, found end of line")))
        } else {
            Err(self.error(format_args!("expected a space before {before}")))
        }
    }
}

/// `None` for `-` or an empty field.
pub fn dash_none(s: &str) -> Option<&str> {
    if s == "-" || s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Splits a request line into method, target and protocol, when it has that shape.
///
/// A method is an HTTP token of ASCII letters; the protocol is the last word when it starts
/// with `HTTP/`. Garbage (binary junk, a lone word) yields no method.
pub fn split_request(request: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    let Some((method, rest)) = request.split_once(' ') else {
        return (None, None, None);
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
        return (None, None, None);
    }
    match rest.rsplit_once(' ') {
        Some((target, protocol)) if protocol.starts_with("HTTP/") => {
            (Some(method), dash_none(target), Some(protocol))
        }
        _ => (Some(method), dash_none(rest), None),
    }
}

/// Parses one line (without its line terminator; a trailing `\r` is ignored).
///
/// Auto mode also reads a line wrapped by syslog (nginx's `access_log syslog:...`, or a
/// line read back from rsyslog or journald): the header's fields are in
/// [`Parsed::syslog`].
///
/// Auto mode also reads a virtual-host prefix before the client: Apache's
/// `vhost_combined` (`%v:%p %h ...`, Debian's `other_vhosts_access.log`), `%v` alone, or
/// nginx formats that put `$host` first. The prefix fills `host` (and `port`) unless the
/// line names them again at its end.
///
/// Auto mode also reads an X-Forwarded-For chain logged before the client
/// (`"203.0.113.5, 198.51.100.2" 192.0.2.10 - - […]`; see README § Formats).
///
/// Auto mode also reads nginx and Apache error-log lines ([`errorlog`]): the record has
/// [`Parsed::error_log`].
pub fn parse_line(line: &str, format: Format) -> Result<Parsed<'_>, ParseError> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    // The other shapes are looked for only on a line the access layouts refuse: a line
    // they take costs nothing more.
    match parse_plain(line, format) {
        Err(first) if format == Format::Auto => other_shapes(line, first),
        plain => plain,
    }
}

/// Auto mode on a line the access layouts refused with `first`: the other shapes, in
/// README's order. Out of line, so that the common path stays small.
#[cold]
#[inline(never)]
fn other_shapes(line: &str, first: ParseError) -> Result<Parsed<'_>, ParseError> {
    let format = Format::Auto;
    // An unquoted single address before the client reads as the client and its ident
    // until the time: the error is then past column 1.
    if let Some((xff, rest)) = forwarded_prefix(line)
        && let Ok(parsed) = parse_plain(rest, format)
    {
        return Ok(with_forwarded(parsed, xff));
    }
    if first.column != 1 {
        return Err(first);
    }
    if let Some(wrapper) = syslog::unwrap(line) {
        let mut parsed = in_line(line, wrapper.message, parse_line(wrapper.message, format))?;
        parsed.rare.get_or_insert_with(Box::default).syslog = Some(wrapper);
        return Ok(parsed);
    }
    if let Some(error_line) = errorlog::parse(line) {
        return error_line;
    }
    let Some((vhost, port, rest)) = vhost_prefix(line) else {
        return Err(first);
    };
    let mut parsed = in_line(line, rest, parse_plain(rest, format))?;
    if parsed.host.is_none() && parsed.server_port.is_none() {
        parsed.host = host(vhost);
        parsed.server_port = port;
    }
    Ok(parsed)
}

/// A line that starts with `$http_x_forwarded_for` before the client, quoted or not
/// (`"203.0.113.5, 198.51.100.2" 192.0.2.10 - - […]`, `2001:db8::5, 198.51.100.2
/// 192.0.2.10 - - […]`, `"-" 192.0.2.10 …`): the chain (`None` for `-`) and the rest.
/// Every entry of the chain must be an address.
fn forwarded_prefix(line: &str) -> Option<(Option<&str>, &str)> {
    let (xff, rest) = if let Some(quoted) = line.strip_prefix('"') {
        let (xff, rest) = quoted.split_once('"')?;
        (xff, rest.strip_prefix(' ')?)
    } else {
        let mut end = memchr::memchr(b' ', line.as_bytes())?;
        while line[..end].ends_with(',') {
            end += 1 + memchr::memchr(b' ', &line.as_bytes()[end + 1..])?;
        }
        (&line[..end], &line[end + 1..])
    };
    let xff = xff.trim();
    if xff == "-" || xff.is_empty() {
        return Some((None, rest));
    }
    let all_addresses = xff.split(',').all(|e| e.trim().parse::<IpAddr>().is_ok());
    all_addresses.then_some((Some(xff), rest))
}

/// `parsed` with the chain of a [`forwarded_prefix`] before its `forwarded` entries; a
/// private client is replaced by the chain's last public address (the rule of a chained
/// client field, [`crate::client`], over the chain and then the client).
fn with_forwarded<'a>(mut parsed: Parsed<'a>, xff: Option<&'a str>) -> Parsed<'a> {
    let Some(xff) = xff else { return parsed };
    if parsed.chain.is_none() {
        parsed.chain = Some(xff);
    }
    if parsed.ip.is_some_and(crate::client::is_private) {
        let public = xff
            .rsplit(',')
            .map(str::trim)
            .filter_map(|e| Some((e, e.parse::<IpAddr>().ok()?)))
            .find(|(_, ip)| !crate::client::is_private(*ip));
        if let Some((text, ip)) = public {
            parsed.ip_text = Some(text);
            parsed.ip = Some(ip);
        }
    }
    parsed
}

/// The result of parsing `rest`, the end of `line`, with an error's column counted in
/// the whole line.
fn in_line<'a>(
    line: &str,
    rest: &str,
    result: Result<Parsed<'a>, ParseError>,
) -> Result<Parsed<'a>, ParseError> {
    let shift = u32::try_from(line.len() - rest.len()).unwrap_or(u32::MAX);
    result.map_err(|mut e| {
        e.column = e.column.saturating_add(shift);
        e
    })
}

/// A line whose first word is a host name (with a `:port`, maybe) and whose second is a
/// client address: the host, the port and the rest of the line.
fn vhost_prefix(line: &str) -> Option<(&str, Option<u16>, &str)> {
    let (first, rest) = line.split_once(' ')?;
    let second = rest.split(' ').next()?;
    parse_client(second, false)?;
    let (name, port) = match first.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') => (name, Some(port.parse::<u16>().ok()?)),
        _ => (first, None),
    };
    let hostish = |b: u8| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b);
    (!name.is_empty() && name.bytes().all(hostish)).then_some((name, port, rest))
}

/// [`parse_line`] without a virtual-host prefix.
fn parse_plain(line: &str, format: Format) -> Result<Parsed<'_>, ParseError> {
    // Auto mode: lines in the wild end with stray whitespace.
    let line = if format == Format::Auto {
        line.trim_end_matches([' ', '\t'])
    } else {
        line
    };
    let mut c = Cursor { line, pos: 0 };

    if c.at_end() {
        return Err(c.error("empty line: expected a client address"));
    }
    let mut ip_text = c.token();
    // A chain with spaces after its commas: `10.0.0.2, 10.0.0.1, 85.181.35.98 - - […`.
    while ip_text.ends_with(',') && c.rest().first() == Some(&b' ') {
        c.pos += 1;
        c.token();
        ip_text = &line[..c.pos];
    }
    let client = parse_client(ip_text, false).ok_or_else(|| {
        c.error_at(
            0,
            format_args!("invalid client address {}", Excerpt(ip_text)),
        )
    })?;
    c.space("the ident field")?;
    let _ident = c.token();
    // Auto mode: one `-` only (a format without `$remote_user`), the time right after.
    let user = if format == Format::Auto && c.rest().starts_with(b" [") {
        None
    } else {
        c.space("the user field")?;
        dash_none(c.token())
    };
    c.space("'['")?;
    c.expect(b'[')?;
    let time_start = c.pos;
    let close = memchr::memchr(b']', c.rest()).ok_or_else(|| {
        c.error_at(
            line.len(),
            "expected ']' closing the time, found end of line",
        )
    })?;
    let time_text = &line[time_start..time_start + close];
    let time = parse_log_time(time_text).map_err(|e| c.error(format_args!("invalid time: {e}")))?;
    c.pos += close + 1;
    c.space("the request")?;
    let request = c.quoted("request")?;
    let (method, target, protocol) = split_request(request);
    c.space("the status")?;
    let status_pos = c.pos;
    let status_text = c.token();
    let status = match status_text {
        "-" => None,
        s => Some(
            s.parse::<u16>()
                .ok()
                .filter(|s| (100..=999).contains(s))
                .ok_or_else(|| c.error_at(status_pos, "expected a status code"))?,
        ),
    };
    c.space("the body size")?;
    let bytes_pos = c.pos;
    let bytes = match c.token() {
        "-" => None,
        s => Some(
            s.parse::<u64>()
                .map_err(|_| c.error_at(bytes_pos, "expected a byte count or '-'"))?,
        ),
    };

    let mut parsed = Parsed {
        ip_text: Some(client.text),
        ip: client.ip,
        chain: client.chain,
        user,
        time: Some(time),
        request: Some(request),
        method,
        target,
        protocol,
        status,
        bytes,
        ..Parsed::default()
    };
    let auto = format == Format::Auto;
    if c.at_end() {
        return match format {
            Format::Auto | Format::Common => Ok(parsed),
            _ => Err(c.error("expected the referer, found end of line")),
        };
    }
    if format == Format::Common {
        return Err(c.error("expected end of line after the body size (common format)"));
    }
    if auto && !c.rest().starts_with(b" \"") {
        trailing(&mut c, &mut parsed.extra)?;
        return Ok(parsed);
    }
    c.space("the referer")?;
    parsed.referer = dash_none(c.quoted("referer")?);
    c.space("the User-Agent")?;
    parsed.user_agent = dash_none(c.quoted("User-Agent")?);
    if c.at_end() {
        return match format {
            Format::Auto | Format::Combined => Ok(parsed),
            _ => Err(c.error("expected the X-Forwarded-For field, found end of line")),
        };
    }
    if format == Format::Combined {
        return Err(c.error("expected end of line after the User-Agent (combined format)"));
    }
    if auto && !c.rest().starts_with(b" \"") {
        trailing(&mut c, &mut parsed.extra)?;
        return Ok(parsed);
    }
    c.space("the X-Forwarded-For field")?;
    parsed.forwarded = dash_none(c.quoted("X-Forwarded-For field")?);
    if c.at_end() {
        return Ok(parsed);
    }
    let before_port = c.pos;
    c.space("the server port")?;
    let port_pos = c.pos;
    let port = c.token();
    parsed.server_port = match port {
        "-" => None,
        p => match p.parse::<u16>() {
            Ok(p) => Some(p),
            Err(_) if auto => {
                c.pos = before_port;
                trailing(&mut c, &mut parsed.extra)?;
                return Ok(parsed);
            }
            Err(_) => return Err(c.error_at(port_pos, "expected a server port")),
        },
    };
    if c.at_end() {
        return Ok(parsed);
    }
    c.space("the host")?;
    parsed.host = host(c.token());
    if !c.at_end() {
        if auto {
            trailing(&mut c, &mut parsed.extra)?;
        } else {
            return Err(c.error("unexpected text after the host"));
        }
    }
    Ok(parsed)
}

/// `$host` with the brackets of an IPv6 literal removed; `None` for `-`.
pub fn host(text: &str) -> Option<&str> {
    dash_none(
        text.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(text),
    )
}

/// The names of the unknown trailing fields auto mode keeps in `extra`.
const TRAILING: [&str; 8] = [
    "trailing_1",
    "trailing_2",
    "trailing_3",
    "trailing_4",
    "trailing_5",
    "trailing_6",
    "trailing_7",
    "trailing_8",
];

/// Auto mode: the rest of the line as unknown fields, each a word or a quoted string,
/// separated by spaces. The last name takes whatever is left.
fn trailing<'a>(c: &mut Cursor<'a>, extra: &mut Vec<(&'a str, &'a str)>) -> Result<(), ParseError> {
    while !c.at_end() {
        c.space("another field")?;
        while c.rest().first() == Some(&b' ') {
            c.pos += 1;
        }
        let value = if extra.len() + 1 == TRAILING.len() {
            let rest = &c.line[c.pos..];
            c.pos = c.line.len();
            rest
        } else if c.rest().first() == Some(&b'"') {
            c.quoted("field")?
        } else {
            c.token()
        };
        extra.push((TRAILING[extra.len()], value));
    }
    Ok(())
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
