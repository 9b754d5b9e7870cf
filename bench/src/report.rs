//! Measuring and reporting: alternating rounds, medians, ratios, and the Markdown table of
//! figures against their bars (plus free-form sections such as the DNS curve).

use std::fmt::Write as _;
use std::time::Duration;

/// How a figure compares with its bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The bar holds.
    Pass,
    /// The bar does not hold.
    Miss,
    /// A figure without a bar (context, a peer).
    Info,
    /// Not measured (a tool is missing); the measured column says why.
    Skipped,
    /// The measurement itself failed: something is broken.
    Error,
}

impl Verdict {
    /// `PASS` when `ok`, else `MISS`.
    pub fn of(ok: bool) -> Self {
        if ok { Verdict::Pass } else { Verdict::Miss }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::Info => "info",
            Verdict::Skipped => "skipped",
            Verdict::Error => "ERROR",
        }
    }
}

/// One line of the result table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub figure: String,
    /// The median(s) and ratio, as text.
    pub measured: String,
    /// The bar, as text (`-` when none).
    pub bar: String,
    /// The verdict.
    pub verdict: Verdict,
}

impl Row {
    /// A row with a bar.
    pub fn new(
        figure: impl Into<String>,
        measured: impl Into<String>,
        bar: &str,
        ok: bool,
    ) -> Self {
        Row {
            figure: figure.into(),
            measured: measured.into(),
            bar: bar.to_owned(),
            verdict: Verdict::of(ok),
        }
    }

    /// A row without a bar.
    pub fn info(figure: impl Into<String>, measured: impl Into<String>) -> Self {
        Row {
            figure: figure.into(),
            measured: measured.into(),
            bar: "-".to_owned(),
            verdict: Verdict::Info,
        }
    }

    /// A figure that could not be measured, and why.
    pub fn skipped(figure: impl Into<String>, why: impl Into<String>, bar: &str) -> Self {
        Row {
            figure: figure.into(),
            measured: why.into(),
            bar: bar.to_owned(),
            verdict: Verdict::Skipped,
        }
    }
}

/// Everything a run reports.
#[derive(Debug, Default)]
pub struct Report {
    /// The main table.
    pub rows: Vec<Row>,
    /// Extra Markdown sections (title, body), printed after the table.
    pub sections: Vec<(String, String)>,
}

impl Report {
    /// Adds a row and echoes it on stderr, so a long run shows progress.
    pub fn push(&mut self, row: Row) {
        eprintln!(
            "bench: [{}] {}: {} (bar: {})",
            row.verdict.label(),
            row.figure,
            row.measured,
            row.bar
        );
        self.rows.push(row);
    }

    /// Adds a Markdown section.
    pub fn section(&mut self, title: impl Into<String>, body: impl Into<String>) {
        self.sections.push((title.into(), body.into()));
    }

    /// How many rows have `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// The whole report as Markdown, headed by `header` (machine, mode).
    pub fn markdown(&self, header: &str) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "{header}\n");
        let _ = writeln!(md, "| figure | measured (median) | bar | result |");
        let _ = writeln!(md, "|---|---|---|---|");
        for r in &self.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cell(&r.figure),
                cell(&r.measured),
                cell(&r.bar),
                r.verdict.label()
            );
        }
        for (title, body) in &self.sections {
            let _ = writeln!(md, "\n### {title}\n\n{}", body.trim_end());
        }
        md
    }
}

/// A table cell: no pipes or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The median (mean of the middle two for an even count); NaN for no values.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The median of `f` over `samples`.
pub fn median_of<T>(samples: &[T], f: impl Fn(&T) -> f64) -> f64 {
    median(&samples.iter().map(f).collect::<Vec<_>>())
}

/// Runs `a` and `b` alternately, `rounds` times each (A B A B ...), and returns the samples
/// of each side in order.
pub fn alternate<A, B>(
    rounds: usize,
    mut a: impl FnMut() -> anyhow::Result<A>,
    mut b: impl FnMut() -> anyhow::Result<B>,
) -> anyhow::Result<(Vec<A>, Vec<B>)> {
    let mut sa = Vec::with_capacity(rounds);
    let mut sb = Vec::with_capacity(rounds);
    for _ in 0..rounds.max(1) {
        sa.push(a()?);
        sb.push(b()?);
    }
    Ok((sa, sb))
}

/// A rate in lines (or anything) per second, compact: `1.23 M`, `456 k`, `789`.
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M", per_sec / 1e6)
    } else if per_sec >= 1e4 {
        format!("{:.0} k", per_sec / 1e3)
    } else if per_sec >= 1e3 {
        format!("{:.1} k", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}")
    }
}

/// Seconds, compact: `1.23 s` or `45 ms`.
pub fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.0} ms", s * 1000.0)
    }
}

/// A count of lines, compact: `100k`, `1M`, `10M`.
pub fn count(n: u64) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n.is_multiple_of(1_000) {
        format!("{}k", n / 1_000)
    } else {
        n.to_string()
    }
}

/// Seconds of a duration as `f64`.
pub fn s(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn alternates_in_order() {
        let log = std::cell::RefCell::new(Vec::new());
        let (a, b) = alternate(
            3,
            || {
                log.borrow_mut().push('a');
                Ok(1)
            },
            || {
                log.borrow_mut().push('b');
                Ok(2)
            },
        )
        .unwrap();
        assert_eq!(log.into_inner(), ['a', 'b', 'a', 'b', 'a', 'b']);
        assert_eq!((a.len(), b.len()), (3, 3));
    }

    #[test]
    fn formats() {
        assert_eq!(rate(1_234_567.0), "1.23 M");
        assert_eq!(rate(45_600.0), "46 k");
        assert_eq!(secs(0.0451), "45 ms");
        assert_eq!(count(10_000_000), "10M");
        assert_eq!(count(100_000), "100k");
    }

    #[test]
    fn table_escapes_pipes() {
        let mut r = Report::default();
        r.rows.push(Row::info("a|b", "1"));
        assert!(r.markdown("# t").contains("| a\\|b | 1 | - | info |"));
    }
}
