//! Checkpoints: how far each input file has been read *and its records written*, so a
//! restart with the same `--checkpoint FILE` resumes right after the last written record.
//!
//! A file is known by its identity (device and inode) and a [`Fingerprint`] of its first
//! bytes, not only its name: after a rotation (`mv access.log access.log.1`) the entry
//! still finds the old file, and a new file at the old name is read from its start; a new
//! file that reuses a deleted file's inode has other first bytes and is read from its
//! start too. An entry holds the byte offset just past the last written line and that
//! line's number, so record line numbers go on where they stopped.
//!
//! Where to resume a file is decided here once ([`Checkpoint::resume`]), for plain reads
//! and `--follow` alike.
//!
//! The runner saves the file atomically (a temporary file renamed over it) after each
//! flush of the output, so the saved offsets never run ahead of written records. With an
//! output file (`-o`) the checkpoint also records how long that file was at the save
//! ([`OutputMark`]): a restart truncates the file back to it before writing, so after a
//! crash (SIGKILL) the records written since the last save, and a record cut mid-way,
//! are dropped and written again: exactly once. That mark is saved once before the first
//! record too, so a crash before a run's first save is undone like any other. On stdout, records written since the
//! last save are written again after a crash: at least once, never lost.

use std::fs::{File, Metadata};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where a batch ends in its input: the byte offset just past its last line (after the
/// `\n`), and that line's number. Resuming at `offset` with line `line + 1` continues
/// exactly after the batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// Bytes of the input up to the end of the batch's last line.
    pub offset: u64,
    /// The number of the batch's last line (0 before the first line).
    pub line: u64,
}

/// A file's identity on this machine: it survives renames, not copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Identity {
    /// Device number.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
}

impl Identity {
    /// The identity of the file `meta` describes.
    pub fn of(meta: &Metadata) -> Self {
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// How many of a file's first bytes its [`Fingerprint`] covers (fewer while it is
/// shorter).
pub const FINGERPRINT_BYTES: usize = 256;

/// A CRC-32 of a file's first bytes (at most [`FINGERPRINT_BYTES`]): with the identity, it
/// tells a file from a later one that reuses its inode (as Vector's file source does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// How many bytes it covers.
    pub len: u32,
    /// Their CRC-32 (IEEE).
    pub crc32: u32,
}

impl Fingerprint {
    /// The fingerprint of `file`'s first bytes; `None` for an empty or unreadable file.
    pub fn of(file: &File) -> Option<Self> {
        let mut buf = [0u8; FINGERPRINT_BYTES];
        let n = read_prefix(file, &mut buf)?;
        (n > 0).then(|| Fingerprint {
            len: n as u32,
            crc32: crc32fast::hash(&buf[..n]),
        })
    }

    /// Whether `file` starts with the bytes this fingerprint was taken of.
    pub fn matches(&self, file: &File) -> bool {
        let mut buf = [0u8; FINGERPRINT_BYTES];
        let want = (self.len as usize).min(FINGERPRINT_BYTES);
        read_prefix(file, &mut buf[..want])
            .is_some_and(|n| n == want && crc32fast::hash(&buf[..n]) == self.crc32)
    }
}

/// Reads as much of `buf` as the file has from offset 0 (in place: not by name, which a
/// rotation may have moved on).
fn read_prefix(file: &File, buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(n)
}

/// Whether an open file starts with gzip's magic bytes.
pub fn is_gzip(file: &File) -> bool {
    let mut magic = [0u8; 2];
    file.read_exact_at(&mut magic, 0).is_ok() && magic == [0x1f, 0x8b]
}

/// One input as the reader and the checkpoint know it: its name and, for a file, its
/// identity and fingerprint (stdin has none and is never checkpointed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InputKey {
    /// The path it was opened by (or `-`).
    pub path: PathBuf,
    /// The file's identity.
    pub identity: Option<Identity>,
    /// The file's first bytes when it was opened.
    pub fingerprint: Option<Fingerprint>,
}

