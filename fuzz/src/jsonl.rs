//! The invariants of a batch's JSON Lines output, checked by the batch targets: one record
//! per input line, in order, each a JSON object with its line number (and the source name
//! when given), and a parse error's column inside its line.

use logenrich_policy::BatchStats;
use serde::Deserialize;
use serde::de::IgnoredAny;

/// What is checked of a record; every other key is only parsed (so the whole record must
/// be valid JSON).
#[derive(Deserialize)]
struct Record<'a> {
    line: u64,
    #[serde(borrow)]
    file: Option<std::borrow::Cow<'a, str>>,
    error: Option<Error<'a>>,
    raw: Option<IgnoredAny>,
    attacks: Option<Vec<IgnoredAny>>,
    invalid_utf8: Option<bool>,
}

#[derive(Deserialize)]
struct Error<'a> {
    column: u64,
    #[serde(borrow)]
    #[expect(dead_code, reason = "only checked to be a string")]
    reason: std::borrow::Cow<'a, str>,
}

/// Checks `out`, the output for `lines` (each line's bytes) numbered from `first_line`,
/// with `source` as every record's `file`.
pub fn check(
    out: &[u8],
    lines: &[&[u8]],
    first_line: u64,
    source: Option<&str>,
    stats: &BatchStats,
) {
    let text = std::str::from_utf8(out).expect("the output is UTF-8");
    if lines.is_empty() {
        assert!(out.is_empty(), "no line, no record: {text:?}");
        return;
    }
    let body = text
        .strip_suffix('\n')
        .expect("the output ends with a newline");
    let (mut parsed, mut errors, mut invalid, mut count) = (0u32, 0u32, 0u32, 0usize);
    for (i, (record, line)) in body.split('\n').zip(lines).enumerate() {
        count += 1;
        let r: Record<'_> = serde_json::from_str(record)
            .unwrap_or_else(|e| panic!("record {i} is not a record ({e}): {record}"));
        assert_eq!(
            r.line,
            first_line.wrapping_add(i as u64),
            "line number of record {i}: {record}"
        );
        assert_eq!(r.file.as_deref(), source, "the source name: {record}");
        match r.error {
            Some(error) => {
                errors += 1;
                // A column counts bytes of the line as decoded (lossily: an invalid byte
                // is the 3 bytes of U+FFFD), the text written as `raw`.
                let len = String::from_utf8_lossy(line).len() as u64;
                assert!(
                    (1..=len + 1).contains(&error.column),
                    "column {} outside a line of {len} bytes: {record}",
                    error.column
                );
                assert!(r.raw.is_some(), "{record}");
            }
            None => {
                parsed += 1;
                // (`ip` is null for a line without a client: present, not absent.)
                assert!(record.contains(",\"ip\":"), "{record}");
                assert!(r.attacks.is_some(), "{record}");
            }
        }
        let lossy = std::str::from_utf8(line).is_err();
        invalid += u32::from(lossy);
        assert_eq!(
            r.invalid_utf8.is_some(),
            lossy,
            "invalid_utf8 of record {i}: {record}"
        );
    }
    assert_eq!(count, lines.len(), "one record per line: {text:?}");
    assert_eq!(body.split('\n').count(), lines.len(), "no record more");
    assert_eq!(
        (stats.parsed, stats.errors, stats.invalid_utf8),
        (parsed, errors, invalid),
        "the counts"
    );
    let mut clients = stats.clients.clone();
    clients.sort();
    clients.dedup();
    assert_eq!(clients.len(), stats.clients.len(), "distinct clients");
}
