//! The ElastiCache provider on the paths no local peer implements, with the SDK's own mock
//! client (`aws-smithy-mocks`): parameter groups (DescribeCacheParameters,
//! Create/ModifyCacheParameterGroup), user groups (Describe/Create/ModifyUserGroup), ModifyUser
//! (RBAC password rotation), Increase/DecreaseReplicaCount and
//! ModifyReplicationGroupShardConfiguration. moto_server (tests/peers/elasticache_moto.rs) lacks
//! them, so the responses here are shaped after the AWS ElastiCache API reference (field names,
//! fault names, `ChangeType` values, user-group and replication-group statuses), not after a
//! running server.
//!
//! Every test builds its `Desired` from a real contract written into a temporary project, plans
//! and applies through the engine, and checks the exact requests the provider sent.

#![cfg(feature = "elasticache")]

use std::path::Path;
use std::sync::{Arc, Mutex, Once};

use aws_sdk_elasticache::operation::create_cache_parameter_group::CreateCacheParameterGroupOutput;
use aws_sdk_elasticache::operation::create_user_group::CreateUserGroupOutput;
use aws_sdk_elasticache::operation::decrease_replica_count::DecreaseReplicaCountOutput;
use aws_sdk_elasticache::operation::delete_user::DeleteUserOutput;
use aws_sdk_elasticache::operation::describe_cache_clusters::DescribeCacheClustersOutput;
use aws_sdk_elasticache::operation::describe_cache_parameters::{
    DescribeCacheParametersError, DescribeCacheParametersOutput,
};
use aws_sdk_elasticache::operation::describe_replication_groups::DescribeReplicationGroupsOutput;
use aws_sdk_elasticache::operation::describe_user_groups::{DescribeUserGroupsError, DescribeUserGroupsOutput};
use aws_sdk_elasticache::operation::describe_users::{DescribeUsersError, DescribeUsersOutput};
use aws_sdk_elasticache::operation::increase_replica_count::{IncreaseReplicaCountInput, IncreaseReplicaCountOutput};
use aws_sdk_elasticache::operation::modify_cache_parameter_group::{
    ModifyCacheParameterGroupInput, ModifyCacheParameterGroupOutput,
};
use aws_sdk_elasticache::operation::modify_replication_group::{
    ModifyReplicationGroupInput, ModifyReplicationGroupOutput,
};
use aws_sdk_elasticache::operation::modify_replication_group_shard_configuration::{
    ModifyReplicationGroupShardConfigurationInput, ModifyReplicationGroupShardConfigurationOutput,
};
use aws_sdk_elasticache::operation::modify_user::{ModifyUserInput, ModifyUserOutput};
use aws_sdk_elasticache::operation::modify_user_group::{ModifyUserGroupInput, ModifyUserGroupOutput};
use aws_sdk_elasticache::operation::reboot_cache_cluster::{RebootCacheClusterInput, RebootCacheClusterOutput};
use aws_sdk_elasticache::types::error::{CacheParameterGroupNotFoundFault, UserGroupNotFoundFault, UserNotFoundFault};
use aws_sdk_elasticache::types::{
    Authentication, AuthenticationType, AutomaticFailoverStatus, CacheCluster, CacheParameterGroup,
    CacheParameterGroupStatus, ChangeType, ClusterMode, Endpoint, InputAuthenticationType, MultiAzStatus, NodeGroup,
    Parameter, ReplicationGroup, User, UserGroup,
};
use aws_sdk_elasticache::Client;
use aws_smithy_mocks::{mock, mock_client, MockResponse, Rule, RuleMode};
use redisctl::contract::Project;
use redisctl::plan::engine::{apply, build_plan, check_destroy, ApplyReport};
use redisctl::plan::state::State;
use redisctl::plan::{Action, ApplyOptions, Plan, Provider};
use redisctl::resolve::Deployment;
use redisctl::targets::elasticache::provider::ElastiCache;
use redisctl::targets::elasticache::Desired;
use sha2::{Digest, Sha256};

use crate::common::library::load_env;
use crate::common::TempProject;

const APP_PASSWORD: &str = "mocks-App-Password-3f9c2b71";
const OPS_PASSWORD: &str = "mocks-Ops-Password-8d04e6aa";
const OLD_PASSWORD: &str = "mocks-Rotation-Old-5a1e77c0";
const NEW_PASSWORD: &str = "mocks-Rotation-New-c6b2d913";

const GROUP: &str = "catalog-prod";
const PARAMS: &str = "catalog-prod-params";
const USERS: &str = "catalog-prod-users";
const DEFAULT_USER: &str = "catalog-prod-default";
const APP_USER: &str = "catalog-prod-app";
const OPS_USER: &str = "catalog-prod-ops";

/// Environment shared by every test, set once (tests run in threads of one process; each
/// password has its own variable, so nothing is ever changed after this).
fn setup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::env::set_var("REDISCTL_AWS_POLL_MS", "1");
        std::env::set_var("MOCKS_APP_PASSWORD", APP_PASSWORD);
        std::env::set_var("MOCKS_OPS_PASSWORD", OPS_PASSWORD);
        std::env::set_var("MOCKS_OLD_PASSWORD", OLD_PASSWORD);
        std::env::set_var("MOCKS_NEW_PASSWORD", NEW_PASSWORD);
    });
}

// ------------------------------------------------------------------ the contract

