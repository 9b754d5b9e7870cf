//! `--follow`: files followed by name as they grow, like `tail -F`.
//!
//! Each name (or glob pattern, re-expanded every [`RESCAN`]) is polled every
//! [`FollowOptions::poll`]: new bytes are sent as they come, and when every file is at its
//! end the batcher is told at once, so a record is out within one poll interval of its
//! line being written. A file is known by its identity (device, inode), which makes
//! rotation safe:
//! - **rename + create** (`mv access.log access.log.1`, then the server reopens): the old
//!   file is read to its end for a grace period ([`GRACE`], for the server's last writes)
//!   and then closed; the new file at the name is read from its start.
//! - **copytruncate**: a file shorter than what was read from it starts over at 0.
//! - a name that does not exist yet, or no longer, is waited for.
//!
//! Files present at the start are read from their end (from their start with
//! `from_start`), files that appear later from their start; with a checkpoint, a file it
//! knows resumes at its position, and one it does not know (it appeared while logenrich
//! was not running) from its start. Polling rather than inotify: it works on every file
//! system (NFS, bind mounts, overlay) and costs one `stat` and one `read` per file per
//! interval; the checkpoint's byte offsets and the identity checks, the core of "no
//! line lost or repeated", are ours either way.

use std::fs::File;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use super::{Chunk, Position, READ_BUFFER};
use crate::checkpoint::{Checkpoint, Identity, InputKey};

/// How often names and glob patterns are looked up again for new files.
pub const RESCAN: Duration = Duration::from_millis(500);

/// How long a file rotated away is still read after the name points to a new file (the
/// server may write its last lines to it until it has reopened its log).
pub const GRACE: Duration = Duration::from_secs(1);

/// The most bytes read from one file before the others get their turn.
const ROUND_BYTES: usize = 4 << 20;

/// What to follow.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// File names or glob patterns (`*`, `?`, `[...]`).
    pub patterns: Vec<String>,
    /// Read the files present at the start from their start instead of their end.
    pub from_start: bool,
    /// How often each file is looked at for new bytes.
    pub poll: Duration,
}

/// A file being read.
struct Tracked {
    index: usize,
    /// The name it is followed by.
    path: PathBuf,
    file: File,
    identity: Identity,
    /// Bytes read from it (its offset).
    offset: u64,
    /// Set once the name points to another file: read it to its end until then.
    retiring: Option<Instant>,
}

struct Follower<'a> {
    opts: &'a FollowOptions,
    checkpoint: Option<&'a Checkpoint>,
    tx: &'a SyncSender<Chunk>,
    named: bool,
    next_index: usize,
    tracked: Vec<Tracked>,
    first_scan: bool,
    /// Names already reported missing.
    missing: Vec<PathBuf>,
    /// Read buffer, reused: most reads of a quiet file find nothing.
    scratch: Vec<u8>,
}

/// The error for a closed batcher: the run is over.
struct Closed;

