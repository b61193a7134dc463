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

pub fn parse_size(s: &str) -> Result<u64, String> {
    let lower = s.to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let mult: u64 = match unit {
        "" | "b" => 1,
        "k" => 1_000,
        "kb" => 1 << 10,
        "m" => 1_000_000,
        "mb" => 1 << 20,
        "g" => 1_000_000_000,
        "gb" => 1 << 30,
        _ => return Err(format!("`{s}` is not a size: use a whole number with an optional unit b, k, kb, m, mb, g or gb (e.g. `512mb`)")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size: it must start with a whole number (e.g. `512mb`)"))?;
    n.checked_mul(mult).ok_or_else(|| format!("`{s}` is too large"))
}

pub fn parse_duration(s: &str) -> Result<u64, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let mult: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("`{s}` is not a duration: use a whole number with a unit ms, s, m or h (e.g. `500ms`, `2s`)")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration: it must start with a whole number (e.g. `2s`)"))?;
    n.checked_mul(mult).ok_or_else(|| format!("`{s}` is too large"))
}

pub fn parse_quantity(s: &str) -> Result<u64, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return Err(format!("`{s}` is not a Kubernetes memory quantity: use a whole number with a suffix Ki, Mi, Gi, Ti, k, M, G or T (e.g. `768Mi`)")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a Kubernetes memory quantity: it must start with a whole number (e.g. `6Gi`)"))?;
    n.checked_mul(mult).ok_or_else(|| format!("`{s}` is too large"))
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
        match IntOrString::deserialize(d).map_err(|_| de::Error::custom("expected a size such as `512mb` or a number of bytes"))? {
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
        let s = String::deserialize(d).map_err(|_| de::Error::custom("expected a Kubernetes memory quantity such as `768Mi`"))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_redis_conf_units() {
        assert_eq!(parse_size("512mb"), Ok(512 << 20));
        assert_eq!(parse_size("4GB"), Ok(4 << 30));
        assert_eq!(parse_size("1k"), Ok(1000));
        assert_eq!(parse_size("100"), Ok(100));
        for bad in ["", "mb", "-1mb", "1.5gb", "1 mb", "5tb", "99999999999999999999gb", "18446744073709551615gb"] {
            assert!(parse_size(bad).is_err(), "{bad} should be rejected");
        }
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
