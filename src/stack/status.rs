//! What is running: one row per node and Sentinel, serializable for `status --format json`.

use serde::Serialize;

use super::client::{info, run};
use super::cluster::cluster_nodes;
use super::{Kind, Member, Stack, HOST};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LiveRole {
    Primary,
    Replica,
    Sentinel,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackStatus {
    pub env: String,
    pub run_dir: String,
    pub members: Vec<MemberStatus>,
    /// Every readiness check passes (`Stack::check_ready`).
    pub ready: bool,
    /// The first check that fails, when not ready.
    pub not_ready: Option<String>,
}

/// One node or Sentinel. Fields a member cannot report (down, or not that kind) are `None`.
#[derive(Debug, Clone, Serialize)]
pub struct MemberStatus {
    pub name: String,
    pub kind: Kind,
    /// `host:port`.
    pub address: String,
    pub pid: Option<u32>,
    /// Accepts connections.
    pub up: bool,
    pub role: Option<LiveRole>,
    /// Address a replica follows.
    pub primary: Option<String>,
    /// A replica's `master_link_status:up`.
    pub link_up: Option<bool>,
    pub used_memory: Option<u64>,
    /// `maxmemory` in bytes (0: no limit).
    pub maxmemory: Option<u64>,
    /// Replication offset: the primary's `master_repl_offset`, a replica's `slave_repl_offset`.
    pub repl_offset: Option<i64>,
    /// Bytes a replica is behind the primary it follows.
    pub lag_bytes: Option<i64>,
    /// Cluster slot ranges served (inclusive).
    pub slots: Vec<(u16, u16)>,
    /// The primary address a Sentinel reports.
    pub master_addr: Option<String>,
    /// Why the details are missing, when the member is up but could not be queried.
    pub error: Option<String>,
}

impl Stack {
    /// The status of every member. Never fails: what cannot be read is `None`, with `error`.
    pub fn status(&self) -> StackStatus {
        let mut members: Vec<MemberStatus> = self.members().map(|m| self.member_status(m)).collect();
        let offsets: Vec<(String, Option<i64>)> = members.iter().map(|s| (s.address.clone(), s.repl_offset)).collect();
        for s in members.iter_mut().filter(|s| s.role == Some(LiveRole::Replica)) {
            let primary_offset = offsets.iter().find(|(a, _)| Some(a) == s.primary.as_ref()).and_then(|(_, o)| *o);
            s.lag_bytes = primary_offset.zip(s.repl_offset).map(|(p, r)| (p - r).max(0));
        }
        let not_ready =
            self.check_ready().err().map(|nr| format!("{}: {} check failed: {}", nr.member, nr.check, nr.detail));
        StackStatus {
            env: self.deployment.env.clone(),
            run_dir: self.run.root().display().to_string(),
            members,
            ready: not_ready.is_none(),
            not_ready,
        }
    }

    fn member_status(&self, m: Member) -> MemberStatus {
        let mut s = MemberStatus {
            name: m.name().to_string(),
            kind: m.kind(),
            address: format!("{HOST}:{}", m.port()),
            pid: self.running_pid(m).map(|p| p as u32),
            up: self.responds(m.port()),
            role: None,
            primary: None,
            link_up: None,
            used_memory: None,
            maxmemory: None,
            repl_offset: None,
            lag_bytes: None,
            slots: Vec::new(),
            master_addr: None,
            error: None,
        };
        if s.up {
            if let Err(e) = self.fill_status(m, &mut s) {
                s.error = Some(e.to_string());
            }
        }
        s
    }

    fn fill_status(&self, m: Member, s: &mut MemberStatus) -> crate::error::Result<()> {
        let mut con = self.conn(m)?;
        if m.kind() == Kind::Sentinel {
            s.role = Some(LiveRole::Sentinel);
            let addr: Option<(String, u32)> =
                run(&mut con, m.name(), &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &self.deployment.master_name])?;
            s.master_addr = addr.map(|(h, p)| format!("{h}:{p}"));
            return Ok(());
        }
        let f = info(&mut con, m.name())?;
        let num = |k: &str| f.get(k).and_then(|v| v.parse().ok());
        s.used_memory = num("used_memory");
        s.maxmemory = num("maxmemory");
        if f.get("role").map(String::as_str) == Some("master") {
            s.role = Some(LiveRole::Primary);
            s.repl_offset = num("master_repl_offset").map(|o: u64| o as i64);
        } else {
            s.role = Some(LiveRole::Replica);
            s.primary = f.get("master_host").zip(f.get("master_port")).map(|(h, p)| format!("{h}:{p}"));
            s.link_up = Some(f.get("master_link_status").map(String::as_str) == Some("up"));
            s.repl_offset = num("slave_repl_offset").map(|o: u64| o as i64);
        }
        if self.cluster() {
            s.slots =
                cluster_nodes(&mut con, m.name())?.into_iter().find(|p| p.myself).map(|p| p.slots).unwrap_or_default();
        }
        Ok(())
    }
}