impl InputKey {
    /// The key of a file opened by `path`.
    pub fn file(path: PathBuf, file: &File, identity: Identity) -> Self {
        InputKey {
            path,
            identity: Some(identity),
            fingerprint: Fingerprint::of(file),
        }
    }
}

/// A file rotated away from a name the checkpoint knows, with lines left to read.
#[derive(Debug)]
pub struct Rotated {
    /// Where it is now (e.g. `access.log.1`).
    pub path: PathBuf,
    /// The file, open.
    pub file: File,
    /// Its identity.
    pub identity: Identity,
    /// Where to go on reading it.
    pub start: Position,
}

/// Where to resume the file at a name: see [`Checkpoint::resume`].
#[derive(Debug, Default)]
pub struct Resume {
    /// Files rotated away from the name with unread lines, to read first.
    pub rotated: Vec<Rotated>,
    /// Where to go on reading the file there now, if the checkpoint knows it.
    pub position: Option<Position>,
}

/// One file's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path the file was last read by (made absolute).
    pub path: PathBuf,
    /// Its identity.
    #[serde(flatten)]
    pub identity: Identity,
    /// Its first bytes (absent in checkpoints written before fingerprints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<Fingerprint>,
    /// Bytes read and written up to the end of the last written line.
    pub offset: u64,
    /// The number of that line.
    pub line: u64,
}

impl Entry {
    /// Whether this entry is about `file` (identity `id`): the same inode, and the same
    /// first bytes when they were recorded.
    fn is(&self, id: Identity, file: &File) -> bool {
        self.identity == id && self.fingerprint.is_none_or(|f| f.matches(file))
    }

    fn position(&self) -> Position {
        Position {
            offset: self.offset,
            line: self.line,
        }
    }
}

/// How long the output file was when the checkpoint was saved: everything up to there
/// is the records of the positions saved with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputMark {
    /// The output file (made absolute).
    pub path: PathBuf,
    /// Its length in bytes.
    pub bytes: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    /// The format of this file.
    version: u32,
    inputs: Vec<Entry>,
    /// Absent when the records went to stdout (or in checkpoints of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<OutputMark>,
}

const VERSION: u32 = 1;

