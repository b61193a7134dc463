//! `target: redis-enterprise`: Redis Enterprise on Kubernetes, as the custom resources of its
//! operator (a `RedisEnterpriseCluster` and one `RedisEnterpriseDatabase`), rendered for the
//! rendered-manifests GitOps pattern like `target: kubernetes` and applied with `--exec`.
//!
//! The operator runs the cluster: replication, failover, resharding, the proxy and its
//! certificates are its own. redisctl renders what the contract says in the operator's terms
//! (`render.rs`), refuses what they cannot say (`problems`, from `data/redis-enterprise.toml`),
//! and tells the plan which field changes the operator makes online and which recreate the
//! database (`consequences`).

pub mod render;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use crate::connect::{ClientConfig, Endpoint};
use crate::contract::merge::SpanIndex;
use crate::diagnostics::Diagnostic;
use crate::error::Error;
use crate::model::{Auth, Contract, Fsync, PersistenceMode, TargetKind, TopologyMode, UserRole};
use crate::plan::{Action, Changed, PostApply, Provider, Scope};
use crate::providers::files::Consequence;
use crate::render::{Artifact, Templates};
use crate::resolve::Deployment;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Contract `redis.version`s Redis Enterprise creates databases of.
    pub versions: Vec<String>,
    /// From this version on modules are bundled (no `modulesList`).
    pub bundled_modules_since: String,
    pub max_replicas: u32,
    pub persistence: PersistenceTable,
    pub modules: BTreeMap<String, Module>,
    pub config: ConfigTable,
    /// Contract pointer → why the operator's model has no use for it.
    pub unused: BTreeMap<String, String>,
    pub active_active: ActiveActiveTable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveActiveTable {
    pub max_participating_clusters: usize,
    /// Workload → why multi-region writes break it.
    pub refused_workloads: BTreeMap<String, String>,
    /// Conflict semantics → what it means.
    pub semantics: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersistenceTable {
    /// AOF fsync policy → `persistence` value.
    pub aof: BTreeMap<String, String>,
    /// The one snapshot point → `persistence` value.
    pub snapshots: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// The module's name in `modulesList`.
    pub name: String,
    pub active_active: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigTable {
    pub default: String,
    pub directives: HashMap<String, String>,
}

impl Catalog {
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            serde_json::from_str(crate::util::data_json!("redis-enterprise.toml"))
                .expect("data/redis-enterprise.toml is valid (unit test)")
        })
    }

    /// The database's `persistence` for the contract's, or why Redis Enterprise has none like it.
    pub fn persistence(&'static self, c: &Contract) -> Result<&'static str, (String, String, String)> {
        let p = &c.redis.persistence;
        let found = |table: &'static BTreeMap<String, String>, key: &str| table.get(key).map(String::as_str);
        let cat = self;
        match p.mode {
            PersistenceMode::None => Ok("disabled"),
            PersistenceMode::AofRdb => Err((
                "/redis/persistence/mode".into(),
                "Redis Enterprise persists a database with AOF or with snapshots, not both".into(),
                "use `aof` (durability) and the operator's backups (`redisEnterprise.database.backup`) for copies"
                    .into(),
            )),
            PersistenceMode::Aof => found(&cat.persistence.aof, p.fsync.as_str()).ok_or_else(|| {
                (
                    "/redis/persistence/fsync".into(),
                    format!("Redis Enterprise has no AOF with `fsync: {}`", p.fsync.as_str()),
                    format!("use `fsync: {}` or `{}`", Fsync::Everysec.as_str(), Fsync::Always.as_str()),
                )
            }),
            PersistenceMode::Rdb => {
                let one = match p.snapshots.as_slice() {
                    [one] => found(&cat.persistence.snapshots, &one.split_whitespace().collect::<Vec<_>>().join(" ")),
                    _ => None,
                };
                one.ok_or_else(|| {
                    let offered: Vec<String> = cat.persistence.snapshots.keys().map(|k| format!("[\"{k}\"]")).collect();
                    (
                        "/redis/persistence/snapshots".into(),
                        format!(
                            "Redis Enterprise snapshots every 1, 6 or 12 hours; it cannot take the snapshot points {:?}",
                            p.snapshots
                        ),
                        format!("set `persistence.snapshots` to one of {}", offered.join(", ")),
                    )
                })
            }
        }
    }
}

