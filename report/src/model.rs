//! The page's data: the aggregate laid out as one JSON document (strings interned, client
//! lists as index arrays or bitsets, whichever is smaller), read by `assets/report.js`.
//! Markers (one per location, YlOrRd by `log(count)/log(max)`) are computed here for both
//! the page and the PNG.

use base64::Engine as _;
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

use crate::aggregate::{Aggregate, Client};
use crate::png::ylorrd;
use crate::record::{SRC_DNS, SRC_UA};
use crate::topk::Tally;

/// Rows shown per panel.
const TOP_ROWS: usize = 25;
/// Clients in the "top clients" table.
const TOP_CLIENTS: usize = 50;

/// One map marker: a location and the clients there.
#[derive(Debug, Clone)]
pub struct Marker {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Requests from the clients there.
    pub requests: u64,
    /// The clients.
    pub clients: Vec<u32>,
    /// `log(requests)/log(max)`, 0..=1.
    pub t: f64,
}

impl Marker {
    /// The colour, `#rrggbb`.
    pub fn color(&self) -> String {
        let [r, g, b] = ylorrd(self.t);
        format!("#{r:02x}{g:02x}{b:02x}")
    }
}

/// The markers, fewest requests first (so the busiest are drawn on top).
pub fn markers(agg: &Aggregate) -> Vec<Marker> {
    let mut by_place: FxHashMap<(u64, u64), Marker> = FxHashMap::default();
    for (id, c) in agg.clients.iter().enumerate() {
        let Some((lat, lon)) = c.location() else {
            continue;
        };
        let m = by_place
            .entry((lat.to_bits(), lon.to_bits()))
            .or_insert_with(|| Marker {
                lat,
                lon,
                requests: 0,
                clients: Vec::new(),
                t: 0.0,
            });
        m.requests += c.requests;
        m.clients.push(id as u32);
    }
    let mut out: Vec<Marker> = by_place.into_values().collect();
    let max = out.iter().map(|m| m.requests).max().unwrap_or(1);
    for m in &mut out {
        m.t = if max <= 1 {
            1.0
        } else {
            (m.requests.max(1) as f64).ln() / (max as f64).ln()
        };
    }
    out.sort_by(|a, b| {
        (a.requests, a.lat.to_bits(), a.lon.to_bits()).cmp(&(
            b.requests,
            b.lat.to_bits(),
            b.lon.to_bits(),
        ))
    });
    out
}

/// Interned strings: each distinct string once, referenced by index (-1 for none).
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    index: FxHashMap<String, usize>,
}

impl Strings {
    fn id(&mut self, s: &str) -> Value {
        if let Some(&i) = self.index.get(s) {
            return json!(i);
        }
        let i = self.list.len();
        self.list.push(s.to_owned());
        self.index.insert(s.to_owned(), i);
        json!(i)
    }

    fn opt(&mut self, s: Option<&str>) -> Value {
        s.map_or(json!(-1), |s| self.id(s))
    }
}

/// A client list: an index array, or a base64 bitset over all clients when that is
/// smaller (a figure that covers most clients).
fn list(ids: impl Iterator<Item = u32>, n_clients: usize) -> Value {
    let mut ids: Vec<u32> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    let array_bytes: usize = ids.iter().map(|&i| digits(i) + 1).sum();
    let bitset_bytes = n_clients.div_ceil(8).div_ceil(3) * 4;
    if array_bytes <= bitset_bytes {
        return json!(ids);
    }
    let mut bits = vec![0u8; n_clients.div_ceil(8)];
    for i in ids {
        bits[(i / 8) as usize] |= 1 << (i % 8);
    }
    json!(base64::engine::general_purpose::STANDARD.encode(bits))
}

fn digits(i: u32) -> usize {
    i.checked_ilog10().map_or(1, |d| d as usize + 1)
}

fn row(label: &str, t: &Tally, n: usize) -> Value {
    json!([
        label,
        t.requests,
        t.clients.len(),
        list(t.clients.iter().copied(), n)
    ])
}

fn source_name(s: u8) -> &'static str {
    match s {
        x if x == SRC_DNS | SRC_UA => "both (reverse DNS and User-Agent)",
        SRC_DNS => "reverse DNS only",
        SRC_UA => "User-Agent only",
        _ => "not a scanner",
    }
}

