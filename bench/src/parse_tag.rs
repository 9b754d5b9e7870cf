//! Parse + tag + encode, the component against the same policy code compiled natively, in
//! this process, on one core: the same in-memory corpus cut into the CLI's batches,
//! lookups off, both sides producing the canonical JSON Lines.

use std::hint::black_box;
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use logenrich::{Batch, Enricher, SettingValue};
use logenrich_policy::{BatchIn, Filter, NoLookups, Setting};

use crate::report::{Report, Row, alternate, median, rate};

/// Seconds this thread has been on a CPU (`/proc/thread-self/schedstat`), or wall-clock
/// seconds since `wall` where that file is missing. Both sides of every comparison here
/// run on the calling thread (the component on a current-thread runtime), so CPU time
/// measures them without the time other processes take from this shared machine.
struct ThreadClock {
    wall: Instant,
    cpu: Option<f64>,
}

impl ThreadClock {
    fn cpu() -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
        Some(ns as f64 / 1e9)
    }

    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: Self::cpu(),
        }
    }

    fn seconds(&self) -> f64 {
        match (self.cpu, Self::cpu()) {
            (Some(a), Some(b)) => b - a,
            _ => self.wall.elapsed().as_secs_f64(),
        }
    }
}

/// Lines per batch, as the CLI's default.
pub const BATCH: usize = 2048;

/// The corpus as the CLI's batches: one buffer plus line ends each.
pub fn batches(lines: &[String]) -> Vec<Batch> {
    lines
        .chunks(BATCH)
        .enumerate()
        .map(|(i, chunk)| {
            Batch::from_lines((i * BATCH) as u64 + 1, chunk).expect("a 2048-line batch fits")
        })
        .collect()
}

/// The native side: `logenrich_policy::batch::process` with no lookups.
struct Native {
    filter: Filter,
}

impl Native {
    fn new() -> anyhow::Result<Self> {
        let filter = Filter::new(&[
            Setting::new("reverse-dns", SettingValue::Flag(false)),
            Setting::new("geoip", SettingValue::Flag(false)),
        ])
        .map_err(|e| anyhow!("native config rejected: {e}"))?;
        Ok(Native { filter })
    }

    /// Lines per second over `batches`.
    fn run(&self, batches: &[Batch]) -> f64 {
        let started = ThreadClock::start();
        let mut lines = 0usize;
        let mut bytes = 0usize;
        for b in batches {
            let input = BatchIn {
                first_line: b.first_line,
                source: None,
                data: &b.data,
                ends: &b.ends,
                parts: &[],
            };
            let mut out = Vec::new();
            let stats =
                logenrich_policy::batch::process(&self.filter, &mut NoLookups, input, &mut out);
            lines += (stats.parsed + stats.errors) as usize;
            bytes += black_box(out).len();
        }
        assert!(bytes > 0);
        lines as f64 / started.seconds()
    }
}

/// The component side: one reused instance, on a current-thread runtime.
struct Component {
    rt: tokio::runtime::Runtime,
    enricher: Enricher,
}

impl Component {
    /// The component as the CLI runs it (deadline on), or without interruption checks.
    fn new() -> anyhow::Result<Self> {
        Self::with(true)
    }

    fn with(deadline: bool) -> anyhow::Result<Self> {
        Self::configured(deadline, true)
    }

    /// With attack tags (the default rules) on or off.
    fn configured(deadline: bool, attacks: bool) -> anyhow::Result<Self> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start a tokio runtime")?;
        let mut builder = Enricher::builder()
            .setting("reverse-dns", SettingValue::Flag(false))
            .setting("geoip", SettingValue::Flag(false))
            .setting("attacks", SettingValue::Flag(attacks))
            .instances(1);
        if !deadline {
            builder = builder.no_deadline();
        }
        let enricher = rt.block_on(builder.build())?;
        Ok(Component { rt, enricher })
    }

    /// Lines per second over `batches`. The batches are copied before the clock starts:
    /// a host hands its buffers over (the CLI's reader moves them), and the native side
    /// borrows its input too.
    fn run(&mut self, batches: &[Batch]) -> anyhow::Result<f64> {
        let owned = batches.to_vec();
        let started = ThreadClock::start();
        let mut lines = 0usize;
        for b in owned {
            let done = self.rt.block_on(self.enricher.process(b))?;
            anyhow::ensure!(
                done.failure.is_none(),
                "component failed: {:?}",
                done.failure
            );
            lines += done.batch.len();
            black_box(done.jsonl);
        }
        Ok(lines as f64 / started.seconds())
    }
}

