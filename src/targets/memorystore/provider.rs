//! The managed provider: a Memorystore for Redis instance in a Google Cloud project, through
//! Google's official client (`google-cloud-redis-v1`, the v1 REST API).
//!
//! Observed with GetInstance; planned per resource with addresses `memorystore:instance/<id>`
//! (the instance, its in-place settings) and `memorystore:config/<id>/<name>` (one
//! `redisConfigs` entry each). What PATCH with an `updateMask` can change is an update; a
//! newer `redisVersion` is `:upgrade`; tier, zone, network, connect mode, transit encryption,
//! region and a version downgrade can only be had by a new instance: replace, destructive.
//! Every change is a long-running operation: apply polls it with progress until it is done,
//! up to a timeout, retrying transient polling errors. An interrupted apply is resumed by
//! planning again: an instance still `CREATING`/`UPDATING` is waited for first.
//!
//! Credentials: Application Default Credentials. With `REDISCTL_MEMORYSTORE_ENDPOINT` set to
//! a plain `http://` endpoint (a local test peer), anonymous credentials instead: no token is
//! ever sent in clear text. The AUTH string Google generates is never read.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
use google_cloud_lro::{Poller, PollingResult};
use google_cloud_redis_v1::client::CloudRedis;
use google_cloud_redis_v1::model::Instance;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::diff::{self, address, version_rank, Fields};
use super::render::{create_request, instance_body};
use super::Desired;
use crate::error::Error;
use crate::plan::state::State;
use crate::plan::{Action, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown};

pub const NAME: &str = "memorystore";

/// The endpoint override (tests, private endpoints): the base URL of the API.
pub const ENDPOINT_ENV: &str = "REDISCTL_MEMORYSTORE_ENDPOINT";
/// Milliseconds between polls of a long-running operation (tests poll fast).
pub const POLL_ENV: &str = "REDISCTL_MEMORYSTORE_POLL_MS";

/// How long one operation (create, update, upgrade, delete) may take before apply gives up.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60 * 60);
/// Polling errors in a row that end the wait (a transient network problem recovers before).
const POLL_ERRORS_MAX: u32 = 5;

/// The instance's fields: what no PATCH changes (a different value needs a new instance),
/// what PATCH changes in place with its `updateMask` path, the configuration map.
const FIELDS: Fields = Fields {
    replace: &[
        "tier",
        "locationId",
        "alternativeLocationId",
        "authorizedNetwork",
        "connectMode",
        "transitEncryptionMode",
    ],
    patch: &[
        ("displayName", "display_name"),
        ("labels", "labels"),
        ("memorySizeGb", "memory_size_gb"),
        ("replicaCount", "replica_count"),
        ("readReplicasMode", "read_replicas_mode"),
        ("authEnabled", "auth_enabled"),
        ("persistenceConfig", "persistence_config"),
        ("maintenancePolicy", "maintenance_policy"),
    ],
    configs: ("redisConfigs", "redis_configs"),
};

/// What the state keeps of the instance: its full name, so that a region change (a new name)
/// is a replacement of the old instance, and `destroy` finds it; and the `redisConfigs` entries
/// redisctl set, so that one the contract drops is removed (and one set by hand is left alone).
#[derive(Debug, Serialize, Deserialize)]
struct InstanceRecord {
    name: String,
    #[serde(default)]
    configs: Vec<String>,
}

/// Where clients connect, from the instance.
pub struct Endpoints {
    pub primary: String,
    pub reader: Option<String>,
    /// PEM of the server CA (transit encryption on).
    pub server_ca: Option<String>,
}

pub struct MemorystoreProvider {
    want: Desired,
    destroying: bool,
    client: CloudRedis,
    rt: tokio::runtime::Runtime,
    /// The instance as the API returned it, by name; `None`: it does not exist.
    observed: Option<Instance>,
    /// The instance redisctl created earlier under another name (region or project change).
    previous: Option<String>,
    poll: Duration,
    wait_timeout: Duration,
}

