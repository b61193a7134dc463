//! `redisctl import --elasticache ID`: the contract of a running ElastiCache replication group,
//! from DescribeReplicationGroups, DescribeCacheClusters (engine version, parameter group,
//! maintenance window, security groups) and DescribeCacheParameters (what a custom parameter
//! group changes). As for the self-hosted import, the contract says what the ElastiCache
//! provider compares, so that the first plan against the same group shows no changes; the AUTH
//! token (never readable from the API) and user passwords become references to fill in.

use aws_sdk_elasticache::Client;

use super::import::Imported;
use crate::error::Error;
use crate::targets::elasticache::Catalog;

pub struct Request {
    pub env: String,
    pub service: String,
    pub group_id: String,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// The operator gave the AUTH token in use (`--auth-token-env`): adopted, not rotated.
    pub token_given: bool,
}

fn sdk<E: std::fmt::Display>(call: &str, e: E) -> Error {
    Error::msg(format!("{call}: {e}"))
}

/// A YAML scalar, escaped by construction (JSON strings are YAML double-quoted scalars).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// `HH:MM-HH:MM` with two-digit hours and minutes, as the contract's schema wants it.
fn canonical_window(w: &str) -> bool {
    let b = w.as_bytes();
    b.len() == 11
        && b[5] == b'-'
        && [0usize, 6]
            .iter()
            .all(|&i| b[i..i + 5].iter().enumerate().all(|(j, c)| if j == 2 { *c == b':' } else { c.is_ascii_digit() }))
}

pub fn import(req: &Request) -> Result<Imported, Error> {
    // The one AWS configuration of redisctl (credential chain, region, endpoint, retries).
    let rt = crate::providers::aws::runtime()?;
    let client =
        Client::new(&crate::providers::aws::sdk_config(&rt, req.region.as_deref(), req.endpoint_url.as_deref())?);
    rt.block_on(describe(&client, req))
}

