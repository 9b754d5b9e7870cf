//! Target `batch`: the whole batch flow (`logenrich_policy::batch::process`) with the
//! built-in layouts: the auto-mode line parser, client and time parsing, attack tagging
//! and decoding, and the JSON Lines encoding of every record with scripted lookups.
//!
//! Input: a mode byte, then the lines (split at `\n`). Mode bits 0–2 pick the lookups'
//! answers ([`crate::lookups::Scripted`], whose text is the first line), bits 4–5 the
//! layout (auto, honeypot, combined, common), bit 3 a source name, bit 6 line numbers
//! near `u64::MAX`, bit 7 bad line ends from the host (past the end, out of order).

use logenrich_policy::{BatchIn, Filter, Setting, SettingValue};

use crate::lookups::Scripted;

/// The settings of the fuzzed filters, besides the layout: every lookup on, with two
/// DNSBL zones (one with a built-in code table) and Team Cymru.
pub fn settings(format: &str) -> Vec<Setting> {
    vec![
        Setting::new("format", SettingValue::Text(format.into())),
        Setting::new("cymru", SettingValue::Flag(true)),
        Setting::new(
            "dnsbl-zones",
            SettingValue::Texts(vec!["zen.spamhaus.org".into(), "bl.fuzz.example".into()]),
        ),
    ]
}

thread_local! {
    static FILTERS: Vec<Filter> = ["auto", "honeypot", "combined", "common"]
        .iter()
        .map(|f| Filter::new(&settings(f)).expect("the fuzzed settings are valid"))
        .collect();
}

/// Runs one batch of `lines` through `filter` with lookups scripted by `mode` and
/// checks its output ([`crate::jsonl::check`]).
pub fn process(filter: &Filter, mode: u8, lines: &[&[u8]]) {
    let mut data = Vec::with_capacity(lines.iter().map(|l| l.len()).sum());
    let mut ends = Vec::with_capacity(lines.len() + 2);
    for line in lines {
        data.extend_from_slice(line);
        ends.push(data.len() as u32);
    }
    let mut lines: Vec<&[u8]> = lines.to_vec();
    let mut clamped = Vec::new();
    if mode & 0x80 != 0 {
        // A host's bad offsets: the whole batch as the first line (every later end is
        // then before it), one end past the data and one at 0.
        ends.insert(0, data.len() as u32);
        ends.push(u32::MAX);
        ends.push(0);
        clamped.push(&data[..]);
        clamped.extend(std::iter::repeat_n(&b""[..], ends.len() - 1));
        lines = clamped;
    }
    let answers = lines
        .first()
        .map(|l| String::from_utf8_lossy(l))
        .unwrap_or_default();
    let first_line = if mode & 0x40 != 0 { u64::MAX - 1 } else { 1 };
    let source = (mode & 8 != 0).then_some(answers.as_ref());
    let batch = BatchIn {
        first_line,
        source,
        data: &data,
        ends: &ends,
        parts: &[],
    };
    let mut lookups = Scripted::new(mode, &answers);
    let mut out = Vec::new();
    let stats = logenrich_policy::batch::process(filter, &mut lookups, batch, &mut out);
    crate::jsonl::check(&out, &lines, first_line, source, &stats);
}

/// The target's body.
pub fn run(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let lines: Vec<&[u8]> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(|&b| b == b'\n').collect()
    };
    FILTERS.with(|filters| process(&filters[usize::from(mode >> 4 & 3)], mode, &lines));
}
