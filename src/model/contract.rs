//! The typed contract: what one environment of a service wants, after the overlay merge.
//!
//! These types are the single source of truth for `schemas/redisctl.schema.json`: the schema
//! is derived from them with schemars (`redisctl schema`), and a test fails when the
//! committed file and these types disagree. Doc comments become the schema's descriptions,
//! which yaml-language-server shows as hover docs.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::{Date, Duration, Quantity, Size};

/// A redisctl configuration contract: the base file `redisctl.yaml` merged with one
/// `environments/<env>.yaml` overlay.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "redisctl contract")]
pub struct Contract {
    /// Contract format version.
    pub api_version: ApiVersion,
    /// Service name: used for the Sentinel master name, key-prefix defaults, labels and file headers.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,62}$"), example = &"catalog")]
    pub service: String,
    /// Where the environment runs. `process` starts local redis-server processes (the default);
    /// `systemd`, `compose` and `kubernetes` render deployment files; `elasticache` targets AWS,
    /// `memorystore` Google Cloud;
    /// `redis-enterprise` renders the Redis Enterprise operator's custom resources.
    #[serde(default)]
    pub target: TargetKind,
    /// Marks a production-like environment: stricter readiness rules apply, and destructive
    /// changes can be forbidden.
    #[serde(default)]
    pub production_like: bool,
    /// Redis semantics. These must be the same in every environment (see `redisctl parity`).
    pub redis: Redis,
    #[serde(default)]
    pub topology: Topology,
    #[serde(default)]
    pub ports: Ports,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub keyspace: Keyspace,
    #[serde(default)]
    pub acl: Acl,
    #[serde(default)]
    pub client: Client,
    #[serde(default)]
    pub output: Output,
    /// Where the environment's ownership state and apply lock live: local files beside the
    /// rendered output (the default), or S3, shared by every machine that applies it.
    #[serde(default)]
    pub state: StateBackend,
    #[serde(default)]
    pub safety: Safety,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub container: Container,
    #[serde(default)]
    pub operations: Operations,
    /// SLOs and alerts: exporters, Prometheus rules and dashboards are rendered from them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<crate::model::observability::ObservabilitySpec>,
    #[serde(default)]
    pub readiness: Readiness,
    #[serde(default)]
    pub policy: PolicyConfig,
    #[serde(default)]
    pub parity: ParityConfig,
    /// Settings used only by `target: systemd`: the VMs the nodes run on.
    #[serde(default)]
    pub systemd: SystemdTarget,
    /// Settings used only by `target: kubernetes`: namespace, Secret, scheduling, storage, metrics.
    #[serde(default)]
    pub kubernetes: KubernetesTarget,
    /// Settings used only by `target: elasticache`: region, node type, network, snapshots, tags.
    #[serde(default)]
    pub aws: AwsTarget,
    /// Settings used only by `target: redis-enterprise`: the cluster and database custom resources.
    #[serde(default)]
    pub redis_enterprise: crate::model::enterprise::RedisEnterpriseTarget,
    /// Settings used only by `target: memorystore`: project, region, product, network, maintenance, labels.
    #[serde(default)]
    pub gcp: crate::model::memorystore::GcpTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "redisctl/v1")]
    V1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "Target")]
pub enum TargetKind {
    /// Local redis-server processes under the environment's run directory.
    #[default]
    Process,
    /// redis.conf plus systemd units, laid out as the VM filesystem.
    Systemd,
    /// A Docker Compose project.
    Compose,
    /// Kubernetes manifests (rendered-manifests GitOps).
    Kubernetes,
    /// AWS ElastiCache, through the AWS API.
    Elasticache,
    /// Redis Enterprise on Kubernetes: the operator's custom resources (rendered-manifests GitOps).
    #[serde(rename = "redis-enterprise")]
    RedisEnterprise,
    /// Google Cloud Memorystore (Redis instance, Redis Cluster or Valkey), through its API.
    Memorystore,
}

impl TargetKind {
    /// Every target, in the schema's order (a unit test keeps the two equal).
    pub const ALL: [TargetKind; 7] = [
        TargetKind::Process,
        TargetKind::Systemd,
        TargetKind::Compose,
        TargetKind::Kubernetes,
        TargetKind::Elasticache,
        TargetKind::RedisEnterprise,
        TargetKind::Memorystore,
    ];

