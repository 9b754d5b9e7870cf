//! Quoting input in error reasons, bounded: a hostile line's 60 KB token must not be
//! copied (and JSON-escaped, up to six bytes a byte) into its error record a second time
//! beside `raw`.

use std::fmt;

/// The most characters of a value an error reason quotes.
const MAX_CHARS: usize = 64;

/// `{:?}` of a value from the input, cut after [`MAX_CHARS`] characters with its length
/// said: `"aaaa…" (60000 bytes)`.
pub struct Excerpt<'a>(pub &'a str);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(f, "{:?}… ({} bytes)", &self.0[..cut], self.0.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_quoted_whole() {
        assert_eq!(Excerpt("a\"b").to_string(), r#""a\"b""#);
        let exact = "é".repeat(MAX_CHARS);
        assert_eq!(Excerpt(&exact).to_string(), format!("{exact:?}"));
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary_with_their_length() {
        let long = "é".repeat(1000);
        let shown = Excerpt(&long).to_string();
        assert_eq!(shown, format!("{:?}… (2000 bytes)", "é".repeat(MAX_CHARS)));
    }
}
