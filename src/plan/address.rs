//! Resource addresses: what a change, a state record and a plan line are keyed by.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A resource's stable address: its kind (`file`, `redis-config`, `acl-user`, `process`, ...)
/// and its path within that kind (`node-0/redis.conf`). Written `kind:path` in plans, saved
/// plans and the state file; typed so that no code parses the string back.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    kind: String,
    path: String,
}

impl Address {
    pub fn new(kind: &str, path: impl Into<String>) -> Address {
        Address { kind: kind.to_string(), path: path.into() }
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }

    /// `kind:path`; `None` without a kind.
    pub fn parse(text: &str) -> Option<Address> {
        let (kind, path) = text.split_once(':')?;
        (!kind.is_empty()).then(|| Address::new(kind, path))
    }

    /// A child address of the same kind: `rg/x` + `shards` → `rg/x/shards`.
    pub fn join(&self, part: &str) -> Address {
        Address::new(&self.kind, format!("{}/{part}", self.path))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.path)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Address, D::Error> {
        let text = String::deserialize(d)?;
        Address::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a `kind:path` address")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_reads_back_what_it_writes() {
        let a = Address::new("redis-config", "node-0/maxmemory");
        assert_eq!(a.to_string(), "redis-config:node-0/maxmemory");
        assert_eq!(Address::parse(&a.to_string()), Some(a.clone()));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), a);
        // The path may hold colons (IPv6 hosts, time windows); the kind never does.
        assert_eq!(Address::parse("file:a:b").unwrap().path(), "a:b");
        assert!(Address::parse("no-kind").is_none() && Address::parse(":x").is_none());
        assert!(serde_json::from_str::<Address>("\"nope\"").is_err());
    }
}