    pub fn as_str(self) -> &'static str {
        self.facts().name
    }

    /// What the stages below the targets (checks, resolve, policy, review) need to know about
    /// a target, as data. Its behaviour (render, providers, endpoints, ...) is the `Target`
    /// trait in `targets/`; this table and that registry are the only matches on the kind.
    pub fn facts(self) -> &'static TargetFacts {
        match self {
            TargetKind::Process => &TargetFacts {
                name: "process",
                description: "local redis-server processes on one host (`process`)",
                local: true,
                one_host: true,
                secrets_at_render: true,
                operator_required: Some("redisctl logs in as it for its readiness checks, live changes and SHUTDOWN"),
                operator_commands: &[
                    crate::model::acl::LIVE_OPERATOR_COMMANDS,
                    crate::model::acl::LOCAL_STACK_OPERATOR_COMMANDS,
                ],
                // Redis waits 5 s before a diskless full sync for more replicas to join: on a
                // laptop every replica of the stack starts at once, so the wait buys nothing.
                config_defaults: &[(
                    "repl-diskless-sync-delay",
                    "0",
                    "replicas of a local stack start together: no wait for more to join",
                )],
                ..TargetFacts::SELF_HOSTED
            },
            TargetKind::Systemd => &TargetFacts {
                name: "systemd",
                description: "VMs with systemd units (`systemd`)",
                secrets_at_render: true,
                needs_auth: true,
                // Only `plan --live` / `apply --live` log in, and they say so themselves.
                operator_commands: &[crate::model::acl::LIVE_OPERATOR_COMMANDS],
                ..TargetFacts::SELF_HOSTED
            },
            TargetKind::Compose => &TargetFacts {
                name: "compose",
                description: "Docker Compose on one host (`compose`)",
                one_host: true,
                containers: true,
                needs_auth: true,
                operator_required: Some(CONTAINER_OPERATOR),
                operator_commands: &[crate::model::acl::HEALTH_OPERATOR_COMMANDS],
                ..TargetFacts::SELF_HOSTED
            },
            TargetKind::Kubernetes => &TargetFacts {
                name: "kubernetes",
                description: "Kubernetes StatefulSets from rendered manifests (`kubernetes`)",
                containers: true,
                needs_auth: true,
                volume_claims: true,
                operator_required: Some(CONTAINER_OPERATOR),
                operator_commands: &[crate::model::acl::HEALTH_OPERATOR_COMMANDS],
                ..TargetFacts::SELF_HOSTED
            },
            TargetKind::Elasticache => &TargetFacts {
                name: "elasticache",
                description: "managed: AWS ElastiCache (`elasticache`)",
                managed: Some("AWS ElastiCache"),
                maintenance_window: |c| {
                    let w = c.aws.maintenance_window.as_deref().map(str::trim).filter(|w| !w.is_empty());
                    w.map(|w| format!("{w} UTC (ElastiCache)"))
                },
                unrouted_pages: |c| {
                    c.aws.alarm_topics.page.is_empty().then_some((
                        "/aws/alarmTopics",
                        "the CloudWatch alarms that page notify nobody: `aws.alarmTopics.page` names no SNS topic",
                    ))
                },
                ..TargetFacts::SELF_HOSTED
            },
            TargetKind::RedisEnterprise => &TargetFacts {
                name: "redis-enterprise",
                description: "Redis Enterprise on Kubernetes, run by its operator (`redis-enterprise`)",
                // The cluster runs replication, failover and the proxy's certificates; the
                // database's memory limit comes from the contract (`resources.maxmemory`).
                managed: Some("Redis Enterprise operator"),
                operated: Some(crate::model::enterprise::OPERATED),
                ..TargetFacts::SELF_HOSTED
            },
            TargetKind::Memorystore => &TargetFacts {
                name: "memorystore",
                description: "managed: Google Cloud Memorystore (`memorystore`)",
                managed: Some("Google Cloud Memorystore"),
                maintenance_window: crate::model::memorystore::maintenance_window,
                // Google runs failover and snapshots as the product and contract configure them.
                operated: Some(crate::model::memorystore::OPERATED),
                ..TargetFacts::SELF_HOSTED
            },
        }
    }
}

/// Why container targets need a `role: operator` user when auth is required.
const CONTAINER_OPERATOR: &str =
    "the health checks (role, replication, a write and a read) and the cluster bootstrap log in as it";

/// Facts about a target that checks, policy and review read.
#[derive(Clone, Copy)]
pub struct TargetFacts {
    /// The `target:` value.
    pub name: &'static str,
    /// The deployment model, as the readiness review names it.
    pub description: &'static str,
    /// The provider's name when a managed service runs Redis (replication, failover, TLS
    /// certificates, maxmemory and the parameters are the service's).
    pub managed: Option<&'static str>,
    /// A developer's machine: environments on it are `local` for the readiness policy.
    pub local: bool,
    /// Every node and Sentinel runs on one host.
    pub one_host: bool,
    /// Nodes run in containers (memory limits, hostnames instead of IPs).
    pub containers: bool,
    /// The rendered files carry password hashes (ACL files), so secret values must be readable
    /// at render time; container and managed targets pass references only.
    pub secrets_at_render: bool,
    /// Nodes are reached from other hosts, so protected mode needs `security.auth: required`.
    pub needs_auth: bool,
    /// Persistence lives on PersistentVolumeClaims.
    pub volume_claims: bool,
    /// Why the target cannot work without a `role: operator` user when `security.auth` is
    /// `required` (what logs in as it); `None`: nothing needs one.
    pub operator_required: Option<&'static str>,
    /// The commands (`config|get`) and what for, that log in as the operator user run (lists that
    /// targets share, each written once).
    pub operator_commands: &'static [&'static [(&'static str, &'static str)]],
    /// The maintenance window the provider's own settings give, for the review.
    pub maintenance_window: fn(&Contract) -> Option<String>,
    /// An operator's control plane (not redisctl, not a cloud API) runs failover and backups:
    /// what the review says of them.
    pub operated: Option<Operated>,
    /// Targets whose alerts are the provider's own alarms, routed by the contract: the key and
    /// the finding when page-worthy ones notify nobody. (Self-hosted targets' rules page
    /// through the team's Alertmanager, which the contract does not see.)
    pub unrouted_pages: fn(&Contract) -> Option<(&'static str, &'static str)>,
    /// redis.conf directives the target sets when `redis.config` does not: (name, value, why).
    /// Envelope settings only (how the stack runs here, never what the application sees).
    pub config_defaults: &'static [(&'static str, &'static str, &'static str)],
}

/// How an operator runs the deployment, for the review's topology, failover and backup items.
#[derive(Clone, Copy)]
pub struct Operated {
    pub topology: fn(&Contract) -> String,
    pub failover: fn(&Contract) -> String,
    /// The backups the operator takes as the contract configures them; `None` when it takes none.
    pub backups: fn(&Contract) -> Option<String>,
}

