//! ACL knowledge: the command rules each internal role gets by default, and the categories and
//! commands of each Redis version (`data/acl/`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

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
        // What prometheus-redis-exporter sends with `CONFIG` turned off (`-config-command -`,
        // whose CONFIG GET * would read masterauth): checked against a real exporter in the
        // peer tests, which fail on a NOPERM entry in the ACL log.
        UserRole::Exporter => {
            &["+info", "+ping", "+client|setname", "+slowlog|get", "+slowlog|len", "+latency|latest", "+cluster|info"]
        }
    }
}

/// The ACL categories and commands of one Redis version, kept as data in `data/acl/<version>.toml`
/// (each file says where it came from). `validate` checks command rules against it, so that a
/// rule redis-server would refuse (`+@nosuchcategory`, `+nosuchcommand`, `+cluster|nosuch`) is a
/// located error instead of a server that does not start.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclTable {
    pub version: String,
    /// Where the facts come from (a server, a source tag), or why they are inferred.
    pub source: String,
    /// `commands` is the version's whole command set: a name outside it is an error. When not,
    /// only categories are checked.
    pub names_checked: bool,
    /// The version whose commands stand in for this one's (whose own were not sourced).
    #[serde(default)]
    pub commands_from: Option<String>,
    /// In `ACL CAT` order.
    pub categories: Vec<String>,
    /// Every command and subcommand (`config|get`), lowercase, with its categories.
    #[serde(default)]
    pub commands: BTreeMap<String, Vec<String>>,
}

const TABLES: [(RedisVersion, &str); 6] = [
    (RedisVersion::V6_2, crate::util::data_json!("acl/6.2.toml")),
    (RedisVersion::V7_0, crate::util::data_json!("acl/7.0.toml")),
    (RedisVersion::V7_2, crate::util::data_json!("acl/7.2.toml")),
    (RedisVersion::V7_4, crate::util::data_json!("acl/7.4.toml")),
    (RedisVersion::V8_0, crate::util::data_json!("acl/8.0.toml")),
    (RedisVersion::V8_2, crate::util::data_json!("acl/8.2.toml")),
];

/// The ACL table of a Redis version, parsed on first use one version at a time: parsing all
/// six took a third of a whole `validate` run, which needs one.
pub fn table(version: RedisVersion) -> &'static AclTable {
    static LOADED: [OnceLock<AclTable>; TABLES.len()] = [const { OnceLock::new() }; TABLES.len()];
    let i = TABLES.iter().position(|(v, _)| *v == version).expect("a table per version");
    LOADED[i].get_or_init(|| {
        let mut t: AclTable =
            serde_json::from_str(TABLES[i].1).expect("data/acl/*.toml are valid (checked by a unit test)");
        if let Some(from) = t.commands_from.clone() {
            let source = TABLES.iter().find(|(v, _)| v.as_str() == from).map(|(v, _)| table(*v));
            t.commands = source.map(|s| s.commands.clone()).unwrap_or_default();
        }
        t
    })
}

/// Why redis-server would refuse a command rule, and the name it probably meant.
#[derive(Debug, PartialEq)]
pub struct BadRule {
    pub message: String,
    pub suggestion: Option<String>,
}

impl AclTable {
    /// Redis 6.2 keeps no subcommands apart (`+config|get` allows a first argument).
    fn has_subcommands(&self) -> bool {
        self.commands.keys().any(|k| k.contains('|'))
    }

    fn subcommands<'a>(&'a self, command: &'a str) -> impl Iterator<Item = &'a str> {
        self.commands.keys().filter_map(move |k| k.strip_prefix(command)?.strip_prefix('|'))
    }

    fn top_level(&self) -> impl Iterator<Item = &str> {
        self.commands.keys().map(String::as_str).filter(|k| !k.contains('|'))
    }

    /// The categories of a command or subcommand (6.2: a subcommand has its command's).
    pub fn categories_of(&self, name: &str) -> &[String] {
        let parent = name.split('|').next().unwrap_or(name);
        self.commands.get(name).or_else(|| self.commands.get(parent)).map_or(&[], Vec::as_slice)
    }

