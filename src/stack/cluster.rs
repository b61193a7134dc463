//! Redis Cluster through the protocol: bootstrap (MEET, slot assignment, REPLICATE), manual
//! failover, and key → slot hashing.

use std::time::Duration;

use redis::Connection;

use super::client::{info, parse_fields, poll, poll_shown, run};
use super::{Member, Stack, HOST};
use crate::error::{Error, Result};
use crate::resolve::{Node, CLUSTER_SLOTS};

/// One line of `CLUSTER NODES`, as far as redisctl needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Peer {
    pub id: String,
    /// `ip:port` (without the bus port and hostname).
    pub addr: String,
    pub myself: bool,
    pub master: bool,
    /// The id of the master this replica follows.
    pub master_of: Option<String>,
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
                master_of: (f[3] != "-").then(|| f[3].to_string()),
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

/// The parts of `ranges` inside `first..=last`.
fn overlap(ranges: &[(u16, u16)], first: u16, last: u16) -> Vec<(u16, u16)> {
    ranges.iter().map(|&(a, b)| (a.max(first), b.min(last))).filter(|(a, b)| a <= b).collect()
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

/// What one node says about itself and the cluster.
struct Seen {
    con: Connection,
    view: Vec<Peer>,
}

impl Seen {
    fn me(&self) -> Option<&Peer> {
        self.view.iter().find(|p| p.myself)
    }
}

impl Stack {
    fn addr(node: &Node) -> String {
        format!("{HOST}:{}", node.port)
    }

    fn seen(&self, n: &Node) -> Result<Seen> {
        let mut con = self.conn(Member::Node(n))?;
        let view = cluster_nodes(&mut con, &n.name)?;
        Ok(Seen { con, view })
    }

    /// The nodes the contract gives shard `s`: its primary and its replicas.
    fn shard_members(&self, s: u32) -> impl Iterator<Item = &Node> {
        self.deployment.nodes.iter().filter(move |n| n.shard == Some(s))
    }

    fn shards(&self) -> impl Iterator<Item = (&Node, (u16, u16))> {
        self.deployment.nodes.iter().filter_map(|n| n.slots.map(|(a, b)| (n, (a as u16, b as u16))))
    }

    /// The member of a shard that serves slots now (after failovers, not necessarily the one the
    /// contract calls primary); `None` for a shard nobody serves yet.
    fn shard_master(&self, s: u32) -> Result<Option<&Node>> {
        let Some((first, last)) = self.shards().find(|(p, _)| p.shard == Some(s)).map(|(_, r)| r) else {
            return Ok(None);
        };
        // A member serving only other shards' slots (the primary of a shard that left, now a
        // replica here) is drained by migration, not counted.
        let mut serving = Vec::new();
        for n in self.shard_members(s) {
            if self.seen(n)?.me().is_some_and(|me| me.master && !overlap(&me.slots, first, last).is_empty()) {
                serving.push(n);
            }
        }
        match serving.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => Err(Error::msg(format!(
                "shard {s} has {} primaries serving slots ({}); resolve it by hand (CLUSTER FAILOVER / REPLICATE)",
                many.len(),
                many.iter().map(|n| n.name.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// Form the cluster of the Deployment, and bring an existing one to the contract's shape,
    /// idempotently (on a cluster in shape, also after failovers, it sends no command that
    /// changes anything):
    /// 1. a node the contract makes the primary of a shard nobody serves, still a replica of
    ///    another shard, is emptied (`CLUSTER RESET`: its data is a copy of its primary's) to
    ///    join as an empty primary;
    /// 2. the first node MEETs the nodes it does not know, every node FORGETs the ones the
    ///    contract no longer has;
    /// 3. each shard's serving node (the rendered primary for a new shard) claims the slots of
    ///    its range nobody serves, and takes the ones another node serves by migrating them,
    ///    keys included (`SETSLOT IMPORTING/MIGRATING`, `MIGRATE`, `SETSLOT NODE`);
    /// 4. every other member of a shard REPLICATEs its serving node.
    ///
    /// Ends when every node reports `cluster_state:ok`.
    pub fn bootstrap_cluster(&self, timeout: Duration) -> Result<()> {
        let nodes = &self.deployment.nodes;
        let Some(first) = nodes.first().filter(|_| self.cluster()) else {
            return Err(Error::msg(format!("environment `{}` is not a cluster", self.deployment.env)));
        };
        let v7 = self.deployment.version().pair() >= (7, 0);
        let node_at = |addr: &str| nodes.iter().find(|n| Self::addr(n) == addr);

        let mut reset = Vec::new();
        for (p, _) in self.shards() {
            if self.shard_master(p.shard.unwrap_or(0))?.is_some() {
                continue;
            }
            let mut seen = self.seen(p)?;
            let Some(me) = seen.me().filter(|me| !me.master).cloned() else { continue };
            let followed = me.master_of.as_deref().and_then(|id| seen.view.iter().find(|x| x.id == id));
            if followed.and_then(|f| node_at(&f.addr)).is_some_and(|f| f.shard == p.shard) {
                continue; // a replica of its own shard: the shard is served, by a failover's winner
            }
            let link = info(&mut seen.con, &p.name)?.get("master_link_status").cloned().unwrap_or_default();
            if link != "up" {
                return Err(Error::msg(format!(
                    "{} must become the primary of shard {} but is a replica whose link to its primary is {link}: \
                     it may hold the only copy of that data; bring its primary back first",
                    p.name,
                    p.shard.unwrap_or(0)
                )));
            }
            run::<()>(&mut seen.con, &p.name, &["CLUSTER", "RESET", "SOFT"])?;
            reset.push(p.name.clone());
        }

        self.form_new_cluster(v7, timeout)?;
        let mut con = self.seen(first)?;
        for n in &nodes[1..] {
            let known_here = con.view.iter().any(|p| p.addr == Self::addr(n) && !p.joining);
            // A node that was reset (now or by an interrupted apply) forgot everyone, while the
            // others still know it: introduce it again.
            let knows_first = self.seen(n)?.view.iter().any(|p| p.addr == Self::addr(first));
            if reset.contains(&n.name) || !known_here || !knows_first {
                let (port, bus) = (n.port.to_string(), n.bus_port.map(|b| b.to_string()).unwrap_or_default());
                let words: &[&str] =
                    if v7 { &["CLUSTER", "MEET", HOST, &port, &bus] } else { &["CLUSTER", "MEET", HOST, &port] };
                run::<()>(&mut con.con, &first.name, words)?;
            }
        }
        let knows = |n: &Node, exactly: bool| -> Result<()> {
            let view = self.seen(n)?.view;
            let known = nodes.iter().filter(|m| view.iter().any(|p| !p.joining && p.addr == Self::addr(m))).count();
            if known < nodes.len() || (exactly && view.len() > nodes.len()) {
                return Err(Error::msg(format!(
                    "{} knows {known} of {} nodes ({} in all)",
                    n.name,
                    nodes.len(),
                    view.len()
                )));
            }
            Ok(())
        };
        poll_shown("cluster: waiting for every node to know the others", timeout, || {
            nodes.iter().try_for_each(|n| knows(n, false))
        })?;

        for (p, (first_slot, last_slot)) in self.shards() {
            let s = p.shard.unwrap_or(0);
            let owner = self.shard_master(s)?.unwrap_or(p);
            let mut seen = self.seen(owner)?;
            for (a, b) in unowned(first_slot, last_slot, &seen.view) {
                let slots: Vec<String> =
                    if v7 { vec![a.to_string(), b.to_string()] } else { (a..=b).map(|s| s.to_string()).collect() };
                let mut words = vec!["CLUSTER", if v7 { "ADDSLOTSRANGE" } else { "ADDSLOTS" }];
                words.extend(slots.iter().map(String::as_str));
                run::<()>(&mut seen.con, &owner.name, &words)?;
            }
            let my_id = seen.me().map(|me| me.id.clone()).unwrap_or_default();
            // Slots of this shard another node serves: a node of another shard, or one the
            // contract no longer has (scale-in: it is stopped only after it has been drained).
            let moving: Vec<&Peer> = seen
                .view
                .iter()
                .filter(|x| x.id != my_id && !overlap(&x.slots, first_slot, last_slot).is_empty())
                .collect();
            if !moving.is_empty() {
                // A node that just joined refuses the keys (CLUSTERDOWN) until it sees every
                // slot served.
                poll(timeout, || self.cluster_ok(owner))?;
            }
            for from in moving {
                for range in overlap(&from.slots, first_slot, last_slot) {
                    let port = from.addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok());
                    let port = port.ok_or_else(|| Error::msg(format!("no port in the address {}", from.addr)))?;
                    let source = node_at(&from.addr).map_or(from.addr.clone(), |n| n.name.clone());
                    self.migrate((&source, port, &from.id), owner, &my_id, range)?;
                }
            }
        }

        // Nodes the contract no longer has serve nothing now; a forgotten node comes back
        // through gossip unless every node forgets it.
        for n in nodes {
            let mut seen = self.seen(n)?;
            let gone: Vec<String> =
                seen.view.iter().filter(|p| !p.myself && node_at(&p.addr).is_none()).map(|p| p.id.clone()).collect();
            for id in gone {
                run::<()>(&mut seen.con, &n.name, &["CLUSTER", "FORGET", &id])?;
            }
        }
        poll_shown("cluster: waiting for forgotten nodes to leave every view", timeout, || {
            nodes.iter().try_for_each(|n| knows(n, true))
        })?;

        // Until a pass finds every member following its shard's primary: while the shape
        // changes, Redis's replica migration moves a replica to a primary left without one,
        // which may be another shard's, so a single pass is not enough.
        poll_shown("cluster: waiting for replicas to follow their shard's primary", timeout, || {
            self.follow_shard_primaries()
        })?;
        // What a client asks any node (CLUSTER NODES / SHARDS) is the shape only once gossip
        // has carried every member's own role to every other node.
        poll_shown("cluster: waiting for gossip to agree", timeout, || self.views_agree())?;

        poll_shown("cluster: waiting for cluster_state ok", timeout, || {
            nodes.iter().try_for_each(|n| self.cluster_ok(n))
        })
    }

    /// A new cluster (every node knows only itself and serves nothing) is formed in the order
    /// that lets every handshake carry the final shape: each shard's primary claims its slots
    /// (with a config epoch of its own, as `redis-cli --cluster create` does), each replica
    /// meets its primary and follows it, and only then do all nodes meet. Slots claimed and
    /// roles taken after the meeting reach the other nodes only with heartbeats, seconds later.
    fn form_new_cluster(&self, v7: bool, timeout: Duration) -> Result<()> {
        for n in &self.deployment.nodes {
            let view = self.seen(n)?.view;
            if view.len() != 1 || view.iter().any(|p| !p.slots.is_empty()) {
                return Ok(());
            }
        }
        for (epoch, (p, (a, b))) in self.shards().enumerate() {
            let mut con = self.conn(Member::Node(p))?;
            let slots: Vec<String> =
                if v7 { vec![a.to_string(), b.to_string()] } else { (a..=b).map(|s| s.to_string()).collect() };
            let mut words = vec!["CLUSTER", if v7 { "ADDSLOTSRANGE" } else { "ADDSLOTS" }];
            words.extend(slots.iter().map(String::as_str));
            run::<()>(&mut con, &p.name, &words)?;
            run::<()>(&mut con, &p.name, &["CLUSTER", "SET-CONFIG-EPOCH", &(epoch + 1).to_string()])?;
        }
        let pairs: Vec<(&Node, &Node)> = self
            .shards()
            .flat_map(|(p, _)| {
                self.shard_members(p.shard.unwrap_or(0)).filter(move |n| n.name != p.name).map(move |r| (r, p))
            })
            .collect();
        for (replica, primary) in &pairs {
            self.meet(replica, primary, v7)?;
        }
        for (replica, primary) in &pairs {
            let primary_id = self.seen(primary)?.me().map(|me| me.id.clone()).unwrap_or_default();
            poll(timeout, || {
                let mut seen = self.seen(replica)?;
                if !seen.view.iter().any(|x| x.id == primary_id && x.master && !x.joining) {
                    return Err(Error::msg(format!("{} does not know {} yet", replica.name, primary.name)));
                }
                run::<()>(&mut seen.con, &replica.name, &["CLUSTER", "REPLICATE", &primary_id])
            })?;
        }
        Ok(())
    }

    /// `from` sends CLUSTER MEET to `to`.
    fn meet(&self, from: &Node, to: &Node, v7: bool) -> Result<()> {
        let mut con = self.conn(Member::Node(from))?;
        let (port, bus) = (to.port.to_string(), to.bus_port.map(|b| b.to_string()).unwrap_or_default());
        let words: &[&str] =
            if v7 { &["CLUSTER", "MEET", HOST, &port, &bus] } else { &["CLUSTER", "MEET", HOST, &port] };
        run::<()>(&mut con, &from.name, words)
    }

    /// `Err` while some node's view of a member (primary or replica of whom, which slots)
    /// differs from what that member says of itself.
    fn views_agree(&self) -> Result<()> {
        let seen = self.deployment.nodes.iter().map(|n| Ok((n, self.seen(n)?.view))).collect::<Result<Vec<_>>>()?;
        let selves: Vec<Peer> = seen.iter().filter_map(|(_, view)| view.iter().find(|p| p.myself).cloned()).collect();
        for (n, view) in &seen {
            for me in &selves {
                let there = view.iter().find(|p| p.id == me.id);
                let agrees =
                    there.is_some_and(|p| p.master == me.master && p.master_of == me.master_of && p.slots == me.slots);
                if !agrees {
                    return Err(Error::msg(format!("{} does not see {} as it is yet", n.name, me.addr)));
                }
            }
        }
        Ok(())
    }

    /// One pass: every member of a shard that does not follow the shard's primary is told to
    /// (once it sees that node as a primary); `Err` while any had to be told or is not ready.
    fn follow_shard_primaries(&self) -> Result<()> {
        let mut pending = Vec::new();
        for (p, _) in self.shards() {
            let s = p.shard.unwrap_or(0);
            let Some(owner) = self.shard_master(s)? else {
                pending.push(format!("shard {s} has no primary yet"));
                continue;
            };
            let owner_id = self.seen(owner)?.me().map(|me| me.id.clone()).unwrap_or_default();
            for n in self.shard_members(s).filter(|n| n.name != owner.name) {
                let mut seen = self.seen(n)?;
                if seen.me().is_some_and(|me| me.master_of.as_deref() == Some(owner_id.as_str())) {
                    continue;
                }
                // A node that was just reset learns about its new primary through gossip.
                if seen.view.iter().any(|x| x.id == owner_id && x.master) {
                    run::<()>(&mut seen.con, &n.name, &["CLUSTER", "REPLICATE", &owner_id])?;
                    pending.push(format!("{} told to replicate {}", n.name, owner.name));
                } else {
                    pending.push(format!("{} does not see {} as a primary yet", n.name, owner.name));
                }
            }
        }
        match pending.is_empty() {
            true => Ok(()),
            false => Err(Error::msg(pending.join("; "))),
        }
    }

    fn cluster_ok(&self, n: &Node) -> Result<()> {
        let mut con = self.conn(Member::Node(n))?;
        let text: String = run(&mut con, &n.name, &["CLUSTER", "INFO"])?;
        match parse_fields(&text).get("cluster_state").map(String::as_str) {
            Some("ok") => Ok(()),
            state => Err(Error::msg(format!("{}: cluster_state is {}", n.name, state.unwrap_or("missing")))),
        }
    }

    /// Whether the cluster has the contract's shape: in every shard one member serves exactly
    /// the shard's slots and every other member replicates it. A failover inside a shard keeps
    /// the shape; a changed `shards` or `replicasPerShard` does not, until apply reshapes it.
    pub(super) fn shape_problem(&self) -> Result<Option<(String, String)>> {
        for (p, (first_slot, last_slot)) in self.shards() {
            let s = p.shard.unwrap_or(0);
            let Some(owner) = self.shard_master(s)? else {
                return Ok(Some((p.name.clone(), format!("no member of shard {s} serves slots"))));
            };
            let seen = self.seen(owner)?;
            let Some(me) = seen.me() else { return Ok(Some((owner.name.clone(), "not in its own view".into()))) };
            let within = me.slots.iter().all(|&(a, b)| a >= first_slot && b <= last_slot);
            if !within || slot_count(&me.slots) != slot_count(&[(first_slot, last_slot)]) {
                return Ok(Some((
                    owner.name.clone(),
                    format!("serves slots {:?}; shard {s} is {first_slot}-{last_slot}", me.slots),
                )));
            }
            for n in self.shard_members(s).filter(|n| n.name != owner.name) {
                let follows = self.seen(n)?.me().is_some_and(|x| x.master_of.as_deref() == Some(me.id.as_str()));
                if !follows {
                    return Ok(Some((
                        n.name.clone(),
                        format!("does not replicate {}, the primary of shard {s}", owner.name),
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Move the slots `range` from `source` to `target`, keys included: the target imports,
    /// the source migrates (clients are redirected with ASK meanwhile), the keys move with
    /// MIGRATE, then both record the new owner. Safe to run again after an interruption.
    /// `source` is (name, port, cluster id): it may be a node the contract no longer has.
    fn migrate(&self, source: (&str, u32, &str), target: &Node, target_id: &str, range: (u16, u16)) -> Result<()> {
        let (source_name, source_port, source_id) = source;
        let mut src = self
            .open(source_port, self.operator()?)
            .map_err(|e| Error::msg(format!("cannot connect to {source_name} to migrate its slots: {e}")))?;
        let mut dst = self.conn(Member::Node(target))?;
        let slots = range.0..=range.1;
        let batch = |con: &mut Connection, name: &str, state: &str, id: &str| -> Result<()> {
            let mut pipe = redis::pipe();
            for slot in slots.clone() {
                pipe.cmd("CLUSTER").arg("SETSLOT").arg(slot).arg(state).arg(id).ignore();
            }
            pipe.query::<()>(con).map_err(|e| {
                // A pipeline error lists every failed command: the first says it.
                let text = e.to_string();
                let first: String = text.chars().take(200).collect();
                Error::msg(format!("{name}: CLUSTER SETSLOT {state} {range:?} failed: {first}"))
            })
        };
        batch(&mut dst, &target.name, "IMPORTING", source_id)?;
        batch(&mut src, source_name, "MIGRATING", target_id)?;
        let login =
            self.operator()?.and_then(|u| u.secret.as_ref().map(|s| (u.spec.name.clone(), s.expose().to_string())));
        for slot in slots.clone() {
            loop {
                let keys: Vec<Vec<u8>> =
                    run(&mut src, source_name, &["CLUSTER", "GETKEYSINSLOT", &slot.to_string(), "256"])?;
                if keys.is_empty() {
                    break;
                }
                let mut cmd = redis::cmd("MIGRATE");
                cmd.arg(HOST).arg(target.port).arg("").arg(0).arg(10_000).arg("REPLACE");
                if let Some((user, password)) = &login {
                    cmd.arg("AUTH2").arg(user).arg(password);
                }
                cmd.arg("KEYS").arg(&keys);
                // The command holds the operator's password: the error never shows it.
                cmd.query::<()>(&mut src).map_err(|e| {
                    Error::msg(format!(
                        "{source_name}: MIGRATE of {} key(s) of slot {slot} to {} failed: {}",
                        keys.len(),
                        target.name,
                        e.detail().unwrap_or("no detail")
                    ))
                })?;
            }
        }
        batch(&mut dst, &target.name, "NODE", target_id)?;
        // A primary that has given away its last slot turns itself into a replica of the node
        // that took it, and then takes the slot map from there.
        let still_primary = info(&mut src, source_name)?.get("role").is_some_and(|r| r == "master");
        if still_primary {
            batch(&mut src, source_name, "NODE", target_id)?;
        }
        Ok(())
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
