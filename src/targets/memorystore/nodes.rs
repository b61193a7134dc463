//! The provider of the node-based Memorystore products — Memorystore for Redis Cluster
//! (`cluster.rs`, redis.googleapis.com) and Memorystore for Valkey (`valkey.rs`,
//! memorystore.googleapis.com): one plan and apply, each product giving its client calls and
//! its view of a live resource through [`NodeApi`].
//!
//! Addresses: `memorystore:<kind>/<id>` (create; one PATCH whose `updateMask` names exactly
//! the fields that differ; replace, destructive, for what the API calls immutable; and, for
//! a resource still `CREATING`/`UPDATING` after an interrupted apply, an update that waits for
//! it) and `memorystore:config/<id>/<name>` (one configuration entry each, live).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest as _, Sha256};

use super::diff::{self, address, change, Fields};
use super::provider::{poll_interval, runtime, wait_op, Endpoints, DEFAULT_WAIT_TIMEOUT};
use super::render::create_request;
use super::Desired;
use crate::error::Error;
use crate::plan::state::State;
use crate::plan::{Action, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown};

/// How a long-running operation is waited for: the client's runtime, poll interval, timeout.
pub struct Waiter {
    pub rt: tokio::runtime::Runtime,
    pub poll: Duration,
    pub timeout: Duration,
}

impl Waiter {
    pub fn op<P, R, M>(&self, what: &str, poller: P) -> Result<R, Error>
    where
        P: google_cloud_lro::Poller<R, M>,
    {
        wait_op(&self.rt, self.poll, self.timeout, what, poller)
    }
}

/// One product's client and resource model.
pub trait NodeApi: Sized {
    /// The resource as the API returns it.
    type Live;
    /// The address kind and the RPC noun (`cluster`/`Cluster`, `instance`/`Instance`).
    const KIND: &'static str;
    const NOUN: &'static str;
    /// The state a resource is usable in (and can be changed in).
    const READY: &'static str;
    const FIELDS: Fields;
    /// The version field of the body, when the product has one: a downgrade is a replacement.
    const VERSION: Option<&'static str>;

    fn connect(rt: &tokio::runtime::Runtime) -> Result<Self, Error>;
    /// The desired resource as the API's JSON body (what render shows).
    fn body(want: &Desired) -> Value;
    /// The live resource in the body's terms (field names, enum names), for the fields `body` sends.
    fn observed(live: &Self::Live) -> Map<String, Value>;
    fn name(live: &Self::Live) -> &str;
    fn state(live: &Self::Live) -> &str;
    fn configs(live: &Self::Live) -> BTreeMap<String, String>;
    /// `host:port` clients start from (the discovery endpoint; the primary one without cluster mode).
    fn endpoint(live: &Self::Live) -> Option<String>;
    /// `host:port` of the read-only endpoint, where the resource has one.
    fn reader_endpoint(live: &Self::Live) -> Option<String>;
    /// The resource's `serverCaMode` enum name and `serverCaPool`.
    fn ca_mode(live: &Self::Live) -> (Option<&str>, Option<&str>);
    /// The PEM chains of the resource's own CA (`GetCertificateAuthority`).
    fn instance_ca(&self, w: &Waiter, name: &str) -> Result<Vec<String>, Error>;
    /// The PEM chains of the CA Google shares among a region's resources
    /// (`GetSharedRegionalCertificateAuthority` of `projects/*/locations/*`).
    fn shared_ca(&self, w: &Waiter, location: &str) -> Result<Vec<String>, Error>;

    fn get(&self, w: &Waiter, name: &str) -> Result<Option<Self::Live>, Error>;
    fn create(&self, w: &Waiter, want: &Desired, body: Value) -> Result<(), Error>;
    fn patch(&self, w: &Waiter, name: &str, mask: &[&str], fields: Map<String, Value>) -> Result<(), Error>;
    fn delete(&self, w: &Waiter, name: &str) -> Result<(), Error>;
}

/// The configuration entries redisctl set, so that one the contract drops is removed (and one
/// set by hand is left alone).
#[derive(Debug, Default, Serialize, Deserialize)]
struct NodeRecord {
    #[serde(default)]
    configs: Vec<String>,
}

pub struct NodeProvider<A: NodeApi> {
    want: Desired,
    destroying: bool,
    api: A,
    waiter: Waiter,
    observed: Option<A::Live>,
}

impl<A: NodeApi> NodeProvider<A> {
    pub(super) fn new(want: Desired, destroying: bool) -> Result<NodeProvider<A>, Error> {
        let rt = runtime()?;
        let api = A::connect(&rt)?;
        let waiter = Waiter { rt, poll: poll_interval(), timeout: DEFAULT_WAIT_TIMEOUT };
        Ok(NodeProvider { want, destroying, api, waiter, observed: None })
    }