pub use super::Problem;

/// RCTL097: Redis Enterprise cannot express it.
fn problem(pointer: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem::new("RCTL097", pointer, message, hint)
}

/// RCTL098: an Active-Active database would break it (multi-region writes).
fn active_active_problem(pointer: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem { code: "RCTL098", ..problem(pointer, message, hint) }
}

/// The key prefixes the application writes, with where the contract says so: the keyspace
/// prefix and the literal start of each application user's key patterns.
fn written_prefixes(c: &Contract) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(p) = &c.keyspace.prefix {
        out.push(("/keyspace/prefix".to_string(), format!("{p}:")));
    }
    for (i, u) in c.acl.users.iter().enumerate().filter(|(_, u)| u.role == UserRole::Application) {
        for (j, k) in u.keys.iter().enumerate() {
            let literal = k.split(['*', '?', '[', '\\']).next().unwrap_or_default();
            out.push((format!("/acl/users/{i}/keys/{j}"), literal.to_string()));
        }
    }
    out
}

/// What breaks when every region writes (RCTL098): queue and lock workloads, prefixes without
/// declared conflict semantics, modules without Active-Active support, the participants.
fn active_active_problems(c: &Contract, out: &mut Vec<Problem>) {
    let Some(aa) = &c.redis_enterprise.active_active else { return };
    let cat = Catalog::get();
    let at = "/redisEnterprise/activeActive";
    if let Some(why) = cat.active_active.refused_workloads.get(c.redis.workload.as_str()) {
        out.push(Problem {
            reason: Some(format!("Active-Active merges concurrent writes and has no global serializability: {why}")),
            ..active_active_problem(
                "/redis/workload",
                format!("a `{}` workload cannot run on an Active-Active database", c.redis.workload.as_str()),
                "keep it on a single-region database (remove `redisEnterprise.activeActive`), with one writer",
            )
        });
    }
    let n = aa.participating_clusters.len();
    if n < 2 || n > cat.active_active.max_participating_clusters {
        out.push(active_active_problem(
            format!("{at}/participatingClusters"),
            format!(
                "an Active-Active database has 2 to {} participating clusters, not {n}",
                cat.active_active.max_participating_clusters
            ),
            "list every region's cluster, this environment's own with `local: true`",
        ));
    }
    let locals: Vec<usize> =
        aa.participating_clusters.iter().enumerate().filter(|(_, p)| p.local).map(|(i, _)| i).collect();
    let re = &c.redis_enterprise;
    match locals.as_slice() {
        [i] => {
            let p = &aa.participating_clusters[*i];
            if p.rec_name != re.cluster_name(c) || p.rec_namespace != re.namespace(c) {
                out.push(active_active_problem(
                    format!("{at}/participatingClusters/{i}/recName"),
                    format!(
                        "the local participating cluster points to `{}/{}`, but this environment's cluster is `{}/{}`",
                        p.rec_namespace,
                        p.rec_name,
                        re.namespace(c),
                        re.cluster_name(c)
                    ),
                    "make `recName` and `recNamespace` of the `local: true` entry this environment's cluster",
                ));
            }
        }
        _ => out.push(active_active_problem(
            format!("{at}/participatingClusters"),
            format!(
                "exactly one participating cluster must be `local: true` (this environment's), not {}",
                locals.len()
            ),
            "mark this environment's cluster with `local: true`",
        )),
    }
    let mut names: Vec<&str> = aa.participating_clusters.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        out.push(active_active_problem(
            format!("{at}/participatingClusters"),
            format!("participating cluster `{}` is listed twice", w[0]),
            "give each remote cluster its own name",
        ));
    }
    for (pointer, prefix) in written_prefixes(c) {
        if !aa.conflicts.iter().any(|cf| prefix.starts_with(&cf.prefix)) {
            out.push(Problem {
                reason: Some(
                    "two regions can write the same key at once; the merge keeps counters, the last string, or \
                     added elements, and the application must be written for the one it gets"
                        .into(),
                ),
                ..active_active_problem(
                    pointer,
                    format!("no conflict semantics declared for the key prefix `{prefix}`"),
                    format!(
                        "add `{{ prefix: \"{prefix}\", semantics: counter | last-writer-wins | add-wins }}` to `redisEnterprise.activeActive.conflicts`"
                    ),
                )
            });
        }
    }
    let bundled = crate::model::RedisVersion::ALL.iter().find(|v| v.as_str() == cat.bundled_modules_since);
    for (i, m) in c.redis.modules.iter().enumerate() {
        let Some(row) = cat.modules.get(m) else { continue };
        if !row.active_active {
            out.push(active_active_problem(
                format!("/redis/modules/{i}"),
                format!("module `{m}` has no Active-Active support"),
                "remove it, or keep the database in one region",
            ));
        } else if bundled.is_none_or(|b| c.redis.version < *b) {
            out.push(active_active_problem(
                format!("/redis/modules/{i}"),
                format!("an Active-Active database before Redis 8 needs each module's exact version (`{m}`), which the contract does not hold"),
                "use Redis 8.0 or later, which bundles the modules",
            ));
        }
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Redis Enterprise's smallest database (`memorySize`, CRD description).
pub const MIN_MEMORY: u64 = 100 << 20;
/// The operator's default memory of a node.
pub const DEFAULT_NODE_MEMORY: &str = "4Gi";
pub const DEFAULT_NODE_CPU: &str = "2";

/// The database's memory limit: Redis Enterprise counts every shard, replicas included, so a
/// node's `maxmemory` times the shards and their copies.
pub fn memory_size(c: &Contract) -> Option<u64> {
    let (shards, replication) = crate::model::enterprise::shape(c);
    let max = c.resources.maxmemory?.0;
    Some(max.saturating_mul(u64::from(shards)).saturating_mul(if replication { 2 } else { 1 }))
}

/// Every thing in a `target: redis-enterprise` contract that Redis Enterprise cannot express.
pub fn problems(c: &Contract) -> Vec<Problem> {
    let cat = Catalog::get();
    let re = &c.redis_enterprise;
    let mut out = Vec::new();
    if !cat.versions.iter().any(|v| v == c.redis.version.as_str()) {
        out.push(problem(
            "/redis/version",
            format!("Redis Enterprise creates no database of Redis {}", c.redis.version.as_str()),
            format!("one of {} (data/redis-enterprise.toml)", cat.versions.join(", ")),
        ));
    }
    match memory_size(c) {
        None => out.push(problem(
            "/resources",
            "target `redis-enterprise` needs `resources.maxmemory` (the database's memory limit comes from it)",
            "e.g. `resources: { maxmemory: 1gb }` (per shard; the database's limit counts every shard and replica)",
        )),
        Some(m) if m < MIN_MEMORY => out.push(problem(
            "/resources/maxmemory",
            format!(
                "the database's memory limit would be {}; Redis Enterprise's smallest is 100MB",
                crate::units::format_size(m)
            ),
            "raise `resources.maxmemory`",
        )),
        Some(m) if re.cluster.manage => {
            let node = re.cluster.memory.as_ref().map_or(4 << 30, |q| q.bytes);
            let total = node.saturating_mul(u64::from(re.cluster.nodes));
            if m > total {
                out.push(problem(
                    "/resources/maxmemory",
                    format!(
                        "the database needs {} (every shard and replica), more than the cluster's {} nodes have together ({})",
                        crate::units::format_size(m),
                        re.cluster.nodes,
                        crate::units::format_size(total)
                    ),
                    "lower `resources.maxmemory`, or raise `redisEnterprise.cluster.nodes` or `.memory`",
                ));
            }
        }
        Some(_) => {}
    }
    let t = &c.topology;
    match t.mode {
        TopologyMode::Sentinel => out.push(problem(
            "/topology/mode",
            "Redis Enterprise fails over by itself: a Sentinel topology cannot be expressed",
            "use `mode: replication` (a replica shard, failed over by the cluster) or `mode: cluster`",
        )),
        TopologyMode::Replication if t.replicas > cat.max_replicas => out.push(problem(
            "/topology/replicas",
            format!("Redis Enterprise keeps one replica per primary shard, not {}", t.replicas),
            "set `topology.replicas: 1`",
        )),
        TopologyMode::Cluster if t.replicas_per_shard > cat.max_replicas => out.push(problem(
            "/topology/replicasPerShard",
            format!("Redis Enterprise keeps one replica per primary shard, not {}", t.replicas_per_shard),
            "set `topology.replicasPerShard: 1`",
        )),
        _ => {}
    }
    if let Err((pointer, message, hint)) = cat.persistence(c) {
        out.push(problem(pointer, message, hint));
    }
    for (i, m) in c.redis.modules.iter().enumerate() {
        if !cat.modules.contains_key(m) {
            let known: Vec<&str> = cat.modules.keys().map(String::as_str).collect();
            out.push(problem(
                format!("/redis/modules/{i}"),
                format!("Redis Enterprise offers no module `{m}`"),
                format!("one of {} (data/redis-enterprise.toml)", known.join(", ")),
            ));
        }
    }
    for name in c.redis.config.keys() {
        let why = cat.config.directives.get(&name.to_ascii_lowercase()).unwrap_or(&cat.config.default);
        out.push(Problem {
            key: true,
            ..problem(
                format!("/redis/config/{}", pointer_escape(name)),
                format!("`{name}` cannot be set on Redis Enterprise: {why}"),
                "remove it from this environment (set it to null in the overlay)",
            )
        });
    }
    let contract = serde_json::to_value(c).unwrap_or(Value::Null);
    for (pointer, why) in &cat.unused {
        if contract.pointer(pointer).is_some_and(|v| !v.is_null()) {
            out.push(Problem {
                key: true,
                ..problem(
                    pointer.clone(),
                    format!(
                        "`{}` means nothing on Redis Enterprise: {why}",
                        pointer.trim_start_matches('/').replace('/', ".")
                    ),
                    "remove it from this environment (set it to null in the overlay)",
                )
            });
        }
    }
    if re.cluster.manage && (re.cluster.nodes < 3 || re.cluster.nodes.is_multiple_of(2)) {
        out.push(problem(
            "/redisEnterprise/cluster/nodes",
            format!("a Redis Enterprise cluster of {} nodes loses its majority with one node", re.cluster.nodes),
            "use an odd number of nodes, at least 3",
        ));
    }
    let can_log_in = c.acl.users.iter().any(|u| matches!(u.role, UserRole::Application | UserRole::Operator));
    if c.security.auth == Auth::Required && !can_log_in {
        out.push(problem(
            "/security/auth",
            "with `security.auth: required` the default user is off, and no ACL user can log in to the database",
            "add an application user to `acl.users`",
        ));
    }
    active_active_problems(c, &mut out);
    if re.database.backup.as_ref().is_some_and(|b| b.interval.0 < 3_600_000 || !b.interval.0.is_multiple_of(1000)) {
        out.push(problem(
            "/redisEnterprise/database/backup/interval",
            "Redis Enterprise backs up at most once an hour, in whole seconds",
            "e.g. `interval: 24h`",
        ));
    }
    out
}

/// Located diagnostics (RCTL097, RCTL098) for `problems`.
fn check(c: &Contract, index: &SpanIndex) -> Vec<Diagnostic> {
    super::located(problems(c), index)
}

/// Host of the database's Service, which the operator creates under the database's name.
pub fn service_host(c: &Contract) -> String {
    let re = &c.redis_enterprise;
    format!("{}.{}.svc", re.database_name(c), re.namespace(c))
}

/// A manifest read back (one object); `None` for text that is none (edited by hand).
fn manifest(text: &str) -> Option<Value> {
    let node = crate::contract::yaml::parse(text, 0).ok()?;
    let v = crate::contract::merge::to_json(&node, &mut Default::default());
    v.is_object().then_some(v)
}

/// Fields of a database's spec the operator cannot change on a running database: a change
/// deletes the database and creates it again, empty (CRD: `databasePort` "can not be changed
/// after creation"; the type and Auto Tiering are chosen at creation; modules are loaded when
/// a database is created).
const DATABASE_FIXED: &[(&str, &str)] = &[
    ("databasePort", "the database port is fixed when the database is created"),
    ("type", "the database type is fixed when the database is created"),
    ("isRof", "Auto Tiering is chosen when the database is created"),
    ("modulesList", "Redis Enterprise loads modules when it creates a database"),
    ("redisEnterpriseCluster", "a database cannot move to another cluster"),
];

/// Fields of the cluster's spec the operator cannot change on a running cluster.
const CLUSTER_FIXED: &[(&str, &str)] = &[("persistentSpec", "the nodes' volumes keep their storage class and size")];

/// The spec fields that differ; an Active-Active database's `globalConfigurations` one by one
/// (they are its database's fields).
fn changed_fields(old: &Value, new: &Value) -> Vec<String> {
    let at = |v: &Value, k: &str| match k.strip_prefix("globalConfigurations.") {
        Some(g) => v["spec"]["globalConfigurations"][g].clone(),
        None => v["spec"][k].clone(),
    };
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v["spec"].as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        keys.retain(|k| k != "globalConfigurations");
        let global = v["spec"]["globalConfigurations"].as_object();
        keys.extend(global.into_iter().flat_map(|m| m.keys().map(|k| format!("globalConfigurations.{k}"))));
        keys
    };
    let mut fields: Vec<String> = keys(old).into_iter().chain(keys(new)).filter(|k| at(old, k) != at(new, k)).collect();
    fields.sort();
    fields.dedup();
    fields
}

