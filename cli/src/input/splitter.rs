//! Cuts one input's bytes into batches of lines, and says where each batch ends in the
//! input (its byte offset and last line number), which is what a checkpoint records.

use logenrich::Batch;

use crate::checkpoint::Position;

/// How many bytes of an over-long line its error record keeps.
pub const OVERSIZED_PREFIX: usize = 1024;

/// The longest line kept whole, whatever the flags say: one that fits in a batch alone.
const MAX_LINE: usize = Batch::MAX_BYTES;

/// Cuts lines into batches: a batch is full at `batch_size` lines or `batch_bytes` bytes,
/// whichever comes first (a line longer than `batch_bytes` is a batch alone); [`Splitter::cut`] ends
/// a partial one (the linger timer, the end of an input). A line is only complete at its
/// `\n` or at the end of its input; its bytes are kept as read, without the `\n`.
#[derive(Debug)]
pub struct Splitter {
    batch_size: usize,
    batch_bytes: usize,
    max_line: usize,
    source: Option<String>,
    next_line: u64,
    batch: Batch,
    /// Input offset just past the last complete line.
    offset: u64,
    /// Where the batch being filled ends so far.
    batch_end: Position,
    /// Bytes of the line being read (no `\n` yet), counted even when not kept.
    partial_len: u64,
    /// The bytes of the line being read, when it has no `\n` yet (at most `max_line`).
    partial: Vec<u8>,
    /// The length of the line being read, when it is longer than `max_line` (its bytes
    /// past the prefix are dropped as they arrive: memory stays bounded).
    overlong: Option<u64>,
}

impl Splitter {
    /// A splitter for one input, named `source` in its records when set; a line longer
    /// than `max_line` bytes becomes a batch of its own, marked `oversized`.
    #[cfg(test)]
    pub fn new(batch_size: usize, max_line: usize, source: Option<String>) -> Self {
        Self::resuming(
            batch_size,
            usize::MAX,
            max_line,
            source,
            Position::default(),
        )
    }

    /// A splitter for an input read from `start` on (a checkpoint's position): offsets
    /// count from the input's beginning, and lines are numbered from `start.line + 1`.
    pub fn resuming(
        batch_size: usize,
        batch_bytes: usize,
        max_line: usize,
        source: Option<String>,
        start: Position,
    ) -> Self {
        let mut batch = Batch::new(start.line + 1);
        batch.source.clone_from(&source);
        Self {
            batch_size: batch_size.max(1),
            batch_bytes: batch_bytes.max(1),
            max_line: max_line.clamp(1, MAX_LINE),
            source,
            next_line: start.line + 1,
            batch,
            offset: start.offset,
            batch_end: start,
            partial_len: 0,
            partial: Vec::new(),
            overlong: None,
        }
    }

    /// Ends an over-long line: the batch before it, then the line alone, marked.
    fn push_overlong(&mut self, len: u64, out: &mut impl FnMut(Batch, Position)) {
        self.cut(out);
        let mut prefix = std::mem::take(&mut self.partial);
        prefix.truncate(OVERSIZED_PREFIX);
        let mut alone = Batch::new(self.next_line);
        alone.source.clone_from(&self.source);
        // The prefix is at most OVERSIZED_PREFIX bytes: it fits in an empty batch.
        let _ = alone.push_line(&prefix);
        alone.oversized = Some(len);
        self.batch_end = Position {
            offset: self.offset,
            line: self.next_line,
        };
        out(alone, self.batch_end);
        self.next_line += 1;
        self.batch.first_line = self.next_line;
    }