const APP: &str = "    - name: app
      password: { fromEnv: MOCKS_APP_PASSWORD }
      keys: [\"catalog:*\"]
      commands: [\"+@read\", \"+@write\"]
";
const OPS: &str = "    - name: ops
      role: operator
      password: { fromEnv: MOCKS_OPS_PASSWORD }
";

fn base(users: &str, config: &str) -> String {
    format!(
        "apiVersion: redisctl/v1
service: catalog
redis:
  version: \"7.0\"
  workload: cache
  maxmemoryPolicy: allkeys-lru
{config}keyspace: {{ prefix: catalog, clusterSafe: true }}
security: {{ auth: required }}
acl:
  users:
{users}"
    )
}

fn prod(topology: &str, aws_extra: &str) -> String {
    format!(
        "target: elasticache
topology: {topology}
security: {{ tls: {{ enabled: true }} }}
aws: {{ nodeType: cache.r7g.large, region: eu-west-1{aws_extra} }}
"
    )
}

const REPLICATION_1: &str = "{ mode: replication, replicas: 1 }";

struct Proj {
    dir: TempProject,
    out: tempfile::TempDir,
}

impl Proj {
    fn new(redisctl_yaml: &str, prod_yaml: &str) -> Proj {
        setup();
        let p = Proj { dir: TempProject::new(&[]), out: tempfile::tempdir().unwrap() };
        p.write(redisctl_yaml, prod_yaml);
        p
    }

    fn write(&self, redisctl_yaml: &str, prod_yaml: &str) {
        self.dir.write("redisctl.yaml", redisctl_yaml);
        self.dir.write("environments/prod.yaml", prod_yaml);
    }

    /// The contract as the CLI loads it: checked, resolved, turned into ElastiCache resources.
    fn load(&self) -> (Desired, String) {
        let loaded = load_env(&Project::new(self.dir.path()), "prod");
        let d = Deployment::resolve(&loaded, self.dir.path()).unwrap();
        (Desired::from_deployment(&d).unwrap(), d.fingerprint)
    }

    fn state(&self) -> State {
        State::load(self.out.path(), "prod").unwrap()
    }

    fn state_text(&self) -> String {
        std::fs::read_to_string(State::path_in(self.out.path())).unwrap_or_default()
    }
}

fn addr(text: &str) -> redisctl::plan::Address {
    redisctl::plan::Address::parse(text).unwrap()
}

/// The state record at `address`, as JSON.
fn record_of(state: &State, address: &str) -> Option<serde_json::Value> {
    state.record(&addr(address)).unwrap()
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// What redisctl recorded when it last applied these users (their passwords unchanged since).
fn record_users(state: &mut State, users: &[(&str, &str)]) {
    for (id, password) in users {
        // The legacy (unsalted) form older versions wrote: still read.
        let record = serde_json::json!({ "password_sha256": sha256(password), "rotating": false });
        state.put(&addr(&format!("elasticache:user/{id}")), &record).unwrap();
    }
    let record = serde_json::json!({ "password_sha256": null, "rotating": false });
    state.put(&addr(&format!("elasticache:user/{DEFAULT_USER}")), &record).unwrap();
    state.save().unwrap();
}

// ------------------------------------------------------------------ the account, as mock rules

/// Requests a rule received, in order.
type Log<T> = Arc<Mutex<Vec<T>>>;

fn log<T>() -> Log<T> {
    Arc::new(Mutex::new(Vec::new()))
}

fn taken<T: Clone>(log: &Log<T>) -> Vec<T> {
    log.lock().unwrap().clone()
}

fn param(name: &str, value: &str, change: ChangeType) -> Parameter {
    Parameter::builder()
        .parameter_name(name)
        .parameter_value(value)
        .source("user")
        .data_type("string")
        .is_modifiable(true)
        .change_type(change)
        .build()
}

/// DescribeCacheParameters of the managed group: these parameters, in one page.
fn parameters(params: Vec<Parameter>) -> Rule {
    mock!(Client::describe_cache_parameters)
        .match_requests(|r| r.cache_parameter_group_name() == Some(PARAMS))
        .then_output(move || DescribeCacheParametersOutput::builder().set_parameters(Some(params.clone())).build())
}

/// DescribeUsers by id: the users of the contract exist as it wants them (`password_count`
/// passwords each); any other id is UserNotFound.
fn users(want: &Desired, password_count: i32) -> Rule {
    let users = want.users.clone();
    mock!(Client::describe_users).then_compute_response(move |r| {
        match users.iter().find(|u| Some(u.user_id.as_str()) == r.user_id()) {
            Some(u) => {
                let (kind, count) = match u.password {
                    Some(_) => (AuthenticationType::Password, password_count),
                    None => (AuthenticationType::NoPassword, 0),
                };
                MockResponse::Output(
                    DescribeUsersOutput::builder()
                        .users(
                            User::builder()
                                .user_id(&u.user_id)
                                .user_name(&u.user_name)
                                .status("active")
                                .engine("redis")
                                .access_string(&u.access_string)
                                .user_group_ids(USERS)
                                .authentication(Authentication::builder().r#type(kind).password_count(count).build())
                                .build(),
                        )
                        .build(),
                )
            }
            None => MockResponse::Error(DescribeUsersError::UserNotFoundFault(
                UserNotFoundFault::builder().message(format!("User {} not found.", r.user_id().unwrap_or(""))).build(),
            )),
        }
    })
}

fn user_group_output(ids: &[&str], status: &str) -> DescribeUserGroupsOutput {
    DescribeUserGroupsOutput::builder()
        .user_groups(
            UserGroup::builder()
                .user_group_id(USERS)
                .status(status)
                .engine("redis")
                .set_user_ids(Some(ids.iter().map(|s| s.to_string()).collect()))
                .replication_groups(GROUP)
                .build(),
        )
        .build()
}

fn user_group(ids: &'static [&'static str]) -> Rule {
    mock!(Client::describe_user_groups)
        .match_requests(|r| r.user_group_id() == Some(USERS))
        .then_output(move || user_group_output(ids, "active"))
}

/// The replication group as DescribeReplicationGroups shows it.
#[derive(Clone)]
struct Shape {
    replicas: u32,
    cluster: bool,
    user_groups: Vec<String>,
    /// Node group ids in the order Describe lists them.
    node_group_ids: Vec<String>,
}

impl Shape {
    fn of(want: &Desired) -> Shape {
        Shape::sized(want.shards, want.replicas_per_shard, want.cluster_mode)
    }

    fn sized(shards: u32, replicas: u32, cluster: bool) -> Shape {
        Shape {
            replicas,
            cluster,
            user_groups: vec![USERS.into()],
            node_group_ids: (1..=shards).map(|i| format!("{i:04}")).collect(),
        }
    }

    fn members(&self) -> Vec<String> {
        let mut out = Vec::new();
        for ng in &self.node_group_ids {
            for n in 1..=(1 + self.replicas) {
                out.push(if self.cluster { format!("{GROUP}-{ng}-{n:03}") } else { format!("{GROUP}-{n:03}") });
            }
        }
        out
    }
}

fn endpoint(host: &str) -> Endpoint {
    Endpoint::builder().address(format!("{host}.abc123.euw1.cache.amazonaws.com")).port(6379).build()
}

/// DescribeReplicationGroups: the group of `want` (in sync with it), shaped by `shape`.
fn replication_group(want: &Desired, shape: Shape) -> Rule {
    replication_group_through(want, shape, &[])
}

/// DescribeReplicationGroups answering with `statuses` first (e.g. `modifying` after a
/// change), then `available` from then on.
fn replication_group_through(want: &Desired, shape: Shape, statuses: &[&'static str]) -> Rule {
    let describe = group_output(want, shape);
    let mut seq = mock!(Client::describe_replication_groups)
        .match_requests(|r| r.replication_group_id() == Some(GROUP))
        .sequence();
    for &status in statuses {
        let d = describe.clone();
        seq = seq.output(move || d(status));
    }
    seq.output(move || describe("available")).repeatedly().build()
}

type GroupOutput = Arc<dyn Fn(&str) -> DescribeReplicationGroupsOutput + Send + Sync>;

fn group_output(want: &Desired, shape: Shape) -> GroupOutput {
    let w = want.clone();
    Arc::new(move |status: &str| {
        let on_off = |b: bool| if b { "enabled" } else { "disabled" };
        let mut g = ReplicationGroup::builder()
            .replication_group_id(GROUP)
            .description(&w.description)
            .status(status)
            .set_member_clusters(Some(shape.members()))
            .automatic_failover(AutomaticFailoverStatus::from(on_off(w.automatic_failover)))
            .multi_az(MultiAzStatus::from(on_off(w.multi_az)))
            .snapshot_retention_limit(w.snapshot_retention_days as i32)
            .set_snapshot_window(w.snapshot_window.clone())
            .cluster_enabled(shape.cluster)
            .cluster_mode(if shape.cluster { ClusterMode::Enabled } else { ClusterMode::Disabled })
            .cache_node_type(&w.node_type)
            .engine(w.engine.as_str())
            .auth_token_enabled(false)
            .transit_encryption_enabled(w.transit_encryption)
            .at_rest_encryption_enabled(w.at_rest_encryption)
            .set_user_group_ids(Some(shape.user_groups.clone()));
        for id in &shape.node_group_ids {
            let ng = NodeGroup::builder().node_group_id(id).status(status);
            g = g.node_groups(if shape.cluster {
                ng.build()
            } else {
                ng.primary_endpoint(endpoint(&format!("master.{GROUP}")))
                    .reader_endpoint(endpoint(&format!("replica.{GROUP}")))
                    .build()
            });
        }
        if shape.cluster {
            g = g.configuration_endpoint(endpoint(&format!("clustercfg.{GROUP}")));
        }
        DescribeReplicationGroupsOutput::builder().replication_groups(g.build()).build()
    })
}

/// DescribeCacheClusters of a member: the settings DescribeReplicationGroups does not show.
fn member(want: &Desired, parameter_group: &str) -> Rule {
    let version = want.engine_version.clone();
    let pg = parameter_group.to_string();
    mock!(Client::describe_cache_clusters).then_compute_output(move |r| {
        DescribeCacheClustersOutput::builder()
            .cache_clusters(
                CacheCluster::builder()
                    .cache_cluster_id(r.cache_cluster_id().unwrap_or_default())
                    .replication_group_id(GROUP)
                    .cache_cluster_status("available")
                    .engine("redis")
                    .engine_version(&version)
                    .cache_parameter_group(
                        CacheParameterGroupStatus::builder()
                            .cache_parameter_group_name(&pg)
                            .parameter_apply_status("in-sync")
                            .build(),
                    )
                    .build(),
            )
            .build()
    })
}

fn provider(want: &Desired, dir: &Path, rules: &[&Rule]) -> Vec<Box<dyn Provider>> {
    let client = mock_client!(aws_sdk_elasticache, RuleMode::MatchAny, rules);
    let rt = ElastiCache::new_runtime().unwrap();
    vec![Box::new(ElastiCache::with_client(want.clone(), dir.to_path_buf(), client, rt))]
}

fn plan(p: &Proj, providers: &mut [Box<dyn Provider>], fingerprint: &str) -> Plan {
    build_plan("prod", "elasticache", fingerprint, providers, &p.state()).unwrap()
}

fn run(p: &Proj, plan: &Plan, providers: &mut [Box<dyn Provider>], opts: &ApplyOptions) -> ApplyReport {
    let mut state = p.state();
    apply(plan, providers, &mut state, opts).unwrap()
}

fn changes(plan: &Plan) -> Vec<(String, Action)> {
    plan.changes.iter().filter(|c| c.is_change()).map(|c| (c.address.to_string(), c.action)).collect()
}

fn change<'a>(plan: &'a Plan, address: &str) -> &'a redisctl::plan::ResourceChange {
    plan.changes
        .iter()
        .find(|c| c.address.to_string() == address)
        .unwrap_or_else(|| panic!("no {address} in {plan:#?}"))
}

fn pairs(input: &ModifyCacheParameterGroupInput) -> Vec<(String, String)> {
    input
        .parameter_name_values()
        .iter()
        .map(|p| (p.parameter_name().unwrap_or("").to_string(), p.parameter_value().unwrap_or("").to_string()))
        .collect()
}

fn modify_parameters(ops: &Log<String>) -> (Rule, Log<ModifyCacheParameterGroupInput>) {
    let seen = log();
    let (s, o) = (seen.clone(), ops.clone());
    let rule = mock!(Client::modify_cache_parameter_group).then_compute_output(move |r| {
        s.lock().unwrap().push(r.clone());
        o.lock().unwrap().push("ModifyCacheParameterGroup".into());
        ModifyCacheParameterGroupOutput::builder()
            .cache_parameter_group_name(r.cache_parameter_group_name().unwrap_or(""))
            .build()
    });
    (rule, seen)
}

// ------------------------------------------------------------------ 1. one parameter differs

#[test]
fn differing_parameters_are_set_one_by_one_and_reboot_only_with_allow_restart() {
    let p = Proj::new(&base(APP, "  config:\n    databases: 32\n"), &prod(REPLICATION_1, ""));
    let (want, fp) = p.load();
    assert_eq!(want.parameter_group.name, PARAMS);
    assert_eq!(want.parameter_group.family, "redis7");
    let mut state = p.state();
    record_users(&mut state, &[(APP_USER, APP_PASSWORD)]);

    // The group was created with the default's eviction policy and 16 databases.
    let describe = parameters(vec![
        param("maxmemory-policy", "volatile-lru", ChangeType::Immediate),
        param("reserved-memory-percent", "25", ChangeType::Immediate),
        param("databases", "16", ChangeType::RequiresReboot),
        param("timeout", "0", ChangeType::Immediate),
    ]);
    let ops = log();
    let (modify, modified) = modify_parameters(&ops);
    let rebooted: Log<RebootCacheClusterInput> = log();
    let reboot = {
        let r = rebooted.clone();
        mock!(Client::reboot_cache_cluster).then_compute_output(move |i| {
            r.lock().unwrap().push(i.clone());
            RebootCacheClusterOutput::builder().build()
        })
    };
    let (users, ug, rg, member) = (
        users(&want, 1),
        user_group(&[DEFAULT_USER, APP_USER]),
        replication_group(&want, Shape::of(&want)),
        member(&want, PARAMS),
    );
    let rules = [&describe, &modify, &reboot, &users, &ug, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);

    let plan1 = plan(&p, &mut providers, &fp);
    let policy = format!("elasticache:parameter/{PARAMS}/maxmemory-policy");
    let databases = format!("elasticache:parameter/{PARAMS}/databases");
    assert_eq!(
        changes(&plan1),
        vec![(databases.clone(), Action::Update), (policy.clone(), Action::Update)],
        "{plan1:#?}"
    );
    let c = change(&plan1, &policy);
    assert!(c.flags.live && !c.flags.restart_required && !c.flags.destructive, "{c:#?}");
    assert_eq!(serde_json::to_value(&c.before).unwrap(), "volatile-lru");
    assert_eq!(serde_json::to_value(&c.after).unwrap(), "allkeys-lru");
    let c = change(&plan1, &databases);
    assert!(c.flags.restart_required && !c.flags.live, "{c:#?}");
    assert!(c.reason.as_deref().unwrap().contains("requires-reboot"), "{c:#?}");

    // Without --allow-restart: the live parameter alone, in a call of its own; no reboot.
    let report = run(&p, &plan1, &mut providers, &ApplyOptions::default());
    assert_eq!(report.summary.change, 1);
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert_eq!(report.skipped[0].0.to_string(), databases);
    assert!(report.skipped[0].1.contains("--allow-restart"), "{:?}", report.skipped);
    let calls = taken(&modified);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].cache_parameter_group_name(), Some(PARAMS));
    assert_eq!(pairs(&calls[0]), vec![("maxmemory-policy".to_string(), "allkeys-lru".to_string())]);
    assert_eq!(reboot.num_calls(), 0);

    // The account now has allkeys-lru; the reboot-only parameter is still pending.
    let describe = parameters(vec![
        param("maxmemory-policy", "allkeys-lru", ChangeType::Immediate),
        param("reserved-memory-percent", "25", ChangeType::Immediate),
        param("databases", "16", ChangeType::RequiresReboot),
    ]);
    let rules = [&describe, &modify, &reboot, &users, &ug, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);
    let plan2 = plan(&p, &mut providers, &fp);
    assert_eq!(changes(&plan2), vec![(databases.clone(), Action::Update)], "{plan2:#?}");
    let report = run(&p, &plan2, &mut providers, &ApplyOptions { allow_restart: true, ..ApplyOptions::default() });
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let calls = taken(&modified);
    assert_eq!(calls.len(), 2);
    assert_eq!(pairs(&calls[1]), vec![("databases".to_string(), "32".to_string())]);
    // Then each member reboots, replicas before the primary.
    let rebooted: Vec<(String, Vec<String>)> = taken(&rebooted)
        .iter()
        .map(|r| (r.cache_cluster_id().unwrap().to_string(), r.cache_node_ids_to_reboot().to_vec()))
        .collect();
    assert_eq!(
        rebooted,
        vec![(format!("{GROUP}-002"), vec!["0001".to_string()]), (format!("{GROUP}-001"), vec!["0001".to_string()])]
    );
}

