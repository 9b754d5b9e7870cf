//! Stores behind the memory cache: a persistent file (`cachedb`, `--cache-db`, feature `cache-db`) or a
//! store shared by several processes (a NATS key-value bucket, in the CLI).
//!
//! A lookup the memory cache misses asks each [`Store`] in turn, in the order given, and
//! only then the network; an entry found in a later store is copied into the earlier ones,
//! and an answer from the network is written to all of them. Entries are
//! [`Entry`]s as JSON (outcome and wall-clock expiry), so a store
//! needs no TTL logic of its own and another process (or a later run) reads them as they
//! were written; one that expired, or lies further ahead than the policy's longest TTL, is
//! a miss. Only answers are stored (positive and negative, with their clamped TTLs):
//! failures stay in memory for `failure_ttl`, so a resolver fixed between two runs is
//! asked again at once.
//!
//! A store's failure (a server gone, a full disk) is a miss or a lost write, counted in
//! [`StoreCounters`], never a lookup's failure.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cache::{Entry, Lifetime, TtlPolicy};

#[cfg(feature = "cache-db")]
pub mod cachedb;

/// Why a store could not answer or keep an entry.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// A place that keeps entries by key: bytes in, bytes out, with the time they expire
/// (which a store may use to drop them itself).
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// The bytes kept under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Keeps `value` under `key` until `expires`. May return before the entry is durable:
    /// [`Store::flush`] waits for that.
    async fn put(&self, key: &str, value: Vec<u8>, expires: SystemTime) -> Result<(), StoreError>;
    /// Waits until every entry put so far is kept (or was lost, counted).
    async fn flush(&self) -> Result<(), StoreError>;
    /// Takes `key` for a lookup about to be made, so that another process asking the same
    /// store waits for its answer instead of asking the network too. The default (a store
    /// of one process) takes nothing.
    async fn claim(&self, key: &str, _hold: Duration) -> Claim {
        let _ = key;
        Claim::Taken
    }
}

/// What [`Store::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This process makes the lookup.
    Taken,
    /// Another process made or is making it: its answer, if it came in time.
    Answered(Option<Vec<u8>>),
}

/// Counters of the stores of a provider.
#[derive(Debug, Default)]
pub struct StoreCounters {
    /// Lookups answered by a store, by position in the order.
    pub hits: [AtomicU64; 2],
    /// Lookups answered by another process's claim (it asked the network).
    pub claim_waits: AtomicU64,
    /// Reads or writes a store failed.
    pub errors: AtomicU64,
}

/// The stores of a provider, in lookup order.
#[derive(Clone, Default)]
pub struct Stores {
    stores: Vec<Arc<dyn Store>>,
    counters: Arc<StoreCounters>,
    /// How long a claim is held at most: a lookup's longest time (all tries, all servers).
    hold: Duration,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("stores", &self.stores.len())
            .finish_non_exhaustive()
    }
}

/// A lookup's outcome and how long the memory cache may keep it.
type Looked<V> = (V, Lifetime);

impl Stores {
    /// The stores, asked in this order (at most two: a file, then a shared one).
    pub fn new(stores: Vec<Arc<dyn Store>>) -> Self {
        Stores {
            stores: stores.into_iter().take(2).collect(),
            counters: Arc::default(),
            hold: Duration::from_secs(10),
        }
    }

    /// Sets how long a claim holds (the longest a lookup may take).
    pub(crate) fn with_hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// Whether there is no store.
    pub fn is_empty(&self) -> bool {
        self.stores.is_empty()
    }

    /// The counters.
    pub fn counters(&self) -> &StoreCounters {
        &self.counters
    }

    /// Waits until every store keeps what was put.
    pub async fn flush(&self) -> Result<(), StoreError> {
        for store in &self.stores {
            store.flush().await?;
        }
        Ok(())
    }