/// What applying an updated (or deleted) manifest does to the database: the operator updates
/// most fields online (memory, shards, replication, persistence, eviction, TLS, roles); a
/// changed name or a fixed field (`DATABASE_FIXED`) recreates the database, and deleting the
/// manifest deletes it: both lose its data.
pub fn consequences(_path: &str, before: &str, after: &str) -> Option<Consequence> {
    let old = manifest(before)?;
    let kind = old["kind"].as_str()?.to_string();
    let what = match kind.as_str() {
        "RedisEnterpriseDatabase" => "database",
        "RedisEnterpriseCluster" => "cluster and every database on it",
        "RedisEnterpriseActiveActiveDatabase" => "Active-Active database, in every region",
        _ => return None,
    };
    let name = old["metadata"]["name"].as_str().unwrap_or_default();
    let Some(new) = manifest(after) else {
        return after.is_empty().then(|| Consequence {
            replace: false,
            destroys_data: true,
            reason: format!("apply --exec deletes {kind} `{name}`: the {what}, with its data"),
        });
    };
    if new["kind"] != old["kind"] {
        return None;
    }
    let fixed = if kind == "RedisEnterpriseCluster" { CLUSTER_FIXED } else { DATABASE_FIXED };
    let mut recreate: Vec<String> = changed_fields(&old, &new)
        .iter()
        .filter_map(|f| {
            let field = f.trim_start_matches("globalConfigurations.");
            fixed.iter().find(|(k, _)| *k == field).map(|(_, why)| format!("`spec.{f}` ({why})"))
        })
        .collect();
    for key in ["name", "namespace"] {
        if old["metadata"][key] != new["metadata"][key] {
            recreate.push(format!("`metadata.{key}`"));
        }
    }
    if !recreate.is_empty() {
        return Some(Consequence {
            replace: true,
            destroys_data: true,
            reason: format!(
                "the operator cannot change {} of a running {kind}: apply --exec deletes `{name}` and creates it \
                 again, empty (the {what} loses its data)",
                recreate.join(", ")
            ),
        });
    }
    let online: Vec<String> = changed_fields(&old, &new).iter().map(|f| format!("`spec.{f}`")).collect();
    (!online.is_empty()).then(|| Consequence {
        replace: false,
        destroys_data: false,
        reason: format!(
            "in-place update: the operator changes {} of the running {kind} online{}",
            online.join(", "),
            if kind == "RedisEnterpriseCluster" { " (node changes roll the pods one at a time)" } else { "" }
        ),
    })
}

