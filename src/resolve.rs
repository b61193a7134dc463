//! Contract + environment → Deployment: the fully resolved desired state of one environment.
//!
//! Renderers and providers read only the Deployment: node names, roles, ports, slot ranges,
//! users with their resolved passwords. Names are role-neutral (`node-0`, `sentinel-0`)
//! because roles move during failovers while names and ports must stay stable.

use std::path::Path;

use crate::contract::Loaded;
use crate::model::{AclUser, Auth, Contract, RedisVersion, UserRole};
use crate::secrets::Secret;

pub use crate::model::topology::{layout, majority, Node, Role, Sentinel, CLUSTER_BUS_OFFSET, CLUSTER_SLOTS};

#[derive(Debug, Clone)]
pub struct User {
    pub spec: AclUser,
    /// `None` when the target passes passwords by reference (containers, managed).
    pub secret: Option<Secret>,
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
}

impl Deployment {
    /// Build the deployment of a checked contract. Secret values are read here for targets
    /// that need them; validation has already reported unreadable ones.
    pub fn resolve(loaded: &Loaded, project_dir: &Path) -> Result<Deployment, String> {
        let c = &loaded.contract;
        let (nodes, sentinels) = layout(c);
        let mut users = Vec::new();
        for spec in &c.acl.users {
            let secret = if c.target.facts().secrets_at_render {
                Some(
                    spec.password
                        .resolve(project_dir)
                        .map_err(|e| format!("password of ACL user `{}`: {e}", spec.name))?,
                )
            } else {
                None
            };
            users.push(User { spec: spec.clone(), secret });
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