    fn get(&self) -> Result<Option<A::Live>, Error> {
        self.api.get(&self.waiter, &self.want.name())
    }

    /// Where clients connect — the endpoint they start from, the reader endpoint, and the server
    /// CA when the live resource encrypts in transit —, or an error when it does not exist (yet).
    pub fn endpoints(&self) -> Result<Endpoints, Error> {
        let name = self.want.name();
        let live = self
            .get()?
            .ok_or_else(|| Error::msg(format!("{} {name} does not exist yet: `redisctl apply` creates it", A::KIND)))?;
        let primary =
            A::endpoint(&live).ok_or_else(|| Error::msg(format!("{} {name} has no endpoint yet", A::KIND)))?;
        // Both APIs name the mode `..._SERVER_AUTHENTICATION` (the only encrypted one).
        let encrypted = A::observed(&live)
            .get("transitEncryptionMode")
            .and_then(Value::as_str)
            .is_some_and(|m| m.ends_with("SERVER_AUTHENTICATION"));
        let server_ca = if encrypted {
            let (mode, pool) = A::ca_mode(&live);
            // Valkey's enum names lack the `SERVER_CA_MODE_` prefix Redis Cluster's have.
            let chains = match mode.map(|m| m.trim_start_matches("SERVER_CA_MODE_")) {
                Some("GOOGLE_MANAGED_SHARED_CA") => {
                    let location = name.split('/').take(4).collect::<Vec<_>>().join("/");
                    self.api.shared_ca(&self.waiter, &location)?
                }
                Some("CUSTOMER_MANAGED_CAS_CA") => {
                    return Err(Error::msg(format!(
                        "{} {name} has server certificates from the customer-managed CA pool {}: clients verify \
                         with that pool's CA certificates (`gcloud privateca pools get-ca-certs`), which redisctl \
                         does not read",
                        A::KIND,
                        pool.unwrap_or("(not named)")
                    )))
                }
                // Unspecified is the per-instance CA, Google's default.
                _ => self.api.instance_ca(&self.waiter, &name)?,
            };
            if chains.is_empty() {
                return Err(Error::msg(format!(
                    "{} {name} encrypts in transit but Google returned no server CA yet; retry once it is {}",
                    A::KIND,
                    A::READY
                )));
            }
            Some(chains.concat())
        } else {
            None
        };
        Ok(Endpoints { primary, reader: A::reader_endpoint(&live), server_ca })
    }

