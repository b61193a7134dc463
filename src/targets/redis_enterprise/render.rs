//! The operator's custom resources, built as data (serde_json) and serialized to YAML: the
//! `RedisEnterpriseCluster` (unless another team runs it), the `RedisEnterpriseDatabase`, and a
//! README with the Secrets to create and the cluster's users and ACLs the database binds.
//! No Secret is rendered and no secret value is read: resources name Secrets, the README names
//! the contract's references.

use serde_json::{json, Map, Value};

use super::{memory_size, service_host, Catalog, DEFAULT_NODE_CPU, DEFAULT_NODE_MEMORY};
use crate::model::enterprise::{shape, ActiveActive};
use crate::model::{Auth, RedisVersion, TopologyMode, UserRole};
use crate::render::{generated_header, yaml_artifact, Artifact};
use crate::resolve::{Deployment, User};

pub const CLUSTER_FILE: &str = "redisenterprisecluster.yaml";
pub const DATABASE_FILE: &str = "redisenterprisedatabase.yaml";
pub const ACTIVE_ACTIVE_FILE: &str = "redisenterpriseactiveactivedatabase.yaml";
const API_GROUP: &str = "app.redislabs.com";

/// Where failure domains come from when the contract names them and no label.
const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

fn object(d: &Deployment, version: &str, kind: &str, name: &str) -> Value {
    let c = &d.contract;
    json!({
        "apiVersion": format!("{API_GROUP}/{version}"),
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": c.redis_enterprise.namespace(c),
            "labels": {
                "app.kubernetes.io/instance": c.service,
                "app.kubernetes.io/managed-by": "redisctl",
                "redisctl.io/environment": d.env,
            },
        },
    })
}

/// `memorySize` as Redis Enterprise writes it (`2GB`, `512MB`; binary units).
pub fn memory_text(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 30) {
        format!("{}GB", bytes >> 30)
    } else {
        format!("{}MB", bytes.div_ceil(1 << 20))
    }
}

fn rack_label(d: &Deployment) -> Option<String> {
    let c = &d.contract;
    c.redis_enterprise
        .cluster
        .rack_awareness_node_label
        .clone()
        .or_else(|| (!c.topology.failure_domains.is_empty()).then(|| ZONE_LABEL.to_string()))
}

/// The users a database binds to roles and ACLs of the cluster: the ones that log in.
/// Replication and Sentinel users have no use: the cluster replicates and fails over itself.
pub fn bound_users(d: &Deployment) -> impl Iterator<Item = &User> {
    d.users.iter().filter(|u| matches!(u.spec.role, UserRole::Application | UserRole::Operator))
}

/// Every Secret the rendered resources name (sorted, once each); none is rendered.
pub fn referenced_secrets(d: &Deployment) -> Vec<String> {
    let c = &d.contract;
    let re = &c.redis_enterprise;
    let mut names: Vec<String> = Vec::new();
    if re.cluster.manage {
        let cl = &re.cluster;
        names.extend(
            [&cl.license_secret_name, &cl.proxy_certificate_secret_name, &cl.api_certificate_secret_name]
                .into_iter()
                .flatten()
                .cloned(),
        );
    }
    names.extend(re.database.backup.as_ref().map(|b| b.secret_name.clone()));
    if let Some(aa) = &re.active_active {
        names.extend(aa.participating_clusters.iter().map(|p| p.secret()));
        // The operator does not create an Active-Active database's password Secret.
        if c.security.auth == Auth::Optional {
            names.push(database_secret(d));
        }
    }
    names.sort();
    names.dedup();
    names
}

