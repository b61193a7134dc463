//! The managed provider: an ElastiCache environment in an AWS account, through the AWS SDK.
//!
//! Observed with the Describe calls (replication group and one member cluster, subnet group,
//! parameter group parameters, users, user group); planned per resource with addresses like
//! `elasticache:replication-group/<id>` and `elasticache:parameter/<group>/<name>`; applied in
//! dependency order (subnet group → parameter group → users → user group → replication group →
//! replicas, shards, auth token → deletions), waiting for `available`/`active` after each step.
//! Nothing is remembered between runs but hashes in the state: a re-plan after an interrupted
//! apply shows exactly what is left.
//!
//! Passwords (RBAC users, the AUTH token) are read from their references only to be sent to
//! AWS; the state keeps their SHA-256, plans show `(sensitive, changed)`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::util::digest;
use aws_sdk_elasticache::types::{
    AuthTokenUpdateStrategyType, AuthenticationMode, ClusterMode, InputAuthenticationType, ParameterNameValue, Tag,
};
use aws_sdk_elasticache::Client;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use super::render::requests;
use super::Desired;
use crate::error::Error;
use crate::model::SecretRef;
use crate::plan::state::State;
use crate::plan::{Action, Address, ApplyOptions, Outcome, Provider, ProviderPlan, ResourceChange, Shown, WaitsFor};
use crate::providers::aws;
use crate::secrets::Secret;

pub const NAME: &str = "elasticache";

/// `elasticache:<kind>/<id>`, e.g. `elasticache:replication-group/catalog`.
fn address(kind: &str, id: &str) -> Address {
    Address::new(NAME, format!("{kind}/{id}"))
}

/// The resource kind and id of an address of this provider.
fn resource(a: &Address) -> Option<(&str, &str)> {
    a.path().split_once('/')
}

/// What the state keeps of an ACL user redisctl manages: its password's hash, and whether a
/// rotation (old and new both valid) waits for `--finish-rotation`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct UserRecord {
    /// Salted (`util::digest`): the state file is committed next to the output.
    #[serde(alias = "password_sha256")]
    password_digest: Option<String>,
    #[serde(default)]
    rotating: bool,
}

/// The same for the replication group's AUTH token.
#[derive(Debug, Serialize, Deserialize)]
struct TokenRecord {
    #[serde(alias = "sha256")]
    digest: String,
    #[serde(default)]
    rotating: bool,
}

/// How long one step (create, modify, delete) may take before apply gives up.
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
struct ObservedUser {
    user_name: String,
    access_string: String,
    status: String,
    password_count: i32,
}

/// Settings of one member cluster that DescribeReplicationGroups does not return.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
struct MemberSettings {
    engine_version: Option<String>,
    parameter_group: Option<String>,
    maintenance_window: Option<String>,
    security_group_ids: Vec<String>,
}

/// Where clients connect: the configuration endpoint (cluster mode), or primary and reader.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Endpoints {
    pub configuration: Option<String>,
    pub primary: Option<String>,
    pub reader: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
struct ObservedGroup {
    status: String,
    endpoints: Endpoints,
    node_type: String,
    engine: String,
    cluster_mode: bool,
    shards: u32,
    replicas_per_shard: u32,
    node_group_ids: Vec<String>,
    member_clusters: Vec<String>,
    automatic_failover: bool,
    multi_az: bool,
    transit_encryption: bool,
    at_rest_encryption: bool,
    snapshot_retention_days: u32,
    snapshot_window: Option<String>,
    user_group_ids: Vec<String>,
    auth_token_enabled: bool,
    /// `None` when the member cluster cannot be described (moto does not model members).
    member: Option<MemberSettings>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
struct Observed {
    subnet_group: Option<Vec<String>>,
    /// Parameter → (value, change type); `None` when the group does not exist.
    parameters: Option<BTreeMap<String, (String, String)>>,
    users: BTreeMap<String, ObservedUser>,
    user_group: Option<(Vec<String>, String)>,
    group: Option<ObservedGroup>,
}

pub struct ElastiCache {
    want: Desired,
    /// Plan the removal of everything instead (`redisctl destroy`).
    destroying: bool,
    project_dir: PathBuf,
    client: Client,
    rt: tokio::runtime::Runtime,
    observed: Observed,
    poll: Duration,
    /// Member clusters to reboot in `finish` (parameters that need a reboot, with --allow-restart).
    reboot: bool,
    wait_timeout: Duration,
}

fn sdk_err<E>(what: &str, e: aws_sdk_elasticache::error::SdkError<E>) -> Error
where
    E: std::error::Error + Send + Sync + 'static + aws_sdk_elasticache::error::ProvideErrorMetadata,
{
    crate::providers::aws::sdk_err("ElastiCache", what, e)
}

fn digest(s: &Secret) -> String {
    digest::salted(s.expose())
}

/// Whether a state record's digest is of `secret`; `false` without a record.
fn recorded_as(recorded: Option<&str>, secret: &Secret) -> bool {
    recorded.is_some_and(|d| digest::matches(d, secret.expose()))
}

fn tags(want: &Desired) -> Vec<Tag> {
    want.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

impl ElastiCache {
    /// The provider of a deployment's ElastiCache environment, with a client from the standard AWS chain.
    pub fn for_deployment(
        d: &crate::resolve::Deployment,
        project_dir: PathBuf,
        endpoint_url: Option<&str>,
    ) -> Result<ElastiCache, Error> {
        let want = Desired::from_deployment(d).map_err(Error::msg)?;
        ElastiCache::new(want, project_dir, endpoint_url)
    }

    /// Whether the replication group runs in cluster mode (clients start from the configuration endpoint).
    pub fn cluster_mode(&self) -> bool {
        self.want.cluster_mode
    }

    pub fn new(want: Desired, project_dir: PathBuf, endpoint_url: Option<&str>) -> Result<ElastiCache, Error> {
        let rt = aws::runtime()?;
        let client = Client::new(&aws::sdk_config(&rt, want.region.as_deref(), endpoint_url)?);
        Ok(ElastiCache::with_client(want, project_dir, client, rt))
    }

    /// With a given client (tests: a mock client).
    pub fn with_client(want: Desired, project_dir: PathBuf, client: Client, rt: tokio::runtime::Runtime) -> Self {
        let poll = std::env::var("REDISCTL_AWS_POLL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(15), Duration::from_millis);
        ElastiCache {
            want,
            destroying: false,
            project_dir,
            client,
            rt,
            observed: Observed::default(),
            poll,
            reboot: false,
            wait_timeout: DEFAULT_WAIT_TIMEOUT,
        }
    }

    /// Run one SDK call to completion; `what` names the operation in the error.
    fn call<T, E>(
        &self,
        what: &str,
        request: impl std::future::Future<Output = Result<T, aws_sdk_elasticache::error::SdkError<E>>>,
    ) -> Result<T, Error>
    where
        E: std::error::Error + Send + Sync + 'static + aws_sdk_elasticache::error::ProvideErrorMetadata,
    {
        self.rt.block_on(request).map_err(|e| sdk_err(what, e))
    }

    pub fn new_runtime() -> Result<tokio::runtime::Runtime, Error> {
        aws::runtime()
    }

    /// Plan the removal of the whole environment.
    pub fn destroying(mut self) -> Self {
        self.destroying = true;
        self
    }

    fn secret(&self, r: &SecretRef, what: &str) -> Result<Secret, Error> {
        r.resolve(&self.project_dir).map_err(|e| Error::msg(format!("{what}: {e}")))
    }

    // ---------------------------------------------------------------- observe

    fn observe(&self) -> Result<Observed, Error> {
        let w = &self.want;
        let c = &self.client;
        self.rt.block_on(async {
            let mut o = Observed::default();
            if let Some((name, _)) = &w.subnet_group {
                match c.describe_cache_subnet_groups().cache_subnet_group_name(name).send().await {
                    Ok(out) => {
                        o.subnet_group = out.cache_subnet_groups().first().map(|g| {
                            let mut ids: Vec<String> =
                                g.subnets().iter().filter_map(|s| s.subnet_identifier().map(String::from)).collect();
                            ids.sort();
                            ids
                        })
                    }
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_cache_subnet_group_not_found_fault()) => {}
                    Err(e) => return Err(sdk_err("DescribeCacheSubnetGroups", e)),
                }
            }
            let pg = &w.parameter_group;
            if pg.managed {
                let mut params = BTreeMap::new();
                let mut marker: Option<String> = None;
                let mut found = true;
                loop {
                    let out = c
                        .describe_cache_parameters()
                        .cache_parameter_group_name(&pg.name)
                        .set_marker(marker.clone())
                        .send()
                        .await;
                    match out {
                        Ok(out) => {
                            for p in out.parameters() {
                                if let Some(name) = p.parameter_name() {
                                    let change = p.change_type().map_or("immediate", |t| t.as_str());
                                    params.insert(
                                        name.to_string(),
                                        (p.parameter_value().unwrap_or("").to_string(), change.to_string()),
                                    );
                                }
                            }
                            marker = out.marker().map(String::from);
                            if marker.is_none() {
                                break;
                            }
                        }
                        Err(e)
                            if e.as_service_error().is_some_and(|s| s.is_cache_parameter_group_not_found_fault()) =>
                        {
                            found = false;
                            break;
                        }
                        Err(e) => return Err(sdk_err("DescribeCacheParameters", e)),
                    }
                }
                o.parameters = found.then_some(params);
            }
            for u in &w.users {
                match c.describe_users().user_id(&u.user_id).send().await {
                    Ok(out) => {
                        if let Some(user) = out.users().first() {
                            o.users.insert(
                                u.user_id.clone(),
                                ObservedUser {
                                    user_name: user.user_name().unwrap_or("").into(),
                                    access_string: user.access_string().unwrap_or("").into(),
                                    status: user.status().unwrap_or("").into(),
                                    password_count: user.authentication().and_then(|a| a.password_count()).unwrap_or(0),
                                },
                            );
                        }
                    }
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_user_not_found_fault()) => {}
                    Err(e) => return Err(sdk_err("DescribeUsers", e)),
                }
            }
            if let Some(id) = &w.user_group {
                match c.describe_user_groups().user_group_id(id).send().await {
                    Ok(out) => {
                        o.user_group = out.user_groups().first().map(|g| {
                            let mut ids = g.user_ids().to_vec();
                            ids.sort();
                            (ids, g.status().unwrap_or("").to_string())
                        })
                    }
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_user_group_not_found_fault()) => {}
                    Err(e) => return Err(sdk_err("DescribeUserGroups", e)),
                }
            }
            o.group = observe_group(c, &w.group_id).await?;
            Ok(o)
        })
    }

