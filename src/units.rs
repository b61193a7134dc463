//! Sizes, durations and Kubernetes quantities, parsed strictly.
//!
//! Redis sizes follow redis.conf (`1k` = 1000, `1kb` = 1024; case-insensitive), durations use
//! `ms`/`s`/`m`/`h`, quantities follow Kubernetes (`512Mi`, `2G`). Anything else (fractions,
//! negative values, spaces, overflow) is rejected with a message saying what is accepted.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A memory size in bytes, written the redis.conf way: `512mb`, `4gb`, `1048576`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

/// A duration in milliseconds, written `500ms`, `2s`, `5m`, `1h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub u64);

/// A Kubernetes memory quantity (`768Mi`, `6Gi`, `1G`), kept as written and as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity {
    pub text: String,
    pub bytes: u64,
}

/// One unit system: what a value is called, its units (suffix → multiplier), and the words
/// and examples its error messages use.
struct Units {
    what: &'static str,
    table: &'static [(&'static str, u64)],
    /// "a unit ms, s, m or h (e.g. `500ms`, `2s`)": what a valid suffix looks like.
    accepted: &'static str,
    /// Example shown when the value does not start with digits.
    example: &'static str,
}

const SIZE: Units = Units {
    what: "size",
    table: &[
        ("", 1),
        ("b", 1),
        ("k", 1_000),
        ("kb", 1 << 10),
        ("m", 1_000_000),
        ("mb", 1 << 20),
        ("g", 1_000_000_000),
        ("gb", 1 << 30),
    ],
    accepted: "an optional unit b, k, kb, m, mb, g or gb (e.g. `512mb`)",
    example: "`512mb`",
};

const DURATION: Units = Units {
    what: "duration",
    table: &[("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)],
    accepted: "a unit ms, s, m or h (e.g. `500ms`, `2s`)",
    example: "`2s`",
};

const QUANTITY: Units = Units {
    what: "Kubernetes memory quantity",
    table: &[
        ("", 1),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
    ],
    accepted: "a suffix Ki, Mi, Gi, Ti, k, M, G or T (e.g. `768Mi`)",
    example: "`6Gi`",
};

/// Parse `text` (already case-folded where the units are case-insensitive) as digits and a
/// unit of `units`; messages quote `original`, as the user wrote it.
fn parse_units(text: &str, original: &str, units: &Units) -> Result<u64, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let what = units.what;
    let Some(&(_, mult)) = units.table.iter().find(|(u, _)| *u == unit) else {
        return Err(format!("`{original}` is not a {what}: use a whole number with {}", units.accepted));
    };
    let n = match digits.parse::<u64>() {
        Ok(n) => n,
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => return Err(format!("`{original}` is too large")),
        Err(_) => {
            return Err(format!(
                "`{original}` is not a {what}: it must start with a whole number (e.g. {})",
                units.example
            ))
        }
    };
    n.checked_mul(mult).ok_or_else(|| format!("`{original}` is too large"))
}

pub fn parse_size(s: &str) -> Result<u64, String> {
    parse_units(&s.to_ascii_lowercase(), s, &SIZE)
}

pub fn parse_duration(s: &str) -> Result<u64, String> {
    parse_units(s, s, &DURATION)
}

pub fn parse_quantity(s: &str) -> Result<u64, String> {
    parse_units(s, s, &QUANTITY)
}

/// Bytes as the shortest exact redis.conf size (`536870912` → `512mb`).
pub fn format_size(bytes: u64) -> String {
    for (unit, mult) in [("gb", 1u64 << 30), ("mb", 1 << 20), ("kb", 1 << 10)] {
        if bytes >= mult && bytes.is_multiple_of(mult) {
            return format!("{}{unit}", bytes / mult);
        }
    }
    bytes.to_string()
}

pub fn format_duration(ms: u64) -> String {
    for (unit, mult) in [("h", 3_600_000u64), ("m", 60_000), ("s", 1_000)] {
        if ms >= mult && ms.is_multiple_of(mult) {
            return format!("{}{unit}", ms / mult);
        }
    }
    format!("{ms}ms")
}

/// Accepts a non-negative integer or a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrString {
    Int(u64),
    String(String),
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match IntOrString::deserialize(d)
            .map_err(|_| de::Error::custom("expected a size such as `512mb` or a number of bytes"))?
        {
            IntOrString::Int(n) => Ok(Size(n)),
            IntOrString::String(s) => parse_size(&s).map(Size).map_err(de::Error::custom),
        }
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_size(self.0))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_size(self.0))
    }
}

