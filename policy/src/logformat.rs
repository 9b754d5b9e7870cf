//! Custom layouts: an nginx `log_format` string or an Apache `LogFormat` string, compiled
//! once (at `configure`) into a matcher.
//!
//! A compiled format is a list of literals and fields. A line is matched left to right:
//! a literal must be there byte for byte; a field's value runs up to the next occurrence
//! of the literal that follows it (to the end of the line for a last field). Quoted
//! fields (a variable between `"`s) end only at a quote that is not escaped by an odd
//! number of backslashes, as in the built-in parser, so Apache's `\"` stays inside a
//! value. Three values may contain what follows them and are found by shape instead:
//! `$time_local` (one space inside), Apache's `%t` (up to its `]`), and lists
//! (`$remote_addr` chains, `$upstream_response_time`) whose `, ` and ` : ` separators do
//! not end them. Known variables fill the record's keys (see [`Var`]); any other lands in
//! `extra` under its name.
//!
//! Hand-written rather than turned into a regex: the matcher is the product's core. It
//! needs no backtracking (one `memchr` per field, like the built-in parser, whose speed
//! is the bar), the quoted-field and list rules are not regular-expression friendly, and
//! an error can name the variable whose value was wrong and the column where it starts.

use crate::client::parse_client;
use crate::excerpt::Excerpt;
use crate::parse::{ParseError, Parsed, dash_none, host, split_request};
use crate::time::{LogTime, parse_epoch, parse_iso8601, parse_log_time};

#[path = "logformat_compile.rs"]
mod compile;

/// What a variable means for the record.
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    /// `$remote_addr`, `%a`, `%h` (`names`: a host name is accepted).
    Client {
        /// A host name may stand for the address (Apache `%h`).
        names: bool,
    },
    /// `$remote_user`, `%u`.
    User,
    /// `%l` (identd): dropped.
    Ident,
    /// `$time_local`: `19/Jul/2022:13:23:20 +0200`.
    TimeLocal,
    /// `%t`: `[19/Jul/2022:13:23:20 +0200]`.
    TimeBracketed,
    /// `$time_iso8601`: `2022-07-19T13:23:20+02:00`.
    TimeIso8601,
    /// `$msec`, `%{sec}t`, `%{msec}t`, `%{usec}t`: seconds since the epoch, with this many
    /// units per second when the value is an integer (`$msec` has a fraction).
    Epoch {
        /// Units per second of an integer value (1, 1000, 1000000).
        per_second: u32,
    },
    /// `$request`, `%r`.
    Request,
    /// `$request_method`, `%m`.
    Method,
    /// `$request_uri`, `%U`.
    Target,
    /// `$server_protocol`, `%H`.
    Protocol,
    /// `$status`, `%s`, `%>s`.
    Status,
    /// `$body_bytes_sent`, `%b`, `%B`.
    BodyBytes,
    /// `$bytes_sent`, `%O`.
    BytesSent,
    /// `$http_referer`, `%{Referer}i`.
    Referer,
    /// `$http_user_agent`, `%{User-Agent}i`.
    UserAgent,
    /// `$http_x_forwarded_for`, `%{X-Forwarded-For}i`.
    Forwarded,
    /// `$server_port`, `%p`.
    ServerPort,
    /// `$host`, `%v`, `%V`, `%{Host}i`.
    Host,
    /// `$request_time` (seconds), `%D` (microseconds), `%T` (seconds, or `%{ms}T`…):
    /// the value times `scale` is seconds.
    RequestTime {
        /// Seconds per unit of the value.
        scale: f64,
    },
    /// `$upstream_response_time`.
    UpstreamResponseTime,
    /// Any other variable: `extra[name]`.
    Extra(String),
}

