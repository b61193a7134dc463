//! Readiness, really: not just PING. Every primary takes a probe write and read, every replica
//! has its replication link up, a cluster is `ok` with all slots assigned, and every Sentinel
//! has its quorum and knows the replicas it would fail over to.

use std::time::Duration;

use redis::Connection;

use super::client::{info, parse_fields, poll_shown, run};
use super::cluster::{cluster_nodes, key_in_slots};
use super::{Member, Stack};
use crate::error::{Error, Result};
use crate::resolve::CLUSTER_SLOTS;

/// A check's result: the check's name and what was seen when it fails.
type Check<T> = std::result::Result<T, (&'static str, String)>;

/// A failed readiness check: which member, which check, what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub member: String,
    pub check: &'static str,
    pub detail: String,
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} check: {}", self.member, self.check, self.detail)
    }
}

impl Stack {
    /// Run every readiness check once; the first failure.
    pub fn check_ready(&self) -> std::result::Result<(), NotReady> {
        let mut primaries = Vec::new();
        for m in self.members() {
            let fail =
                |(check, detail): (&'static str, String)| NotReady { member: m.name().to_string(), check, detail };
            let mut con = self.conn(m).map_err(|e| fail(("reachable", e.to_string())))?;
            match m {
                Member::Node(_) if self.node_ready(&mut con, m.name()).map_err(fail)? => {
                    primaries.push(m.name().to_string())
                }
                Member::Node(_) => {}
                Member::Sentinel(_) => self.sentinel_ready(&mut con, m.name()).map_err(fail)?,
            }
        }
        if self.cluster() {
            self.cluster_views_agree()?;
            let shape = self.shape_problem().map_err(|e| NotReady {
                member: self.deployment.env.clone(),
                check: "cluster shape",
                detail: e.to_string(),
            })?;
            if let Some((member, detail)) = shape {
                return Err(NotReady { member, check: "cluster shape", detail });
            }
        }
        if !self.cluster() && primaries.len() != 1 {
            let list = if primaries.is_empty() { "none".to_string() } else { primaries.join(", ") };
            return Err(NotReady {
                member: self.deployment.env.clone(),
                check: "one primary",
                detail: format!("primaries: {list}"),
            });
        }
        Ok(())
    }

    /// Every node sees the same primaries and replicas. `cluster_state:ok` comes before the
    /// gossip about roles has reached everyone: until it has, a primary would refuse its vote
    /// to a replica it still takes for a primary, and a failover could not happen.
    fn cluster_views_agree(&self) -> std::result::Result<(), NotReady> {
        let mut first: Option<(&str, Vec<(String, bool)>)> = None;
        for n in &self.deployment.nodes {
            let fail = |detail: String| NotReady { member: n.name.clone(), check: "cluster view", detail };
            let mut con = self.conn(Member::Node(n)).map_err(|e| fail(e.to_string()))?;
            let mut roles: Vec<(String, bool)> = cluster_nodes(&mut con, &n.name)
                .map_err(|e| fail(e.to_string()))?
                .into_iter()
                .map(|p| (p.addr, p.master))
                .collect();
            roles.sort();
            match &first {
                None => first = Some((&n.name, roles)),
                Some((name, seen)) if *seen != roles => {
                    return Err(fail(format!("sees roles {roles:?}, {name} sees {seen:?}")));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Check a node; `true` when it is a primary.
    fn node_ready(&self, con: &mut Connection, name: &str) -> Check<bool> {
        let err = |check| move |e: Error| (check, e.to_string());
        let fields = info(con, name).map_err(err("info"))?;
        let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
        if field("loading") == "1" {
            return Err(("loaded", "still loading its dataset".into()));
        }
        let mut owned = None;
        if self.cluster() {
            let text: String = run(con, name, &["CLUSTER", "INFO"]).map_err(err("cluster state"))?;
            let ci = parse_fields(&text);
            let get = |k: &str| ci.get(k).cloned().unwrap_or_default();
            let (state, assigned) = (get("cluster_state"), get("cluster_slots_assigned"));
            if state != "ok" || assigned != CLUSTER_SLOTS.to_string() {
                return Err(("cluster state", format!("cluster_state:{state}, cluster_slots_assigned:{assigned}")));
            }
            let me = cluster_nodes(con, name).map_err(err("cluster state"))?.into_iter().find(|p| p.myself);
            owned = Some(me.map(|p| p.slots).unwrap_or_default());
        }
        if field("role") != "master" {
            let link = field("master_link_status");
            if link != "up" {
                return Err((
                    "replication link",
                    format!("master_link_status:{link} (replica of {}:{})", field("master_host"), field("master_port")),
                ));
            }
            return Ok(false);
        }
        probe(con, name, owned.as_deref()).map_err(err("probe write"))?;
        Ok(true)
    }

    fn sentinel_ready(&self, con: &mut Connection, name: &str) -> Check<()> {
        let master = self.deployment.master_name.as_str();
        run::<String>(con, name, &["SENTINEL", "CKQUORUM", master]).map_err(|e| ("quorum", e.to_string()))?;
        let replicas: Vec<Vec<String>> =
            run(con, name, &["SENTINEL", "REPLICAS", master]).map_err(|e| ("known replicas", e.to_string()))?;
        let healthy = replicas
            .iter()
            .filter(|r| flags(r).is_some_and(|f| !f.contains("down") && !f.contains("disconnected")))
            .count();
        let expected = self.deployment.nodes.len() - 1;
        if healthy < expected {
            return Err((
                "known replicas",
                format!("sees {healthy} healthy replica(s) of `{master}`, expected {expected}"),
            ));
        }
        Ok(())
    }

    /// Wait until `check_ready` passes. The error names the member and the check that still
    /// failed, with the last lines of that member's log.
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        poll_shown("waiting until the stack is ready", timeout, || self.check_ready()).map_err(|nr| {
            let tail = self.member(&nr.member).map(|m| self.log_tail(m)).unwrap_or_default();
            Error::msg(format!(
                "{} is not ready after {timeout:?}: {} check failed: {}{tail}",
                nr.member, nr.check, nr.detail
            ))
        })
    }
}

/// The `flags` field of a `SENTINEL REPLICAS` entry (a flat field/value list).
fn flags(entry: &[String]) -> Option<&str> {
    entry.chunks(2).find(|kv| kv[0] == "flags").and_then(|kv| kv.get(1)).map(String::as_str)
}

/// Write and read back a probe key with a short TTL. In a cluster the key hashes to a slot the
/// node owns (`owned`), or the write would be redirected.
pub(super) fn probe(con: &mut Connection, name: &str, owned: Option<&[(u16, u16)]>) -> Result<()> {
    let key = match owned {
        None => format!("redisctl:probe:{{{name}}}"),
        Some(ranges) => key_in_slots(&format!("redisctl:probe:{name}:"), ranges)
            .ok_or_else(|| Error::msg(format!("{name} is a primary that owns no slots")))?,
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let token = format!("{}-{nanos}", std::process::id());
    run::<()>(con, name, &["SET", &key, &token, "PX", "10000"])?;
    let read: Option<String> = run(con, name, &["GET", &key])?;
    if read.as_deref() != Some(token.as_str()) {
        return Err(Error::msg(format!("{name}: the probe key {key} read back {read:?}")));
    }
    Ok(())
}