fn cluster(d: &Deployment) -> Value {
    let c = &d.contract;
    let cl = &c.redis_enterprise.cluster;
    let mut rec = object(d, "v1", "RedisEnterpriseCluster", &c.redis_enterprise.cluster_name(c));
    let cpu = cl.cpu.clone().unwrap_or_else(|| DEFAULT_NODE_CPU.into());
    let memory = cl.memory.as_ref().map_or_else(|| DEFAULT_NODE_MEMORY.to_string(), |q| q.text.clone());
    let resources = json!({ "cpu": cpu, "memory": memory });
    let mut persistent = json!({ "enabled": true });
    if let Some(class) = &cl.storage.class_name {
        persistent["storageClassName"] = json!(class);
    }
    if let Some(size) = &cl.storage.size {
        persistent["volumeSize"] = json!(size.text);
    }
    let mut spec = json!({
        "nodes": cl.nodes,
        "redisEnterpriseNodeResources": { "requests": resources, "limits": resources },
        "persistentSpec": persistent,
    });
    if let Some(label) = rack_label(d) {
        spec["rackAwarenessNodeLabel"] = json!(label);
    }
    if let Some(name) = &cl.license_secret_name {
        spec["licenseSecretName"] = json!(name);
    }
    let mut certificates = Map::new();
    if let Some(name) = &cl.proxy_certificate_secret_name {
        certificates.insert("proxyCertificateSecretName".into(), json!(name));
    }
    if let Some(name) = &cl.api_certificate_secret_name {
        certificates.insert("apiCertificateSecretName".into(), json!(name));
    }
    if !certificates.is_empty() {
        spec["certificates"] = Value::Object(certificates);
    }
    // The other regions reach this cluster's API and databases through the local participant's names.
    let aa = c.redis_enterprise.active_active.as_ref();
    if let Some((aa, local)) = aa.and_then(|aa| Some((aa, aa.participating_clusters.iter().find(|p| p.local)?))) {
        spec["ingressOrRouteSpec"] = json!({
            "apiFqdnUrl": local.api_fqdn_url,
            "dbFqdnSuffix": local.db_fqdn_suffix,
            "method": aa.method.as_str(),
        });
    }
    rec["spec"] = spec;
    rec
}

fn database_secret(d: &Deployment) -> String {
    let c = &d.contract;
    let re = &c.redis_enterprise;
    re.database.secret_name.clone().unwrap_or_else(|| format!("{}-password", re.database_name(c)))
}

/// The database's settings: the `RedisEnterpriseDatabase`'s spec, or an Active-Active
/// database's `globalConfigurations` (the same fields).
fn database_spec(d: &Deployment) -> Result<Value, String> {
    let c = &d.contract;
    let re = &c.redis_enterprise;
    let cat = Catalog::get();
    let (shards, replication) = shape(c);
    let memory = memory_size(c).ok_or("target `redis-enterprise` needs `resources.maxmemory` (RCTL097)")?;
    let persistence = cat.persistence(c).map_err(|(_, message, _)| format!("{message} (RCTL097)"))?;
    let auth_optional = c.security.auth == Auth::Optional;
    let mut spec = json!({
        "type": "redis",
        "redisVersion": c.redis.version.as_str(),
        "memorySize": memory_text(memory),
        "shardCount": shards,
        "replication": replication,
        "ossCluster": c.topology.mode == TopologyMode::Cluster,
        "persistence": persistence,
        "evictionPolicy": c.redis.maxmemory_policy.as_str(),
        "tlsMode": if c.security.tls.enabled { "enabled" } else { "disabled" },
        "databaseServicePort": c.ports.redis,
        // `security.auth: required` disables the default user: every client is an ACL user.
        "defaultUser": auth_optional,
    });
    if auth_optional {
        spec["databaseSecretName"] = json!(database_secret(d));
    }
    if let Some(port) = re.database.port {
        spec["databasePort"] = json!(port);
    }
    let roles: Vec<Value> = bound_users(d)
        .map(|u| json!({ "type": "redis-enterprise", "role": u.spec.name, "acl": u.spec.name }))
        .collect();
    if !roles.is_empty() {
        spec["rolesPermissions"] = json!(roles);
    }
    // From Redis 8 on the modules are part of Redis: the operator enables them itself.
    let bundled = RedisVersion::ALL.iter().find(|v| v.as_str() == cat.bundled_modules_since);
    if !c.redis.modules.is_empty() && bundled.is_none_or(|b| c.redis.version < *b) {
        let modules: Result<Vec<Value>, String> = c
            .redis
            .modules
            .iter()
            .map(|m| {
                let row = cat.modules.get(m).ok_or(format!("Redis Enterprise offers no module `{m}` (RCTL097)"))?;
                Ok(json!({ "name": row.name }))
            })
            .collect();
        spec["modulesList"] = json!(modules?);
    }
    if rack_label(d).is_some() && replication {
        spec["rackAware"] = json!(true);
    }
    if let Some(p) = re.database.shards_placement {
        spec["shardsPlacement"] = json!(p.as_str());
    }
    if let Some(b) = &re.database.backup {
        let mut s3 = json!({ "bucketName": b.bucket, "awsSecretName": b.secret_name });
        if let Some(dir) = &b.subdir {
            s3["subdir"] = json!(dir);
        }
        spec["backup"] = json!({ "interval": b.interval.0 / 1000, "s3": s3 });
    }
    Ok(spec)
}

