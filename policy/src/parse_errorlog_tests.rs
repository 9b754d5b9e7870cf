//! Error-log lines of nginx and Apache, each shape with its fields, and lines that look
//! like them but are not.

use crate::parse::{Format, Parsed, parse_line};

use super::ErrorLog;

fn parse(line: &str) -> Parsed<'_> {
    parse_line(line, Format::Auto).unwrap_or_else(|e| panic!("{e:?}: {line}"))
}

fn error_log<'a>(p: &'a Parsed<'_>) -> &'a ErrorLog<'a> {
    p.error_log().expect("an error-log record")
}

fn utc(p: &Parsed<'_>) -> String {
    p.time.as_ref().map(|t| t.utc_rfc3339()).unwrap_or_default()
}

#[test]
fn nginx_lines_with_their_context() {
    let line = r#"2023/09/08 13:50:28 [error] 7164#7164: *20 limiting requests, excess: 50.416 by zone "api", client: 198.51.100.7, server: example.org, request: "GET /a?b=1 HTTP/2.0", host: "example.org""#;
    let p = parse(line);
    let e = error_log(&p);
    assert_eq!(
        (p.ip_text, p.ip),
        (Some("198.51.100.7"), "198.51.100.7".parse().ok())
    );
    assert_eq!(utc(&p), "2023-09-08T13:50:28Z");
    assert_eq!(p.time.unwrap().offset, "");
    assert_eq!(
        (e.level, e.pid, e.tid, e.connection),
        ("error", Some(7164), Some(7164), Some(20))
    );
    assert_eq!(
        e.message,
        r#"limiting requests, excess: 50.416 by zone "api""#
    );
    assert_eq!(e.server, Some("example.org"));
    assert_eq!(p.request, Some("GET /a?b=1 HTTP/2.0"));
    assert_eq!(
        (p.method, p.target, p.protocol),
        (Some("GET"), Some("/a?b=1"), Some("HTTP/2.0"))
    );
    assert_eq!(p.host, Some("example.org"));
    assert_eq!((e.upstream, e.referrer), (None, None));

    let line = r#"2024/01/02 03:04:05 [crit] 12#0: *7 connect() to unix:/run/php.sock failed (2: No such file or directory) while connecting to upstream, client: 2001:db8::5, server: _, request: "POST /x.php HTTP/1.1", upstream: "fastcgi://unix:/run/php.sock:", host: "[2001:db8::1]", referrer: "http://a.test/, x""#;
    let p = parse(line);
    let e = error_log(&p);
    assert_eq!(p.ip_text, Some("2001:db8::5"));
    assert_eq!((e.level, e.tid, e.connection), ("crit", Some(0), Some(7)));
    assert!(
        e.message.ends_with("while connecting to upstream"),
        "{}",
        e.message
    );
    assert_eq!(e.upstream, Some("fastcgi://unix:/run/php.sock:"));
    assert_eq!(p.host, Some("[2001:db8::1]"));
    assert_eq!(e.referrer, Some("http://a.test/, x"));
}

#[test]
fn nginx_with_no_server_name() {
    // What nginx writes for a server block without `server_name`.
    let line = r#"2023/09/08 13:50:28 [error] 9#9: *1 open() "/srv/www/x" failed (2: No such file or directory), client: 127.0.0.1, server: , request: "GET /x HTTP/1.1", host: "127.0.0.1:8080""#;
    let p = parse(line);
    let e = error_log(&p);
    assert_eq!(
        (p.ip_text, e.server, p.host),
        (Some("127.0.0.1"), None, Some("127.0.0.1:8080"))
    );
}

#[test]
fn nginx_lines_without_a_connection_or_a_client() {
    let p = parse("2023/09/08 13:50:28 [notice] 1#1: start worker processes");
    let e = error_log(&p);
    assert_eq!((p.ip_text, p.ip, e.connection), (None, None, None));
    assert_eq!(e.message, "start worker processes");
    let p = parse("2023/09/08 13:50:28 [emerg] 1#1: ");
    assert_eq!(error_log(&p).message, "");
}

