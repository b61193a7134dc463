//! What an ElastiCache environment is made of, derived from a contract: the replication group,
//! its parameter group, subnet group, RBAC users and user group. Pure data, no AWS calls: the
//! renderer (`render.rs`) writes it as the API requests that would create it, the provider
//! (`provider.rs`, behind the `elasticache` cargo feature) compares it with what the account has.
//!
//! ElastiCache knowledge (engine versions and parameter-group families, node-type memory,
//! parameters a group cannot set, default-group values) lives in `data/elasticache.toml`.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

pub mod alarms;
#[cfg(feature = "elasticache")]
pub mod provider;
pub mod render;

use crate::contract::checks::config_lines;
use crate::model::{AwsEngine, Contract, PersistenceMode, SecretRef, TopologyMode, UserRole};
use crate::resolve::Deployment;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRow {
    /// The contract's `redis.version`.
    pub redis: String,
    pub engine: String,
    pub engine_version: String,
    pub family: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub version: Vec<VersionRow>,
    /// Node type → GiB of memory Redis gets.
    pub node_types: BTreeMap<String, f64>,
    /// Directive → why a parameter group cannot set it.
    pub restricted: HashMap<String, String>,
    /// Parameter → value in the default parameter groups.
    pub defaults: BTreeMap<String, String>,
}

impl Catalog {
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            serde_json::from_str(crate::util::data_json!("elasticache.toml"))
                .expect("data/elasticache.toml is valid (unit test)")
        })
    }

    /// The engine version row for a contract, or why there is none.
    pub fn version_for(&self, c: &Contract) -> Result<&VersionRow, String> {
        let redis = c.redis.version.as_str();
        let engine = c.aws.engine.as_str();
        let rows: Vec<&VersionRow> = self.version.iter().filter(|r| r.redis == redis && r.engine == engine).collect();
        if rows.is_empty() {
            let offered: Vec<String> = self
                .version
                .iter()
                .filter(|r| r.redis == redis)
                .map(|r| format!("{} {}", r.engine, r.engine_version))
                .collect();
            return Err(if offered.is_empty() {
                format!("ElastiCache offers no engine with Redis {redis} semantics")
            } else {
                format!("ElastiCache offers Redis {redis} semantics only as {}", offered.join(", "))
            });
        }
        match &c.aws.engine_version {
            None => Ok(rows[0]),
            Some(v) => rows.iter().copied().find(|r| &r.engine_version == v).ok_or_else(|| {
                let known: Vec<&str> = rows.iter().map(|r| r.engine_version.as_str()).collect();
                format!("{engine} {v} is not an ElastiCache version for Redis {redis}; one of: {}", known.join(", "))
            }),
        }
    }

    /// Bytes of memory Redis may use on a node type: the node's memory less the reserved part.
    pub fn maxmemory(&self, node_type: &str, reserved_percent: u8) -> Option<u64> {
        let gib = self.node_types.get(node_type)?;
        let bytes = gib * 1024.0 * 1024.0 * 1024.0;
        Some((bytes * f64::from(100 - reserved_percent.min(100)) / 100.0) as u64)
    }
}

pub use super::Problem;

fn problem(pointer: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem::new("RCTL095", pointer, message, hint)
}

