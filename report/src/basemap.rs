//! The world basemap: Natural Earth 1:110m country outlines from the `world-atlas` npm
//! package (vendored, see `assets/README.md`), decoded from TopoJSON into polygons once,
//! then written as GeoJSON for the page's map and as SVG paths for the PNG.
//!
//! The TopoJSON decoding is hand-written (about 40 lines: delta-decoded, quantized arcs
//! stitched into rings, per the TopoJSON specification); the crates that read TopoJSON
//! pull in the whole `geojson`/`geo-types` stack for this one step.

use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::Value;

/// The vendored TopoJSON.
const TOPOJSON: &str = include_str!("../assets/vendor/countries-110m.json");

/// A ring of (longitude, latitude) points.
pub type Ring = Vec<(f64, f64)>;

/// The countries, each a list of polygons (outer ring, then holes).
pub fn countries() -> &'static [Vec<Vec<Ring>>] {
    static MAP: OnceLock<Vec<Vec<Vec<Ring>>>> = OnceLock::new();
    MAP.get_or_init(|| {
        decode(TOPOJSON)
            .unwrap_or_default()
            .into_iter()
            .map(|country| country.into_iter().flat_map(split_antimeridian).collect())
            .collect()
    })
}

/// The TopoJSON is spherical: a polygon that crosses the antimeridian (Fiji, Chukotka)
/// jumps from 180 to -180, which a flat map draws as a band across the world. Such a
/// polygon is unwrapped (longitudes made continuous, some beyond ±180) and drawn twice,
/// once shifted by 360°, so each side shows its part. A ring that winds around a pole
/// (Antarctica) is left as it is.
fn split_antimeridian(polygon: Vec<Ring>) -> Vec<Vec<Ring>> {
    let crosses = polygon
        .iter()
        .any(|r| r.windows(2).any(|w| (w[1].0 - w[0].0).abs() > 180.0));
    if !crosses {
        return vec![polygon];
    }
    let mut unwrapped = Vec::with_capacity(polygon.len());
    for ring in &polygon {
        let mut out: Ring = Vec::with_capacity(ring.len());
        for &(lon, lat) in ring {
            let mut lon = lon;
            if let Some(&(prev, _)) = out.last() {
                while lon - prev > 180.0 {
                    lon -= 360.0;
                }
                while lon - prev < -180.0 {
                    lon += 360.0;
                }
            }
            out.push((lon, lat));
        }
        let winds = match (out.first(), out.last()) {
            (Some(a), Some(b)) => (a.0 - b.0).abs() > 1.0,
            _ => false,
        };
        if winds {
            return vec![polygon];
        }
        unwrapped.push(out);
    }
    let shift = if unwrapped.iter().flatten().any(|p| p.0 > 180.0) {
        -360.0
    } else {
        360.0
    };
    let copy = unwrapped
        .iter()
        .map(|r| r.iter().map(|&(lon, lat)| (lon + shift, lat)).collect())
        .collect();
    vec![unwrapped, copy]
}

fn decode(text: &str) -> Option<Vec<Vec<Vec<Ring>>>> {
    let topo: Value = serde_json::from_str(text).ok()?;
    let t = &topo["transform"];
    let (sx, sy) = (t["scale"][0].as_f64()?, t["scale"][1].as_f64()?);
    let (tx, ty) = (t["translate"][0].as_f64()?, t["translate"][1].as_f64()?);
    let arcs: Vec<Ring> = topo["arcs"]
        .as_array()?
        .iter()
        .map(|arc| {
            let (mut x, mut y) = (0i64, 0i64);
            arc.as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    x += p[0].as_i64().unwrap_or(0);
                    y += p[1].as_i64().unwrap_or(0);
                    (x as f64 * sx + tx, y as f64 * sy + ty)
                })
                .collect()
        })
        .collect();
    let ring = |indices: &Value| -> Ring {
        let mut out: Ring = Vec::new();
        for i in indices
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
        {
            let (arc, reversed) = if i < 0 { (!i, true) } else { (i, false) };
            let Some(points) = usize::try_from(arc).ok().and_then(|a| arcs.get(a)) else {
                continue;
            };
            let mut points = points.clone();
            if reversed {
                points.reverse();
            }
            let skip = usize::from(!out.is_empty());
            out.extend(points.into_iter().skip(skip));
        }
        out
    };
    let polygon =
        |rings: &Value| -> Vec<Ring> { rings.as_array().into_iter().flatten().map(ring).collect() };
    let geometries = topo["objects"]["countries"]["geometries"].as_array()?;
    Some(
        geometries
            .iter()
            .map(|g| match g["type"].as_str() {
                Some("Polygon") => vec![polygon(&g["arcs"])],
                Some("MultiPolygon") => g["arcs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(polygon)
                    .collect(),
                _ => Vec::new(),
            })
            .collect(),
    )
}

/// The countries as a GeoJSON `MultiPolygon` geometry (coordinates to 0.01°), for the
/// page's map.
pub fn geojson() -> String {
    let mut out = String::from(r#"{"type":"MultiPolygon","coordinates":["#);
    let mut first_polygon = true;
    for polygon in countries().iter().flatten() {
        if !first_polygon {
            out.push(',');
        }
        first_polygon = false;
        out.push('[');
        for (i, ring) in polygon.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('[');
            for (j, (lon, lat)) in ring.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "[{},{}]", round2(*lon), round2(*lat));
            }
            out.push(']');
        }
        out.push(']');
    }
    out.push_str("]}");
    out
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_all_countries_inside_the_globe() {
        let c = countries();
        assert_eq!(c.len(), 177, "Natural Earth 110m has 177 countries");
        for ring in c.iter().flatten().flatten() {
            assert!(ring.len() >= 4);
            assert_eq!(ring.first(), ring.last(), "rings are closed");
            for w in ring.windows(2) {
                // No edge crosses the map: antimeridian polygons were unwrapped, except
                // Antarctica's ring around the pole (along the edge at -90°).
                assert!((w[1].0 - w[0].0).abs() <= 180.0 || w[0].1 < -80.0, "{w:?}");
            }
            for &(lon, lat) in ring {
                assert!((-540.0..=540.0).contains(&lon) && (-90.0..=90.0).contains(&lat));
            }
        }
        let v: Value = serde_json::from_str(&geojson()).unwrap();
        assert_eq!(v["type"], "MultiPolygon");
    }
}
