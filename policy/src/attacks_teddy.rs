//! A vector filter for the literal gate, after the "Teddy" algorithm of Intel's Hyperscan
//! (as the `aho-corasick` crate describes it in `packed/teddy/README.md`): the gate's
//! literals are spread over eight buckets; for each of the first [`K`] bytes of a literal,
//! two 16-byte tables say which buckets hold a literal whose byte there has a given low,
//! and a given high, nibble. Sixteen text positions are then tested at once with byte
//! shuffles; a position whose bucket bits survive all [`K`] bytes is a candidate, checked
//! against tables of the literals.
//!
//! Why here, by hand: in the component (wasm32) the `aho-corasick` crate has no vector
//! search, and its DFA walks a field a byte at a time, at about 4.5 ns a byte (two
//! dependent loads per byte, plus the deadline's epoch check on each loop turn). The
//! gate's DFA pass was a third of what attack tags cost on the bench corpus. The search
//! is written once over [`Lanes`]: wasm `simd128` in the component, and plain arrays that
//! the tests run natively (native builds keep the DFA, which is fast there).
#![cfg_attr(
    not(any(test, all(target_arch = "wasm32", target_feature = "simd128"))),
    expect(dead_code, reason = "native builds search with the DFA")
)]

pub(crate) use crate::attacks_teddy_lanes::Lanes;
#[cfg(test)]
pub(crate) use crate::attacks_teddy_lanes::Portable;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) use crate::attacks_teddy_lanes::simd128;

/// How many leading bytes of a literal the filter tests. The gate's literals are at
/// most four bytes long ([`crate::attacks_literals`]), so four tests them whole; three
/// let through half again as many candidates on the bench corpus.
pub(crate) const K: usize = 4;

/// Buckets: one bit each in a lane.
const BUCKETS: usize = 8;

/// At most this many literals: beyond, the buckets let most positions through and the
/// DFA is used.
const MAX_LITERALS: usize = 128;

/// At most this many one-byte literals, each compared on its own (in a bucket, a one-byte
/// literal would let any byte through at positions 1 to 3).
const MAX_SINGLES: usize = 4;

/// The literals of one length (2 to 4 bytes), by their bytes (lower case) as a
/// little-endian word: an open-addressing table, so that a candidate position costs one
/// probe per length rather than a comparison per literal of its buckets (ten on the
/// bench corpus).
#[derive(Debug, Clone, Default)]
struct Exact {
    /// `(word, literal)`; `u16::MAX` marks an empty slot.
    slots: Vec<(u32, u16)>,
    /// `32 - log2(slots.len())`.
    shift: u32,
}

impl Exact {
    /// The table of `(word, literal)` pairs, at most half full.
    fn new(words: &[(u32, u16)]) -> Self {
        if words.is_empty() {
            return Self::default();
        }
        let size = (words.len() * 2).next_power_of_two().max(4);
        let mut table = Self {
            slots: vec![(0, u16::MAX); size],
            shift: 32 - size.trailing_zeros(),
        };
        for &(word, literal) in words {
            let mut at = table.slot(word);
            while table.slots[at].1 != u16::MAX {
                at = (at + 1) & (size - 1);
            }
            table.slots[at] = (word, literal);
        }
        table
    }

    fn slot(&self, word: u32) -> usize {
        (word.wrapping_mul(0x9e37_79b1) >> self.shift) as usize
    }

    /// The literal whose word is `word`.
    fn get(&self, word: u32) -> Option<u16> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.slot(word);
        loop {
            let (w, literal) = self.slots[at];
            if literal == u16::MAX {
                return None;
            }
            if w == word {
                return Some(literal);
            }
            at = (at + 1) & mask;
        }
    }
}

/// The filter of one gate's literals.
#[derive(Debug, Clone)]
pub(crate) struct Teddy {
    /// `low[k][n]`: the buckets with a literal whose byte `k` (either case) has low
    /// nibble `n`; a literal shorter than `k + 1` bytes lets every nibble through.
    low: [[u8; 16]; K],
    /// The same for high nibbles.
    high: [[u8; 16]; K],
    /// The literals of 2, 3 and 4 bytes.
    exact: [Exact; K - 1],
    /// One-byte literals: the byte in lower and upper case, and the gate's index.
    singles: Vec<(u8, u8, u16)>,
}

