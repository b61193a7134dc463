//! ACL knowledge: the command rules each internal role gets by default.

use super::{RedisVersion, UserRole};

/// Default command rules of the internal roles (from the Redis replication and Sentinel docs).
pub fn role_defaults(role: UserRole, version: RedisVersion) -> &'static [&'static str] {
    match role {
        // Cluster clients discover the slot map with CLUSTER SLOTS / NODES (SHARDS from 7.0);
        // allowed in every topology so that an application's rules are the same everywhere
        // (parity), answered with an error where cluster mode is off.
        UserRole::Application if version < RedisVersion::V7_0 => {
            &["+@read", "+@write", "-@dangerous", "+ping", "+cluster|slots", "+cluster|nodes"]
        }
        UserRole::Application => {
            &["+@read", "+@write", "-@dangerous", "+ping", "+cluster|slots", "+cluster|nodes", "+cluster|shards"]
        }
        UserRole::Replication => &["+psync", "+replconf", "+ping"],
        UserRole::Sentinel => &[
            "+multi",
            "+slaveof",
            "+ping",
            "+exec",
            "+subscribe",
            "+config|rewrite",
            "+role",
            "+publish",
            "+info",
            "+client|setname",
            "+client|kill",
            "+script|kill",
        ],
        UserRole::Operator => &["+@all"],
    }
}