fn is_pattern(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Follows `opts.patterns` until `stop` is set or the batcher is gone.
pub(super) fn follow(
    opts: &FollowOptions,
    checkpoint: Option<&Checkpoint>,
    tx: &SyncSender<Chunk>,
    stop: &AtomicBool,
) {
    let mut follower = Follower {
        opts,
        checkpoint,
        tx,
        named: opts.patterns.len() > 1 || opts.patterns.iter().any(|p| is_pattern(p)),
        next_index: 0,
        tracked: Vec::new(),
        first_scan: true,
        missing: Vec::new(),
        scratch: vec![0; READ_BUFFER],
    };
    let mut last_scan: Option<Instant> = None;
    let mut idle_told = false;
    while !stop.load(Ordering::Relaxed) {
        if last_scan.is_none_or(|t| t.elapsed() >= RESCAN) {
            if follower.scan().is_err() {
                return;
            }
            last_scan = Some(Instant::now());
        }
        let Ok(got) = follower.read_round() else {
            return;
        };
        if follower.check_rotation().is_err() {
            return;
        }
        if got {
            idle_told = false;
        } else {
            if !idle_told {
                if tx.send(Chunk::Idle).is_err() {
                    return;
                }
                idle_told = true;
            }
            std::thread::sleep(opts.poll);
        }
    }
}

impl Follower<'_> {
    /// Looks up every name and pattern; starts reading the files not read yet.
    fn scan(&mut self) -> Result<(), Closed> {
        let first = std::mem::replace(&mut self.first_scan, false);
        for pattern in &self.opts.patterns {
            let paths: Vec<PathBuf> = if is_pattern(pattern) {
                match glob::glob(pattern) {
                    Ok(paths) => paths.flatten().collect(),
                    Err(_) => Vec::new(), // checked by the CLI
                }
            } else {
                vec![PathBuf::from(pattern)]
            };
            for path in paths {
                self.consider(&path, first)?;
            }
        }
        Ok(())
    }

    /// Starts reading `path` unless its file is read already or its name is followed
    /// (a new file at a followed name is the rotation check's).
    fn consider(&mut self, path: &Path, first: bool) -> Result<(), Closed> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => {
                if first && !self.missing.iter().any(|m| m == path) {
                    eprintln!(
                        "logenrich: following {}, which cannot be read yet ({e})",
                        path.display()
                    );
                    self.missing.push(path.to_path_buf());
                }
                return Ok(());
            }
        };
        let Ok(meta) = file.metadata() else {
            return Ok(());
        };
        if !meta.is_file() {
            return Ok(());
        }
        let identity = Identity::of(&meta);
        let known =
            |t: &Tracked| t.identity == identity || (t.path == path && t.retiring.is_none());
        if self.tracked.iter().any(known) {
            return Ok(());
        }
        let resume = self
            .checkpoint
            .map(|c| c.resume(path, &file, &meta))
            .unwrap_or_default();
        if first {
            // What was left unread in files rotated away while logenrich was not running.
            for old in resume.rotated {
                self.start(
                    old.path,
                    old.file,
                    old.identity,
                    old.start,
                    Some(Instant::now()),
                )?;
            }
        }
        // Followed files are read raw (not decompressed): a position past the end means
        // the file was truncated, even for gzip.
        let start = match resume.position.filter(|p| p.offset <= meta.len()) {
            Some(position) => position,
            None if first
                && !self.opts.from_start
                && !self.checkpoint.is_some_and(|c| c.existed()) =>
            {
                Position {
                    offset: meta.len(),
                    line: 0,
                }
            }
            None => Position::default(),
        };
        self.start(path.to_path_buf(), file, identity, start, None)
    }

    /// Opens an input for `file` at `start`.
    fn start(
        &mut self,
        path: PathBuf,
        mut file: File,
        identity: Identity,
        start: Position,
        retiring: Option<Instant>,
    ) -> Result<(), Closed> {
        if file.seek(io::SeekFrom::Start(start.offset)).is_err() {
            return Ok(());
        }
        let index = self.next_index;
        self.next_index += 1;
        let open = Chunk::Open {
            index,
            key: Arc::new(InputKey::file(path.clone(), &file, identity)),
            source: self.named.then(|| path.display().to_string()),
            start,
        };
        self.tx.send(open).map_err(|_| Closed)?;
        self.tracked.push(Tracked {
            index,
            path,
            file,
            identity,
            offset: start.offset,
            retiring,
        });
        Ok(())
    }

    /// Reads what each file has; whether anything came. A file that fails is ended.
    fn read_round(&mut self) -> Result<bool, Closed> {
        let mut got = false;
        let mut failed = Vec::new();
        for (i, t) in self.tracked.iter_mut().enumerate() {
            let mut this_round = 0;
            while this_round < ROUND_BYTES {
                match t.file.read(&mut self.scratch) {
                    Ok(0) => break,
                    Ok(n) => {
                        t.offset += n as u64;
                        this_round += n;
                        got = true;
                        let bytes = self.scratch[..n].to_vec();
                        self.tx
                            .send(Chunk::Data(t.index, bytes))
                            .map_err(|_| Closed)?;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed.push((i, format!("cannot read input {}: {e}", t.path.display())));
                        break;
                    }
                }
            }
        }
        for (i, why) in failed.into_iter().rev() {
            let t = self.tracked.remove(i);
            let end = Chunk::End {
                index: t.index,
                error: Some(why),
                forget: false,
            };
            self.tx.send(end).map_err(|_| Closed)?;
        }
        Ok(got)
    }

    /// For each file at its end: has its name moved to another file (rotation), has it
    /// shrunk (copytruncate), is a rotated-away file done?
    fn check_rotation(&mut self) -> Result<(), Closed> {
        let now = Instant::now();
        let mut i = 0;
        while i < self.tracked.len() {
            let t = &mut self.tracked[i];
            if let Some(deadline) = t.retiring {
                if now >= deadline {
                    let t = self.tracked.remove(i);
                    self.end(t.index, true)?;
                    continue;
                }
                i += 1;
                continue;
            }
            let Ok(meta) = std::fs::metadata(&t.path) else {
                i += 1; // gone: keep the open file until a new one appears at the name
                continue;
            };
            let identity = Identity::of(&meta);
            if identity != t.identity {
                t.retiring = Some(now + GRACE);
                let path = t.path.clone();
                if let Ok(file) = File::open(&path)
                    && let Ok(meta) = file.metadata()
                {
                    self.start(path, file, Identity::of(&meta), Position::default(), None)?;
                }
            } else if meta.len() < t.offset {
                // Truncated in place: what it holds now is new.
                let t = self.tracked.remove(i);
                self.end(t.index, true)?;
                self.start(t.path, t.file, t.identity, Position::default(), None)?;
                continue;
            }
            i += 1;
        }
        Ok(())
    }

    fn end(&self, index: usize, forget: bool) -> Result<(), Closed> {
        let end = Chunk::End {
            index,
            error: None,
            forget,
        };
        self.tx.send(end).map_err(|_| Closed)
    }
}