/// Both cases of an ASCII letter; anything else once.
fn cases(b: u8) -> [u8; 2] {
    [b.to_ascii_lowercase(), b.to_ascii_uppercase()]
}

/// How often a byte is expected in a log field, for spreading literals over buckets:
/// letters, digits and URL punctuation are common, other printable bytes less so, the
/// rest rare.
fn weight(b: u8) -> f64 {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => 4.0,
        b'/' | b'.' | b'-' | b'_' | b'=' | b'&' | b'?' | b'%' | b' ' => 4.0,
        0x20..=0x7e => 1.0,
        _ => 0.25,
    }
}

/// What a bucket lets through at each of the [`K`] bytes: low and high nibble sets, or
/// anything.
#[derive(Debug, Clone, Copy, Default)]
struct Sets {
    low: [u16; K],
    high: [u16; K],
    any: [bool; K],
}

impl Sets {
    /// What one literal lets through.
    fn of(lit: &[u8]) -> Self {
        let mut s = Self::default();
        for k in 0..K {
            match lit.get(k) {
                Some(&b) => {
                    for c in cases(b) {
                        s.low[k] |= 1 << (c & 15);
                        s.high[k] |= 1 << (c >> 4);
                    }
                }
                None => s.any[k] = true,
            }
        }
        s
    }

    /// What a bucket of literals with these sets lets through.
    fn union(sets: impl IntoIterator<Item = Self>) -> Self {
        sets.into_iter().fold(Self::default(), |mut u, s| {
            for k in 0..K {
                u.low[k] |= s.low[k];
                u.high[k] |= s.high[k];
                u.any[k] |= s.any[k];
            }
            u
        })
    }

    /// The expected share of positions let through, with `share[high][low]` the share
    /// of bytes with those nibbles.
    fn cost(&self, share: &[[f64; 16]; 16]) -> f64 {
        (0..K)
            .filter(|&k| !self.any[k])
            .map(|k| {
                let mut sum = 0.0;
                for (high, row) in share.iter().enumerate() {
                    if self.high[k] & 1 << high != 0 {
                        for (low, w) in row.iter().enumerate() {
                            if self.low[k] & 1 << low != 0 {
                                sum += w;
                            }
                        }
                    }
                }
                sum
            })
            .product()
    }
}

/// Spreads the literals with these sets over the buckets: each goes where it adds the
/// least expected candidates, then single moves that lower the total are made until none
/// does. Deterministic: the same literals always give the same buckets.
fn spread(sets: &[(usize, Sets)]) -> [Vec<usize>; BUCKETS] {
    let total: f64 = (0..=255u8).map(weight).sum();
    let mut share = [[0.0; 16]; 16];
    for b in 0..=255u8 {
        share[usize::from(b >> 4)][usize::from(b & 15)] = weight(b) / total;
    }
    // A bucket as positions in `sets`.
    let cost = |bucket: &[usize]| {
        if bucket.is_empty() {
            0.0
        } else {
            Sets::union(bucket.iter().map(|&i| sets[i].1)).cost(&share)
        }
    };
    let with = |bucket: &[usize], i: usize| {
        let mut w = bucket.to_vec();
        w.push(i);
        w
    };
    let mut buckets: [Vec<usize>; BUCKETS] = Default::default();
    for i in 0..sets.len() {
        let added = |b: &Vec<usize>| cost(&with(b, i)) - cost(b);
        let best = (0..BUCKETS)
            .min_by(|&a, &b| added(&buckets[a]).total_cmp(&added(&buckets[b])))
            .unwrap_or(0);
        buckets[best].push(i);
    }
    // Each move lowers the total by more than a rounding error: this ends.
    let mut moved = true;
    while moved {
        moved = false;
        for from in 0..BUCKETS {
            let mut at = 0;
            while at < buckets[from].len() {
                let i = buckets[from][at];
                let mut without = buckets[from].clone();
                without.remove(at);
                let saved = cost(&buckets[from]) - cost(&without);
                let target = (0..BUCKETS)
                    .filter(|&to| to != from)
                    .find(|&to| cost(&with(&buckets[to], i)) - cost(&buckets[to]) < saved - 1e-12);
                match target {
                    Some(to) => {
                        buckets[from] = without;
                        buckets[to].push(i);
                        moved = true;
                    }
                    None => at += 1,
                }
            }
        }
    }
    buckets.map(|b| b.into_iter().map(|i| sets[i].0).collect())
}

