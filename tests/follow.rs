//! `--follow` and `--checkpoint`: files followed through rotation (rename + create,
//! copytruncate), glob patterns that pick up new files, and restarts that resume after the
//! last written record with no line lost or repeated.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::{logenrich, records, stderr};

/// A honeypot line whose target names it: `/r/{n}`.
fn req(n: usize) -> String {
    format!(
        "192.0.2.{} - - [19/Jul/2022:13:23:20 +0200] \"GET /r/{n} HTTP/1.1\" 200 612 \"-\" \"curl/8\" \"-\"\n",
        n % 250 + 1
    )
}

pub(crate) fn append(path: &Path, from: usize, to: usize) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let text: String = (from..to).map(req).collect();
    f.write_all(text.as_bytes()).unwrap();
}

/// The `n` of a record's `/r/{n}` target.
fn n_of(record: &Value) -> usize {
    let target = record["target"]
        .as_str()
        .unwrap_or_else(|| panic!("{record}"));
    target.trim_start_matches("/r/").parse().unwrap()
}

/// Starts `logenrich -q --no-dns --no-geoip ARGS` with stdout piped to a line channel.
fn start(args: &[&str]) -> (Child, mpsc::Receiver<Value>) {
    let mut child = logenrich()
        .args(["--no-dns", "--no-geoip", "-q"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("logenrich starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines() {
            let Ok(l) = l else { return };
            let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("{l}: {e}"));
            if tx.send(v).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

/// Waits for `count` records (at most 10 s) and returns their `n`s.
fn take(rx: &mpsc::Receiver<Value>, count: usize) -> Vec<usize> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(v) => got.push(n_of(&v)),
            Err(_) => panic!(
                "{} of {count} records before the deadline: {got:?}",
                got.len()
            ),
        }
    }
    got
}

/// Nothing more arrives within `wait`.
fn quiet(rx: &mpsc::Receiver<Value>, wait: Duration) {
    if let Ok(v) = rx.recv_timeout(wait) {
        panic!("unexpected record {v}");
    }
}

fn sigterm(child: &Child) {
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The follow thread has opened its files (it reads from the end, so lines written
/// before it looked would be skipped): a first line is the handshake.
fn handshake(path: &Path, rx: &mpsc::Receiver<Value>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        append(path, 0, 1);
        if rx.recv_timeout(Duration::from_millis(200)).is_ok() {
            // Drain duplicates of the handshake line.
            while rx.recv_timeout(Duration::from_millis(100)).is_ok() {}
            return;
        }
        assert!(
            Instant::now() < deadline,
            "logenrich never followed {path:?}"
        );
    }
}

#[test]
fn follow_reads_new_lines_through_rename_and_copytruncate_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, 1000, 1005); // already there: skipped (read from the end)
    let (child, rx) = start(&["--follow", log.to_str().unwrap()]);
    handshake(&log, &rx);

    append(&log, 1, 4);
    assert_eq!(take(&rx, 3), [1, 2, 3]);

    // Rename + create: the server's last write to the old file still counts.
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    append(&rotated, 4, 5);
    append(&log, 5, 7);
    let mut got = take(&rx, 3);
    got.sort_unstable();
    assert_eq!(got, [4, 5, 6]);

    // copytruncate: the file shrinks and starts over.
    std::thread::sleep(Duration::from_millis(100));
    std::fs::write(&log, "").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    append(&log, 7, 9);
    assert_eq!(take(&rx, 2), [7, 8]);
    quiet(&rx, Duration::from_millis(300));

    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn follow_picks_up_files_matching_a_glob_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a-access.log");
    append(&a, 1, 3);
    let pattern = dir.path().join("*access.log");
    let (child, rx) = start(&["--follow", "--from-start", pattern.to_str().unwrap()]);
    let mut got = take(&rx, 2);
    // A file that appears later is read from its start.
    let b = dir.path().join("b-access.log");
    append(&b, 3, 5);
    got.extend(take(&rx, 2));
    // Not matching the pattern: not read.
    append(&dir.path().join("error.log"), 9, 10);
    quiet(&rx, Duration::from_millis(1200));
    got.sort_unstable();
    assert_eq!(got, [1, 2, 3, 4]);
    sigterm(&child);
    assert!(child.wait_with_output().unwrap().status.success());
}

/// The log, checkpoint and output files of a checkpointed run in `dir`.
pub(crate) fn checkpoint_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("access.log"),
        dir.join("ckpt.json"),
        dir.join("out.jsonl"),
    )
}

/// `logenrich -q --no-dns --no-geoip --checkpoint CKPT -o OUT LOG`, to add flags to.
pub(crate) fn checkpointed(log: &Path, ckpt: &Path, out: &Path) -> std::process::Command {
    let mut cmd = logenrich();
    cmd.args(["--no-dns", "--no-geoip", "-q", "--checkpoint"])
        .arg(ckpt)
        .arg("-o")
        .arg(out)
        .arg(log);
    cmd
}

/// Runs over `log` with a checkpoint, appending to `out`.
pub(crate) fn run_with_checkpoint(log: &Path, ckpt: &Path, out: &Path) -> std::process::Output {
    checkpointed(log, ckpt, out).output().unwrap()
}

/// The `(line, n)` of every record in `out`.
pub(crate) fn written(out: &Path) -> Vec<(u64, usize)> {
    records(&std::fs::read(out).unwrap())
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), n_of(r)))
        .collect()
}

