//! One column's values as they are built, in the layouts of Arrow's arrays (offsets and
//! bytes for strings, values plus validity for the rest); a column whose values disagree
//! in type is turned into strings.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A named column.
pub struct Column {
    /// Its name in the DataFrame.
    pub name: String,
    /// Its values.
    pub data: Data,
}

/// Strings in Arrow's `large_string` layout.
#[derive(Default)]
pub struct Strings {
    /// Where each string starts in `bytes`, plus the end: one more than the rows.
    pub offsets: Vec<i64>,
    /// The strings, one after another.
    pub bytes: Vec<u8>,
    /// Per row, whether it has a string (else null).
    pub valid: Vec<bool>,
}

impl Strings {
    /// The items of an empty list column.
    pub fn default_list() -> Self {
        Strings::new()
    }

    fn new() -> Self {
        Strings {
            offsets: vec![0],
            ..Strings::default()
        }
    }

    fn push(&mut self, s: Option<&str>) {
        self.bytes.extend_from_slice(s.unwrap_or("").as_bytes());
        self.offsets.push(self.bytes.len() as i64);
        self.valid.push(s.is_some());
    }

    fn get(&self, row: usize) -> Option<&str> {
        let (start, end) = (self.offsets[row] as usize, self.offsets[row + 1] as usize);
        // Pushed as `&str`, so any row's bytes are UTF-8.
        self.valid[row].then(|| std::str::from_utf8(&self.bytes[start..end]).unwrap_or(""))
    }

    fn append(&mut self, other: Strings) {
        let base = self.bytes.len() as i64;
        self.offsets
            .extend(other.offsets.iter().skip(1).map(|o| o + base));
        self.bytes.extend(other.bytes);
        self.valid.extend(other.valid);
    }

    fn truncate(&mut self, rows: usize) {
        if rows < self.valid.len() {
            self.valid.truncate(rows);
            self.offsets.truncate(rows + 1);
            self.bytes.truncate(self.offsets[rows] as usize);
        }
    }
}

/// A column's values.
pub enum Data {
    /// Only nulls so far (this many): the type comes with the first value.
    Null(usize),
    /// Strings.
    Str(Strings),
    /// 64-bit integers (with validity).
    Int(Vec<i64>, Vec<bool>),
    /// Floats.
    Float(Vec<f64>, Vec<bool>),
    /// Booleans.
    Bool(Vec<bool>, Vec<bool>),
    /// Instants, as nanoseconds since the Unix epoch (UTC).
    Time(Vec<i64>, Vec<bool>),
    /// Lists of strings: where each row's items start in `items`, plus the end.
    List {
        /// One more than the rows.
        offsets: Vec<i64>,
        /// The items of every row.
        items: Strings,
        /// Per row, whether it has a list.
        valid: Vec<bool>,
    },
}

impl Data {
    /// Rows so far.
    pub fn len(&self) -> usize {
        match self {
            Data::Null(n) => *n,
            Data::Str(s) => s.valid.len(),
            Data::Int(_, v) | Data::Float(_, v) | Data::Bool(_, v) | Data::Time(_, v) => v.len(),
            Data::List { valid, .. } => valid.len(),
        }
    }

    /// Nulls up to `rows` rows.
    pub fn pad(&mut self, rows: usize) {
        while self.len() < rows {
            self.push_null();
        }
    }

    /// Drops the rows from `rows` on.
    pub fn truncate(&mut self, rows: usize) {
        match self {
            Data::Null(n) => *n = (*n).min(rows),
            Data::Str(s) => s.truncate(rows),
            Data::Int(x, v) | Data::Time(x, v) => {
                x.truncate(rows);
                v.truncate(rows);
            }
            Data::Float(x, v) => {
                x.truncate(rows);
                v.truncate(rows);
            }
            Data::Bool(x, v) => {
                x.truncate(rows);
                v.truncate(rows);
            }
            Data::List {
                offsets,
                items,
                valid,
            } => {
                if rows < valid.len() {
                    valid.truncate(rows);
                    offsets.truncate(rows + 1);
                    items.truncate(offsets[rows] as usize);
                }
            }
        }
    }

