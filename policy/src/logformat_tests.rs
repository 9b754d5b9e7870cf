//! Custom formats: compile errors, matching of nginx and Apache layouts, the agreement of
//! a custom honeypot layout with the built-in parser, and hostile lines.

use proptest::prelude::*;

use super::*;
use crate::parse::{Format, parse_line};

const HONEYPOT: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
    $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\" \
    $server_port $host";

fn nginx(f: &str) -> LogFormat {
    LogFormat::new(f, Dialect::Nginx).unwrap_or_else(|e| panic!("{f}: {e:?}"))
}

fn apache(f: &str) -> LogFormat {
    LogFormat::new(f, Dialect::Apache).unwrap_or_else(|e| panic!("{f}: {e:?}"))
}

#[test]
fn compile_errors_point_at_the_variable() {
    let e = LogFormat::new("$remote_addr $status$body_bytes_sent", Dialect::Nginx).unwrap_err();
    assert_eq!(e.column, 21);
    assert!(
        e.reason
            .contains("$body_bytes_sent directly follows $status"),
        "{}",
        e.reason
    );
    let e = LogFormat::new("$remote_addr $ x", Dialect::Nginx).unwrap_err();
    assert_eq!(e.column, 14);
    let e = LogFormat::new("${remote_addr", Dialect::Nginx).unwrap_err();
    assert_eq!(e.column, 1);
    let e = LogFormat::new("just text", Dialect::Nginx).unwrap_err();
    assert!(e.reason.contains("no variable"));
    let e = LogFormat::new("%h %l %Z", Dialect::Apache).unwrap_err();
    assert_eq!(e.column, 7);
    assert!(e.reason.starts_with("%Z"), "{}", e.reason);
    let e = LogFormat::new("%h %{Referer", Dialect::Apache).unwrap_err();
    assert_eq!(e.column, 4);
    let e = LogFormat::new("%h %", Dialect::Apache).unwrap_err();
    assert_eq!(e.column, 4);
}

#[test]
fn the_honeypot_layout_agrees_with_the_built_in_parser() {
    let f = nginx(HONEYPOT);
    for line in [
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession HTTP/1.1" 404 232 "-" "Python-urllib/3.8" "-" 443 198.51.100.77"#,
        r#"2001:db8:1:c84::2de - alice [18/Jul/2022:03:31:53 +0200] "GET /favicon.ico HTTP/1.1" 404 232 "-" "Mozilla/5.0 zgrab/0.x" "203.0.113.5, 198.51.100.2" 443 [2001:db8:60::face]"#,
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "\x16\x03\x01\x00" 400 157 "-" "-" "-" 443 -"#,
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /a\"b HTTP/1.1" 200 - "-" "say \"hi\"" "-" 80 h"#,
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "" 400 0 "-" "-" "-" 80 h  "#,
    ] {
        let custom = f.parse(line).unwrap_or_else(|e| panic!("{line}\n{e:?}"));
        let builtin = parse_line(line, Format::Auto).unwrap();
        assert_eq!(custom, builtin, "{line}");
    }
}

