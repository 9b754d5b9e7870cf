//! The logenrich runner: runs the enrichment component over access logs, answering its
//! imports with real lookups (reverse DNS, DNSBL, GeoIP), and writes JSON Lines.

pub mod cache;
pub mod component;
pub mod config;
pub mod dns;
pub mod geoip;
pub mod input;
pub mod lookup;
pub mod output;
pub mod runner;
pub mod testpoint;
