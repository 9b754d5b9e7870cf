//! The page's data: the aggregate laid out as one JSON document (strings interned, client
//! lists as index arrays or bitsets, whichever is smaller), read by `assets/report.js`.
//! Markers (one per location, YlOrRd by `log(count)/log(max)`) are computed here for both
//! the page and the PNG.

use base64::Engine as _;
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

use crate::aggregate::{Aggregate, Client};
use crate::png::ylorrd;

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
pub(crate) fn list(ids: impl Iterator<Item = u32>, n_clients: usize) -> Value {
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

/// The whole document.
pub fn document(agg: &Aggregate, markers: &[Marker]) -> Value {
    let n = agg.clients.len();
    let cs = &agg.clients;
    let mut s = Strings::default();
    let clients: Vec<Value> = cs.iter().map(|c| client(c, &mut s)).collect();

    let panels = crate::panels::panels(agg);
    let time_rows = crate::panels::time_rows(agg, n);
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
