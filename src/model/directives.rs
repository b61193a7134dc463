//! The Redis directive table, kept as data in `data/directives.toml`.
//!
//! One row per redis.conf directive: its value type, the first Redis version that has it
//! (and the first that dropped it), whether CONFIG SET can change it live or it needs a
//! restart, and whether redisctl renders it itself from a contract field (`reserved`).
//! Validation, the live planner and the renderers all read this one table.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::model::RedisVersion;
use crate::units::parse_size;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Bool,
    Int,
    Memory,
    Percent,
    Enum,
    String,
    Special,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Apply {
    /// CONFIG SET changes it on a running server.
    Live,
    /// Only read at startup (IMMUTABLE_CONFIG): changing it means a restart.
    Restart,
    /// PROTECTED_CONFIG: CONFIG SET refuses it unless enable-protected-configs allows it.
    Protected,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directive {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Kind,
    pub since: String,
    #[serde(default)]
    pub until: Option<String>,
    pub apply: Apply,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub multi: bool,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Set when redisctl renders this directive from a contract field; the text says which.
    #[serde(default)]
    pub reserved: Option<String>,
    /// The compiled-in value (as CONFIG GET prints it) of a live directive, from `default_since`.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub default_since: Option<String>,
}

#[derive(Deserialize)]
struct Table {
    directive: Vec<Directive>,
}

pub struct Directives {
    rows: Vec<Directive>,
    /// Name or alias → (row, is an alias).
    by_name: HashMap<String, (usize, bool)>,
}

/// Where a directive stands for one Redis version.
pub enum Lookup<'a> {
    Available(&'a Directive),
    TooNew(&'a Directive),
    Removed(&'a Directive),
    Unknown,
}

fn parse_version(v: &str) -> (u32, u32) {
    let (a, b) = v.split_once('.').unwrap_or((v, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

impl Directive {
    pub fn available_in(&self, version: RedisVersion) -> bool {
        let v = version.pair();
        parse_version(&self.since) <= v && self.until.as_deref().is_none_or(|u| v < parse_version(u))
    }

    /// What a server of `version` uses when its config file does not set this directive, if known.
    pub fn default_in(&self, version: RedisVersion) -> Option<&str> {
        let known = self.default_since.as_deref().is_none_or(|s| parse_version(s) <= version.pair());
        self.default.as_deref().filter(|_| known)
    }

    /// Check one value (one line's arguments, as written) against the directive's type.
    pub fn check_value(&self, value: &str) -> Result<(), String> {
        let int = |s: &str| -> Result<i64, String> {
            s.parse::<i64>().map_err(|_| format!("`{}` takes a whole number, not `{s}`", self.name))
        };
        let bounds = |n: i64| -> Result<(), String> {
            if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
                let min = self.min.map_or("-".into(), |m| m.to_string());
                let max = self.max.map_or("-".into(), |m| m.to_string());
                return Err(format!("`{}` must be between {min} and {max}, not {n}", self.name));
            }
            Ok(())
        };
        match self.kind {
            Kind::Bool => match value.to_ascii_lowercase().as_str() {
                "yes" | "no" => Ok(()),
                _ => Err(format!("`{}` takes yes or no (or true/false), not `{value}`", self.name)),
            },
            Kind::Int => bounds(int(value)?),
            Kind::Memory => {
                let bytes = parse_size(value).map_err(|e| format!("`{}`: {e}", self.name))?;
                bounds(i64::try_from(bytes).map_err(|_| format!("`{}`: `{value}` is too large", self.name))?)
            }
            Kind::Percent => match value.strip_suffix('%') {
                Some(p) => int(p).and_then(|n| {
                    if (0..=100).contains(&n) {
                        Ok(())
                    } else {
                        Err(format!("`{}`: {value} is not a percentage", self.name))
                    }
                }),
                None => parse_size(value).map(|_| ()).map_err(|e| format!("`{}`: {e}", self.name)),
            },
            Kind::Enum => {
                // Some enums (e.g. `oom-score-adj`) take one value; flag enums take several.
                for word in value.split_whitespace() {
                    if !self.values.iter().any(|v| v.eq_ignore_ascii_case(word)) {
                        return Err(format!("`{}` takes one of {}, not `{word}`", self.name, self.values.join(", ")));
                    }
                }
                Ok(())
            }
            Kind::String | Kind::Special => Ok(()),
        }
    }
}

impl Directives {
    pub fn get() -> &'static Directives {
        static TABLE: OnceLock<Directives> = OnceLock::new();
        TABLE.get_or_init(|| {
            let table: Table = serde_json::from_str(crate::util::data_json!("directives.toml"))
                .expect("data/directives.toml is valid (checked by a unit test)");
            let mut by_name = HashMap::new();
            for (i, d) in table.directive.iter().enumerate() {
                by_name.insert(d.name.clone(), (i, false));
                for alias in &d.aliases {
                    by_name.insert(alias.clone(), (i, true));
                }
            }
            Directives { rows: table.directive, by_name }
        })
    }

    pub fn find(&self, name: &str) -> Option<&Directive> {
        self.by_name.get(&name.to_ascii_lowercase()).map(|&(i, _)| &self.rows[i])
    }

    pub fn lookup(&self, name: &str, version: RedisVersion) -> Lookup<'_> {
        let alias = self.by_name.get(&name.to_ascii_lowercase()).is_some_and(|&(_, a)| a);
        match self.find(name) {
            None => Lookup::Unknown,
            Some(d) if d.available_in(version) => Lookup::Available(d),
            // Aliases are the old spellings: every covered version accepts them, even where
            // the primary name arrived later (hash-max-ziplist-* vs hash-max-listpack-* in 6.2).
            Some(d) if alias && d.until.is_none() => Lookup::Available(d),
            Some(d) if d.until.as_deref().is_some_and(|u| version.pair() >= parse_version(u)) => Lookup::Removed(d),
            Some(d) => Lookup::TooNew(d),
        }
    }

    /// Names (not aliases) available in `version`, for suggestions.
    pub fn names(&self, version: RedisVersion) -> impl Iterator<Item = &str> {
        self.rows.iter().filter(move |d| d.available_in(version)).map(|d| d.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_loads_and_is_consistent() {
        let t = Directives::get();
        assert!(t.rows.len() > 150, "only {} directives", t.rows.len());
        let mut seen = std::collections::HashSet::new();
        for d in &t.rows {
            assert!(seen.insert(d.name.clone()), "duplicate row {}", d.name);
            assert_eq!(d.name, d.name.to_ascii_lowercase());
            if d.kind == Kind::Enum {
                assert!(!d.values.is_empty(), "enum {} has no values", d.name);
            }
            let since = parse_version(&d.since);
            assert!(since.0 >= 1, "{} has a bad since", d.name);
        }
    }

    #[test]
    fn version_gates_follow_the_table() {
        let t = Directives::get();
        assert!(matches!(t.lookup("maxmemory-clients", RedisVersion::V6_2), Lookup::TooNew(_)));
        assert!(matches!(t.lookup("maxmemory-clients", RedisVersion::V7_0), Lookup::Available(_)));
        assert!(matches!(t.lookup("no-such-directive", RedisVersion::V7_0), Lookup::Unknown));
        assert!(matches!(t.lookup("hash-max-ziplist-entries", RedisVersion::V6_2), Lookup::Available(_)));
        assert!(matches!(t.lookup("hash-max-listpack-entries", RedisVersion::V6_2), Lookup::TooNew(_)));
    }

    #[test]
    fn values_are_checked_by_type() {
        let t = Directives::get();
        assert!(t.find("timeout").unwrap().check_value("300").is_ok());
        assert!(t.find("timeout").unwrap().check_value("abc").is_err());
        assert!(t.find("appendonly").unwrap().check_value("maybe").is_err());
        assert!(t.find("maxmemory").unwrap().check_value("512mb").is_ok());
        assert_eq!(t.find("databases").unwrap().apply, Apply::Restart);
        assert_eq!(t.find("maxmemory").unwrap().apply, Apply::Live);
    }
}
