//! The built-in attack rules, as data: what honeypot logs are full of.
//!
//! Each rule is matched against a field *after* normalization (nginx `\xHH` escapes and
//! percent-encoding undone, repeatedly), ASCII case-insensitively, on bytes (`\x16` is
//! the byte 0x16; `.` and `[^…]` match any byte). Patterns are written so that every
//! match begins with a literal the regex-syntax extractor can find (no leading `.*`): the
//! prefilter then skips a field that holds none of them (a test checks that every
//! built-in rule is anchored this way). The trailing `[^\s…]{0,N}` parts only widen the
//! evidence.
//!
//! Sources are named per rule (CVE numbers from NVD; RFC sections; OWASP/CWE pages).

use crate::attacks::Field::{self, Extra, Forwarded, Message, Raw, Referer, Request, UserAgent};

/// A built-in rule.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinRule {
    /// The rule's id, as written in a record's `attacks[].rule`.
    pub id: &'static str,
    /// The fields it looks at.
    pub fields: &'static [Field],
    /// The regular expression (regex crate syntax, bytes, ASCII case-insensitive).
    pub pattern: &'static str,
    /// What a match means.
    pub description: &'static str,
    /// Where the pattern comes from (CVE, RFC, OWASP/CWE).
    pub reference: &'static str,
}

// An error log's message quotes the request, a path or a header: every rule that reads
// the request reads it too.
const HEADERS: &[Field] = &[Request, UserAgent, Referer, Forwarded, Extra, Message];
const INPUTS: &[Field] = &[Request, UserAgent, Referer, Extra, Message];
const PATH: &[Field] = &[Request, Message];
const WIRE: &[Field] = &[Request, Message, Raw];