/// Why a checkpoint could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file exists but could not be read.
    #[error("cannot read checkpoint {path}: {source}")]
    Read {
        /// The checkpoint file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a checkpoint this version writes.
    #[error("{path} is not a logenrich checkpoint: {why}")]
    Invalid {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The file could not be written.
    #[error("cannot write checkpoint {path}: {source}")]
    Write {
        /// The checkpoint file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The progress of every file read with this checkpoint.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    existed: bool,
    entries: Vec<Entry>,
    output: Option<OutputMark>,
}

/// `path` made absolute, without resolving symlinks (a rotated log's name matters, not
/// where a link points).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Checkpoint {
    /// Loads the checkpoint at `path`; a missing file is an empty checkpoint.
    pub fn load(path: &Path) -> Result<Self, CheckpointError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Checkpoint {
                    path: path.to_path_buf(),
                    existed: false,
                    entries: Vec::new(),
                    output: None,
                });
            }
            Err(source) => {
                return Err(CheckpointError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let invalid = |why: String| CheckpointError::Invalid {
            path: path.to_path_buf(),
            why,
        };
        let saved: Saved = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if saved.version != VERSION {
            return Err(invalid(format!(
                "version {} (this logenrich writes {VERSION})",
                saved.version
            )));
        }
        Ok(Checkpoint {
            path: path.to_path_buf(),
            existed: true,
            entries: saved.inputs,
            output: saved.output,
        })
    }

    /// The checkpoint file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The output file and its length at the last save, if records went to a file.
    pub fn output(&self) -> Option<&OutputMark> {
        self.output.as_ref()
    }

    /// Records the output file's length, as of the flush the next save follows.
    pub fn set_output(&mut self, output: Option<OutputMark>) {
        self.output = output;
    }

    /// Whether the file existed when loaded: a file not in it appeared since the last run
    /// and is read from its start.
    pub fn existed(&self) -> bool {
        self.existed
    }

    /// The entries.
    #[cfg(test)]
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Where to go on reading `file` (identity `id`), if the checkpoint knows it.
    pub fn position(&self, id: Identity, file: &File) -> Option<Position> {
        self.entries
            .iter()
            .find(|e| e.is(id, file))
            .map(Entry::position)
    }

    /// Where to resume `file`, open at the name `path` (`meta` its metadata): first what is
    /// left of the files rotated away from that name since the checkpoint, then this file
    /// from its position if the checkpoint knows it (same inode and first bytes) and it
    /// was not truncated below it (a gzip file's position counts decompressed bytes).
    pub fn resume(&self, path: &Path, file: &File, meta: &Metadata) -> Resume {
        let id = Identity::of(meta);
        let position = self
            .position(id, file)
            .filter(|p| p.offset <= meta.len() || is_gzip(file));
        Resume {
            rotated: self.rotated_away(path, id, file),
            position,
        }
    }

    /// Files once read by the name `path` that are no longer there (rotated away) but
    /// still have unread bytes: each is looked up by its identity and first bytes among
    /// the files of the same directory (e.g. `access.log.1`). `current` (identity `id`) is
    /// the file at the name now.
    fn rotated_away(&self, path: &Path, id: Identity, current: &File) -> Vec<Rotated> {
        let path = absolute(path);
        let mut found = Vec::new();
        for entry in self.entries.iter().filter(|e| e.path == path) {
            if entry.is(id, current) {
                continue;
            }
            let Some(dir) = path.parent() else { continue };
            let Ok(listing) = std::fs::read_dir(dir) else {
                continue;
            };
            for item in listing.flatten() {
                let Ok(meta) = item.metadata() else { continue };
                if !meta.is_file()
                    || Identity::of(&meta) != entry.identity
                    || meta.len() <= entry.offset
                {
                    continue;
                }
                if let Ok(file) = File::open(item.path())
                    && entry.is(entry.identity, &file)
                {
                    found.push(Rotated {
                        path: item.path(),
                        file,
                        identity: entry.identity,
                        start: entry.position(),
                    });
                }
            }
        }
        found
    }

    /// Records that the records of `key` are written up to `position`.
    pub fn record(&mut self, key: &InputKey, position: Position) {
        let Some(identity) = key.identity else { return };
        let path = absolute(&key.path);
        match self.entries.iter_mut().find(|e| e.identity == identity) {
            Some(entry) => {
                entry.path = path;
                entry.fingerprint = key.fingerprint;
                entry.offset = position.offset;
                entry.line = position.line;
            }
            None => self.entries.push(Entry {
                path,
                identity,
                fingerprint: key.fingerprint,
                offset: position.offset,
                line: position.line,
            }),
        }
    }

    /// Drops the entry of a file that will not be read again (rotated away and read to
    /// its end, or truncated).
    pub fn forget(&mut self, identity: Identity) {
        self.entries.retain(|e| e.identity != identity);
    }

    /// Writes the checkpoint atomically: a temporary file in the same directory, synced,
    /// then renamed over the old one.
    pub fn save(&self) -> Result<(), CheckpointError> {
        let write_error = |source| CheckpointError::Write {
            path: self.path.clone(),
            source,
        };
        let saved = Saved {
            version: VERSION,
            inputs: self.entries.clone(),
            output: self.output.clone(),
        };
        let text = serde_json::to_vec_pretty(&saved).map_err(|e| write_error(e.into()))?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = std::fs::File::create(&tmp).map_err(write_error)?;
        file.write_all(&text).map_err(write_error)?;
        file.sync_data().map_err(write_error)?;
        std::fs::rename(&tmp, &self.path).map_err(write_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(path: &Path) -> InputKey {
        let file = File::open(path).unwrap();
        let meta = file.metadata().unwrap();
        InputKey::file(path.to_path_buf(), &file, Identity::of(&meta))
    }

    fn open(path: &Path) -> (File, Metadata) {
        let file = File::open(path).unwrap();
        let meta = file.metadata().unwrap();
        (file, meta)
    }

    #[test]
    fn saves_and_loads_positions_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "a\nb\nc\n").unwrap();
        let file = dir.path().join("ckpt.json");
        let mut ckpt = Checkpoint::load(&file).unwrap();
        assert!(!ckpt.existed());
        let k = key(&log);
        ckpt.record(&k, Position { offset: 4, line: 2 });
        ckpt.save().unwrap();
        let again = Checkpoint::load(&file).unwrap();
        assert!(again.existed());
        let (f, meta) = open(&log);
        let resume = again.resume(&log, &f, &meta);
        assert_eq!(resume.position, Some(Position { offset: 4, line: 2 }));
        assert!(resume.rotated.is_empty());
        assert_eq!(again.entries()[0].path, absolute(&log));
    }

    #[test]
    fn a_file_with_other_first_bytes_is_another_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "first line\nsecond\n").unwrap();
        let mut ckpt = Checkpoint::load(&dir.path().join("c.json")).unwrap();
        ckpt.record(
            &key(&log),
            Position {
                offset: 11,
                line: 1,
            },
        );
        // The same inode with other contents (as when a deleted file's inode is reused):
        // rewritten in place, so the identity stays.
        std::fs::write(&log, "other text\nmore lines\n").unwrap();
        let (f, meta) = open(&log);
        assert_eq!(Identity::of(&meta), key(&log).identity.unwrap());
        assert_eq!(ckpt.resume(&log, &f, &meta).position, None);
        // Appending keeps the first bytes: the same file.
        std::fs::write(&log, "first line\nsecond\nthird\n").unwrap();
        let (f, meta) = open(&log);
        assert_eq!(
            ckpt.resume(&log, &f, &meta).position,
            Some(Position {
                offset: 11,
                line: 1
            })
        );
    }

    #[test]
    fn old_checkpoints_without_fingerprints_still_resume() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "a\nb\n").unwrap();
        let (f, meta) = open(&log);
        let saved = format!(
            r#"{{"version":1,"inputs":[{{"path":{:?},"dev":{},"ino":{},"offset":2,"line":1}}]}}"#,
            absolute(&log),
            meta.dev(),
            meta.ino()
        );
        let path = dir.path().join("c.json");
        std::fs::write(&path, saved).unwrap();
        let ckpt = Checkpoint::load(&path).unwrap();
        assert_eq!(
            ckpt.resume(&log, &f, &meta).position,
            Some(Position { offset: 2, line: 1 })
        );
    }

    #[test]
    fn finds_a_rotated_file_by_its_inode() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "a\nb\nc\n").unwrap();
        let mut ckpt = Checkpoint::load(&dir.path().join("c.json")).unwrap();
        ckpt.record(&key(&log), Position { offset: 2, line: 1 });
        let old = dir.path().join("access.log.1");
        std::fs::rename(&log, &old).unwrap();
        std::fs::write(&log, "new\n").unwrap();
        let (f, meta) = open(&log);
        let resume = ckpt.resume(&log, &f, &meta);
        let away: Vec<(PathBuf, Position)> = resume
            .rotated
            .iter()
            .map(|r| (r.path.clone(), r.start))
            .collect();
        assert_eq!(away, vec![(old.clone(), Position { offset: 2, line: 1 })]);
        assert_eq!(resume.position, None, "the new file is read from its start");
        // Read to its end: nothing is left there.
        ckpt.record(&key(&old), Position { offset: 6, line: 3 });
        assert!(ckpt.resume(&log, &f, &meta).rotated.is_empty());
    }

    #[test]
    fn rejects_what_is_not_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        std::fs::write(&file, "GET / HTTP/1.1\n").unwrap();
        let err = Checkpoint::load(&file).unwrap_err().to_string();
        assert!(err.contains("is not a logenrich checkpoint"), "{err}");
        std::fs::write(&file, r#"{"version":9,"inputs":[]}"#).unwrap();
        let err = Checkpoint::load(&file).unwrap_err().to_string();
        assert!(err.contains("version 9"), "{err}");
    }
}