impl JsonSchema for Size {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A memory size: a number of bytes, or a whole number with a redis.conf unit (b, k=1000, kb=1024, m, mb, g, gb; case-insensitive).",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "pattern": "^[0-9]+([bB]|[kKmMgG][bB]?)?$" }
            ],
            "examples": ["512mb", "4gb"]
        })
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d).map_err(|_| de::Error::custom("expected a duration such as `500ms` or `2s`"))?;
        parse_duration(&s).map(Duration).map_err(de::Error::custom)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: a whole number with a unit ms, s, m or h.",
            "type": "string",
            "pattern": "^[0-9]+(ms|s|m|h)$",
            "examples": ["500ms", "2s"]
        })
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)
            .map_err(|_| de::Error::custom("expected a Kubernetes memory quantity such as `768Mi`"))?;
        let bytes = parse_quantity(&s).map_err(de::Error::custom)?;
        Ok(Quantity { text: s, bytes })
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl JsonSchema for Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A Kubernetes memory quantity: a whole number with a suffix Ki, Mi, Gi, Ti (powers of 1024) or k, M, G, T (powers of 1000).",
            "type": "string",
            "pattern": "^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$",
            "examples": ["768Mi", "6Gi"]
        })
    }
}

/// A calendar date written `YYYY-MM-DD` (waiver expiry, drill dates); the calendar is jiff's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

impl Date {
    pub fn parse(s: &str) -> Result<Date, String> {
        let bad = || format!("`{s}` is not a date: write it as YYYY-MM-DD (e.g. `2027-01-31`)");
        let parts: Vec<&str> = s.split('-').collect();
        let [y, m, d] = parts.as_slice() else { return Err(bad()) };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 || !s.chars().all(|c| c.is_ascii_digit() || c == '-') {
            return Err(bad());
        }
        let (year, month, day) =
            (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        jiff::civil::Date::new(year, month, day).map(Date).map_err(|_| format!("`{s}` is not a date of the calendar"))
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        self.0.to_zoned(jiff::tz::TimeZone::UTC).map_or(0, |z| z.timestamp().as_second().div_euclid(86_400))
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let at = jiff::Timestamp::from_second(days.saturating_mul(86_400)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Date(at.to_zoned(jiff::tz::TimeZone::UTC).date())
    }

    /// Today (UTC), or `REDISCTL_TODAY` (YYYY-MM-DD) when set, so that CI runs and tests of
    /// date-dependent output (waiver expiry, drill age) are reproducible.
    pub fn today() -> Date {
        if let Some(d) = std::env::var("REDISCTL_TODAY").ok().and_then(|s| Date::parse(&s).ok()) {
            return d;
        }
        Date(jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date())
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month(), self.0.day())
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d).map_err(|_| de::Error::custom("expected a date such as `2027-01-31`"))?;
        Date::parse(&s).map_err(de::Error::custom)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl JsonSchema for Date {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A calendar date, YYYY-MM-DD.",
            "type": "string",
            "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "examples": ["2027-01-31"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict_and_count_days() {
        assert_eq!(Date::parse("2027-01-31").unwrap().to_string(), "2027-01-31");
        assert_eq!(Date::parse("1970-01-01").unwrap().days(), 0);
        assert_eq!(Date::parse("2000-03-01").unwrap().days(), 11_017);
        for d in [0, 11_017, 20_000, 59, 60, -1] {
            assert_eq!(Date::from_days(d).days(), d);
        }
        assert_eq!(Date::parse("2024-02-29").unwrap().days() + 1, Date::parse("2024-03-01").unwrap().days());
        for bad in ["2023-02-29", "2027-1-31", "2027-13-01", "27-01-31", "2027/01/31", "", "2027-01-3a", "+027-01-31"] {
            assert!(Date::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn sizes_follow_redis_conf_units() {
        assert_eq!(parse_size("512mb"), Ok(512 << 20));
        assert_eq!(parse_size("4GB"), Ok(4 << 30));
        assert_eq!(parse_size("1k"), Ok(1000));
        assert_eq!(parse_size("100"), Ok(100));
        for bad in ["", "mb", "-1mb", "1.5gb", "1 mb", "5tb", "99999999999999999999gb", "18446744073709551615gb"] {
            assert!(parse_size(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(parse_size("99999999999999999999gb"), Err("`99999999999999999999gb` is too large".into()));
        assert_eq!(parse_duration("99999999999999999999s"), Err("`99999999999999999999s` is too large".into()));
        assert!(parse_size("gb").unwrap_err().contains("whole number"));
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("2s"), Ok(2000));
        assert_eq!(parse_duration("1h"), Ok(3_600_000));
        for bad in ["500", "2 s", "-1s", "1.5s", "s"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn quantities_follow_kubernetes() {
        assert_eq!(parse_quantity("768Mi"), Ok(768 << 20));
        assert_eq!(parse_quantity("1G"), Ok(1_000_000_000));
        assert!(parse_quantity("1gb").is_err());
    }

    #[test]
    fn sizes_format_back_exactly() {
        assert_eq!(format_size(512 << 20), "512mb");
        assert_eq!(format_size(1000), "1000");
        assert_eq!(format_duration(2000), "2s");
        assert_eq!(format_duration(1500), "1500ms");
    }
}
