//! The `logenrich` command line: enrich access logs with reverse DNS, DNSBL, GeoIP, Team
//! Cymru and scanner/attack tags, writing JSON Lines (and an HTML report).
//!
//! The pipeline over the `logenrich` embedding library, on the contracts of `pipeline`
//! (a source of batches with their checkpoint marks, a sink whose flush says what is
//! durable): `input` reads files, stdin or followed files, `runner` enriches the batches
//! in order and writes them, `checkpoint` records what is written; `command` is the clap
//! CLI and `config` its TOML file, `report` the report command.
//!
//! Exit status: 0 on success (unparseable lines are records, not failures), 2 for usage or
//! configuration errors (before any output), 1 for runtime errors.
//!
//! [`frontend`] is the same file run for front ends other than the command line (the
//! Python package): the CLI's flags and checks, records handed over per batch.

mod checkpoint;
pub mod command;
mod config;
mod distinct;
pub mod frontend;
mod input;
mod nats;
mod pipeline;
mod report;
mod runner;
