//! The Elastic Common Schema encoding (setting `encoding` = `ecs`): each canonical record
//! re-encoded as an ECS 9.4 document, canonical too (ECS keys sorted at every level, the
//! values under `logenrich.*` as the default encoding wrote them, no spaces), so that
//! every host that asks for ECS writes the same bytes.
//!
//! Fields ECS defines go to their ECS names (`@timestamp`, `source.*`, `http.*`, `url.*`,
//! `user_agent.original`, `log.syslog.*`, `error.*`, …; README § ECS has the table); what
//! ECS has no field for goes under `logenrich.*`, as ECS's guidance for custom fields
//! says (a namespace of one's own, no clash with future ECS names): DNSBL verdicts,
//! scanner evidence, attack tags, Team Cymru's answer, the line number. `tags` get
//! `scanner` and `attack` when the line has them, and `_logenrich_parse_failure` for a line
//! that did not parse.

use std::net::IpAddr;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The ECS release the documents follow (`ecs.version`).
pub const ECS_VERSION: &str = "9.4.0";

/// Appends the ECS document of one canonical record (its JSON, `record`) and a newline;
/// `original` is the line, for `event.original`. A record that is not a JSON object
/// gives a document with `ecs.version` only.
pub fn write(out: &mut Vec<u8>, record: &[u8], original: Option<&str>) {
    let record = Obj::parse(record).unwrap_or_default();
    let mut doc = Doc::default();
    let r = |key: &str| record.get(key);
    let mut tags: Vec<&str> = Vec::new();
    doc.put("ecs.version", ECS_VERSION.into());
    doc.copy("logenrich.line", r("line"));
    doc.copy("log.file.path", r("file"));
    if let Some(error) = r("error") {
        doc.put("event.kind", "pipeline_error".into());
        let error = Obj::of(error);
        doc.copy("error.message", error.get("reason"));
        doc.copy("logenrich.error.column", error.get("column"));
        doc.copy("event.original", r("raw"));
        tags.push("_logenrich_parse_failure");
    } else {
        doc.put("event.kind", "event".into());
        doc.put("event.category", Value::Array(vec!["web".into()]));
        let error_log = r("log_type").and_then(text).as_deref() == Some("error");
        let kind = if error_log { "error" } else { "access" };
        doc.put("event.type", Value::Array(vec![kind.into()]));
        doc.copy("@timestamp", r("time"));
        doc.copy("event.timezone", r("time_offset"));
        client(&mut doc, &record);
        http(&mut doc, &record);
        if error_log {
            error_fields(&mut doc, &record);
        }
        syslog(&mut doc, r("syslog"));
        lookups(&mut doc, &record);
        doc.copy("logenrich.extra", r("extra"));
        doc.copy(
            "logenrich.upstream_response_time",
            r("upstream_response_time"),
        );
        if let Some(s) = r("scanner") {
            tags.push("scanner");
            doc.copy("logenrich.scanner", Some(s));
        }
    }
    if let Some(a) = r("attacks").filter(|a| a.get() != "[]") {
        tags.push("attack");
        doc.copy("logenrich.attacks", Some(a));
    }
    if r("invalid_utf8").is_some() {
        tags.push("_logenrich_invalid_utf8");
    }
    if let Some(line) = original {
        doc.put("event.original", line.into());
    }
    if !tags.is_empty() {
        doc.put("tags", tags.into_iter().map(Value::from).collect());
    }
    doc.write(out);
    out.push(b'\n');
}

/// A value of a document: the record's JSON text, copied as it is, or made here.
enum Leaf<'a> {
    Borrowed(&'a RawValue),
    Owned(Value),
}

/// A JSON object of the record: its keys and their values' text.
#[derive(Default)]
struct Obj<'a>(BTreeMap<&'a str, &'a RawValue>);

impl<'a> Obj<'a> {
    fn parse(json: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(json).ok().map(Obj)
    }

    /// The object `raw` is (empty when it is not one).
    fn of(raw: &'a RawValue) -> Self {
        serde_json::from_str(raw.get()).map(Obj).unwrap_or_default()
    }

    /// The value of `key`, unless absent or `null`.
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.get(key).copied().filter(|v| v.get() != "null")
    }
}

/// The string a JSON value is, unescaped.
fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<&str>(raw.get())
        .map(Cow::Borrowed)
        .or_else(|_| serde_json::from_str::<String>(raw.get()).map(Cow::Owned))
        .ok()
}

/// A document being built: its leaves by dotted name (`source.geo.city_name`), written
/// nested and sorted at the end, values the record's own JSON text where they can be.
/// In the policy bench (honeypot layout, no attack tags) ECS went from 138 k lines/s with
/// a `serde_json::Value` tree per record to 233 k this way (the default: 1.75 M).
#[derive(Default)]
struct Doc<'a>(Vec<(&'static str, Leaf<'a>)>);

impl<'a> Doc<'a> {
    /// Sets `name` to `value`.
    fn put(&mut self, name: &'static str, value: Value) {
        self.0.push((name, Leaf::Owned(value)));
    }

