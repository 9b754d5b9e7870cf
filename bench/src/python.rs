//! The Python package (python/): `read_log()` of a generated file with lookups off, side
//! by side with the CLI writing to `/dev/null` and with the notebook way (the regex +
//! pandas baseline, `bench/notebook_baseline.py`) on the same file.

use std::path::Path;
use std::process::Command;

use anyhow::Context as _;
use serde_json::Value;

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs;
use crate::report::{Report, Row, alternate, count, median, rate, s};

const FIGURE: &str = "read_log() into a DataFrame, lookups off";
const BAR: &str = "≥ 300k lines/s";

/// Runs `bench/read_log.py` on `file`; returns its seconds (read_log's own time).
fn read_log(python: &Path, file: &Path, lines: u64) -> anyhow::Result<f64> {
    let script = procs::workspace_root().join("bench/read_log.py");
    let out = procs::output_of(Command::new(python).arg(script).arg(file))?;
    let v: Value = serde_json::from_str(out.trim()).context("read_log.py printed no JSON")?;
    anyhow::ensure!(
        v["lines"].as_u64() == Some(lines),
        "read_log gave {} rows for {lines} lines",
        v["lines"]
    );
    v["seconds"]
        .as_f64()
        .context("read_log.py printed no seconds")
}

/// The `read_log` row.
pub fn read_log_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    if !procs::runs_ok(&ctx.python, &["-c", "import logenrich"]) {
        report.push(Row::skipped(FIGURE, "skipped (pip install ./python)", BAR));
        return Ok(());
    }
    let sizes = &ctx.sizes;
    let opts = data::corpus_options(sizes.python_lines, sizes.unique_ips);
    let file = data::corpus_file(&ctx.work, &opts)?;
    let f = arg(&file)?;
    let (py, cli) = alternate(
        sizes.rounds,
        || read_log(&ctx.python, &file, sizes.python_lines),
        || {
            Ok(s(ctx
                .run_logenrich("read_log", &[f, "--no-dns", "--no-geoip"])?
                .wall))
        },
    )?;
    let lines = sizes.python_lines as f64;
    let (py, cli) = (lines / median(&py), lines / median(&cli));
    let notebook = if crate::peers::python_ok(&ctx.python) {
        let seconds = crate::peers::notebook_parse_tag(&ctx.python, &file)?;
        format!(", the notebook way {} lines/s", rate(lines / seconds))
    } else {
        String::new()
    };
    report.push(Row::new(
        format!("{FIGURE} ({} lines)", count(sizes.python_lines)),
        format!(
            "read_log {} lines/s, CLI to /dev/null {} lines/s ({:.2}×){notebook}",
            rate(py),
            rate(cli),
            py / cli
        ),
        BAR,
        py >= 300_000.0,
    ));
    Ok(())
}
