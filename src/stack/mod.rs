//! Runtime library for local stacks (`target: process`): start, bootstrap, check, observe and
//! stop the redis-server and redis-sentinel processes of one environment's run directory.
//!
//! The process and redis providers call into this module; nothing here plans or decides what
//! should change. Every Redis interaction goes through the `redis` crate (no redis-cli).
//! Members (nodes and Sentinels) are addressed by their Deployment names (`node-0`,
//! `sentinel-1`), which stay stable while roles move during failovers.

mod client;
mod cluster;
pub mod paths;
mod process;
mod ready;
mod recover;
mod restart;
mod sentinel;
mod status;

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::model::TopologyMode;
use crate::resolve::{Deployment, Node, Sentinel};

pub use client::poll;
pub use cluster::{key_in_slots, key_slot};
pub use paths::RunDir;
pub use process::{alive, make_private, signal, spawn_logged, Binaries, Kind, StopOptions};
pub use ready::NotReady;
pub use status::{LiveRole, MemberStatus, StackStatus};

/// Every process of a local stack binds this address (`render::process_flavor`).
pub const HOST: &str = "127.0.0.1";

/// One environment's local stack: its resolved Deployment and the run directory holding the
/// rendered files (written beforehand by the files provider or `redisctl render`).
#[derive(Debug, Clone)]
pub struct Stack {
    pub deployment: Deployment,
    pub run: RunDir,
    /// Where redis-server and redis-sentinel are found (environment overrides, then PATH).
    pub binaries: Binaries,
}

/// A node or a Sentinel of the Deployment.
#[derive(Debug, Clone, Copy)]
enum Member<'a> {
    Node(&'a Node),
    Sentinel(&'a Sentinel),
}

impl Member<'_> {
    fn name(&self) -> &str {
        match self {
            Member::Node(n) => &n.name,
            Member::Sentinel(s) => &s.name,
        }
    }
    fn port(&self) -> u32 {
        match self {
            Member::Node(n) => n.port,
            Member::Sentinel(s) => s.port,
        }
    }
    /// A cluster node's bus port, which it binds as well as its own.
    fn bus_port(&self) -> Option<u32> {
        match self {
            Member::Node(n) => n.bus_port,
            Member::Sentinel(_) => None,
        }
    }
    fn kind(&self) -> Kind {
        match self {
            Member::Node(_) => Kind::Redis,
            Member::Sentinel(_) => Kind::Sentinel,
        }
    }
}

impl Stack {
    /// A stack for a Deployment whose target is `process`.
    pub fn new(deployment: Deployment, run_dir: impl Into<PathBuf>) -> Result<Stack> {
        if !deployment.contract.target.facts().local {
            return Err(Error::msg(format!(
                "environment `{}` has target `{}`; local stacks run only `target: process`",
                deployment.env,
                deployment.contract.target.as_str()
            )));
        }
        Ok(Stack { deployment, run: RunDir::new(run_dir), binaries: Binaries::from_env() })
    }

    fn cluster(&self) -> bool {
        self.deployment.contract.topology.mode == TopologyMode::Cluster
    }

