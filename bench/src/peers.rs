//! The baselines and peers, each alternated with the `logenrich` CLI on the same file: the
//! notebook way (`bench/notebook_baseline.py`, pandas + dnspython) for parse + tag and for
//! reverse lookups against the same DNS fixture, and GoAccess parsing the same file.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context as _;
use logenrich_dns::{DnsProvider, DnsSettings};
use serde_json::Value;

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs::{self, DnsServer, FixtureOptions};
use crate::report::{Report, Row, alternate, count, median, median_of, rate, s};

const PY_SKIP: &str = "skipped (pip install -r bench/requirements.txt)";

/// Whether the notebook baseline can run with `python`.
pub fn python_ok(python: &Path) -> bool {
    procs::runs_ok(python, &["-c", "import pandas, dns.resolver"])
}

/// Runs the notebook baseline on `file` with `extra` arguments; returns its JSON summary.
fn notebook(python: &Path, file: &Path, extra: &[&str]) -> anyhow::Result<Value> {
    let script = procs::workspace_root().join("bench/notebook_baseline.py");
    let out = procs::output_of(Command::new(python).arg(script).arg(file).args(extra))?;
    serde_json::from_str(out.trim()).context("the notebook baseline printed no JSON")
}

/// The notebook baseline's parse + tag seconds on `file`.
pub fn notebook_parse_tag(python: &Path, file: &Path) -> anyhow::Result<f64> {
    number(&notebook(python, file, &[])?, "parse_tag_seconds")
}

fn number(v: &Value, key: &str) -> anyhow::Result<f64> {
    v[key]
        .as_f64()
        .with_context(|| format!("the notebook baseline reported no {key}"))
}

/// The notebook way against logenrich: parse + tag, then lookups.
pub fn notebook_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let pt_figure = "parse + tag, logenrich CLI vs the notebook way";
    let lk_figure = "reverse lookups at 50 ms, logenrich vs the notebook way";
    if !python_ok(&ctx.python) {
        report.push(Row::skipped(pt_figure, PY_SKIP, "≥ 100×"));
        report.push(Row::skipped(lk_figure, PY_SKIP, "≥ 25×"));
        return Ok(());
    }
    let sizes = &ctx.sizes;
    let opts = data::corpus_options(sizes.python_lines, sizes.unique_ips);
    let file = data::corpus_file(&ctx.work, &opts)?;
    let f = arg(&file)?;
    let (py, le) = alternate(
        sizes.rounds,
        || notebook_parse_tag(&ctx.python, &file),
        || {
            Ok(s(ctx
                .run_logenrich("parse", &[f, "--no-dns", "--no-geoip"])?
                .wall))
        },
    )?;
    let lines = sizes.python_lines as f64;
    let (py, le) = (lines / median(&py), lines / median(&le));
    report.push(Row::new(
        format!("{pt_figure} ({} lines)", count(sizes.python_lines)),
        format!(
            "notebook {} lines/s, logenrich {} lines/s: {:.0}×",
            rate(py),
            rate(le),
            le / py
        ),
        "≥ 100×",
        le / py >= 100.0,
    ));

    // Lookups: every client of a uniform pool of n appears (8 lines each on average).
    let n = sizes.python_lookup_ips;
    let mut opts = data::corpus_options(u64::from(n) * 8, n);
    opts.zipf_exponent = 0.0;
    let file = data::corpus_file(&ctx.work, &opts)?;
    let ips = unique_clients(&file)?;
    let unique = ips.len() as f64;
    let server = DnsServer::start(
        &ctx.bins.dns_fixture,
        &FixtureOptions {
            latency_ms: 50,
            ..FixtureOptions::default()
        },
    )?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start a tokio runtime")?;
    let port = server.addr.port().to_string();
    let ns = server.nameserver();
    let f = arg(&file)?;
    let (py, le) = alternate(
        sizes.rounds,
        || {
            let v = notebook(
                &ctx.python,
                &file,
                &["--resolve", "--nameserver", "127.0.0.1", "--port", &port],
            )?;
            Ok(number(&v, "lookups")? / number(&v, "lookup_seconds")?)
        },
        || {
            // The lookups alone, as the notebook's figure: logenrich's DNS provider with
            // its defaults, fresh (empty cache). Then the whole CLI run, for context.
            let settings = DnsSettings {
                nameservers: vec![server.addr],
                ..DnsSettings::default()
            };
            let provider = DnsProvider::new(&settings)?;
            let started = Instant::now();
            rt.block_on(provider.reverse(&ips));
            let lookups = unique / started.elapsed().as_secs_f64();
            let m = ctx.run_logenrich("lookups", &[f, "--nameserver", &ns, "--no-geoip"])?;
            Ok((lookups, unique / s(m.wall)))
        },
    )?;
    let py = median(&py);
    let (le, cli) = (median_of(&le, |l| l.0), median_of(&le, |l| l.1));
    report.push(Row::new(
        format!("{lk_figure} ({} unique IPs)", count(unique as u64)),
        format!(
            "notebook {} lookups/s, logenrich {} lookups/s: {:.0}× (whole CLI run incl. \
             start-up, parse, output: {} lookups/s, {:.0}×)",
            rate(py),
            rate(le),
            le / py,
            rate(cli),
            cli / py
        ),
        "≥ 25×",
        le / py >= 25.0,
    ));
    Ok(())
}

