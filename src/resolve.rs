//! Contract + environment → Deployment: the fully resolved desired state of one environment.
//!
//! Renderers and providers read only the Deployment: node names, roles, ports, slot ranges,
//! users with their resolved passwords. Names are role-neutral (`node-0`, `sentinel-0`)
//! because roles move during failovers while names and ports must stay stable.

use std::path::Path;

use crate::contract::model::{AclUser, Auth, Contract, RedisVersion, TopologyMode, UserRole};
use crate::contract::Loaded;
use crate::secrets::Secret;

pub const CLUSTER_SLOTS: u32 = 16384;
pub const CLUSTER_BUS_OFFSET: u32 = 10000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Primary,
    /// Replica of the node at this index in `Deployment::nodes`.
    Replica(usize),
}

#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub port: u32,
    /// Cluster bus port (cluster mode only).
    pub bus_port: Option<u32>,
    pub role: Role,
    /// Shard index (cluster mode only).
    pub shard: Option<u32>,
    /// Inclusive hash-slot range owned by this primary (cluster mode only).
    pub slots: Option<(u32, u32)>,
}

#[derive(Debug, Clone)]
pub struct Sentinel {
    pub name: String,
    pub port: u32,
}

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

/// Node and Sentinel layout of a topology (no secrets needed: checks use it for ports).
pub fn layout(c: &Contract) -> (Vec<Node>, Vec<Sentinel>) {
    let t = &c.topology;
    let base = c.ports.redis;
    let plain = |i: u32, role: Role| Node {
        name: format!("node-{i}"),
        port: base + i,
        bus_port: None,
        role,
        shard: None,
        slots: None,
    };
    let mut nodes = Vec::new();
    let mut sentinels = Vec::new();
    match t.mode {
        TopologyMode::Standalone => nodes.push(plain(0, Role::Primary)),
        TopologyMode::Replication | TopologyMode::Sentinel => {
            nodes.push(plain(0, Role::Primary));
            for i in 1..=t.replicas {
                nodes.push(plain(i, Role::Replica(0)));
            }
            if t.mode == TopologyMode::Sentinel {
                for j in 0..t.sentinels {
                    sentinels.push(Sentinel { name: format!("sentinel-{j}"), port: c.ports.sentinel + j });
                }
            }
        }
        TopologyMode::Cluster => {
            let shards = t.shards.max(1);
            for s in 0..shards {
                let first = s * CLUSTER_SLOTS / shards;
                let last = (s + 1) * CLUSTER_SLOTS / shards - 1;
                nodes.push(Node {
                    name: format!("node-{s}"),
                    port: base + s,
                    bus_port: Some(base + s + CLUSTER_BUS_OFFSET),
                    role: Role::Primary,
                    shard: Some(s),
                    slots: Some((first, last)),
                });
            }
            for s in 0..shards {
                for r in 0..t.replicas_per_shard {
                    let i = shards + s * t.replicas_per_shard + r;
                    nodes.push(Node {
                        name: format!("node-{i}"),
                        port: base + i,
                        bus_port: Some(base + i + CLUSTER_BUS_OFFSET),
                        role: Role::Replica(s as usize),
                        shard: Some(s),
                        slots: None,
                    });
                }
            }
        }
    }
    (nodes, sentinels)
}

/// Majority of `n` Sentinels.
pub fn majority(n: u32) -> u32 {
    n / 2 + 1
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

    pub fn primary_of(&self, node: &Node) -> Option<&Node> {
        match node.role {
            Role::Replica(i) => self.nodes.get(i),
            Role::Primary => None,
        }
    }
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
