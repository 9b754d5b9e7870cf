//! The HTML page: one file with everything inlined (vendored Leaflet and
//! Leaflet.markercluster, our script and styles, the basemap and the data as JSON), and a
//! Content-Security-Policy that allows only those inline blocks (by hash) and `data:`
//! images: no request can leave the file.

use std::fmt::Write as _;
use std::io::Write;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::aggregate::Aggregate;
use crate::escape::{escape_html as esc, escape_script_json};
use crate::{Error, Meta};

const LEAFLET_JS: &str = include_str!("../assets/vendor/leaflet.js");
const CLUSTER_JS: &str = include_str!("../assets/vendor/leaflet.markercluster.js");
const REPORT_JS: &str = include_str!("../assets/report.js");
const LEAFLET_CSS: &str = include_str!("../assets/vendor/leaflet.css");
const CLUSTER_CSS: &str = include_str!("../assets/vendor/MarkerCluster.css");
const CLUSTER_DEFAULT_CSS: &str = include_str!("../assets/vendor/MarkerCluster.Default.css");
const REPORT_CSS: &str = include_str!("../assets/report.css");

/// The vendored code's credits, shown in the footer.
const CREDITS: &str = "Map: Leaflet 1.9.4 (BSD-2-Clause, © Vladimir Agafonkin, CloudMade) and \
     Leaflet.markercluster 1.5.3 (MIT, © Dave Leaver). Basemap: Natural Earth 1:110m Admin 0 \
     countries, public domain (naturalearthdata.com), as TopoJSON from world-atlas 2.0.2 (ISC, \
     © Michael Bostock). Colours: ColorBrewer YlOrRd (Cynthia Brewer, colorbrewer2.org).";

/// Without the source-map comment (a devtools fetch of a file we do not ship).
fn strip_source_map(js: &str) -> &str {
    match js.rfind("//# sourceMappingURL=") {
        Some(i) => &js[..i],
        None => js,
    }
}

fn sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// Writes the page.
pub fn write<W: Write>(agg: &Aggregate, meta: &Meta, mut out: W) -> Result<(), Error> {
    let markers = crate::model::markers(agg);
    let doc = crate::model::document(agg, &markers);
    let data = escape_script_json(&doc.to_string());
    let basemap = escape_script_json(&crate::basemap::geojson());
    let script = format!(
        "{}\n;\n{}\n;\n{}",
        strip_source_map(LEAFLET_JS),
        strip_source_map(CLUSTER_JS),
        REPORT_JS
    );
    // The HTML parser turns CRLF into LF before the browser hashes a block (leaflet.css
    // has CRLF line ends), so the hashed text must have LF only.
    let script = script.replace("\r\n", "\n");
    let style = format!("{LEAFLET_CSS}\n{CLUSTER_CSS}\n{CLUSTER_DEFAULT_CSS}\n{REPORT_CSS}")
        .replace("\r\n", "\n");
    let csp = format!(
        "default-src 'none'; script-src {}; style-src {}; img-src data:; base-uri 'none'; \
         form-action 'none'",
        sha256(&script),
        sha256(&style)
    );
    let title = esc(meta.title.as_deref().unwrap_or("logenrich report"));
    let generated = meta.generated.clone().unwrap_or_else(crate::time::now);
    let t = agg.totals();
    let max = markers.iter().map(|m| m.requests).max().unwrap_or(0);

    let mut head = String::with_capacity(8 << 10);
    let _ = write!(
        head,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"logenrich-report {}\">\
         <title>{title}</title><style>{style}</style></head>\n<body>\n<header><h1>{title}</h1>\
         <p class=\"sub\">Made {} from {}.</p><ul class=\"totals\">",
        esc(&csp),
        env!("CARGO_PKG_VERSION"),
        esc(&generated),
        esc(&inputs(meta)),
    );
    for (id, label, value) in [
        ("lines", "lines", t.lines),
        ("records", "records", t.records),
        ("errors", "parse errors", t.errors),
        ("clients", "clients", t.clients),
        ("located", "clients located", t.located),
        ("locations", "locations", t.locations),
    ] {
        let _ = write!(head, "<li id=\"total-{id}\"><b>{value}</b>{label}</li>");
    }
    if t.foreign > 0 {
        let _ = write!(
            head,
            "<li><b>{}</b>lines not logenrich records</li>",
            t.foreign
        );
    }
    head.push_str(
        "</ul></header>\n<noscript><p>The map and the panels are drawn by the page's script; \
         enable JavaScript for this file.</p></noscript>\n<main>",
    );
    let _ = write!(
        head,
        "<h2>Where the clients are</h2><div id=\"map\"></div>{}\
         <h2>Figures</h2><p class=\"note\">Each count of clients opens the list of their \
         addresses, ready to copy (e.g. into a block list).</p><div id=\"panels\" class=\"grid\"></div>\
         <h2>Requests over time</h2><div id=\"time\" class=\"panel\"></div>\
         <h2>Busiest clients</h2><div id=\"top-clients\" class=\"panel\"></div>\
         <h2>Parse errors by reason</h2><div id=\"errors\" class=\"panel\"></div>\
         <h2>How the lookups were made</h2><div class=\"panel\">{}</div></main>",
        legend(max),
        lookups(agg, meta)
    );
    let _ = write!(
        head,
        "<footer><p>{}</p><p>{}</p></footer>\n\
         <div id=\"list\" hidden role=\"dialog\" aria-labelledby=\"list-title\"><h3 id=\"list-title\"></h3>\
         <textarea id=\"list-text\" readonly rows=\"12\"></textarea><p>\
         <button type=\"button\" id=\"list-copy\">Copy</button> \
         <button type=\"button\" id=\"list-close\">Close</button></p></div>\n\
         <output id=\"status\" hidden></output>\n",
        esc(CREDITS),
        esc(&geo_credit(t.located))
    );
    out.write_all(head.as_bytes())?;
    out.write_all(b"<script type=\"application/json\" id=\"report-data\">")?;
    out.write_all(data.as_bytes())?;
    out.write_all(b"</script>\n<script type=\"application/json\" id=\"basemap\">")?;
    out.write_all(basemap.as_bytes())?;
    out.write_all(b"</script>\n<script>")?;
    out.write_all(script.as_bytes())?;
    out.write_all(b"</script>\n</body></html>\n")?;
    out.flush()?;
    Ok(())
}