    /// Adds `bytes` (no `\n` in them) to the line being read, within the limit.
    fn extend_partial(&mut self, bytes: &[u8]) {
        if let Some(len) = &mut self.overlong {
            *len += bytes.len() as u64;
            return;
        }
        if self.partial.len() + bytes.len() > self.max_line {
            self.overlong = Some((self.partial.len() + bytes.len()) as u64);
            let room = OVERSIZED_PREFIX.saturating_sub(self.partial.len());
            self.partial
                .extend_from_slice(&bytes[..room.min(bytes.len())]);
            self.partial.truncate(OVERSIZED_PREFIX);
            self.partial.shrink_to(OVERSIZED_PREFIX);
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// Adds a complete line; `self.offset` is already past it. A batch whose data would
    /// pass `batch_bytes` (or [`Batch::MAX_BYTES`]) is cut before the line (`max_line` is
    /// below the latter, so the line fits in the next).
    fn push_line(&mut self, line: &[u8], out: &mut impl FnMut(Batch, Position)) {
        let over = self.batch.data.len().saturating_add(line.len()) > self.batch_bytes;
        if over || !self.batch.fits(line.len()) {
            self.cut(out);
        }
        if self.batch.is_empty() {
            self.batch.first_line = self.next_line;
        }
        let pushed = self.batch.push_line(line);
        debug_assert!(
            pushed.is_ok(),
            "a line of at most max_line bytes fits a cut batch"
        );
        self.batch_end = Position {
            offset: self.offset,
            line: self.next_line,
        };
        self.next_line += 1;
        if self.batch.len() >= self.batch_size {
            self.emit(out);
        }
    }

    fn emit(&mut self, out: &mut impl FnMut(Batch, Position)) {
        let mut next = Batch::new(self.next_line);
        next.source.clone_from(&self.source);
        out(std::mem::replace(&mut self.batch, next), self.batch_end);
    }

    /// Takes bytes as read; hands each full batch to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl FnMut(Batch, Position)) {
        while let Some(nl) = memchr::memchr(b'\n', bytes) {
            self.offset += self.partial_len + nl as u64 + 1;
            self.partial_len = 0;
            if self.partial.is_empty() && self.overlong.is_none() && nl <= self.max_line {
                self.push_line(&bytes[..nl], out);
            } else {
                self.extend_partial(&bytes[..nl]);
                self.end_partial(out);
            }
            bytes = &bytes[nl + 1..];
        }
        self.partial_len += bytes.len() as u64;
        self.extend_partial(bytes);
    }

    /// The line being read is complete (`self.offset` is past it).
    fn end_partial(&mut self, out: &mut impl FnMut(Batch, Position)) {
        match self.overlong.take() {
            Some(len) => self.push_overlong(len, out),
            None => {
                let line = std::mem::take(&mut self.partial);
                self.push_line(&line, out);
            }
        }
    }

    /// Hands the complete lines gathered so far to `out` as a (partial) batch, if any.
    /// A line without its `\n` yet stays: more of it may come.
    pub fn cut(&mut self, out: &mut impl FnMut(Batch, Position)) {
        if !self.batch.is_empty() {
            self.emit(out);
        }
    }

    /// The input ended (or failed): a last line without `\n` is a line too; then cut.
    pub fn finish(&mut self, out: &mut impl FnMut(Batch, Position)) {
        if self.partial_len > 0 {
            self.offset += std::mem::take(&mut self.partial_len);
            self.end_partial(out);
        }
        self.cut(out);
    }

    /// Whether complete lines wait for a cut.
    pub fn has_pending(&self) -> bool {
        !self.batch.is_empty()
    }

    /// Lines handed out or waiting, i.e. the number of the next line minus one.
    #[cfg(test)]
    pub fn lines(&self) -> u64 {
        self.next_line - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], size: usize) -> Vec<(Batch, Position)> {
        let mut out = Vec::new();
        let mut s = Splitter::new(size, 1 << 16, None);
        for c in chunks {
            s.push(c, &mut |b, p| out.push((b, p)));
        }
        s.finish(&mut |b, p| out.push((b, p)));
        out
    }

    fn lines(b: &Batch) -> Vec<&[u8]> {
        (0..b.len()).map(|i| b.line(i)).collect()
    }

