//! End to end: the `logenrich` CLI with reverse DNS, one DNSBL zone and GeoIP against the
//! `dns-fixture` at 0 ms and a City database that knows every client — throughput and
//! peak RSS at the bar's size, and the same run at three sizes (time linear, RSS flat).

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs::{DNSBL_ZONE, DnsServer, FixtureOptions, Measured};
use crate::report::{Report, Row, count, median_of, rate, s, secs};

/// /24s of padding in the GeoIP database besides the corpus clients' networks.
const GEO_PADDING: u32 = 100_000;

fn mib(m: &Measured) -> f64 {
    m.max_rss_kib as f64 / 1024.0
}

/// The end-to-end bars and the scaling figure.
pub fn e2e_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let sizes = &ctx.sizes;
    let server = DnsServer::start(
        &ctx.bins.dns_fixture,
        &FixtureOptions {
            latency_ms: 0,
            listed_percent: 5.0,
            ..FixtureOptions::default()
        },
    )?;
    let db = data::geoip_db(&ctx.work, sizes.unique_ips, GEO_PADDING)?;
    let ns = server.nameserver();
    let files = sizes
        .scale
        .iter()
        .map(|&n| data::corpus_file(&ctx.work, &data::corpus_options(n, sizes.unique_ips)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let run = |i: usize| -> anyhow::Result<Measured> {
        let file = arg(&files[i])?;
        let tag = format!("e2e-{}", count(sizes.scale[i]));
        let m = ctx.run_logenrich(
            &tag,
            &[
                file,
                "--nameserver",
                &ns,
                "--dnsbl",
                DNSBL_ZONE,
                "--geoip-db",
                arg(&db)?,
            ],
        )?;
        eprintln!(
            "bench: e2e {} lines: {} wall, {} CPU, {:.0} MB peak RSS",
            count(sizes.scale[i]),
            secs(s(m.wall)),
            secs(s(m.cpu)),
            mib(&m)
        );
        Ok(m)
    };

    // Sizes interleaved per round; the largest once (it takes longest and varies least).
    let mut samples: [Vec<Measured>; 3] = Default::default();
    for round in 0..sizes.rounds {
        samples[0].push(run(0)?);
        samples[1].push(run(1)?);
        if round == 0 {
            samples[2].push(run(2)?);
        }
    }
    let wall: Vec<f64> = samples
        .iter()
        .map(|v| median_of(v, |m| s(m.wall)))
        .collect();
    let cpu = median_of(&samples[1], |m| s(m.cpu));
    let rss: Vec<f64> = samples.iter().map(|v| median_of(v, mib)).collect();

    let mid = sizes.scale[1];
    let lines_per_sec = mid as f64 / wall[1];
    report.push(Row::new(
        format!(
            "end to end, DNS + DNSBL + GeoIP, fixture at 0 ms ({} lines, {} clients)",
            count(mid),
            count(u64::from(sizes.unique_ips))
        ),
        format!(
            "{} lines/s ({} wall; {} CPU, i.e. {} lines per CPU-second)",
            rate(lines_per_sec),
            secs(wall[1]),
            secs(cpu),
            rate(mid as f64 / cpu)
        ),
        "≥ 600 k lines/s",
        lines_per_sec >= 600_000.0,
    ));
    report.push(Row::new(
        format!("end to end, peak RSS ({} lines)", count(mid)),
        format!("{:.0} MB", rss[1]),
        "≤ 150 MB",
        rss[1] <= 150.0,
    ));

    // Linear: no step makes a line slower to process (by more than 10 %). Smaller runs
    // carry relatively more fixed cost (start-up, the first lookup of each client), so
    // their rate is lower; the marginal time per extra line is shown too.
    let [a, b, c] = sizes.scale;
    let rates: Vec<f64> = (0..3).map(|i| sizes.scale[i] as f64 / wall[i]).collect();
    let linear = rates[1] >= 0.9 * rates[0] && rates[2] >= 0.9 * rates[1];
    let marginal =
        |i: usize, j: usize| (wall[j] - wall[i]) / (sizes.scale[j] - sizes.scale[i]) as f64 * 1e6;
    report.push(Row::new(
        format!(
            "end to end, {} → {} → {} lines: time",
            count(a),
            count(b),
            count(c)
        ),
        format!(
            "{} → {} → {} ({} → {} → {} lines/s; marginal {:.2} then {:.2} s per million)",
            secs(wall[0]),
            secs(wall[1]),
            secs(wall[2]),
            rate(rates[0]),
            rate(rates[1]),
            rate(rates[2]),
            marginal(0, 1),
            marginal(1, 2)
        ),
        "linear (rate drops ≤ 10 % per step)",
        linear,
    ));
    let spread = rss
        .iter()
        .map(|r| (r / rss[1] - 1.0).abs())
        .fold(0.0, f64::max);
    report.push(Row::new(
        format!(
            "end to end, {} → {} → {} lines: peak RSS",
            count(a),
            count(b),
            count(c)
        ),
        format!(
            "{:.0} → {:.0} → {:.0} MB (±{:.0} %)",
            rss[0],
            rss[1],
            rss[2],
            spread * 100.0
        ),
        "flat (±10 %)",
        spread <= 0.10,
    ));
    let summary = std::fs::read_to_string(
        ctx.work
            .join(format!("logenrich-e2e-{}.stderr", count(mid))),
    )
    .unwrap_or_default();
    report.section(
        format!(
            "logenrich's own summary of the last {}-line end-to-end run",
            count(mid)
        ),
        format!("```\n{}\n```", summary.trim()),
    );
    Ok(())
}
