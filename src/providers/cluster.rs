//! The shape of a Redis Cluster rendered into deployment files (systemd, compose, kubernetes):
//! which shards exist and which nodes are in them, recorded in the state at every apply.
//!
//! The rendered files alone do not show that a change loses data: a smaller StatefulSet or a
//! missing compose service is an ordinary file diff. Removing a shard drops the hash slots it
//! serves (and the keys in them) unless they were migrated first, so this provider plans it as
//! a destructive change that `apply` refuses without `--allow-destroy`. Fewer replicas are
//! shown too, as a plain update: the primaries keep the data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::Error;
use crate::model::TopologyMode;
use crate::plan::state::State;
use crate::plan::{Action, Address, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown};
use crate::resolve::{Deployment, Role};

pub const NAME: &str = "cluster";

/// Nodes of one shard: the primary first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Shard {
    primary: String,
    replicas: Vec<String>,
}

pub struct ClusterShape {
    /// The shards the contract wants, by shard number (none when it is not a cluster).
    wanted: BTreeMap<u32, Shard>,
}

fn address(shard: u32) -> Address {
    Address::new(NAME, format!("shard-{shard}"))
}

fn shard_number(a: &Address) -> Option<u32> {
    a.path().strip_prefix("shard-")?.parse().ok()
}

impl ClusterShape {
    pub fn new(d: &Deployment) -> Self {
        let mut wanted: BTreeMap<u32, Shard> = BTreeMap::new();
        if d.contract.topology.mode == TopologyMode::Cluster {
            for n in d.nodes.iter().filter(|n| n.role == Role::Primary) {
                let shard = n.shard.unwrap_or(0);
                wanted.insert(shard, Shard { primary: n.name.clone(), replicas: Vec::new() });
            }
            for n in d.nodes.iter().filter(|n| matches!(n.role, Role::Replica(_))) {
                if let Some(s) = wanted.get_mut(&n.shard.unwrap_or(0)) {
                    s.replicas.push(n.name.clone());
                }
            }
        }
        ClusterShape { wanted }
    }

    fn recorded(state: &State) -> Result<BTreeMap<u32, Shard>, Error> {
        let mut shards = BTreeMap::new();
        for a in state.addresses(NAME) {
            if let (Some(n), Some(shard)) = (shard_number(a), state.record(a)?) {
                shards.insert(n, shard);
            }
        }
        Ok(shards)
    }
}

fn shown(s: &Shard) -> Shown {
    Shown::Value(json!(s))
}

/// A shard in a sentence: `node-0 (primary), node-3`.
fn described(s: &Shard) -> String {
    std::iter::once(format!("{} (primary)", s.primary)).chain(s.replicas.iter().cloned()).collect::<Vec<_>>().join(", ")
}

fn members(s: &Shard) -> String {
    std::iter::once(&s.primary).chain(&s.replicas).cloned().collect::<Vec<_>>().join(", ")
}

impl Provider for ClusterShape {
    fn name(&self) -> &'static str {
        NAME
    }

    fn plan(&mut self, state: &State) -> Result<ProviderPlan, Error> {
        let recorded = Self::recorded(state)?;
        let mut changes = Vec::new();
        for (n, had) in &recorded {
            let addr = address(*n);
            let Some(want) = self.wanted.get(n) else {
                let mut c = ResourceChange::new(NAME, addr, Action::Delete);
                c.flags.destructive = true;
                c.before = Some(shown(had));
                c.summary = Some(format!("shard {n} leaves the cluster: {}", described(had)));
                c.reason = Some(format!(
                    "shard {n} ({}) leaves the cluster: move its hash slots to the remaining shards first \
                     (`redis-cli --cluster rebalance HOST:PORT --cluster-weight <its primary's id>=0`), \
                     otherwise the keys in those slots are lost and the cluster reports them uncovered",
                    members(had)
                ));
                changes.push(c);
                continue;
            };
            if want == had {
                changes.push(ResourceChange::new(NAME, addr, Action::NoOp));
                continue;
            }
            let mut c = ResourceChange::new(NAME, addr, Action::Update);
            c.before = Some(shown(had));
            c.after = Some(shown(want));
            c.summary = Some(format!("shard {n}: {} → {}", described(had), described(want)));
            c.reason = Some(if want.primary == had.primary && want.replicas.len() < had.replicas.len() {
                format!(
                    "shard {n} keeps {} of {} replica(s): not destructive, its primary {} keeps the data",
                    want.replicas.len(),
                    had.replicas.len(),
                    want.primary
                )
            } else {
                format!("shard {n} members change: {} → {}", members(had), members(want))
            });
            changes.push(c);
        }
        if !recorded.is_empty() {
            for (n, want) in self.wanted.iter().filter(|(n, _)| !recorded.contains_key(n)) {
                let mut c = ResourceChange::new(NAME, address(*n), Action::Create);
                c.after = Some(shown(want));
                c.summary = Some(format!("shard {n} joins the cluster: {}", described(want)));
                c.reason = Some(format!(
                    "new shard {n} ({}) serves no hash slots until some are moved to it \
                     (`redis-cli --cluster rebalance HOST:PORT --cluster-use-empty-masters`)",
                    members(want)
                ));
                changes.push(c);
            }
        }
        // Nothing outside the state is observed: the state is the record of the applied shape.
        Ok(ProviderPlan { changes, observed: String::new() })
    }

    fn apply(&mut self, change: &ResourceChange, state: &mut State, _opts: &ApplyOptions) -> Result<Outcome, Error> {
        match (change.action, shard_number(&change.address).and_then(|n| self.wanted.get(&n))) {
            (Action::Delete, _) => state.remove(&change.address),
            (_, Some(want)) => state.put(&change.address, want)?,
            (_, None) => return Err(Error::msg(format!("{} is in the plan but not in the contract", change.address))),
        }
        Ok(Outcome::Applied)
    }

    /// Record the applied shape (the first apply of a cluster records it without a change).
    fn finish(&mut self, state: &mut State) -> Result<(), Error> {
        for (n, want) in &self.wanted {
            state.put(&address(*n), want)?;
        }
        Ok(())
    }
}