/// A panel from labelled tallies: the top rows by requests, and how many were left out.
fn panel(id: &str, title: &str, note: &str, rows: Vec<(String, Tally)>, n: usize) -> Value {
    panel_sorted(id, title, note, sort_rows(rows), n)
}

fn sort_rows(mut rows: Vec<(String, Tally)>) -> Vec<(String, Tally)> {
    rows.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then_with(|| a.0.cmp(&b.0)));
    rows
}

fn panel_sorted(id: &str, title: &str, note: &str, rows: Vec<(String, Tally)>, n: usize) -> Value {
    let hidden = rows.len().saturating_sub(TOP_ROWS);
    let rows: Vec<Value> = rows
        .iter()
        .take(TOP_ROWS)
        .map(|(l, t)| row(l, t, n))
        .collect();
    json!({"id": id, "title": title, "note": note, "hidden": hidden, "rows": rows})
}

/// Tallies keyed by something derived from each client.
fn by_client<K: std::hash::Hash + Eq>(
    clients: &[Client],
    mut key: impl FnMut(&Client) -> Vec<K>,
) -> FxHashMap<K, Tally> {
    let mut out: FxHashMap<K, Tally> = FxHashMap::default();
    for (id, c) in clients.iter().enumerate() {
        for k in key(c) {
            let t = out.entry(k).or_default();
            t.requests += c.requests;
            t.clients.insert(id as u32);
        }
    }
    out
}

/// The registered domain of a PTR name (Public Suffix List), or the name itself.
fn registered_domain(name: &str) -> String {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    psl::domain_str(&lower).map_or(lower.clone(), str::to_owned)
}

