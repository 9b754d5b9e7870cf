//! The HTML report in a real browser and the PNG map: `logenrich report` over hand-made
//! enriched records (known places, counts and hostile strings), the page opened from disk
//! by headless Chromium with networking off; and `--report` on a run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::util;

mod attacks;
mod png;

/// A payload that marks `<body>` when it runs.
fn pwn(tag: &str) -> String {
    format!("document.body.setAttribute('data-pwned','{tag}')")
}

pub(super) struct Client {
    ip: &'static str,
    ptr: Option<String>,
    place: Option<(f64, f64, &'static str, &'static str)>,
    requests: Vec<(u16, String, String)>,
    scanner: Value,
    dnsbl: Value,
    attacks: Value,
}

pub(super) fn client(
    ip: &'static str,
    place: Option<(f64, f64, &'static str, &'static str)>,
    n: usize,
    status: u16,
) -> Client {
    Client {
        ip,
        ptr: Some(format!("host-{}.example.net", ip.replace(['.', ':'], "-"))),
        place,
        requests: (0..n)
            .map(|i| {
                (
                    status,
                    format!("/page/{i}"),
                    "Mozilla/5.0 (test)".to_owned(),
                )
            })
            .collect(),
        scanner: Value::Null,
        dnsbl: json!([]),
        attacks: json!([]),
    }
}

pub(super) const PARIS: (f64, f64, &str, &str) = (48.8566, 2.3522, "FR", "Paris");
const TOKYO: (f64, f64, &str, &str) = (35.6895, 139.6917, "JP", "Tokyo");
const SAO_PAULO: (f64, f64, &str, &str) = (-23.5505, -46.6333, "BR", "Sao Paulo");
const NEW_YORK: (f64, f64, &str, &str) = (40.7128, -74.006, "US", "New York");
pub(super) const SYDNEY: (f64, f64, &str, &str) = (-33.8688, 151.2093, "AU", "Sydney");

/// The clients of the browser test: five places, one of them shared by three clients,
/// a client without a location, and a hostile client whose every string is an attack.
fn clients() -> Vec<Client> {
    let mut hostile = client("203.0.113.66", Some(PARIS), 0, 400);
    hostile.ptr = Some(format!(
        "</script><script>{}</script>.evil.example",
        pwn("ptr")
    ));
    let attacks = [
        format!("<script>{}</script>", pwn("ua")),
        format!("\"><img src=x onerror=\"{}\">", pwn("img")),
        format!("</script><svg onload=\"{}\">", pwn("svg")),
        format!("javascript:{}", pwn("js")),
        format!("{{{{constructor.constructor('{}')()}}}}", pwn("tpl")),
    ];
    for a in &attacks {
        hostile.requests.push((400, a.clone(), a.clone()));
    }
    hostile.scanner =
        json!({"sources": ["dns", "ua"], "matched": [format!("<b>{}</b>", pwn("kw"))]});
    hostile.dnsbl = json!([
        {"zone": "zen.spamhaus.org", "listed": true, "answers": ["127.0.0.4"],
         "meanings": [format!("</script><img src=x onerror=\"{}\">", pwn("meaning"))],
         "reason": format!("<iframe src=\"javascript:{}\">", pwn("reason")), "error": null},
    ]);
    hostile.attacks = attacks::hostile();
    let mut errored = client("198.51.100.7", Some(SYDNEY), 3, 404);
    errored.dnsbl = json!([
        {"zone": "zen.spamhaus.org", "listed": false, "answers": ["127.255.255.254"], "meanings": [],
         "reason": null, "error": "127.255.255.254: query via a public or open resolver"},
    ]);
    let mut jndi = client("192.0.2.4", Some(TOKYO), 10, 301);
    jndi.attacks = attacks::jndi();
    vec![
        client("192.0.2.1", Some(PARIS), 20, 200),
        client("192.0.2.2", Some(PARIS), 14, 200),
        hostile,
        jndi,
        client("192.0.2.5", Some(SAO_PAULO), 3, 200),
        client("2001:db8::5", Some(SAO_PAULO), 2, 404),
        client("192.0.2.7", Some(NEW_YORK), 1, 200),
        errored,
        client("192.0.2.9", None, 4, 200),
    ]
}