impl TargetFacts {
    const SELF_HOSTED: TargetFacts = TargetFacts {
        name: "",
        description: "",
        managed: None,
        local: false,
        one_host: false,
        containers: false,
        secrets_at_render: false,
        needs_auth: false,
        volume_claims: false,
        operator_required: None,
        operator_commands: &[],
        maintenance_window: |_| None,
        operated: None,
        unrouted_pages: |_| None,
        config_defaults: &[],
    };
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Redis {
    /// Redis major.minor version. Directives are checked against this version.
    pub version: RedisVersion,
    /// What the data is; decides which eviction and persistence settings are safe.
    pub workload: Workload,
    /// What Redis does when maxmemory is reached.
    pub maxmemory_policy: MaxmemoryPolicy,
    #[serde(default)]
    pub persistence: Persistence,
    /// Redis modules the service relies on (names, e.g. `search`); must match in every environment.
    #[serde(default)]
    pub modules: Vec<String>,
    /// Extra redis.conf directives, checked against the directive table for `version`.
    /// Values are strings, numbers or booleans (`true` → `yes`); a list gives one line per item.
    #[serde(default)]
    #[schemars(example = example_config())]
    pub config: IndexMap<String, ConfigValue>,
}

fn example_config() -> serde_json::Value {
    serde_json::json!({ "timeout": 300, "tcp-keepalive": 60 })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RedisVersion {
    #[serde(rename = "6.2")]
    V6_2,
    #[serde(rename = "7.0")]
    V7_0,
    #[serde(rename = "7.2")]
    V7_2,
    #[serde(rename = "7.4")]
    V7_4,
    #[serde(rename = "8.0")]
    V8_0,
    #[serde(rename = "8.2")]
    V8_2,
}

impl RedisVersion {
    pub const ALL: [RedisVersion; 6] = [Self::V6_2, Self::V7_0, Self::V7_2, Self::V7_4, Self::V8_0, Self::V8_2];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V6_2 => "6.2",
            Self::V7_0 => "7.0",
            Self::V7_2 => "7.2",
            Self::V7_4 => "7.4",
            Self::V8_0 => "8.0",
            Self::V8_2 => "8.2",
        }
    }

    /// (major, minor), for comparing with the directive table's `since`/`until`.
    pub fn pair(self) -> (u32, u32) {
        let (a, b) = self.as_str().split_once('.').unwrap_or(("0", "0"));
        (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Disposable, reconstructable data: eviction is fine.
    Cache,
    /// User sessions: losing them logs users out.
    Session,
    /// Jobs or streams: an evicted or lost entry is a lost job.
    Queue,
    /// Authoritative operational data.
    State,
    /// Locks, rate limits, idempotency keys.
    Coordination,
}

impl Workload {
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Cache => "cache",
            Workload::Session => "session",
            Workload::Queue => "queue",
            Workload::State => "state",
            Workload::Coordination => "coordination",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MaxmemoryPolicy {
    Noeviction,
    AllkeysLru,
    AllkeysLfu,
    AllkeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl MaxmemoryPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Noeviction => "noeviction",
            Self::AllkeysLru => "allkeys-lru",
            Self::AllkeysLfu => "allkeys-lfu",
            Self::AllkeysRandom => "allkeys-random",
            Self::VolatileLru => "volatile-lru",
            Self::VolatileLfu => "volatile-lfu",
            Self::VolatileRandom => "volatile-random",
            Self::VolatileTtl => "volatile-ttl",
        }
    }
}

/// Durability: RDB snapshots, the append-only file, both, or none.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Persistence {
    #[serde(default)]
    pub mode: PersistenceMode,
    /// RDB snapshot points as `<seconds> <changes>` (redis.conf `save`); used by `rdb` and `aof+rdb`.
    #[serde(default = "default_snapshots")]
    #[schemars(example = default_snapshots())]
    pub snapshots: Vec<String>,
    /// AOF fsync policy; used by `aof` and `aof+rdb`.
    #[serde(default)]
    pub fsync: Fsync,
}

pub fn default_snapshots() -> Vec<String> {
    vec!["3600 1".into(), "300 100".into(), "60 10000".into()]
}

/// The same defaults whether `persistence` is omitted or given without some fields.
impl Default for Persistence {
    fn default() -> Self {
        Persistence { mode: PersistenceMode::None, snapshots: default_snapshots(), fsync: Fsync::Everysec }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum PersistenceMode {
    /// Nothing is written to disk: a restart empties the dataset.
    #[default]
    #[serde(rename = "none")]
    None,
    /// Periodic RDB snapshots: a crash loses writes since the last snapshot.
    #[serde(rename = "rdb")]
    Rdb,
    /// Append-only file: a crash loses at most about one second with `fsync: everysec`.
    #[serde(rename = "aof")]
    Aof,
    /// AOF for durability plus RDB snapshots for backups.
    #[serde(rename = "aof+rdb")]
    AofRdb,
}

impl PersistenceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Rdb => "rdb",
            Self::Aof => "aof",
            Self::AofRdb => "aof+rdb",
        }
    }
    pub fn aof(self) -> bool {
        matches!(self, Self::Aof | Self::AofRdb)
    }
    pub fn rdb(self) -> bool {
        matches!(self, Self::Rdb | Self::AofRdb)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    Always,
    #[default]
    Everysec,
    No,
}

impl Fsync {
    pub fn as_str(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Everysec => "everysec",
            Fsync::No => "no",
        }
    }
}