/// `bytes` (at most 4) lower-cased, as a little-endian word.
fn word(bytes: &[u8]) -> u32 {
    bytes.iter().take(4).enumerate().fold(0, |w, (i, b)| {
        w | u32::from(b.to_ascii_lowercase()) << (8 * i)
    })
}

/// A [`Teddy`]'s tables as lanes, for one search.
struct Tables<L> {
    low: [L; K],
    high: [L; K],
    /// The one-byte literals in lower and upper case; unused ones repeat a used one.
    singles: [(L, L); MAX_SINGLES],
    /// How many of `singles` there are.
    single_count: usize,
}

impl<L: Lanes> Tables<L> {
    fn of(teddy: &Teddy) -> Self {
        let single = |i: usize| {
            teddy
                .singles
                .get(i)
                .or(teddy.singles.first())
                .map_or((L::splat(0), L::splat(0)), |&(l, u, _)| {
                    (L::splat(l), L::splat(u))
                })
        };
        Self {
            low: teddy.low.map(|t| L::load(&t)),
            high: teddy.high.map(|t| L::load(&t)),
            singles: std::array::from_fn(single),
            single_count: teddy.singles.len(),
        }
    }

    /// For a chunk whose positions read `bytes[k]` at offset `k`: the lanes where some
    /// bucket survives, and the lanes holding a one-byte literal; the first `skip` lanes
    /// (tested before) left out of both.
    #[inline(always)]
    fn chunk(&self, bytes: [L; K], skip: usize) -> (u16, u16) {
        let mut buckets = L::splat(0xff);
        for (k, b) in bytes.iter().enumerate() {
            buckets = buckets.and(
                self.low[k]
                    .lookup(b.low_nibbles())
                    .and(self.high[k].lookup(b.high_nibbles())),
            );
        }
        let mut single = 0u16;
        for &(l, u) in &self.singles[..self.single_count] {
            single |= bytes[0].eq(l).or(bytes[0].eq(u)).nonzero();
        }
        let fresh = (!0u16).checked_shl(skip as u32).unwrap_or(0);
        (buckets.nonzero() & fresh, single & fresh)
    }
}

impl Teddy {
    /// The filter of `literals` (distinct, lower case, 1 to [`K`] bytes each), or `None` when
    /// there are too many of them, or too many of one byte, for it to pay.
    pub(crate) fn new(literals: &[Vec<u8>]) -> Option<Self> {
        if literals.len() > MAX_LITERALS
            || literals.iter().any(|l| l.is_empty() || l.len() > K)
            || literals.iter().filter(|l| l.len() == 1).count() > MAX_SINGLES
        {
            return None;
        }
        let each: Vec<Sets> = literals.iter().map(|l| Sets::of(l)).collect();
        let sets: Vec<(usize, Sets)> = (0..literals.len())
            .filter(|&i| literals[i].len() > 1)
            .map(|i| (i, each[i]))
            .collect();
        let spread = spread(&sets);
        let mut teddy = Teddy {
            low: [[0; 16]; K],
            high: [[0; 16]; K],
            exact: std::array::from_fn(|at| {
                let words: Vec<(u32, u16)> = (0..literals.len())
                    .filter(|&i| literals[i].len() == at + 2)
                    .map(|i| (word(&literals[i]), i as u16))
                    .collect();
                Exact::new(&words)
            }),
            singles: Vec::new(),
        };
        for (b, members) in spread.iter().enumerate() {
            let sets = Sets::union(members.iter().map(|&i| each[i]));
            for k in 0..K {
                for n in 0..16 {
                    if sets.any[k] || sets.low[k] & 1 << n != 0 {
                        teddy.low[k][n] |= 1 << b;
                    }
                    if sets.any[k] || sets.high[k] & 1 << n != 0 {
                        teddy.high[k][n] |= 1 << b;
                    }
                }
            }
        }
        for (i, l) in literals.iter().enumerate() {
            if let [b] = l[..] {
                teddy
                    .singles
                    .push((b.to_ascii_lowercase(), b.to_ascii_uppercase(), i as u16));
            }
        }
        Some(teddy)
    }

