//! The panels: figures keyed by something of each client (scanner source, DNSBL verdict,
//! country, ASN, PTR domain) or counted per line (keywords, attack rules, targets,
//! User-Agents, statuses), each row with its requests, clients and the list of those clients; and
//! requests over time.

use rustc_hash::FxHashMap;
use serde_json::{Value, json};

use crate::aggregate::{Aggregate, Client};
use crate::model::list;
use crate::record::{SRC_DNS, SRC_UA};
use crate::topk::Tally;

/// Rows shown per panel.
const TOP_ROWS: usize = 25;

/// The panels, in page order.
pub fn panels(agg: &Aggregate) -> Vec<Value> {
    let n = agg.clients.len();
    let cs = &agg.clients;
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
    let mut attacks = panel(
        "attacks",
        "Attacks by rule",
        &agg.attacks.note(),
        agg.attacks.rows(),
        n,
    );
    agg.attacks.add_examples(&mut attacks);
    panels.push(attacks);

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
    if !agg.levels.is_empty() {
        let mut levels: Vec<(String, Tally)> = agg
            .levels
            .iter()
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect();
        levels.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then_with(|| a.0.cmp(&b.0)));
        panels.push(panel_sorted("levels", "Error-log levels", "", levels, n));
    }

    panels
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

fn dropped_note(dropped: u64) -> String {
    if dropped == 0 {
        String::new()
    } else {
        format!("{dropped} rare values were dropped to bound memory; counts shown are exact")
    }
}

/// Requests over time, in at most ~120 bars of a round width, empty ones included.
pub fn time_rows(agg: &Aggregate, n: usize) -> Vec<Value> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains() {
        assert_eq!(registered_domain("scanner-9.census.shodan.io"), "shodan.io");
        assert_eq!(registered_domain("host.example.co.uk."), "example.co.uk");
    }
}
