//! Decoding of GeoIP records: borrowed views of the three schemas' records, and the
//! merge of what several databases know about one address into a [`GeoRecord`].

use std::fmt;
use std::io::Write as _;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};

use logenrich_types::GeoRecord;

/// What one or more databases know about an address, borrowing from the maps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Partial<'a> {
    country_code: Option<&'a str>,
    country_name: Option<&'a str>,
    subdivision: Option<&'a str>,
    city: Option<&'a str>,
    coordinates: Option<(f64, f64)>,
    accuracy_radius: Option<u16>,
    time_zone: Option<&'a str>,
    asn: Option<u32>,
    as_org: Option<&'a str>,
}

impl<'a> Partial<'a> {
    /// Fills the fields still unknown from `other`.
    pub(super) fn fill(&mut self, other: Partial<'a>) {
        self.country_code = self.country_code.or(other.country_code);
        self.country_name = self.country_name.or(other.country_name);
        self.subdivision = self.subdivision.or(other.subdivision);
        self.city = self.city.or(other.city);
        self.coordinates = self.coordinates.or(other.coordinates);
        self.accuracy_radius = self.accuracy_radius.or(other.accuracy_radius);
        self.time_zone = self.time_zone.or(other.time_zone);
        self.asn = self.asn.or(other.asn);
        self.as_org = self.as_org.or(other.as_org);
    }

    /// The owned record, or `None` when nothing is known.
    pub(super) fn into_record(self) -> Option<GeoRecord> {
        if self == Partial::default() {
            return None;
        }
        let owned = |s: Option<&str>| s.map(str::to_owned);
        Some(GeoRecord {
            country_code: owned(self.country_code),
            country_name: owned(self.country_name),
            subdivision: owned(self.subdivision),
            city: owned(self.city),
            latitude: self.coordinates.map(|(lat, _)| lat),
            longitude: self.coordinates.map(|(_, lon)| lon),
            accuracy_radius: self.accuracy_radius,
            time_zone: owned(self.time_zone),
            asn: self.asn,
            as_org: owned(self.as_org),
        })
    }
}

/// A non-empty string, or `None` (the flat files use `""` for unknown).
fn text(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Both coordinates or neither: a lone latitude is no position.
fn coordinates(latitude: Option<Coord>, longitude: Option<Coord>) -> Option<(f64, f64)> {
    Some((latitude?.0, longitude?.0))
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct Place<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
    #[serde(borrow)]
    names: Option<Names<'a>>,
}

impl<'a> Place<'a> {
    fn name(&self) -> Option<&'a str> {
        text(self.names.as_ref().and_then(|n| n.en))
    }
}

#[derive(Deserialize)]
struct Location<'a> {
    latitude: Option<Coord>,
    longitude: Option<Coord>,
    accuracy_radius: Option<Uint>,
    #[serde(borrow)]
    time_zone: Option<&'a str>,
}

/// The fields of the GeoIP2 City/Country schema that a [`GeoRecord`] uses.
#[derive(Deserialize)]
pub(super) struct CityView<'a> {
    #[serde(borrow)]
    city: Option<Place<'a>>,
    #[serde(borrow)]
    country: Option<Place<'a>>,
    #[serde(borrow)]
    registered_country: Option<Place<'a>>,
    #[serde(borrow, default)]
    subdivisions: FirstOf<Place<'a>>,
    #[serde(borrow)]
    location: Option<Location<'a>>,
}

impl<'a> From<CityView<'a>> for Partial<'a> {
    fn from(v: CityView<'a>) -> Partial<'a> {
        // Where MaxMind knows no location country (e.g. anycast), it still gives the
        // country the network is registered in.
        let country = v.country.as_ref().or(v.registered_country.as_ref());
        let location = v.location.as_ref();
        let subdivision = v.subdivisions.0.as_ref();
        Partial {
            country_code: text(country.and_then(|c| c.iso_code)),
            country_name: country.and_then(Place::name),
            subdivision: subdivision.and_then(|s| s.name().or(text(s.iso_code))),
            city: v.city.as_ref().and_then(Place::name),
            coordinates: location.and_then(|l| coordinates(l.latitude, l.longitude)),
            accuracy_radius: location
                .and_then(|l| l.accuracy_radius)
                .and_then(|r| u16::try_from(r.0).ok()),
            time_zone: text(location.and_then(|l| l.time_zone)),
            ..Partial::default()
        }
    }
}