// ------------------------------------------------------------------ 2. parameter group absent

#[test]
fn an_absent_parameter_group_is_created_with_every_parameter_and_then_attached() {
    // The group runs on the default parameter group; the contract now asks for allkeys-lru,
    // which the default group does not have.
    let p = Proj::new(&base(APP, ""), &prod(REPLICATION_1, ""));
    let (want, fp) = p.load();
    assert!(want.parameter_group.managed);
    let mut state = p.state();
    record_users(&mut state, &[(APP_USER, APP_PASSWORD)]);

    let ops: Log<String> = log();
    let describe = mock!(Client::describe_cache_parameters).then_error(|| {
        DescribeCacheParametersError::CacheParameterGroupNotFoundFault(
            CacheParameterGroupNotFoundFault::builder()
                .message(format!("CacheParameterGroup {PARAMS} not found."))
                .build(),
        )
    });
    let created = log();
    let create = {
        let (c, o) = (created.clone(), ops.clone());
        mock!(Client::create_cache_parameter_group).then_compute_output(move |r| {
            c.lock().unwrap().push(r.clone());
            o.lock().unwrap().push("CreateCacheParameterGroup".into());
            CreateCacheParameterGroupOutput::builder()
                .cache_parameter_group(
                    CacheParameterGroup::builder()
                        .cache_parameter_group_name(r.cache_parameter_group_name().unwrap_or(""))
                        .cache_parameter_group_family(r.cache_parameter_group_family().unwrap_or(""))
                        .description(r.description().unwrap_or(""))
                        .build(),
                )
                .build()
        })
    };
    let (modify, modified) = modify_parameters(&ops);
    let modified_group: Log<ModifyReplicationGroupInput> = log();
    let modify_group = {
        let (m, o) = (modified_group.clone(), ops.clone());
        mock!(Client::modify_replication_group).then_compute_output(move |r| {
            m.lock().unwrap().push(r.clone());
            o.lock().unwrap().push("ModifyReplicationGroup".into());
            ModifyReplicationGroupOutput::builder().build()
        })
    };
    let (users, ug, rg, member) = (
        users(&want, 1),
        user_group(&[DEFAULT_USER, APP_USER]),
        replication_group(&want, Shape::of(&want)),
        member(&want, "default.redis7"),
    );
    let rules = [&describe, &create, &modify, &modify_group, &users, &ug, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);

    let plan = plan(&p, &mut providers, &fp);
    let pg = format!("elasticache:parameter-group/{PARAMS}");
    let rg_address = format!("elasticache:replication-group/{GROUP}");
    assert_eq!(changes(&plan), vec![(pg.clone(), Action::Create), (rg_address.clone(), Action::Update)], "{plan:#?}");
    let c = change(&plan, &pg);
    assert_eq!(
        serde_json::to_value(&c.after).unwrap(),
        serde_json::json!({ "maxmemory-policy": "allkeys-lru", "reserved-memory-percent": "25" })
    );
    let c = change(&plan, &rg_address);
    assert_eq!(serde_json::to_value(&c.after).unwrap(), serde_json::json!({ "CacheParameterGroupName": PARAMS }));

    let report = run(&p, &plan, &mut providers, &ApplyOptions::default());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(taken(&ops), ["CreateCacheParameterGroup", "ModifyCacheParameterGroup", "ModifyReplicationGroup"]);
    let c = &taken(&created)[0];
    assert_eq!(c.cache_parameter_group_name(), Some(PARAMS));
    assert_eq!(c.cache_parameter_group_family(), Some("redis7"));
    assert_eq!(c.description(), Some(want.description.as_str()));
    let calls = taken(&modified);
    assert_eq!(calls.len(), 1);
    assert_eq!(
        pairs(&calls[0]),
        vec![
            ("maxmemory-policy".to_string(), "allkeys-lru".to_string()),
            ("reserved-memory-percent".to_string(), "25".to_string())
        ]
    );
    let m = &taken(&modified_group)[0];
    assert_eq!(m.replication_group_id(), Some(GROUP));
    assert_eq!(m.cache_parameter_group_name(), Some(PARAMS));
    assert_eq!(m.apply_immediately(), Some(true));
    assert_eq!(m.cache_node_type(), None);
    assert_eq!(m.engine_version(), None);
}