/// A redis.conf directive value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ConfigValue {
    Bool(bool),
    Int(i64),
    String(String),
    List(Vec<String>),
}

/// How the nodes are arranged. Fields that do not apply to `mode` are ignored with a warning.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Topology {
    #[serde(default)]
    pub mode: TopologyMode,
    /// Replicas of the primary (`replication`, `sentinel`).
    #[serde(default = "one")]
    #[schemars(range(max = 64))]
    pub replicas: u32,
    /// Number of Sentinel processes (`sentinel`); at least 3 for a real majority.
    #[serde(default = "three")]
    #[schemars(range(max = 15))]
    pub sentinels: u32,
    /// Sentinels that must agree the primary is down (`sentinel`); default: a majority.
    #[serde(default)]
    #[schemars(range(min = 1, max = 15))]
    pub quorum: Option<u32>,
    /// Sentinel master name (`sentinel`); default: the service name.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"))]
    pub master_name: Option<String>,
    /// How long the primary must be unreachable before a Sentinel thinks it down (`sentinel`,
    /// Sentinel's `down-after-milliseconds`).
    #[serde(default = "default_down_after")]
    #[schemars(example = &"5s")]
    pub down_after: Duration,
    /// Sentinel's `failover-timeout` (`sentinel`): how long a failover may take, and how long
    /// before the same primary is failed over again.
    #[serde(default = "default_failover_timeout")]
    #[schemars(example = &"60s")]
    pub failover_timeout: Duration,
    /// Replicas that resynchronise with a new primary at the same time after a failover
    /// (`sentinel`, Sentinel's `parallel-syncs`).
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 64))]
    pub parallel_syncs: u32,
    /// Number of primaries (`cluster`); at least 3.
    #[serde(default = "three")]
    #[schemars(range(max = 500))]
    pub shards: u32,
    /// Replicas of each primary (`cluster`).
    #[serde(default = "one")]
    #[schemars(range(max = 5))]
    pub replicas_per_shard: u32,
    /// Failure domains (availability zones, racks) the nodes and Sentinels are spread over,
    /// round-robin. Ignored by `process` and `compose`, which run on one host.
    #[serde(default)]
    #[schemars(example = vec!["eu-west-1a", "eu-west-1b", "eu-west-1c"], length(max = 16))]
    pub failure_domains: Vec<String>,
}

fn one() -> u32 {
    1
}
fn default_down_after() -> Duration {
    Duration(5000)
}
fn default_failover_timeout() -> Duration {
    Duration(60_000)
}
fn three() -> u32 {
    3
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            mode: TopologyMode::Standalone,
            replicas: 1,
            sentinels: 3,
            quorum: None,
            master_name: None,
            down_after: default_down_after(),
            failover_timeout: default_failover_timeout(),
            parallel_syncs: 1,
            shards: 3,
            replicas_per_shard: 1,
            failure_domains: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TopologyMode {
    /// One node.
    #[default]
    Standalone,
    /// A primary and `replicas` replicas, no automatic failover.
    Replication,
    /// A primary, `replicas` replicas and `sentinels` Sentinels for automatic failover.
    Sentinel,
    /// Redis Cluster: `shards` primaries with `replicasPerShard` replicas each.
    Cluster,
}

impl TopologyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standalone => "standalone",
            Self::Replication => "replication",
            Self::Sentinel => "sentinel",
            Self::Cluster => "cluster",
        }
    }
}

/// Ports. Nodes take consecutive ports from `redis`, Sentinels from `sentinel`;
/// cluster nodes use `port + 10000` for the cluster bus.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Ports {
    #[serde(default = "default_redis_port")]
    #[schemars(range(min = 1, max = 55535))]
    pub redis: u32,
    #[serde(default = "default_sentinel_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub sentinel: u32,
}

fn default_redis_port() -> u32 {
    6379
}
fn default_sentinel_port() -> u32 {
    26379
}

