//! Parse + tag, the component against the same guest code compiled natively, in this
//! process, on one core: the same in-memory corpus cut into the CLI's batches, lookups off.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use logenrich::component::{Instance, Providers, Runtime, Source};

use crate::report::{Report, Row, alternate, median, rate};

/// Lines per batch, as the CLI's default.
pub const BATCH: usize = 2048;

/// The native side: `guest::batch::process` with no lookups.
struct Native {
    state: guest::state::State,
}

impl Native {
    fn new() -> anyhow::Result<Self> {
        let mut cfg = guest::state::default_config();
        cfg.enable_dns = false;
        cfg.enable_geoip = false;
        let state = guest::state::State::new(&cfg)
            .map_err(|e| anyhow!("native config rejected: {}: {}", e.field, e.reason))?;
        Ok(Native { state })
    }

    /// Lines per second over `lines`.
    fn run(&self, lines: &[String]) -> f64 {
        let started = Instant::now();
        let mut out = 0usize;
        for (i, chunk) in lines.chunks(BATCH).enumerate() {
            let first = (i * BATCH) as u64 + 1;
            let mut lookups = guest::batch::NoLookups;
            let results = guest::batch::process(&self.state, &mut lookups, first, chunk.to_vec());
            out += black_box(results).len();
        }
        assert_eq!(out, lines.len(), "native: one result per line");
        lines.len() as f64 / started.elapsed().as_secs_f64()
    }
}

/// The component side: one reused instance, on a current-thread runtime.
struct Component {
    rt: tokio::runtime::Runtime,
    instance: Instance,
    /// Kept alive for the instance.
    _runtime: Runtime,
}

impl Component {
    fn new() -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a tokio runtime")?;
        let runtime = Runtime::new(&Source::Embedded, None, Providers::default())?;
        let instance = rt.block_on(async {
            let mut instance = runtime.instance().await?;
            let mut cfg = instance.default_config().await?;
            cfg.enable_dns = false;
            cfg.enable_geoip = false;
            instance
                .configure(&cfg)
                .await?
                .map_err(|e| anyhow!("component config rejected: {}: {}", e.field, e.reason))?;
            anyhow::Ok(instance)
        })?;
        Ok(Component {
            rt,
            instance,
            _runtime: runtime,
        })
    }

    /// Lines per second over `lines`.
    fn run(&mut self, lines: &[String]) -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut out = 0usize;
        for (i, chunk) in lines.chunks(BATCH).enumerate() {
            let first = (i * BATCH) as u64 + 1;
            let results = self.rt.block_on(self.instance.process(first, chunk))?;
            out += black_box(results).len();
        }
        anyhow::ensure!(out == lines.len(), "component: one result per line");
        Ok(lines.len() as f64 / started.elapsed().as_secs_f64())
    }
}

/// Measures both sides alternately over `lines` and reports the ratio and the rate.
pub fn measure(report: &mut Report, lines: &[String], rounds: usize) -> anyhow::Result<()> {
    let native = Native::new()?;
    let mut component = Component::new()?;
    // One untimed pass each: page in the corpus, grow the instance's memory.
    let warm = &lines[..lines.len().min(BATCH * 8)];
    native.run(warm);
    component.run(warm)?;
    let (c, n) = alternate(rounds, || component.run(lines), || Ok(native.run(lines)))?;
    let (c, n) = (median(&c), median(&n));
    let label = crate::report::count(lines.len() as u64);
    report.push(Row::new(
        format!("parse + tag, component vs native ({label} lines, 1 core)"),
        format!(
            "component {} lines/s, native {} lines/s: {:.2}×",
            rate(c),
            rate(n),
            c / n
        ),
        "≥ 0.8×",
        c / n >= 0.8,
    ));
    report.push(Row::new(
        format!("parse + tag, component, one core ({label} lines)"),
        format!("{} lines/s", rate(c)),
        "≥ 1 M lines/s",
        c >= 1e6,
    ));
    Ok(())
}