/// The default rule set, in output order.
pub const DEFAULT_RULES: &[BuiltinRule] = &[
    BuiltinRule {
        id: "log4j-jndi",
        fields: HEADERS,
        pattern: r"\$\{\s{0,4}(?:(?:jndi|ctx)\s{0,4}:|[^}\s]{0,16}\$\{)[^\s]{0,96}",
        description: "Log4Shell: a JNDI lookup, or a nested lookup that hides one \
                      (`${${lower:j}ndi:`, `${${::-j}${::-n}di:`)",
        reference: "CVE-2021-44228, CVE-2021-45046; Apache Log4j 2 manual, Lookups \
                    (nested lookups, `${key:-default}`)",
    },
    BuiltinRule {
        id: "shellshock",
        fields: HEADERS,
        pattern: r#"\(\)\s{0,4}\{\s{0,4}:?\s{0,4};\s{0,4}\}\s{0,4};[^"]{0,96}"#,
        description: "Shellshock: a function definition that bash imports from the environment",
        reference: "CVE-2014-6271",
    },
    BuiltinRule {
        id: "path-traversal",
        fields: INPUTS,
        pattern: r#"(?:\.\.;?(?:[/\\]|\xc0\xaf|\xc1\x9c))+[^\s?&"]{0,64}"#,
        description: "Path traversal: `../` (also percent-encoded, double-encoded, overlong UTF-8 `%c0%af`)",
        reference: "CWE-22; OWASP Path Traversal; CVE-2000-0884 (overlong `%c0%af`)",
    },
    BuiltinRule {
        id: "sensitive-file",
        fields: INPUTS,
        pattern: r"/etc/(?:passwd|shadow)\b|/proc/self/(?:environ|cmdline)\b|\b(?:win|boot)\.ini\b",
        description: "A request for a system file (a traversal or inclusion target)",
        reference: "OWASP Web Security Testing Guide WSTG-ATHZ-01 (directory traversal / file include)",
    },
    BuiltinRule {
        id: "shell-download",
        fields: INPUTS,
        pattern: r#"\b(?:wget|curl|tftp|ftpget)(?:[\s+]|\$\{?ifs\}?){1,4}(?:-\S{0,16}(?:[\s+]|\$\{?ifs\}?){1,4}){0,4}(?:(?:https?|ftp|tftp)://|\d{1,3}(?:\.\d{1,3}){3})[^\s;|&'"`]{0,96}"#,
        description: "A download command (`wget http://…/x.sh`), as botnet droppers inject",
        reference: "CWE-78; OWASP Command Injection; Mirai-family droppers (e.g. Hakai)",
    },
    BuiltinRule {
        id: "shell-exec",
        fields: INPUTS,
        pattern: r"\bchmod(?:[\s+]|\$\{?ifs\}?){1,4}(?:\+x|[0-7]{3,4})\b|\|(?:[\s+]|\$\{?ifs\}?){0,4}(?:ba|da|z)?sh\b|/bin/(?:ba|da|z)?sh\b|\bbusybox(?:[\s+]|\$\{?ifs\}?){1,4}\w{1,16}|\$\((?:wget|curl|echo|id|cat|uname|sh)\b|`(?:wget|curl|echo|id|cat|uname|sh)\b",
        description: "Shell execution: `chmod +x`, a pipe into `sh`, `/bin/sh`, busybox, `$(…)`",
        reference: "CWE-78; OWASP Command Injection",
    },
    BuiltinRule {
        id: "phpunit-eval-stdin",
        fields: PATH,
        pattern: r"eval-stdin\.php",
        description: "PHPUnit `eval-stdin.php` remote code execution",
        reference: "CVE-2017-9841",
    },
    BuiltinRule {
        id: "gpon-diag-form",
        fields: PATH,
        pattern: r"/GponForm/diag_Form\S{0,64}",
        description: "Dasan GPON router `diag_Form` command injection (with the `?images` auth bypass)",
        reference: "CVE-2018-10561, CVE-2018-10562",
    },
    BuiltinRule {
        id: "boaform",
        fields: PATH,
        pattern: r"/boaform/\S{0,64}",
        description: "Boa router admin forms (`/boaform/admin/formLogin`), probed by IoT botnets",
        reference: "honeypot observation (Mirai-family router scans)",
    },
    BuiltinRule {
        id: "cgi-bin-shell",
        fields: PATH,
        pattern: r"/cgi-bin/(?:\S{0,64}?/bin/(?:ba|da|z)?sh\b|kerbynet\?\S{0,64})",
        description: "A shell through `/cgi-bin/` (Apache traversal to `/bin/sh`, Zeroshell `kerbynet`)",
        reference: "CVE-2021-41773, CVE-2021-42013 (Apache httpd); CVE-2019-12725 (Zeroshell)",
    },
    BuiltinRule {
        id: "dotenv",
        fields: PATH,
        pattern: r"/\.env(?:\.\w{1,16})?(?:[\s?#/]|$)",
        description: "A request for a `.env` secrets file",
        reference: "OWASP WSTG-CONF-04 (old, backup and unreferenced files)",
    },
    BuiltinRule {
        id: "git-config",
        fields: PATH,
        pattern: r"/\.git/(?:config|HEAD|index|logs/)",
        description: "A request for an exposed `.git` directory",
        reference: "OWASP WSTG-CONF-04 (old, backup and unreferenced files)",
    },
    BuiltinRule {
        id: "hnap",
        fields: PATH,
        pattern: r"/HNAP1\b",
        description: "D-Link/Linksys HNAP endpoint (command injection, TheMoon worm)",
        reference: "CVE-2015-2051",
    },
    BuiltinRule {
        id: "fortios-traversal",
        fields: PATH,
        pattern: r"/remote/fgt_lang\?lang=\S{0,64}",
        description: "FortiOS SSL-VPN path traversal reading session files",
        reference: "CVE-2018-13379",
    },
    BuiltinRule {
        id: "thinkphp-rce",
        fields: PATH,
        pattern: r"think\\app/invokefunction\S{0,64}|invokefunction&function=\S{0,64}",
        description: "ThinkPHP `invokefunction` remote code execution",
        reference: "CVE-2018-20062",
    },
    BuiltinRule {
        id: "sql-injection",
        fields: INPUTS,
        pattern: r#"\bunion(?:[\s+]|/\*[^*]{0,32}\*/){1,8}(?:all(?:[\s+]|/\*[^*]{0,32}\*/){1,8})?select\b|(?: |\+)or[\s+]{1,4}\d{1,8}[\s+]{0,2}=[\s+]{0,2}\d{1,8}|'(?:[\s+]){0,2}(?:or|and)(?:[\s+]){1,4}'|\b(?:sleep|benchmark|pg_sleep)\s{0,4}\(\s{0,4}\d|\bwaitfor(?:[\s+]){1,4}delay\b|information_schema\b"#,
        description: "SQL injection markers (`union select`, `' or 1=1`, `sleep(`, `information_schema`)",
        reference: "CWE-89; OWASP SQL Injection",
    },
    BuiltinRule {
        id: "xss",
        fields: INPUTS,
        pattern: r"<script\b|<(?:img|svg|iframe|body|details)\b[^>]{0,64}?\bon[a-z]{3,16}\s{0,4}=|\bjavascript:|\bon(?:error|load|mouseover|focus|toggle)\s{0,4}=|\balert\s{0,4}\(|document\.(?:cookie|domain)\b",
        description: "Cross-site scripting markers (`<script`, event handlers, `javascript:`)",
        reference: "CWE-79; OWASP XSS Filter Evasion Cheat Sheet",
    },
    BuiltinRule {
        id: "tls-handshake",
        fields: WIRE,
        pattern: r"^\x16\x03[\x00-\x04]",
        description: "A TLS handshake sent to a plain-HTTP port (nginx logs it as `\\x16\\x03…`)",
        reference: "RFC 8446 §5.1 (record type 22 = handshake, legacy version 3.x)",
    },
    BuiltinRule {
        id: "rdp-probe",
        fields: WIRE,
        pattern: r"^\x03\x00|Cookie: mstshash=\S{0,32}",
        description: "An RDP connection request sent to an HTTP port",
        reference: "RFC 1006 (TPKT version 3); MS-RDPBCGR 2.2.1.1 (X.224 request, `mstshash` cookie)",
    },
    BuiltinRule {
        id: "ssh-banner",
        fields: WIRE,
        pattern: r"^SSH-\d\.\d\S{0,32}",
        description: "An SSH client identification string sent to an HTTP port",
        reference: "RFC 4253 §4.2",
    },
];
