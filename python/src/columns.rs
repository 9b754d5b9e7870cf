//! Enriched records (the component's JSON Lines) into typed columns, as Arrow buffers
//! that `pyarrow` wraps without copying and pandas converts: one serde visitor pass per
//! record straight into the column builders (no `serde_json::Value` tree).
//!
//! Names: a nested object's fields are flattened with `_` (`dns_name`, `geo_city`,
//! `scanner_sources`); `error.reason` is `error`; `scanner` is a boolean (the object is
//! present); `dnsbl` is the list of zones that list the client, `dnsbl_meanings` their
//! meanings (one item per zone, joined with `; `), `dnsbl_errors` `zone: error` items; `attacks` becomes `attack_rules`, `attack_fields`,
//! `attack_matches`. A column's type is its values' (`time`: a timestamp); a column whose
//! values disagree becomes strings.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

mod data;

pub use data::{Column, Data, Strings, bitmap, bits};

/// The columns of the records added so far.
#[derive(Default)]
pub struct Columns {
    columns: Vec<Column>,
    index: rustc_hash::FxHashMap<String, usize>,
    rows: usize,
    /// The column set last: records have their keys in one order, so the next one is
    /// usually the one after it.
    cursor: usize,
    /// The flattened name of the field being read.
    path: String,
}

/// The fields of the record's objects that have columns even when the object is null (so
/// that `geo_city` is there with GeoIP off), with their types when known before a value.
const OBJECTS: &[(&str, &[&str])] = &[
    ("dns", &["dns_name", "dns_status"]),
    (
        "geo",
        &[
            "geo_country_code",
            "geo_country",
            "geo_subdivision",
            "geo_city",
            "geo_lat",
            "geo_lon",
            "geo_accuracy_radius",
            "geo_time_zone",
            "geo_asn",
            "geo_as_org",
        ],
    ),
    ("scanner", &["scanner_sources", "scanner_matched"]),
];

/// Columns whose type is known before their first value (an all-null column of them
/// still has its type).
fn known(name: &str) -> Data {
    let list = || Data::List {
        offsets: vec![0],
        items: Strings::default_list(),
        valid: Vec::new(),
    };
    match name {
        "line"
        | "status"
        | "bytes"
        | "server_port"
        | "bytes_sent"
        | "geo_accuracy_radius"
        | "geo_asn"
        | "error_column"
        | "client_port"
        | "pid"
        | "tid" => Data::Int(Vec::new(), Vec::new()),
        "geo_lat" | "geo_lon" | "request_time" => Data::Float(Vec::new(), Vec::new()),
        "scanner" | "invalid_utf8" => Data::Bool(Vec::new(), Vec::new()),
        "time" => Data::Time(Vec::new(), Vec::new()),
        "forwarded" | "dnsbl" | "dnsbl_meanings" | "dnsbl_errors" | "scanner_sources"
        | "scanner_matched" | "attack_rules" | "attack_fields" | "attack_matches" => list(),
        _ => Data::Null(0),
    }
}

/// One scalar value of a record.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl Columns {
    /// Adds each record of `jsonl` (one per line) as a row. A line that is not a JSON
    /// object (never written by the component) is a row with `error` and `raw`.
    pub fn add(&mut self, jsonl: &[u8]) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', jsonl).chain([jsonl.len()]) {
            let line = &jsonl[start..end];
            start = end + 1;
            if line.is_empty() {
                continue;
            }
            let mut de = serde_json::Deserializer::from_slice(line);
            self.path.clear();
            let parsed = Field { cols: self }
                .deserialize(&mut de)
                .and_then(|()| de.end());
            if let Err(e) = parsed {
                self.drop_row();
                let text = String::from_utf8_lossy(line);
                self.set("error", Scalar::Str(&format!("not a JSON record: {e}")));
                self.set("raw", Scalar::Str(&text));
            }
            self.rows += 1;
        }
    }

    /// Appends the rows of `other`, the columns of a later chunk of records (new columns
    /// come after the others, as when the records are added here in order).
    pub fn append(&mut self, other: Columns) {
        for column in other.columns {
            let at = match self.index.get(&column.name) {
                Some(&at) => at,
                None => {
                    self.index.insert(column.name.clone(), self.columns.len());
                    self.columns.push(Column {
                        name: column.name.clone(),
                        data: known(&column.name),
                    });
                    self.columns.len() - 1
                }
            };
            let data = &mut self.columns[at].data;
            data.pad(self.rows);
            data.append(column.data);
            data.pad(self.rows + other.rows);
        }
        self.rows += other.rows;
    }

    /// The columns, each `rows()` long.
    pub fn finish(mut self) -> Vec<Column> {
        let rows = self.rows;
        for c in &mut self.columns {
            c.data.pad(rows);
        }
        self.columns
    }

    /// Undoes what a record that failed half-way set in the current row.
    fn drop_row(&mut self) {
        let rows = self.rows;
        for c in &mut self.columns {
            c.data.truncate(rows);
        }
    }

    /// The column `name` (created when new), padded to the current row.
    fn column(&mut self, name: &str) -> Option<&mut Data> {
        let at = match self.columns.get(self.cursor + 1) {
            Some(c) if c.name == name => self.cursor + 1,
            _ => match self.index.get(name) {
                Some(&at) => at,
                None => {
                    self.index.insert(name.to_owned(), self.columns.len());
                    self.columns.push(Column {
                        name: name.to_owned(),
                        data: known(name),
                    });
                    self.columns.len() - 1
                }
            },
        };
        self.cursor = at;
        let data = &mut self.columns[at].data;
        if data.len() > self.rows {
            return None; // a key twice in one record: the first one stands
        }
        data.pad(self.rows);
        Some(data)
    }

    fn set(&mut self, name: &str, value: Scalar<'_>) {
        let name = match name {
            "error_reason" => "error",
            other => other,
        };
        let is_time = name == "time";
        let Some(data) = self.column(name) else {
            return;
        };
        match value {
            Scalar::Null => data.push_null(),
            Scalar::Bool(b) => data.push_bool(b),
            Scalar::Int(i) => data.push_int(i),
            Scalar::Float(f) => data.push_float(f),
            Scalar::Str(s) if is_time => data.push_time(s),
            Scalar::Str(s) => data.push_str(s),
        }
    }

    fn set_list<'s>(&mut self, name: &str, items: impl IntoIterator<Item = Option<&'s str>>) {
        if let Some(data) = self.column(name) {
            data.push_list(items);
        }
    }

    fn set_path(&mut self, value: Scalar<'_>) {
        let path = std::mem::take(&mut self.path);
        let object = OBJECTS.iter().find(|(name, _)| *name == path);
        match (object, value) {
            (Some((name, fields)), Scalar::Null) => {
                if *name == "scanner" {
                    self.set("scanner", Scalar::Bool(false));
                }
                for field in *fields {
                    self.set(field, Scalar::Null);
                }
            }
            (_, value) => self.set(&path, value),
        }
        self.path = path;
    }
}