/// Everything in a `target: elasticache` contract that ElastiCache cannot do.
pub fn problems(c: &Contract) -> Vec<Problem> {
    let cat = Catalog::get();
    let aws = &c.aws;
    let mut out = Vec::new();
    if let Err(e) = cat.version_for(c) {
        out.push(problem(
            "/redis/version",
            e,
            "Redis 7.4 and 8.x are not offered by ElastiCache; Valkey implements the Redis 7.2 command set",
        ));
    }
    match &aws.node_type {
        None => out.push(problem(
            "/target",
            "target `elasticache` needs `aws.nodeType`",
            "e.g. `aws: { nodeType: cache.r7g.large }`; it sets each node's memory",
        )),
        Some(t) if !cat.node_types.contains_key(t) => {
            let known: Vec<&str> = cat.node_types.keys().map(String::as_str).collect();
            let hint = match crate::util::suggest::did_you_mean(t, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? (node types: data/elasticache.toml)"),
                None => format!("one of: {}", known.join(", ")),
            };
            out.push(problem("/aws/nodeType", format!("unknown ElastiCache node type `{t}`"), hint));
        }
        Some(_) => {}
    }
    if c.resources.maxmemory.is_some() {
        out.push(Problem { key: true, ..problem(
            "/resources/maxmemory",
            "ElastiCache derives maxmemory from `aws.nodeType` and `aws.reservedMemoryPercent`; it cannot be set",
            "remove it for this environment (`resources: { maxmemory: null }` in the overlay) and choose the node type",
        )});
    }
    if c.resources.memory_limit.is_some() {
        out.push(problem(
            "/resources/memoryLimit",
            "ElastiCache has no container memory limit",
            "remove it for this environment (`resources: { memoryLimit: null }`)",
        ));
    }
    if c.redis.persistence.mode.aof() {
        out.push(problem(
            "/redis/persistence/mode",
            "ElastiCache offers no AOF on current engines",
            "durability on ElastiCache comes from Multi-AZ replication and daily snapshots: use `persistence: { mode: rdb }` \
             with `aws.snapshotRetentionDays`, or a self-managed target for AOF",
        ));
    }
    if !c.redis.modules.is_empty() {
        out.push(problem(
            "/redis/modules",
            format!("ElastiCache does not load modules ({})", c.redis.modules.join(", ")),
            "use a self-managed target for modules",
        ));
    }
    for name in c.redis.config.keys() {
        let lower = name.to_ascii_lowercase();
        if let Some(why) = cat.restricted.get(&lower) {
            out.push(Problem {
                key: true,
                ..problem(
                    format!("/redis/config/{}", name.replace('~', "~0").replace('/', "~1")),
                    format!("`{name}` cannot be set on ElastiCache: {why}"),
                    "remove it for this environment (set it to null in the overlay)",
                )
            });
        }
    }
    if let Some((name, _)) = c
        .redis
        .config
        .iter()
        .find(|(n, v)| !cat.restricted.contains_key(&n.to_ascii_lowercase()) && config_lines(v).len() > 1)
    {
        out.push(problem(
            format!("/redis/config/{name}"),
            format!("`{name}` has several lines; an ElastiCache parameter holds one value"),
            "give one value",
        ));
    }
    if c.topology.mode == TopologyMode::Sentinel && c.topology.replicas == 0 {
        out.push(problem(
            "/topology/replicas",
            "Sentinel HA on ElastiCache is automatic failover, which needs at least one replica",
            "set `topology.replicas` to 1 or more",
        ));
    }
    let replicas = match c.topology.mode {
        TopologyMode::Cluster => c.topology.replicas_per_shard,
        _ => c.topology.replicas,
    };
    if replicas > 5 {
        out.push(problem("/topology", "ElastiCache allows at most 5 replicas per shard", "use 5 replicas or fewer"));
    }
    if c.topology.mode == TopologyMode::Cluster && c.topology.shards > 500 {
        out.push(problem("/topology/shards", "ElastiCache allows at most 500 shards", "use fewer shards"));
    }
    let auth = c.security.auth == crate::model::Auth::Required;
    if auth && c.acl.users.is_empty() && aws.auth_token.is_none() {
        out.push(problem(
            "/security/auth",
            "auth is required but there are neither ACL users nor `aws.authToken`",
            "add `acl.users` (RBAC users and a user group) or `aws: { authToken: { fromEnv: VAR } }`",
        ));
    }
    if !c.acl.users.is_empty() && aws.auth_token.is_some() {
        out.push(problem(
            "/aws/authToken",
            "`aws.authToken` and `acl.users` exclude each other on ElastiCache",
            "use RBAC users (`acl.users`) or one AUTH token, not both",
        ));
    }
    for name in aws.previous_passwords.keys() {
        if let Some(i) = c.acl.users.iter().position(|u| &u.name == name && u.previous_password.is_some()) {
            out.push(problem(
                format!("/aws/previousPasswords/{name}"),
                format!("user `{name}` has `previousPassword` (acl.users[{i}]) and `aws.previousPasswords.{name}`"),
                "keep one: `acl.users[].previousPassword` works on every target that has a rotation window",
            ));
        }
        if !c.acl.users.iter().any(|u| &u.name == name) {
            out.push(problem(
                format!("/aws/previousPasswords/{name}"),
                format!("`aws.previousPasswords` names `{name}`, which is not in `acl.users`"),
                "keys are ACL user names",
            ));
        }
    }
    if (auth || aws.auth_token.is_some()) && !c.security.tls.enabled {
        out.push(problem(
            "/security/tls",
            "ElastiCache accepts AUTH tokens and RBAC users only with in-transit encryption",
            "set `security: { tls: { enabled: true } }` (certificate files are ElastiCache's own)",
        ));
    }
    out
}

