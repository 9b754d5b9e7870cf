//! `--cache-db FILE`: the lookup stores' entries in a [redb](https://docs.rs/redb/4.6) file,
//! so a later run (or another process on the machine) finds the answers of an earlier one.
//!
//! redb is pure Rust, writes whole commits only (a `kill -9` mid-write leaves the last
//! commit), and with `ConcurrencyMode::MultiWriter` several processes may open one file
//! (one write transaction at a time, readers never blocked). Reads are one read
//! transaction per key (about 1.6 µs in release); writes go to a thread of the store's
//! own that commits what came in every [`COMMIT_EVERY`] or [`COMMIT_ENTRIES`] entries, so
//! a lookup never waits for a disk sync.
//!
//! Tables: `entries` (key → the write time in 8 bytes, then the entry's JSON), `by_age`
//! ((write time, key) → ()) for evicting the oldest, and `meta` (`format`, and `bytes`:
//! the keys and values held). Past the size budget (a tenth of the file-size bound,
//! `BUDGET_SHARE`) the oldest entries go first. A file that is not redb, is redb
//! without our `meta`, or is damaged is an error that says so ([`CacheDbError`]); it is
//! never rebuilt or overwritten.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redb::{
    Builder, ConcurrencyMode, Database, DatabaseError, ReadableDatabase, ReadableTable,
    StorageError, TableDefinition, TableError, TableHandle,
};

use super::{Store, StoreError};

const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");
const BY_AGE: TableDefinition<(u64, &str), ()> = TableDefinition::new("by_age");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The `meta` key and value that mark a file as ours, and its layout.
const FORMAT_KEY: &str = "logenrich-cache-format";
const FORMAT: u64 = 1;
/// The `meta` key of the bytes of keys and values held.
const BYTES_KEY: &str = "bytes";

/// Entries put are committed at least this often.
pub const COMMIT_EVERY: Duration = Duration::from_millis(200);
/// ... or once this many are waiting.
pub const COMMIT_ENTRIES: usize = 4096;
/// The smallest file-size bound: a new redb file takes 4.4 MB as soon as it holds a few
/// thousand entries.
pub const MIN_BOUND: u64 = 16 << 20;
/// Entries larger than this are not kept (a DNSBL reason of many TXT strings).
const MAX_VALUE: usize = 4096;
/// The share of the file-size bound that keys and values may take: redb's B-trees (about
/// half full), the age index and the pages kept for the two-phase commit take the rest,
/// and the file grows by doubling. Measured with PTR entries of about 140 bytes: at a
/// quarter, a 4 MiB bound held a file of 8.5 MiB and a 64 MiB one 68 MiB (both flat under
/// churn); at a tenth, 16 and 48 MiB bounds hold
/// (`the_file_stays_under_its_bound_and_the_oldest_go_first`).
const BUDGET_SHARE: u64 = 10;