    // ---------------------------------------------------------------- plan

    fn change(&self, kind: &str, id: &str, action: Action) -> ResourceChange {
        ResourceChange::new(NAME, address(kind, id), action)
    }

    /// The create request of `operation` for `id`, as shown in the rendered document.
    fn request(&self, operation: &str, id: &str) -> Option<Shown> {
        requests(&self.want)
            .into_iter()
            .find(|r| {
                // The field that names what the request creates.
                let key = match operation {
                    "CreateCacheSubnetGroup" => "CacheSubnetGroupName",
                    "CreateUser" => "UserId",
                    "CreateUserGroup" => "UserGroupId",
                    _ => "ReplicationGroupId",
                };
                r["operation"] == operation && r["input"][key] == id
            })
            .map(|r| Shown::Value(r["input"].clone()))
    }

    fn plan_changes(&self, state: &State) -> Result<Vec<ResourceChange>, Error> {
        if self.destroying {
            return Ok(self.plan_destroy());
        }
        let w = &self.want;
        let o = &self.observed;
        let mut out = Vec::new();
        let mut deletions = Vec::new();

        if let Some((name, subnets)) = &w.subnet_group {
            let mut want_ids = subnets.clone();
            want_ids.sort();
            match &o.subnet_group {
                None => {
                    let mut ch = self.change("subnet-group", name, Action::Create);
                    ch.after = self.request("CreateCacheSubnetGroup", name);
                    out.push(ch);
                }
                Some(have) if have != &want_ids => {
                    let mut ch = self.change("subnet-group", name, Action::Update);
                    ch.before = Some(Shown::Value(json!({ "SubnetIds": have })));
                    ch.after = Some(Shown::Value(json!({ "SubnetIds": want_ids })));
                    out.push(ch);
                }
                Some(_) => {}
            }
        }

        let pg = &w.parameter_group;
        if pg.managed {
            match &o.parameters {
                None => {
                    let mut ch = self.change("parameter-group", &pg.name, Action::Create);
                    ch.reason = Some(format!("family {}, {} parameters", pg.family, pg.parameters.len()));
                    ch.after = Some(Shown::Value(json!(pg.parameters)));
                    out.push(ch);
                }
                Some(have) => {
                    for (name, value) in &pg.parameters {
                        let (current, change_type) = have.get(name).cloned().unwrap_or_default();
                        if &current == value {
                            continue;
                        }
                        let mut ch = ResourceChange::new(
                            NAME,
                            address("parameter", &format!("{}/{name}", pg.name)),
                            Action::Update,
                        );
                        ch.before = Some(Shown::Text(current));
                        ch.after = Some(Shown::Text(value.clone()));
                        if change_type == "requires-reboot" {
                            ch.flags.restart_required = true;
                            ch.reason = Some(
                                "ElastiCache applies it when the nodes reboot (ChangeType requires-reboot)".into(),
                            );
                        } else {
                            ch.flags.live = true;
                            ch.reason = Some("ElastiCache applies it immediately (ChangeType immediate)".into());
                        }
                        out.push(ch);
                    }
                }
            }
        }

        for u in &w.users {
            let recorded = state.record::<UserRecord>(&address("user", &u.user_id))?;
            let password = match &u.password {
                Some(r) => Some(self.secret(r, &format!("password of ACL user `{}`", u.user_name))?),
                None => None,
            };
            match o.users.get(&u.user_id) {
                None => {
                    let mut ch = self.change("user", &u.user_id, Action::Create);
                    ch.after = self.request("CreateUser", &u.user_id);
                    ch.redacted = usize::from(u.password.is_some());
                    out.push(ch);
                }
                Some(have) => {
                    let recorded_digest = recorded.as_ref().and_then(|r| r.password_digest.as_deref());
                    let changed = password.as_ref().is_some_and(|p| !recorded_as(recorded_digest, p));
                    let rotating = recorded.is_some_and(|r| r.rotating);
                    let mut ch = self.change("user", &u.user_id, Action::Update);
                    let mut before = serde_json::Map::new();
                    let mut after = serde_json::Map::new();
                    if have.access_string != u.access_string {
                        before.insert("AccessString".into(), json!(have.access_string));
                        after.insert("AccessString".into(), json!(u.access_string));
                    }
                    if changed {
                        before.insert("Passwords".into(), json!("(sensitive)"));
                        after.insert("Passwords".into(), json!("(sensitive, changed)"));
                        ch.redacted += 1;
                        ch.reason = Some(if self.previous_password(&u.user_name).is_some() {
                            "password rotation, step 1: old and new passwords both valid until `apply --finish-rotation`"
                                .into()
                        } else {
                            "password replaced at once (clients with the old password fail until they roll over); \
                             set `previousPassword` of the user to keep both valid during the rotation"
                                .into()
                        });
                    } else if rotating {
                        before.insert("PasswordCount".into(), json!(have.password_count));
                        after.insert("PasswordCount".into(), json!(1));
                        ch.reason = Some(
                            "password rotation, step 2: `apply --finish-rotation` removes the old password".into(),
                        );
                        ch.flags.waits_for = Some(WaitsFor::FinishRotation);
                    }
                    if !after.is_empty() {
                        ch.before = Some(Shown::Value(Value::Object(before)));
                        ch.after = Some(Shown::Value(Value::Object(after)));
                        out.push(ch);
                    }
                }
            }
        }
        // Users redisctl created earlier and the contract no longer has.
        for a in state.addresses(NAME) {
            if let Some(("user", id)) = resource(a) {
                if !w.users.iter().any(|u| u.user_id == id) {
                    deletions.push(self.change("user", id, Action::Delete));
                }
            }
        }

        if let Some(id) = &w.user_group {
            let mut want_ids: Vec<String> = w.users.iter().map(|u| u.user_id.clone()).collect();
            want_ids.sort();
            match &o.user_group {
                None => {
                    let mut ch = self.change("user-group", id, Action::Create);
                    ch.after = self.request("CreateUserGroup", id);
                    out.push(ch);
                }
                Some((have, _)) if have != &want_ids => {
                    let mut ch = self.change("user-group", id, Action::Update);
                    ch.before = Some(Shown::Value(json!({ "UserIds": have })));
                    ch.after = Some(Shown::Value(json!({ "UserIds": want_ids })));
                    out.push(ch);
                }
                Some(_) => {}
            }
        }

        let rg_address = address("replication-group", &w.group_id);
        match &o.group {
            None => {
                let mut ch = self.change("replication-group", &w.group_id, Action::Create);
                ch.reason = Some(format!(
                    "{} node(s) of {}: {} shard(s) × (1 primary + {} replica(s))",
                    w.node_count(),
                    w.node_type,
                    w.shards,
                    w.replicas_per_shard
                ));
                ch.after = self.request("CreateReplicationGroup", &w.group_id);
                ch.redacted = usize::from(w.auth_token.is_some());
                out.push(ch);
            }
            Some(have) if have.status == "deleting" => {
                return Err(Error::msg(format!(
                    "replication group {} is being deleted; plan again when it is gone",
                    w.group_id
                )))
            }
            Some(have) => {
                let applied = state.record::<Value>(&rg_address)?.unwrap_or(Value::Null);
                if let Some(why) = replace_reason(w, have, &applied) {
                    let mut ch = self.change("replication-group", &w.group_id, Action::Replace);
                    ch.flags.destructive = true;
                    ch.reason = Some(format!(
                        "{why}: ElastiCache cannot change it in place; the group is deleted (with its data) and \
                         created again — take a snapshot first (`apply --snapshot-first`)"
                    ));
                    ch.after = self.request("CreateReplicationGroup", &w.group_id);
                    out.push(ch);
                } else {
                    let (before, after) = settings_diff(w, have, &applied);
                    if !after.is_empty() {
                        let mut ch = self.change("replication-group", &w.group_id, Action::Update);
                        ch.reason = Some(modify_reason(&after));
                        ch.before = Some(Shown::Value(Value::Object(before)));
                        ch.after = Some(Shown::Value(Value::Object(after)));
                        out.push(ch);
                    }
                    if have.replicas_per_shard != w.replicas_per_shard {
                        let mut ch = ResourceChange::new(NAME, rg_address.join("replicas"), Action::Update);
                        let more = w.replicas_per_shard > have.replicas_per_shard;
                        ch.reason = Some(if more {
                            "IncreaseReplicaCount: new replicas copy the data of their primary (full sync); \
                             reads on them start when the sync is done"
                                .into()
                        } else {
                            "DecreaseReplicaCount: replicas are removed; no data is lost, read capacity and \
                             failover candidates shrink"
                                .into()
                        });
                        ch.before = Some(Shown::Text(format!("{} per shard", have.replicas_per_shard)));
                        ch.after = Some(Shown::Text(format!("{} per shard", w.replicas_per_shard)));
                        out.push(ch);
                    }
                    if w.cluster_mode && have.shards != w.shards {
                        let mut ch = ResourceChange::new(NAME, rg_address.join("shards"), Action::Update);
                        if w.shards > have.shards {
                            ch.reason = Some(format!(
                                "ModifyReplicationGroupShardConfiguration: online resharding moves about {}% of the \
                                 slots (and their keys) to the {} new shard(s); clients follow MOVED redirects",
                                (w.shards - have.shards) * 100 / w.shards,
                                w.shards - have.shards
                            ));
                        } else {
                            ch.flags.destructive = true;
                            ch.reason = Some(format!(
                                "ModifyReplicationGroupShardConfiguration: the slots and keys of {} shard(s) move to \
                                 the remaining {}; if the data does not fit their memory, keys are evicted or the \
                                 resharding fails",
                                have.shards - w.shards,
                                w.shards
                            ));
                        }
                        ch.before = Some(Shown::Text(format!("{} shards", have.shards)));
                        ch.after = Some(Shown::Text(format!("{} shards", w.shards)));
                        out.push(ch);
                    }
                }
                if let Some(token) = &w.auth_token {
                    let secret = self.secret(token, "aws.authToken")?;
                    let recorded = state.record::<TokenRecord>(&address("auth-token", &w.group_id))?;
                    let rotating = recorded.as_ref().is_some_and(|r| r.rotating);
                    let same = recorded_as(recorded.as_ref().map(|r| r.digest.as_str()), &secret);
                    if !same || rotating {
                        let mut ch = self.change("auth-token", &w.group_id, Action::Update);
                        ch.redacted = 1;
                        ch.before = Some(Shown::Text("(sensitive)".into()));
                        ch.after = Some(Shown::Text(if same { "(sensitive)" } else { "(sensitive, changed)" }.into()));
                        if same {
                            ch.flags.waits_for = Some(WaitsFor::FinishRotation);
                        }
                        ch.reason = Some(if same {
                            "rotation, step 2: `apply --finish-rotation` makes the new token the only one (SET)".into()
                        } else {
                            "rotation, step 1 (ROTATE): old and new tokens are both accepted until \
                             `apply --finish-rotation`"
                                .into()
                        });
                        out.push(ch);
                    }
                }
            }
        }

        if w.user_group.is_none() {
            for a in state.addresses(NAME) {
                if let Some(("user-group", id)) = resource(a) {
                    deletions.push(self.change("user-group", id, Action::Delete));
                }
            }
        }
        out.extend(deletions);
        Ok(out)
    }

