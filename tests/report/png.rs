//! The PNG map, rasterised without a browser (a marker lands on the projected pixel of its
//! coordinate), and `--report` on a run (the same report as `logenrich report` of the
//! run's output).

use std::path::Path;

use serde_json::Value;

use super::{PARIS, SYDNEY, client, make_report, records, report_cmd};
use crate::util::{self, logenrich};

fn mercator_y(lat: f64) -> f64 {
    let w = 1600.0;
    let phi = lat.to_radians();
    w / (2.0 * std::f64::consts::PI)
        * (std::f64::consts::PI - (std::f64::consts::FRAC_PI_4 + phi / 2.0).tan().ln())
}

/// The pixel of a coordinate in the PNG: Web Mercator over 1600 px of longitude,
/// latitudes 84 (top) to -60 (README § report).
fn pixel(lat: f64, lon: f64) -> (u32, u32) {
    let x = (lon + 180.0) / 360.0 * 1600.0;
    let y = mercator_y(lat) - mercator_y(84.0);
    (x.round() as u32, y.round() as u32)
}

#[test]
fn png_marker_lands_on_the_projected_pixel() {
    let dir = tempfile::tempdir().unwrap();
    let clients = vec![
        client("192.0.2.1", Some(PARIS), 50, 200),
        client("192.0.2.2", Some(SYDNEY), 1, 200),
    ];
    let png_path = dir.path().join("map.png");
    make_report(
        dir.path(),
        &records(&clients),
        &["--png", png_path.to_str().unwrap()],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.width, 1600);
    assert_eq!(
        info.height,
        (mercator_y(-60.0) - mercator_y(84.0)).round() as u32
    );
    let channels = info.line_size / info.width as usize;
    let at = |x: u32, y: u32| -> [u8; 3] {
        let i = y as usize * info.line_size + x as usize * channels;
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    let near = |got: [u8; 3], want: [u8; 3]| got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 8);
    // The busiest place: YlOrRd's darkest, #800026, at 85 % over the land colour #f4f1ea.
    let blend = |c: [u8; 3]| -> [u8; 3] {
        let land = [0xf4, 0xf1, 0xea];
        std::array::from_fn(|k| (0.85 * f64::from(c[k]) + 0.15 * f64::from(land[k])).round() as u8)
    };
    let (x, y) = pixel(PARIS.0, PARIS.1);
    assert!(
        near(at(x, y), blend([0x80, 0x00, 0x26])),
        "Paris at ({x}, {y}) is {:?}",
        at(x, y)
    );
    // 20 px away (the marker's radius is 12) is not the marker.
    assert!(!near(at(x + 20, y), blend([0x80, 0x00, 0x26])));
    // The quietest place: the palest colour.
    let (x, y) = pixel(SYDNEY.0, SYDNEY.1);
    assert!(
        near(at(x, y), blend([0xff, 0xff, 0xcc])),
        "Sydney at ({x}, {y}) is {:?}",
        at(x, y)
    );
}

/// `--report` on a run gives the report of exactly the records written.
#[test]
fn report_during_a_run_matches_a_report_of_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("out.jsonl");
    let during = dir.path().join("during.html");
    let out = logenrich()
        .args(["--no-dns", "--no-geoip"])
        .arg(util::sample())
        .arg("-o")
        .arg(&jsonl)
        .arg("--report")
        .arg(&during)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", util::stderr(&out));
    let after = dir.path().join("after.html");
    let out = report_cmd()
        .arg(&jsonl)
        .arg("-o")
        .arg(&after)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", util::stderr(&out));
    let data = |p: &Path| {
        let page = std::fs::read_to_string(p).unwrap();
        let start = page.find("id=\"report-data\">").expect("data") + 17;
        let end = start + page[start..].find("</script>").unwrap();
        serde_json::from_str::<Value>(&page[start..end]).unwrap()
    };
    let (d, a) = (data(&during), data(&after));
    assert_eq!(d["totals"]["lines"], 305);
    // Three unparseable lines; the sample's nginx error-log line is a record.
    assert_eq!(d["totals"]["errors"], 3);
    assert_eq!(d, a);
    let attacks = d["panels"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["id"] == "attacks"))
        .expect("an attacks panel");
    let rules: Vec<&str> = attacks["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r[0].as_str())
        .collect();
    assert!(
        rules.contains(&"log4j-jndi") && rules.contains(&"path-traversal"),
        "{rules:?}"
    );
    let page = std::fs::read_to_string(&during).unwrap();
    assert!(page.contains("this run"), "the run's lookups are described");
}
