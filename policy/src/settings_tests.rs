//! Settings: defaults, shapes, and errors that name the setting and the position.

use super::*;

fn texts_of(l: &[&str]) -> SettingValue {
    SettingValue::Texts(texts(l))
}

#[test]
fn defaults_round_trip() {
    let f = Filter::new(&defaults()).unwrap();
    assert_eq!(f.format, Format::Auto);
    assert!(f.reverse_dns && f.geoip && f.zones.is_empty());
    assert!(Filter::new(&[]).is_ok());
}

#[test]
fn unknown_setting_is_named() {
    let e = Filter::new(&[Setting::new("colour", SettingValue::Flag(true))]).unwrap_err();
    assert_eq!(e.field, "colour");
    assert!(e.reason.contains("unknown setting"), "{}", e.reason);
}

#[test]
fn wrong_shape_is_named() {
    let e = Filter::new(&[Setting::new("geoip", SettingValue::Text("yes".into()))]).unwrap_err();
    assert_eq!(e.field, "geoip");
    assert!(e.reason.contains("flag"), "{}", e.reason);
}

#[test]
fn bad_format_value() {
    let e = Filter::new(&[Setting::new("format", SettingValue::Text("csv".into()))]).unwrap_err();
    assert_eq!(e.field, "format");
}

#[test]
fn keyword_errors_point_into_the_right_list() {
    let e = Filter::new(&[Setting::new("extra-ua-keywords", texts_of(&["ok", " "]))]).unwrap_err();
    assert_eq!(e.field, "extra-ua-keywords[1]");
    let e = Filter::new(&[Setting::new("dns-keywords", texts_of(&["", "x"]))]).unwrap_err();
    assert_eq!(e.field, "dns-keywords[0]");
}

#[test]
fn zones_with_codes_and_builtins() {
    let f = Filter::new(&[
        Setting::new(
            "dnsbl-zones",
            texts_of(&["zen.spamhaus.org", "bl.example.org."]),
        ),
        Setting::new(
            "dnsbl-codes.bl.example.org",
            SettingValue::Table(vec![("127.0.0.2".into(), "spam".into())]),
        ),
    ])
    .unwrap();
    assert_eq!(f.zones.len(), 2);
    assert_eq!(f.zones[1].name, "bl.example.org");
    let v = f.zones[1].decode(&["127.0.0.2".parse().unwrap()], None);
    assert_eq!(v.meanings, ["spam"]);
    let v = f.zones[0].decode(&["127.0.0.4".parse().unwrap()], None);
    assert!(v.meanings[0].starts_with("XBL"), "{:?}", v.meanings);
}

#[test]
fn custom_formats_are_exclusive_and_errors_point_at_the_column() {
    let f = Filter::new(&[Setting::new(
        "log-format",
        SettingValue::Text("$remote_addr [$time_local] \"$request\"".into()),
    )])
    .unwrap();
    assert!(f.custom.is_some());
    let e = Filter::new(&[Setting::new(
        "log-format",
        SettingValue::Text("$remote_addr $status$body_bytes_sent".into()),
    )])
    .unwrap_err();
    assert_eq!(e.field, "log-format");
    assert!(
        e.reason.starts_with("column 21: $body_bytes_sent"),
        "{}",
        e.reason
    );
    let e = Filter::new(&[Setting::new(
        "apache-format",
        SettingValue::Text("%h %Z".into()),
    )])
    .unwrap_err();
    assert_eq!(
        (e.field.as_str(), &e.reason[..9]),
        ("apache-format", "column 4:")
    );
    let both = [
        Setting::new("log-format", SettingValue::Text("$remote_addr".into())),
        Setting::new("apache-format", SettingValue::Text("%h".into())),
    ];
    assert_eq!(Filter::new(&both).unwrap_err().field, "apache-format");
    let with_format = [
        Setting::new("log-format", SettingValue::Text("$remote_addr".into())),
        Setting::new("format", SettingValue::Text("combined".into())),
    ];
    assert_eq!(Filter::new(&with_format).unwrap_err().field, "format");
}

#[test]
fn attack_settings_compile_or_name_the_rule() {
    let f = Filter::new(&defaults()).unwrap();
    assert_eq!(f.attacks.as_ref().unwrap().len(), DEFAULT_RULES.len());
    let f = Filter::new(&[Setting::new("attacks", SettingValue::Flag(false))]).unwrap();
    assert!(f.attacks.is_none());
    let e = Filter::new(&[Setting::new(
        "attack-rule.mine",
        SettingValue::Table(vec![("pattern".into(), "a(".into())]),
    )])
    .unwrap_err();
    assert_eq!(e.field, "attack-rule.mine");
    let e = Filter::new(&[Setting::new("attack-rule.mine", SettingValue::Flag(true))]).unwrap_err();
    assert!(e.reason.contains("table"), "{}", e.reason);
    // The text forms a `NAME=VALUE` option can give.
    let f = Filter::new(&[
        Setting::new(
            "attack-rule.wp",
            SettingValue::Text(r"/wp-login\.php".into()),
        ),
        Setting::new(
            "attack-disable",
            SettingValue::Text("xss, sql-injection".into()),
        ),
    ])
    .unwrap();
    assert_eq!(f.attacks.as_ref().unwrap().len(), DEFAULT_RULES.len() - 1);
    let e = Filter::new(&[Setting::new(
        "attack-disable",
        SettingValue::Texts(vec!["xss".into(), "nope".into()]),
    )])
    .unwrap_err();
    assert_eq!(e.field, "attack-disable[1]");
}

#[test]
fn zone_errors_are_named() {
    let e = Filter::new(&[
        Setting::new("dnsbl-zones", texts_of(&["bl.example.org"])),
        Setting::new(
            "dnsbl-codes.bl.example.org",
            SettingValue::Table(vec![
                ("127.0.0.2".into(), "ok".into()),
                ("nope".into(), "bad".into()),
            ]),
        ),
    ])
    .unwrap_err();
    assert_eq!(e.field, "dnsbl-codes.bl.example.org[1]");
    let e = Filter::new(&[Setting::new(
        "dnsbl-zones",
        texts_of(&["ok.example", &"x".repeat(300)]),
    )])
    .unwrap_err();
    assert_eq!(e.field, "dnsbl-zones[1]");
    let e = Filter::new(&[Setting::new(
        "dnsbl-zones",
        texts_of(&["a.example", "A.example."]),
    )])
    .unwrap_err();
    assert!(e.reason.contains("twice"), "{}", e.reason);
}