/// The order objects are applied in, from their file names: the cluster before the databases
/// on it (`render.rs` names the files; rendered files are ranked before they are written).
fn apply_rank(path: &str) -> u8 {
    const ORDER: &[&str] = &[
        "secret",
        "redisenterprisecluster",
        "redisenterpriseremotecluster",
        "redisenterprisedatabase",
        "redisenterpriseactiveactivedatabase",
    ];
    let stem = path.trim_end_matches(".yaml");
    let kind = stem.split_once('-').map_or(stem, |(k, _)| k);
    ORDER.iter().position(|k| *k == kind).map_or(ORDER.len() as u8, |i| i as u8)
}

/// `--exec`: the Secrets the resources reference must exist first (none is rendered: they
/// hold credentials), then server-side apply of the changed manifests, cluster before
/// databases. A recreated database is deleted first; a manifest no longer rendered is deleted
/// last, databases before the cluster.
pub fn post_apply_commands(d: &Deployment, dir: &Path, changed: &[Changed]) -> Vec<PostApply> {
    let ns = d.contract.redis_enterprise.namespace(&d.contract);
    let kind_name = |c: &Changed| -> Option<(String, String)> {
        let text = match &c.before {
            Some(t) if c.action != Action::Create => t.clone(),
            _ => std::fs::read_to_string(dir.join(&c.path)).ok()?,
        };
        let m = manifest(&text)?;
        Some((m["kind"].as_str()?.to_string(), m["metadata"]["name"].as_str()?.to_string()))
    };
    let manifests = || changed.iter().filter(|c| c.path.ends_with(".yaml"));
    let mut out = Vec::new();
    let secrets = render::referenced_secrets(d);
    let mut applied: Vec<(u8, &Changed)> =
        manifests().filter(|c| c.action != Action::Delete).map(|c| (apply_rank(&c.path), c)).collect();
    applied.sort_by(|a, b| (a.0, &a.1.path).cmp(&(b.0, &b.1.path)));
    if !applied.is_empty() && !secrets.is_empty() {
        let mut argv: Vec<String> = ["kubectl", "get", "-n", &ns, "secret"].map(String::from).to_vec();
        argv.extend(secrets.iter().cloned());
        out.push(PostApply {
            host: None,
            argv,
            why: "the Secrets the resources reference exist (never rendered)".into(),
        });
    }
    for c in manifests().filter(|c| c.action == Action::Replace) {
        let Some((kind, name)) = kind_name(c) else { continue };
        let argv =
            ["kubectl", "delete", "--ignore-not-found", "--wait=true", "-n", &ns, &kind.to_ascii_lowercase(), &name];
        out.push(PostApply {
            host: None,
            argv: argv.map(String::from).to_vec(),
            why: format!("{} must be recreated", c.path),
        });
    }
    if !applied.is_empty() {
        let mut argv: Vec<String> =
            ["kubectl", "apply", "--server-side", "--field-manager=redisctl"].map(String::from).to_vec();
        for (_, c) in &applied {
            argv.push("-f".into());
            argv.push(dir.join(&c.path).to_string_lossy().into_owned());
        }
        let names: Vec<&str> = applied.iter().map(|(_, c)| c.path.as_str()).collect();
        out.push(PostApply { host: None, argv, why: format!("changed: {}", names.join(", ")) });
    }
    let mut deleted: Vec<(u8, String, String, &Changed)> = manifests()
        .filter(|c| c.action == Action::Delete)
        .filter_map(|c| kind_name(c).map(|(k, n)| (apply_rank(&c.path), k, n, c)))
        .collect();
    deleted.sort_by_key(|d| std::cmp::Reverse(d.0));
    for (_, kind, name, c) in deleted {
        let argv = ["kubectl", "delete", "--ignore-not-found", "-n", &ns, &kind.to_ascii_lowercase(), &name];
        out.push(PostApply {
            host: None,
            argv: argv.map(String::from).to_vec(),
            why: format!("{} is no longer rendered", c.path),
        });
    }
    out
}

