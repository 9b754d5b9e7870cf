//! Compiling a format string: nginx `$variables` and Apache `%directives` into the
//! literal/field list of a [`LogFormat`], with errors that point at the column.

use super::{Dialect, End, Field, FormatError, Item, LogFormat, Var};

/// A format string as pasted from a config file: nginx's `'…' '…'` pieces are joined,
/// Apache's `\"`, `\\`, `\t`, `\n` are unescaped.
fn unquote(text: &str, dialect: Dialect) -> String {
    let trimmed = text.trim();
    match dialect {
        Dialect::Nginx if trimmed.starts_with('\'') => {
            let mut out = String::new();
            let mut rest = trimmed;
            while let Some(after) = rest.strip_prefix('\'') {
                match after.find('\'') {
                    Some(end) => {
                        out.push_str(&after[..end]);
                        rest = after[end + 1..].trim_start();
                    }
                    None => return text.to_string(),
                }
            }
            if rest.is_empty() {
                out
            } else {
                text.to_string()
            }
        }
        Dialect::Nginx => text.to_string(),
        Dialect::Apache => {
            let mut out = String::with_capacity(text.len());
            let mut chars = text.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some(other) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                }
            }
            out
        }
    }
}

/// A token of a format string: literal text, or a variable with its column.
enum Token {
    Literal(String),
    Var {
        var: Var,
        name: String,
        column: usize,
    },
}

fn err(column: usize, reason: impl Into<String>) -> FormatError {
    FormatError {
        column,
        reason: reason.into(),
    }
}

fn nginx_var(name: &str) -> Var {
    match name {
        "remote_addr" => Var::Client { names: false },
        "remote_user" => Var::User,
        "time_local" => Var::TimeLocal,
        "time_iso8601" => Var::TimeIso8601,
        "msec" => Var::Epoch { per_second: 1 },
        "request" => Var::Request,
        "request_method" => Var::Method,
        "request_uri" => Var::Target,
        "server_protocol" => Var::Protocol,
        "status" => Var::Status,
        "body_bytes_sent" => Var::BodyBytes,
        "bytes_sent" => Var::BytesSent,
        "http_referer" => Var::Referer,
        "http_user_agent" => Var::UserAgent,
        "http_x_forwarded_for" => Var::Forwarded,
        "server_port" => Var::ServerPort,
        "host" => Var::Host,
        "request_time" => Var::RequestTime { scale: 1.0 },
        "upstream_response_time" => Var::UpstreamResponseTime,
        other => Var::Extra(other.to_string()),
    }
}

fn nginx_tokens(text: &str) -> Result<Vec<Token>, FormatError> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            let next = text[i..].find('$').map_or(text.len(), |o| i + o);
            literal.push_str(&text[i..next]);
            i = next;
            continue;
        }
        let column = i + 1;
        let (name, after) = if b.get(i + 1) == Some(&b'{') {
            let close = text[i..]
                .find('}')
                .ok_or_else(|| err(column, "'${' without its closing '}'"))?;
            (&text[i + 2..i + close], i + close + 1)
        } else {
            let len = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            (&text[i + 1..i + 1 + len], i + 1 + len)
        };
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return Err(err(column, "expected a variable name after '$'"));
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(Token::Var {
            var: nginx_var(name),
            name: format!("${name}"),
            column,
        });
        i = after;
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

