//! Hostile volume and crashes: lines a visitor makes as long and as costly to escape as
//! the limits allow, batches cut by bytes, and `--checkpoint -o` after SIGKILLs.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::follow::{append, checkpoint_files, checkpointed, run_with_checkpoint, written};
use crate::util::{line, logenrich, records, run, stderr};

/// A User-Agent of `bytes` bytes of nginx `\xHH` escapes, or of raw control bytes.
fn hostile_ua(bytes: usize, raw: bool) -> String {
    if raw {
        (0..bytes)
            .map(|i| char::from(1 + (i % 31) as u8))
            .map(|c| if c == '\n' { '\t' } else { c })
            .collect()
    } else {
        (0..bytes / 4)
            .map(|i| format!("\\x{:02X}", (i * 7) % 256))
            .collect()
    }
}

#[test]
fn lines_of_60_kb_escapes_are_enriched_not_failed() {
    let mut input = Vec::new();
    let lines = 600;
    for i in 0..lines {
        let ua = hostile_ua(60_000, i % 2 == 1);
        writeln!(input, "{}", line(&format!("192.0.2.{}", i % 250 + 1), &ua)).unwrap();
    }
    let out = run(
        logenrich().args(["--no-dns", "--no-geoip", "-q", "-"]),
        &input,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), lines);
    for (i, r) in recs.iter().enumerate() {
        assert!(r.get("error").is_none(), "line {}: {}", i + 1, r["error"]);
        assert_eq!(r["line"], i as u64 + 1);
        assert!(r["user_agent"].as_str().unwrap().len() >= 60_000 / 4);
    }
}

#[test]
fn a_batch_of_its_byte_limit_of_worst_case_lines_fits_the_memory_it_was_sized_for() {
    // 1 MiB batches in 32 MiB instances (the smallest memory that allows them): control
    // bytes escape to six bytes each, and a line that does not parse is written whole
    // in `raw`.
    let mut input = Vec::new();
    for i in 0..64 {
        let ua = hostile_ua(60_000, true);
        match i % 2 {
            0 => writeln!(input, "{}", line("192.0.2.1", &ua)).unwrap(),
            _ => writeln!(input, "{ua}").unwrap(),
        }
    }
    let out = run(
        logenrich().args([
            "--no-dns",
            "--no-geoip",
            "-q",
            "--max-memory",
            "32",
            "--batch-bytes",
            "1048576",
            "--instances",
            "1",
            "-",
        ]),
        &input,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let recs = records(&out.stdout);
    assert_eq!(recs.len(), 64);
    let failed = recs.iter().filter(|r| r.get("failure").is_some()).count();
    assert_eq!(failed, 0, "{}", stderr(&out));
    // An error record quotes a bounded excerpt, not the whole 60 KB token again.
    let reason = recs[1]["error"]["reason"].as_str().unwrap();
    assert!(reason.len() < 1000 && reason.contains("bytes)"), "{reason}");
}

#[test]
fn batch_bytes_or_lines_that_cannot_fit_an_instance_are_usage_errors() {
    for args in [
        &["--max-memory", "32", "--batch-bytes", "4194304"][..],
        &["--max-memory", "32", "--max-line-bytes", "2097152"][..],
    ] {
        let out = run(
            logenrich()
                .args(["--no-dns", "--no-geoip"])
                .args(args)
                .arg("-"),
            b"",
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("raise max_memory to 128 MiB")
                || stderr(&out).contains("raise max_memory to 64 MiB"),
            "{}",
            stderr(&out)
        );
    }
}

fn sigkill(child: &mut std::process::Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn sigkills_during_a_checkpointed_run_then_a_restart_write_each_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let (log, ckpt, out) = checkpoint_files(dir.path());
    let total = 300_000;
    append(&log, 0, total);
    let mut kills = 0;
    // The first kill comes as soon as any record is out: before the run's first save.
    for target in [1u64, 4_000_000, 9_000_000] {
        let mut child = checkpointed(&log, &ckpt, &out)
            .args(["--batch-size", "512"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) < target {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            sigkill(&mut child);
            kills += 1;
        }
    }
    assert!(kills >= 2, "the runs ended before their SIGKILL");
    let last = run_with_checkpoint(&log, &ckpt, &out);
    assert!(last.status.success(), "{}", stderr(&last));
    // Every line valid JSON (`written` parses each), each record once, in order.
    let ns: Vec<usize> = written(&out).iter().map(|&(_, n)| n).collect();
    assert!(
        ns == (0..total).collect::<Vec<_>>(),
        "{} records for {total} lines after {kills} SIGKILLs",
        ns.len()
    );
}

#[test]
fn a_torn_record_past_the_checkpoint_is_dropped_and_a_shortened_output_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (log, ckpt, out) = checkpoint_files(dir.path());
    append(&log, 0, 10);
    assert!(run_with_checkpoint(&log, &ckpt, &out).status.success());
    // What a crash leaves: half a record after the last save.
    let mut f = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
    f.write_all(br#"{"line":11,"time":"20"#).unwrap();
    drop(f);
    append(&log, 10, 15);
    let second = run_with_checkpoint(&log, &ckpt, &out);
    assert!(second.status.success(), "{}", stderr(&second));
    let got: Vec<usize> = written(&out).iter().map(|&(_, n)| n).collect();
    assert_eq!(got, (0..15).collect::<Vec<_>>());
    // An output shorter than the checkpoint says was changed by someone else: refused,
    // and left as it is.
    let len = std::fs::metadata(&out).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&out)
        .unwrap()
        .set_len(len - 10)
        .unwrap();
    let third = run_with_checkpoint(&log, &ckpt, &out);
    assert_eq!(third.status.code(), Some(2), "{}", stderr(&third));
    assert!(
        stderr(&third).contains("shorter than"),
        "{}",
        stderr(&third)
    );
    assert_eq!(std::fs::metadata(&out).unwrap().len(), len - 10);
}