/// How attack tags on compare with off: the median pair's `(on, off)` lines per second,
/// and the lowest and highest pair's ratio.
struct OnOff {
    on: f64,
    off: f64,
    low: f64,
    high: f64,
}

/// Attack tags on against off, over `pairs` pairs of fresh instances (one tagging, one
/// not). Two instances of the same build in one process differ by several percent in
/// speed, for the whole of their life (on the bench corpus, one pair read 76.5 %, another
/// 85.4 %, in one process): one pair is one draw. Within a pair, each round runs both
/// over the corpus 16 batches at a time, on then off, and sums each side's CPU time, so a
/// change in the machine's speed hits both sides alike; a pair's ratio is its median
/// round's. The result is the median pair's.
fn tags_on_off(all: &[Batch], rounds: usize, pairs: usize) -> anyhow::Result<OnOff> {
    let ratio = |p: &(f64, f64)| p.0 / p.1;
    let mut per_pair = Vec::new();
    for _ in 0..pairs.max(1) {
        let mut on = Component::configured(true, true)?;
        let mut off = Component::configured(true, false)?;
        let warm = &all[..all.len().min(8)];
        on.run(warm)?;
        off.run(warm)?;
        let mut per_round = Vec::new();
        for _ in 0..rounds.max(1) {
            let (mut t_on, mut t_off, mut lines) = (0.0, 0.0, 0usize);
            for chunk in all.chunks(16) {
                let n = chunk.iter().map(Batch::len).sum::<usize>();
                t_on += n as f64 / on.run(chunk)?;
                t_off += n as f64 / off.run(chunk)?;
                lines += n;
            }
            per_round.push((lines as f64 / t_on, lines as f64 / t_off));
        }
        per_round.sort_by(|a, b| ratio(a).total_cmp(&ratio(b)));
        per_pair.push(per_round[per_round.len() / 2]);
    }
    per_pair.sort_by(|a, b| ratio(a).total_cmp(&ratio(b)));
    let (on, off) = per_pair[per_pair.len() / 2];
    Ok(OnOff {
        on,
        off,
        low: ratio(&per_pair[0]),
        high: ratio(&per_pair[per_pair.len() - 1]),
    })
}

/// Measures both sides alternately over `lines` and reports the ratio and the rate.
pub fn measure(report: &mut Report, lines: &[String], rounds: usize) -> anyhow::Result<()> {
    let native = Native::new()?;
    let mut component = Component::new()?;
    let mut unchecked = Component::with(false)?;
    let all = batches(lines);
    // One untimed pass each: page in the corpus, grow the instance's memory.
    let warm = &all[..all.len().min(8)];
    native.run(warm);
    component.run(warm)?;
    unchecked.run(warm)?;
    let mut u = Vec::new();
    let (c, n) = alternate(
        rounds,
        || {
            u.push(unchecked.run(&all)?);
            component.run(&all)
        },
        || Ok(native.run(&all)),
    )?;
    let (c, n, u) = (median(&c), median(&n), median(&u));
    // Five pairs of two rounds in the full suite, three of one in the quick one.
    let tags = tags_on_off(&all, rounds.min(2), if rounds > 1 { 5 } else { 3 })?;
    let label = crate::report::count(lines.len() as u64);
    report.push(Row::new(
        format!("parse + tag + encode, component vs native ({label} lines, 1 core)"),
        format!(
            "component {} lines/s, native {} lines/s: {:.2}×",
            rate(c),
            rate(n),
            c / n
        ),
        "≥ 0.8×",
        c / n >= 0.8,
    ));
    report.push(Row::info(
        format!(
            "parse + tag + encode, component without the deadline's checks ({label} lines, 1 core)"
        ),
        format!(
            "{} lines/s: {:.2}× native; the deadline's epoch checks cost {:.0} %",
            rate(u),
            u / n,
            100.0 * (1.0 - c / u)
        ),
    ));
    report.push(Row::new(
        format!("attack tags (default rules) vs attacks off, component ({label} lines, 1 core)"),
        format!(
            "{} vs {} lines/s: {:.1} % (median of fresh instance pairs, {:.1}–{:.1} %; \
             interleaved, thread CPU time; the bench corpus: a quarter of each batch's \
             requests are new to it)",
            rate(tags.on),
            rate(tags.off),
            100.0 * tags.on / tags.off,
            100.0 * tags.low,
            100.0 * tags.high
        ),
        "≥ 85 %",
        tags.on / tags.off >= 0.85,
    ));
    report.push(Row::new(
        format!("parse + tag + encode, component, one core ({label} lines)"),
        format!("{} lines/s", rate(c)),
        "≥ 1.5 M lines/s",
        c >= 1.5e6,
    ));
    Ok(())
}