    fn plan_destroy(&self) -> Vec<ResourceChange> {
        let w = &self.want;
        let o = &self.observed;
        let mut out = Vec::new();
        if o.group.as_ref().is_some_and(|g| g.status != "deleting") {
            let mut ch = self.change("replication-group", &w.group_id, Action::Delete);
            ch.flags.destructive = true;
            ch.reason = Some("the replication group and all its data are deleted".into());
            out.push(ch);
        }
        if let (Some(id), Some(_)) = (&w.user_group, &o.user_group) {
            out.push(self.change("user-group", id, Action::Delete));
        }
        for id in o.users.keys() {
            out.push(self.change("user", id, Action::Delete));
        }
        if w.parameter_group.managed && o.parameters.is_some() {
            out.push(self.change("parameter-group", &w.parameter_group.name, Action::Delete));
        }
        if let (Some((name, _)), Some(_)) = (&w.subnet_group, &o.subnet_group) {
            out.push(self.change("subnet-group", name, Action::Delete));
        }
        out
    }

    fn previous_password(&self, user: &str) -> Option<&SecretRef> {
        self.want.previous_passwords.get(user)
    }

    // ---------------------------------------------------------------- apply

    fn wait_group(&self, until_gone: bool) -> Result<(), Error> {
        let id = &self.want.group_id;
        let start = Instant::now();
        loop {
            let group = self.rt.block_on(observe_group(&self.client, id))?;
            let status = group.as_ref().map_or("deleted", |g| g.status.as_str()).to_string();
            let done = if until_gone { group.is_none() } else { status == "available" };
            tracing::info!("elasticache: replication-group/{id}: {status} ({}s elapsed)", start.elapsed().as_secs());
            if done {
                return Ok(());
            }
            if start.elapsed() > self.wait_timeout {
                return Err(Error::msg(format!(
                    "replication group {id} is still `{status}` after {}s; apply again later to go on \
                     (a new plan shows what is left)",
                    start.elapsed().as_secs()
                )));
            }
            std::thread::sleep(self.poll);
        }
    }

