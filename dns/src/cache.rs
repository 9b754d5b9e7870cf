//! A bounded TTL cache of lookup outcomes, with deduplication of in-flight lookups.
//!
//! [`TtlCache`] keeps at most `capacity` entries (least recently used evicted first, via the
//! `lru` crate). Every call takes `now`, so expiry is deterministic in tests. Time is wall
//! clock ([`SystemTime`]), so an [`Entry`] (a serialisable outcome and its expiry) means the
//! same in another process or after a restart: a persistent or shared store can hold
//! entries as they are. An entry that expires further ahead than the longest TTL the
//! policy allows (the clock went back) counts as expired. How long an
//! outcome lives is decided by a [`TtlPolicy`] from the [`Lifetime`] the caller reports:
//! answer TTLs are clamped to `[min_ttl, max_ttl]`, negative answers (NXDOMAIN, no records)
//! get their own TTL, and failures (timeout, SERVFAIL, REFUSED) are kept only briefly
//! (`failure_ttl`, default 30 s): long enough that a dead or refusing server costs one
//! timeout per name rather than one per batch, short enough to recover soon. Aborted
//! lookups are never stored.
//!
//! [`LookupCache`] adds in-flight deduplication on top: concurrent requests for the same key
//! share one lookup, also across concurrent batches. The lookup runs on its own tokio task
//! (on the runtime the caller names), so it completes (and fills the cache) even if every
//! waiter goes away.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use lru::LruCache;

/// How long a lookup outcome may be reused, as reported by the lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// A positive answer with this TTL (the smallest TTL of the records used).
    Positive(Duration),
    /// A negative answer (NXDOMAIN, no records), with the TTL from the zone's SOA if any.
    Negative(Option<Duration>),
    /// A failure of the server or the network (timeout, SERVFAIL, REFUSED): cached for
    /// `failure_ttl` only.
    Failed,
    /// Something that says nothing about the name (an aborted task): never cached.
    Transient,
    /// An entry read from a [`Store`](crate::store::Store), with what is left of the TTL it
    /// was given when first cached (not clamped again; at most the longest TTL).
    Remaining(Duration),
}

/// The TTL bounds applied to cached outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlPolicy {
    /// Positive TTLs below this are raised to it; also the floor of negative TTLs (unless
    /// above `negative_ttl`).
    pub min_ttl: Duration,
    /// Positive TTLs above this are lowered to it.
    pub max_ttl: Duration,
    /// The TTL of negative answers without a SOA, and the cap of those with one.
    pub negative_ttl: Duration,
    /// How long a failure is kept (0: never).
    pub failure_ttl: Duration,
}

impl TtlPolicy {
    /// The longest time any outcome is kept.
    pub fn longest(&self) -> Duration {
        self.max_ttl
            .max(self.min_ttl)
            .max(self.negative_ttl)
            .max(self.failure_ttl)
    }

    /// How long an outcome with `lifetime` is kept; `None` if it must not be cached.
    pub fn ttl(&self, lifetime: Lifetime) -> Option<Duration> {
        let max = self.max_ttl.max(self.min_ttl);
        let ttl = match lifetime {
            Lifetime::Positive(ttl) => ttl.clamp(self.min_ttl, max),
            Lifetime::Negative(Some(ttl)) => ttl
                .min(self.negative_ttl)
                .max(self.min_ttl.min(self.negative_ttl)),
            Lifetime::Negative(None) => self.negative_ttl,
            Lifetime::Failed => self.failure_ttl,
            Lifetime::Transient => return None,
            Lifetime::Remaining(left) => left.min(self.longest()),
        };
        (!ttl.is_zero()).then_some(ttl)
    }
}

/// One cached outcome and when it stops being valid: what a persistent store would keep.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry<V> {
    /// The outcome.
    pub value: V,
    /// When it stops being valid (wall clock).
    pub expires: SystemTime,
}