pub(super) fn records(clients: &[Client]) -> String {
    let mut out = String::new();
    let mut line = 0;
    for c in clients {
        for (status, target, ua) in &c.requests {
            line += 1;
            let geo = c.place.map_or(Value::Null, |(lat, lon, cc, city)| {
                json!({"country_code": cc, "country": null, "subdivision": null, "city": city,
                       "lat": lat, "lon": lon, "accuracy_radius": 20, "time_zone": null,
                       "asn": 64500, "as_org": "Example AS"})
            });
            let r = json!({"line": line, "ip": c.ip, "user": null, "time": "2022-07-15T02:44:54Z",
                "time_offset": "+0200", "method": "GET", "target": target, "protocol": "HTTP/1.1",
                "request": format!("GET {target} HTTP/1.1"), "status": status, "bytes": 10,
                "referer": target, "user_agent": ua, "forwarded": [], "server_port": 443, "host": null,
                "dns": {"name": c.ptr, "status": "found"}, "dnsbl": c.dnsbl, "geo": geo,
                "scanner": c.scanner, "attacks": c.attacks});
            out.push_str(&r.to_string());
            out.push('\n');
        }
    }
    out.push_str(
        r#"{"line":99,"error":{"column":3,"reason":"expected a date"},"raw":"<script>x</script>"}"#,
    );
    out.push('\n');
    out.push_str(attacks::ERROR_LINE);
    out.push('\n');
    out
}

/// What headless Chromium made of a page: the DOM after scripts ran, its console
/// messages, and the URLs it requested (from its net log).
struct Browsed {
    dom: String,
    console: Vec<String>,
    requests: Vec<String>,
}

fn browse(chromium: &Path, url: &str, dir: &Path) -> Browsed {
    let netlog = dir.join("netlog.json");
    let profile = dir.join("profile");
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        // Networking off: no name resolves, and every connection goes to a dead proxy.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--window-size=1280,900",
        "--dump-dom",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg(format!("--log-net-log={}", netlog.display()))
    .arg("--net-log-capture-mode=Everything")
    .arg(url);
    let out = run_with_deadline(&mut cmd, std::time::Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {stderr}");
    let console = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_owned)
        .collect();
    Browsed {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        requests: requested_urls(&netlog),
    }
}

/// Runs `cmd` to its end, killing it (and failing the test) after `limit`.
fn run_with_deadline(cmd: &mut Command, limit: std::time::Duration) -> std::process::Output {
    use std::process::Stdio;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("chromium finishes"),
        Err(_) => {
            // Only the child this test started, by its id.
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("chromium did not finish within {limit:?}");
        }
    }
}

/// URLs the page asked for, from a Chromium net log: the `URL_REQUEST_START_JOB` events
/// with an initiator. The browser's own background requests (component updates, time
/// and account checks, which the dead proxy also stops) have none ("not an origin").
fn requested_urls(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).unwrap_or_default();
    // A log cut short by the exit lacks its closing brackets.
    let log: Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .unwrap_or_else(|e| panic!("unreadable net log ({e}): {}", &text[..text.len().min(300)]));
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"].clone();
    assert!(start_job.is_number(), "the net log names its event types");
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == start_job && e["params"]["initiator"] != "not an origin")
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

