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
    /// which node is the primary now, and `start` asks them), then the nodes, then the
    /// cluster bootstrap. Members already running are left alone.
    pub fn up(&self, timeout: Duration) -> Result<()> {
        for s in &self.deployment.sentinels {
            self.start(&s.name)?;
        }
        for n in &self.deployment.nodes {
            self.start(&n.name)?;
        }
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