impl Default for Ports {
    fn default() -> Self {
        Ports { redis: default_redis_port(), sentinel: default_sentinel_port() }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// Redis `maxmemory` per node. Without it Redis grows until the OS or the container kills it.
    #[serde(default)]
    pub maxmemory: Option<Size>,
    /// Container memory limit (compose, kubernetes), as a Kubernetes quantity. Must leave
    /// headroom above maxmemory for fragmentation, buffers and fork copy-on-write. Default:
    /// 2 × maxmemory with persistence (a fork can copy every page), else 1.5 × (at least
    /// maxmemory + 64 MiB).
    #[serde(default)]
    pub memory_limit: Option<Quantity>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Security {
    /// `required`: the `default` user is disabled and every client authenticates as an ACL user.
    /// `optional`: the `default` user stays open (local development only).
    #[serde(default)]
    pub auth: Auth,
    #[serde(default)]
    pub tls: Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    #[default]
    Required,
    Optional,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Tls {
    #[serde(default)]
    pub enabled: bool,
    /// Server certificate (PEM), as a path on the node.
    #[serde(default)]
    pub cert_file: Option<String>,
    /// Server private key (PEM), as a path on the node.
    #[serde(default)]
    pub key_file: Option<String>,
    /// CA bundle used to verify peers and clients, as a path on the node.
    #[serde(default)]
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Keyspace {
    /// Prefix every application key starts with.
    #[serde(default)]
    #[schemars(example = &"catalog")]
    pub prefix: Option<String>,
    /// The application only uses multi-key commands on keys of one hash slot (hash tags),
    /// so it works unchanged on Redis Cluster.
    #[serde(default)]
    pub cluster_safe: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Acl {
    #[serde(default)]
    pub users: Vec<AclUser>,
}

/// An ACL user. Passwords are references, never values; rendered ACL files hold SHA-256 hashes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AclUser {
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"), example = &"catalog-app")]
    pub name: String,
    /// What the user is for. `replication` users are used by replicas (`masteruser`),
    /// `sentinel` users by Sentinels; both get the minimal commands they need by default.
    #[serde(default)]
    pub role: UserRole,
    pub password: SecretRef,
    /// During a password rotation, the password being replaced. Both stay valid — in the
    /// rendered ACL file too, so a node that restarts keeps accepting the old one — until this
    /// is removed from the contract and `apply --finish-rotation` removes it from running nodes.
    /// Self-hosted file targets and ElastiCache; container targets replace their containers on
    /// a password change instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_password: Option<SecretRef>,
    /// Key patterns the user may access (`~pattern`).
    #[serde(default)]
    #[schemars(example = vec!["catalog:*"])]
    pub keys: Vec<String>,
    /// Pub/Sub channel patterns (`&pattern`).
    #[serde(default)]
    pub channels: Vec<String>,
    /// Command rules such as `+@read`, `-@dangerous`, `-flushall`.
    #[serde(default)]
    #[schemars(example = vec!["+@read", "+@write", "-@dangerous"])]
    pub commands: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    #[default]
    Application,
    Replication,
    Sentinel,
    Operator,
    /// The metrics exporter: INFO, SLOWLOG and LATENCY, no keys (`observability`).
    Exporter,
}

/// Where a secret comes from. Exactly one source; plaintext in the contract is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(extend("minProperties" = 1, "maxProperties" = 1))]
pub struct SecretRef {
    /// Name of an environment variable that holds the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"), example = &"CATALOG_REDIS_PASSWORD")]
    pub from_env: Option<String>,
    /// Path of a file (relative to the project directory) whose content is the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_file: Option<String>,
}

/// How applications connect; emitted by `redisctl connect` and identical in every environment
/// (`redisctl parity` locks every field).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Client {
    #[serde(default = "default_command_timeout")]
    pub command_timeout: Duration,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: Duration,
    /// Client library and version the applications use, e.g. `Lettuce 6.5`.
    #[serde(default)]
    pub library: Option<String>,
    /// How failed commands are retried. Retries after a connection reset must be idempotent.
    #[serde(default)]
    pub retry: Option<Retry>,
    /// Whether the application stops calling Redis for a while after repeated failures.
    #[serde(default)]
    pub circuit_breaker: Option<bool>,
    /// How values are encoded, e.g. `JSON (Jackson), versioned`.
    #[serde(default)]
    pub serialization: Option<String>,
    /// Which nodes serve reads.
    #[serde(default)]
    pub read_from: ReadFrom,
    /// The application reads its own writes right after making them (sessions, idempotency
    /// keys, read-modify-write flows). Replicas lag asynchronously, so such reads must go to
    /// the primary.
    #[serde(default)]
    pub read_your_writes: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retry {
    /// Attempts including the first one.
    #[schemars(range(min = 1, max = 10))]
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ReadFrom {
    /// Every read goes to the primary.
    #[default]
    Primary,
    /// Reads go to replicas only.
    Replica,
    /// Reads go to replicas, or to the primary when none is available.
    ReplicaPreferred,
}

impl ReadFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadFrom::Primary => "primary",
            ReadFrom::Replica => "replica",
            ReadFrom::ReplicaPreferred => "replicaPreferred",
        }
    }
}

fn default_command_timeout() -> Duration {
    Duration(500)
}
fn default_connect_timeout() -> Duration {
    Duration(2000)
}

impl Default for Client {
    fn default() -> Self {
        Client {
            command_timeout: default_command_timeout(),
            connect_timeout: default_connect_timeout(),
            library: None,
            retry: None,
            circuit_breaker: None,
            serialization: None,
            read_from: ReadFrom::Primary,
            read_your_writes: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Output {
    /// Directory (relative to the project) that receives this environment's rendered files.
    /// Default: `rendered/<env>`.
    #[serde(default)]
    pub dir: Option<String>,
}

/// Guard rails for `apply`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Safety {
    /// Refuse destructive changes (deleting data or a data directory) even with
    /// `--allow-destroy`. Set it on production-like environments.
    #[serde(default)]
    pub forbid_destroy: bool,
}

/// Network exposure of the nodes and Sentinels.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Network {
    /// Addresses redis-server and Sentinel listen on (redis.conf `bind`). Default: the
    /// target's (`127.0.0.1` for `process`). A non-loopback address with `security.auth:
    /// optional` opens the server to the network: protected-mode does not apply once `bind`
    /// is set, and redisctl always sets it.
    #[serde(default)]
    #[schemars(example = vec!["10.0.1.15"], length(min = 1, max = 16))]
    pub bind: Option<Vec<String>>,
}

/// The container that runs Redis (`compose`, `kubernetes`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Container {
    /// Image every Redis and Sentinel container runs. Pin an exact version of `redis.version`
    /// (`redis:7.2.5`, `redis:7.2.5-alpine`) or a digest (`redis@sha256:...`): validate refuses
    /// floating tags (`latest`, `7`, `7.2-alpine`), which change under you, and a tag of another
    /// Redis version (RCTL096). Default: the pinned official image of `redis.version`.
    #[serde(default)]
    #[schemars(example = &"redis:7.2.5-alpine", length(min = 1, max = 255))]
    pub image: Option<String>,
    /// `compose` with TLS: directory on the Docker host (absolute, or relative to compose.yaml)
    /// holding the certificate, key and CA, bind-mounted read-only into every container at the
    /// directory of `security.tls.certFile` (which, like `keyFile` and `caFile`, is then a
    /// path inside the container, with the same file name as on the host).
    #[serde(default)]
    #[schemars(example = &"/etc/ssl/redis-catalog", regex(pattern = r"^[A-Za-z0-9._/-]+$"))]
    pub tls_dir: Option<String>,
}

/// Where the nodes of a `systemd` environment run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SystemdTarget {
    /// Addresses of the VMs: IP addresses, or DNS names that resolve to one. Node `node-<i>`
    /// runs on `hosts[i % len]` and Sentinel `sentinel-<j>` on `hosts[j % len]`; each binds its
    /// host's address (plus 127.0.0.1), and replicas and Sentinels reach it there. Give at
    /// least as many hosts as nodes so that a replica never shares a VM with its primary.
    #[serde(default)]
    #[schemars(example = vec!["10.0.1.11", "10.0.2.11", "10.0.3.11"])]
    pub hosts: Vec<Host>,
    /// Operator-managed file (not rendered) holding `REDIS_MASTERAUTH=` (the password of the
    /// `replication` user) and `REDIS_SENTINEL_AUTH_PASS=` (the `sentinel` user's), read by
    /// systemd and passed to redis-server at start. Default: `/etc/redis/<service>.env`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^/[A-Za-z0-9._/-]+$"))]
    pub environment_file: Option<String>,
}

/// A VM address: an IPv4/IPv6 address or a DNS name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Host(#[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$"))] pub String);

/// Kubernetes placement, credentials, storage and metrics.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubernetesTarget {
    /// Namespace of every rendered object (it must exist). Default: the service name.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub namespace: Option<String>,
    /// Name of an existing Secret (never rendered) with one key per ACL user, named like the
    /// user, holding that user's password. Default: `<service>-redis-acl`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub secret_name: Option<String>,
    /// Spreading Redis pods over nodes: `soft` prefers different nodes, `hard` requires them
    /// (pods stay Pending when there are not enough nodes).
    #[serde(default)]
    pub anti_affinity: AntiAffinity,
    /// With TLS: name of an existing Secret of type `kubernetes.io/tls` (keys `tls.crt`,
    /// `tls.key` and `ca.crt`, as cert-manager writes them), mounted read-only at the directory of
    /// `security.tls.certFile`, its keys under the file names of `certFile`, `keyFile`, `caFile`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub tls_secret_name: Option<String>,
    /// Labels a pod must carry for the NetworkPolicy to let it connect.
    /// Default: `client.redisctl.io/<service>: "true"`.
    #[serde(default)]
    pub client_labels: IndexMap<String, String>,
    #[serde(default)]
    pub storage: Storage,
    #[serde(default)]
    pub exporter: Exporter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AntiAffinity {
    /// No anti-affinity: the scheduler may put a primary and its replica on one node.
    None,
    /// preferredDuringSchedulingIgnoredDuringExecution on the node hostname.
    #[default]
    Soft,
    /// requiredDuringSchedulingIgnoredDuringExecution on the node hostname.
    Hard,
}

/// Operational facts about the environment: backups, drills and maintenance. The readiness
/// policy and `redisctl review` read them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Operations {
    #[serde(default)]
    pub backup: Option<Backup>,
    /// The last time a backup was restored to a new instance and checked.
    #[serde(default)]
    pub restore_drill: Option<Drill>,
    /// The last time a failover was triggered on purpose and the clients checked.
    #[serde(default)]
    pub failover_test: Option<FailoverTest>,
    /// When planned maintenance (upgrades, provider patching) may happen, e.g. `sun:03:00-sun:04:00 UTC`.
    #[serde(default)]
    pub maintenance_window: Option<String>,
    /// Measurable objectives that `redisctl review` holds the drill records (`drills/<env>.json`,
    /// written by `redisctl drill`) against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<Objectives>,
}