/// Where a field's value ends.
#[derive(Debug, Clone, PartialEq)]
enum End {
    /// At the next occurrence of this literal (not escaped, when `quoted`).
    Literal { lit: Vec<u8>, quoted: bool },
    /// At the end of the line.
    Line,
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    var: Var,
    /// The variable as written, e.g. `$status` or `%>s`.
    name: String,
    /// Its 1-based column in the format string.
    column: usize,
    end: End,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(Vec<u8>),
    Field(Field),
}

/// Which server's syntax a format string is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// nginx `log_format`: `$var`, `${var}`.
    Nginx,
    /// Apache `LogFormat`: `%h`, `%>s`, `%{Name}i`.
    Apache,
}

/// A compiled custom format.
#[derive(Debug, Clone, PartialEq)]
pub struct LogFormat {
    items: Vec<Item>,
    /// Whether the format itself ends in whitespace (else a line's trailing whitespace
    /// is ignored).
    keeps_trailing_space: bool,
}

/// A format string that does not compile: the 1-based column and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// Column in the format string (after unquoting a pasted config value).
    pub column: usize,
    /// What is wrong, naming the variable.
    pub reason: String,
}

impl LogFormat {
    /// Compiles a format string.
    pub fn new(text: &str, dialect: Dialect) -> Result<Self, FormatError> {
        compile::compile(text, dialect)
    }

    /// Parses one line (a trailing `\r` and, unless the format ends in whitespace, any
    /// trailing spaces or tabs are ignored).
    pub fn parse<'a>(&'a self, line: &'a str) -> Result<Parsed<'a>, ParseError> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = if self.keeps_trailing_space {
            line
        } else {
            line.trim_end_matches([' ', '\t'])
        };
        let bytes = line.as_bytes();
        let mut parsed = Parsed::default();
        let mut pos = 0;
        for item in &self.items {
            match item {
                Item::Literal(lit) => {
                    if !bytes[pos..].starts_with(lit) {
                        return Err(error(
                            pos,
                            format_args!(
                                "expected {}{}",
                                shown(lit),
                                if pos == bytes.len() {
                                    ", found end of line"
                                } else {
                                    ""
                                }
                            ),
                        ));
                    }
                    pos += lit.len();
                }
                Item::Field(f) => {
                    let end = find_end(bytes, pos, f).ok_or_else(|| match &f.end {
                        End::Literal { lit, .. } => error(
                            pos,
                            format_args!(
                                "no {} after {} (format column {})",
                                shown(lit),
                                f.name,
                                f.column
                            ),
                        ),
                        End::Line => error(pos, "unreachable"),
                    })?;
                    assign(&mut parsed, f, &line[pos..end])
                        .map_err(|why| error(pos, format_args!("{}: {why}", f.name)))?;
                    pos = end;
                }
            }
        }
        if pos < bytes.len() {
            return Err(error(
                pos,
                "unexpected text after the last field of the format",
            ));
        }
        Ok(parsed)
    }
}

fn error(pos: usize, what: impl std::fmt::Display) -> ParseError {
    ParseError {
        column: u32::try_from(pos + 1).unwrap_or(u32::MAX),
        reason: what.to_string(),
    }
}

/// Whether the byte at `i` (a space) separates list entries: `a, b` or `a : b`.
fn in_list(hay: &[u8], start: usize, i: usize) -> bool {
    (i > start && hay[i - 1] == b',')
        || hay[i + 1..].starts_with(b": ")
        || (i >= start + 2 && hay[i - 1] == b':' && hay[i - 2] == b' ')
}

