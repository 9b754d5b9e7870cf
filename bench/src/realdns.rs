//! A real third-party DNS server: the `logenrich` CLI with reverse DNS, one DNSBL zone and
//! GeoIP against Debian's NSD on loopback (its default settings, response rate limiting
//! on; zones generated for the corpus's clients: a PTR name each, 5 % DNSBL-listed), side
//! by side with the same run with GeoIP only. Bar: no failed lookup, and at most 2.5× the
//! GeoIP-only wall time. Then the DNS client alone against hickory-resolver
//! ([`crate::resolvers`]), and the path most users have: Debian's unbound in front of
//! NSD, beside the same run straight to NSD.

use fixture::nsd::{Nsd, NsdZones};

use crate::ctx::{Ctx, arg};
use crate::data;
use crate::procs::program;
use crate::report::{Report, Row, alternate, count, median_of, s, secs};

/// /24s of padding in the GeoIP database besides the corpus clients' networks.
const GEO_PADDING: u32 = 100_000;
/// Every LISTED_EVERY-th client is listed in the DNSBL (5 %).
const LISTED_EVERY: usize = 20;
/// The DNSBL zone NSD serves.
const ZONE: &str = "bl.test";

/// The failed-lookup count and the unreachable note of a run's summary (stderr).
fn failed_lookups(stderr: &str) -> Option<(u64, bool)> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("logenrich: dns: ") && l.ends_with(" failed"))?;
    let failed = line
        .trim_end_matches(" failed")
        .rsplit(' ')
        .next()?
        .parse()
        .ok()?;
    Some((failed, stderr.contains("unreachable")))
}

/// The NSD row.
pub fn realdns_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let (lines, clients): (u64, u32) = if ctx.quick {
        (100_000, 2_000)
    } else {
        (1_000_000, 20_000)
    };
    let figure = format!(
        "PTR + DNSBL + GeoIP against NSD on loopback ({} lines, {} clients) vs GeoIP only",
        count(lines),
        count(u64::from(clients))
    );
    let bar = "0 failed lookups, ≤ 2.5× GeoIP only";
    let Some(program) = program("nsd") else {
        report.push(Row::skipped(figure, "skipped (apt-get install nsd)", bar));
        return Ok(());
    };
    let opts = data::corpus_options(lines, clients);
    let file = data::corpus_file(&ctx.work, &opts)?;
    let db = data::geoip_db(&ctx.work, clients, GEO_PADDING)?;
    let ips: Vec<_> = fixture::corpus::client_ips(&opts).map(|c| c.addr).collect();
    let zones = NsdZones::for_clients(&ips, "real.example.test", LISTED_EVERY);
    let nsd = Nsd::start(&program, &zones)?;
    let ns = nsd.addr().to_string();
    let (file, db) = (arg(&file)?, arg(&db)?);
    let geo_only = [file, "--no-dns", "--geoip-db", db];
    let all = [file, "--nameserver", &ns, "--dnsbl", ZONE, "--geoip-db", db];
    let stderr_of = |tag: &str| {
        std::fs::read_to_string(ctx.work.join(format!("logenrich-{tag}.stderr")))
            .unwrap_or_default()
    };
    let mut failed = Vec::new();
    let (geo, dns) = alternate(
        ctx.sizes.rounds,
        || ctx.run_logenrich("nsd-geo", &geo_only),
        || {
            let m = ctx.run_logenrich("nsd-all", &all)?;
            let summary = stderr_of("nsd-all");
            let (n, unreachable) = failed_lookups(&summary)
                .ok_or_else(|| anyhow::anyhow!("no DNS summary in: {summary}"))?;
            eprintln!(
                "bench: NSD run: {} wall, {n} failed lookups{}",
                secs(s(m.wall)),
                if unreachable { ", unreachable" } else { "" }
            );
            failed.push(n);
            Ok(m)
        },
    )?;
    let geo_wall = median_of(&geo, |m| s(m.wall));
    let dns_wall = median_of(&dns, |m| s(m.wall));
    let worst = failed.iter().copied().max().unwrap_or(0);
    let ratio = dns_wall / geo_wall;
    report.push(Row::new(
        figure,
        format!(
            "{} against {} GeoIP only: {ratio:.2}×; {worst} failed lookups",
            secs(dns_wall),
            secs(geo_wall)
        ),
        bar,
        worst == 0 && ratio <= 2.5,
    ));
    report.section(
        format!(
            "logenrich's summary of the last run against NSD ({} lines)",
            count(lines)
        ),
        format!("```\n{}\n```", stderr_of("nsd-all").trim()),
    );
    let burst = if ctx.quick { 2_000 } else { 10_000 };
    let burst = &ips[..ips.len().min(burst)];
    crate::resolvers::client_figures(report, ctx.sizes.rounds, nsd.addr(), burst, ZONE)?;
    drop(nsd);
    Ok(())
}