/// Recovery objectives as durations, compared with what the drills measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Objectives {
    /// Longest acceptable outage of writes during a failover (measured by `drill failover`).
    #[serde(default)]
    #[schemars(example = &"30s")]
    pub rto: Option<Duration>,
    /// Acceptable data loss. `0s`: no write a replica acknowledged may be lost in a failover.
    #[serde(default)]
    #[schemars(example = &"1s")]
    pub rpo: Option<Duration>,
    /// Longest acceptable time to restore the newest snapshot (measured by `drill restore`).
    #[serde(default)]
    #[schemars(example = &"5m")]
    pub restore_time: Option<Duration>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Backup {
    /// When backups are taken, e.g. `daily 02:00 UTC` or a cron expression.
    #[schemars(length(min = 1))]
    pub schedule: String,
    /// Where they are kept, off the Redis hosts, e.g. `s3://catalog-redis-backups/production`.
    #[schemars(length(min = 1))]
    pub destination: String,
    /// How many days backups are kept.
    #[schemars(range(min = 1, max = 3650))]
    pub retention_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Drill {
    pub last_performed: Date,
    /// What was checked, or a link to the drill's record.
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FailoverTest {
    pub last_performed: Date,
    /// The failover was triggered under production-like load.
    #[serde(default)]
    pub under_load: bool,
    /// The applications reconnected to the new primary by themselves, with their retry settings.
    #[serde(default)]
    pub clients_reconnected: bool,
}

/// What the Redis Readiness Review (`redisctl review`) needs and the rest of the contract
/// cannot say. Every field is prose or a link; a missing one is a blank in the review.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Readiness {
    /// How much the business suffers when this Redis is down.
    #[serde(default)]
    pub criticality: Option<Criticality>,
    /// Who owns the data, and where its source of truth is.
    #[serde(default)]
    pub data_ownership: Option<String>,
    /// How the data is rebuilt after a loss (e.g. `cache-aside from Postgres`), or why it cannot be.
    #[serde(default)]
    pub rebuild_strategy: Option<String>,
    /// What the application does while Redis is unavailable (fail open to the database, reject requests, ...).
    #[serde(default)]
    pub outage_behavior: Option<String>,
    /// How a bad change is rolled back (configuration and data).
    #[serde(default)]
    pub rollback: Option<String>,
    /// Recovery point objective: how much data loss is acceptable, e.g. `1 s` or `none needed (cache)`.
    /// The review shows it next to what the persistence settings deliver.
    #[serde(default)]
    pub rpo: Option<String>,
    /// Recovery time objective: how long Redis may be unavailable, e.g. `1 min`.
    #[serde(default)]
    pub rto: Option<String>,
    #[serde(default)]
    pub data_model: ReadinessDataModel,
    #[serde(default)]
    pub security: ReadinessSecurity,
    #[serde(default)]
    pub observability: Observability,
    /// Links to the incident runbooks.
    #[serde(default)]
    pub runbooks: Runbooks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

impl Criticality {
    pub fn as_str(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::Medium => "medium",
            Criticality::High => "high",
            Criticality::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReadinessDataModel {
    /// Which keys expire and how TTLs are chosen.
    #[serde(default)]
    pub ttl_policy: Option<String>,
    /// How value sizes and collection lengths are bounded and big keys found.
    #[serde(default)]
    pub large_key_controls: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReadinessSecurity {
    /// Who can reach the port (VPC, subnets, NetworkPolicy, security groups).
    #[serde(default)]
    pub network_boundary: Option<String>,
    /// How and how often passwords and certificates are rotated.
    #[serde(default)]
    pub secret_rotation: Option<String>,
    /// How tenants are kept apart (key prefixes, ACL key patterns, separate databases).
    #[serde(default)]
    pub tenant_isolation: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Observability {
    #[serde(default)]
    pub metrics: Option<String>,
    #[serde(default)]
    pub logs: Option<String>,
    #[serde(default)]
    pub alerts: Option<String>,
    #[serde(default)]
    pub dashboards: Option<String>,
    #[serde(default)]
    pub slow_command_tracking: Option<String>,
    /// How replica lag is watched and alerted on.
    #[serde(default)]
    pub replica_lag: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Runbooks {
    #[serde(default)]
    pub high_latency: Option<String>,
    #[serde(default)]
    pub memory_pressure: Option<String>,
    #[serde(default)]
    pub failover: Option<String>,
    #[serde(default)]
    pub connection_storm: Option<String>,
    #[serde(default)]
    pub data_inconsistency: Option<String>,
}

/// Readiness policy settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyConfig {
    /// Accepted risks: a waived rule's findings do not block `apply`, and every plan lists
    /// the waiver. Lists replace in overlays: an environment that sets `waivers` replaces
    /// the base file's list.
    #[serde(default)]
    pub waivers: Vec<Waiver>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Waiver {
    /// The policy rule, e.g. `RCTL113`.
    #[schemars(regex(pattern = r"^RCTL1[0-9]{2}$"), example = &"RCTL113")]
    pub rule: String,
    /// Why the risk is accepted. Required.
    #[schemars(length(min = 1))]
    pub reason: String,
    /// The last day the waiver applies; after it, the rule applies again.
    #[serde(default)]
    pub expires: Option<Date>,
}

/// Cross-environment parity settings (`redisctl parity`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ParityConfig {
    /// Locked settings allowed to differ between environments. Declare them in redisctl.yaml.
    #[serde(default)]
    pub exceptions: Vec<ParityException>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ParityException {
    /// The setting as `redisctl parity` names it, e.g. `redis.version`.
    #[schemars(example = &"redis.version", length(min = 1))]
    pub setting: String,
    /// Why the difference is acceptable. Required.
    #[schemars(length(min = 1))]
    pub reason: String,
}

/// PersistentVolumeClaims of the Redis pods (used when persistence is on, and always for
/// Cluster, whose node identity lives in nodes.conf).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Storage {
    /// Size of each node's volume. Default: twice maxmemory, at least 1Gi (room for an RDB
    /// snapshot or AOF rewrite next to the current files).
    #[serde(default)]
    pub size: Option<Quantity>,
    /// StorageClass of the claims. Default: the cluster's default class.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub class_name: Option<String>,
}

/// A redis_exporter sidecar next to each Redis container, with a port named `metrics`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Exporter {
    #[serde(default)]
    pub enabled: bool,
    /// ACL user the exporter authenticates as. Default: the user with `role: operator`.
    #[serde(default)]
    pub user: Option<String>,
}

/// The AWS side of a managed (`target: elasticache`) environment. What Redis does (version,
/// eviction, ACL users, topology) comes from the rest of the contract, like everywhere else.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AwsTarget {
    /// AWS region. Default: `AWS_REGION`, then the profile's region.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]$"), example = &"eu-west-1")]
    pub region: Option<String>,
    /// Replication group id; also the prefix of the parameter group, subnet group, users and user
    /// group redisctl creates. Default: `<service>-<env>`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"), length(max = 40))]
    pub replication_group_id: Option<String>,
    /// Node type, e.g. `cache.r7g.large` (one of the node types in `data/elasticache.toml`).
    /// It sets the memory of every node: maxmemory is derived from it and `reservedMemoryPercent`.
    #[serde(default)]
    #[schemars(example = &"cache.r7g.large")]
    pub node_type: Option<String>,
    /// `redis` (Redis OSS, up to 7.1 on ElastiCache) or `valkey` (Redis 7.2 compatible).
    #[serde(default)]
    pub engine: AwsEngine,
    /// Engine version, when several ElastiCache versions offer the contract's Redis version
    /// (e.g. `7.1` for Redis 7.0, `8.0` for Valkey). Default: the first one in the table.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+\.[0-9x]+$"))]
    pub engine_version: Option<String>,
    /// Subnets of the cache subnet group redisctl manages (`<id>-subnets`), in the VPC of the clients.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^subnet-[0-9a-f]{8,17}$")))]
    pub subnet_ids: Vec<String>,
    /// Security groups attached to the nodes.
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^sg-[0-9a-f]{8,17}$")))]
    pub security_group_ids: Vec<String>,
    /// Multi-AZ with automatic failover. Default: on when the topology has replicas.
    #[serde(default)]
    pub multi_az: Option<bool>,
    /// Encryption at rest. Default: on.
    #[serde(default = "yes")]
    pub encryption_at_rest: bool,
    /// Memory kept back from Redis for forks, buffers and replication (`reserved-memory-percent`).
    #[serde(default = "default_reserved_memory_percent")]
    #[schemars(range(min = 0, max = 100))]
    pub reserved_memory_percent: u8,
    /// Days ElastiCache keeps daily snapshots. Default: 7 with persistence, 0 (none) without.
    #[serde(default)]
    #[schemars(range(max = 35))]
    pub snapshot_retention_days: Option<u32>,
    /// Daily snapshot window (UTC), e.g. `03:00-04:00`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub snapshot_window: Option<String>,
    /// Weekly maintenance window (UTC), e.g. `sun:05:00-sun:06:00`.
    #[serde(default)]
    #[schemars(regex(
        pattern = r"^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$"
    ))]
    pub maintenance_window: Option<String>,
    /// Tags on every resource redisctl creates (redisctl adds `redisctl:service` and `redisctl:env`).
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    /// The replication group's AUTH token, for a contract without ACL users (RBAC users and a
    /// user group are used when `acl.users` is set). Needs `security.tls.enabled`.
    #[serde(default)]
    pub auth_token: Option<SecretRef>,
    /// During a password rotation of an ACL user: the password being replaced, by user name.
    /// ElastiCache replaces a user's password list, so both must be sent to keep both valid
    /// until `apply --finish-rotation`. Remove the entry once the rotation is finished.
    #[serde(default)]
    pub previous_passwords: IndexMap<String, SecretRef>,
    /// SNS topics the CloudWatch alarms of `observability` notify, by severity. Without a `page`
    /// topic the alarms exist but wake nobody (RCTL119).
    #[serde(default)]
    pub alarm_topics: AlarmTopics,
}

/// The state backend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StateBackend {
    /// `local`: `.redisctl-state.json` and an OS lock in the output directory (one machine).
    /// `s3`: an object in `bucket` and a lock object beside it, taken with conditional writes,
    /// for teams and CI runners applying the same environment.
    #[serde(default)]
    pub backend: StateBackendKind,
    /// S3 bucket (backend `s3`).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"))]
    pub bucket: Option<String>,
    /// Object key of the state; `{env}` is replaced by the environment's name (so one base
    /// contract can name it for all). Default: `redisctl/<service>/{env}/state.json`. The lock
    /// is `<key>.lock`.
    #[serde(default)]
    #[schemars(length(min = 1, max = 900), regex(pattern = r"^[A-Za-z0-9!_.*'()/{}-]+$"))]
    pub key: Option<String>,
    /// Region of the bucket. Default: `aws.region`, then `AWS_REGION`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]$"))]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StateBackendKind {
    #[default]
    Local,
    S3,
}