/// `target: redis-enterprise`.
pub struct RedisEnterprise;

impl super::Target for RedisEnterprise {
    fn kind(&self) -> TargetKind {
        TargetKind::RedisEnterprise
    }

    fn check(&self, c: &Contract, index: &SpanIndex) -> Vec<Diagnostic> {
        check(c, index)
    }

    fn scaffold(&self, s: &super::ScaffoldInput) -> Result<super::Scaffold, String> {
        if s.mode == TopologyMode::Sentinel {
            return Err("Redis Enterprise fails over by itself (no Sentinel): scaffold it with `--topology \
                        replication` or `cluster`"
                .into());
        }
        let cat = Catalog::get();
        if !cat.versions.iter().any(|v| v == s.version.as_str()) {
            return Err(format!(
                "Redis Enterprise creates databases of Redis {}, not {}: pass `--redis-version {}` (the local stack \
                 then needs a redis-server of that version)",
                cat.versions.join(", "),
                s.version.as_str(),
                cat.versions[0]
            ));
        }
        let settings = format!(
            "{zones}productionLike: true\nsecurity:\n  tls: {{ enabled: true }}\nresources:\n  maxmemory: 1gb\n\
             redisEnterprise:\n  namespace: {service}\n  cluster:\n    name: {service}-rec\n    nodes: 3\n    \
             licenseSecretName: {service}-rec-license   # TODO: a Secret with your Redis Enterprise license\n  \
             database:\n    name: {service}\n",
            zones = s.zones(),
            service = s.service,
        );
        // A primary shard keeps at most this many replica shards.
        Ok(super::Scaffold {
            settings,
            replicas: Some(cat.max_replicas),
            application_user: true,
            idle_directives: false,
        })
    }