fn inputs(meta: &Meta) -> String {
    match meta.inputs.len() {
        0 => "standard input".to_owned(),
        _ => meta.inputs.join(", "),
    }
}

fn geo_credit(located: u64) -> String {
    if located == 0 {
        return "No record had a location.".to_owned();
    }
    "Locations and ASNs come from the GeoIP database of the run that wrote the records. \
     With MaxMind GeoLite2 (the database README suggests): This product includes GeoLite2 \
     data created by MaxMind, available from https://www.maxmind.com, licensed under CC BY-SA 4.0."
        .to_owned()
}

/// The colour legend, an SVG (no inline styles: the CSP forbids them).
fn legend(max: u64) -> String {
    let mut s = String::from(
        "<div class=\"legend\"><span>requests per location: 1</span><svg width=\"220\" height=\"12\" viewBox=\"0 0 220 12\">",
    );
    for i in 0..22 {
        let [r, g, b] = crate::png::ylorrd(f64::from(i) / 21.0);
        let _ = write!(
            s,
            "<rect x=\"{}\" width=\"10\" height=\"12\" fill=\"#{r:02x}{g:02x}{b:02x}\"/>",
            i * 10
        );
    }
    let _ = write!(
        s,
        "</svg><span>{max} (colour and size by log(count)/log(max); clusters show how many \
         locations they hold)</span></div>"
    );
    s
}

/// What the records say about their lookups, and what the run said (when there was one).
fn lookups(agg: &Aggregate, meta: &Meta) -> String {
    let mut dns: std::collections::BTreeMap<String, u64> = Default::default();
    let mut zones: std::collections::BTreeMap<String, (u64, u64, u64)> = Default::default();
    for c in &agg.clients {
        let status = c.details.dns.as_ref().map_or("off", |d| d.status.as_str());
        *dns.entry(status.replace('_', " ")).or_default() += 1;
        for v in &c.details.dnsbl {
            let z = zones.entry(v.zone.clone()).or_default();
            z.0 += 1;
            z.1 += u64::from(v.listed);
            z.2 += u64::from(v.error.is_some());
        }
    }
    let t = agg.totals();
    let mut rows: Vec<(String, String)> = Vec::new();
    rows.push((
        "reverse DNS (per client)".into(),
        dns.iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    rows.push((
        "DNSBL".into(),
        if zones.is_empty() {
            "no zones were queried".into()
        } else {
            zones
                .iter()
                .map(|(z, (n, l, e))| format!("{z}: {n} clients queried, {l} listed, {e} errors"))
                .collect::<Vec<_>>()
                .join("; ")
        },
    ));
    rows.push((
        "GeoIP".into(),
        format!("{} of {} clients located", t.located, t.clients),
    ));
    if let (Some((first, _)), Some((last, _))) =
        (agg.buckets.first_key_value(), agg.buckets.last_key_value())
    {
        rows.push((
            "records' times".into(),
            format!(
                "{} to {} UTC; lookups were made when the records were written",
                crate::time::label(*first),
                crate::time::label(*last + agg.bucket_secs - 60)
            ),
        ));
    }
    if meta.lookups.is_empty() {
        rows.push((
            "when and how".into(),
            "made from JSON Lines written earlier: each client was looked up once per batch by the \
             logenrich run that wrote them (reverse DNS and DNSBL through its resolver, GeoIP from its \
             database); that run's summary is not in the records"
                .into(),
        ));
    }
    rows.extend(meta.lookups.iter().cloned());
    let mut s = String::from("<dl class=\"lookups\">");
    for (k, v) in rows {
        let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", esc(&k), esc(&v));
    }
    s.push_str("</dl>");
    s
}
