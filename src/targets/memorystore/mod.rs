//! What a Google Cloud Memorystore environment is made of, derived from a contract: one
//! Memorystore for Redis instance, one Memorystore for Redis Cluster, or one Memorystore for
//! Valkey instance. Pure data, no Google calls: the renderer (`render.rs`) writes it as the REST
//! requests that would create it, the providers (behind the `memorystore` cargo feature:
//! `provider.rs` for Redis instances; `nodes.rs` for the node-based products, Redis Cluster in
//! `cluster.rs` and Valkey in `valkey.rs`; `diff.rs` what they plan alike) compare it with
//! what the project has.
//!
//! Memorystore knowledge (versions per product, the `redisConfigs` it accepts, memory and
//! replica limits, persistence modes, node types) lives in `data/memorystore.toml`.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

#[cfg(feature = "memorystore")]
pub mod cluster;
#[cfg(feature = "memorystore")]
mod diff;
#[cfg(feature = "memorystore")]
mod nodes;
#[cfg(feature = "memorystore")]
pub mod provider;
pub mod render;
#[cfg(feature = "memorystore")]
pub mod valkey;

use crate::model::memorystore::{GcpMaintenanceWindow, GcpProduct, SnapshotPeriod};
use crate::model::{Auth, Contract, PersistenceMode, TopologyMode, UserRole};
use crate::resolve::Deployment;

/// The rule id of every Memorystore restriction (validation, located).
pub const RULE: &str = "RCTL099";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionRow {
    pub product: String,
    /// The contract's `redis.version`.
    pub redis: String,
    /// The API's version value (`redisVersion` / `engineVersion`).
    pub api: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub memory_gb_min: u32,
    pub memory_gb_max: u32,
    pub read_replicas_memory_gb_min: u32,
    pub instance_replicas_max: u32,
    pub cluster_replicas_max: u32,
    pub valkey_replicas_max: u32,
    pub shards_max: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    pub version: Vec<VersionRow>,
    /// Directive → the first `redis.version` that may set it in `redisConfigs`.
    pub configs: BTreeMap<String, String>,
    pub limits: Limits,
    /// Product → the persistence modes it offers.
    pub persistence: HashMap<String, Vec<String>>,
    /// Product → node types.
    pub node_types: HashMap<String, Vec<String>>,
}

impl Catalog {
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            serde_json::from_str(crate::util::data_json!("memorystore.toml"))
                .expect("data/memorystore.toml is valid (unit test)")
        })
    }

    /// The API version value for the contract's Redis version on its product (the first row).
    pub fn version_for(&self, product: GcpProduct, redis: &str) -> Result<&VersionRow, String> {
        let rows = || self.version.iter().filter(|r| r.product == product.as_str());
        rows().find(|r| r.redis == redis).ok_or_else(|| {
            let offered: Vec<&str> = rows().map(|r| r.redis.as_str()).collect();
            format!("{} offers no Redis {redis}; Redis versions offered: {}", product.title(), offered.join(", "))
        })
    }
}

pub use super::Problem;