/// The whole document.
pub fn document(agg: &Aggregate, markers: &[Marker]) -> Value {
    let n = agg.clients.len();
    let cs = &agg.clients;
    let mut s = Strings::default();
    let clients: Vec<Value> = cs.iter().map(|c| client(c, &mut s)).collect();

    let mut panels = Vec::new();
    let sources = by_client(cs, |c| vec![c.sources]);
    let mut src_rows: Vec<(u8, Tally)> = sources.into_iter().filter(|(k, _)| *k != 0).collect();
    src_rows.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
    let src_rows = src_rows
        .into_iter()
        .map(|(k, t)| (source_name(k).to_owned(), t))
        .collect();
    panels.push(panel_sorted(
        "scanners",
        "Scanners by evidence source",
        "clients tagged as scanners, by where the evidence came from",
        src_rows,
        n,
    ));
    let kw = agg
        .keywords
        .iter()
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    panels.push(panel(
        "keywords",
        "Scanners by keyword",
        "lines whose record matched the keyword (User-Agent or PTR name)",
        kw,
        n,
    ));

    let listed = by_client(cs, |c| {
        let mut keys = Vec::new();
        for v in c.details.dnsbl.iter().filter(|v| v.listed) {
            keys.push(format!("{} — listed", v.zone));
            if v.meanings.is_empty() {
                keys.extend(v.answers.iter().map(|a| format!("{}: {a}", v.zone)));
            }
            keys.extend(v.meanings.iter().map(|m| format!("{}: {m}", v.zone)));
        }
        keys
    });
    panels.push(panel(
        "dnsbl",
        "DNSBL listings by zone and meaning",
        "clients listed; error answers are not listings (next panel)",
        listed.into_iter().collect(),
        n,
    ));
    let errors = by_client(cs, |c| {
        c.details
            .dnsbl
            .iter()
            .filter_map(|v| v.error.as_ref().map(|e| format!("{}: {e}", v.zone)))
            .collect()
    });
    panels.push(panel(
        "dnsbl-errors",
        "DNSBL errors (counted apart, never listings)",
        "failed queries and error answers such as 127.255.255.254",
        errors.into_iter().collect(),
        n,
    ));

    let countries = by_client(cs, |c| {
        vec![match c.details.geo.as_ref() {
            Some(g) => match (&g.country, &g.country_code) {
                (Some(name), Some(cc)) => format!("{name} ({cc})"),
                (Some(name), None) => name.clone(),
                (None, Some(cc)) => cc.clone(),
                (None, None) => "unknown country".to_owned(),
            },
            None => "not in the GeoIP database".to_owned(),
        }]
    });
    panels.push(panel(
        "countries",
        "Top countries",
        "",
        countries.into_iter().collect(),
        n,
    ));
    let asns = by_client(cs, |c| {
        vec![match c
            .details
            .geo
            .as_ref()
            .and_then(|g| g.asn.map(|a| (a, g.as_org.clone())))
        {
            Some((a, Some(org))) => format!("AS{a} {org}"),
            Some((a, None)) => format!("AS{a}"),
            None => "no ASN".to_owned(),
        }]
    });
    panels.push(panel("asns", "Top ASNs", "", asns.into_iter().collect(), n));
    let domains = by_client(cs, |c| {
        vec![match c.details.dns.as_ref() {
            Some(d) => match &d.name {
                Some(name) => registered_domain(name),
                None => format!("({})", d.status.replace('_', " ")),
            },
            None => "(reverse DNS off)".to_owned(),
        }]
    });
    panels.push(panel(
        "domains",
        "Top PTR domains (registered domain)",
        "",
        domains.into_iter().collect(),
        n,
    ));
    let targets = agg
        .targets
        .iter()
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    panels.push(panel(
        "targets",
        "Top targets",
        &dropped_note(agg.targets.dropped_values),
        targets,
        n,
    ));
    let agents = agg
        .agents
        .iter()
        .map(|(k, t)| (k.clone(), t.clone()))
        .collect();
    panels.push(panel(
        "agents",
        "Top User-Agents",
        &dropped_note(agg.agents.dropped_values),
        agents,
        n,
    ));
    let mut statuses: Vec<(u16, &Tally)> = agg.statuses.iter().map(|(k, t)| (*k, t)).collect();
    statuses.sort_by_key(|(k, _)| *k);
    let statuses = statuses
        .into_iter()
        .map(|(k, t)| (k.to_string(), t.clone()))
        .collect();
    panels.push(panel_sorted("statuses", "Status codes", "", statuses, n));

    let time_rows = time_rows(agg, n);
    let mut reasons: Vec<(&String, &crate::aggregate::ErrorTally)> = agg.reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
    let reasons: Vec<Value> = reasons
        .iter()
        .take(TOP_ROWS)
        .map(|(r, t)| json!([r, t.count, t.at]))
        .collect();

    let mut top: Vec<u32> = (0..n as u32).collect();
    top.sort_by(|&a, &b| {
        cs[b as usize]
            .requests
            .cmp(&cs[a as usize].requests)
            .then(a.cmp(&b))
    });
    top.truncate(TOP_CLIENTS);

    let markers: Vec<Value> = markers
        .iter()
        .map(|m| {
            json!([
                m.lat,
                m.lon,
                m.requests,
                m.color(),
                marker_radius(m.t),
                list(m.clients.iter().copied(), n)
            ])
        })
        .collect();
    let t = agg.totals();
    json!({
        "totals": {"lines": t.lines, "records": t.records, "errors": t.errors, "foreign": t.foreign,
                    "clients": t.clients, "located": t.located, "locations": t.locations},
        "clients": clients,
        "markers": markers,
        "panels": panels,
        "time": {"bucket": agg.bucket_secs, "untimed": agg.untimed, "rows": time_rows},
        "errors": reasons,
        "top": top,
        "s": s.list,
    })
}

/// The map marker's radius in CSS pixels.
pub fn marker_radius(t: f64) -> f64 {
    ((5.0 + 11.0 * t) * 10.0).round() / 10.0
}

fn dropped_note(dropped: u64) -> String {
    if dropped == 0 {
        String::new()
    } else {
        format!("{dropped} rare values were dropped to bound memory; counts shown are exact")
    }
}