    /// The outcome of `key` from the first store that holds a valid entry (copied into
    /// the stores before it), else from `lookup`, whose answer is then put in every store.
    pub(crate) fn tiered<V>(
        &self,
        key: String,
        policy: TtlPolicy,
        lookup: BoxFuture<'static, Looked<V>>,
    ) -> BoxFuture<'static, Looked<V>>
    where
        V: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let this = self.clone();
        Box::pin(async move {
            for (tier, store) in this.stores.iter().enumerate() {
                let found = match store.get(&key).await {
                    Ok(found) => found,
                    Err(_) => {
                        this.counters.errors.fetch_add(1, Ordering::Relaxed);
                        None
                    }
                };
                if let Some(hit) = found.and_then(|bytes| valid::<V>(&bytes, &policy)) {
                    this.counters.hits[tier].fetch_add(1, Ordering::Relaxed);
                    this.put_all(&this.stores[..tier], &key, &hit).await;
                    return hit.into_looked();
                }
            }
            if let Some(last) = this.stores.last()
                && let Claim::Answered(Some(bytes)) = last.claim(&key, this.hold).await
                && let Some(hit) = valid::<V>(&bytes, &policy)
            {
                this.counters.claim_waits.fetch_add(1, Ordering::Relaxed);
                let earlier = &this.stores[..this.stores.len() - 1];
                this.put_all(earlier, &key, &hit).await;
                return hit.into_looked();
            }
            let (value, lifetime) = lookup.await;
            let keep = matches!(lifetime, Lifetime::Positive(_) | Lifetime::Negative(_));
            let now = SystemTime::now();
            if let Some(expires) = policy
                .ttl(lifetime)
                .filter(|_| keep)
                .and_then(|t| now.checked_add(t))
            {
                let entry = Entry { value, expires };
                this.put_all(&this.stores, &key, &entry).await;
                return (entry.value, lifetime);
            }
            (value, lifetime)
        })
    }

    async fn put_all<V: Serialize>(&self, stores: &[Arc<dyn Store>], key: &str, entry: &Entry<V>) {
        if stores.is_empty() {
            return;
        }
        let Ok(bytes) = serde_json::to_vec(entry) else {
            return;
        };
        for store in stores {
            if store.put(key, bytes.clone(), entry.expires).await.is_err() {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The entry in `bytes` if it decodes and is valid now under `policy`.
fn valid<V: DeserializeOwned>(bytes: &[u8], policy: &TtlPolicy) -> Option<Entry<V>> {
    let entry: Entry<V> = serde_json::from_slice(bytes).ok()?;
    entry.is_valid(SystemTime::now(), policy).then_some(entry)
}

impl<V> Entry<V> {
    /// The outcome and what is left of its lifetime, for the memory cache.
    fn into_looked(self) -> Looked<V> {
        let left = self
            .expires
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        (self.value, Lifetime::Remaining(left))
    }
}

/// Key prefixes, one per kind of lookup; `v1` is the encoding of the entries.
const PREFIX: &str = "v1";

/// An address in a key: IPv6's `:` is not allowed in NATS key-value keys, so it is `_`.
fn addr(ip: IpAddr) -> String {
    ip.to_string().replace(':', "_")
}

/// The key of a PTR lookup.
pub(crate) fn ptr_key(ip: IpAddr) -> String {
    format!("{PREFIX}/ptr/{}", addr(ip))
}

/// The key of a DNSBL lookup of `ip` in `zone` (a zone name is letters, digits, `-` and
/// `.`; `/` cannot occur in it, so the key is unambiguous).
pub(crate) fn dnsbl_key(zone: &str, ip: IpAddr) -> String {
    format!("{PREFIX}/dnsbl/{zone}/{}", addr(ip))
}

/// The key of a Team Cymru origin lookup.
pub(crate) fn origin_key(ip: IpAddr) -> String {
    format!("{PREFIX}/origin/{}", addr(ip))
}

/// The key of a Team Cymru AS-name lookup.
pub(crate) fn as_key(asn: u32) -> String {
    format!("{PREFIX}/as/{asn}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_only_what_nats_allows() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let keys = [
            ptr_key(v6),
            ptr_key("192.0.2.1".parse().unwrap()),
            dnsbl_key("zen.spamhaus.org", v6),
            origin_key(v6),
            as_key(64496),
        ];
        for key in &keys {
            assert!(
                key.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-/_=.".contains(&b)),
                "{key}"
            );
        }
        assert_eq!(keys[0], "v1/ptr/2001_db8__1");
        assert_eq!(keys[2], "v1/dnsbl/zen.spamhaus.org/2001_db8__1");
    }
}
