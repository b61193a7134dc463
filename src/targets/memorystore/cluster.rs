//! The managed provider of a Memorystore for Redis Cluster, through Google's official client
//! (`google-cloud-redis-cluster-v1`, the v1 REST API); the same shape as the instance provider
//! (`provider.rs`), whose client settings and operation waits it shares.
//!
//! Addresses: `memorystore:cluster/<id>` (create; one PATCH whose `updateMask` names the fields
//! that differ: shards, replicas, node type, persistence, maintenance; replace,
//! destructive, for the network, the authorization mode and transit encryption) and
//! `memorystore:config/<id>/<name>` (one `redisConfigs` entry each).

use std::collections::BTreeMap;
use std::time::Duration;

use google_cloud_redis_cluster_v1::client::CloudRedisCluster;
use google_cloud_redis_cluster_v1::model::Cluster;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::provider::{api_err, configured, not_found, poll_interval, runtime, setup_failed, wait_op, NAME};
use super::render::{cluster_body, create_request};
use super::Desired;
use crate::error::Error;
use crate::plan::state::State;
use crate::plan::{Action, Address, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown};

/// Cluster fields no PATCH changes: a different value needs a new cluster.
const REPLACE_FIELDS: &[&str] = &["pscConfigs", "authorizationMode", "transitEncryptionMode"];
/// Cluster fields PATCH changes in place, with their `updateMask` path.
const PATCH_FIELDS: &[(&str, &str)] = &[
    ("shardCount", "shard_count"),
    ("replicaCount", "replica_count"),
    ("nodeType", "node_type"),
    ("persistenceConfig", "persistence_config"),
    ("maintenancePolicy", "maintenance_policy"),
];

fn address(kind: &str, id: &str) -> Address {
    Address::new(NAME, format!("{kind}/{id}"))
}

/// The `redisConfigs` entries redisctl set, so that one the contract drops is removed.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ClusterRecord {
    #[serde(default)]
    configs: Vec<String>,
}

pub struct ClusterProvider {
    want: Desired,
    destroying: bool,
    client: CloudRedisCluster,
    rt: tokio::runtime::Runtime,
    observed: Option<Cluster>,
    poll: Duration,
    wait_timeout: Duration,
}

/// The fields the contract decides, as `cluster_body` writes them.
fn observed_body(c: &Cluster) -> Map<String, Value> {
    let name = |n: Option<&str>| json!(n.unwrap_or(""));
    let mut b = Map::new();
    b.insert("shardCount".into(), json!(c.shard_count.unwrap_or(0)));
    b.insert("replicaCount".into(), json!(c.replica_count.unwrap_or(0)));
    b.insert("nodeType".into(), name(c.node_type.name()));
    b.insert("pscConfigs".into(), c.psc_configs.iter().map(|p| json!({ "network": p.network })).collect());
    b.insert("authorizationMode".into(), name(c.authorization_mode.name()));
    b.insert("transitEncryptionMode".into(), name(c.transit_encryption_mode.name()));
    b.insert("redisConfigs".into(), json!(c.redis_configs.iter().collect::<BTreeMap<_, _>>()));
    let persistence =
        c.persistence_config.as_ref().map_or(json!({ "mode": "DISABLED" }), |p| match p.mode.name().unwrap_or("") {
            "RDB" => json!({ "mode": "RDB", "rdbConfig": {
                "rdbSnapshotPeriod": p.rdb_config.as_ref().and_then(|r| r.rdb_snapshot_period.name()).unwrap_or("")
            } }),
            "AOF" => json!({ "mode": "AOF", "aofConfig": {
                "appendFsync": p.aof_config.as_ref().and_then(|a| a.append_fsync.name()).unwrap_or("")
            } }),
            _ => json!({ "mode": "DISABLED" }),
        });
    b.insert("persistenceConfig".into(), persistence);
    if let Some(m) = &c.maintenance_policy {
        let windows: Vec<Value> = m
            .weekly_maintenance_window
            .iter()
            .map(|w| {
                json!({ "day": w.day.name().unwrap_or(""), "startTime": { "hours": w.start_time.as_ref().map_or(0, |t| t.hours) } })
            })
            .collect();
        b.insert("maintenancePolicy".into(), json!({ "weeklyMaintenanceWindow": windows }));
    }
    b
}

fn cluster_of(body: Value) -> Result<Cluster, Error> {
    serde_json::from_value(body)
        .map_err(|e| Error::msg(format!("internal: the rendered cluster is not a Cluster: {e}")))
}

impl ClusterProvider {
    pub fn new(want: Desired, destroying: bool) -> Result<ClusterProvider, Error> {
        let rt = runtime()?;
        let client = rt.block_on(configured(CloudRedisCluster::builder()).build()).map_err(setup_failed)?;
        Ok(ClusterProvider {
            want,
            destroying,
            client,
            rt,
            observed: None,
            poll: poll_interval(),
            wait_timeout: super::provider::DEFAULT_WAIT_TIMEOUT,
        })
    }

