//! Batches that carry the lines of several inputs (the WIT `part`, contract 0.3.1): a
//! queue's small messages share one component call, and each record still names its own
//! input and its line's place in it. [`labels`] is the one numbering rule, used by the
//! component's encoding and by the host's failure records alike.

/// A run of consecutive lines of a batch that come from one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Part {
    /// How many of the batch's lines, counted from where the previous part ended.
    pub lines: u32,
    /// The 1-based number of the part's first line in its input.
    pub first_line: u64,
    /// The input's name, written as the `file` of the part's records when set.
    pub source: Option<String>,
}

/// The line number and input name of each line of a batch, in order: those of `parts`,
/// then, past the parts' total, numbers from `first_line` named `source` (the batch's
/// own). Without parts, line `i` is `first_line + i` (wrapping, never a panic).
pub fn labels<'a>(parts: &'a [Part], first_line: u64, source: Option<&'a str>) -> Labels<'a> {
    Labels {
        parts: parts.iter(),
        left: 0,
        line: 0,
        source: None,
        rest: (first_line, source),
    }
}

/// The iterator of [`labels`]; it never ends.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    parts: std::slice::Iter<'a, Part>,
    left: u64,
    line: u64,
    source: Option<&'a str>,
    rest: (u64, Option<&'a str>),
}

impl<'a> Iterator for Labels<'a> {
    type Item = (u64, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.left == 0 {
            (self.left, self.line, self.source) = match self.parts.next() {
                Some(p) => (u64::from(p.lines), p.first_line, p.source.as_deref()),
                None => (u64::MAX, self.rest.0, self.rest.1),
            };
        }
        self.left -= 1;
        let line = self.line;
        self.line = self.line.wrapping_add(1);
        Some((line, self.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(lines: u32, first_line: u64, source: &str) -> Part {
        Part {
            lines,
            first_line,
            source: Some(source.to_owned()),
        }
    }

    #[test]
    fn without_parts_lines_count_from_the_batch_first_line() {
        let got: Vec<_> = labels(&[], 7, Some("a.log")).take(3).collect();
        assert_eq!(
            got,
            [(7, Some("a.log")), (8, Some("a.log")), (9, Some("a.log"))]
        );
    }

    #[test]
    fn each_part_numbers_its_own_lines_and_empty_parts_take_none() {
        let parts = [part(2, 1, "m1"), part(0, 1, "empty"), part(1, 40, "m3")];
        let got: Vec<_> = labels(&parts, 100, None).take(5).collect();
        assert_eq!(
            got,
            [
                (1, Some("m1")),
                (2, Some("m1")),
                (40, Some("m3")),
                (100, None),
                (101, None)
            ]
        );
    }

    #[test]
    fn a_first_line_near_the_end_of_u64_wraps() {
        let got: Vec<_> = labels(&[], u64::MAX, None).take(2).collect();
        assert_eq!(got, [(u64::MAX, None), (0, None)]);
    }
}