/// The unbound row: PTR + DNSBL through Debian's unbound (settings as shipped, stub
/// zones to NSD) beside the same run straight to NSD. Bar: no failed lookup (a
/// resolver's transient SERVFAIL is asked again); the times are reported side by side.
pub fn unbound_figures(ctx: &Ctx, report: &mut Report) -> anyhow::Result<()> {
    let (lines, clients): (u64, u32) = if ctx.quick {
        (20_000, 2_000)
    } else {
        (200_000, 20_000)
    };
    let figure = format!(
        "PTR + DNSBL through unbound in front of NSD ({} lines, {} clients) vs straight to NSD",
        count(lines),
        count(u64::from(clients))
    );
    let bar = "0 failed lookups";
    let (Some(nsd_program), Some(unbound_program)) = (program("nsd"), program("unbound")) else {
        report.push(Row::skipped(
            figure,
            "skipped (apt-get install nsd unbound)",
            bar,
        ));
        return Ok(());
    };
    let opts = data::corpus_options(lines, clients);
    let file = data::corpus_file(&ctx.work, &opts)?;
    let ips: Vec<_> = fixture::corpus::client_ips(&opts).map(|c| c.addr).collect();
    let zones = NsdZones::for_clients(&ips, "real.example.test", LISTED_EVERY);
    let nsd = Nsd::start(&nsd_program, &zones)?;
    let stubs = ["in-addr.arpa", "ip6.arpa", ZONE];
    let unbound = fixture::unbound::Unbound::start(&unbound_program, nsd.addr(), &stubs)?;
    let file = arg(&file)?;
    let mut failed = Vec::new();
    let mut run = |tag: &str, server: std::net::SocketAddr| {
        let ns = server.to_string();
        let args = [file, "--nameserver", &ns, "--dnsbl", ZONE, "--no-geoip"];
        let m = ctx.run_logenrich(tag, &args)?;
        let summary = std::fs::read_to_string(ctx.work.join(format!("logenrich-{tag}.stderr")))
            .unwrap_or_default();
        let (n, _) = failed_lookups(&summary)
            .ok_or_else(|| anyhow::anyhow!("no DNS summary in: {summary}"))?;
        eprintln!(
            "bench: {tag} run: {} wall, {n} failed lookups",
            secs(s(m.wall))
        );
        failed.push(n);
        anyhow::Ok(m)
    };
    // unbound keeps its cache between rounds: only the first round through it is cold,
    // and it is reported apart.
    let mut direct = Vec::new();
    let mut through = Vec::new();
    for _ in 0..ctx.sizes.rounds {
        direct.push(run("direct-nsd", nsd.addr())?);
        through.push(run("unbound", unbound.addr())?);
    }
    let worst = failed.iter().copied().max().unwrap_or(0);
    let direct_wall = median_of(&direct, |m| s(m.wall));
    let through_wall = median_of(&through, |m| s(m.wall));
    report.push(Row::new(
        figure,
        format!(
            "through unbound {} (first round {}), straight to NSD {}; {worst} failed lookups",
            secs(through_wall),
            secs(s(through[0].wall)),
            secs(direct_wall)
        ),
        bar,
        worst == 0,
    ));
    report.section(
        format!(
            "logenrich's summary of the last run through unbound ({} lines)",
            count(lines)
        ),
        format!(
            "```\n{}\n```",
            std::fs::read_to_string(ctx.work.join("logenrich-unbound.stderr"))
                .unwrap_or_default()
                .trim()
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_failed_count_of_the_summary() {
        let summary = "logenrich: 10 lines\nlogenrich: dns: 5 queries sent (0 over TCP, 0 retransmits), 0 cache hits (0.0%), 0 joined in flight, 3 failed\n";
        assert_eq!(failed_lookups(summary), Some((3, false)));
        assert_eq!(failed_lookups("logenrich: 10 lines"), None);
    }
}
