//! Redis Cluster through the protocol: bootstrap (MEET, slot assignment, REPLICATE), manual
//! failover, and key → slot hashing.

use std::time::Duration;

use redis::Connection;

use super::client::{info, parse_fields, poll, run};
use super::{Member, Stack, HOST};
use crate::error::{Error, Result};
use crate::resolve::{Node, Role, CLUSTER_SLOTS};

/// One line of `CLUSTER NODES`, as far as redisctl needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Peer {
    pub id: String,
    /// `ip:port` (without the bus port and hostname).
    pub addr: String,
    pub myself: bool,
    pub master: bool,
    /// Still being introduced (`handshake`) or without an address yet (`noaddr`).
    pub joining: bool,
    /// Inclusive slot ranges served (masters only).
    pub slots: Vec<(u16, u16)>,
}

fn parse_cluster_nodes(text: &str) -> Vec<Peer> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let flags: Vec<&str> = f[2].split(',').collect();
            let slots = f[8..]
                .iter()
                .filter(|s| !s.starts_with('[')) // slots being migrated or imported
                .filter_map(|s| {
                    let (a, b) = s.split_once('-').unwrap_or((s, s));
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect();
            Some(Peer {
                id: f[0].to_string(),
                addr: f[1].split(['@', ',']).next().unwrap_or_default().to_string(),
                myself: flags.contains(&"myself"),
                master: flags.contains(&"master"),
                joining: flags.contains(&"handshake") || flags.contains(&"noaddr"),
                slots,
            })
        })
        .collect()
}

pub(super) fn cluster_nodes(con: &mut Connection, name: &str) -> Result<Vec<Peer>> {
    let text: String = run(con, name, &["CLUSTER", "NODES"])?;
    Ok(parse_cluster_nodes(&text))
}

/// Number of slots in inclusive ranges.
pub(super) fn slot_count(ranges: &[(u16, u16)]) -> u32 {
    ranges.iter().map(|&(a, b)| u32::from(b) - u32::from(a) + 1).sum()
}

/// The hash slot of a key (CRC16/XMODEM of the key or of its `{hash tag}`, mod 16384).
pub fn key_slot(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        rest.iter().position(|&b| b == b'}').filter(|&len| len > 0).map(|len| &rest[..len])
    });
    let mut crc: u16 = 0;
    for &byte in tagged.unwrap_or(key) {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc % CLUSTER_SLOTS as u16
}

/// A key `<prefix>{N}` whose slot falls in one of `ranges` (so a node owning those slots serves
/// it); `None` when the ranges are empty.
pub fn key_in_slots(prefix: &str, ranges: &[(u16, u16)]) -> Option<String> {
    if ranges.is_empty() {
        return None;
    }
    (0u32..).map(|i| format!("{prefix}{{{i}}}")).find(|k| {
        let slot = key_slot(k.as_bytes());
        ranges.iter().any(|&(a, b)| (a..=b).contains(&slot))
    })
}

/// The parts of `first..=last` that no peer in `view` serves, as ranges.
fn unowned(first: u16, last: u16, view: &[Peer]) -> Vec<(u16, u16)> {
    let owned = |slot: u16| view.iter().any(|p| p.slots.iter().any(|&(a, b)| (a..=b).contains(&slot)));
    let mut out: Vec<(u16, u16)> = Vec::new();
    for slot in (first..=last).filter(|&s| !owned(s)) {
        match out.last_mut() {
            Some((_, b)) if *b + 1 == slot => *b = slot,
            _ => out.push((slot, slot)),
        }
    }
    out
}

impl Stack {
    fn addr(node: &Node) -> String {
        format!("{HOST}:{}", node.port)
    }

