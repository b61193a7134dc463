//! `target: elasticache`: the environment as the AWS API requests that would create it from
//! nothing, in dependency order (subnet group → parameter group → users → user group →
//! replication group → the CloudWatch alarms of `observability`). Reviewed in pull requests like any other rendered artifact; passwords
//! appear only as their references.

use serde_json::{json, Value};

use super::Desired;
use crate::render::{yaml_artifact, Artifact};
use crate::resolve::Deployment;

pub const REQUESTS_FILE: &str = "elasticache/requests.yaml";

/// How a secret reference is shown in place of a value.
pub fn secret_placeholder(r: &crate::model::SecretRef) -> String {
    format!("(sensitive: {})", r.describe())
}

pub fn render(d: &Deployment) -> Result<Vec<Artifact>, String> {
    let want = Desired::from_deployment(d)?;
    let mut notes = vec![format!(
        "maxmemory per node: {} ({} less {}% reserved memory)",
        crate::units::format_size(want.maxmemory),
        want.node_type,
        d.contract.aws.reserved_memory_percent
    )];
    if !want.parameter_group.managed {
        notes.push(format!(
            "no custom parameter group: every parameter the contract sets has its default value in {}",
            want.parameter_group.name
        ));
    }
    let skipped: Vec<&str> = d
        .users
        .iter()
        .filter(|u| !want.users.iter().any(|w| w.user_name == u.spec.name))
        .map(|u| u.spec.name.as_str())
        .collect();
    if !skipped.is_empty() {
        notes.push(format!("ElastiCache manages replication and failover itself: no user for {}", skipped.join(", ")));
    }
    let alarms = super::alarms::desired(&d.contract, &want);
    for (what, why) in &alarms.unwatched {
        notes.push(format!("no CloudWatch alarm for `{what}`: {why}"));
    }
    let mut all = requests(&want);
    all.extend(alarms.alarms.iter().map(|a| json!({ "operation": "PutMetricAlarm", "input": a.input() })));
    let doc = json!({
        "environment": d.env,
        "region": want.region.clone().map_or(Value::from("(AWS_REGION)"), Value::from),
        "notes": notes,
        "requests": all,
    });
    Ok(vec![yaml_artifact(d, REQUESTS_FILE, &[doc])?])
}

fn tags(want: &Desired) -> Value {
    want.tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect()
}

/// The create requests, as `{ operation, input }` with the API's own field names.
pub fn requests(want: &Desired) -> Vec<Value> {
    let mut out = Vec::new();
    let mut call = |operation: &str, input: Value| out.push(json!({ "operation": operation, "input": input }));
    if let Some((name, subnets)) = &want.subnet_group {
        call(
            "CreateCacheSubnetGroup",
            json!({
                "CacheSubnetGroupName": name,
                "CacheSubnetGroupDescription": want.description,
                "SubnetIds": subnets,
                "Tags": tags(want),
            }),
        );
    }
    let pg = &want.parameter_group;
    if pg.managed {
        call(
            "CreateCacheParameterGroup",
            json!({
                "CacheParameterGroupName": pg.name,
                "CacheParameterGroupFamily": pg.family,
                "Description": want.description,
                "Tags": tags(want),
            }),
        );
        call(
            "ModifyCacheParameterGroup",
            json!({
                "CacheParameterGroupName": pg.name,
                "ParameterNameValues": pg.parameters.iter()
                    .map(|(k, v)| json!({ "ParameterName": k, "ParameterValue": v }))
                    .collect::<Vec<_>>(),
            }),
        );
    }
    for u in &want.users {
        let auth = match &u.password {
            Some(r) => json!({ "Type": "password", "Passwords": [secret_placeholder(r)] }),
            None => json!({ "Type": "no-password-required" }),
        };
        call(
            "CreateUser",
            json!({
                "UserId": u.user_id,
                "UserName": u.user_name,
                "Engine": want.engine.as_str(),
                "AccessString": u.access_string,
                "AuthenticationMode": auth,
                "Tags": tags(want),
            }),
        );
    }
    if let Some(group) = &want.user_group {
        call(
            "CreateUserGroup",
            json!({
                "UserGroupId": group,
                "Engine": want.engine.as_str(),
                "UserIds": want.users.iter().map(|u| u.user_id.as_str()).collect::<Vec<_>>(),
                "Tags": tags(want),
            }),
        );
    }
    let mut rg = json!({
        "ReplicationGroupId": want.group_id,
        "ReplicationGroupDescription": want.description,
        "Engine": want.engine.as_str(),
        "EngineVersion": want.engine_version,
        "CacheNodeType": want.node_type,
        "CacheParameterGroupName": pg.name,
        "Port": want.port,
        "AutomaticFailoverEnabled": want.automatic_failover,
        "MultiAZEnabled": want.multi_az,
        "TransitEncryptionEnabled": want.transit_encryption,
        "AtRestEncryptionEnabled": want.at_rest_encryption,
        "SnapshotRetentionLimit": want.snapshot_retention_days,
        "Tags": tags(want),
    });
    let fields = rg.as_object_mut().expect("an object");
    // ReplicasPerNodeGroup in both modes (the API takes it for one shard too; NumCacheClusters
    // would say the same for cluster mode disabled only).
    if want.cluster_mode {
        fields.insert("ClusterMode".into(), json!("enabled"));
        fields.insert("NumNodeGroups".into(), json!(want.shards));
    }
    fields.insert("ReplicasPerNodeGroup".into(), json!(want.replicas_per_shard));
    if let Some((name, _)) = &want.subnet_group {
        fields.insert("CacheSubnetGroupName".into(), json!(name));
    }
    if !want.security_group_ids.is_empty() {
        fields.insert("SecurityGroupIds".into(), json!(want.security_group_ids));
    }
    if let Some(w) = &want.snapshot_window {
        fields.insert("SnapshotWindow".into(), json!(w));
    }
    if let Some(w) = &want.maintenance_window {
        fields.insert("PreferredMaintenanceWindow".into(), json!(w));
    }
    if let Some(group) = &want.user_group {
        fields.insert("UserGroupIds".into(), json!([group]));
    }
    if let Some(token) = &want.auth_token {
        fields.insert("AuthToken".into(), json!(secret_placeholder(token)));
    }
    call("CreateReplicationGroup", rg);
    out
}
