//! The process provider: the redis-server and redis-sentinel processes of a local stack.
//!
//! A member of the deployment that is not running is planned as `process:<name>` create;
//! a running member the contract no longer has is planned as delete (stopped; its data stays).
//! After the changes, `finish` bootstraps a cluster and waits until the stack is really
//! ready (probe writes, replication links, cluster state, Sentinel quorum).
//!
//! Readiness is observed, not remembered: a stack whose processes all run but that is not
//! ready (a first apply interrupted during the cluster bootstrap, a replica never attached)
//! is planned as `process:ready` update, whatever started its processes.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::model::TopologyMode;
use crate::plan::state::State;
use crate::plan::{Action, Address, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown};
use crate::resolve::Deployment;
use crate::stack::paths::{CLUSTER_CONFIG_FILE, RUNTIME_CONF};
use crate::stack::{alive, Kind, RunDir, Stack, StopOptions};

pub const NAME: &str = "process";
/// The kind of a member's data (`destroy --purge-data`).
const DATA: &str = "data";

/// The address of the stack's readiness.
fn ready() -> Address {
    Address::new(NAME, "ready")
}
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a failing readiness check may take to pass before plan reports the stack not ready.
const READY_SETTLE: Duration = Duration::from_secs(3);

pub struct ProcessProvider {
    stack: Stack,
    /// Members this apply started, in order: stopped again when the apply fails before the
    /// stack is ready, so that a failed apply leaves nothing running behind.
    started: Vec<String>,
    /// The stack must be brought up and waited for in `finish` (a start, or not ready).
    bring_up: bool,
    /// Members no longer in the topology, stopped once the stack is up without them.
    leaving: Vec<String>,
    /// `redisctl destroy`: plan stopping every running member (and, with `Some(true)`,
    /// deleting their data) instead of what the contract wants running.
    destroying: Option<bool>,
}

/// Files a node or Sentinel keeps its data and runtime state in (`destroy --purge-data`).
const DATA_FILES: &[&str] = &["dump.rdb", "appendonlydir", "appendonly.aof", CLUSTER_CONFIG_FILE, RUNTIME_CONF];

impl ProcessProvider {
    pub fn new(deployment: Deployment, run_dir: PathBuf) -> Result<Self, Error> {
        Ok(ProcessProvider {
            stack: Stack::new(deployment, run_dir)?,
            started: Vec::new(),
            bring_up: false,
            leaving: Vec::new(),
            destroying: None,
        })
    }

    /// Plan the teardown of the stack (`purge_data`: its data too) for `destroy`.
    pub fn destroying(mut self, purge_data: bool) -> Self {
        self.destroying = Some(purge_data);
        self
    }

    /// Stop every running member, Sentinels first (so none starts a failover while the nodes go
    /// down), then the nodes in reverse order; then, with `purge_data`, their data.
    fn teardown(&self, purge_data: bool) -> Result<Vec<ResourceChange>, Error> {
        let d = &self.stack.deployment;
        let names: Vec<&String> =
            d.sentinels.iter().map(|s| &s.name).chain(d.nodes.iter().rev().map(|n| &n.name)).collect();
        let mut changes = Vec::new();
        for name in &names {
            if let Some(pid) = self.stack.pid(name)? {
                let mut c = ResourceChange::new(NAME, Address::new(NAME, name.as_str()), Action::Delete);
                c.reason = Some("stopped with SHUTDOWN".into());
                let (binary, _) = Kind::of(name).binary();
                let port = d.port_of(name).unwrap_or_default();
                c.summary = Some(format!("stops {binary} on 127.0.0.1:{port} (pid {pid})"));
                changes.push(c);
            }
        }
        for name in names.iter().filter(|_| purge_data) {
            if DATA_FILES.iter().any(|f| self.stack.run.member_dir(name).join(f).exists()) {
                let mut c = ResourceChange::new(NAME, Address::new(DATA, name.as_str()), Action::Delete);
                c.flags.destructive = true;
                c.reason = Some("--purge-data: the data directory's contents are deleted".into());
                c.summary = Some(format!("deletes the data of {name} (RDB, AOF, nodes.conf)"));
                changes.push(c);
            }
        }
        Ok(changes)
    }

