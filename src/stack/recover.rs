//! A node that comes back after dying must never become the source of a resync.
//!
//! Without persistence (or with a save older than its replicas' copy) a primary that died
//! restarts with less data than its replicas hold, and a replica that resyncs from it throws
//! its own copy away: every acknowledged write is gone. So before a dead primary is started
//! again, the primary role moves to the replica holding the data (Sentinel failover, cluster
//! failover, or a direct promotion where nothing else fails over), and the node comes back as
//! a replica of it.

use std::collections::HashMap;
use std::time::Duration;

use super::client::{info, poll, run};
use super::cluster::cluster_nodes;
use super::process::Upstream;
use super::{Member, Stack, HOST};
use crate::error::{Error, Result};
use crate::model::TopologyMode;
use crate::resolve::Node;

/// How long the promotion of a replica may take.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(30);

/// A running node as it reports itself (`INFO`).
struct Running<'a> {
    node: &'a Node,
    fields: HashMap<String, String>,
}

impl Running<'_> {
    fn field(&self, k: &str) -> &str {
        self.fields.get(k).map(String::as_str).unwrap_or_default()
    }
    fn is_primary(&self) -> bool {
        self.field("role") == "master"
    }
    /// A replica of the node at `port` that had a live replication link to it in this process's
    /// life (`master_link_down_since_seconds` is -1 until a first link): it holds that node's
    /// data. A replica that never synced holds nothing worth keeping.
    fn synced_replica_of(&self, port: u32) -> bool {
        !self.is_primary()
            && self.field("master_port") == port.to_string()
            && self.field("master_link_down_since_seconds") != "-1"
    }
    fn offset(&self) -> u64 {
        self.field("slave_repl_offset").parse().unwrap_or(0)
    }
}

impl Stack {
    /// Before `node` (not running) starts: if running replicas hold the data it served as
    /// primary, promote the best of them and return the role `node` must start in (a replica
    /// of the new primary; `None` in cluster mode, where the cluster demotes it). If another
    /// node already is the primary, `node` follows it. `Ok(None)` when neither applies (the
    /// usual start-up rules decide).
    pub(super) fn hand_over_before_start(&self, node: &Node) -> Result<Option<Upstream>> {
        let running: Vec<Running> = self
            .deployment
            .nodes
            .iter()
            .filter(|n| n.name != node.name && self.running_pid(Member::Node(n)).is_some())
            .filter_map(|n| {
                let fields = info(&mut self.conn(Member::Node(n)).ok()?, &n.name).ok()?;
                Some(Running { node: n, fields })
            })
            .collect();
        let follow = |primary: &Node| Upstream::ReplicaOf { host: HOST.into(), port: primary.port };
        if !self.cluster() {
            if let Some(primary) = self.current_primary(&running) {
                return Ok(Some(follow(primary)));
            }
        }
        let Some(best) =
            running.iter().filter(|r| r.synced_replica_of(node.port)).max_by_key(|r| (r.offset(), r.node.port))
        else {
            return Ok(None);
        };
        let promoted = match self.deployment.contract.topology.mode {
            TopologyMode::Cluster => {
                self.promote_cluster_replica(best.node)?;
                return Ok(None);
            }
            TopologyMode::Sentinel => self.sentinel_failover_from(node.port, HANDOVER_TIMEOUT)?,
            TopologyMode::Standalone | TopologyMode::Replication => self.promote_replica(best.node, &running)?,
        };
        let promoted = self.member(&promoted).ok().and_then(|m| match m {
            Member::Node(n) => Some(n),
            Member::Sentinel(_) => None,
        });
        let promoted = promoted.ok_or_else(|| Error::msg("the promoted primary is not a node of this stack"))?;
        tracing::info!(
            "recovery: {} died as the primary of running replicas; {} holds its data and was promoted, {} comes back as its replica",
            node.name, promoted.name, node.name
        );
        Ok(Some(follow(promoted)))
    }

    /// The running primary others should follow: the one the Sentinels report when it is
    /// among them, else the first running primary.
    fn current_primary<'a>(&self, running: &[Running<'a>]) -> Option<&'a Node> {
        let reported = self.sentinel_master_addr().ok().map(|(_, port)| port);
        let primaries: Vec<&Running> = running.iter().filter(|r| r.is_primary()).collect();
        primaries.iter().find(|r| Some(r.node.port) == reported).or(primaries.first()).map(|r| r.node)
    }

    /// Without Sentinel nothing else fails over: `REPLICAOF NO ONE` on the best replica, the
    /// other running replicas follow it, and `CONFIG REWRITE` keeps each role in the node's
    /// runtime config for its next start. Returns the promoted node's name.
    fn promote_replica(&self, best: &Node, running: &[Running]) -> Result<String> {
        let mut con = self.conn(Member::Node(best))?;
        run::<()>(&mut con, &best.name, &["REPLICAOF", "NO", "ONE"])?;
        run::<()>(&mut con, &best.name, &["CONFIG", "REWRITE"])?;
        let port = best.port.to_string();
        for other in running.iter().filter(|r| r.node.name != best.name && !r.is_primary()) {
            let mut con = self.conn(Member::Node(other.node))?;
            run::<()>(&mut con, &other.node.name, &["REPLICAOF", HOST, &port])?;
            run::<()>(&mut con, &other.node.name, &["CONFIG", "REWRITE"])?;
        }
        Ok(best.name.clone())
    }

    /// `CLUSTER FAILOVER FORCE` on the replica of a dead cluster primary (FORCE: its primary
    /// cannot take part), then wait until it reports itself a primary. The dead node, started
    /// afterwards, finds its slots taken over with a newer epoch and turns into a replica.
    ///
    /// The other primaries vote only for a node they know as a replica: right after a
    /// bootstrap their view may still call it a primary, so wait for that first. A manual
    /// failover that gets no majority gives up after 5 s inside Redis: ask again until the
    /// timeout.
    fn promote_cluster_replica(&self, replica: &Node) -> Result<()> {
        let addr = format!("{HOST}:{}", replica.port);
        let running: Vec<&Node> =
            self.deployment.nodes.iter().filter(|n| self.running_pid(Member::Node(n)).is_some()).collect();
        poll(HANDOVER_TIMEOUT, || {
            for n in &running {
                let view = cluster_nodes(&mut self.conn(Member::Node(n))?, &n.name)?;
                if view.iter().any(|p| p.addr == addr && p.master) {
                    return Err(Error::msg(format!("{} still sees {} as a primary", n.name, replica.name)));
                }
            }
            Ok(())
        })?;
        let mut con = self.conn(Member::Node(replica))?;
        let role = |con: &mut redis::Connection| info(con, &replica.name).map(|f| f.get("role").cloned());
        poll(HANDOVER_TIMEOUT, || {
            run::<()>(&mut con, &replica.name, &["CLUSTER", "FAILOVER", "FORCE"])?;
            poll(Duration::from_secs(6), || match role(&mut con)?.as_deref() {
                Some("master") => Ok(()),
                role => Err(Error::msg(format!(
                    "{} is still {} {HANDOVER_TIMEOUT:?} after CLUSTER FAILOVER FORCE{}",
                    replica.name,
                    role.unwrap_or("unknown"),
                    self.log_tail(Member::Node(replica))
                ))),
            })
        })?;
        tracing::info!("recovery: {} took over the slots of its dead primary (CLUSTER FAILOVER FORCE)", replica.name);
        Ok(())
    }
}