fn database(d: &Deployment) -> Result<Value, String> {
    let c = &d.contract;
    let re = &c.redis_enterprise;
    let mut db = object(d, "v1alpha1", "RedisEnterpriseDatabase", &re.database_name(c));
    let mut spec = json!({ "redisEnterpriseCluster": { "name": re.cluster_name(c) } });
    if let (Some(all), Value::Object(own)) = (spec.as_object_mut(), database_spec(d)?) {
        all.extend(own);
    }
    db["spec"] = spec;
    Ok(db)
}

/// One `RedisEnterpriseRemoteCluster` per participating cluster.
fn remote_clusters(d: &Deployment, aa: &ActiveActive) -> Vec<Value> {
    aa.participating_clusters
        .iter()
        .map(|p| {
            let mut rerc = object(d, "v1alpha1", "RedisEnterpriseRemoteCluster", &p.name);
            rerc["spec"] = json!({
                "recName": p.rec_name,
                "recNamespace": p.rec_namespace,
                "apiFqdnUrl": p.api_fqdn_url,
                "dbFqdnSuffix": p.db_fqdn_suffix,
                "secretName": p.secret(),
            });
            if let Some(port) = p.api_port {
                rerc["spec"]["apiPort"] = json!(port);
            }
            rerc
        })
        .collect()
}

/// The `RedisEnterpriseActiveActiveDatabase`: the database's settings for every region.
fn active_active(d: &Deployment, aa: &ActiveActive) -> Result<Value, String> {
    let c = &d.contract;
    let re = &c.redis_enterprise;
    let mut db = object(d, "v1alpha1", "RedisEnterpriseActiveActiveDatabase", &re.database_name(c));
    let mut global = database_spec(d)?;
    // Sharding of an Active-Active database is its own switch (a plain database's is the count).
    global["shardingEnabled"] = json!(shape(c).0 > 1);
    db["spec"] = json!({
        "redisEnterpriseCluster": { "name": re.cluster_name(c) },
        "participatingClusters": aa.participating_clusters.iter().map(|p| json!({ "name": p.name })).collect::<Vec<_>>(),
        "globalConfigurations": global,
    });
    Ok(db)
}

pub fn render(d: &Deployment) -> Result<Vec<Artifact>, String> {
    if let Some(p) = super::problems(&d.contract).into_iter().next() {
        return Err(format!("{} ({}; RCTL097)", p.message, p.hint));
    }
    let mut out = Vec::new();
    if d.contract.redis_enterprise.cluster.manage {
        out.push(yaml_artifact(d, CLUSTER_FILE, &[cluster(d)])?);
    }
    match &d.contract.redis_enterprise.active_active {
        None => out.push(yaml_artifact(d, DATABASE_FILE, &[database(d)?])?),
        Some(aa) => {
            for rerc in remote_clusters(d, aa) {
                let name = rerc["metadata"]["name"].as_str().unwrap_or_default().to_string();
                out.push(yaml_artifact(d, &format!("redisenterpriseremotecluster-{name}.yaml"), &[rerc])?);
            }
            out.push(yaml_artifact(d, ACTIVE_ACTIVE_FILE, &[active_active(d, aa)?])?);
        }
    }
    out.push(Artifact { path: "README.md".into(), content: readme(d), mode: 0o644 });
    Ok(out)
}

