//! Checkpoints: how far each input file has been read *and its records written*, so a
//! restart with the same `--checkpoint FILE` resumes right after the last written record.
//!
//! A file is known by its identity (device and inode), not only its name: after a rotation
//! (`mv access.log access.log.1`) the entry still finds the old file, and a new file at
//! the old name is read from its start. An entry holds the byte offset just past the last
//! written line and that line's number, so record line numbers go on where they stopped.
//!
//! The runner saves the file atomically (a temporary file renamed over it) after each
//! flush of the output, so the saved offsets never run ahead of written records. After a
//! clean stop (end of input, SIGINT/SIGTERM, a closed output) a restart neither loses nor
//! repeats a record; after a crash (SIGKILL, power loss) records written since the last
//! save are written again: at least once, never lost.

use std::fs::Metadata;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::input::Position;

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

/// One input as the reader and the checkpoint know it: its name and, for a file, its
/// identity (stdin has none and is never checkpointed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InputKey {
    /// The path it was opened by (or `-`).
    pub path: PathBuf,
    /// The file's identity.
    pub identity: Option<Identity>,
}

/// One file's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path the file was last read by (made absolute).
    pub path: PathBuf,
    /// Its identity.
    #[serde(flatten)]
    pub identity: Identity,
    /// Bytes read and written up to the end of the last written line.
    pub offset: u64,
    /// The number of that line.
    pub line: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    /// The format of this file.
    version: u32,
    inputs: Vec<Entry>,
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
        })
    }

    /// Whether the file existed when loaded: a file not in it appeared since the last run
    /// and is read from its start.
    pub fn existed(&self) -> bool {
        self.existed
    }

    /// The entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Where to go on reading the file with identity `id`.
    pub fn position(&self, id: Identity) -> Option<Position> {
        self.entries
            .iter()
            .find(|e| e.identity == id)
            .map(|e| Position {
                offset: e.offset,
                line: e.line,
            })
    }

    /// Files once read by the name `path` that are no longer there (rotated away) but
    /// still have unread bytes: each is looked up by its identity among the files of the
    /// same directory (e.g. `access.log.1`). Returns their current paths and positions.
    pub fn rotated_away(&self, path: &Path, current: Option<Identity>) -> Vec<(PathBuf, Position)> {
        let path = absolute(path);
        let mut found = Vec::new();
        for entry in self.entries.iter().filter(|e| e.path == path) {
            if Some(entry.identity) == current {
                continue;
            }
            let Some(dir) = path.parent() else { continue };
            let Ok(listing) = std::fs::read_dir(dir) else {
                continue;
            };
            for item in listing.flatten() {
                let Ok(meta) = item.metadata() else { continue };
                if meta.is_file()
                    && Identity::of(&meta) == entry.identity
                    && meta.len() > entry.offset
                {
                    let position = Position {
                        offset: entry.offset,
                        line: entry.line,
                    };
                    found.push((item.path(), position));
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
                entry.offset = position.offset;
                entry.line = position.line;
            }
            None => self.entries.push(Entry {
                path,
                identity,
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
        let meta = std::fs::metadata(path).unwrap();
        InputKey {
            path: path.to_path_buf(),
            identity: Some(Identity::of(&meta)),
        }
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
        let id = k.identity.unwrap();
        assert_eq!(again.position(id), Some(Position { offset: 4, line: 2 }));
        assert_eq!(again.entries()[0].path, absolute(&log));
    }

    #[test]
    fn finds_a_rotated_file_by_its_inode() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(&log, "a\nb\nc\n").unwrap();
        let mut ckpt = Checkpoint::load(&dir.path().join("c.json")).unwrap();
        ckpt.record(&key(&log), Position { offset: 2, line: 1 });
        std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
        std::fs::write(&log, "new\n").unwrap();
        let now = Identity::of(&std::fs::metadata(&log).unwrap());
        let away = ckpt.rotated_away(&log, Some(now));
        assert_eq!(
            away,
            vec![(
                dir.path().join("access.log.1"),
                Position { offset: 2, line: 1 }
            )]
        );
        // Read to its end: nothing is left there.
        ckpt.record(
            &InputKey {
                path: dir.path().join("access.log.1"),
                identity: key(&dir.path().join("access.log.1")).identity,
            },
            Position { offset: 6, line: 3 },
        );
        assert!(ckpt.rotated_away(&log, Some(now)).is_empty());
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
