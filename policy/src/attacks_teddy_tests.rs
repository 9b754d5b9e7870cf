//! The vector filter against a plain comparison of every literal at every position, on
//! the portable lanes (the same search code as the component's `simd128` lanes).

use proptest::prelude::*;

use super::{Portable, Teddy};

/// `(literal, position)` wherever a literal starts in `text`, ASCII case-insensitively.
fn plain(literals: &[Vec<u8>], text: &[u8]) -> Vec<(u16, usize)> {
    let mut out = Vec::new();
    for pos in 0..text.len() {
        for (i, l) in literals.iter().enumerate() {
            if text[pos..]
                .get(..l.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(l))
            {
                out.push((i as u16, pos));
            }
        }
    }
    out.sort_unstable();
    out
}

fn filtered(teddy: &Teddy, text: &[u8]) -> Vec<(u16, usize)> {
    let mut out = Vec::new();
    teddy.find::<Portable>(text, |pattern, pos| out.push((pattern, pos)));
    out.sort_unstable();
    out
}

/// A byte of a literal (lower case): letters that share nibbles, a NUL, a byte above
/// 0x7f, and punctuation.
fn literal_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        b'a'..=b'e',
        b'p'..=b'u',
        Just(0),
        Just(0xc0),
        Just(b'/'),
        Just(b'.')
    ]
}

/// A text byte: the literals' bytes in either case, and others.
fn text_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        b'a'..=b'e',
        b'A'..=b'E',
        b'p'..=b'u',
        b'P'..=b'U',
        Just(0),
        Just(0xc0),
        Just(0xe0),
        Just(b'/'),
        Just(b'.'),
        Just(b'x'),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_filter_finds_what_a_plain_comparison_finds(
        literals in proptest::collection::vec(
            proptest::collection::vec(literal_byte(), 1..=4), 1..48),
        text in proptest::collection::vec(text_byte(), Teddy::WINDOW..100),
    ) {
        let mut literals = literals;
        literals.sort();
        literals.dedup();
        let teddy = Teddy::new(&literals);
        prop_assume!(teddy.is_some());
        let teddy = teddy.unwrap();
        prop_assert_eq!(filtered(&teddy, &text), plain(&literals, &text));
    }
}

#[test]
fn literals_in_the_last_bytes_and_in_overlapping_chunks_are_found_once() {
    let literals = vec![
        b"ab".to_vec(),
        b"x".to_vec(),
        b"abcd".to_vec(),
        b"d".to_vec(),
    ];
    let teddy = Teddy::new(&literals).unwrap();
    // 34 bytes: a chunk at 0, one at 15 (its first position masked off), and the last
    // 16 bytes shifted in from zeros for the last three positions.
    let mut text = b"ABCD".to_vec();
    text.extend(std::iter::repeat_n(b'.', 24));
    text.extend(b"xabx d");
    assert_eq!(filtered(&teddy, &text), plain(&literals, &text));
    assert_eq!(
        filtered(&teddy, &text),
        [(0, 0), (0, 29), (1, 28), (1, 31), (2, 0), (3, 3), (3, 33)]
    );
}

#[test]
fn too_many_one_byte_literals_fall_back_to_the_dfa() {
    let literals: Vec<Vec<u8>> = b"abcde".iter().map(|&b| vec![b]).collect();
    assert!(Teddy::new(&literals).is_none());
    assert!(Teddy::new(&literals[..4]).is_some());
}
