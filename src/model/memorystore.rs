//! The `gcp` block of the contract: what `target: memorystore` needs beyond the rest of the
//! contract (project, region, product, network, maintenance, labels). Redis semantics
//! (version, eviction, persistence mode, topology, TLS, auth) come from the rest of the
//! contract, like on every target; `targets/memorystore` maps them onto the product.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Contract, Operated, PersistenceMode, TopologyMode};

/// Google Cloud Memorystore: a Memorystore for Redis instance, a Memorystore for Redis Cluster
/// or a Memorystore for Valkey instance.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GcpTarget {
    /// Google Cloud project id. Default: `GOOGLE_CLOUD_PROJECT`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"), example = &"shop-prod-4711")]
    pub project: Option<String>,
    /// Region, e.g. `europe-west1`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z]+-[a-z]+[0-9]+$"), example = &"europe-west1")]
    pub region: Option<String>,
    /// Zone of the primary (`locationId`), in the region. Default: Google chooses.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z]+-[a-z]+[0-9]+-[a-z]$"), example = &"europe-west1-b")]
    pub zone: Option<String>,
    /// Zone of the replica (`alternativeLocationId`, `STANDARD_HA` only). Default: Google chooses.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z]+-[a-z]+[0-9]+-[a-z]$"))]
    pub alternative_zone: Option<String>,
    /// Which Memorystore product. `redis-instance`: Memorystore for Redis (standalone → tier
    /// `BASIC`, replication/sentinel → `STANDARD_HA`); `redis-cluster`: Memorystore for Redis
    /// Cluster (topology `cluster`); `valkey`: Memorystore for Valkey.
    #[serde(default)]
    pub product: GcpProduct,
    /// Instance (or cluster) id. Default: `<service>-<env>`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$"))]
    pub instance_id: Option<String>,
    /// Memory of a Redis instance in GB (`memorySizeGb`); Memorystore derives maxmemory from it.
    #[serde(default)]
    #[schemars(range(min = 1, max = 300))]
    pub memory_size_gb: Option<u32>,
    /// Node type of a Redis Cluster or Valkey instance, e.g. `REDIS_HIGHMEM_MEDIUM` / `HIGHMEM_MEDIUM`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Z0-9_]+$"))]
    pub node_type: Option<String>,
    /// VPC network the clients are in: `projects/<project>/global/networks/<network>`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^projects/[a-z][a-z0-9-]*/global/networks/[a-z][a-z0-9-]*$"))]
    pub network: Option<String>,
    /// How the instance joins the network (Redis instances).
    #[serde(default)]
    pub connect_mode: GcpConnectMode,
    /// Weekly maintenance window (UTC, one hour).
    #[serde(default)]
    pub maintenance_window: Option<GcpMaintenanceWindow>,
    /// How often RDB snapshots are taken when `redis.persistence.mode` is `rdb`.
    #[serde(default)]
    pub snapshot_period: Option<SnapshotPeriod>,
    /// Where clients find the AUTH string Google generates when `security.auth` is `required`
    /// (e.g. an environment variable filled from `gcloud redis instances get-auth-string`):
    /// `connect` names it. redisctl never reads, sends or stores the AUTH string.
    #[serde(default)]
    pub auth_string: Option<super::SecretRef>,
    /// Labels on the instance (redisctl adds `redisctl-service` and `redisctl-env`).
    #[serde(default)]
    pub labels: IndexMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GcpProduct {
    #[default]
    RedisInstance,
    RedisCluster,
    Valkey,
}