/// The value at `cols.path`.
struct Field<'c> {
    cols: &'c mut Columns,
}

impl<'de> DeserializeSeed<'de> for Field<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Field<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.cols.set_path(Scalar::Null);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.cols.set_path(Scalar::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.cols.set_path(Scalar::Int(v));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(i) => self.cols.set_path(Scalar::Int(i)),
            Err(_) => self.cols.set_path(Scalar::Float(v as f64)),
        }
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.cols.set_path(Scalar::Float(v));
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.cols.set_path(Scalar::Str(v));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cols = self.cols;
        if cols.path == "scanner" {
            cols.set("scanner", Scalar::Bool(true));
        }
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let len = cols.path.len();
            if len > 0 {
                cols.path.push('_');
            }
            cols.path.push_str(&key);
            map.next_value_seed(Field { cols: &mut *cols })?;
            cols.path.truncate(len);
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let cols = self.cols;
        match cols.path.as_str() {
            "dnsbl" => dnsbl(cols, seq),
            "attacks" => attacks(cols, seq),
            _ => {
                let items = list(seq)?;
                let path = std::mem::take(&mut cols.path);
                cols.set_list(&path, items.iter().map(|i| i.as_deref()));
                cols.path = path;
                Ok(())
            }
        }
    }
}

/// A record's key, borrowed from the record (serde's `Cow<str>` is always owned).
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_str(ItemVisitor)
            .map(|item| Key(item.0.unwrap_or_default()))
    }
}

/// A list's items as strings (numbers and booleans as their JSON text; nested values
/// are not in records' lists).
fn list<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<Option<Cow<'de, str>>>, A::Error> {
    let mut items = Vec::new();
    while let Some(item) = seq.next_element::<Item<'de>>()? {
        items.push(item.0);
    }
    Ok(items)
}

/// One item of a list.
struct Item<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = Item<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or null")
    }

    fn visit_unit<E>(self) -> Result<Item<'de>, E> {
        Ok(Item(None))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Item<'de>, E> {
        Ok(Item(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Item<'de>, E> {
        Ok(Item(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Item<'de>, E> {
        Ok(Item(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Item<'de>, E> {
        Ok(Item(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Item<'de>, E> {
        Ok(Item(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Item<'de>, E> {
        Ok(Item(Some(Cow::Owned(v.to_owned()))))
    }
}

/// One zone's verdict in a record's `dnsbl`.
#[derive(Deserialize)]
struct Verdict<'a> {
    #[serde(borrow)]
    zone: Cow<'a, str>,
    #[serde(default)]
    listed: bool,
    #[serde(default, borrow)]
    meanings: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
}

fn dnsbl<'de, A: SeqAccess<'de>>(cols: &mut Columns, mut seq: A) -> Result<(), A::Error> {
    let mut verdicts = Vec::new();
    while let Some(v) = seq.next_element::<Verdict<'de>>()? {
        verdicts.push(v);
    }
    let listed: Vec<&Verdict<'_>> = verdicts.iter().filter(|v| v.listed).collect();
    cols.set_list("dnsbl", listed.iter().map(|v| Some(&*v.zone)));
    let meanings: Vec<String> = listed.iter().map(|v| v.meanings.join("; ")).collect();
    cols.set_list("dnsbl_meanings", meanings.iter().map(|m| Some(m.as_str())));
    let errors: Vec<String> = (verdicts.iter())
        .filter_map(|v| Some(format!("{}: {}", v.zone, v.error.as_deref()?)))
        .collect();
    cols.set_list("dnsbl_errors", errors.iter().map(|e| Some(e.as_str())));
    Ok(())
}

/// One matched rule in a record's `attacks`.
#[derive(Deserialize)]
struct Attack<'a> {
    #[serde(borrow)]
    rule: Cow<'a, str>,
    #[serde(borrow)]
    field: Cow<'a, str>,
    #[serde(rename = "match", borrow)]
    matched: Cow<'a, str>,
}

fn attacks<'de, A: SeqAccess<'de>>(cols: &mut Columns, mut seq: A) -> Result<(), A::Error> {
    let mut found = Vec::new();
    while let Some(a) = seq.next_element::<Attack<'de>>()? {
        found.push(a);
    }
    cols.set_list("attack_rules", found.iter().map(|a| Some(&*a.rule)));
    cols.set_list("attack_fields", found.iter().map(|a| Some(&*a.field)));
    cols.set_list("attack_matches", found.iter().map(|a| Some(&*a.matched)));
    Ok(())
}