/// `User-Agent` → `user_agent`.
fn snake(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

fn apache_var(letter: char, param: Option<&str>) -> Option<Var> {
    let extra = |s: &str| Some(Var::Extra(s.to_string()));
    let named = |prefix: &str| param.map(|p| Var::Extra(format!("{prefix}{}", snake(p))));
    match (letter, param) {
        ('h', _) => Some(Var::Client { names: true }),
        ('a', _) => Some(Var::Client { names: false }),
        ('l', _) => Some(Var::Ident),
        ('u', _) => Some(Var::User),
        ('t', None) => Some(Var::TimeBracketed),
        ('t', Some(f)) => {
            let f = f
                .strip_prefix("begin:")
                .or_else(|| f.strip_prefix("end:"))
                .unwrap_or(f);
            match f {
                "sec" => Some(Var::Epoch { per_second: 1 }),
                "msec" => Some(Var::Epoch { per_second: 1000 }),
                "usec" => Some(Var::Epoch {
                    per_second: 1_000_000,
                }),
                "%d/%b/%Y:%H:%M:%S %z" => Some(Var::TimeLocal),
                other => Some(Var::Extra(format!("time:{other}"))),
            }
        }
        ('r', _) => Some(Var::Request),
        ('s', _) => Some(Var::Status),
        ('b' | 'B', _) => Some(Var::BodyBytes),
        ('O', _) => Some(Var::BytesSent),
        ('I', _) => extra("bytes_received"),
        ('S', _) => extra("bytes_transferred"),
        ('D', _) => Some(Var::RequestTime { scale: 1e-6 }),
        ('T', None | Some("s")) => Some(Var::RequestTime { scale: 1.0 }),
        ('T', Some("ms")) => Some(Var::RequestTime { scale: 1e-3 }),
        ('T', Some("us")) => Some(Var::RequestTime { scale: 1e-6 }),
        ('i', Some(h)) => Some(match snake(h).as_str() {
            "referer" => Var::Referer,
            "user_agent" => Var::UserAgent,
            "x_forwarded_for" => Var::Forwarded,
            "host" => Var::Host,
            other => Var::Extra(format!("http_{other}")),
        }),
        ('o', _) => named("sent_http_"),
        ('e', _) => named("env_"),
        ('C', _) => named("cookie_"),
        ('n', _) => named("note_"),
        ('v' | 'V', _) => Some(Var::Host),
        ('p', None | Some("canonical" | "local")) => Some(Var::ServerPort),
        ('p', Some("remote")) => extra("remote_port"),
        ('m', _) => Some(Var::Method),
        ('U', _) => Some(Var::Target),
        ('H', _) => Some(Var::Protocol),
        ('q', _) => extra("query_string"),
        ('X', _) => extra("connection_status"),
        ('k', _) => extra("keepalive"),
        ('L', _) => extra("log_id"),
        ('P', _) => extra("pid"),
        ('f', _) => extra("filename"),
        ('A', _) => extra("server_addr"),
        ('R', _) => extra("handler"),
        _ => None,
    }
}

fn apache_tokens(text: &str) -> Result<Vec<Token>, FormatError> {
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            let next = text[i..].find('%').map_or(text.len(), |o| i + o);
            literal.push_str(&text[i..next]);
            i = next;
            continue;
        }
        let column = i + 1;
        let mut j = i + 1;
        if b.get(j) == Some(&b'%') {
            literal.push('%');
            i = j + 1;
            continue;
        }
        // Modifiers: status conditions (`%!200,304{…}i`) and `<`/`>` (original/final).
        while j < b.len() && (b[j].is_ascii_digit() || matches!(b[j], b'!' | b',' | b'<' | b'>')) {
            j += 1;
        }
        let mut param = None;
        if b.get(j) == Some(&b'{') {
            let close = text[j..]
                .find('}')
                .ok_or_else(|| err(column, "'%{' without its closing '}'"))?;
            param = Some(&text[j + 1..j + close]);
            j += close + 1;
        }
        let letter = text[j..]
            .chars()
            .next()
            .ok_or_else(|| err(column, "expected a directive letter after '%'"))?;
        let name = &text[i..j + letter.len_utf8()];
        let var = apache_var(letter, param).ok_or_else(|| {
            err(
                column,
                format!("{name}: not a LogFormat directive this parser knows"),
            )
        })?;
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(&mut literal)));
        }
        tokens.push(Token::Var {
            var,
            name: name.to_string(),
            column,
        });
        i = j + letter.len_utf8();
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    Ok(tokens)
}

/// Compiles a format string of `dialect`.
pub(super) fn compile(text: &str, dialect: Dialect) -> Result<LogFormat, FormatError> {
    let text = unquote(text, dialect);
    let tokens = match dialect {
        Dialect::Nginx => nginx_tokens(&text)?,
        Dialect::Apache => apache_tokens(&text)?,
    };
    if !tokens.iter().any(|t| matches!(t, Token::Var { .. })) {
        return Err(err(1, "the format has no variable"));
    }
    let mut items: Vec<Item> = Vec::with_capacity(tokens.len());
    let mut previous_var: Option<(String, usize)> = None;
    for (k, token) in tokens.iter().enumerate() {
        match token {
            Token::Literal(l) => {
                items.push(Item::Literal(l.as_bytes().to_vec()));
                previous_var = None;
            }
            Token::Var { var, name, column } => {
                if let Some((before, _)) = &previous_var {
                    return Err(err(
                        *column,
                        format!(
                            "{name} directly follows {before}: no text between them to tell where one ends"
                        ),
                    ));
                }
                let end = match tokens.get(k + 1) {
                    Some(Token::Literal(next)) => End::Literal {
                        lit: next.as_bytes().to_vec(),
                        quoted: next.starts_with('"')
                            && k > 0
                            && matches!(&tokens[k - 1], Token::Literal(l) if l.ends_with('"')),
                    },
                    _ => End::Line,
                };
                items.push(Item::Field(Field {
                    var: var.clone(),
                    name: name.clone(),
                    column: *column,
                    end,
                }));
                previous_var = Some((name.clone(), *column));
            }
        }
    }
    Ok(LogFormat {
        keeps_trailing_space: text.ends_with([' ', '\t']),
        items,
    })
}