    fn wait_user_group(&self, id: &str) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            let status = self.rt.block_on(async {
                match self.client.describe_user_groups().user_group_id(id).send().await {
                    Ok(out) => Ok(out.user_groups().first().and_then(|g| g.status()).unwrap_or("").to_string()),
                    Err(e) => Err(sdk_err("DescribeUserGroups", e)),
                }
            })?;
            tracing::info!("elasticache: user-group/{id}: {status} ({}s elapsed)", start.elapsed().as_secs());
            if status == "active" {
                return Ok(());
            }
            if start.elapsed() > self.wait_timeout {
                return Err(Error::msg(format!("user group {id} is still `{status}`; apply again later")));
            }
            std::thread::sleep(self.poll);
        }
    }

    fn snapshot(&self) -> Result<(), Error> {
        let w = &self.want;
        let name = format!(
            "{}-redisctl-{}",
            w.group_id,
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
        );
        tracing::info!(
            "elasticache: snapshot {name} of replication-group/{} before a change that can lose data",
            w.group_id
        );
        self.call(
            "CreateSnapshot",
            self.client.create_snapshot().replication_group_id(&w.group_id).snapshot_name(&name).send(),
        )?;
        Ok(())
    }

    fn create_group(&self, state: &mut State) -> Result<(), Error> {
        let w = &self.want;
        let mut req = self
            .client
            .create_replication_group()
            .replication_group_id(&w.group_id)
            .replication_group_description(&w.description)
            .engine(w.engine.as_str())
            .engine_version(&w.engine_version)
            .cache_node_type(&w.node_type)
            .cache_parameter_group_name(&w.parameter_group.name)
            .port(w.port as i32)
            .automatic_failover_enabled(w.automatic_failover)
            .multi_az_enabled(w.multi_az)
            .transit_encryption_enabled(w.transit_encryption)
            .at_rest_encryption_enabled(w.at_rest_encryption)
            .snapshot_retention_limit(w.snapshot_retention_days as i32)
            .set_snapshot_window(w.snapshot_window.clone())
            .set_preferred_maintenance_window(w.maintenance_window.clone())
            .set_cache_subnet_group_name(w.subnet_group.as_ref().map(|(n, _)| n.clone()))
            .set_security_group_ids((!w.security_group_ids.is_empty()).then(|| w.security_group_ids.clone()))
            .set_user_group_ids(w.user_group.clone().map(|g| vec![g]))
            .set_tags(Some(tags(w)));
        if w.cluster_mode {
            req = req.cluster_mode(ClusterMode::Enabled).num_node_groups(w.shards as i32);
        }
        req = req.replicas_per_node_group(w.replicas_per_shard as i32);
        let token = w.auth_token.as_ref().map(|t| self.secret(t, "aws.authToken")).transpose()?;
        if let Some(token) = &token {
            req = req.auth_token(token.expose());
        }
        self.call("CreateReplicationGroup", req.send())?;
        if let Some(token) = &token {
            state.put(&address("auth-token", &w.group_id), &TokenRecord { digest: digest(token), rotating: false })?;
        }
        self.wait_group(false)
    }

    fn modify_group(&self, state: &State) -> Result<(), Error> {
        let w = &self.want;
        let have = self.observed.group.clone().unwrap_or_default();
        let applied = state.record::<Value>(&address("replication-group", &w.group_id))?.unwrap_or(Value::Null);
        let (_, after) = settings_diff(w, &have, &applied);
        let mut req = self.client.modify_replication_group().replication_group_id(&w.group_id).apply_immediately(true);
        for (field, value) in &after {
            req = match field.as_str() {
                "CacheNodeType" => req.cache_node_type(&w.node_type),
                "Engine" => req.engine(w.engine.as_str()),
                "EngineVersion" => req.engine_version(&w.engine_version),
                "CacheParameterGroupName" => req.cache_parameter_group_name(&w.parameter_group.name),
                "AutomaticFailoverEnabled" => req.automatic_failover_enabled(w.automatic_failover),
                "MultiAZEnabled" => req.multi_az_enabled(w.multi_az),
                "TransitEncryptionEnabled" => req.transit_encryption_enabled(w.transit_encryption),
                "SnapshotRetentionLimit" => req.snapshot_retention_limit(w.snapshot_retention_days as i32),
                "SnapshotWindow" => req.set_snapshot_window(w.snapshot_window.clone()),
                "PreferredMaintenanceWindow" => req.set_preferred_maintenance_window(w.maintenance_window.clone()),
                "SecurityGroupIds" => req.set_security_group_ids(Some(w.security_group_ids.clone())),
                "UserGroupIds" => {
                    let want: BTreeSet<String> = w.user_group.iter().cloned().collect();
                    let have: BTreeSet<String> = have.user_group_ids.iter().cloned().collect();
                    // Lists only when non-empty, like ModifyUserGroup below.
                    let add: Vec<String> = want.difference(&have).cloned().collect();
                    let remove: Vec<String> = have.difference(&want).cloned().collect();
                    req.set_user_group_ids_to_add((!add.is_empty()).then_some(add))
                        .set_user_group_ids_to_remove((!remove.is_empty()).then_some(remove))
                }
                other => return Err(Error::msg(format!("internal: no modify field for {other} ({value})"))),
            };
        }
        self.call("ModifyReplicationGroup", req.send())?;
        self.wait_group(false)
    }

    /// Delete the group. `until_gone`: wait until it no longer exists (a replacement reuses
    /// its id; a user group or parameter group in use cannot be deleted before). Otherwise the
    /// deletion is committed once the status is `deleting` (moto keeps it in that state).
    fn delete_group(&self, until_gone: bool) -> Result<(), Error> {
        let id = &self.want.group_id;
        self.call("DeleteReplicationGroup", self.client.delete_replication_group().replication_group_id(id).send())?;
        if until_gone {
            self.wait_group(true)
        } else {
            Ok(())
        }
    }

    /// Whether anything deleted after the replication group depends on it being gone.
    fn dependents_observed(&self) -> bool {
        let o = &self.observed;
        o.user_group.is_some() || !o.users.is_empty() || o.parameters.is_some() || o.subnet_group.is_some()
    }

    fn set_parameters(&self, params: &BTreeMap<String, String>) -> Result<(), Error> {
        let name = &self.want.parameter_group.name;
        let all: Vec<ParameterNameValue> = params
            .iter()
            .map(|(k, v)| ParameterNameValue::builder().parameter_name(k).parameter_value(v).build())
            .collect();
        // ModifyCacheParameterGroup takes at most 20 parameters per call.
        for chunk in all.chunks(20) {
            self.call(
                "ModifyCacheParameterGroup",
                self.client
                    .modify_cache_parameter_group()
                    .cache_parameter_group_name(name)
                    .set_parameter_name_values(Some(chunk.to_vec()))
                    .send(),
            )?;
        }
        Ok(())
    }

    fn apply_user(&self, change: &ResourceChange, state: &mut State, opts: &ApplyOptions) -> Result<Outcome, Error> {
        let id = resource(&change.address).map(|(_, id)| id.to_string()).unwrap_or_default();
        let c = &self.client;
        if change.action == Action::Delete {
            match self.rt.block_on(c.delete_user().user_id(&id).send()) {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|s| s.is_user_not_found_fault()) => {}
                Err(e) => return Err(sdk_err("DeleteUser", e)),
            }
            state.remove(&change.address);
            return Ok(Outcome::Applied);
        }
        let u = self.want.users.iter().find(|u| u.user_id == id).ok_or_else(|| Error::msg("internal: unknown user"))?;
        let password = match &u.password {
            Some(r) => Some(self.secret(r, &format!("password of ACL user `{}`", u.user_name))?),
            None => None,
        };
        let auth = |passwords: Vec<String>| match passwords.is_empty() {
            true => AuthenticationMode::builder().r#type(InputAuthenticationType::NoPassword).build(),
            false => AuthenticationMode::builder()
                .r#type(InputAuthenticationType::Password)
                .set_passwords(Some(passwords))
                .build(),
        };
        let new: Vec<String> = password.iter().map(|p| p.expose().to_string()).collect();
        let mut rotating = false;
        if change.action == Action::Create {
            self.call(
                "CreateUser",
                c.create_user()
                    .user_id(&id)
                    .user_name(&u.user_name)
                    .engine(self.want.engine.as_str())
                    .access_string(&u.access_string)
                    .authentication_mode(auth(new))
                    .set_tags(Some(tags(&self.want)))
                    .send(),
            )?;
        } else {
            let recorded = state.record::<UserRecord>(&change.address)?.unwrap_or_default();
            let changed = password.as_ref().is_some_and(|p| !recorded_as(recorded.password_digest.as_deref(), p));
            let was_rotating = recorded.rotating;
            let mut req = c.modify_user().user_id(&id).access_string(&u.access_string);
            if changed {
                match self.previous_password(&u.user_name) {
                    Some(prev) => {
                        let prev = self.secret(prev, &format!("aws.previousPasswords.{}", u.user_name))?;
                        req = req.authentication_mode(auth(vec![prev.expose().to_string(), new[0].clone()]));
                        rotating = true;
                    }
                    None => req = req.authentication_mode(auth(new)),
                }
            } else if was_rotating {
                if !opts.finish_rotation {
                    return Ok(Outcome::Skipped(
                        "the rotation finishes with `apply --finish-rotation`, once every client uses the new password"
                            .into(),
                    ));
                }
                req = req.authentication_mode(auth(new));
            }
            self.call("ModifyUser", req.send())?;
        }
        // The recorded digest is kept while the password is the same: a fresh salt at every
        // apply would churn the committed state for nothing.
        let recorded = state.record::<UserRecord>(&change.address)?.and_then(|r| r.password_digest);
        let password_digest = match (&password, recorded) {
            (Some(p), Some(d)) if digest::matches(&d, p.expose()) => Some(d),
            (p, _) => p.as_ref().map(digest),
        };
        state.put(&change.address, &UserRecord { password_digest, rotating })?;
        Ok(Outcome::Applied)
    }

    fn apply_auth_token(
        &self,
        change: &ResourceChange,
        state: &mut State,
        opts: &ApplyOptions,
    ) -> Result<Outcome, Error> {
        let w = &self.want;
        let token = w.auth_token.as_ref().ok_or_else(|| Error::msg("internal: no auth token"))?;
        let secret = self.secret(token, "aws.authToken")?;
        let recorded = state.record::<TokenRecord>(&change.address)?;
        let same = recorded_as(recorded.as_ref().map(|r| r.digest.as_str()), &secret);
        let strategy = if same {
            if !opts.finish_rotation {
                return Ok(Outcome::Skipped(
                    "the rotation finishes with `apply --finish-rotation`, once every client uses the new token".into(),
                ));
            }
            AuthTokenUpdateStrategyType::Set
        } else {
            AuthTokenUpdateStrategyType::Rotate
        };
        let rotating = strategy == AuthTokenUpdateStrategyType::Rotate;
        self.call(
            "ModifyReplicationGroup (AuthToken)",
            self.client
                .modify_replication_group()
                .replication_group_id(&w.group_id)
                .auth_token(secret.expose())
                .auth_token_update_strategy(strategy)
                .apply_immediately(true)
                .send(),
        )?;
        self.wait_group(false)?;
        let kept = recorded.map(|r| r.digest).filter(|_| same);
        state.put(&change.address, &TokenRecord { digest: kept.unwrap_or_else(|| digest(&secret)), rotating })?;
        Ok(Outcome::Applied)
    }

    /// What redisctl applied to the replication group, for settings Describe does not return.
    /// (Keyed by the API's field names: `settings_diff` compares them field by field.)
    fn record_group(&self, state: &mut State) -> Result<(), Error> {
        state.put(&address("replication-group", &self.want.group_id), &group_record(&self.want))
    }
}