/// The ASN schema.
#[derive(Deserialize)]
pub(super) struct AsnView<'a> {
    autonomous_system_number: Option<Uint>,
    #[serde(borrow)]
    autonomous_system_organization: Option<&'a str>,
}

impl<'a> From<AsnView<'a>> for Partial<'a> {
    fn from(v: AsnView<'a>) -> Partial<'a> {
        Partial {
            asn: v
                .autonomous_system_number
                .and_then(|n| u32::try_from(n.0).ok()),
            as_org: text(v.autonomous_system_organization),
            ..Partial::default()
        }
    }
}

/// The ip-location-db flat schema (`state2` and `postcode` are not used).
#[derive(Deserialize)]
pub(super) struct FlatView<'a> {
    #[serde(borrow)]
    country_code: Option<&'a str>,
    #[serde(borrow)]
    state1: Option<&'a str>,
    #[serde(borrow)]
    city: Option<&'a str>,
    latitude: Option<Coord>,
    longitude: Option<Coord>,
    #[serde(borrow)]
    timezone: Option<&'a str>,
}

impl<'a> From<FlatView<'a>> for Partial<'a> {
    fn from(v: FlatView<'a>) -> Partial<'a> {
        Partial {
            country_code: text(v.country_code),
            subdivision: text(v.state1),
            city: text(v.city),
            coordinates: coordinates(v.latitude, v.longitude),
            time_zone: text(v.timezone),
            ..Partial::default()
        }
    }
}

/// A coordinate stored as MMDB `double` or `float` (or, leniently, an integer). A `float`
/// is widened through its shortest decimal form, so `51.4036f32` reads as `51.4036`, not
/// `51.40359878540039`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Coord(f64);

impl<'de> Deserialize<'de> for Coord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Coord, D::Error> {
        struct CoordVisitor;
        impl Visitor<'_> for CoordVisitor {
            type Value = Coord;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a floating-point coordinate")
            }
            fn visit_f32<E: de::Error>(self, v: f32) -> Result<Coord, E> {
                Ok(Coord(widen(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Coord, E> {
                Ok(Coord(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Coord, E> {
                Ok(Coord(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Coord, E> {
                Ok(Coord(v as f64))
            }
        }
        deserializer.deserialize_any(CoordVisitor)
    }
}

/// `v` as the `f64` nearest to its shortest round-trip decimal form.
fn widen(v: f32) -> f64 {
    let mut buf = [0u8; 64];
    let mut out = &mut buf[..];
    let capacity = out.len();
    if write!(out, "{v}").is_err() {
        return f64::from(v);
    }
    let written = capacity - out.len();
    std::str::from_utf8(&buf[..written])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::from(v))
}

/// An unsigned integer stored with any MMDB integer width.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Uint(u64);

impl<'de> Deserialize<'de> for Uint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Uint, D::Error> {
        struct UintVisitor;
        impl Visitor<'_> for UintVisitor {
            type Value = Uint;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an unsigned integer")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Uint, E> {
                Ok(Uint(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Uint, E> {
                u64::try_from(v).map(Uint).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Uint, E> {
                u64::try_from(v).map(Uint).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(UintVisitor)
    }
}

/// The first element of an array; the rest are skipped without being decoded.
struct FirstOf<T>(Option<T>);

impl<T> Default for FirstOf<T> {
    fn default() -> Self {
        FirstOf(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for FirstOf<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FirstOf<T>, D::Error> {
        struct FirstVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = FirstOf<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstOf<T>, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(FirstOf(first))
            }
        }
        deserializer.deserialize_seq(FirstVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_f32_to_its_decimal_form() {
        assert_eq!(widen(51.4036_f32), 51.4036);
        assert_eq!(widen(-0.7618_f32), -0.7618);
        assert_eq!(widen(37.751_f32), 37.751);
        assert_eq!(widen(0.0), 0.0);
    }

    #[test]
    fn merge_keeps_earlier_fields() {
        let mut p = Partial {
            country_code: Some("GB"),
            ..Partial::default()
        };
        p.fill(Partial {
            country_code: Some("US"),
            city: Some("Bracknell"),
            asn: Some(64512),
            ..Partial::default()
        });
        assert_eq!(p.country_code, Some("GB"));
        assert_eq!(p.city, Some("Bracknell"));
        assert_eq!(p.asn, Some(64512));
        assert_eq!(Partial::default().into_record(), None);
    }
}
