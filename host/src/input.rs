//! Input: files (plain or gzip, told apart by magic bytes) and stdin, read as batches of
//! lines with bounded memory. Lines go to the component as bytes: it decodes invalid UTF-8
//! lossily and flags it, never drops it.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::Batch;

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

/// Reads an input as batches of at most `batch_size` lines. Lines keep their bytes as
/// read (the component decodes them and flags invalid UTF-8); only the `\n` goes.
pub struct Batches {
    reader: Box<dyn BufRead + Send>,
    batch_size: usize,
    next_line: u64,
    done: bool,
}

impl Batches {
    /// Batches of `reader`.
    pub fn new(reader: Box<dyn BufRead + Send>, batch_size: usize) -> Self {
        Self {
            reader,
            batch_size: batch_size.max(1),
            next_line: 1,
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
        let mut batch = Batch::new(self.next_line);
        while batch.len() < self.batch_size {
            let start = batch.data.len();
            match self.reader.read_until(b'\n', &mut batch.data) {
                Ok(0) => {
                    self.done = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    batch.data.truncate(start);
                    return Some(Err(e));
                }
            }
            if batch.data.last() == Some(&b'\n') {
                batch.data.pop();
            }
            let end = u32::try_from(batch.data.len());
            match end {
                Ok(end) => batch.ends.push(end),
                Err(_) => {
                    self.done = true;
                    return Some(Err(io::Error::other("a batch of more than 4 GiB")));
                }
            }
        }
        self.next_line += batch.len() as u64;
        if batch.is_empty() {
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
        Batches::new(Box::new(Cursor::new(data.to_vec())), size)
            .collect::<io::Result<Vec<_>>>()
            .unwrap()
    }

    #[test]
    fn splits_and_numbers_lines() {
        let b = batches(b"a\nb\r\n\nc", 2);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].first_line, b[0].line(0), b[0].line(1)),
            (1, &b"a"[..], &b"b\r"[..])
        );
        assert_eq!(
            (b[1].first_line, b[1].line(0), b[1].line(1)),
            (3, &b""[..], &b"c"[..])
        );
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes() {
        let b = batches(b"ok\nbad \xff\xfe here\n", 10);
        assert_eq!(b[0].line(1), b"bad \xff\xfe here");
        assert_eq!(b[0].len(), 2);
    }

    #[test]
    fn gzip_is_detected_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"one\ntwo\n").unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let reader = Input::File(path).open().unwrap();
        let b: Vec<Batch> = Batches::new(reader, 10).map(Result::unwrap).collect();
        assert_eq!((b[0].line(0), b[0].line(1)), (&b"one"[..], &b"two"[..]));
    }

    #[test]
    fn empty_input_has_no_batches() {
        assert!(batches(b"", 4).is_empty());
    }
}