    /// Sets `name` to `value` unless it is absent or `null`.
    fn copy(&mut self, name: &'static str, value: Option<&'a RawValue>) {
        if let Some(v) = value.filter(|v| v.get() != "null") {
            self.0.push((name, Leaf::Borrowed(v)));
        }
    }

    /// Writes the document: objects nested by the names' segments, keys sorted at every
    /// level; of two leaves with one name the later wins.
    fn write(mut self, out: &mut Vec<u8>) {
        // Stable: equal names keep their order, and the last of them is written.
        // By segments: `.` sorts before every character of a name, so a byte compare with
        // `.` as 0 orders `a.b` before `a_b` and `ab`, as nested objects' keys are.
        let key = |name: &'static str| name.bytes().map(|b| if b == b'.' { 0 } else { b });
        self.0.sort_by(|a, b| key(a.0).cmp(key(b.0)));
        let mut open: Vec<&str> = Vec::new();
        let mut first = true;
        out.push(b'{');
        for (i, (name, leaf)) in self.0.iter().enumerate() {
            if self.0.get(i + 1).is_some_and(|(next, _)| next == name) {
                continue;
            }
            let mut segments = [""; 8];
            let mut n = 0;
            for segment in name.split('.').take(segments.len()) {
                segments[n] = segment;
                n += 1;
            }
            let (parents, last) = segments[..n].split_at(n - 1);
            let common = open.iter().zip(parents).take_while(|(a, b)| a == b).count();
            while open.len() > common {
                open.pop();
                out.push(b'}');
                first = false;
            }
            for segment in &parents[common..] {
                if !first {
                    out.push(b',');
                }
                write_str(out, segment);
                out.extend_from_slice(b":{");
                open.push(segment);
                first = true;
            }
            if !first {
                out.push(b',');
            }
            write_str(out, last[0]);
            out.push(b':');
            match leaf {
                Leaf::Borrowed(v) => out.extend_from_slice(v.get().as_bytes()),
                Leaf::Owned(v) => write_value(out, v),
            }
            first = false;
        }
        for _ in open {
            out.push(b'}');
        }
        out.push(b'}');
    }
}

/// `source.*` and `user.name`.
fn client<'a>(doc: &mut Doc<'a>, r: &Obj<'a>) {
    if let Some(ip) = r.get("ip").and_then(text) {
        if ip.parse::<IpAddr>().is_ok() {
            doc.put("source.ip", ip.as_ref().into());
        }
        doc.put("source.address", ip.into_owned().into());
    }
    doc.copy("source.port", r.get("client_port"));
    doc.copy("user.name", r.get("user"));
    let Some(list) = r.get("forwarded").filter(|f| f.get() != "[]") else {
        return;
    };
    let forwarded: Vec<String> = serde_json::from_str(list.get()).unwrap_or_default();
    let ips: Vec<Value> = forwarded
        .into_iter()
        .filter(|f| f.parse::<IpAddr>().is_ok())
        .map(Value::from)
        .collect();
    if !ips.is_empty() {
        doc.put("network.forwarded_ip", Value::Array(ips));
    }
    doc.copy("logenrich.forwarded", Some(list));
}

/// `http.*`, `url.*`, `user_agent.original`, `event.duration`.
fn http<'a>(doc: &mut Doc<'a>, r: &Obj<'a>) {
    let get = |k: &str| r.get(k);
    doc.copy("http.request.method", get("method"));
    if let Some(protocol) = get("protocol").and_then(text)
        && let Some(version) = protocol.strip_prefix("HTTP/")
    {
        doc.put("http.version", version.into());
    }
    doc.copy("http.response.status_code", get("status"));
    doc.copy("http.response.body.bytes", get("bytes"));
    doc.copy("http.response.bytes", get("bytes_sent"));
    doc.copy("http.request.referrer", get("referer").or(get("referrer")));
    doc.copy("user_agent.original", get("user_agent"));
    if let Some(raw) = get("target") {
        doc.copy("url.original", Some(raw));
        let target = text(raw).unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        if !path.is_empty() {
            doc.put("url.path", path.into());
        }
        if !query.is_empty() {
            doc.put("url.query", query.into());
        }
    }
    doc.copy("logenrich.request", get("request"));
    doc.copy("url.domain", get("host"));
    doc.copy("url.port", get("server_port"));
    if let Some(seconds) = get("request_time").and_then(|t| t.get().parse::<f64>().ok()) {
        // ECS durations are nanoseconds.
        doc.put(
            "event.duration",
            Value::from((seconds * 1e9).round() as i64),
        );
    }
}