async fn describe(c: &Client, req: &Request) -> Result<Imported, Error> {
    let out = c
        .describe_replication_groups()
        .replication_group_id(&req.group_id)
        .send()
        .await
        .map_err(|e| sdk("DescribeReplicationGroups", aws_sdk_elasticache::error::DisplayErrorContext(e)))?;
    let mut decisions = Vec::new();
    let g = out
        .replication_groups()
        .first()
        .ok_or_else(|| Error::msg(format!("no replication group `{}`", req.group_id)))?;
    let cat = Catalog::get();
    let cluster_mode = g.cluster_enabled().unwrap_or(false);
    let shards = g.node_groups().len().max(1) as u32;
    let members = g.member_clusters().len() as u32;
    let replicas = (members / shards).saturating_sub(1);
    let node_type = g.cache_node_type().unwrap_or_default().to_string();
    if !cat.node_types.contains_key(&node_type) {
        return Err(Error::msg(format!("node type `{node_type}` is not in data/elasticache.toml")));
    }
    let engine = g.engine().unwrap_or("redis").to_string();
    let multi_az = g.multi_az().is_some_and(|s| s.as_str() == "enabled");
    let tls = g.transit_encryption_enabled().unwrap_or(false);
    let at_rest = g.at_rest_encryption_enabled().unwrap_or(false);
    let retention = g.snapshot_retention_limit().unwrap_or(0).max(0);
    let window = g.snapshot_window().map(String::from).filter(|w| {
        let ok = canonical_window(w);
        if !ok {
            decisions.push(format!(
                "snapshot window `{w}` is not in the HH:MM-HH:MM form: not imported (set `aws.snapshotWindow`)"
            ));
        }
        ok
    });
    let auth_token = g.auth_token_enabled().unwrap_or(false);
    if !g.user_group_ids().is_empty() {
        decisions.push(format!(
            "user groups {} (RBAC) are not imported: declare the users in `acl.users` (their passwords are references)",
            g.user_group_ids().join(", ")
        ));
    }

    // The first member's settings; moto does not serve members, whose settings then stay unknown.
    let mut engine_version = None;
    let mut parameter_group = None;
    let mut maintenance = None;
    let mut security_groups = Vec::new();
    if let Some(first) = g.member_clusters().first() {
        match c.describe_cache_clusters().cache_cluster_id(first).send().await {
            Ok(out) => {
                if let Some(m) = out.cache_clusters().first() {
                    engine_version = m.engine_version().map(String::from);
                    parameter_group =
                        m.cache_parameter_group().and_then(|p| p.cache_parameter_group_name()).map(String::from);
                    maintenance = m.preferred_maintenance_window().map(String::from);
                    security_groups =
                        m.security_groups().iter().filter_map(|s| s.security_group_id().map(String::from)).collect();
                }
            }
            Err(_) => decisions.push(format!(
                "member {first} could not be described (DescribeCacheClusters): its engine version, parameter group \
                 and security groups are unknown; they are recorded as adopted as the contract states them (the \
                 default group, no security group), so the plan does not change them: check them in the console"
            )),
        }
    }
    // The contract's Redis version: the catalog row of this engine and engine version (the
    // first row of the engine when the version is unknown).
    let rows: Vec<_> = cat.version.iter().filter(|r| r.engine == engine).collect();
    let row = engine_version
        .as_deref()
        .and_then(|v| rows.iter().find(|r| v.starts_with(&r.engine_version)))
        .or_else(|| rows.first())
        .ok_or_else(|| Error::msg(format!("engine `{engine}` is not in data/elasticache.toml")))?;
    if engine_version.is_none() {
        decisions.push(format!("engine version unknown: Redis {} assumed (review `redis.version`)", row.redis));
    }

    // Settings: the default group gives the catalog's defaults; a custom one what it changes.
    let mut policy = cat.defaults.get("maxmemory-policy").cloned().unwrap_or_else(|| "volatile-lru".into());
    let mut config: Vec<(String, String)> = Vec::new();
    let mut reserved = None;
    match parameter_group.as_deref() {
        Some(name) if !name.starts_with("default.") => {
            match c.describe_cache_parameters().cache_parameter_group_name(name).source("user").send().await {
                Ok(out) => {
                    for p in out.parameters() {
                        let (Some(k), Some(v)) = (p.parameter_name(), p.parameter_value()) else { continue };
                        match k {
                            "maxmemory-policy" => policy = v.to_string(),
                            "reserved-memory-percent" => reserved = Some(v.to_string()),
                            "cluster-enabled" => {}
                            _ => config.push((k.to_string(), v.to_string())),
                        }
                    }
                }
                Err(e) => decisions.push(format!(
                    "parameter group `{name}` could not be read (DescribeCacheParameters: {}): its settings are not \
                     imported",
                    aws_sdk_elasticache::error::DisplayErrorContext(e)
                )),
            }
            decisions.push(format!(
                "parameter group `{name}` is replaced by redisctl's own (`{}-params`) at the first apply",
                req.group_id
            ));
        }
        Some(_) => {}
        None => decisions.push("the parameter group is unknown: the default group is assumed".into()),
    }
    let workload = if policy.starts_with("allkeys-") { "cache" } else { "session" };
    decisions.insert(
        0,
        format!("workload `{workload}`: suggested from eviction `{policy}` (review; the data is not sampled)"),
    );
    if auth_token {
        let var = format!("{}_AUTH_TOKEN", req.service.to_ascii_uppercase().replace('-', "_"));
        decisions.push(if req.token_given {
            format!(
                "the AUTH token you gave is recorded as the one in use (as a salted digest): set {var} to it for \
                 plan and apply; a different value is planned as a rotation"
            )
        } else {
            format!(
                "fill in the AUTH token: set {var}. The API never returns it and none was given (--auth-token-env), \
                 so the plan shows `elasticache:auth-token/{}` as a rotation to the token {var} gives: give the \
                 token in use to import to adopt it instead",
                req.group_id
            )
        });
    }

    let mut base = String::new();
    base.push_str("# yaml-language-server: $schema=schemas/redisctl.schema.json\n");
    base.push_str(&format!(
        "# Imported by `redisctl import` from ElastiCache replication group {} ({engine} {}).\n",
        req.group_id,
        engine_version.as_deref().unwrap_or("version unknown")
    ));
    base.push_str("# Lines marked `review:` are suggestions; references are for you to fill in.\n");
    base.push_str("apiVersion: redisctl/v1\n");
    base.push_str(&format!("service: {}\n", q(&req.service)));
    base.push_str("redis:\n");
    base.push_str(&format!("  version: {}\n", q(&row.redis)));
    base.push_str(&format!("  workload: {workload}  # review: suggested from eviction `{policy}`\n"));
    base.push_str(&format!("  maxmemoryPolicy: {}\n", q(&policy)));
    if !config.is_empty() {
        base.push_str("  config:  # what the parameter group changes\n");
        for (k, v) in &config {
            base.push_str(&format!("    {}: {}\n", q(k), q(v)));
        }
    }
    if cluster_mode {
        base.push_str("keyspace:\n  clusterSafe: true  # review: it runs in cluster mode today\n");
    }

    let mut o = String::new();
    o.push_str("# yaml-language-server: $schema=../schemas/redisctl.overlay.schema.json\n");
    o.push_str("target: elasticache\n");
    let mode = match (cluster_mode, replicas) {
        (true, _) => format!("{{ mode: cluster, shards: {shards}, replicasPerShard: {replicas} }}"),
        (false, 0) => "{ mode: standalone }".to_string(),
        (false, r) => format!("{{ mode: replication, replicas: {r} }}"),
    };
    o.push_str(&format!("topology: {mode}\n"));
    o.push_str(&format!("security: {{ tls: {{ enabled: {tls} }} }}\n"));
    o.push_str("aws:\n");
    if let Some(r) = &req.region {
        o.push_str(&format!("  region: {}\n", q(r)));
    }
    o.push_str(&format!("  replicationGroupId: {}\n", q(&req.group_id)));
    o.push_str(&format!("  nodeType: {}\n", q(&node_type)));
    o.push_str(&format!("  engine: {}\n", q(&engine)));
    if engine_version.is_some() {
        o.push_str(&format!("  engineVersion: {}\n", q(&row.engine_version)));
    }
    o.push_str(&format!("  multiAz: {multi_az}\n"));
    o.push_str(&format!("  encryptionAtRest: {at_rest}\n"));
    o.push_str(&format!("  snapshotRetentionDays: {retention}\n"));
    if let Some(w) = &window {
        o.push_str(&format!("  snapshotWindow: {}\n", q(w)));
    }
    if let Some(w) = &maintenance {
        o.push_str(&format!("  maintenanceWindow: {}\n", q(w)));
    }
    if !security_groups.is_empty() {
        let list: Vec<String> = security_groups.iter().map(|s| q(s)).collect();
        o.push_str(&format!("  securityGroupIds: [{}]\n", list.join(", ")));
    }
    if let Some(r) = &reserved {
        o.push_str(&format!("  reservedMemoryPercent: {r}\n"));
    }
    if auth_token {
        let var = format!("{}_AUTH_TOKEN", req.service.to_ascii_uppercase().replace('-', "_"));
        o.push_str(&format!("  authToken: {{ fromEnv: {var} }}  # fill in: the group's AUTH token\n"));
    }
    decisions.push(format!("then `redisctl plan --env {}` against the same group shows no changes", req.env));
    let summary = format!(
        "ElastiCache replication group {}: {} × (primary + {replicas} replica(s)) of {node_type}, {engine} {}",
        req.group_id,
        shards,
        engine_version.as_deref().unwrap_or("(version unknown)")
    );
    Ok(Imported { base, overlay: o, decisions, summary, hashes: Default::default() })
}