impl StateBackend {
    /// The state's object key for `env` (backend `s3`).
    pub fn key_for(&self, service: &str, env: &str) -> String {
        self.key.clone().unwrap_or_else(|| format!("redisctl/{service}/{{env}}/state.json")).replace("{env}", env)
    }
}

/// SNS topic ARNs by alert severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlarmTopics {
    /// Topics of page-worthy alarms (an on-call pager's integration).
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")))]
    pub page: Vec<String>,
    /// Topics of ticket alarms (work for office hours).
    #[serde(default)]
    #[schemars(inner(regex(pattern = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")))]
    pub ticket: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AwsEngine {
    #[default]
    Redis,
    Valkey,
}

impl AwsEngine {
    pub fn as_str(self) -> &'static str {
        match self {
            AwsEngine::Redis => "redis",
            AwsEngine::Valkey => "valkey",
        }
    }
}

fn yes() -> bool {
    true
}

fn default_reserved_memory_percent() -> u8 {
    25
}

#[cfg(test)]
mod tests {
    use super::TargetKind;

    #[test]
    fn target_kind_all_lists_the_schema_targets_in_order_with_their_names() {
        let schema = crate::contract::schema::schema();
        let listed: Vec<&str> = schema["$defs"]["Target"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["const"].as_str().unwrap())
            .collect();
        let all: Vec<&str> = TargetKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(all, listed);
        for k in TargetKind::ALL {
            let parsed: TargetKind = serde_json::from_value(serde_json::json!(k.as_str())).unwrap();
            assert_eq!(parsed, k, "`{}` is the name the contract spells it", k.as_str());
        }
    }
}