    fn get(&self) -> Result<Option<Cluster>, Error> {
        match self.rt.block_on(self.client.get_cluster().set_name(self.want.name()).send()) {
            Ok(c) => Ok(Some(c)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(api_err("GetCluster", e)),
        }
    }

    /// The discovery endpoint clients start from.
    pub fn discovery_endpoint(&self) -> Result<String, Error> {
        let c = self.get()?.ok_or_else(|| {
            Error::msg(format!("cluster {} does not exist yet: `redisctl apply` creates it", self.want.name()))
        })?;
        c.discovery_endpoints
            .first()
            .map(|e| format!("{}:{}", e.address, e.port))
            .ok_or_else(|| Error::msg(format!("cluster {} has no discovery endpoint yet", self.want.name())))
    }

    fn wait<P, R, M>(&self, what: &str, poller: P) -> Result<R, Error>
    where
        P: google_cloud_lro::Poller<R, M>,
    {
        wait_op(&self.rt, self.poll, self.wait_timeout, what, poller)
    }

    fn patch(&self, mask: &[&str], mut fields: Map<String, Value>) -> Result<(), Error> {
        fields.insert("name".into(), json!(self.want.name()));
        let cluster = cluster_of(Value::Object(fields))?;
        let update_mask = google_cloud_wkt::FieldMask::default().set_paths(mask.iter().map(|p| p.to_string()));
        let poller = self.client.update_cluster().set_update_mask(update_mask).set_cluster(cluster).poller();
        self.wait(&format!("UpdateCluster {} ({})", self.want.id, mask.join(",")), poller)?;
        Ok(())
    }

    fn create(&self) -> Result<(), Error> {
        let w = &self.want;
        let poller = self
            .client
            .create_cluster()
            .set_parent(w.parent())
            .set_cluster_id(&w.id)
            .set_cluster(cluster_of(cluster_body(w))?)
            .poller();
        self.wait(&format!("CreateCluster {}", w.id), poller)?;
        Ok(())
    }

    fn delete(&self) -> Result<(), Error> {
        let poller = self.client.delete_cluster().set_name(self.want.name()).poller();
        match self.wait(&format!("DeleteCluster {}", self.want.id), poller) {
            Ok(()) => Ok(()),
            Err(_) if self.get()?.is_none() => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn plan_changes(&self, state: &State) -> Result<Vec<ResourceChange>, Error> {
        let w = &self.want;
        let id = &w.id;
        let change = |kind: &str, rid: &str, action| ResourceChange::new(NAME, address(kind, rid), action);
        let Some(have) = &self.observed else {
            if self.destroying {
                return Ok(Vec::new());
            }
            let mut ch = change("cluster", id, Action::Create);
            ch.after = Some(Shown::Value(create_request(w)));
            ch.reason = Some(format!(
                "{} shard(s) × (primary + {} replica(s)) of {}",
                w.shards,
                w.replicas,
                w.node_type.as_deref().unwrap_or("")
            ));
            return Ok(vec![ch]);
        };
        if self.destroying {
            let mut ch = change("cluster", id, Action::Delete);
            ch.flags.destructive = true;
            ch.reason = Some(format!("DeleteCluster {}: the cluster and its data are deleted", have.name));
            return Ok(vec![ch]);
        }
        let state_name = have.state.name().unwrap_or("");
        if state_name != "ACTIVE" {
            return Err(Error::msg(format!(
                "cluster {} is {state_name}: an operation is running; plan again when it is ACTIVE",
                have.name
            )));
        }
        let want_obj = cluster_body(w).as_object().cloned().unwrap_or_default();
        let have_obj = observed_body(have);
        let differs = |k: &str| want_obj.get(k).is_some_and(|v| have_obj.get(k) != Some(v));
        let replace: Vec<String> = REPLACE_FIELDS
            .iter()
            .filter(|k| differs(k))
            .map(|k| format!("{k} {} → {}", have_obj[*k], want_obj[*k]))
            .collect();
        if !replace.is_empty() {
            let mut ch = change("cluster", id, Action::Replace);
            ch.flags.destructive = true;
            ch.after = Some(Shown::Value(create_request(w)));
            ch.reason = Some(format!(
                "{}: Memorystore cannot change it in place; the cluster is deleted (with its data) and created again",
                replace.join(", ")
            ));
            return Ok(vec![ch]);
        }
        let mut out = Vec::new();
        let (mut before, mut after, mut mask) = (Map::new(), Map::new(), Vec::new());
        for (field, path) in PATCH_FIELDS {
            if differs(field) {
                before.insert(field.to_string(), have_obj.get(*field).cloned().unwrap_or(Value::Null));
                after.insert(field.to_string(), want_obj[*field].clone());
                mask.push(*path);
            }
        }
        if !mask.is_empty() {
            let mut ch = change("cluster", id, Action::Update);
            let mut why = vec![format!("UpdateCluster (PATCH, updateMask {})", mask.join(","))];
            if after.contains_key("shardCount") {
                why.push("resharding: slots and their keys move online; clients follow MOVED redirects".into());
            }
            ch.reason = Some(why.join("; "));
            ch.expect = Some(mask.join(","));
            ch.before = Some(Shown::Value(Value::Object(before)));
            ch.after = Some(Shown::Value(Value::Object(after)));
            out.push(ch);
        }
        let recorded = state.record::<ClusterRecord>(&address("cluster", id))?.unwrap_or_default().configs;
        for name in recorded.iter().filter(|n| !w.redis_configs.contains_key(*n) && have.redis_configs.contains_key(*n))
        {
            let mut ch = change("config", &format!("{id}/{name}"), Action::Delete);
            ch.flags.live = true;
            ch.before = have.redis_configs.get(name).map(|v| Shown::Text(v.clone()));
            ch.reason = Some("no longer in the contract: UpdateCluster (PATCH, redis_configs) without it".into());
            out.push(ch);
        }
        for (name, value) in &w.redis_configs {
            let current = have.redis_configs.get(name);
            if current == Some(value) {
                continue;
            }
            let mut ch = change("config", &format!("{id}/{name}"), Action::Update);
            ch.flags.live = true;
            ch.before = Some(current.map_or(Shown::Text("(Memorystore default)".into()), |c| Shown::Text(c.clone())));
            ch.after = Some(Shown::Text(value.clone()));
            ch.reason = Some("UpdateCluster (PATCH, updateMask redis_configs): applied without a restart".into());
            out.push(ch);
        }
        Ok(out)
    }

    fn record(&self, state: &mut State) -> Result<(), Error> {
        let configs = self.want.redis_configs.keys().cloned().collect();
        state.put(&address("cluster", &self.want.id), &ClusterRecord { configs })
    }
}

impl Provider for ClusterProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn plan(&mut self, state: &State) -> Result<ProviderPlan, Error> {
        self.observed = self.get()?;
        let changes = self.plan_changes(state)?;
        let fingerprint = json!(self.observed.as_ref().map(|c| (observed_body(c), c.state.name())));
        Ok(ProviderPlan { changes, observed: hex::encode(Sha256::digest(fingerprint.to_string().as_bytes())) })
    }

    fn apply(&mut self, change: &ResourceChange, state: &mut State, opts: &ApplyOptions) -> Result<Outcome, Error> {
        if let Some(t) = opts.wait_timeout {
            self.wait_timeout = t;
        }
        let w = self.want.clone();
        let path = change.address.path().to_string();
        let (kind, rest) = path.split_once('/').unwrap_or((path.as_str(), ""));
        match (kind, change.action) {
            ("cluster", Action::Delete) => {
                self.delete()?;
                state.remove(&change.address);
                return Ok(Outcome::Applied);
            }
            ("cluster", Action::Create) => self.create()?,
            ("cluster", Action::Replace) => {
                self.delete()?;
                self.create()?;
            }
            ("cluster", Action::Update) => {
                if let Some(mask) = change.expect.as_deref().filter(|m| !m.is_empty()) {
                    let body = cluster_body(&w);
                    let paths: Vec<&str> = mask.split(',').collect();
                    let fields: Map<String, Value> = PATCH_FIELDS
                        .iter()
                        .filter(|(_, p)| paths.contains(p))
                        .filter_map(|(f, _)| Some((f.to_string(), body.get(*f)?.clone())))
                        .collect();
                    self.patch(&paths, fields)?;
                }
            }
            ("config", action @ (Action::Update | Action::Delete)) => {
                let key = rest.rsplit('/').next().unwrap_or_default();
                // The whole map as it is now with this one entry changed (or gone).
                let mut configs: BTreeMap<String, String> =
                    self.get()?.map(|c| c.redis_configs.into_iter().collect()).unwrap_or_default();
                match (action, w.redis_configs.get(key)) {
                    (Action::Update, Some(value)) => configs.insert(key.to_string(), value.clone()),
                    _ => configs.remove(key),
                };
                let mut fields = Map::new();
                fields.insert("redisConfigs".into(), json!(configs));
                self.patch(&["redis_configs"], fields)?;
            }
            (other, action) => {
                return Err(Error::msg(format!("internal: no memorystore cluster operation for {other} {action:?}")));
            }
        }
        self.record(state)?;
        Ok(Outcome::Applied)
    }
}