// ------------------------------------------------------------------ 3. user group

#[test]
fn a_user_group_is_created_with_every_user_and_waited_for() {
    let p = Proj::new(&base(&format!("{APP}{OPS}"), ""), &prod(REPLICATION_1, ""));
    let (want, fp) = p.load();
    assert_eq!(want.user_group.as_deref(), Some(USERS));
    let mut state = p.state();
    record_users(&mut state, &[(APP_USER, APP_PASSWORD), (OPS_USER, OPS_PASSWORD)]);

    let ops: Log<String> = log();
    // Absent when planning; then `creating` once, then `active`.
    let describe_ug = mock!(Client::describe_user_groups)
        .match_requests(|r| r.user_group_id() == Some(USERS))
        .sequence()
        .error(|| {
            DescribeUserGroupsError::UserGroupNotFoundFault(
                UserGroupNotFoundFault::builder().message(format!("User group {USERS} not found.")).build(),
            )
        })
        .output(|| user_group_output(&[DEFAULT_USER, APP_USER, OPS_USER], "creating"))
        .output(|| user_group_output(&[DEFAULT_USER, APP_USER, OPS_USER], "active"))
        .build();
    let created = log();
    let create = {
        let (c, o) = (created.clone(), ops.clone());
        mock!(Client::create_user_group).then_compute_output(move |r| {
            c.lock().unwrap().push(r.clone());
            o.lock().unwrap().push("CreateUserGroup".into());
            CreateUserGroupOutput::builder()
                .user_group_id(r.user_group_id().unwrap_or(""))
                .status("creating")
                .engine("redis")
                .set_user_ids(Some(r.user_ids().to_vec()))
                .build()
        })
    };
    let modified_group: Log<ModifyReplicationGroupInput> = log();
    let modify_group = {
        let (m, o) = (modified_group.clone(), ops.clone());
        mock!(Client::modify_replication_group).then_compute_output(move |r| {
            m.lock().unwrap().push(r.clone());
            o.lock().unwrap().push("ModifyReplicationGroup".into());
            ModifyReplicationGroupOutput::builder().build()
        })
    };
    // The replication group exists, without a user group yet.
    let shape = Shape { user_groups: vec![], ..Shape::of(&want) };
    let describe_params = parameters(vec![
        param("maxmemory-policy", "allkeys-lru", ChangeType::Immediate),
        param("reserved-memory-percent", "25", ChangeType::Immediate),
    ]);
    let (users, rg, member) = (users(&want, 1), replication_group(&want, shape), member(&want, PARAMS));
    let rules = [&describe_ug, &create, &modify_group, &describe_params, &users, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);

    let plan = plan(&p, &mut providers, &fp);
    let ug = format!("elasticache:user-group/{USERS}");
    let rg_address = format!("elasticache:replication-group/{GROUP}");
    assert_eq!(changes(&plan), vec![(ug.clone(), Action::Create), (rg_address.clone(), Action::Update)], "{plan:#?}");

    let report = run(&p, &plan, &mut providers, &ApplyOptions::default());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(taken(&ops), ["CreateUserGroup", "ModifyReplicationGroup"]);
    let c = &taken(&created)[0];
    assert_eq!(c.user_group_id(), Some(USERS));
    assert_eq!(c.engine(), Some("redis"));
    let mut ids = c.user_ids().to_vec();
    ids.sort();
    assert_eq!(ids, [APP_USER, DEFAULT_USER, OPS_USER]);
    // Planning, then `creating`, then `active`: the wait polled until active.
    assert_eq!(describe_ug.num_calls(), 3);
    let m = &taken(&modified_group)[0];
    assert_eq!(m.user_group_ids_to_add(), [USERS]);
    assert!(m.user_group_ids_to_remove().is_empty(), "{m:?}");
    assert!(record_of(&p.state(), &ug).is_some());
}

