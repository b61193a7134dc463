//! The `redisEnterprise` block of the contract: what `target: redis-enterprise` needs beyond
//! the rest of the contract (the Redis Enterprise cluster the operator runs, and the database's
//! own settings). Redis semantics (version, eviction, persistence, modules, users) come from the
//! rest of the contract, like on every target; `targets/redis_enterprise` renders them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Contract, Operated, TopologyMode};
use crate::units::{format_duration, Duration, Quantity};

/// The Redis Enterprise operator's custom resources: a `RedisEnterpriseCluster` and one
/// `RedisEnterpriseDatabase` for the service.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisEnterpriseTarget {
    /// Namespace of the cluster and database (the operator must watch it). Default: the service name.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub namespace: Option<String>,
    #[serde(default)]
    pub cluster: EnterpriseCluster,
    #[serde(default)]
    pub database: EnterpriseDatabase,
    /// Make the database an Active-Active (geo-distributed) database: one instance per
    /// participating cluster, every one writable, concurrent writes merged (CRDT).
    #[serde(default)]
    pub active_active: Option<ActiveActive>,
}

/// An Active-Active database: a `RedisEnterpriseActiveActiveDatabase` over the participating
/// clusters (a `RedisEnterpriseRemoteCluster` each, this environment's own among them).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ActiveActive {
    /// Every region's cluster, this environment's own marked `local: true`.
    #[schemars(length(min = 1))]
    pub participating_clusters: Vec<Participant>,
    /// How the other regions reach this cluster's API and databases (the cluster's
    /// `ingressOrRouteSpec.method`).
    #[serde(default)]
    pub method: IngressMethod,
    /// What the application relies on when two regions write the same key at once, per key
    /// prefix (the longest matching prefix applies). Every prefix the application writes
    /// (`keyspace.prefix`, the application users' key patterns) needs one.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Participant {
    /// Name of the `RedisEnterpriseRemoteCluster` resource.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub name: String,
    /// The `RedisEnterpriseCluster` it points to, and its namespace (in its own Kubernetes cluster).
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"))]
    pub rec_name: String,
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub rec_namespace: String,
    /// Host name of the cluster's API, as the other regions reach it, e.g. `api-rec-eu.example.com`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9.-]{1,253}$"))]
    pub api_fqdn_url: String,
    /// Suffix of the database host names, e.g. `-db-rec-eu.example.com`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9.-]{1,253}$"))]
    pub db_fqdn_suffix: String,
    #[serde(default)]
    #[schemars(range(min = 1, max = 65535))]
    pub api_port: Option<u32>,
    /// Existing Secret with the cluster's API credentials (`username`, `password`; never
    /// rendered). Default: `redis-enterprise-<name>`, the name the operator requires.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub secret_name: Option<String>,
    /// This environment's own cluster (exactly one).
    #[serde(default)]
    pub local: bool,
}

impl Participant {
    pub fn secret(&self) -> String {
        self.secret_name.clone().unwrap_or_else(|| format!("redis-enterprise-{}", self.name))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum IngressMethod {
    #[default]
    #[serde(rename = "ingress")]
    Ingress,
    #[serde(rename = "openShiftRoute")]
    OpenShiftRoute,
    #[serde(rename = "istio")]
    Istio,
}

impl IngressMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            IngressMethod::Ingress => "ingress",
            IngressMethod::OpenShiftRoute => "openShiftRoute",
            IngressMethod::Istio => "istio",
        }
    }
}

/// The conflict semantics one key prefix relies on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Conflict {
    /// Key prefix, e.g. `orders:count:`.
    #[schemars(length(min = 1), example = &"orders:count:")]
    pub prefix: String,
    pub semantics: ConflictSemantics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictSemantics {
    /// Counters (INCRBY, HINCRBY): concurrent increments add up.
    Counter,
    /// Strings: the write with the later timestamp wins, the other is lost.
    LastWriterWins,
    /// Sets, hashes, sorted sets: a concurrent add and remove of one element keeps it.
    AddWins,
}

impl ConflictSemantics {
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictSemantics::Counter => "counter",
            ConflictSemantics::LastWriterWins => "last-writer-wins",
            ConflictSemantics::AddWins => "add-wins",
        }
    }
}

/// The `RedisEnterpriseCluster`: the Redis Enterprise nodes (pods) the database's shards run on.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnterpriseCluster {
    /// Name of the cluster resource. Default: `<service>-rec`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"))]
    pub name: Option<String>,
    /// Render the cluster (`true`), or place the database on an existing cluster of that name
    /// that another team runs (`false`: the cluster settings below are then not used).
    #[serde(default = "yes")]
    pub manage: bool,
    /// Redis Enterprise nodes (pods): an odd number, at least 3, so that a majority survives.
    #[serde(default = "three")]
    #[schemars(range(min = 1, max = 99))]
    pub nodes: u32,
    /// CPU of each node (requests and limits: the operator wants guaranteed QoS). Default: `2`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?m?$"), example = &"2")]
    pub cpu: Option<String>,
    /// Memory of each node, as a Kubernetes quantity. Default: `4Gi`. The database's memory
    /// limit (every shard, replicas included) must fit in the nodes together.
    #[serde(default)]
    pub memory: Option<Quantity>,
    /// Each node's PersistentVolumeClaim (always on: the nodes keep their configuration and
    /// persistence files there).
    #[serde(default)]
    pub storage: EnterpriseStorage,
    /// Node label holding the rack or zone: the cluster keeps a shard and its replica in
    /// different racks. Default: `topology.kubernetes.io/zone` when `topology.failureDomains` is set.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z0-9./_-]{1,253}$"))]
    pub rack_awareness_node_label: Option<String>,
    /// Existing Secret holding the licence under the key `license` (never rendered). Without
    /// it the cluster runs on the trial licence.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub license_secret_name: Option<String>,
    /// Existing Secret (keys `tls.crt`, `tls.key`) with the certificate the database proxy
    /// serves to TLS clients. Default: the cluster's self-signed certificate.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub proxy_certificate_secret_name: Option<String>,
    /// Existing Secret with the certificate of the cluster's REST API.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub api_certificate_secret_name: Option<String>,
}