/// Why a cache database could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum CacheDbError {
    /// The file is not a redb database at all.
    #[error("{path}: not a logenrich cache database ({reason}); choose another path")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What told it.
        reason: String,
    },
    /// The file is a redb database whose pages fail their checksums or are cut short.
    #[error("{path}: the cache database is damaged ({reason}); remove it to start an empty one")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What redb said.
        reason: String,
    },
    /// The file is open in this process already, or in another one in another mode.
    #[error("{path}: the cache database is open elsewhere in a mode that excludes others")]
    InUse {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing the file failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// What the writer thread is asked to do.
enum Op {
    Put { key: String, value: Vec<u8> },
    Flush(tokio::sync::oneshot::Sender<Result<(), StoreError>>),
}

/// A [`Store`] in a redb file.
pub struct CacheDb {
    db: Arc<Database>,
    path: PathBuf,
    /// `None` once dropped: the writer thread then commits what is left and ends.
    writer: Mutex<Option<mpsc::Sender<Op>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for CacheDb {
    fn drop(&mut self) {
        drop(
            self.writer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for CacheDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl CacheDb {
    /// Opens (or creates) the cache database at `path`, whose file is to stay under
    /// `max_bytes` (at least [`MIN_BOUND`]).
    pub fn open(path: &Path, max_bytes: u64) -> Result<CacheDb, CacheDbError> {
        let owned = path.to_path_buf();
        let max_bytes = max_bytes.max(MIN_BOUND);
        let db = Builder::new()
            .set_cache_size(32 << 20)
            .set_concurrency_mode(ConcurrencyMode::MultiWriter)
            .set_check_integrity_on_open(true)
            .create(path)
            .map_err(|e| open_error(&owned, e))?;
        check_format(&db, &owned)?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel();
        let budget = (max_bytes / BUDGET_SHARE).max(1);
        let writer_db = Arc::clone(&db);
        let thread = std::thread::Builder::new()
            .name("logenrich-cache-db".into())
            .spawn(move || write_loop(&writer_db, &rx, budget))
            .map_err(|e| CacheDbError::Io {
                path: owned.clone(),
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(CacheDb {
            db,
            path: owned,
            writer: Mutex::new(Some(tx)),
            thread: Some(thread),
        })
    }

    /// The entries held.
    pub fn len(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        let txn = self.db.begin_read().map_err(store_error)?;
        match txn.open_table(ENTRIES) {
            Ok(table) => table.len().map_err(store_error),
            Err(TableError::TableDoesNotExist(_)) => Ok(0),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.len().map(|n| n == 0)
    }

    fn send(&self, op: Op) -> Result<(), StoreError> {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer
            .as_ref()
            .and_then(|w| w.send(op).ok())
            .ok_or_else(|| StoreError("the cache database's writer stopped".into()))
    }
}

#[async_trait::async_trait]
impl Store for CacheDb {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(store_error)?;
        let table = match txn.open_table(ENTRIES) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(store_error(e)),
        };
        let found = table.get(key).map_err(store_error)?;
        Ok(found.and_then(|v| v.value().get(8..).map(<[u8]>::to_vec)))
    }

    async fn put(&self, key: &str, value: Vec<u8>, _expires: SystemTime) -> Result<(), StoreError> {
        if value.len() > MAX_VALUE {
            return Ok(());
        }
        self.send(Op::Put {
            key: key.to_owned(),
            value,
        })
    }

    async fn flush(&self) -> Result<(), StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Op::Flush(tx))?;
        rx.await
            .map_err(|_| StoreError("the cache database's writer stopped".into()))?
    }
}

fn store_error(e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("cache database: {e}"))
}

/// What redb's open error means for the user.
fn open_error(path: &Path, e: DatabaseError) -> CacheDbError {
    let path = path.to_path_buf();
    match e {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            CacheDbError::InUse { path }
        }
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::InvalidData =>
        {
            CacheDbError::Foreign {
                path,
                reason: io.to_string(),
            }
        }
        DatabaseError::Storage(StorageError::Io(io))
            if io.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            CacheDbError::Damaged {
                path,
                reason: io.to_string(),
            }
        }
        DatabaseError::Storage(StorageError::Corrupted(reason)) => {
            CacheDbError::Damaged { path, reason }
        }
        other => CacheDbError::Io {
            path,
            reason: other.to_string(),
        },
    }
}

/// Marks a new file as ours; refuses a redb file of someone else's or of another layout.
fn check_format(db: &Database, path: &Path) -> Result<(), CacheDbError> {
    let io = |e: &dyn std::fmt::Display| CacheDbError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let txn = db.begin_write().map_err(|e| io(&e))?;
    let tables: Vec<String> = txn
        .list_tables()
        .map_err(|e| io(&e))?
        .map(|t| t.name().to_owned())
        .collect();
    let format = {
        let mut meta = txn.open_table(META).map_err(|e| io(&e))?;
        let found = meta.get(FORMAT_KEY).map_err(|e| io(&e))?.map(|v| v.value());
        if found.is_none() && tables.is_empty() {
            meta.insert(FORMAT_KEY, FORMAT).map_err(|e| io(&e))?;
            meta.insert(BYTES_KEY, 0).map_err(|e| io(&e))?;
            Some(FORMAT)
        } else {
            found
        }
    };
    match format {
        Some(FORMAT) => txn.commit().map_err(|e| io(&e)),
        Some(other) => Err(CacheDbError::Foreign {
            path: path.to_path_buf(),
            reason: format!("its layout is version {other}, this logenrich reads {FORMAT}"),
        }),
        None => Err(CacheDbError::Foreign {
            path: path.to_path_buf(),
            reason: format!("a redb database with other tables: {}", tables.join(", ")),
        }),
    }
}

/// Nanoseconds since the Unix epoch: the write time that orders eviction.
fn stamp() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The writer thread: gathers puts, commits them together, evicts past the budget.
fn write_loop(db: &Database, ops: &mpsc::Receiver<Op>, budget: u64) {
    let mut pending: Vec<(String, Vec<u8>)> = Vec::new();
    let mut waiting: Vec<tokio::sync::oneshot::Sender<Result<(), StoreError>>> = Vec::new();
    loop {
        let op = if pending.is_empty() && waiting.is_empty() {
            ops.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            ops.recv_timeout(COMMIT_EVERY)
        };
        let done = match op {
            Ok(Op::Put { key, value }) => {
                pending.push((key, value));
                pending.len() < COMMIT_ENTRIES
            }
            Ok(Op::Flush(reply)) => {
                waiting.push(reply);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                let _ = commit(db, &mut pending, budget);
                return;
            }
        };
        if !done {
            let result = commit(db, &mut pending, budget);
            for reply in waiting.drain(..) {
                let _ = reply.send(
                    result
                        .as_ref()
                        .map(|_| ())
                        .map_err(|e| StoreError(e.0.clone())),
                );
            }
        }
    }
}

/// Writes `pending` in one transaction and evicts the oldest entries past `budget`.
fn commit(
    db: &Database,
    pending: &mut Vec<(String, Vec<u8>)>,
    budget: u64,
) -> Result<(), StoreError> {
    if pending.is_empty() {
        return Ok(());
    }
    let txn = db.begin_write().map_err(store_error)?;
    {
        let mut entries = txn.open_table(ENTRIES).map_err(store_error)?;
        let mut by_age = txn.open_table(BY_AGE).map_err(store_error)?;
        let mut meta = txn.open_table(META).map_err(store_error)?;
        let mut bytes = meta
            .get(BYTES_KEY)
            .map_err(store_error)?
            .map_or(0, |v| v.value());
        let age = stamp();
        let mut value = Vec::new();
        for (key, json) in pending.drain(..) {
            value.clear();
            value.extend_from_slice(&age.to_be_bytes());
            value.extend_from_slice(&json);
            let old = entries
                .insert(key.as_str(), value.as_slice())
                .map_err(store_error)?
                .map(|old| old.value().to_vec());
            if let Some(old) = old {
                bytes = bytes.saturating_sub((key.len() + old.len()) as u64);
                let old_age = old
                    .get(..8)
                    .and_then(|a| a.try_into().ok())
                    .map(u64::from_be_bytes);
                if let Some(old_age) = old_age {
                    by_age
                        .remove((old_age, key.as_str()))
                        .map_err(store_error)?;
                }
            }
            by_age
                .insert((age, key.as_str()), ())
                .map_err(store_error)?;
            bytes += (key.len() + value.len()) as u64;
        }
        while bytes > budget {
            let Some((_, key)) = by_age.pop_first().map_err(store_error)?.map(|(k, _)| {
                let (age, key) = k.value();
                (age, key.to_owned())
            }) else {
                break;
            };
            let removed = entries
                .remove(key.as_str())
                .map_err(store_error)?
                .map(|v| v.value().len());
            if let Some(len) = removed {
                bytes = bytes.saturating_sub((key.len() + len) as u64);
            }
        }
        meta.insert(BYTES_KEY, bytes).map_err(store_error)?;
    }
    txn.commit().map_err(store_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn entry(i: usize) -> Vec<u8> {
        format!(r#"{{"value":{{"Found":"host-{i}.dynamic.example.net"}},"expires":{{"secs_since_epoch":4000000000,"nanos_since_epoch":0}}}}"#).into_bytes()
    }

    #[test]
    fn entries_outlive_the_process_that_wrote_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.redb");
        let rt = runtime();
        {
            let db = CacheDb::open(&path, 64 * MIB).unwrap();
            rt.block_on(async {
                db.put("v1/ptr/192.0.2.1", entry(1), SystemTime::now())
                    .await
                    .unwrap();
                db.put("v1/ptr/192.0.2.2", entry(2), SystemTime::now())
                    .await
                    .unwrap();
                db.put("v1/ptr/192.0.2.1", entry(3), SystemTime::now())
                    .await
                    .unwrap();
                db.flush().await.unwrap();
            });
            assert_eq!(db.len().unwrap(), 2);
        }
        let db = CacheDb::open(&path, 64 * MIB).unwrap();
        rt.block_on(async {
            assert_eq!(db.get("v1/ptr/192.0.2.1").await.unwrap(), Some(entry(3)));
            assert_eq!(db.get("v1/ptr/192.0.2.2").await.unwrap(), Some(entry(2)));
            assert_eq!(db.get("v1/ptr/192.0.2.3").await.unwrap(), None);
        });
    }

    #[test]
    fn a_foreign_or_damaged_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "not a database\n".repeat(1000)).unwrap();
        let err = CacheDb::open(&text, MIB).unwrap_err();
        assert!(matches!(err, CacheDbError::Foreign { .. }), "{err}");
        assert!(
            err.to_string().contains("not a logenrich cache database"),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&text).unwrap(),
            "not a database\n".repeat(1000).as_bytes()
        );

        let other = dir.path().join("other.redb");
        {
            let db = Database::create(&other).unwrap();
            let txn = db.begin_write().unwrap();
            let users: TableDefinition<&str, u64> = TableDefinition::new("users");
            txn.open_table(users).unwrap().insert("ann", 1).unwrap();
            txn.commit().unwrap();
        }
        let err = CacheDb::open(&other, MIB).unwrap_err();
        assert!(err.to_string().contains("other tables: users"), "{err}");

        let cut = dir.path().join("cut.redb");
        {
            let db = CacheDb::open(&cut, 64 * MIB).unwrap();
            let rt = runtime();
            rt.block_on(async {
                for i in 0..2000 {
                    db.put(
                        &format!("v1/ptr/10.0.{}.{}", i / 256, i % 256),
                        entry(i),
                        SystemTime::now(),
                    )
                    .await
                    .unwrap();
                }
                db.flush().await.unwrap();
            });
        }
        let len = std::fs::metadata(&cut).unwrap().len();
        let file = std::fs::OpenOptions::new().write(true).open(&cut).unwrap();
        file.set_len(len / 2).unwrap();
        let err = CacheDb::open(&cut, 64 * MIB).unwrap_err();
        assert!(matches!(err, CacheDbError::Damaged { .. }), "{err}");
    }

    #[test]
    fn the_file_stays_under_its_bound_and_the_oldest_go_first() {
        stays_under(MIN_BOUND, 300_000);
        stays_under(48 * MIB, 600_000);
    }

    /// Puts `n` entries of about 140 bytes into a database bounded by `bound`.
    fn stays_under(bound: u64, n: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.redb");
        let db = CacheDb::open(&path, bound).unwrap();
        let rt = runtime();
        rt.block_on(async {
            for i in 0..n {
                let key = format!("v1/ptr/10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
                db.put(&key, entry(i), SystemTime::now()).await.unwrap();
                if i % 10_000 == 9_999 {
                    db.flush().await.unwrap();
                    let size = std::fs::metadata(&path).unwrap().len();
                    assert!(size <= bound, "after {i}: file {size} bytes, bound {bound}");
                }
            }
            db.flush().await.unwrap();
        });
        let size = std::fs::metadata(&path).unwrap().len();
        let held = db.len().unwrap();
        eprintln!("{n} entries put, {held} held, file {size} bytes (bound {bound})");
        assert!(size <= bound, "file {size} bytes, bound {bound}");
        assert!(held > 0 && held < n as u64, "{held} entries held");
        rt.block_on(async {
            let last = format!(
                "v1/ptr/10.{}.{}.{}",
                (n - 1) >> 16,
                ((n - 1) >> 8) & 255,
                (n - 1) & 255
            );
            assert!(db.get(&last).await.unwrap().is_some(), "the newest is kept");
            assert!(
                db.get("v1/ptr/10.0.0.0").await.unwrap().is_none(),
                "the oldest went"
            );
        });
    }
}
