//! Embedding logenrich in a Rust program: an `Enricher` with providers of our own, fed a
//! stream of batches from a channel, writing the component's JSON Lines as they come.
//!
//! `cargo run -p logenrich --example embed -- [FILE]` (default: the bundled sample).
//! Reverse DNS answers from a small table, as a service of your own would; GeoIP is left
//! out; DNSBL is not configured.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;

use futures::StreamExt;
use logenrich::{Batch, Enricher, PtrOutcome, ReverseDns, SettingValue};

/// Reverse DNS from a fixed table: anything not in it is not found.
struct TablePtr(HashMap<IpAddr, String>);

#[async_trait::async_trait]
impl ReverseDns for TablePtr {
    async fn reverse(&self, ips: &[IpAddr]) -> Vec<PtrOutcome> {
        ips.iter()
            .map(|ip| match self.0.get(ip) {
                Some(name) => PtrOutcome::Found(name.clone()),
                None => PtrOutcome::NotFound,
            })
            .collect()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("embed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/honeypot.log").to_string()
    });
    let ptr = TablePtr(HashMap::from([(
        "198.51.100.9".parse()?,
        "scanner-9.census.shodan.io".to_string(),
    )]));
    let enricher = Arc::new(
        Enricher::builder()
            .reverse_dns(Arc::new(ptr))
            .setting("geoip", SettingValue::Flag(false))
            .setting(
                "extra-ua-keywords",
                SettingValue::Texts(vec!["zgrab".into()]),
            )
            .instances(2)
            .build()
            .await?,
    );
    eprintln!(
        "embed: component implements logenrich:filter@{}",
        enricher.contract_version().await?
    );

    // Any source of batches will do: here a task reads the file into a channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(4);
    let text = tokio::fs::read(&path).await?;
    tokio::spawn(async move {
        let text = text.strip_suffix(b"\n").unwrap_or(&text);
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        for (i, chunk) in lines.chunks(64).enumerate() {
            let batch = match Batch::from_lines(1 + (i * 64) as u64, chunk.iter().copied()) {
                Ok(batch) => batch,
                Err(e) => {
                    eprintln!("embed: {e}");
                    return;
                }
            };
            if tx.send(batch).await.is_err() {
                return;
            }
        }
    });
    let batches = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));

    let mut out = std::io::stdout().lock();
    let (mut lines, mut scanners) = (0, 0);
    let mut results = std::pin::pin!(enricher.process_stream(batches, 2));
    while let Some(done) = results.next().await {
        let done = done?;
        lines += done.batch.len();
        scanners += done
            .jsonl
            .split(|&b| b == b'\n')
            .filter(|r| r.windows(11).any(|w| w == b"\"scanner\":{"))
            .count();
        out.write_all(&done.jsonl)?;
    }
    out.flush()?;
    let calls = enricher.call_counts();
    eprintln!(
        "embed: {lines} records, {scanners} tagged as scanners, {} reverse lookups in {} calls",
        calls.dns_addresses, calls.dns_calls
    );
    anyhow::ensure!(lines > 0, "no lines in {path}");
    Ok(())
}