/// Rows of a panel: (label, requests, clients).
fn rows(dom: &str, panel: &str) -> Vec<(String, u64, u64)> {
    let start = dom
        .find(&format!("id=\"panel-{panel}\""))
        .unwrap_or_else(|| panic!("no panel {panel}"));
    let section = &dom[start..];
    let section = &section[..section.find("</section>").expect("panel ends")];
    section
        .split("<tr data-requests=\"")
        .skip(1)
        .map(|tr| {
            let (requests, rest) = tr
                .split_once("\" data-clients=\"")
                .expect("clients attribute");
            let (clients, rest) = rest.split_once('"').expect("attribute ends");
            let label = rest
                .split_once("<td class=\"label\">")
                .expect("label cell")
                .1;
            let label = label.split_once("</td>").expect("label ends").0;
            (
                unescape(label),
                requests.parse().unwrap(),
                clients.parse().unwrap(),
            )
        })
        .collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Map markers drawn: single circles plus the locations inside the cluster icons.
fn drawn_locations(dom: &str) -> u64 {
    let circles = dom.matches("<path class=\"leaflet-interactive\"").count() as u64;
    let clustered: u64 = dom
        .split("marker-cluster-")
        .skip(1)
        .filter_map(|s| {
            let after = s.split_once("<div><span>")?.1;
            after
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    circles + clustered
}

/// `logenrich report` (a subcommand comes first, before the run's flags).
pub(super) fn report_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logenrich"));
    cmd.arg("report");
    cmd
}

pub(super) fn make_report(dir: &Path, jsonl: &str, extra: &[&str]) -> PathBuf {
    let input = dir.join("enriched.jsonl");
    std::fs::write(&input, jsonl).unwrap();
    let html = dir.join("report.html");
    let out = report_cmd()
        .arg(&input)
        .arg("-o")
        .arg(&html)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", util::stderr(&out));
    html
}

#[test]
fn report_renders_offline_in_chromium_with_hostile_records_inert() {
    let Some(chromium) = util::tool("chromium") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let clients = clients();
    let title = format!("<script>{}</script> & report", pwn("title"));
    let html = make_report(dir.path(), &records(&clients), &["--title", &title]);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.len() < 1 << 20, "{} bytes", page.len());
    assert!(page.contains("Content-Security-Policy"));
    let b = browse(&chromium, &format!("file://{}", html.display()), dir.path());

    // It rendered, without a console message (a CSP violation or a script error is one).
    assert!(b.console.is_empty(), "console: {:#?}", b.console);
    assert!(
        b.dom.contains("data-markers=\"5\""),
        "status: {}",
        &b.dom[b.dom.find("id=\"status\"").unwrap_or(0)..][..200]
    );
    assert_eq!(
        drawn_locations(&b.dom),
        5,
        "every location is a circle or inside a cluster"
    );
    let total = |id: &str| {
        let li = &b.dom[b.dom.find(&format!("id=\"total-{id}\"")).expect("a total")..];
        li[..li.find("</li>").unwrap()].to_owned()
    };
    assert!(total("clients").contains("<button") && total("clients").contains(">9</button>"));
    assert!(
        total("located").contains(">8</button>"),
        "{}",
        total("located")
    );

    // Nothing but the file itself was requested.
    let remote: Vec<&String> = b
        .requests
        .iter()
        .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
        .collect();
    assert!(remote.is_empty(), "requests left the file: {remote:?}");

    // The panels count what the input holds.
    let mut statuses: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for c in &clients {
        let mut seen = std::collections::BTreeSet::new();
        for (s, _, _) in &c.requests {
            let e = statuses.entry(s.to_string()).or_default();
            e.0 += 1;
            if seen.insert(*s) {
                e.1 += 1;
            }
        }
    }
    let got: BTreeMap<String, (u64, u64)> = rows(&b.dom, "statuses")
        .into_iter()
        .map(|(l, r, c)| (l, (r, c)))
        .collect();
    assert_eq!(got, statuses);
    let countries = rows(&b.dom, "countries");
    assert_eq!(countries[0], ("FR".to_owned(), 39, 3), "{countries:?}");
    assert!(
        countries.contains(&("not in the GeoIP database".to_owned(), 4, 1)),
        "{countries:?}"
    );
    let dnsbl = rows(&b.dom, "dnsbl");
    assert!(
        dnsbl.contains(&("zen.spamhaus.org — listed".to_owned(), 5, 1)),
        "{dnsbl:?}"
    );
    assert_eq!(
        rows(&b.dom, "dnsbl-errors").len(),
        1,
        "the error answer is counted apart"
    );
    assert!(!dnsbl.iter().any(|r| r.0.contains("127.255.255.254")));
    assert_eq!(
        rows(&b.dom, "scanners"),
        [("both (reverse DNS and User-Agent)".to_owned(), 5, 1)]
    );
    attacks::check(&b.dom, &clients);

    // Hostile strings ran nothing and show as text.
    let body = &b.dom[b.dom.find("<body").expect("body")..];
    let body_tag = &body[..body.find('>').unwrap()];
    assert!(
        !body_tag.contains("data-pwned"),
        "a payload ran: {body_tag}"
    );
    assert!(
        !b.dom.contains("<img src=\"x\""),
        "an injected element exists"
    );
    assert!(!b.dom.contains("<iframe"), "an injected element exists");
    assert!(!b.dom.contains("href=\"javascript:"));
    for text in [
        format!("&lt;script&gt;{}&lt;/script&gt;", pwn("ua")),
        format!("\"&gt;&lt;img src=x onerror=\"{}\"&gt;", pwn("img")),
        format!("javascript:{}", pwn("js")),
        format!("{{{{constructor.constructor('{}')()}}}}", pwn("tpl")),
        format!(
            "&lt;/script&gt;&lt;script&gt;{}&lt;/script&gt;.evil.example",
            pwn("ptr")
        ),
        format!("&lt;script&gt;{}&lt;/script&gt; &amp; report", pwn("title")),
    ] {
        assert!(b.dom.contains(&text), "not shown as text: {text}");
    }
    let targets: Vec<String> = rows(&b.dom, "targets").into_iter().map(|r| r.0).collect();
    assert!(
        targets.contains(&format!("</script><svg onload=\"{}\">", pwn("svg"))),
        "{targets:?}"
    );

    // `#marker=4` opens the busiest place's popup (markers go fewest requests first):
    // Paris, with the hostile client among its three.
    let second = dir.path().join("popup");
    std::fs::create_dir(&second).unwrap();
    let p = browse(
        &chromium,
        &format!("file://{}#marker=4", html.display()),
        &second,
    );
    assert!(p.console.is_empty(), "console: {:#?}", p.console);
    let popup = &p.dom[p
        .dom
        .find("class=\"leaflet-popup-content\"")
        .expect("the popup opened")..];
    let popup = &popup[..popup
        .find("class=\"leaflet-popup-tip")
        .unwrap_or(popup.len())];
    assert!(popup.contains("39 requests from 3 clients"), "{popup}");
    for text in [
        format!(
            "&lt;/script&gt;&lt;script&gt;{}&lt;/script&gt;.evil.example",
            pwn("ptr")
        ),
        format!("&lt;script&gt;{}&lt;/script&gt;", pwn("ua")),
        format!("&lt;iframe src=\"javascript:{}\"&gt;", pwn("reason")),
        "192.0.2.1".to_owned(),
        "Paris".to_owned(),
    ] {
        assert!(
            popup.contains(&text),
            "not in the popup as text: {text}\n{popup}"
        );
    }
    let body = &p.dom[p.dom.find("<body").expect("body")..];
    assert!(!body[..body.find('>').unwrap()].contains("data-pwned"));
    assert!(!popup.contains("<img") && !popup.contains("<iframe") && !popup.contains("<svg"));
}

/// The net-log check sees a request when there is one (so the test above can fail).
#[test]
fn the_request_check_sees_a_remote_load() {
    let Some(chromium) = util::tool("chromium") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("leaky.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><title>x</title><img src=\"http://192.0.2.1/pixel.png\">",
    )
    .unwrap();
    let b = browse(&chromium, &format!("file://{}", page.display()), dir.path());
    assert!(
        b.requests
            .iter()
            .any(|u| u.starts_with("http://192.0.2.1/")),
        "{:?}",
        b.requests
    );
}
