//! Contract + environment → Deployment: the fully resolved desired state of one environment.
//!
//! Renderers and providers read only the Deployment: node names, roles, ports, slot ranges,
//! users with their resolved passwords. Names are role-neutral (`node-0`, `sentinel-0`)
//! because roles move during failovers while names and ports must stay stable.

use std::path::Path;

use std::collections::BTreeMap;

use crate::contract::checks::config_lines;
use crate::contract::Loaded;
use crate::model::directives::Directives;
use crate::model::{AclUser, Auth, Contract, RedisVersion, UserRole};
use crate::secrets::{Secret, Secrets};

pub use crate::model::topology::{layout, majority, Node, Role, Sentinel, CLUSTER_BUS_OFFSET, CLUSTER_SLOTS};

#[derive(Debug, Clone)]
pub struct User {
    pub spec: AclUser,
    /// `None` when the target passes passwords by reference (containers, managed), or when the
    /// command reads no secret values (`Secrets::FormOnly`).
    pub secret: Option<Secret>,
    /// The password being rotated out (`previousPassword`), resolved like `secret`.
    pub previous: Option<Secret>,
    /// The SHA-256 (hex) the running servers hold for this user's password, when `import`
    /// adopts a deployment whose passwords it cannot read: render writes it where it writes the
    /// hash of `secret`, so the adopted files are the bytes a render with the password gives.
    pub adopted_sha256: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub env: String,
    pub contract: Contract,
    pub files: Vec<String>,
    pub fingerprint: String,
    pub nodes: Vec<Node>,
    pub sentinels: Vec<Sentinel>,
    pub users: Vec<User>,
    pub master_name: String,
    pub quorum: u32,
    /// The settings every node runs with, resolved once.
    pub settings: Settings,
    /// Whether the secret values were read (`users[].secret`); see `Secrets`.
    pub secrets: Secrets,
}

/// The redis.conf settings the contract gives every node, resolved once: render writes them,
/// the live provider compares running servers with them, managed targets turn them into
/// parameters.
#[derive(Debug, Clone)]
pub struct Settings {
    pub maxmemory: Option<u64>,
    pub maxmemory_policy: &'static str,
    pub appendonly: bool,
    pub appendfsync: &'static str,
    /// `save` points as arguments (`["900", "1"]`); none when RDB snapshots are off.
    pub save: Vec<Vec<String>>,
    /// `redis.config`, in the contract's order.
    pub config: Vec<Directive>,
}

/// One `redis.config` entry.
#[derive(Debug, Clone)]
pub struct Directive {
    /// As written, in lower case (what the rendered file says).
    pub name: String,
    /// Its name in the directive table: old spellings (`slave-read-only`) are aliases, and a
    /// running server reports the current one.
    pub canonical: String,
    /// One value per line: several for directives that repeat (`rename-command`).
    pub lines: Vec<String>,
    /// Whether each line holds several arguments (split on whitespace).
    pub multi: bool,
    /// Set by the target, not the contract (`TargetFacts::config_defaults`): why.
    pub from_target: Option<&'static str>,
}

impl Directive {
    /// The arguments of each line.
    pub fn args(&self) -> Vec<Vec<String>> {
        let split =
            |l: &String| if self.multi { l.split_whitespace().map(String::from).collect() } else { vec![l.clone()] };
        self.lines.iter().map(split).collect()
    }
}

impl Settings {
    pub fn of(c: &Contract) -> Settings {
        let p = &c.redis.persistence;
        let table = Directives::get();
        let config = c
            .redis
            .config
            .iter()
            .map(|(name, value)| {
                let entry = table.find(name);
                Directive {
                    name: name.to_ascii_lowercase(),
                    canonical: entry.map(|d| d.name.clone()).unwrap_or_else(|| name.to_ascii_lowercase()),
                    lines: config_lines(value),
                    multi: entry.is_some_and(|d| d.multi),
                    from_target: None,
                }
            })
            .collect::<Vec<_>>();
        let mut config = config;
        for (name, value, why) in c.target.facts().config_defaults {
            if !config.iter().any(|d| d.canonical == *name) {
                let directive = Directive {
                    name: name.to_string(),
                    canonical: name.to_string(),
                    lines: vec![value.to_string()],
                    multi: false,
                    from_target: Some(why),
                };
                config.push(directive);
            }
        }
        Settings {
            maxmemory: c.resources.maxmemory.map(|m| m.0),
            maxmemory_policy: c.redis.maxmemory_policy.as_str(),
            appendonly: p.mode.aof(),
            appendfsync: p.fsync.as_str(),
            save: if p.mode.rdb() {
                p.snapshots.iter().map(|s| s.split_whitespace().map(String::from).collect()).collect()
            } else {
                Vec::new()
            },
            config,
        }
    }

