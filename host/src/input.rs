//! Input: files (plain or gzip, told apart by magic bytes) and stdin, read as batches of
//! lines with bounded memory. Invalid UTF-8 is decoded lossily and flagged, never dropped.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

/// One input: a file, or stdin for `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Input {
    /// `-` is stdin, anything else a file.
    pub fn from_arg(arg: &Path) -> Self {
        if arg == Path::new("-") {
            Input::Stdin
        } else {
            Input::File(arg.to_path_buf())
        }
    }

    /// The name used in output records and messages.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "-".into(),
            Input::File(p) => p.display().to_string(),
        }
    }

    /// Opens the input, decompressing gzip when the first bytes say so.
    pub fn open(&self) -> io::Result<Box<dyn BufRead + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            Input::Stdin => Box::new(io::stdin()),
            Input::File(p) => Box::new(File::open(p)?),
        };
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let head = buffered.fill_buf()?;
        if head.starts_with(&[0x1f, 0x8b]) {
            Ok(Box::new(BufReader::with_capacity(
                256 * 1024,
                MultiGzDecoder::new(buffered),
            )))
        } else {
            Ok(Box::new(buffered))
        }
    }
}

/// A run of consecutive lines of one input.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Which input (index into the run's inputs).
    pub input: usize,
    /// The 1-based number of the first line.
    pub first_line: u64,
    /// The lines, without terminators.
    pub lines: Vec<String>,
    /// Indices (in `lines`) of lines that were not valid UTF-8.
    pub lossy: Vec<usize>,
}

/// Reads an input as batches of at most `batch_size` lines.
pub struct Batches {
    reader: Box<dyn BufRead + Send>,
    input: usize,
    batch_size: usize,
    next_line: u64,
    buf: Vec<u8>,
    done: bool,
}

impl Batches {
    /// Batches of `reader`, which is input number `input`.
    pub fn new(reader: Box<dyn BufRead + Send>, input: usize, batch_size: usize) -> Self {
        Self {
            reader,
            input,
            batch_size: batch_size.max(1),
            next_line: 1,
            buf: Vec::with_capacity(1024),
            done: false,
        }
    }
}

impl Iterator for Batches {
    type Item = io::Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut batch = Batch {
            input: self.input,
            first_line: self.next_line,
            lines: Vec::with_capacity(self.batch_size),
            lossy: Vec::new(),
        };
        while batch.lines.len() < self.batch_size {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
            }
            let line = match std::str::from_utf8(&self.buf) {
                Ok(s) => s.to_owned(),
                Err(_) => {
                    batch.lossy.push(batch.lines.len());
                    String::from_utf8_lossy(&self.buf).into_owned()
                }
            };
            batch.lines.push(line);
        }
        self.next_line += batch.lines.len() as u64;
        if batch.lines.is_empty() {
            None
        } else {
            Some(Ok(batch))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    fn batches(data: &[u8], size: usize) -> Vec<Batch> {
        Batches::new(Box::new(Cursor::new(data.to_vec())), 0, size)
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    }

    #[test]
    fn splits_and_numbers_lines() {
        let b = batches(b"a\nb\r\n\nc", 2);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].first_line, b[0].lines.clone()),
            (1, vec!["a".into(), "b\r".into()])
        );
        assert_eq!(
            (b[1].first_line, b[1].lines.clone()),
            (3, vec![String::new(), "c".into()])
        );
    }

    #[test]
    fn invalid_utf8_is_kept_and_flagged() {
        let b = batches(b"ok\nbad \xff\xfe here\n", 10);
        assert_eq!(b[0].lines[1], "bad \u{fffd}\u{fffd} here");
        assert_eq!(b[0].lossy, [1]);
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"one\ntwo\n").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let reader = Input::File(path).open().unwrap();
        let b: Vec<Batch> = Batches::new(reader, 0, 10).map(Result::unwrap).collect();
        assert_eq!(b[0].lines, ["one", "two"]);
    }

    #[test]
    fn empty_input_has_no_batches() {
        assert!(batches(b"", 4).is_empty());
    }
}