/// Requests over time, in at most ~120 bars of a round width, empty ones included.
fn time_rows(agg: &Aggregate, n: usize) -> Vec<Value> {
    let (Some((&first, _)), Some((&last, _))) =
        (agg.buckets.first_key_value(), agg.buckets.last_key_value())
    else {
        return Vec::new();
    };
    let widths = [
        3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86_400,
        7 * 86_400,
        30 * 86_400,
        365 * 86_400,
    ];
    let span = last - first + agg.bucket_secs;
    let width = widths
        .into_iter()
        .filter(|w| *w >= agg.bucket_secs)
        .find(|w| span / w <= 120)
        .unwrap_or(365 * 86_400);
    let mut bars: std::collections::BTreeMap<i64, Tally> = std::collections::BTreeMap::new();
    let start = first.div_euclid(width) * width;
    let mut t = start;
    while t <= last {
        bars.insert(t, Tally::default());
        t += width;
    }
    for (k, v) in &agg.buckets {
        bars.entry(k.div_euclid(width) * width)
            .or_default()
            .merge(v);
    }
    bars.iter()
        .map(|(k, v)| {
            let mut r = row(&crate::time::label(*k), v, n);
            if let Some(a) = r.as_array_mut() {
                a.push(json!(width));
            }
            r
        })
        .collect()
}

fn client(c: &Client, s: &mut Strings) -> Value {
    let d = &c.details;
    let dns = d.dns.as_ref();
    let geo = d.geo.as_ref();
    let verdicts: Vec<Value> = d
        .dnsbl
        .iter()
        .map(|v| {
            let meanings: Vec<Value> = v.meanings.iter().map(|m| s.id(m)).collect();
            let answers: Vec<Value> = v.answers.iter().map(|a| s.id(a)).collect();
            json!([
                s.id(&v.zone),
                u8::from(v.listed),
                meanings,
                answers,
                s.opt(v.reason.as_deref()),
                s.opt(v.error.as_deref())
            ])
        })
        .collect();
    let kw: Vec<Value> = c.matched.iter().map(|k| s.id(k)).collect();
    let ua: Vec<Value> = c.agents.iter().take(3).map(|k| s.id(k)).collect();
    json!([
        c.ip,
        s.opt(dns.and_then(|d| d.name.as_deref())),
        s.opt(dns.map(|d| d.status.as_str())),
        [
            s.opt(geo.and_then(|g| g.country_code.as_deref())),
            s.opt(geo.and_then(|g| g.country.as_deref())),
            s.opt(geo.and_then(|g| g.subdivision.as_deref())),
            s.opt(geo.and_then(|g| g.city.as_deref())),
        ],
        geo.and_then(|g| g.asn),
        s.opt(geo.and_then(|g| g.as_org.as_deref())),
        c.requests,
        c.sources,
        kw,
        verdicts,
        ua,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_lists_pick_the_smaller_encoding() {
        assert_eq!(list([3, 1, 2, 2].into_iter(), 10_000), json!([1, 2, 3]));
        let all = list(0..10_000, 10_000);
        let b64 = all.as_str().expect("a dense list is a bitset");
        let bits = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(bits.len(), 1250);
        assert!(bits.iter().all(|&b| b == 0xff));
    }

    #[test]
    fn registered_domains() {
        assert_eq!(registered_domain("scanner-9.census.shodan.io"), "shodan.io");
        assert_eq!(registered_domain("host.example.co.uk."), "example.co.uk");
    }

    #[test]
    fn marker_colour_scale() {
        let mut agg = Aggregate::default();
        for (ip, lat, n) in [
            ("192.0.2.1", 10.0, 1),
            ("192.0.2.2", 20.0, 10),
            ("192.0.2.3", 30.0, 100),
        ] {
            for _ in 0..n {
                let line = format!(r#"{{"ip":"{ip}","geo":{{"lat":{lat},"lon":5.0}}}}"#);
                agg.add(crate::record::parse_one(line.as_bytes(), &mut |_| false));
            }
        }
        let m = markers(&agg);
        let t: Vec<f64> = m.iter().map(|m| m.t).collect();
        assert_eq!(t.len(), 3);
        assert!(
            (t[0] - 0.0).abs() < 1e-9 && (t[1] - 0.5).abs() < 1e-9 && (t[2] - 1.0).abs() < 1e-9
        );
        assert_eq!(m[2].color(), "#800026");
        assert_eq!(m[0].color(), "#ffffcc");
    }
}