/// A parameter group: the default one of the family when the contract asks for nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterGroup {
    pub name: String,
    pub family: String,
    /// redisctl creates and manages it (otherwise it is `default.<family>...`).
    pub managed: bool,
    pub parameters: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedUser {
    pub user_id: String,
    pub user_name: String,
    pub access_string: String,
    /// `None` for the disabled `default` user every user group must contain.
    pub password: Option<SecretRef>,
}

/// Everything one ElastiCache environment consists of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub region: Option<String>,
    pub group_id: String,
    pub description: String,
    pub engine: AwsEngine,
    pub engine_version: String,
    pub node_type: String,
    /// Redis' maxmemory on each node, derived from the node type (for `connect` and reviews).
    pub maxmemory: u64,
    pub cluster_mode: bool,
    /// Shards (1 when cluster mode is off).
    pub shards: u32,
    pub replicas_per_shard: u32,
    pub automatic_failover: bool,
    pub multi_az: bool,
    pub transit_encryption: bool,
    pub at_rest_encryption: bool,
    pub port: u32,
    pub snapshot_retention_days: u32,
    pub snapshot_window: Option<String>,
    pub maintenance_window: Option<String>,
    pub tags: Vec<(String, String)>,
    /// `(name, subnet ids)` of the subnet group, when the contract names subnets.
    pub subnet_group: Option<(String, Vec<String>)>,
    pub security_group_ids: Vec<String>,
    pub parameter_group: ParameterGroup,
    pub users: Vec<ManagedUser>,
    pub user_group: Option<String>,
    pub auth_token: Option<SecretRef>,
    /// User name → the password being rotated away from.
    pub previous_passwords: BTreeMap<String, SecretRef>,
}

/// ElastiCache ids: lower case letters, digits and single hyphens, starting with a letter.
fn aws_id(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        let ch = ch.to_ascii_lowercase();
        let ch = if ch.is_ascii_alphanumeric() { ch } else { '-' };
        if !(ch == '-' && out.ends_with('-')) {
            out.push(ch);
        }
    }
    out.trim_matches('-').to_string()
}