    /// Every member is behind the database's one endpoint: the Service the operator creates.
    fn endpoint(&self, d: &Deployment, _name: &str) -> Endpoint {
        Endpoint { host: service_host(&d.contract), port: d.contract.ports.redis }
    }

    fn render(&self, d: &Deployment, _templates: &Templates) -> Result<Vec<Artifact>, String> {
        render::render(d)
    }

    fn providers(&self, env: &super::Opened, scope: Scope) -> Result<Vec<Box<dyn Provider>>, Error> {
        if scope == Scope::Live {
            return Err(super::no_live(self.kind()));
        }
        Ok(super::files_and_shape(env, false, Some(consequences)))
    }

    fn post_apply_commands(&self, d: &Deployment, dir: &Path, changed: &[Changed]) -> Option<Vec<PostApply>> {
        Some(post_apply_commands(d, dir, changed))
    }

    /// The database's Service: the proxy's single endpoint, or the seed of the OSS Cluster API
    /// (which then hands out the shards' addresses); TLS from the proxy; the password by
    /// reference. Known from the contract, without asking the cluster.
    fn managed_endpoints(&self, env: &super::Opened, config: &mut ClientConfig) -> Result<(), Error> {
        let c = &env.deployment.contract;
        config.sentinel = None;
        config.reader_endpoint = None;
        config.mode = if c.topology.mode == TopologyMode::Cluster { "cluster" } else { "managed-single-endpoint" };
        config.endpoints = vec![format!("{}:{}", service_host(c), c.ports.redis)];
        // The proxy's CA is in the cluster (or the proxy certificate's Secret), not a file here.
        config.tls.ca_file = None;
        Ok(())
    }