#[test]
fn a_user_removed_from_the_contract_leaves_the_user_group_then_is_deleted() {
    // `ops` was applied earlier (recorded in the state, a member of the user group) and is
    // no longer in the contract.
    let p = Proj::new(&base(APP, ""), &prod(REPLICATION_1, ""));
    let (want, fp) = p.load();
    let mut state = p.state();
    record_users(&mut state, &[(APP_USER, APP_PASSWORD), (OPS_USER, OPS_PASSWORD)]);

    let ops: Log<String> = log();
    let describe_ug = mock!(Client::describe_user_groups)
        .match_requests(|r| r.user_group_id() == Some(USERS))
        .sequence()
        .output(|| user_group_output(&[DEFAULT_USER, APP_USER, OPS_USER], "active"))
        .output(|| user_group_output(&[DEFAULT_USER, APP_USER], "modifying"))
        .output(|| user_group_output(&[DEFAULT_USER, APP_USER], "active"))
        .build();
    let modified: Log<ModifyUserGroupInput> = log();
    let modify = {
        let (m, o) = (modified.clone(), ops.clone());
        mock!(Client::modify_user_group).then_compute_output(move |r| {
            m.lock().unwrap().push(r.clone());
            o.lock().unwrap().push("ModifyUserGroup".into());
            ModifyUserGroupOutput::builder().user_group_id(USERS).status("modifying").build()
        })
    };
    let deleted = log();
    let delete = {
        let (d, o) = (deleted.clone(), ops.clone());
        mock!(Client::delete_user).then_compute_output(move |r| {
            d.lock().unwrap().push(r.user_id().unwrap_or("").to_string());
            o.lock().unwrap().push("DeleteUser".into());
            DeleteUserOutput::builder().user_id(r.user_id().unwrap_or("")).status("deleting").build()
        })
    };
    let describe_params = parameters(vec![
        param("maxmemory-policy", "allkeys-lru", ChangeType::Immediate),
        param("reserved-memory-percent", "25", ChangeType::Immediate),
    ]);
    let (users, rg, member) = (users(&want, 1), replication_group(&want, Shape::of(&want)), member(&want, PARAMS));
    let rules = [&describe_ug, &modify, &delete, &describe_params, &users, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);

    let plan = plan(&p, &mut providers, &fp);
    let ug = format!("elasticache:user-group/{USERS}");
    let ops_address = format!("elasticache:user/{OPS_USER}");
    assert_eq!(changes(&plan), vec![(ug.clone(), Action::Update), (ops_address.clone(), Action::Delete)], "{plan:#?}");
    assert_eq!(
        serde_json::to_value(&change(&plan, &ug).after).unwrap(),
        serde_json::json!({ "UserIds": [APP_USER, DEFAULT_USER] })
    );

    let report = run(&p, &plan, &mut providers, &ApplyOptions::default());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(taken(&ops), ["ModifyUserGroup", "DeleteUser"]);
    let m = &taken(&modified)[0];
    assert_eq!(m.user_group_id(), Some(USERS));
    assert_eq!(m.user_ids_to_remove(), [OPS_USER]);
    assert!(m.user_ids_to_add().is_empty(), "{m:?}");
    assert_eq!(describe_ug.num_calls(), 3);
    assert_eq!(taken(&deleted), [OPS_USER]);
    assert!(record_of(&p.state(), &ops_address).is_none());
}