pub(super) fn api_err(what: &str, e: google_cloud_gax::error::Error) -> Error {
    if e.is_authentication() {
        return Error::msg(format!(
            "Memorystore {what} failed: no usable Google credentials ({e}); run `gcloud auth application-default \
             login` or set GOOGLE_APPLICATION_CREDENTIALS"
        ));
    }
    Error::msg(match e.status() {
        Some(s) => format!("Memorystore {what} failed: {}: {}", s.code, s.message),
        None => format!("Memorystore {what} failed: {e}"),
    })
}

pub(super) fn not_found(e: &google_cloud_gax::error::Error) -> bool {
    e.status().is_some_and(|s| s.code == google_cloud_gax::error::rpc::Code::NotFound)
}

/// A runtime for the client's futures: the provider interface is synchronous.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the Google client runtime", e))
}

/// A client builder with redisctl's settings: Application Default Credentials against Google,
/// anonymous against a plain `http://` endpoint (`REDISCTL_MEMORYSTORE_ENDPOINT`), AIP-194
/// retries (UNAVAILABLE only, idempotent calls) with four attempts: a failing call takes
/// seconds, not minutes. Both Memorystore clients are built with it.
pub(super) fn configured<F>(
    builder: google_cloud_gax::client_builder::ClientBuilder<F, google_cloud_auth::credentials::Credentials>,
) -> google_cloud_gax::client_builder::ClientBuilder<F, google_cloud_auth::credentials::Credentials> {
    let endpoint = std::env::var(ENDPOINT_ENV).ok().filter(|e| !e.trim().is_empty());
    let mut builder = builder.with_retry_policy(Aip194Strict.with_attempt_limit(4));
    if let Some(url) = &endpoint {
        builder = builder.with_endpoint(url.trim_end_matches('/'));
        if url.starts_with("http://") {
            builder = builder.with_credentials(google_cloud_auth::credentials::anonymous::Builder::new().build());
        }
    }
    builder
}

pub(super) fn setup_failed(e: impl std::fmt::Display) -> Error {
    Error::msg(format!(
        "Memorystore client setup failed: {e}; without Application Default Credentials run `gcloud auth \
         application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
    ))
}

fn client(rt: &tokio::runtime::Runtime) -> Result<CloudRedis, Error> {
    rt.block_on(configured(CloudRedis::builder()).build()).map_err(setup_failed)
}

/// Time between polls (`REDISCTL_MEMORYSTORE_POLL_MS`, default 15 s).
pub(super) fn poll_interval() -> Duration {
    std::env::var(POLL_ENV).ok().and_then(|v| v.parse().ok()).map_or(Duration::from_secs(15), Duration::from_millis)
}