fn readme(d: &Deployment) -> String {
    let c = &d.contract;
    let re = &c.redis_enterprise;
    let ns = re.namespace(c);
    let mut s = format!(
        "<!-- {} -->\n# {} ({}) on Redis Enterprise\n\n\
         The Redis Enterprise operator must run in the namespace `{ns}` (or watch it). \
         `redisctl apply --env {} --exec` applies the resources server-side, the cluster before the database.\n",
        generated_header(d).trim_start_matches("# "),
        c.service,
        d.env,
        d.env,
    );
    if !re.cluster.manage {
        s.push_str(&format!("\nThe cluster `{}` is not rendered here: it must exist in `{ns}`.\n", re.cluster_name(c)));
    }
    let secrets = referenced_secrets(d);
    if !secrets.is_empty() {
        s.push_str(&format!("\n## Secrets\n\nNo Secret is rendered. These must exist in `{ns}` first:\n\n"));
        for name in &secrets {
            s.push_str(&format!("- `{name}`\n"));
        }
    }
    let users: Vec<&User> = bound_users(d).collect();
    if !users.is_empty() {
        s.push_str(
            "\n## Users\n\nThe database binds each ACL user of the contract to a role and a Redis ACL of the \
             same name (`rolesPermissions`). The operator does not create users, roles or ACLs: create them \
             in the cluster (REST API `/v1/redis_acls`, `/v1/roles`, `/v1/users`, or the Cluster Manager):\n\n\
             | user and role | Redis ACL rule | password |\n|---|---|---|\n",
        );
        for u in &users {
            s.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                u.spec.name,
                // `|` would end the table cell (`+cluster|slots`).
                crate::resolve::user_rules(d, u).join(" ").replace('|', "\\|"),
                u.spec.password.describe()
            ));
        }
    }
    let skipped: Vec<&str> = d
        .users
        .iter()
        .filter(|u| !users.iter().any(|b| b.spec.name == u.spec.name))
        .map(|u| u.spec.name.as_str())
        .collect();
    if !skipped.is_empty() {
        s.push_str(&format!(
            "\nThe cluster replicates and fails over by itself: no user for {}.\n",
            skipped.join(", ")
        ));
    }
    if let Some(aa) = &re.active_active {
        let cat = Catalog::get();
        s.push_str(
            "\n## Active-Active\n\nEvery region writes; concurrent writes are merged, there is no global order. \
             The application relies on:\n\n| key prefix | on concurrent writes |\n|---|---|\n",
        );
        for cf in &aa.conflicts {
            let means = cat.active_active.semantics.get(cf.semantics.as_str()).map(String::as_str).unwrap_or_default();
            s.push_str(&format!("| `{}` | {}: {means} |\n", cf.prefix, cf.semantics.as_str()));
        }
        let regions: Vec<String> =
            aa.participating_clusters.iter().map(|p| format!("`{}` ({})", p.name, p.api_fqdn_url)).collect();
        s.push_str(&format!(
            "\nParticipating clusters: {}. The Active-Active database is created here and the operator creates \
             its instance in every region; apply the `redisenterpriseremotecluster-*.yaml` files in every \
             participating Kubernetes cluster too (each with its credentials Secret).\n",
            regions.join(", ")
        ));
    }
    s.push_str(&format!(
        "\n## Clients\n\nEndpoint: `{}:{}` (the database's Service){}; TLS {}.\n",
        service_host(c),
        c.ports.redis,
        if c.topology.mode == TopologyMode::Cluster {
            ", the OSS Cluster API: clients discover the shards from it"
        } else {
            ", one proxy endpoint whatever the shards"
        },
        if c.security.tls.enabled { "required, with the proxy's certificate" } else { "off" },
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_written_in_binary_units() {
        assert_eq!(memory_text(2 << 30), "2GB");
        assert_eq!(memory_text(512 << 20), "512MB");
        assert_eq!(memory_text((1 << 30) + 1), "1025MB");
    }
}