// ------------------------------------------------------------------ 4. RBAC password rotation

fn modify_user_rule(seen: &Log<ModifyUserInput>) -> Rule {
    let s = seen.clone();
    mock!(Client::modify_user).then_compute_output(move |r| {
        s.lock().unwrap().push(r.clone());
        ModifyUserOutput::builder().user_id(r.user_id().unwrap_or("")).status("modifying").build()
    })
}

fn passwords(input: &ModifyUserInput) -> Vec<String> {
    let auth = input.authentication_mode().expect("ModifyUser sets AuthenticationMode");
    assert_eq!(auth.r#type(), Some(&InputAuthenticationType::Password));
    auth.passwords().to_vec()
}

#[test]
fn rbac_password_rotation_keeps_both_passwords_until_finish_rotation_and_never_shows_them() {
    let users_yaml = "    - name: app
      password: { fromEnv: MOCKS_NEW_PASSWORD }
      keys: [\"catalog:*\"]
";
    let p = Proj::new(
        &base(users_yaml, ""),
        &prod(REPLICATION_1, ", previousPasswords: { app: { fromEnv: MOCKS_OLD_PASSWORD } }"),
    );
    let (want, fp) = p.load();
    // The last apply set the old password.
    let mut state = p.state();
    record_users(&mut state, &[(APP_USER, OLD_PASSWORD)]);

    let mut shown: Vec<String> = Vec::new();
    let mut show = |plan: &Plan| {
        shown.push(serde_json::to_string(plan).unwrap());
        shown.push(redisctl::output::text(plan, false));
        shown.push(redisctl::output::text(plan, true));
    };
    let modified: Log<ModifyUserInput> = log();
    let modify = modify_user_rule(&modified);
    let describe_params = parameters(vec![
        param("maxmemory-policy", "allkeys-lru", ChangeType::Immediate),
        param("reserved-memory-percent", "25", ChangeType::Immediate),
    ]);
    let (ug, rg, member) =
        (user_group(&[DEFAULT_USER, APP_USER]), replication_group(&want, Shape::of(&want)), member(&want, PARAMS));
    let app = format!("elasticache:user/{APP_USER}");

    // Step 1: both passwords valid.
    let users1 = users(&want, 1);
    let rules = [&modify, &describe_params, &users1, &ug, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);
    let plan1 = plan(&p, &mut providers, &fp);
    show(&plan1);
    assert_eq!(changes(&plan1), vec![(app.clone(), Action::Update)], "{plan1:#?}");
    let c = change(&plan1, &app);
    assert!(c.reason.as_deref().unwrap().contains("step 1"), "{c:#?}");
    assert_eq!(c.redacted, 1);
    assert_eq!(serde_json::to_value(&c.after).unwrap()["Passwords"], "(sensitive, changed)");
    let report = run(&p, &plan1, &mut providers, &ApplyOptions::default());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let calls = taken(&modified);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].user_id(), Some(APP_USER));
    assert_eq!(passwords(&calls[0]), [OLD_PASSWORD, NEW_PASSWORD]);
    let recorded = record_of(&p.state(), &app).unwrap();
    assert_eq!(recorded["rotating"], true);
    // A salted digest of the new password (the state recorded a legacy bare SHA-256 before).
    let digest = recorded["password_digest"].as_str().unwrap();
    assert!(redisctl::util::digest::matches(digest, NEW_PASSWORD) && digest != sha256(NEW_PASSWORD), "{recorded}");

    // Step 2, from a fresh plan: the account reports two passwords.
    let users2 = users(&want, 2);
    let rules = [&modify, &describe_params, &users2, &ug, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);
    let plan2 = plan(&p, &mut providers, &fp);
    show(&plan2);
    assert_eq!(changes(&plan2), vec![(app.clone(), Action::Update)], "{plan2:#?}");
    let c = change(&plan2, &app);
    assert!(c.reason.as_deref().unwrap().contains("step 2"), "{c:#?}");
    assert_eq!(serde_json::to_value(&c.before).unwrap(), serde_json::json!({ "PasswordCount": 2 }));
    assert_eq!(serde_json::to_value(&c.after).unwrap(), serde_json::json!({ "PasswordCount": 1 }));
    // Without --finish-rotation: skipped, nothing sent.
    let report = run(&p, &plan2, &mut providers, &ApplyOptions::default());
    assert_eq!(report.skipped.len(), 1, "{:?}", report.skipped);
    assert!(report.skipped[0].1.contains("--finish-rotation"), "{:?}", report.skipped);
    assert_eq!(taken(&modified).len(), 1);
    assert_eq!(record_of(&p.state(), &app).unwrap()["rotating"], true);
    // With it: the new password alone.
    let report = run(&p, &plan2, &mut providers, &ApplyOptions { finish_rotation: true, ..ApplyOptions::default() });
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let calls = taken(&modified);
    assert_eq!(calls.len(), 2);
    assert_eq!(passwords(&calls[1]), [NEW_PASSWORD]);
    assert_eq!(record_of(&p.state(), &app).unwrap()["rotating"], false);

    // Done: nothing left.
    let users3 = users(&want, 1);
    let rules = [&modify, &describe_params, &users3, &ug, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);
    let plan3 = plan(&p, &mut providers, &fp);
    show(&plan3);
    assert_eq!(changes(&plan3), vec![], "{plan3:#?}");

    shown.push(p.state_text());
    for text in &shown {
        for secret in [OLD_PASSWORD, NEW_PASSWORD] {
            assert!(!text.contains(secret), "a plaintext password in:\n{text}");
        }
    }
    // Neither password's bare SHA-256 either: the state keeps salted digests only.
    for password in [OLD_PASSWORD, NEW_PASSWORD] {
        assert!(!p.state_text().contains(&sha256(password)), "{}", p.state_text());
    }
}

