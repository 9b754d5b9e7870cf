//! Named settings (the WIT `setting`): a name and a value of one of four shapes. Named
//! rather than a fixed record so that a 0.3.x component can add a setting without
//! breaking hosts written for 0.3.0.

/// A setting's value (the WIT `setting-value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    /// On or off.
    Flag(bool),
    /// One word or name.
    Text(String),
    /// A list of words or names.
    Texts(Vec<String>),
    /// Key → value pairs, in order.
    Table(Vec<(String, String)>),
}

impl SettingValue {
    /// The shape's name, as error messages say it: `flag`, `text`, `texts` or `table`.
    pub fn shape(&self) -> &'static str {
        match self {
            SettingValue::Flag(_) => "flag",
            SettingValue::Text(_) => "text",
            SettingValue::Texts(_) => "texts",
            SettingValue::Table(_) => "table",
        }
    }
}

/// A named setting (see the WIT `setting` for the names a 0.3 component knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The name, e.g. `format`.
    pub name: String,
    /// The value.
    pub value: SettingValue,
}

impl Setting {
    /// A setting from a name and a value.
    pub fn new(name: impl Into<String>, value: SettingValue) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}