fn group_record(w: &Desired) -> Value {
    json!({
        "EngineVersion": w.engine_version,
        "CacheParameterGroupName": w.parameter_group.name,
        "PreferredMaintenanceWindow": w.maintenance_window,
        "SecurityGroupIds": w.security_group_ids,
    })
}

/// What `import` records for a replication group it adopts, as Terraform's import records what
/// exists: the member settings as the imported contract states them (compared in their place
/// where a member cannot be described, so an unreadable setting is not planned as a change;
/// import lists each one for the operator to check), and, when the operator gave the token in
/// use, its salted digest, so that planning does not rotate to the token that already runs.
pub fn adopted_records(d: &crate::resolve::Deployment, token: Option<&Secret>) -> Result<Vec<(Address, Value)>, Error> {
    let w = Desired::from_deployment(d).map_err(Error::msg)?;
    let mut out = vec![(address("replication-group", &w.group_id), group_record(&w))];
    if let (Some(token), true) = (token, w.auth_token.is_some()) {
        let record =
            serde_json::to_value(TokenRecord { digest: digest(token), rotating: false }).map_err(Error::msg)?;
        out.push((address("auth-token", &w.group_id), record));
    }
    Ok(out)
}

/// Describe the replication group and one member cluster; `None` when there is no group.
async fn observe_group(c: &Client, id: &str) -> Result<Option<ObservedGroup>, Error> {
    let out = match c.describe_replication_groups().replication_group_id(id).send().await {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_replication_group_not_found_fault()) => return Ok(None),
        Err(e) => return Err(sdk_err("DescribeReplicationGroups", e)),
    };
    let Some(g) = out.replication_groups().first() else { return Ok(None) };
    let cluster_mode =
        g.cluster_enabled().unwrap_or(false) || g.cluster_mode().is_some_and(|m| *m == ClusterMode::Enabled);
    let shards = g.node_groups().len().max(1) as u32;
    let members = g.member_clusters().len() as u32;
    let endpoint = |e: Option<&aws_sdk_elasticache::types::Endpoint>| {
        e.and_then(|e| Some(format!("{}:{}", e.address()?, e.port()?)))
    };
    let first = g.node_groups().first();
    let mut o = ObservedGroup {
        status: g.status().unwrap_or("").into(),
        endpoints: Endpoints {
            configuration: endpoint(g.configuration_endpoint()),
            primary: endpoint(first.and_then(|n| n.primary_endpoint())),
            reader: endpoint(first.and_then(|n| n.reader_endpoint())),
        },
        node_type: g.cache_node_type().unwrap_or("").into(),
        engine: g.engine().unwrap_or("redis").into(),
        cluster_mode,
        shards,
        replicas_per_shard: (members / shards).saturating_sub(1),
        node_group_ids: g.node_groups().iter().filter_map(|n| n.node_group_id().map(String::from)).collect(),
        member_clusters: g.member_clusters().to_vec(),
        automatic_failover: g.automatic_failover().is_some_and(|s| s.as_str() == "enabled"),
        multi_az: g.multi_az().is_some_and(|s| s.as_str() == "enabled"),
        transit_encryption: g.transit_encryption_enabled().unwrap_or(false),
        at_rest_encryption: g.at_rest_encryption_enabled().unwrap_or(false),
        snapshot_retention_days: g.snapshot_retention_limit().unwrap_or(0).max(0) as u32,
        snapshot_window: g.snapshot_window().map(String::from),
        user_group_ids: g.user_group_ids().to_vec(),
        auth_token_enabled: g.auth_token_enabled().unwrap_or(false),
        member: None,
    };
    if let Some(first) = g.member_clusters().first() {
        match c.describe_cache_clusters().cache_cluster_id(first).send().await {
            Ok(out) => {
                o.member = out.cache_clusters().first().map(|m| MemberSettings {
                    engine_version: m.engine_version().map(String::from),
                    parameter_group: m
                        .cache_parameter_group()
                        .and_then(|p| p.cache_parameter_group_name())
                        .map(String::from),
                    maintenance_window: m.preferred_maintenance_window().map(String::from),
                    security_group_ids: m
                        .security_groups()
                        .iter()
                        .filter_map(|s| s.security_group_id().map(String::from))
                        .collect(),
                })
            }
            // moto lists member clusters it does not serve; their settings stay unknown.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_cache_cluster_not_found_fault()) => {}
            Err(e) => return Err(sdk_err("DescribeCacheClusters", e)),
        }
    }
    Ok(Some(o))
}