#[test]
fn apache_combined_with_escapes_and_timing() {
    let f = apache(
        r#"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\" %D %{X-Request-Id}i"#,
    );
    let line = r#"host.example - bob [19/Jul/2022:13:23:20 +0200] "GET /q?x=\"1\" HTTP/1.1" 200 - "-" "curl \"x\"" 1500 abc-1"#;
    let p = f.parse(line).unwrap();
    assert_eq!((p.ip_text, p.ip), (Some("host.example"), None));
    assert_eq!(p.user, Some("bob"));
    assert_eq!(p.time.unwrap().offset, "+0200");
    assert_eq!(p.target, Some(r#"/q?x=\"1\""#));
    assert_eq!((p.status, p.bytes), (Some(200), None));
    assert_eq!(p.user_agent, Some(r#"curl \"x\""#));
    assert_eq!(p.request_time, Some(0.0015));
    assert_eq!(p.extra, [("http_x_request_id", "abc-1")]);
}

#[test]
fn nginx_extras_iso_time_lists_and_pasted_config() {
    let f = nginx(
        "'$remote_addr [$time_iso8601] \"$request\" $status $request_time ' \
         '$upstream_response_time $ssl_protocol \"$http_cookie\"'",
    );
    let line = r#"10.0.0.2, 10.0.0.1, 85.181.35.98 [2022-07-19T13:23:20+02:00] "GET / HTTP/2.0" 200 0.012 0.004, 0.008 : 0.001 TLSv1.3 "a=b""#;
    let p = f.parse(line).unwrap();
    assert_eq!(p.ip_text, Some("85.181.35.98"));
    assert_eq!(p.chain, Some("10.0.0.2, 10.0.0.1, 85.181.35.98"));
    assert_eq!(p.time.unwrap().utc_rfc3339(), "2022-07-19T11:23:20Z");
    assert_eq!(p.request_time, Some(0.012));
    assert_eq!(p.upstream_response_time, Some("0.004, 0.008 : 0.001"));
    assert_eq!(
        p.extra,
        [("ssl_protocol", "TLSv1.3"), ("http_cookie", "a=b")]
    );
}

#[test]
fn msec_and_unix_clients_and_time_local_without_brackets() {
    let f = nginx("$msec $remote_addr $time_local $status");
    let p = f
        .parse("1658229800.123 unix: 19/Jul/2022:13:23:20 +0200 200")
        .unwrap();
    assert_eq!((p.ip_text, p.ip), (Some("unix:"), None));
    assert_eq!(p.time.unwrap().utc_rfc3339(), "2022-07-19T11:23:20Z");
    assert_eq!(p.status, Some(200));
    let f = nginx("$msec $status");
    let p = f.parse("1658229800.123 200").unwrap();
    assert_eq!(
        (
            p.time.unwrap().utc_rfc3339().as_str(),
            p.time.unwrap().offset
        ),
        ("2022-07-19T11:23:20Z", "")
    );
}

#[test]
fn bad_lines_name_the_variable_and_column() {
    let f = nginx(HONEYPOT);
    let e = f
        .parse(r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 2x0 232 "-" "-" "-" 443 h"#)
        .unwrap_err();
    assert_eq!(e.column, 62);
    assert!(e.reason.starts_with("$status:"), "{}", e.reason);
    let e = f.parse("nope - - [x").unwrap_err();
    assert_eq!(e.column, 1);
    assert!(e.reason.contains("$remote_addr"), "{}", e.reason);
    let e = f
        .parse(r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1"#)
        .unwrap_err();
    assert!(e.reason.contains("$body_bytes_sent"), "{}", e.reason);
    let e = nginx("$remote_addr $status")
        .parse("192.0.2.1 200 extra")
        .unwrap_err();
    assert!(e.reason.contains("$status"), "{}", e.reason);
}

#[test]
fn hostile_lines() {
    let f = nginx(HONEYPOT);
    let huge = format!(
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /{} HTTP/1.1" 200 1 "-" "-" "-" 443 h"#,
        "\\\"".repeat(200_000)
    );
    assert_eq!(f.parse(&huge).unwrap().status, Some(200));
    let quotes = "\"".repeat(100_000);
    assert!(f.parse(&quotes).is_err());
    let open = format!(
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "{}"#,
        "\\".repeat(100_001)
    );
    assert!(f.parse(&open).is_err());
}

proptest! {
    #[test]
    fn never_panics(line in "[ -~]{0,200}") {
        let _ = nginx(HONEYPOT).parse(&line);
        let _ = apache(r#"%h %l %u %t \"%r\" %>s %b %D"#).parse(&line);
    }

    #[test]
    fn compiling_never_panics(fmt in "[ -~]{0,60}") {
        let _ = LogFormat::new(&fmt, Dialect::Nginx);
        let _ = LogFormat::new(&fmt, Dialect::Apache);
    }

    #[test]
    fn quoted_values_round_trip(ua in r#"([a-zA-Z0-9 /.;()]|\\"){0,40}"#) {
        let f = nginx("$remote_addr \"$http_user_agent\" $status");
        let line = format!("192.0.2.1 \"{ua}\" 200");
        let p = f.parse(&line).unwrap();
        prop_assert_eq!(p.user_agent, crate::parse::dash_none(&ua));
        prop_assert_eq!(p.status, Some(200));
    }
}

/// One variable of a generated format: how it is written in the format, and a value.
#[derive(Debug, Clone)]
enum Piece {
    Addr(std::net::IpAddr),
    Status(u16),
    Bytes(u64),
    Agent(String),
    Custom(String),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        any::<std::net::IpAddr>().prop_map(Piece::Addr),
        (100u16..1000).prop_map(Piece::Status),
        any::<u64>().prop_map(Piece::Bytes),
        "([a-zA-Z0-9 /.;()]|\\\\\"){1,30}".prop_map(Piece::Agent),
        // A lone `:` between spaces is the ` : ` separator of a list (`$remote_addr`
        // chains, upstream times), which by design does not end the list before it.
        "[a-zA-Z0-9_.:/-]{1,20}"
            .prop_filter("a list separator", |c| c != ":")
            .prop_map(Piece::Custom),
    ]
}

proptest! {
    #[test]
    fn generated_formats_read_back_their_values(
        pieces in proptest::collection::vec(piece(), 1..7),
        seps in proptest::collection::vec(prop_oneof![Just(" "), Just(" | "), Just("\t"), Just(" - ")], 6),
    ) {
        let mut format = String::new();
        let mut line = String::new();
        for (i, p) in pieces.iter().enumerate() {
            if i > 0 {
                format.push_str(seps[i - 1]);
                line.push_str(seps[i - 1]);
            }
            let (f, v) = match p {
                Piece::Addr(ip) => ("$remote_addr".to_string(), ip.to_string()),
                Piece::Status(s) => ("$status".to_string(), s.to_string()),
                Piece::Bytes(b) => ("$body_bytes_sent".to_string(), b.to_string()),
                Piece::Agent(a) => ("\"$http_user_agent\"".to_string(), format!("\"{a}\"")),
                Piece::Custom(c) => (format!("$x{i}"), c.clone()),
            };
            format.push_str(&f);
            line.push_str(&v);
        }
        let f = LogFormat::new(&format, Dialect::Nginx).unwrap();
        let p = f.parse(&line).map_err(|e| TestCaseError::fail(format!("{format}\n{line}\n{e:?}")))?;
        // The last value of each kind wins, as in the record.
        for (i, piece) in pieces.iter().enumerate() {
            let last = |same: &dyn Fn(&Piece) -> bool| pieces[i + 1..].iter().all(|q| !same(q));
            match piece {
                Piece::Addr(ip) if last(&|q| matches!(q, Piece::Addr(_))) => prop_assert_eq!(p.ip, Some(*ip)),
                Piece::Status(s) if last(&|q| matches!(q, Piece::Status(_))) => prop_assert_eq!(p.status, Some(*s)),
                Piece::Bytes(b) if last(&|q| matches!(q, Piece::Bytes(_))) => prop_assert_eq!(p.bytes, Some(*b)),
                Piece::Agent(a) if last(&|q| matches!(q, Piece::Agent(_))) => {
                    prop_assert_eq!(p.user_agent, crate::parse::dash_none(a));
                }
                Piece::Custom(c) => {
                    let name = format!("x{i}");
                    let got = p.extra.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
                    prop_assert_eq!(got, Some(c.as_str()));
                }
                _ => {}
            }
        }
    }
}

#[test]
fn apache_combined_and_common_agree_with_the_built_in_layouts() {
    let combined = apache(r#"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\""#);
    let common = apache("%h %l %u %t \"%r\" %>s %b");
    for line in [
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 612 "-" "-""#,
        r#"2001:db8::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#,
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /q?a=\"b\" HTTP/1.1" 404 - "-" "x \"y\" z""#,
    ] {
        assert_eq!(
            combined.parse(line).unwrap(),
            parse_line(line, Format::Combined).unwrap(),
            "{line}"
        );
        // The common part: up to the space before the referer's opening quote.
        let cut = line.match_indices(" \"").nth(1).map(|(i, _)| i).unwrap();
        let short = &line[..cut];
        assert_eq!(
            common.parse(short).unwrap(),
            parse_line(short, Format::Common).unwrap(),
            "{short}"
        );
    }
}

/// A line that misses a long literal of the format says which one by its first
/// characters: the message does not grow with the literal (a fuzzed format of 30 KB of
/// literal made every line's error record 30 KB, and the run 10× slower).
#[test]
fn a_long_literal_is_cut_in_the_error() {
    let literal = "x".repeat(5000);
    let f = nginx(&format!("$remote_addr {literal}$status"));
    let e = f.parse("192.0.2.1 yyy 200").unwrap_err();
    assert!(e.reason.contains("\" xxxxxxxxxx"), "{}", e.reason);
    assert!(e.reason.contains("x\"…"), "{}", e.reason);
    assert!(
        e.reason.len() < 120,
        "{} bytes: {}",
        e.reason.len(),
        e.reason
    );
    let short = nginx("$remote_addr -- $status")
        .parse("192.0.2.1 ++ 200")
        .unwrap_err();
    assert!(short.reason.contains("\" -- \""), "{}", short.reason);
    assert!(!short.reason.contains('…'), "{}", short.reason);
}