// ------------------------------------------------------------------ 5. replicas and shards

#[test]
fn more_replicas_is_increase_replica_count() {
    let p = Proj::new(&base(APP, ""), &prod("{ mode: replication, replicas: 2 }", ""));
    let (want, fp) = p.load();
    assert_eq!(want.replicas_per_shard, 2);
    let mut state = p.state();
    record_users(&mut state, &[(APP_USER, APP_PASSWORD)]);

    let increased: Log<IncreaseReplicaCountInput> = log();
    let increase = {
        let i = increased.clone();
        mock!(Client::increase_replica_count).then_compute_output(move |r| {
            i.lock().unwrap().push(r.clone());
            IncreaseReplicaCountOutput::builder().build()
        })
    };
    let decrease = mock!(Client::decrease_replica_count).then_output(|| DecreaseReplicaCountOutput::builder().build());
    let describe_params = parameters(vec![
        param("maxmemory-policy", "allkeys-lru", ChangeType::Immediate),
        param("reserved-memory-percent", "25", ChangeType::Immediate),
    ]);
    let (users, ug, rg, member) = (
        users(&want, 1),
        user_group(&[DEFAULT_USER, APP_USER]),
        // Planning sees it available; after the call it is `modifying` twice, then available.
        replication_group_through(&want, Shape::sized(1, 1, false), &["available", "modifying", "modifying"]),
        member(&want, PARAMS),
    );
    let rules = [&increase, &decrease, &describe_params, &users, &ug, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);

    let plan = plan(&p, &mut providers, &fp);
    let replicas = format!("elasticache:replication-group/{GROUP}/replicas");
    assert_eq!(changes(&plan), vec![(replicas.clone(), Action::Update)], "{plan:#?}");
    let c = change(&plan, &replicas);
    assert!(!c.flags.destructive, "{c:#?}");
    assert!(c.reason.as_deref().unwrap().starts_with("IncreaseReplicaCount"), "{c:#?}");
    assert_eq!(serde_json::to_value(&c.before).unwrap(), "1 per shard");
    assert_eq!(serde_json::to_value(&c.after).unwrap(), "2 per shard");

    let report = run(&p, &plan, &mut providers, &ApplyOptions::default());
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let calls = taken(&increased);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].replication_group_id(), Some(GROUP));
    assert_eq!(calls[0].new_replica_count(), Some(2));
    assert_eq!(calls[0].apply_immediately(), Some(true));
    assert_eq!(decrease.num_calls(), 0);
    // The wait polled through `modifying` until `available`.
    assert_eq!(rg.num_calls(), 4);
}