    /// Wait until the resource is usable (an interrupted apply left an operation running).
    fn wait_ready(&self) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            let live = self.get()?;
            match live.as_ref().map(A::state) {
                None => return Ok(()),
                Some(s) if s == A::READY => return Ok(()),
                Some(s) => tracing::info!("memorystore: {} is {s} ({}s)", self.want.id, start.elapsed().as_secs()),
            }
            if start.elapsed() > self.waiter.timeout {
                return Err(Error::msg(format!(
                    "Memorystore {} {} is not {} after {}s",
                    A::KIND,
                    self.want.name(),
                    A::READY,
                    self.waiter.timeout.as_secs()
                )));
            }
            std::thread::sleep(self.waiter.poll);
        }
    }

    fn create_change(&self, action: Action) -> ResourceChange {
        let w = &self.want;
        let mut ch = change(A::KIND, &w.id, action);
        ch.after = Some(Shown::Value(create_request(w)));
        ch.summary = Some(format!(
            "{} {} {} in {}: {} shard(s) × (primary + {} replica(s)) of {}, {}",
            if action == Action::Replace { "replaces the" } else { "creates a" },
            w.product.title(),
            w.id,
            w.region,
            w.shards,
            w.replicas,
            w.node_type.as_deref().unwrap_or(""),
            w.version
        ));
        ch
    }

    fn plan_changes(&self, state: &State) -> Result<Vec<ResourceChange>, Error> {
        let w = &self.want;
        let id = &w.id;
        let rpc = format!("Update{}", A::NOUN);
        let Some(have) = &self.observed else {
            return Ok(if self.destroying { Vec::new() } else { vec![self.create_change(Action::Create)] });
        };
        if self.destroying {
            let mut ch = change(A::KIND, id, Action::Delete);
            ch.flags.destructive = true;
            ch.reason = Some(format!("Delete{} {}: it is deleted with its data", A::NOUN, A::name(have)));
            return Ok(vec![ch]);
        }
        let state_name = A::state(have);
        if state_name == "DELETING" {
            return Err(Error::msg(format!("{} is being deleted; plan again when it is gone", A::name(have))));
        }
        let mut out = Vec::new();
        if state_name != A::READY {
            let mut ch = change(A::KIND, id, Action::Update);
            ch.reason = Some(format!(
                "the {} is {state_name} (an operation is running, e.g. after an interrupted apply): apply waits until \
                 it is {}",
                A::KIND,
                A::READY
            ));
            out.push(ch);
        }
        let want_obj = A::body(w).as_object().cloned().unwrap_or_default();
        let have_obj = A::observed(have);
        let mut replace = diff::replace_reasons(&A::FIELDS, &want_obj, &have_obj);
        if let Some(field) = A::VERSION {
            let (have_v, want_v) = (have_obj.get(field), want_obj.get(field));
            let rank = |v: Option<&Value>| diff::version_rank(v.and_then(Value::as_str).unwrap_or(""));
            if rank(have_v) > rank(want_v) {
                replace.push(format!("{field} downgrade {} → {}", json!(have_v), json!(want_v)));
            }
        }
        if !replace.is_empty() {
            let mut ch = self.create_change(Action::Replace);
            ch.flags.destructive = true;
            ch.reason = Some(format!(
                "{}: Memorystore cannot change it in place; the {} is deleted (with its data) and created again",
                replace.join(", "),
                A::KIND
            ));
            out.push(ch);
            return Ok(out);
        }
        if let Some(d) = diff::patch_diff(&A::FIELDS, &want_obj, &have_obj) {
            let mut notes = Vec::new();
            if d.after.contains_key("shardCount") {
                notes.push("resharding: slots and their keys move online; clients follow MOVED redirects".into());
            }
            if let Some(v) = A::VERSION.filter(|v| d.after.contains_key(*v)) {
                notes.push(format!("{v}: a rolling upgrade of every node; each connection drops once"));
            }
            out.push(diff::patch_change(A::KIND, id, &rpc, d, notes));
        }
        let recorded = state.record::<NodeRecord>(&address(A::KIND, id))?.unwrap_or_default().configs;
        out.extend(diff::config_changes(id, &rpc, A::FIELDS.configs.1, &w.redis_configs, &A::configs(have), &recorded));
        Ok(out)
    }

    fn record(&self, state: &mut State) -> Result<(), Error> {
        let configs = self.want.redis_configs.keys().cloned().collect();
        state.put(&address(A::KIND, &self.want.id), &NodeRecord { configs })
    }

    fn delete(&self) -> Result<(), Error> {
        let name = self.want.name();
        match self.api.delete(&self.waiter, &name) {
            Ok(()) => Ok(()),
            // Deleted meanwhile (by another apply, or by hand): what was wanted.
            Err(_) if self.get()?.is_none() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl<A: NodeApi> Provider for NodeProvider<A> {
    fn name(&self) -> &'static str {
        super::provider::NAME
    }

    fn plan(&mut self, state: &State) -> Result<ProviderPlan, Error> {
        self.observed = self.get()?;
        let changes = self.plan_changes(state)?;
        let fingerprint = json!(self.observed.as_ref().map(|l| (A::observed(l), A::state(l))));
        Ok(ProviderPlan { changes, observed: hex::encode(Sha256::digest(fingerprint.to_string().as_bytes())) })
    }

    fn apply(&mut self, change: &ResourceChange, state: &mut State, opts: &ApplyOptions) -> Result<Outcome, Error> {
        if let Some(t) = opts.wait_timeout {
            self.waiter.timeout = t;
        }
        let w = &self.want;
        let name = w.name();
        let path = change.address.path().to_string();
        let (kind, rest) = path.split_once('/').unwrap_or((path.as_str(), ""));
        match (kind, change.action) {
            (k, Action::Delete) if k == A::KIND => {
                self.delete()?;
                state.remove(&change.address);
                return Ok(Outcome::Applied);
            }
            (k, Action::Create) if k == A::KIND => self.api.create(&self.waiter, w, A::body(w))?,
            (k, Action::Replace) if k == A::KIND => {
                self.wait_ready()?;
                self.delete()?;
                self.api.create(&self.waiter, w, A::body(w))?;
            }
            (k, Action::Update) if k == A::KIND => {
                self.wait_ready()?;
                // The fields the plan showed, re-derived: the mask the plan named (`expect`).
                if let Some(mask) = change.expect.as_deref().filter(|m| !m.is_empty()) {
                    let (paths, fields) = diff::masked(&A::FIELDS, &A::body(w), mask);
                    self.api.patch(&self.waiter, &name, &paths, fields)?;
                }
            }
            ("config", action @ (Action::Update | Action::Delete)) => {
                self.wait_ready()?;
                let key = rest.rsplit('/').next().unwrap_or_default();
                let current = self.get()?.map(|l| A::configs(&l)).unwrap_or_default();
                let (field, mask) = A::FIELDS.configs;
                let fields = diff::configs_with(field, current, action, key, &w.redis_configs);
                self.api.patch(&self.waiter, &name, &[mask], fields)?;
            }
            (other, action) => {
                return Err(Error::msg(format!(
                    "internal: no memorystore {} operation for {other} {action:?}",
                    A::KIND
                )));
            }
        }
        self.record(state)?;
        Ok(Outcome::Applied)
    }
}