    /// Check one command rule (`+@read`, `-flushall`, `+cluster|slots`) the way redis-server's
    /// ACL parser does (ACLSetSelector in acl.c): categories and commands must exist, a
    /// subcommand must be one of its command's, and a first argument (`+select|0`) may only be
    /// allowed, not removed, and only for a command without subcommands.
    pub fn check_rule(&self, rule: &str) -> Result<(), BadRule> {
        let rule = rule.to_ascii_lowercase();
        let Some((sign, name)) = rule.split_at_checked(1).filter(|(s, _)| *s == "+" || *s == "-") else {
            return Ok(()); // `allcommands`, `nocommands`; other words are RCTL061
        };
        let bad = |message: String, suggestion: Option<&str>| {
            Err(BadRule { message, suggestion: suggestion.map(|s| format!("{sign}{s}")) })
        };
        if let Some(category) = name.strip_prefix('@') {
            if category == "all" || self.categories.iter().any(|c| c == category) {
                return Ok(());
            }
            let known = self.categories.iter().map(String::as_str).chain(["all"]);
            let suggestion = crate::util::suggest::did_you_mean(category, known).map(|c| format!("@{c}"));
            return bad(format!("Redis {} has no ACL category `@{category}`", self.version), suggestion.as_deref());
        }
        if !self.names_checked {
            return Ok(());
        }
        let (command, sub) = match name.split_once('|') {
            None => (name, None),
            // 7.0+ splits at the last `|`; a subcommand's own first argument is refused.
            Some((command, sub)) if self.has_subcommands() && sub.contains('|') => {
                return bad(
                    format!("`{sign}{name}`: ACL rules name a command and at most one subcommand"),
                    Some(&format!("{command}|{}", sub.split('|').next().unwrap_or(""))),
                );
            }
            Some((command, sub)) => (command, Some(sub)),
        };
        if !self.commands.contains_key(command) {
            let suggestion = crate::util::suggest::did_you_mean(command, self.top_level());
            let suggestion = suggestion.map(|s| sub.map_or(s.to_string(), |sub| format!("{s}|{sub}")));
            return bad(format!("Redis {} has no command `{command}`", self.version), suggestion.as_deref());
        }
        let Some(sub) = sub else { return Ok(()) };
        if sub.is_empty() {
            return bad(format!("`{sign}{name}` names no subcommand after `|`"), Some(command));
        }
        if !self.has_subcommands() {
            return match sign {
                "+" => Ok(()),
                _ => bad(
                    format!("Redis {} cannot remove part of a command: `-{name}` is refused", self.version),
                    Some(command),
                ),
            };
        }
        let subs: Vec<&str> = self.subcommands(command).collect();
        if subs.is_empty() {
            // `+select|0` allows one first argument; there is nothing to remove it from.
            return match sign {
                "+" => Ok(()),
                _ => bad(format!("`{command}` has no subcommands: `-{name}` is refused"), Some(command)),
            };
        }
        if subs.contains(&sub) {
            return Ok(());
        }
        let suggestion = crate::util::suggest::did_you_mean(sub, subs).map(|s| format!("{command}|{s}"));
        bad(
            format!("`{}` has no subcommand `{sub}` in Redis {}", command.to_uppercase(), self.version),
            suggestion.as_deref(),
        )
    }

    /// Whether `rules` (applied left to right, starting from nothing allowed) let a user run
    /// `name` (a command or `command|subcommand`) whatever its arguments: the last rule that
    /// names it, its command, or one of its categories decides.
    pub fn allows(&self, rules: &[String], name: &str) -> bool {
        let categories = self.categories_of(name);
        let command = name.split('|').next().unwrap_or(name);
        let mut allowed = false;
        for rule in rules {
            let rule = rule.to_ascii_lowercase();
            let (on, target) = match rule.as_str() {
                "allcommands" => (true, "@all"),
                "nocommands" => (false, "@all"),
                r => match r.split_at_checked(1) {
                    Some(("+", t)) => (true, t),
                    Some(("-", t)) => (false, t),
                    _ => continue,
                },
            };
            let matches = match target.strip_prefix('@') {
                Some(category) => category == "all" || categories.iter().any(|c| c == category),
                // `+config` covers every subcommand; `+config|get` only that one; a first
                // argument (`+set|key`) does not allow the command as a whole.
                None => target == command || target == name,
            };
            if matches {
                allowed = on;
            }
        }
        allowed
    }
}

/// What redisctl sends as the `role: operator` user to change a running node (`plan --live` /
/// `apply --live` of `systemd`, and every plan and apply of a local stack).
pub const LIVE_OPERATOR_COMMANDS: &[(&str, &str)] = &[
    ("config|get", "`plan` reading the live settings"),
    ("config|set", "`apply` changing settings live"),
    ("config|rewrite", "`apply` keeping live changes across restarts"),
    ("acl|list", "`plan` reading the live ACL users"),
    ("acl|setuser", "`apply` changing ACL users live"),
    ("acl|deluser", "`apply` removing ACL users live"),
];