impl<V> Entry<V> {
    /// Whether the entry is valid at `now` under `policy`: not expired, and not further
    /// ahead than the policy's longest TTL (a clock that went back).
    pub fn is_valid(&self, now: SystemTime, policy: &TtlPolicy) -> bool {
        match self.expires.duration_since(now) {
            Ok(left) => !left.is_zero() && left <= policy.longest(),
            Err(_) => false,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A bounded, thread-safe cache whose entries expire; time is passed in by the caller.
#[derive(Debug)]
pub struct TtlCache<K: Hash + Eq, V> {
    /// `None` when the capacity is 0 (caching off).
    entries: Option<Mutex<LruCache<K, Entry<V>>>>,
    policy: TtlPolicy,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K: Hash + Eq, V: Clone> TtlCache<K, V> {
    /// A cache of at most `capacity` entries (0 turns caching off) under `policy`.
    pub fn new(capacity: usize, policy: TtlPolicy) -> Self {
        TtlCache {
            entries: NonZeroUsize::new(capacity).map(|cap| Mutex::new(LruCache::new(cap))),
            policy,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The value cached for `key` if it is still valid at `now`; counts a hit or a miss.
    pub fn get(&self, key: &K, now: SystemTime) -> Option<V> {
        let found = self.lookup(key, now);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// The value cached for `key` if still valid at `now`, not counted.
    fn lookup(&self, key: &K, now: SystemTime) -> Option<V> {
        self.entries.as_ref().and_then(|entries| {
            let mut entries = lock(entries);
            match entries.get(key) {
                Some(entry) if entry.is_valid(now, &self.policy) => Some(entry.value.clone()),
                Some(_) => {
                    entries.pop(key);
                    None
                }
                None => None,
            }
        })
    }

    /// Caches `value` for `key` from `now` for as long as `lifetime` allows under the policy;
    /// returns that TTL, or `None` if the value was not cached.
    pub fn insert(
        &self,
        key: K,
        value: V,
        lifetime: Lifetime,
        now: SystemTime,
    ) -> Option<Duration> {
        let entries = self.entries.as_ref()?;
        let ttl = self.policy.ttl(lifetime)?;
        let expires = now.checked_add(ttl)?;
        lock(entries).put(key, Entry { value, expires });
        Some(ttl)
    }

    /// Number of entries held (expired ones included until looked up or evicted).
    pub fn len(&self) -> usize {
        self.entries
            .as_ref()
            .map_or(0, |entries| lock(entries).len())
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lookups answered from the cache so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups not answered from the cache so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// The TTL policy.
    pub fn policy(&self) -> TtlPolicy {
        self.policy
    }
}

/// The shared result of an in-flight lookup: `None` if its task died (panicked or was
/// cancelled at runtime shutdown).
pub type SharedLookup<V> = Shared<BoxFuture<'static, Option<V>>>;

/// Where [`LookupCache::get_or_start`] found or put the outcome.
pub enum Cached<V> {
    /// Valid in the cache.
    Hit(V),
    /// Being looked up: await `result`. `joined` tells whether the lookup was already in
    /// flight (started by an earlier request) rather than started by this call.
    InFlight {
        /// The outcome, once the lookup ends.
        result: SharedLookup<V>,
        /// Whether this call joined a lookup started earlier.
        joined: bool,
    },
}

/// A [`TtlCache`] plus the lookups in flight, so each key is looked up at most once at a time.
pub struct LookupCache<K: Hash + Eq, V> {
    cache: TtlCache<K, V>,
    in_flight: Mutex<HashMap<K, SharedLookup<V>>>,
}

/// Removes a key from the in-flight map when its lookup task ends, even by panic.
struct InFlightGuard<K: Hash + Eq + Clone, V> {
    owner: Arc<LookupCache<K, V>>,
    key: K,
}

impl<K: Hash + Eq + Clone, V> Drop for InFlightGuard<K, V> {
    fn drop(&mut self) {
        lock(&self.owner.in_flight).remove(&self.key);
    }
}

impl<K, V> LookupCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A lookup cache of at most `capacity` outcomes (0 turns caching, not deduplication, off).
    pub fn new(capacity: usize, policy: TtlPolicy) -> Arc<Self> {
        Arc::new(LookupCache {
            cache: TtlCache::new(capacity, policy),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    /// The outcome cache.
    pub fn cache(&self) -> &TtlCache<K, V> {
        &self.cache
    }

    /// Lookups in flight now.
    pub fn in_flight(&self) -> usize {
        lock(&self.in_flight).len()
    }

    /// Returns the outcome for `key`: from the cache if valid at `now`, else from the lookup
    /// in flight for it, else from a new lookup `fetch()` started on a task of the runtime
    /// `on`. A new lookup's outcome is cached, as its [`Lifetime`] allows, when it ends (at
    /// the clock time it ends).
    pub fn get_or_start<F, Fut>(
        self: &Arc<Self>,
        on: &tokio::runtime::Handle,
        key: K,
        now: SystemTime,
        fetch: F,
    ) -> Cached<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (V, Lifetime)> + Send + 'static,
    {
        // Most requests are hits: answered without the in-flight lock.
        if let Some(value) = self.cache.get(&key, now) {
            return Cached::Hit(value);
        }
        // The in-flight lock is held across a second cache check, so a lookup that ends in
        // between (cache filled, then removed from the map) cannot be missed.
        let mut in_flight = lock(&self.in_flight);
        if let Some(value) = self.cache.lookup(&key, now) {
            return Cached::Hit(value);
        }
        if let Some(result) = in_flight.get(&key) {
            return Cached::InFlight {
                result: result.clone(),
                joined: true,
            };
        }
        let lookup = fetch();
        let guard = InFlightGuard {
            owner: Arc::clone(self),
            key: key.clone(),
        };
        let task = on.spawn(async move {
            let (value, lifetime) = lookup.await;
            let owner = Arc::clone(&guard.owner);
            owner.cache.insert(
                guard.key.clone(),
                value.clone(),
                lifetime,
                SystemTime::now(),
            );
            drop(guard);
            value
        });
        let result = async move { task.await.ok() }.boxed().shared();
        in_flight.insert(key, result.clone());
        Cached::InFlight {
            result,
            joined: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    const fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn policy() -> TtlPolicy {
        TtlPolicy {
            min_ttl: secs(60),
            max_ttl: secs(3600),
            negative_ttl: secs(300),
            failure_ttl: secs(30),
        }
    }

    #[test]
    fn clamps_positive_ttls() {
        let p = policy();
        assert_eq!(p.ttl(Lifetime::Positive(secs(5))), Some(secs(60)));
        assert_eq!(p.ttl(Lifetime::Positive(secs(600))), Some(secs(600)));
        assert_eq!(p.ttl(Lifetime::Positive(secs(86_400))), Some(secs(3600)));
        let zero = TtlPolicy {
            min_ttl: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.ttl(Lifetime::Positive(Duration::ZERO)), None);
    }

    #[test]
    fn negative_ttls_have_their_own_bounds() {
        let p = policy();
        assert_eq!(p.ttl(Lifetime::Negative(None)), Some(secs(300)));
        assert_eq!(p.ttl(Lifetime::Negative(Some(secs(30)))), Some(secs(60)));
        assert_eq!(p.ttl(Lifetime::Negative(Some(secs(120)))), Some(secs(120)));
        assert_eq!(p.ttl(Lifetime::Negative(Some(secs(7200)))), Some(secs(300)));
        let short = TtlPolicy {
            negative_ttl: secs(10),
            ..p
        };
        assert_eq!(
            short.ttl(Lifetime::Negative(Some(secs(30)))),
            Some(secs(10))
        );
        assert_eq!(p.ttl(Lifetime::Transient), None);
    }

    #[test]
    fn entries_expire() {
        let cache = TtlCache::new(8, policy());
        let t0 = SystemTime::now();
        assert_eq!(
            cache.insert(1, "a", Lifetime::Positive(secs(120)), t0),
            Some(secs(120))
        );
        assert_eq!(
            cache.insert(2, "nx", Lifetime::Negative(None), t0),
            Some(secs(300))
        );
        assert_eq!(cache.get(&1, t0 + secs(119)), Some("a"));
        assert_eq!(cache.get(&1, t0 + secs(120)), None);
        assert_eq!(cache.get(&2, t0 + secs(299)), Some("nx"));
        assert_eq!(cache.get(&2, t0 + secs(301)), None);
        assert_eq!((cache.hits(), cache.misses()), (2, 2));
        assert!(
            cache.is_empty(),
            "expired entries are removed when looked up"
        );
    }

    #[test]
    fn failures_are_kept_briefly_and_aborts_never() {
        let cache = TtlCache::new(8, policy());
        let t0 = SystemTime::now();
        assert_eq!(cache.insert(1, "aborted", Lifetime::Transient, t0), None);
        assert_eq!(cache.get(&1, t0), None);
        assert!(cache.is_empty());
        assert_eq!(
            cache.insert(2, "timeout", Lifetime::Failed, t0),
            Some(secs(30))
        );
        assert_eq!(cache.get(&2, t0 + secs(29)), Some("timeout"));
        assert_eq!(cache.get(&2, t0 + secs(31)), None);
        let never = TtlCache::new(
            8,
            TtlPolicy {
                failure_ttl: Duration::ZERO,
                ..policy()
            },
        );
        assert_eq!(never.insert(3, "timeout", Lifetime::Failed, t0), None);
    }

    #[test]
    fn a_clock_that_went_back_expires_entries() {
        let cache = TtlCache::new(8, policy());
        let t0 = SystemTime::UNIX_EPOCH + secs(1_700_000_000);
        cache.insert(1, "a", Lifetime::Positive(secs(120)), t0);
        // The clock went back an hour: the entry now expires further ahead than any TTL.
        assert_eq!(cache.get(&1, t0 - secs(3600)), None);
        cache.insert(2, "b", Lifetime::Positive(secs(120)), t0);
        assert_eq!(cache.get(&2, t0 - secs(10)), Some("b"));
    }

    #[test]
    fn entries_round_trip_through_serde() {
        use logenrich_types::{DnsblOutcome, LookupError, PtrOutcome};
        let t0 = SystemTime::UNIX_EPOCH + secs(1_700_000_000);
        let ptr = Entry {
            value: PtrOutcome::Failed(LookupError::Other("x".into())),
            expires: t0,
        };
        let text = serde_json::to_string(&ptr).expect("serialises");
        assert_eq!(
            serde_json::from_str::<Entry<PtrOutcome>>(&text).unwrap(),
            ptr
        );
        let listed = Entry {
            value: DnsblOutcome::Listed {
                answers: vec![std::net::Ipv4Addr::new(127, 0, 0, 2)],
                reason: Some("spam".into()),
            },
            expires: t0 + secs(60),
        };
        let text = serde_json::to_string(&listed).expect("serialises");
        assert_eq!(
            serde_json::from_str::<Entry<DnsblOutcome>>(&text).unwrap(),
            listed
        );
        assert!(listed.is_valid(t0, &policy()));
        assert!(!listed.is_valid(t0 + secs(60), &policy()));
    }

    #[test]
    fn is_bounded_lru() {
        let cache = TtlCache::new(2, policy());
        let t0 = SystemTime::now();
        let life = Lifetime::Positive(secs(600));
        cache.insert(1, 1, life, t0);
        cache.insert(2, 2, life, t0);
        assert_eq!(cache.get(&1, t0), Some(1)); // 2 is now least recently used
        cache.insert(3, 3, life, t0);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&2, t0), None);
        assert_eq!(cache.get(&1, t0), Some(1));
        assert_eq!(cache.get(&3, t0), Some(3));
    }

    #[test]
    fn zero_capacity_caches_nothing() {
        let cache = TtlCache::new(0, policy());
        let t0 = SystemTime::now();
        assert_eq!(cache.insert(1, 1, Lifetime::Positive(secs(600)), t0), None);
        assert_eq!(cache.get(&1, t0), None);
    }

    #[tokio::test]
    async fn concurrent_requests_share_one_lookup() {
        let cache = LookupCache::new(16, policy());
        let calls = Arc::new(AtomicUsize::new(0));
        let start = |cache: &Arc<LookupCache<u32, &'static str>>| {
            let calls = Arc::clone(&calls);
            cache.get_or_start(
                &tokio::runtime::Handle::current(),
                7,
                SystemTime::now(),
                move || async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    ("seven", Lifetime::Positive(secs(600)))
                },
            )
        };
        let (
            Cached::InFlight {
                result: a,
                joined: false,
            },
            Cached::InFlight {
                result: b,
                joined: true,
            },
        ) = (start(&cache), start(&cache))
        else {
            panic!("expected one started and one joined lookup");
        };
        assert_eq!(cache.in_flight(), 1);
        assert_eq!((a.await, b.await), (Some("seven"), Some("seven")));
        assert_eq!(cache.in_flight(), 0);
        assert!(matches!(start(&cache), Cached::Hit("seven")));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failed_lookups_are_retried() {
        let cache: Arc<LookupCache<u32, &str>> = LookupCache::new(16, policy());
        let first = cache.get_or_start(
            &tokio::runtime::Handle::current(),
            1,
            SystemTime::now(),
            || async { ("timeout", Lifetime::Transient) },
        );
        let Cached::InFlight { result, .. } = first else {
            panic!("not in flight")
        };
        assert_eq!(result.await, Some("timeout"));
        let again = cache.get_or_start(
            &tokio::runtime::Handle::current(),
            1,
            SystemTime::now(),
            || async { ("ok", Lifetime::Positive(secs(60))) },
        );
        assert!(matches!(again, Cached::InFlight { joined: false, .. }));
    }
}
