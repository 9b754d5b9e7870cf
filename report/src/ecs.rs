//! ECS documents (`logenrich --schema ecs`) read back into the record shape the report
//! reads ([`crate::record`]): the inverse of `logenrich_types::ecs` for the fields the
//! report shows. Only documents with `ecs.version` are taken for ECS.

use serde_json::{Map, Value, json};

/// Whether a line is an ECS document (cheap: before any parse).
pub fn is_ecs(line: &[u8]) -> bool {
    memchr::memmem::find(line, b"\"ecs\":{\"version\"").is_some()
}

/// The logenrich record of an ECS document, as JSON bytes; `None` when `line` is not
/// JSON.
pub fn to_record(line: &[u8]) -> Option<Vec<u8>> {
    let doc: Value = serde_json::from_slice(line).ok()?;
    let at = |path: &str| {
        path.split('.')
            .try_fold(&doc, |v, k| v.get(k))
            .filter(|v| !v.is_null())
            .cloned()
    };
    let mut r = Map::new();
    let mut put = |key: &str, v: Option<Value>| {
        if let Some(v) = v {
            r.insert(key.to_owned(), v);
        }
    };
    put("file", at("log.file.path"));
    put("line", at("logenrich.line"));
    if at("event.kind")
        .and_then(|k| k.as_str().map(str::to_owned))
        .as_deref()
        == Some("pipeline_error")
    {
        put("error", Some(json!({"reason": at("error.message")})));
        put("attacks", at("logenrich.attacks"));
        return serde_json::to_vec(&Value::Object(r)).ok();
    }
    let error_log =
        at("event.type").is_some_and(|t| t.as_array().is_some_and(|t| t.contains(&json!("error"))));
    if error_log {
        put("log_type", Some("error".into()));
        put("level", at("log.level"));
    }
    put("ip", at("source.address").or(Some(Value::Null)));
    put("time", at("@timestamp"));
    put("status", at("http.response.status_code"));
    put("target", at("url.original"));
    put("user_agent", at("user_agent.original"));
    put("dns", at("logenrich.dns"));
    put("dnsbl", at("logenrich.dnsbl").or(Some(json!([]))));
    let geo = at("source.geo").map(|g| {
        json!({
            "country_code": g.get("country_iso_code"),
            "country": g.get("country_name"),
            "subdivision": g.get("region_name"),
            "city": g.get("city_name"),
            "lat": g.pointer("/location/lat"),
            "lon": g.pointer("/location/lon"),
            "asn": at("source.as.number"),
            "as_org": at("source.as.organization.name"),
        })
    });
    put("geo", geo);
    put("scanner", at("logenrich.scanner"));
    put("attacks", at("logenrich.attacks"));
    serde_json::to_vec(&Value::Object(r)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ecs_access_document_reads_as_its_record() {
        let doc = br#"{"@timestamp":"2022-07-19T11:23:20Z","ecs":{"version":"9.4.0"},"event":{"kind":"event","type":["access"]},"http":{"response":{"status_code":200}},"logenrich":{"line":3,"dns":{"name":"a.test","status":"found"},"scanner":{"sources":["ua"],"matched":["zgrab"]}},"source":{"address":"198.51.100.9","geo":{"city_name":"Amsterdam","country_iso_code":"NL","location":{"lat":52.37,"lon":4.89}},"as":{"number":64500}},"url":{"original":"/x"},"user_agent":{"original":"zgrab/0.x"}}"#;
        assert!(is_ecs(doc));
        let r: Value = serde_json::from_slice(&to_record(doc).unwrap()).unwrap();
        assert_eq!(
            (&r["ip"], &r["status"], &r["line"]),
            (&json!("198.51.100.9"), &json!(200), &json!(3))
        );
        assert_eq!(
            (&r["geo"]["city"], &r["geo"]["lat"], &r["geo"]["asn"]),
            (&json!("Amsterdam"), &json!(52.37), &json!(64500))
        );
        assert_eq!(r["scanner"]["matched"][0], "zgrab");
        let failure = br#"{"ecs":{"version":"9.4.0"},"error":{"message":"invalid client address"},"event":{"kind":"pipeline_error"},"logenrich":{"line":2}}"#;
        let r: Value = serde_json::from_slice(&to_record(failure).unwrap()).unwrap();
        assert_eq!(r["error"]["reason"], "invalid client address");
        assert!(!is_ecs(br#"{"line":1,"ip":"192.0.2.1"}"#));
    }
}
