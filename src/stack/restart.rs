//! Rolling restarts: one node at a time, replicas first, and a controlled failover before a
//! primary goes down, waiting for the whole stack to be ready between steps.

use std::time::Duration;

use super::{LiveRole, Stack, StopOptions};
use crate::error::Result;
use crate::model::TopologyMode;

impl Stack {
    /// Restart `names` (nodes) so they read their configuration again. Returns the steps taken,
    /// for the apply report.
    pub fn rolling_restart(&self, names: &[String], timeout: Duration) -> Result<Vec<String>> {
        let mut steps = Vec::new();
        let status = self.status();
        let role = |name: &str| status.members.iter().find(|m| m.name == name).and_then(|m| m.role);
        let (replicas, primaries): (Vec<&String>, Vec<&String>) =
            names.iter().partition(|n| role(n) == Some(LiveRole::Replica));
        for name in replicas {
            self.restart(name, StopOptions::default())?;
            self.wait_ready(timeout)?;
            steps.push(format!("restarted replica {name}"));
        }
        for name in primaries {
            match self.deployment.contract.topology.mode {
                TopologyMode::Sentinel => {
                    let promoted = self.sentinel_failover(timeout)?;
                    steps.push(format!("failed {name} over to {promoted} (SENTINEL FAILOVER)"));
                }
                TopologyMode::Cluster => {
                    let address = status.members.iter().find(|m| &m.name == name).map(|m| m.address.clone());
                    let replica = status.members.iter().find(|m| m.primary.is_some() && m.primary == address);
                    match replica {
                        Some(r) => {
                            self.cluster_failover(&r.name, timeout)?;
                            steps.push(format!("failed {name} over to {} (CLUSTER FAILOVER)", r.name));
                        }
                        // No replica to take over: its slots cannot be served while it restarts.
                        None => steps.push(format!(
                            "{name} is a primary without a replica: its slots are unavailable while it restarts"
                        )),
                    }
                }
                // Without a failover mechanism the primary is briefly unavailable: say so.
                TopologyMode::Standalone | TopologyMode::Replication => {
                    steps.push(format!(
                        "{name} is a primary without automatic failover: it is unavailable while it restarts"
                    ));
                }
            }
            self.restart(name, StopOptions::default())?;
            self.wait_ready(timeout)?;
            steps.push(format!("restarted {name}"));
        }
        Ok(steps)
    }
}