    /// Form the cluster of the Deployment, idempotently: each rendered primary claims the
    /// slots of its range nobody serves yet, the first node MEETs the ones it does not know,
    /// then (once every node knows every node and sees all slots) each rendered replica that
    /// is still an empty master REPLICATEs the node now serving its shard's first slot. Ends
    /// when every node reports `cluster_state:ok`. On a formed cluster (also after failovers)
    /// it sends no command that changes anything.
    pub fn bootstrap_cluster(&self, timeout: Duration) -> Result<()> {
        let nodes = &self.deployment.nodes;
        let Some(first) = nodes.first().filter(|_| self.cluster()) else {
            return Err(Error::msg(format!("environment `{}` is not a cluster", self.deployment.env)));
        };
        let v7 = self.deployment.version().pair() >= (7, 0);
        let connect = |n: &Node| -> Result<(Connection, Vec<Peer>)> {
            let mut con = self.conn(Member::Node(n))?;
            let view = cluster_nodes(&mut con, &n.name)?;
            Ok((con, view))
        };

        for n in nodes {
            let Some((first_slot, last_slot)) = n.slots else {
                continue;
            };
            let (mut con, view) = connect(n)?;
            if !view.iter().any(|p| p.myself && p.master) {
                continue; // demoted by a failover: its shard is served by another node
            }
            for (a, b) in unowned(first_slot as u16, last_slot as u16, &view) {
                let slots: Vec<String> =
                    if v7 { vec![a.to_string(), b.to_string()] } else { (a..=b).map(|s| s.to_string()).collect() };
                let mut words = vec!["CLUSTER", if v7 { "ADDSLOTSRANGE" } else { "ADDSLOTS" }];
                words.extend(slots.iter().map(String::as_str));
                run::<()>(&mut con, &n.name, &words)?;
            }
        }

        let (mut con, view) = connect(first)?;
        for n in &nodes[1..] {
            if !view.iter().any(|p| p.addr == Self::addr(n)) {
                let (port, bus) = (n.port.to_string(), n.bus_port.map(|b| b.to_string()).unwrap_or_default());
                let words: &[&str] =
                    if v7 { &["CLUSTER", "MEET", HOST, &port, &bus] } else { &["CLUSTER", "MEET", HOST, &port] };
                run::<()>(&mut con, &first.name, words)?;
            }
        }

        let all_known = |n: &Node| -> Result<()> {
            let view = connect(n)?.1;
            let known = nodes.iter().filter(|m| view.iter().any(|p| !p.joining && p.addr == Self::addr(m))).count();
            let assigned: u32 = view.iter().filter(|p| p.master).map(|p| slot_count(&p.slots)).sum();
            if known < nodes.len() || assigned < CLUSTER_SLOTS {
                return Err(Error::msg(format!(
                    "{} knows {known} of {} nodes and sees {assigned} of {CLUSTER_SLOTS} slots assigned",
                    n.name,
                    nodes.len()
                )));
            }
            Ok(())
        };
        poll(timeout, || nodes.iter().try_for_each(all_known))?;

        for n in nodes {
            let Role::Replica(i) = n.role else { continue };
            let (mut con, view) = connect(n)?;
            if !view.iter().any(|p| p.myself && p.master && p.slots.is_empty()) {
                continue; // already a replica, or promoted by a failover
            }
            let shard_slot = nodes[i].slots.map(|(a, _)| a as u16).unwrap_or_default();
            let owner = view.iter().find(|p| p.master && p.slots.iter().any(|&(a, b)| (a..=b).contains(&shard_slot)));
            let owner =
                owner.ok_or_else(|| Error::msg(format!("{} sees no node serving slot {shard_slot}", n.name)))?;
            run::<()>(&mut con, &n.name, &["CLUSTER", "REPLICATE", &owner.id])?;
        }

        poll(timeout, || {
            nodes.iter().try_for_each(|n| {
                let mut con = self.conn(Member::Node(n))?;
                let text: String = run(&mut con, &n.name, &["CLUSTER", "INFO"])?;
                match parse_fields(&text).get("cluster_state").map(String::as_str) {
                    Some("ok") => Ok(()),
                    state => Err(Error::msg(format!("{}: cluster_state is {}", n.name, state.unwrap_or("missing")))),
                }
            })
        })
    }

    /// `CLUSTER FAILOVER` on a replica, then wait until the failover is complete on both sides:
    /// the replica reports itself primary and its old primary reports itself a replica of it.
    ///
    /// Waiting for the promotion alone is not enough before the old primary is restarted (as the
    /// rolling restart does right after this): until the new configuration reaches the old
    /// primary it still believes it serves the shard, and stopped at that moment it saves that
    /// role in nodes.conf and comes back claiming the slots, accepting writes that are thrown
    /// away once the cluster corrects it.
    pub fn cluster_failover(&self, replica: &str, timeout: Duration) -> Result<()> {
        let m = self.member(replica)?;
        let mut con = self.conn(m)?;
        let fields = info(&mut con, replica)?;
        let old = fields.get("master_port").and_then(|p| p.parse().ok()).and_then(|port| self.node_at(port));
        let old = old.ok_or_else(|| {
            Error::msg(format!(
                "{replica} is not a replica of a node of this stack (role {}, master_port {})",
                fields.get("role").map_or("unknown", String::as_str),
                fields.get("master_port").map_or("none", String::as_str)
            ))
        })?;
        run::<()>(&mut con, replica, &["CLUSTER", "FAILOVER"])?;
        poll(timeout, || match info(&mut con, replica)?.get("role").map(String::as_str) {
            Some("master") => Ok(()),
            role => Err(Error::msg(format!(
                "{replica} is still {} after CLUSTER FAILOVER ({timeout:?})",
                role.unwrap_or("unknown")
            ))),
        })?;
        let mut old_con = self.conn(Member::Node(old))?;
        let port = m.port().to_string();
        poll(timeout, || {
            let f = info(&mut old_con, &old.name)?;
            let (role, following) = (f.get("role").map(String::as_str), f.get("master_port"));
            if role == Some("slave") && following == Some(&port) {
                return Ok(());
            }
            Err(Error::msg(format!(
                "{} has not become a replica of {replica} after CLUSTER FAILOVER ({timeout:?}): role {}",
                old.name,
                role.unwrap_or("unknown")
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_cluster_spec() {
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"), "an empty tag hashes the whole key");
        let key = key_in_slots("k", &[(100, 200)]).unwrap();
        assert!((100..=200).contains(&key_slot(key.as_bytes())));
        assert_eq!(key_in_slots("k", &[]), None);
    }

    #[test]
    fn cluster_nodes_lines() {
        let text = "a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460 7000 [7001->-b2]\n\
                    b2 127.0.0.1:7001@17001,host slave a1 0 0 1 connected\n\
                    c3 127.0.0.1:7002@17002 handshake - 0 0 0 connected\n";
        let peers = parse_cluster_nodes(text);
        assert_eq!(peers.len(), 3);
        assert_eq!((peers[0].myself, peers[0].master), (true, true));
        assert_eq!(peers[0].slots, vec![(0, 5460), (7000, 7000)]);
        assert_eq!(peers[1].addr, "127.0.0.1:7001");
        assert!(!peers[1].master && peers[2].joining);
        assert_eq!(slot_count(&peers[0].slots), 5462);
        assert_eq!(unowned(5459, 5463, &peers), vec![(5461, 5463)]);
    }
}
