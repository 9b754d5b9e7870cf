//! The Node.js host (`examples/node/host.mjs`, the component transpiled by jco) against the
//! `logenrich` CLI on the same file, lookups off (reverse DNS and GeoIP disabled, so every
//! import answers from a stub and each batch takes one pass), alternated.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs::{self, Measured};
use crate::report::{Report, Row, alternate, count, median_of, rate, s};

const NODE_SKIP: &str = "skipped (install Node.js 20)";
const NPM_SKIP: &str = "skipped (npm ci in examples/node)";

/// `node --version` as `v20.1.2`, if `node` runs.
fn node_version(node: &Path) -> Option<String> {
    let mut cmd = Command::new(node);
    cmd.arg("--version").stderr(Stdio::null());
    procs::output_of(&mut cmd).ok().map(|v| v.trim().to_owned())
}

/// `node host.mjs --component WASM ARGS... FILE`, stdout to `stdout`, stderr to `stderr_file`.
fn host_command(
    node: &Path,
    host: &Path,
    component: &Path,
    file: &Path,
    stdout: Stdio,
    stderr_file: &Path,
) -> anyhow::Result<Command> {
    let mut cmd = Command::new(node);
    cmd.arg(host)
        .args(["--no-dns", "--no-geoip", "--component"])
        .arg(component)
        .arg(file)
        .stdout(stdout)
        .stderr(std::fs::File::create(stderr_file)?);
    Ok(cmd)
}

/// The Node host against the CLI on the parse corpus (1M lines; `--quick`: its size).
pub fn node_host(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let node = Path::new("node");
    let dir = procs::workspace_root().join("examples/node");
    let Some(version) = node_version(node) else {
        let figure = "Node host (jco) vs logenrich CLI, lookups off";
        report.push(Row::skipped(figure, NODE_SKIP, "-"));
        return Ok(());
    };
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .unwrap_or("?");
    let figure = format!("Node host (jco, Node {major}) vs logenrich CLI, lookups off");
    if !dir.join("node_modules/@bytecodealliance/jco").is_dir() {
        report.push(Row::skipped(figure, NPM_SKIP, "-"));
        return Ok(());
    }
    let host = dir.join("host.mjs");

    // The component the CLI embeds, as the Node host's tests use it.
    let component = ctx.work.join("logenrich-filter.wasm");
    procs::output_of(
        Command::new(&ctx.bins.logenrich)
            .arg("--write-component")
            .arg(&component),
    )
    .context("logenrich --write-component failed")?;

    // A warm-up run on a tiny file: jco transpiles the component into examples/node/transpiled
    // when its bytes changed, which the measured runs should not include. Its output is
    // checked: one record per line.
    let log = ctx.work.join("node-host.stderr");
    let tiny = data::tiny_file(&ctx.work, 10)?;
    let mut warm = host_command(node, &host, &component, &tiny, Stdio::piped(), &log)?;
    let out = procs::output_of(&mut warm).with_context(|| {
        let detail = std::fs::read_to_string(&log).unwrap_or_default();
        format!("the Node host does not run: {}", detail.trim())
    })?;
    let records = out.lines().filter(|l| l.starts_with('{')).count();
    if records != 10 {
        bail!("the Node host wrote {records} records for 10 lines");
    }

    let lines = ctx.sizes.parse_lines;
    let file = data::corpus_file(
        &ctx.work,
        &data::corpus_options(lines, ctx.sizes.unique_ips),
    )?;
    let f = arg(&file)?;
    let (nd, le) = alternate(
        ctx.sizes.rounds,
        || {
            let mut cmd = host_command(node, &host, &component, &file, Stdio::null(), &log)?;
            procs::run_measured(&mut cmd, Some(&log))
        },
        || ctx.run_logenrich("node-peer", &[f, "--no-dns", "--no-geoip"]),
    )?;
    let n = lines as f64;
    let lines_per_s = |m: &[Measured]| n / median_of(m, |m| s(m.wall));
    let rss_mb = |m: &[Measured]| median_of(m, |m| m.max_rss_kib as f64) / 1024.0;
    let (nd_rate, le_rate) = (lines_per_s(&nd), lines_per_s(&le));
    report.push(Row::info(
        format!("{figure} ({} lines)", count(lines)),
        format!(
            "Node {} lines/s (peak RSS {:.0} MB), CLI {} lines/s (peak RSS {:.0} MB): CLI \
             {:.1}× faster",
            rate(nd_rate),
            rss_mb(&nd),
            rate(le_rate),
            rss_mb(&le),
            le_rate / nd_rate
        ),
    ));
    Ok(())
}