    /// `redis.config` as a running server reports it (`CONFIG GET`): canonical name → value.
    pub fn config_values(&self) -> BTreeMap<String, String> {
        self.config.iter().map(|d| (d.canonical.clone(), d.lines.join(" "))).collect()
    }

    /// Every setting as a running server reports it, for the ones that can differ between the
    /// rendered file and a running server.
    pub fn running(&self) -> BTreeMap<String, String> {
        let mut want = BTreeMap::new();
        if let Some(max) = self.maxmemory {
            want.insert("maxmemory".into(), max.to_string());
        }
        want.insert("maxmemory-policy".into(), self.maxmemory_policy.into());
        want.insert("appendonly".into(), if self.appendonly { "yes" } else { "no" }.into());
        if self.appendonly {
            want.insert("appendfsync".into(), self.appendfsync.into());
        }
        want.insert("save".into(), self.save.iter().map(|s| s.join(" ")).collect::<Vec<_>>().join(" "));
        want.extend(self.config_values());
        want
    }
}

impl Deployment {
    /// Build the deployment of a checked contract. Secret values are read here for targets
    /// that need them, when the command loaded it with `Secrets::Needed`; loading has already
    /// reported unreadable ones.
    pub fn resolve(loaded: &Loaded, project_dir: &Path) -> Result<Deployment, String> {
        let c = &loaded.contract;
        let (nodes, sentinels) = layout(c);
        let mut users = Vec::new();
        for spec in &c.acl.users {
            let resolve = |what: &str, r: &crate::model::SecretRef| {
                r.resolve(project_dir).map_err(|e| format!("{what} of ACL user `{}`: {e}", spec.name))
            };
            let (secret, previous) = if c.target.facts().secrets_at_render && loaded.secrets == Secrets::Needed {
                let previous = spec.previous_password.as_ref().map(|p| resolve("previousPassword", p)).transpose()?;
                (Some(resolve("password", &spec.password)?), previous)
            } else {
                (None, None)
            };
            users.push(User { spec: spec.clone(), secret, previous, adopted_sha256: None });
        }
        Ok(Deployment {
            env: loaded.env.clone(),
            contract: c.clone(),
            files: loaded.files.clone(),
            fingerprint: loaded.fingerprint.clone(),
            nodes,
            sentinels,
            users,
            master_name: c.topology.master_name.clone().unwrap_or_else(|| c.service.clone()),
            quorum: c.topology.quorum.unwrap_or_else(|| majority(c.topology.sentinels)),
            settings: Settings::of(c),
            secrets: loaded.secrets,
        })
    }

    pub fn version(&self) -> RedisVersion {
        self.contract.redis.version
    }

    pub fn auth_required(&self) -> bool {
        self.contract.security.auth == Auth::Required
    }

    pub fn user_with_role(&self, role: UserRole) -> Option<&User> {
        self.users.iter().find(|u| u.spec.role == role)
    }

    /// The port the node or Sentinel `name` has in the layout (targets may place it elsewhere:
    /// `targets::endpoint`).
    pub fn port_of(&self, name: &str) -> Option<u32> {
        let node = self.nodes.iter().find(|n| n.name == name).map(|n| n.port);
        node.or_else(|| self.sentinels.iter().find(|s| s.name == name).map(|s| s.port))
    }

    pub fn primary_of(&self, node: &Node) -> Option<&Node> {
        match node.role {
            Role::Replica(i) => self.nodes.get(i),
            Role::Primary => None,
        }
    }
}

/// Key, channel and command rules of a user (everything after its password).
pub fn user_rules(d: &Deployment, user: &User) -> Vec<String> {
    let spec = &user.spec;
    let mut rules = Vec::new();
    let keys: Vec<String> = if !spec.keys.is_empty() {
        spec.keys.clone()
    } else if spec.role == UserRole::Application {
        match &d.contract.keyspace.prefix {
            Some(prefix) => vec![format!("{prefix}:*")],
            None => vec!["*".to_string()],
        }
    } else if spec.role == UserRole::Operator {
        vec!["*".to_string()]
    } else {
        Vec::new()
    };
    rules.extend(keys.iter().map(|k| format!("~{k}")));
    let channels: Vec<String> = if spec.role == UserRole::Sentinel && spec.channels.is_empty() {
        vec!["__sentinel__:hello".to_string()]
    } else {
        spec.channels.clone()
    };
    rules.extend(channels.iter().map(|c| format!("&{c}")));
    if spec.commands.is_empty() {
        rules.extend(crate::model::acl::role_defaults(spec.role, d.version()).iter().map(|s| s.to_string()));
    } else {
        rules.extend(spec.commands.iter().cloned());
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_is_more_than_half() {
        assert_eq!(majority(3), 2);
        assert_eq!(majority(4), 3);
        assert_eq!(majority(5), 3);
    }
}
