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
    many_clients(ctx, &ns, report)?;
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

/// The peak RSS bar again with most clients distinct (issue 21's full run): 1M lines from
/// a pool of 1M addresses with a flatter Zipf (0.7), about 462k distinct clients, so the
/// lookup caches are full, every batch brings ~1,000 new clients and the distinct count
/// goes past its exact range. One run, full mode only (it is DNS-bound: ~1.3M queries).
fn many_clients(ctx: &Ctx, ns: &str, report: &mut Report) -> anyhow::Result<()> {
    let figure = "end to end, peak RSS with most clients distinct (1M lines, ~462k clients)";
    if ctx.quick {
        report.push(Row::skipped(
            figure,
            "full mode only (about a minute)",
            "≤ 150 MB",
        ));
        return Ok(());
    }
    let opts = fixture::corpus::CorpusOptions {
        zipf_exponent: 0.7,
        ..data::corpus_options(1_000_000, 1_000_000)
    };
    let file = data::corpus_file(&ctx.work, &opts)?;
    let db = data::geoip_db(&ctx.work, opts.unique_ips, GEO_PADDING)?;
    let m = ctx.run_logenrich(
        "e2e-many-clients",
        &[
            arg(&file)?,
            "--nameserver",
            ns,
            "--dnsbl",
            DNSBL_ZONE,
            "--geoip-db",
            arg(&db)?,
        ],
    )?;
    let summary = std::fs::read_to_string(ctx.work.join("logenrich-e2e-many-clients.stderr"))
        .unwrap_or_default();
    let clients = summary
        .split(", ")
        .find(|part| part.ends_with("unique IPs"))
        .unwrap_or("? unique IPs");
    report.push(Row::new(
        figure,
        format!("{:.0} MB ({clients}, {} wall)", mib(&m), secs(s(m.wall))),
        "≤ 150 MB",
        mib(&m) <= 150.0,
    ));
    Ok(())
}
