//! The plain data of the embedding API: batches in, processed batches out, and import
//! call counts (settings and lookup outcomes are `logenrich-types`'). No wasmtime or
//! generated type appears here.

use std::net::IpAddr;

pub use logenrich_types::Part;

/// A line that does not fit in a [`Batch`]: its data would pass [`Batch::MAX_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a batch holds at most {} bytes; this line of {line} bytes would make it {total}",
    Batch::MAX_BYTES
)]
pub struct BatchFull {
    /// The line's length.
    pub line: usize,
    /// What the batch's data would have become.
    pub total: usize,
}

/// A run of consecutive lines of one input, as one buffer plus line ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    /// The 1-based number of the first line in its input.
    pub first_line: u64,
    /// The input's name, written as `file` in every record when set.
    pub source: Option<String>,
    /// The lines back to back, without newlines (any bytes; invalid UTF-8 is flagged).
    pub data: Vec<u8>,
    /// The end offset of each line in `data`.
    pub ends: Vec<u32>,
    /// When the lines come from several inputs (a queue's messages): the run of lines of
    /// each, numbered and named by its own [`Part`]; lines past the parts' total are
    /// numbered from `first_line` and named `source`. Empty for one input.
    pub parts: Vec<Part>,
    /// Set when this batch is one line that was longer than the reader's limit: its
    /// length in bytes (`data` holds only its first bytes). It is not given to the
    /// component; its record is an error that says so.
    pub oversized: Option<u64>,
}

impl Batch {
    /// An empty batch whose first line will be number `first_line`.
    pub fn new(first_line: u64) -> Self {
        Self {
            first_line,
            ..Self::default()
        }
    }

    /// The most bytes of line data a batch holds: its line ends are `u32` offsets.
    pub const MAX_BYTES: usize = u32::MAX as usize;

    /// A batch of `lines` (without their newlines), or [`BatchFull`] when together they
    /// pass [`Batch::MAX_BYTES`].
    pub fn from_lines<L: AsRef<[u8]>>(
        first_line: u64,
        lines: impl IntoIterator<Item = L>,
    ) -> Result<Self, BatchFull> {
        let mut batch = Self::new(first_line);
        for line in lines {
            batch.push_line(line.as_ref())?;
        }
        Ok(batch)
    }

    /// Whether a line of `len` bytes still fits.
    pub fn fits(&self, len: usize) -> bool {
        self.data
            .len()
            .checked_add(len)
            .is_some_and(|total| total <= Self::MAX_BYTES)
    }

    /// Appends a line (without its newline); a line that does not [fit](Batch::fits) is
    /// refused and the batch left as it was.
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), BatchFull> {
        let total = self.data.len().saturating_add(line.len());
        let end = u32::try_from(total).map_err(|_| BatchFull {
            line: line.len(),
            total,
        })?;
        self.data.extend_from_slice(line);
        self.ends.push(end);
        Ok(())
    }

    /// Appends the lines of `other`, an input of its own, as a [`Part`] (or its parts),
    /// so that one component call enriches several inputs while each record keeps its
    /// input's numbering and name. An empty `self` simply becomes `other`.
    pub fn push_part(&mut self, mut other: Batch) -> Result<(), BatchFull> {
        if self.is_empty() && self.parts.is_empty() {
            *self = other;
            return Ok(());
        }
        if other.is_empty() {
            return Ok(());
        }
        if !self.fits(other.data.len()) {
            return Err(BatchFull {
                line: other.data.len(),
                total: self.data.len().saturating_add(other.data.len()),
            });
        }
        self.close_parts();
        other.close_parts();
        let base = u32::try_from(self.data.len()).unwrap_or(u32::MAX);
        self.data.extend_from_slice(&other.data);
        self.ends.extend(other.ends.iter().map(|&e| e + base));
        self.parts.append(&mut other.parts);
        Ok(())
    }

    /// Makes the lines past the parts' total (the batch's own) a part of their own.
    fn close_parts(&mut self) {
        let covered: u64 = self.parts.iter().map(|p| u64::from(p.lines)).sum();
        let rest = self.len() as u64 - covered.min(self.len() as u64);
        if rest > 0 || self.parts.is_empty() {
            self.parts.push(Part {
                lines: u32::try_from(rest).unwrap_or(u32::MAX),
                first_line: self.first_line,
                source: self.source.clone(),
            });
        }
    }

    /// The line number and input name of each line, in order (see [`Batch::parts`]).
    pub fn labels(&self) -> logenrich_types::Labels<'_> {
        logenrich_types::labels(&self.parts, self.first_line, self.source.as_deref())
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No lines.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of line `i` (0-based within the batch).
    pub fn line(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = (self.ends[i] as usize).clamp(start, self.data.len());
        &self.data[start.min(end)..end]
    }
}

/// What a batch held, from the component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Lines that parsed.
    pub parsed: u64,
    /// Lines that did not parse (or, after a trap, every line).
    pub errors: u64,
    /// Lines that were not valid UTF-8.
    pub invalid_utf8: u64,
    /// The distinct clients of the batch, each enriched once.
    pub clients: Vec<IpAddr>,
}

/// A processed batch.
#[derive(Debug, Clone, Default)]
pub struct Processed {
    /// The batch as it was given (for a caller that tracks positions).
    pub batch: Batch,
    /// One JSON record per line, each ending in `\n`: the canonical encoding.
    pub jsonl: Vec<u8>,
    /// Counts and clients.
    pub stats: BatchStats,
    /// Why the component failed this batch, when it did: `jsonl` then holds one failure
    /// record per line and the instance was discarded.
    pub failure: Option<String>,
}

/// Import call counts so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// `dns.reverse` calls.
    pub dns_calls: u64,
    /// Addresses passed to `dns.reverse`.
    pub dns_addresses: u64,
    /// `dnsbl.lookup` calls.
    pub dnsbl_calls: u64,
    /// Addresses passed to `dnsbl.lookup`.
    pub dnsbl_addresses: u64,
    /// `geoip.lookup` calls.
    pub geoip_calls: u64,
    /// Addresses passed to `geoip.lookup`.
    pub geoip_addresses: u64,
    /// `dnsbl.lookup` calls refused: the zone was not configured.
    pub refused_zones: u64,
    /// `cymru.origin` and `cymru.as-name` calls.
    pub cymru_calls: u64,
    /// Addresses and AS numbers passed to them.
    pub cymru_keys: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(first_line: u64, source: &str, lines: &[&str]) -> Batch {
        let mut b = Batch::from_lines(first_line, lines).unwrap();
        b.source = Some(source.to_owned());
        b
    }

    #[test]
    fn pushed_parts_keep_each_input_numbering_and_name() {
        let mut batch = Batch::new(1);
        batch.push_part(input(1, "m1", &["a", "b"])).unwrap();
        assert!(batch.parts.is_empty(), "one input stays a plain batch");
        batch.push_part(input(1, "empty", &[])).unwrap();
        batch.push_part(input(5, "m2", &["c"])).unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.line(2), b"c");
        let labels: Vec<_> = batch.labels().take(3).collect();
        assert_eq!(labels, [(1, Some("m1")), (2, Some("m1")), (5, Some("m2"))]);
        // A batch of parts pushed onto another keeps its parts.
        let mut outer = input(3, "m0", &["z"]);
        outer.push_part(batch).unwrap();
        let labels: Vec<_> = outer.labels().take(4).collect();
        assert_eq!(
            labels,
            [
                (3, Some("m0")),
                (1, Some("m1")),
                (2, Some("m1")),
                (5, Some("m2"))
            ]
        );
    }
}