impl GcpProduct {
    pub fn as_str(self) -> &'static str {
        match self {
            GcpProduct::RedisInstance => "redis-instance",
            GcpProduct::RedisCluster => "redis-cluster",
            GcpProduct::Valkey => "valkey",
        }
    }

    /// The product's name in Google's documentation.
    pub fn title(self) -> &'static str {
        match self {
            GcpProduct::RedisInstance => "Memorystore for Redis",
            GcpProduct::RedisCluster => "Memorystore for Redis Cluster",
            GcpProduct::Valkey => "Memorystore for Valkey",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GcpConnectMode {
    /// VPC peering (`DIRECT_PEERING`).
    #[default]
    DirectPeering,
    /// Private services access (`PRIVATE_SERVICE_ACCESS`), needed for shared VPCs.
    PrivateServiceAccess,
}

impl GcpConnectMode {
    pub fn api(self) -> &'static str {
        match self {
            GcpConnectMode::DirectPeering => "DIRECT_PEERING",
            GcpConnectMode::PrivateServiceAccess => "PRIVATE_SERVICE_ACCESS",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GcpMaintenanceWindow {
    pub day: Weekday,
    /// Start hour (UTC).
    #[schemars(range(max = 23))]
    pub hour: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    pub fn api(self) -> &'static str {
        match self {
            Weekday::Monday => "MONDAY",
            Weekday::Tuesday => "TUESDAY",
            Weekday::Wednesday => "WEDNESDAY",
            Weekday::Thursday => "THURSDAY",
            Weekday::Friday => "FRIDAY",
            Weekday::Saturday => "SATURDAY",
            Weekday::Sunday => "SUNDAY",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SnapshotPeriod {
    #[serde(rename = "1h")]
    OneHour,
    #[serde(rename = "6h")]
    SixHours,
    #[serde(rename = "12h")]
    TwelveHours,
    #[serde(rename = "24h")]
    TwentyFourHours,
}

impl SnapshotPeriod {
    pub fn api(self) -> &'static str {
        match self {
            SnapshotPeriod::OneHour => "ONE_HOUR",
            SnapshotPeriod::SixHours => "SIX_HOURS",
            SnapshotPeriod::TwelveHours => "TWELVE_HOURS",
            SnapshotPeriod::TwentyFourHours => "TWENTY_FOUR_HOURS",
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            SnapshotPeriod::OneHour => "every hour",
            SnapshotPeriod::SixHours => "every 6 hours",
            SnapshotPeriod::TwelveHours => "every 12 hours",
            SnapshotPeriod::TwentyFourHours => "every 24 hours",
        }
    }
}

/// Replicas per shard (or of the one primary) as Memorystore runs them.
fn replicas(c: &Contract) -> u32 {
    match c.topology.mode {
        TopologyMode::Standalone => 0,
        TopologyMode::Cluster => c.topology.replicas_per_shard,
        TopologyMode::Replication | TopologyMode::Sentinel => c.topology.replicas,
    }
}

/// What the readiness review says of Memorystore's topology, failover and backups: Google runs
/// them, as the product and the contract configure them.
pub const OPERATED: Operated = Operated {
    topology: |c| {
        let g = &c.gcp;
        let region = g.region.as_deref().unwrap_or("(region not set)");
        match (g.product, c.topology.mode) {
            (GcpProduct::RedisInstance, TopologyMode::Standalone) => {
                format!("{} BASIC tier in {region}: one node, no replica", g.product.title())
            }
            (GcpProduct::RedisInstance, _) => {
                format!(
                    "{} STANDARD_HA tier in {region}: primary + {} replica(s) in other zones",
                    g.product.title(),
                    replicas(c)
                )
            }
            (p, TopologyMode::Cluster) => format!(
                "{} in {region}: {} shard(s) × (primary + {} replica(s)) of {}, discovery endpoint",
                p.title(),
                c.topology.shards,
                replicas(c),
                g.node_type.as_deref().unwrap_or("(node type not set)")
            ),
            (p, _) => format!("{} in {region}: primary + {} replica(s), cluster mode disabled", p.title(), replicas(c)),
        }
    },
    failover: |c| {
        if replicas(c) == 0 {
            "Google's: a BASIC instance has no replica; a failed node is replaced and its data is lost (a full flush)"
                .into()
        } else {
            "Google's: automatic failover to a replica in another zone, the endpoint stays; connections drop and must \
             reconnect"
                .into()
        }
    },
    backups: |c| match c.redis.persistence.mode {
        PersistenceMode::None => None,
        PersistenceMode::Rdb => Some(format!(
            "Google's RDB snapshots {} (persistenceConfig); export to Cloud Storage for copies outside the instance",
            c.gcp.snapshot_period.unwrap_or(SnapshotPeriod::TwentyFourHours).words()
        )),
        m => Some(format!("Google's {} persistence (persistenceConfig)", m.as_str())),
    },
};

/// The weekly maintenance window for the review.
pub fn maintenance_window(c: &Contract) -> Option<String> {
    let w = c.gcp.maintenance_window.as_ref()?;
    Some(format!("{} {:02}:00-{:02}:00 UTC (Memorystore)", w.day.api().to_lowercase(), w.hour, (w.hour + 1) % 24))
}
