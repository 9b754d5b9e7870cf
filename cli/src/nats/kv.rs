//! `--shared-cache nats://HOST:PORT/BUCKET`: the lookup stores' entries in a JetStream
//! key-value bucket, so several logenrich processes (on one machine or many) share their
//! answers, and a process that is about to ask the network for a name first claims it.
//!
//! The bucket is created if missing, with per-message TTLs on (`limit_markers`, server
//! 2.11 or later): every entry is published with a `Nats-TTL` of its own remaining life,
//! so the server drops it when it expires. Claims are keys `claim/<key>` created with
//! the longest time a lookup may take as their TTL: the process whose create succeeds
//! asks the network and puts the answer; one whose create fails (another holds it)
//! waits for the entry (one watch of the whole bucket per process hands each put to the
//! lookups waiting for its key), or asks itself once the claim's time is up. Puts are pipelined: a lookup does not wait for the server's
//! acknowledgement, [`Store::flush`] does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, anyhow, bail};
use async_nats::jetstream::{self, kv};
use futures::StreamExt as _;
use logenrich_dns::store::{Claim, Store, StoreError};
use tokio::sync::oneshot;

/// How long the server keeps the marker of an expired entry (its smallest allowed).
const MARKER_TTL: Duration = Duration::from_secs(1);
/// Puts sent and not yet acknowledged by the server, at most.
const MAX_PUTS_IN_FLIGHT: usize = 4096;

/// A [`Store`] in a NATS key-value bucket.
pub struct SharedCache {
    js: jetstream::Context,
    kv: kv::Store,
    bucket: String,
    waiters: Waiters,
    watcher: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCache")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

/// `nats://HOST:PORT/BUCKET` as the server URL and the bucket name.
pub fn parse_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url
        .strip_prefix("nats://")
        .ok_or_else(|| anyhow!("{url:?}: expected nats://HOST:PORT/BUCKET"))?;
    let (server, bucket) = rest
        .split_once('/')
        .ok_or_else(|| anyhow!("{url:?}: no bucket (nats://HOST:PORT/BUCKET)"))?;
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if server.is_empty() || bucket.is_empty() || !bucket.chars().all(valid) {
        bail!("{url:?}: a bucket name is letters, digits, '_' and '-' (nats://HOST:PORT/BUCKET)");
    }
    Ok((format!("nats://{server}"), bucket.to_owned()))
}

impl SharedCache {
    /// Connects to the server of `url` and opens (or creates) its bucket.
    pub async fn open(url: &str) -> anyhow::Result<SharedCache> {
        let (server, bucket) = parse_url(url)?;
        let client = async_nats::ConnectOptions::new()
            .name("logenrich shared cache")
            .connection_timeout(Duration::from_secs(5))
            .connect(server.as_str())
            .await
            .with_context(|| format!("cannot connect to {server}"))?;
        // Puts are not awaited one by one: at most `MAX_PUTS_IN_FLIGHT` unacknowledged,
        // then a put waits for room.
        let js = jetstream::ContextBuilder::new()
            .max_ack_inflight(MAX_PUTS_IN_FLIGHT)
            .backpressure_on_inflight(true)
            .build(client);
        let kv = match js.get_key_value(&bucket).await {
            Ok(kv) => kv,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: bucket.clone(),
                    description: "logenrich's shared lookup cache".into(),
                    history: 1,
                    limit_markers: Some(MARKER_TTL),
                    ..Default::default()
                })
                .await
                .with_context(|| {
                    format!("cannot create the key-value bucket {bucket} on {server} (per-key TTLs need nats-server 2.11 or later)")
                })?,
        };
        let waiters = Waiters::default();
        let watcher = tokio::spawn(hand_out(kv.clone(), waiters.clone()));
        Ok(SharedCache {
            js,
            kv,
            bucket,
            waiters,
            watcher,
        })
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> StoreError {
        StoreError(format!("shared cache {}: {what}: {e}", self.bucket))
    }

    /// Publishes `value` under `key` with a TTL of `ttl` (whole seconds, at least 1).
    async fn publish(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let message = jetstream::message::PublishMessage::build()
            .payload(value.into())
            .ttl(ttl.max(Duration::from_secs(1)));
        // The acknowledgement is left to the context's acker ([`Store::flush`] waits).
        drop(
            self.js
                .send_publish(format!("$KV.{}.{key}", self.bucket), message)
                .await
                .map_err(|e| self.error("put", e))?,
        );
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for SharedCache {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let found = self.kv.get(key).await.map_err(|e| self.error("get", e))?;
        Ok(found.map(|b| b.to_vec()))
    }

    async fn put(&self, key: &str, value: Vec<u8>, expires: SystemTime) -> Result<(), StoreError> {
        let ttl = expires
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        if ttl.is_zero() {
            return Ok(());
        }
        self.publish(key, value, ttl).await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        self.js.wait_for_acks().await;
        Ok(())
    }

    async fn claim(&self, key: &str, hold: Duration) -> Claim {
        let claim = format!("claim/{key}");
        let hold = hold.max(Duration::from_secs(1));
        let mine = self
            .kv
            .create_with_ttl(&claim, bytes::Bytes::from_static(b"1"), hold)
            .await;
        match mine {
            Ok(_) => Claim::Taken,
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                Claim::Answered(self.wait_for(key, hold).await)
            }
            // The server cannot take claims: ask the network.
            Err(_) => Claim::Taken,
        }
    }
}

impl SharedCache {
    /// The entry of `key` once another process puts it, or `None` after `hold`.
    async fn wait_for(&self, key: &str, hold: Duration) -> Option<Vec<u8>> {
        let (tx, rx) = oneshot::channel();
        lock(&self.waiters)
            .entry(key.to_owned())
            .or_default()
            .push(tx);
        // It may have come between the miss and the registration.
        if let Ok(Some(found)) = self.kv.get(key).await {
            return Some(found.to_vec());
        }
        tokio::time::timeout(hold, rx).await.ok()?.ok()
    }
}

/// Lookups waiting for another process's answer, by key.
type Waiters = Arc<Mutex<HashMap<String, Vec<oneshot::Sender<Vec<u8>>>>>>;

fn lock(
    waiters: &Waiters,
) -> std::sync::MutexGuard<'_, HashMap<String, Vec<oneshot::Sender<Vec<u8>>>>> {
    waiters
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hands every entry put in the bucket from now on to the lookups waiting for its key:
/// one watch (one server-side consumer) per process, not one per waiting lookup: with
/// one per lookup, two processes at once over 2,000 clients sent 7,416 queries for their
/// 4,000 lookups, with this one 4,208. Watches again after an error.
async fn hand_out(kv: kv::Store, waiters: Waiters) {
    loop {
        if let Ok(mut watch) = kv.watch_all().await {
            while let Some(Ok(entry)) = watch.next().await {
                if entry.operation != kv::Operation::Put || entry.key.starts_with("claim/") {
                    continue;
                }
                let Some(waiting) = lock(&waiters).remove(&entry.key) else {
                    continue;
                };
                for tx in waiting {
                    let _ = tx.send(entry.value.to_vec());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

impl Drop for SharedCache {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_server_and_a_bucket() {
        assert_eq!(
            parse_url("nats://127.0.0.1:4222/lookups").unwrap(),
            ("nats://127.0.0.1:4222".to_owned(), "lookups".to_owned())
        );
        for bad in [
            "127.0.0.1:4222/x",
            "nats://h:1",
            "nats://h:1/",
            "nats://h:1/a.b",
            "nats:///x",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