#[test]
fn a_checkpoint_resumes_a_grown_file_and_a_rotated_one_without_gap_or_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let (log, ckpt, out) = checkpoint_files(dir.path());
    append(&log, 0, 10);
    assert!(run_with_checkpoint(&log, &ckpt, &out).status.success());
    append(&log, 10, 15);
    assert!(run_with_checkpoint(&log, &ckpt, &out).status.success());
    // Rotated since: the rest of the old file, then the new one from its start.
    append(&log, 15, 17);
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, 17, 20);
    let third = run_with_checkpoint(&log, &ckpt, &out);
    assert!(third.status.success(), "{}", stderr(&third));
    let got = written(&out);
    let ns: Vec<usize> = got.iter().map(|&(_, n)| n).collect();
    assert_eq!(ns, (0..20).collect::<Vec<_>>());
    // Line numbers go on in each file.
    let lines: Vec<u64> = got.iter().map(|&(l, _)| l).collect();
    assert_eq!(&lines[..17], (1..=17).collect::<Vec<u64>>());
    assert_eq!(&lines[17..], [1, 2, 3]);
    // Nothing new: nothing written.
    assert!(run_with_checkpoint(&log, &ckpt, &out).status.success());
    assert_eq!(written(&out).len(), 20);
}

#[test]
fn sigterm_then_restart_from_the_checkpoint_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (log, ckpt, out) = checkpoint_files(dir.path());
    let total = 400_000;
    append(&log, 0, total);
    let child = checkpointed(&log, &ckpt, &out)
        .args(["--batch-size", "512"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Stop it once some records are out, well before the end.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) < 2_000_000 {
        assert!(Instant::now() < deadline, "no output");
        std::thread::sleep(Duration::from_millis(5));
    }
    sigterm(&child);
    let first = child.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let part = written(&out).len();
    assert!(
        part < total,
        "the run ended before the signal ({part} records)"
    );
    let second = run_with_checkpoint(&log, &ckpt, &out);
    assert!(second.status.success(), "{}", stderr(&second));
    let got = written(&out);
    eprintln!(
        "{part} records before SIGTERM, {} after the restart",
        got.len() - part
    );
    let ns: Vec<usize> = got.iter().map(|&(_, n)| n).collect();
    assert!(
        ns == (0..total).collect::<Vec<_>>(),
        "gap or repeat at the restart"
    );
    let lines: Vec<u64> = got.iter().map(|&(l, _)| l).collect();
    assert!(lines == (1..=total as u64).collect::<Vec<_>>());
}

#[test]
fn checkpoint_and_follow_refuse_what_they_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("c.json");
    let cases: [&[&str]; 3] = [
        &["--checkpoint", ckpt.to_str().unwrap(), "-"],
        &["--follow"],
        &["--follow", "-"],
    ];
    for args in cases {
        let out = logenrich()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    // An output a followed pattern matches would be read back.
    let pattern = dir.path().join("*.log");
    let out = logenrich()
        .args(["--follow", pattern.to_str().unwrap(), "-o"])
        .arg(dir.path().join("enriched.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("would be read back"),
        "{}",
        stderr(&out)
    );
    // Not a checkpoint: exit 2 naming it.
    std::fs::write(&ckpt, "hello").unwrap();
    let log = dir.path().join("a.log");
    append(&log, 0, 1);
    let out = logenrich()
        .arg("--checkpoint")
        .arg(&ckpt)
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a logenrich checkpoint"));
}

#[test]
fn follow_waits_for_a_name_that_does_not_exist_yet() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("later.log");
    let (child, rx) = start(&["--follow", log.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(300));
    // It appeared after the start: read from its start.
    append(&log, 1, 4);
    assert_eq!(take(&rx, 3), [1, 2, 3]);
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    // A missing name is worth a word (a typo would wait forever in silence).
    assert!(
        stderr(&out).contains("later.log, which cannot be read yet"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_checkpointed_gzip_file_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let (log, ckpt, out) = (
        dir.path().join("access.log.2.gz"),
        dir.path().join("ckpt.json"),
        dir.path().join("out.jsonl"),
    );
    // Its lines compress well: the checkpoint's offset (in the decompressed text) lies far
    // past the compressed file's length, which for a plain file would mean truncation.
    let text: String = (0..200).map(req).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() * 4 < text.len(), "{} of {}", gz.len(), text.len());
    std::fs::write(&log, gz).unwrap();
    let first = run_with_checkpoint(&log, &ckpt, &out);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(written(&out).len(), 200);
    let second = run_with_checkpoint(&log, &ckpt, &out);
    assert!(second.status.success(), "{}", stderr(&second));
    let ns: Vec<usize> = written(&out).iter().map(|&(_, n)| n).collect();
    assert_eq!(ns, (0..200).collect::<Vec<_>>());
}

#[test]
fn a_file_with_other_first_bytes_on_the_same_inode_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let (log, ckpt, out) = checkpoint_files(dir.path());
    append(&log, 0, 10);
    let first = run_with_checkpoint(&log, &ckpt, &out);
    assert!(first.status.success(), "{}", stderr(&first));
    // Other lines on the same inode, longer than what was read (as when a deleted file's
    // inode is reused, or a copytruncate is followed by more lines than before the last
    // run): (dev, inode) alone would resume in the middle of the new text.
    let inode = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = inode(&log);
    let text: String = (100..115).map(req).collect();
    std::fs::write(&log, text).unwrap();
    assert_eq!(inode(&log), before, "rewritten in place");
    let second = run_with_checkpoint(&log, &ckpt, &out);
    assert!(second.status.success(), "{}", stderr(&second));
    let got = written(&out);
    let ns: Vec<usize> = got.iter().map(|&(_, n)| n).collect();
    let want: Vec<usize> = (0..10).chain(100..115).collect();
    assert_eq!(ns, want);
    let lines: Vec<u64> = got[10..].iter().map(|&(l, _)| l).collect();
    assert_eq!(lines, (1..=15).collect::<Vec<u64>>());
}