/// Distinct client addresses (first field) of the lines of `file`.
fn unique_clients(file: &Path) -> anyhow::Result<Vec<IpAddr>> {
    let reader = BufReader::new(std::fs::File::open(file)?);
    let mut seen = HashSet::new();
    let mut ips = Vec::new();
    for line in reader.lines() {
        let line = line?;
        let ip = line.split(' ').next().and_then(|ip| ip.parse().ok());
        if let Some(ip) = ip.filter(|ip| seen.insert(*ip)) {
            ips.push(ip);
        }
    }
    Ok(ips)
}

/// The nginx honeypot format in GoAccess's notation: combined, then XFF, port and host.
const GOACCESS_FORMAT: &str = r#"%h %^[%d:%t %^] "%r" %s %b "%R" "%u" "%^" %^ %v"#;

/// GoAccess 1.7 (Debian `goaccess`) on the parse corpus, alternated with logenrich.
pub fn goaccess(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let figure = "GoAccess (native peer) vs logenrich CLI, parse";
    let goaccess = Path::new("goaccess");
    if !procs::runs_ok(goaccess, &["--version"]) {
        report.push(Row::skipped(
            figure,
            "skipped (apt-get install goaccess)",
            "-",
        ));
        return Ok(());
    }
    let lines = ctx.sizes.parse_lines;
    let file = data::corpus_file(
        &ctx.work,
        &data::corpus_options(lines, ctx.sizes.unique_ips),
    )?;
    let json = ctx.work.join("goaccess.json");
    let f = arg(&file)?;
    let (ga, le) = alternate(
        ctx.sizes.rounds,
        || {
            let mut cmd = Command::new(goaccess);
            cmd.arg(&file)
                .args([
                    "--no-global-config",
                    "--date-format=%d/%b/%Y",
                    "--time-format=%T",
                ])
                .arg(format!("--log-format={GOACCESS_FORMAT}"))
                .arg("-o")
                .arg(&json)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            procs::run_measured(&mut cmd, None)
        },
        || ctx.run_logenrich("goaccess-peer", &[f, "--no-dns", "--no-geoip"]),
    )?;
    let parsed: Value =
        serde_json::from_slice(&std::fs::read(&json)?).context("GoAccess wrote no JSON report")?;
    let failed = parsed["general"]["failed_requests"]
        .as_u64()
        .unwrap_or(u64::MAX);
    let n = lines as f64;
    let ga_rate = n / median_of(&ga, |m| s(m.wall));
    let le_rate = n / median_of(&le, |m| s(m.wall));
    report.push(Row::info(
        format!(
            "{figure} ({} lines, JSON report / JSON Lines)",
            count(lines)
        ),
        format!(
            "GoAccess {} lines/s ({} failed lines, peak RSS {:.0} MB), logenrich {} lines/s \
             (peak RSS {:.0} MB): {:.1}×",
            rate(ga_rate),
            failed,
            median_of(&ga, |m| m.max_rss_kib as f64) / 1024.0,
            rate(le_rate),
            median_of(&le, |m| m.max_rss_kib as f64) / 1024.0,
            le_rate / ga_rate
        ),
    ));
    Ok(())
}