fn version_pair(v: &str) -> (u32, u32) {
    let mut it = v.split('.').map(|p| p.parse().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// Why the replication group must be replaced, if it must.
fn replace_reason(w: &Desired, have: &ObservedGroup, applied: &Value) -> Option<String> {
    if have.cluster_mode != w.cluster_mode {
        return Some(format!(
            "cluster mode {} → {}",
            if have.cluster_mode { "enabled" } else { "disabled" },
            if w.cluster_mode { "enabled" } else { "disabled" }
        ));
    }
    if have.at_rest_encryption != w.at_rest_encryption {
        return Some("encryption at rest changes".into());
    }
    let version = have
        .member
        .as_ref()
        .and_then(|m| m.engine_version.clone())
        .or_else(|| applied["EngineVersion"].as_str().map(String::from));
    if let Some(v) = version {
        if version_pair(&v) > version_pair(&w.engine_version) {
            return Some(format!("engine downgrade {v} → {}", w.engine_version));
        }
    }
    if have.engine == "valkey" && w.engine.as_str() == "redis" {
        return Some("engine valkey → redis".into());
    }
    None
}

/// The ModifyReplicationGroup fields that differ: (before, after) by API field name. Settings
/// Describe does not return (moto) are compared with what redisctl applied last.
fn settings_diff(
    w: &Desired,
    have: &ObservedGroup,
    applied: &Value,
) -> (serde_json::Map<String, Value>, serde_json::Map<String, Value>) {
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    let mut differ = |field: &str, b: Value, a: Value| {
        if b != a {
            before.insert(field.into(), b);
            after.insert(field.into(), a);
        }
    };
    differ("CacheNodeType", json!(have.node_type), json!(w.node_type));
    differ("Engine", json!(have.engine), json!(w.engine.as_str()));
    differ("AutomaticFailoverEnabled", json!(have.automatic_failover), json!(w.automatic_failover));
    differ("MultiAZEnabled", json!(have.multi_az), json!(w.multi_az));
    differ("TransitEncryptionEnabled", json!(have.transit_encryption), json!(w.transit_encryption));
    differ("SnapshotRetentionLimit", json!(have.snapshot_retention_days), json!(w.snapshot_retention_days));
    if let Some(window) = &w.snapshot_window {
        differ("SnapshotWindow", json!(have.snapshot_window), json!(window));
    }
    let mut want_groups: Vec<String> = w.user_group.iter().cloned().collect();
    want_groups.sort();
    let mut have_groups = have.user_group_ids.clone();
    have_groups.sort();
    differ("UserGroupIds", json!(have_groups), json!(want_groups));
    let member = have.member.clone();
    let known = |observed: Option<Value>, field: &str| observed.unwrap_or_else(|| applied[field].clone());
    let m = member.as_ref();
    differ(
        "EngineVersion",
        known(m.and_then(|m| m.engine_version.clone()).map(Value::from), "EngineVersion"),
        json!(w.engine_version),
    );
    differ(
        "CacheParameterGroupName",
        known(m.and_then(|m| m.parameter_group.clone()).map(Value::from), "CacheParameterGroupName"),
        json!(w.parameter_group.name),
    );
    if w.maintenance_window.is_some() {
        differ(
            "PreferredMaintenanceWindow",
            known(m.and_then(|m| m.maintenance_window.clone()).map(Value::from), "PreferredMaintenanceWindow"),
            json!(w.maintenance_window),
        );
    }
    let mut sgs = w.security_group_ids.clone();
    sgs.sort();
    let have_sgs = m.map(|m| {
        let mut v = m.security_group_ids.clone();
        v.sort();
        json!(v)
    });
    differ("SecurityGroupIds", known(have_sgs, "SecurityGroupIds"), json!(sgs));
    (before, after)
}

/// What a ModifyReplicationGroup does to the running nodes, in words.
fn modify_reason(after: &serde_json::Map<String, Value>) -> String {
    let mut parts = vec!["ModifyReplicationGroup (ApplyImmediately)".to_string()];
    if after.contains_key("CacheNodeType") {
        parts.push(
            "node type change: ElastiCache creates new nodes, copies the data online and fails over to them \
             (connections drop once)"
                .into(),
        );
    }
    if after.contains_key("EngineVersion") || after.contains_key("Engine") {
        parts.push("engine upgrade: nodes are replaced one at a time with a failover each".into());
    }
    parts.join("; ")
}

impl Provider for ElastiCache {
    fn name(&self) -> &'static str {
        NAME
    }

    fn plan(&mut self, state: &State) -> Result<ProviderPlan, Error> {
        self.observed = self.observe()?;
        let changes = self.plan_changes(state)?;
        let observed = serde_json::to_string(&self.observed).map_err(Error::msg)?;
        Ok(ProviderPlan { changes, observed: hex::encode(Sha256::digest(observed.as_bytes())) })
    }

    fn apply(&mut self, change: &ResourceChange, state: &mut State, opts: &ApplyOptions) -> Result<Outcome, Error> {
        if let Some(t) = opts.wait_timeout {
            self.wait_timeout = t;
        }
        let (kind, rest) = resource(&change.address)
            .ok_or_else(|| Error::msg(format!("internal: not an elasticache address: {}", change.address)))?;
        let w = self.want.clone();
        let c = self.client.clone();
        if change.flags.destructive && opts.snapshot_first && self.observed.group.is_some() {
            self.snapshot()?;
        }
        if let Some(sub) = rest.strip_prefix(&format!("{}/", w.group_id)).filter(|_| kind == "replication-group") {
            // Sub-resources of the group: `replicas` and `shards`.
            self.resize(sub)?;
            return Ok(Outcome::Applied);
        }
        match (kind, change.action) {
            ("subnet-group", Action::Delete) => {
                self.call(
                    "DeleteCacheSubnetGroup",
                    c.delete_cache_subnet_group().cache_subnet_group_name(rest).send(),
                )?;
            }
            ("subnet-group", action) => {
                let (name, subnets) = w.subnet_group.clone().unwrap_or_default();
                if action == Action::Create {
                    self.call(
                        "CreateCacheSubnetGroup",
                        c.create_cache_subnet_group()
                            .cache_subnet_group_name(&name)
                            .cache_subnet_group_description(&w.description)
                            .set_subnet_ids(Some(subnets))
                            .set_tags(Some(tags(&w)))
                            .send(),
                    )?;
                } else {
                    self.call(
                        "ModifyCacheSubnetGroup",
                        c.modify_cache_subnet_group()
                            .cache_subnet_group_name(&name)
                            .set_subnet_ids(Some(subnets))
                            .send(),
                    )?;
                }
            }
            ("parameter-group", Action::Create) => {
                let pg = &w.parameter_group;
                self.call(
                    "CreateCacheParameterGroup",
                    c.create_cache_parameter_group()
                        .cache_parameter_group_name(&pg.name)
                        .cache_parameter_group_family(&pg.family)
                        .description(&w.description)
                        .set_tags(Some(tags(&w)))
                        .send(),
                )?;
                self.set_parameters(&pg.parameters)?;
            }
            ("parameter-group", Action::Delete) => {
                self.call(
                    "DeleteCacheParameterGroup",
                    c.delete_cache_parameter_group().cache_parameter_group_name(rest).send(),
                )?;
            }
            ("parameter", _) => {
                if change.flags.restart_required && !opts.allow_restart {
                    return Ok(Outcome::Skipped(
                        "takes effect only when the nodes reboot; `apply --allow-restart` sets it and reboots the \
                         nodes one at a time"
                            .into(),
                    ));
                }
                let name = rest.rsplit('/').next().unwrap_or_default();
                let value = w.parameter_group.parameters.get(name).cloned().unwrap_or_default();
                self.set_parameters(&BTreeMap::from([(name.to_string(), value)]))?;
                self.reboot |= change.flags.restart_required;
            }
            ("user", _) => return self.apply_user(change, state, opts),
            ("user-group", Action::Create) => {
                let ids: Vec<String> = w.users.iter().map(|u| u.user_id.clone()).collect();
                self.call(
                    "CreateUserGroup",
                    c.create_user_group()
                        .user_group_id(rest)
                        .engine(w.engine.as_str())
                        .set_user_ids(Some(ids))
                        .set_tags(Some(tags(&w)))
                        .send(),
                )?;
                self.wait_user_group(rest)?;
            }
            ("user-group", Action::Update) => {
                let want: BTreeSet<String> = w.users.iter().map(|u| u.user_id.clone()).collect();
                let have: BTreeSet<String> =
                    self.observed.user_group.as_ref().map(|(ids, _)| ids.iter().cloned().collect()).unwrap_or_default();
                let add: Vec<String> = want.difference(&have).cloned().collect();
                let remove: Vec<String> = have.difference(&want).cloned().collect();
                self.call(
                    "ModifyUserGroup",
                    c.modify_user_group()
                        .user_group_id(rest)
                        .set_user_ids_to_add((!add.is_empty()).then_some(add))
                        .set_user_ids_to_remove((!remove.is_empty()).then_some(remove))
                        .send(),
                )?;
                self.wait_user_group(rest)?;
            }
            ("user-group", _) => {
                self.call("DeleteUserGroup", c.delete_user_group().user_group_id(rest).send())?;
                state.remove(&change.address);
                return Ok(Outcome::Applied);
            }
            ("replication-group", Action::Create) => {
                self.create_group(state)?;
                self.record_group(state)?;
            }
            ("replication-group", Action::Update) => {
                self.modify_group(state)?;
                self.record_group(state)?;
            }
            ("replication-group", Action::Replace) => {
                self.delete_group(true)?;
                self.create_group(state)?;
                self.record_group(state)?;
            }
            ("replication-group", Action::Delete) => {
                self.delete_group(self.dependents_observed())?;
                state.remove(&change.address);
                return Ok(Outcome::Applied);
            }
            ("replication-group", _) => {}
            ("auth-token", _) => return self.apply_auth_token(change, state, opts),
            (other, action) => {
                return Err(Error::msg(format!("internal: no elasticache operation for {other} {action:?}")))
            }
        }
        // Ownership: what redisctl created is recorded, so that it is deleted when the contract
        // no longer has it; parameters and the replication group keep their own records.
        if change.action == Action::Delete {
            state.remove(&change.address);
        } else if matches!(kind, "subnet-group" | "parameter-group" | "user-group") && !state.has(&change.address) {
            state.put(&change.address, &serde_json::Map::new())?;
        }
        Ok(Outcome::Applied)
    }

    fn finish(&mut self, _state: &mut State) -> Result<(), Error> {
        if !self.reboot {
            return Ok(());
        }
        let Some(group) = self.rt.block_on(observe_group(&self.client, &self.want.group_id))? else { return Ok(()) };
        // Replicas first (members after the first of each shard), then the primaries.
        let mut order = group.member_clusters.clone();
        order.reverse();
        for member in order {
            tracing::info!("elasticache: rebooting {member} for parameters that need a reboot");
            self.call(
                "RebootCacheCluster",
                self.client.reboot_cache_cluster().cache_cluster_id(&member).cache_node_ids_to_reboot("0001").send(),
            )?;
            self.wait_group(false)?;
        }
        Ok(())
    }
}

impl ElastiCache {
    /// The client endpoints of the replication group, or an error when it does not exist.
    pub fn endpoints(&self) -> Result<Endpoints, Error> {
        let group = self.rt.block_on(observe_group(&self.client, &self.want.group_id))?;
        group.map(|g| g.endpoints).ok_or_else(|| {
            Error::msg(format!(
                "replication group {} does not exist yet: `redisctl apply` creates it",
                self.want.group_id
            ))
        })
    }

    /// IncreaseReplicaCount / DecreaseReplicaCount (`replicas`) or a shard count change (`shards`).
    fn resize(&self, what: &str) -> Result<(), Error> {
        let w = &self.want;
        let have = self.observed.group.clone().unwrap_or_default();
        let c = &self.client;
        if what == "replicas" {
            let count = w.replicas_per_shard as i32;
            if w.replicas_per_shard > have.replicas_per_shard {
                self.call(
                    "IncreaseReplicaCount",
                    c.increase_replica_count()
                        .replication_group_id(&w.group_id)
                        .new_replica_count(count)
                        .apply_immediately(true)
                        .send(),
                )?;
            } else {
                self.call(
                    "DecreaseReplicaCount",
                    c.decrease_replica_count()
                        .replication_group_id(&w.group_id)
                        .new_replica_count(count)
                        .apply_immediately(true)
                        .send(),
                )?;
            }
        } else if what == "shards" {
            let mut req = c
                .modify_replication_group_shard_configuration()
                .replication_group_id(&w.group_id)
                .node_group_count(w.shards as i32)
                .apply_immediately(true);
            if w.shards < have.shards {
                // Remove the highest-numbered shards; ElastiCache moves their slots first.
                let mut ids = have.node_group_ids.clone();
                ids.sort();
                let remove: Vec<String> = ids.split_off(w.shards as usize);
                req = req.set_node_groups_to_remove(Some(remove));
            }
            self.call("ModifyReplicationGroupShardConfiguration", req.send())?;
        }
        self.wait_group(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Project;
    use crate::diagnostics::Sources;
    use crate::resolve::Deployment;

    fn desired(overlay: &str) -> Desired {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("redisctl.yaml"),
            "apiVersion: redisctl/v1\nservice: shop\nredis: { version: \"7.0\", workload: cache, maxmemoryPolicy: allkeys-lru }\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("environments")).unwrap();
        std::fs::write(
            dir.path().join("environments/prod.yaml"),
            format!("target: elasticache\nsecurity: {{ auth: optional }}\n{overlay}"),
        )
        .unwrap();
        let loaded = Project::new(dir.path().to_path_buf()).load("prod", &mut Sources::default()).expect("valid");
        Desired::from_deployment(&Deployment::resolve(&loaded, dir.path()).unwrap()).unwrap()
    }

    /// What Describe would report for a group created exactly as `w` wants.
    fn observed_like(w: &Desired) -> ObservedGroup {
        ObservedGroup {
            status: "available".into(),
            node_type: w.node_type.clone(),
            engine: w.engine.as_str().into(),
            cluster_mode: w.cluster_mode,
            shards: w.shards,
            replicas_per_shard: w.replicas_per_shard,
            automatic_failover: w.automatic_failover,
            multi_az: w.multi_az,
            transit_encryption: w.transit_encryption,
            at_rest_encryption: w.at_rest_encryption,
            snapshot_retention_days: w.snapshot_retention_days,
            user_group_ids: w.user_group.iter().cloned().collect(),
            member: Some(MemberSettings {
                engine_version: Some(w.engine_version.clone()),
                parameter_group: Some(w.parameter_group.name.clone()),
                maintenance_window: w.maintenance_window.clone(),
                security_group_ids: w.security_group_ids.clone(),
            }),
            ..ObservedGroup::default()
        }
    }

    #[test]
    fn a_group_as_wanted_needs_nothing() {
        let w = desired("topology: { mode: replication, replicas: 1 }\naws: { nodeType: cache.r7g.large }\n");
        let have = observed_like(&w);
        assert_eq!(replace_reason(&w, &have, &Value::Null), None);
        assert!(settings_diff(&w, &have, &Value::Null).1.is_empty());
    }

    #[test]
    fn what_cannot_change_in_place_is_a_replacement() {
        let w = desired("topology: { mode: replication, replicas: 1 }\naws: { nodeType: cache.r7g.large }\n");
        let mut have = observed_like(&w);
        have.cluster_mode = true;
        assert_eq!(replace_reason(&w, &have, &Value::Null).as_deref(), Some("cluster mode enabled → disabled"));
        let mut have = observed_like(&w);
        have.at_rest_encryption = false;
        assert!(replace_reason(&w, &have, &Value::Null).unwrap().contains("encryption at rest"));
        let mut have = observed_like(&w);
        have.member.as_mut().unwrap().engine_version = Some("7.1".into());
        assert_eq!(replace_reason(&w, &have, &Value::Null).as_deref(), Some("engine downgrade 7.1 → 7.0"));
        // moto reports no member: the version redisctl applied last decides.
        let mut have = observed_like(&w);
        have.member = None;
        assert!(replace_reason(&w, &have, &json!({ "EngineVersion": "7.1" })).unwrap().contains("downgrade"));
        let mut have = observed_like(&w);
        have.engine = "valkey".into();
        assert_eq!(replace_reason(&w, &have, &Value::Null).as_deref(), Some("engine valkey → redis"));
    }

    #[test]
    fn only_the_fields_that_differ_are_modified() {
        let w = desired("topology: { mode: replication, replicas: 1 }\naws: { nodeType: cache.r7g.xlarge }\n");
        let mut have = observed_like(&w);
        have.node_type = "cache.r7g.large".into();
        have.member = None;
        let applied = json!({
            "EngineVersion": "7.0",
            "CacheParameterGroupName": "shop-prod-params",
            "SecurityGroupIds": [],
        });
        let (before, after) = settings_diff(&w, &have, &applied);
        assert_eq!(Value::Object(before), json!({ "CacheNodeType": "cache.r7g.large" }));
        assert_eq!(Value::Object(after), json!({ "CacheNodeType": "cache.r7g.xlarge" }));
        assert!(modify_reason(&settings_diff(&w, &have, &applied).1).contains("copies the data online"));
    }
}
