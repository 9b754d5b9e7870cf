//! The JSON writing the canonical encoding needs: strings, numbers, `null`s and RFC 3339
//! times, appended to a byte buffer.
//!
//! Strings and floats go through `serde_json` (its escaping and shortest float form), so the
//! encoding matches what any serde_json-based reader or writer expects; integers through
//! `itoa`. Records themselves are laid out by hand in [`crate::batch`], because each
//! client's enrichment is encoded once and spliced into the records of its lines.

use time::OffsetDateTime;

/// Whether any byte of `bytes` needs escaping in a JSON string (`"`, `\\`, controls).
///
/// Eight bytes at a time with the "has a byte less than n" and "has a zero byte" word
/// tricks (Sean Anderson's *Bit Twiddling Hacks*), which compile to a few 64-bit
/// operations per word natively and in the component alike: most log fields need no
/// escaping, and this check is the whole cost of writing them.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Some byte of `v` is below `n` (exact as to existence for n ≤ 128).
    let has_less = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v & HIGHS != 0;
    let has_byte = |v: u64, b: u8| has_less(v ^ (ONES * u64::from(b)), 1);
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let v = u64::from_le_bytes(w);
        if has_less(v, 0x20) || has_byte(v, b'"') || has_byte(v, b'\\') {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Appends `bytes` eight at a time. In the component, `extend_from_slice` with a length
/// known only at run time compiles to wasm's `memory.copy`, which wasmtime runs as a
/// call into the host: for the short slices of a record (a memoized attack hit is about
/// 60 bytes) the call costs more than the copy (perf: 13 % of what attack tags add on
/// the bench corpus). Longer slices still go to `memory.copy`. Not a general
/// replacement: for a record's strings and fragments it measured slower (6 % fewer
/// lines a second), so only the attack hits' JSON uses it.
pub fn append(out: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() > 128 {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len());
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let w: &[u8; 8] = w.try_into().unwrap_or(&[0; 8]);
        out.extend_from_slice(w);
    }
    for &b in words.remainder() {
        out.push(b);
    }
}

/// Appends `s` as a JSON string: copied as it is when nothing needs escaping, else
/// escaped by `serde_json`.
pub fn str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Appends `s` as a JSON string, or `null`.
pub fn opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends an integer.
pub fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends an integer, or `null`.
pub fn opt_int(out: &mut Vec<u8>, n: Option<impl itoa::Integer>) {
    match n {
        Some(n) => int(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends a float in its shortest round-trip form (`null` if not finite), or `null`.
pub fn opt_f64(out: &mut Vec<u8>, n: Option<f64>) {
    match n {
        Some(n) => {
            let _ = serde_json::to_writer(&mut *out, &n);
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends a list of strings.
pub fn str_list<'a>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'a str>) {
    out.push(b'[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        str(out, s);
    }
    out.push(b']');
}

/// Writes epoch seconds as RFC 3339 UTC (`2022-07-19T11:23:20Z`), remembering the last
/// second written: consecutive log lines mostly share it.
#[derive(Debug, Default)]
pub struct TimeWriter {
    last: Option<(i64, [u8; 22])>,
}

impl TimeWriter {
    /// Appends a line's time as [`TimeWriter::write`] does, or `null` when it has none.
    pub fn write_opt(&mut self, out: &mut Vec<u8>, time: Option<&crate::time::LogTime<'_>>) {
        match time {
            Some(t) => self.write(out, t.instant.unix_timestamp()),
            None => out.extend_from_slice(b"null"),
        }
    }

    /// Appends the quoted time, or `null` for an instant outside years 0–9999 (which
    /// RFC 3339 cannot write).
    pub fn write(&mut self, out: &mut Vec<u8>, secs: i64) {
        if let Some((s, text)) = &self.last
            && *s == secs
        {
            out.extend_from_slice(text);
            return;
        }
        match rfc3339(secs) {
            Some(text) => {
                out.extend_from_slice(&text);
                self.last = Some((secs, text));
            }
            None => out.extend_from_slice(b"null"),
        }
    }
}

/// `"YYYY-MM-DDTHH:MM:SSZ"`, quotes included.
fn rfc3339(secs: i64) -> Option<[u8; 22]> {
    let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut b = *b"\"0000-00-00T00:00:00Z\"";
    let put = |b: &mut [u8; 22], at: usize, width: usize, mut n: u32| {
        for i in (0..width).rev() {
            b[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(&mut b, 1, 4, year);
    put(&mut b, 6, 2, u32::from(u8::from(t.month())));
    put(&mut b, 9, 2, u32::from(t.day()));
    put(&mut b, 12, 2, u32::from(t.hour()));
    put(&mut b, 15, 2, u32::from(t.minute()));
    put(&mut b, 18, 2, u32::from(t.second()));
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::format_description::well_known::Rfc3339;

    fn time_text(secs: i64) -> String {
        let mut out = Vec::new();
        TimeWriter::default().write(&mut out, secs);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rfc3339_matches_the_time_crate() {
        for secs in [0, 1, 1_658_229_800, 951_782_400, 253_402_300_799, -86_400] {
            let want = OffsetDateTime::from_unix_timestamp(secs)
                .unwrap()
                .format(&Rfc3339)
                .unwrap();
            assert_eq!(time_text(secs), format!("\"{want}\""), "{secs}");
        }
    }

    #[test]
    fn out_of_range_time_is_null() {
        assert_eq!(time_text(253_402_300_800), "null");
        assert_eq!(time_text(-62_167_219_201), "null");
    }

    #[test]
    fn cache_does_not_stick() {
        let mut w = TimeWriter::default();
        let mut out = Vec::new();
        w.write(&mut out, 0);
        w.write(&mut out, 0);
        w.write(&mut out, 60);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"1970-01-01T00:00:00Z\"\"1970-01-01T00:00:00Z\"\"1970-01-01T00:01:00Z\""
        );
    }

    #[test]
    fn the_fast_path_agrees_with_serde_json() {
        let mut cases: Vec<String> = vec![String::new(), "plain".into(), "x".repeat(40)];
        for special in [
            '"', '\\', '\u{0}', '\u{1f}', '\n', '\u{7f}', 'é', '\u{2028}',
        ] {
            for at in [0, 5, 15, 16, 17, 31, 33] {
                let mut s: String = "a".repeat(34);
                s.insert(at, special);
                cases.push(s);
            }
        }
        for case in cases {
            let mut ours = Vec::new();
            str(&mut ours, &case);
            assert_eq!(ours, serde_json::to_vec(&case).unwrap(), "{case:?}");
        }
    }

    #[test]
    fn strings_are_escaped() {
        let mut out = Vec::new();
        str_list(&mut out, ["a\"b", "c\\d\u{1}", "é"]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"["a\"b","c\\d\u0001","é"]"#
        );
    }
}