    fn stream(&self, artifacts: &[Artifact]) -> (String, Vec<String>) {
        super::kubernetes::yaml_stream(artifacts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_loads_and_is_consistent() {
        let cat = Catalog::get();
        for v in &cat.versions {
            assert!(crate::model::RedisVersion::ALL.iter().any(|r| r.as_str() == v), "{v}");
        }
        assert!(crate::model::RedisVersion::ALL.iter().any(|r| r.as_str() == cat.bundled_modules_since));
        for name in cat.config.directives.keys() {
            assert_eq!(name, &name.to_ascii_lowercase());
            assert!(crate::model::directives::Directives::get().find(name).is_some(), "{name} is a directive");
        }
        let contract = serde_json::to_value(crate::model::enterprise::RedisEnterpriseTarget::default()).unwrap();
        assert!(contract.is_object());
        for p in cat.unused.keys() {
            assert!(p.starts_with('/'), "{p}");
        }
    }

    #[test]
    fn consequences_of_text_that_is_no_manifest_are_unknown() {
        let db = "kind: RedisEnterpriseDatabase\nmetadata: { name: a }\nspec: { memorySize: 1GB }\n";
        assert_eq!(consequences("x.yaml", "not: [yaml", db), None);
        assert_eq!(consequences("x.yaml", "- a list\n", db), None);
        assert_eq!(consequences("x.yaml", "kind: Service\n", db), None, "another kind");
        assert_eq!(
            consequences("x.yaml", "kind: RedisEnterpriseDatabase\nspec: 1\n", "kind: RedisEnterpriseDatabase\n"),
            None
        );
        let deleted = consequences("x.yaml", db, "").unwrap();
        assert!(deleted.destroys_data && !deleted.replace, "{deleted:?}");
    }

    #[test]
    fn an_active_active_databases_global_settings_are_compared_one_by_one() {
        let aa = |g: &str| {
            format!("kind: RedisEnterpriseActiveActiveDatabase\nmetadata: {{ name: a }}\nspec: {{ globalConfigurations: {g} }}\n")
        };
        let online = consequences("x.yaml", &aa("{ memorySize: 1GB }"), &aa("{ memorySize: 2GB }")).unwrap();
        assert!(!online.replace && !online.destroys_data, "{online:?}");
        assert!(online.reason.contains("`spec.globalConfigurations.memorySize`"), "{online:?}");
        let fixed = consequences("x.yaml", &aa("{ databasePort: 12000 }"), &aa("{ databasePort: 12001 }")).unwrap();
        assert!(fixed.replace && fixed.destroys_data, "{fixed:?}");
        assert_eq!(consequences("x.yaml", &aa("{ a: 1 }"), &aa("{ a: 1 }")), None, "nothing changed");
        let rerc = "kind: RedisEnterpriseRemoteCluster\nmetadata: { name: r }\nspec: { recName: a }\n";
        assert_eq!(consequences("x.yaml", rerc, ""), None, "a remote cluster holds no data");
    }

    #[test]
    fn objects_apply_cluster_first_and_unknown_files_last() {
        let mut paths = vec![
            "redisenterpriseactiveactivedatabase.yaml",
            "x.yaml",
            "redisenterprisedatabase.yaml",
            "redisenterpriseremotecluster-rerc-us.yaml",
            "redisenterprisecluster.yaml",
        ];
        paths.sort_by_key(|p| apply_rank(p));
        assert_eq!(
            paths,
            [
                "redisenterprisecluster.yaml",
                "redisenterpriseremotecluster-rerc-us.yaml",
                "redisenterprisedatabase.yaml",
                "redisenterpriseactiveactivedatabase.yaml",
                "x.yaml"
            ]
        );
    }
}