impl Default for EnterpriseCluster {
    fn default() -> Self {
        EnterpriseCluster {
            name: None,
            manage: true,
            nodes: 3,
            cpu: None,
            memory: None,
            storage: EnterpriseStorage::default(),
            rack_awareness_node_label: None,
            license_secret_name: None,
            proxy_certificate_secret_name: None,
            api_certificate_secret_name: None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnterpriseStorage {
    /// Size of each node's volume. Default: the operator's (five times the node's memory).
    #[serde(default)]
    pub size: Option<Quantity>,
    /// StorageClass of the claims. Default: the cluster's default class.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub class_name: Option<String>,
}

/// The `RedisEnterpriseDatabase`'s own settings (the rest comes from the contract).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnterpriseDatabase {
    /// Name of the database resource, and of the Service clients connect to. Default: the service name.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    pub name: Option<String>,
    /// The database's port inside the cluster (`databasePort`). Fixed when the database is
    /// created: changing it recreates the database. Default: the cluster chooses one. Clients
    /// connect to the database Service at `ports.redis` whatever it is.
    #[serde(default)]
    #[schemars(range(min = 10000, max = 19999))]
    pub port: Option<u32>,
    /// With `security.auth: optional`: the Secret holding the default user's password (key
    /// `password`; the operator creates it with a random password when it is missing).
    /// Default: `<database>-password`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub secret_name: Option<String>,
    /// `sparse` spreads the shards over as many nodes as possible, `dense` packs them.
    #[serde(default)]
    pub shards_placement: Option<ShardsPlacement>,
    /// Periodic backups the operator's cluster takes.
    #[serde(default)]
    pub backup: Option<EnterpriseBackup>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShardsPlacement {
    Dense,
    Sparse,
}

impl ShardsPlacement {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardsPlacement::Dense => "dense",
            ShardsPlacement::Sparse => "sparse",
        }
    }
}

/// Backups to S3: the database's `spec.backup`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnterpriseBackup {
    /// How often: one of the intervals Redis Enterprise offers (`data/redis-enterprise.toml`), e.g. `24h`.
    #[schemars(example = &"24h")]
    pub interval: Duration,
    /// S3 bucket.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"))]
    pub bucket: String,
    /// Folder in the bucket.
    #[serde(default)]
    pub subdir: Option<String>,
    /// Existing Secret with the keys `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (never rendered).
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"))]
    pub secret_name: String,
}

fn yes() -> bool {
    true
}

fn three() -> u32 {
    3
}

impl RedisEnterpriseTarget {
    pub fn cluster_name(&self, c: &Contract) -> String {
        self.cluster.name.clone().unwrap_or_else(|| format!("{}-rec", c.service))
    }

    pub fn database_name(&self, c: &Contract) -> String {
        self.database.name.clone().unwrap_or_else(|| c.service.clone())
    }

    pub fn namespace(&self, c: &Contract) -> String {
        self.namespace.clone().unwrap_or_else(|| c.service.clone())
    }
}

/// (shards, replication) of the database: one shard unless the topology is a cluster; a
/// replica shard per primary when the topology has replicas (Redis Enterprise keeps one).
pub fn shape(c: &Contract) -> (u32, bool) {
    let t = &c.topology;
    match t.mode {
        TopologyMode::Cluster => (t.shards.max(1), t.replicas_per_shard > 0),
        TopologyMode::Standalone => (1, false),
        TopologyMode::Replication | TopologyMode::Sentinel => (1, t.replicas > 0),
    }
}

/// What the review says of a Redis Enterprise deployment: the operator runs failover and backups.
pub const OPERATED: Operated = Operated {
    topology: |c| {
        let re = &c.redis_enterprise;
        let (shards, replication) = shape(c);
        let api = if c.topology.mode == TopologyMode::Cluster { ", OSS Cluster API" } else { ", one proxy endpoint" };
        let regions = re.active_active.as_ref().map_or(String::new(), |aa| {
            format!(", Active-Active over {} participating clusters", aa.participating_clusters.len())
        });
        format!(
            "Redis Enterprise cluster `{}` ({}): database `{}` with {shards} shard(s) × (primary{}){api}{regions}",
            re.cluster_name(c),
            if re.cluster.manage { format!("{} nodes", re.cluster.nodes) } else { "managed elsewhere".into() },
            re.database_name(c),
            if replication { " + 1 replica" } else { ", no replica" },
        )
    },
    failover: |c| {
        if shape(c).1 {
            "the Redis Enterprise operator's: the cluster promotes a shard's replica and the proxy keeps the \
             endpoint; connections drop and must reconnect"
                .into()
        } else {
            "the Redis Enterprise operator's: without replication a failed shard is restarted on another node, \
             with the data its persistence kept"
                .into()
        }
    },
    backups: |c| {
        let b = c.redis_enterprise.database.backup.as_ref()?;
        let dir = b.subdir.as_deref().map(|d| format!("/{d}")).unwrap_or_default();
        Some(format!(
            "the Redis Enterprise operator's: every {} to s3://{}{dir} (credentials in Secret `{}`)",
            format_duration(b.interval.0),
            b.bucket,
            b.secret_name
        ))
    },
};