impl Desired {
    pub fn from_deployment(d: &Deployment) -> Result<Desired, String> {
        let c = &d.contract;
        if let Some(p) = problems(c).into_iter().next() {
            return Err(format!("{} ({})", p.message, p.hint));
        }
        let cat = Catalog::get();
        let aws = &c.aws;
        let row = cat.version_for(c)?;
        let node_type = aws.node_type.clone().ok_or("target `elasticache` needs `aws.nodeType`")?;
        let maxmemory = cat.maxmemory(&node_type, aws.reserved_memory_percent).ok_or("unknown node type")?;
        let group_id = aws.replication_group_id.clone().unwrap_or_else(|| aws_id(&format!("{}-{}", c.service, d.env)));
        let cluster_mode = c.topology.mode == TopologyMode::Cluster;
        let (shards, replicas_per_shard) = match c.topology.mode {
            TopologyMode::Cluster => (c.topology.shards.max(1), c.topology.replicas_per_shard),
            TopologyMode::Standalone => (1, 0),
            TopologyMode::Replication | TopologyMode::Sentinel => (1, c.topology.replicas),
        };
        let automatic_failover = cluster_mode || replicas_per_shard > 0;
        let mut parameters = BTreeMap::new();
        parameters.insert("maxmemory-policy".to_string(), d.settings.maxmemory_policy.to_string());
        parameters.insert("reserved-memory-percent".to_string(), aws.reserved_memory_percent.to_string());
        parameters.extend(d.settings.config_values());
        let on_defaults = parameters.iter().all(|(k, v)| cat.defaults.get(k) == Some(v));
        let parameter_group = if on_defaults {
            let suffix = if cluster_mode { ".cluster.on" } else { "" };
            ParameterGroup {
                name: format!("default.{}{suffix}", row.family),
                family: row.family.clone(),
                managed: false,
                parameters: BTreeMap::new(),
            }
        } else {
            if cluster_mode {
                parameters.insert("cluster-enabled".to_string(), "yes".to_string());
            }
            ParameterGroup { name: format!("{group_id}-params"), family: row.family.clone(), managed: true, parameters }
        };
        let mut users = Vec::new();
        let mut user_group = None;
        if !c.acl.users.is_empty() {
            // Every ElastiCache user group must hold a user named `default`; this one is off.
            users.push(ManagedUser {
                user_id: format!("{group_id}-default"),
                user_name: "default".into(),
                access_string: "off -@all".into(),
                password: None,
            });
            for u in d.users.iter().filter(|u| matches!(u.spec.role, UserRole::Application | UserRole::Operator)) {
                let mut rules = vec!["on".to_string()];
                rules.extend(crate::resolve::user_rules(d, u));
                users.push(ManagedUser {
                    user_id: aws_id(&format!("{group_id}-{}", u.spec.name)),
                    user_name: u.spec.name.clone(),
                    access_string: rules.join(" "),
                    password: Some(u.spec.password.clone()),
                });
            }
            user_group = Some(format!("{group_id}-users"));
        }
        let mut tags: Vec<(String, String)> = aws.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        tags.push(("redisctl:service".into(), c.service.clone()));
        tags.push(("redisctl:env".into(), d.env.clone()));
        let persistent = c.redis.persistence.mode != PersistenceMode::None;
        Ok(Desired {
            region: aws.region.clone(),
            description: format!("{} {} (managed by redisctl)", c.service, d.env),
            engine: aws.engine,
            engine_version: row.engine_version.clone(),
            node_type,
            maxmemory,
            cluster_mode,
            shards,
            replicas_per_shard,
            automatic_failover,
            multi_az: aws.multi_az.unwrap_or(automatic_failover) && automatic_failover,
            transit_encryption: c.security.tls.enabled,
            at_rest_encryption: aws.encryption_at_rest,
            port: c.ports.redis,
            snapshot_retention_days: aws.snapshot_retention_days.unwrap_or(if persistent { 7 } else { 0 }),
            snapshot_window: aws.snapshot_window.clone(),
            maintenance_window: aws.maintenance_window.clone(),
            tags,
            subnet_group: (!aws.subnet_ids.is_empty()).then(|| (format!("{group_id}-subnets"), aws.subnet_ids.clone())),
            security_group_ids: aws.security_group_ids.clone(),
            parameter_group,
            users,
            user_group,
            auth_token: aws.auth_token.clone(),
            // A user's own `previousPassword` and the older `aws.previousPasswords` say the same.
            previous_passwords: aws
                .previous_passwords
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain(c.acl.users.iter().filter_map(|u| Some((u.name.clone(), u.previous_password.clone()?))))
                .collect(),
            group_id,
        })
    }

    /// Nodes in the replication group.
    pub fn node_count(&self) -> u32 {
        self.shards * (1 + self.replicas_per_shard)
    }
}

/// `target: elasticache`: AWS ElastiCache through its API.
pub struct Elasticache;

impl super::Target for Elasticache {
    fn kind(&self) -> crate::model::TargetKind {
        crate::model::TargetKind::Elasticache
    }

    /// What ElastiCache cannot do, at the offending key or value (RCTL095).
    fn check(&self, c: &Contract, index: &crate::contract::merge::SpanIndex) -> Vec<crate::diagnostics::Diagnostic> {
        super::located(problems(c), index)
    }

    fn render(
        &self,
        d: &Deployment,
        _templates: &crate::render::Templates,
    ) -> Result<Vec<crate::render::Artifact>, String> {
        render::render(d)
    }

    fn providers(
        &self,
        env: &super::Opened,
        scope: crate::plan::Scope,
    ) -> Result<Vec<Box<dyn crate::plan::Provider>>, crate::error::Error> {
        super::managed_scope(env, scope, self.kind(), || managed_providers(env, false))
    }