/// An error-log line's own fields.
fn error_fields<'a>(doc: &mut Doc<'a>, r: &Obj<'a>) {
    let get = |k: &str| r.get(k);
    doc.copy("log.level", get("level"));
    doc.copy("log.logger", get("module"));
    doc.copy("process.pid", get("pid"));
    doc.copy("process.thread.id", get("tid"));
    doc.copy("logenrich.connection", get("connection"));
    doc.copy("error.code", get("code"));
    doc.copy("error.message", get("os_error"));
    doc.copy("message", get("message"));
    doc.copy("server.address", get("server"));
    doc.copy("logenrich.upstream", get("upstream"));
    if let Some(file) = get("source_file").and_then(text) {
        let (name, line) = file
            .strip_suffix(')')
            .and_then(|f| f.rsplit_once('('))
            .unwrap_or((&file, ""));
        doc.put("log.origin.file.name", name.into());
        if let Ok(line) = line.parse::<u64>() {
            doc.put("log.origin.file.line", line.into());
        }
    }
}

/// `log.syslog.*` from the record's `syslog`.
fn syslog<'a>(doc: &mut Doc<'a>, s: Option<&'a RawValue>) {
    let Some(s) = s.map(Obj::of) else { return };
    let get = |k: &str| s.get(k);
    doc.copy("log.syslog.hostname", get("host"));
    doc.copy("log.syslog.appname", get("app"));
    if let Some(pid) = get("pid") {
        // ECS's `procid` is a keyword.
        doc.put("log.syslog.procid", pid.get().into());
    }
    doc.copy("log.syslog.facility.name", get("facility"));
    doc.copy("log.syslog.severity.name", get("severity"));
}

/// The client's lookups: PTR name, GeoIP, AS, and what ECS has no field for.
fn lookups<'a>(doc: &mut Doc<'a>, r: &Obj<'a>) {
    if let Some(dns) = r.get("dns") {
        doc.copy("source.domain", Obj::of(dns).get("name"));
        doc.copy("logenrich.dns", Some(dns));
    }
    if let Some(zones) = r.get("dnsbl").filter(|z| z.get() != "[]") {
        doc.copy("logenrich.dnsbl", Some(zones));
    }
    let geo = r.get("geo").map(Obj::of);
    if let Some(g) = &geo {
        let get = |k: &str| g.get(k);
        doc.copy("source.geo.country_iso_code", get("country_code"));
        doc.copy("source.geo.country_name", get("country"));
        doc.copy("source.geo.region_name", get("subdivision"));
        doc.copy("source.geo.city_name", get("city"));
        doc.copy("source.geo.timezone", get("time_zone"));
        let number = |k: &str| get(k).and_then(|v| serde_json::from_str::<Value>(v.get()).ok());
        if let (Some(lat), Some(lon)) = (number("lat"), number("lon")) {
            let mut at = Map::new();
            at.insert("lat".into(), lat);
            at.insert("lon".into(), lon);
            doc.put("source.geo.location", Value::Object(at));
        }
        doc.copy("logenrich.geo.accuracy_radius", get("accuracy_radius"));
        doc.copy("source.as.number", get("asn"));
        doc.copy("source.as.organization.name", get("as_org"));
    }
    if let Some(c) = r.get("cymru") {
        if geo.as_ref().and_then(|g| g.get("asn")).is_none() {
            let c = Obj::of(c);
            doc.copy("source.as.number", c.get("asn"));
            doc.copy("source.as.organization.name", c.get("as_name"));
        }
        doc.copy("logenrich.cymru", Some(c));
    }
}

/// Writes `v` with object keys sorted at every level (serde_json's map order depends on
/// a crate feature another crate may turn on; this does not).
fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_value(out, &map[key]);
            }
            out.push(b'}');
        }
    }
}

/// A JSON string (serde_json's escaping: the same bytes on every host).
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Names and most values need no escape: the same bytes, without the serializer.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    // Writing a string into a Vec cannot fail.
    let written = serde_json::to_writer(&mut *out, s);
    debug_assert!(written.is_ok());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(record: &str) -> Value {
        let mut out = Vec::new();
        write(&mut out, record.as_bytes(), None);
        assert_eq!(out.pop(), Some(b'\n'));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn a_request_time_is_a_duration_in_nanoseconds_and_the_as_comes_from_cymru_without_geoip() {
        let d = doc(
            r#"{"line":1,"ip":"192.0.2.1","request_time":0.005,"geo":null,"cymru":{"asn":64500,"as_name":"EXAMPLE"},"attacks":[]}"#,
        );
        assert_eq!(d["event"]["duration"], 5_000_000);
        assert_eq!(d["source"]["as"]["number"], 64500);
        assert_eq!(d["source"]["as"]["organization"]["name"], "EXAMPLE");
        assert!(d.get("tags").is_none(), "no attacks, no tag: {d}");
    }

    #[test]
    fn a_host_failure_record_is_a_pipeline_error() {
        let d = doc(
            r#"{"file":"a.log","line":7,"error":{"column":null,"reason":"component failed: wasm trap"},"raw":"x","invalid_utf8":true}"#,
        );
        assert_eq!(d["event"]["kind"], "pipeline_error");
        assert_eq!(d["error"]["message"], "component failed: wasm trap");
        assert_eq!(
            (&d["event"]["original"], &d["log"]["file"]["path"]),
            (&"x".into(), &"a.log".into())
        );
        assert_eq!(
            d["tags"],
            serde_json::json!(["_logenrich_parse_failure", "_logenrich_invalid_utf8"])
        );
    }
}