/// Wait for a long-running operation: progress at every poll, the timeout, and up to
/// `POLL_ERRORS_MAX` polling errors in a row (the operation goes on at Google meanwhile).
pub(super) fn wait_op<P, R, M>(
    rt: &tokio::runtime::Runtime,
    poll: Duration,
    timeout: Duration,
    what: &str,
    mut poller: P,
) -> Result<R, Error>
where
    P: Poller<R, M>,
{
    let start = Instant::now();
    let mut errors = 0;
    rt.block_on(async {
        loop {
            match poller.poll().await {
                None => return Err(Error::msg(format!("Memorystore {what}: the operation ended without a result"))),
                Some(PollingResult::Completed(r)) => {
                    tracing::info!("memorystore: {what} done after {}s", start.elapsed().as_secs());
                    return r.map_err(|e| api_err(what, e));
                }
                Some(PollingResult::InProgress(_)) => {
                    errors = 0;
                    tracing::info!("memorystore: {what} in progress ({}s)", start.elapsed().as_secs());
                }
                Some(PollingResult::PollingError(e)) => {
                    errors += 1;
                    if errors >= POLL_ERRORS_MAX {
                        return Err(api_err(&format!("{what} (polling the operation)"), e));
                    }
                    tracing::warn!("memorystore: {what}: polling failed ({e}), retrying");
                }
            }
            if start.elapsed() > timeout {
                return Err(Error::msg(format!(
                    "Memorystore {what}: not done after {}s; the operation goes on at Google — run `redisctl plan` \
                     later to see where it is, `apply` again to continue",
                    timeout.as_secs()
                )));
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// The in-place view of an instance, with the API's field names and enum names, for the
/// fields the contract decides (what `instance_body` sends).
fn observed_body(i: &Instance) -> Map<String, Value> {
    let name = |n: Option<&str>| json!(n.unwrap_or(""));
    let mut b = Map::new();
    b.insert("displayName".into(), json!(i.display_name));
    b.insert("labels".into(), json!(i.labels.iter().collect::<BTreeMap<_, _>>()));
    b.insert("locationId".into(), json!(i.location_id));
    b.insert("alternativeLocationId".into(), json!(i.alternative_location_id));
    b.insert("redisVersion".into(), json!(i.redis_version));
    b.insert("tier".into(), name(i.tier.name()));
    b.insert("memorySizeGb".into(), json!(i.memory_size_gb));
    b.insert("authorizedNetwork".into(), json!(i.authorized_network));
    b.insert("connectMode".into(), name(i.connect_mode.name()));
    b.insert("authEnabled".into(), json!(i.auth_enabled));
    b.insert("transitEncryptionMode".into(), name(i.transit_encryption_mode.name()));
    b.insert("redisConfigs".into(), json!(i.redis_configs.iter().collect::<BTreeMap<_, _>>()));
    b.insert("replicaCount".into(), json!(i.replica_count));
    b.insert("readReplicasMode".into(), name(i.read_replicas_mode.name()));
    let persistence = i.persistence_config.as_ref().map_or(json!({ "persistenceMode": "DISABLED" }), |p| {
        let mode = p.persistence_mode.name().unwrap_or("");
        if mode == "RDB" {
            json!({ "persistenceMode": mode, "rdbSnapshotPeriod": p.rdb_snapshot_period.name().unwrap_or("") })
        } else {
            json!({ "persistenceMode": if mode.is_empty() || mode == "PERSISTENCE_MODE_UNSPECIFIED" { "DISABLED" } else { mode } })
        }
    });
    b.insert("persistenceConfig".into(), persistence);
    if let Some(m) = &i.maintenance_policy {
        let windows = m
            .weekly_maintenance_window
            .iter()
            .map(|w| (w.day.name().unwrap_or("").to_string(), w.start_time.as_ref().map_or(0, |t| t.hours)));
        b.insert("maintenancePolicy".into(), diff::maintenance_view(windows));
    }
    b
}

/// The desired instance as the API's `Instance` (the rendered body, so that the reviewed
/// document and what is sent are one).
fn instance_of(body: Value) -> Result<Instance, Error> {
    serde_json::from_value(body)
        .map_err(|e| Error::msg(format!("internal: the rendered instance is not an Instance: {e}")))
}

impl MemorystoreProvider {
    pub fn new(want: Desired, destroying: bool) -> Result<MemorystoreProvider, Error> {
        let rt = runtime()?;
        let client = client(&rt)?;
        let poll = poll_interval();
        Ok(MemorystoreProvider {
            want,
            destroying,
            client,
            rt,
            observed: None,
            previous: None,
            poll,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
        })
    }

    fn get(&self, name: &str) -> Result<Option<Instance>, Error> {
        match self.rt.block_on(self.client.get_instance().set_name(name).send()) {
            Ok(i) => Ok(Some(i)),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(api_err("GetInstance", e)),
        }
    }

    /// The client endpoints of the instance, or an error when it does not exist.
    pub fn endpoints(&self) -> Result<Endpoints, Error> {
        let name = self.want.name();
        let i = self
            .get(&name)?
            .ok_or_else(|| Error::msg(format!("instance {name} does not exist yet: `redisctl apply` creates it")))?;
        Ok(Endpoints {
            primary: format!("{}:{}", i.host, i.port),
            reader: (!i.read_endpoint.is_empty()).then(|| format!("{}:{}", i.read_endpoint, i.read_endpoint_port)),
            server_ca: i.server_ca_certs.first().map(|c| c.cert.clone()).filter(|c| !c.is_empty()),
        })
    }

    fn wait<P, R, M>(&self, what: &str, poller: P) -> Result<R, Error>
    where
        P: Poller<R, M>,
    {
        wait_op(&self.rt, self.poll, self.wait_timeout, what, poller)
    }

    /// Wait until the instance is READY (after an interrupted apply left an operation running).
    fn wait_ready(&self, name: &str) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            let state = self.get(name)?.map(|i| i.state.name().unwrap_or("").to_string());
            match state.as_deref() {
                None | Some("READY") => return Ok(()),
                Some(s) => tracing::info!("memorystore: {name} is {s} ({}s)", start.elapsed().as_secs()),
            }
            if start.elapsed() > self.wait_timeout {
                return Err(Error::msg(format!(
                    "Memorystore instance {name} is not READY after {}s",
                    self.wait_timeout.as_secs()
                )));
            }
            std::thread::sleep(self.poll);
        }
    }

    fn change(&self, kind: &str, id: &str, action: Action) -> ResourceChange {
        diff::change(kind, id, action)
    }

    fn create_change(&self, action: Action) -> ResourceChange {
        let w = &self.want;
        let mut ch = self.change("instance", &w.id, action);
        ch.after = Some(Shown::Value(create_request(w)));
        ch.summary = Some(format!(
            "{} {} instance {} in {}: {} GB, Redis {}",
            if action == Action::Replace { "replaces the" } else { "creates a" },
            w.tier.unwrap_or("BASIC"),
            w.id,
            w.region,
            w.memory_size_gb.unwrap_or(1),
            w.version
        ));
        ch
    }

    fn plan_changes(&self, state: &State) -> Result<Vec<ResourceChange>, Error> {
        let w = &self.want;
        let id = &w.id;
        if self.destroying {
            let mut out = Vec::new();
            for name in self.observed.as_ref().map(|i| i.name.clone()).into_iter().chain(self.previous.clone()) {
                let mut ch = self.change("instance", id, Action::Delete);
                ch.flags.destructive = true;
                ch.reason = Some(format!("DeleteInstance {name}: the instance and its data are deleted"));
                out.push(ch);
            }
            return Ok(out);
        }
        let Some(have) = &self.observed else {
            let mut ch = self.create_change(Action::Create);
            if let Some(old) = &self.previous {
                ch.action = Action::Replace;
                ch.flags.destructive = true;
                ch.reason = Some(format!(
                    "the instance moves to {} (region or project changed): {old} is deleted with its data and a new \
                     instance is created",
                    w.name()
                ));
            }
            let _ = state;
            return Ok(vec![ch]);
        };
        let state_name = have.state.name().unwrap_or("");
        if matches!(state_name, "DELETING") {
            return Err(Error::msg(format!("instance {} is being deleted; plan again when it is gone", have.name)));
        }
        let want_body = instance_body(w);
        let want_obj = want_body.as_object().cloned().unwrap_or_default();
        let have_obj = observed_body(have);
        let mut out = Vec::new();
        if state_name != "READY" {
            let mut ch = self.change("instance", id, Action::Update);
            ch.reason = Some(format!(
                "the instance is {state_name} (an operation is running, e.g. after an interrupted apply): apply waits \
                 until it is READY"
            ));
            out.push(ch);
        }
        // What only a new instance can have.
        let mut replace = diff::replace_reasons(&FIELDS, &want_obj, &have_obj);
        let (have_v, want_v) = (have.redis_version.as_str(), w.version.as_str());
        if version_rank(have_v) > version_rank(want_v) {
            replace.push(format!("redisVersion downgrade {have_v} → {want_v}"));
        }
        if !replace.is_empty() {
            let mut ch = self.create_change(Action::Replace);
            ch.flags.destructive = true;
            ch.reason = Some(format!(
                "{}: Memorystore cannot change it in place; the instance is deleted (with its data) and created again",
                replace.join(", ")
            ));
            out.push(ch);
            return Ok(out);
        }
        if version_rank(have_v) < version_rank(want_v) {
            let mut ch = self.change("instance", &format!("{id}/version"), Action::Update);
            ch.before = Some(Shown::Text(have_v.to_string()));
            ch.after = Some(Shown::Text(want_v.to_string()));
            ch.reason = Some(format!(
                "UpgradeInstance (:upgrade) to {want_v}: {}",
                if w.tier == Some("STANDARD_HA") {
                    "replicas are upgraded first, then a failover; connections drop once"
                } else {
                    "a BASIC instance restarts and its data is flushed"
                }
            ));
            out.push(ch);
        }
        if let Some(d) = diff::patch_diff(&FIELDS, &want_obj, &have_obj) {
            let mut notes = Vec::new();
            if d.after.contains_key("memorySizeGb") {
                notes.push("a resize: a BASIC instance is flushed, STANDARD_HA keeps its data".into());
            }
            if d.after.get("authEnabled") == Some(&json!(true)) {
                notes.push(
                    "AUTH on: Google generates a new AUTH string; every client must use it (connections without it are \
                     refused) — disruptive"
                        .into(),
                );
            } else if d.after.contains_key("authEnabled") {
                notes.push("AUTH off: the AUTH string is discarded; turning it on again makes a new one".into());
            }
            out.push(diff::patch_change("instance", id, "UpdateInstance", d, notes));
        }
        let recorded = state.record::<InstanceRecord>(&address("instance", id))?.map(|r| r.configs).unwrap_or_default();
        let have_configs = have.redis_configs.clone().into_iter().collect();
        out.extend(diff::config_changes(
            id,
            "UpdateInstance",
            FIELDS.configs.1,
            &w.redis_configs,
            &have_configs,
            &recorded,
        ));
        Ok(out)
    }

    fn create(&self) -> Result<(), Error> {
        let w = &self.want;
        let instance = instance_of(instance_body(w))?;
        let poller =
            self.client.create_instance().set_parent(w.parent()).set_instance_id(&w.id).set_instance(instance).poller();
        self.wait(&format!("CreateInstance {}", w.id), poller)?;
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<(), Error> {
        let poller = self.client.delete_instance().set_name(name).poller();
        match self.wait(&format!("DeleteInstance {name}"), poller) {
            Ok(()) => Ok(()),
            // Deleted meanwhile (by another apply, or by hand): what was wanted.
            Err(_) if self.get(name)?.is_none() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// PATCH the instance with `fields` of `body` under `mask`.
    fn patch(&self, mask: &[&str], fields: Map<String, Value>) -> Result<(), Error> {
        let mut body = fields;
        body.insert("name".into(), json!(self.want.name()));
        let instance = instance_of(Value::Object(body))?;
        let update_mask = google_cloud_wkt::FieldMask::default().set_paths(mask.iter().map(|p| p.to_string()));
        let poller = self.client.update_instance().set_update_mask(update_mask).set_instance(instance).poller();
        self.wait(&format!("UpdateInstance {} ({})", self.want.id, mask.join(",")), poller)?;
        Ok(())
    }

    fn record(&self, state: &mut State) -> Result<(), Error> {
        let configs = self.want.redis_configs.keys().cloned().collect();
        state.put(&address("instance", &self.want.id), &InstanceRecord { name: self.want.name(), configs })
    }
}

impl Provider for MemorystoreProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn plan(&mut self, state: &State) -> Result<ProviderPlan, Error> {
        let name = self.want.name();
        self.observed = self.get(&name)?;
        let recorded = state.record::<InstanceRecord>(&address("instance", &self.want.id))?;
        self.previous = match recorded {
            Some(r) if r.name != name => self.get(&r.name)?.map(|i| i.name),
            _ => None,
        };
        let changes = self.plan_changes(state)?;
        let fingerprint = json!({
            "instance": self.observed.as_ref().map(|i| (observed_body(i), i.state.name())),
            "previous": self.previous,
        });
        Ok(ProviderPlan { changes, observed: hex::encode(Sha256::digest(fingerprint.to_string().as_bytes())) })
    }

    fn apply(&mut self, change: &ResourceChange, state: &mut State, opts: &ApplyOptions) -> Result<Outcome, Error> {
        if let Some(t) = opts.wait_timeout {
            self.wait_timeout = t;
        }
        let w = self.want.clone();
        let name = w.name();
        let path = change.address.path().to_string();
        let (kind, rest) = path.split_once('/').unwrap_or((path.as_str(), ""));
        match (kind, change.action) {
            ("instance", Action::Delete) => {
                for n in self.observed.as_ref().map(|i| i.name.clone()).into_iter().chain(self.previous.clone()) {
                    self.delete(&n)?;
                }
                state.remove(&change.address);
                return Ok(Outcome::Applied);
            }
            ("instance", Action::Create) => self.create()?,
            ("instance", Action::Replace) => {
                for n in self.observed.as_ref().map(|i| i.name.clone()).into_iter().chain(self.previous.clone()) {
                    self.delete(&n)?;
                }
                self.create()?;
            }
            ("instance", Action::Update) if rest.ends_with("/version") => {
                self.wait_ready(&name)?;
                let poller = self.client.upgrade_instance().set_name(&name).set_redis_version(&w.version).poller();
                self.wait(&format!("UpgradeInstance {} to {}", w.id, w.version), poller)?;
            }
            ("instance", Action::Update) => {
                self.wait_ready(&name)?;
                // The fields the plan showed, re-derived: the mask the plan named (`expect`).
                if let Some(mask) = change.expect.as_deref().filter(|m| !m.is_empty()) {
                    let (paths, fields) = diff::masked(&FIELDS, &instance_body(&w), mask);
                    self.patch(&paths, fields)?;
                }
            }
            ("config", action @ (Action::Update | Action::Delete)) => {
                self.wait_ready(&name)?;
                let key = rest.rsplit('/').next().unwrap_or_default();
                let current = self.get(&name)?.map(|i| i.redis_configs.into_iter().collect()).unwrap_or_default();
                let (field, mask) = FIELDS.configs;
                self.patch(&[mask], diff::configs_with(field, current, action, key, &w.redis_configs))?;
            }
            (other, action) => {
                return Err(Error::msg(format!("internal: no memorystore operation for {other} {action:?}")));
            }
        }
        self.record(state)?;
        Ok(Outcome::Applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rendered_body_is_an_instance() {
        let body = json!({
            "displayName": "x", "tier": "STANDARD_HA", "memorySizeGb": 5, "redisConfigs": { "activedefrag": "yes" },
            "persistenceConfig": { "persistenceMode": "RDB", "rdbSnapshotPeriod": "SIX_HOURS" },
            "maintenancePolicy": { "weeklyMaintenanceWindow": [{ "day": "SUNDAY", "startTime": { "hours": 5 } }] },
            "transitEncryptionMode": "SERVER_AUTHENTICATION", "readReplicasMode": "READ_REPLICAS_DISABLED",
        });
        let i = instance_of(body.clone()).unwrap();
        assert_eq!(i.tier.name(), Some("STANDARD_HA"));
        let seen = observed_body(&i);
        for k in
            ["tier", "memorySizeGb", "redisConfigs", "persistenceConfig", "maintenancePolicy", "transitEncryptionMode"]
        {
            assert_eq!(seen[k], body[k], "{k}");
        }
    }
}
