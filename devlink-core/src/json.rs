//! The JSON shapes of `devlink -j`, so scripts written for iproute2 read ours.
//!
//! Each object's view type (e.g. [`crate::TrapView`]) serializes to one entry
//! exactly as iproute2 prints it; the functions here wrap entries in the
//! section and handle layers iproute2 adds around them:
//!
//! | command | shape |
//! |---|---|
//! | `dev show` | `{"dev":{"pci/0000:01:00.0":{}}}` |
//! | `port show` | `{"port":{"pci/0000:01:00.0/1":{...}}}` |
//! | `trap show` | `{"trap":{"pci/0000:01:00.0":[{...},...]}}` |
//! | `trap group show` | `{"trap_group":{"pci/...":[...]}}` |
//! | `trap policer show` | `{"trap_policer":{"pci/...":[...]}}` |
//! | `dev param show` | `{"param":{"pci/...":[...]}}` |
//! | `health show` | `{"health":{"pci/...":[...], "pci/.../1":[...]}}` |
//! | `dev info` | `{"info":{"pci/...":{...}}}` |
//! | `region show` | `{"regions":{"pci/.../cr-space":{...}}}` |
//! | `dev reload` | `{"reload":{"reload_actions_performed":[...]}}` |
//!
//! Key order inside objects follows iproute2's print order; the writers here
//! serialize straight to text so that order is kept.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

/// A JSON object whose keys keep the order they were given in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `{"<section>":{"<key>":<entry>, ...}}`: sections where each handle has
/// one object (`dev`, `port`, `info`, `regions`).
pub struct ObjectSection<'a, V> {
    section: &'static str,
    entries: Vec<(String, &'a V)>,
}

impl<'a, V: Serialize> ObjectSection<'a, V> {
    /// A section named `section` with `entries` in order.
    pub fn new(section: &'static str, entries: impl IntoIterator<Item = (String, &'a V)>) -> Self {
        ObjectSection {
            section,
            entries: entries.into_iter().collect(),
        }
    }

    /// The text `devlink -j` prints.
    pub fn to_json(&self) -> String {
        to_string(self)
    }
}

impl<V: Serialize> Serialize for ObjectSection<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut outer = s.serialize_map(Some(1))?;
        outer.serialize_entry(self.section, &Entries(&self.entries))?;
        outer.end()
    }
}

struct Entries<'a, 'b, V>(&'b [(String, &'a V)]);

impl<V: Serialize> Serialize for Entries<'_, '_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// `{"<section>":{"<key>":[<entry>, ...], ...}}`: sections where a handle has
/// a list (`trap`, `trap_group`, `trap_policer`, `param`, `health`).
/// Consecutive entries with the same key share one array, as in iproute2.
pub struct ArraySection<'a, V> {
    section: &'static str,
    groups: Vec<(String, Vec<&'a V>)>,
}

impl<'a, V: Serialize> ArraySection<'a, V> {
    /// A section named `section`; entries are grouped by consecutive key.
    pub fn new(section: &'static str, entries: impl IntoIterator<Item = (String, &'a V)>) -> Self {
        let mut groups: Vec<(String, Vec<&'a V>)> = Vec::new();
        for (k, v) in entries {
            match groups.last_mut() {
                Some((last, list)) if *last == k => list.push(v),
                _ => groups.push((k, vec![v])),
            }
        }
        ArraySection { section, groups }
    }

    /// The text `devlink -j` prints.
    pub fn to_json(&self) -> String {
        to_string(self)
    }
}

impl<V: Serialize> Serialize for ArraySection<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut outer = s.serialize_map(Some(1))?;
        outer.serialize_entry(self.section, &Groups(&self.groups))?;
        outer.end()
    }
}

struct Groups<'a, 'b, V>(&'b [(String, Vec<&'a V>)]);

impl<V: Serialize> Serialize for Groups<'_, '_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, list) in self.0 {
            m.serialize_entry(k, &List(list))?;
        }
        m.end()
    }
}

struct List<'a, 'b, V>(&'b [&'a V]);

impl<V: Serialize> Serialize for List<'_, '_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

/// Serializes a value that cannot fail to serialize (every view type here:
/// string keys, no non-finite floats).
pub fn to_string<V: Serialize + ?Sized>(v: &V) -> String {
    match serde_json::to_string(v) {
        Ok(s) => s,
        // serde_json fails only for non-string map keys or a failing custom
        // impl; none of the crate's types has either.
        Err(e) => format!("{{\"error\":{:?}}}", e.to_string()),
    }
}

/// Formats a hardware address as iproute2's `ll_addr_n2a` does:
/// lower-case hex bytes separated by colons.
pub fn hw_addr_string(addr: &[u8]) -> String {
    let mut s = String::with_capacity(addr.len() * 3);
    for (i, b) in addr.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Splits wall-clock nanoseconds since the Unix epoch into the
/// (`"%Y-%m-%d"`, `"%H:%M:%S"`) pair iproute2 prints for a health dump.
/// iproute2 uses the local time zone; this crate prints UTC.
pub fn date_time_utc(ns: u64) -> (String, String) {
    let secs = ns / 1_000_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, (rem % 3600) / 60, rem % 60),
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct E {
        name: &'static str,
    }

    #[test]
    fn array_section_groups_consecutive_keys() {
        let a = E { name: "a" };
        let b = E { name: "b" };
        let c = E { name: "c" };
        let s = ArraySection::new(
            "trap",
            vec![
                ("x/1".to_string(), &a),
                ("x/1".to_string(), &b),
                ("y/2".to_string(), &c),
            ],
        );
        assert_eq!(
            s.to_json(),
            r#"{"trap":{"x/1":[{"name":"a"},{"name":"b"}],"y/2":[{"name":"c"}]}}"#
        );
    }

    #[test]
    fn object_section_and_ordered_map_keep_order() {
        let m = OrderedMap(vec![("zeta".to_string(), 1), ("alpha".to_string(), 2)]);
        let s = ObjectSection::new("dev", vec![("pci/0000:01:00.0".to_string(), &m)]);
        assert_eq!(
            s.to_json(),
            r#"{"dev":{"pci/0000:01:00.0":{"zeta":1,"alpha":2}}}"#
        );
    }

    #[test]
    fn hw_addr_like_ll_addr_n2a() {
        assert_eq!(
            hw_addr_string(&[0x00, 0x1b, 0xAA, 0, 0, 0xff]),
            "00:1b:aa:00:00:ff"
        );
        assert_eq!(hw_addr_string(&[]), "");
    }

    #[test]
    fn utc_date_time() {
        assert_eq!(date_time_utc(0), ("1970-01-01".into(), "00:00:00".into()));
        // 2024-02-29T12:34:56Z = 1709210096 s
        assert_eq!(
            date_time_utc(1_709_210_096_000_000_000),
            ("2024-02-29".into(), "12:34:56".into())
        );
    }
}