    fn scaffold(&self, s: &super::ScaffoldInput) -> Result<super::Scaffold, String> {
        if s.persistence.aof() {
            return Err("ElastiCache offers no AOF on current engines, which a `state` workload needs: scaffold \
                        `--workload cache`, or another target"
                .into());
        }
        // The first engine with the version's semantics: Redis, else Valkey (7.2 and later).
        let row = Catalog::get()
            .version
            .iter()
            .find(|r| r.redis == s.version.as_str())
            .ok_or_else(|| format!("ElastiCache offers no engine with Redis {} semantics", s.version.as_str()))?;
        let engine =
            if row.engine == AwsEngine::Redis.as_str() { String::new() } else { format!("  engine: {}\n", row.engine) };
        super::Scaffold::settings(format!(
            "{zones}productionLike: true\nsecurity:\n  tls: {{ enabled: true }}\naws:\n{engine}  region: eu-west-1   # TODO\n  \
             replicationGroupId: {service}-{env}\n  nodeType: cache.r7g.large\n  \
             subnetIds: [subnet-00000000000000001, subnet-00000000000000002]   # TODO\n  \
             securityGroupIds: [sg-00000000000000001]   # TODO\n  \
             alarmTopics:   # TODO: the SNS topics of your pager and ticket queue\n    \
             page: [\"arn:aws:sns:eu-west-1:000000000000:{service}-oncall\"]\n    \
             ticket: [\"arn:aws:sns:eu-west-1:000000000000:{service}-tickets\"]\n\
             # ElastiCache derives maxmemory from the node type\nresources:\n  maxmemory: null\n",
            zones = s.zones(),
            service = s.service,
            env = s.env,
        ))
    }

    fn drills(&self) -> super::Drills {
        // A failover drill there is TestFailover, a restore drill a snapshot restored into a new
        // group; moto (the AWS peer redisctl's tests run against) implements neither TestFailover
        // nor snapshots with data, so no drill of redisctl's reaches ElastiCache untested.
        super::Drills::Unsupported(
            "redisctl has no tested ElastiCache drill yet (a failover drill needs TestFailover, a restore drill a \
             snapshot with its data, and the AWS emulator the tests run against implements neither); drill a local \
             stack of the same contract instead, or use the AWS console's Test failover",
        )
    }

    /// A member's settings where the member cannot be described, and the digest of the AUTH
    /// token in use (the API never returns it).
    fn adopted_records(
        &self,
        d: &Deployment,
        token: Option<&crate::secrets::Secret>,
    ) -> Result<Vec<(crate::plan::Address, serde_json::Value)>, crate::error::Error> {
        #[cfg(feature = "elasticache")]
        {
            provider::adopted_records(d, token)
        }
        #[cfg(not(feature = "elasticache"))]
        {
            let _ = (d, token);
            Err(no_sdk())
        }
    }

    fn destroy_providers(
        &self,
        env: &super::Opened,
        _purge_data: bool,
    ) -> Option<Result<Vec<Box<dyn crate::plan::Provider>>, crate::error::Error>> {
        Some(managed_providers(env, true))
    }

    /// The configuration endpoint in cluster mode, else the primary endpoint (and the reader
    /// endpoint), from the account; failover is the service's job.
    fn managed_endpoints(
        &self,
        env: &super::Opened,
        config: &mut crate::connect::ClientConfig,
    ) -> Result<(), crate::error::Error> {
        #[cfg(not(feature = "elasticache"))]
        {
            let _ = (env, config);
            Err(no_sdk())
        }
        #[cfg(feature = "elasticache")]
        {
            let provider = provider_of(env)?;
            let e = provider.endpoints()?;
            config.sentinel = None;
            // Without ACL users clients log in with the group's AUTH token: name where it is.
            if config.password_ref.is_none() {
                config.password_ref = env.deployment.contract.aws.auth_token.clone();
            }
            if provider.cluster_mode() {
                config.mode = "cluster";
                config.endpoints = e.configuration.into_iter().collect();
            } else {
                config.mode = "managed-single-endpoint";
                config.endpoints = e.primary.into_iter().collect();
                config.reader_endpoint = e.reader;
            }
            Ok(())
        }
    }
}