    /// Sentinels first: a node being started asks them which role it has now.
    fn members(&self) -> Vec<(String, u32, Kind)> {
        let d = &self.stack.deployment;
        let sentinels = d.sentinels.iter().map(|s| (s.name.clone(), s.port, Kind::Sentinel));
        sentinels.chain(d.nodes.iter().map(|n| (n.name.clone(), n.port, Kind::Redis))).collect()
    }

    /// Member directories under the run dir that hold a live process but are no longer rendered.
    fn orphans(&self) -> Vec<(String, u32)> {
        let run = RunDir::new(self.stack.run.root());
        let known: Vec<String> = self.members().into_iter().map(|(n, _, _)| n).collect();
        let Ok(entries) = std::fs::read_dir(run.root()) else { return Vec::new() };
        let mut out = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if known.contains(&name) || !(name.starts_with("node-") || name.starts_with("sentinel-")) {
                continue;
            }
            let kind = Kind::of(&name);
            // A pid file outlives its process and pids are reused: only a process working in
            // this member's directory is the member (never signal an unrelated program).
            let pid =
                std::fs::read_to_string(run.pid_file(&name, kind)).ok().and_then(|p| p.trim().parse::<i32>().ok());
            if let Some(pid) = pid.filter(|p| alive(*p, &run.member_dir(&name))) {
                out.push((name, pid as u32));
            }
        }
        out.sort();
        out
    }
}

impl ProcessProvider {
    /// After `failure`: stop what this apply started (newest first; data directories are
    /// kept), and say so in the error.
    fn stop_started(&mut self, failure: Error) -> Error {
        if self.started.is_empty() {
            return failure;
        }
        let mut stopped = Vec::new();
        for name in self.started.drain(..).rev() {
            match self.stack.stop(&name, StopOptions::default()) {
                Ok(_) => stopped.push(name),
                Err(e) => stopped.push(format!("{name} (could not be stopped: {e})")),
            }
        }
        Error::msg(format!(
            "{failure}\nstopped what this apply started, so nothing is left running: {}",
            stopped.join(", ")
        ))
    }
}