/// What redisctl sends as the `role: operator` user to a local stack (`process`) besides the
/// live changes above: its readiness checks, recovery and stop.
pub const LOCAL_STACK_OPERATOR_COMMANDS: &[(&str, &str)] = &[
    ("ping", "the readiness checks"),
    ("info", "the readiness checks and `status`"),
    ("set", "the readiness probe write"),
    ("get", "the readiness probe read"),
    ("replicaof", "recovery promoting a replica"),
    ("shutdown", "`destroy` and rolling restarts stopping the nodes"),
];

/// What the health checks of container targets run as the `role: operator` user.
pub const HEALTH_OPERATOR_COMMANDS: &[(&str, &str)] = &[
    ("role", "the container health check"),
    ("info", "the container health check of the replication link"),
    ("set", "the container health check's probe write"),
    ("get", "the container health check's probe read"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_table_loads_for_its_version() {
        for v in RedisVersion::ALL {
            let t = table(v);
            assert_eq!(t.version, v.as_str());
            assert!(t.categories.len() >= 21, "{}", t.version);
            assert!(t.commands.len() > 200, "{}: {} commands", t.version, t.commands.len());
            for (name, cats) in &t.commands {
                assert_eq!(name, &name.to_ascii_lowercase());
                assert!(cats.iter().all(|c| t.categories.contains(c)), "{name}: {cats:?}");
                assert!(cats.iter().any(|c| c == "fast" || c == "slow"), "{name}");
            }
        }
        assert!(table(RedisVersion::V6_2).commands.keys().all(|k| !k.contains('|')));
        assert!(!table(RedisVersion::V8_2).names_checked);
    }

    #[test]
    fn the_roles_defaults_are_valid_rules() {
        for v in RedisVersion::ALL {
            for role in [
                UserRole::Application,
                UserRole::Replication,
                UserRole::Sentinel,
                UserRole::Operator,
                UserRole::Exporter,
            ] {
                for rule in role_defaults(role, v) {
                    assert_eq!(table(v).check_rule(rule), Ok(()), "{} {role:?} {rule}", v.as_str());
                }
            }
        }
    }

    #[test]
    fn rules_are_checked_like_redis_server_does() {
        let t = table(RedisVersion::V7_0);
        for ok in
            ["+@read", "+@ALL", "-@dangerous", "+GET", "+cluster|slots", "+Config|Get", "+select|0", "allcommands"]
        {
            assert_eq!(t.check_rule(ok), Ok(()), "{ok}");
        }
        let bad = |r: &str| t.check_rule(r).unwrap_err();
        assert_eq!(bad("+@nosuchcategory").suggestion, None);
        assert_eq!(bad("+@raed").suggestion.as_deref(), Some("+@read"));
        assert_eq!(bad("-flushal").suggestion.as_deref(), Some("-flushall"));
        assert_eq!(bad("+cluster|slot").suggestion.as_deref(), Some("+cluster|slots"));
        assert!(bad("+config|get|x").message.contains("at most one subcommand"));
        assert!(bad("-get|foo").message.contains("no subcommands"));
        assert!(bad("+get|").message.contains("no subcommand"));
        // 6.2: a first argument of any command may be allowed, never removed.
        let t = table(RedisVersion::V6_2);
        assert_eq!(t.check_rule("+config|anything"), Ok(()));
        assert!(t.check_rule("-config|get").unwrap_err().message.contains("cannot remove part"));
        // 8.2: categories only.
        let t = table(RedisVersion::V8_2);
        assert_eq!(t.check_rule("+xdelex"), Ok(()));
        assert!(t.check_rule("+@nosuchcategory").is_err());
    }

    #[test]
    fn allows_follows_the_last_rule_that_names_the_command() {
        let t = table(RedisVersion::V7_0);
        assert!(t.allows(&rules(&["+@all"]), "config|set"));
        assert!(!t.allows(&rules(&["+@all", "-@admin"]), "config|get"));
        assert!(t.allows(&rules(&["+@all", "-@admin", "+config"]), "config|get"));
        assert!(!t.allows(&rules(&["+@all", "-config|set"]), "config|set"));
        assert!(t.allows(&rules(&["+@all", "-config|set"]), "config|get"));
        assert!(!t.allows(&rules(&["+@read", "+set|probe"]), "set"));
        assert!(!t.allows(&rules(&["+@all", "nocommands", "+get"]), "acl|list"));
        let t = table(RedisVersion::V6_2);
        assert!(t.allows(&rules(&["-@all", "+config|get"]), "config|get"));
        assert!(!t.allows(&rules(&["+@all", "-config"]), "config|get"));
    }
}
