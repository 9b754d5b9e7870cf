//! Start-up: time from spawning `logenrich` to its first output record, with an empty and
//! with a warm compile cache (`XDG_CACHE_HOME`), alternated. Lookups are off so that only
//! start-up is measured; the input is a few lines, so the first record is written when the
//! (buffered) output is flushed at the end.

use std::process::Command;

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs;
use crate::report::{Report, Row, alternate, median, secs};

/// The start-up figures.
pub fn startup_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let tiny = data::tiny_file(&ctx.work, 10)?;
    let tiny = arg(&tiny)?;
    let command = |cache: &std::path::Path| {
        let mut cmd = Command::new(&ctx.bins.logenrich);
        cmd.args([tiny, "--no-dns", "--no-geoip", "-q", "--no-progress"])
            .env("XDG_CACHE_HOME", cache);
        cmd
    };
    let rounds = ctx.sizes.rounds.max(3);
    let mut fresh = 0;
    let (empty, warm) = alternate(
        rounds,
        || {
            fresh += 1;
            let dir = ctx.work.join(format!("cache-empty-{fresh}"));
            let _ = std::fs::remove_dir_all(&dir);
            let t = procs::first_line_time(&mut command(&dir));
            let _ = std::fs::remove_dir_all(&dir);
            Ok(t?.0.as_secs_f64())
        },
        || {
            Ok(procs::first_line_time(&mut command(&ctx.cache_home))?
                .0
                .as_secs_f64())
        },
    )?;
    let (empty, warm) = (median(&empty), median(&warm));
    report.push(Row::info(
        "start-up to first record, empty compile cache",
        secs(empty),
    ));
    report.push(Row::new(
        "start-up to first record, warm compile cache",
        secs(warm),
        "≤ 100 ms",
        warm <= 0.100,
    ));
    Ok(())
}