impl Provider for ProcessProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn plan(&mut self, _state: &State) -> Result<ProviderPlan, Error> {
        if let Some(purge_data) = self.destroying {
            return Ok(ProviderPlan { changes: self.teardown(purge_data)?, observed: String::new() });
        }
        let mut changes = Vec::new();
        let mut seen = Vec::new();
        for (name, port, kind) in self.members() {
            let pid = self.stack.pid(&name)?;
            seen.push(format!("{name} {}", pid.is_some()));
            if pid.is_none() {
                let mut c = ResourceChange::new(NAME, Address::new(NAME, name.as_str()), Action::Create);
                c.after = Some(Shown::Value(json!({ "binary": kind.stem(), "address": format!("127.0.0.1:{port}") })));
                c.reason = Some("not running".into());
                c.summary = Some(format!("starts {} on 127.0.0.1:{port}", kind.binary().0));
                changes.push(c);
            }
        }
        for (name, pid) in self.orphans() {
            seen.push(format!("{name} orphan {pid}"));
            let mut c = ResourceChange::new(NAME, Address::new(NAME, name.as_str()), Action::Delete);
            c.before = Some(Shown::Value(json!({ "pid": pid })));
            c.summary = Some(format!("stops {} (pid {pid})", Kind::of(&name).binary().0));
            c.reason = Some(if self.stack.deployment.contract.topology.mode == TopologyMode::Cluster {
                "no longer in the topology: the slots it serves move to the remaining shards (keys included), then \
                 it is stopped and forgotten (its data files, which hold nothing the cluster does not, are removed)"
                    .into()
            } else {
                "no longer in the topology; stopped, its data directory is kept".into()
            });
            changes.push(c);
        }
        if changes.is_empty() {
            // Readiness settles: right after a start a Sentinel may list a returning replica as
            // disconnected for a moment. Only a check that keeps failing is a change.
            if let Err(nr) = crate::stack::poll(READY_SETTLE, || self.stack.check_ready()) {
                let mut c = ResourceChange::new(NAME, ready(), Action::Update);
                c.before = Some(Shown::Value(json!({ "ready": false, "member": nr.member, "check": nr.check })));
                c.after = Some(Shown::Value(json!({ "ready": true })));
                c.reason = Some(format!("not ready: {} {} check failed: {}", nr.member, nr.check, nr.detail));
                c.summary = Some(format!(
                    "brings the stack up (cluster bootstrap, replication) and waits until {} passes the {} check",
                    nr.member, nr.check
                ));
                changes.push(c);
                seen.push("not ready".into());
            }
        }
        Ok(ProviderPlan { changes, observed: hex::encode(Sha256::digest(seen.join("\n").as_bytes())) })
    }

    fn apply(&mut self, change: &ResourceChange, _state: &mut State, _opts: &ApplyOptions) -> Result<Outcome, Error> {
        if self.destroying.is_some() {
            let name = change.address.path();
            if change.address.is(DATA) {
                for f in DATA_FILES {
                    let path = self.stack.run.member_dir(name).join(f);
                    let removed =
                        if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                    match removed {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            return Err(Error::io(format!("cannot delete {}", path.display()), e))
                        }
                        _ => {}
                    }
                }
            } else if change.address.is(NAME) {
                self.stack.stop(name, StopOptions::default())?;
            }
            return Ok(Outcome::Applied);
        }
        let name = change.address.path();
        match change.action {
            // Started in `finish`, all of a new stack's members at once (`Stack::up`).
            Action::Create => self.bring_up = true,
            // Bootstrapping and waiting is `finish`'s job.
            Action::Update if change.address == ready() => self.bring_up = true,
            // Stopped in `finish`, after the stack has been brought up in its new shape: a
            // cluster node that leaves is drained (its slots migrated) first.
            Action::Delete => {
                self.leaving.push(name.to_string());
                self.bring_up = true;
            }
            _ => {}
        }
        Ok(Outcome::Applied)
    }

    fn finish(&mut self, _state: &mut State) -> Result<(), Error> {
        if self.bring_up {
            let mut started = std::mem::take(&mut self.started);
            let up = self.stack.start_missing(&mut started);
            self.started = started;
            up.map_err(|e| self.stop_started(e))?;
            // A test can interrupt an apply between the starts and the bootstrap.
            if let Some(pause) = crate::plan::engine::test_pause() {
                std::thread::sleep(pause);
            }
            self.stack.bootstrap_and_wait(READY_TIMEOUT).map_err(|e| self.stop_started(e))?;
        }
        let cluster = self.stack.deployment.contract.topology.mode == TopologyMode::Cluster;
        for name in std::mem::take(&mut self.leaving) {
            let kind = Kind::of(&name);
            let dir = self.stack.run.member_dir(&name);
            let pid_file = self.stack.run.pid_file(&name, kind);
            let pid = std::fs::read_to_string(&pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok());
            if let Some(pid) = pid.filter(|p| alive(*p, &dir)) {
                // Not in the deployment any more, so the stack cannot address it: SIGTERM
                // makes redis-server shut down cleanly (and save, if persistence is on).
                crate::stack::signal(pid, rustix::process::Signal::TERM);
                let gone = crate::stack::poll(Duration::from_secs(10), || match alive(pid, &dir) {
                    true => Err(()),
                    false => Ok(()),
                });
                if gone.is_err() {
                    return Err(Error::msg(format!("{name} (pid {pid}) did not stop within 10 s of SIGTERM")));
                }
            }
            if cluster {
                // The cluster has forgotten it and it serves nothing (its slots were moved, a
                // replica's data is a copy): its identity and data go, so that a later scale-out
                // starts it as a new, empty node (the others refuse a forgotten id for a while).
                for f in DATA_FILES.iter().filter(|f| **f != RUNTIME_CONF) {
                    let path = dir.join(f);
                    let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
                }
            }
        }
        Ok(())
    }
}