    /// The number of text bytes the vector search needs at the least: shorter fields go
    /// to the DFA.
    pub(crate) const WINDOW: usize = 16 + K - 1;

    /// Calls `found(pattern, position)` for every place in `text` (at least
    /// [`Self::WINDOW`] bytes) where one of the literals starts, in no set order.
    ///
    /// Chunks of 16 positions read their `K` bytes with `K` loads; where fewer than
    /// `K - 1` bytes follow a chunk, the last chunk is the field's last 16 bytes shifted
    /// in from zeros (a literal is then checked against the bytes that are there).
    /// Positions already tested by an overlapping chunk are masked off. Not inlined: in
    /// the scan it belongs to, the compiled component spilled its vectors to the stack.
    #[inline(never)]
    pub(crate) fn find<L: Lanes>(&self, text: &[u8], mut found: impl FnMut(u16, usize)) {
        debug_assert!(text.len() >= Self::WINDOW);
        let tables = Tables::<L>::of(self);
        let len = text.len();
        let direct = |at: usize| -> [L; K] { std::array::from_fn(|k| L::load(&text[at + k..])) };
        let mut seen = 0;
        while seen + Self::WINDOW <= len {
            let (lanes, single) = tables.chunk(direct(seen), 0);
            if lanes | single != 0 {
                self.check(text, seen, lanes, single, &mut found);
            }
            seen += 16;
        }
        if len - seen > 16 {
            let start = len - Self::WINDOW;
            let (lanes, single) = tables.chunk(direct(start), seen - start);
            if lanes | single != 0 {
                self.check(text, start, lanes, single, &mut found);
            }
            seen = start + 16;
        }
        if seen < len {
            let start = len - 16;
            let last = L::load(&text[start..]);
            let bytes = std::array::from_fn(|k| last.shift_in_zeros(k));
            let (lanes, single) = tables.chunk(bytes, seen - start);
            if lanes | single != 0 {
                self.check(text, start, lanes, single, &mut found);
            }
        }
    }

    /// Checks the candidate `lanes` of a chunk at `start` and the lanes with a one-byte
    /// literal (`single`) against the literals.
    #[inline(never)]
    fn check(
        &self,
        text: &[u8],
        start: usize,
        lanes: u16,
        single: u16,
        found: &mut impl FnMut(u16, usize),
    ) {
        let mut any = lanes | single;
        while any != 0 {
            let lane = any.trailing_zeros() as usize;
            any &= any - 1;
            let pos = start + lane;
            let rest = &text[pos..];
            if lanes & 1 << lane != 0 {
                let window = word(rest);
                for (at, exact) in self.exact.iter().enumerate() {
                    let len = at + 2;
                    if len <= rest.len()
                        && let Some(literal) = exact.get(window & (u32::MAX >> (32 - 8 * len)))
                    {
                        found(literal, pos);
                    }
                }
            }
            if single & 1 << lane != 0 {
                self.find_single(rest[0], pos, found);
            }
        }
    }

    fn find_single(&self, byte: u8, pos: usize, found: &mut impl FnMut(u16, usize)) {
        for &(l, u, pattern) in &self.singles {
            if byte == l || byte == u {
                found(pattern, pos);
            }
        }
    }
}

#[cfg(test)]
#[path = "attacks_teddy_tests.rs"]
mod tests;
