//! The map as a PNG without a browser: an SVG (basemap paths and one circle per location,
//! Web Mercator) rasterised with `resvg`. The SVG carries no text from records, only
//! numbers, so there is nothing in it to escape.

use std::f64::consts::PI;
use std::fmt::Write as _;

use crate::Error;
use crate::aggregate::Aggregate;
use crate::model::{Marker, markers};

/// The PNG's width in pixels (the whole globe, longitude -180..180).
pub const PNG_WIDTH: u32 = 1600;
/// The latitude at the PNG's top edge.
pub const PNG_LAT_TOP: f64 = 84.0;
/// The latitude at the PNG's bottom edge.
pub const PNG_LAT_BOTTOM: f64 = -60.0;

/// ColorBrewer's 9-class YlOrRd (Cynthia Brewer, colorbrewer2.org), light to dark.
const YLORRD: [[u8; 3]; 9] = [
    [0xff, 0xff, 0xcc],
    [0xff, 0xed, 0xa0],
    [0xfe, 0xd9, 0x76],
    [0xfe, 0xb2, 0x4c],
    [0xfd, 0x8d, 0x3c],
    [0xfc, 0x4e, 0x2a],
    [0xe3, 0x1a, 0x1c],
    [0xbd, 0x00, 0x26],
    [0x80, 0x00, 0x26],
];

/// The YlOrRd colour at `t` in 0..=1, linear between the nine classes.
pub fn ylorrd(t: f64) -> [u8; 3] {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let pos = t * (YLORRD.len() - 1) as f64;
    let i = (pos.floor() as usize).min(YLORRD.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (YLORRD[i], YLORRD[i + 1]);
    std::array::from_fn(|k| {
        (f64::from(a[k]) + (f64::from(b[k]) - f64::from(a[k])) * f).round() as u8
    })
}

fn mercator_y(lat: f64) -> f64 {
    let lat = lat.clamp(-85.0, 85.0).to_radians();
    f64::from(PNG_WIDTH) / (2.0 * PI) * (PI - (PI / 4.0 + lat / 2.0).tan().ln())
}

/// The pixel of a coordinate in the PNG.
pub fn project(lat: f64, lon: f64) -> (f64, f64) {
    let x = (lon + 180.0) / 360.0 * f64::from(PNG_WIDTH);
    (x, mercator_y(lat) - mercator_y(PNG_LAT_TOP))
}

/// The PNG's height in pixels.
pub fn height() -> u32 {
    (mercator_y(PNG_LAT_BOTTOM) - mercator_y(PNG_LAT_TOP)).round() as u32
}

/// A marker's radius in the PNG, pixels.
fn radius(m: &Marker) -> f64 {
    3.0 + 9.0 * m.t
}

/// The SVG of the map.
pub fn svg(agg: &Aggregate) -> String {
    let (w, h) = (PNG_WIDTH, height());
    let mut out = String::with_capacity(256 << 10);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><rect width="{w}" height="{h}" fill="#d6e6f2"/><path fill="#f4f1ea" stroke="#9a9a9a" stroke-width="0.6" stroke-linejoin="round" d=""##
    );
    for polygon in crate::basemap::countries().iter().flatten() {
        for ring in polygon {
            for (i, &(lon, lat)) in ring.iter().enumerate() {
                let (x, y) = project(lat, lon);
                let _ = write!(out, "{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" });
            }
            out.push('Z');
        }
    }
    out.push_str(r#"" fill-rule="evenodd"/>"#);
    for m in markers(agg) {
        let (x, y) = project(m.lat, m.lon);
        let _ = write!(
            out,
            r##"<circle cx="{x:.2}" cy="{y:.2}" r="{:.1}" fill="{}" fill-opacity="0.85" stroke="#333333" stroke-width="0.8"/>"##,
            radius(&m),
            m.color()
        );
    }
    out.push_str("</svg>");
    out
}

/// The PNG bytes.
pub fn render(agg: &Aggregate) -> Result<Vec<u8>, Error> {
    use resvg::{tiny_skia, usvg};
    let svg = svg(agg);
    let tree = usvg::Tree::from_str(&svg, &usvg::Options::default())
        .map_err(|e| Error::Png(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| Error::Png("empty image".to_owned()))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| Error::Png(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_corners_and_equator() {
        let (x, y) = project(PNG_LAT_TOP, -180.0);
        assert!(x.abs() < 1e-9 && y.abs() < 1e-9);
        let (x, y) = project(0.0, 0.0);
        assert!((x - 800.0).abs() < 1e-9);
        // The equator sits where Mercator puts it: W/2 from the top of the full square.
        assert!((y + mercator_y(PNG_LAT_TOP) - 800.0).abs() < 1e-9);
        assert!(height() > 900 && height() < 1300);
    }

    #[test]
    fn colour_scale_ends() {
        assert_eq!(ylorrd(0.0), [0xff, 0xff, 0xcc]);
        assert_eq!(ylorrd(1.0), [0x80, 0x00, 0x26]);
        assert_eq!(ylorrd(0.5), [0xfd, 0x8d, 0x3c]);
        assert_eq!(ylorrd(f64::NAN), [0x80, 0x00, 0x26]);
    }
}
