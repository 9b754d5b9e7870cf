//! Escaping for each context a string lands in. Hand-written because each is a few lines
//! and the exact set of characters matters (and is tested): HTML text and attribute
//! values, and JSON inside a `<script>` element. Record strings reach the page only as
//! JSON data, which the page's script puts into the DOM with `textContent` (never as
//! markup); the SVG of the PNG carries no strings from records.

/// Escapes `s` for HTML text or a double- or single-quoted attribute value.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Makes serialized JSON safe inside a `<script>` element: `<`, `>` and `&` become
/// `\u003c`, `\u003e`, `\u0026` (so neither `</script>` nor `<!--` can appear), and
/// U+2028/U+2029 become `\u2028`/`\u2029` (line terminators in older JavaScript). Outside
/// strings, JSON has none of these characters, so replacing them everywhere only touches
/// strings, and `JSON.parse` gives back the original text.
pub fn escape_script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_text_and_attributes() {
        assert_eq!(
            escape_html(r#""><img src=x onerror='alert(1)'>&amp;"#),
            "&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;amp;"
        );
        assert_eq!(escape_html("{{ 7*7 }} é"), "{{ 7*7 }} é");
    }

    #[test]
    fn json_in_script_cannot_close_the_element() {
        let hostile = "</script><script>alert(1)</script><!-- \u{2028}\u{2029} & {{x}}";
        let json = serde_json::to_string(&hostile).unwrap();
        let safe = escape_script_json(&json);
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!safe.contains(bad), "{bad:?} left in {safe}");
        }
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, hostile);
    }
}