#[test]
fn a_client_named_in_the_message_is_not_the_client() {
    // The path is the attacker's; the context is nginx's.
    let line = r#"2023/09/08 13:50:28 [error] 9#9: *3 open() "/srv/a, client: 203.0.113.66, server: x" failed (2: No such file or directory), client: 198.51.100.7, server: example.org, request: "GET /a,%20client: HTTP/1.1", host: "example.org""#;
    let p = parse(line);
    assert_eq!(p.ip_text, Some("198.51.100.7"));
    assert!(
        error_log(&p)
            .message
            .starts_with(r#"open() "/srv/a, client: 203.0.113.66"#)
    );
    assert_eq!(p.target, Some("/a,%20client:"));
}

#[test]
fn apache_24_and_22_lines() {
    let line = "[Wed Oct 11 14:32:52.123456 2023] [core:error] [pid 35708:tid 4328636416] [client 198.51.100.7:52104] AH00126: Invalid URI in request GET /x HTTP/1.1";
    let p = parse(line);
    let e = error_log(&p);
    assert_eq!(p.ip_text, Some("198.51.100.7"));
    assert_eq!(utc(&p), "2023-10-11T14:32:52Z");
    assert_eq!((e.module, e.level), (Some("core"), "error"));
    assert_eq!(
        (e.pid, e.tid, e.client_port),
        (Some(35708), Some(4328636416), Some(52104))
    );
    assert_eq!((e.code, e.os_error), (Some("AH00126"), None));
    assert_eq!(e.message, "Invalid URI in request GET /x HTTP/1.1");

    let line = "[Thu Jan  4 09:01:02.000001 2024] [authz_core:error] [pid 7] (13)Permission denied: [client ::1:50906] AH01630: client denied by server configuration: /var/www/x, referer: http://a.test/";
    let p = parse(line);
    let e = error_log(&p);
    assert_eq!((p.ip_text, e.client_port), (Some("::1"), Some(50906)));
    assert_eq!(utc(&p), "2024-01-04T09:01:02Z");
    assert_eq!((e.pid, e.tid), (Some(7), None));
    assert_eq!(e.os_error, Some("(13)Permission denied"));
    assert_eq!(
        e.message,
        "client denied by server configuration: /var/www/x"
    );
    assert_eq!(e.referrer, Some("http://a.test/"));

    let line = "[Wed Oct 11 14:32:52 2023] [error] [client 192.0.2.10] File does not exist: /var/www/favicon.ico";
    let p = parse(line);
    let e = error_log(&p);
    assert_eq!(
        (p.ip_text, e.client_port, e.module, e.pid),
        (Some("192.0.2.10"), None, None, None)
    );
    assert_eq!(e.message, "File does not exist: /var/www/favicon.ico");

    let p = parse(
        "[Wed Oct 11 14:32:52.5 2023] [mpm_event:notice] [pid 1:tid 2] AH00489: Apache/2.4.57 configured -- resuming normal operations",
    );
    let e = error_log(&p);
    assert_eq!((p.ip, e.code), (None, Some("AH00489")));
    // Debug and trace levels write the source file first; a 2.4 client without a port.
    let p = parse(
        "[Wed Oct 20 19:20:59.121211 2021] [rewrite:trace3] [pid 121591:tid 140413273032448] mod_rewrite.c(470): [client 10.121.192.8:38350] applying pattern",
    );
    let e = error_log(&p);
    assert_eq!(
        (e.source_file, p.ip_text, e.client_port),
        (
            Some("mod_rewrite.c(470)"),
            Some("10.121.192.8"),
            Some(38350)
        )
    );
    assert_eq!(
        (e.module, e.level, e.message),
        (Some("rewrite"), "trace3", "applying pattern")
    );
    let p = parse(
        "[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] File does not exist: /x",
    );
    assert_eq!(
        (p.ip_text, error_log(&p).client_port),
        (Some("72.15.99.187"), None)
    );
    // An OS error without a client.
    let p = parse(
        "[Wed Oct 11 14:32:52 2023] [proxy:error] [pid 9:tid 9] (111)Connection refused: AH00957: HTTP: attempt to connect to 127.0.0.1:8080 (*) failed",
    );
    let e = error_log(&p);
    assert_eq!(
        (e.os_error, e.code, p.ip),
        (Some("(111)Connection refused"), Some("AH00957"), None)
    );
    assert!(e.message.starts_with("HTTP: attempt"), "{}", e.message);
    // A `[client ` inside the message is not the client.
    let p = parse("[Wed Oct 11 14:32:52 2023] [error] request for [client 203.0.113.9] denied");
    assert_eq!(p.ip, None);
}

#[test]
fn lines_that_look_like_error_logs_but_are_not() {
    let cases = [
        ("2023/13/08 13:50:28 [error] 1#1: x", 1, "invalid time"),
        ("2023/09/08 13:50:28 [fatal] 1#1: x", 22, "unknown level"),
        ("2023/09/08 13:50:28 [error] 1: x", 29, "PID#TID"),
        ("2023/09/08 13:50:28 [error 1#1: x", 22, "']'"),
        ("[Wed Oct 41 14:32:52 2023] [error] x", 2, "invalid time"),
        (
            "[Wed Oct 11 14:32:52 2023] [core:oops] [pid 1] x",
            29,
            "unknown level",
        ),
        (
            "[Wed Oct 11 14:32:52 2023] [error] [pid x:tid 2] x",
            41,
            "[pid N:tid N]",
        ),
    ];
    for (line, column, reason) in cases {
        let e = parse_line(line, Format::Auto).expect_err(line);
        assert_eq!(e.column, column, "{line}: {e:?}");
        assert!(e.reason.contains(reason), "{line}: {e:?}");
    }
    // Not error-log-shaped at all: the access-log error stays.
    let e = parse_line("[Wed, 11 Oct 2023] x", Format::Auto).unwrap_err();
    assert!(e.reason.contains("invalid client address"), "{e:?}");
    // Only auto mode reads them.
    let line = "2023/09/08 13:50:28 [notice] 1#1: start worker processes";
    assert!(parse_line(line, Format::Combined).is_err());
}

#[test]
fn multibyte_text_where_the_layout_has_ascii_is_an_error_not_a_panic() {
    for line in [
        "2023/09/08 1é:50:28 [error] 1#1: x",
        "2023/09/08 13:50:2é [error] 1#1: x",
        "2023/09/08 13:5é:28 [error] 1#1: x",
        "[Wed Oct 11 14:32:52 2023] [é:error] [pid é:tid 2] x",
        "[Wed Oct 11 14:32:52 2023] [error] [pid 1:tid é] x",
        "[Wed é 11 14:32:52 2023] [error] x",
    ] {
        let r = parse_line(line, Format::Auto);
        assert!(r.is_err(), "{line}: {r:?}");
    }
}
