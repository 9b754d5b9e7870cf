//! The one integration-test binary: real servers on loopback, the real component under
//! wasmtime, and the `logenrich` binary as a user runs it.

mod cache;
mod cli;
mod component;
mod dns;
mod follow;
mod geoip;
mod intel;
mod nats;
mod nginx;
mod parity;
mod realdns;
mod report;
mod sandbox;
mod stream;
mod util;
mod volume;
