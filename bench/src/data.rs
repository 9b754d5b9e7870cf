//! The bench's own data: honeypot-format corpora (written once per parameter set and kept in
//! the work directory) and a GeoLite2-City-schema database that knows every client address
//! of those corpora.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use fixture::corpus::{self, CorpusOptions};
use fixture::mmdb::{CITY_DATABASE_TYPE, CityRecord, MmdbBuilder, Network, Subdivision};

/// The corpus options of the bench: the honeypot format with its defaults (about 5 %
/// scanner User-Agents, 10 % IPv6, 3 % garbage requests, Zipf exponent 1.1) and
/// `unique_ips` clients.
pub fn corpus_options(lines: u64, unique_ips: u32) -> CorpusOptions {
    CorpusOptions {
        lines,
        unique_ips,
        ..CorpusOptions::default()
    }
}

/// The corpus file of `opts` in `dir`, generated if it is not there yet.
pub fn corpus_file(dir: &Path, opts: &CorpusOptions) -> anyhow::Result<PathBuf> {
    let name = format!(
        "corpus-{}-{}ips-z{}-v6{}-s{}.log",
        opts.lines, opts.unique_ips, opts.zipf_exponent, opts.ipv6_share, opts.seed
    );
    let path = dir.join(name);
    if path.is_file() {
        return Ok(path);
    }
    eprintln!("bench: generating {}", path.display());
    let tmp = path.with_extension("tmp");
    let mut out = BufWriter::with_capacity(
        1 << 20,
        File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?,
    );
    corpus::generate(opts, &mut out).with_context(|| format!("cannot write {}", tmp.display()))?;
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot rename {}", tmp.display()))?;
    Ok(path)
}

/// The corpus of `opts`, in memory.
pub fn corpus_lines(opts: &CorpusOptions) -> Vec<String> {
    corpus::lines(opts).collect()
}

/// A small corpus file of `n` lines in `dir` (for start-up runs).
pub fn tiny_file(dir: &Path, n: u64) -> anyhow::Result<PathBuf> {
    corpus_file(dir, &corpus_options(n, 100))
}

/// Distinct client addresses of a corpus pool, most popular first: the addresses a
/// lookup benchmark of `n` unique IPs queries.
pub fn unique_ips(n: u32) -> Vec<IpAddr> {
    corpus::client_ips(&corpus_options(1, n))
        .map(|c| c.addr)
        .collect()
}

/// How many distinct City records the database shares among its networks.
const RECORDS: usize = 1024;

/// A GeoLite2-City-schema database in `dir` covering every client address of a pool of
/// `unique_ips`: the /24 (IPv4) or /48 (IPv6) of each, plus `padding` unrelated /24s so the
/// tree has a realistic depth and size. Written once per parameter set.
pub fn geoip_db(dir: &Path, unique_ips: u32, padding: u32) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("city-{unique_ips}ips-{padding}pad.mmdb"));
    if path.is_file() {
        return Ok(path);
    }
    eprintln!("bench: writing {}", path.display());
    let mut nets: BTreeSet<(IpAddr, u8)> = BTreeSet::new();
    for ip in self::unique_ips(unique_ips) {
        nets.insert(match ip {
            IpAddr::V4(v4) => (IpAddr::V4((u32::from(v4) & 0xFFFF_FF00).into()), 24),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 80) - 1);
                (IpAddr::V6(bits.into()), 48)
            }
        });
    }
    // Padding: /24s scattered over 11.0.0.0 to 98.255.255.0, outside the pool.
    for i in 0..u64::from(padding) {
        let index = (i * 0x9E37_79B1) % (88 << 16);
        let net = ((11 + (index >> 16)) << 24 | (index & 0xFFFF) << 8) as u32;
        nets.insert((IpAddr::V4(net.into()), 24));
    }
    let mut builder: MmdbBuilder<CityRecord> = MmdbBuilder::new(CITY_DATABASE_TYPE);
    builder.describe(&["en"], "logenrich bench database");
    let values: Vec<_> = (0..RECORDS).map(|i| builder.add_value(city(i))).collect();
    for (i, (addr, prefix)) in nets.into_iter().enumerate() {
        builder.insert_shared(Network::new(addr, prefix)?, values[i % RECORDS])?;
    }
    let tmp = path.with_extension("tmp");
    builder.write(&tmp)?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot rename {}", tmp.display()))?;
    Ok(path)
}

/// The `i`-th bench City record: plausible values of every field the runner reads.
fn city(i: usize) -> CityRecord {
    let country = ["DE", "FR", "US", "NL", "BR", "JP", "IN", "ZA"][i % 8];
    CityRecord {
        continent_code: Some("EU".to_owned()),
        country_code: Some(country.to_owned()),
        country_name: Some(format!("Country {country}")),
        subdivisions: vec![Subdivision {
            iso_code: Some(format!("R{}", i % 16)),
            name: Some(format!("Region {}", i % 16)),
        }],
        city: Some(format!("Town {i}")),
        latitude: Some((i % 170) as f64 - 85.0 + 0.25),
        longitude: Some((i % 350) as f64 - 175.0 + 0.5),
        accuracy_radius: Some(50),
        time_zone: Some("Europe/Paris".to_owned()),
        ..CityRecord::default()
    }
}
