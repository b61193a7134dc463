//! Topology maths: the nodes and Sentinels of a topology, their names, ports, roles and
//! hash-slot ranges, derived from the contract alone (no secrets, no target).

use super::{Contract, TopologyMode};

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