#[cfg(feature = "elasticache")]
fn provider_of(env: &super::Opened) -> Result<provider::ElastiCache, crate::error::Error> {
    provider::ElastiCache::for_deployment(env.deployment, env.project_dir.to_path_buf(), env.endpoint_url)
}

/// The providers of what the environment has in the account, in apply order: the replication
/// group and what it needs, then its CloudWatch alarms (planning their deletion when `destroying`).
#[cfg(feature = "elasticache")]
fn managed_providers(
    env: &super::Opened,
    destroying: bool,
) -> Result<Vec<Box<dyn crate::plan::Provider>>, crate::error::Error> {
    let group = provider_of(env)?;
    let want = Desired::from_deployment(env.deployment).map_err(crate::error::Error::msg)?;
    let wanted = alarms::desired(&env.deployment.contract, &want).alarms;
    let alarms = alarms::CloudWatchAlarms::new(&want.group_id, wanted, want.region.as_deref(), env.endpoint_url)?;
    Ok(if destroying {
        // Alarms first: they would page on a group that is going away on purpose.
        vec![Box::new(alarms.destroying()), Box::new(group.destroying())]
    } else {
        vec![Box::new(group), Box::new(alarms)]
    })
}

#[cfg(not(feature = "elasticache"))]
fn managed_providers(_: &super::Opened, _: bool) -> Result<Vec<Box<dyn crate::plan::Provider>>, crate::error::Error> {
    Err(no_sdk())
}

#[cfg(not(feature = "elasticache"))]
fn no_sdk() -> crate::error::Error {
    crate::error::Error::msg("this redisctl was built without the `elasticache` feature; rebuild with default features")
}

#[cfg(test)]
pub(crate) mod tests {
    /// A replication group of one node with every optional part left out (unit tests build on it).
    pub(crate) fn desired_stub() -> super::Desired {
        super::Desired {
            region: Some("eu-west-1".into()),
            group_id: "s-prod".into(),
            description: "s prod (managed by redisctl)".into(),
            engine: crate::model::AwsEngine::default(),
            engine_version: "7.1".into(),
            node_type: "cache.t4g.small".into(),
            maxmemory: 1 << 30,
            cluster_mode: false,
            shards: 1,
            replicas_per_shard: 0,
            automatic_failover: false,
            multi_az: false,
            transit_encryption: true,
            at_rest_encryption: true,
            port: 6379,
            snapshot_retention_days: 0,
            snapshot_window: None,
            maintenance_window: None,
            tags: Vec::new(),
            subnet_group: None,
            security_group_ids: Vec::new(),
            parameter_group: super::ParameterGroup {
                name: "default.redis7".into(),
                family: "redis7".into(),
                managed: false,
                parameters: Default::default(),
            },
            users: Vec::new(),
            user_group: None,
            auth_token: None,
            previous_passwords: Default::default(),
        }
    }

    use super::*;

    #[test]
    fn catalog_loads_and_is_consistent() {
        let cat = Catalog::get();
        assert!(!cat.version.is_empty());
        for row in &cat.version {
            assert!(["redis", "valkey"].contains(&row.engine.as_str()), "{row:?}");
            assert!(crate::model::RedisVersion::ALL.iter().any(|v| v.as_str() == row.redis), "{row:?}");
        }
        for name in cat.restricted.keys().chain(cat.defaults.keys()) {
            assert_eq!(name, &name.to_ascii_lowercase());
        }
    }

    #[test]
    fn maxmemory_leaves_the_reserved_part() {
        let cat = Catalog::get();
        let full = cat.maxmemory("cache.r7g.large", 0).unwrap();
        let three_quarters = cat.maxmemory("cache.r7g.large", 25).unwrap();
        assert_eq!(full, (13.07 * 1024.0 * 1024.0 * 1024.0) as u64);
        assert!(three_quarters < full && three_quarters > full / 4 * 3 - 2);
        assert_eq!(cat.maxmemory("cache.x9.huge", 25), None);
    }

    #[test]
    fn ids_are_aws_shaped() {
        assert_eq!(aws_id("Catalog_prod--App"), "catalog-prod-app");
        assert_eq!(aws_id("-a.b-"), "a-b");
    }
}