    /// Nodes first, then Sentinels.
    fn members(&self) -> impl Iterator<Item = Member<'_>> {
        self.deployment.nodes.iter().map(Member::Node).chain(self.deployment.sentinels.iter().map(Member::Sentinel))
    }

    fn member(&self, name: &str) -> Result<Member<'_>> {
        self.members().find(|m| m.name() == name).ok_or_else(|| {
            let known: Vec<String> = self.members().map(|m| m.name().to_string()).collect();
            Error::msg(format!(
                "environment `{}` has no node or Sentinel `{name}` (known: {})",
                self.deployment.env,
                known.join(", ")
            ))
        })
    }

    /// The node listening on `port`, if any.
    fn node_at(&self, port: u32) -> Option<&Node> {
        self.deployment.nodes.iter().find(|n| n.port == port)
    }

    /// Bring the whole stack up and wait until it is ready: Sentinels first (they remember
    /// which node is the primary now, and `start` asks them; new ones, which remember nothing,
    /// last), then the nodes, then the cluster bootstrap. Members already running are left alone.
    ///
    /// The Sentinels start together. So do the nodes when none of them runs: then each node's
    /// role comes from what the Sentinels and its own files say, not from the other nodes, and
    /// it is decided for all of them before any starts. When some node runs, the others start
    /// one after another, as `start` decides each from the nodes running (a primary that
    /// crashed must not come back empty as the primary of replicas holding its data).
    pub fn up(&self, timeout: Duration) -> Result<()> {
        self.start_missing(&mut Vec::new())?;
        self.bootstrap_and_wait(timeout)
    }

    /// The starting half of `up`: every member that does not run is started, and its name
    /// added to `started` (also when another fails: the caller stops what it started).
    pub fn start_missing(&self, started: &mut Vec<String>) -> Result<()> {
        let sentinels: Vec<&str> = self.deployment.sentinels.iter().map(|s| s.name.as_str()).collect();
        let start_sentinels = |started: &mut Vec<String>| {
            let results = all_at_once(&sentinels, |name| self.start(name));
            note_started(sentinels.iter().copied().zip(results), started)
        };
        // Sentinels that never ran remember no primary: they start after the nodes, so that
        // their first connection finds them listening (a failed one is retried a second later).
        let new_sentinels = sentinels.iter().all(|s| !self.run.runtime_config(s).exists());
        if !new_sentinels {
            start_sentinels(started)?;
        }
        let nodes = &self.deployment.nodes;
        if nodes.iter().all(|n| self.running_pid(Member::Node(n)).is_none()) {
            let roles: Vec<_> = nodes.iter().map(|n| (n, self.upstream_at_start(n, None))).collect();
            // Primaries first: a replica that starts before its primary listens retries only
            // at its next replication cron, a second later.
            let (primaries, replicas): (Vec<_>, Vec<_>) =
                roles.into_iter().partition(|(_, up)| !matches!(up, Some(process::Upstream::ReplicaOf { .. })));
            for wave in [primaries, replicas] {
                let results = all_at_once(&wave, |(node, up)| self.start_node_as(node, up.clone()).map(|_| true));
                note_started(wave.iter().map(|(n, _)| n.name.as_str()).zip(results), started)?;
            }
        } else {
            for n in nodes {
                if self.start(&n.name)? {
                    started.push(n.name.clone());
                }
            }
        }
        if new_sentinels {
            start_sentinels(started)?;
        }
        Ok(())
    }

    /// The other half of `up`: the cluster bootstrap, then the readiness checks.
    pub fn bootstrap_and_wait(&self, timeout: Duration) -> Result<()> {
        if self.cluster() {
            self.bootstrap_cluster(timeout)?;
        }
        self.wait_ready(timeout)
    }

    /// Stop every member: Sentinels first (so none starts a failover while the nodes go
    /// down), then the nodes in reverse order (replicas before the rendered primaries). Goes on
    /// after a failure and reports the first one. Data directories are kept.
    pub fn down(&self, opts: StopOptions) -> Result<()> {
        let mut first_error = None;
        let order = self
            .deployment
            .sentinels
            .iter()
            .map(|s| &s.name)
            .chain(self.deployment.nodes.iter().rev().map(|n| &n.name));
        for name in order {
            if let Err(e) = self.stop(name, opts) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Run `f` on every item, each in its own thread (starting a member is mostly waiting for it to
/// listen); the results in the items' order.
fn all_at_once<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Result<R> + Sync) -> Vec<Result<R>> {
    if items.len() < 2 {
        return items.iter().map(&f).collect();
    }
    std::thread::scope(|scope| {
        let running: Vec<_> = items.iter().map(|item| scope.spawn(|| f(item))).collect();
        running.into_iter().map(|t| t.join().unwrap_or_else(|_| Err(Error::msg("a start thread panicked")))).collect()
    })
}

/// Add the members that started (`Ok(true)`) to `started`; then the first error, if any.
fn note_started<'a>(results: impl Iterator<Item = (&'a str, Result<bool>)>, started: &mut Vec<String>) -> Result<()> {
    let mut first_error = None;
    for (name, result) in results {
        match result {
            Ok(true) => started.push(name.to_string()),
            Ok(false) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}
