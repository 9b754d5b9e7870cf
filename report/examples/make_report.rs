//! Makes a report from enriched JSON Lines without the `logenrich` CLI:
//! `cargo run -p logenrich-report --example make_report -- OUT.html [OUT.png] < enriched.jsonl`.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let html = args
        .first()
        .ok_or("usage: make_report OUT.html [OUT.png] < enriched.jsonl")?;
    let mut builder = logenrich_report::ReportBuilder::new();
    builder.read_path(Path::new("-"))?;
    let report = builder.finish();
    let file = std::io::BufWriter::new(std::fs::File::create(html)?);
    report.write_html(file, &logenrich_report::Meta::default())?;
    if let Some(png) = args.get(1) {
        std::fs::write(png, report.png()?)?;
    }
    eprintln!("{:?}", report.totals());
    Ok(())
}