fn problem(pointer: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Problem {
    Problem::new(RULE, pointer, message, hint)
}

fn pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Replicas of the primary (instance, cluster mode disabled) or of each shard (cluster).
fn replicas(c: &Contract) -> u32 {
    match c.topology.mode {
        TopologyMode::Standalone => 0,
        TopologyMode::Cluster => c.topology.replicas_per_shard,
        TopologyMode::Replication | TopologyMode::Sentinel => c.topology.replicas,
    }
}

/// Everything in a `target: memorystore` contract that Memorystore cannot do.
pub fn problems(c: &Contract) -> Vec<Problem> {
    let cat = Catalog::get();
    let g = &c.gcp;
    let product = g.product;
    let mut out = Vec::new();
    if g.project.is_none() {
        out.push(problem(
            "/target",
            "target `memorystore` needs `gcp.project`",
            "e.g. `gcp: { project: shop-prod-4711 }`",
        ));
    }
    match (&g.region, &g.zone) {
        (None, _) => out.push(problem(
            "/target",
            "target `memorystore` needs `gcp.region`",
            "e.g. `gcp: { region: europe-west1 }`",
        )),
        (Some(region), Some(zone)) if !zone.starts_with(&format!("{region}-")) => out.push(problem(
            "/gcp/zone",
            format!("zone `{zone}` is not in region `{region}`"),
            format!("a zone of {region}, e.g. `{region}-b`"),
        )),
        _ => {}
    }
    if let Err(e) = cat.version_for(product, c.redis.version.as_str()) {
        out.push(problem(
            "/redis/version",
            e,
            "Memorystore offers no Redis 7.4 or 8.x; Valkey implements the Redis 7.2 command set",
        ));
    }
    match (product, c.topology.mode) {
        (GcpProduct::RedisInstance, TopologyMode::Cluster) => out.push(problem(
            "/topology/mode",
            "a Memorystore for Redis instance does not run Redis Cluster",
            "use `gcp.product: redis-cluster` (or `valkey`) for topology `cluster`",
        )),
        (GcpProduct::RedisCluster, m) if m != TopologyMode::Cluster => out.push(problem(
            "/gcp/product",
            "Memorystore for Redis Cluster needs `topology.mode: cluster`",
            "use `gcp.product: redis-instance` (standalone → BASIC, replication → STANDARD_HA) or `valkey`",
        )),
        _ => {}
    }
    let limits = &cat.limits;
    let n = replicas(c);
    match product {
        GcpProduct::RedisInstance => {
            match g.memory_size_gb {
                None => out.push(problem(
                    "/target",
                    "a Memorystore for Redis instance needs `gcp.memorySizeGb`",
                    "e.g. `gcp: { memorySizeGb: 5 }`; Memorystore derives maxmemory from it",
                )),
                Some(m) if m < limits.memory_gb_min || m > limits.memory_gb_max => out.push(problem(
                    "/gcp/memorySizeGb",
                    format!("{m} GB is outside {}-{} GB", limits.memory_gb_min, limits.memory_gb_max),
                    "choose a size in that range",
                )),
                Some(m) if n > 1 && m < limits.read_replicas_memory_gb_min => out.push(problem(
                    "/gcp/memorySizeGb",
                    format!(
                        "{n} replicas are read replicas, which need at least {} GB",
                        limits.read_replicas_memory_gb_min
                    ),
                    "use 1 replica (no read replicas) or a bigger instance",
                )),
                Some(_) => {}
            }
            let ha = matches!(c.topology.mode, TopologyMode::Replication | TopologyMode::Sentinel);
            if ha && (n == 0 || n > limits.instance_replicas_max) {
                out.push(problem(
                    "/topology/replicas",
                    format!("a STANDARD_HA instance has 1 to {} replicas, not {n}", limits.instance_replicas_max),
                    "standalone (no replica) is the BASIC tier",
                ));
            }
            if g.node_type.is_some() {
                out.push(Problem {
                    key: true,
                    ..problem(
                        "/gcp/nodeType",
                        "a Memorystore for Redis instance has no node type: its size is `gcp.memorySizeGb`",
                        "remove `gcp.nodeType`",
                    )
                });
            }
            if g.alternative_zone.is_some() && c.topology.mode == TopologyMode::Standalone {
                out.push(Problem {
                    key: true,
                    ..problem(
                        "/gcp/alternativeZone",
                        "a BASIC instance (standalone) has no replica, so no alternative zone",
                        "remove it, or use topology `replication` (STANDARD_HA)",
                    )
                });
            }
        }
        GcpProduct::RedisCluster | GcpProduct::Valkey => {
            let max = if product == GcpProduct::RedisCluster {
                limits.cluster_replicas_max
            } else {
                limits.valkey_replicas_max
            };
            if n > max {
                out.push(problem(
                    "/topology",
                    format!("{} allows at most {max} replicas per shard", product.title()),
                    "use fewer replicas",
                ));
            }
            if c.topology.mode == TopologyMode::Cluster && c.topology.shards > limits.shards_max {
                out.push(problem(
                    "/topology/shards",
                    format!("Memorystore allows at most {} shards", limits.shards_max),
                    "use fewer shards",
                ));
            }
            let types = cat.node_types.get(product.as_str()).map(Vec::as_slice).unwrap_or_default();
            match &g.node_type {
                None => out.push(problem(
                    "/target",
                    format!("{} needs `gcp.nodeType`", product.title()),
                    format!("one of: {}", types.join(", ")),
                )),
                Some(t) if !types.contains(t) => {
                    let hint = match crate::util::suggest::did_you_mean(t, types.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`? (node types: data/memorystore.toml)"),
                        None => format!("one of: {}", types.join(", ")),
                    };
                    out.push(problem("/gcp/nodeType", format!("unknown {} node type `{t}`", product.title()), hint));
                }
                Some(_) => {}
            }
            if g.memory_size_gb.is_some() {
                out.push(Problem {
                    key: true,
                    ..problem(
                        "/gcp/memorySizeGb",
                        format!(
                            "{} is sized by `gcp.nodeType` and the shard count, not `memorySizeGb`",
                            product.title()
                        ),
                        "remove `gcp.memorySizeGb`",
                    )
                });
            }
            if g.network.is_none() {
                out.push(problem(
                    "/target",
                    format!(
                        "{} needs `gcp.network` (its Private Service Connect endpoints live there)",
                        product.title()
                    ),
                    "e.g. `gcp: { network: projects/shop-prod-4711/global/networks/default }`",
                ));
            }
        }
    }
    if c.resources.maxmemory.is_some() {
        out.push(Problem {
            key: true,
            ..problem(
                "/resources/maxmemory",
                "Memorystore derives maxmemory from the instance size; it cannot be set",
                "remove it for this environment (`resources: { maxmemory: null }` in the overlay) and choose the size",
            )
        });
    }
    if c.resources.memory_limit.is_some() {
        out.push(Problem {
            key: true,
            ..problem(
                "/resources/memoryLimit",
                "Memorystore has no container memory limit",
                "remove it for this environment (`resources: { memoryLimit: null }`)",
            )
        });
    }
    let mode = c.redis.persistence.mode;
    let offered = cat.persistence.get(product.as_str()).map(Vec::as_slice).unwrap_or_default();
    if !offered.iter().any(|m| m == mode.as_str()) {
        out.push(problem(
            "/redis/persistence/mode",
            format!("{} offers no `{}` persistence", product.title(), mode.as_str()),
            format!("one of: {}", offered.join(", ")),
        ));
    }
    if g.snapshot_period.is_some() && !mode.rdb() {
        out.push(Problem {
            key: true,
            ..problem(
                "/gcp/snapshotPeriod",
                "`gcp.snapshotPeriod` needs `redis.persistence.mode: rdb`",
                "remove it, or turn RDB persistence on",
            )
        });
    }
    if !c.redis.modules.is_empty() {
        out.push(problem(
            "/redis/modules",
            format!("Memorystore does not load modules ({})", c.redis.modules.join(", ")),
            "use a self-managed target for modules",
        ));
    }
    for name in c.redis.config.keys() {
        let lower = name.to_ascii_lowercase();
        let pointer = format!("/redis/config/{}", pointer_segment(name));
        match cat.configs.get(&lower) {
            None => out.push(Problem {
                key: true,
                ..problem(
                    pointer,
                    format!("`{name}` cannot be set on Memorystore: it is not one of the configurable `redisConfigs`"),
                    format!(
                        "configurable: {} (data/memorystore.toml)",
                        cat.configs.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            }),
            Some(since)
                if crate::model::RedisVersion::ALL
                    .iter()
                    .find(|v| v.as_str() == since)
                    .is_some_and(|v| c.redis.version.pair() < v.pair()) =>
            {
                out.push(Problem {
                    key: true,
                    ..problem(
                        pointer,
                        format!(
                            "`{name}` is configurable on Memorystore from Redis {since}, not {}",
                            c.redis.version.as_str()
                        ),
                        "remove it, or use a newer `redis.version`",
                    )
                })
            }
            Some(_) => {}
        }
    }
    let tls = &c.security.tls;
    for (field, set) in [("certFile", &tls.cert_file), ("keyFile", &tls.key_file), ("caFile", &tls.ca_file)] {
        if set.is_some() {
            out.push(Problem { key: true, ..problem(
                format!("/security/tls/{field}"),
                "Memorystore's in-transit encryption is server authentication with Google's CA: no own certificates",
                "remove it; `connect` names the server CA clients verify against",
            )});
        }
    }
    for (i, u) in c.acl.users.iter().enumerate() {
        if matches!(u.role, UserRole::Application | UserRole::Operator) {
            out.push(problem(
                format!("/acl/users/{i}"),
                format!(
                    "{} has no ACL users (user `{}`): clients use the AUTH string Google generates",
                    product.title(),
                    u.name
                ),
                "remove `acl.users` for this environment and set `gcp.authString` (where clients find the AUTH string)",
            ));
        }
    }
    if c.security.auth == Auth::Optional && g.auth_string.is_some() {
        out.push(Problem {
            key: true,
            ..problem(
                "/gcp/authString",
                "`gcp.authString` names the AUTH string, but `security.auth` is `optional` (AUTH off)",
                "set `security.auth: required` or remove `gcp.authString`",
            )
        });
    }
    out
}

/// Everything one Memorystore environment consists of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub product: GcpProduct,
    pub project: String,
    pub region: String,
    /// Instance or cluster id.
    pub id: String,
    pub display_name: String,
    /// `BASIC` or `STANDARD_HA` (Redis instances).
    pub tier: Option<&'static str>,
    /// The API's version value (`REDIS_7_0`, `VALKEY_7_2`).
    pub version: String,
    pub memory_size_gb: Option<u32>,
    pub node_type: Option<String>,
    pub cluster_mode: bool,
    pub shards: u32,
    pub replicas: u32,
    /// Redis instances with more than one replica serve reads from them (`READ_REPLICAS_ENABLED`).
    pub read_replicas: bool,
    pub zone: Option<String>,
    pub alternative_zone: Option<String>,
    pub network: Option<String>,
    pub connect_mode: &'static str,
    pub tls: bool,
    pub auth: bool,
    pub redis_configs: BTreeMap<String, String>,
    pub persistence: PersistenceMode,
    /// AOF fsync (Redis Cluster, Valkey).
    pub fsync: crate::model::Fsync,
    pub snapshot_period: SnapshotPeriod,
    pub maintenance: Option<GcpMaintenanceWindow>,
    pub labels: BTreeMap<String, String>,
}

/// Google resource ids and label values: lower case letters, digits and single hyphens.
fn gcp_id(s: &str) -> String {
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
        let g = &c.gcp;
        let row = Catalog::get().version_for(g.product, c.redis.version.as_str())?;
        let cluster_mode = c.topology.mode == TopologyMode::Cluster;
        let replicas = replicas(c);
        let tier = (g.product == GcpProduct::RedisInstance).then_some(if c.topology.mode == TopologyMode::Standalone {
            "BASIC"
        } else {
            "STANDARD_HA"
        });
        let mut redis_configs = BTreeMap::new();
        redis_configs.insert("maxmemory-policy".to_string(), d.settings.maxmemory_policy.to_string());
        redis_configs.extend(d.settings.config_values());
        let mut labels: BTreeMap<String, String> = g.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        labels.insert("redisctl-service".into(), gcp_id(&c.service));
        labels.insert("redisctl-env".into(), gcp_id(&d.env));
        let id = g.instance_id.clone().unwrap_or_else(|| gcp_id(&format!("{}-{}", c.service, d.env)));
        Ok(Desired {
            product: g.product,
            project: g.project.clone().ok_or("target `memorystore` needs `gcp.project`")?,
            region: g.region.clone().ok_or("target `memorystore` needs `gcp.region`")?,
            display_name: format!("{} {} (managed by redisctl)", c.service, d.env),
            tier,
            version: row.api.clone(),
            memory_size_gb: g.memory_size_gb,
            node_type: g.node_type.clone(),
            cluster_mode,
            shards: if cluster_mode { c.topology.shards.max(1) } else { 1 },
            replicas,
            read_replicas: g.product == GcpProduct::RedisInstance && replicas > 1,
            zone: g.zone.clone(),
            alternative_zone: g.alternative_zone.clone(),
            network: g.network.clone(),
            connect_mode: g.connect_mode.api(),
            tls: c.security.tls.enabled,
            auth: c.security.auth == Auth::Required,
            redis_configs,
            persistence: c.redis.persistence.mode,
            fsync: c.redis.persistence.fsync,
            snapshot_period: g.snapshot_period.unwrap_or(SnapshotPeriod::TwentyFourHours),
            maintenance: g.maintenance_window.clone(),
            labels,
            id,
        })
    }

    /// `projects/<project>/locations/<region>`.
    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.region)
    }

    /// The collection the resource lives in (`instances` or `clusters`).
    pub fn collection(&self) -> &'static str {
        match self.product {
            GcpProduct::RedisCluster => "clusters",
            GcpProduct::RedisInstance | GcpProduct::Valkey => "instances",
        }
    }

    /// The full resource name, e.g. `projects/p/locations/r/instances/id`.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.parent(), self.collection(), self.id)
    }

    /// The API host of the product.
    pub fn host(&self) -> &'static str {
        match self.product {
            GcpProduct::RedisInstance | GcpProduct::RedisCluster => "redis.googleapis.com",
            GcpProduct::Valkey => "memorystore.googleapis.com",
        }
    }
}

/// `target: memorystore`: Google Cloud Memorystore through its API.
pub struct Memorystore;

impl super::Target for Memorystore {
    fn kind(&self) -> crate::model::TargetKind {
        crate::model::TargetKind::Memorystore
    }

    /// What Memorystore cannot do, at the offending key or value (RCTL099).
    fn check(&self, c: &Contract, index: &crate::contract::merge::SpanIndex) -> Vec<crate::diagnostics::Diagnostic> {
        super::located(problems(c), index)
    }

    /// A Memorystore for Redis instance (BASIC or STANDARD_HA), or a Memorystore for Redis Cluster
    /// for topology `cluster`. Neither has ACL users or the `timeout`/`tcp-keepalive` directives:
    /// the application logs in with the AUTH string everywhere, and the overlay drops the users
    /// redisctl and the servers of other environments log in as.
    fn scaffold(&self, s: &super::ScaffoldInput) -> Result<super::Scaffold, String> {
        let cluster = s.mode == TopologyMode::Cluster;
        let product = if cluster { GcpProduct::RedisCluster } else { GcpProduct::RedisInstance };
        let cat = Catalog::get();
        cat.version_for(product, s.version.as_str())?;
        let offered = cat.persistence.get(product.as_str()).map(Vec::as_slice).unwrap_or_default();
        if !offered.iter().any(|m| m == s.persistence.as_str()) {
            return Err(format!(
                "{} offers no `{}` persistence (only {}), which this workload needs: scaffold another topology \
                 (Memorystore for Redis Cluster offers AOF) or workload",
                product.title(),
                s.persistence.as_str(),
                offered.join(", ")
            ));
        }
        let sizing = if cluster {
            "  product: redis-cluster\n  nodeType: REDIS_STANDARD_SMALL\n".to_string()
        } else {
            // More than one replica serves reads, which needs at least 5 GB.
            let alternative =
                if s.mode == TopologyMode::Standalone { "" } else { "  alternativeZone: europe-west1-c\n" };
            format!("  zone: europe-west1-b\n{alternative}  memorySizeGb: 5\n")
        };
        let settings = format!(
            "{zones}productionLike: true\nsecurity:\n  tls: {{ enabled: true }}\n\
             # Memorystore sizes the memory, and clients authenticate with the AUTH string Google generates.\n\
             resources:\n  maxmemory: null\nacl:\n  users: []\n\
             gcp:\n  project: {service}-prod   # TODO: your project id\n  region: europe-west1   # TODO\n{sizing}  \
             network: projects/{service}-prod/global/networks/default   # TODO: your VPC\n  \
             authString: {{ fromEnv: {stem}_AUTH_STRING }}\n\
             policy:\n  waivers:\n    - rule: RCTL112\n      \
             reason: Memorystore has no ACL users; every client authenticates with the AUTH string, on a private network.\n",
            zones = s.zones(),
            service = s.service,
            stem = s.variable_stem(),
        );
        Ok(super::Scaffold { settings, replicas: None, application_user: false, idle_directives: false })
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
        super::managed_scope(env, scope, self.kind(), || Ok(vec![boxed_provider(env, false)?]))
    }

    fn destroy_providers(
        &self,
        env: &super::Opened,
        _purge_data: bool,
    ) -> Option<Result<Vec<Box<dyn crate::plan::Provider>>, crate::error::Error>> {
        Some(boxed_provider(env, true).map(|p| vec![p]))
    }

    /// The endpoint clients start from (a cluster's discovery endpoint) and the reader endpoint
    /// where there is one, TLS with the server CA Google issued (from the resource or
    /// `GetCertificateAuthority`, written next to the output), and where the AUTH string is.
    fn managed_endpoints(
        &self,
        env: &super::Opened,
        config: &mut crate::connect::ClientConfig,
    ) -> Result<(), crate::error::Error> {
        #[cfg(not(feature = "memorystore"))]
        {
            let _ = (env, config);
            Err(no_sdk())
        }
        #[cfg(feature = "memorystore")]
        {
            let want = Desired::from_deployment(env.deployment).map_err(crate::error::Error::msg)?;
            config.sentinel = None;
            config.username = None;
            config.password_ref = env.deployment.contract.gcp.auth_string.clone();
            // Clients of a cluster start from the discovery endpoint and follow the slot map.
            config.mode = if want.cluster_mode { "cluster" } else { "managed-single-endpoint" };
            let e = match want.product {
                GcpProduct::RedisCluster => cluster::ClusterProvider::new(want, false)?.endpoints()?,
                GcpProduct::Valkey => valkey::ValkeyProvider::new(want, false)?.endpoints()?,
                GcpProduct::RedisInstance => provider::MemorystoreProvider::new(want, false)?.endpoints()?,
            };
            config.endpoints = vec![e.primary];
            config.reader_endpoint = e.reader;
            if let Some(pem) = e.server_ca {
                let path = env.output_dir.join(render::SERVER_CA_FILE);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|err| crate::error::Error::io(format!("cannot create {}", dir.display()), err))?;
                }
                // A public certificate: readable by the clients that verify with it.
                crate::util::fs::write_atomic(&path, pem.as_bytes(), 0o644)?;
                // Absolute: clients read it from wherever they run.
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                config.tls.ca_file = Some(path.display().to_string());
            }
            Ok(())
        }
    }
}

/// The Memorystore provider of the environment (planning its deletion when `destroying`).
#[cfg(feature = "memorystore")]
fn boxed_provider(
    env: &super::Opened,
    destroying: bool,
) -> Result<Box<dyn crate::plan::Provider>, crate::error::Error> {
    let want = Desired::from_deployment(env.deployment).map_err(crate::error::Error::msg)?;
    Ok(match want.product {
        GcpProduct::RedisCluster => Box::new(cluster::ClusterProvider::new(want, destroying)?),
        GcpProduct::Valkey => Box::new(valkey::ValkeyProvider::new(want, destroying)?),
        GcpProduct::RedisInstance => Box::new(provider::MemorystoreProvider::new(want, destroying)?),
    })
}

#[cfg(not(feature = "memorystore"))]
fn boxed_provider(_: &super::Opened, _: bool) -> Result<Box<dyn crate::plan::Provider>, crate::error::Error> {
    Err(no_sdk())
}

#[cfg(not(feature = "memorystore"))]
fn no_sdk() -> crate::error::Error {
    crate::error::Error::msg("this redisctl was built without the `memorystore` feature; rebuild with default features")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_loads_and_is_consistent() {
        let cat = Catalog::get();
        for row in &cat.version {
            assert!(["redis-instance", "redis-cluster", "valkey"].contains(&row.product.as_str()), "{row:?}");
            assert!(crate::model::RedisVersion::ALL.iter().any(|v| v.as_str() == row.redis), "{row:?}");
        }
        for (name, since) in &cat.configs {
            assert_eq!(name, &name.to_ascii_lowercase());
            assert!(crate::model::RedisVersion::ALL.iter().any(|v| v.as_str() == since), "{name}");
        }
        for product in [GcpProduct::RedisInstance, GcpProduct::RedisCluster, GcpProduct::Valkey] {
            assert!(cat.persistence.contains_key(product.as_str()));
            assert!(cat.version_for(product, "7.2").is_ok());
        }
        assert!(cat.version_for(GcpProduct::RedisInstance, "8.0").unwrap_err().contains("6.2, 7.0, 7.2"));
    }

    #[test]
    fn ids_are_google_shaped() {
        assert_eq!(gcp_id("Catalog_prod--App"), "catalog-prod-app");
    }
}