    /// A null.
    pub fn push_null(&mut self) {
        match self {
            Data::Null(n) => *n += 1,
            Data::Str(s) => s.push(None),
            Data::Int(x, v) | Data::Time(x, v) => {
                x.push(0);
                v.push(false);
            }
            Data::Float(x, v) => {
                x.push(f64::NAN);
                v.push(false);
            }
            Data::Bool(x, v) => {
                x.push(false);
                v.push(false);
            }
            Data::List { offsets, valid, .. } => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                valid.push(false);
            }
        }
    }

    /// An all-null column becomes an empty column of `like()`'s kind, with its nulls.
    fn typed(&mut self, like: impl FnOnce() -> Data) {
        if let Data::Null(n) = *self {
            *self = like();
            self.pad(n);
        }
    }

    /// An integer (into a float column as a float).
    pub fn push_int(&mut self, i: i64) {
        self.typed(|| Data::Int(Vec::new(), Vec::new()));
        match self {
            Data::Int(x, v) => {
                x.push(i);
                v.push(true);
            }
            Data::Float(..) => self.push_float(i as f64),
            _ => self.push_str(&i.to_string()),
        }
    }

    /// A float (an integer column becomes a float column).
    pub fn push_float(&mut self, f: f64) {
        self.typed(|| Data::Float(Vec::new(), Vec::new()));
        if let Data::Int(x, v) = self {
            *self = Data::Float(x.iter().map(|&i| i as f64).collect(), std::mem::take(v));
        }
        match self {
            Data::Float(x, v) => {
                x.push(f);
                v.push(true);
            }
            _ => self.push_str(&f.to_string()),
        }
    }

    /// A boolean.
    pub fn push_bool(&mut self, b: bool) {
        self.typed(|| Data::Bool(Vec::new(), Vec::new()));
        match self {
            Data::Bool(x, v) => {
                x.push(b);
                v.push(true);
            }
            _ => self.push_str(if b { "true" } else { "false" }),
        }
    }

    /// An RFC 3339 time (one that is not makes the column strings).
    pub fn push_time(&mut self, s: &str) {
        self.typed(|| Data::Time(Vec::new(), Vec::new()));
        let parsed = OffsetDateTime::parse(s, &Rfc3339).ok();
        let nanos = parsed.and_then(|t| i64::try_from(t.unix_timestamp_nanos()).ok());
        match (self, nanos) {
            (Data::Time(x, v), Some(ns)) => {
                x.push(ns);
                v.push(true);
            }
            (this, _) => this.push_str(s),
        }
    }

    /// A string (a column of another type becomes strings).
    pub fn push_str(&mut self, s: &str) {
        self.typed(|| Data::Str(Strings::new()));
        self.make_strings();
        if let Data::Str(strings) = self {
            strings.push(Some(s));
        }
    }

    /// A list of strings.
    pub fn push_list<'s>(&mut self, list: impl IntoIterator<Item = Option<&'s str>>) {
        self.typed(|| Data::List {
            offsets: vec![0],
            items: Strings::new(),
            valid: Vec::new(),
        });
        match self {
            Data::List {
                offsets,
                items,
                valid,
            } => {
                for item in list {
                    items.push(item);
                }
                offsets.push(items.valid.len() as i64);
                valid.push(true);
            }
            _ => {
                let list: Vec<Option<&str>> = list.into_iter().collect();
                let text = serde_json::to_string(&list).unwrap_or_default();
                self.push_str(&text);
            }
        }
    }

    /// Appends `other`'s rows (a later chunk of the same column); a type they disagree
    /// on makes both what [`push_float`](Data::push_float) and
    /// [`push_str`](Data::push_str) would: floats, else strings.
    pub fn append(&mut self, mut other: Data) {
        if let Data::Null(n) = other {
            let rows = self.len() + n;
            self.pad(rows);
            return;
        }
        if let Data::Null(n) = *self {
            other.prepend_nulls(n);
            *self = other;
            return;
        }
        match (&*self, &other) {
            (Data::Int(..), Data::Float(..)) => self.push_floats_from_ints(),
            (Data::Float(..), Data::Int(..)) => other.push_floats_from_ints(),
            _ => {}
        }
        let same = std::mem::discriminant(&*self) == std::mem::discriminant(&other);
        if !same {
            self.make_strings();
            other.make_strings();
        }
        match (self, other) {
            (Data::Str(a), Data::Str(b)) => a.append(b),
            (Data::Int(x, v), Data::Int(y, w)) | (Data::Time(x, v), Data::Time(y, w)) => {
                x.extend(y);
                v.extend(w);
            }
            (Data::Float(x, v), Data::Float(y, w)) => {
                x.extend(y);
                v.extend(w);
            }
            (Data::Bool(x, v), Data::Bool(y, w)) => {
                x.extend(y);
                v.extend(w);
            }
            (
                Data::List {
                    offsets,
                    items,
                    valid,
                },
                Data::List {
                    offsets: o,
                    items: i,
                    valid: w,
                },
            ) => {
                let base = offsets.last().copied().unwrap_or(0);
                offsets.extend(o.iter().skip(1).map(|x| x + base));
                items.append(i);
                valid.extend(w);
            }
            _ => unreachable!("both columns are of one kind here"),
        }
    }

    /// `n` nulls before the rows.
    fn prepend_nulls(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let mut nulls = match self {
            Data::Null(_) => Data::Null(0),
            Data::Str(_) => Data::Str(Strings::new()),
            Data::Int(..) => Data::Int(Vec::new(), Vec::new()),
            Data::Float(..) => Data::Float(Vec::new(), Vec::new()),
            Data::Bool(..) => Data::Bool(Vec::new(), Vec::new()),
            Data::Time(..) => Data::Time(Vec::new(), Vec::new()),
            Data::List { .. } => Data::List {
                offsets: vec![0],
                items: Strings::new(),
                valid: Vec::new(),
            },
        };
        nulls.pad(n);
        nulls.append(std::mem::replace(self, Data::Null(0)));
        *self = nulls;
    }

    /// An integer column as floats.
    fn push_floats_from_ints(&mut self) {
        if let Data::Int(x, v) = self {
            *self = Data::Float(x.iter().map(|&i| i as f64).collect(), std::mem::take(v));
        }
    }

    /// Turns the column into strings: each value as its text (a list as JSON).
    fn make_strings(&mut self) {
        if matches!(self, Data::Str(_)) {
            return;
        }
        let rows = self.len();
        let mut out = Strings::new();
        for row in 0..rows {
            out.push(self.text(row).as_deref());
        }
        *self = Data::Str(out);
    }

    /// Row `row` as text, `None` for a null.
    fn text(&self, row: usize) -> Option<String> {
        match self {
            Data::Null(_) => None,
            Data::Str(s) => s.get(row).map(str::to_owned),
            Data::Int(x, v) => v[row].then(|| x[row].to_string()),
            Data::Float(x, v) => v[row].then(|| x[row].to_string()),
            Data::Bool(x, v) => v[row].then(|| x[row].to_string()),
            Data::Time(x, v) => v[row]
                .then(|| OffsetDateTime::from_unix_timestamp_nanos(i128::from(x[row])).ok())
                .flatten()
                .and_then(|t| t.format(&Rfc3339).ok()),
            Data::List {
                offsets,
                items,
                valid,
            } => valid[row].then(|| {
                let (a, b) = (offsets[row] as usize, offsets[row + 1] as usize);
                let list: Vec<Option<&str>> = (a..b).map(|i| items.get(i)).collect();
                serde_json::to_string(&list).unwrap_or_default()
            }),
        }
    }
}

/// Arrow's validity bitmap of `valid` (bit set: a value), or `None` when none is null;
/// and the count of nulls.
pub fn bitmap(valid: &[bool]) -> (Option<Vec<u8>>, usize) {
    let nulls = valid.iter().filter(|&&v| !v).count();
    if nulls == 0 {
        return (None, 0);
    }
    (Some(bits(valid)), nulls)
}

/// `flags` packed eight to a byte, least significant bit first (Arrow's bit order).
pub fn bits(flags: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; flags.len().div_ceil(8)];
    for (i, _) in flags.iter().enumerate().filter(|(_, f)| **f) {
        out[i / 8] |= 1 << (i % 8);
    }
    out
}
