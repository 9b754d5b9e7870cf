//! `logenrich-report`: reads logenrich's enriched JSON Lines and writes one self-contained
//! HTML report (an offline world map of the clients, panels of scanners, attacks, blocklists,
//! countries, ASNs, PTR domains, targets, status codes, requests over time and parse
//! errors) and, optionally, a PNG of the map rendered without a browser.
//!
//! Memory is bounded by the number of distinct clients, not lines: a record is parsed,
//! folded into per-client and per-figure tallies, and dropped. The per-value tables that
//! are not bounded by clients (targets, User-Agents, error reasons) are bounded counters.
//!
//! ```no_run
//! use logenrich_report::{Meta, ReportBuilder};
//! let mut builder = ReportBuilder::new();
//! builder.read_path(std::path::Path::new("enriched.jsonl"))?;
//! let report = builder.finish();
//! let mut html = Vec::new();
//! report.write_html(&mut html, &Meta::default())?;
//! # Ok::<(), logenrich_report::Error>(())
//! ```

mod aggregate;
mod attacks;
mod basemap;
mod ecs;
mod escape;
mod html;
mod input;
mod model;
mod panels;
mod png;
mod record;
mod time;
mod topk;

use std::path::{Path, PathBuf};

pub use aggregate::Totals;
pub use escape::{escape_html, escape_script_json};
pub use input::ReportBuilder;
pub use png::{PNG_LAT_BOTTOM, PNG_LAT_TOP, PNG_WIDTH, ylorrd};

/// What went wrong making a report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The input (`-` for stdin).
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The report could not be written.
    #[error("cannot write the report: {0}")]
    Write(#[from] std::io::Error),
    /// The map could not be rendered as PNG.
    #[error("cannot render the map as PNG: {0}")]
    Png(String),
}

impl Error {
    pub(crate) fn read(path: &Path, source: std::io::Error) -> Self {
        Error::Read {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// What the report says about how it was made: its title, the inputs, and how the lookups
/// were made (shown in the report's "lookups" section, escaped).
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// The page title (default "logenrich report").
    pub title: Option<String>,
    /// The inputs, as named on the command line.
    pub inputs: Vec<String>,
    /// When the report was made, RFC 3339 (default: now).
    pub generated: Option<String>,
    /// How and when the lookups were made, as label → text pairs (e.g. the run's DNS
    /// statistics, the GeoIP databases and their build dates). Empty when the report is
    /// made from files written earlier.
    pub lookups: Vec<(String, String)>,
}

/// The aggregated report, ready to be written as HTML or PNG.
pub struct Report {
    agg: aggregate::Aggregate,
}

impl Report {
    /// The headline counts (lines, records, errors, clients, locations).
    pub fn totals(&self) -> Totals {
        self.agg.totals()
    }

    /// Writes the self-contained HTML report.
    pub fn write_html<W: std::io::Write>(&self, out: W, meta: &Meta) -> Result<(), Error> {
        html::write(&self.agg, meta, out)
    }

    /// Renders the map (basemap and one marker per location, no clustering) as a PNG of
    /// [`PNG_WIDTH`] pixels, Web Mercator, latitudes [`PNG_LAT_TOP`]..[`PNG_LAT_BOTTOM`].
    pub fn png(&self) -> Result<Vec<u8>, Error> {
        png::render(&self.agg)
    }

    /// The SVG the PNG is rasterised from.
    pub fn svg(&self) -> String {
        png::svg(&self.agg)
    }
}