#[test]
fn fewer_shards_is_destructive_and_removes_the_highest_node_group() {
    // Redis Cluster contracts need at least 3 shards (RCTL040), so the smallest real removal
    // is 4 → 3.
    let p = Proj::new(&base(APP, ""), &prod("{ mode: cluster, shards: 3, replicasPerShard: 1 }", ""));
    let (want, fp) = p.load();
    assert!(want.cluster_mode);
    assert_eq!(want.shards, 3);
    let mut state = p.state();
    record_users(&mut state, &[(APP_USER, APP_PASSWORD)]);

    let resharded: Log<ModifyReplicationGroupShardConfigurationInput> = log();
    let reshard = {
        let r = resharded.clone();
        mock!(Client::modify_replication_group_shard_configuration).then_compute_output(move |i| {
            r.lock().unwrap().push(i.clone());
            ModifyReplicationGroupShardConfigurationOutput::builder().build()
        })
    };
    let describe_params = parameters(vec![
        param("maxmemory-policy", "allkeys-lru", ChangeType::Immediate),
        param("reserved-memory-percent", "25", ChangeType::Immediate),
        param("cluster-enabled", "yes", ChangeType::RequiresReboot),
    ]);
    // Four shards, listed out of order.
    let shape = Shape {
        node_group_ids: ["0002", "0004", "0001", "0003"].map(String::from).to_vec(),
        ..Shape::sized(4, 1, true)
    };
    let (users, ug, rg, member) = (
        users(&want, 1),
        user_group(&[DEFAULT_USER, APP_USER]),
        replication_group(&want, shape),
        member(&want, PARAMS),
    );
    let rules = [&reshard, &describe_params, &users, &ug, &rg, &member];
    let mut providers = provider(&want, p.dir.path(), &rules);

    let plan = plan(&p, &mut providers, &fp);
    let shards = format!("elasticache:replication-group/{GROUP}/shards");
    assert_eq!(changes(&plan), vec![(shards.clone(), Action::Update)], "{plan:#?}");
    let c = change(&plan, &shards);
    assert!(c.flags.destructive, "{c:#?}");
    assert_eq!(serde_json::to_value(&c.before).unwrap(), "4 shards");
    assert_eq!(serde_json::to_value(&c.after).unwrap(), "3 shards");
    let e = check_destroy(&plan, &ApplyOptions::default(), false).unwrap_err().to_string();
    assert!(e.contains(&shards) && e.contains("--allow-destroy"), "{e}");
    let opts = ApplyOptions { allow_destroy: true, ..ApplyOptions::default() };
    check_destroy(&plan, &opts, false).unwrap();

    let report = run(&p, &plan, &mut providers, &opts);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let calls = taken(&resharded);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].replication_group_id(), Some(GROUP));
    assert_eq!(calls[0].node_group_count(), Some(3));
    assert_eq!(calls[0].node_groups_to_remove(), ["0004"]);
    assert!(calls[0].node_groups_to_retain().is_empty());
    assert_eq!(calls[0].apply_immediately(), Some(true));
}