/// The end of field `f`'s value, which starts at `start`.
fn find_end(hay: &[u8], start: usize, f: &Field) -> Option<usize> {
    let End::Literal { lit, quoted } = &f.end else {
        return Some(hay.len());
    };
    let mut from = start;
    match f.var {
        // One space inside the value: `19/Jul/2022:13:23:20 +0200`.
        Var::TimeLocal if lit[0] == b' ' => {
            from += memchr::memchr(b' ', &hay[from..])? + 1;
        }
        // `[…]`: up to the closing bracket.
        Var::TimeBracketed => from += memchr::memchr(b']', &hay[from..])? + 1,
        _ => {}
    }
    let list = matches!(
        f.var,
        Var::Client { .. } | Var::UpstreamResponseTime | Var::Forwarded
    ) && !quoted;
    loop {
        let i = from + memchr::memchr(lit[0], &hay[from..])?;
        let escaped = *quoted
            && hay[start..i]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count()
                % 2
                == 1;
        if !escaped
            && hay[i..].starts_with(lit)
            && !(list && lit[0] == b' ' && in_list(hay, start, i))
        {
            return Some(i);
        }
        from = i + 1;
    }
}

fn number<T: std::str::FromStr>(value: &str, what: &str) -> Result<Option<T>, String> {
    match value {
        "-" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| format!("expected {what} or '-', found {}", Excerpt(v))),
    }
}

/// Stores a field's value in the record.
fn assign<'a>(p: &mut Parsed<'a>, f: &'a Field, v: &'a str) -> Result<(), String> {
    match &f.var {
        Var::Client { names } => {
            let c = parse_client(v, *names)
                .ok_or_else(|| format!("invalid client address {}", Excerpt(v)))?;
            p.ip_text = Some(c.text);
            p.ip = c.ip;
            p.chain = c.chain;
        }
        Var::User => p.user = dash_none(v),
        Var::Ident => {}
        Var::TimeLocal => {
            p.time = Some(parse_log_time(v).map_err(|e| format!("invalid time: {e}"))?)
        }
        Var::TimeBracketed => {
            let inner = v
                .strip_prefix('[')
                .and_then(|v| v.strip_suffix(']'))
                .ok_or_else(|| format!("expected [time], found {}", Excerpt(v)))?;
            p.time = Some(parse_log_time(inner).map_err(|e| format!("invalid time: {e}"))?);
        }
        Var::TimeIso8601 => p.time = Some(parse_iso8601(v)?),
        Var::Epoch { per_second } => {
            p.time = Some(LogTime {
                instant: parse_epoch(v, *per_second)?,
                offset: "",
                local: false,
            });
        }
        Var::Request => {
            p.request = Some(v);
            (p.method, p.target, p.protocol) = split_request(v);
        }
        Var::Method => p.method = dash_none(v),
        Var::Target => p.target = dash_none(v),
        Var::Protocol => p.protocol = dash_none(v),
        Var::Status => {
            p.status = number::<u16>(v, "a status code")?;
            if p.status.is_some_and(|s| !(100..=999).contains(&s)) {
                return Err(format!("expected a status code, found {}", Excerpt(v)));
            }
        }
        Var::BodyBytes => p.bytes = number(v, "a byte count")?,
        Var::BytesSent => p.bytes_sent = number(v, "a byte count")?,
        Var::Referer => p.referer = dash_none(v),
        Var::UserAgent => p.user_agent = dash_none(v),
        Var::Forwarded => p.forwarded = dash_none(v),
        Var::ServerPort => p.server_port = number(v, "a port")?,
        Var::Host => p.host = host(v),
        Var::RequestTime { scale } => {
            p.request_time = number::<f64>(v, "a number")?
                .filter(|t| t.is_finite())
                .map(|t| t * scale);
        }
        Var::UpstreamResponseTime => p.upstream_response_time = dash_none(v),
        Var::Extra(name) => p.extra.push((name, v)),
    }
    Ok(())
}

/// Characters of a format's literal shown in a line's error message.
const SHOWN: usize = 40;

/// `lit` quoted for an error message, cut after [`SHOWN`] characters (`"..."…`): a
/// format's literal may be kilobytes long, and every line that misses it has the message.
fn shown(lit: &[u8]) -> String {
    let text = String::from_utf8_lossy(lit);
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
#[path = "logformat_tests.rs"]
mod tests;