    #[test]
    fn splits_and_numbers_lines() {
        let b = split(&[b"a\nb\r\n\nc"], 2);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].0.first_line, lines(&b[0].0)),
            (1, vec![&b"a"[..], b"b\r"])
        );
        assert_eq!(b[0].1, Position { offset: 5, line: 2 });
        assert_eq!(
            (b[1].0.first_line, lines(&b[1].0)),
            (3, vec![&b""[..], b"c"])
        );
        // The last line has no `\n`: the batch ends at the end of the input.
        assert_eq!(b[1].1, Position { offset: 7, line: 4 });
    }

    #[test]
    fn lines_across_chunks_are_joined() {
        let b = split(&[b"ab", b"c\nde", b"", b"f\ng"], 10);
        assert_eq!(lines(&b[0].0), [&b"abc"[..], b"def", b"g"]);
        assert_eq!(b[0].1, Position { offset: 9, line: 3 });
    }

    #[test]
    fn cut_sends_complete_lines_and_numbering_goes_on() {
        let mut out = Vec::new();
        let mut s = Splitter::new(10, 1 << 16, Some("x.log".into()));
        s.push(b"one\ntwo\nthr", &mut |b, p| out.push((b, p)));
        assert!(out.is_empty());
        s.cut(&mut |b, p| out.push((b, p)));
        s.cut(&mut |b, p| out.push((b, p))); // nothing new: no empty batch
        s.push(b"ee\n", &mut |b, p| out.push((b, p)));
        s.finish(&mut |b, p| out.push((b, p)));
        assert_eq!(out.len(), 2);
        assert_eq!(lines(&out[0].0), [&b"one"[..], b"two"]);
        // The partial `thr` is not part of the cut batch, nor of its position.
        assert_eq!(out[0].1, Position { offset: 8, line: 2 });
        assert_eq!(
            (out[1].0.first_line, lines(&out[1].0)),
            (3, vec![&b"three"[..]])
        );
        assert_eq!(
            out[1].1,
            Position {
                offset: 14,
                line: 3
            }
        );
        assert_eq!(out[1].0.source.as_deref(), Some("x.log"));
        assert_eq!(s.lines(), 3);
    }

    #[test]
    fn resuming_continues_offsets_and_line_numbers() {
        let mut out = Vec::new();
        let start = Position {
            offset: 100,
            line: 7,
        };
        let mut s = Splitter::resuming(10, usize::MAX, 1 << 16, None, start);
        s.push(b"x\nyy\n", &mut |b, p| out.push((b, p)));
        s.finish(&mut |b, p| out.push((b, p)));
        assert_eq!(out[0].0.first_line, 8);
        assert_eq!(
            out[0].1,
            Position {
                offset: 105,
                line: 9
            }
        );
    }

    #[test]
    fn an_overlong_line_is_a_batch_of_its_own_with_a_prefix() {
        let mut out = Vec::new();
        let mut s = Splitter::new(10, 4096, None);
        s.push(b"a\nb\n", &mut |b, p| out.push((b, p)));
        let big = vec![b'x'; 100_000];
        for chunk in big.chunks(7000) {
            s.push(chunk, &mut |b, p| out.push((b, p)));
        }
        s.push(b"\nc\n", &mut |b, p| out.push((b, p)));
        s.finish(&mut |b, p| out.push((b, p)));
        assert_eq!(out.len(), 3);
        assert_eq!(lines(&out[0].0), [&b"a"[..], b"b"]);
        // The batch before the long line ends before it.
        assert_eq!(out[0].1, Position { offset: 4, line: 2 });
        assert_eq!(out[1].0.oversized, Some(100_000));
        assert_eq!((out[1].0.first_line, out[1].0.len()), (3, 1));
        assert_eq!(out[1].0.data.len(), OVERSIZED_PREFIX);
        assert_eq!(
            out[1].1,
            Position {
                offset: 100_005,
                line: 3
            }
        );
        assert_eq!(
            (out[2].0.first_line, lines(&out[2].0)),
            (4, vec![&b"c"[..]])
        );
        assert_eq!(
            out[2].1,
            Position {
                offset: 100_007,
                line: 4
            }
        );
        // A line of exactly the limit is an ordinary line.
        let mut out = Vec::new();
        let mut s = Splitter::new(10, 8, None);
        s.push(b"12345678\n123456789", &mut |b, _| out.push(b));
        s.finish(&mut |b, _| out.push(b));
        assert_eq!(lines(&out[0]), [&b"12345678"[..]]);
        assert_eq!(out[1].oversized, Some(9));
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes() {
        let b = split(&[b"ok\nbad \xff\xfe here\n"], 10);
        assert_eq!(b[0].0.line(1), b"bad \xff\xfe here");
        assert_eq!(b[0].0.len(), 2);
    }

    #[test]
    fn batches_are_cut_by_bytes_before_lines() {
        let mut out = Vec::new();
        let mut s = Splitter::resuming(100, 10, 1 << 16, None, Position::default());
        s.push(b"aaaa\nbbbb\nccc\nddddddddddddddd\ne\n", &mut |b, p| {
            out.push((b, p))
        });
        s.finish(&mut |b, p| out.push((b, p)));
        let got: Vec<Vec<&[u8]>> = out.iter().map(|(b, _)| lines(b)).collect();
        // 4 + 4 fit in 10 bytes, 4 + 4 + 3 would not; a line longer than the limit
        // is a batch alone, and numbering and offsets go on.
        assert_eq!(
            got,
            [
                vec![&b"aaaa"[..], b"bbbb"],
                vec![&b"ccc"[..]],
                vec![&b"ddddddddddddddd"[..]],
                vec![&b"e"[..]],
            ]
        );
        assert!(out.iter().all(|(b, _)| b.data.len() <= 10 || b.len() == 1));
        assert_eq!(out[2].0.first_line, 4);
        assert_eq!(
            out[3].1,
            Position {
                offset: 32,
                line: 5
            }
        );
    }

    #[test]
    fn empty_input_has_no_batches() {
        assert!(split(&[b""], 4).is_empty());
    }
}
